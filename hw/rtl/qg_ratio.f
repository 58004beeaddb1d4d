gen/qg_recip_rom.v
qg_bitlen.v
qg_ratio.v

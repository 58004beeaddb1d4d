gen/qg_recip_rom.v
qg_recip_lut7.v
qg_delay.v
qg_pipe.v
qg_mult18.v
qg_mul_dsp.v
qg_ratio.v

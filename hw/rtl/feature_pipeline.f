gen/qg_recip_rom.v
qg_bitlen.v
qg_delay.v
qg_sat_scale.v
qg_ratio.v
feature_pipeline.v

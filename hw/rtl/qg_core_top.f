-f feature_pipeline.f
-f gen/qg_nn_core.f
qg_const_reg.v
gen/qg_core_regs.v
qg_pred_fifo.v
qg_core_top.v

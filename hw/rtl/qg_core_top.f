-f feature_pipeline.f
-f gen/qg_nn_core.f
gen/qg_core_regs.v
qg_pred_fifo.v
qg_core_top.v

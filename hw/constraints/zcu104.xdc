# ZCU104 (xczu7ev-ffvc1156-2-e): the design uses PS pins only; the PL clock is pl_clk0
# (hw/boards.yaml clock_mhz), constrained by the zynq_ultra_ps_e IP itself.
set_property BITSTREAM.GENERAL.COMPRESS TRUE [current_design]

# AXI DMA (simple mode, no scatter-gather) plus the stream width converters between the DMA's 64-bit
# streams and qg_core's record-wide streams (one record per beat: firmware/regmap.yaml `records`).
# Sourced by hw/syn/vivado/build.tcl.
#
# proc qg_dma {in_bytes out_bytes} -> {dma mm2s_conv s2mm_conv}

proc qg_dma {in_bytes out_bytes} {
    set dma [create_bd_cell -type ip -vlnv xilinx.com:ip:axi_dma:7.1 dma]
    set_property -dict [list \
        CONFIG.c_include_sg {0} \
        CONFIG.c_sg_include_stscntrl_strm {0} \
        CONFIG.c_sg_length_width {23} \
        CONFIG.c_m_axi_mm2s_data_width {64} \
        CONFIG.c_m_axis_mm2s_tdata_width {64} \
        CONFIG.c_m_axi_s2mm_data_width {64} \
        CONFIG.c_mm2s_burst_size {16} \
        CONFIG.c_s2mm_burst_size {16} \
    ] $dma
    # host -> card: 8-byte DMA beats -> one book record per beat
    set up [create_bd_cell -type ip -vlnv xilinx.com:ip:axis_dwidth_converter:1.1 rec_upsize]
    set_property -dict [list CONFIG.S_TDATA_NUM_BYTES {8} CONFIG.M_TDATA_NUM_BYTES $in_bytes \
        CONFIG.HAS_TLAST {1} CONFIG.HAS_TKEEP {1} CONFIG.HAS_MI_TKEEP {0}] $up
    # card -> host: one prediction record per beat -> 8-byte DMA beats
    set down [create_bd_cell -type ip -vlnv xilinx.com:ip:axis_dwidth_converter:1.1 pred_downsize]
    set_property -dict [list CONFIG.S_TDATA_NUM_BYTES $out_bytes CONFIG.M_TDATA_NUM_BYTES {8} \
        CONFIG.HAS_TLAST {1} CONFIG.HAS_TKEEP {0}] $down
    return [list $dma $up $down]
}

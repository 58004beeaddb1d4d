# Processing-system cells for the PYNQ block designs, one proc per PS kind (hw/boards.yaml: ps).
# Each returns the PS cell; the PL clock runs at clock_mhz and one HP port takes the AXI DMA.
# Sourced by hw/syn/vivado/build.tcl.

proc qg_ps_zynq7 {clock_mhz} {
    set ps [create_bd_cell -type ip -vlnv xilinx.com:ip:processing_system7:5.5 ps]
    apply_bd_automation -rule xilinx.com:bd_rule:processing_system7 \
        -config {make_external "FIXED_IO, DDR" apply_board_preset "1" Master "Disable" Slave "Disable"} $ps
    set_property -dict [list \
        CONFIG.PCW_FPGA0_PERIPHERAL_FREQMHZ $clock_mhz \
        CONFIG.PCW_USE_M_AXI_GP0 {1} \
        CONFIG.PCW_USE_S_AXI_HP0 {1} \
        CONFIG.PCW_USE_FABRIC_INTERRUPT {1} \
        CONFIG.PCW_IRQ_F2P_INTR {1} \
    ] $ps
    return [list $ps ps/FCLK_CLK0 ps/FCLK_RESET0_N ps/M_AXI_GP0 ps/S_AXI_HP0 ps/IRQ_F2P]
}

proc qg_ps_zynq_ultra {clock_mhz} {
    set ps [create_bd_cell -type ip -vlnv xilinx.com:ip:zynq_ultra_ps_e:3.5 ps]
    apply_bd_automation -rule xilinx.com:bd_rule:zynq_ultra_ps_e -config {apply_board_preset "1"} $ps
    set_property -dict [list \
        CONFIG.PSU__CRL_APB__PL0_REF_CTRL__FREQMHZ $clock_mhz \
        CONFIG.PSU__USE__M_AXI_GP0 {0} \
        CONFIG.PSU__USE__M_AXI_GP1 {0} \
        CONFIG.PSU__USE__M_AXI_GP2 {1} \
        CONFIG.PSU__USE__S_AXI_GP2 {1} \
        CONFIG.PSU__USE__IRQ0 {1} \
    ] $ps
    # M_AXI_GP2 = M_AXI_HPM0_LPD (AXI-Lite), S_AXI_GP2 = S_AXI_HP0_FPD (DMA)
    return [list $ps ps/pl_clk0 ps/pl_resetn0 ps/M_AXI_HPM0_LPD ps/S_AXI_HP0_FPD ps/pl_ps_irq0]
}

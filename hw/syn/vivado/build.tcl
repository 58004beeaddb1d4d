# Vendor flow for the PYNQ boards (hw/boards.yaml flow: vivado): block design with the Zynq PS, an AXI
# DMA and qg_core (AXI-Stream records + AXI-Lite registers), then synthesis, implementation and
# bitstream. Outputs <build>/qg_core.bit + qg_core.hwh (same basename, as PYNQ's Overlay expects) and
# <build>/vivado_report.json (Fmax, WNS, utilization) for the manifest.
#
# Run by hw/syn/vendor.py (never by hand-built Tcl):
#   vivado -mode batch -nojournal -source hw/syn/vivado/build.tcl -tclargs \
#       REPO BOARD PART BOARD_PART PS CLOCK_MHZ BUILD_DIR IN_BYTES OUT_BYTES
# The build fails (exit 1) when timing is not met: setup WNS < 0 or unconstrained endpoints.

if {[llength $argv] != 9} {
    puts "usage: build.tcl REPO BOARD PART BOARD_PART PS CLOCK_MHZ BUILD_DIR IN_BYTES OUT_BYTES"
    exit 2
}
lassign $argv repo board part board_part ps clock_mhz build_dir in_bytes out_bytes
set repo [file normalize $repo]
set build_dir [file normalize $build_dir]
file mkdir $build_dir

source [file join $repo hw ip qg_core_ip.tcl]
source [file join $repo hw ip ps_zynq.tcl]
source [file join $repo hw ip axi_dma.tcl]

# ---- 1. qg_core as IP (VLNV quoteguard.io:quoteguard:qg_core:1.0) ----
set ip_dir [file join $build_dir ip_repo qg_core]
qg_package_core $repo $ip_dir $part

# ---- 2. project + block design ----
create_project -force qg_$board [file join $build_dir prj] -part $part
if {[lsearch -exact [get_board_parts -quiet] $board_part] >= 0} {
    set_property board_part $board_part [current_project]
} else {
    puts "warning: board part $board_part not installed; PS presets fall back to the part defaults"
}
set_property ip_repo_paths [list [file join $build_dir ip_repo]] [current_project]
update_ip_catalog

create_bd_design qg_core
switch -- $ps {
    zynq7      { lassign [qg_ps_zynq7 $clock_mhz] ps_cell clk_pin rstn_pin lite_master hp_slave irq_pin }
    zynq_ultra { lassign [qg_ps_zynq_ultra $clock_mhz] ps_cell clk_pin rstn_pin lite_master hp_slave irq_pin }
    default    { puts "error: unknown PS kind $ps"; exit 2 }
}
lassign [qg_dma $in_bytes $out_bytes] dma up down
set core [create_bd_cell -type ip -vlnv quoteguard.io:quoteguard:qg_core:1.0 qg_core]

# clock and reset: one PL clock; proc_sys_reset gives the core its active-high reset
set rst [create_bd_cell -type ip -vlnv xilinx.com:ip:proc_sys_reset:5.0 pl_reset]
connect_bd_net [get_bd_pins $clk_pin] [get_bd_pins pl_reset/slowest_sync_clk] [get_bd_pins qg_core/clk] \
    [get_bd_pins rec_upsize/aclk] [get_bd_pins pred_downsize/aclk]
connect_bd_net [get_bd_pins $rstn_pin] [get_bd_pins pl_reset/ext_reset_in]
connect_bd_net [get_bd_pins pl_reset/peripheral_reset] [get_bd_pins qg_core/rst]
connect_bd_net [get_bd_pins pl_reset/peripheral_aresetn] [get_bd_pins rec_upsize/aresetn] \
    [get_bd_pins pred_downsize/aresetn]

# streams: DMA MM2S -> upsize -> core -> downsize -> DMA S2MM
connect_bd_intf_net [get_bd_intf_pins dma/M_AXIS_MM2S] [get_bd_intf_pins rec_upsize/S_AXIS]
connect_bd_intf_net [get_bd_intf_pins rec_upsize/M_AXIS] [get_bd_intf_pins qg_core/s_axis]
connect_bd_intf_net [get_bd_intf_pins qg_core/m_axis] [get_bd_intf_pins pred_downsize/S_AXIS]
connect_bd_intf_net [get_bd_intf_pins pred_downsize/M_AXIS] [get_bd_intf_pins dma/S_AXIS_S2MM]

# AXI-Lite: PS master -> DMA registers + qg_core registers; DMA masters -> PS HP port
apply_bd_automation -rule xilinx.com:bd_rule:axi4 \
    -config [list Master /$lite_master Clk_master Auto Clk_slave Auto Clk_xbar Auto] [get_bd_intf_pins dma/S_AXI_LITE]
apply_bd_automation -rule xilinx.com:bd_rule:axi4 \
    -config [list Master /$lite_master Clk_master Auto Clk_slave Auto Clk_xbar Auto] [get_bd_intf_pins qg_core/s_axil]
apply_bd_automation -rule xilinx.com:bd_rule:axi4 \
    -config [list Slave /$hp_slave Clk_master Auto Clk_slave Auto Clk_xbar Auto] [get_bd_intf_pins dma/M_AXI_MM2S]
apply_bd_automation -rule xilinx.com:bd_rule:axi4 \
    -config [list Slave /$hp_slave Clk_master Auto Clk_slave Auto Clk_xbar Auto] [get_bd_intf_pins dma/M_AXI_S2MM]

# interrupts: DMA completion to the PS
set irq [create_bd_cell -type ip -vlnv xilinx.com:ip:xlconcat:2.1 irq_concat]
set_property CONFIG.NUM_PORTS {2} $irq
connect_bd_net [get_bd_pins dma/mm2s_introut] [get_bd_pins irq_concat/In0]
connect_bd_net [get_bd_pins dma/s2mm_introut] [get_bd_pins irq_concat/In1]
connect_bd_net [get_bd_pins irq_concat/dout] [get_bd_pins $irq_pin]

assign_bd_address
validate_bd_design
save_bd_design

set bd_file [get_files qg_core.bd]
make_wrapper -files $bd_file -top
add_files -norecurse [file join $build_dir prj qg_$board.gen sources_1 bd qg_core hdl qg_core_wrapper.v]
set_property top qg_core_wrapper [current_fileset]
add_files -fileset constrs_1 -norecurse [file join $repo hw constraints $board.xdc]

# ---- 3. implementation ----
launch_runs synth_1 -jobs 4
wait_on_run synth_1
if {[get_property PROGRESS [get_runs synth_1]] ne "100%"} { puts "error: synthesis failed"; exit 1 }
launch_runs impl_1 -to_step write_bitstream -jobs 4
wait_on_run impl_1
if {[get_property PROGRESS [get_runs impl_1]] ne "100%"} { puts "error: implementation failed"; exit 1 }

# ---- 4. timing gate + report ----
open_run impl_1
report_timing_summary -file [file join $build_dir timing_summary.rpt]
report_utilization -file [file join $build_dir utilization.rpt]
set wns [get_property SLACK [get_timing_paths -delay_type max -max_paths 1]]
set period [expr {1000.0 / $clock_mhz}]
set fmax [expr {1000.0 / ($period - $wns)}]
set n_lut  [llength [get_cells -hier -quiet -filter {PRIMITIVE_GROUP == LUT}]]
set n_ff   [llength [get_cells -hier -quiet -filter {PRIMITIVE_GROUP == FLOP_LATCH}]]
set n_dsp  [llength [get_cells -hier -quiet -filter {REF_NAME =~ DSP48*}]]
set n_bram [llength [get_cells -hier -quiet -filter {PRIMITIVE_GROUP == BLOCKRAM}]]
set fh [open [file join $build_dir vivado_report.json] w]
puts $fh "{\"board\": \"$board\", \"target_mhz\": $clock_mhz, \"wns_ns\": $wns, \"fmax_mhz\": [format %.2f $fmax], \"utilization\": {\"LUT\": $n_lut, \"FF\": $n_ff, \"DSP\": $n_dsp, \"BRAM\": $n_bram}}"
close $fh

# ---- 5. outputs: .bit + .hwh with one basename ----
set impl_dir [get_property DIRECTORY [get_runs impl_1]]
file copy -force [file join $impl_dir qg_core_wrapper.bit] [file join $build_dir qg_core.bit]
file copy -force [file join $build_dir prj qg_$board.gen sources_1 bd qg_core hw_handoff qg_core.hwh] \
    [file join $build_dir qg_core.hwh]

if {$wns < 0} {
    puts "error: timing not met on $board: WNS $wns ns at $clock_mhz MHz (Fmax [format %.1f $fmax] MHz)"
    exit 1
}
puts "qg_core: $board built, WNS $wns ns, Fmax [format %.1f $fmax] MHz"
exit 0

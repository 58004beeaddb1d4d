# Alveo (hw/boards.yaml flow: vitis): package qg_core_top as a free-running RTL kernel (.xo) for v++.
# The kernel has no control protocol (ap_ctrl_none); its AXI-Stream ports are linked to the shell's
# host streams by hw/syn/vitis/link.cfg. Run by hw/syn/vendor.py:
#   vivado -mode batch -source hw/syn/vitis/package_kernel.tcl -tclargs REPO PART BUILD_DIR XO
if {[llength $argv] != 4} {
    puts "usage: package_kernel.tcl REPO PART BUILD_DIR XO"
    exit 2
}
lassign $argv repo part build_dir xo
source [file join $repo hw ip qg_core_ip.tcl]
set ip_dir [file join $build_dir ip_repo qg_core]
qg_package_core $repo $ip_dir $part
# Vitis requires ap_clk / ap_rst_n naming only for kernels with a control interface; a free-running
# kernel keeps its own names, with the clock and the stream/register interfaces associated.
package_xo -force -xo_path $xo -kernel_name qg_core -ip_directory $ip_dir -ctrl_protocol ap_ctrl_none
exit 0

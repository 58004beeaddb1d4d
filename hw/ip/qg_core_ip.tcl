# Package qg_core_top (hw/rtl, file list hw/rtl/qg_core_top.f) as a Vivado IP so that the block design
# and the PYNQ driver see the VLNV quoteguard.io:quoteguard:qg_core:1.0 (control/driver binds to it).
# Sourced by hw/syn/vivado/build.tcl; rebuilt on every build, never committed as .xci.
#
# proc qg_package_core {repo ip_dir part}

proc qg_read_filelist {path} {
    set dir [file dirname $path]
    set files {}
    set fh [open $path r]
    while {[gets $fh line] >= 0} {
        regsub {//.*$} $line {} line
        regsub {#.*$} $line {} line
        set line [string trim $line]
        if {$line eq "" || [string match "+*" $line] || [string match "-*" $line]} { continue }
        lappend files [file normalize [file join $dir $line]]
    }
    close $fh
    return $files
}

proc qg_package_core {repo ip_dir part} {
    set files [qg_read_filelist [file join $repo hw rtl qg_core_top.f]]
    create_project -in_memory -part $part
    read_verilog $files
    set_property include_dirs [list [file join $repo hw rtl gen]] [current_fileset]
    set_property top qg_core_top [current_fileset]
    update_compile_order -fileset sources_1
    ipx::package_project -root_dir $ip_dir -vendor quoteguard.io -library quoteguard -taxonomy /UserIP \
        -import_files -set_current true -force
    set core [ipx::current_core]
    set_property name qg_core $core
    set_property display_name "QuoteGuard core (features + NN)" $core
    set_property version 1.0 $core
    set_property core_revision 1 $core
    # clk drives every interface; rst is active high (STYLE.md: sync, active high)
    ipx::infer_bus_interfaces xilinx.com:interface:axis_rtl:1.0 $core
    ipx::infer_bus_interfaces xilinx.com:interface:aximm_rtl:1.0 $core
    set rst [ipx::get_bus_interfaces rst -of_objects $core]
    if {$rst ne ""} {
        set_property value ACTIVE_HIGH [ipx::add_bus_parameter POLARITY $rst]
    }
    ipx::associate_bus_interfaces -busif s_axis -clock clk $core
    ipx::associate_bus_interfaces -busif m_axis -clock clk $core
    ipx::associate_bus_interfaces -busif s_axil -clock clk $core
    ipx::create_xgui_files $core
    ipx::update_checksums $core
    ipx::check_integrity $core
    ipx::save_core $core
    close_project
}

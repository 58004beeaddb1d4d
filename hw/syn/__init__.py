"""Bitstream build flows: the open ECP5 flow (yowasp yosys/nextpnr/ecppack), the vendor-tool gate, and
the yosys synth_xilinx pre-check. Build-time only: the runtime (control/) never imports this package."""

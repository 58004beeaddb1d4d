`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * A build-time constant whose netlist does not depend on its value. With QG_ECP5_DSP defined (the open
 * ECP5 flow, which hand-instantiates its primitives: hw/rtl/qg_mult18.v) each bit is a TRELLIS_FF that
 * holds itself, its value set by REGSET at configuration (GSR): synthesis cannot fold an instantiated
 * flip-flop into the logic that reads it, so every VALUE gives the same cells and nets, only the
 * flip-flops' REGSET differ. Used for the build's git hash (firmware/regmap.yaml `held`): as a plain
 * constant it was folded into the register file's read mux, so each commit synthesized to a different
 * netlist and a placement seed's Fmax moved with the commit (112.6 against 136.2 MHz at the same seed
 * and RTL, hw/README.md "Timing status"); held, `make` on any commit of the same RTL places the same.
 * Elsewhere (simulation, lint, vendor flows) q is the constant.
 */
module qg_const_reg #
(
    parameter WIDTH = 32,
    parameter [WIDTH-1:0] VALUE = {WIDTH{1'b0}}
)
(
    input  wire             clk,
    output wire [WIDTH-1:0] q
);

`ifdef QG_ECP5_DSP
genvar i;
generate
    for (i = 0; i < WIDTH; i = i + 1) begin : g_bit
        (* keep *) TRELLIS_FF #(
            .GSR("ENABLED"), .CEMUX("1"), .CLKMUX("CLK"), .LSRMUX("LSR"),
            .REGSET(VALUE[i] ? "SET" : "RESET"), .SRMODE("ASYNC")
        ) ff_inst (.CLK(clk), .LSR(1'b0), .DI(q[i]), .Q(q[i]));
    end
endgenerate
`else
assign q = VALUE;
/* verilator lint_off UNUSEDSIGNAL */
wire unused_clk = clk;
/* verilator lint_on UNUSEDSIGNAL */
`endif

endmodule

`resetall

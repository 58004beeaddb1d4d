`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * One control bit registered into COPIES identical flip-flops (synchronous reset to 0, initial value 0),
 * so a high-fanout control is one short net per group of loads instead of one net to all of them.
 * yosys merges identical flip-flops (opt_merge, even with (* keep *)): with QG_ECP5_DSP (the open ECP5
 * flow: ECP5 primitives, see qg_mult18.v) the copies are hand-instantiated TRELLIS_FF cells, which it
 * leaves alone; otherwise behavioural (simulation, lint, the vendor flows, which have their own
 * duplication). tests/hw/test_ecp5_primitives.py checks both branches against each other.
 */
module qg_dup_reg #
(
    parameter COPIES = 2
)
(
    input  wire              clk,
    input  wire              rst,     // synchronous
    input  wire              d,
    output wire [COPIES-1:0] q
);

genvar k;
generate
    for (k = 0; k < COPIES; k = k + 1) begin : g_copy
`ifdef QG_ECP5_DSP
        TRELLIS_FF #(
            .GSR("DISABLED"), .CEMUX("1"), .CLKMUX("CLK"), .LSRMUX("LSR"), .REGSET("RESET"), .SRMODE("LSR_OVER_CE")
        ) ff_inst (
            .CLK(clk), .LSR(rst), .DI(d), .Q(q[k])     // CE and M left open, as synth_ecp5 writes it (nextpnr rejects a tied M)
        );
`else
        reg q_reg = 1'b0;
        always @(posedge clk) begin
            q_reg <= rst ? 1'b0 : d;
        end
        assign q[k] = q_reg;
`endif
    end
endgenerate

endmodule

`resetall

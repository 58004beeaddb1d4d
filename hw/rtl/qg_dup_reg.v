`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * A WIDTH-bit value registered into COPIES identical registers (synchronous reset to INIT, initial value
 * INIT, every bit; copy k in q[WIDTH*k +: WIDTH]), so a value read by several groups of logic placed apart is one short
 * net per group instead of one long net to all of them.
 * yosys merges identical flip-flops (opt_merge, even with (* keep *)): with QG_ECP5_DSP (the open ECP5
 * flow: ECP5 primitives, see qg_mult18.v) the copies are hand-instantiated TRELLIS_FF cells, which it
 * leaves alone; otherwise behavioural (simulation, lint, the vendor flows, which have their own
 * duplication). tests/hw/test_ecp5_primitives.py checks both branches against each other.
 */
module qg_dup_reg #
(
    parameter WIDTH = 1,
    parameter COPIES = 2,
    parameter INIT = 0          // 0 or 1: initial and reset value
)
(
    input  wire                     clk,
    input  wire                     rst,     // synchronous
    input  wire [WIDTH-1:0]         d,
    output wire [COPIES*WIDTH-1:0]  q
);

genvar k, i;
generate
    for (k = 0; k < COPIES; k = k + 1) begin : g_copy
        for (i = 0; i < WIDTH; i = i + 1) begin : g_bit
`ifdef QG_ECP5_DSP
            TRELLIS_FF #(
                .GSR("DISABLED"), .CEMUX("1"), .CLKMUX("CLK"), .LSRMUX("LSR"), .REGSET(INIT ? "SET" : "RESET"),
                .SRMODE("LSR_OVER_CE")
            ) ff_inst (
                .CLK(clk), .LSR(rst), .DI(d[i]), .Q(q[WIDTH*k + i])   // CE and M left open, as synth_ecp5 writes
            );                                                          // it (nextpnr rejects a tied M)
`else
            reg q_reg = (INIT != 0);
            always @(posedge clk) begin
                q_reg <= rst ? (INIT != 0) : d[i];
            end
            assign q[WIDTH*k + i] = q_reg;
`endif
        end
    end
endgenerate

endmodule

`resetall

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * Pipelined signed x unsigned multiply p = a * b on 18 x 18 multipliers (qg_mult18),
 * LATENCY = 1 + REG_IN + REG_PROD + REG_SUM (4 with all):
 *     a is cut into NC = ceil(A_WIDTH / 17) chunks of 17 bits (unsigned; the top chunk signed, <= 17 bits),
 *     chunk c times b in a registered multiplier (2 clocks), REG_PROD: the products registered again in
 *     the fabric (the multiplier's output register sits in the DSP row: its route to the adder's chain
 *     was 3.4-5.8 ns, run 47 and base-s4), then one registered adder:
 *         p = (P2 << 34 | P0) + (P1 << 17)
 *     The even chunks' products do not overlap (17 + B_WIDTH <= 34 bits), so they are concatenated and
 *     only the odd chunk is added: one carry chain. All sums are mod 2^(A_WIDTH + B_WIDTH).
 * Inputs go to the multipliers (their input registers when REG_IN = 1).
 */
module qg_mul_dsp #
(
    parameter A_WIDTH = 48,     // bits of a (signed), 2..51
    parameter B_WIDTH = 10,     // bits of b (unsigned), 1..17
    parameter REG_IN = 1,       // 1: the multipliers' input registers
    parameter REG_PROD = 0,     // 1: the products registered in the fabric before the adder
    parameter REG_SUM = 1       // 1: register the sum (else p is the multipliers' registers plus the adder)
)
(
    input  wire                              clk,
    input  wire signed [A_WIDTH-1:0]         a,
    input  wire        [B_WIDTH-1:0]         b,
    output wire signed [A_WIDTH+B_WIDTH-1:0] p
);

localparam PW = A_WIDTH + B_WIDTH;
localparam NC = (A_WIDTH + 16) / 17;            // chunks of a (1..3)
localparam TW = A_WIDTH - 17 * (NC - 1);        // bits of the top (signed) chunk, 1..17

initial begin
    if (A_WIDTH < 2 || A_WIDTH > 51 || B_WIDTH < 1 || B_WIDTH > 17) begin
        $error("Error: bad A_WIDTH/B_WIDTH (instance %m)");
        $finish;
    end
end

wire signed [17:0]   bx = {{(18-B_WIDTH){1'b0}}, b};
wire [36*NC-1:0]     prod_dsp;
wire [36*NC-1:0]     prod;

qg_pipe #(.WIDTH(36 * NC), .EN(REG_PROD)) prod_pipe_inst (.clk(clk), .d(prod_dsp), .q(prod));

genvar c;
generate
    for (c = 0; c < NC; c = c + 1) begin : g_chunk
        wire signed [17:0] ax;
        if (c == NC - 1) begin : g_top
            assign ax = {{(18-TW){a[A_WIDTH-1]}}, a[A_WIDTH-1 -: TW]};
        end else begin : g_low
            assign ax = {1'b0, a[17*c +: 17]};
        end
        qg_mult18 #(.REG_IN(REG_IN)) mult_inst (.clk(clk), .a(ax), .b(bx), .p(prod_dsp[36*c +: 36]));
    end
endgenerate

/* products sign-extended (the chunk products below the top are >= 0) */
wire [PW+35:0] p0 = {{PW{prod[35]}}, prod[0 +: 36]};
wire [PW+35:0] p1 = (NC > 1) ? {{PW{prod[36*(NC > 1 ? 1 : 0) + 35]}}, prod[36*(NC > 1 ? 1 : 0) +: 36]} : {(PW+36){1'b0}};
wire [PW+35:0] p2 = (NC > 2) ? {{PW{prod[36*(NC > 2 ? 2 : 0) + 35]}}, prod[36*(NC > 2 ? 2 : 0) +: 36]} : {(PW+36){1'b0}};
/* verilator lint_off UNUSEDSIGNAL */
wire [PW+35:0] even = (NC > 2) ? ((p2 << 34) | {{(PW+2){1'b0}}, p0[33:0]}) : p0;
wire [PW+35:0] odd = p1 << 17;
/* verilator lint_on UNUSEDSIGNAL */

qg_pipe #(.WIDTH(PW), .EN(REG_SUM)) sum_pipe_inst (.clk(clk), .d(even[PW-1:0] + odd[PW-1:0]), .q(p));

endmodule

`resetall

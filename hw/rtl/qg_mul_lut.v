`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * Pipelined signed x (un)signed multiply p = a * b in LUTs and carry chains, no DSP, LATENCY = 1 + REG1:
 *     b = sum_k d_k * 4^k (radix-4 digits d_k in 0..3; for a signed b, minus b[msb] * 2^B_WIDTH)
 *     stage 1: partial products d_k * a << 2k (a 4:1 mux of 0, a, 2a, 3a per bit: 3a = a3 comes from
 *              the caller, computed a stage earlier) summed in pairs (one carry chain); registered
 *     stage 2: the pair sums (at most 3) in one carry-save level and one carry chain; registered p
 * All sums are mod 2^(A_WIDTH + B_WIDTH): the product fits. ECP5 does not pack DSP registers with yosys,
 * and the unregistered MULT18X18D + routing took ~8-16 ns; this takes a LUT level and a chain per stage.
 * Inputs are combinational (the caller's registers), p is registered.
 */
module qg_mul_lut #
(
    parameter A_WIDTH = 48,     // bits of a (signed)
    parameter B_WIDTH = 10,     // bits of b, 2..12
    parameter B_SIGNED = 0,     // 1: b is signed
    parameter REG1 = 1          // 1: register the pair sums (LATENCY 2), 0: not (LATENCY 1)
)
(
    input  wire                              clk,
    input  wire signed [A_WIDTH-1:0]         a,
    input  wire signed [A_WIDTH+1:0]         a3,     // 3 * a
    input  wire        [B_WIDTH-1:0]         b,
    output wire signed [A_WIDTH+B_WIDTH-1:0] p
);

localparam PW = A_WIDTH + B_WIDTH;
localparam D = (B_WIDTH + 1) / 2;               // radix-4 digits of b (unsigned)
localparam T = D + B_SIGNED;                    // terms
localparam NP = (T + 1) / 2;                    // pair sums after stage 1 (<= 3)

initial begin
    if (A_WIDTH < 2 || B_WIDTH < 2 || B_WIDTH > 12 || NP > 3) begin
        $error("Error: bad A_WIDTH/B_WIDTH (instance %m)");
        $finish;
    end
end

wire [PW-1:0] ax  = {{(PW-A_WIDTH){a[A_WIDTH-1]}}, a};
wire [PW-1:0] a3x = {{(PW-A_WIDTH-2){a3[A_WIDTH+1]}}, a3};
wire [2*D-1:0] bu = {{(2*D-B_WIDTH){1'b0}}, b};

/* terms: d_k * a << 2k, and for a signed b the correction -(a << B_WIDTH) when b < 0 */
wire [PW*2*NP-1:0] term;

genvar g;
generate
    for (g = 0; g < 2 * NP; g = g + 1) begin : g_term
        if (g < D) begin : g_digit
            wire [1:0]    d = bu[2*g +: 2];
            wire [PW-1:0] m = (d == 2'd0) ? {PW{1'b0}} : ((d == 2'd1) ? ax : ((d == 2'd2) ? (ax << 1) : a3x));
            assign term[PW*g +: PW] = m << (2 * g);
        end else if (g < T) begin : g_sign
            assign term[PW*g +: PW] = b[B_WIDTH-1] ? ((~ax + 1'b1) << B_WIDTH) : {PW{1'b0}};
        end else begin : g_zero
            assign term[PW*g +: PW] = {PW{1'b0}};
        end
    end
endgenerate

/* stage 1: pair sums */
reg  [PW*NP-1:0] pair_c;
wire [PW*NP-1:0] pair_reg;
integer k;

always @* begin
    for (k = 0; k < NP; k = k + 1) begin
        pair_c[PW*k +: PW] = term[PW*(2*k) +: PW] + term[PW*(2*k+1) +: PW];
    end
end

qg_pipe #(.WIDTH(PW * NP), .EN(REG1)) pair_pipe_inst (.clk(clk), .d(pair_c), .q(pair_reg));

/* stage 2: carry-save level over the (up to) three pair sums, then one chain */
wire [PW-1:0] x0 = pair_reg[0 +: PW];
wire [PW-1:0] x1 = (NP > 1) ? pair_reg[PW*(NP > 1 ? 1 : 0) +: PW] : {PW{1'b0}};
wire [PW-1:0] x2 = (NP > 2) ? pair_reg[PW*(NP > 2 ? 2 : 0) +: PW] : {PW{1'b0}};
wire [PW-1:0] cs_s = x0 ^ x1 ^ x2;
/* verilator lint_off UNUSEDSIGNAL */  // the top carry leaves the product
wire [PW-1:0] cs_c = (x0 & x1) | (x0 & x2) | (x1 & x2);
/* verilator lint_on UNUSEDSIGNAL */

reg [PW-1:0] p_reg = 0;

always @(posedge clk) begin
    p_reg <= cs_s + {cs_c[PW-2:0], 1'b0};
end

assign p = p_reg;

endmodule

`resetall

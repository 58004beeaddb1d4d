`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * Pipelined signed multiply p = a * b for a wide a (up to 52 bits) and a narrow b (up to 18 bits), built
 * from 18x18 partial products with registered inputs and outputs, then summed one partial product per
 * stage:
 *     a = sum_k c_k * 2^(17k)   (c_k unsigned 17-bit chunks, the top chunk signed 18 bits)
 *     cycle 1: input registers (a chunks, b)    cycle 2: partial products c_k * b (output registers)
 *     cycles 3 ..: acc += (c_k * b) << 17k, k = 1 .. N-1 (mod 2^(A_WIDTH + B_WIDTH): the product fits)
 *     then delay registers up to LATENCY.
 * p is registered, LATENCY cycles after a/b (combinational inputs, captured by the input registers).
 *
 * ECP5_DSP = 1 instantiates MULT18X18D with its input and output registers (REG_INPUTA/B_CLK,
 * REG_OUTPUT_CLK): yosys does not pack ECP5 DSP registers by itself (hw/syn/ecp5/synth.ys sets
 * ECP5_DSP for the open ECP5 flow). ECP5_DSP = 0 (default: simulation, lint, other vendors) writes the
 * same registers and products behaviourally.
 */
module qg_mul_wide #
(
    parameter A_WIDTH = 48,     // bits of a (signed), 2..52
    parameter B_WIDTH = 11,     // bits of b (signed), 2..18
    parameter LATENCY = 4,      // >= 2 + (number of 17-bit chunks of a) - 1
    parameter ECP5_DSP = 0
)
(
    input  wire                                clk,
    input  wire signed [A_WIDTH-1:0]           a,
    input  wire signed [B_WIDTH-1:0]           b,
    output wire signed [A_WIDTH+B_WIDTH-1:0]   p
);

localparam N = (A_WIDTH <= 18) ? 1 : 1 + (A_WIDTH - 18 + 16) / 17;     // 18x18 partial products
localparam AX = 17 * N + 1;                                           // a sign-extended to N chunks
localparam PW = A_WIDTH + B_WIDTH;
localparam SUM_LAT = 2 + N - 1;

initial begin
    if (A_WIDTH < 2 || A_WIDTH > 52 || B_WIDTH < 2 || B_WIDTH > 18 || LATENCY < SUM_LAT) begin
        $error("Error: bad A_WIDTH/B_WIDTH/LATENCY (instance %m)");
        $finish;
    end
end

wire signed [AX-1:0] ax = {{(AX-A_WIDTH){a[A_WIDTH-1]}}, a};
wire signed [17:0]   bx = {{(18-B_WIDTH){b[B_WIDTH-1]}}, b};
wire [36*N-1:0]      pp;     // partial products, registered (cycle 2)

genvar g;
generate
    for (g = 0; g < N; g = g + 1) begin : g_pp
        wire [17:0] ca = (g == N - 1) ? ax[17*g +: 18] : {1'b0, ax[17*g +: 17]};
        if (ECP5_DSP != 0) begin : g_dsp
            wire [35:0] P;
            MULT18X18D #(
                .REG_INPUTA_CLK("CLK0"), .REG_INPUTA_CE("CE0"), .REG_INPUTA_RST("RST0"),
                .REG_INPUTB_CLK("CLK0"), .REG_INPUTB_CE("CE0"), .REG_INPUTB_RST("RST0"),
                .REG_OUTPUT_CLK("CLK0"), .REG_OUTPUT_CE("CE0"), .REG_OUTPUT_RST("RST0"),
                .GSR("DISABLED"), .RESETMODE("SYNC")
            ) mul_inst (
                .A0(ca[0]), .A1(ca[1]), .A2(ca[2]), .A3(ca[3]), .A4(ca[4]), .A5(ca[5]), .A6(ca[6]), .A7(ca[7]), .A8(ca[8]),
                .A9(ca[9]), .A10(ca[10]), .A11(ca[11]), .A12(ca[12]), .A13(ca[13]), .A14(ca[14]), .A15(ca[15]), .A16(ca[16]), .A17(ca[17]),
                .B0(bx[0]), .B1(bx[1]), .B2(bx[2]), .B3(bx[3]), .B4(bx[4]), .B5(bx[5]), .B6(bx[6]), .B7(bx[7]), .B8(bx[8]),
                .B9(bx[9]), .B10(bx[10]), .B11(bx[11]), .B12(bx[12]), .B13(bx[13]), .B14(bx[14]), .B15(bx[15]), .B16(bx[16]), .B17(bx[17]),
                .C0(1'b0), .C1(1'b0), .C2(1'b0), .C3(1'b0), .C4(1'b0), .C5(1'b0), .C6(1'b0), .C7(1'b0), .C8(1'b0),
                .C9(1'b0), .C10(1'b0), .C11(1'b0), .C12(1'b0), .C13(1'b0), .C14(1'b0), .C15(1'b0), .C16(1'b0), .C17(1'b0),
                .SIGNEDA(1'b1), .SIGNEDB(1'b1), .SOURCEA(1'b0), .SOURCEB(1'b0),
                .CLK0(clk), .CLK1(1'b0), .CLK2(1'b0), .CLK3(1'b0),
                .CE0(1'b1), .CE1(1'b0), .CE2(1'b0), .CE3(1'b0),
                .RST0(1'b0), .RST1(1'b0), .RST2(1'b0), .RST3(1'b0),
                .P0(P[0]), .P1(P[1]), .P2(P[2]), .P3(P[3]), .P4(P[4]), .P5(P[5]), .P6(P[6]), .P7(P[7]), .P8(P[8]),
                .P9(P[9]), .P10(P[10]), .P11(P[11]), .P12(P[12]), .P13(P[13]), .P14(P[14]), .P15(P[15]), .P16(P[16]), .P17(P[17]),
                .P18(P[18]), .P19(P[19]), .P20(P[20]), .P21(P[21]), .P22(P[22]), .P23(P[23]), .P24(P[24]), .P25(P[25]), .P26(P[26]),
                .P27(P[27]), .P28(P[28]), .P29(P[29]), .P30(P[30]), .P31(P[31]), .P32(P[32]), .P33(P[33]), .P34(P[34]), .P35(P[35])
            );
            assign pp[36*g +: 36] = P;
        end else begin : g_beh
            reg signed [17:0] a_reg = 18'sd0, b_reg = 18'sd0;
            reg signed [35:0] p_reg = 36'sd0;
            always @(posedge clk) begin
                a_reg <= ca;
                b_reg <= bx;
                p_reg <= a_reg * b_reg;
            end
            assign pp[36*g +: 36] = p_reg;
        end
    end
endgenerate

/* sum stages: stage k adds partial product k (bits 17k and up); later partial products ride along */
function [PW-1:0] sext36;           // a 36-bit partial product, sign-extended or truncated to PW bits
    input [35:0] v;
    integer qi;
    begin
        for (qi = 0; qi < PW; qi = qi + 1) begin
            sext36[qi] = (qi < 36) ? v[qi] : v[35];
        end
    end
endfunction

/* verilator lint_off UNUSEDSIGNAL */  // partial products already summed ride along unused
generate
    for (g = 0; g < N; g = g + 1) begin : g_sum
        wire [PW-1:0] acc;          // partial products 0..g summed (registered for g > 0)
        wire [36*N-1:0] rest;       // partial products (g+1 .. N-1) at this stage
        if (g == 0) begin : g_first
            assign acc = sext36(pp[35:0]);
            assign rest = pp;
        end else begin : g_add
            localparam SH = (17 * g < PW) ? 17 * g : PW - 1;
            reg [PW-1:0]   acc_reg = {PW{1'b0}};
            reg [36*N-1:0] rest_reg = {(36*N){1'b0}};
            wire [PW-1:0]  term = sext36(g_sum[g-1].rest[36*g +: 36]);
            wire [PW-1:0]  prev = g_sum[g-1].acc;
            always @(posedge clk) begin
                // low SH bits pass; the adder covers bits SH .. PW-1 only
                acc_reg <= {prev[PW-1:SH] + term[PW-1-SH:0], prev[SH-1:0]};
                rest_reg <= g_sum[g-1].rest;
            end
            assign acc = acc_reg;
            assign rest = rest_reg;
        end
    end
endgenerate
/* verilator lint_on UNUSEDSIGNAL */

/* pad to LATENCY */
generate
    if (LATENCY > SUM_LAT) begin : g_pad
        qg_delay #(.WIDTH(PW), .DEPTH(LATENCY - SUM_LAT)) pad_inst (.clk(clk), .in(g_sum[N-1].acc), .out(p));
    end else begin : g_nopad
        assign p = g_sum[N-1].acc;
    end
endgenerate

endmodule

`resetall

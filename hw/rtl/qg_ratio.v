`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * ratio(num, den) of models/FEATURES.md, then saturation to [LO, HI]:
 *     0 if den <= 0, else sat(num * RECIP[m - 128] >> (s + 9)) with s = bitlen(den) - 8,
 *     m = den normalized to 128..255. No division.
 * Free-running pipeline, LATENCY = 4 cycles (inputs registered by the caller):
 *     R1 leading one of den   R2 normalize + RECIP ROM   R3 multiply   R4 shift + saturate
 */
module qg_ratio #
(
    parameter NUM_WIDTH = 40,   // bits of num (signed)
    parameter DEN_WIDTH = 40,   // bits of den (signed; <= 0 gives 0)
    parameter LO = -128,        // saturation bounds within int8
    parameter HI = 127
)
(
    input  wire                        clk,
    input  wire signed [NUM_WIDTH-1:0] num,
    input  wire signed [DEN_WIDTH-1:0] den,
    output wire        [7:0]           q
);

localparam BL_WIDTH = 7;                    // bitlen(den) <= DEN_WIDTH - 1 < 64
localparam P_WIDTH = NUM_WIDTH + 11;        // num * recip, recip unsigned 10 bits

initial begin
    if (DEN_WIDTH < 9 || DEN_WIDTH > 63 || NUM_WIDTH < 2 || LO < -128 || HI > 127 || LO > HI) begin
        $error("Error: bad NUM_WIDTH/DEN_WIDTH/LO/HI (instance %m)");
        $finish;
    end
end

/* R1: position of the denominator's leading one (= bitlen(den) - 1), so R2 needs no subtract */
wire                den_pos = (den > 0);
wire [BL_WIDTH-1:0] bl;

qg_bitlen #(
    .WIDTH(DEN_WIDTH - 2),
    .OUT_WIDTH(BL_WIDTH)
)
bitlen_inst (
    .x(den[DEN_WIDTH-2:1]),     // bitlen(den >> 1) = bitlen(den) - 1 for den > 0
    .len(bl)
);

reg signed [NUM_WIDTH-1:0] r1_num_reg = 0;
reg        [DEN_WIDTH-2:0] r1_den_reg = 0;
reg        [BL_WIDTH-1:0]  r1_msb_reg = 0;
reg                        r1_zero_reg = 1'b1;

always @(posedge clk) begin
    r1_num_reg <= num;
    r1_den_reg <= den[DEN_WIDTH-2:0];
    r1_msb_reg <= bl;
    r1_zero_reg <= !den_pos;
end

/* R2: m = den >> s (s >= 0) or den << -s, index = m - 128, shift = s + 9 */
wire [DEN_WIDTH+5:0] den_up = {r1_den_reg, 7'd0};                          // den * 128
/* verilator lint_off UNUSEDSIGNAL */  // m_wide[DEN_WIDTH+5:8] is zero, m_wide[7] is one
wire [DEN_WIDTH+5:0] m_wide = den_up >> r1_msb_reg;                          // den * 2^(8 - bitlen) in 128..255
/* verilator lint_on UNUSEDSIGNAL */
wire [6:0]           idx = m_wide[6:0];
wire [9:0]           recip;

qg_recip_rom recip_inst (
    .idx(idx),
    .recip(recip)
);

reg signed [NUM_WIDTH-1:0] r2_num_reg = 0;
reg        [9:0]           r2_recip_reg = 0;
reg        [BL_WIDTH-1:0]  r2_sh_reg = 0;
reg                        r2_zero_reg = 1'b1;

always @(posedge clk) begin
    r2_num_reg <= r1_num_reg;
    r2_recip_reg <= recip;
    r2_sh_reg <= r1_msb_reg + 7'd2;   // s + 9 = bitlen(den) + 1
    r2_zero_reg <= r1_zero_reg;
end

/* R3: product */
reg signed [P_WIDTH-1:0] r3_p_reg = 0;
reg        [BL_WIDTH-1:0] r3_sh_reg = 0;
reg                       r3_zero_reg = 1'b1;

always @(posedge clk) begin
    r3_p_reg <= r2_num_reg * $signed({1'b0, r2_recip_reg});
    r3_sh_reg <= r2_sh_reg;
    r3_zero_reg <= r2_zero_reg;
end

/* R4: floor shift and saturation. The shifted value fits int8 iff its bits above bit 7 are all equal
 * (a reduction, not a wide compare); then the int8 value is clamped to [LO, HI] with 8-bit compares. */
wire signed [P_WIDTH-1:0] shifted = r3_p_reg >>> r3_sh_reg;
wire                      neg = shifted[P_WIDTH-1];
wire                      fits = neg ? (&shifted[P_WIDTH-1:7]) : !(|shifted[P_WIDTH-1:7]);
wire signed [7:0]         s8 = fits ? shifted[7:0] : (neg ? 8'sh80 : 8'sh7f);
localparam [7:0] LO_B = LO[7:0];
localparam [7:0] HI_B = HI[7:0];
wire signed [7:0]         lo8 = LO_B;
wire signed [7:0]         hi8 = HI_B;
wire signed [7:0]         zero_sat = (lo8 > 8'sd0) ? lo8 : ((hi8 < 8'sd0) ? hi8 : 8'sd0);
wire signed [7:0]         sat = r3_zero_reg ? zero_sat : ((s8 < lo8) ? lo8 : ((s8 > hi8) ? hi8 : s8));

reg [7:0] q_reg = 8'd0;

always @(posedge clk) begin
    q_reg <= sat;
end

assign q = q_reg;

endmodule

`resetall

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * ratio(num, den) of models/FEATURES.md, then saturation to [LO, HI]:
 *     0 if den <= 0, else sat(num * RECIP[m - 128] >> (s + 9)) with s = bitlen(den) - 8,
 *     m = den normalized to 128..255. No division.
 * Free-running pipeline, LATENCY = 7 cycles (inputs registered by the caller):
 *     R1 leading one of den   R2 normalize (ROM index), 3 * num   R3 RECIP ROM
 *     R4, R5 multiply (qg_mul_lut: radix-4 partial products, pair sums; carry-save + one chain)
 *     R6 shift + fit   R7 saturate
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
    if (DEN_WIDTH < 9 || DEN_WIDTH > 63 || NUM_WIDTH < 2 || NUM_WIDTH > 52 || DEN_WIDTH > NUM_WIDTH + 11 || LO < -128 || HI > 127 || LO > HI) begin
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

reg signed [NUM_WIDTH-1:0] r2_num_reg = 0;
reg signed [NUM_WIDTH+1:0] r2_num3_reg = 0;
reg        [6:0]           r2_idx_reg = 0;
reg        [BL_WIDTH-1:0]  r2_sh_reg = 0;
reg                        r2_zero_reg = 1'b1;

always @(posedge clk) begin
    r2_num_reg <= r1_num_reg;
    r2_num3_reg <= {{2{r1_num_reg[NUM_WIDTH-1]}}, r1_num_reg} + {r1_num_reg[NUM_WIDTH-1], r1_num_reg, 1'b0};
    r2_idx_reg <= idx;
    r2_sh_reg <= r1_msb_reg + 7'd2;   // s + 9 = bitlen(den) + 1
    r2_zero_reg <= r1_zero_reg;
end

/* R3: RECIP ROM */
wire [9:0] recip_c;

qg_recip_rom recip_inst (
    .idx(r2_idx_reg),
    .recip(recip_c)
);

reg signed [NUM_WIDTH-1:0] r3_num_reg = 0;
reg signed [NUM_WIDTH+1:0] r3_num3_reg = 0;
reg        [9:0]           r3_recip_reg = 0;
reg        [BL_WIDTH-1:0]  r3_sh_reg = 0;
reg                        r3_zero_reg = 1'b1;

always @(posedge clk) begin
    r3_num_reg <= r2_num_reg;
    r3_num3_reg <= r2_num3_reg;
    r3_recip_reg <= recip_c;
    r3_sh_reg <= r2_sh_reg;
    r3_zero_reg <= r2_zero_reg;
end

/* R4, R5: product num * recip in LUTs and carry chains (qg_mul_lut: radix-4 partial products) */
wire signed [P_WIDTH-1:0] prod;

qg_mul_lut #(
    .A_WIDTH(NUM_WIDTH),
    .B_WIDTH(11),
    .B_SIGNED(0)
)
mul_inst (
    .clk(clk),
    .a(r3_num_reg),
    .a3(r3_num3_reg),
    .b({1'b0, r3_recip_reg}),
    .p(prod)
);

reg [BL_WIDTH-1:0] r4_sh_reg = 0;
reg                r4_zero_reg = 1'b1;

always @(posedge clk) begin
    r4_sh_reg <= r3_sh_reg;
    r4_zero_reg <= r3_zero_reg;
end

wire [BL_WIDTH-1:0] sh_d = r4_sh_reg;
wire                zero_d = r4_zero_reg;

/* R5 (beside the product): mask of the product bits below sh + 7 (the ones that do not decide the fit) */
reg [P_WIDTH-1:0]  r6_mask_reg = 0;
/* verilator lint_off UNUSEDSIGNAL */  // the top shift bit may not reach into px
reg [BL_WIDTH-1:0] r6_sh_reg = 0;
/* verilator lint_on UNUSEDSIGNAL */
reg                r6_zero_reg = 1'b1;
integer b;

always @(posedge clk) begin
    for (b = 0; b < P_WIDTH; b = b + 1) begin
        r6_mask_reg[b] <= (b < {25'd0, sh_d} + 7);
    end
    r6_sh_reg <= sh_d;
    r6_zero_reg <= zero_d;
end

/* R6: floor shift, 8 bits of it, and the fit: the shifted value fits int8 iff the product's bits from
 * sh + 7 up all equal its sign */
wire [P_WIDTH+7:0] px = {{8{prod[P_WIDTH-1]}}, prod};
/* verilator lint_off WIDTH */  // px may need fewer index bits than the shift has
wire [7:0]         s8_c = px[r6_sh_reg +: 8];
/* verilator lint_on WIDTH */
wire               fits_c = &((prod ~^ {P_WIDTH{prod[P_WIDTH-1]}}) | r6_mask_reg);

reg signed [7:0] r7_s8_reg = 0;
reg              r7_fits_reg = 1'b1, r7_neg_reg = 1'b0, r7_zero_reg = 1'b1;

always @(posedge clk) begin
    r7_s8_reg <= s8_c;
    r7_fits_reg <= fits_c;
    r7_neg_reg <= prod[P_WIDTH-1];
    r7_zero_reg <= r6_zero_reg;
end

/* R7: saturation to int8, then to [LO, HI] with 8-bit compares */
wire signed [7:0]  s8 = r7_fits_reg ? r7_s8_reg : (r7_neg_reg ? 8'sh80 : 8'sh7f);
localparam [7:0] LO_B = LO[7:0];
localparam [7:0] HI_B = HI[7:0];
wire signed [7:0]  lo8 = LO_B;
wire signed [7:0]  hi8 = HI_B;
wire signed [7:0]  zero_sat = (lo8 > 8'sd0) ? lo8 : ((hi8 < 8'sd0) ? hi8 : 8'sd0);
wire signed [7:0]  sat = r7_zero_reg ? zero_sat : ((s8 < lo8) ? lo8 : ((s8 > hi8) ? hi8 : s8));

reg [7:0] q_reg = 8'd0;

always @(posedge clk) begin
    q_reg <= sat;
end

assign q = q_reg;

endmodule

`resetall

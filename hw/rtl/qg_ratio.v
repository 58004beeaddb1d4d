`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * ratio(num, den) of models/FEATURES.md, then saturation to [LO, HI]:
 *     0 if den <= 0, else sat(num * RECIP[m - 128] >> (s + 9)) with s = bitlen(den) - 8,
 *     m = den normalized to 128..255. No division.
 * Free-running pipeline (inputs registered by the caller), LATENCY = 11 cycles with DEEP = 1:
 *     R1 per-byte leading one of den   R1b leading byte, per-byte windows   R2 select (ROM index)
 *     R3 RECIP ROM   R3b into the multipliers' input registers
 *     R4, R4b, R5 multiply (qg_mul_dsp: 17-bit chunks of num times recip in registered 18 x 18
 *     multipliers, the products registered again in the fabric (R4b), their sum)
 *     R6 shift + fit   R7 bit offset, saturate to int8   R8 saturate to [LO, HI]
 * DEEP = 0 (LATENCY = 4) drops the R1b, R2, R3, R3b, R4b, R5 and R8 registers: the same logic in R1, R4,
 * R6, R7.
 */
module qg_ratio #
(
    parameter NUM_WIDTH = 40,   // bits of num (signed)
    parameter DEN_WIDTH = 40,   // bits of den (signed; <= 0 gives 0)
    parameter LO = -128,        // saturation bounds within int8
    parameter HI = 127,
    parameter DEEP = 0          // pipeline configuration: 0 compact (4 cycles), 1 deep (11 cycles)
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

/* R1: the denominator's leading one, coarse and fine (den in groups of 8 bits): per group whether it is
 * non-zero and the position of its leading one. R1b (DEEP only) the leading group (one-hot) and every
 * group's 7-bit window shifted by its own position; R2 selects. So no stage holds a whole 40-60 bit
 * priority encoder or a 7-bit barrel shift, and none more than about three LUT levels. */
localparam XW = DEN_WIDTH - 1;              // den[XW-1:0]: the magnitude bits (den > 0)
localparam G8 = (XW + 7) / 8;               // groups of 8 bits, <= 8
wire [8*G8-1:0] xp = {{(8*G8-XW){1'b0}}, den[XW-1:0]};

function [2:0] pos8;    // position of the leading one of a non-zero byte (0 if zero)
    /* verilator lint_off UNUSEDSIGNAL */  // v[0] only matters as "the rest is zero"
    input [7:0] v;
    /* verilator lint_on UNUSEDSIGNAL */
    begin
        pos8 = v[7] ? 3'd7 : v[6] ? 3'd6 : v[5] ? 3'd5 : v[4] ? 3'd4 : v[3] ? 3'd3 : v[2] ? 3'd2 : v[1] ? 3'd1 : 3'd0;
    end
endfunction

// per byte: non-zero and the leading-one position (about two LUT levels each)
wire [G8-1:0]   any8;
wire [3*G8-1:0] p8_c;

genvar g;
generate
    for (g = 0; g < G8; g = g + 1) begin : g_grp
        assign any8[g] = |xp[8*g +: 8];
        assign p8_c[3*g +: 3] = pos8(xp[8*g +: 8]);
    end
endgenerate

reg signed [NUM_WIDTH-1:0] r1_num_reg = 0;
reg        [8*G8-1:0]      r1_den_reg = 0;
reg        [G8-1:0]        r1_any_reg = 0;
reg        [3*G8-1:0]      r1_p8_reg = 0;
reg                        r1_neg_reg = 1'b0;

always @(posedge clk) begin
    r1_num_reg <= num;
    r1_den_reg <= xp;
    r1_any_reg <= any8;
    r1_p8_reg <= p8_c;
    r1_neg_reg <= den[DEN_WIDTH-1];
end

wire r1_zero = r1_neg_reg || !(|r1_any_reg);    // den <= 0

/* R1b: the leading byte, one-hot (none if den == 0): non-zero and no non-zero byte above (<= 8 inputs);
 * index = m - 128 = den[pos-1 -: 7] (zeros below bit 0) with pos = 8 * grp + p: every byte's 14-bit window
 * shifted by its own p (an 8:1 mux per bit, in parallel), R2 selects the leading byte's */
wire [8*G8+6:0] xe = {r1_den_reg, 7'd0};    // den bit k at xe[k + 7]
reg  [G8-1:0]   lead_c;
reg  [7*G8-1:0] win_c;
/* verilator lint_off UNUSEDSIGNAL */  // the shifted window's top bits hold the leading one
reg  [13:0]     win_g;
/* verilator lint_on UNUSEDSIGNAL */
integer gq;

always @* begin
    for (gq = 0; gq < G8; gq = gq + 1) begin
        lead_c[gq] = r1_any_reg[gq] && !(|(r1_any_reg >> (gq + 1)));
        win_g = xe[8*gq +: 14] >> r1_p8_reg[3*gq +: 3];
        win_c[7*gq +: 7] = win_g[6:0];
    end
end

wire signed [NUM_WIDTH-1:0] r1b_num_reg;
wire        [G8-1:0]        r1b_lead_reg;
wire        [7*G8-1:0]      r1b_win_reg;
wire        [3*G8-1:0]      r1b_p8_reg;
wire                        r1b_zero_reg;

qg_pipe #(.WIDTH(NUM_WIDTH + G8 + 7 * G8 + 3 * G8 + 1), .EN(DEEP)) r1b_pipe_inst (
    .clk(clk),
    .d({r1_num_reg, lead_c, win_c, r1_p8_reg, r1_zero}),
    .q({r1b_num_reg, r1b_lead_reg, r1b_win_reg, r1b_p8_reg, r1b_zero_reg})
);

/* R2: AND-OR select of the leading byte's window (the ROM index), position and group */
reg  [6:0]      idx;
reg  [2:0]      p_sel;
reg  [3:0]      grp_sel;

always @* begin
    idx = 7'd0;
    p_sel = 3'd0;
    grp_sel = 4'd0;
    for (gq = 0; gq < G8; gq = gq + 1) begin
        idx = idx | (r1b_win_reg[7*gq +: 7] & {7{r1b_lead_reg[gq]}});
        p_sel = p_sel | (r1b_p8_reg[3*gq +: 3] & {3{r1b_lead_reg[gq]}});
        grp_sel = grp_sel | (gq[3:0] & {4{r1b_lead_reg[gq]}});
    end
end

wire signed [NUM_WIDTH-1:0] r2_num_reg;
wire        [6:0]           r2_idx_reg;
wire        [BL_WIDTH-1:0]  r2_pos_reg;
wire                        r2_zero_reg;

qg_pipe #(.WIDTH(NUM_WIDTH + 7 + BL_WIDTH + 1), .EN(DEEP)) r2_pipe_inst (
    .clk(clk),
    .d({r1b_num_reg, idx, grp_sel, p_sel, r1b_zero_reg}),     // pos = 8 * grp + p
    .q({r2_num_reg, r2_idx_reg, r2_pos_reg, r2_zero_reg})
);

/* R3: RECIP ROM, registered in the fabric (R3b, DEEP only: the ROM plus the route to a DSP block does
 * not fit a stage), then the multipliers' input registers; R4 chunk products; R4b (DEEP) the products in
 * fabric registers; R5 their sum (qg_mul_dsp) */
wire [9:0] recip_c;

// (a block-RAM ROM read at R2, qg_recip_rom REG = 1, measured worse: idx logic plus the route to the
// DP16KD address register; the LUT ROM between r2_idx_reg and the R3b register is kept). The open ECP5
// flow reads it as hand-mapped LUT7s (one LUT4 level plus the slice muxes; abc9 made LUT4 chains of it).
`ifdef QG_ECP5_DSP
qg_recip_lut7 recip_inst (
    .idx(r2_idx_reg),
    .recip(recip_c)
);
`else
qg_recip_rom recip_inst (
    .clk(clk),
    .idx(r2_idx_reg),
    .recip(recip_c)
);
`endif

// the thermometer code therm[c] = (pos > c) of the leading-one position (a shifted constant: a LUT
// function of pos per bit), for R4's fit mask and decode: formed beside the ROM (from r2_pos_reg) and
// carried through R3b (runs g: formed from r3b_pos_reg, its ~70 loads and two LUT levels, 7.2-7.7 ns)
wire [9:0]                  r3b_recip_reg;
wire signed [NUM_WIDTH-1:0] r3b_num_reg;
wire [BL_WIDTH-1:0]         r3b_pos_reg;
wire                        r3b_zero_reg;
wire [63:0]                 r3b_therm_reg;

qg_pipe #(.WIDTH(10 + NUM_WIDTH + BL_WIDTH + 1 + 64), .EN(DEEP)) r3b_pipe_inst (
    .clk(clk),
    .d({recip_c, r2_num_reg, r2_pos_reg, r2_zero_reg, ~(64'hffff_ffff_ffff_ffff << r2_pos_reg)}),
    .q({r3b_recip_reg, r3b_num_reg, r3b_pos_reg, r3b_zero_reg, r3b_therm_reg})
);

// shift sh = s + 9 = bitlen(den) + 1 = pos + 2
/* verilator lint_off UNUSEDSIGNAL */  // sh >> 3 comes from the thermometer code
wire [BL_WIDTH-1:0]  r3_sh_reg;
/* verilator lint_on UNUSEDSIGNAL */
wire                 r3_zero_reg;
wire [63:0]          r3_therm_reg;

qg_pipe #(.WIDTH(BL_WIDTH + 1 + 64), .EN(DEEP)) r3_pipe_inst (
    .clk(clk),
    .d({r3b_pos_reg + 7'd2, r3b_zero_reg, r3b_therm_reg}),
    .q({r3_sh_reg, r3_zero_reg, r3_therm_reg})
);

wire signed [P_WIDTH-1:0] prod;

qg_mul_dsp #(
    .A_WIDTH(NUM_WIDTH),
    .B_WIDTH(11),
    .REG_IN(DEEP),
    .REG_PROD(DEEP),
    .REG_SUM(DEEP)
)
mul_inst (
    .clk(clk),
    .a(r3b_num_reg),
    .b({1'b0, r3b_recip_reg}),
    .p(prod)
);

/* R4 (beside the products): mask of the product bits below sh + 7 (the ones that do not decide the fit);
 * the shift as a one-hot byte offset (sh >> 3) and a bit offset (sh & 7); R4b and R5 carry them on */
// byte offsets that can occur: sh = bitlen(den) + 1 <= DEN_WIDTH (den < 2**(DEN_WIDTH-1)), so sh >> 3 <=
// DEN_WIDTH >> 3 (the offsets reaching into px beyond that never occur: fewer terms in R6's select)
localparam NCG_PX = (P_WIDTH + 15) / 8;
localparam NCG = (DEN_WIDTH / 8 + 1 < NCG_PX) ? DEN_WIDTH / 8 + 1 : NCG_PX;
// mask[b] = (b < sh + 7) = (pos > b - 9); byte offset sh >> 3 == c iff pos > 8c - 3 and not pos > 8c + 5:
// both from the thermometer code, one LUT level at most
reg  [P_WIDTH-1:0]  mask_c;
reg  [NCG-1:0]      coarse_c;
integer b;

always @* begin
    for (b = 0; b < P_WIDTH; b = b + 1) begin
        mask_c[b] = (b < 9) ? 1'b1 : r3_therm_reg[(b >= 9) ? b - 9 : 0];
    end
    for (b = 0; b < NCG; b = b + 1) begin
        coarse_c[b] = ((8 * b - 3 < 0) ? 1'b1 : r3_therm_reg[(8 * b - 3 >= 0) ? 8 * b - 3 : 0])
                    && !((8 * b + 5 > 63) ? 1'b0 : r3_therm_reg[(8 * b + 5 <= 63) ? 8 * b + 5 : 0]);
    end
end

reg [P_WIDTH-1:0]  r4_mask_reg = 0;
reg [NCG-1:0]      r4_coarse_reg = 0;
reg [2:0]          r4_fine_reg = 0;
reg                r4_zero_reg = 1'b1;

always @(posedge clk) begin
    r4_mask_reg <= mask_c;
    r4_coarse_reg <= coarse_c;
    r4_fine_reg <= r3_sh_reg[2:0];
    r4_zero_reg <= r3_zero_reg;
end

wire [P_WIDTH-1:0]  r6_mask_reg;
wire [NCG-1:0]      r6_coarse_reg;
wire [2:0]          r6_fine_reg;
wire                r6_zero_reg;

qg_delay #(.WIDTH(P_WIDTH + NCG + 3 + 1), .DEPTH(2 * DEEP)) r5_delay_inst (
    .clk(clk),
    .in({r4_mask_reg, r4_coarse_reg, r4_fine_reg, r4_zero_reg}),
    .out({r6_mask_reg, r6_coarse_reg, r6_fine_reg, r6_zero_reg})
);

/* R6: floor shift, 8 bits of it: px[sh +: 8] = px[8 * (sh >> 3) +: 16][(sh & 7) +: 8]: R6 selects the
 * 16-bit window at the byte offset (AND-OR by the one-hot offset), R7 shifts it by the bit offset (an 8:1
 * mux per bit); and the fit: the shifted value fits int8 iff the product's bits from sh + 7 up all equal
 * its sign */
localparam PXW = (8 * NCG + 16 > P_WIDTH) ? 8 * NCG + 16 : P_WIDTH;
/* verilator lint_off UNUSEDSIGNAL */  // product bits above the highest window only matter to the fit
wire [PXW-1:0]     px = {{(PXW-P_WIDTH+1){prod[P_WIDTH-1]}}, prod[P_WIDTH-2:0]};
/* verilator lint_on UNUSEDSIGNAL */
reg  [15:0]        w16_c;

always @* begin
    w16_c = 16'd0;
    for (b = 0; b < NCG; b = b + 1) begin
        w16_c = w16_c | (px[8*b +: 16] & {16{r6_coarse_reg[b]}});
    end
end

// the fit as FG partial ANDs over FGW-bit groups (R6), combined in R7: per group whether the bits that
// decide the fit are all ones and whether they are all zeros, so the product's sign (a 60-load net when
// it was XNORed into every bit: 6.4 ns of routing) only selects between the two in R7. Deep: 8-bit
// groups (two LUT levels with the mask; 16-bit groups took three, 7.1-7.5 ns in runs d), so R7 ANDs more
// of them.
localparam FGW = DEEP ? 8 : 16;
localparam FG = (P_WIDTH + FGW - 1) / FGW;
wire [FGW*FG-1:0]  ones_bits = {{(FGW*FG-P_WIDTH){1'b1}}, prod | r6_mask_reg};
wire [FGW*FG-1:0]  zeros_bits = {{(FGW*FG-P_WIDTH){1'b1}}, ~prod | r6_mask_reg};
reg  [FG-1:0]      ones_grp_c, zeros_grp_c;
integer fg;

always @* begin
    for (fg = 0; fg < FG; fg = fg + 1) begin
        ones_grp_c[fg] = &ones_bits[FGW*fg +: FGW];
        zeros_grp_c[fg] = &zeros_bits[FGW*fg +: FGW];
    end
end

reg [15:0]       r7_w16_reg = 0;
reg [2:0]        r7_fine_reg = 0;
reg [FG-1:0]     r7_ones_reg = {FG{1'b1}}, r7_zeros_reg = {FG{1'b1}};
reg              r7_neg_reg = 1'b0, r7_zero_reg = 1'b1;

always @(posedge clk) begin
    r7_w16_reg <= w16_c;
    r7_fine_reg <= r6_fine_reg;
    r7_ones_reg <= ones_grp_c;
    r7_zeros_reg <= zeros_grp_c;
    r7_neg_reg <= prod[P_WIDTH-1];
    r7_zero_reg <= r6_zero_reg;
end

/* R7: the bit offset and the saturation to int8; then (R8 when DEEP) to [LO, HI] with 8-bit compares. The
 * 8:1 shift, the fit AND and the two selects were five LUT levels before the bound compares, the worst
 * endpoint of four in sixteen placements (runs 62-77: 7.0-8.5 ns, mostly routing between the levels) */
/* verilator lint_off UNUSEDSIGNAL */  // the window's top bits are above the 8 that are kept
wire [15:0]        w_sh = r7_w16_reg >> r7_fine_reg;
/* verilator lint_on UNUSEDSIGNAL */
wire signed [7:0]  r7_s8 = w_sh[7:0];
wire               r7_fits = r7_neg_reg ? (&r7_ones_reg) : (&r7_zeros_reg);
wire signed [7:0]  s8_c = r7_fits ? r7_s8 : (r7_neg_reg ? 8'sh80 : 8'sh7f);
wire signed [7:0]  s8;
wire               r8_zero;
qg_pipe #(.WIDTH(9), .EN(DEEP)) r8_pipe_inst (.clk(clk), .d({r7_zero_reg, s8_c}), .q({r8_zero, s8}));
localparam [7:0] LO_B = LO[7:0];
localparam [7:0] HI_B = HI[7:0];
wire signed [7:0]  lo8 = LO_B;
wire signed [7:0]  hi8 = HI_B;
wire signed [7:0]  zero_sat = (lo8 > 8'sd0) ? lo8 : ((hi8 < 8'sd0) ? hi8 : 8'sd0);
wire signed [7:0]  sat = r8_zero ? zero_sat : ((s8 < lo8) ? lo8 : ((s8 > hi8) ? hi8 : s8));

reg [7:0] q_reg = 8'd0;

always @(posedge clk) begin
    q_reg <= sat;
end

assign q = q_reg;

endmodule

`resetall

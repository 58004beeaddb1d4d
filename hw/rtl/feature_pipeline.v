`resetall
`timescale 1ns / 1ps
`default_nettype none

`include "regmap.vh"
`include "feature_params.vh"

/*
 * Fixed-point feature pipeline: one top-N book record per clock in, the int8 features of
 * models/FEATURES.md out, LATENCY cycles later, bit-exact with models.features.compute_features.
 *
 * Free-running: there is no backpressure (s_axis_tready is constant 1 and m_axis has no tready); the
 * caller throttles s_axis_tvalid. The feature list, shifts, ranges and decay constants come from
 * hw/rtl/gen/feature_params.vh (generated from models/<name>/config.yaml), the record layout from
 * hw/rtl/gen/regmap.vh (generated from firmware/regmap.yaml).
 *
 * Stages (each ends in a register; see hw/README.md for the diagram):
 *   s0  capture the record
 *   s1  record-only arithmetic: validity, a-b, a+b, per-level B-A and B+A, trade delta/total
 *   s2  level partial sums; STATE A (have_prev, touch prices/sizes, trade-flow accumulators):
 *       dmid2, OFI terms, updated trade-flow accumulators; spread
 *   s3  level sums complete (ratio inputs); STATE B (previous ts, last mid change ts): ages; |dmid2|
 *   s4  STATE C (volatility accumulator); bitlen of ages and of the trade total
 *   s5  scale/saturate the bitlen and volatility features; imb_l1 ratio done (microprice input)
 *   s6  microprice
 *   s7  ratio features done (qg_ratio, 4 stages from s3); every feature registered here
 * Each state register sits at the one stage that reads it, so its feedback loop is one cycle long
 * (mux, or mux + two adders for the decaying accumulators) at one record per clock. A record updates
 * state only when valid (FEATURES.md, "Invalid records"); RESET (or the first record after rst)
 * clears the state before the record's own features are computed.
 *
 * m_axis_tuser = {s_axis_tuser delayed, reset applied, invalid}.
 */
module feature_pipeline #
(
    parameter USER_WIDTH = 1    // sideband bits carried alongside each record (seq, timestamps, ...)
)
(
    input  wire                                  clk,
    input  wire                                  rst,

    /* Book records (firmware/regmap.yaml book_record), one per beat */
    /* verilator lint_off UNUSEDSIGNAL */  // seq and levels beyond QG_FEAT_LEVELS are not features
    input  wire [`QG_BOOK_RECORD_WIDTH-1:0]      s_axis_tdata,
    /* verilator lint_on UNUSEDSIGNAL */
    input  wire                                  s_axis_tvalid,
    output wire                                  s_axis_tready,
    input  wire [USER_WIDTH-1:0]                 s_axis_tuser,

    /* Features, feature j in tdata[8*j +: 8] (int8, model input grid x/128) */
    output wire [8*`QG_FEAT_COUNT-1:0]           m_axis_tdata,
    output wire                                  m_axis_tvalid,
    output wire [USER_WIDTH+1:0]                 m_axis_tuser
);

localparam F = `QG_FEAT_COUNT;
localparam L = `QG_FEAT_LEVELS;
localparam H = (L + 1) / 2;          // levels summed in s2 (the rest in s3)
localparam SUM_W = 42;               // level sums: 34-bit terms x 4-bit weights x up to 8 levels
localparam ACC_W = 48;               // decaying accumulators (FEATURES.md: 48 bits in the RTL)
localparam AGE_W = 54;               // (ts difference) >> 10
localparam LATENCY = 8;              // s_axis beat to m_axis beat, cycles

localparam [8*F-1:0] KIND_VEC = `QG_FEAT_KIND;
localparam [8*F-1:0] SHIFT_VEC = `QG_FEAT_SHIFT;
localparam [8*F-1:0] LO_VEC = `QG_FEAT_LO;
localparam [8*F-1:0] HI_VEC = `QG_FEAT_HI;
localparam [8*F-1:0] NLEV_VEC = `QG_FEAT_NLEV;
localparam [8*F-1:0] SIDE_VEC = `QG_FEAT_SIDE;
localparam [4*L-1:0] WEIGHTS = `QG_FEAT_WEIGHTS;

initial begin
    if (L < 1 || L > 8 || L > `QG_BOOK_RECORD_BID_SZ_COUNT || L > `QG_BOOK_RECORD_ASK_SZ_COUNT
            || L > `QG_BOOK_RECORD_BID_PX_COUNT || USER_WIDTH < 1) begin
        $error("Error: feature levels do not fit the book record, or bad USER_WIDTH (instance %m)");
        $finish;
    end
end

assign s_axis_tready = 1'b1;

integer i, k;   // loop indices of clocked blocks

/* ---------------------------------------------------------------- s0: capture */
reg                     valid_s0 = 1'b0;
reg                     first_reg = 1'b1;    // next record is the first after rst: treat as RESET
reg                     rstf_s0 = 1'b0;
reg signed [31:0]       b_s0 = 0, a_s0 = 0;
reg        [32*L-1:0]   bsz_s0 = 0, asz_s0 = 0;
reg        [31:0]       tb_s0 = 0, tsl_s0 = 0;
reg        [63:0]       ts_s0 = 0;

always @(posedge clk) begin
    b_s0 <= s_axis_tdata[`QG_BOOK_RECORD_BID_PX_LSB +: 32];
    a_s0 <= s_axis_tdata[`QG_BOOK_RECORD_ASK_PX_LSB +: 32];
    bsz_s0 <= s_axis_tdata[`QG_BOOK_RECORD_BID_SZ_LSB +: 32*L];
    asz_s0 <= s_axis_tdata[`QG_BOOK_RECORD_ASK_SZ_LSB +: 32*L];
    tb_s0 <= s_axis_tdata[`QG_BOOK_RECORD_TRADE_BUY_LSB +: 32];
    tsl_s0 <= s_axis_tdata[`QG_BOOK_RECORD_TRADE_SELL_LSB +: 32];
    ts_s0 <= s_axis_tdata[`QG_BOOK_RECORD_TS_NS_LSB +: 64];
    rstf_s0 <= s_axis_tdata[`QG_BOOK_RECORD_FLAGS_LSB + `QG_BOOK_RECORD_FLAG_RESET] || first_reg;
    if (rst) begin
        valid_s0 <= 1'b0;
        first_reg <= 1'b1;
    end else begin
        valid_s0 <= s_axis_tvalid;
        if (s_axis_tvalid) begin
            first_reg <= 1'b0;
        end
    end
end

/* ---------------------------------------------------------------- s1: record-only arithmetic */
reg                     valid_s1 = 1'b0;
reg                     rstf_s1 = 1'b0;
reg                     inv_s1 = 1'b0;
reg signed [31:0]       b_s1 = 0, a_s1 = 0;
reg signed [33:0]       bsz0_s1 = 0, asz0_s1 = 0;     // touch sizes, as non-negative signed
reg signed [33:0]       ab_s1 = 0, sp_s1 = 0, mid2_s1 = 0;
reg        [34*L-1:0]   d_s1 = 0, t_s1 = 0;           // per level B-A, B+A (signed 34 bits each)
reg        [34*L-1:0]   bs_s1 = 0, as_s1 = 0;         // per level B, A (signed 34 bits each)
reg signed [33:0]       tdel_s1 = 0, ttot_s1 = 0;
reg        [63:0]       ts_s1 = 0;

always @(posedge clk) begin
    inv_s1 <= !((b_s0 > 0) && (a_s0 > 0) && (a_s0 > b_s0));
    rstf_s1 <= rstf_s0;
    b_s1 <= b_s0;
    a_s1 <= a_s0;
    bsz0_s1 <= {2'b00, bsz_s0[31:0]};
    asz0_s1 <= {2'b00, asz_s0[31:0]};
    ab_s1 <= {{2{a_s0[31]}}, a_s0} - {{2{b_s0[31]}}, b_s0};
    sp_s1 <= {{2{a_s0[31]}}, a_s0} - {{2{b_s0[31]}}, b_s0} - 34'sd1;
    mid2_s1 <= {{2{a_s0[31]}}, a_s0} + {{2{b_s0[31]}}, b_s0};
    for (i = 0; i < L; i = i + 1) begin
        d_s1[34*i +: 34] <= {2'b00, bsz_s0[32*i +: 32]} - {2'b00, asz_s0[32*i +: 32]};
        t_s1[34*i +: 34] <= {2'b00, bsz_s0[32*i +: 32]} + {2'b00, asz_s0[32*i +: 32]};
        bs_s1[34*i +: 34] <= {2'b00, bsz_s0[32*i +: 32]};
        as_s1[34*i +: 34] <= {2'b00, asz_s0[32*i +: 32]};
    end
    tdel_s1 <= {2'b00, tb_s0} - {2'b00, tsl_s0};
    ttot_s1 <= {2'b00, tb_s0} + {2'b00, tsl_s0};
    ts_s1 <= ts_s0;
    valid_s1 <= rst ? 1'b0 : valid_s0;
end

/* ---------------------------------------------------------------- s2: partial level sums */
// Chains of continuous assignments (evaluated at time 0, unlike always @*), element k = levels 0..k-1:
//   *lo: levels below H (summed in s2), *hi: levels H.. (summed in s2, added to *lo in s3).
function signed [SUM_W-1:0] lvl;    // level idx of a packed per-level vector, sign-extended
    input [34*L-1:0] vec;
    input integer    idx;
    begin
        lvl = {{(SUM_W-34){vec[34*idx+33]}}, vec[34*idx +: 34]};
    end
endfunction

genvar g;
generate
    for (g = 0; g <= L; g = g + 1) begin : g_sum
        wire signed [SUM_W-1:0] dlo, dhi, tlo, thi, bs, as;
        if (g == 0) begin : g_zero
            assign {dlo, dhi, tlo, thi, bs, as} = {(6*SUM_W){1'b0}};
        end else begin : g_add
            if (g - 1 < H) begin : g_lo
                assign dlo = g_sum[g-1].dlo + lvl(d_s1, g - 1);
                assign tlo = g_sum[g-1].tlo + lvl(t_s1, g - 1);
                assign dhi = g_sum[g-1].dhi;
                assign thi = g_sum[g-1].thi;
            end else begin : g_hi
                assign dlo = g_sum[g-1].dlo;
                assign tlo = g_sum[g-1].tlo;
                assign dhi = g_sum[g-1].dhi + lvl(d_s1, g - 1);
                assign thi = g_sum[g-1].thi + lvl(t_s1, g - 1);
            end
            // totals restart at H so each half is a short chain: [H] = levels 0..H-1, [L] = levels H..L-1
            if (g == H + 1) begin : g_restart
                assign bs = lvl(bs_s1, g - 1);
                assign as = lvl(as_s1, g - 1);
            end else begin : g_chain
                assign bs = g_sum[g-1].bs + lvl(bs_s1, g - 1);
                assign as = g_sum[g-1].as + lvl(as_s1, g - 1);
            end
        end
    end
endgenerate

wire [SUM_W*L-1:0] dlo_c, dhi_c, tlo_c, thi_c;

generate
    for (g = 1; g <= L; g = g + 1) begin : g_pack
        assign dlo_c[SUM_W*(g-1) +: SUM_W] = g_sum[g].dlo;
        assign dhi_c[SUM_W*(g-1) +: SUM_W] = g_sum[g].dhi;
        assign tlo_c[SUM_W*(g-1) +: SUM_W] = g_sum[g].tlo;
        assign thi_c[SUM_W*(g-1) +: SUM_W] = g_sum[g].thi;
    end
endgenerate

wire signed [SUM_W-1:0] bslo_c = g_sum[H].bs, aslo_c = g_sum[H].as;
wire signed [SUM_W-1:0] bshi_c = (L > H) ? g_sum[L].bs : {SUM_W{1'b0}};
wire signed [SUM_W-1:0] ashi_c = (L > H) ? g_sum[L].as : {SUM_W{1'b0}};

// Weighted imbalance: s2 forms level pairs W[2p]*x[2p] + W[2p+1]*x[2p+1] (shift-add by the 4-bit constant
// weights, no multiplier), s3 adds the NP pair sums.
localparam NP = (L + 1) / 2;

function signed [SUM_W-1:0] wmul;   // x * w for a constant 4-bit w, as shifts and adds
    input signed [SUM_W-1:0] x;
    input [3:0]              w;
    begin
        wmul = (w[0] ? x : {SUM_W{1'b0}}) + (w[1] ? x <<< 1 : {SUM_W{1'b0}})
             + (w[2] ? x <<< 2 : {SUM_W{1'b0}}) + (w[3] ? x <<< 3 : {SUM_W{1'b0}});
    end
endfunction

wire [SUM_W*NP-1:0] wdp_c, wtp_c;

generate
    for (g = 0; g < NP; g = g + 1) begin : g_wpair
        if (2 * g + 1 < L) begin : g_two
            assign wdp_c[SUM_W*g +: SUM_W] = wmul(lvl(d_s1, 2 * g), WEIGHTS[8*g +: 4]) + wmul(lvl(d_s1, 2 * g + 1), WEIGHTS[8*g+4 +: 4]);
            assign wtp_c[SUM_W*g +: SUM_W] = wmul(lvl(t_s1, 2 * g), WEIGHTS[8*g +: 4]) + wmul(lvl(t_s1, 2 * g + 1), WEIGHTS[8*g+4 +: 4]);
        end else begin : g_one
            assign wdp_c[SUM_W*g +: SUM_W] = wmul(lvl(d_s1, 2 * g), WEIGHTS[8*g +: 4]);
            assign wtp_c[SUM_W*g +: SUM_W] = wmul(lvl(t_s1, 2 * g), WEIGHTS[8*g +: 4]);
        end
    end
endgenerate

/* ---------------------------------------------------------------- s2: STATE A */
reg                     have_prev_reg = 1'b0;
reg signed [31:0]       p_b_reg = 0, p_a_reg = 0;
reg signed [33:0]       p_bsz_reg = 0, p_asz_reg = 0, p_mid2_reg = 0;
reg signed [ACC_W-1:0]  tfs_reg = 0, tft_reg = 0;

wire                    hp_e = rstf_s1 ? 1'b0 : have_prev_reg;
wire signed [31:0]      pb_e = rstf_s1 ? 32'sd0 : p_b_reg;
wire signed [31:0]      pa_e = rstf_s1 ? 32'sd0 : p_a_reg;
wire signed [33:0]      pbsz_e = rstf_s1 ? 34'sd0 : p_bsz_reg;
wire signed [33:0]      pasz_e = rstf_s1 ? 34'sd0 : p_asz_reg;
wire signed [33:0]      pmid2_e = rstf_s1 ? 34'sd0 : p_mid2_reg;
wire signed [ACC_W-1:0] tfs_e = rstf_s1 ? {ACC_W{1'b0}} : tfs_reg;
wire signed [ACC_W-1:0] tft_e = rstf_s1 ? {ACC_W{1'b0}} : tft_reg;

wire signed [34:0]      dmid2_c = hp_e ? ({mid2_s1[33], mid2_s1} - {pmid2_e[33], pmid2_e}) : 35'sd0;
wire                    nz_c = hp_e && (mid2_s1 != pmid2_e);
// OFI terms: s2 registers the price comparisons and the candidate values side by side (one carry chain
// each), s3 selects eB / eA and subtracts.
wire                    b_up_c = (b_s1 > pb_e), b_eq_c = (b_s1 == pb_e);
wire                    a_dn_c = (a_s1 < pa_e), a_eq_c = (a_s1 == pa_e);
wire signed [33:0]      eb_eq_c = bsz0_s1 - pbsz_e, ea_eq_c = asz0_s1 - pasz_e;
wire signed [ACC_W-1:0] tdel_ext = {{(ACC_W-34){tdel_s1[33]}}, tdel_s1};
wire signed [ACC_W-1:0] ttot_ext = {{(ACC_W-34){ttot_s1[33]}}, ttot_s1};
wire signed [ACC_W-1:0] tfs_c = tfs_e - (tfs_e >>> `QG_TF_SHIFT) + (tdel_ext <<< `QG_TF_PRESCALE);
wire signed [ACC_W-1:0] tft_c = tft_e - (tft_e >>> `QG_TF_SHIFT) + (ttot_ext <<< `QG_TF_PRESCALE);

always @(posedge clk) begin
    if (rst) begin
        have_prev_reg <= 1'b0;
        p_b_reg <= 0;
        p_a_reg <= 0;
        p_bsz_reg <= 0;
        p_asz_reg <= 0;
        p_mid2_reg <= 0;
        tfs_reg <= 0;
        tft_reg <= 0;
    end else if (valid_s1) begin
        if (!inv_s1) begin
            have_prev_reg <= 1'b1;
            p_b_reg <= b_s1;
            p_a_reg <= a_s1;
            p_bsz_reg <= bsz0_s1;
            p_asz_reg <= asz0_s1;
            p_mid2_reg <= mid2_s1;
            tfs_reg <= tfs_c;
            tft_reg <= tft_c;
        end else begin
            have_prev_reg <= hp_e;
            p_b_reg <= pb_e;
            p_a_reg <= pa_e;
            p_bsz_reg <= pbsz_e;
            p_asz_reg <= pasz_e;
            p_mid2_reg <= pmid2_e;
            tfs_reg <= tfs_e;
            tft_reg <= tft_e;
        end
    end
end

reg                     valid_s2 = 1'b0;
reg                     rstf_s2 = 1'b0, inv_s2 = 1'b0, hp_s2 = 1'b0, nz_s2 = 1'b0;
reg [SUM_W*L-1:0]       dlo_s2 = 0, dhi_s2 = 0, tlo_s2 = 0, thi_s2 = 0;
reg signed [SUM_W-1:0]  bslo_s2 = 0, bshi_s2 = 0, aslo_s2 = 0, ashi_s2 = 0;
reg [SUM_W*NP-1:0]      wdp_s2 = 0, wtp_s2 = 0;
reg signed [34:0]       dmid2_s2 = 0;
reg signed [33:0]       eb_eq_s2 = 0, ea_eq_s2 = 0, pbsz_s2 = 0, pasz_s2 = 0;
reg                     b_up_s2 = 1'b0, b_eq_s2 = 1'b0, a_dn_s2 = 1'b0, a_eq_s2 = 1'b0;
reg signed [33:0]       pbasz_s2 = 0, t0_s2 = 0, bsz0_s2 = 0, asz0_s2 = 0;
reg signed [ACC_W-1:0]  tfs_s2 = 0, tft_s2 = 0;
reg        [63:0]       ts_s2 = 0;

always @(posedge clk) begin
    valid_s2 <= rst ? 1'b0 : valid_s1;
    rstf_s2 <= rstf_s1;
    inv_s2 <= inv_s1;
    hp_s2 <= hp_e;
    nz_s2 <= nz_c;
    dlo_s2 <= dlo_c;
    dhi_s2 <= dhi_c;
    tlo_s2 <= tlo_c;
    thi_s2 <= thi_c;
    bslo_s2 <= bslo_c;
    bshi_s2 <= bshi_c;
    aslo_s2 <= aslo_c;
    ashi_s2 <= ashi_c;
    wdp_s2 <= wdp_c;
    wtp_s2 <= wtp_c;
    dmid2_s2 <= dmid2_c;
    b_up_s2 <= b_up_c;
    b_eq_s2 <= b_eq_c;
    a_dn_s2 <= a_dn_c;
    a_eq_s2 <= a_eq_c;
    eb_eq_s2 <= eb_eq_c;
    ea_eq_s2 <= ea_eq_c;
    pbsz_s2 <= pbsz_e;
    pasz_s2 <= pasz_e;
    pbasz_s2 <= pbsz_e + pasz_e;
    t0_s2 <= t_s1[33:0];
    bsz0_s2 <= bsz0_s1;
    asz0_s2 <= asz0_s1;
    tfs_s2 <= tfs_c;
    tft_s2 <= tft_c;
    ts_s2 <= ts_s1;
end

/* ---------------------------------------------------------------- s3: sums done; STATE B */
/* verilator lint_off UNUSEDSIGNAL */  // prefix sums for level counts no feature uses are dropped
reg [SUM_W*L-1:0]       pd_s3 = 0, pt_s3 = 0;   // prefix sums over levels 0..k-1, k = 1..L
/* verilator lint_on UNUSEDSIGNAL */
reg signed [SUM_W-1:0]  bsum_s3 = 0, asum_s3 = 0, wd_s3 = 0, wt_s3 = 0;
reg signed [35:0]       ofi_num_s3 = 0, ofi_den_s3 = 0;
reg signed [33:0]       bsz0_s3 = 0, asz0_s3 = 0;
reg signed [ACC_W-1:0]  tfs_s3 = 0, tft_s3 = 0;
reg        [34:0]       absd_s3 = 0;
reg        [AGE_W-1:0]  age_s3 = 0, gap_s3 = 0;
reg                     valid_s3 = 1'b0, rstf_s3 = 1'b0, inv_s3 = 1'b0;

generate
    for (g = 0; g < NP; g = g + 1) begin : g_wsum
        wire signed [SUM_W-1:0] wd, wt;
        if (g == 0) begin : g_first
            assign wd = wdp_s2[0 +: SUM_W];
            assign wt = wtp_s2[0 +: SUM_W];
        end else begin : g_next
            assign wd = g_wsum[g-1].wd + $signed(wdp_s2[SUM_W*g +: SUM_W]);
            assign wt = g_wsum[g-1].wt + $signed(wtp_s2[SUM_W*g +: SUM_W]);
        end
    end
endgenerate

wire signed [33:0]      eb_s3_c = b_up_s2 ? bsz0_s2 : (b_eq_s2 ? eb_eq_s2 : -pbsz_s2);
wire signed [33:0]      ea_s3_c = a_dn_s2 ? asz0_s2 : (a_eq_s2 ? ea_eq_s2 : -pasz_s2);

reg        [63:0]       lmc_reg = 0;      // last_mid_change_ts
reg        [63:0]       pts_reg = 0;      // p_ts
wire       [63:0]       lmc_e = rstf_s2 ? ts_s2 : lmc_reg;
wire       [63:0]       pts_e = rstf_s2 ? ts_s2 : pts_reg;
/* verilator lint_off UNUSEDSIGNAL */  // ages are kept in 1.024 us units (>> 10)
wire       [64:0]       age_c = {1'b0, ts_s2} - {1'b0, lmc_e};
wire       [64:0]       gap_c = {1'b0, ts_s2} - {1'b0, pts_e};
/* verilator lint_on UNUSEDSIGNAL */

always @(posedge clk) begin
    if (rst) begin
        lmc_reg <= 0;
        pts_reg <= 0;
    end else if (valid_s2) begin
        lmc_reg <= (!inv_s2 && nz_s2) ? ts_s2 : lmc_e;
        pts_reg <= !inv_s2 ? ts_s2 : pts_e;
    end
end

always @(posedge clk) begin
    for (k = 0; k < L; k = k + 1) begin
        pd_s3[SUM_W*k +: SUM_W] <= dlo_s2[SUM_W*k +: SUM_W] + dhi_s2[SUM_W*k +: SUM_W];
        pt_s3[SUM_W*k +: SUM_W] <= tlo_s2[SUM_W*k +: SUM_W] + thi_s2[SUM_W*k +: SUM_W];
    end
    bsum_s3 <= bslo_s2 + bshi_s2;
    asum_s3 <= aslo_s2 + ashi_s2;
    wd_s3 <= g_wsum[NP-1].wd;
    wt_s3 <= g_wsum[NP-1].wt;
    ofi_num_s3 <= {{2{eb_s3_c[33]}}, eb_s3_c} - {{2{ea_s3_c[33]}}, ea_s3_c};
    ofi_den_s3 <= hp_s2 ? {{2{t0_s2[33]}}, t0_s2} + {{2{pbasz_s2[33]}}, pbasz_s2} : 36'sd0;
    bsz0_s3 <= bsz0_s2;
    asz0_s3 <= asz0_s2;
    tfs_s3 <= tfs_s2;
    tft_s3 <= tft_s2;
    absd_s3 <= dmid2_s2[34] ? -dmid2_s2 : dmid2_s2;
    age_s3 <= age_c[64] ? {AGE_W{1'b0}} : age_c[63:10];
    gap_s3 <= gap_c[64] ? {AGE_W{1'b0}} : gap_c[63:10];
    valid_s3 <= rst ? 1'b0 : valid_s2;
    rstf_s3 <= rstf_s2;
    inv_s3 <= inv_s2;
end

/* ---------------------------------------------------------------- s4: STATE C; bitlens */
reg        [ACC_W-1:0]  vol_reg = 0;
wire       [ACC_W-1:0]  vol_e = rstf_s3 ? {ACC_W{1'b0}} : vol_reg;
wire       [ACC_W-1:0]  vol_c = vol_e - (vol_e >> `QG_VOL_SHIFT) + ({{(ACC_W-35){1'b0}}, absd_s3} << `QG_VOL_PRESCALE);

always @(posedge clk) begin
    if (rst) begin
        vol_reg <= 0;
    end else if (valid_s3) begin
        vol_reg <= !inv_s3 ? vol_c : vol_e;
    end
end

wire [6:0] age_bl_c, gap_bl_c, ta_bl_c;

qg_bitlen #(.WIDTH(AGE_W), .OUT_WIDTH(7)) age_bitlen_inst (.x(age_s3), .len(age_bl_c));
qg_bitlen #(.WIDTH(AGE_W), .OUT_WIDTH(7)) gap_bitlen_inst (.x(gap_s3), .len(gap_bl_c));
qg_bitlen #(.WIDTH(ACC_W - 1), .OUT_WIDTH(7)) ta_bitlen_inst (.x(tft_s3[ACC_W-2:0]), .len(ta_bl_c));

reg        [ACC_W-1:0]  vol_s4 = 0;
reg        [6:0]        age_bl_s4 = 0, gap_bl_s4 = 0, ta_bl_s4 = 0;

always @(posedge clk) begin
    vol_s4 <= vol_c;
    age_bl_s4 <= age_bl_c;
    gap_bl_s4 <= gap_bl_c;
    ta_bl_s4 <= ta_bl_c;
end

/* ---------------------------------------------------------------- microprice input: imb_l1 */
wire [7:0] imb1_s5;     // ratio(B - A, B + A), inputs at s1 -> result at s5

qg_ratio #(
    .NUM_WIDTH(34),
    .DEN_WIDTH(34)
)
imb1_ratio_inst (
    .clk(clk),
    .num(d_s1[33:0]),
    .den(t_s1[33:0]),
    .q(imb1_s5)
);

wire [33:0] ab_s5;

qg_delay #(.WIDTH(34), .DEPTH(4)) ab_delay_inst (.clk(clk), .in(ab_s1), .out(ab_s5));

wire signed [42:0] mp_prod = $signed(ab_s5) * $signed(imb1_s5);

/* ---------------------------------------------------------------- features */
wire [8*F-1:0] feat_s7;

genvar j;
generate
    for (j = 0; j < F; j = j + 1) begin : g_feat
        localparam integer KIND = {24'd0, KIND_VEC[8*j +: 8]};
        localparam integer SHIFT = {{24{SHIFT_VEC[8*j+7]}}, SHIFT_VEC[8*j +: 8]};
        localparam integer LO = {{24{LO_VEC[8*j+7]}}, LO_VEC[8*j +: 8]};
        localparam integer HI = {{24{HI_VEC[8*j+7]}}, HI_VEC[8*j +: 8]};
        localparam integer NLEV = {24'd0, NLEV_VEC[8*j +: 8]};
        localparam integer SIDE = {24'd0, SIDE_VEC[8*j +: 8]};

        if (KIND == `QG_KIND_IMBALANCE) begin : g_imb
            qg_ratio #(.NUM_WIDTH(SUM_W), .DEN_WIDTH(SUM_W), .LO(LO), .HI(HI)) ratio_inst (
                .clk(clk),
                .num(pd_s3[SUM_W*(NLEV-1) +: SUM_W]),
                .den(pt_s3[SUM_W*(NLEV-1) +: SUM_W]),
                .q(feat_s7[8*j +: 8])
            );
        end else if (KIND == `QG_KIND_WEIGHTED_IMBALANCE) begin : g_wimb
            qg_ratio #(.NUM_WIDTH(SUM_W), .DEN_WIDTH(SUM_W), .LO(LO), .HI(HI)) ratio_inst (
                .clk(clk), .num(wd_s3), .den(wt_s3), .q(feat_s7[8*j +: 8])
            );
        end else if (KIND == `QG_KIND_OFI) begin : g_ofi
            qg_ratio #(.NUM_WIDTH(36), .DEN_WIDTH(36), .LO(LO), .HI(HI)) ratio_inst (
                .clk(clk), .num(ofi_num_s3), .den(ofi_den_s3), .q(feat_s7[8*j +: 8])
            );
        end else if (KIND == `QG_KIND_TRADE_FLOW) begin : g_tf
            qg_ratio #(.NUM_WIDTH(ACC_W), .DEN_WIDTH(ACC_W), .LO(LO), .HI(HI)) ratio_inst (
                .clk(clk), .num(tfs_s3), .den(tft_s3), .q(feat_s7[8*j +: 8])
            );
        end else if (KIND == `QG_KIND_TOUCH_SHARE) begin : g_touch
            qg_ratio #(.NUM_WIDTH(SUM_W), .DEN_WIDTH(SUM_W), .LO(LO), .HI(HI)) ratio_inst (
                .clk(clk),
                .num(SIDE != 0 ? {{(SUM_W-34){1'b0}}, asz0_s3} : {{(SUM_W-34){1'b0}}, bsz0_s3}),
                .den(SIDE != 0 ? asum_s3 : bsum_s3),
                .q(feat_s7[8*j +: 8])
            );
        end else if (KIND == `QG_KIND_SPREAD) begin : g_spread
            wire [7:0] v;
            reg  [7:0] v_s2 = 8'd0;
            qg_sat_scale #(.IN_WIDTH(34), .SHIFT(SHIFT), .LO(LO), .HI(HI)) sat_inst (.x(sp_s1), .y(v));
            always @(posedge clk) v_s2 <= v;
            qg_delay #(.WIDTH(8), .DEPTH(5)) delay_inst (.clk(clk), .in(v_s2), .out(feat_s7[8*j +: 8]));
        end else if (KIND == `QG_KIND_MID_CHANGE) begin : g_dmid
            wire [7:0] v;
            reg  [7:0] v_s3 = 8'd0;
            qg_sat_scale #(.IN_WIDTH(35), .SHIFT(SHIFT), .LO(LO), .HI(HI)) sat_inst (.x(dmid2_s2), .y(v));
            always @(posedge clk) v_s3 <= v;
            qg_delay #(.WIDTH(8), .DEPTH(4)) delay_inst (.clk(clk), .in(v_s3), .out(feat_s7[8*j +: 8]));
        end else if (KIND == `QG_KIND_VOLATILITY) begin : g_vol
            wire [7:0] v;
            reg  [7:0] v_s5 = 8'd0;
            qg_sat_scale #(.IN_WIDTH(ACC_W + 1), .SHIFT(SHIFT), .LO(LO), .HI(HI)) sat_inst (.x({1'b0, vol_s4}), .y(v));
            always @(posedge clk) v_s5 <= v;
            qg_delay #(.WIDTH(8), .DEPTH(2)) delay_inst (.clk(clk), .in(v_s5), .out(feat_s7[8*j +: 8]));
        end else if (KIND == `QG_KIND_TRADE_ACTIVITY || KIND == `QG_KIND_MID_AGE || KIND == `QG_KIND_EVENT_GAP) begin : g_log
            wire [7:0] v;
            reg  [7:0] v_s5 = 8'd0;
            wire [6:0] bl = (KIND == `QG_KIND_TRADE_ACTIVITY) ? ta_bl_s4 : ((KIND == `QG_KIND_MID_AGE) ? age_bl_s4 : gap_bl_s4);
            qg_sat_scale #(.IN_WIDTH(8), .SHIFT(SHIFT), .LO(LO), .HI(HI)) sat_inst (.x({1'b0, bl}), .y(v));
            always @(posedge clk) v_s5 <= v;
            qg_delay #(.WIDTH(8), .DEPTH(2)) delay_inst (.clk(clk), .in(v_s5), .out(feat_s7[8*j +: 8]));
        end else if (KIND == `QG_KIND_MICROPRICE) begin : g_micro
            // s6 registers the product (a DSP), s7 the shifted, saturated value
            reg  signed [42:0] prod_s6 = 43'sd0;
            wire        [7:0]  v;
            reg         [7:0]  v_s7 = 8'd0;
            always @(posedge clk) prod_s6 <= mp_prod;
            qg_sat_scale #(.IN_WIDTH(43), .SHIFT(-1), .LO(LO), .HI(HI)) sat_inst (.x(prod_s6), .y(v));
            always @(posedge clk) v_s7 <= v;
            assign feat_s7[8*j +: 8] = v_s7;
        end else begin : g_unknown
            initial begin
                $error("Error: feature %0d has a kind this pipeline does not implement (instance %m)", j);
                $finish;
            end
            assign feat_s7[8*j +: 8] = 8'd0;
        end
    end
endgenerate

/* ---------------------------------------------------------------- valid and sideband to s7 */
reg [3:0] valid_s7_pipe = 4'd0;    // s4 .. s7

always @(posedge clk) begin
    valid_s7_pipe <= rst ? 4'd0 : {valid_s7_pipe[2:0], valid_s3};
end

wire [USER_WIDTH-1:0] user_s7;
wire [1:0]            flags_s7;

qg_delay #(.WIDTH(USER_WIDTH), .DEPTH(LATENCY)) user_delay_inst (.clk(clk), .in(s_axis_tuser), .out(user_s7));
qg_delay #(.WIDTH(2), .DEPTH(4)) flags_delay_inst (.clk(clk), .in({rstf_s3, inv_s3}), .out(flags_s7));

assign m_axis_tdata = feat_s7;
assign m_axis_tvalid = valid_s7_pipe[3];
assign m_axis_tuser = {user_s7, flags_s7};

endmodule

`resetall

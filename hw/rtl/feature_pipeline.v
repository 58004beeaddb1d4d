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
 * Stages (each ends in a register; see hw/README.md for the table):
 *   s0  capture the record
 *   s1  record-only arithmetic: validity, a-b, a+b, per-level B-A and B+A, trade delta/total
 *   s2  level partial sums; STATE A (have_prev, touch prices/sizes, trade-flow accumulators):
 *       dmid2, OFI terms, updated trade-flow accumulators; spread bound compares (select in s3)
 *   s3  level sums complete (ratio inputs); STATE B (previous ts, last mid change ts): ages; |dmid2|
 *       (deep: the last mid change is state at s3; the ages in 32-bit halves, done at s5, and their
 *       bitlens two stages later than below)
 *   s4  STATE C (volatility accumulator); bitlen of ages and of the trade total, per-byte step
 *   s5  bitlen leading byte; volatility value   s6  bitlen select; volatility bound compares
 *   s7  scale/saturate the bitlen features; volatility select
 *   imb_l1 ratio (qg_ratio, R_LAT stages from s1), microprice product (MP_LAT), microprice at s<OUT_S>;
 *   ratio features (qg_ratio from s3); every feature registered at s<OUT_S>
 *   (deep: R_LAT 11, MP_LAT 3, OUT_S = s16; compact: R_LAT 4, MP_LAT 1, OUT_S = s7)
 * Each state register sits at the one stage that reads it, so its feedback loop is one cycle long
 * (mux, or mux + two adders for the decaying accumulators) at one record per clock. A record updates
 * state only when valid (FEATURES.md, "Invalid records"); RESET (or the first record after rst)
 * clears the state before the record's own features are computed.
 *
 * m_axis_tuser = {s_axis_tuser delayed, reset applied, invalid}.
 */
module feature_pipeline #
(
    parameter USER_WIDTH = 1,   // sideband bits carried alongside each record (seq, timestamps, ...)
    parameter DEEP = 0          // pipeline configuration (hw/boards.yaml `pipeline:`): 0 compact, LATENCY 8;
                                // 1 deep (qg_ratio 11 stages, microprice product 3), LATENCY 17
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
localparam SUM_W = 42;               // level sums: 34-bit terms x 4-bit weights x up to 8 levels
localparam ACC_W = 48;               // decaying accumulators (FEATURES.md: 48 bits in the RTL)
localparam AGE_W = 54;               // (ts difference) >> 10
localparam R_LAT = DEEP ? 11 : 4;    // qg_ratio
localparam MP_LAT = DEEP ? 3 : 1;    // microprice product (deep: qg_mult18 + a fabric register; compact: qg_mul_lut, 10 x 8 bits)
localparam OUT_S = 1 + R_LAT + MP_LAT + 1;   // output stage: imb_l1 ratio from s1, product, saturation
localparam LATENCY = OUT_S + 1;      // s_axis beat to m_axis beat, cycles (s0 .. s<OUT_S>)

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

integer i;      // loop index of clocked blocks

// signed 16-bit compares as unsigned ones on the sign-flipped values (a carry chain's carry-out, without
// the overflow LUT of a signed compare)
function [15:0] sflip;
    input [15:0] v;
    begin
        sflip = {~v[15], v[14:0]};
    end
endfunction

/* ---------------------------------------------------------------- s0: capture */
reg                     valid_s0 = 1'b0;
reg                     first_reg = 1'b1;    // next record is the first after rst: treat as RESET
reg                     rstf_s0 = 1'b0;
reg                     clr_s0 = 1'b0;       // valid RESET record in s0 (then s1, s2)
reg signed [31:0]       b_s0 = 0, a_s0 = 0;
reg        [32*L-1:0]   bsz_s0 = 0, asz_s0 = 0;
reg        [31:0]       tb_s0 = 0, tsl_s0 = 0;
reg        [63:0]       ts_s0 = 0;
// validity b > 0, a > 0, a > b as compare halves at the capture (the input side has the slack), so s1
// only combines five bits instead of a 32-bit compare chain
reg                     b_pos_s0 = 1'b0, a_pos_s0 = 1'b0, a_gt_hi_s0 = 1'b0, a_eq_hi_s0 = 1'b0, a_gt_lo_s0 = 1'b0;
wire signed [31:0]      b_in = s_axis_tdata[`QG_BOOK_RECORD_BID_PX_LSB +: 32];
wire signed [31:0]      a_in = s_axis_tdata[`QG_BOOK_RECORD_ASK_PX_LSB +: 32];
wire                    clr_s0_d = !rst && s_axis_tvalid && (s_axis_tdata[`QG_BOOK_RECORD_FLAGS_LSB + `QG_BOOK_RECORD_FLAG_RESET] || first_reg);

always @(posedge clk) begin
    b_s0 <= s_axis_tdata[`QG_BOOK_RECORD_BID_PX_LSB +: 32];
    b_pos_s0 <= !b_in[31] && (|b_in[30:0]);
    a_pos_s0 <= !a_in[31] && (|a_in[30:0]);
    a_gt_hi_s0 <= sflip(a_in[31:16]) > sflip(b_in[31:16]);   // signed
    a_eq_hi_s0 <= a_in[31:16] == b_in[31:16];
    a_gt_lo_s0 <= a_in[15:0] > b_in[15:0];
    a_s0 <= s_axis_tdata[`QG_BOOK_RECORD_ASK_PX_LSB +: 32];
    bsz_s0 <= s_axis_tdata[`QG_BOOK_RECORD_BID_SZ_LSB +: 32*L];
    asz_s0 <= s_axis_tdata[`QG_BOOK_RECORD_ASK_SZ_LSB +: 32*L];
    tb_s0 <= s_axis_tdata[`QG_BOOK_RECORD_TRADE_BUY_LSB +: 32];
    tsl_s0 <= s_axis_tdata[`QG_BOOK_RECORD_TRADE_SELL_LSB +: 32];
    ts_s0 <= s_axis_tdata[`QG_BOOK_RECORD_TS_NS_LSB +: 64];
    rstf_s0 <= s_axis_tdata[`QG_BOOK_RECORD_FLAGS_LSB + `QG_BOOK_RECORD_FLAG_RESET] || first_reg;
    clr_s0 <= clr_s0_d;
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

// Copies of the s0 fields, so each s0 register drives one s1 carry chain (and at most a plain register):
// the prices for the OFI compares (below) and for a + b, the level sizes for B + A, the touch sizes for
// the imb_l1 ratio's own terms (c9fcae9, c: one s0 register drove up to four chains, 7.7-8.3 ns into
// t_s1 / sp_s1 / ab_s1). qg_dup_reg: flip-flops synthesis does not merge back.
wire signed [31:0]      b_c0, a_c0;     // = b_s0, a_s0 (OFI compares)
wire signed [31:0]      b_m0, a_m0;     // = b_s0, a_s0 (mid2)
wire        [32*L-1:0]  bsz_t0, asz_t0; // = bsz_s0, asz_s0 (level B + A)
wire        [31:0]      bsz_i0, asz_i0; // = touch sizes (imb_l1)

qg_dup_reg #(.WIDTH(64), .COPIES(1)) px_cmp_copy_inst (.clk(clk), .rst(1'b0), .d({b_in, a_in}), .q({b_c0, a_c0}));
qg_dup_reg #(.WIDTH(64), .COPIES(1)) px_mid_copy_inst (.clk(clk), .rst(1'b0), .d({b_in, a_in}), .q({b_m0, a_m0}));
qg_dup_reg #(.WIDTH(64 * L), .COPIES(1)) sz_t_copy_inst (
    .clk(clk), .rst(1'b0),
    .d({s_axis_tdata[`QG_BOOK_RECORD_BID_SZ_LSB +: 32*L], s_axis_tdata[`QG_BOOK_RECORD_ASK_SZ_LSB +: 32*L]}),
    .q({bsz_t0, asz_t0})
);
qg_dup_reg #(.WIDTH(64), .COPIES(1)) sz_i_copy_inst (
    .clk(clk), .rst(1'b0),
    .d({s_axis_tdata[`QG_BOOK_RECORD_BID_SZ_LSB +: 32], s_axis_tdata[`QG_BOOK_RECORD_ASK_SZ_LSB +: 32]}),
    .q({bsz_i0, asz_i0})
);

/* ---------------------------------------------------------------- s1: record-only arithmetic */
reg                     valid_s1 = 1'b0;
reg                     rstf_s1 = 1'b0;
reg                     clr_s1 = 1'b0;
reg                     inv_s1 = 1'b0;
reg                     upd_s1 = 1'b0;       // valid and not invalid: state A loads
wire                    upd_s1_d = !rst && valid_s0 && (b_pos_s0 && a_pos_s0 && (a_gt_hi_s0 || (a_eq_hi_s0 && a_gt_lo_s0)));
reg signed [31:0]       b_s1 = 0, a_s1 = 0;
reg signed [33:0]       bsz0_s1 = 0, asz0_s1 = 0;     // touch sizes, as non-negative signed
reg signed [33:0]       ab_s1 = 0, mid2_s1 = 0;
reg        [34*L-1:0]   d_s1 = 0, t_s1 = 0;           // per level B-A, B+A (signed 34 bits each)
reg        [34*L-1:0]   bs_s1 = 0, as_s1 = 0;         // per level B, A (signed 34 bits each)
reg signed [33:0]       tdel_s1 = 0, ttot_s1 = 0;
reg        [63:0]       ts_s1 = 0;

always @(posedge clk) begin
    inv_s1 <= !(b_pos_s0 && a_pos_s0 && (a_gt_hi_s0 || (a_eq_hi_s0 && a_gt_lo_s0)));
    upd_s1 <= upd_s1_d;
    rstf_s1 <= rstf_s0;
    clr_s1 <= rst ? 1'b0 : clr_s0;
    b_s1 <= b_s0;
    a_s1 <= a_s0;
    bsz0_s1 <= {2'b00, bsz_s0[31:0]};
    asz0_s1 <= {2'b00, asz_s0[31:0]};
    ab_s1 <= {{2{a_s0[31]}}, a_s0} - {{2{b_s0[31]}}, b_s0};
    mid2_s1 <= {{2{a_m0[31]}}, a_m0} + {{2{b_m0[31]}}, b_m0};
    for (i = 0; i < L; i = i + 1) begin
        d_s1[34*i +: 34] <= {2'b00, bsz_s0[32*i +: 32]} - {2'b00, asz_s0[32*i +: 32]};
        t_s1[34*i +: 34] <= {2'b00, bsz_t0[32*i +: 32]} + {2'b00, asz_t0[32*i +: 32]};
        bs_s1[34*i +: 34] <= {2'b00, bsz_s0[32*i +: 32]};
        as_s1[34*i +: 34] <= {2'b00, asz_s0[32*i +: 32]};
    end
    tdel_s1 <= {2'b00, tb_s0} - {2'b00, tsl_s0};
    ttot_s1 <= {2'b00, tb_s0} + {2'b00, tsl_s0};
    ts_s1 <= ts_s0;
    valid_s1 <= rst ? 1'b0 : valid_s0;
end

// Spread a - b - 1, at s<1 + SP>: compact in one carry chain from s0; deep (SP = 1, the feature has slack)
// as ab_s1 - 1 at s2, so the s0 prices drive one 34-bit chain less (from branch timing4-datapath, 0e17bf6)
localparam SP = DEEP;
wire signed [33:0]      sp_r;

generate
    if (DEEP == 0) begin : g_sp_compact
        reg signed [33:0] sp_s1 = 0;
        always @(posedge clk) begin
            sp_s1 <= {{2{a_s0[31]}}, a_s0} + ~{{2{b_s0[31]}}, b_s0};     // a - b - 1 in one carry chain
        end
        assign sp_r = sp_s1;
    end else begin : g_sp_deep
        reg signed [33:0] sp_s2 = 0;
        always @(posedge clk) begin
            sp_s2 <= ab_s1 - 34'sd1;     // no overflow: |a - b| < 2**32
        end
        assign sp_r = sp_s2;
    end
endgenerate

/* ---------------------------------------------------------------- s2: partial level sums */
// Sums of up to 8 terms as a carry-save chain (one LUT level per term beyond two: 3:2 compressors)
// and a single carry chain: two adders in series do not fit a 150 MHz stage on ECP5.
function signed [SUM_W-1:0] lvl;    // level idx of a packed per-level vector, sign-extended
    input [34*L-1:0] vec;
    input integer    idx;
    begin
        lvl = {{(SUM_W-34){vec[34*idx+33]}}, vec[34*idx +: 34]};
    end
endfunction

function signed [SUM_W-1:0] csa_sum;    // sum of the first n (1..8) terms of tv, mod 2**SUM_W
    input [8*SUM_W-1:0] tv;
    input integer       n;
    reg   [SUM_W-1:0]   cs_s, cs_c, cs_x, cs_t;
    integer             m;
    begin
        cs_s = tv[0 +: SUM_W];
        cs_c = {SUM_W{1'b0}};
        for (m = 1; m < 8; m = m + 1) begin
            if (m < n) begin
                cs_x = tv[SUM_W*m +: SUM_W];
                if (m == 1) begin
                    cs_c = cs_x;
                end else begin
                    cs_t = cs_s ^ cs_c ^ cs_x;
                    cs_c = ((cs_s & cs_c) | (cs_s & cs_x) | (cs_c & cs_x)) << 1;
                    cs_s = cs_t;
                end
            end
        end
        csa_sum = cs_s + cs_c;
    end
endfunction

function signed [SUM_W-1:0] lsum;   // sum of levels lo..hi-1 of vec (hi - lo <= 8; 0 if empty)
    input [34*L-1:0] vec;
    input integer    lo;
    input integer    hi;
    reg   [8*SUM_W-1:0] tv;
    integer          m;
    begin
        tv = {(8*SUM_W){1'b0}};
        for (m = 0; m < 8; m = m + 1) begin
            if (lo + m < hi) begin
                tv[SUM_W*m +: SUM_W] = lvl(vec, lo + m);
            end
        end
        lsum = (hi > lo) ? csa_sum(tv, hi - lo) : {SUM_W{1'b0}};
    end
endfunction

// s2 forms level pairs x[2j] + x[2j+1] (one carry chain each, straight from the s1 registers: no carry-save
// LUT behind their fan-out; run 22's worst path was t_s1 -> level sum CSA LUT -> chain) and registers the
// even levels x[2j] alone; s3 adds, for the prefix over levels 0..k-1, the pairs below k and level k-1 if
// k is odd (at most four terms, carry-save from registers of fan-out 1-3). Same sums, mod 2**SUM_W.
localparam NPR = L / 2;              // level pairs
localparam NPR1 = (NPR > 0) ? NPR : 1;   // vector widths (one unused zero pair when L = 1)
localparam NSG = (L + 1) / 2;        // even levels
// Sum registers hold only the bits their values can take (level terms: |x| < 2**33), sign-extended to
// SUM_W behind the flip-flops: synthesis narrows the adders to those bits anyway, and a SUM_W-wide
// register then drove its sign-extension flip-flops from the chain's top output (run base-s4: one sum bit
// to 7-10 flip-flops of dpr_s2 / pda_s3, 8.4 ns).
localparam PR_W = 35;               // pair sums: |x0 + x1| < 2**34
localparam PF_W = 37;               // prefix sums of up to 8 levels: < 2**36

function [PR_W-1:0] pr_bits;        // a pair sum's PR_W bits (the upper SUM_W - PR_W are its sign)
    /* verilator lint_off UNUSEDSIGNAL */
    input [SUM_W-1:0] v;
    /* verilator lint_on UNUSEDSIGNAL */
    begin
        pr_bits = v[PR_W-1:0];
    end
endfunction

function [SUM_W-1:0] sx_pr;         // a PR_W-bit pair sum sign-extended to SUM_W
    input [PR_W-1:0] v;
    begin
        sx_pr = {{(SUM_W-PR_W){v[PR_W-1]}}, v};
    end
endfunction

function [SUM_W-1:0] sx_pf;         // a PF_W-bit prefix sum sign-extended to SUM_W
    input [PF_W-1:0] v;
    begin
        sx_pf = {{(SUM_W-PF_W){v[PF_W-1]}}, v};
    end
endfunction

function signed [SUM_W-1:0] prefix;     // levels 0..nl-1 from the pair sums pr and the even levels sg
    input [SUM_W*NPR1-1:0] pr;
    input [SUM_W*NSG-1:0] sg;
    input integer         nl;
    reg   [8*SUM_W-1:0]   tv;
    integer               m, n;
    begin
        tv = {(8*SUM_W){1'b0}};
        n = 0;
        for (m = 0; m < NPR; m = m + 1) begin
            if (2 * m + 2 <= nl) begin
                tv[SUM_W*n +: SUM_W] = pr[SUM_W*m +: SUM_W];
                n = n + 1;
            end
        end
        if (nl % 2 == 1) begin
            tv[SUM_W*n +: SUM_W] = sg[SUM_W*((nl-1)/2) +: SUM_W];
            n = n + 1;
        end
        prefix = (n > 0) ? csa_sum(tv, n) : {SUM_W{1'b0}};
    end
endfunction

// term idx of the prefix over levels 0..nl-1 as prefix() lists them: the pairs below nl, then level nl-1 if
// nl is odd; 0 past the last (deep: two 2-term chains in s3, their sum in s4, no carry-save LUT)
function signed [SUM_W-1:0] pterm;
    input [SUM_W*NPR1-1:0] pr;
    input [SUM_W*NSG-1:0]  sg;
    input integer          nl;
    input integer          idx;
    begin
        if (idx < nl / 2) begin
            pterm = pr[SUM_W*idx +: SUM_W];
        end else if (idx == nl / 2 && nl % 2 == 1) begin
            pterm = sg[SUM_W*((nl-1)/2) +: SUM_W];
        end else begin
            pterm = {SUM_W{1'b0}};
        end
    end
endfunction

// terms idx and idx + 1 of the prefix over levels 0..nl-1 (pterm) added, in PF_W bits (deep: a 2-term chain)
function [PF_W-1:0] pterm2;
    input [SUM_W*NPR1-1:0] pr;
    input [SUM_W*NSG-1:0]  sg;
    input integer          nl;
    input integer          idx;
    /* verilator lint_off UNUSEDSIGNAL */  // |sum| < 2**36: the upper bits are its sign
    reg   [SUM_W-1:0]      sum;
    /* verilator lint_on UNUSEDSIGNAL */
    begin
        sum = pterm(pr, sg, nl, idx) + pterm(pr, sg, nl, idx + 1);
        pterm2 = sum[PF_W-1:0];
    end
endfunction

wire [PR_W*NPR1-1:0]  dpr_c, tpr_c, bspr_c, aspr_c;     // level pair sums, PR_W bits each
wire [SUM_W*NSG-1:0] dsg_c, tsg_c, bssg_c, assg_c;
wire [SUM_W*NPR1-1:0] dpr_s2, tpr_s2, bspr_s2, aspr_s2;    // level pair sums (s2), sign-extended from:
reg  [PR_W*NPR1-1:0]  dpr_n_s2 = 0, tpr_n_s2 = 0, bspr_n_s2 = 0, aspr_n_s2 = 0;

genvar g;
generate
    for (g = 0; g < NPR1; g = g + 1) begin : g_pr_sx
        assign dpr_s2[SUM_W*g +: SUM_W] = sx_pr(dpr_n_s2[PR_W*g +: PR_W]);
        assign tpr_s2[SUM_W*g +: SUM_W] = sx_pr(tpr_n_s2[PR_W*g +: PR_W]);
        assign bspr_s2[SUM_W*g +: SUM_W] = sx_pr(bspr_n_s2[PR_W*g +: PR_W]);
        assign aspr_s2[SUM_W*g +: SUM_W] = sx_pr(aspr_n_s2[PR_W*g +: PR_W]);
    end
endgenerate

generate
    if (NPR == 0) begin : g_no_pair
        assign dpr_c = 0;
        assign tpr_c = 0;
        assign bspr_c = 0;
        assign aspr_c = 0;
    end
    for (g = 0; g < NPR; g = g + 1) begin : g_pair
        assign dpr_c[PR_W*g +: PR_W] = pr_bits(lsum(d_s1, 2 * g, 2 * g + 2));
        assign tpr_c[PR_W*g +: PR_W] = pr_bits(lsum(t_s1, 2 * g, 2 * g + 2));
        assign bspr_c[PR_W*g +: PR_W] = pr_bits(lsum(bs_s1, 2 * g, 2 * g + 2));
        assign aspr_c[PR_W*g +: PR_W] = pr_bits(lsum(as_s1, 2 * g, 2 * g + 2));
    end
    for (g = 0; g < NSG; g = g + 1) begin : g_single
        assign dsg_c[SUM_W*g +: SUM_W] = lvl(d_s1, 2 * g);
        assign tsg_c[SUM_W*g +: SUM_W] = lvl(t_s1, 2 * g);
        assign bssg_c[SUM_W*g +: SUM_W] = lvl(bs_s1, 2 * g);
        assign assg_c[SUM_W*g +: SUM_W] = lvl(as_s1, 2 * g);
    end
endgenerate

// Weighted imbalance: s2 forms level pairs W[2p]*x[2p] + W[2p+1]*x[2p+1] (shift-add by the 4-bit constant
// weights, no multiplier), s3 adds the NP pair sums.
localparam NP = (L + 1) / 2;

function signed [SUM_W-1:0] wpair;  // w0 * level i0 + w1 * level i1 of vec (constant 4-bit weights), as
    input [34*L-1:0] vec;           // shifted terms in one carry-save sum; i1 < 0: the first level alone
    input integer    i0;
    input [3:0]      w0;
    input integer    i1;
    input [3:0]      w1;
    reg   [8*SUM_W-1:0] tv;
    integer          m, n;
    begin
        tv = {(8*SUM_W){1'b0}};
        n = 0;
        for (m = 0; m < 4; m = m + 1) begin
            if (w0[m]) begin
                tv[SUM_W*n +: SUM_W] = lvl(vec, i0) <<< m;
                n = n + 1;
            end
        end
        for (m = 0; m < 4; m = m + 1) begin
            if (i1 >= 0 && w1[m]) begin
                tv[SUM_W*n +: SUM_W] = lvl(vec, (i1 >= 0) ? i1 : 0) <<< m;
                n = n + 1;
            end
        end
        wpair = (n > 0) ? csa_sum(tv, n) : {SUM_W{1'b0}};
    end
endfunction

function integer popc4;     // set bits of a 4-bit weight
    input [3:0] w;
    begin
        popc4 = {31'd0, w[0]} + {31'd0, w[1]} + {31'd0, w[2]} + {31'd0, w[3]};
    end
endfunction

// w0 * x[i0] + w1 * x[i0+1] from the pair sum p = x[i0] + x[i0+1] (deep: dpr_w, a copy of dpr_s2
// registered at the same edge as d_w / t_w) as min(w0, w1) * p + (w0 - min) * x[i0] + (w1 - min) * x[i0+1], where that takes
// fewer shifted terms than wpair (the configured weights 5, 4 / 3, 2: two terms, a single carry chain
// without the carry-save LUT); the same value mod 2**SUM_W
function signed [SUM_W-1:0] wpair_ps;
    input [SUM_W-1:0] p;
    input [34*L-1:0]  vec;
    input integer     i0;
    input [3:0]       w0;
    input [3:0]       w1;
    reg   [8*SUM_W-1:0] tv;
    reg   [3:0]       wm, d0, d1;
    integer           m, n;
    begin
        wm = (w0 < w1) ? w0 : w1;
        d0 = w0 - wm;
        d1 = w1 - wm;
        if (popc4(wm) + popc4(d0) + popc4(d1) < popc4(w0) + popc4(w1)) begin
            tv = {(8*SUM_W){1'b0}};
            n = 0;
            for (m = 0; m < 4; m = m + 1) begin
                if (wm[m]) begin
                    tv[SUM_W*n +: SUM_W] = p << m;
                    n = n + 1;
                end
            end
            for (m = 0; m < 4; m = m + 1) begin
                if (d0[m]) begin
                    tv[SUM_W*n +: SUM_W] = lvl(vec, i0) <<< m;
                    n = n + 1;
                end
                if (d1[m]) begin
                    tv[SUM_W*n +: SUM_W] = lvl(vec, i0 + 1) <<< m;
                    n = n + 1;
                end
            end
            wpair_ps = (n > 0) ? csa_sum(tv, n) : {SUM_W{1'b0}};
        end else begin
            wpair_ps = wpair(vec, i0, w0, i0 + 1, w1);
        end
    end
endfunction

wire [SUM_W*NP-1:0] wdp_c, wtp_c;
// Deep: the weighted imbalance takes the cycle of slack it has before the output stage here, so the pairs
// read a registered copy of the level terms (d_w, t_w: flip-flop to flip-flop from d_s1 / t_s1) instead
// of d_s1 / t_s1, which the level sums read too (runs r4 and g-s1: d_s1 -> pair, 3.3-4.1 ns nets in front
// of the carry-save LUT and the chain); every weighted register below is then one stage later (WS).
localparam WS = DEEP;
wire [34*L-1:0] d_w, t_w;

qg_pipe #(.WIDTH(68 * L), .EN(WS)) dt_w_pipe_inst (.clk(clk), .d({d_s1, t_s1}), .q({d_w, t_w}));

// deep: the weighted pairs read their own register copy of the level pair sums (dpr_s2 / tpr_s2 also feed
// the prefix chains: run 40, dpr_s2 -> 4.7 ns net -> weighted pair chain); qg_dup_reg, so synthesis keeps it
/* verilator lint_off UNUSEDSIGNAL */  // compact: unused
wire [SUM_W*NPR1-1:0] dpr_w, tpr_w;
/* verilator lint_on UNUSEDSIGNAL */

generate
    if (WS) begin : g_pr_w
        wire [PR_W*NPR1-1:0] dpr_w_n, tpr_w_n;   // PR_W bits, as dpr_n_s2
        qg_dup_reg #(.WIDTH(2 * PR_W * NPR1), .COPIES(1)) pr_w_copy_inst (
            .clk(clk), .rst(1'b0), .d({dpr_c, tpr_c}), .q({dpr_w_n, tpr_w_n})
        );
        for (g = 0; g < NPR1; g = g + 1) begin : g_pr_w_sx
            assign dpr_w[SUM_W*g +: SUM_W] = sx_pr(dpr_w_n[PR_W*g +: PR_W]);
            assign tpr_w[SUM_W*g +: SUM_W] = sx_pr(tpr_w_n[PR_W*g +: PR_W]);
        end
    end else begin : g_no_pr_w
        assign dpr_w = dpr_s2;     // unused (the compact pairs read d_s1 / t_s1)
        assign tpr_w = tpr_s2;
    end
endgenerate

generate
    for (g = 0; g < NP; g = g + 1) begin : g_wpair
        localparam integer I1 = (2 * g + 1 < L) ? 2 * g + 1 : -1;
        localparam [3:0]   W0 = WEIGHTS[8*g +: 4];
        localparam [3:0]   W1 = (I1 >= 0) ? WEIGHTS[((I1 >= 0) ? 8*g+4 : 0) +: 4] : 4'd0;
        if (WS && I1 >= 0) begin : g_ps
            assign wdp_c[SUM_W*g +: SUM_W] = wpair_ps(dpr_w[SUM_W*g +: SUM_W], d_w, 2 * g, W0, W1);
            assign wtp_c[SUM_W*g +: SUM_W] = wpair_ps(tpr_w[SUM_W*g +: SUM_W], t_w, 2 * g, W0, W1);
        end else begin : g_lv
            assign wdp_c[SUM_W*g +: SUM_W] = wpair(d_w, 2 * g, W0, I1, W1);
            assign wtp_c[SUM_W*g +: SUM_W] = wpair(t_w, 2 * g, W0, I1, W1);
        end
    end
endgenerate

/* ---------------------------------------------------------------- s2: STATE A */
reg                     have_prev_reg = 1'b0;
reg signed [31:0]       p_b_reg = 0, p_a_reg = 0;
reg signed [33:0]       p_bsz_reg = 0, p_asz_reg = 0, p_mid2_reg = 0;
reg signed [ACC_W-1:0]  tfs_reg = 0, tft_reg = 0;

// RESET clears the state the record sees. Instead of a mux after every state register (a ~400-load net
// in front of the compare/adder chains), the state is cleared (or, for state B, loaded) at the clock edge
// where the RESET record enters the stage that reads it: the record leaving that stage then has already
// read the state, and its own update would be overwritten by the RESET record's anyway. clr_s<k> = a
// valid RESET record in s<k>; it drives the registers' synchronous reset. rst does not: the first record
// after rst is a RESET record (first_reg) and clears the state before anything reads it.
wire                    hp_e = have_prev_reg;
wire signed [33:0]      pbsz_e = p_bsz_reg;
wire signed [33:0]      pasz_e = p_asz_reg;
wire signed [33:0]      pmid2_e = p_mid2_reg;
wire signed [ACC_W-1:0] tfs_e = tfs_reg;
wire signed [ACC_W-1:0] tft_e = tft_reg;

wire signed [34:0]      dmid2_c = hp_e ? ({mid2_s1[33], mid2_s1} - {pmid2_e[33], pmid2_e}) : 35'sd0;
wire                    nz_c = hp_e && (mid2_s1 != pmid2_e);
// OFI terms: s2 registers the price comparisons and the candidate values side by side (one carry chain
// each), s3 selects eB / eA and subtracts. The comparisons against the state the record will see in s1
// are made from s0 (below), against each of the state's three next values.
wire signed [33:0]      eb_eq_c = bsz0_s1 - pbsz_e, ea_eq_c = asz0_s1 - pasz_e;
wire signed [ACC_W-1:0] tdel_ext = {{(ACC_W-34){tdel_s1[33]}}, tdel_s1};
wire signed [ACC_W-1:0] ttot_ext = {{(ACC_W-34){ttot_s1[33]}}, ttot_s1};
// Decaying accumulators x - (x >> S) + t (mod 2**ACC_W, as FEATURES.md's 48-bit RTL registers), written as
// one carry-save level (a LUT per bit, the rstf zeroing folded in) and a single carry chain:
//   x + ~(x >> S) + 1 + t = sum + carry with sum = x ^ ~xs ^ t, carry = {maj(x, ~xs, t), 1} (the +1).
// The state registers load only for a valid record (a registered clock enable, upd_s1 / upd_s3): their
// one-cycle loop is LUT + chain, and the feature takes the same value.
function [ACC_W-1:0] decay_sm;     // the carry-save level of decay_next: sum bits ...
    input [ACC_W-1:0] x;      // state (already zeroed by RESET)
    input [ACC_W-1:0] xs;     // x >> S (arithmetic or logical, as the feature defines)
    input [ACC_W-1:0] t;      // the record's term, shifted
    begin
        decay_sm = x ^ ~xs ^ t;
    end
endfunction

function [ACC_W-1:0] decay_cy;     // ... and carries (before the shift)
    input [ACC_W-1:0] x;
    input [ACC_W-1:0] xs;
    input [ACC_W-1:0] t;
    begin
        decay_cy = (x & ~xs) | (x & t) | (~xs & t);
    end
endfunction

function [ACC_W-1:0] decay_next;
    input [ACC_W-1:0] x;
    input [ACC_W-1:0] xs;
    input [ACC_W-1:0] t;
    /* verilator lint_off UNUSEDSIGNAL */  // the top carry leaves the register
    reg   [ACC_W-1:0] cy;
    /* verilator lint_on UNUSEDSIGNAL */
    begin
        cy = decay_cy(x, xs, t);
        decay_next = decay_sm(x, xs, t) + {cy[ACC_W-2:0], 1'b1};
    end
endfunction

wire signed [ACC_W-1:0] tdel_t = tdel_ext <<< `QG_TF_PRESCALE;
wire signed [ACC_W-1:0] ttot_t = ttot_ext <<< `QG_TF_PRESCALE;
wire signed [ACC_W-1:0] tfs_sh = tfs_e >>> `QG_TF_SHIFT;     // arithmetic: signed wires, no mixed context
wire signed [ACC_W-1:0] tft_sh = tft_e >>> `QG_TF_SHIFT;
wire signed [ACC_W-1:0] tfs_c = decay_next(tfs_e, tfs_sh, tdel_t);
wire signed [ACC_W-1:0] tft_c = decay_next(tft_e, tft_sh, ttot_t);

// The price state's next value is 0 (clr_s0), b_s1 / a_s1 (upd_s1) or itself. The record in s0 is compared
// with the two non-zero candidates in parallel, as partial compares registered at s1 (signed upper
// halves, unsigned lower halves, equality per byte: one 16-bit carry chain or two LUT levels each, right
// behind the s0 registers' fan-out); s1 -> s2 combines them and selects by the registered clr / upd.
// The zero candidate: b_s0 > 0 is b_pos_s0 (formed at the capture), the equalities come from the copy.
reg        [1:0]        b_gthi_s1 = 2'b00, b_gtlo_s1 = 2'b00, a_lthi_s1 = 2'b00, a_ltlo_s1 = 2'b00;  // [1] vs b_s1 / a_s1,
reg        [7:0]        b_eqb_s1 = 8'd0, a_eqb_s1 = 8'd0;                                           // [0] vs the state
reg                     cmp_clr_s1 = 1'b0, cmp_upd_s1 = 1'b0;
reg                     b_pos_s1 = 1'b0, b_zero_s1 = 1'b0, a_neg_s1 = 1'b0, a_zero_s1 = 1'b0;
integer                 cb;

always @(posedge clk) begin
    cmp_clr_s1 <= clr_s0;
    cmp_upd_s1 <= upd_s1;
    b_pos_s1 <= b_pos_s0;
    b_zero_s1 <= !(|b_c0);
    a_neg_s1 <= a_c0[31];
    a_zero_s1 <= !(|a_c0);
    b_gthi_s1 <= {sflip(b_c0[31:16]) > sflip(b_s1[31:16]), sflip(b_c0[31:16]) > sflip(p_b_reg[31:16])};
    b_gtlo_s1 <= {b_c0[15:0] > b_s1[15:0], b_c0[15:0] > p_b_reg[15:0]};
    a_lthi_s1 <= {sflip(a_c0[31:16]) < sflip(a_s1[31:16]), sflip(a_c0[31:16]) < sflip(p_a_reg[31:16])};
    a_ltlo_s1 <= {a_c0[15:0] < a_s1[15:0], a_c0[15:0] < p_a_reg[15:0]};
    for (cb = 0; cb < 4; cb = cb + 1) begin
        b_eqb_s1[4 + cb] <= b_c0[8*cb +: 8] == b_s1[8*cb +: 8];
        b_eqb_s1[cb] <= b_c0[8*cb +: 8] == p_b_reg[8*cb +: 8];
        a_eqb_s1[4 + cb] <= a_c0[8*cb +: 8] == a_s1[8*cb +: 8];
        a_eqb_s1[cb] <= a_c0[8*cb +: 8] == p_a_reg[8*cb +: 8];
    end
end

// per candidate c (1: the record in s1, 0: the state): b > c, b == c, a < c, a == c
wire [1:0] b_up_cand = b_gthi_s1 | ({&b_eqb_s1[7:6], &b_eqb_s1[3:2]} & b_gtlo_s1);
wire [1:0] b_eq_cand = {&b_eqb_s1[7:4], &b_eqb_s1[3:0]};
wire [1:0] a_dn_cand = a_lthi_s1 | ({&a_eqb_s1[7:6], &a_eqb_s1[3:2]} & a_ltlo_s1);
wire [1:0] a_eq_cand = {&a_eqb_s1[7:4], &a_eqb_s1[3:0]};
/* verilator lint_off UNUSEDSIGNAL */  // deep: the selects are made a stage later (g_ofi2)
wire       b_up_sel = cmp_clr_s1 ? b_pos_s1 : (cmp_upd_s1 ? b_up_cand[1] : b_up_cand[0]);
wire       b_eq_sel = cmp_clr_s1 ? b_zero_s1 : (cmp_upd_s1 ? b_eq_cand[1] : b_eq_cand[0]);
wire       a_dn_sel = cmp_clr_s1 ? a_neg_s1 : (cmp_upd_s1 ? a_dn_cand[1] : a_dn_cand[0]);
wire       a_eq_sel = cmp_clr_s1 ? a_zero_s1 : (cmp_upd_s1 ? a_eq_cand[1] : a_eq_cand[0]);
/* verilator lint_on UNUSEDSIGNAL */

always @(posedge clk) begin
    if (clr_s0) begin   // (no rst term: after rst the first record is a RESET record and clears it here)
        tfs_reg <= 0;
        tft_reg <= 0;
    end else if (upd_s1) begin     // a valid record in s1 (an invalid one leaves the state as it is)
        tfs_reg <= tfs_c;
        tft_reg <= tft_c;
    end
end

// The price / size state clears and loads like the accumulators above, from its own register copies of
// clr_s0 and upd_s1 (one ~260-load set/reset net and clock-enable net before: timing4-datapath run 40,
// clr_s0 -> 7.6 ns of routing to the LSR pins): [0] have_prev, p_b, p_a; [1] p_bsz, p_asz; [2] p_mid2.
wire [2:0] st_clr, st_upd;

qg_dup_reg #(.WIDTH(1), .COPIES(3)) st_clr_copy_inst (.clk(clk), .rst(1'b0), .d(clr_s0_d), .q(st_clr));
qg_dup_reg #(.WIDTH(1), .COPIES(3)) st_upd_copy_inst (.clk(clk), .rst(1'b0), .d(upd_s1_d), .q(st_upd));

always @(posedge clk) begin
    if (st_clr[0]) begin
        have_prev_reg <= 1'b0;
        p_b_reg <= 0;
        p_a_reg <= 0;
    end else if (st_upd[0]) begin
        have_prev_reg <= 1'b1;
        p_b_reg <= b_s1;
        p_a_reg <= a_s1;
    end
    if (st_clr[1]) begin
        p_bsz_reg <= 0;
        p_asz_reg <= 0;
    end else if (st_upd[1]) begin
        p_bsz_reg <= bsz0_s1;
        p_asz_reg <= asz0_s1;
    end
    if (st_clr[2]) begin
        p_mid2_reg <= 0;
    end else if (st_upd[2]) begin
        p_mid2_reg <= mid2_s1;
    end
end

reg                     valid_s2 = 1'b0;
reg                     rstf_s2 = 1'b0, inv_s2 = 1'b0, hp_s2 = 1'b0;
/* verilator lint_off UNUSEDSIGNAL */  // deep: the mid-change flag is made at s3 (g_age_deep)
reg                     nz_s2 = 1'b0;
/* verilator lint_on UNUSEDSIGNAL */
reg                     clr_s2 = 1'b0;
reg [SUM_W*NSG-1:0]     dsg_s2 = 0, tsg_s2 = 0, bssg_s2 = 0, assg_s2 = 0;    // even levels
reg [SUM_W*NP-1:0]      wdp_s2 = 0, wtp_s2 = 0;
reg signed [34:0]       dmid2_s2 = 0;
reg signed [33:0]       eb_eq_s2 = 0, ea_eq_s2 = 0, npbsz_s2 = 0, npasz_s2 = 0;
reg signed [33:0]       pbasz_s2 = 0, t0_s2 = 0, bsz0_s2 = 0, asz0_s2 = 0;
// the trade-flow accumulators' value for the record is recomputed in s2 -> s3 from registers of the state
// it saw and of its terms (the same decay_next), so each state loop's chain drives its own register only
// (runs 37 and 39: the loop's chain also fed the feature register, placed a 2 ns net away)
reg signed [ACC_W-1:0]  tfs_x_s2 = 0, tft_x_s2 = 0;     // the state the record saw in s1
reg signed [33:0]       tdel_s2 = 0, ttot_s2 = 0;
reg        [63:0]       ts_s2 = 0;

always @(posedge clk) begin
    valid_s2 <= rst ? 1'b0 : valid_s1;
    rstf_s2 <= rstf_s1;
    clr_s2 <= rst ? 1'b0 : clr_s1;
    inv_s2 <= inv_s1;
    hp_s2 <= hp_e;
    nz_s2 <= nz_c;
    dpr_n_s2 <= dpr_c;
    tpr_n_s2 <= tpr_c;
    bspr_n_s2 <= bspr_c;
    aspr_n_s2 <= aspr_c;
    dsg_s2 <= dsg_c;
    tsg_s2 <= tsg_c;
    bssg_s2 <= bssg_c;
    assg_s2 <= assg_c;
    wdp_s2 <= wdp_c;
    wtp_s2 <= wtp_c;
    dmid2_s2 <= dmid2_c;
    eb_eq_s2 <= eb_eq_c;
    ea_eq_s2 <= ea_eq_c;
    npbsz_s2 <= -pbsz_e;
    npasz_s2 <= -pasz_e;
    pbasz_s2 <= pbsz_e + pasz_e;
    t0_s2 <= t_s1[33:0];
    bsz0_s2 <= bsz0_s1;
    asz0_s2 <= asz0_s1;
    tfs_x_s2 <= tfs_e;
    tft_x_s2 <= tft_e;
    tdel_s2 <= tdel_s1;
    ttot_s2 <= ttot_s1;
    ts_s2 <= ts_s1;
end

/* ---------------------------------------------------------------- s3: sums done; STATE B */
reg signed [35:0]       ofi_den_s3 = 0;
wire signed [ACC_W-1:0] tfs_x_sh = tfs_x_s2 >>> `QG_TF_SHIFT;
wire signed [ACC_W-1:0] tft_x_sh = tft_x_s2 >>> `QG_TF_SHIFT;
wire signed [ACC_W-1:0] tdel2_ext = {{(ACC_W-34){tdel_s2[33]}}, tdel_s2};
wire signed [ACC_W-1:0] ttot2_ext = {{(ACC_W-34){ttot_s2[33]}}, ttot_s2};
wire signed [ACC_W-1:0] tdel2_t = tdel2_ext <<< `QG_TF_PRESCALE;     // the record's terms, as tdel_t / ttot_t
wire signed [ACC_W-1:0] ttot2_t = ttot2_ext <<< `QG_TF_PRESCALE;

// The trade-flow feature values at s<3 + TF>: compact, decay_next into s3; deep (TF = 1, the trade-flow
// ratio has slack) its carry-save level registered at s3 and the chain into s4 (runs d: the carry-save
// LUT and the 48-bit chain behind the registered state, 6.7-6.8 ns). The trade activity's bitlen follows.
localparam TF = DEEP;
wire signed [ACC_W-1:0] tfs_l, tft_l;

generate
    if (TF != 0) begin : g_tf2
        /* verilator lint_off UNUSEDSIGNAL */  // the top carry leaves the register (as in decay_next)
        reg [ACC_W-1:0] tfs_sm_s3 = 0, tfs_cy_s3 = 0, tft_sm_s3 = 0, tft_cy_s3 = 0;
        /* verilator lint_on UNUSEDSIGNAL */
        reg [ACC_W-1:0] tfs_s4 = 0, tft_s4 = 0;
        always @(posedge clk) begin     // decay_next in two steps: the same sum (= tfs_c / tft_c of the record)
            tfs_sm_s3 <= decay_sm(tfs_x_s2, tfs_x_sh, tdel2_t);
            tfs_cy_s3 <= decay_cy(tfs_x_s2, tfs_x_sh, tdel2_t);
            tft_sm_s3 <= decay_sm(tft_x_s2, tft_x_sh, ttot2_t);
            tft_cy_s3 <= decay_cy(tft_x_s2, tft_x_sh, ttot2_t);
            tfs_s4 <= tfs_sm_s3 + {tfs_cy_s3[ACC_W-2:0], 1'b1};
            tft_s4 <= tft_sm_s3 + {tft_cy_s3[ACC_W-2:0], 1'b1};
        end
        assign tfs_l = tfs_s4;
        assign tft_l = tft_s4;
    end else begin : g_tf1
        reg [ACC_W-1:0] tfs_s3 = 0, tft_s3 = 0;
        always @(posedge clk) begin     // = tfs_c / tft_c of the record
            tfs_s3 <= decay_next(tfs_x_s2, tfs_x_sh, tdel2_t);
            tft_s3 <= decay_next(tft_x_s2, tft_x_sh, ttot2_t);
        end
        assign tfs_l = tfs_s3;
        assign tft_l = tft_s3;
    end
endgenerate
reg        [34:0]       absd_s3 = 0;
reg                     valid_s3 = 1'b0, rstf_s3 = 1'b0, inv_s3 = 1'b0;
reg                     upd_s3 = 1'b0;       // valid and not invalid: state C loads

// Weighted sums over the NP pair sums, complete at s<3 + WS + WD>: compact, one carry-save sum; deep (WD 1:
// the weighted imbalance has a cycle of slack since the microprice's fabric register) pairs 0 + 1 and
// 2 + 3 as two 2-term chains, their sum a stage later (run base-s4: the carry-save LUT over the three pair
// sums in front of the chain, wd_s3 at 7.8 ns).
localparam WD = DEEP;
wire signed [SUM_W-1:0] wd_l, wt_l;
wire [8*SUM_W-1:0]      wdp_v = {{((8-NP)*SUM_W){1'b0}}, wdp_s2};
wire [8*SUM_W-1:0]      wtp_v = {{((8-NP)*SUM_W){1'b0}}, wtp_s2};

generate
    if (WD) begin : g_wsum2
        reg signed [SUM_W-1:0] wda_s3 = 0, wdb_s3 = 0, wta_s3 = 0, wtb_s3 = 0, wd_s4 = 0, wt_s4 = 0;
        always @(posedge clk) begin
            wda_s3 <= csa_sum(wdp_v, (NP < 2) ? NP : 2);
            wdb_s3 <= csa_sum({{(2*SUM_W){1'b0}}, wdp_v[8*SUM_W-1:2*SUM_W]}, (NP > 2) ? NP - 2 : 0);
            wta_s3 <= csa_sum(wtp_v, (NP < 2) ? NP : 2);
            wtb_s3 <= csa_sum({{(2*SUM_W){1'b0}}, wtp_v[8*SUM_W-1:2*SUM_W]}, (NP > 2) ? NP - 2 : 0);
            wd_s4 <= wda_s3 + wdb_s3;
            wt_s4 <= wta_s3 + wtb_s3;
        end
        assign wd_l = wd_s4;
        assign wt_l = wt_s4;
    end else begin : g_wsum1
        reg signed [SUM_W-1:0] wd_s3 = 0, wt_s3 = 0;
        always @(posedge clk) begin
            wd_s3 <= csa_sum(wdp_v, NP);
            wt_s3 <= csa_sum(wtp_v, NP);
        end
        assign wd_l = wd_s3;
        assign wt_l = wt_s3;
    end
endgenerate


reg        [63:0]       lmc_reg = 0;      // last_mid_change_ts (at s2; deep: at s3, g_age_deep)
reg        [63:0]       pts_reg = 0;      // p_ts (= ts_s2 for a RESET record: loaded from s1)

// State B loads ts_s1 for a RESET record in s1, else ts_s2 for a valid record in s2 (the last mid change
// only when the mid changed, g_age_*): clock enables and the data select from register copies per state
// register (= clr_s1, and valid and not invalid in s2), one LUT in front of each (run c seed 2: lmc_e at
// 7.2 ns behind the shared valid / invalid / clear selects)
wire sb_clr, sb_vn;

qg_dup_reg #(.WIDTH(1), .COPIES(1)) sb_clr_copy_inst (.clk(clk), .rst(1'b0), .d(!rst && clr_s0), .q(sb_clr));
qg_dup_reg #(.WIDTH(1), .COPIES(1)) sb_vn_copy_inst (.clk(clk), .rst(1'b0), .d(!rst && valid_s1 && !inv_s1), .q(sb_vn));

always @(posedge clk) begin
    if (sb_clr || sb_vn) begin
        pts_reg <= sb_clr ? ts_s1 : ts_s2;
    end
end

// Level prefix sums (levels 0..k-1 in element k-1, k = 1..L) and book-side totals, complete at s<3 + LS>:
// compact (LS 0) at s3, one carry-save tree of up to four s2 registers; deep (LS 1: the ratio features
// that read them have a cycle of slack before the output stage) two 2-term chains in s3 and their sum in
// s4, no LUT in front of any chain (run 36: dpr_s2 -> prefix CSA LUT -> chain). The touch-share
// numerators are delayed to match.
localparam LS = DEEP;
/* verilator lint_off UNUSEDSIGNAL */  // prefix sums for level counts no feature uses are dropped
wire [SUM_W*L-1:0]      pd_l, pt_l;
/* verilator lint_on UNUSEDSIGNAL */
wire signed [SUM_W-1:0] bsum_l, asum_l;
wire signed [33:0]      bsz0_l, asz0_l;
reg signed [33:0]       bsz0_s3 = 0, asz0_s3 = 0;

generate
    if (LS) begin : g_lsum2
        /* verilator lint_off UNUSEDSIGNAL */
        reg [PF_W*L-1:0]       pda_s3 = 0, pdb_s3 = 0, pta_s3 = 0, ptb_s3 = 0, pd_s4 = 0, pt_s4 = 0;
        /* verilator lint_on UNUSEDSIGNAL */
        reg signed [PF_W-1:0]  bsa_s3 = 0, bsb_s3 = 0, asa_s3 = 0, asb_s3 = 0, bsum_s4 = 0, asum_s4 = 0;
        reg signed [33:0]      bsz0_s4 = 0, asz0_s4 = 0;
        integer q;
        always @(posedge clk) begin
            for (q = 0; q < L; q = q + 1) begin
                pda_s3[PF_W*q +: PF_W] <= pterm2(dpr_s2, dsg_s2, q + 1, 0);
                pdb_s3[PF_W*q +: PF_W] <= pterm2(dpr_s2, dsg_s2, q + 1, 2);
                pta_s3[PF_W*q +: PF_W] <= pterm2(tpr_s2, tsg_s2, q + 1, 0);
                ptb_s3[PF_W*q +: PF_W] <= pterm2(tpr_s2, tsg_s2, q + 1, 2);
                pd_s4[PF_W*q +: PF_W] <= pda_s3[PF_W*q +: PF_W] + pdb_s3[PF_W*q +: PF_W];
                pt_s4[PF_W*q +: PF_W] <= pta_s3[PF_W*q +: PF_W] + ptb_s3[PF_W*q +: PF_W];
            end
            bsa_s3 <= pterm2(bspr_s2, bssg_s2, L, 0);
            bsb_s3 <= pterm2(bspr_s2, bssg_s2, L, 2);
            asa_s3 <= pterm2(aspr_s2, assg_s2, L, 0);
            asb_s3 <= pterm2(aspr_s2, assg_s2, L, 2);
            bsum_s4 <= bsa_s3 + bsb_s3;
            asum_s4 <= asa_s3 + asb_s3;
            bsz0_s4 <= bsz0_s3;
            asz0_s4 <= asz0_s3;
        end
        for (g = 0; g < L; g = g + 1) begin : g_pf_sx
            assign pd_l[SUM_W*g +: SUM_W] = sx_pf(pd_s4[PF_W*g +: PF_W]);
            assign pt_l[SUM_W*g +: SUM_W] = sx_pf(pt_s4[PF_W*g +: PF_W]);
        end
        assign bsum_l = sx_pf(bsum_s4);
        assign asum_l = sx_pf(asum_s4);
        assign bsz0_l = bsz0_s4;
        assign asz0_l = asz0_s4;
    end else begin : g_lsum1
        /* verilator lint_off UNUSEDSIGNAL */
        reg [SUM_W*L-1:0]      pd_s3 = 0, pt_s3 = 0;
        /* verilator lint_on UNUSEDSIGNAL */
        reg signed [SUM_W-1:0] bsum_s3 = 0, asum_s3 = 0;
        integer q;
        always @(posedge clk) begin
            for (q = 0; q < L; q = q + 1) begin
                pd_s3[SUM_W*q +: SUM_W] <= prefix(dpr_s2, dsg_s2, q + 1);
                pt_s3[SUM_W*q +: SUM_W] <= prefix(tpr_s2, tsg_s2, q + 1);
            end
            bsum_s3 <= prefix(bspr_s2, bssg_s2, L);
            asum_s3 <= prefix(aspr_s2, assg_s2, L);
        end
        assign pd_l = pd_s3;
        assign pt_l = pt_s3;
        assign bsum_l = bsum_s3;
        assign asum_l = asum_s3;
        assign bsz0_l = bsz0_s3;
        assign asz0_l = asz0_s3;
    end
endgenerate

always @(posedge clk) begin
    ofi_den_s3 <= hp_s2 ? {{2{t0_s2[33]}}, t0_s2} + {{2{pbasz_s2[33]}}, pbasz_s2} : 36'sd0;
    bsz0_s3 <= bsz0_s2;
    asz0_s3 <= asz0_s2;
    absd_s3 <= dmid2_s2[34] ? -dmid2_s2 : dmid2_s2;
    valid_s3 <= rst ? 1'b0 : valid_s2;
    rstf_s3 <= rstf_s2;
    inv_s3 <= inv_s2;
    upd_s3 <= !rst && valid_s2 && !inv_s2;
end

// OFI numerator eB - eA. Compact (OS 0): the price comparisons combined and selected (b_up_sel, ...) into
// s2, the eB / eA selects and the subtract in s2 -> s3. Deep (OS 2: the OFI ratio has two cycles of slack
// since the fabric registers after the multipliers): per candidate the comparison registered at s2, the
// candidate select at s3 (run d seed 1: the combine and 3:1 select in one stage, 8.6 ns), the eB / eA
// selects at s4 (no mux in front of the chain: run 38, 4 ns net -> eB mux -> 1.7 ns -> chain) and the
// subtract at s5; the candidate values and the denominator are delayed to match.
localparam OS = 2 * DEEP;
wire signed [35:0] ofi_num_l, ofi_den_l;      // at s<3 + OS>

generate
    if (OS != 0) begin : g_ofi2
        reg        [1:0]  b_upc_s2 = 0, b_eqc_s2 = 0, a_dnc_s2 = 0, a_eqc_s2 = 0;   // per candidate ([1] s1 record)
        reg               cclr_s2 = 1'b0, cupd_s2 = 1'b0;
        reg               b_pos_s2 = 1'b0, b_zero_s2 = 1'b0, a_neg_s2 = 1'b0, a_zero_s2 = 1'b0;
        reg               b_up_s3 = 1'b0, b_eq_s3 = 1'b0, a_dn_s3 = 1'b0, a_eq_s3 = 1'b0;
        reg signed [33:0] eb_eq_s3 = 0, ea_eq_s3 = 0, npbsz_s3 = 0, npasz_s3 = 0;
        reg signed [33:0] eb_s4 = 0, ea_s4 = 0;
        reg signed [35:0] ofi_num_s5 = 0, ofi_den_s4 = 0, ofi_den_s5 = 0;
        always @(posedge clk) begin
            b_upc_s2 <= b_up_cand;
            b_eqc_s2 <= b_eq_cand;
            a_dnc_s2 <= a_dn_cand;
            a_eqc_s2 <= a_eq_cand;
            cclr_s2 <= cmp_clr_s1;
            cupd_s2 <= cmp_upd_s1;
            b_pos_s2 <= b_pos_s1;
            b_zero_s2 <= b_zero_s1;
            a_neg_s2 <= a_neg_s1;
            a_zero_s2 <= a_zero_s1;
            b_up_s3 <= cclr_s2 ? b_pos_s2 : (cupd_s2 ? b_upc_s2[1] : b_upc_s2[0]);
            b_eq_s3 <= cclr_s2 ? b_zero_s2 : (cupd_s2 ? b_eqc_s2[1] : b_eqc_s2[0]);
            a_dn_s3 <= cclr_s2 ? a_neg_s2 : (cupd_s2 ? a_dnc_s2[1] : a_dnc_s2[0]);
            a_eq_s3 <= cclr_s2 ? a_zero_s2 : (cupd_s2 ? a_eqc_s2[1] : a_eqc_s2[0]);
            eb_eq_s3 <= eb_eq_s2;
            ea_eq_s3 <= ea_eq_s2;
            npbsz_s3 <= npbsz_s2;
            npasz_s3 <= npasz_s2;
            eb_s4 <= b_up_s3 ? bsz0_s3 : (b_eq_s3 ? eb_eq_s3 : npbsz_s3);
            ea_s4 <= a_dn_s3 ? asz0_s3 : (a_eq_s3 ? ea_eq_s3 : npasz_s3);
            ofi_num_s5 <= {{2{eb_s4[33]}}, eb_s4} - {{2{ea_s4[33]}}, ea_s4};
            ofi_den_s4 <= ofi_den_s3;
            ofi_den_s5 <= ofi_den_s4;
        end
        assign ofi_num_l = ofi_num_s5;
        assign ofi_den_l = ofi_den_s5;
    end else begin : g_ofi1
        reg               b_up_s2 = 1'b0, b_eq_s2 = 1'b0, a_dn_s2 = 1'b0, a_eq_s2 = 1'b0;
        reg signed [35:0] ofi_num_s3 = 0;
        wire signed [33:0] eb_s3_c = b_up_s2 ? bsz0_s2 : (b_eq_s2 ? eb_eq_s2 : npbsz_s2);   // muxes only:
        wire signed [33:0] ea_s3_c = a_dn_s2 ? asz0_s2 : (a_eq_s2 ? ea_eq_s2 : npasz_s2);   // negations in s2
        always @(posedge clk) begin
            b_up_s2 <= b_up_sel;
            b_eq_s2 <= b_eq_sel;
            a_dn_s2 <= a_dn_sel;
            a_eq_s2 <= a_eq_sel;
            ofi_num_s3 <= {{2{eb_s3_c[33]}}, eb_s3_c} - {{2{ea_s3_c[33]}}, ea_s3_c};
        end
        assign ofi_num_l = ofi_num_s3;
        assign ofi_den_l = ofi_den_s3;
    end
endgenerate

// Ages (ts - state) >> 10 (1.024 us units) and their sign, at s<3 + AS>. Compact: the last mid change
// (lmc_reg) is state at s2 like p_ts, loaded when the mid changed (nz_s2: a 34-bit inequality at s1), and
// both ages one 65-bit subtract into s3. Deep (AS = 2; the log features have slack): lmc_reg is state at
// s3 instead, loaded by the mid-change flag registered at s3 from dmid2_s2 != 0 (the inequality at s1 was
// a LUT tree behind a state register: 7.3-7.6 ns in runs 46 and d), read at s3 by the record in s3; each
// age as two 33-bit subtracts of the 32-bit halves and the upper half's borrow from the lower one a stage
// later (timing4-datapath c0bfa6c; the 65-bit chain was a critical path: run 33), the mid age from s3
// into s5, the event gap from s2 into s4 and one register more.
localparam AS = 2 * DEEP;
wire       [AGE_W-1:0]  age_a, gap_a;     // negative: clamped to 0 at the bitlen
wire                    age_neg_a, gap_neg_a;

generate
    if (DEEP == 0) begin : g_age_compact
        /* verilator lint_off UNUSEDSIGNAL */  // ages are kept in 1.024 us units (>> 10)
        wire [64:0]       age_c = {1'b0, ts_s2} - {1'b0, lmc_reg};
        wire [64:0]       gap_c = {1'b0, ts_s2} - {1'b0, pts_reg};
        /* verilator lint_on UNUSEDSIGNAL */
        reg  [AGE_W-1:0]  age_s3 = 0, gap_s3 = 0;
        reg               age_neg_s3 = 1'b0, gap_neg_s3 = 1'b0;
        wire              lm_clr, lm_vn;    // = clr_s1, valid and not invalid in s2 (lmc_reg's own copies)

        qg_dup_reg #(.WIDTH(1), .COPIES(1)) lm_clr_copy_inst (.clk(clk), .rst(1'b0), .d(!rst && clr_s0), .q(lm_clr));
        qg_dup_reg #(.WIDTH(1), .COPIES(1)) lm_vn_copy_inst (.clk(clk), .rst(1'b0), .d(!rst && valid_s1 && !inv_s1), .q(lm_vn));

        always @(posedge clk) begin
            if (lm_clr || (lm_vn && nz_s2)) begin
                lmc_reg <= lm_clr ? ts_s1 : ts_s2;
            end
            age_s3 <= age_c[63:10];
            gap_s3 <= gap_c[63:10];
            age_neg_s3 <= age_c[64];
            gap_neg_s3 <= gap_c[64];
        end

        assign age_a = age_s3;
        assign gap_a = gap_s3;
        assign age_neg_a = age_neg_s3;
        assign gap_neg_a = gap_neg_s3;
    end else begin : g_age_deep
        reg  [63:0]       ts_s3 = 0;
        reg               mc_s3 = 1'b0;     // the mid changed (dmid2 != 0; 0 without a previous record)
        wire              lm_clr, lm_vn;    // = clr_s2, valid and not invalid in s3 (lmc_reg's own copies)
        /* verilator lint_off UNUSEDSIGNAL */  // bits 9:0 only borrow
        reg  [32:0]       gap_lo_s3 = 0, age_lo_s4 = 0;    // [32]: borrow out of the lower half
        /* verilator lint_on UNUSEDSIGNAL */
        reg  [32:0]       gap_hi_s3 = 0, age_hi_s4 = 0;
        wire [32:0]       gap_hi_c = gap_hi_s3 - {32'd0, gap_lo_s3[32]};   // bits 64:32 of the difference
        wire [32:0]       age_hi_c = age_hi_s4 - {32'd0, age_lo_s4[32]};
        reg  [AGE_W-1:0]  gap_s4 = 0, gap_s5 = 0, age_s5 = 0;
        reg               gap_neg_s4 = 1'b0, gap_neg_s5 = 1'b0, age_neg_s5 = 1'b0;

        qg_dup_reg #(.WIDTH(1), .COPIES(1)) lm_clr_copy_inst (.clk(clk), .rst(1'b0), .d(!rst && clr_s1), .q(lm_clr));
        qg_dup_reg #(.WIDTH(1), .COPIES(1)) lm_vn_copy_inst (.clk(clk), .rst(1'b0), .d(!rst && valid_s2 && !inv_s2), .q(lm_vn));

        always @(posedge clk) begin
            ts_s3 <= ts_s2;
            mc_s3 <= dmid2_s2 != 35'sd0;
            if (lm_clr || (lm_vn && mc_s3)) begin   // RESET record in s2: it reads its own ts at s3
                lmc_reg <= lm_clr ? ts_s2 : ts_s3;
            end
            gap_lo_s3 <= {1'b0, ts_s2[31:0]} - {1'b0, pts_reg[31:0]};
            gap_hi_s3 <= {1'b0, ts_s2[63:32]} - {1'b0, pts_reg[63:32]};
            age_lo_s4 <= {1'b0, ts_s3[31:0]} - {1'b0, lmc_reg[31:0]};
            age_hi_s4 <= {1'b0, ts_s3[63:32]} - {1'b0, lmc_reg[63:32]};
            gap_s4 <= {gap_hi_c[31:0], gap_lo_s3[31:10]};
            gap_neg_s4 <= gap_hi_c[32];
            gap_s5 <= gap_s4;
            gap_neg_s5 <= gap_neg_s4;
            age_s5 <= {age_hi_c[31:0], age_lo_s4[31:10]};
            age_neg_s5 <= age_hi_c[32];
        end

        assign age_a = age_s5;
        assign gap_a = gap_s5;
        assign age_neg_a = age_neg_s5;
        assign gap_neg_a = gap_neg_s5;
    end
endgenerate

/* ---------------------------------------------------------------- s4: STATE C; bitlens */
reg        [ACC_W-1:0]  vol_reg = 0;
wire       [ACC_W-1:0]  vol_e = vol_reg;    // cleared from s2 for a RESET record
wire       [ACC_W-1:0]  vol_t = {{(ACC_W-35){1'b0}}, absd_s3} << `QG_VOL_PRESCALE;
wire       [ACC_W-1:0]  vol_sh = vol_e >> `QG_VOL_SHIFT;
wire       [ACC_W-1:0]  vol_c = decay_next(vol_e, vol_sh, vol_t);

always @(posedge clk) begin
    if (clr_s2) begin
        vol_reg <= 0;
    end else if (upd_s3) begin
        vol_reg <= vol_c;
    end
end

wire [6:0] age_bl_c, gap_bl_c, ta_bl_c;

// bitlen in three steps: groups registered at s<4 + AS>, the leading group at s<5 + AS>, the select at s<6 + AS>
// (the features have slack to s<OUT_S>); the trade activity's from s3, delayed AS cycles after its select
qg_bitlen #(.WIDTH(AGE_W), .OUT_WIDTH(7), .REG(2)) age_bitlen_inst (.clk(clk), .x(age_a), .len(age_bl_c));
qg_bitlen #(.WIDTH(AGE_W), .OUT_WIDTH(7), .REG(2)) gap_bitlen_inst (.clk(clk), .x(gap_a), .len(gap_bl_c));
qg_bitlen #(.WIDTH(ACC_W - 1), .OUT_WIDTH(7), .REG(2)) ta_bitlen_inst (.clk(clk), .x(tft_l[ACC_W-2:0]), .len(ta_bl_c));

// the volatility feature likewise recomputed in s4 -> s5 from registers of the state and the term
reg        [ACC_W-1:0]  vol_x_s4 = 0, vol_s5 = 0;
reg        [34:0]       absd_s4 = 0;
wire       [ACC_W-1:0]  vol_x_sh = vol_x_s4 >> `QG_VOL_SHIFT;
wire       [ACC_W-1:0]  vol_f = decay_next(vol_x_s4, vol_x_sh, {{(ACC_W-35){1'b0}}, absd_s4} << `QG_VOL_PRESCALE);  // = vol_c
reg        [6:0]        age_bl_r = 0, gap_bl_r = 0, ta_bl_s6 = 0;      // at s<6 + AS>, s<6 + TF>
wire       [6:0]        ta_bl_r;                                        // at s<6 + AS>
wire                    age_neg_d, gap_neg_d;                           // at s<5 + AS>

qg_delay #(.WIDTH(2), .DEPTH(2)) age_neg_delay_inst (.clk(clk), .in({age_neg_a, gap_neg_a}), .out({age_neg_d, gap_neg_d}));
qg_delay #(.WIDTH(7), .DEPTH(AS - TF)) ta_bl_delay_inst (.clk(clk), .in(ta_bl_s6), .out(ta_bl_r));

always @(posedge clk) begin
    vol_x_s4 <= vol_e;
    absd_s4 <= absd_s3;
    vol_s5 <= vol_f;
    age_bl_r <= age_neg_d ? 7'd0 : age_bl_c;     // bitlen(clamp(x, 0)) = 0 for x < 0
    gap_bl_r <= gap_neg_d ? 7'd0 : gap_bl_c;
    ta_bl_s6 <= ta_bl_c;
end

/* ---------------------------------------------------------------- microprice input: imb_l1 */
wire [7:0] imb1_q;      // ratio(B - A, B + A), inputs at s1 -> result at s<1 + R_LAT>

// its own level-0 terms (= d_s1[33:0], t_s1[33:0]) from its own copy of the touch sizes: the ratio sits
// apart from the level sums
wire [33:0] imb1_num_s1, imb1_den_s1;

qg_dup_reg #(.WIDTH(68), .COPIES(1)) imb1_in_copy_inst (
    .clk(clk),
    .rst(1'b0),
    .d({{2'b00, bsz_i0} - {2'b00, asz_i0}, {2'b00, bsz_i0} + {2'b00, asz_i0}}),
    .q({imb1_num_s1, imb1_den_s1})
);

qg_ratio #(
    .NUM_WIDTH(34),
    .DEN_WIDTH(34),
    .DEEP(DEEP)
)
imb1_ratio_inst (
    .clk(clk),
    .num(imb1_num_s1),
    .den(imb1_den_s1),
    .q(imb1_q)
);

// microprice = sat((ab * imb_l1) >> 1) with imb_l1 an int8: clamping ab to [-512, 511] first changes no
// result (|ab| >= 512 and imb_l1 != 0 saturate either way, with the same sign; imb_l1 = 0 gives 0), so
// the product is 10 x 8 bits. Deep: a registered 18 x 18 multiplier (qg_mult18: MULT18X18D with its input
// and output registers in the open ECP5 flow, then a fabric register: 3 stages; run 37: imb_l1 fan-out -> radix-4 digit muxes ->
// pair chain was 8.2-8.8 ns in LUTs); compact: qg_mul_lut, 1 stage (3 * ab computed at s3).
// clamp(a - b, -512, 511) at s2 (compact) or as registered bound compares at s2 and the select at s3
// (deep: it has R_LAT - 2 cycles of slack; run base-s4: the 34-bit compares and the select in one stage,
// 7.2 ns)
wire        ab_gt_c = $signed(ab_s1) > 34'sd511;
wire        ab_lt_c = $signed(ab_s1) < -34'sd512;
wire [9:0]  ab_q;
/* verilator lint_off UNUSEDSIGNAL */  // deep: unused
wire [9:0]  ab_cl;      // compact: clamp(a - b) at s2, for 3 * ab (g_mp_lut)
/* verilator lint_on UNUSEDSIGNAL */

generate
    if (DEEP) begin : g_ab_deep
        reg               ab_gt_s2 = 1'b0, ab_lt_s2 = 1'b0;
        reg        [9:0]  ab_lo_s2 = 10'd0;
        reg signed [9:0]  ab_cl_s3 = 10'sd0;
        always @(posedge clk) begin
            ab_gt_s2 <= ab_gt_c;
            ab_lt_s2 <= ab_lt_c;
            ab_lo_s2 <= ab_s1[9:0];
            ab_cl_s3 <= ab_gt_s2 ? 10'sd511 : (ab_lt_s2 ? -10'sd512 : ab_lo_s2);
        end
        qg_delay #(.WIDTH(10), .DEPTH(R_LAT - 2)) ab_delay_inst (.clk(clk), .in(ab_cl_s3), .out(ab_q));
        assign ab_cl = ab_cl_s3;
    end else begin : g_ab_compact
        reg signed [9:0]  ab_cl_s2 = 10'sd0;
        always @(posedge clk) begin
            ab_cl_s2 <= ab_gt_c ? 10'sd511 : (ab_lt_c ? -10'sd512 : ab_s1[9:0]);
        end
        qg_delay #(.WIDTH(10), .DEPTH(R_LAT - 1)) ab_delay_inst (.clk(clk), .in(ab_cl_s2), .out(ab_q));
        assign ab_cl = ab_cl_s2;
    end
endgenerate

wire signed [17:0] mp_prod;     // clamp(a - b) * imb_l1, registered, at s<1 + R_LAT + MP_LAT>

generate
    if (DEEP) begin : g_mp_dsp
        wire signed [35:0] p36;
        reg  signed [17:0] mp_prod_reg = 18'sd0;
        qg_mult18 #(.REG_IN(1)) mp_mul_inst (
            .clk(clk), .a({{8{ab_q[9]}}, ab_q}), .b({{10{imb1_q[7]}}, imb1_q}), .p(p36)
        );
        // the product registered again in the fabric: the saturation compares behind the multiplier's
        // output register were 8.0 ns (runs 43-44: 3.4-3.5 ns from the DSP row to the compare chains)
        always @(posedge clk) begin
            mp_prod_reg <= p36[17:0];     // |ab * imb_l1| <= 2**16: fits 18 bits
        end
        assign mp_prod = mp_prod_reg;
        /* verilator lint_off UNUSEDSIGNAL */
        wire [17:0] unused_p36 = p36[35:18];
        /* verilator lint_on UNUSEDSIGNAL */
    end else begin : g_mp_lut
        reg signed [11:0] ab3_s3 = 12'sd0;
        wire [11:0] ab3_q;
        always @(posedge clk) begin
            ab3_s3 <= {{2{ab_cl[9]}}, ab_cl} + {ab_cl[9], ab_cl, 1'b0};
        end
        qg_delay #(.WIDTH(12), .DEPTH(R_LAT - 2)) ab3_delay_inst (.clk(clk), .in(ab3_s3), .out(ab3_q));
        qg_mul_lut #(.A_WIDTH(10), .B_WIDTH(8), .B_SIGNED(1), .REG1(0)) mp_mul_inst (
            .clk(clk), .a(ab_q), .a3(ab3_q), .b(imb1_q), .p(mp_prod)
        );
    end
endgenerate

/* ---------------------------------------------------------------- features */
wire [8*F-1:0] feat_out;     // every feature registered at s<OUT_S>

genvar j;
generate
    for (j = 0; j < F; j = j + 1) begin : g_feat
        localparam integer KIND = {24'd0, KIND_VEC[8*j +: 8]};
        localparam integer SHIFT = {{24{SHIFT_VEC[8*j+7]}}, SHIFT_VEC[8*j +: 8]};
        localparam integer LO = {{24{LO_VEC[8*j+7]}}, LO_VEC[8*j +: 8]};
        localparam integer HI = {{24{HI_VEC[8*j+7]}}, HI_VEC[8*j +: 8]};
        localparam integer NLEV = {24'd0, NLEV_VEC[8*j +: 8]};
        localparam integer SIDE = {24'd0, SIDE_VEC[8*j +: 8]};

        if (KIND == `QG_KIND_IMBALANCE && NLEV == 1) begin : g_imb1
            // ratio(B - A, B + A) of level 0 is imb_l1 (the microprice's ratio, at s<1 + R_LAT>, saturated to
            // int8): the feature is it clamped to [LO, HI], no second qg_ratio
            localparam [7:0] LO_B = LO[7:0];
            localparam [7:0] HI_B = HI[7:0];
            wire signed [7:0] iq = imb1_q;
            wire signed [7:0] lo8 = LO_B;
            wire signed [7:0] hi8 = HI_B;
            reg         [7:0] v_c = 8'd0;    // at s<2 + R_LAT>
            always @(posedge clk) begin
                v_c <= (iq < lo8) ? lo8 : ((iq > hi8) ? hi8 : iq);
            end
            qg_delay #(.WIDTH(8), .DEPTH(OUT_S - 2 - R_LAT)) delay_inst (.clk(clk), .in(v_c), .out(feat_out[8*j +: 8]));
        end else if (KIND == `QG_KIND_IMBALANCE) begin : g_imb
            wire [7:0] rq;   // at s<3 + LS + R_LAT>
            qg_ratio #(.NUM_WIDTH(SUM_W), .DEN_WIDTH(SUM_W), .LO(LO), .HI(HI), .DEEP(DEEP)) ratio_inst (
                .clk(clk),
                .num(pd_l[SUM_W*(NLEV-1) +: SUM_W]),
                .den(pt_l[SUM_W*(NLEV-1) +: SUM_W]),
                .q(rq)
            );
            qg_delay #(.WIDTH(8), .DEPTH(OUT_S - 3 - LS - R_LAT)) delay_inst (.clk(clk), .in(rq), .out(feat_out[8*j +: 8]));
        end else if (KIND == `QG_KIND_WEIGHTED_IMBALANCE) begin : g_wimb
            wire [7:0] rq;   // at s<3 + WS + WD + R_LAT>
            qg_ratio #(.NUM_WIDTH(SUM_W), .DEN_WIDTH(SUM_W), .LO(LO), .HI(HI), .DEEP(DEEP)) ratio_inst (
                .clk(clk), .num(wd_l), .den(wt_l), .q(rq)     // at s<3 + WS + WD>
            );
            qg_delay #(.WIDTH(8), .DEPTH(OUT_S - 3 - WS - WD - R_LAT)) delay_inst (.clk(clk), .in(rq), .out(feat_out[8*j +: 8]));
        end else if (KIND == `QG_KIND_OFI) begin : g_ofi
            wire [7:0] rq;   // at s<3 + OS + R_LAT>
            qg_ratio #(.NUM_WIDTH(36), .DEN_WIDTH(36), .LO(LO), .HI(HI), .DEEP(DEEP)) ratio_inst (
                .clk(clk), .num(ofi_num_l), .den(ofi_den_l), .q(rq)
            );
            qg_delay #(.WIDTH(8), .DEPTH(OUT_S - 3 - OS - R_LAT)) delay_inst (.clk(clk), .in(rq), .out(feat_out[8*j +: 8]));
        end else if (KIND == `QG_KIND_TRADE_FLOW) begin : g_tf
            wire [7:0] rq;   // at s<3 + TF + R_LAT>
            qg_ratio #(.NUM_WIDTH(ACC_W), .DEN_WIDTH(ACC_W), .LO(LO), .HI(HI), .DEEP(DEEP)) ratio_inst (
                .clk(clk), .num(tfs_l), .den(tft_l), .q(rq)
            );
            qg_delay #(.WIDTH(8), .DEPTH(OUT_S - 3 - TF - R_LAT)) delay_inst (.clk(clk), .in(rq), .out(feat_out[8*j +: 8]));
        end else if (KIND == `QG_KIND_TOUCH_SHARE) begin : g_touch
            wire [7:0] rq;   // at s<3 + LS + R_LAT>
            qg_ratio #(.NUM_WIDTH(SUM_W), .DEN_WIDTH(SUM_W), .LO(LO), .HI(HI), .DEEP(DEEP)) ratio_inst (
                .clk(clk),
                .num(SIDE != 0 ? {{(SUM_W-34){1'b0}}, asz0_l} : {{(SUM_W-34){1'b0}}, bsz0_l}),
                .den(SIDE != 0 ? asum_l : bsum_l),
                .q(rq)
            );
            qg_delay #(.WIDTH(8), .DEPTH(OUT_S - 3 - LS - R_LAT)) delay_inst (.clk(clk), .in(rq), .out(feat_out[8*j +: 8]));
        end else if (KIND == `QG_KIND_SPREAD) begin : g_spread
            wire [7:0] v;
            reg  [7:0] v_r = 8'd0;    // at s<3 + SP>
            // compares registered at s<2 + SP>, the select a stage later (the feature has slack to s<OUT_S>)
            qg_sat_scale #(.IN_WIDTH(34), .SHIFT(SHIFT), .LO(LO), .HI(HI), .REG(1)) sat_inst (.clk(clk), .x(sp_r), .y(v));
            always @(posedge clk) v_r <= v;
            qg_delay #(.WIDTH(8), .DEPTH(OUT_S - 3 - SP)) delay_inst (.clk(clk), .in(v_r), .out(feat_out[8*j +: 8]));
        end else if (KIND == `QG_KIND_MID_CHANGE) begin : g_dmid
            wire [7:0] v;
            reg  [7:0] v_s4 = 8'd0;
            qg_sat_scale #(.IN_WIDTH(35), .SHIFT(SHIFT), .LO(LO), .HI(HI), .REG(1)) sat_inst (.clk(clk), .x(dmid2_s2), .y(v));
            always @(posedge clk) v_s4 <= v;
            qg_delay #(.WIDTH(8), .DEPTH(OUT_S - 4)) delay_inst (.clk(clk), .in(v_s4), .out(feat_out[8*j +: 8]));
        end else if (KIND == `QG_KIND_VOLATILITY) begin : g_vol
            wire [7:0] v;
            reg  [7:0] v_s7 = 8'd0;
            qg_sat_scale #(.IN_WIDTH(ACC_W + 1), .SHIFT(SHIFT), .LO(LO), .HI(HI), .REG(1)) sat_inst (.clk(clk), .x({1'b0, vol_s5}), .y(v));
            always @(posedge clk) v_s7 <= v;
            qg_delay #(.WIDTH(8), .DEPTH(OUT_S - 7)) delay_inst (.clk(clk), .in(v_s7), .out(feat_out[8*j +: 8]));
        end else if (KIND == `QG_KIND_TRADE_ACTIVITY || KIND == `QG_KIND_MID_AGE || KIND == `QG_KIND_EVENT_GAP) begin : g_log
            wire [7:0] v;
            reg  [7:0] v_r = 8'd0;    // at s<7 + AS>
            wire [6:0] bl = (KIND == `QG_KIND_TRADE_ACTIVITY) ? ta_bl_r : ((KIND == `QG_KIND_MID_AGE) ? age_bl_r : gap_bl_r);
            qg_sat_scale #(.IN_WIDTH(8), .SHIFT(SHIFT), .LO(LO), .HI(HI)) sat_inst (.clk(clk), .x({1'b0, bl}), .y(v));
            always @(posedge clk) v_r <= v;
            qg_delay #(.WIDTH(8), .DEPTH(OUT_S - 7 - AS)) delay_inst (.clk(clk), .in(v_r), .out(feat_out[8*j +: 8]));
        end else if (KIND == `QG_KIND_MICROPRICE) begin : g_micro
            // mp_prod is registered at s<OUT_S - 1>, s<OUT_S> registers the shifted, saturated value
            wire        [7:0]  v;
            reg         [7:0]  v_out = 8'd0;
            qg_sat_scale #(.IN_WIDTH(18), .SHIFT(-1), .LO(LO), .HI(HI)) sat_inst (.clk(clk), .x(mp_prod), .y(v));
            always @(posedge clk) v_out <= v;
            assign feat_out[8*j +: 8] = v_out;
        end else begin : g_unknown
            initial begin
                $error("Error: feature %0d has a kind this pipeline does not implement (instance %m)", j);
                $finish;
            end
            assign feat_out[8*j +: 8] = 8'd0;
        end
    end
endgenerate

/* ---------------------------------------------------------------- valid and sideband to s<OUT_S> */
reg [OUT_S-4:0] valid_out_pipe = 0;    // s4 .. s<OUT_S>

always @(posedge clk) begin
    valid_out_pipe <= rst ? {(OUT_S-3){1'b0}} : {valid_out_pipe[OUT_S-5:0], valid_s3};
end

wire [USER_WIDTH-1:0] user_out;
wire [1:0]            flags_out;

qg_delay #(.WIDTH(USER_WIDTH), .DEPTH(LATENCY)) user_delay_inst (.clk(clk), .in(s_axis_tuser), .out(user_out));
qg_delay #(.WIDTH(2), .DEPTH(OUT_S - 3)) flags_delay_inst (.clk(clk), .in({rstf_s3, inv_s3}), .out(flags_out));

assign m_axis_tdata = feat_out;
assign m_axis_tvalid = valid_out_pipe[OUT_S-4];
assign m_axis_tuser = {user_out, flags_out};

endmodule

`resetall

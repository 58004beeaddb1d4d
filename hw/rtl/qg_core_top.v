`resetall
`timescale 1ns / 1ps
`default_nettype none

`include "regmap.vh"
`include "feature_params.vh"
`include "nn_params.vh"

/*
 * QuoteGuard core (portable; the board wrappers in hw/top/ instantiate it).
 *
 *   s_axis book records -> feature_pipeline -> qg_nn_core -> prediction records -> qg_pred_fifo -> m_axis
 *   s_axil -> qg_core_regs (generated from firmware/regmap.yaml)
 *
 * The datapath is free-running (one record per clock, no internal stall). Backpressure: a credit
 * counter admits a record only when the output FIFO is sure to have room for it and for every record
 * already in flight, so no record is ever dropped; s_axis_tready drops instead. Records with invalid
 * content (FEATURES.md) flow through like any other, flagged INVALID, counted, and raise
 * ERROR_FLAGS.INVALID_RECORD: they never wedge the pipeline.
 *
 * Latency, s_axis beat to m_axis beat with m_axis_tready high: LATENCY cycles (also in the NN_INFO
 * register). Throughput: one record per clock.
 */
module qg_core_top #
(
    parameter [31:0] GIT_HASH = 32'h0,      // build's git commit (first 8 hex digits), set by the build
    parameter FIFO_ADDR_WIDTH = 6           // output FIFO: credits 2**FIFO_ADDR_WIDTH (its memory + output slots hold more), 2..6;
                                            // its capacity (the credits) must exceed LATENCY for II = 1
)
(
    input  wire                               clk,
    input  wire                               rst,

    /* Book records in (firmware/regmap.yaml book_record), one per beat */
    input  wire [`QG_BOOK_RECORD_WIDTH-1:0]   s_axis_tdata,
    input  wire [`QG_BOOK_RECORD_BYTES-1:0]   s_axis_tkeep,
    input  wire                               s_axis_tvalid,
    output wire                               s_axis_tready,
    input  wire                               s_axis_tlast,

    /* Predictions out (firmware/regmap.yaml prediction), one per beat */
    output wire [`QG_PREDICTION_WIDTH-1:0]    m_axis_tdata,
    output wire [`QG_PREDICTION_BYTES-1:0]    m_axis_tkeep,
    output wire                               m_axis_tvalid,
    input  wire                               m_axis_tready,
    output wire                               m_axis_tlast,

    /* Registers (AXI-Lite) */
    input  wire [`QG_REGMAP_ADDR_WIDTH-1:0]   s_axil_awaddr,
    input  wire [2:0]                         s_axil_awprot,
    input  wire                               s_axil_awvalid,
    output wire                               s_axil_awready,
    input  wire [31:0]                        s_axil_wdata,
    input  wire [3:0]                         s_axil_wstrb,
    input  wire                               s_axil_wvalid,
    output wire                               s_axil_wready,
    output wire [1:0]                         s_axil_bresp,
    output wire                               s_axil_bvalid,
    input  wire                               s_axil_bready,
    input  wire [`QG_REGMAP_ADDR_WIDTH-1:0]   s_axil_araddr,
    input  wire [2:0]                         s_axil_arprot,
    input  wire                               s_axil_arvalid,
    output wire                               s_axil_arready,
    output wire [31:0]                        s_axil_rdata,
    output wire [1:0]                         s_axil_rresp,
    output wire                               s_axil_rvalid,
    input  wire                               s_axil_rready
);

localparam F = `QG_FEAT_COUNT;
localparam N_OUT = `QG_NN_N_OUTPUTS;
// Pipeline configuration (hw/boards.yaml `pipeline:`): QG_PIPELINE_DEEP selects the deep one, and the build
// then reads the deep NN core (hw/rtl/deep/gen/: its nn_params.vh gives QG_NN_LATENCY).
`ifdef QG_PIPELINE_DEEP
localparam DEEP = 1;
`else
localparam DEEP = 0;
`endif
localparam FEAT_LATENCY = 8 + 9 * DEEP;                 // feature_pipeline (its LATENCY; sim/qg_core_top checks the sum; arithmetic only: hw/syn/open_flow.py latency_cycles evaluates it)
localparam NN_LATENCY = `QG_NN_LATENCY;                 // qg_nn_core
localparam LATENCY = 1 + FEAT_LATENCY + NN_LATENCY + 1; // input register + ... + output FIFO register
localparam CREDITS = 1 << FIFO_ADDR_WIDTH;             // the FIFO's capacity (memory never full, see qg_pred_fifo)
localparam FIFO_SLICES = 16;                            // 16-bit column slices, each with its own pointers
localparam CREDIT_WIDTH = FIFO_ADDR_WIDTH + 2;
localparam USER_WIDTH = 32 + 2;                         // {seq, seq_gap, not_in_sync}
localparam DP_LATENCY = 1 + FEAT_LATENCY + NN_LATENCY;  // accepted beat -> prediction at the FIFO write

initial begin
    if (`QG_NN_N_INPUTS != F || N_OUT * `QG_PREDICTION_LOGITS_WIDTH != 64 || N_OUT != `QG_PREDICTION_LOGITS_COUNT) begin
        $error("Error: NN core shape does not match the feature count or the prediction record (instance %m)");
        $finish;
    end
    if (NN_LATENCY < 3) begin
        $error("Error: NN core latency below 3 cycles (instance %m)");
        $finish;
    end
    if (LATENCY > 255) begin
        $error("Error: LATENCY does not fit NN_INFO (instance %m)");
        $finish;
    end
end

/* ---------------------------------------------------------------- registers */
wire        ctrl_enable;
wire        ctrl_soft_reset;
wire        ctrl_clear_counters;
wire        err_invalid, err_seq_gap, err_overflow;
reg         err_invalid_set_reg = 1'b0, err_seq_gap_set_reg = 1'b0;
wire        fifo_overflow;
wire [FIFO_ADDR_WIDTH+1:0] fifo_level;
/* verilator lint_off UNUSEDSIGNAL */  // the level fits the register's 8 bits
wire [15:0] fifo_level_x = {{(14-FIFO_ADDR_WIDTH){1'b0}}, fifo_level};
/* verilator lint_on UNUSEDSIGNAL */
// The cycle counter in three copies, one per reader (same reset and increments, each with its own
// feedback, so synthesis keeps them apart; run base-s4: one counter drove the sideband input, STATS and the
// FIFO's t_out column, an 8.3 ns net to the LUT-RAMs). The datapath has a fixed latency (free-running, no
// stall), so a record's t_in is the counter DP_LATENCY cycles before its FIFO write: t_in_reg counts from
// -DP_LATENCY instead of 64 bits riding along the DP_LATENCY-stage sideband delay line. Every record at the
// FIFO write was accepted at least DP_LATENCY cycles after rst, so the values are the same.
reg  [63:0] cycle_reg = 64'd0;         // STATS.CYCLES
reg  [63:0] t_out_reg = 64'd0;         // prediction t_out (FIFO write)
reg  [63:0] t_in_reg = 64'd0 - DP_LATENCY;   // prediction t_in = t_out - DP_LATENCY
reg  [31:0] records_in_reg = 0, predictions_out_reg = 0, backpressure_reg = 0, invalid_reg = 0, seq_gaps_reg = 0;
reg  [CREDIT_WIDTH-1:0] credit_reg = CREDITS[CREDIT_WIDTH-1:0];
reg         dp_rst_reg = 1'b1;
// STATUS fields registered (one cycle old when read): the FIFO level adder and the idle compare stay
// out of the AXI-Lite read mux's path
reg         status_idle_reg = 1'b1;
reg  [7:0]  status_level_reg = 8'd0;

qg_core_regs #(
    .GIT_HASH(GIT_HASH),
    .MODEL_HASH(`QG_NN_MODEL_HASH),
    .N_FEATURES(F[7:0]),
    .N_OUTPUTS(N_OUT[7:0]),
    .OUT_FRAC(8'd`QG_NN_OUT_FRAC),
    .LATENCY(LATENCY[7:0])
)
regs_inst (
    .clk(clk),
    .rst(rst),
    .s_axil_awaddr(s_axil_awaddr),
    .s_axil_awprot(s_axil_awprot),
    .s_axil_awvalid(s_axil_awvalid),
    .s_axil_awready(s_axil_awready),
    .s_axil_wdata(s_axil_wdata),
    .s_axil_wstrb(s_axil_wstrb),
    .s_axil_wvalid(s_axil_wvalid),
    .s_axil_wready(s_axil_wready),
    .s_axil_bresp(s_axil_bresp),
    .s_axil_bvalid(s_axil_bvalid),
    .s_axil_bready(s_axil_bready),
    .s_axil_araddr(s_axil_araddr),
    .s_axil_arprot(s_axil_arprot),
    .s_axil_arvalid(s_axil_arvalid),
    .s_axil_arready(s_axil_arready),
    .s_axil_rdata(s_axil_rdata),
    .s_axil_rresp(s_axil_rresp),
    .s_axil_rvalid(s_axil_rvalid),
    .s_axil_rready(s_axil_rready),
    .ctrl_control_enable(ctrl_enable),
    .ctrl_control_soft_reset(ctrl_soft_reset),
    .ctrl_control_clear_counters(ctrl_clear_counters),
    .ctrl_status_enabled(ctrl_enable),
    .ctrl_status_idle(status_idle_reg),
    .ctrl_status_fifo_level(status_level_reg),
    .ctrl_error_flags_invalid_record_set(err_invalid_set_reg),
    .ctrl_error_flags_invalid_record(err_invalid),
    .ctrl_error_flags_seq_gap_set(err_seq_gap_set_reg),
    .ctrl_error_flags_seq_gap(err_seq_gap),
    .ctrl_error_flags_overflow_set(fifo_overflow),
    .ctrl_error_flags_overflow(err_overflow),
    .stats_records_in(records_in_reg),
    .stats_predictions_out(predictions_out_reg),
    .stats_backpressure_cycles(backpressure_reg),
    .stats_invalid_records(invalid_reg),
    .stats_seq_gaps(seq_gaps_reg),
    .stats_cycles_lo(cycle_reg[31:0]),
    .stats_cycles_hi(cycle_reg[63:32])
);

/* ---------------------------------------------------------------- input, credits, sequence check */
wire        in_accept = s_axis_tvalid && s_axis_tready;
wire        out_accept = m_axis_tvalid && m_axis_tready;
// The accepted beat is registered at the core's input (one cycle) before anything computes on it: the
// feature pipeline's capture logic and the sequence check read flip-flops placed beside them instead of
// the upstream register, wherever that sits (run g seed 1: the record's RESET flag from the board
// wrapper's register, 4.3 ns + LUT + 4.1 ns into the state-clear copies, 97.7 MHz).
reg  [`QG_BOOK_RECORD_WIDTH-1:0] in_tdata_reg = 0;
reg         in_valid_reg = 1'b0;
wire [31:0] in_seq = in_tdata_reg[`QG_BOOK_RECORD_SEQ_LSB +: 32];
wire [1:0]  in_flags = in_tdata_reg[`QG_BOOK_RECORD_FLAGS_LSB +: 2];   // IN_SYNC, RESET

always @(posedge clk) begin
    in_tdata_reg <= s_axis_tdata;
    in_valid_reg <= in_accept;
end
reg  [31:0] next_seq_reg = 0;     // last accepted seq + 1 (the increment is off the input path)
reg         seq_known_reg = 1'b0;
// sequence check in two steps: half-word compares registered with the record (s0), combined a cycle
// later; the flag travels in its own delay line, one cycle shorter than the record's sideband
reg         seq_chk_s0 = 1'b0, seq_ne_hi_s0 = 1'b0, seq_ne_lo_s0 = 1'b0;
wire        seq_gap_s1 = seq_chk_s0 && (seq_ne_hi_s0 || seq_ne_lo_s0);   // accepted record with a gap
wire        pred_seq_gap;

always @(posedge clk) begin
    seq_chk_s0 <= in_valid_reg && seq_known_reg && !in_flags[`QG_BOOK_RECORD_FLAG_RESET] && !dp_rst_reg;
    seq_ne_hi_s0 <= in_seq[31:16] != next_seq_reg[31:16];
    seq_ne_lo_s0 <= in_seq[15:0] != next_seq_reg[15:0];
end

qg_delay #(.WIDTH(1), .DEPTH(FEAT_LATENCY + NN_LATENCY - 1)) seq_gap_delay_inst (.clk(clk), .in(seq_gap_s1), .out(pred_seq_gap));

// s_axis_tready is a register (no compare or enable logic in front of the in_accept fan-out): computed a
// cycle ahead from the next credit count; CONTROL.ENABLE takes effect one cycle after it is written.
reg  s_axis_tready_reg = 1'b0;
// next credit count as a select between precomputed credit +- 1 (no adder behind the accepts)
wire                    credit_dec = in_accept && !out_accept;
wire                    credit_inc = out_accept && !in_accept;
wire [CREDIT_WIDTH-1:0] credit_m1 = credit_reg - 1'b1;
wire [CREDIT_WIDTH-1:0] credit_p1 = credit_reg + 1'b1;
// credit == 0 and credit == 1 as flags updated with the count (run h seed 2: the compares of credit_reg
// in front of the select were on s_axis_tready_reg's path): after a decrement they are the old == 1 and
// == 2, after an increment 0 and the old == 0
reg                     credit_is0_reg = (CREDITS == 0), credit_is1_reg = (CREDITS == 1);
wire                    credit_is2 = (credit_reg == 2);
wire [CREDIT_WIDTH-1:0] credit_next = credit_dec ? credit_m1 : (credit_inc ? credit_p1 : credit_reg);
wire                    credit_next_nz = credit_dec ? !credit_is1_reg : (credit_inc || !credit_is0_reg);
assign s_axis_tready = s_axis_tready_reg;

always @(posedge clk) begin
    status_idle_reg <= (credit_reg == CREDITS[CREDIT_WIDTH-1:0]);
    status_level_reg <= fifo_level_x[7:0];
end

always @(posedge clk) begin
    dp_rst_reg <= rst || ctrl_soft_reset;
    s_axis_tready_reg <= ctrl_enable && !(rst || ctrl_soft_reset) && (dp_rst_reg || credit_next_nz);
    cycle_reg <= rst ? 64'd0 : cycle_reg + 64'd1;
    t_out_reg <= rst ? 64'd0 : t_out_reg + 64'd1;
    t_in_reg <= rst ? 64'd0 - DP_LATENCY : t_in_reg + 64'd1;
    if (dp_rst_reg) begin
        credit_reg <= CREDITS[CREDIT_WIDTH-1:0];
        credit_is0_reg <= (CREDITS == 0);
        credit_is1_reg <= (CREDITS == 1);
        seq_known_reg <= 1'b0;
    end else begin
        credit_reg <= credit_next;
        credit_is0_reg <= credit_dec ? credit_is1_reg : (!credit_inc && credit_is0_reg);
        credit_is1_reg <= credit_dec ? credit_is2 : (credit_inc ? credit_is0_reg : credit_is1_reg);
        if (in_valid_reg) begin
            next_seq_reg <= in_seq + 32'd1;
            seq_known_reg <= 1'b1;
        end
    end
end

/* ---------------------------------------------------------------- datapath */
// copies of dp_rst_reg for the feature pipeline, the NN valid pipeline and each FIFO slice (run f-s3: one
// 241-load net, 7.4 ns to a feature-pipeline valid; run 37: one FIFO copy, 7.95 ns to a slice's flags);
// same value, initially set like dp_rst_reg
wire [FIFO_SLICES+1:0] dp_rst_dup;     // [0] feature_pipeline, [1] NN valids, [2 +: FIFO_SLICES] FIFO slices

qg_dup_reg #(.WIDTH(1), .COPIES(FIFO_SLICES + 2), .INIT(1)) dp_rst_dup_inst (
    .clk(clk),
    .rst(1'b0),
    .d(rst || ctrl_soft_reset),
    .q(dp_rst_dup)
);

wire [8*F-1:0]        feat_tdata;
wire                  feat_tvalid;
wire [USER_WIDTH+1:0] feat_tuser;
wire                  feat_tready_unused;

feature_pipeline #(
    .USER_WIDTH(USER_WIDTH),
    .DEEP(DEEP)
)
feature_pipeline_inst (
    .clk(clk),
    .rst(dp_rst_dup[0]),
    .s_axis_tdata(in_tdata_reg),
    .s_axis_tvalid(in_valid_reg),
    .s_axis_tready(feat_tready_unused),
    .s_axis_tuser({in_seq, 1'b0, !in_flags[`QG_BOOK_RECORD_FLAG_IN_SYNC]}),   // seq gap: see above
    .m_axis_tdata(feat_tdata),
    .m_axis_tvalid(feat_tvalid),
    .m_axis_tuser(feat_tuser)
);

wire [16*N_OUT-1:0]   logits;
wire [USER_WIDTH+1:0] nn_user;
reg  [NN_LATENCY-2:0] nn_valid_reg = 0;

qg_nn_core nn_inst (
    .clk(clk),
    .model_inp(feat_tdata),
    .logits(logits)
);

qg_delay #(.WIDTH(USER_WIDTH + 2), .DEPTH(NN_LATENCY)) nn_user_delay_inst (.clk(clk), .in(feat_tuser), .out(nn_user));

always @(posedge clk) begin
    if (dp_rst_dup[1]) begin
        nn_valid_reg <= 0;
    end else begin
        nn_valid_reg <= {nn_valid_reg[NN_LATENCY-3:0], feat_tvalid};
    end
end

// the prediction valid's last stage in one copy per FIFO slice (each slice's pointers, count and flags)
// plus one for the counters: short nets instead of one net to the spread-out slices
wire [FIFO_SLICES:0] pred_valid_dup;

qg_dup_reg #(.COPIES(FIFO_SLICES + 1)) pred_valid_inst (
    .clk(clk),
    .rst(dp_rst_dup[1]),
    .d(nn_valid_reg[NN_LATENCY-2]),
    .q(pred_valid_dup)
);

wire        pred_valid = pred_valid_dup[FIFO_SLICES];
wire [31:0] pred_seq = nn_user[USER_WIDTH+1 -: 32];
wire        pred_not_in_sync = nn_user[2];
wire        pred_reset = nn_user[1];
wire        pred_invalid = nn_user[0];

reg  [31:0] pred_flags;
reg  [`QG_PREDICTION_WIDTH-1:0] pred_record;

always @* begin
    pred_flags = 32'd0;
    pred_flags[`QG_PREDICTION_FLAG_INVALID] = pred_invalid;
    pred_flags[`QG_PREDICTION_FLAG_RESET] = pred_reset;
    pred_flags[`QG_PREDICTION_FLAG_NOT_IN_SYNC] = pred_not_in_sync;
    pred_flags[`QG_PREDICTION_FLAG_SEQ_GAP] = pred_seq_gap;
    pred_record = {`QG_PREDICTION_WIDTH{1'b0}};
    pred_record[`QG_PREDICTION_SEQ_LSB +: 32] = pred_seq;
    pred_record[`QG_PREDICTION_LOGITS_LSB +: 64] = logits;
    pred_record[`QG_PREDICTION_FLAGS_LSB +: 32] = pred_flags;
    pred_record[`QG_PREDICTION_T_IN_LSB +: 64] = t_in_reg;
    pred_record[`QG_PREDICTION_T_OUT_LSB +: 64] = t_out_reg;
end

qg_pred_fifo #(
    .DATA_WIDTH(`QG_PREDICTION_WIDTH),
    .ADDR_WIDTH(FIFO_ADDR_WIDTH),
    .SLICES(FIFO_SLICES)
)
fifo_inst (
    .clk(clk),
    .rst(dp_rst_dup[2 +: FIFO_SLICES]),
    .s_axis_tdata(pred_record),
    .s_axis_tvalid(pred_valid_dup[FIFO_SLICES-1:0]),
    .m_axis_tdata(m_axis_tdata),
    .m_axis_tvalid(m_axis_tvalid),
    .m_axis_tready(m_axis_tready),
    .status_level(fifo_level),
    .status_overflow(fifo_overflow)
);

assign m_axis_tkeep = {`QG_PREDICTION_BYTES{1'b1}};
assign m_axis_tlast = 1'b1;

/* ---------------------------------------------------------------- counters and error flags */
// the STATS_* counters count registered events (one cycle late): no counter carry chain behind the
// in_accept / out_accept fan-out
reg in_accept_reg = 1'b0, out_accept_reg = 1'b0, stalled_reg = 1'b0;
reg counters_clr_reg = 1'b1;    // the counters' synchronous clear from a register (not an OR on ~160 loads)

always @(posedge clk) begin
    in_accept_reg <= in_accept;
    out_accept_reg <= out_accept;
    stalled_reg <= m_axis_tvalid && !m_axis_tready;
    err_invalid_set_reg <= pred_valid && pred_invalid;
    err_seq_gap_set_reg <= seq_gap_s1;
    counters_clr_reg <= rst || ctrl_clear_counters;
    if (counters_clr_reg) begin
        records_in_reg <= 0;
        predictions_out_reg <= 0;
        backpressure_reg <= 0;
        invalid_reg <= 0;
        seq_gaps_reg <= 0;
    end else begin
        records_in_reg <= records_in_reg + {31'd0, in_accept_reg};
        predictions_out_reg <= predictions_out_reg + {31'd0, out_accept_reg};
        backpressure_reg <= backpressure_reg + {31'd0, stalled_reg};
        invalid_reg <= invalid_reg + {31'd0, pred_valid && pred_invalid};
        seq_gaps_reg <= seq_gaps_reg + {31'd0, err_seq_gap_set_reg};   // registered flag (one cycle later)
    end
end

// one record per beat: tkeep is all ones and tlast is high on every beat (not checked)
wire unused_axis = &{1'b0, s_axis_tkeep, s_axis_tlast, feat_tready_unused, err_invalid, err_seq_gap, err_overflow, nn_user[3]};

endmodule

`resetall

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * Prediction FIFO: a write port without ready (the free-running datapath writes whenever it has a
 * result; the caller guarantees space with credits) and an AXI-Stream read port from a two-slot output
 * stage. A write into an empty memory while the output stage has a free slot bypasses the memory, so
 * the FIFO adds one cycle of latency. The output stage takes an entry whenever it holds at most one
 * (a registered flag), so m_axis_tready only drives the stage's valid, two-entry and read-select
 * flip-flops (one LUT each): not the memory, the pointers, the count or the slots' enables. m_axis_tdata
 * is the slot the read select points at (a 2:1 mux behind flip-flops). At the read port the FIFO behaves
 * like one with a single output register: m_axis_tvalid is high exactly when it holds an entry.
 * Capacity: the memory holds at most 2**ADDR_WIDTH - 1 entries, plus the two slots (the caller's
 * credits: 2**ADDR_WIDTH).
 *
 * The memory is written every cycle at wr_ptr (that slot is always free, since the memory never fills),
 * so its write enable carries no valid; the valid only moves the pointers. SLICES column slices of
 * DATA_WIDTH / SLICES bits each keep their own copy of the pointers and flags (identical state machines,
 * each with its own feedback, so synthesis keeps them apart): the read/write address and output-stage
 * control nets drive one slice each instead of every LUT-RAM of a 256-bit entry.
 */
module qg_pred_fifo #
(
    parameter DATA_WIDTH = 256,   // bits per entry
    parameter ADDR_WIDTH = 5,     // memory depth 2**ADDR_WIDTH
    parameter SLICES = 1          // column slices with their own control copies (divides DATA_WIDTH)
)
(
    input  wire                  clk,
    input  wire [SLICES-1:0]     rst,        // synchronous; one copy per slice (all equal: the caller's duplicated register)

    /* Write port (no ready); the valid in one copy per slice (all equal: the caller's duplicated register) */
    input  wire [DATA_WIDTH-1:0] s_axis_tdata,
    input  wire [SLICES-1:0]     s_axis_tvalid,

    /* Read port */
    output wire [DATA_WIDTH-1:0] m_axis_tdata,
    output wire                  m_axis_tvalid,
    input  wire                  m_axis_tready,

    /* Status */
    output wire [ADDR_WIDTH+1:0] status_level,
    output wire                  status_overflow
);

localparam SW = DATA_WIDTH / SLICES;
localparam BW = (ADDR_WIDTH < 4) ? ADDR_WIDTH : 4;     // bank address bits (16-deep LUT-RAMs)
localparam NB = 1 << (ADDR_WIDTH - BW);                // banks
localparam NCOL = (SW + 3) / 4;                        // 4-bit LUT-RAM columns per bank

initial begin
    if (ADDR_WIDTH < 1 || ADDR_WIDTH > 12 || DATA_WIDTH < 1 || SLICES < 1 || DATA_WIDTH % SLICES != 0) begin
        $error("Error: bad ADDR_WIDTH/DATA_WIDTH/SLICES (instance %m)");
        $finish;
    end
end

wire [SLICES-1:0]              valid_s, overflow_s;
wire [(ADDR_WIDTH+2)*SLICES-1:0] level_s;

genvar k;
generate
    for (k = 0; k < SLICES; k = k + 1) begin : g_slice
        reg [ADDR_WIDTH-1:0] wr_ptr_reg = 0;
        reg [ADDR_WIDTH-1:0] rd_ptr_reg = 0;
        reg [ADDR_WIDTH:0]   count_reg = 0;      // entries in the memory (not counting the output slots)
        reg                  empty_reg = 1'b1;   // registered flags: no compare on the slots' enable path
        reg                  empty_c_reg = 1'b1; // empty_reg's copy for the count, flags and pointers (below)
        reg                  full_reg = 1'b0;
        reg [SW-1:0]         slot0_reg = 0, slot1_reg = 0;   // output stage: two slots
        reg                  wr_sel_reg = 1'b0;   // slot the next push writes
        reg                  rd_sel_reg = 1'b0;   // slot m_axis_tdata shows
        reg                  out_valid_reg = 1'b0;   // at least one slot holds an entry
        reg                  out_two_reg = 1'b0;     // both slots hold one
        reg                  overflow_reg = 1'b0;

        wire wr_valid = s_axis_tvalid[k];
        wire rst_k = rst[k];
        // bank of the read and of the write pointer (0 with one bank); the read pointer's low bits address
        // the banks through their own copies (g_bank)
        wire [ADDR_WIDTH-BW:0] rd_bank, wr_bank;
        if (NB == 1) begin : g_one_bank
            assign rd_bank = 0;
            assign wr_bank = 0;
        end else begin : g_banks
            assign rd_bank = {1'b0, rd_ptr_reg[ADDR_WIDTH-1:BW]};
            assign wr_bank = {1'b0, wr_ptr_reg[ADDR_WIDTH-1:BW]};
        end
        // The output stage has two slots (out_cnt = out_valid_reg + out_two_reg entries): it takes an entry
        // whenever it holds at most one (a registered flag), so m_axis_tready never reaches the memory,
        // the pointers, the count or the slots' enables, only the stage's three control flip-flops.
        wire push = !out_two_reg && (!empty_reg || wr_valid);     // an entry moves into a slot
        wire mem_rd = !out_two_reg && !empty_reg;
        wire bypass = !out_two_reg && empty_reg && wr_valid;
        wire mem_wr = wr_valid && !bypass && !full_reg;
        // The same from empty_c_reg, for the count, full, the pointers and empty_c_reg itself: empty_reg
        // and mem_rd drive the slots' data selects and every LUT-RAM column's read address, so they sit
        // by those; the count's next value behind them was the worst endpoint of eleven in sixteen
        // placements (runs 62-77: 6.9-7.5 ns, three LUTs apart). Each copy has its own feedback, so
        // synthesis keeps both.
        wire mem_rd_c = !out_two_reg && !empty_c_reg;
        wire bypass_c = !out_two_reg && empty_c_reg && wr_valid;
        wire mem_wr_c = wr_valid && !bypass_c && !full_reg;
        // next count and flags from registers only (inc and dec exclusive: empty and full are)
        wire inc = mem_wr && !mem_rd;
        wire dec = mem_rd && !mem_wr;
        wire inc_c = mem_wr_c && !mem_rd_c;
        wire dec_c = mem_rd_c && !mem_wr_c;
        wire [ADDR_WIDTH:0] count_p1 = count_reg + 1'b1;
        wire [ADDR_WIDTH:0] count_m1 = count_reg - 1'b1;
        wire                is0 = (count_reg == 0), is1 = (count_reg == 1);
        wire                is_max = (count_reg == (1 << ADDR_WIDTH) - 1), is_max1 = (count_reg == (1 << ADDR_WIDTH) - 2);
        wire [ADDR_WIDTH:0] count_next = inc_c ? count_p1 : (dec_c ? count_m1 : count_reg);
        wire                empty_next = inc ? 1'b0 : (dec ? is1 : is0);
        wire                empty_c_next = inc_c ? 1'b0 : (dec_c ? is1 : is0);
        wire                full_next = inc_c ? is_max1 : (dec_c ? 1'b0 : is_max);
        // the output stage's next flags for either value of m_axis_tready (kept as nets, so synthesis does
        // not fold them back), then one 2:1 select: the external ready is one LUT away from the flip-flops
        //   tready = 1: a valid slot leaves; 2 -> 1, 1 -> push, 0 -> push
        //   tready = 0: 0 -> push, 1 -> 1 + push, 2 -> 2
        (* keep *) wire valid_t1 = out_two_reg || push;
        (* keep *) wire valid_t0 = out_valid_reg || push;
        (* keep *) wire two_t0 = out_two_reg || (out_valid_reg && push);

        // The memory in NB banks of 2**BW entries, each bank NCOL columns of at most 4 bits (one 16 x 4
        // LUT-RAM each). Each column reads at its own copy of the read pointer's low bits (same reset and
        // increments as rd_ptr_reg, its own feedback, so synthesis keeps the copies), placed by its LUT-RAM
        // (run f-s2: one read pointer to a slice's 16 LUT-RAMs was a 5.2 ns net; run h seed 1: one copy
        // per bank, a 3.35 ns net to its four, 7.7 ns to the output slots). rd_ptr_reg's high bits select
        // the bank. Written every cycle: the slot at wr_ptr is free (a bypassed or idle cycle writes a
        // value nobody reads). With the caller's credits the memory never fills; a write into a full
        // memory (status_overflow) would overwrite the oldest entry.
        wire [SW*NB-1:0] bank_rd;
        genvar bk, col;
        for (bk = 0; bk < NB; bk = bk + 1) begin : g_bank
            for (col = 0; col < NCOL; col = col + 1) begin : g_col
                localparam CW = (SW - 4 * col < 4) ? SW - 4 * col : 4;
                reg [CW-1:0] mem [0:(1 << BW)-1];
                reg [BW-1:0] rd_lo_reg = 0;
                always @(posedge clk) begin
                    if (wr_bank == bk) begin
                        mem[wr_ptr_reg[BW-1:0]] <= s_axis_tdata[SW*k + 4*col +: CW];
                    end
                    if (rst_k) begin
                        rd_lo_reg <= 0;
                    end else if (mem_rd) begin
                        rd_lo_reg <= rd_lo_reg + 1'b1;
                    end
                end
                assign bank_rd[SW*bk + 4*col +: CW] = mem[rd_lo_reg];
            end
        end
        wire [SW-1:0] mem_rd_data = bank_rd[SW*rd_bank +: SW];

        wire [SW-1:0] push_data = empty_reg ? s_axis_tdata[SW*k +: SW] : mem_rd_data;

        always @(posedge clk) begin
            if (push && !wr_sel_reg) begin
                slot0_reg <= push_data;
            end
            if (push && wr_sel_reg) begin
                slot1_reg <= push_data;
            end
            if (rst_k) begin
                wr_ptr_reg <= 0;
                rd_ptr_reg <= 0;
                count_reg <= 0;
                empty_reg <= 1'b1;
                empty_c_reg <= 1'b1;
                full_reg <= 1'b0;
                wr_sel_reg <= 1'b0;
                rd_sel_reg <= 1'b0;
                out_valid_reg <= 1'b0;
                out_two_reg <= 1'b0;
                overflow_reg <= 1'b0;
            end else begin
                overflow_reg <= wr_valid && !bypass && full_reg;
                if (mem_wr_c) begin
                    wr_ptr_reg <= wr_ptr_reg + 1'b1;
                end
                if (mem_rd_c) begin
                    rd_ptr_reg <= rd_ptr_reg + 1'b1;
                end
                count_reg <= count_next;
                empty_reg <= empty_next;
                empty_c_reg <= empty_c_next;
                full_reg <= full_next;
                if (push) begin
                    wr_sel_reg <= !wr_sel_reg;
                end
                rd_sel_reg <= rd_sel_reg ^ (out_valid_reg && m_axis_tready);
                out_valid_reg <= m_axis_tready ? valid_t1 : valid_t0;
                out_two_reg <= !m_axis_tready && two_t0;
            end
        end

        assign m_axis_tdata[SW*k +: SW] = rd_sel_reg ? slot1_reg : slot0_reg;
        assign valid_s[k] = out_valid_reg;
        assign overflow_s[k] = overflow_reg;
        assign level_s[(ADDR_WIDTH+2)*k +: ADDR_WIDTH+2] = {1'b0, count_reg} + {{ADDR_WIDTH{1'b0}}, out_two_reg, out_valid_reg && !out_two_reg};
    end
endgenerate

// the slices are in lockstep: slice 0 speaks for all
assign m_axis_tvalid = valid_s[0];
assign status_level = level_s[0 +: ADDR_WIDTH+2];
assign status_overflow = overflow_s[0];

/* verilator lint_off UNUSEDSIGNAL */
wire unused_slices = &{1'b0, valid_s, overflow_s, level_s};
/* verilator lint_on UNUSEDSIGNAL */

endmodule

`resetall

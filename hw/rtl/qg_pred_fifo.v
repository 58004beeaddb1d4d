`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * Prediction FIFO: a write port without ready (the free-running datapath writes whenever it has a
 * result; the caller guarantees space with credits) and an AXI-Stream read port with a registered
 * output. A write into an empty FIFO with a free output register bypasses the memory, so the
 * FIFO adds one cycle of latency. Capacity: the memory holds at most 2**ADDR_WIDTH - 1 entries, plus the
 * output register: 2**ADDR_WIDTH in all (the caller's credits).
 *
 * The memory is written every cycle at wr_ptr (that slot is always free, since the memory never fills),
 * so its write enable carries no valid; the valid only moves the pointers. SLICES column slices of
 * DATA_WIDTH / SLICES bits each keep their own copy of the pointers and flags (identical state machines,
 * each with its own feedback, so synthesis keeps them apart): the read/write address and output-register
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
    input  wire                  rst,

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
        reg [ADDR_WIDTH:0]   count_reg = 0;      // entries in the memory (not counting the output register)
        reg                  empty_reg = 1'b1;   // registered flags: no compare on the output register's enable path
        reg                  full_reg = 1'b0;
        reg [SW-1:0]         out_data_reg = 0;
        reg                  out_valid_reg = 1'b0;
        reg                  overflow_reg = 1'b0;

        wire wr_valid = s_axis_tvalid[k];
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
        wire out_free = !out_valid_reg || m_axis_tready;
        wire mem_rd = out_free && !empty_reg;
        wire bypass = out_free && empty_reg && wr_valid;
        wire mem_wr = wr_valid && !bypass && !full_reg;
        // The next count and flags for either value of m_axis_tready, from registers only (kept as
        // nets, so synthesis does not fold them back), then one 2:1 select by m_axis_tready: the
        // external ready is one LUT away from the flip-flops.
        //   tready = 1: out_free; mem_rd = !empty; mem_wr = tvalid & !empty & !full; never inc
        //   tready = 0: out_free = !out_valid
        wire wr_ok = wr_valid && !full_reg;
        wire dec1 = !empty_reg && !wr_ok;
        wire inc0 = wr_ok && out_valid_reg;                 // mem_wr && !mem_rd (empty and full exclusive)
        wire dec0 = !out_valid_reg && !empty_reg && !wr_ok;
        wire [ADDR_WIDTH:0] count_p1 = count_reg + 1'b1;
        wire [ADDR_WIDTH:0] count_m1 = count_reg - 1'b1;
        wire                is0 = (count_reg == 0), is1 = (count_reg == 1);
        wire                is_max = (count_reg == (1 << ADDR_WIDTH) - 1), is_max1 = (count_reg == (1 << ADDR_WIDTH) - 2);
        (* keep *) wire [ADDR_WIDTH:0] count_t1 = dec1 ? count_m1 : count_reg;
        (* keep *) wire [ADDR_WIDTH:0] count_t0 = inc0 ? count_p1 : (dec0 ? count_m1 : count_reg);
        (* keep *) wire empty_t1 = dec1 ? is1 : is0;
        (* keep *) wire empty_t0 = inc0 ? 1'b0 : (dec0 ? is1 : is0);
        (* keep *) wire full_t1 = dec1 ? 1'b0 : is_max;
        (* keep *) wire full_t0 = inc0 ? is_max1 : (dec0 ? 1'b0 : is_max);
        wire [ADDR_WIDTH:0] count_next = m_axis_tready ? count_t1 : count_t0;

        // The memory in NB banks of 2**BW entries (LUT-RAM), each with its own copy of the read pointer's
        // low bits (same reset and increments as rd_ptr_reg, its own feedback, so synthesis keeps the
        // copies): a bank's address net drives that bank's LUT-RAMs only (run f-s2: one read pointer to a
        // slice's 16 LUT-RAMs was a 5.2 ns net). rd_ptr_reg's high bits select the bank.
        // Written every cycle: the slot at wr_ptr is free (a bypassed or idle cycle writes a value nobody
        // reads). With the caller's credits the memory never fills; a write into a full memory
        // (status_overflow) would overwrite the oldest entry.
        wire [SW*NB-1:0] bank_rd;
        genvar bk;
        for (bk = 0; bk < NB; bk = bk + 1) begin : g_bank
            reg [SW-1:0] mem [0:(1 << BW)-1];
            reg [BW-1:0] rd_lo_reg = 0;
            always @(posedge clk) begin
                if (wr_bank == bk) begin
                    mem[wr_ptr_reg[BW-1:0]] <= s_axis_tdata[SW*k +: SW];
                end
                if (rst) begin
                    rd_lo_reg <= 0;
                end else if (mem_rd) begin
                    rd_lo_reg <= rd_lo_reg + 1'b1;
                end
            end
            assign bank_rd[SW*bk +: SW] = mem[rd_lo_reg];
        end
        wire [SW-1:0] mem_rd_data = bank_rd[SW*rd_bank +: SW];

        always @(posedge clk) begin
            if (out_free) begin
                out_data_reg <= empty_reg ? s_axis_tdata[SW*k +: SW] : mem_rd_data;
            end
            if (rst) begin
                wr_ptr_reg <= 0;
                rd_ptr_reg <= 0;
                count_reg <= 0;
                empty_reg <= 1'b1;
                full_reg <= 1'b0;
                out_valid_reg <= 1'b0;
                overflow_reg <= 1'b0;
            end else begin
                overflow_reg <= wr_valid && !bypass && full_reg;
                if (mem_wr) begin
                    wr_ptr_reg <= wr_ptr_reg + 1'b1;
                end
                if (mem_rd) begin
                    rd_ptr_reg <= rd_ptr_reg + 1'b1;
                end
                count_reg <= count_next;
                empty_reg <= m_axis_tready ? empty_t1 : empty_t0;        // count_next == 0
                full_reg <= m_axis_tready ? full_t1 : full_t0;           // count_next == 2**ADDR_WIDTH - 1
                if (out_free) begin
                    out_valid_reg <= !empty_reg || wr_valid;
                end
            end
        end

        assign m_axis_tdata[SW*k +: SW] = out_data_reg;
        assign valid_s[k] = out_valid_reg;
        assign overflow_s[k] = overflow_reg;
        assign level_s[(ADDR_WIDTH+2)*k +: ADDR_WIDTH+2] = {1'b0, count_reg} + {{(ADDR_WIDTH+1){1'b0}}, out_valid_reg};
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

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * Prediction FIFO: a write port without ready (the free-running datapath writes whenever it has a
 * result; the caller guarantees space with credits) and an AXI-Stream read port with a registered
 * output. A write into an empty FIFO with a free output register bypasses the memory, so the
 * FIFO adds one cycle of latency. Capacity DEPTH + 1 (memory + output register).
 */
module qg_pred_fifo #
(
    parameter DATA_WIDTH = 256,   // bits per entry
    parameter ADDR_WIDTH = 5      // memory depth 2**ADDR_WIDTH
)
(
    input  wire                  clk,
    input  wire                  rst,

    /* Write port (no ready) */
    input  wire [DATA_WIDTH-1:0] s_axis_tdata,
    input  wire                  s_axis_tvalid,

    /* Read port */
    output wire [DATA_WIDTH-1:0] m_axis_tdata,
    output wire                  m_axis_tvalid,
    input  wire                  m_axis_tready,

    /* Status */
    output wire [ADDR_WIDTH+1:0] status_level,
    output wire                  status_overflow
);

initial begin
    if (ADDR_WIDTH < 1 || ADDR_WIDTH > 12 || DATA_WIDTH < 1) begin
        $error("Error: bad ADDR_WIDTH/DATA_WIDTH (instance %m)");
        $finish;
    end
end

reg [DATA_WIDTH-1:0] mem [0:(1 << ADDR_WIDTH)-1];
reg [ADDR_WIDTH-1:0] wr_ptr_reg = 0;
reg [ADDR_WIDTH-1:0] rd_ptr_reg = 0;
reg [ADDR_WIDTH:0]   count_reg = 0;          // entries in the memory (not counting the output register)
reg                  empty_reg = 1'b1;       // registered flags: no compare on the output register's enable path
reg                  full_reg = 1'b0;
reg [DATA_WIDTH-1:0] out_data_reg = 0;
reg                  out_valid_reg = 1'b0;
reg                  overflow_reg = 1'b0;

wire out_free = !out_valid_reg || m_axis_tready;
wire mem_rd = out_free && !empty_reg;
wire bypass = out_free && empty_reg && s_axis_tvalid;
wire mem_wr = s_axis_tvalid && !bypass && !full_reg;
wire [ADDR_WIDTH:0] count_next = count_reg + {{ADDR_WIDTH{1'b0}}, mem_wr} - {{ADDR_WIDTH{1'b0}}, mem_rd};

always @(posedge clk) begin
    // The memory write enable is the (registered) input valid alone: a bypassed write lands in the free
    // slot at wr_ptr without advancing it, which is harmless. mem_wr (bypass, full) only steers the
    // pointers, so the 256-bit memory's write enable carries no logic (it fans out to every DPR16X4).
    // A write into a full FIFO (never: the caller's credits prevent it; status_overflow flags it) would
    // overwrite the oldest entry instead of dropping the new one.
    if (s_axis_tvalid) begin
        mem[wr_ptr_reg] <= s_axis_tdata;
    end
    if (out_free) begin
        out_data_reg <= empty_reg ? s_axis_tdata : mem[rd_ptr_reg];
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
        overflow_reg <= s_axis_tvalid && !bypass && full_reg;
        if (mem_wr) begin
            wr_ptr_reg <= wr_ptr_reg + 1'b1;
        end
        if (mem_rd) begin
            rd_ptr_reg <= rd_ptr_reg + 1'b1;
        end
        count_reg <= count_next;
        empty_reg <= (count_next == 0);
        full_reg <= (count_next == (1 << ADDR_WIDTH));
        if (out_free) begin
            out_valid_reg <= !empty_reg || s_axis_tvalid;
        end
    end
end

assign m_axis_tdata = out_data_reg;
assign m_axis_tvalid = out_valid_reg;
assign status_level = {1'b0, count_reg} + {{(ADDR_WIDTH+1){1'b0}}, out_valid_reg};
assign status_overflow = overflow_reg;

endmodule

`resetall

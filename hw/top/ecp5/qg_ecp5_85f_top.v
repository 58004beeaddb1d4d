`resetall
`timescale 1ns / 1ps
`default_nettype none
/*
 * qg_ecp5_85f_top: board wrapper for the open ECP5 flow (LFE5U-85F-6, CABGA381, ULX3S-85F pinout).
 * Pins and clock only; never simulated (STYLE.md 1, board top split).
 *
 * The board has no host link in this build, so the wrapper keeps the whole core alive on chip:
 *  - one 32-bit LFSR per stimulus word (distinct seeds) drives the book-record AXI-Stream (data, valid,
 *    last), the prediction stream's tready and random AXI-Lite reads and writes: a flat register, as a
 *    DMA engine's output register would be (a shift register through all the words, as before, tied the
 *    record's fields into one chain across the die and pulled the core's input stage apart along it);
 *  - every core output (prediction data/valid/last, input tready, AXI-Lite read data and responses)
 *    is registered and folded by XOR (in registered steps) into an 8-bit register that drives the LEDs.
 * No core output is constant to yosys, so nothing of the core is optimized away. The clock pin runs at
 * the target frequency of hw/boards.yaml (nextpnr --freq); on a real ULX3S an EHXPLLL would go here.
 *
 * Define QG_SMOKE_CORE to build the small stand-in hw/syn/ecp5/qg_smoke_core.v (CI smoke run).
 */
module qg_ecp5_85f_top #
(
    parameter [31:0] GIT_HASH = 32'h0   // build's git commit (first 8 hex digits), set by hw/syn/open_flow.py
)
(
    input  wire       clk,        // G2
    output wire [7:0] led         // B2 C2 C1 D2 D1 E2 E1 H3
);

`ifdef QG_SMOKE_CORE
localparam S_AXIS_DATA_WIDTH = 64;
localparam M_AXIS_DATA_WIDTH = 32;
localparam AXIL_ADDR_WIDTH   = 8;
`else
`include "regmap.vh"
localparam S_AXIS_DATA_WIDTH = `QG_BOOK_RECORD_WIDTH;
localparam M_AXIS_DATA_WIDTH = `QG_PREDICTION_WIDTH;
localparam AXIL_ADDR_WIDTH   = `QG_REGMAP_ADDR_WIDTH;
`endif
localparam AXIL_DATA_WIDTH   = 32;
initial if (M_AXIS_DATA_WIDTH % 8) begin $error("Error: M_AXIS_DATA_WIDTH must be a multiple of 8"); $finish; end
localparam STIM_WIDTH = S_AXIS_DATA_WIDTH + AXIL_ADDR_WIDTH + AXIL_DATA_WIDTH + 8;

/* power-on reset: 16 cycles, from the FF initial values of the bitstream */
reg [3:0] por_count_reg = 4'd0;
reg       rst_reg = 1'b1;
always @(posedge clk) begin
    if (por_count_reg != 4'hf)
        por_count_reg <= por_count_reg + 4'd1;
    rst_reg <= (por_count_reg != 4'hf);
end

/* stimulus: one Galois LFSR (x^32 + x^22 + x^2 + x + 1) per 32-bit word, each from its own seed (so
 * synthesis cannot merge them) */
localparam NW = (STIM_WIDTH + 31) / 32;
reg  [32*NW-1:0]     lfsr_reg;
integer w;
initial begin
    for (w = 0; w < NW; w = w + 1)
        lfsr_reg[32*w +: 32] = 32'hace1_2468 ^ (32'h9e37_79b9 * (w + 1));
end
always @(posedge clk) begin
    for (w = 0; w < NW; w = w + 1)
        lfsr_reg[32*w +: 32] <= {1'b0, lfsr_reg[32*w+1 +: 31]} ^ (lfsr_reg[32*w] ? 32'h8020_0003 : 32'd0);
end
wire [STIM_WIDTH-1:0] stim = lfsr_reg[STIM_WIDTH-1:0];

wire [S_AXIS_DATA_WIDTH-1:0] s_axis_tdata   = stim[S_AXIS_DATA_WIDTH-1:0];
wire [AXIL_ADDR_WIDTH-1:0]   axil_addr      = stim[S_AXIS_DATA_WIDTH +: AXIL_ADDR_WIDTH];
wire [AXIL_DATA_WIDTH-1:0]   axil_wdata     = stim[S_AXIS_DATA_WIDTH + AXIL_ADDR_WIDTH +: AXIL_DATA_WIDTH];
wire [7:0]                   ctl            = stim[STIM_WIDTH-8 +: 8];

// the stream handshakes from flip-flops (as from a DMA engine), not from a LUT behind the stimulus: the
// core's tready / tvalid inputs fan out to hundreds of loads
reg                          s_axis_tvalid_reg = 1'b0, m_axis_tready_reg = 1'b0;
always @(posedge clk) begin
    s_axis_tvalid_reg <= ctl[0] | ctl[1];
    m_axis_tready_reg <= ctl[3] | ctl[4];
end

wire                         s_axis_tready;
wire [M_AXIS_DATA_WIDTH-1:0] m_axis_tdata;
wire                         m_axis_tvalid;
wire                         m_axis_tlast;
wire                         s_axil_awready, s_axil_wready, s_axil_bvalid, s_axil_arready, s_axil_rvalid;
wire [1:0]                   s_axil_bresp, s_axil_rresp;
wire [AXIL_DATA_WIDTH-1:0]   s_axil_rdata;

`ifdef QG_SMOKE_CORE
qg_smoke_core #(
    .S_AXIS_DATA_WIDTH(S_AXIS_DATA_WIDTH),
    .M_AXIS_DATA_WIDTH(M_AXIS_DATA_WIDTH),
    .AXIL_ADDR_WIDTH(AXIL_ADDR_WIDTH),
    .AXIL_DATA_WIDTH(AXIL_DATA_WIDTH)
)
`else
wire [M_AXIS_DATA_WIDTH/8-1:0] m_axis_tkeep;   /* all ones for whole records: unused */
qg_core_top #(
    .GIT_HASH(GIT_HASH)
)
`endif
core_inst (
    .clk(clk),
    .rst(rst_reg),
    .s_axis_tdata(s_axis_tdata),
`ifndef QG_SMOKE_CORE
    .s_axis_tkeep({(S_AXIS_DATA_WIDTH/8){1'b1}}),
    .m_axis_tkeep(m_axis_tkeep),
`endif
    .s_axis_tvalid(s_axis_tvalid_reg),
    .s_axis_tready(s_axis_tready),
    .s_axis_tlast(ctl[2]),
    .m_axis_tdata(m_axis_tdata),
    .m_axis_tvalid(m_axis_tvalid),
    .m_axis_tready(m_axis_tready_reg),
    .m_axis_tlast(m_axis_tlast),
    .s_axil_awaddr(axil_addr),
    .s_axil_awprot(3'd0),
    .s_axil_awvalid(ctl[5] & ctl[6]),
    .s_axil_awready(s_axil_awready),
    .s_axil_wdata(axil_wdata),
    .s_axil_wstrb(4'hf),
    .s_axil_wvalid(ctl[5] & ctl[6]),
    .s_axil_wready(s_axil_wready),
    .s_axil_bresp(s_axil_bresp),
    .s_axil_bvalid(s_axil_bvalid),
    .s_axil_bready(1'b1),
    .s_axil_araddr(axil_addr),
    .s_axil_arprot(3'd0),
    .s_axil_arvalid(ctl[7]),
    .s_axil_arready(s_axil_arready),
    .s_axil_rdata(s_axil_rdata),
    .s_axil_rresp(s_axil_rresp),
    .s_axil_rvalid(s_axil_rvalid),
    .s_axil_rready(1'b1)
);

/* readback: XOR-fold every core output into the LED register. The outputs are registered first and the
 * fold is two registered steps (partial XORs of four bytes, then the fold), so no core output path ends in
 * the wrapper's reduction LUTs (run 32: FIFO output data -> 3.3 ns net -> LED reduction was the worst path).
 * The data bytes are not masked by their valids (a 256-load valid net in front of the partial XORs was
 * 7.8 ns in run base-s4); the valids are folded in with the control bits. */
localparam NBYTES = M_AXIS_DATA_WIDTH / 8 + AXIL_DATA_WIDTH / 8;
localparam NPART = (NBYTES + 3) / 4;
reg [M_AXIS_DATA_WIDTH-1:0] m_tdata_q = {M_AXIS_DATA_WIDTH{1'b0}};
reg [AXIL_DATA_WIDTH-1:0]   rdata_q = {AXIL_DATA_WIDTH{1'b0}};
reg [3:0]                   ctl_q = 4'd0;
always @(posedge clk) begin
    m_tdata_q <= m_axis_tdata;
    rdata_q <= s_axil_rdata;
    ctl_q[0] <= m_axis_tlast ^ s_axis_tready ^ m_axis_tvalid;
    ctl_q[1] <= s_axil_awready ^ s_axil_wready ^ s_axil_rvalid;
    ctl_q[2] <= s_axil_bvalid ^ s_axil_arready;
    ctl_q[3] <= (^s_axil_bresp) ^ (^s_axil_rresp);
end

// the registered outputs' bytes, XORed four at a time
reg  [8*NPART-1:0] part_reg = {(8*NPART){1'b0}};
reg  [3:0]         ctl_q2 = 4'd0;
reg  [8*4*NPART-1:0] bytes_q;
integer i;
always @* begin
    bytes_q = {(8*4*NPART){1'b0}};
    bytes_q[0 +: M_AXIS_DATA_WIDTH] = m_tdata_q;
    bytes_q[M_AXIS_DATA_WIDTH +: AXIL_DATA_WIDTH] = rdata_q;
end
always @(posedge clk) begin
    for (i = 0; i < NPART; i = i + 1)
        part_reg[8*i +: 8] <= bytes_q[32*i +: 8] ^ bytes_q[32*i+8 +: 8] ^ bytes_q[32*i+16 +: 8] ^ bytes_q[32*i+24 +: 8];
    ctl_q2 <= ctl_q;
end

reg [7:0] fold_reg = 8'd0;
reg [7:0] fold_next;
always @* begin
    fold_next = fold_reg ^ {4'd0, ctl_q2};
    for (i = 0; i < NPART; i = i + 1)
        fold_next = fold_next ^ part_reg[8*i +: 8];
end
always @(posedge clk)
    fold_reg <= fold_next;

assign led = fold_reg;

endmodule

`resetall

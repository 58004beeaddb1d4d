`resetall
`timescale 1ns / 1ps
`default_nettype none
/*
 * qg_smoke_core: a small stand-in with the port list of qg_core_top, used by the CI-safe smoke run
 * of the open ECP5 flow (python -m hw.syn.open_flow --smoke). It is a flow check, not a model: four int8 lanes per
 * input beat are multiplied by int8 weights read from a small table (registered MULT18X18D, the
 * reference trick) and accumulated until tlast;
 * the sum leaves on m_axis. AXI-Lite: 0x00 ID (read only), 0x04 scratch, 0x08 result counter.
 * Synthesis only (never simulated): it exists so that yosys -> nextpnr-ecp5 -> ecppack runs on every
 * CI job in about a minute, while the full core's place-and-route stays opt-in.
 */
module qg_smoke_core #
(
    parameter S_AXIS_DATA_WIDTH = 64,   // book record beat width
    parameter M_AXIS_DATA_WIDTH = 32,   // prediction record beat width
    parameter AXIL_ADDR_WIDTH   = 8,    // AXI-Lite address width
    parameter AXIL_DATA_WIDTH   = 32    // AXI-Lite data width
)
(
    input  wire                          clk,
    input  wire                          rst,

    /* Book record input */
    input  wire [S_AXIS_DATA_WIDTH-1:0]  s_axis_tdata,
    input  wire                          s_axis_tvalid,
    output wire                          s_axis_tready,
    input  wire                          s_axis_tlast,

    /* Prediction record output */
    output wire [M_AXIS_DATA_WIDTH-1:0]  m_axis_tdata,
    output wire                          m_axis_tvalid,
    input  wire                          m_axis_tready,
    output wire                          m_axis_tlast,

    /* Register file */
    input  wire [AXIL_ADDR_WIDTH-1:0]    s_axil_awaddr,
    input  wire [2:0]                    s_axil_awprot,
    input  wire                          s_axil_awvalid,
    output wire                          s_axil_awready,
    input  wire [AXIL_DATA_WIDTH-1:0]    s_axil_wdata,
    input  wire [AXIL_DATA_WIDTH/8-1:0]  s_axil_wstrb,
    input  wire                          s_axil_wvalid,
    output wire                          s_axil_wready,
    output wire [1:0]                    s_axil_bresp,
    output wire                          s_axil_bvalid,
    input  wire                          s_axil_bready,
    input  wire [AXIL_ADDR_WIDTH-1:0]    s_axil_araddr,
    input  wire [2:0]                    s_axil_arprot,
    input  wire                          s_axil_arvalid,
    output wire                          s_axil_arready,
    output wire [AXIL_DATA_WIDTH-1:0]    s_axil_rdata,
    output wire [1:0]                    s_axil_rresp,
    output wire                          s_axil_rvalid,
    input  wire                          s_axil_rready
);

localparam LANES = 4;

/* weight table: 16 x 32 bit (four int8 weights per entry). A DP16KD block RAM read without its output
 * register (REGMODE "OUTREG", which yosys does not infer) costs 5.8 ns clock-to-out on speed 6 and
 * caps Fmax near 140 MHz, so this small table stays in logic. */
reg [31:0] weight_mem [0:15];
integer i;
initial begin
    for (i = 0; i < 16; i = i + 1)
        weight_mem[i] = (i * 32'h9E3779B1) ^ (i << 7);
end

/*
 * Free-running pipeline (no global stall, as the reference design that reached 187 MHz):
 * S0 table read + input register | S1 fabric register next to the DSPs | S2 DSP input registers |
 * S3 DSP output registers | S4 pairwise sums | S5 sum | S6 accumulate. A result that is not taken
 * before the next one is replaced (flow-check design only).
 */
reg  [3:0]  beat_reg = 4'd0;
reg  [31:0] weight_reg = 32'd0, weight_q_reg = 32'd0;
reg  [31:0] x_reg = 32'd0, x_q_reg = 32'd0;
reg  [6:0]  valid_pipe_reg = 7'd0;
reg  [6:0]  last_pipe_reg = 7'd0;
wire [36*LANES-1:0] prod;
reg  [16:0] pair0_reg = 17'd0, pair1_reg = 17'd0;
reg  [17:0] sum_reg = 18'd0;
reg  [31:0] acc_reg = 32'd0;
reg  [31:0] out_reg = 32'd0;
reg         out_valid_reg = 1'b0;
reg  [31:0] count_reg = 32'd0;
reg  [31:0] scratch_reg = 32'd0;

assign s_axis_tready = 1'b1;

always @(posedge clk) begin
    weight_reg <= weight_mem[beat_reg];                  /* S0: registered table read */
    x_reg <= s_axis_tdata[31:0] ^ s_axis_tdata[63:32];
    weight_q_reg <= weight_reg;                          /* S1: fabric register next to the DSPs */
    x_q_reg <= x_reg;
    valid_pipe_reg <= {valid_pipe_reg[5:0], s_axis_tvalid};
    last_pipe_reg <= {last_pipe_reg[5:0], s_axis_tlast};
    pair0_reg <= $signed(prod[0*36 +: 16]) + $signed(prod[1*36 +: 16]);          /* S4 */
    pair1_reg <= $signed(prod[2*36 +: 16]) + $signed(prod[3*36 +: 16]);
    sum_reg <= $signed(pair0_reg) + $signed(pair1_reg);                          /* S5 */
    if (valid_pipe_reg[5])                                                           /* S6 */
        acc_reg <= (last_pipe_reg[6] ? 32'd0 : acc_reg) + {{14{sum_reg[17]}}, sum_reg};
    if (s_axis_tvalid)
        beat_reg <= s_axis_tlast ? 4'd0 : beat_reg + 4'd1;
    if (m_axis_tready)
        out_valid_reg <= 1'b0;
    if (valid_pipe_reg[6] && last_pipe_reg[6]) begin
        out_reg <= acc_reg;
        out_valid_reg <= 1'b1;
        count_reg <= count_reg + 32'd1;
    end
    if (rst) begin
        beat_reg <= 4'd0;
        valid_pipe_reg <= 7'd0;
        out_valid_reg <= 1'b0;
        count_reg <= 32'd0;
    end
end

/* S2/S3: MULT18X18D with input and output registers (qg_mult18, the card's own DSP wrapper: a
   hand-instantiated primitive under QG_ECP5_DSP, since yosys does not pack the DSP registers) */
genvar g;
generate
    for (g = 0; g < LANES; g = g + 1) begin : g_lane
        wire signed [17:0] a = {{10{x_q_reg[g*8 + 7]}}, x_q_reg[g*8 +: 8]};
        wire signed [17:0] b = {{10{weight_q_reg[g*8 + 7]}}, weight_q_reg[g*8 +: 8]};
        wire signed [35:0] p;
        qg_mult18 #(.REG_IN(1)) mult_inst (.clk(clk), .a(a), .b(b), .p(p));
        assign prod[g*36 +: 36] = p;
    end
endgenerate

assign m_axis_tdata  = out_reg;
assign m_axis_tvalid = out_valid_reg;
assign m_axis_tlast  = 1'b1;

/* input-to-result latency of this stand-in (S0..S6 + output register) */
localparam LATENCY_CYCLES = 8;

/* AXI-Lite: one outstanding access per channel */
reg        bvalid_reg = 1'b0, rvalid_reg = 1'b0;
reg [31:0] rdata_reg = 32'd0;

assign s_axil_awready = s_axil_awvalid && s_axil_wvalid && !bvalid_reg;
assign s_axil_wready  = s_axil_awready;
assign s_axil_bresp   = 2'b00;
assign s_axil_bvalid  = bvalid_reg;
assign s_axil_arready = s_axil_arvalid && !rvalid_reg;
assign s_axil_rdata   = rdata_reg;
assign s_axil_rresp   = 2'b00;
assign s_axil_rvalid  = rvalid_reg;

always @(posedge clk) begin
    if (s_axil_bready) bvalid_reg <= 1'b0;
    if (s_axil_awready) begin
        bvalid_reg <= 1'b1;
        if (s_axil_awaddr[3:2] == 2'd1) scratch_reg <= s_axil_wdata;
    end
    if (s_axil_rready) rvalid_reg <= 1'b0;
    if (s_axil_arready) begin
        rvalid_reg <= 1'b1;
        case (s_axil_araddr[3:2])
            2'd0:    rdata_reg <= 32'h51475343;   /* "QGSC" */
            2'd1:    rdata_reg <= scratch_reg;
            2'd2:    rdata_reg <= count_reg;
            default: rdata_reg <= 32'd0;
        endcase
    end
    if (rst) begin
        bvalid_reg <= 1'b0;
        rvalid_reg <= 1'b0;
    end
end

endmodule

`resetall

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * sat(scale(x, SHIFT), LO, HI) of models/FEATURES.md: arithmetic shift (left for SHIFT >= 0, floor
 * right otherwise), then saturation to [LO, HI] within int8. REG = 0: combinational (clk unused);
 * REG = 1: the two bound compares (carry chains) and the low byte registered, the select a cycle later
 * (y one cycle after x, and no compare chain in series with the select).
 */
module qg_sat_scale #
(
    parameter IN_WIDTH = 34,    // bits of x (two's complement; pass {1'b0, u} for unsigned u)
    parameter SHIFT = 0,        // scale shift, -63..63
    parameter LO = -128,        // saturation bounds, -128 <= LO <= HI <= 127
    parameter HI = 127,
    parameter REG = 0           // 1: y is registered compares + a select, one cycle after x
)
(
    input  wire                       clk,
    input  wire signed [IN_WIDTH-1:0] x,
    output wire        [7:0]          y
);

localparam EXT = (SHIFT > 0 ? SHIFT : 0) + 1;
localparam W = (IN_WIDTH + EXT > 9) ? IN_WIDTH + EXT : 9;

initial begin
    if (LO < -128 || HI > 127 || LO > HI || SHIFT < -63 || SHIFT > 63) begin
        $error("Error: bad SHIFT/LO/HI (instance %m)");
        $finish;
    end
end

wire signed [W-1:0] x_ext = {{(W-IN_WIDTH){x[IN_WIDTH-1]}}, x};
localparam [7:0] LO_B = LO[7:0];
localparam [7:0] HI_B = HI[7:0];
wire signed [W-1:0] lo_w = {{(W-8){LO_B[7]}}, LO_B};
wire signed [W-1:0] hi_w = {{(W-8){HI_B[7]}}, HI_B};
wire signed [W-1:0] scaled;

generate
    if (SHIFT >= 0) begin : g_left
        assign scaled = x_ext <<< SHIFT;
    end else begin : g_right
        assign scaled = x_ext >>> (-SHIFT);
    end
endgenerate

generate
    if (REG == 0) begin : g_comb
        wire signed [W-1:0] sat = (scaled < lo_w) ? lo_w : ((scaled > hi_w) ? hi_w : scaled);
        assign y = sat[7:0];
        /* verilator lint_off UNUSEDSIGNAL */
        wire [W-9:0] unused_sat_msbs = sat[W-1:8];
        wire         unused_clk = clk;
        /* verilator lint_on UNUSEDSIGNAL */
    end else begin : g_reg
        reg       lt_reg = 1'b0, gt_reg = 1'b0;
        reg [7:0] low_reg = 8'd0;
        always @(posedge clk) begin
            lt_reg <= scaled < lo_w;
            gt_reg <= scaled > hi_w;
            low_reg <= scaled[7:0];
        end
        assign y = lt_reg ? LO_B : (gt_reg ? HI_B : low_reg);
        /* verilator lint_off UNUSEDSIGNAL */
        wire [W-9:0] unused_scaled_msbs = scaled[W-1:8];
        /* verilator lint_on UNUSEDSIGNAL */
    end
endgenerate

endmodule

`resetall

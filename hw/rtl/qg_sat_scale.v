`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * sat(scale(x, SHIFT), LO, HI) of models/FEATURES.md: arithmetic shift (left for SHIFT >= 0, floor
 * right otherwise), then saturation to [LO, HI] within int8. Combinational.
 */
module qg_sat_scale #
(
    parameter IN_WIDTH = 34,    // bits of x (two's complement; pass {1'b0, u} for unsigned u)
    parameter SHIFT = 0,        // scale shift, -63..63
    parameter LO = -128,        // saturation bounds, -128 <= LO <= HI <= 127
    parameter HI = 127
)
(
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

wire signed [W-1:0] sat = (scaled < lo_w) ? lo_w : ((scaled > hi_w) ? hi_w : scaled);

assign y = sat[7:0];

/* verilator lint_off UNUSEDSIGNAL */
wire [W-9:0] unused_sat_msbs = sat[W-1:8];
/* verilator lint_on UNUSEDSIGNAL */

endmodule

`resetall

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * bitlen(x) of models/FEATURES.md: number of significant bits of an unsigned value, bitlen(0) = 0.
 * Combinational two-level priority encoder.
 */
module qg_bitlen #
(
    parameter WIDTH = 48,       // bits of x
    parameter OUT_WIDTH = 7     // bits of the result (must hold WIDTH)
)
(
    input  wire [WIDTH-1:0]     x,
    output wire [OUT_WIDTH-1:0] len
);

initial begin
    if (WIDTH < 1 || WIDTH >= (1 << OUT_WIDTH)) begin
        $error("Error: OUT_WIDTH cannot hold WIDTH (instance %m)");
        $finish;
    end
end

// Two-level priority encoder (balanced: group ORs, a suffix OR over the groups, an AND-OR select), not
// a chain of 2:1 muxes: x in groups of 4 bits; val[g] = 4g + bitlen(group g) (1..4), one LUT per bit;
// the result is val of the highest non-zero group.
localparam G = (WIDTH + 3) / 4;
wire [4*G-1:0] xp = {{(4*G-WIDTH){1'b0}}, x};

function [OUT_WIDTH-1:0] group_val;     // 4g + bitlen(v), v != 0 (v[0] does not matter then)
    /* verilator lint_off UNUSEDSIGNAL */
    input [3:0]   v;
    /* verilator lint_on UNUSEDSIGNAL */
    input integer grp;
    integer       lg;
    begin
        lg = v[3] ? 4 : (v[2] ? 3 : (v[1] ? 2 : 1));
        lg = grp * 4 + lg;
        group_val = lg[OUT_WIDTH-1:0];
    end
endfunction

wire [G-1:0]           any;
wire [OUT_WIDTH*G-1:0] val;
wire [G-1:0]           lead;    // the highest non-zero group, one-hot (zero if x == 0)

genvar g;
generate
    for (g = 0; g < G; g = g + 1) begin : g_grp
        assign any[g] = |xp[4*g +: 4];
        assign val[OUT_WIDTH*g +: OUT_WIDTH] = group_val(xp[4*g +: 4], g);
        if (g == G - 1) begin : g_top
            assign lead[g] = any[g];
        end else begin : g_low
            assign lead[g] = any[g] && !(|any[G-1:g+1]);
        end
    end
endgenerate

function [OUT_WIDTH-1:0] select;
    input [G-1:0]           ld;
    input [OUT_WIDTH*G-1:0] vv;
    integer k;
    begin
        select = {OUT_WIDTH{1'b0}};
        for (k = 0; k < G; k = k + 1) begin
            select = select | (vv[OUT_WIDTH*k +: OUT_WIDTH] & {OUT_WIDTH{ld[k]}});
        end
    end
endfunction

assign len = select(lead, val);

endmodule

`resetall

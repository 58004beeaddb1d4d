`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * bitlen(x) of models/FEATURES.md: number of significant bits of an unsigned value, bitlen(0) = 0.
 * Three steps of about two LUT levels: per 8-bit group whether it is non-zero and its 8 * g + bitlen;
 * which group leads (one-hot); an AND-OR select of the leading group's value. REG (0..2) registers
 * after the first (REG >= 1) and the second (REG = 2) step: LATENCY = REG; REG = 0 is combinational.
 */
module qg_bitlen #
(
    parameter WIDTH = 48,       // bits of x
    parameter OUT_WIDTH = 7,    // bits of the result (must hold WIDTH)
    parameter REG = 0           // pipeline registers, 0..2 (see above)
)
(
    input  wire                 clk,
    input  wire [WIDTH-1:0]     x,
    output wire [OUT_WIDTH-1:0] len
);

localparam G = (WIDTH + 7) / 8;

initial begin
    if (WIDTH < 1 || WIDTH >= (1 << OUT_WIDTH) || G > 16) begin
        $error("Error: OUT_WIDTH cannot hold WIDTH, or WIDTH > 128 (instance %m)");
        $finish;
    end
end

wire [8*G-1:0] xp = {{(8*G-WIDTH){1'b0}}, x};

function [OUT_WIDTH-1:0] gval;  // 8 * grp + bitlen(v): bitlen(x) if this group leads (a function of v alone)
    /* verilator lint_off UNUSEDSIGNAL */  // v[0] only matters as "non-zero", which lead[] carries
    input [7:0]   v;
    /* verilator lint_on UNUSEDSIGNAL */
    input integer grp;
    integer       lg;
    begin
        lg = v[7] ? 8 : v[6] ? 7 : v[5] ? 6 : v[4] ? 5 : v[3] ? 4 : v[2] ? 3 : v[1] ? 2 : 1;
        lg = 8 * grp + lg;
        gval = lg[OUT_WIDTH-1:0];
    end
endfunction

wire [G-1:0]           any_c, any, lead_c;
wire [OUT_WIDTH*G-1:0] val_c, val_a;

genvar g;
generate
    for (g = 0; g < G; g = g + 1) begin : g_grp
        assign any_c[g] = |xp[8*g +: 8];
        assign val_c[OUT_WIDTH*g +: OUT_WIDTH] = gval(xp[8*g +: 8], g);
        if (g == G - 1) begin : g_top
            assign lead_c[g] = any[g];
        end else begin : g_low
            assign lead_c[g] = any[g] && !(|any[G-1:g+1]);
        end
    end
endgenerate

wire [G-1:0]           lead;
wire [OUT_WIDTH*G-1:0] val;

qg_pipe #(.WIDTH((OUT_WIDTH + 1) * G), .EN(REG >= 1)) pipe1_inst (.clk(clk), .d({any_c, val_c}), .q({any, val_a}));
qg_pipe #(.WIDTH((OUT_WIDTH + 1) * G), .EN(REG >= 2)) pipe2_inst (.clk(clk), .d({lead_c, val_a}), .q({lead, val}));

/* the leading group's value (zero when x == 0: no group leads) */
reg [OUT_WIDTH-1:0] sel;
integer k;

always @* begin
    sel = {OUT_WIDTH{1'b0}};
    for (k = 0; k < G; k = k + 1) begin
        sel = sel | (val[OUT_WIDTH*k +: OUT_WIDTH] & {OUT_WIDTH{lead[k]}});
    end
end

assign len = sel;

endmodule

`resetall

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * RECIP[j] = floor(2**16 / (128 + j)), j = 0..127 (models/FEATURES.md), combinational, as ten hand-mapped
 * ECP5 LUT7s: per output bit 8 LUT4 (idx[3:0]) -> 4 PFUMX (idx[4]) -> 2 L6MUX21 (idx[5]) -> L6MUX21
 * (idx[6]), one PFU, so the read is one LUT4 plus the slice muxes on dedicated routing. Left to abc9,
 * the 7-input table was mapped into chains of up to 6 LUT4s (hw/README.md, "Timing status").
 * Only the open ECP5 flow uses it (QG_ECP5_DSP: the ECP5 primitives, see qg_mult18.v); elsewhere
 * qg_ratio reads the generated qg_recip_rom. tests/hw/test_ecp5_primitives.py checks this netlist against
 * qg_recip_rom for all 128 indices with yosys' ECP5 cell models.
 */
module qg_recip_lut7
(
    input  wire [6:0] idx,
    output wire [9:0] recip
);

// bit b of RECIP[j] for every j: the LUT7 truth table of output bit b (bit j = value at idx = j)
function [127:0] table_bit;
    input [4:0] b;
    integer j;
    reg [31:0] r;
    begin
        for (j = 0; j < 128; j = j + 1) begin
            r = 32'd65536 / (32'd128 + j);
            table_bit[j] = r[b];
        end
    end
endfunction

genvar b;
generate
    for (b = 0; b < 10; b = b + 1) begin : g_bit
        localparam [127:0] T = table_bit(b[4:0]);
`ifdef QG_ECP5_DSP
        wire [7:0] f;
        wire [3:0] g;
        wire [1:0] h;
        genvar k;
        for (k = 0; k < 8; k = k + 1) begin : g_lut
            LUT4 #(.INIT(T[16*k +: 16])) lut_inst (.A(idx[0]), .B(idx[1]), .C(idx[2]), .D(idx[3]), .Z(f[k]));
        end
        for (k = 0; k < 4; k = k + 1) begin : g_mux5
            PFUMX mux5_inst (.ALUT(f[2*k+1]), .BLUT(f[2*k]), .C0(idx[4]), .Z(g[k]));
        end
        L6MUX21 mux60_inst (.D0(g[0]), .D1(g[1]), .SD(idx[5]), .Z(h[0]));
        L6MUX21 mux61_inst (.D0(g[2]), .D1(g[3]), .SD(idx[5]), .Z(h[1]));
        L6MUX21 mux7_inst (.D0(h[0]), .D1(h[1]), .SD(idx[6]), .Z(recip[b]));
`else
        assign recip[b] = T[idx];
`endif
    end
endgenerate

endmodule

`resetall

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * bitlen(x) of models/FEATURES.md: number of significant bits of an unsigned value, bitlen(0) = 0.
 * Combinational priority encoder.
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

// a function behind a continuous assignment (not always @*): evaluated at time 0 as well
function [OUT_WIDTH-1:0] bitlen;
    input [WIDTH-1:0] v;
    integer k;
    begin
        bitlen = {OUT_WIDTH{1'b0}};
        for (k = 0; k < WIDTH; k = k + 1) begin
            if (v[k]) begin
                bitlen = k[OUT_WIDTH-1:0] + 1'b1;
            end
        end
    end
endfunction

assign len = bitlen(x);

endmodule

`resetall

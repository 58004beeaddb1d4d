`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * Optional pipeline register: EN = 1 registers d (one cycle, initial value 0), EN = 0 is a wire.
 * Lets one RTL serve both pipeline configurations (hw/boards.yaml `pipeline:`, the DEEP parameters).
 */
module qg_pipe #
(
    parameter WIDTH = 1,
    parameter EN = 1
)
(
    input  wire             clk,
    input  wire [WIDTH-1:0] d,
    output wire [WIDTH-1:0] q
);

generate
    if (EN != 0) begin : g_reg
        reg [WIDTH-1:0] q_reg = {WIDTH{1'b0}};
        always @(posedge clk) begin
            q_reg <= d;
        end
        assign q = q_reg;
    end else begin : g_wire
        assign q = d;
        wire unused_clk = clk;
    end
endgenerate

endmodule

`resetall

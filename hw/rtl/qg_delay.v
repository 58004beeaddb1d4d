`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * Fixed delay line: out = in delayed by DEPTH clock cycles (DEPTH = 0: a wire). No reset: carry data
 * here and qualify it with a separately reset valid bit.
 */
module qg_delay #
(
    parameter WIDTH = 8,    // bits carried
    parameter DEPTH = 1     // cycles of delay (>= 0)
)
(
    input  wire             clk,
    input  wire [WIDTH-1:0] in,
    output wire [WIDTH-1:0] out
);

initial begin
    if (WIDTH < 1 || DEPTH < 0) begin
        $error("Error: bad WIDTH/DEPTH (instance %m)");
        $finish;
    end
end

generate
    if (DEPTH == 0) begin : g_wire
        assign out = in;
        wire unused_clk = clk;
    end else begin : g_regs
        reg [WIDTH-1:0] stage_reg [0:DEPTH-1];
        integer k;
        initial begin
            for (k = 0; k < DEPTH; k = k + 1) begin
                stage_reg[k] = {WIDTH{1'b0}};
            end
        end
        always @(posedge clk) begin
            stage_reg[0] <= in;
            for (k = 1; k < DEPTH; k = k + 1) begin
                stage_reg[k] <= stage_reg[k-1];
            end
        end
        assign out = stage_reg[DEPTH-1];
    end
endgenerate

endmodule

`resetall

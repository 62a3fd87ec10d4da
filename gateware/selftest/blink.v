// blink: the smallest design the gateware flow builds, for the test of its timing check
// (gateware/selftest/board.json; ctest gateware_timing_check_fails): a counter on a LED.
module blink (
    input  wire CLK,
    output wire LEDG_N
);
    reg [23:0] count_q = 24'd0;
    always @(posedge CLK) begin
        count_q <= count_q + 24'd1;
    end
    assign LEDG_N = count_q[23];
endmodule

// kmrig_phy_rst_sync: an active-low reset for another clock domain: asserted asynchronously,
// released synchronously, two edges after rst_ni rises (docs/rtl.md, "PHYs").
module kmrig_phy_rst_sync (
    input  wire clk_i,
    input  wire rst_ni,
    output wire rst_no
);
    reg [1:0] q;

    always @(posedge clk_i or negedge rst_ni) begin
        if (!rst_ni)
            q <= 2'b00;
        else
            q <= {q[0], 1'b1};
    end

    assign rst_no = q[1];
endmodule

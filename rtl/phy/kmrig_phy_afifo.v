// kmrig_phy_afifo: a small asynchronous FIFO between two clock domains (docs/rtl.md, "PHYs").
//
// Gray-coded pointers, each crossing through a two-flop synchroniser; the memory is a register
// array with an asynchronous read, so the read side sees its head (r_data_o) in the cycle
// r_valid_o is set (show-ahead). Depth 2**AW. Each side sees the other's pointer two or three of
// its own edges late, so it is conservative: the writer may see the FIFO fuller, the reader
// emptier, than it is; never the other way round.
//
// w_free_o is the number of entries the writer may still push (from the synchronised read
// pointer). Both resets are asynchronous and active low; assert them together (the PHYs reset
// both sides from one reset through kmrig_phy_rst_sync).
module kmrig_phy_afifo #(
    parameter integer DW = 8,
    parameter integer AW = 4
) (
    input  wire          w_clk_i,
    input  wire          w_rst_ni,
    input  wire          w_valid_i,
    input  wire [DW-1:0] w_data_i,
    output wire          w_ready_o,
    output wire [AW:0]   w_free_o,

    input  wire          r_clk_i,
    input  wire          r_rst_ni,
    output wire          r_valid_o,
    output wire [DW-1:0] r_data_o,
    input  wire          r_pop_i
);
    localparam integer DEPTH = 1 << AW;

    reg [DW-1:0] mem_q [0:DEPTH-1];

    // write side
    reg  [AW:0] wbin_q, wgray_q;
    reg  [AW:0] rgray_w1_q, rgray_w2_q; // read pointer, synchronised into the write domain
    wire [AW:0] rbin_w = gray2bin(rgray_w2_q);
    wire [AW:0] wlevel = wbin_q - rbin_w;
    wire        wfull  = (wlevel == DEPTH[AW:0]);
    wire        wpush  = w_valid_i && !wfull;
    wire [AW:0] wbin_d = wbin_q + {{AW{1'b0}}, wpush};

    assign w_ready_o = !wfull;
    assign w_free_o  = DEPTH[AW:0] - wlevel;

    always @(posedge w_clk_i) begin
        if (wpush)
            mem_q[wbin_q[AW-1:0]] <= w_data_i;
    end

    always @(posedge w_clk_i or negedge w_rst_ni) begin
        if (!w_rst_ni) begin
            wbin_q     <= {(AW+1){1'b0}};
            wgray_q    <= {(AW+1){1'b0}};
            rgray_w1_q <= {(AW+1){1'b0}};
            rgray_w2_q <= {(AW+1){1'b0}};
        end else begin
            wbin_q     <= wbin_d;
            wgray_q    <= wbin_d ^ (wbin_d >> 1);
            rgray_w1_q <= rgray_q;
            rgray_w2_q <= rgray_w1_q;
        end
    end

    // read side
    reg  [AW:0] rbin_q, rgray_q;
    reg  [AW:0] wgray_r1_q, wgray_r2_q; // write pointer, synchronised into the read domain
    wire [AW:0] wbin_r = gray2bin(wgray_r2_q);
    wire        rempty = (wbin_r == rbin_q);
    wire        rpop   = r_pop_i && !rempty;
    wire [AW:0] rbin_d = rbin_q + {{AW{1'b0}}, rpop};

    assign r_valid_o = !rempty;
    assign r_data_o  = mem_q[rbin_q[AW-1:0]];

    always @(posedge r_clk_i or negedge r_rst_ni) begin
        if (!r_rst_ni) begin
            rbin_q     <= {(AW+1){1'b0}};
            rgray_q    <= {(AW+1){1'b0}};
            wgray_r1_q <= {(AW+1){1'b0}};
            wgray_r2_q <= {(AW+1){1'b0}};
        end else begin
            rbin_q     <= rbin_d;
            rgray_q    <= rbin_d ^ (rbin_d >> 1);
            wgray_r1_q <= wgray_q;
            wgray_r2_q <= wgray_r1_q;
        end
    end

    function [AW:0] gray2bin;
        input [AW:0] g;
        integer i;
        begin
            gray2bin[AW] = g[AW];
            for (i = AW - 1; i >= 0; i = i - 1)
                gray2bin[i] = gray2bin[i + 1] ^ g[i];
        end
    endfunction
endmodule

// kmrig_bridge_ram4: a byte-addressed RAM of 2**AW bytes built from four byte-lane block
// RAMs, so that up to four consecutive bytes at any byte address are written or read in one
// cycle (addresses wrap around: the command buffer is a ring). Synchronous read (one cycle of
// latency), which yosys maps onto SB_RAM40_4K.
//   write: wlen_i bytes (1..4) of wdata_i (byte 0 = wdata_i[7:0]) at waddr_i, waddr_i + 1, ...
//   read:  rdata_o holds the 4 bytes at raddr_i of the previous cycle, byte 0 in [7:0]
// Two promises make it smaller (each lane's address adder goes): W_ALIGNED = 1, every write is
// naturally aligned (wlen 1 anywhere, 2 at even, 4 at multiples of 4 addresses: it never
// crosses a word); R_BYTE = 1, only rdata_o[7:0] is used (reads of one byte).
module kmrig_bridge_ram4 #(
    parameter integer AW        = 12,
    parameter integer W_ALIGNED = 0,
    parameter integer R_BYTE    = 0
) (
    input  wire          clk_i,
    input  wire          we_i,
    input  wire [AW-1:0] waddr_i,
    input  wire [31:0]   wdata_i,
    input  wire [2:0]    wlen_i,
    input  wire [AW-1:0] raddr_i,
    output reg  [31:0]   rdata_o
);
    localparam integer DEPTH = 1 << (AW - 2);

    reg [1:0]  rlo_q;
    wire [31:0] lane_q;

    genvar j;
    generate
        for (j = 0; j < 4; j = j + 1) begin : g_lane
            reg [7:0] mem [0:DEPTH-1];
            reg [7:0] rd_q;
            localparam [1:0] LANE = j;
            // byte k of the access lands in lane (addr + k) & 3
            wire [1:0]    wk = LANE - waddr_i[1:0];
            wire [1:0]    rk = LANE - raddr_i[1:0];
            // the word of that byte (the low two bits are the lane itself)
            /* verilator lint_off UNUSEDSIGNAL */
            wire [AW-1:0] wa = (W_ALIGNED != 0) ? waddr_i : waddr_i + {{(AW-2){1'b0}}, wk};
            wire [AW-1:0] ra = (R_BYTE != 0) ? raddr_i : raddr_i + {{(AW-2){1'b0}}, rk};
            /* verilator lint_on UNUSEDSIGNAL */
            wire          wen = we_i && ({1'b0, wk} < wlen_i);
            always @(posedge clk_i) begin
                if (wen) begin
                    mem[wa[AW-1:2]] <= wdata_i[8*wk +: 8];
                end
                rd_q <= mem[ra[AW-1:2]];
            end
            assign lane_q[8*j +: 8] = rd_q;
        end
    endgenerate

    always @(posedge clk_i) begin
        rlo_q <= raddr_i[1:0];
    end

    // byte k of the result comes from lane (raddr + k) & 3
    genvar k;
    generate
        for (k = 0; k < 4; k = k + 1) begin : g_out
            localparam [1:0] K = k;
            wire [1:0] lane = rlo_q + K;
            always @(*) begin
                rdata_o[8*k +: 8] = lane_q[8*lane +: 8];
            end
        end
    endgenerate
endmodule

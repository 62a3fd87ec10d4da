// kmrig_bridge_dma: the DMA port of the bridge (docs/protocol.md, section 8; docs/rtl.md, "DMA
// port"). A Wishbone B4 classic slave for the SoC's bus-master peripherals: each cycle they
// present (one naturally aligned 1, 2 or 4-byte access at a 64-bit bus address) becomes one
// DMA_RD_REQ or DMA_WR_REQ to the host, with DMA tag 0 and the cycle's timestamp; the cycle
// ends when the answer arrives: ACK with the data for status OK, ERR for anything else.
//
// This engine keeps one request in flight (HELLO_RSP dma_tags = 1) and does not post writes:
// the peripheral's write cycle also waits for DMA_WR_RSP, so a DMA fault ends the very cycle
// that caused it, as on the transaction-level model. Requests never cross 4 KiB (they are at
// most 4 bytes, aligned). A request unanswered for DMA_TIMEOUT cycles ends its cycle with ERR
// and raises EVT_ERROR DMA_TIMEOUT (info = the tag); an answer arriving later is ignored.
// Before a successful HELLO (enable_i low) every cycle ends with ERR at once, no request sent.
module kmrig_bridge_dma #(
    parameter integer DMA_TIMEOUT = 1000000
) (
    input  wire        clk_i,
    input  wire        rst_ni,
    input  wire [31:0] tick_i,
    input  wire [63:0] ts_i,
    input  wire        enable_i,
    input  wire        reset_i,      // HELLO: frees the tag

    // Wishbone slave (the SoC's DMA port)
    input  wire        s_cyc_i,
    input  wire        s_stb_i,
    input  wire        s_we_i,
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire [63:0] s_adr_i,      // (bits 1:0 come from s_sel_i)
    /* verilator lint_on UNUSEDSIGNAL */
    input  wire [3:0]  s_sel_i,
    input  wire [31:0] s_dat_i,
    output reg  [31:0] s_dat_o,
    output reg         s_ack_o,
    output reg         s_err_o,

    // request descriptor for the transmitter
    output wire        req_valid_o,
    input  wire        req_ready_i,
    output wire        req_wr_o,
    output wire [63:0] req_addr_o,
    output wire [15:0] req_len_o,
    output wire [31:0] req_data_o,   // DMA_WR_REQ data, right-aligned
    output wire [63:0] req_ts_o,

    // answers from the receiver
    input  wire        ans_valid_i,
    input  wire        ans_wr_i,
    input  wire [7:0]  ans_tag_i,
    input  wire [7:0]  ans_status_i,
    input  wire [31:0] ans_data_i,

    output reg         tmo_o,        // EVT_ERROR DMA_TIMEOUT (one cycle)
    output wire        busy_o,       // a request is to be sent (waiting for the host is idle)
    output wire [31:0] next_o        // cycles until the timeout (for idle skipping)
);
    /* verilator lint_off UNUSEDPARAM */
`include "kmrig_proto.vh"
    /* verilator lint_on UNUSEDPARAM */

    localparam [1:0] S_IDLE = 2'd0;
    localparam [1:0] S_REQ  = 2'd1;
    localparam [1:0] S_WAIT = 2'd2;
    localparam [1:0] S_END  = 2'd3;

    reg [1:0]  st_q;
    reg        wr_q;
    reg [63:0] addr_q;
    reg [2:0]  len_q;
    reg [1:0]  lane_q;
    reg [31:0] data_q;
    reg [63:0] ts_q;
    reg [31:0] left_q;

    reg [2:0] size;
    reg [1:0] lane;
    always @(*) begin
        size = 3'd0;
        lane = 2'd0;
        case (s_sel_i)
        4'b0001: begin size = 3'd1; lane = 2'd0; end
        4'b0010: begin size = 3'd1; lane = 2'd1; end
        4'b0100: begin size = 3'd1; lane = 2'd2; end
        4'b1000: begin size = 3'd1; lane = 2'd3; end
        4'b0011: begin size = 3'd2; lane = 2'd0; end
        4'b1100: begin size = 3'd2; lane = 2'd2; end
        4'b1111: begin size = 3'd4; lane = 2'd0; end
        default: begin size = 3'd0; lane = 2'd0; end
        endcase
    end
    wire [31:0] mask = (len_q == 3'd4) ? 32'hFFFFFFFF : (len_q == 3'd2) ? 32'h0000FFFF
                                                                     : 32'h000000FF;

    assign req_valid_o = st_q == S_REQ;
    assign req_wr_o    = wr_q;
    assign req_addr_o  = addr_q;
    assign req_len_o   = {13'h0, len_q};
    assign req_data_o  = data_q;
    assign req_ts_o    = ts_q;
    assign busy_o      = (st_q == S_REQ) || (st_q == S_END) ||
                         (st_q == S_IDLE && s_cyc_i && s_stb_i);
    assign next_o      = (st_q == S_WAIT) ? ((left_q == 32'd0) ? 32'd1 : left_q) : 32'hFFFFFFFF;

    wire answered = ans_valid_i && ans_tag_i == 8'h00 && ans_wr_i == wr_q;

    always @(posedge clk_i or negedge rst_ni) begin
        if (!rst_ni) begin
            st_q    <= S_IDLE;
            wr_q    <= 1'b0;
            addr_q  <= 64'h0;
            len_q   <= 3'd0;
            lane_q  <= 2'd0;
            data_q  <= 32'h0;
            ts_q    <= 64'h0;
            left_q  <= 32'h0;
            s_dat_o <= 32'h0;
            s_ack_o <= 1'b0;
            s_err_o <= 1'b0;
            tmo_o   <= 1'b0;
        end else begin
            s_ack_o <= 1'b0;
            s_err_o <= 1'b0;
            tmo_o   <= 1'b0;
            case (st_q)
            S_IDLE: begin
                if (s_cyc_i && s_stb_i) begin
                    if (!enable_i || size == 3'd0) begin
                        s_err_o <= 1'b1;
                        st_q    <= S_END;
                    end else begin
                        wr_q   <= s_we_i;
                        addr_q <= {s_adr_i[63:2], lane};
                        len_q  <= size;
                        lane_q <= lane;
                        data_q <= (s_dat_i >> {lane, 3'b000}) &
                                  ((size == 3'd4) ? 32'hFFFFFFFF :
                                   (size == 3'd2) ? 32'h0000FFFF : 32'h000000FF);
                        ts_q   <= ts_i;
                        st_q   <= S_REQ;
                    end
                end
            end
            S_REQ: begin
                if (reset_i) begin
                    s_err_o <= 1'b1;
                    st_q    <= S_END;
                end else if (req_ready_i) begin
                    left_q <= DMA_TIMEOUT;
                    st_q   <= S_WAIT;
                end
            end
            S_WAIT: begin
                if (answered || reset_i) begin
                    if (answered && ans_status_i == KMRIG_PROTO_ST_OK) begin
                        s_ack_o <= 1'b1;
                        s_dat_o <= (ans_data_i & mask) << {lane_q, 3'b000};
                    end else begin
                        s_err_o <= 1'b1;
                    end
                    st_q <= S_END;
                end else if (left_q <= tick_i) begin
                    s_err_o <= 1'b1;
                    tmo_o   <= 1'b1;
                    st_q    <= S_END;
                end else begin
                    left_q <= left_q - tick_i;
                end
            end
            default: begin
                // the master takes ACK/ERR at this edge; what it presents next is a new cycle
                st_q <= S_IDLE;
            end
            endcase
        end
    end
endmodule

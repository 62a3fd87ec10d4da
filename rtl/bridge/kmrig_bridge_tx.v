// kmrig_bridge_tx: the transmitting half of the bridge frame engine (docs/protocol.md, 2, 5).
//
// Takes one frame descriptor at a time (load_i while idle_o) and sends the frame byte by byte
// to the PHY (valid/ready): the header with its CRC-16, the type's fixed body built from the
// descriptor fields, the variable data (read-burst and PING data from the transmit buffer,
// DMA_WR_REQ data from w2), and with pcrc_i the CRC-32 of everything before it. Frames are never
// interleaved (section 6, rule 2). Events (types 0x70..0x7F) get the event sequence number as
// their tag; hello_i restarts it at 0.
//
// Descriptor fields by type:
//   HELLO_RSP        status; everything else from the parameters
//   READ_RSP/RMW_RSP status, w0 = data, ts
//   WRITE_RSP, WRITE_BURST_RSP, IRQ_CTL_RSP, READ_BURST_RSP  status, count, ts (+ dlen bytes)
//   IRQ_QUERY_RSP    w0..w3 = pending, mask, mode, raw; ts
//   PING_RSP         ts (+ dlen bytes)
//   DMA_RD/WR_REQ    {w1, w0} = address, count = len, ts (+ len bytes of w2 for writes)
//   EVT_IRQ          w0[7:0] = line, status = state, w1 = active, ts
//   EVT_ERROR        status = code, count = info, w1 = dropped, ts
//   EVT_CREDIT       w1 = credits
//
// TS_W < 64: d_ts_i carries only the low TS_W bits of a timestamp (kmrig_bridge); the load
// rebuilds the full value from ts_i (the latest count with those low bits not in the future).
module kmrig_bridge_tx #(
    parameter integer TXB_AW      = 12,
    parameter integer TS_W        = 64,
    parameter [31:0]  CAPS        = 32'h0,
    parameter [31:0]  CLOCK_HZ    = 32'd50000000,
    parameter [31:0]  SOC_ID      = 32'h0,
    parameter [31:0]  SOC_VERSION = 32'h0,
    parameter [31:0]  BUILD_ID    = 32'h0,
    parameter [15:0]  CMD_CREDITS = 16'd8160,
    parameter [15:0]  MAX_PAYLOAD = 16'd4116,
    parameter [7:0]   DMA_TAGS    = 8'd1,
    parameter [7:0]   IRQ_LINES   = 8'd8,
    parameter [127:0] BOARD       = "sim",     // ASCII, sent NUL-padded
    parameter [255:0] BUILD       = "kmrig"
) (
    input  wire        clk_i,
    input  wire        rst_ni,
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire [63:0] ts_i,          // the device timestamp now (only with TS_W < 64)
    /* verilator lint_on UNUSEDSIGNAL */
    input  wire        pcrc_i,        // append a CRC-32 to every frame
    input  wire        hello_i,

    input  wire        load_i,
    input  wire [7:0]  d_type_i,
    input  wire [7:0]  d_tag_i,
    input  wire [7:0]  d_status_i,
    input  wire [15:0] d_count_i,
    input  wire [127:0] d_w_i,
    input  wire [63:0] d_ts_i,
    input  wire [12:0] d_dlen_i,
    input  wire        d_dsrc_i,      // data: 0 transmit buffer, 1 w2
    output wire        idle_o,
    output wire        txb_busy_o,    // sending data from the transmit buffer

    output wire [TXB_AW-1:0] txb_raddr_o,
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire [31:0] txb_rdata_i,   // (one byte at a time is enough)
    /* verilator lint_on UNUSEDSIGNAL */

    output wire        tx_valid_o,
    output reg  [7:0]  tx_data_o,
    input  wire        tx_ready_i
);
    /* verilator lint_off UNUSEDPARAM */
`include "kmrig_proto.vh"
    /* verilator lint_on UNUSEDPARAM */
`include "kmrig_bridge_crc.vh"

    // A string parameter as wire bytes: first character first, NUL-padded.
    function [255:0] wire_str;
        input [255:0] s;
        integer i, n;
        begin
            wire_str = 256'h0;
            n = 0;
            for (i = 31; i >= 0; i = i - 1) begin
                if (s[8*i +: 8] != 8'h00 || n != 0) begin
                    wire_str[8*n +: 8] = s[8*i +: 8];
                    n = n + 1;
                end
            end
        end
    endfunction

    localparam [255:0] BOARD_W = wire_str({128'h0, BOARD});
    localparam [255:0] BUILD_W = wire_str(BUILD);

    reg         busy_q;
    reg [7:0]   type_q, tag_q, status_q;
    reg [191:0] sh_q;       // the body (and w2's DMA_WR_REQ data after it), next byte in [7:0]
    reg [12:0]  dlen_q;
    reg         dsrc_q;
    reg         pcrc_q;
    reg [13:0]  p_q;
    reg [15:0]  crc16_q;
    reg [31:0]  crc32_q;
    reg [7:0]   evseq_q;
    reg [12:0]  rdidx_q;

    wire [63:0] d_ts;
    generate
        if (TS_W >= 64) begin : g_ts_full
            assign d_ts = d_ts_i;
        end else begin : g_ts_low
            /* verilator lint_off UNUSEDSIGNAL */
            wire [63:0] lo = d_ts_i;    // (bits above TS_W are 0)
            /* verilator lint_on UNUSEDSIGNAL */
            wire [63-TS_W:0] hi = ts_i[63:TS_W] -
                                  {{(63-TS_W){1'b0}}, lo[TS_W-1:0] > ts_i[TS_W-1:0]};
            assign d_ts = {hi, lo[TS_W-1:0]};
        end
    endgenerate

    reg [6:0]   blen;
    always @(*) begin
        case (type_q)
        KMRIG_PROTO_T_HELLO_RSP:     blen = 7'd84;
        KMRIG_PROTO_T_READ_RSP,
        KMRIG_PROTO_T_RMW_RSP,
        KMRIG_PROTO_T_EVT_IRQ,
        KMRIG_PROTO_T_EVT_ERROR:     blen = 7'd16;
        KMRIG_PROTO_T_IRQ_QUERY_RSP: blen = 7'd24;
        KMRIG_PROTO_T_PING_RSP:      blen = 7'd8;
        KMRIG_PROTO_T_DMA_RD_REQ,
        KMRIG_PROTO_T_DMA_WR_REQ:    blen = 7'd20;
        KMRIG_PROTO_T_EVT_CREDIT:    blen = 7'd4;
        default:                     blen = 7'd12; // WRITE_RSP, bursts, IRQ_CTL_RSP
        endcase
    end

    // The body of every type but HELLO_RSP is built once, when the descriptor is loaded, and
    // shifted out a byte at a time (no multiplexer over all the body's bytes); DMA_WR_REQ's data
    // bytes (w2) follow it in the same register. HELLO_RSP is constant but for its status byte.
    reg [191:0] sh_d;
    always @(*) begin
        sh_d = 192'h0;
        case (d_type_i)
        KMRIG_PROTO_T_HELLO_RSP:
            sh_d = 192'h0;
        KMRIG_PROTO_T_READ_RSP,
        KMRIG_PROTO_T_RMW_RSP:
            sh_d[127:0] = {d_ts, d_w_i[31:0], 24'h0, d_status_i};
        KMRIG_PROTO_T_IRQ_QUERY_RSP:
            sh_d = {d_ts, d_w_i};
        KMRIG_PROTO_T_PING_RSP:
            sh_d[63:0] = d_ts;
        KMRIG_PROTO_T_DMA_RD_REQ,
        KMRIG_PROTO_T_DMA_WR_REQ:
            sh_d = {d_w_i[95:64], d_ts, 16'h0, d_count_i, d_w_i[63:0]};
        KMRIG_PROTO_T_EVT_IRQ:
            sh_d[127:0] = {d_ts, d_w_i[63:32], 16'h0, d_status_i, d_w_i[7:0]};
        KMRIG_PROTO_T_EVT_ERROR:
            sh_d[127:0] = {d_ts, d_w_i[63:32], d_count_i, 8'h0, d_status_i};
        KMRIG_PROTO_T_EVT_CREDIT:
            sh_d[31:0] = d_w_i[63:32];
        default:
            sh_d[95:0] = {d_ts, d_count_i, 8'h0, d_status_i};
        endcase
    end

    localparam [671:0] HELLO_BODY = {BUILD_W, BOARD_W[127:0], 24'h0, DMA_TAGS, MAX_PAYLOAD,
                                     CMD_CREDITS, BUILD_ID, SOC_VERSION, SOC_ID, CLOCK_HZ, CAPS,
                                     IRQ_LINES, 8'h00, KMRIG_PROTO_VERSION_MINOR,
                                     KMRIG_PROTO_VERSION_MAJOR, KMRIG_PROTO_MAGIC};
    wire t_hello = type_q == KMRIG_PROTO_T_HELLO_RSP;

    wire [15:0] len    = {9'h0, blen} + {3'h0, dlen_q};
    wire [13:0] dstart = 14'd8 + {7'h0, blen};
    wire [13:0] cstart = dstart + {1'b0, dlen_q};
    wire [13:0] total  = cstart + (pcrc_q ? 14'd4 : 14'd0);
    wire [7:0]  flags  = {7'h00, pcrc_q};
    // offsets into the body, the data and the CRC (only their low bits select a byte)
    /* verilator lint_off UNUSEDSIGNAL */
    wire [13:0] bi     = p_q - 14'd8;
    wire [13:0] di     = p_q - dstart;
    wire [13:0] ci     = p_q - cstart;
    /* verilator lint_on UNUSEDSIGNAL */
    wire [31:0] crc32v = ~crc32_q;
    wire        in_data = p_q >= dstart && p_q < cstart;
    wire        avail   = !in_data || dsrc_q || rdidx_q == di[12:0];

    always @(*) begin
        tx_data_o = 8'h00;
        if (p_q < 14'd8) begin
            case (p_q[2:0])
            3'd0: tx_data_o = KMRIG_PROTO_SOF;
            3'd1: tx_data_o = type_q;
            3'd2: tx_data_o = flags;
            3'd3: tx_data_o = tag_q;
            3'd4: tx_data_o = len[7:0];
            3'd5: tx_data_o = len[15:8];
            3'd6: tx_data_o = crc16_q[7:0];
            default: tx_data_o = crc16_q[15:8];
            endcase
        end else if (p_q < dstart) begin
            if (!t_hello)
                tx_data_o = sh_q[7:0];
            else if (bi[6:0] == 7'd6)
                tx_data_o = status_q;
            else
                tx_data_o = HELLO_BODY[8*bi[6:0] +: 8];
        end else if (p_q < cstart) begin
            tx_data_o = dsrc_q ? sh_q[7:0] : txb_rdata_i[7:0];
        end else begin
            tx_data_o = crc32v[8*ci[1:0] +: 8];
        end
    end

    assign tx_valid_o = busy_q && avail;
    wire   adv        = tx_valid_o && tx_ready_i;
    wire [13:0] pn    = adv ? p_q + 14'd1 : p_q;
    /* verilator lint_off UNUSEDSIGNAL */
    wire [13:0] rdi   = pn - dstart;    // (data indices fit 13 bits)
    /* verilator lint_on UNUSEDSIGNAL */
    assign txb_raddr_o = rdi[TXB_AW-1:0];
    assign idle_o      = !busy_q;
    assign txb_busy_o  = busy_q && !dsrc_q && dlen_q != 13'd0;

    always @(posedge clk_i or negedge rst_ni) begin
        if (!rst_ni) begin
            busy_q   <= 1'b0;
            type_q   <= 8'h00;
            tag_q    <= 8'h00;
            status_q <= 8'h00;
            sh_q     <= 192'h0;
            dlen_q   <= 13'd0;
            dsrc_q   <= 1'b0;
            pcrc_q   <= 1'b0;
            p_q      <= 14'd0;
            crc16_q  <= 16'hFFFF;
            crc32_q  <= 32'hFFFFFFFF;
            evseq_q  <= 8'h00;
            rdidx_q  <= 13'h1FFF;
        end else begin
            rdidx_q <= rdi[12:0];
            if (hello_i) begin
                evseq_q <= 8'h00;
            end
            if (!busy_q) begin
                if (load_i) begin
                    busy_q   <= 1'b1;
                    type_q   <= d_type_i;
                    status_q <= d_status_i;
                    sh_q     <= sh_d;
                    dlen_q   <= d_dlen_i;
                    dsrc_q   <= d_dsrc_i;
                    pcrc_q   <= pcrc_i;
                    p_q      <= 14'd0;
                    crc16_q  <= 16'hFFFF;
                    crc32_q  <= 32'hFFFFFFFF;
                    if (d_type_i[7:4] == 4'h7) begin
                        tag_q   <= evseq_q;
                        evseq_q <= evseq_q + 8'd1;
                    end else begin
                        tag_q <= d_tag_i;
                    end
                end
            end else if (adv) begin
                p_q <= p_q + 14'd1;
                if (p_q >= 14'd8) begin
                    sh_q <= {8'h00, sh_q[191:8]};
                end
                if (p_q < 14'd6) begin
                    crc16_q <= crc16_byte(crc16_q, tx_data_o);
                end
                if (p_q < cstart) begin
                    crc32_q <= crc32_byte(crc32_q, tx_data_o);
                end
                if (p_q + 14'd1 == total) begin
                    busy_q <= 1'b0;
                end
            end
        end
    end
endmodule

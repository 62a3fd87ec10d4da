// kmrig_bridge_tx: the transmitting half of the bridge frame engine (docs/protocol.md, 2, 5).
//
// Takes one frame descriptor at a time (load_i while idle_o) and sends the frame byte by byte
// to the PHY (valid/ready): the header with its CRC-16, the type's fixed body, the variable data
// (read-burst and PING data from the transmit buffer, DMA_WR_REQ data from w2), and with pcrc_i
// the CRC-32 of everything before it. Frames are never interleaved (section 6, rule 2). Events
// (types 0x70..0x7F) get the event sequence number as their tag; hello_i restarts it at 0.
//
// Every body is its fields, then (all types but HELLO_RSP and EVT_CREDIT) the 8-byte timestamp.
// The descriptor carries the fields as they are sent (d_body_i, byte 0 in [7:0]; the type
// gives their length), so no multiplexer here lays them out:
//   HELLO_RSP        none (84 constant bytes from the parameters, with d_status_i at byte 6)
//   READ_RSP/RMW_RSP status, 3 zero bytes, w0 (8 bytes)
//   WRITE_RSP, WRITE_BURST_RSP, IRQ_CTL_RSP, READ_BURST_RSP  status, 0, count (4; + dlen bytes)
//   IRQ_QUERY_RSP    pending, mask, mode, raw (16)
//   PING_RSP         none (+ dlen bytes)
//   DMA_RD/WR_REQ    address (8), len, 2 zero bytes (12); w2 in [127:96] (+ len bytes of it)
//   EVT_IRQ          line, state, 2 zero bytes, active (8)
//   EVT_ERROR        code, 0, info, dropped (8)
//   EVT_CREDIT       credits (4)
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
    input  wire [7:0]  d_status_i,    // (HELLO_RSP's status)
    input  wire [127:0] d_body_i,     // the body's fields before the timestamp, then w2
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

    // A frame is sent in phases, each counted down by left_q from its length: the header (8
    // bytes), the body's fields before its timestamp (npre bytes, from sh_q; HELLO_RSP's 84
    // constant bytes), the timestamp (8 bytes, from ts_q), the data (dlen bytes: the transmit
    // buffer, or w2 from sh_q after the fields) and the CRC-32 (4 bytes with PCRC). An empty
    // phase is skipped. (No position register compared against the phases' ends.)
    localparam [2:0] P_HDR = 3'd0;
    localparam [2:0] P_PRE = 3'd1;
    localparam [2:0] P_TS  = 3'd2;
    localparam [2:0] P_DAT = 3'd3;
    localparam [2:0] P_CRC = 3'd4;

    reg         busy_q;
    reg [7:0]   type_q, tag_q, status_q;
    reg [127:0] sh_q;       // the body's fields before the timestamp, then w2's DMA_WR_REQ data
    reg [63:0]  ts_q;       // the timestamp, next byte in [7:0]
    reg [6:0]   npre_q;     // bytes in sh_q before the timestamp (HELLO_RSP: its whole body)
    reg         hts_q;      // the body has a timestamp
    reg [12:0]  dlen_q;
    reg         dsrc_q;
    reg         pcrc_q;
    reg [2:0]   ph_q;
    reg [12:0]  left_q;     // bytes left in the phase
    reg [12:0]  di_q;       // data bytes sent (HELLO_RSP: body bytes sent)
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

    // Each type's body: the fields before the timestamp (d_body_i, laid out by the frame's
    // source: loaded once and shifted out a byte at a time) and whether a timestamp follows;
    // DMA_WR_REQ's data bytes (w2) follow the fields in the same register. HELLO_RSP is
    // constant but for its status byte.
    reg [6:0]   npre_d;
    reg         hts_d;
    always @(*) begin
        npre_d = 7'd4;      // WRITE_RSP, bursts, IRQ_CTL_RSP
        hts_d  = 1'b1;
        case (d_type_i)
        KMRIG_PROTO_T_HELLO_RSP: begin
            npre_d = 7'd84;
            hts_d  = 1'b0;
        end
        KMRIG_PROTO_T_READ_RSP,
        KMRIG_PROTO_T_RMW_RSP,
        KMRIG_PROTO_T_EVT_IRQ,
        KMRIG_PROTO_T_EVT_ERROR:     npre_d = 7'd8;
        KMRIG_PROTO_T_IRQ_QUERY_RSP: npre_d = 7'd16;
        KMRIG_PROTO_T_PING_RSP:      npre_d = 7'd0;
        KMRIG_PROTO_T_DMA_RD_REQ,
        KMRIG_PROTO_T_DMA_WR_REQ:    npre_d = 7'd12;
        KMRIG_PROTO_T_EVT_CREDIT:    hts_d  = 1'b0;
        default: ;
        endcase
    end

    localparam [671:0] HELLO_BODY = {BUILD_W, BOARD_W[127:0], 24'h0, DMA_TAGS, MAX_PAYLOAD,
                                     CMD_CREDITS, BUILD_ID, SOC_VERSION, SOC_ID, CLOCK_HZ, CAPS,
                                     IRQ_LINES, 8'h00, KMRIG_PROTO_VERSION_MINOR,
                                     KMRIG_PROTO_VERSION_MAJOR, KMRIG_PROTO_MAGIC};
    wire t_hello = type_q == KMRIG_PROTO_T_HELLO_RSP;

    // HELLO_RSP's body as a ROM in a block RAM (no LUTs for its 84 constant bytes), read one
    // byte ahead of the byte sent, as the transmit buffer is
    (* rom_style = "block" *) reg [7:0] hello_rom [0:127];
    reg [7:0] hello_q;
    integer hb;
    initial begin
        for (hb = 0; hb < 128; hb = hb + 1) begin
            hello_rom[hb] = 8'h00;
        end
        for (hb = 0; hb < 84; hb = hb + 1) begin
            hello_rom[hb] = HELLO_BODY[8*hb +: 8];
        end
    end

    wire [15:0] len    = {9'h0, npre_q} + {12'h0, hts_q, 3'b000} + {3'h0, dlen_q};
    wire [7:0]  flags  = {7'h00, pcrc_q};
    wire [31:0] crc32v = ~crc32_q;
    wire        in_data = ph_q == P_DAT;
    wire        avail   = !in_data || dsrc_q || rdidx_q == di_q;

    always @(*) begin
        tx_data_o = 8'h00;
        case (ph_q)
        P_HDR: begin
            // (left_q counts 8 .. 1: byte 8 - left_q)
            case (left_q[2:0])
            3'd0: tx_data_o = KMRIG_PROTO_SOF;
            3'd7: tx_data_o = type_q;
            3'd6: tx_data_o = flags;
            3'd5: tx_data_o = tag_q;
            3'd4: tx_data_o = len[7:0];
            3'd3: tx_data_o = len[15:8];
            3'd2: tx_data_o = crc16_q[7:0];
            default: tx_data_o = crc16_q[15:8];
            endcase
        end
        P_PRE: begin
            if (!t_hello)
                tx_data_o = sh_q[7:0];
            else if (di_q[6:0] == 7'd6)
                tx_data_o = status_q;
            else
                tx_data_o = hello_q;
        end
        P_TS:
            tx_data_o = ts_q[7:0];
        P_DAT:
            tx_data_o = dsrc_q ? sh_q[7:0] : txb_rdata_i[7:0];
        default: begin
            // (left_q counts 4 .. 1: byte 4 - left_q)
            case (left_q[1:0])
            2'd0: tx_data_o = crc32v[7:0];
            2'd3: tx_data_o = crc32v[15:8];
            2'd2: tx_data_o = crc32v[23:16];
            default: tx_data_o = crc32v[31:24];
            endcase
        end
        endcase
    end

    assign tx_valid_o = busy_q && avail;
    wire   adv        = tx_valid_o && tx_ready_i;
    wire   last       = left_q == 13'd1;

    // the phase after the current one ends (the first that is not empty), or the frame's end
    reg [2:0]  ph_n;
    reg [12:0] left_n;
    reg        end_n;
    always @(*) begin
        ph_n   = P_CRC;
        left_n = 13'd4;
        end_n  = 1'b0;
        if (ph_q == P_HDR && npre_q != 7'd0) begin
            ph_n   = P_PRE;
            left_n = {6'h0, npre_q};
        end else if (ph_q <= P_PRE && hts_q) begin
            ph_n   = P_TS;
            left_n = 13'd8;
        end else if (ph_q <= P_TS && dlen_q != 13'd0) begin
            ph_n   = P_DAT;
            left_n = dlen_q;
        end else if (ph_q == P_CRC || !pcrc_q) begin
            end_n  = 1'b1;
        end
    end

    // the transmit buffer is read one cycle ahead: the data byte after the one sent now
    wire [12:0] di_n = (adv && (in_data || (ph_q == P_PRE && t_hello))) ? di_q + 13'd1 : di_q;
    assign txb_raddr_o = di_n[TXB_AW-1:0];
    always @(posedge clk_i) begin
        hello_q <= hello_rom[di_n[6:0]];
    end
    assign idle_o      = !busy_q;
    assign txb_busy_o  = busy_q && !dsrc_q && dlen_q != 13'd0;

    always @(posedge clk_i or negedge rst_ni) begin
        if (!rst_ni) begin
            busy_q   <= 1'b0;
            type_q   <= 8'h00;
            tag_q    <= 8'h00;
            status_q <= 8'h00;
            sh_q     <= 128'h0;
            ts_q     <= 64'h0;
            npre_q   <= 7'd0;
            hts_q    <= 1'b0;
            dlen_q   <= 13'd0;
            dsrc_q   <= 1'b0;
            pcrc_q   <= 1'b0;
            ph_q     <= P_HDR;
            left_q   <= 13'd8;
            di_q     <= 13'd0;
            crc16_q  <= 16'hFFFF;
            crc32_q  <= 32'hFFFFFFFF;
            evseq_q  <= 8'h00;
            rdidx_q  <= 13'h1FFF;
        end else begin
            rdidx_q <= di_n;
            if (hello_i) begin
                evseq_q <= 8'h00;
            end
            if (!busy_q) begin
                if (load_i) begin
                    busy_q   <= 1'b1;
                    type_q   <= d_type_i;
                    status_q <= d_status_i;
                    sh_q     <= d_body_i;
                    ts_q     <= d_ts;
                    npre_q   <= npre_d;
                    hts_q    <= hts_d;
                    dlen_q   <= d_dlen_i;
                    dsrc_q   <= d_dsrc_i;
                    pcrc_q   <= pcrc_i;
                    ph_q     <= P_HDR;
                    left_q   <= 13'd8;
                    di_q     <= 13'd0;
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
                di_q <= di_n;
                if (ph_q == P_PRE || ph_q == P_DAT) begin
                    sh_q <= {8'h00, sh_q[127:8]};
                end
                if (ph_q == P_TS) begin
                    ts_q <= {8'h00, ts_q[63:8]};
                end
                if (ph_q == P_HDR && (left_q[2:0] > 3'd2 || left_q[2:0] == 3'd0)) begin
                    crc16_q <= crc16_byte(crc16_q, tx_data_o);
                end
                if (ph_q != P_CRC) begin
                    crc32_q <= crc32_byte(crc32_q, tx_data_o);
                end
                if (last) begin
                    ph_q   <= ph_n;
                    left_q <= left_n;
                    if (end_n) begin
                        busy_q <= 1'b0;
                    end
                end else begin
                    left_q <= left_q - 13'd1;
                end
            end
        end
    end
endmodule

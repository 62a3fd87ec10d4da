// kmrig_bridge_exec: the command engine of the bridge (docs/protocol.md, sections 1, 5, 6, 9-11).
//
// Takes the host requests that kmrig_bridge_rx committed to the command ring, one at a time
// and in order, and executes each to completion before the next (section 6, rule 1): HELLO,
// READ, WRITE, READ_BURST and WRITE_BURST (incrementing or FIXED address, up to MAX_BURST
// bytes), RMW (CYC held across the read and the write, the B4 locked cycle), IRQ_CTL,
// IRQ_QUERY and PING. Bus requests become Wishbone B4 classic cycles on the SoC bus, one per
// element: byte address, I/O space as an address tag (io), data shifted onto the byte lanes of
// addr[1:0]. A cycle ends with ACK, ERR (status BUS) or, after BUS_TIMEOUT cycles without
// either, is abandoned (status TIMEOUT); a burst stops at its first failing element.
//
// The answer is a response descriptor for kmrig_bridge_tx (read-burst and PING data go to the
// transmit buffer first). Requests that fail validation are answered with status MALFORMED, an
// unknown type with EVT_ERROR MALFORMED; before a successful HELLO every request is answered
// NO_HELLO. Posted requests without the ACK flag are silent. A new request starts only when no
// interrupt event is waiting, so an EVT_IRQ caused by a request precedes the response to any
// later one (section 6, rule 4).
//
// Command credits (section 9): every frame taken out of the ring (HELLO excepted) adds its wire
// length to the unreported amount; an EVT_CREDIT is requested when that reaches a quarter of
// CMD_CREDITS, or when the ring is empty with credits unreported.
module kmrig_bridge_exec #(
    parameter integer RING_AW     = 13,
    parameter integer TXB_AW      = 12,
    parameter integer BUS_TIMEOUT = 4096,
    parameter integer CMD_CREDITS = 8160,
    parameter integer HAS_RMW     = 1       // 0: RMW is answered UNSUPPORTED (no CAP_RMW)
) (
    input  wire               clk_i,
    input  wire               rst_ni,
    input  wire [63:0]        ts_i,

    // command ring (kmrig_bridge_rx writes, this module reads)
    input  wire [RING_AW:0]   ring_wptr_i,
    output wire [RING_AW:0]   ring_rptr_o,
    output reg  [RING_AW-1:0] ring_raddr_o,
    input  wire [31:0]        ring_rdata_i,
    input  wire               ring_hold_i,   // the receiver wants the read port: start no read
    input  wire               skip_valid_i,  // a gap in the ring (kmrig_bridge_rx): at skip_at_i
    input  wire [RING_AW:0]   skip_at_i,     // the next frame is at skip_to_i
    input  wire [RING_AW:0]   skip_to_i,
    output reg                skip_pop_o,
    output wire               ring_idle_o,   // no read of ours is in flight

    // transmit buffer (read-burst and PING data)
    output reg                txb_we_o,
    output reg  [TXB_AW-1:0]  txb_waddr_o,
    output reg  [31:0]        txb_wdata_o,
    output reg  [2:0]         txb_wlen_o,
    input  wire               txb_busy_i,    // the transmitter still sends from the buffer

    // Wishbone B4 classic master
    output reg                m_cyc_o,
    output reg                m_stb_o,
    output reg                m_we_o,
    output reg                m_io_o,
    output reg  [31:0]        m_adr_o,
    output reg  [3:0]         m_sel_o,
    output reg  [31:0]        m_dat_o,
    input  wire [31:0]        m_dat_i,
    input  wire               m_ack_i,
    input  wire               m_err_i,

    // interrupt unit
    output reg                irq_ctl_valid_o,
    output wire [2:0]         irq_ctl_op_o,
    output wire [31:0]        irq_ctl_lines_o,
    input  wire [31:0]        irq_pending_i,
    input  wire [31:0]        irq_mask_i,
    input  wire [31:0]        irq_mode_i,
    input  wire [31:0]        irq_raw_i,
    input  wire               irq_evt_waiting_i,

    // response descriptor for the transmitter
    output reg                rsp_valid_o,
    input  wire               rsp_ready_i,
    output reg  [7:0]         rsp_type_o,
    output wire [7:0]         rsp_tag_o,
    output reg  [7:0]         rsp_status_o,
    output wire [127:0]       rsp_body_o,    // the body's fields before its timestamp
    output reg  [63:0]        rsp_ts_o,
    output reg  [12:0]        rsp_dlen_o,    // data bytes from the transmit buffer

    // hello state
    output reg                hello_o,       // a HELLO was accepted (pulse): resets sequences
    output wire               hello_ok_o,    // the last HELLO was accepted
    output wire [31:0]        host_caps_o,

    // EVT_ERROR (unknown type, malformed posted request)
    output reg                err_valid_o,
    output wire [15:0]        err_info_o,

    // EVT_CREDIT
    output wire               crd_valid_o,
    output wire [31:0]        crd_amount_o,
    input  wire               crd_ready_i,
    output wire               busy_o
);
    // The generated include carries every protocol constant; each module uses a few.
    /* verilator lint_off UNUSEDPARAM */
`include "kmrig_proto.vh"
    /* verilator lint_on UNUSEDPARAM */

    localparam [3:0] S_IDLE   = 4'd0;
    localparam [3:0] S_FETCH  = 4'd1;
    localparam [3:0] S_DECODE = 4'd2;
    localparam [3:0] S_ELEM   = 4'd3;
    localparam [3:0] S_WDAT   = 4'd4;
    localparam [3:0] S_BUS    = 4'd5;
    localparam [3:0] S_BDONE  = 4'd6;
    localparam [3:0] S_PING   = 4'd7;
    localparam [3:0] S_PINGW  = 4'd8;
    localparam [3:0] S_RSP    = 4'd9;
    localparam [3:0] S_FREE   = 4'd10;

    localparam [31:0] QUARTER = CMD_CREDITS / 4;

    reg [3:0]    st_q, st_d;
    reg [RING_AW:0] rptr_q, rptr_d;
    reg [2:0]    fcnt_q, fcnt_d;
    reg [223:0]  fb_q, fb_d;            // the frame's first 28 bytes, byte i in [8i +: 8]
    reg          hello_ok_q, hello_ok_d;
    reg [31:0]   caps_q, caps_d;
    reg [31:0]   unrep_q, unrep_d;      // credits not yet reported
    // bus sequencer
    reg [31:0]   addr_q, addr_d;
    reg [15:0]   done_q, done_d;        // elements done
    reg [RING_AW-1:0] dptr_q, dptr_d;   // the ring's read address: the frame's next word while
                                        // it is fetched, then its data (WRITE_BURST, PING)
    reg [TXB_AW:0] toff_q, toff_d;      // read data written to the transmit buffer
    reg          rmw_w_q, rmw_w_d;      // RMW: in the write phase
    reg [31:0]   rd_q, rd_d;            // last read value (right-aligned)
    reg [7:0]    status_q, status_d;
    reg [12:0]   tmo_q, tmo_d;
    reg [63:0]   bts_q, bts_d;          // when the last bus cycle ended
    reg [6:0]    pcnt_q, pcnt_d;        // PING bytes copied

    // the response's fields (the body is built from them below)
    reg [15:0]   rsp_count;
    reg [127:0]  rsp_w;                 // w0 in [31:0] .. w3 in [127:96]

    // header and body fields
    wire [7:0]  f_type  = fb_q[15:8];
    wire [7:0]  f_flags = fb_q[23:16];
    wire [7:0]  f_tag   = fb_q[31:24];
    wire [15:0] f_len   = fb_q[47:32];
    wire        f_pcrc  = f_flags[KMRIG_PROTO_FLAG_PCRC_BIT];
    wire        f_ack   = f_flags[KMRIG_PROTO_FLAG_ACK_BIT];
    wire [7:0]  b_attr  = fb_q[71:64];
    wire [15:0] b_count = fb_q[95:80];
    wire [31:0] b_addr  = fb_q[127:96];
    wire [31:0] b_w8    = fb_q[159:128];    // RMW mask, HELLO caps (WRITE data: read again)
    wire [31:0] b_w12   = fb_q[191:160];    // RMW value
    wire [31:0] b_magic = fb_q[95:64];
    wire [7:0]  b_vmaj  = fb_q[103:96];
    wire [7:0]  b_op    = fb_q[71:64];
    wire [31:0] b_lines = fb_q[127:96];

    wire        a_io    = b_attr[KMRIG_PROTO_ATTR_IO_SHIFT];
    wire [1:0]  a_lsz   = b_attr[KMRIG_PROTO_ATTR_SIZE_SHIFT +: 2];
    wire        a_fixed = b_attr[KMRIG_PROTO_ATTR_FIXED_SHIFT];
    wire [2:0]  a_size  = (a_lsz == 2'd0) ? 3'd1 : (a_lsz == 2'd1) ? 3'd2 : 3'd4;

    wire t_hello = f_type == KMRIG_PROTO_T_HELLO;
    wire t_read  = f_type == KMRIG_PROTO_T_READ;
    wire t_write = f_type == KMRIG_PROTO_T_WRITE;
    wire t_rb    = f_type == KMRIG_PROTO_T_READ_BURST;
    wire t_wb    = f_type == KMRIG_PROTO_T_WRITE_BURST;
    wire t_rmw   = (HAS_RMW != 0) && f_type == KMRIG_PROTO_T_RMW;
    wire t_unsup = (HAS_RMW == 0) && f_type == KMRIG_PROTO_T_RMW;
    wire t_ictl  = f_type == KMRIG_PROTO_T_IRQ_CTL;
    wire t_iq    = f_type == KMRIG_PROTO_T_IRQ_QUERY;
    wire t_ping  = f_type == KMRIG_PROTO_T_PING;
    wire t_burst = t_rb | t_wb;
    wire t_bus   = t_read | t_write | t_burst | t_rmw;
    wire t_known = t_hello | t_bus | t_ictl | t_iq | t_ping | t_unsup;
    wire t_wr    = t_write | t_wb;
    // requests that always answer, and posted ones that answer only with ACK
    wire wants_rsp = t_hello | t_read | t_rb | t_rmw | t_unsup | t_iq | t_ping |
                     (f_ack & (t_write | t_wb | t_ictl));

    // validation (section 5: attr, alignment, count, range, body length)
    wire [15:0] elems   = t_burst ? b_count : 16'd1;
    // (a_size is 1, 2 or 4: a shift by the log2 size, not a multiplier)
    wire [1:0]  a_shift = a_lsz[1] ? 2'd2 : a_lsz;
    wire [18:0] bytes   = {3'b000, elems} << a_shift;
    /* verilator lint_off UNUSEDSIGNAL */
    wire [18:0] span    = a_fixed ? {16'h0, a_size} : bytes;
    // the last byte touched, addr + span - 1 (span <= 4096 whenever count_ok holds): only its
    // low 16 bits are added; a carry out of them wraps the address space when addr[31:16] is
    // all ones, and leaves the 64 KiB I/O space when it is zero (the only I/O addresses)
    wire [16:0] last_lo = {1'b0, b_addr[15:0]} + {4'h0, span[12:0]} - 17'd1;
    wire        hi_ones = b_addr[31:16] == 16'hFFFF;
    wire        hi_zero = b_addr[31:16] == 16'h0000;
    /* verilator lint_on UNUSEDSIGNAL */
    wire        aligned = (a_size == 3'd1) | ((a_size == 3'd2) & ~b_addr[0]) |
                          ((a_size == 3'd4) & (b_addr[1:0] == 2'b00));
    wire        attr_ok = (b_attr[7:4] == 4'h0) && (a_lsz != 2'd3) && (!a_fixed || t_burst);
    wire        range_ok = !(hi_ones && last_lo[16]) && (!a_io || (hi_zero && !last_lo[16]));
    wire        count_ok = !t_burst || (b_count != 16'd0 && bytes <= 19'd4096);
    reg         len_ok;
    always @(*) begin
        len_ok = 1'b0;
        if (t_read | t_rb | t_ictl)  len_ok = f_len == 16'd8;
        if (t_write)                 len_ok = f_len == 16'd12;
        if (t_rmw)                   len_ok = f_len == 16'd16;
        if (t_iq)                    len_ok = f_len == 16'd0;
        if (t_ping)                  len_ok = f_len <= 16'd64;
        if (t_wb)                    len_ok = {3'b000, f_len} == 19'd8 + bytes;
        if (t_hello)                 len_ok = f_len == 16'd20;
    end
    wire bus_ok = attr_ok && aligned && range_ok && count_ok;
    wire req_ok = len_ok && (!t_bus || bus_ok) && (!t_ictl || b_op <= 8'd4);
    wire [1:0]  lane  = addr_q[1:0];
    wire [31:0] emask = (a_size == 3'd4) ? 32'hFFFFFFFF : (a_size == 3'd2) ? 32'h0000FFFF
                                                                       : 32'h000000FF;
    wire [3:0]  sel   = ((a_size == 3'd4) ? 4'hF : (a_size == 3'd2) ? 4'h3 : 4'h1) << lane;
    wire [31:0] rmw_new = (rd_q & ~b_w8) | (b_w12 & b_w8);

    assign ring_rptr_o     = rptr_q;
    assign rsp_tag_o       = f_tag;
    assign hello_ok_o      = hello_ok_q;
    assign host_caps_o     = caps_q;
    assign err_info_o      = {8'h00, f_type};
    assign irq_ctl_op_o    = b_op[2:0];
    assign irq_ctl_lines_o = b_lines;
    assign busy_o          = st_q != S_IDLE;
    assign ring_idle_o     = st_q != S_FETCH && st_q != S_WDAT && st_q != S_PINGW;

    wire ring_empty = rptr_q == ring_wptr_i;
    assign crd_valid_o  = hello_ok_q && unrep_q != 32'd0 &&
                          (unrep_q >= QUARTER || (ring_empty && st_q == S_IDLE));
    assign crd_amount_o = unrep_q;

    // Finish a request: answer it (if it wants an answer) or just free it.
    task automatic answer;
        input [7:0] typ;
        input [7:0] status;
        begin
            rsp_type_o   = typ;
            rsp_status_o = status;
            status_d     = status;
            st_d         = wants_rsp ? S_RSP : S_FREE;
        end
    endtask

    wire [2:0] fprev = fcnt_q - 3'd1;
    always @(*) begin
        st_d      = st_q;
        rptr_d    = rptr_q;
        fcnt_d    = fcnt_q;
        fb_d      = fb_q;
        hello_ok_d = hello_ok_q;
        caps_d    = caps_q;
        unrep_d   = unrep_q;
        addr_d    = addr_q;
        done_d    = done_q;
        dptr_d    = dptr_q;
        toff_d    = toff_q;
        rmw_w_d   = rmw_w_q;
        rd_d      = rd_q;
        status_d  = status_q;
        tmo_d     = tmo_q;
        bts_d     = bts_q;
        pcnt_d    = pcnt_q;
        // (one read address register for every ring read: no adders in front of the RAM)
        ring_raddr_o = dptr_q;
        txb_we_o  = 1'b0;
        txb_waddr_o = toff_q[TXB_AW-1:0];
        txb_wdata_o = rd_q;
        txb_wlen_o  = a_size;
        irq_ctl_valid_o = 1'b0;
        hello_o   = 1'b0;
        skip_pop_o = 1'b0;
        err_valid_o = 1'b0;
        rsp_valid_o = 1'b0;
        rsp_type_o  = f_type ^ 8'h40;
        rsp_status_o = status_q;
        rsp_count = done_q;
        rsp_w     = {96'h0, rd_q};
        rsp_ts_o    = bts_q;
        rsp_dlen_o  = 13'd0;

        if (crd_valid_o && crd_ready_i) begin
            unrep_d = 32'd0;
        end

        case (st_q)
        S_IDLE: begin
            if (skip_valid_i && rptr_q == skip_at_i) begin
                rptr_d     = skip_to_i;
                skip_pop_o = 1'b1;
            end else if (!ring_empty && !irq_evt_waiting_i && !ring_hold_i) begin
                st_d   = S_FETCH;
                fcnt_d = 3'd0;
                dptr_d = rptr_q[RING_AW-1:0];
            end
        end
        S_FETCH: begin
            // read the first 28 bytes, 4 per cycle (one cycle of RAM latency)
            if (fcnt_q != 3'd0) begin
                fb_d[32*fprev +: 32] = ring_rdata_i;
            end
            fcnt_d = fcnt_q + 3'd1;
            dptr_d = dptr_q + 4;
            if (fcnt_q == 3'd7) begin
                st_d = S_DECODE;
            end
        end
        S_DECODE: begin
            addr_d   = b_addr;
            done_d   = 16'd0;
            // the data: WRITE / WRITE_BURST's after the 16 bytes of header and body, PING's after 8
            dptr_d   = rptr_q[RING_AW-1:0] + {{(RING_AW-5){1'b0}}, !t_ping, t_ping, 3'b000};
            toff_d   = {(TXB_AW+1){1'b0}};
            rmw_w_d  = 1'b0;
            rd_d     = 32'h0;
            status_d = KMRIG_PROTO_ST_OK;
            bts_d    = ts_i;
            pcnt_d   = 7'd0;
            if (!t_known) begin
                err_valid_o = 1'b1;
                st_d        = S_FREE;
            end else if (t_hello) begin
                if (!len_ok || b_magic != KMRIG_PROTO_MAGIC) begin
                    err_valid_o = 1'b1;
                    st_d        = S_FREE;
                end else if (b_vmaj != KMRIG_PROTO_VERSION_MAJOR) begin
                    hello_ok_d = 1'b0;
                    answer(KMRIG_PROTO_T_HELLO_RSP, KMRIG_PROTO_HELLO_ST_VERSION);
                end else begin
                    hello_ok_d = 1'b1;
                    hello_o    = 1'b1;
                    caps_d     = b_w8;
                    unrep_d    = 32'd0;
                    answer(KMRIG_PROTO_T_HELLO_RSP, KMRIG_PROTO_HELLO_ST_OK);
                end
            end else if (!hello_ok_q) begin
                answer(f_type ^ 8'h40, KMRIG_PROTO_ST_NO_HELLO);
            end else if (t_unsup) begin
                answer(f_type ^ 8'h40, KMRIG_PROTO_ST_UNSUPPORTED);
            end else if (!req_ok) begin
                if (!wants_rsp) begin
                    err_valid_o = 1'b1;
                end
                answer(f_type ^ 8'h40, KMRIG_PROTO_ST_MALFORMED);
            end else if (t_bus) begin
                if ((t_rb || t_ping) && txb_busy_i) begin
                    st_d = S_DECODE; // the transmit buffer is still being sent
                end else begin
                    st_d = S_ELEM;
                end
            end else if (t_ictl) begin
                irq_ctl_valid_o = 1'b1;
                done_d          = 16'd1;
                answer(KMRIG_PROTO_T_IRQ_CTL_RSP, KMRIG_PROTO_ST_OK);
            end else if (t_iq) begin
                answer(KMRIG_PROTO_T_IRQ_QUERY_RSP, KMRIG_PROTO_ST_OK);
            end else begin // PING
                if (txb_busy_i) begin
                    st_d = S_DECODE;
                end else begin
                    st_d = S_PING;
                end
            end
        end
        S_ELEM: begin
            // a write's data is read from the ring (WRITE's 4 bytes at offset 16 as
            // WRITE_BURST's elements from there on): no register holds it
            if (t_wr) begin
                st_d         = ring_hold_i ? S_ELEM : S_WDAT;
            end else begin
                st_d = S_BUS;
            end
            tmo_d = 13'd0;
        end
        S_WDAT: begin
            dptr_d = dptr_q + {{(RING_AW-3){1'b0}}, a_size};
            st_d   = S_BUS;
        end
        S_BUS: begin
            tmo_d = tmo_q + 13'd1;
            if (m_ack_i || m_err_i || {19'h0, tmo_q} == BUS_TIMEOUT - 1) begin
                bts_d = ts_i;
                if (m_ack_i) begin
                    rd_d = rmw_w_q ? rd_q : (m_dat_i >> {lane, 3'b000}) & emask;
                end else begin
                    status_d = m_err_i ? KMRIG_PROTO_ST_BUS : KMRIG_PROTO_ST_TIMEOUT;
                end
                st_d = S_BDONE;
            end
        end
        S_BDONE: begin
            if (status_q != KMRIG_PROTO_ST_OK) begin
                if (t_rmw || t_read) begin
                    rd_d = 32'h0;
                end
                answer(f_type ^ 8'h40, status_q);
                rsp_dlen_o = toff_q[12:0];
            end else if (t_rmw && !rmw_w_q && b_w8 != 32'h0) begin
                rmw_w_d = 1'b1;
                tmo_d   = 13'd0;
                st_d    = S_BUS;
            end else begin
                if (t_rb) begin
                    txb_we_o = 1'b1;
                    toff_d   = toff_q + {{(TXB_AW-2){1'b0}}, a_size};
                end
                done_d = done_q + 16'd1;
                if (done_q + 16'd1 == elems) begin
                    answer(f_type ^ 8'h40, KMRIG_PROTO_ST_OK);
                end else begin
                    if (!a_fixed) begin
                        addr_d = addr_q + {29'h0, a_size};
                    end
                    st_d = S_ELEM;
                end
            end
        end
        S_PING: begin
            // copy the PING's data (at most 64 bytes) to the transmit buffer, 4 per cycle
            st_d = ({9'h0, pcnt_q} >= f_len) ? S_RSP : ring_hold_i ? S_PING : S_PINGW;
            rsp_type_o = KMRIG_PROTO_T_PING_RSP;
        end
        S_PINGW: begin
            txb_we_o    = 1'b1;
            txb_waddr_o = {{(TXB_AW-7){1'b0}}, pcnt_q};
            txb_wdata_o = ring_rdata_i;
            txb_wlen_o  = 3'd4;
            pcnt_d      = pcnt_q + 7'd4;
            dptr_d      = dptr_q + 4;
            st_d        = S_PING;
        end
        S_RSP: begin
            rsp_valid_o = 1'b1;
            if (t_hello) begin
                rsp_type_o   = KMRIG_PROTO_T_HELLO_RSP;
                rsp_status_o = hello_ok_q ? KMRIG_PROTO_HELLO_ST_OK : KMRIG_PROTO_HELLO_ST_VERSION;
            end else if (!hello_ok_q) begin
                rsp_status_o = KMRIG_PROTO_ST_NO_HELLO;
            end
            if (t_iq) begin
                rsp_w  = {irq_raw_i, irq_mode_i, irq_mask_i, irq_pending_i};
                rsp_ts_o = ts_i;
            end
            if (t_ping) begin
                rsp_dlen_o = f_len[12:0];
            end
            if (t_rb) begin
                rsp_dlen_o = toff_q[12:0];
            end
            if (t_ictl) begin
                rsp_count = (status_q == KMRIG_PROTO_ST_OK) ? 16'd1 : 16'd0;
            end
            if (rsp_ready_i) begin
                st_d = S_FREE;
            end
        end
        default: begin // S_FREE
            rptr_d = rptr_q + f_len[RING_AW:0] + 8;
            if (!t_hello) begin
                unrep_d = unrep_d + {16'h0, f_len} + 32'd8 + (f_pcrc ? 32'd4 : 32'd0);
            end
            st_d = S_IDLE;
        end
        endcase
    end

    // The response body as the transmitter sends it (fields before the timestamp, byte 0 in
    // [7:0]): READ_RSP / RMW_RSP status, 3 zero bytes, w0; IRQ_QUERY_RSP w0..w3; every other
    // response (WRITE_RSP, the bursts', IRQ_CTL_RSP) status, a zero byte, count. HELLO_RSP
    // and PING_RSP have no such fields. (Built here, so the transmitter takes every frame
    // source's body through one multiplexer in kmrig_bridge.)
    wire t_rw_rsp = t_read | (f_type == KMRIG_PROTO_T_RMW);
    assign rsp_body_o = t_iq ? rsp_w :
                        t_rw_rsp ? {64'h0, rsp_w[31:0], 24'h0, rsp_status_o} :
                        {96'h0, rsp_count, 8'h0, rsp_status_o};

    // The data of a write cycle (one shifter for its two sources): the RMW's new value, or a
    // WRITE / WRITE_BURST element from the ring; 0 for a read.
    wire        wr_cycle = (st_q == S_BDONE) || (st_q == S_WDAT);
    wire [31:0] wr_src   = (st_q == S_BDONE) ? rmw_new :
                           (st_q == S_WDAT) ? ring_rdata_i : 32'h0;

    // Wishbone outputs are registered: they follow the sequencer's state.
    always @(posedge clk_i or negedge rst_ni) begin
        if (!rst_ni) begin
            m_cyc_o <= 1'b0;
            m_stb_o <= 1'b0;
            m_we_o  <= 1'b0;
            m_io_o  <= 1'b0;
            m_adr_o <= 32'h0;
            m_sel_o <= 4'h0;
            m_dat_o <= 32'h0;
        end else begin
            if (st_d == S_BUS && st_q != S_BUS) begin
                // a new cycle (or the write half of an RMW, CYC still held)
                m_cyc_o <= 1'b1;
                m_stb_o <= 1'b1;
                m_io_o  <= a_io;
                m_adr_o <= addr_d;
                m_sel_o <= sel;
                m_we_o  <= wr_cycle;
                m_dat_o <= (wr_src & emask) << {lane, 3'b000};
            end else if (st_q == S_BUS && st_d != S_BUS) begin
                m_stb_o <= 1'b0;
                m_we_o  <= 1'b0;
                // RMW keeps CYC (the bus lock) between its read and its write
                m_cyc_o <= t_rmw && !rmw_w_q && m_ack_i && b_w8 != 32'h0;
            end
        end
    end

    always @(posedge clk_i or negedge rst_ni) begin
        if (!rst_ni) begin
            st_q       <= S_IDLE;
            rptr_q     <= {(RING_AW+1){1'b0}};
            fcnt_q     <= 3'd0;
            fb_q       <= 224'h0;
            hello_ok_q <= 1'b0;
            caps_q     <= 32'h0;
            unrep_q    <= 32'h0;
            addr_q     <= 32'h0;
            done_q     <= 16'h0;
            dptr_q     <= {RING_AW{1'b0}};
            toff_q     <= {(TXB_AW+1){1'b0}};
            rmw_w_q    <= 1'b0;
            rd_q       <= 32'h0;
            status_q   <= 8'h00;
            tmo_q      <= 13'd0;
            bts_q      <= 64'h0;
            pcnt_q     <= 7'd0;
        end else begin
            st_q       <= st_d;
            rptr_q     <= rptr_d;
            fcnt_q     <= fcnt_d;
            fb_q       <= fb_d;
            hello_ok_q <= hello_ok_d;
            caps_q     <= caps_d;
            unrep_q    <= unrep_d;
            addr_q     <= addr_d;
            done_q     <= done_d;
            dptr_q     <= dptr_d;
            toff_q     <= toff_d;
            rmw_w_q    <= rmw_w_d;
            rd_q       <= rd_d;
            status_q   <= status_d;
            tmo_q      <= tmo_d;
            bts_q      <= bts_d;
            pcnt_q     <= pcnt_d;
        end
    end
endmodule

// kmrig_bridge_rx: the receiving half of the bridge frame engine (docs/protocol.md, section 2).
//
// Takes one byte per cycle from the PHY (valid/ready) and finds frames: hunt for SOF, collect
// the 8-byte header, check it (CRC-16, type bit 7, flags bits 7:2, len <= MAX_PAYLOAD). A bad
// header drops only its SOF byte: the 7 bytes after it are searched again for the next SOF
// (they are replayed from the header register before new PHY bytes are taken). A sound frame's
// payload and its CRC-32 (flag PCRC) follow. Every frame that fits is written to the ring as it
// arrives, its CRC included, so a CRC failure also drops only the SOF: the frame's other bytes
// are read back from the ring (the PHY waits meanwhile) and searched again, so the good frame
// behind a truncated one is found (section 2). The ring's read port is borrowed from the
// executor for that (ring_req_o / ring_gnt_i). A frame found in read-back bytes stays where it
// is in the ring: its commit leaves a gap before it, which the executor skips (skip_*: up to
// SKIPS gaps outstanding; the read-back waits while the list is full). A failure inside the
// read-back restarts it at the failed frame's second byte, up to the end of everything
// received. A frame without room in the ring is dropped whole.
//
// RESCAN = 0 (a reduced build for a small FPGA) leaves the read-back out: a frame that fails
// its CRC-32 is dropped whole, as one without room is, so a good frame whose start lies inside
// a damaged one's claimed length is lost with it (the host's request times out and is
// reported; the next frame after the damaged span is found as usual). No ring read port
// borrowing and no gap list remain.
//
// Host requests go into the command ring (header and payload, without the CRC) as they arrive
// and are committed only when complete and checked: ring_wptr_o moves past the frame, and the
// executor (kmrig_bridge_exec) takes them from there. A frame that does not fit the free space
// is dropped with EVT_ERROR OVERFLOW. DMA answers (DMA_RD_RSP, DMA_WR_RSP) bypass the ring
// (section 6, rule 5): their status and up to 4 data bytes go straight to the DMA port.
//
// Also here: the host sequence check (section 4: a gap is EVT_ERROR SEQ, expected << 8 |
// received, and the count continues from the received tag; a HELLO restarts it), the
// REQUIRE_CRC rule (a frame without PCRC is dropped with NO_CRC), and the count of discarded
// bytes. A burst of bad headers is reported once, as MALFORMED with info 0, when the next sound
// header arrives.
module kmrig_bridge_rx #(
    parameter integer RING_AW     = 13,
    parameter integer REQUIRE_CRC = 0,
    parameter integer SKIPS       = 4,    // gaps outstanding, 2..7 (fewer: a read-back pauses sooner)
    parameter integer RESCAN      = 1     // 0: a CRC failure drops the whole frame (see below)
) (
    input  wire             clk_i,
    input  wire             rst_ni,

    input  wire             rx_valid_i,
    input  wire [7:0]       rx_data_i,
    output wire             rx_ready_o,

    output reg              ring_we_o,
    output reg  [RING_AW-1:0] ring_waddr_o,
    output wire [7:0]       ring_wdata_o,
    output wire [RING_AW:0] ring_wptr_o,   // committed write pointer (one wrap bit)
    input  wire [RING_AW:0] ring_rptr_i,   // the executor's read pointer
    output wire             ring_req_o,    // replaying: wants the ring's read port
    input  wire             ring_gnt_i,    // ... and has it this cycle
    output reg  [RING_AW-1:0] ring_raddr_o,
    input  wire [7:0]       ring_rdata_i,
    output wire             skip_valid_o,  // a gap in the ring: at skip_at_o, go on at skip_to_o
    output wire [RING_AW:0] skip_at_o,
    output wire [RING_AW:0] skip_to_o,
    input  wire             skip_pop_i,

    output reg              dans_valid_o,  // a DMA answer arrived intact (one cycle)
    output wire             dans_wr_o,     // 1: DMA_WR_RSP, 0: DMA_RD_RSP
    output wire [7:0]       dans_tag_o,
    output wire [7:0]       dans_status_o,
    output wire [31:0]      dans_data_o,   // DMA_RD_RSP data bytes 0..3 (byte 0 in [7:0])

    output reg              err_valid_o,   // an EVT_ERROR to report (one cycle)
    output reg  [7:0]       err_code_o,
    output reg  [15:0]      err_info_o,
    output wire [31:0]      dropped_o,     // bytes discarded so far (saturating)
    output wire             busy_o         // inside a frame or replaying
);
    // The generated include carries every protocol constant; each module uses a few.
    /* verilator lint_off UNUSEDPARAM */
`include "kmrig_proto.vh"
    /* verilator lint_on UNUSEDPARAM */
`include "kmrig_bridge_crc.vh"

    localparam [2:0] S_HUNT = 3'd0;
    localparam [2:0] S_HDR  = 3'd1;
    localparam [2:0] S_PAY  = 3'd2;
    localparam [2:0] S_CRC  = 3'd3;
    localparam [2:0] S_SKIP = 3'd4;

    localparam [RING_AW:0] RING_SIZE = 1 << RING_AW;
    localparam [15:0] MAX_PAYLOAD = KMRIG_PROTO_MAX_PAYLOAD[15:0];

    reg [2:0]   st_q, st_d;
    reg [63:0]  hdr_q, hdr_d;        // header bytes, byte i in [8i +: 8]
    reg [12:0]  cnt_q, cnt_d;        // index in the current section
    reg [15:0]  crc16_q, crc16_d;
    reg [31:0]  crc32_q, crc32_d;
    reg [55:0]  rp_q, rp_d;          // bytes to search again after a bad header
    reg [2:0]   rpn_q, rpn_d;
    reg         room_q, room_d;      // the ring had room for the header at SOF
    reg         dans_q, dans_d;      // this frame is a DMA answer
    reg [RING_AW:0] wptr_q, wptr_d;
    reg [12:0]  skip_q, skip_d;
    reg [7:0]   seq_q, seq_d;        // next expected host sequence number
    reg         seq_on_q, seq_on_d;  // a HELLO has set the sequence
    reg         garbage_q, garbage_d;
    reg [31:0]  dropped_q;
    reg [31:0]  drop_add;
    reg [39:0]  dans_q_data, dans_d_data; // status + 4 data bytes
    reg         keep_q, keep_d;      // the frame is in the ring, CRC included (rescannable)
    reg         rep_q, rep_d;        // replaying ring bytes
    reg [RING_AW:0] rsrc_q, rsrc_d;  // next ring byte to read back
    reg [RING_AW:0] rpos_q, rpos_d;  // the position of the byte read last cycle
    reg [12:0]  rleft_q, rleft_d;    // ring bytes still to read back
    reg         rpend_q, rpend_d;    // a ring byte read last cycle arrives now
    reg [RING_AW:0] base_q, base_d;  // where the current frame starts in the ring
    reg [RING_AW:0] rend_q, rend_d;  // the end of the bytes received into the ring
    // where the frame's next byte goes in the ring: the frame's bytes are written one after
    // the other from its start, so one incrementing address serves header, payload and CRC
    // (no base + offset adders)
    reg [RING_AW-1:0] wa_q, wa_d;

    // the list of gaps
    localparam [2:0]   SKIPS_FREE = SKIPS[2:0] - 3'd1; // room for the gap of a frame in progress
    reg [2*(RING_AW+1)*SKIPS-1:0] skl_q;
    reg [2:0]   skn_q;
    reg         skpush;
    wire [2:0]  skm1 = skn_q - 3'd1;
    assign skip_valid_o = (RESCAN != 0) && skn_q != 3'd0;
    assign skip_at_o    = skl_q[0 +: RING_AW+1];
    assign skip_to_o    = skl_q[RING_AW+1 +: RING_AW+1];

    wire       from_rp = rpn_q != 3'd0;
    wire       from_ring = !from_rp && rpend_q;
    wire       in_v    = from_rp | from_ring | (rx_valid_i & ~rep_q);
    wire [7:0] in_b    = from_rp ? rp_q[7:0] : from_ring ? ring_rdata_i : rx_data_i;
    assign rx_ready_o   = ~from_rp & ~rep_q;
    // (no request while the gap list is full: the executor must be free to empty it)
    assign ring_req_o   = rep_q & (skn_q < SKIPS_FREE);
    assign ring_wdata_o = in_b;
    assign ring_wptr_o  = wptr_q;
    assign dropped_o    = dropped_q;
    assign busy_o       = (st_q != S_HUNT) | from_rp | rep_q;

    wire [7:0]  h_type  = hdr_q[15:8];
    wire [7:0]  h_flags = hdr_q[23:16];
    wire [7:0]  h_tag   = hdr_q[31:24];
    wire [15:0] h_len   = hdr_q[47:32];
    wire        h_pcrc  = h_flags[KMRIG_PROTO_FLAG_PCRC_BIT];
    // (without the read-back a frame always starts at the commit point: base_q is wptr_q, and
    // the free space at SOF and for the whole frame are one subtraction)
    wire [RING_AW:0] used = ((RESCAN != 0) ? base_q : wptr_q) - ring_rptr_i;
    wire [RING_AW:0] free = RING_SIZE - used;   // from the frame's start on
    // Where a frame that starts with this byte is in the ring: a read-back byte is where it
    // was read; a header byte searched again during a read-back is where its header was
    // (base + 8 - rpn); anything else starts at the commit point (a header byte searched again
    // outside a read-back is copied back there, always to a lower address than it is read
    // from).
    wire [RING_AW:0] sof_at   = from_ring ? rpos_q :
                                (from_rp && rep_q && room_q) ? base_q + 8 - {{(RING_AW-2){1'b0}}, rpn_q} :
                                wptr_q;
    wire [RING_AW:0] sof_used = sof_at - ring_rptr_i;
    wire [RING_AW:0] sof_free = RING_SIZE - sof_used;

    assign dans_wr_o     = h_type == KMRIG_PROTO_T_DMA_WR_RSP;
    assign dans_tag_o    = h_tag;
    // (the answer completes on the edge that takes its last byte: pass the byte through)
    assign dans_status_o = dans_d_data[7:0];
    assign dans_data_o   = dans_d_data[39:8];

    // header fields as they are when the last header byte (in_b) arrives
    wire [7:0]  n_type  = hdr_q[15:8];
    wire [7:0]  n_flags = hdr_q[23:16];
    wire [15:0] n_len   = hdr_q[47:32];
    wire        n_pcrc  = n_flags[KMRIG_PROTO_FLAG_PCRC_BIT];
    wire        n_sound = ({in_b, hdr_q[55:48]} == crc16_q) && !n_type[7] &&
                          (n_flags[7:2] == 6'd0) && (n_len <= MAX_PAYLOAD);
    wire        n_dans  = (n_type == KMRIG_PROTO_T_DMA_RD_RSP) ||
                          (n_type == KMRIG_PROTO_T_DMA_WR_RSP);
    wire [16:0] n_need  = {1'b0, n_len} + 17'd8;
    wire [16:0] n_wire  = n_need + (n_pcrc ? 17'd4 : 17'd0);
    wire        n_fits  = room_q && ({{(16-RING_AW){1'b0}}, free} >= n_wire);

    // the ring position after the byte written now, and the end of the frame's bytes
    wire [RING_AW:0] ring_wend = {wptr_q[RING_AW] ^ (ring_waddr_o < wptr_q[RING_AW-1:0]),
                                  ring_waddr_o} + 1;
    /* verilator lint_off UNUSEDSIGNAL */
    wire [RING_AW:0] rend_last = ((ring_wend - wptr_q) > (rend_q - wptr_q)) ? ring_wend : rend_q;
    /* verilator lint_on UNUSEDSIGNAL */

    reg finish;      // the frame is complete and intact this cycle
    always @(*) begin
        st_d        = st_q;
        hdr_d       = hdr_q;
        cnt_d       = cnt_q;
        crc16_d     = crc16_q;
        crc32_d     = crc32_q;
        rp_d        = rp_q;
        rpn_d       = rpn_q;
        room_d      = room_q;
        dans_d      = dans_q;
        wptr_d      = wptr_q;
        skip_d      = skip_q;
        seq_d       = seq_q;
        seq_on_d    = seq_on_q;
        garbage_d   = garbage_q;
        dans_d_data = dans_q_data;
        keep_d      = keep_q;
        rep_d       = rep_q;
        rsrc_d      = rsrc_q;
        rpos_d      = rpos_q;
        rleft_d     = rleft_q;
        rpend_d     = 1'b0;
        base_d      = base_q;
        rend_d      = rend_q;
        skpush      = 1'b0;
        ring_raddr_o = rsrc_q[RING_AW-1:0];
        drop_add    = 32'd0;
        finish      = 1'b0;
        ring_we_o   = 1'b0;
        ring_waddr_o = wa_q;
        wa_d        = wa_q;
        dans_valid_o = 1'b0;
        err_valid_o = 1'b0;
        err_code_o  = 8'h00;
        err_info_o  = 16'h0000;

        if (in_v) begin
            if (from_rp) begin
                rp_d  = {8'h00, rp_q[55:8]};
                rpn_d = rpn_q - 3'd1;
            end
            case (st_q)
            S_HUNT: begin
                if (in_b == KMRIG_PROTO_SOF) begin
                    st_d    = S_HDR;
                    hdr_d   = {56'h0, in_b};
                    cnt_d   = 13'd1;
                    crc16_d = crc16_byte(16'hFFFF, in_b);
                    crc32_d = crc32_byte(32'hFFFFFFFF, in_b);
                    // a frame from the PHY starts at the commit point; one found in read-back
                    // bytes starts where it is
                    base_d  = sof_at;
                    room_d  = sof_free >= 8;
                    ring_we_o    = sof_free >= 8;
                    ring_waddr_o = sof_at[RING_AW-1:0];
                    wa_d         = sof_at[RING_AW-1:0] + 1;
                end else begin
                    drop_add = 32'd1;
                end
            end
            S_HDR: begin
                hdr_d[8*cnt_q[2:0] +: 8] = in_b;
                if (cnt_q < 13'd6) begin
                    crc16_d = crc16_byte(crc16_q, in_b);
                end
                crc32_d   = crc32_byte(crc32_q, in_b);
                ring_we_o = room_q;
                wa_d      = wa_q + 1;
                cnt_d     = cnt_q + 13'd1;
                if (cnt_q == 13'd7) begin
                    cnt_d = 13'd0;
                    if (!n_sound) begin
                        // drop the SOF only; search the 7 bytes after it again
                        st_d      = S_HUNT;
                        rp_d      = {in_b, hdr_q[55:8]};
                        rpn_d     = 3'd7;
                        drop_add  = 32'd1;
                        garbage_d = 1'b1;
                    end else if (REQUIRE_CRC != 0 && !n_pcrc) begin
                        err_valid_o = 1'b1;
                        err_code_o  = KMRIG_PROTO_EV_ERR_NO_CRC;
                        err_info_o  = {8'h00, n_type};
                        drop_add    = {15'h0, n_wire};
                        skip_d      = n_len[12:0];
                        st_d        = (n_len == 16'd0) ? S_HUNT : S_SKIP;
                    end else if (!n_dans && !n_fits) begin
                        err_valid_o = 1'b1;
                        err_code_o  = KMRIG_PROTO_EV_ERR_OVERFLOW;
                        err_info_o  = {8'h00, n_type};
                        drop_add    = {15'h0, n_wire};
                        skip_d      = n_wire[12:0] - 13'd8;
                        st_d        = (n_wire == 17'd8) ? S_HUNT : S_SKIP;
                    end else begin
                        dans_d      = n_dans;
                        dans_d_data = 40'h0;
                        keep_d      = n_fits;
                        if (n_len != 16'd0) begin
                            st_d = S_PAY;
                        end else if (n_pcrc) begin
                            st_d = S_CRC;
                        end else begin
                            st_d   = S_HUNT;
                            finish = 1'b1;
                        end
                        if (garbage_q) begin
                            // one report for the garbage before this sound frame
                            err_valid_o = 1'b1;
                            err_code_o  = KMRIG_PROTO_EV_ERR_MALFORMED;
                            garbage_d   = 1'b0;
                        end
                    end
                end
            end
            S_PAY: begin
                crc32_d = crc32_byte(crc32_q, in_b);
                if (dans_q) begin
                    if (cnt_q == 13'd0) begin
                        dans_d_data[7:0] = in_b;
                    end else if (cnt_q >= 13'd4 && cnt_q < 13'd8) begin
                        dans_d_data[8 + 8*(cnt_q[1:0]) +: 8] = in_b;
                    end
                end
                ring_we_o = keep_q;
                wa_d      = wa_q + 1;
                cnt_d = cnt_q + 13'd1;
                if ({3'b000, cnt_q} == h_len - 16'd1) begin
                    cnt_d = 13'd0;
                    if (h_pcrc) begin
                        st_d = S_CRC;
                    end else begin
                        st_d   = S_HUNT;
                        finish = 1'b1;
                    end
                end
            end
            S_CRC: begin
                // the CRC-32 runs on over the received CRC: a frame is intact when the
                // register then holds the CRC-32 residue (no register for the received CRC)
                crc32_d = crc32_byte(crc32_q, in_b);
                cnt_d   = cnt_q + 13'd1;
                ring_we_o = keep_q;
                wa_d      = wa_q + 1;
                if (cnt_q == 13'd3) begin
                    cnt_d = 13'd0;
                    st_d  = S_HUNT;
                    if (crc32_d == 32'hDEBB20E3) begin
                        finish = 1'b1;
                    end else begin
                        err_valid_o = 1'b1;
                        err_code_o  = KMRIG_PROTO_EV_ERR_CRC;
                        err_info_o  = {8'h00, h_type};
                        if (keep_q && RESCAN != 0) begin
                            // drop the SOF; search everything after it again from the ring
                            drop_add = 32'd1;
                            rep_d    = 1'b1;
                            rsrc_d   = base_q + 1;
                            rleft_d  = rend_last[12:0] - base_q[12:0] - 13'd1;
                        end else begin
                            drop_add = 32'd12 + {16'h0, h_len};
                        end
                    end
                end
            end
            default: begin // S_SKIP
                skip_d = skip_q - 13'd1;
                if (skip_q == 13'd1) begin
                    st_d = S_HUNT;
                end
            end
            endcase
        end

        // keep the end of what the ring holds
        if (ring_we_o && (ring_wend - wptr_q) > (rend_q - wptr_q)) begin
            rend_d = ring_wend;
        end

        // read the next ring byte back (never while header bytes are being searched again,
        // which come first; never when a frame found now could not record its gap)
        if (rep_d) begin
            ring_raddr_o = rsrc_d[RING_AW-1:0];
            if (rleft_d != 13'd0 && rpn_d == 3'd0 && ring_gnt_i && skn_q < SKIPS_FREE) begin
                rpend_d = 1'b1;
                rpos_d  = rsrc_d;
                rsrc_d  = rsrc_d + 1;
                rleft_d = rleft_d - 13'd1;
            end
            if (rleft_d == 13'd0 && !rpend_d) begin
                rep_d = 1'b0;
            end
        end

        if (finish) begin
            if (dans_q || (st_q == S_HDR && n_dans)) begin
                dans_valid_o = 1'b1;
            end else begin
                wptr_d = base_q + n_need[RING_AW:0];
                skpush = (RESCAN != 0) && base_q != wptr_q;
                // host requests carry the host's sequence number
                if (hdr_q[15:8] == KMRIG_PROTO_T_HELLO) begin
                    seq_d    = hdr_q[31:24] + 8'd1;
                    seq_on_d = 1'b1;
                end else if (hdr_q[15:13] == 3'b000) begin
                    seq_d = hdr_q[31:24] + 8'd1;
                    if (seq_on_q && hdr_q[31:24] != seq_q && !err_valid_o) begin
                        err_valid_o = 1'b1;
                        err_code_o  = KMRIG_PROTO_EV_ERR_SEQ;
                        err_info_o  = {seq_q, hdr_q[31:24]};
                    end
                end
            end
        end
    end

    always @(posedge clk_i or negedge rst_ni) begin
        if (!rst_ni) begin
            st_q        <= S_HUNT;
            hdr_q       <= 64'h0;
            cnt_q       <= 13'd0;
            crc16_q     <= 16'hFFFF;
            crc32_q     <= 32'hFFFFFFFF;
            rp_q        <= 56'h0;
            rpn_q       <= 3'd0;
            room_q      <= 1'b0;
            dans_q      <= 1'b0;
            wptr_q      <= {(RING_AW+1){1'b0}};
            skip_q      <= 13'd0;
            seq_q       <= 8'h00;
            seq_on_q    <= 1'b0;
            garbage_q   <= 1'b0;
            dropped_q   <= 32'h0;
            dans_q_data <= 40'h0;
            keep_q      <= 1'b0;
            rep_q       <= 1'b0;
            rsrc_q      <= {(RING_AW+1){1'b0}};
            rpos_q      <= {(RING_AW+1){1'b0}};
            rleft_q     <= 13'd0;
            rpend_q     <= 1'b0;
            base_q      <= {(RING_AW+1){1'b0}};
            rend_q      <= {(RING_AW+1){1'b0}};
            wa_q        <= {RING_AW{1'b0}};
            skl_q       <= {(2*(RING_AW+1)*SKIPS){1'b0}};
            skn_q       <= 3'd0;
        end else begin
            st_q        <= st_d;
            hdr_q       <= hdr_d;
            cnt_q       <= cnt_d;
            crc16_q     <= crc16_d;
            crc32_q     <= crc32_d;
            rp_q        <= rp_d;
            rpn_q       <= rpn_d;
            room_q      <= room_d;
            dans_q      <= dans_d;
            wptr_q      <= wptr_d;
            skip_q      <= skip_d;
            seq_q       <= seq_d;
            seq_on_q    <= seq_on_d;
            garbage_q   <= garbage_d;
            dans_q_data <= dans_d_data;
            keep_q      <= keep_d;
            rep_q       <= (RESCAN != 0) && rep_d;
            rsrc_q      <= rsrc_d;
            rpos_q      <= rpos_d;
            rleft_q     <= rleft_d;
            rpend_q     <= (RESCAN != 0) && rpend_d;
            base_q      <= base_d;
            wa_q        <= wa_d;
            rend_q      <= (st_d == S_HUNT && !rep_d) ? wptr_d : rend_d;
            // the gap list: pop the head, push {to = the frame's start, at = the old commit}
            if (skip_pop_i && skn_q != 3'd0) begin
                skl_q <= skl_q >> (2 * (RING_AW + 1));
                if (skpush) begin
                    skl_q[2*(RING_AW+1)*skm1 +: 2*(RING_AW+1)] <= {base_q, wptr_q};
                end
                skn_q <= skn_q - 3'd1 + {2'b00, skpush};
            end else if (skpush) begin
                skl_q[2*(RING_AW+1)*skn_q +: 2*(RING_AW+1)] <= {base_q, wptr_q};
                skn_q <= skn_q + 3'd1;
            end
            if (dropped_q + drop_add < dropped_q) begin
                dropped_q <= 32'hFFFFFFFF;
            end else begin
                dropped_q <= dropped_q + drop_add;
            end
        end
    end
endmodule

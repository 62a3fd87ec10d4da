// kmrig_bridge: the bridge frame engine (docs/protocol.md; docs/rtl.md, "Bridge").
//
// Between a byte-stream PHY (valid/ready in each direction) and the SoC: a Wishbone B4 classic
// master on the SoC bus, a Wishbone slave for the SoC's DMA port, and the interrupt lines.
//   kmrig_bridge_rx    framing, CRCs, resynchronisation, command ring, DMA answers, sequence
//   kmrig_bridge_exec  executes host requests on the bus, answers them, counts credits
//   kmrig_bridge_irq   the interrupt unit (EVT_IRQ, IRQ_CTL, IRQ_QUERY)
//   kmrig_bridge_dma   DMA port cycles to DMA_RD_REQ / DMA_WR_REQ and back
//   kmrig_bridge_tx    frames out, one at a time
// Device frames are sent in this order of priority when the transmitter is free: DMA requests
// (so a DMA write precedes the interrupt it caused, section 6 rule 3), responses, EVT_IRQ,
// EVT_ERROR, EVT_CREDIT. Only one EVT_ERROR waits at a time: a newer error replaces an unsent
// one (the dropped-byte count still counts everything).
//
// tick_i / next_event_o follow the SoC's simulation-port contract (docs/rtl.md): next_event_o
// is 1 while anything moves in the engine, the DMA timeout's distance while a DMA request waits
// for the host, else all ones.
//
// A reduced build (a small FPGA) leaves out what its SoC does not need: HAS_DMA = 0 drops the
// DMA port (an SoC without DMA masters; a cycle on s_* ends with ERR at once) and HAS_RMW = 0
// the RMW request; HELLO_RSP's caps then lack DMA / RMW, and an RMW is answered UNSUPPORTED.
// TS_W < 64 carries only the low TS_W bits of the device timestamp through the engine (the
// interrupt unit's per-line stamps, the bus cycle and error times) and rebuilds the 64-bit value
// when a frame is loaded into the transmitter: the latest count with those low bits that is not
// in the future. Exact while a stamp is sent within 2**TS_W cycles of the moment it records (at
// 32 bits and 24 MHz: 178 s; an interrupt held masked longer reports a later time).
module kmrig_bridge #(
    parameter integer RING_AW      = 13,        // command ring: 8 KiB
    parameter integer TXB_AW       = 12,        // transmit buffer: 4 KiB
    parameter integer REQUIRE_CRC  = 0,         // 1 on links that corrupt (UART)
    parameter integer VIRTUAL_TIME = 0,         // 1 on the Verilator model
    parameter integer BUS_TIMEOUT  = 4096,
    parameter integer DMA_TIMEOUT  = 1000000,
    parameter integer IRQ_N        = 8,
    parameter integer TS_W         = 64,        // timestamp bits carried inside (see above)
    parameter integer SKIPS        = 4,         // receiver's gap list (kmrig_bridge_rx), 2..7
    parameter integer RESCAN       = 1,         // 0: no read-back after a CRC failure (kmrig_bridge_rx)
    parameter integer HAS_DMA      = 1,         // 0: no DMA port (its cycles end with ERR), no CAP_DMA
    parameter integer HAS_RMW      = 1,         // 0: RMW answered UNSUPPORTED, no CAP_RMW
    parameter [31:0]  CLOCK_HZ     = 32'd50000000,
    parameter [31:0]  SOC_ID       = 32'h0,
    parameter [31:0]  SOC_VERSION  = 32'h0,
    parameter [31:0]  BUILD_ID     = 32'h0,
    parameter [127:0] BOARD        = "sim",
    parameter [255:0] BUILD        = "kmrig"
) (
    input  wire        clk_i,
    input  wire        rst_ni,
    input  wire [31:0] tick_i,
    input  wire [63:0] ts_i,

    input  wire        rx_valid_i,
    input  wire [7:0]  rx_data_i,
    output wire        rx_ready_o,
    output wire        tx_valid_o,
    output wire [7:0]  tx_data_o,
    input  wire        tx_ready_i,

    output wire        m_cyc_o,
    output wire        m_stb_o,
    output wire        m_we_o,
    output wire        m_io_o,
    output wire [31:0] m_adr_o,
    output wire [3:0]  m_sel_o,
    output wire [31:0] m_dat_o,
    input  wire [31:0] m_dat_i,
    input  wire        m_ack_i,
    input  wire        m_err_i,

    input  wire        s_cyc_i,
    input  wire        s_stb_i,
    input  wire        s_we_i,
    input  wire [63:0] s_adr_i,
    input  wire [3:0]  s_sel_i,
    input  wire [31:0] s_dat_i,
    output wire [31:0] s_dat_o,
    output wire        s_ack_o,
    output wire        s_err_o,

    input  wire [IRQ_N-1:0] irq_i,
    output wire [31:0] next_event_o
);
    /* verilator lint_off UNUSEDPARAM */
`include "kmrig_proto.vh"
    /* verilator lint_on UNUSEDPARAM */

    localparam integer CMD_CREDITS_N = (1 << RING_AW) - KMRIG_PROTO_HELLO_RESERVE;
    localparam [15:0]  CMD_CREDITS   = CMD_CREDITS_N[15:0];
    localparam [31:0] CAPS =
        (32'd1 << KMRIG_PROTO_CAP_BURST_BIT) | (32'd1 << KMRIG_PROTO_CAP_BURST_FIXED_BIT) |
        ((HAS_RMW != 0) ? (32'd1 << KMRIG_PROTO_CAP_RMW_BIT) : 32'd0) |
        (32'd1 << KMRIG_PROTO_CAP_IRQ_BIT) |
        ((HAS_DMA != 0) ? (32'd1 << KMRIG_PROTO_CAP_DMA_BIT) : 32'd0) |
        (32'd1 << KMRIG_PROTO_CAP_IO_SPACE_BIT) |
        ((REQUIRE_CRC != 0) ? (32'd1 << KMRIG_PROTO_CAP_CRC_REQUIRED_BIT) : 32'd0) |
        ((VIRTUAL_TIME != 0) ? (32'd1 << KMRIG_PROTO_CAP_VIRTUAL_TIME_BIT) : 32'd0);

    // the timestamp as carried inside: bits above TS_W are 0 (constant, so synthesis drops
    // every register bit that would hold them)
    localparam [63:0] TS_MASK = (TS_W >= 64) ? {64{1'b1}} : ((64'd1 << TS_W) - 64'd1);
    wire [63:0] ts_w = ts_i & TS_MASK;

    // ---- command ring ----
    wire               ring_we;
    wire [RING_AW-1:0] ring_waddr;
    wire [7:0]         ring_wdata;
    wire [RING_AW:0]   ring_wptr;
    wire [RING_AW:0]   ring_rptr;
    wire [RING_AW-1:0] ring_raddr;
    wire [RING_AW-1:0] ex_raddr;
    wire [RING_AW-1:0] rx_raddr;
    wire [31:0]        ring_rdata;
    wire               ring_req;
    wire               ring_idle;
    // the receiver borrows the read port to search a damaged frame again
    wire               ring_gnt = ring_req & ring_idle;
    assign ring_raddr = ring_gnt ? rx_raddr : ex_raddr;
    wire               skip_valid;
    wire [RING_AW:0]   skip_at;
    wire [RING_AW:0]   skip_to;
    wire               skip_pop;

    // (the receiver writes one byte at a time; the executor reads 4 at any address)
    kmrig_bridge_ram4 #(
        .AW        (RING_AW),
        .W_ALIGNED (1),
        .R_BYTE    (0)
    ) u_ring (
        .clk_i   (clk_i),
        .we_i    (ring_we),
        .waddr_i (ring_waddr),
        .wdata_i ({24'h0, ring_wdata}),
        .wlen_i  (3'd1),
        .raddr_i (ring_raddr),
        .rdata_o (ring_rdata)
    );

    // ---- transmit buffer ----
    wire              txb_we;
    wire [TXB_AW-1:0] txb_waddr;
    wire [31:0]       txb_wdata;
    wire [2:0]        txb_wlen;
    wire [TXB_AW-1:0] txb_raddr;
    wire [31:0]       txb_rdata;
    wire              txb_busy;

    // (the executor writes naturally aligned elements and PING words; the transmitter reads
    // one byte at a time)
    kmrig_bridge_ram4 #(
        .AW        (TXB_AW),
        .W_ALIGNED (1),
        .R_BYTE    (1)
    ) u_txb (
        .clk_i   (clk_i),
        .we_i    (txb_we),
        .waddr_i (txb_waddr),
        .wdata_i (txb_wdata),
        .wlen_i  (txb_wlen),
        .raddr_i (txb_raddr),
        .rdata_o (txb_rdata)
    );

    // ---- receiver ----
    wire        dans_valid;
    wire        dans_wr;
    wire [7:0]  dans_tag;
    wire [7:0]  dans_status;
    wire [31:0] dans_data;
    wire        rx_err;
    wire [7:0]  rx_err_code;
    wire [15:0] rx_err_info;
    wire [31:0] dropped;
    wire        rx_busy;

    kmrig_bridge_rx #(
        .RING_AW     (RING_AW),
        .REQUIRE_CRC (REQUIRE_CRC),
        .SKIPS       (SKIPS),
        .RESCAN      (RESCAN)
    ) u_rx (
        .clk_i         (clk_i),
        .rst_ni        (rst_ni),
        .rx_valid_i    (rx_valid_i),
        .rx_data_i     (rx_data_i),
        .rx_ready_o    (rx_ready_o),
        .ring_we_o     (ring_we),
        .ring_waddr_o  (ring_waddr),
        .ring_wdata_o  (ring_wdata),
        .ring_wptr_o   (ring_wptr),
        .ring_rptr_i   (ring_rptr),
        .ring_req_o    (ring_req),
        .ring_gnt_i    (ring_gnt),
        .ring_raddr_o  (rx_raddr),
        .ring_rdata_i  (ring_rdata[7:0]),
        .skip_valid_o  (skip_valid),
        .skip_at_o     (skip_at),
        .skip_to_o     (skip_to),
        .skip_pop_i    (skip_pop),
        .dans_valid_o  (dans_valid),
        .dans_wr_o     (dans_wr),
        .dans_tag_o    (dans_tag),
        .dans_status_o (dans_status),
        .dans_data_o   (dans_data),
        .err_valid_o   (rx_err),
        .err_code_o    (rx_err_code),
        .err_info_o    (rx_err_info),
        .dropped_o     (dropped),
        .busy_o        (rx_busy)
    );

    // ---- interrupt unit ----
    wire        ictl_valid;
    wire [2:0]  ictl_op;
    wire [31:0] ictl_lines;
    wire        evt_valid;
    wire        evt_ready;
    wire [7:0]  evt_line;
    wire [7:0]  evt_state;
    wire [31:0] evt_active;
    wire [63:0] evt_ts;
    wire [31:0] irq_pending;
    wire [31:0] irq_mask;
    wire [31:0] irq_mode;
    wire [31:0] irq_raw;
    wire        irq_busy;
    wire        hello_ok;

    kmrig_bridge_irq #(
        .N (IRQ_N)
    ) u_irq (
        .clk_i        (clk_i),
        .rst_ni       (rst_ni),
        .irq_i        (irq_i),
        .ts_i         (ts_w),
        .enable_i     (hello_ok),
        .ctl_valid_i  (ictl_valid),
        .ctl_op_i     (ictl_op),
        .ctl_lines_i  (ictl_lines),
        .evt_valid_o  (evt_valid),
        .evt_ready_i  (evt_ready),
        .evt_line_o   (evt_line),
        .evt_state_o  (evt_state),
        .evt_active_o (evt_active),
        .evt_ts_o     (evt_ts),
        .pending_o    (irq_pending),
        .mask_o       (irq_mask),
        .mode_o       (irq_mode),
        .raw_o        (irq_raw),
        .busy_o       (irq_busy)
    );

    // ---- command engine ----
    wire         rsp_valid;
    wire         rsp_ready;
    wire [7:0]   rsp_type;
    wire [7:0]   rsp_tag;
    wire [7:0]   rsp_status;
    wire [127:0] rsp_body;
    wire [63:0]  rsp_ts;
    wire [12:0]  rsp_dlen;
    wire         hello;
    wire [31:0]  host_caps;
    wire         ex_err;
    wire [15:0]  ex_err_info;
    wire         crd_valid;
    wire [31:0]  crd_amount;
    wire         crd_ready;
    wire         ex_busy;

    kmrig_bridge_exec #(
        .RING_AW     (RING_AW),
        .TXB_AW      (TXB_AW),
        .BUS_TIMEOUT (BUS_TIMEOUT),
        .CMD_CREDITS ({16'h0, CMD_CREDITS}),
        .HAS_RMW     (HAS_RMW)
    ) u_exec (
        .clk_i             (clk_i),
        .rst_ni            (rst_ni),
        .ts_i              (ts_w),
        .ring_wptr_i       (ring_wptr),
        .ring_rptr_o       (ring_rptr),
        .ring_raddr_o      (ex_raddr),
        .ring_rdata_i      (ring_rdata),
        .ring_hold_i       (ring_req),
        .skip_valid_i      (skip_valid),
        .skip_at_i         (skip_at),
        .skip_to_i         (skip_to),
        .skip_pop_o        (skip_pop),
        .ring_idle_o       (ring_idle),
        .txb_we_o          (txb_we),
        .txb_waddr_o       (txb_waddr),
        .txb_wdata_o       (txb_wdata),
        .txb_wlen_o        (txb_wlen),
        .txb_busy_i        (txb_busy),
        .m_cyc_o           (m_cyc_o),
        .m_stb_o           (m_stb_o),
        .m_we_o            (m_we_o),
        .m_io_o            (m_io_o),
        .m_adr_o           (m_adr_o),
        .m_sel_o           (m_sel_o),
        .m_dat_o           (m_dat_o),
        .m_dat_i           (m_dat_i),
        .m_ack_i           (m_ack_i),
        .m_err_i           (m_err_i),
        .irq_ctl_valid_o   (ictl_valid),
        .irq_ctl_op_o      (ictl_op),
        .irq_ctl_lines_o   (ictl_lines),
        .irq_pending_i     (irq_pending),
        .irq_mask_i        (irq_mask),
        .irq_mode_i        (irq_mode),
        .irq_raw_i         (irq_raw),
        .irq_evt_waiting_i (evt_valid),
        .rsp_valid_o       (rsp_valid),
        .rsp_ready_i       (rsp_ready),
        .rsp_type_o        (rsp_type),
        .rsp_tag_o         (rsp_tag),
        .rsp_status_o      (rsp_status),
        .rsp_body_o        (rsp_body),
        .rsp_ts_o          (rsp_ts),
        .rsp_dlen_o        (rsp_dlen),
        .hello_o           (hello),
        .hello_ok_o        (hello_ok),
        .host_caps_o       (host_caps),
        .err_valid_o       (ex_err),
        .err_info_o        (ex_err_info),
        .crd_valid_o       (crd_valid),
        .crd_amount_o      (crd_amount),
        .crd_ready_i       (crd_ready),
        .busy_o            (ex_busy)
    );

    // ---- DMA port ----
    wire        dreq_valid;
    wire        dreq_ready;
    wire        dreq_wr;
    wire [63:0] dreq_addr;
    wire [15:0] dreq_len;
    wire [31:0] dreq_data;
    wire [63:0] dreq_ts;
    wire        dma_tmo;
    wire        dma_busy;
    wire [31:0] dma_next;

    generate
        if (HAS_DMA != 0) begin : g_dma
            kmrig_bridge_dma #(
                .DMA_TIMEOUT (DMA_TIMEOUT)
            ) u_dma (
                .clk_i        (clk_i),
                .rst_ni       (rst_ni),
                .tick_i       (tick_i),
                .ts_i         (ts_w),
                .enable_i     (hello_ok),
                .reset_i      (hello),
                .s_cyc_i      (s_cyc_i),
                .s_stb_i      (s_stb_i),
                .s_we_i       (s_we_i),
                .s_adr_i      (s_adr_i),
                .s_sel_i      (s_sel_i),
                .s_dat_i      (s_dat_i),
                .s_dat_o      (s_dat_o),
                .s_ack_o      (s_ack_o),
                .s_err_o      (s_err_o),
                .req_valid_o  (dreq_valid),
                .req_ready_i  (dreq_ready),
                .req_wr_o     (dreq_wr),
                .req_addr_o   (dreq_addr),
                .req_len_o    (dreq_len),
                .req_data_o   (dreq_data),
                .req_ts_o     (dreq_ts),
                .ans_valid_i  (dans_valid),
                .ans_wr_i     (dans_wr),
                .ans_tag_i    (dans_tag),
                .ans_status_i (dans_status),
                .ans_data_i   (dans_data),
                .tmo_o        (dma_tmo),
                .busy_o       (dma_busy),
                .next_o       (dma_next)
            );
        end else begin : g_no_dma
            // no DMA master in this SoC: a cycle that appears anyway is refused at once, and
            // DMA answers from the host (there are none: no requests are sent) are ignored
            /* verilator lint_off UNUSEDSIGNAL */
            wire unused_dma = &{1'b0, s_we_i, s_adr_i, s_sel_i, s_dat_i, dreq_ready, dans_valid,
                                dans_wr, dans_tag, dans_status, dans_data, tick_i};
            /* verilator lint_on UNUSEDSIGNAL */
            assign s_dat_o    = 32'h0;
            assign s_ack_o    = 1'b0;
            assign s_err_o    = s_cyc_i & s_stb_i;
            assign dreq_valid = 1'b0;
            assign dreq_wr    = 1'b0;
            assign dreq_addr  = 64'h0;
            assign dreq_len   = 16'h0;
            assign dreq_data  = 32'h0;
            assign dreq_ts    = 64'h0;
            assign dma_tmo    = 1'b0;
            assign dma_busy   = 1'b0;
            assign dma_next   = 32'hFFFFFFFF;
        end
    endgenerate

    // ---- the one waiting EVT_ERROR ----
    reg        err_q;
    reg [7:0]  err_code_q;
    reg [15:0] err_info_q;
    reg [63:0] err_ts_q;
    wire       err_ready;

    always @(posedge clk_i or negedge rst_ni) begin
        if (!rst_ni) begin
            err_q      <= 1'b0;
            err_code_q <= 8'h00;
            err_info_q <= 16'h0;
            err_ts_q   <= 64'h0;
        end else begin
            if (err_ready || hello) begin
                err_q <= 1'b0;
            end
            if (rx_err || dma_tmo || ex_err) begin
                err_q    <= 1'b1;
                err_ts_q <= ts_w;
                if (rx_err) begin
                    err_code_q <= rx_err_code;
                    err_info_q <= rx_err_info;
                end else if (dma_tmo) begin
                    err_code_q <= KMRIG_PROTO_EV_ERR_DMA_TIMEOUT;
                    err_info_q <= 16'h0000;
                end else begin
                    err_code_q <= KMRIG_PROTO_EV_ERR_MALFORMED;
                    err_info_q <= ex_err_info;
                end
            end
        end
    end

    // ---- transmitter and its arbiter ----
    wire tx_idle;
    wire sel_dma = dreq_valid;
    wire sel_rsp = !sel_dma && rsp_valid;
    wire sel_evt = !sel_dma && !rsp_valid && evt_valid;
    wire sel_err = !sel_dma && !rsp_valid && !evt_valid && err_q && hello_ok;
    wire sel_crd = !sel_dma && !rsp_valid && !evt_valid && !(err_q && hello_ok) && crd_valid;
    wire load    = tx_idle && (sel_dma || sel_rsp || sel_evt || sel_err || sel_crd);

    assign dreq_ready = tx_idle && sel_dma;
    assign rsp_ready  = tx_idle && sel_rsp;
    assign evt_ready  = tx_idle && sel_evt;
    assign err_ready  = tx_idle && sel_err;
    assign crd_ready  = tx_idle && sel_crd;

    // The descriptor of the frame to send: its type, tag, the body's fields before the
    // timestamp exactly as they are sent (byte 0 in [7:0]; each source lays out its own, so this
    // is the one multiplexer between the sources and the transmitter's shift register), the
    // timestamp and the data. (HELLO_RSP's status is the only other field: it comes from the
    // executor alone.)
    reg [7:0]   d_type;
    reg [7:0]   d_tag;
    reg [127:0] d_body;
    reg [63:0]  d_ts;
    reg [12:0]  d_dlen;
    reg         d_dsrc;
    always @(*) begin
        d_type   = rsp_type;
        d_tag    = rsp_tag;
        d_body   = rsp_body;
        d_ts     = rsp_ts;
        d_dlen   = rsp_dlen;
        d_dsrc   = 1'b0;
        if (sel_dma) begin
            // address, len, 2 zero bytes (ts), then w2: DMA_WR_REQ's data
            d_type   = dreq_wr ? KMRIG_PROTO_T_DMA_WR_REQ : KMRIG_PROTO_T_DMA_RD_REQ;
            d_tag    = 8'h00;
            d_body   = {dreq_data, 16'h0, dreq_len, dreq_addr};
            d_ts     = dreq_ts;
            d_dlen   = dreq_wr ? dreq_len[12:0] : 13'd0;
            d_dsrc   = 1'b1;
        end else if (sel_evt) begin
            // line, state, 2 zero bytes, active
            d_type   = KMRIG_PROTO_T_EVT_IRQ;
            d_body   = {64'h0, evt_active, 16'h0, evt_state, evt_line};
            d_ts     = evt_ts;
            d_dlen   = 13'd0;
        end else if (sel_err) begin
            // code, a zero byte, info, dropped
            d_type   = KMRIG_PROTO_T_EVT_ERROR;
            d_body   = {64'h0, dropped, err_info_q, 8'h0, err_code_q};
            d_ts     = err_ts_q;
            d_dlen   = 13'd0;
        end else if (sel_crd) begin
            // credits
            d_type   = KMRIG_PROTO_T_EVT_CREDIT;
            d_body   = {96'h0, crd_amount};
            d_ts     = 64'h0;
            d_dlen   = 13'd0;
        end
    end

    wire pcrc = (REQUIRE_CRC != 0) || host_caps[KMRIG_PROTO_CAP_CRC_REQUIRED_BIT];

    kmrig_bridge_tx #(
        .TXB_AW      (TXB_AW),
        .TS_W        (TS_W),
        .CAPS        (CAPS),
        .CLOCK_HZ    (CLOCK_HZ),
        .SOC_ID      (SOC_ID),
        .SOC_VERSION (SOC_VERSION),
        .BUILD_ID    (BUILD_ID),
        .CMD_CREDITS (CMD_CREDITS),
        .MAX_PAYLOAD (KMRIG_PROTO_MAX_PAYLOAD[15:0]),
        .DMA_TAGS    (8'd1),
        .IRQ_LINES   (IRQ_N[7:0]),
        .BOARD       (BOARD),
        .BUILD       (BUILD)
    ) u_tx (
        .clk_i       (clk_i),
        .rst_ni      (rst_ni),
        .ts_i        (ts_i),
        .pcrc_i      (pcrc),
        .hello_i     (hello),
        .load_i      (load),
        .d_type_i    (d_type),
        .d_tag_i     (d_tag),
        .d_status_i  (rsp_status),
        .d_body_i    (d_body),
        .d_ts_i      (d_ts),
        .d_dlen_i    (d_dlen),
        .d_dsrc_i    (d_dsrc),
        .idle_o      (tx_idle),
        .txb_busy_o  (txb_busy),
        .txb_raddr_o (txb_raddr),
        .txb_rdata_i (txb_rdata),
        .tx_valid_o  (tx_valid_o),
        .tx_data_o   (tx_data_o),
        .tx_ready_i  (tx_ready_i)
    );

    wire busy = rx_valid_i || rx_busy || ex_busy || !tx_idle || irq_busy || dma_busy ||
                (err_q && hello_ok) || crd_valid || rsp_valid;
    assign next_event_o = busy ? 32'd1 : dma_next;
endmodule

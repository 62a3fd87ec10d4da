// kmrig_soc: the reference SoC. A host-side Wishbone B4 classic master port (driven by the
// bridge core on a board, by the C harness in bridge/sim on the Verilator model) reaches,
// through kmrig_wb_interconnect, the enumeration ROM, the sysid block, two timers (one in
// memory space, one in I/O-port space), a 16550 UART (I/O port 0x3F8), a scatter-gather DMA
// engine, a system DMA controller (channel 0 serves the UART, channel 1 the sdma1_* pins) and
// the interrupt controller. Both DMA masters reach host memory through the DMA port, a
// Wishbone B4 classic master out of the SoC (64-bit bus addresses) that the host serves: the
// bridge core on a board, a C callback on the model. The address map and the
// ROM come from rtl/soc.json (rtl/gen/*.vh). Bus conventions: docs/rtl.md.
//
// Simulation-only ports, tied off on a board:
//   tick_i       cycles the current clock edge stands for. 1 on hardware. The harness drives
//                n > 1 to skip n - 1 idle cycles in one evaluation; legal only while the bus
//                is idle and n <= next_event_o. With SIM_SKIP = 0 it is ignored (taken as 1)
//                and next_event_o reads all ones, so synthesis drops the skip logic.
//   next_event_o the number of cycles that may be collapsed into the next edge: the minimum
//                over the peripherals of the distance to their next non-linear state change.
module kmrig_soc #(
    parameter integer SIM_SKIP = 1
) (
    input  wire        clk_i,
    input  wire        rst_ni,
    input  wire [31:0] tick_i,
    input  wire [7:0]  bus_gap_i,     // idle cycles between bus cycles (kmrig_wb_interconnect)

    // host Wishbone master port: byte address, io_i = 1 selects I/O-port space
    input  wire        wb_cyc_i,
    input  wire        wb_stb_i,
    input  wire        wb_we_i,
    input  wire        wb_io_i,
    input  wire [31:0] wb_adr_i,
    input  wire [3:0]  wb_sel_i,
    input  wire [31:0] wb_dat_i,
    output wire [31:0] wb_dat_o,
    output wire        wb_ack_o,
    output wire        wb_err_o,

    // uart0 serial and modem pins (active high; the board top adds the RS-232 inversions)
    output wire        uart_tx_o,
    input  wire        uart_rx_i,     // tie to 1 (mark) when unused
    output wire [3:0]  uart_mcr_o,    // {OUT2, OUT1, RTS, DTR}
    input  wire [3:0]  uart_msr_i,    // {DCD, RI, DSR, CTS}

    // DMA port: Wishbone B4 classic master to host memory, byte addresses = bus addresses
    output wire        dma_cyc_o,
    output wire        dma_stb_o,
    output wire        dma_we_o,
    output wire [63:0] dma_adr_o,
    output wire [3:0]  dma_sel_o,
    output wire [31:0] dma_dat_o,
    input  wire [31:0] dma_dat_i,
    input  wire        dma_ack_i,
    input  wire        dma_err_i,

    // system DMA channel 1, for a device outside the SoC (fly-by byte handshake)
    input  wire        sdma1_rdy_in_i,   // the device has a byte for memory
    input  wire        sdma1_rdy_out_i,  // the device can take a byte from memory
    input  wire [7:0]  sdma1_dat_i,
    output wire        sdma1_dack_o,     // this edge takes sdma1_dat_i / gives sdma1_dat_o
    output wire        sdma1_dack_wr_o,  // 1: takes (device -> memory), 0: gives
    output wire [7:0]  sdma1_dat_o,

    input  wire [2:0]  irq_ext_i,     // interrupt lines 5..7, for peripherals outside the SoC
    output wire [7:0]  irq_vec_o,     // pending & ~mask per line (the host's interrupt vector)
    output wire [7:0]  irq_lines_o,   // the interrupt lines themselves (the bridge's IRQ unit)
    output wire        irq_o,
    output wire [63:0] timestamp_o,
    output wire [31:0] next_event_o
);
`include "kmrig_soc_map.vh"

    localparam integer NS = KMRIG_SOC_NSLAVES;

    wire [31:0] tick = (SIM_SKIP != 0) ? tick_i : 32'h00000001;

    wire          s_cyc;
    wire [NS-1:0] s_stb;
    wire          s_we;
    wire [NS*32-1:0] s_adr;
    wire [3:0]    s_sel;
    wire [31:0]   s_wdat;
    wire [NS*32-1:0] s_rdat;
    wire [NS-1:0] s_ack;
    wire [NS-1:0] s_err;

    kmrig_wb_interconnect #(
        .N        (NS),
        .WIN_BASE (KMRIG_SOC_WIN_BASE),
        .WIN_MASK (KMRIG_SOC_WIN_MASK),
        .WIN_IO   (KMRIG_SOC_WIN_IO)
    ) u_xbar (
        .clk_i   (clk_i),
        .rst_ni  (rst_ni),
        .tick_i  (tick),
        .gap_i   (bus_gap_i),
        .m_cyc_i (wb_cyc_i),
        .m_stb_i (wb_stb_i),
        .m_we_i  (wb_we_i),
        .m_io_i  (wb_io_i),
        .m_adr_i (wb_adr_i),
        .m_sel_i (wb_sel_i),
        .m_dat_i (wb_dat_i),
        .m_dat_o (wb_dat_o),
        .m_ack_o (wb_ack_o),
        .m_err_o (wb_err_o),
        .s_cyc_o (s_cyc),
        .s_stb_o (s_stb),
        .s_we_o  (s_we),
        .s_adr_o (s_adr),
        .s_sel_o (s_sel),
        .s_dat_o (s_wdat),
        .s_dat_i (s_rdat),
        .s_ack_i (s_ack),
        .s_err_i (s_err)
    );

    kmrig_enum_rom u_rom (
        .clk_i    (clk_i),
        .rst_ni   (rst_ni),
        .wb_cyc_i (s_cyc),
        .wb_stb_i (s_stb[KMRIG_SOC_SLV_ROM]),
        .wb_we_i  (s_we),
        .wb_adr_i (s_adr[32*KMRIG_SOC_SLV_ROM +: 32]),
        .wb_sel_i (s_sel),
        .wb_dat_i (s_wdat),
        .wb_dat_o (s_rdat[32*KMRIG_SOC_SLV_ROM +: 32]),
        .wb_ack_o (s_ack[KMRIG_SOC_SLV_ROM]),
        .wb_err_o (s_err[KMRIG_SOC_SLV_ROM])
    );

    wire [63:0] timestamp;
    wire [31:0] sysid_next;

    kmrig_sysid #(
        .ID       (KMRIG_SOC_ID),
        .VERSION  (KMRIG_SOC_VERSION),
        .CLOCK_HZ (KMRIG_SOC_CLOCK_HZ)
    ) u_sysid (
        .clk_i        (clk_i),
        .rst_ni       (rst_ni),
        .tick_i       (tick),
        .wb_cyc_i     (s_cyc),
        .wb_stb_i     (s_stb[KMRIG_SOC_SLV_SYSID]),
        .wb_we_i      (s_we),
        .wb_adr_i     (s_adr[32*KMRIG_SOC_SLV_SYSID +: 32]),
        .wb_sel_i     (s_sel),
        .wb_dat_i     (s_wdat),
        .wb_dat_o     (s_rdat[32*KMRIG_SOC_SLV_SYSID +: 32]),
        .wb_ack_o     (s_ack[KMRIG_SOC_SLV_SYSID]),
        .wb_err_o     (s_err[KMRIG_SOC_SLV_SYSID]),
        .timestamp_o  (timestamp),
        .next_event_o (sysid_next)
    );

    wire        timer0_irq;
    wire [31:0] timer0_next;

    kmrig_timer u_timer0 (
        .clk_i        (clk_i),
        .rst_ni       (rst_ni),
        .tick_i       (tick),
        .wb_cyc_i     (s_cyc),
        .wb_stb_i     (s_stb[KMRIG_SOC_SLV_TIMER0]),
        .wb_we_i      (s_we),
        .wb_adr_i     (s_adr[32*KMRIG_SOC_SLV_TIMER0 +: 32]),
        .wb_sel_i     (s_sel),
        .wb_dat_i     (s_wdat),
        .wb_dat_o     (s_rdat[32*KMRIG_SOC_SLV_TIMER0 +: 32]),
        .wb_ack_o     (s_ack[KMRIG_SOC_SLV_TIMER0]),
        .wb_err_o     (s_err[KMRIG_SOC_SLV_TIMER0]),
        .irq_o        (timer0_irq),
        .next_event_o (timer0_next)
    );

    wire        timer1_irq;
    wire [31:0] timer1_next;

    kmrig_timer u_timer1 (
        .clk_i        (clk_i),
        .rst_ni       (rst_ni),
        .tick_i       (tick),
        .wb_cyc_i     (s_cyc),
        .wb_stb_i     (s_stb[KMRIG_SOC_SLV_TIMER1]),
        .wb_we_i      (s_we),
        .wb_adr_i     (s_adr[32*KMRIG_SOC_SLV_TIMER1 +: 32]),
        .wb_sel_i     (s_sel),
        .wb_dat_i     (s_wdat),
        .wb_dat_o     (s_rdat[32*KMRIG_SOC_SLV_TIMER1 +: 32]),
        .wb_ack_o     (s_ack[KMRIG_SOC_SLV_TIMER1]),
        .wb_err_o     (s_err[KMRIG_SOC_SLV_TIMER1]),
        .irq_o        (timer1_irq),
        .next_event_o (timer1_next)
    );

    wire        uart0_irq;
    wire [31:0] uart0_next;
    wire        uart0_rxrdy;
    wire        uart0_txrdy;
    wire [7:0]  uart0_dma_rx_dat;
    wire [1:0]  sdma_dack;
    wire        sdma_dack_wr;
    wire [7:0]  sdma_dev_dat;

    kmrig_uart16550 u_uart0 (
        .clk_i        (clk_i),
        .rst_ni       (rst_ni),
        .tick_i       (tick),
        .wb_cyc_i     (s_cyc),
        .wb_stb_i     (s_stb[KMRIG_SOC_SLV_UART0]),
        .wb_we_i      (s_we),
        .wb_adr_i     (s_adr[32*KMRIG_SOC_SLV_UART0 +: 32]),
        .wb_sel_i     (s_sel),
        .wb_dat_i     (s_wdat),
        .wb_dat_o     (s_rdat[32*KMRIG_SOC_SLV_UART0 +: 32]),
        .wb_ack_o     (s_ack[KMRIG_SOC_SLV_UART0]),
        .wb_err_o     (s_err[KMRIG_SOC_SLV_UART0]),
        .tx_o         (uart_tx_o),
        .rx_i         (uart_rx_i),
        .mcr_o        (uart_mcr_o),
        .msr_i        (uart_msr_i),
        .rxrdy_o      (uart0_rxrdy),
        .txrdy_o      (uart0_txrdy),
        .dma_rx_pop_i (sdma_dack[0] & sdma_dack_wr),
        .dma_rx_dat_o (uart0_dma_rx_dat),
        .dma_tx_push_i(sdma_dack[0] & ~sdma_dack_wr),
        .dma_tx_dat_i (sdma_dev_dat),
        .irq_o        (uart0_irq),
        .next_event_o (uart0_next)
    );

    wire        dma0_irq;
    wire [31:0] dma0_next;
    wire        dma0_cyc;
    wire        dma0_stb;
    wire        dma0_we;
    wire [63:0] dma0_adr;
    wire [3:0]  dma0_sel;
    wire [31:0] dma0_wdat;
    wire        dma0_ack;
    wire        dma0_err;

    kmrig_dma u_dma0 (
        .clk_i        (clk_i),
        .rst_ni       (rst_ni),
        .wb_cyc_i     (s_cyc),
        .wb_stb_i     (s_stb[KMRIG_SOC_SLV_DMA0]),
        .wb_we_i      (s_we),
        .wb_adr_i     (s_adr[32*KMRIG_SOC_SLV_DMA0 +: 32]),
        .wb_sel_i     (s_sel),
        .wb_dat_i     (s_wdat),
        .wb_dat_o     (s_rdat[32*KMRIG_SOC_SLV_DMA0 +: 32]),
        .wb_ack_o     (s_ack[KMRIG_SOC_SLV_DMA0]),
        .wb_err_o     (s_err[KMRIG_SOC_SLV_DMA0]),
        .m_cyc_o      (dma0_cyc),
        .m_stb_o      (dma0_stb),
        .m_we_o       (dma0_we),
        .m_adr_o      (dma0_adr),
        .m_sel_o      (dma0_sel),
        .m_dat_o      (dma0_wdat),
        .m_dat_i      (dma_dat_i),
        .m_ack_i      (dma0_ack),
        .m_err_i      (dma0_err),
        .irq_o        (dma0_irq),
        .next_event_o (dma0_next)
    );

    wire        sdma_irq;
    wire [31:0] sdma_next;
    wire        sdma_cyc;
    wire        sdma_stb;
    wire        sdma_we;
    wire [63:0] sdma_adr;
    wire [3:0]  sdma_sel;
    wire [31:0] sdma_wdat;
    wire        sdma_ack;
    wire        sdma_err;

    kmrig_sysdma #(
        .N (2)
    ) u_sysdma (
        .clk_i        (clk_i),
        .rst_ni       (rst_ni),
        .wb_cyc_i     (s_cyc),
        .wb_stb_i     (s_stb[KMRIG_SOC_SLV_SYSDMA]),
        .wb_we_i      (s_we),
        .wb_adr_i     (s_adr[32*KMRIG_SOC_SLV_SYSDMA +: 32]),
        .wb_sel_i     (s_sel),
        .wb_dat_i     (s_wdat),
        .wb_dat_o     (s_rdat[32*KMRIG_SOC_SLV_SYSDMA +: 32]),
        .wb_ack_o     (s_ack[KMRIG_SOC_SLV_SYSDMA]),
        .wb_err_o     (s_err[KMRIG_SOC_SLV_SYSDMA]),
        .m_cyc_o      (sdma_cyc),
        .m_stb_o      (sdma_stb),
        .m_we_o       (sdma_we),
        .m_adr_o      (sdma_adr),
        .m_sel_o      (sdma_sel),
        .m_dat_o      (sdma_wdat),
        .m_dat_i      (dma_dat_i),
        .m_ack_i      (sdma_ack),
        .m_err_i      (sdma_err),
        .rdy_in_i     ({sdma1_rdy_in_i, uart0_rxrdy}),
        .rdy_out_i    ({sdma1_rdy_out_i, uart0_txrdy}),
        .dev_dat_i    ({sdma1_dat_i, uart0_dma_rx_dat}),
        .dack_o       (sdma_dack),
        .dack_wr_o    (sdma_dack_wr),
        .dev_dat_o    (sdma_dev_dat),
        .irq_o        (sdma_irq),
        .next_event_o (sdma_next)
    );

    assign sdma1_dack_o    = sdma_dack[1];
    assign sdma1_dack_wr_o = sdma_dack_wr;
    assign sdma1_dat_o     = sdma_dev_dat;

    // The DMA port: the system DMA controller (byte transfers for slow devices) first.
    kmrig_dma_arbiter u_dma_arb (
        .clk_i   (clk_i),
        .rst_ni  (rst_ni),
        .a_cyc_i (sdma_cyc),
        .a_stb_i (sdma_stb),
        .a_we_i  (sdma_we),
        .a_adr_i (sdma_adr),
        .a_sel_i (sdma_sel),
        .a_dat_i (sdma_wdat),
        .a_ack_o (sdma_ack),
        .a_err_o (sdma_err),
        .b_cyc_i (dma0_cyc),
        .b_stb_i (dma0_stb),
        .b_we_i  (dma0_we),
        .b_adr_i (dma0_adr),
        .b_sel_i (dma0_sel),
        .b_dat_i (dma0_wdat),
        .b_ack_o (dma0_ack),
        .b_err_o (dma0_err),
        .s_cyc_o (dma_cyc_o),
        .s_stb_o (dma_stb_o),
        .s_we_o  (dma_we_o),
        .s_adr_o (dma_adr_o),
        .s_sel_o (dma_sel_o),
        .s_dat_o (dma_dat_o),
        .s_ack_i (dma_ack_i),
        .s_err_i (dma_err_i)
    );

    // Lines below KMRIG_SOC_IRQ_EXT_FIRST belong to the SoC's peripherals, the rest come from
    // irq_ext_i.
    wire [7:0] irq_lines = ({5'h00, irq_ext_i} << KMRIG_SOC_IRQ_EXT_FIRST)
                         | ({7'h00, timer0_irq} << KMRIG_SOC_TIMER0_IRQ)
                         | ({7'h00, timer1_irq} << KMRIG_SOC_TIMER1_IRQ)
                         | ({7'h00, uart0_irq} << KMRIG_SOC_UART0_IRQ)
                         | ({7'h00, dma0_irq} << KMRIG_SOC_DMA0_IRQ)
                         | ({7'h00, sdma_irq} << KMRIG_SOC_SYSDMA_IRQ);
    wire [31:0] intc_next;

    kmrig_intc #(
        .N (KMRIG_SOC_IRQ_LINES)
    ) u_intc (
        .clk_i        (clk_i),
        .rst_ni       (rst_ni),
        .wb_cyc_i     (s_cyc),
        .wb_stb_i     (s_stb[KMRIG_SOC_SLV_INTC]),
        .wb_we_i      (s_we),
        .wb_adr_i     (s_adr[32*KMRIG_SOC_SLV_INTC +: 32]),
        .wb_sel_i     (s_sel),
        .wb_dat_i     (s_wdat),
        .wb_dat_o     (s_rdat[32*KMRIG_SOC_SLV_INTC +: 32]),
        .wb_ack_o     (s_ack[KMRIG_SOC_SLV_INTC]),
        .wb_err_o     (s_err[KMRIG_SOC_SLV_INTC]),
        .irq_i        (irq_lines),
        .timestamp_i  (timestamp),
        .irq_vec_o    (irq_vec_o),
        .irq_o        (irq_o),
        .next_event_o (intc_next)
    );

    // Skip-ahead distance: the smallest next_event over the peripherals.
    wire [31:0] next_ab = (sysid_next < timer0_next) ? sysid_next : timer0_next;
    wire [31:0] next_cd = (timer1_next < intc_next) ? timer1_next : intc_next;
    wire [31:0] next_ae = (next_ab < uart0_next) ? next_ab : uart0_next;
    wire [31:0] next_dma = (dma0_next < sdma_next) ? dma0_next : sdma_next;
    wire [31:0] next_cf = (next_cd < next_dma) ? next_cd : next_dma;
    wire [31:0] next_event_min = (next_ae < next_cf) ? next_ae : next_cf;

    assign irq_lines_o  = irq_lines;
    assign timestamp_o  = timestamp;
    assign next_event_o = (SIM_SKIP != 0) ? next_event_min : 32'hFFFFFFFF;
endmodule

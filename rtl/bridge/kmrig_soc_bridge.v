// kmrig_soc_bridge: the reference SoC with the bridge frame engine in front of it; the one top
// for the Verilator model and for a board (docs/rtl.md, "Bridge").
//
// bridge_en_i selects who masters the SoC:
//   0  the wb_* host port and the dma_* port, exactly as on kmrig_soc (the model's transaction
//      level, `sim:fidelity=txn`); the PHY is ignored and sends nothing.
//   1  the bridge (kmrig_bridge): host requests arrive as frames on phy_rx_*, answers, events
//      and DMA requests leave on phy_tx_*; the SoC's DMA masters are served by the bridge's DMA
//      port and its interrupt lines feed the bridge's interrupt unit. wb_ack_o/wb_err_o stay 0
//      and dma_cyc_o/dma_stb_o stay 0. `sim:fidelity=bridge` on the model; a board ties
//      bridge_en_i = 1, tick_i = 1, the wb_* inputs to 0, dma_ack_i/dma_err_i to 0, and puts its
//      PHY (FT245, UART) on phy_*.
// All other ports are kmrig_soc's (the port contract of docs/rtl.md, "Simulation ports"), so
// the harness drives either top. next_event_o also covers the bridge.
module kmrig_soc_bridge #(
    parameter integer SIM_SKIP    = 1,
    parameter integer REQUIRE_CRC = 0,
    parameter [31:0]  BUILD_ID    = 32'h0,
    parameter [127:0] BOARD       = "sim",
    parameter [255:0] BUILD       = "kmrig-sim"
) (
    input  wire        clk_i,
    input  wire        rst_ni,
    input  wire [31:0] tick_i,
    input  wire [7:0]  bus_gap_i,
    input  wire        bridge_en_i,

    input  wire        phy_rx_valid_i,
    input  wire [7:0]  phy_rx_data_i,
    output wire        phy_rx_ready_o,
    output wire        phy_tx_valid_o,
    output wire [7:0]  phy_tx_data_o,
    input  wire        phy_tx_ready_i,

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

    output wire        uart_tx_o,
    input  wire        uart_rx_i,
    output wire [3:0]  uart_mcr_o,
    input  wire [3:0]  uart_msr_i,

    output wire        dma_cyc_o,
    output wire        dma_stb_o,
    output wire        dma_we_o,
    output wire [63:0] dma_adr_o,
    output wire [3:0]  dma_sel_o,
    output wire [31:0] dma_dat_o,
    input  wire [31:0] dma_dat_i,
    input  wire        dma_ack_i,
    input  wire        dma_err_i,

    input  wire        sdma1_rdy_in_i,
    input  wire        sdma1_rdy_out_i,
    input  wire [7:0]  sdma1_dat_i,
    output wire        sdma1_dack_o,
    output wire        sdma1_dack_wr_o,
    output wire [7:0]  sdma1_dat_o,

    input  wire [2:0]  irq_ext_i,
    output wire [7:0]  irq_vec_o,
    output wire        irq_o,
    output wire [63:0] timestamp_o,
    output wire [31:0] next_event_o
);
    // (the SoC map include carries the whole map; this top needs the identification only)
    /* verilator lint_off UNUSEDPARAM */
`include "kmrig_soc_map.vh"
    /* verilator lint_on UNUSEDPARAM */

    wire [31:0] tick = (SIM_SKIP != 0) ? tick_i : 32'h00000001;
    wire        en   = bridge_en_i;
    // On the model (SIM_SKIP != 0) the bridge's clock stops while it is off, and its inputs
    // are held at 0, so that transaction-level runs do not pay for evaluating it: bridge_en_i
    // is fixed before reset is released. A board (SIM_SKIP = 0) clocks it always.
    wire        bclk = (SIM_SKIP != 0) ? (clk_i & en) : clk_i;

    // bridge master
    wire        b_cyc, b_stb, b_we, b_io;
    wire [31:0] b_adr, b_wdat;
    wire [3:0]  b_sel;
    // SoC host port
    wire [31:0] h_rdat;
    wire        h_ack, h_err;
    // SoC DMA port
    wire        d_cyc, d_stb, d_we;
    wire [63:0] d_adr;
    wire [3:0]  d_sel;
    wire [31:0] d_wdat;
    wire [31:0] bd_rdat;
    wire        bd_ack, bd_err;
    wire [7:0]  irq_lines;
    wire [63:0] ts;
    wire [31:0] soc_next;
    wire [31:0] br_next;

    kmrig_soc #(
        .SIM_SKIP (SIM_SKIP)
    ) u_soc (
        .clk_i           (clk_i),
        .rst_ni          (rst_ni),
        .tick_i          (tick_i),
        .bus_gap_i       (bus_gap_i),
        .wb_cyc_i        (en ? b_cyc : wb_cyc_i),
        .wb_stb_i        (en ? b_stb : wb_stb_i),
        .wb_we_i         (en ? b_we : wb_we_i),
        .wb_io_i         (en ? b_io : wb_io_i),
        .wb_adr_i        (en ? b_adr : wb_adr_i),
        .wb_sel_i        (en ? b_sel : wb_sel_i),
        .wb_dat_i        (en ? b_wdat : wb_dat_i),
        .wb_dat_o        (h_rdat),
        .wb_ack_o        (h_ack),
        .wb_err_o        (h_err),
        .uart_tx_o       (uart_tx_o),
        .uart_rx_i       (uart_rx_i),
        .uart_mcr_o      (uart_mcr_o),
        .uart_msr_i      (uart_msr_i),
        .dma_cyc_o       (d_cyc),
        .dma_stb_o       (d_stb),
        .dma_we_o        (d_we),
        .dma_adr_o       (d_adr),
        .dma_sel_o       (d_sel),
        .dma_dat_o       (d_wdat),
        .dma_dat_i       (en ? bd_rdat : dma_dat_i),
        .dma_ack_i       (en ? bd_ack : dma_ack_i),
        .dma_err_i       (en ? bd_err : dma_err_i),
        .sdma1_rdy_in_i  (sdma1_rdy_in_i),
        .sdma1_rdy_out_i (sdma1_rdy_out_i),
        .sdma1_dat_i     (sdma1_dat_i),
        .sdma1_dack_o    (sdma1_dack_o),
        .sdma1_dack_wr_o (sdma1_dack_wr_o),
        .sdma1_dat_o     (sdma1_dat_o),
        .irq_ext_i       (irq_ext_i),
        .irq_vec_o       (irq_vec_o),
        .irq_lines_o     (irq_lines),
        .irq_o           (irq_o),
        .timestamp_o     (ts),
        .next_event_o    (soc_next)
    );

    assign wb_dat_o  = h_rdat;
    assign wb_ack_o  = ~en & h_ack;
    assign wb_err_o  = ~en & h_err;
    assign dma_cyc_o = ~en & d_cyc;
    assign dma_stb_o = ~en & d_stb;
    assign dma_we_o  = d_we;
    assign dma_adr_o = d_adr;
    assign dma_sel_o = d_sel;
    assign dma_dat_o = d_wdat;
    assign timestamp_o = ts;

    kmrig_bridge #(
        .REQUIRE_CRC  (REQUIRE_CRC),
        .VIRTUAL_TIME (SIM_SKIP),
        .IRQ_N        (KMRIG_SOC_IRQ_LINES),
        .CLOCK_HZ     (KMRIG_SOC_CLOCK_HZ),
        .SOC_ID       (KMRIG_SOC_ID),
        .SOC_VERSION  (KMRIG_SOC_VERSION),
        .BUILD_ID     (BUILD_ID),
        .BOARD        (BOARD),
        .BUILD        (BUILD)
    ) u_bridge (
        .clk_i        (bclk),
        .rst_ni       (rst_ni),
        .tick_i       (en ? tick : 32'h0),
        .ts_i         (en ? ts : 64'h0),
        .rx_valid_i   (en & phy_rx_valid_i),
        .rx_data_i    (en ? phy_rx_data_i : 8'h00),
        .rx_ready_o   (phy_rx_ready_o),
        .tx_valid_o   (phy_tx_valid_o),
        .tx_data_o    (phy_tx_data_o),
        .tx_ready_i   (en & phy_tx_ready_i),
        .m_cyc_o      (b_cyc),
        .m_stb_o      (b_stb),
        .m_we_o       (b_we),
        .m_io_o       (b_io),
        .m_adr_o      (b_adr),
        .m_sel_o      (b_sel),
        .m_dat_o      (b_wdat),
        .m_dat_i      (en ? h_rdat : 32'h0),
        .m_ack_i      (en & h_ack),
        .m_err_i      (en & h_err),
        .s_cyc_i      (en & d_cyc),
        .s_stb_i      (en & d_stb),
        .s_we_i       (en & d_we),
        .s_adr_i      (en ? d_adr : 64'h0),
        .s_sel_i      (en ? d_sel : 4'h0),
        .s_dat_i      (en ? d_wdat : 32'h0),
        .s_dat_o      (bd_rdat),
        .s_ack_o      (bd_ack),
        .s_err_o      (bd_err),
        .irq_i        (en ? irq_lines : 8'h00),
        .next_event_o (br_next)
    );

    wire [31:0] next_min = (soc_next < br_next) ? soc_next : br_next;
    assign next_event_o = (SIM_SKIP != 0) ? next_min : 32'hFFFFFFFF;
endmodule

// kmrig_soc_phy_core: kmrig_soc_bridge tied off as a board ties it (bridge on, no skipping, no
// transaction-level host port, no second system DMA device), with only the PHY byte streams,
// uart0's pins and the external interrupt lines left as ports. Shared by kmrig_soc_ft245 and
// kmrig_soc_uart (docs/rtl.md, "PHYs").
module kmrig_soc_phy_core #(
    parameter integer REQUIRE_CRC = 0,
    parameter [31:0]  BUILD_ID    = 32'h0,
    parameter [127:0] BOARD       = "sim",
    parameter [255:0] BUILD       = "kmrig-sim"
) (
    input  wire       clk_i,
    input  wire       rst_ni,
    input  wire       rx_valid_i,
    input  wire [7:0] rx_data_i,
    output wire       rx_ready_o,
    output wire       tx_valid_o,
    output wire [7:0] tx_data_o,
    input  wire       tx_ready_i,
    output wire       uart_tx_o,
    input  wire       uart_rx_i,
    input  wire [2:0] irq_ext_i,
    output wire [7:0] irq_vec_o
);
    // Outputs of the transaction-level ports, unused with the bridge on.
    /* verilator lint_off UNUSEDSIGNAL */
    wire [31:0] wb_dat;
    wire        wb_ack, wb_err, irq, dma_cyc, dma_stb, dma_we;
    wire [63:0] dma_adr, ts;
    wire [3:0]  dma_sel, uart_mcr;
    wire [31:0] dma_dat, next_event;
    wire        sdma1_dack, sdma1_dack_wr;
    wire [7:0]  sdma1_dat;
    /* verilator lint_on UNUSEDSIGNAL */

    kmrig_soc_bridge #(
        .SIM_SKIP    (0),
        .REQUIRE_CRC (REQUIRE_CRC),
        .BUILD_ID    (BUILD_ID),
        .BOARD       (BOARD),
        .BUILD       (BUILD)
    ) u_soc (
        .clk_i           (clk_i),
        .rst_ni          (rst_ni),
        .tick_i          (32'h00000001),
        .bus_gap_i       (8'h00),
        .bridge_en_i     (1'b1),
        .phy_rx_valid_i  (rx_valid_i),
        .phy_rx_data_i   (rx_data_i),
        .phy_rx_ready_o  (rx_ready_o),
        .phy_tx_valid_o  (tx_valid_o),
        .phy_tx_data_o   (tx_data_o),
        .phy_tx_ready_i  (tx_ready_i),
        .wb_cyc_i        (1'b0),
        .wb_stb_i        (1'b0),
        .wb_we_i         (1'b0),
        .wb_io_i         (1'b0),
        .wb_adr_i        (32'h0),
        .wb_sel_i        (4'h0),
        .wb_dat_i        (32'h0),
        .wb_dat_o        (wb_dat),
        .wb_ack_o        (wb_ack),
        .wb_err_o        (wb_err),
        .uart_tx_o       (uart_tx_o),
        .uart_rx_i       (uart_rx_i),
        .uart_mcr_o      (uart_mcr),
        .uart_msr_i      (4'h0),
        .dma_cyc_o       (dma_cyc),
        .dma_stb_o       (dma_stb),
        .dma_we_o        (dma_we),
        .dma_adr_o       (dma_adr),
        .dma_sel_o       (dma_sel),
        .dma_dat_o       (dma_dat),
        .dma_dat_i       (32'h0),
        .dma_ack_i       (1'b0),
        .dma_err_i       (1'b0),
        .sdma1_rdy_in_i  (1'b0),
        .sdma1_rdy_out_i (1'b0),
        .sdma1_dat_i     (8'h00),
        .sdma1_dack_o    (sdma1_dack),
        .sdma1_dack_wr_o (sdma1_dack_wr),
        .sdma1_dat_o     (sdma1_dat),
        .irq_ext_i       (irq_ext_i),
        .irq_vec_o       (irq_vec_o),
        .irq_o           (irq),
        .timestamp_o     (ts),
        .next_event_o    (next_event)
    );
endmodule

// kmrig_soc_uart: the reference SoC and the bridge behind the UART PHY (docs/rtl.md, "PHYs"):
// what a board with an FTDI channel in UART mode runs (the iCEBreaker's FT2232H channel B), and
// the top of the model the ftdi transport's UART mode is tested against. The bridge requires
// the CRC-32 on every frame (REQUIRE_CRC = 1), as docs/protocol.md does for UART links.
module kmrig_soc_uart #(
    parameter integer DIVISOR  = 25,
    parameter integer FLOW     = 1,
    parameter [31:0]  BUILD_ID = 32'h0,
    parameter [127:0] BOARD    = "sim-uart",
    parameter [255:0] BUILD    = "kmrig-sim"
) (
    input  wire        clk_i,
    input  wire        rst_ni,

    input  wire        rxd_i,
    output wire        txd_o,
    output wire        rts_no,
    input  wire        cts_ni,
    output wire [15:0] frame_errors_o,
    output wire [15:0] overruns_o,

    output wire        uart_tx_o,
    input  wire        uart_rx_i,
    input  wire [2:0]  irq_ext_i,
    output wire [7:0]  irq_vec_o
);
    wire       rx_valid, rx_ready, tx_valid, tx_ready;
    wire [7:0] rx_data, tx_data;

    kmrig_phy_uart #(
        .DIVISOR (DIVISOR),
        .FLOW    (FLOW)
    ) u_phy (
        .clk_i          (clk_i),
        .rst_ni         (rst_ni),
        .rx_valid_o     (rx_valid),
        .rx_data_o      (rx_data),
        .rx_ready_i     (rx_ready),
        .tx_valid_i     (tx_valid),
        .tx_data_i      (tx_data),
        .tx_ready_o     (tx_ready),
        .rxd_i          (rxd_i),
        .txd_o          (txd_o),
        .rts_no         (rts_no),
        .cts_ni         (cts_ni),
        .frame_errors_o (frame_errors_o),
        .overruns_o     (overruns_o)
    );

    kmrig_soc_phy_core #(
        .REQUIRE_CRC (1),
        .BUILD_ID    (BUILD_ID),
        .BOARD       (BOARD),
        .BUILD       (BUILD)
    ) u_core (
        .clk_i      (clk_i),
        .rst_ni     (rst_ni),
        .rx_valid_i (rx_valid),
        .rx_data_i  (rx_data),
        .rx_ready_o (rx_ready),
        .tx_valid_o (tx_valid),
        .tx_data_o  (tx_data),
        .tx_ready_i (tx_ready),
        .uart_tx_o  (uart_tx_o),
        .uart_rx_i  (uart_rx_i),
        .irq_ext_i  (irq_ext_i),
        .irq_vec_o  (irq_vec_o)
    );
endmodule

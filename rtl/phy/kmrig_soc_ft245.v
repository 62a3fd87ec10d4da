// kmrig_soc_ft245: the reference SoC and the bridge behind the FT245 synchronous FIFO PHY
// (docs/rtl.md, "PHYs"): what a board with an FT232H in 245 FIFO mode runs, and the top of the
// model that the ftdi transport is tested against. clk_i is the system clock (50 MHz on the
// model), ft_clk_i the chip's 60 MHz CLKOUT. D[7:0] is split into ft_data_i/_o/_oe_o; a board
// top puts an SB_IO (or an inout with `assign pin = oe ? out : 8'bz`) on it.
module kmrig_soc_ft245 #(
    parameter [31:0]  BUILD_ID = 32'h0,
    parameter [127:0] BOARD    = "sim-ft245",
    parameter [255:0] BUILD    = "kmrig-sim"
) (
    input  wire       clk_i,
    input  wire       rst_ni,

    input  wire       ft_clk_i,
    input  wire [7:0] ft_data_i,
    output wire [7:0] ft_data_o,
    output wire       ft_data_oe_o,
    input  wire       ft_rxf_ni,
    input  wire       ft_txe_ni,
    output wire       ft_rd_no,
    output wire       ft_wr_no,
    output wire       ft_oe_no,
    output wire       ft_siwu_no,

    output wire       uart_tx_o,
    input  wire       uart_rx_i,
    input  wire [2:0] irq_ext_i,
    output wire [7:0] irq_vec_o
);
    wire       rx_valid, rx_ready, tx_valid, tx_ready;
    wire [7:0] rx_data, tx_data;

    kmrig_phy_ft245 u_phy (
        .clk_i        (clk_i),
        .rst_ni       (rst_ni),
        .rx_valid_o   (rx_valid),
        .rx_data_o    (rx_data),
        .rx_ready_i   (rx_ready),
        .tx_valid_i   (tx_valid),
        .tx_data_i    (tx_data),
        .tx_ready_o   (tx_ready),
        .ft_clk_i     (ft_clk_i),
        .ft_data_i    (ft_data_i),
        .ft_data_o    (ft_data_o),
        .ft_data_oe_o (ft_data_oe_o),
        .ft_rxf_ni    (ft_rxf_ni),
        .ft_txe_ni    (ft_txe_ni),
        .ft_rd_no     (ft_rd_no),
        .ft_wr_no     (ft_wr_no),
        .ft_oe_no     (ft_oe_no),
        .ft_siwu_no   (ft_siwu_no)
    );

    kmrig_soc_phy_core #(
        .REQUIRE_CRC (0),
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

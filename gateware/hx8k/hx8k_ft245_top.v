// hx8k_ft245_top: kmrig on the iCE40-HX8K breakout board linked through an FT232H module in
// synchronous 245 FIFO mode on the header pins (docs/boards.md: pinout, EEPROM setup, the
// 60 MHz timing budget). The breakout's own FT2232H cannot do it: its channel A (the only one
// with the synchronous FIFO) configures the flash.
//   clocks clk_sys 30 MHz from the 12 MHz oscillator (J3) by the PLL; ft_clk 60 MHz, the
//          FT232H's CLKOUT on a global buffer pin (H16). board-ft245.json states both.
//   link   kmrig_phy_ft245 (async FIFOs between ft_clk and clk_sys, SI/WU after urgent frames);
//          the CRC-32 is optional on this link (USB has its own)
//   SoC    the same reduced SoC as the UART build (board_soc.json), uart0 on the same pins
module hx8k_ft245_top #(
    parameter [31:0]  BUILD_ID = 32'h0,
    parameter [255:0] BUILD    = "kmrig-hx8k-ft245"
) (
    input  wire       CLK,
    input  wire       FT_CLK,    // FT232H CLKOUT (ACBUS5), 60 MHz
    inout  wire [7:0] FT_D,      // ADBUS0..7
    input  wire       FT_RXF_N,  // ACBUS0
    input  wire       FT_TXE_N,  // ACBUS1
    output wire       FT_RD_N,   // ACBUS2
    output wire       FT_WR_N,   // ACBUS3
    output wire       FT_SIWU_N, // ACBUS4
    output wire       FT_OE_N,   // ACBUS6
    output wire       U0_TX,     // uart0 (16550, I/O 0x3F8, line 2) on the header: TXD out
    input  wire       U0_RX,     // RXD in (pulled up: idle when nothing is wired)
    output wire       U0_RTS_N,  // modem outputs, active low as on a 16550's pins
    output wire       U0_DTR_N,
    input  wire       U0_CTS_N,  // modem inputs, active low, pulled up (deasserted) in the .pcf
    input  wire       U0_DSR_N,
    input  wire       U0_DCD_N,
    input  wire       U0_RI_N,
    output wire [7:0] LED
);
    wire clk_sys;
    wire locked;

    // 12 MHz -> 30 MHz (icepll -i 12 -o 30)
    SB_PLL40_CORE #(
        .FEEDBACK_PATH ("SIMPLE"),
        .DIVR          (4'b0000),
        .DIVF          (7'b1001111),
        .DIVQ          (3'b101),
        .FILTER_RANGE  (3'b001)
    ) u_pll (
        .REFERENCECLK  (CLK),
        .PLLOUTGLOBAL  (clk_sys),
        .LOCK          (locked),
        .RESETB        (1'b1),
        .BYPASS        (1'b0)
    );

    wire rst_n;
    kmrig_phy_rst_sync u_rst (
        .clk_i  (clk_sys),
        .rst_ni (locked),
        .rst_no (rst_n)
    );

    wire       rx_valid, rx_ready, tx_valid, tx_ready;
    wire [7:0] rx_data, tx_data;
    // uart0's modem lines: the core's are active high, the pins active low (OUT1/OUT2 have no pin)
    /* verilator lint_off UNUSEDSIGNAL */
    wire [3:0] uart0_mcr;       // {OUT2, OUT1, RTS, DTR}
    /* verilator lint_on UNUSEDSIGNAL */
    assign U0_RTS_N = ~uart0_mcr[1];
    assign U0_DTR_N = ~uart0_mcr[0];
    wire [7:0] ft_dout;
    wire       ft_doe;

    // D[7:0]: the PHY's output registers drive the pads while it writes (OE# high)
    assign FT_D = ft_doe ? ft_dout : 8'bzzzzzzzz;

    kmrig_phy_ft245 u_phy (
        .clk_i        (clk_sys),
        .rst_ni       (rst_n),
        .rx_valid_o   (rx_valid),
        .rx_data_o    (rx_data),
        .rx_ready_i   (rx_ready),
        .tx_valid_i   (tx_valid),
        .tx_data_i    (tx_data),
        .tx_ready_o   (tx_ready),
        .ft_clk_i     (FT_CLK),
        .ft_data_i    (FT_D),
        .ft_data_o    (ft_dout),
        .ft_data_oe_o (ft_doe),
        .ft_rxf_ni    (FT_RXF_N),
        .ft_txe_ni    (FT_TXE_N),
        .ft_rd_no     (FT_RD_N),
        .ft_wr_no     (FT_WR_N),
        .ft_oe_no     (FT_OE_N),
        .ft_siwu_no   (FT_SIWU_N)
    );

    kmrig_board_core #(
        .REQUIRE_CRC (0),
        .HAS_RMW     (1),
        .RESCAN      (0),
        .TS_W        (32),
        .BUILD_ID    (BUILD_ID),
        .BOARD       ("hx8k-ft245"),
        .BUILD       (BUILD)
    ) u_core (
        .clk_i      (clk_sys),
        .rst_ni     (rst_n),
        .rx_valid_i (rx_valid),
        .rx_data_i  (rx_data),
        .rx_ready_o (rx_ready),
        .tx_valid_o (tx_valid),
        .tx_data_o  (tx_data),
        .tx_ready_i (tx_ready),
        .uart_tx_o  (U0_TX),
        .uart_rx_i  (U0_RX),
        .uart_mcr_o (uart0_mcr),
        .uart_msr_i (~{U0_DCD_N, U0_RI_N, U0_DSR_N, U0_CTS_N}),
        .irq_ext_i  (3'b000),
        .irq_vec_o  (LED)
    );
endmodule

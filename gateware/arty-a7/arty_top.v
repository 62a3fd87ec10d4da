// arty_top: kmrig on the Digilent Arty A7-35T (Vivado flow, gateware/arty-a7/build.tcl; not
// built in CI). The link is the FT2232H's channel B in UART mode (the board's USB-UART), 3 Mbaud
// at 48 MHz; uart0 (the 16550 under test) is on Pmod JA pins 1/2; LEDs LD4..LD7 show the
// interrupt vector. BTN0 resets.
module arty_top #(
    parameter [31:0]  BUILD_ID = 32'h0,
    parameter [255:0] BUILD    = "kmrig-arty-a7"
) (
    input  wire       CLK100MHZ,
    input  wire       uart_txd_in,    // FT2232H -> FPGA
    output wire       uart_rxd_out,   // FPGA -> FT2232H
    input  wire       btn0,
    output wire       ja1,            // uart0 TX
    input  wire       ja2,            // uart0 RX
    output wire [3:0] led
);
    wire clk_fb, clk_mmcm, clk_sys, locked;

    // 100 MHz * 9.6 / 20 = 48 MHz (VCO 960 MHz)
    MMCME2_BASE #(
        .CLKIN1_PERIOD    (10.0),
        .CLKFBOUT_MULT_F  (9.6),
        .CLKOUT0_DIVIDE_F (20.0),
        .DIVCLK_DIVIDE    (1)
    ) u_mmcm (
        .CLKIN1   (CLK100MHZ),
        .CLKFBIN  (clk_fb),
        .CLKFBOUT (clk_fb),
        .CLKOUT0  (clk_mmcm),
        .LOCKED   (locked),
        .PWRDWN   (1'b0),
        .RST      (1'b0)
    );
    BUFG u_bufg (.I (clk_mmcm), .O (clk_sys));

    wire rst_n;
    kmrig_phy_rst_sync u_rst (
        .clk_i  (clk_sys),
        .rst_ni (locked & ~btn0),
        .rst_no (rst_n)
    );

    wire       rx_valid, rx_ready, tx_valid, tx_ready;
    wire [7:0] rx_data, tx_data;
    wire [7:0] irq_vec;
    wire [15:0] frame_errors, overruns;
    wire        rts_n;

    kmrig_phy_uart #(
        .DIVISOR (16),
        .FLOW    (0)
    ) u_phy (
        .clk_i          (clk_sys),
        .rst_ni         (rst_n),
        .rx_valid_o     (rx_valid),
        .rx_data_o      (rx_data),
        .rx_ready_i     (rx_ready),
        .tx_valid_i     (tx_valid),
        .tx_data_i      (tx_data),
        .tx_ready_o     (tx_ready),
        .rxd_i          (uart_txd_in),
        .txd_o          (uart_rxd_out),
        .rts_no         (rts_n),
        .cts_ni         (1'b0),
        .frame_errors_o (frame_errors),
        .overruns_o     (overruns)
    );

    kmrig_board_core #(
        .REQUIRE_CRC (1),
        .HAS_RMW     (1),
        .TS_W        (64),
        .BUILD_ID    (BUILD_ID),
        .BOARD       ("arty-a7"),
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
        .uart_tx_o  (ja1),
        .uart_rx_i  (ja2),
        .uart_mcr_o (),
        .uart_msr_i (4'h0),
        .irq_ext_i  (3'b000),
        .irq_vec_o  (irq_vec)
    );

    assign led = irq_vec[3:0];
endmodule

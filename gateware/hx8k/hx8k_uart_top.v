// hx8k_uart_top: kmrig on the iCE40-HX8K breakout board (iCE40HX8K-CT256), linked to the host
// through the FT2232H's channel B in UART mode (channel A is wired to the configuration flash).
//   clock  12 MHz oscillator (J3) -> PLL -> clk_sys 30 MHz (board.json, board_soc.json)
//   link   kmrig_phy_uart, 8N1 at 3 Mbaud (DIVISOR 10 at 30 MHz), no flow control (README.md);
//          the bridge requires the CRC-32 on every frame
//   SoC    the reduced SoC of board_soc.json: the core, the two timers and uart0, whose pins
//          (TX, RX, RTS#, CTS#, DTR#, DSR#, DCD#, RI#) are on the J2 header (README.md)
//   LEDs   D2..D9 = the interrupt vector (irq_vec_o: pending and unmasked lines)
module hx8k_uart_top #(
    parameter [31:0]  BUILD_ID = 32'h0,
    parameter [255:0] BUILD    = "kmrig-hx8k"
) (
    input  wire       CLK,
    input  wire       RX,        // FT2232H channel B TXD -> FPGA
    output wire       TX,        // FPGA -> FT2232H channel B RXD
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

    // 12 MHz -> 30 MHz: F_VCO = 12 MHz * 80 = 960 MHz, / 2**5 (icepll -i 12 -o 30)
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
    /* verilator lint_off UNUSEDSIGNAL */
    wire [15:0] frame_errors, overruns;
    wire        rts_n;
    /* verilator lint_on UNUSEDSIGNAL */

    kmrig_phy_uart #(
        .DIVISOR (10),
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
        .rxd_i          (RX),
        .txd_o          (TX),
        .rts_no         (rts_n),
        .cts_ni         (1'b0),
        .frame_errors_o (frame_errors),
        .overruns_o     (overruns)
    );

    kmrig_board_core #(
        .REQUIRE_CRC (1),
        .HAS_RMW     (1),
        .RESCAN      (0),
        .TS_W        (32),
        .BUILD_ID    (BUILD_ID),
        .BOARD       ("hx8k"),
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

// icebreaker_top: kmrig on the iCEBreaker (iCE40UP5K-SG48), linked to the host through the
// FT2232H's channel B in UART mode (channel A is wired to the configuration flash).
//   clock  the 12 MHz oscillator (pin 35) is the system clock (no PLL: see below)
//   link   kmrig_phy_uart, 8N1 at 3 Mbaud (DIVISOR 4 at 12 MHz), no flow control (the board
//          wires only RX and TX of channel B); the bridge requires the CRC-32 on every frame
//   SoC    the reduced SoC of board_soc.json: ROM, sysid, timer0 on line 0 (README.md: what is
//          left out and why)
//   LEDs   green: out of reset; red: an interrupt line is active (timer0's, or line 3)
//   button BTN_N (user button) resets the bridge and the SoC while pressed
module icebreaker_top #(
    parameter [31:0]  BUILD_ID = 32'h0,
    parameter [255:0] BUILD    = "kmrig-icebreaker"
) (
    input  wire CLK,
    input  wire RX,       // FT2232H channel B TXD -> FPGA
    output wire TX,       // FPGA -> FT2232H channel B RXD
    input  wire BTN_N,
    output wire LEDR_N,
    output wire LEDG_N
);
    // The system clock is the 12 MHz oscillator itself. The design at 88.5 % of the UP5K
    // reaches about 14 MHz here, and the PLL cannot make anything below 16 MHz (icepll), so
    // there is no PLL in this build (docs/boards.md).
    wire clk_sys = CLK;

    // power-on reset: held for 15 cycles after configuration, and while BTN_N is pressed
    reg [3:0] por_q = 4'd0;
    always @(posedge clk_sys) begin
        if (por_q != 4'hF)
            por_q <= por_q + 4'd1;
    end
    wire rst_n;
    kmrig_phy_rst_sync u_rst (
        .clk_i  (clk_sys),
        .rst_ni ((por_q == 4'hF) & BTN_N),
        .rst_no (rst_n)
    );

    wire       rx_valid, rx_ready, tx_valid, tx_ready;
    wire [7:0] rx_data, tx_data;
    wire [7:0] irq_vec;
    /* verilator lint_off UNUSEDSIGNAL */
    wire [15:0] frame_errors, overruns;
    wire        rts_n;
    wire        uart0_tx;       // (this SoC has no uart0)
    /* verilator lint_on UNUSEDSIGNAL */

    // (a 4-byte receive FIFO: the bridge takes a byte per cycle, and bytes come every 40)
    kmrig_phy_uart #(
        .DIVISOR (4),
        .AW      (2),
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
        .HAS_RMW     (0),
        .RESCAN      (0),
        .TS_W        (32),
        .BUILD_ID    (BUILD_ID),
        .BOARD       ("icebreaker"),
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
        .uart_tx_o  (uart0_tx),
        .uart_rx_i  (1'b1),
        .irq_ext_i  (3'b000),
        .irq_vec_o  (irq_vec)
    );

    assign LEDG_N = ~rst_n;
    assign LEDR_N = ~(|irq_vec);
endmodule

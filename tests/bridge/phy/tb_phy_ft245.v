// tb_phy_ft245: kmrig_phy_ft245 against a behavioural FT232H in synchronous 245 FIFO mode, with
// a system side that takes bytes slowly so that the receive FIFO runs at its almost-full
// threshold. The chip's CLKOUT (60 MHz) and the system clock (30 MHz, as on the HX8K board) are
// unrelated in phase; the chip's outputs change 3 ns after CLKOUT rises (its datasheet gives
// 1..7.15 ns), and it samples RD#, OE#, WR# and D on the rising edge. Checks, each counted:
//   1. every byte the chip holds reaches the system side once, in order, while the system side
//      takes one byte in three cycles at most (the FIFO fills and RD# pauses again and again)
//   2. no byte is ever pushed into a full receive FIFO (it would be lost): the almost-full flag
//      leaves enough room, and the threshold was reached (the case is exercised)
//   3. the pin protocol: RD# low only with OE# low, OE# low one edge before the first RD# low,
//      D never driven by both ends, WR# low only with D driven by the PHY
//   4. bytes from the system side reach the chip once, in order, with TXE# going high at times
//      (the chip's buffer full), and the bus turns round between the two directions
// Ends with "N passed, M failed" and $fatal on any failure (run by ctest rtl_phy_ft245).
`timescale 1ns / 1ps
module tb_phy_ft245;
    localparam integer NRX = 3000;           // bytes host -> FPGA
    localparam integer NTX = 2000;           // bytes FPGA -> host

    reg clk = 1'b0, ft_clk = 1'b0, rst_n = 1'b0;
    always #16.667 clk = ~clk;               // 30 MHz system clock
    initial begin
        #3.1;
        forever #8.333 ft_clk = ~ft_clk;     // 60 MHz CLKOUT, another phase
    end

    wire       rx_valid, tx_ready;
    wire [7:0] rx_data;
    reg        rx_ready = 1'b0, tx_valid = 1'b0;
    reg  [7:0] tx_data = 8'h00;
    wire [7:0] ft_dout;
    wire       ft_doe, rd_n, wr_n, oe_n, siwu_n;
    reg        rxf_n = 1'b1, txe_n = 1'b1;
    reg  [7:0] chip_d = 8'h00;

    // D: the chip drives it while OE# is low (as the FT232H does), the PHY while ft_doe is set
    wire [7:0] d_bus = !oe_n ? chip_d : ft_dout;

    kmrig_phy_ft245 #(.AW(4), .BURST(64), .IDLE_CYCLES(8), .SIWU_ALL(1)) dut (
        .clk_i (clk), .rst_ni (rst_n),
        .rx_valid_o (rx_valid), .rx_data_o (rx_data), .rx_ready_i (rx_ready),
        .tx_valid_i (tx_valid), .tx_data_i (tx_data), .tx_ready_o (tx_ready),
        .ft_clk_i (ft_clk), .ft_data_i (d_bus), .ft_data_o (ft_dout), .ft_data_oe_o (ft_doe),
        .ft_rxf_ni (rxf_n), .ft_txe_ni (txe_n), .ft_rd_no (rd_n), .ft_wr_no (wr_n),
        .ft_oe_no (oe_n), .ft_siwu_no (siwu_n));

    integer passed = 0, failed = 0;
    task check(input cond, input [8*72-1:0] what);
        begin
            if (cond) passed = passed + 1;
            else begin
                failed = failed + 1;
                $display("FAIL: %0s", what);
            end
        end
    endtask

    function [7:0] rx_byte(input integer i);
        rx_byte = (i * 7 + (i >> 8)) & 8'hFF;
    endfunction
    function [7:0] tx_byte(input integer i);
        tx_byte = (i * 13 + 8'h5A + (i >> 8)) & 8'hFF;
    endfunction

    // ---- the chip ---------------------------------------------------------------------------
    integer chip_rx_next = 0;                // next byte the chip presents (host -> FPGA)
    integer chip_tx_got = 0, tx_bad = 0;     // bytes the chip took (FPGA -> host)
    integer viol_rd_no_oe = 0, viol_both = 0, viol_wr_float = 0, viol_oe_rd = 0;
    integer txe_cnt = 0;
    reg     oe_n_prev = 1'b1, rd_n_prev = 1'b1;
    always @(posedge ft_clk) begin
        if (rst_n) begin
            if (!rd_n && oe_n) viol_rd_no_oe = viol_rd_no_oe + 1;
            if (!rd_n && rd_n_prev && oe_n_prev) viol_oe_rd = viol_oe_rd + 1;
            if (!oe_n && ft_doe) viol_both = viol_both + 1;
            if (!wr_n && !ft_doe) viol_wr_float = viol_wr_float + 1;
            if (!rd_n && !oe_n && !rxf_n) chip_rx_next = chip_rx_next + 1;
            if (!wr_n && !txe_n && ft_doe) begin
                if (d_bus !== tx_byte(chip_tx_got)) tx_bad = tx_bad + 1;
                chip_tx_got = chip_tx_got + 1;
            end
            txe_cnt = txe_cnt + 1;
        end
        oe_n_prev <= oe_n;
        rd_n_prev <= rd_n;
        // outputs change after the edge, as the chip's clock-to-out
        #3;
        rxf_n  <= (chip_rx_next >= NRX);
        chip_d <= rx_byte(chip_rx_next);
        // the chip's transmit buffer: full for 20 of every 97 edges
        txe_n  <= ((txe_cnt % 97) < 20);
    end

    // ---- system side ------------------------------------------------------------------------
    integer ngot = 0, rx_bad = 0, sys_cnt = 0, min_free = 16, over = 0;
    always @(posedge clk) begin
        if (rx_valid && rx_ready) begin
            if (rx_data !== rx_byte(ngot)) rx_bad = rx_bad + 1;
            ngot = ngot + 1;
        end
        sys_cnt = sys_cnt + 1;
        rx_ready <= (sys_cnt % 3) == 0;
    end
    always @(posedge ft_clk) begin
        if (rst_n) begin
            if (dut.rxf_push && !dut.rxf_ready) over = over + 1;
            if (dut.rxf_free < min_free) min_free = dut.rxf_free;
        end
    end

    integer nsent = 0;
    always @(posedge clk) begin
        if (tx_valid && tx_ready) nsent = nsent + 1;
    end
    always @(negedge clk) begin
        tx_valid <= rst_n && (nsent + ((tx_valid && tx_ready) ? 1 : 0)) < NTX;
    end
    always @(*) tx_data = tx_byte(nsent);

    integer t;
    initial begin
        repeat (4) @(posedge clk);
        rst_n = 1'b1;
        for (t = 0; t < 200000 && !(ngot >= NRX && chip_tx_got >= NTX); t = t + 1)
            @(posedge clk);
        repeat (20) @(posedge clk);
        $display("rx: %0d of %0d bytes at the system side, %0d wrong; tx: %0d of %0d at the chip, %0d wrong",
                 ngot, NRX, rx_bad, chip_tx_got, NTX, tx_bad);
        $display("rx FIFO: least free entries seen %0d, pushes into a full FIFO %0d", min_free,
                 over);
        $display("pin violations: RD# without OE# %0d, RD# without OE# an edge before %0d, both driving D %0d, WR# with D floating %0d",
                 viol_rd_no_oe, viol_oe_rd, viol_both, viol_wr_float);
        check(ngot == NRX, "1. every byte from the chip reached the system side");
        check(rx_bad == 0, "1. host->FPGA bytes in order, none wrong");
        check(over == 0, "2. no byte pushed into a full receive FIFO");
        check(min_free <= 4, "2. the receive FIFO reached its almost-full threshold");
        check(viol_rd_no_oe == 0, "3. RD# low only with OE# low");
        check(viol_oe_rd == 0, "3. OE# low one edge before the first RD# low");
        check(viol_both == 0, "3. D never driven by both ends");
        check(viol_wr_float == 0, "3. WR# low only with D driven by the PHY");
        check(chip_tx_got == NTX, "4. every byte from the system side reached the chip");
        check(tx_bad == 0, "4. FPGA->host bytes in order, none wrong");
        $display("%0d passed, %0d failed", passed, failed);
        if (failed != 0) $fatal(1, "tb_phy_ft245 failed");
        $finish;
    end
endmodule

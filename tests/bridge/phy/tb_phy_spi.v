// tb_phy_spi: kmrig_phy_spi driven as an FTDI MPSSE drives an SPI slave (mode 0, MSB first:
// MPSSE command 0x31, "bytes out on -ve edge, in on +ve edge"), SCK asynchronous to clk_i at
// f(clk_i) / 8 with its edges off the clock grid. Checks, each printed and counted:
//   1. the master's bytes reach the bridge side in order (with the bridge side pausing)
//   2. the bridge's bytes come back on MISO in order, FILL when it has none
//   3. a byte cut short by CS# is discarded and counted (partials_o); MISO released with CS# high
//   4. bytes arriving while the FIFO to the bridge is full are dropped and counted (overruns_o)
// Ends with "N passed, M failed" and $fatal on any failure (run by ctest rtl_phy_spi).
`timescale 1ns / 1ps
module tb_phy_spi;
    localparam [7:0] FILL = 8'h00;
    reg clk = 1'b0, rst_n = 1'b0;
    always #5 clk = ~clk;                    // 100 MHz system clock

    reg        cs_n = 1'b1, sck = 1'b0, mosi = 1'b0;
    wire       miso, miso_oe;
    wire       rx_valid, tx_ready;
    wire [7:0] rx_data;
    reg        rx_ready = 1'b1, tx_valid = 1'b0;
    reg  [7:0] tx_data = 8'h00;
    wire [15:0] overruns, partials;

    kmrig_phy_spi #(.AW(4), .FILL(FILL)) dut (
        .clk_i (clk), .rst_ni (rst_n),
        .rx_valid_o (rx_valid), .rx_data_o (rx_data), .rx_ready_i (rx_ready),
        .tx_valid_i (tx_valid), .tx_data_i (tx_data), .tx_ready_o (tx_ready),
        .spi_cs_ni (cs_n), .spi_sck_i (sck), .spi_mosi_i (mosi), .spi_miso_o (miso),
        .miso_oe_o (miso_oe), .overruns_o (overruns), .partials_o (partials));

    integer passed = 0, failed = 0;
    task check(input cond, input [8*64-1:0] what);
        begin
            if (cond) passed = passed + 1;
            else begin
                failed = failed + 1;
                $display("FAIL: %0s", what);
            end
        end
    endtask

    // bridge side: collect what arrives
    reg [7:0] got [0:255];
    integer ngot = 0;
    always @(posedge clk) begin
        if (rx_valid && rx_ready) begin
            got[ngot] <= rx_data;
            ngot <= ngot + 1;
        end
    end

    localparam real HALF = 41.3;             // SCK half period: SCK = 12.1 MHz < 100 / 8
    reg [7:0] miso_byte;
    // one byte, as MPSSE 0x31 clocks it: MOSI set while SCK is low, MISO sampled at the rise
    task xfer(input [7:0] out, output [7:0] in, input integer nbits);
        integer b;
        begin
            in = 8'h00;
            for (b = 7; b > 7 - nbits; b = b - 1) begin
                mosi = out[b];
                #(HALF);
                sck = 1'b1;
                in[b] = miso;
                #(HALF);
                sck = 1'b0;
            end
        end
    endtask

    task select;
        begin
            #(37.1) cs_n = 1'b0;
            #(HALF * 2);
        end
    endtask
    task deselect;
        begin
            #(HALF) cs_n = 1'b1;
            #(HALF * 2);
        end
    endtask

    // bridge side: queue bytes to send
    task push(input [7:0] b);
        begin
            @(negedge clk);
            while (!tx_ready) @(negedge clk);
            tx_valid = 1'b1;
            tx_data  = b;
            @(negedge clk);
            tx_valid = 1'b0;
        end
    endtask

    integer i, base, ok;
    reg [7:0] r;
    initial begin
        #(33) rst_n = 1'b1;
        #(100);

        // 1 + 2: full duplex, 12 bytes each way; the bridge pauses its side now and then
        for (i = 0; i < 12; i = i + 1) push(8'hC0 + i[7:0]);
        select;
        ok = 1;
        for (i = 0; i < 12; i = i + 1) begin
            rx_ready = (i % 3) != 1;
            xfer(8'h30 + i[7:0], r, 8);
            if (r !== 8'hC0 + i[7:0]) begin
                ok = 0;
                $display("  MISO byte %0d: %02x, want %02x", i, r, 8'hC0 + i[7:0]);
            end
        end
        rx_ready = 1'b1;
        check(ok, "MISO carries the bridge's bytes in order");
        xfer(8'h5A, r, 8);
        check(r === FILL, "MISO sends FILL when the bridge has nothing");
        deselect;
        #(200);
        ok = (ngot == 13);
        for (i = 0; i < 12; i = i + 1) ok = ok && got[i] == 8'h30 + i[7:0];
        ok = ok && got[12] == 8'h5A;
        check(ok, "the master's bytes reach the bridge in order");
        check(miso_oe === 1'b0, "MISO released while CS# is high");

        // 3: a partial byte
        base = ngot;
        select;
        check(miso_oe === 1'b1, "MISO driven while CS# is low");
        xfer(8'hFF, r, 5);
        deselect;
        select;
        xfer(8'h77, r, 8);
        deselect;
        #(200);
        check(partials == 16'd1, "a byte cut short by CS# is counted in partials_o");
        check(ngot == base + 1 && got[base] == 8'h77, "the cut byte is discarded, the next is whole");

        // 4: overrun: the bridge takes nothing, 16 fit, the 17th and 18th are dropped
        base = ngot;
        rx_ready = 1'b0;
        select;
        for (i = 0; i < 18; i = i + 1) xfer(8'h80 + i[7:0], r, 8);
        deselect;
        #(200);
        check(overruns == 16'd2, "bytes finding the FIFO full are counted in overruns_o");
        rx_ready = 1'b1;
        #(400);
        ok = (ngot == base + 16);
        for (i = 0; i < 16; i = i + 1) ok = ok && got[base + i] == 8'h80 + i[7:0];
        check(ok, "the 16 bytes that fitted are delivered in order");

        $display("%0d passed, %0d failed", passed, failed);
        if (failed != 0) $fatal(1, "tb_phy_spi: %0d checks failed", failed);
        $finish;
    end
endmodule

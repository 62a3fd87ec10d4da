// kmrig_phy_spi: an SPI-slave PHY for the bridge, for boards whose FTDI channel is wired as SPI
// (the host drives it with the chip's MPSSE engine as SPI master; docs/rtl.md, "PHYs").
//
// SPI mode 0 (CPOL = 0, CPHA = 0), MSB first, 8-bit bytes, full duplex: every byte the master
// clocks out on MOSI is a byte to the bridge, and in the same 8 clocks the PHY returns a byte on
// MISO: the next byte the bridge sends, or FILL when it has none (FILL is not the protocol's SOF
// 0xA5, so the host's frame decoder, hunting for SOF between frames, discards it; docs/protocol.md
// section 2). The master likewise sends FILL bytes (any non-SOF byte) when it only wants to read;
// the bridge's receiver discards them while hunting (they count in its dropped-byte total).
//
// One clock domain: spi_cs_ni, spi_sck_i and spi_mosi_i are sampled by clk_i through two-flop
// synchronisers, so the SPI clock must be at most f(clk_i) / 8 (MISO changes 3 clk_i edges after
// the SCK fall it follows and must be stable at the next rise; at 24 MHz: SCK <= 3 MHz, MPSSE
// divisor >= 9). MSB of a byte: on MISO from CS# falling (or the 8th falling edge of the byte
// before) until the first rising edge; bit n moves out on falling edges. CS# high ends a
// transfer: a partial byte is discarded (counted in partials_o) and MISO is released (miso_oe_o).
//
// Bytes from the master wait in a 2**AW-entry FIFO for the bridge; one that finds it full is
// dropped and counted in overruns_o (the protocol's CRC lets the host notice). Bytes to the
// master wait in a 2**AW-entry FIFO that the bridge fills. The bridge sends a frame it has
// started at far more than a byte per 8 clk_i cycles, so FILL never falls inside a frame.
module kmrig_phy_spi #(
    parameter integer AW   = 4,
    parameter [7:0]   FILL = 8'h00
) (
    input  wire        clk_i,
    input  wire        rst_ni,
    // to/from the bridge
    output wire        rx_valid_o,
    output wire [7:0]  rx_data_o,
    input  wire        rx_ready_i,
    input  wire        tx_valid_i,
    input  wire [7:0]  tx_data_i,
    output wire        tx_ready_o,
    // the SPI bus (slave)
    input  wire        spi_cs_ni,
    input  wire        spi_sck_i,
    input  wire        spi_mosi_i,
    output wire        spi_miso_o,
    output wire        miso_oe_o,
    // counters (saturating)
    output wire [15:0] overruns_o,
    output wire [15:0] partials_o
);
    localparam integer DEPTH = 1 << AW;

    // ---- synchronisers and edges ------------------------------------------------------------
    reg [2:0] cs_q, sck_q;    // two synchroniser flops and the previous sample
    reg [1:0] mosi_q;
    wire cs_n  = cs_q[1];
    wire sel   = !cs_n;
    wire cs_fall = cs_q[2] && !cs_q[1];
    wire rise  = sel && !sck_q[2] && sck_q[1];
    wire fall  = sel && sck_q[2] && !sck_q[1];

    // ---- FIFOs ------------------------------------------------------------------------------
    reg  [7:0]  rxm_q [0:DEPTH-1];
    reg  [7:0]  txm_q [0:DEPTH-1];
    reg  [AW:0] rxw_q, rxr_q, txw_q, txr_q;
    wire [AW:0] rx_level = rxw_q - rxr_q;
    wire [AW:0] tx_level = txw_q - txr_q;
    wire        rx_full  = rx_level == DEPTH[AW:0];
    wire        rx_empty = rx_level == {(AW+1){1'b0}};
    wire        tx_full  = tx_level == DEPTH[AW:0];
    wire        tx_empty = tx_level == {(AW+1){1'b0}};

    assign rx_valid_o = !rx_empty;
    assign rx_data_o  = rxm_q[rxr_q[AW-1:0]];
    assign tx_ready_o = !tx_full;
    wire   rx_pop     = rx_ready_i && !rx_empty;
    wire   tx_push    = tx_valid_i && !tx_full;

    // ---- shifters ---------------------------------------------------------------------------
    reg [2:0]  bit_q;         // rising edges taken in the current byte
    reg [6:0]  rsh_q;         // bits received so far (MSB first)
    reg [7:0]  tsh_q;         // byte being sent; tsh_q[7] is on MISO
    reg [15:0] ovr_q, part_q;

    wire       byte_done = rise && bit_q == 3'd7;
    wire [7:0] rx_byte   = {rsh_q, mosi_q[1]};
    // load the next byte to send at CS# fall and at the falling edge after a byte's last bit
    wire       load      = cs_fall || (fall && bit_q == 3'd0);
    wire       tx_pop    = load && !tx_empty;
    wire [7:0] next_tx   = tx_empty ? FILL : txm_q[txr_q[AW-1:0]];

    always @(posedge clk_i) begin
        if (byte_done && !rx_full)
            rxm_q[rxw_q[AW-1:0]] <= rx_byte;
        if (tx_push)
            txm_q[txw_q[AW-1:0]] <= tx_data_i;
    end

    always @(posedge clk_i or negedge rst_ni) begin
        if (!rst_ni) begin
            cs_q   <= 3'b111;
            sck_q  <= 3'b000;
            mosi_q <= 2'b00;
            bit_q  <= 3'd0;
            rsh_q  <= 7'h00;
            tsh_q  <= FILL;
            rxw_q  <= {(AW+1){1'b0}};
            rxr_q  <= {(AW+1){1'b0}};
            txw_q  <= {(AW+1){1'b0}};
            txr_q  <= {(AW+1){1'b0}};
            ovr_q  <= 16'h0000;
            part_q <= 16'h0000;
        end else begin
            cs_q   <= {cs_q[1:0], spi_cs_ni};
            sck_q  <= {sck_q[1:0], spi_sck_i};
            mosi_q <= {mosi_q[0], spi_mosi_i};
            if (rx_pop)
                rxr_q <= rxr_q + 1'b1;
            if (tx_push)
                txw_q <= txw_q + 1'b1;
            if (cs_n) begin
                if (bit_q != 3'd0 && part_q != 16'hFFFF)
                    part_q <= part_q + 16'd1;
                bit_q <= 3'd0;
            end else if (rise) begin
                bit_q <= bit_q + 3'd1;
                rsh_q <= rx_byte[6:0];
                if (byte_done) begin
                    if (!rx_full)
                        rxw_q <= rxw_q + 1'b1;
                    else if (ovr_q != 16'hFFFF)
                        ovr_q <= ovr_q + 16'd1;
                end
            end
            if (load) begin
                tsh_q <= next_tx;
                if (tx_pop)
                    txr_q <= txr_q + 1'b1;
            end else if (fall) begin
                tsh_q <= {tsh_q[6:0], 1'b0};
            end
        end
    end

    assign spi_miso_o = tsh_q[7];
    assign miso_oe_o  = sel;
    assign overruns_o = ovr_q;
    assign partials_o = part_q;
endmodule

// kmrig_phy_uart: an 8N1 UART PHY for the bridge (docs/rtl.md, "PHYs"), one clock domain.
//
// DIVISOR is the bit time in clk_i cycles (at least 4): 25 at 50 MHz is 2 Mbaud, 4 at 12 MHz is
// 3 Mbaud. The receiver samples rxd_i through a two-flop synchroniser, starts a frame on a
// falling edge, checks the start bit in its middle (a 1 there is a glitch and ignored), samples
// the 8 data bits LSB first one bit time apart and checks the stop bit: a 0 there is a framing
// error: the byte is dropped, frame_errors_o counts it (saturating) and the receiver waits for the
// line to return to 1 (a break costs one error). Received bytes wait in a 2**AW-entry FIFO for
// the bridge; a byte that finds it full is dropped and counted in overruns_o. The protocol's
// CRC-32 (mandatory on UART links) lets the host notice either loss.
// Flow control (FLOW = 1): rts_no is low while the FIFO has room for at least 4 more bytes (the
// peer may send a few after RTS rises: an FT2232H stops within 1..3 characters), and the
// transmitter starts a byte only while cts_ni is low (synchronised). FLOW = 0: rts_no stays
// low and cts_ni is ignored.
module kmrig_phy_uart #(
    parameter integer DIVISOR = 25,
    parameter integer AW      = 4,
    parameter integer FLOW    = 0
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
    // the line
    input  wire        rxd_i,
    output wire        txd_o,
    output wire        rts_no,
    input  wire        cts_ni,
    // counters
    output wire [15:0] frame_errors_o,
    output wire [15:0] overruns_o
);
    localparam integer DEPTH = 1 << AW;
    localparam integer CW    = 16;
    localparam [AW:0]  RTS_LEVEL = DEPTH[AW:0] - 4;
    localparam [CW-1:0] BIT  = DIVISOR[CW-1:0] - {{(CW-1){1'b0}}, 1'b1};
    localparam [CW-1:0] HALF = (DIVISOR[CW-1:0] >> 1) - {{(CW-1){1'b0}}, 1'b1};

    // ---- receiver ---------------------------------------------------------------------------
    reg [2:0]    rsync_q;       // two synchroniser flops and the previous sample
    reg          rbusy_q;
    reg          rbreak_q;      // waiting for the line to return to 1 after a framing error
    reg [CW-1:0] rcnt_q;
    reg [3:0]    rbit_q;        // 0: start bit, 1..8: data, 9: stop
    reg [7:0]    rshift_q;
    reg [15:0]   ferr_q, ovr_q;

    wire rxd  = rsync_q[1];
    wire fall = rsync_q[2] && !rsync_q[1];

    reg  [7:0]  mem_q [0:DEPTH-1];
    reg  [AW:0] wp_q, rp_q;
    wire [AW:0] level = wp_q - rp_q;
    wire        full  = (level == DEPTH[AW:0]);
    wire        empty = (level == {(AW+1){1'b0}});
    wire        pop   = rx_ready_i && !empty;
    reg         push;

    always @(posedge clk_i) begin
        if (push && !full)
            mem_q[wp_q[AW-1:0]] <= rshift_q;
    end

    always @(posedge clk_i or negedge rst_ni) begin
        if (!rst_ni) begin
            rsync_q  <= 3'b111;
            rbusy_q  <= 1'b0;
            rbreak_q <= 1'b0;
            rcnt_q   <= {CW{1'b0}};
            rbit_q   <= 4'd0;
            rshift_q <= 8'h00;
            ferr_q   <= 16'h0000;
            ovr_q    <= 16'h0000;
            wp_q     <= {(AW+1){1'b0}};
            rp_q     <= {(AW+1){1'b0}};
            push     <= 1'b0;
        end else begin
            rsync_q <= {rsync_q[1:0], rxd_i};
            push    <= 1'b0;
            if (push) begin
                if (full) begin
                    if (ovr_q != 16'hFFFF)
                        ovr_q <= ovr_q + 16'h0001;
                end else begin
                    wp_q <= wp_q + {{AW{1'b0}}, 1'b1};
                end
            end
            if (pop)
                rp_q <= rp_q + {{AW{1'b0}}, 1'b1};
            if (rbreak_q) begin
                if (rxd)
                    rbreak_q <= 1'b0;
            end else if (!rbusy_q) begin
                if (fall) begin
                    rbusy_q <= 1'b1;
                    rbit_q  <= 4'd0;
                    rcnt_q  <= HALF;
                end
            end else if (rcnt_q != {CW{1'b0}}) begin
                rcnt_q <= rcnt_q - {{(CW-1){1'b0}}, 1'b1};
            end else begin
                rcnt_q <= BIT;
                rbit_q <= rbit_q + 4'd1;
                if (rbit_q == 4'd0) begin
                    if (rxd)
                        rbusy_q <= 1'b0; // a glitch, not a start bit
                end else if (rbit_q != 4'd9) begin
                    rshift_q <= {rxd, rshift_q[7:1]};
                end else begin
                    rbusy_q <= 1'b0;
                    if (rxd) begin
                        push <= 1'b1;
                    end else begin
                        rbreak_q <= 1'b1;
                        if (ferr_q != 16'hFFFF)
                            ferr_q <= ferr_q + 16'h0001;
                    end
                end
            end
        end
    end

    assign rx_valid_o     = !empty;
    assign rx_data_o      = mem_q[rp_q[AW-1:0]];
    assign frame_errors_o = ferr_q;
    assign overruns_o     = ovr_q;
    assign rts_no         = (FLOW != 0) ? (level > RTS_LEVEL) : 1'b0;

    // ---- transmitter ------------------------------------------------------------------------
    reg [1:0]    csync_q;
    reg          tbusy_q;
    reg [CW-1:0] tcnt_q;
    reg [3:0]    tbit_q;        // bits left after the current one
    reg [8:0]    tshift_q;      // the current bit in [0]
    wire         cts_ok = (FLOW == 0) || !csync_q[1];

    assign tx_ready_o = !tbusy_q && cts_ok;
    assign txd_o      = tbusy_q ? tshift_q[0] : 1'b1;

    always @(posedge clk_i or negedge rst_ni) begin
        if (!rst_ni) begin
            csync_q  <= 2'b11;
            tbusy_q  <= 1'b0;
            tcnt_q   <= {CW{1'b0}};
            tbit_q   <= 4'd0;
            tshift_q <= 9'h1FF;
        end else begin
            csync_q <= {csync_q[0], cts_ni};
            if (!tbusy_q) begin
                if (tx_valid_i && cts_ok) begin
                    tbusy_q  <= 1'b1;
                    tshift_q <= {tx_data_i, 1'b0};
                    tbit_q   <= 4'd9;
                    tcnt_q   <= BIT;
                end
            end else if (tcnt_q != {CW{1'b0}}) begin
                tcnt_q <= tcnt_q - {{(CW-1){1'b0}}, 1'b1};
            end else if (tbit_q == 4'd0) begin
                tbusy_q <= 1'b0;
            end else begin
                tshift_q <= {1'b1, tshift_q[8:1]};
                tbit_q   <= tbit_q - 4'd1;
                tcnt_q   <= BIT;
            end
        end
    end
endmodule

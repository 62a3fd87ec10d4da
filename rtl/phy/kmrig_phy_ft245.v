// kmrig_phy_ft245: the FT232H/FT2232H synchronous 245 FIFO PHY (docs/rtl.md, "PHYs").
//
// Two clock domains: clk_i (the system clock of the bridge) and ft_clk_i (the chip's 60 MHz
// CLKOUT). Bytes cross through two kmrig_phy_afifo (2**AW entries each way). On the chip side
// every output is a register clocked by ft_clk_i, and every input is sampled on its rising edge,
// as the FT232H datasheet's synchronous FIFO timing expects:
//   read  (host to FPGA): RXF# low = the chip has data. The PHY takes OE# low, one edge later
//         RD# low; each edge with OE#, RD# and RXF# low delivers the byte on D[7:0] and the chip
//         presents the next. RD# stays low only while the RX FIFO has room (an almost-full
//         flag registered one cycle ahead, RX_AF entries of slack: see rx_room_q).
//   write (FPGA to host): TXE# low = the chip takes data. Each edge with WR# and TXE# low takes
//         the byte the PHY drives; the PHY drives D only while OE# is high (one idle edge between
//         directions in both turnarounds, so the bus is never driven from both ends).
//   The bus is half duplex: after BURST bytes in one direction the PHY yields to the other if it
//   has work (writes first when both start together).
// SI/WU rule: the PHY follows the frames the bridge sends (it is their only source, so the
// frame boundaries are known: 8-byte header, `len` payload, 4 CRC bytes when PCRC). When a
// frame ends that is urgent (SIWU_ALL = 1: every frame; 0: only device-initiated frames, types
// 0x60..0x7F: DMA requests and events such as EVT_IRQ), and then no byte arrives from the bridge
// for IDLE_CYCLES system cycles, the PHY waits until everything has been written to the chip and
// pulses SI/WU low for one ft_clk cycle: the chip sends its buffer in the next USB packet instead
// of waiting for 510 bytes or its latency timer.
module kmrig_phy_ft245 #(
    parameter integer AW          = 4,
    parameter integer BURST       = 64,
    parameter integer IDLE_CYCLES = 8,
    parameter integer SIWU_ALL    = 1
) (
    // system side
    input  wire       clk_i,
    input  wire       rst_ni,
    output wire       rx_valid_o,
    output wire [7:0] rx_data_o,
    input  wire       rx_ready_i,
    input  wire       tx_valid_i,
    input  wire [7:0] tx_data_i,
    output wire       tx_ready_o,
    // chip side (ft_clk_i)
    input  wire       ft_clk_i,
    input  wire [7:0] ft_data_i,
    output wire [7:0] ft_data_o,
    output wire       ft_data_oe_o,
    input  wire       ft_rxf_ni,
    input  wire       ft_txe_ni,
    output wire       ft_rd_no,
    output wire       ft_wr_no,
    output wire       ft_oe_no,
    output wire       ft_siwu_no
);
    wire ft_rst_n;
    kmrig_phy_rst_sync u_rst (
        .clk_i  (ft_clk_i),
        .rst_ni (rst_ni),
        .rst_no (ft_rst_n)
    );

    // ---- FIFOs ------------------------------------------------------------------------------
    wire          rxf_push;     // ft side: a byte from the chip
    wire [AW:0]   rxf_free;
    /* verilator lint_off UNUSEDSIGNAL */
    wire          rxf_ready;    // not needed: RD# is low only when there is room
    /* verilator lint_on UNUSEDSIGNAL */
    kmrig_phy_afifo #(
        .DW (8),
        .AW (AW)
    ) u_rxf (
        .w_clk_i   (ft_clk_i),
        .w_rst_ni  (ft_rst_n),
        .w_valid_i (rxf_push),
        .w_data_i  (ft_data_i),
        .w_ready_o (rxf_ready),
        .w_free_o  (rxf_free),
        .r_clk_i   (clk_i),
        .r_rst_ni  (rst_ni),
        .r_valid_o (rx_valid_o),
        .r_data_o  (rx_data_o),
        .r_pop_i   (rx_ready_i)
    );

    wire       txf_valid;
    wire [7:0] txf_data;
    wire       txf_pop;
    /* verilator lint_off UNUSEDSIGNAL */
    wire [AW:0] txf_free;       // the system side pushes by tx_ready_o
    /* verilator lint_on UNUSEDSIGNAL */
    kmrig_phy_afifo #(
        .DW (8),
        .AW (AW)
    ) u_txf (
        .w_clk_i   (clk_i),
        .w_rst_ni  (rst_ni),
        .w_valid_i (tx_valid_i),
        .w_data_i  (tx_data_i),
        .w_ready_o (tx_ready_o),
        .w_free_o  (txf_free),
        .r_clk_i   (ft_clk_i),
        .r_rst_ni  (ft_rst_n),
        .r_valid_o (txf_valid),
        .r_data_o  (txf_data),
        .r_pop_i   (txf_pop)
    );

    // ---- system side: frame tracking for SI/WU ----------------------------------------------
    wire        tx_take = tx_valid_i && tx_ready_o;
    reg  [12:0] pos_q;          // byte index in the current frame
    reg  [12:0] flen_q;         // its total length, known from byte 5
    reg  [1:0]  ftype_q;        // bits 6:5 of the frame type (2'b11: 0x60..0x7F)
    reg         pcrc_q;
    reg  [7:0]  len_lo_q;
    reg         urgent_q;       // an urgent frame ended; flush when idle
    reg  [7:0]  idle_q;
    reg         flush_tgl_q;    // toggles once per flush request (crosses to ft_clk)

    wire [12:0] len_full  = {tx_data_i[4:0], len_lo_q};
    wire        is_urgent = (SIWU_ALL != 0) || (ftype_q == 2'b11);
    wire        last_byte = (pos_q >= 13'd6) && (pos_q == flen_q - 13'd1);

    always @(posedge clk_i or negedge rst_ni) begin
        if (!rst_ni) begin
            pos_q       <= 13'd0;
            flen_q      <= 13'd8;
            ftype_q     <= 2'b00;
            pcrc_q      <= 1'b0;
            len_lo_q    <= 8'h00;
            urgent_q    <= 1'b0;
            idle_q      <= 8'h00;
            flush_tgl_q <= 1'b0;
        end else begin
            if (tx_take) begin
                idle_q <= 8'h00;
                case (pos_q)
                    13'd1: ftype_q  <= tx_data_i[6:5];
                    13'd2: pcrc_q   <= tx_data_i[0];
                    13'd4: len_lo_q <= tx_data_i;
                    13'd5: flen_q   <= len_full + 13'd8 + (pcrc_q ? 13'd4 : 13'd0);
                    default: ;
                endcase
                if (last_byte) begin
                    pos_q <= 13'd0;
                    if (is_urgent)
                        urgent_q <= 1'b1;
                end else begin
                    pos_q <= pos_q + 13'd1;
                end
            end else if (idle_q != IDLE_CYCLES[7:0]) begin
                idle_q <= idle_q + 8'h01;
            end else if (urgent_q) begin
                urgent_q    <= 1'b0;
                flush_tgl_q <= ~flush_tgl_q;
            end
        end
    end

    // ---- chip side --------------------------------------------------------------------------
    localparam [1:0] S_IDLE = 2'd0, S_OE = 2'd1, S_READ = 2'd2, S_WRITE = 2'd3;

    reg  [1:0]  state_q;
    reg         oe_n_q, rd_n_q, wr_n_q, d_oe_q, siwu_n_q;
    reg  [7:0]  dout_q;
    reg         hold_q;         // dout_q holds a byte not yet taken by the chip
    reg  [7:0]  cnt_q;          // bytes in this direction since the last turnaround
    reg  [2:0]  ftgl_q;         // flush toggle synchroniser and its last value
    reg         flush_q;        // a flush is due

    wire wr_take    = !wr_n_q && !ft_txe_ni;
    wire rd_take    = !rd_n_q && !oe_n_q && !ft_rxf_ni;
    wire hold_after = hold_q && !wr_take;
    wire load       = !hold_after && txf_valid;
    wire have_tx    = hold_after || load;
    // rx_room_q: the RX FIFO's almost-full flag, registered one cycle ahead so that the free
    // count (gray decode and subtraction in the FIFO) is off the path into RD# and the state.
    // It is set at an edge when at least RX_AF entries were free before that edge; the flag
    // can then let RD# low for the edge after the next one, so three bytes may still arrive on
    // it (the edge that registers it, the next one, and the one a low RD# delivers): RX_AF is
    // those three plus one spare entry, and no byte can find the FIFO full.
    localparam integer RX_AF = 4;
    reg  rx_room_q;
    wire rx_want    = !ft_rxf_ni && rx_room_q;
    wire tx_want    = have_tx && !ft_txe_ni;
    wire burst_done = (cnt_q >= BURST[7:0]);

    assign rxf_push = rd_take;
    assign txf_pop  = load;

    reg [1:0] state_d;
    always @(*) begin
        state_d = state_q;
        case (state_q)
            S_IDLE:  if (tx_want) state_d = S_WRITE;
                     else if (rx_want) state_d = S_OE;
            S_OE:    state_d = S_READ;
            S_READ:  if (!rx_want || (burst_done && have_tx)) state_d = S_IDLE;
            default: if (!tx_want || (burst_done && !ft_rxf_ni)) state_d = S_IDLE;
        endcase
    end

    always @(posedge ft_clk_i or negedge ft_rst_n) begin
        if (!ft_rst_n) begin
            state_q  <= S_IDLE;
            oe_n_q   <= 1'b1;
            rd_n_q   <= 1'b1;
            wr_n_q   <= 1'b1;
            d_oe_q   <= 1'b0;
            siwu_n_q <= 1'b1;
            dout_q   <= 8'h00;
            hold_q   <= 1'b0;
            cnt_q    <= 8'h00;
            ftgl_q   <= 3'b000;
            flush_q  <= 1'b0;
            rx_room_q <= 1'b0;
        end else begin
            state_q <= state_d;
            rx_room_q <= (rxf_free >= RX_AF[AW:0]);
            hold_q  <= have_tx;
            if (load)
                dout_q <= txf_data;
            oe_n_q <= !(state_d == S_OE || state_d == S_READ);
            rd_n_q <= !(state_d == S_READ);
            wr_n_q <= !(state_d == S_WRITE && have_tx);
            d_oe_q <= (state_d == S_WRITE);
            if (state_d != state_q)
                cnt_q <= 8'h00;
            else if ((wr_take || rd_take) && !burst_done)
                cnt_q <= cnt_q + 8'h01;
            ftgl_q <= {ftgl_q[1:0], flush_tgl_q};
            siwu_n_q <= 1'b1;
            if (ftgl_q[2] != ftgl_q[1])
                flush_q <= 1'b1;
            else if (flush_q && !have_tx && !txf_valid && wr_n_q) begin
                flush_q  <= 1'b0;
                siwu_n_q <= 1'b0;
            end
        end
    end

    assign ft_data_o    = dout_q;
    assign ft_data_oe_o = d_oe_q;
    assign ft_oe_no     = oe_n_q;
    assign ft_rd_no     = rd_n_q;
    assign ft_wr_no     = wr_n_q;
    assign ft_siwu_no   = siwu_n_q;
endmodule

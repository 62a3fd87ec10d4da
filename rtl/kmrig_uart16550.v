// kmrig_uart16550: a 16550-compatible UART. Wishbone B4 classic slave, registered ACK, eight
// 8-bit registers at byte offsets 0..7 (byte lanes of two 32-bit words). Register map, timing
// and deviations from the PC16550D: docs/rtl.md ("uart0").
//
// - RBR/THR/DLL (0), IER/DLM (1), IIR/FCR (2), LCR (3), MCR (4), LSR (5), MSR (6), SCR (7);
//   DLAB = LCR[7]. An access with several byte lanes acts on each selected register in the
//   same cycle, with DLAB as it was before the access.
// - 16-byte RX and TX FIFOs (FCR[0]); with FIFOs off both behave as one holding register.
// - Interrupt priority (IIR): line status > RX data available (trigger level) > character
//   timeout > THR empty > modem status. irq_o is the chip's INTRPT pin: any enabled source
//   (MCR OUT2 does not gate it; there is no PC motherboard glue).
// - Baud: a bit lasts 16 * divisor cycles (divisor 0 counts as 65536). The transmitter and the
//   receiver time their bits with their own cycle counters (no shared prescaler), so idle
//   skipping can collapse a bit into one evaluation.
// - Loopback (MCR[4]): the transmitter's serial output feeds the receiver, MCR DTR/RTS/OUT1/OUT2
//   feed MSR DSR/CTS/RI/DCD, tx_o idles at 1 and mcr_o reads 0.
// - System DMA (fly-by, as an 8237 serves a 16550): rxrdy_o / txrdy_o are the RXRDY / TXRDY
//   requests (FCR[3] selects mode 1 for TXRDY); dma_rx_pop_i takes the head of the RX FIFO
//   (dma_rx_dat_o) as an RBR read would, dma_tx_push_i pushes dma_tx_dat_i as a THR write would.
// Idle skipping: next_event_o is the distance to the next change that is not a linear count:
// the end of the current TX bit, the next RX sample, the next character-timeout step, or 1
// while an input synchroniser or a modem status bit is about to change.
module kmrig_uart16550 (
    input  wire        clk_i,
    input  wire        rst_ni,
    input  wire [31:0] tick_i,

    input  wire        wb_cyc_i,
    input  wire        wb_stb_i,
    input  wire        wb_we_i,
    // Registers are selected by adr[2] and the byte lanes; the interconnect matched the rest.
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire [31:0] wb_adr_i,
    /* verilator lint_on UNUSEDSIGNAL */
    input  wire [3:0]  wb_sel_i,
    input  wire [31:0] wb_dat_i,
    output wire [31:0] wb_dat_o,
    output wire        wb_ack_o,
    output wire        wb_err_o,

    output wire        tx_o,          // serial out, 1 = mark (idle)
    input  wire        rx_i,          // serial in
    output wire [3:0]  mcr_o,         // {OUT2, OUT1, RTS, DTR}, 1 = asserted
    input  wire [3:0]  msr_i,         // {DCD, RI, DSR, CTS}, 1 = asserted

    output wire        rxrdy_o,       // RX FIFO not empty
    output wire        txrdy_o,       // mode 0: TX FIFO empty; mode 1: TX FIFO not full
    input  wire        dma_rx_pop_i,
    output wire [7:0]  dma_rx_dat_o,
    input  wire        dma_tx_push_i,
    input  wire [7:0]  dma_tx_dat_i,
    output wire        irq_o,
    output wire [31:0] next_event_o
);
    localparam [2:0] RX_IDLE  = 3'd0;
    localparam [2:0] RX_START = 3'd1;
    localparam [2:0] RX_DATA  = 3'd2;
    localparam [2:0] RX_PAR   = 3'd3;
    localparam [2:0] RX_STOP  = 3'd4;

    localparam [2:0] IID_RLS  = 3'b011;
    localparam [2:0] IID_RDA  = 3'b010;
    localparam [2:0] IID_CTI  = 3'b110;
    localparam [2:0] IID_THRE = 3'b001;
    localparam [2:0] IID_MS   = 3'b000;

    // ---------------------------------------------------------------- registers
    reg        ack_q;
    reg [31:0] dat_q;
    reg [7:0]  dll_q;
    reg [7:0]  dlm_q;
    reg [3:0]  ier_q;
    reg [7:0]  lcr_q;
    reg [4:0]  mcr_q;
    reg [7:0]  scr_q;
    reg        fifo_en_q;
    reg        dma_mode_q;
    reg [1:0]  rx_trig_q;

    // RX FIFO: {BI, FE, PE, data} per entry
    reg [10:0] rxf_mem [0:15];
    reg [3:0]  rxf_rd_q;
    reg [3:0]  rxf_wr_q;
    reg [4:0]  rxf_cnt_q;
    reg [4:0]  rxf_errs_q;     // entries with an error bit
    // TX FIFO
    reg [7:0]  txf_mem [0:15];
    reg [3:0]  txf_rd_q;
    reg [3:0]  txf_wr_q;
    reg [4:0]  txf_cnt_q;

    reg        oe_q;           // LSR error bits, sticky until LSR is read
    reg        pe_q;
    reg        fe_q;
    reg        bi_q;
    reg        thre_ip_q;      // THR-empty interrupt latched (cleared by THR write / IIR read)

    reg        tx_busy_q;
    reg [11:0] tx_shift_q;     // the frame, bit 0 on the line
    reg [3:0]  tx_bits_q;      // bits left, including the one on the line
    reg        tx_half_q;      // the last stop bit lasts half a bit (1.5 stop bits)
    reg [20:0] tx_cnt_q;       // cycles left in the current bit

    reg [1:0]  rx_sync_q;
    reg [2:0]  rx_state_q;
    reg        rx_armed_q;     // line seen idle (1) since the last frame: a 0 is a start bit
    reg [20:0] rx_cnt_q;       // cycles to the next sample
    reg [2:0]  rx_idx_q;
    reg [7:0]  rx_data_q;
    reg        rx_xor_q;
    reg        rx_pe_q;
    reg        rx_zero_q;      // every sample of the frame so far was 0

    reg        cti_q;
    reg [6:0]  cti_units_q;    // half-bit times left before the timeout
    reg [19:0] cti_cnt_q;      // cycles left in the current half-bit

    reg [3:0]  msr_s1_q;       // modem inputs, two-flop synchroniser
    reg [3:0]  msr_s2_q;
    reg [3:0]  msr_q;          // {DCD, RI, DSR, CTS} as MSR[7:4] shows them
    reg [3:0]  dmsr_q;         // {DDCD, TERI, DDSR, DCTS}

    // ---------------------------------------------------------------- bus decode
    wire       req  = wb_cyc_i & wb_stb_i & ~ack_q;
    wire       rd   = req & ~wb_we_i;
    wire       wr   = req & wb_we_i;
    wire       dlab = lcr_q[7];
    wire [7:0] rsel = wb_adr_i[2] ? {wb_sel_i, 4'b0000} : {4'b0000, wb_sel_i};
    // Reads of IER, LCR, MCR and SCR have no side effect, writes to LSR and MSR are ignored,
    // FCR[5:4] are reserved.
    /* verilator lint_off UNUSEDSIGNAL */
    wire [7:0] rd_r = rsel & {8{rd}};
    wire [7:0] wr_r = rsel & {8{wr}};
    wire [7:0] wd2  = wb_dat_i[23:16];
    /* verilator lint_on UNUSEDSIGNAL */
    wire [7:0] wd0  = wb_dat_i[7:0];
    wire [7:0] wd1  = wb_dat_i[15:8];
    wire [7:0] wd3  = wb_dat_i[31:24];

    wire rbr_rd = rd_r[0] & ~dlab;
    wire thr_wr = wr_r[0] & ~dlab;
    wire dll_wr = wr_r[0] & dlab;
    wire dlm_wr = wr_r[1] & dlab;
    wire ier_wr = wr_r[1] & ~dlab;
    wire iir_rd = rd_r[2];
    wire fcr_wr = wr_r[2];
    wire lcr_wr = wr_r[3];
    wire mcr_wr = wr_r[4];
    wire lsr_rd = rd_r[5];
    wire msr_rd = rd_r[6];
    wire scr_wr = wr_r[7];

    // FCR: bits 1..7 take effect only when bit 0 is written 1 (16550A); changing bit 0
    // clears both FIFOs.
    wire fifo_chg = fcr_wr & (wd2[0] != fifo_en_q);
    wire rxf_rst  = fifo_chg | (fcr_wr & wd2[0] & wd2[1]);
    wire txf_rst  = fifo_chg | (fcr_wr & wd2[0] & wd2[2]);

    // ---------------------------------------------------------------- frame format
    wire [1:0]  wls   = lcr_q[1:0];
    wire        stb   = lcr_q[2];
    wire        pen   = lcr_q[3];
    wire        eps   = lcr_q[4];
    wire        stick = lcr_q[5];
    wire [3:0]  nbits = {2'b00, wls} + 4'd5;
    wire [31:0] nbits_w = {28'h0000000, nbits};
    wire [15:0] div   = {dlm_q, dll_q};
    wire        div0  = div == 16'h0000;
    wire [20:0] bit_cycles  = {div0, div, 4'b0000};
    wire [19:0] half_cycles = {div0, div, 3'b000};
    // 4 character times in half-bit units: 4 * (2 * (1 + nbits + pen) + stop half-bits)
    wire [4:0]  char_half = {nbits, 1'b0} + {3'b000, pen, 1'b0} + 5'd2
                          + (stb ? ((wls == 2'b00) ? 5'd3 : 5'd4) : 5'd2);
    wire [6:0]  cti_units = {char_half, 2'b00};

    // ---------------------------------------------------------------- TX FIFO and engine
    wire [4:0] tx_cap   = fifo_en_q ? 5'd16 : 5'd1;
    wire       txf_full = txf_cnt_q >= tx_cap;
    wire       txf_nemp = txf_cnt_q != 5'd0;
    wire       tx_exp   = tx_busy_q & ({11'h000, tx_cnt_q} <= tick_i);
    wire       tx_last  = tx_bits_q == 4'd1;
    wire       tx_load  = txf_nemp & ~txf_rst & (~tx_busy_q | (tx_exp & tx_last));
    // With FIFOs off a THR write over a full holding register replaces it.
    // A DMA push on the same edge as a THR write is lost (the driver owns THR or lends it).
    wire       thr_in   = thr_wr | dma_tx_push_i;
    wire [7:0] thr_dat  = thr_wr ? wd0 : dma_tx_dat_i;
    wire       tx_push  = thr_in & (~txf_full | tx_load | ~fifo_en_q);
    wire       tx_pop   = tx_load | (thr_in & txf_full & ~tx_load & ~fifo_en_q);
    wire [7:0] tx_head  = txf_mem[txf_rd_q];

    reg        tx_par;
    reg [11:0] tx_frame;
    integer    b;
    always @(*) begin
        tx_par = 1'b0;
        for (b = 0; b < 8; b = b + 1) begin
            if (b < nbits_w) begin
                tx_par = tx_par ^ tx_head[b];
            end
        end
        // even (EPS = 1): the parity bit makes the count of 1s even; stick: bit = ~EPS
        tx_par = stick ? ~eps : (eps ? tx_par : ~tx_par);
        tx_frame    = 12'hFFF;
        tx_frame[0] = 1'b0;
        for (b = 0; b < 8; b = b + 1) begin
            if (b < nbits_w) begin
                tx_frame[1 + b] = tx_head[b];
            end else if (b == nbits_w && pen) begin
                tx_frame[1 + b] = tx_par;
            end
        end
        if (nbits == 4'd8 && pen) begin
            tx_frame[9] = tx_par;
        end
    end
    wire [3:0] tx_nframe = 4'd1 + nbits + {3'b000, pen} + (stb ? 4'd2 : 4'd1);

    wire loop = mcr_q[4];
    wire sout = (tx_busy_q ? tx_shift_q[0] : 1'b1) & ~lcr_q[6];

    // ---------------------------------------------------------------- RX engine
    wire rx_in  = loop ? sout : rx_i;
    wire rx     = rx_sync_q[1];
    wire rx_exp = (rx_state_q != RX_IDLE) & ({11'h000, rx_cnt_q} <= tick_i);
    wire rx_stop_smp = (rx_state_q == RX_STOP) & rx_exp;
    wire rx_bi  = rx_zero_q & ~rx;
    wire [10:0] rx_word = {rx_bi, ~rx, rx_pe_q, rx_data_q};
    wire rx_par_exp = stick ? ~eps : (eps ? rx_xor_q : ~rx_xor_q);

    // ---------------------------------------------------------------- RX FIFO
    wire [4:0]  rx_cap   = fifo_en_q ? 5'd16 : 5'd1;
    wire        rxf_full = rxf_cnt_q >= rx_cap;
    wire        rxf_nemp = rxf_cnt_q != 5'd0;
    wire        rx_rdpop = (rbr_rd | dma_rx_pop_i) & rxf_nemp;
    wire        rx_ovr   = rx_stop_smp & rxf_full & ~rx_rdpop;
    // With FIFOs off an overrun replaces the held character; with FIFOs on it is dropped.
    wire        rx_push  = rx_stop_smp & (~rxf_full | rx_rdpop | ~fifo_en_q) & ~rxf_rst;
    wire        rx_pop   = (rx_rdpop | (rx_ovr & ~fifo_en_q)) & ~rxf_rst;
    wire [10:0] rx_head  = rxf_mem[rxf_rd_q];
    wire [3:0]  rxf_rd_n = rxf_rd_q + 4'd1;
    // Only the error bits of the second entry matter (it becomes the head on a pop).
    /* verilator lint_off UNUSEDSIGNAL */
    wire [10:0] rx_next  = rxf_mem[rxf_rd_n];
    /* verilator lint_on UNUSEDSIGNAL */
    // Error bits of a character that becomes the head of the FIFO this edge.
    wire [2:0]  head_err = (rx_push && (rxf_cnt_q == 5'd0 || (rx_pop && rxf_cnt_q == 5'd1)))
                               ? rx_word[10:8]
                         : (rx_pop && rxf_cnt_q >= 5'd2) ? rx_next[10:8] : 3'b000;
    wire        push_err = rx_push & (rx_word[10:8] != 3'b000);
    wire        pop_err  = rx_pop & (rx_head[10:8] != 3'b000);

    // ---------------------------------------------------------------- interrupts
    wire [4:0] rx_trig   = (rx_trig_q == 2'd0) ? 5'd1 : (rx_trig_q == 2'd1) ? 5'd4 :
                           (rx_trig_q == 2'd2) ? 5'd8 : 5'd14;
    wire       lsr_err   = oe_q | pe_q | fe_q | bi_q;
    wire       src_rls   = ier_q[2] & lsr_err;
    wire       src_rda   = ier_q[0] & (fifo_en_q ? (rxf_cnt_q >= rx_trig) : rxf_nemp);
    wire       src_cti   = ier_q[0] & cti_q;
    wire       src_thre  = ier_q[1] & thre_ip_q;
    wire       src_ms    = ier_q[3] & (dmsr_q != 4'h0);
    wire       any_int   = src_rls | src_rda | src_cti | src_thre | src_ms;
    wire [2:0] iid       = src_rls ? IID_RLS : src_rda ? IID_RDA : src_cti ? IID_CTI :
                           src_thre ? IID_THRE : IID_MS;
    wire [7:0] iir       = {fifo_en_q, fifo_en_q, 2'b00, iid, ~any_int};

    // THRE interrupt: set when the TX FIFO becomes empty, or when IER.ETBEI is written from 0
    // to 1 while it is empty; cleared by a THR write or by an IIR read that reports it.
    wire [4:0] txf_cnt_d = txf_rst ? 5'd0 : txf_cnt_q + {4'h0, tx_push} - {4'h0, tx_pop};
    wire       etbei_on  = ier_wr & wd1[1] & ~ier_q[1];
    wire       thre_clr  = iir_rd & any_int & (iid == IID_THRE);
    wire       thre_ip_d = (txf_cnt_d == 5'd0) &
                           (txf_nemp | etbei_on | (thre_ip_q & ~thre_clr));

    // ---------------------------------------------------------------- character timeout
    wire cti_run   = fifo_en_q & rxf_nemp & ~cti_q;
    wire cti_exp   = cti_run & ({12'h000, cti_cnt_q} <= tick_i);
    wire cti_reset = rx_push | rx_pop | rxf_rst | ~fifo_en_q | ~rxf_nemp;

    // ---------------------------------------------------------------- modem status
    wire [3:0] msr_src = loop ? {mcr_q[3], mcr_q[2], mcr_q[0], mcr_q[1]} : msr_s2_q;
    wire [3:0] msr_chg = msr_src ^ msr_q;
    wire [3:0] msr_dlt = {msr_chg[3], msr_q[2] & ~msr_src[2], msr_chg[1], msr_chg[0]};

    // ---------------------------------------------------------------- read data
    wire [7:0] lsr = {fifo_en_q & (rxf_errs_q != 5'd0), ~txf_nemp & ~tx_busy_q, ~txf_nemp,
                      bi_q, fe_q, pe_q, oe_q, rxf_nemp};
    wire [7:0] r0  = dlab ? dll_q : rx_head[7:0];
    wire [7:0] r1  = dlab ? dlm_q : {4'h0, ier_q};
    wire [31:0] rdata = wb_adr_i[2] ? {scr_q, msr_q, dmsr_q, lsr, 3'b000, mcr_q}
                                    : {lcr_q, iir, r1, r0};

    // ---------------------------------------------------------------- state
    always @(posedge clk_i) begin
        if (rx_push) begin
            rxf_mem[rxf_wr_q] <= rx_word;
        end
        if (tx_push) begin
            txf_mem[txf_wr_q] <= thr_dat;
        end
    end

    always @(posedge clk_i or negedge rst_ni) begin
        if (!rst_ni) begin
            ack_q       <= 1'b0;
            dat_q       <= 32'h00000000;
            dll_q       <= 8'h00;
            dlm_q       <= 8'h00;
            ier_q       <= 4'h0;
            lcr_q       <= 8'h00;
            mcr_q       <= 5'h00;
            scr_q       <= 8'h00;
            fifo_en_q   <= 1'b0;
            dma_mode_q  <= 1'b0;
            rx_trig_q   <= 2'd0;
            rxf_rd_q    <= 4'h0;
            rxf_wr_q    <= 4'h0;
            rxf_cnt_q   <= 5'd0;
            rxf_errs_q  <= 5'd0;
            txf_rd_q    <= 4'h0;
            txf_wr_q    <= 4'h0;
            txf_cnt_q   <= 5'd0;
            oe_q        <= 1'b0;
            pe_q        <= 1'b0;
            fe_q        <= 1'b0;
            bi_q        <= 1'b0;
            thre_ip_q   <= 1'b0;
            tx_busy_q   <= 1'b0;
            tx_shift_q  <= 12'hFFF;
            tx_bits_q   <= 4'd0;
            tx_half_q   <= 1'b0;
            tx_cnt_q    <= 21'd0;
            rx_sync_q   <= 2'b11;
            rx_state_q  <= RX_IDLE;
            rx_armed_q  <= 1'b0;
            rx_cnt_q    <= 21'd0;
            rx_idx_q    <= 3'd0;
            rx_data_q   <= 8'h00;
            rx_xor_q    <= 1'b0;
            rx_pe_q     <= 1'b0;
            rx_zero_q   <= 1'b0;
            cti_q       <= 1'b0;
            cti_units_q <= 7'd0;
            cti_cnt_q   <= 20'd0;
            msr_s1_q    <= 4'h0;
            msr_s2_q    <= 4'h0;
            msr_q       <= 4'h0;
            dmsr_q      <= 4'h0;
        end else begin
            ack_q <= req;
            if (rd) begin
                dat_q <= rdata;
            end

            // registers
            if (dll_wr) dll_q <= wd0;
            if (dlm_wr) dlm_q <= wd1;
            if (ier_wr) ier_q <= wd1[3:0];
            if (lcr_wr) lcr_q <= wd3;
            if (mcr_wr) mcr_q <= wd0[4:0];
            if (scr_wr) scr_q <= wd3;
            if (fcr_wr) begin
                fifo_en_q <= wd2[0];
                if (wd2[0]) begin
                    rx_trig_q  <= wd2[7:6];
                    dma_mode_q <= wd2[3];
                end
            end

            // TX FIFO
            if (txf_rst) begin
                txf_rd_q <= 4'h0;
                txf_wr_q <= 4'h0;
            end else begin
                if (tx_push) txf_wr_q <= txf_wr_q + 4'd1;
                if (tx_pop)  txf_rd_q <= txf_rd_q + 4'd1;
            end
            txf_cnt_q <= txf_cnt_d;
            thre_ip_q <= thre_ip_d;

            // TX engine
            if (tx_load) begin
                tx_busy_q  <= 1'b1;
                tx_shift_q <= tx_frame;
                tx_bits_q  <= tx_nframe;
                tx_half_q  <= stb & (wls == 2'b00);
                tx_cnt_q   <= bit_cycles;
            end else if (tx_exp) begin
                if (tx_last) begin
                    tx_busy_q <= 1'b0;
                end
                tx_shift_q <= {1'b1, tx_shift_q[11:1]};
                tx_bits_q  <= tx_bits_q - 4'd1;
                tx_cnt_q   <= (tx_bits_q == 4'd2 && tx_half_q) ? {1'b0, half_cycles} : bit_cycles;
            end else if (tx_busy_q) begin
                tx_cnt_q <= tx_cnt_q - tick_i[20:0];
            end

            // RX engine
            rx_sync_q <= {rx_sync_q[0], rx_in};
            case (rx_state_q)
                RX_IDLE: begin
                    if (rx) begin
                        rx_armed_q <= 1'b1;
                    end else if (rx_armed_q) begin
                        rx_armed_q <= 1'b0;
                        rx_state_q <= RX_START;
                        rx_cnt_q   <= {1'b0, half_cycles};
                    end
                end
                RX_START: begin
                    if (rx_exp) begin
                        if (rx) begin
                            rx_state_q <= RX_IDLE;     // glitch, not a start bit
                            rx_armed_q <= 1'b1;
                        end else begin
                            rx_state_q <= RX_DATA;
                            rx_cnt_q   <= bit_cycles;
                            rx_idx_q   <= 3'd0;
                            rx_data_q  <= 8'h00;
                            rx_xor_q   <= 1'b0;
                            rx_pe_q    <= 1'b0;
                            rx_zero_q  <= 1'b1;
                        end
                    end else begin
                        rx_cnt_q <= rx_cnt_q - tick_i[20:0];
                    end
                end
                RX_DATA: begin
                    if (rx_exp) begin
                        rx_data_q[rx_idx_q] <= rx;
                        rx_xor_q  <= rx_xor_q ^ rx;
                        rx_zero_q <= rx_zero_q & ~rx;
                        rx_idx_q  <= rx_idx_q + 3'd1;
                        rx_cnt_q  <= bit_cycles;
                        if ({1'b0, rx_idx_q} == nbits - 4'd1) begin
                            rx_state_q <= pen ? RX_PAR : RX_STOP;
                        end
                    end else begin
                        rx_cnt_q <= rx_cnt_q - tick_i[20:0];
                    end
                end
                RX_PAR: begin
                    if (rx_exp) begin
                        rx_pe_q    <= rx != rx_par_exp;
                        rx_zero_q  <= rx_zero_q & ~rx;
                        rx_cnt_q   <= bit_cycles;
                        rx_state_q <= RX_STOP;
                    end else begin
                        rx_cnt_q <= rx_cnt_q - tick_i[20:0];
                    end
                end
                RX_STOP: begin
                    if (rx_exp) begin
                        rx_state_q <= RX_IDLE;
                        rx_armed_q <= rx;              // after a break, wait for a 1
                    end else begin
                        rx_cnt_q <= rx_cnt_q - tick_i[20:0];
                    end
                end
                default: begin
                    rx_state_q <= RX_IDLE;
                end
            endcase

            // RX FIFO
            if (rxf_rst) begin
                rxf_rd_q   <= 4'h0;
                rxf_wr_q   <= 4'h0;
                rxf_cnt_q  <= 5'd0;
                rxf_errs_q <= 5'd0;
            end else begin
                if (rx_push) rxf_wr_q <= rxf_wr_q + 4'd1;
                if (rx_pop)  rxf_rd_q <= rxf_rd_q + 4'd1;
                rxf_cnt_q  <= rxf_cnt_q + {4'h0, rx_push} - {4'h0, rx_pop};
                rxf_errs_q <= rxf_errs_q + {4'h0, push_err} - {4'h0, pop_err};
            end

            // LSR error bits: set wins over the clearing LSR read on the same edge
            oe_q <= (oe_q & ~lsr_rd) | rx_ovr;
            pe_q <= (pe_q & ~lsr_rd) | head_err[0];
            fe_q <= (fe_q & ~lsr_rd) | head_err[1];
            bi_q <= (bi_q & ~lsr_rd) | head_err[2];

            // character timeout
            if (cti_reset) begin
                cti_q       <= 1'b0;
                cti_units_q <= cti_units;
                cti_cnt_q   <= half_cycles;
            end else if (cti_exp) begin
                if (cti_units_q <= 7'd1) begin
                    cti_q <= 1'b1;
                end
                cti_units_q <= cti_units_q - 7'd1;
                cti_cnt_q   <= half_cycles;
            end else if (cti_run) begin
                cti_cnt_q <= cti_cnt_q - tick_i[19:0];
            end

            // modem status
            msr_s1_q <= msr_i;
            msr_s2_q <= msr_s1_q;
            msr_q    <= msr_src;
            dmsr_q   <= (dmsr_q & {4{~msr_rd}}) | msr_dlt;
        end
    end

    // ---------------------------------------------------------------- idle skipping
    wire        rx_idle_evt = (rx_state_q == RX_IDLE) & (rx ? ~rx_armed_q : rx_armed_q);
    wire        soon = (rx_in != rx_sync_q[0]) | (rx_sync_q[0] != rx_sync_q[1]) | rx_idle_evt |
                       (msr_i != msr_s1_q) | (msr_s1_q != msr_s2_q) | (msr_chg != 4'h0) |
                       (txf_nemp & ~tx_busy_q);
    wire [31:0] tx_next  = tx_busy_q ? {11'h000, tx_cnt_q} : 32'hFFFFFFFF;
    wire [31:0] rx_next_ev = (rx_state_q != RX_IDLE) ? {11'h000, rx_cnt_q} : 32'hFFFFFFFF;
    wire [31:0] cti_next = cti_run ? {12'h000, cti_cnt_q} : 32'hFFFFFFFF;
    wire [31:0] trx_next = (tx_next < rx_next_ev) ? tx_next : rx_next_ev;

    assign wb_dat_o     = dat_q;
    assign wb_ack_o     = ack_q;
    assign wb_err_o     = 1'b0;
    assign tx_o         = loop ? 1'b1 : sout;
    assign mcr_o        = loop ? 4'h0 : mcr_q[3:0];
    assign irq_o        = any_int;
    assign rxrdy_o      = rxf_nemp;
    assign txrdy_o      = (fifo_en_q & dma_mode_q) ? ~txf_full : ~txf_nemp;
    assign dma_rx_dat_o = rx_head[7:0];
    assign next_event_o = soon ? 32'h00000001 : (trx_next < cti_next) ? trx_next : cti_next;
endmodule

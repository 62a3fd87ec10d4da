// kmrig_dma: scatter-gather bus-master DMA engine. A Wishbone B4 classic slave for its
// registers, a Wishbone B4 classic master (64-bit byte addresses, 32-bit words) to host
// memory through the SoC's DMA port. Register map and descriptor format: docs/rtl.md ("dma0").
//
// The engine walks a list (or ring) of 32-byte descriptors in host memory, starting at DESC:
//   +0x00 SRC (64-bit)  +0x08 DST (64-bit)  +0x10 NEXT (64-bit)
//   +0x18 CTRL: [23:0] length in bytes, [25:24] OP (0 copy, 1 memory -> FIFO,
//               2 FIFO -> memory), [28] IRQ, [29] LAST, [31] OWN
//   +0x1C STATUS, written by the engine: [31] DONE, [23:0] bytes moved
// A descriptor whose OWN is 0 stops the engine (DONE) and DESC keeps pointing at it, so a driver
// can append to a ring and restart. After each descriptor the engine writes CTRL back with OWN
// cleared, then STATUS, then follows NEXT (or stops after LAST). Addresses and lengths are
// multiples of 4; one word per bus cycle. The loopback FIFO (2^FIFO_AW words) connects OP 1
// descriptors to OP 2 descriptors; pushing a full FIFO or popping an empty one is an error.
// Any error (bus error, misalignment, bad OP, FIFO over/underflow) stops the engine with
// STATUS.ERROR, the code and the failing bus address. irq_o = IRQ_EN & (DONE|ERROR|DESC_IRQ).
// Idle skipping: next_event_o is 1 while the engine runs, all ones while it is idle or waits for
// the answer to its master cycle (nothing changes in it until ACK/ERR, which the DMA port's
// slave drives; a harness that holds the cycle reports the hold as its own event).
module kmrig_dma #(
    parameter integer FIFO_AW = 8
) (
    input  wire        clk_i,
    input  wire        rst_ni,

    input  wire        wb_cyc_i,
    input  wire        wb_stb_i,
    input  wire        wb_we_i,
    // Only the word index inside the window is decoded: the interconnect has matched the rest.
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire [31:0] wb_adr_i,
    /* verilator lint_on UNUSEDSIGNAL */
    input  wire [3:0]  wb_sel_i,
    input  wire [31:0] wb_dat_i,
    output wire [31:0] wb_dat_o,
    output wire        wb_ack_o,
    output wire        wb_err_o,

    output wire        m_cyc_o,
    output wire        m_stb_o,
    output wire        m_we_o,
    output wire [63:0] m_adr_o,
    output wire [3:0]  m_sel_o,
    output wire [31:0] m_dat_o,
    input  wire [31:0] m_dat_i,
    input  wire        m_ack_i,
    input  wire        m_err_i,

    output wire        irq_o,
    output wire [31:0] next_event_o
);
    localparam [5:0] A_CTRL     = 6'h00;
    localparam [5:0] A_STATUS   = 6'h01;
    localparam [5:0] A_DESC_LO  = 6'h02;
    localparam [5:0] A_DESC_HI  = 6'h03;
    localparam [5:0] A_BYTES    = 6'h04;
    localparam [5:0] A_DESCS    = 6'h05;
    localparam [5:0] A_EADDR_LO = 6'h06;
    localparam [5:0] A_EADDR_HI = 6'h07;
    localparam [5:0] A_FLEVEL   = 6'h08;
    localparam [5:0] A_FDEPTH   = 6'h09;

    localparam [3:0] S_IDLE  = 4'd0;
    localparam [3:0] S_FETCH = 4'd1;
    localparam [3:0] S_CHECK = 4'd2;
    localparam [3:0] S_RD    = 4'd3;
    localparam [3:0] S_WR    = 4'd4;
    localparam [3:0] S_POP   = 4'd5;
    localparam [3:0] S_POP2  = 4'd6;
    localparam [3:0] S_WB    = 4'd7;
    localparam [3:0] S_WB1   = 4'd8;
    localparam [3:0] S_WB2   = 4'd9;

    localparam [1:0] OP_COPY = 2'd0;
    localparam [1:0] OP_TOF  = 2'd1;
    localparam [1:0] OP_FROMF = 2'd2;

    localparam [3:0] E_DESC  = 4'd1;  // bus error fetching a descriptor
    localparam [3:0] E_SRC   = 4'd2;  // bus error reading the source
    localparam [3:0] E_DST   = 4'd3;  // bus error writing the destination
    localparam [3:0] E_WB    = 4'd4;  // bus error writing the descriptor back
    localparam [3:0] E_ALIGN = 4'd5;  // address or length not a multiple of 4, or OP 3
    localparam [3:0] E_OVER  = 4'd6;  // OP 1 with the FIFO full
    localparam [3:0] E_UNDER = 4'd7;  // OP 2 with the FIFO empty

    localparam integer FDEPTH = 1 << FIFO_AW;
    localparam [31:0] FDEPTH_W = FDEPTH;

    reg        ack_q;
    reg [31:0] dat_q;
    reg        run_q;
    reg        irq_en_q;
    reg        done_q;
    reg        error_q;
    reg        desc_irq_q;
    reg [3:0]  err_code_q;
    reg [63:0] err_addr_q;
    reg [63:0] desc_q;
    reg [31:0] bytes_q;
    reg [31:0] descs_q;

    reg [3:0]  st_q;
    reg [2:0]  fidx_q;
    reg [63:0] src_q;
    reg [63:0] dst_q;
    reg [63:0] next_q;
    reg [31:0] dctl_q;
    reg [23:0] left_q;

    reg        mreq_q;
    reg        mwe_q;
    reg [63:0] madr_q;
    reg [31:0] mdat_q;

    reg [31:0]        fmem [0:FDEPTH-1];
    reg [31:0]        fout_q;
    reg [FIFO_AW-1:0] frd_q;
    reg [FIFO_AW-1:0] fwr_q;
    reg [FIFO_AW:0]   fcnt_q;

    // ---------------------------------------------------------------- register slave
    wire        req   = wb_cyc_i & wb_stb_i & ~ack_q;
    wire        rd    = req & ~wb_we_i;
    wire        wr    = req & wb_we_i;
    wire [5:0]  widx  = wb_adr_i[7:2];
    wire [31:0] lanes = {{8{wb_sel_i[3]}}, {8{wb_sel_i[2]}}, {8{wb_sel_i[1]}}, {8{wb_sel_i[0]}}};
    wire        busy  = st_q != S_IDLE;

    wire wr_ctrl   = wr & (widx == A_CTRL) & wb_sel_i[0];
    wire start     = wr_ctrl & wb_dat_i[0] & ~busy;
    wire stop_req  = wr_ctrl & ~wb_dat_i[0];
    wire fifo_rst  = wr_ctrl & wb_dat_i[2];
    wire wr_status = wr & (widx == A_STATUS) & wb_sel_i[0];
    wire [2:0] w1c = wr_status ? wb_dat_i[3:1] : 3'b000;

    reg [31:0] rdata;
    always @(*) begin
        case (widx)
            A_CTRL:     rdata = {30'h00000000, irq_en_q, run_q};
            A_STATUS:   rdata = {20'h00000, err_code_q, 4'h0, desc_irq_q, error_q, done_q, busy};
            A_DESC_LO:  rdata = desc_q[31:0];
            A_DESC_HI:  rdata = desc_q[63:32];
            A_BYTES:    rdata = bytes_q;
            A_DESCS:    rdata = descs_q;
            A_EADDR_LO: rdata = err_addr_q[31:0];
            A_EADDR_HI: rdata = err_addr_q[63:32];
            A_FLEVEL:   rdata = {{(31 - FIFO_AW){1'b0}}, fcnt_q};
            A_FDEPTH:   rdata = FDEPTH_W;
            default:    rdata = 32'h00000000;
        endcase
    end

    // ---------------------------------------------------------------- engine
    wire        mdone  = mreq_q & (m_ack_i | m_err_i);
    wire        merr   = mreq_q & m_err_i;
    wire        step   = ~mreq_q | mdone;          // no bus cycle in flight after this edge
    wire        abort  = busy & step & ~run_q;
    // Descriptor CTRL fields; bits 27:26 and 30 are reserved.
    /* verilator lint_off UNUSEDSIGNAL */
    wire [31:0] dctl   = dctl_q;
    /* verilator lint_on UNUSEDSIGNAL */
    wire [23:0] d_len  = dctl[23:0];
    wire [1:0]  d_op   = dctl[25:24];
    wire        d_irq  = dctl[28];
    wire        d_last = dctl[29];
    wire        d_own  = dctl[31];
    wire        d_bad  = (src_q[1:0] != 2'b00) | (dst_q[1:0] != 2'b00) | (d_len[1:0] != 2'b00) |
                         (d_op == 2'd3);
    wire        f_full  = fcnt_q == FDEPTH[FIFO_AW:0];
    wire        f_empty = fcnt_q == {(FIFO_AW + 1){1'b0}};
    wire        f_push  = (st_q == S_RD) & mdone & ~merr & (d_op == OP_TOF) & ~f_full & run_q;
    wire        f_pop   = (st_q == S_POP2) & run_q;
    wire        last_w  = left_q == 24'd4;

    always @(posedge clk_i) begin
        if (f_push) begin
            fmem[fwr_q] <= m_dat_i;
        end
        fout_q <= fmem[frd_q];
    end

    always @(posedge clk_i or negedge rst_ni) begin
        if (!rst_ni) begin
            ack_q      <= 1'b0;
            dat_q      <= 32'h00000000;
            run_q      <= 1'b0;
            irq_en_q   <= 1'b0;
            done_q     <= 1'b0;
            error_q    <= 1'b0;
            desc_irq_q <= 1'b0;
            err_code_q <= 4'h0;
            err_addr_q <= 64'h0000000000000000;
            desc_q     <= 64'h0000000000000000;
            bytes_q    <= 32'h00000000;
            descs_q    <= 32'h00000000;
            st_q       <= S_IDLE;
            fidx_q     <= 3'd0;
            src_q      <= 64'h0000000000000000;
            dst_q      <= 64'h0000000000000000;
            next_q     <= 64'h0000000000000000;
            dctl_q     <= 32'h00000000;
            left_q     <= 24'h000000;
            mreq_q     <= 1'b0;
            mwe_q      <= 1'b0;
            madr_q     <= 64'h0000000000000000;
            mdat_q     <= 32'h00000000;
            frd_q      <= {FIFO_AW{1'b0}};
            fwr_q      <= {FIFO_AW{1'b0}};
            fcnt_q     <= {(FIFO_AW + 1){1'b0}};
        end else begin
            ack_q <= req;
            if (rd) begin
                dat_q <= rdata;
            end

            // host register writes
            if (wr_ctrl) begin
                irq_en_q <= wb_dat_i[1];
            end
            if (start) begin
                run_q      <= 1'b1;
                bytes_q    <= 32'h00000000;
                descs_q    <= 32'h00000000;
                err_code_q <= 4'h0;
            end else if (stop_req) begin
                run_q <= 1'b0;
            end
            if (wr & ~busy & (widx == A_DESC_LO)) begin
                desc_q[31:0] <= (desc_q[31:0] & ~lanes) | (wb_dat_i & lanes);
            end
            if (wr & ~busy & (widx == A_DESC_HI)) begin
                desc_q[63:32] <= (desc_q[63:32] & ~lanes) | (wb_dat_i & lanes);
            end
            done_q     <= done_q & ~w1c[0];
            error_q    <= error_q & ~w1c[1];
            desc_irq_q <= desc_irq_q & ~w1c[2];

            // loopback FIFO pointers
            if (fifo_rst) begin
                frd_q  <= {FIFO_AW{1'b0}};
                fwr_q  <= {FIFO_AW{1'b0}};
                fcnt_q <= {(FIFO_AW + 1){1'b0}};
            end else begin
                if (f_push) fwr_q <= fwr_q + {{(FIFO_AW - 1){1'b0}}, 1'b1};
                if (f_pop)  frd_q <= frd_q + {{(FIFO_AW - 1){1'b0}}, 1'b1};
                fcnt_q <= fcnt_q + {{FIFO_AW{1'b0}}, f_push} - {{FIFO_AW{1'b0}}, f_pop};
            end

            if (mdone) begin
                mreq_q <= 1'b0;
            end

            if (abort) begin
                st_q <= S_IDLE;
            end else if (merr) begin
                // any bus error ends the run
                st_q       <= S_IDLE;
                run_q      <= 1'b0;
                error_q    <= 1'b1;
                err_addr_q <= madr_q;
                err_code_q <= (st_q == S_FETCH) ? E_DESC : (st_q == S_RD) ? E_SRC :
                              (st_q == S_WR) ? E_DST : E_WB;
            end else begin
                case (st_q)
                    S_IDLE: begin
                        if (start) begin
                            st_q   <= S_FETCH;
                            fidx_q <= 3'd0;
                            mreq_q <= 1'b1;
                            mwe_q  <= 1'b0;
                            madr_q <= desc_q;
                        end
                    end
                    S_FETCH: begin
                        if (mdone) begin
                            case (fidx_q)
                                3'd0: src_q[31:0]   <= m_dat_i;
                                3'd1: src_q[63:32]  <= m_dat_i;
                                3'd2: dst_q[31:0]   <= m_dat_i;
                                3'd3: dst_q[63:32]  <= m_dat_i;
                                3'd4: next_q[31:0]  <= m_dat_i;
                                3'd5: next_q[63:32] <= m_dat_i;
                                default: dctl_q     <= m_dat_i;
                            endcase
                            if (fidx_q == 3'd6) begin
                                st_q <= S_CHECK;
                            end else begin
                                fidx_q <= fidx_q + 3'd1;
                                mreq_q <= 1'b1;
                                madr_q <= madr_q + 64'd4;
                            end
                        end
                    end
                    S_CHECK: begin
                        if (!d_own) begin
                            st_q   <= S_IDLE;       // not ours (yet): the list ends here
                            run_q  <= 1'b0;
                            done_q <= 1'b1;
                        end else if (d_bad) begin
                            st_q       <= S_IDLE;
                            run_q      <= 1'b0;
                            error_q    <= 1'b1;
                            err_code_q <= E_ALIGN;
                            err_addr_q <= desc_q;
                        end else begin
                            left_q <= d_len;
                            if (d_len == 24'h000000) begin
                                st_q <= S_WB;
                            end else if (d_op == OP_FROMF) begin
                                st_q <= S_POP;
                            end else begin
                                st_q   <= S_RD;
                                mreq_q <= 1'b1;
                                mwe_q  <= 1'b0;
                                madr_q <= src_q;
                            end
                        end
                    end
                    S_RD: begin
                        if (mdone) begin
                            if (d_op == OP_COPY) begin
                                st_q   <= S_WR;
                                mreq_q <= 1'b1;
                                mwe_q  <= 1'b1;
                                madr_q <= dst_q;
                                mdat_q <= m_dat_i;
                            end else if (f_full) begin
                                st_q       <= S_IDLE;
                                run_q      <= 1'b0;
                                error_q    <= 1'b1;
                                err_code_q <= E_OVER;
                                err_addr_q <= madr_q;
                            end else begin
                                src_q   <= src_q + 64'd4;
                                left_q  <= left_q - 24'd4;
                                bytes_q <= bytes_q + 32'd4;
                                if (last_w) begin
                                    st_q <= S_WB;
                                end else begin
                                    mreq_q <= 1'b1;
                                    madr_q <= src_q + 64'd4;
                                end
                            end
                        end
                    end
                    S_WR: begin
                        if (mdone) begin
                            src_q   <= src_q + 64'd4;
                            dst_q   <= dst_q + 64'd4;
                            left_q  <= left_q - 24'd4;
                            bytes_q <= bytes_q + 32'd4;
                            if (last_w) begin
                                st_q <= S_WB;
                            end else if (d_op == OP_COPY) begin
                                st_q   <= S_RD;
                                mreq_q <= 1'b1;
                                mwe_q  <= 1'b0;
                                madr_q <= src_q + 64'd4;
                            end else begin
                                st_q <= S_POP;
                            end
                        end
                    end
                    S_POP: begin
                        // fout_q takes the FIFO head on this edge; it is used on the next
                        if (f_empty) begin
                            st_q       <= S_IDLE;
                            run_q      <= 1'b0;
                            error_q    <= 1'b1;
                            err_code_q <= E_UNDER;
                            err_addr_q <= dst_q;
                        end else begin
                            st_q <= S_POP2;
                        end
                    end
                    S_POP2: begin
                        st_q   <= S_WR;
                        mreq_q <= 1'b1;
                        mwe_q  <= 1'b1;
                        madr_q <= dst_q;
                        mdat_q <= fout_q;
                    end
                    S_WB: begin
                        st_q   <= S_WB1;
                        mreq_q <= 1'b1;
                        mwe_q  <= 1'b1;
                        madr_q <= desc_q + 64'h18;
                        mdat_q <= {1'b0, dctl_q[30:0]};
                    end
                    S_WB1: begin
                        if (mdone) begin
                            st_q   <= S_WB2;
                            mreq_q <= 1'b1;
                            madr_q <= desc_q + 64'h1C;
                            mdat_q <= {8'h80, d_len};
                        end
                    end
                    S_WB2: begin
                        if (mdone) begin
                            descs_q <= descs_q + 32'd1;
                            desc_q  <= next_q;
                            if (d_irq) begin
                                desc_irq_q <= 1'b1;
                            end
                            if (d_last) begin
                                st_q   <= S_IDLE;
                                run_q  <= 1'b0;
                                done_q <= 1'b1;
                            end else begin
                                st_q   <= S_FETCH;
                                fidx_q <= 3'd0;
                                mreq_q <= 1'b1;
                                mwe_q  <= 1'b0;
                                madr_q <= next_q;
                            end
                        end
                    end
                    default: begin
                        st_q <= S_IDLE;
                    end
                endcase
            end
        end
    end

    assign wb_dat_o     = dat_q;
    assign wb_ack_o     = ack_q;
    assign wb_err_o     = 1'b0;
    assign m_cyc_o      = mreq_q;
    assign m_stb_o      = mreq_q;
    assign m_we_o       = mwe_q;
    assign m_adr_o      = madr_q;
    assign m_sel_o      = 4'hF;
    assign m_dat_o      = mdat_q;
    assign irq_o        = irq_en_q & (done_q | error_q | desc_irq_q);
    assign next_event_o = (busy & step) ? 32'h00000001 : 32'hFFFFFFFF;
endmodule

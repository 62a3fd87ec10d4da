// kmrig_sysdma: system (slave) DMA controller for devices without bus mastering, in the
// manner of the PC's 8237: per channel a base and current address, a base and current count,
// a mode (direction, autoinitialize, decrement) and a mask. A channel that is unmasked, has a
// count and sees its device's request moves one byte: fly-by, the device's byte goes straight
// to memory through the DMA port (device -> memory, "write transfer") or a memory byte straight
// to the device ("read transfer"), signalled to the device by dack_o. Register map:
// docs/rtl.md ("sysdma").
//
// The current count is the bytes still to move (what HalReadDmaCounter returns); the byte that
// takes it to 0 is the terminal count: STATUS.TC sets, and the channel either reloads base
// address and count (autoinitialize) and goes on, or masks itself. A bus error (a refused DMA
// address) sets STATUS.ERROR and masks the channel, the current address staying at the byte
// that failed. Fixed priority, channel 0 first, one byte at a time; 32-bit bus addresses.
// Idle skipping: next_event_o is 1 while a transfer is in flight or a channel is ready.
module kmrig_sysdma #(
    parameter integer N = 2
) (
    input  wire          clk_i,
    input  wire          rst_ni,

    input  wire          wb_cyc_i,
    input  wire          wb_stb_i,
    input  wire          wb_we_i,
    // Only the channel and word index inside the window are decoded.
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire [31:0]   wb_adr_i,
    /* verilator lint_on UNUSEDSIGNAL */
    input  wire [3:0]    wb_sel_i,
    input  wire [31:0]   wb_dat_i,
    output wire [31:0]   wb_dat_o,
    output wire          wb_ack_o,
    output wire          wb_err_o,

    output wire          m_cyc_o,
    output wire          m_stb_o,
    output wire          m_we_o,
    output wire [63:0]   m_adr_o,
    output wire [3:0]    m_sel_o,
    output wire [31:0]   m_dat_o,
    input  wire [31:0]   m_dat_i,
    input  wire          m_ack_i,
    input  wire          m_err_i,

    // devices: rdy_in_i = has a byte for memory, rdy_out_i = can take a byte from memory
    input  wire [N-1:0]  rdy_in_i,
    input  wire [N-1:0]  rdy_out_i,
    input  wire [N*8-1:0] dev_dat_i,  // channel n's byte for memory: [8n +: 8]
    output wire [N-1:0]  dack_o,      // the device's byte is taken / dev_dat_o is for it
    output wire          dack_wr_o,   // 1: dack_o takes a byte (write transfer), 0: gives one
    output wire [7:0]    dev_dat_o,

    output wire          irq_o,
    output wire [31:0]   next_event_o
);
    localparam [2:0] A_ADDR   = 3'd0;
    localparam [2:0] A_COUNT  = 3'd1;
    localparam [2:0] A_MODE   = 3'd2;
    localparam [2:0] A_CTRL   = 3'd3;
    localparam [2:0] A_STATUS = 3'd4;
    localparam [2:0] A_BADDR  = 3'd5;
    localparam [2:0] A_BCOUNT = 3'd6;

    localparam [1:0] X_WRITE = 2'd1;   // device -> memory
    localparam [1:0] X_READ  = 2'd2;   // memory -> device

    localparam [1:0] S_IDLE = 2'd0;
    localparam [1:0] S_WR   = 2'd1;
    localparam [1:0] S_RD   = 2'd2;

    reg              ack_q;
    reg [31:0]       dat_q;
    reg [N*32-1:0]   base_addr_q;
    reg [N*32-1:0]   cur_addr_q;
    reg [N*24-1:0]   base_count_q;
    reg [N*24-1:0]   cur_count_q;
    reg [N*4-1:0]    mode_q;           // {DEC, AUTOINIT, XFER[1:0]}
    reg [N-1:0]      mask_q;
    reg [N-1:0]      irq_en_q;
    reg [N-1:0]      tc_q;
    reg [N-1:0]      err_q;

    reg [1:0]        st_q;
    reg [N-1:0]      ch_q;             // one-hot: the channel of the transfer in flight
    reg              mreq_q;
    reg              mwe_q;
    reg [31:0]       madr_q;
    reg [31:0]       mdat_q;

    // ---------------------------------------------------------------- register slave
    wire        req   = wb_cyc_i & wb_stb_i & ~ack_q;
    wire        rd    = req & ~wb_we_i;
    wire        wr    = req & wb_we_i;
    wire [2:0]  widx  = wb_adr_i[4:2];
    wire [2:0]  wch   = wb_adr_i[7:5];
    wire [31:0] lanes = {{8{wb_sel_i[3]}}, {8{wb_sel_i[2]}}, {8{wb_sel_i[1]}}, {8{wb_sel_i[0]}}};

    // ---------------------------------------------------------------- request selection
    reg [N-1:0] ready;
    reg [N-1:0] grant;
    integer     c;
    always @(*) begin
        grant = {N{1'b0}};
        for (c = 0; c < N; c = c + 1) begin
            ready[c] = ~mask_q[c] & (cur_count_q[24*c +: 24] != 24'h000000) &
                       (((mode_q[4*c +: 2] == X_WRITE) & rdy_in_i[c]) |
                        ((mode_q[4*c +: 2] == X_READ) & rdy_out_i[c]));
        end
        for (c = N - 1; c >= 0; c = c - 1) begin
            if (ready[c]) begin
                grant = {N{1'b0}};
                grant[c] = 1'b1;
            end
        end
    end

    // the granted channel's fields
    reg [31:0] g_addr;
    reg [1:0]  g_xfer;
    reg [7:0]  g_byte;
    // the in-flight channel's fields
    reg [31:0] f_addr;
    reg [23:0] f_count;
    reg [31:0] f_base_addr;
    reg [23:0] f_base_count;
    reg        f_auto;
    reg        f_dec;
    reg [31:0] rdata;
    integer    k;
    always @(*) begin
        g_addr = 32'h00000000;
        g_xfer = 2'd0;
        g_byte = 8'h00;
        f_addr = 32'h00000000;
        f_count = 24'h000000;
        f_base_addr = 32'h00000000;
        f_base_count = 24'h000000;
        f_auto = 1'b0;
        f_dec = 1'b0;
        rdata = 32'h00000000;
        for (k = 0; k < N; k = k + 1) begin
            if (grant[k]) begin
                g_addr = cur_addr_q[32*k +: 32];
                g_xfer = mode_q[4*k +: 2];
                g_byte = dev_dat_i[8*k +: 8];
            end
            if (ch_q[k]) begin
                f_addr       = cur_addr_q[32*k +: 32];
                f_count      = cur_count_q[24*k +: 24];
                f_base_addr  = base_addr_q[32*k +: 32];
                f_base_count = base_count_q[24*k +: 24];
                f_auto       = mode_q[4*k + 2];
                f_dec        = mode_q[4*k + 3];
            end
            if ({29'h00000000, wch} == k) begin
                case (widx)
                    A_ADDR:   rdata = cur_addr_q[32*k +: 32];
                    A_COUNT:  rdata = {8'h00, cur_count_q[24*k +: 24]};
                    A_MODE:   rdata = {28'h0000000, mode_q[4*k +: 4]};
                    A_CTRL:   rdata = {30'h00000000, irq_en_q[k], mask_q[k]};
                    A_STATUS: rdata = {29'h00000000,
                                       (mode_q[4*k +: 2] == X_WRITE) ? rdy_in_i[k] :
                                       (mode_q[4*k +: 2] == X_READ) ? rdy_out_i[k] : 1'b0,
                                       err_q[k], tc_q[k]};
                    A_BADDR:  rdata = base_addr_q[32*k +: 32];
                    A_BCOUNT: rdata = {8'h00, base_count_q[24*k +: 24]};
                    default:  rdata = 32'h00000000;
                endcase
            end
        end
    end

    wire        idle   = st_q == S_IDLE;
    wire        start  = idle & (grant != {N{1'b0}});
    wire        mdone  = mreq_q & (m_ack_i | m_err_i);
    wire        merr   = mreq_q & m_err_i;
    wire        moved  = mdone & ~merr;
    wire [7:0]  rbyte  = m_dat_i[8*madr_q[1:0] +: 8];
    wire        tc     = f_count == 24'h000001;
    wire [31:0] next_addr = f_dec ? f_addr - 32'd1 : f_addr + 32'd1;

    integer i;
    always @(posedge clk_i or negedge rst_ni) begin
        if (!rst_ni) begin
            ack_q        <= 1'b0;
            dat_q        <= 32'h00000000;
            base_addr_q  <= {(N*32){1'b0}};
            cur_addr_q   <= {(N*32){1'b0}};
            base_count_q <= {(N*24){1'b0}};
            cur_count_q  <= {(N*24){1'b0}};
            mode_q       <= {(N*4){1'b0}};
            mask_q       <= {N{1'b1}};
            irq_en_q     <= {N{1'b0}};
            tc_q         <= {N{1'b0}};
            err_q        <= {N{1'b0}};
            st_q         <= S_IDLE;
            ch_q         <= {N{1'b0}};
            mreq_q       <= 1'b0;
            mwe_q        <= 1'b0;
            madr_q       <= 32'h00000000;
            mdat_q       <= 32'h00000000;
        end else begin
            ack_q <= req;
            if (rd) begin
                dat_q <= rdata;
            end

            // engine
            if (mdone) begin
                mreq_q <= 1'b0;
                st_q   <= S_IDLE;
            end
            if (start) begin
                ch_q   <= grant;
                mreq_q <= 1'b1;
                madr_q <= g_addr;
                mwe_q  <= g_xfer == X_WRITE;
                mdat_q <= {4{g_byte}};
                st_q   <= (g_xfer == X_WRITE) ? S_WR : S_RD;
            end
            for (i = 0; i < N; i = i + 1) begin
                if (ch_q[i] && mdone) begin
                    if (merr) begin
                        err_q[i]  <= 1'b1;
                        mask_q[i] <= 1'b1;
                    end else if (tc) begin
                        tc_q[i] <= 1'b1;
                        if (f_auto) begin
                            cur_addr_q[32*i +: 32]  <= f_base_addr;
                            cur_count_q[24*i +: 24] <= f_base_count;
                        end else begin
                            cur_addr_q[32*i +: 32]  <= next_addr;
                            cur_count_q[24*i +: 24] <= 24'h000000;
                            mask_q[i]               <= 1'b1;
                        end
                    end else begin
                        cur_addr_q[32*i +: 32]  <= next_addr;
                        cur_count_q[24*i +: 24] <= f_count - 24'd1;
                    end
                end

                // host writes (after the engine: a write wins over a same-edge update)
                if (wr && {29'h00000000, wch} == i) begin
                    case (widx)
                        A_ADDR: begin
                            base_addr_q[32*i +: 32] <= (base_addr_q[32*i +: 32] & ~lanes) |
                                                       (wb_dat_i & lanes);
                            cur_addr_q[32*i +: 32]  <= (base_addr_q[32*i +: 32] & ~lanes) |
                                                       (wb_dat_i & lanes);
                        end
                        A_COUNT: begin
                            base_count_q[24*i +: 24] <= (base_count_q[24*i +: 24] & ~lanes[23:0]) |
                                                        (wb_dat_i[23:0] & lanes[23:0]);
                            cur_count_q[24*i +: 24]  <= (base_count_q[24*i +: 24] & ~lanes[23:0]) |
                                                        (wb_dat_i[23:0] & lanes[23:0]);
                        end
                        A_MODE: begin
                            if (wb_sel_i[0]) begin
                                mode_q[4*i +: 4] <= wb_dat_i[3:0];
                            end
                        end
                        A_CTRL: begin
                            if (wb_sel_i[0]) begin
                                mask_q[i]   <= wb_dat_i[0];
                                irq_en_q[i] <= wb_dat_i[1];
                            end
                        end
                        A_STATUS: begin
                            if (wb_sel_i[0]) begin
                                tc_q[i]  <= tc_q[i] & ~wb_dat_i[0];
                                err_q[i] <= err_q[i] & ~wb_dat_i[1];
                            end
                        end
                        default: begin
                        end
                    endcase
                end
            end
        end
    end

    assign wb_dat_o     = dat_q;
    assign wb_ack_o     = ack_q;
    assign wb_err_o     = 1'b0;
    assign m_cyc_o      = mreq_q;
    assign m_stb_o      = mreq_q;
    assign m_we_o       = mwe_q;
    assign m_adr_o      = {32'h00000000, madr_q};
    assign m_sel_o      = 4'b0001 << madr_q[1:0];
    assign m_dat_o      = mdat_q;
    // write transfer: the device's byte is taken when the memory cycle starts; read transfer:
    // the memory byte is handed over when the cycle completes
    assign dack_o       = (start && g_xfer == X_WRITE) ? grant :
                          ((st_q == S_RD) && moved) ? ch_q : {N{1'b0}};
    assign dack_wr_o    = start && g_xfer == X_WRITE;
    assign dev_dat_o    = rbyte;
    assign irq_o        = |(irq_en_q & (tc_q | err_q));
    assign next_event_o = (!idle || ready != {N{1'b0}}) ? 32'h00000001 : 32'hFFFFFFFF;
endmodule

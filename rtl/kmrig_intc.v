// kmrig_intc: interrupt controller unit for N lines (N <= 24).
// Per line: level or rising-edge mode, mask, pending, EOI for edge lines, and the timestamp of
// the line's last rising edge. Wishbone B4 classic slave, registered ACK. Map: docs/rtl.md.
//
// Timing: inputs are registered once (src_q). On each edge, a line whose input is 1 while
// src_q is 0 has risen: its timestamp register takes timestamp_i (the counter value of the
// cycle in which the input first read 1). Level lines: PENDING follows the input, one edge
// later. Edge lines: PENDING sets on a rise and clears on an EOI write of 1 (a rise on the
// same edge wins). irq_vec_o = PENDING & ~MASK, irq_o = |irq_vec_o, both registered.
// Idle skipping: next_event_o = 1 while anything would change on the next edge, else all ones.
module kmrig_intc #(
    parameter integer N = 8
) (
    input  wire          clk_i,
    input  wire          rst_ni,

    input  wire          wb_cyc_i,
    input  wire          wb_stb_i,
    input  wire          wb_we_i,
    // Only the word index inside the window is decoded: the interconnect has matched the rest.
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire [31:0]   wb_adr_i,
    /* verilator lint_on UNUSEDSIGNAL */
    input  wire [3:0]    wb_sel_i,
    input  wire [31:0]   wb_dat_i,
    output wire [31:0]   wb_dat_o,
    output wire          wb_ack_o,
    output wire          wb_err_o,

    input  wire [N-1:0]  irq_i,
    input  wire [63:0]   timestamp_i,
    output wire [N-1:0]  irq_vec_o,
    output wire          irq_o,
    output wire [31:0]   next_event_o
);
    localparam [5:0] A_PENDING = 6'h00;
    localparam [5:0] A_MASK    = 6'h01;
    localparam [5:0] A_MODE    = 6'h02;
    localparam [5:0] A_EOI     = 6'h03;
    localparam [5:0] A_ACTIVE  = 6'h04;
    localparam [5:0] A_RAW     = 6'h05;
    localparam [5:0] A_NLINES  = 6'h06;
    localparam integer A_TS    = 16;     // TS_LO of line n at word A_TS + 2n, TS_HI at + 1
    localparam [31:0] NLINES   = N;

    reg            ack_q;
    reg [31:0]     dat_q;
    reg [N-1:0]    src_q;
    reg [N-1:0]    pending_q;
    reg [N-1:0]    mask_q;
    reg [N-1:0]    mode_q;
    reg [N*64-1:0] ts_q;

    wire        req   = wb_cyc_i & wb_stb_i & ~ack_q;
    wire        rd    = req & ~wb_we_i;
    wire        wr    = req & wb_we_i;
    wire [5:0]  widx  = wb_adr_i[7:2];
    wire [31:0] lanes = {{8{wb_sel_i[3]}}, {8{wb_sel_i[2]}}, {8{wb_sel_i[1]}}, {8{wb_sel_i[0]}}};
    wire [31:0] widx_int = {26'h0000000, widx};
    // Register bits exist only for the N lines; higher data bits are ignored.
    /* verilator lint_off UNUSEDSIGNAL */
    wire [31:0] wdata = wb_dat_i & lanes;
    /* verilator lint_on UNUSEDSIGNAL */

    wire [N-1:0] rise = irq_i & ~src_q;
    wire [N-1:0] eoi  = (wr && widx == A_EOI) ? wdata[N-1:0] : {N{1'b0}};
    wire [N-1:0] pending_d = (mode_q & ((pending_q & ~eoi) | rise)) | (~mode_q & irq_i);

    reg [31:0] rdata;
    integer    n;
    always @(*) begin
        case (widx)
            A_PENDING: rdata = {{(32-N){1'b0}}, pending_q};
            A_MASK:    rdata = {{(32-N){1'b0}}, mask_q};
            A_MODE:    rdata = {{(32-N){1'b0}}, mode_q};
            A_ACTIVE:  rdata = {{(32-N){1'b0}}, pending_q & ~mask_q};
            A_RAW:     rdata = {{(32-N){1'b0}}, src_q};
            A_NLINES:  rdata = NLINES;
            default:   rdata = 32'h00000000;
        endcase
        for (n = 0; n < N; n = n + 1) begin
            if (widx_int == A_TS + 2 * n) begin
                rdata = ts_q[64*n +: 32];
            end
            if (widx_int == A_TS + 2 * n + 1) begin
                rdata = ts_q[64*n + 32 +: 32];
            end
        end
    end

    integer i;
    always @(posedge clk_i or negedge rst_ni) begin
        if (!rst_ni) begin
            ack_q     <= 1'b0;
            dat_q     <= 32'h00000000;
            src_q     <= {N{1'b0}};
            pending_q <= {N{1'b0}};
            mask_q    <= {N{1'b1}};
            mode_q    <= {N{1'b0}};
            ts_q      <= {(N*64){1'b0}};
        end else begin
            ack_q     <= req;
            src_q     <= irq_i;
            pending_q <= pending_d;
            if (rd) begin
                dat_q <= rdata;
            end
            if (wr && widx == A_MASK) begin
                mask_q <= (mask_q & ~lanes[N-1:0]) | wdata[N-1:0];
            end
            if (wr && widx == A_MODE) begin
                mode_q <= (mode_q & ~lanes[N-1:0]) | wdata[N-1:0];
            end
            for (i = 0; i < N; i = i + 1) begin
                if (rise[i]) begin
                    ts_q[64*i +: 64] <= timestamp_i;
                end
            end
        end
    end

    assign wb_dat_o     = dat_q;
    assign wb_ack_o     = ack_q;
    assign wb_err_o     = 1'b0;
    assign irq_vec_o    = pending_q & ~mask_q;
    assign irq_o        = |irq_vec_o;
    assign next_event_o = (irq_i != src_q || pending_d != pending_q) ? 32'h00000001
                                                                      : 32'hFFFFFFFF;
endmodule

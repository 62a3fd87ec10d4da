// kmrig_bridge_irq: the bridge's interrupt unit (docs/protocol.md, section 7).
//
// N lines, each masked or not and level or edge (reset: all masked, level). Inputs are
// registered once; a rising input stores the timestamp of the cycle it was first seen high (as
// kmrig_intc does). Edge lines latch a rise until EOI, level lines are pending while high.
// An EVT_IRQ is requested when a line's bit in active (= pending & ~mask) rises (ASSERTED = 1,
// EDGE = the line's mode, ts = its rise), and when a reported level line drops while unmasked
// (ASSERTED = 0). Masking sends nothing; unmasking a pending line reports it; EOI clears edge
// latches and re-reports a level line that is still high. Lowest line first, asserts before
// deasserts. Events wait for enable_i (a successful HELLO). N is at most 8 here.
module kmrig_bridge_irq #(
    parameter integer N = 8
) (
    input  wire        clk_i,
    input  wire        rst_ni,
    input  wire [N-1:0] irq_i,
    input  wire [63:0] ts_i,
    input  wire        enable_i,

    input  wire        ctl_valid_i,
    input  wire [2:0]  ctl_op_i,      // KMRIG_PROTO_IRQ_OP_*
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire [31:0] ctl_lines_i,   // (lines above N do not exist and are ignored)
    /* verilator lint_on UNUSEDSIGNAL */

    output wire        evt_valid_o,
    input  wire        evt_ready_i,
    output reg  [7:0]  evt_line_o,
    output wire [7:0]  evt_state_o,   // bit 0 ASSERTED, bit 1 EDGE
    output wire [31:0] evt_active_o,
    output wire [63:0] evt_ts_o,

    output wire [31:0] pending_o,
    output wire [31:0] mask_o,
    output wire [31:0] mode_o,
    output wire [31:0] raw_o,
    output wire        busy_o         // an input change or an event is under way
);
    /* verilator lint_off UNUSEDPARAM */
`include "kmrig_proto.vh"
    /* verilator lint_on UNUSEDPARAM */

    // the bits of a line number that index the N lines
    localparam integer IW = (N > 4) ? 3 : (N > 2) ? 2 : 1;

    reg [N-1:0]    raw_q;
    reg [N-1:0]    latch_q;
    reg [N-1:0]    mask_q;
    reg [N-1:0]    mode_q;
    reg [N-1:0]    rep_q;        // lines whose assertion the host was told of
    reg [N*64-1:0] ts_q;

    wire [N-1:0] lines   = ctl_lines_i[N-1:0];
    wire [N-1:0] pending = (mode_q & latch_q) | (~mode_q & raw_q);
    wire [N-1:0] active  = pending & ~mask_q;
    wire [N-1:0] up      = active & ~rep_q;
    wire [N-1:0] down    = rep_q & ~active & ~mode_q & ~mask_q;
    wire [N-1:0] rise    = irq_i & ~raw_q;

    reg        evt_up;
    integer i;
    always @(*) begin
        evt_line_o = 8'd0;
        evt_up     = 1'b0;
        for (i = N - 1; i >= 0; i = i - 1) begin
            if (down[i]) begin
                evt_line_o = i[7:0];
            end
        end
        for (i = N - 1; i >= 0; i = i - 1) begin
            if (up[i]) begin
                evt_line_o = i[7:0];
                evt_up     = 1'b1;
            end
        end
    end

    assign evt_valid_o  = enable_i && ((|up) || (|down));
    assign evt_state_o  = {6'h00, mode_q[evt_line_o[IW-1:0]], evt_up};
    assign evt_active_o = {{(32-N){1'b0}}, active};
    assign evt_ts_o     = ts_q[64*evt_line_o[IW-1:0] +: 64];
    assign pending_o    = {{(32-N){1'b0}}, pending};
    assign mask_o       = {{(32-N){1'b0}}, mask_q};
    assign mode_o       = {{(32-N){1'b0}}, mode_q};
    assign raw_o        = {{(32-N){1'b0}}, raw_q};
    assign busy_o       = (irq_i != raw_q) || evt_valid_o;

    wire op_mask   = ctl_valid_i && ctl_op_i == KMRIG_PROTO_IRQ_OP_MASK[2:0];
    wire op_unmask = ctl_valid_i && ctl_op_i == KMRIG_PROTO_IRQ_OP_UNMASK[2:0];
    wire op_level  = ctl_valid_i && ctl_op_i == KMRIG_PROTO_IRQ_OP_LEVEL[2:0];
    wire op_edge   = ctl_valid_i && ctl_op_i == KMRIG_PROTO_IRQ_OP_EDGE[2:0];
    wire op_eoi    = ctl_valid_i && ctl_op_i == KMRIG_PROTO_IRQ_OP_EOI[2:0];

    integer n;
    always @(posedge clk_i or negedge rst_ni) begin
        if (!rst_ni) begin
            raw_q   <= {N{1'b0}};
            latch_q <= {N{1'b0}};
            mask_q  <= {N{1'b1}};
            mode_q  <= {N{1'b0}};
            rep_q   <= {N{1'b0}};
            ts_q    <= {(N*64){1'b0}};
        end else begin
            raw_q   <= irq_i;
            // a rise on the same edge as an EOI wins
            latch_q <= (latch_q & ~(op_eoi ? lines : {N{1'b0}})) | rise;
            for (n = 0; n < N; n = n + 1) begin
                if (rise[n]) begin
                    ts_q[64*n +: 64] <= ts_i;
                end
            end
            if (op_mask)   mask_q <= mask_q | lines;
            if (op_unmask) mask_q <= mask_q & ~lines;
            if (op_level)  mode_q <= mode_q & ~lines;
            if (op_edge)   mode_q <= mode_q | lines;
            // forget silently: masked lines and edge lines no longer pending; EOI re-arms
            rep_q <= rep_q & ~mask_q & ~(mode_q & ~active) &
                     ~((op_eoi | op_mask) ? lines : {N{1'b0}});
            if (evt_valid_o && evt_ready_i) begin
                rep_q[evt_line_o[IW-1:0]] <= evt_up;
            end
        end
    end
endmodule

// kmrig_timer: 32-bit down counter with one-shot/periodic modes and a level interrupt.
// Wishbone B4 classic slave, registered ACK, byte-lane writes. Register map: docs/rtl.md.
//
// Timing (one clock edge per cycle, tick_i = 1):
//   - the edge that writes CTRL.EN from 0 to 1 loads COUNT with LOAD;
//   - every later edge with EN set and COUNT != 0 decrements COUNT;
//   - the edge at which COUNT goes from 1 to 0 is the expiry: STATUS.PENDING is set and COUNT
//     reloads LOAD (periodic) or stays 0 and EN clears (one-shot). So the expiry comes LOAD
//     edges after the enabling edge, and every LOAD edges after that when periodic.
//   - irq_o = PENDING & IRQ_EN. A bus write to CTRL or COUNT on the expiry edge wins for that
//     register; PENDING is set regardless (set wins over a same-edge write-1-to-clear).
// Idle skipping: next_event_o = COUNT while counting (the expiry is COUNT edges away), else
// all ones. The harness may collapse up to next_event_o cycles into one edge by driving
// tick_i = n; COUNT then drops by n and an expiry on that edge is handled as above.
module kmrig_timer (
    input  wire        clk_i,
    input  wire        rst_ni,
    input  wire [31:0] tick_i,

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

    output wire        irq_o,
    output wire [31:0] next_event_o
);
    localparam [5:0] A_CTRL   = 6'h00;
    localparam [5:0] A_LOAD   = 6'h01;
    localparam [5:0] A_COUNT  = 6'h02;
    localparam [5:0] A_STATUS = 6'h03;

    reg        ack_q;
    reg [31:0] dat_q;
    reg        en_q;
    reg        periodic_q;
    reg        irq_en_q;
    reg [31:0] load_q;
    reg [31:0] count_q;
    reg        pending_q;

    wire        req   = wb_cyc_i & wb_stb_i & ~ack_q;
    wire        rd    = req & ~wb_we_i;
    wire        wr    = req & wb_we_i;
    wire [5:0]  widx  = wb_adr_i[7:2];
    wire [31:0] lanes = {{8{wb_sel_i[3]}}, {8{wb_sel_i[2]}}, {8{wb_sel_i[1]}}, {8{wb_sel_i[0]}}};

    wire wr_ctrl   = wr & (widx == A_CTRL) & wb_sel_i[0];
    wire wr_load   = wr & (widx == A_LOAD);
    wire wr_count  = wr & (widx == A_COUNT);
    wire clr_pend  = wr & (widx == A_STATUS) & wb_sel_i[0] & wb_dat_i[0];

    wire counting  = en_q & (count_q != 32'h00000000);
    wire expire    = counting & (count_q <= tick_i);

    wire [31:0] load_d = (load_q & ~lanes) | (wb_dat_i & lanes);

    reg [31:0] rdata;
    always @(*) begin
        case (widx)
            A_CTRL:   rdata = {29'h00000000, irq_en_q, periodic_q, en_q};
            A_LOAD:   rdata = load_q;
            A_COUNT:  rdata = count_q;
            A_STATUS: rdata = {31'h00000000, pending_q};
            default:  rdata = 32'h00000000;
        endcase
    end

    always @(posedge clk_i or negedge rst_ni) begin
        if (!rst_ni) begin
            ack_q      <= 1'b0;
            dat_q      <= 32'h00000000;
            en_q       <= 1'b0;
            periodic_q <= 1'b0;
            irq_en_q   <= 1'b0;
            load_q     <= 32'h00000000;
            count_q    <= 32'h00000000;
            pending_q  <= 1'b0;
        end else begin
            ack_q <= req;
            if (rd) begin
                dat_q <= rdata;
            end

            if (wr_load) begin
                load_q <= load_d;
            end

            if (wr_ctrl) begin
                en_q       <= wb_dat_i[0];
                periodic_q <= wb_dat_i[1];
                irq_en_q   <= wb_dat_i[2];
            end else if (expire && !periodic_q) begin
                en_q <= 1'b0;
            end

            if (wr_ctrl && wb_dat_i[0] && !en_q) begin
                count_q <= load_q;
            end else if (wr_count) begin
                count_q <= (count_q & ~lanes) | (wb_dat_i & lanes);
            end else if (expire) begin
                count_q <= periodic_q ? load_q : 32'h00000000;
            end else if (counting) begin
                count_q <= count_q - tick_i;
            end

            if (expire) begin
                pending_q <= 1'b1;
            end else if (clr_pend) begin
                pending_q <= 1'b0;
            end
        end
    end

    assign wb_dat_o     = dat_q;
    assign wb_ack_o     = ack_q;
    assign wb_err_o     = 1'b0;
    assign irq_o        = pending_q & irq_en_q;
    assign next_event_o = counting ? count_q : 32'hFFFFFFFF;
endmodule

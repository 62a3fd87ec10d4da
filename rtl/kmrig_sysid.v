// kmrig_sysid: identification, version, 64-bit timestamp counter and a scratch register.
// Wishbone B4 classic slave, registered ACK (one wait-free cycle), byte-lane writes.
// Register map: docs/rtl.md ("sysid"), rtl/soc.json.
module kmrig_sysid #(
    parameter [31:0] ID       = 32'h4B4D5247,
    parameter [31:0] VERSION  = 32'h00010000,
    parameter [31:0] CLOCK_HZ = 32'd50000000
) (
    input  wire        clk_i,
    input  wire        rst_ni,
    input  wire [31:0] tick_i,       // cycles this clock edge stands for (1 on hardware)

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

    output wire [63:0] timestamp_o,  // free-running cycle counter, 0 at reset release
    output wire [31:0] next_event_o  // cycles until a non-linear state change: never
);
    localparam [5:0] A_ID       = 6'h00;
    localparam [5:0] A_VERSION  = 6'h01;
    localparam [5:0] A_TS_LO    = 6'h02;
    localparam [5:0] A_TS_HI    = 6'h03;
    localparam [5:0] A_SCRATCH  = 6'h04;
    localparam [5:0] A_CLOCK_HZ = 6'h05;

    reg        ack_q;
    reg [31:0] dat_q;
    reg [63:0] ts_q;
    reg [31:0] ts_hi_q;
    reg [31:0] scratch_q;

    wire        req   = wb_cyc_i & wb_stb_i & ~ack_q;
    wire        rd    = req & ~wb_we_i;
    wire        wr    = req & wb_we_i;
    wire [5:0]  widx  = wb_adr_i[7:2];
    wire [31:0] lanes = {{8{wb_sel_i[3]}}, {8{wb_sel_i[2]}}, {8{wb_sel_i[1]}}, {8{wb_sel_i[0]}}};

    reg [31:0] rdata;
    always @(*) begin
        case (widx)
            A_ID:       rdata = ID;
            A_VERSION:  rdata = VERSION;
            A_TS_LO:    rdata = ts_q[31:0];
            A_TS_HI:    rdata = ts_hi_q;
            A_SCRATCH:  rdata = scratch_q;
            A_CLOCK_HZ: rdata = CLOCK_HZ;
            default:    rdata = 32'h00000000;
        endcase
    end

    always @(posedge clk_i or negedge rst_ni) begin
        if (!rst_ni) begin
            ack_q     <= 1'b0;
            dat_q     <= 32'h00000000;
            ts_q      <= 64'h0000000000000000;
            ts_hi_q   <= 32'h00000000;
            scratch_q <= 32'h00000000;
        end else begin
            ack_q <= req;
            ts_q  <= ts_q + {32'h00000000, tick_i};
            if (rd) begin
                dat_q <= rdata;
                if (widx == A_TS_LO) begin
                    ts_hi_q <= ts_q[63:32];
                end
            end
            if (wr && widx == A_SCRATCH) begin
                scratch_q <= (scratch_q & ~lanes) | (wb_dat_i & lanes);
            end
        end
    end

    assign wb_dat_o     = dat_q;
    assign wb_ack_o     = ack_q;
    assign wb_err_o     = 1'b0;
    assign timestamp_o  = ts_q;
    assign next_event_o = 32'hFFFFFFFF;
endmodule

// kmrig_wb_interconnect: one Wishbone B4 classic master to N slaves.
//
// Slave i owns the window (adr & WIN_MASK[i]) == WIN_BASE[i] in the address space WIN_IO[i]
// (io_i = 1: I/O-port space, 0: memory space); windows must not overlap (rtl/gen_soc.py
// checks). Address, data, byte selects and WE go to every slave; STB only to the one that
// matches. Each slave gets the address as an offset in its window (adr & ~WIN_MASK[i]), so a
// slave decodes the same offsets wherever its window is. A cycle that matches no window ends
// with ERR one edge later. ACK/ERR/data come back
// OR-ed, data gated by each slave's ACK, so a slave only drives data while it acknowledges.
//
// Idle gap: after each completed cycle the interconnect holds off the next one for gap_i
// cycles. The edge after the one that produced ACK/ERR loads the gap counter (the master is
// expected to idle CYC/STB on that edge, as kmrig's masters do); STB is not forwarded while
// the counter is not zero, so the next cycle reaches its slave gap_i edges later than with
// gap_i = 0. The hold-off uses registered state only: slaves with a combinational ACK do not
// form a loop through it.
module kmrig_wb_interconnect #(
    parameter integer        N        = 2,
    parameter [N*32-1:0]     WIN_BASE = {N{32'h00000000}},
    parameter [N*32-1:0]     WIN_MASK = {N{32'hFFFFFFFF}},
    parameter [N-1:0]        WIN_IO   = {N{1'b0}}
) (
    input  wire            clk_i,
    input  wire            rst_ni,
    input  wire [31:0]     tick_i,
    input  wire [7:0]      gap_i,

    // master side
    input  wire            m_cyc_i,
    input  wire            m_stb_i,
    input  wire            m_we_i,
    input  wire            m_io_i,
    input  wire [31:0]     m_adr_i,
    input  wire [3:0]      m_sel_i,
    input  wire [31:0]     m_dat_i,
    output reg  [31:0]     m_dat_o,
    output wire            m_ack_o,
    output wire            m_err_o,

    // slave side
    output wire            s_cyc_o,
    output wire [N-1:0]    s_stb_o,
    output wire            s_we_o,
    output wire [N*32-1:0] s_adr_o,     // slave i: bits [32*i +: 32]
    output wire [3:0]      s_sel_o,
    output wire [31:0]     s_dat_o,
    input  wire [N*32-1:0] s_dat_i,
    input  wire [N-1:0]    s_ack_i,
    input  wire [N-1:0]    s_err_i
);
    reg         err_q;
    reg  [7:0]  gap_q;
    reg [N-1:0] hit;

    integer i;
    always @(*) begin
        for (i = 0; i < N; i = i + 1) begin
            hit[i] = (m_io_i == WIN_IO[i]) &&
                     ((m_adr_i & WIN_MASK[32*i +: 32]) == WIN_BASE[32*i +: 32]);
        end
    end

    integer j;
    always @(*) begin
        m_dat_o = 32'h00000000;
        for (j = 0; j < N; j = j + 1) begin
            m_dat_o = m_dat_o | (s_dat_i[32*j +: 32] & {32{s_ack_i[j]}});
        end
    end

    wire done    = m_ack_o | m_err_o;
    wire blocked = gap_q != 8'h00;
    wire active  = m_cyc_i & m_stb_i & ~blocked;

    always @(posedge clk_i or negedge rst_ni) begin
        if (!rst_ni) begin
            err_q <= 1'b0;
            gap_q <= 8'h00;
        end else begin
            err_q <= active & ~(|hit) & ~err_q;
            if (done) begin
                gap_q <= gap_i;
            end else if ({24'h000000, gap_q} > tick_i) begin
                gap_q <= gap_q - tick_i[7:0];
            end else begin
                gap_q <= 8'h00;
            end
        end
    end

    assign s_cyc_o = m_cyc_i;
    assign s_stb_o = hit & {N{active}};
    assign s_we_o  = m_we_i;
    genvar k;
    generate
        for (k = 0; k < N; k = k + 1) begin : g_offset
            assign s_adr_o[32*k +: 32] = m_adr_i & ~WIN_MASK[32*k +: 32];
        end
    endgenerate
    assign s_sel_o = m_sel_i;
    assign s_dat_o = m_dat_i;
    assign m_ack_o = |s_ack_i;
    assign m_err_o = err_q | (|s_err_i);
endmodule

// kmrig_dma_arbiter: two Wishbone B4 classic masters onto the SoC's DMA port.
//
// Master a has priority over master b when both start a cycle on the same edge. Once a cycle
// is on the port and not answered on that edge, the port stays with its master until ACK/ERR
// (lock_q), so a slave with wait states never sees the address change under it. ACK/ERR go
// only to the master that owns the port; read data goes to both (each takes it with its ACK).
// The selection is combinational from the requests and registered state only.
module kmrig_dma_arbiter (
    input  wire        clk_i,
    input  wire        rst_ni,

    input  wire        a_cyc_i,
    input  wire        a_stb_i,
    input  wire        a_we_i,
    input  wire [63:0] a_adr_i,
    input  wire [3:0]  a_sel_i,
    input  wire [31:0] a_dat_i,
    output wire        a_ack_o,
    output wire        a_err_o,

    input  wire        b_cyc_i,
    input  wire        b_stb_i,
    input  wire        b_we_i,
    input  wire [63:0] b_adr_i,
    input  wire [3:0]  b_sel_i,
    input  wire [31:0] b_dat_i,
    output wire        b_ack_o,
    output wire        b_err_o,

    output wire        s_cyc_o,
    output wire        s_stb_o,
    output wire        s_we_o,
    output wire [63:0] s_adr_o,
    output wire [3:0]  s_sel_o,
    output wire [31:0] s_dat_o,
    input  wire        s_ack_i,
    input  wire        s_err_i
);
    reg lock_q;
    reg own_b_q;

    wire a_req = a_cyc_i & a_stb_i;
    wire b_req = b_cyc_i & b_stb_i;
    wire sel_b = lock_q ? own_b_q : (~a_req & b_req);

    always @(posedge clk_i or negedge rst_ni) begin
        if (!rst_ni) begin
            lock_q  <= 1'b0;
            own_b_q <= 1'b0;
        end else begin
            lock_q  <= s_cyc_o & s_stb_o & ~s_ack_i & ~s_err_i;
            own_b_q <= sel_b;
        end
    end

    assign s_cyc_o = sel_b ? b_cyc_i : a_cyc_i;
    assign s_stb_o = sel_b ? b_stb_i : a_stb_i;
    assign s_we_o  = sel_b ? b_we_i : a_we_i;
    assign s_adr_o = sel_b ? b_adr_i : a_adr_i;
    assign s_sel_o = sel_b ? b_sel_i : a_sel_i;
    assign s_dat_o = sel_b ? b_dat_i : a_dat_i;
    assign a_ack_o = s_ack_i & ~sel_b;
    assign a_err_o = s_err_i & ~sel_b;
    assign b_ack_o = s_ack_i & sel_b;
    assign b_err_o = s_err_i & sel_b;
endmodule

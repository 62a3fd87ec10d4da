// kmrig_enum_rom: the read-only enumeration ROM (contents generated from rtl/soc.json into
// rtl/gen/kmrig_soc_rom.vh; layout in docs/rtl.md). Wishbone B4 classic slave, registered ACK.
// Writes are acknowledged and ignored.
module kmrig_enum_rom (
    input  wire        clk_i,
    input  wire        rst_ni,

    input  wire        wb_cyc_i,
    input  wire        wb_stb_i,
    input  wire        wb_we_i,
    // Reads return whole words (the master picks byte lanes), writes are ignored: only the
    // word index is decoded, and neither the write data nor the byte selects are used.
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire [31:0] wb_adr_i,
    input  wire [3:0]  wb_sel_i,
    input  wire [31:0] wb_dat_i,
    /* verilator lint_on UNUSEDSIGNAL */
    output wire [31:0] wb_dat_o,
    output wire        wb_ack_o,
    output wire        wb_err_o
);
`include "kmrig_soc_rom.vh"

    reg        ack_q;
    reg [31:0] dat_q;

    wire req = wb_cyc_i & wb_stb_i & ~ack_q;

    always @(posedge clk_i or negedge rst_ni) begin
        if (!rst_ni) begin
            ack_q <= 1'b0;
            dat_q <= 32'h00000000;
        end else begin
            ack_q <= req;
            if (req && !wb_we_i) begin
                dat_q <= kmrig_soc_rom_word(wb_adr_i[KMRIG_SOC_ROM_AW+1:2]);
            end
        end
    end

    assign wb_dat_o = dat_q;
    assign wb_ack_o = ack_q;
    assign wb_err_o = 1'b0;
endmodule

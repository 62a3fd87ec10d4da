// bench_sim_raw.cpp - the reference for bench_sim: the same RTL (the model's top, Vkmrig_soc)
// driven by the smallest possible Verilator loop, with no harness around it: N register reads
// on the host Wishbone port (2 cycles each, as kmrig_simsoc_read does them), and N bare clock
// cycles. Plain C++ (no -fshort-wchar); a C entry point for bench_sim.c.
#include <cstdint>
#include <memory>

#include <verilated.h>

#include "Vkmrig_soc.h"

namespace
{
struct raw {
    VerilatedContext ctx;
    std::unique_ptr<Vkmrig_soc> top;
    raw() : top(new Vkmrig_soc{&ctx, "TOP"})
    {
        ctx.randReset(0);
        top->tick_i = 1;
        top->bus_gap_i = 0;
        top->uart_rx_i = 1;
        top->phy_tx_ready_i = 1;
        top->rst_ni = 0;
        top->clk_i = 0;
        top->eval();
        for (int i = 0; i < 4; i++)
            edge();
        top->rst_ni = 1;
        top->eval();
    }
    ~raw()
    {
        top->final();
    }
    void edge()
    {
        top->clk_i = 0;
        top->eval();
        top->clk_i = 1;
        top->eval();
    }
};
} // namespace

extern "C" uint32_t bench_raw_reads(uint32_t addr, uint64_t n)
{
    raw r;
    uint32_t sum = 0;
    for (uint64_t i = 0; i < n; i++) {
        r.top->wb_cyc_i = 1;
        r.top->wb_stb_i = 1;
        r.top->wb_we_i = 0;
        r.top->wb_io_i = 0;
        r.top->wb_adr_i = addr;
        r.top->wb_sel_i = 0xF;
        r.edge();
        while (!r.top->wb_ack_o && !r.top->wb_err_o)
            r.edge();
        sum += r.top->wb_dat_o;
        r.top->wb_cyc_i = 0;
        r.top->wb_stb_i = 0;
        r.top->wb_sel_i = 0;
        r.edge();
    }
    return sum;
}

extern "C" void bench_raw_cycles(uint64_t n)
{
    raw r;
    for (uint64_t i = 0; i < n; i++)
        r.edge();
}

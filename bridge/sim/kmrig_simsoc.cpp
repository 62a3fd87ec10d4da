// kmrig_simsoc.cpp - the C API of kmrig/simsoc.h over a Verilated SoC top.
//
// Follows Verilator's examples/make_tracing_c/sim_main.cpp: each model owns its
// VerilatedContext, the clock is stepped with timeInc/eval, final() runs at destroy, and
// nothing here prints or exits. The top is chosen at build time (kmrig_add_sim_model in
// cmake/KmrigSim.cmake): KMRIG_SIM_TOP_CLASS / KMRIG_SIM_TOP_HEADER name the Verilated class.
// The top must have the port contract of rtl/kmrig_soc.v (docs/rtl.md, "Simulation ports").
//
// Built without -fshort-wchar and without sanitizers (cmake/KmrigSim.cmake); no wchar_t
// crosses the C API.

#include <kmrig/simsoc.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <memory>
#include <new>
#include <utility>
#include <vector>

#include <verilated.h>
#if VM_TRACE_FST
#include <verilated_fst_c.h>
#endif

#include "kmrig_soc_map.h"

#ifndef KMRIG_SIM_TOP_CLASS
#error "KMRIG_SIM_TOP_CLASS (the Verilated top class) must be defined"
#endif
#include KMRIG_SIM_TOP_HEADER

static_assert(sizeof(wchar_t) == 4, "the Verilator side must not be built with -fshort-wchar");

namespace
{

constexpr uint64_t default_clock_hz = 50000000;
constexpr unsigned default_bus_timeout = 1024;
constexpr unsigned reset_cycles = 4;
constexpr uint64_t max_tick = 0xFFFFFFFFu; // tick_i is 32 bits wide

// Bits of one asynchronous serial frame for an LCR-style format (bits 5:0): start, 5..8 data
// bits LSB first, parity (none/odd/even/mark/space), 1, 1.5 or 2 stop bits. Durations are in
// half bits, so 1.5 stop bits are exact.
struct frame_fmt {
    unsigned nbits, pen, eps, stick, stop_halves;
    explicit frame_fmt(unsigned lcr = 3)
        : nbits(5 + (lcr & 3)), pen((lcr >> 3) & 1), eps((lcr >> 4) & 1), stick((lcr >> 5) & 1),
          stop_halves((lcr & 4) ? ((lcr & 3) == 0 ? 3 : 4) : 2)
    {
    }
    int parity(unsigned byte) const
    {
        if (stick)
            return !eps;
        unsigned ones = 0;
        for (unsigned i = 0; i < nbits; i++)
            ones += (byte >> i) & 1;
        return eps ? (ones & 1) : !(ones & 1);
    }
};

} // namespace

struct kmrig_simsoc {
    std::unique_ptr<VerilatedContext> ctx;
    std::unique_ptr<KMRIG_SIM_TOP_CLASS> top;
#if VM_TRACE_FST
    std::unique_ptr<VerilatedFstC> fst;
#endif
    uint64_t clock_hz = default_clock_hz;
    uint64_t half_ps[2] = {0, 0}; // how long the clock stays low [0] and high [1], in ps
    unsigned bus_timeout = default_bus_timeout;
    bool no_skip = false;
    bool tracing = false;
    bool uart_plug = false;
    kmrig_simsoc_dma_fn dma_fn = nullptr;
    void *dma_ctx = nullptr;
    unsigned dma_wait = 0;
    bool dma_waiting = false; // a DMA cycle is on the port, waiting out its wait states
    unsigned dma_wait_left = 0;
    // The remote end of the serial line (kmrig_simsoc_uart_remote): a sender that drives rx_i
    // with exact bit timing and a receiver that decodes tx_o.
    uint32_t remote_cpb = 0; // cycles per bit; 0: no remote end
    frame_fmt remote_fmt;
    std::deque<std::pair<int, uint64_t>> send_segs; // (level, half bits) still to drive
    uint64_t send_seg_end = 0; // cycle at which the level on rx_i ends (send_segs nonempty)
    size_t send_pending = 0;   // bytes queued and not yet completely sent
    std::deque<unsigned> send_frame_halves; // per queued byte: its frame length in half bits
    uint64_t send_frame_end = 0;
    std::vector<std::pair<uint64_t, int>> tx_log; // tx_o changes (cycle, new level)
    int tx_seen = 1;
    bool rx_in_frame = false;
    uint64_t rx_t0 = 0;
    std::deque<uint8_t> recv_bytes;
    unsigned recv_errors = 0;
    uint64_t dma_held_adr = 0; // ... and what it was when it appeared
    uint32_t dma_held_dat = 0;
    uint8_t dma_held_ctl = 0;
    // A cycle the handler held (kmrig_simsoc_dma_hold): its answer waits for dma_hold_until.
    bool dma_holding = false;
    bool dma_in_fn = false;    // fn is running: kmrig_simsoc_dma_hold may be called
    uint64_t dma_hold_req = 0; // ... and what it asked for
    uint64_t dma_hold_until = 0;
    int dma_hold_rc = 0;
    uint32_t dma_hold_rdata = 0;
    uint64_t cycles = 0;
    kmrig_simsoc_stats stats = {};
    // Full-bridge fidelity: the PHY's byte queues (host to bridge, bridge to host).
    bool bridge = false;
    std::deque<uint8_t> phy_in;
    std::deque<uint8_t> phy_out;

    // One clock phase: time passes, the clock changes, the model settles, the wave is dumped.
    void phase(int level, uint64_t ps)
    {
        ctx->timeInc(ps);
        top->clk_i = level;
        top->eval();
#if VM_TRACE_FST
        if (tracing)
            fst->dump(ctx->time());
#endif
    }

    // One rising edge standing for `tick` cycles (tick > 1 only while the bus is idle and
    // tick <= next_event_o). The low phase absorbs the skipped time, so waves show real time.
    void edge(uint64_t tick)
    {
        top->tick_i = static_cast<uint32_t>(tick);
#if KMRIG_SIM_BRIDGE
        // The PHY handshakes happen at this edge: the bridge takes the byte on phy_rx_data_i
        // if it is ready, and gives the one on phy_tx_data_o (the host side is always ready).
        bool take = false, give = false;
        uint8_t out = 0;
        if (bridge) {
            top->phy_rx_valid_i = !phy_in.empty();
            top->phy_rx_data_i = phy_in.empty() ? 0 : phy_in.front();
            take = !phy_in.empty() && top->phy_rx_ready_o;
            give = top->phy_tx_valid_o;
            out = top->phy_tx_data_o;
        }
#endif
        phase(0, half_ps[1] + (tick - 1) * (half_ps[0] + half_ps[1]));
        phase(1, half_ps[0]);
#if KMRIG_SIM_BRIDGE
        if (take) {
            phy_in.pop_front();
            stats.phy_rx_bytes++;
        }
        if (give) {
            phy_out.push_back(out);
            stats.phy_tx_bytes++;
        }
#endif
        cycles += tick;
        stats.edges++;
        stats.skipped_cycles += tick - 1;
        if (uart_plug)
            plug();
        if (remote_cpb)
            remote_after_edge();
        serve_dma();
    }

    uint64_t half(unsigned halves) const
    {
        return static_cast<uint64_t>(halves) * remote_cpb / 2;
    }

    // Drives the next level of the sender, if the current one has ended at this cycle.
    void remote_after_edge()
    {
        bool changed = false;
        while (!send_segs.empty() && cycles >= send_seg_end) {
            send_segs.pop_front();
            if (send_segs.empty())
                break;
            send_seg_end += half(static_cast<unsigned>(send_segs.front().second));
            top->uart_rx_i = static_cast<uint8_t>(send_segs.front().first);
            changed = true;
        }
        if (send_segs.empty() && top->uart_rx_i != 1) {
            top->uart_rx_i = 1;
            changed = true;
        }
        while (!send_frame_halves.empty() && cycles >= send_frame_end) {
            send_frame_halves.pop_front();
            send_pending--;
            if (!send_frame_halves.empty())
                send_frame_end += half(send_frame_halves.front());
        }
        if (changed)
            top->eval();
        if (top->uart_tx_o != tx_seen) {
            tx_seen = top->uart_tx_o;
            tx_log.emplace_back(cycles, tx_seen);
        }
        remote_decode();
    }

    // The level tx_o had at cycle t, from the log (t not before the log's first entry).
    int tx_at(uint64_t t) const
    {
        int level = 1;
        for (const auto &e : tx_log) {
            if (e.first > t)
                break;
            level = e.second;
        }
        return level;
    }

    // Decodes every frame on tx_o whose stop-bit sample time has passed: samples in the middle
    // of each bit, counted from the falling edge of the start bit.
    void remote_decode()
    {
        for (;;) {
            if (!rx_in_frame) {
                size_t i = 0;
                while (i < tx_log.size() && tx_log[i].second != 0)
                    i++;
                tx_log.erase(tx_log.begin(), tx_log.begin() + static_cast<std::ptrdiff_t>(i));
                if (tx_log.empty())
                    return;
                rx_in_frame = true;
                rx_t0 = tx_log.front().first;
            }
            const frame_fmt &f = remote_fmt;
            const unsigned nsamples = 1 + f.nbits + f.pen + 1;
            const uint64_t last =
                rx_t0 + half(1) + static_cast<uint64_t>(nsamples - 1) * remote_cpb;
            if (cycles < last)
                return;
            unsigned byte = 0;
            bool bad = tx_at(rx_t0 + half(1)) != 0;
            for (unsigned b = 0; b < f.nbits; b++)
                byte |=
                    static_cast<unsigned>(tx_at(rx_t0 + half(1) + (1 + b) * uint64_t{remote_cpb}))
                    << b;
            if (f.pen &&
                tx_at(rx_t0 + half(1) + (1 + f.nbits) * uint64_t{remote_cpb}) != f.parity(byte))
                bad = true;
            const int stop = tx_at(last);
            if (stop != 1)
                bad = true;
            recv_bytes.push_back(static_cast<uint8_t>(byte));
            if (bad)
                recv_errors++;
            // keep the level at the stop sample as the base for the next frame: the next
            // start bit is a 1 -> 0 change after it
            size_t keep = 0;
            while (keep < tx_log.size() && tx_log[keep].first <= last)
                keep++;
            tx_log.erase(tx_log.begin(), tx_log.begin() + static_cast<std::ptrdiff_t>(keep));
            if (stop == 0) {
                // a break or a framing error: wait for the line to return to 1 first
                size_t i = 0;
                while (i < tx_log.size() && tx_log[i].second != 1)
                    i++;
                tx_log.erase(tx_log.begin(), tx_log.begin() + static_cast<std::ptrdiff_t>(i));
            }
            rx_in_frame = false;
        }
    }

    // The DMA port's slave side: answers the cycle the master presents after this edge, for
    // the master to take at the next edge (an asynchronous ACK in Wishbone classic terms).
    void serve_dma()
    {
        uint8_t ack = 0, err = 0;
        uint32_t rdata = top->dma_dat_i;
        bool present = top->dma_cyc_o && top->dma_stb_o;
        const uint8_t ctl = static_cast<uint8_t>(top->dma_sel_o | (top->dma_we_o << 4));
        bool changed = false; // Wishbone: a waiting cycle must not change under the slave
        if (!present) {
            dma_waiting = false; // (a master that withdraws a cycle starts afresh)
            dma_holding = false;
        }
        if (present && dma_holding) {
            // The cycle was served when it appeared; its answer waits for the hold's end.
            changed = top->dma_adr_o != dma_held_adr || ctl != dma_held_ctl ||
                      (top->dma_we_o ? top->dma_dat_o : 0) != dma_held_dat;
            if (changed || cycles >= dma_hold_until) {
                dma_holding = false;
                ack = !changed && dma_hold_rc == 0;
                err = !ack;
                if (ack && !top->dma_we_o)
                    rdata = dma_hold_rdata;
                if (changed)
                    stats.dma_errors++;
            }
            present = false;
        }
        if (present && !dma_waiting && dma_wait) { // a new cycle: hold it dma_wait edges
            dma_waiting = true;
            dma_wait_left = dma_wait;
            dma_held_adr = top->dma_adr_o;
            dma_held_dat = top->dma_we_o ? top->dma_dat_o : 0;
            dma_held_ctl = ctl;
        } else if (present && dma_waiting) {
            changed = top->dma_adr_o != dma_held_adr || ctl != dma_held_ctl ||
                      (top->dma_we_o ? top->dma_dat_o : 0) != dma_held_dat;
        }
        if (present && dma_waiting && dma_wait_left && !changed) {
            dma_wait_left--;
            present = false;
        }
        if (present) {
            dma_waiting = false;
            unsigned lane = 0, size = 0;
            switch (top->dma_sel_o) {
            case 0x1:
            case 0x2:
            case 0x4:
            case 0x8:
                size = 1;
                lane = top->dma_sel_o == 1   ? 0
                       : top->dma_sel_o == 2 ? 1
                       : top->dma_sel_o == 4 ? 2
                                             : 3;
                break;
            case 0x3:
            case 0xC:
                size = 2;
                lane = top->dma_sel_o == 3 ? 0 : 2;
                break;
            case 0xF:
                size = 4;
                break;
            default:
                break; // not a naturally aligned 1/2/4-byte access: bus error
            }
            const uint64_t addr = (static_cast<uint64_t>(top->dma_adr_o) & ~uint64_t{3}) + lane;
            const uint32_t mask = size == 4 ? 0xFFFFFFFFu : ((1u << (8 * size)) - 1);
            int rc = -1;
            dma_hold_req = 0;
            if (size && dma_fn && !changed) {
                uint32_t data = top->dma_we_o ? (top->dma_dat_o >> (8 * lane)) & mask : 0;
                dma_in_fn = true;
                rc = dma_fn(dma_ctx, top->dma_we_o ? 1 : 0, addr, size, &data);
                dma_in_fn = false;
                if (rc == 0 && !top->dma_we_o)
                    rdata = (data & mask) << (8 * lane);
            }
            stats.dma_cycles++;
            if (rc != 0)
                stats.dma_errors++;
            if (dma_hold_req > cycles) { // answered at the hold's end (the data moved now)
                dma_holding = true;
                dma_hold_until = dma_hold_req;
                dma_hold_rc = rc;
                dma_hold_rdata = rdata;
                dma_held_adr = top->dma_adr_o;
                dma_held_dat = top->dma_we_o ? top->dma_dat_o : 0;
                dma_held_ctl = ctl;
                rdata = top->dma_dat_i;
                stats.dma_held_cycles += dma_hold_req - cycles;
            } else {
                ack = rc == 0;
                err = rc != 0;
            }
        }
        if (ack != top->dma_ack_i || err != top->dma_err_i || rdata != top->dma_dat_i) {
            top->dma_ack_i = ack;
            top->dma_err_i = err;
            top->dma_dat_i = rdata;
            top->eval();
        }
    }

    // The loopback plug: the UART's outputs as this edge left them, wired to its inputs.
    void plug()
    {
        const uint8_t mcr = top->uart_mcr_o;
        uint8_t msr = 0;
        if (mcr & KMRIG_SIM_UART_RTS)
            msr |= KMRIG_SIM_UART_CTS;
        if (mcr & KMRIG_SIM_UART_DTR)
            msr |= KMRIG_SIM_UART_DSR | KMRIG_SIM_UART_DCD;
        if (top->uart_rx_i != top->uart_tx_o || top->uart_msr_i != msr) {
            top->uart_rx_i = top->uart_tx_o;
            top->uart_msr_i = msr;
            top->eval(); // settle next_event_o on the new inputs (no clock edge)
        }
    }

    // The longest step allowed now, at most `limit` cycles.
    uint64_t step_for(uint64_t limit) const
    {
        if (no_skip || limit <= 1)
            return 1;
        uint64_t n = top->next_event_o;
        if (n == 0)
            n = 1;
        if (dma_waiting)
            n = 1; // dma_wait counts edges (the waiting master reports no event of its own)
        if (dma_holding && dma_hold_until - cycles < n)
            n = dma_hold_until - cycles; // land on the held cycle's answer
        if (n > limit)
            n = limit;
        if (!send_segs.empty() && send_seg_end > cycles && send_seg_end - cycles < n)
            n = send_seg_end - cycles; // land on the sender's next level change
        if (!phy_in.empty())
            n = 1; // the bridge is about to see a byte it has not seen yet
        return n > max_tick ? max_tick : n;
    }

    int access(int io, uint32_t addr, unsigned size, bool we, uint32_t wdata, uint32_t *rdata);
};

extern "C" {

void kmrig_simsoc_config_init(struct kmrig_simsoc_config *cfg)
{
    cfg->clock_hz = default_clock_hz;
    cfg->waves_path = nullptr;
    cfg->idle_gap = 0;
    cfg->bus_timeout = default_bus_timeout;
    cfg->no_skip = 0;
    cfg->dma_wait = 0;
    cfg->bridge = 0;
}

int kmrig_simsoc_open(const struct kmrig_simsoc_config *cfg_in, kmrig_simsoc **out)
{
    struct kmrig_simsoc_config cfg;
    kmrig_simsoc_config_init(&cfg);
    if (cfg_in)
        cfg = *cfg_in;
    *out = nullptr;
    if (cfg.idle_gap > 255)
        return KMRIG_SIM_EINVAL;
    if (cfg.clock_hz == 0)
        cfg.clock_hz = default_clock_hz;
    if (cfg.bus_timeout == 0)
        cfg.bus_timeout = default_bus_timeout;
#if !VM_TRACE_FST
    if (cfg.waves_path)
        return KMRIG_SIM_ENOTSUP;
#endif
#if !KMRIG_SIM_BRIDGE
    if (cfg.bridge)
        return KMRIG_SIM_ENOTSUP; // the top has no bridge frame engine
#endif

    std::unique_ptr<kmrig_simsoc> m(new (std::nothrow) kmrig_simsoc);
    if (!m)
        return KMRIG_SIM_ENOMEM;
    m->clock_hz = cfg.clock_hz;
    uint64_t period_ps = (1000000000000ull + cfg.clock_hz / 2) / cfg.clock_hz;
    if (period_ps < 2)
        period_ps = 2;
    m->half_ps[0] = period_ps / 2;
    m->half_ps[1] = period_ps - period_ps / 2;
    m->bus_timeout = cfg.bus_timeout;
    m->no_skip = cfg.no_skip != 0;
    m->dma_wait = cfg.dma_wait;
    m->bridge = cfg.bridge != 0;

    m->ctx.reset(new (std::nothrow) VerilatedContext);
    if (!m->ctx)
        return KMRIG_SIM_ENOMEM;
    m->ctx->debug(0);
    m->ctx->randReset(0); // deterministic: uninitialised state is 0 (and reset covers all)
    m->ctx->traceEverOn(cfg.waves_path != nullptr);
    m->top.reset(new (std::nothrow) KMRIG_SIM_TOP_CLASS{m->ctx.get(), "TOP"});
    if (!m->top)
        return KMRIG_SIM_ENOMEM;

#if VM_TRACE_FST
    if (cfg.waves_path) {
        // VerilatedFstC::open does not survive a file it cannot create: try it first.
        std::FILE *probe = std::fopen(cfg.waves_path, "wb");
        if (!probe)
            return KMRIG_SIM_EIO;
        std::fclose(probe);
        m->fst.reset(new (std::nothrow) VerilatedFstC);
        if (!m->fst)
            return KMRIG_SIM_ENOMEM;
        m->top->trace(m->fst.get(), 99);
        m->fst->open(cfg.waves_path);
        if (!m->fst->isOpen())
            return KMRIG_SIM_EIO;
        m->tracing = true;
    }
#endif

    auto *top = m->top.get();
    top->clk_i = 0;
    top->rst_ni = 0;
    top->tick_i = 1;
    top->bus_gap_i = static_cast<uint8_t>(cfg.idle_gap);
    top->wb_cyc_i = 0;
    top->wb_stb_i = 0;
    top->wb_we_i = 0;
    top->wb_io_i = 0;
    top->wb_adr_i = 0;
    top->wb_sel_i = 0;
    top->wb_dat_i = 0;
    top->irq_ext_i = 0;
    top->uart_rx_i = 1;
    top->uart_msr_i = 0;
    top->dma_dat_i = 0;
    top->dma_ack_i = 0;
    top->dma_err_i = 0;
    top->sdma1_rdy_in_i = 0; // no device on system DMA channel 1 in this harness
    top->sdma1_rdy_out_i = 0;
    top->sdma1_dat_i = 0;
#if KMRIG_SIM_BRIDGE
    top->bridge_en_i = m->bridge;
    top->phy_rx_valid_i = 0;
    top->phy_rx_data_i = 0;
    top->phy_tx_ready_i = 1;
#endif
    top->eval();
    for (unsigned i = 0; i < reset_cycles; i++) {
        m->phase(0, m->half_ps[1]);
        m->phase(1, m->half_ps[0]);
    }
    top->rst_ni = 1; // released while the clock is high: the next rising edge is cycle 1
    top->eval();
    m->cycles = 0;
    m->stats = kmrig_simsoc_stats{};
    *out = m.release();
    return KMRIG_SIM_OK;
}

kmrig_simsoc *kmrig_simsoc_create(const struct kmrig_simsoc_config *cfg)
{
    kmrig_simsoc *m = nullptr;
    return kmrig_simsoc_open(cfg, &m) == KMRIG_SIM_OK ? m : nullptr;
}

void kmrig_simsoc_destroy(kmrig_simsoc *m)
{
    if (!m)
        return;
    m->top->final();
#if VM_TRACE_FST
    if (m->fst)
        m->fst->close();
#endif
    delete m;
}

uint64_t kmrig_simsoc_cycles(const kmrig_simsoc *m)
{
    return m->cycles;
}

uint64_t kmrig_simsoc_clock_hz(const kmrig_simsoc *m)
{
    return m->clock_hz;
}

} // extern "C"

int kmrig_simsoc::access(int io, uint32_t addr, unsigned size, bool we, uint32_t wdata,
                         uint32_t *rdata)
{
    if ((size != 1 && size != 2 && size != 4) || (addr & (size - 1)) != 0 ||
        (io && addr > 0x10000u - size))
        return KMRIG_SIM_EINVAL;
    const unsigned lane = addr & 3u;
    const uint32_t mask = size == 4 ? 0xFFFFFFFFu : ((1u << (8 * size)) - 1);

    top->wb_cyc_i = 1;
    top->wb_stb_i = 1;
    top->wb_we_i = we;
    top->wb_io_i = io ? 1 : 0;
    top->wb_adr_i = addr;
    top->wb_sel_i = static_cast<uint8_t>(((1u << size) - 1) << lane);
    top->wb_dat_i = we ? (wdata & mask) << (8 * lane) : 0;

    int rc = KMRIG_SIM_ETIMEOUT;
    for (unsigned n = 0; n < bus_timeout; n++) {
        edge(1);
        if (top->wb_ack_o) {
            rc = KMRIG_SIM_OK;
            break;
        }
        if (top->wb_err_o) {
            rc = KMRIG_SIM_EBUS;
            break;
        }
    }
    uint32_t data = top->wb_dat_o;

    top->wb_cyc_i = 0;
    top->wb_stb_i = 0;
    top->wb_we_i = 0;
    top->wb_sel_i = 0;
    top->wb_dat_i = 0;
    edge(1); // the master idles one edge between cycles (kmrig_wb_interconnect)

    stats.bus_cycles++;
    if (rc != KMRIG_SIM_OK)
        stats.bus_errors++;
    if (rdata)
        *rdata = rc == KMRIG_SIM_OK ? (data >> (8 * lane)) & mask : 0;
    return rc;
}

extern "C" {

int kmrig_simsoc_read(kmrig_simsoc *m, int io_space, uint32_t addr, unsigned size, uint32_t *value)
{
    uint32_t v = 0;
    int rc = m->bridge ? KMRIG_SIM_ENOTSUP : m->access(io_space, addr, size, false, 0, &v);
    if (value)
        *value = v;
    return rc;
}

int kmrig_simsoc_write(kmrig_simsoc *m, int io_space, uint32_t addr, unsigned size, uint32_t value)
{
    if (m->bridge)
        return KMRIG_SIM_ENOTSUP; // the bridge masters the bus: use frames (kmrig_simsoc_phy_*)
    return m->access(io_space, addr, size, true, value, nullptr);
}

void kmrig_simsoc_run(kmrig_simsoc *m, uint64_t cycles)
{
    while (cycles) {
        uint64_t n = m->step_for(cycles);
        m->edge(n);
        cycles -= n;
    }
}

uint64_t kmrig_simsoc_run_until_irq_change(kmrig_simsoc *m, uint64_t max_cycles)
{
    const uint32_t start = m->top->irq_vec_o;
    uint64_t done = 0;
    while (done < max_cycles) {
        uint64_t n = m->step_for(max_cycles - done);
        m->edge(n);
        done += n;
        if (m->top->irq_vec_o != start)
            break;
    }
    return done;
}

uint64_t kmrig_simsoc_next_event(const kmrig_simsoc *m)
{
    uint64_t n = m->top->next_event_o;
    if (m->dma_waiting)
        n = 1;
    if (m->dma_holding && m->dma_hold_until - m->cycles < n)
        n = m->dma_hold_until - m->cycles;
    return n;
}

uint32_t kmrig_simsoc_irq(const kmrig_simsoc *m)
{
    return m->top->irq_vec_o;
}

void kmrig_simsoc_set_irq_ext(kmrig_simsoc *m, uint32_t lines)
{
    m->top->irq_ext_i =
        static_cast<uint8_t>((lines & KMRIG_SOC_IRQ_EXT_MASK) >> KMRIG_SOC_IRQ_EXT_FIRST);
    m->top->eval(); // settle next_event_o on the new inputs (no clock edge)
}

void kmrig_simsoc_uart_set_rx(kmrig_simsoc *m, int level)
{
    if (m->uart_plug || m->remote_cpb)
        return;
    m->top->uart_rx_i = level ? 1 : 0;
    m->top->eval();
}

int kmrig_simsoc_uart_tx(const kmrig_simsoc *m)
{
    return m->top->uart_tx_o;
}

void kmrig_simsoc_uart_set_modem(kmrig_simsoc *m, unsigned lines)
{
    if (m->uart_plug)
        return;
    m->top->uart_msr_i = static_cast<uint8_t>(lines & 0xFu);
    m->top->eval();
}

unsigned kmrig_simsoc_uart_modem(const kmrig_simsoc *m)
{
    return m->top->uart_mcr_o;
}

void kmrig_simsoc_uart_set_loopback(kmrig_simsoc *m, int on)
{
    if (on && m->remote_cpb)
        kmrig_simsoc_uart_remote(m, 0, 3);
    m->uart_plug = on != 0;
    if (m->uart_plug)
        m->plug();
}

uint64_t kmrig_simsoc_run_until_uart_tx_change(kmrig_simsoc *m, uint64_t max_cycles)
{
    const uint8_t start = m->top->uart_tx_o;
    uint64_t done = 0;
    while (done < max_cycles) {
        uint64_t n = m->step_for(max_cycles - done);
        m->edge(n);
        done += n;
        if (m->top->uart_tx_o != start)
            break;
    }
    return done;
}

int kmrig_simsoc_uart_remote(kmrig_simsoc *m, uint32_t cycles_per_bit, unsigned lcr)
{
    if (cycles_per_bit == 1 || (lcr & ~0x3Fu))
        return KMRIG_SIM_EINVAL;
    m->remote_cpb = cycles_per_bit;
    m->remote_fmt = frame_fmt(lcr);
    m->send_segs.clear();
    m->send_frame_halves.clear();
    m->send_pending = 0;
    m->tx_log.clear();
    m->tx_seen = m->top->uart_tx_o;
    m->rx_in_frame = false;
    m->recv_bytes.clear();
    m->recv_errors = 0;
    if (cycles_per_bit) {
        m->uart_plug = false;
        m->top->uart_rx_i = 1;
        m->top->eval();
    }
    return KMRIG_SIM_OK;
}

int kmrig_simsoc_uart_send(kmrig_simsoc *m, const uint8_t *bytes, size_t n)
{
    if (!m->remote_cpb)
        return KMRIG_SIM_EINVAL;
    const frame_fmt &f = m->remote_fmt;
    const bool idle = m->send_segs.empty();
    for (size_t i = 0; i < n; i++) {
        unsigned halves = 0;
        auto add = [&](int level, unsigned h) {
            m->send_segs.emplace_back(level, h);
            halves += h;
        };
        add(0, 2);
        for (unsigned b = 0; b < f.nbits; b++)
            add((bytes[i] >> b) & 1, 2);
        if (f.pen)
            add(f.parity(bytes[i]), 2);
        add(1, f.stop_halves);
        m->send_frame_halves.push_back(halves);
        m->send_pending++;
    }
    if (idle && !m->send_segs.empty()) {
        // the first start bit begins now: rx_i falls before the next edge
        m->send_seg_end = m->cycles + m->half(static_cast<unsigned>(m->send_segs.front().second));
        m->send_frame_end = m->cycles + m->half(m->send_frame_halves.front());
        m->top->uart_rx_i = static_cast<uint8_t>(m->send_segs.front().first);
        m->top->eval();
    }
    return KMRIG_SIM_OK;
}

size_t kmrig_simsoc_uart_send_pending(const kmrig_simsoc *m)
{
    return m->send_pending;
}

size_t kmrig_simsoc_uart_recv(kmrig_simsoc *m, uint8_t *buf, size_t cap)
{
    size_t n = 0;
    while (n < cap && !m->recv_bytes.empty()) {
        buf[n++] = m->recv_bytes.front();
        m->recv_bytes.pop_front();
    }
    return n;
}

unsigned kmrig_simsoc_uart_recv_errors(const kmrig_simsoc *m)
{
    return m->recv_errors;
}

void kmrig_simsoc_set_dma_handler(kmrig_simsoc *m, kmrig_simsoc_dma_fn fn, void *ctx)
{
    m->dma_fn = fn;
    m->dma_ctx = ctx;
}

int kmrig_simsoc_dma_hold(kmrig_simsoc *m, uint64_t until_cycle)
{
    if (!m->dma_in_fn)
        return KMRIG_SIM_EINVAL;
    if (until_cycle > m->dma_hold_req)
        m->dma_hold_req = until_cycle;
    return KMRIG_SIM_OK;
}

int kmrig_simsoc_phy_send(kmrig_simsoc *m, const uint8_t *bytes, size_t n)
{
    if (!m->bridge)
        return KMRIG_SIM_EINVAL;
    m->phy_in.insert(m->phy_in.end(), bytes, bytes + n);
    return KMRIG_SIM_OK;
}

size_t kmrig_simsoc_phy_send_pending(const kmrig_simsoc *m)
{
    return m->phy_in.size();
}

size_t kmrig_simsoc_phy_recv(kmrig_simsoc *m, uint8_t *buf, size_t cap)
{
    size_t n = 0;
    while (n < cap && !m->phy_out.empty()) {
        buf[n++] = m->phy_out.front();
        m->phy_out.pop_front();
    }
    return n;
}

uint64_t kmrig_simsoc_run_until_phy(kmrig_simsoc *m, uint64_t max_cycles)
{
    uint64_t done = 0;
    while (done < max_cycles) {
        uint64_t n = m->step_for(max_cycles - done);
        m->edge(n);
        done += n;
#if KMRIG_SIM_BRIDGE
        if (!m->phy_out.empty() && !m->top->phy_tx_valid_o)
            break;
#endif
    }
    return done;
}

void kmrig_simsoc_get_stats(const kmrig_simsoc *m, struct kmrig_simsoc_stats *stats)
{
    *stats = m->stats;
}

const char *kmrig_simsoc_strerror(int code)
{
    switch (code) {
    case KMRIG_SIM_OK:
        return "success";
    case KMRIG_SIM_EINVAL:
        return "invalid argument (size, alignment or port range)";
    case KMRIG_SIM_EBUS:
        return "bus error (no device at this address)";
    case KMRIG_SIM_ETIMEOUT:
        return "bus timeout (the device did not acknowledge)";
    case KMRIG_SIM_ENOMEM:
        return "out of memory";
    case KMRIG_SIM_ENOTSUP:
        return "not supported by this build (waves need a model built with FST tracing)";
    case KMRIG_SIM_EIO:
        return "cannot open the waveform file";
    default:
        return "unknown error";
    }
}

} // extern "C"

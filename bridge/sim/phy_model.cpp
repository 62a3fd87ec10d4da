// The PHY models (kmrig/phy_model.h): kmrig_soc_ft245 and kmrig_soc_uart verilated, and the
// FTDI chip on their pins. One C++ file with a C API (docs/rtl.md, "PHYs"). The harness owns
// its VerilatedContext, steps the clocks by time/eval and calls final() when it closes.
#include <kmrig/phy_model.h>

#include "Vkmrig_soc_ft245.h"
#include "Vkmrig_soc_uart.h"

#include <verilated.h>
#if VM_TRACE_FST
#include <verilated_fst_c.h>
#endif

#include <cstdio>
#include <deque>
#include <memory>
#include <new>

namespace
{

constexpr uint64_t SYS_HALF_PS = 10000;  // 50 MHz system clock
constexpr uint64_t FT_PERIOD_PS = 16667; // 60 MHz CLKOUT (16.667 ns)
constexpr uint8_t MODEM_STATUS = 0x02;   // the low nibble FTDI chips report; CTS/DSR added
constexpr uint8_t LINE_IDLE = KMRIG_PHY_LS_THRE | KMRIG_PHY_LS_TEMT;

} // namespace

struct kmrig_phy_model {
    int kind = KMRIG_PHY_FT245;
    std::unique_ptr<VerilatedContext> ctx;
    std::unique_ptr<Vkmrig_soc_ft245> ft;
    std::unique_ptr<Vkmrig_soc_uart> ua;
#if VM_TRACE_FST
    std::unique_ptr<VerilatedFstC> fst;
#endif
    uint64_t t_ps = 0;     // model time
    uint64_t t0_ps = 0;    // reset release
    uint64_t next_sys = 0; // next system clock edge (rising when sys_clk is 0)
    uint64_t next_ft = 0;  // next FT clock edge
    bool sys_clk = false, ft_clk = false;
    unsigned ft_half[2] = {FT_PERIOD_PS / 2, FT_PERIOD_PS - FT_PERIOD_PS / 2};

    // the chip
    unsigned packet = 512, rx_buf = 1024, tx_buf = 1024;
    uint64_t latency_ps = 16000000000ull;
    uint64_t last_pkt_ps = 0;
    std::deque<uint8_t> rxq; // host to FPGA
    std::deque<uint8_t> txq; // FPGA to host
    uint64_t flush_bytes = 0;
    bool flush_pending = false;
    bool oe_seen = false; // OE# was low at the last rising edge: the chip drives D
    uint8_t line_err = 0; // line status errors for the next IN packet
    kmrig_phy_model_stats st{};

    // UART
    uint64_t bit_ps = 500000;
    bool no_flow = false;
    bool tx_busy = false; // chip shifting a byte to the FPGA
    uint64_t tx_start = 0;
    unsigned tx_frame = 0x3FF; // 10 bits, start bit in bit 0
    uint64_t tx_count = 0;     // bytes started
    bool inj_set = false, inj_drop = false;
    uint64_t inj_at = 0;
    unsigned inj_xor = 0;
    bool rx_busy = false; // chip receiving from the FPGA
    uint64_t rx_start = 0;
    unsigned rx_bit = 0, rx_shift = 0;
    bool txd_last = true;

    void eval()
    {
        ctx->time(t_ps);
        if (ft)
            ft->eval();
        else
            ua->eval();
#if VM_TRACE_FST
        if (fst)
            fst->dump(t_ps);
#endif
    }

    // ---- FT232H in 245 synchronous FIFO mode ------------------------------------------------
    void ft_rise()
    {
        Vkmrig_soc_ft245 *t = ft.get();
        bool oe = !t->ft_oe_no, rd = !t->ft_rd_no, wr = !t->ft_wr_no, drive = t->ft_data_oe_o;
        if (oe && drive)
            st.violations++; // both ends drive D
        if (rd && !oe)
            st.violations++; // RD# without OE#
        if (rd && oe && !t->ft_rxf_ni && !rxq.empty())
            rxq.pop_front();
        if (wr && !t->ft_txe_ni) {
            if (!drive)
                st.violations++; // WR# with D floating
            txq.push_back(t->ft_data_o);
        }
        if (!t->ft_siwu_no) {
            st.siwu_pulses++;
            flush_pending = true;
            flush_bytes = txq.size();
        }
        oe_seen = oe;
    }

    void ft_fall()
    {
        Vkmrig_soc_ft245 *t = ft.get();
        t->ft_rxf_ni = rxq.empty();
        t->ft_txe_ni = txq.size() >= tx_buf;
        t->ft_data_i = (oe_seen && !rxq.empty()) ? rxq.front() : 0xEE;
    }

    // ---- FT2232H channel in UART mode -------------------------------------------------------
    void uart_edge()
    {
        Vkmrig_soc_uart *t = ua.get();
        // chip TXD -> PHY rxd_i
        if (tx_busy && t_ps - tx_start >= 10 * bit_ps)
            tx_busy = false;
        if (!tx_busy && !rxq.empty() && (no_flow || !t->rts_no)) {
            unsigned b = rxq.front();
            rxq.pop_front();
            unsigned frame = (b << 1) | 0x200u;
            bool drop = false;
            if (inj_set && tx_count == inj_at) {
                inj_set = false;
                frame ^= (inj_xor & 0x1FFu) << 1;
                drop = inj_drop;
            }
            tx_count++;
            if (!drop) {
                tx_frame = frame;
                tx_start = t_ps;
                tx_busy = true;
            }
        }
        unsigned bit = tx_busy ? (unsigned)((t_ps - tx_start) / bit_ps) : 10;
        t->rxd_i = bit < 10 ? (tx_frame >> bit) & 1u : 1u;
        // PHY txd_o -> chip RXD
        bool txd = t->txd_o;
        if (!rx_busy && txd_last && !txd) {
            rx_busy = true;
            rx_start = t_ps;
            rx_bit = 0;
            rx_shift = 0;
        }
        txd_last = txd;
        if (rx_busy && t_ps >= rx_start + rx_bit * bit_ps + bit_ps / 2) {
            rx_shift |= (unsigned)txd << rx_bit;
            if (++rx_bit == 10) {
                rx_busy = false;
                if (!(rx_shift & 0x200u) || (rx_shift & 1u)) {
                    st.chip_rx_errors++;
                    line_err |= KMRIG_PHY_LS_FE;
                }
                if (txq.size() < tx_buf)
                    txq.push_back((uint8_t)(rx_shift >> 1));
                else
                    line_err |= KMRIG_PHY_LS_OE;
            }
        }
        t->cts_ni = !no_flow && txq.size() + 4 >= tx_buf; // the chip's RTS# drives the PHY's CTS#
    }

    // ---- time -------------------------------------------------------------------------------
    void run_ps(uint64_t ps)
    {
        uint64_t end = t_ps + ps;
        for (;;) {
            uint64_t next = next_sys;
            if (ft && next_ft < next)
                next = next_ft;
            if (next > end)
                break;
            t_ps = next;
            if (next_sys == next) {
                sys_clk = !sys_clk;
                if (ft) {
                    ft->clk_i = sys_clk;
                } else {
                    if (sys_clk)
                        uart_edge();
                    ua->clk_i = sys_clk;
                }
                next_sys += SYS_HALF_PS;
            }
            if (ft && next_ft == next) {
                ft_clk = !ft_clk;
                if (ft_clk)
                    ft_rise();
                else
                    ft_fall();
                ft->ft_clk_i = ft_clk;
                next_ft += ft_half[ft_clk ? 0 : 1];
            }
            eval();
        }
        t_ps = end;
        if (ft) {
            st.phy_frame_errors = 0;
        } else {
            st.phy_frame_errors = ua->frame_errors_o;
            st.phy_overruns = ua->overruns_o;
        }
    }

    bool packet_ready() const
    {
        if (txq.size() >= packet - 2u)
            return true;
        if (flush_pending)
            return true;
        return t_ps - last_pkt_ps >= latency_ps;
    }
};

extern "C" {

int kmrig_phy_model_open(const struct kmrig_phy_model_config *cfg, struct kmrig_phy_model **out)
{
    *out = nullptr;
    if (!cfg || (cfg->kind != KMRIG_PHY_FT245 && cfg->kind != KMRIG_PHY_UART) ||
        cfg->latency_ms > 255 || (cfg->packet && cfg->packet < 8))
        return -1;
    std::unique_ptr<kmrig_phy_model> m(new (std::nothrow) kmrig_phy_model);
    if (!m)
        return -2;
    m->kind = cfg->kind;
    m->latency_ps = (uint64_t)(cfg->latency_ms ? cfg->latency_ms : 16) * 1000000000ull;
    m->packet = cfg->packet ? cfg->packet : 512;
    m->rx_buf = cfg->rx_buf ? cfg->rx_buf : 1024;
    m->tx_buf = cfg->tx_buf ? cfg->tx_buf : 1024;
    m->bit_ps = 1000000000000ull / (cfg->baud ? cfg->baud : 2000000);
    m->no_flow = cfg->no_flow != 0;
    m->ctx.reset(new (std::nothrow) VerilatedContext);
    if (!m->ctx)
        return -2;
    m->ctx->debug(0);
    m->ctx->randReset(0);
    m->ctx->traceEverOn(cfg->waves_path != nullptr);
    if (cfg->kind == KMRIG_PHY_FT245)
        m->ft.reset(new (std::nothrow) Vkmrig_soc_ft245{m->ctx.get(), "TOP"});
    else
        m->ua.reset(new (std::nothrow) Vkmrig_soc_uart{m->ctx.get(), "TOP"});
    if (!m->ft && !m->ua)
        return -2;
#if VM_TRACE_FST
    if (cfg->waves_path) {
        std::FILE *probe = std::fopen(cfg->waves_path, "wb");
        if (!probe)
            return -3;
        std::fclose(probe);
        m->fst.reset(new (std::nothrow) VerilatedFstC);
        if (!m->fst)
            return -2;
        if (m->ft)
            m->ft->trace(m->fst.get(), 99);
        else
            m->ua->trace(m->fst.get(), 99);
        m->fst->open(cfg->waves_path);
        if (!m->fst->isOpen())
            return -3;
    }
#endif
    if (m->ft) {
        Vkmrig_soc_ft245 *t = m->ft.get();
        t->clk_i = 0;
        t->rst_ni = 0;
        t->ft_clk_i = 0;
        t->ft_data_i = 0xEE;
        t->ft_rxf_ni = 1;
        t->ft_txe_ni = 0;
        t->uart_rx_i = 1;
        t->irq_ext_i = 0;
        m->next_ft = FT_PERIOD_PS / 3; // a phase that is not the system clock's
    } else {
        Vkmrig_soc_uart *t = m->ua.get();
        t->clk_i = 0;
        t->rst_ni = 0;
        t->rxd_i = 1;
        t->cts_ni = 0;
        t->uart_rx_i = 1;
        t->irq_ext_i = 0;
        m->next_ft = UINT64_MAX;
    }
    m->next_sys = SYS_HALF_PS;
    m->eval();
    m->run_ps(8 * 2 * SYS_HALF_PS);
    if (m->ft)
        m->ft->rst_ni = 1;
    else
        m->ua->rst_ni = 1;
    m->eval();
    // What the chip picked up while the FPGA was in reset goes, as the host's purge at open
    // (ftdi_tcioflush) discards it on a board.
    m->txq.clear();
    m->rxq.clear();
    m->flush_pending = false;
    m->line_err = 0;
    m->t0_ps = m->t_ps;
    m->last_pkt_ps = m->t_ps;
    m->st = kmrig_phy_model_stats{};
    *out = m.release();
    return 0;
}

void kmrig_phy_model_close(struct kmrig_phy_model *m)
{
    if (!m)
        return;
    if (m->ft)
        m->ft->final();
    else
        m->ua->final();
#if VM_TRACE_FST
    if (m->fst)
        m->fst->close();
#endif
    delete m;
}

uint64_t kmrig_phy_model_now_ns(const struct kmrig_phy_model *m)
{
    return (m->t_ps - m->t0_ps) / 1000;
}

void kmrig_phy_model_run_ns(struct kmrig_phy_model *m, uint64_t ns)
{
    m->run_ps(ns * 1000);
}

size_t kmrig_phy_model_bulk_out(struct kmrig_phy_model *m, const void *data, size_t n)
{
    const uint8_t *p = static_cast<const uint8_t *>(data);
    size_t done = 0;
    while (done < n) {
        size_t chunk = n - done < m->packet ? n - done : m->packet;
        if (m->rxq.size() + chunk > m->rx_buf)
            break; // NAK: the packet does not fit
        m->rxq.insert(m->rxq.end(), p + done, p + done + chunk);
        done += chunk;
    }
    m->st.out_bytes += done;
    return done;
}

size_t kmrig_phy_model_bulk_in(struct kmrig_phy_model *m, uint8_t *buf, size_t cap)
{
    if (cap < m->packet || !m->packet_ready())
        return 0;
    size_t n = m->txq.size();
    if (n > m->packet - 2u)
        n = m->packet - 2u;
    uint8_t modem = MODEM_STATUS | 0x20; // DSR
    if (m->ua ? !m->ua->rts_no : true)
        modem |= 0x10; // CTS
    buf[0] = modem;
    buf[1] = LINE_IDLE | m->line_err;
    m->line_err = 0;
    for (size_t i = 0; i < n; i++) {
        buf[2 + i] = m->txq.front();
        m->txq.pop_front();
    }
    if (m->flush_pending) {
        m->flush_bytes = m->flush_bytes > n ? m->flush_bytes - n : 0;
        if (!m->flush_bytes)
            m->flush_pending = false;
    }
    m->last_pkt_ps = m->t_ps;
    m->st.in_packets++;
    m->st.in_bytes += n;
    if (!n)
        m->st.status_only++;
    return n + 2;
}

size_t kmrig_phy_model_tx_pending(const struct kmrig_phy_model *m)
{
    return m->txq.size();
}

void kmrig_phy_model_set_irq_ext(struct kmrig_phy_model *m, unsigned mask)
{
    if (m->ft)
        m->ft->irq_ext_i = mask & 7u;
    else
        m->ua->irq_ext_i = mask & 7u;
    m->eval();
}

void kmrig_phy_model_uart_inject(struct kmrig_phy_model *m, uint64_t after, unsigned xor_mask,
                                 int drop)
{
    m->inj_set = true;
    m->inj_at = m->tx_count + after;
    m->inj_xor = xor_mask;
    m->inj_drop = drop != 0;
}

void kmrig_phy_model_get_stats(const struct kmrig_phy_model *m, struct kmrig_phy_model_stats *s)
{
    *s = m->st;
}

} // extern "C"

/*
 * test_bridge_simsoc_uart.c - uart0 (rtl/kmrig_uart16550.v) on the SoC's Verilator model,
 * through kmrig/simsoc.h. Expected cycle numbers follow docs/rtl.md ("uart0", "Timing"):
 *   - a THR write started at cycle c takes effect at edge c + 1; the transmitter loads the
 *     character at edge c + 2 (the write's idle edge), where the start bit begins;
 *   - every bit lasts 16 * divisor cycles (the second stop bit of 1.5 lasts 8 * divisor);
 *   - the receiver sees a line change 2 edges later (synchroniser), takes the start bit one edge
 *     after that, samples it 8 * divisor edges later and each further bit 16 * divisor edges
 *     apart; the character enters the RX FIFO at the stop-bit sample.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include <kmrig/simsoc.h>
#include <kmrig_soc_map.h>

#define MEM 0
#define IO 1
#define UART_BIT (1u << KMRIG_SOC_UART0_IRQ)

#define IIR_NONE 0x01u
#define IIR_RLS 0x06u
#define IIR_RDA 0x04u
#define IIR_CTI 0x0Cu
#define IIR_THRE 0x02u
#define IIR_MS 0x00u
#define IIR_FIFO 0xC0u

static kmrig_simsoc *sim_new(int no_skip)
{
    struct kmrig_simsoc_config cfg;
    kmrig_simsoc_config_init(&cfg);
    cfg.no_skip = no_skip;
    kmrig_simsoc *m = NULL;
    assert_int_equal(kmrig_simsoc_open(&cfg, &m), KMRIG_SIM_OK);
    return m;
}

static uint32_t rd(kmrig_simsoc *m, int io, uint32_t addr, unsigned size)
{
    uint32_t v = 0xDEADBEEF;
    int rc = kmrig_simsoc_read(m, io, addr, size, &v);
    if (rc != KMRIG_SIM_OK)
        fail_msg("read %s 0x%x/%u: %s", io ? "io" : "mem", addr, size, kmrig_simsoc_strerror(rc));
    return v;
}

static void wr(kmrig_simsoc *m, int io, uint32_t addr, unsigned size, uint32_t v)
{
    int rc = kmrig_simsoc_write(m, io, addr, size, v);
    if (rc != KMRIG_SIM_OK)
        fail_msg("write %s 0x%x/%u: %s", io ? "io" : "mem", addr, size, kmrig_simsoc_strerror(rc));
}

static uint8_t ur(kmrig_simsoc *m, unsigned reg)
{
    return (uint8_t)rd(m, IO, KMRIG_SOC_UART0_BASE + reg, 1);
}

static void uw(kmrig_simsoc *m, unsigned reg, uint8_t v)
{
    wr(m, IO, KMRIG_SOC_UART0_BASE + reg, 1, v);
}

static void set_divisor(kmrig_simsoc *m, uint16_t div, uint8_t lcr)
{
    uw(m, KMRIG_UART_LCR, KMRIG_UART_LCR_DLAB);
    uw(m, KMRIG_UART_DLL, div & 0xFF);
    uw(m, KMRIG_UART_DLM, div >> 8);
    uw(m, KMRIG_UART_LCR, lcr);
}

/* Bits of one frame as the line carries them: start, data LSB first, parity, stop(s). */
static unsigned frame_bits(uint8_t byte, uint8_t lcr, int *levels)
{
    unsigned nbits = 5 + (lcr & 3), n = 0, ones = 0;
    levels[n++] = 0;
    for (unsigned i = 0; i < nbits; i++) {
        levels[n++] = (byte >> i) & 1;
        ones += (byte >> i) & 1;
    }
    if (lcr & KMRIG_UART_LCR_PEN) {
        int even = !!(lcr & KMRIG_UART_LCR_EPS);
        if (lcr & KMRIG_UART_LCR_STICK)
            levels[n++] = !even;
        else
            levels[n++] = even ? (ones & 1) : !(ones & 1);
    }
    levels[n++] = 1;
    if (lcr & KMRIG_UART_LCR_STB)
        levels[n++] = 1;
    return n;
}

static void test_uart_reset_values(void **state)
{
    (void)state;
    kmrig_simsoc *m = sim_new(0);
    assert_int_equal(ur(m, KMRIG_UART_IER), 0x00);
    assert_int_equal(ur(m, KMRIG_UART_IIR), 0x01);
    assert_int_equal(ur(m, KMRIG_UART_LCR), 0x00);
    assert_int_equal(ur(m, KMRIG_UART_MCR), 0x00);
    assert_int_equal(ur(m, KMRIG_UART_LSR), KMRIG_UART_LSR_THRE | KMRIG_UART_LSR_TEMT);
    assert_int_equal(ur(m, KMRIG_UART_MSR), 0x00);
    assert_int_equal(ur(m, KMRIG_UART_SCR), 0x00);
    assert_int_equal(ur(m, KMRIG_UART_RBR), 0x00);
    uw(m, KMRIG_UART_LCR, KMRIG_UART_LCR_DLAB);
    assert_int_equal(ur(m, KMRIG_UART_DLL), 0x00);
    assert_int_equal(ur(m, KMRIG_UART_DLM), 0x00);
    /* pins: line idle, modem outputs off, no interrupt */
    assert_int_equal(kmrig_simsoc_uart_tx(m), 1);
    assert_int_equal(kmrig_simsoc_uart_modem(m), 0);
    assert_int_equal(kmrig_simsoc_irq(m), 0);
    assert_int_equal(kmrig_simsoc_next_event(m), UINT32_MAX);
    /* unused bits read 0 */
    uw(m, KMRIG_UART_LCR, 0x00);
    uw(m, KMRIG_UART_IER, 0xFF);
    assert_int_equal(ur(m, KMRIG_UART_IER), 0x0F);
    uw(m, KMRIG_UART_IER, 0x00);
    uw(m, KMRIG_UART_MCR, 0xFF);
    assert_int_equal(ur(m, KMRIG_UART_MCR), 0x1F);
    uw(m, KMRIG_UART_SCR, 0xA5);
    assert_int_equal(ur(m, KMRIG_UART_SCR), 0xA5);
    /* the port is 8 bytes: 0x400 is not the UART */
    uint32_t v;
    assert_int_equal(kmrig_simsoc_read(m, IO, KMRIG_SOC_UART0_BASE + 8, 1, &v), KMRIG_SIM_EBUS);
    assert_int_equal(kmrig_simsoc_read(m, MEM, KMRIG_SOC_UART0_BASE, 1, &v), KMRIG_SIM_EBUS);
    kmrig_simsoc_destroy(m);
}

static void test_uart_dlab_and_wide_accesses(void **state)
{
    (void)state;
    kmrig_simsoc *m = sim_new(0);
    uw(m, KMRIG_UART_IER, 0x05);
    uw(m, KMRIG_UART_LCR, KMRIG_UART_LCR_DLAB | 0x03);
    uw(m, KMRIG_UART_DLL, 0x34);
    uw(m, KMRIG_UART_DLM, 0x12);
    assert_int_equal(ur(m, KMRIG_UART_DLL), 0x34);
    assert_int_equal(ur(m, KMRIG_UART_DLM), 0x12);
    assert_int_equal(ur(m, KMRIG_UART_LCR), 0x83);
    uw(m, KMRIG_UART_LCR, 0x03);
    /* DLAB = 0: offsets 0/1 are RBR/IER again; the divisor and IER kept their values */
    assert_int_equal(ur(m, KMRIG_UART_IER), 0x05);
    assert_int_equal(ur(m, KMRIG_UART_RBR), 0x00);
    assert_int_equal(kmrig_simsoc_uart_tx(m), 1); /* DLL writes sent nothing */
    uw(m, KMRIG_UART_LCR, 0x83);
    assert_int_equal(rd(m, IO, KMRIG_SOC_UART0_BASE, 2), 0x1234); /* DLL + DLM in one read */
    /* a 32-bit write acts on each byte: DLL, DLM, FCR, LCR (DLAB as before the access) */
    wr(m, IO, KMRIG_SOC_UART0_BASE, 4, 0x03C10201u);
    assert_int_equal(ur(m, KMRIG_UART_LCR), 0x03);
    assert_int_equal(ur(m, KMRIG_UART_IIR), IIR_FIFO | IIR_NONE); /* FIFOs on */
    uw(m, KMRIG_UART_LCR, 0x83);
    assert_int_equal(rd(m, IO, KMRIG_SOC_UART0_BASE, 2), 0x0201);
    uw(m, KMRIG_UART_LCR, 0x03);
    /* the upper word: MCR, LSR, MSR, SCR in one read */
    uw(m, KMRIG_UART_MCR, 0x03);
    uw(m, KMRIG_UART_SCR, 0x5A);
    assert_int_equal(rd(m, IO, KMRIG_SOC_UART0_BASE + 4, 4), 0x5A006003u);
    kmrig_simsoc_destroy(m);
}

/* Sends one byte with the loopback plug in and checks every bit edge on tx to the cycle, then
 * that the receiver got it. */
static void check_frame(kmrig_simsoc *m, uint16_t div, uint8_t lcr, uint8_t byte)
{
    int levels[12];
    unsigned n = frame_bits(byte, lcr, levels);
    const uint64_t bit = 16u * div;
    uint64_t len[12];
    for (unsigned i = 0; i < n; i++)
        len[i] = bit;
    if ((lcr & KMRIG_UART_LCR_STB) && (lcr & 3) == 0)
        len[n - 1] = bit / 2; /* 1.5 stop bits */

    set_divisor(m, div, lcr);
    assert_int_equal(ur(m, KMRIG_UART_LSR) & KMRIG_UART_LSR_DR, 0);
    uint64_t c = kmrig_simsoc_cycles(m);
    uw(m, KMRIG_UART_THR, byte);
    assert_int_equal(kmrig_simsoc_cycles(m), c + 2);
    assert_int_equal(kmrig_simsoc_uart_tx(m), 0); /* the start bit began at edge c + 2 */
    uint64_t t = c + 2, end = t;
    for (unsigned i = 0; i < n; i++)
        end += len[i];
    /* each level change happens exactly at its bit boundary */
    int level = 0;
    uint64_t at = t;
    for (unsigned i = 0; i < n; i++) {
        if (levels[i] != level) {
            kmrig_simsoc_run_until_uart_tx_change(m, 1u << 24);
            assert_int_equal(kmrig_simsoc_cycles(m), at);
            assert_int_equal(kmrig_simsoc_uart_tx(m), levels[i]);
            level = levels[i];
        }
        at += len[i];
    }
    assert_int_equal(level, 1);
    /* the stop bits end at `end`: TEMT sets there, the line stays idle */
    uint64_t now = kmrig_simsoc_cycles(m);
    assert_true(now < end);
    kmrig_simsoc_run(m, end - 1 - now);
    assert_int_equal(ur(m, KMRIG_UART_LSR) & KMRIG_UART_LSR_TEMT, 0); /* sampled at end - 1 */
    assert_int_equal(kmrig_simsoc_cycles(m), end + 1);
    assert_int_equal(ur(m, KMRIG_UART_LSR) & KMRIG_UART_LSR_TEMT, KMRIG_UART_LSR_TEMT);
    assert_int_equal(kmrig_simsoc_uart_tx(m), 1);
    /* received: the stop-bit sample is half a bit into it, earlier than `end` */
    uint8_t lsr = ur(m, KMRIG_UART_LSR);
    assert_int_equal(lsr & (KMRIG_UART_LSR_DR | KMRIG_UART_LSR_OE | KMRIG_UART_LSR_PE |
                            KMRIG_UART_LSR_FE | KMRIG_UART_LSR_BI),
                     KMRIG_UART_LSR_DR);
    uint8_t mask = (uint8_t)((1u << (5 + (lcr & 3))) - 1);
    assert_int_equal(ur(m, KMRIG_UART_RBR), byte & mask);
    assert_int_equal(ur(m, KMRIG_UART_LSR) & KMRIG_UART_LSR_DR, 0);
}

static void test_uart_loopback_plug_bit_timing(void **state)
{
    (void)state;
    static const struct {
        uint16_t div;
        uint8_t lcr;
        uint8_t byte;
    } cases[] = {
        {1, 0x03, 0x55},                      /* 8N1, 3.125 Mbaud at 50 MHz */
        {1, 0x03, 0xA6},     {2, 0x1B, 0x3C}, /* 8E1 */
        {3, 0x0A, 0x71},                      /* 7O1 */
        {5, 0x04, 0x15},                      /* 5N1.5 */
        {7, 0x05, 0x2B},                      /* 6N2 */
        {13, 0x2B, 0x80},                     /* 8, stick parity 1 (mark) */
        {27, 0x3B, 0xFF},                     /* 8, stick parity 0 (space) */
        {0x145, 0x03, 0xC3},                  /* 9600 baud at 50 MHz */
    };
    kmrig_simsoc *m = sim_new(0);
    kmrig_simsoc_uart_set_loopback(m, 1);
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        check_frame(m, cases[i].div, cases[i].lcr, cases[i].byte);
    /* at 9600 baud a character is 52000 cycles; idle skipping kept evaluations low */
    struct kmrig_simsoc_stats st;
    kmrig_simsoc_get_stats(m, &st);
    assert_true(st.edges < kmrig_simsoc_cycles(m) / 4);
    kmrig_simsoc_destroy(m);
}

static void test_uart_back_to_back_frames(void **state)
{
    (void)state;
    /* FIFO on: two bytes written together go out without a gap: the second start bit falls
     * exactly one frame (10 bits of 8N1) after the first. */
    kmrig_simsoc *m = sim_new(0);
    set_divisor(m, 4, 0x03);
    uw(m, KMRIG_UART_FCR, KMRIG_UART_FCR_ENABLE);
    uint64_t c = kmrig_simsoc_cycles(m);
    uw(m, KMRIG_UART_THR, 0xFF);
    uw(m, KMRIG_UART_THR, 0xFF);
    assert_int_equal(kmrig_simsoc_uart_tx(m), 0);
    kmrig_simsoc_run_until_uart_tx_change(m, 100000); /* end of start bit 1 */
    assert_int_equal(kmrig_simsoc_cycles(m), c + 2 + 64);
    kmrig_simsoc_run_until_uart_tx_change(m, 100000); /* start bit 2 */
    assert_int_equal(kmrig_simsoc_cycles(m), c + 2 + 640);
    kmrig_simsoc_run_until_uart_tx_change(m, 100000);
    assert_int_equal(kmrig_simsoc_cycles(m), c + 2 + 640 + 64);
    kmrig_simsoc_destroy(m);
}

static void test_uart_rx_sample_point_and_rda_timestamp(void **state)
{
    (void)state;
    /* MCR loopback, divisor d: the RDA interrupt (trigger 1) rises at the stop-bit sample,
     * S + 3 + 8d + 16d * 9 for a start bit that began at edge S; the intc timestamps it. */
    for (uint16_t d = 1; d <= 9; d += 4) {
        kmrig_simsoc *m = sim_new(0);
        wr(m, MEM, KMRIG_SOC_INTC_BASE + KMRIG_INTC_MASK, 4, 0xFF & ~UART_BIT);
        set_divisor(m, d, 0x03);
        uw(m, KMRIG_UART_MCR, KMRIG_UART_MCR_LOOP);
        uw(m, KMRIG_UART_IER, KMRIG_UART_IER_ERBFI);
        uint64_t c = kmrig_simsoc_cycles(m);
        uw(m, KMRIG_UART_THR, 0x5A);
        assert_int_equal(kmrig_simsoc_uart_tx(m), 1); /* loopback: the pin stays idle */
        const uint64_t s = c + 2, p = s + 3 + 8u * d + 16u * d * 9;
        kmrig_simsoc_run_until_irq_change(m, 100000);
        assert_int_equal(kmrig_simsoc_irq(m), UART_BIT);
        assert_int_equal(kmrig_simsoc_cycles(m), p + 1);
        uint64_t ts =
            rd(m, MEM, KMRIG_SOC_INTC_BASE + KMRIG_INTC_TS_LO0 + 8u * KMRIG_SOC_UART0_IRQ, 4);
        assert_int_equal(ts, p);
        assert_int_equal(ur(m, KMRIG_UART_IIR), IIR_RDA);
        assert_int_equal(ur(m, KMRIG_UART_RBR), 0x5A);
        assert_int_equal(ur(m, KMRIG_UART_IIR), IIR_NONE);
        assert_int_equal(kmrig_simsoc_irq(m), 0);
        kmrig_simsoc_destroy(m);
    }
}

static void test_uart_fifo_fill_overflow_oe(void **state)
{
    (void)state;
    kmrig_simsoc *m = sim_new(0);
    set_divisor(m, 2, 0x03);
    uw(m, KMRIG_UART_FCR, KMRIG_UART_FCR_ENABLE | KMRIG_UART_FCR_RXRESET | KMRIG_UART_FCR_TXRESET);
    uw(m, KMRIG_UART_MCR, KMRIG_UART_MCR_LOOP);
    /* TX: 1 in the shifter + 16 in the FIFO; writes to a full FIFO are dropped */
    for (unsigned i = 0; i < 20; i++)
        uw(m, KMRIG_UART_THR, (uint8_t)(0x40 + i));
    uint8_t lsr = ur(m, KMRIG_UART_LSR);
    assert_int_equal(lsr & (KMRIG_UART_LSR_THRE | KMRIG_UART_LSR_TEMT), 0);
    /* all 17 arrive; the RX FIFO holds 16, the 17th overruns and is dropped */
    kmrig_simsoc_run(m, 17 * 320 + 100);
    lsr = ur(m, KMRIG_UART_LSR);
    assert_int_equal(
        lsr & (KMRIG_UART_LSR_DR | KMRIG_UART_LSR_OE | KMRIG_UART_LSR_THRE | KMRIG_UART_LSR_TEMT),
        KMRIG_UART_LSR_DR | KMRIG_UART_LSR_OE | KMRIG_UART_LSR_THRE | KMRIG_UART_LSR_TEMT);
    assert_int_equal(ur(m, KMRIG_UART_LSR) & KMRIG_UART_LSR_OE, 0); /* read cleared OE */
    for (unsigned i = 0; i < 16; i++) {
        assert_true(ur(m, KMRIG_UART_LSR) & KMRIG_UART_LSR_DR);
        assert_int_equal(ur(m, KMRIG_UART_RBR), 0x40 + i);
    }
    assert_int_equal(ur(m, KMRIG_UART_LSR) & KMRIG_UART_LSR_DR, 0);

    /* FIFOs off: one holding register each way; an overrun replaces the held character */
    uw(m, KMRIG_UART_FCR, 0);
    assert_int_equal(ur(m, KMRIG_UART_IIR) & IIR_FIFO, 0);
    uw(m, KMRIG_UART_THR, 0x11);
    uw(m, KMRIG_UART_THR, 0x22);
    uw(m, KMRIG_UART_THR, 0x33); /* replaces 0x22 in THR (0x11 is shifting) */
    kmrig_simsoc_run(m, 3 * 320 + 100);
    lsr = ur(m, KMRIG_UART_LSR);
    assert_int_equal(lsr & (KMRIG_UART_LSR_DR | KMRIG_UART_LSR_OE),
                     KMRIG_UART_LSR_DR | KMRIG_UART_LSR_OE);
    assert_int_equal(ur(m, KMRIG_UART_RBR), 0x33);
    assert_int_equal(ur(m, KMRIG_UART_LSR) & KMRIG_UART_LSR_DR, 0);

    /* FCR RX reset empties the FIFO */
    uw(m, KMRIG_UART_FCR, KMRIG_UART_FCR_ENABLE);
    uw(m, KMRIG_UART_THR, 0x01);
    uw(m, KMRIG_UART_THR, 0x02);
    kmrig_simsoc_run(m, 2 * 320 + 100);
    assert_true(ur(m, KMRIG_UART_LSR) & KMRIG_UART_LSR_DR);
    uw(m, KMRIG_UART_FCR, KMRIG_UART_FCR_ENABLE | KMRIG_UART_FCR_RXRESET);
    assert_int_equal(ur(m, KMRIG_UART_LSR) & KMRIG_UART_LSR_DR, 0);
    kmrig_simsoc_destroy(m);
}

static void test_uart_interrupt_sources_priority_and_clear(void **state)
{
    (void)state;
    kmrig_simsoc *m = sim_new(0);
    wr(m, MEM, KMRIG_SOC_INTC_BASE + KMRIG_INTC_MASK, 4, 0xFF & ~UART_BIT);
    set_divisor(m, 1, 0x03);
    uw(m, KMRIG_UART_FCR, KMRIG_UART_FCR_ENABLE | (1u << KMRIG_UART_FCR_TRIGGER_SHIFT)); /* 4 */
    uw(m, KMRIG_UART_MCR, KMRIG_UART_MCR_LOOP);

    /* THRE: enabling ETBEI with an empty THR raises it; an IIR read that reports it clears it */
    assert_int_equal(ur(m, KMRIG_UART_IIR), IIR_FIFO | IIR_NONE);
    uw(m, KMRIG_UART_IER, KMRIG_UART_IER_ETBEI);
    assert_int_equal(kmrig_simsoc_irq(m), UART_BIT);
    assert_int_equal(ur(m, KMRIG_UART_IIR), IIR_FIFO | IIR_THRE);
    assert_int_equal(ur(m, KMRIG_UART_IIR), IIR_FIFO | IIR_NONE);
    assert_int_equal(kmrig_simsoc_irq(m), 0);
    /* writing ETBEI again while set does not re-arm; 0 then 1 does */
    uw(m, KMRIG_UART_IER, KMRIG_UART_IER_ETBEI);
    assert_int_equal(ur(m, KMRIG_UART_IIR), IIR_FIFO | IIR_NONE);
    uw(m, KMRIG_UART_IER, 0);
    uw(m, KMRIG_UART_IER, KMRIG_UART_IER_ETBEI);
    assert_int_equal(ur(m, KMRIG_UART_IIR), IIR_FIFO | IIR_THRE);
    /* a THR write clears it; it rises again when the FIFO empties into the shifter */
    uw(m, KMRIG_UART_IER, 0);
    uw(m, KMRIG_UART_IER, KMRIG_UART_IER_ETBEI);
    uint64_t c = kmrig_simsoc_cycles(m);
    uw(m, KMRIG_UART_THR, 0x31);
    assert_int_equal(kmrig_simsoc_cycles(m), c + 2);
    /* THR cleared it at edge c + 1; loaded at edge c + 2, the FIFO is empty again and THRE
     * is back; the interrupt controller shows it one edge later */
    assert_int_equal(kmrig_simsoc_irq(m), 0);
    assert_int_equal(kmrig_simsoc_run_until_irq_change(m, 10), 1);
    assert_int_equal(kmrig_simsoc_irq(m), UART_BIT);
    assert_int_equal(ur(m, KMRIG_UART_IIR), IIR_FIFO | IIR_THRE);
    uw(m, KMRIG_UART_IER, 0);

    /* RX below the trigger level: no RDA; after 4 character times without FIFO activity the
     * character timeout (CTI) fires; reading RBR clears it. 8N1, divisor 1: 4 * 160 cycles. */
    uw(m, KMRIG_UART_IER, KMRIG_UART_IER_ERBFI);
    kmrig_simsoc_run_until_irq_change(m, 100000);
    uint64_t first = kmrig_simsoc_cycles(m);
    uint64_t ts = rd(m, MEM, KMRIG_SOC_INTC_BASE + KMRIG_INTC_TS_LO0 + 8u * KMRIG_SOC_UART0_IRQ, 4);
    assert_true(ur(m, KMRIG_UART_LSR) & KMRIG_UART_LSR_DR);
    assert_int_equal(ur(m, KMRIG_UART_IIR), IIR_FIFO | IIR_CTI);
    /* the char arrived at c + 2 + 3 + 8 + 144 = c + 157; CTI 640 cycles later */
    assert_int_equal(ts, c + 157 + 640);
    assert_true(first > ts);
    assert_int_equal(ur(m, KMRIG_UART_RBR), 0x31);
    assert_int_equal(ur(m, KMRIG_UART_IIR), IIR_FIFO | IIR_NONE);
    assert_int_equal(kmrig_simsoc_irq(m), 0);

    /* RDA at the trigger level (4), cleared when reads take the FIFO below it */
    for (unsigned i = 0; i < 4; i++)
        uw(m, KMRIG_UART_THR, (uint8_t)(0x61 + i));
    kmrig_simsoc_run(m, 3 * 160);
    assert_int_equal(ur(m, KMRIG_UART_IIR), IIR_FIFO | IIR_NONE); /* 3 received */
    kmrig_simsoc_run_until_irq_change(m, 1000);
    assert_int_equal(ur(m, KMRIG_UART_IIR), IIR_FIFO | IIR_RDA);
    assert_int_equal(ur(m, KMRIG_UART_RBR), 0x61);
    assert_int_equal(ur(m, KMRIG_UART_IIR), IIR_FIFO | IIR_NONE); /* 3 left: below 4 */
    for (unsigned i = 1; i < 4; i++)
        assert_int_equal(ur(m, KMRIG_UART_RBR), 0x61 + i);

    /* all at once: a break (line status) + RX data (trigger 1) + THRE + modem status.
     * IIR reports them by priority; each clears by its own action. */
    uw(m, KMRIG_UART_FCR, KMRIG_UART_FCR_ENABLE); /* trigger 1 */
    uw(m, KMRIG_UART_LCR, 0x03 | KMRIG_UART_LCR_BREAK);
    kmrig_simsoc_run(m, 400); /* the receiver sees a zero frame with a zero stop bit */
    uw(m, KMRIG_UART_LCR, 0x03);
    kmrig_simsoc_run(m, 100);
    uw(m, KMRIG_UART_MCR, KMRIG_UART_MCR_LOOP | KMRIG_UART_MCR_RTS);
    kmrig_simsoc_run(m, 4);
    uw(m, KMRIG_UART_IER, 0x0F); /* ETBEI 0 -> 1 with THR empty: THRE too */
    assert_int_equal(ur(m, KMRIG_UART_IIR), IIR_FIFO | IIR_RLS);
    uint8_t lsr = ur(m, KMRIG_UART_LSR);
    assert_int_equal(
        lsr & (KMRIG_UART_LSR_DR | KMRIG_UART_LSR_BI | KMRIG_UART_LSR_FE | KMRIG_UART_LSR_RXFE),
        KMRIG_UART_LSR_DR | KMRIG_UART_LSR_BI | KMRIG_UART_LSR_FE | KMRIG_UART_LSR_RXFE);
    assert_int_equal(ur(m, KMRIG_UART_IIR), IIR_FIFO | IIR_RDA);
    assert_int_equal(ur(m, KMRIG_UART_RBR), 0x00); /* the break character */
    assert_int_equal(ur(m, KMRIG_UART_LSR) & KMRIG_UART_LSR_RXFE, 0);
    assert_int_equal(ur(m, KMRIG_UART_IIR), IIR_FIFO | IIR_THRE); /* this read clears it */
    assert_int_equal(ur(m, KMRIG_UART_IIR), IIR_FIFO | IIR_MS);
    assert_int_equal(ur(m, KMRIG_UART_MSR), KMRIG_UART_MSR_CTS | KMRIG_UART_MSR_DCTS);
    assert_int_equal(ur(m, KMRIG_UART_IIR), IIR_FIFO | IIR_NONE);
    assert_int_equal(kmrig_simsoc_irq(m), 0);
    /* disabling a source hides it without losing it */
    uw(m, KMRIG_UART_MCR, KMRIG_UART_MCR_LOOP);
    kmrig_simsoc_run(m, 4);
    assert_int_equal(ur(m, KMRIG_UART_IIR), IIR_FIFO | IIR_MS);
    uw(m, KMRIG_UART_IER, KMRIG_UART_IER_ERBFI);
    assert_int_equal(ur(m, KMRIG_UART_IIR), IIR_FIFO | IIR_NONE);
    uw(m, KMRIG_UART_IER, KMRIG_UART_IER_EDSSI);
    assert_int_equal(ur(m, KMRIG_UART_IIR), IIR_FIFO | IIR_MS);
    kmrig_simsoc_destroy(m);
}

static void test_uart_parity_error(void **state)
{
    (void)state;
    /* MCR loopback: the transmitter builds the frame when it loads the character, the
     * receiver checks with the LCR of the moment; switching even to odd in between is a PE. */
    kmrig_simsoc *m = sim_new(0);
    set_divisor(m, 1, 0x1B); /* 8E1 */
    uw(m, KMRIG_UART_MCR, KMRIG_UART_MCR_LOOP);
    uw(m, KMRIG_UART_IER, KMRIG_UART_IER_ELSI);
    uw(m, KMRIG_UART_THR, 0x01);
    uw(m, KMRIG_UART_LCR, 0x0B); /* 8O1 */
    kmrig_simsoc_run(m, 200);
    assert_int_equal(ur(m, KMRIG_UART_IIR), IIR_RLS);
    assert_int_equal(ur(m, KMRIG_UART_LSR) & 0x1F, KMRIG_UART_LSR_DR | KMRIG_UART_LSR_PE);
    assert_int_equal(ur(m, KMRIG_UART_IIR), IIR_NONE);
    assert_int_equal(ur(m, KMRIG_UART_RBR), 0x01);
    /* same setting both sides: no error */
    uw(m, KMRIG_UART_THR, 0x03);
    kmrig_simsoc_run(m, 200);
    assert_int_equal(ur(m, KMRIG_UART_LSR) & 0x1F, KMRIG_UART_LSR_DR);
    assert_int_equal(ur(m, KMRIG_UART_RBR), 0x03);
    kmrig_simsoc_destroy(m);
}

static void test_uart_modem_status_deltas(void **state)
{
    (void)state;
    kmrig_simsoc *m = sim_new(0);
    /* outside loopback: MCR drives the pins, the pins drive MSR (2 synchroniser edges + 1) */
    uw(m, KMRIG_UART_MCR, KMRIG_UART_MCR_DTR | KMRIG_UART_MCR_OUT2);
    assert_int_equal(kmrig_simsoc_uart_modem(m), KMRIG_SIM_UART_DTR | KMRIG_SIM_UART_OUT2);
    kmrig_simsoc_uart_set_modem(m, KMRIG_SIM_UART_CTS | KMRIG_SIM_UART_RI);
    assert_int_equal(kmrig_simsoc_next_event(m), 1);
    kmrig_simsoc_run(m, 2);
    assert_int_equal(ur(m, KMRIG_UART_MSR), 0); /* sampled at edge 3: not yet */
    kmrig_simsoc_run(m, 1);
    assert_int_equal(ur(m, KMRIG_UART_MSR),
                     KMRIG_UART_MSR_CTS | KMRIG_UART_MSR_RI | KMRIG_UART_MSR_DCTS);
    assert_int_equal(ur(m, KMRIG_UART_MSR), KMRIG_UART_MSR_CTS | KMRIG_UART_MSR_RI);
    kmrig_simsoc_uart_set_modem(m, KMRIG_SIM_UART_DSR | KMRIG_SIM_UART_DCD);
    kmrig_simsoc_run(m, 5);
    /* RI falling is TERI; CTS falling is DCTS; DSR and DCD rising are DDSR and DDCD */
    assert_int_equal(ur(m, KMRIG_UART_MSR), KMRIG_UART_MSR_DSR | KMRIG_UART_MSR_DCD | 0x0F);
    kmrig_simsoc_uart_set_modem(m, KMRIG_SIM_UART_DSR | KMRIG_SIM_UART_DCD | KMRIG_SIM_UART_RI);
    kmrig_simsoc_run(m, 5);
    assert_int_equal(ur(m, KMRIG_UART_MSR), 0xE0); /* RI rising: no TERI */

    /* loopback: RTS->CTS, DTR->DSR, OUT1->RI, OUT2->DCD; the pins read inactive */
    kmrig_simsoc_uart_set_modem(m, 0);
    kmrig_simsoc_run(m, 5);
    ur(m, KMRIG_UART_MSR);
    uw(m, KMRIG_UART_MCR, KMRIG_UART_MCR_LOOP);
    assert_int_equal(kmrig_simsoc_uart_modem(m), 0);
    assert_int_equal(kmrig_simsoc_uart_tx(m), 1);
    assert_int_equal(ur(m, KMRIG_UART_MSR), 0);
    static const struct {
        uint8_t mcr, msr;
    } steps[] = {
        {KMRIG_UART_MCR_RTS, KMRIG_UART_MSR_CTS | KMRIG_UART_MSR_DCTS},
        {KMRIG_UART_MCR_RTS | KMRIG_UART_MCR_DTR,
         KMRIG_UART_MSR_CTS | KMRIG_UART_MSR_DSR | KMRIG_UART_MSR_DDSR},
        {KMRIG_UART_MCR_DTR | KMRIG_UART_MCR_OUT1,
         KMRIG_UART_MSR_DSR | KMRIG_UART_MSR_RI | KMRIG_UART_MSR_DCTS},
        {KMRIG_UART_MCR_DTR | KMRIG_UART_MCR_OUT2,
         KMRIG_UART_MSR_DSR | KMRIG_UART_MSR_DCD | KMRIG_UART_MSR_TERI | KMRIG_UART_MSR_DDCD},
        {0, KMRIG_UART_MSR_DDSR | KMRIG_UART_MSR_DDCD},
    };
    for (unsigned i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        uw(m, KMRIG_UART_MCR, KMRIG_UART_MCR_LOOP | steps[i].mcr);
        assert_int_equal(ur(m, KMRIG_UART_MSR), steps[i].msr);
        assert_int_equal(ur(m, KMRIG_UART_MSR), steps[i].msr & 0xF0); /* deltas cleared */
    }
    /* the loopback plug wires RTS->CTS and DTR->DSR+DCD outside the chip */
    uw(m, KMRIG_UART_MCR, KMRIG_UART_MCR_DTR);
    kmrig_simsoc_uart_set_loopback(m, 1);
    kmrig_simsoc_run(m, 5);
    assert_int_equal(ur(m, KMRIG_UART_MSR) & 0xF0, KMRIG_UART_MSR_DSR | KMRIG_UART_MSR_DCD);
    uw(m, KMRIG_UART_MCR, KMRIG_UART_MCR_RTS);
    kmrig_simsoc_run(m, 5);
    assert_int_equal(ur(m, KMRIG_UART_MSR), KMRIG_UART_MSR_CTS | KMRIG_UART_MSR_DCTS |
                                                KMRIG_UART_MSR_DDSR | KMRIG_UART_MSR_DDCD);
    kmrig_simsoc_destroy(m);
}

static void test_uart_rx_pin_break_and_frame_error(void **state)
{
    (void)state;
    /* Drive rx by hand: a frame with a 0 stop bit is a framing error; a line held at 0 is a
     * break (one zero character, BI + FE), and nothing more until the line returns to 1. */
    kmrig_simsoc *m = sim_new(0);
    set_divisor(m, 1, 0x03);
    uw(m, KMRIG_UART_FCR, KMRIG_UART_FCR_ENABLE);
    int bits[10] = {0, 1, 0, 1, 0, 1, 0, 1, 0, 0}; /* 0x55 with a 0 stop bit */
    for (unsigned i = 0; i < 10; i++) {
        kmrig_simsoc_uart_set_rx(m, bits[i]);
        kmrig_simsoc_run(m, 16);
    }
    kmrig_simsoc_uart_set_rx(m, 1);
    kmrig_simsoc_run(m, 32);
    assert_int_equal(ur(m, KMRIG_UART_LSR) & 0x9F,
                     KMRIG_UART_LSR_DR | KMRIG_UART_LSR_FE | KMRIG_UART_LSR_RXFE);
    assert_int_equal(ur(m, KMRIG_UART_RBR), 0x55);
    kmrig_simsoc_uart_set_rx(m, 0);
    kmrig_simsoc_run(m, 16 * 40);
    assert_int_equal(ur(m, KMRIG_UART_LSR) & 0x9F, KMRIG_UART_LSR_DR | KMRIG_UART_LSR_FE |
                                                       KMRIG_UART_LSR_BI | KMRIG_UART_LSR_RXFE);
    assert_int_equal(ur(m, KMRIG_UART_RBR), 0x00);
    assert_int_equal(ur(m, KMRIG_UART_LSR) & KMRIG_UART_LSR_DR, 0); /* one character only */
    kmrig_simsoc_uart_set_rx(m, 1);
    kmrig_simsoc_run(m, 40);
    assert_int_equal(ur(m, KMRIG_UART_LSR) & 0x9F, 0);
    kmrig_simsoc_destroy(m);
}

static void test_uart_remote_end_both_ways_several_formats(void **state)
{
    (void)state;
    static const struct {
        uint16_t div;
        uint8_t lcr;
    } cases[] = {{1, 0x03}, {3, 0x1B}, {5, 0x04}, {2, 0x0A}, {325, 0x07}};
    for (unsigned c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        kmrig_simsoc *m = sim_new(0);
        const uint16_t d = cases[c].div;
        const uint8_t mask = (uint8_t)((1u << (5 + (cases[c].lcr & 3))) - 1);
        set_divisor(m, d, cases[c].lcr);
        uw(m, KMRIG_UART_FCR, KMRIG_UART_FCR_ENABLE);
        assert_int_equal(kmrig_simsoc_uart_remote(m, 16u * d, cases[c].lcr), KMRIG_SIM_OK);
        /* full duplex: 12 bytes each way at once */
        uint8_t out[12], in[12], got[16];
        for (unsigned i = 0; i < 12; i++) {
            out[i] = (uint8_t)(0x5A + 37 * i + c);
            in[i] = (uint8_t)(0xC3 + 11 * i + c);
            uw(m, KMRIG_UART_THR, out[i]);
        }
        assert_int_equal(kmrig_simsoc_uart_send(m, in, 12), KMRIG_SIM_OK);
        assert_int_equal(kmrig_simsoc_uart_send_pending(m), 12);
        kmrig_simsoc_run(m, 13u * 12 * 16 * d);
        assert_int_equal(kmrig_simsoc_uart_send_pending(m), 0);
        assert_int_equal(kmrig_simsoc_uart_recv(m, got, sizeof(got)), 12);
        for (unsigned i = 0; i < 12; i++)
            assert_int_equal(got[i], out[i] & mask);
        assert_int_equal(kmrig_simsoc_uart_recv_errors(m), 0);
        for (unsigned i = 0; i < 12; i++) {
            assert_int_equal(ur(m, KMRIG_UART_LSR) & 0x1F, KMRIG_UART_LSR_DR);
            assert_int_equal(ur(m, KMRIG_UART_RBR), in[i] & mask);
        }
        assert_int_equal(ur(m, KMRIG_UART_LSR) & KMRIG_UART_LSR_DR, 0);
        struct kmrig_simsoc_stats st;
        kmrig_simsoc_get_stats(m, &st);
        if (d == 325)
            assert_true(st.edges * 50 < kmrig_simsoc_cycles(m)); /* skipped inside the bits */
        kmrig_simsoc_destroy(m);
    }
}

static void test_uart_remote_exact_timing_and_errors(void **state)
{
    (void)state;
    kmrig_simsoc *m = sim_new(0);
    wr(m, MEM, KMRIG_SOC_INTC_BASE + KMRIG_INTC_MASK, 4, 0xFF & ~UART_BIT);
    set_divisor(m, 7, 0x03);
    uw(m, KMRIG_UART_IER, KMRIG_UART_IER_ERBFI);
    assert_int_equal(kmrig_simsoc_uart_remote(m, 16 * 7, 0x03), KMRIG_SIM_OK);
    kmrig_simsoc_run(m, 1000);
    /* a byte sent at cycle C: its start bit is on the line from C, the UART pushes it at the
     * stop-bit sample C + 3 + 8d + 16d * 9 (as for its own transmitter in loopback) */
    uint64_t c = kmrig_simsoc_cycles(m);
    const uint8_t b = 0x96;
    assert_int_equal(kmrig_simsoc_uart_send(m, &b, 1), KMRIG_SIM_OK);
    kmrig_simsoc_run_until_irq_change(m, 100000);
    uint64_t ts = rd(m, MEM, KMRIG_SOC_INTC_BASE + KMRIG_INTC_TS_LO0 + 8u * KMRIG_SOC_UART0_IRQ, 4);
    assert_int_equal(ts, c + 3 + 8 * 7 + 16 * 7 * 9);
    assert_int_equal(ur(m, KMRIG_UART_RBR), 0x96);
    /* the remote receives from the stop-bit sample on: not before */
    c = kmrig_simsoc_cycles(m);
    uw(m, KMRIG_UART_THR, 0x3C); /* start bit at edge c + 2 */
    uint8_t got;
    const uint64_t stop_sample = c + 2 + 8 * 7 + 9 * 16 * 7;
    kmrig_simsoc_run(m, stop_sample - 1 - kmrig_simsoc_cycles(m));
    assert_int_equal(kmrig_simsoc_uart_recv(m, &got, 1), 0);
    kmrig_simsoc_run(m, 1);
    assert_int_equal(kmrig_simsoc_uart_recv(m, &got, 1), 1);
    assert_int_equal(got, 0x3C);
    /* a format mismatch: the UART sends 8E1, the remote expects 8N1 and finds the (0) parity
     * bit where its stop bit should be */
    uw(m, KMRIG_UART_LCR, 0x1B);
    uw(m, KMRIG_UART_THR, 0x00);
    kmrig_simsoc_run(m, 16 * 7 * 14);
    assert_int_equal(kmrig_simsoc_uart_recv(m, &got, 1), 1);
    assert_int_equal(kmrig_simsoc_uart_recv_errors(m), 1);
    /* EINVAL cases; the loopback plug replaces the remote end */
    assert_int_equal(kmrig_simsoc_uart_remote(m, 1, 3), KMRIG_SIM_EINVAL);
    assert_int_equal(kmrig_simsoc_uart_remote(m, 16, 0x40), KMRIG_SIM_EINVAL);
    kmrig_simsoc_uart_set_loopback(m, 1);
    assert_int_equal(kmrig_simsoc_uart_send(m, &b, 1), KMRIG_SIM_EINVAL);
    kmrig_simsoc_destroy(m);
}

/* A UART scenario for the skipping check: records (cycle, value) pairs. */
struct trace {
    uint64_t v[1024];
    unsigned n;
};

static void put(struct trace *t, uint64_t v)
{
    assert_true(t->n < sizeof(t->v) / sizeof(t->v[0]));
    t->v[t->n++] = v;
}

static void scenario(kmrig_simsoc *m, struct trace *t)
{
    wr(m, MEM, KMRIG_SOC_INTC_BASE + KMRIG_INTC_MASK, 4, 0xFF & ~UART_BIT);
    set_divisor(m, 37, 0x1F); /* 8E2 */
    uw(m, KMRIG_UART_FCR, KMRIG_UART_FCR_ENABLE | (2u << KMRIG_UART_FCR_TRIGGER_SHIFT));
    uw(m, KMRIG_UART_IER, 0x0F);
    kmrig_simsoc_uart_set_loopback(m, 1);
    for (unsigned i = 0; i < 60; i++) {
        if (i % 7 == 0)
            for (unsigned k = 0; k <= i % 5; k++)
                uw(m, KMRIG_UART_THR, (uint8_t)(i * 13 + k));
        if (i == 20)
            uw(m, KMRIG_UART_MCR, KMRIG_UART_MCR_RTS | KMRIG_UART_MCR_DTR);
        if (i == 30) {
            kmrig_simsoc_uart_set_loopback(m, 0);
            kmrig_simsoc_uart_set_modem(m, KMRIG_SIM_UART_RI);
            assert_int_equal(kmrig_simsoc_uart_remote(m, 16 * 37 + 3, 0x1F), KMRIG_SIM_OK);
        }
        if (i >= 30 && i % 3 == 0) {
            const uint8_t bytes[3] = {(uint8_t)i, (uint8_t)(i * 7), 0xFF};
            kmrig_simsoc_uart_send(m, bytes, 1 + i % 3);
        }
        if (i == 40)
            uw(m, KMRIG_UART_MCR, KMRIG_UART_MCR_LOOP);
        put(t, kmrig_simsoc_run_until_irq_change(m, 50000));
        put(t, kmrig_simsoc_cycles(m));
        uint8_t iir = ur(m, KMRIG_UART_IIR);
        put(t, iir);
        switch (iir & 0x0F) {
        case IIR_RLS:
            put(t, ur(m, KMRIG_UART_LSR));
            break;
        case IIR_RDA:
        case IIR_CTI:
            put(t, ur(m, KMRIG_UART_RBR));
            break;
        case IIR_MS:
            put(t, ur(m, KMRIG_UART_MSR));
            break;
        default:
            break;
        }
        put(t, kmrig_simsoc_uart_tx(m));
        uint8_t got[16];
        size_t n = kmrig_simsoc_uart_recv(m, got, sizeof(got));
        put(t, n);
        for (size_t k = 0; k < n; k++)
            put(t, got[k]);
    }
}

static void test_uart_skipping_matches_stepping(void **state)
{
    (void)state;
    static struct trace skip, step;
    kmrig_simsoc *a = sim_new(0);
    kmrig_simsoc *b = sim_new(1);
    memset(&skip, 0, sizeof(skip));
    memset(&step, 0, sizeof(step));
    scenario(a, &skip);
    scenario(b, &step);
    assert_int_equal(skip.n, step.n);
    for (unsigned i = 0; i < skip.n; i++) {
        if (skip.v[i] != step.v[i])
            fail_msg("trace differs at %u: skip %llu, step %llu", i, (unsigned long long)skip.v[i],
                     (unsigned long long)step.v[i]);
    }
    struct kmrig_simsoc_stats sa, sb;
    kmrig_simsoc_get_stats(a, &sa);
    kmrig_simsoc_get_stats(b, &sb);
    assert_int_equal(sb.edges, kmrig_simsoc_cycles(b));
    assert_true(sa.edges * 10 < sb.edges); /* it really skipped while characters shifted */
    kmrig_simsoc_destroy(a);
    kmrig_simsoc_destroy(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uart_reset_values),
        cmocka_unit_test(test_uart_dlab_and_wide_accesses),
        cmocka_unit_test(test_uart_loopback_plug_bit_timing),
        cmocka_unit_test(test_uart_back_to_back_frames),
        cmocka_unit_test(test_uart_rx_sample_point_and_rda_timestamp),
        cmocka_unit_test(test_uart_fifo_fill_overflow_oe),
        cmocka_unit_test(test_uart_interrupt_sources_priority_and_clear),
        cmocka_unit_test(test_uart_parity_error),
        cmocka_unit_test(test_uart_modem_status_deltas),
        cmocka_unit_test(test_uart_rx_pin_break_and_frame_error),
        cmocka_unit_test(test_uart_remote_end_both_ways_several_formats),
        cmocka_unit_test(test_uart_remote_exact_timing_and_errors),
        cmocka_unit_test(test_uart_skipping_matches_stepping),
    };
    return cmocka_run_group_tests_name("bridge_simsoc_uart", tests, NULL, NULL);
}

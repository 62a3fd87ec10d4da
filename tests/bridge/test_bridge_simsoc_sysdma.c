/*
 * test_bridge_simsoc_sysdma.c - the system DMA controller (rtl/kmrig_sysdma.v) on the SoC's
 * Verilator model, with uart0 as the device on channel 0 (fly-by, RXRDY/TXRDY), and the DMA
 * port shared with dma0 (rtl/kmrig_dma_arbiter.v). Host memory is a byte array served by the
 * DMA handler; the system DMA controller makes one 1-byte access per transfer.
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
#define SDMA_BIT (1u << KMRIG_SOC_SYSDMA_IRQ)
#define HOST_BASE 0x00100000u
#define HOST_SIZE 0x10000u
#define XFER_WRITE 1u /* device -> memory */
#define XFER_READ 2u  /* memory -> device */

struct host {
    uint8_t mem[HOST_SIZE];
    uint64_t refuse; /* this byte address answers with a bus error (0: none) */
    unsigned calls, sizes_other_than_1;
};

static int host_dma(void *ctx, int write, uint64_t addr, unsigned size, uint32_t *data)
{
    struct host *h = ctx;
    h->calls++;
    if (addr == h->refuse || addr < HOST_BASE || addr + size > HOST_BASE + HOST_SIZE)
        return -1;
    if (size != 1)
        h->sizes_other_than_1++;
    uint8_t *p = &h->mem[addr - HOST_BASE];
    if (write) {
        for (unsigned i = 0; i < size; i++)
            p[i] = (uint8_t)(*data >> (8 * i));
    } else {
        uint32_t v = 0;
        for (unsigned i = 0; i < size; i++)
            v |= (uint32_t)p[i] << (8 * i);
        *data = v;
    }
    return 0;
}

static uint32_t rd(kmrig_simsoc *m, int io, uint32_t addr, unsigned size)
{
    uint32_t v = 0xDEADBEEF;
    int rc = kmrig_simsoc_read(m, io, addr, size, &v);
    if (rc != KMRIG_SIM_OK)
        fail_msg("read 0x%x: %s", addr, kmrig_simsoc_strerror(rc));
    return v;
}

static void wr(kmrig_simsoc *m, int io, uint32_t addr, unsigned size, uint32_t v)
{
    int rc = kmrig_simsoc_write(m, io, addr, size, v);
    if (rc != KMRIG_SIM_OK)
        fail_msg("write 0x%x: %s", addr, kmrig_simsoc_strerror(rc));
}

#define CH(n, r) (KMRIG_SOC_SYSDMA_BASE + KMRIG_SYSDMA_CH(n) + KMRIG_SYSDMA_##r)
#define UART(r) (KMRIG_SOC_UART0_BASE + KMRIG_UART_##r)

static struct host *setup_wait(kmrig_simsoc **m, unsigned dma_wait)
{
    struct host *h = calloc(1, sizeof(*h));
    assert_non_null(h);
    for (unsigned i = 0; i < HOST_SIZE; i++)
        h->mem[i] = (uint8_t)(i * 29 + 3);
    struct kmrig_simsoc_config cfg;
    kmrig_simsoc_config_init(&cfg);
    cfg.dma_wait = dma_wait;
    assert_int_equal(kmrig_simsoc_open(&cfg, m), KMRIG_SIM_OK);
    kmrig_simsoc_set_dma_handler(*m, host_dma, h);
    wr(*m, MEM, KMRIG_SOC_INTC_BASE + KMRIG_INTC_MASK, 4, 0xFF & ~SDMA_BIT);
    /* uart0: divisor 1 (160 cycles per 8N1 character), FIFOs on, DMA mode 1, MCR loopback */
    wr(*m, IO, UART(LCR), 1, KMRIG_UART_LCR_DLAB);
    wr(*m, IO, UART(DLL), 1, 1);
    wr(*m, IO, UART(LCR), 1, 0x03);
    wr(*m, IO, UART(FCR), 1, KMRIG_UART_FCR_ENABLE | 0x08);
    wr(*m, IO, UART(MCR), 1, KMRIG_UART_MCR_LOOP);
    return h;
}

static struct host *setup(kmrig_simsoc **m)
{
    return setup_wait(m, 0);
}

/* Waits (at most a few character times) until uart0 has received a byte. */
static void wait_rx(kmrig_simsoc *m)
{
    for (unsigned n = 0; n < 100; n++) {
        if (rd(m, IO, UART(LSR), 1) & KMRIG_UART_LSR_DR)
            return;
        kmrig_simsoc_run(m, 10);
    }
    fail_msg("no byte received in 1000 cycles");
}

static void program(kmrig_simsoc *m, unsigned ch, uint32_t addr, uint32_t count, uint32_t mode)
{
    wr(m, MEM, CH(ch, ADDR), 4, addr);
    wr(m, MEM, CH(ch, COUNT), 4, count);
    wr(m, MEM, CH(ch, MODE), 4, mode);
    wr(m, MEM, CH(ch, CTRL), 4, KMRIG_SYSDMA_CTRL_IRQ_EN); /* unmask */
}

static void test_sysdma_reset_values_and_rom(void **state)
{
    (void)state;
    kmrig_simsoc *m = NULL;
    assert_int_equal(kmrig_simsoc_open(NULL, &m), KMRIG_SIM_OK);
    for (unsigned ch = 0; ch < KMRIG_SYSDMA_CHANNELS; ch++) {
        assert_int_equal(rd(m, MEM, CH(ch, CTRL), 4), KMRIG_SYSDMA_CTRL_MASK);
        assert_int_equal(rd(m, MEM, CH(ch, COUNT), 4), 0);
        assert_int_equal(rd(m, MEM, CH(ch, STATUS), 4), 0);
        wr(m, MEM, CH(ch, ADDR), 4, 0x12345678u + ch);
        wr(m, MEM, CH(ch, COUNT), 4, 0xFF000100u); /* 24 bits */
        assert_int_equal(rd(m, MEM, CH(ch, ADDR), 4), 0x12345678u + ch);
        assert_int_equal(rd(m, MEM, CH(ch, BASE_ADDR), 4), 0x12345678u + ch);
        assert_int_equal(rd(m, MEM, CH(ch, COUNT), 4), 0x100);
        assert_int_equal(rd(m, MEM, CH(ch, BASE_COUNT), 4), 0x100);
    }
    assert_int_equal(kmrig_simsoc_next_event(m), UINT32_MAX); /* masked: nothing moves */
    /* the ROM: uart0 uses system DMA channel 0; the controller is part of the bridge */
    unsigned seen = 0;
    for (unsigned e = 0; e < 7; e++) {
        uint32_t off = KMRIG_ROM_HDR_BYTES + e * KMRIG_ROM_ENTRY_BYTES;
        uint32_t base = rd(m, MEM, off + KMRIG_ROM_ENT_BASE, 4);
        uint32_t flags = rd(m, MEM, off + KMRIG_ROM_ENT_FLAGS, 4);
        if (base == KMRIG_SOC_UART0_BASE) {
            assert_true(flags & KMRIG_ROM_FLAG_SDMA);
            assert_int_equal(flags >> 24, 0);
            seen++;
        } else if (base == KMRIG_SOC_SYSDMA_BASE) {
            assert_true(flags & KMRIG_ROM_FLAG_CORE);
            assert_true(flags & KMRIG_ROM_FLAG_DMA);
            assert_int_equal((flags >> 8) & 0xFF, KMRIG_SOC_SYSDMA_IRQ);
            seen++;
        } else {
            assert_int_equal(flags & KMRIG_ROM_FLAG_SDMA, 0);
        }
    }
    assert_int_equal(seen, 2);
    kmrig_simsoc_destroy(m);
}

static void test_sysdma_memory_to_uart_and_read_counter(void **state)
{
    (void)state;
    kmrig_simsoc *m = NULL;
    struct host *h = setup(&m);
    const uint32_t buf = HOST_BASE + 0x1003, n = 40;
    uint64_t c = kmrig_simsoc_cycles(m);
    program(m, 0, buf, n, XFER_READ);
    /* TXRDY (mode 1: TX FIFO not full) lets 17 bytes through at once (shifter + 16), then one
     * per character time (160 cycles) */
    kmrig_simsoc_run(m, 100);
    uint32_t left = rd(m, MEM, CH(0, COUNT), 4);
    assert_int_equal(left, n - 17);
    assert_int_equal(rd(m, MEM, CH(0, ADDR), 4), buf + 17);
    kmrig_simsoc_run(m, 160 * 10);
    assert_int_equal(rd(m, MEM, CH(0, COUNT), 4), n - 27);
    /* the receiver (loopback) has the first 16; read them by PIO while the rest goes out */
    for (unsigned i = 0; i < n; i++) {
        wait_rx(m);
        assert_int_equal(rd(m, IO, UART(RBR), 1), h->mem[buf - HOST_BASE + i]);
    }
    /* terminal count: TC, count 0, channel masked (no autoinitialize), the interrupt */
    assert_int_equal(rd(m, MEM, CH(0, COUNT), 4), 0);
    assert_int_equal(rd(m, MEM, CH(0, STATUS), 4) & 3, KMRIG_SYSDMA_STATUS_TC);
    assert_int_equal(rd(m, MEM, CH(0, CTRL), 4) & KMRIG_SYSDMA_CTRL_MASK, KMRIG_SYSDMA_CTRL_MASK);
    assert_int_equal(rd(m, MEM, CH(0, ADDR), 4), buf + n);
    assert_int_equal(kmrig_simsoc_irq(m), SDMA_BIT);
    assert_true(kmrig_simsoc_cycles(m) > c + 160 * (n - 17));
    assert_int_equal(h->calls, n);
    assert_int_equal(h->sizes_other_than_1, 0); /* byte lanes: one byte per access */
    wr(m, MEM, CH(0, STATUS), 4, KMRIG_SYSDMA_STATUS_TC);
    kmrig_simsoc_run(m, 2);
    assert_int_equal(kmrig_simsoc_irq(m), 0);
    kmrig_simsoc_destroy(m);
    free(h);
}

static void test_sysdma_uart_to_memory_autoinitialize(void **state)
{
    (void)state;
    kmrig_simsoc *m = NULL;
    struct host *h = setup(&m);
    const uint32_t buf = HOST_BASE + 0x2000;
    program(m, 0, buf, 8, XFER_WRITE | KMRIG_SYSDMA_MODE_AUTOINIT);
    for (unsigned i = 0; i < 20; i++) {
        wr(m, IO, UART(THR), 1, 0x40 + i);
        if (i == 7) {
            /* the first 8 bytes wrap the buffer once: TC, channel still unmasked */
            kmrig_simsoc_run_until_irq_change(m, 100000);
            assert_int_equal(kmrig_simsoc_irq(m), SDMA_BIT);
            assert_int_equal(rd(m, MEM, CH(0, COUNT), 4), 8);
            assert_int_equal(rd(m, MEM, CH(0, ADDR), 4), buf);
            assert_int_equal(rd(m, MEM, CH(0, CTRL), 4) & KMRIG_SYSDMA_CTRL_MASK, 0);
            for (unsigned k = 0; k < 8; k++)
                assert_int_equal(h->mem[buf - HOST_BASE + k], 0x40 + k);
            wr(m, MEM, CH(0, STATUS), 4, KMRIG_SYSDMA_STATUS_TC);
        }
    }
    kmrig_simsoc_run(m, 160 * 14);
    /* 20 bytes into an 8-byte ring: 16..19 at 0..3, 12..15 at 4..7; 4 left to TC */
    for (unsigned k = 0; k < 4; k++)
        assert_int_equal(h->mem[buf - HOST_BASE + k], 0x40 + 16 + k);
    for (unsigned k = 4; k < 8; k++)
        assert_int_equal(h->mem[buf - HOST_BASE + k], 0x40 + 8 + k);
    assert_int_equal(h->mem[buf - HOST_BASE + 8], (uint8_t)((0x2008) * 29 + 3)); /* untouched */
    assert_int_equal(rd(m, MEM, CH(0, COUNT), 4), 4);
    assert_int_equal(rd(m, MEM, CH(0, STATUS), 4) & 3, KMRIG_SYSDMA_STATUS_TC); /* 2nd wrap */
    assert_int_equal(rd(m, IO, UART(LSR), 1) & KMRIG_UART_LSR_DR, 0); /* DMA took them all */
    kmrig_simsoc_destroy(m);
    free(h);
}

static void test_sysdma_decrement_and_refused_address(void **state)
{
    (void)state;
    kmrig_simsoc *m = NULL;
    struct host *h = setup(&m);
    const uint32_t top = HOST_BASE + 0x3010;
    h->refuse = top - 5;
    program(m, 0, top, 10, XFER_WRITE | KMRIG_SYSDMA_MODE_DEC);
    for (unsigned i = 0; i < 8; i++)
        wr(m, IO, UART(THR), 1, 0xA0 + i);
    kmrig_simsoc_run_until_irq_change(m, 100000);
    assert_int_equal(kmrig_simsoc_irq(m), SDMA_BIT);
    uint32_t st = rd(m, MEM, CH(0, STATUS), 4);
    assert_int_equal(st & 3, KMRIG_SYSDMA_STATUS_ERROR);
    /* bytes 0..4 landed at top, top-1, ..., top-4; the 6th was refused at top-5 */
    for (unsigned k = 0; k < 5; k++)
        assert_int_equal(h->mem[top - HOST_BASE - k], 0xA0 + k);
    assert_int_equal(rd(m, MEM, CH(0, ADDR), 4), top - 5);
    assert_int_equal(rd(m, MEM, CH(0, COUNT), 4), 5);
    assert_int_equal(rd(m, MEM, CH(0, CTRL), 4) & KMRIG_SYSDMA_CTRL_MASK, KMRIG_SYSDMA_CTRL_MASK);
    /* the refused byte is lost (taken from the UART); the rest wait in its FIFO */
    kmrig_simsoc_run(m, 160 * 4);
    assert_true(rd(m, IO, UART(LSR), 1) & KMRIG_UART_LSR_DR);
    assert_int_equal(rd(m, IO, UART(RBR), 1), 0xA6);
    struct kmrig_simsoc_stats stats;
    kmrig_simsoc_get_stats(m, &stats);
    assert_int_equal(stats.dma_errors, 1);
    kmrig_simsoc_destroy(m);
    free(h);
}

static void test_sysdma_shares_the_dma_port_with_dma0(void **state)
{
    (void)state;
    /* with wait states, a cycle that waits keeps the port (the arbiter's lock) */
    for (unsigned w = 0; w <= 2; w += 2) {
        kmrig_simsoc *m = NULL;
        struct host *h = setup_wait(&m, w);
        /* dma0 copies 8 KiB (word accesses) while channel 0 sends 30 bytes to the UART */
        const uint32_t d = HOST_BASE + 0x100, src = HOST_BASE + 0x4000, dst = HOST_BASE + 0x8000;
        const uint32_t words[8] = {src, 0, dst, 0, 0, 0, 0xA0000000u | 0x2000, 0};
        memcpy(&h->mem[d - HOST_BASE], words, sizeof(words)); /* little-endian host */
        const uint32_t buf = HOST_BASE + 0xF000;
        program(m, 0, buf, 30, XFER_READ);
        wr(m, MEM, KMRIG_SOC_DMA0_BASE + KMRIG_DMA_DESC_LO, 4, d);
        wr(m, MEM, KMRIG_SOC_DMA0_BASE + KMRIG_DMA_CTRL, 4, KMRIG_DMA_CTRL_RUN);
        for (unsigned i = 0; i < 30; i++) {
            wait_rx(m);
            assert_int_equal(rd(m, IO, UART(RBR), 1), h->mem[buf - HOST_BASE + i]);
        }
        kmrig_simsoc_run(m, 20000);
        assert_int_equal(rd(m, MEM, KMRIG_SOC_DMA0_BASE + KMRIG_DMA_STATUS, 4),
                         KMRIG_DMA_STATUS_DONE);
        assert_memory_equal(&h->mem[dst - HOST_BASE], &h->mem[src - HOST_BASE], 0x2000);
        assert_int_equal(rd(m, MEM, CH(0, COUNT), 4), 0);
        assert_int_equal(h->calls, 30 + 7 + 2 * 0x800 + 2);
        struct kmrig_simsoc_stats stats;
        kmrig_simsoc_get_stats(m, &stats);
        assert_int_equal(stats.dma_errors, 0); /* no cycle changed under a wait state */
        assert_int_equal(stats.dma_cycles, h->calls);
        kmrig_simsoc_destroy(m);
        free(h);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sysdma_reset_values_and_rom),
        cmocka_unit_test(test_sysdma_memory_to_uart_and_read_counter),
        cmocka_unit_test(test_sysdma_uart_to_memory_autoinitialize),
        cmocka_unit_test(test_sysdma_decrement_and_refused_address),
        cmocka_unit_test(test_sysdma_shares_the_dma_port_with_dma0),
    };
    return cmocka_run_group_tests_name("bridge_simsoc_sysdma", tests, NULL, NULL);
}

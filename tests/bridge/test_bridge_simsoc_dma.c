/*
 * test_bridge_simsoc_dma.c - dma0 (rtl/kmrig_dma.v) and the DMA port on the SoC's Verilator
 * model, through kmrig/simsoc.h. Host memory is a byte array served by the DMA handler at bus
 * address HOST_BASE (above 4 GiB, so the upper address word matters); a window of it can be
 * refused, as the runtime refuses bus addresses outside every mapping.
 *
 * Cycle counts follow docs/rtl.md ("dma0", "Timing"): the DMA port moves one word per cycle;
 * from the edge that issues a descriptor fetch to the edge that completes its write-back a
 * descriptor of N words takes 11 + 2N edges (copy), 11 + N (memory to FIFO) or 11 + 3N
 * (FIFO to memory); a start written at cycle c issues the first fetch at edge c + 1.
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
#define DMA_BIT (1u << KMRIG_SOC_DMA0_IRQ)
#define HOST_BASE 0x123400000ull
#define HOST_SIZE (256u * 1024u)

enum { E_DESC = 1, E_SRC, E_DST, E_WB, E_ALIGN, E_OVER, E_UNDER };

struct host {
    uint8_t mem[HOST_SIZE];
    uint64_t refuse_lo, refuse_hi; /* [lo, hi) answers with a bus error */
    int refuse_writes_only;
    unsigned reads, writes, refused;
};

static int host_dma(void *ctx, int write, uint64_t addr, unsigned size, uint32_t *data)
{
    struct host *h = ctx;
    if ((addr >= h->refuse_lo && addr < h->refuse_hi && (write || !h->refuse_writes_only)) ||
        addr < HOST_BASE || addr + size > HOST_BASE + HOST_SIZE || size != 4) {
        h->refused++;
        return -1;
    }
    uint8_t *p = &h->mem[addr - HOST_BASE];
    if (write) {
        for (unsigned i = 0; i < size; i++)
            p[i] = (uint8_t)(*data >> (8 * i));
        h->writes++;
    } else {
        uint32_t v = 0;
        for (unsigned i = 0; i < size; i++)
            v |= (uint32_t)p[i] << (8 * i);
        *data = v;
        h->reads++;
    }
    return 0;
}

static uint32_t rd(kmrig_simsoc *m, uint32_t addr)
{
    uint32_t v = 0xDEADBEEF;
    int rc = kmrig_simsoc_read(m, MEM, addr, 4, &v);
    if (rc != KMRIG_SIM_OK)
        fail_msg("read 0x%x: %s", addr, kmrig_simsoc_strerror(rc));
    return v;
}

static void wr(kmrig_simsoc *m, uint32_t addr, uint32_t v)
{
    int rc = kmrig_simsoc_write(m, MEM, addr, 4, v);
    if (rc != KMRIG_SIM_OK)
        fail_msg("write 0x%x: %s", addr, kmrig_simsoc_strerror(rc));
}

#define DMA(r) (KMRIG_SOC_DMA0_BASE + KMRIG_DMA_##r)

static struct host *host_new_wait(kmrig_simsoc **m, unsigned dma_wait)
{
    struct host *h = calloc(1, sizeof(*h));
    assert_non_null(h);
    for (unsigned i = 0; i < HOST_SIZE; i++)
        h->mem[i] = (uint8_t)(i * 7 + (i >> 8) * 13 + 1);
    struct kmrig_simsoc_config cfg;
    kmrig_simsoc_config_init(&cfg);
    cfg.dma_wait = dma_wait;
    assert_int_equal(kmrig_simsoc_open(&cfg, m), KMRIG_SIM_OK);
    kmrig_simsoc_set_dma_handler(*m, host_dma, h);
    wr(*m, KMRIG_SOC_INTC_BASE + KMRIG_INTC_MASK, 0xFF & ~DMA_BIT);
    return h;
}

static struct host *host_new(kmrig_simsoc **m)
{
    return host_new_wait(m, 0);
}

static void put32(struct host *h, uint64_t addr, uint32_t v)
{
    uint8_t *p = &h->mem[addr - HOST_BASE];
    for (unsigned i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(struct host *h, uint64_t addr)
{
    const uint8_t *p = &h->mem[addr - HOST_BASE];
    return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static void desc(struct host *h, uint64_t at, uint64_t src, uint64_t dst, uint64_t next,
                 uint32_t ctrl)
{
    put32(h, at + KMRIG_DMADESC_SRC_LO, (uint32_t)src);
    put32(h, at + KMRIG_DMADESC_SRC_HI, (uint32_t)(src >> 32));
    put32(h, at + KMRIG_DMADESC_DST_LO, (uint32_t)dst);
    put32(h, at + KMRIG_DMADESC_DST_HI, (uint32_t)(dst >> 32));
    put32(h, at + KMRIG_DMADESC_NEXT_LO, (uint32_t)next);
    put32(h, at + KMRIG_DMADESC_NEXT_HI, (uint32_t)(next >> 32));
    put32(h, at + KMRIG_DMADESC_CTRL, ctrl);
    put32(h, at + KMRIG_DMADESC_STATUS, 0xA5A5A5A5u); /* junk the engine must overwrite */
}

#define OWN KMRIG_DMADESC_CTRL_OWN
#define LAST KMRIG_DMADESC_CTRL_LAST
#define DIRQ KMRIG_DMADESC_CTRL_IRQ
#define OP(n) ((uint32_t)(n) << KMRIG_DMADESC_CTRL_OP_SHIFT)

static void start(kmrig_simsoc *m, uint64_t first)
{
    wr(m, DMA(DESC_LO), (uint32_t)first);
    wr(m, DMA(DESC_HI), (uint32_t)(first >> 32));
    wr(m, DMA(CTRL), KMRIG_DMA_CTRL_RUN | KMRIG_DMA_CTRL_IRQ_EN);
}

static uint64_t irq_ts(kmrig_simsoc *m)
{
    uint32_t lo = rd(m, KMRIG_SOC_INTC_BASE + KMRIG_INTC_TS_LO0 + 8u * KMRIG_SOC_DMA0_IRQ);
    return lo | (uint64_t)rd(m, KMRIG_SOC_INTC_BASE + KMRIG_INTC_TS_HI0 + 8u * KMRIG_SOC_DMA0_IRQ)
                    << 32;
}

static uint32_t err_code(uint32_t status)
{
    return (status & KMRIG_DMA_STATUS_ERR_CODE_MASK) >> KMRIG_DMA_STATUS_ERR_CODE_SHIFT;
}

static void test_dma_registers_reset_and_rom_entry(void **state)
{
    (void)state;
    kmrig_simsoc *m = NULL;
    assert_int_equal(kmrig_simsoc_open(NULL, &m), KMRIG_SIM_OK);
    assert_int_equal(rd(m, DMA(CTRL)), 0);
    assert_int_equal(rd(m, DMA(STATUS)), 0);
    assert_int_equal(rd(m, DMA(FIFO_LEVEL)), 0);
    assert_int_equal(rd(m, DMA(FIFO_DEPTH)), 256);
    wr(m, DMA(DESC_LO), 0x89ABCDE0u);
    wr(m, DMA(DESC_HI), 0x01234567u);
    assert_int_equal(rd(m, DMA(DESC_LO)), 0x89ABCDE0u);
    assert_int_equal(rd(m, DMA(DESC_HI)), 0x01234567u);
    assert_int_equal(kmrig_simsoc_next_event(m), UINT32_MAX);
    /* the ROM entry carries the DMA flag and line 3 */
    for (unsigned e = 0; e < 7; e++) {
        uint32_t off = KMRIG_ROM_HDR_BYTES + e * KMRIG_ROM_ENTRY_BYTES;
        if (rd(m, off + KMRIG_ROM_ENT_BASE) != KMRIG_SOC_DMA0_BASE)
            continue;
        uint32_t flags = rd(m, off + KMRIG_ROM_ENT_FLAGS);
        assert_true(flags & KMRIG_ROM_FLAG_DMA);
        assert_true(flags & KMRIG_ROM_FLAG_IRQ);
        assert_int_equal((flags >> 8) & 0xFF, KMRIG_SOC_DMA0_IRQ);
        assert_int_equal(rd(m, off + KMRIG_ROM_ENT_ID), 0x4B4D0005u);
        kmrig_simsoc_destroy(m);
        return;
    }
    fail_msg("no ROM entry for dma0");
}

static void test_dma_copy_chain_byte_for_byte(void **state)
{
    (void)state;
    kmrig_simsoc *m = NULL;
    struct host *h = host_new(&m);
    static struct host before;
    /* four scattered chunks, descriptors out of order in memory */
    const uint64_t d[4] = {HOST_BASE + 0x100, HOST_BASE + 0x40, HOST_BASE + 0x1E0,
                           HOST_BASE + 0x80};
    const uint64_t src[4] = {HOST_BASE + 0x1000, HOST_BASE + 0x8004, HOST_BASE + 0x3000,
                             HOST_BASE + 0x20000};
    const uint64_t dst[4] = {HOST_BASE + 0x30000, HOST_BASE + 0x32004, HOST_BASE + 0x34000,
                             HOST_BASE + 0x38000};
    const uint32_t len[4] = {4096, 12, 1028, 4};
    for (unsigned i = 0; i < 4; i++)
        desc(h, d[i], src[i], dst[i], i < 3 ? d[i + 1] : 0, OWN | len[i] | (i == 3 ? LAST : 0));
    memcpy(&before, h, sizeof(before));

    uint64_t c = kmrig_simsoc_cycles(m) + 4; /* after the two DESC writes */
    start(m, d[0]);
    assert_int_equal(rd(m, DMA(STATUS)) & KMRIG_DMA_STATUS_BUSY, KMRIG_DMA_STATUS_BUSY);
    assert_int_equal(kmrig_simsoc_next_event(m), 1);
    kmrig_simsoc_run_until_irq_change(m, 100000);
    assert_int_equal(kmrig_simsoc_irq(m), DMA_BIT);
    uint64_t expect = c + 1;
    for (unsigned i = 0; i < 4; i++)
        expect += 11 + 2 * (len[i] / 4);
    assert_int_equal(irq_ts(m), expect);

    uint32_t st = rd(m, DMA(STATUS));
    assert_int_equal(st, KMRIG_DMA_STATUS_DONE);
    assert_int_equal(rd(m, DMA(CTRL)), KMRIG_DMA_CTRL_IRQ_EN); /* RUN cleared */
    assert_int_equal(rd(m, DMA(BYTES)), 4096 + 12 + 1028 + 4);
    assert_int_equal(rd(m, DMA(DESCS)), 4);
    for (unsigned i = 0; i < 4; i++) {
        assert_memory_equal(&h->mem[dst[i] - HOST_BASE], &before.mem[src[i] - HOST_BASE], len[i]);
        /* nothing around the destination changed */
        assert_memory_equal(&h->mem[dst[i] - HOST_BASE - 4], &before.mem[dst[i] - HOST_BASE - 4],
                            4);
        assert_memory_equal(&h->mem[dst[i] - HOST_BASE + len[i]],
                            &before.mem[dst[i] - HOST_BASE + len[i]], 4);
        /* written back: OWN cleared, STATUS = DONE | bytes */
        assert_int_equal(get32(h, d[i] + KMRIG_DMADESC_CTRL), len[i] | (i == 3 ? LAST : 0));
        assert_int_equal(get32(h, d[i] + KMRIG_DMADESC_STATUS), KMRIG_DMADESC_STATUS_DONE | len[i]);
    }
    /* the source is untouched and nothing else in memory changed */
    for (unsigned i = 0; i < 4; i++) {
        memcpy(&before.mem[dst[i] - HOST_BASE], &h->mem[dst[i] - HOST_BASE], len[i]);
        memcpy(&before.mem[d[i] - HOST_BASE + KMRIG_DMADESC_CTRL],
               &h->mem[d[i] - HOST_BASE + KMRIG_DMADESC_CTRL], 8);
    }
    assert_memory_equal(before.mem, h->mem, HOST_SIZE);
    /* one handler call per word: 7 descriptor words, 2 per data word, 2 write-backs */
    unsigned words = (4096 + 12 + 1028 + 4) / 4;
    assert_int_equal(h->reads, 4 * 7 + words);
    assert_int_equal(h->writes, words + 4 * 2);
    struct kmrig_simsoc_stats stats;
    kmrig_simsoc_get_stats(m, &stats);
    assert_int_equal(stats.dma_cycles, h->reads + h->writes);
    assert_int_equal(stats.dma_errors, 0);

    /* DONE is write-1-to-clear; the interrupt goes with it; idle again */
    wr(m, DMA(STATUS), KMRIG_DMA_STATUS_DONE);
    assert_int_equal(rd(m, DMA(STATUS)), 0);
    kmrig_simsoc_run(m, 2);
    assert_int_equal(kmrig_simsoc_irq(m), 0);
    assert_int_equal(kmrig_simsoc_next_event(m), UINT32_MAX);
    kmrig_simsoc_destroy(m);
    free(h);
}

static void test_dma_port_wait_states_stretch_every_cycle(void **state)
{
    (void)state;
    /* with w wait states every DMA port cycle takes 1 + w edges: a copy descriptor of N words
     * takes (9 + 2N)(1 + w) + 2 edges instead of 11 + 2N */
    for (unsigned w = 0; w <= 5; w += 5) {
        kmrig_simsoc *m = NULL;
        struct host *h = host_new_wait(&m, w);
        const uint64_t d = HOST_BASE + 0x100;
        desc(h, d, HOST_BASE + 0x1000, HOST_BASE + 0x2000, 0, OWN | LAST | 256);
        uint64_t c = kmrig_simsoc_cycles(m) + 4;
        start(m, d);
        kmrig_simsoc_run_until_irq_change(m, 100000);
        assert_int_equal(irq_ts(m), c + 1 + (9 + 2 * 64) * (1 + w) + 2);
        assert_int_equal(rd(m, DMA(STATUS)), KMRIG_DMA_STATUS_DONE);
        assert_memory_equal(&h->mem[0x2000], &h->mem[0x1000], 256);
        assert_int_equal(h->reads + h->writes, 7 + 2 * 64 + 2); /* one call per cycle */
        kmrig_simsoc_destroy(m);
        free(h);
    }
}

static void test_dma_loopback_fifo(void **state)
{
    (void)state;
    kmrig_simsoc *m = NULL;
    struct host *h = host_new(&m);
    const uint64_t a = HOST_BASE + 0x4000, b = HOST_BASE + 0x9000, d = HOST_BASE + 0x200;
    /* memory -> FIFO (1 KiB, the whole FIFO) then FIFO -> memory in two halves */
    desc(h, d, a, 0, d + 0x20, OWN | OP(1) | 1024);
    desc(h, d + 0x20, 0, b, d + 0x40, OWN | OP(2) | 512 | DIRQ);
    desc(h, d + 0x40, 0, b + 512, 0, OWN | OP(2) | 512 | LAST);
    uint64_t c = kmrig_simsoc_cycles(m) + 4;
    start(m, d);
    kmrig_simsoc_run_until_irq_change(m, 100000);
    /* the first interrupt is the IRQ flag of descriptor 2 */
    assert_int_equal(irq_ts(m), c + 1 + (11 + 256) + (11 + 3 * 128));
    assert_true(rd(m, DMA(STATUS)) & KMRIG_DMA_STATUS_DESC_IRQ);
    kmrig_simsoc_run(m, 2000);
    uint32_t st = rd(m, DMA(STATUS));
    assert_int_equal(st, KMRIG_DMA_STATUS_DONE | KMRIG_DMA_STATUS_DESC_IRQ);
    assert_memory_equal(&h->mem[b - HOST_BASE], &h->mem[a - HOST_BASE], 1024);
    assert_int_equal(rd(m, DMA(FIFO_LEVEL)), 0);
    assert_int_equal(rd(m, DMA(BYTES)), 2048); /* in and out */
    wr(m, DMA(STATUS), 0xE);

    /* the FIFO keeps data between runs: 64 bytes in now, out with the next start */
    desc(h, d, a + 0x100, 0, 0, OWN | OP(1) | 64 | LAST);
    start(m, d);
    kmrig_simsoc_run(m, 200);
    assert_int_equal(rd(m, DMA(FIFO_LEVEL)), 16);
    desc(h, d, 0, b + 0x800, 0, OWN | OP(2) | 64 | LAST);
    wr(m, DMA(STATUS), 0xE);
    start(m, d);
    kmrig_simsoc_run(m, 300);
    assert_int_equal(rd(m, DMA(STATUS)), KMRIG_DMA_STATUS_DONE);
    assert_memory_equal(&h->mem[b + 0x800 - HOST_BASE], &h->mem[a + 0x100 - HOST_BASE], 64);

    /* overflow: 1 KiB + 4 does not fit; the 257th word is the error, at its source address */
    wr(m, DMA(STATUS), 0xE);
    desc(h, d, a, 0, 0, OWN | OP(1) | 1028 | LAST);
    start(m, d);
    kmrig_simsoc_run_until_irq_change(m, 100000);
    st = rd(m, DMA(STATUS));
    assert_int_equal(st & 0xF, KMRIG_DMA_STATUS_ERROR);
    assert_int_equal(err_code(st), E_OVER);
    assert_int_equal(rd(m, DMA(ERR_ADDR_LO)), (uint32_t)(a + 1024));
    assert_int_equal(rd(m, DMA(FIFO_LEVEL)), 256);
    /* CTRL.FIFO_RESET empties it; underflow: popping an empty FIFO */
    wr(m, DMA(CTRL), KMRIG_DMA_CTRL_FIFO_RESET);
    assert_int_equal(rd(m, DMA(FIFO_LEVEL)), 0);
    wr(m, DMA(STATUS), 0xE);
    desc(h, d, 0, b, 0, OWN | OP(2) | 8 | LAST);
    start(m, d);
    kmrig_simsoc_run(m, 100);
    st = rd(m, DMA(STATUS));
    assert_int_equal(err_code(st), E_UNDER);
    assert_int_equal(rd(m, DMA(ERR_ADDR_LO)), (uint32_t)b);
    kmrig_simsoc_destroy(m);
    free(h);
}

static void test_dma_refused_address_is_a_fault(void **state)
{
    (void)state;
    static const struct {
        const char *what;
        uint64_t refuse; /* 16 refused bytes from here */
        int writes_only;
        uint32_t code;
        uint64_t err_addr;
        uint32_t bytes;
    } cases[] = {
        {"source", HOST_BASE + 0x1000 + 40, 0, E_SRC, HOST_BASE + 0x1000 + 40, 40 + 256},
        {"destination", HOST_BASE + 0x6000 + 8, 0, E_DST, HOST_BASE + 0x6000 + 8, 256 + 8},
        {"descriptor", HOST_BASE + 0x308, 0, E_DESC, HOST_BASE + 0x308, 256},
        {"write-back", HOST_BASE + 0x318, 1, E_WB, HOST_BASE + 0x318, 256 + 64},
    };
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        kmrig_simsoc *m = NULL;
        struct host *h = host_new(&m);
        const uint64_t d = HOST_BASE + 0x300;
        /* a good descriptor, then one that touches the refused window */
        desc(h, d - 0x100, HOST_BASE + 0x2000, HOST_BASE + 0x5000, d, OWN | 256);
        desc(h, d, HOST_BASE + 0x1000, HOST_BASE + 0x6000, 0, OWN | LAST | 64);
        uint8_t before[64];
        memcpy(before, &h->mem[0x6000], 64);
        h->refuse_lo = cases[i].refuse;
        h->refuse_hi = cases[i].refuse + 16;
        h->refuse_writes_only = cases[i].writes_only;
        start(m, d - 0x100);
        kmrig_simsoc_run_until_irq_change(m, 100000);
        assert_int_equal(kmrig_simsoc_irq(m), DMA_BIT);
        uint32_t st = rd(m, DMA(STATUS));
        if ((st & 0xF) != KMRIG_DMA_STATUS_ERROR || err_code(st) != cases[i].code)
            fail_msg("%s: status 0x%x", cases[i].what, st);
        assert_int_equal(rd(m, DMA(ERR_ADDR_LO)), (uint32_t)cases[i].err_addr);
        assert_int_equal(rd(m, DMA(ERR_ADDR_HI)), (uint32_t)(cases[i].err_addr >> 32));
        assert_int_equal(rd(m, DMA(CTRL)) & KMRIG_DMA_CTRL_RUN, 0);
        assert_int_equal(rd(m, DMA(BYTES)), cases[i].bytes);
        assert_int_equal(rd(m, DMA(DESCS)), 1);
        assert_int_equal(h->refused, 1); /* the engine stopped at the first refusal */
        if (cases[i].code == E_SRC)      /* nothing was written past the failing word */
            assert_memory_equal(&h->mem[0x6000 + 40], &before[40], 24);
        struct kmrig_simsoc_stats stats;
        kmrig_simsoc_get_stats(m, &stats);
        assert_int_equal(stats.dma_errors, 1);
        /* ERROR is write-1-to-clear and drops the interrupt; the engine restarts */
        wr(m, DMA(STATUS), KMRIG_DMA_STATUS_ERROR);
        kmrig_simsoc_run(m, 2);
        assert_int_equal(kmrig_simsoc_irq(m), 0);
        h->refuse_lo = h->refuse_hi = 0;
        start(m, d);
        kmrig_simsoc_run(m, 500);
        assert_int_equal(rd(m, DMA(STATUS)), KMRIG_DMA_STATUS_DONE);
        assert_memory_equal(&h->mem[0x6000], &h->mem[0x1000], 64);
        kmrig_simsoc_destroy(m);
        free(h);
    }
}

static void test_dma_no_handler_faults(void **state)
{
    (void)state;
    kmrig_simsoc *m = NULL;
    assert_int_equal(kmrig_simsoc_open(NULL, &m), KMRIG_SIM_OK);
    wr(m, KMRIG_SOC_INTC_BASE + KMRIG_INTC_MASK, 0xFF & ~DMA_BIT);
    start(m, HOST_BASE);
    kmrig_simsoc_run_until_irq_change(m, 1000);
    uint32_t st = rd(m, DMA(STATUS));
    assert_int_equal(st & 0xF, KMRIG_DMA_STATUS_ERROR);
    assert_int_equal(err_code(st), E_DESC);
    assert_int_equal(rd(m, DMA(ERR_ADDR_HI)), (uint32_t)(HOST_BASE >> 32));
    kmrig_simsoc_destroy(m);
}

static void test_dma_ring_own_bit_stops_and_restarts(void **state)
{
    (void)state;
    kmrig_simsoc *m = NULL;
    struct host *h = host_new(&m);
    const uint64_t ring = HOST_BASE + 0x400;
    /* a ring of 4; the driver hands over 2 */
    for (unsigned i = 0; i < 4; i++)
        desc(h, ring + 0x20 * i, HOST_BASE + 0x10000 + 0x100 * i, HOST_BASE + 0x18000 + 0x100 * i,
             ring + 0x20 * ((i + 1) % 4), (i < 2 ? OWN : 0) | 0x100);
    start(m, ring);
    kmrig_simsoc_run_until_irq_change(m, 100000);
    assert_int_equal(rd(m, DMA(STATUS)), KMRIG_DMA_STATUS_DONE);
    assert_int_equal(rd(m, DMA(DESCS)), 2);
    /* stopped at the first descriptor it does not own, and points at it */
    assert_int_equal(rd(m, DMA(DESC_LO)), (uint32_t)(ring + 0x40));
    assert_int_equal(get32(h, ring + 0x40 + KMRIG_DMADESC_STATUS), 0xA5A5A5A5u);
    /* hand over the other two (and the first again): it runs round the ring */
    put32(h, ring + 0x40 + KMRIG_DMADESC_CTRL, OWN | 0x100);
    put32(h, ring + 0x60 + KMRIG_DMADESC_CTRL, OWN | 0x100);
    put32(h, ring + 0x00 + KMRIG_DMADESC_CTRL, OWN | 0x100 | DIRQ);
    wr(m, DMA(STATUS), KMRIG_DMA_STATUS_DONE);
    wr(m, DMA(CTRL), KMRIG_DMA_CTRL_RUN | KMRIG_DMA_CTRL_IRQ_EN); /* resume from DESC */
    kmrig_simsoc_run(m, 5000);
    assert_int_equal(rd(m, DMA(STATUS)), KMRIG_DMA_STATUS_DONE | KMRIG_DMA_STATUS_DESC_IRQ);
    assert_int_equal(rd(m, DMA(DESCS)), 3);
    assert_int_equal(rd(m, DMA(DESC_LO)), (uint32_t)(ring + 0x20));
    for (unsigned i = 0; i < 4; i++)
        assert_memory_equal(&h->mem[0x18000 + 0x100 * i], &h->mem[0x10000 + 0x100 * i], 0x100);
    kmrig_simsoc_destroy(m);
    free(h);
}

static void test_dma_misaligned_and_abort(void **state)
{
    (void)state;
    kmrig_simsoc *m = NULL;
    struct host *h = host_new(&m);
    const uint64_t d = HOST_BASE + 0x100;
    static const uint32_t bad[][3] = {{2, 0, 8}, {0, 1, 8}, {0, 0, 6}, {0, 0, 0}};
    for (unsigned i = 0; i < 4; i++) {
        desc(h, d, HOST_BASE + 0x1000 + bad[i][0], HOST_BASE + 0x2000 + bad[i][1], 0,
             OWN | LAST | bad[i][2] | (i == 3 ? OP(3) : 0));
        wr(m, DMA(STATUS), 0xE);
        start(m, d);
        kmrig_simsoc_run(m, 50);
        uint32_t st = rd(m, DMA(STATUS));
        assert_int_equal(st & 0xF, KMRIG_DMA_STATUS_ERROR);
        assert_int_equal(err_code(st), E_ALIGN);
        assert_int_equal(rd(m, DMA(ERR_ADDR_LO)), (uint32_t)d);
    }
    assert_int_equal(h->writes, 0);
    /* a zero-length descriptor only writes itself back */
    desc(h, d, 0, 0, 0, OWN | LAST);
    wr(m, DMA(STATUS), 0xE);
    start(m, d);
    kmrig_simsoc_run(m, 50);
    assert_int_equal(rd(m, DMA(STATUS)), KMRIG_DMA_STATUS_DONE);
    assert_int_equal(get32(h, d + KMRIG_DMADESC_STATUS), KMRIG_DMADESC_STATUS_DONE);
    /* abort: RUN = 0 stops after the bus cycle in flight, without DONE */
    desc(h, d, HOST_BASE + 0x1000, HOST_BASE + 0x20000, 0, OWN | LAST | 0x8000);
    wr(m, DMA(STATUS), 0xE);
    start(m, d);
    kmrig_simsoc_run(m, 1000);
    wr(m, DMA(CTRL), 0);
    kmrig_simsoc_run(m, 2);
    uint32_t st = rd(m, DMA(STATUS));
    assert_int_equal(st, 0);
    uint32_t bytes = rd(m, DMA(BYTES));
    assert_true(bytes > 0 && bytes < 0x8000);
    kmrig_simsoc_run(m, 1000);
    assert_int_equal(rd(m, DMA(BYTES)), bytes);
    assert_int_equal(kmrig_simsoc_next_event(m), UINT32_MAX);
    kmrig_simsoc_destroy(m);
    free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dma_registers_reset_and_rom_entry),
        cmocka_unit_test(test_dma_copy_chain_byte_for_byte),
        cmocka_unit_test(test_dma_port_wait_states_stretch_every_cycle),
        cmocka_unit_test(test_dma_loopback_fifo),
        cmocka_unit_test(test_dma_refused_address_is_a_fault),
        cmocka_unit_test(test_dma_no_handler_faults),
        cmocka_unit_test(test_dma_ring_own_bit_stops_and_restarts),
        cmocka_unit_test(test_dma_misaligned_and_abort),
    };
    return cmocka_run_group_tests_name("bridge_simsoc_dma", tests, NULL, NULL);
}

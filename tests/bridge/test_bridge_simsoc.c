/*
 * test_bridge_simsoc.c - the reference SoC (rtl/) on its Verilator model, through the C API of
 * kmrig/simsoc.h. Expected cycle numbers follow from the timing rules in docs/rtl.md:
 *   - an access started at cycle c is acknowledged by the edge to c + 1 (the slave samples its
 *     registers there, so a TS_LO read returns c) and returns at c + 2 (one idle edge);
 *   - a register write takes effect at edge c + 1;
 *   - a timer enabled at edge e expires at edge e + LOAD; its irq output rises there and the
 *     interrupt controller shows it one edge later, with timestamp e + LOAD.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <setjmp.h>
#include <cmocka.h>

#include <kmrig/simsoc.h>
#include <kmrig_soc_map.h>

#define MEM 0
#define IO 1

static kmrig_simsoc *sim_new(const struct kmrig_simsoc_config *cfg)
{
    kmrig_simsoc *m = NULL;
    assert_int_equal(kmrig_simsoc_open(cfg, &m), KMRIG_SIM_OK);
    assert_non_null(m);
    assert_int_equal(kmrig_simsoc_cycles(m), 0);
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

#define SYSID(r) (KMRIG_SOC_SYSID_BASE + KMRIG_SYSID_##r)
#define TIMER0(r) (KMRIG_SOC_TIMER0_BASE + KMRIG_TIMER_##r)
#define TIMER1(r) (KMRIG_SOC_TIMER1_BASE + KMRIG_TIMER_##r)
#define INTC(r) (KMRIG_SOC_INTC_BASE + KMRIG_INTC_##r)
#define INTC_TS_LO(n) (KMRIG_SOC_INTC_BASE + KMRIG_INTC_TS_LO0 + 8u * (n))
#define INTC_TS_HI(n) (KMRIG_SOC_INTC_BASE + KMRIG_INTC_TS_HI0 + 8u * (n))

static uint64_t intc_ts(kmrig_simsoc *m, unsigned line)
{
    uint64_t lo = rd(m, MEM, INTC_TS_LO(line), 4);
    return lo | (uint64_t)rd(m, MEM, INTC_TS_HI(line), 4) << 32;
}

static void test_simsoc_sysid_id_version_clock(void **state)
{
    (void)state;
    kmrig_simsoc *m = sim_new(NULL);
    assert_int_equal(kmrig_simsoc_clock_hz(m), 50000000);
    assert_int_equal(rd(m, MEM, SYSID(ID), 4), KMRIG_SOC_ID);
    assert_int_equal(rd(m, MEM, SYSID(ID), 4), 0x4B4D5247);
    assert_int_equal(rd(m, MEM, SYSID(VERSION), 4), KMRIG_SOC_VERSION);
    assert_int_equal(rd(m, MEM, SYSID(CLOCK_HZ), 4), KMRIG_SOC_CLOCK_HZ);
    /* byte and halfword lanes of a read-only word: little-endian "GRMK" */
    assert_int_equal(rd(m, MEM, SYSID(ID) + 0, 1), 0x47);
    assert_int_equal(rd(m, MEM, SYSID(ID) + 1, 1), 0x52);
    assert_int_equal(rd(m, MEM, SYSID(ID) + 2, 1), 0x4D);
    assert_int_equal(rd(m, MEM, SYSID(ID) + 3, 1), 0x4B);
    assert_int_equal(rd(m, MEM, SYSID(ID) + 0, 2), 0x5247);
    assert_int_equal(rd(m, MEM, SYSID(ID) + 2, 2), 0x4B4D);
    /* read-only: a write is acknowledged and ignored */
    wr(m, MEM, SYSID(ID), 4, 0);
    assert_int_equal(rd(m, MEM, SYSID(ID), 4), KMRIG_SOC_ID);
    kmrig_simsoc_destroy(m);
}

static void test_simsoc_scratch_byte_lanes(void **state)
{
    (void)state;
    kmrig_simsoc *m = sim_new(NULL);
    assert_int_equal(rd(m, MEM, SYSID(SCRATCH), 4), 0);
    wr(m, MEM, SYSID(SCRATCH), 4, 0x11223344);
    assert_int_equal(rd(m, MEM, SYSID(SCRATCH), 4), 0x11223344);
    wr(m, MEM, SYSID(SCRATCH) + 1, 1, 0xAA); /* sel 0010, data[15:8] */
    assert_int_equal(rd(m, MEM, SYSID(SCRATCH), 4), 0x1122AA44);
    wr(m, MEM, SYSID(SCRATCH) + 2, 2, 0xBEEF); /* sel 1100 */
    assert_int_equal(rd(m, MEM, SYSID(SCRATCH), 4), 0xBEEFAA44);
    wr(m, MEM, SYSID(SCRATCH) + 0, 1, 0x1FF); /* bits above the access size are dropped */
    assert_int_equal(rd(m, MEM, SYSID(SCRATCH), 4), 0xBEEFAAFF);
    assert_int_equal(rd(m, MEM, SYSID(SCRATCH) + 3, 1), 0xBE);
    assert_int_equal(rd(m, MEM, SYSID(SCRATCH) + 1, 1), 0xAA);
    assert_int_equal(rd(m, MEM, SYSID(SCRATCH) + 0, 2), 0xAAFF);
    assert_int_equal(rd(m, MEM, SYSID(SCRATCH) + 2, 2), 0xBEEF);
    kmrig_simsoc_destroy(m);
}

static void test_simsoc_bad_access_einval(void **state)
{
    (void)state;
    kmrig_simsoc *m = sim_new(NULL);
    uint32_t v = 1;
    assert_int_equal(kmrig_simsoc_read(m, MEM, SYSID(SCRATCH) + 1, 2, &v), KMRIG_SIM_EINVAL);
    assert_int_equal(kmrig_simsoc_read(m, MEM, SYSID(SCRATCH) + 2, 4, &v), KMRIG_SIM_EINVAL);
    assert_int_equal(kmrig_simsoc_read(m, MEM, SYSID(SCRATCH), 3, &v), KMRIG_SIM_EINVAL);
    assert_int_equal(kmrig_simsoc_write(m, MEM, SYSID(SCRATCH), 8, 0), KMRIG_SIM_EINVAL);
    assert_int_equal(kmrig_simsoc_read(m, IO, 0x10000, 1, &v), KMRIG_SIM_EINVAL);
    assert_int_equal(kmrig_simsoc_read(m, IO, 0x10000, 4, &v), KMRIG_SIM_EINVAL);
    assert_int_equal(v, 0);
    assert_int_equal(kmrig_simsoc_cycles(m), 0); /* rejected before the bus */
    kmrig_simsoc_destroy(m);
}

static void test_simsoc_unmapped_bus_error(void **state)
{
    (void)state;
    kmrig_simsoc *m = sim_new(NULL);
    uint32_t v = 1;
    assert_int_equal(kmrig_simsoc_read(m, MEM, 0x00006000, 4, &v), KMRIG_SIM_EBUS);
    assert_int_equal(v, 0);
    assert_int_equal(kmrig_simsoc_write(m, MEM, 0x80000000, 4, 1), KMRIG_SIM_EBUS);
    assert_int_equal(kmrig_simsoc_read(m, IO, 0x2F8, 1, &v), KMRIG_SIM_EBUS);
    /* the address space bit matters: timer1 is in port space, timer0 in memory space */
    assert_int_equal(kmrig_simsoc_read(m, MEM, KMRIG_SOC_TIMER1_BASE, 4, &v), KMRIG_SIM_EBUS);
    assert_int_equal(kmrig_simsoc_read(m, IO, KMRIG_SOC_TIMER0_BASE, 4, &v), KMRIG_SIM_EBUS);
    assert_int_equal(kmrig_simsoc_read(m, IO, KMRIG_SOC_ROM_BASE, 4, &v), KMRIG_SIM_EBUS);
    /* an error costs what an access costs, and the bus works afterwards */
    assert_int_equal(kmrig_simsoc_cycles(m), 6 * 2);
    assert_int_equal(rd(m, MEM, SYSID(ID), 4), KMRIG_SOC_ID);
    struct kmrig_simsoc_stats st;
    kmrig_simsoc_get_stats(m, &st);
    assert_int_equal(st.bus_cycles, 7);
    assert_int_equal(st.bus_errors, 6);
    kmrig_simsoc_destroy(m);
}

static void test_simsoc_access_cost_and_idle_gap(void **state)
{
    (void)state;
    for (unsigned gap = 0; gap <= 5; gap += 5) {
        struct kmrig_simsoc_config cfg;
        kmrig_simsoc_config_init(&cfg);
        cfg.idle_gap = gap;
        kmrig_simsoc *m = sim_new(&cfg);
        rd(m, MEM, SYSID(ID), 4); /* first access: no earlier cycle to keep a gap after */
        assert_int_equal(kmrig_simsoc_cycles(m), 2);
        rd(m, MEM, SYSID(ID), 4);
        assert_int_equal(kmrig_simsoc_cycles(m), 2 + 2 + gap);
        wr(m, MEM, SYSID(SCRATCH), 4, 7);
        assert_int_equal(kmrig_simsoc_cycles(m), 2 + 2 * (2 + gap));
        /* a gap that has elapsed while the bus was idle costs nothing */
        kmrig_simsoc_run(m, 100);
        uint64_t c = kmrig_simsoc_cycles(m);
        assert_int_equal(rd(m, MEM, SYSID(TS_LO), 4), c);
        assert_int_equal(kmrig_simsoc_cycles(m), c + 2);
        kmrig_simsoc_destroy(m);
    }
}

static void test_simsoc_timestamp_latch(void **state)
{
    (void)state;
    kmrig_simsoc *m = sim_new(NULL);
    kmrig_simsoc_run(m, 10);
    assert_int_equal(rd(m, MEM, SYSID(TS_LO), 4), 10);
    assert_int_equal(rd(m, MEM, SYSID(TS_HI), 4), 0);
    /* cross the 32-bit boundary (idle: skipped in a few evaluations) */
    kmrig_simsoc_run(m, 0x100000000ull);
    uint64_t c = kmrig_simsoc_cycles(m);
    assert_int_equal(c, 0x100000000ull + 14);
    uint32_t lo = rd(m, MEM, SYSID(TS_LO), 4);
    kmrig_simsoc_run(m, 0x100000000ull); /* HI stays as latched by the LO read */
    uint32_t hi = rd(m, MEM, SYSID(TS_HI), 4);
    assert_int_equal(((uint64_t)hi << 32) | lo, c);
    struct kmrig_simsoc_stats st;
    kmrig_simsoc_get_stats(m, &st);
    assert_true(st.edges < 100);
    assert_int_equal(st.skipped_cycles + st.edges, kmrig_simsoc_cycles(m));
    kmrig_simsoc_destroy(m);
}

static void test_simsoc_timer_oneshot_exact_cycle(void **state)
{
    (void)state;
    kmrig_simsoc *m = sim_new(NULL);
    wr(m, MEM, INTC(MASK), 4, 0xFF & ~(1u << KMRIG_SOC_TIMER0_IRQ));
    wr(m, MEM, TIMER0(LOAD), 4, 100);
    kmrig_simsoc_run(m, 33);
    uint64_t c = kmrig_simsoc_cycles(m);
    wr(m, MEM, TIMER0(CTRL), 4, KMRIG_TIMER_CTRL_EN | KMRIG_TIMER_CTRL_IRQ_EN);
    uint64_t enable_edge = c + 1;
    assert_int_equal(kmrig_simsoc_next_event(m), 100 - 1);
    assert_int_equal(rd(m, MEM, TIMER0(COUNT), 4), 100 - 1); /* as after edge c + 2 */

    assert_int_equal(kmrig_simsoc_irq(m), 0);
    uint64_t n = kmrig_simsoc_run_until_irq_change(m, 1000);
    assert_int_equal(kmrig_simsoc_cycles(m), enable_edge + 100 + 1);
    assert_int_equal(n, enable_edge + 100 + 1 - (c + 4));
    assert_int_equal(kmrig_simsoc_irq(m), 1u << KMRIG_SOC_TIMER0_IRQ);
    assert_int_equal(intc_ts(m, KMRIG_SOC_TIMER0_IRQ), enable_edge + 100);

    /* one-shot: EN cleared, COUNT 0, pending until written 1 */
    assert_int_equal(rd(m, MEM, TIMER0(CTRL), 4), KMRIG_TIMER_CTRL_IRQ_EN);
    assert_int_equal(rd(m, MEM, TIMER0(COUNT), 4), 0);
    assert_int_equal(rd(m, MEM, TIMER0(STATUS), 4), KMRIG_TIMER_STATUS_PENDING);
    assert_int_equal(kmrig_simsoc_next_event(m), UINT32_MAX);
    wr(m, MEM, TIMER0(STATUS), 4, 0); /* writing 0 does not clear */
    assert_int_equal(kmrig_simsoc_irq(m), 1u << KMRIG_SOC_TIMER0_IRQ);
    wr(m, MEM, TIMER0(STATUS), 4, KMRIG_TIMER_STATUS_PENDING);
    assert_int_equal(rd(m, MEM, TIMER0(STATUS), 4), 0);
    assert_int_equal(kmrig_simsoc_irq(m), 0);
    /* and it stays quiet */
    assert_int_equal(kmrig_simsoc_run_until_irq_change(m, 1000000), 1000000);
    assert_int_equal(kmrig_simsoc_irq(m), 0);
    kmrig_simsoc_destroy(m);
}

static void test_simsoc_timer_periodic_exact_cycles(void **state)
{
    (void)state;
    const uint32_t period = 50;
    kmrig_simsoc *m = sim_new(NULL);
    wr(m, MEM, INTC(MASK), 4, 0xFE);
    wr(m, MEM, TIMER0(LOAD), 4, period);
    uint64_t c = kmrig_simsoc_cycles(m);
    wr(m, MEM, TIMER0(CTRL), 4,
       KMRIG_TIMER_CTRL_EN | KMRIG_TIMER_CTRL_PERIODIC | KMRIG_TIMER_CTRL_IRQ_EN);
    uint64_t enable_edge = c + 1;
    for (unsigned k = 1; k <= 5; k++) {
        kmrig_simsoc_run_until_irq_change(m, 10 * period);
        assert_int_equal(kmrig_simsoc_irq(m), 1);
        assert_int_equal(kmrig_simsoc_cycles(m), enable_edge + k * period + 1);
        assert_int_equal(intc_ts(m, 0), enable_edge + k * period);
        wr(m, MEM, TIMER0(STATUS), 1, KMRIG_TIMER_STATUS_PENDING);
        assert_int_equal(kmrig_simsoc_irq(m), 0);
    }
    assert_int_equal(rd(m, MEM, TIMER0(CTRL), 4), 7); /* periodic keeps EN */
    /* disabling stops the count where it is; re-enabling reloads LOAD */
    wr(m, MEM, TIMER0(CTRL), 4, 0);
    uint32_t held = rd(m, MEM, TIMER0(COUNT), 4);
    kmrig_simsoc_run(m, 1000);
    assert_int_equal(rd(m, MEM, TIMER0(COUNT), 4), held);
    assert_int_equal(kmrig_simsoc_irq(m), 0);
    kmrig_simsoc_destroy(m);
}

static void test_simsoc_timer1_in_io_space(void **state)
{
    (void)state;
    kmrig_simsoc *m = sim_new(NULL);
    wr(m, MEM, INTC(MASK), 1, 0xFF & ~(1u << KMRIG_SOC_TIMER1_IRQ));
    wr(m, IO, TIMER1(LOAD), 2, 0x1234);   /* 16-bit port write, bits 15:0 */
    wr(m, IO, TIMER1(LOAD) + 2, 1, 0x01); /* 8-bit port write, bits 23:16 */
    assert_int_equal(rd(m, IO, TIMER1(LOAD), 4), 0x011234);
    uint64_t c = kmrig_simsoc_cycles(m);
    wr(m, IO, TIMER1(CTRL), 1, KMRIG_TIMER_CTRL_EN | KMRIG_TIMER_CTRL_IRQ_EN);
    kmrig_simsoc_run_until_irq_change(m, 0x20000);
    assert_int_equal(kmrig_simsoc_irq(m), 1u << KMRIG_SOC_TIMER1_IRQ);
    assert_int_equal(kmrig_simsoc_cycles(m), c + 1 + 0x011234 + 1);
    /* memory-space timer0 untouched */
    assert_int_equal(rd(m, MEM, TIMER0(STATUS), 4), 0);
    kmrig_simsoc_destroy(m);
}

static void test_simsoc_intc_mask_level_edge_eoi_timestamp(void **state)
{
    (void)state;
    const unsigned line = KMRIG_SOC_IRQ_EXT_FIRST; /* an external line */
    const uint32_t bit = 1u << line;
    kmrig_simsoc *m = sim_new(NULL);
    assert_int_equal(rd(m, MEM, INTC(NLINES), 4), KMRIG_SOC_IRQ_LINES);
    assert_int_equal(rd(m, MEM, INTC(MASK), 4), 0xFF); /* all masked at reset */
    assert_int_equal(rd(m, MEM, INTC(MODE), 4), 0);    /* all level at reset */

    /* level, masked: pending but not active */
    kmrig_simsoc_run(m, 10);
    uint64_t t = kmrig_simsoc_cycles(m);
    kmrig_simsoc_set_irq_ext(m, bit | 0x3); /* bits 0..1 are internal lines: ignored */
    assert_int_equal(kmrig_simsoc_next_event(m), 1);
    kmrig_simsoc_run(m, 1);
    assert_int_equal(rd(m, MEM, INTC(RAW), 4), bit);
    assert_int_equal(rd(m, MEM, INTC(PENDING), 4), bit);
    assert_int_equal(rd(m, MEM, INTC(ACTIVE), 4), 0);
    assert_int_equal(kmrig_simsoc_irq(m), 0);
    assert_int_equal(intc_ts(m, line), t);
    /* unmask: active */
    wr(m, MEM, INTC(MASK), 4, 0xFF & ~bit);
    assert_int_equal(kmrig_simsoc_irq(m), bit);
    assert_int_equal(rd(m, MEM, INTC(ACTIVE), 4), bit);
    /* level: EOI does nothing, dropping the input clears it one edge later */
    wr(m, MEM, INTC(EOI), 4, bit);
    assert_int_equal(kmrig_simsoc_irq(m), bit);
    kmrig_simsoc_set_irq_ext(m, 0);
    assert_int_equal(kmrig_simsoc_run_until_irq_change(m, 100), 1);
    assert_int_equal(kmrig_simsoc_irq(m), 0);

    /* edge: latched after the input drops, until EOI */
    wr(m, MEM, INTC(MODE), 4, bit);
    kmrig_simsoc_run(m, 1000);
    t = kmrig_simsoc_cycles(m);
    kmrig_simsoc_set_irq_ext(m, bit);
    assert_int_equal(kmrig_simsoc_run_until_irq_change(m, 100), 1);
    assert_int_equal(kmrig_simsoc_irq(m), bit);
    kmrig_simsoc_set_irq_ext(m, 0);
    kmrig_simsoc_run(m, 50);
    assert_int_equal(kmrig_simsoc_irq(m), bit);
    assert_int_equal(rd(m, MEM, INTC(RAW), 4), 0);
    assert_int_equal(intc_ts(m, line), t);
    wr(m, MEM, INTC(EOI), 4, bit << 1); /* EOI of another line leaves it */
    assert_int_equal(kmrig_simsoc_irq(m), bit);
    wr(m, MEM, INTC(EOI), 1, bit);
    assert_int_equal(kmrig_simsoc_irq(m), 0);
    assert_int_equal(rd(m, MEM, INTC(PENDING), 4), 0);
    assert_int_equal(rd(m, MEM, INTC(EOI), 4), 0);

    /* an edge while masked is latched, and shows when unmasked */
    wr(m, MEM, INTC(MASK), 4, 0xFF);
    t = kmrig_simsoc_cycles(m);
    kmrig_simsoc_set_irq_ext(m, bit);
    kmrig_simsoc_run(m, 1);
    kmrig_simsoc_set_irq_ext(m, 0);
    kmrig_simsoc_run(m, 1);
    assert_int_equal(kmrig_simsoc_irq(m), 0);
    assert_int_equal(rd(m, MEM, INTC(PENDING), 4), bit);
    wr(m, MEM, INTC(MASK), 4, 0xFF & ~bit);
    assert_int_equal(kmrig_simsoc_irq(m), bit);
    assert_int_equal(intc_ts(m, line), t);
    /* other lines never rose */
    assert_int_equal(intc_ts(m, line + 1), 0);
    assert_int_equal(intc_ts(m, 7), 0);
    kmrig_simsoc_destroy(m);
}

static void test_simsoc_enum_rom_matches_header(void **state)
{
    (void)state;
    kmrig_simsoc *m = sim_new(NULL);
    uint32_t rom[KMRIG_SOC_ROM_SIZE / 4];
    uint32_t sum = 0;
    for (unsigned i = 0; i < KMRIG_SOC_ROM_SIZE / 4; i++)
        rom[i] = rd(m, MEM, KMRIG_SOC_ROM_BASE + 4 * i, 4);
    for (unsigned i = 0; i < KMRIG_SOC_ROM_WORDS; i++) {
        assert_int_equal(rom[i], kmrig_soc_rom_expected[i]);
        sum += rom[i];
    }
    for (unsigned i = KMRIG_SOC_ROM_WORDS; i < KMRIG_SOC_ROM_SIZE / 4; i++)
        assert_int_equal(rom[i], 0);
    assert_int_equal(sum, 0);

    /* decode it as a host would */
    assert_int_equal(rom[KMRIG_ROM_HDR_MAGIC / 4], KMRIG_ROM_MAGIC);
    uint32_t info = rom[KMRIG_ROM_HDR_INFO / 4];
    assert_int_equal(info & 0xFF, KMRIG_ROM_LAYOUT);
    assert_int_equal((info >> 16) & 0xFF, KMRIG_ROM_ENTRY_BYTES);
    assert_int_equal(info >> 24, KMRIG_SOC_IRQ_LINES);
    assert_int_equal(rom[KMRIG_ROM_HDR_VERSION / 4], KMRIG_SOC_VERSION);
    static const struct {
        const char *hwid;
        uint32_t base, size;
        int io, irq;
    } want[] = {
        {"KMRIG\\SYSID", KMRIG_SOC_SYSID_BASE, KMRIG_SOC_SYSID_SIZE, KMRIG_SOC_SYSID_IO,
         KMRIG_SOC_SYSID_IRQ},
        {"KMRIG\\TIMER", KMRIG_SOC_TIMER0_BASE, KMRIG_SOC_TIMER0_SIZE, KMRIG_SOC_TIMER0_IO,
         KMRIG_SOC_TIMER0_IRQ},
        {"KMRIG\\TIMER", KMRIG_SOC_TIMER1_BASE, KMRIG_SOC_TIMER1_SIZE, KMRIG_SOC_TIMER1_IO,
         KMRIG_SOC_TIMER1_IRQ},
        {"*PNP0501", KMRIG_SOC_UART0_BASE, KMRIG_SOC_UART0_SIZE, KMRIG_SOC_UART0_IO,
         KMRIG_SOC_UART0_IRQ},
        {"KMRIG\\SGDMA", KMRIG_SOC_DMA0_BASE, KMRIG_SOC_DMA0_SIZE, KMRIG_SOC_DMA0_IO,
         KMRIG_SOC_DMA0_IRQ},
        {"KMRIG\\SYSDMA", KMRIG_SOC_SYSDMA_BASE, KMRIG_SOC_SYSDMA_SIZE, KMRIG_SOC_SYSDMA_IO,
         KMRIG_SOC_SYSDMA_IRQ},
        {"KMRIG\\INTC", KMRIG_SOC_INTC_BASE, KMRIG_SOC_INTC_SIZE, KMRIG_SOC_INTC_IO,
         KMRIG_SOC_INTC_IRQ},
    };
    unsigned count = (info >> 8) & 0xFF;
    assert_int_equal(count, sizeof(want) / sizeof(want[0]));
    for (unsigned e = 0; e < count; e++) {
        uint32_t off = KMRIG_ROM_HDR_BYTES + e * KMRIG_ROM_ENTRY_BYTES;
        const uint32_t *ent = &rom[off / 4];
        uint32_t flags = ent[KMRIG_ROM_ENT_FLAGS / 4];
        assert_int_equal(ent[KMRIG_ROM_ENT_ID / 4] >> 16, 0x4B4D);
        assert_int_equal(ent[KMRIG_ROM_ENT_BASE / 4], want[e].base);
        assert_int_equal(ent[KMRIG_ROM_ENT_SIZE / 4], want[e].size);
        assert_int_equal(!!(flags & KMRIG_ROM_FLAG_IO), want[e].io);
        assert_int_equal(!!(flags & KMRIG_ROM_FLAG_DMA), want[e].base == KMRIG_SOC_DMA0_BASE ||
                                                             want[e].base == KMRIG_SOC_SYSDMA_BASE);
        if (want[e].irq < 0) {
            assert_int_equal(flags & KMRIG_ROM_FLAG_IRQ, 0);
        } else {
            assert_true(flags & KMRIG_ROM_FLAG_IRQ);
            assert_int_equal((flags >> 8) & 0xFF, want[e].irq);
        }
        char name[KMRIG_ROM_NAME_BYTES + 1] = {0};
        for (unsigned b = 0; b < KMRIG_ROM_NAME_BYTES; b++) /* byte reads, byte lanes */
            name[b] = (char)rd(m, MEM, KMRIG_SOC_ROM_BASE + off + KMRIG_ROM_ENT_NAME + b, 1);
        assert_string_equal(name, want[e].hwid);
    }
    /* the two timers are instances 0 and 1 of one hardware ID */
    assert_int_equal((rom[(KMRIG_ROM_HDR_BYTES + 1 * KMRIG_ROM_ENTRY_BYTES + 4) / 4] >> 16) & 0xFF,
                     0);
    assert_int_equal((rom[(KMRIG_ROM_HDR_BYTES + 2 * KMRIG_ROM_ENTRY_BYTES + 4) / 4] >> 16) & 0xFF,
                     1);
    kmrig_simsoc_destroy(m);
}

/* A scenario touching every peripheral; records (cycle, value) pairs into trace. */
struct trace {
    uint64_t v[512];
    unsigned n;
};

static void put(struct trace *t, uint64_t v)
{
    assert_true(t->n < sizeof(t->v) / sizeof(t->v[0]));
    t->v[t->n++] = v;
}

static void scenario(kmrig_simsoc *m, struct trace *t)
{
    const uint32_t ext = 1u << KMRIG_SOC_IRQ_EXT_FIRST;
    wr(m, MEM, INTC(MASK), 4, 0x00);
    wr(m, MEM, INTC(MODE), 4, 0x01 | ext); /* line 0 and the first external line edge */
    wr(m, MEM, TIMER0(LOAD), 4, 997);
    wr(m, MEM, TIMER0(CTRL), 4, 7);
    wr(m, IO, TIMER1(LOAD), 4, 12345);
    wr(m, IO, TIMER1(CTRL), 4, 5);
    for (unsigned i = 0; i < 40; i++) {
        put(t, kmrig_simsoc_run_until_irq_change(m, 3000));
        put(t, kmrig_simsoc_cycles(m));
        put(t, kmrig_simsoc_irq(m));
        put(t, rd(m, MEM, TIMER0(COUNT), 4));
        put(t, rd(m, IO, TIMER1(COUNT), 4));
        put(t, intc_ts(m, 0));
        put(t, intc_ts(m, 1));
        if (i == 7)
            kmrig_simsoc_set_irq_ext(m, ext);
        if (i == 9)
            kmrig_simsoc_set_irq_ext(m, 0);
        uint32_t active = rd(m, MEM, INTC(ACTIVE), 4);
        if (active & 1) {
            wr(m, MEM, TIMER0(STATUS), 4, 1);
            wr(m, MEM, INTC(EOI), 4, 1);
        }
        if (active & 2)
            wr(m, IO, TIMER1(STATUS), 4, 1);
        if (active & ext)
            wr(m, MEM, INTC(EOI), 4, ext);
        kmrig_simsoc_run(m, 100 + 37 * i);
    }
    uint32_t lo = rd(m, MEM, SYSID(TS_LO), 4);
    put(t, lo | (uint64_t)rd(m, MEM, SYSID(TS_HI), 4) << 32);
    put(t, kmrig_simsoc_cycles(m));
}

static void test_simsoc_run_skipping_matches_stepping(void **state)
{
    (void)state;
    static struct trace skip, step;
    struct kmrig_simsoc_config cfg;
    kmrig_simsoc_config_init(&cfg);
    kmrig_simsoc *a = sim_new(&cfg);
    cfg.no_skip = 1;
    kmrig_simsoc *b = sim_new(&cfg);
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
    assert_int_equal(sb.skipped_cycles, 0);
    assert_int_equal(sb.edges, kmrig_simsoc_cycles(b));
    assert_true(sa.skipped_cycles > 0);
    assert_true(sa.edges * 4 < sb.edges); /* it really skipped */
    kmrig_simsoc_destroy(a);
    kmrig_simsoc_destroy(b);
}

static void test_simsoc_deterministic_with_and_without_waves(void **state)
{
    (void)state;
    static struct trace t1, t2, t3;
    char path[] = "/tmp/kmrig_simsoc_waves_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    memset(&t1, 0, sizeof(t1));
    memset(&t2, 0, sizeof(t2));
    memset(&t3, 0, sizeof(t3));

    kmrig_simsoc *m = sim_new(NULL);
    scenario(m, &t1);
    kmrig_simsoc_destroy(m);
    m = sim_new(NULL);
    scenario(m, &t2);
    kmrig_simsoc_destroy(m);
    struct kmrig_simsoc_config cfg;
    kmrig_simsoc_config_init(&cfg);
    cfg.waves_path = path;
    m = sim_new(&cfg);
    scenario(m, &t3);
    kmrig_simsoc_destroy(m);

    assert_int_equal(t1.n, t2.n);
    assert_memory_equal(t1.v, t2.v, t1.n * sizeof(t1.v[0]));
    assert_int_equal(t1.n, t3.n);
    assert_memory_equal(t1.v, t3.v, t1.n * sizeof(t1.v[0]));

    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fclose(f);
    unlink(path);
    assert_true(size > 1000);

    cfg.waves_path = "/nonexistent-dir/waves.fst";
    kmrig_simsoc *bad = (kmrig_simsoc *)1;
    assert_int_equal(kmrig_simsoc_open(&cfg, &bad), KMRIG_SIM_EIO);
    assert_null(bad);
}

static void test_simsoc_two_models_are_independent(void **state)
{
    (void)state;
    kmrig_simsoc *a = sim_new(NULL);
    kmrig_simsoc *b = sim_new(NULL);
    wr(a, MEM, SYSID(SCRATCH), 4, 0xAAAA5555);
    kmrig_simsoc_run(b, 1000);
    assert_int_equal(rd(b, MEM, SYSID(SCRATCH), 4), 0);
    assert_int_equal(rd(a, MEM, SYSID(SCRATCH), 4), 0xAAAA5555);
    assert_int_equal(kmrig_simsoc_cycles(a), 4);
    assert_int_equal(kmrig_simsoc_cycles(b), 1002);
    kmrig_simsoc_destroy(b);
    assert_int_equal(rd(a, MEM, SYSID(TS_LO), 4), 4);
    kmrig_simsoc_destroy(a);
    kmrig_simsoc_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simsoc_sysid_id_version_clock),
        cmocka_unit_test(test_simsoc_scratch_byte_lanes),
        cmocka_unit_test(test_simsoc_bad_access_einval),
        cmocka_unit_test(test_simsoc_unmapped_bus_error),
        cmocka_unit_test(test_simsoc_access_cost_and_idle_gap),
        cmocka_unit_test(test_simsoc_timestamp_latch),
        cmocka_unit_test(test_simsoc_timer_oneshot_exact_cycle),
        cmocka_unit_test(test_simsoc_timer_periodic_exact_cycles),
        cmocka_unit_test(test_simsoc_timer1_in_io_space),
        cmocka_unit_test(test_simsoc_intc_mask_level_edge_eoi_timestamp),
        cmocka_unit_test(test_simsoc_enum_rom_matches_header),
        cmocka_unit_test(test_simsoc_run_skipping_matches_stepping),
        cmocka_unit_test(test_simsoc_deterministic_with_and_without_waves),
        cmocka_unit_test(test_simsoc_two_models_are_independent),
    };
    return cmocka_run_group_tests_name("bridge_simsoc", tests, NULL, NULL);
}

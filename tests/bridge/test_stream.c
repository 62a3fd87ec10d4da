/*
 * test_stream.c - the stream engine (bridge/link/stream.c, docs/protocol.md section 16) against
 * the bridge RTL: the reference SoC's Verilator model behind the model pipe (paced to wall time),
 * opened as the wall-time target "sim:fidelity=stream" exactly as a board over USB would be. Reads,
 * posted writes, RMW, interrupt events with device timestamps, device DMA both ways, the hello
 * check, fault injection (dropped, corrupted, duplicated bytes: detected, recovered or
 * reported), and a cut pipe (EGONE for everyone, at once).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include <kmrig/link.h>
#include <kmrig/link_sim.h>
#include <kmrig/link_stream.h>
#include <kmrig_soc_map.h>

#define MEM KMRIG_SPACE_MEM
#define IO KMRIG_SPACE_IO
#define SCRATCH (KMRIG_SOC_SYSID_BASE + KMRIG_SYSID_SCRATCH)
#define TIMER0 KMRIG_SOC_TIMER0_BASE
#define DMA0 KMRIG_SOC_DMA0_BASE

static uint64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000u + (uint64_t)t.tv_nsec / 1000000u;
}

static struct kmrig_link *open_uri(const char *uri)
{
    struct kmrig_link *l = NULL;
    char err[256];
    int rc = kmrig_link_open(uri, &l, err, sizeof err);
    if (rc != KMRIG_LINK_OK)
        fail_msg("open %s: %s (%s)", uri, kmrig_link_strerror(rc), err);
    return l;
}

static uint32_t rd(struct kmrig_link *l, unsigned space, uint32_t addr, unsigned size)
{
    uint32_t v = 0;
    uint64_t ts;
    int rc = kmrig_link_read(l, space, addr, size, &v, &ts);
    if (rc != KMRIG_LINK_OK)
        fail_msg("read 0x%x: %s", (unsigned)addr, kmrig_link_strerror(rc));
    return v;
}

static void wr(struct kmrig_link *l, unsigned space, uint32_t addr, unsigned size, uint32_t v)
{
    uint64_t ts;
    int rc = kmrig_link_write(l, space, addr, size, v, &ts);
    if (rc != KMRIG_LINK_OK)
        fail_msg("write 0x%x: %s", (unsigned)addr, kmrig_link_strerror(rc));
}

/* ---- events ------------------------------------------------------------------------------ */

struct events {
    atomic_int irq, gone;
};

static void on_event(void *ctx, struct kmrig_link *link, enum kmrig_link_event ev)
{
    struct events *e = ctx;
    (void)link;
    if (ev == KMRIG_LINK_EV_IRQ)
        atomic_fetch_add(&e->irq, 1);
    else if (ev == KMRIG_LINK_EV_GONE)
        atomic_fetch_add(&e->gone, 1);
}

/* ---- tests ------------------------------------------------------------------------------- */

static void test_stream_open_describes_a_wall_time_target(void **state)
{
    (void)state;
    struct kmrig_link *l = open_uri("sim:fidelity=stream");
    const struct kmrig_link_info *i = kmrig_link_get_info(l);
    assert_int_equal(i->virtual_time, 0);
    assert_int_equal(i->clock_hz, KMRIG_SOC_CLOCK_HZ);
    assert_int_equal(i->irq_lines, KMRIG_SOC_IRQ_LINES);
    assert_int_equal(i->soc_id, KMRIG_SOC_ID);
    assert_int_equal(i->soc_version, KMRIG_SOC_VERSION);
    /* the pipe's description whole, after the clock in MHz (it used to be cut at 24 chars) */
    assert_non_null(strstr(i->description, "@ 50 MHz over model bridge PHY (paced to wall time)"));
    assert_int_equal(kmrig_link_now(l), 0);
    assert_null(kmrig_link_sim_model(l)); /* the reader thread owns the model */
    struct kmrig_stream_stats st;
    assert_int_equal(kmrig_link_stream_stats(l, &st), KMRIG_LINK_OK);
    assert_true(st.frames_tx >= 2 && st.frames_rx >= 2); /* HELLO, IRQ_QUERY and answers */
    kmrig_link_close(l);
    /* a link that is not a stream link has no engine statistics */
    l = open_uri("loop");
    assert_int_equal(kmrig_link_stream_stats(l, &st), KMRIG_LINK_ENOTSUP);
    kmrig_link_close(l);
}

static void test_stream_open_refuses_bad_arguments(void **state)
{
    (void)state;
    struct kmrig_link *l = NULL;
    char err[256];
    assert_int_equal(kmrig_link_open("sim:fidelity=stream,retries=x", &l, err, sizeof err),
                     KMRIG_LINK_EINVAL);
    assert_null(l);
    assert_non_null(strstr(err, "retries"));
    assert_int_equal(kmrig_link_open("sim:fidelity=stream,fault_drop=2000000", &l, err, sizeof err),
                     KMRIG_LINK_EINVAL);
    /* engine arguments need fidelity=stream */
    assert_int_equal(kmrig_link_open("sim:crc", &l, err, sizeof err), KMRIG_LINK_EINVAL);
}

static void test_stream_open_refuses_other_gateware(void **state)
{
    (void)state;
    struct kmrig_link *l = NULL;
    char err[512];
    /* a host built for another SoC */
    assert_int_equal(
        kmrig_link_open("sim:fidelity=stream,soc=0x12345678,flash=gw/x.bin", &l, err, sizeof err),
        KMRIG_LINK_EMISMATCH);
    assert_null(l);
    assert_non_null(strstr(err, "0x12345678"));
    assert_non_null(strstr(err, "flash gw/x.bin"));
    /* a host that wants one particular build */
    assert_int_equal(kmrig_link_open("sim:fidelity=stream,build=0xdeadbeef", &l, err, sizeof err),
                     KMRIG_LINK_EMISMATCH);
    assert_non_null(strstr(err, "0xDEADBEEF"));
    assert_non_null(strstr(err, "flash"));
    /* soc=any accepts the model */
    l = open_uri("sim:fidelity=stream,soc=any,build=any");
    kmrig_link_close(l);
}

static void test_stream_reads_and_posted_writes(void **state)
{
    (void)state;
    struct kmrig_link *l = open_uri("sim:fidelity=stream");
    assert_int_equal(rd(l, MEM, KMRIG_SOC_SYSID_BASE + KMRIG_SYSID_ID, 4), KMRIG_SOC_ID);
    /* posted writes, then a read: the read sees them (ordering, section 6) */
    for (uint32_t i = 0; i < 100; i++)
        wr(l, MEM, SCRATCH, 4, 0x1000 + i);
    assert_int_equal(rd(l, MEM, SCRATCH, 4), 0x1000 + 99);
    /* byte lanes and right-aligned data */
    wr(l, MEM, SCRATCH + 2, 1, 0xAB);
    assert_int_equal(rd(l, MEM, SCRATCH, 4), 0x00AB1063);
    assert_int_equal(rd(l, MEM, SCRATCH + 2, 2), 0x00AB);
    /* port space: timer1's LOAD */
    wr(l, IO, KMRIG_SOC_TIMER1_BASE + KMRIG_TIMER_LOAD, 4, 0xCAFE);
    assert_int_equal(rd(l, IO, KMRIG_SOC_TIMER1_BASE + KMRIG_TIMER_LOAD, 4), 0xCAFE);
    /* nothing decodes this address: EBUS, distinct */
    uint32_t v = 1;
    uint64_t ts = 0;
    assert_int_equal(kmrig_link_read(l, MEM, 0x00F00000u, 4, &v, &ts), KMRIG_LINK_EBUS);
    assert_int_equal(v, 0);
    /* device timestamps move forward */
    uint64_t t1, t2;
    assert_int_equal(kmrig_link_read(l, MEM, SCRATCH, 4, &v, &t1), KMRIG_LINK_OK);
    assert_int_equal(kmrig_link_read(l, MEM, SCRATCH, 4, &v, &t2), KMRIG_LINK_OK);
    assert_true(t1 > 0 && t2 > t1);
    /* the 100 writes went out in few sends (batching) */
    struct kmrig_stream_stats st;
    kmrig_link_stream_stats(l, &st);
    printf("%llu frames in %llu sends\n", (unsigned long long)st.frames_tx,
           (unsigned long long)st.sends);
    assert_true(st.sends < st.frames_tx / 2);
    assert_int_equal(st.timeouts, 0);
    assert_int_equal(st.crc_errors, 0);
    kmrig_link_close(l);
}

static void test_stream_writes_with_ack_report_bus_errors(void **state)
{
    (void)state;
    struct kmrig_link *l = open_uri("sim:fidelity=stream,ack");
    uint64_t ts = 0;
    assert_int_equal(kmrig_link_write(l, MEM, SCRATCH, 4, 7, &ts), KMRIG_LINK_OK);
    assert_true(ts > 0);
    assert_int_equal(kmrig_link_write(l, MEM, 0x00F00000u, 4, 7, &ts), KMRIG_LINK_EBUS);
    kmrig_link_close(l);
    /* posted (default): a bus error on a write is silent on the wire (section 10) */
    l = open_uri("sim:fidelity=stream");
    assert_int_equal(kmrig_link_write(l, MEM, 0x00F00000u, 4, 7, &ts), KMRIG_LINK_OK);
    assert_int_equal(rd(l, MEM, SCRATCH, 4), 0);
    kmrig_link_close(l);
}

static void test_stream_rmw_is_one_request(void **state)
{
    (void)state;
    struct kmrig_link *l = open_uri("sim:fidelity=stream");
    wr(l, MEM, SCRATCH, 4, 0x12345678);
    struct kmrig_stream_stats a, b;
    kmrig_link_stream_stats(l, &a);
    uint32_t old = 0;
    uint64_t ts;
    assert_int_equal(kmrig_link_rmw(l, MEM, SCRATCH, 4, 0xFF00, 0xAB00, &old, &ts), KMRIG_LINK_OK);
    kmrig_link_stream_stats(l, &b);
    assert_int_equal(old, 0x12345678);
    assert_int_equal(b.frames_tx - a.frames_tx, 1); /* one RMW frame, not a read and a write */
    assert_int_equal(rd(l, MEM, SCRATCH, 4), 0x1234AB78);
    assert_int_equal(kmrig_link_rmw(l, MEM, 0x00F00000u, 4, 1, 1, &old, &ts), KMRIG_LINK_EBUS);
    kmrig_link_close(l);
}

/* Waits (wall time, at most ms) until pred(l) holds. */
static int wait_for(int (*pred)(struct kmrig_link *, void *), struct kmrig_link *l, void *ctx,
                    unsigned ms)
{
    uint64_t end = now_ms() + ms;
    while (now_ms() < end) {
        if (pred(l, ctx))
            return 1;
        usleep(1000);
    }
    return pred(l, ctx);
}

static int line0_pending(struct kmrig_link *l, void *ctx)
{
    (void)ctx;
    uint32_t lines = 0;
    return kmrig_link_irq_pending(l, &lines) == KMRIG_LINK_OK && (lines & 1u);
}

static int line0_clear(struct kmrig_link *l, void *ctx)
{
    return !line0_pending(l, ctx);
}

static void test_stream_interrupt_events_with_timestamps(void **state)
{
    (void)state;
    struct kmrig_link *l = open_uri("sim:fidelity=stream");
    struct events ev = {0};
    kmrig_link_set_event_handler(l, on_event, &ev);
    assert_int_equal(kmrig_link_irq_control(l, 0, KMRIG_IRQ_LEVEL), KMRIG_LINK_OK);
    assert_int_equal(kmrig_link_irq_control(l, 0, KMRIG_IRQ_UNMASK), KMRIG_LINK_OK);
    uint64_t t0;
    uint32_t v;
    assert_int_equal(kmrig_link_read(l, MEM, SCRATCH, 4, &v, &t0), KMRIG_LINK_OK);
    /* timer0 one-shot after 5000 cycles: the event comes by itself, nobody polls the device */
    wr(l, MEM, TIMER0 + KMRIG_TIMER_LOAD, 4, 5000);
    wr(l, MEM, TIMER0 + KMRIG_TIMER_CTRL, 4, KMRIG_TIMER_CTRL_EN | KMRIG_TIMER_CTRL_IRQ_EN);
    uint64_t end = now_ms() + 5000;
    while (atomic_load(&ev.irq) == 0 && now_ms() < end)
        usleep(1000);
    assert_true(atomic_load(&ev.irq) > 0);
    assert_true(line0_pending(l, NULL));
    uint64_t ts = 0;
    assert_int_equal(kmrig_link_irq_timestamp(l, 0, &ts), KMRIG_LINK_OK);
    assert_true(ts >= t0 + 5000); /* the device's cycle of the edge */
    /* the level line drops when the device's status is cleared: EVT_IRQ with ASSERTED = 0 */
    wr(l, MEM, TIMER0 + KMRIG_TIMER_STATUS, 4, KMRIG_TIMER_STATUS_PENDING);
    assert_true(wait_for(line0_clear, l, NULL, 5000));
    /* edge mode: latched until EOI, which takes it out of the pending set */
    assert_int_equal(kmrig_link_irq_control(l, 0, KMRIG_IRQ_EDGE), KMRIG_LINK_OK);
    wr(l, MEM, TIMER0 + KMRIG_TIMER_CTRL, 4, 0);
    wr(l, MEM, TIMER0 + KMRIG_TIMER_CTRL, 4, KMRIG_TIMER_CTRL_EN | KMRIG_TIMER_CTRL_IRQ_EN);
    assert_true(wait_for(line0_pending, l, NULL, 5000));
    wr(l, MEM, TIMER0 + KMRIG_TIMER_STATUS, 4, KMRIG_TIMER_STATUS_PENDING);
    (void)rd(l, MEM, SCRATCH, 4);
    assert_true(line0_pending(l, NULL)); /* latched */
    assert_int_equal(kmrig_link_irq_control(l, 0, KMRIG_IRQ_EOI), KMRIG_LINK_OK);
    assert_false(line0_pending(l, NULL));
    assert_int_equal(kmrig_link_irq_control(l, 0, KMRIG_IRQ_MASK), KMRIG_LINK_OK);
    kmrig_link_set_event_handler(l, NULL, NULL);
    kmrig_link_close(l);
}

/* ---- DMA --------------------------------------------------------------------------------- */

#define DMA_BASE 0x123400000ull

struct hostmem {
    uint8_t mem[8192];
    atomic_int calls;
};

static int dma_handler(void *ctx, int write, uint64_t addr, void *data, size_t size)
{
    struct hostmem *h = ctx;
    atomic_fetch_add(&h->calls, 1);
    if (addr < DMA_BASE || addr + size > DMA_BASE + sizeof h->mem)
        return KMRIG_LINK_EBUS;
    if (write)
        memcpy(h->mem + (addr - DMA_BASE), data, size);
    else
        memcpy(data, h->mem + (addr - DMA_BASE), size);
    return KMRIG_LINK_OK;
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t dma_copy_wait(struct kmrig_link *l, struct hostmem *h, uint64_t src, uint64_t dst,
                              uint32_t len)
{
    uint8_t *desc = h->mem;
    memset(desc, 0, 32);
    put32(desc + KMRIG_DMADESC_CTRL, KMRIG_DMADESC_CTRL_OWN | KMRIG_DMADESC_CTRL_LAST | len);
    put32(desc + KMRIG_DMADESC_SRC_LO, (uint32_t)src);
    put32(desc + KMRIG_DMADESC_SRC_HI, (uint32_t)(src >> 32));
    put32(desc + KMRIG_DMADESC_DST_LO, (uint32_t)dst);
    put32(desc + KMRIG_DMADESC_DST_HI, (uint32_t)(dst >> 32));
    wr(l, MEM, DMA0 + KMRIG_DMA_STATUS, 4, KMRIG_DMA_STATUS_DONE | KMRIG_DMA_STATUS_ERROR);
    wr(l, MEM, DMA0 + KMRIG_DMA_DESC_LO, 4, (uint32_t)DMA_BASE);
    wr(l, MEM, DMA0 + KMRIG_DMA_DESC_HI, 4, (uint32_t)(DMA_BASE >> 32));
    wr(l, MEM, DMA0 + KMRIG_DMA_CTRL, 4, KMRIG_DMA_CTRL_RUN);
    uint64_t end = now_ms() + 10000;
    while (now_ms() < end) {
        uint32_t st = rd(l, MEM, DMA0 + KMRIG_DMA_STATUS, 4);
        if (st & (KMRIG_DMA_STATUS_DONE | KMRIG_DMA_STATUS_ERROR))
            return st;
        usleep(200);
    }
    fail_msg("dma0 neither finished nor failed");
    return 0;
}

static void test_stream_dma_both_directions(void **state)
{
    (void)state;
    static struct hostmem h;
    memset(&h, 0, sizeof h);
    struct kmrig_link *l = open_uri("sim:fidelity=stream");
    kmrig_link_set_dma_handler(l, dma_handler, &h);
    for (unsigned i = 0; i < 256; i++)
        h.mem[0x100 + i] = (uint8_t)(i ^ 0x5A);
    /* device reads 256 bytes of host memory (DMA_RD_REQ) and writes them back (DMA_WR_REQ) */
    uint32_t st = dma_copy_wait(l, &h, DMA_BASE + 0x100, DMA_BASE + 0x1000, 256);
    assert_int_equal(st & (KMRIG_DMA_STATUS_DONE | KMRIG_DMA_STATUS_ERROR), KMRIG_DMA_STATUS_DONE);
    assert_memory_equal(h.mem + 0x1000, h.mem + 0x100, 256);
    struct kmrig_link_stats ls;
    kmrig_link_get_stats(l, &ls);
    assert_true(ls.dma_reads > 0 && ls.dma_writes > 0);
    assert_int_equal(ls.dma_faults, 0);
    /* a source outside the mapping: DMA_FAULT, dma0 reports ERROR, nothing written */
    memset(h.mem + 0x1800, 0xEE, 64);
    st = dma_copy_wait(l, &h, DMA_BASE + 0x100000, DMA_BASE + 0x1800, 64);
    assert_int_equal(st & KMRIG_DMA_STATUS_ERROR, KMRIG_DMA_STATUS_ERROR);
    for (unsigned i = 0; i < 64; i++)
        assert_int_equal(h.mem[0x1800 + i], 0xEE);
    kmrig_link_get_stats(l, &ls);
    assert_true(ls.dma_faults >= 1);
    struct kmrig_stream_stats ss;
    kmrig_link_stream_stats(l, &ss);
    assert_true(ss.dma_requests >= 2 && ss.dma_faults >= 1);
    kmrig_link_close(l);
}

/* ---- faults ------------------------------------------------------------------------------ */

/* 300 write/read pairs on a link that corrupts, drops and duplicates bytes. With CRC on every
 * frame no read may return a wrong value: each pair either checks out, or fails with EIO (the
 * engine knew it could not recover safely) or ETIMEOUT. Most pairs recover. */
static void fault_run(uint64_t seed)
{
    char uri[256];
    snprintf(uri, sizeof uri,
             "sim:fidelity=stream,crc,timeout=40,retries=3,fault_seed=%llu,fault_drop=300,"
             "fault_corrupt=300,fault_dup=100",
             (unsigned long long)seed);
    struct kmrig_link *l = NULL;
    char err[256];
    int rc = KMRIG_LINK_ETIMEOUT;
    /* HELLO itself may be hit: the open retries, and a failure says so */
    for (int tries = 0; tries < 5 && rc != KMRIG_LINK_OK; tries++)
        rc = kmrig_link_open(uri, &l, err, sizeof err);
    if (rc != KMRIG_LINK_OK)
        fail_msg("seed %llu: open: %s", (unsigned long long)seed, err);
    unsigned ok = 0, failed = 0;
    for (uint32_t i = 0; i < 300; i++) {
        uint64_t ts;
        uint32_t v = 0, want = (uint32_t)(seed << 16) + i;
        int w = kmrig_link_write(l, MEM, SCRATCH, 4, want, &ts);
        int r = kmrig_link_read(l, MEM, SCRATCH, 4, &v, &ts);
        if (w == KMRIG_LINK_OK && r == KMRIG_LINK_OK) {
            if (v != want)
                fail_msg("seed %llu pair %u: read 0x%x, wrote 0x%x: a loss went unnoticed",
                         (unsigned long long)seed, i, v, want);
            ok++;
        } else {
            assert_true(w == KMRIG_LINK_EIO || w == KMRIG_LINK_ETIMEOUT || w == KMRIG_LINK_OK);
            assert_true(r == KMRIG_LINK_EIO || r == KMRIG_LINK_ETIMEOUT || r == KMRIG_LINK_OK);
            failed++;
        }
    }
    uint64_t dropped, corrupted, duplicated;
    assert_int_equal(kmrig_link_sim_fault_stats(l, &dropped, &corrupted, &duplicated),
                     KMRIG_LINK_OK);
    struct kmrig_stream_stats st;
    kmrig_link_stream_stats(l, &st);
    printf("seed %llu: %u ok, %u failed; injected %llu dropped, %llu corrupted, %llu dup; "
           "engine: %llu crc, %llu hdr, %llu retries, %llu lost rsp, %llu lost writes, "
           "%llu timeouts, %llu resyncs, %llu device errors\n",
           (unsigned long long)seed, ok, failed, (unsigned long long)dropped,
           (unsigned long long)corrupted, (unsigned long long)duplicated,
           (unsigned long long)st.crc_errors, (unsigned long long)st.header_errors,
           (unsigned long long)st.retries, (unsigned long long)st.lost_responses,
           (unsigned long long)st.lost_writes, (unsigned long long)st.timeouts,
           (unsigned long long)st.resyncs, (unsigned long long)st.device_errors);
    assert_true(dropped + corrupted + duplicated > 0);
    /* the damage the host received was seen */
    assert_true(st.crc_errors + st.header_errors + st.dropped_bytes + st.device_errors > 0);
    assert_true(ok >= 200);
    /* after the faults stop mattering the link still works: a clean final pair */
    kmrig_link_close(l);
}

static void test_stream_faults_seed_1(void **state)
{
    (void)state;
    fault_run(1);
}
static void test_stream_faults_seed_2(void **state)
{
    (void)state;
    fault_run(2);
}
static void test_stream_faults_seed_3(void **state)
{
    (void)state;
    fault_run(3);
}
static void test_stream_faults_seed_4(void **state)
{
    (void)state;
    fault_run(4);
}

/* ---- link loss --------------------------------------------------------------------------- */

struct reader_arg {
    struct kmrig_link *l;
    atomic_int started;
    int rc;
    uint64_t ended_ms;
};

static void *read_until_error(void *arg)
{
    struct reader_arg *a = arg;
    uint32_t v;
    uint64_t ts;
    int rc;
    atomic_store(&a->started, 1);
    while ((rc = kmrig_link_read(a->l, MEM, SCRATCH, 4, &v, &ts)) == KMRIG_LINK_OK)
        ;
    a->rc = rc;
    a->ended_ms = now_ms();
    return NULL;
}

static void test_stream_cut_pipe_releases_everyone_with_egone(void **state)
{
    (void)state;
    /* timeout 10 s: a waiter released by the timeout instead of the cut would take that long */
    struct kmrig_link *l = open_uri("sim:fidelity=stream,timeout=10000,fault_seed=1");
    struct events ev = {0};
    kmrig_link_set_event_handler(l, on_event, &ev);
    struct reader_arg a = {.l = l};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, read_until_error, &a), 0);
    while (!atomic_load(&a.started))
        usleep(100);
    usleep(20000);
    uint64_t cut = now_ms();
    assert_int_equal(kmrig_link_sim_cut(l), KMRIG_LINK_OK);
    pthread_join(t, NULL);
    assert_int_equal(a.rc, KMRIG_LINK_EGONE);
    assert_true(a.ended_ms - cut < 2000);
    uint64_t end = now_ms() + 2000;
    while (!atomic_load(&ev.gone) && now_ms() < end)
        usleep(1000);
    assert_int_equal(atomic_load(&ev.gone), 1); /* reported once */
    assert_true(kmrig_link_gone(l));
    /* every later call fails at once */
    uint32_t v, lines;
    uint64_t ts;
    assert_int_equal(kmrig_link_read(l, MEM, SCRATCH, 4, &v, &ts), KMRIG_LINK_EGONE);
    assert_int_equal(kmrig_link_write(l, MEM, SCRATCH, 4, 1, &ts), KMRIG_LINK_EGONE);
    assert_int_equal(kmrig_link_irq_pending(l, &lines), KMRIG_LINK_EGONE);
    assert_int_equal(kmrig_link_irq_control(l, 0, KMRIG_IRQ_MASK), KMRIG_LINK_EGONE);
    kmrig_link_close(l);
}

static void test_stream_cut_after_n_bytes(void **state)
{
    (void)state;
    struct kmrig_link *l = open_uri("sim:fidelity=stream,fault_cut=3000");
    int rc = KMRIG_LINK_OK;
    unsigned i;
    for (i = 0; i < 10000 && rc == KMRIG_LINK_OK; i++) {
        uint32_t v;
        uint64_t ts;
        rc = kmrig_link_read(l, MEM, SCRATCH, 4, &v, &ts);
    }
    assert_int_equal(rc, KMRIG_LINK_EGONE);
    assert_true(i > 10 && i < 200); /* ~44 bytes per read and its answer */
    kmrig_link_close(l);
}

/* A posted write leaves within the flush window even when the pipe's reads block: the batch is
 * sent by the engine's flusher, not when the reader's recv() happens to return. Here a read of
 * the pipe blocks up to 3 s until data comes (fault_hold), and an idle device sends nothing. */
static void test_stream_posted_write_does_not_wait_for_a_blocked_reader(void **state)
{
    (void)state;
    struct kmrig_link *l = open_uri("sim:fidelity=stream,fault_seed=1,fault_hold=3000");
    struct kmrig_stream_stats st;
    for (int i = 0; i < 3; i++) {
        usleep(50000); /* the device has gone quiet; the reader sits in a blocking recv() */
        assert_int_equal(kmrig_link_stream_stats(l, &st), KMRIG_LINK_OK);
        uint64_t sent = st.bytes_tx, t0 = now_ms();
        wr(l, MEM, SCRATCH, 4, 0x5a5a0000u + (uint32_t)i);
        while (now_ms() - t0 < 2500) {
            assert_int_equal(kmrig_link_stream_stats(l, &st), KMRIG_LINK_OK);
            if (st.bytes_tx > sent)
                break;
            usleep(200);
        }
        /* sent long before the reader's recv() gives up (a flush on the reader's timer: 3 s) */
        assert_true(st.bytes_tx > sent);
        assert_true(now_ms() - t0 < 2500);
    }
    assert_int_equal(rd(l, MEM, SCRATCH, 4), 0x5a5a0002u); /* and it landed */
    kmrig_link_close(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stream_open_describes_a_wall_time_target),
        cmocka_unit_test(test_stream_open_refuses_bad_arguments),
        cmocka_unit_test(test_stream_open_refuses_other_gateware),
        cmocka_unit_test(test_stream_reads_and_posted_writes),
        cmocka_unit_test(test_stream_writes_with_ack_report_bus_errors),
        cmocka_unit_test(test_stream_rmw_is_one_request),
        cmocka_unit_test(test_stream_interrupt_events_with_timestamps),
        cmocka_unit_test(test_stream_dma_both_directions),
        cmocka_unit_test(test_stream_faults_seed_1),
        cmocka_unit_test(test_stream_faults_seed_2),
        cmocka_unit_test(test_stream_faults_seed_3),
        cmocka_unit_test(test_stream_faults_seed_4),
        cmocka_unit_test(test_stream_cut_pipe_releases_everyone_with_egone),
        cmocka_unit_test(test_stream_cut_after_n_bytes),
        cmocka_unit_test(test_stream_posted_write_does_not_wait_for_a_blocked_reader),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

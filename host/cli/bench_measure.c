/*
 * bench_measure.c - the measurements of `kmrig bench` (docs/cli.md, "kmrig bench"), made the way
 * a driver meets the hardware: through a rig on the target, its PnP-started drivers and the HAL,
 * never by poking the model.
 *
 *   DMA        the dmaeng fixture driver (fixtures/dmaeng) on the SGDMA engine, opened by its
 *              device interface; each request timed from the IRP sent to the IRP completed:
 *              h2d = IOCTL_DMAENG_FIFO_WRITE (host memory into the engine's FIFO), d2h =
 *              IOCTL_DMAENG_FIFO_READ (the FIFO into host memory), copy = IOCTL_DMAENG_COPY
 *              (host memory to host memory through the engine). Every transfer is checked.
 *   registers  READ_REGISTER_ULONG / WRITE_REGISTER_ULONG on the sysid block's SCRATCH register,
 *              each access timed on its own.
 *   ISR        a small WDM-style timer driver (below): the timer's window and the interrupt
 *              controller's from the enumeration ROM, MmMapIoSpace, HalGetInterruptVector,
 *              IoConnectInterrupt; its ISR takes the clock at entry and reads the controller's
 *              timestamp of the line's rising edge (the timer's expiry cycle).
 *   rate       the same driver with the timer periodic: a period is sustainable when every
 *              expiry reached the ISR (consecutive edge timestamps exactly one period apart and
 *              as many ISR calls as expiries); binary search for the shortest such period.
 *
 * Time: on a virtual-time target the model's clock (kmrig_runtime_now_ns); one emulated processor
 * makes the runs deterministic. On a wall-time target (a board, sim:fidelity=stream) the host's
 * clock never times a figure: a clock query is a READ_REGISTER_ULONG of sysid TS_LO (the device's
 * cycle counter at the cycle the read reached the device; 32 bits, extended across wraps, which
 * needs a query every 2^32 cycles, 85 s at 50 MHz), the ISR's entry is such a read (its trip to
 * the device included: the device sees no earlier sign of the ISR), and edges are the interrupt
 * controller's timestamps. Either way, the cost of one clock query (the shortest interval between
 * two back-to-back queries: on a wall-time target one read round trip as the device sees it, the
 * answer's way out plus the next request's way in) is taken off every bracketed sample. The
 * host's clock serves only to bound each phase in wall time, as the watchdog (--timeout: a target
 * that stops answering ends the run with exit 4), and to check the device's clock against it over
 * each phase (reported, and a rate probe on a slow device clock counts as lossy).
 */
#define _GNU_SOURCE
#include <ntddk.h>

#include "bench.h"
#include "cli.h"
#include "dmaeng.h"
#include "dmaeng_ioctl.h"
#include "kmrig_soc_map.h"

#include <kmrig/link.h>
#include <kmrig/protocol.h>
#include <kmrig/rig.h>
#include <kmrig/runtime.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- statistics ---- */

static int bench_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted samples: the smallest value with at least pct% at or
 * below it. */
static uint64_t bench_rank(const uint64_t *s, unsigned n, unsigned pct)
{
    unsigned k = (unsigned)(((uint64_t)n * pct + 99) / 100);
    return s[k ? k - 1 : 0];
}

void bench_dist_of(uint64_t *samples, unsigned n, struct bench_dist *d)
{
    memset(d, 0, sizeof *d);
    if (!n)
        return;
    qsort(samples, n, sizeof *samples, bench_cmp_u64);
    double sum = 0;
    for (unsigned i = 0; i < n; i++)
        sum += (double)samples[i];
    d->count = n;
    d->min_ns = samples[0];
    d->p50_ns = bench_rank(samples, n, 50);
    d->p99_ns = bench_rank(samples, n, 99);
    d->max_ns = samples[n - 1];
    d->mean_ns = sum / n;
}

const char *bench_dir_name(enum bench_dir d)
{
    static const char *const names[] = {"h2d", "d2h", "copy"};
    return d < BENCH_DIRS ? names[d] : "?";
}

void bench_results_free(struct bench_results *r)
{
    free(r->isr_samples);
    r->isr_samples = NULL;
}

/* The host's monotonic clock: only for the watchdog, the wall-time bounds and the clock check,
 * never for a figure. */
static uint64_t bench_wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- the timer driver ---- */

typedef struct _BENCH_TIMER {
    volatile ULONG *Timer; /* the timer's registers */
    volatile ULONG *Intc;  /* the interrupt controller's */
    ULONG TimerLength, IntcLength;
    ULONG Line;
    PKINTERRUPT Interrupt;
    kmrig_runtime *Runtime;
    const struct kmrig_link *Link;
    volatile ULONG *Sysid;       /* wall time: the entry is a read of its TS_LO/TS_HI */
    _Atomic uint64_t *Heartbeat; /* wall time: the watchdog's progress mark */
    ULONG Runs;                  /* timer runs so far */
    ULONG SlowRuns;              /* wall time: runs with the device's clock below 3/4 rate */
    /* one run, written by the ISR under the interrupt's lock */
    ULONG Period;   /* cycles */
    ULONG Calls;    /* ISR calls that claimed the interrupt */
    ULONG Lost;     /* edges more than one period apart */
    ULONG Spurious; /* ISR calls with the timer not pending */
    ULONGLONG LastEdge;
    uint64_t *Samples; /* ns, edge to ISR entry */
    ULONG MaxSamples;
} BENCH_TIMER;

static BOOLEAN NTAPI BenchTimerIsr(PKINTERRUPT Interrupt, PVOID Context)
{
    BENCH_TIMER *t = Context;
    ULONGLONG entry;
    if (t->Sysid) {
        /* first thing: the device's time when this read reaches it (its trip there included:
         * the device cannot see the ISR start, only its first access) */
        ULONG elo = READ_REGISTER_ULONG(t->Sysid + KMRIG_SYSID_TS_LO / 4);
        ULONG ehi = READ_REGISTER_ULONG(t->Sysid + KMRIG_SYSID_TS_HI / 4);
        entry = kmrig_link_cycles_to_ns(t->Link, (ULONGLONG)ehi << 32 | elo);
    } else {
        entry = kmrig_runtime_now_ns(kmrig_runtime_current());
    }
    if (!(READ_REGISTER_ULONG(t->Timer + KMRIG_TIMER_STATUS / 4) & KMRIG_TIMER_STATUS_PENDING)) {
        t->Spurious++;
        return FALSE;
    }
    ULONG lo = READ_REGISTER_ULONG(t->Intc + (KMRIG_INTC_TS_LO0 + 8 * t->Line) / 4);
    ULONG hi = READ_REGISTER_ULONG(t->Intc + (KMRIG_INTC_TS_HI0 + 8 * t->Line) / 4);
    WRITE_REGISTER_ULONG(t->Timer + KMRIG_TIMER_STATUS / 4, KMRIG_TIMER_STATUS_PENDING);
    ULONGLONG edge = (ULONGLONG)hi << 32 | lo;
    if (t->Calls && edge - t->LastEdge != t->Period)
        t->Lost++;
    t->LastEdge = edge;
    ULONGLONG edge_ns = kmrig_link_cycles_to_ns(t->Link, edge);
    if (t->Calls < t->MaxSamples)
        t->Samples[t->Calls] = entry > edge_ns ? entry - edge_ns : 0;
    t->Calls++;
    if (t->Heartbeat)
        atomic_store(t->Heartbeat, bench_wall_ns());
    return TRUE;
}

static VOID bench_delay_ns(ULONGLONG ns)
{
    LARGE_INTEGER d;
    d.QuadPart = -(LONGLONG)((ns + 99) / 100);
    KeDelayExecutionThread(KernelMode, FALSE, &d);
}

/* The device's timestamp counter, 64 bits (TS_LO latches TS_HI). */
static ULONGLONG bench_timer_ts(BENCH_TIMER *t)
{
    ULONG lo = READ_REGISTER_ULONG(t->Sysid + KMRIG_SYSID_TS_LO / 4);
    ULONG hi = READ_REGISTER_ULONG(t->Sysid + KMRIG_SYSID_TS_HI / 4);
    return (ULONGLONG)hi << 32 | lo;
}

/* Wall time: the device's clock and the host's at (about) the same instant: the host's taken
 * either side of the read, halved. */
static VOID bench_timer_mark(BENCH_TIMER *t, ULONGLONG *dev, ULONGLONG *host)
{
    uint64_t h0 = bench_wall_ns();
    *dev = bench_timer_ts(t);
    *host = h0 + (bench_wall_ns() - h0) / 2;
}

/* Wall time: waits until the device's own clock has covered n periods and a half (the device
 * need not run at its nominal rate: a model driven as a board runs slower), then up to 50 ms of
 * real time more for the last ISRs on their way. The device answering is progress for the
 * watchdog, which bounds the whole wait. */
static VOID bench_timer_wait_device(BENCH_TIMER *t, ULONG period, ULONG n)
{
    ULONGLONG end = bench_timer_ts(t) + (ULONGLONG)period * n + period / 2;
    ULONGLONG last = 0;
    for (;;) {
        ULONGLONG now = bench_timer_ts(t);
        if (now >= end)
            break;
        if (now != last) {
            last = now;
            atomic_store(t->Heartbeat, bench_wall_ns());
        }
        ULONGLONG left = kmrig_link_cycles_to_ns(t->Link, end - now);
        bench_delay_ns(left < 1000000ull ? left : 1000000ull);
    }
    for (int i = 0; i < 50 && t->Calls < n; i++)
        bench_delay_ns(1000000ull);
}

/* Runs the timer periodically for n expiries of `period` cycles; returns the interrupts lost
 * (0: every expiry reached the ISR). With samples, the first max latencies go there. */
static ULONG bench_timer_run(BENCH_TIMER *t, ULONG period, ULONG n, uint64_t *samples, ULONG max)
{
    t->Runs++;
    ULONGLONG dev0 = 0, host0 = 0;
    if (t->Sysid)
        bench_timer_mark(t, &dev0, &host0);
    t->Period = period;
    t->Calls = t->Lost = t->Spurious = 0;
    t->LastEdge = 0;
    t->Samples = samples;
    t->MaxSamples = samples ? max : 0;
    ULONGLONG period_ns = kmrig_link_cycles_to_ns(t->Link, period);
    WRITE_REGISTER_ULONG(t->Timer + KMRIG_TIMER_STATUS / 4, KMRIG_TIMER_STATUS_PENDING);
    WRITE_REGISTER_ULONG(t->Timer + KMRIG_TIMER_LOAD / 4, period);
    WRITE_REGISTER_ULONG(t->Timer + KMRIG_TIMER_CTRL / 4,
                         KMRIG_TIMER_CTRL_EN | KMRIG_TIMER_CTRL_PERIODIC | KMRIG_TIMER_CTRL_IRQ_EN);
    if (t->Sysid) {
        bench_timer_wait_device(t, period, n);
    } else {
        bench_delay_ns(period_ns * n + period_ns / 2);
        /* the last expiry's ISR may still be on its way (a slow link): up to two more periods */
        for (int i = 0; i < 8 && t->Calls < n; i++)
            bench_delay_ns(period_ns / 4 + 1);
    }
    WRITE_REGISTER_ULONG(t->Timer + KMRIG_TIMER_CTRL / 4, 0);
    WRITE_REGISTER_ULONG(t->Timer + KMRIG_TIMER_STATUS / 4, KMRIG_TIMER_STATUS_PENDING);
    /* let a last delivery in flight land before the next run */
    bench_delay_ns(t->Sysid && period_ns < 5000000ull ? 5000000ull : period_ns);
    ULONG calls = t->Calls;
    t->MaxSamples = 0;
    ULONG lost = t->Lost + (calls < n ? n - calls : 0);
    if (t->Sysid) {
        /* A device whose clock ran slow against the host's (a model that could not keep up
         * with this period) proves nothing about the period: counted as lossy. */
        ULONGLONG dev1, host1;
        bench_timer_mark(t, &dev1, &host1);
        ULONGLONG dev_ns = kmrig_link_cycles_to_ns(t->Link, dev1 - dev0);
        if (host1 > host0 && dev_ns * 4 < (host1 - host0) * 3) {
            t->SlowRuns++;
            lost = lost ? lost : 1;
        }
    }
    return lost;
}

/* One step of the rate search: nonzero when interrupts were lost at this period. */
static ULONG bench_probe(BENCH_TIMER *t, ULONG period, ULONG n, unsigned *probes)
{
    ++*probes;
    ULONG lost = bench_timer_run(t, period, n, NULL, 0);
    /* wall time: a loss may be the host's scheduling, not the period: lossy only if a second
     * run loses too */
    if (lost && t->Sysid)
        lost = bench_timer_run(t, period, n, NULL, 0);
    return lost;
}

/* ---- the target ---- */

struct bench_ctx {
    kmrig_rig *rig;
    kmrig_runtime *rt;
    struct kmrig_link *link;
    uint64_t overhead_ns;
    /* wall time: the device's timestamp counter */
    volatile ULONG *sysid; /* NULL on a virtual-time target */
    ULONG sysid_length;
    uint64_t cycles; /* the last TS_LO read, extended to 64 bits */
    ULONG last_lo;
    /* wall time: the watchdog */
    _Atomic uint64_t heartbeat; /* bench_wall_ns() of the last progress */
    _Atomic int done;
    uint64_t timeout_ns;
    pthread_t watchdog;
    int watchdog_running;
};

/* Device time now, in ns: the model's clock, or a read of the device's timestamp counter. */
static uint64_t bench_now(struct bench_ctx *c)
{
    if (!c->sysid)
        return kmrig_runtime_now_ns(c->rt);
    ULONG lo = READ_REGISTER_ULONG(c->sysid + KMRIG_SYSID_TS_LO / 4);
    c->cycles += (ULONG)(lo - c->last_lo);
    c->last_lo = lo;
    atomic_store(&c->heartbeat, bench_wall_ns());
    return kmrig_link_cycles_to_ns(c->link, c->cycles);
}

/* Wall time: the device's time and the host's at (about) the same instant (the host's taken
 * either side of the read, halved). For the clock check only: no figure comes from the host. */
static void bench_mark(struct bench_ctx *c, uint64_t *dev, uint64_t *host)
{
    uint64_t h0 = bench_wall_ns();
    *dev = bench_now(c);
    *host = h0 + (bench_wall_ns() - h0) / 2;
}

/* Nonzero (and the reason printed) when a wall-time target has dropped its link. */
static int bench_gone(struct bench_ctx *c)
{
    if (!c->sysid || !kmrig_link_gone(c->link))
        return 0;
    fprintf(stderr, "kmrig bench: the target's link dropped (the board stopped answering, was "
                    "reset or unplugged); no figures\n");
    return 1;
}

/* Wall time: ends the process (exit 4) when nothing progressed for timeout_ns or the link
 * dropped: a board that stops answering mid-request would otherwise leave a driver waiting for
 * an interrupt that never comes. */
static void *bench_watchdog(void *arg)
{
    struct bench_ctx *c = arg;
    while (!atomic_load(&c->done)) {
        usleep(100000);
        if (atomic_load(&c->done))
            break;
        int gone = kmrig_link_gone(c->link);
        uint64_t idle = bench_wall_ns() - atomic_load(&c->heartbeat);
        if (gone || idle > c->timeout_ns) {
            if (gone)
                fprintf(stderr, "kmrig bench: the target's link dropped (the board stopped "
                                "answering, was reset or unplugged); no figures\n");
            else
                fprintf(stderr,
                        "kmrig bench: the target did not answer for %llu s (--timeout); no "
                        "figures\n",
                        (unsigned long long)(c->timeout_ns / 1000000000ull));
            fflush(stderr);
            _exit(KMRIG_CLI_ERROR);
        }
    }
    return NULL;
}

static uint64_t bench_since(struct bench_ctx *c, uint64_t t0)
{
    uint64_t d = bench_now(c) - t0;
    return d > c->overhead_ns ? d - c->overhead_ns : 0;
}

static const struct kmrig_device_desc *bench_find(const struct kmrig_device_desc *d, size_t n,
                                                  const char *id, enum kmrig_resource_kind kind,
                                                  const struct kmrig_resource **res)
{
    for (size_t i = 0; i < n; i++) {
        if (!d[i].hardware_ids[0] || strcasecmp(d[i].hardware_ids[0], id))
            continue;
        for (unsigned k = 0; k < d[i].resource_count; k++)
            if (d[i].resources[k].kind == kind) {
                *res = &d[i].resources[k];
                return &d[i];
            }
    }
    return NULL;
}

static unsigned bench_line_of(const struct kmrig_device_desc *d)
{
    for (unsigned k = 0; k < d->resource_count; k++)
        if (d->resources[k].kind == KMRIG_RES_INTERRUPT)
            return d->resources[k].line;
    return ~0u;
}

static PVOID bench_map(const struct kmrig_resource *r)
{
    PHYSICAL_ADDRESS pa;
    pa.QuadPart = (LONGLONG)r->start;
    return MmMapIoSpace(pa, r->length, MmNonCached);
}

/* The link profile's rates (docs/protocol.md, section 12), by the name the URI uses. */
static void bench_profile_rates(struct bench_results *r)
{
    static const struct {
        const char *proto;
        int duplex;
        uint64_t h2d, d2h;
    } list[] = {
/* A USB profile's rate per direction is its packets per microframe (protocol.md section 12:
   the chip's 10 x 512 bytes every 125 us, 40.96 MB/s), not its FIFO side's byte rate. */
#define BENCH_RATE(rate, uframe, pkt, npkt)                                                        \
    ((uframe) && (npkt) ? (uint64_t)(npkt) * (pkt)*1000000000u / (uframe) : (rate))
#define BENCH_PROFILE(NAME, duplex, h2d, d2h, lat, crc, uframe, pkt, st, npkt, ...)                \
    {#NAME, duplex, BENCH_RATE(h2d, uframe, pkt, npkt), BENCH_RATE(d2h, uframe, pkt, npkt)},
        KMRIG_PROTO_PROFILE_LIST(BENCH_PROFILE)
#undef BENCH_PROFILE
#undef BENCH_RATE
    };
    static const struct {
        const char *uri, *proto;
    } names[] = {
        {"ideal", "IDEAL"}, {"pcie", "PCIE_GEN2_X1"}, {"ft245", "FT245_USB2"}, {"uart", "UART_3M"}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(names[i].uri, r->profile))
            continue;
        for (size_t k = 0; k < sizeof list / sizeof list[0]; k++)
            if (!strcmp(list[k].proto, names[i].proto)) {
                r->link_h2d_bytes_per_s = list[k].h2d;
                r->link_d2h_bytes_per_s = list[k].d2h;
                r->half_duplex = !list[k].duplex;
            }
    }
}

static void bench_fill(uint8_t *p, size_t n, uint32_t seed)
{
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (uint8_t)x;
    }
}

static void bench_point(struct bench_dma_series *s, uint32_t bytes, uint64_t *samples, unsigned n)
{
    struct bench_dma_point *p = &s->points[s->npoints++];
    p->bytes = bytes;
    p->requests = n;
    p->total_ns = 0;
    for (unsigned i = 0; i < n; i++)
        p->total_ns += samples[i];
    p->throughput_bytes_per_s = p->total_ns ? (double)bytes * n * 1e9 / (double)p->total_ns : 0.0;
    bench_dist_of(samples, n, &p->request);
}

static int bench_ioctl_failed(const char *what, uint32_t bytes, NTSTATUS s, ULONG_PTR got)
{
    fprintf(stderr, "kmrig bench: dmaeng %s of %u bytes failed: status 0x%08X, %lu bytes moved\n",
            what, (unsigned)bytes, (unsigned)s, (unsigned long)got);
    return KMRIG_CLI_ERROR;
}

/* Wall time: nonzero once a step that did `done` requests (at least one) has run for
 * o->step_wall_ns. */
static int bench_step_over(struct bench_ctx *c, const struct bench_options *o, uint64_t start,
                           unsigned done)
{
    return c->sysid && done && bench_wall_ns() - start > o->step_wall_ns;
}

/* Wall time: nonzero (and the size noted as skipped) when one copy request of `bytes` would take
 * longer than a step's bound, at the throughput of the largest copy measured so far: on a slow
 * link a single request of a large size can take minutes, and a request cannot be cut short. */
static int bench_dma_too_long(const struct bench_options *o, struct bench_results *r,
                              uint32_t bytes)
{
    const struct bench_dma_series *cs = &r->dma[BENCH_COPY];
    if (!cs->npoints)
        return 0;
    const struct bench_dma_point *p = &cs->points[cs->npoints - 1];
    if (p->throughput_bytes_per_s <= 0)
        return 0;
    double est_s = (double)bytes / p->throughput_bytes_per_s;
    if (est_s * 1e9 <= (double)o->step_wall_ns)
        return 0;
    unsigned n = r->dma_nskipped++;
    r->dma_skipped[n].bytes = bytes;
    snprintf(r->dma_skipped[n].reason, sizeof r->dma_skipped[n].reason,
             "not measured: one copy request would take about %.1f s at the %.0f bytes/s of the "
             "%u-byte copies (bound %.0f s per size)",
             est_s, p->throughput_bytes_per_s, (unsigned)p->bytes, (double)o->step_wall_ns / 1e9);
    return 1;
}

static int bench_dma(struct bench_ctx *c, const struct bench_options *o, struct bench_results *r,
                     PFILE_OBJECT f)
{
    uint32_t biggest = 0;
    for (unsigned i = 0; i < o->nsizes; i++)
        biggest = o->sizes[i] > biggest ? o->sizes[i] : biggest;
    uint8_t *src = malloc(biggest), *dst = malloc(biggest);
    uint64_t *t[BENCH_DIRS];
    for (int d = 0; d < BENCH_DIRS; d++)
        t[d] = calloc(o->iterations, sizeof(uint64_t));
    int rc = KMRIG_CLI_OK;
    if (!src || !dst || !t[0] || !t[1] || !t[2]) {
        fprintf(stderr, "kmrig bench: out of memory for %u-byte DMA buffers\n", (unsigned)biggest);
        rc = KMRIG_CLI_ERROR;
        goto out;
    }
    for (unsigned i = 0; i < o->nsizes && rc == KMRIG_CLI_OK; i++) {
        uint32_t bytes = o->sizes[i];
        uint64_t fit = o->dma_bytes_per_size / bytes;
        unsigned reqs = fit < 1 ? 1 : fit < o->iterations ? (unsigned)fit : o->iterations;
        ULONG_PTR got = 0;
        NTSTATUS s;
        if (c->sysid && bench_dma_too_long(o, r, bytes))
            continue;
        /* wall time: requests of one size stop after o->step_wall_ns (one at least) */
        uint64_t size_start = bench_wall_ns();
        if (bytes <= r->fifo_bytes) {
            unsigned k;
            for (k = 0; k < reqs && !bench_step_over(c, o, size_start, k); k++) {
                bench_fill(src, bytes, i * 7919 + k);
                memset(dst, 0, bytes);
                uint64_t t0 = bench_now(c);
                s = kmrig_rig_ioctl(f, IOCTL_DMAENG_FIFO_WRITE, NULL, 0, src, bytes, &got);
                t[BENCH_H2D][k] = bench_since(c, t0);
                if (s != STATUS_SUCCESS || got != bytes) {
                    rc = bench_ioctl_failed("FIFO write", bytes, s, got);
                    break;
                }
                t0 = bench_now(c);
                s = kmrig_rig_ioctl(f, IOCTL_DMAENG_FIFO_READ, NULL, 0, dst, bytes, &got);
                t[BENCH_D2H][k] = bench_since(c, t0);
                if (s != STATUS_SUCCESS || got != bytes) {
                    rc = bench_ioctl_failed("FIFO read", bytes, s, got);
                    break;
                }
                if (memcmp(src, dst, bytes)) {
                    fprintf(stderr,
                            "kmrig bench: %u bytes through the engine's FIFO came back different\n",
                            (unsigned)bytes);
                    rc = KMRIG_CLI_ERROR;
                    break;
                }
            }
            if (rc != KMRIG_CLI_OK)
                break;
            bench_point(&r->dma[BENCH_H2D], bytes, t[BENCH_H2D], k);
            bench_point(&r->dma[BENCH_D2H], bytes, t[BENCH_D2H], k);
        }
        size_start = bench_wall_ns();
        unsigned k;
        for (k = 0; k < reqs && !bench_step_over(c, o, size_start, k); k++) {
            bench_fill(src, bytes, i * 104729 + k);
            memset(dst, 0, bytes);
            uint64_t t0 = bench_now(c);
            s = kmrig_rig_ioctl(f, IOCTL_DMAENG_COPY, src, bytes, dst, bytes, &got);
            t[BENCH_COPY][k] = bench_since(c, t0);
            if (s != STATUS_SUCCESS || got != bytes) {
                rc = bench_ioctl_failed("copy", bytes, s, got);
                break;
            }
            if (memcmp(src, dst, bytes)) {
                fprintf(stderr, "kmrig bench: a %u-byte DMA copy came out different\n",
                        (unsigned)bytes);
                rc = KMRIG_CLI_ERROR;
                break;
            }
        }
        if (rc == KMRIG_CLI_OK)
            bench_point(&r->dma[BENCH_COPY], bytes, t[BENCH_COPY], k);
    }
    if (rc == KMRIG_CLI_OK) {
        DMAENG_STATS st;
        ULONG_PTR got = 0;
        if (kmrig_rig_ioctl(f, IOCTL_DMAENG_GET_STATS, NULL, 0, &st, sizeof st, &got) ==
            STATUS_SUCCESS)
            r->chunk_bytes = st.ChunkBytes;
    }
out:
    for (int d = 0; d < BENCH_DIRS; d++)
        free(t[d]);
    free(src);
    free(dst);
    return rc;
}

static int bench_registers(struct bench_ctx *c, const struct bench_options *o,
                           struct bench_results *r, const struct kmrig_resource *sysid)
{
    volatile ULONG *regs = bench_map(sysid);
    uint64_t *rd = calloc(o->iterations, sizeof(uint64_t));
    uint64_t *wr = calloc(o->iterations, sizeof(uint64_t));
    int rc = KMRIG_CLI_OK;
    if (!regs || !rd || !wr) {
        fprintf(stderr, "kmrig bench: cannot map the sysid registers\n");
        rc = KMRIG_CLI_ERROR;
        goto out;
    }
    volatile ULONG *scratch = regs + KMRIG_SYSID_SCRATCH / 4;
    ULONG last = 0;
    uint64_t start = bench_wall_ns();
    unsigned i;
    for (i = 0; i < o->iterations && !bench_step_over(c, o, start, i); i++) {
        last = 0x5A000000u ^ (i * 2654435761u);
        uint64_t t0 = bench_now(c);
        WRITE_REGISTER_ULONG(scratch, last);
        wr[i] = bench_since(c, t0);
        t0 = bench_now(c);
        ULONG v = READ_REGISTER_ULONG(scratch);
        rd[i] = bench_since(c, t0);
        if (v != last) {
            fprintf(stderr,
                    "kmrig bench: sysid SCRATCH read 0x%08X after a write of 0x%08X: the register "
                    "path is broken\n",
                    (unsigned)v, (unsigned)last);
            rc = KMRIG_CLI_ERROR;
            goto out;
        }
    }
    r->register_address = sysid->start + KMRIG_SYSID_SCRATCH;
    bench_dist_of(rd, i, &r->reg_read);
    bench_dist_of(wr, i, &r->reg_write);
out:
    if (regs)
        MmUnmapIoSpace((PVOID)regs, sysid->length);
    free(rd);
    free(wr);
    return rc;
}

/* Virtual time: the rate search as a binary search over the period (deterministic). Wall time:
 * the same search, made robust against a loaded host: a lossy probe is repeated once, a run on
 * which the device's clock ran slow counts as lossy, the whole search is bounded by
 * o->rate_search_wall_ns, and when no period can be confirmed the rate is reported as not
 * measured (with the reason) instead of failing the run. Returns 0 with the search's bounds in
 * *hi_out (lossless) and *lo_out (lossy), or the reason in r->rate_not_measured. */
static int bench_rate_search(struct bench_ctx *c, const struct bench_options *o,
                             struct bench_results *r, BENCH_TIMER *t, ULONG *hi_out, ULONG *lo_out)
{
    uint64_t hz = r->clock_hz;
    int wall = c->sysid != NULL;
    uint64_t start = bench_wall_ns();
    /* the shortest period tried: the timer's 2 cycles on the model; 10 us on a wall-time target,
     * where an interrupt's round trip through the host takes longer than that */
    ULONG lo = wall && hz / 100000 > 2 ? (ULONG)(hz / 100000) : 2;
    ULONG hi = (ULONG)(hz / 1000 > lo * 2ull ? hz / 1000 : lo * 2ull); /* 1 kHz */
    unsigned probes = 0;
    int lo_lossy = 0;
    while (bench_probe(t, hi, o->probe_interrupts, &probes)) {
        if ((uint64_t)hi * 4 > hz || (wall && bench_wall_ns() - start > o->rate_search_wall_ns)) {
            r->rate_probes = probes;
            snprintf(r->rate_not_measured, sizeof r->rate_not_measured,
                     (uint64_t)hi * 4 > hz
                         ? "timer interrupts were lost even %.0f ms apart: the interrupt path "
                           "does not keep up at all"
                         : "no period up to %.0f ms kept every interrupt before the search's "
                           "wall-time bound",
                     (double)hi * 1e3 / (double)hz);
            return -1;
        }
        lo = hi;
        lo_lossy = 1;
        hi *= 4;
    }
    if (!lo_lossy && !bench_probe(t, lo, o->probe_interrupts, &probes)) {
        hi = lo;
        r->rate_at_search_floor = 1;
    }
    while (!r->rate_at_search_floor && hi - lo > 1 && hi - lo > hi / 200) {
        if (wall && bench_wall_ns() - start > o->rate_search_wall_ns) {
            r->rate_search_cut = 1; /* keep the bounds found so far */
            break;
        }
        ULONG mid = lo + (hi - lo) / 2;
        if (bench_probe(t, mid, o->probe_interrupts, &probes))
            lo = mid;
        else
            hi = mid;
    }
    r->rate_probes = probes;
    /* Confirm with a longer run. Virtual time: a period that loses steps up 2% at a time (the
     * search's probes were shorter). Wall time: a loss may be the host's scheduling, so up to 4
     * confirmations 25% apart, then no figure. */
    unsigned tries = wall ? 4 : 16;
    for (unsigned k = 0;; k++) {
        /* wall time: a run of at most the search's bound */
        unsigned n = o->iterations;
        uint64_t fit = o->rate_search_wall_ns / kmrig_link_cycles_to_ns(c->link, hi);
        if (wall && fit < n)
            n = fit > o->probe_interrupts ? (unsigned)fit : o->probe_interrupts;
        r->rate_verify_interrupts = n;
        if (!bench_timer_run(t, hi, n, NULL, 0))
            break;
        if (k + 1 == tries || (wall && bench_wall_ns() - start > 2 * o->rate_search_wall_ns)) {
            snprintf(r->rate_not_measured, sizeof r->rate_not_measured,
                     "no period near %.1f us held for %u interrupts in %u confirmation runs%s",
                     (double)hi * 1e6 / (double)hz, n, k + 1,
                     wall ? " (the host may be too loaded to keep up steadily)" : "");
            return -1;
        }
        lo = hi;
        hi += wall ? hi / 4 + 1 : hi / 50 + 1;
    }
    *hi_out = hi;
    *lo_out = lo;
    return 0;
}

/* The sustainable rate, then the ISR latency distribution at a quarter of it. */
static int bench_interrupts(struct bench_ctx *c, const struct bench_options *o,
                            struct bench_results *r, const struct kmrig_resource *timer,
                            unsigned line, const struct kmrig_resource *intc)
{
    BENCH_TIMER t;
    memset(&t, 0, sizeof t);
    t.Runtime = c->rt;
    t.Link = c->link;
    t.Sysid = c->sysid;
    t.Heartbeat = c->sysid ? &c->heartbeat : NULL;
    t.Line = line;
    t.Timer = bench_map(timer);
    t.TimerLength = timer->length;
    t.Intc = bench_map(intc);
    t.IntcLength = intc->length;
    int rc = KMRIG_CLI_OK;
    if (!t.Timer || !t.Intc) {
        fprintf(stderr, "kmrig bench: cannot map the timer's or the interrupt controller's "
                        "registers\n");
        rc = KMRIG_CLI_ERROR;
        goto out;
    }
    KIRQL irql;
    KAFFINITY affinity;
    ULONG vector = HalGetInterruptVector(Internal, 0, line, 0, &irql, &affinity);
    NTSTATUS s = IoConnectInterrupt(&t.Interrupt, BenchTimerIsr, &t, NULL, vector, irql, irql,
                                    LevelSensitive, FALSE, affinity, FALSE);
    if (!NT_SUCCESS(s)) {
        fprintf(stderr, "kmrig bench: IoConnectInterrupt on line %u failed: 0x%08X\n", line,
                (unsigned)s);
        rc = KMRIG_CLI_ERROR;
        goto out;
    }
    r->timer_line = line;

    uint64_t hz = r->clock_hz;
    ULONG hi = 0, lo = 0;
    r->rate_measured = bench_rate_search(c, o, r, &t, &hi, &lo) == 0;
    r->rate_runs = t.Runs;
    r->rate_slow_runs = t.SlowRuns;
    if (!r->rate_measured && !c->sysid) {
        /* the model is deterministic: no rate there is a broken interrupt path */
        fprintf(stderr, "kmrig bench: %s\n", r->rate_not_measured);
        rc = KMRIG_CLI_ERROR;
        goto disconnect;
    }
    if (r->rate_measured) {
        r->rate_min_period_ns = kmrig_link_cycles_to_ns(c->link, hi);
        r->rate_first_lossy_period_ns =
            r->rate_at_search_floor ? 0 : kmrig_link_cycles_to_ns(c->link, lo);
        r->rate_max_hz = (double)hz / hi;
    }

    /* Latency: a period that is at least 4 times the shortest sustainable one (10 ms when there
     * is none), a multiple of ~1.013 ms that no link's frame or microframe period divides, so
     * edges fall at every phase. */
    ULONG base = (ULONG)((hz * 1013 / 1000000) | 1);
    ULONG k = r->rate_measured ? (ULONG)((4ull * hi + base - 1) / base) : 10;
    ULONG period = base * (k ? k : 1);
    r->isr_samples = calloc(o->iterations, sizeof(uint64_t));
    if (!r->isr_samples) {
        rc = KMRIG_CLI_ERROR;
        goto disconnect;
    }
    unsigned got = 0, runs = 0, lost = 0;
    uint64_t start = bench_wall_ns();
    while (got < o->iterations) {
        unsigned want = o->iterations - got;
        /* wall time: one run lasts at most the search's bound (one interrupt at least) */
        uint64_t fit = o->rate_search_wall_ns / kmrig_link_cycles_to_ns(c->link, period);
        if (c->sysid && fit < want)
            want = fit ? (unsigned)fit : 1;
        ULONG l = bench_timer_run(&t, period, want, r->isr_samples + got, want);
        unsigned calls = t.Calls < want ? t.Calls : want;
        got += calls;
        lost += l;
        runs++;
        if (!c->sysid && l) {
            fprintf(stderr,
                    "kmrig bench: %lu of %u timer interrupts were lost at a period of %lu "
                    "cycles\n",
                    (unsigned long)l, want, (unsigned long)period);
            rc = KMRIG_CLI_ERROR;
            goto disconnect;
        }
        /* wall time: the host's scheduling made the ISR miss some: the samples it took are
         * good (edge to entry of the interrupts that did reach it); run again for the rest,
         * with a longer period after a loss, within the search's wall-time bound */
        if (l && period < hz / 4)
            period *= 2;
        if (got < o->iterations && bench_wall_ns() - start > o->rate_search_wall_ns)
            break;
    }
    r->isr_runs = runs;
    r->isr_lost = lost;
    if (!got) {
        fprintf(stderr,
                "kmrig bench: no timer interrupt reached the ISR in %u runs: the interrupt path "
                "is broken\n",
                runs);
        rc = KMRIG_CLI_ERROR;
        goto disconnect;
    }
    r->isr_period_ns = kmrig_link_cycles_to_ns(c->link, period);
    bench_dist_of(r->isr_samples, got, &r->isr);
disconnect:
    IoDisconnectInterrupt(t.Interrupt);
out:
    if (t.Timer)
        MmUnmapIoSpace((PVOID)t.Timer, t.TimerLength);
    if (t.Intc)
        MmUnmapIoSpace((PVOID)t.Intc, t.IntcLength);
    return rc;
}

int bench_measure(const struct bench_options *o, struct bench_results *r)
{
    memset(r, 0, sizeof *r);
    int rc = kmrig_cli_probe_target(o->target);
    if (rc != KMRIG_CLI_OK)
        return rc;

    struct kmrig_rig_options ro;
    kmrig_rig_options_init(&ro);
    ro.target = o->target;
    ro.processors = 1;
    ro.time_budget_ns = 24ull * 3600 * 1000000000ull; /* a day of device time */
    struct bench_ctx c = {0};
    NTSTATUS s = kmrig_rig_open(&ro, &c.rig);
    if (!NT_SUCCESS(s)) {
        fprintf(stderr, "kmrig bench: the rig did not open on '%s' (status 0x%08X)\n", o->target,
                (unsigned)s);
        return KMRIG_CLI_NO_TARGET;
    }
    c.rt = kmrig_rig_runtime(c.rig);
    c.link = kmrig_rig_link(c.rig);
    PFILE_OBJECT file = NULL;
    if (!c.link) {
        fprintf(stderr, "kmrig bench: target '%s' has no link\n", o->target);
        rc = KMRIG_CLI_NO_TARGET;
        goto out;
    }
    const struct kmrig_link_info *li = kmrig_link_get_info(c.link);
    snprintf(r->transport, sizeof r->transport, "%s", kmrig_link_name(c.link));
    snprintf(r->profile, sizeof r->profile, "%s", kmrig_link_profile_name(c.link));
    snprintf(r->device, sizeof r->device, "%s", li->description);
    r->clock_hz = li->clock_hz;
    r->soc_id = li->soc_id;
    r->soc_version = li->soc_version;
    bench_profile_rates(r);
    r->wall_time = !li->virtual_time;

    struct kmrig_device_desc descs[32];
    size_t count = 0;
    s = kmrig_rig_read_rom(c.rig, descs, 32, &count);
    if (!NT_SUCCESS(s)) {
        fprintf(stderr,
                "kmrig bench: the enumeration ROM of '%s' could not be read (status 0x%08X): "
                "bench needs the reference SoC's devices\n",
                o->target, (unsigned)s);
        rc = KMRIG_CLI_ERROR;
        goto out;
    }
    count = count > 32 ? 32 : count;
    const struct kmrig_resource *sysid = NULL, *intc = NULL, *timer = NULL, *dma = NULL;
    const struct kmrig_device_desc *timer_desc =
        bench_find(descs, count, "KMRIG\\TIMER", KMRIG_RES_MEMORY, &timer);
    bench_find(descs, count, "KMRIG\\SYSID", KMRIG_RES_MEMORY, &sysid);
    bench_find(descs, count, "KMRIG\\INTC", KMRIG_RES_MEMORY, &intc);
    bench_find(descs, count, "KMRIG\\SGDMA", KMRIG_RES_MEMORY, &dma);
    if (!sysid || !intc || !timer_desc || !dma || bench_line_of(timer_desc) == ~0u) {
        fprintf(stderr,
                "kmrig bench: '%s' lacks a device bench needs (its ROM must list KMRIG\\SYSID, "
                "KMRIG\\INTC, a memory-mapped KMRIG\\TIMER with an interrupt and KMRIG\\SGDMA, "
                "as the reference SoC does)\n",
                o->target);
        rc = KMRIG_CLI_ERROR;
        goto out;
    }

    if (r->wall_time) {
        /* the device's timestamp counter is the clock; a watchdog bounds every wait */
        c.sysid = bench_map(sysid);
        if (!c.sysid) {
            fprintf(stderr, "kmrig bench: cannot map the sysid registers\n");
            rc = KMRIG_CLI_ERROR;
            goto out;
        }
        c.sysid_length = sysid->length;
        c.last_lo = READ_REGISTER_ULONG(c.sysid + KMRIG_SYSID_TS_LO / 4);
        c.cycles = (uint64_t)READ_REGISTER_ULONG(c.sysid + KMRIG_SYSID_TS_HI / 4) << 32 | c.last_lo;
        c.timeout_ns = (uint64_t)o->timeout_s * 1000000000ull;
        atomic_store(&c.heartbeat, bench_wall_ns());
        if (pthread_create(&c.watchdog, NULL, bench_watchdog, &c) == 0)
            c.watchdog_running = 1;
        if (bench_gone(&c)) {
            rc = KMRIG_CLI_ERROR;
            goto out;
        }
    }

    /* the clock query's own cost */
    c.overhead_ns = ~0ull;
    for (int i = 0; i < (r->wall_time ? 64 : 16); i++) {
        uint64_t t0 = bench_now(&c);
        uint64_t d = bench_now(&c) - t0;
        c.overhead_ns = d < c.overhead_ns ? d : c.overhead_ns;
    }
    r->timer_overhead_ns = c.overhead_ns;

    /* The engine's FIFO depth: a read-only identification register, read before its driver
     * starts. */
    volatile ULONG *dregs = bench_map(dma);
    if (!dregs) {
        fprintf(stderr, "kmrig bench: cannot map the DMA engine's registers\n");
        rc = KMRIG_CLI_ERROR;
        goto out;
    }
    r->fifo_bytes = READ_REGISTER_ULONG(dregs + KMRIG_DMA_FIFO_DEPTH / 4) * 4;
    MmUnmapIoSpace((PVOID)dregs, dma->length);

    s = kmrig_rig_register_driver(c.rig, "KMRIG\\SGDMA", "dmaeng", DmaengDriverEntry);
    if (NT_SUCCESS(s))
        s = kmrig_rig_start(c.rig, NULL, 0);
    if (NT_SUCCESS(s))
        s = kmrig_rig_open_interface(c.rig, &GUID_DEVINTERFACE_DMAENG, 0, &file);
    if (!NT_SUCCESS(s)) {
        fprintf(stderr,
                "kmrig bench: the dmaeng driver did not start on the DMA engine (status 0x%08X)\n",
                (unsigned)s);
        file = NULL;
        rc = KMRIG_CLI_ERROR;
        goto out;
    }
    for (int ph = 0; ph < BENCH_PHASES && rc == KMRIG_CLI_OK; ph++) {
        uint64_t dev0 = 0, host0 = 0;
        if (r->wall_time)
            bench_mark(&c, &dev0, &host0);
        if (ph == BENCH_PHASE_DMA)
            rc = bench_dma(&c, o, r, file);
        else if (ph == BENCH_PHASE_REGISTERS)
            rc = bench_registers(&c, o, r, sysid);
        else
            rc = bench_interrupts(&c, o, r, timer, bench_line_of(timer_desc), intc);
        if (rc == KMRIG_CLI_OK && bench_gone(&c))
            rc = KMRIG_CLI_ERROR;
        if (rc == KMRIG_CLI_OK && r->wall_time) {
            uint64_t dev1, host1;
            bench_mark(&c, &dev1, &host1);
            r->clock[ph].device_ns = dev1 - dev0;
            r->clock[ph].host_ns = host1 - host0;
        }
    }
out:
    if (c.watchdog_running) {
        atomic_store(&c.done, 1);
        pthread_join(c.watchdog, NULL);
    }
    if (c.sysid)
        MmUnmapIoSpace((PVOID)c.sysid, c.sysid_length);
    if (file)
        kmrig_rig_close_file(file);
    kmrig_rig_close(c.rig);
    return rc;
}

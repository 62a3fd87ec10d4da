/* The event trace (kmrig/trace.h): routines on processor tracks and device events, written as
 * Chrome trace event JSON at destroy, bounded per-processor buffers with a dropped count, and
 * identical files and hashes for two runs with one processor. Built twice: on the "loop" target,
 * and (TRACE_ON_SIM) on the Verilator model with the demo driver's pattern: a periodic device
 * timer whose ISR queues a DPC, plus a kernel timer's DPC. */
#include "kmtest.h"

#include <kmrig/link.h>
#include <kmrig/rig.h>
#include <kmrig/trace.h>

#include <errno.h>
#include <pthread.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef TRACE_ON_SIM
#include "kmrig_soc_map.h"
#define TARGET "sim"
#else
#define TARGET "loop"
#endif

typedef struct _DEV {
    volatile ULONG *Regs; /* sim: the timer; loop: the control block */
    volatile ULONG *Intc;
    PKINTERRUPT Interrupt;
    KDPC Dpc, TimerDpc;
    KTIMER Timer;
    ULONG Isrs, Dpcs, TimerDpcs;
} DEV;

static DEV dev;

static BOOLEAN NTAPI Isr(PKINTERRUPT Interrupt, PVOID Context)
{
    DEV *d = Context;
#ifdef TRACE_ON_SIM
    if (!(READ_REGISTER_ULONG(d->Regs + KMRIG_TIMER_STATUS / 4) & KMRIG_TIMER_STATUS_PENDING))
        return FALSE;
    WRITE_REGISTER_ULONG(d->Regs + KMRIG_TIMER_STATUS / 4, KMRIG_TIMER_STATUS_PENDING);
#else
    WRITE_REGISTER_ULONG(d->Regs + 1, 1); /* LINES_CLR line 0 */
    if (d->Isrs < 9)
        WRITE_REGISTER_ULONG(d->Regs + 2, 1000); /* the next edge in 1000 cycles */
#endif
    d->Isrs++;
    KeInsertQueueDpc(&d->Dpc, NULL, NULL);
    return TRUE;
}

static VOID NTAPI Dpc(PKDPC Dpc, PVOID Context, PVOID A1, PVOID A2)
{
    ((DEV *)Context)->Dpcs++;
}

static VOID NTAPI TimerDpc(PKDPC Dpc, PVOID Context, PVOID A1, PVOID A2)
{
    ((DEV *)Context)->TimerDpcs++;
}

/* One run of the scenario; returns the summary taken before destroy. */
static void run(const char *path, unsigned cap, struct kmrig_trace_summary *s)
{
    kmrig_config cfg;
    kmrig_config_init(&cfg);
    cfg.target = TARGET;
    cfg.trace_path = path;
    cfg.trace_events = cap;
    cfg.time_budget_ns = 10000000000ull;
    kmrig_runtime *rt = kmtest_runtime_cfg(&cfg);
    DEV *d = &dev;
    memset(d, 0, sizeof *d);
    PHYSICAL_ADDRESS pa;
#ifdef TRACE_ON_SIM
    pa.QuadPart = KMRIG_SOC_TIMER0_BASE;
    SIZE_T size = KMRIG_SOC_TIMER0_SIZE;
    ULONG line = KMRIG_SOC_TIMER0_IRQ;
#else
    pa.QuadPart = 0x10000;
    SIZE_T size = 0x40;
    ULONG line = 0;
#endif
    d->Regs = MmMapIoSpace(pa, size, MmNonCached);
    assert_non_null((void *)d->Regs);
    KeInitializeDpc(&d->Dpc, Dpc, d);
    KeInitializeDpc(&d->TimerDpc, TimerDpc, d);
    KeInitializeTimer(&d->Timer);
    KIRQL irql;
    KAFFINITY aff;
    ULONG vector = HalGetInterruptVector(Internal, 0, line, 0, &irql, &aff);
    assert_int_equal(IoConnectInterrupt(&d->Interrupt, Isr, d, NULL, vector, irql, irql,
                                        LevelSensitive, FALSE, aff, FALSE),
                     STATUS_SUCCESS);
    LARGE_INTEGER due = {.QuadPart = -2000}; /* 200 us */
    KeSetTimerEx(&d->Timer, due, 0, &d->TimerDpc);
#ifdef TRACE_ON_SIM
    WRITE_REGISTER_ULONG(d->Regs + KMRIG_TIMER_LOAD / 4, 50 * 50); /* 50 us */
    WRITE_REGISTER_ULONG(d->Regs + KMRIG_TIMER_CTRL / 4,
                         KMRIG_TIMER_CTRL_EN | KMRIG_TIMER_CTRL_PERIODIC | KMRIG_TIMER_CTRL_IRQ_EN);
    kmrig_runtime_run_for(rt, 500000 + 25000); /* 10 expiries */
    WRITE_REGISTER_ULONG(d->Regs + KMRIG_TIMER_CTRL / 4, 0);
#else
    WRITE_REGISTER_ULONG(d->Regs + 3, line); /* TIMER_LINE */
    WRITE_REGISTER_ULONG(d->Regs + 2, 1000); /* TIMER: the first edge */
    kmrig_runtime_run_for(rt, 500000);
#endif
    assert_int_equal(d->Isrs, 10);
    assert_int_equal(d->Dpcs, 10);
    assert_int_equal(d->TimerDpcs, 1);
    IoDisconnectInterrupt(d->Interrupt);
    MmUnmapIoSpace((PVOID)d->Regs, size);
    assert_int_equal(kmrig_trace_get_summary(rt, s), 0);
    kmrig_runtime_destroy(rt);
}

static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    rewind(f);
    char *b = malloc((size_t)len + 1);
    assert_int_equal(fread(b, 1, (size_t)len, f), (size_t)len);
    b[len] = 0;
    fclose(f);
    *n = (size_t)len;
    return b;
}

static unsigned count(const char *hay, const char *needle)
{
    unsigned n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p++)
        n++;
    return n;
}

static void test_trace_two_runs_give_the_same_file_and_hash(void **state)
{
    char p1[64], p2[64];
    snprintf(p1, sizeof p1, "/tmp/kmrig-trace-%d-a.json", (int)getpid());
    snprintf(p2, sizeof p2, "/tmp/kmrig-trace-%d-b.json", (int)getpid());
    struct kmrig_trace_summary s1, s2;
    run(p1, 0, &s1);
    run(p2, 0, &s2);
    size_t n1, n2;
    char *a = slurp(p1, &n1), *b = slurp(p2, &n2);
    assert_int_equal(n1, n2);
    assert_memory_equal(a, b, n1);
    assert_true(s1.events > 0);
    assert_int_equal(s1.hash, s2.hash);
    assert_int_equal(s1.dropped, 0);
    /* The hash of the whole stream is in the file. */
    char want[64];
    const char *h = strstr(a, "\"hash\":\"");
    assert_non_null(h);
    snprintf(want, sizeof want, "\"dropped\":0");
    assert_non_null(strstr(a, want));
    print_message("%llu events before destroy, file hash %.16s\n", (unsigned long long)s1.events,
                  h + 8);
    unlink(p1);
    unlink(p2);
    free(a);
    free(b);
}

static void test_trace_records_routines_and_device_events(void **state)
{
    char p[64];
    snprintf(p, sizeof p, "/tmp/kmrig-trace-%d-c.json", (int)getpid());
    struct kmrig_trace_summary s;
    run(p, 0, &s);
    size_t n;
    char *j = slurp(p, &n);
    assert_true(!strncmp(j, "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[", 38));
    assert_int_equal(count(j, "\"ph\":\"X\",\"pid\":1,\"tid\":0,"), 21); /* 10 ISR, 10 DPC, 1 */
    assert_int_equal(count(j, "\"name\":\"ISR\""), 10);
    assert_int_equal(count(j, "\"name\":\"DPC\""), 10);
    assert_int_equal(count(j, "\"name\":\"TimerDPC\""), 1);
    assert_int_equal(count(j, "\"name\":\"IRQ line 0\""), 10);
    assert_int_equal(count(j, "\"name\":\"EOI line 0\""), 10);
    assert_int_equal(count(j, "\"ph\":\"C\""), 20);
    assert_true(count(j, "\"name\":\"write bus\"") >= 10);
    assert_non_null(strstr(j, "\"thread_name\",\"args\":{\"name\":\"device\"}"));
    assert_non_null(strstr(j, "\"claimed\":1"));
    /* Routines are named by module offset, never by a raw address. */
    assert_non_null(strstr(j, "\"routine\":\"test_trace"));
    assert_null(strstr(j, "\"routine\":\"?\""));
    assert_string_equal(j + n - 2, "}\n");
    unlink(p);
    free(j);
}

static void test_trace_buffers_are_bounded_and_count_what_they_drop(void **state)
{
    char p[64];
    snprintf(p, sizeof p, "/tmp/kmrig-trace-%d-d.json", (int)getpid());
    struct kmrig_trace_summary s;
    run(p, 8, &s);
    /* a processor's buffer, the device's DMA buffer, the buffer of events from no processor */
    assert_true(s.events <= 3 * 8);
    assert_true(s.dropped > 0);
    size_t n;
    char *j = slurp(p, &n);
    char want[64];
    const char *d = strstr(j, "\"dropped\":");
    assert_non_null(d);
    assert_true(strtoull(d + 10, NULL, 10) >= s.dropped);
    snprintf(want, sizeof want, "\"events_per_buffer\":8");
    assert_non_null(strstr(j, want));
    unlink(p);
    free(j);
}

static void test_trace_off_records_nothing(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1); /* no trace_path */
    struct kmrig_trace_summary s;
    s.events = 99;
    assert_int_equal(kmrig_trace_get_summary(rt, &s), -ENODATA);
    assert_int_equal(s.events, 0);
    kmrig_runtime_destroy(rt);
}

#ifndef TRACE_ON_SIM
/* ---- the device's DMA is the device's, whoever served it -------------------------------- */

struct dma_req {
    struct kmrig_link *Link;
    uint64_t Bus, Issue;
    ULONG Data[16];
    int Rc;
};

static void *dma_on_another_thread(void *arg)
{
    struct dma_req *r = arg;
    uint64_t done;
    r->Rc = kmrig_link_dma_at(r->Link, 1, r->Bus, r->Data, sizeof r->Data, r->Issue, &done);
    return NULL;
}

/* A register read, a device DMA write issued in the cycle the read completed (equal times), and
 * another read: the DMA served on this thread (emulated processor 0, as a local target serves it
 * inside a link call) or on a thread of no processor (as a tcp:// or stream link's reader
 * thread serves a request that comes while no call waits). Returns the trace's hash. */
static ULONGLONG dma_trace_hash(BOOLEAN other_thread)
{
    char path[64];
    snprintf(path, sizeof path, "/tmp/kmrig-trace-%d-dma.json", (int)getpid());
    kmrig_config cfg;
    kmrig_config_init(&cfg);
    cfg.trace_path = path;
    struct kmrig_rig_options o;
    kmrig_rig_options_init(&o);
    o.target = "loop";
    o.config = &cfg;
    kmrig_rig *rig = NULL;
    assert_int_equal(kmrig_rig_open(&o, &rig), STATUS_SUCCESS);
    PHYSICAL_ADDRESS highest = {.QuadPart = 0xFFFFFFFF};
    PVOID buf = MmAllocateContiguousMemory(PAGE_SIZE, highest);
    assert_non_null(buf);
    struct dma_req r = {.Link = kmrig_rig_link(rig), .Bus = MmGetPhysicalAddress(buf).QuadPart};
    for (ULONG i = 0; i < 16; i++)
        r.Data[i] = 0x5a000000u + i;
    READ_PORT_UCHAR((PUCHAR)0x80);
    r.Issue = kmrig_link_now(r.Link);
    if (other_thread) {
        pthread_t th;
        assert_int_equal(pthread_create(&th, NULL, dma_on_another_thread, &r), 0);
        pthread_join(th, NULL);
    } else {
        dma_on_another_thread(&r);
    }
    assert_int_equal(r.Rc, KMRIG_LINK_OK);
    assert_memory_equal(buf, r.Data, sizeof r.Data);
    READ_PORT_UCHAR((PUCHAR)0x80);
    struct kmrig_trace_summary s;
    assert_int_equal(kmrig_trace_get_summary(kmrig_rig_runtime(rig), &s), 0);
    assert_int_equal(s.events, 3);
    MmFreeContiguousMemory(buf);
    kmrig_rig_close(rig);
    size_t n;
    char *j = slurp(path, &n);
    const char *dma = strstr(j, "\"DMA write\"");
    assert_non_null(dma);
    assert_true(dma > strstr(j, "\"read port\"")); /* after the read of its cycle */
    free(j);
    unlink(path);
    return s.hash;
}

static void test_trace_dma_is_the_same_whichever_thread_served_it(void **state)
{
    assert_int_equal(dma_trace_hash(FALSE), dma_trace_hash(TRUE));
}
#endif

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_trace_two_runs_give_the_same_file_and_hash),
    cmocka_unit_test(test_trace_records_routines_and_device_events),
    cmocka_unit_test(test_trace_buffers_are_bounded_and_count_what_they_drop),
    cmocka_unit_test(test_trace_off_records_nothing),
#ifndef TRACE_ON_SIM
    cmocka_unit_test(test_trace_dma_is_the_same_whichever_thread_served_it),
#endif
};

KMTEST_MAIN(tests)

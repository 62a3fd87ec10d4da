/* ISR latency per link profile on the Verilator model: from the interrupt controller's own
 * timestamp of each timer expiry to ISR entry, in model cycles and predicted microseconds.
 * Deterministic (one processor, virtual time): the figures are the model's, not the host's.
 *
 *   bench_isr_latency [ticks]     (default 200 expiries of a 1.013 ms periodic timer per profile)
 */
#include <ntddk.h>
#include <kmrig/runtime.h>
#include "kmrig_soc_map.h"

#include <stdio.h>
#include <stdlib.h>

#define NS_PER_CYCLE (1000000000u / KMRIG_SOC_CLOCK_HZ)
/* 1.01302 ms: not a multiple of the 125 us microframe, so expiries fall at every phase. */
#define PERIOD 50651u

typedef struct _BENCH {
    volatile ULONG *Timer, *Intc;
    ULONGLONG *Lat; /* cycles */
    ULONG N, Max;
} BENCH;

static BOOLEAN NTAPI Isr(PKINTERRUPT Interrupt, PVOID Context)
{
    BENCH *b = Context;
    ULONGLONG entry = kmrig_runtime_now_ns(kmrig_runtime_current());
    if (!(READ_REGISTER_ULONG(b->Timer + KMRIG_TIMER_STATUS / 4) & KMRIG_TIMER_STATUS_PENDING))
        return FALSE;
    ULONG lo = READ_REGISTER_ULONG(b->Intc + (KMRIG_INTC_TS_LO0 + 8 * KMRIG_SOC_TIMER0_IRQ) / 4);
    ULONG hi = READ_REGISTER_ULONG(b->Intc + (KMRIG_INTC_TS_HI0 + 8 * KMRIG_SOC_TIMER0_IRQ) / 4);
    WRITE_REGISTER_ULONG(b->Timer + KMRIG_TIMER_STATUS / 4, KMRIG_TIMER_STATUS_PENDING);
    ULONGLONG edge = (ULONGLONG)hi << 32 | lo;
    if (b->N < b->Max)
        b->Lat[b->N++] = entry / NS_PER_CYCLE - edge;
    return TRUE;
}

static int cmp(const void *x, const void *y)
{
    ULONGLONG a = *(const ULONGLONG *)x, b = *(const ULONGLONG *)y;
    return a < b ? -1 : a > b;
}

int main(int argc, char **argv)
{
    ULONG ticks = argc > 1 ? (ULONG)atoi(argv[1]) : 200;
    static const char *const profiles[] = {"ideal", "pcie", "ft245", "uart"};
    printf(
        "ISR latency, interrupt controller timestamp -> ISR entry, %u expiries of a 1.013 ms timer "
        "(sim, %u MHz, 1 processor)\n",
        (unsigned)ticks, KMRIG_SOC_CLOCK_HZ / 1000000);
    printf("%-8s %10s %10s %10s %10s   %10s %10s %10s %10s\n", "profile", "min cyc", "p50 cyc",
           "p99 cyc", "max cyc", "min us", "p50 us", "p99 us", "max us");
    for (unsigned p = 0; p < 4; p++) {
        char uri[64];
        snprintf(uri, sizeof uri, "sim:profile=%s", profiles[p]);
        kmrig_config cfg;
        kmrig_config_init(&cfg);
        cfg.target = uri;
        cfg.verify_off = 1;
        kmrig_runtime *rt;
        if (kmrig_runtime_create(&cfg, &rt)) {
            fprintf(stderr, "bench_isr_latency: cannot open %s\n", uri);
            return 1;
        }
        BENCH b = {.Max = ticks, .Lat = calloc(ticks, sizeof(ULONGLONG))};
        PHYSICAL_ADDRESS pa = {.QuadPart = KMRIG_SOC_TIMER0_BASE};
        b.Timer = MmMapIoSpace(pa, KMRIG_SOC_TIMER0_SIZE, MmNonCached);
        pa.QuadPart = KMRIG_SOC_INTC_BASE;
        b.Intc = MmMapIoSpace(pa, KMRIG_SOC_INTC_SIZE, MmNonCached);
        KIRQL irql;
        KAFFINITY aff;
        ULONG v = HalGetInterruptVector(Internal, 0, KMRIG_SOC_TIMER0_IRQ, 0, &irql, &aff);
        PKINTERRUPT i;
        if (!b.Lat || !b.Timer || !b.Intc ||
            !NT_SUCCESS(IoConnectInterrupt(&i, Isr, &b, NULL, v, irql, irql, LevelSensitive, FALSE,
                                           aff, FALSE))) {
            fprintf(stderr, "bench_isr_latency: setup failed on %s\n", uri);
            return 1;
        }
        WRITE_REGISTER_ULONG(b.Timer + KMRIG_TIMER_LOAD / 4, PERIOD);
        WRITE_REGISTER_ULONG(b.Timer + KMRIG_TIMER_CTRL / 4, KMRIG_TIMER_CTRL_EN |
                                                                 KMRIG_TIMER_CTRL_PERIODIC |
                                                                 KMRIG_TIMER_CTRL_IRQ_EN);
        kmrig_runtime_run_for(rt, (ULONGLONG)ticks * PERIOD * NS_PER_CYCLE + 500000);
        WRITE_REGISTER_ULONG(b.Timer + KMRIG_TIMER_CTRL / 4, 0);
        IoDisconnectInterrupt(i);
        MmUnmapIoSpace((PVOID)b.Timer, KMRIG_SOC_TIMER0_SIZE);
        MmUnmapIoSpace((PVOID)b.Intc, KMRIG_SOC_INTC_SIZE);
        kmrig_runtime_destroy(rt);
        if (!b.N) {
            printf("%-8s no interrupts\n", profiles[p]);
            continue;
        }
        qsort(b.Lat, b.N, sizeof b.Lat[0], cmp);
        ULONGLONG q[4] = {b.Lat[0], b.Lat[b.N / 2], b.Lat[(b.N * 99) / 100], b.Lat[b.N - 1]};
        printf("%-8s %10llu %10llu %10llu %10llu   %10.3f %10.3f %10.3f %10.3f\n", profiles[p],
               q[0], q[1], q[2], q[3], q[0] * NS_PER_CYCLE / 1e3, q[1] * NS_PER_CYCLE / 1e3,
               q[2] * NS_PER_CYCLE / 1e3, q[3] * NS_PER_CYCLE / 1e3);
        free(b.Lat);
    }
    return 0;
}

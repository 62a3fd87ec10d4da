/* Runtime instances: create, destroy, attach, detach. */
#define _GNU_SOURCE
#include "rt.h"
#include "hal.h"
#include "trace.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The live instances, for kmrig_runtime_report_all (a hang report from another thread). */
static pthread_mutex_t KmpLiveLock = PTHREAD_MUTEX_INITIALIZER;
static struct kmrig_runtime *KmpLive;

static void KmpLiveAdd(struct kmrig_runtime *rt)
{
    pthread_mutex_lock(&KmpLiveLock);
    rt->NextLive = KmpLive;
    KmpLive = rt;
    pthread_mutex_unlock(&KmpLiveLock);
}

/* Waits for a report in progress (it holds the lock). */
static void KmpLiveRemove(struct kmrig_runtime *rt)
{
    pthread_mutex_lock(&KmpLiveLock);
    for (struct kmrig_runtime **p = &KmpLive; *p; p = &(*p)->NextLive)
        if (*p == rt) {
            *p = rt->NextLive;
            break;
        }
    pthread_mutex_unlock(&KmpLiveLock);
}

/* 2024-01-01T00:00:00Z in NT time (100 ns since 1601-01-01). */
#define KMRIG_DEFAULT_EPOCH 133485408000000000LL

/* The components in initialization order; shutdown runs in reverse. Io comes last: its root bus
 * enumerates what the HAL's link reports, and at shutdown it unloads the drivers (which
 * disconnect their interrupts and free their DMA) before the HAL closes the link. */
static const struct {
    const char *Name;
    NTSTATUS (*Initialize)(struct kmrig_runtime *rt);
    VOID (*Shutdown)(struct kmrig_runtime *rt);
} KmpComponents[] = {
    {"Ob", ObpInitialize, ObpShutdown},    {"Ps", PspInitialize, PspShutdown},
    {"Ex", ExpInitialize, ExpShutdown},    {"Se", SepInitialize, SepShutdown},
    {"Cm", CmpInitialize, CmpShutdown},    {"Mm", MmpInitialize, MmpShutdown},
    {"Hal", HalpInitialize, HalpShutdown}, {"Io", IopInitialize, IopShutdown},
};
#define KMP_COMPONENTS (sizeof KmpComponents / sizeof KmpComponents[0])

/* Shuts down the first n components, last first. */
static void KmpShutdownComponents(struct kmrig_runtime *rt, size_t n)
{
    while (n--)
        KmpComponents[n].Shutdown(rt);
}

static NTSTATUS KmpInitializeComponents(struct kmrig_runtime *rt)
{
    for (size_t i = 0; i < KMP_COMPONENTS; i++) {
        NTSTATUS s = KmpComponents[i].Initialize(rt);
        if (!NT_SUCCESS(s)) {
            KmLog(rt, KMRIG_LOG_ERROR, "runtime: %s failed to initialize (0x%08X)",
                  KmpComponents[i].Name, (unsigned)s);
            KmpShutdownComponents(rt, i);
            return s;
        }
    }
    return STATUS_SUCCESS;
}

void kmrig_config_init(kmrig_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->processors = KMRIG_PROCESSORS_DEFAULT;
    cfg->time_mode = KMRIG_TIME_VIRTUAL;
    cfg->epoch = KMRIG_DEFAULT_EPOCH;
    cfg->quantum_ns = 10000000;
    cfg->time_query_cost_ns = 50;
    cfg->verify = KMRIG_VERIFY_DEFAULT;
    cfg->log_level = KMRIG_LOG_WARN;
}

int kmrig_runtime_create(const kmrig_config *cfg_in, kmrig_runtime **out)
{
    kmrig_config defaults;
    if (!cfg_in) {
        kmrig_config_init(&defaults);
        cfg_in = &defaults;
    }
    if (KiCurrentThreadOrNull())
        return -EBUSY; /* this thread already belongs to an instance */
    if (cfg_in->processors > MAXIMUM_PROCESSORS)
        return -EINVAL;
    struct kmrig_runtime *rt = calloc(1, sizeof *rt);
    if (!rt)
        return -ENOMEM;
    rt->Config = *cfg_in;
    if (!rt->Config.processors)
        rt->Config.processors = KMRIG_PROCESSORS_DEFAULT;
    if (!rt->Config.epoch)
        rt->Config.epoch = KMRIG_DEFAULT_EPOCH;
    rt->Verify = rt->Config.verify_off ? 0 : rt->Config.verify;
    KI_STATE *ke = &rt->Ke;
    ke->BootSystemTime = (ULONGLONG)rt->Config.epoch;
    ke->QuantumNs = rt->Config.quantum_ns ? rt->Config.quantum_ns : 10000000;
    ke->TimeQueryCostNs = rt->Config.time_query_cost_ns ? rt->Config.time_query_cost_ns : 50;
    ke->BudgetNs = rt->Config.time_budget_ns;
    if (!NT_SUCCESS(KmpTraceInitialize(rt))) {
        free(rt);
        return -ENOMEM;
    }
    if (rt->Config.target) {
        int rc = HalpOpenTarget(rt, rt->Config.target);
        if (rc) {
            HalpCloseTarget(rt);
            KmpTraceShutdown(rt);
            free(rt);
            return rc;
        }
    }
    if (rt->Config.clock) {
        ke->Clock = rt->Config.clock;
        ke->ClockCtx = rt->Config.clock_ctx;
    } else if (rt->Hal && rt->Hal->DeviceClock) {
        ke->Clock = &HalpDeviceClockOps;
        ke->ClockCtx = rt->Hal;
    } else if (rt->Config.time_mode == KMRIG_TIME_WALL ||
               (rt->Hal && rt->Hal->Link && rt->Hal->Info.irq_lines)) {
        /* a wall-time target with interrupts (a board, sim:fidelity=stream) wakes the
         * processors by itself (HalpLinkEvent): its time is the host's */
        ke->Clock = KiWallClockOps();
        ke->ClockCtx = ke->WallClock = KiWallClockCreate();
    } else {
        ke->Clock = KiVirtualClockOps();
        ke->ClockCtx = ke->VirtualClock = KiVirtualClockCreate();
    }
    if (!ke->ClockCtx && !rt->Config.clock) {
        HalpCloseTarget(rt);
        KmpTraceShutdown(rt);
        free(rt);
        return -ENOMEM;
    }
    if (!NT_SUCCESS(KiInitialize(rt))) {
        KiShutdown(rt);
        HalpCloseTarget(rt);
        KmpTraceShutdown(rt);
        free(rt);
        return -ENOMEM;
    }
    if (!KiAttachHostThread(rt, TRUE)) {
        KiShutdown(rt);
        HalpCloseTarget(rt);
        KmpTraceShutdown(rt);
        free(rt);
        return -ENOMEM;
    }
    KiAcquireDispatcherLock(rt);
    ke->Detached--;
    KiReleaseDispatcherLock(rt);
    NTSTATUS s = KmpInitializeComponents(rt);
    if (!NT_SUCCESS(s)) {
        KiDetachHostThread(KiCurrentThread());
        KiShutdown(rt);
        HalpCloseTarget(rt);
        KmpTraceShutdown(rt);
        free(rt);
        return -ENOMEM;
    }
    KmpLiveAdd(rt);
    *out = rt;
    return 0;
}

void KmSay(KM_TEXT *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t room = t->Len < t->Cap ? t->Cap - t->Len : 0;
    int k = vsnprintf(room ? t->Buf + t->Len : NULL, room, fmt, ap);
    va_end(ap);
    if (k > 0)
        t->Len += (size_t)k;
}

BOOLEAN KmLockBriefly(pthread_mutex_t *m)
{
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_nsec += 200000000;
    if (dl.tv_nsec >= 1000000000) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000;
    }
    return pthread_mutex_timedlock(m, &dl) == 0;
}

size_t kmrig_runtime_irq_report(kmrig_runtime *rt, char *buf, size_t n)
{
    return HalpIrqReport(rt, buf, n);
}

void kmrig_runtime_report_all(int fd)
{
    static char text[16384];
    static pthread_mutex_t once = PTHREAD_MUTEX_INITIALIZER; /* one report at a time: text */
    pthread_mutex_lock(&once);
    pthread_mutex_lock(&KmpLiveLock);
    unsigned k = 0;
    for (struct kmrig_runtime *rt = KmpLive; rt; rt = rt->NextLive, k++) {
        for (int part = 0; part < 2; part++) {
            size_t len =
                part ? KiThreadReport(rt, text, sizeof text) : HalpIrqReport(rt, text, sizeof text);
            if (len >= sizeof text)
                len = sizeof text - 1;
            for (size_t off = 0; off < len;) {
                ssize_t w = write(fd, text + off, len - off);
                if (w <= 0)
                    break;
                off += (size_t)w;
            }
        }
    }
    if (!k) {
        static const char none[] = "interrupt lines: no kmrig runtime is open\n";
        ssize_t w = write(fd, none, sizeof none - 1);
        (void)w;
    }
    pthread_mutex_unlock(&KmpLiveLock);
    pthread_mutex_unlock(&once);
}

void kmrig_runtime_destroy(kmrig_runtime *rt)
{
    PKTHREAD t = KiCurrentThreadOrNull();
    if (!t || t->Runtime != rt)
        KiFatal("kmrig_runtime_destroy: call it from the thread attached to that runtime");
    if (t->Prcb->Irql != PASSIVE_LEVEL)
        KeBugCheckEx(IRQL_NOT_LESS_OR_EQUAL, t->Prcb->Irql, PASSIVE_LEVEL, 0,
                     (ULONG_PTR) "kmrig_runtime_destroy");
    KmpLiveRemove(rt);
    HalpQuiesceLinkEvents(rt);
    KmpShutdownComponents(rt, KMP_COMPONENTS);
    KmpTraceShutdown(rt); /* the drivers have unloaded: the trace is complete */
    KiAcquireDispatcherLock(rt);
    rt->Ke.Detached++; /* stopping: nothing must advance or report a deadlock any more */
    KiReleaseDispatcherLock(rt);
    KiDetachHostThread(t);
    KiShutdown(rt);
    HalpCloseTarget(rt);
    free(rt->Ke.Prcb);
    free(rt->Ke.VirtualClock);
    free(rt->Ke.WallClock);
    free(rt);
}

void kmrig_runtime_detach(kmrig_runtime *rt)
{
    PKTHREAD t = KiCurrentThreadOrNull();
    if (!t || t->Runtime != rt)
        KiFatal("kmrig_runtime_detach: this thread is not attached to that runtime");
    KiAcquireDispatcherLock(rt);
    rt->Ke.Detached++;
    KiReleaseDispatcherLock(rt);
    KiDetachHostThread(t);
}

void kmrig_runtime_attach(kmrig_runtime *rt)
{
    if (KiCurrentThreadOrNull())
        KiFatal("kmrig_runtime_attach: this thread is attached already");
    KiAttachHostThread(rt, TRUE);
    KiAcquireDispatcherLock(rt);
    rt->Ke.Detached--;
    KiReleaseDispatcherLock(rt);
}

kmrig_runtime *kmrig_runtime_current(void)
{
    return KiRuntime();
}

uint64_t kmrig_runtime_now_ns(kmrig_runtime *rt)
{
    return KiNowNs(rt);
}

void kmrig_runtime_run_for(kmrig_runtime *rt, uint64_t ns)
{
    LARGE_INTEGER d;
    d.QuadPart = -(LONGLONG)((ns + 99) / 100);
    if (d.QuadPart == 0)
        d.QuadPart = -1;
    KeDelayExecutionThread(KernelMode, FALSE, &d);
}

/*
 * Time sources: the virtual clock (default; time moves only when the runtime charges it or every
 * processor is idle) and the wall clock (CLOCK_MONOTONIC). A device model brings its own source
 * (struct kmrig_clock_ops) whose time is the model's clock.
 */
#define _GNU_SOURCE
#include "rt.h"

#include <stdlib.h>
#include <time.h>

/* ---- virtual ---------------------------------------------------------------------------- */

typedef struct {
    atomic_ullong Now;
} KI_VCLOCK;

static uint64_t KiVNow(void *ctx)
{
    return atomic_load_explicit(&((KI_VCLOCK *)ctx)->Now, memory_order_acquire);
}

static uint64_t KiVBusy(void *ctx, uint64_t ns)
{
    atomic_fetch_add_explicit(&((KI_VCLOCK *)ctx)->Now, ns, memory_order_acq_rel);
    return ns;
}

static uint64_t KiVIdle(void *ctx, uint64_t deadline)
{
    KI_VCLOCK *c = ctx;
    uint64_t now = atomic_load(&c->Now);
    if (deadline != UINT64_MAX && deadline > now) {
        atomic_store(&c->Now, deadline);
        now = deadline;
    }
    return now;
}

static const struct kmrig_clock_ops KiVirtualOps = {
    .name = "virtual",
    .is_virtual = 1,
    .has_events = 0,
    .now_ns = KiVNow,
    .busy = KiVBusy,
    .idle = KiVIdle,
    .kick = NULL,
};

const struct kmrig_clock_ops *KiVirtualClockOps(void)
{
    return &KiVirtualOps;
}

void *KiVirtualClockCreate(void)
{
    return calloc(1, sizeof(KI_VCLOCK));
}

/* ---- wall ------------------------------------------------------------------------------- */

typedef struct {
    struct timespec Start;
    pthread_mutex_t Lock;
    pthread_cond_t Cv;
    unsigned Kicks;
} KI_WCLOCK;

static uint64_t KiWNow(void *ctx)
{
    KI_WCLOCK *c = ctx;
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)(t.tv_sec - c->Start.tv_sec) * 1000000000ull +
           (uint64_t)(t.tv_nsec - c->Start.tv_nsec);
}

static uint64_t KiWBusy(void *ctx, uint64_t ns)
{
    uint64_t end = KiWNow(ctx) + ns;
    while (KiWNow(ctx) < end)
        __builtin_ia32_pause();
    return ns;
}

static uint64_t KiWIdle(void *ctx, uint64_t deadline)
{
    KI_WCLOCK *c = ctx;
    pthread_mutex_lock(&c->Lock);
    while (!c->Kicks) {
        uint64_t now = KiWNow(c);
        if (now >= deadline)
            break;
        if (deadline == UINT64_MAX) {
            pthread_cond_wait(&c->Cv, &c->Lock);
            continue;
        }
        uint64_t abs =
            (uint64_t)c->Start.tv_sec * 1000000000ull + (uint64_t)c->Start.tv_nsec + deadline;
        struct timespec ts = {(time_t)(abs / 1000000000ull), (long)(abs % 1000000000ull)};
        pthread_cond_timedwait(&c->Cv, &c->Lock, &ts);
    }
    c->Kicks = 0;
    pthread_mutex_unlock(&c->Lock);
    return KiWNow(c);
}

static void KiWKick(void *ctx)
{
    KI_WCLOCK *c = ctx;
    pthread_mutex_lock(&c->Lock);
    c->Kicks++;
    pthread_cond_signal(&c->Cv);
    pthread_mutex_unlock(&c->Lock);
}

static const struct kmrig_clock_ops KiWallOps = {
    .name = "wall",
    .is_virtual = 0,
    .has_events = 1,
    .now_ns = KiWNow,
    .busy = KiWBusy,
    .idle = KiWIdle,
    .kick = KiWKick,
};

const struct kmrig_clock_ops *KiWallClockOps(void)
{
    return &KiWallOps;
}

void *KiWallClockCreate(void)
{
    KI_WCLOCK *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(&c->Cv, &a);
    pthread_condattr_destroy(&a);
    pthread_mutex_init(&c->Lock, NULL);
    clock_gettime(CLOCK_MONOTONIC, &c->Start);
    return c;
}

/* ---- the runtime's view ----------------------------------------------------------------- */

ULONGLONG KiNowNs(struct kmrig_runtime *rt)
{
    return rt->Ke.Clock->now_ns(rt->Ke.ClockCtx);
}

static void KiMarkTimersDue(struct kmrig_runtime *rt)
{
    for (ULONG i = 0; i < rt->Ke.NumberProcessors; i++)
        atomic_fetch_or(&rt->Ke.Prcb[i].Pending, KI_PENDING_TIMER);
}

/* After time moved on the calling processor: timers due, quantum end, budget. */
static void KiAfterTimeMoved(struct kmrig_runtime *rt, ULONGLONG now)
{
    if (now >= atomic_load_explicit(&rt->Ke.NextTimerDue, memory_order_relaxed))
        KiMarkTimersDue(rt);
    PKTHREAD t = KiCurrentThreadOrNull();
    if (t && atomic_load_explicit(&rt->Ke.ReadyCount, memory_order_relaxed) &&
        now - t->QuantumStart >= rt->Ke.QuantumNs)
        atomic_fetch_or(&t->Prcb->Pending, KI_PENDING_RESCHED);
    if (rt->Ke.BudgetNs && now > rt->Ke.BudgetNs && rt->Ke.Clock->is_virtual) {
        KmLog(rt, KMRIG_LOG_ERROR,
              "simulated time budget of %llu ns exhausted by a busy processor (a stall or a "
              "loop polling time or a device)",
              (unsigned long long)rt->Ke.BudgetNs);
        KiBugCheckRt(rt, KMRIG_BUGCHECK_TIME_BUDGET, (ULONG_PTR)rt->Ke.BudgetNs, now, 1, 0);
    }
}

VOID KiTimeMoved(struct kmrig_runtime *rt)
{
    KiAfterTimeMoved(rt, KiNowNs(rt));
}

VOID KiChargeTime(struct kmrig_runtime *rt, ULONGLONG ns)
{
    if (!ns)
        return;
    rt->Ke.Clock->busy(rt->Ke.ClockCtx, ns);
    KiAfterTimeMoved(rt, KiNowNs(rt));
}

/* A stall: the processor stays busy; interrupts above its IRQL (and, below DISPATCH_LEVEL, DPCs
 * and due timers) are serviced in it, at their due time. */
static void KiStall(PKTHREAD t, ULONGLONG ns)
{
    struct kmrig_runtime *rt = t->Runtime;
    while (ns) {
        ULONGLONG now = KiNowNs(rt);
        ULONGLONG step = ns;
        ULONGLONG due = atomic_load(&rt->Ke.NextTimerDue);
        if (due > now && due - now < step)
            step = due - now;
        ULONGLONG done = rt->Ke.Clock->busy(rt->Ke.ClockCtx, step);
        if (done == 0)
            done = 1;
        if (done > ns)
            done = ns;
        ns -= done;
        KiAfterTimeMoved(rt, KiNowNs(rt));
        KiDeliver(t);
    }
}

VOID NTAPI KeStallExecutionProcessor(ULONG MicroSeconds)
{
    PKTHREAD t = KiCurrentThread();
    KiStall(t, (ULONGLONG)MicroSeconds * 1000);
}

/* ---- time queries ----------------------------------------------------------------------- */

#define KI_TIME_INCREMENT 156250   /* 15.625 ms in 100 ns units, the default clock tick */
#define KI_PERF_FREQUENCY 10000000 /* 10 MHz, as on current Windows */

static ULONGLONG KiQueryNs(void)
{
    PKTHREAD t = KiCurrentThread();
    struct kmrig_runtime *rt = t->Runtime;
    if (rt->Ke.Clock->is_virtual) {
        KiChargeTime(rt, rt->Ke.TimeQueryCostNs);
        KiDeliver(t);
    }
    return KiNowNs(rt);
}

ULONG NTAPI KeQueryTimeIncrement(VOID)
{
    return KI_TIME_INCREMENT;
}

VOID NTAPI KeQuerySystemTime(PLARGE_INTEGER CurrentTime)
{
    struct kmrig_runtime *rt = KiCurrentThread()->Runtime;
    ULONGLONG ns = KiQueryNs();
    CurrentTime->QuadPart = (LONGLONG)(rt->Ke.BootSystemTime + ns / 100);
}

ULONGLONG NTAPI KeQueryInterruptTime(VOID)
{
    return KiQueryNs() / 100;
}

VOID NTAPI KeQueryTickCount(PLARGE_INTEGER TickCount)
{
    TickCount->QuadPart = (LONGLONG)(KiQueryNs() / 100 / KI_TIME_INCREMENT);
}

LARGE_INTEGER NTAPI KeQueryPerformanceCounter(PLARGE_INTEGER PerformanceFrequency)
{
    LARGE_INTEGER li;
    if (PerformanceFrequency)
        PerformanceFrequency->QuadPart = KI_PERF_FREQUENCY;
    li.QuadPart = (LONGLONG)(KiQueryNs() / 100);
    return li;
}

/* NT due time (negative: relative, 100 ns; positive: absolute system time) -> ns on our clock. */
ULONGLONG KiDueTimeToNs(struct kmrig_runtime *rt, LONGLONG DueTime)
{
    ULONGLONG now = KiNowNs(rt);
    if (DueTime < 0) {
        ULONGLONG rel = (ULONGLONG)(-(DueTime + 1)) + 1; /* no overflow at MINLONGLONG */
        if (rel > (UINT64_MAX - now) / 100)
            return UINT64_MAX - 1;
        return now + rel * 100;
    }
    ULONGLONG abs = (ULONGLONG)DueTime;
    if (abs <= rt->Ke.BootSystemTime)
        return now;
    ULONGLONG ns = (abs - rt->Ke.BootSystemTime);
    if (ns > UINT64_MAX / 100)
        return UINT64_MAX - 1;
    ns *= 100;
    return ns < now ? now : ns;
}

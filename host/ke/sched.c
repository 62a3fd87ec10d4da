/*
 * Emulated processors and threads: the baton model.
 *
 * A thread runs driver code only while it is its processor's CurrentThread. All scheduling state
 * is under the instance's dispatcher lock; a thread that does not hold a processor sleeps on its
 * own condition variable until KiGrant() hands it one. With one processor exactly one host thread
 * runs driver code at any time, and which one follows only from the order of runtime events,
 * which is what makes runs on virtual time repeatable.
 */
#define _GNU_SOURCE
#include "rt.h"
#include "vf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Thread_local PKTHREAD KiTlsThread;

PKTHREAD KiCurrentThread(void)
{
    PKTHREAD t = KiTlsThread;
    if (!t)
        KiFatal("an NT routine was called from a thread that is not attached to a kmrig runtime "
                "(create the runtime on this thread, or use PsCreateSystemThread)");
    return t;
}

VOID KiAcquireDispatcherLock(struct kmrig_runtime *rt)
{
    pthread_mutex_lock(&rt->Ke.DispatcherLock);
}

VOID KiReleaseDispatcherLock(struct kmrig_runtime *rt)
{
    pthread_mutex_unlock(&rt->Ke.DispatcherLock);
}

/* Dispatcher lock held. Hands processor p to thread t. */
static void KiGrant(struct kmrig_runtime *rt, PKPRCB p, PKTHREAD t)
{
    if (p->CurrentThread == NULL)
        rt->Ke.IdleProcessors--;
    p->CurrentThread = t;
    t->Prcb = p;
    t->State = Running;
    t->QuantumStart = KiNowNs(rt);
    pthread_cond_signal(&t->Cv);
}

static BOOLEAN KiAllowed(PKTHREAD t, PKPRCB p)
{
    return (t->Affinity >> p->Number) & 1;
}

/* Dispatcher lock held. The best ready thread that may run on p, or NULL. */
static PKTHREAD KiFindReadyThread(struct kmrig_runtime *rt, PKPRCB p)
{
    if (atomic_load_explicit(&rt->Ke.ReadyCount, memory_order_relaxed) == 0)
        return NULL;
    for (int prio = MAXIMUM_PRIORITY; prio >= 0; prio--) {
        PLIST_ENTRY head = &rt->Ke.ReadyList[prio];
        for (PLIST_ENTRY e = head->Flink; e != head; e = e->Flink) {
            PKTHREAD t = CONTAINING_RECORD(e, KTHREAD, ReadyEntry);
            if (KiAllowed(t, p))
                return t;
        }
    }
    return NULL;
}

static void KiRemoveReady(struct kmrig_runtime *rt, PKTHREAD t)
{
    RemoveEntryList(&t->ReadyEntry);
    atomic_fetch_sub_explicit(&rt->Ke.ReadyCount, 1, memory_order_relaxed);
}

static BOOLEAN KiProcessorHasWork(PKPRCB p)
{
    return (atomic_load(&p->Pending) & (KI_PENDING_DPC | KI_PENDING_INTERRUPT)) ||
           atomic_load(&p->DpcQueueDepth) != 0;
}

/* Dispatcher lock held. Work (a DPC or an interrupt) was made for p: if p is idle, its DPC thread
 * takes it now; otherwise the holder sees it at its next delivery point. */
VOID KiWakeProcessorForWork(struct kmrig_runtime *rt, PKPRCB p)
{
    PKTHREAD d = p->DpcThread;
    if (p->CurrentThread == NULL && d && d->State == Waiting)
        KiReadyThread(rt, d);
}

static void KiClockMaybeIdle(struct kmrig_runtime *rt)
{
    if (rt->Ke.IdleProcessors == rt->Ke.NumberProcessors) {
        pthread_cond_signal(&rt->Ke.ClockCv);
        KiClockChanged(rt);
    }
}

VOID KiClockChanged(struct kmrig_runtime *rt)
{
    /* A wall clock may sleep in idle() towards a later deadline than the one now due. */
    if (!rt->Ke.Clock->is_virtual && rt->Ke.Clock->kick)
        rt->Ke.Clock->kick(rt->Ke.ClockCtx);
}

/* Dispatcher lock held. p's holder gave it up: pick what runs next. */
static void KiReleaseProcessor(struct kmrig_runtime *rt, PKPRCB p)
{
    PKTHREAD next = NULL;
    /* A processor with queued DPCs drains them before anything else runs on it (as NT's idle
     * loop and dispatch interrupt do). */
    if (KiProcessorHasWork(p) && p->DpcThread && p->DpcThread->State == Waiting)
        next = p->DpcThread;
    else {
        next = KiFindReadyThread(rt, p);
        if (next)
            KiRemoveReady(rt, next);
    }
    if (next) {
        KiGrant(rt, p, next);
        return;
    }
    p->CurrentThread = NULL;
    rt->Ke.IdleProcessors++;
    KiClockMaybeIdle(rt);
}

VOID KiReadyThread(struct kmrig_runtime *rt, PKTHREAD t)
{
    t->State = Ready;
    /* An idle processor takes it at once (lowest number first, for repeatability). */
    for (ULONG i = 0; i < rt->Ke.NumberProcessors; i++) {
        PKPRCB p = &rt->Ke.Prcb[i];
        if (p->CurrentThread == NULL && KiAllowed(t, p)) {
            KiGrant(rt, p, t);
            return;
        }
    }
    InsertTailList(&rt->Ke.ReadyList[t->Priority], &t->ReadyEntry);
    atomic_fetch_add_explicit(&rt->Ke.ReadyCount, 1, memory_order_relaxed);
    /* Preemption: a processor running a lower-priority thread reschedules at its next delivery
     * point. */
    for (ULONG i = 0; i < rt->Ke.NumberProcessors; i++) {
        PKPRCB p = &rt->Ke.Prcb[i];
        if (KiAllowed(t, p) && p->CurrentThread && p->CurrentThread->Priority < t->Priority) {
            atomic_fetch_or(&p->Pending, KI_PENDING_RESCHED);
            break;
        }
    }
}

VOID KiSwapThread(struct kmrig_runtime *rt, PKTHREAD t)
{
    PKPRCB p = t->Prcb;
    t->WaitIrql = p->Irql;
    p->Irql = PASSIVE_LEVEL;
    if (t->State == Ready) {
        /* A yield: queue behind threads of the same priority. */
        InsertTailList(&rt->Ke.ReadyList[t->Priority], &t->ReadyEntry);
        atomic_fetch_add_explicit(&rt->Ke.ReadyCount, 1, memory_order_relaxed);
    }
    KiReleaseProcessor(rt, p);
    while (t->State != Running)
        pthread_cond_wait(&t->Cv, &rt->Ke.DispatcherLock);
    t->Prcb->Irql = t->WaitIrql;
}

/* ---- threads ---------------------------------------------------------------------------- */

struct KiStartBlock {
    PKTHREAD Thread;
    void (*Start)(PKTHREAD);
};

static void KiRecordStack(PKTHREAD t)
{
    pthread_attr_t attr;
    if (pthread_getattr_np(pthread_self(), &attr) == 0) {
        void *addr = NULL;
        size_t size = 0;
        if (pthread_attr_getstack(&attr, &addr, &size) == 0) {
            t->StackLimit = (ULONG_PTR)addr;
            t->StackBase = (ULONG_PTR)addr + size;
        }
        pthread_attr_destroy(&attr);
    }
}

static void *KiThreadMain(void *arg)
{
    struct KiStartBlock sb = *(struct KiStartBlock *)arg;
    free(arg);
    PKTHREAD t = sb.Thread;
    struct kmrig_runtime *rt = t->Runtime;
    KiTlsThread = t;
    KiRecordStack(t);
    KiAcquireDispatcherLock(rt);
    while (t->State != Running)
        pthread_cond_wait(&t->Cv, &rt->Ke.DispatcherLock);
    t->Prcb->Irql = PASSIVE_LEVEL;
    KiReleaseDispatcherLock(rt);
    sb.Start(t);
    KiTerminateThread(t, STATUS_SUCCESS);
    return NULL;
}

static void KiInitThreadObject(struct kmrig_runtime *rt, PKTHREAD t, KPRIORITY Priority)
{
    t->Header.Type = ThreadObject;
    t->Header.Size = sizeof(KTHREAD) / sizeof(LONG);
    t->Header.SignalState = 0;
    InitializeListHead(&t->Header.WaitListHead);
    t->Runtime = rt;
    t->State = Initialized;
    t->Affinity = ((KAFFINITY)1 << rt->Ke.NumberProcessors) - 1;
    if (rt->Ke.NumberProcessors >= 64)
        t->Affinity = ~(KAFFINITY)0;
    t->Priority = t->BasePriority = Priority;
    t->SystemThread = TRUE;
    pthread_cond_init(&t->Cv, NULL);
    InitializeListHead(&t->MutantListHead);
    KeInitializeTimer(&t->Timer);
    t->Prcb = &rt->Ke.Prcb[0];
    KiAcquireDispatcherLock(rt);
    InsertTailList(&rt->Ke.ThreadList, &t->ThreadListEntry);
    rt->Ke.ThreadCount++;
    KiReleaseDispatcherLock(rt);
}

/* Allocated by the caller (Ps allocates thread objects through Ob; DPC threads are plain). */
PKTHREAD KiCreateThread(struct kmrig_runtime *rt, PKTHREAD Memory, void (*Start)(PKTHREAD),
                        PVOID StartRoutine, PVOID StartContext, KPRIORITY Priority,
                        BOOLEAN DpcThread, PKPRCB Bound)
{
    PKTHREAD t = Memory ? Memory : calloc(1, sizeof(KTHREAD));
    if (!t)
        return NULL;
    KiInitThreadObject(rt, t, Priority);
    t->StartRoutine = StartRoutine;
    t->StartContext = StartContext;
    t->IsDpcThread = DpcThread;
    if (Bound) {
        t->Affinity = (KAFFINITY)1 << Bound->Number;
        t->Prcb = Bound;
    }
    struct KiStartBlock *sb = malloc(sizeof *sb);
    if (!sb) {
        free(t);
        return NULL;
    }
    sb->Thread = t;
    sb->Start = Start;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 1u << 20);
    if (DpcThread) {
        /* Waits for work until the first DPC or interrupt arrives. */
        t->State = Waiting;
    }
    int rc = pthread_create(&t->HostThread, &attr, KiThreadMain, sb);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        free(sb);
        KiAcquireDispatcherLock(rt);
        RemoveEntryList(&t->ThreadListEntry);
        rt->Ke.ThreadCount--;
        KiReleaseDispatcherLock(rt);
        pthread_cond_destroy(&t->Cv);
        if (!Memory)
            free(t);
        return NULL;
    }
    if (!DpcThread) {
        KiAcquireDispatcherLock(rt);
        KiReadyThread(rt, t);
        KiReleaseDispatcherLock(rt);
    }
    return t;
}

VOID KiTerminateThread(PKTHREAD t, NTSTATUS ExitStatus)
{
    struct kmrig_runtime *rt = t->Runtime;
    if (t->Prcb->Irql != PASSIVE_LEVEL && !t->IsDpcThread)
        KeBugCheckEx(IRQL_NOT_LESS_OR_EQUAL, t->Prcb->Irql, 0, 0, (ULONG_PTR)t->StartRoutine);
    if (!IsListEmpty(&t->MutantListHead) && VfOn(rt, KMRIG_VERIFY_LOCKS))
        KeBugCheckEx(KERNEL_APC_PENDING_DURING_EXIT, (ULONG_PTR)t, 0, 0, 0);
    KiAcquireDispatcherLock(rt);
    t->ExitStatus = ExitStatus;
    t->State = Terminated;
    t->Header.SignalState = 1;
    KiWaitTest(rt, &t->Header);
    RemoveEntryList(&t->ThreadListEntry);
    rt->Ke.ThreadCount--;
    PKPRCB p = t->Prcb;
    p->Irql = PASSIVE_LEVEL;
    KiReleaseProcessor(rt, p);
    pthread_cond_broadcast(&rt->Ke.ClockCv);
    BOOLEAN adopted = t->Adopted;
    /* The thread object's memory belongs to whoever created it: Ps drops the thread's reference
     * on itself in the reaper, here, under the dispatcher lock, so that a waiter released above
     * (it cannot run before we unlock) already sees the final reference count. The object may go
     * away in the reaper: t is not touched after it. DPC threads are freed by KiShutdown. */
    if (t->Reaper && !adopted)
        t->Reaper(t);
    KiReleaseDispatcherLock(rt);
    KiTlsThread = NULL;
    if (adopted)
        return;
    pthread_exit(NULL);
}

PKTHREAD KiAttachHostThread(struct kmrig_runtime *rt, BOOLEAN Adopted)
{
    PKTHREAD t = calloc(1, sizeof(KTHREAD));
    if (!t)
        return NULL;
    KiInitThreadObject(rt, t, 8);
    t->Adopted = Adopted;
    t->HostThread = pthread_self();
    KiRecordStack(t);
    KiTlsThread = t;
    KiAcquireDispatcherLock(rt);
    KiReadyThread(rt, t);
    while (t->State != Running)
        pthread_cond_wait(&t->Cv, &rt->Ke.DispatcherLock);
    t->Prcb->Irql = PASSIVE_LEVEL;
    KiReleaseDispatcherLock(rt);
    return t;
}

VOID KiDetachHostThread(PKTHREAD t)
{
    struct kmrig_runtime *rt = t->Runtime;
    KiAcquireDispatcherLock(rt);
    RemoveEntryList(&t->ThreadListEntry);
    rt->Ke.ThreadCount--;
    t->State = Terminated;
    PKPRCB p = t->Prcb;
    p->Irql = PASSIVE_LEVEL;
    KiReleaseProcessor(rt, p);
    KiReleaseDispatcherLock(rt);
    KiTlsThread = NULL;
    pthread_cond_destroy(&t->Cv);
    free(t);
}

/* ---- delivery points -------------------------------------------------------------------- */

KIRQL KiRaiseIrql(PKTHREAD t, KIRQL NewIrql)
{
    KIRQL old = t->Prcb->Irql;
    t->Prcb->Irql = NewIrql;
    return old;
}

VOID KiLowerIrql(PKTHREAD t, KIRQL NewIrql)
{
    t->Prcb->Irql = NewIrql;
    KiDeliver(t);
}

/* Dispatcher lock held (the vector table). The highest requested vector whose IRQL is above
 * Irql, cleared from the request set; -1 when none. A request for a vector with no service (it
 * was disconnected) is dropped. Leaves KI_PENDING_INTERRUPT set while requests remain. */
static int KiTakeInterrupt(struct kmrig_runtime *rt, PKPRCB p, KIRQL Irql)
{
    atomic_fetch_and(&p->Pending, ~KI_PENDING_INTERRUPT);
    int best = -1;
    KIRQL bestIrql = Irql;
    BOOLEAN any = FALSE;
    for (int w = 0; w < KI_MAX_VECTORS / 64; w++) {
        unsigned long long bits = atomic_load(&p->InterruptRequest[w]);
        while (bits) {
            int b = __builtin_ctzll(bits);
            bits &= bits - 1;
            int v = w * 64 + b;
            if (!rt->Ke.Vectors[v].Service) {
                atomic_fetch_and(&p->InterruptRequest[w], ~(1ull << b));
                continue;
            }
            any = TRUE;
            if (rt->Ke.Vectors[v].Irql > bestIrql) {
                bestIrql = rt->Ke.Vectors[v].Irql;
                best = v;
            }
        }
    }
    if (best >= 0)
        atomic_fetch_and(&p->InterruptRequest[best / 64], ~(1ull << (best % 64)));
    if (any)
        atomic_fetch_or(&p->Pending, KI_PENDING_INTERRUPT);
    return best;
}

static void KiQuantumEnd(PKTHREAD t)
{
    struct kmrig_runtime *rt = t->Runtime;
    KiAcquireDispatcherLock(rt);
    PKPRCB p = t->Prcb;
    PKTHREAD next = KiFindReadyThread(rt, p);
    ULONGLONG now = KiNowNs(rt);
    if (next && (next->Priority > t->Priority ||
                 (next->Priority == t->Priority && now - t->QuantumStart >= rt->Ke.QuantumNs))) {
        t->State = Ready;
        KiSwapThread(rt, t);
    }
    KiReleaseDispatcherLock(rt);
}

VOID KiDeliverSlow(PKTHREAD t)
{
    struct kmrig_runtime *rt = t->Runtime;
    for (;;) {
        PKPRCB p = t->Prcb;
        unsigned pend = atomic_load(&p->Pending);
        if (!pend)
            return;
        if ((pend & KI_PENDING_TIMER) && p->Irql < CLOCK_LEVEL) {
            atomic_fetch_and(&p->Pending, ~KI_PENDING_TIMER);
            KiAcquireDispatcherLock(rt);
            KiExpireTimers(rt, KiNowNs(rt));
            KiReleaseDispatcherLock(rt);
            continue;
        }
        if (pend & KI_PENDING_INTERRUPT) {
            KI_VECTOR vec;
            KiAcquireDispatcherLock(rt); /* against KiConnectVector / KiDisconnectVector */
            int v = KiTakeInterrupt(rt, p, p->Irql);
            if (v >= 0)
                vec = rt->Ke.Vectors[v];
            KiReleaseDispatcherLock(rt);
            if (v >= 0) {
                KIRQL old = KiRaiseIrql(t, vec.Irql);
                p->InterruptCount++;
                if (vec.Service)
                    vec.Service(rt, (ULONG)v, vec.Context);
                t->Prcb->Irql = old;
                continue;
            }
        }
        if (p->Irql >= DISPATCH_LEVEL)
            return;
        if (pend & KI_PENDING_DPC) {
            KIRQL old = KiRaiseIrql(t, DISPATCH_LEVEL);
            KiRetireDpcList(t);
            t->Prcb->Irql = old;
            continue;
        }
        if (pend & KI_PENDING_RESCHED) {
            atomic_fetch_and(&p->Pending, ~KI_PENDING_RESCHED);
            KiQuantumEnd(t);
            continue;
        }
        return;
    }
}

/* ---- the clock thread ------------------------------------------------------------------- */

static BOOLEAN KiAllIdle(struct kmrig_runtime *rt)
{
    if (rt->Ke.IdleProcessors != rt->Ke.NumberProcessors || rt->Ke.Detached)
        return FALSE;
    for (ULONG i = 0; i < rt->Ke.NumberProcessors; i++)
        if (KiProcessorHasWork(&rt->Ke.Prcb[i]))
            return FALSE;
    return TRUE;
}

static void KiReportWaits(struct kmrig_runtime *rt, char *buf, size_t n)
{
    size_t off = 0;
    for (PLIST_ENTRY e = rt->Ke.ThreadList.Flink; e != &rt->Ke.ThreadList && off < n;
         e = e->Flink) {
        PKTHREAD t = CONTAINING_RECORD(e, KTHREAD, ThreadListEntry);
        if (t->IsDpcThread)
            continue;
        off += (size_t)snprintf(buf + off, n - off, "\n  thread %p (start %p) waits on", (void *)t,
                                t->StartRoutine);
        for (ULONG i = 0; i < t->WaitCount && off < n; i++) {
            PDISPATCHER_HEADER h = t->WaitBlockList[i].Object;
            off += (size_t)snprintf(buf + off, n - off, " %p(type %u, state %d)", (void *)h,
                                    h->Type, (int)h->SignalState);
        }
    }
}

static const char *KiObjectName(UCHAR Type)
{
    switch (Type) {
    case EventNotificationObject:
        return "notification event";
    case EventSynchronizationObject:
        return "synchronization event";
    case MutantObject:
        return "mutex";
    case QueueObject:
        return "queue";
    case SemaphoreObject:
        return "semaphore";
    case ThreadObject:
        return "thread";
    case GateObject:
        return "gate";
    case TimerNotificationObject:
    case TimerSynchronizationObject:
        return "timer";
    default:
        return "object";
    }
}

size_t KiThreadReport(struct kmrig_runtime *rt, char *buf, size_t n)
{
    KM_TEXT t = {buf, n, 0};
    if (n)
        buf[0] = 0;
    if (!KmLockBriefly(&rt->Ke.DispatcherLock)) {
        KmSay(&t, "threads: the dispatcher lock is held elsewhere (not shown)\n");
        return t.Len;
    }
    KmSay(&t, "threads (DPC threads not shown):\n");
    for (PLIST_ENTRY e = rt->Ke.ThreadList.Flink; e != &rt->Ke.ThreadList; e = e->Flink) {
        PKTHREAD th = CONTAINING_RECORD(e, KTHREAD, ThreadListEntry);
        if (th->IsDpcThread)
            continue;
        const char *role = atomic_load(&th->Role);
        if (th->Adopted)
            KmSay(&t, "  thread %p (a host thread attached to the runtime): ", (void *)th);
        else if (role)
            KmSay(&t, "  thread %p (%s): ", (void *)th, role);
        else
            KmSay(&t, "  thread %p (start routine %p): ", (void *)th, th->StartRoutine);
        switch (th->State) {
        case Running:
            KmSay(&t, "running on processor %u\n", (unsigned)th->Prcb->Number);
            break;
        case Ready:
        case Standby:
            KmSay(&t, "ready, waiting for a processor\n");
            break;
        case Waiting:
            if (!th->WaitCount) {
                KmSay(&t, "waiting for time to pass (a delay)\n");
                break;
            }
            KmSay(&t, "waiting%s for %s of", th->Alertable ? " (alertable)" : "",
                  th->WaitType == WaitAll ? "all" : "any");
            for (ULONG i = 0; i < th->WaitCount; i++) {
                PDISPATCHER_HEADER h = th->WaitBlockList[i].Object;
                KmSay(&t, "%s %s %p (%s)", i ? "," : "", KiObjectName(h->Type), (void *)h,
                      h->SignalState > 0 ? "signalled" : "not signalled");
            }
            KmSay(&t, "\n");
            break;
        case Initialized:
            KmSay(&t, "created, not started\n");
            break;
        case Terminated:
            KmSay(&t, "ended\n");
            break;
        }
    }
    KiReleaseDispatcherLock(rt);
    return t.Len;
}

static void *KiClockThreadMain(void *arg)
{
    struct kmrig_runtime *rt = arg;
    const struct kmrig_clock_ops *clk = rt->Ke.Clock;
    KiAcquireDispatcherLock(rt);
    while (!rt->Ke.Shutdown) {
        if (!KiAllIdle(rt)) {
            pthread_cond_wait(&rt->Ke.ClockCv, &rt->Ke.DispatcherLock);
            continue;
        }
        ULONGLONG due = atomic_load(&rt->Ke.NextTimerDue);
        if (clk->is_virtual && due == UINT64_MAX && !clk->has_events)
            goto deadlock;
        /* Stop at the budget; but with no timer pending, a source with events is asked for its
         * next event, so that a device that has none is reported as the deadlock it is. */
        if (clk->is_virtual && rt->Ke.BudgetNs && due > rt->Ke.BudgetNs &&
            !(due == UINT64_MAX && clk->has_events))
            due = rt->Ke.BudgetNs;
        ULONGLONG before = clk->now_ns(rt->Ke.ClockCtx);
        KiReleaseDispatcherLock(rt);
        ULONGLONG after = clk->idle(rt->Ke.ClockCtx, due);
        KiAcquireDispatcherLock(rt);
        if (rt->Ke.Shutdown)
            break;
        if (after >= atomic_load(&rt->Ke.NextTimerDue)) {
            KiExpireTimers(rt, after);
            continue;
        }
        if (!clk->is_virtual || !KiAllIdle(rt))
            continue;
        /* A virtual source with events that could not move (no timer, and the device says
         * nothing will change by itself) leaves every thread waiting for good. */
        if (after == before && atomic_load(&rt->Ke.NextTimerDue) == UINT64_MAX)
            goto deadlock;
        if (rt->Ke.BudgetNs && after >= rt->Ke.BudgetNs) {
            char waits[2048] = "";
            KiReportWaits(rt, waits, sizeof waits);
            KmLog(rt, KMRIG_LOG_ERROR,
                  "simulated time budget of %llu ns exhausted with every thread waiting:%s",
                  (unsigned long long)rt->Ke.BudgetNs, waits);
            KiReleaseDispatcherLock(rt);
            KiBugCheckRt(rt, KMRIG_BUGCHECK_TIME_BUDGET, (ULONG_PTR)rt->Ke.BudgetNs, after, 0, 0);
        }
        continue;
    deadlock : {
        char waits[2048] = "";
        KiReportWaits(rt, waits, sizeof waits);
        KmLog(rt, KMRIG_LOG_ERROR,
              "deadlock: every thread waits and no timer or device event can wake one:%s", waits);
        KiReleaseDispatcherLock(rt);
        KiBugCheckRt(rt, KMRIG_BUGCHECK_DEADLOCK, KiNowNs(rt), 0, 0, 0);
    }
    }
    KiReleaseDispatcherLock(rt);
    return NULL;
}

/* ---- DPC threads ------------------------------------------------------------------------ */

static void KiDpcThreadMain(PKTHREAD t)
{
    struct kmrig_runtime *rt = t->Runtime;
    for (;;) {
        KiDeliverSlow(t);
        KiAcquireDispatcherLock(rt);
        if (rt->Ke.Shutdown) {
            KiReleaseDispatcherLock(rt);
            return;
        }
        PKPRCB p = t->Prcb;
        if (!KiProcessorHasWork(p)) {
            t->State = Waiting;
            KiSwapThread(rt, t);
        }
        KiReleaseDispatcherLock(rt);
        if (t->Prcb->DpcQueueDepth && !(atomic_load(&t->Prcb->Pending) & KI_PENDING_DPC))
            atomic_fetch_or(&t->Prcb->Pending, KI_PENDING_DPC); /* low-importance DPCs: drain */
    }
}

/* ---- lifecycle -------------------------------------------------------------------------- */

NTSTATUS KiInitialize(struct kmrig_runtime *rt)
{
    KI_STATE *ke = &rt->Ke;
    pthread_mutex_init(&ke->DispatcherLock, NULL);
    pthread_cond_init(&ke->ClockCv, NULL);
    ke->NumberProcessors = rt->Config.processors;
    ke->Prcb = calloc(ke->NumberProcessors, sizeof(KPRCB));
    if (!ke->Prcb)
        return STATUS_INSUFFICIENT_RESOURCES;
    for (int i = 0; i <= MAXIMUM_PRIORITY; i++)
        InitializeListHead(&ke->ReadyList[i]);
    InitializeListHead(&ke->ThreadList);
    InitializeListHead(&ke->TimerList);
    InitializeListHead(&ke->BugCheckCallbackList);
    KeInitializeSpinLock(&ke->BugCheckLock);
    atomic_store(&ke->NextTimerDue, UINT64_MAX);
    ke->IdleProcessors = ke->NumberProcessors;
    ke->Detached = 1; /* the clock waits until the creating thread has attached */
    for (ULONG i = 0; i < ke->NumberProcessors; i++) {
        PKPRCB p = &ke->Prcb[i];
        p->Number = i;
        pthread_mutex_init(&p->DpcLock, NULL);
        p->DpcTail = &p->DpcHead;
    }
    for (ULONG i = 0; i < ke->NumberProcessors; i++) {
        PKPRCB p = &ke->Prcb[i];
        p->DpcThread = KiCreateThread(rt, NULL, KiDpcThreadMain, (PVOID)KiDpcThreadMain, NULL,
                                      MAXIMUM_PRIORITY, TRUE, p);
        if (!p->DpcThread)
            return STATUS_INSUFFICIENT_RESOURCES;
    }
    if (pthread_create(&ke->ClockThread, NULL, KiClockThreadMain, rt) != 0)
        return STATUS_INSUFFICIENT_RESOURCES;
    ke->ClockRunning = TRUE;
    return STATUS_SUCCESS;
}

VOID KiShutdown(struct kmrig_runtime *rt)
{
    KI_STATE *ke = &rt->Ke;
    KiAcquireDispatcherLock(rt);
    ke->Shutdown = TRUE;
    for (ULONG i = 0; i < ke->NumberProcessors; i++) {
        PKTHREAD d = ke->Prcb[i].DpcThread;
        if (d && d->State == Waiting)
            KiReadyThread(rt, d);
    }
    pthread_cond_broadcast(&ke->ClockCv);
    KiReleaseDispatcherLock(rt);
    if (ke->Clock->kick)
        ke->Clock->kick(ke->ClockCtx);
    if (ke->ClockRunning)
        pthread_join(ke->ClockThread, NULL);
    /* DPC threads end by themselves; wait until they have left the thread list. */
    KiAcquireDispatcherLock(rt);
    for (;;) {
        BOOLEAN alive = FALSE;
        for (ULONG i = 0; i < ke->NumberProcessors; i++)
            if (ke->Prcb[i].DpcThread && ke->Prcb[i].DpcThread->State != Terminated)
                alive = TRUE;
        if (!alive)
            break;
        KiReleaseDispatcherLock(rt);
        struct timespec ts = {0, 200000};
        nanosleep(&ts, NULL);
        KiAcquireDispatcherLock(rt);
    }
    KiReleaseDispatcherLock(rt);
    for (ULONG i = 0; i < ke->NumberProcessors; i++) {
        PKTHREAD d = ke->Prcb[i].DpcThread;
        if (d) {
            pthread_cond_destroy(&d->Cv);
            free(d);
        }
        pthread_mutex_destroy(&ke->Prcb[i].DpcLock);
    }
}

/*
 * ke.h - kernel internals: emulated processors, threads, the dispatcher lock, timers, the clock.
 *
 * Execution model (docs/architecture.md has the long form):
 *  - Each emulated processor (KPRCB) is a baton. A host thread runs driver code only while it holds
 *    one (KPRCB.CurrentThread == thread). It gives it up only when it waits, delays, yields at the
 *    end of its quantum at a delivery point, or ends. IRQL is per processor and only its holder
 *    touches it.
 *  - One dispatcher lock per instance (a pthread mutex) guards dispatcher objects, wait blocks,
 *    the ready queue, processor ownership and the timer queue. Threads blocked for a baton sleep on
 *    their own condition variable. Everything is pthread/C11-atomic, so TSan sees all hand-offs.
 *  - Every runtime entry that can change IRQL or make work is a delivery point: KiDeliver() runs
 *    pending interrupts whose IRQL is above the current one and, below DISPATCH_LEVEL, pending DPCs
 *    and a quantum-end yield.
 *  - When no processor is held and nothing is ready, the clock thread asks the time source to run
 *    to the next timer or device event (virtual time), or sleeps until then (wall time).
 */
#ifndef KMRIG_INTERNAL_KE_H
#define KMRIG_INTERNAL_KE_H

#include <ntddk.h>
#include <kmrig/runtime.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

struct kmrig_runtime;

typedef enum _KTHREAD_STATE {
    Initialized,
    Ready,
    Running,
    Standby,
    Terminated,
    Waiting,
} KTHREAD_STATE;

/* KPRCB.Pending bits */
#define KI_PENDING_DPC 0x1u
#define KI_PENDING_INTERRUPT 0x2u
#define KI_PENDING_TIMER 0x4u
#define KI_PENDING_RESCHED 0x8u

#define KI_MAX_VECTORS 256

typedef struct _KI_VECTOR {
    /* Connected interrupt service: called at Irql on the processor the interrupt was requested
     * on, with no lock held by the Ke layer. Returns nothing; the HAL's KINTERRUPT code handles
     * chains, spin locks and EOI. */
    void (*Service)(struct kmrig_runtime *rt, ULONG Vector, PVOID Context);
    PVOID Context;
    KIRQL Irql;
} KI_VECTOR;

typedef struct _KPRCB {
    ULONG Number;
    KIRQL Irql;                     /* holder only */
    struct _KTHREAD *CurrentThread; /* dispatcher lock; NULL: idle */
    struct _KTHREAD *DpcThread;
    atomic_uint Pending;       /* KI_PENDING_* */
    pthread_mutex_t DpcLock;   /* the DPC queue; taken at any IRQL */
    SINGLE_LIST_ENTRY DpcHead; /* queue of KDPC.DpcListEntry */
    PSINGLE_LIST_ENTRY DpcTail;
    atomic_uint DpcQueueDepth;
    BOOLEAN DpcRoutineActive;
    atomic_bool InDpc;
    /* Interrupts requested on this processor and not yet serviced (bit per vector). */
    atomic_ullong InterruptRequest[KI_MAX_VECTORS / 64];
    ULONGLONG DpcCount;
    ULONGLONG InterruptCount;
} KPRCB, *PKPRCB;

typedef struct _KTHREAD {
    DISPATCHER_HEADER Header; /* signalled when the thread terminates */
    struct kmrig_runtime *Runtime;
    volatile KTHREAD_STATE State; /* dispatcher lock */
    PKPRCB Prcb;                  /* the processor held (Running) or last held */
    KAFFINITY Affinity;
    KPRIORITY Priority;
    KPRIORITY BasePriority;
    BOOLEAN SystemThread;
    BOOLEAN IsDpcThread;
    BOOLEAN Adopted;  /* an outside pthread attached by the harness */
    BOOLEAN ObObject; /* the body of an Ob thread object (PsCreateSystemThread) */
    BOOLEAN Alerted;
    pthread_cond_t Cv; /* waits here (with the dispatcher lock) for a baton */
    LIST_ENTRY ReadyEntry;
    /* Waiting */
    PKWAIT_BLOCK WaitBlockList;
    ULONG WaitCount;
    UCHAR WaitType;
    BOOLEAN Alertable;
    NTSTATUS WaitStatus;
    KWAIT_BLOCK WaitBlock[THREAD_WAIT_OBJECTS + 1];
    KTIMER Timer;              /* wait timeout */
    LONG KernelApcDisable;     /* critical regions: < 0 inside */
    KIRQL WaitIrql;            /* the IRQL the thread had when it gave its processor up */
    LIST_ENTRY MutantListHead; /* mutexes owned */
    ULONGLONG QuantumStart;    /* ns */
    /* Stack as IoGetStackLimits reports it */
    ULONG_PTR StackBase, StackLimit;
    /* Ps */
    pthread_t HostThread;
    HANDLE UniqueThread;
    PVOID StartRoutine;
    PVOID StartContext;
    _Atomic(const char *) Role; /* what the runtime started it for (reports), or NULL */
    NTSTATUS ExitStatus;
    LIST_ENTRY ThreadListEntry;        /* all threads of the instance */
    void (*Reaper)(struct _KTHREAD *); /* runs last when the thread ends (drops Ob's ref) */
} KTHREAD;

typedef struct _KI_STATE {
    pthread_mutex_t DispatcherLock;
    ULONG NumberProcessors;
    PKPRCB Prcb; /* [NumberProcessors] */
    LIST_ENTRY ReadyList[MAXIMUM_PRIORITY + 1];
    atomic_uint ReadyCount;
    ULONG IdleProcessors; /* count of processors with CurrentThread == NULL */
    LIST_ENTRY ThreadList;
    ULONG ThreadCount;
    /* Clock */
    const struct kmrig_clock_ops *Clock;
    void *ClockCtx;
    pthread_t ClockThread;
    pthread_cond_t ClockCv;
    BOOLEAN ClockRunning;
    BOOLEAN Shutdown;
    ULONG Detached;             /* creator detached: virtual clock frozen */
    ULONG Busy;                 /* threads in a busy() time charge */
    LIST_ENTRY TimerList;       /* KTIMERs by DueTime (interrupt time, 100 ns) */
    atomic_ullong NextTimerDue; /* ns; UINT64_MAX when no timer is set */
    ULONGLONG BootSystemTime;   /* NT system time at ns 0 */
    ULONGLONG TimeQueryCostNs;
    ULONGLONG QuantumNs;
    ULONGLONG BudgetNs;
    /* Interrupt vectors (HAL connects them) */
    KI_VECTOR Vectors[KI_MAX_VECTORS];
    /* Bugcheck callbacks */
    LIST_ENTRY BugCheckCallbackList;
    KSPIN_LOCK BugCheckLock;
    /* Wall clock state */
    void *WallClock;
    void *VirtualClock;
} KI_STATE;

/* The calling thread's KTHREAD, NULL when it is not a runtime thread. */
extern _Thread_local PKTHREAD KiTlsThread;
static inline PKTHREAD KiCurrentThreadOrNull(void)
{
    return KiTlsThread;
}
/* The calling thread's KTHREAD; bugchecks-free fatal error when called from a foreign thread. */
PKTHREAD KiCurrentThread(void);
static inline PKPRCB KiCurrentPrcb(void)
{
    return KiCurrentThread()->Prcb;
}

/* Lifecycle */
NTSTATUS KiInitialize(struct kmrig_runtime *rt);
VOID KiShutdown(struct kmrig_runtime *rt);
PKTHREAD KiAttachHostThread(struct kmrig_runtime *rt, BOOLEAN Adopted);
VOID KiDetachHostThread(PKTHREAD Thread);

/* Scheduler (dispatcher lock held unless noted) */
VOID KiAcquireDispatcherLock(struct kmrig_runtime *rt);
VOID KiReleaseDispatcherLock(struct kmrig_runtime *rt);
VOID KiReadyThread(struct kmrig_runtime *rt, PKTHREAD Thread);
VOID KiSwapThread(struct kmrig_runtime *rt,
                  PKTHREAD Thread); /* gives the baton up, waits for one */
VOID KiWakeProcessorForWork(struct kmrig_runtime *rt, PKPRCB Prcb);
/* Memory: a zeroed KTHREAD-sized block the caller owns (Ps: an Ob object), or NULL to allocate. */
PKTHREAD KiCreateThread(struct kmrig_runtime *rt, PKTHREAD Memory, void (*Start)(PKTHREAD),
                        PVOID StartRoutine, PVOID StartContext, KPRIORITY Priority,
                        BOOLEAN DpcThread, PKPRCB Bound);
VOID KiTerminateThread(PKTHREAD Thread, NTSTATUS ExitStatus); /* no return */

/* Delivery point: call with no lock held, at any IRQL. */
VOID KiDeliverSlow(PKTHREAD Thread);
static inline void KiDeliver(PKTHREAD Thread)
{
    if (atomic_load_explicit(&Thread->Prcb->Pending, memory_order_acquire))
        KiDeliverSlow(Thread);
}

/* IRQL change without verification (internal) */
KIRQL KiRaiseIrql(PKTHREAD Thread, KIRQL NewIrql);
VOID KiLowerIrql(PKTHREAD Thread, KIRQL NewIrql);

/* DPCs */
VOID KiQueueDpcOnPrcb(struct kmrig_runtime *rt, PKPRCB Prcb, PKDPC Dpc, PVOID A1, PVOID A2);
VOID KiRetireDpcList(PKTHREAD Thread); /* at DISPATCH_LEVEL */

/* Dispatcher objects */
LONG KiSignalObject(struct kmrig_runtime *rt, PDISPATCHER_HEADER Object); /* wakes waiters */
VOID KiWaitTest(struct kmrig_runtime *rt, PDISPATCHER_HEADER Object);
VOID KiInsertTimer(struct kmrig_runtime *rt, PKTIMER Timer, ULONGLONG DueNs);
BOOLEAN KiRemoveTimer(struct kmrig_runtime *rt, PKTIMER Timer);
VOID KiExpireTimers(struct kmrig_runtime *rt, ULONGLONG NowNs);      /* dispatcher lock held */
ULONGLONG KiDueTimeToNs(struct kmrig_runtime *rt, LONGLONG DueTime); /* NT due time -> ns */

/* Time */
ULONGLONG KiNowNs(struct kmrig_runtime *rt);
VOID KiChargeTime(struct kmrig_runtime *rt,
                  ULONGLONG ns); /* a busy cost on the calling processor */
/* The time source moved by itself on the calling processor (a device access took time):
 * timers due, quantum end, budget. */
VOID KiTimeMoved(struct kmrig_runtime *rt);
const struct kmrig_clock_ops *KiWallClockOps(void);
const struct kmrig_clock_ops *KiVirtualClockOps(void);
void *KiVirtualClockCreate(void);
void *KiWallClockCreate(void);
VOID KiClockChanged(struct kmrig_runtime *rt); /* a timer was set: the clock thread re-plans */

/* Interrupts: request a vector on a processor from any thread (device models, link threads). */
VOID KiRequestInterrupt(struct kmrig_runtime *rt, ULONG Processor, ULONG Vector);
VOID KiConnectVector(struct kmrig_runtime *rt, ULONG Vector, KIRQL Irql,
                     void (*Service)(struct kmrig_runtime *, ULONG, PVOID), PVOID Context);
VOID KiDisconnectVector(struct kmrig_runtime *rt, ULONG Vector);

/* KeBugCheckEx for a known instance, from any thread (the clock thread has no KTHREAD). */
DECLSPEC_NORETURN VOID KiBugCheckRt(struct kmrig_runtime *rt, ULONG Code, ULONG_PTR P1,
                                    ULONG_PTR P2, ULONG_PTR P3, ULONG_PTR P4);

/* Bugcheck with a runtime-internal message (a harness misuse, an impossible state). */
DECLSPEC_NORETURN VOID KiFatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif

/*
 * work.c - system worker threads: ExInitializeWorkItem, ExQueueWorkItem.
 *
 * Each instance runs its own workers (PsCreateSystemThread at ExpInitialize): two for
 * CriticalWorkQueue, two for DelayedWorkQueue and one for HyperCriticalWorkQueue, at NT's
 * priorities. A queue is a list under a spin lock plus a semaphore counting the items. The worker
 * clears the item's List.Flink before calling the routine (so the routine may queue its item
 * again) and bugchecks WORKER_THREAD_RETURNED_AT_BAD_IRQL if the routine returns above
 * PASSIVE_LEVEL. Other queue types map onto these three: Normal and Background onto Delayed,
 * RealTime, SuperCritical and custom priorities onto Critical.
 */
#include "ex.h"

#undef ExInitializeWorkItem

typedef struct _EXP_WORKER_START {
    struct kmrig_runtime *Runtime;
    PEXP_WORK_QUEUE Queue;
} EXP_WORKER_START;

static const ULONG ExpWorkerCount[EXP_WORK_QUEUES] = {2, 2, 1}; /* <= EXP_WORKERS_PER_QUEUE */
static const KPRIORITY ExpWorkerPriority[EXP_WORK_QUEUES] = {13, 12, 15};

static PEXP_WORK_QUEUE ExpQueueOf(PEXP_STATE ex, WORK_QUEUE_TYPE Type)
{
    switch (Type) {
    case CriticalWorkQueue:
    case DelayedWorkQueue:
    case HyperCriticalWorkQueue:
        return &ex->WorkQueue[Type];
    case NormalWorkQueue:
    case BackgroundWorkQueue:
        return &ex->WorkQueue[DelayedWorkQueue];
    default:
        return &ex->WorkQueue[CriticalWorkQueue];
    }
}

static VOID NTAPI ExpWorkerThread(PVOID Context)
{
    PEXP_WORK_QUEUE q = Context;
    struct kmrig_runtime *rt = KiRuntime();
    PEXP_STATE ex = rt->Ex;
    for (;;) {
        KeWaitForSingleObject(&q->Semaphore, WrQueue, KernelMode, FALSE, NULL);
        KIRQL old;
        KeAcquireSpinLock(&q->Lock, &old);
        PLIST_ENTRY e = IsListEmpty(&q->Items) ? NULL : RemoveHeadList(&q->Items);
        KeReleaseSpinLock(&q->Lock, old);
        if (!e) {
            if (__atomic_load_n(&ex->WorkersStopping, __ATOMIC_ACQUIRE))
                break;
            continue;
        }
        PWORK_QUEUE_ITEM item = CONTAINING_RECORD(e, WORK_QUEUE_ITEM, List);
        PWORKER_THREAD_ROUTINE routine = item->WorkerRoutine;
        PVOID parameter = item->Parameter;
        item->List.Flink = NULL;
        routine(parameter);
        KIRQL irql = KeGetCurrentIrql();
        if (irql != PASSIVE_LEVEL) {
            KmLog(rt, KMRIG_LOG_ERROR, "work item routine %p returned at IRQL %u", (PVOID)routine,
                  irql);
            KeBugCheckEx(WORKER_THREAD_RETURNED_AT_BAD_IRQL, (ULONG_PTR)routine, irql,
                         (ULONG_PTR)parameter, (ULONG_PTR)item);
        }
    }
}

NTSTATUS ExpInitializeWorkers(struct kmrig_runtime *rt)
{
    PEXP_STATE ex = rt->Ex;
    for (int i = 0; i < EXP_WORK_QUEUES; i++) {
        PEXP_WORK_QUEUE q = &ex->WorkQueue[i];
        InitializeListHead(&q->Items);
        KeInitializeSpinLock(&q->Lock);
        KeInitializeSemaphore(&q->Semaphore, 0, MAXLONG);
        q->Priority = ExpWorkerPriority[i];
    }
    for (int i = 0; i < EXP_WORK_QUEUES; i++) {
        PEXP_WORK_QUEUE q = &ex->WorkQueue[i];
        for (ULONG k = 0; k < ExpWorkerCount[i]; k++) {
            HANDLE h;
            PVOID thread = NULL;
            NTSTATUS s =
                PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL, ExpWorkerThread, q);
            if (NT_SUCCESS(s)) {
                s = ObReferenceObjectByHandle(h, THREAD_ALL_ACCESS, *PsThreadType, KernelMode,
                                              &thread, NULL);
                ZwClose(h);
            }
            if (!NT_SUCCESS(s)) {
                ExpShutdownWorkers(rt);
                return s;
            }
            atomic_store(&((PKTHREAD)thread)->Role, "a system worker thread (ExQueueWorkItem)");
            KeSetPriorityThread(thread, q->Priority);
            q->ThreadObjects[q->Threads++] = thread;
        }
    }
    return STATUS_SUCCESS;
}

/* Stops the workers: each wakes once more, finds its queue empty and the stop flag set, and
 * returns; the thread objects tell when they have ended. Items still queued are not run. */
VOID ExpShutdownWorkers(struct kmrig_runtime *rt)
{
    PEXP_STATE ex = rt->Ex;
    __atomic_store_n(&ex->WorkersStopping, TRUE, __ATOMIC_RELEASE);
    for (int i = 0; i < EXP_WORK_QUEUES; i++) {
        PEXP_WORK_QUEUE q = &ex->WorkQueue[i];
        if (q->Threads)
            KeReleaseSemaphore(&q->Semaphore, 0, (LONG)q->Threads, FALSE);
    }
    for (int i = 0; i < EXP_WORK_QUEUES; i++) {
        PEXP_WORK_QUEUE q = &ex->WorkQueue[i];
        for (ULONG k = 0; k < q->Threads; k++) {
            KeWaitForSingleObject(q->ThreadObjects[k], Executive, KernelMode, FALSE, NULL);
            ObDereferenceObject(q->ThreadObjects[k]);
        }
        q->Threads = 0;
    }
}

VOID NTAPI ExInitializeWorkItem(PWORK_QUEUE_ITEM Item, PWORKER_THREAD_ROUTINE Routine,
                                PVOID Context)
{
    Item->WorkerRoutine = Routine;
    Item->Parameter = Context;
    Item->List.Flink = NULL;
}

VOID NTAPI ExQueueWorkItem(PWORK_QUEUE_ITEM WorkItem, WORK_QUEUE_TYPE QueueType)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    struct kmrig_runtime *rt = KiRuntime();
    PEXP_STATE ex = rt->Ex;
    if (WorkItem->List.Flink != NULL && VfOn(rt, KMRIG_VERIFY_IRQL | KMRIG_VERIFY_LOCKS)) {
        KmLogError("ExQueueWorkItem: work item %p is already queued", (PVOID)WorkItem);
        KeBugCheckEx(WORKER_INVALID, 1, (ULONG_PTR)WorkItem, (ULONG_PTR)QueueType, 0);
    }
    PEXP_WORK_QUEUE q = ExpQueueOf(ex, QueueType);
    KIRQL old;
    KeAcquireSpinLock(&q->Lock, &old);
    InsertTailList(&q->Items, &WorkItem->List);
    KeReleaseSpinLock(&q->Lock, old);
    KeReleaseSemaphore(&q->Semaphore, 0, 1, FALSE);
}

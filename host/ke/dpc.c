/*
 * DPCs. Each processor has a queue (KPRCB.DpcHead, under its DpcLock, takeable at any IRQL).
 * KDPC.DpcData holds the KPRCB the DPC is queued on (NULL when not queued), exactly one owner at
 * a time, set by compare-exchange. High importance goes to the head, the rest to the tail; a
 * LowImportance DPC does not start queue processing by itself (it runs with the next DPC, timer
 * or when its processor goes idle), as documented for KeSetImportanceDpc.
 */
#include "rt.h"
#include "trace.h"
#include "vf.h"

#define KI_DPC_TARGETED(Dpc) ((Dpc)->Number >= MAXIMUM_PROCESSORS)
#define KI_DPC_TARGET(Dpc) ((ULONG)(Dpc)->Number - MAXIMUM_PROCESSORS)

VOID NTAPI KeInitializeDpc(PRKDPC Dpc, PKDEFERRED_ROUTINE DeferredRoutine, PVOID DeferredContext)
{
    Dpc->TargetInfoAsUlong = 0;
    Dpc->Type = DpcObject;
    Dpc->Importance = MediumImportance;
    Dpc->Number = 0;
    Dpc->DpcListEntry.Next = NULL;
    Dpc->ProcessorHistory = 0;
    Dpc->DeferredRoutine = DeferredRoutine;
    Dpc->DeferredContext = DeferredContext;
    Dpc->SystemArgument1 = Dpc->SystemArgument2 = NULL;
    Dpc->DpcData = NULL;
}

/* Threaded DPCs run at PASSIVE_LEVEL on NT when threaded DPCs are enabled; kmrig runs them as
 * ordinary DPCs, which NT also does when threaded DPCs are disabled (documented behaviour). */
VOID NTAPI KeInitializeThreadedDpc(PRKDPC Dpc, PKDEFERRED_ROUTINE DeferredRoutine,
                                   PVOID DeferredContext)
{
    KeInitializeDpc(Dpc, DeferredRoutine, DeferredContext);
    Dpc->Type = ThreadedDpcObject;
}

VOID NTAPI KeSetImportanceDpc(PRKDPC Dpc, KDPC_IMPORTANCE Importance)
{
    Dpc->Importance = (UCHAR)Importance;
}

VOID NTAPI KeSetTargetProcessorDpc(PRKDPC Dpc, CCHAR Number)
{
    struct kmrig_runtime *rt = KiRuntime();
    if (rt && (ULONG)(UCHAR)Number >= rt->Ke.NumberProcessors)
        KeBugCheckEx(INVALID_PROCESSOR_INDEX, (ULONG_PTR)Dpc, (UCHAR)Number,
                     rt->Ke.NumberProcessors, 0);
    Dpc->Number = (USHORT)((UCHAR)Number + MAXIMUM_PROCESSORS);
}

/* Queue Dpc on p. Returns FALSE if it was queued already (anywhere). */
static BOOLEAN KiInsertDpc(PKPRCB p, PKDPC Dpc, PVOID A1, PVOID A2, BOOLEAN *Request)
{
    PVOID expected = NULL;
    if (!__atomic_compare_exchange_n((PVOID *)&Dpc->DpcData, &expected, (PVOID)p, FALSE,
                                     __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        return FALSE;
    pthread_mutex_lock(&p->DpcLock);
    Dpc->SystemArgument1 = A1;
    Dpc->SystemArgument2 = A2;
    if (Dpc->Importance == HighImportance) {
        Dpc->DpcListEntry.Next = p->DpcHead.Next;
        p->DpcHead.Next = &Dpc->DpcListEntry;
        if (p->DpcTail == &p->DpcHead)
            p->DpcTail = &Dpc->DpcListEntry;
    } else {
        Dpc->DpcListEntry.Next = NULL;
        p->DpcTail->Next = &Dpc->DpcListEntry;
        p->DpcTail = &Dpc->DpcListEntry;
    }
    atomic_fetch_add(&p->DpcQueueDepth, 1);
    *Request = Dpc->Importance != LowImportance;
    if (*Request)
        atomic_fetch_or(&p->Pending, KI_PENDING_DPC);
    pthread_mutex_unlock(&p->DpcLock);
    return TRUE;
}

BOOLEAN NTAPI KeInsertQueueDpc(PRKDPC Dpc, PVOID SystemArgument1, PVOID SystemArgument2)
{
    PKTHREAD t = KiCurrentThread();
    struct kmrig_runtime *rt = t->Runtime;
    PKPRCB p = KI_DPC_TARGETED(Dpc) ? &rt->Ke.Prcb[KI_DPC_TARGET(Dpc)] : t->Prcb;
    BOOLEAN request = FALSE;
    if (!KiInsertDpc(p, Dpc, SystemArgument1, SystemArgument2, &request))
        return FALSE;
    if (p != t->Prcb) {
        KiAcquireDispatcherLock(rt);
        KiWakeProcessorForWork(rt, p);
        KiReleaseDispatcherLock(rt);
    }
    /* Below DISPATCH_LEVEL the DPC interrupt fires now, before we return. */
    KiDeliver(t);
    return TRUE;
}

/* Used by timers and interrupts (dispatcher lock held by the caller for KiWakeProcessorForWork). */
VOID KiQueueDpcOnPrcb(struct kmrig_runtime *rt, PKPRCB Prcb, PKDPC Dpc, PVOID A1, PVOID A2)
{
    PKPRCB p = KI_DPC_TARGETED(Dpc) ? &rt->Ke.Prcb[KI_DPC_TARGET(Dpc)] : Prcb;
    BOOLEAN request = FALSE;
    if (KiInsertDpc(p, Dpc, A1, A2, &request))
        KiWakeProcessorForWork(rt, p);
}

BOOLEAN NTAPI KeRemoveQueueDpc(PRKDPC Dpc)
{
    PKPRCB p = __atomic_load_n((PVOID *)&Dpc->DpcData, __ATOMIC_ACQUIRE);
    if (!p)
        return FALSE;
    BOOLEAN removed = FALSE;
    pthread_mutex_lock(&p->DpcLock);
    if (__atomic_load_n((PVOID *)&Dpc->DpcData, __ATOMIC_ACQUIRE) == p) {
        PSINGLE_LIST_ENTRY prev = &p->DpcHead;
        while (prev->Next && prev->Next != &Dpc->DpcListEntry)
            prev = prev->Next;
        if (prev->Next) {
            prev->Next = Dpc->DpcListEntry.Next;
            if (p->DpcTail == &Dpc->DpcListEntry)
                p->DpcTail = prev;
            atomic_fetch_sub(&p->DpcQueueDepth, 1);
            __atomic_store_n((PVOID *)&Dpc->DpcData, NULL, __ATOMIC_RELEASE);
            removed = TRUE;
        }
    }
    pthread_mutex_unlock(&p->DpcLock);
    return removed;
}

/* At DISPATCH_LEVEL on the thread holding the processor: run every queued DPC. */
VOID KiRetireDpcList(PKTHREAD t)
{
    PKPRCB p = t->Prcb;
    for (;;) {
        pthread_mutex_lock(&p->DpcLock);
        PSINGLE_LIST_ENTRY e = p->DpcHead.Next;
        if (!e) {
            atomic_fetch_and(&p->Pending, ~KI_PENDING_DPC);
            pthread_mutex_unlock(&p->DpcLock);
            return;
        }
        p->DpcHead.Next = e->Next;
        if (p->DpcTail == e)
            p->DpcTail = &p->DpcHead;
        atomic_fetch_sub(&p->DpcQueueDepth, 1);
        PKDPC Dpc = CONTAINING_RECORD(e, KDPC, DpcListEntry);
        PKDEFERRED_ROUTINE routine = Dpc->DeferredRoutine;
        PVOID ctx = Dpc->DeferredContext, a1 = Dpc->SystemArgument1, a2 = Dpc->SystemArgument2;
        /* Dequeued before it runs, so the routine may queue it again. */
        __atomic_store_n((PVOID *)&Dpc->DpcData, NULL, __ATOMIC_RELEASE);
        pthread_mutex_unlock(&p->DpcLock);
        Dpc->ProcessorHistory |= (KAFFINITY)1 << p->Number;
        p->DpcRoutineActive = TRUE;
        atomic_store(&p->InDpc, true);
        KmTraceDpc(t->Runtime, routine, Dpc, ctx, a1, a2);
        p = t->Prcb;
        atomic_store(&p->InDpc, false);
        p->DpcRoutineActive = FALSE;
        p->DpcCount++;
        if (p->Irql != DISPATCH_LEVEL)
            KeBugCheckEx(IRQL_UNEXPECTED_VALUE, (ULONG_PTR)p->Irql << 16 | DISPATCH_LEVEL << 8,
                         (ULONG_PTR)routine, (ULONG_PTR)Dpc, 0);
    }
}

/* Returns after every DPC queued on every processor so far has run. */
VOID NTAPI KeFlushQueuedDpcs(VOID)
{
    PKTHREAD t = KiCurrentThread();
    struct kmrig_runtime *rt = t->Runtime;
    VF_IRQL_MAX(PASSIVE_LEVEL);
    KiDeliver(t);
    for (;;) {
        BOOLEAN busy = FALSE;
        for (ULONG i = 0; i < rt->Ke.NumberProcessors; i++)
            if (atomic_load(&rt->Ke.Prcb[i].DpcQueueDepth) || atomic_load(&rt->Ke.Prcb[i].InDpc))
                busy = TRUE;
        if (!busy)
            return;
        LARGE_INTEGER d = {.QuadPart = -10}; /* 1 us */
        KeDelayExecutionThread(KernelMode, FALSE, &d);
    }
}

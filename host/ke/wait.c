/*
 * Dispatcher objects and waits, with real wait blocks on each object's WaitListHead.
 * Everything here runs under the instance's dispatcher lock. KiWaitTest is called whenever an
 * object may have become signalled: it satisfies waiters in list order (WaitAny: this object;
 * WaitAll: every object of that wait, if all are signalled) and readies them.
 */
#include "rt.h"
#include "vf.h"

#include <string.h>

#define KI_TIMEOUT_KEY 0xFFFF

static BOOLEAN KiIsMutant(PDISPATCHER_HEADER h)
{
    return h->Type == MutantObject;
}

static BOOLEAN KiIsSignaled(PDISPATCHER_HEADER h, PKTHREAD t)
{
    if (KiIsMutant(h))
        return h->SignalState > 0 || ((PKMUTANT)h)->OwnerThread == t;
    return h->SignalState > 0;
}

/* Consume one unit of the object's signal for t (the side effect of a satisfied wait). Returns
 * TRUE if a mutex was abandoned. */
static BOOLEAN KiWaitSatisfy(PDISPATCHER_HEADER h, PKTHREAD t)
{
    switch (h->Type) {
    case EventSynchronizationObject:
    case TimerSynchronizationObject:
        h->SignalState = 0;
        return FALSE;
    case SemaphoreObject:
        h->SignalState--;
        return FALSE;
    case MutantObject: {
        PKMUTANT m = (PKMUTANT)h;
        if (h->SignalState == MINLONG)
            KeBugCheckEx(MUTEX_LEVEL_NUMBER_VIOLATION, (ULONG_PTR)m, 0, 0, 0);
        h->SignalState--;
        if (h->SignalState == 0) {
            m->OwnerThread = t;
            t->KernelApcDisable -= m->ApcDisable;
            InsertHeadList(&t->MutantListHead, &m->MutantListEntry);
            if (m->Abandoned) {
                m->Abandoned = FALSE;
                return TRUE;
            }
        }
        return FALSE;
    }
    default:
        return FALSE; /* notification events and timers, threads: stay signalled */
    }
}

static void KiUnwaitThread(struct kmrig_runtime *rt, PKTHREAD t, NTSTATUS Status)
{
    for (ULONG i = 0; i < t->WaitCount; i++)
        RemoveEntryList(&t->WaitBlockList[i].WaitListEntry);
    PKWAIT_BLOCK tb = &t->WaitBlock[THREAD_WAIT_OBJECTS];
    if (tb->BlockState) { /* the timeout is armed (its timer may have expired already) */
        RemoveEntryList(&tb->WaitListEntry);
        KiRemoveTimer(rt, &t->Timer);
        tb->BlockState = 0;
    }
    t->WaitCount = 0;
    t->WaitStatus = Status;
    KiReadyThread(rt, t);
}

VOID KiWaitTest(struct kmrig_runtime *rt, PDISPATCHER_HEADER Object)
{
    PLIST_ENTRY head = &Object->WaitListHead;
restart:
    for (PLIST_ENTRY e = head->Flink; e != head; e = e->Flink) {
        PKWAIT_BLOCK wb = CONTAINING_RECORD(e, KWAIT_BLOCK, WaitListEntry);
        PKTHREAD t = wb->Thread;
        if (wb->WaitKey == KI_TIMEOUT_KEY) {
            if (Object->SignalState > 0) {
                KiUnwaitThread(rt, t, STATUS_TIMEOUT);
                goto restart;
            }
            continue;
        }
        if (!KiIsSignaled(Object, t)) {
            if (KiIsMutant(Object))
                continue; /* owned by another thread: only its owner can take it */
            return;
        }
        if (wb->WaitType == WaitAny) {
            BOOLEAN abandoned = KiWaitSatisfy(Object, t);
            KiUnwaitThread(rt, t,
                           (abandoned ? STATUS_ABANDONED_WAIT_0 : STATUS_WAIT_0) + wb->WaitKey);
            goto restart;
        }
        /* WaitAll: only if every object of that wait is signalled for t. */
        BOOLEAN all = TRUE;
        for (ULONG i = 0; i < t->WaitCount && all; i++)
            all = KiIsSignaled(t->WaitBlockList[i].Object, t);
        if (!all)
            continue;
        BOOLEAN abandoned = FALSE;
        for (ULONG i = 0; i < t->WaitCount; i++)
            abandoned |= KiWaitSatisfy(t->WaitBlockList[i].Object, t);
        KiUnwaitThread(rt, t, abandoned ? STATUS_ABANDONED_WAIT_0 : STATUS_WAIT_0);
        goto restart;
    }
}

LONG KiSignalObject(struct kmrig_runtime *rt, PDISPATCHER_HEADER Object)
{
    LONG old = Object->SignalState;
    Object->SignalState = 1;
    if (!IsListEmpty(&Object->WaitListHead))
        KiWaitTest(rt, Object);
    return old;
}

/* ---- the wait ------------------------------------------------------------------------------ */

static NTSTATUS KiWait(ULONG Count, PVOID Object[], WAIT_TYPE WaitType, BOOLEAN Alertable,
                       PLARGE_INTEGER Timeout, PKWAIT_BLOCK WaitBlockArray, const char *Routine)
{
    PKTHREAD t = KiCurrentThread();
    struct kmrig_runtime *rt = t->Runtime;
    KIRQL irql = t->Prcb->Irql;
    BOOLEAN zero = Timeout && Timeout->QuadPart == 0;
    if (irql > DISPATCH_LEVEL)
        VfCheckIrqlMax(DISPATCH_LEVEL, Routine);
    if (irql == DISPATCH_LEVEL && !zero) {
        if (VfOn(rt, KMRIG_VERIFY_WAITS | KMRIG_VERIFY_IRQL))
            KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, VF_WAIT_AT_DISPATCH, irql,
                         (ULONG_PTR)(Timeout ? Timeout->QuadPart : -1), (ULONG_PTR)Routine);
        KeBugCheckEx(IRQL_NOT_LESS_OR_EQUAL, irql, 0, 0, (ULONG_PTR)Routine);
    }
    if (Count > MAXIMUM_WAIT_OBJECTS || (Count > THREAD_WAIT_OBJECTS && !WaitBlockArray))
        KeBugCheckEx(MAXIMUM_WAIT_OBJECTS_EXCEEDED, Count, (ULONG_PTR)WaitBlockArray, 0, 0);
    if (Count == 0)
        WaitType = WaitAny;
    PKWAIT_BLOCK wbs = Count > THREAD_WAIT_OBJECTS ? WaitBlockArray : t->WaitBlock;

    KiAcquireDispatcherLock(rt);
    NTSTATUS status;
    if (WaitType == WaitAny) {
        for (ULONG i = 0; i < Count; i++) {
            PDISPATCHER_HEADER h = Object[i];
            if (KiIsSignaled(h, t)) {
                BOOLEAN abandoned = KiWaitSatisfy(h, t);
                status = (abandoned ? STATUS_ABANDONED_WAIT_0 : STATUS_WAIT_0) + (NTSTATUS)i;
                goto done;
            }
        }
    } else {
        BOOLEAN all = TRUE;
        for (ULONG i = 0; i < Count && all; i++)
            all = KiIsSignaled(Object[i], t);
        if (all) {
            BOOLEAN abandoned = FALSE;
            for (ULONG i = 0; i < Count; i++)
                abandoned |= KiWaitSatisfy(Object[i], t);
            status = abandoned ? STATUS_ABANDONED_WAIT_0 : STATUS_WAIT_0;
            goto done;
        }
    }
    if (Alertable && t->Alerted) {
        t->Alerted = FALSE;
        status = STATUS_ALERTED;
        goto done;
    }
    if (zero) {
        status = STATUS_TIMEOUT;
        goto done;
    }
    /* Block: one wait block per object, plus the timeout timer's. */
    for (ULONG i = 0; i < Count; i++) {
        PKWAIT_BLOCK wb = &wbs[i];
        wb->Thread = t;
        wb->Object = Object[i];
        wb->WaitKey = (USHORT)i;
        wb->WaitType = (UCHAR)WaitType;
        wb->BlockState = 0;
        InsertTailList(&((PDISPATCHER_HEADER)Object[i])->WaitListHead, &wb->WaitListEntry);
    }
    t->WaitBlockList = wbs;
    t->WaitCount = Count;
    t->WaitType = (UCHAR)WaitType;
    t->Alertable = Alertable;
    if (Timeout) {
        PKWAIT_BLOCK tb = &t->WaitBlock[THREAD_WAIT_OBJECTS];
        tb->Thread = t;
        tb->Object = &t->Timer;
        tb->WaitKey = KI_TIMEOUT_KEY;
        tb->WaitType = WaitAny;
        tb->BlockState = 1;
        t->Timer.Header.SignalState = 0;
        InsertTailList(&t->Timer.Header.WaitListHead, &tb->WaitListEntry);
        KiInsertTimer(rt, &t->Timer, KiDueTimeToNs(rt, Timeout->QuadPart));
    }
    t->State = Waiting;
    KiSwapThread(rt, t);
    status = t->WaitStatus;
done:
    KiReleaseDispatcherLock(rt);
    KiDeliver(t);
    return status;
}

NTSTATUS NTAPI KeWaitForMultipleObjects(ULONG Count, PVOID Object[], WAIT_TYPE WaitType,
                                        KWAIT_REASON WaitReason, KPROCESSOR_MODE WaitMode,
                                        BOOLEAN Alertable, PLARGE_INTEGER Timeout,
                                        PKWAIT_BLOCK WaitBlockArray)
{
    if (WaitType != WaitAll && WaitType != WaitAny)
        return STATUS_INVALID_PARAMETER;
    if (Count == 0)
        return STATUS_INVALID_PARAMETER;
    return KiWait(Count, Object, WaitType, Alertable, Timeout, WaitBlockArray, __func__);
}

NTSTATUS NTAPI KeWaitForSingleObject(PVOID Object, KWAIT_REASON WaitReason,
                                     KPROCESSOR_MODE WaitMode, BOOLEAN Alertable,
                                     PLARGE_INTEGER Timeout)
{
    return KiWait(1, &Object, WaitAny, Alertable, Timeout, NULL, __func__);
}

NTSTATUS NTAPI KeWaitForMutexObject(PVOID Mutex, KWAIT_REASON WaitReason, KPROCESSOR_MODE WaitMode,
                                    BOOLEAN Alertable, PLARGE_INTEGER Timeout)
{
    return KiWait(1, &Mutex, WaitAny, Alertable, Timeout, NULL, __func__);
}

NTSTATUS NTAPI KeDelayExecutionThread(KPROCESSOR_MODE WaitMode, BOOLEAN Alertable,
                                      PLARGE_INTEGER Interval)
{
    VF_IRQL_MAX(APC_LEVEL);
    PKTHREAD t = KiCurrentThread();
    struct kmrig_runtime *rt = t->Runtime;
    if (Interval->QuadPart == 0) {
        /* A zero delay gives the rest of the quantum to a ready thread of equal priority. */
        KiAcquireDispatcherLock(rt);
        t->State = Ready;
        KiSwapThread(rt, t);
        KiReleaseDispatcherLock(rt);
        KiDeliver(t);
        return STATUS_SUCCESS;
    }
    NTSTATUS s = KiWait(0, NULL, WaitAny, Alertable, Interval, NULL, __func__);
    return s == STATUS_TIMEOUT ? STATUS_SUCCESS : s;
}

BOOLEAN NTAPI KeAlertThread(PKTHREAD Thread, KPROCESSOR_MODE AlertMode)
{
    struct kmrig_runtime *rt = Thread->Runtime;
    KiAcquireDispatcherLock(rt);
    BOOLEAN was = Thread->Alerted;
    if (Thread->State == Waiting && Thread->Alertable && !Thread->IsDpcThread)
        KiUnwaitThread(rt, Thread, STATUS_ALERTED);
    else
        Thread->Alerted = TRUE;
    KiReleaseDispatcherLock(rt);
    return was;
}

/* ---- events ---------------------------------------------------------------------------------- */

VOID NTAPI KeInitializeEvent(PRKEVENT Event, EVENT_TYPE Type, BOOLEAN State)
{
    Event->Header.Type =
        (UCHAR)(Type == NotificationEvent ? EventNotificationObject : EventSynchronizationObject);
    Event->Header.Signalling = 0;
    Event->Header.Size = sizeof(KEVENT) / sizeof(LONG);
    Event->Header.Reserved1 = 0;
    Event->Header.SignalState = State ? 1 : 0;
    InitializeListHead(&Event->Header.WaitListHead);
}

LONG NTAPI KeSetEvent(PRKEVENT Event, KPRIORITY Increment, BOOLEAN Wait)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    PKTHREAD t = KiCurrentThread();
    struct kmrig_runtime *rt = t->Runtime;
    KiAcquireDispatcherLock(rt);
    LONG old = KiSignalObject(rt, &Event->Header);
    KiReleaseDispatcherLock(rt);
    KiDeliver(t);
    return old;
}

LONG NTAPI KePulseEvent(PRKEVENT Event, KPRIORITY Increment, BOOLEAN Wait)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    PKTHREAD t = KiCurrentThread();
    struct kmrig_runtime *rt = t->Runtime;
    KiAcquireDispatcherLock(rt);
    LONG old = KiSignalObject(rt, &Event->Header);
    Event->Header.SignalState = 0;
    KiReleaseDispatcherLock(rt);
    KiDeliver(t);
    return old;
}

LONG NTAPI KeResetEvent(PRKEVENT Event)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    struct kmrig_runtime *rt = KiCurrentThread()->Runtime;
    KiAcquireDispatcherLock(rt);
    LONG old = Event->Header.SignalState;
    Event->Header.SignalState = 0;
    KiReleaseDispatcherLock(rt);
    return old;
}

VOID NTAPI KeClearEvent(PRKEVENT Event)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    struct kmrig_runtime *rt = KiCurrentThread()->Runtime;
    KiAcquireDispatcherLock(rt);
    Event->Header.SignalState = 0;
    KiReleaseDispatcherLock(rt);
}

static LONG KiReadState(PDISPATCHER_HEADER h)
{
    struct kmrig_runtime *rt = KiCurrentThread()->Runtime;
    KiAcquireDispatcherLock(rt);
    LONG s = h->SignalState;
    KiReleaseDispatcherLock(rt);
    return s;
}

LONG NTAPI KeReadStateEvent(PRKEVENT Event)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    return KiReadState(&Event->Header);
}

/* ---- mutexes --------------------------------------------------------------------------------- */

VOID NTAPI KeInitializeMutex(PRKMUTEX Mutex, ULONG Level)
{
    Mutex->Header.Type = MutantObject;
    Mutex->Header.Signalling = 0;
    Mutex->Header.Size = sizeof(KMUTEX) / sizeof(LONG);
    Mutex->Header.Reserved1 = 0;
    Mutex->Header.SignalState = 1;
    InitializeListHead(&Mutex->Header.WaitListHead);
    Mutex->MutantListEntry.Flink = Mutex->MutantListEntry.Blink = NULL;
    Mutex->OwnerThread = NULL;
    Mutex->Abandoned = FALSE;
    Mutex->ApcDisable = 1; /* a kernel mutex disables normal kernel APCs while held */
}

LONG NTAPI KeReleaseMutex(PRKMUTEX Mutex, BOOLEAN Wait)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    PKTHREAD t = KiCurrentThread();
    struct kmrig_runtime *rt = t->Runtime;
    KiAcquireDispatcherLock(rt);
    LONG old = Mutex->Header.SignalState;
    if (Mutex->OwnerThread != t) {
        KiReleaseDispatcherLock(rt);
        KeBugCheckEx(THREAD_NOT_MUTEX_OWNER, (ULONG_PTR)Mutex, (ULONG_PTR)Mutex->OwnerThread,
                     (ULONG_PTR)t, 0);
    }
    Mutex->Header.SignalState++;
    if (Mutex->Header.SignalState == 1) {
        RemoveEntryList(&Mutex->MutantListEntry);
        Mutex->OwnerThread = NULL;
        t->KernelApcDisable += Mutex->ApcDisable;
        KiWaitTest(rt, &Mutex->Header);
    }
    KiReleaseDispatcherLock(rt);
    KiDeliver(t);
    return old;
}

LONG NTAPI KeReadStateMutex(PRKMUTEX Mutex)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    return KiReadState(&Mutex->Header);
}

/* ---- semaphores ------------------------------------------------------------------------------ */

VOID NTAPI KeInitializeSemaphore(PRKSEMAPHORE Semaphore, LONG Count, LONG Limit)
{
    Semaphore->Header.Type = SemaphoreObject;
    Semaphore->Header.Signalling = 0;
    Semaphore->Header.Size = sizeof(KSEMAPHORE) / sizeof(LONG);
    Semaphore->Header.Reserved1 = 0;
    Semaphore->Header.SignalState = Count;
    InitializeListHead(&Semaphore->Header.WaitListHead);
    Semaphore->Limit = Limit;
}

LONG NTAPI KeReleaseSemaphore(PRKSEMAPHORE Semaphore, KPRIORITY Increment, LONG Adjustment,
                              BOOLEAN Wait)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    PKTHREAD t = KiCurrentThread();
    struct kmrig_runtime *rt = t->Runtime;
    KiAcquireDispatcherLock(rt);
    LONG old = Semaphore->Header.SignalState;
    if (Adjustment <= 0 || old > Semaphore->Limit - Adjustment) {
        KiReleaseDispatcherLock(rt);
        /* Documented: raises STATUS_SEMAPHORE_LIMIT_EXCEEDED; the count is unchanged. */
        ExRaiseStatus(STATUS_SEMAPHORE_LIMIT_EXCEEDED);
    }
    Semaphore->Header.SignalState = old + Adjustment;
    KiWaitTest(rt, &Semaphore->Header);
    KiReleaseDispatcherLock(rt);
    KiDeliver(t);
    return old;
}

LONG NTAPI KeReadStateSemaphore(PRKSEMAPHORE Semaphore)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    return KiReadState(&Semaphore->Header);
}

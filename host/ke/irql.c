/* IRQL and spin locks. IRQL is per emulated processor; only the thread holding the processor
 * reads or writes it. Lowering IRQL is a delivery point. */
#include "rt.h"
#include "vf.h"

KIRQL NTAPI KeGetCurrentIrql(VOID)
{
    return KiCurrentThread()->Prcb->Irql;
}

VOID NTAPI KeRaiseIrql(KIRQL NewIrql, PKIRQL OldIrql)
{
    PKTHREAD t = KiCurrentThread();
    KIRQL cur = t->Prcb->Irql;
    if (NewIrql < cur || NewIrql > HIGH_LEVEL)
        KeBugCheckEx(IRQL_NOT_GREATER_OR_EQUAL, cur, NewIrql, 0, 0);
    *OldIrql = KiRaiseIrql(t, NewIrql);
}

VOID NTAPI KeLowerIrql(KIRQL NewIrql)
{
    PKTHREAD t = KiCurrentThread();
    KIRQL cur = t->Prcb->Irql;
    if (NewIrql > cur)
        KeBugCheckEx(IRQL_NOT_LESS_OR_EQUAL, cur, NewIrql, 0, 0);
    KiLowerIrql(t, NewIrql);
}

KIRQL NTAPI KeRaiseIrqlToDpcLevel(VOID)
{
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    return old;
}

KIRQL NTAPI KeRaiseIrqlToSynchLevel(VOID)
{
    KIRQL old;
    KeRaiseIrql(SYNCH_LEVEL, &old);
    return old;
}

/* ---- spin locks ---------------------------------------------------------------------------
 * The lock word holds the owning KTHREAD (so the verifier can tell "not held" from "held by
 * someone else"). On one processor a second acquisition by the owner can only be a recursion or
 * an ISR taking a lock its own processor holds: both deadlock on NT, so both bugcheck here. */

static inline void KipAcquireSpinLock(PKTHREAD t, PKSPIN_LOCK SpinLock)
{
    ULONG_PTR expected = 0;
    if (__atomic_compare_exchange_n(SpinLock, &expected, (ULONG_PTR)t, FALSE, __ATOMIC_ACQUIRE,
                                    __ATOMIC_RELAXED))
        return;
    if (expected == (ULONG_PTR)t)
        KeBugCheckEx(SPIN_LOCK_ALREADY_OWNED, (ULONG_PTR)SpinLock, 0, 0, 0);
    for (;;) {
        while (__atomic_load_n(SpinLock, __ATOMIC_RELAXED) != 0)
            __builtin_ia32_pause();
        expected = 0;
        if (__atomic_compare_exchange_n(SpinLock, &expected, (ULONG_PTR)t, FALSE, __ATOMIC_ACQUIRE,
                                        __ATOMIC_RELAXED))
            return;
    }
}

static inline void KipReleaseSpinLock(PKTHREAD t, PKSPIN_LOCK SpinLock)
{
    if (t->Runtime->Verify & KMRIG_VERIFY_LOCKS) {
        ULONG_PTR owner = __atomic_load_n(SpinLock, __ATOMIC_RELAXED);
        if (owner != (ULONG_PTR)t)
            KeBugCheckEx(SPIN_LOCK_NOT_OWNED, (ULONG_PTR)SpinLock, owner, (ULONG_PTR)t, 0);
    }
    __atomic_store_n(SpinLock, 0, __ATOMIC_RELEASE);
}

VOID NTAPI KeInitializeSpinLock(PKSPIN_LOCK SpinLock)
{
    *SpinLock = 0;
}

VOID NTAPI KeAcquireSpinLock(PKSPIN_LOCK SpinLock, PKIRQL OldIrql)
{
    PKTHREAD t = KiCurrentThread();
    KIRQL cur = t->Prcb->Irql;
    if (cur > DISPATCH_LEVEL && (t->Runtime->Verify & KMRIG_VERIFY_IRQL))
        VfCheckIrqlMax(DISPATCH_LEVEL, "KeAcquireSpinLock");
    t->Prcb->Irql = DISPATCH_LEVEL;
    *OldIrql = cur;
    KipAcquireSpinLock(t, SpinLock);
}

KIRQL NTAPI KeAcquireSpinLockRaiseToDpc(PKSPIN_LOCK SpinLock)
{
    KIRQL old;
    KeAcquireSpinLock(SpinLock, &old);
    return old;
}

VOID NTAPI KeReleaseSpinLock(PKSPIN_LOCK SpinLock, KIRQL NewIrql)
{
    PKTHREAD t = KiCurrentThread();
    if (t->Runtime->Verify & KMRIG_VERIFY_IRQL) {
        if (t->Prcb->Irql != DISPATCH_LEVEL)
            VfCheckIrqlEq(DISPATCH_LEVEL, "KeReleaseSpinLock");
        if (NewIrql > DISPATCH_LEVEL)
            KeBugCheckEx(IRQL_NOT_LESS_OR_EQUAL, t->Prcb->Irql, NewIrql, 0, 0);
    }
    KipReleaseSpinLock(t, SpinLock);
    t->Prcb->Irql = NewIrql;
    if (NewIrql < DISPATCH_LEVEL)
        KiDeliver(t);
}

VOID NTAPI KeAcquireSpinLockAtDpcLevel(PKSPIN_LOCK SpinLock)
{
    PKTHREAD t = KiCurrentThread();
    if (t->Prcb->Irql < DISPATCH_LEVEL && (t->Runtime->Verify & KMRIG_VERIFY_IRQL))
        VfCheckIrqlMin(DISPATCH_LEVEL, "KeAcquireSpinLockAtDpcLevel");
    KipAcquireSpinLock(t, SpinLock);
}

VOID NTAPI KeReleaseSpinLockFromDpcLevel(PKSPIN_LOCK SpinLock)
{
    PKTHREAD t = KiCurrentThread();
    if (t->Prcb->Irql < DISPATCH_LEVEL && (t->Runtime->Verify & KMRIG_VERIFY_IRQL))
        VfCheckIrqlMin(DISPATCH_LEVEL, "KeReleaseSpinLockFromDpcLevel");
    KipReleaseSpinLock(t, SpinLock);
}

BOOLEAN NTAPI KeTryToAcquireSpinLockAtDpcLevel(PKSPIN_LOCK SpinLock)
{
    PKTHREAD t = KiCurrentThread();
    VF_IRQL_MIN(DISPATCH_LEVEL);
    ULONG_PTR expected = 0;
    return __atomic_compare_exchange_n(SpinLock, &expected, (ULONG_PTR)t, FALSE, __ATOMIC_ACQUIRE,
                                       __ATOMIC_RELAXED);
}

BOOLEAN NTAPI KeTestSpinLock(PKSPIN_LOCK SpinLock)
{
    /* TRUE when the lock is available */
    return __atomic_load_n(SpinLock, __ATOMIC_RELAXED) == 0;
}

VOID NTAPI KeAcquireInStackQueuedSpinLock(PKSPIN_LOCK SpinLock, PKLOCK_QUEUE_HANDLE LockHandle)
{
    LockHandle->LockQueue.Lock = SpinLock;
    LockHandle->LockQueue.Next = NULL;
    KeAcquireSpinLock(SpinLock, &LockHandle->OldIrql);
}

VOID NTAPI KeReleaseInStackQueuedSpinLock(PKLOCK_QUEUE_HANDLE LockHandle)
{
    KeReleaseSpinLock(LockHandle->LockQueue.Lock, LockHandle->OldIrql);
}

VOID NTAPI KeAcquireInStackQueuedSpinLockAtDpcLevel(PKSPIN_LOCK SpinLock,
                                                    PKLOCK_QUEUE_HANDLE LockHandle)
{
    LockHandle->LockQueue.Lock = SpinLock;
    LockHandle->LockQueue.Next = NULL;
    KeAcquireSpinLockAtDpcLevel(SpinLock);
}

VOID NTAPI KeReleaseInStackQueuedSpinLockFromDpcLevel(PKLOCK_QUEUE_HANDLE LockHandle)
{
    KeReleaseSpinLockFromDpcLevel(LockHandle->LockQueue.Lock);
}

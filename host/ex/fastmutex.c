/*
 * fastmutex.c - fast mutexes (FAST_MUTEX, x64 layout), with NT's Count protocol:
 *   bit 0 (FM_LOCK_BIT)          set while the mutex is free;
 *   bit 1 (FM_LOCK_WAITER_WOKEN) a waiter has been woken and has not yet retried;
 *   bits 2.. (FM_LOCK_WAITER_INC) number of waiters sleeping on Event (a synchronization event).
 * Acquire clears the lock bit; a contended acquirer counts itself as a waiter and sleeps. Release
 * sets the lock bit and, when there are waiters and none is already woken, wakes one.
 */
#include "ex.h"

static BOOLEAN ExpTryLock(PFAST_MUTEX FastMutex)
{
    LONG old = __atomic_fetch_and(&FastMutex->Count, ~FM_LOCK_BIT, __ATOMIC_ACQUIRE);
    return (old & FM_LOCK_BIT) != 0;
}

static void ExpLockSlow(PFAST_MUTEX FastMutex)
{
    BOOLEAN woken = FALSE;
    __atomic_fetch_add(&FastMutex->Contention, 1, __ATOMIC_RELAXED);
    for (;;) {
        LONG old = __atomic_load_n(&FastMutex->Count, __ATOMIC_RELAXED);
        LONG desired;
        if (old & FM_LOCK_BIT) {
            desired = old & ~FM_LOCK_BIT;
            if (woken)
                desired &= ~FM_LOCK_WAITER_WOKEN;
            if (__atomic_compare_exchange_n(&FastMutex->Count, &old, desired, FALSE,
                                            __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
                return;
            continue;
        }
        desired = old + FM_LOCK_WAITER_INC;
        if (woken)
            desired &= ~FM_LOCK_WAITER_WOKEN;
        if (__atomic_compare_exchange_n(&FastMutex->Count, &old, desired, FALSE, __ATOMIC_RELAXED,
                                        __ATOMIC_RELAXED)) {
            KeWaitForSingleObject(&FastMutex->Event, WrFastMutex, KernelMode, FALSE, NULL);
            woken = TRUE;
        }
    }
}

static void ExpUnlock(PFAST_MUTEX FastMutex)
{
    LONG old = __atomic_fetch_add(&FastMutex->Count, FM_LOCK_BIT, __ATOMIC_RELEASE);
    if (old == 0 || (old & FM_LOCK_WAITER_WOKEN))
        return;
    /* Waiters and none woken: take one off the count, mark it woken, wake it. */
    old += FM_LOCK_BIT;
    for (;;) {
        if (old < FM_LOCK_WAITER_INC || (old & FM_LOCK_WAITER_WOKEN))
            return;
        LONG desired = old - FM_LOCK_WAITER_INC + FM_LOCK_WAITER_WOKEN;
        if (__atomic_compare_exchange_n(&FastMutex->Count, &old, desired, FALSE, __ATOMIC_RELEASE,
                                        __ATOMIC_RELAXED)) {
            KeSetEvent(&FastMutex->Event, 0, FALSE);
            return;
        }
    }
}

static void ExpCheckRecursive(struct kmrig_runtime *rt, PFAST_MUTEX FastMutex)
{
    if (VfOn(rt, KMRIG_VERIFY_LOCKS) &&
        __atomic_load_n(&FastMutex->Owner, __ATOMIC_RELAXED) == (PVOID)KeGetCurrentThread()) {
        KmLogError("verifier: fast mutex %p acquired recursively (self-deadlock)",
                   (PVOID)FastMutex);
        KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, 0x1000, (ULONG_PTR)FastMutex, 0, 0);
    }
}

static void ExpCheckOwner(struct kmrig_runtime *rt, PFAST_MUTEX FastMutex)
{
    if (!VfOn(rt, KMRIG_VERIFY_LOCKS))
        return;
    PVOID owner = __atomic_load_n(&FastMutex->Owner, __ATOMIC_RELAXED);
    PVOID me = KeGetCurrentThread();
    if (owner == me)
        return;
    KmLogError("verifier: fast mutex %p released by %p, owner %p", (PVOID)FastMutex, me, owner);
    if (!owner)
        KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, EXP_VF_UNACQUIRED_RELEASE,
                     (ULONG_PTR)FastMutex, 0, 0);
    KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, EXP_VF_WRONG_THREAD_RELEASE,
                 (ULONG_PTR)FastMutex, (ULONG_PTR)owner, (ULONG_PTR)me);
}

VOID NTAPI ExInitializeFastMutex(PFAST_MUTEX FastMutex)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    FastMutex->Count = FM_LOCK_BIT;
    FastMutex->Owner = NULL;
    FastMutex->Contention = 0;
    FastMutex->OldIrql = PASSIVE_LEVEL;
    KeInitializeEvent(&FastMutex->Event, SynchronizationEvent, FALSE);
}

VOID NTAPI ExAcquireFastMutex(PFAST_MUTEX FastMutex)
{
    VF_IRQL_MAX(APC_LEVEL);
    struct kmrig_runtime *rt = KiRuntime();
    ExpCheckRecursive(rt, FastMutex);
    KIRQL old;
    KeRaiseIrql(APC_LEVEL, &old);
    if (!ExpTryLock(FastMutex))
        ExpLockSlow(FastMutex);
    __atomic_store_n(&FastMutex->Owner, (PVOID)KeGetCurrentThread(), __ATOMIC_RELAXED);
    FastMutex->OldIrql = old;
}

BOOLEAN NTAPI ExTryToAcquireFastMutex(PFAST_MUTEX FastMutex)
{
    VF_IRQL_MAX(APC_LEVEL);
    KIRQL old;
    KeRaiseIrql(APC_LEVEL, &old);
    if (!ExpTryLock(FastMutex)) {
        KeLowerIrql(old);
        return FALSE;
    }
    __atomic_store_n(&FastMutex->Owner, (PVOID)KeGetCurrentThread(), __ATOMIC_RELAXED);
    FastMutex->OldIrql = old;
    return TRUE;
}

VOID NTAPI ExReleaseFastMutex(PFAST_MUTEX FastMutex)
{
    VF_IRQL_EQ(APC_LEVEL);
    ExpCheckOwner(KiRuntime(), FastMutex);
    KIRQL old = (KIRQL)FastMutex->OldIrql;
    __atomic_store_n(&FastMutex->Owner, NULL, __ATOMIC_RELAXED);
    ExpUnlock(FastMutex);
    KeLowerIrql(old);
}

static void ExpCheckUnsafe(struct kmrig_runtime *rt, PFAST_MUTEX FastMutex, ULONG_PTR Kind)
{
    if (!VfOn(rt, KMRIG_VERIFY_LOCKS))
        return;
    KIRQL irql = KeGetCurrentIrql();
    if (irql != APC_LEVEL && !KeAreApcsDisabled())
        KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, Kind, irql,
                     (ULONG_PTR)(LONG_PTR)KiCurrentThread()->KernelApcDisable,
                     (ULONG_PTR)FastMutex);
}

VOID NTAPI ExAcquireFastMutexUnsafe(PFAST_MUTEX FastMutex)
{
    VF_IRQL_MAX(APC_LEVEL);
    struct kmrig_runtime *rt = KiRuntime();
    ExpCheckUnsafe(rt, FastMutex, EXP_VF_MUTEX_UNSAFE_ACQUIRE);
    ExpCheckRecursive(rt, FastMutex);
    if (!ExpTryLock(FastMutex))
        ExpLockSlow(FastMutex);
    __atomic_store_n(&FastMutex->Owner, (PVOID)KeGetCurrentThread(), __ATOMIC_RELAXED);
}

VOID NTAPI ExReleaseFastMutexUnsafe(PFAST_MUTEX FastMutex)
{
    VF_IRQL_MAX(APC_LEVEL);
    struct kmrig_runtime *rt = KiRuntime();
    ExpCheckUnsafe(rt, FastMutex, EXP_VF_MUTEX_UNSAFE_RELEASE);
    ExpCheckOwner(rt, FastMutex);
    __atomic_store_n(&FastMutex->Owner, NULL, __ATOMIC_RELAXED);
    ExpUnlock(FastMutex);
}

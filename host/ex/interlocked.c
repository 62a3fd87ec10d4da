/*
 * interlocked.c - Interlocked* (compiler atomics, sequentially consistent like the x64 locked
 * instructions) and the ExInterlocked* routines that take a caller-supplied spin lock.
 *
 * The spin-lock forms raise to HIGH_LEVEL and take Lock with the Ke spin-lock protocol, as NT does
 * with interrupts disabled, so they may be called at any IRQL and exclude code that holds the same
 * lock through KeAcquireSpinLock.
 */
#include "ex.h"

#undef InterlockedIncrement
#undef InterlockedDecrement
#undef InterlockedExchange
#undef InterlockedExchangeAdd
#undef InterlockedCompareExchange
#undef InterlockedCompareExchangePointer

LONG NTAPI InterlockedIncrement(LONG volatile *Addend)
{
    return __atomic_add_fetch(Addend, 1, __ATOMIC_SEQ_CST);
}

LONG NTAPI InterlockedDecrement(LONG volatile *Addend)
{
    return __atomic_sub_fetch(Addend, 1, __ATOMIC_SEQ_CST);
}

LONG NTAPI InterlockedExchange(LONG volatile *Target, LONG Value)
{
    return __atomic_exchange_n(Target, Value, __ATOMIC_SEQ_CST);
}

LONG NTAPI InterlockedExchangeAdd(LONG volatile *Addend, LONG Value)
{
    return __atomic_fetch_add(Addend, Value, __ATOMIC_SEQ_CST);
}

LONG NTAPI InterlockedCompareExchange(LONG volatile *Destination, LONG Exchange, LONG Comparand)
{
    __atomic_compare_exchange_n(Destination, &Comparand, Exchange, FALSE, __ATOMIC_SEQ_CST,
                                __ATOMIC_SEQ_CST);
    return Comparand;
}

PVOID NTAPI InterlockedCompareExchangePointer(PVOID volatile *Destination, PVOID Exchange,
                                              PVOID Comparand)
{
    __atomic_compare_exchange_n(Destination, &Comparand, Exchange, FALSE, __ATOMIC_SEQ_CST,
                                __ATOMIC_SEQ_CST);
    return Comparand;
}

PVOID NTAPI InterlockedExchangePointer(PVOID volatile *Target, PVOID Value)
{
    return __atomic_exchange_n(Target, Value, __ATOMIC_SEQ_CST);
}

LONG NTAPI InterlockedOr(LONG volatile *Destination, LONG Value)
{
    return __atomic_fetch_or(Destination, Value, __ATOMIC_SEQ_CST);
}

LONG NTAPI InterlockedAnd(LONG volatile *Destination, LONG Value)
{
    return __atomic_fetch_and(Destination, Value, __ATOMIC_SEQ_CST);
}

LONG NTAPI InterlockedXor(LONG volatile *Destination, LONG Value)
{
    return __atomic_fetch_xor(Destination, Value, __ATOMIC_SEQ_CST);
}

LONG64 NTAPI InterlockedIncrement64(LONG64 volatile *Addend)
{
    return __atomic_add_fetch(Addend, 1, __ATOMIC_SEQ_CST);
}

LONG64 NTAPI InterlockedDecrement64(LONG64 volatile *Addend)
{
    return __atomic_sub_fetch(Addend, 1, __ATOMIC_SEQ_CST);
}

LONG64 NTAPI InterlockedExchange64(LONG64 volatile *Target, LONG64 Value)
{
    return __atomic_exchange_n(Target, Value, __ATOMIC_SEQ_CST);
}

LONG64 NTAPI InterlockedExchangeAdd64(LONG64 volatile *Addend, LONG64 Value)
{
    return __atomic_fetch_add(Addend, Value, __ATOMIC_SEQ_CST);
}

LONG64 NTAPI InterlockedCompareExchange64(LONG64 volatile *Destination, LONG64 Exchange,
                                          LONG64 Comparand)
{
    __atomic_compare_exchange_n(Destination, &Comparand, Exchange, FALSE, __ATOMIC_SEQ_CST,
                                __ATOMIC_SEQ_CST);
    return Comparand;
}

LONGLONG NTAPI ExInterlockedCompareExchange64(LONGLONG volatile *Destination, PLONGLONG Exchange,
                                              PLONGLONG Comparand, PKSPIN_LOCK Lock)
{
    LONGLONG expected = *Comparand;
    __atomic_compare_exchange_n(Destination, &expected, *Exchange, FALSE, __ATOMIC_SEQ_CST,
                                __ATOMIC_SEQ_CST);
    return expected;
}

/* The spin-lock forms. */
static inline KIRQL ExpLockInterlocked(PKSPIN_LOCK Lock)
{
    KIRQL old;
    KeRaiseIrql(HIGH_LEVEL, &old);
    KeAcquireSpinLockAtDpcLevel(Lock);
    return old;
}

static inline void ExpUnlockInterlocked(PKSPIN_LOCK Lock, KIRQL Old)
{
    KeReleaseSpinLockFromDpcLevel(Lock);
    KeLowerIrql(Old);
}

ULONG NTAPI ExInterlockedAddUlong(PULONG Addend, ULONG Increment, PKSPIN_LOCK Lock)
{
    KIRQL old = ExpLockInterlocked(Lock);
    ULONG prev = *Addend;
    *Addend = prev + Increment;
    ExpUnlockInterlocked(Lock, old);
    return prev;
}

LARGE_INTEGER NTAPI ExInterlockedAddLargeInteger(PLARGE_INTEGER Addend, LARGE_INTEGER Increment,
                                                 PKSPIN_LOCK Lock)
{
    KIRQL old = ExpLockInterlocked(Lock);
    LARGE_INTEGER prev = *Addend;
    Addend->QuadPart = prev.QuadPart + Increment.QuadPart;
    ExpUnlockInterlocked(Lock, old);
    return prev;
}

VOID NTAPI ExInterlockedAddLargeStatistic(PLARGE_INTEGER Addend, ULONG Increment)
{
    __atomic_fetch_add(&Addend->QuadPart, (LONGLONG)Increment, __ATOMIC_SEQ_CST);
}

PLIST_ENTRY NTAPI ExInterlockedInsertHeadList(PLIST_ENTRY ListHead, PLIST_ENTRY ListEntry,
                                              PKSPIN_LOCK Lock)
{
    KIRQL old = ExpLockInterlocked(Lock);
    PLIST_ENTRY first = ListHead->Flink;
    InsertHeadList(ListHead, ListEntry);
    ExpUnlockInterlocked(Lock, old);
    return first == ListHead ? NULL : first;
}

PLIST_ENTRY NTAPI ExInterlockedInsertTailList(PLIST_ENTRY ListHead, PLIST_ENTRY ListEntry,
                                              PKSPIN_LOCK Lock)
{
    KIRQL old = ExpLockInterlocked(Lock);
    PLIST_ENTRY last = ListHead->Blink;
    InsertTailList(ListHead, ListEntry);
    ExpUnlockInterlocked(Lock, old);
    return last == ListHead ? NULL : last;
}

PLIST_ENTRY NTAPI ExInterlockedRemoveHeadList(PLIST_ENTRY ListHead, PKSPIN_LOCK Lock)
{
    KIRQL old = ExpLockInterlocked(Lock);
    PLIST_ENTRY e = IsListEmpty(ListHead) ? NULL : RemoveHeadList(ListHead);
    ExpUnlockInterlocked(Lock, old);
    return e;
}

PSINGLE_LIST_ENTRY NTAPI ExInterlockedPopEntryList(PSINGLE_LIST_ENTRY ListHead, PKSPIN_LOCK Lock)
{
    KIRQL old = ExpLockInterlocked(Lock);
    PSINGLE_LIST_ENTRY e = PopEntryList(ListHead);
    ExpUnlockInterlocked(Lock, old);
    return e;
}

PSINGLE_LIST_ENTRY NTAPI ExInterlockedPushEntryList(PSINGLE_LIST_ENTRY ListHead,
                                                    PSINGLE_LIST_ENTRY ListEntry, PKSPIN_LOCK Lock)
{
    KIRQL old = ExpLockInterlocked(Lock);
    PSINGLE_LIST_ENTRY first = ListHead->Next;
    PushEntryList(ListHead, ListEntry);
    ExpUnlockInterlocked(Lock, old);
    return first;
}

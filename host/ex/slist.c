/*
 * slist.c - sequenced singly linked lists (SLIST_HEADER, x64 layout).
 *
 * Design (see ddk/ex.h): bit 0 of the header's second quadword (the Reserved field, below
 * NextEntry) is a lock bit. Push, pop and flush take it with an acquiring compare-exchange, update
 * the list and the Depth/Sequence quadword, and drop it with a releasing store of the new first
 * entry. All Next reads happen under the bit, so an entry popped by one processor is never read by
 * another afterwards, and TSan sees the hand-off. The critical section is a handful of
 * instructions; a waiter spins, then yields its host thread.
 */
#include "ex.h"

#include <sched.h>

#undef InitializeSListHead
#undef ExInitializeSListHead
#undef ExInterlockedPushEntrySList
#undef ExInterlockedPopEntrySList
#undef ExInterlockedFlushSList

#define EXP_SLIST_LOCK 1ull
#define EXP_SLIST_PTR_MASK (~0xFull)

static inline void ExpCpuRelax(void)
{
#if defined(__x86_64__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static inline ULONGLONG ExpLockSList(PSLIST_HEADER h)
{
    unsigned spins = 0;
    for (;;) {
        ULONGLONG r = __atomic_load_n(&h->Region, __ATOMIC_RELAXED);
        if (!(r & EXP_SLIST_LOCK) &&
            __atomic_compare_exchange_n(&h->Region, &r, r | EXP_SLIST_LOCK, TRUE, __ATOMIC_ACQUIRE,
                                        __ATOMIC_RELAXED))
            return r;
        if (++spins < 64)
            ExpCpuRelax();
        else
            sched_yield();
    }
}

static inline void ExpUnlockSList(PSLIST_HEADER h, ULONGLONG Region)
{
    __atomic_store_n(&h->Region, Region & ~EXP_SLIST_LOCK, __ATOMIC_RELEASE);
}

/* Alignment quadword: Depth in bits 0-15, Sequence in bits 16-63. */
static inline void ExpSetCounts(PSLIST_HEADER h, int DepthDelta, BOOLEAN Flush)
{
    ULONGLONG a = __atomic_load_n(&h->Alignment, __ATOMIC_RELAXED);
    ULONGLONG depth = Flush ? 0 : ((a & 0xFFFF) + (ULONGLONG)(LONGLONG)DepthDelta) & 0xFFFF;
    ULONGLONG seq = ((a >> 16) + 1) & 0xFFFFFFFFFFFFull;
    __atomic_store_n(&h->Alignment, depth | (seq << 16), __ATOMIC_RELAXED);
}

PSLIST_ENTRY ExpPushSList(PSLIST_HEADER ListHead, PSLIST_ENTRY Entry)
{
    ULONGLONG r = ExpLockSList(ListHead);
    PSLIST_ENTRY first = (PSLIST_ENTRY)(ULONG_PTR)(r & EXP_SLIST_PTR_MASK);
    Entry->Next = first;
    ExpSetCounts(ListHead, 1, FALSE);
    ExpUnlockSList(ListHead, (ULONGLONG)(ULONG_PTR)Entry | (r & 0xEull));
    return first;
}

PSLIST_ENTRY ExpPopSList(PSLIST_HEADER ListHead)
{
    ULONGLONG r = ExpLockSList(ListHead);
    PSLIST_ENTRY first = (PSLIST_ENTRY)(ULONG_PTR)(r & EXP_SLIST_PTR_MASK);
    if (!first) {
        ExpUnlockSList(ListHead, r);
        return NULL;
    }
    ExpSetCounts(ListHead, -1, FALSE);
    ExpUnlockSList(ListHead, (ULONGLONG)(ULONG_PTR)first->Next | (r & 0xEull));
    return first;
}

VOID NTAPI InitializeSListHead(PSLIST_HEADER SListHead)
{
    __atomic_store_n(&SListHead->Alignment, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&SListHead->Region, 0, __ATOMIC_RELEASE);
}

VOID NTAPI ExInitializeSListHead(PSLIST_HEADER SListHead)
{
    InitializeSListHead(SListHead);
}

PSLIST_ENTRY NTAPI InterlockedPushEntrySList(PSLIST_HEADER ListHead, PSLIST_ENTRY ListEntry)
{
    if (((ULONG_PTR)ListEntry & 0xF) && VfOn(KiRuntime(), KMRIG_VERIFY_LOCKS))
        KiFatal("InterlockedPushEntrySList: entry %p is not 16-byte aligned", (PVOID)ListEntry);
    return ExpPushSList(ListHead, ListEntry);
}

PSLIST_ENTRY NTAPI InterlockedPopEntrySList(PSLIST_HEADER ListHead)
{
    return ExpPopSList(ListHead);
}

PSLIST_ENTRY NTAPI InterlockedFlushSList(PSLIST_HEADER ListHead)
{
    ULONGLONG r = ExpLockSList(ListHead);
    PSLIST_ENTRY first = (PSLIST_ENTRY)(ULONG_PTR)(r & EXP_SLIST_PTR_MASK);
    if (first)
        ExpSetCounts(ListHead, 0, TRUE);
    ExpUnlockSList(ListHead, r & 0xEull);
    return first;
}

USHORT NTAPI ExQueryDepthSList(PSLIST_HEADER SListHead)
{
    return (USHORT)(__atomic_load_n(&SListHead->Alignment, __ATOMIC_RELAXED) & 0xFFFF);
}

PSLIST_ENTRY NTAPI ExInterlockedPushEntrySList(PSLIST_HEADER ListHead, PSLIST_ENTRY ListEntry,
                                               PKSPIN_LOCK Lock)
{
    return InterlockedPushEntrySList(ListHead, ListEntry);
}

PSLIST_ENTRY NTAPI ExInterlockedPopEntrySList(PSLIST_HEADER ListHead, PKSPIN_LOCK Lock)
{
    return InterlockedPopEntrySList(ListHead);
}

PSLIST_ENTRY NTAPI ExInterlockedFlushSList(PSLIST_HEADER ListHead)
{
    return InterlockedFlushSList(ListHead);
}

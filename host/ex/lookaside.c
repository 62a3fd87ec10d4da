/*
 * lookaside.c - paged and nonpaged lookaside lists.
 *
 * A lookaside list is a cache of free blocks in front of an allocator. Allocation takes a block
 * (a hit) or calls Allocate (a miss); a free keeps the block unless the cache already holds Depth
 * blocks, in which case Free gets it. Statistics are updated like NT's: plain (relaxed)
 * increments, approximate under contention.
 *
 * The cache is per processor, like NT's per-processor lookasides: processor 0's free blocks are
 * the list's own ListHead (so ExQueryDepthSList(&L.ListHead) counts them), the other processors'
 * are in a side block allocated with the list (EXP_LOOKASIDE_CACHE, address in L.Future). Each
 * processor keeps at most Depth blocks. A cache is read and written only by the thread holding its
 * processor's baton, and the baton passes between host threads under the dispatcher lock, so the
 * hit path is a few plain loads and stores (relaxed atomics for the S-list header words, which
 * ExQueryDepthSList may read from anywhere): no interlocked instruction, no lock, no verifier
 * work when the verifier is off, no pool header access. Nothing on that path can give the baton
 * up; the miss paths call Allocate/Free (which may wait, at PASSIVE_LEVEL) only after they are
 * done with the cache. A thread that holds no processor (a host thread not attached to the
 * runtime) bypasses the caches: every allocation is a miss, every free a free miss.
 * ExDeleteXxxLookasideList frees the blocks of every processor's cache; as on NT, the caller
 * guarantees that nobody uses the list any more.
 *
 * Depth starts at EXP_LOOKASIDE_MIN_DEPTH and adapts between that and MaximumDepth from the miss
 * rate, with NT's rule. NT re-evaluates every lookaside once a second from the balance-set manager;
 * kmrig does it every EXP_LOOKASIDE_SCAN allocations of the list itself, which follows the load the
 * same way and is deterministic.
 */
#include "ex.h"

#include <stdlib.h>
#include <string.h>

#define EXP_LOOKASIDE_MIN_DEPTH 4
#define EXP_LOOKASIDE_MAX_DEPTH 256
#define EXP_LOOKASIDE_SCAN 256u
#define EXP_SLIST_PTR_MASK (~0xFull)

static inline void ExpBump(volatile ULONG *Counter)
{
    __atomic_store_n(Counter, __atomic_load_n(Counter, __ATOMIC_RELAXED) + 1, __ATOMIC_RELAXED);
}

static inline ULONG ExpRead(volatile ULONG *Counter)
{
    return __atomic_load_n(Counter, __ATOMIC_RELAXED);
}

/* ---- processor caches ---- */

static inline PEXP_LOOKASIDE_CACHE ExpLookasideSide(PGENERAL_LOOKASIDE L)
{
    PEXP_LOOKASIDE_CACHE side;
    memcpy(&side, L->Future, sizeof(side));
    return side;
}

static inline void ExpSetLookasideSide(PGENERAL_LOOKASIDE L, PEXP_LOOKASIDE_CACHE Side)
{
    C_ASSERT(sizeof(((PGENERAL_LOOKASIDE)0)->Future) == sizeof(PVOID));
    memcpy(L->Future, &Side, sizeof(Side));
}

/* The cache of Thread's processor, or NULL for a thread that holds no processor. */
static inline PSLIST_HEADER ExpLookasideCache(PGENERAL_LOOKASIDE L, PKTHREAD Thread)
{
    if (__builtin_expect(Thread == NULL, 0))
        return NULL;
    ULONG n = Thread->Prcb->Number;
    if (n == 0)
        return &L->ListHead;
    PEXP_LOOKASIDE_CACHE side = ExpLookasideSide(L);
    return (side && n < side->Processors) ? &side[n].ListHead : NULL;
}

/* S-list operations for a header only its processor's baton holder touches: the S-list layout
 * (so ExQueryDepthSList works on it), without the lock bit or an interlocked instruction. */
static inline USHORT ExpCacheDepth(PSLIST_HEADER h)
{
    return (USHORT)(__atomic_load_n(&h->Alignment, __ATOMIC_RELAXED) & 0xFFFF);
}

/* Depth (bits 0-15) +/- 1 and Sequence (bits 16-63) + 1 in one add: a cache never holds more
 * than MaximumDepth blocks and pops only when it holds one, so Depth never carries or borrows,
 * and Sequence wraps with the quadword. */
static inline void ExpCacheCounts(PSLIST_HEADER h, int DepthDelta)
{
    ULONGLONG a = __atomic_load_n(&h->Alignment, __ATOMIC_RELAXED);
    __atomic_store_n(&h->Alignment, a + 0x10000ull + (ULONGLONG)(LONGLONG)DepthDelta,
                     __ATOMIC_RELAXED);
}

static inline PSLIST_ENTRY ExpCachePop(PSLIST_HEADER h)
{
    ULONGLONG r = __atomic_load_n(&h->Region, __ATOMIC_RELAXED);
    PSLIST_ENTRY first = (PSLIST_ENTRY)(ULONG_PTR)(r & EXP_SLIST_PTR_MASK);
    if (!first)
        return NULL;
    ExpCacheCounts(h, -1);
    __atomic_store_n(&h->Region, (ULONGLONG)(ULONG_PTR)first->Next | (r & 0xEull),
                     __ATOMIC_RELAXED);
    return first;
}

static inline void ExpCachePush(PSLIST_HEADER h, PSLIST_ENTRY Entry)
{
    ULONGLONG r = __atomic_load_n(&h->Region, __ATOMIC_RELAXED);
    Entry->Next = (PSLIST_ENTRY)(ULONG_PTR)(r & EXP_SLIST_PTR_MASK);
    ExpCacheCounts(h, 1);
    __atomic_store_n(&h->Region, (ULONGLONG)(ULONG_PTR)Entry | (r & 0xEull), __ATOMIC_RELAXED);
}

/* The verifier's IRQL rule, checked inline so that the verifier-off path pays one test. */
static inline void ExpCheckIrql(PKTHREAD Thread, KIRQL Max, const char *Routine)
{
    if (__builtin_expect(Thread != NULL && (Thread->Runtime->Verify & KMRIG_VERIFY_IRQL), 0) &&
        Thread->Prcb->Irql > Max)
        VfCheckIrqlMax(Max, Routine);
}

static void ExpAdjustDepth(PGENERAL_LOOKASIDE L)
{
    ULONG total = ExpRead(&L->TotalAllocates), misses = ExpRead(&L->AllocateMisses);
    ULONG allocates = total - ExpRead(&L->LastTotalAllocates);
    ULONG missed = misses - ExpRead(&L->LastAllocateMisses);
    __atomic_store_n(&L->LastTotalAllocates, total, __ATOMIC_RELAXED);
    __atomic_store_n(&L->LastAllocateMisses, misses, __ATOMIC_RELAXED);
    if (allocates == 0)
        return;
    ULONG depth = __atomic_load_n(&L->Depth, __ATOMIC_RELAXED);
    ULONG max = L->MaximumDepth;
    ULONG ratio = (ULONG)(((ULONG64)missed * 1000) / allocates);
    if (ratio < 5) {
        if (depth > EXP_LOOKASIDE_MIN_DEPTH)
            depth--;
    } else {
        depth += (ULONG)(((ULONG64)ratio * (max - depth)) / (1000 * 2)) + 5;
        if (depth > max)
            depth = max;
    }
    __atomic_store_n(&L->Depth, (USHORT)depth, __ATOMIC_RELAXED);
}

static void ExpInitializeLookaside(PGENERAL_LOOKASIDE L, PALLOCATE_FUNCTION Allocate,
                                   PFREE_FUNCTION Free, POOL_TYPE Type, SIZE_T Size, ULONG Tag)
{
    struct kmrig_runtime *rt = KiRuntime();
    PEXP_STATE ex = rt->Ex;
    if (VfOn(rt, KMRIG_VERIFY_POOL)) {
        BOOLEAN live = FALSE;
        pthread_mutex_lock(&ex->ListLock);
        for (PLIST_ENTRY e = ex->LookasideList.Flink; e != &ex->LookasideList; e = e->Flink)
            live |= (e == &L->ListEntry);
        pthread_mutex_unlock(&ex->ListLock);
        if (live)
            KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, EXP_VF_LOOKASIDE_REINITIALIZED,
                         (ULONG_PTR)L, 0, 0);
        if (Size < sizeof(SLIST_ENTRY))
            KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, 0xCD, (ULONG_PTR)L, Size,
                         sizeof(SLIST_ENTRY));
    }
    /* Caches of processors 1..N-1. Without host memory for them those processors bypass the
     * cache (every allocation a miss): slower, still correct, and the routine cannot fail. */
    PEXP_LOOKASIDE_CACHE side = NULL;
    ULONG processors = rt->Ke.NumberProcessors;
    if (processors > 1) {
        side = aligned_alloc(sizeof(EXP_LOOKASIDE_CACHE), processors * sizeof(*side));
        if (side) {
            memset(side, 0, processors * sizeof(*side));
            side[0].Processors = processors;
            for (ULONG n = 1; n < processors; n++)
                InitializeSListHead(&side[n].ListHead);
        } else {
            KmLog(rt, KMRIG_LOG_WARN, "lookaside %p: no host memory for processor caches",
                  (PVOID)L);
        }
    }
    InitializeSListHead(&L->ListHead);
    L->Depth = EXP_LOOKASIDE_MIN_DEPTH;
    L->MaximumDepth = EXP_LOOKASIDE_MAX_DEPTH;
    L->TotalAllocates = 0;
    L->AllocateMisses = 0;
    L->TotalFrees = 0;
    L->FreeMisses = 0;
    L->Type = Type;
    L->Tag = Tag;
    L->Size = (ULONG)Size;
    L->Allocate = Allocate ? Allocate : ExAllocatePoolWithTag;
    L->Free = Free ? Free : ExFreePool;
    L->LastTotalAllocates = 0;
    L->LastAllocateMisses = 0;
    ExpSetLookasideSide(L, side);
    pthread_mutex_lock(&ex->ListLock);
    InsertTailList(&ex->LookasideList, &L->ListEntry);
    pthread_mutex_unlock(&ex->ListLock);
}

static void ExpDeleteLookaside(PGENERAL_LOOKASIDE L)
{
    struct kmrig_runtime *rt = KiRuntime();
    PEXP_STATE ex = rt->Ex;
    BOOLEAN live = FALSE;
    pthread_mutex_lock(&ex->ListLock);
    for (PLIST_ENTRY e = ex->LookasideList.Flink; e != &ex->LookasideList; e = e->Flink)
        live |= (e == &L->ListEntry);
    if (live)
        RemoveEntryList(&L->ListEntry);
    pthread_mutex_unlock(&ex->ListLock);
    if (!live && VfOn(rt, KMRIG_VERIFY_POOL))
        KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, EXP_VF_LOOKASIDE_DELETE_UNINITIALIZED,
                     (ULONG_PTR)L, 0, 0);
    PSLIST_ENTRY e;
    while ((e = ExpCachePop(&L->ListHead)) != NULL)
        L->Free(e);
    /* A list that was never initialised has no side block of ours in Future. */
    PEXP_LOOKASIDE_CACHE side = live ? ExpLookasideSide(L) : NULL;
    if (side) {
        for (ULONG n = 1; n < side[0].Processors; n++)
            while ((e = ExpCachePop(&side[n].ListHead)) != NULL)
                L->Free(e);
        ExpSetLookasideSide(L, NULL);
        free(side);
    }
}

static PVOID ExpLookasideMiss(PGENERAL_LOOKASIDE L)
{
    ExpBump(&L->AllocateMisses);
    PVOID entry = L->Allocate(L->Type, L->Size, L->Tag);
    if (!entry && (L->Type & POOL_RAISE_IF_ALLOCATION_FAILURE))
        ExRaiseStatus(STATUS_INSUFFICIENT_RESOURCES);
    return entry;
}

static inline PVOID ExpAllocateFromLookaside(PGENERAL_LOOKASIDE L, KIRQL MaxIrql,
                                             const char *Routine)
{
    PKTHREAD t = KiCurrentThreadOrNull();
    ExpCheckIrql(t, MaxIrql, Routine);
    ULONG total = ExpRead(&L->TotalAllocates) + 1;
    __atomic_store_n(&L->TotalAllocates, total, __ATOMIC_RELAXED);
    PSLIST_HEADER cache = ExpLookasideCache(L, t);
    PVOID entry = cache ? ExpCachePop(cache) : NULL;
    if (__builtin_expect(!entry, 0))
        entry = ExpLookasideMiss(L); /* the cache is not touched after this: Allocate may wait */
    if (__builtin_expect((total % EXP_LOOKASIDE_SCAN) == 0, 0))
        ExpAdjustDepth(L);
    return entry;
}

static inline void ExpFreeToLookaside(PGENERAL_LOOKASIDE L, PVOID Entry, KIRQL MaxIrql,
                                      const char *Routine)
{
    PKTHREAD t = KiCurrentThreadOrNull();
    ExpCheckIrql(t, MaxIrql, Routine);
    ExpBump(&L->TotalFrees);
    PSLIST_HEADER cache = ExpLookasideCache(L, t);
    if (__builtin_expect(cache != NULL, 1) &&
        ExpCacheDepth(cache) < __atomic_load_n(&L->Depth, __ATOMIC_RELAXED)) {
        ExpCachePush(cache, Entry);
    } else {
        ExpBump(&L->FreeMisses);
        L->Free(Entry);
    }
}

VOID NTAPI ExInitializeNPagedLookasideList(PNPAGED_LOOKASIDE_LIST Lookaside,
                                           PALLOCATE_FUNCTION Allocate, PFREE_FUNCTION Free,
                                           ULONG Flags, SIZE_T Size, ULONG Tag, USHORT Depth)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    ExpInitializeLookaside(&Lookaside->L, Allocate, Free, (POOL_TYPE)(NonPagedPoolNx | Flags), Size,
                           Tag);
}

VOID NTAPI ExInitializePagedLookasideList(PPAGED_LOOKASIDE_LIST Lookaside,
                                          PALLOCATE_FUNCTION Allocate, PFREE_FUNCTION Free,
                                          ULONG Flags, SIZE_T Size, ULONG Tag, USHORT Depth)
{
    VF_IRQL_MAX(APC_LEVEL);
    ExpInitializeLookaside(&Lookaside->L, Allocate, Free, (POOL_TYPE)(PagedPool | Flags), Size,
                           Tag);
}

VOID NTAPI ExDeleteNPagedLookasideList(PNPAGED_LOOKASIDE_LIST Lookaside)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    ExpDeleteLookaside(&Lookaside->L);
}

VOID NTAPI ExDeletePagedLookasideList(PPAGED_LOOKASIDE_LIST Lookaside)
{
    VF_IRQL_MAX(APC_LEVEL);
    ExpDeleteLookaside(&Lookaside->L);
}

PVOID NTAPI ExAllocateFromNPagedLookasideList(PNPAGED_LOOKASIDE_LIST Lookaside)
{
    return ExpAllocateFromLookaside(&Lookaside->L, DISPATCH_LEVEL, __func__);
}

VOID NTAPI ExFreeToNPagedLookasideList(PNPAGED_LOOKASIDE_LIST Lookaside, PVOID Entry)
{
    ExpFreeToLookaside(&Lookaside->L, Entry, DISPATCH_LEVEL, __func__);
}

PVOID NTAPI ExAllocateFromPagedLookasideList(PPAGED_LOOKASIDE_LIST Lookaside)
{
    return ExpAllocateFromLookaside(&Lookaside->L, APC_LEVEL, __func__);
}

VOID NTAPI ExFreeToPagedLookasideList(PPAGED_LOOKASIDE_LIST Lookaside, PVOID Entry)
{
    ExpFreeToLookaside(&Lookaside->L, Entry, APC_LEVEL, __func__);
}

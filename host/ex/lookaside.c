/*
 * lookaside.c - paged and nonpaged lookaside lists.
 *
 * A lookaside list is an S-list of free blocks in front of an allocator. Allocation pops a block
 * (a hit) or calls Allocate (a miss); a free pushes the block back unless the list already holds
 * Depth blocks, in which case Free gets it. Statistics are updated like NT's: plain (relaxed)
 * increments, approximate under contention.
 *
 * Depth starts at EXP_LOOKASIDE_MIN_DEPTH and adapts between that and MaximumDepth from the miss
 * rate, with NT's rule. NT re-evaluates every lookaside once a second from the balance-set manager;
 * kmrig does it every EXP_LOOKASIDE_SCAN allocations of the list itself, which follows the load the
 * same way and is deterministic.
 */
#include "ex.h"

#define EXP_LOOKASIDE_MIN_DEPTH 4
#define EXP_LOOKASIDE_MAX_DEPTH 256
#define EXP_LOOKASIDE_SCAN 256u

static inline void ExpBump(volatile ULONG *Counter)
{
    __atomic_store_n(Counter, __atomic_load_n(Counter, __ATOMIC_RELAXED) + 1, __ATOMIC_RELAXED);
}

static inline ULONG ExpRead(volatile ULONG *Counter)
{
    return __atomic_load_n(Counter, __ATOMIC_RELAXED);
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
    L->Future[0] = L->Future[1] = 0;
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
    while ((e = ExpPopSList(&L->ListHead)) != NULL)
        L->Free(e);
}

static inline PVOID ExpAllocateFromLookaside(PGENERAL_LOOKASIDE L)
{
    ULONG total = ExpRead(&L->TotalAllocates) + 1;
    __atomic_store_n(&L->TotalAllocates, total, __ATOMIC_RELAXED);
    PVOID entry = ExpPopSList(&L->ListHead);
    if (!entry) {
        ExpBump(&L->AllocateMisses);
        entry = L->Allocate(L->Type, L->Size, L->Tag);
        if (!entry && (L->Type & POOL_RAISE_IF_ALLOCATION_FAILURE))
            ExRaiseStatus(STATUS_INSUFFICIENT_RESOURCES);
    }
    if ((total % EXP_LOOKASIDE_SCAN) == 0)
        ExpAdjustDepth(L);
    return entry;
}

static inline void ExpFreeToLookaside(PGENERAL_LOOKASIDE L, PVOID Entry)
{
    ExpBump(&L->TotalFrees);
    if (ExQueryDepthSList(&L->ListHead) >= __atomic_load_n(&L->Depth, __ATOMIC_RELAXED)) {
        ExpBump(&L->FreeMisses);
        L->Free(Entry);
    } else {
        ExpPushSList(&L->ListHead, Entry);
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
    VF_IRQL_MAX(DISPATCH_LEVEL);
    return ExpAllocateFromLookaside(&Lookaside->L);
}

VOID NTAPI ExFreeToNPagedLookasideList(PNPAGED_LOOKASIDE_LIST Lookaside, PVOID Entry)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    ExpFreeToLookaside(&Lookaside->L, Entry);
}

PVOID NTAPI ExAllocateFromPagedLookasideList(PPAGED_LOOKASIDE_LIST Lookaside)
{
    VF_IRQL_MAX(APC_LEVEL);
    return ExpAllocateFromLookaside(&Lookaside->L);
}

VOID NTAPI ExFreeToPagedLookasideList(PPAGED_LOOKASIDE_LIST Lookaside, PVOID Entry)
{
    VF_IRQL_MAX(APC_LEVEL);
    ExpFreeToLookaside(&Lookaside->L, Entry);
}

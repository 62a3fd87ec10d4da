/*
 * pool.c - executive pool: ExAllocatePool* and ExFreePool*.
 *
 * Every block carries a 16-byte header (EXP_POOL_HEADER: tag, size, pool type) right before the
 * caller's pointer, so the fast path (verifier off) is a malloc plus a header store. Blocks of a
 * page or more are page aligned and the CacheAligned types are 64-byte aligned, as on x64 Windows.
 *
 * With KMRIG_VERIFY_POOL the instance also tracks every block in a hash table (rt->Ex): freeing an
 * address that is not a live block bugchecks BAD_POOL_CALLER (0x07 when the block was freed
 * before, 0x46 otherwise), ExFreePoolWithTag with another tag bugchecks BAD_POOL_CALLER 0x0A, and
 * ExpCheckPoolLeaks reports what is left at shutdown.
 */
#include "ex.h"

#include <stdlib.h>
#include <string.h>

#define EXP_POOL_MAX_REQUEST ((SIZE_T)1 << 36) /* larger requests fail (64 GiB) */

static inline BOOLEAN ExpIsPaged(POOL_TYPE PoolType)
{
    return (PoolType & 1) != 0;
}

static inline ULONG ExpPoolHash(PVOID P)
{
    ULONG_PTR v = (ULONG_PTR)P >> 4;
    v ^= v >> 17;
    v *= 0x9E3779B97F4A7C15ull;
    return (ULONG)(v >> 40) & (EXP_POOL_BUCKETS - 1);
}

static void ExpFormatTag(ULONG Tag, char out[5])
{
    for (int i = 0; i < 4; i++) {
        unsigned char c = (unsigned char)(Tag >> (8 * i));
        out[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '.';
    }
    out[4] = 0;
}

NTSTATUS ExpInitializePool(struct kmrig_runtime *rt)
{
    PEXP_STATE ex = rt->Ex;
    pthread_mutex_init(&ex->PoolLock, NULL);
    if (!(rt->Verify & KMRIG_VERIFY_POOL))
        return STATUS_SUCCESS;
    ex->PoolBuckets = calloc(EXP_POOL_BUCKETS, sizeof(PEXP_POOL_RECORD));
    ex->PoolFreed = calloc(EXP_POOL_FREED_KEEP, sizeof(PEXP_POOL_RECORD));
    if (!ex->PoolBuckets || !ex->PoolFreed) {
        free(ex->PoolBuckets);
        free(ex->PoolFreed);
        pthread_mutex_destroy(&ex->PoolLock);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    return STATUS_SUCCESS;
}

VOID ExpShutdownPool(struct kmrig_runtime *rt)
{
    PEXP_STATE ex = rt->Ex;
    if (ex->PoolBuckets) {
        for (ULONG i = 0; i < EXP_POOL_BUCKETS; i++) {
            PEXP_POOL_RECORD r = ex->PoolBuckets[i];
            while (r) {
                PEXP_POOL_RECORD next = r->Next;
                if (!r->Freed) {
                    PEXP_POOL_HEADER h = (PEXP_POOL_HEADER)r->Address - 1;
                    free((PUCHAR)r->Address - h->Offset);
                }
                free(r);
                r = next;
            }
        }
    }
    free(ex->PoolBuckets);
    free(ex->PoolFreed);
    ex->PoolBuckets = NULL;
    ex->PoolFreed = NULL;
    pthread_mutex_destroy(&ex->PoolLock);
}

static PEXP_POOL_RECORD ExpFindRecord(PEXP_STATE ex, PVOID P, PEXP_POOL_RECORD **Link)
{
    PEXP_POOL_RECORD *link = &ex->PoolBuckets[ExpPoolHash(P)];
    for (; *link; link = &(*link)->Next) {
        if ((*link)->Address == P) {
            if (Link)
                *Link = link;
            return *link;
        }
    }
    return NULL;
}

static void ExpTrack(struct kmrig_runtime *rt, PVOID P, PEXP_POOL_HEADER h, PVOID Caller)
{
    PEXP_STATE ex = rt->Ex;
    PEXP_POOL_RECORD r;
    pthread_mutex_lock(&ex->PoolLock);
    r = ExpFindRecord(ex, P, NULL);
    if (r) {
        /* malloc reused the address of a freed block: the record becomes the new block's. Drop it
         * from the freed ring so that eviction does not remove it. */
        if (r->FreedSlot)
            ex->PoolFreed[r->FreedSlot - 1] = NULL;
        r->FreedSlot = 0;
    } else {
        r = calloc(1, sizeof(*r));
        if (!r) {
            pthread_mutex_unlock(&ex->PoolLock);
            KiFatal("pool verifier: out of host memory");
        }
        r->Address = P;
        ULONG b = ExpPoolHash(P);
        r->Next = ex->PoolBuckets[b];
        ex->PoolBuckets[b] = r;
    }
    r->NumberOfBytes = h->NumberOfBytes;
    r->Tag = h->Tag;
    r->PoolType = h->PoolType;
    r->Freed = FALSE;
    memcpy(&r->HeaderContents, h, sizeof(r->HeaderContents));
    r->Caller = Caller;
    ex->PoolLive++;
    pthread_mutex_unlock(&ex->PoolLock);
}

/* The calling thread, after the verifier's IRQL rule (checked inline: with the verifier off the
 * fast path pays one test on the thread it needs anyway). */
static inline PKTHREAD ExpPoolEntry(KIRQL Max, const char *Routine)
{
    PKTHREAD t = KiCurrentThreadOrNull();
    if (__builtin_expect(t != NULL && (t->Runtime->Verify & KMRIG_VERIFY_IRQL), 0) &&
        t->Prcb->Irql > Max)
        VfCheckIrqlMax(Max, Routine);
    return t;
}

#define EXP_POOL_ENTRY(max) ExpPoolEntry((max), __func__)

static inline BOOLEAN ExpPoolVerify(PKTHREAD Thread)
{
    return __builtin_expect(Thread != NULL && (Thread->Runtime->Verify & KMRIG_VERIFY_POOL), 0);
}

static __attribute__((noinline)) PVOID ExpAllocatePoolSlow(PKTHREAD Thread, POOL_TYPE PoolType,
                                                           SIZE_T NumberOfBytes, ULONG Tag,
                                                           BOOLEAN Zero, PVOID Caller)
{
    BOOLEAN verify = ExpPoolVerify(Thread);
    POOL_TYPE base = (POOL_TYPE)(PoolType & 7);
    if (verify) {
        if (base == NonPagedPoolMustSucceed || base == NonPagedPoolCacheAlignedMustS)
            KeBugCheckEx(BAD_POOL_CALLER, EXP_BPC_MUST_SUCCEED, (ULONG_PTR)PoolType, NumberOfBytes,
                         Tag);
        if (Tag == 0)
            KeBugCheckEx(BAD_POOL_CALLER, EXP_BPC_ZERO_TAG, (ULONG_PTR)PoolType, NumberOfBytes,
                         (ULONG_PTR)Caller);
    }
    if (NumberOfBytes > EXP_POOL_MAX_REQUEST)
        return NULL;

    size_t align = 16;
    if (NumberOfBytes >= EXP_PAGE_SIZE)
        align = EXP_PAGE_SIZE;
    else if (base & 4)
        align = EXP_CACHE_LINE;
    PUCHAR block;
    if (align == 16) {
        block = Zero ? calloc(1, sizeof(EXP_POOL_HEADER) + NumberOfBytes)
                     : malloc(sizeof(EXP_POOL_HEADER) + NumberOfBytes);
    } else {
        void *m = NULL;
        if (posix_memalign(&m, align, align + NumberOfBytes) != 0)
            m = NULL;
        block = m;
        if (block && Zero)
            memset(block + align, 0, NumberOfBytes);
    }
    if (!block)
        return NULL;
    PUCHAR p = block + (align == 16 ? sizeof(EXP_POOL_HEADER) : align);
    PEXP_POOL_HEADER h = (PEXP_POOL_HEADER)p - 1;
    h->Tag = Tag;
    h->Offset = (USHORT)(p - block);
    h->PoolType = ExpIsPaged(PoolType) ? 1 : 0;
    h->Flags = 0;
    h->NumberOfBytes = NumberOfBytes;
    if (verify)
        ExpTrack(Thread->Runtime, p, h, Caller);
    return p;
}

/* The common case inline (verifier off, below a page, 16-byte alignment, not zeroed): a malloc
 * and the header; everything else is ExpAllocatePoolSlow. */
static inline __attribute__((always_inline)) PVOID
ExpAllocatePoolThread(PKTHREAD Thread, POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag,
                      BOOLEAN Zero, PVOID Caller)
{
    if (__builtin_expect(!ExpPoolVerify(Thread) && !Zero && NumberOfBytes < EXP_PAGE_SIZE &&
                             !(PoolType & 4),
                         1)) {
        PEXP_POOL_HEADER h = malloc(sizeof(EXP_POOL_HEADER) + NumberOfBytes);
        if (!h)
            return NULL;
        h->Tag = Tag;
        h->Offset = sizeof(EXP_POOL_HEADER);
        h->PoolType = ExpIsPaged(PoolType) ? 1 : 0;
        h->Flags = 0;
        h->NumberOfBytes = NumberOfBytes;
        return h + 1;
    }
    return ExpAllocatePoolSlow(Thread, PoolType, NumberOfBytes, Tag, Zero, Caller);
}

PVOID ExpAllocatePool(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag, BOOLEAN Zero,
                      PVOID Caller)
{
    return ExpAllocatePoolThread(KiCurrentThreadOrNull(), PoolType, NumberOfBytes, Tag, Zero,
                                 Caller);
}

static DECLSPEC_NORETURN void ExpBadFree(PEXP_STATE ex, PVOID P, PEXP_POOL_RECORD r)
{
    if (r) {
        ULONG64 contents = r->HeaderContents;
        pthread_mutex_unlock(&ex->PoolLock);
        KmLogError("pool verifier: %p freed twice", P);
        KeBugCheckEx(BAD_POOL_CALLER, EXP_BPC_DOUBLE_FREE, 0, (ULONG_PTR)contents, (ULONG_PTR)P);
    }
    pthread_mutex_unlock(&ex->PoolLock);
    KmLogError("pool verifier: %p is not a pool block", P);
    KeBugCheckEx(BAD_POOL_CALLER, EXP_BPC_INVALID_ADDRESS, (ULONG_PTR)P, 0, 0);
}

static void ExpFreePoolVerified(struct kmrig_runtime *rt, PVOID P, ULONG Tag, BOOLEAN CheckTag);

static inline __attribute__((always_inline)) void ExpFreePoolThread(PKTHREAD Thread, PVOID P,
                                                                    ULONG Tag, BOOLEAN CheckTag)
{
    if (ExpPoolVerify(Thread)) {
        ExpFreePoolVerified(Thread->Runtime, P, Tag, CheckTag);
        return;
    }
    PEXP_POOL_HEADER h = (PEXP_POOL_HEADER)P - 1;
    free((PUCHAR)P - h->Offset);
}

VOID ExpFreePool(PVOID P, ULONG Tag, BOOLEAN CheckTag)
{
    ExpFreePoolThread(KiCurrentThreadOrNull(), P, Tag, CheckTag);
}

static void ExpFreePoolVerified(struct kmrig_runtime *rt, PVOID P, ULONG Tag, BOOLEAN CheckTag)
{
    PEXP_STATE ex = rt->Ex;
    PEXP_POOL_RECORD *link = NULL;
    pthread_mutex_lock(&ex->PoolLock);
    PEXP_POOL_RECORD r = P ? ExpFindRecord(ex, P, &link) : NULL;
    if (!r || r->Freed)
        ExpBadFree(ex, P, r);
    if (CheckTag && Tag != r->Tag) {
        ULONG owner = r->Tag;
        char a[5], b[5];
        pthread_mutex_unlock(&ex->PoolLock);
        ExpFormatTag(owner, a);
        ExpFormatTag(Tag, b);
        KmLogError("pool verifier: %p has tag '%s', freed with tag '%s'", P, a, b);
        KeBugCheckEx(BAD_POOL_CALLER, EXP_BPC_WRONG_TAG, (ULONG_PTR)P, owner, Tag);
    }
    UCHAR type = r->PoolType;
    SIZE_T size = r->NumberOfBytes;
    pthread_mutex_unlock(&ex->PoolLock);

    if (type == 1)
        VfCheckIrqlMax(APC_LEVEL, "ExFreePoolWithTag(PagedPool)");
    ExpCheckFreedObjects(rt, P, size);

    pthread_mutex_lock(&ex->PoolLock);
    r->Freed = TRUE;
    ex->PoolLive--;
    /* Keep the record to recognise a double free; evict the oldest kept one. */
    PEXP_POOL_RECORD old = ex->PoolFreed[ex->PoolFreedNext];
    if (old && old->Freed) {
        PEXP_POOL_RECORD *l;
        if (ExpFindRecord(ex, old->Address, &l) == old) {
            *l = old->Next;
            free(old);
        }
    }
    ex->PoolFreed[ex->PoolFreedNext] = r;
    r->FreedSlot = ex->PoolFreedNext + 1;
    ex->PoolFreedNext = (ex->PoolFreedNext + 1) % EXP_POOL_FREED_KEEP;
    PEXP_POOL_HEADER h = (PEXP_POOL_HEADER)P - 1;
    PVOID block = (PUCHAR)P - h->Offset;
    pthread_mutex_unlock(&ex->PoolLock);
    free(block);
}

typedef struct _EXP_LEAK_TAG {
    ULONG Tag;
    ULONG Count;
    SIZE_T Bytes;
} EXP_LEAK_TAG;

VOID ExpCheckPoolLeaks(struct kmrig_runtime *rt)
{
    PEXP_STATE ex = rt->Ex;
    if (!VfOn(rt, KMRIG_VERIFY_POOL) || !ex->PoolBuckets)
        return;
    pthread_mutex_lock(&ex->PoolLock);
    ULONG live = ex->PoolLive;
    if (live == 0) {
        pthread_mutex_unlock(&ex->PoolLock);
        return;
    }
    EXP_LEAK_TAG *tags = calloc(live, sizeof(*tags));
    ULONG ntags = 0, total = 0;
    for (ULONG i = 0; i < EXP_POOL_BUCKETS; i++) {
        for (PEXP_POOL_RECORD r = ex->PoolBuckets[i]; r; r = r->Next) {
            if (r->Freed)
                continue;
            char t[5];
            ExpFormatTag(r->Tag, t);
            KmLog(rt, KMRIG_LOG_ERROR, "pool leak: %p tag '%s' size %zu %s (allocated from %p)",
                  r->Address, t, (size_t)r->NumberOfBytes, r->PoolType ? "paged" : "nonpaged",
                  r->Caller);
            total++;
            if (!tags)
                continue;
            ULONG k = 0;
            while (k < ntags && tags[k].Tag != r->Tag)
                k++;
            if (k == ntags && ntags < live)
                tags[ntags++].Tag = r->Tag;
            if (k < ntags) {
                tags[k].Count++;
                tags[k].Bytes += r->NumberOfBytes;
            }
        }
    }
    pthread_mutex_unlock(&ex->PoolLock);
    for (ULONG k = 0; tags && k < ntags; k++) {
        char t[5];
        ExpFormatTag(tags[k].Tag, t);
        KmLog(rt, KMRIG_LOG_ERROR, "pool leak: tag '%s': %u allocation(s), %zu bytes", t,
              tags[k].Count, (size_t)tags[k].Bytes);
    }
    free(tags);
    static const char name[] = "kmrig";
    KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, VF_POOL_LEAK_AT_UNLOAD, (ULONG_PTR)name, 0,
                 total);
}

/* ----------------------------------------------------------------------------------------------
 * Exported routines
 */

PVOID NTAPI ExAllocatePoolWithTag(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag)
{
    PKTHREAD t = EXP_POOL_ENTRY(ExpIsPaged(PoolType) ? APC_LEVEL : DISPATCH_LEVEL);
    return ExpAllocatePoolThread(t, PoolType, NumberOfBytes, Tag,
                                 (PoolType & POOL_ZERO_ALLOCATION) != 0,
                                 __builtin_return_address(0));
}

PVOID NTAPI ExAllocatePool(POOL_TYPE PoolType, SIZE_T NumberOfBytes)
{
    PKTHREAD t = EXP_POOL_ENTRY(ExpIsPaged(PoolType) ? APC_LEVEL : DISPATCH_LEVEL);
    return ExpAllocatePoolThread(t, PoolType, NumberOfBytes, EXP_TAG_NONE, FALSE,
                                 __builtin_return_address(0));
}

PVOID NTAPI ExAllocatePoolWithTagPriority(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag,
                                          EX_POOL_PRIORITY Priority)
{
    PKTHREAD t = EXP_POOL_ENTRY(ExpIsPaged(PoolType) ? APC_LEVEL : DISPATCH_LEVEL);
    return ExpAllocatePoolThread(t, PoolType, NumberOfBytes, Tag, FALSE,
                                 __builtin_return_address(0));
}

/* Quota: kmrig has no per-process quota to charge; what remains of the contract is the failure
 * mode: raise STATUS_INSUFFICIENT_RESOURCES unless POOL_QUOTA_FAIL_INSTEAD_OF_RAISE is given. */
PVOID NTAPI ExAllocatePoolWithQuotaTag(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag)
{
    PKTHREAD t = EXP_POOL_ENTRY(ExpIsPaged(PoolType) ? APC_LEVEL : DISPATCH_LEVEL);
    BOOLEAN raise = !(PoolType & POOL_QUOTA_FAIL_INSTEAD_OF_RAISE);
    POOL_TYPE type = (POOL_TYPE)(PoolType & ~POOL_QUOTA_FAIL_INSTEAD_OF_RAISE);
    PVOID p =
        ExpAllocatePoolThread(t, type, NumberOfBytes, Tag, FALSE, __builtin_return_address(0));
    if (!p && raise)
        ExRaiseStatus(STATUS_INSUFFICIENT_RESOURCES);
    return p;
}

PVOID NTAPI ExAllocatePoolWithQuota(POOL_TYPE PoolType, SIZE_T NumberOfBytes)
{
    PKTHREAD t = EXP_POOL_ENTRY(ExpIsPaged(PoolType) ? APC_LEVEL : DISPATCH_LEVEL);
    BOOLEAN raise = !(PoolType & POOL_QUOTA_FAIL_INSTEAD_OF_RAISE);
    POOL_TYPE type = (POOL_TYPE)(PoolType & ~POOL_QUOTA_FAIL_INSTEAD_OF_RAISE);
    PVOID p = ExpAllocatePoolThread(t, type, NumberOfBytes, EXP_TAG_NONE, FALSE,
                                    __builtin_return_address(0));
    if (!p && raise)
        ExRaiseStatus(STATUS_INSUFFICIENT_RESOURCES);
    return p;
}

/* ExAllocatePool2: exactly one of NON_PAGED, NON_PAGED_EXECUTE, PAGED; unknown required flags
 * fail the call (NULL); memory is zeroed unless POOL_FLAG_UNINITIALIZED. */
PVOID NTAPI ExAllocatePool2(POOL_FLAGS Flags, SIZE_T NumberOfBytes, ULONG Tag)
{
    const POOL_FLAGS known = POOL_FLAG_USE_QUOTA | POOL_FLAG_UNINITIALIZED | POOL_FLAG_SESSION |
                             POOL_FLAG_CACHE_ALIGNED | POOL_FLAG_RAISE_ON_FAILURE |
                             POOL_FLAG_NON_PAGED | POOL_FLAG_NON_PAGED_EXECUTE | POOL_FLAG_PAGED;
    POOL_FLAGS kinds =
        Flags & (POOL_FLAG_NON_PAGED | POOL_FLAG_NON_PAGED_EXECUTE | POOL_FLAG_PAGED);
    PKTHREAD t = EXP_POOL_ENTRY((Flags & POOL_FLAG_PAGED) ? APC_LEVEL : DISPATCH_LEVEL);
    if ((Flags & 0xFFFFFFFFull & ~known) || kinds == 0 || (kinds & (kinds - 1))) {
        if (Flags & POOL_FLAG_RAISE_ON_FAILURE)
            ExRaiseStatus(STATUS_INVALID_PARAMETER);
        return NULL;
    }
    POOL_TYPE type = (Flags & POOL_FLAG_PAGED) ? PagedPool : NonPagedPoolNx;
    if (Flags & POOL_FLAG_CACHE_ALIGNED)
        type = (POOL_TYPE)(type | 4);
    PVOID p = ExpAllocatePoolThread(t, type, NumberOfBytes, Tag, !(Flags & POOL_FLAG_UNINITIALIZED),
                                    __builtin_return_address(0));
    if (!p && (Flags & POOL_FLAG_RAISE_ON_FAILURE))
        ExRaiseStatus(STATUS_INSUFFICIENT_RESOURCES);
    return p;
}

PVOID NTAPI ExAllocatePoolZero(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag)
{
    PKTHREAD t = EXP_POOL_ENTRY(ExpIsPaged(PoolType) ? APC_LEVEL : DISPATCH_LEVEL);
    return ExpAllocatePoolThread(t, PoolType, NumberOfBytes, Tag, TRUE,
                                 __builtin_return_address(0));
}

PVOID NTAPI ExAllocatePoolUninitialized(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag)
{
    PKTHREAD t = EXP_POOL_ENTRY(ExpIsPaged(PoolType) ? APC_LEVEL : DISPATCH_LEVEL);
    return ExpAllocatePoolThread(t, PoolType, NumberOfBytes, Tag, FALSE,
                                 __builtin_return_address(0));
}

VOID NTAPI ExFreePoolWithTag(PVOID P, ULONG Tag)
{
    PKTHREAD t = EXP_POOL_ENTRY(DISPATCH_LEVEL);
    ExpFreePoolThread(t, P, Tag, Tag != 0);
}

VOID NTAPI ExFreePool(PVOID P)
{
    PKTHREAD t = EXP_POOL_ENTRY(DISPATCH_LEVEL);
    ExpFreePoolThread(t, P, 0, FALSE);
}

/* Lookaside lists: layouts, hits and misses, Depth, statistics, custom allocators, verifier. */
#include "ex_test.h"

#include <string.h>

typedef struct {
    LONG Allocs, Frees;
    POOL_TYPE LastType;
    SIZE_T LastSize;
    ULONG LastTag;
} COUNTS;
static COUNTS counts;

static PVOID NTAPI counting_alloc(POOL_TYPE Type, SIZE_T Size, ULONG Tag)
{
    counts.Allocs++;
    counts.LastType = Type;
    counts.LastSize = Size;
    counts.LastTag = Tag;
    return ExAllocatePoolWithTag(Type, Size, Tag);
}

static VOID NTAPI counting_free(PVOID p)
{
    counts.Frees++;
    ExFreePool(p);
}

static void test_ex_lookaside_layouts(void **state)
{
    assert_int_equal(sizeof(GENERAL_LOOKASIDE), 0x80);
    assert_int_equal(sizeof(NPAGED_LOOKASIDE_LIST), 0x80);
    assert_int_equal(sizeof(PAGED_LOOKASIDE_LIST), 0x80);
    assert_int_equal(FIELD_OFFSET(GENERAL_LOOKASIDE, Depth), 0x10);
    assert_int_equal(FIELD_OFFSET(GENERAL_LOOKASIDE, Allocate), 0x30);
    assert_int_equal(FIELD_OFFSET(GENERAL_LOOKASIDE, ListEntry), 0x40);
}

static void test_ex_npaged_lookaside_hits_misses_and_depth(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    static NPAGED_LOOKASIDE_LIST la;
    memset(&counts, 0, sizeof counts);
    kmtest_junk(&la, sizeof la);
    ExInitializeNPagedLookasideList(&la, counting_alloc, counting_free, 0, 48, 'ookL', 0);
    assert_int_equal(la.L.Depth, 4);
    assert_int_equal(la.L.Size, 48);
    assert_int_equal(la.L.Tag, 'ookL');

    PVOID p[10];
    for (int i = 0; i < 10; i++) {
        p[i] = ExAllocateFromNPagedLookasideList(&la);
        assert_non_null(p[i]);
        memset(p[i], i, 48);
    }
    assert_int_equal(la.L.TotalAllocates, 10);
    assert_int_equal(la.L.AllocateMisses, 10);
    assert_int_equal(counts.Allocs, 10);
    assert_int_equal(counts.LastSize, 48);
    assert_int_equal(counts.LastTag, 'ookL');
    assert_int_equal(counts.LastType & 1, 0); /* nonpaged */

    for (int i = 0; i < 10; i++)
        ExFreeToNPagedLookasideList(&la, p[i]);
    assert_int_equal(la.L.TotalFrees, 10);
    assert_int_equal(ExQueryDepthSList(&la.L.ListHead), 4); /* Depth kept, the rest freed */
    assert_int_equal(la.L.FreeMisses, 6);
    assert_int_equal(counts.Frees, 6);

    /* The 4 kept blocks come back first (LIFO): hits, no new allocation. */
    /* The list kept the first 4 freed (p[0..3]); they come back LIFO: hits, no allocation. */
    for (int i = 0; i < 4; i++)
        assert_ptr_equal(ExAllocateFromNPagedLookasideList(&la), p[3 - i]);
    assert_int_equal(la.L.AllocateMisses, 10);
    assert_int_equal(counts.Allocs, 10);
    for (int i = 0; i < 4; i++)
        ExFreeToNPagedLookasideList(&la, p[i]);
    ExDeleteNPagedLookasideList(&la);
    assert_int_equal(counts.Frees, 10); /* delete frees what the list held */
    kmrig_runtime_destroy(rt);
}

static void test_ex_lookaside_depth_grows_with_misses(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    static NPAGED_LOOKASIDE_LIST la;
    kmtest_junk(&la, sizeof la);
    ExInitializeNPagedLookasideList(&la, NULL, NULL, 0, 64, 'hptD', 0);
    static PVOID p[256];
    for (int i = 0; i < 256; i++)
        p[i] = ExAllocateFromNPagedLookasideList(&la); /* every one a miss */
    assert_true(la.L.Depth > 4);
    assert_true(la.L.Depth <= la.L.MaximumDepth);
    USHORT depth = la.L.Depth;
    for (int i = 0; i < 256; i++)
        ExFreeToNPagedLookasideList(&la, p[i]);
    assert_int_equal(ExQueryDepthSList(&la.L.ListHead), depth);
    /* A run of hits shrinks it again, one step per scan. */
    for (int k = 0; k < 4; k++)
        for (int i = 0; i < 256; i++)
            ExFreeToNPagedLookasideList(&la, ExAllocateFromNPagedLookasideList(&la));
    assert_true(la.L.Depth < depth);
    ExDeleteNPagedLookasideList(&la);
    kmrig_runtime_destroy(rt); /* default allocator: the leak check would catch a lost block */
}

static void test_ex_paged_lookaside_uses_paged_pool(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    static PAGED_LOOKASIDE_LIST la;
    memset(&counts, 0, sizeof counts);
    kmtest_junk(&la, sizeof la);
    ExInitializePagedLookasideList(&la, counting_alloc, counting_free, 0, 32, 'gaPL', 0);
    PVOID a = ExAllocateFromPagedLookasideList(&la);
    assert_non_null(a);
    assert_int_equal(counts.LastType & 1, 1);
    ExFreeToPagedLookasideList(&la, a);
    assert_ptr_equal(ExAllocateFromPagedLookasideList(&la), a);
    assert_int_equal(la.L.TotalAllocates, 2);
    assert_int_equal(la.L.AllocateMisses, 1);
    ExFreeToPagedLookasideList(&la, a);
    ExDeletePagedLookasideList(&la);
    assert_int_equal(counts.Frees, 1);
    kmrig_runtime_destroy(rt);
}

/* ---- per-processor caches ---- */

typedef struct {
    PNPAGED_LOOKASIDE_LIST List;
    PVOID Block[2];
    int Count;
    int Free; /* 1: free Block[0..Count-1]; 0: allocate them */
    ULONG Processor;
} ON_PROCESSOR;

static VOID NTAPI lookaside_dpc(PKDPC Dpc, PVOID Context, PVOID A1, PVOID A2)
{
    ON_PROCESSOR *c = Context;
    c->Processor = KeGetCurrentProcessorNumber();
    for (int i = 0; i < c->Count; i++) {
        if (c->Free)
            ExFreeToNPagedLookasideList(c->List, c->Block[i]);
        else
            c->Block[i] = ExAllocateFromNPagedLookasideList(c->List);
    }
}

/* The test thread may move between processors while it waits: the list operations run in DPCs
 * targeted at the processor under test. */
static void run_on_processor(ON_PROCESSOR *c, CCHAR Processor, int Free)
{
    KDPC dpc;
    KeInitializeDpc(&dpc, lookaside_dpc, c);
    KeSetTargetProcessorDpc(&dpc, Processor);
    c->Free = Free;
    assert_true(KeInsertQueueDpc(&dpc, NULL, NULL));
    KeFlushQueuedDpcs();
    assert_int_equal(c->Processor, (ULONG)Processor);
}

/* Each processor keeps its own free blocks (processor 0's are ListHead); counters are the list's;
 * delete frees the blocks every processor holds. */
static void test_ex_npaged_lookaside_caches_per_processor(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(2);
    static NPAGED_LOOKASIDE_LIST la;
    memset(&counts, 0, sizeof counts);
    kmtest_junk(&la, sizeof la);
    ExInitializeNPagedLookasideList(&la, counting_alloc, counting_free, 0, 64, 'ppLa', 0);
    ON_PROCESSOR c1 = {.List = &la, .Count = 2}, c0 = {.List = &la, .Count = 1};
    run_on_processor(&c1, 1, 0); /* two misses on processor 1 */
    assert_int_equal(counts.Allocs, 2);
    run_on_processor(&c1, 1, 1); /* kept by processor 1, not by ListHead */
    assert_int_equal(la.L.TotalFrees, 2);
    assert_int_equal(la.L.FreeMisses, 0);
    assert_int_equal(ExQueryDepthSList(&la.L.ListHead), 0);
    run_on_processor(&c0, 0, 0); /* processor 0 has nothing cached: a miss */
    assert_int_equal(counts.Allocs, 3);
    PVOID kept[2] = {c1.Block[0], c1.Block[1]};
    run_on_processor(&c1, 1, 0); /* processor 1 gets its own blocks back, LIFO: hits */
    assert_ptr_equal(c1.Block[0], kept[1]);
    assert_ptr_equal(c1.Block[1], kept[0]);
    assert_int_equal(counts.Allocs, 3);
    assert_int_equal(la.L.TotalAllocates, 5);
    assert_int_equal(la.L.AllocateMisses, 3);
    run_on_processor(&c1, 1, 1);
    run_on_processor(&c0, 0, 1);
    assert_int_equal(ExQueryDepthSList(&la.L.ListHead), 1);
    assert_int_equal(counts.Frees, 0);
    ExDeleteNPagedLookasideList(&la);
    assert_int_equal(counts.Frees, 3);
    kmrig_runtime_destroy(rt);
}

/* Threads on four processors allocate, hand blocks to each other through an S-list and free what
 * they receive, so blocks move between processor caches. No block is handed out twice, the
 * counters add up, and the pool leak check at destroy finds no lost block. */
#define LA_THREADS 6
#define LA_ROUNDS 4000
#define LA_MAGIC 0x4C6F6F6B41736964ull

typedef struct DECLSPEC_ALIGN(16) {
    SLIST_ENTRY Entry; /* the lookaside's link while free, the exchange's while handed over */
    volatile LONG64 Live;
    ULONG Owner;
} LA_BLOCK;

static NPAGED_LOOKASIDE_LIST StressList;
static SLIST_HEADER Exchange;
static volatile LONG StressErrors, StressAllocs, StressFrees;

static void stress_free(LA_BLOCK *b)
{
    if (InterlockedExchange64(&b->Live, 0) != (LONG64)LA_MAGIC)
        InterlockedIncrement(&StressErrors);
    InterlockedIncrement(&StressFrees);
    ExFreeToNPagedLookasideList(&StressList, b);
}

static VOID NTAPI stress_thread(PVOID Context)
{
    ULONG id = (ULONG)(ULONG_PTR)Context;
    LA_BLOCK *held[8];
    int n = 0;
    for (int r = 0; r < LA_ROUNDS; r++) {
        switch ((r * 7 + id) % 4) {
        case 0:
        case 1:
            if (n < 8) {
                LA_BLOCK *b = ExAllocateFromNPagedLookasideList(&StressList);
                InterlockedIncrement(&StressAllocs);
                if (InterlockedExchange64(&b->Live, (LONG64)LA_MAGIC) == (LONG64)LA_MAGIC)
                    InterlockedIncrement(&StressErrors); /* handed out twice */
                b->Owner = id;
                held[n++] = b;
            }
            break;
        case 2:
            if (n)
                InterlockedPushEntrySList(&Exchange, &held[--n]->Entry);
            break;
        default: {
            PSLIST_ENTRY e = InterlockedPopEntrySList(&Exchange);
            if (e)
                stress_free(CONTAINING_RECORD(e, LA_BLOCK, Entry));
            else if (n)
                stress_free(held[--n]);
        }
        }
    }
    while (n)
        stress_free(held[--n]);
}

static void test_ex_npaged_lookaside_concurrent_processors(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(4);
    StressErrors = StressAllocs = StressFrees = 0;
    InitializeSListHead(&Exchange);
    ExInitializeNPagedLookasideList(&StressList, NULL, NULL, 0, sizeof(LA_BLOCK), 'ssLa', 0);
    HANDLE h[LA_THREADS];
    for (ULONG t = 0; t < LA_THREADS; t++)
        h[t] = ex_start(stress_thread, (PVOID)(ULONG_PTR)t);
    for (ULONG t = 0; t < LA_THREADS; t++)
        kmtest_join(h[t]);
    PSLIST_ENTRY e;
    while ((e = InterlockedPopEntrySList(&Exchange)) != NULL)
        stress_free(CONTAINING_RECORD(e, LA_BLOCK, Entry));
    assert_int_equal(StressErrors, 0);
    assert_int_equal(StressAllocs, StressFrees);
    /* Counters are plain increments, approximate under contention (as NT's), never above. */
    assert_true(StressList.L.TotalAllocates <= (ULONG)StressAllocs);
    assert_true(StressList.L.AllocateMisses <= StressList.L.TotalAllocates);
    assert_true(ExQueryDepthSList(&StressList.L.ListHead) <= StressList.L.MaximumDepth);
    ExDeleteNPagedLookasideList(&StressList);
    kmrig_runtime_destroy(rt); /* the pool leak check fails the test if a block was lost */
}

/* ---- verifier ---- */

static void free_pool_with_live_lookaside(void *arg)
{
    kmtest_runtime(1);
    PNPAGED_LOOKASIDE_LIST la = ExAllocatePoolWithTag(NonPagedPool, sizeof(*la), 'kooL');
    ExInitializeNPagedLookasideList(la, NULL, NULL, 0, 32, 'kooL', 0);
    ExFreePoolWithTag(la, 'kooL');
}

static void reinitialize_lookaside(void *arg)
{
    kmtest_runtime(1);
    static NPAGED_LOOKASIDE_LIST la;
    ExInitializeNPagedLookasideList(&la, NULL, NULL, 0, 32, 'kooL', 0);
    ExInitializeNPagedLookasideList(&la, NULL, NULL, 0, 32, 'kooL', 0);
}

static void delete_uninitialized_lookaside(void *arg)
{
    kmtest_runtime(1);
    static NPAGED_LOOKASIDE_LIST la;
    memset(&la, 0, sizeof la);
    InitializeSListHead(&la.L.ListHead);
    ExDeleteNPagedLookasideList(&la);
}

static void paged_lookaside_at_dispatch(void *arg)
{
    kmtest_runtime(1);
    static PAGED_LOOKASIDE_LIST la;
    ExInitializePagedLookasideList(&la, NULL, NULL, 0, 32, 'kooL', 0);
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    ExAllocateFromPagedLookasideList(&la);
}

static void test_ex_lookaside_verifier_checks(void **state)
{
    ULONG_PTR p[4];
    assert_int_equal(kmtest_bugcheck_of(free_pool_with_live_lookaside, NULL, p),
                     DRIVER_VERIFIER_DETECTED_VIOLATION);
    assert_int_equal(p[0], 0xCC);
    assert_int_equal(p[1], p[2]); /* the list is at the start of the block */
    assert_int_equal(kmtest_bugcheck_of(reinitialize_lookaside, NULL, p),
                     DRIVER_VERIFIER_DETECTED_VIOLATION);
    assert_int_equal(p[0], 0xCA);
    assert_int_equal(kmtest_bugcheck_of(delete_uninitialized_lookaside, NULL, p),
                     DRIVER_VERIFIER_DETECTED_VIOLATION);
    assert_int_equal(p[0], 0xCB);
    assert_int_equal(kmtest_bugcheck_of(paged_lookaside_at_dispatch, NULL, p),
                     DRIVER_VERIFIER_DETECTED_VIOLATION);
    assert_int_equal(p[1], DISPATCH_LEVEL);
    assert_int_equal(p[2], APC_LEVEL);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_ex_lookaside_layouts),
    cmocka_unit_test(test_ex_npaged_lookaside_hits_misses_and_depth),
    cmocka_unit_test(test_ex_lookaside_depth_grows_with_misses),
    cmocka_unit_test(test_ex_paged_lookaside_uses_paged_pool),
    cmocka_unit_test(test_ex_npaged_lookaside_caches_per_processor),
    cmocka_unit_test(test_ex_npaged_lookaside_concurrent_processors),
    cmocka_unit_test(test_ex_lookaside_verifier_checks),
};
KMTEST_MAIN(tests)

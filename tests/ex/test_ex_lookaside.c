/* Lookaside lists: layouts, hits and misses, Depth, statistics, custom allocators, verifier. */
#include "kmtest.h"

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
    cmocka_unit_test(test_ex_lookaside_verifier_checks),
};
KMTEST_MAIN(tests)

/* Sequenced singly linked lists: LIFO order, depth, sequence, flush, and a concurrent stress. */
#include "ex_test.h"

#include <string.h>

typedef struct DECLSPEC_ALIGN(16) {
    SLIST_ENTRY Entry;
    int Value;
    volatile LONG Owned;
} NODE;

static void test_ex_slist_push_pop_depth(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    SLIST_HEADER head;
    kmtest_junk(&head, sizeof head);
    ExInitializeSListHead(&head);
    assert_int_equal(ExQueryDepthSList(&head), 0);
    assert_null(InterlockedPopEntrySList(&head));
    static NODE n[3];
    assert_null(InterlockedPushEntrySList(&head, &n[0].Entry));
    assert_ptr_equal(ExInterlockedPushEntrySList(&head, &n[1].Entry, NULL), &n[0].Entry);
    assert_ptr_equal(InterlockedPushEntrySList(&head, &n[2].Entry), &n[1].Entry);
    assert_int_equal(ExQueryDepthSList(&head), 3);
    assert_int_equal(head.HeaderX64.Depth, 3);
    assert_int_equal(head.HeaderX64.Sequence, 3);
    assert_ptr_equal(ExInterlockedPopEntrySList(&head, NULL), &n[2].Entry);
    assert_ptr_equal(InterlockedPopEntrySList(&head), &n[1].Entry);
    assert_int_equal(ExQueryDepthSList(&head), 1);
    assert_int_equal(head.HeaderX64.Sequence, 5);
    assert_ptr_equal((PVOID)(ULONG_PTR)(head.HeaderX64.NextEntry << 4), &n[0].Entry);
    assert_ptr_equal(InterlockedPopEntrySList(&head), &n[0].Entry);
    assert_null(InterlockedPopEntrySList(&head));
    assert_int_equal(ExQueryDepthSList(&head), 0);
    kmrig_runtime_destroy(rt);
}

static void test_ex_slist_flush_returns_chain(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    SLIST_HEADER head;
    InitializeSListHead(&head);
    static NODE n[4];
    for (int i = 0; i < 4; i++)
        InterlockedPushEntrySList(&head, &n[i].Entry);
    PSLIST_ENTRY e = InterlockedFlushSList(&head);
    assert_int_equal(ExQueryDepthSList(&head), 0);
    assert_null(InterlockedPopEntrySList(&head));
    int count = 0;
    for (; e; e = e->Next)
        assert_ptr_equal(e, &n[3 - count++].Entry);
    assert_int_equal(count, 4);
    assert_null(InterlockedFlushSList(&head));
    kmrig_runtime_destroy(rt);
}

static void test_ex_slist_header_layout(void **state)
{
    assert_int_equal(sizeof(SLIST_HEADER), 16);
    assert_int_equal(_Alignof(SLIST_HEADER), 16);
    assert_int_equal(sizeof(SLIST_ENTRY), 16);
}

#define THREADS 8
#define PER_THREAD 32
#define ROUNDS 3000

static SLIST_HEADER Head;
static NODE Nodes[THREADS * PER_THREAD];
static volatile LONG Errors;

static VOID NTAPI slist_thread(PVOID ctx)
{
    PSLIST_ENTRY held[PER_THREAD];
    int n = 0;
    for (int r = 0; r < ROUNDS; r++) {
        if ((r & 3) != 3 && n < PER_THREAD) {
            PSLIST_ENTRY e = InterlockedPopEntrySList(&Head);
            if (e) {
                NODE *node = CONTAINING_RECORD(e, NODE, Entry);
                if (InterlockedExchange(&node->Owned, 1) != 0)
                    InterlockedIncrement(&Errors); /* popped by two at once */
                held[n++] = e;
            }
        } else if (n) {
            NODE *node = CONTAINING_RECORD(held[--n], NODE, Entry);
            InterlockedExchange(&node->Owned, 0);
            InterlockedPushEntrySList(&Head, held[n]);
        }
        assert_true(ExQueryDepthSList(&Head) <= THREADS * PER_THREAD);
    }
    while (n) {
        NODE *node = CONTAINING_RECORD(held[--n], NODE, Entry);
        InterlockedExchange(&node->Owned, 0);
        InterlockedPushEntrySList(&Head, held[n]);
    }
}

static void test_ex_slist_concurrent_depth_is_exact(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(4);
    InitializeSListHead(&Head);
    memset(Nodes, 0, sizeof Nodes);
    Errors = 0;
    for (int i = 0; i < THREADS * PER_THREAD; i++) {
        Nodes[i].Value = i;
        InterlockedPushEntrySList(&Head, &Nodes[i].Entry);
    }
    HANDLE h[THREADS];
    for (int t = 0; t < THREADS; t++)
        h[t] = ex_start(slist_thread, NULL);
    for (int t = 0; t < THREADS; t++)
        kmtest_join(h[t]);
    assert_int_equal(Errors, 0);
    assert_int_equal(ExQueryDepthSList(&Head), THREADS * PER_THREAD);
    static UCHAR seen[THREADS * PER_THREAD];
    memset(seen, 0, sizeof seen);
    PSLIST_ENTRY e;
    int count = 0;
    while ((e = InterlockedPopEntrySList(&Head)) != NULL) {
        NODE *node = CONTAINING_RECORD(e, NODE, Entry);
        assert_int_equal(seen[node->Value], 0);
        seen[node->Value] = 1;
        count++;
    }
    assert_int_equal(count, THREADS * PER_THREAD);
    kmrig_runtime_destroy(rt);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_ex_slist_push_pop_depth),
    cmocka_unit_test(test_ex_slist_flush_returns_chain),
    cmocka_unit_test(test_ex_slist_header_layout),
    cmocka_unit_test(test_ex_slist_concurrent_depth_is_exact),
};
KMTEST_MAIN(tests)

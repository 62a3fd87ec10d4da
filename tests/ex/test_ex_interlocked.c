/* Interlocked* and ExInterlocked* (spin-lock forms), including a 4-processor stress. */
#include "ex_test.h"

#include <string.h>

static void test_ex_interlocked_arithmetic_and_exchange(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    volatile LONG v = 5;
    assert_int_equal(InterlockedIncrement(&v), 6);
    assert_int_equal(InterlockedDecrement(&v), 5);
    assert_int_equal(InterlockedExchange(&v, 42), 5);
    assert_int_equal(v, 42);
    assert_int_equal(InterlockedExchangeAdd(&v, -2), 42);
    assert_int_equal(v, 40);
    assert_int_equal(InterlockedCompareExchange(&v, 7, 39), 40); /* no match: unchanged */
    assert_int_equal(v, 40);
    assert_int_equal(InterlockedCompareExchange(&v, 7, 40), 40);
    assert_int_equal(v, 7);
    v = MAXLONG;
    assert_int_equal(InterlockedIncrement(&v), MINLONG); /* wraps like the hardware */

    int a, b;
    PVOID volatile ptr = &a;
    assert_ptr_equal(InterlockedCompareExchangePointer(&ptr, &b, &b), &a);
    assert_ptr_equal(ptr, &a);
    assert_ptr_equal(InterlockedCompareExchangePointer(&ptr, &b, &a), &a);
    assert_ptr_equal(ptr, &b);

    volatile LONGLONG q = 0x100000000LL;
    LONGLONG x = 0x7, c = 0x100000000LL;
    KSPIN_LOCK lock;
    KeInitializeSpinLock(&lock);
    assert_int_equal(ExInterlockedCompareExchange64(&q, &x, &c, &lock), 0x100000000LL);
    assert_int_equal(q, 7);
    c = 1;
    assert_int_equal(ExInterlockedCompareExchange64(&q, &x, &c, &lock), 7);
    kmrig_runtime_destroy(rt);
}

static void test_ex_interlocked_add_with_spin_lock(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    KSPIN_LOCK lock;
    KeInitializeSpinLock(&lock);
    ULONG u = 0xFFFFFFF0u;
    assert_int_equal(ExInterlockedAddUlong(&u, 0x20, &lock), 0xFFFFFFF0u);
    assert_int_equal(u, 0x10);
    LARGE_INTEGER big = {.QuadPart = 0xFFFFFFFFLL}, inc = {.QuadPart = 1};
    LARGE_INTEGER prev = ExInterlockedAddLargeInteger(&big, inc, &lock);
    assert_int_equal(prev.QuadPart, 0xFFFFFFFFLL);
    assert_int_equal(big.QuadPart, 0x100000000LL);
    assert_true(KeTestSpinLock(&lock)); /* released */
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
    /* Callable above DISPATCH_LEVEL (an ISR). */
    KIRQL old;
    KeRaiseIrql(HIGH_LEVEL, &old);
    assert_int_equal(ExInterlockedAddUlong(&u, 1, &lock), 0x10);
    KeLowerIrql(old);
    kmrig_runtime_destroy(rt);
}

typedef struct {
    LIST_ENTRY Link;
    int Value;
} ITEM;

static void test_ex_interlocked_lists_return_previous_state(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    KSPIN_LOCK lock;
    KeInitializeSpinLock(&lock);
    LIST_ENTRY head;
    InitializeListHead(&head);
    ITEM a = {.Value = 1}, b = {.Value = 2}, c = {.Value = 3};
    assert_null(ExInterlockedInsertTailList(&head, &a.Link, &lock)); /* was empty */
    assert_ptr_equal(ExInterlockedInsertTailList(&head, &b.Link, &lock), &a.Link);
    assert_ptr_equal(ExInterlockedInsertHeadList(&head, &c.Link, &lock), &a.Link);
    /* Order: c a b */
    assert_ptr_equal(ExInterlockedRemoveHeadList(&head, &lock), &c.Link);
    assert_ptr_equal(ExInterlockedRemoveHeadList(&head, &lock), &a.Link);
    assert_ptr_equal(ExInterlockedRemoveHeadList(&head, &lock), &b.Link);
    assert_null(ExInterlockedRemoveHeadList(&head, &lock));

    SINGLE_LIST_ENTRY shead = {NULL}, s1, s2;
    assert_null(ExInterlockedPushEntryList(&shead, &s1, &lock));
    assert_ptr_equal(ExInterlockedPushEntryList(&shead, &s2, &lock), &s1);
    assert_ptr_equal(ExInterlockedPopEntryList(&shead, &lock), &s2);
    assert_ptr_equal(ExInterlockedPopEntryList(&shead, &lock), &s1);
    assert_null(ExInterlockedPopEntryList(&shead, &lock));
    kmrig_runtime_destroy(rt);
}

#define STRESS_THREADS 6
#define STRESS_OPS 2000

typedef struct {
    KSPIN_LOCK Lock;
    LIST_ENTRY Queue;
    volatile LONG Counter;
    ULONG Added;
    volatile LONG Removed;
    ITEM Items[STRESS_THREADS][16];
} STRESS;
static STRESS S;

static VOID NTAPI stress_thread(PVOID ctx)
{
    ITEM *mine = ctx;
    for (int i = 0; i < STRESS_OPS; i++) {
        InterlockedIncrement(&S.Counter);
        ExInterlockedAddUlong(&S.Added, 1, &S.Lock);
        ITEM *it = &mine[i % 16];
        if (i % 2 == 0)
            ExInterlockedInsertTailList(&S.Queue, &it->Link, &S.Lock);
        else
            ExInterlockedInsertHeadList(&S.Queue, &it->Link, &S.Lock);
        /* Take any item off (possibly another thread's) and put it back on our own list. */
        PLIST_ENTRY e = ExInterlockedRemoveHeadList(&S.Queue, &S.Lock);
        assert_non_null(e);
        InterlockedIncrement(&S.Removed);
    }
}

static void test_ex_interlocked_stress_4_processors(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(4);
    memset(&S, 0, sizeof S);
    KeInitializeSpinLock(&S.Lock);
    InitializeListHead(&S.Queue);
    HANDLE h[STRESS_THREADS];
    for (int t = 0; t < STRESS_THREADS; t++)
        h[t] = ex_start(stress_thread, S.Items[t]);
    for (int t = 0; t < STRESS_THREADS; t++)
        kmtest_join(h[t]);
    assert_int_equal(S.Counter, STRESS_THREADS * STRESS_OPS);
    assert_int_equal(S.Added, STRESS_THREADS * STRESS_OPS);
    assert_int_equal(S.Removed, STRESS_THREADS * STRESS_OPS);
    assert_true(IsListEmpty(&S.Queue));
    kmrig_runtime_destroy(rt);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_ex_interlocked_arithmetic_and_exchange),
    cmocka_unit_test(test_ex_interlocked_add_with_spin_lock),
    cmocka_unit_test(test_ex_interlocked_lists_return_previous_state),
    cmocka_unit_test(test_ex_interlocked_stress_4_processors),
};
KMTEST_MAIN(tests)

/* Timers on virtual time: one-shot, periodic, absolute, cancel, DPC queued (never inline). */
#include "kmtest.h"

typedef struct {
    int runs;
    KIRQL irql;
    ULONGLONG when[16];
} TIMER_CTX;

static VOID NTAPI timer_dpc(PKDPC Dpc, PVOID Context, PVOID A1, PVOID A2)
{
    TIMER_CTX *c = Context;
    if (c->runs < 16)
        c->when[c->runs] = KeQueryInterruptTime();
    c->runs++;
    c->irql = KeGetCurrentIrql();
}

static void test_ke_set_timer_relative_fires_once_at_due_time(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    KTIMER timer;
    KDPC dpc;
    TIMER_CTX c = {0};
    kmtest_junk(&timer, sizeof timer);
    KeInitializeTimer(&timer);
    KeInitializeDpc(&dpc, timer_dpc, &c);
    ULONGLONG t0 = KeQueryInterruptTime();
    assert_false(KeSetTimer(&timer, kmtest_ms(10), &dpc)); /* was not set */
    assert_false(KeReadStateTimer(&timer));
    assert_int_equal(c.runs, 0); /* queued later, never inline */
    assert_int_equal(KeWaitForSingleObject(&timer, Executive, KernelMode, FALSE, NULL),
                     STATUS_SUCCESS);
    assert_true(KeReadStateTimer(&timer));
    assert_int_equal(c.runs, 1);
    assert_int_equal(c.irql, DISPATCH_LEVEL);
    /* Virtual time: the DPC ran at the due time, to the 100 ns tick (a few query costs later). */
    assert_true(c.when[0] - t0 >= 100000);
    assert_true(c.when[0] - t0 < 100000 + 10);
    LARGE_INTEGER d = kmtest_ms(50);
    KeDelayExecutionThread(KernelMode, FALSE, &d);
    assert_int_equal(c.runs, 1);
    kmrig_runtime_destroy(rt);
}

static void test_ke_set_timer_ex_periodic_fires_expected_count(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    KTIMER timer;
    KDPC dpc;
    TIMER_CTX c = {0};
    KeInitializeTimerEx(&timer, SynchronizationTimer);
    KeInitializeDpc(&dpc, timer_dpc, &c);
    LARGE_INTEGER due = kmtest_ms(5);
    KeSetTimerEx(&timer, due, 10 /* ms */, &dpc);
    /* Fires at 5, 15, 25, ..., 95 ms: 10 times within 100 ms. */
    LARGE_INTEGER d = kmtest_ms(100);
    KeDelayExecutionThread(KernelMode, FALSE, &d);
    assert_int_equal(c.runs, 10);
    for (int i = 1; i < 10; i++)
        assert_true(c.when[i] - c.when[i - 1] >= 99990 && c.when[i] - c.when[i - 1] <= 100010);
    assert_true(KeCancelTimer(&timer)); /* a periodic timer stays set */
    assert_false(KeCancelTimer(&timer));
    KeDelayExecutionThread(KernelMode, FALSE, &d);
    assert_int_equal(c.runs, 10);
    kmrig_runtime_destroy(rt);
}

static void test_ke_cancel_timer_before_due(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    KTIMER timer;
    KDPC dpc;
    TIMER_CTX c = {0};
    KeInitializeTimer(&timer);
    KeInitializeDpc(&dpc, timer_dpc, &c);
    KeSetTimer(&timer, kmtest_ms(10), &dpc);
    assert_true(KeSetTimer(&timer, kmtest_ms(20), &dpc)); /* reset while set: TRUE */
    assert_true(KeCancelTimer(&timer));
    LARGE_INTEGER d = kmtest_ms(30);
    KeDelayExecutionThread(KernelMode, FALSE, &d);
    assert_int_equal(c.runs, 0);
    assert_false(KeReadStateTimer(&timer));
    kmrig_runtime_destroy(rt);
}

static void test_ke_set_timer_absolute_due_time(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    KTIMER timer;
    KeInitializeTimer(&timer);
    LARGE_INTEGER now, due, after;
    KeQuerySystemTime(&now);
    due.QuadPart = now.QuadPart + 30 * 10000; /* 30 ms from now, absolute */
    KeSetTimer(&timer, due, NULL);
    assert_int_equal(KeWaitForSingleObject(&timer, Executive, KernelMode, FALSE, NULL),
                     STATUS_SUCCESS);
    KeQuerySystemTime(&after);
    assert_true(after.QuadPart >= due.QuadPart);
    assert_true(after.QuadPart < due.QuadPart + 10);
    /* An absolute time in the past expires at once. */
    KeInitializeTimer(&timer);
    due.QuadPart = now.QuadPart - 1;
    KeSetTimer(&timer, due, NULL);
    LARGE_INTEGER zero = {.QuadPart = -1};
    assert_int_equal(KeWaitForSingleObject(&timer, Executive, KernelMode, FALSE, &zero),
                     STATUS_SUCCESS);
    kmrig_runtime_destroy(rt);
}

static void test_ke_set_timer_synchronization_timer_releases_one_waiter(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    KTIMER timer;
    KeInitializeTimerEx(&timer, SynchronizationTimer);
    KeSetTimer(&timer, kmtest_ms(1), NULL);
    assert_int_equal(KeWaitForSingleObject(&timer, Executive, KernelMode, FALSE, NULL),
                     STATUS_SUCCESS);
    /* A synchronization timer is reset by the satisfied wait. */
    assert_false(KeReadStateTimer(&timer));
    LARGE_INTEGER zero = {.QuadPart = 0};
    assert_int_equal(KeWaitForSingleObject(&timer, Executive, KernelMode, FALSE, &zero),
                     STATUS_TIMEOUT);
    kmrig_runtime_destroy(rt);
}

static void test_ke_query_time_routines_move_with_virtual_time(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    LARGE_INTEGER f, c0, c1, st0, st1, tc0, tc1;
    assert_int_equal(KeQueryTimeIncrement(), 156250);
    c0 = KeQueryPerformanceCounter(&f);
    assert_int_equal(f.QuadPart, 10000000);
    KeQuerySystemTime(&st0);
    KeQueryTickCount(&tc0);
    ULONGLONG it0 = KeQueryInterruptTime();
    LARGE_INTEGER d = kmtest_ms(1000);
    KeDelayExecutionThread(KernelMode, FALSE, &d);
    c1 = KeQueryPerformanceCounter(NULL);
    KeQuerySystemTime(&st1);
    KeQueryTickCount(&tc1);
    ULONGLONG it1 = KeQueryInterruptTime();
    assert_true(c1.QuadPart - c0.QuadPart >= 10000000 && c1.QuadPart - c0.QuadPart < 10000100);
    assert_true(st1.QuadPart - st0.QuadPart >= 10000000);
    assert_true(it1 - it0 >= 10000000);
    assert_int_equal(tc1.QuadPart - tc0.QuadPart, 64); /* 1 s / 15.625 ms */
    /* The default epoch: 2024-01-01T00:00:00Z. */
    assert_true(st0.QuadPart >= 133485408000000000LL && st0.QuadPart < 133485408000000000LL + 100);
    kmrig_runtime_destroy(rt);
}

static void test_ke_query_performance_counter_busy_wait_sees_time_pass(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    LARGE_INTEGER start = KeQueryPerformanceCounter(NULL), now;
    int polls = 0;
    do {
        now = KeQueryPerformanceCounter(NULL);
        polls++;
    } while (now.QuadPart - start.QuadPart < 10000); /* 1 ms */
    assert_true(polls > 100 && polls < 1000000);
    kmrig_runtime_destroy(rt);
}

static void test_ke_stall_execution_processor_advances_time_and_runs_due_timer(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    KTIMER timer;
    KDPC dpc;
    TIMER_CTX c = {0};
    KeInitializeTimer(&timer);
    KeInitializeDpc(&dpc, timer_dpc, &c);
    ULONGLONG t0 = KeQueryInterruptTime();
    KeSetTimer(&timer, kmtest_ms(1), &dpc);
    KeStallExecutionProcessor(3000); /* 3 ms busy: the timer's DPC runs inside the stall */
    ULONGLONG t1 = KeQueryInterruptTime();
    assert_true(t1 - t0 >= 30000 && t1 - t0 < 30100);
    assert_int_equal(c.runs, 1);
    assert_true(c.when[0] - t0 >= 10000 && c.when[0] - t0 < 10100);
    /* At DISPATCH_LEVEL the DPC waits for IRQL to drop. */
    KeInitializeTimer(&timer);
    KeSetTimer(&timer, kmtest_ms(1), &dpc);
    KIRQL old = KeRaiseIrqlToDpcLevel();
    KeStallExecutionProcessor(3000);
    assert_int_equal(c.runs, 1);
    KeLowerIrql(old);
    assert_int_equal(c.runs, 2);
    kmrig_runtime_destroy(rt);
}

static void spin_forever(void *arg)
{
    kmrig_config cfg;
    kmrig_config_init(&cfg);
    cfg.time_budget_ns = 5000000; /* 5 ms */
    kmtest_runtime_cfg(&cfg);
    for (;;)
        KeStallExecutionProcessor(100);
}

static void test_ke_time_budget_ends_a_runaway_test(void **state)
{
    assert_bugcheck(spin_forever, NULL, KMRIG_BUGCHECK_TIME_BUDGET);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_ke_set_timer_relative_fires_once_at_due_time),
    cmocka_unit_test(test_ke_set_timer_ex_periodic_fires_expected_count),
    cmocka_unit_test(test_ke_cancel_timer_before_due),
    cmocka_unit_test(test_ke_set_timer_absolute_due_time),
    cmocka_unit_test(test_ke_set_timer_synchronization_timer_releases_one_waiter),
    cmocka_unit_test(test_ke_query_time_routines_move_with_virtual_time),
    cmocka_unit_test(test_ke_query_performance_counter_busy_wait_sees_time_pass),
    cmocka_unit_test(test_ke_stall_execution_processor_advances_time_and_runs_due_timer),
    cmocka_unit_test(test_ke_time_budget_ends_a_runaway_test),
};
KMTEST_MAIN(tests)

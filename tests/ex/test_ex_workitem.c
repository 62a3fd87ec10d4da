/* System work items: run on worker threads at PASSIVE_LEVEL, requeue, queue from a DPC, and the
 * worker's checks. */
#include "ex_test.h"

#include <string.h>

typedef struct {
    WORK_QUEUE_ITEM Item;
    KEVENT Done;
    volatile LONG Runs;
    PKTHREAD Thread;
    KIRQL Irql;
    PVOID Parameter;
    LONG Requeue;
} WORK;

static VOID NTAPI work_routine(PVOID Parameter)
{
    WORK *w = Parameter;
    w->Thread = KeGetCurrentThread();
    w->Irql = KeGetCurrentIrql();
    w->Parameter = Parameter;
    assert_null(w->Item.List.Flink); /* cleared before the call: may be queued again */
    if (InterlockedIncrement(&w->Runs) < w->Requeue)
        ExQueueWorkItem(&w->Item, DelayedWorkQueue);
    else
        KeSetEvent(&w->Done, 0, FALSE);
}

static void test_ex_queue_work_item_runs_on_worker_at_passive(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    const WORK_QUEUE_TYPE types[] = {CriticalWorkQueue, DelayedWorkQueue, HyperCriticalWorkQueue};
    for (unsigned i = 0; i < ARRAYSIZE(types); i++) {
        static WORK w;
        memset(&w, 0, sizeof w);
        kmtest_junk(&w.Item, sizeof w.Item);
        KeInitializeEvent(&w.Done, NotificationEvent, FALSE);
        w.Requeue = 1;
        ExInitializeWorkItem(&w.Item, work_routine, &w);
        assert_null(w.Item.List.Flink);
        ExQueueWorkItem(&w.Item, types[i]);
        LARGE_INTEGER t = kmtest_ms(1000);
        assert_int_equal(KeWaitForSingleObject(&w.Done, Executive, KernelMode, FALSE, &t),
                         STATUS_SUCCESS);
        assert_int_equal(w.Runs, 1);
        assert_true(w.Thread != NULL && w.Thread != KeGetCurrentThread());
        assert_int_equal(w.Irql, PASSIVE_LEVEL);
        assert_ptr_equal(w.Parameter, &w);
    }
    kmrig_runtime_destroy(rt);
}

#undef ExInitializeWorkItem
static void test_ex_initialize_work_item_function_and_requeue(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(2);
    static WORK w;
    memset(&w, 0, sizeof w);
    KeInitializeEvent(&w.Done, NotificationEvent, FALSE);
    w.Requeue = 5;
    kmtest_junk(&w.Item, sizeof w.Item);
    ExInitializeWorkItem(&w.Item, work_routine, &w); /* the exported function */
    assert_null(w.Item.List.Flink);
    assert_ptr_equal(w.Item.WorkerRoutine, work_routine);
    ExQueueWorkItem(&w.Item, NormalWorkQueue);
    KeWaitForSingleObject(&w.Done, Executive, KernelMode, FALSE, NULL);
    assert_int_equal(w.Runs, 5);
    kmrig_runtime_destroy(rt);
}

static VOID NTAPI queue_from_dpc(PKDPC Dpc, PVOID Ctx, PVOID A1, PVOID A2)
{
    WORK *w = Ctx;
    assert_int_equal(KeGetCurrentIrql(), DISPATCH_LEVEL);
    ExQueueWorkItem(&w->Item, CriticalWorkQueue);
}

static void test_ex_queue_work_item_from_dpc(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    static WORK w;
    static KDPC dpc;
    memset(&w, 0, sizeof w);
    KeInitializeEvent(&w.Done, NotificationEvent, FALSE);
    w.Requeue = 1;
    ExInitializeWorkItem(&w.Item, work_routine, &w);
    KeInitializeDpc(&dpc, queue_from_dpc, &w);
    KeInsertQueueDpc(&dpc, NULL, NULL);
    KeWaitForSingleObject(&w.Done, Executive, KernelMode, FALSE, NULL);
    assert_int_equal(w.Runs, 1);
    assert_int_equal(w.Irql, PASSIVE_LEVEL);
    kmrig_runtime_destroy(rt);
}

/* ---- checks ---- */

static VOID NTAPI returns_at_dispatch(PVOID Parameter)
{
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
}

static WORK_QUEUE_ITEM BadItem;

static void run_bad_item(void *arg)
{
    kmtest_runtime(1);
    ExInitializeWorkItem(&BadItem, returns_at_dispatch, (PVOID)0x1234);
    ExQueueWorkItem(&BadItem, DelayedWorkQueue);
    ex_sleep_ms(1000);
}

static VOID NTAPI never_runs(PVOID Parameter) {}

static void queue_twice(void *arg)
{
    kmtest_runtime(1);
    KIRQL old;
    ExInitializeWorkItem(&BadItem, never_runs, NULL);
    KeRaiseIrql(DISPATCH_LEVEL, &old); /* the workers cannot run before the second queue */
    ExQueueWorkItem(&BadItem, DelayedWorkQueue);
    ExQueueWorkItem(&BadItem, DelayedWorkQueue);
}

static void test_ex_work_item_checks_bugcheck(void **state)
{
    ULONG_PTR p[4];
    assert_int_equal(kmtest_bugcheck_of(run_bad_item, NULL, p), WORKER_THREAD_RETURNED_AT_BAD_IRQL);
    assert_int_equal(p[0], (ULONG_PTR)returns_at_dispatch);
    assert_int_equal(p[1], DISPATCH_LEVEL);
    assert_int_equal(p[2], 0x1234);
    assert_int_equal(p[3], (ULONG_PTR)&BadItem);
    assert_int_equal(kmtest_bugcheck_of(queue_twice, NULL, p), WORKER_INVALID);
    assert_int_equal(p[0], 1);
    assert_int_equal(p[1], (ULONG_PTR)&BadItem);
}

#define ITEMS 200
static WORK_QUEUE_ITEM Items[ITEMS];
static volatile LONG Ran;
static KEVENT AllRan;

static VOID NTAPI count_routine(PVOID Parameter)
{
    if (InterlockedIncrement(&Ran) == ITEMS)
        KeSetEvent(&AllRan, 0, FALSE);
}

static void test_ex_queue_work_item_stress_4_processors(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(4);
    KeInitializeEvent(&AllRan, NotificationEvent, FALSE);
    Ran = 0;
    for (int i = 0; i < ITEMS; i++) {
        ExInitializeWorkItem(&Items[i], count_routine, NULL);
        ExQueueWorkItem(&Items[i], (WORK_QUEUE_TYPE)(i % 3));
    }
    KeWaitForSingleObject(&AllRan, Executive, KernelMode, FALSE, NULL);
    assert_int_equal(Ran, ITEMS);
    kmrig_runtime_destroy(rt);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_ex_queue_work_item_runs_on_worker_at_passive),
    cmocka_unit_test(test_ex_initialize_work_item_function_and_requeue),
    cmocka_unit_test(test_ex_queue_work_item_from_dpc),
    cmocka_unit_test(test_ex_work_item_checks_bugcheck),
    cmocka_unit_test(test_ex_queue_work_item_stress_4_processors),
};
KMTEST_MAIN(tests)

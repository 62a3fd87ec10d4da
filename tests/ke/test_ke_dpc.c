/* DPCs: queueing, importance, target processor, when they run relative to IRQL. */
#include "kmtest.h"

typedef struct {
    int runs;
    KIRQL irql;
    ULONG processor;
    PVOID a1, a2;
    int order[8];
    int norder;
    int *log;
} DPC_CTX;

static int g_log[16];
static int g_nlog;

static VOID NTAPI record_dpc(PKDPC Dpc, PVOID Context, PVOID A1, PVOID A2)
{
    DPC_CTX *c = Context;
    c->runs++;
    c->irql = KeGetCurrentIrql();
    c->processor = KeGetCurrentProcessorNumber();
    c->a1 = A1;
    c->a2 = A2;
}

static VOID NTAPI log_dpc(PKDPC Dpc, PVOID Context, PVOID A1, PVOID A2)
{
    g_log[g_nlog++] = (int)(ULONG_PTR)Context;
}

static void test_ke_insert_queue_dpc_at_passive_runs_before_return(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    KDPC dpc;
    DPC_CTX c = {0};
    kmtest_junk(&dpc, sizeof dpc);
    KeInitializeDpc(&dpc, record_dpc, &c);
    assert_true(KeInsertQueueDpc(&dpc, (PVOID)1, (PVOID)2));
    assert_int_equal(c.runs, 1);
    assert_int_equal(c.irql, DISPATCH_LEVEL);
    assert_ptr_equal(c.a1, (PVOID)1);
    assert_ptr_equal(c.a2, (PVOID)2);
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
    kmrig_runtime_destroy(rt);
}

static void test_ke_insert_queue_dpc_twice_returns_false(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    KDPC dpc;
    DPC_CTX c = {0};
    KeInitializeDpc(&dpc, record_dpc, &c);
    KIRQL old = KeRaiseIrqlToDpcLevel();
    assert_true(KeInsertQueueDpc(&dpc, NULL, NULL));
    assert_false(KeInsertQueueDpc(&dpc, NULL, NULL));
    assert_int_equal(c.runs, 0); /* not while at DISPATCH_LEVEL */
    KeLowerIrql(old);            /* the DPC runs as IRQL drops below DISPATCH_LEVEL */
    assert_int_equal(c.runs, 1);
    assert_true(KeInsertQueueDpc(&dpc, NULL, NULL)); /* dequeued before it ran: queueable again */
    assert_int_equal(c.runs, 2);
    kmrig_runtime_destroy(rt);
}

static void test_ke_remove_queue_dpc(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    KDPC dpc;
    DPC_CTX c = {0};
    KeInitializeDpc(&dpc, record_dpc, &c);
    assert_false(KeRemoveQueueDpc(&dpc)); /* not queued */
    KIRQL old = KeRaiseIrqlToDpcLevel();
    assert_true(KeInsertQueueDpc(&dpc, NULL, NULL));
    assert_true(KeRemoveQueueDpc(&dpc));
    assert_false(KeRemoveQueueDpc(&dpc));
    KeLowerIrql(old);
    assert_int_equal(c.runs, 0);
    kmrig_runtime_destroy(rt);
}

static void test_ke_set_importance_dpc_orders_queue(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    KDPC d[3];
    g_nlog = 0;
    for (int i = 0; i < 3; i++)
        KeInitializeDpc(&d[i], log_dpc, (PVOID)(ULONG_PTR)(i + 1));
    KeSetImportanceDpc(&d[2], HighImportance);
    KIRQL old = KeRaiseIrqlToDpcLevel();
    KeInsertQueueDpc(&d[0], NULL, NULL);
    KeInsertQueueDpc(&d[1], NULL, NULL);
    KeInsertQueueDpc(&d[2], NULL, NULL); /* high importance: goes to the head */
    KeLowerIrql(old);
    assert_int_equal(g_nlog, 3);
    assert_int_equal(g_log[0], 3);
    assert_int_equal(g_log[1], 1);
    assert_int_equal(g_log[2], 2);
    kmrig_runtime_destroy(rt);
}

static void test_ke_set_importance_dpc_low_does_not_start_queue(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    KDPC low, med;
    DPC_CTX cl = {0}, cm = {0};
    KeInitializeDpc(&low, record_dpc, &cl);
    KeInitializeDpc(&med, record_dpc, &cm);
    KeSetImportanceDpc(&low, LowImportance);
    assert_true(KeInsertQueueDpc(&low, NULL, NULL));
    assert_int_equal(cl.runs, 0); /* queued, not started */
    assert_true(KeInsertQueueDpc(&med, NULL, NULL));
    assert_int_equal(cm.runs, 1); /* the medium one drains the whole queue */
    assert_int_equal(cl.runs, 1);
    /* A lone low-importance DPC runs when the processor goes idle. */
    assert_true(KeInsertQueueDpc(&low, NULL, NULL));
    assert_int_equal(cl.runs, 1);
    LARGE_INTEGER d = kmtest_ms(1);
    KeDelayExecutionThread(KernelMode, FALSE, &d);
    assert_int_equal(cl.runs, 2);
    kmrig_runtime_destroy(rt);
}

static void test_ke_set_target_processor_dpc_runs_there(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(4);
    for (CCHAR p = 0; p < 4; p++) {
        KDPC dpc;
        DPC_CTX c = {0};
        KeInitializeDpc(&dpc, record_dpc, &c);
        KeSetTargetProcessorDpc(&dpc, p);
        assert_true(KeInsertQueueDpc(&dpc, NULL, NULL));
        KeFlushQueuedDpcs();
        assert_int_equal(c.runs, 1);
        assert_int_equal(c.processor, (ULONG)p);
        assert_int_equal(c.irql, DISPATCH_LEVEL);
    }
    kmrig_runtime_destroy(rt);
}

static VOID NTAPI requeue_dpc(PKDPC Dpc, PVOID Context, PVOID A1, PVOID A2)
{
    DPC_CTX *c = Context;
    if (++c->runs < 5)
        assert_true(KeInsertQueueDpc(Dpc, NULL, NULL));
}

static void test_ke_insert_queue_dpc_from_its_own_routine(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    KDPC dpc;
    DPC_CTX c = {0};
    KeInitializeDpc(&dpc, requeue_dpc, &c);
    KeInsertQueueDpc(&dpc, NULL, NULL);
    assert_int_equal(c.runs, 5);
    kmrig_runtime_destroy(rt);
}

static VOID NTAPI lowering_dpc(PKDPC Dpc, PVOID Context, PVOID A1, PVOID A2)
{
    KeLowerIrql(PASSIVE_LEVEL);
}

static void dpc_returns_at_passive(void *arg)
{
    kmtest_runtime(1);
    KDPC dpc;
    KeInitializeDpc(&dpc, lowering_dpc, NULL);
    KeInsertQueueDpc(&dpc, NULL, NULL);
}

static void test_ke_dpc_returning_at_wrong_irql_bugchecks(void **state)
{
    assert_bugcheck(dpc_returns_at_passive, NULL, IRQL_UNEXPECTED_VALUE);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_ke_insert_queue_dpc_at_passive_runs_before_return),
    cmocka_unit_test(test_ke_insert_queue_dpc_twice_returns_false),
    cmocka_unit_test(test_ke_remove_queue_dpc),
    cmocka_unit_test(test_ke_set_importance_dpc_orders_queue),
    cmocka_unit_test(test_ke_set_importance_dpc_low_does_not_start_queue),
    cmocka_unit_test(test_ke_set_target_processor_dpc_runs_there),
    cmocka_unit_test(test_ke_insert_queue_dpc_from_its_own_routine),
    cmocka_unit_test(test_ke_dpc_returning_at_wrong_irql_bugchecks),
};
KMTEST_MAIN(tests)

/* Device queues, critical regions, floating point state, bugcheck callbacks, processors. */
#include "kmtest.h"

#include <stdio.h>
#include <string.h>

static void test_ke_device_queue_insert_remove(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    KDEVICE_QUEUE q;
    KDEVICE_QUEUE_ENTRY e[4];
    kmtest_junk(&q, sizeof q);
    KeInitializeDeviceQueue(&q);
    assert_false(q.Busy);
    KIRQL old = KeRaiseIrqlToDpcLevel();
    assert_false(KeInsertDeviceQueue(&q, &e[0])); /* idle queue: becomes busy, not inserted */
    assert_true(q.Busy);
    assert_true(KeInsertDeviceQueue(&q, &e[1]));
    assert_true(KeInsertDeviceQueue(&q, &e[2]));
    assert_ptr_equal(KeRemoveDeviceQueue(&q), &e[1]);
    assert_false(e[1].Inserted);
    assert_ptr_equal(KeRemoveDeviceQueue(&q), &e[2]);
    assert_null(KeRemoveDeviceQueue(&q)); /* empty: no longer busy */
    assert_false(q.Busy);
    KeLowerIrql(old);
    kmrig_runtime_destroy(rt);
}

static void test_ke_device_queue_by_key(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    KDEVICE_QUEUE q;
    KDEVICE_QUEUE_ENTRY first, e[4];
    static const ULONG keys[4] = {30, 10, 20, 10};
    KeInitializeDeviceQueue(&q);
    KIRQL old = KeRaiseIrqlToDpcLevel();
    assert_false(KeInsertByKeyDeviceQueue(&q, &first, 0));
    for (int i = 0; i < 4; i++)
        assert_true(KeInsertByKeyDeviceQueue(&q, &e[i], keys[i]));
    /* Sorted 10(e1) 10(e3) 20(e2) 30(e0). From key 15: the first >= 15 is e2. */
    assert_ptr_equal(KeRemoveByKeyDeviceQueue(&q, 15), &e[2]);
    /* Past the largest key: wraps to the head. */
    assert_ptr_equal(KeRemoveByKeyDeviceQueue(&q, 99), &e[1]);
    assert_ptr_equal(KeRemoveDeviceQueue(&q), &e[3]);
    KeLowerIrql(old);
    assert_true(KeRemoveEntryDeviceQueue(&q, &e[0]));
    assert_false(KeRemoveEntryDeviceQueue(&q, &e[0]));
    old = KeRaiseIrqlToDpcLevel();
    assert_null(KeRemoveByKeyDeviceQueue(&q, 0));
    assert_false(q.Busy);
    KeLowerIrql(old);
    kmrig_runtime_destroy(rt);
}

static void insert_device_queue_at_passive(void *arg)
{
    kmtest_runtime(1);
    KDEVICE_QUEUE q;
    KDEVICE_QUEUE_ENTRY e;
    KeInitializeDeviceQueue(&q);
    KeInsertDeviceQueue(&q, &e);
}

static void test_ke_insert_device_queue_at_passive_is_verifier_violation(void **state)
{
    assert_bugcheck(insert_device_queue_at_passive, NULL, DRIVER_VERIFIER_DETECTED_VIOLATION);
}

static void test_ke_enter_leave_critical_region(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    assert_false(KeAreApcsDisabled());
    KeEnterCriticalRegion();
    KeEnterCriticalRegion();
    assert_true(KeAreApcsDisabled());
    KeLeaveCriticalRegion();
    assert_true(KeAreApcsDisabled());
    KeLeaveCriticalRegion();
    assert_false(KeAreApcsDisabled());
    kmrig_runtime_destroy(rt);
}

static void leave_without_enter(void *arg)
{
    kmtest_runtime(1);
    KeLeaveCriticalRegion();
}

static void test_ke_leave_critical_region_unbalanced_bugchecks(void **state)
{
    assert_bugcheck(leave_without_enter, NULL, APC_INDEX_MISMATCH);
}

static void test_ke_save_restore_floating_point_state(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    KFLOATING_SAVE save;
    assert_int_equal(KeSaveFloatingPointState(&save), STATUS_SUCCESS);
#if defined(__x86_64__)
    unsigned int before = __builtin_ia32_stmxcsr();
    __builtin_ia32_ldmxcsr((before & ~0x6000u) | 0x6000u); /* round toward zero */
    assert_int_equal(__builtin_ia32_stmxcsr() & 0x6000u, 0x6000u);
    assert_int_equal(KeRestoreFloatingPointState(&save), STATUS_SUCCESS);
    assert_int_equal(__builtin_ia32_stmxcsr(), before);
#else
    assert_int_equal(KeRestoreFloatingPointState(&save), STATUS_SUCCESS);
#endif
    kmrig_runtime_destroy(rt);
}

static void fp_above_dispatch(void *arg)
{
    kmtest_runtime(1);
    KFLOATING_SAVE save;
    KIRQL old;
    KeRaiseIrql(CLOCK_LEVEL, &old);
    KeSaveFloatingPointState(&save);
}

static void test_ke_save_floating_point_state_above_dispatch_is_violation(void **state)
{
    assert_bugcheck(fp_above_dispatch, NULL, DRIVER_VERIFIER_DETECTED_VIOLATION);
}

static UCHAR g_dump[16];
static VOID NTAPI bugcheck_callback(PVOID Buffer, ULONG Length)
{
    /* Runs during the bugcheck: leave a mark the parent can see in the report. */
    memcpy(Buffer, "callback-ran", 13);
    fprintf(stderr, "bugcheck callback: %s\n", (char *)Buffer);
}

static void bugcheck_with_callback(void *arg)
{
    kmtest_runtime(1);
    static KBUGCHECK_CALLBACK_RECORD rec;
    KeInitializeCallbackRecord(&rec);
    assert_true(KeRegisterBugCheckCallback(&rec, bugcheck_callback, g_dump, sizeof g_dump,
                                           (PUCHAR) "kmtest"));
    assert_false(KeRegisterBugCheckCallback(&rec, bugcheck_callback, g_dump, sizeof g_dump,
                                            (PUCHAR) "kmtest")); /* already inserted */
    KeBugCheckEx(MANUALLY_INITIATED_CRASH, 1, 2, 3, 4);
}

static void test_ke_bug_check_ex_reports_code_and_parameters(void **state)
{
    ULONG_PTR p[4];
    assert_int_equal(kmtest_bugcheck_of(bugcheck_with_callback, NULL, p), MANUALLY_INITIATED_CRASH);
    assert_int_equal(p[0], 1);
    assert_int_equal(p[1], 2);
    assert_int_equal(p[2], 3);
    assert_int_equal(p[3], 4);
}

static void plain_bugcheck(void *arg)
{
    kmtest_runtime(1);
    KeBugCheck(MANUALLY_INITIATED_CRASH);
}

static void test_ke_bug_check(void **state)
{
    assert_bugcheck(plain_bugcheck, NULL, MANUALLY_INITIATED_CRASH);
}

/* The report's backtrace names functions (the driver and runtime are linked with -rdynamic). */
static void test_ke_bug_check_report_has_symbolic_backtrace(void **state)
{
    static char text[16384];
    assert_int_equal(kmtest_bugcheck_report_of(plain_bugcheck, NULL, NULL, text, sizeof text),
                     MANUALLY_INITIATED_CRASH);
    const char *bt = strstr(text, "backtrace:");
    assert_non_null(bt);
    assert_non_null(strstr(bt, "(KiBugCheck")); /* the runtime frame that reported it */
}

static void test_ke_register_deregister_bug_check_callback(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    KBUGCHECK_CALLBACK_RECORD rec;
    kmtest_junk(&rec, sizeof rec);
#undef KeInitializeCallbackRecord
    KeInitializeCallbackRecord(&rec);
    assert_int_equal(rec.State, BufferEmpty);
    assert_false(KeDeregisterBugCheckCallback(&rec));
    assert_true(KeRegisterBugCheckCallback(&rec, bugcheck_callback, g_dump, 16, (PUCHAR) "x"));
    assert_int_equal(rec.State, BufferInserted);
    assert_true(KeDeregisterBugCheckCallback(&rec));
    assert_false(KeDeregisterBugCheckCallback(&rec));
    kmrig_runtime_destroy(rt);
}

static void test_ke_get_current_processor_number_and_count(void **state)
{
    for (unsigned n = 1; n <= 4; n *= 2) {
        kmrig_runtime *rt = kmtest_runtime(n);
        KAFFINITY a = 0;
        assert_int_equal(KeQueryActiveProcessorCount(&a), n);
        assert_int_equal(a, ((KAFFINITY)1 << n) - 1);
        assert_true(KeGetCurrentProcessorNumber() < n);
        assert_ptr_equal(KeGetCurrentThread(), (PKTHREAD)PsGetCurrentThread());
        kmrig_runtime_destroy(rt);
    }
}

static void test_kmrig_two_runtimes_share_nothing(void **state)
{
    /* Two instances, one after the other on this thread, each with its own clock and objects. */
    kmrig_runtime *a = kmtest_runtime(1);
    LARGE_INTEGER d = kmtest_ms(100);
    KeDelayExecutionThread(KernelMode, FALSE, &d);
    ULONGLONG ta = KeQueryInterruptTime();
    kmrig_runtime_detach(a);
    kmrig_runtime *b = kmtest_runtime(2);
    ULONGLONG tb = KeQueryInterruptTime();
    assert_true(tb < ta); /* b's clock started at zero */
    assert_ptr_equal(kmrig_runtime_current(), b);
    kmrig_runtime_destroy(b);
    kmrig_runtime_attach(a);
    assert_ptr_equal(kmrig_runtime_current(), a);
    assert_true(KeQueryInterruptTime() >= ta);
    kmrig_runtime_destroy(a);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_ke_device_queue_insert_remove),
    cmocka_unit_test(test_ke_device_queue_by_key),
    cmocka_unit_test(test_ke_insert_device_queue_at_passive_is_verifier_violation),
    cmocka_unit_test(test_ke_enter_leave_critical_region),
    cmocka_unit_test(test_ke_leave_critical_region_unbalanced_bugchecks),
    cmocka_unit_test(test_ke_save_restore_floating_point_state),
    cmocka_unit_test(test_ke_save_floating_point_state_above_dispatch_is_violation),
    cmocka_unit_test(test_ke_bug_check_ex_reports_code_and_parameters),
    cmocka_unit_test(test_ke_bug_check),
    cmocka_unit_test(test_ke_bug_check_report_has_symbolic_backtrace),
    cmocka_unit_test(test_ke_register_deregister_bug_check_callback),
    cmocka_unit_test(test_ke_get_current_processor_number_and_count),
    cmocka_unit_test(test_kmrig_two_runtimes_share_nothing),
};
KMTEST_MAIN(tests)

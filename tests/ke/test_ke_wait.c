/* Events, mutexes, semaphores and the waits on them, with system threads as waiters. */
#include "kmtest.h"

typedef struct {
    PVOID objects[4];
    ULONG count;
    WAIT_TYPE type;
    LARGE_INTEGER *timeout;
    NTSTATUS status;
    volatile LONG *woken;
    BOOLEAN release_mutex;
} WAITER;

static VOID NTAPI waiter_thread(PVOID ctx)
{
    WAITER *w = ctx;
    if (w->count == 1)
        w->status = KeWaitForSingleObject(w->objects[0], Executive, KernelMode, FALSE, w->timeout);
    else
        w->status = KeWaitForMultipleObjects(w->count, w->objects, w->type, Executive, KernelMode,
                                             FALSE, w->timeout, NULL);
    if (w->woken)
        InterlockedIncrement((PLONG)w->woken);
    if (w->release_mutex && NT_SUCCESS(w->status))
        KeReleaseMutex((PKMUTEX)w->objects[w->count - 1], FALSE);
}

static HANDLE start_waiter(WAITER *w)
{
    HANDLE h;
    assert_int_equal(
        PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL, waiter_thread, w),
        STATUS_SUCCESS);
    return h;
}

static void join(HANDLE h)
{
    PVOID t;
    assert_int_equal(ObReferenceObjectByHandle(h, SYNCHRONIZE, *PsThreadType, KernelMode, &t, NULL),
                     STATUS_SUCCESS);
    assert_int_equal(KeWaitForSingleObject(t, Executive, KernelMode, FALSE, NULL), STATUS_SUCCESS);
    ObDereferenceObject(t);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);
}

static void settle(void)
{
    LARGE_INTEGER d = kmtest_ms(1);
    KeDelayExecutionThread(KernelMode, FALSE, &d);
}

static void test_ke_set_event_notification_wakes_every_waiter(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    KEVENT ev;
    volatile LONG woken = 0;
    kmtest_junk(&ev, sizeof ev);
    KeInitializeEvent(&ev, NotificationEvent, FALSE);
    WAITER w[3];
    HANDLE h[3];
    for (int i = 0; i < 3; i++) {
        w[i] = (WAITER){.objects = {&ev}, .count = 1, .woken = &woken};
        h[i] = start_waiter(&w[i]);
    }
    settle();
    assert_int_equal(woken, 0);
    assert_int_equal(KeSetEvent(&ev, 0, FALSE), 0);
    settle();
    assert_int_equal(woken, 3);
    assert_int_equal(KeReadStateEvent(&ev), 1); /* stays signalled */
    for (int i = 0; i < 3; i++) {
        join(h[i]);
        assert_int_equal(w[i].status, STATUS_WAIT_0);
    }
    assert_int_equal(KeSetEvent(&ev, 0, FALSE), 1); /* previous state returned */
    kmrig_runtime_destroy(rt);
}

static void test_ke_set_event_synchronization_wakes_exactly_one(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    KEVENT ev;
    volatile LONG woken = 0;
    KeInitializeEvent(&ev, SynchronizationEvent, FALSE);
    WAITER w[3];
    HANDLE h[3];
    for (int i = 0; i < 3; i++) {
        w[i] = (WAITER){.objects = {&ev}, .count = 1, .woken = &woken};
        h[i] = start_waiter(&w[i]);
    }
    settle();
    for (int n = 1; n <= 3; n++) {
        KeSetEvent(&ev, 0, FALSE);
        settle();
        assert_int_equal(woken, n);
        assert_int_equal(KeReadStateEvent(&ev), 0); /* consumed by the waiter it released */
    }
    /* First come, first served: waiters are released in the order they waited. */
    for (int i = 0; i < 3; i++)
        join(h[i]);
    KeSetEvent(&ev, 0, FALSE);
    assert_int_equal(KeReadStateEvent(&ev), 1); /* no waiter: stays signalled */
    kmrig_runtime_destroy(rt);
}

static void test_ke_reset_event_and_clear_event(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    KEVENT ev;
    KeInitializeEvent(&ev, NotificationEvent, TRUE);
    assert_int_equal(KeReadStateEvent(&ev), 1);
    assert_int_equal(KeResetEvent(&ev), 1);
    assert_int_equal(KeResetEvent(&ev), 0);
    KeSetEvent(&ev, 0, FALSE);
    KeClearEvent(&ev);
    assert_int_equal(KeReadStateEvent(&ev), 0);
    kmrig_runtime_destroy(rt);
}

static void test_ke_wait_for_single_object_timeout(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    KEVENT ev;
    KeInitializeEvent(&ev, NotificationEvent, FALSE);
    LARGE_INTEGER to = kmtest_ms(25);
    ULONGLONG t0 = KeQueryInterruptTime();
    assert_int_equal(KeWaitForSingleObject(&ev, Executive, KernelMode, FALSE, &to), STATUS_TIMEOUT);
    ULONGLONG dt = KeQueryInterruptTime() - t0;
    assert_true(dt >= 250000 && dt < 250100);
    LARGE_INTEGER zero = {.QuadPart = 0};
    assert_int_equal(KeWaitForSingleObject(&ev, Executive, KernelMode, FALSE, &zero),
                     STATUS_TIMEOUT);
    KeSetEvent(&ev, 0, FALSE);
    assert_int_equal(KeWaitForSingleObject(&ev, Executive, KernelMode, FALSE, &zero),
                     STATUS_SUCCESS);
    kmrig_runtime_destroy(rt);
}

static void test_ke_wait_for_multiple_objects_wait_all_event_and_mutex(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    KEVENT ev;
    KMUTEX mx;
    KeInitializeEvent(&ev, NotificationEvent, FALSE);
    KeInitializeMutex(&mx, 0);
    /* We own the mutex; the waiter needs both. */
    assert_int_equal(KeWaitForMutexObject(&mx, Executive, KernelMode, FALSE, NULL), STATUS_SUCCESS);
    volatile LONG woken = 0;
    WAITER w = {
        .objects = {&ev, &mx}, .count = 2, .type = WaitAll, .woken = &woken, .release_mutex = TRUE};
    HANDLE h = start_waiter(&w);
    settle();
    KeSetEvent(&ev, 0, FALSE);
    settle();
    assert_int_equal(woken, 0); /* the mutex is still ours */
    assert_int_equal(KeReleaseMutex(&mx, FALSE), 0);
    settle();
    assert_int_equal(woken, 1);
    join(h);
    assert_int_equal(w.status, STATUS_WAIT_0);
    assert_int_equal(KeReadStateMutex(&mx), 1); /* the waiter released it again */
    kmrig_runtime_destroy(rt);
}

static void test_ke_wait_for_multiple_objects_wait_any_index(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    KEVENT ev[3];
    for (int i = 0; i < 3; i++)
        KeInitializeEvent(&ev[i], SynchronizationEvent, FALSE);
    WAITER w = {.objects = {&ev[0], &ev[1], &ev[2]}, .count = 3, .type = WaitAny};
    HANDLE h = start_waiter(&w);
    settle();
    KeSetEvent(&ev[2], 0, FALSE);
    join(h);
    assert_int_equal(w.status, STATUS_WAIT_2);
    assert_int_equal(KeReadStateEvent(&ev[2]), 0);
    /* Already signalled: the lowest index wins. */
    KeSetEvent(&ev[1], 0, FALSE);
    KeSetEvent(&ev[2], 0, FALSE);
    PVOID objs[3] = {&ev[0], &ev[1], &ev[2]};
    assert_int_equal(
        KeWaitForMultipleObjects(3, objs, WaitAny, Executive, KernelMode, FALSE, NULL, NULL),
        STATUS_WAIT_1);
    LARGE_INTEGER to = kmtest_ms(1);
    assert_int_equal(
        KeWaitForMultipleObjects(3, objs, WaitAll, Executive, KernelMode, FALSE, &to, NULL),
        STATUS_TIMEOUT);
    kmrig_runtime_destroy(rt);
}

static void test_ke_wait_for_multiple_objects_more_than_three_needs_wait_blocks(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    KEVENT ev[8];
    PVOID objs[8];
    KWAIT_BLOCK blocks[8];
    for (int i = 0; i < 8; i++) {
        KeInitializeEvent(&ev[i], NotificationEvent, TRUE);
        objs[i] = &ev[i];
    }
    assert_int_equal(
        KeWaitForMultipleObjects(8, objs, WaitAll, Executive, KernelMode, FALSE, NULL, blocks),
        STATUS_SUCCESS);
    kmrig_runtime_destroy(rt);
}

static void four_objects_no_blocks(void *arg)
{
    kmtest_runtime(1);
    KEVENT ev[4];
    PVOID objs[4];
    for (int i = 0; i < 4; i++) {
        KeInitializeEvent(&ev[i], NotificationEvent, TRUE);
        objs[i] = &ev[i];
    }
    KeWaitForMultipleObjects(4, objs, WaitAll, Executive, KernelMode, FALSE, NULL, NULL);
}

static void test_ke_wait_for_multiple_objects_without_wait_blocks_bugchecks(void **state)
{
    assert_bugcheck(four_objects_no_blocks, NULL, MAXIMUM_WAIT_OBJECTS_EXCEEDED);
}

static void wait_at_dispatch(void *arg)
{
    kmtest_runtime(1);
    KEVENT ev;
    KeInitializeEvent(&ev, NotificationEvent, FALSE);
    LARGE_INTEGER to = kmtest_ms(1);
    KeRaiseIrqlToDpcLevel();
    KeWaitForSingleObject(&ev, Executive, KernelMode, FALSE, &to);
}

static void test_ke_wait_nonzero_timeout_at_dispatch_is_verifier_violation(void **state)
{
    ULONG_PTR p[4];
    assert_int_equal(kmtest_bugcheck_of(wait_at_dispatch, NULL, p),
                     DRIVER_VERIFIER_DETECTED_VIOLATION);
    assert_int_equal(p[0], KMRIG_VF_WAIT_AT_DISPATCH);
}

static void test_ke_wait_zero_timeout_at_dispatch_is_allowed(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    KEVENT ev;
    KeInitializeEvent(&ev, NotificationEvent, FALSE);
    LARGE_INTEGER zero = {.QuadPart = 0};
    KIRQL old = KeRaiseIrqlToDpcLevel();
    assert_int_equal(KeWaitForSingleObject(&ev, Executive, KernelMode, FALSE, &zero),
                     STATUS_TIMEOUT);
    KeLowerIrql(old);
    kmrig_runtime_destroy(rt);
}

static void test_ke_wait_for_mutex_object_recursive_acquire(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    KMUTEX mx;
    kmtest_junk(&mx, sizeof mx);
    KeInitializeMutex(&mx, 0);
    assert_int_equal(KeReadStateMutex(&mx), 1);
    for (int i = 0; i < 3; i++)
        assert_int_equal(KeWaitForMutexObject(&mx, Executive, KernelMode, FALSE, NULL),
                         STATUS_SUCCESS);
    assert_int_equal(KeReadStateMutex(&mx), -2);
    assert_int_equal(KeReleaseMutex(&mx, FALSE), -2);
    assert_int_equal(KeReleaseMutex(&mx, FALSE), -1);
    assert_int_equal(KeReleaseMutex(&mx, FALSE), 0);
    assert_int_equal(KeReadStateMutex(&mx), 1);
    kmrig_runtime_destroy(rt);
}

static void release_unowned_mutex(void *arg)
{
    kmtest_runtime(1);
    KMUTEX mx;
    KeInitializeMutex(&mx, 0);
    KeReleaseMutex(&mx, FALSE);
}

static void test_ke_release_mutex_not_owned_bugchecks(void **state)
{
    assert_bugcheck(release_unowned_mutex, NULL, THREAD_NOT_MUTEX_OWNER);
}

static void test_ke_release_semaphore_counts_and_wakes(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    KSEMAPHORE sem;
    kmtest_junk(&sem, sizeof sem);
    KeInitializeSemaphore(&sem, 0, 3);
    assert_int_equal(KeReadStateSemaphore(&sem), 0);
    volatile LONG woken = 0;
    WAITER w[2];
    HANDLE h[2];
    for (int i = 0; i < 2; i++) {
        w[i] = (WAITER){.objects = {&sem}, .count = 1, .woken = &woken};
        h[i] = start_waiter(&w[i]);
    }
    settle();
    assert_int_equal(KeReleaseSemaphore(&sem, 0, 3, FALSE), 0);
    settle();
    assert_int_equal(woken, 2);
    assert_int_equal(KeReadStateSemaphore(&sem), 1); /* 3 released, 2 taken */
    for (int i = 0; i < 2; i++)
        join(h[i]);
    kmrig_runtime_destroy(rt);
}

static void test_ke_release_semaphore_over_limit_raises(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    KSEMAPHORE sem;
    KeInitializeSemaphore(&sem, 2, 3);
    volatile NTSTATUS code = STATUS_SUCCESS;
    __try {
        KeReleaseSemaphore(&sem, 0, 2, FALSE);
    } __except (EXCEPTION_EXECUTE_HANDLER) {
        code = GetExceptionCode();
    }
    assert_int_equal(code, STATUS_SEMAPHORE_LIMIT_EXCEEDED);
    assert_int_equal(KeReadStateSemaphore(&sem), 2); /* unchanged */
    assert_int_equal(KeReleaseSemaphore(&sem, 0, 1, FALSE), 2);
    kmrig_runtime_destroy(rt);
}

static void test_ke_delay_execution_thread_alertable(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    LARGE_INTEGER d = kmtest_ms(5);
    ULONGLONG t0 = KeQueryInterruptTime();
    assert_int_equal(KeDelayExecutionThread(KernelMode, FALSE, &d), STATUS_SUCCESS);
    assert_true(KeQueryInterruptTime() - t0 >= 50000);
    KeAlertThread(KeGetCurrentThread(), KernelMode);
    assert_int_equal(KeDelayExecutionThread(KernelMode, TRUE, &d), STATUS_ALERTED);
    assert_int_equal(KeDelayExecutionThread(KernelMode, TRUE, &d), STATUS_SUCCESS);
    kmrig_runtime_destroy(rt);
}

static VOID NTAPI wait_forever(PVOID ctx)
{
    KEVENT ev;
    KeInitializeEvent(&ev, NotificationEvent, FALSE);
    KeWaitForSingleObject(&ev, Executive, KernelMode, FALSE, NULL);
}

static void deadlock(void *arg)
{
    kmrig_config cfg;
    kmrig_config_init(&cfg);
    kmtest_runtime_cfg(&cfg);
    HANDLE h;
    PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL, wait_forever, NULL);
    PVOID t;
    ObReferenceObjectByHandle(h, SYNCHRONIZE, *PsThreadType, KernelMode, &t, NULL);
    KeWaitForSingleObject(t, Executive, KernelMode, FALSE, NULL);
}

static void test_ke_wait_deadlock_is_reported(void **state)
{
    assert_bugcheck(deadlock, NULL, KMRIG_BUGCHECK_DEADLOCK);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_ke_set_event_notification_wakes_every_waiter),
    cmocka_unit_test(test_ke_set_event_synchronization_wakes_exactly_one),
    cmocka_unit_test(test_ke_reset_event_and_clear_event),
    cmocka_unit_test(test_ke_wait_for_single_object_timeout),
    cmocka_unit_test(test_ke_wait_for_multiple_objects_wait_all_event_and_mutex),
    cmocka_unit_test(test_ke_wait_for_multiple_objects_wait_any_index),
    cmocka_unit_test(test_ke_wait_for_multiple_objects_more_than_three_needs_wait_blocks),
    cmocka_unit_test(test_ke_wait_for_multiple_objects_without_wait_blocks_bugchecks),
    cmocka_unit_test(test_ke_wait_nonzero_timeout_at_dispatch_is_verifier_violation),
    cmocka_unit_test(test_ke_wait_zero_timeout_at_dispatch_is_allowed),
    cmocka_unit_test(test_ke_wait_for_mutex_object_recursive_acquire),
    cmocka_unit_test(test_ke_release_mutex_not_owned_bugchecks),
    cmocka_unit_test(test_ke_release_semaphore_counts_and_wakes),
    cmocka_unit_test(test_ke_release_semaphore_over_limit_raises),
    cmocka_unit_test(test_ke_delay_execution_thread_alertable),
    cmocka_unit_test(test_ke_wait_deadlock_is_reported),
};
KMTEST_MAIN(tests)

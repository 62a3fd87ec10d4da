/* Fast mutexes: IRQL handling, try-acquire, unsafe forms, verifier checks, contention stress. */
#include "ex_test.h"

static FAST_MUTEX M;
static KEVENT Held, Release;

static void test_ex_fast_mutex_layout(void **state)
{
    assert_int_equal(sizeof(FAST_MUTEX), 0x38);
    assert_int_equal(FIELD_OFFSET(FAST_MUTEX, Event), 0x18);
    assert_int_equal(FIELD_OFFSET(FAST_MUTEX, OldIrql), 0x30);
}

static void test_ex_acquire_fast_mutex_raises_to_apc_and_restores(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    kmtest_junk(&M, sizeof M);
    ExInitializeFastMutex(&M);
    assert_int_equal(M.Count, FM_LOCK_BIT);
    ExAcquireFastMutex(&M);
    assert_int_equal(KeGetCurrentIrql(), APC_LEVEL);
    assert_ptr_equal(M.Owner, KeGetCurrentThread());
    assert_int_equal(M.OldIrql, PASSIVE_LEVEL);
    ExReleaseFastMutex(&M);
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
    assert_null(M.Owner);
    /* From APC_LEVEL it stays at APC_LEVEL. */
    KIRQL old;
    KeRaiseIrql(APC_LEVEL, &old);
    ExAcquireFastMutex(&M);
    ExReleaseFastMutex(&M);
    assert_int_equal(KeGetCurrentIrql(), APC_LEVEL);
    KeLowerIrql(old);
    kmrig_runtime_destroy(rt);
}

static VOID NTAPI holder(PVOID ctx)
{
    ExAcquireFastMutex(&M);
    KeSetEvent(&Held, 0, FALSE);
    KeWaitForSingleObject(&Release, Executive, KernelMode, FALSE, NULL);
    ExReleaseFastMutex(&M);
}

static void test_ex_try_to_acquire_fast_mutex_fails_while_held(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    ExInitializeFastMutex(&M);
    KeInitializeEvent(&Held, NotificationEvent, FALSE);
    KeInitializeEvent(&Release, NotificationEvent, FALSE);
    HANDLE h = ex_start(holder, NULL);
    KeWaitForSingleObject(&Held, Executive, KernelMode, FALSE, NULL);
    assert_false(ExTryToAcquireFastMutex(&M));
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
    KeSetEvent(&Release, 0, FALSE);
    ExAcquireFastMutex(&M); /* waits for the holder */
    assert_ptr_equal(M.Owner, KeGetCurrentThread());
    ExReleaseFastMutex(&M);
    kmtest_join(h);
    assert_true(ExTryToAcquireFastMutex(&M));
    assert_int_equal(KeGetCurrentIrql(), APC_LEVEL);
    ExReleaseFastMutex(&M);
    assert_int_equal(M.Count, FM_LOCK_BIT);
    kmrig_runtime_destroy(rt);
}

static void test_ex_acquire_fast_mutex_unsafe_in_critical_region(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    ExInitializeFastMutex(&M);
    KeEnterCriticalRegion();
    ExAcquireFastMutexUnsafe(&M);
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL); /* unsafe: no IRQL change */
    assert_ptr_equal(M.Owner, KeGetCurrentThread());
    ExReleaseFastMutexUnsafe(&M);
    KeLeaveCriticalRegion();
    KIRQL old;
    KeRaiseIrql(APC_LEVEL, &old);
    ExAcquireFastMutexUnsafe(&M);
    ExReleaseFastMutexUnsafe(&M);
    KeLowerIrql(old);
    kmrig_runtime_destroy(rt);
}

/* ---- verifier ---- */

static void release_unowned(void *arg)
{
    kmtest_runtime(1);
    ExInitializeFastMutex(&M);
    KIRQL old;
    KeRaiseIrql(APC_LEVEL, &old);
    ExReleaseFastMutex(&M);
}

static VOID NTAPI hold_forever(PVOID ctx)
{
    ExAcquireFastMutex(&M);
    KeSetEvent(&Held, 0, FALSE);
    KeWaitForSingleObject(&Release, Executive, KernelMode, FALSE, NULL);
}

static void release_other_threads(void *arg)
{
    kmtest_runtime(1);
    ExInitializeFastMutex(&M);
    KeInitializeEvent(&Held, NotificationEvent, FALSE);
    KeInitializeEvent(&Release, NotificationEvent, FALSE);
    ex_start(hold_forever, NULL);
    KeWaitForSingleObject(&Held, Executive, KernelMode, FALSE, NULL);
    KIRQL old;
    KeRaiseIrql(APC_LEVEL, &old);
    ExReleaseFastMutex(&M);
}

static void acquire_recursively(void *arg)
{
    kmtest_runtime(1);
    ExInitializeFastMutex(&M);
    ExAcquireFastMutex(&M);
    ExAcquireFastMutex(&M);
}

static void acquire_at_dispatch(void *arg)
{
    kmtest_runtime(1);
    ExInitializeFastMutex(&M);
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    ExAcquireFastMutex(&M);
}

static void release_at_passive(void *arg)
{
    kmtest_runtime(1);
    ExInitializeFastMutex(&M);
    ExAcquireFastMutex(&M);
    KeLowerIrql(PASSIVE_LEVEL);
    ExReleaseFastMutex(&M);
}

static void unsafe_with_apcs_enabled(void *arg)
{
    kmtest_runtime(1);
    ExInitializeFastMutex(&M);
    ExAcquireFastMutexUnsafe(&M);
}

static void test_ex_fast_mutex_verifier_checks(void **state)
{
    ULONG_PTR p[4];
    assert_int_equal(kmtest_bugcheck_of(release_unowned, NULL, p),
                     DRIVER_VERIFIER_DETECTED_VIOLATION);
    assert_int_equal(p[0], 0x1007);
    assert_int_equal(p[1], (ULONG_PTR)&M);
    assert_int_equal(kmtest_bugcheck_of(release_other_threads, NULL, p),
                     DRIVER_VERIFIER_DETECTED_VIOLATION);
    assert_int_equal(p[0], 0x1004);
    assert_int_equal(p[1], (ULONG_PTR)&M);
    assert_true(p[2] != 0 && p[2] != p[3]);
    assert_int_equal(kmtest_bugcheck_of(acquire_recursively, NULL, p),
                     DRIVER_VERIFIER_DETECTED_VIOLATION);
    assert_int_equal(p[1], (ULONG_PTR)&M);
    assert_int_equal(kmtest_bugcheck_of(acquire_at_dispatch, NULL, p),
                     DRIVER_VERIFIER_DETECTED_VIOLATION);
    assert_int_equal(p[1], DISPATCH_LEVEL);
    assert_int_equal(p[2], APC_LEVEL);
    assert_int_equal(kmtest_bugcheck_of(release_at_passive, NULL, p),
                     DRIVER_VERIFIER_DETECTED_VIOLATION);
    assert_int_equal(p[1], PASSIVE_LEVEL);
    assert_int_equal(p[2], APC_LEVEL);
    assert_int_equal(kmtest_bugcheck_of(unsafe_with_apcs_enabled, NULL, p),
                     DRIVER_VERIFIER_DETECTED_VIOLATION);
    assert_int_equal(p[0], 0x39);
    assert_int_equal(p[3], (ULONG_PTR)&M);
}

/* ---- stress ---- */

#define THREADS 6
#define ROUNDS 1000
static LONG Counter; /* only under the mutex */
static volatile LONG Inside, Violations;

static VOID NTAPI contender(PVOID ctx)
{
    for (int i = 0; i < ROUNDS; i++) {
        if (i % 3 == 0) {
            KeEnterCriticalRegion();
            ExAcquireFastMutexUnsafe(&M);
        } else if (i % 3 == 1) {
            ExAcquireFastMutex(&M);
        } else {
            while (!ExTryToAcquireFastMutex(&M))
                ex_sleep_ms(0);
        }
        if (InterlockedIncrement(&Inside) != 1)
            InterlockedIncrement(&Violations);
        Counter++;
        InterlockedDecrement(&Inside);
        if (i % 3 == 0) {
            ExReleaseFastMutexUnsafe(&M);
            KeLeaveCriticalRegion();
        } else {
            ExReleaseFastMutex(&M);
        }
    }
}

static void test_ex_fast_mutex_stress_4_processors(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(4);
    ExInitializeFastMutex(&M);
    Counter = 0;
    Inside = Violations = 0;
    HANDLE h[THREADS];
    for (int t = 0; t < THREADS; t++)
        h[t] = ex_start(contender, NULL);
    for (int t = 0; t < THREADS; t++)
        kmtest_join(h[t]);
    assert_int_equal(Violations, 0);
    assert_int_equal(Counter, THREADS * ROUNDS);
    assert_int_equal(M.Count, FM_LOCK_BIT); /* free, no waiter left */
    kmrig_runtime_destroy(rt);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_ex_fast_mutex_layout),
    cmocka_unit_test(test_ex_acquire_fast_mutex_raises_to_apc_and_restores),
    cmocka_unit_test(test_ex_try_to_acquire_fast_mutex_fails_while_held),
    cmocka_unit_test(test_ex_acquire_fast_mutex_unsafe_in_critical_region),
    cmocka_unit_test(test_ex_fast_mutex_verifier_checks),
    cmocka_unit_test(test_ex_fast_mutex_stress_4_processors),
};
KMTEST_MAIN(tests)

/* IRQL and spin locks, including the verifier checks that must fire. */
#include "kmtest.h"

#include <unistd.h>

static void test_ke_get_current_irql_starts_passive(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
    kmrig_runtime_destroy(rt);
}

static void test_ke_raise_lower_irql_round_trip(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    static const KIRQL levels[] = {PASSIVE_LEVEL, APC_LEVEL, DISPATCH_LEVEL, 5,
                                   CLOCK_LEVEL,   HIGH_LEVEL};
    for (size_t i = 0; i < ARRAYSIZE(levels); i++) {
        KIRQL old = 0xEE;
        KeRaiseIrql(levels[i], &old);
        assert_int_equal(old, PASSIVE_LEVEL);
        assert_int_equal(KeGetCurrentIrql(), levels[i]);
        KeLowerIrql(old);
        assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
    }
    assert_int_equal(KeRaiseIrqlToDpcLevel(), PASSIVE_LEVEL);
    assert_int_equal(KeGetCurrentIrql(), DISPATCH_LEVEL);
    KeLowerIrql(PASSIVE_LEVEL);
    kmrig_runtime_destroy(rt);
}

static void raise_below_current(void *arg)
{
    kmtest_runtime(1);
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    KeRaiseIrql(APC_LEVEL, &old); /* "raising" to a lower IRQL */
}

static void test_ke_raise_irql_lower_value_bugchecks(void **state)
{
    assert_bugcheck(raise_below_current, NULL, IRQL_NOT_GREATER_OR_EQUAL);
}

static void lower_above_current(void *arg)
{
    kmtest_runtime(1);
    KeLowerIrql(DISPATCH_LEVEL);
}

static void test_ke_lower_irql_higher_value_bugchecks(void **state)
{
    assert_bugcheck(lower_above_current, NULL, IRQL_NOT_LESS_OR_EQUAL);
}

static void test_ke_acquire_spin_lock_raises_to_dispatch(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    KSPIN_LOCK lock;
    kmtest_junk(&lock, sizeof lock);
    KeInitializeSpinLock(&lock);
    assert_true(KeTestSpinLock(&lock));
    KIRQL old = 0xEE;
    KeAcquireSpinLock(&lock, &old);
    assert_int_equal(old, PASSIVE_LEVEL);
    assert_int_equal(KeGetCurrentIrql(), DISPATCH_LEVEL);
    assert_false(KeTestSpinLock(&lock));
    KeReleaseSpinLock(&lock, old);
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
    assert_true(KeTestSpinLock(&lock));
    kmrig_runtime_destroy(rt);
}

static void test_ke_acquire_spin_lock_at_dpc_level_keeps_irql(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    KSPIN_LOCK lock;
    KeInitializeSpinLock(&lock);
    KIRQL old = KeRaiseIrqlToDpcLevel();
    KeAcquireSpinLockAtDpcLevel(&lock);
    assert_int_equal(KeGetCurrentIrql(), DISPATCH_LEVEL);
    KeReleaseSpinLockFromDpcLevel(&lock);
    assert_int_equal(KeGetCurrentIrql(), DISPATCH_LEVEL);
    assert_true(KeTryToAcquireSpinLockAtDpcLevel(&lock));
    KeReleaseSpinLockFromDpcLevel(&lock);
    KeLowerIrql(old);
    kmrig_runtime_destroy(rt);
}

static void test_ke_in_stack_queued_spin_lock(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    KSPIN_LOCK lock;
    KLOCK_QUEUE_HANDLE h;
    KeInitializeSpinLock(&lock);
    KeAcquireInStackQueuedSpinLock(&lock, &h);
    assert_int_equal(KeGetCurrentIrql(), DISPATCH_LEVEL);
    assert_false(KeTestSpinLock(&lock));
    KeReleaseInStackQueuedSpinLock(&h);
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
    assert_true(KeTestSpinLock(&lock));
    kmrig_runtime_destroy(rt);
}

static void release_not_held(void *arg)
{
    kmtest_runtime(1);
    KSPIN_LOCK lock;
    KeInitializeSpinLock(&lock);
    KIRQL old = KeRaiseIrqlToDpcLevel();
    KeReleaseSpinLock(&lock, old);
}

static void test_ke_release_spin_lock_not_held_bugchecks(void **state)
{
    assert_bugcheck(release_not_held, NULL, SPIN_LOCK_NOT_OWNED);
}

static void acquire_twice(void *arg)
{
    kmtest_runtime(1);
    KSPIN_LOCK lock;
    KIRQL a, b;
    KeInitializeSpinLock(&lock);
    KeAcquireSpinLock(&lock, &a);
    KeAcquireSpinLock(&lock, &b);
}

static void test_ke_acquire_spin_lock_recursively_bugchecks(void **state)
{
    assert_bugcheck(acquire_twice, NULL, SPIN_LOCK_ALREADY_OWNED);
}

static void acquire_above_dispatch(void *arg)
{
    kmtest_runtime(1);
    KSPIN_LOCK lock;
    KIRQL a, b;
    KeInitializeSpinLock(&lock);
    KeRaiseIrql(CLOCK_LEVEL, &a);
    KeAcquireSpinLock(&lock, &b);
}

static void test_ke_acquire_spin_lock_above_dispatch_is_verifier_violation(void **state)
{
    ULONG_PTR p[4];
    assert_int_equal(kmtest_bugcheck_of(acquire_above_dispatch, NULL, p),
                     DRIVER_VERIFIER_DETECTED_VIOLATION);
    assert_int_equal(p[1], CLOCK_LEVEL);
    assert_int_equal(p[2], DISPATCH_LEVEL);
}

static void at_dpc_level_from_passive(void *arg)
{
    kmtest_runtime(1);
    KSPIN_LOCK lock;
    KeInitializeSpinLock(&lock);
    KeAcquireSpinLockAtDpcLevel(&lock);
}

static void test_ke_acquire_spin_lock_at_dpc_level_from_passive_is_verifier_violation(void **s)
{
    assert_bugcheck(at_dpc_level_from_passive, NULL, DRIVER_VERIFIER_DETECTED_VIOLATION);
}

static void verifier_off_release_not_held(void *arg)
{
    kmrig_config cfg;
    kmrig_config_init(&cfg);
    cfg.verify_off = 1;
    kmtest_runtime_cfg(&cfg);
    KSPIN_LOCK lock;
    KeInitializeSpinLock(&lock);
    KIRQL old = KeRaiseIrqlToDpcLevel();
    KeReleaseSpinLock(&lock, old);
    _exit(0);
}

static void test_ke_verifier_off_skips_lock_checks(void **state)
{
    assert_int_equal(kmtest_bugcheck_of(verifier_off_release_not_held, NULL, NULL), 0);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_ke_get_current_irql_starts_passive),
    cmocka_unit_test(test_ke_raise_lower_irql_round_trip),
    cmocka_unit_test(test_ke_raise_irql_lower_value_bugchecks),
    cmocka_unit_test(test_ke_lower_irql_higher_value_bugchecks),
    cmocka_unit_test(test_ke_acquire_spin_lock_raises_to_dispatch),
    cmocka_unit_test(test_ke_acquire_spin_lock_at_dpc_level_keeps_irql),
    cmocka_unit_test(test_ke_in_stack_queued_spin_lock),
    cmocka_unit_test(test_ke_release_spin_lock_not_held_bugchecks),
    cmocka_unit_test(test_ke_acquire_spin_lock_recursively_bugchecks),
    cmocka_unit_test(test_ke_acquire_spin_lock_above_dispatch_is_verifier_violation),
    cmocka_unit_test(test_ke_acquire_spin_lock_at_dpc_level_from_passive_is_verifier_violation),
    cmocka_unit_test(test_ke_verifier_off_skips_lock_checks),
};
KMTEST_MAIN(tests)

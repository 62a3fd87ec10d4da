/* ERESOURCE: recursion, owner counts, waiter counts, the three shared-acquire fairness rules,
 * release for another thread, conversion, verifier checks, and a 4-processor stress. */
#include "ex_test.h"

#include <string.h>

static ERESOURCE R;
static KEVENT Done;
static char Log[16];
static volatile LONG LogLen;

static void log_char(char c)
{
    LONG i = InterlockedIncrement(&LogLen) - 1;
    Log[i] = c;
}

static void reset(void)
{
    kmtest_junk(&R, sizeof R);
    assert_int_equal(ExInitializeResourceLite(&R), STATUS_SUCCESS);
    KeInitializeEvent(&Done, NotificationEvent, FALSE);
    memset(Log, 0, sizeof Log);
    LogLen = 0;
}

static void wait_until(ULONG (*get)(PERESOURCE), ULONG want)
{
    for (int i = 0; i < 1000 && get(&R) != want; i++)
        ex_sleep_ms(1);
    assert_int_equal(get(&R), want);
}

static void test_ex_resource_layout(void **state)
{
    assert_int_equal(sizeof(ERESOURCE), 0x68);
    assert_int_equal(FIELD_OFFSET(ERESOURCE, OwnerEntry), 0x30);
    assert_int_equal(FIELD_OFFSET(ERESOURCE, SpinLock), 0x60);
}

static void test_ex_resource_recursive_exclusive_and_shared(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    reset();
    KeEnterCriticalRegion();
    assert_true(ExAcquireResourceExclusiveLite(&R, TRUE));
    assert_true(ExAcquireResourceExclusiveLite(&R, FALSE));
    assert_true(ExTryToAcquireResourceExclusiveLite(&R));
    assert_true(ExIsResourceAcquiredExclusiveLite(&R));
    assert_int_equal(ExIsResourceAcquiredSharedLite(&R), 3);
    /* Shared on top of exclusive: granted recursively, still exclusive. */
    assert_true(ExAcquireResourceSharedLite(&R, FALSE));
    assert_true(ExIsResourceAcquiredExclusiveLite(&R));
    assert_int_equal(ExIsResourceAcquiredSharedLite(&R), 4);
    for (int i = 0; i < 4; i++)
        ExReleaseResourceLite(&R);
    assert_false(ExIsResourceAcquiredExclusiveLite(&R));
    assert_int_equal(ExIsResourceAcquiredSharedLite(&R), 0);
    assert_int_equal(R.ActiveCount, 0);

    assert_true(ExAcquireResourceSharedLite(&R, TRUE));
    assert_true(ExAcquireSharedStarveExclusive(&R, FALSE));
    assert_true(ExAcquireSharedWaitForExclusive(&R, FALSE));
    assert_int_equal(ExIsResourceAcquiredSharedLite(&R), 3);
    assert_false(ExIsResourceAcquiredExclusiveLite(&R));
    /* Shared does not become exclusive, and exclusive is refused without waiting. */
    assert_false(ExAcquireResourceExclusiveLite(&R, FALSE));
    for (int i = 0; i < 3; i++)
        ExReleaseResourceForThreadLite(&R, ExGetCurrentResourceThread());
    assert_int_equal(R.ActiveCount, 0);
    KeLeaveCriticalRegion();
    assert_int_equal(ExDeleteResourceLite(&R), STATUS_SUCCESS);
    kmrig_runtime_destroy(rt);
}

static VOID NTAPI exclusive_waiter(PVOID ctx)
{
    KeEnterCriticalRegion();
    ExAcquireResourceExclusiveLite(&R, TRUE);
    log_char('X');
    assert_true(ExIsResourceAcquiredExclusiveLite(&R));
    ExReleaseResourceLite(&R);
    KeLeaveCriticalRegion();
}

static VOID NTAPI shared_no_wait_probe(PVOID ctx)
{
    BOOLEAN *r = ctx;
    KeEnterCriticalRegion();
    r[0] = ExAcquireResourceSharedLite(&R, FALSE);
    if (r[0])
        ExReleaseResourceLite(&R);
    r[1] = ExAcquireSharedWaitForExclusive(&R, FALSE);
    if (r[1])
        ExReleaseResourceLite(&R);
    r[2] = ExAcquireSharedStarveExclusive(&R, FALSE);
    if (r[2])
        ExReleaseResourceLite(&R);
    KeLeaveCriticalRegion();
    KeSetEvent(&Done, 0, FALSE);
}

/* Main owns R shared; X waits for exclusive. Who gets shared access without waiting? */
static void test_ex_resource_shared_acquire_rules_with_exclusive_waiter(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    reset();
    KeEnterCriticalRegion();
    assert_true(ExAcquireResourceSharedLite(&R, TRUE));
    HANDLE x = ex_start(exclusive_waiter, NULL);
    wait_until(ExGetExclusiveWaiterCount, 1);
    assert_int_equal(ExGetSharedWaiterCount(&R), 0);

    /* The owner itself: SharedLite and StarveExclusive recurse; WaitForExclusive does not. */
    assert_true(ExAcquireResourceSharedLite(&R, FALSE));
    assert_true(ExAcquireSharedStarveExclusive(&R, FALSE));
    assert_false(ExAcquireSharedWaitForExclusive(&R, FALSE));
    assert_int_equal(ExIsResourceAcquiredSharedLite(&R), 3);
    ExReleaseResourceLite(&R);
    ExReleaseResourceLite(&R);

    /* Another thread: only StarveExclusive gets in. */
    BOOLEAN r[3] = {TRUE, TRUE, FALSE};
    HANDLE p = ex_start(shared_no_wait_probe, r);
    KeWaitForSingleObject(&Done, Executive, KernelMode, FALSE, NULL);
    kmtest_join(p);
    assert_false(r[0]);
    assert_false(r[1]);
    assert_true(r[2]);
    assert_int_equal(LogLen, 0); /* X still waiting */

    ExReleaseResourceLite(&R);
    kmtest_join(x);
    assert_string_equal(Log, "X");
    KeLeaveCriticalRegion();
    ExDeleteResourceLite(&R);
    kmrig_runtime_destroy(rt);
}

typedef enum { MODE_LITE, MODE_STARVE, MODE_WAIT_FOR_EXCLUSIVE } MODE_T;

static VOID NTAPI shared_acquirer(PVOID ctx)
{
    MODE_T mode = (MODE_T)(ULONG_PTR)ctx;
    KeEnterCriticalRegion();
    BOOLEAN ok = mode == MODE_LITE     ? ExAcquireResourceSharedLite(&R, TRUE)
                 : mode == MODE_STARVE ? ExAcquireSharedStarveExclusive(&R, TRUE)
                                       : ExAcquireSharedWaitForExclusive(&R, TRUE);
    assert_true(ok);
    log_char('S');
    ExReleaseResourceLite(&R);
    KeLeaveCriticalRegion();
    KeSetEvent(&Done, 0, FALSE);
}

/* Ordering of a blocking shared acquirer against a waiting exclusive acquirer. */
static void run_ordering(MODE_T mode, const char *expect)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    reset();
    KeEnterCriticalRegion();
    assert_true(ExAcquireResourceSharedLite(&R, TRUE));
    HANDLE x = ex_start(exclusive_waiter, NULL);
    wait_until(ExGetExclusiveWaiterCount, 1);
    HANDLE s = ex_start(shared_acquirer, (PVOID)(ULONG_PTR)mode);
    if (mode == MODE_STARVE) {
        KeWaitForSingleObject(&Done, Executive, KernelMode, FALSE, NULL);
        assert_int_equal(ExGetExclusiveWaiterCount(&R), 1);
    } else {
        wait_until(ExGetSharedWaiterCount, 1);
        assert_int_equal(LogLen, 0);
    }
    ExReleaseResourceLite(&R);
    kmtest_join(x);
    kmtest_join(s);
    assert_string_equal(Log, expect);
    assert_int_equal(R.ActiveCount, 0);
    KeLeaveCriticalRegion();
    ExDeleteResourceLite(&R);
    kmrig_runtime_destroy(rt);
}

static void test_ex_acquire_shared_starve_exclusive_overtakes_waiter(void **state)
{
    run_ordering(MODE_STARVE, "SX");
}

static void test_ex_acquire_shared_wait_for_exclusive_queues_behind_waiter(void **state)
{
    run_ordering(MODE_WAIT_FOR_EXCLUSIVE, "XS");
}

static void test_ex_acquire_resource_shared_lite_queues_behind_waiter(void **state)
{
    run_ordering(MODE_LITE, "XS");
}

static VOID NTAPI exclusive_holder(PVOID ctx)
{
    KeEnterCriticalRegion();
    ExAcquireResourceExclusiveLite(&R, TRUE);
    KeSetEvent(&Done, 0, FALSE);
    ex_sleep_ms(5);
    log_char('E');
    ExConvertExclusiveToSharedLite(&R);
    assert_false(ExIsResourceAcquiredExclusiveLite(&R));
    assert_int_equal(ExIsResourceAcquiredSharedLite(&R), 1);
    ex_sleep_ms(5); /* the shared waiters run while we still own it shared */
    log_char('R');
    ExReleaseResourceLite(&R);
    KeLeaveCriticalRegion();
}

static VOID NTAPI shared_waiter(PVOID ctx)
{
    KeEnterCriticalRegion();
    ExAcquireResourceSharedLite(&R, TRUE);
    log_char('s');
    ExReleaseResourceLite(&R);
    KeLeaveCriticalRegion();
}

static void test_ex_convert_exclusive_to_shared_lite_wakes_shared_waiters(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    reset();
    HANDLE e = ex_start(exclusive_holder, NULL);
    KeWaitForSingleObject(&Done, Executive, KernelMode, FALSE, NULL);
    HANDLE s1 = ex_start(shared_waiter, NULL), s2 = ex_start(shared_waiter, NULL);
    wait_until(ExGetSharedWaiterCount, 2);
    kmtest_join(e);
    kmtest_join(s1);
    kmtest_join(s2);
    assert_string_equal(Log, "EssR");
    ExDeleteResourceLite(&R);
    kmrig_runtime_destroy(rt);
}

static VOID NTAPI acquire_shared_and_signal(PVOID ctx)
{
    KeEnterCriticalRegion();
    ExAcquireResourceSharedLite(&R, TRUE);
    *(ERESOURCE_THREAD *)ctx = ExGetCurrentResourceThread();
    KeLeaveCriticalRegion();
    KeSetEvent(&Done, 0, FALSE);
}

static void test_ex_release_resource_for_thread_lite_releases_other_owner(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    reset();
    ERESOURCE_THREAD owner = 0;
    HANDLE t = ex_start(acquire_shared_and_signal, &owner);
    KeWaitForSingleObject(&Done, Executive, KernelMode, FALSE, NULL);
    kmtest_join(t);
    assert_true(owner != 0 && owner != ExGetCurrentResourceThread());
    assert_int_equal(R.ActiveCount, 1);
    assert_int_equal(ExIsResourceAcquiredSharedLite(&R), 0); /* not ours */
    ExReleaseResourceForThreadLite(&R, owner);
    assert_int_equal(R.ActiveCount, 0);
    KeEnterCriticalRegion();
    assert_true(ExAcquireResourceExclusiveLite(&R, FALSE));
    ExReleaseResourceLite(&R);
    KeLeaveCriticalRegion();
    assert_int_equal(ExReinitializeResourceLite(&R), STATUS_SUCCESS);
    ExDeleteResourceLite(&R);
    kmrig_runtime_destroy(rt);
}

/* ---- verifier ---- */

static void release_not_owned(void *arg)
{
    kmtest_runtime(1);
    ExInitializeResourceLite(&R);
    KeEnterCriticalRegion();
    ExReleaseResourceLite(&R);
}

static void acquire_with_apcs_enabled(void *arg)
{
    kmtest_runtime(1);
    ExInitializeResourceLite(&R);
    ExAcquireResourceExclusiveLite(&R, TRUE);
}

static void reinitialize_live(void *arg)
{
    kmtest_runtime(1);
    ExInitializeResourceLite(&R);
    ExInitializeResourceLite(&R);
}

static void delete_uninitialized(void *arg)
{
    kmtest_runtime(1);
    memset(&R, 0, sizeof R);
    ExDeleteResourceLite(&R);
}

static void free_pool_with_live_resource(void *arg)
{
    kmtest_runtime(1);
    PUCHAR block = ExAllocatePoolWithTag(NonPagedPool, 256, 'crsR');
    ExInitializeResourceLite((PERESOURCE)(block + 64));
    ExFreePoolWithTag(block, 'crsR');
}

static void acquire_at_dispatch(void *arg)
{
    kmtest_runtime(1);
    ExInitializeResourceLite(&R);
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    ExAcquireResourceSharedLite(&R, FALSE);
}

static void test_ex_resource_verifier_checks(void **state)
{
    ULONG_PTR p[4];
    assert_int_equal(kmtest_bugcheck_of(release_not_owned, NULL, p), RESOURCE_NOT_OWNED);
    assert_int_equal(p[0], (ULONG_PTR)&R);
    assert_int_equal(kmtest_bugcheck_of(acquire_with_apcs_enabled, NULL, p),
                     DRIVER_VERIFIER_DETECTED_VIOLATION);
    assert_int_equal(p[0], 0x37);
    assert_int_equal(p[1], PASSIVE_LEVEL);
    assert_int_equal(p[3], (ULONG_PTR)&R);
    assert_int_equal(kmtest_bugcheck_of(reinitialize_live, NULL, p),
                     DRIVER_VERIFIER_DETECTED_VIOLATION);
    assert_int_equal(p[0], 0xD0);
    assert_int_equal(kmtest_bugcheck_of(delete_uninitialized, NULL, p),
                     DRIVER_VERIFIER_DETECTED_VIOLATION);
    assert_int_equal(p[0], 0xD1);
    assert_int_equal(kmtest_bugcheck_of(free_pool_with_live_resource, NULL, p),
                     DRIVER_VERIFIER_DETECTED_VIOLATION);
    assert_int_equal(p[0], 0xD2);
    assert_int_equal(p[1], p[2] + 64);
    assert_int_equal(p[3], 256);
    assert_int_equal(kmtest_bugcheck_of(acquire_at_dispatch, NULL, p),
                     DRIVER_VERIFIER_DETECTED_VIOLATION);
    assert_int_equal(p[1], DISPATCH_LEVEL);
    assert_int_equal(p[2], APC_LEVEL);
}

/* ---- stress ---- */

#define STRESS_THREADS 6
#define STRESS_ROUNDS 500

static LONG Value; /* written only under exclusive ownership */
static volatile LONG Readers, Writers;
static volatile LONG Violations;

static VOID NTAPI stress_thread(PVOID ctx)
{
    ULONG seed = (ULONG)(ULONG_PTR)ctx;
    KeEnterCriticalRegion();
    for (int i = 0; i < STRESS_ROUNDS; i++) {
        seed = seed * 1103515245u + 12345u;
        ULONG kind = (seed >> 16) % 4;
        if (kind == 0) {
            ExAcquireResourceExclusiveLite(&R, TRUE);
            if (InterlockedIncrement(&Writers) != 1 || Readers != 0)
                InterlockedIncrement(&Violations);
            Value++;
            if (i % 7 == 0)
                ExAcquireResourceSharedLite(&R, TRUE), ExReleaseResourceLite(&R);
            InterlockedDecrement(&Writers);
            ExReleaseResourceLite(&R);
        } else {
            BOOLEAN ok = kind == 1   ? ExAcquireResourceSharedLite(&R, TRUE)
                         : kind == 2 ? ExAcquireSharedStarveExclusive(&R, TRUE)
                                     : ExAcquireSharedWaitForExclusive(&R, TRUE);
            if (!ok)
                InterlockedIncrement(&Violations);
            InterlockedIncrement(&Readers);
            if (Writers != 0)
                InterlockedIncrement(&Violations);
            (void)*(volatile LONG *)&Value;
            InterlockedDecrement(&Readers);
            ExReleaseResourceLite(&R);
        }
    }
    KeLeaveCriticalRegion();
}

static void test_ex_resource_stress_4_processors(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(4);
    reset();
    Value = 0;
    Readers = Writers = Violations = 0;
    HANDLE h[STRESS_THREADS];
    for (int t = 0; t < STRESS_THREADS; t++)
        h[t] = ex_start(stress_thread, (PVOID)(ULONG_PTR)(t * 7919 + 1));
    for (int t = 0; t < STRESS_THREADS; t++)
        kmtest_join(h[t]);
    assert_int_equal(Violations, 0);
    assert_int_equal(R.ActiveCount, 0);
    assert_int_equal(ExGetExclusiveWaiterCount(&R), 0);
    assert_int_equal(ExGetSharedWaiterCount(&R), 0);
    assert_true(Value > 0);
    ExDeleteResourceLite(&R);
    kmrig_runtime_destroy(rt);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_ex_resource_layout),
    cmocka_unit_test(test_ex_resource_recursive_exclusive_and_shared),
    cmocka_unit_test(test_ex_resource_shared_acquire_rules_with_exclusive_waiter),
    cmocka_unit_test(test_ex_acquire_shared_starve_exclusive_overtakes_waiter),
    cmocka_unit_test(test_ex_acquire_shared_wait_for_exclusive_queues_behind_waiter),
    cmocka_unit_test(test_ex_acquire_resource_shared_lite_queues_behind_waiter),
    cmocka_unit_test(test_ex_convert_exclusive_to_shared_lite_wakes_shared_waiters),
    cmocka_unit_test(test_ex_release_resource_for_thread_lite_releases_other_owner),
    cmocka_unit_test(test_ex_resource_verifier_checks),
    cmocka_unit_test(test_ex_resource_stress_4_processors),
};
KMTEST_MAIN(tests)

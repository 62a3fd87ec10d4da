/* Executive pool: allocation contracts, tags, alignment, and the pool verifier. */
#include "kmtest.h"

#include <string.h>

static void test_ex_allocate_pool_with_tag_alignment_and_use(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    const SIZE_T sizes[] = {1, 15, 16, 100, 4095, 4096, 10000};
    const POOL_TYPE types[] = {NonPagedPool, PagedPool, NonPagedPoolNx};
    for (unsigned t = 0; t < ARRAYSIZE(types); t++) {
        for (unsigned i = 0; i < ARRAYSIZE(sizes); i++) {
            PUCHAR p = ExAllocatePoolWithTag(types[t], sizes[i], 'tseT');
            assert_non_null(p);
            assert_int_equal((ULONG_PTR)p % 16, 0);
            if (sizes[i] >= 4096)
                assert_int_equal((ULONG_PTR)p % 4096, 0);
            memset(p, 0x5A, sizes[i]);
            ExFreePoolWithTag(p, 'tseT');
        }
    }
    PVOID c = ExAllocatePoolWithTag(NonPagedPoolCacheAligned, 24, 'tseT');
    assert_int_equal((ULONG_PTR)c % 64, 0);
    ExFreePool(c);
    PVOID untagged = ExAllocatePool(NonPagedPool, 32);
    assert_non_null(untagged);
    ExFreePool(untagged);
    kmrig_runtime_destroy(rt);
}

static void test_ex_allocate_pool_zero_and_pool2_zero_memory(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    for (int round = 0; round < 2; round++) {
        /* Dirty the heap first so zeroing is not an accident of fresh memory. */
        PUCHAR d = ExAllocatePoolWithTag(NonPagedPool, 256, 'triD');
        memset(d, 0xFF, 256);
        ExFreePoolWithTag(d, 'triD');
        PUCHAR z = round ? ExAllocatePool2(POOL_FLAG_NON_PAGED, 256, 'oreZ')
                         : ExAllocatePoolZero(NonPagedPool, 256, 'oreZ');
        assert_non_null(z);
        for (int i = 0; i < 256; i++)
            assert_int_equal(z[i], 0);
        ExFreePoolWithTag(z, 'oreZ');
    }
    kmrig_runtime_destroy(rt);
}

static void test_ex_allocate_pool2_rejects_bad_flags(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    assert_null(ExAllocatePool2(0, 16, 'galF'));
    assert_null(ExAllocatePool2(POOL_FLAG_PAGED | POOL_FLAG_NON_PAGED, 16, 'galF'));
    assert_null(ExAllocatePool2(POOL_FLAG_PAGED | POOL_FLAG_RESERVED2, 16, 'galF'));
    volatile NTSTATUS s = 0;
    __try {
        ExAllocatePool2(POOL_FLAG_RAISE_ON_FAILURE, 16, 'galF');
    } __except (EXCEPTION_EXECUTE_HANDLER) {
        s = GetExceptionCode();
    }
    assert_int_equal(s, STATUS_INVALID_PARAMETER);
    PVOID p = ExAllocatePool2(POOL_FLAG_PAGED | POOL_FLAG_CACHE_ALIGNED, 16, 'galF');
    assert_non_null(p);
    assert_int_equal((ULONG_PTR)p % 64, 0);
    ExFreePoolWithTag(p, 'galF');
    kmrig_runtime_destroy(rt);
}

static void test_ex_allocate_pool_with_quota_fail_instead_of_raise(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    SIZE_T huge = (SIZE_T)1 << 62;
    assert_null(ExAllocatePoolWithQuotaTag(
        (POOL_TYPE)(NonPagedPool | POOL_QUOTA_FAIL_INSTEAD_OF_RAISE), huge, 'atoQ'));
    assert_null(
        ExAllocatePoolWithQuota((POOL_TYPE)(PagedPool | POOL_QUOTA_FAIL_INSTEAD_OF_RAISE), huge));
    volatile NTSTATUS s = 0;
    __try {
        ExAllocatePoolWithQuota(PagedPool, huge);
    } __except (EXCEPTION_EXECUTE_HANDLER) {
        s = GetExceptionCode();
    }
    assert_int_equal(s, STATUS_INSUFFICIENT_RESOURCES);
    PVOID p = ExAllocatePoolWithQuotaTag(PagedPool, 64, 'atoQ');
    assert_non_null(p);
    ExFreePoolWithTag(p, 'atoQ');
    p = ExAllocatePoolWithQuota(NonPagedPool, 64);
    assert_non_null(p);
    ExFreePool(p);
    kmrig_runtime_destroy(rt);
}

static void test_ex_allocate_pool_nonpaged_allowed_at_dispatch(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    PVOID p = ExAllocatePoolWithTag(NonPagedPoolNx, 64, 'cpsD');
    assert_non_null(p);
    ExFreePoolWithTag(p, 'cpsD');
    KeLowerIrql(old);
    kmrig_runtime_destroy(rt);
}

/* ---- verifier ---- */

static void double_free(void *arg)
{
    kmtest_runtime(1);
    PVOID p = ExAllocatePoolWithTag(NonPagedPool, 40, 'elbD');
    *(PVOID *)arg = p; /* the child's address, reported back through the parameters */
    ExFreePoolWithTag(p, 'elbD');
    ExFreePoolWithTag(p, 'elbD');
}

static void free_non_pool(void *arg)
{
    kmtest_runtime(1);
    static UCHAR not_pool[64];
    ExFreePool(not_pool + 16);
}

static void wrong_tag(void *arg)
{
    kmtest_runtime(1);
    PVOID p = ExAllocatePoolWithTag(PagedPool, 40, 'ANIM');
    ExFreePoolWithTag(p, 'SRUO');
}

static void paged_at_dispatch(void *arg)
{
    kmtest_runtime(1);
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    ExAllocatePoolWithTag(PagedPool, 40, 'egaP');
}

static void nonpaged_above_dispatch(void *arg)
{
    kmtest_runtime(1);
    KIRQL old;
    KeRaiseIrql(HIGH_LEVEL, &old);
    ExAllocatePoolWithTag(NonPagedPool, 40, 'hgiH');
}

static void zero_tag(void *arg)
{
    kmtest_runtime(1);
    ExAllocatePoolWithTag(NonPagedPool, 40, 0);
}

static void must_succeed(void *arg)
{
    kmtest_runtime(1);
    ExAllocatePoolWithTag(NonPagedPoolMustSucceed, 40, 'tsuM');
}

static void leak_two(void *arg)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    ExAllocatePoolWithTag(NonPagedPool, 100, 'kaeL');
    ExAllocatePoolWithTag(PagedPool, 28, 'kaeL');
    PVOID freed = ExAllocatePoolWithTag(PagedPool, 28, 'kaeL');
    ExFreePool(freed);
    kmrig_runtime_destroy(rt);
}

static void test_ex_free_pool_twice_bugchecks_bad_pool_caller(void **state)
{
    ULONG_PTR p[4];
    assert_int_equal(kmtest_bugcheck_of(double_free, &(PVOID){0}, p), BAD_POOL_CALLER);
    assert_int_equal(p[0], 0x07);
    assert_int_equal(p[1], 0);
    assert_true(p[3] != 0 && p[3] % 16 == 0); /* the block being freed */
    /* Parameter 3 is the first part of the header: the tag in its low 32 bits. */
    assert_int_equal((ULONG)p[2], 'elbD');
}

static void test_ex_free_pool_of_non_pool_address_bugchecks(void **state)
{
    ULONG_PTR p[4];
    assert_int_equal(kmtest_bugcheck_of(free_non_pool, NULL, p), BAD_POOL_CALLER);
    assert_int_equal(p[0], 0x46);
    assert_true(p[1] != 0);
}

static void test_ex_free_pool_with_wrong_tag_bugchecks(void **state)
{
    ULONG_PTR p[4];
    assert_int_equal(kmtest_bugcheck_of(wrong_tag, NULL, p), BAD_POOL_CALLER);
    assert_int_equal(p[0], 0x0A);
    assert_int_equal(p[2], 'ANIM');
    assert_int_equal(p[3], 'SRUO');
}

static void test_ex_allocate_pool_above_its_irql_bugchecks(void **state)
{
    ULONG_PTR p[4];
    assert_int_equal(kmtest_bugcheck_of(paged_at_dispatch, NULL, p),
                     DRIVER_VERIFIER_DETECTED_VIOLATION);
    assert_int_equal(p[1], DISPATCH_LEVEL);
    assert_int_equal(p[2], APC_LEVEL);
    assert_int_equal(kmtest_bugcheck_of(nonpaged_above_dispatch, NULL, p),
                     DRIVER_VERIFIER_DETECTED_VIOLATION);
    assert_int_equal(p[1], HIGH_LEVEL);
    assert_int_equal(p[2], DISPATCH_LEVEL);
}

static void test_ex_allocate_pool_zero_tag_and_must_succeed_bugcheck(void **state)
{
    ULONG_PTR p[4];
    assert_int_equal(kmtest_bugcheck_of(zero_tag, NULL, p), BAD_POOL_CALLER);
    assert_int_equal(p[0], 0x9B);
    assert_int_equal(p[1], NonPagedPool);
    assert_int_equal(p[2], 40);
    assert_int_equal(kmtest_bugcheck_of(must_succeed, NULL, p), BAD_POOL_CALLER);
    assert_int_equal(p[0], 0x9A);
    assert_int_equal(p[3], 'tsuM');
}

static void test_ex_pool_leak_at_shutdown_bugchecks_with_count(void **state)
{
    ULONG_PTR p[4];
    assert_int_equal(kmtest_bugcheck_of(leak_two, NULL, p), DRIVER_VERIFIER_DETECTED_VIOLATION);
    assert_int_equal(p[0], 0x62);
    assert_true(p[1] != 0); /* name */
    assert_int_equal(p[3], 2);
}

static void verifier_off_double_checks(void *arg)
{
    kmrig_config cfg;
    kmrig_config_init(&cfg);
    cfg.verify_off = 1;
    kmrig_runtime *rt = kmtest_runtime_cfg(&cfg);
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    PVOID p = ExAllocatePoolWithTag(PagedPool, 40, 'ffoV'); /* not checked */
    KeLowerIrql(old);
    ExFreePoolWithTag(p, 'gnrW');                    /* not checked */
    ExAllocatePoolWithTag(NonPagedPool, 40, 'kaeL'); /* no leak check */
    kmrig_runtime_destroy(rt);
}

static void test_ex_pool_verifier_off_checks_nothing(void **state)
{
    assert_int_equal(kmtest_bugcheck_of(verifier_off_double_checks, NULL, NULL), 0);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_ex_allocate_pool_with_tag_alignment_and_use),
    cmocka_unit_test(test_ex_allocate_pool_zero_and_pool2_zero_memory),
    cmocka_unit_test(test_ex_allocate_pool2_rejects_bad_flags),
    cmocka_unit_test(test_ex_allocate_pool_with_quota_fail_instead_of_raise),
    cmocka_unit_test(test_ex_allocate_pool_nonpaged_allowed_at_dispatch),
    cmocka_unit_test(test_ex_free_pool_twice_bugchecks_bad_pool_caller),
    cmocka_unit_test(test_ex_free_pool_of_non_pool_address_bugchecks),
    cmocka_unit_test(test_ex_free_pool_with_wrong_tag_bugchecks),
    cmocka_unit_test(test_ex_allocate_pool_above_its_irql_bugchecks),
    cmocka_unit_test(test_ex_allocate_pool_zero_tag_and_must_succeed_bugcheck),
    cmocka_unit_test(test_ex_pool_leak_at_shutdown_bugchecks_with_count),
    cmocka_unit_test(test_ex_pool_verifier_off_checks_nothing),
};
KMTEST_MAIN(tests)

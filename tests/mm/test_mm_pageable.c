/* Pageable code and data: MmLockPagableCodeSection, MmLockPagableDataSection,
 * MmLockPagableSectionByHandle, MmUnlockPagableImageSection, MmPageEntireDriver,
 * MmResetDriverPaging; MmQuerySystemSize and MmIsThisAnNtAsSystem. Nothing is paged out in
 * kmrig; lock counts are kept and an unbalanced unlock is a verifier violation. */
#include "kmtest.h"

#include <kmrig/mm.h>
#include <stdlib.h>

static int pageable_data = 42;

static void pageable_routine_a(void) {}

static void pageable_routine_b(void) {}

static void test_mm_lock_pagable_code_and_data_sections(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    PVOID code = MmLockPagableCodeSection((PVOID)pageable_routine_a);
    assert_non_null(code);
    /* Another address of the same image's pageable code gives the same handle. */
    assert_ptr_equal(MmLockPagableCodeSection((PVOID)pageable_routine_b), code);
    PVOID data = MmLockPageableDataSection(&pageable_data);
    assert_non_null(data);
    assert_ptr_not_equal(data, code);
    assert_int_equal(pageable_data, 42); /* still resident, of course */
    MmUnlockPagableImageSection(code);
    MmUnlockPagableImageSection(code);
    MmUnlockPageableImageSection(data);
    /* A handle stays valid at count zero and locks again. */
    MmLockPagableSectionByHandle(code);
    MmLockPageableSectionByHandle(code);
    MmUnlockPagableImageSection(code);
    MmUnlockPagableImageSection(code);
    /* At APC_LEVEL too. */
    KIRQL old;
    KeRaiseIrql(APC_LEVEL, &old);
    MmLockPagableSectionByHandle(data);
    MmUnlockPagableImageSection(data);
    KeLowerIrql(old);
    kmrig_runtime_destroy(rt);
}

static void test_mm_page_entire_driver_returns_the_image_base(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    PVOID base = MmPageEntireDriver((PVOID)pageable_routine_a);
    assert_non_null(base);
    assert_true((ULONG_PTR)base <= (ULONG_PTR)pageable_routine_a);
    assert_true((ULONG_PTR)base % PAGE_SIZE == 0);
    assert_ptr_equal(MmPageEntireDriver(&pageable_data), base);
    MmResetDriverPaging((PVOID)pageable_routine_b);
    kmrig_runtime_destroy(rt);
}

static void test_mm_query_system_size_and_nt_as_system(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    KIRQL old;
    KeRaiseIrql(HIGH_LEVEL, &old); /* any IRQL */
    MM_SYSTEMSIZE size = MmQuerySystemSize();
    BOOLEAN server = MmIsThisAnNtAsSystem();
    KeLowerIrql(old);
    assert_int_equal(size, MmLargeSystem);
    assert_false(server);
    kmrig_runtime_destroy(rt);
}

/* ---- verifier ---- */

static void unlock_too_often(void *arg)
{
    kmtest_runtime(1);
    PVOID h = MmLockPagableCodeSection((PVOID)pageable_routine_a);
    MmLockPagableSectionByHandle(h);
    MmUnlockPagableImageSection(h);
    MmUnlockPagableImageSection(h);
    *(PVOID *)arg = h;
    MmUnlockPagableImageSection(h);
}

static void unlock_bogus_handle(void *arg)
{
    kmtest_runtime(1);
    MmUnlockPagableImageSection(&pageable_data);
}

static void lock_heap_address(void *arg)
{
    kmtest_runtime(1);
    MmLockPagableDataSection(malloc(16));
}

static void page_entire_heap(void *arg)
{
    kmtest_runtime(1);
    MmPageEntireDriver(malloc(16));
}

static void lock_at_dispatch(void *arg)
{
    kmtest_runtime(1);
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    MmLockPagableCodeSection((PVOID)pageable_routine_a);
}

static void page_entire_at_apc(void *arg)
{
    kmtest_runtime(1);
    KIRQL old;
    KeRaiseIrql(APC_LEVEL, &old);
    MmPageEntireDriver((PVOID)pageable_routine_a);
}

static void verifier_off_unbalanced(void *arg)
{
    kmrig_config cfg;
    kmrig_config_init(&cfg);
    cfg.verify_off = 1;
    kmrig_runtime *rt = kmtest_runtime_cfg(&cfg);
    PVOID h = MmLockPagableCodeSection((PVOID)pageable_routine_a);
    MmUnlockPagableImageSection(h);
    MmUnlockPagableImageSection(h); /* not checked: the count stays at zero */
    MmUnlockPagableImageSection(&pageable_data);
    MmLockPagableSectionByHandle(h);
    MmUnlockPagableImageSection(h);
    kmrig_runtime_destroy(rt);
}

static void test_mm_unlock_pagable_image_section_unbalanced_bugchecks(void **state)
{
    ULONG_PTR p[4];
    assert_int_equal(kmtest_bugcheck_of(unlock_too_often, &(PVOID){0}, p),
                     DRIVER_VERIFIER_DETECTED_VIOLATION);
    assert_int_equal(p[0], KMRIG_VF_SECTION_UNBALANCED);
    assert_true(p[1] != 0);
    assert_int_equal(kmtest_bugcheck_of(unlock_bogus_handle, NULL, p),
                     DRIVER_VERIFIER_DETECTED_VIOLATION);
    assert_int_equal(p[0], KMRIG_VF_SECTION_BAD_HANDLE);
    /* With the verifier off the same calls end normally. */
    assert_int_equal(kmtest_bugcheck_of(verifier_off_unbalanced, NULL, p), 0);
}

static void test_mm_pagable_routines_outside_an_image_bugcheck(void **state)
{
    ULONG_PTR p[4];
    assert_int_equal(kmtest_bugcheck_of(lock_heap_address, NULL, p),
                     DRIVER_VERIFIER_DETECTED_VIOLATION);
    assert_int_equal(p[0], KMRIG_VF_NOT_IN_IMAGE);
    assert_int_equal(kmtest_bugcheck_of(page_entire_heap, NULL, p),
                     DRIVER_VERIFIER_DETECTED_VIOLATION);
    assert_int_equal(p[0], KMRIG_VF_NOT_IN_IMAGE);
}

static void test_mm_pagable_routines_irql(void **state)
{
    ULONG_PTR p[4];
    assert_int_equal(kmtest_bugcheck_of(lock_at_dispatch, NULL, p),
                     DRIVER_VERIFIER_DETECTED_VIOLATION);
    assert_int_equal(p[0], KMRIG_VF_IRQL_TOO_HIGH);
    assert_int_equal(p[2], APC_LEVEL);
    assert_int_equal(kmtest_bugcheck_of(page_entire_at_apc, NULL, p),
                     DRIVER_VERIFIER_DETECTED_VIOLATION);
    assert_int_equal(p[0], KMRIG_VF_IRQL_TOO_HIGH);
    assert_int_equal(p[2], PASSIVE_LEVEL);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_mm_lock_pagable_code_and_data_sections),
    cmocka_unit_test(test_mm_page_entire_driver_returns_the_image_base),
    cmocka_unit_test(test_mm_query_system_size_and_nt_as_system),
    cmocka_unit_test(test_mm_unlock_pagable_image_section_unbalanced_bugchecks),
    cmocka_unit_test(test_mm_pagable_routines_outside_an_image_bugcheck),
    cmocka_unit_test(test_mm_pagable_routines_irql),
};
KMTEST_MAIN(tests)

/* Probing user buffers: the harness registry (kmrig_user_buffer_register), ProbeForRead,
 * ProbeForWrite, MmProbeAndLockPages and MmUnlockPages. A bad range raises through the runtime's
 * SEH; nothing is learned by touching memory. */
#include "kmtest.h"

#include <kmrig/mm.h>
#include <errno.h>
#include <string.h>

static UCHAR user_rw[3 * PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static UCHAR user_ro[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));

static kmrig_runtime *runtime_with_user_buffers(void)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    assert_int_equal(kmrig_user_buffer_register(rt, user_rw, sizeof user_rw, 1), 0);
    assert_int_equal(kmrig_user_buffer_register(rt, user_ro, sizeof user_ro, 0), 0);
    return rt;
}

static void done(kmrig_runtime *rt)
{
    assert_int_equal(kmrig_user_buffer_unregister(rt, user_rw), 0);
    assert_int_equal(kmrig_user_buffer_unregister(rt, user_ro), 0);
    kmrig_runtime_destroy(rt);
}

/* The status a probe raised, or STATUS_SUCCESS. */
static NTSTATUS probe(BOOLEAN write, const void *p, SIZE_T len, ULONG align)
{
    volatile NTSTATUS s = STATUS_SUCCESS;
    __try {
        if (write)
            ProbeForWrite((PVOID)p, len, align);
        else
            ProbeForRead(p, len, align);
    } __except (EXCEPTION_EXECUTE_HANDLER) {
        s = GetExceptionCode();
    }
    return s;
}

static NTSTATUS lock(PMDL m, KPROCESSOR_MODE mode, LOCK_OPERATION op)
{
    volatile NTSTATUS s = STATUS_SUCCESS;
    __try {
        MmProbeAndLockPages(m, mode, op);
    } __except (EXCEPTION_EXECUTE_HANDLER) {
        s = GetExceptionCode();
    }
    return s;
}

static void test_kmrig_user_buffer_register_rejects_overlaps_and_empty(void **state)
{
    kmrig_runtime *rt = runtime_with_user_buffers();
    assert_int_equal(kmrig_user_buffer_register(rt, user_rw + 100, 10, 1), -EEXIST);
    assert_int_equal(kmrig_user_buffer_register(rt, (void *)((uintptr_t)user_rw - 10), 11, 1),
                     -EEXIST);
    assert_int_equal(kmrig_user_buffer_register(rt, user_rw, 0, 1), -EINVAL);
    assert_int_equal(kmrig_user_buffer_register(rt, NULL, 10, 1), -EINVAL);
    assert_int_equal(kmrig_user_buffer_register(rt, (void *)~(uintptr_t)0xF, 0x20, 1), -EINVAL);
    assert_int_equal(kmrig_user_buffer_unregister(rt, user_rw + 1), -ENOENT);
    done(rt);
    /* Unregistered, the buffer is no user memory any more. */
    rt = kmtest_runtime(1);
    assert_int_equal(probe(FALSE, user_rw, 4, 1), STATUS_ACCESS_VIOLATION);
    kmrig_runtime_destroy(rt);
}

static void test_probe_for_read_and_write_ranges(void **state)
{
    kmrig_runtime *rt = runtime_with_user_buffers();
    static UCHAR kernel[64];
    /* Loop over the IRQLs the routines allow. */
    for (KIRQL irql = PASSIVE_LEVEL; irql <= APC_LEVEL; irql++) {
        KIRQL old;
        KeRaiseIrql(irql, &old);
        assert_int_equal(probe(FALSE, user_rw, sizeof user_rw, 1), STATUS_SUCCESS);
        assert_int_equal(probe(TRUE, user_rw + 8, 16, 8), STATUS_SUCCESS);
        assert_int_equal(probe(FALSE, user_ro, sizeof user_ro, 4), STATUS_SUCCESS);
        /* Read-only user memory fails a write probe. */
        assert_int_equal(probe(TRUE, user_ro, 4, 4), STATUS_ACCESS_VIOLATION);
        /* One byte past the end, an address that is no user buffer, NULL, a wrap. */
        assert_int_equal(probe(FALSE, user_rw, sizeof user_rw + 1, 1), STATUS_ACCESS_VIOLATION);
        assert_int_equal(probe(FALSE, kernel, sizeof kernel, 1), STATUS_ACCESS_VIOLATION);
        assert_int_equal(probe(TRUE, NULL, 4, 4), STATUS_ACCESS_VIOLATION);
        assert_int_equal(probe(FALSE, user_rw + 16, ~(SIZE_T)0, 1), STATUS_ACCESS_VIOLATION);
        /* Misalignment is reported before the range. */
        assert_int_equal(probe(FALSE, user_rw + 2, 4, 4), STATUS_DATATYPE_MISALIGNMENT);
        assert_int_equal(probe(TRUE, kernel + 1, 8, 2), STATUS_DATATYPE_MISALIGNMENT);
        assert_int_equal(probe(FALSE, user_rw + 8, 16, 16), STATUS_DATATYPE_MISALIGNMENT);
        /* A zero-length probe checks nothing. */
        assert_int_equal(probe(FALSE, kernel + 1, 0, 8), STATUS_SUCCESS);
        assert_int_equal(probe(TRUE, NULL, 0, 4), STATUS_SUCCESS);
        KeLowerIrql(old);
    }
    done(rt);
}

static void test_mm_probe_and_lock_pages_user_mode(void **state)
{
    kmrig_runtime *rt = runtime_with_user_buffers();
    PMDL m = IoAllocateMdl(user_rw + 0x10, 2 * PAGE_SIZE, FALSE, FALSE, NULL);
    assert_int_equal(lock(m, UserMode, IoWriteAccess), STATUS_SUCCESS);
    assert_true(m->MdlFlags & MDL_PAGES_LOCKED);
    assert_true(m->MdlFlags & MDL_WRITE_OPERATION);
    assert_ptr_equal(m->Process, PsGetCurrentProcess());
    PPFN_NUMBER pfn = MmGetMdlPfnArray(m);
    for (int i = 0; i < 3; i++)
        assert_int_equal(pfn[i], ((ULONG_PTR)user_rw >> PAGE_SHIFT) + i);
    PUCHAR sys = MmGetSystemAddressForMdlSafe(m, NormalPagePriority);
    assert_ptr_equal(sys, user_rw + 0x10);
    sys[0] = 0xA5;
    assert_int_equal(user_rw[0x10], 0xA5);
    MmUnlockPages(m);
    assert_false(m->MdlFlags & (MDL_PAGES_LOCKED | MDL_MAPPED_TO_SYSTEM_VA));
    /* The same MDL locks again once unlocked, now for reading. */
    assert_int_equal(lock(m, UserMode, IoReadAccess), STATUS_SUCCESS);
    assert_false(m->MdlFlags & MDL_WRITE_OPERATION);
    MmUnlockPages(m);
    IoFreeMdl(m);
    done(rt);
}

static void test_mm_probe_and_lock_pages_raises_access_violation(void **state)
{
    kmrig_runtime *rt = runtime_with_user_buffers();
    static UCHAR kernel[PAGE_SIZE];
    struct {
        PVOID va;
        ULONG len;
        KPROCESSOR_MODE mode;
        LOCK_OPERATION op;
        NTSTATUS want;
    } cases[] = {
        {kernel, 64, UserMode, IoReadAccess, STATUS_ACCESS_VIOLATION}, /* not user memory */
        {user_rw + 8, sizeof user_rw, UserMode, IoReadAccess, STATUS_ACCESS_VIOLATION}, /* past */
        {user_ro, 64, UserMode, IoWriteAccess, STATUS_ACCESS_VIOLATION}, /* read-only */
        {user_ro, 64, UserMode, IoModifyAccess, STATUS_ACCESS_VIOLATION},
        {user_ro, 64, KernelMode, IoWriteAccess, STATUS_ACCESS_VIOLATION}, /* kernel probe too */
        {NULL, 64, KernelMode, IoReadAccess, STATUS_ACCESS_VIOLATION},     /* null page */
        {user_ro, 64, UserMode, IoReadAccess, STATUS_SUCCESS},
        {kernel, 64, KernelMode, IoWriteAccess, STATUS_SUCCESS}, /* kernel memory */
        {user_rw, 64, KernelMode, IoWriteAccess, STATUS_SUCCESS},
    };
    for (unsigned i = 0; i < ARRAYSIZE(cases); i++) {
        PMDL m = IoAllocateMdl(cases[i].va, cases[i].len, FALSE, FALSE, NULL);
        assert_int_equal(lock(m, cases[i].mode, cases[i].op), cases[i].want);
        if (cases[i].want == STATUS_SUCCESS) {
            assert_true(m->MdlFlags & MDL_PAGES_LOCKED);
            if (cases[i].va == kernel)
                assert_null(m->Process);
            MmUnlockPages(m);
        } else {
            assert_false(m->MdlFlags & MDL_PAGES_LOCKED); /* a failed probe leaves it unlocked */
        }
        IoFreeMdl(m);
    }
    done(rt);
}

static void test_mm_probe_and_lock_pages_of_stack_buffer(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    UCHAR stack_buf[200];
    memset(stack_buf, 0, sizeof stack_buf);
    PMDL m = IoAllocateMdl(stack_buf, sizeof stack_buf, FALSE, FALSE, NULL);
    assert_int_equal(lock(m, KernelMode, IoModifyAccess), STATUS_SUCCESS);
    PUCHAR sys = MmGetSystemAddressForMdlSafe(m, HighPagePriority);
    sys[199] = 7;
    assert_int_equal(stack_buf[199], 7);
    MmUnlockPages(m);
    IoFreeMdl(m);
    kmrig_runtime_destroy(rt);
}

static void test_mm_user_buffers_belong_to_one_runtime(void **state)
{
    kmrig_runtime *rt1 = runtime_with_user_buffers();
    assert_int_equal(probe(FALSE, user_rw, 16, 1), STATUS_SUCCESS);
    kmrig_runtime_detach(rt1);
    kmrig_runtime *rt2 = kmtest_runtime(1);
    assert_int_equal(probe(FALSE, user_rw, 16, 1), STATUS_ACCESS_VIOLATION);
    /* The same range may be a user buffer of the second instance as well. */
    assert_int_equal(kmrig_user_buffer_register(rt2, user_rw, 16, 0), 0);
    assert_int_equal(probe(FALSE, user_rw, 16, 1), STATUS_SUCCESS);
    assert_int_equal(probe(TRUE, user_rw, 16, 1), STATUS_ACCESS_VIOLATION);
    assert_int_equal(kmrig_user_buffer_unregister(rt2, user_rw), 0);
    kmrig_runtime_destroy(rt2);
    kmrig_runtime_attach(rt1);
    assert_int_equal(probe(TRUE, user_rw, 16, 1), STATUS_SUCCESS);
    done(rt1);
}

/* ---- verifier ---- */

static void probe_at_dispatch(void *arg)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    kmrig_user_buffer_register(rt, user_rw, sizeof user_rw, 1);
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    ProbeForRead(user_rw, 4, 1);
}

static void lock_user_at_dispatch(void *arg)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    kmrig_user_buffer_register(rt, user_rw, sizeof user_rw, 1);
    PMDL m = IoAllocateMdl(user_rw, 64, FALSE, FALSE, NULL);
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    MmProbeAndLockPages(m, UserMode, IoReadAccess);
}

static void lock_twice(void *arg)
{
    kmtest_runtime(1);
    static UCHAR k[64];
    PMDL m = IoAllocateMdl(k, sizeof k, FALSE, FALSE, NULL);
    MmProbeAndLockPages(m, KernelMode, IoReadAccess);
    MmProbeAndLockPages(m, KernelMode, IoReadAccess);
}

static void lock_nonpaged_mdl(void *arg)
{
    kmtest_runtime(1);
    static UCHAR k[64];
    PMDL m = IoAllocateMdl(k, sizeof k, FALSE, FALSE, NULL);
    MmBuildMdlForNonPagedPool(m);
    MmProbeAndLockPages(m, KernelMode, IoReadAccess);
}

static void unlock_unlocked(void *arg)
{
    kmtest_runtime(1);
    static UCHAR k[64];
    PMDL m = IoAllocateMdl(k, sizeof k, FALSE, FALSE, NULL);
    MmUnlockPages(m);
}

static void unregister_while_locked(void *arg)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    kmrig_user_buffer_register(rt, user_rw, sizeof user_rw, 1);
    PMDL m = IoAllocateMdl(user_rw + PAGE_SIZE, 2 * PAGE_SIZE, FALSE, FALSE, NULL);
    MmProbeAndLockPages(m, UserMode, IoWriteAccess);
    kmrig_user_buffer_unregister(rt, user_rw);
}

static void destroy_while_locked(void *arg)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    static UCHAR k[64];
    PMDL m = IoAllocateMdl(k, sizeof k, FALSE, FALSE, NULL);
    MmProbeAndLockPages(m, KernelMode, IoReadAccess);
    kmrig_runtime_destroy(rt);
}

static void bad_alignment(void *arg)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    kmrig_user_buffer_register(rt, user_rw, sizeof user_rw, 1);
    ProbeForWrite(user_rw, 4, 3);
}

static void nonpaged_user_buffer(void *arg)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    kmrig_user_buffer_register(rt, user_rw, sizeof user_rw, 1);
    PMDL m = IoAllocateMdl(user_rw, 64, FALSE, FALSE, NULL);
    MmBuildMdlForNonPagedPool(m);
}

static void test_probe_verifier_irql(void **state)
{
    ULONG_PTR p[4];
    assert_int_equal(kmtest_bugcheck_of(probe_at_dispatch, NULL, p),
                     DRIVER_VERIFIER_DETECTED_VIOLATION);
    assert_int_equal(p[0], KMRIG_VF_IRQL_TOO_HIGH);
    assert_int_equal(p[2], APC_LEVEL);
    /* Pageable (user) memory is locked at APC_LEVEL at most. */
    assert_int_equal(kmtest_bugcheck_of(lock_user_at_dispatch, NULL, p),
                     DRIVER_VERIFIER_DETECTED_VIOLATION);
    assert_int_equal(p[0], KMRIG_VF_IRQL_TOO_HIGH);
    assert_int_equal(p[1], DISPATCH_LEVEL);
    assert_int_equal(p[2], APC_LEVEL);
}

static void test_mm_probe_and_lock_pages_verifier(void **state)
{
    ULONG_PTR p[4];
    assert_int_equal(kmtest_bugcheck_of(lock_twice, NULL, p), DRIVER_VERIFIER_DETECTED_VIOLATION);
    assert_int_equal(p[0], KMRIG_VF_MDL_ALREADY_LOCKED);
    assert_int_equal(kmtest_bugcheck_of(lock_nonpaged_mdl, NULL, p),
                     DRIVER_VERIFIER_DETECTED_VIOLATION);
    assert_int_equal(p[0], KMRIG_VF_MDL_NOT_LOCKABLE);
    assert_int_equal(kmtest_bugcheck_of(unlock_unlocked, NULL, p),
                     DRIVER_VERIFIER_DETECTED_VIOLATION);
    assert_int_equal(p[0], KMRIG_VF_MDL_NOT_LOCKED);
    assert_int_equal(kmtest_bugcheck_of(bad_alignment, NULL, p),
                     DRIVER_VERIFIER_DETECTED_VIOLATION);
    assert_int_equal(p[0], KMRIG_VF_PROBE_ALIGNMENT);
    assert_int_equal(p[1], 3);
    assert_int_equal(kmtest_bugcheck_of(nonpaged_user_buffer, NULL, p),
                     DRIVER_VERIFIER_DETECTED_VIOLATION);
    assert_int_equal(p[0], KMRIG_VF_MDL_USER_AS_NONPAGED);
}

static void test_mm_locked_pages_left_behind_bugcheck(void **state)
{
    ULONG_PTR p[4];
    assert_int_equal(kmtest_bugcheck_of(unregister_while_locked, NULL, p),
                     DRIVER_LEFT_LOCKED_PAGES_IN_PROCESS);
    assert_true(p[2] != 0);
    assert_int_equal(p[3], 2);
    assert_int_equal(kmtest_bugcheck_of(destroy_while_locked, NULL, p),
                     DRIVER_LEFT_LOCKED_PAGES_IN_PROCESS);
    assert_int_equal(p[3], 1);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_kmrig_user_buffer_register_rejects_overlaps_and_empty),
    cmocka_unit_test(test_probe_for_read_and_write_ranges),
    cmocka_unit_test(test_mm_probe_and_lock_pages_user_mode),
    cmocka_unit_test(test_mm_probe_and_lock_pages_raises_access_violation),
    cmocka_unit_test(test_mm_probe_and_lock_pages_of_stack_buffer),
    cmocka_unit_test(test_mm_user_buffers_belong_to_one_runtime),
    cmocka_unit_test(test_probe_verifier_irql),
    cmocka_unit_test(test_mm_probe_and_lock_pages_verifier),
    cmocka_unit_test(test_mm_locked_pages_left_behind_bugcheck),
};
KMTEST_MAIN(tests)

/* MDLs: IoAllocateMdl/IoFreeMdl, MmInitializeMdl, MmSizeOfMdl, MmCreateMdl,
 * MmBuildMdlForNonPagedPool, IoBuildPartialMdl, MmMapLockedPages/MmUnmapLockedPages,
 * MmGetSystemAddressForMdl(Safe), MmPrepareMdlForReuse, the MDL accessors, MmIsAddressValid. */
#include "kmtest.h"

#include <kmrig/mm.h>
#include <string.h>
#include <sys/mman.h>

/* An IRP as far as MDL chaining is concerned: the x64 WDK layout up to MdlAddress. */
typedef struct {
    CSHORT Type;
    USHORT Size;
    ULONG Reserved;
    PMDL MdlAddress;
    UCHAR Rest[200];
} TEST_IRP_HEAD;

/* A page-aligned pool buffer of n pages. */
static PUCHAR pages(ULONG n)
{
    PUCHAR p = ExAllocatePoolWithTag(NonPagedPoolNx, (SIZE_T)n * PAGE_SIZE, 'tseT');
    assert_non_null(p);
    assert_int_equal((ULONG_PTR)p % PAGE_SIZE, 0);
    return p;
}

static void check_pfns(PMDL m)
{
    PPFN_NUMBER pfn = MmGetMdlPfnArray(m);
    ULONG n = ADDRESS_AND_SIZE_TO_SPAN_PAGES(MmGetMdlVirtualAddress(m), MmGetMdlByteCount(m));
    for (ULONG i = 0; i < n; i++)
        assert_int_equal(pfn[i], ((ULONG_PTR)m->StartVa >> PAGE_SHIFT) + i);
}

static void test_mm_initialize_mdl_and_size_of_mdl(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    UCHAR storage[sizeof(MDL) + 4 * sizeof(PFN_NUMBER)];
    PMDL m = (PMDL)storage;
    PVOID va = (PVOID)0x12345678;
    /* 0x678 + 0x2000 spans three pages */
    assert_int_equal(MmSizeOfMdl(va, 0x2000), sizeof(MDL) + 3 * sizeof(PFN_NUMBER));
    assert_int_equal(MmSizeOfMdl((PVOID)0x1000, 0x1000), sizeof(MDL) + sizeof(PFN_NUMBER));
    assert_int_equal(MmSizeOfMdl((PVOID)0x1000, 0), sizeof(MDL));
    for (int use_function = 0; use_function < 2; use_function++) {
        kmtest_junk(storage, sizeof storage);
        if (use_function)
            (MmInitializeMdl)(m, va, 0x2000);
        else
            MmInitializeMdl(m, va, 0x2000);
        assert_null(m->Next);
        assert_int_equal(m->Size, MmSizeOfMdl(va, 0x2000));
        assert_int_equal(m->MdlFlags, 0);
        assert_ptr_equal(m->StartVa, (PVOID)0x12345000);
        assert_int_equal(m->ByteOffset, 0x678);
        assert_int_equal(m->ByteCount, 0x2000);
        assert_ptr_equal(MmGetMdlVirtualAddress(m), va);
        assert_ptr_equal((MmGetMdlVirtualAddress)(m), va);
        assert_int_equal(MmGetMdlByteCount(m), 0x2000);
        assert_int_equal((MmGetMdlByteCount)(m), 0x2000);
        assert_int_equal(MmGetMdlByteOffset(m), 0x678);
        assert_int_equal((MmGetMdlByteOffset)(m), 0x678);
        assert_ptr_equal(MmGetMdlPfnArray(m), (PPFN_NUMBER)(m + 1));
        assert_ptr_equal((MmGetMdlPfnArray)(m), (PPFN_NUMBER)(m + 1));
    }
    kmrig_runtime_destroy(rt);
}

static void test_io_allocate_mdl_describes_the_buffer(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    PUCHAR buf = pages(3);
    PMDL m = IoAllocateMdl(buf + 100, 2 * PAGE_SIZE, FALSE, FALSE, NULL);
    assert_non_null(m);
    assert_null(m->Next);
    assert_int_equal(m->MdlFlags, MDL_ALLOCATED_FIXED_SIZE);
    assert_ptr_equal(m->StartVa, buf);
    assert_int_equal(m->ByteOffset, 100);
    assert_int_equal(m->ByteCount, 2 * PAGE_SIZE);
    assert_int_equal(m->Size, MmSizeOfMdl(buf + 100, 2 * PAGE_SIZE));
    assert_null(m->Process);
    IoFreeMdl(m);
    /* Zero length and a NULL address are allowed; more than 4 GB - PAGE_SIZE is not. */
    m = IoAllocateMdl(NULL, 0, FALSE, FALSE, NULL);
    assert_non_null(m);
    assert_int_equal(m->ByteCount, 0);
    IoFreeMdl(m);
    assert_null(IoAllocateMdl(buf, 0xFFFFF001u, FALSE, FALSE, NULL));
    assert_non_null(m = IoAllocateMdl(buf, 0xFFFFF000u, FALSE, FALSE, NULL));
    IoFreeMdl(m);
    ExFreePoolWithTag(buf, 'tseT');
    kmrig_runtime_destroy(rt);
}

static void test_io_allocate_mdl_chains_onto_the_irp(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    TEST_IRP_HEAD irp_storage;
    kmtest_junk(&irp_storage, sizeof irp_storage);
    irp_storage.MdlAddress = NULL;
    PIRP irp = (PIRP)&irp_storage;
    UCHAR a[64], b[64], c[64];
    PMDL first = IoAllocateMdl(a, sizeof a, FALSE, FALSE, irp);
    assert_ptr_equal(irp_storage.MdlAddress, first);
    PMDL second = IoAllocateMdl(b, sizeof b, TRUE, FALSE, irp);
    PMDL third = IoAllocateMdl(c, sizeof c, TRUE, FALSE, irp);
    assert_ptr_equal(irp_storage.MdlAddress, first);
    assert_ptr_equal(first->Next, second);
    assert_ptr_equal(second->Next, third);
    assert_null(third->Next);
    /* A new primary buffer replaces the head. */
    PMDL primary = IoAllocateMdl(a, 8, FALSE, FALSE, irp);
    assert_ptr_equal(irp_storage.MdlAddress, primary);
    IoFreeMdl(primary);
    IoFreeMdl(first);
    IoFreeMdl(second);
    IoFreeMdl(third);
    kmrig_runtime_destroy(rt);
}

static void test_mm_create_mdl_allocates_or_initializes(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    UCHAR data[300];
    PMDL m = MmCreateMdl(NULL, data, sizeof data);
    assert_non_null(m);
    assert_ptr_equal(MmGetMdlVirtualAddress(m), data);
    assert_int_equal(MmGetMdlByteCount(m), sizeof data);
    ExFreePool(m);
    UCHAR storage[sizeof(MDL) + 2 * sizeof(PFN_NUMBER)];
    kmtest_junk(storage, sizeof storage);
    assert_ptr_equal(MmCreateMdl((PMDL)storage, data, sizeof data), (PMDL)storage);
    assert_int_equal(((PMDL)storage)->MdlFlags, 0);
    assert_int_equal(((PMDL)storage)->ByteCount, sizeof data);
    kmrig_runtime_destroy(rt);
}

static void test_mm_build_mdl_for_non_paged_pool_maps_the_buffer_itself(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    PUCHAR buf = pages(2);
    PMDL m = IoAllocateMdl(buf + 0x800, PAGE_SIZE, FALSE, FALSE, NULL);
    MmBuildMdlForNonPagedPool(m);
    assert_true(m->MdlFlags & MDL_SOURCE_IS_NONPAGED_POOL);
    assert_false(m->MdlFlags & (MDL_PAGES_LOCKED | MDL_MAPPED_TO_SYSTEM_VA));
    assert_ptr_equal(m->MappedSystemVa, buf + 0x800);
    check_pfns(m);
    assert_int_equal(MmGetMdlPfnArray(m)[0], (ULONG_PTR)buf >> PAGE_SHIFT);
    assert_ptr_equal(MmGetSystemAddressForMdlSafe(m, NormalPagePriority), buf + 0x800);
    assert_ptr_equal(MmGetSystemAddressForMdl(m), buf + 0x800);
    /* Asking again changes nothing: no second mapping is made. */
    assert_ptr_equal(
        MmMapLockedPagesSpecifyCache(m, KernelMode, MmCached, NULL, FALSE, HighPagePriority),
        buf + 0x800);
    assert_false(m->MdlFlags & MDL_MAPPED_TO_SYSTEM_VA);
    IoFreeMdl(m);
    ExFreePoolWithTag(buf, 'tseT');
    kmrig_runtime_destroy(rt);
}

static void test_io_build_partial_mdl_of_nonpaged_source(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    PUCHAR buf = pages(4);
    PMDL src = IoAllocateMdl(buf + 0x100, 3 * PAGE_SIZE, FALSE, FALSE, NULL);
    MmBuildMdlForNonPagedPool(src);
    PMDL part = IoAllocateMdl(buf + 0x100, 3 * PAGE_SIZE, FALSE, FALSE, NULL);
    IoBuildPartialMdl(src, part, buf + 0x1F00, 0x200);
    assert_int_equal(part->MdlFlags,
                     MDL_ALLOCATED_FIXED_SIZE | MDL_PARTIAL | MDL_SOURCE_IS_NONPAGED_POOL);
    assert_ptr_equal(part->StartVa, buf + PAGE_SIZE);
    assert_int_equal(part->ByteOffset, 0xF00);
    assert_int_equal(part->ByteCount, 0x200);
    assert_ptr_equal(part->MappedSystemVa, buf + 0x1F00);
    /* The two pages it spans, taken from the source's PFN array. */
    assert_int_equal(MmGetMdlPfnArray(part)[0], MmGetMdlPfnArray(src)[1]);
    assert_int_equal(MmGetMdlPfnArray(part)[1], MmGetMdlPfnArray(src)[2]);
    assert_ptr_equal(MmGetSystemAddressForMdlSafe(part, NormalPagePriority), buf + 0x1F00);
    /* Length 0: from VirtualAddress to the end of the source. */
    MmPrepareMdlForReuse(part);
    IoBuildPartialMdl(src, part, buf + 0x2100, 0);
    assert_int_equal(part->ByteCount, 3 * PAGE_SIZE + 0x100 - 0x2100);
    check_pfns(part);
    IoFreeMdl(part);
    IoFreeMdl(src);
    ExFreePoolWithTag(buf, 'tseT');
    kmrig_runtime_destroy(rt);
}

static void test_mm_map_locked_pages_of_a_locked_mdl(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    PUCHAR buf = pages(2);
    memset(buf, 0x11, 2 * PAGE_SIZE);
    PMDL m = IoAllocateMdl(buf + 10, 5000, FALSE, FALSE, NULL);
    MmProbeAndLockPages(m, KernelMode, IoWriteAccess);
    assert_false(m->MdlFlags & MDL_MAPPED_TO_SYSTEM_VA);
    PUCHAR sys = MmGetSystemAddressForMdlSafe(m, NormalPagePriority | MdlMappingNoExecute);
    assert_ptr_equal(sys, buf + 10);
    assert_true(m->MdlFlags & MDL_MAPPED_TO_SYSTEM_VA);
    assert_ptr_equal(m->MappedSystemVa, sys);
    sys[4999] = 0x22; /* the system address is the buffer */
    assert_int_equal(buf[5009], 0x22);
    /* Mapped once; the accessor returns the same mapping. */
    assert_ptr_equal(MmGetSystemAddressForMdl(m), sys);
    MmUnmapLockedPages(sys, m);
    assert_false(m->MdlFlags & MDL_MAPPED_TO_SYSTEM_VA);
    assert_ptr_equal(MmMapLockedPages(m, KernelMode), buf + 10);
    /* Unlocking drops the system mapping too. */
    MmUnlockPages(m);
    assert_false(m->MdlFlags & (MDL_PAGES_LOCKED | MDL_MAPPED_TO_SYSTEM_VA));
    IoFreeMdl(m);
    ExFreePoolWithTag(buf, 'tseT');
    kmrig_runtime_destroy(rt);
}

static void test_mm_prepare_mdl_for_reuse_unmaps_a_mapped_partial(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    PUCHAR buf = pages(2);
    PMDL src = IoAllocateMdl(buf, 2 * PAGE_SIZE, FALSE, FALSE, NULL);
    MmProbeAndLockPages(src, KernelMode, IoReadAccess);
    PMDL part = IoAllocateMdl(buf, 2 * PAGE_SIZE, FALSE, FALSE, NULL);
    for (int round = 0; round < 3; round++) {
        IoBuildPartialMdl(src, part, buf + PAGE_SIZE * (round & 1), 64);
        assert_false(part->MdlFlags & MDL_PARTIAL_HAS_BEEN_MAPPED);
        PUCHAR sys = MmGetSystemAddressForMdlSafe(part, LowPagePriority);
        assert_ptr_equal(sys, buf + PAGE_SIZE * (round & 1));
        assert_int_equal(part->MdlFlags & (MDL_MAPPED_TO_SYSTEM_VA | MDL_PARTIAL_HAS_BEEN_MAPPED),
                         MDL_MAPPED_TO_SYSTEM_VA | MDL_PARTIAL_HAS_BEEN_MAPPED);
        if (round < 2)
            MmPrepareMdlForReuse(part);
        else
            (MmPrepareMdlForReuse)(part);
        assert_false(part->MdlFlags & (MDL_MAPPED_TO_SYSTEM_VA | MDL_PARTIAL_HAS_BEEN_MAPPED));
    }
    /* IoFreeMdl of a mapped partial MDL unmaps it first. */
    IoBuildPartialMdl(src, part, buf, 64);
    MmGetSystemAddressForMdlSafe(part, NormalPagePriority);
    IoFreeMdl(part);
    MmUnlockPages(src);
    IoFreeMdl(src);
    ExFreePoolWithTag(buf, 'tseT');
    kmrig_runtime_destroy(rt);
}

static void test_mm_user_mode_mapping_returns_the_buffer(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    PUCHAR buf = pages(1);
    PMDL m = IoAllocateMdl(buf + 8, 100, FALSE, FALSE, NULL);
    MmBuildMdlForNonPagedPool(m);
    PVOID user =
        MmMapLockedPagesSpecifyCache(m, UserMode, MmCached, NULL, FALSE, NormalPagePriority);
    assert_ptr_equal(user, buf + 8);
    assert_false(m->MdlFlags & MDL_MAPPED_TO_SYSTEM_VA);
    volatile NTSTATUS s = 0;
    __try {
        MmMapLockedPagesSpecifyCache(m, UserMode, MmCached, buf + PAGE_SIZE, FALSE,
                                     NormalPagePriority);
    } __except (EXCEPTION_EXECUTE_HANDLER) {
        s = GetExceptionCode();
    }
    assert_int_equal(s, STATUS_CONFLICTING_ADDRESSES);
    IoFreeMdl(m);
    ExFreePoolWithTag(buf, 'tseT');
    kmrig_runtime_destroy(rt);
}

static void test_mm_is_address_valid(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    int local = 0;
    PUCHAR pool = pages(1);
    assert_true(MmIsAddressValid(pool));
    assert_true(MmIsAddressValid(&local));
    assert_true(MmIsAddressValid((PVOID)test_mm_is_address_valid));
    assert_false(MmIsAddressValid(NULL));
    assert_false(MmIsAddressValid((PVOID)0x10));
    PUCHAR gone = mmap(NULL, PAGE_SIZE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(gone != MAP_FAILED);
    assert_true(MmIsAddressValid(gone + 5));
    munmap(gone, PAGE_SIZE);
    assert_false(MmIsAddressValid(gone + 5));
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    assert_true(MmIsAddressValid(pool + 100));
    KeLowerIrql(old);
    ExFreePoolWithTag(pool, 'tseT');
    kmrig_runtime_destroy(rt);
}

static void test_mm_mdl_routines_allowed_at_dispatch(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    PUCHAR buf = pages(1);
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    PMDL m = IoAllocateMdl(buf, 128, FALSE, FALSE, NULL);
    MmProbeAndLockPages(m, KernelMode, IoModifyAccess); /* nonpaged kernel memory */
    assert_ptr_equal(MmGetSystemAddressForMdlSafe(m, NormalPagePriority), buf);
    PMDL part = IoAllocateMdl(buf, 128, FALSE, FALSE, NULL);
    IoBuildPartialMdl(m, part, buf + 64, 64);
    IoFreeMdl(part);
    MmUnlockPages(m);
    IoFreeMdl(m);
    KeLowerIrql(old);
    ExFreePoolWithTag(buf, 'tseT');
    kmrig_runtime_destroy(rt);
}

/* ---- verifier ---- */

static void allocate_at_high(void *arg)
{
    kmtest_runtime(1);
    KIRQL old;
    KeRaiseIrql(HIGH_LEVEL, &old);
    IoAllocateMdl(arg, 8, FALSE, FALSE, NULL);
}

static void map_unlocked(void *arg)
{
    kmtest_runtime(1);
    UCHAR data[16];
    PMDL m = IoAllocateMdl(data, sizeof data, FALSE, FALSE, NULL);
    MmMapLockedPages(m, KernelMode);
}

static void map_twice(void *arg)
{
    kmtest_runtime(1);
    UCHAR data[16];
    PMDL m = IoAllocateMdl(data, sizeof data, FALSE, FALSE, NULL);
    MmProbeAndLockPages(m, KernelMode, IoReadAccess);
    MmMapLockedPages(m, KernelMode);
    MmMapLockedPages(m, KernelMode);
}

static void unmap_wrong_address(void *arg)
{
    kmtest_runtime(1);
    UCHAR data[16];
    PMDL m = IoAllocateMdl(data, sizeof data, FALSE, FALSE, NULL);
    MmProbeAndLockPages(m, KernelMode, IoReadAccess);
    MmMapLockedPages(m, KernelMode);
    MmUnmapLockedPages(data + 1, m);
}

static void free_locked(void *arg)
{
    kmtest_runtime(1);
    UCHAR data[16];
    PMDL m = IoAllocateMdl(data, sizeof data, FALSE, FALSE, NULL);
    *(PMDL *)arg = m;
    MmProbeAndLockPages(m, KernelMode, IoReadAccess);
    IoFreeMdl(m);
}

static void partial_outside_source(void *arg)
{
    kmtest_runtime(1);
    UCHAR data[256];
    PMDL src = IoAllocateMdl(data, 128, FALSE, FALSE, NULL);
    MmBuildMdlForNonPagedPool(src);
    PMDL part = IoAllocateMdl(data, 256, FALSE, FALSE, NULL);
    IoBuildPartialMdl(src, part, data + 64, 128); /* ends 64 bytes past the source */
}

static void partial_target_too_small(void *arg)
{
    kmtest_runtime(1);
    PUCHAR buf = ExAllocatePoolWithTag(NonPagedPool, 3 * PAGE_SIZE, 'tseT');
    PMDL src = IoAllocateMdl(buf, 3 * PAGE_SIZE, FALSE, FALSE, NULL);
    MmBuildMdlForNonPagedPool(src);
    PMDL part = IoAllocateMdl(buf, 1, FALSE, FALSE, NULL); /* room for one PFN */
    IoBuildPartialMdl(src, part, buf, 2 * PAGE_SIZE);
}

static void secondary_without_irp(void *arg)
{
    kmtest_runtime(1);
    UCHAR data[16];
    IoAllocateMdl(data, sizeof data, TRUE, FALSE, NULL);
}

static void leak_mdl(void *arg)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    UCHAR data[16];
    IoAllocateMdl(data, sizeof data, FALSE, FALSE, NULL);
    kmrig_runtime_destroy(rt);
}

static void test_mm_mdl_verifier_irql(void **state)
{
    ULONG_PTR p[4];
    UCHAR data[8];
    assert_int_equal(kmtest_bugcheck_of(allocate_at_high, data, p),
                     DRIVER_VERIFIER_DETECTED_VIOLATION);
    assert_int_equal(p[0], KMRIG_VF_IRQL_TOO_HIGH);
    assert_int_equal(p[1], HIGH_LEVEL);
    assert_int_equal(p[2], DISPATCH_LEVEL);
}

static void verifier_off_mdl_misuse(void *arg)
{
    kmrig_config cfg;
    kmrig_config_init(&cfg);
    cfg.verify_off = 1;
    kmrig_runtime *rt = kmtest_runtime_cfg(&cfg);
    UCHAR data[16];
    PMDL m = IoAllocateMdl(data, sizeof data, FALSE, FALSE, NULL);
    PVOID va = MmMapLockedPages(m, KernelMode); /* unlocked: not checked, still the buffer */
    if (va != data)
        KeBugCheckEx(0xDEAD, (ULONG_PTR)va, 0, 0, 0);
    MmUnmapLockedPages(data + 1, m); /* ignored */
    MmUnmapLockedPages(va, m);
    MmUnlockPages(m); /* not locked: ignored */
    IoFreeMdl(m);
    kmrig_runtime_destroy(rt);
}

static void test_mm_map_locked_pages_verifier(void **state)
{
    ULONG_PTR p[4];
    assert_int_equal(kmtest_bugcheck_of(map_unlocked, NULL, p), DRIVER_VERIFIER_DETECTED_VIOLATION);
    assert_int_equal(p[0], KMRIG_VF_MDL_NOT_LOCKED);
    assert_int_equal(kmtest_bugcheck_of(map_twice, NULL, p), DRIVER_VERIFIER_DETECTED_VIOLATION);
    assert_int_equal(p[0], KMRIG_VF_MDL_ALREADY_MAPPED);
    assert_int_equal(kmtest_bugcheck_of(unmap_wrong_address, NULL, p),
                     DRIVER_VERIFIER_DETECTED_VIOLATION);
    assert_int_equal(p[0], KMRIG_VF_MDL_BAD_UNMAP);
    /* With the verifier off the same misuse is not reported. */
    assert_int_equal(kmtest_bugcheck_of(verifier_off_mdl_misuse, NULL, p), 0);
}

static void test_io_free_mdl_of_locked_mdl_bugchecks(void **state)
{
    ULONG_PTR p[4];
    assert_int_equal(kmtest_bugcheck_of(free_locked, &(PMDL){0}, p),
                     DRIVER_LEFT_LOCKED_PAGES_IN_PROCESS);
    assert_true(p[2] != 0); /* the MDL */
    assert_int_equal(p[3], 1);
}

static void test_io_build_partial_mdl_verifier(void **state)
{
    ULONG_PTR p[4];
    assert_int_equal(kmtest_bugcheck_of(partial_outside_source, NULL, p),
                     DRIVER_VERIFIER_DETECTED_VIOLATION);
    assert_int_equal(p[0], KMRIG_VF_MDL_PARTIAL_RANGE);
    assert_int_equal(kmtest_bugcheck_of(partial_target_too_small, NULL, p),
                     DRIVER_VERIFIER_DETECTED_VIOLATION);
    assert_int_equal(p[0], KMRIG_VF_MDL_PARTIAL_RANGE);
    assert_int_equal(kmtest_bugcheck_of(secondary_without_irp, NULL, p),
                     DRIVER_VERIFIER_DETECTED_VIOLATION);
    assert_int_equal(p[0], KMRIG_VF_MDL_SECONDARY_WITHOUT_IRP);
}

static void test_io_allocate_mdl_leak_shows_in_pool_leaks(void **state)
{
    ULONG_PTR p[4];
    assert_int_equal(kmtest_bugcheck_of(leak_mdl, NULL, p), DRIVER_VERIFIER_DETECTED_VIOLATION);
    assert_int_equal(p[0], 0x62);
    assert_int_equal(p[3], 1);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_mm_initialize_mdl_and_size_of_mdl),
    cmocka_unit_test(test_io_allocate_mdl_describes_the_buffer),
    cmocka_unit_test(test_io_allocate_mdl_chains_onto_the_irp),
    cmocka_unit_test(test_mm_create_mdl_allocates_or_initializes),
    cmocka_unit_test(test_mm_build_mdl_for_non_paged_pool_maps_the_buffer_itself),
    cmocka_unit_test(test_io_build_partial_mdl_of_nonpaged_source),
    cmocka_unit_test(test_mm_map_locked_pages_of_a_locked_mdl),
    cmocka_unit_test(test_mm_prepare_mdl_for_reuse_unmaps_a_mapped_partial),
    cmocka_unit_test(test_mm_user_mode_mapping_returns_the_buffer),
    cmocka_unit_test(test_mm_is_address_valid),
    cmocka_unit_test(test_mm_mdl_routines_allowed_at_dispatch),
    cmocka_unit_test(test_mm_mdl_verifier_irql),
    cmocka_unit_test(test_mm_map_locked_pages_verifier),
    cmocka_unit_test(test_io_free_mdl_of_locked_mdl_bugchecks),
    cmocka_unit_test(test_io_build_partial_mdl_verifier),
    cmocka_unit_test(test_io_allocate_mdl_leak_shows_in_pool_leaks),
};
KMTEST_MAIN(tests)

/* Sections: kmrig_section_create/kmrig_section_delete (harness), ZwOpenSection,
 * ZwMapViewOfSection, ZwUnmapViewOfSection (ZwUnMapViewOfSection). */
#include "kmtest.h"

#include <errno.h>
#include <kmrig/mm.h>
#include <string.h>

#define NAME "\\BaseNamedObjects\\KmrigTestFrame"

static void init_name(POBJECT_ATTRIBUTES oa, PUNICODE_STRING us, PCWSTR name, ULONG attributes)
{
    RtlInitUnicodeString(us, name);
    InitializeObjectAttributes(oa, us, attributes | OBJ_KERNEL_HANDLE, NULL, NULL);
}

static NTSTATUS open_section(PCWSTR name, ACCESS_MASK access, ULONG attributes, PHANDLE h)
{
    OBJECT_ATTRIBUTES oa;
    UNICODE_STRING us;
    init_name(&oa, &us, name, attributes);
    return ZwOpenSection(h, access, &oa);
}

static NTSTATUS map(HANDLE h, LONGLONG offset, SIZE_T size, ULONG protect, PVOID *base,
                    SIZE_T *view, LONGLONG *offset_out)
{
    LARGE_INTEGER off;
    off.QuadPart = offset;
    *base = NULL;
    *view = size;
    NTSTATUS s =
        ZwMapViewOfSection(h, ZwCurrentProcess(), base, 0, 0, &off, view, ViewUnmap, 0, protect);
    if (offset_out)
        *offset_out = off.QuadPart;
    return s;
}

static void test_zw_map_view_of_section_shares_the_pages(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    PUCHAR contents;
    assert_int_equal(kmrig_section_create(rt, NAME, 3 * 0x10000, 1, (void **)&contents), 0);
    for (int i = 0; i < 3 * 0x10000; i++)
        contents[i] = (UCHAR)(i * 7);
    HANDLE h;
    assert_int_equal(open_section(L"" NAME, SECTION_MAP_READ | SECTION_MAP_WRITE, 0, &h),
                     STATUS_SUCCESS);
    PUCHAR v1, v2;
    SIZE_T size1, size2;
    assert_int_equal(map(h, 0, 0, PAGE_READWRITE, (PVOID *)&v1, &size1, NULL), STATUS_SUCCESS);
    assert_int_equal(size1, 3 * 0x10000); /* ViewSize 0: to the end of the section */
    assert_int_equal(memcmp(v1, contents, size1), 0);
    assert_int_equal(map(h, 0x10000, 100, PAGE_READONLY, (PVOID *)&v2, &size2, NULL),
                     STATUS_SUCCESS);
    assert_int_equal(size2, PAGE_SIZE); /* rounded up to pages */
    assert_ptr_not_equal(v1, v2);
    /* One set of pages behind every view and the harness's mapping. */
    v1[0x10005] = 0xEE;
    assert_int_equal(v2[5], 0xEE);
    assert_int_equal(contents[0x10005], 0xEE);
    contents[0x10006] = 0xDD;
    assert_int_equal(v2[6], 0xDD);
    assert_true(MmIsAddressValid(v2));
    /* Any address inside a view unmaps it. */
    assert_int_equal(ZwUnmapViewOfSection(ZwCurrentProcess(), v2 + 17), STATUS_SUCCESS);
    assert_int_equal(ZwUnmapViewOfSection(ZwCurrentProcess(), v2), STATUS_NOT_MAPPED_VIEW);
    assert_int_equal(ZwUnMapViewOfSection(ZwCurrentProcess(), v1), STATUS_SUCCESS);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);
    assert_int_equal(kmrig_section_delete(rt, NAME), 0);
    assert_int_equal(kmrig_section_delete(rt, NAME), -ENOENT);
    kmrig_runtime_destroy(rt);
}

static void test_zw_map_view_of_section_offsets_and_sizes(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    PUCHAR contents;
    assert_int_equal(kmrig_section_create(rt, NAME, 0x30000, 1, (void **)&contents), 0);
    contents[0x10010] = 0x42;
    HANDLE h;
    assert_int_equal(open_section(L"" NAME, SECTION_ALL_ACCESS, 0, &h), STATUS_SUCCESS);
    PUCHAR v;
    SIZE_T size;
    LONGLONG off;
    /* The offset is rounded down to the 64 KB granularity and the view grows to cover it. */
    assert_int_equal(map(h, 0x10010, 0x20, PAGE_READWRITE, (PVOID *)&v, &size, &off),
                     STATUS_SUCCESS);
    assert_int_equal(off, 0x10000);
    assert_int_equal(size, PAGE_SIZE);
    assert_int_equal(v[0x10], 0x42);
    assert_int_equal(ZwUnmapViewOfSection(ZwCurrentProcess(), v), STATUS_SUCCESS);
    assert_int_equal(map(h, 0x20000, 0, PAGE_READWRITE, (PVOID *)&v, &size, &off), STATUS_SUCCESS);
    assert_int_equal(size, 0x10000);
    assert_int_equal(ZwUnmapViewOfSection(ZwCurrentProcess(), v), STATUS_SUCCESS);
    /* Past the end, or larger than what is left. */
    assert_int_equal(map(h, 0x30000, 0, PAGE_READWRITE, (PVOID *)&v, &size, NULL),
                     STATUS_INVALID_VIEW_SIZE);
    assert_int_equal(map(h, 0x20000, 0x10001, PAGE_READWRITE, (PVOID *)&v, &size, NULL),
                     STATUS_INVALID_VIEW_SIZE);
    assert_int_equal(map(h, -1, 0, PAGE_READWRITE, (PVOID *)&v, &size, NULL),
                     STATUS_INVALID_VIEW_SIZE);
    /* A NULL SectionOffset maps from the start. */
    PVOID base = NULL;
    size = 0;
    assert_int_equal(ZwMapViewOfSection(h, ZwCurrentProcess(), &base, 0, PAGE_SIZE, NULL, &size,
                                        ViewShare, MEM_TOP_DOWN, PAGE_READWRITE | PAGE_NOCACHE),
                     STATUS_SUCCESS);
    assert_int_equal(size, 0x30000);
    assert_int_equal(((PUCHAR)base)[0x10010], 0x42);
    assert_int_equal(ZwUnmapViewOfSection(ZwCurrentProcess(), base), STATUS_SUCCESS);
    ZwClose(h);
    kmrig_runtime_destroy(rt);
}

static void test_zw_map_view_of_section_parameter_errors(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    assert_int_equal(kmrig_section_create(rt, NAME, 0x10000, 1, NULL), 0);
    HANDLE h;
    assert_int_equal(open_section(L"" NAME, SECTION_ALL_ACCESS, 0, &h), STATUS_SUCCESS);
    PVOID base = NULL;
    SIZE_T size = 0;
    HANDLE self = ZwCurrentProcess();
    assert_int_equal(
        ZwMapViewOfSection(h, self, NULL, 0, 0, NULL, &size, ViewShare, 0, PAGE_READWRITE),
        STATUS_INVALID_PARAMETER_3);
    assert_int_equal(
        ZwMapViewOfSection(h, self, &base, 21, 0, NULL, &size, ViewShare, 0, PAGE_READWRITE),
        STATUS_INVALID_PARAMETER_4);
    assert_int_equal(
        ZwMapViewOfSection(h, self, &base, 0, 0x20000, NULL, &size, ViewShare, 0, PAGE_READWRITE),
        STATUS_INVALID_PARAMETER_5);
    assert_int_equal(
        ZwMapViewOfSection(h, self, &base, 0, 0, NULL, NULL, ViewShare, 0, PAGE_READWRITE),
        STATUS_INVALID_PARAMETER_7);
    assert_int_equal(ZwMapViewOfSection(h, self, &base, 0, 0, NULL, &size, (SECTION_INHERIT)3, 0,
                                        PAGE_READWRITE),
                     STATUS_INVALID_PARAMETER_8);
    assert_int_equal(ZwMapViewOfSection(h, self, &base, 0, 0, NULL, &size, ViewShare, MEM_COMMIT,
                                        PAGE_READWRITE),
                     STATUS_INVALID_PARAMETER_9);
    const ULONG bad_protect[] = {0, PAGE_READONLY | PAGE_READWRITE, PAGE_READWRITE | PAGE_GUARD,
                                 0x800};
    for (unsigned i = 0; i < ARRAYSIZE(bad_protect); i++)
        assert_int_equal(
            ZwMapViewOfSection(h, self, &base, 0, 0, NULL, &size, ViewShare, 0, bad_protect[i]),
            STATUS_INVALID_PAGE_PROTECTION);
    assert_int_equal(ZwMapViewOfSection((HANDLE)(LONG_PTR)-1000, self, &base, 0, 0, NULL, &size,
                                        ViewShare, 0, PAGE_READWRITE),
                     STATUS_INVALID_HANDLE);
    /* kmrig places views itself. */
    base = (PVOID)0x7F0000000000;
    assert_int_equal(
        ZwMapViewOfSection(h, self, &base, 0, 0, NULL, &size, ViewShare, 0, PAGE_READWRITE),
        STATUS_CONFLICTING_ADDRESSES);
    assert_int_equal(ZwUnmapViewOfSection(self, (PVOID)0x1000), STATUS_NOT_MAPPED_VIEW);
    ZwClose(h);
    kmrig_runtime_destroy(rt);
}

static void test_zw_open_section_names(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    assert_int_equal(kmrig_section_create(rt, NAME, 100, 1, NULL), 0);
    assert_int_equal(kmrig_section_create(rt, NAME, 100, 1, NULL), -EEXIST);
    assert_int_equal(kmrig_section_create(rt, "NoBackslash", 100, 1, NULL), -EINVAL);
    assert_int_equal(kmrig_section_create(rt, "\\Empty", 0, 1, NULL), -EINVAL);
    HANDLE h = NULL;
    /* Names are case-sensitive unless OBJ_CASE_INSENSITIVE. */
    assert_int_equal(open_section(L"\\basenamedobjects\\kmrigtestframe", SECTION_MAP_READ, 0, &h),
                     STATUS_OBJECT_NAME_NOT_FOUND);
    assert_int_equal(open_section(L"\\basenamedobjects\\kmrigtestframe", SECTION_MAP_READ,
                                  OBJ_CASE_INSENSITIVE, &h),
                     STATUS_SUCCESS);
    ZwClose(h);
    assert_int_equal(open_section(L"\\BaseNamedObjects\\Other", SECTION_MAP_READ, 0, &h),
                     STATUS_OBJECT_NAME_NOT_FOUND);
    assert_int_equal(open_section(L"Relative", SECTION_MAP_READ, 0, &h),
                     STATUS_OBJECT_PATH_SYNTAX_BAD);
    assert_int_equal(open_section(L"", SECTION_MAP_READ, 0, &h), STATUS_OBJECT_NAME_INVALID);
    assert_int_equal(ZwOpenSection(&h, SECTION_MAP_READ, NULL), STATUS_INVALID_PARAMETER);
    kmrig_runtime_destroy(rt); /* the named section goes with the instance */
}

static void test_zw_open_section_refuses_physical_memory(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    HANDLE h = NULL;
    assert_int_equal(open_section(L"\\Device\\PhysicalMemory", SECTION_MAP_READ, 0, &h),
                     STATUS_ACCESS_DENIED);
    assert_int_equal(
        open_section(L"\\device\\physicalmemory", SECTION_ALL_ACCESS, OBJ_CASE_INSENSITIVE, &h),
        STATUS_ACCESS_DENIED);
    assert_null(h);
    /* Nor can a harness plant a section under that name. */
    assert_int_equal(kmrig_section_create(rt, "\\Device\\PhysicalMemory", 0x1000, 1, NULL),
                     -EACCES);
    kmrig_runtime_destroy(rt);
}

static void test_zw_section_access_rights(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    PUCHAR contents;
    assert_int_equal(kmrig_section_create(rt, "\\ReadOnly", 0x1000, 0, (void **)&contents), 0);
    assert_int_equal(kmrig_section_create(rt, "\\Writable", 0x1000, 1, NULL), 0);
    contents[1] = 0x77;
    HANDLE h;
    /* A read-only section refuses write access at open... */
    assert_int_equal(open_section(L"\\ReadOnly", SECTION_MAP_WRITE, 0, &h), STATUS_ACCESS_DENIED);
    assert_int_equal(open_section(L"\\ReadOnly", GENERIC_WRITE, 0, &h), STATUS_ACCESS_DENIED);
    assert_int_equal(open_section(L"\\ReadOnly", GENERIC_ALL, 0, &h), STATUS_ACCESS_DENIED);
    /* ... MAXIMUM_ALLOWED gets what it can grant, which is reading. */
    assert_int_equal(open_section(L"\\ReadOnly", MAXIMUM_ALLOWED, 0, &h), STATUS_SUCCESS);
    PUCHAR v;
    SIZE_T size;
    assert_int_equal(map(h, 0, 0, PAGE_READWRITE, (PVOID *)&v, &size, NULL), STATUS_ACCESS_DENIED);
    assert_int_equal(map(h, 0, 0, PAGE_READONLY, (PVOID *)&v, &size, NULL), STATUS_SUCCESS);
    assert_int_equal(v[1], 0x77);
    /* A write lock on a read-only view is refused like a write probe. */
    PMDL m = IoAllocateMdl(v, 16, FALSE, FALSE, NULL);
    volatile NTSTATUS s = 0;
    __try {
        MmProbeAndLockPages(m, KernelMode, IoWriteAccess);
    } __except (EXCEPTION_EXECUTE_HANDLER) {
        s = GetExceptionCode();
    }
    assert_int_equal(s, STATUS_ACCESS_VIOLATION);
    MmProbeAndLockPages(m, KernelMode, IoReadAccess);
    MmUnlockPages(m);
    IoFreeMdl(m);
    ZwUnmapViewOfSection(ZwCurrentProcess(), v);
    ZwClose(h);
    /* A handle opened for reading maps read-only views only; GENERIC_READ means map-read. */
    assert_int_equal(open_section(L"\\Writable", GENERIC_READ, 0, &h), STATUS_SUCCESS);
    assert_int_equal(map(h, 0, 0, PAGE_READWRITE, (PVOID *)&v, &size, NULL), STATUS_ACCESS_DENIED);
    assert_int_equal(map(h, 0, 0, PAGE_EXECUTE_READ, (PVOID *)&v, &size, NULL),
                     STATUS_ACCESS_DENIED); /* no SECTION_MAP_EXECUTE */
    assert_int_equal(map(h, 0, 0, PAGE_READONLY, (PVOID *)&v, &size, NULL), STATUS_SUCCESS);
    ZwUnmapViewOfSection(ZwCurrentProcess(), v);
    ZwClose(h);
    kmrig_runtime_destroy(rt);
}

static void test_zw_map_view_of_section_write_copy_is_private(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    PUCHAR contents;
    assert_int_equal(kmrig_section_create(rt, NAME, 0x1000, 1, (void **)&contents), 0);
    contents[0] = 1;
    HANDLE h;
    assert_int_equal(open_section(L"" NAME, SECTION_MAP_READ, 0, &h), STATUS_SUCCESS);
    PUCHAR v;
    SIZE_T size;
    assert_int_equal(map(h, 0, 0, PAGE_WRITECOPY, (PVOID *)&v, &size, NULL), STATUS_SUCCESS);
    assert_int_equal(v[0], 1);
    v[0] = 2;
    assert_int_equal(contents[0], 1);
    ZwUnmapViewOfSection(ZwCurrentProcess(), v);
    ZwClose(h);
    kmrig_runtime_destroy(rt);
}

static void test_zw_section_outlives_its_name_and_handle_while_mapped(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    PUCHAR contents;
    assert_int_equal(kmrig_section_create(rt, NAME, 0x2000, 1, (void **)&contents), 0);
    contents[0x1FFF] = 9;
    HANDLE h;
    assert_int_equal(open_section(L"" NAME, SECTION_MAP_READ | SECTION_MAP_WRITE, 0, &h),
                     STATUS_SUCCESS);
    PUCHAR v;
    SIZE_T size;
    assert_int_equal(map(h, 0, 0, PAGE_READWRITE, (PVOID *)&v, &size, NULL), STATUS_SUCCESS);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);
    assert_int_equal(kmrig_section_delete(rt, NAME), 0);
    assert_int_equal(open_section(L"" NAME, SECTION_MAP_READ, 0, &h), STATUS_OBJECT_NAME_NOT_FOUND);
    assert_int_equal(v[0x1FFF], 9); /* the view keeps the section alive */
    v[0] = 3;
    assert_int_equal(ZwUnmapViewOfSection(ZwCurrentProcess(), v), STATUS_SUCCESS);
    /* The name is free again. */
    assert_int_equal(kmrig_section_create(rt, NAME, 0x1000, 1, NULL), 0);
    kmrig_runtime_destroy(rt);
}

/* ---- verifier ---- */

static void open_at_apc(void *arg)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    kmrig_section_create(rt, NAME, 0x1000, 1, NULL);
    KIRQL old;
    KeRaiseIrql(APC_LEVEL, &old);
    HANDLE h;
    open_section(L"" NAME, SECTION_MAP_READ, 0, &h);
}

static void test_zw_section_routines_at_passive_only(void **state)
{
    ULONG_PTR p[4];
    assert_int_equal(kmtest_bugcheck_of(open_at_apc, NULL, p), DRIVER_VERIFIER_DETECTED_VIOLATION);
    assert_int_equal(p[0], KMRIG_VF_IRQL_TOO_HIGH);
    assert_int_equal(p[1], APC_LEVEL);
    assert_int_equal(p[2], PASSIVE_LEVEL);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_zw_map_view_of_section_shares_the_pages),
    cmocka_unit_test(test_zw_map_view_of_section_offsets_and_sizes),
    cmocka_unit_test(test_zw_map_view_of_section_parameter_errors),
    cmocka_unit_test(test_zw_open_section_names),
    cmocka_unit_test(test_zw_open_section_refuses_physical_memory),
    cmocka_unit_test(test_zw_section_access_rights),
    cmocka_unit_test(test_zw_map_view_of_section_write_copy_is_private),
    cmocka_unit_test(test_zw_section_outlives_its_name_and_handle_while_mapped),
    cmocka_unit_test(test_zw_section_routines_at_passive_only),
};
KMTEST_MAIN(tests)

/* The object name space: the standard directories, ZwCreateDirectoryObject (named, relative,
 * OBJ_OPENIF, OBJ_PERMANENT), ZwMakeTemporaryObject, symbolic link objects and lookups. */
#include "kmtest.h"
#include "ob.h"

#include <string.h>

static UNICODE_STRING us(PCWSTR s)
{
    UNICODE_STRING u;
    RtlInitUnicodeString(&u, s);
    return u;
}

static NTSTATUS lookup(kmrig_runtime *rt, PCWSTR name, PVOID *obj)
{
    UNICODE_STRING n = us(name);
    NTSTATUS s = ObpLookupObjectName(rt, &n, NULL, 0, obj, NULL);
    if (NT_SUCCESS(s))
        ObDereferenceObject(*obj);
    return s;
}

static void test_ob_namespace_standard_directories(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    PVOID o, g;
    static const PCWSTR dirs[] = {L"\\",
                                  L"\\Device",
                                  L"\\Driver",
                                  L"\\GLOBAL??",
                                  L"\\ArcName",
                                  L"\\BaseNamedObjects",
                                  L"\\??",
                                  L"\\DosDevices",
                                  L"\\dosdevices\\",
                                  L"\\??\\Global",
                                  L"\\DosDevices\\Global\\Global"};
    assert_int_equal(lookup(rt, L"\\GLOBAL??", &g), STATUS_SUCCESS);
    for (unsigned i = 0; i < ARRAYSIZE(dirs); i++) {
        assert_int_equal(lookup(rt, dirs[i], &o), STATUS_SUCCESS);
        assert_ptr_equal(OBJECT_TO_OBJECT_HEADER(o)->Type, &ObpDirectoryType);
        if (i >= 6)
            assert_ptr_equal(o, g); /* links resolve to \GLOBAL?? */
    }
    assert_int_equal(lookup(rt, L"\\Nothing", &o), STATUS_OBJECT_NAME_NOT_FOUND);
    assert_int_equal(lookup(rt, L"\\Nothing\\Below", &o), STATUS_OBJECT_PATH_NOT_FOUND);
    assert_int_equal(lookup(rt, L"Device", &o), STATUS_OBJECT_PATH_SYNTAX_BAD);
    assert_int_equal(lookup(rt, L"\\Device\\\\X", &o), STATUS_OBJECT_NAME_INVALID);
    /* OBJ_OPENLINK opens the link itself. */
    UNICODE_STRING n = us(L"\\DosDevices");
    assert_int_equal(ObpLookupObjectName(rt, &n, NULL, OBJ_OPENLINK, &o, NULL), STATUS_SUCCESS);
    assert_ptr_equal(OBJECT_TO_OBJECT_HEADER(o)->Type, &ObpSymbolicLinkType);
    ObDereferenceObject(o);
    kmrig_runtime_destroy(rt);
}

static void test_ob_zw_create_directory_object(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    UNICODE_STRING name = us(L"\\KernelObjects\\Test"), sub = us(L"Sub");
    OBJECT_ATTRIBUTES oa;
    HANDLE h, h2, hs;
    PVOID o;
    InitializeObjectAttributes(&oa, &name, OBJ_KERNEL_HANDLE, NULL, NULL);
    assert_int_equal(ZwCreateDirectoryObject(&h, DIRECTORY_ALL_ACCESS, &oa), STATUS_SUCCESS);
    assert_int_equal(lookup(rt, L"\\KernelObjects\\test", &o), STATUS_SUCCESS);
    /* Existing: a collision, or the same directory with OBJ_OPENIF. */
    assert_int_equal(ZwCreateDirectoryObject(&h2, DIRECTORY_ALL_ACCESS, &oa),
                     STATUS_OBJECT_NAME_COLLISION);
    oa.Attributes |= OBJ_OPENIF;
    assert_int_equal(ZwCreateDirectoryObject(&h2, DIRECTORY_ALL_ACCESS, &oa),
                     STATUS_OBJECT_NAME_EXISTS);
    PVOID a, b;
    assert_int_equal(ObReferenceObjectByHandle(h, 0, NULL, KernelMode, &a, NULL), STATUS_SUCCESS);
    assert_int_equal(ObReferenceObjectByHandle(h2, 0, NULL, KernelMode, &b, NULL), STATUS_SUCCESS);
    assert_ptr_equal(a, b);
    ObDereferenceObject(a);
    ObDereferenceObject(b);
    /* A name relative to a directory handle. */
    InitializeObjectAttributes(&oa, &sub, OBJ_KERNEL_HANDLE, h, NULL);
    assert_int_equal(ZwCreateDirectoryObject(&hs, DIRECTORY_ALL_ACCESS, &oa), STATUS_SUCCESS);
    assert_int_equal(lookup(rt, L"\\KernelObjects\\Test\\Sub", &o), STATUS_SUCCESS);
    /* A leading backslash relative to a directory. */
    UNICODE_STRING abs = us(L"\\Sub2");
    InitializeObjectAttributes(&oa, &abs, OBJ_KERNEL_HANDLE, h, NULL);
    assert_int_equal(ZwCreateDirectoryObject(&h2, 0, &oa), STATUS_OBJECT_PATH_SYNTAX_BAD);
    /* Bad names. */
    UNICODE_STRING bad = us(L"\\NoDir\\X"), rel = us(L"X");
    InitializeObjectAttributes(&oa, &bad, 0, NULL, NULL);
    assert_int_equal(ZwCreateDirectoryObject(&h2, 0, &oa), STATUS_OBJECT_PATH_NOT_FOUND);
    InitializeObjectAttributes(&oa, &rel, 0, NULL, NULL);
    assert_int_equal(ZwCreateDirectoryObject(&h2, 0, &oa), STATUS_OBJECT_PATH_SYNTAX_BAD);
    InitializeObjectAttributes(&oa, &name, 0, (HANDLE)(LONG_PTR)-8, NULL);
    assert_int_equal(ZwCreateDirectoryObject(&h2, 0, &oa), STATUS_INVALID_HANDLE);
    /* Temporary: the name goes with the last handle. */
    ZwClose(hs);
    assert_int_equal(lookup(rt, L"\\KernelObjects\\Test\\Sub", &o), STATUS_OBJECT_NAME_NOT_FOUND);
    ZwClose(h2);
    ZwClose(h);
    kmrig_runtime_destroy(rt);
}

static void test_ob_zw_make_temporary_object(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    UNICODE_STRING name = us(L"\\KernelObjects\\Perm");
    OBJECT_ATTRIBUTES oa;
    HANDLE h;
    PVOID o;
    InitializeObjectAttributes(&oa, &name, OBJ_KERNEL_HANDLE | OBJ_PERMANENT, NULL, NULL);
    assert_int_equal(ZwCreateDirectoryObject(&h, DIRECTORY_ALL_ACCESS, &oa), STATUS_SUCCESS);
    ZwClose(h);
    assert_int_equal(lookup(rt, L"\\KernelObjects\\Perm", &o), STATUS_SUCCESS); /* permanent */
    UNICODE_STRING n = us(L"\\KernelObjects\\Perm");
    assert_int_equal(ObpLookupObjectName(rt, &n, NULL, 0, &o, NULL), STATUS_SUCCESS);
    assert_int_equal(ObpCreateHandle(rt, o, DIRECTORY_ALL_ACCESS, 0, &h), STATUS_SUCCESS);
    ObDereferenceObject(o);
    assert_int_equal(ZwMakeTemporaryObject(h), STATUS_SUCCESS);
    /* A handle is open: the name stays until it is closed. */
    assert_int_equal(lookup(rt, L"\\KernelObjects\\Perm", &o), STATUS_SUCCESS);
    ZwClose(h);
    assert_int_equal(lookup(rt, L"\\KernelObjects\\Perm", &o), STATUS_OBJECT_NAME_NOT_FOUND);
    assert_int_equal(ZwMakeTemporaryObject((HANDLE)(LONG_PTR)-8), STATUS_INVALID_HANDLE);
    kmrig_runtime_destroy(rt);
}

/* NT removes a temporary object's name when its last handle closes, even while pointer
 * references keep the object itself alive. */
static void test_ob_temporary_name_goes_with_last_handle(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    UNICODE_STRING name = us(L"\\KernelObjects\\Temp");
    OBJECT_ATTRIBUTES oa;
    HANDLE h, h2;
    PVOID o, ref;
    InitializeObjectAttributes(&oa, &name, OBJ_KERNEL_HANDLE, NULL, NULL);
    assert_int_equal(ZwCreateDirectoryObject(&h, DIRECTORY_ALL_ACCESS, &oa), STATUS_SUCCESS);
    assert_int_equal(ObReferenceObjectByHandle(h, 0, NULL, KernelMode, &ref, NULL), STATUS_SUCCESS);
    assert_int_equal(ObpCreateHandle(rt, ref, DIRECTORY_ALL_ACCESS, 0, &h2), STATUS_SUCCESS);
    ZwClose(h);
    /* One handle still open: the name stays. */
    assert_int_equal(lookup(rt, L"\\KernelObjects\\Temp", &o), STATUS_SUCCESS);
    ZwClose(h2);
    /* No handle, one pointer reference: the object lives, its name does not. */
    assert_int_equal(lookup(rt, L"\\KernelObjects\\Temp", &o), STATUS_OBJECT_NAME_NOT_FOUND);
    /* The name is free for a new object. */
    assert_int_equal(ZwCreateDirectoryObject(&h, DIRECTORY_ALL_ACCESS, &oa), STATUS_SUCCESS);
    ZwClose(h);
    ObDereferenceObject(ref);
    kmrig_runtime_destroy(rt);
}

static void test_ob_symbolic_link_objects(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    UNICODE_STRING link = us(L"\\KernelObjects\\ToDevice"), target = us(L"\\Device");
    PVOID l, o, dev;
    assert_int_equal(ObpCreateSymbolicLink(rt, &target, &l), STATUS_SUCCESS);
    assert_int_equal(ObpInsertObjectName(rt, l, &link, NULL, OBJ_PERMANENT, NULL), STATUS_SUCCESS);
    ObDereferenceObject(l);
    assert_int_equal(lookup(rt, L"\\KernelObjects\\ToDevice", &o), STATUS_SUCCESS);
    assert_int_equal(lookup(rt, L"\\Device", &dev), STATUS_SUCCESS);
    assert_ptr_equal(o, dev);
    OBJECT_ATTRIBUTES oa;
    HANDLE h;
    InitializeObjectAttributes(&oa, &link, OBJ_KERNEL_HANDLE, NULL, NULL);
    assert_int_equal(ZwOpenSymbolicLinkObject(&h, SYMBOLIC_LINK_QUERY, &oa), STATUS_SUCCESS);
    WCHAR buf[32];
    UNICODE_STRING out = {0, sizeof buf, buf}, small = {0, 4, buf};
    ULONG len = 0;
    assert_int_equal(ZwQuerySymbolicLinkObject(h, &small, &len), STATUS_BUFFER_TOO_SMALL);
    assert_int_equal(len, target.Length);
    assert_int_equal(ZwQuerySymbolicLinkObject(h, &out, &len), STATUS_SUCCESS);
    assert_true(RtlEqualUnicodeString(&out, &target, FALSE));
    assert_int_equal(ZwMakeTemporaryObject(h), STATUS_SUCCESS);
    ZwClose(h);
    assert_int_equal(lookup(rt, L"\\KernelObjects\\ToDevice", &o), STATUS_OBJECT_NAME_NOT_FOUND);
    /* Opening a directory as a link. */
    InitializeObjectAttributes(&oa, &target, 0, NULL, NULL);
    assert_int_equal(ZwOpenSymbolicLinkObject(&h, 0, &oa), STATUS_OBJECT_TYPE_MISMATCH);
    /* A loop of links ends. */
    UNICODE_STRING a = us(L"\\KernelObjects\\A"), b = us(L"\\KernelObjects\\B");
    assert_int_equal(ObpCreateSymbolicLink(rt, &b, &l), STATUS_SUCCESS);
    assert_int_equal(ObpInsertObjectName(rt, l, &a, NULL, OBJ_PERMANENT, NULL), STATUS_SUCCESS);
    ObDereferenceObject(l);
    assert_int_equal(ObpCreateSymbolicLink(rt, &a, &l), STATUS_SUCCESS);
    assert_int_equal(ObpInsertObjectName(rt, l, &b, NULL, OBJ_PERMANENT, NULL), STATUS_SUCCESS);
    ObDereferenceObject(l);
    assert_int_equal(lookup(rt, L"\\KernelObjects\\A", &o), STATUS_OBJECT_PATH_NOT_FOUND);
    kmrig_runtime_destroy(rt);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_ob_namespace_standard_directories),
    cmocka_unit_test(test_ob_zw_create_directory_object),
    cmocka_unit_test(test_ob_zw_make_temporary_object),
    cmocka_unit_test(test_ob_temporary_name_goes_with_last_handle),
    cmocka_unit_test(test_ob_symbolic_link_objects),
};
KMTEST_MAIN(tests)

/* Keys: ZwCreateKey/ZwOpenKey, ZwQueryKey and ZwEnumerateKey classes and buffer rules,
 * ZwDeleteKey, ZwFlushKey, volatile keys, IRQL rules. */
#include "cm_test.h"

static void test_cm_create_key_disposition_and_open(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    HANDLE h = NULL, h2 = NULL, h3 = NULL;
    ULONG disp = 0xdeadbeef;
    assert_int_equal(open_key(NULL, SVC L"\\kmdrv", &h), STATUS_OBJECT_NAME_NOT_FOUND);
    assert_int_equal(create_key(NULL, SVC L"\\kmdrv", 0, &h, &disp), STATUS_SUCCESS);
    assert_int_equal(disp, REG_CREATED_NEW_KEY);
    assert_int_equal(create_key(NULL, SVC L"\\KMDRV", 0, &h2, &disp), STATUS_SUCCESS);
    assert_int_equal(disp, REG_OPENED_EXISTING_KEY);
    /* Relative to a root key, and case-insensitive. */
    assert_int_equal(create_key(h, L"Parameters", 0, &h3, NULL), STATUS_SUCCESS);
    ZwClose(h3);
    assert_int_equal(open_key(NULL, SVC L"\\KmDrv\\PARAMETERS", &h3), STATUS_SUCCESS);
    ZwClose(h3);
    /* Only the last component is created. */
    assert_int_equal(create_key(NULL, SVC L"\\nope\\deeper", 0, &h3, NULL),
                     STATUS_OBJECT_NAME_NOT_FOUND);
    /* Not a registry path, or a rooted name with a root directory. */
    assert_int_equal(create_key(NULL, L"\\Device\\Foo", 0, &h3, NULL),
                     STATUS_OBJECT_PATH_SYNTAX_BAD);
    assert_int_equal(create_key(h, L"\\Parameters", 0, &h3, NULL), STATUS_OBJECT_PATH_SYNTAX_BAD);
    assert_int_equal(create_key(NULL, SVC L"\\x", 0x1000, &h3, NULL), STATUS_INVALID_PARAMETER);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);
    assert_int_equal(ZwClose(h2), STATUS_SUCCESS);
    kmrig_runtime_destroy(rt);
}

static void test_cm_create_key_volatile_rules(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    HANDLE v, c;
    assert_int_equal(create_key(NULL, SVC L"\\vol", REG_OPTION_VOLATILE, &v, NULL), STATUS_SUCCESS);
    /* A non-volatile child under a volatile parent is refused, as on NT. */
    assert_int_equal(create_key(v, L"stable", 0, &c, NULL), STATUS_CHILD_MUST_BE_VOLATILE);
    assert_int_equal(create_key(v, L"child", REG_OPTION_VOLATILE, &c, NULL), STATUS_SUCCESS);
    ZwClose(c);
    /* The Hardware tree is volatile at start. */
    assert_int_equal(
        create_key(NULL, L"\\Registry\\Machine\\Hardware\\DeviceMap\\kmrig", 0, &c, NULL),
        STATUS_CHILD_MUST_BE_VOLATILE);
    ZwClose(v);
    kmrig_runtime_destroy(rt);
}

static void test_cm_query_key_classes_and_buffer_rules(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    HANDLE h, c;
    UNICODE_STRING cls = us(L"DriverClass");
    UNICODE_STRING n = us(SVC L"\\qk");
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, &n, OBJ_CASE_INSENSITIVE, NULL, NULL);
    assert_int_equal(ZwCreateKey(&h, KEY_ALL_ACCESS, &oa, 0, &cls, 0, NULL), STATUS_SUCCESS);
    assert_int_equal(create_key(h, L"LongerSubkeyName", 0, &c, NULL), STATUS_SUCCESS);
    ZwClose(c);
    assert_int_equal(set_dword(h, L"Value1", 7), STATUS_SUCCESS);
    UCHAR buf[512];
    ULONG len = 0;

    kmtest_junk(buf, sizeof buf);
    assert_int_equal(ZwQueryKey(h, KeyBasicInformation, buf, sizeof buf, &len), STATUS_SUCCESS);
    PKEY_BASIC_INFORMATION b = (PVOID)buf;
    assert_int_equal(len, FIELD_OFFSET(KEY_BASIC_INFORMATION, Name) + 4);
    assert_true(wide_eq(b->Name, b->NameLength, L"qk"));
    assert_true(b->LastWriteTime.QuadPart > 0);

    /* Smaller than the fixed part: STATUS_BUFFER_TOO_SMALL, nothing written. */
    memset(buf, 0xAB, sizeof buf);
    assert_int_equal(ZwQueryKey(h, KeyBasicInformation, buf, 8, &len), STATUS_BUFFER_TOO_SMALL);
    assert_int_equal(len, FIELD_OFFSET(KEY_BASIC_INFORMATION, Name) + 4);
    assert_int_equal(buf[0], 0xAB);
    /* The fixed part fits, the name does not: STATUS_BUFFER_OVERFLOW with the fixed part. */
    assert_int_equal(ZwQueryKey(h, KeyBasicInformation, buf, 18, &len), STATUS_BUFFER_OVERFLOW);
    assert_int_equal(b->NameLength, 4);
    assert_int_equal(b->Name[0], L'q');

    assert_int_equal(ZwQueryKey(h, KeyFullInformation, buf, sizeof buf, &len), STATUS_SUCCESS);
    PKEY_FULL_INFORMATION f = (PVOID)buf;
    assert_int_equal(f->SubKeys, 1);
    assert_int_equal(f->Values, 1);
    assert_int_equal(f->MaxNameLen, 16 * sizeof(WCHAR));
    assert_int_equal(f->MaxValueNameLen, 6 * sizeof(WCHAR));
    assert_int_equal(f->MaxValueDataLen, 4);
    assert_int_equal(f->ClassOffset, FIELD_OFFSET(KEY_FULL_INFORMATION, Class));
    assert_true(wide_eq(f->Class, f->ClassLength, L"DriverClass"));

    assert_int_equal(ZwQueryKey(h, KeyNodeInformation, buf, sizeof buf, &len), STATUS_SUCCESS);
    PKEY_NODE_INFORMATION nd = (PVOID)buf;
    assert_true(wide_eq(nd->Name, nd->NameLength, L"qk"));
    assert_true(wide_eq((PWCH)(buf + nd->ClassOffset), nd->ClassLength, L"DriverClass"));

    assert_int_equal(ZwQueryKey(h, KeyNameInformation, buf, sizeof buf, &len), STATUS_SUCCESS);
    PKEY_NAME_INFORMATION nm = (PVOID)buf;
    assert_true(wide_eq(nm->Name, nm->NameLength,
                        L"\\REGISTRY\\MACHINE\\SYSTEM\\CurrentControlSet\\Services\\qk"));

    assert_int_equal(ZwQueryKey(h, KeyCachedInformation, buf, sizeof buf, &len), STATUS_SUCCESS);
    PKEY_CACHED_INFORMATION ci = (PVOID)buf;
    assert_int_equal(len, sizeof(KEY_CACHED_INFORMATION));
    assert_int_equal(ci->SubKeys, 1);
    assert_int_equal(ci->NameLength, 4);
    assert_int_equal(ZwQueryKey(h, KeyCachedInformation, buf, 8, &len), STATUS_BUFFER_TOO_SMALL);

    assert_int_equal(ZwQueryKey(h, KeyFlagsInformation + 40, buf, sizeof buf, &len),
                     STATUS_INVALID_PARAMETER);
    assert_int_equal(ZwQueryKey((HANDLE)(LONG_PTR)-100, KeyBasicInformation, buf, sizeof buf, &len),
                     STATUS_INVALID_HANDLE);
    ZwClose(h);
    kmrig_runtime_destroy(rt);
}

static void test_cm_enumerate_key_sorted_and_end(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    HANDLE h, c;
    assert_int_equal(create_key(NULL, SVC L"\\en", 0, &h, NULL), STATUS_SUCCESS);
    PCWSTR names[] = {L"zeta", L"Alpha", L"mid"};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(create_key(h, names[i], 0, &c, NULL), STATUS_SUCCESS);
        ZwClose(c);
    }
    UCHAR buf[256];
    ULONG len;
    PCWSTR sorted[] = {L"Alpha", L"mid", L"zeta"};
    for (ULONG i = 0; i < 3; i++) {
        assert_int_equal(ZwEnumerateKey(h, i, KeyBasicInformation, buf, sizeof buf, &len),
                         STATUS_SUCCESS);
        PKEY_BASIC_INFORMATION b = (PVOID)buf;
        assert_true(wide_eq(b->Name, b->NameLength, sorted[i]));
    }
    assert_int_equal(ZwEnumerateKey(h, 3, KeyBasicInformation, buf, sizeof buf, &len),
                     STATUS_NO_MORE_ENTRIES);
    assert_int_equal(ZwEnumerateKey(h, 0, KeyNameInformation, buf, sizeof buf, &len),
                     STATUS_INVALID_PARAMETER);
    assert_int_equal(ZwEnumerateKey(h, 0, KeyNodeInformation, buf, 4, &len),
                     STATUS_BUFFER_TOO_SMALL);
    assert_int_equal(len, FIELD_OFFSET(KEY_NODE_INFORMATION, Name) + 10);
    ZwClose(h);
    kmrig_runtime_destroy(rt);
}

static void test_cm_delete_key_rules_and_deleted_handles(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    HANDLE p, c, c2;
    assert_int_equal(create_key(NULL, SVC L"\\del", 0, &p, NULL), STATUS_SUCCESS);
    assert_int_equal(create_key(p, L"child", 0, &c, NULL), STATUS_SUCCESS);
    assert_int_equal(open_key(p, L"child", &c2), STATUS_SUCCESS);
    assert_int_equal(set_dword(c, L"v", 1), STATUS_SUCCESS);
    /* A key with subkeys cannot be deleted. */
    assert_int_equal(ZwDeleteKey(p), STATUS_CANNOT_DELETE);
    assert_int_equal(ZwDeleteKey(c), STATUS_SUCCESS);
    /* Every handle to the deleted key now answers STATUS_KEY_DELETED. */
    UCHAR buf[128];
    ULONG len;
    assert_int_equal(ZwQueryKey(c2, KeyBasicInformation, buf, sizeof buf, &len),
                     STATUS_KEY_DELETED);
    assert_int_equal(set_dword(c2, L"v", 2), STATUS_KEY_DELETED);
    assert_int_equal(ZwFlushKey(c2), STATUS_KEY_DELETED);
    assert_int_equal(ZwDeleteKey(c2), STATUS_KEY_DELETED);
    HANDLE under;
    assert_int_equal(create_key(c2, L"x", 0, &under, NULL), STATUS_KEY_DELETED);
    assert_int_equal(open_key(p, L"child", &under), STATUS_OBJECT_NAME_NOT_FOUND);
    assert_int_equal(ZwClose(c), STATUS_SUCCESS);
    assert_int_equal(ZwClose(c2), STATUS_SUCCESS);
    /* Now the parent goes; a new key of the same name is a new key. */
    assert_int_equal(ZwFlushKey(p), STATUS_SUCCESS);
    assert_int_equal(ZwDeleteKey(p), STATUS_SUCCESS);
    ZwClose(p);
    ULONG disp;
    assert_int_equal(create_key(NULL, SVC L"\\del", 0, &p, &disp), STATUS_SUCCESS);
    assert_int_equal(disp, REG_CREATED_NEW_KEY);
    ZwClose(p);
    /* Hive roots stay. */
    assert_int_equal(open_key(NULL, L"\\Registry\\Machine", &p), STATUS_SUCCESS);
    assert_int_equal(ZwDeleteKey(p), STATUS_CANNOT_DELETE);
    ZwClose(p);
    kmrig_runtime_destroy(rt);
}

static void test_cm_two_instances_have_separate_hives(void **state)
{
    kmrig_runtime *a = kmtest_runtime(1);
    HANDLE h;
    assert_int_equal(create_key(NULL, SVC L"\\onlyA", 0, &h, NULL), STATUS_SUCCESS);
    ZwClose(h);
    kmrig_runtime_detach(a);
    kmrig_runtime *b = kmtest_runtime(1);
    assert_int_equal(open_key(NULL, SVC L"\\onlyA", &h), STATUS_OBJECT_NAME_NOT_FOUND);
    kmrig_runtime_destroy(b);
    kmrig_runtime_attach(a);
    assert_int_equal(open_key(NULL, SVC L"\\onlyA", &h), STATUS_SUCCESS);
    ZwClose(h);
    kmrig_runtime_destroy(a);
}

static void zw_open_key_at_dispatch(void *arg)
{
    kmtest_runtime(1);
    KIRQL old;
    HANDLE h;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    open_key(NULL, SVC, &h);
}

static void zw_set_value_at_apc(void *arg)
{
    kmtest_runtime(1);
    HANDLE h;
    create_key(NULL, SVC L"\\irql", 0, &h, NULL);
    KIRQL old;
    KeRaiseIrql(APC_LEVEL, &old);
    set_dword(h, L"x", 1);
}

static void test_cm_zw_key_routines_are_passive_only(void **state)
{
    ULONG_PTR p[4];
    assert_int_equal(kmtest_bugcheck_of(zw_open_key_at_dispatch, NULL, p),
                     DRIVER_VERIFIER_DETECTED_VIOLATION);
    assert_int_equal(p[0], KMRIG_VF_IRQL_TOO_HIGH);
    assert_bugcheck(zw_set_value_at_apc, NULL, DRIVER_VERIFIER_DETECTED_VIOLATION);
}

static void test_cm_internal_key_api_free_of_handle_leaks(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    /* Many create/close cycles: the key objects and nodes are released (ASan checks). */
    for (int i = 0; i < 200; i++) {
        HANDLE h;
        assert_int_equal(create_key(NULL, SVC L"\\loop", REG_OPTION_VOLATILE, &h, NULL),
                         STATUS_SUCCESS);
        if (i % 2)
            assert_int_equal(ZwDeleteKey(h), STATUS_SUCCESS);
        ZwClose(h);
    }
    HANDLE h;
    /* The last round (odd) deleted it. */
    assert_int_equal(open_key(NULL, SVC L"\\loop", &h), STATUS_OBJECT_NAME_NOT_FOUND);
    kmrig_runtime_destroy(rt);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cm_create_key_disposition_and_open),
        cmocka_unit_test(test_cm_create_key_volatile_rules),
        cmocka_unit_test(test_cm_query_key_classes_and_buffer_rules),
        cmocka_unit_test(test_cm_enumerate_key_sorted_and_end),
        cmocka_unit_test(test_cm_delete_key_rules_and_deleted_handles),
        cmocka_unit_test(test_cm_two_instances_have_separate_hives),
        cmocka_unit_test(test_cm_zw_key_routines_are_passive_only),
        cmocka_unit_test(test_cm_internal_key_api_free_of_handle_leaks),
    };
    return kmtest_main(argc, argv, __FILE__, tests, sizeof tests / sizeof tests[0]);
}

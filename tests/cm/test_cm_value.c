/* Values: ZwSetValueKey for every type, ZwQueryValueKey and ZwEnumerateValueKey classes
 * (Align64 included) and their buffer rules, ZwDeleteValueKey. */
#include "cm_test.h"

static HANDLE fresh(PCWSTR name)
{
    HANDLE h = NULL;
    WCHAR path[200] = SVC L"\\";
    ULONG n = 0;
    while (path[n])
        n++;
    for (ULONG i = 0; name[i]; i++)
        path[n++] = name[i];
    path[n] = 0;
    assert_int_equal(create_key(NULL, path, 0, &h, NULL), STATUS_SUCCESS);
    return h;
}

static void test_cm_set_value_key_every_type_round_trips(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    HANDLE h = fresh(L"types");
    ULONGLONG q = 0x1122334455667788ull;
    UCHAR bin[5] = {1, 2, 3, 4, 5};
    WCHAR multi[] = L"one\0two\0";
    struct {
        PCWSTR Name;
        ULONG Type;
        const VOID *Data;
        ULONG Length;
    } cases[] = {
        {L"sz", REG_SZ, L"text", 10},
        {L"expand", REG_EXPAND_SZ, L"%SystemRoot%", 26},
        {L"multi", REG_MULTI_SZ, multi, sizeof multi},
        {L"qword", REG_QWORD, &q, 8},
        {L"binary", REG_BINARY, bin, 5},
        {L"none", REG_NONE, NULL, 0},
        {L"", REG_DWORD, &q, 4},
        {L"odd", 0x1234, bin, 3},
    };
    for (size_t i = 0; i < RTL_NUMBER_OF(cases); i++) {
        UNICODE_STRING n = us(cases[i].Name);
        assert_int_equal(
            ZwSetValueKey(h, &n, 0, cases[i].Type, (PVOID)cases[i].Data, cases[i].Length),
            STATUS_SUCCESS);
    }
    for (size_t i = 0; i < RTL_NUMBER_OF(cases); i++) {
        UNICODE_STRING n = us(cases[i].Name);
        UCHAR buf[128];
        ULONG len;
        kmtest_junk(buf, sizeof buf);
        assert_int_equal(ZwQueryValueKey(h, &n, KeyValuePartialInformation, buf, sizeof buf, &len),
                         STATUS_SUCCESS);
        PKEY_VALUE_PARTIAL_INFORMATION p = (PVOID)buf;
        assert_int_equal(p->Type, cases[i].Type);
        assert_int_equal(p->DataLength, cases[i].Length);
        assert_int_equal(len, FIELD_OFFSET(KEY_VALUE_PARTIAL_INFORMATION, Data) + cases[i].Length);
        if (cases[i].Length)
            assert_memory_equal(p->Data, cases[i].Data, cases[i].Length);
    }
    /* Setting again replaces type and data, in place. */
    assert_int_equal(set_dword(h, L"SZ", 9), STATUS_SUCCESS);
    UCHAR buf[128];
    ULONG len;
    assert_int_equal(ZwEnumerateValueKey(h, 0, KeyValueBasicInformation, buf, sizeof buf, &len),
                     STATUS_SUCCESS);
    PKEY_VALUE_BASIC_INFORMATION b = (PVOID)buf;
    assert_int_equal(b->Type, REG_DWORD);
    assert_true(wide_eq(b->Name, b->NameLength, L"sz"));
    assert_int_equal(ZwEnumerateValueKey(h, RTL_NUMBER_OF(cases), KeyValueBasicInformation, buf,
                                         sizeof buf, &len),
                     STATUS_NO_MORE_ENTRIES);
    ZwClose(h);
    kmrig_runtime_destroy(rt);
}

static void test_cm_query_value_key_buffer_rules(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    HANDLE h = fresh(L"bufs");
    assert_int_equal(set_sz(h, L"Name", REG_SZ, L"0123456789"), STATUS_SUCCESS);
    UNICODE_STRING n = us(L"name");
    UCHAR buf[256];
    ULONG len;
    ULONG need = FIELD_OFFSET(KEY_VALUE_PARTIAL_INFORMATION, Data) + 22;
    memset(buf, 0xCD, sizeof buf);
    assert_int_equal(ZwQueryValueKey(h, &n, KeyValuePartialInformation, buf, 4, &len),
                     STATUS_BUFFER_TOO_SMALL);
    assert_int_equal(len, need);
    assert_int_equal(buf[0], 0xCD);
    /* Header fits, data not: overflow with the header, no partial data. */
    assert_int_equal(ZwQueryValueKey(h, &n, KeyValuePartialInformation, buf, 16, &len),
                     STATUS_BUFFER_OVERFLOW);
    PKEY_VALUE_PARTIAL_INFORMATION p = (PVOID)buf;
    assert_int_equal(p->DataLength, 22);
    assert_int_equal(p->Type, REG_SZ);
    assert_int_equal(buf[12], 0xCD);

    /* Full: data after the name at a ULONG-aligned offset. */
    assert_int_equal(ZwQueryValueKey(h, &n, KeyValueFullInformation, buf, sizeof buf, &len),
                     STATUS_SUCCESS);
    PKEY_VALUE_FULL_INFORMATION f = (PVOID)buf;
    assert_int_equal(f->DataOffset, 28);
    assert_int_equal(len, 28 + 22);
    assert_true(wide_eq(f->Name, f->NameLength, L"Name"));
    assert_true(wide_eq((PWCH)(buf + f->DataOffset), f->DataLength - 2, L"0123456789"));

    /* Align64: the data starts 8-byte aligned in memory. */
    UCHAR *b8 = (UCHAR *)ALIGN_UP_POINTER_BY(buf, 8);
    assert_int_equal(ZwQueryValueKey(h, &n, KeyValueFullInformationAlign64, b8 + 4, 200, &len),
                     STATUS_SUCCESS);
    f = (PVOID)(b8 + 4);
    assert_int_equal(((ULONG_PTR)(b8 + 4) + f->DataOffset) % 8, 0);
    assert_int_equal(ZwQueryValueKey(h, &n, KeyValuePartialInformationAlign64, b8, 200, &len),
                     STATUS_SUCCESS);
    PKEY_VALUE_PARTIAL_INFORMATION_ALIGN64 a = (PVOID)b8;
    assert_int_equal(a->Type, REG_SZ);
    assert_int_equal(a->DataLength, 22);
    assert_int_equal(len, 8 + 22);
    assert_true(wide_eq((PWCH)a->Data, 20, L"0123456789"));

    assert_int_equal(ZwQueryValueKey(h, &n, 99, buf, sizeof buf, &len), STATUS_INVALID_PARAMETER);
    UNICODE_STRING missing = us(L"missing");
    assert_int_equal(ZwQueryValueKey(h, &missing, KeyValueBasicInformation, buf, sizeof buf, &len),
                     STATUS_OBJECT_NAME_NOT_FOUND);
    ZwClose(h);
    kmrig_runtime_destroy(rt);
}

static void test_cm_delete_value_key(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    HANDLE h = fresh(L"delv");
    assert_int_equal(set_dword(h, L"a", 1), STATUS_SUCCESS);
    assert_int_equal(set_dword(h, L"b", 2), STATUS_SUCCESS);
    UNICODE_STRING a = us(L"A");
    assert_int_equal(ZwDeleteValueKey(h, &a), STATUS_SUCCESS);
    assert_int_equal(ZwDeleteValueKey(h, &a), STATUS_OBJECT_NAME_NOT_FOUND);
    UCHAR buf[64];
    ULONG len;
    assert_int_equal(ZwEnumerateValueKey(h, 0, KeyValueBasicInformation, buf, sizeof buf, &len),
                     STATUS_SUCCESS);
    assert_true(wide_eq(((PKEY_VALUE_BASIC_INFORMATION)buf)->Name,
                        ((PKEY_VALUE_BASIC_INFORMATION)buf)->NameLength, L"b"));
    ZwClose(h);
    kmrig_runtime_destroy(rt);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cm_set_value_key_every_type_round_trips),
        cmocka_unit_test(test_cm_query_value_key_buffer_rules),
        cmocka_unit_test(test_cm_delete_value_key),
    };
    return kmtest_main(argc, argv, __FILE__, tests, sizeof tests / sizeof tests[0]);
}

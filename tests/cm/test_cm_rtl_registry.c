/* RtlQueryRegistryValues with its flags, defaults and query routines; RtlCheckRegistryKey,
 * RtlCreateRegistryKey, RtlWriteRegistryValue, RtlDeleteRegistryValue. */
#include "cm_test.h"

typedef struct {
    int Calls;
    WCHAR Names[8][32];
    ULONG Types[8];
    WCHAR Strings[8][64];
    ULONG Lengths[8];
} SEEN;

static NTSTATUS NTAPI record(PWSTR ValueName, ULONG ValueType, PVOID ValueData, ULONG ValueLength,
                             PVOID Context, PVOID EntryContext)
{
    SEEN *s = Context;
    int i = s->Calls++;
    if (i >= 8)
        return STATUS_SUCCESS;
    if (ValueName)
        for (int k = 0; ValueName[k] && k < 31; k++)
            s->Names[i][k] = ValueName[k];
    s->Types[i] = ValueType;
    s->Lengths[i] = ValueLength;
    if ((ValueType == REG_SZ || ValueType == REG_EXPAND_SZ) && ValueData)
        memcpy(s->Strings[i], ValueData, min(ValueLength, sizeof s->Strings[i] - 2));
    return STATUS_SUCCESS;
}

static NTSTATUS NTAPI fail_routine(PWSTR ValueName, ULONG ValueType, PVOID ValueData,
                                   ULONG ValueLength, PVOID Context, PVOID EntryContext)
{
    return STATUS_DEVICE_CONFIGURATION_ERROR;
}

static int wcs_eq(PCWSTR a, PCWSTR b)
{
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}

/* A driver's Parameters key: what a real driver reads at DriverEntry. */
static void make_params(void)
{
    assert_int_equal(RtlCreateRegistryKey(RTL_REGISTRY_SERVICES, L"kmdrv"), STATUS_SUCCESS);
    assert_int_equal(RtlCreateRegistryKey(RTL_REGISTRY_SERVICES, L"kmdrv\\Parameters"),
                     STATUS_SUCCESS);
    ULONG d = 42;
    ULONGLONG q = 0x0102030405060708ull;
    WCHAR multi[] = L"alpha\0beta\0gamma\0";
    assert_int_equal(RtlWriteRegistryValue(RTL_REGISTRY_SERVICES, L"kmdrv\\Parameters", L"Speed",
                                           REG_DWORD, &d, sizeof d),
                     STATUS_SUCCESS);
    assert_int_equal(RtlWriteRegistryValue(RTL_REGISTRY_SERVICES, L"kmdrv\\Parameters", L"Big",
                                           REG_QWORD, &q, sizeof q),
                     STATUS_SUCCESS);
    assert_int_equal(RtlWriteRegistryValue(RTL_REGISTRY_SERVICES, L"kmdrv\\Parameters", L"Name",
                                           REG_SZ, L"uart0", 12),
                     STATUS_SUCCESS);
    assert_int_equal(RtlWriteRegistryValue(RTL_REGISTRY_SERVICES, L"kmdrv\\Parameters", L"Path",
                                           REG_EXPAND_SZ, L"%SystemRoot%\\x", 30),
                     STATUS_SUCCESS);
    assert_int_equal(RtlWriteRegistryValue(RTL_REGISTRY_SERVICES, L"kmdrv\\Parameters", L"List",
                                           REG_MULTI_SZ, multi, sizeof multi),
                     STATUS_SUCCESS);
}

static void test_rtl_check_create_write_delete_registry(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    assert_int_equal(RtlCheckRegistryKey(RTL_REGISTRY_SERVICES, L"kmdrv"),
                     STATUS_OBJECT_NAME_NOT_FOUND);
    make_params();
    assert_int_equal(RtlCheckRegistryKey(RTL_REGISTRY_SERVICES, L"kmdrv\\Parameters"),
                     STATUS_SUCCESS);
    assert_int_equal(RtlCheckRegistryKey(RTL_REGISTRY_ABSOLUTE, SVC L"\\kmdrv"), STATUS_SUCCESS);
    assert_int_equal(RtlCheckRegistryKey(RTL_REGISTRY_CONTROL, NULL), STATUS_SUCCESS);
    assert_int_equal(RtlCheckRegistryKey(RTL_REGISTRY_WINDOWS_NT, L""), STATUS_SUCCESS);
    assert_int_equal(RtlCheckRegistryKey(RTL_REGISTRY_DEVICEMAP, L""), STATUS_SUCCESS);
    assert_int_equal(RtlCheckRegistryKey(RTL_REGISTRY_USER, L""), STATUS_SUCCESS);
    assert_int_equal(RtlCheckRegistryKey(RTL_REGISTRY_MAXIMUM, L""), STATUS_INVALID_PARAMETER);
    /* RtlCreateRegistryKey adds one key: its parent must exist. */
    assert_int_equal(RtlCreateRegistryKey(RTL_REGISTRY_SERVICES, L"a\\b"),
                     STATUS_OBJECT_NAME_NOT_FOUND);
    assert_int_equal(RtlDeleteRegistryValue(RTL_REGISTRY_SERVICES, L"kmdrv\\Parameters", L"Speed"),
                     STATUS_SUCCESS);
    assert_int_equal(RtlDeleteRegistryValue(RTL_REGISTRY_SERVICES, L"kmdrv\\Parameters", L"Speed"),
                     STATUS_OBJECT_NAME_NOT_FOUND);
    /* RTL_REGISTRY_HANDLE: Path is an open key. */
    HANDLE h;
    assert_int_equal(open_key(NULL, SVC L"\\kmdrv\\Parameters", &h), STATUS_SUCCESS);
    ULONG v = 5;
    assert_int_equal(RtlWriteRegistryValue(RTL_REGISTRY_HANDLE, (PCWSTR)h, L"ViaHandle", REG_DWORD,
                                           &v, sizeof v),
                     STATUS_SUCCESS);
    assert_int_equal(RtlCheckRegistryKey(RTL_REGISTRY_HANDLE, (PWSTR)h), STATUS_SUCCESS);
    ZwClose(h);
    kmrig_runtime_destroy(rt);
}

static void test_rtl_query_registry_values_direct(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    make_params();
    ULONG speed = 0, missing = 7, def = 0;
    ULONGLONG bigRaw = 0;
    struct {
        ULONG Length, Type;
        ULONGLONG Data;
    } bigTagged = {sizeof bigTagged, 0, 0};
    LONG bigTooSmall = -4;
    UNICODE_STRING name = {0, 0, NULL}, path;
    WCHAR pathBuf[64];
    RtlInitEmptyUnicodeString(&path, pathBuf, sizeof pathBuf);
    ULONG dflt = 99;
    memcpy(&bigRaw, &(LONG){-(LONG)sizeof(ULONGLONG)}, sizeof(LONG));
    RTL_QUERY_REGISTRY_TABLE t[] = {
        {NULL, RTL_QUERY_REGISTRY_DIRECT, L"Speed", &speed, REG_NONE, NULL, 0},
        {NULL, RTL_QUERY_REGISTRY_DIRECT, L"Missing", &missing, REG_NONE, NULL, 0},
        {NULL, RTL_QUERY_REGISTRY_DIRECT, L"Default", &def, REG_DWORD, &dflt, sizeof dflt},
        {NULL, RTL_QUERY_REGISTRY_DIRECT, L"Big", &bigRaw, REG_NONE, NULL, 0},
        {NULL, RTL_QUERY_REGISTRY_DIRECT, L"Big", &bigTagged, REG_NONE, NULL, 0},
        {NULL, RTL_QUERY_REGISTRY_DIRECT, L"Name", &name, REG_NONE, NULL, 0},
        {NULL, RTL_QUERY_REGISTRY_DIRECT, L"Path", &path, REG_NONE, NULL, 0},
        {NULL, 0, NULL, NULL, 0, NULL, 0},
    };
    assert_int_equal(
        RtlQueryRegistryValues(RTL_REGISTRY_SERVICES, L"kmdrv\\Parameters", t, NULL, NULL),
        STATUS_SUCCESS);
    assert_int_equal(speed, 42);
    assert_int_equal(missing, 7); /* untouched: no value, no default */
    assert_int_equal(def, 99);
    /* Negative leading LONG: only the data. Positive: length, type, data. */
    assert_int_equal(bigRaw, 0x0102030405060708ull);
    assert_int_equal(bigTagged.Length, 8);
    assert_int_equal(bigTagged.Type, REG_QWORD);
    assert_int_equal(bigTagged.Data, 0x0102030405060708ull);
    /* A NULL Buffer is allocated; REG_EXPAND_SZ is expanded. */
    assert_non_null(name.Buffer);
    assert_true(wcs_eq(name.Buffer, L"uart0"));
    assert_int_equal(name.Length, 10);
    RtlFreeUnicodeString(&name);
    assert_true(wcs_eq(path.Buffer, L"C:\\Windows\\x"));

    /* Buffers too small. */
    RTL_QUERY_REGISTRY_TABLE small[] = {
        {NULL, RTL_QUERY_REGISTRY_DIRECT, L"Big", &bigTooSmall, REG_NONE, NULL, 0},
        {NULL, 0, NULL, NULL, 0, NULL, 0},
    };
    assert_int_equal(
        RtlQueryRegistryValues(RTL_REGISTRY_SERVICES, L"kmdrv\\Parameters", small, NULL, NULL),
        STATUS_BUFFER_TOO_SMALL);
    WCHAR tiny[3];
    UNICODE_STRING ts;
    RtlInitEmptyUnicodeString(&ts, tiny, sizeof tiny);
    small[0].Name = L"Name";
    small[0].EntryContext = &ts;
    assert_int_equal(
        RtlQueryRegistryValues(RTL_REGISTRY_SERVICES, L"kmdrv\\Parameters", small, NULL, NULL),
        STATUS_BUFFER_TOO_SMALL);

    /* NOEXPAND keeps %SystemRoot%. */
    UNICODE_STRING raw = {0, 0, NULL};
    RTL_QUERY_REGISTRY_TABLE ne[] = {
        {NULL, RTL_QUERY_REGISTRY_DIRECT | RTL_QUERY_REGISTRY_NOEXPAND, L"Path", &raw, REG_NONE,
         NULL, 0},
        {NULL, 0, NULL, NULL, 0, NULL, 0},
    };
    assert_int_equal(
        RtlQueryRegistryValues(RTL_REGISTRY_SERVICES, L"kmdrv\\Parameters", ne, NULL, NULL),
        STATUS_SUCCESS);
    assert_true(wcs_eq(raw.Buffer, L"%SystemRoot%\\x"));
    RtlFreeUnicodeString(&raw);
    kmrig_runtime_destroy(rt);
}

static void test_rtl_query_registry_values_typecheck_and_required(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    make_params();
    ULONG v = 0;
    RTL_QUERY_REGISTRY_TABLE t[] = {
        {NULL, RTL_QUERY_REGISTRY_DIRECT | RTL_QUERY_REGISTRY_TYPECHECK, L"Name", &v,
         (REG_DWORD << RTL_QUERY_REGISTRY_TYPECHECK_SHIFT) | REG_NONE, NULL, 0},
        {NULL, 0, NULL, NULL, 0, NULL, 0},
    };
    assert_int_equal(
        RtlQueryRegistryValues(RTL_REGISTRY_SERVICES, L"kmdrv\\Parameters", t, NULL, NULL),
        STATUS_OBJECT_TYPE_MISMATCH);
    t[0].Name = L"Speed";
    assert_int_equal(
        RtlQueryRegistryValues(RTL_REGISTRY_SERVICES, L"kmdrv\\Parameters", t, NULL, NULL),
        STATUS_SUCCESS);
    assert_int_equal(v, 42);
    RTL_QUERY_REGISTRY_TABLE req[] = {
        {NULL, RTL_QUERY_REGISTRY_DIRECT | RTL_QUERY_REGISTRY_REQUIRED, L"Nope", &v, REG_DWORD, &v,
         4},
        {NULL, 0, NULL, NULL, 0, NULL, 0},
    };
    assert_int_equal(
        RtlQueryRegistryValues(RTL_REGISTRY_SERVICES, L"kmdrv\\Parameters", req, NULL, NULL),
        STATUS_OBJECT_NAME_NOT_FOUND);
    /* A missing key; RTL_REGISTRY_OPTIONAL makes it fine. */
    assert_int_equal(RtlQueryRegistryValues(RTL_REGISTRY_SERVICES, L"nodriver", t, NULL, NULL),
                     STATUS_OBJECT_NAME_NOT_FOUND);
    assert_int_equal(RtlQueryRegistryValues(RTL_REGISTRY_SERVICES | RTL_REGISTRY_OPTIONAL,
                                            L"nodriver", t, NULL, NULL),
                     STATUS_SUCCESS);
    /* DIRECT needs a name. */
    RTL_QUERY_REGISTRY_TABLE bad[] = {
        {NULL, RTL_QUERY_REGISTRY_DIRECT, NULL, &v, REG_NONE, NULL, 0},
        {NULL, 0, NULL, NULL, 0, NULL, 0},
    };
    assert_int_equal(
        RtlQueryRegistryValues(RTL_REGISTRY_SERVICES, L"kmdrv\\Parameters", bad, NULL, NULL),
        STATUS_INVALID_PARAMETER);
    kmrig_runtime_destroy(rt);
}

static void test_rtl_query_registry_values_routines(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    make_params();
    SEEN s;
    memset(&s, 0, sizeof s);
    /* REG_MULTI_SZ: one call per string, as REG_SZ. */
    RTL_QUERY_REGISTRY_TABLE t[] = {
        {record, 0, L"List", NULL, REG_NONE, NULL, 0},
        {NULL, 0, NULL, NULL, 0, NULL, 0},
    };
    assert_int_equal(
        RtlQueryRegistryValues(RTL_REGISTRY_SERVICES, L"kmdrv\\Parameters", t, &s, NULL),
        STATUS_SUCCESS);
    assert_int_equal(s.Calls, 3);
    assert_int_equal(s.Types[1], REG_SZ);
    assert_true(wcs_eq(s.Strings[1], L"beta"));
    assert_int_equal(s.Lengths[2], 12);
    /* NOEXPAND: one call with the whole REG_MULTI_SZ. */
    memset(&s, 0, sizeof s);
    t[0].Flags = RTL_QUERY_REGISTRY_NOEXPAND;
    assert_int_equal(
        RtlQueryRegistryValues(RTL_REGISTRY_SERVICES, L"kmdrv\\Parameters", t, &s, NULL),
        STATUS_SUCCESS);
    assert_int_equal(s.Calls, 1);
    assert_int_equal(s.Types[0], REG_MULTI_SZ);
    /* REG_EXPAND_SZ through a routine, with the caller's environment. */
    memset(&s, 0, sizeof s);
    WCHAR env[] = L"SystemRoot=D:\\Win\0\0";
    t[0].Flags = 0;
    t[0].Name = L"Path";
    assert_int_equal(
        RtlQueryRegistryValues(RTL_REGISTRY_SERVICES, L"kmdrv\\Parameters", t, &s, env),
        STATUS_SUCCESS);
    assert_int_equal(s.Types[0], REG_SZ);
    assert_true(wcs_eq(s.Strings[0], L"D:\\Win\\x"));
    /* No name: every value of the key, in order. */
    memset(&s, 0, sizeof s);
    t[0].Name = NULL;
    assert_int_equal(
        RtlQueryRegistryValues(RTL_REGISTRY_SERVICES, L"kmdrv\\Parameters", t, &s, NULL),
        STATUS_SUCCESS);
    assert_int_equal(s.Calls, 1 + 1 + 1 + 1 + 3);
    assert_true(wcs_eq(s.Names[0], L"Speed"));
    /* NOVALUE: one call, no value. */
    memset(&s, 0, sizeof s);
    t[0].Flags = RTL_QUERY_REGISTRY_NOVALUE;
    assert_int_equal(
        RtlQueryRegistryValues(RTL_REGISTRY_SERVICES, L"kmdrv\\Parameters", t, &s, NULL),
        STATUS_SUCCESS);
    assert_int_equal(s.Calls, 1);
    assert_int_equal(s.Types[0], REG_NONE);
    /* A default string with DefaultLength 0 is measured. */
    memset(&s, 0, sizeof s);
    t[0].Flags = 0;
    t[0].Name = L"NotThere";
    t[0].DefaultType = REG_SZ;
    t[0].DefaultData = L"fallback";
    t[0].DefaultLength = 0;
    assert_int_equal(
        RtlQueryRegistryValues(RTL_REGISTRY_SERVICES, L"kmdrv\\Parameters", t, &s, NULL),
        STATUS_SUCCESS);
    assert_int_equal(s.Lengths[0], 18);
    assert_true(wcs_eq(s.Strings[0], L"fallback"));
    /* A routine's error ends the query with it. */
    t[0].QueryRoutine = fail_routine;
    t[0].Name = L"Speed";
    assert_int_equal(
        RtlQueryRegistryValues(RTL_REGISTRY_SERVICES, L"kmdrv\\Parameters", t, &s, NULL),
        STATUS_DEVICE_CONFIGURATION_ERROR);
    kmrig_runtime_destroy(rt);
}

static void test_rtl_query_registry_values_subkey_topkey_delete(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    make_params();
    ULONG top = 1;
    assert_int_equal(
        RtlWriteRegistryValue(RTL_REGISTRY_SERVICES, L"kmdrv", L"Start", REG_DWORD, &(ULONG){3}, 4),
        STATUS_SUCCESS);
    ULONG speed = 0, start = 0;
    SEEN s;
    memset(&s, 0, sizeof s);
    RTL_QUERY_REGISTRY_TABLE t[] = {
        {record, RTL_QUERY_REGISTRY_SUBKEY, L"Parameters", NULL, REG_NONE, NULL, 0},
        {NULL, RTL_QUERY_REGISTRY_DIRECT, L"Speed", &speed, REG_NONE, NULL, 0},
        {NULL, RTL_QUERY_REGISTRY_DIRECT | RTL_QUERY_REGISTRY_TOPKEY, L"Start", &start, REG_NONE,
         NULL, 0},
        {NULL, RTL_QUERY_REGISTRY_DIRECT | RTL_QUERY_REGISTRY_DELETE, L"Start", &top, REG_NONE,
         NULL, 0},
        {NULL, 0, NULL, NULL, 0, NULL, 0},
    };
    assert_int_equal(RtlQueryRegistryValues(RTL_REGISTRY_SERVICES, L"kmdrv", t, &s, NULL),
                     STATUS_SUCCESS);
    assert_int_equal(s.Calls, 7); /* the SUBKEY entry's routine saw every value there */
    assert_int_equal(speed, 42);
    assert_int_equal(start, 3);
    assert_int_equal(top, 3);
    /* DELETE removed the value after reading it. */
    assert_int_equal(RtlDeleteRegistryValue(RTL_REGISTRY_SERVICES, L"kmdrv", L"Start"),
                     STATUS_OBJECT_NAME_NOT_FOUND);
    /* A missing subkey fails the query. */
    t[0].Name = L"NoSuchKey";
    assert_int_equal(RtlQueryRegistryValues(RTL_REGISTRY_SERVICES, L"kmdrv", t, &s, NULL),
                     STATUS_OBJECT_NAME_NOT_FOUND);
    kmrig_runtime_destroy(rt);
}

static void query_at_dispatch(void *arg)
{
    kmtest_runtime(1);
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    RtlCheckRegistryKey(RTL_REGISTRY_SERVICES, L"x");
}

static void test_rtl_registry_routines_are_passive_only(void **state)
{
    assert_bugcheck(query_at_dispatch, NULL, DRIVER_VERIFIER_DETECTED_VIOLATION);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rtl_check_create_write_delete_registry),
        cmocka_unit_test(test_rtl_query_registry_values_direct),
        cmocka_unit_test(test_rtl_query_registry_values_typecheck_and_required),
        cmocka_unit_test(test_rtl_query_registry_values_routines),
        cmocka_unit_test(test_rtl_query_registry_values_subkey_topkey_delete),
        cmocka_unit_test(test_rtl_registry_routines_are_passive_only),
    };
    return kmtest_main(argc, argv, __FILE__, tests, sizeof tests / sizeof tests[0]);
}

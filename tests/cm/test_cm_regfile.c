/* .reg files: kmrig_registry_load/_load_buffer/_save — regedit's format both ways, round trips,
 * deletions, errors that name file and line and change nothing, atomic saves. */
#include "cm_test.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

typedef struct {
    char Last[512];
    int Errors;
} LOG;

static void capture(void *ctx, enum kmrig_log_level level, const char *msg)
{
    LOG *l = ctx;
    if (level == KMRIG_LOG_ERROR) {
        l->Errors++;
        snprintf(l->Last, sizeof l->Last, "%s", msg);
    }
}

static kmrig_runtime *runtime_with_log(LOG *log)
{
    kmrig_config cfg;
    kmrig_config_init(&cfg);
    cfg.processors = 1;
    cfg.log_fn = capture;
    cfg.log_ctx = log;
    memset(log, 0, sizeof *log);
    return kmtest_runtime_cfg(&cfg);
}

static ULONG query_dword(PCWSTR path, PCWSTR name, NTSTATUS *st)
{
    ULONG v = 0xFFFFFFFF;
    RTL_QUERY_REGISTRY_TABLE t[] = {
        {NULL, RTL_QUERY_REGISTRY_DIRECT | RTL_QUERY_REGISTRY_REQUIRED, (PWSTR)name, &v, REG_NONE,
         NULL, 0},
        {NULL, 0, NULL, NULL, 0, NULL, 0},
    };
    *st = RtlQueryRegistryValues(RTL_REGISTRY_ABSOLUTE, path, t, NULL, NULL);
    return v;
}

static int read_value(PCWSTR path, PCWSTR name, ULONG *type, UCHAR *data, ULONG *length)
{
    HANDLE h;
    if (!NT_SUCCESS(open_key(NULL, path, &h)))
        return 0;
    UCHAR buf[512];
    ULONG len;
    UNICODE_STRING n = us(name);
    NTSTATUS st = ZwQueryValueKey(h, &n, KeyValuePartialInformation, buf, sizeof buf, &len);
    ZwClose(h);
    if (!NT_SUCCESS(st))
        return 0;
    PKEY_VALUE_PARTIAL_INFORMATION p = (PVOID)buf;
    *type = p->Type;
    *length = p->DataLength;
    memcpy(data, p->Data, p->DataLength);
    return 1;
}

static const char sample[] =
    "Windows Registry Editor Version 5.00\r\n"
    "\r\n"
    "; a driver's service key\r\n"
    "[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\kmuart]\r\n"
    "\"Start\"=dword:00000003\r\n"
    "\"Type\"=dword:1\r\n"
    "@=\"default \\\"quoted\\\" C:\\\\path\"\r\n"
    "\r\n"
    "[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\kmuart\\Parameters]\r\n"
    "\"BaudRate\"=dword:0001c200\r\n"
    "\"Blob\"=hex:01,02,03,ff\r\n"
    "\"Expand\"=hex(2):25,00,53,00,79,00,73,00,74,00,65,00,6d,00,52,00,6f,00,6f,00,\\\r\n"
    "  74,00,25,00,00,00\r\n"
    "\"Multi\"=hex(7):61,00,00,00,62,00,00,00,00,00\r\n"
    "\"Q\"=hex(b):08,07,06,05,04,03,02,01\r\n"
    "\"None\"=hex(0):\r\n"
    "\"Gone\"=dword:5\r\n"
    "\"Gone\"=-\r\n";

#define KMUART L"\\Registry\\Machine\\System\\CurrentControlSet\\Services\\kmuart"

static void test_cm_registry_load_buffer_every_value_form(void **state)
{
    LOG log;
    kmrig_runtime *rt = runtime_with_log(&log);
    assert_int_equal(kmrig_registry_load_buffer(rt, sample, sizeof sample - 1, "sample.reg", NULL),
                     0);
    NTSTATUS st;
    assert_int_equal(query_dword(KMUART, L"Start", &st), 3);
    assert_int_equal(st, STATUS_SUCCESS);
    assert_int_equal(query_dword(KMUART, L"Type", &st), 1);
    assert_int_equal(query_dword(KMUART L"\\Parameters", L"BaudRate", &st), 115200);
    ULONG type, len;
    UCHAR data[256];
    assert_true(read_value(KMUART, L"", &type, data, &len));
    assert_int_equal(type, REG_SZ);
    assert_true(wide_eq((PWCH)data, len - 2, L"default \"quoted\" C:\\path"));
    assert_true(read_value(KMUART L"\\Parameters", L"Blob", &type, data, &len));
    assert_int_equal(type, REG_BINARY);
    assert_int_equal(len, 4);
    assert_int_equal(data[3], 0xff);
    assert_true(read_value(KMUART L"\\Parameters", L"Expand", &type, data, &len));
    assert_int_equal(type, REG_EXPAND_SZ);
    assert_true(wide_eq((PWCH)data, len - 2, L"%SystemRoot%"));
    assert_true(read_value(KMUART L"\\Parameters", L"Multi", &type, data, &len));
    assert_int_equal(type, REG_MULTI_SZ);
    assert_int_equal(len, 10);
    assert_true(read_value(KMUART L"\\Parameters", L"Q", &type, data, &len));
    assert_int_equal(type, REG_QWORD);
    assert_int_equal(data[0], 8);
    assert_true(read_value(KMUART L"\\Parameters", L"None", &type, data, &len));
    assert_int_equal(type, REG_NONE);
    assert_int_equal(len, 0);
    assert_false(read_value(KMUART L"\\Parameters", L"Gone", &type, data, &len));
    assert_int_equal(log.Errors, 0);
    kmrig_runtime_destroy(rt);
}

/* The file in regedit's own encoding: UTF-16LE with a BOM. */
static size_t to_utf16(const char *s, unsigned char *out)
{
    size_t n = 0;
    out[n++] = 0xFF;
    out[n++] = 0xFE;
    for (; *s; s++) {
        out[n++] = (unsigned char)*s;
        out[n++] = 0;
    }
    return n;
}

static void test_cm_registry_load_utf16_and_delete_key(void **state)
{
    LOG log;
    kmrig_runtime *rt = runtime_with_log(&log);
    static unsigned char buf[4096];
    size_t n = to_utf16(sample, buf);
    assert_int_equal(kmrig_registry_load_buffer(rt, buf, n, "utf16.reg", NULL), 0);
    HANDLE open;
    assert_int_equal(open_key(NULL, KMUART L"\\Parameters", &open), STATUS_SUCCESS);
    const char del[] = "Windows Registry Editor Version 5.00\n\n"
                       "[-HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\kmuart]\n"
                       "\"ignored\"=dword:1\n";
    assert_int_equal(kmrig_registry_load_buffer(rt, del, sizeof del - 1, "del.reg", NULL), 0);
    assert_int_equal(RtlCheckRegistryKey(RTL_REGISTRY_ABSOLUTE, KMUART),
                     STATUS_OBJECT_NAME_NOT_FOUND);
    /* A handle into the deleted subtree sees STATUS_KEY_DELETED. */
    assert_int_equal(set_dword(open, L"x", 1), STATUS_KEY_DELETED);
    ZwClose(open);
    kmrig_runtime_destroy(rt);
}

static void test_cm_registry_load_errors_name_line_and_change_nothing(void **state)
{
    LOG log;
    kmrig_runtime *rt = runtime_with_log(&log);
    static const struct {
        const char *Text;
        const char *Expect;
    } bad[] = {
        {"REGEDIT5\n", "bad.reg:1: not a .reg file"},
        {"Windows Registry Editor Version 5.00\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\k]\n"
         "\"a\"=dword:1\n\"b\"=hex:01,zz\n",
         "bad.reg:4: bad hex byte 'zz'"},
        {"Windows Registry Editor Version 5.00\n\n[HKEY_NOPE\\x]\n", "bad.reg:3: unknown root key"},
        {"Windows Registry Editor Version 5.00\n\"a\"=dword:1\n",
         "bad.reg:2: value before any [key] section"},
        {"Windows Registry Editor Version 5.00\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\k]\n"
         "\"a\"=dword:123456789\n",
         "bad.reg:3: bad dword"},
        {"Windows Registry Editor Version 5.00\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\k]\n\"a=\"x\n",
         "bad.reg:3: expected '='"},
        {"Windows Registry Editor Version 5.00\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\k\n",
         "bad.reg:2: missing ']'"},
        {"Windows Registry Editor Version 5.00\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\k]\n"
         "\"a\"=str:x\n",
         "bad.reg:3: unknown value type"},
        {"Windows Registry Editor Version 5.00\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\a\\\\b]\n",
         "bad.reg:2: empty key name"},
        {"Windows Registry Editor Version 5.00\n[-HKEY_LOCAL_MACHINE]\n",
         "bad.reg:2: a root key cannot be deleted"},
        {"Windows Registry Editor Version 5.00\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\k]\n\"a\n",
         "bad.reg:3: missing closing quote"},
        {"", "bad.reg:1: empty file"},
        {"\xff\xfe\x41", "bad.reg: UTF-16 file with an odd number of bytes"},
        {"Windows Registry Editor Version 5.00\n\xc3\x28\n", "bad.reg:2: invalid UTF-8"},
    };
    for (size_t i = 0; i < RTL_NUMBER_OF(bad); i++) {
        log.Errors = 0;
        assert_int_equal(
            kmrig_registry_load_buffer(rt, bad[i].Text, strlen(bad[i].Text), "bad.reg", NULL),
            -EINVAL);
        assert_int_equal(log.Errors, 1);
        if (strncmp(log.Last, bad[i].Expect, strlen(bad[i].Expect)) != 0)
            fail_msg("case %zu: got '%s', want '%s...'", i, log.Last, bad[i].Expect);
    }
    /* The first case with an error late in the file created nothing. */
    assert_int_equal(
        RtlCheckRegistryKey(RTL_REGISTRY_ABSOLUTE, L"\\Registry\\Machine\\Software\\k"),
        STATUS_OBJECT_NAME_NOT_FOUND);
    kmrig_runtime_destroy(rt);
}

static void test_cm_registry_load_root_confines_the_file(void **state)
{
    LOG log;
    kmrig_runtime *rt = runtime_with_log(&log);
    const char *root = "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\kmuart";
    assert_int_equal(kmrig_registry_load_buffer(rt, sample, sizeof sample - 1, "s.reg", root), 0);
    const char other[] = "Windows Registry Editor Version 5.00\n"
                         "[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\kmuart2]\n";
    assert_int_equal(kmrig_registry_load_buffer(rt, other, sizeof other - 1, "o.reg", root),
                     -EPERM);
    assert_non_null(strstr(log.Last, "outside the root"));
    assert_int_equal(
        kmrig_registry_load_buffer(rt, other, sizeof other - 1, "o.reg",
                                   "\\Registry\\Machine\\System\\CurrentControlSet\\Services"),
        0);
    kmrig_runtime_destroy(rt);
}

static char *tmpdir(void)
{
    static char d[] = "/tmp/kmrig-cm-XXXXXX";
    return mkdtemp(d);
}

static void test_cm_registry_save_round_trip(void **state)
{
    LOG log;
    kmrig_runtime *rt = runtime_with_log(&log);
    char *dir = tmpdir();
    assert_non_null(dir);
    char path[256], path2[256];
    snprintf(path, sizeof path, "%s/hive.reg", dir);
    snprintf(path2, sizeof path2, "%s/hive2.reg", dir);
    assert_int_equal(kmrig_registry_load_buffer(rt, sample, sizeof sample - 1, "s.reg", NULL), 0);
    /* Modify: a long binary value (wrapped lines), a volatile key (not saved), a string with
     * a line break (saved as hex(1)). */
    HANDLE h, v;
    assert_int_equal(open_key(NULL, KMUART L"\\Parameters", &h), STATUS_SUCCESS);
    UCHAR big[100];
    for (int i = 0; i < 100; i++)
        big[i] = (UCHAR)i;
    UNICODE_STRING n = us(L"Long");
    assert_int_equal(ZwSetValueKey(h, &n, 0, REG_BINARY, big, sizeof big), STATUS_SUCCESS);
    assert_int_equal(set_sz(h, L"Lines", REG_SZ, L"a\nb"), STATUS_SUCCESS);
    assert_int_equal(create_key(h, L"Runtime", REG_OPTION_VOLATILE, &v, NULL), STATUS_SUCCESS);
    ZwClose(v);
    ZwClose(h);
    assert_int_equal(kmrig_registry_save(rt, path,
                                         "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\"
                                         "Services\\kmuart"),
                     0);
    /* The file is what regedit writes: BOM, header, CRLF, wrapped hex. */
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static unsigned char bytes[8192];
    size_t got = fread(bytes, 1, sizeof bytes, f);
    fclose(f);
    assert_true(got > 100);
    assert_int_equal(bytes[0], 0xFF);
    assert_int_equal(bytes[1], 0xFE);
    char ascii[4096];
    size_t an = 0;
    for (size_t i = 2; i + 1 < got && an < sizeof ascii - 1; i += 2)
        ascii[an++] = (char)bytes[i];
    ascii[an] = 0;
    assert_non_null(strstr(ascii, "Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE"
                                  "\\SYSTEM\\CurrentControlSet\\Services\\kmuart]\r\n"));
    assert_non_null(strstr(ascii, "\"Start\"=dword:00000003\r\n"));
    assert_non_null(strstr(ascii, "@=\"default \\\"quoted\\\" C:\\\\path\"\r\n"));
    assert_non_null(strstr(ascii, "\"Q\"=hex(b):08,07,06,05,04,03,02,01\r\n"));
    assert_non_null(strstr(ascii, "\"None\"=hex(0):\r\n"));
    assert_non_null(strstr(ascii, "\"Lines\"=hex(1):61,00,0a,00,62,00,00,00\r\n"));
    assert_non_null(strstr(ascii, "\"Long\"=hex:00,01,02,03,04,05,06,07,08,09,0a,0b,0c,0d,0e,0f,"
                                  "10,11,12,13,14,15,\\\r\n  16,17,"));
    assert_null(strstr(ascii, "Runtime"));

    /* Reload into a fresh instance and compare by saving again: byte for byte. */
    kmrig_runtime_detach(rt);
    LOG log2;
    kmrig_runtime *rt2 = runtime_with_log(&log2);
    assert_int_equal(kmrig_registry_load(rt2, path, NULL), 0);
    assert_int_equal(kmrig_registry_save(rt2, path2,
                                         "\\Registry\\Machine\\System\\"
                                         "CurrentControlSet\\Services\\kmuart"),
                     0);
    f = fopen(path2, "rb");
    static unsigned char bytes2[8192];
    size_t got2 = fread(bytes2, 1, sizeof bytes2, f);
    fclose(f);
    assert_int_equal(got2, got);
    assert_memory_equal(bytes, bytes2, got);
    ULONG type, len;
    UCHAR data[256];
    assert_true(read_value(KMUART L"\\Parameters", L"Long", &type, data, &len));
    assert_int_equal(len, 100);
    assert_int_equal(data[99], 99);
    kmrig_runtime_destroy(rt2);
    kmrig_runtime_attach(rt);
    /* Saving a missing key fails and leaves the old file alone; no temporary file stays. */
    assert_int_equal(kmrig_registry_save(rt, path, "HKEY_LOCAL_MACHINE\\NoSuchKey"), -ENOENT);
    f = fopen(path, "rb");
    assert_non_null(f);
    fclose(f);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "ls %s | grep -c tmp > /dev/null", dir);
    assert_int_not_equal(system(cmd), 0);
    assert_int_equal(kmrig_registry_load(rt, "/nonexistent/x.reg", NULL), -ENOENT);
    assert_int_equal(kmrig_registry_save(rt, "/nonexistent/dir/x.reg", "HKEY_USERS"), -ENOENT);
    unlink(path);
    unlink(path2);
    rmdir(dir);
    kmrig_runtime_destroy(rt);
}

static void test_cm_registry_load_fixture_file(void **state)
{
    LOG log;
    kmrig_runtime *rt = runtime_with_log(&log);
    assert_int_equal(kmrig_registry_load(rt, KMRIG_TEST_DATA_DIR "/kmuart.reg", NULL), 0);
    NTSTATUS st;
    assert_int_equal(query_dword(KMUART L"\\Parameters", L"BaudRate", &st), 115200);
    assert_int_equal(st, STATUS_SUCCESS);
    kmrig_runtime_destroy(rt);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cm_registry_load_buffer_every_value_form),
        cmocka_unit_test(test_cm_registry_load_utf16_and_delete_key),
        cmocka_unit_test(test_cm_registry_load_errors_name_line_and_change_nothing),
        cmocka_unit_test(test_cm_registry_load_root_confines_the_file),
        cmocka_unit_test(test_cm_registry_save_round_trip),
        cmocka_unit_test(test_cm_registry_load_fixture_file),
    };
    return kmtest_main(argc, argv, __FILE__, tests, sizeof tests / sizeof tests[0]);
}

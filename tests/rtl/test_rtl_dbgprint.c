/* DbgPrint and its Microsoft format language, breakpoints and assertions. */
#define DBG 1 /* a checked build: KdPrint and ASSERT are live */
#include "kmtest.h"
#include "rtlp.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char out[600];

#define check_fmt(expected, ...)                                                                   \
    do {                                                                                           \
        kmtest_junk(out, sizeof out);                                                              \
        int n_ = RtlpFormatMsV(out, sizeof out, __VA_ARGS__);                                      \
        assert_string_equal(out, expected);                                                        \
        assert_int_equal(n_, strlen(expected));                                                    \
    } while (0)

/* Conversions whose meaning is the same in C and Windows: glibc is the oracle. */
#define check_same_as_c(...)                                                                       \
    do {                                                                                           \
        char want_[600];                                                                           \
        snprintf(want_, sizeof want_, __VA_ARGS__);                                                \
        check_fmt(want_, __VA_ARGS__);                                                             \
    } while (0)

static void test_rtl_format_ms_integers_like_c(void **state)
{
    static const int ints[] = {0, 1, -1, 42, -42, 2147483647, -2147483647 - 1, 1000000};
    for (unsigned i = 0; i < RTL_NUMBER_OF(ints); i++) {
        int v = ints[i];
        check_same_as_c("[%d|%i|%u|%x|%X|%o]", v, v, (unsigned)v, (unsigned)v, (unsigned)v,
                        (unsigned)v);
        check_same_as_c("[%8d|%-8d|%08d|%+d|% d|%.5d|%8.3d|%-+6d]", v, v, v, v, v, v, v, v);
        check_same_as_c("[%#x|%#X|%#o|%#10x|%-#10o|%010x|%.0d]", (unsigned)v, (unsigned)v,
                        (unsigned)v, (unsigned)v, (unsigned)v, (unsigned)v, v);
        check_same_as_c("[%*d|%-*d|%.*d|%*.*x]", 7, v, 7, v, 4, v, 9, 6, (unsigned)v);
        check_same_as_c("[%hd|%hu|%hx|%hhd|%hhx]", v, v, v, v, v);
    }
    check_same_as_c("%*d|", -6, 5);  /* negative '*' width: left-justify */
    check_same_as_c("%.*d|", -3, 5); /* negative '*' precision: none */
    check_same_as_c("%%|");
}

static void test_rtl_format_ms_integer_sizes(void **state)
{
    /* %l is 32 bits on Windows: a LONG/ULONG is read as an int. */
    check_fmt("ffffffff -1 4294967295", "%lx %ld %lu", (ULONG)0xFFFFFFFF, (LONG)-1,
              (ULONG)0xFFFFFFFF);
    check_fmt("deadbeef|DEADBEEF", "%lx|%lX", 0xDEADBEEFu, 0xDEADBEEFu);
    check_fmt("123456789abcdef0", "%I64x", 0x123456789ABCDEF0ULL);
    check_fmt("-9223372036854775808", "%I64d", (LONGLONG)0x8000000000000000ULL);
    check_fmt("18446744073709551615", "%I64u", ~0ULL);
    check_fmt("123456789abcdef0", "%llx", 0x123456789ABCDEF0ULL);
    check_fmt("cafebabe", "%I32x", 0xCAFEBABEu);
    check_fmt("ffffffffffffffff|-1|18446744073709551615", "%Ix|%Id|%Iu", (ULONG_PTR)-1,
              (LONG_PTR)-1, (SIZE_T)-1);
    check_fmt("100000000|100000000", "%zx|%Ix", (SIZE_T)1 << 32, (ULONG_PTR)1 << 32);
    check_fmt("0000000000ABCDEF", "%p", (void *)0xABCDEF);
    check_fmt("0000000000000000", "%p", NULL);
    check_fmt("  00000000000000FF|", "%18p|", (void *)0xFF);
    check_fmt("7|x", "%I64u|%c", 7ULL, 'x'); /* argument order survives 64-bit reads */
}

static void test_rtl_format_ms_strings(void **state)
{
    UNICODE_STRING u;
    ANSI_STRING a;
    RtlInitUnicodeString(&u, L"\\Device\\Kmrig0");
    RtlInitAnsiString(&a, "ansi!");
    check_fmt("name=\\Device\\Kmrig0.", "name=%wZ.", &u);
    check_fmt("ansi!|ansi!", "%Z|%hZ", &a, &a);
    check_fmt("wide|wide|wide|narrow|narrow", "%ws|%ls|%S|%hs|%s", L"wide", L"wide", L"wide",
              "narrow", "narrow");
    check_fmt("hS:narrow", "hS:%hS", "narrow");
    check_fmt("[  abc][abc  ][ab]", "[%5s][%-5s][%.2s]", "abc", "abc", "abc");
    check_fmt("[  xyz][xy]", "[%5ws][%.2ws]", L"xyz", L"xyz");
    check_fmt("(null)|(null)|(null)|(null)", "%s|%ws|%wZ|%Z", (char *)NULL, (PCWSTR)NULL,
              (PUNICODE_STRING)NULL, (PANSI_STRING)NULL);
    UNICODE_STRING nobuf = {0, 0, NULL};
    check_fmt("(null)", "%wZ", &nobuf);
    /* A counted string prints Length bytes, not up to a NUL. */
    WCHAR raw[] = {L'a', L'b', L'c', L'd'};
    UNICODE_STRING part = {2 * sizeof(WCHAR), sizeof raw, raw};
    check_fmt("<ab>", "<%wZ>", &part);
    check_fmt("<a>", "<%.1wZ>", &part);
    /* Characters. */
    check_fmt("x|y|z|w|  q", "%c|%C|%wc|%hc|%3c", 'x', L'y', L'z', 'w', 'q');
    check_fmt("v", "%lc", L'v');
}

static void test_rtl_format_ms_wide_text_is_utf8(void **state)
{
    check_fmt("Gr\xc3\xb6\xc3\x9f"
              "e \xe2\x82\xac",
              "%ws",
              L"Gr\x00f6\x00df"
              L"e \x20ac");
    check_fmt("\xf0\x9f\x98\x80", "%ws", L"\xd83d\xde00"); /* surrogate pair */
    check_fmt("\xef\xbf\xbd!", "%ws", L"\xd800!");         /* lone surrogate */
    check_fmt("[  \xc3\xa9]", "[%3ws]", L"\x00e9");        /* width in characters */
    check_fmt("\xe2\x82\xac", "%C", (WCHAR)0x20AC);
}

static int format_flags(unsigned *flags, const char *fmt, ...)
{
    char buf[64];
    va_list ap;
    va_start(ap, fmt);
    int n = RtlpFormatMsEx(buf, sizeof buf, fmt, ap, flags);
    va_end(ap);
    return n;
}

static void test_rtl_format_ms_reports_unicode_use(void **state)
{
    unsigned flags = 0xFF;
    UNICODE_STRING u;
    RtlInitUnicodeString(&u, L"u");
    format_flags(&flags, "%s %d %Z", "a", 1, &(ANSI_STRING){1, 2, "z"});
    assert_int_equal(flags, 0);
    format_flags(&flags, "%wZ", &u);
    assert_int_equal(flags, RTLP_FORMAT_UNICODE);
    format_flags(&flags, "%C", L'c');
    assert_int_equal(flags, RTLP_FORMAT_UNICODE);
}

static void test_rtl_format_ms_floats_and_odd_conversions(void **state)
{
    check_same_as_c("%f|%.2f|%10.3e|%g|%-8.1f|", 3.25, 2.0 / 3.0, 12345.678, 0.0001, -1.5);
    int sink = 0;
    check_fmt("a=b", "a%n=b", &sink); /* %n writes nothing */
    assert_int_equal(sink, 0);
    check_fmt("%k|%", "%k|%"); /* unknown conversion and a lone '%' stay as text */
    check_fmt("%-5k", "%-5k");
}

static void test_rtl_format_ms_truncates_and_counts(void **state)
{
    char small[8];
    kmtest_junk(small, sizeof small);
    int n = RtlpFormatMsV(small, sizeof small, "%s-%d", "abcdef", 12345);
    assert_int_equal(n, 12);
    assert_string_equal(small, "abcdef-");
    kmtest_junk(small, sizeof small);
    n = RtlpFormatMsV(small, sizeof small, "%ws", L"0123456789");
    assert_int_equal(n, 10);
    assert_string_equal(small, "0123456");
    kmtest_junk(small, sizeof small);
    n = RtlpFormatMsV(small, 0, "%d", 123); /* no room at all: nothing written */
    assert_int_equal(n, 3);
    assert_int_equal((UCHAR)small[0], 0xA5);
    n = RtlpFormatMsV(small, 1, "%d", 123);
    assert_int_equal(n, 3);
    assert_string_equal(small, "");
}

/* ---- DbgPrint through the runtime log ---- */

typedef struct {
    char lines[16][640];
    int levels[16];
    unsigned count;
} CAPTURE;

static void capture_log(void *ctx, enum kmrig_log_level level, const char *msg)
{
    CAPTURE *c = ctx;
    /* Only DbgPrint's lines: the runtime may log its own. */
    if (strncmp(msg, "DbgPrint: ", 10) == 0 && c->count < 16) {
        snprintf(c->lines[c->count], sizeof c->lines[0], "%s", msg);
        c->levels[c->count++] = level;
    }
}

static kmrig_runtime *capture_runtime(CAPTURE *c)
{
    kmrig_config cfg;
    memset(c, 0, sizeof *c);
    kmrig_config_init(&cfg);
    cfg.processors = 1;
    cfg.log_level = KMRIG_LOG_DEBUG;
    cfg.log_fn = capture_log;
    cfg.log_ctx = c;
    return kmtest_runtime_cfg(&cfg);
}

static void test_dbgprint_logs_through_runtime(void **state)
{
    CAPTURE c;
    kmrig_runtime *rt = capture_runtime(&c);
    UNICODE_STRING u;
    RtlInitUnicodeString(&u, L"\\Device\\X");
    assert_int_equal(DbgPrint("started %wZ status=%08lx\n", &u, (ULONG)STATUS_SUCCESS),
                     STATUS_SUCCESS);
    assert_int_equal(c.count, 1);
    assert_string_equal(c.lines[0], "DbgPrint: started \\Device\\X status=00000000");
    assert_int_equal(c.levels[0], KMRIG_LOG_INFO);
    /* Two lines in one message become two log lines. */
    DbgPrint("one\ntwo\n");
    assert_int_equal(c.count, 3);
    assert_string_equal(c.lines[1], "DbgPrint: one");
    assert_string_equal(c.lines[2], "DbgPrint: two");
    kmrig_runtime_destroy(rt);
}

static void test_dbgprintex_levels(void **state)
{
    CAPTURE c;
    kmrig_runtime *rt = capture_runtime(&c);
    DbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_ERROR_LEVEL, "err %d\n", 1);
    DbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_WARNING_LEVEL, "warn %d\n", 2);
    DbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_TRACE_LEVEL, "trace %d\n", 3);
    DbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_INFO_LEVEL, "info %d\n", 4);
    DbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_MASK | 0x10, "mask %d\n", 5);
    assert_int_equal(c.count, 5);
    assert_string_equal(c.lines[0], "DbgPrint: err 1");
    assert_int_equal(c.levels[0], KMRIG_LOG_INFO);
    assert_int_equal(c.levels[1], KMRIG_LOG_INFO);
    assert_int_equal(c.levels[2], KMRIG_LOG_DEBUG);
    assert_int_equal(c.levels[3], KMRIG_LOG_DEBUG);
    assert_int_equal(c.levels[4], KMRIG_LOG_DEBUG);
    assert_string_equal(c.lines[4], "DbgPrint: mask 5");
    kmrig_runtime_destroy(rt);
}

static ULONG call_vdbgprintex(ULONG level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ULONG s = vDbgPrintEx(DPFLTR_IHVDRIVER_ID, level, fmt, ap);
    va_end(ap);
    return s;
}

static ULONG call_vdbgprintex_with_prefix(const char *prefix, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ULONG s = vDbgPrintExWithPrefix(prefix, DPFLTR_IHVDRIVER_ID, DPFLTR_ERROR_LEVEL, fmt, ap);
    va_end(ap);
    return s;
}

static void test_vdbgprintex_and_kdprint(void **state)
{
    CAPTURE c;
    kmrig_runtime *rt = capture_runtime(&c);
    assert_int_equal(call_vdbgprintex(DPFLTR_ERROR_LEVEL, "v %I64x", 0x1234567890ULL),
                     STATUS_SUCCESS);
    assert_int_equal(call_vdbgprintex_with_prefix("mydrv: ", "%s", "hello"), STATUS_SUCCESS);
    KdPrint(("kd %d %ws\n", 7, L"w"));
    KdPrintEx((DPFLTR_IHVDRIVER_ID, DPFLTR_ERROR_LEVEL, "kdex %u\n", 8u));
    assert_int_equal(c.count, 4);
    assert_string_equal(c.lines[0], "DbgPrint: v 1234567890");
    assert_string_equal(c.lines[1], "DbgPrint: mydrv: hello");
    assert_string_equal(c.lines[2], "DbgPrint: kd 7 w");
    assert_string_equal(c.lines[3], "DbgPrint: kdex 8");
    kmrig_runtime_destroy(rt);
}

static void test_dbgprint_keeps_512_bytes(void **state)
{
    CAPTURE c;
    kmrig_runtime *rt = capture_runtime(&c);
    char big[700];
    memset(big, 'b', sizeof big - 1);
    big[sizeof big - 1] = 0;
    DbgPrint("%s", big);
    assert_int_equal(c.count, 1);
    assert_int_equal(strlen(c.lines[0]), strlen("DbgPrint: ") + 511);
    kmrig_runtime_destroy(rt);
}

static void test_dbgbreakpoint_logs_and_returns(void **state)
{
    CAPTURE c;
    kmrig_runtime *rt = capture_runtime(&c);
    DbgBreakPoint();
    DbgBreakPointWithStatus(STATUS_BREAKPOINT);
    KdBreakPoint();
    assert_int_equal(c.count, 3);
    assert_non_null(strstr(c.lines[0], "DbgBreakPoint"));
    assert_non_null(strstr(c.lines[1], "0x80000003"));
    kmrig_runtime_destroy(rt);
}

static void test_dbgprint_without_runtime_goes_to_stderr(void **state)
{
    FILE *tmp = tmpfile();
    assert_non_null(tmp);
    fflush(stderr);
    int saved = dup(2);
    dup2(fileno(tmp), 2);
    DbgPrint("detached %lu\n", 5ul);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    char line[128] = {0};
    rewind(tmp);
    assert_non_null(fgets(line, sizeof line, tmp));
    assert_string_equal(line, "DbgPrint: detached 5\n");
    fclose(tmp);
}

static void unicode_dbgprint_at_dispatch(void *arg)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    DbgPrint("narrow is fine %s\n", "here");
    DbgPrint("%ws\n", L"wide is not");
    KeLowerIrql(old);
    kmrig_runtime_destroy(rt);
}

static void test_dbgprint_unicode_only_at_passive(void **state)
{
    ULONG_PTR p[4];
    assert_int_equal(kmtest_bugcheck_of(unicode_dbgprint_at_dispatch, NULL, p),
                     DRIVER_VERIFIER_DETECTED_VIOLATION);
    assert_int_equal(p[1], DISPATCH_LEVEL);
    assert_int_equal(p[2], PASSIVE_LEVEL);
}

/* ---- Assertions ---- */

static void failing_assert(void *arg)
{
    int x = 1;
    ASSERT(x == 2);
}

static void failing_nt_assert(void *arg)
{
    NT_ASSERT(arg == NULL);
}

static void failing_nt_assertmsg(void *arg)
{
    NT_ASSERTMSG("should be null", arg == NULL);
}

static void test_assert_failure_bugchecks(void **state)
{
    ULONG_PTR p[4];
    assert_int_equal(kmtest_bugcheck_of(failing_assert, NULL, p), KMODE_EXCEPTION_NOT_HANDLED);
    assert_int_equal(p[0], (ULONG)STATUS_ASSERTION_FAILURE);
    assert_int_not_equal(p[1], 0); /* the faulting address */
    assert_int_equal(kmtest_bugcheck_of(failing_nt_assert, (void *)1, p),
                     KMODE_EXCEPTION_NOT_HANDLED);
    assert_int_equal(p[0], (ULONG)STATUS_ASSERTION_FAILURE);
    assert_int_equal(kmtest_bugcheck_of(failing_nt_assertmsg, (void *)1, p),
                     KMODE_EXCEPTION_NOT_HANDLED);
    /* The same assertions that hold do nothing. */
    assert_int_equal(kmtest_bugcheck_of(failing_nt_assert, NULL, NULL), 0);
}

static void test_assert_true_and_nt_verify(void **state)
{
    int evaluated = 0;
    assert_true(ASSERT(1 == 1));
    assert_true(NT_ASSERT(2 > 1));
    assert_true(NT_VERIFY(++evaluated == 1));
    assert_int_equal(evaluated, 1);
    assert_true(ASSERTMSG("fine", evaluated));
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_rtl_format_ms_integers_like_c),
    cmocka_unit_test(test_rtl_format_ms_integer_sizes),
    cmocka_unit_test(test_rtl_format_ms_strings),
    cmocka_unit_test(test_rtl_format_ms_wide_text_is_utf8),
    cmocka_unit_test(test_rtl_format_ms_reports_unicode_use),
    cmocka_unit_test(test_rtl_format_ms_floats_and_odd_conversions),
    cmocka_unit_test(test_rtl_format_ms_truncates_and_counts),
    cmocka_unit_test(test_dbgprint_logs_through_runtime),
    cmocka_unit_test(test_dbgprintex_levels),
    cmocka_unit_test(test_vdbgprintex_and_kdprint),
    cmocka_unit_test(test_dbgprint_keeps_512_bytes),
    cmocka_unit_test(test_dbgbreakpoint_logs_and_returns),
    cmocka_unit_test(test_dbgprint_without_runtime_goes_to_stderr),
    cmocka_unit_test(test_dbgprint_unicode_only_at_passive),
    cmocka_unit_test(test_assert_failure_bugchecks),
    cmocka_unit_test(test_assert_true_and_nt_verify),
};

KMTEST_MAIN(tests)

/* Integer <-> text conversions and LARGE_INTEGER helpers. */
#include "kmtest.h"
#include "rtlp.h"

#include <stdio.h>
#include <stdlib.h>

static NTSTATUS parse_w(const char *text, ULONG base, ULONG *value)
{
    WCHAR buf[128];
    UNICODE_STRING u;
    RtlpAnsiToWcs(buf, text);
    RtlInitUnicodeString(&u, buf);
    *value = 0xA5A5A5A5;
    return RtlUnicodeStringToInteger(&u, base, value);
}

static ULONG parse_ok(const char *text, ULONG base)
{
    ULONG v, c;
    assert_int_equal(parse_w(text, base, &v), STATUS_SUCCESS);
    /* RtlCharToInteger follows the same rules on the same text. */
    c = 0xA5A5A5A5;
    assert_int_equal(RtlCharToInteger(text, base, &c), STATUS_SUCCESS);
    assert_int_equal(c, v);
    return v;
}

static void test_rtl_unicode_string_to_integer_documented_examples(void **state)
{
    assert_int_equal(parse_ok("123", 10), 123);
    assert_int_equal(parse_ok("-345", 10), (ULONG)-345);
    assert_int_equal(parse_ok("xyz", 10), 0);
    assert_int_equal(parse_ok("+678abc", 10), 678);
    assert_int_equal(parse_ok("+678abc", 16), 0x678abc);
}

static void test_rtl_unicode_string_to_integer_bases(void **state)
{
    /* Compare against strtoul for every base over a spread of values. */
    static const ULONG bases[] = {2, 8, 10, 16};
    char text[64];
    for (unsigned b = 0; b < 4; b++) {
        for (ULONG v = 1; v < 0x80000000u; v = v * 3 + 1) {
            ULONG base = bases[b];
            char *p = text + sizeof text;
            ULONG x = v;
            *--p = 0;
            do {
                *--p = "0123456789abcdef"[x % base];
                x /= base;
            } while (x);
            assert_int_equal(strtoul(p, NULL, (int)base), v);
            assert_int_equal(parse_ok(p, base), v);
        }
    }
    assert_int_equal(parse_ok("FfFf", 16), 0xFFFF);
    assert_int_equal(parse_ok("777", 8), 0777);
    assert_int_equal(parse_ok("1011", 2), 11);
}

static void test_rtl_unicode_string_to_integer_prefixes(void **state)
{
    /* Base 0 reads the prefix... */
    assert_int_equal(parse_ok("0x1F", 0), 0x1F);
    assert_int_equal(parse_ok("0o17", 0), 017);
    assert_int_equal(parse_ok("0b101", 0), 5);
    assert_int_equal(parse_ok("017", 0), 17); /* a bare leading 0 is decimal */
    assert_int_equal(parse_ok("-0x10", 0), (ULONG)-16);
    assert_int_equal(parse_ok("  +0b11", 0), 3);
    assert_int_equal(parse_ok("0x", 0), 0);
    assert_int_equal(parse_ok("0b2", 0), 0); /* '2' is not binary */
    /* ...an explicit base does not. */
    assert_int_equal(parse_ok("0x1F", 16), 0);
    assert_int_equal(parse_ok("0b1", 16), 0xB1);
    assert_int_equal(parse_ok("0o7", 8), 0);
}

static void test_rtl_unicode_string_to_integer_spaces_signs_and_garbage(void **state)
{
    assert_int_equal(parse_ok("   42", 10), 42);
    assert_int_equal(parse_ok("\t\n 42", 10), 42);
    assert_int_equal(parse_ok("42   ", 10), 42);
    assert_int_equal(parse_ok("-0", 10), 0);
    assert_int_equal(parse_ok("+-1", 10), 0); /* one sign only */
    assert_int_equal(parse_ok("- 1", 10), 0);
    assert_int_equal(parse_ok("12z34", 10), 12); /* stops at the first non-digit */
    assert_int_equal(parse_ok("129", 8), 012);
    assert_int_equal(parse_ok("1g", 16), 1);
    assert_int_equal(parse_ok("   ", 10), 0);
    assert_int_equal(parse_ok("4294967295", 10), 0xFFFFFFFF);
    assert_int_equal(parse_ok("4294967296", 10), 0); /* wraps modulo 2^32 */
    assert_int_equal(parse_ok("-1", 16), 0xFFFFFFFF);
}

static void test_rtl_unicode_string_to_integer_counted_not_terminated(void **state)
{
    /* Only Length bytes count: digits beyond it are ignored. */
    WCHAR buf[] = L"12345";
    UNICODE_STRING u = {3 * sizeof(WCHAR), sizeof buf, buf};
    ULONG v;
    assert_int_equal(RtlUnicodeStringToInteger(&u, 10, &v), STATUS_SUCCESS);
    assert_int_equal(v, 123);
}

static void test_rtl_unicode_string_to_integer_errors(void **state)
{
    ULONG v;
    static const ULONG bad[] = {1, 3, 7, 9, 11, 15, 17, 36, 0xFFFFFFFF};
    for (unsigned i = 0; i < RTL_NUMBER_OF(bad); i++) {
        assert_int_equal(parse_w("10", bad[i], &v), STATUS_INVALID_PARAMETER);
        assert_int_equal(RtlCharToInteger("10", bad[i], &v), STATUS_INVALID_PARAMETER);
    }
    /* Documented: an empty string fails. */
    UNICODE_STRING empty = {0, 0, NULL};
    assert_int_equal(RtlUnicodeStringToInteger(&empty, 10, &v), STATUS_INVALID_PARAMETER);
    assert_int_equal(parse_w("", 0, &v), STATUS_INVALID_PARAMETER);
    assert_int_equal(RtlCharToInteger("7", 10, NULL), STATUS_ACCESS_VIOLATION);
}

static void test_rtl_char_to_integer(void **state)
{
    ULONG v = 0xA5A5A5A5;
    assert_int_equal(RtlCharToInteger("", 10, &v), STATUS_SUCCESS);
    assert_int_equal(v, 0);
    assert_int_equal(RtlCharToInteger(" 0x7fffffff", 0, &v), STATUS_SUCCESS);
    assert_int_equal(v, 0x7fffffff);
}

static void integer_to_unicode(ULONG value, ULONG base, char *out)
{
    WCHAR buf[40];
    UNICODE_STRING u;
    kmtest_junk(buf, sizeof buf);
    kmtest_junk(&u, sizeof u);
    RtlInitEmptyUnicodeString(&u, buf, sizeof buf);
    assert_int_equal(RtlIntegerToUnicodeString(value, base, &u), STATUS_SUCCESS);
    assert_int_equal(buf[u.Length / 2], 0); /* NUL-terminated */
    for (unsigned i = 0; i < u.Length / 2; i++)
        out[i] = (char)buf[i];
    out[u.Length / 2] = 0;
}

static void test_rtl_integer_to_unicode_string_bases(void **state)
{
    char got[40], want[40];
    for (ULONG v = 0;; v = v * 5 + 3) {
        integer_to_unicode(v, 0, got);
        snprintf(want, sizeof want, "%u", v);
        assert_string_equal(got, want);
        integer_to_unicode(v, 10, got);
        assert_string_equal(got, want);
        integer_to_unicode(v, 16, got);
        snprintf(want, sizeof want, "%X", v);
        assert_string_equal(got, want);
        integer_to_unicode(v, 8, got);
        snprintf(want, sizeof want, "%o", v);
        assert_string_equal(got, want);
        integer_to_unicode(v, 2, got);
        ULONG back = (ULONG)strtoul(got, NULL, 2);
        assert_int_equal(back, v);
        assert_true(got[0] == '1' || v == 0);
        if (v > 0x10000000)
            break;
    }
    integer_to_unicode(0xFFFFFFFF, 2, got);
    assert_int_equal(strlen(got), 32);
}

static void test_rtl_integer_to_unicode_string_buffer_overflow(void **state)
{
    WCHAR buf[8];
    UNICODE_STRING u;
    /* "12345" needs 10 bytes plus 2 for the NUL. */
    kmtest_junk(buf, sizeof buf);
    RtlInitEmptyUnicodeString(&u, buf, 10);
    assert_int_equal(RtlIntegerToUnicodeString(12345, 10, &u), STATUS_BUFFER_OVERFLOW);
    assert_int_equal(u.Length, 0);
    assert_int_equal(buf[0], 0xA5A5);
    RtlInitEmptyUnicodeString(&u, buf, 12);
    assert_int_equal(RtlIntegerToUnicodeString(12345, 10, &u), STATUS_SUCCESS);
    assert_int_equal(u.Length, 10);
    assert_int_equal(buf[5], 0);
    RtlInitEmptyUnicodeString(&u, buf, 0);
    assert_int_equal(RtlIntegerToUnicodeString(0, 10, &u), STATUS_BUFFER_OVERFLOW);
}

static void test_rtl_integer_to_unicode_string_invalid_base(void **state)
{
    WCHAR buf[40];
    UNICODE_STRING u;
    static const ULONG bad[] = {1, 3, 12, 36, 0x80000000};
    for (unsigned i = 0; i < RTL_NUMBER_OF(bad); i++) {
        kmtest_junk(buf, sizeof buf);
        RtlInitEmptyUnicodeString(&u, buf, sizeof buf);
        assert_int_equal(RtlIntegerToUnicodeString(10, bad[i], &u), STATUS_INVALID_PARAMETER);
        assert_int_equal(u.Length, 0);
        assert_int_equal(RtlInt64ToUnicodeString(10, bad[i], &u), STATUS_INVALID_PARAMETER);
    }
}

static void test_rtl_int64_to_unicode_string(void **state)
{
    WCHAR buf[80];
    UNICODE_STRING u;
    char want[80];
    ULONGLONG values[] = {0, 1, 0xFFFFFFFFull, 0x100000000ull, 0xFFFFFFFFFFFFFFFFull};
    for (unsigned i = 0; i < RTL_NUMBER_OF(values); i++) {
        RtlInitEmptyUnicodeString(&u, buf, sizeof buf);
        assert_int_equal(RtlInt64ToUnicodeString(values[i], 16, &u), STATUS_SUCCESS);
        snprintf(want, sizeof want, "%llX", values[i]);
        assert_int_equal(u.Length, strlen(want) * 2);
        for (unsigned k = 0; k < strlen(want); k++)
            assert_int_equal(buf[k], want[k]);
        RtlInitEmptyUnicodeString(&u, buf, sizeof buf);
        assert_int_equal(RtlInt64ToUnicodeString(values[i], 2, &u), STATUS_SUCCESS);
        assert_true(u.Length <= 64 * 2);
    }
    RtlInitEmptyUnicodeString(&u, buf, 6);
    assert_int_equal(RtlInt64ToUnicodeString(100, 10, &u), STATUS_BUFFER_OVERFLOW);
}

static void test_rtl_integer_to_char(void **state)
{
    char buf[16];
    kmtest_junk(buf, sizeof buf);
    assert_int_equal(RtlIntegerToChar(255, 16, sizeof buf, buf), STATUS_SUCCESS);
    assert_string_equal(buf, "FF");
    /* Exactly the digits: no room for a NUL, none written. */
    kmtest_junk(buf, sizeof buf);
    assert_int_equal(RtlIntegerToChar(1234, 10, 4, buf), STATUS_SUCCESS);
    assert_memory_equal(buf, "1234", 4);
    assert_int_equal((UCHAR)buf[4], 0xA5);
    assert_int_equal(RtlIntegerToChar(12345, 10, 4, buf), STATUS_BUFFER_OVERFLOW);
    /* Negative length: zero-padded to that width, no NUL. */
    kmtest_junk(buf, sizeof buf);
    assert_int_equal(RtlIntegerToChar(0x2A, 16, -6, buf), STATUS_SUCCESS);
    assert_memory_equal(buf, "00002A", 6);
    assert_int_equal((UCHAR)buf[6], 0xA5);
    assert_int_equal(RtlIntegerToChar(0x1234567, 16, -6, buf), STATUS_BUFFER_OVERFLOW);
    assert_int_equal(RtlIntegerToChar(1, 5, sizeof buf, buf), STATUS_INVALID_PARAMETER);
    LARGE_INTEGER li;
    li.QuadPart = 0x123456789ALL;
    assert_int_equal(RtlLargeIntegerToChar(&li, 16, sizeof buf, buf), STATUS_SUCCESS);
    assert_string_equal(buf, "123456789A");
}

static void test_rtl_convert_long_and_ulong_to_large_integer(void **state)
{
    static const LONG longs[] = {0, 1, -1, MAXLONG, MINLONG, -123456};
    for (unsigned i = 0; i < RTL_NUMBER_OF(longs); i++) {
        LARGE_INTEGER li = RtlConvertLongToLargeInteger(longs[i]);
        assert_true(li.QuadPart == (LONGLONG)longs[i]);
        assert_int_equal(li.HighPart, longs[i] < 0 ? -1 : 0); /* sign-extended */
        assert_int_equal(li.LowPart, (ULONG)longs[i]);
    }
    static const ULONG ulongs[] = {0, 1, 0x80000000u, MAXULONG};
    for (unsigned i = 0; i < RTL_NUMBER_OF(ulongs); i++) {
        LARGE_INTEGER li = RtlConvertUlongToLargeInteger(ulongs[i]);
        assert_true(li.QuadPart == (LONGLONG)ulongs[i]);
        assert_int_equal(li.HighPart, 0); /* zero-extended */
        assert_int_equal(li.LowPart, ulongs[i]);
    }
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_rtl_unicode_string_to_integer_documented_examples),
    cmocka_unit_test(test_rtl_unicode_string_to_integer_bases),
    cmocka_unit_test(test_rtl_unicode_string_to_integer_prefixes),
    cmocka_unit_test(test_rtl_unicode_string_to_integer_spaces_signs_and_garbage),
    cmocka_unit_test(test_rtl_unicode_string_to_integer_counted_not_terminated),
    cmocka_unit_test(test_rtl_unicode_string_to_integer_errors),
    cmocka_unit_test(test_rtl_char_to_integer),
    cmocka_unit_test(test_rtl_integer_to_unicode_string_bases),
    cmocka_unit_test(test_rtl_integer_to_unicode_string_buffer_overflow),
    cmocka_unit_test(test_rtl_integer_to_unicode_string_invalid_base),
    cmocka_unit_test(test_rtl_int64_to_unicode_string),
    cmocka_unit_test(test_rtl_integer_to_char),
    cmocka_unit_test(test_rtl_convert_long_and_ulong_to_large_integer),
};

KMTEST_MAIN(tests)

/* ntstrsafe.h: RtlStringCch / RtlStringCb Copy, CopyN, Cat, CatN, Printf, VPrintf, Length in A and
 * W forms, their Ex forms and flags, and the UNICODE_STRING forms. Each routine: success,
 * truncation (STATUS_BUFFER_OVERFLOW with the result cut and NUL-terminated) and invalid
 * parameters (size 0 or over NTSTRSAFE_MAX_CCH, NULL pointers, unknown flags). */
#include "kmtest.h"

#include <ntstrsafe.h>
#include <string.h>

#define BIG ((size_t)NTSTRSAFE_MAX_CCH + 1)

static size_t wlen(PCWSTR s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

#define assert_wstr(actual, expected)                                                              \
    do {                                                                                           \
        PCWSTR a_ = (actual), e_ = (expected);                                                     \
        assert_int_equal(wlen(a_), wlen(e_));                                                      \
        assert_memory_equal(a_, e_, (wlen(e_) + 1) * sizeof(WCHAR));                               \
    } while (0)

/* ---- Copy ---- */

static void test_rtl_string_copy_a(void **state)
{
    char d[8];
    kmtest_junk(d, sizeof d);
    assert_int_equal(RtlStringCchCopyA(d, sizeof d, "abc"), STATUS_SUCCESS);
    assert_string_equal(d, "abc");
    assert_int_equal(RtlStringCbCopyA(d, sizeof d, "1234567"), STATUS_SUCCESS);
    assert_string_equal(d, "1234567");
    /* Truncation: as much as fits, NUL-terminated. */
    kmtest_junk(d, sizeof d);
    assert_int_equal(RtlStringCchCopyA(d, sizeof d, "123456789"), STATUS_BUFFER_OVERFLOW);
    assert_string_equal(d, "1234567");
    assert_int_equal(RtlStringCbCopyA(d, 4, "123456789"), STATUS_BUFFER_OVERFLOW);
    assert_string_equal(d, "123");
    /* Invalid sizes: the destination (when it has a character) becomes "". */
    strcpy(d, "keep");
    assert_int_equal(RtlStringCchCopyA(d, 0, "x"), STATUS_INVALID_PARAMETER);
    assert_string_equal(d, "keep");
    assert_int_equal(RtlStringCchCopyA(d, BIG, "x"), STATUS_INVALID_PARAMETER);
    assert_string_equal(d, "");
    strcpy(d, "keep");
    assert_int_equal(RtlStringCbCopyA(d, BIG, "x"), STATUS_INVALID_PARAMETER);
    assert_string_equal(d, "");
    strcpy(d, "keep");
    assert_int_equal(RtlStringCchCopyA(d, sizeof d, NULL), STATUS_INVALID_PARAMETER);
    assert_string_equal(d, "");
    assert_int_equal(RtlStringCchCopyA(NULL, 4, "x"), STATUS_INVALID_PARAMETER);
}

static void test_rtl_string_copy_w(void **state)
{
    WCHAR d[8];
    kmtest_junk(d, sizeof d);
    assert_int_equal(RtlStringCchCopyW(d, RTL_NUMBER_OF(d), L"abc"), STATUS_SUCCESS);
    assert_wstr(d, L"abc");
    assert_int_equal(RtlStringCbCopyW(d, sizeof d, L"1234567"), STATUS_SUCCESS);
    assert_wstr(d, L"1234567");
    kmtest_junk(d, sizeof d);
    assert_int_equal(RtlStringCbCopyW(d, sizeof d, L"12345678"), STATUS_BUFFER_OVERFLOW);
    assert_wstr(d, L"1234567");
    /* A byte count is cut to whole characters: 7 bytes hold 3 WCHARs. */
    assert_int_equal(RtlStringCbCopyW(d, 7, L"abcdef"), STATUS_BUFFER_OVERFLOW);
    assert_wstr(d, L"ab");
    assert_int_equal(RtlStringCbCopyW(d, 1, L"x"), STATUS_INVALID_PARAMETER); /* 0 characters */
    assert_int_equal(RtlStringCchCopyW(d, BIG, L"x"), STATUS_INVALID_PARAMETER);
    assert_int_equal(d[0], 0);
    assert_int_equal(RtlStringCbCopyW(d, BIG * sizeof(WCHAR), L"x"), STATUS_INVALID_PARAMETER);
}

static void test_rtl_string_copy_n(void **state)
{
    char d[8];
    WCHAR w[8];
    assert_int_equal(RtlStringCchCopyNA(d, sizeof d, "abcdef", 3), STATUS_SUCCESS);
    assert_string_equal(d, "abc");
    assert_int_equal(RtlStringCbCopyNA(d, sizeof d, "ab", 5), STATUS_SUCCESS); /* stops at NUL */
    assert_string_equal(d, "ab");
    /* The source need not be terminated within the count. */
    const char raw[4] = {'w', 'x', 'y', 'z'};
    assert_int_equal(RtlStringCchCopyNA(d, sizeof d, raw, 4), STATUS_SUCCESS);
    assert_string_equal(d, "wxyz");
    assert_int_equal(RtlStringCchCopyNA(d, 3, "abcdef", 5), STATUS_BUFFER_OVERFLOW);
    assert_string_equal(d, "ab");
    assert_int_equal(RtlStringCchCopyNA(d, sizeof d, "abc", BIG), STATUS_INVALID_PARAMETER);
    assert_string_equal(d, "");
    assert_int_equal(RtlStringCchCopyNW(w, RTL_NUMBER_OF(w), L"abcdef", 4), STATUS_SUCCESS);
    assert_wstr(w, L"abcd");
    assert_int_equal(RtlStringCbCopyNW(w, sizeof w, L"abcdef", 3 * sizeof(WCHAR)), STATUS_SUCCESS);
    assert_wstr(w, L"abc");
    assert_int_equal(RtlStringCbCopyNW(w, 4 * sizeof(WCHAR), L"abcdef", 6 * sizeof(WCHAR)),
                     STATUS_BUFFER_OVERFLOW);
    assert_wstr(w, L"abc");
    assert_int_equal(RtlStringCchCopyNW(w, 0, L"abc", 1), STATUS_INVALID_PARAMETER);
    assert_int_equal(RtlStringCbCopyNW(w, sizeof w, L"abc", BIG * sizeof(WCHAR)),
                     STATUS_INVALID_PARAMETER);
}

/* ---- Cat ---- */

static void test_rtl_string_cat(void **state)
{
    char d[8] = "ab";
    assert_int_equal(RtlStringCchCatA(d, sizeof d, "cd"), STATUS_SUCCESS);
    assert_string_equal(d, "abcd");
    assert_int_equal(RtlStringCbCatA(d, sizeof d, "efghij"), STATUS_BUFFER_OVERFLOW);
    assert_string_equal(d, "abcdefg");
    /* A destination with no NUL within its size is invalid and left alone. */
    memcpy(d, "12345678", 8);
    assert_int_equal(RtlStringCchCatA(d, sizeof d, "x"), STATUS_INVALID_PARAMETER);
    assert_memory_equal(d, "12345678", 8);
    assert_int_equal(RtlStringCchCatA(d, 0, "x"), STATUS_INVALID_PARAMETER);
    assert_int_equal(RtlStringCchCatA(d, BIG, "x"), STATUS_INVALID_PARAMETER);
    assert_memory_equal(d, "12345678", 8);
    strcpy(d, "a");
    assert_int_equal(RtlStringCchCatNA(d, sizeof d, "bcdef", 2), STATUS_SUCCESS);
    assert_string_equal(d, "abc");
    assert_int_equal(RtlStringCbCatNA(d, 5, "defgh", 4), STATUS_BUFFER_OVERFLOW);
    assert_string_equal(d, "abcd");
    assert_int_equal(RtlStringCchCatNA(d, sizeof d, "x", BIG), STATUS_INVALID_PARAMETER);
    assert_string_equal(d, "abcd");

    WCHAR w[6] = L"ab";
    assert_int_equal(RtlStringCchCatW(w, RTL_NUMBER_OF(w), L"c"), STATUS_SUCCESS);
    assert_wstr(w, L"abc");
    assert_int_equal(RtlStringCbCatW(w, sizeof w, L"defg"), STATUS_BUFFER_OVERFLOW);
    assert_wstr(w, L"abcde");
    assert_int_equal(RtlStringCchCatW(w, RTL_NUMBER_OF(w), L"z"), STATUS_BUFFER_OVERFLOW);
    assert_wstr(w, L"abcde");
    RtlStringCchCopyW(w, RTL_NUMBER_OF(w), L"a");
    assert_int_equal(RtlStringCchCatNW(w, RTL_NUMBER_OF(w), L"bcdef", 2), STATUS_SUCCESS);
    assert_wstr(w, L"abc");
    assert_int_equal(RtlStringCbCatNW(w, sizeof w, L"xyz", 2 * sizeof(WCHAR)), STATUS_SUCCESS);
    assert_wstr(w, L"abcxy");
    assert_int_equal(RtlStringCbCatNW(w, 0, L"x", 2), STATUS_INVALID_PARAMETER);
}

/* ---- Length ---- */

static void test_rtl_string_length(void **state)
{
    size_t n = 99;
    assert_int_equal(RtlStringCchLengthA("hello", 6, &n), STATUS_SUCCESS);
    assert_int_equal(n, 5);
    assert_int_equal(RtlStringCchLengthA("hello", 5, &n), STATUS_INVALID_PARAMETER); /* no NUL */
    assert_int_equal(n, 0);
    assert_int_equal(RtlStringCchLengthA("hello", NTSTRSAFE_MAX_CCH, NULL), STATUS_SUCCESS);
    n = 99;
    assert_int_equal(RtlStringCchLengthA("hello", BIG, &n), STATUS_INVALID_PARAMETER);
    assert_int_equal(n, 0);
    assert_int_equal(RtlStringCchLengthA(NULL, 5, &n), STATUS_INVALID_PARAMETER);
    assert_int_equal(RtlStringCbLengthA("abc", 4, &n), STATUS_SUCCESS);
    assert_int_equal(n, 3);
    assert_int_equal(RtlStringCchLengthW(L"abcd", 5, &n), STATUS_SUCCESS);
    assert_int_equal(n, 4);
    assert_int_equal(RtlStringCbLengthW(L"abcd", 10, &n), STATUS_SUCCESS);
    assert_int_equal(n, 8); /* bytes */
    assert_int_equal(RtlStringCbLengthW(L"abcd", 8, &n), STATUS_INVALID_PARAMETER);
    assert_int_equal(n, 0);
    assert_int_equal(RtlStringCbLengthW(L"abcd", BIG * sizeof(WCHAR), &n),
                     STATUS_INVALID_PARAMETER);
}

/* ---- Printf ---- */

static NTSTATUS vprintf_a(char *d, size_t cch, const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    NTSTATUS s = RtlStringCchVPrintfA(d, cch, f, ap);
    va_end(ap);
    return s;
}

static NTSTATUS vprintf_w(WCHAR *d, size_t cb, PCWSTR f, ...)
{
    va_list ap;
    va_start(ap, f);
    NTSTATUS s = RtlStringCbVPrintfW(d, cb, f, ap);
    va_end(ap);
    return s;
}

static void test_rtl_string_printf_a(void **state)
{
    char d[128];
    UNICODE_STRING us = RTL_CONSTANT_STRING(L"Dev\x00e9");
    ANSI_STRING as = RTL_CONSTANT_STRING("ansi");
    kmtest_junk(d, sizeof d);
    assert_int_equal(RtlStringCchPrintfA(d, sizeof d, "%d %i %u %x %X|%5d|%-5d|%05d|%.3d", -7, 8,
                                         4000000000u, 0xbeefu, 0xbeefu, 42, 42, 42, 7),
                     STATUS_SUCCESS);
    assert_string_equal(d, "-7 8 4000000000 beef BEEF|   42|42   |00042|007");
    /* Windows sizes: l is 32 bits, I64 and ll 64, z and I pointer-sized, h short. */
    assert_int_equal(RtlStringCbPrintfA(d, sizeof d, "%lx %I64x %llu %zu %Iu %hd %hx", 0x12345678u,
                                        0x123456789abcdefull, 18446744073709551615ull, (size_t)77,
                                        (size_t)78, 70000, 0x12345),
                     STATUS_SUCCESS);
    assert_string_equal(d, "12345678 123456789abcdef 18446744073709551615 77 78 4464 2345");
    assert_int_equal(RtlStringCchPrintfA(d, sizeof d, "%p", (void *)0x1234), STATUS_SUCCESS);
    assert_string_equal(d, "0000000000001234");
    /* Text: %s %hs narrow, %S %ls %ws wide (converted to the ANSI code page), %c %C, %Z %wZ. */
    assert_int_equal(RtlStringCchPrintfA(d, sizeof d, "[%s|%hs|%S|%ls|%ws|%c%C|%Z|%wZ|%.2s|%6s]",
                                         "n", "h", L"W", L"l", L"w", 'x', L'y', &as, &us, "abc",
                                         "r"),
                     STATUS_SUCCESS);
    assert_string_equal(d, "[n|h|W|l|w|xy|ansi|Dev\xe9|ab|     r]");
    /* Truncation: the output cut to the buffer, NUL-terminated. */
    kmtest_junk(d, sizeof d);
    assert_int_equal(RtlStringCchPrintfA(d, 6, "%d-%s", 12345, "tail"), STATUS_BUFFER_OVERFLOW);
    assert_string_equal(d, "12345");
    assert_int_equal(RtlStringCchPrintfA(d, 6, "%s", "12345"), STATUS_SUCCESS); /* exact fit */
    assert_string_equal(d, "12345");
    assert_int_equal(vprintf_a(d, 4, "%s", "abcdef"), STATUS_BUFFER_OVERFLOW);
    assert_string_equal(d, "abc");
    assert_int_equal(vprintf_a(d, sizeof d, "%u+%u", 1u, 2u), STATUS_SUCCESS);
    assert_string_equal(d, "1+2");
    strcpy(d, "keep");
    assert_int_equal(RtlStringCchPrintfA(d, 0, "x"), STATUS_INVALID_PARAMETER);
    assert_string_equal(d, "keep");
    assert_int_equal(RtlStringCbPrintfA(d, BIG, "x"), STATUS_INVALID_PARAMETER);
    assert_string_equal(d, "");
    strcpy(d, "keep");
    assert_int_equal(vprintf_a(d, sizeof d, NULL), STATUS_INVALID_PARAMETER);
    assert_string_equal(d, "");
}

static void test_rtl_string_printf_w(void **state)
{
    WCHAR d[96];
    UNICODE_STRING us = RTL_CONSTANT_STRING(L"\\Device\\X");
    ANSI_STRING as = RTL_CONSTANT_STRING("an\xe9");
    kmtest_junk(d, sizeof d);
    assert_int_equal(RtlStringCchPrintfW(d, RTL_NUMBER_OF(d), L"%d %i %u %#x %X|%4d|%-4d|", -7, 8,
                                         9u, 0xabu, 0xabu, 42, 42),
                     STATUS_SUCCESS);
    assert_wstr(d, L"-7 8 9 0xab AB|  42|42  |");
    /* In a wide format %s and %c are wide, %S and %C narrow; %hs narrow and %ls wide always. */
    assert_int_equal(RtlStringCbPrintfW(d, sizeof d, L"[%s|%S|%hs|%ls|%ws|%c%C|%wZ|%Z|%I64d|%p]",
                                        L"wide", "narrow", "h", L"l", L"w", L'x', 'y', &us, &as,
                                        -5ll, (void *)0xABC),
                     STATUS_SUCCESS);
    assert_wstr(d, L"[wide|narrow|h|l|w|xy|\\Device\\X|an\x00e9|-5|0000000000000ABC]");
    assert_int_equal(vprintf_w(d, 5 * sizeof(WCHAR), L"%s%d", L"ab", 1234), STATUS_BUFFER_OVERFLOW);
    assert_wstr(d, L"ab12");
    assert_int_equal(vprintf_w(d, sizeof d, L"%.3s|%5.1s|", L"abcdef", L"xy"), STATUS_SUCCESS);
    assert_wstr(d, L"abc|    x|");
    assert_int_equal(RtlStringCchPrintfW(d, 3, L"%u", 100u), STATUS_BUFFER_OVERFLOW);
    assert_wstr(d, L"10");
    assert_int_equal(RtlStringCchPrintfW(d, 0, L"x"), STATUS_INVALID_PARAMETER);
    assert_int_equal(RtlStringCchPrintfW(d, BIG, L"x"), STATUS_INVALID_PARAMETER);
    assert_int_equal(d[0], 0);
}

/* ---- Ex forms ---- */

static void test_rtl_string_ex_end_and_remaining(void **state)
{
    char d[10];
    char *end = NULL;
    size_t left = 0;
    assert_int_equal(RtlStringCchCopyExA(d, sizeof d, "abc", &end, &left, 0), STATUS_SUCCESS);
    assert_ptr_equal(end, d + 3);
    assert_int_equal(left, 7); /* unused characters, the NUL included */
    assert_int_equal(RtlStringCchCatExA(d, sizeof d, "defghijk", &end, &left, 0),
                     STATUS_BUFFER_OVERFLOW);
    assert_string_equal(d, "abcdefghi");
    assert_ptr_equal(end, d + 9);
    assert_int_equal(left, 1);
    WCHAR w[6];
    PWSTR wend = NULL;
    assert_int_equal(RtlStringCbCopyExW(w, sizeof w + 1, L"ab", &wend, &left, 0), STATUS_SUCCESS);
    assert_ptr_equal(wend, w + 2);
    assert_int_equal(left, 4 * sizeof(WCHAR) + 1); /* bytes, with the odd byte of the size */
    assert_int_equal(RtlStringCchPrintfExW(w, RTL_NUMBER_OF(w), &wend, &left, 0, L"%d", 12),
                     STATUS_SUCCESS);
    assert_ptr_equal(wend, w + 2);
    assert_int_equal(left, 4);
    assert_int_equal(RtlStringCbCatNExW(w, sizeof w, L"3456", 2 * sizeof(WCHAR), &wend, &left, 0),
                     STATUS_SUCCESS);
    assert_wstr(w, L"1234");
    assert_int_equal(left, 2 * sizeof(WCHAR));
    /* Outputs are not written on invalid parameters. */
    end = (char *)1;
    left = 77;
    assert_int_equal(RtlStringCchCopyExA(d, 0, "x", &end, &left, 0), STATUS_INVALID_PARAMETER);
    assert_ptr_equal(end, (char *)1);
    assert_int_equal(left, 77);
    /* Unknown flags. */
    assert_int_equal(RtlStringCchCopyExA(d, sizeof d, "x", NULL, NULL, 0x10000),
                     STATUS_INVALID_PARAMETER);
    assert_int_equal(RtlStringCchCopyNExA(d, sizeof d, "xyz", 2, &end, &left, 0), STATUS_SUCCESS);
    assert_string_equal(d, "xy");
    assert_int_equal(RtlStringCbCopyNExA(d, sizeof d, "xyz", BIG, NULL, NULL, 0),
                     STATUS_INVALID_PARAMETER);
    assert_int_equal(RtlStringCchCatNExA(d, sizeof d, "123", 1, &end, &left, 0), STATUS_SUCCESS);
    assert_string_equal(d, "xy1");
    assert_int_equal(RtlStringCbCatExA(d, sizeof d, "2", &end, &left, 0), STATUS_SUCCESS);
    assert_int_equal(left, 6);
    assert_int_equal(RtlStringCbPrintfExA(d, sizeof d, &end, &left, 0, "%s", "p"), STATUS_SUCCESS);
    assert_int_equal(left, 9);
}

static void test_rtl_string_ex_fill_behind_null(void **state)
{
    char d[8];
    kmtest_junk(d, sizeof d);
    assert_int_equal(RtlStringCchCopyExA(d, sizeof d, "ab", NULL, NULL, STRSAFE_FILL_BYTE('#')),
                     STATUS_SUCCESS);
    assert_memory_equal(d, "ab\0#####", 8);
    WCHAR w[4];
    kmtest_junk(w, sizeof w);
    assert_int_equal(
        RtlStringCchCopyExW(w, RTL_NUMBER_OF(w), L"a", NULL, NULL, STRSAFE_FILL_BYTE(0)),
        STATUS_SUCCESS);
    static const WCHAR want[4] = {L'a', 0, 0, 0};
    assert_memory_equal(w, want, sizeof want);
}

static void test_rtl_string_ex_ignore_nulls(void **state)
{
    char d[4] = "zz";
    char *end = NULL;
    size_t left = 9;
    assert_int_equal(RtlStringCchCopyExA(d, sizeof d, NULL, &end, &left, STRSAFE_IGNORE_NULLS),
                     STATUS_SUCCESS);
    assert_string_equal(d, "");
    assert_int_equal(left, 4);
    assert_int_equal(RtlStringCchCopyExA(NULL, 0, "", &end, &left, STRSAFE_IGNORE_NULLS),
                     STATUS_SUCCESS);
    assert_int_equal(left, 0);
    assert_int_equal(RtlStringCchCopyExA(NULL, 4, "", NULL, NULL, STRSAFE_IGNORE_NULLS),
                     STATUS_INVALID_PARAMETER); /* a NULL destination must have size 0 */
    assert_int_equal(RtlStringCchCopyExA(d, sizeof d, NULL, NULL, NULL, 0),
                     STATUS_INVALID_PARAMETER);
    assert_int_equal(RtlStringCchPrintfExA(d, sizeof d, NULL, NULL, STRSAFE_IGNORE_NULLS, NULL),
                     STATUS_SUCCESS);
    assert_string_equal(d, "");
    strcpy(d, "ab");
    assert_int_equal(RtlStringCchCatExA(d, sizeof d, NULL, NULL, NULL, STRSAFE_IGNORE_NULLS),
                     STATUS_SUCCESS);
    assert_string_equal(d, "ab");
}

static void test_rtl_string_ex_failure_flags(void **state)
{
    char d[6];
    char *end = NULL;
    size_t left = 0;
    /* NULL_ON_FAILURE: an overflow leaves "". */
    assert_int_equal(
        RtlStringCchCopyExA(d, sizeof d, "toolongtext", &end, &left, STRSAFE_NULL_ON_FAILURE),
        STATUS_BUFFER_OVERFLOW);
    assert_string_equal(d, "");
    assert_ptr_equal(end, d);
    assert_int_equal(left, 6);
    /* NO_TRUNCATION: Cat leaves the destination as it was; Copy leaves "". */
    strcpy(d, "ab");
    assert_int_equal(RtlStringCchCatExA(d, sizeof d, "cdefg", &end, &left, STRSAFE_NO_TRUNCATION),
                     STATUS_BUFFER_OVERFLOW);
    assert_string_equal(d, "ab");
    assert_ptr_equal(end, d + 2);
    assert_int_equal(left, 4);
    assert_int_equal(
        RtlStringCchPrintfExA(d, sizeof d, &end, &left, STRSAFE_NO_TRUNCATION, "%s", "123456"),
        STATUS_BUFFER_OVERFLOW);
    assert_string_equal(d, "");
    /* FILL_ON_FAILURE: the whole buffer filled, a NUL at its end. */
    assert_int_equal(
        RtlStringCchCopyExA(d, sizeof d, "123456", &end, &left, STRSAFE_FAILURE_BYTE('*')),
        STATUS_BUFFER_OVERFLOW);
    assert_memory_equal(d, "*****", 6);
    assert_ptr_equal(end, d + 5);
    assert_int_equal(left, 1);
    /* The same on success changes nothing. */
    assert_int_equal(RtlStringCchCopyExA(d, sizeof d, "ok", NULL, NULL,
                                         STRSAFE_NULL_ON_FAILURE | STRSAFE_NO_TRUNCATION),
                     STATUS_SUCCESS);
    assert_string_equal(d, "ok");
    WCHAR w[4] = L"x";
    assert_int_equal(
        RtlStringCchCatExW(w, RTL_NUMBER_OF(w), L"yzw", NULL, NULL, STRSAFE_NO_TRUNCATION),
        STATUS_BUFFER_OVERFLOW);
    assert_wstr(w, L"x");
}

/* ---- UNICODE_STRING forms ---- */

static void test_rtl_unicode_string_copy_cat(void **state)
{
    WCHAR buf[6];
    UNICODE_STRING d = {0, sizeof buf, buf}, rem;
    UNICODE_STRING s = RTL_CONSTANT_STRING(L"abc");
    assert_int_equal(RtlUnicodeStringCopy(&d, &s), STATUS_SUCCESS);
    assert_int_equal(d.Length, 3 * sizeof(WCHAR));
    assert_memory_equal(buf, L"abc", 6);
    assert_int_equal(RtlUnicodeStringCat(&d, &s), STATUS_SUCCESS);
    assert_int_equal(d.Length, 6 * sizeof(WCHAR)); /* full: no NUL in a UNICODE_STRING */
    assert_memory_equal(buf, L"abcabc", 12);
    assert_int_equal(RtlUnicodeStringCatString(&d, L"x"), STATUS_BUFFER_OVERFLOW);
    assert_int_equal(d.Length, 6 * sizeof(WCHAR));
    assert_int_equal(RtlUnicodeStringCopyString(&d, L"12345678"), STATUS_BUFFER_OVERFLOW);
    assert_int_equal(d.Length, 6 * sizeof(WCHAR));
    assert_memory_equal(buf, L"123456", 12);
    d.Length = 2;
    assert_int_equal(RtlUnicodeStringCatEx(&d, &s, &rem, 0), STATUS_SUCCESS);
    assert_int_equal(d.Length, 4 * sizeof(WCHAR));
    assert_ptr_equal(rem.Buffer, buf + 4);
    assert_int_equal(rem.Length, 0);
    assert_int_equal(rem.MaximumLength, 2 * sizeof(WCHAR));
    assert_int_equal(RtlUnicodeStringCatEx(&d, &s, NULL, STRSAFE_NO_TRUNCATION),
                     STATUS_BUFFER_OVERFLOW);
    assert_int_equal(d.Length, 4 * sizeof(WCHAR));
    assert_int_equal(RtlUnicodeStringCopyEx(&d, &s, NULL, STRSAFE_ZERO_LENGTH_ON_FAILURE),
                     STATUS_SUCCESS);
    assert_int_equal(RtlUnicodeStringCopyEx(&d, NULL, NULL, STRSAFE_IGNORE_NULLS), STATUS_SUCCESS);
    assert_int_equal(d.Length, 0);
    /* Invalid strings. */
    assert_int_equal(RtlUnicodeStringCopy(&d, NULL), STATUS_INVALID_PARAMETER);
    UNICODE_STRING odd = {3, sizeof buf, buf};
    assert_int_equal(RtlUnicodeStringCopy(&odd, &s), STATUS_INVALID_PARAMETER);
    assert_int_equal(RtlUnicodeStringCat(&d, &odd), STATUS_INVALID_PARAMETER);
    UNICODE_STRING over = {8, 4, buf};
    assert_int_equal(RtlUnicodeStringValidate(&over), STATUS_INVALID_PARAMETER);
    assert_int_equal(RtlUnicodeStringValidate(&s), STATUS_SUCCESS);
    assert_int_equal(RtlUnicodeStringCopyEx(&d, &s, NULL, 0x80000), STATUS_INVALID_PARAMETER);
    UNICODE_STRING init;
    assert_int_equal(RtlUnicodeStringInit(&init, L"hey"), STATUS_SUCCESS);
    assert_int_equal(init.Length, 6);
    assert_int_equal(init.MaximumLength, 8);
}

static void test_rtl_unicode_string_printf(void **state)
{
    WCHAR buf[8];
    UNICODE_STRING d = {0, sizeof buf, buf}, rem;
    assert_int_equal(RtlUnicodeStringPrintf(&d, L"%s-%d", L"ab", 42), STATUS_SUCCESS);
    assert_int_equal(d.Length, 5 * sizeof(WCHAR));
    assert_memory_equal(buf, L"ab-42", 10);
    /* Exactly full: 8 characters fit (no NUL kept). */
    assert_int_equal(RtlUnicodeStringPrintf(&d, L"%08x", 0x1234u), STATUS_SUCCESS);
    assert_int_equal(d.Length, 8 * sizeof(WCHAR));
    assert_memory_equal(buf, L"00001234", 16);
    assert_int_equal(RtlUnicodeStringPrintfEx(&d, &rem, 0, L"%s", L"123456789"),
                     STATUS_BUFFER_OVERFLOW);
    assert_int_equal(d.Length, 8 * sizeof(WCHAR));
    assert_memory_equal(buf, L"12345678", 16);
    assert_int_equal(rem.MaximumLength, 0);
    assert_int_equal(
        RtlUnicodeStringPrintfEx(&d, NULL, STRSAFE_ZERO_LENGTH_ON_FAILURE, L"%s", L"123456789"),
        STATUS_BUFFER_OVERFLOW);
    assert_int_equal(d.Length, 0);
    assert_int_equal(RtlUnicodeStringPrintf(&d, NULL), STATUS_INVALID_PARAMETER);
    assert_int_equal(RtlUnicodeStringPrintf(NULL, L"x"), STATUS_INVALID_PARAMETER);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_rtl_string_copy_a),
    cmocka_unit_test(test_rtl_string_copy_w),
    cmocka_unit_test(test_rtl_string_copy_n),
    cmocka_unit_test(test_rtl_string_cat),
    cmocka_unit_test(test_rtl_string_length),
    cmocka_unit_test(test_rtl_string_printf_a),
    cmocka_unit_test(test_rtl_string_printf_w),
    cmocka_unit_test(test_rtl_string_ex_end_and_remaining),
    cmocka_unit_test(test_rtl_string_ex_fill_behind_null),
    cmocka_unit_test(test_rtl_string_ex_ignore_nulls),
    cmocka_unit_test(test_rtl_string_ex_failure_flags),
    cmocka_unit_test(test_rtl_unicode_string_copy_cat),
    cmocka_unit_test(test_rtl_unicode_string_printf),
};

KMTEST_MAIN(tests)

/* Counted strings: initialisation, cp1252 <-> UTF-16 conversion, append, copy, compare, case. */
#include "kmtest.h"
#include "rtlp.h"

#include <stdlib.h>

/* A WCHAR buffer filled with junk and described by a UNICODE_STRING of MaximumLength bytes. */
#define JUNK_USTR(name, bytes)                                                                     \
    WCHAR name##_buf[(bytes + 1) / 2 + 4];                                                         \
    UNICODE_STRING name;                                                                           \
    kmtest_junk(name##_buf, sizeof name##_buf);                                                    \
    kmtest_junk(&name, sizeof name);                                                               \
    RtlInitEmptyUnicodeString(&name, name##_buf, (USHORT)(bytes))

#define JUNK_ASTR(name, bytes)                                                                     \
    CHAR name##_buf[(bytes) + 8];                                                                  \
    ANSI_STRING name;                                                                              \
    kmtest_junk(name##_buf, sizeof name##_buf);                                                    \
    kmtest_junk(&name, sizeof name);                                                               \
    RtlInitEmptyAnsiString(&name, name##_buf, (USHORT)(bytes))

static void assert_ustr(PCUNICODE_STRING s, PCWSTR expected)
{
    size_t n = RtlpWcsLen(expected);
    assert_int_equal(s->Length, n * sizeof(WCHAR));
    assert_memory_equal(s->Buffer, expected, n * sizeof(WCHAR));
}

static void assert_astr(PCANSI_STRING s, const char *expected)
{
    assert_int_equal(s->Length, strlen(expected));
    assert_memory_equal(s->Buffer, expected, strlen(expected));
}

/* ---- Initialisation ---- */

static void test_rtl_init_string_and_ansi_string(void **state)
{
    STRING s;
    ANSI_STRING a;
    static const char text[] = "kmrig driver";
    kmtest_junk(&s, sizeof s);
    RtlInitString(&s, text);
    assert_ptr_equal(s.Buffer, text);
    assert_int_equal(s.Length, strlen(text));
    assert_int_equal(s.MaximumLength, strlen(text) + 1);

    kmtest_junk(&a, sizeof a);
    RtlInitAnsiString(&a, "");
    assert_int_equal(a.Length, 0);
    assert_int_equal(a.MaximumLength, 1);

    kmtest_junk(&a, sizeof a);
    RtlInitAnsiString(&a, NULL);
    assert_null(a.Buffer);
    assert_int_equal(a.Length, 0);
    assert_int_equal(a.MaximumLength, 0);

    kmtest_junk(&s, sizeof s);
    RtlInitString(&s, NULL);
    assert_null(s.Buffer);
    assert_int_equal(s.MaximumLength, 0);
}

static void test_rtl_init_string_too_long_is_cut(void **state)
{
    size_t n = 70000;
    char *big = malloc(n + 1);
    memset(big, 'x', n);
    big[n] = 0;
    ANSI_STRING a;
    kmtest_junk(&a, sizeof a);
    RtlInitAnsiString(&a, big);
    assert_int_equal(a.Length, 0xFFFE);
    assert_int_equal(a.MaximumLength, 0xFFFF);
    kmtest_junk(&a, sizeof a);
    assert_int_equal(RtlInitAnsiStringEx(&a, big), STATUS_NAME_TOO_LONG);
    big[0xFFFE] = 0;
    assert_int_equal(RtlInitAnsiStringEx(&a, big), STATUS_SUCCESS);
    assert_int_equal(a.Length, 0xFFFE);
    free(big);
}

static void test_rtl_init_unicode_string(void **state)
{
    static const WCHAR text[] = L"\\Device\\Kmrig0";
    UNICODE_STRING u;
    kmtest_junk(&u, sizeof u);
    RtlInitUnicodeString(&u, text);
    assert_ptr_equal(u.Buffer, text);
    assert_int_equal(u.Length, sizeof text - sizeof(WCHAR));
    assert_int_equal(u.MaximumLength, sizeof text);

    kmtest_junk(&u, sizeof u);
    RtlInitUnicodeString(&u, NULL);
    assert_null(u.Buffer);
    assert_int_equal(u.Length, 0);
    assert_int_equal(u.MaximumLength, 0);

    kmtest_junk(&u, sizeof u);
    assert_int_equal(RtlInitUnicodeStringEx(&u, L"ab"), STATUS_SUCCESS);
    assert_int_equal(u.Length, 4);
    assert_int_equal(u.MaximumLength, 6);
    kmtest_junk(&u, sizeof u);
    assert_int_equal(RtlInitUnicodeStringEx(&u, NULL), STATUS_SUCCESS);
    assert_int_equal(u.Length, 0);
    assert_null(u.Buffer);
}

static void test_rtl_init_unicode_string_too_long_is_cut(void **state)
{
    size_t n = 40000;
    PWCHAR big = malloc((n + 1) * sizeof(WCHAR));
    for (size_t i = 0; i < n; i++)
        big[i] = L'w';
    big[n] = 0;
    UNICODE_STRING u;
    kmtest_junk(&u, sizeof u);
    RtlInitUnicodeString(&u, big);
    assert_int_equal(u.Length, 0xFFFC);
    assert_int_equal(u.MaximumLength, 0xFFFE);
    kmtest_junk(&u, sizeof u);
    assert_int_equal(RtlInitUnicodeStringEx(&u, big), STATUS_NAME_TOO_LONG);
    big[0xFFFC / 2] = 0;
    assert_int_equal(RtlInitUnicodeStringEx(&u, big), STATUS_SUCCESS);
    assert_int_equal(u.Length, 0xFFFC);
    big[0xFFFC / 2] = L'w';
    big[0xFFFC / 2 + 1] = 0;
    assert_int_equal(RtlInitUnicodeStringEx(&u, big), STATUS_NAME_TOO_LONG);
    free(big);
}

static void test_rtl_init_empty_unicode_string(void **state)
{
    WCHAR buf[8];
    UNICODE_STRING u;
    kmtest_junk(&u, sizeof u);
    RtlInitEmptyUnicodeString(&u, buf, sizeof buf);
    assert_int_equal(u.Length, 0);
    assert_int_equal(u.MaximumLength, sizeof buf);
    assert_ptr_equal(u.Buffer, buf);
    CHAR abuf[5];
    ANSI_STRING a;
    kmtest_junk(&a, sizeof a);
    RtlInitEmptyAnsiString(&a, abuf, sizeof abuf);
    assert_int_equal(a.Length, 0);
    assert_int_equal(a.MaximumLength, 5);
    assert_ptr_equal(a.Buffer, abuf);
}

/* ---- Sizes ---- */

static void test_rtl_ansi_string_to_unicode_size(void **state)
{
    ANSI_STRING a;
    for (const char *const *t = (const char *const[]){"", "a", "hello", "x\xe9y", NULL}; *t; t++) {
        RtlInitAnsiString(&a, *t);
        ULONG want = (ULONG)(strlen(*t) + 1) * sizeof(WCHAR);
        assert_int_equal(RtlAnsiStringToUnicodeSize(&a), want);
        assert_int_equal((RtlAnsiStringToUnicodeSize)(&a), want);
        assert_int_equal(RtlxAnsiStringToUnicodeSize(&a), want);
    }
    a.Length = 0xFFFF;
    assert_int_equal(RtlxAnsiStringToUnicodeSize(&a), 0x20000);
}

static void test_rtl_unicode_string_to_ansi_size(void **state)
{
    UNICODE_STRING u;
    RtlInitUnicodeString(&u, L"");
    assert_int_equal(RtlUnicodeStringToAnsiSize(&u), 1);
    RtlInitUnicodeString(&u, L"driver");
    assert_int_equal(RtlUnicodeStringToAnsiSize(&u), 7);
    assert_int_equal((RtlUnicodeStringToAnsiSize)(&u), 7);
    assert_int_equal(RtlxUnicodeStringToAnsiSize(&u), 7);
}

/* ---- Conversions ---- */

static void test_rtl_ansi_string_to_unicode_string_into_buffer(void **state)
{
    ANSI_STRING a;
    RtlInitAnsiString(&a, "Caf\xe9 \x80 5");
    JUNK_USTR(u, 64);
    assert_int_equal(RtlAnsiStringToUnicodeString(&u, &a, FALSE), STATUS_SUCCESS);
    assert_ustr(&u, L"Caf\x00e9 \x20ac 5");
    assert_int_equal(u.Buffer[u.Length / 2], 0); /* NUL-terminated */
    assert_int_equal(u.MaximumLength, 64);
    assert_ptr_equal(u.Buffer, u_buf);
}

static void test_rtl_ansi_string_to_unicode_string_buffer_overflow(void **state)
{
    ANSI_STRING a;
    RtlInitAnsiString(&a, "abcd");
    /* Exactly the characters but no room for the NUL: overflow, destination untouched. */
    JUNK_USTR(u, 8);
    assert_int_equal(RtlAnsiStringToUnicodeString(&u, &a, FALSE), STATUS_BUFFER_OVERFLOW);
    assert_int_equal(u.Length, 0);
    assert_int_equal(u_buf[0], 0xA5A5);
    /* Characters plus NUL fit exactly. */
    JUNK_USTR(v, 10);
    assert_int_equal(RtlAnsiStringToUnicodeString(&v, &a, FALSE), STATUS_SUCCESS);
    assert_ustr(&v, L"abcd");
    assert_int_equal(v_buf[4], 0);
    assert_int_equal(v_buf[5], 0xA5A5);
}

static void test_rtl_ansi_string_to_unicode_string_too_long(void **state)
{
    ANSI_STRING a;
    char big[0x8000];
    memset(big, 'q', sizeof big);
    a.Buffer = big;
    a.Length = a.MaximumLength = 0x7FFF; /* (0x7FFF + 1) * 2 = 0x10000 > MAXUSHORT */
    JUNK_USTR(u, 16);
    assert_int_equal(RtlAnsiStringToUnicodeString(&u, &a, FALSE), STATUS_INVALID_PARAMETER_2);
    a.Length = 0x7FFE;
    assert_int_equal(RtlAnsiStringToUnicodeString(&u, &a, FALSE), STATUS_BUFFER_OVERFLOW);
}

static void test_rtl_unicode_string_to_ansi_string_into_buffer(void **state)
{
    UNICODE_STRING u;
    RtlInitUnicodeString(&u, L"Stra\x00dF\x0065 \x20ac \x4e2d");
    JUNK_ASTR(a, 32);
    assert_int_equal(RtlUnicodeStringToAnsiString(&a, &u, FALSE), STATUS_SUCCESS);
    /* U+20AC is 0x80 in cp1252; U+4E2D has no cp1252 byte and becomes '?'. */
    assert_astr(&a, "Stra\xdf"
                    "e \x80 ?");
    assert_int_equal(a.Buffer[a.Length], 0);
    assert_int_equal(a.MaximumLength, 32);
}

static void test_rtl_unicode_string_to_ansi_string_truncates_with_overflow(void **state)
{
    UNICODE_STRING u;
    RtlInitUnicodeString(&u, L"0123456789");
    JUNK_ASTR(a, 6);
    assert_int_equal(RtlUnicodeStringToAnsiString(&a, &u, FALSE), STATUS_BUFFER_OVERFLOW);
    assert_astr(&a, "01234");
    assert_int_equal(a_buf[5], 0);
    assert_int_equal((UCHAR)a_buf[6], 0xA5);

    JUNK_ASTR(z, 0);
    assert_int_equal(RtlUnicodeStringToAnsiString(&z, &u, FALSE), STATUS_BUFFER_OVERFLOW);
    assert_int_equal((UCHAR)z_buf[0], 0xA5);

    JUNK_ASTR(b, 11);
    assert_int_equal(RtlUnicodeStringToAnsiString(&b, &u, FALSE), STATUS_SUCCESS);
    assert_astr(&b, "0123456789");
    assert_int_equal(b_buf[10], 0);
}

static void test_rtl_ansi_unicode_round_trip_every_byte(void **state)
{
    CHAR bytes[255];
    for (int i = 0; i < 255; i++)
        bytes[i] = (CHAR)(i + 1);
    ANSI_STRING a = {sizeof bytes, sizeof bytes, bytes};
    JUNK_USTR(u, 512);
    assert_int_equal(RtlAnsiStringToUnicodeString(&u, &a, FALSE), STATUS_SUCCESS);
    assert_int_equal(u.Length, 255 * 2);
    /* ASCII and Latin-1 map to themselves. */
    for (int i = 1; i < 0x80; i++)
        assert_int_equal(u.Buffer[i - 1], i);
    for (int i = 0xA0; i < 0x100; i++)
        assert_int_equal(u.Buffer[i - 1], i);
    JUNK_ASTR(back, 256);
    assert_int_equal(RtlUnicodeStringToAnsiString(&back, &u, FALSE), STATUS_SUCCESS);
    assert_int_equal(back.Length, 255);
    assert_memory_equal(back.Buffer, bytes, 255);
}

static void test_rtl_multi_byte_and_unicode_n(void **state)
{
    WCHAR w[4];
    ULONG got = 0;
    kmtest_junk(w, sizeof w);
    assert_int_equal(RtlMultiByteToUnicodeN(w, sizeof w, &got, "abcdef", 6), STATUS_SUCCESS);
    assert_int_equal(got, 8);
    assert_int_equal(w[3], L'd');
    CHAR m[3];
    assert_int_equal(RtlUnicodeToMultiByteN(m, sizeof m, &got, L"xyz!", 8), STATUS_SUCCESS);
    assert_int_equal(got, 3);
    assert_memory_equal(m, "xyz", 3);
    assert_int_equal(RtlMultiByteToUnicodeSize(&got, "abc", 3), STATUS_SUCCESS);
    assert_int_equal(got, 6);
    assert_int_equal(RtlUnicodeToMultiByteSize(&got, L"abc", 6), STATUS_SUCCESS);
    assert_int_equal(got, 3);
}

static void test_rtl_ansi_string_to_unicode_string_allocates(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    ANSI_STRING a;
    UNICODE_STRING u;
    RtlInitAnsiString(&a, "allocated \xe9");
    kmtest_junk(&u, sizeof u);
    assert_int_equal(RtlAnsiStringToUnicodeString(&u, &a, TRUE), STATUS_SUCCESS);
    assert_non_null(u.Buffer);
    assert_int_equal(u.MaximumLength, (a.Length + 1) * 2);
    assert_ustr(&u, L"allocated \x00e9");
    assert_int_equal(u.Buffer[u.Length / 2], 0);
    RtlFreeUnicodeString(&u);
    assert_null(u.Buffer);
    assert_int_equal(u.Length, 0);
    assert_int_equal(u.MaximumLength, 0);
    RtlFreeUnicodeString(&u); /* NULL Buffer: nothing to free */

    RtlInitAnsiString(&a, "");
    kmtest_junk(&u, sizeof u);
    assert_int_equal(RtlAnsiStringToUnicodeString(&u, &a, TRUE), STATUS_SUCCESS);
    assert_int_equal(u.Length, 0);
    assert_int_equal(u.MaximumLength, 2);
    assert_int_equal(u.Buffer[0], 0);
    RtlFreeUnicodeString(&u);
    kmrig_runtime_destroy(rt);
}

static void test_rtl_unicode_string_to_ansi_string_allocates(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    UNICODE_STRING u;
    ANSI_STRING a;
    RtlInitUnicodeString(&u, L"\\Registry\\Machine");
    kmtest_junk(&a, sizeof a);
    assert_int_equal(RtlUnicodeStringToAnsiString(&a, &u, TRUE), STATUS_SUCCESS);
    assert_astr(&a, "\\Registry\\Machine");
    assert_int_equal(a.MaximumLength, a.Length + 1);
    assert_int_equal(a.Buffer[a.Length], 0);
    RtlFreeAnsiString(&a);
    assert_null(a.Buffer);
    assert_int_equal(a.MaximumLength, 0);
    RtlFreeAnsiString(&a);
    kmrig_runtime_destroy(rt);
}

static void test_rtl_create_and_duplicate_unicode_string(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    UNICODE_STRING c, d, e;
    kmtest_junk(&c, sizeof c);
    assert_true(RtlCreateUnicodeString(&c, L"created"));
    assert_ustr(&c, L"created");
    assert_int_equal(c.MaximumLength, c.Length + 2);
    assert_int_equal(c.Buffer[c.Length / 2], 0);

    kmtest_junk(&d, sizeof d);
    assert_int_equal(RtlDuplicateUnicodeString(RTL_DUPLICATE_UNICODE_STRING_NULL_TERMINATE, &c, &d),
                     STATUS_SUCCESS);
    assert_true(d.Buffer != c.Buffer);
    assert_ustr(&d, L"created");
    assert_int_equal(d.MaximumLength, d.Length + 2);
    assert_int_equal(d.Buffer[d.Length / 2], 0);

    kmtest_junk(&e, sizeof e);
    assert_int_equal(RtlDuplicateUnicodeString(0, &c, &e), STATUS_SUCCESS);
    assert_int_equal(e.MaximumLength, e.Length);
    RtlFreeUnicodeString(&e);

    UNICODE_STRING empty = {0, 0, NULL};
    kmtest_junk(&e, sizeof e);
    assert_int_equal(
        RtlDuplicateUnicodeString(RTL_DUPLICATE_UNICODE_STRING_NULL_TERMINATE, &empty, &e),
        STATUS_SUCCESS);
    assert_null(e.Buffer);
    assert_int_equal(e.MaximumLength, 0);
    assert_int_equal(RtlDuplicateUnicodeString(3, &empty, &e), STATUS_SUCCESS);
    assert_non_null(e.Buffer);
    assert_int_equal(e.MaximumLength, 2);
    RtlFreeUnicodeString(&e);

    assert_int_equal(
        RtlDuplicateUnicodeString(RTL_DUPLICATE_UNICODE_STRING_ALLOCATE_NULL_STRING, &c, &e),
        STATUS_INVALID_PARAMETER);
    assert_int_equal(RtlDuplicateUnicodeString(4, &c, &e), STATUS_INVALID_PARAMETER);
    assert_int_equal(RtlDuplicateUnicodeString(0, NULL, &e), STATUS_INVALID_PARAMETER);
    RtlFreeUnicodeString(&c);
    RtlFreeUnicodeString(&d);
    kmrig_runtime_destroy(rt);
}

/* ---- Append and copy ---- */

static void test_rtl_append_unicode_string_to_string(void **state)
{
    JUNK_USTR(d, 20);
    UNICODE_STRING s;
    RtlInitUnicodeString(&s, L"abc");
    assert_int_equal(RtlAppendUnicodeStringToString(&d, &s), STATUS_SUCCESS);
    assert_ustr(&d, L"abc");
    assert_int_equal(d_buf[3], 0); /* room: terminated */
    RtlInitUnicodeString(&s, L"defghi");
    assert_int_equal(RtlAppendUnicodeStringToString(&d, &s), STATUS_SUCCESS);
    assert_ustr(&d, L"abcdefghi");
    assert_int_equal(d_buf[9], 0);
    /* Exactly full (20 bytes): no NUL written past MaximumLength. */
    RtlInitUnicodeString(&s, L"j");
    assert_int_equal(RtlAppendUnicodeStringToString(&d, &s), STATUS_SUCCESS);
    assert_ustr(&d, L"abcdefghij");
    assert_int_equal(d_buf[10], 0xA5A5);
    /* Full: refused, nothing changes. */
    assert_int_equal(RtlAppendUnicodeStringToString(&d, &s), STATUS_BUFFER_TOO_SMALL);
    assert_ustr(&d, L"abcdefghij");
    assert_int_equal(d_buf[10], 0xA5A5);
    /* An empty source always succeeds. */
    RtlInitUnicodeString(&s, L"");
    assert_int_equal(RtlAppendUnicodeStringToString(&d, &s), STATUS_SUCCESS);
    assert_int_equal(d.Length, 20);
}

static void test_rtl_append_unicode_string_to_string_too_small_keeps_destination(void **state)
{
    JUNK_USTR(d, 10);
    UNICODE_STRING s;
    RtlInitUnicodeString(&s, L"12");
    assert_int_equal(RtlAppendUnicodeStringToString(&d, &s), STATUS_SUCCESS);
    RtlInitUnicodeString(&s, L"3456");
    assert_int_equal(RtlAppendUnicodeStringToString(&d, &s), STATUS_BUFFER_TOO_SMALL);
    assert_ustr(&d, L"12");
    assert_int_equal(d_buf[2], 0);
    assert_int_equal(d_buf[3], 0xA5A5);
}

static void test_rtl_append_unicode_to_string(void **state)
{
    JUNK_USTR(d, 12);
    assert_int_equal(RtlAppendUnicodeToString(&d, L"foo"), STATUS_SUCCESS);
    assert_ustr(&d, L"foo");
    assert_int_equal(d_buf[3], 0);
    assert_int_equal(RtlAppendUnicodeToString(&d, NULL), STATUS_SUCCESS);
    assert_ustr(&d, L"foo");
    /* "barx" needs 8 more bytes, 6 are left (the source's NUL is not counted). */
    assert_int_equal(RtlAppendUnicodeToString(&d, L"barx"), STATUS_BUFFER_TOO_SMALL);
    assert_ustr(&d, L"foo");
    assert_int_equal(d_buf[3], 0);
    assert_int_equal(d_buf[4], 0xA5A5);
    assert_int_equal(RtlAppendUnicodeToString(&d, L"bar"), STATUS_SUCCESS);
    assert_ustr(&d, L"foobar");
    assert_int_equal(d_buf[6], 0xA5A5); /* exactly full: not terminated */
}

static void test_rtl_append_string_to_string(void **state)
{
    JUNK_ASTR(d, 5);
    STRING s;
    RtlInitString(&s, "abc");
    assert_int_equal(RtlAppendStringToString(&d, &s), STATUS_SUCCESS);
    assert_int_equal(RtlAppendStringToString(&d, &s), STATUS_BUFFER_TOO_SMALL);
    assert_astr(&d, "abc");
    RtlInitString(&s, "de");
    assert_int_equal(RtlAppendStringToString(&d, &s), STATUS_SUCCESS);
    assert_astr(&d, "abcde");
}

static void test_rtl_copy_string_truncates_to_maximum_length(void **state)
{
    STRING src;
    RtlInitString(&src, "0123456789");
    JUNK_ASTR(d, 4);
    d.Length = 3;
    RtlCopyString(&d, &src);
    assert_int_equal(d.Length, 4);
    assert_memory_equal(d.Buffer, "0123", 4);
    assert_int_equal((UCHAR)d_buf[4], 0xA5); /* never terminated */
    assert_int_equal(d.MaximumLength, 4);
    JUNK_ASTR(big, 20);
    RtlCopyString(&big, &src);
    assert_astr(&big, "0123456789");
    assert_int_equal((UCHAR)big_buf[10], 0xA5);
    RtlCopyString(&big, NULL);
    assert_int_equal(big.Length, 0);
    assert_ptr_equal(big.Buffer, big_buf);
    assert_int_equal(big.MaximumLength, 20);
}

static void test_rtl_copy_unicode_string_truncates_to_maximum_length(void **state)
{
    UNICODE_STRING src;
    RtlInitUnicodeString(&src, L"abcdefgh");
    JUNK_USTR(d, 6);
    RtlCopyUnicodeString(&d, &src);
    assert_ustr(&d, L"abc");
    assert_int_equal(d_buf[3], 0xA5A5); /* full: no NUL */
    assert_int_equal(d.MaximumLength, 6);
    assert_ptr_equal(d.Buffer, d_buf);
    JUNK_USTR(e, 40);
    RtlCopyUnicodeString(&e, &src);
    assert_ustr(&e, L"abcdefgh");
    assert_int_equal(e_buf[8], 0); /* room: terminated */
    RtlCopyUnicodeString(&e, NULL);
    assert_int_equal(e.Length, 0);
    assert_int_equal(e.MaximumLength, 40);
}

/* ---- Compare ---- */

static void test_rtl_equal_string_case_insensitive(void **state)
{
    STRING a, b;
    RtlInitString(&a, "Hello \xe9t\xe9");
    RtlInitString(&b, "HELLO \xc9T\xc9");
    assert_false(RtlEqualString(&a, &b, FALSE));
    assert_true(RtlEqualString(&a, &b, TRUE));
    assert_true(RtlEqualString(&a, &a, FALSE));
    RtlInitString(&b, "HELLO \xc9T");
    assert_false(RtlEqualString(&a, &b, TRUE)); /* lengths differ */
    RtlInitString(&a, "[");
    RtlInitString(&b, "{"); /* not case pairs */
    assert_false(RtlEqualString(&a, &b, TRUE));
}

static void test_rtl_equal_unicode_string_case_insensitive(void **state)
{
    UNICODE_STRING a, b;
    RtlInitUnicodeString(&a, L"\\DosDevices\\K\x00e4rt\x00ff");
    RtlInitUnicodeString(&b, L"\\dosdevices\\k\x00c4RT\x0178");
    assert_false(RtlEqualUnicodeString(&a, &b, FALSE));
    assert_true(RtlEqualUnicodeString(&a, &b, TRUE));
    RtlInitUnicodeString(&b, L"\\dosdevices\\k\x00c4RT");
    assert_false(RtlEqualUnicodeString(&a, &b, TRUE));
    /* U+00F7 (division) and U+00D7 (multiplication) are not a case pair. */
    RtlInitUnicodeString(&a, L"\x00f7");
    RtlInitUnicodeString(&b, L"\x00d7");
    assert_false(RtlEqualUnicodeString(&a, &b, TRUE));
    /* Lengths count, not NULs: a string with an embedded character beyond the NUL. */
    WCHAR x[] = {L'a', 0, L'b'}, y[] = {L'a', 0, L'c'};
    UNICODE_STRING ux = {sizeof x, sizeof x, x}, uy = {sizeof y, sizeof y, y};
    assert_false(RtlEqualUnicodeString(&ux, &uy, FALSE));
    ux.Length = uy.Length = 4;
    assert_true(RtlEqualUnicodeString(&ux, &uy, FALSE));
}

static void test_rtl_compare_string_ordering(void **state)
{
    STRING a, b;
    RtlInitString(&a, "apple");
    RtlInitString(&b, "apricot");
    assert_true(RtlCompareString(&a, &b, FALSE) < 0);
    assert_true(RtlCompareString(&b, &a, FALSE) > 0);
    RtlInitString(&b, "app");
    assert_true(RtlCompareString(&a, &b, FALSE) > 0); /* longer after its prefix */
    assert_true(RtlCompareString(&b, &a, FALSE) < 0);
    RtlInitString(&b, "APPLE");
    assert_true(RtlCompareString(&a, &b, FALSE) > 0); /* 'a' > 'A' */
    assert_int_equal(RtlCompareString(&a, &b, TRUE), 0);
    /* Bytes compare unsigned: 0xE9 sorts after 'z'. */
    RtlInitString(&a, "\xe9");
    RtlInitString(&b, "z");
    assert_true(RtlCompareString(&a, &b, FALSE) > 0);
}

static void test_rtl_compare_unicode_string_ordering(void **state)
{
    UNICODE_STRING a, b;
    RtlInitUnicodeString(&a, L"Kmrig");
    RtlInitUnicodeString(&b, L"kmrig");
    assert_true(RtlCompareUnicodeString(&a, &b, FALSE) < 0);
    assert_int_equal(RtlCompareUnicodeString(&a, &b, TRUE), 0);
    RtlInitUnicodeString(&b, L"kmrigs");
    assert_true(RtlCompareUnicodeString(&a, &b, TRUE) < 0);
    assert_true(RtlCompareUnicodeString(&b, &a, TRUE) > 0);
    RtlInitUnicodeString(&a, L"\x4e2d");
    RtlInitUnicodeString(&b, L"z");
    assert_true(RtlCompareUnicodeString(&a, &b, FALSE) > 0);
    assert_int_equal(RtlCompareUnicodeStrings(L"ABC", 3, L"abcd", 3, TRUE), 0);
    assert_true(RtlCompareUnicodeStrings(L"ABC", 3, L"abcd", 4, TRUE) < 0);
}

static void test_rtl_prefix_unicode_string(void **state)
{
    UNICODE_STRING p, s;
    RtlInitUnicodeString(&p, L"\\Device\\");
    RtlInitUnicodeString(&s, L"\\Device\\Kmrig0");
    assert_true(RtlPrefixUnicodeString(&p, &s, FALSE));
    assert_false(RtlPrefixUnicodeString(&s, &p, FALSE));
    RtlInitUnicodeString(&p, L"\\DEVICE\\");
    assert_false(RtlPrefixUnicodeString(&p, &s, FALSE));
    assert_true(RtlPrefixUnicodeString(&p, &s, TRUE));
}

static void test_rtl_hash_unicode_string(void **state)
{
    UNICODE_STRING a, b;
    ULONG ha, hb;
    RtlInitUnicodeString(&a, L"AB");
    assert_int_equal(RtlHashUnicodeString(&a, FALSE, HASH_STRING_ALGORITHM_X65599, &ha),
                     STATUS_SUCCESS);
    assert_int_equal(ha, (ULONG)('A' * 65599u + 'B'));
    RtlInitUnicodeString(&b, L"ab");
    assert_int_equal(RtlHashUnicodeString(&b, FALSE, HASH_STRING_ALGORITHM_DEFAULT, &hb),
                     STATUS_SUCCESS);
    assert_int_not_equal(ha, hb);
    assert_int_equal(RtlHashUnicodeString(&b, TRUE, HASH_STRING_ALGORITHM_DEFAULT, &hb),
                     STATUS_SUCCESS);
    assert_int_equal(ha, hb);
    assert_int_equal(RtlHashUnicodeString(&b, TRUE, HASH_STRING_ALGORITHM_INVALID, &hb),
                     STATUS_INVALID_PARAMETER);
    assert_int_equal(RtlHashUnicodeString(&b, TRUE, 0, NULL), STATUS_INVALID_PARAMETER);
}

/* ---- Case ---- */

static void test_rtl_upcase_unicode_char_latin1(void **state)
{
    assert_int_equal(RtlUpcaseUnicodeChar(L'a'), L'A');
    assert_int_equal(RtlUpcaseUnicodeChar(L'z'), L'Z');
    assert_int_equal(RtlUpcaseUnicodeChar(L'A'), L'A');
    assert_int_equal(RtlUpcaseUnicodeChar(L'{'), L'{');
    assert_int_equal(RtlUpcaseUnicodeChar(0xE0), 0xC0);
    assert_int_equal(RtlUpcaseUnicodeChar(0xFE), 0xDE);
    assert_int_equal(RtlUpcaseUnicodeChar(0xF7), 0xF7);
    assert_int_equal(RtlUpcaseUnicodeChar(0xFF), 0x178);
    assert_int_equal(RtlUpcaseUnicodeChar(0xDF), 0xDF);
    assert_int_equal(RtlDowncaseUnicodeChar(0x178), 0xFF);
    assert_int_equal(RtlDowncaseUnicodeChar(0xD7), 0xD7);
    /* Exactly the documented set changes: 26 ASCII + 30 Latin-1 + U+00FF. */
    unsigned changed = 0;
    for (ULONG c = 0; c <= 0xFFFF; c++) {
        WCHAR up = RtlUpcaseUnicodeChar((WCHAR)c);
        if (up != c) {
            changed++;
            assert_int_equal(RtlDowncaseUnicodeChar(up), c);
            assert_int_equal(RtlUpcaseUnicodeChar(up), up);
        }
    }
    assert_int_equal(changed, 26 + 30 + 1);
}

static void test_rtl_upper_string(void **state)
{
    STRING src;
    RtlInitString(&src, "mixed Case \xe9\xff\xdf 9");
    JUNK_ASTR(d, 40);
    RtlUpperString(&d, &src);
    /* cp1252: e-acute -> E-acute (0xC9), y-diaeresis -> U+0178 = 0x9F, sharp s stays. */
    assert_astr(&d, "MIXED CASE \xc9\x9f\xdf 9");
    JUNK_ASTR(small, 3);
    RtlUpperString(&small, &src);
    assert_int_equal(small.Length, 3);
    assert_memory_equal(small.Buffer, "MIX", 3);
    assert_int_equal((UCHAR)small_buf[3], 0xA5);
    assert_int_equal(RtlUpperChar('q'), 'Q');
    assert_int_equal((UCHAR)RtlUpperChar((CHAR)0xE0), 0xC0);
}

static void test_rtl_upcase_unicode_string(void **state)
{
    UNICODE_STRING src;
    RtlInitUnicodeString(&src, L"abc\x00e9\x00ff!");
    JUNK_USTR(d, 12);
    assert_int_equal(RtlUpcaseUnicodeString(&d, &src, FALSE), STATUS_SUCCESS);
    assert_ustr(&d, L"ABC\x00c9\x0178!");
    assert_int_equal(d_buf[6], 0xA5A5); /* not terminated */
    JUNK_USTR(small, 10);
    assert_int_equal(RtlUpcaseUnicodeString(&small, &src, FALSE), STATUS_BUFFER_OVERFLOW);
    assert_int_equal(small.Length, 0);
    assert_int_equal(small_buf[0], 0xA5A5);
    /* In place. */
    WCHAR buf[] = L"in place";
    UNICODE_STRING ip;
    RtlInitUnicodeString(&ip, buf);
    assert_int_equal(RtlUpcaseUnicodeString(&ip, &ip, FALSE), STATUS_SUCCESS);
    assert_ustr(&ip, L"IN PLACE");
    assert_int_equal(RtlDowncaseUnicodeString(&ip, &ip, FALSE), STATUS_SUCCESS);
    assert_ustr(&ip, L"in place");
}

static void test_rtl_upcase_unicode_string_allocates(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    UNICODE_STRING src, d;
    RtlInitUnicodeString(&src, L"pool me");
    kmtest_junk(&d, sizeof d);
    assert_int_equal(RtlUpcaseUnicodeString(&d, &src, TRUE), STATUS_SUCCESS);
    assert_ustr(&d, L"POOL ME");
    assert_int_equal(d.MaximumLength, src.Length);
    RtlFreeUnicodeString(&d);
    kmtest_junk(&d, sizeof d);
    assert_int_equal(RtlDowncaseUnicodeString(&d, &src, TRUE), STATUS_SUCCESS);
    assert_ustr(&d, L"pool me");
    RtlFreeUnicodeString(&d);
    kmrig_runtime_destroy(rt);
}

/* ---- IRQL rules (verifier) ---- */

static void convert_at_dispatch(void *arg)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    KIRQL old;
    ANSI_STRING a;
    JUNK_USTR(u, 32);
    RtlInitAnsiString(&a, "x");
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    RtlAnsiStringToUnicodeString(&u, &a, FALSE);
    KeLowerIrql(old);
    kmrig_runtime_destroy(rt);
}

static void init_at_dispatch(void *arg)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    KIRQL old;
    UNICODE_STRING u;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    RtlInitUnicodeString(&u, L"fine at DISPATCH_LEVEL");
    KeLowerIrql(old);
    kmrig_runtime_destroy(rt);
}

static void test_rtl_string_routines_irql_rules(void **state)
{
    ULONG_PTR p[4];
    assert_int_equal(kmtest_bugcheck_of(convert_at_dispatch, NULL, p),
                     DRIVER_VERIFIER_DETECTED_VIOLATION);
    assert_int_equal(p[0], KMRIG_VF_IRQL_TOO_HIGH);
    assert_int_equal(p[1], DISPATCH_LEVEL);
    assert_int_equal(p[2], PASSIVE_LEVEL);
    assert_int_equal(kmtest_bugcheck_of(init_at_dispatch, NULL, NULL), 0);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_rtl_init_string_and_ansi_string),
    cmocka_unit_test(test_rtl_init_string_too_long_is_cut),
    cmocka_unit_test(test_rtl_init_unicode_string),
    cmocka_unit_test(test_rtl_init_unicode_string_too_long_is_cut),
    cmocka_unit_test(test_rtl_init_empty_unicode_string),
    cmocka_unit_test(test_rtl_ansi_string_to_unicode_size),
    cmocka_unit_test(test_rtl_unicode_string_to_ansi_size),
    cmocka_unit_test(test_rtl_ansi_string_to_unicode_string_into_buffer),
    cmocka_unit_test(test_rtl_ansi_string_to_unicode_string_buffer_overflow),
    cmocka_unit_test(test_rtl_ansi_string_to_unicode_string_too_long),
    cmocka_unit_test(test_rtl_unicode_string_to_ansi_string_into_buffer),
    cmocka_unit_test(test_rtl_unicode_string_to_ansi_string_truncates_with_overflow),
    cmocka_unit_test(test_rtl_ansi_unicode_round_trip_every_byte),
    cmocka_unit_test(test_rtl_multi_byte_and_unicode_n),
    cmocka_unit_test(test_rtl_ansi_string_to_unicode_string_allocates),
    cmocka_unit_test(test_rtl_unicode_string_to_ansi_string_allocates),
    cmocka_unit_test(test_rtl_create_and_duplicate_unicode_string),
    cmocka_unit_test(test_rtl_append_unicode_string_to_string),
    cmocka_unit_test(test_rtl_append_unicode_string_to_string_too_small_keeps_destination),
    cmocka_unit_test(test_rtl_append_unicode_to_string),
    cmocka_unit_test(test_rtl_append_string_to_string),
    cmocka_unit_test(test_rtl_copy_string_truncates_to_maximum_length),
    cmocka_unit_test(test_rtl_copy_unicode_string_truncates_to_maximum_length),
    cmocka_unit_test(test_rtl_equal_string_case_insensitive),
    cmocka_unit_test(test_rtl_equal_unicode_string_case_insensitive),
    cmocka_unit_test(test_rtl_compare_string_ordering),
    cmocka_unit_test(test_rtl_compare_unicode_string_ordering),
    cmocka_unit_test(test_rtl_prefix_unicode_string),
    cmocka_unit_test(test_rtl_hash_unicode_string),
    cmocka_unit_test(test_rtl_upcase_unicode_char_latin1),
    cmocka_unit_test(test_rtl_upper_string),
    cmocka_unit_test(test_rtl_upcase_unicode_string),
    cmocka_unit_test(test_rtl_upcase_unicode_string_allocates),
    cmocka_unit_test(test_rtl_string_routines_irql_rules),
};

KMTEST_MAIN(tests)

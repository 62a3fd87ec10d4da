/* System time <-> TIME_FIELDS, checked against the C library's proleptic Gregorian calendar. */
#define _GNU_SOURCE
#include "kmtest.h"

#include <time.h>

/* Seconds between 1601-01-01 and 1970-01-01 (the well-known FILETIME offset). */
#define UNIX_EPOCH_SECONDS 11644473600LL
#define TICKS 10000000LL

static LONGLONG nt_from_unix(LONGLONG secs)
{
    return (secs + UNIX_EPOCH_SECONDS) * TICKS;
}

static void assert_fields_match_gmtime(LONGLONG unix_secs, CSHORT ms)
{
    struct tm tm;
    time_t t = (time_t)unix_secs;
    assert_non_null(gmtime_r(&t, &tm));
    LARGE_INTEGER nt;
    nt.QuadPart = nt_from_unix(unix_secs) + ms * 10000LL;
    TIME_FIELDS f;
    kmtest_junk(&f, sizeof f);
    RtlTimeToTimeFields(&nt, &f);
    assert_int_equal(f.Year, tm.tm_year + 1900);
    assert_int_equal(f.Month, tm.tm_mon + 1);
    assert_int_equal(f.Day, tm.tm_mday);
    assert_int_equal(f.Hour, tm.tm_hour);
    assert_int_equal(f.Minute, tm.tm_min);
    assert_int_equal(f.Second, tm.tm_sec);
    assert_int_equal(f.Milliseconds, ms);
    assert_int_equal(f.Weekday, tm.tm_wday);
    /* And back. */
    LARGE_INTEGER back;
    back.QuadPart = -1;
    f.Weekday = 6; /* ignored */
    assert_true(RtlTimeFieldsToTime(&f, &back));
    assert_true(back.QuadPart == nt.QuadPart);
}

static void test_rtl_time_to_time_fields_epochs(void **state)
{
    LARGE_INTEGER t;
    TIME_FIELDS f;
    t.QuadPart = 0;
    kmtest_junk(&f, sizeof f);
    RtlTimeToTimeFields(&t, &f);
    assert_int_equal(f.Year, 1601);
    assert_int_equal(f.Month, 1);
    assert_int_equal(f.Day, 1);
    assert_int_equal(f.Hour, 0);
    assert_int_equal(f.Milliseconds, 0);
    assert_int_equal(f.Weekday, 1); /* 1601-01-01 was a Monday */

    t.QuadPart = 116444736000000000LL; /* 1970-01-01, Thursday */
    RtlTimeToTimeFields(&t, &f);
    assert_int_equal(f.Year, 1970);
    assert_int_equal(f.Month, 1);
    assert_int_equal(f.Day, 1);
    assert_int_equal(f.Weekday, 4);

    t.QuadPart = 9999; /* under a millisecond */
    RtlTimeToTimeFields(&t, &f);
    assert_int_equal(f.Milliseconds, 0);
    t.QuadPart = 10000;
    RtlTimeToTimeFields(&t, &f);
    assert_int_equal(f.Milliseconds, 1);
}

static void test_rtl_time_to_time_fields_matches_gmtime(void **state)
{
    /* From 1601 to 9999 in irregular steps, so every month, leap day and weekday comes up. */
    LONGLONG first = -UNIX_EPOCH_SECONDS, last = 253402300799LL; /* 9999-12-31 23:59:59 */
    unsigned n = 0;
    for (LONGLONG s = first; s <= last; s += 86400LL * 13 + 3607 * 7 + 11, n++)
        assert_fields_match_gmtime(s, (CSHORT)(n % 1000));
    assert_fields_match_gmtime(first, 0);
    assert_fields_match_gmtime(last, 999);
}

static void test_rtl_time_to_time_fields_leap_years(void **state)
{
    /* Feb 28 + 1 day: 1604/2000/2004/2400 are leap years, 1700/1900/2100 are not. */
    static const struct {
        int year;
        int leap;
    } years[] = {{1604, 1}, {1700, 0}, {1900, 0}, {2000, 1},
                 {2004, 1}, {2023, 0}, {2100, 0}, {2400, 1}};
    for (unsigned i = 0; i < RTL_NUMBER_OF(years); i++) {
        TIME_FIELDS f = {(CSHORT)years[i].year, 2, 28, 12, 0, 0, 0, 0};
        LARGE_INTEGER t;
        assert_true(RtlTimeFieldsToTime(&f, &t));
        t.QuadPart += 86400LL * TICKS;
        kmtest_junk(&f, sizeof f);
        RtlTimeToTimeFields(&t, &f);
        assert_int_equal(f.Year, years[i].year);
        assert_int_equal(f.Month, years[i].leap ? 2 : 3);
        assert_int_equal(f.Day, years[i].leap ? 29 : 1);
        TIME_FIELDS leap_day = {(CSHORT)years[i].year, 2, 29, 0, 0, 0, 0, 0};
        assert_int_equal(RtlTimeFieldsToTime(&leap_day, &t), years[i].leap);
    }
}

static void test_rtl_time_fields_to_time_rejects_invalid_fields(void **state)
{
    static const TIME_FIELDS good = {2024, 6, 30, 23, 59, 59, 999, 0};
    LARGE_INTEGER t;
    assert_true(RtlTimeFieldsToTime((PTIME_FIELDS)&good, &t));
    static const struct {
        int field;
        CSHORT value;
    } bad[] = {{0, 1600}, {0, -1}, {1, 0},  {1, 13}, {2, 0},  {2, 31},   {3, -1}, {3, 24},
               {4, -1},   {4, 60}, {5, -1}, {5, 60}, {6, -1}, {6, 1000}, {2, 32}, {1, -5}};
    for (unsigned i = 0; i < RTL_NUMBER_OF(bad); i++) {
        TIME_FIELDS f = good;
        CSHORT *fields = &f.Year;
        fields[bad[i].field] = bad[i].value;
        t.QuadPart = 0x5A5A5A5A;
        assert_false(RtlTimeFieldsToTime(&f, &t));
        assert_true(t.QuadPart == 0x5A5A5A5A); /* untouched */
    }
    TIME_FIELDS apr31 = {2024, 4, 31, 0, 0, 0, 0, 0};
    assert_false(RtlTimeFieldsToTime(&apr31, &t));
    TIME_FIELDS feb29 = {2023, 2, 29, 0, 0, 0, 0, 0};
    assert_false(RtlTimeFieldsToTime(&feb29, &t));
    /* Weekday is ignored, even out of range. */
    TIME_FIELDS wd = good;
    wd.Weekday = 42;
    LARGE_INTEGER t2;
    assert_true(RtlTimeFieldsToTime(&wd, &t2));
    assert_true(RtlTimeFieldsToTime((PTIME_FIELDS)&good, &t));
    assert_true(t.QuadPart == t2.QuadPart);
}

static void test_rtl_time_fields_to_time_edges(void **state)
{
    TIME_FIELDS f = {1601, 1, 1, 0, 0, 0, 0, 0};
    LARGE_INTEGER t;
    assert_true(RtlTimeFieldsToTime(&f, &t));
    assert_true(t.QuadPart == 0);
    TIME_FIELDS last = {9999, 12, 31, 23, 59, 59, 999, 0};
    assert_true(RtlTimeFieldsToTime(&last, &t));
    assert_true(t.QuadPart == nt_from_unix(253402300799LL) + 999 * 10000LL);
    /* Years whose time no longer fits in 63 bits are refused. */
    TIME_FIELDS far = {30828, 12, 31, 0, 0, 0, 0, 0};
    assert_false(RtlTimeFieldsToTime(&far, &t));
    TIME_FIELDS ok = {30827, 12, 31, 0, 0, 0, 0, 0};
    assert_true(RtlTimeFieldsToTime(&ok, &t));
    TIME_FIELDS round;
    RtlTimeToTimeFields(&t, &round);
    assert_int_equal(round.Year, 30827);
    assert_int_equal(round.Month, 12);
    assert_int_equal(round.Day, 31);
}

static void test_rtl_seconds_since_1970(void **state)
{
    LARGE_INTEGER t;
    ULONG s;
    RtlSecondsSince1970ToTime(0, &t);
    assert_true(t.QuadPart == 116444736000000000LL);
    RtlSecondsSince1970ToTime(1700000000u, &t);
    assert_true(RtlTimeToSecondsSince1970(&t, &s));
    assert_int_equal(s, 1700000000u);
    t.QuadPart -= 1;
    assert_true(RtlTimeToSecondsSince1970(&t, &s));
    assert_int_equal(s, 1699999999u);
    t.QuadPart = 116444736000000000LL - 1;
    assert_false(RtlTimeToSecondsSince1970(&t, &s));
    RtlSecondsSince1970ToTime(MAXULONG, &t);
    assert_true(RtlTimeToSecondsSince1970(&t, &s));
    assert_int_equal(s, MAXULONG);
    t.QuadPart += TICKS;
    assert_false(RtlTimeToSecondsSince1970(&t, &s));
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_rtl_time_to_time_fields_epochs),
    cmocka_unit_test(test_rtl_time_to_time_fields_matches_gmtime),
    cmocka_unit_test(test_rtl_time_to_time_fields_leap_years),
    cmocka_unit_test(test_rtl_time_fields_to_time_rejects_invalid_fields),
    cmocka_unit_test(test_rtl_time_fields_to_time_edges),
    cmocka_unit_test(test_rtl_seconds_since_1970),
};

KMTEST_MAIN(tests)

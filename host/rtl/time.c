/* System time <-> calendar fields (wdm.h). System time counts 100 ns units since 1601-01-01
 * 00:00:00 in the proleptic Gregorian calendar. Callable at any IRQL. */
#include "rtlp.h"

#define RTLP_TICKS_PER_MS 10000LL
#define RTLP_TICKS_PER_SECOND 10000000LL
#define RTLP_SECONDS_PER_DAY 86400LL
#define RTLP_DAYS_1601_TO_1970 134774LL
#define RTLP_TICKS_1601_TO_1970                                                                    \
    (RTLP_DAYS_1601_TO_1970 * RTLP_SECONDS_PER_DAY * RTLP_TICKS_PER_SECOND)

/* Days from 1970-01-01 to the given date (H. Hinnant's days_from_civil). */
static LONGLONG RtlpDaysFromCivil(LONGLONG y, unsigned m, unsigned d)
{
    y -= m <= 2;
    LONGLONG era = (y >= 0 ? y : y - 399) / 400;
    LONGLONG yoe = y - era * 400;
    LONGLONG doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    LONGLONG doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* The date of a day counted from 1970-01-01 (H. Hinnant's civil_from_days). */
static void RtlpCivilFromDays(LONGLONG z, LONGLONG *y, unsigned *m, unsigned *d)
{
    z += 719468;
    LONGLONG era = (z >= 0 ? z : z - 146096) / 146097;
    LONGLONG doe = z - era * 146097;
    LONGLONG yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    LONGLONG doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    LONGLONG mp = (5 * doy + 2) / 153;
    *d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
    *m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static BOOLEAN RtlpIsLeapYear(LONGLONG y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned RtlpDaysInMonth(LONGLONG y, unsigned m)
{
    static const unsigned char days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && RtlpIsLeapYear(y) ? 29 : days[m - 1];
}

VOID NTAPI RtlTimeToTimeFields(PLARGE_INTEGER Time, PTIME_FIELDS TimeFields)
{
    LONGLONG ticks = Time->QuadPart < 0 ? 0 : Time->QuadPart;
    LONGLONG ms = ticks / RTLP_TICKS_PER_MS;
    LONGLONG seconds = ms / 1000;
    LONGLONG days = seconds / RTLP_SECONDS_PER_DAY;
    LONGLONG rest = seconds % RTLP_SECONDS_PER_DAY;
    LONGLONG year;
    unsigned month, day;

    RtlpCivilFromDays(days - RTLP_DAYS_1601_TO_1970, &year, &month, &day);
    TimeFields->Year = (CSHORT)year;
    TimeFields->Month = (CSHORT)month;
    TimeFields->Day = (CSHORT)day;
    TimeFields->Hour = (CSHORT)(rest / 3600);
    TimeFields->Minute = (CSHORT)(rest / 60 % 60);
    TimeFields->Second = (CSHORT)(rest % 60);
    TimeFields->Milliseconds = (CSHORT)(ms % 1000);
    TimeFields->Weekday = (CSHORT)((days + 1) % 7); /* 1601-01-01 was a Monday */
}

BOOLEAN NTAPI RtlTimeFieldsToTime(PTIME_FIELDS TimeFields, PLARGE_INTEGER Time)
{
    const TIME_FIELDS *f = TimeFields;
    if (f->Year < 1601 || f->Month < 1 || f->Month > 12 || f->Day < 1 ||
        f->Day > (CSHORT)RtlpDaysInMonth(f->Year, (unsigned)f->Month) || f->Hour < 0 ||
        f->Hour > 23 || f->Minute < 0 || f->Minute > 59 || f->Second < 0 || f->Second > 59 ||
        f->Milliseconds < 0 || f->Milliseconds > 999)
        return FALSE;
    LONGLONG days =
        RtlpDaysFromCivil(f->Year, (unsigned)f->Month, (unsigned)f->Day) + RTLP_DAYS_1601_TO_1970;
    LONGLONG ms = ((f->Hour * 60LL + f->Minute) * 60 + f->Second) * 1000 + f->Milliseconds;
    LONGLONG ticks;
    if (__builtin_mul_overflow(days, RTLP_SECONDS_PER_DAY * 1000 * RTLP_TICKS_PER_MS, &ticks) ||
        __builtin_add_overflow(ticks, ms * RTLP_TICKS_PER_MS, &ticks))
        return FALSE;
    Time->QuadPart = ticks;
    return TRUE;
}

BOOLEAN NTAPI RtlTimeToSecondsSince1970(PLARGE_INTEGER Time, PULONG ElapsedSeconds)
{
    if (Time->QuadPart < RTLP_TICKS_1601_TO_1970)
        return FALSE;
    LONGLONG seconds = (Time->QuadPart - RTLP_TICKS_1601_TO_1970) / RTLP_TICKS_PER_SECOND;
    if (seconds > (LONGLONG)MAXULONG)
        return FALSE;
    *ElapsedSeconds = (ULONG)seconds;
    return TRUE;
}

VOID NTAPI RtlSecondsSince1970ToTime(ULONG ElapsedSeconds, PLARGE_INTEGER Time)
{
    Time->QuadPart = RTLP_TICKS_1601_TO_1970 + (LONGLONG)ElapsedSeconds * RTLP_TICKS_PER_SECOND;
}

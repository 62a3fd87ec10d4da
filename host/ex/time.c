/*
 * time.c - ExSystemTimeToLocalTime / ExLocalTimeToSystemTime with the instance's fixed time zone
 * (kmrig_config.tz_bias_minutes, UTC - local as the Windows bias): local = system - bias.
 */
#include "ex.h"

#define EXP_TICKS_PER_MINUTE (60LL * 10000000LL)

static LONGLONG ExpTimeZoneBias(void)
{
    struct kmrig_runtime *rt = KiRuntime();
    return rt ? (LONGLONG)rt->Config.tz_bias_minutes * EXP_TICKS_PER_MINUTE : 0;
}

VOID NTAPI ExSystemTimeToLocalTime(PLARGE_INTEGER SystemTime, PLARGE_INTEGER LocalTime)
{
    LocalTime->QuadPart = SystemTime->QuadPart - ExpTimeZoneBias();
}

VOID NTAPI ExLocalTimeToSystemTime(PLARGE_INTEGER LocalTime, PLARGE_INTEGER SystemTime)
{
    SystemTime->QuadPart = LocalTime->QuadPart + ExpTimeZoneBias();
}

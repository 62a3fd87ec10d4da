/* The instance log: leveled, to the harness's sink or stderr; never stdout. */
#include "rt.h"

#include <stdio.h>

static const char *const KmpLevelNames[] = {"error", "warn", "info", "debug", "io"};

static void KmpVLog(struct kmrig_runtime *rt, enum kmrig_log_level level, const char *fmt,
                    va_list ap)
{
    if (rt && level > rt->Config.log_level)
        return;
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    if (rt && rt->Config.log_fn) {
        rt->Config.log_fn(rt->Config.log_ctx, level, msg);
        return;
    }
    if (rt && rt->Ke.Clock) /* (no clock yet while the target opens) */
        fprintf(stderr, "kmrig[%llu ns] %s: %s\n", (unsigned long long)KiNowNs(rt),
                KmpLevelNames[level], msg);
    else
        fprintf(stderr, "kmrig %s: %s\n", KmpLevelNames[level], msg);
}

void KmLog(struct kmrig_runtime *rt, enum kmrig_log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    KmpVLog(rt, level, fmt, ap);
    va_end(ap);
}

void kmrig_log(kmrig_runtime *rt, enum kmrig_log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    KmpVLog(rt, level, fmt, ap);
    va_end(ap);
}

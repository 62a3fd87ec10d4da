/* Debug output, breakpoints and assertions (wdm.h). There is no kernel debugger: output goes to the
 * runtime's log, a breakpoint is a log line, a failed assertion is a bugcheck (see ddk/rtl.h). */
#include "rtlp.h"
#include "vf.h"
#include <stdio.h>

/* Windows keeps at most 512 bytes of one DbgPrint message. */
#define RTLP_DBGPRINT_MAX 512

static enum kmrig_log_level RtlpDbgLevel(ULONG ComponentId, ULONG Level)
{
    if (ComponentId == MAXULONG) /* DbgPrint: always shown */
        return KMRIG_LOG_INFO;
    ULONG mask = Level <= 31 ? 1u << Level : Level;
    return (mask & ((1u << DPFLTR_ERROR_LEVEL) | (1u << DPFLTR_WARNING_LEVEL))) ? KMRIG_LOG_INFO
                                                                                : KMRIG_LOG_DEBUG;
}

/* One log line per text line; a trailing newline ends the message, it does not add a line. */
static void RtlpDbgOutput(enum kmrig_log_level Level, const char *Prefix, const char *Text)
{
    struct kmrig_runtime *rt = KiRuntime();
    const char *line = Text;
    do {
        const char *nl = strchr(line, '\n');
        int len = nl ? (int)(nl - line) : (int)strlen(line);
        if (len > 0 && line[len - 1] == '\r')
            len--;
        if (!nl && len == 0 && line != Text)
            break;
        if (rt)
            KmLog(rt, Level, "DbgPrint: %s%.*s", Prefix, len, line);
        else
            fprintf(stderr, "DbgPrint: %s%.*s\n", Prefix, len, line);
        line = nl ? nl + 1 : NULL;
    } while (line && *line);
}

ULONG NTAPI vDbgPrintExWithPrefix(PCSTR Prefix, ULONG ComponentId, ULONG Level, PCSTR Format,
                                  va_list arglist)
{
    char text[RTLP_DBGPRINT_MAX];
    unsigned flags = 0;
    RtlpFormatMsEx(text, sizeof text, Format, arglist, &flags);
    if (flags & RTLP_FORMAT_UNICODE)
        VfCheckIrqlMax(PASSIVE_LEVEL, "DbgPrint (Unicode format)");
    RtlpDbgOutput(RtlpDbgLevel(ComponentId, Level), Prefix ? Prefix : "", text);
    return STATUS_SUCCESS;
}

ULONG NTAPI vDbgPrintEx(ULONG ComponentId, ULONG Level, PCSTR Format, va_list arglist)
{
    return vDbgPrintExWithPrefix("", ComponentId, Level, Format, arglist);
}

ULONG __cdecl DbgPrint(PCSTR Format, ...)
{
    va_list ap;
    va_start(ap, Format);
    ULONG status = vDbgPrintExWithPrefix("", MAXULONG, DPFLTR_ERROR_LEVEL, Format, ap);
    va_end(ap);
    return status;
}

ULONG __cdecl DbgPrintEx(ULONG ComponentId, ULONG Level, PCSTR Format, ...)
{
    va_list ap;
    va_start(ap, Format);
    ULONG status = vDbgPrintExWithPrefix("", ComponentId, Level, Format, ap);
    va_end(ap);
    return status;
}

VOID NTAPI DbgBreakPoint(VOID)
{
    RtlpDbgOutput(KMRIG_LOG_WARN, "", "DbgBreakPoint: no kernel debugger, continuing");
}

VOID NTAPI DbgBreakPointWithStatus(ULONG Status)
{
    char text[96];
    snprintf(text, sizeof text, "DbgBreakPointWithStatus(0x%08X): no kernel debugger, continuing",
             (unsigned)Status);
    RtlpDbgOutput(KMRIG_LOG_WARN, "", text);
}

VOID NTAPI RtlAssert(PVOID VoidFailedAssertion, PVOID VoidFileName, ULONG LineNumber,
                     PSTR MutableMessage)
{
    struct kmrig_runtime *rt = KiRuntime();
    const char *expr = VoidFailedAssertion ? (const char *)VoidFailedAssertion : "?";
    const char *file = VoidFileName ? (const char *)VoidFileName : "?";
    if (rt)
        KmLog(rt, KMRIG_LOG_ERROR, "*** Assertion failed: %s%s%s\n***   Source File: %s, line %u",
              MutableMessage ? MutableMessage : "", MutableMessage ? " " : "", expr, file,
              (unsigned)LineNumber);
    else
        fprintf(stderr, "*** Assertion failed: %s%s%s\n***   Source File: %s, line %u\n",
                MutableMessage ? MutableMessage : "", MutableMessage ? " " : "", expr, file,
                (unsigned)LineNumber);
    KeBugCheckEx(KMODE_EXCEPTION_NOT_HANDLED, (ULONG_PTR)(ULONG)STATUS_ASSERTION_FAILURE,
                 (ULONG_PTR)__builtin_return_address(0), (ULONG_PTR)LineNumber, 0);
}

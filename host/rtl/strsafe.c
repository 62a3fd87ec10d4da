/*
 * ntstrsafe.h: the safe string routines as real functions (drivers may take their addresses).
 * The A and W forms come from one template, strsafe_t.h; Printf goes to the Microsoft format
 * engine (format.c) in its ANSI or wide mode, never to the C library (glibc's wide printf assumes
 * a 32-bit wchar_t). Behaviour follows the WDK's ntstrsafe.h: see the header for the statuses.
 */
#include "rtlp.h"

#include <ntstrsafe.h>
#include <stdlib.h>
#include <string.h>

#define RTLP_STRSAFE_VALID_FLAGS                                                                   \
    (0xFFu | STRSAFE_IGNORE_NULLS | STRSAFE_FILL_BEHIND_NULL | STRSAFE_FILL_ON_FAILURE |           \
     STRSAFE_NULL_ON_FAILURE | STRSAFE_NO_TRUNCATION)

#define STRSAFE_T char
#define STRSAFE_S A
#define STRSAFE_FORMAT RtlpFormatAnsi
#include "strsafe_t.h"
#undef STRSAFE_T
#undef STRSAFE_S
#undef STRSAFE_FORMAT

#define STRSAFE_T WCHAR
#define STRSAFE_S W
#define STRSAFE_FORMAT RtlpFormatWide
#include "strsafe_t.h"
#undef STRSAFE_T
#undef STRSAFE_S
#undef STRSAFE_FORMAT

/* ---- UNICODE_STRING forms ---- */

#define RTLP_US_VALID_FLAGS (RTLP_STRSAFE_VALID_FLAGS | STRSAFE_ZERO_LENGTH_ON_FAILURE)
#define RTLP_US_MAX_BYTES (NTSTRSAFE_UNICODE_STRING_MAX_CCH * sizeof(WCHAR))

static NTSTATUS RtlpUsValidate(PCUNICODE_STRING s)
{
    if (!s || (s->Length & 1) || (s->MaximumLength & 1) || s->Length > s->MaximumLength ||
        s->MaximumLength > RTLP_US_MAX_BYTES || (!s->Buffer && (s->Length || s->MaximumLength)))
        return STATUS_INVALID_PARAMETER;
    return STATUS_SUCCESS;
}

NTSTATUS NTAPI RtlUnicodeStringValidate(PCUNICODE_STRING SourceString)
{
    return RtlpUsValidate(SourceString);
}

NTSTATUS NTAPI RtlUnicodeStringInit(PUNICODE_STRING DestinationString, NTSTRSAFE_PCWSTR pszSrc)
{
    if (!DestinationString)
        return STATUS_INVALID_PARAMETER;
    DestinationString->Buffer = (PWCH)pszSrc;
    DestinationString->Length = DestinationString->MaximumLength = 0;
    if (!pszSrc)
        return STATUS_SUCCESS;
    size_t n = RtlpWcsNLen(pszSrc, NTSTRSAFE_UNICODE_STRING_MAX_CCH);
    if (n == NTSTRSAFE_UNICODE_STRING_MAX_CCH && pszSrc[n]) /* no room for the NUL */
        return STATUS_INVALID_PARAMETER;
    DestinationString->Length = (USHORT)(n * sizeof(WCHAR));
    DestinationString->MaximumLength = (USHORT)(DestinationString->Length + sizeof(WCHAR));
    return STATUS_SUCCESS;
}

/* The Ex flags on a UNICODE_STRING after the operation; original is the Length before it. */
static NTSTATUS RtlpUsFinish(PUNICODE_STRING d, USHORT original, NTSTATUS status,
                             PUNICODE_STRING remaining, DWORD flags)
{
    int fill = STRSAFE_GET_FILL_PATTERN(flags);
    if (d && d->Buffer && (NT_SUCCESS(status) || status == STATUS_BUFFER_OVERFLOW) &&
        (flags & STRSAFE_FILL_BEHIND_NULL) && d->MaximumLength > d->Length)
        memset((PUCHAR)d->Buffer + d->Length, fill, d->MaximumLength - d->Length);
    if (!NT_SUCCESS(status) && d && NT_SUCCESS(RtlpUsValidate(d))) {
        if (flags & STRSAFE_NO_TRUNCATION)
            d->Length = original;
        if ((flags & STRSAFE_FILL_ON_FAILURE) && d->Buffer) {
            memset(d->Buffer, fill, d->MaximumLength);
            d->Length = fill ? d->MaximumLength : 0;
        }
        if (flags & (STRSAFE_NULL_ON_FAILURE | STRSAFE_ZERO_LENGTH_ON_FAILURE))
            d->Length = 0;
    }
    if (remaining && d && (NT_SUCCESS(status) || status == STATUS_BUFFER_OVERFLOW)) {
        remaining->Buffer = d->Buffer ? d->Buffer + d->Length / sizeof(WCHAR) : NULL;
        remaining->Length = 0;
        remaining->MaximumLength = (USHORT)(d->MaximumLength - d->Length);
    }
    return status;
}

/* Copy or Cat of count WCHARs from src. */
static NTSTATUS RtlpUsPut(PUNICODE_STRING d, PCWCH src, size_t count, BOOLEAN cat,
                          PUNICODE_STRING remaining, DWORD flags, BOOLEAN ex)
{
    if (!ex)
        flags = 0;
    if (flags & ~RTLP_US_VALID_FLAGS)
        return STATUS_INVALID_PARAMETER;
    if (!d)
        return STATUS_INVALID_PARAMETER; /* nothing to write even with IGNORE_NULLS */
    NTSTATUS status = RtlpUsValidate(d);
    USHORT original = d->Length;
    if (!NT_SUCCESS(status))
        return status;
    if (!src && count)
        status = STATUS_INVALID_PARAMETER;
    if (NT_SUCCESS(status)) {
        size_t at = cat ? d->Length / sizeof(WCHAR) : 0;
        size_t room = d->MaximumLength / sizeof(WCHAR) - at;
        size_t n = count <= room ? count : room;
        if (n)
            memmove(d->Buffer + at, src, n * sizeof(WCHAR));
        d->Length = (USHORT)((at + n) * sizeof(WCHAR));
        status = n < count ? STATUS_BUFFER_OVERFLOW : STATUS_SUCCESS;
    }
    return ex ? RtlpUsFinish(d, original, status, remaining, flags) : status;
}

/* A UNICODE_STRING source's characters: NULL is "" only with STRSAFE_IGNORE_NULLS. */
static NTSTATUS RtlpUsSource(PCUNICODE_STRING s, DWORD flags, PCWCH *text, size_t *count)
{
    *text = NULL;
    *count = 0;
    if (!s)
        return flags & STRSAFE_IGNORE_NULLS ? STATUS_SUCCESS : STATUS_INVALID_PARAMETER;
    NTSTATUS status = RtlpUsValidate(s);
    if (NT_SUCCESS(status)) {
        *text = s->Buffer;
        *count = s->Length / sizeof(WCHAR);
    }
    return status;
}

static NTSTATUS RtlpUsPutString(PUNICODE_STRING d, PCUNICODE_STRING s, BOOLEAN cat,
                                PUNICODE_STRING remaining, DWORD flags, BOOLEAN ex)
{
    PCWCH text;
    size_t count;
    NTSTATUS status = RtlpUsSource(s, ex ? flags : 0, &text, &count);
    if (!NT_SUCCESS(status))
        return status;
    return RtlpUsPut(d, text, count, cat, remaining, flags, ex);
}

static NTSTATUS RtlpUsPutSz(PUNICODE_STRING d, PCWSTR s, BOOLEAN cat)
{
    if (!s)
        return STATUS_INVALID_PARAMETER;
    /* More characters than a UNICODE_STRING holds cannot fit: count one beyond, to overflow. */
    size_t n = RtlpWcsNLen(s, NTSTRSAFE_UNICODE_STRING_MAX_CCH + 1);
    return RtlpUsPut(d, s, n, cat, NULL, 0, FALSE);
}

NTSTATUS NTAPI RtlUnicodeStringCopy(PUNICODE_STRING DestinationString,
                                    PCUNICODE_STRING SourceString)
{
    return RtlpUsPutString(DestinationString, SourceString, FALSE, NULL, 0, FALSE);
}

NTSTATUS NTAPI RtlUnicodeStringCopyEx(PUNICODE_STRING DestinationString,
                                      PCUNICODE_STRING SourceString,
                                      PUNICODE_STRING RemainingString, DWORD dwFlags)
{
    return RtlpUsPutString(DestinationString, SourceString, FALSE, RemainingString, dwFlags, TRUE);
}

NTSTATUS NTAPI RtlUnicodeStringCopyString(PUNICODE_STRING DestinationString,
                                          NTSTRSAFE_PCWSTR pszSrc)
{
    return RtlpUsPutSz(DestinationString, pszSrc, FALSE);
}

NTSTATUS NTAPI RtlUnicodeStringCat(PUNICODE_STRING DestinationString, PCUNICODE_STRING SourceString)
{
    return RtlpUsPutString(DestinationString, SourceString, TRUE, NULL, 0, FALSE);
}

NTSTATUS NTAPI RtlUnicodeStringCatEx(PUNICODE_STRING DestinationString,
                                     PCUNICODE_STRING SourceString, PUNICODE_STRING RemainingString,
                                     DWORD dwFlags)
{
    return RtlpUsPutString(DestinationString, SourceString, TRUE, RemainingString, dwFlags, TRUE);
}

NTSTATUS NTAPI RtlUnicodeStringCatString(PUNICODE_STRING DestinationString, NTSTRSAFE_PCWSTR pszSrc)
{
    return RtlpUsPutSz(DestinationString, pszSrc, TRUE);
}

NTSTATUS NTAPI RtlUnicodeStringVPrintfEx(PUNICODE_STRING DestinationString,
                                         PUNICODE_STRING RemainingString, DWORD dwFlags,
                                         NTSTRSAFE_PCWSTR pszFormat, va_list argList)
{
    static const WCHAR empty[1] = {0};
    if (dwFlags & ~RTLP_US_VALID_FLAGS || !DestinationString)
        return STATUS_INVALID_PARAMETER;
    NTSTATUS status = RtlpUsValidate(DestinationString);
    if (!NT_SUCCESS(status))
        return status;
    USHORT original = DestinationString->Length;
    if (!pszFormat) {
        if (!(dwFlags & STRSAFE_IGNORE_NULLS))
            return RtlpUsFinish(DestinationString, original, STATUS_INVALID_PARAMETER,
                                RemainingString, dwFlags);
        pszFormat = empty;
    }
    /* The engine always ends with a NUL, which a UNICODE_STRING does not keep: format into a
     * buffer one character longer, then take the characters. */
    size_t cch = DestinationString->MaximumLength / sizeof(WCHAR);
    PWCH tmp = malloc((cch + 1) * sizeof(WCHAR));
    if (!tmp)
        return STATUS_INSUFFICIENT_RESOURCES;
    size_t need = RtlpFormatWide(tmp, cch + 1, pszFormat, argList);
    size_t n = need <= cch ? need : cch;
    if (n)
        memcpy(DestinationString->Buffer, tmp, n * sizeof(WCHAR));
    free(tmp);
    DestinationString->Length = (USHORT)(n * sizeof(WCHAR));
    status = need > cch ? STATUS_BUFFER_OVERFLOW : STATUS_SUCCESS;
    return RtlpUsFinish(DestinationString, original, status, RemainingString, dwFlags);
}

NTSTATUS NTAPI RtlUnicodeStringVPrintf(PUNICODE_STRING DestinationString,
                                       NTSTRSAFE_PCWSTR pszFormat, va_list argList)
{
    if (!pszFormat)
        return STATUS_INVALID_PARAMETER;
    return RtlUnicodeStringVPrintfEx(DestinationString, NULL, 0, pszFormat, argList);
}

NTSTATUS RtlUnicodeStringPrintf(PUNICODE_STRING DestinationString, NTSTRSAFE_PCWSTR pszFormat, ...)
{
    va_list ap;
    va_start(ap, pszFormat);
    NTSTATUS s = RtlUnicodeStringVPrintf(DestinationString, pszFormat, ap);
    va_end(ap);
    return s;
}

NTSTATUS RtlUnicodeStringPrintfEx(PUNICODE_STRING DestinationString,
                                  PUNICODE_STRING RemainingString, DWORD dwFlags,
                                  NTSTRSAFE_PCWSTR pszFormat, ...)
{
    va_list ap;
    va_start(ap, pszFormat);
    NTSTATUS s =
        RtlUnicodeStringVPrintfEx(DestinationString, RemainingString, dwFlags, pszFormat, ap);
    va_end(ap);
    return s;
}

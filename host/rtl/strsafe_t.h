/* The ntstrsafe.h routines for one character type, included twice by strsafe.c with
 * STRSAFE_T (char or WCHAR), STRSAFE_S (A or W) and STRSAFE_FORMAT (the engine of that width). */

#define SS_CAT2(a, b) a##b
#define SS_CAT(a, b) SS_CAT2(a, b)
#define SS_NAME(x) SS_CAT(x, STRSAFE_S)
#define SS_PRIV(x) SS_CAT(Rtlp##x, STRSAFE_S)

/* Size in bytes -> size in characters; over the limit stays over it. */
static size_t SS_PRIV(CbToCch)(size_t cb)
{
    return cb > NTSTRSAFE_MAX_CCH * sizeof(STRSAFE_T) ? (size_t)NTSTRSAFE_MAX_CCH + 1
                                                      : cb / sizeof(STRSAFE_T);
}

/* Characters before the NUL within max; STATUS_INVALID_PARAMETER when there is none. */
static NTSTATUS SS_PRIV(Len)(const STRSAFE_T *s, size_t max, size_t *len)
{
    size_t n = 0;
    while (n < max && s[n])
        n++;
    *len = n;
    return n < max ? STATUS_SUCCESS : STATUS_INVALID_PARAMETER;
}

/* The destination rules: a size of 1..NTSTRSAFE_MAX_CCH and a pointer; with STRSAFE_IGNORE_NULLS
 * (Ex only) a NULL destination of size 0 too. */
static NTSTATUS SS_PRIV(ValidateDest)(const STRSAFE_T *dest, size_t cch, DWORD flags, BOOLEAN ex)
{
    if (ex && (flags & ~RTLP_STRSAFE_VALID_FLAGS))
        return STATUS_INVALID_PARAMETER;
    if (cch > NTSTRSAFE_MAX_CCH)
        return STATUS_INVALID_PARAMETER;
    if (ex && (flags & STRSAFE_IGNORE_NULLS))
        return dest || cch == 0 ? STATUS_SUCCESS : STATUS_INVALID_PARAMETER;
    return dest && cch ? STATUS_SUCCESS : STATUS_INVALID_PARAMETER;
}

/* Copies at most max characters of src (up to its NUL) to dest + at; *end gets the index of the
 * NUL written. STATUS_BUFFER_OVERFLOW: cut to what fits. */
static NTSTATUS SS_PRIV(CopyIn)(STRSAFE_T *dest, size_t cch, size_t at, const STRSAFE_T *src,
                                size_t max, size_t *end)
{
    *end = at;
    if (cch == 0) /* IGNORE_NULLS with no room at all */
        return max && *src ? (dest ? STATUS_BUFFER_OVERFLOW : STATUS_INVALID_PARAMETER)
                           : STATUS_SUCCESS;
    size_t i = at;
    NTSTATUS status = STATUS_SUCCESS;
    for (; max && *src; max--) {
        if (i + 1 >= cch) {
            status = STATUS_BUFFER_OVERFLOW;
            break;
        }
        dest[i++] = *src++;
    }
    dest[i] = 0;
    *end = i;
    return status;
}

/* After the operation: the Ex flags, then the outputs. original is the destination's length
 * before it (Cat), status the operation's, end the index of its NUL. */
static NTSTATUS SS_PRIV(Finish)(STRSAFE_T *dest, size_t cch, size_t original, NTSTATUS status,
                                size_t end, STRSAFE_T **ppEnd, size_t *pRemaining, DWORD flags)
{
    size_t remaining = cch - end;
    STRSAFE_T *pend = dest ? dest + end : NULL;
    int fill = STRSAFE_GET_FILL_PATTERN(flags);
    if ((NT_SUCCESS(status) || status == STATUS_BUFFER_OVERFLOW) &&
        (flags & STRSAFE_FILL_BEHIND_NULL) && remaining > 1)
        memset(pend + 1, fill, (remaining - 1) * sizeof(STRSAFE_T));
    if (!NT_SUCCESS(status) && dest && cch && cch <= NTSTRSAFE_MAX_CCH) {
        if (flags & STRSAFE_NO_TRUNCATION) {
            pend = dest + original;
            remaining = cch - original;
            *pend = 0;
        }
        if (flags & STRSAFE_FILL_ON_FAILURE) {
            memset(dest, fill, cch * sizeof(STRSAFE_T));
            if (fill == 0) {
                pend = dest;
                remaining = cch;
            } else {
                pend = dest + cch - 1;
                remaining = 1;
                *pend = 0;
            }
        }
        if (flags & STRSAFE_NULL_ON_FAILURE) {
            pend = dest;
            remaining = cch;
            *dest = 0;
        }
    }
    if (NT_SUCCESS(status) || status == STATUS_BUFFER_OVERFLOW) {
        if (ppEnd)
            *ppEnd = pend;
        if (pRemaining)
            *pRemaining = remaining;
    }
    return status;
}

/* Copy (at = 0) or Cat (at = the destination's length) of at most max characters. */
static NTSTATUS SS_PRIV(Put)(STRSAFE_T *dest, size_t cch, const STRSAFE_T *src, size_t max,
                             BOOLEAN cat, STRSAFE_T **ppEnd, size_t *pRemaining, DWORD flags,
                             BOOLEAN ex)
{
    static const STRSAFE_T empty[1] = {0};
    if (!ex)
        flags = 0;
    NTSTATUS status = SS_PRIV(ValidateDest)(dest, cch, flags, ex);
    size_t at = 0, end = 0;
    if (NT_SUCCESS(status) && max > NTSTRSAFE_MAX_CCH)
        status = STATUS_INVALID_PARAMETER;
    if (NT_SUCCESS(status) && !src) {
        if (ex && (flags & STRSAFE_IGNORE_NULLS))
            src = empty;
        else
            status = STATUS_INVALID_PARAMETER;
    }
    if (NT_SUCCESS(status) && cat && cch)
        status = SS_PRIV(Len)(dest, cch, &at);
    if (NT_SUCCESS(status))
        status = SS_PRIV(CopyIn)(dest, cch, at, src, max, &end);
    else if (!ex && !cat && dest && cch)
        *dest = 0;
    if (!ex)
        return status;
    return SS_PRIV(Finish)(dest, cch, at, status, end, ppEnd, pRemaining, flags);
}

static NTSTATUS SS_PRIV(Print)(STRSAFE_T *dest, size_t cch, STRSAFE_T **ppEnd, size_t *pRemaining,
                               DWORD flags, const STRSAFE_T *format, va_list args, BOOLEAN ex)
{
    static const STRSAFE_T empty[1] = {0};
    if (!ex)
        flags = 0;
    NTSTATUS status = SS_PRIV(ValidateDest)(dest, cch, flags, ex);
    size_t end = 0;
    if (NT_SUCCESS(status) && !format) {
        if (ex && (flags & STRSAFE_IGNORE_NULLS))
            format = empty;
        else
            status = STATUS_INVALID_PARAMETER;
    }
    if (NT_SUCCESS(status)) {
        size_t need = STRSAFE_FORMAT(cch ? dest : NULL, cch, format, args);
        if (cch == 0) {
            status =
                need ? (dest ? STATUS_BUFFER_OVERFLOW : STATUS_INVALID_PARAMETER) : STATUS_SUCCESS;
        } else if (need > cch - 1) {
            status = STATUS_BUFFER_OVERFLOW;
            end = cch - 1;
        } else {
            end = need;
        }
    } else if (!ex && dest && cch) {
        *dest = 0;
    }
    if (!ex)
        return status;
    return SS_PRIV(Finish)(dest, cch, 0, status, end, ppEnd, pRemaining, flags);
}

/* A Cb form's remaining bytes: the characters left, plus an odd byte of the size (W). */
static size_t *SS_PRIV(CbRemaining)(size_t *pcb, size_t *cch)
{
    return pcb ? cch : NULL;
}

#define SS_CB_DONE(status, pcb, cchLeft, cbDest)                                                   \
    do {                                                                                           \
        if ((pcb) && (NT_SUCCESS(status) || (status) == STATUS_BUFFER_OVERFLOW))                   \
            *(pcb) = (cchLeft) * sizeof(STRSAFE_T) + (cbDest) % sizeof(STRSAFE_T);                 \
    } while (0)

NTSTATUS NTAPI SS_NAME(RtlStringCchCopy)(STRSAFE_T *pszDest, size_t cchDest,
                                         const STRSAFE_T *pszSrc)
{
    return SS_PRIV(Put)(pszDest, cchDest, pszSrc, NTSTRSAFE_MAX_CCH, FALSE, NULL, NULL, 0, FALSE);
}

NTSTATUS NTAPI SS_NAME(RtlStringCbCopy)(STRSAFE_T *pszDest, size_t cbDest, const STRSAFE_T *pszSrc)
{
    return SS_PRIV(Put)(pszDest, SS_PRIV(CbToCch)(cbDest), pszSrc, NTSTRSAFE_MAX_CCH, FALSE, NULL,
                        NULL, 0, FALSE);
}

NTSTATUS NTAPI SS_NAME(RtlStringCchCopyEx)(STRSAFE_T *pszDest, size_t cchDest,
                                           const STRSAFE_T *pszSrc, STRSAFE_T **ppszDestEnd,
                                           size_t *pcchRemaining, DWORD dwFlags)
{
    return SS_PRIV(Put)(pszDest, cchDest, pszSrc, NTSTRSAFE_MAX_CCH, FALSE, ppszDestEnd,
                        pcchRemaining, dwFlags, TRUE);
}

NTSTATUS NTAPI SS_NAME(RtlStringCbCopyEx)(STRSAFE_T *pszDest, size_t cbDest,
                                          const STRSAFE_T *pszSrc, STRSAFE_T **ppszDestEnd,
                                          size_t *pcbRemaining, DWORD dwFlags)
{
    size_t left = 0;
    NTSTATUS s =
        SS_PRIV(Put)(pszDest, SS_PRIV(CbToCch)(cbDest), pszSrc, NTSTRSAFE_MAX_CCH, FALSE,
                     ppszDestEnd, SS_PRIV(CbRemaining)(pcbRemaining, &left), dwFlags, TRUE);
    SS_CB_DONE(s, pcbRemaining, left, cbDest);
    return s;
}

NTSTATUS NTAPI SS_NAME(RtlStringCchCopyN)(STRSAFE_T *pszDest, size_t cchDest,
                                          const STRSAFE_T *pszSrc, size_t cchToCopy)
{
    return SS_PRIV(Put)(pszDest, cchDest, pszSrc, cchToCopy, FALSE, NULL, NULL, 0, FALSE);
}

NTSTATUS NTAPI SS_NAME(RtlStringCbCopyN)(STRSAFE_T *pszDest, size_t cbDest, const STRSAFE_T *pszSrc,
                                         size_t cbToCopy)
{
    return SS_PRIV(Put)(pszDest, SS_PRIV(CbToCch)(cbDest), pszSrc, SS_PRIV(CbToCch)(cbToCopy),
                        FALSE, NULL, NULL, 0, FALSE);
}

NTSTATUS NTAPI SS_NAME(RtlStringCchCopyNEx)(STRSAFE_T *pszDest, size_t cchDest,
                                            const STRSAFE_T *pszSrc, size_t cchToCopy,
                                            STRSAFE_T **ppszDestEnd, size_t *pcchRemaining,
                                            DWORD dwFlags)
{
    return SS_PRIV(Put)(pszDest, cchDest, pszSrc, cchToCopy, FALSE, ppszDestEnd, pcchRemaining,
                        dwFlags, TRUE);
}

NTSTATUS NTAPI SS_NAME(RtlStringCbCopyNEx)(STRSAFE_T *pszDest, size_t cbDest,
                                           const STRSAFE_T *pszSrc, size_t cbToCopy,
                                           STRSAFE_T **ppszDestEnd, size_t *pcbRemaining,
                                           DWORD dwFlags)
{
    size_t left = 0;
    NTSTATUS s =
        SS_PRIV(Put)(pszDest, SS_PRIV(CbToCch)(cbDest), pszSrc, SS_PRIV(CbToCch)(cbToCopy), FALSE,
                     ppszDestEnd, SS_PRIV(CbRemaining)(pcbRemaining, &left), dwFlags, TRUE);
    SS_CB_DONE(s, pcbRemaining, left, cbDest);
    return s;
}

NTSTATUS NTAPI SS_NAME(RtlStringCchCat)(STRSAFE_T *pszDest, size_t cchDest, const STRSAFE_T *pszSrc)
{
    return SS_PRIV(Put)(pszDest, cchDest, pszSrc, NTSTRSAFE_MAX_CCH, TRUE, NULL, NULL, 0, FALSE);
}

NTSTATUS NTAPI SS_NAME(RtlStringCbCat)(STRSAFE_T *pszDest, size_t cbDest, const STRSAFE_T *pszSrc)
{
    return SS_PRIV(Put)(pszDest, SS_PRIV(CbToCch)(cbDest), pszSrc, NTSTRSAFE_MAX_CCH, TRUE, NULL,
                        NULL, 0, FALSE);
}

NTSTATUS NTAPI SS_NAME(RtlStringCchCatEx)(STRSAFE_T *pszDest, size_t cchDest,
                                          const STRSAFE_T *pszSrc, STRSAFE_T **ppszDestEnd,
                                          size_t *pcchRemaining, DWORD dwFlags)
{
    return SS_PRIV(Put)(pszDest, cchDest, pszSrc, NTSTRSAFE_MAX_CCH, TRUE, ppszDestEnd,
                        pcchRemaining, dwFlags, TRUE);
}

NTSTATUS NTAPI SS_NAME(RtlStringCbCatEx)(STRSAFE_T *pszDest, size_t cbDest, const STRSAFE_T *pszSrc,
                                         STRSAFE_T **ppszDestEnd, size_t *pcbRemaining,
                                         DWORD dwFlags)
{
    size_t left = 0;
    NTSTATUS s =
        SS_PRIV(Put)(pszDest, SS_PRIV(CbToCch)(cbDest), pszSrc, NTSTRSAFE_MAX_CCH, TRUE,
                     ppszDestEnd, SS_PRIV(CbRemaining)(pcbRemaining, &left), dwFlags, TRUE);
    SS_CB_DONE(s, pcbRemaining, left, cbDest);
    return s;
}

NTSTATUS NTAPI SS_NAME(RtlStringCchCatN)(STRSAFE_T *pszDest, size_t cchDest,
                                         const STRSAFE_T *pszSrc, size_t cchToAppend)
{
    return SS_PRIV(Put)(pszDest, cchDest, pszSrc, cchToAppend, TRUE, NULL, NULL, 0, FALSE);
}

NTSTATUS NTAPI SS_NAME(RtlStringCbCatN)(STRSAFE_T *pszDest, size_t cbDest, const STRSAFE_T *pszSrc,
                                        size_t cbToAppend)
{
    return SS_PRIV(Put)(pszDest, SS_PRIV(CbToCch)(cbDest), pszSrc, SS_PRIV(CbToCch)(cbToAppend),
                        TRUE, NULL, NULL, 0, FALSE);
}

NTSTATUS NTAPI SS_NAME(RtlStringCchCatNEx)(STRSAFE_T *pszDest, size_t cchDest,
                                           const STRSAFE_T *pszSrc, size_t cchToAppend,
                                           STRSAFE_T **ppszDestEnd, size_t *pcchRemaining,
                                           DWORD dwFlags)
{
    return SS_PRIV(Put)(pszDest, cchDest, pszSrc, cchToAppend, TRUE, ppszDestEnd, pcchRemaining,
                        dwFlags, TRUE);
}

NTSTATUS NTAPI SS_NAME(RtlStringCbCatNEx)(STRSAFE_T *pszDest, size_t cbDest,
                                          const STRSAFE_T *pszSrc, size_t cbToAppend,
                                          STRSAFE_T **ppszDestEnd, size_t *pcbRemaining,
                                          DWORD dwFlags)
{
    size_t left = 0;
    NTSTATUS s =
        SS_PRIV(Put)(pszDest, SS_PRIV(CbToCch)(cbDest), pszSrc, SS_PRIV(CbToCch)(cbToAppend), TRUE,
                     ppszDestEnd, SS_PRIV(CbRemaining)(pcbRemaining, &left), dwFlags, TRUE);
    SS_CB_DONE(s, pcbRemaining, left, cbDest);
    return s;
}

NTSTATUS NTAPI SS_NAME(RtlStringCchVPrintf)(STRSAFE_T *pszDest, size_t cchDest,
                                            const STRSAFE_T *pszFormat, va_list argList)
{
    return SS_PRIV(Print)(pszDest, cchDest, NULL, NULL, 0, pszFormat, argList, FALSE);
}

NTSTATUS NTAPI SS_NAME(RtlStringCbVPrintf)(STRSAFE_T *pszDest, size_t cbDest,
                                           const STRSAFE_T *pszFormat, va_list argList)
{
    return SS_PRIV(Print)(pszDest, SS_PRIV(CbToCch)(cbDest), NULL, NULL, 0, pszFormat, argList,
                          FALSE);
}

NTSTATUS NTAPI SS_NAME(RtlStringCchVPrintfEx)(STRSAFE_T *pszDest, size_t cchDest,
                                              STRSAFE_T **ppszDestEnd, size_t *pcchRemaining,
                                              DWORD dwFlags, const STRSAFE_T *pszFormat,
                                              va_list argList)
{
    return SS_PRIV(Print)(pszDest, cchDest, ppszDestEnd, pcchRemaining, dwFlags, pszFormat, argList,
                          TRUE);
}

NTSTATUS NTAPI SS_NAME(RtlStringCbVPrintfEx)(STRSAFE_T *pszDest, size_t cbDest,
                                             STRSAFE_T **ppszDestEnd, size_t *pcbRemaining,
                                             DWORD dwFlags, const STRSAFE_T *pszFormat,
                                             va_list argList)
{
    size_t left = 0;
    NTSTATUS s = SS_PRIV(Print)(pszDest, SS_PRIV(CbToCch)(cbDest), ppszDestEnd,
                                SS_PRIV(CbRemaining)(pcbRemaining, &left), dwFlags, pszFormat,
                                argList, TRUE);
    SS_CB_DONE(s, pcbRemaining, left, cbDest);
    return s;
}

NTSTATUS SS_NAME(RtlStringCchPrintf)(STRSAFE_T *pszDest, size_t cchDest, const STRSAFE_T *pszFormat,
                                     ...)
{
    va_list ap;
    va_start(ap, pszFormat);
    NTSTATUS s = SS_PRIV(Print)(pszDest, cchDest, NULL, NULL, 0, pszFormat, ap, FALSE);
    va_end(ap);
    return s;
}

NTSTATUS SS_NAME(RtlStringCbPrintf)(STRSAFE_T *pszDest, size_t cbDest, const STRSAFE_T *pszFormat,
                                    ...)
{
    va_list ap;
    va_start(ap, pszFormat);
    NTSTATUS s =
        SS_PRIV(Print)(pszDest, SS_PRIV(CbToCch)(cbDest), NULL, NULL, 0, pszFormat, ap, FALSE);
    va_end(ap);
    return s;
}

NTSTATUS SS_NAME(RtlStringCchPrintfEx)(STRSAFE_T *pszDest, size_t cchDest, STRSAFE_T **ppszDestEnd,
                                       size_t *pcchRemaining, DWORD dwFlags,
                                       const STRSAFE_T *pszFormat, ...)
{
    va_list ap;
    va_start(ap, pszFormat);
    NTSTATUS s =
        SS_PRIV(Print)(pszDest, cchDest, ppszDestEnd, pcchRemaining, dwFlags, pszFormat, ap, TRUE);
    va_end(ap);
    return s;
}

NTSTATUS SS_NAME(RtlStringCbPrintfEx)(STRSAFE_T *pszDest, size_t cbDest, STRSAFE_T **ppszDestEnd,
                                      size_t *pcbRemaining, DWORD dwFlags,
                                      const STRSAFE_T *pszFormat, ...)
{
    va_list ap;
    va_start(ap, pszFormat);
    NTSTATUS s = SS_NAME(RtlStringCbVPrintfEx)(pszDest, cbDest, ppszDestEnd, pcbRemaining, dwFlags,
                                               pszFormat, ap);
    va_end(ap);
    return s;
}

NTSTATUS NTAPI SS_NAME(RtlStringCchLength)(const STRSAFE_T *psz, size_t cchMax, size_t *pcchLength)
{
    size_t len = 0;
    NTSTATUS s = psz && cchMax <= NTSTRSAFE_MAX_CCH ? SS_PRIV(Len)(psz, cchMax, &len)
                                                    : STATUS_INVALID_PARAMETER;
    if (pcchLength)
        *pcchLength = NT_SUCCESS(s) ? len : 0;
    return s;
}

NTSTATUS NTAPI SS_NAME(RtlStringCbLength)(const STRSAFE_T *psz, size_t cbMax, size_t *pcbLength)
{
    size_t len = 0;
    NTSTATUS s = SS_NAME(RtlStringCchLength)(psz, SS_PRIV(CbToCch)(cbMax), &len);
    if (pcbLength)
        *pcbLength = len * sizeof(STRSAFE_T);
    return s;
}

#undef SS_CB_DONE
#undef SS_PRIV
#undef SS_NAME
#undef SS_CAT
#undef SS_CAT2

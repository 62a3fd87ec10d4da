/* The Microsoft printf language of DbgPrint (host/internal/rtlp.h). The driver's format string is
 * interpreted here, never handed to the C library: MS and C disagree on %lx (32-bit on Windows),
 * %S/%C/%ls (16-bit WCHAR), %Z/%wZ (counted strings), %I64/%I32/%I (sizes) and %p. */
#include "rtlp.h"
#include <limits.h>
#include <stdio.h>

enum {
    RTLP_F_MINUS = 1,
    RTLP_F_PLUS = 2,
    RTLP_F_SPACE = 4,
    RTLP_F_HASH = 8,
    RTLP_F_ZERO = 16,
};

typedef enum _RTLP_SIZE {
    RtlpSizeNone,
    RtlpSizeChar,      /* hh */
    RtlpSizeShort,     /* h */
    RtlpSize32,        /* l, I32 (Windows: long is 32 bits) */
    RtlpSize64,        /* ll, I64, q */
    RtlpSizePtr,       /* I, z, t, j */
    RtlpSizeWide,      /* w */
    RtlpSizeLongDouble /* L */
} RTLP_SIZE;

typedef struct _RTLP_SPEC {
    unsigned Flags;
    int Width;     /* -1: none */
    int Precision; /* -1: none */
    RTLP_SIZE Size;
} RTLP_SPEC;

typedef struct _RTLP_OUT {
    char *Buf;
    size_t Size;
    size_t Pos;
    unsigned Flags; /* RTLP_FORMAT_* */
} RTLP_OUT;

static void RtlpPut(RTLP_OUT *o, char c)
{
    if (o->Pos + 1 < o->Size)
        o->Buf[o->Pos] = c;
    o->Pos++;
}

static void RtlpPutN(RTLP_OUT *o, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        RtlpPut(o, s[i]);
}

static void RtlpPad(RTLP_OUT *o, char c, long n)
{
    while (n-- > 0)
        RtlpPut(o, c);
}

static void RtlpPutInteger(RTLP_OUT *o, const RTLP_SPEC *s, ULONGLONG magnitude, BOOLEAN negative,
                           BOOLEAN isSigned, unsigned base, BOOLEAN upper)
{
    const char *table = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char digits[66];
    int nd = 0;
    ULONGLONG v = magnitude;
    if (!(s->Precision == 0 && magnitude == 0)) {
        do {
            digits[nd++] = table[v % base];
            v /= base;
        } while (v);
    }
    long zeros = s->Precision > nd ? s->Precision - nd : 0;
    if (base == 8 && (s->Flags & RTLP_F_HASH) && zeros == 0 && (nd == 0 || digits[nd - 1] != '0'))
        zeros = 1;
    char prefix[2];
    int np = 0;
    if (isSigned) {
        if (negative)
            prefix[np++] = '-';
        else if (s->Flags & RTLP_F_PLUS)
            prefix[np++] = '+';
        else if (s->Flags & RTLP_F_SPACE)
            prefix[np++] = ' ';
    }
    if (base == 16 && (s->Flags & RTLP_F_HASH) && magnitude != 0) {
        prefix[np++] = '0';
        prefix[np++] = upper ? 'X' : 'x';
    }
    long len = np + zeros + nd;
    long fill = s->Width > len ? s->Width - len : 0;
    if (!(s->Flags & RTLP_F_MINUS) && (s->Flags & RTLP_F_ZERO) && s->Precision < 0) {
        zeros += fill;
        fill = 0;
    }
    if (!(s->Flags & RTLP_F_MINUS))
        RtlpPad(o, ' ', fill);
    RtlpPutN(o, prefix, (size_t)np);
    RtlpPad(o, '0', zeros);
    while (nd > 0)
        RtlpPut(o, digits[--nd]);
    if (s->Flags & RTLP_F_MINUS)
        RtlpPad(o, ' ', fill);
}

/* Narrow text of n bytes, padded to the width. */
static void RtlpPutNarrow(RTLP_OUT *o, const RTLP_SPEC *s, const char *text, size_t n)
{
    long fill = s->Width > (long)n ? s->Width - (long)n : 0;
    if (!(s->Flags & RTLP_F_MINUS))
        RtlpPad(o, ' ', fill);
    RtlpPutN(o, text, n);
    if (s->Flags & RTLP_F_MINUS)
        RtlpPad(o, ' ', fill);
}

/* UTF-16 text of n WCHARs, written as UTF-8 and padded to the width in code points. */
static void RtlpPutWide(RTLP_OUT *o, const RTLP_SPEC *s, PCWCH text, size_t n)
{
    SIZE_T points = 0;
    o->Flags |= RTLP_FORMAT_UNICODE;
    RtlpUtf16ToUtf8(NULL, 0, text, n, &points);
    long fill = s->Width > (long)points ? s->Width - (long)points : 0;
    if (!(s->Flags & RTLP_F_MINUS))
        RtlpPad(o, ' ', fill);
    size_t room = o->Pos + 1 < o->Size ? o->Size - 1 - o->Pos : 0;
    o->Pos += RtlpUtf16ToUtf8(room ? o->Buf + o->Pos : NULL, room, text, n, NULL);
    if (s->Flags & RTLP_F_MINUS)
        RtlpPad(o, ' ', fill);
}

static void RtlpPutNull(RTLP_OUT *o, const RTLP_SPEC *s)
{
    RtlpPutNarrow(o, s, "(null)", 6);
}

static void RtlpPutFloat(RTLP_OUT *o, const RTLP_SPEC *s, char conversion, va_list *ap)
{
    /* Floating point has the same meaning in both dialects: rebuild a single conversion from the
     * parsed pieces (never from the driver's text) and let the C library render the digits. */
    char spec[16], text[512];
    int k = 0;
    spec[k++] = '%';
    if (s->Flags & RTLP_F_MINUS)
        spec[k++] = '-';
    if (s->Flags & RTLP_F_PLUS)
        spec[k++] = '+';
    if (s->Flags & RTLP_F_SPACE)
        spec[k++] = ' ';
    if (s->Flags & RTLP_F_HASH)
        spec[k++] = '#';
    if (s->Flags & RTLP_F_ZERO)
        spec[k++] = '0';
    spec[k++] = '*';
    spec[k++] = '.';
    spec[k++] = '*';
    if (s->Size == RtlpSizeLongDouble)
        spec[k++] = 'L';
    spec[k++] = conversion;
    spec[k] = '\0';
    int width = s->Width < 0 ? 0 : s->Width, precision = s->Precision < 0 ? 6 : s->Precision;
    int n;
    if (conversion == 'a' || conversion == 'A')
        precision = s->Precision; /* -1: exact */
    if (s->Size == RtlpSizeLongDouble)
        n = snprintf(text, sizeof text, spec, width, precision, va_arg(*ap, long double));
    else
        n = snprintf(text, sizeof text, spec, width, precision, va_arg(*ap, double));
    if (n < 0)
        return;
    RtlpPutN(o, text, (size_t)n < sizeof text ? (size_t)n : sizeof text - 1);
}

int RtlpFormatMsEx(char *buf, size_t n, const char *fmt, va_list args, unsigned *Flags)
{
    RTLP_OUT o = {buf, n, 0, 0};
    va_list ap;
    va_copy(ap, args);
    for (const char *p = fmt; *p; p++) {
        if (*p != '%') {
            RtlpPut(&o, *p);
            continue;
        }
        const char *start = p++;
        RTLP_SPEC s = {0, -1, -1, RtlpSizeNone};
        for (;; p++) {
            if (*p == '-')
                s.Flags |= RTLP_F_MINUS;
            else if (*p == '+')
                s.Flags |= RTLP_F_PLUS;
            else if (*p == ' ')
                s.Flags |= RTLP_F_SPACE;
            else if (*p == '#')
                s.Flags |= RTLP_F_HASH;
            else if (*p == '0')
                s.Flags |= RTLP_F_ZERO;
            else
                break;
        }
        if (*p == '*') {
            int w = va_arg(ap, int);
            if (w < 0) {
                s.Flags |= RTLP_F_MINUS;
                w = w == INT_MIN ? INT_MAX : -w;
            }
            s.Width = w;
            p++;
        } else if (*p >= '1' && *p <= '9') {
            long w = 0;
            while (*p >= '0' && *p <= '9') {
                if (w < INT_MAX / 10)
                    w = w * 10 + (*p - '0');
                p++;
            }
            s.Width = (int)w;
        }
        if (*p == '.') {
            p++;
            if (*p == '*') {
                int pr = va_arg(ap, int);
                s.Precision = pr < 0 ? -1 : pr;
                p++;
            } else {
                long pr = 0;
                while (*p >= '0' && *p <= '9') {
                    if (pr < INT_MAX / 10)
                        pr = pr * 10 + (*p - '0');
                    p++;
                }
                s.Precision = (int)pr;
            }
        }
        switch (*p) {
        case 'h':
            s.Size = RtlpSizeShort;
            if (p[1] == 'h') {
                s.Size = RtlpSizeChar;
                p++;
            }
            p++;
            break;
        case 'l':
            s.Size = RtlpSize32;
            if (p[1] == 'l') {
                s.Size = RtlpSize64;
                p++;
            }
            p++;
            break;
        case 'q':
            s.Size = RtlpSize64;
            p++;
            break;
        case 'L':
            s.Size = RtlpSizeLongDouble;
            p++;
            break;
        case 'w':
            s.Size = RtlpSizeWide;
            p++;
            break;
        case 'z':
        case 't':
        case 'j':
            s.Size = RtlpSizePtr;
            p++;
            break;
        case 'I':
            if (p[1] == '6' && p[2] == '4') {
                s.Size = RtlpSize64;
                p += 3;
            } else if (p[1] == '3' && p[2] == '2') {
                s.Size = RtlpSize32;
                p += 3;
            } else {
                s.Size = RtlpSizePtr;
                p++;
            }
            break;
        default:
            break;
        }
        BOOLEAN wide = s.Size == RtlpSize32 || s.Size == RtlpSizeWide;
        char c = *p;
        switch (c) {
        case 'd':
        case 'i': {
            LONGLONG v;
            if (s.Size == RtlpSize64 || s.Size == RtlpSizePtr || s.Size == RtlpSizeLongDouble)
                v = va_arg(ap, long long);
            else if (s.Size == RtlpSizeShort)
                v = (short)va_arg(ap, int);
            else if (s.Size == RtlpSizeChar)
                v = (signed char)va_arg(ap, int);
            else
                v = va_arg(ap, int);
            ULONGLONG mag = v < 0 ? 0 - (ULONGLONG)v : (ULONGLONG)v;
            RtlpPutInteger(&o, &s, mag, v < 0, TRUE, 10, FALSE);
            break;
        }
        case 'u':
        case 'o':
        case 'x':
        case 'X': {
            ULONGLONG v;
            if (s.Size == RtlpSize64 || s.Size == RtlpSizePtr || s.Size == RtlpSizeLongDouble)
                v = va_arg(ap, unsigned long long);
            else if (s.Size == RtlpSizeShort)
                v = (USHORT)va_arg(ap, unsigned);
            else if (s.Size == RtlpSizeChar)
                v = (UCHAR)va_arg(ap, unsigned);
            else
                v = va_arg(ap, unsigned);
            unsigned base = c == 'u' ? 10 : c == 'o' ? 8 : 16;
            RtlpPutInteger(&o, &s, v, FALSE, FALSE, base, c == 'X');
            break;
        }
        case 'p': {
            /* Windows prints a pointer as all of its hex digits, upper case. */
            ULONG_PTR v = (ULONG_PTR)va_arg(ap, void *);
            if (s.Precision < 0)
                s.Precision = (int)(2 * sizeof(void *));
            RtlpPutInteger(&o, &s, v, FALSE, FALSE, 16, TRUE);
            break;
        }
        case 'c':
        case 'C': {
            int v = va_arg(ap, int);
            BOOLEAN w = c == 'C' ? s.Size != RtlpSizeShort : wide;
            if (w) {
                WCHAR wc = (WCHAR)v;
                RtlpPutWide(&o, &s, &wc, 1);
            } else {
                char ch = (char)v;
                RtlpPutNarrow(&o, &s, &ch, 1);
            }
            break;
        }
        case 's':
        case 'S': {
            BOOLEAN w = c == 'S' ? s.Size != RtlpSizeShort : wide;
            if (w) {
                PCWSTR str = va_arg(ap, PCWSTR);
                if (!str)
                    RtlpPutNull(&o, &s);
                else
                    RtlpPutWide(&o, &s, str,
                                s.Precision >= 0 ? RtlpWcsNLen(str, (SIZE_T)s.Precision)
                                                 : RtlpWcsLen(str));
            } else {
                const char *str = va_arg(ap, const char *);
                if (!str)
                    RtlpPutNull(&o, &s);
                else
                    RtlpPutNarrow(&o, &s, str,
                                  s.Precision >= 0 ? strnlen(str, (size_t)s.Precision)
                                                   : strlen(str));
            }
            break;
        }
        case 'Z':
            if (wide) {
                PCUNICODE_STRING us = va_arg(ap, PCUNICODE_STRING);
                if (!us || !us->Buffer) {
                    RtlpPutNull(&o, &s);
                } else {
                    size_t chars = us->Length / sizeof(WCHAR);
                    if (s.Precision >= 0 && (size_t)s.Precision < chars)
                        chars = (size_t)s.Precision;
                    RtlpPutWide(&o, &s, us->Buffer, chars);
                }
            } else {
                PCANSI_STRING as = va_arg(ap, PCANSI_STRING);
                if (!as || !as->Buffer) {
                    RtlpPutNull(&o, &s);
                } else {
                    size_t chars = as->Length;
                    if (s.Precision >= 0 && (size_t)s.Precision < chars)
                        chars = (size_t)s.Precision;
                    RtlpPutNarrow(&o, &s, as->Buffer, chars);
                }
            }
            break;
        case 'e':
        case 'E':
        case 'f':
        case 'F':
        case 'g':
        case 'G':
        case 'a':
        case 'A':
            RtlpPutFloat(&o, &s, c, &ap);
            break;
        case 'n':
            (void)va_arg(ap, void *); /* %n is disabled, as in the Windows CRT */
            break;
        case '%':
            RtlpPut(&o, '%');
            break;
        default:
            /* Unknown or truncated conversion: copy it as it stands. */
            RtlpPutN(&o, start, (size_t)(p - start) + (c ? 1 : 0));
            if (!c)
                p--;
            break;
        }
    }
    va_end(ap);
    if (n)
        buf[o.Pos < n ? o.Pos : n - 1] = '\0';
    if (Flags)
        *Flags = o.Flags;
    return o.Pos > INT_MAX ? INT_MAX : (int)o.Pos;
}

int RtlpFormatMs(char *buf, size_t n, const char *fmt, va_list ap)
{
    return RtlpFormatMsEx(buf, n, fmt, ap, NULL);
}

int RtlpFormatMsV(char *buf, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = RtlpFormatMsEx(buf, n, fmt, ap, NULL);
    va_end(ap);
    return r;
}

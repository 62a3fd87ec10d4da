/* The Microsoft printf language of DbgPrint and ntstrsafe.h (host/internal/rtlp.h). The driver's
 * format string is interpreted here, never handed to the C library: MS and C disagree on %lx
 * (32-bit on Windows), %S/%C/%ls (16-bit WCHAR), %Z/%wZ (counted strings), %I64/%I32/%I (sizes)
 * and %p, and glibc's wide printf assumes a 32-bit wchar_t.
 *
 * One engine, three outputs: UTF-8 bytes (DbgPrint: wide text stays readable in the log), ANSI
 * bytes (the narrow ntstrsafe routines: wide text converted to cp1252, as the kernel's _vsnprintf
 * converts to the ANSI code page) and WCHARs (the wide ntstrsafe routines, whose format string is
 * wide too and follows _vsnwprintf: %s and %c are wide there, %S and %C narrow). */
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

typedef enum _RTLP_OUT_MODE {
    RtlpOutUtf8, /* char, wide text as UTF-8 */
    RtlpOutAnsi, /* char, wide text as cp1252 */
    RtlpOutWide  /* WCHAR, narrow text from cp1252 */
} RTLP_OUT_MODE;

typedef struct _RTLP_OUT {
    char *Buf;   /* RtlpOutUtf8, RtlpOutAnsi */
    PWCH WBuf;   /* RtlpOutWide */
    size_t Size; /* in code units */
    size_t Pos;
    unsigned Flags; /* RTLP_FORMAT_* */
    RTLP_OUT_MODE Mode;
} RTLP_OUT;

/* One code unit: a byte in the narrow modes, a WCHAR in the wide one. */
static void RtlpPut(RTLP_OUT *o, unsigned c)
{
    if (o->Pos + 1 < o->Size) {
        if (o->Mode == RtlpOutWide)
            o->WBuf[o->Pos] = (WCHAR)c;
        else
            o->Buf[o->Pos] = (char)c;
    }
    o->Pos++;
}

static void RtlpPutN(RTLP_OUT *o, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        RtlpPut(o, (UCHAR)s[i]);
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
        RtlpPut(o, (UCHAR)digits[--nd]);
    if (s->Flags & RTLP_F_MINUS)
        RtlpPad(o, ' ', fill);
}

/* Narrow text of n bytes, padded to the width. */
static void RtlpPutNarrow(RTLP_OUT *o, const RTLP_SPEC *s, const char *text, size_t n)
{
    long fill = s->Width > (long)n ? s->Width - (long)n : 0;
    if (!(s->Flags & RTLP_F_MINUS))
        RtlpPad(o, ' ', fill);
    if (o->Mode == RtlpOutWide)
        for (size_t i = 0; i < n; i++)
            RtlpPut(o, RtlpAnsiCharToUnicode((UCHAR)text[i]));
    else
        RtlpPutN(o, text, n);
    if (s->Flags & RTLP_F_MINUS)
        RtlpPad(o, ' ', fill);
}

/* UTF-16 text of n WCHARs: as it is (wide output), as cp1252 bytes (ANSI), or as UTF-8 padded to
 * the width in code points. */
static void RtlpPutWide(RTLP_OUT *o, const RTLP_SPEC *s, PCWCH text, size_t n)
{
    if (o->Mode != RtlpOutUtf8) {
        long fill = s->Width > (long)n ? s->Width - (long)n : 0;
        if (!(s->Flags & RTLP_F_MINUS))
            RtlpPad(o, ' ', fill);
        for (size_t i = 0; i < n; i++)
            RtlpPut(o, o->Mode == RtlpOutWide ? text[i] : RtlpUnicodeCharToAnsi(text[i]));
        if (s->Flags & RTLP_F_MINUS)
            RtlpPad(o, ' ', fill);
        return;
    }
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

/* Whether %s/%c (upper FALSE) or %S/%C (upper TRUE) with this size prefix takes wide text: h is
 * always narrow, l and w always wide; without either the lower-case letter takes the format's own
 * width and the upper-case one the other (_vsnprintf: %S wide; _vsnwprintf: %S narrow). */
static BOOLEAN RtlpIsWideText(BOOLEAN upper, BOOLEAN wideFormat, RTLP_SIZE size)
{
    if (size == RtlpSizeShort)
        return FALSE;
    if (size == RtlpSize32 || size == RtlpSizeWide)
        return TRUE;
    return upper ? !wideFormat : wideFormat;
}

/* The format string, narrow or wide, read one code unit at a time. */
typedef struct _RTLP_FMT {
    const char *A;
    PCWSTR W;
} RTLP_FMT;

#define RTLP_FC(k) (f->W ? (unsigned)f->W[i + (k)] : (unsigned)(UCHAR)f->A[i + (k)])

static void RtlpFormatCore(RTLP_OUT *po, const RTLP_FMT *f, va_list args)
{
    RTLP_OUT o = *po;
    BOOLEAN wideFormat = f->W != NULL;
    va_list ap;
    va_copy(ap, args);
    for (size_t i = 0; RTLP_FC(0); i++) {
        if (RTLP_FC(0) != '%') {
            RtlpPut(&o, RTLP_FC(0));
            continue;
        }
        size_t start = i++;
        RTLP_SPEC s = {0, -1, -1, RtlpSizeNone};
        for (;; i++) {
            if (RTLP_FC(0) == '-')
                s.Flags |= RTLP_F_MINUS;
            else if (RTLP_FC(0) == '+')
                s.Flags |= RTLP_F_PLUS;
            else if (RTLP_FC(0) == ' ')
                s.Flags |= RTLP_F_SPACE;
            else if (RTLP_FC(0) == '#')
                s.Flags |= RTLP_F_HASH;
            else if (RTLP_FC(0) == '0')
                s.Flags |= RTLP_F_ZERO;
            else
                break;
        }
        if (RTLP_FC(0) == '*') {
            int w = va_arg(ap, int);
            if (w < 0) {
                s.Flags |= RTLP_F_MINUS;
                w = w == INT_MIN ? INT_MAX : -w;
            }
            s.Width = w;
            i++;
        } else if (RTLP_FC(0) >= '1' && RTLP_FC(0) <= '9') {
            long w = 0;
            while (RTLP_FC(0) >= '0' && RTLP_FC(0) <= '9') {
                if (w < INT_MAX / 10)
                    w = w * 10 + (RTLP_FC(0) - '0');
                i++;
            }
            s.Width = (int)w;
        }
        if (RTLP_FC(0) == '.') {
            i++;
            if (RTLP_FC(0) == '*') {
                int pr = va_arg(ap, int);
                s.Precision = pr < 0 ? -1 : pr;
                i++;
            } else {
                long pr = 0;
                while (RTLP_FC(0) >= '0' && RTLP_FC(0) <= '9') {
                    if (pr < INT_MAX / 10)
                        pr = pr * 10 + (RTLP_FC(0) - '0');
                    i++;
                }
                s.Precision = (int)pr;
            }
        }
        switch (RTLP_FC(0)) {
        case 'h':
            s.Size = RtlpSizeShort;
            if (RTLP_FC(1) == 'h') {
                s.Size = RtlpSizeChar;
                i++;
            }
            i++;
            break;
        case 'l':
            s.Size = RtlpSize32;
            if (RTLP_FC(1) == 'l') {
                s.Size = RtlpSize64;
                i++;
            }
            i++;
            break;
        case 'q':
            s.Size = RtlpSize64;
            i++;
            break;
        case 'L':
            s.Size = RtlpSizeLongDouble;
            i++;
            break;
        case 'w':
            s.Size = RtlpSizeWide;
            i++;
            break;
        case 'z':
        case 't':
        case 'j':
            s.Size = RtlpSizePtr;
            i++;
            break;
        case 'I':
            if (RTLP_FC(1) == '6' && RTLP_FC(2) == '4') {
                s.Size = RtlpSize64;
                i += 3;
            } else if (RTLP_FC(1) == '3' && RTLP_FC(2) == '2') {
                s.Size = RtlpSize32;
                i += 3;
            } else {
                s.Size = RtlpSizePtr;
                i++;
            }
            break;
        default:
            break;
        }
        BOOLEAN wide = s.Size == RtlpSize32 || s.Size == RtlpSizeWide;
        unsigned c = RTLP_FC(0);
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
            BOOLEAN w = RtlpIsWideText(c == 'C', wideFormat, s.Size);
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
            BOOLEAN w = RtlpIsWideText(c == 'S', wideFormat, s.Size);
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
            RtlpPutFloat(&o, &s, (char)c, &ap);
            break;
        case 'n':
            (void)va_arg(ap, void *); /* %n is disabled, as in the Windows CRT */
            break;
        case '%':
            RtlpPut(&o, '%');
            break;
        default:
            /* Unknown or truncated conversion: copy it as it stands. */
            for (size_t k = start; k < i + (c ? 1 : 0); k++)
                RtlpPut(&o, f->W ? (unsigned)f->W[k] : (unsigned)(UCHAR)f->A[k]);
            if (!c)
                i--;
            break;
        }
    }
    va_end(ap);
    if (o.Size) {
        size_t end = o.Pos < o.Size ? o.Pos : o.Size - 1;
        if (o.Mode == RtlpOutWide)
            o.WBuf[end] = 0;
        else
            o.Buf[end] = '\0';
    }
    *po = o;
}

int RtlpFormatMsEx(char *buf, size_t n, const char *fmt, va_list args, unsigned *Flags)
{
    RTLP_OUT o = {buf, NULL, n, 0, 0, RtlpOutUtf8};
    RTLP_FMT f = {fmt, NULL};
    RtlpFormatCore(&o, &f, args);
    if (Flags)
        *Flags = o.Flags;
    return o.Pos > INT_MAX ? INT_MAX : (int)o.Pos;
}

size_t RtlpFormatAnsi(char *buf, size_t n, const char *fmt, va_list args)
{
    RTLP_OUT o = {buf, NULL, n, 0, 0, RtlpOutAnsi};
    RTLP_FMT f = {fmt, NULL};
    RtlpFormatCore(&o, &f, args);
    return o.Pos;
}

size_t RtlpFormatWide(PWCH buf, size_t n, PCWSTR fmt, va_list args)
{
    RTLP_OUT o = {NULL, buf, n, 0, 0, RtlpOutWide};
    RTLP_FMT f = {NULL, fmt};
    RtlpFormatCore(&o, &f, args);
    return o.Pos;
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

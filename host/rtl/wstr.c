/* 16-bit wide strings, the cp1252 code page and Latin-1 case mapping (host/internal/rtlp.h). */
#include "rtlp.h"

SIZE_T RtlpWcsLen(PCWSTR String)
{
    SIZE_T n = 0;
    while (String[n] != UNICODE_NULL)
        n++;
    return n;
}

SIZE_T RtlpWcsNLen(PCWSTR String, SIZE_T Max)
{
    SIZE_T n = 0;
    while (n < Max && String[n] != UNICODE_NULL)
        n++;
    return n;
}

int RtlpWcsNCmp(PCWSTR String1, PCWSTR String2, SIZE_T Count)
{
    for (SIZE_T i = 0; i < Count; i++) {
        if (String1[i] != String2[i])
            return String1[i] < String2[i] ? -1 : 1;
        if (String1[i] == UNICODE_NULL)
            break;
    }
    return 0;
}

PWSTR RtlpWcsCpy(PWSTR Destination, PCWSTR Source)
{
    SIZE_T i = 0;
    do {
        Destination[i] = Source[i];
    } while (Source[i++] != UNICODE_NULL);
    return Destination;
}

PWSTR RtlpAnsiToWcs(PWSTR Destination, PCSZ Source)
{
    SIZE_T i = 0;
    do {
        Destination[i] = RtlpAnsiCharToUnicode((UCHAR)Source[i]);
    } while (Source[i++] != ANSI_NULL);
    return Destination;
}

/* cp1252 bytes 0x80..0x9F; the five bytes cp1252 leaves undefined map to the C1 control of the
 * same value, as MultiByteToWideChar does. */
static const WCHAR RtlpCp1252High[32] = {
    0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, /* 0x80 */
    0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008D, 0x017D, 0x008F, /* 0x88 */
    0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, /* 0x90 */
    0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178, /* 0x98 */
};

WCHAR RtlpAnsiCharToUnicode(UCHAR Character)
{
    if (Character >= 0x80 && Character <= 0x9F)
        return RtlpCp1252High[Character - 0x80];
    return (WCHAR)Character;
}

UCHAR RtlpUnicodeCharToAnsi(WCHAR Character)
{
    if (Character < 0x80 || (Character >= 0xA0 && Character <= 0xFF))
        return (UCHAR)Character;
    for (unsigned i = 0; i < RTL_NUMBER_OF(RtlpCp1252High); i++)
        if (RtlpCp1252High[i] == Character)
            return (UCHAR)(0x80 + i);
    return '?';
}

WCHAR RtlpUpcaseChar(WCHAR c)
{
    if (c >= 'a' && c <= 'z')
        return (WCHAR)(c - 0x20);
    if (c >= 0xE0 && c <= 0xFE && c != 0xF7)
        return (WCHAR)(c - 0x20);
    if (c == 0xFF)
        return (WCHAR)0x178;
    return c;
}

WCHAR RtlpDowncaseChar(WCHAR c)
{
    if (c >= 'A' && c <= 'Z')
        return (WCHAR)(c + 0x20);
    if (c >= 0xC0 && c <= 0xDE && c != 0xD7)
        return (WCHAR)(c + 0x20);
    if (c == 0x178)
        return (WCHAR)0xFF;
    return c;
}

SIZE_T RtlpUtf16ToUtf8(char *Out, SIZE_T OutSize, PCWCH String, SIZE_T Count, SIZE_T *CodePoints)
{
    SIZE_T need = 0, points = 0;
    for (SIZE_T i = 0; i < Count; i++) {
        ULONG cp = String[i];
        if (cp >= 0xD800 && cp <= 0xDBFF && i + 1 < Count && String[i + 1] >= 0xDC00 &&
            String[i + 1] <= 0xDFFF) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (String[i + 1] - 0xDC00);
            i++;
        } else if (cp >= 0xD800 && cp <= 0xDFFF) {
            cp = 0xFFFD;
        }
        UCHAR bytes[4];
        unsigned len;
        if (cp < 0x80) {
            bytes[0] = (UCHAR)cp;
            len = 1;
        } else if (cp < 0x800) {
            bytes[0] = (UCHAR)(0xC0 | (cp >> 6));
            bytes[1] = (UCHAR)(0x80 | (cp & 0x3F));
            len = 2;
        } else if (cp < 0x10000) {
            bytes[0] = (UCHAR)(0xE0 | (cp >> 12));
            bytes[1] = (UCHAR)(0x80 | ((cp >> 6) & 0x3F));
            bytes[2] = (UCHAR)(0x80 | (cp & 0x3F));
            len = 3;
        } else {
            bytes[0] = (UCHAR)(0xF0 | (cp >> 18));
            bytes[1] = (UCHAR)(0x80 | ((cp >> 12) & 0x3F));
            bytes[2] = (UCHAR)(0x80 | ((cp >> 6) & 0x3F));
            bytes[3] = (UCHAR)(0x80 | (cp & 0x3F));
            len = 4;
        }
        for (unsigned b = 0; b < len; b++, need++)
            if (need < OutSize)
                Out[need] = (char)bytes[b];
        points++;
    }
    if (CodePoints)
        *CodePoints = points;
    return need;
}

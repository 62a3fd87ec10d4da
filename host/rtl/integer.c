/* Integer <-> text and LARGE_INTEGER conversions (wdm.h, ntddk.h). */
#include "rtlp.h"
#include "vf.h"

static BOOLEAN RtlpValidBase(ULONG *Base)
{
    if (*Base == 0) {
        *Base = 10;
        return TRUE;
    }
    return *Base == 2 || *Base == 8 || *Base == 10 || *Base == 16;
}

/* RtlIntegerToChar for a 64-bit value: upper-case digits; OutputLength < 0 zero-pads to
 * -OutputLength characters without a NUL; otherwise a NUL follows when there is room. */
static NTSTATUS RtlpIntegerToChar(ULONGLONG Value, ULONG Base, LONG OutputLength, PSZ String)
{
    static const char digits[] = "0123456789ABCDEF";
    char tmp[64];
    char *end = tmp + sizeof tmp, *p = end;
    if (!RtlpValidBase(&Base))
        return STATUS_INVALID_PARAMETER;
    do {
        *--p = digits[Value % Base];
        Value /= Base;
    } while (Value);
    ULONG length = (ULONG)(end - p);
    if (OutputLength < 0) {
        ULONG width = (ULONG)(-(LONGLONG)OutputLength);
        if (length > width)
            return STATUS_BUFFER_OVERFLOW;
        memset(String, '0', width - length);
        memcpy(String + (width - length), p, length);
        return STATUS_SUCCESS;
    }
    if (length > (ULONG)OutputLength)
        return STATUS_BUFFER_OVERFLOW;
    memcpy(String, p, length);
    if (length < (ULONG)OutputLength)
        String[length] = ANSI_NULL;
    return STATUS_SUCCESS;
}

NTSTATUS NTAPI RtlIntegerToChar(ULONG Value, ULONG Base, LONG OutputLength, PSZ String)
{
    return RtlpIntegerToChar(Value, Base, OutputLength, String);
}

NTSTATUS NTAPI RtlLargeIntegerToChar(PLARGE_INTEGER Value, ULONG Base, LONG OutputLength,
                                     PSZ String)
{
    return RtlpIntegerToChar((ULONGLONG)Value->QuadPart, Base, OutputLength, String);
}

static NTSTATUS RtlpIntegerToUnicodeString(ULONGLONG Value, ULONG Base, PUNICODE_STRING String)
{
    CHAR text[65];
    NTSTATUS status = RtlpIntegerToChar(Value, Base, sizeof text, text);
    if (!NT_SUCCESS(status))
        return status;
    ANSI_STRING ansi;
    ansi.Buffer = text;
    ansi.Length = (USHORT)strlen(text);
    ansi.MaximumLength = sizeof text;
    return RtlAnsiStringToUnicodeString(String, &ansi, FALSE);
}

NTSTATUS NTAPI RtlIntegerToUnicodeString(ULONG Value, ULONG Base, PUNICODE_STRING String)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    return RtlpIntegerToUnicodeString(Value, Base, String);
}

NTSTATUS NTAPI RtlInt64ToUnicodeString(ULONGLONG Value, ULONG Base, PUNICODE_STRING String)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    return RtlpIntegerToUnicodeString(Value, Base, String);
}

/* The shared parser of RtlCharToInteger and RtlUnicodeStringToInteger: leading characters up to
 * ' ' are skipped, then one '+' or '-', then (Base 0 only) a 0x/0o/0b prefix; digits run to the
 * first character that is not a digit of the base. The value wraps modulo 2^32, as on Windows. */
static NTSTATUS RtlpTextToInteger(const CHAR *Narrow, PCWCH Wide, SIZE_T Count, ULONG Base,
                                  PULONG Value)
{
#define RTLP_CHAR(i) ((ULONG)(Wide ? Wide[(i)] : (UCHAR)Narrow[(i)]))
    SIZE_T i = 0;
    BOOLEAN negative = FALSE;
    if (Base != 0 && Base != 2 && Base != 8 && Base != 10 && Base != 16)
        return STATUS_INVALID_PARAMETER;
    if (!Value)
        return STATUS_ACCESS_VIOLATION;
    while (i < Count && RTLP_CHAR(i) <= ' ')
        i++;
    if (i < Count && (RTLP_CHAR(i) == '+' || RTLP_CHAR(i) == '-')) {
        negative = RTLP_CHAR(i) == '-';
        i++;
    }
    if (Base == 0) {
        Base = 10;
        if (i + 1 < Count && RTLP_CHAR(i) == '0') {
            ULONG c = RTLP_CHAR(i + 1);
            ULONG prefixed = c == 'x' ? 16 : c == 'o' ? 8 : c == 'b' ? 2 : 0;
            if (prefixed) {
                Base = prefixed;
                i += 2;
            }
        }
    }
    ULONG total = 0;
    for (; i < Count; i++) {
        ULONG c = RTLP_CHAR(i), digit;
        if (c >= '0' && c <= '9')
            digit = c - '0';
        else if (c >= 'a' && c <= 'z')
            digit = c - 'a' + 10;
        else if (c >= 'A' && c <= 'Z')
            digit = c - 'A' + 10;
        else
            break;
        if (digit >= Base)
            break;
        total = total * Base + digit;
    }
    *Value = negative ? 0u - total : total;
    return STATUS_SUCCESS;
#undef RTLP_CHAR
}

NTSTATUS NTAPI RtlUnicodeStringToInteger(PCUNICODE_STRING String, ULONG Base, PULONG Value)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    if (String->Length < sizeof(WCHAR))
        return STATUS_INVALID_PARAMETER; /* documented: an empty string fails */
    return RtlpTextToInteger(NULL, String->Buffer, String->Length / sizeof(WCHAR), Base, Value);
}

NTSTATUS NTAPI RtlCharToInteger(PCSZ String, ULONG Base, PULONG Value)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    return RtlpTextToInteger(String, NULL, strlen(String), Base, Value);
}

LARGE_INTEGER NTAPI RtlConvertLongToLargeInteger(LONG SignedInteger)
{
    LARGE_INTEGER result;
    result.QuadPart = SignedInteger;
    return result;
}

LARGE_INTEGER NTAPI RtlConvertUlongToLargeInteger(ULONG UnsignedInteger)
{
    LARGE_INTEGER result;
    result.QuadPart = UnsignedInteger;
    return result;
}

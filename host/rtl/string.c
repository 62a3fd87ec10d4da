/* Counted strings (wdm.h, ntddk.h): STRING/ANSI_STRING in cp1252 and UNICODE_STRING in UTF-16.
 * Lengths are in bytes and exclude any terminating NUL. See ddk/rtl.h for the character-set and
 * case-mapping limits. */
#include "rtlp.h"
#include "vf.h"

#undef RtlAnsiStringToUnicodeSize
#undef RtlUnicodeStringToAnsiSize

PVOID RtlpAllocateStringMemory(SIZE_T Bytes)
{
    /* A zero-length string still gets a real buffer, so Buffer != NULL means "allocated". */
    return ExAllocatePoolWithTag(PagedPool, Bytes ? Bytes : sizeof(WCHAR), RTLP_STRING_TAG);
}

VOID RtlpFreeStringMemory(PVOID Buffer)
{
    ExFreePoolWithTag(Buffer, RTLP_STRING_TAG);
}

/* Writes a UNICODE_NULL after Length bytes when MaximumLength has room for it. */
static void RtlpTerminateUnicode(PUNICODE_STRING String)
{
    if ((ULONG)String->Length + sizeof(WCHAR) <= String->MaximumLength)
        memset((PUCHAR)String->Buffer + String->Length, 0, sizeof(WCHAR));
}

/* ---- Initialisation ---- */

static void RtlpInitAnsi(PSTRING Destination, PCSZ Source)
{
    Destination->Buffer = (PCHAR)Source;
    if (!Source) {
        Destination->Length = Destination->MaximumLength = 0;
        return;
    }
    SIZE_T n = strlen(Source);
    if (n > RTLP_MAX_ANSI_LENGTH)
        n = RTLP_MAX_ANSI_LENGTH;
    Destination->Length = (USHORT)n;
    Destination->MaximumLength = (USHORT)(n + 1);
}

static void RtlpInitUnicode(PUNICODE_STRING Destination, PCWSTR Source)
{
    Destination->Buffer = (PWCH)Source;
    if (!Source) {
        Destination->Length = Destination->MaximumLength = 0;
        return;
    }
    SIZE_T n = RtlpWcsNLen(Source, RTLP_MAX_UNICODE_LENGTH / sizeof(WCHAR)) * sizeof(WCHAR);
    Destination->Length = (USHORT)n;
    Destination->MaximumLength = (USHORT)(n + sizeof(WCHAR));
}

VOID NTAPI RtlInitString(PSTRING DestinationString, PCSZ SourceString)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    RtlpInitAnsi(DestinationString, SourceString);
}

VOID NTAPI RtlInitAnsiString(PANSI_STRING DestinationString, PCSZ SourceString)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    RtlpInitAnsi(DestinationString, SourceString);
}

VOID NTAPI RtlInitUnicodeString(PUNICODE_STRING DestinationString, PCWSTR SourceString)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    RtlpInitUnicode(DestinationString, SourceString);
}

NTSTATUS NTAPI RtlInitAnsiStringEx(PANSI_STRING DestinationString, PCSZ SourceString)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    DestinationString->Length = DestinationString->MaximumLength = 0;
    DestinationString->Buffer = (PCHAR)SourceString;
    if (SourceString && strlen(SourceString) > RTLP_MAX_ANSI_LENGTH)
        return STATUS_NAME_TOO_LONG;
    RtlpInitAnsi(DestinationString, SourceString);
    return STATUS_SUCCESS;
}

NTSTATUS NTAPI RtlInitUnicodeStringEx(PUNICODE_STRING DestinationString, PCWSTR SourceString)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    DestinationString->Length = DestinationString->MaximumLength = 0;
    DestinationString->Buffer = (PWCH)SourceString;
    if (SourceString && RtlpWcsNLen(SourceString, RTLP_MAX_UNICODE_LENGTH / sizeof(WCHAR) + 1) >
                            RTLP_MAX_UNICODE_LENGTH / sizeof(WCHAR))
        return STATUS_NAME_TOO_LONG;
    RtlpInitUnicode(DestinationString, SourceString);
    return STATUS_SUCCESS;
}

VOID NTAPI RtlInitEmptyUnicodeString(PUNICODE_STRING UnicodeString, PWCHAR Buffer,
                                     USHORT BufferSize)
{
    UnicodeString->Length = 0;
    UnicodeString->MaximumLength = BufferSize;
    UnicodeString->Buffer = Buffer;
}

VOID NTAPI RtlInitEmptyAnsiString(PANSI_STRING AnsiString, PCHAR Buffer, USHORT BufferSize)
{
    AnsiString->Length = 0;
    AnsiString->MaximumLength = BufferSize;
    AnsiString->Buffer = Buffer;
}

/* ---- Sizes and conversions ---- */

ULONG NTAPI RtlxAnsiStringToUnicodeSize(PCANSI_STRING AnsiString)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    return ((ULONG)AnsiString->Length + 1) * sizeof(WCHAR);
}

ULONG NTAPI RtlAnsiStringToUnicodeSize(PCANSI_STRING AnsiString)
{
    return RtlxAnsiStringToUnicodeSize(AnsiString);
}

ULONG NTAPI RtlxUnicodeStringToAnsiSize(PCUNICODE_STRING UnicodeString)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    return ((ULONG)UnicodeString->Length + sizeof(WCHAR)) / sizeof(WCHAR);
}

ULONG NTAPI RtlUnicodeStringToAnsiSize(PCUNICODE_STRING UnicodeString)
{
    return RtlxUnicodeStringToAnsiSize(UnicodeString);
}

NTSTATUS NTAPI RtlAnsiStringToUnicodeString(PUNICODE_STRING DestinationString,
                                            PCANSI_STRING SourceString,
                                            BOOLEAN AllocateDestinationString)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    ULONG size = RtlxAnsiStringToUnicodeSize(SourceString);
    if (size > MAXUSHORT)
        return STATUS_INVALID_PARAMETER_2;
    ULONG chars = SourceString->Length;
    if (AllocateDestinationString) {
        PWCH buffer = RtlpAllocateStringMemory(size);
        if (!buffer)
            return STATUS_NO_MEMORY;
        DestinationString->Buffer = buffer;
        DestinationString->MaximumLength = (USHORT)size;
    } else if (size > DestinationString->MaximumLength) {
        return STATUS_BUFFER_OVERFLOW;
    }
    for (ULONG i = 0; i < chars; i++)
        DestinationString->Buffer[i] = RtlpAnsiCharToUnicode((UCHAR)SourceString->Buffer[i]);
    DestinationString->Buffer[chars] = UNICODE_NULL;
    DestinationString->Length = (USHORT)(chars * sizeof(WCHAR));
    return STATUS_SUCCESS;
}

NTSTATUS NTAPI RtlUnicodeStringToAnsiString(PANSI_STRING DestinationString,
                                            PCUNICODE_STRING SourceString,
                                            BOOLEAN AllocateDestinationString)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    NTSTATUS status = STATUS_SUCCESS;
    ULONG size = RtlxUnicodeStringToAnsiSize(SourceString);
    if (size > MAXUSHORT)
        return STATUS_INVALID_PARAMETER_2;
    ULONG chars = size - 1;
    if (AllocateDestinationString) {
        PCHAR buffer = RtlpAllocateStringMemory(size);
        if (!buffer)
            return STATUS_NO_MEMORY;
        DestinationString->Buffer = buffer;
        DestinationString->MaximumLength = (USHORT)size;
    } else if (size > DestinationString->MaximumLength) {
        /* As on Windows: convert what fits, terminate it, and say so. */
        if (DestinationString->MaximumLength == 0)
            return STATUS_BUFFER_OVERFLOW;
        status = STATUS_BUFFER_OVERFLOW;
        chars = DestinationString->MaximumLength - 1u;
    }
    for (ULONG i = 0; i < chars; i++)
        DestinationString->Buffer[i] = (CHAR)RtlpUnicodeCharToAnsi(SourceString->Buffer[i]);
    DestinationString->Buffer[chars] = ANSI_NULL;
    DestinationString->Length = (USHORT)chars;
    return status;
}

VOID NTAPI RtlFreeUnicodeString(PUNICODE_STRING UnicodeString)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    if (UnicodeString->Buffer) {
        RtlpFreeStringMemory(UnicodeString->Buffer);
        memset(UnicodeString, 0, sizeof(*UnicodeString));
    }
}

VOID NTAPI RtlFreeAnsiString(PANSI_STRING AnsiString)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    if (AnsiString->Buffer) {
        RtlpFreeStringMemory(AnsiString->Buffer);
        memset(AnsiString, 0, sizeof(*AnsiString));
    }
}

BOOLEAN NTAPI RtlCreateUnicodeString(PUNICODE_STRING DestinationString, PCWSTR SourceString)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    SIZE_T size = (RtlpWcsLen(SourceString) + 1) * sizeof(WCHAR);
    if (size > MAXUSHORT)
        return FALSE;
    PWCH buffer = RtlpAllocateStringMemory(size);
    if (!buffer)
        return FALSE;
    memcpy(buffer, SourceString, size);
    DestinationString->Buffer = buffer;
    DestinationString->Length = (USHORT)(size - sizeof(WCHAR));
    DestinationString->MaximumLength = (USHORT)size;
    return TRUE;
}

NTSTATUS NTAPI RtlDuplicateUnicodeString(ULONG Flags, PCUNICODE_STRING StringIn,
                                         PUNICODE_STRING StringOut)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    const ULONG both = RTL_DUPLICATE_UNICODE_STRING_NULL_TERMINATE |
                       RTL_DUPLICATE_UNICODE_STRING_ALLOCATE_NULL_STRING;
    if (!StringIn || !StringOut || (Flags & ~both) ||
        Flags == RTL_DUPLICATE_UNICODE_STRING_ALLOCATE_NULL_STRING ||
        StringIn->Length > StringIn->MaximumLength || (StringIn->Length && !StringIn->Buffer))
        return STATUS_INVALID_PARAMETER;
    if (StringIn->Length == 0 && Flags != both) {
        StringOut->Length = StringOut->MaximumLength = 0;
        StringOut->Buffer = NULL;
        return STATUS_SUCCESS;
    }
    ULONG size = StringIn->Length;
    if (Flags & RTL_DUPLICATE_UNICODE_STRING_NULL_TERMINATE)
        size += sizeof(WCHAR);
    if (size > MAXUSHORT)
        return STATUS_NAME_TOO_LONG;
    PWCH buffer = RtlpAllocateStringMemory(size);
    if (!buffer)
        return STATUS_NO_MEMORY;
    if (StringIn->Length)
        memcpy(buffer, StringIn->Buffer, StringIn->Length);
    StringOut->Buffer = buffer;
    StringOut->Length = StringIn->Length;
    StringOut->MaximumLength = (USHORT)size;
    if (Flags & RTL_DUPLICATE_UNICODE_STRING_NULL_TERMINATE)
        RtlpTerminateUnicode(StringOut);
    return STATUS_SUCCESS;
}

NTSTATUS NTAPI RtlMultiByteToUnicodeN(PWCH UnicodeString, ULONG MaxBytesInUnicodeString,
                                      PULONG BytesInUnicodeString, const CHAR *MultiByteString,
                                      ULONG BytesInMultiByteString)
{
    ULONG n = MaxBytesInUnicodeString / sizeof(WCHAR);
    if (n > BytesInMultiByteString)
        n = BytesInMultiByteString;
    for (ULONG i = 0; i < n; i++)
        UnicodeString[i] = RtlpAnsiCharToUnicode((UCHAR)MultiByteString[i]);
    if (BytesInUnicodeString)
        *BytesInUnicodeString = n * sizeof(WCHAR);
    return STATUS_SUCCESS;
}

NTSTATUS NTAPI RtlMultiByteToUnicodeSize(PULONG BytesInUnicodeString, const CHAR *MultiByteString,
                                         ULONG BytesInMultiByteString)
{
    *BytesInUnicodeString = BytesInMultiByteString * sizeof(WCHAR);
    return STATUS_SUCCESS;
}

NTSTATUS NTAPI RtlUnicodeToMultiByteN(PCHAR MultiByteString, ULONG MaxBytesInMultiByteString,
                                      PULONG BytesInMultiByteString, PCWCH UnicodeString,
                                      ULONG BytesInUnicodeString)
{
    ULONG n = BytesInUnicodeString / sizeof(WCHAR);
    if (n > MaxBytesInMultiByteString)
        n = MaxBytesInMultiByteString;
    for (ULONG i = 0; i < n; i++)
        MultiByteString[i] = (CHAR)RtlpUnicodeCharToAnsi(UnicodeString[i]);
    if (BytesInMultiByteString)
        *BytesInMultiByteString = n;
    return STATUS_SUCCESS;
}

NTSTATUS NTAPI RtlUnicodeToMultiByteSize(PULONG BytesInMultiByteString, PCWCH UnicodeString,
                                         ULONG BytesInUnicodeString)
{
    *BytesInMultiByteString = BytesInUnicodeString / sizeof(WCHAR);
    return STATUS_SUCCESS;
}

/* ---- Append and copy ---- */

NTSTATUS NTAPI RtlAppendUnicodeStringToString(PUNICODE_STRING Destination, PCUNICODE_STRING Source)
{
    USHORT n = Source->Length;
    if (n == 0)
        return STATUS_SUCCESS;
    if ((ULONG)Destination->Length + n > Destination->MaximumLength)
        return STATUS_BUFFER_TOO_SMALL;
    memmove((PUCHAR)Destination->Buffer + Destination->Length, Source->Buffer, n);
    Destination->Length = (USHORT)(Destination->Length + n);
    RtlpTerminateUnicode(Destination);
    return STATUS_SUCCESS;
}

NTSTATUS NTAPI RtlAppendUnicodeToString(PUNICODE_STRING Destination, PCWSTR Source)
{
    if (!Source)
        return STATUS_SUCCESS;
    SIZE_T n = RtlpWcsLen(Source) * sizeof(WCHAR);
    if (n == 0)
        return STATUS_SUCCESS;
    if (Destination->Length + n > Destination->MaximumLength)
        return STATUS_BUFFER_TOO_SMALL;
    memmove((PUCHAR)Destination->Buffer + Destination->Length, Source, n);
    Destination->Length = (USHORT)(Destination->Length + n);
    RtlpTerminateUnicode(Destination);
    return STATUS_SUCCESS;
}

NTSTATUS NTAPI RtlAppendStringToString(PSTRING Destination, const STRING *Source)
{
    USHORT n = Source->Length;
    if (n == 0)
        return STATUS_SUCCESS;
    if ((ULONG)Destination->Length + n > Destination->MaximumLength)
        return STATUS_BUFFER_TOO_SMALL;
    memmove(Destination->Buffer + Destination->Length, Source->Buffer, n);
    Destination->Length = (USHORT)(Destination->Length + n);
    return STATUS_SUCCESS;
}

VOID NTAPI RtlCopyString(PSTRING DestinationString, const STRING *SourceString)
{
    if (!SourceString) {
        DestinationString->Length = 0;
        return;
    }
    USHORT n = SourceString->Length;
    if (n > DestinationString->MaximumLength)
        n = DestinationString->MaximumLength;
    if (n)
        memmove(DestinationString->Buffer, SourceString->Buffer, n);
    DestinationString->Length = n;
}

VOID NTAPI RtlCopyUnicodeString(PUNICODE_STRING DestinationString, PCUNICODE_STRING SourceString)
{
    if (!SourceString) {
        DestinationString->Length = 0;
        return;
    }
    USHORT n = SourceString->Length;
    if (n > DestinationString->MaximumLength)
        n = DestinationString->MaximumLength;
    if (n)
        memmove(DestinationString->Buffer, SourceString->Buffer, n);
    DestinationString->Length = n;
    RtlpTerminateUnicode(DestinationString);
}

/* ---- Compare ---- */

/* Compares Count WCHARs; returns the difference of the first pair that differs, or 0. */
static LONG RtlpCompareWchars(PCWCH s1, PCWCH s2, SIZE_T Count, BOOLEAN CaseInSensitive)
{
    for (SIZE_T i = 0; i < Count; i++) {
        WCHAR c1 = s1[i], c2 = s2[i];
        if (c1 != c2 && CaseInSensitive) {
            c1 = RtlpUpcaseChar(c1);
            c2 = RtlpUpcaseChar(c2);
        }
        if (c1 != c2)
            return (LONG)c1 - (LONG)c2;
    }
    return 0;
}

static LONG RtlpCompareChars(const CHAR *s1, const CHAR *s2, SIZE_T Count, BOOLEAN CaseInSensitive)
{
    for (SIZE_T i = 0; i < Count; i++) {
        UCHAR c1 = (UCHAR)s1[i], c2 = (UCHAR)s2[i];
        if (c1 != c2 && CaseInSensitive) {
            c1 = (UCHAR)RtlUpperChar((CHAR)c1);
            c2 = (UCHAR)RtlUpperChar((CHAR)c2);
        }
        if (c1 != c2)
            return (LONG)c1 - (LONG)c2;
    }
    return 0;
}

BOOLEAN NTAPI RtlEqualString(const STRING *String1, const STRING *String2, BOOLEAN CaseInSensitive)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    if (String1->Length != String2->Length)
        return FALSE;
    return RtlpCompareChars(String1->Buffer, String2->Buffer, String1->Length, CaseInSensitive) ==
           0;
}

BOOLEAN NTAPI RtlEqualUnicodeString(PCUNICODE_STRING String1, PCUNICODE_STRING String2,
                                    BOOLEAN CaseInSensitive)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    if (String1->Length != String2->Length)
        return FALSE;
    return RtlpCompareWchars(String1->Buffer, String2->Buffer, String1->Length / sizeof(WCHAR),
                             CaseInSensitive) == 0;
}

LONG NTAPI RtlCompareString(const STRING *String1, const STRING *String2, BOOLEAN CaseInSensitive)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    USHORT n = min(String1->Length, String2->Length);
    LONG r = RtlpCompareChars(String1->Buffer, String2->Buffer, n, CaseInSensitive);
    return r ? r : (LONG)String1->Length - (LONG)String2->Length;
}

LONG NTAPI RtlCompareUnicodeString(PCUNICODE_STRING String1, PCUNICODE_STRING String2,
                                   BOOLEAN CaseInSensitive)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    USHORT n = min(String1->Length, String2->Length) / sizeof(WCHAR);
    LONG r = RtlpCompareWchars(String1->Buffer, String2->Buffer, n, CaseInSensitive);
    return r ? r : (LONG)String1->Length - (LONG)String2->Length;
}

LONG NTAPI RtlCompareUnicodeStrings(PCWCH String1, SIZE_T String1Length, PCWCH String2,
                                    SIZE_T String2Length, BOOLEAN CaseInSensitive)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    SIZE_T n = min(String1Length, String2Length);
    LONG r = RtlpCompareWchars(String1, String2, n, CaseInSensitive);
    if (r)
        return r;
    return String1Length == String2Length ? 0 : (String1Length < String2Length ? -1 : 1);
}

BOOLEAN NTAPI RtlPrefixUnicodeString(PCUNICODE_STRING String1, PCUNICODE_STRING String2,
                                     BOOLEAN CaseInSensitive)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    if (String1->Length > String2->Length)
        return FALSE;
    return RtlpCompareWchars(String1->Buffer, String2->Buffer, String1->Length / sizeof(WCHAR),
                             CaseInSensitive) == 0;
}

NTSTATUS NTAPI RtlHashUnicodeString(PCUNICODE_STRING String, BOOLEAN CaseInSensitive,
                                    ULONG HashAlgorithm, PULONG HashValue)
{
    if (!String || !HashValue)
        return STATUS_INVALID_PARAMETER;
    if (HashAlgorithm != HASH_STRING_ALGORITHM_DEFAULT &&
        HashAlgorithm != HASH_STRING_ALGORITHM_X65599)
        return STATUS_INVALID_PARAMETER;
    ULONG hash = 0;
    for (USHORT i = 0; i < String->Length / sizeof(WCHAR); i++) {
        WCHAR c = String->Buffer[i];
        hash = hash * 65599u + (CaseInSensitive ? RtlpUpcaseChar(c) : c);
    }
    *HashValue = hash;
    return STATUS_SUCCESS;
}

/* ---- Case ---- */

WCHAR NTAPI RtlUpcaseUnicodeChar(WCHAR SourceCharacter)
{
    return RtlpUpcaseChar(SourceCharacter);
}

WCHAR NTAPI RtlDowncaseUnicodeChar(WCHAR SourceCharacter)
{
    return RtlpDowncaseChar(SourceCharacter);
}

CHAR NTAPI RtlUpperChar(CHAR Character)
{
    WCHAR w = RtlpAnsiCharToUnicode((UCHAR)Character);
    WCHAR up = RtlpUpcaseChar(w);
    if (up == w)
        return Character;
    UCHAR back = RtlpUnicodeCharToAnsi(up);
    return back == '?' ? Character : (CHAR)back;
}

VOID NTAPI RtlUpperString(PSTRING DestinationString, const STRING *SourceString)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    USHORT n = SourceString->Length;
    if (n > DestinationString->MaximumLength)
        n = DestinationString->MaximumLength;
    for (USHORT i = 0; i < n; i++)
        DestinationString->Buffer[i] = RtlUpperChar(SourceString->Buffer[i]);
    DestinationString->Length = n;
}

static NTSTATUS RtlpMapUnicodeString(PUNICODE_STRING DestinationString,
                                     PCUNICODE_STRING SourceString,
                                     BOOLEAN AllocateDestinationString, WCHAR (*Map)(WCHAR))
{
    USHORT length = SourceString->Length;
    if (AllocateDestinationString) {
        PWCH buffer = RtlpAllocateStringMemory(length);
        if (!buffer)
            return STATUS_NO_MEMORY;
        DestinationString->Buffer = buffer;
        DestinationString->MaximumLength = length;
    } else if (length > DestinationString->MaximumLength) {
        return STATUS_BUFFER_OVERFLOW;
    }
    for (USHORT i = 0; i < length / sizeof(WCHAR); i++)
        DestinationString->Buffer[i] = Map(SourceString->Buffer[i]);
    DestinationString->Length = length;
    return STATUS_SUCCESS;
}

NTSTATUS NTAPI RtlUpcaseUnicodeString(PUNICODE_STRING DestinationString,
                                      PCUNICODE_STRING SourceString,
                                      BOOLEAN AllocateDestinationString)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    return RtlpMapUnicodeString(DestinationString, SourceString, AllocateDestinationString,
                                RtlpUpcaseChar);
}

NTSTATUS NTAPI RtlDowncaseUnicodeString(PUNICODE_STRING DestinationString,
                                        PCUNICODE_STRING SourceString,
                                        BOOLEAN AllocateDestinationString)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    return RtlpMapUnicodeString(DestinationString, SourceString, AllocateDestinationString,
                                RtlpDowncaseChar);
}

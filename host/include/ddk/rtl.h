/*
 * ddk/rtl.h - the run-time library (Rtl) part of wdm.h: memory, counted strings, integer and time
 * conversions, debug output and assertions. Included by wdm.h; do not include directly.
 *
 * Every routine the DDK defines as a macro (RtlCopyMemory, RtlZeroMemory, RtlStoreUlong, ...) is
 * declared here as a real function first and then defined as the macro, so a driver that
 * #undefs the macro links against the exported function of the same name.
 *
 * Character sets (a kmrig limit, documented):
 *  - WCHAR strings are UTF-16. ANSI (and OEM) strings use Windows code page 1252: bytes 0x00-0x7F
 *    and 0xA0-0xFF map to the same Unicode code points; 0x80-0x9F map as in cp1252 (0x80 is
 *    U+20AC EURO SIGN, ...), with the five bytes cp1252 leaves undefined mapped to U+0081,
 *    U+008D, U+008F, U+0090 and U+009D. A code point with no cp1252 byte becomes '?'.
 *  - Case mapping (RtlUpcaseUnicodeChar, RtlDowncaseUnicodeChar, every case-insensitive compare)
 *    covers ASCII and Latin-1 only: U+0061..U+007A <-> U+0041..U+005A, U+00E0..U+00FE except
 *    U+00F7 <-> U+00C0..U+00DE except U+00D7, U+00FF -> U+0178 (and back). U+00B5 and U+00DF
 *    have no single-character upper case and stay as they are. Every other code point is its own
 *    upper and lower case. RtlUpperChar/RtlUpperString map through Unicode, so ANSI 0xFF (y with
 *    diaeresis) becomes 0x9F in cp1252.
 *
 * Allocating conversions (AllocateDestinationString == TRUE, RtlCreateUnicodeString,
 * RtlDuplicateUnicodeString) take their buffer from PagedPool with the tag 'Strg' (the bytes
 * "Strg" as poolmon shows them); RtlFreeUnicodeString and RtlFreeAnsiString free with that tag.
 * Free only strings these routines allocated with them.
 *
 * Debug output and assertions:
 *  - DbgPrint, DbgPrintEx and vDbgPrintEx[WithPrefix] implement the Microsoft format language
 *    themselves (%wZ %Z %ws %ls %S %hs %s %c %C %wc, %I64x %Ix %I32x, 32-bit %lx/%ld, %llx, %p,
 *    flags, width, precision, '*'). Wide text is written as UTF-8. At most 512 bytes of each
 *    message are kept, as on Windows. The message goes to the runtime's log at
 *    KMRIG_LOG_INFO ("DbgPrint: ..." one log line per text line); DbgPrintEx at
 *    DPFLTR_TRACE_LEVEL or above (or a mask without the ERROR/WARNING bits) logs at
 *    KMRIG_LOG_DEBUG. On a thread not attached to a runtime the line goes to stderr. Unicode
 *    conversions (%wZ %ws %ls %S %C %wc %lc) are only allowed at PASSIVE_LEVEL, as documented;
 *    the verifier checks that.
 *  - DbgBreakPoint and DbgBreakPointWithStatus log a line and return: there is no debugger.
 *  - KdPrint((...)), KdPrintEx((...)), KdBreakPoint(), ASSERT, ASSERTMSG, NT_ASSERT,
 *    NT_ASSERTMSG and NT_ASSERTMSGW are active when DBG is nonzero and compile to nothing
 *    otherwise, as in the WDK. NT_VERIFY/NT_VERIFYMSG always evaluate their expression.
 *  - A failed assertion is what it is on Windows without a kernel debugger: it logs the
 *    expression, file and line, then bugchecks KMODE_EXCEPTION_NOT_HANDLED (0x1E) with
 *    parameter 1 = STATUS_ASSERTION_FAILURE and parameter 2 = the address of the caller. So a
 *    failed ASSERT ends the test with a report instead of being silently ignored.
 */
#ifndef KMRIG_DDK_RTL_H
#define KMRIG_DDK_RTL_H

#include <stdarg.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Memory --------------------------------------------------------------------------------- */

NTSYSAPI SIZE_T NTAPI RtlCompareMemory(const VOID *Source1, const VOID *Source2, SIZE_T Length);
NTSYSAPI SIZE_T NTAPI RtlCompareMemoryUlong(PVOID Source, SIZE_T Length, ULONG Pattern);

NTSYSAPI VOID NTAPI RtlCopyMemory(VOID UNALIGNED *Destination, const VOID UNALIGNED *Source,
                                  SIZE_T Length);
NTSYSAPI VOID NTAPI RtlMoveMemory(VOID UNALIGNED *Destination, const VOID UNALIGNED *Source,
                                  SIZE_T Length);
NTSYSAPI VOID NTAPI RtlFillMemory(VOID UNALIGNED *Destination, SIZE_T Length, UCHAR Fill);
NTSYSAPI VOID NTAPI RtlZeroMemory(VOID UNALIGNED *Destination, SIZE_T Length);
NTSYSAPI LOGICAL NTAPI RtlEqualMemory(const VOID *Source1, const VOID *Source2, SIZE_T Length);
NTSYSAPI VOID NTAPI RtlFillMemoryUlong(PVOID Destination, SIZE_T Length, ULONG Pattern);
/* Zeroes memory in a way the compiler does not remove (returns Destination). */
NTSYSAPI PVOID NTAPI RtlSecureZeroMemory(PVOID Destination, SIZE_T Length);

#define RtlCopyMemory(Destination, Source, Length) memcpy((Destination), (Source), (Length))
#define RtlMoveMemory(Destination, Source, Length) memmove((Destination), (Source), (Length))
#define RtlFillMemory(Destination, Length, Fill) memset((Destination), (Fill), (Length))
#define RtlZeroMemory(Destination, Length) memset((Destination), 0, (Length))
#define RtlEqualMemory(Destination, Source, Length) (!memcmp((Destination), (Source), (Length)))
#define RtlCopyBytes RtlCopyMemory
#define RtlZeroBytes RtlZeroMemory
#define RtlFillBytes RtlFillMemory
#define RtlCopyMemoryNonTemporal RtlCopyMemory

/* Unaligned stores and loads in processor (little-endian) byte order. */
NTSYSAPI VOID NTAPI RtlStoreUshort(PVOID Address, USHORT Value);
NTSYSAPI VOID NTAPI RtlStoreUlong(PVOID Address, ULONG Value);
NTSYSAPI VOID NTAPI RtlStoreUlonglong(PVOID Address, ULONGLONG Value);
NTSYSAPI VOID NTAPI RtlStoreUlongPtr(PVOID Address, ULONG_PTR Value);
NTSYSAPI VOID NTAPI RtlRetrieveUshort(PVOID DestinationAddress, const VOID *SourceAddress);
NTSYSAPI VOID NTAPI RtlRetrieveUlong(PVOID DestinationAddress, const VOID *SourceAddress);

#define RtlStoreUshort(ADDRESS, VALUE)                                                             \
    do {                                                                                           \
        USHORT RtlpStoreValue_ = (USHORT)(VALUE);                                                  \
        memcpy((PVOID)(ADDRESS), &RtlpStoreValue_, sizeof(USHORT));                                \
    } while (0)
#define RtlStoreUlong(ADDRESS, VALUE)                                                              \
    do {                                                                                           \
        ULONG RtlpStoreValue_ = (ULONG)(VALUE);                                                    \
        memcpy((PVOID)(ADDRESS), &RtlpStoreValue_, sizeof(ULONG));                                 \
    } while (0)
#define RtlStoreUlonglong(ADDRESS, VALUE)                                                          \
    do {                                                                                           \
        ULONGLONG RtlpStoreValue_ = (ULONGLONG)(VALUE);                                            \
        memcpy((PVOID)(ADDRESS), &RtlpStoreValue_, sizeof(ULONGLONG));                             \
    } while (0)
#define RtlStoreUlongPtr(ADDRESS, VALUE) RtlStoreUlonglong((ADDRESS), (ULONG_PTR)(VALUE))
#define RtlRetrieveUshort(DEST_ADDRESS, SRC_ADDRESS)                                               \
    memcpy((PVOID)(DEST_ADDRESS), (const VOID *)(SRC_ADDRESS), sizeof(USHORT))
#define RtlRetrieveUlong(DEST_ADDRESS, SRC_ADDRESS)                                                \
    memcpy((PVOID)(DEST_ADDRESS), (const VOID *)(SRC_ADDRESS), sizeof(ULONG))

NTSYSAPI USHORT FASTCALL RtlUshortByteSwap(USHORT Source);
NTSYSAPI ULONG FASTCALL RtlUlongByteSwap(ULONG Source);
NTSYSAPI ULONGLONG FASTCALL RtlUlonglongByteSwap(ULONGLONG Source);

/* ---- Counted strings ------------------------------------------------------------------------ */

/* Flags of RtlDuplicateUnicodeString */
#define RTL_DUPLICATE_UNICODE_STRING_NULL_TERMINATE 0x00000001
#define RTL_DUPLICATE_UNICODE_STRING_ALLOCATE_NULL_STRING 0x00000002

/* HashAlgorithm of RtlHashUnicodeString */
#define HASH_STRING_ALGORITHM_DEFAULT 0
#define HASH_STRING_ALGORITHM_X65599 1
#define HASH_STRING_ALGORITHM_INVALID 0xffffffff

/* Initialisation. A NULL source gives an empty string with a NULL Buffer. A source longer than a
 * counted string can describe is cut at 0xFFFE bytes (ANSI) / 0xFFFC bytes (Unicode). */
NTSYSAPI VOID NTAPI RtlInitString(PSTRING DestinationString, PCSZ SourceString);
NTSYSAPI VOID NTAPI RtlInitAnsiString(PANSI_STRING DestinationString, PCSZ SourceString);
NTSYSAPI VOID NTAPI RtlInitUnicodeString(PUNICODE_STRING DestinationString, PCWSTR SourceString);
/* As above, but a source that is too long is refused with STATUS_NAME_TOO_LONG. */
NTSYSAPI NTSTATUS NTAPI RtlInitAnsiStringEx(PANSI_STRING DestinationString, PCSZ SourceString);
NTSYSAPI NTSTATUS NTAPI RtlInitUnicodeStringEx(PUNICODE_STRING DestinationString,
                                               PCWSTR SourceString);
NTSYSAPI VOID NTAPI RtlInitEmptyUnicodeString(PUNICODE_STRING UnicodeString, PWCHAR Buffer,
                                              USHORT BufferSize);
NTSYSAPI VOID NTAPI RtlInitEmptyAnsiString(PANSI_STRING AnsiString, PCHAR Buffer,
                                           USHORT BufferSize);

/* Sizes in bytes, terminating NUL included. */
NTSYSAPI ULONG NTAPI RtlxAnsiStringToUnicodeSize(PCANSI_STRING AnsiString);
NTSYSAPI ULONG NTAPI RtlxUnicodeStringToAnsiSize(PCUNICODE_STRING UnicodeString);
NTSYSAPI ULONG NTAPI RtlAnsiStringToUnicodeSize(PCANSI_STRING AnsiString);
NTSYSAPI ULONG NTAPI RtlUnicodeStringToAnsiSize(PCUNICODE_STRING UnicodeString);
#define RtlAnsiStringToUnicodeSize(STRING) RtlxAnsiStringToUnicodeSize(STRING)
#define RtlUnicodeStringToAnsiSize(STRING) RtlxUnicodeStringToAnsiSize(STRING)

NTSYSAPI NTSTATUS NTAPI RtlAnsiStringToUnicodeString(PUNICODE_STRING DestinationString,
                                                     PCANSI_STRING SourceString,
                                                     BOOLEAN AllocateDestinationString);
/* Without allocation, a destination that is too small gets as much as fits (NUL-terminated) and
 * STATUS_BUFFER_OVERFLOW, as on Windows. */
NTSYSAPI NTSTATUS NTAPI RtlUnicodeStringToAnsiString(PANSI_STRING DestinationString,
                                                     PCUNICODE_STRING SourceString,
                                                     BOOLEAN AllocateDestinationString);
NTSYSAPI VOID NTAPI RtlFreeUnicodeString(PUNICODE_STRING UnicodeString);
NTSYSAPI VOID NTAPI RtlFreeAnsiString(PANSI_STRING AnsiString);
NTSYSAPI BOOLEAN NTAPI RtlCreateUnicodeString(PUNICODE_STRING DestinationString,
                                              PCWSTR SourceString);
NTSYSAPI NTSTATUS NTAPI RtlDuplicateUnicodeString(ULONG Flags, PCUNICODE_STRING StringIn,
                                                  PUNICODE_STRING StringOut);

/* Raw conversions between cp1252 and UTF-16; sizes and counts in bytes. */
NTSYSAPI NTSTATUS NTAPI RtlMultiByteToUnicodeN(PWCH UnicodeString, ULONG MaxBytesInUnicodeString,
                                               PULONG BytesInUnicodeString,
                                               const CHAR *MultiByteString,
                                               ULONG BytesInMultiByteString);
NTSYSAPI NTSTATUS NTAPI RtlMultiByteToUnicodeSize(PULONG BytesInUnicodeString,
                                                  const CHAR *MultiByteString,
                                                  ULONG BytesInMultiByteString);
NTSYSAPI NTSTATUS NTAPI RtlUnicodeToMultiByteN(PCHAR MultiByteString,
                                               ULONG MaxBytesInMultiByteString,
                                               PULONG BytesInMultiByteString, PCWCH UnicodeString,
                                               ULONG BytesInUnicodeString);
NTSYSAPI NTSTATUS NTAPI RtlUnicodeToMultiByteSize(PULONG BytesInMultiByteString,
                                                  PCWCH UnicodeString, ULONG BytesInUnicodeString);

NTSYSAPI NTSTATUS NTAPI RtlAppendUnicodeStringToString(PUNICODE_STRING Destination,
                                                       PCUNICODE_STRING Source);
NTSYSAPI NTSTATUS NTAPI RtlAppendUnicodeToString(PUNICODE_STRING Destination, PCWSTR Source);
NTSYSAPI NTSTATUS NTAPI RtlAppendStringToString(PSTRING Destination, const STRING *Source);

NTSYSAPI VOID NTAPI RtlCopyString(PSTRING DestinationString, const STRING *SourceString);
NTSYSAPI VOID NTAPI RtlCopyUnicodeString(PUNICODE_STRING DestinationString,
                                         PCUNICODE_STRING SourceString);

NTSYSAPI BOOLEAN NTAPI RtlEqualString(const STRING *String1, const STRING *String2,
                                      BOOLEAN CaseInSensitive);
NTSYSAPI BOOLEAN NTAPI RtlEqualUnicodeString(PCUNICODE_STRING String1, PCUNICODE_STRING String2,
                                             BOOLEAN CaseInSensitive);
NTSYSAPI LONG NTAPI RtlCompareString(const STRING *String1, const STRING *String2,
                                     BOOLEAN CaseInSensitive);
NTSYSAPI LONG NTAPI RtlCompareUnicodeString(PCUNICODE_STRING String1, PCUNICODE_STRING String2,
                                            BOOLEAN CaseInSensitive);
NTSYSAPI LONG NTAPI RtlCompareUnicodeStrings(PCWCH String1, SIZE_T String1Length, PCWCH String2,
                                             SIZE_T String2Length, BOOLEAN CaseInSensitive);
/* TRUE if String1 is a prefix of String2. */
NTSYSAPI BOOLEAN NTAPI RtlPrefixUnicodeString(PCUNICODE_STRING String1, PCUNICODE_STRING String2,
                                              BOOLEAN CaseInSensitive);
NTSYSAPI NTSTATUS NTAPI RtlHashUnicodeString(PCUNICODE_STRING String, BOOLEAN CaseInSensitive,
                                             ULONG HashAlgorithm, PULONG HashValue);

NTSYSAPI CHAR NTAPI RtlUpperChar(CHAR Character);
NTSYSAPI WCHAR NTAPI RtlUpcaseUnicodeChar(WCHAR SourceCharacter);
NTSYSAPI WCHAR NTAPI RtlDowncaseUnicodeChar(WCHAR SourceCharacter);
NTSYSAPI VOID NTAPI RtlUpperString(PSTRING DestinationString, const STRING *SourceString);
NTSYSAPI NTSTATUS NTAPI RtlUpcaseUnicodeString(PUNICODE_STRING DestinationString,
                                               PCUNICODE_STRING SourceString,
                                               BOOLEAN AllocateDestinationString);
NTSYSAPI NTSTATUS NTAPI RtlDowncaseUnicodeString(PUNICODE_STRING DestinationString,
                                                 PCUNICODE_STRING SourceString,
                                                 BOOLEAN AllocateDestinationString);

/* ---- Integers ------------------------------------------------------------------------------- */

/* Base 0 means 10 (number to text) or "look at the prefix" (text to number: 0x, 0o, 0b). */
NTSYSAPI NTSTATUS NTAPI RtlIntegerToUnicodeString(ULONG Value, ULONG Base, PUNICODE_STRING String);
NTSYSAPI NTSTATUS NTAPI RtlInt64ToUnicodeString(ULONGLONG Value, ULONG Base,
                                                PUNICODE_STRING String);
/* OutputLength < 0: the result is left-padded with '0' to -OutputLength characters and not
 * NUL-terminated. A NUL is written only when there is room for it. */
NTSYSAPI NTSTATUS NTAPI RtlIntegerToChar(ULONG Value, ULONG Base, LONG OutputLength, PSZ String);
NTSYSAPI NTSTATUS NTAPI RtlLargeIntegerToChar(PLARGE_INTEGER Value, ULONG Base, LONG OutputLength,
                                              PSZ String);
NTSYSAPI NTSTATUS NTAPI RtlUnicodeStringToInteger(PCUNICODE_STRING String, ULONG Base,
                                                  PULONG Value);
NTSYSAPI NTSTATUS NTAPI RtlCharToInteger(PCSZ String, ULONG Base, PULONG Value);

NTSYSAPI LARGE_INTEGER NTAPI RtlConvertLongToLargeInteger(LONG SignedInteger);
NTSYSAPI LARGE_INTEGER NTAPI RtlConvertUlongToLargeInteger(ULONG UnsignedInteger);

/* ---- Time ----------------------------------------------------------------------------------- */

typedef struct _TIME_FIELDS {
    CSHORT Year;         /* 1601 on */
    CSHORT Month;        /* 1..12 */
    CSHORT Day;          /* 1..31 */
    CSHORT Hour;         /* 0..23 */
    CSHORT Minute;       /* 0..59 */
    CSHORT Second;       /* 0..59 */
    CSHORT Milliseconds; /* 0..999 */
    CSHORT Weekday;      /* 0..6, Sunday = 0 */
} TIME_FIELDS, *PTIME_FIELDS;
C_ASSERT(sizeof(TIME_FIELDS) == 16);
C_ASSERT(FIELD_OFFSET(TIME_FIELDS, Weekday) == 14);

/* Time: 100 ns units since 1601-01-01 00:00:00 (Gregorian, proleptic). A negative Time is taken
 * as 0. */
NTSYSAPI VOID NTAPI RtlTimeToTimeFields(PLARGE_INTEGER Time, PTIME_FIELDS TimeFields);
/* FALSE (and *Time untouched) when a field is out of range or the date does not exist; Weekday is
 * ignored. */
NTSYSAPI BOOLEAN NTAPI RtlTimeFieldsToTime(PTIME_FIELDS TimeFields, PLARGE_INTEGER Time);
/* FALSE when Time is before 1970 or after 2106-02-07 06:28:15. */
NTSYSAPI BOOLEAN NTAPI RtlTimeToSecondsSince1970(PLARGE_INTEGER Time, PULONG ElapsedSeconds);
NTSYSAPI VOID NTAPI RtlSecondsSince1970ToTime(ULONG ElapsedSeconds, PLARGE_INTEGER Time);

/* ---- Debug output and assertions ------------------------------------------------------------ */

/* DbgPrintEx ComponentId values (dpfilter.h); kmrig does not filter by component. */
#define DPFLTR_SYSTEM_ID 0
#define DPFLTR_IHVVIDEO_ID 78
#define DPFLTR_IHVAUDIO_ID 79
#define DPFLTR_IHVNETWORK_ID 80
#define DPFLTR_IHVSTREAMING_ID 81
#define DPFLTR_IHVBUS_ID 82
#define DPFLTR_IHVDRIVER_ID 77
#define DPFLTR_DEFAULT_ID 101
/* DbgPrintEx Level: 0..31 is a level, larger values are a mask (DPFLTR_MASK set). */
#define DPFLTR_ERROR_LEVEL 0
#define DPFLTR_WARNING_LEVEL 1
#define DPFLTR_TRACE_LEVEL 2
#define DPFLTR_INFO_LEVEL 3
#define DPFLTR_MASK 0x80000000

NTSYSAPI ULONG __cdecl DbgPrint(PCSTR Format, ...);
NTSYSAPI ULONG __cdecl DbgPrintEx(ULONG ComponentId, ULONG Level, PCSTR Format, ...);
NTSYSAPI ULONG NTAPI vDbgPrintEx(ULONG ComponentId, ULONG Level, PCSTR Format, va_list arglist);
NTSYSAPI ULONG NTAPI vDbgPrintExWithPrefix(PCSTR Prefix, ULONG ComponentId, ULONG Level,
                                           PCSTR Format, va_list arglist);
NTSYSAPI VOID NTAPI DbgBreakPoint(VOID);
NTSYSAPI VOID NTAPI DbgBreakPointWithStatus(ULONG Status);
/* Logs the assertion and bugchecks KMODE_EXCEPTION_NOT_HANDLED (see the top of this file). */
NTSYSAPI VOID NTAPI RtlAssert(PVOID VoidFailedAssertion, PVOID VoidFileName, ULONG LineNumber,
                              PSTR MutableMessage);

#if defined(DBG) && DBG
#define KdPrint(_x_) DbgPrint _x_
#define KdPrintEx(_x_) DbgPrintEx _x_
#define vKdPrintEx(_x_) vDbgPrintEx _x_
#define vKdPrintExWithPrefix(_x_) vDbgPrintExWithPrefix _x_
#define KdBreakPoint() DbgBreakPoint()
#define KdBreakPointWithStatus(s) DbgBreakPointWithStatus(s)
#define ASSERT(exp)                                                                                \
    ((!(exp)) ? (RtlAssert((PVOID) #exp, (PVOID)__FILE__, __LINE__, NULL), FALSE) : TRUE)
#define ASSERTMSG(msg, exp)                                                                        \
    ((!(exp)) ? (RtlAssert((PVOID) #exp, (PVOID)__FILE__, __LINE__, (PSTR)(msg)), FALSE) : TRUE)
#define RTL_SOFT_ASSERT(exp)                                                                       \
    ((!(exp)) ? (DbgPrint("%s(%d): Soft assertion failed\n   Expression: %s\n", __FILE__,          \
                          __LINE__, #exp),                                                         \
                 FALSE)                                                                            \
              : TRUE)
#define RTL_SOFT_ASSERTMSG(msg, exp)                                                               \
    ((!(exp)) ? (DbgPrint("%s(%d): Soft assertion failed\n   Expression: %s\n   Message: %s\n",    \
                          __FILE__, __LINE__, #exp, (msg)),                                        \
                 FALSE)                                                                            \
              : TRUE)
#define NT_ASSERT(exp) ASSERT(exp)
#define NT_ASSERTMSG(msg, exp) ASSERTMSG(msg, exp)
#define NT_ASSERTMSGW(msg, exp)                                                                    \
    ((!(exp)) ? (DbgPrint("NT_ASSERTMSGW: %ws\n", (PCWSTR)(msg)),                                  \
                 RtlAssert((PVOID) #exp, (PVOID)__FILE__, __LINE__, NULL), FALSE)                  \
              : TRUE)
#define NT_VERIFY(exp) NT_ASSERT(exp)
#define NT_VERIFYMSG(msg, exp) NT_ASSERTMSG(msg, exp)
#define NT_VERIFYMSGW(msg, exp) NT_ASSERTMSGW(msg, exp)
#else
#define KdPrint(_x_) ((void)0)
#define KdPrintEx(_x_) ((void)0)
#define vKdPrintEx(_x_) ((void)0)
#define vKdPrintExWithPrefix(_x_) ((void)0)
#define KdBreakPoint() ((void)0)
#define KdBreakPointWithStatus(s) ((void)0)
#define ASSERT(exp) ((void)0)
#define ASSERTMSG(msg, exp) ((void)0)
#define RTL_SOFT_ASSERT(exp) ((void)0)
#define RTL_SOFT_ASSERTMSG(msg, exp) ((void)0)
#define NT_ASSERT(exp) ((void)0)
#define NT_ASSERTMSG(msg, exp) ((void)0)
#define NT_ASSERTMSGW(msg, exp) ((void)0)
#define NT_VERIFY(exp) ((exp) ? TRUE : FALSE)
#define NT_VERIFYMSG(msg, exp) ((exp) ? TRUE : FALSE)
#define NT_VERIFYMSGW(msg, exp) ((exp) ? TRUE : FALSE)
#endif
#define NT_ASSERT_ASSUME(exp) NT_ASSERT(exp)
#define NT_ASSERT_NOASSUME(exp) NT_ASSERT(exp)

#ifdef __cplusplus
}
#endif

#endif

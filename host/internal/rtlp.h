/*
 * rtlp.h - run-time library internals: 16-bit wide-string helpers (the runtime never calls glibc's
 * wcs* functions: glibc's wchar_t is 32 bits), the cp1252 code page, Latin-1 case mapping, the
 * string pool tag, and the Microsoft-format printf engine behind DbgPrint.
 */
#ifndef KMRIG_INTERNAL_RTLP_H
#define KMRIG_INTERNAL_RTLP_H

#include <ntddk.h>
#include <stdarg.h>
#include <stddef.h>

/* Pool tag of every buffer the Rtl string routines allocate: the bytes "Strg" in memory (a
 * little-endian ULONG, as the multi-character constant 'grtS' is written in driver code). */
#define RTLP_STRING_TAG ((ULONG)'S' | ((ULONG)'t' << 8) | ((ULONG)'r' << 16) | ((ULONG)'g' << 24))

/* Largest Length of a counted string that still leaves room for a NUL in MaximumLength. */
#define RTLP_MAX_ANSI_LENGTH ((USHORT)(MAXUSHORT - 1))                       /* 0xFFFE */
#define RTLP_MAX_UNICODE_LENGTH ((USHORT)((MAXUSHORT & ~1) - sizeof(WCHAR))) /* 0xFFFC */

/* ---- 16-bit wide strings (host/rtl/wstr.c) ---- */

/* Number of WCHARs before the terminating NUL. */
SIZE_T RtlpWcsLen(PCWSTR String);
/* ... but at most Max. */
SIZE_T RtlpWcsNLen(PCWSTR String, SIZE_T Max);
/* Compares up to Count WCHARs (stops at a NUL); <0, 0, >0 like strncmp. */
int RtlpWcsNCmp(PCWSTR String1, PCWSTR String2, SIZE_T Count);
/* Copies the WCHARs of Source including the NUL; returns Destination. */
PWSTR RtlpWcsCpy(PWSTR Destination, PCWSTR Source);
/* Copies an ASCII/cp1252 C string to WCHARs including the NUL (for tests and internal names). */
PWSTR RtlpAnsiToWcs(PWSTR Destination, PCSZ Source);

/* cp1252 <-> UTF-16 for one character; a code point with no cp1252 byte gives '?'. */
WCHAR RtlpAnsiCharToUnicode(UCHAR Character);
UCHAR RtlpUnicodeCharToAnsi(WCHAR Character);

/* Latin-1 case mapping (see ddk/rtl.h for the exact range). */
WCHAR RtlpUpcaseChar(WCHAR Character);
WCHAR RtlpDowncaseChar(WCHAR Character);

/* Appends the UTF-8 form of the UTF-16 text [String, String + Count) to Out (at most OutSize
 * bytes, never NUL-terminated). Returns the number of bytes the whole text needs; *CodePoints
 * (when not NULL) receives the number of code points. Unpaired surrogates become U+FFFD. */
SIZE_T RtlpUtf16ToUtf8(char *Out, SIZE_T OutSize, PCWCH String, SIZE_T Count, SIZE_T *CodePoints);

/* Pool for strings (host/rtl/string.c): PagedPool with RTLP_STRING_TAG. */
PVOID RtlpAllocateStringMemory(SIZE_T Bytes);
VOID RtlpFreeStringMemory(PVOID Buffer);

/* ---- Microsoft printf (host/rtl/format.c) ---- */

/* Formats like the Windows kernel's _vsnprintf as DbgPrint uses it (see ddk/rtl.h): %wZ %Z %ws
 * %ls %S %hs %s %c %C %wc %hc, %d %i %u %o %x %X with h hh l ll L I I32 I64 z t j w, %p, %n
 * (consumes its pointer, writes nothing), %e %f %g %a, flags "-+ #0", width and precision with '*',
 * %%. Wide text is written as UTF-8. Writes at most n - 1 characters and a NUL (nothing when n ==
 * 0); returns the length the whole output needs, like C99 vsnprintf. An unknown conversion is
 * copied to the output as it stands. */
int RtlpFormatMs(char *buf, size_t n, const char *fmt, va_list ap);
int RtlpFormatMsV(char *buf, size_t n, const char *fmt, ...);

/* RTLP_FORMAT_UNICODE: the format converted wide text (only allowed at PASSIVE_LEVEL). */
#define RTLP_FORMAT_UNICODE 0x1u
int RtlpFormatMsEx(char *buf, size_t n, const char *fmt, va_list ap, unsigned *Flags);

/* The same language for ntstrsafe.h (host/rtl/strsafe.c): into n chars with wide text converted
 * to cp1252 (RtlpFormatAnsi), or from a wide format into n WCHARs (RtlpFormatWide, _vsnwprintf's
 * reading: %s %c wide, %S %C narrow, narrow text converted from cp1252). Each writes at most
 * n - 1 code units and a NUL (nothing when n == 0) and returns the number of code units the whole
 * output needs. */
size_t RtlpFormatAnsi(char *buf, size_t n, const char *fmt, va_list ap);
size_t RtlpFormatWide(PWCH buf, size_t n, PCWSTR fmt, va_list ap);

#endif

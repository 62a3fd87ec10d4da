/*
 * ntdef.h - basic NT types with x64 WDK sizes and layouts.
 *
 * Driver code and the runtime are built with -fshort-wchar (the kmrig::driver CMake target carries
 * it), so WCHAR is 16 bits and L"..." literals are WCHAR strings, as on Windows.
 */
#ifndef KMRIG_NTDEF_H
#define KMRIG_NTDEF_H

#include <stddef.h>
#include <stdint.h>
#include <limits.h>

#include "sal.h"

#if !defined(__x86_64__) && !defined(__aarch64__)
#error "kmrig models the x64 WDK: build for a 64-bit target"
#endif

#ifdef __cplusplus
#define EXTERN_C extern "C"
#define KMRIG_STATIC_ASSERT(e, m) static_assert(e, m)
#else
#define EXTERN_C extern
#define KMRIG_STATIC_ASSERT(e, m) _Static_assert(e, m)
#endif

#ifndef __cplusplus
KMRIG_STATIC_ASSERT(sizeof(wchar_t) == 2,
                    "kmrig: NT driver code needs a 16-bit wchar_t: compile with -fshort-wchar "
                    "(link the kmrig::driver CMake target)");
#endif

/* Calling conventions and declaration decorations: x64 has one calling convention. */
#define NTAPI
#define NTAPI_INLINE
#define WINAPI
#define CALLBACK
#define FASTCALL
#define STDMETHODCALLTYPE
#define __stdcall
#define __cdecl
#define __fastcall
#define __ptr64
#define __ptr32
#define __unaligned
#define __restrict__ restrict
#ifndef __int64
#define __int64 long long
#endif
#define __int32 int
#define __int16 short
#define __int8 char
#define __inline inline
#define __forceinline static inline __attribute__((always_inline))
#define FORCEINLINE static inline __attribute__((always_inline))
#define NTKERNELAPI
#define NTHALAPI
#define NTSYSAPI
#define NTSYSCALLAPI
#define NTSTRSAFEAPI static inline NTSTATUS
#define DECLSPEC_IMPORT
#define DECLSPEC_EXPORT __attribute__((visibility("default")))
#define DECLSPEC_NORETURN __attribute__((noreturn))
#define DECLSPEC_NOINLINE __attribute__((noinline))
#define DECLSPEC_ALIGN(x) __attribute__((aligned(x)))
#define DECLSPEC_CACHEALIGN DECLSPEC_ALIGN(64)
#define DECLSPEC_DEPRECATED_DDK
#define DECLSPEC_NOTHROW
#define DECLSPEC_SELECTANY __attribute__((weak))
#define __declspec(x)
#define CONST const
#define VOID void
#define IN
#define OUT
#define OPTIONAL
#define UNALIGNED
#define RESTRICTED_POINTER
#define ANYSIZE_ARRAY 1
#define C_ASSERT(e) KMRIG_STATIC_ASSERT(e, #e)
#define UNREFERENCED_PARAMETER(P) ((void)(P))
#define DBG_UNREFERENCED_PARAMETER(P) ((void)(P))
#define DBG_UNREFERENCED_LOCAL_VARIABLE(V) ((void)(V))
#define ALLOC_PRAGMA 1
#define ALLOC_DATA_PRAGMA 1
#define DECLARE_HANDLE(n) typedef struct n##__ *n

/* #pragma alloc_text(PAGE, X) and friends are Microsoft pragmas: GCC ignores unknown pragmas when
 * -Wno-unknown-pragmas is given (kmrig::driver carries it). */

#ifndef NULL
#define NULL ((void *)0)
#endif
#ifndef FALSE
#define FALSE 0
#endif
#ifndef TRUE
#define TRUE 1
#endif

typedef void *PVOID, **PPVOID;
typedef const void *PCVOID, *LPCVOID;
typedef void *LPVOID;
typedef char CHAR, *PCHAR, *LPSTR, *PSTR, *PSZ;
typedef const char *PCCHAR, *LPCSTR, *PCSTR, *PCSZ, *PCCH;
typedef char *PCH;
typedef unsigned char UCHAR, *PUCHAR, BYTE, *PBYTE, BOOLEAN, *PBOOLEAN;
typedef signed char SCHAR, *PSCHAR;
typedef short SHORT, *PSHORT, CSHORT;
typedef unsigned short USHORT, *PUSHORT, WORD, *PWORD;
typedef int32_t LONG, *PLONG, INT, *PINT, LONG32, *PLONG32, INT32, *PINT32;
typedef uint32_t ULONG, *PULONG, UINT, *PUINT, DWORD, *PDWORD, ULONG32, *PULONG32, UINT32, *PUINT32,
    DWORD32, LOGICAL, *PLOGICAL;
typedef int BOOL, *PBOOL;
typedef int8_t INT8, *PINT8;
typedef uint8_t UINT8, *PUINT8;
typedef int16_t INT16, *PINT16;
typedef uint16_t UINT16, *PUINT16;
typedef long long LONGLONG, *PLONGLONG, LONG64, *PLONG64, INT64, *PINT64;
typedef unsigned long long ULONGLONG, *PULONGLONG, ULONG64, *PULONG64, UINT64, *PUINT64, DWORD64,
    *PDWORD64, DWORDLONG;
typedef intptr_t LONG_PTR, *PLONG_PTR, INT_PTR, *PINT_PTR, SSIZE_T, *PSSIZE_T;
typedef uintptr_t ULONG_PTR, *PULONG_PTR, UINT_PTR, *PUINT_PTR, SIZE_T, *PSIZE_T, DWORD_PTR,
    *PDWORD_PTR;
typedef ULONG_PTR KAFFINITY, *PKAFFINITY;
typedef LONG NTSTATUS, *PNTSTATUS;
typedef float FLOAT;
typedef double DOUBLE;
typedef ULONG CLONG;
typedef UCHAR KIRQL, *PKIRQL;
typedef char CCHAR;
typedef CCHAR KPROCESSOR_MODE;
typedef LONG KPRIORITY, *PKPRIORITY;
typedef ULONG ACCESS_MASK, *PACCESS_MASK;
typedef ULONG LCID;
typedef USHORT LANGID;
typedef ULONG EXECUTION_STATE;
typedef PVOID HANDLE, *PHANDLE;
typedef ULONG_PTR ERESOURCE_THREAD, *PERESOURCE_THREAD;

#ifdef __cplusplus
typedef char16_t WCHAR;
#else
typedef wchar_t WCHAR;
#endif
typedef WCHAR *PWCHAR, *LPWSTR, *PWSTR, *PWCH, *NWPSTR;
typedef const WCHAR *PCWCHAR, *LPCWSTR, *PCWSTR, *PCWCH;
typedef PWSTR *PZPWSTR;
typedef PSTR *PZPSTR;
typedef const char *PCSZ_;
#define NTSTRSAFE_PWSTR PWSTR
#define NTSTRSAFE_PCWSTR PCWSTR
#define NTSTRSAFE_PSTR PSTR
#define NTSTRSAFE_PCSTR PCSTR

#define MAXCHAR 0x7f
#define MAXSHORT 0x7fff
#define MAXLONG 0x7fffffff
#define MAXULONG 0xffffffffU
#define MAXUSHORT 0xffff
#define MAXUCHAR 0xff
#define MAXLONGLONG 0x7fffffffffffffffLL
#define MAXULONG_PTR (~(ULONG_PTR)0)
#define MAXLONG_PTR ((LONG_PTR)(MAXULONG_PTR >> 1))
#define MINLONG_PTR (~MAXLONG_PTR)
#define MAXSIZE_T MAXULONG_PTR
#define MAXULONG32 0xffffffffU
#define MAXUINT32 0xffffffffU
#define MAXULONG64 0xffffffffffffffffULL
#define MAXUINT64 0xffffffffffffffffULL
#define MINLONG (-MAXLONG - 1)

#define NT_SUCCESS(Status) (((NTSTATUS)(Status)) >= 0)
#define NT_INFORMATION(Status) ((((ULONG)(Status)) >> 30) == 1)
#define NT_WARNING(Status) ((((ULONG)(Status)) >> 30) == 2)
#define NT_ERROR(Status) ((((ULONG)(Status)) >> 30) == 3)

#define FIELD_OFFSET(type, field) ((LONG)offsetof(type, field))
#define RTL_FIELD_SIZE(type, field) (sizeof(((type *)0)->field))
#define RTL_SIZEOF_THROUGH_FIELD(type, field)                                                      \
    (FIELD_OFFSET(type, field) + RTL_FIELD_SIZE(type, field))
#define RTL_NUMBER_OF(A) (sizeof(A) / sizeof((A)[0]))
#define ARRAYSIZE(A) RTL_NUMBER_OF(A)
#define RTL_NUMBER_OF_V2(A) RTL_NUMBER_OF(A)
/* offsetof, not the WDK's null-pointer idiom, which UBSan (clang) reports as a member access
 * within a null pointer. */
#define CONTAINING_RECORD(address, type, field) ((type *)((PCHAR)(address)-offsetof(type, field)))
#define ALIGN_DOWN_BY(length, alignment) ((ULONG_PTR)(length) & ~((ULONG_PTR)(alignment)-1))
#define ALIGN_UP_BY(length, alignment)                                                             \
    (ALIGN_DOWN_BY(((ULONG_PTR)(length) + (alignment)-1), (alignment)))
#define ALIGN_DOWN_POINTER_BY(address, alignment) ((PVOID)ALIGN_DOWN_BY((address), (alignment)))
#define ALIGN_UP_POINTER_BY(address, alignment) ((PVOID)ALIGN_UP_BY((address), (alignment)))
#define ALIGN_DOWN(length, type) ALIGN_DOWN_BY(length, sizeof(type))
#define ALIGN_UP(length, type) ALIGN_UP_BY(length, sizeof(type))
#define Int32x32To64(a, b) (((LONGLONG)(LONG)(a)) * ((LONGLONG)(LONG)(b)))
#define UInt32x32To64(a, b) (((ULONGLONG)(ULONG)(a)) * ((ULONGLONG)(ULONG)(b)))
#define MAKELONG(a, b) ((LONG)(((USHORT)(a)) | ((ULONG)((USHORT)(b))) << 16))
#define LOWORD(l) ((USHORT)((ULONG_PTR)(l)&0xffff))
#define HIWORD(l) ((USHORT)(((ULONG_PTR)(l) >> 16) & 0xffff))
#define LOBYTE(w) ((UCHAR)((ULONG_PTR)(w)&0xff))
#define HIBYTE(w) ((UCHAR)(((ULONG_PTR)(w) >> 8) & 0xff))
#define min(a, b) (((a) < (b)) ? (a) : (b))
#define max(a, b) (((a) > (b)) ? (a) : (b))

typedef union _LARGE_INTEGER {
    struct {
        ULONG LowPart;
        LONG HighPart;
    };
    struct {
        ULONG LowPart;
        LONG HighPart;
    } u;
    LONGLONG QuadPart;
} LARGE_INTEGER, *PLARGE_INTEGER;

typedef union _ULARGE_INTEGER {
    struct {
        ULONG LowPart;
        ULONG HighPart;
    };
    struct {
        ULONG LowPart;
        ULONG HighPart;
    } u;
    ULONGLONG QuadPart;
} ULARGE_INTEGER, *PULARGE_INTEGER;

typedef LARGE_INTEGER PHYSICAL_ADDRESS, *PPHYSICAL_ADDRESS;

typedef struct _LIST_ENTRY {
    struct _LIST_ENTRY *Flink;
    struct _LIST_ENTRY *Blink;
} LIST_ENTRY, *PLIST_ENTRY, *RESTRICTED_POINTER PRLIST_ENTRY;

typedef struct _SINGLE_LIST_ENTRY {
    struct _SINGLE_LIST_ENTRY *Next;
} SINGLE_LIST_ENTRY, *PSINGLE_LIST_ENTRY;

typedef struct _STRING {
    USHORT Length;
    USHORT MaximumLength;
    PCHAR Buffer;
} STRING, *PSTRING, ANSI_STRING, *PANSI_STRING, OEM_STRING, *POEM_STRING;
typedef const STRING *PCSTRING, *PCANSI_STRING, *PCOEM_STRING;

typedef struct _UNICODE_STRING {
    USHORT Length;
    USHORT MaximumLength;
    PWCH Buffer;
} UNICODE_STRING, *PUNICODE_STRING;
typedef const UNICODE_STRING *PCUNICODE_STRING;
#define UNICODE_NULL ((WCHAR)0)
#define ANSI_NULL ((CHAR)0)
#define UNICODE_STRING_MAX_BYTES ((USHORT)65534)
#define UNICODE_STRING_MAX_CHARS (32767)
#define RTL_CONSTANT_STRING(s)                                                                     \
    {                                                                                              \
        sizeof(s) - sizeof((s)[0]), sizeof(s), (void *)(s)                                         \
    }
#define DECLARE_CONST_UNICODE_STRING(_var, _string)                                                \
    const WCHAR _var##_buffer[] = _string;                                                         \
    const UNICODE_STRING _var = {sizeof(_string) - sizeof(WCHAR), sizeof(_string),                 \
                                 (PWCH)_var##_buffer}
#define DECLARE_UNICODE_STRING_SIZE(_var, _size)                                                   \
    WCHAR _var##_buffer[_size];                                                                    \
    UNICODE_STRING _var = {0, (_size) * sizeof(WCHAR), _var##_buffer}

typedef struct _OBJECT_ATTRIBUTES {
    ULONG Length;
    HANDLE RootDirectory;
    PUNICODE_STRING ObjectName;
    ULONG Attributes;
    PVOID SecurityDescriptor;
    PVOID SecurityQualityOfService;
} OBJECT_ATTRIBUTES, *POBJECT_ATTRIBUTES;
typedef const OBJECT_ATTRIBUTES *PCOBJECT_ATTRIBUTES;

#define OBJ_INHERIT 0x00000002L
#define OBJ_PERMANENT 0x00000010L
#define OBJ_EXCLUSIVE 0x00000020L
#define OBJ_CASE_INSENSITIVE 0x00000040L
#define OBJ_OPENIF 0x00000080L
#define OBJ_OPENLINK 0x00000100L
#define OBJ_KERNEL_HANDLE 0x00000200L
#define OBJ_FORCE_ACCESS_CHECK 0x00000400L
#define OBJ_VALID_ATTRIBUTES 0x000007F2L

/* InitializeObjectAttributes is a macro in the DDK; the function form is exported too. */
EXTERN_C VOID NTAPI InitializeObjectAttributes(POBJECT_ATTRIBUTES p, PUNICODE_STRING n, ULONG a,
                                               HANDLE r, PVOID s);
#define InitializeObjectAttributes(p, n, a, r, s)                                                  \
    do {                                                                                           \
        (p)->Length = sizeof(OBJECT_ATTRIBUTES);                                                   \
        (p)->RootDirectory = (r);                                                                  \
        (p)->Attributes = (a);                                                                     \
        (p)->ObjectName = (n);                                                                     \
        (p)->SecurityDescriptor = (s);                                                             \
        (p)->SecurityQualityOfService = NULL;                                                      \
    } while (0)

typedef enum _EVENT_TYPE { NotificationEvent, SynchronizationEvent } EVENT_TYPE;
typedef enum _TIMER_TYPE { NotificationTimer, SynchronizationTimer } TIMER_TYPE;
typedef enum _WAIT_TYPE { WaitAll, WaitAny, WaitNotification, WaitDequeue } WAIT_TYPE;
typedef enum _NT_PRODUCT_TYPE {
    NtProductWinNt = 1,
    NtProductLanManNt,
    NtProductServer
} NT_PRODUCT_TYPE;

typedef struct _GUID {
    ULONG Data1;
    USHORT Data2;
    USHORT Data3;
    UCHAR Data4[8];
} GUID, *PGUID, *LPGUID;
typedef const GUID *LPCGUID, *PCGUID;
typedef GUID UUID;

typedef struct _QUAD {
    union {
        LONGLONG UseThisFieldToCopy;
        double DoNotUseThisField;
    };
} QUAD, *PQUAD;

typedef struct DECLSPEC_ALIGN(16) _M128A {
    ULONGLONG Low;
    LONGLONG High;
} M128A, *PM128A;

#include "ntstatus.h"

/* Layout pins: the x64 WDK's sizes. */
C_ASSERT(sizeof(LONG) == 4);
C_ASSERT(sizeof(ULONG) == 4);
C_ASSERT(sizeof(PVOID) == 8);
C_ASSERT(sizeof(WCHAR) == 2);
C_ASSERT(sizeof(LARGE_INTEGER) == 8);
C_ASSERT(sizeof(LIST_ENTRY) == 16);
C_ASSERT(sizeof(UNICODE_STRING) == 16);
C_ASSERT(FIELD_OFFSET(UNICODE_STRING, Buffer) == 8);
C_ASSERT(sizeof(OBJECT_ATTRIBUTES) == 48);

#endif

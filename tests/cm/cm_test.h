/* Helpers of the registry tests. */
#ifndef CM_TEST_H
#define CM_TEST_H

#include "kmtest.h"

#include <kmrig/registry.h>
#include <string.h>

static inline UNICODE_STRING us(PCWSTR s)
{
    UNICODE_STRING u;
    RtlInitUnicodeString(&u, s);
    return u;
}

/* ZwCreateKey on an absolute path (or relative to root). */
static inline NTSTATUS create_key(HANDLE root, PCWSTR path, ULONG options, HANDLE *h,
                                  ULONG *disposition)
{
    UNICODE_STRING n = us(path);
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, &n, OBJ_CASE_INSENSITIVE | OBJ_KERNEL_HANDLE, root, NULL);
    return ZwCreateKey(h, KEY_ALL_ACCESS, &oa, 0, NULL, options, disposition);
}

static inline NTSTATUS open_key(HANDLE root, PCWSTR path, HANDLE *h)
{
    UNICODE_STRING n = us(path);
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, &n, OBJ_CASE_INSENSITIVE | OBJ_KERNEL_HANDLE, root, NULL);
    return ZwOpenKey(h, KEY_READ, &oa);
}

static inline NTSTATUS set_dword(HANDLE h, PCWSTR name, ULONG v)
{
    UNICODE_STRING n = us(name);
    return ZwSetValueKey(h, &n, 0, REG_DWORD, &v, sizeof v);
}

static inline NTSTATUS set_sz(HANDLE h, PCWSTR name, ULONG type, PCWSTR s)
{
    UNICODE_STRING n = us(name);
    ULONG len = 0;
    while (s[len])
        len++;
    return ZwSetValueKey(h, &n, 0, type, (PVOID)s, (len + 1) * sizeof(WCHAR));
}

static inline int wide_eq(PCWCH a, ULONG bytes, PCWSTR b)
{
    ULONG n = 0;
    while (b[n])
        n++;
    return bytes == n * sizeof(WCHAR) && memcmp(a, b, bytes) == 0;
}

#define SVC L"\\Registry\\Machine\\System\\CurrentControlSet\\Services"

#endif

/*
 * The Rtl registry routines: RtlQueryRegistryValues with its flags, RtlCheckRegistryKey,
 * RtlCreateRegistryKey, RtlWriteRegistryValue, RtlDeleteRegistryValue. Built on the Zw routines,
 * so query routines run with no hive lock held and may use the registry themselves.
 */
#include "cm.h"
#include "rtlp.h"
#include "vf.h"

#include <stdlib.h>
#include <string.h>

/* RelativeTo bases; RTL_REGISTRY_USER is the system's user (.Default): kmrig runs every driver in
 * the System process. */
static const char *const RtlpRegistryBases[RTL_REGISTRY_MAXIMUM] = {
    "",
    "\\Registry\\Machine\\System\\CurrentControlSet\\Services",
    "\\Registry\\Machine\\System\\CurrentControlSet\\Control",
    "\\Registry\\Machine\\Software\\Microsoft\\Windows NT\\CurrentVersion",
    "\\Registry\\Machine\\Hardware\\DeviceMap",
    "\\Registry\\User\\.Default",
};

/* Opens the key named by RelativeTo/Path. *Close tells whether the handle is ours to close. */
static NTSTATUS RtlpGetRegistryHandle(ULONG RelativeTo, PCWSTR Path, BOOLEAN Create, PHANDLE Handle,
                                      BOOLEAN *Close)
{
    *Close = FALSE;
    if (RelativeTo & RTL_REGISTRY_HANDLE) {
        *Handle = (HANDLE)Path;
        return STATUS_SUCCESS;
    }
    ULONG base = RelativeTo & ~(RTL_REGISTRY_OPTIONAL | RTL_REGISTRY_HANDLE);
    if (base >= RTL_REGISTRY_MAXIMUM)
        return STATUS_INVALID_PARAMETER;
    SIZE_T pathLength = Path ? RtlpWcsLen(Path) : 0;
    const char *prefix = RtlpRegistryBases[base];
    SIZE_T prefixLength = strlen(prefix);
    SIZE_T total = prefixLength + 1 + pathLength;
    if (total * sizeof(WCHAR) > UNICODE_STRING_MAX_BYTES)
        return STATUS_NAME_TOO_LONG;
    PWCH buffer = malloc((total + 1) * sizeof(WCHAR));
    if (!buffer)
        return STATUS_INSUFFICIENT_RESOURCES;
    SIZE_T at = 0;
    for (SIZE_T i = 0; i < prefixLength; i++)
        buffer[at++] = (WCHAR)(UCHAR)prefix[i];
    if (base != RTL_REGISTRY_ABSOLUTE && pathLength && Path[0] != L'\\')
        buffer[at++] = L'\\';
    for (SIZE_T i = 0; i < pathLength; i++)
        buffer[at++] = Path[i];
    UNICODE_STRING name = {(USHORT)(at * sizeof(WCHAR)), (USHORT)(at * sizeof(WCHAR)), buffer};
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, &name, OBJ_CASE_INSENSITIVE | OBJ_KERNEL_HANDLE, NULL, NULL);
    NTSTATUS st = Create ? ZwCreateKey(Handle, KEY_ALL_ACCESS, &oa, 0, NULL, 0, NULL)
                         : ZwOpenKey(Handle, KEY_ALL_ACCESS, &oa);
    free(buffer);
    if (NT_SUCCESS(st))
        *Close = TRUE;
    return st;
}

NTSTATUS NTAPI RtlCheckRegistryKey(ULONG RelativeTo, PWSTR Path)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    HANDLE h;
    BOOLEAN close;
    NTSTATUS st = RtlpGetRegistryHandle(RelativeTo, Path, FALSE, &h, &close);
    if (close)
        ZwClose(h);
    return st;
}

NTSTATUS NTAPI RtlCreateRegistryKey(ULONG RelativeTo, PWSTR Path)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    HANDLE h;
    BOOLEAN close;
    NTSTATUS st = RtlpGetRegistryHandle(RelativeTo, Path, TRUE, &h, &close);
    if (close)
        ZwClose(h);
    return st;
}

static VOID RtlpInitName(PUNICODE_STRING Name, PCWSTR Value)
{
    Name->Buffer = (PWCH)Value;
    Name->Length = Value ? (USHORT)(RtlpWcsLen(Value) * sizeof(WCHAR)) : 0;
    Name->MaximumLength = Name->Length;
}

NTSTATUS NTAPI RtlWriteRegistryValue(ULONG RelativeTo, PCWSTR Path, PCWSTR ValueName,
                                     ULONG ValueType, PVOID ValueData, ULONG ValueLength)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    HANDLE h;
    BOOLEAN close;
    NTSTATUS st = RtlpGetRegistryHandle(RelativeTo, Path, TRUE, &h, &close);
    if (!NT_SUCCESS(st))
        return st;
    UNICODE_STRING name;
    RtlpInitName(&name, ValueName);
    st = ZwSetValueKey(h, &name, 0, ValueType, ValueData, ValueLength);
    if (close)
        ZwClose(h);
    return st;
}

NTSTATUS NTAPI RtlDeleteRegistryValue(ULONG RelativeTo, PCWSTR Path, PCWSTR ValueName)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    HANDLE h;
    BOOLEAN close;
    NTSTATUS st = RtlpGetRegistryHandle(RelativeTo, Path, FALSE, &h, &close);
    if (!NT_SUCCESS(st))
        return st;
    UNICODE_STRING name;
    RtlpInitName(&name, ValueName);
    st = ZwDeleteValueKey(h, &name);
    if (close)
        ZwClose(h);
    return st;
}

/* ---- Environment expansion of REG_EXPAND_SZ -------------------------------------------------- */

static const char *const RtlpDefaultEnvironment[] = {
    "SystemRoot=C:\\Windows",         "windir=C:\\Windows",          "SystemDrive=C:",
    "ProgramFiles=C:\\Program Files", "ProgramData=C:\\ProgramData",
};

/* The value of NAME ([Name, Name + Length) WCHARs) in Environment or the defaults: appended to
 * Out (when there is room). Returns FALSE when NAME is unknown. */
static BOOLEAN RtlpLookupVariable(PCWCH Environment, PCWCH Name, SIZE_T Length, PWCH Out,
                                  SIZE_T *At, SIZE_T Capacity)
{
    if (Environment) {
        for (PCWCH e = Environment; *e; e += RtlpWcsLen(e) + 1) {
            SIZE_T i = 0;
            while (i < Length && e[i] && RtlpUpcaseChar(e[i]) == RtlpUpcaseChar(Name[i]))
                i++;
            if (i == Length && e[i] == L'=') {
                for (PCWCH v = e + i + 1; *v; v++, (*At)++)
                    if (*At < Capacity)
                        Out[*At] = *v;
                return TRUE;
            }
        }
    }
    for (size_t k = 0; k < RTL_NUMBER_OF(RtlpDefaultEnvironment); k++) {
        const char *e = RtlpDefaultEnvironment[k];
        SIZE_T i = 0;
        while (i < Length && e[i] && RtlpUpcaseChar((WCHAR)(UCHAR)e[i]) == RtlpUpcaseChar(Name[i]))
            i++;
        if (i == Length && e[i] == '=') {
            for (const char *v = e + i + 1; *v; v++, (*At)++)
                if (*At < Capacity)
                    Out[*At] = (WCHAR)(UCHAR)*v;
            return TRUE;
        }
    }
    return FALSE;
}

/* Expands %NAME% in the string [In, In + Count); writes at most Capacity WCHARs to Out and
 * returns the number the expansion needs (without a NUL). */
static SIZE_T RtlpExpand(PCWCH Environment, PCWCH In, SIZE_T Count, PWCH Out, SIZE_T Capacity)
{
    SIZE_T at = 0;
    for (SIZE_T i = 0; i < Count;) {
        if (In[i] == L'%') {
            SIZE_T j = i + 1;
            while (j < Count && In[j] != L'%')
                j++;
            if (j < Count && j > i + 1 &&
                RtlpLookupVariable(Environment, In + i + 1, j - i - 1, Out, &at, Capacity)) {
                i = j + 1;
                continue;
            }
        }
        if (at < Capacity)
            Out[at] = In[i];
        at++;
        i++;
    }
    return at;
}

/* ---- RtlQueryRegistryValues ------------------------------------------------------------------ */

static SIZE_T RtlpStringChars(PCWCH Data, ULONG Length)
{
    return RtlpWcsNLen(Data, Length / sizeof(WCHAR));
}

static NTSTATUS RtlpDirectString(PRTL_QUERY_REGISTRY_TABLE Entry, PCWCH Data, ULONG Length)
{
    PUNICODE_STRING s = Entry->EntryContext;
    ULONG bytes = Length & ~1u;
    if (bytes >= sizeof(WCHAR) && Data[bytes / 2 - 1] == UNICODE_NULL)
        bytes -= sizeof(WCHAR);
    if (bytes > UNICODE_STRING_MAX_BYTES - sizeof(WCHAR))
        return STATUS_BUFFER_TOO_SMALL;
    if (!s->Buffer) {
        s->Buffer = RtlpAllocateStringMemory(bytes + sizeof(WCHAR));
        if (!s->Buffer)
            return STATUS_NO_MEMORY;
        s->MaximumLength = (USHORT)(bytes + sizeof(WCHAR));
    } else if (bytes + sizeof(WCHAR) > s->MaximumLength) {
        return STATUS_BUFFER_TOO_SMALL;
    }
    memcpy(s->Buffer, Data, bytes);
    s->Buffer[bytes / 2] = UNICODE_NULL;
    s->Length = (USHORT)bytes;
    return STATUS_SUCCESS;
}

static NTSTATUS RtlpDirect(PRTL_QUERY_REGISTRY_TABLE Entry, ULONG Type, PVOID Data, ULONG Length)
{
    if (Type == REG_SZ || Type == REG_EXPAND_SZ || Type == REG_MULTI_SZ)
        return RtlpDirectString(Entry, Data, Length);
    if (Length <= sizeof(ULONG)) {
        memcpy(Entry->EntryContext, Data, Length);
        return STATUS_SUCCESS;
    }
    LONG size;
    memcpy(&size, Entry->EntryContext, sizeof size);
    if (size < 0) {
        if ((ULONG)-size < Length)
            return STATUS_BUFFER_TOO_SMALL;
        memcpy(Entry->EntryContext, Data, Length);
    } else {
        if ((ULONG)size < Length + 2 * sizeof(ULONG))
            return STATUS_BUFFER_TOO_SMALL;
        PULONG p = Entry->EntryContext;
        p[0] = Length;
        p[1] = Type;
        memcpy(p + 2, Data, Length);
    }
    return STATUS_SUCCESS;
}

/* Hands one value (found or default) to the entry: DIRECT store or query routine calls. */
static NTSTATUS RtlpProcessValue(PRTL_QUERY_REGISTRY_TABLE Entry, PWSTR ValueName, ULONG Type,
                                 PVOID Data, ULONG Length, PVOID Context, PVOID Environment)
{
    BOOLEAN expand = !(Entry->Flags & RTL_QUERY_REGISTRY_NOEXPAND);
    PWCH expanded = NULL;
    if (expand && Type == REG_EXPAND_SZ) {
        SIZE_T chars = RtlpStringChars(Data, Length);
        SIZE_T need = RtlpExpand(Environment, Data, chars, NULL, 0);
        expanded = malloc((need + 1) * sizeof(WCHAR));
        if (!expanded)
            return STATUS_INSUFFICIENT_RESOURCES;
        RtlpExpand(Environment, Data, chars, expanded, need);
        expanded[need] = UNICODE_NULL;
        Data = expanded;
        Length = (ULONG)((need + 1) * sizeof(WCHAR));
        Type = REG_SZ;
    }
    NTSTATUS st = STATUS_SUCCESS;
    if (Entry->Flags & RTL_QUERY_REGISTRY_DIRECT) {
        st = RtlpDirect(Entry, Type, Data, Length);
    } else if (expand && Type == REG_MULTI_SZ) {
        PCWCH p = Data;
        SIZE_T total = Length / sizeof(WCHAR);
        for (SIZE_T i = 0; i < total && p[i] && NT_SUCCESS(st);) {
            SIZE_T n = RtlpWcsNLen(p + i, total - i);
            PWCH one = malloc((n + 1) * sizeof(WCHAR));
            if (!one) {
                st = STATUS_INSUFFICIENT_RESOURCES;
                break;
            }
            memcpy(one, p + i, n * sizeof(WCHAR));
            one[n] = UNICODE_NULL;
            st = Entry->QueryRoutine(ValueName, REG_SZ, one, (ULONG)((n + 1) * sizeof(WCHAR)),
                                     Context, Entry->EntryContext);
            free(one);
            i += n + 1;
        }
    } else {
        st = Entry->QueryRoutine(ValueName, Type, Data, Length, Context, Entry->EntryContext);
    }
    free(expanded);
    return st;
}

static NTSTATUS RtlpProcessDefault(PRTL_QUERY_REGISTRY_TABLE Entry, PVOID Context,
                                   PVOID Environment)
{
    ULONG type = Entry->DefaultType;
    if (Entry->Flags & RTL_QUERY_REGISTRY_TYPECHECK)
        type &= ~(ULONG)RTL_QUERY_REGISTRY_TYPECHECK_MASK;
    if (type == REG_NONE)
        return STATUS_SUCCESS;
    ULONG length = Entry->DefaultLength;
    PCWCH w = Entry->DefaultData;
    if (length == 0 && w) {
        if (type == REG_SZ || type == REG_EXPAND_SZ) {
            length = (ULONG)((RtlpWcsLen(w) + 1) * sizeof(WCHAR));
        } else if (type == REG_MULTI_SZ) {
            SIZE_T i = 0;
            while (w[i])
                i += RtlpWcsLen(w + i) + 1;
            length = (ULONG)((i + 1) * sizeof(WCHAR));
        }
    }
    return RtlpProcessValue(Entry, Entry->Name, type, Entry->DefaultData, length, Context,
                            Environment);
}

/* Reads the value Name of Key (malloc'd KEY_VALUE_FULL_INFORMATION), or NULL with *Status. */
static PKEY_VALUE_FULL_INFORMATION RtlpReadValue(HANDLE Key, PUNICODE_STRING Name, ULONG Index,
                                                 BOOLEAN ByIndex, NTSTATUS *Status)
{
    ULONG size = 256, need = 0;
    for (;;) {
        PKEY_VALUE_FULL_INFORMATION info = malloc(size);
        if (!info) {
            *Status = STATUS_INSUFFICIENT_RESOURCES;
            return NULL;
        }
        NTSTATUS st =
            ByIndex ? ZwEnumerateValueKey(Key, Index, KeyValueFullInformation, info, size, &need)
                    : ZwQueryValueKey(Key, Name, KeyValueFullInformation, info, size, &need);
        if (NT_SUCCESS(st) && st != STATUS_BUFFER_OVERFLOW) {
            *Status = STATUS_SUCCESS;
            return info;
        }
        free(info);
        if (st != STATUS_BUFFER_OVERFLOW && st != STATUS_BUFFER_TOO_SMALL) {
            *Status = st;
            return NULL;
        }
        size = need + sizeof(WCHAR);
    }
}

/* Calls the entry for one value read from the key; the name handed over is NUL-terminated. */
static NTSTATUS RtlpProcessInfo(PRTL_QUERY_REGISTRY_TABLE Entry, PKEY_VALUE_FULL_INFORMATION Info,
                                PVOID Context, PVOID Environment)
{
    if ((Entry->Flags & (RTL_QUERY_REGISTRY_DIRECT | RTL_QUERY_REGISTRY_TYPECHECK)) ==
        (RTL_QUERY_REGISTRY_DIRECT | RTL_QUERY_REGISTRY_TYPECHECK)) {
        ULONG expected = (ULONG)Entry->DefaultType >> RTL_QUERY_REGISTRY_TYPECHECK_SHIFT;
        if (Info->Type != expected)
            return STATUS_OBJECT_TYPE_MISMATCH;
    }
    PWCH name = malloc(Info->NameLength + sizeof(WCHAR));
    if (!name)
        return STATUS_INSUFFICIENT_RESOURCES;
    memcpy(name, Info->Name, Info->NameLength);
    name[Info->NameLength / 2] = UNICODE_NULL;
    NTSTATUS st = RtlpProcessValue(Entry, name, Info->Type, (PUCHAR)Info + Info->DataOffset,
                                   Info->DataLength, Context, Environment);
    free(name);
    return st;
}

static NTSTATUS RtlpQueryEntry(HANDLE Key, PRTL_QUERY_REGISTRY_TABLE Entry, PVOID Context,
                               PVOID Environment)
{
    NTSTATUS st;
    if (Entry->Flags & RTL_QUERY_REGISTRY_NOVALUE) {
        if (!Entry->QueryRoutine)
            return STATUS_INVALID_PARAMETER;
        return Entry->QueryRoutine(Entry->Name, REG_NONE, NULL, 0, Context, Entry->EntryContext);
    }
    if (Entry->Name) {
        UNICODE_STRING name;
        RtlpInitName(&name, Entry->Name);
        PKEY_VALUE_FULL_INFORMATION info = RtlpReadValue(Key, &name, 0, FALSE, &st);
        if (!info) {
            if (st != STATUS_OBJECT_NAME_NOT_FOUND)
                return st;
            if (Entry->Flags & RTL_QUERY_REGISTRY_REQUIRED)
                return STATUS_OBJECT_NAME_NOT_FOUND;
            return RtlpProcessDefault(Entry, Context, Environment);
        }
        st = RtlpProcessInfo(Entry, info, Context, Environment);
        free(info);
        if (NT_SUCCESS(st) && (Entry->Flags & RTL_QUERY_REGISTRY_DELETE))
            ZwDeleteValueKey(Key, &name);
        return st;
    }
    if (Entry->Flags & RTL_QUERY_REGISTRY_DIRECT)
        return STATUS_INVALID_PARAMETER;
    /* No name: every value of the key. */
    ULONG index = 0;
    for (;;) {
        PKEY_VALUE_FULL_INFORMATION info = RtlpReadValue(Key, NULL, index, TRUE, &st);
        if (!info) {
            if (st != STATUS_NO_MORE_ENTRIES)
                return st;
            if (index == 0 && (Entry->Flags & RTL_QUERY_REGISTRY_REQUIRED))
                return STATUS_OBJECT_NAME_NOT_FOUND;
            if (index == 0)
                return RtlpProcessDefault(Entry, Context, Environment);
            return STATUS_SUCCESS;
        }
        st = RtlpProcessInfo(Entry, info, Context, Environment);
        if (NT_SUCCESS(st) && (Entry->Flags & RTL_QUERY_REGISTRY_DELETE)) {
            UNICODE_STRING name = {(USHORT)info->NameLength, (USHORT)info->NameLength, info->Name};
            ZwDeleteValueKey(Key, &name);
            index--; /* the next value moved into this index */
        }
        free(info);
        if (!NT_SUCCESS(st))
            return st;
        index++;
    }
}

NTSTATUS NTAPI RtlQueryRegistryValues(ULONG RelativeTo, PCWSTR Path,
                                      PRTL_QUERY_REGISTRY_TABLE QueryTable, PVOID Context,
                                      PVOID Environment)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    if (!QueryTable)
        return STATUS_INVALID_PARAMETER;
    HANDLE top;
    BOOLEAN closeTop;
    NTSTATUS st = RtlpGetRegistryHandle(RelativeTo, Path, FALSE, &top, &closeTop);
    if (!NT_SUCCESS(st)) {
        if ((RelativeTo & RTL_REGISTRY_OPTIONAL) && st == STATUS_OBJECT_NAME_NOT_FOUND)
            return STATUS_SUCCESS;
        return st;
    }
    HANDLE current = top, sub = NULL;
    for (PRTL_QUERY_REGISTRY_TABLE e = QueryTable;
         e->QueryRoutine || (e->Flags & (RTL_QUERY_REGISTRY_SUBKEY | RTL_QUERY_REGISTRY_DIRECT));
         e++) {
        if ((e->Flags & RTL_QUERY_REGISTRY_DIRECT) && !e->Name) {
            st = STATUS_INVALID_PARAMETER;
            break;
        }
        if (e->Flags & (RTL_QUERY_REGISTRY_SUBKEY | RTL_QUERY_REGISTRY_TOPKEY)) {
            if (sub)
                ZwClose(sub);
            sub = NULL;
            current = top;
        }
        if (e->Flags & RTL_QUERY_REGISTRY_SUBKEY) {
            UNICODE_STRING name;
            RtlpInitName(&name, e->Name);
            OBJECT_ATTRIBUTES oa;
            InitializeObjectAttributes(&oa, &name, OBJ_CASE_INSENSITIVE | OBJ_KERNEL_HANDLE, top,
                                       NULL);
            st = ZwOpenKey(&sub, KEY_ALL_ACCESS, &oa);
            if (!NT_SUCCESS(st)) {
                sub = NULL;
                break;
            }
            current = sub;
            /* A SUBKEY entry names the key; its query routine (if any) sees every value. */
            RTL_QUERY_REGISTRY_TABLE copy = *e;
            copy.Name = NULL;
            copy.Flags &= ~RTL_QUERY_REGISTRY_SUBKEY;
            if (copy.QueryRoutine)
                st = RtlpQueryEntry(current, &copy, Context, Environment);
        } else {
            st = RtlpQueryEntry(current, e, Context, Environment);
        }
        if (!NT_SUCCESS(st))
            break;
    }
    if (sub)
        ZwClose(sub);
    if (closeTop)
        ZwClose(top);
    return st;
}

NTSTATUS NTAPI RtlQueryRegistryValuesEx(ULONG RelativeTo, PCWSTR Path,
                                        PRTL_QUERY_REGISTRY_TABLE QueryTable, PVOID Context,
                                        PVOID Environment)
{
    return RtlQueryRegistryValues(RelativeTo, Path, QueryTable, Context, Environment);
}

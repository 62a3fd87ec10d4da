/*
 * IoCreateDeviceSecure (wdmsec.h): IoCreateDevice plus a security descriptor from an SDDL string
 * in the subset the WDK documents for device objects, and the class key's overrides.
 */
#include "io.h"
#include "se.h"

#include <ntstrsafe.h>
#include <wdmsec.h>
#include <string.h>

#define IOP_SDDL_TAG 'ldSI'
#define IOP_SDDL_SID_ULONGS (SEP_SID_BYTES / sizeof(ULONG))

#define IOP_SDDL(name, text)                                                                       \
    const UNICODE_STRING name = {sizeof(text) - sizeof(WCHAR), sizeof(text), (PWCH)text}

IOP_SDDL(SDDL_DEVOBJ_KERNEL_ONLY, L"D:P");
IOP_SDDL(SDDL_DEVOBJ_SYS_ALL, L"D:P(A;;GA;;;SY)");
IOP_SDDL(SDDL_DEVOBJ_SYS_ALL_ADM_ALL, L"D:P(A;;GA;;;SY)(A;;GA;;;BA)");
IOP_SDDL(SDDL_DEVOBJ_SYS_ALL_ADM_RX, L"D:P(A;;GA;;;SY)(A;;GRGX;;;BA)");
IOP_SDDL(SDDL_DEVOBJ_SYS_ALL_ADM_RWX_WORLD_R, L"D:P(A;;GA;;;SY)(A;;GRGWGX;;;BA)(A;;GR;;;WD)");
IOP_SDDL(SDDL_DEVOBJ_SYS_ALL_ADM_RWX_WORLD_R_RES_R,
         L"D:P(A;;GA;;;SY)(A;;GRGWGX;;;BA)(A;;GR;;;WD)(A;;GR;;;RC)");
IOP_SDDL(SDDL_DEVOBJ_SYS_ALL_ADM_RWX_WORLD_RW_RES_R,
         L"D:P(A;;GA;;;SY)(A;;GRGWGX;;;BA)(A;;GRGW;;;WD)(A;;GR;;;RC)");
IOP_SDDL(SDDL_DEVOBJ_SYS_ALL_ADM_RWX_WORLD_RWX_RES_RWX,
         L"D:P(A;;GA;;;SY)(A;;GRGWGX;;;BA)(A;;GRGWGX;;;WD)(A;;GRGWGX;;;RC)");

/* The SDDL's two-letter SIDs: authority and sub-authorities. */
static const struct {
    char Code[3];
    UCHAR Authority;
    UCHAR Count;
    ULONG Sub[2];
} IopSddlSids[] = {
    {"SY", 5, 1, {18}},      {"LS", 5, 1, {19}},      {"NS", 5, 1, {20}}, {"BA", 5, 2, {32, 544}},
    {"BU", 5, 2, {32, 545}}, {"BG", 5, 2, {32, 546}}, {"AU", 5, 1, {11}}, {"AN", 5, 1, {7}},
    {"WD", 1, 1, {0}},       {"RC", 5, 1, {12}},      {"IU", 5, 1, {4}},  {"NU", 5, 1, {2}},
    {"SU", 5, 1, {6}},
};

static const struct {
    char Code[3];
    ACCESS_MASK Mask;
} IopSddlRights[] = {
    {"GA", GENERIC_ALL},  {"GR", GENERIC_READ}, {"GW", GENERIC_WRITE}, {"GX", GENERIC_EXECUTE},
    {"RC", READ_CONTROL}, {"SD", DELETE},       {"WD", WRITE_DAC},     {"WO", WRITE_OWNER},
};

typedef struct _IOP_SDDL_CURSOR {
    PCWCH P;
    size_t N, I;
} IOP_SDDL_CURSOR;

static BOOLEAN IopSddlTake(IOP_SDDL_CURSOR *c, WCHAR ch)
{
    if (c->I < c->N && c->P[c->I] == ch) {
        c->I++;
        return TRUE;
    }
    return FALSE;
}

/* The field up to the next ';' or ')' (not consumed). */
static size_t IopSddlField(IOP_SDDL_CURSOR *c, PCWCH *start)
{
    *start = c->P + c->I;
    size_t n = 0;
    while (c->I < c->N && c->P[c->I] != L';' && c->P[c->I] != L')') {
        c->I++;
        n++;
    }
    return n;
}

static BOOLEAN IopSddlCode(PCWCH p, const char code[3])
{
    return p[0] == (WCHAR)code[0] && p[1] == (WCHAR)code[1];
}

static BOOLEAN IopSddlRightsOf(PCWCH p, size_t n, ACCESS_MASK *mask)
{
    *mask = 0;
    if (n > 2 && p[0] == L'0' && (p[1] == L'x' || p[1] == L'X')) {
        ULONGLONG v = 0;
        for (size_t i = 2; i < n; i++) {
            WCHAR ch = p[i];
            unsigned d = ch >= L'0' && ch <= L'9'   ? (unsigned)(ch - L'0')
                         : ch >= L'a' && ch <= L'f' ? (unsigned)(ch - L'a' + 10)
                         : ch >= L'A' && ch <= L'F' ? (unsigned)(ch - L'A' + 10)
                                                    : 16u;
            if (d > 15 || (v = v * 16 + d) > 0xFFFFFFFFull)
                return FALSE;
        }
        *mask = (ACCESS_MASK)v;
        return TRUE;
    }
    if (n == 0 || n % 2)
        return FALSE;
    for (size_t i = 0; i < n; i += 2) {
        size_t k = 0;
        while (k < RTL_NUMBER_OF(IopSddlRights) && !IopSddlCode(p + i, IopSddlRights[k].Code))
            k++;
        if (k == RTL_NUMBER_OF(IopSddlRights))
            return FALSE;
        *mask |= IopSddlRights[k].Mask;
    }
    return TRUE;
}

/* A SID field: a two-letter code or S-1-<authority>(-<sub>)+, into Sid (SEP_SID_BYTES). */
static BOOLEAN IopSddlSidOf(PCWCH p, size_t n, PSID Sid)
{
    if (n == 2) {
        for (size_t k = 0; k < RTL_NUMBER_OF(IopSddlSids); k++)
            if (IopSddlCode(p, IopSddlSids[k].Code)) {
                SID_IDENTIFIER_AUTHORITY a = {{0, 0, 0, 0, 0, IopSddlSids[k].Authority}};
                RtlInitializeSid(Sid, &a, IopSddlSids[k].Count);
                for (UCHAR i = 0; i < IopSddlSids[k].Count; i++)
                    *RtlSubAuthoritySid(Sid, i) = IopSddlSids[k].Sub[i];
                return TRUE;
            }
        return FALSE;
    }
    if (n < 5 || p[0] != L'S' || p[1] != L'-' || p[2] != L'1' || p[3] != L'-')
        return FALSE;
    ULONGLONG parts[1 + SID_MAX_SUB_AUTHORITIES];
    size_t count = 0, i = 4;
    while (i <= n) {
        ULONGLONG v = 0;
        size_t digits = 0;
        while (i < n && p[i] >= L'0' && p[i] <= L'9') {
            v = v * 10 + (ULONGLONG)(p[i++] - L'0');
            if (++digits > 15)
                return FALSE;
        }
        if (!digits || count == RTL_NUMBER_OF(parts) || (count && v > 0xFFFFFFFFull) ||
            (!count && v > 0xFFFFFFFFFFFFull))
            return FALSE;
        parts[count++] = v;
        if (i == n)
            break;
        if (p[i++] != L'-')
            return FALSE;
    }
    if (count < 2)
        return FALSE;
    SID_IDENTIFIER_AUTHORITY a;
    for (int b = 0; b < 6; b++)
        a.Value[b] = (UCHAR)(parts[0] >> (8 * (5 - b)));
    RtlInitializeSid(Sid, &a, (UCHAR)(count - 1));
    for (size_t k = 1; k < count; k++)
        *RtlSubAuthoritySid(Sid, (ULONG)(k - 1)) = (ULONG)parts[k];
    return TRUE;
}

/* Parses the device-object SDDL subset into an ACL in paged pool (*Acl, free with
 * ExFreePoolWithTag(IOP_SDDL_TAG)). */
static NTSTATUS IopParseDeviceSddl(PCUNICODE_STRING Sddl, PACL *Acl)
{
    *Acl = NULL;
    if (!Sddl || !Sddl->Buffer || (Sddl->Length & 1))
        return STATUS_INVALID_PARAMETER;
    IOP_SDDL_CURSOR c = {Sddl->Buffer, Sddl->Length / sizeof(WCHAR), 0};
    if (!IopSddlTake(&c, L'D') || !IopSddlTake(&c, L':') || !IopSddlTake(&c, L'P'))
        return STATUS_INVALID_PARAMETER;
    /* Each ACE is at least "(A;;GA;;;SY)", 12 characters: bound the ACL by the length. */
    size_t most = (c.N - c.I) / 12 + 1;
    ULONG size = (ULONG)(sizeof(ACL) + most * (sizeof(ACCESS_ALLOWED_ACE) + SEP_SID_BYTES));
    if (size > 0xFFFC)
        return STATUS_INVALID_PARAMETER;
    PACL acl = ExAllocatePoolWithTag(PagedPool, size, IOP_SDDL_TAG);
    if (!acl)
        return STATUS_INSUFFICIENT_RESOURCES;
    NTSTATUS s = RtlCreateAcl(acl, size, ACL_REVISION);
    while (NT_SUCCESS(s) && c.I < c.N) {
        PCWCH f;
        size_t n;
        ACCESS_MASK mask;
        ULONG sid[IOP_SDDL_SID_ULONGS];
        s = STATUS_INVALID_PARAMETER;
        if (!IopSddlTake(&c, L'(') || !IopSddlTake(&c, L'A') || !IopSddlTake(&c, L';'))
            break;
        if (IopSddlField(&c, &f) || !IopSddlTake(&c, L';')) /* ACE flags: none */
            break;
        n = IopSddlField(&c, &f);
        if (!IopSddlRightsOf(f, n, &mask) || !IopSddlTake(&c, L';'))
            break;
        if (IopSddlField(&c, &f) || !IopSddlTake(&c, L';')) /* object GUID: none */
            break;
        if (IopSddlField(&c, &f) || !IopSddlTake(&c, L';')) /* inherited object GUID: none */
            break;
        n = IopSddlField(&c, &f);
        if (!IopSddlSidOf(f, n, (PSID)sid) || !IopSddlTake(&c, L')'))
            break;
        s = RtlAddAccessAllowedAce(acl, ACL_REVISION, mask, (PSID)sid);
    }
    if (!NT_SUCCESS(s)) {
        ExFreePoolWithTag(acl, IOP_SDDL_TAG);
        return s == STATUS_INSUFFICIENT_RESOURCES ? s : STATUS_INVALID_PARAMETER;
    }
    *Acl = acl;
    return STATUS_SUCCESS;
}

/* The class key's Properties overrides. *Override gets a self-relative descriptor in paged pool
 * when the key has a valid Security value. */
static VOID IopClassOverrides(struct kmrig_runtime *rt, LPCGUID Class, DEVICE_TYPE *Type,
                              ULONG *Characteristics, BOOLEAN *Exclusive,
                              PSECURITY_DESCRIPTOR *Override)
{
    WCHAR path[160];
    *Override = NULL;
    if (!NT_SUCCESS(RtlStringCchPrintfW(
            path, RTL_NUMBER_OF(path),
            L"\\Registry\\Machine\\System\\CurrentControlSet\\Control\\Class\\"
            L"{%08lx-%04hx-%04hx-%02x%02x-%02x%02x%02x%02x%02x%02x}\\Properties",
            Class->Data1, Class->Data2, Class->Data3, Class->Data4[0], Class->Data4[1],
            Class->Data4[2], Class->Data4[3], Class->Data4[4], Class->Data4[5], Class->Data4[6],
            Class->Data4[7])))
        return;
    UNICODE_STRING name;
    RtlInitUnicodeString(&name, path);
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, &name, OBJ_CASE_INSENSITIVE | OBJ_KERNEL_HANDLE, NULL, NULL);
    HANDLE key;
    if (!NT_SUCCESS(ZwOpenKey(&key, KEY_READ, &oa)))
        return;
    static const PCWSTR names[] = {L"DeviceType", L"DeviceCharacteristics", L"Exclusive",
                                   L"Security"};
    for (ULONG i = 0; i < RTL_NUMBER_OF(names); i++) {
        UNICODE_STRING vn;
        RtlInitUnicodeString(&vn, names[i]);
        ULONG len = 0;
        NTSTATUS s = ZwQueryValueKey(key, &vn, KeyValuePartialInformation, NULL, 0, &len);
        if (s != STATUS_BUFFER_TOO_SMALL && s != STATUS_BUFFER_OVERFLOW)
            continue;
        PKEY_VALUE_PARTIAL_INFORMATION v = ExAllocatePoolWithTag(PagedPool, len, IOP_SDDL_TAG);
        if (!v)
            continue;
        if (NT_SUCCESS(ZwQueryValueKey(key, &vn, KeyValuePartialInformation, v, len, &len))) {
            ULONG dw = 0;
            BOOLEAN isDword = v->Type == REG_DWORD && v->DataLength == sizeof(ULONG);
            if (isDword)
                memcpy(&dw, v->Data, sizeof dw);
            if (i == 0 && isDword)
                *Type = dw;
            else if (i == 1 && isDword)
                *Characteristics = dw;
            else if (i == 2 && isDword)
                *Exclusive = dw != 0;
            else if (i == 3 && v->Type == REG_BINARY &&
                     SeValidSecurityDescriptor(v->DataLength, (PSECURITY_DESCRIPTOR)v->Data)) {
                *Override = ExAllocatePoolWithTag(PagedPool, v->DataLength, IOP_SDDL_TAG);
                if (*Override)
                    memcpy(*Override, v->Data, v->DataLength);
            } else {
                KmLog(rt, KMRIG_LOG_WARN,
                      "io: IoCreateDeviceSecure: class override value %d has the wrong type or "
                      "an invalid descriptor; ignored",
                      (int)i);
            }
        }
        ExFreePoolWithTag(v, IOP_SDDL_TAG);
    }
    ZwClose(key);
}

NTSTATUS NTAPI IoCreateDeviceSecure(PDRIVER_OBJECT DriverObject, ULONG DeviceExtensionSize,
                                    PUNICODE_STRING DeviceName, DEVICE_TYPE DeviceType,
                                    ULONG DeviceCharacteristics, BOOLEAN Exclusive,
                                    PCUNICODE_STRING DefaultSDDLString, LPCGUID DeviceClassGuid,
                                    PDEVICE_OBJECT *DeviceObject)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    struct kmrig_runtime *rt = IopRuntime();
    *DeviceObject = NULL;
    /* A name, or FILE_AUTOGENERATED_DEVICE_NAME (unnamed devices are IoCreateDevice's). */
    if ((!DeviceName || !DeviceName->Length) &&
        !(DeviceCharacteristics & FILE_AUTOGENERATED_DEVICE_NAME))
        return STATUS_INVALID_PARAMETER;
    PACL acl;
    NTSTATUS s = IopParseDeviceSddl(DefaultSDDLString, &acl);
    if (!NT_SUCCESS(s)) {
        char text[96];
        ANSI_STRING as = {0, sizeof text, text};
        if (!DefaultSDDLString || !NT_SUCCESS(RtlUnicodeStringToAnsiString(
                                      &as, (PUNICODE_STRING)DefaultSDDLString, FALSE)))
            strcpy(text, "(unreadable)");
        else
            text[as.Length < sizeof text ? as.Length : sizeof text - 1] = '\0';
        KmLog(rt, KMRIG_LOG_WARN,
              "io: IoCreateDeviceSecure: SDDL string \"%s\" is not in the "
              "device-object subset",
              text);
        return s;
    }
    PSECURITY_DESCRIPTOR override = NULL;
    if (DeviceClassGuid)
        IopClassOverrides(rt, DeviceClassGuid, &DeviceType, &DeviceCharacteristics, &Exclusive,
                          &override);
    SECURITY_DESCRIPTOR sd;
    ULONG system[IOP_SDDL_SID_ULONGS];
    static const UNICODE_STRING sy = RTL_CONSTANT_STRING(L"SY");
    IopSddlSidOf(sy.Buffer, 2, (PSID)system);
    RtlCreateSecurityDescriptor(&sd, SECURITY_DESCRIPTOR_REVISION);
    RtlSetOwnerSecurityDescriptor(&sd, (PSID)system, FALSE);
    RtlSetGroupSecurityDescriptor(&sd, (PSID)system, FALSE);
    RtlSetDaclSecurityDescriptor(&sd, TRUE, acl, FALSE);
    sd.Control |= SE_DACL_PROTECTED;
    PDEVICE_OBJECT d = NULL;
    s = IoCreateDevice(DriverObject, DeviceExtensionSize, DeviceName, DeviceType,
                       DeviceCharacteristics, Exclusive, &d);
    if (NT_SUCCESS(s)) {
        s = SepSetObjectSecurity(rt, d, override ? override : (PSECURITY_DESCRIPTOR)&sd);
        if (NT_SUCCESS(s)) {
            if (DeviceClassGuid)
                d->DeviceObjectExtension->DeviceClassGuid = *DeviceClassGuid;
            *DeviceObject = d;
        } else {
            IoDeleteDevice(d);
        }
    }
    if (override)
        ExFreePoolWithTag(override, IOP_SDDL_TAG);
    ExFreePoolWithTag(acl, IOP_SDDL_TAG);
    return s;
}

/*
 * Section objects and views: ZwOpenSection, ZwMapViewOfSection, ZwUnmapViewOfSection, and the
 * harness's kmrig_section_create/kmrig_section_delete.
 *
 * A section is an Ob object (type "Section") whose pages are an anonymous memfd; each view is its
 * own mmap of that file, so two views of one section share their contents at different addresses,
 * as on NT. Views are system addresses of the instance (kmrig runs drivers in the System
 * process); ZwUnmapViewOfSection takes any address inside a view.
 *
 * Names. Sections are found by their full NT name in a table of the memory manager's own: the
 * object namespace (\Device, \??, directories) belongs to the I/O manager, and names relative to
 * a RootDirectory are not resolved here. \Device\PhysicalMemory is never opened: it would hand a
 * driver the host's memory, which the rig does not expose (device memory is reached through
 * MmMapIoSpace and the HAL's windows), so ZwOpenSection answers STATUS_ACCESS_DENIED.
 *
 * Limits: views are placed by the host (a requested *BaseAddress gets
 * STATUS_CONFLICTING_ADDRESSES, a nonzero ZeroBits STATUS_NO_MEMORY); execute protections map
 * the pages readable (the host does not execute driver-mapped data); PAGE_WRITECOPY views are
 * private copies (MAP_PRIVATE).
 */
#define _GNU_SOURCE
#include "mm.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Section offsets of views are multiples of NT's allocation granularity. */
#define MI_ALLOCATION_GRANULARITY 0x10000u

static VOID MiDeleteSection(PVOID Object)
{
    PMI_SECTION s = Object;
    if (s->HarnessMapping)
        munmap(s->HarnessMapping, s->Size);
    if (s->Fd >= 0)
        close(s->Fd);
    free(s->Name.Buffer);
}

OBJECT_TYPE MiSectionType = {"Section", MiDeleteSection, 20};

static const WCHAR MiPhysicalMemoryName[] = L"\\Device\\PhysicalMemory";

static BOOLEAN MiIsReservedName(PCUNICODE_STRING Name)
{
    UNICODE_STRING pm = {sizeof MiPhysicalMemoryName - sizeof(WCHAR), sizeof MiPhysicalMemoryName,
                         (PWCH)MiPhysicalMemoryName};
    return RtlEqualUnicodeString(Name, &pm, TRUE);
}

static BOOLEAN MiGrowViews(PMMP_STATE mm)
{
    if (mm->ViewCount < mm->ViewCapacity)
        return TRUE;
    ULONG cap = mm->ViewCapacity ? mm->ViewCapacity * 2 : 8;
    MI_VIEW *v = realloc(mm->Views, cap * sizeof *v);
    if (!v)
        return FALSE;
    mm->Views = v;
    mm->ViewCapacity = cap;
    return TRUE;
}

/* The named section, referenced, or NULL. */
static PMI_SECTION MiLookupSection(PMMP_STATE mm, PCUNICODE_STRING Name, BOOLEAN CaseInsensitive)
{
    pthread_mutex_lock(&mm->Lock);
    PMI_SECTION s = mm->Sections;
    while (s && !RtlEqualUnicodeString(Name, &s->Name, CaseInsensitive))
        s = s->Next;
    if (s)
        ObfReferenceObject(s);
    pthread_mutex_unlock(&mm->Lock);
    return s;
}

NTSTATUS MmpCreateSection(struct kmrig_runtime *rt, PCUNICODE_STRING Name, SIZE_T Size,
                          BOOLEAN Writable, PVOID *Contents)
{
    if (!Name || Name->Length < sizeof(WCHAR) || Name->Buffer[0] != L'\\')
        return STATUS_OBJECT_NAME_INVALID;
    if (MiIsReservedName(Name))
        return STATUS_ACCESS_DENIED;
    if (!Size || Size > ((SIZE_T)1 << 40))
        return Size ? STATUS_SECTION_TOO_BIG : STATUS_INVALID_PARAMETER;
    Size = ROUND_TO_PAGES(Size);
    PMI_SECTION s = ObpCreateObject(rt, &MiSectionType, sizeof *s);
    if (!s)
        return STATUS_INSUFFICIENT_RESOURCES;
    s->Fd = memfd_create("kmrig-section", MFD_CLOEXEC);
    s->Size = Size;
    s->Writable = Writable;
    s->Name.Buffer = malloc(Name->Length);
    if (s->Fd < 0 || ftruncate(s->Fd, (off_t)Size) != 0 || !s->Name.Buffer) {
        ObfDereferenceObject(s);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    memcpy(s->Name.Buffer, Name->Buffer, Name->Length);
    s->Name.Length = s->Name.MaximumLength = Name->Length;
    s->HarnessMapping = mmap(NULL, Size, PROT_READ | PROT_WRITE, MAP_SHARED, s->Fd, 0);
    if (s->HarnessMapping == MAP_FAILED) {
        s->HarnessMapping = NULL;
        ObfDereferenceObject(s);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    PMMP_STATE mm = MmpState(rt);
    pthread_mutex_lock(&mm->Lock);
    for (PMI_SECTION o = mm->Sections; o; o = o->Next) {
        if (RtlEqualUnicodeString(&o->Name, &s->Name, TRUE)) {
            pthread_mutex_unlock(&mm->Lock);
            ObfDereferenceObject(s);
            return STATUS_OBJECT_NAME_COLLISION;
        }
    }
    s->Named = TRUE; /* the table holds the creation reference */
    s->Next = mm->Sections;
    mm->Sections = s;
    pthread_mutex_unlock(&mm->Lock);
    if (Contents)
        *Contents = s->HarnessMapping;
    return STATUS_SUCCESS;
}

NTSTATUS MmpDeleteSection(struct kmrig_runtime *rt, PCUNICODE_STRING Name)
{
    PMMP_STATE mm = MmpState(rt);
    pthread_mutex_lock(&mm->Lock);
    for (PMI_SECTION *pp = &mm->Sections; *pp; pp = &(*pp)->Next) {
        PMI_SECTION s = *pp;
        if (RtlEqualUnicodeString(&s->Name, Name, TRUE)) {
            *pp = s->Next;
            s->Named = FALSE;
            pthread_mutex_unlock(&mm->Lock);
            ObfDereferenceObject(s);
            return STATUS_SUCCESS;
        }
    }
    pthread_mutex_unlock(&mm->Lock);
    return STATUS_OBJECT_NAME_NOT_FOUND;
}

/* An ASCII harness name as a counted UTF-16 string in Buffer (Chars WCHARs). */
static BOOLEAN MiAsciiName(const char *Name, WCHAR *Buffer, size_t Chars, UNICODE_STRING *Out)
{
    size_t n = Name ? strlen(Name) : 0;
    if (!n || n >= Chars)
        return FALSE;
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)Name[i] >= 0x80)
            return FALSE;
        Buffer[i] = (WCHAR)Name[i];
    }
    Out->Buffer = Buffer;
    Out->Length = (USHORT)(n * sizeof(WCHAR));
    Out->MaximumLength = (USHORT)(Chars * sizeof(WCHAR));
    return TRUE;
}

int kmrig_section_create(kmrig_runtime *rt, const char *name, size_t size, int writable,
                         void **contents)
{
    WCHAR buf[256];
    UNICODE_STRING n;
    if (!MiAsciiName(name, buf, ARRAYSIZE(buf), &n))
        return -EINVAL;
    NTSTATUS s = MmpCreateSection(rt, &n, size, writable != 0, contents);
    switch (s) {
    case STATUS_SUCCESS:
        return 0;
    case STATUS_OBJECT_NAME_COLLISION:
        return -EEXIST;
    case STATUS_ACCESS_DENIED:
        return -EACCES;
    case STATUS_INSUFFICIENT_RESOURCES:
        return -ENOMEM;
    default:
        return -EINVAL;
    }
}

int kmrig_section_delete(kmrig_runtime *rt, const char *name)
{
    WCHAR buf[256];
    UNICODE_STRING n;
    if (!MiAsciiName(name, buf, ARRAYSIZE(buf), &n))
        return -ENOENT;
    return NT_SUCCESS(MmpDeleteSection(rt, &n)) ? 0 : -ENOENT;
}

/* ---- ZwOpenSection ---- */

/* DesiredAccess with the generic rights mapped to section rights (the section's generic
 * mapping), or 0 when the section cannot grant what is asked. */
static ACCESS_MASK MiSectionAccess(ACCESS_MASK Desired, BOOLEAN Writable)
{
    ACCESS_MASK a =
        Desired & ~(GENERIC_READ | GENERIC_WRITE | GENERIC_EXECUTE | GENERIC_ALL | MAXIMUM_ALLOWED);
    ACCESS_MASK writeRights = SECTION_MAP_WRITE | SECTION_EXTEND_SIZE;
    if (Desired & GENERIC_READ)
        a |= STANDARD_RIGHTS_READ | SECTION_QUERY | SECTION_MAP_READ;
    if (Desired & GENERIC_WRITE)
        a |= STANDARD_RIGHTS_WRITE | SECTION_MAP_WRITE;
    if (Desired & GENERIC_EXECUTE)
        a |= STANDARD_RIGHTS_EXECUTE | SECTION_MAP_EXECUTE;
    if (Desired & GENERIC_ALL)
        a |= SECTION_ALL_ACCESS;
    if (!Writable && (a & writeRights))
        return 0;
    if (Desired & MAXIMUM_ALLOWED)
        a |= SECTION_ALL_ACCESS & ~(Writable ? 0 : writeRights);
    return a;
}

NTSTATUS NTAPI ZwOpenSection(PHANDLE SectionHandle, ACCESS_MASK DesiredAccess,
                             POBJECT_ATTRIBUTES ObjectAttributes)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    struct kmrig_runtime *rt = KiRuntime();
    if (!SectionHandle || !ObjectAttributes)
        return STATUS_INVALID_PARAMETER;
    PUNICODE_STRING name = ObjectAttributes->ObjectName;
    if (!name || !name->Length || !name->Buffer)
        return STATUS_OBJECT_NAME_INVALID;
    if (ObjectAttributes->RootDirectory) {
        KmLog(rt, KMRIG_LOG_WARN,
              "ZwOpenSection: section names relative to a directory are not resolved in kmrig");
        return STATUS_OBJECT_PATH_NOT_FOUND;
    }
    if (name->Buffer[0] != L'\\')
        return STATUS_OBJECT_PATH_SYNTAX_BAD;
    if (MiIsReservedName(name)) {
        KmLog(rt, KMRIG_LOG_WARN,
              "ZwOpenSection(\\Device\\PhysicalMemory): refused, physical memory is the "
              "host's and the rig does not expose it; map device memory with MmMapIoSpace");
        return STATUS_ACCESS_DENIED;
    }
    PMI_SECTION s = MiLookupSection(MmpState(rt), name,
                                    (ObjectAttributes->Attributes & OBJ_CASE_INSENSITIVE) != 0);
    if (!s)
        return STATUS_OBJECT_NAME_NOT_FOUND;
    ACCESS_MASK granted = MiSectionAccess(DesiredAccess, s->Writable);
    NTSTATUS status = STATUS_ACCESS_DENIED;
    if (granted)
        status = ObpCreateHandle(rt, s, granted, ObjectAttributes->Attributes, SectionHandle);
    ObfDereferenceObject(s);
    return status;
}

/* ---- ZwMapViewOfSection / ZwUnmapViewOfSection ---- */

static NTSTATUS MiCheckProcess(HANDLE ProcessHandle)
{
    if (ProcessHandle == NtCurrentProcess())
        return STATUS_SUCCESS;
    PVOID process;
    NTSTATUS s =
        ObReferenceObjectByHandle(ProcessHandle, 0, *PsProcessType, KernelMode, &process, NULL);
    if (NT_SUCCESS(s))
        ObfDereferenceObject(process);
    return s;
}

NTSTATUS NTAPI ZwMapViewOfSection(HANDLE SectionHandle, HANDLE ProcessHandle, PVOID *BaseAddress,
                                  ULONG_PTR ZeroBits, SIZE_T CommitSize,
                                  PLARGE_INTEGER SectionOffset, PSIZE_T ViewSize,
                                  SECTION_INHERIT InheritDisposition, ULONG AllocationType,
                                  ULONG Win32Protect)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    struct kmrig_runtime *rt = KiRuntime();
    if (!BaseAddress)
        return STATUS_INVALID_PARAMETER_3;
    if (ZeroBits >= 21)
        return STATUS_INVALID_PARAMETER_4;
    if (!ViewSize)
        return STATUS_INVALID_PARAMETER_7;
    if (InheritDisposition != ViewShare && InheritDisposition != ViewUnmap)
        return STATUS_INVALID_PARAMETER_8;
    if (AllocationType & ~(ULONG)(MEM_TOP_DOWN | MEM_LARGE_PAGES | MEM_RESERVE))
        return STATUS_INVALID_PARAMETER_9;
    /* One base protection, optionally with a caching modifier. */
    ULONG base = Win32Protect & 0xFF;
    if (!base || (base & (base - 1)) ||
        (Win32Protect & ~(0xFFu | PAGE_NOCACHE | PAGE_WRITECOMBINE)))
        return STATUS_INVALID_PAGE_PROTECTION;
    BOOLEAN write = base == PAGE_READWRITE || base == PAGE_EXECUTE_READWRITE;
    BOOLEAN copy = base == PAGE_WRITECOPY || base == PAGE_EXECUTE_WRITECOPY;
    BOOLEAN exec = base >= PAGE_EXECUTE;
    ACCESS_MASK need =
        SECTION_MAP_READ | (write ? SECTION_MAP_WRITE : 0) | (exec ? SECTION_MAP_EXECUTE : 0);
    int prot = base == PAGE_NOACCESS ? PROT_NONE : PROT_READ | (write || copy ? PROT_WRITE : 0);

    NTSTATUS status = MiCheckProcess(ProcessHandle);
    if (!NT_SUCCESS(status))
        return status;
    PVOID object;
    OBJECT_HANDLE_INFORMATION info;
    status =
        ObReferenceObjectByHandle(SectionHandle, 0, &MiSectionType, KernelMode, &object, &info);
    if (!NT_SUCCESS(status))
        return status;
    PMI_SECTION s = object;
    if ((info.GrantedAccess & need) != need) {
        status = STATUS_ACCESS_DENIED;
        goto out;
    }
    if (write && !s->Writable) {
        status = STATUS_SECTION_PROTECTION;
        goto out;
    }
    if (*BaseAddress) {
        KmLog(rt, KMRIG_LOG_WARN,
              "ZwMapViewOfSection: kmrig places views itself; pass "
              "*BaseAddress = NULL");
        status = STATUS_CONFLICTING_ADDRESSES;
        goto out;
    }
    if (ZeroBits) {
        KmLog(rt, KMRIG_LOG_WARN, "ZwMapViewOfSection: ZeroBits placement is not supported");
        status = STATUS_NO_MEMORY;
        goto out;
    }
    LONGLONG requested = SectionOffset ? SectionOffset->QuadPart : 0;
    if (requested < 0 || (ULONGLONG)requested >= s->Size) {
        status = STATUS_INVALID_VIEW_SIZE;
        goto out;
    }
    SIZE_T offset = (SIZE_T)requested & ~(SIZE_T)(MI_ALLOCATION_GRANULARITY - 1);
    SIZE_T size = *ViewSize;
    if (size == 0)
        size = s->Size - offset;
    else
        size = ROUND_TO_PAGES(size + ((SIZE_T)requested - offset));
    if (size > s->Size - offset || size < *ViewSize) {
        status = STATUS_INVALID_VIEW_SIZE;
        goto out;
    }
    if (CommitSize > size) {
        status = STATUS_INVALID_PARAMETER_5;
        goto out;
    }
    PVOID p = mmap(NULL, size, prot, copy ? MAP_PRIVATE : MAP_SHARED, s->Fd, (off_t)offset);
    if (p == MAP_FAILED) {
        status = STATUS_NO_MEMORY;
        goto out;
    }
    PMMP_STATE mm = MmpState(rt);
    pthread_mutex_lock(&mm->Lock);
    if (!MiGrowViews(mm)) {
        pthread_mutex_unlock(&mm->Lock);
        munmap(p, size);
        status = STATUS_INSUFFICIENT_RESOURCES;
        goto out;
    }
    mm->Views[mm->ViewCount++] = (MI_VIEW){p, size, s, write || copy};
    pthread_mutex_unlock(&mm->Lock);
    *BaseAddress = p;
    *ViewSize = size;
    if (SectionOffset)
        SectionOffset->QuadPart = (LONGLONG)offset;
    return STATUS_SUCCESS; /* the view keeps the section reference */
out:
    ObfDereferenceObject(s);
    return status;
}

NTSTATUS NTAPI ZwUnmapViewOfSection(HANDLE ProcessHandle, PVOID BaseAddress)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    NTSTATUS status = MiCheckProcess(ProcessHandle);
    if (!NT_SUCCESS(status))
        return status;
    PMMP_STATE mm = MmpState(KiRuntime());
    ULONG_PTR a = (ULONG_PTR)BaseAddress;
    pthread_mutex_lock(&mm->Lock);
    for (ULONG i = 0; i < mm->ViewCount; i++) {
        MI_VIEW v = mm->Views[i];
        if (a >= (ULONG_PTR)v.Base && a < (ULONG_PTR)v.Base + v.Size) {
            mm->Views[i] = mm->Views[--mm->ViewCount];
            pthread_mutex_unlock(&mm->Lock);
            munmap(v.Base, v.Size);
            ObfDereferenceObject(v.Section);
            return STATUS_SUCCESS;
        }
    }
    pthread_mutex_unlock(&mm->Lock);
    return STATUS_NOT_MAPPED_VIEW;
}

NTSTATUS NTAPI ZwUnMapViewOfSection(HANDLE ProcessHandle, PVOID BaseAddress)
{
    return ZwUnmapViewOfSection(ProcessHandle, BaseAddress);
}

BOOLEAN MiIsViewRange(struct kmrig_runtime *rt, ULONG_PTR Start, SIZE_T Length, BOOLEAN *Writable)
{
    PMMP_STATE mm = MmpState(rt);
    BOOLEAN hit = FALSE;
    pthread_mutex_lock(&mm->Lock);
    for (ULONG i = 0; i < mm->ViewCount && !hit; i++) {
        ULONG_PTR b = (ULONG_PTR)mm->Views[i].Base;
        if (Start >= b && Start + Length <= b + mm->Views[i].Size) {
            hit = TRUE;
            *Writable = mm->Views[i].Writable;
        }
    }
    pthread_mutex_unlock(&mm->Lock);
    return hit;
}

VOID MiShutdownSections(struct kmrig_runtime *rt)
{
    PMMP_STATE mm = MmpState(rt);
    if (mm->ViewCount)
        KmLog(rt, KMRIG_LOG_WARN, "%u section view(s) still mapped at shutdown: unmapped",
              mm->ViewCount);
    for (ULONG i = 0; i < mm->ViewCount; i++) {
        munmap(mm->Views[i].Base, mm->Views[i].Size);
        ObfDereferenceObject(mm->Views[i].Section);
    }
    free(mm->Views);
    mm->Views = NULL;
    mm->ViewCount = mm->ViewCapacity = 0;
    for (PMI_SECTION s = mm->Sections, n; s; s = n) {
        n = s->Next;
        s->Named = FALSE;
        ObfDereferenceObject(s);
    }
    mm->Sections = NULL;
}

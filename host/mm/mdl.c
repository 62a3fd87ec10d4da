/*
 * MDLs: allocation, partial MDLs, mapping to the system address space.
 *
 * The buffer an MDL describes is host memory, and its system address is that memory itself:
 * mapping sets MappedSystemVa = MmGetMdlVirtualAddress(Mdl) and the flags NT sets, so drivers
 * that look at MdlFlags see what they would on NT. The PFN array holds the fake frame numbers of
 * ddk/mm.h (host address >> PAGE_SHIFT).
 *
 * MDLs from IoAllocateMdl and MmCreateMdl come from nonpaged pool with NT's tag 'Mdl ', so an MDL
 * a driver forgets to free shows in the pool leak report at unload.
 */
#include "mm.h"

#include <string.h>

/* IoAllocateMdl's largest buffer since Windows 7: 4 GB - PAGE_SIZE. */
#define MI_MAX_MDL_LENGTH (0xFFFFFFFFu - PAGE_SIZE + 1)

VOID MiFillPfnArray(PMDL Mdl)
{
    PPFN_NUMBER pfn = MmGetMdlPfnArray(Mdl);
    ULONG pages = ADDRESS_AND_SIZE_TO_SPAN_PAGES(MmGetMdlVirtualAddress(Mdl), Mdl->ByteCount);
    PFN_NUMBER first = MiHostAddressToPfn(Mdl->StartVa);
    for (ULONG i = 0; i < pages; i++)
        pfn[i] = first + i;
}

#undef MmInitializeMdl
#undef MmGetMdlVirtualAddress
#undef MmGetMdlByteCount
#undef MmGetMdlByteOffset
#undef MmGetMdlPfnArray

VOID NTAPI MmInitializeMdl(PMDL MemoryDescriptorList, PVOID BaseVa, SIZE_T Length)
{
    PMDL m = MemoryDescriptorList;
    m->Next = NULL;
    m->Size =
        (CSHORT)(sizeof(MDL) + sizeof(PFN_NUMBER) * ADDRESS_AND_SIZE_TO_SPAN_PAGES(BaseVa, Length));
    m->MdlFlags = 0;
    m->StartVa = PAGE_ALIGN(BaseVa);
    m->ByteOffset = BYTE_OFFSET(BaseVa);
    m->ByteCount = (ULONG)Length;
}

PVOID NTAPI MmGetMdlVirtualAddress(PMDL Mdl)
{
    return (PCHAR)Mdl->StartVa + Mdl->ByteOffset;
}

ULONG NTAPI MmGetMdlByteCount(PMDL Mdl)
{
    return Mdl->ByteCount;
}

ULONG NTAPI MmGetMdlByteOffset(PMDL Mdl)
{
    return Mdl->ByteOffset;
}

PPFN_NUMBER NTAPI MmGetMdlPfnArray(PMDL Mdl)
{
    return (PPFN_NUMBER)(Mdl + 1);
}

SIZE_T NTAPI MmSizeOfMdl(PVOID Base, SIZE_T Length)
{
    return sizeof(MDL) + sizeof(PFN_NUMBER) * (SIZE_T)ADDRESS_AND_SIZE_TO_SPAN_PAGES(Base, Length);
}

/* The IRP's MdlAddress. The IRP is the I/O manager's structure; every x64 WDK puts MdlAddress
 * right after Type and Size, at offset 8, and the I/O manager pins that offset with a C_ASSERT.
 * Reaching it by offset keeps Mm independent of the order in which ddk/io.h grows. */
static PMDL *MiIrpMdlAddress(PIRP Irp)
{
    return (PMDL *)((PUCHAR)Irp + 8);
}

PMDL NTAPI IoAllocateMdl(PVOID VirtualAddress, ULONG Length, BOOLEAN SecondaryBuffer,
                         BOOLEAN ChargeQuota, PIRP Irp)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    struct kmrig_runtime *rt = KiRuntime();
    if (SecondaryBuffer && !Irp)
        MiVerifierViolation(rt, KMRIG_VF_MDL_SECONDARY_WITHOUT_IRP, 0, 0, __func__);
    if (Length > MI_MAX_MDL_LENGTH)
        return NULL;
    SIZE_T size = MmSizeOfMdl(VirtualAddress, Length);
    PMDL m = ExAllocatePoolWithTag(NonPagedPoolNx, size, MMP_TAG_MDL);
    if (!m)
        return NULL;
    MmInitializeMdl(m, VirtualAddress, Length);
    m->MdlFlags = MDL_ALLOCATED_FIXED_SIZE;
    m->Process = NULL;
    m->MappedSystemVa = NULL;
    if (Irp) {
        PMDL *slot = MiIrpMdlAddress(Irp);
        if (SecondaryBuffer) {
            while (*slot)
                slot = &(*slot)->Next;
        }
        *slot = m;
    }
    return m;
}

PMDL NTAPI MmCreateMdl(PMDL MemoryDescriptorList, PVOID Base, SIZE_T Length)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    PMDL m = MemoryDescriptorList;
    if (!m) {
        if (Length > MI_MAX_MDL_LENGTH)
            return NULL;
        m = ExAllocatePoolWithTag(NonPagedPoolNx, MmSizeOfMdl(Base, Length), MMP_TAG_MDL);
        if (!m)
            return NULL;
    }
    MmInitializeMdl(m, Base, Length);
    m->Process = NULL;
    m->MappedSystemVa = NULL;
    return m;
}

VOID NTAPI IoFreeMdl(PMDL Mdl)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    struct kmrig_runtime *rt = KiRuntime();
    if ((Mdl->MdlFlags & MDL_PAGES_LOCKED) && VfOn(rt, KMRIG_VERIFY_IO))
        KeBugCheckEx(DRIVER_LEFT_LOCKED_PAGES_IN_PROCESS, 0, 0, (ULONG_PTR)Mdl,
                     ADDRESS_AND_SIZE_TO_SPAN_PAGES(MmGetMdlVirtualAddress(Mdl), Mdl->ByteCount));
    MmPrepareMdlForReuse(Mdl);
    ExFreePoolWithTag(Mdl, MMP_TAG_MDL);
}

VOID NTAPI MmBuildMdlForNonPagedPool(PMDL MemoryDescriptorList)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    PMDL m = MemoryDescriptorList;
    struct kmrig_runtime *rt = KiRuntime();
    if (MiOverlapsUserRange(rt, (ULONG_PTR)MmGetMdlVirtualAddress(m), m->ByteCount))
        MiVerifierViolation(rt, KMRIG_VF_MDL_USER_AS_NONPAGED, (ULONG_PTR)m, 0, __func__);
    m->Process = NULL;
    m->MappedSystemVa = MmGetMdlVirtualAddress(m);
    m->MdlFlags |= MDL_SOURCE_IS_NONPAGED_POOL;
    MiFillPfnArray(m);
}

VOID NTAPI IoBuildPartialMdl(PMDL SourceMdl, PMDL TargetMdl, PVOID VirtualAddress, ULONG Length)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    struct kmrig_runtime *rt = KiRuntime();
    ULONG_PTR srcStart = (ULONG_PTR)MmGetMdlVirtualAddress(SourceMdl);
    ULONG_PTR srcEnd = srcStart + SourceMdl->ByteCount;
    ULONG_PTR va = (ULONG_PTR)VirtualAddress;
    if (va < srcStart || va > srcEnd) {
        MiVerifierViolation(rt, KMRIG_VF_MDL_PARTIAL_RANGE, (ULONG_PTR)SourceMdl,
                            (ULONG_PTR)TargetMdl, __func__);
        return;
    }
    if (Length == 0)
        Length = (ULONG)(srcEnd - va);
    if (Length > srcEnd - va) {
        MiVerifierViolation(rt, KMRIG_VF_MDL_PARTIAL_RANGE, (ULONG_PTR)SourceMdl,
                            (ULONG_PTR)TargetMdl, __func__);
        return;
    }
    ULONG pages = ADDRESS_AND_SIZE_TO_SPAN_PAGES(VirtualAddress, Length);
    if ((SIZE_T)(USHORT)TargetMdl->Size < sizeof(MDL) + pages * sizeof(PFN_NUMBER)) {
        MiVerifierViolation(rt, KMRIG_VF_MDL_PARTIAL_RANGE, (ULONG_PTR)SourceMdl,
                            (ULONG_PTR)TargetMdl, __func__);
        return;
    }
    ULONG_PTR offset = va - srcStart;
    /* The target keeps only how it was allocated; it inherits how the source's pages are held. */
    CSHORT inherit =
        SourceMdl->MdlFlags & (MDL_IO_PAGE_READ | MDL_SOURCE_IS_NONPAGED_POOL |
                               MDL_MAPPED_TO_SYSTEM_VA | MDL_IO_SPACE | MDL_WRITE_OPERATION);
    TargetMdl->MdlFlags &= (MDL_ALLOCATED_FIXED_SIZE | MDL_ALLOCATED_MUST_SUCCEED);
    TargetMdl->MdlFlags |= inherit | MDL_PARTIAL;
    if (inherit & MDL_MAPPED_TO_SYSTEM_VA)
        TargetMdl->MdlFlags |= MDL_PARENT_MAPPED_SYSTEM_VA;
    TargetMdl->StartVa = PAGE_ALIGN(VirtualAddress);
    TargetMdl->ByteOffset = BYTE_OFFSET(VirtualAddress);
    TargetMdl->ByteCount = Length;
    TargetMdl->Process = SourceMdl->Process;
    TargetMdl->MappedSystemVa = (inherit & (MDL_MAPPED_TO_SYSTEM_VA | MDL_SOURCE_IS_NONPAGED_POOL))
                                    ? (PCHAR)SourceMdl->MappedSystemVa + offset
                                    : NULL;
    /* The source's frames, from the page that holds VirtualAddress on. */
    ULONG first = (ULONG)(((ULONG_PTR)PAGE_ALIGN(VirtualAddress) - (ULONG_PTR)SourceMdl->StartVa) >>
                          PAGE_SHIFT);
    memmove(MmGetMdlPfnArray(TargetMdl), MmGetMdlPfnArray(SourceMdl) + first,
            pages * sizeof(PFN_NUMBER));
}

/* ---- mapping ---- */

PVOID NTAPI MmMapLockedPagesSpecifyCache(PMDL MemoryDescriptorList, KPROCESSOR_MODE AccessMode,
                                         MEMORY_CACHING_TYPE CacheType, PVOID RequestedAddress,
                                         ULONG BugCheckOnFailure, ULONG Priority)
{
    PMDL m = MemoryDescriptorList;
    struct kmrig_runtime *rt = KiRuntime();
    PVOID va = MmGetMdlVirtualAddress(m);
    if (AccessMode == UserMode) {
        /* A user mapping of the same pages: there is one address space, so it is the buffer
         * itself. No MDL flag records it (as on NT). */
        VF_IRQL_MAX(APC_LEVEL);
        if (!(m->MdlFlags & (MDL_PAGES_LOCKED | MDL_SOURCE_IS_NONPAGED_POOL | MDL_PARTIAL)))
            MiVerifierViolation(rt, KMRIG_VF_MDL_NOT_LOCKED, (ULONG_PTR)m, 0, __func__);
        if (RequestedAddress && RequestedAddress != PAGE_ALIGN(va))
            ExRaiseStatus(STATUS_CONFLICTING_ADDRESSES);
        return va;
    }
    VF_IRQL_MAX(DISPATCH_LEVEL);
    if ((ULONG)CacheType >= (ULONG)MmMaximumCacheType)
        return NULL;
    if (m->MdlFlags & MDL_SOURCE_IS_NONPAGED_POOL)
        return m->MappedSystemVa; /* already system memory: no second mapping is made */
    if (m->MdlFlags & MDL_MAPPED_TO_SYSTEM_VA) {
        MiVerifierViolation(rt, KMRIG_VF_MDL_ALREADY_MAPPED, (ULONG_PTR)m, 0, __func__);
        return m->MappedSystemVa;
    }
    if (!(m->MdlFlags & (MDL_PAGES_LOCKED | MDL_PARTIAL)))
        MiVerifierViolation(rt, KMRIG_VF_MDL_NOT_LOCKED, (ULONG_PTR)m, 0, __func__);
    m->MappedSystemVa = va;
    m->MdlFlags |= MDL_MAPPED_TO_SYSTEM_VA;
    if (m->MdlFlags & MDL_PARTIAL)
        m->MdlFlags |= MDL_PARTIAL_HAS_BEEN_MAPPED;
    return va;
}

PVOID NTAPI MmMapLockedPages(PMDL MemoryDescriptorList, KPROCESSOR_MODE AccessMode)
{
    return MmMapLockedPagesSpecifyCache(MemoryDescriptorList, AccessMode, MmCached, NULL, TRUE,
                                        NormalPagePriority);
}

VOID NTAPI MmUnmapLockedPages(PVOID BaseAddress, PMDL MemoryDescriptorList)
{
    PMDL m = MemoryDescriptorList;
    struct kmrig_runtime *rt = KiRuntime();
    if ((m->MdlFlags & MDL_MAPPED_TO_SYSTEM_VA) && !(m->MdlFlags & MDL_PARENT_MAPPED_SYSTEM_VA) &&
        BaseAddress == m->MappedSystemVa) {
        VF_IRQL_MAX(DISPATCH_LEVEL);
        m->MdlFlags &= ~(MDL_MAPPED_TO_SYSTEM_VA | MDL_PARTIAL_HAS_BEEN_MAPPED);
        return;
    }
    if (!(m->MdlFlags & MDL_SOURCE_IS_NONPAGED_POOL) && BaseAddress == MmGetMdlVirtualAddress(m)) {
        VF_IRQL_MAX(APC_LEVEL); /* a user-mode mapping */
        return;
    }
    MiVerifierViolation(rt, KMRIG_VF_MDL_BAD_UNMAP, (ULONG_PTR)m, (ULONG_PTR)BaseAddress, __func__);
}

#undef MmGetSystemAddressForMdlSafe
#undef MmGetSystemAddressForMdl
#undef MmPrepareMdlForReuse

PVOID NTAPI MmGetSystemAddressForMdlSafe(PMDL Mdl, ULONG Priority)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    if (Mdl->MdlFlags & (MDL_MAPPED_TO_SYSTEM_VA | MDL_SOURCE_IS_NONPAGED_POOL))
        return Mdl->MappedSystemVa;
    return MmMapLockedPagesSpecifyCache(Mdl, KernelMode, MmCached, NULL, FALSE, Priority);
}

PVOID NTAPI MmGetSystemAddressForMdl(PMDL Mdl)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    if (Mdl->MdlFlags & (MDL_MAPPED_TO_SYSTEM_VA | MDL_SOURCE_IS_NONPAGED_POOL))
        return Mdl->MappedSystemVa;
    return MmMapLockedPages(Mdl, KernelMode);
}

VOID NTAPI MmPrepareMdlForReuse(PMDL Mdl)
{
    if (Mdl->MdlFlags & MDL_PARTIAL_HAS_BEEN_MAPPED) {
        ASSERT(Mdl->MdlFlags & MDL_PARTIAL);
        MmUnmapLockedPages(Mdl->MappedSystemVa, Mdl);
    } else if (!(Mdl->MdlFlags & MDL_PARTIAL)) {
        ASSERT(!(Mdl->MdlFlags & MDL_MAPPED_TO_SYSTEM_VA));
    }
}

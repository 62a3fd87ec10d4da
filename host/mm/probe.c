/*
 * Probing and locking: the user-buffer registry, ProbeForRead/ProbeForWrite,
 * MmProbeAndLockPages/MmUnlockPages, MmIsAddressValid.
 *
 * A user address is one inside a buffer the harness registered (kmrig/mm.h). Probes decide from
 * the registry alone, never by touching the memory, so a bad pointer raises
 * STATUS_ACCESS_VIOLATION through the runtime's SEH (ddk/seh.h) and the driver's __except sees
 * it as on NT. Kernel addresses (pool, stacks, images, views) are whatever the host has mapped.
 */
#define _GNU_SOURCE
#include "mm.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>

static BOOLEAN MiGrow(void **Array, ULONG *Capacity, ULONG Count, size_t Element)
{
    if (Count < *Capacity)
        return TRUE;
    ULONG cap = *Capacity ? *Capacity * 2 : 16;
    void *p = realloc(*Array, cap * Element);
    if (!p)
        return FALSE;
    *Array = p;
    *Capacity = cap;
    return TRUE;
}

NTSTATUS MmpRegisterUserBuffer(struct kmrig_runtime *rt, PVOID p, SIZE_T len, BOOLEAN writable)
{
    ULONG_PTR start = (ULONG_PTR)p;
    if (!p || !len || start + len < start)
        return STATUS_INVALID_PARAMETER;
    PMMP_STATE mm = MmpState(rt);
    pthread_mutex_lock(&mm->Lock);
    for (ULONG i = 0; i < mm->UserBufferCount; i++) {
        if (start < mm->UserBuffers[i].End && mm->UserBuffers[i].Start < start + len) {
            pthread_mutex_unlock(&mm->Lock);
            return STATUS_CONFLICTING_ADDRESSES;
        }
    }
    if (!MiGrow((void **)&mm->UserBuffers, &mm->UserBufferCapacity, mm->UserBufferCount,
                sizeof(MI_USER_BUFFER))) {
        pthread_mutex_unlock(&mm->Lock);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    mm->UserBuffers[mm->UserBufferCount++] = (MI_USER_BUFFER){start, start + len, writable};
    pthread_mutex_unlock(&mm->Lock);
    return STATUS_SUCCESS;
}

NTSTATUS MmpUnregisterUserBuffer(struct kmrig_runtime *rt, PVOID p)
{
    PMMP_STATE mm = MmpState(rt);
    pthread_mutex_lock(&mm->Lock);
    for (ULONG i = 0; i < mm->UserBufferCount; i++) {
        MI_USER_BUFFER b = mm->UserBuffers[i];
        if (b.Start != (ULONG_PTR)p)
            continue;
        for (ULONG j = 0; j < mm->LockedMdlCount; j++) {
            MI_LOCKED_MDL *l = &mm->LockedMdls[j];
            if (l->Start < b.End && b.Start < l->End && VfOn(rt, KMRIG_VERIFY_IO)) {
                PMDL m = l->Mdl;
                pthread_mutex_unlock(&mm->Lock);
                KiBugCheckRt(
                    rt, DRIVER_LEFT_LOCKED_PAGES_IN_PROCESS, (ULONG_PTR)l, 0, (ULONG_PTR)m,
                    ADDRESS_AND_SIZE_TO_SPAN_PAGES(MmGetMdlVirtualAddress(m), m->ByteCount));
            }
        }
        mm->UserBuffers[i] = mm->UserBuffers[--mm->UserBufferCount];
        pthread_mutex_unlock(&mm->Lock);
        return STATUS_SUCCESS;
    }
    pthread_mutex_unlock(&mm->Lock);
    return STATUS_NOT_FOUND;
}

BOOLEAN MiIsUserRange(struct kmrig_runtime *rt, ULONG_PTR Start, SIZE_T Length, BOOLEAN Write)
{
    ULONG_PTR end = Start + Length;
    if (end < Start)
        return FALSE;
    PMMP_STATE mm = MmpState(rt);
    BOOLEAN ok = FALSE;
    pthread_mutex_lock(&mm->Lock);
    for (ULONG i = 0; i < mm->UserBufferCount; i++) {
        MI_USER_BUFFER *b = &mm->UserBuffers[i];
        if (Start >= b->Start && end <= b->End) {
            ok = !Write || b->Writable;
            break;
        }
    }
    pthread_mutex_unlock(&mm->Lock);
    return ok;
}

BOOLEAN MiOverlapsUserRange(struct kmrig_runtime *rt, ULONG_PTR Start, SIZE_T Length)
{
    ULONG_PTR end = Start + Length < Start ? ~(ULONG_PTR)0 : Start + Length;
    if (!Length)
        end = Start + 1;
    PMMP_STATE mm = MmpState(rt);
    BOOLEAN hit = FALSE;
    pthread_mutex_lock(&mm->Lock);
    for (ULONG i = 0; i < mm->UserBufferCount && !hit; i++)
        hit = Start < mm->UserBuffers[i].End && mm->UserBuffers[i].Start < end;
    pthread_mutex_unlock(&mm->Lock);
    return hit;
}

/* ---- harness API ---- */

int kmrig_user_buffer_register(kmrig_runtime *rt, void *p, size_t len, int writable)
{
    NTSTATUS s = MmpRegisterUserBuffer(rt, p, len, writable != 0);
    if (s == STATUS_CONFLICTING_ADDRESSES)
        return -EEXIST;
    if (s == STATUS_INSUFFICIENT_RESOURCES)
        return -ENOMEM;
    return NT_SUCCESS(s) ? 0 : -EINVAL;
}

int kmrig_user_buffer_unregister(kmrig_runtime *rt, void *p)
{
    return NT_SUCCESS(MmpUnregisterUserBuffer(rt, p)) ? 0 : -ENOENT;
}

/* ---- ProbeForRead / ProbeForWrite ---- */

static void MiProbe(const volatile VOID *Address, SIZE_T Length, ULONG Alignment, BOOLEAN Write,
                    const char *Routine)
{
    VfCheckIrqlMax(APC_LEVEL, Routine);
    if (Length == 0)
        return; /* as documented: a zero-length probe checks nothing, not even alignment */
    struct kmrig_runtime *rt = KiRuntime();
    if (Alignment != 1 && Alignment != 2 && Alignment != 4 && Alignment != 8 && Alignment != 16) {
        MiVerifierViolation(rt, KMRIG_VF_PROBE_ALIGNMENT, Alignment, (ULONG_PTR)Address, Routine);
        if (!Alignment || (Alignment & (Alignment - 1)))
            Alignment = 1;
    }
    ULONG_PTR start = (ULONG_PTR)Address;
    if (start & (Alignment - 1))
        ExRaiseDatatypeMisalignment();
    if (!MiIsUserRange(rt, start, Length, Write))
        ExRaiseAccessViolation();
}

VOID NTAPI ProbeForRead(const volatile VOID *Address, SIZE_T Length, ULONG Alignment)
{
    MiProbe(Address, Length, Alignment, FALSE, __func__);
}

VOID NTAPI ProbeForWrite(volatile VOID *Address, SIZE_T Length, ULONG Alignment)
{
    MiProbe(Address, Length, Alignment, TRUE, __func__);
}

/* ---- MmProbeAndLockPages / MmUnlockPages ---- */

VOID NTAPI MmProbeAndLockPages(PMDL MemoryDescriptorList, KPROCESSOR_MODE AccessMode,
                               LOCK_OPERATION Operation)
{
    PMDL m = MemoryDescriptorList;
    struct kmrig_runtime *rt = KiRuntime();
    ULONG_PTR start = (ULONG_PTR)MmGetMdlVirtualAddress(m);
    SIZE_T len = m->ByteCount;
    BOOLEAN user = MiOverlapsUserRange(rt, start, len);
    /* User buffers are pageable memory (APC_LEVEL); kernel buffers are taken as nonpaged. */
    VF_IRQL_MAX(AccessMode == UserMode || user ? APC_LEVEL : DISPATCH_LEVEL);
    if (m->MdlFlags & MDL_PAGES_LOCKED)
        MiVerifierViolation(rt, KMRIG_VF_MDL_ALREADY_LOCKED, (ULONG_PTR)m, m->MdlFlags, __func__);
    if (m->MdlFlags & (MDL_PARTIAL | MDL_SOURCE_IS_NONPAGED_POOL))
        MiVerifierViolation(rt, KMRIG_VF_MDL_NOT_LOCKABLE, (ULONG_PTR)m, m->MdlFlags, __func__);
    BOOLEAN write = Operation != IoReadAccess;
    if (AccessMode == UserMode || user) {
        /* The whole range must be one registered buffer, writable for a write lock; a kernel-mode
         * probe of user memory is checked the same way (NT touches the pages). */
        if (!MiIsUserRange(rt, start, len, write))
            ExRaiseAccessViolation();
    } else {
        /* Kernel addresses are accepted, except the null page and a write lock on a read-only
         * view. */
        BOOLEAN viewWritable;
        if (start < PAGE_SIZE || start + len < start)
            ExRaiseAccessViolation();
        if (write && MiIsViewRange(rt, start, len, &viewWritable) && !viewWritable)
            ExRaiseAccessViolation();
    }
    PMMP_STATE mm = MmpState(rt);
    pthread_mutex_lock(&mm->Lock);
    if (!MiGrow((void **)&mm->LockedMdls, &mm->LockedMdlCapacity, mm->LockedMdlCount,
                sizeof(MI_LOCKED_MDL))) {
        pthread_mutex_unlock(&mm->Lock);
        ExRaiseStatus(STATUS_INSUFFICIENT_RESOURCES);
    }
    mm->LockedMdls[mm->LockedMdlCount++] = (MI_LOCKED_MDL){m, start, start + len};
    pthread_mutex_unlock(&mm->Lock);
    MiFillPfnArray(m);
    m->Process = AccessMode == UserMode || user ? PsGetCurrentProcess() : NULL;
    m->MdlFlags |= MDL_PAGES_LOCKED;
    if (write)
        m->MdlFlags |= MDL_WRITE_OPERATION;
    else
        m->MdlFlags &= ~MDL_WRITE_OPERATION;
}

VOID NTAPI MmUnlockPages(PMDL MemoryDescriptorList)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    PMDL m = MemoryDescriptorList;
    struct kmrig_runtime *rt = KiRuntime();
    if (!(m->MdlFlags & MDL_PAGES_LOCKED) ||
        (m->MdlFlags & (MDL_PARTIAL | MDL_SOURCE_IS_NONPAGED_POOL))) {
        MiVerifierViolation(rt, KMRIG_VF_MDL_NOT_LOCKED, (ULONG_PTR)m, m->MdlFlags, __func__);
        return;
    }
    PMMP_STATE mm = MmpState(rt);
    pthread_mutex_lock(&mm->Lock);
    for (ULONG i = 0; i < mm->LockedMdlCount; i++) {
        if (mm->LockedMdls[i].Mdl == m) {
            mm->LockedMdls[i] = mm->LockedMdls[--mm->LockedMdlCount];
            break;
        }
    }
    pthread_mutex_unlock(&mm->Lock);
    /* Unlocking also releases a system mapping, as NT does. */
    m->MdlFlags &= ~(MDL_PAGES_LOCKED | MDL_MAPPED_TO_SYSTEM_VA);
}

/* ---- MmIsAddressValid ---- */

/* TRUE when a read at VirtualAddress would not fault: the page is mapped in the host process
 * (pool, stacks, images, views, harness buffers). Asked of the host with mincore(), which
 * fails with ENOMEM for an unmapped page; nothing is touched. */
BOOLEAN NTAPI MmIsAddressValid(PVOID VirtualAddress)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    ULONG_PTR va = (ULONG_PTR)VirtualAddress;
    if (va < PAGE_SIZE)
        return FALSE;
    unsigned char vec;
    return mincore(PAGE_ALIGN(VirtualAddress), PAGE_SIZE, &vec) == 0 || errno != ENOMEM;
}

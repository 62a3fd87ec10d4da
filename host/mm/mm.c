/*
 * Memory manager (Mm): component lifecycle, page arithmetic, system information.
 *
 * kmrig has one address space (the host process's) and never pages anything out; docs and the
 * model are at the top of ddk/mm.h. MDLs are in mdl.c, probing and the user-buffer registry in
 * probe.c, pageable sections in pageable.c, section objects and views in section.c.
 */
#include "mm.h"

#include <stdlib.h>

NTSTATUS MmpInitialize(struct kmrig_runtime *rt)
{
    PMMP_STATE mm = calloc(1, sizeof *mm);
    if (!mm)
        return STATUS_INSUFFICIENT_RESOURCES;
    pthread_mutex_init(&mm->Lock, NULL);
    rt->Mm = mm;
    return STATUS_SUCCESS;
}

VOID MmpShutdown(struct kmrig_runtime *rt)
{
    PMMP_STATE mm = rt->Mm;
    /* A locked MDL at shutdown is a driver that left pages locked (NT: 0x76/0xCB when the
     * process that owns them ends). */
    if (mm->LockedMdlCount && VfOn(rt, KMRIG_VERIFY_IO)) {
        PMDL m = mm->LockedMdls[0].Mdl;
        KiBugCheckRt(rt, DRIVER_LEFT_LOCKED_PAGES_IN_PROCESS, (ULONG_PTR)&mm->LockedMdls[0], 0,
                     (ULONG_PTR)m,
                     ADDRESS_AND_SIZE_TO_SPAN_PAGES(MmGetMdlVirtualAddress(m), m->ByteCount));
    }
    MiShutdownSections(rt);
    MiShutdownPagable(rt);
    free(mm->UserBuffers);
    free(mm->LockedMdls);
    pthread_mutex_destroy(&mm->Lock);
    free(mm);
    rt->Mm = NULL;
}

VOID MiVerifierViolation(struct kmrig_runtime *rt, ULONG Code, ULONG_PTR P2, ULONG_PTR P3,
                         const char *Routine)
{
    if (!VfOn(rt, KMRIG_VERIFY_IO))
        return;
    KmLog(rt, KMRIG_LOG_ERROR, "%s: memory manager rule broken (0x%08x, %p, %p)", Routine,
          (unsigned)Code, (void *)P2, (void *)P3);
    KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, Code, P2, P3, (ULONG_PTR)Routine);
}

/* ---- page arithmetic: the WDK macros as functions ---- */

#undef PAGE_ALIGN
#undef BYTE_OFFSET
#undef ROUND_TO_PAGES
#undef BYTES_TO_PAGES
#undef ADDRESS_AND_SIZE_TO_SPAN_PAGES

PVOID NTAPI PAGE_ALIGN(PVOID Va)
{
    return (PVOID)((ULONG_PTR)Va & ~((ULONG_PTR)PAGE_SIZE - 1));
}

ULONG NTAPI BYTE_OFFSET(PVOID Va)
{
    return (ULONG)((ULONG_PTR)Va & (PAGE_SIZE - 1));
}

SIZE_T NTAPI ROUND_TO_PAGES(SIZE_T Size)
{
    return (Size + PAGE_SIZE - 1) & ~((SIZE_T)PAGE_SIZE - 1);
}

ULONG NTAPI BYTES_TO_PAGES(SIZE_T Size)
{
    return (ULONG)((Size >> PAGE_SHIFT) + ((Size & (PAGE_SIZE - 1)) != 0));
}

ULONG NTAPI ADDRESS_AND_SIZE_TO_SPAN_PAGES(PVOID Va, SIZE_T Size)
{
    return (ULONG)((BYTE_OFFSET(Va) + Size + (PAGE_SIZE - 1)) >> PAGE_SHIFT);
}

/* ---- system information ---- */

/* Fixed answers, so that a driver sizing itself from them behaves the same on every machine:
 * a large workstation system (any host that runs the rig has more memory than NT's "large"
 * threshold). */
MM_SYSTEMSIZE NTAPI MmQuerySystemSize(VOID)
{
    return MmLargeSystem;
}

BOOLEAN NTAPI MmIsThisAnNtAsSystem(VOID)
{
    return FALSE;
}

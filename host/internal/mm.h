/*
 * mm.h - memory manager internals: the per-instance Mm state (rt->Mm), the user-buffer registry,
 * sections and views, pageable-section handles.
 *
 * All bookkeeping is guarded by one host mutex per instance, held for a few instructions and
 * never across a call into driver code, so Mm routines take it at any IRQL.
 */
#ifndef KMRIG_INTERNAL_MM_H
#define KMRIG_INTERNAL_MM_H

#include "rt.h"
#include "ob.h"
#include "vf.h"

#include <kmrig/mm.h>
#include <pthread.h>

/* Pool tag of MDLs ("Mdl " as poolmon shows it), as NT's. */
#define MMP_TAG_MDL ((ULONG)' ' << 24 | (ULONG)'l' << 16 | (ULONG)'d' << 8 | (ULONG)'M')

/* A range the harness handed in as a user buffer. */
typedef struct _MI_USER_BUFFER {
    ULONG_PTR Start;
    ULONG_PTR End; /* exclusive */
    BOOLEAN Writable;
} MI_USER_BUFFER;

/* An MDL locked by MmProbeAndLockPages and not yet unlocked. */
typedef struct _MI_LOCKED_MDL {
    PMDL Mdl;
    ULONG_PTR Start, End;
} MI_LOCKED_MDL;

/* A pageable "section" handle: one per image and kind (code or data). */
#define MI_PAGABLE_MAGIC 0x5041474Bu /* 'KGAP' */
typedef struct _MI_PAGABLE_SECTION {
    ULONG Magic;
    BOOLEAN Data;
    LONG LockCount;
    PVOID ImageBase;
    struct _MI_PAGABLE_SECTION *Next;
} MI_PAGABLE_SECTION, *PMI_PAGABLE_SECTION;

/* A section object (body of an Ob object of type MiSectionType). */
typedef struct _MI_SECTION {
    UNICODE_STRING Name; /* Buffer owned (host heap) */
    int Fd;              /* memfd holding the pages */
    SIZE_T Size;         /* bytes, page multiple */
    BOOLEAN Writable;
    BOOLEAN Named;            /* still in MMP_STATE.Sections */
    PVOID HarnessMapping;     /* the harness's view of the whole section */
    struct _MI_SECTION *Next; /* MMP_STATE.Sections */
} MI_SECTION, *PMI_SECTION;

typedef struct _MI_VIEW {
    PVOID Base;
    SIZE_T Size;
    PMI_SECTION Section; /* referenced */
    BOOLEAN Writable;
} MI_VIEW;

typedef struct _MMP_STATE {
    pthread_mutex_t Lock;
    MI_USER_BUFFER *UserBuffers;
    ULONG UserBufferCount, UserBufferCapacity;
    MI_LOCKED_MDL *LockedMdls;
    ULONG LockedMdlCount, LockedMdlCapacity;
    PMI_PAGABLE_SECTION Pagable;
    PMI_SECTION Sections;
    MI_VIEW *Views;
    ULONG ViewCount, ViewCapacity;
} MMP_STATE, *PMMP_STATE;

extern OBJECT_TYPE MiSectionType;

/* ---- user buffers (probe.c) ---- */

/* Registers [p, p + len) as a user buffer. STATUS_INVALID_PARAMETER for an empty or wrapping
 * range, STATUS_CONFLICTING_ADDRESSES when it overlaps a registered one. */
NTSTATUS MmpRegisterUserBuffer(struct kmrig_runtime *rt, PVOID p, SIZE_T len, BOOLEAN writable);
/* Unregisters the buffer starting at p (STATUS_NOT_FOUND if none). Bugchecks 0xCB when a locked
 * MDL still holds pages of it. */
NTSTATUS MmpUnregisterUserBuffer(struct kmrig_runtime *rt, PVOID p);

/* Is [Start, Start + Length) inside one user buffer (writable when Write)? */
BOOLEAN MiIsUserRange(struct kmrig_runtime *rt, ULONG_PTR Start, SIZE_T Length, BOOLEAN Write);
/* Does [Start, Start + Length) overlap any user buffer? */
BOOLEAN MiOverlapsUserRange(struct kmrig_runtime *rt, ULONG_PTR Start, SIZE_T Length);

/* ---- sections (section.c) ---- */
NTSTATUS MmpCreateSection(struct kmrig_runtime *rt, PCUNICODE_STRING Name, SIZE_T Size,
                          BOOLEAN Writable, PVOID *Contents);
NTSTATUS MmpDeleteSection(struct kmrig_runtime *rt, PCUNICODE_STRING Name);
/* Is [Start, Start + Length) in a mapped view? *Writable tells whether that view is writable. */
BOOLEAN MiIsViewRange(struct kmrig_runtime *rt, ULONG_PTR Start, SIZE_T Length, BOOLEAN *Writable);
VOID MiShutdownSections(struct kmrig_runtime *rt);

/* ---- pageable sections (pageable.c) ---- */
VOID MiShutdownPagable(struct kmrig_runtime *rt);

/* ---- MDL helpers ---- */

/* The fake frame number of the page at host address Va (see ddk/mm.h) and back. */
static inline PFN_NUMBER MiHostAddressToPfn(PVOID Va)
{
    return (PFN_NUMBER)((ULONG_PTR)Va >> PAGE_SHIFT);
}
static inline PVOID MiPfnToHostAddress(PFN_NUMBER Pfn)
{
    return (PVOID)((ULONG_PTR)Pfn << PAGE_SHIFT);
}
/* Fills the MDL's PFN array from its StartVa. */
VOID MiFillPfnArray(PMDL Mdl);

/* Bugchecks DRIVER_VERIFIER_DETECTED_VIOLATION (p1 = Code, p4 = Routine) when the instance's
 * KMRIG_VERIFY_IO check is on; returns when it is off (the caller then goes on as NT would). */
VOID MiVerifierViolation(struct kmrig_runtime *rt, ULONG Code, ULONG_PTR P2, ULONG_PTR P3,
                         const char *Routine);

static inline PMMP_STATE MmpState(struct kmrig_runtime *rt)
{
    return rt->Mm;
}

#endif

/*
 * Pageable code and data: MmLockPagableCodeSection and friends, MmPageEntireDriver,
 * MmResetDriverPaging.
 *
 * Nothing is ever paged out in kmrig: drivers are host code and data, always resident, and
 * #pragma alloc_text(PAGE...) places nothing. What these routines keep is the bookkeeping a
 * driver can get wrong: each handle has the lock count NT keeps, an unlock with the count at zero
 * is a verifier violation, and handles still locked when the instance ends are reported.
 *
 * A "section" is identified by the loaded image that holds the address (the executable or the
 * shared object, found with dladdr) and by its kind (code or data): every pageable code section
 * of a driver image shares one handle, every pageable data section another. NT would give
 * distinct handles to distinct PE sections; kmrig has no PE sections to tell apart.
 */
#define _GNU_SOURCE
#include "mm.h"

#include <dlfcn.h>
#include <stdlib.h>

static PVOID MiImageBase(PVOID Address)
{
    Dl_info info;
    if (!Address || !dladdr(Address, &info) || !info.dli_fbase)
        return NULL;
    return info.dli_fbase;
}

static PMI_PAGABLE_SECTION MiLockSection(PVOID AddressWithinSection, BOOLEAN Data,
                                         const char *Routine)
{
    VfCheckIrqlMax(APC_LEVEL, Routine);
    struct kmrig_runtime *rt = KiRuntime();
    PVOID base = MiImageBase(AddressWithinSection);
    if (!base) {
        MiVerifierViolation(rt, KMRIG_VF_NOT_IN_IMAGE, (ULONG_PTR)AddressWithinSection, 0, Routine);
        return NULL;
    }
    PMMP_STATE mm = MmpState(rt);
    pthread_mutex_lock(&mm->Lock);
    PMI_PAGABLE_SECTION s = mm->Pagable;
    while (s && !(s->ImageBase == base && s->Data == Data))
        s = s->Next;
    if (!s) {
        s = calloc(1, sizeof *s);
        if (!s) {
            pthread_mutex_unlock(&mm->Lock);
            ExRaiseStatus(STATUS_INSUFFICIENT_RESOURCES);
        }
        s->Magic = MI_PAGABLE_MAGIC;
        s->Data = Data;
        s->ImageBase = base;
        s->Next = mm->Pagable;
        mm->Pagable = s;
    }
    s->LockCount++;
    pthread_mutex_unlock(&mm->Lock);
    return s;
}

PVOID NTAPI MmLockPagableCodeSection(PVOID AddressWithinSection)
{
    return MiLockSection(AddressWithinSection, FALSE, __func__);
}

PVOID NTAPI MmLockPagableDataSection(PVOID AddressWithinSection)
{
    return MiLockSection(AddressWithinSection, TRUE, __func__);
}

/* The handle's record, or NULL (after a verifier violation) when it is not one of ours. Called
 * with the Mm lock held. */
static PMI_PAGABLE_SECTION MiFindHandle(PMMP_STATE mm, PVOID Handle)
{
    for (PMI_PAGABLE_SECTION s = mm->Pagable; s; s = s->Next)
        if (s == Handle)
            return s;
    return NULL;
}

static VOID MiAdjustSection(PVOID ImageSectionHandle, LONG Delta, const char *Routine)
{
    VfCheckIrqlMax(APC_LEVEL, Routine);
    struct kmrig_runtime *rt = KiRuntime();
    PMMP_STATE mm = MmpState(rt);
    pthread_mutex_lock(&mm->Lock);
    PMI_PAGABLE_SECTION s = MiFindHandle(mm, ImageSectionHandle);
    if (!s) {
        pthread_mutex_unlock(&mm->Lock);
        MiVerifierViolation(rt, KMRIG_VF_SECTION_BAD_HANDLE, (ULONG_PTR)ImageSectionHandle, 0,
                            Routine);
        return;
    }
    if (Delta < 0 && s->LockCount == 0) {
        pthread_mutex_unlock(&mm->Lock);
        MiVerifierViolation(rt, KMRIG_VF_SECTION_UNBALANCED, (ULONG_PTR)ImageSectionHandle, 0,
                            Routine);
        return;
    }
    s->LockCount += Delta;
    pthread_mutex_unlock(&mm->Lock);
}

VOID NTAPI MmLockPagableSectionByHandle(PVOID ImageSectionHandle)
{
    MiAdjustSection(ImageSectionHandle, 1, __func__);
}

VOID NTAPI MmUnlockPagableImageSection(PVOID ImageSectionHandle)
{
    MiAdjustSection(ImageSectionHandle, -1, __func__);
}

/* MmPageEntireDriver makes every section of the driver pageable and returns the image base;
 * MmResetDriverPaging makes the driver's sections as pageable as its image says again. With
 * nothing ever paged out, both check their arguments and log. */
static PVOID MiDriverImage(PVOID AddressWithinSection, const char *Routine)
{
    VfCheckIrqlMax(PASSIVE_LEVEL, Routine);
    struct kmrig_runtime *rt = KiRuntime();
    PVOID base = MiImageBase(AddressWithinSection);
    if (!base)
        MiVerifierViolation(rt, KMRIG_VF_NOT_IN_IMAGE, (ULONG_PTR)AddressWithinSection, 0, Routine);
    else
        KmLog(rt, KMRIG_LOG_DEBUG, "%s: image %p (nothing is paged out in kmrig)", Routine, base);
    return base;
}

PVOID NTAPI MmPageEntireDriver(PVOID AddressWithinSection)
{
    return MiDriverImage(AddressWithinSection, __func__);
}

VOID NTAPI MmResetDriverPaging(PVOID AddressWithinSection)
{
    MiDriverImage(AddressWithinSection, __func__);
}

VOID MiShutdownPagable(struct kmrig_runtime *rt)
{
    PMMP_STATE mm = MmpState(rt);
    for (PMI_PAGABLE_SECTION s = mm->Pagable, n; s; s = n) {
        n = s->Next;
        if (s->LockCount)
            KmLog(rt, KMRIG_LOG_WARN,
                  "pageable %s section of image %p still locked %d time(s) at shutdown: "
                  "MmUnlockPagableImageSection was not called as often as it was locked",
                  s->Data ? "data" : "code", s->ImageBase, (int)s->LockCount);
        free(s);
    }
    mm->Pagable = NULL;
}

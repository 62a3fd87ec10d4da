/*
 * Object security: the descriptors components attach to their objects (SepSetObjectSecurity), and
 * ObGetObjectSecurity/ObReleaseObjectSecurity that hand them to drivers. Descriptors are kept per
 * instance, keyed by the object body, until SepDeleteObjectSecurity or the instance ends.
 */
#include "ob.h"
#include "se.h"
#include "vf.h"

#include <stdlib.h>
#include <string.h>

#define SEP_OBJECT_TAG ((ULONG)'S' | ((ULONG)'e' << 8) | ((ULONG)'O' << 16) | ((ULONG)'b' << 24))

static PVOID SepMalloc(SIZE_T Bytes, PVOID Ctx)
{
    return calloc(1, Bytes);
}

static SEP_OBJECT_SD *SepFindObject(SEP_STATE *se, PVOID Object)
{
    for (ULONG i = 0; i < se->ObjectCount; i++)
        if (se->Objects[i].Object == Object)
            return &se->Objects[i];
    return NULL;
}

NTSTATUS SepSetObjectSecurity(struct kmrig_runtime *rt, PVOID Object,
                              PSECURITY_DESCRIPTOR Descriptor)
{
    if (!RtlValidSecurityDescriptor(Descriptor))
        return STATUS_INVALID_SECURITY_DESCR;
    ULONG length;
    PSECURITY_DESCRIPTOR copy = SepMakeSelfRelative(Descriptor, &length, SepMalloc, NULL);
    if (!copy)
        return STATUS_INSUFFICIENT_RESOURCES;
    SEP_STATE *se = rt->Se;
    pthread_mutex_lock(&se->Lock);
    SEP_OBJECT_SD *e = SepFindObject(se, Object);
    if (!e) {
        if (se->ObjectCount == se->ObjectCapacity) {
            ULONG cap = se->ObjectCapacity ? se->ObjectCapacity * 2 : 16;
            SEP_OBJECT_SD *p = realloc(se->Objects, cap * sizeof *p);
            if (!p) {
                pthread_mutex_unlock(&se->Lock);
                free(copy);
                return STATUS_INSUFFICIENT_RESOURCES;
            }
            se->Objects = p;
            se->ObjectCapacity = cap;
        }
        e = &se->Objects[se->ObjectCount++];
        e->Object = Object;
        e->Descriptor = NULL;
    }
    free(e->Descriptor);
    e->Descriptor = copy;
    e->Length = length;
    pthread_mutex_unlock(&se->Lock);
    return STATUS_SUCCESS;
}

VOID SepDeleteObjectSecurity(struct kmrig_runtime *rt, PVOID Object)
{
    SEP_STATE *se = rt->Se;
    pthread_mutex_lock(&se->Lock);
    SEP_OBJECT_SD *e = SepFindObject(se, Object);
    if (e) {
        free(e->Descriptor);
        *e = se->Objects[--se->ObjectCount];
    }
    pthread_mutex_unlock(&se->Lock);
}

/* The descriptor comes back as a copy in paged pool (MemoryAllocated TRUE), so it stays valid
 * whatever happens to the object; an object without one gives NULL and FALSE. */
NTSTATUS NTAPI ObGetObjectSecurity(PVOID Object, PSECURITY_DESCRIPTOR *SecurityDescriptor,
                                   PBOOLEAN MemoryAllocated)
{
    VF_IRQL_MAX(APC_LEVEL);
    struct kmrig_runtime *rt = KiRuntime();
    *SecurityDescriptor = NULL;
    *MemoryAllocated = FALSE;
    if (!ObpIsObject(Object))
        KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, VF_NOT_AN_OBJECT, (ULONG_PTR)Object, 0,
                     (ULONG_PTR) "ObGetObjectSecurity");
    /* Copy out under the lock into a scratch buffer, then into pool outside it. */
    SEP_STATE *se = rt->Se;
    pthread_mutex_lock(&se->Lock);
    SEP_OBJECT_SD *e = SepFindObject(se, Object);
    PVOID scratch = NULL;
    ULONG length = 0;
    if (e && (scratch = malloc(e->Length)) != NULL) {
        memcpy(scratch, e->Descriptor, e->Length);
        length = e->Length;
    }
    BOOLEAN found = e != NULL;
    pthread_mutex_unlock(&se->Lock);
    if (!found)
        return STATUS_SUCCESS;
    if (!scratch)
        return STATUS_INSUFFICIENT_RESOURCES;
    PVOID p = ExAllocatePoolWithTag(PagedPool, length, SEP_OBJECT_TAG);
    if (!p) {
        free(scratch);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    memcpy(p, scratch, length);
    free(scratch);
    *SecurityDescriptor = p;
    *MemoryAllocated = TRUE;
    return STATUS_SUCCESS;
}

VOID NTAPI ObReleaseObjectSecurity(PSECURITY_DESCRIPTOR SecurityDescriptor, BOOLEAN MemoryAllocated)
{
    VF_IRQL_MAX(APC_LEVEL);
    if (SecurityDescriptor && MemoryAllocated)
        ExFreePoolWithTag(SecurityDescriptor, SEP_OBJECT_TAG);
}

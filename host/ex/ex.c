/*
 * ex.c - the executive's lifecycle in a runtime instance (ExpInitialize/ExpShutdown) and the
 * verifier check that freed pool holds no live executive object.
 */
#include "ex.h"

#include <stdlib.h>

NTSTATUS ExpInitialize(struct kmrig_runtime *rt)
{
    PEXP_STATE ex = calloc(1, sizeof(*ex));
    if (!ex)
        return STATUS_INSUFFICIENT_RESOURCES;
    rt->Ex = ex;
    pthread_mutex_init(&ex->ListLock, NULL);
    InitializeListHead(&ex->LookasideList);
    InitializeListHead(&ex->ResourceList);
    InitializeListHead(&ex->CallbackList);
    NTSTATUS status = ExpInitializePool(rt);
    if (!NT_SUCCESS(status))
        goto fail_pool;
    status = ExpInitializeCallbacks(rt);
    if (!NT_SUCCESS(status))
        goto fail_callbacks;
    status = ExpInitializeWorkers(rt);
    if (!NT_SUCCESS(status))
        goto fail_workers;
    return STATUS_SUCCESS;

fail_workers:
    ExpShutdownCallbacks(rt);
fail_callbacks:
    ExpShutdownPool(rt);
fail_pool:
    pthread_mutex_destroy(&ex->ListLock);
    free(ex);
    rt->Ex = NULL;
    return status;
}

VOID ExpShutdown(struct kmrig_runtime *rt)
{
    PEXP_STATE ex = rt->Ex;
    if (!ex)
        return;
    ExpShutdownWorkers(rt);
    ExpShutdownCallbacks(rt);
    ExpCheckPoolLeaks(rt);
    ExpShutdownPool(rt);
    pthread_mutex_destroy(&ex->ListLock);
    free(ex);
    rt->Ex = NULL;
}

VOID ExpCheckFreedObjects(struct kmrig_runtime *rt, PVOID Start, SIZE_T Size)
{
    PEXP_STATE ex = rt->Ex;
    PUCHAR lo = Start, hi = (PUCHAR)Start + Size;
    ULONG_PTR p1 = 0, obj = 0;
    pthread_mutex_lock(&ex->ListLock);
    for (PLIST_ENTRY e = ex->LookasideList.Flink; !p1 && e != &ex->LookasideList; e = e->Flink) {
        PGENERAL_LOOKASIDE l = CONTAINING_RECORD(e, GENERAL_LOOKASIDE, ListEntry);
        if ((PUCHAR)l >= lo && (PUCHAR)l < hi) {
            p1 = EXP_VF_POOL_FREE_ACTIVE_LOOKASIDE;
            obj = (ULONG_PTR)l;
        }
    }
    for (PLIST_ENTRY e = ex->ResourceList.Flink; !p1 && e != &ex->ResourceList; e = e->Flink) {
        PERESOURCE r = CONTAINING_RECORD(e, ERESOURCE, SystemResourcesList);
        if ((PUCHAR)r >= lo && (PUCHAR)r < hi) {
            p1 = EXP_VF_POOL_FREE_ACTIVE_RESOURCE;
            obj = (ULONG_PTR)r;
        }
    }
    pthread_mutex_unlock(&ex->ListLock);
    if (p1) {
        KmLog(rt, KMRIG_LOG_ERROR, "verifier: pool block %p freed with a live %s at %p", Start,
              p1 == EXP_VF_POOL_FREE_ACTIVE_RESOURCE ? "ERESOURCE" : "lookaside list", (PVOID)obj);
        KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, p1, obj, (ULONG_PTR)Start, Size);
    }
}

/*
 * resource.c - executive resources (ERESOURCE): shared/exclusive locks with recursion.
 *
 * State is guarded by the resource's own SpinLock (Ke spin lock). Owners are recorded in
 * OwnerEntry (the exclusive owner, or the first shared owner) and in OwnerTable (further shared
 * owners; OwnerTable[0].TableSize holds the table's size, as NT). ActiveCount counts owner entries
 * in use (1 when owned exclusive); OwnerCount counts one owner's recursive acquisitions.
 *
 * Waiters sleep as on NT: exclusive waiters on a synchronization KEVENT (ExclusiveWaiters), shared
 * waiters on a KSEMAPHORE (SharedWaiters), both created on first contention. A release hands
 * ownership over before waking: on the last exclusive release all shared waiters are granted (if
 * any), else one exclusive waiter; on the last shared release one exclusive waiter.
 *
 * Fairness (WDK): ExAcquireResourceSharedLite waits while an exclusive waiter exists unless the
 * caller already owns the resource; ExAcquireSharedStarveExclusive never waits for exclusive
 * waiters; ExAcquireSharedWaitForExclusive waits for them even when the caller already owns the
 * resource shared.
 */
#include "ex.h"

#include <stdlib.h>
#include <string.h>

#define EXP_GRANTED_OWNER ((ERESOURCE_THREAD)1) /* exclusive owner until the woken waiter runs */

typedef enum { ExpSharedLite, ExpSharedStarveExclusive, ExpSharedWaitForExclusive } EXP_SHARED_MODE;

static inline BOOLEAN ExpOwnedExclusive(PERESOURCE R)
{
    return (R->Flag & ResourceOwnedExclusive) != 0;
}

static void ExpCheckApcsDisabled(PERESOURCE Resource, ULONG_PTR Kind)
{
    struct kmrig_runtime *rt = KiRuntime();
    if (!VfOn(rt, KMRIG_VERIFY_LOCKS))
        return;
    KIRQL irql = KeGetCurrentIrql();
    if (irql < APC_LEVEL && !KeAreApcsDisabled()) {
        KmLogError("verifier: ERESOURCE %p used with normal kernel APCs enabled (call "
                   "KeEnterCriticalRegion first)",
                   (PVOID)Resource);
        KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, Kind, irql,
                     (ULONG_PTR)(LONG_PTR)KiCurrentThread()->KernelApcDisable, (ULONG_PTR)Resource);
    }
}

static BOOLEAN ExpResourceIsLive(PEXP_STATE ex, PERESOURCE Resource)
{
    BOOLEAN live = FALSE;
    pthread_mutex_lock(&ex->ListLock);
    for (PLIST_ENTRY e = ex->ResourceList.Flink; e != &ex->ResourceList; e = e->Flink)
        live |= (e == &Resource->SystemResourcesList);
    pthread_mutex_unlock(&ex->ListLock);
    return live;
}

/* Owner entries (spin lock held). */
static POWNER_ENTRY ExpFindOwner(PERESOURCE R, ERESOURCE_THREAD T)
{
    if (R->OwnerEntry.OwnerThread == T)
        return &R->OwnerEntry;
    if (R->OwnerTable) {
        ULONG n = R->OwnerTable[0].TableSize;
        for (ULONG i = 1; i < n; i++)
            if (R->OwnerTable[i].OwnerThread == T)
                return &R->OwnerTable[i];
    }
    return NULL;
}

static POWNER_ENTRY ExpNewOwner(PERESOURCE R, ERESOURCE_THREAD T)
{
    POWNER_ENTRY e = NULL;
    if (R->OwnerEntry.OwnerThread == 0) {
        e = &R->OwnerEntry;
    } else {
        ULONG n = R->OwnerTable ? R->OwnerTable[0].TableSize : 0;
        for (ULONG i = 1; i < n && !e; i++)
            if (R->OwnerTable[i].OwnerThread == 0)
                e = &R->OwnerTable[i];
        if (!e) {
            ULONG size = n ? n * 2 : 4;
            POWNER_ENTRY t = calloc(size, sizeof(OWNER_ENTRY));
            if (!t)
                KiFatal("ERESOURCE %p: out of host memory for the owner table", (PVOID)R);
            if (n)
                memcpy(t, R->OwnerTable, n * sizeof(OWNER_ENTRY));
            free(R->OwnerTable);
            t[0].OwnerThread = 0;
            t[0].TableSize = size;
            R->OwnerTable = t;
            e = &t[n ? n : 1];
        }
    }
    e->OwnerThread = T;
    e->TableSize = 0;
    e->OwnerCount = 1;
    R->ActiveCount++;
    R->ActiveEntries++;
    return e;
}

static void ExpEnsureWaiters(PERESOURCE R)
{
    if (!R->ExclusiveWaiters) {
        PKEVENT ev = malloc(sizeof(KEVENT));
        if (!ev)
            KiFatal("ERESOURCE %p: out of host memory", (PVOID)R);
        KeInitializeEvent(ev, SynchronizationEvent, FALSE);
        R->ExclusiveWaiters = ev;
    }
    if (!R->SharedWaiters) {
        PKSEMAPHORE s = malloc(sizeof(KSEMAPHORE));
        if (!s)
            KiFatal("ERESOURCE %p: out of host memory", (PVOID)R);
        KeInitializeSemaphore(s, 0, MAXLONG);
        R->SharedWaiters = s;
    }
}

static void ExpWait(PVOID Object)
{
    KeWaitForSingleObject(Object, WrResource, KernelMode, FALSE, NULL);
}

/* ---------------------------------------------------------------------------------------------- */

NTSTATUS NTAPI ExInitializeResourceLite(PERESOURCE Resource)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    struct kmrig_runtime *rt = KiRuntime();
    PEXP_STATE ex = rt->Ex;
    if (VfOn(rt, KMRIG_VERIFY_LOCKS) && ExpResourceIsLive(ex, Resource))
        KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, EXP_VF_RESOURCE_REINITIALIZED,
                     (ULONG_PTR)Resource, 0, 0);
    memset(Resource, 0, sizeof(*Resource));
    KeInitializeSpinLock(&Resource->SpinLock);
    Resource->Address = __builtin_return_address(0);
    pthread_mutex_lock(&ex->ListLock);
    InsertTailList(&ex->ResourceList, &Resource->SystemResourcesList);
    pthread_mutex_unlock(&ex->ListLock);
    return STATUS_SUCCESS;
}

NTSTATUS NTAPI ExReinitializeResourceLite(PERESOURCE Resource)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    KIRQL old;
    KeAcquireSpinLock(&Resource->SpinLock, &old);
    if (Resource->OwnerTable) {
        ULONG n = Resource->OwnerTable[0].TableSize;
        memset(Resource->OwnerTable + 1, 0, (n - 1) * sizeof(OWNER_ENTRY));
    }
    if (Resource->SharedWaiters)
        KeInitializeSemaphore(Resource->SharedWaiters, 0, MAXLONG);
    if (Resource->ExclusiveWaiters)
        KeInitializeEvent(Resource->ExclusiveWaiters, SynchronizationEvent, FALSE);
    Resource->OwnerEntry.OwnerThread = 0;
    Resource->OwnerEntry.TableSize = 0;
    Resource->ActiveCount = 0;
    Resource->ActiveEntries = 0;
    Resource->Flag = 0;
    Resource->ContentionCount = 0;
    Resource->NumberOfSharedWaiters = 0;
    Resource->NumberOfExclusiveWaiters = 0;
    KeReleaseSpinLock(&Resource->SpinLock, old);
    return STATUS_SUCCESS;
}

NTSTATUS NTAPI ExDeleteResourceLite(PERESOURCE Resource)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    struct kmrig_runtime *rt = KiRuntime();
    PEXP_STATE ex = rt->Ex;
    BOOLEAN live = ExpResourceIsLive(ex, Resource);
    if (!live && VfOn(rt, KMRIG_VERIFY_LOCKS))
        KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, EXP_VF_RESOURCE_DELETE_UNINITIALIZED,
                     (ULONG_PTR)Resource, 0, 0);
    if (live) {
        pthread_mutex_lock(&ex->ListLock);
        RemoveEntryList(&Resource->SystemResourcesList);
        pthread_mutex_unlock(&ex->ListLock);
    }
    free(Resource->OwnerTable);
    free(Resource->SharedWaiters);
    free(Resource->ExclusiveWaiters);
    Resource->OwnerTable = NULL;
    Resource->SharedWaiters = NULL;
    Resource->ExclusiveWaiters = NULL;
    return STATUS_SUCCESS;
}

static BOOLEAN ExpAcquireExclusive(PERESOURCE Resource, BOOLEAN Wait)
{
    ERESOURCE_THREAD me = ExGetCurrentResourceThread();
    KIRQL old;
    KeAcquireSpinLock(&Resource->SpinLock, &old);
    if (Resource->ActiveCount == 0) {
        Resource->Flag |= ResourceOwnedExclusive;
        Resource->OwnerEntry.OwnerThread = me;
        Resource->OwnerEntry.TableSize = 0;
        Resource->OwnerEntry.OwnerCount = 1;
        Resource->ActiveCount = 1;
        Resource->ActiveEntries = 1;
        KeReleaseSpinLock(&Resource->SpinLock, old);
        return TRUE;
    }
    if (ExpOwnedExclusive(Resource) && Resource->OwnerEntry.OwnerThread == me) {
        Resource->OwnerEntry.OwnerCount++;
        KeReleaseSpinLock(&Resource->SpinLock, old);
        return TRUE;
    }
    if (!Wait) {
        KeReleaseSpinLock(&Resource->SpinLock, old);
        return FALSE;
    }
    ExpEnsureWaiters(Resource);
    Resource->ContentionCount++;
    Resource->NumberOfExclusiveWaiters++;
    PKEVENT ev = Resource->ExclusiveWaiters;
    KeReleaseSpinLock(&Resource->SpinLock, old);
    ExpWait(ev);
    /* The releaser made us the exclusive owner before setting the event. */
    KeAcquireSpinLock(&Resource->SpinLock, &old);
    Resource->OwnerEntry.OwnerThread = me;
    KeReleaseSpinLock(&Resource->SpinLock, old);
    return TRUE;
}

BOOLEAN NTAPI ExAcquireResourceExclusiveLite(PERESOURCE Resource, BOOLEAN Wait)
{
    VF_IRQL_MAX(APC_LEVEL);
    ExpCheckApcsDisabled(Resource, EXP_VF_RESOURCE_APCS_ENABLED);
    return ExpAcquireExclusive(Resource, Wait);
}

BOOLEAN NTAPI ExTryToAcquireResourceExclusiveLite(PERESOURCE Resource)
{
    VF_IRQL_MAX(APC_LEVEL);
    ExpCheckApcsDisabled(Resource, EXP_VF_RESOURCE_APCS_ENABLED);
    return ExpAcquireExclusive(Resource, FALSE);
}

static BOOLEAN ExpAcquireShared(PERESOURCE Resource, BOOLEAN Wait, EXP_SHARED_MODE Mode)
{
    ERESOURCE_THREAD me = ExGetCurrentResourceThread();
    KIRQL old;
    KeAcquireSpinLock(&Resource->SpinLock, &old);
    if (Resource->ActiveCount == 0) {
        ExpNewOwner(Resource, me);
        KeReleaseSpinLock(&Resource->SpinLock, old);
        return TRUE;
    }
    if (ExpOwnedExclusive(Resource)) {
        if (Resource->OwnerEntry.OwnerThread == me) {
            Resource->OwnerEntry.OwnerCount++;
            KeReleaseSpinLock(&Resource->SpinLock, old);
            return TRUE;
        }
    } else {
        POWNER_ENTRY e = ExpFindOwner(Resource, me);
        BOOLEAN exclusiveWaiting = Resource->NumberOfExclusiveWaiters != 0;
        BOOLEAN grant;
        switch (Mode) {
        case ExpSharedStarveExclusive:
            grant = TRUE;
            break;
        case ExpSharedWaitForExclusive:
            grant = !exclusiveWaiting;
            break;
        default:
            grant = e != NULL || !exclusiveWaiting;
            break;
        }
        if (grant) {
            if (e)
                e->OwnerCount++;
            else
                ExpNewOwner(Resource, me);
            KeReleaseSpinLock(&Resource->SpinLock, old);
            return TRUE;
        }
    }
    if (!Wait) {
        KeReleaseSpinLock(&Resource->SpinLock, old);
        return FALSE;
    }
    ExpEnsureWaiters(Resource);
    Resource->ContentionCount++;
    Resource->NumberOfSharedWaiters++;
    PKSEMAPHORE sem = Resource->SharedWaiters;
    KeReleaseSpinLock(&Resource->SpinLock, old);
    ExpWait(sem);
    /* The releaser counted us in ActiveCount; record the owner entry. */
    KeAcquireSpinLock(&Resource->SpinLock, &old);
    POWNER_ENTRY e = ExpFindOwner(Resource, me);
    if (e)
        e->OwnerCount++;
    else
        ExpNewOwner(Resource, me);
    /* Either way the grant already counted this owner. */
    Resource->ActiveCount--;
    Resource->ActiveEntries--;
    KeReleaseSpinLock(&Resource->SpinLock, old);
    return TRUE;
}

BOOLEAN NTAPI ExAcquireResourceSharedLite(PERESOURCE Resource, BOOLEAN Wait)
{
    VF_IRQL_MAX(APC_LEVEL);
    ExpCheckApcsDisabled(Resource, EXP_VF_RESOURCE_APCS_ENABLED);
    return ExpAcquireShared(Resource, Wait, ExpSharedLite);
}

BOOLEAN NTAPI ExAcquireSharedStarveExclusive(PERESOURCE Resource, BOOLEAN Wait)
{
    VF_IRQL_MAX(APC_LEVEL);
    ExpCheckApcsDisabled(Resource, EXP_VF_RESOURCE_APCS_ENABLED);
    return ExpAcquireShared(Resource, Wait, ExpSharedStarveExclusive);
}

BOOLEAN NTAPI ExAcquireSharedWaitForExclusive(PERESOURCE Resource, BOOLEAN Wait)
{
    VF_IRQL_MAX(APC_LEVEL);
    ExpCheckApcsDisabled(Resource, EXP_VF_RESOURCE_APCS_ENABLED);
    return ExpAcquireShared(Resource, Wait, ExpSharedWaitForExclusive);
}

/* Hands the resource on after its last owner left (spin lock held; released here). */
static void ExpGrantWaiters(PERESOURCE R, KIRQL Old, BOOLEAN SharedFirst)
{
    if (SharedFirst && R->NumberOfSharedWaiters) {
        LONG n = (LONG)R->NumberOfSharedWaiters;
        R->Flag &= ~ResourceOwnedExclusive;
        R->ActiveCount += (SHORT)n;
        R->ActiveEntries += (ULONG)n;
        R->NumberOfSharedWaiters = 0;
        PKSEMAPHORE sem = R->SharedWaiters;
        KeReleaseSpinLock(&R->SpinLock, Old);
        KeReleaseSemaphore(sem, 0, n, FALSE);
        return;
    }
    if (R->ActiveCount == 0 && R->NumberOfExclusiveWaiters) {
        R->Flag |= ResourceOwnedExclusive;
        R->OwnerEntry.OwnerThread = EXP_GRANTED_OWNER;
        R->OwnerEntry.TableSize = 0;
        R->OwnerEntry.OwnerCount = 1;
        R->ActiveCount = 1;
        R->ActiveEntries = 1;
        R->NumberOfExclusiveWaiters--;
        PKEVENT ev = R->ExclusiveWaiters;
        KeReleaseSpinLock(&R->SpinLock, Old);
        KeSetEvent(ev, 0, FALSE);
        return;
    }
    if (R->ActiveCount == 0)
        R->Flag &= ~ResourceOwnedExclusive;
    KeReleaseSpinLock(&R->SpinLock, Old);
}

static void ExpReleaseResource(PERESOURCE Resource, ERESOURCE_THREAD Thread)
{
    KIRQL old;
    KeAcquireSpinLock(&Resource->SpinLock, &old);
    if (ExpOwnedExclusive(Resource)) {
        if (Resource->OwnerEntry.OwnerThread != Thread) {
            POWNER_ENTRY table = Resource->OwnerTable;
            KeReleaseSpinLock(&Resource->SpinLock, old);
            KeBugCheckEx(RESOURCE_NOT_OWNED, (ULONG_PTR)Resource, Thread, (ULONG_PTR)table, 0);
        }
        if (--Resource->OwnerEntry.OwnerCount) {
            KeReleaseSpinLock(&Resource->SpinLock, old);
            return;
        }
        Resource->OwnerEntry.OwnerThread = 0;
        Resource->ActiveCount = 0;
        Resource->ActiveEntries = 0;
        ExpGrantWaiters(Resource, old, TRUE);
        return;
    }
    POWNER_ENTRY e = Thread ? ExpFindOwner(Resource, Thread) : NULL;
    if (!e) {
        POWNER_ENTRY table = Resource->OwnerTable;
        KeReleaseSpinLock(&Resource->SpinLock, old);
        KeBugCheckEx(RESOURCE_NOT_OWNED, (ULONG_PTR)Resource, Thread, (ULONG_PTR)table, 0);
    }
    if (--e->OwnerCount) {
        KeReleaseSpinLock(&Resource->SpinLock, old);
        return;
    }
    e->OwnerThread = 0;
    e->TableSize = 0;
    Resource->ActiveCount--;
    Resource->ActiveEntries--;
    ExpGrantWaiters(Resource, old, FALSE);
}

VOID NTAPI ExReleaseResourceLite(PERESOURCE Resource)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    ExpCheckApcsDisabled(Resource, EXP_VF_RESOURCE_RELEASE_APCS_ENABLED);
    ExpReleaseResource(Resource, ExGetCurrentResourceThread());
}

VOID NTAPI ExReleaseResourceForThreadLite(PERESOURCE Resource, ERESOURCE_THREAD ResourceThreadId)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    ExpReleaseResource(Resource, ResourceThreadId);
}

VOID NTAPI ExSetResourceOwnerPointer(PERESOURCE Resource, PVOID OwnerPointer)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    ERESOURCE_THREAD me = ExGetCurrentResourceThread();
    KIRQL old;
    KeAcquireSpinLock(&Resource->SpinLock, &old);
    POWNER_ENTRY e = ExpFindOwner(Resource, me);
    if (e)
        e->OwnerThread = (ERESOURCE_THREAD)OwnerPointer | 3;
    KeReleaseSpinLock(&Resource->SpinLock, old);
    if (!e)
        KeBugCheckEx(RESOURCE_NOT_OWNED, (ULONG_PTR)Resource, me, (ULONG_PTR)Resource->OwnerTable,
                     0);
}

BOOLEAN NTAPI ExIsResourceAcquiredExclusiveLite(PERESOURCE Resource)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    ERESOURCE_THREAD me = ExGetCurrentResourceThread();
    KIRQL old;
    KeAcquireSpinLock(&Resource->SpinLock, &old);
    BOOLEAN r = ExpOwnedExclusive(Resource) && Resource->OwnerEntry.OwnerThread == me;
    KeReleaseSpinLock(&Resource->SpinLock, old);
    return r;
}

ULONG NTAPI ExIsResourceAcquiredSharedLite(PERESOURCE Resource)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    ERESOURCE_THREAD me = ExGetCurrentResourceThread();
    KIRQL old;
    KeAcquireSpinLock(&Resource->SpinLock, &old);
    POWNER_ENTRY e = Resource->ActiveCount ? ExpFindOwner(Resource, me) : NULL;
    ULONG count = e ? e->OwnerCount : 0;
    KeReleaseSpinLock(&Resource->SpinLock, old);
    return count;
}

ULONG NTAPI ExGetExclusiveWaiterCount(PERESOURCE Resource)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    return __atomic_load_n(&Resource->NumberOfExclusiveWaiters, __ATOMIC_RELAXED);
}

ULONG NTAPI ExGetSharedWaiterCount(PERESOURCE Resource)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    return __atomic_load_n(&Resource->NumberOfSharedWaiters, __ATOMIC_RELAXED);
}

VOID NTAPI ExConvertExclusiveToSharedLite(PERESOURCE Resource)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    ERESOURCE_THREAD me = ExGetCurrentResourceThread();
    KIRQL old;
    KeAcquireSpinLock(&Resource->SpinLock, &old);
    if (!ExpOwnedExclusive(Resource) || Resource->OwnerEntry.OwnerThread != me) {
        POWNER_ENTRY table = Resource->OwnerTable;
        KeReleaseSpinLock(&Resource->SpinLock, old);
        KeBugCheckEx(RESOURCE_NOT_OWNED, (ULONG_PTR)Resource, me, (ULONG_PTR)table, 0);
    }
    Resource->Flag &= ~ResourceOwnedExclusive;
    if (Resource->NumberOfSharedWaiters) {
        LONG n = (LONG)Resource->NumberOfSharedWaiters;
        Resource->ActiveCount += (SHORT)n;
        Resource->ActiveEntries += (ULONG)n;
        Resource->NumberOfSharedWaiters = 0;
        PKSEMAPHORE sem = Resource->SharedWaiters;
        KeReleaseSpinLock(&Resource->SpinLock, old);
        KeReleaseSemaphore(sem, 0, n, FALSE);
        return;
    }
    KeReleaseSpinLock(&Resource->SpinLock, old);
}

ERESOURCE_THREAD NTAPI ExGetCurrentResourceThread(VOID)
{
    return (ERESOURCE_THREAD)KeGetCurrentThread();
}

PVOID NTAPI ExEnterCriticalRegionAndAcquireResourceExclusive(PERESOURCE Resource)
{
    VF_IRQL_MAX(APC_LEVEL);
    KeEnterCriticalRegion();
    ExpAcquireExclusive(Resource, TRUE);
    return NULL;
}

PVOID NTAPI ExEnterCriticalRegionAndAcquireResourceShared(PERESOURCE Resource)
{
    VF_IRQL_MAX(APC_LEVEL);
    KeEnterCriticalRegion();
    ExpAcquireShared(Resource, TRUE, ExpSharedLite);
    return NULL;
}

VOID NTAPI ExReleaseResourceAndLeaveCriticalRegion(PERESOURCE Resource)
{
    VF_IRQL_MAX(APC_LEVEL);
    ExpReleaseResource(Resource, ExGetCurrentResourceThread());
    KeLeaveCriticalRegion();
}

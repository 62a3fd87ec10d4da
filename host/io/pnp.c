/*
 * The PnP manager's engine: device nodes, the root bus (\Driver\PnpManager, whose PDOs describe
 * the devices of a static description or of the target's enumeration ROM), the driver registry
 * the harness fills, the start sequence, bus relations, removal, and the PnP worker.
 *
 * A device goes through what NT does:
 *   enumeration (its PDO alone): QUERY_ID DeviceID/InstanceID/HardwareIDs/CompatibleIDs,
 *     QUERY_DEVICE_TEXT, QUERY_RESOURCES, QUERY_RESOURCE_REQUIREMENTS;
 *   drivers: DriverEntry once per service, AddDevice for lower filters, the function driver,
 *     upper filters;
 *   start (the whole stack): FILTER_RESOURCE_REQUIREMENTS, START_DEVICE with the raw and
 *     translated resources, QUERY_CAPABILITIES, QUERY_PNP_DEVICE_STATE, QUERY_DEVICE_RELATIONS
 *     (BusRelations) whose new PDOs go through the same, recursively;
 *   removal: QUERY_REMOVE then REMOVE (or CANCEL_REMOVE on a veto), or SURPRISE_REMOVAL then
 *     REMOVE; children before their parent.
 * Every PnP IRP is checked against the node's state first (IOP_VF_PNP_WRONG_STATE).
 */
#include "pnp.h"
#include "cm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ---- */

size_t IopPnpWcslen(PCWSTR s)
{
    size_t n = 0;
    while (s && s[n])
        n++;
    return n;
}

PWCHAR IopPnpDupWide(PCWSTR s)
{
    if (!s)
        return NULL;
    size_t n = IopPnpWcslen(s);
    PWCHAR d = malloc((n + 1) * sizeof(WCHAR));
    if (d)
        memcpy(d, s, (n + 1) * sizeof(WCHAR));
    return d;
}

PWCHAR IopPnpDupAscii(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s);
    PWCHAR d = malloc((n + 1) * sizeof(WCHAR));
    if (d)
        for (size_t i = 0; i <= n; i++)
            d[i] = (UCHAR)s[i];
    return d;
}

BOOLEAN IopPnpWideEqualNoCase(PCWSTR a, PCWSTR b)
{
    if (!a || !b)
        return FALSE;
    for (;; a++, b++) {
        if (RtlUpcaseUnicodeChar(*a) != RtlUpcaseUnicodeChar(*b))
            return FALSE;
        if (!*a)
            return TRUE;
    }
}

VOID IopPnpGuidToString(const GUID *g, PWCHAR b)
{
    char t[40];
    snprintf(t, sizeof t, "{%08x-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x}", (unsigned)g->Data1,
             g->Data2, g->Data3, g->Data4[0], g->Data4[1], g->Data4[2], g->Data4[3], g->Data4[4],
             g->Data4[5], g->Data4[6], g->Data4[7]);
    for (int i = 0; i < 39; i++)
        b[i] = (UCHAR)t[i];
}

/* Bytes of a REG_MULTI_SZ including its final NUL. */
static ULONG IopPnpMultiSzBytes(PCWSTR m)
{
    if (!m)
        return 0;
    size_t n = 0;
    while (m[n] || m[n + 1])
        n++;
    return (ULONG)((n + 2) * sizeof(WCHAR));
}

/* A REG_MULTI_SZ of the non-NULL ASCII strings (NULL if there are none). */
static PWCHAR IopPnpMultiSzAscii(const char *const *v, size_t n, ULONG *Bytes)
{
    size_t len = 0, count = 0;
    for (size_t i = 0; i < n && v[i]; i++, count++)
        len += strlen(v[i]) + 1;
    *Bytes = 0;
    if (!count)
        return NULL;
    PWCHAR m = calloc(len + 1, sizeof(WCHAR));
    if (!m)
        return NULL;
    PWCHAR p = m;
    for (size_t i = 0; i < count; i++) {
        for (const char *c = v[i]; *c; c++)
            *p++ = (UCHAR)*c;
        *p++ = 0;
    }
    *Bytes = (ULONG)((len + 1) * sizeof(WCHAR));
    return m;
}

static PVOID IopPnpPoolCopy(const VOID *Data, SIZE_T Bytes)
{
    PVOID p = ExAllocatePoolWithTag(PagedPool, Bytes ? Bytes : 1, IOP_TAG_PNP);
    if (p)
        memcpy(p, Data, Bytes);
    return p;
}

/* ---- the engine lock and the worker ---- */

/* Recursive for its owner: a DriverEntry that the engine calls may report a detected device,
 * which takes the lock again. */
VOID IopPnpAcquireEngine(struct kmrig_runtime *rt)
{
    PIOP_PNP_STATE pnp = IopPnp(rt);
    PKTHREAD self = KeGetCurrentThread();
    if (atomic_load(&pnp->EngineOwner) == self) {
        pnp->EngineDepth++;
        return;
    }
    KeWaitForSingleObject(&pnp->EngineLock, Executive, KernelMode, FALSE, NULL);
    atomic_store(&pnp->EngineOwner, self);
    pnp->EngineDepth = 1;
}

VOID IopPnpReleaseEngine(struct kmrig_runtime *rt)
{
    PIOP_PNP_STATE pnp = IopPnp(rt);
    if (--pnp->EngineDepth)
        return;
    atomic_store(&pnp->EngineOwner, NULL);
    KeSetEvent(&pnp->EngineLock, IO_NO_INCREMENT, FALSE);
}

static VOID NTAPI IopPnpWorker(PVOID Context)
{
    struct kmrig_runtime *rt = Context;
    PIOP_PNP_STATE pnp = IopPnp(rt);
    for (;;) {
        pthread_mutex_lock(&pnp->Lock);
        if (IsListEmpty(&pnp->Work)) {
            pnp->WorkerQueued = FALSE;
            pthread_mutex_unlock(&pnp->Lock);
            return;
        }
        PIOP_PNP_WORK w = CONTAINING_RECORD(RemoveHeadList(&pnp->Work), IOP_PNP_WORK, Link);
        pthread_mutex_unlock(&pnp->Lock);
        w->Routine(rt, w);
        if (w->Pdo)
            ObfDereferenceObject(w->Pdo);
        free(w->Data);
        free(w);
    }
}

BOOLEAN IopPnpQueue(struct kmrig_runtime *rt,
                    VOID (*Routine)(struct kmrig_runtime *, PIOP_PNP_WORK), PDEVICE_OBJECT Pdo,
                    ULONG Argument, PVOID Data)
{
    PIOP_PNP_STATE pnp = IopPnp(rt);
    PIOP_PNP_WORK w = calloc(1, sizeof *w);
    if (!w) {
        free(Data);
        return FALSE;
    }
    w->Routine = Routine;
    w->Pdo = Pdo;
    w->Argument = Argument;
    w->Data = Data;
    if (Pdo)
        ObfReferenceObject(Pdo);
    pthread_mutex_lock(&pnp->Lock);
    InsertTailList(&pnp->Work, &w->Link);
    BOOLEAN start = !pnp->WorkerQueued;
    pnp->WorkerQueued = TRUE;
    pthread_mutex_unlock(&pnp->Lock);
    if (start)
        ExQueueWorkItem(&pnp->WorkItem, DelayedWorkQueue);
    return TRUE;
}

typedef struct _IOP_PNP_MARKER {
    KEVENT Done;
    BOOLEAN QueueWasEmpty;
} IOP_PNP_MARKER;

static VOID IopPnpMarker(struct kmrig_runtime *rt, PIOP_PNP_WORK w)
{
    IOP_PNP_MARKER *m = *(IOP_PNP_MARKER **)w->Data;
    pthread_mutex_lock(&IopPnp(rt)->Lock);
    m->QueueWasEmpty = IsListEmpty(&IopPnp(rt)->Work);
    pthread_mutex_unlock(&IopPnp(rt)->Lock);
    KeSetEvent(&m->Done, IO_NO_INCREMENT, FALSE);
}

/* The queue is FIFO with one worker: when a marker runs, everything queued before it is done.
 * Work that work queued comes after the marker, so go again until a marker finds nothing. */
VOID IopPnpSettle(struct kmrig_runtime *rt)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    IOP_PNP_MARKER m;
    do {
        KeInitializeEvent(&m.Done, NotificationEvent, FALSE);
        m.QueueWasEmpty = FALSE;
        IOP_PNP_MARKER **data = malloc(sizeof *data);
        if (!data)
            return;
        *data = &m;
        if (!IopPnpQueue(rt, IopPnpMarker, NULL, 0, data))
            return;
        KeWaitForSingleObject(&m.Done, Executive, KernelMode, FALSE, NULL);
    } while (!m.QueueWasEmpty);
}

/* ---- nodes ---- */

PDEVICE_NODE IopPnpNodeOf(PDEVICE_OBJECT DeviceObject)
{
    if (!DeviceObject || !ObpIsObject(DeviceObject) ||
        OBJECT_TO_OBJECT_HEADER(DeviceObject)->Type != &ObpDeviceType)
        return NULL;
    return DeviceObject->DeviceObjectExtension->DeviceNode;
}

static VOID IopPnpFreeNode(PDEVICE_NODE n)
{
    free(n->DeviceId);
    free(n->InstanceId);
    free(n->InstancePath);
    free(n->Enumerator);
    free(n->HardwareIds);
    free(n->CompatibleIds);
    free(n->Description);
    free(n->Service);
    free(n->BootConfig);
    free(n->BootConfigTranslated);
    free(n->Requirements);
    free(n->Raw);
    free(n->Translated);
    if (n->HasDesc) {
        for (int i = 0; i < KMRIG_DEVICE_MAX_IDS; i++) {
            free((void *)n->Desc.hardware_ids[i]);
            free((void *)n->Desc.compatible_ids[i]);
        }
        free((void *)n->Desc.instance);
        free((void *)n->Desc.description);
    }
    free(n);
}

/* Forgets a node whose PDO is gone. Lists lock not held; engine lock held. */
static VOID IopPnpDropNode(struct kmrig_runtime *rt, PDEVICE_NODE n)
{
    PIOP_PNP_STATE pnp = IopPnp(rt);
    IopPnpFreeInterfaces(rt, n);
    pthread_mutex_lock(&pnp->Lock);
    RemoveEntryList(&n->Link);
    pnp->NodeCount--;
    for (PLIST_ENTRY e = pnp->Nodes.Flink; e != &pnp->Nodes; e = e->Flink) {
        PDEVICE_NODE c = CONTAINING_RECORD(e, DEVICE_NODE, Link);
        if (c->Parent == n)
            c->Parent = n->Parent;
    }
    /* under the lock: a thread closing a file looks the node up (IopPnpDeviceDereferenced) */
    if (n->Pdo->DeviceObjectExtension->DeviceNode == n)
        n->Pdo->DeviceObjectExtension->DeviceNode = NULL;
    pthread_mutex_unlock(&pnp->Lock);
    ObfDereferenceObject(n->Pdo);
    IopPnpFreeNode(n);
}

static PDEVICE_NODE IopPnpNewNode(struct kmrig_runtime *rt, PDEVICE_NODE Parent, PDEVICE_OBJECT Pdo)
{
    PIOP_PNP_STATE pnp = IopPnp(rt);
    PDEVICE_NODE n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    n->Parent = Parent;
    n->Pdo = Pdo;
    n->Present = TRUE;
    n->State = DevnodeEnumerated;
    n->Status = STATUS_SUCCESS;
    n->LegacyBusType = Internal;
    n->Address = 0xFFFFFFFF;
    InitializeListHead(&n->Interfaces);
    ObfReferenceObject(Pdo);
    ObpQueryObjectName(Pdo, n->PdoName, ARRAYSIZE(n->PdoName)); /* empty if unnamed */
    Pdo->Flags |= DO_BUS_ENUMERATED_DEVICE;
    pthread_mutex_lock(&pnp->Lock);
    Pdo->DeviceObjectExtension->DeviceNode = n;
    n->DriverKeyNumber = pnp->NextDriverKey++;
    InsertTailList(&pnp->Nodes, &n->Link);
    pnp->NodeCount++;
    pthread_mutex_unlock(&pnp->Lock);
    return n;
}

/* ---- sending PnP IRPs ---- */

static const char *IopPnpMinorName(UCHAR m)
{
    static const char *const names[] = {
        "START_DEVICE",
        "QUERY_REMOVE_DEVICE",
        "REMOVE_DEVICE",
        "CANCEL_REMOVE_DEVICE",
        "STOP_DEVICE",
        "QUERY_STOP_DEVICE",
        "CANCEL_STOP_DEVICE",
        "QUERY_DEVICE_RELATIONS",
        "QUERY_INTERFACE",
        "QUERY_CAPABILITIES",
        "QUERY_RESOURCES",
        "QUERY_RESOURCE_REQUIREMENTS",
        "QUERY_DEVICE_TEXT",
        "FILTER_RESOURCE_REQUIREMENTS",
        "0x0E",
        "READ_CONFIG",
        "WRITE_CONFIG",
        "EJECT",
        "SET_LOCK",
        "QUERY_ID",
        "QUERY_PNP_DEVICE_STATE",
        "QUERY_BUS_INFORMATION",
        "DEVICE_USAGE_NOTIFICATION",
        "SURPRISE_REMOVAL",
    };
    return m < sizeof names / sizeof names[0] ? names[m] : "?";
}

/* Is a PnP IRP with this minor allowed in the node's state? */
static BOOLEAN IopPnpAllowed(PDEVICE_NODE n, UCHAR Minor)
{
    IOP_DEVNODE_STATE s = n->State;
    switch (Minor) {
    case IRP_MN_START_DEVICE:
        return s == DevnodeDriversAdded || s == DevnodeStopped;
    case IRP_MN_QUERY_REMOVE_DEVICE:
        return !n->QueryRemoved &&
               (s == DevnodeDriversAdded || s == DevnodeStarted || s == DevnodeStopped);
    case IRP_MN_CANCEL_REMOVE_DEVICE:
        return n->QueryRemoved;
    case IRP_MN_REMOVE_DEVICE:
        /* a started device is removed only after a query-remove or a surprise removal; a
         * removed device gets a second one when its bus reports it missing */
        if (s == DevnodeRemoved)
            return !n->Present;
        return (s != DevnodeStarted && s != DevnodeStopped) || n->QueryRemoved;
    case IRP_MN_EJECT:
        return s == DevnodeRemoved && n->Present;
    case IRP_MN_SURPRISE_REMOVAL:
        return s == DevnodeStarted || s == DevnodeStopped || s == DevnodeDriversAdded;
    case IRP_MN_QUERY_STOP_DEVICE:
    case IRP_MN_STOP_DEVICE:
    case IRP_MN_CANCEL_STOP_DEVICE:
    case IRP_MN_QUERY_DEVICE_RELATIONS:
    case IRP_MN_QUERY_PNP_DEVICE_STATE:
        return s == DevnodeStarted;
    default:
        return s != DevnodeRemoved && s != DevnodeSurpriseRemoved;
    }
}

static NTSTATUS NTAPI IopPnpIrpDone(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    KeSetEvent((PKEVENT)Context, IO_NO_INCREMENT, FALSE);
    return STATUS_MORE_PROCESSING_REQUIRED;
}

/* Sends one PnP IRP to the top of the node's stack and waits for it: IoStatus starts as
 * STATUS_NOT_SUPPORTED (Information as given), as NT's PnP manager sends them. */
static NTSTATUS IopPnpSendIrp(struct kmrig_runtime *rt, PDEVICE_NODE n, UCHAR Minor,
                              const IO_STACK_LOCATION *Params, ULONG_PTR *Information)
{
    if (!IopPnpAllowed(n, Minor) && VfOn(rt, KMRIG_VERIFY_IO))
        KeBugCheckEx(DRIVER_VERIFIER_IOMANAGER_VIOLATION, IOP_VF_PNP_WRONG_STATE, (ULONG_PTR)n->Pdo,
                     n->State, Minor);
    PDEVICE_OBJECT top = IoGetAttachedDeviceReference(n->Pdo);
    PIRP irp = IoAllocateIrp(top->StackSize, FALSE);
    if (!irp) {
        ObfDereferenceObject(top);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    KEVENT ev;
    KeInitializeEvent(&ev, NotificationEvent, FALSE);
    irp->IoStatus.Status = STATUS_NOT_SUPPORTED;
    irp->IoStatus.Information = Information ? *Information : 0;
    irp->RequestorMode = KernelMode;
    irp->Tail.Overlay.Thread = (PETHREAD)KeGetCurrentThread();
    PIO_STACK_LOCATION sl = IoGetNextIrpStackLocation(irp);
    if (Params)
        sl->Parameters = Params->Parameters;
    sl->MajorFunction = IRP_MJ_PNP;
    sl->MinorFunction = Minor;
    IoSetCompletionRoutine(irp, IopPnpIrpDone, &ev, TRUE, TRUE, TRUE);
    KmLog(rt, KMRIG_LOG_DEBUG, "pnp: IRP_MN_%s", IopPnpMinorName(Minor));
    IOP_PNP_SENT sent = {{NULL, NULL}, irp};
    pthread_mutex_lock(&IopPnp(rt)->Lock);
    InsertTailList(&IopPnp(rt)->Sent, &sent.Link);
    pthread_mutex_unlock(&IopPnp(rt)->Lock);
    NTSTATUS s = IoCallDriver(top, irp);
    if (s == STATUS_PENDING)
        KeWaitForSingleObject(&ev, Executive, KernelMode, FALSE, NULL);
    pthread_mutex_lock(&IopPnp(rt)->Lock);
    RemoveEntryList(&sent.Link);
    pthread_mutex_unlock(&IopPnp(rt)->Lock);
    s = irp->IoStatus.Status;
    if (Information)
        *Information = irp->IoStatus.Information;
    IoFreeIrp(irp);
    ObfDereferenceObject(top);
    return s;
}

VOID IopPnpVerifyCall(struct kmrig_runtime *rt, PDEVICE_OBJECT DeviceObject, PIRP Irp, UCHAR Minor)
{
    switch (Minor) {
    case IRP_MN_START_DEVICE:
    case IRP_MN_QUERY_REMOVE_DEVICE:
    case IRP_MN_REMOVE_DEVICE:
    case IRP_MN_CANCEL_REMOVE_DEVICE:
    case IRP_MN_STOP_DEVICE:
    case IRP_MN_QUERY_STOP_DEVICE:
    case IRP_MN_CANCEL_STOP_DEVICE:
    case IRP_MN_SURPRISE_REMOVAL:
    case IRP_MN_EJECT:
    case IRP_MN_FILTER_RESOURCE_REQUIREMENTS:
        break;
    default:
        return; /* the queries drivers may send themselves */
    }
    PIOP_PNP_STATE pnp = IopPnp(rt);
    if (!pnp)
        return;
    /* only the stacks of devices the PnP manager enumerated are its to drive */
    PDEVICE_OBJECT base = IoGetDeviceAttachmentBaseRef(DeviceObject);
    BOOLEAN managed = base->DeviceObjectExtension->DeviceNode != NULL;
    ObfDereferenceObject(base);
    if (!managed)
        return;
    BOOLEAN ours = FALSE;
    pthread_mutex_lock(&pnp->Lock);
    for (PLIST_ENTRY e = pnp->Sent.Flink; e != &pnp->Sent && !ours; e = e->Flink)
        ours = CONTAINING_RECORD(e, IOP_PNP_SENT, Link)->Irp == Irp;
    pthread_mutex_unlock(&pnp->Lock);
    if (!ours)
        KeBugCheckEx(DRIVER_VERIFIER_IOMANAGER_VIOLATION, IOP_VF_PNP_DRIVER_SENT,
                     (ULONG_PTR)DeviceObject, (ULONG_PTR)Irp, Minor);
}

static NTSTATUS IopPnpSendSimple(struct kmrig_runtime *rt, PDEVICE_NODE n, UCHAR Minor)
{
    return IopPnpSendIrp(rt, n, Minor, NULL, NULL);
}

static PWCHAR IopPnpQueryId(struct kmrig_runtime *rt, PDEVICE_NODE n, BUS_QUERY_ID_TYPE Type,
                            BOOLEAN Multi, ULONG *Bytes)
{
    IO_STACK_LOCATION p = {0};
    p.Parameters.QueryId.IdType = Type;
    ULONG_PTR info = 0;
    NTSTATUS s = IopPnpSendIrp(rt, n, IRP_MN_QUERY_ID, &p, &info);
    if (!NT_SUCCESS(s) || !info)
        return NULL;
    PWCHAR src = (PWCHAR)info;
    ULONG len = Multi ? IopPnpMultiSzBytes(src) : (ULONG)((IopPnpWcslen(src) + 1) * sizeof(WCHAR));
    PWCHAR d = malloc(len);
    if (d)
        memcpy(d, src, len);
    if (Bytes)
        *Bytes = len;
    ExFreePool(src);
    return d;
}

/* ---- the root bus: \Driver\PnpManager and its PDOs ---- */

typedef struct _IOP_ROOT_PDO {
    PDEVICE_NODE Node;
} IOP_ROOT_PDO, *PIOP_ROOT_PDO;

static NTSTATUS IopRootCompleteWith(PIRP Irp, NTSTATUS Status, ULONG_PTR Information)
{
    Irp->IoStatus.Status = Status;
    Irp->IoStatus.Information = Information;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return Status;
}

static PWCHAR IopRootIdFor(PDEVICE_NODE n, BUS_QUERY_ID_TYPE Type, ULONG *Bytes)
{
    switch (Type) {
    case BusQueryDeviceID:
        *Bytes = (ULONG)((IopPnpWcslen(n->DeviceId) + 1) * sizeof(WCHAR));
        return n->DeviceId;
    case BusQueryInstanceID:
        *Bytes = (ULONG)((IopPnpWcslen(n->InstanceId) + 1) * sizeof(WCHAR));
        return n->InstanceId;
    case BusQueryHardwareIDs:
        *Bytes = n->HardwareIdsBytes;
        return n->HardwareIds;
    case BusQueryCompatibleIDs:
        *Bytes = n->CompatibleIdsBytes;
        return n->CompatibleIds;
    default:
        return NULL;
    }
}

static NTSTATUS NTAPI IopRootDispatchPnp(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(Irp);
    PDEVICE_NODE n = ((PIOP_ROOT_PDO)DeviceObject->DeviceExtension)->Node;
    NTSTATUS s = Irp->IoStatus.Status;
    ULONG_PTR info = Irp->IoStatus.Information;
    switch (sl->MinorFunction) {
    case IRP_MN_START_DEVICE:
    case IRP_MN_QUERY_STOP_DEVICE:
    case IRP_MN_STOP_DEVICE:
    case IRP_MN_CANCEL_STOP_DEVICE:
    case IRP_MN_QUERY_REMOVE_DEVICE:
    case IRP_MN_CANCEL_REMOVE_DEVICE:
    case IRP_MN_SURPRISE_REMOVAL:
        s = STATUS_SUCCESS;
        break;
    case IRP_MN_REMOVE_DEVICE:
        s = STATUS_SUCCESS;
        if (n && !n->Present && !n->Deleted) {
            /* the device is gone: the bus driver deletes its PDO */
            n->Deleted = TRUE;
            IoDeleteDevice(DeviceObject);
        }
        break;
    case IRP_MN_EJECT:
        if (n)
            n->Present = FALSE;
        s = STATUS_SUCCESS;
        break;
    case IRP_MN_QUERY_ID: {
        ULONG bytes = 0;
        PWCHAR id = n ? IopRootIdFor(n, sl->Parameters.QueryId.IdType, &bytes) : NULL;
        if (id) {
            info = (ULONG_PTR)IopPnpPoolCopy(id, bytes);
            s = info ? STATUS_SUCCESS : STATUS_INSUFFICIENT_RESOURCES;
        }
        break;
    }
    case IRP_MN_QUERY_DEVICE_TEXT:
        if (n && n->Description &&
            sl->Parameters.QueryDeviceText.DeviceTextType == DeviceTextDescription) {
            info = (ULONG_PTR)IopPnpPoolCopy(n->Description,
                                             (IopPnpWcslen(n->Description) + 1) * sizeof(WCHAR));
            s = info ? STATUS_SUCCESS : STATUS_INSUFFICIENT_RESOURCES;
        }
        break;
    case IRP_MN_QUERY_RESOURCES:
        if (n && n->BootConfig) {
            info = (ULONG_PTR)IopPnpPoolCopy(n->BootConfig, IopPnpResourceListSize(n->BootConfig));
            s = info ? STATUS_SUCCESS : STATUS_INSUFFICIENT_RESOURCES;
        }
        break;
    case IRP_MN_QUERY_RESOURCE_REQUIREMENTS:
        if (n && n->BootConfig) {
            PIO_RESOURCE_REQUIREMENTS_LIST r = IopPnpRawToRequirements(n->BootConfig);
            info = r ? (ULONG_PTR)IopPnpPoolCopy(r, r->ListSize) : 0;
            free(r);
            s = info ? STATUS_SUCCESS : STATUS_INSUFFICIENT_RESOURCES;
        }
        break;
    case IRP_MN_QUERY_CAPABILITIES: {
        PDEVICE_CAPABILITIES c = sl->Parameters.DeviceCapabilities.Capabilities;
        c->SurpriseRemovalOK = TRUE;
        c->UniqueID = FALSE;
        c->DeviceState[PowerSystemWorking] = PowerDeviceD0;
        for (int i = PowerSystemSleeping1; i < PowerSystemMaximum; i++)
            c->DeviceState[i] = PowerDeviceD3;
        c->Address = n ? n->Address : 0xFFFFFFFF;
        c->UINumber = 0xFFFFFFFF;
        s = STATUS_SUCCESS;
        break;
    }
    case IRP_MN_QUERY_DEVICE_RELATIONS:
        if (sl->Parameters.QueryDeviceRelations.Type == TargetDeviceRelation) {
            PDEVICE_RELATIONS r = ExAllocatePoolWithTag(PagedPool, sizeof *r, IOP_TAG_PNP);
            if (r) {
                r->Count = 1;
                r->Objects[0] = DeviceObject;
                ObfReferenceObject(DeviceObject);
                info = (ULONG_PTR)r;
                s = STATUS_SUCCESS;
            } else {
                s = STATUS_INSUFFICIENT_RESOURCES;
            }
        }
        break;
    default:
        break; /* not ours: completed as it came */
    }
    return IopRootCompleteWith(Irp, s, info);
}

static NTSTATUS NTAPI IopRootDispatchPower(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(Irp);
    NTSTATUS s = Irp->IoStatus.Status;
    if (sl->MinorFunction == IRP_MN_SET_POWER || sl->MinorFunction == IRP_MN_QUERY_POWER)
        s = STATUS_SUCCESS;
    else if (sl->MinorFunction == IRP_MN_WAIT_WAKE)
        s = STATUS_NOT_SUPPORTED; /* the root bus's devices cannot wake the system */
    return IopRootCompleteWith(Irp, s, Irp->IoStatus.Information);
}

static VOID NTAPI IopRootUnload(PDRIVER_OBJECT DriverObject) {}

static NTSTATUS NTAPI IopRootDriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    DriverObject->MajorFunction[IRP_MJ_PNP] = IopRootDispatchPnp;
    DriverObject->MajorFunction[IRP_MJ_POWER] = IopRootDispatchPower;
    DriverObject->DriverUnload = IopRootUnload;
    return STATUS_SUCCESS;
}

/* Fills the node's IDs from a description: device ID "<enum>\<id>" (the first hardware ID if
 * it has a backslash, else "ROOT\<id>"), instance ID given or counted among equal IDs. */
NTSTATUS IopPnpCreateRootNode(struct kmrig_runtime *rt, const struct kmrig_device_desc *Desc,
                              PCWSTR DeviceId, PCWSTR InstanceId, PDEVICE_NODE *Out)
{
    PIOP_PNP_STATE pnp = IopPnp(rt);
    *Out = NULL;
    WCHAR name[40];
    ULONG number;
    pthread_mutex_lock(&pnp->Lock);
    number = pnp->NextPdoNumber++;
    pthread_mutex_unlock(&pnp->Lock);
    char an[40];
    snprintf(an, sizeof an, "\\Device\\KmPnp%08x", number);
    for (int i = 0;; i++) {
        name[i] = (UCHAR)an[i];
        if (!an[i])
            break;
    }
    UNICODE_STRING us;
    RtlInitUnicodeString(&us, name);
    PDEVICE_OBJECT pdo;
    NTSTATUS s = IoCreateDevice(pnp->RootDriver, sizeof(IOP_ROOT_PDO), &us, FILE_DEVICE_UNKNOWN,
                                FILE_DEVICE_SECURE_OPEN, FALSE, &pdo);
    if (!NT_SUCCESS(s))
        return s;
    pdo->Flags &= ~DO_DEVICE_INITIALIZING;
    PDEVICE_NODE n = IopPnpNewNode(rt, NULL, pdo);
    if (!n) {
        IoDeleteDevice(pdo);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    ((PIOP_ROOT_PDO)pdo->DeviceExtension)->Node = n;
    n->RootEnumerated = TRUE;
    memcpy(n->PdoName, name, sizeof name);
    if (Desc) {
        n->Desc = *Desc;
        n->HasDesc = TRUE;
        for (int i = 0; i < KMRIG_DEVICE_MAX_IDS; i++) {
            n->Desc.hardware_ids[i] = Desc->hardware_ids[i] ? strdup(Desc->hardware_ids[i]) : NULL;
            n->Desc.compatible_ids[i] =
                Desc->compatible_ids[i] ? strdup(Desc->compatible_ids[i]) : NULL;
        }
        n->Desc.instance = Desc->instance ? strdup(Desc->instance) : NULL;
        n->Desc.description = Desc->description ? strdup(Desc->description) : NULL;
        n->HardwareIds =
            IopPnpMultiSzAscii(Desc->hardware_ids, KMRIG_DEVICE_MAX_IDS, &n->HardwareIdsBytes);
        n->CompatibleIds =
            IopPnpMultiSzAscii(Desc->compatible_ids, KMRIG_DEVICE_MAX_IDS, &n->CompatibleIdsBytes);
        n->Description =
            IopPnpDupAscii(Desc->description ? Desc->description : Desc->hardware_ids[0]);
        n->BootConfig = IopPnpDescToRaw(Desc);
    }
    n->DeviceId = IopPnpDupWide(DeviceId);
    n->InstanceId = IopPnpDupWide(InstanceId);
    if (!n->DeviceId || !n->InstanceId || (Desc && (!n->HardwareIds || !n->BootConfig))) {
        n->Present = FALSE;
        n->Deleted = TRUE;
        IoDeleteDevice(pdo);
        IopPnpDropNode(rt, n);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    *Out = n;
    return STATUS_SUCCESS;
}

/* ---- drivers ---- */

NTSTATUS IopPnpRegisterDriver(struct kmrig_runtime *rt, PCWSTR Id, PCWSTR Service,
                              PDRIVER_INITIALIZE Entry, enum kmrig_driver_role Role)
{
    PIOP_PNP_STATE pnp = IopPnp(rt);
    size_t il = IopPnpWcslen(Id), sl = IopPnpWcslen(Service);
    if (!il || il >= 128 || !sl || sl >= 64 || !Entry || Role > KMRIG_DRIVER_LOWER_FILTER)
        return STATUS_INVALID_PARAMETER;
    for (size_t i = 0; i < sl; i++)
        if (Service[i] == L'\\')
            return STATUS_INVALID_PARAMETER;
    PIOP_PNP_REGISTRATION r = calloc(1, sizeof *r);
    if (!r)
        return STATUS_INSUFFICIENT_RESOURCES;
    memcpy(r->Id, Id, (il + 1) * sizeof(WCHAR));
    memcpy(r->Service, Service, (sl + 1) * sizeof(WCHAR));
    r->Entry = Entry;
    r->Role = Role;
    pthread_mutex_lock(&pnp->Lock);
    for (PLIST_ENTRY e = pnp->Registrations.Flink; e != &pnp->Registrations; e = e->Flink) {
        PIOP_PNP_REGISTRATION o = CONTAINING_RECORD(e, IOP_PNP_REGISTRATION, Link);
        if ((Role == KMRIG_DRIVER_FUNCTION && o->Role == KMRIG_DRIVER_FUNCTION &&
             IopPnpWideEqualNoCase(o->Id, Id)) ||
            (IopPnpWideEqualNoCase(o->Service, Service) && o->Entry != Entry)) {
            pthread_mutex_unlock(&pnp->Lock);
            free(r);
            return STATUS_OBJECT_NAME_COLLISION;
        }
    }
    InsertTailList(&pnp->Registrations, &r->Link);
    pthread_mutex_unlock(&pnp->Lock);
    return STATUS_SUCCESS;
}

static BOOLEAN IopPnpMultiSzHas(PCWSTR m, PCWSTR id)
{
    for (; m && *m; m += IopPnpWcslen(m) + 1)
        if (IopPnpWideEqualNoCase(m, id))
            return TRUE;
    return FALSE;
}

/* The registrations of a role that match the node, best match first for the function driver
 * (hardware IDs in order, then compatible IDs), registration order for filters. */
static ULONG IopPnpMatch(struct kmrig_runtime *rt, PDEVICE_NODE n, enum kmrig_driver_role Role,
                         PIOP_PNP_REGISTRATION *Out, ULONG Max)
{
    PIOP_PNP_STATE pnp = IopPnp(rt);
    ULONG count = 0;
    pthread_mutex_lock(&pnp->Lock);
    if (Role == KMRIG_DRIVER_FUNCTION) {
        PCWSTR lists[2] = {n->HardwareIds, n->CompatibleIds};
        for (int l = 0; l < 2 && !count; l++)
            for (PCWSTR id = lists[l]; id && *id && !count; id += IopPnpWcslen(id) + 1)
                for (PLIST_ENTRY e = pnp->Registrations.Flink; e != &pnp->Registrations;
                     e = e->Flink) {
                    PIOP_PNP_REGISTRATION r = CONTAINING_RECORD(e, IOP_PNP_REGISTRATION, Link);
                    if (r->Role == Role && IopPnpWideEqualNoCase(r->Id, id)) {
                        Out[count++] = r;
                        break;
                    }
                }
    } else {
        for (PLIST_ENTRY e = pnp->Registrations.Flink; e != &pnp->Registrations && count < Max;
             e = e->Flink) {
            PIOP_PNP_REGISTRATION r = CONTAINING_RECORD(e, IOP_PNP_REGISTRATION, Link);
            if (r->Role == Role && (IopPnpMultiSzHas(n->HardwareIds, r->Id) ||
                                    IopPnpMultiSzHas(n->CompatibleIds, r->Id)))
                Out[count++] = r;
        }
    }
    pthread_mutex_unlock(&pnp->Lock);
    return count;
}

static NTSTATUS IopPnpSetDword(HANDLE Key, PCWSTR Name, ULONG Value)
{
    UNICODE_STRING n;
    RtlInitUnicodeString(&n, Name);
    return ZwSetValueKey(Key, &n, 0, REG_DWORD, &Value, sizeof Value);
}

static NTSTATUS IopPnpSetString(HANDLE Key, PCWSTR Name, ULONG Type, PCWSTR Value, ULONG Bytes)
{
    UNICODE_STRING n;
    RtlInitUnicodeString(&n, Name);
    if (!Bytes)
        Bytes = (ULONG)((IopPnpWcslen(Value) + 1) * sizeof(WCHAR));
    return ZwSetValueKey(Key, &n, 0, Type, (PVOID)Value, Bytes);
}

#define IOP_SERVICES_PATH L"\\Registry\\Machine\\System\\CurrentControlSet\\Services\\"

/* The driver object of a service, loading it (service key, DriverEntry) the first time. */
static NTSTATUS IopPnpLoadService(struct kmrig_runtime *rt, PIOP_PNP_REGISTRATION r,
                                  PDRIVER_OBJECT *Driver)
{
    PIOP_PNP_STATE pnp = IopPnp(rt);
    *Driver = NULL;
    pthread_mutex_lock(&pnp->Lock);
    for (PLIST_ENTRY e = pnp->Services.Flink; e != &pnp->Services; e = e->Flink) {
        PIOP_PNP_SERVICE sv = CONTAINING_RECORD(e, IOP_PNP_SERVICE, Link);
        if (IopPnpWideEqualNoCase(sv->Name, r->Service)) {
            *Driver = sv->Driver;
            NTSTATUS s = sv->LoadStatus;
            pthread_mutex_unlock(&pnp->Lock);
            return s;
        }
    }
    pthread_mutex_unlock(&pnp->Lock);
    PIOP_PNP_SERVICE sv = calloc(1, sizeof *sv);
    WCHAR path[160];
    size_t pl = IopPnpWcslen(IOP_SERVICES_PATH), sl = IopPnpWcslen(r->Service);
    if (!sv)
        return STATUS_INSUFFICIENT_RESOURCES;
    memcpy(path, IOP_SERVICES_PATH, pl * sizeof(WCHAR));
    memcpy(path + pl, r->Service, (sl + 1) * sizeof(WCHAR));
    memcpy(sv->Name, r->Service, (sl + 1) * sizeof(WCHAR));
    HANDLE key;
    NTSTATUS s = CmpCreateKeyPathW(path, KEY_ALL_ACCESS, 0, &key, NULL);
    if (NT_SUCCESS(s)) {
        IopPnpSetDword(key, L"Type", 1);         /* SERVICE_KERNEL_DRIVER */
        IopPnpSetDword(key, L"Start", 3);        /* SERVICE_DEMAND_START */
        IopPnpSetDword(key, L"ErrorControl", 1); /* SERVICE_ERROR_NORMAL */
        ZwClose(key);
        UNICODE_STRING rp;
        RtlInitUnicodeString(&rp, path);
        s = IopLoadDriver(rt, r->Service, r->Entry, &rp, &sv->Driver);
    }
    sv->LoadStatus = s;
    if (!NT_SUCCESS(s)) {
        char nm[64];
        UNICODE_STRING u;
        RtlInitUnicodeString(&u, r->Service);
        KmLog(rt, KMRIG_LOG_WARN, "pnp: driver %s did not load (0x%08X)",
              IopNarrow(&u, nm, sizeof nm), (unsigned)s);
    }
    pthread_mutex_lock(&pnp->Lock);
    InsertTailList(&pnp->Services, &sv->Link);
    pthread_mutex_unlock(&pnp->Lock);
    *Driver = sv->Driver;
    return s;
}

/* The Enum key: Enum\<instance path> with its IDs, Service, Driver; "Device Parameters". */
static VOID IopPnpWriteEnumKey(struct kmrig_runtime *rt, PDEVICE_NODE n)
{
    static const WCHAR prefix[] = L"\\Registry\\Machine\\System\\CurrentControlSet\\Enum\\";
    size_t pl = IopPnpWcslen(prefix), il = IopPnpWcslen(n->InstancePath);
    PWCHAR path = malloc((pl + il + 20) * sizeof(WCHAR));
    if (!path)
        return;
    memcpy(path, prefix, pl * sizeof(WCHAR));
    memcpy(path + pl, n->InstancePath, (il + 1) * sizeof(WCHAR));
    HANDLE key;
    if (NT_SUCCESS(CmpCreateKeyPathW(path, KEY_ALL_ACCESS, 0, &key, NULL))) {
        if (n->HardwareIds)
            IopPnpSetString(key, L"HardwareID", REG_MULTI_SZ, n->HardwareIds, n->HardwareIdsBytes);
        if (n->CompatibleIds)
            IopPnpSetString(key, L"CompatibleIDs", REG_MULTI_SZ, n->CompatibleIds,
                            n->CompatibleIdsBytes);
        if (n->Description)
            IopPnpSetString(key, L"DeviceDesc", REG_SZ, n->Description, 0);
        if (n->Service)
            IopPnpSetString(key, L"Service", REG_SZ, n->Service, 0);
        WCHAR drv[60];
        char t[60];
        snprintf(t, sizeof t, "{4d36e97d-e325-11ce-bfc1-08002be10318}\\%04u",
                 (unsigned)n->DriverKeyNumber);
        for (int i = 0;; i++) {
            drv[i] = (UCHAR)t[i];
            if (!t[i])
                break;
        }
        IopPnpSetString(key, L"Driver", REG_SZ, drv, 0);
        ZwClose(key);
    }
    memcpy(path + pl + il, L"\\Device Parameters", 19 * sizeof(WCHAR));
    if (NT_SUCCESS(CmpCreateKeyPathW(path, KEY_ALL_ACCESS, 0, &key, NULL)))
        ZwClose(key);
    free(path);
}

static VOID IopPnpFail(struct kmrig_runtime *rt, PDEVICE_NODE n, NTSTATUS Status, const char *What)
{
    char nm[128];
    UNICODE_STRING u;
    RtlInitUnicodeString(&u, n->InstancePath);
    KmLog(rt, KMRIG_LOG_WARN, "pnp: %s: %s failed (0x%08X)", IopNarrow(&u, nm, sizeof nm), What,
          (unsigned)Status);
    n->Status = Status;
}

/* Tears a stack down after a failed AddDevice or start: REMOVE_DEVICE, as NT does. */
static VOID IopPnpTearDown(struct kmrig_runtime *rt, PDEVICE_NODE n)
{
    if (n->Pdo->AttachedDevice) {
        NTSTATUS s = IopPnpSendSimple(rt, n, IRP_MN_REMOVE_DEVICE);
        (void)s;
    }
    n->State = DevnodeFailed;
}

static VOID IopPnpCheckTornDown(struct kmrig_runtime *rt, PDEVICE_NODE n)
{
    if (n->Pdo->AttachedDevice && VfOn(rt, KMRIG_VERIFY_IO))
        KeBugCheckEx(DRIVER_VERIFIER_IOMANAGER_VIOLATION, IOP_VF_PNP_STACK_LEFT, (ULONG_PTR)n->Pdo,
                     (ULONG_PTR)n->Pdo->AttachedDevice, 0);
}

/* AddDevice for lower filters, the function driver, upper filters. */
static NTSTATUS IopPnpAddDrivers(struct kmrig_runtime *rt, PDEVICE_NODE n)
{
    PIOP_PNP_REGISTRATION fn[1], lower[8], upper[8];
    if (!IopPnpMatch(rt, n, KMRIG_DRIVER_FUNCTION, fn, 1))
        return STATUS_SUCCESS; /* no driver: stays enumerated */
    ULONG nl = IopPnpMatch(rt, n, KMRIG_DRIVER_LOWER_FILTER, lower, 8);
    ULONG nu = IopPnpMatch(rt, n, KMRIG_DRIVER_UPPER_FILTER, upper, 8);
    n->Service = IopPnpDupWide(fn[0]->Service);
    IopPnpWriteEnumKey(rt, n);
    PIOP_PNP_REGISTRATION order[17];
    ULONG count = 0;
    for (ULONG i = 0; i < nl; i++)
        order[count++] = lower[i];
    order[count++] = fn[0];
    for (ULONG i = 0; i < nu; i++)
        order[count++] = upper[i];
    for (ULONG i = 0; i < count; i++) {
        PDRIVER_OBJECT d;
        NTSTATUS s = IopPnpLoadService(rt, order[i], &d);
        if (NT_SUCCESS(s) && !d->DriverExtension->AddDevice)
            s = STATUS_INVALID_DEVICE_REQUEST; /* not a PnP driver */
        if (NT_SUCCESS(s))
            s = d->DriverExtension->AddDevice(d, n->Pdo);
        if (!NT_SUCCESS(s)) {
            IopPnpFail(rt, n, s, order[i] == fn[0] ? "the function driver" : "a filter driver");
            IopPnpTearDown(rt, n);
            return s;
        }
    }
    n->State = DevnodeDriversAdded;
    return STATUS_SUCCESS;
}

/* Enumeration-time queries to the PDO alone. */
NTSTATUS IopPnpIdentify(struct kmrig_runtime *rt, PDEVICE_NODE n)
{
    PWCHAR dev = IopPnpQueryId(rt, n, BusQueryDeviceID, FALSE, NULL);
    PWCHAR inst = IopPnpQueryId(rt, n, BusQueryInstanceID, FALSE, NULL);
    ULONG hb = 0, cb = 0;
    PWCHAR hw = IopPnpQueryId(rt, n, BusQueryHardwareIDs, TRUE, &hb);
    PWCHAR cp = IopPnpQueryId(rt, n, BusQueryCompatibleIDs, TRUE, &cb);
    if (!dev) {
        free(inst);
        free(hw);
        free(cp);
        return STATUS_UNSUCCESSFUL; /* a PDO must have a device ID */
    }
    if (!n->RootEnumerated) {
        free(n->DeviceId);
        free(n->InstanceId);
        free(n->HardwareIds);
        free(n->CompatibleIds);
        n->DeviceId = dev;
        n->InstanceId = inst ? inst : IopPnpDupWide(L"0");
        n->HardwareIds = hw;
        n->HardwareIdsBytes = hb;
        n->CompatibleIds = cp;
        n->CompatibleIdsBytes = cb;
    } else {
        free(dev);
        free(inst);
        free(hw);
        free(cp);
    }
    size_t dl = IopPnpWcslen(n->DeviceId), il = IopPnpWcslen(n->InstanceId);
    n->InstancePath = malloc((dl + il + 2) * sizeof(WCHAR));
    if (!n->InstancePath || !n->InstanceId)
        return STATUS_INSUFFICIENT_RESOURCES;
    memcpy(n->InstancePath, n->DeviceId, dl * sizeof(WCHAR));
    n->InstancePath[dl] = L'\\';
    memcpy(n->InstancePath + dl + 1, n->InstanceId, (il + 1) * sizeof(WCHAR));
    size_t el = 0;
    while (el < dl && n->DeviceId[el] != L'\\')
        el++;
    n->Enumerator = malloc((el + 1) * sizeof(WCHAR));
    if (!n->Enumerator)
        return STATUS_INSUFFICIENT_RESOURCES;
    memcpy(n->Enumerator, n->DeviceId, el * sizeof(WCHAR));
    n->Enumerator[el] = 0;

    DEVICE_CAPABILITIES caps;
    memset(&caps, 0, sizeof caps);
    caps.Size = sizeof caps;
    caps.Version = 1;
    caps.Address = caps.UINumber = 0xFFFFFFFF;
    IO_STACK_LOCATION p = {0};
    p.Parameters.DeviceCapabilities.Capabilities = &caps;
    if (NT_SUCCESS(IopPnpSendIrp(rt, n, IRP_MN_QUERY_CAPABILITIES, &p, NULL)))
        n->Address = caps.Address;

    memset(&p, 0, sizeof p);
    p.Parameters.QueryDeviceText.DeviceTextType = DeviceTextDescription;
    ULONG_PTR info = 0;
    if (NT_SUCCESS(IopPnpSendIrp(rt, n, IRP_MN_QUERY_DEVICE_TEXT, &p, &info)) && info) {
        if (!n->RootEnumerated) {
            free(n->Description);
            n->Description = IopPnpDupWide((PCWSTR)info);
        }
        ExFreePool((PVOID)info);
    }
    info = 0;
    if (NT_SUCCESS(IopPnpSendIrp(rt, n, IRP_MN_QUERY_RESOURCES, NULL, &info)) && info) {
        if (!n->RootEnumerated) {
            free(n->BootConfig);
            ULONG size = IopPnpResourceListSize((PCM_RESOURCE_LIST)info);
            n->BootConfig = malloc(size);
            if (n->BootConfig)
                memcpy(n->BootConfig, (PVOID)info, size);
        }
        ExFreePool((PVOID)info);
    }
    free(n->BootConfigTranslated);
    n->BootConfigTranslated = n->BootConfig ? IopPnpTranslate(n->BootConfig) : NULL;
    info = 0;
    if (NT_SUCCESS(IopPnpSendIrp(rt, n, IRP_MN_QUERY_RESOURCE_REQUIREMENTS, NULL, &info)) && info) {
        PIO_RESOURCE_REQUIREMENTS_LIST r = (PIO_RESOURCE_REQUIREMENTS_LIST)info;
        free(n->Requirements);
        n->Requirements = malloc(r->ListSize);
        if (n->Requirements)
            memcpy(n->Requirements, r, r->ListSize);
        ExFreePool(r);
    }
    return STATUS_SUCCESS;
}

/* FILTER_RESOURCE_REQUIREMENTS, assignment, START_DEVICE, then the after-start queries. */
VOID IopPnpStartNode(struct kmrig_runtime *rt, PDEVICE_NODE n)
{
    if (n->State != DevnodeDriversAdded && n->State != DevnodeStopped)
        return;
    PIO_RESOURCE_REQUIREMENTS_LIST req = NULL;
    if (n->Requirements) {
        req = IopPnpPoolCopy(n->Requirements, n->Requirements->ListSize);
        if (!req) {
            IopPnpFail(rt, n, STATUS_INSUFFICIENT_RESOURCES, "resource requirements");
            IopPnpTearDown(rt, n);
            return;
        }
    }
    IO_STACK_LOCATION p = {0};
    p.Parameters.FilterResourceRequirements.IoResourceRequirementList = req;
    ULONG_PTR info = (ULONG_PTR)req;
    NTSTATUS s = IopPnpSendIrp(rt, n, IRP_MN_FILTER_RESOURCE_REQUIREMENTS, &p, &info);
    if (NT_SUCCESS(s)) {
        if ((PVOID)info != req) {
            if (req)
                ExFreePool(req);
            req = (PIO_RESOURCE_REQUIREMENTS_LIST)info;
        }
    } else if (s != STATUS_NOT_SUPPORTED) {
        if (req)
            ExFreePool(req);
        IopPnpFail(rt, n, s, "IRP_MN_FILTER_RESOURCE_REQUIREMENTS");
        IopPnpTearDown(rt, n);
        return;
    }
    free(n->Requirements);
    n->Requirements = NULL;
    if (req) {
        n->Requirements = malloc(req->ListSize);
        if (n->Requirements)
            memcpy(n->Requirements, req, req->ListSize);
        ExFreePool(req);
    }
    PCM_RESOURCE_LIST raw = NULL, tr = NULL;
    s = IopPnpAssignResources(rt, n, n->Requirements, &raw, &tr);
    if (!NT_SUCCESS(s)) {
        IopPnpFail(rt, n, s, "resource assignment");
        IopPnpTearDown(rt, n);
        return;
    }
    pthread_mutex_lock(&IopPnp(rt)->Lock);
    free(n->Raw);
    free(n->Translated);
    n->Raw = raw; /* held from here: other devices conflict with them */
    n->Translated = tr;
    pthread_mutex_unlock(&IopPnp(rt)->Lock);
    memset(&p, 0, sizeof p);
    p.Parameters.StartDevice.AllocatedResources = raw;
    p.Parameters.StartDevice.AllocatedResourcesTranslated = tr;
    s = IopPnpSendIrp(rt, n, IRP_MN_START_DEVICE, &p, NULL);
    if (!NT_SUCCESS(s)) {
        IopPnpFail(rt, n, s, "IRP_MN_START_DEVICE");
        pthread_mutex_lock(&IopPnp(rt)->Lock);
        n->Raw = n->Translated = NULL;
        pthread_mutex_unlock(&IopPnp(rt)->Lock);
        free(raw);
        free(tr);
        IopPnpTearDown(rt, n);
        return;
    }
    n->State = DevnodeStarted;
    n->Status = STATUS_SUCCESS;
    DEVICE_CAPABILITIES caps;
    memset(&caps, 0, sizeof caps);
    caps.Size = sizeof caps;
    caps.Version = 1;
    caps.Address = caps.UINumber = 0xFFFFFFFF;
    memset(&p, 0, sizeof p);
    p.Parameters.DeviceCapabilities.Capabilities = &caps;
    if (NT_SUCCESS(IopPnpSendIrp(rt, n, IRP_MN_QUERY_CAPABILITIES, &p, NULL)))
        n->Address = caps.Address;
    info = 0;
    s = IopPnpSendIrp(rt, n, IRP_MN_QUERY_PNP_DEVICE_STATE, NULL, &info);
    if (NT_SUCCESS(s))
        n->DeviceState = (PNP_DEVICE_STATE)info;
    IopPnpReenumerate(rt, n);
}

/* A new node (its PDO known): identity, drivers, start, children. */
static VOID IopPnpBringUp(struct kmrig_runtime *rt, PDEVICE_NODE n)
{
    NTSTATUS s = IopPnpIdentify(rt, n);
    if (!NT_SUCCESS(s)) {
        IopPnpFail(rt, n, s, "the identity queries");
        n->State = DevnodeFailed;
        return;
    }
    s = IopPnpAddDrivers(rt, n);
    if (NT_SUCCESS(s) && n->State == DevnodeDriversAdded)
        IopPnpStartNode(rt, n);
}

/* ---- removal ---- */

/* The node and its descendants, children before parents. */
static ULONG IopPnpSubtree(struct kmrig_runtime *rt, PDEVICE_NODE n, PDEVICE_NODE **Out)
{
    PIOP_PNP_STATE pnp = IopPnp(rt);
    pthread_mutex_lock(&pnp->Lock);
    ULONG cap = pnp->NodeCount + 1, count = 0;
    PDEVICE_NODE *v = malloc(cap * sizeof *v);
    if (v) {
        /* breadth-first from n, then reversed: every child comes before its parent */
        v[count++] = n;
        for (ULONG i = 0; i < count; i++)
            for (PLIST_ENTRY e = pnp->Nodes.Flink; e != &pnp->Nodes; e = e->Flink) {
                PDEVICE_NODE c = CONTAINING_RECORD(e, DEVICE_NODE, Link);
                if (c->Parent == v[i] && count < cap)
                    v[count++] = c;
            }
        for (ULONG i = 0; i < count / 2; i++) {
            PDEVICE_NODE t = v[i];
            v[i] = v[count - 1 - i];
            v[count - 1 - i] = t;
        }
    }
    pthread_mutex_unlock(&pnp->Lock);
    *Out = v;
    return v ? count : 0;
}

static BOOLEAN IopPnpHasStack(PDEVICE_NODE n)
{
    return n->State == DevnodeDriversAdded || n->State == DevnodeStarted ||
           n->State == DevnodeStopped || n->State == DevnodeSurpriseRemoved;
}

/* File objects open on the devices of the node's stack: the sum of their ReferenceCount, which
 * the I/O manager raises at IRP_MJ_CREATE and lowers after IRP_MJ_CLOSE. */
static LONG IopPnpOpenFiles(struct kmrig_runtime *rt, PDEVICE_NODE n)
{
    PIOP_STATE io = IopState(rt);
    LONG count = 0;
    KIRQL irql;
    KeAcquireSpinLock(&io->DatabaseLock, &irql);
    for (PDEVICE_OBJECT d = n->Pdo; d; d = d->AttachedDevice)
        count += __atomic_load_n(&d->ReferenceCount, __ATOMIC_ACQUIRE);
    KeReleaseSpinLock(&io->DatabaseLock, irql);
    return count;
}

static VOID IopPnpSetRemovePending(struct kmrig_runtime *rt, PDEVICE_NODE n, BOOLEAN Pending)
{
    pthread_mutex_lock(&IopPnp(rt)->Lock);
    n->RemovePending = Pending;
    pthread_mutex_unlock(&IopPnp(rt)->Lock);
}

/* REMOVE_DEVICE to one node whose removal was agreed (query-removed or surprise-removed), or
 * that has no started stack. Then the node is Removed; if its device is gone too, forgotten. */
static VOID IopPnpFinishRemove(struct kmrig_runtime *rt, PDEVICE_NODE n)
{
    IopPnpDisableInterfaces(rt, n);
    if (n->State != DevnodeRemoved && !n->Deleted) {
        LONG open = IopPnp(rt)->RemovingAll ? IopPnpOpenFiles(rt, n) : 0;
        if (open) {
            char nm[128];
            UNICODE_STRING u;
            RtlInitUnicodeString(&u, n->InstancePath);
            KmLog(rt, KMRIG_LOG_WARN,
                  "pnp: %s: IRP_MN_REMOVE_DEVICE at shutdown with %ld file object(s) still "
                  "open on its stack (handles leaked)",
                  IopNarrow(&u, nm, sizeof nm), (long)open);
        }
        NTSTATUS s = IopPnpSendSimple(rt, n, IRP_MN_REMOVE_DEVICE);
        if (!NT_SUCCESS(s) && VfOn(rt, KMRIG_VERIFY_IO))
            KeBugCheckEx(DRIVER_VERIFIER_IOMANAGER_VIOLATION, IOP_VF_PNP_REMOVE_FAILED,
                         (ULONG_PTR)n->Pdo, (ULONG_PTR)s, IRP_MN_REMOVE_DEVICE);
        if (!n->Deleted)
            IopPnpCheckTornDown(rt, n);
    }
    /* a surprise-removed device's holders heard REMOVE_COMPLETE after SURPRISE_REMOVAL */
    BOOLEAN notify = n->State != DevnodeEnumerated && n->State != DevnodeSurpriseRemoved;
    n->QueryRemoved = FALSE;
    /* the state under the lists lock too: kmrig_rig_device_info reads it while a deferred
     * REMOVE runs on the PnP worker */
    pthread_mutex_lock(&IopPnp(rt)->Lock);
    n->State = DevnodeRemoved;
    PCM_RESOURCE_LIST raw = n->Raw, tr = n->Translated;
    n->Raw = n->Translated = NULL;
    pthread_mutex_unlock(&IopPnp(rt)->Lock);
    free(raw);
    free(tr);
    if (notify)
        IopPnpNotifyTarget(rt, n, &GUID_TARGET_DEVICE_REMOVE_COMPLETE);
}

/* After a deferred REMOVE_DEVICE: what the removal's initiator asked for then. */
static VOID IopPnpAfterRemove(struct kmrig_runtime *rt, PDEVICE_NODE n)
{
    if (n->Deleted || n->DropWhenRemoved) {
        IopPnpDropNode(rt, n); /* its PDO is gone, or its bus driver deletes it */
        return;
    }
    if (n->HasFinalState) {
        pthread_mutex_lock(&IopPnp(rt)->Lock);
        n->State = n->FinalState;
        n->Status = n->FinalStatus;
        pthread_mutex_unlock(&IopPnp(rt)->Lock);
        n->HasFinalState = FALSE;
    }
}

VOID IopPnpCompletePendingRemoves(struct kmrig_runtime *rt, BOOLEAN Force)
{
    PIOP_PNP_STATE pnp = IopPnp(rt);
    for (;;) {
        /* the waiting nodes none of whose children waits */
        pthread_mutex_lock(&pnp->Lock);
        PDEVICE_NODE *v = malloc((pnp->NodeCount + 1) * sizeof *v);
        ULONG count = 0;
        for (PLIST_ENTRY e = pnp->Nodes.Flink; v && e != &pnp->Nodes; e = e->Flink) {
            PDEVICE_NODE n = CONTAINING_RECORD(e, DEVICE_NODE, Link);
            if (!n->RemovePending)
                continue;
            BOOLEAN childWaits = FALSE;
            for (PLIST_ENTRY f = pnp->Nodes.Flink; f != &pnp->Nodes && !childWaits; f = f->Flink) {
                PDEVICE_NODE c = CONTAINING_RECORD(f, DEVICE_NODE, Link);
                childWaits = c->Parent == n && c->RemovePending;
            }
            if (!childWaits)
                v[count++] = n;
        }
        pthread_mutex_unlock(&pnp->Lock);
        if (!v) {
            KmLog(rt, KMRIG_LOG_ERROR, "pnp: no memory for the deferred removals");
            return;
        }
        /* only a surprise-removed stack waits for its files; the others go with it */
        PDEVICE_NODE ready = NULL;
        for (ULONG i = 0; i < count && !ready; i++)
            if (Force || v[i]->State != DevnodeSurpriseRemoved || !IopPnpOpenFiles(rt, v[i]))
                ready = v[i];
        free(v);
        if (!ready)
            return;
        IopPnpSetRemovePending(rt, ready, FALSE);
        if (ready->State != DevnodeRemoved)
            IopPnpFinishRemove(rt, ready);
        IopPnpAfterRemove(rt, ready);
    }
}

/* The PnP worker's half of IopPnpDeviceDereferenced. */
static VOID IopPnpDeferredRemoveWork(struct kmrig_runtime *rt, PIOP_PNP_WORK w)
{
    IopPnpAcquireEngine(rt);
    IopPnpCompletePendingRemoves(rt, FALSE);
    IopPnpReleaseEngine(rt);
}

VOID IopPnpDeviceDereferenced(PDEVICE_OBJECT DeviceObject)
{
    struct kmrig_runtime *rt = IopRuntime();
    PIOP_PNP_STATE pnp = rt && IopState(rt) ? IopPnp(rt) : NULL;
    if (!pnp)
        return;
    PDEVICE_OBJECT base = IoGetDeviceAttachmentBaseRef(DeviceObject);
    pthread_mutex_lock(&pnp->Lock);
    PDEVICE_NODE n = base->DeviceObjectExtension->DeviceNode;
    BOOLEAN waits = n && n->RemovePending;
    pthread_mutex_unlock(&pnp->Lock);
    /* never from here: this is the thread that closed the file, maybe inside a driver */
    if (waits && !IopPnpQueue(rt, IopPnpDeferredRemoveWork, base, 0, NULL))
        KmLog(rt, KMRIG_LOG_ERROR,
              "pnp: no memory to queue a deferred IRP_MN_REMOVE_DEVICE; it goes at the next "
              "removal or at shutdown");
    ObfDereferenceObject(base);
}

NTSTATUS IopPnpRemoveDevice(struct kmrig_runtime *rt, PDEVICE_NODE Node, BOOLEAN Surprise)
{
    if (Node->State == DevnodeRemoved || Node->RemovePending)
        return STATUS_INVALID_DEVICE_STATE;
    PDEVICE_NODE *v;
    ULONG count = IopPnpSubtree(rt, Node, &v);
    if (!count)
        return STATUS_INSUFFICIENT_RESOURCES;
    if (!Surprise) {
        for (ULONG i = 0; i < count; i++)
            if (v[i]->RemovePending) {
                /* NT's PNP_VetoOutstandingOpen: a surprise-removed descendant has files open */
                char nm[128], cn[128];
                UNICODE_STRING u, c;
                RtlInitUnicodeString(&u, Node->InstancePath);
                RtlInitUnicodeString(&c, v[i]->InstancePath);
                KmLog(rt, KMRIG_LOG_INFO,
                      "pnp: removal of %s vetoed: %s was surprise-removed and has files open",
                      IopNarrow(&u, nm, sizeof nm), IopNarrow(&c, cn, sizeof cn));
                free(v);
                return STATUS_PLUGPLAY_QUERY_VETOED;
            }
        ULONG told = 0;
        NTSTATUS s = STATUS_SUCCESS;
        for (; told < count; told++) {
            if (v[told]->State == DevnodeRemoved)
                continue;
            s = IopPnpNotifyTarget(rt, v[told], &GUID_TARGET_DEVICE_QUERY_REMOVE);
            if (!NT_SUCCESS(s))
                break;
        }
        ULONG queried = 0;
        if (NT_SUCCESS(s))
            for (; queried < count; queried++) {
                PDEVICE_NODE n = v[queried];
                if (n->State == DevnodeRemoved || !IopPnpHasStack(n) ||
                    n->State == DevnodeSurpriseRemoved)
                    continue;
                s = IopPnpSendSimple(rt, n, IRP_MN_QUERY_REMOVE_DEVICE);
                n->QueryRemoved = TRUE; /* the cancel goes to the one that failed too */
                if (!NT_SUCCESS(s)) {
                    queried++;
                    break;
                }
            }
        if (!NT_SUCCESS(s)) {
            for (ULONG i = 0; i < queried; i++)
                if (v[i]->QueryRemoved) {
                    IopPnpSendSimple(rt, v[i], IRP_MN_CANCEL_REMOVE_DEVICE);
                    v[i]->QueryRemoved = FALSE;
                }
            for (ULONG i = 0; i < told && i < count; i++)
                if (v[i]->State != DevnodeRemoved)
                    IopPnpNotifyTarget(rt, v[i], &GUID_TARGET_DEVICE_REMOVE_CANCELLED);
            char nm[128];
            UNICODE_STRING u;
            RtlInitUnicodeString(&u, Node->InstancePath);
            KmLog(rt, KMRIG_LOG_INFO, "pnp: removal of %s vetoed (0x%08X)",
                  IopNarrow(&u, nm, sizeof nm), (unsigned)s);
            free(v);
            return STATUS_PLUGPLAY_QUERY_VETOED;
        }
        for (ULONG i = 0; i < count; i++)
            if (v[i]->State != DevnodeRemoved)
                IopPnpFinishRemove(rt, v[i]);
        /* nodes whose PDO is gone are forgotten (children first) */
        for (ULONG i = 0; i < count; i++)
            if (v[i]->Deleted)
                IopPnpDropNode(rt, v[i]);
        free(v);
        return STATUS_SUCCESS;
    }
    /* Surprise: SURPRISE_REMOVAL to each started stack, children first, then (as NT, once the
     * IRP completed) REMOVE_COMPLETE to the target-device notifications, whose holders are to
     * close their files. Every node of the subtree then waits for its REMOVE_DEVICE: a
     * surprise-removed one until no file is open on its stack, a parent until its children had
     * theirs. */
    for (ULONG i = 0; i < count; i++) {
        PDEVICE_NODE n = v[i];
        if (n->State == DevnodeStarted || n->State == DevnodeStopped) {
            IopPnpDisableInterfaces(rt, n);
            NTSTATUS s = IopPnpSendSimple(rt, n, IRP_MN_SURPRISE_REMOVAL);
            if (!NT_SUCCESS(s) && VfOn(rt, KMRIG_VERIFY_IO))
                KeBugCheckEx(DRIVER_VERIFIER_IOMANAGER_VIOLATION, IOP_VF_PNP_REMOVE_FAILED,
                             (ULONG_PTR)n->Pdo, (ULONG_PTR)s, IRP_MN_SURPRISE_REMOVAL);
            pthread_mutex_lock(&IopPnp(rt)->Lock);
            n->State = DevnodeSurpriseRemoved;
            pthread_mutex_unlock(&IopPnp(rt)->Lock);
            n->QueryRemoved = TRUE; /* removal agreed */
            IopPnpNotifyTarget(rt, n, &GUID_TARGET_DEVICE_REMOVE_COMPLETE);
        }
    }
    for (ULONG i = 0; i < count; i++)
        if (v[i]->State != DevnodeRemoved)
            IopPnpSetRemovePending(rt, v[i], TRUE);
    free(v);
    IopPnpCompletePendingRemoves(rt, FALSE);
    return STATUS_SUCCESS;
}

VOID IopPnpMarkGone(struct kmrig_runtime *rt, PDEVICE_NODE Node)
{
    PDEVICE_NODE *v;
    ULONG count = IopPnpSubtree(rt, Node, &v);
    for (ULONG i = 0; i < count; i++)
        v[i]->Present = FALSE;
    free(v);
}

/* IRP_MN_QUERY_PNP_DEVICE_STATE and what NT does with the answer: a failed, removed or disabled
 * device is removed (surprise removal, as it may not answer any more); one whose requirements
 * changed is stopped (QUERY_STOP, STOP) and started again with new resources. */
VOID IopPnpQueryState(struct kmrig_runtime *rt, PDEVICE_NODE n)
{
    ULONG_PTR info = 0;
    NTSTATUS s = IopPnpSendIrp(rt, n, IRP_MN_QUERY_PNP_DEVICE_STATE, NULL, &info);
    if (!NT_SUCCESS(s))
        return;
    n->DeviceState = (PNP_DEVICE_STATE)info;
    if (info & (PNP_DEVICE_FAILED | PNP_DEVICE_REMOVED | PNP_DEVICE_DISABLED)) {
        if (info & PNP_DEVICE_REMOVED)
            IopPnpMarkGone(rt, n);
        if (n->Present) {
            /* what it is once its REMOVE_DEVICE went (which may wait for its files) */
            n->HasFinalState = TRUE;
            n->FinalState = (info & PNP_DEVICE_DISABLED) && !(info & PNP_DEVICE_FAILED)
                                ? DevnodeRemoved
                                : DevnodeFailed;
            n->FinalStatus = (info & PNP_DEVICE_FAILED) ? STATUS_UNSUCCESSFUL : STATUS_SUCCESS;
        }
        IopPnpRemoveDevice(rt, n, TRUE); /* n may be forgotten from here */
        return;
    }
    if (info & PNP_DEVICE_RESOURCE_REQUIREMENTS_CHANGED) {
        s = IopPnpSendSimple(rt, n, IRP_MN_QUERY_STOP_DEVICE);
        if (!NT_SUCCESS(s)) {
            IopPnpSendSimple(rt, n, IRP_MN_CANCEL_STOP_DEVICE);
            return;
        }
        IopPnpSendSimple(rt, n, IRP_MN_STOP_DEVICE);
        n->State = DevnodeStopped;
        pthread_mutex_lock(&IopPnp(rt)->Lock);
        PCM_RESOURCE_LIST raw = n->Raw, tr = n->Translated;
        n->Raw = n->Translated = NULL;
        pthread_mutex_unlock(&IopPnp(rt)->Lock);
        free(raw);
        free(tr);
        info = 0;
        if (NT_SUCCESS(IopPnpSendIrp(rt, n, IRP_MN_QUERY_RESOURCE_REQUIREMENTS, NULL, &info)) &&
            info) {
            PIO_RESOURCE_REQUIREMENTS_LIST r = (PIO_RESOURCE_REQUIREMENTS_LIST)info;
            free(n->Requirements);
            n->Requirements = malloc(r->ListSize);
            if (n->Requirements)
                memcpy(n->Requirements, r, r->ListSize);
            ExFreePool(r);
        }
        IopPnpStartNode(rt, n);
    }
}

/* IoRequestDeviceEject: an orderly removal, then IRP_MN_EJECT to the PDO; an ejected device is
 * gone, so its PDO gets its final REMOVE. */
NTSTATUS IopPnpEject(struct kmrig_runtime *rt, PDEVICE_NODE n)
{
    NTSTATUS s = IopPnpRemoveDevice(rt, n, FALSE);
    if (s != STATUS_SUCCESS)
        return s;
    s = IopPnpSendSimple(rt, n, IRP_MN_EJECT);
    if (!NT_SUCCESS(s))
        return s;
    IopPnpMarkGone(rt, n);
    if (n->RootEnumerated) {
        IopPnpSendSimple(rt, n, IRP_MN_REMOVE_DEVICE);
        if (n->Deleted)
            IopPnpDropNode(rt, n);
    }
    return STATUS_SUCCESS;
}

/* ---- bus relations ---- */

VOID IopPnpReenumerate(struct kmrig_runtime *rt, PDEVICE_NODE n)
{
    PIOP_PNP_STATE pnp = IopPnp(rt);
    if (n->State != DevnodeStarted)
        return;
    IO_STACK_LOCATION p = {0};
    p.Parameters.QueryDeviceRelations.Type = BusRelations;
    ULONG_PTR info = 0;
    NTSTATUS s = IopPnpSendIrp(rt, n, IRP_MN_QUERY_DEVICE_RELATIONS, &p, &info);
    if (!NT_SUCCESS(s) || (!info && s == STATUS_NOT_SUPPORTED))
        return; /* not a bus */
    PDEVICE_RELATIONS rel = (PDEVICE_RELATIONS)info;
    ULONG count = rel ? rel->Count : 0;
    PDEVICE_NODE *fresh = calloc(count + 1, sizeof *fresh);
    ULONG nfresh = 0;
    /* Mark the known children absent, then present again as the list names them. */
    pthread_mutex_lock(&pnp->Lock);
    for (PLIST_ENTRY e = pnp->Nodes.Flink; e != &pnp->Nodes; e = e->Flink) {
        PDEVICE_NODE c = CONTAINING_RECORD(e, DEVICE_NODE, Link);
        if (c->Parent == n)
            c->Present = FALSE;
    }
    pthread_mutex_unlock(&pnp->Lock);
    for (ULONG i = 0; i < count; i++) {
        PDEVICE_OBJECT pdo = rel->Objects[i];
        if (!ObpIsObject(pdo) || OBJECT_TO_OBJECT_HEADER(pdo)->Type != &ObpDeviceType) {
            if (VfOn(rt, KMRIG_VERIFY_IO))
                KeBugCheckEx(DRIVER_VERIFIER_IOMANAGER_VIOLATION, IOP_VF_PNP_BAD_RELATIONS,
                             (ULONG_PTR)n->Pdo, (ULONG_PTR)pdo, 0);
            continue;
        }
        PDEVICE_NODE c = pdo->DeviceObjectExtension->DeviceNode;
        if (c) {
            c->Present = TRUE;
        } else if (fresh) {
            c = IopPnpNewNode(rt, n, pdo);
            if (c)
                fresh[nfresh++] = c;
        }
        ObfDereferenceObject(pdo); /* the reference the bus driver gave with the list */
    }
    if (rel)
        ExFreePool(rel);
    /* Vanished children: surprise-removed (started ones) and removed. */
    for (;;) {
        PDEVICE_NODE gone = NULL;
        pthread_mutex_lock(&pnp->Lock);
        for (PLIST_ENTRY e = pnp->Nodes.Flink; e != &pnp->Nodes; e = e->Flink) {
            PDEVICE_NODE c = CONTAINING_RECORD(e, DEVICE_NODE, Link);
            if (c->Parent == n && !c->Present && !c->Deleted && c->State != DevnodeRemoved &&
                !c->RemovePending) {
                gone = c;
                break;
            }
        }
        if (!gone) {
            /* removed earlier and now vanished: the bus driver deletes the PDO on its own */
            for (PLIST_ENTRY e = pnp->Nodes.Flink; e != &pnp->Nodes; e = e->Flink) {
                PDEVICE_NODE c = CONTAINING_RECORD(e, DEVICE_NODE, Link);
                if (c->Parent == n && !c->Present && c->State == DevnodeRemoved) {
                    gone = c;
                    break;
                }
            }
            pthread_mutex_unlock(&pnp->Lock);
            if (!gone)
                break;
            /* an already-removed child that vanished gets REMOVE again so its bus driver can
             * delete the PDO (NT sends the final remove when the device is reported missing) */
            IopPnpSendSimple(rt, gone, IRP_MN_REMOVE_DEVICE);
            IopPnpDropNode(rt, gone);
            continue;
        }
        pthread_mutex_unlock(&pnp->Lock);
        IopPnpMarkGone(rt, gone);
        gone->DropWhenRemoved = TRUE;       /* its bus driver deletes the PDO at its REMOVE */
        IopPnpRemoveDevice(rt, gone, TRUE); /* now, or when its last file closes */
    }
    for (ULONG i = 0; i < nfresh; i++)
        IopPnpBringUp(rt, fresh[i]);
    free(fresh);
}

/* ---- the root bus ---- */

NTSTATUS IopPnpStartRoot(struct kmrig_runtime *rt, const struct kmrig_device_desc *Descs,
                         size_t Count)
{
    PIOP_PNP_STATE pnp = IopPnp(rt);
    IopPnpAcquireEngine(rt);
    if (pnp->Started) {
        IopPnpReleaseEngine(rt);
        return STATUS_INVALID_DEVICE_STATE;
    }
    pnp->Started = TRUE;
    PDEVICE_NODE *nodes = calloc(Count + 1, sizeof *nodes);
    size_t made = 0;
    NTSTATUS result = nodes ? STATUS_SUCCESS : STATUS_INSUFFICIENT_RESOURCES;
    for (size_t i = 0; nodes && i < Count; i++) {
        const struct kmrig_device_desc *d = &Descs[i];
        if (d->core)
            continue;
        if (!d->hardware_ids[0] || !d->hardware_ids[0][0] ||
            d->resource_count > KMRIG_DEVICE_MAX_RESOURCES) {
            KmLog(rt, KMRIG_LOG_ERROR,
                  "pnp: description %zu has no hardware ID or too many "
                  "resources; skipped",
                  i);
            result = STATUS_INVALID_PARAMETER;
            continue;
        }
        /* device ID: the hardware ID if it names its enumerator, else ROOT\<id> */
        char dev[160], inst[32];
        const char *hw = d->hardware_ids[0];
        snprintf(dev, sizeof dev, "%s%s", strchr(hw, '\\') ? "" : "ROOT\\", hw);
        if (d->instance) {
            snprintf(inst, sizeof inst, "%s", d->instance);
        } else {
            unsigned same = 0;
            for (size_t j = 0; j < i; j++)
                if (!Descs[j].core && !Descs[j].instance && Descs[j].hardware_ids[0] &&
                    !strcasecmp(Descs[j].hardware_ids[0], hw))
                    same++;
            snprintf(inst, sizeof inst, "%u", same);
        }
        PWCHAR wdev = IopPnpDupAscii(dev), winst = IopPnpDupAscii(inst);
        PDEVICE_NODE n = NULL;
        NTSTATUS s = wdev && winst ? IopPnpCreateRootNode(rt, d, wdev, winst, &n)
                                   : STATUS_INSUFFICIENT_RESOURCES;
        free(wdev);
        free(winst);
        if (!NT_SUCCESS(s)) {
            result = s;
            continue;
        }
        nodes[made++] = n;
    }
    for (size_t i = 0; i < made; i++)
        IopPnpBringUp(rt, nodes[i]);
    free(nodes);
    IopPnpReleaseEngine(rt);
    return result;
}

VOID IopPnpSurpriseRemoveRoot(struct kmrig_runtime *rt)
{
    PIOP_PNP_STATE pnp = IopPnp(rt);
    IopPnpAcquireEngine(rt);
    while (!pnp->ShuttingDown) {
        PDEVICE_NODE gone = NULL;
        pthread_mutex_lock(&pnp->Lock);
        for (PLIST_ENTRY e = pnp->Nodes.Flink; e != &pnp->Nodes; e = e->Flink) {
            PDEVICE_NODE c = CONTAINING_RECORD(e, DEVICE_NODE, Link);
            if (!c->Parent && c->RootEnumerated && c->Present && !c->Deleted &&
                c->State != DevnodeRemoved && !c->RemovePending) {
                gone = c;
                break;
            }
        }
        pthread_mutex_unlock(&pnp->Lock);
        if (!gone)
            break;
        char nm[128];
        UNICODE_STRING u;
        RtlInitUnicodeString(&u, gone->InstancePath);
        KmLog(rt, KMRIG_LOG_WARN, "pnp: %s: surprise-removed: the target's link dropped",
              IopNarrow(&u, nm, sizeof nm));
        IopPnpMarkGone(rt, gone); /* Present = FALSE: not chosen again */
        IopPnpRemoveDevice(rt, gone, TRUE);
    }
    IopPnpReleaseEngine(rt);
}

NTSTATUS IopPnpRemoveAll(struct kmrig_runtime *rt)
{
    PIOP_PNP_STATE pnp = IopPnp(rt);
    NTSTATUS result = STATUS_SUCCESS;
    IopPnpSettle(rt);
    IopPnpAcquireEngine(rt);
    /* Stacks that wait for their files get their REMOVE now; IopPnpFinishRemove reports the
     * files still open on any stack removed from here on (the handles leaked). */
    pnp->RemovingAll = TRUE;
    IopPnpCompletePendingRemoves(rt, TRUE);
    for (;;) {
        /* the last top-level node not yet removed */
        PDEVICE_NODE n = NULL;
        pthread_mutex_lock(&pnp->Lock);
        for (PLIST_ENTRY e = pnp->Nodes.Blink; e != &pnp->Nodes; e = e->Blink) {
            PDEVICE_NODE c = CONTAINING_RECORD(e, DEVICE_NODE, Link);
            if (!c->Parent && c->State != DevnodeRemoved) {
                n = c;
                break;
            }
        }
        pthread_mutex_unlock(&pnp->Lock);
        if (!n)
            break;
        NTSTATUS s = IopPnpRemoveDevice(rt, n, FALSE);
        if (s == STATUS_PLUGPLAY_QUERY_VETOED)
            s = IopPnpRemoveDevice(rt, n, TRUE);
        if (!NT_SUCCESS(s) && NT_SUCCESS(result))
            result = s;
        if (!NT_SUCCESS(s))
            n->State = DevnodeRemoved;          /* do not loop on it */
        IopPnpCompletePendingRemoves(rt, TRUE); /* a surprise-removed stack with files open */
    }
    /* What is left: removed nodes. Root PDOs are the PnP manager's to delete; bus-driver PDOs
     * went with their parents' stacks. */
    for (;;) {
        pthread_mutex_lock(&pnp->Lock);
        PDEVICE_NODE n = IsListEmpty(&pnp->Nodes)
                             ? NULL
                             : CONTAINING_RECORD(pnp->Nodes.Blink, DEVICE_NODE, Link);
        pthread_mutex_unlock(&pnp->Lock);
        if (!n)
            break;
        if (n->RootEnumerated && !n->Deleted) {
            n->Deleted = TRUE;
            IoDeleteDevice(n->Pdo);
        }
        IopPnpDropNode(rt, n);
    }
    pnp->Started = FALSE;
    pnp->RemovingAll = FALSE;
    IopPnpReleaseEngine(rt);
    return result;
}

VOID IopPnpUnloadDrivers(struct kmrig_runtime *rt)
{
    PIOP_PNP_STATE pnp = IopPnp(rt);
    for (;;) {
        pthread_mutex_lock(&pnp->Lock);
        PIOP_PNP_SERVICE sv =
            IsListEmpty(&pnp->Services)
                ? NULL
                : CONTAINING_RECORD(RemoveTailList(&pnp->Services), IOP_PNP_SERVICE, Link);
        pthread_mutex_unlock(&pnp->Lock);
        if (!sv)
            break;
        if (sv->Driver) {
            char nm[96];
            if (!NT_SUCCESS(IopUnloadDriver(sv->Driver)))
                KmLog(rt, KMRIG_LOG_WARN, "pnp: %s has no unload routine; left loaded",
                      IopNarrow(&sv->Driver->DriverName, nm, sizeof nm));
        }
        free(sv);
    }
}

/* ---- lifecycle ---- */

NTSTATUS IopPnpInitialize(struct kmrig_runtime *rt)
{
    PIOP_PNP_STATE pnp = calloc(1, sizeof *pnp);
    if (!pnp)
        return STATUS_INSUFFICIENT_RESOURCES;
    pthread_mutex_init(&pnp->Lock, NULL);
    KeInitializeEvent(&pnp->EngineLock, SynchronizationEvent, TRUE);
    InitializeListHead(&pnp->Nodes);
    InitializeListHead(&pnp->Registrations);
    InitializeListHead(&pnp->Services);
    InitializeListHead(&pnp->Interfaces);
    InitializeListHead(&pnp->Notifications);
    InitializeListHead(&pnp->Claims);
    InitializeListHead(&pnp->Sent);
    InitializeListHead(&pnp->Work);
    ExInitializeWorkItem(&pnp->WorkItem, IopPnpWorker, rt);
    IopState(rt)->Pnp = pnp;
    NTSTATUS s = IopLoadDriver(rt, L"PnpManager", IopRootDriverEntry, NULL, &pnp->RootDriver);
    if (!NT_SUCCESS(s)) {
        pthread_mutex_destroy(&pnp->Lock);
        free(pnp);
        IopState(rt)->Pnp = NULL;
    }
    return s;
}

VOID IopPnpShutdown(struct kmrig_runtime *rt)
{
    PIOP_PNP_STATE pnp = IopPnp(rt);
    if (!pnp)
        return;
    pnp->ShuttingDown = TRUE;
    IopPnpRemoveAll(rt);
    IopPnpSettle(rt);
    IopPnpUnloadDrivers(rt);
    IopPnpFreeNotifications(rt);
    IopPnpFreeClaims(rt, NULL);
    while (!IsListEmpty(&pnp->Registrations))
        free(CONTAINING_RECORD(RemoveHeadList(&pnp->Registrations), IOP_PNP_REGISTRATION, Link));
    /* the root driver goes with the other drivers in IopShutdown */
}

VOID IopPnpFreeState(struct kmrig_runtime *rt)
{
    PIOP_PNP_STATE pnp = IopPnp(rt);
    if (!pnp)
        return;
    /* A settle returns when the last work item has run, a moment before the worker routine
     * looks at the queue once more and leaves: wait for that before the state goes. */
    for (;;) {
        pthread_mutex_lock(&pnp->Lock);
        BOOLEAN busy = pnp->WorkerQueued;
        pthread_mutex_unlock(&pnp->Lock);
        if (!busy)
            break;
        LARGE_INTEGER d;
        d.QuadPart = -10; /* 1 us */
        KeDelayExecutionThread(KernelMode, FALSE, &d);
    }
    pthread_mutex_destroy(&pnp->Lock);
    free(pnp);
    IopState(rt)->Pnp = NULL;
}

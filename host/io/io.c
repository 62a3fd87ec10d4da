/*
 * I/O manager (Io): component lifecycle, driver objects (load, unload, reinitialization,
 * driver object extensions), shutdown notification and the small informational routines.
 *
 * Shutdown (IopShutdown, first of the components to go): IRP_MJ_SHUTDOWN to the registered
 * devices, unload of the drivers still loaded (last loaded first), the IRP leak check, then the
 * object name space.
 */
#include "io.h"
#include "pnp.h"

#include <stdlib.h>
#include <string.h>

typedef struct _IOP_CLIENT_EXTENSION {
    LIST_ENTRY Link;
    PVOID ClientIdentificationAddress;
    QUAD Data; /* the extension, 16-byte aligned in its allocation */
} IOP_CLIENT_EXTENSION, *PIOP_CLIENT_EXTENSION;

typedef struct _IOP_REINIT {
    LIST_ENTRY Link;
    PDRIVER_REINITIALIZE Routine;
    PVOID Context;
} IOP_REINIT, *PIOP_REINIT;

typedef struct _IOP_SHUTDOWN_ENTRY {
    LIST_ENTRY Link;
    PDEVICE_OBJECT DeviceObject;
} IOP_SHUTDOWN_ENTRY, *PIOP_SHUTDOWN_ENTRY;

static VOID IopTearDownDevices(struct kmrig_runtime *rt, PDRIVER_OBJECT d);

static pthread_once_t IopTypesOnce = PTHREAD_ONCE_INIT;
static void IopInitializeTypes(void)
{
    /* The Io types own what their bodies point to; Ob calls these when the last reference goes. */
    ObpDeviceType.DeleteProcedure = IopDeleteDeviceObject;
    ObpDriverType.DeleteProcedure = IopDeleteDriverObject;
    ObpFileType.DeleteProcedure = IopDeleteFileObject;
    ObpFileType.CloseProcedure = IopCloseFileHandle;
}

NTSTATUS IopInitialize(struct kmrig_runtime *rt)
{
    pthread_once(&IopTypesOnce, IopInitializeTypes);
    PIOP_STATE io = calloc(1, sizeof *io);
    if (!io)
        return STATUS_INSUFFICIENT_RESOURCES;
    KeInitializeSpinLock(&io->CancelLock);
    KeInitializeSpinLock(&io->DatabaseLock);
    KeInitializeSpinLock(&io->TimerLock);
    pthread_mutex_init(&io->Lock, NULL);
    InitializeListHead(&io->Drivers);
    InitializeListHead(&io->Shutdown);
    InitializeListHead(&io->LastChanceShutdown);
    InitializeListHead(&io->Timers);
    InitializeListHead(&io->ErrorLog);
    InitializeListHead(&io->ThreadStates);
    rt->Io = io;
    IopInitializeTimers(rt);
    NTSTATUS s = ObpInitializeNamespace(rt);
    if (NT_SUCCESS(s))
        s = IopInitializeIrpVerifier(rt);
    if (NT_SUCCESS(s)) {
        s = IopInitializeHostFileSystem(rt); /* \Device\KmrigHostVolume, \??\C:, \SystemRoot */
        if (NT_SUCCESS(s))
            s = IopPnpInitialize(rt);
        if (!NT_SUCCESS(s))
            IopShutdownIrpVerifier(rt);
    }
    if (!NT_SUCCESS(s)) {
        ObpShutdownNamespace(rt);
        pthread_mutex_destroy(&io->Lock);
        free(io);
        rt->Io = NULL;
    }
    return s;
}

static VOID IopNotifyShutdown(struct kmrig_runtime *rt, PLIST_ENTRY List)
{
    PIOP_STATE io = IopState(rt);
    for (;;) {
        pthread_mutex_lock(&io->Lock);
        PLIST_ENTRY e = IsListEmpty(List) ? NULL : RemoveHeadList(List);
        pthread_mutex_unlock(&io->Lock);
        if (!e)
            return;
        PIOP_SHUTDOWN_ENTRY s = CONTAINING_RECORD(e, IOP_SHUTDOWN_ENTRY, Link);
        PDEVICE_OBJECT top = IoGetAttachedDeviceReference(s->DeviceObject);
        IopSendSimpleIrp(top, NULL, IRP_MJ_SHUTDOWN);
        ObfDereferenceObject(top);
        s->DeviceObject->Flags &= ~DO_SHUTDOWN_REGISTERED;
        ObfDereferenceObject(s->DeviceObject);
        free(s);
    }
}

VOID IopShutdown(struct kmrig_runtime *rt)
{
    PIOP_STATE io = IopState(rt);
    IopWaitForHardErrors(rt);
    IopNotifyShutdown(rt, &io->Shutdown);
    IopNotifyShutdown(rt, &io->LastChanceShutdown);
    IopPnpShutdown(rt); /* remove every device, unload its drivers */
    for (;;) {
        pthread_mutex_lock(&io->Lock);
        PDRIVER_OBJECT d = NULL;
        if (!IsListEmpty(&io->Drivers))
            d = (PDRIVER_OBJECT)CONTAINING_RECORD(io->Drivers.Blink, IOP_DRIVER_PRIVATE,
                                                  DriverLink) -
                1;
        pthread_mutex_unlock(&io->Lock);
        if (!d)
            break;
        char name[96];
        if (!d->DriverUnload)
            KmLog(rt, KMRIG_LOG_WARN, "io: %s has no unload routine; dropped at shutdown",
                  IopNarrow(&d->DriverName, name, sizeof name));
        ObfReferenceObject(d);
        NTSTATUS s = IopUnloadDriver(d);
        if (!NT_SUCCESS(s)) {
            /* Not unloadable: take it off the list and drop it anyway. */
            pthread_mutex_lock(&io->Lock);
            if (IopDriverPrivate(d)->Loaded) {
                RemoveEntryList(&IopDriverPrivate(d)->DriverLink);
                IopDriverPrivate(d)->Loaded = FALSE;
            }
            pthread_mutex_unlock(&io->Lock);
            ObpMakeTemporaryObject(d);
            ObfDereferenceObject(d); /* the load reference */
        }
        IopTearDownDevices(rt, d);
        ObfDereferenceObject(d);
    }
    IopPnpFreeState(rt);
    IopShutdownTimers(rt);
    IopShutdownIrpVerifier(rt); /* bugchecks on IRPs still allocated */
    ObpShutdownNamespace(rt);
    IopShutdownErrorLog(rt);
    pthread_mutex_destroy(&io->Lock);
    free(io);
    rt->Io = NULL;
}

/* ---- driver objects ---- */

NTSTATUS NTAPI IopInvalidDeviceRequest(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    Irp->IoStatus.Status = STATUS_INVALID_DEVICE_REQUEST;
    Irp->IoStatus.Information = 0;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return STATUS_INVALID_DEVICE_REQUEST;
}

VOID IopDeleteDriverObject(PVOID Object)
{
    ObpDeleteObjectName(Object);
    PDRIVER_OBJECT d = Object;
    PIOP_DRIVER_PRIVATE p = IopDriverPrivate(d);
    while (!IsListEmpty(&p->ClientExtensions))
        free(CONTAINING_RECORD(RemoveHeadList(&p->ClientExtensions), IOP_CLIENT_EXTENSION, Link));
    while (!IsListEmpty(&p->Reinitialize))
        free(CONTAINING_RECORD(RemoveHeadList(&p->Reinitialize), IOP_REINIT, Link));
}

/* Deletes the devices a driver left behind (a failed DriverEntry, an unload that forgot some,
 * a driver with no unload routine at shutdown), so nothing of it outlives the runtime. */
static VOID IopTearDownDevices(struct kmrig_runtime *rt, PDRIVER_OBJECT d)
{
    char name[96];
    if (d->DeviceObject)
        KmLog(rt, KMRIG_LOG_WARN, "io: deleting the devices %s left",
              IopNarrow(&d->DriverName, name, sizeof name));
    while (d->DeviceObject) {
        PDEVICE_OBJECT x = d->DeviceObject;
        if (x->DeviceObjectExtension->AttachedTo)
            IoDetachDevice(x->DeviceObjectExtension->AttachedTo);
        IoDeleteDevice(x);
    }
}

static VOID IopRunReinitialization(PDRIVER_OBJECT d)
{
    PIOP_DRIVER_PRIVATE p = IopDriverPrivate(d);
    /* A routine may register itself again: it runs again, with Count one higher. */
    while (!IsListEmpty(&p->Reinitialize)) {
        PIOP_REINIT r = CONTAINING_RECORD(RemoveHeadList(&p->Reinitialize), IOP_REINIT, Link);
        p->Extension.Count++;
        r->Routine(d, r->Context, p->Extension.Count);
        free(r);
    }
}

NTSTATUS IopLoadDriver(struct kmrig_runtime *rt, PCWSTR ServiceName, PDRIVER_INITIALIZE DriverEntry,
                       PUNICODE_STRING RegistryPath, PDRIVER_OBJECT *DriverObject)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    PIOP_STATE io = IopState(rt);
    *DriverObject = NULL;
    size_t len = 0;
    while (ServiceName[len])
        len++;
    if (!len || len + 8 >= ARRAYSIZE(((PIOP_DRIVER_PRIVATE)0)->NameBuffer))
        return STATUS_OBJECT_NAME_INVALID;
    PDRIVER_OBJECT d =
        ObpCreateObject(rt, &ObpDriverType, sizeof(DRIVER_OBJECT) + sizeof(IOP_DRIVER_PRIVATE));
    if (!d)
        return STATUS_INSUFFICIENT_RESOURCES;
    PIOP_DRIVER_PRIVATE p = IopDriverPrivate(d);
    d->Type = IO_TYPE_DRIVER;
    d->Size = sizeof(DRIVER_OBJECT);
    d->DriverExtension = &p->Extension;
    d->DriverInit = DriverEntry;
    p->Extension.DriverObject = d;
    InitializeListHead(&p->ClientExtensions);
    InitializeListHead(&p->Reinitialize);
    for (int i = 0; i <= IRP_MJ_MAXIMUM_FUNCTION; i++)
        d->MajorFunction[i] = IopInvalidDeviceRequest;
    static const WCHAR prefix[] = L"\\Driver\\";
    memcpy(p->NameBuffer, prefix, sizeof prefix - sizeof(WCHAR));
    memcpy(p->NameBuffer + 8, ServiceName, len * sizeof(WCHAR));
    d->DriverName.Buffer = p->NameBuffer;
    d->DriverName.Length = (USHORT)((len + 8) * sizeof(WCHAR));
    d->DriverName.MaximumLength = sizeof p->NameBuffer;
    p->Extension.ServiceKeyName.Buffer = p->NameBuffer + 8;
    p->Extension.ServiceKeyName.Length = (USHORT)(len * sizeof(WCHAR));
    p->Extension.ServiceKeyName.MaximumLength = p->Extension.ServiceKeyName.Length;
    NTSTATUS s = ObpInsertObjectName(rt, d, &d->DriverName, NULL, OBJ_PERMANENT, NULL);
    if (!NT_SUCCESS(s)) {
        ObfDereferenceObject(d);
        return s;
    }
    UNICODE_STRING empty = {0, 0, NULL};
    s = DriverEntry(d, RegistryPath ? RegistryPath : &empty);
    if (!NT_SUCCESS(s)) {
        char name[96];
        KmLog(rt, KMRIG_LOG_INFO, "io: DriverEntry of %s failed 0x%08X",
              IopNarrow(&d->DriverName, name, sizeof name), (unsigned)s);
        IopTearDownDevices(rt, d);
        ObpMakeTemporaryObject(d);
        ObfDereferenceObject(d);
        return s;
    }
    for (PDEVICE_OBJECT dev = d->DeviceObject; dev; dev = dev->NextDevice)
        dev->Flags &= ~DO_DEVICE_INITIALIZING;
    IopRunReinitialization(d);
    pthread_mutex_lock(&io->Lock);
    InsertTailList(&io->Drivers, &p->DriverLink);
    p->Loaded = TRUE;
    pthread_mutex_unlock(&io->Lock);
    *DriverObject = d; /* its creation reference is the loaded state's, IopUnloadDriver's */
    return STATUS_SUCCESS;
}

NTSTATUS IopUnloadDriver(PDRIVER_OBJECT DriverObject)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    struct kmrig_runtime *rt = IopRuntime();
    PIOP_STATE io = IopState(rt);
    PIOP_DRIVER_PRIVATE p = IopDriverPrivate(DriverObject);
    if (!DriverObject->DriverUnload)
        return STATUS_INVALID_DEVICE_REQUEST;
    pthread_mutex_lock(&io->Lock);
    BOOLEAN loaded = p->Loaded;
    if (loaded) {
        RemoveEntryList(&p->DriverLink);
        p->Loaded = FALSE;
    }
    pthread_mutex_unlock(&io->Lock);
    if (!loaded)
        return STATUS_INVALID_DEVICE_REQUEST;
    DriverObject->Flags |= DRVO_UNLOAD_INVOKED;
    DriverObject->DriverUnload(DriverObject);
    IopTearDownDevices(rt, DriverObject); /* what DriverUnload did not delete */
    ObpMakeTemporaryObject(DriverObject);
    ObfDereferenceObject(DriverObject); /* the load reference */
    return STATUS_SUCCESS;
}

VOID NTAPI IoRegisterDriverReinitialization(PDRIVER_OBJECT DriverObject,
                                            PDRIVER_REINITIALIZE DriverReinitializationRoutine,
                                            PVOID Context)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    PIOP_REINIT r = malloc(sizeof *r);
    if (!r)
        return;
    r->Routine = DriverReinitializationRoutine;
    r->Context = Context;
    struct kmrig_runtime *rt = IopRuntime();
    pthread_mutex_lock(&IopState(rt)->Lock);
    InsertTailList(&IopDriverPrivate(DriverObject)->Reinitialize, &r->Link);
    BOOLEAN loaded = IopDriverPrivate(DriverObject)->Loaded;
    pthread_mutex_unlock(&IopState(rt)->Lock);
    /* Registered from DriverEntry or from a reinitialization routine: it runs in the pass that
     * follows DriverEntry. Registered later, it waits for a pass that never comes (as on NT once
     * the system has booted), which is logged. */
    if (loaded)
        KmLog(rt, KMRIG_LOG_WARN, "io: IoRegisterDriverReinitialization after initialization");
}

NTSTATUS NTAPI IoAllocateDriverObjectExtension(PDRIVER_OBJECT DriverObject,
                                               PVOID ClientIdentificationAddress,
                                               ULONG DriverObjectExtensionSize,
                                               PVOID *DriverObjectExtension)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    *DriverObjectExtension = NULL;
    struct kmrig_runtime *rt = IopRuntime();
    PIOP_DRIVER_PRIVATE p = IopDriverPrivate(DriverObject);
    PIOP_CLIENT_EXTENSION x =
        calloc(1, FIELD_OFFSET(IOP_CLIENT_EXTENSION, Data) + DriverObjectExtensionSize);
    if (!x)
        return STATUS_INSUFFICIENT_RESOURCES;
    x->ClientIdentificationAddress = ClientIdentificationAddress;
    pthread_mutex_lock(&IopState(rt)->Lock);
    for (PLIST_ENTRY e = p->ClientExtensions.Flink; e != &p->ClientExtensions; e = e->Flink)
        if (CONTAINING_RECORD(e, IOP_CLIENT_EXTENSION, Link)->ClientIdentificationAddress ==
            ClientIdentificationAddress) {
            pthread_mutex_unlock(&IopState(rt)->Lock);
            free(x);
            return STATUS_OBJECT_NAME_COLLISION;
        }
    InsertTailList(&p->ClientExtensions, &x->Link);
    pthread_mutex_unlock(&IopState(rt)->Lock);
    *DriverObjectExtension = &x->Data;
    return STATUS_SUCCESS;
}

PVOID NTAPI IoGetDriverObjectExtension(PDRIVER_OBJECT DriverObject,
                                       PVOID ClientIdentificationAddress)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    struct kmrig_runtime *rt = IopRuntime();
    PIOP_DRIVER_PRIVATE p = IopDriverPrivate(DriverObject);
    PVOID found = NULL;
    pthread_mutex_lock(&IopState(rt)->Lock);
    for (PLIST_ENTRY e = p->ClientExtensions.Flink; e != &p->ClientExtensions; e = e->Flink) {
        PIOP_CLIENT_EXTENSION x = CONTAINING_RECORD(e, IOP_CLIENT_EXTENSION, Link);
        if (x->ClientIdentificationAddress == ClientIdentificationAddress) {
            found = &x->Data;
            break;
        }
    }
    pthread_mutex_unlock(&IopState(rt)->Lock);
    return found;
}

/* ---- shutdown notification ---- */

static NTSTATUS IopRegisterShutdown(PDEVICE_OBJECT DeviceObject, BOOLEAN LastChance)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    struct kmrig_runtime *rt = IopRuntime();
    PIOP_SHUTDOWN_ENTRY s = malloc(sizeof *s);
    if (!s)
        return STATUS_INSUFFICIENT_RESOURCES;
    ObfReferenceObject(DeviceObject);
    s->DeviceObject = DeviceObject;
    pthread_mutex_lock(&IopState(rt)->Lock);
    InsertHeadList(LastChance ? &IopState(rt)->LastChanceShutdown : &IopState(rt)->Shutdown,
                   &s->Link);
    DeviceObject->Flags |= DO_SHUTDOWN_REGISTERED;
    pthread_mutex_unlock(&IopState(rt)->Lock);
    return STATUS_SUCCESS;
}

NTSTATUS NTAPI IoRegisterShutdownNotification(PDEVICE_OBJECT DeviceObject)
{
    return IopRegisterShutdown(DeviceObject, FALSE);
}

NTSTATUS NTAPI IoRegisterLastChanceShutdownNotification(PDEVICE_OBJECT DeviceObject)
{
    return IopRegisterShutdown(DeviceObject, TRUE);
}

VOID IopRemoveShutdownNotification(PDEVICE_OBJECT DeviceObject)
{
    struct kmrig_runtime *rt = IopRuntime();
    PIOP_STATE io = IopState(rt);
    LIST_ENTRY drop;
    InitializeListHead(&drop);
    pthread_mutex_lock(&io->Lock);
    PLIST_ENTRY lists[] = {&io->Shutdown, &io->LastChanceShutdown};
    for (int l = 0; l < 2; l++)
        for (PLIST_ENTRY e = lists[l]->Flink, n; e != lists[l]; e = n) {
            n = e->Flink;
            if (CONTAINING_RECORD(e, IOP_SHUTDOWN_ENTRY, Link)->DeviceObject == DeviceObject) {
                RemoveEntryList(e);
                InsertTailList(&drop, e);
            }
        }
    DeviceObject->Flags &= ~DO_SHUTDOWN_REGISTERED;
    pthread_mutex_unlock(&io->Lock);
    while (!IsListEmpty(&drop)) {
        PIOP_SHUTDOWN_ENTRY s = CONTAINING_RECORD(RemoveHeadList(&drop), IOP_SHUTDOWN_ENTRY, Link);
        ObfDereferenceObject(s->DeviceObject);
        free(s);
    }
}

VOID NTAPI IoUnregisterShutdownNotification(PDEVICE_OBJECT DeviceObject)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    IopRemoveShutdownNotification(DeviceObject);
}

/* ---- information ---- */

#undef IoGetCurrentProcess
PEPROCESS NTAPI IoGetCurrentProcess(VOID)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    return PsGetCurrentProcess();
}

BOOLEAN NTAPI IoIsWdmVersionAvailable(UCHAR MajorVersion, UCHAR MinorVersion)
{
    return MajorVersion < WDM_MAJORVERSION ||
           (MajorVersion == WDM_MAJORVERSION && MinorVersion <= WDM_MINORVERSION);
}

#undef IoGetFunctionCodeFromCtlCode
ULONG NTAPI IoGetFunctionCodeFromCtlCode(ULONG ControlCode)
{
    return (ControlCode >> 2) & 0x00000FFF;
}

PCONFIGURATION_INFORMATION NTAPI IoGetConfigurationInformation(VOID)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    return &IopState(IopRuntime())->Configuration;
}

BOOLEAN NTAPI IoIsOperationSynchronous(PIRP Irp)
{
    if (Irp->Flags & IRP_PAGING_IO)
        return (Irp->Flags & IRP_SYNCHRONOUS_PAGING_IO) != 0;
    if (Irp->Flags & IRP_SYNCHRONOUS_API)
        return TRUE;
    PFILE_OBJECT f = IoGetCurrentIrpStackLocation(Irp)->FileObject;
    return f && (f->Flags & FO_SYNCHRONOUS_IO);
}

/* Every thread of an instance belongs to its one (system) process. */
PEPROCESS NTAPI IoThreadToProcess(PETHREAD Thread)
{
    return Thread ? PsGetCurrentProcess() : NULL;
}

PEPROCESS NTAPI IoGetRequestorProcess(PIRP Irp)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    return IoThreadToProcess(Irp->Tail.Overlay.Thread);
}

ULONG NTAPI IoGetRequestorProcessId(PIRP Irp)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    return Irp->Tail.Overlay.Thread ? (ULONG)(ULONG_PTR)PsGetCurrentProcessId() : 0;
}

BOOLEAN NTAPI IoIsSystemThread(PETHREAD Thread)
{
    return PsIsSystemThread(Thread);
}

/*
 * Queues and deferred work around devices: the cancel spin lock and IoCancelIrp, StartIo
 * (IoStartPacket / IoStartNextPacket(ByKey) on the device's KDEVICE_QUEUE), I/O work items,
 * DPC requests, the one-second I/O timer, controller objects.
 */
#include "io.h"
#include "trace.h"

#include <stdlib.h>
#include <string.h>

/* ---- cancellation ---- */

VOID NTAPI IoAcquireCancelSpinLock(PKIRQL Irql)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    KeAcquireSpinLock(&IopState(IopRuntime())->CancelLock, Irql);
}

VOID NTAPI IoReleaseCancelSpinLock(KIRQL Irql)
{
    VF_IRQL_EQ(DISPATCH_LEVEL);
    KeReleaseSpinLock(&IopState(IopRuntime())->CancelLock, Irql);
}

BOOLEAN NTAPI IoCancelIrp(PIRP Irp)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    KIRQL irql;
    IoAcquireCancelSpinLock(&irql);
    Irp->Cancel = TRUE;
    PDRIVER_CANCEL routine = IoSetCancelRoutine(Irp, NULL);
    if (!routine) {
        IoReleaseCancelSpinLock(irql);
        return FALSE;
    }
    /* The cancel routine runs with the cancel spin lock held and releases it. */
    Irp->CancelIrql = irql;
    PDEVICE_OBJECT dev = Irp->CurrentLocation <= Irp->StackCount
                             ? IoGetCurrentIrpStackLocation(Irp)->DeviceObject
                             : NULL; /* not sent to a driver yet */
    routine(dev, Irp);
    return TRUE;
}

/* ---- StartIo ---- */

#define IOP_SIO_DEFERRED 0x1   /* IoSetStartIoAttributes(DeferredStartIo) */
#define IOP_SIO_NO_CANCEL 0x2  /* IoSetStartIoAttributes(NonCancelable) */
#define IOP_SIO_START_NEXT 0x4 /* an IoStartNextPacket deferred while StartIo runs */
#define IOP_SIO_BY_KEY 0x8     /* ... IoStartNextPacketByKey */
#define IOP_SIO_CANCELABLE 0x10

static VOID IopStartNext(PDEVICE_OBJECT DeviceObject, BOOLEAN Cancelable, BOOLEAN ByKey, ULONG Key);

/* Calls StartIo; with deferred StartIo, runs the IoStartNextPacket calls made meanwhile after it
 * returns instead of recursing. */
static VOID IopCallStartIo(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PDEVOBJ_EXTENSION x = DeviceObject->DeviceObjectExtension;
    x->StartIoCount++;
    KmTraceStartIo(IopRuntime(), DeviceObject->DriverObject->DriverStartIo, DeviceObject, Irp);
    x->StartIoCount--;
    while (x->StartIoCount == 0 && (x->StartIoFlags & IOP_SIO_START_NEXT)) {
        ULONG f = x->StartIoFlags;
        x->StartIoFlags &= ~(IOP_SIO_START_NEXT | IOP_SIO_BY_KEY | IOP_SIO_CANCELABLE);
        IopStartNext(DeviceObject, (f & IOP_SIO_CANCELABLE) != 0, (f & IOP_SIO_BY_KEY) != 0,
                     x->StartIoKey);
    }
}

VOID NTAPI IoSetStartIoAttributes(PDEVICE_OBJECT DeviceObject, BOOLEAN DeferredStartIo,
                                  BOOLEAN NonCancelable)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    PDEVOBJ_EXTENSION x = DeviceObject->DeviceObjectExtension;
    if (DeferredStartIo)
        x->StartIoFlags |= IOP_SIO_DEFERRED;
    if (NonCancelable)
        x->StartIoFlags |= IOP_SIO_NO_CANCEL;
}

VOID NTAPI IoStartPacket(PDEVICE_OBJECT DeviceObject, PIRP Irp, PULONG Key,
                         PDRIVER_CANCEL CancelFunction)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    KIRQL old;
    IoAcquireCancelSpinLock(&old);
    if (CancelFunction)
        Irp->CancelRoutine = CancelFunction;
    BOOLEAN queued =
        Key ? KeInsertByKeyDeviceQueue(&DeviceObject->DeviceQueue,
                                       &Irp->Tail.Overlay.DeviceQueueEntry, *Key)
            : KeInsertDeviceQueue(&DeviceObject->DeviceQueue, &Irp->Tail.Overlay.DeviceQueueEntry);
    if (!queued) {
        /* The device was idle: start the packet now, at DISPATCH_LEVEL. */
        DeviceObject->CurrentIrp = Irp;
        IoReleaseCancelSpinLock(DISPATCH_LEVEL);
        IopCallStartIo(DeviceObject, Irp);
        KeLowerIrql(old);
        return;
    }
    if (CancelFunction && Irp->Cancel && IoSetCancelRoutine(Irp, NULL)) {
        /* Cancelled before it was queued (IoCancelIrp found no routine): cancel it now. */
        Irp->CancelIrql = old;
        CancelFunction(DeviceObject, Irp);
        return;
    }
    IoReleaseCancelSpinLock(old);
}

static VOID IopStartNext(PDEVICE_OBJECT DeviceObject, BOOLEAN Cancelable, BOOLEAN ByKey, ULONG Key)
{
    PDEVOBJ_EXTENSION x = DeviceObject->DeviceObjectExtension;
    if ((x->StartIoFlags & IOP_SIO_DEFERRED) && x->StartIoCount > 0) {
        /* Called from StartIo: done when StartIo returns. */
        x->StartIoFlags |= IOP_SIO_START_NEXT | (ByKey ? IOP_SIO_BY_KEY : 0) |
                           (Cancelable ? IOP_SIO_CANCELABLE : 0);
        x->StartIoKey = Key;
        DeviceObject->CurrentIrp = NULL;
        return;
    }
    if (x->StartIoFlags & IOP_SIO_NO_CANCEL)
        Cancelable = FALSE;
    KIRQL irql = DISPATCH_LEVEL;
    DeviceObject->CurrentIrp = NULL;
    if (Cancelable)
        IoAcquireCancelSpinLock(&irql);
    PKDEVICE_QUEUE_ENTRY e = ByKey ? KeRemoveByKeyDeviceQueue(&DeviceObject->DeviceQueue, Key)
                                   : KeRemoveDeviceQueue(&DeviceObject->DeviceQueue);
    PIRP irp = e ? CONTAINING_RECORD(e, IRP, Tail.Overlay.DeviceQueueEntry) : NULL;
    if (irp)
        DeviceObject->CurrentIrp = irp;
    if (Cancelable)
        IoReleaseCancelSpinLock(irql);
    if (irp)
        IopCallStartIo(DeviceObject, irp);
}

VOID NTAPI IoStartNextPacket(PDEVICE_OBJECT DeviceObject, BOOLEAN Cancelable)
{
    VF_IRQL_EQ(DISPATCH_LEVEL);
    IopStartNext(DeviceObject, Cancelable, FALSE, 0);
}

VOID NTAPI IoStartNextPacketByKey(PDEVICE_OBJECT DeviceObject, BOOLEAN Cancelable, ULONG Key)
{
    VF_IRQL_EQ(DISPATCH_LEVEL);
    IopStartNext(DeviceObject, Cancelable, TRUE, Key);
}

/* ---- work items ---- */

struct _IO_WORKITEM {
    WORK_QUEUE_ITEM Item;
    PDEVICE_OBJECT DeviceObject; /* or the driver object given to IoInitializeWorkItem */
    PIO_WORKITEM_ROUTINE Routine;
    PIO_WORKITEM_ROUTINE_EX RoutineEx;
    PVOID Context;
};

PIO_WORKITEM NTAPI IoAllocateWorkItem(PDEVICE_OBJECT DeviceObject)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    PIO_WORKITEM w = ExAllocatePoolWithTag(NonPagedPoolNx, sizeof *w, IOP_TAG_WORKITEM);
    if (!w)
        return NULL;
    memset(w, 0, sizeof *w);
    w->DeviceObject = DeviceObject;
    return w;
}

static VOID NTAPI IopWorkItemWorker(PVOID Parameter)
{
    PIO_WORKITEM w = Parameter;
    PDEVICE_OBJECT d = w->DeviceObject;
    /* The routine may free the work item: nothing of it is read afterwards. */
    if (w->RoutineEx)
        w->RoutineEx(d, w->Context, w);
    else
        w->Routine(d, w->Context);
    ObfDereferenceObject(d);
}

static VOID NTAPI IopWorkItemTraced(PVOID Parameter)
{
    PIO_WORKITEM w = Parameter;
    KmTraceWorkItem(IopRuntime(),
                    w->RoutineEx ? (const void *)w->RoutineEx : (const void *)w->Routine,
                    IopWorkItemWorker, Parameter);
}

static VOID IopQueueWorkItem(PIO_WORKITEM IoWorkItem, PIO_WORKITEM_ROUTINE Routine,
                             PIO_WORKITEM_ROUTINE_EX RoutineEx, WORK_QUEUE_TYPE QueueType,
                             PVOID Context)
{
    /* The device (or driver) object stays referenced until the routine has run, so its driver
     * can delete it meanwhile. */
    ObfReferenceObject(IoWorkItem->DeviceObject);
    IoWorkItem->Routine = Routine;
    IoWorkItem->RoutineEx = RoutineEx;
    IoWorkItem->Context = Context;
    ExInitializeWorkItem(&IoWorkItem->Item, IopWorkItemTraced, IoWorkItem);
    ExQueueWorkItem(&IoWorkItem->Item, QueueType);
}

VOID NTAPI IoQueueWorkItem(PIO_WORKITEM IoWorkItem, PIO_WORKITEM_ROUTINE WorkerRoutine,
                           WORK_QUEUE_TYPE QueueType, PVOID Context)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    IopQueueWorkItem(IoWorkItem, WorkerRoutine, NULL, QueueType, Context);
}

VOID NTAPI IoQueueWorkItemEx(PIO_WORKITEM IoWorkItem, PIO_WORKITEM_ROUTINE_EX WorkerRoutine,
                             WORK_QUEUE_TYPE QueueType, PVOID Context)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    IopQueueWorkItem(IoWorkItem, NULL, WorkerRoutine, QueueType, Context);
}

VOID NTAPI IoInitializeWorkItem(PVOID IoObject, PIO_WORKITEM IoWorkItem)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    memset(IoWorkItem, 0, sizeof *IoWorkItem);
    IoWorkItem->DeviceObject = IoObject;
}

VOID NTAPI IoUninitializeWorkItem(PIO_WORKITEM IoWorkItem)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    IoWorkItem->DeviceObject = NULL;
}

VOID NTAPI IoFreeWorkItem(PIO_WORKITEM IoWorkItem)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    ExFreePoolWithTag(IoWorkItem, IOP_TAG_WORKITEM);
}

ULONG NTAPI IoSizeofWorkItem(VOID)
{
    return sizeof(IO_WORKITEM);
}

/* ---- DPC requests ---- */

#undef IoInitializeDpcRequest
VOID NTAPI IoInitializeDpcRequest(PDEVICE_OBJECT DeviceObject, PIO_DPC_ROUTINE DpcRoutine)
{
    KeInitializeDpc(&DeviceObject->Dpc, (PKDEFERRED_ROUTINE)DpcRoutine, DeviceObject);
}

#undef IoRequestDpc
VOID NTAPI IoRequestDpc(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    KeInsertQueueDpc(&DeviceObject->Dpc, Irp, Context);
}

/* ---- the I/O timer ---- */

typedef struct _IO_TIMER {
    CSHORT Type;
    CSHORT TimerFlag; /* started */
    LIST_ENTRY TimerList;
    PIO_TIMER_ROUTINE TimerRoutine;
    PVOID Context;
    PDEVICE_OBJECT DeviceObject;
} IO_TIMER;

typedef struct _IOP_TIMER_CALL {
    PIO_TIMER_ROUTINE Routine;
    PVOID Context;
    PDEVICE_OBJECT DeviceObject;
} IOP_TIMER_CALL;

/* Once a second at DISPATCH_LEVEL: every started timer's routine. The list is copied first so a
 * routine can stop or start timers (its own too). */
static VOID NTAPI IopTimerDpc(PKDPC Dpc, PVOID DeferredContext, PVOID A1, PVOID A2)
{
    PIOP_STATE io = DeferredContext;
    KeAcquireSpinLockAtDpcLevel(&io->TimerLock);
    ULONG n = io->ActiveTimers, i = 0;
    IOP_TIMER_CALL *calls = n ? malloc(n * sizeof *calls) : NULL;
    for (PLIST_ENTRY e = io->Timers.Flink; calls && e != &io->Timers && i < n; e = e->Flink) {
        IO_TIMER *t = CONTAINING_RECORD(e, IO_TIMER, TimerList);
        if (!t->TimerFlag)
            continue;
        calls[i].Routine = t->TimerRoutine;
        calls[i].Context = t->Context;
        calls[i].DeviceObject = t->DeviceObject;
        ObfReferenceObject(t->DeviceObject);
        i++;
    }
    KeReleaseSpinLockFromDpcLevel(&io->TimerLock);
    for (ULONG k = 0; k < i; k++) {
        calls[k].Routine(calls[k].DeviceObject, calls[k].Context);
        ObfDereferenceObject(calls[k].DeviceObject);
    }
    free(calls);
}

VOID IopInitializeTimers(struct kmrig_runtime *rt)
{
    PIOP_STATE io = IopState(rt);
    KeInitializeTimerEx(&io->Timer, NotificationTimer);
    KeInitializeDpc(&io->TimerDpc, IopTimerDpc, io);
}

VOID IopShutdownTimers(struct kmrig_runtime *rt)
{
    PIOP_STATE io = IopState(rt);
    KeCancelTimer(&io->Timer);
    KeRemoveQueueDpc(&io->TimerDpc);
    KeFlushQueuedDpcs();
    while (!IsListEmpty(&io->Timers)) {
        IO_TIMER *t = CONTAINING_RECORD(RemoveHeadList(&io->Timers), IO_TIMER, TimerList);
        t->DeviceObject->Timer = NULL;
        free(t);
    }
}

NTSTATUS NTAPI IoInitializeTimer(PDEVICE_OBJECT DeviceObject, PIO_TIMER_ROUTINE TimerRoutine,
                                 PVOID Context)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    struct kmrig_runtime *rt = IopRuntime();
    PIOP_STATE io = IopState(rt);
    KIRQL irql;
    if (DeviceObject->Timer) {
        if (VfOn(rt, KMRIG_VERIFY_IO))
            KeBugCheckEx(DRIVER_VERIFIER_IOMANAGER_VIOLATION, IOP_VF_TIMER_REINITIALIZED,
                         (ULONG_PTR)DeviceObject, 0, 0);
        KeAcquireSpinLock(&io->TimerLock, &irql);
        DeviceObject->Timer->TimerRoutine = TimerRoutine;
        DeviceObject->Timer->Context = Context;
        KeReleaseSpinLock(&io->TimerLock, irql);
        return STATUS_SUCCESS;
    }
    IO_TIMER *t = calloc(1, sizeof *t);
    if (!t)
        return STATUS_INSUFFICIENT_RESOURCES;
    t->Type = IO_TYPE_TIMER;
    t->TimerRoutine = TimerRoutine;
    t->Context = Context;
    t->DeviceObject = DeviceObject;
    KeAcquireSpinLock(&io->TimerLock, &irql);
    InsertTailList(&io->Timers, &t->TimerList);
    DeviceObject->Timer = t;
    KeReleaseSpinLock(&io->TimerLock, irql);
    return STATUS_SUCCESS;
}

static VOID IopSetTimerState(PDEVICE_OBJECT DeviceObject, BOOLEAN Start)
{
    PIOP_STATE io = IopState(IopRuntime());
    KIRQL irql;
    KeAcquireSpinLock(&io->TimerLock, &irql);
    IO_TIMER *t = DeviceObject->Timer;
    if (t && !t->TimerFlag != !Start) {
        t->TimerFlag = Start;
        if (Start && io->ActiveTimers++ == 0) {
            LARGE_INTEGER due;
            due.QuadPart = -10000000LL; /* one second from now, then every second */
            KeSetTimerEx(&io->Timer, due, 1000, &io->TimerDpc);
        } else if (!Start && --io->ActiveTimers == 0) {
            KeCancelTimer(&io->Timer);
        }
    }
    KeReleaseSpinLock(&io->TimerLock, irql);
}

VOID NTAPI IoStartTimer(PDEVICE_OBJECT DeviceObject)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    IopSetTimerState(DeviceObject, TRUE);
}

VOID NTAPI IoStopTimer(PDEVICE_OBJECT DeviceObject)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    IopSetTimerState(DeviceObject, FALSE);
}

VOID IopFreeDeviceTimer(PDEVICE_OBJECT DeviceObject)
{
    if (!DeviceObject->Timer)
        return;
    IopSetTimerState(DeviceObject, FALSE);
    PIOP_STATE io = IopState(IopRuntime());
    KIRQL irql;
    KeAcquireSpinLock(&io->TimerLock, &irql);
    IO_TIMER *t = DeviceObject->Timer;
    RemoveEntryList(&t->TimerList);
    DeviceObject->Timer = NULL;
    KeReleaseSpinLock(&io->TimerLock, irql);
    free(t);
}

/* ---- controller objects ---- */

#define IOP_TAG_CONTROLLER ((ULONG)'C' << 24 | (ULONG)'t' << 16 | (ULONG)'o' << 8 | (ULONG)'I')
#define IOP_CONTROLLER_HEADER ((sizeof(CONTROLLER_OBJECT) + 15u) & ~(SIZE_T)15u)

PCONTROLLER_OBJECT NTAPI IoCreateController(ULONG Size)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    if (Size > 0xFFFF - IOP_CONTROLLER_HEADER)
        return NULL;
    PCONTROLLER_OBJECT c =
        ExAllocatePoolWithTag(NonPagedPoolNx, IOP_CONTROLLER_HEADER + Size, IOP_TAG_CONTROLLER);
    if (!c)
        return NULL;
    memset(c, 0, IOP_CONTROLLER_HEADER + Size);
    c->Type = IO_TYPE_CONTROLLER;
    c->Size = (CSHORT)(sizeof(CONTROLLER_OBJECT) + Size);
    c->ControllerExtension = (PUCHAR)c + IOP_CONTROLLER_HEADER;
    KeInitializeDeviceQueue(&c->DeviceWaitQueue);
    return c;
}

VOID NTAPI IoDeleteController(PCONTROLLER_OBJECT ControllerObject)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    ExFreePoolWithTag(ControllerObject, IOP_TAG_CONTROLLER);
}

VOID NTAPI IoAllocateController(PCONTROLLER_OBJECT ControllerObject, PDEVICE_OBJECT DeviceObject,
                                PDRIVER_CONTROL ExecutionRoutine, PVOID Context)
{
    VF_IRQL_EQ(DISPATCH_LEVEL);
    PWAIT_CONTEXT_BLOCK wcb = &DeviceObject->Queue.Wcb;
    wcb->DeviceRoutine = ExecutionRoutine;
    wcb->DeviceContext = Context;
    wcb->DeviceObject = DeviceObject;
    wcb->CurrentIrp = DeviceObject->CurrentIrp;
    if (KeInsertDeviceQueue(&ControllerObject->DeviceWaitQueue, &wcb->WaitQueueEntry))
        return; /* the controller is busy: runs when IoFreeController hands it over */
    if (ExecutionRoutine(DeviceObject, DeviceObject->CurrentIrp, NULL, Context) == DeallocateObject)
        IoFreeController(ControllerObject);
}

VOID NTAPI IoFreeController(PCONTROLLER_OBJECT ControllerObject)
{
    VF_IRQL_EQ(DISPATCH_LEVEL);
    for (;;) {
        PKDEVICE_QUEUE_ENTRY e = KeRemoveDeviceQueue(&ControllerObject->DeviceWaitQueue);
        if (!e)
            return; /* no one waits: the controller is free */
        PWAIT_CONTEXT_BLOCK wcb = CONTAINING_RECORD(e, WAIT_CONTEXT_BLOCK, WaitQueueEntry);
        if (wcb->DeviceRoutine(wcb->DeviceObject, wcb->CurrentIrp, NULL, wcb->DeviceContext) !=
            DeallocateObject)
            return; /* the new owner keeps it */
    }
}

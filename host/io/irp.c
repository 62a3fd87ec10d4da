/*
 * IRPs: allocation and reuse, stack locations, IoCallDriver and completion, associated IRPs,
 * the IoBuild* requests with buffered, direct (MDL) and neither I/O, and the IRP verifier.
 *
 * IRPs the I/O manager builds for a thread (IoBuild*, the create/close/shutdown requests) carry
 * Tail.Overlay.Thread; when they complete to the top, the final phase runs inline (NT runs it in
 * a kernel APC of that thread): buffered data is copied back, MDLs unlocked and freed, the user
 * status block written, the IRP freed, then the user event set. IRPs from IoAllocateIrp belong
 * to their driver, which must stop completion with STATUS_MORE_PROCESSING_REQUIRED and free them.
 *
 * The verifier (KMRIG_VERIFY_IO) tracks every IRP from IoAllocateIrp (leaks at shutdown, double
 * completion) and every IoCallDriver in progress as a "frame". A frame's pending rule (the dispatch
 * routine returned STATUS_PENDING if and only if its stack location was marked pending) is checked
 * when both have happened: the dispatch routine returned, and completion went past the location
 * (a completion routine that marks the IRP pending after the dispatch routine returned is the
 * documented pattern, so the check cannot be made at return alone).
 */
#include "io.h"
#include "trace.h"

#include <stdlib.h>
#include <string.h>

#define IOP_TRACK_BUCKETS 1024u

typedef struct _IOP_IRP_TRACK {
    struct _IOP_IRP_TRACK *Next;
    PIRP Irp;
    BOOLEAN Pool;      /* from IoAllocateIrp */
    BOOLEAN Completed; /* completion went past its last stack location */
    PVOID Caller;      /* who called IoAllocateIrp (for the leak report) */
} IOP_IRP_TRACK, *PIOP_IRP_TRACK;

typedef struct _IOP_CALL_FRAME {
    struct _IOP_CALL_FRAME *Next;
    PIRP Irp;
    PIO_STACK_LOCATION Location;
    PDRIVER_DISPATCH Dispatch;
    NTSTATUS Status;
    BOOLEAN Returned;
    BOOLEAN Completed;
    BOOLEAN Marked;
} IOP_CALL_FRAME, *PIOP_CALL_FRAME;

static ULONG IopHash(PIRP Irp)
{
    ULONG_PTR v = (ULONG_PTR)Irp >> 4;
    v ^= v >> 17;
    return (ULONG)(v * 0x9E3779B1u) % IOP_TRACK_BUCKETS;
}

static PIOP_IRP_TRACK *IopFindTrack(PIOP_STATE io, PIRP Irp)
{
    PIOP_IRP_TRACK *p = &io->Tracks[IopHash(Irp)];
    while (*p && (*p)->Irp != Irp)
        p = &(*p)->Next;
    return p;
}

NTSTATUS IopInitializeIrpVerifier(struct kmrig_runtime *rt)
{
    PIOP_STATE io = IopState(rt);
    pthread_mutex_init(&io->VfLock, NULL);
    io->Tracks = calloc(IOP_TRACK_BUCKETS, sizeof *io->Tracks);
    return io->Tracks ? STATUS_SUCCESS : STATUS_INSUFFICIENT_RESOURCES;
}

VOID IopShutdownIrpVerifier(struct kmrig_runtime *rt)
{
    PIOP_STATE io = IopState(rt);
    PIRP leaked = NULL;
    ULONG count = 0;
    pthread_mutex_lock(&io->VfLock);
    for (ULONG i = 0; i < IOP_TRACK_BUCKETS; i++)
        for (PIOP_IRP_TRACK t = io->Tracks[i]; t; t = t->Next)
            if (t->Pool) {
                leaked = leaked ? leaked : t->Irp;
                count++;
                KmLog(rt, KMRIG_LOG_ERROR,
                      "io: IRP %p still allocated at shutdown (from %p, %u stack locations, at "
                      "location %d, major 0x%02x)",
                      (void *)t->Irp, t->Caller, t->Irp->StackCount, t->Irp->CurrentLocation,
                      t->Irp->CurrentLocation <= t->Irp->StackCount
                          ? IoGetCurrentIrpStackLocation(t->Irp)->MajorFunction
                          : IoGetNextIrpStackLocation(t->Irp)->MajorFunction);
            }
    pthread_mutex_unlock(&io->VfLock);
    if (count && VfOn(rt, KMRIG_VERIFY_IO))
        KeBugCheckEx(DRIVER_VERIFIER_IOMANAGER_VIOLATION, IOP_VF_IRP_LEAKED, (ULONG_PTR)leaked,
                     count, 0);
    if (count)
        KmLog(rt, KMRIG_LOG_WARN, "io: %u IRP(s) still allocated at shutdown", count);
    for (ULONG i = 0; i < IOP_TRACK_BUCKETS; i++)
        while (io->Tracks[i]) {
            PIOP_IRP_TRACK t = io->Tracks[i];
            io->Tracks[i] = t->Next;
            free(t);
        }
    while (io->Frames) {
        PIOP_CALL_FRAME f = io->Frames;
        io->Frames = f->Next;
        free(f);
    }
    free(io->Tracks);
    pthread_mutex_destroy(&io->VfLock);
}

static VOID IopTrackIrp(struct kmrig_runtime *rt, PIRP Irp, BOOLEAN Pool, PVOID Caller)
{
    PIOP_STATE io = IopState(rt);
    pthread_mutex_lock(&io->VfLock);
    PIOP_IRP_TRACK *p = IopFindTrack(io, Irp);
    if (!*p) {
        PIOP_IRP_TRACK t = calloc(1, sizeof *t);
        if (t) {
            t->Irp = Irp;
            *p = t;
        }
    }
    if (*p) {
        if (Pool && !(*p)->Pool)
            io->LiveIrps++;
        if (Pool)
            (*p)->Caller = Caller;
        (*p)->Pool = (*p)->Pool || Pool;
        (*p)->Completed = FALSE;
    }
    pthread_mutex_unlock(&io->VfLock);
}

/* Forgets an IRP being freed: its track and any frame still naming it. */
static VOID IopUntrackIrp(struct kmrig_runtime *rt, PIRP Irp)
{
    PIOP_STATE io = IopState(rt);
    pthread_mutex_lock(&io->VfLock);
    PIOP_IRP_TRACK *p = IopFindTrack(io, Irp);
    if (*p) {
        PIOP_IRP_TRACK t = *p;
        *p = t->Next;
        if (t->Pool)
            io->LiveIrps--;
        free(t);
    }
    /* A frame whose location completed but whose dispatch routine has not returned yet (the IRP
     * completed and was freed on another processor) stays: it is checked at the return, which
     * needs no more of the IRP than its address. */
    for (PIOP_CALL_FRAME *f = &io->Frames; *f;) {
        if ((*f)->Irp == Irp && !((*f)->Completed && !(*f)->Returned)) {
            PIOP_CALL_FRAME g = *f;
            *f = g->Next;
            free(g);
        } else {
            f = &(*f)->Next;
        }
    }
    pthread_mutex_unlock(&io->VfLock);
}

static VOID IopCheckFrame(PIOP_CALL_FRAME f)
{
    if (f->Status == STATUS_PENDING && !f->Marked)
        KeBugCheckEx(DRIVER_VERIFIER_IOMANAGER_VIOLATION, IOP_VF_PENDING_NOT_MARKED,
                     (ULONG_PTR)f->Irp, (ULONG_PTR)f->Dispatch, 0);
    if (f->Status != STATUS_PENDING && f->Marked)
        KeBugCheckEx(DRIVER_VERIFIER_IOMANAGER_VIOLATION, IOP_VF_MARKED_NOT_PENDING,
                     (ULONG_PTR)f->Irp, (ULONG_PTR)f->Dispatch, (ULONG_PTR)f->Status);
}

/* Completion went past Location: record whether it was marked pending; check the frames whose
 * dispatch routine has returned. Last is TRUE when this was the IRP's last location. */
static VOID IopVfLocationDone(struct kmrig_runtime *rt, PIRP Irp, PIO_STACK_LOCATION Location,
                              BOOLEAN Marked, BOOLEAN Last)
{
    PIOP_STATE io = IopState(rt);
    PIOP_CALL_FRAME check = NULL;
    pthread_mutex_lock(&io->VfLock);
    for (PIOP_CALL_FRAME *f = &io->Frames; *f;) {
        PIOP_CALL_FRAME g = *f;
        if (g->Irp == Irp && g->Location == Location && !g->Completed) {
            g->Completed = TRUE;
            g->Marked = Marked;
            if (g->Returned) {
                *f = g->Next;
                g->Next = check;
                check = g;
                continue;
            }
        }
        f = &g->Next;
    }
    if (Last) {
        PIOP_IRP_TRACK t = *IopFindTrack(io, Irp);
        if (t)
            t->Completed = TRUE;
    }
    pthread_mutex_unlock(&io->VfLock);
    while (check) {
        PIOP_CALL_FRAME g = check;
        check = g->Next;
        IOP_CALL_FRAME copy = *g;
        free(g);
        IopCheckFrame(&copy);
    }
}

/* ---- allocation ---- */

static VOID IopInitializeIrp(PIRP Irp, USHORT PacketSize, CCHAR StackSize)
{
    memset(Irp, 0, PacketSize);
    Irp->Type = IO_TYPE_IRP;
    Irp->Size = PacketSize;
    Irp->StackCount = StackSize;
    Irp->CurrentLocation = (CHAR)(StackSize + 1);
    InitializeListHead(&Irp->ThreadListEntry);
    Irp->Tail.Overlay.CurrentStackLocation = ((PIO_STACK_LOCATION)(Irp + 1)) + StackSize;
}

#undef IoSizeOfIrp
USHORT NTAPI IoSizeOfIrp(CCHAR StackSize)
{
    return (USHORT)(sizeof(IRP) + StackSize * sizeof(IO_STACK_LOCATION));
}

PIRP NTAPI IoAllocateIrp(CCHAR StackSize, BOOLEAN ChargeQuota)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    struct kmrig_runtime *rt = IopRuntime();
    if (StackSize < 0)
        return NULL;
    USHORT size = (USHORT)(sizeof(IRP) + StackSize * sizeof(IO_STACK_LOCATION));
    PIRP irp = ExAllocatePoolWithTag(NonPagedPoolNx, size, IOP_TAG_IRP);
    if (!irp)
        return NULL;
    IopInitializeIrp(irp, size, StackSize);
    irp->AllocationFlags = IRP_ALLOCATED_FIXED_SIZE | (ChargeQuota ? IRP_QUOTA_CHARGED : 0);
    irp->AllocationProcessorNumber = (USHORT)KeGetCurrentProcessorNumber();
    if (VfOn(rt, KMRIG_VERIFY_IO))
        IopTrackIrp(rt, irp, TRUE, __builtin_return_address(0));
    return irp;
}

VOID NTAPI IoInitializeIrp(PIRP Irp, USHORT PacketSize, CCHAR StackSize)
{
    struct kmrig_runtime *rt = IopRuntime();
    if (VfOn(rt, KMRIG_VERIFY_IO)) {
        PIOP_STATE io = IopState(rt);
        pthread_mutex_lock(&io->VfLock);
        PIOP_IRP_TRACK t = *IopFindTrack(io, Irp);
        BOOLEAN pool = t && t->Pool;
        pthread_mutex_unlock(&io->VfLock);
        if (pool)
            KeBugCheckEx(DRIVER_VERIFIER_IOMANAGER_VIOLATION, IOP_VF_INITIALIZE_ALLOCATED,
                         (ULONG_PTR)Irp, 0, 0);
    }
    IopInitializeIrp(Irp, PacketSize, StackSize);
    if (VfOn(rt, KMRIG_VERIFY_IO))
        IopTrackIrp(rt, Irp, FALSE, NULL);
}

VOID NTAPI IoReuseIrp(PIRP Irp, NTSTATUS Iostatus)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    struct kmrig_runtime *rt = IopRuntime();
    UCHAR flags = Irp->AllocationFlags;
    IopInitializeIrp(Irp, Irp->Size, Irp->StackCount);
    Irp->AllocationFlags = flags;
    Irp->IoStatus.Status = Iostatus;
    if (VfOn(rt, KMRIG_VERIFY_IO))
        IopTrackIrp(rt, Irp, FALSE, NULL);
}

static VOID IopFreeIrp(struct kmrig_runtime *rt, PIRP Irp)
{
    if (VfOn(rt, KMRIG_VERIFY_IO))
        IopUntrackIrp(rt, Irp);
    Irp->Type = 0;
    ExFreePoolWithTag(Irp, IOP_TAG_IRP);
}

VOID NTAPI IoFreeIrp(PIRP Irp)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    struct kmrig_runtime *rt = IopRuntime();
    if (VfOn(rt, KMRIG_VERIFY_IO)) {
        if (!Irp || Irp->Type != IO_TYPE_IRP)
            KeBugCheckEx(DRIVER_VERIFIER_IOMANAGER_VIOLATION, IOP_VF_FREE_NOT_IRP, (ULONG_PTR)Irp,
                         0, 0);
        if (!IsListEmpty(&Irp->ThreadListEntry))
            KeBugCheckEx(DRIVER_VERIFIER_IOMANAGER_VIOLATION, IOP_VF_FREE_THREAD_IRP,
                         (ULONG_PTR)Irp, 0, 0);
        /* In use: a driver it was sent to has not completed it past its stack location. */
        PIOP_STATE io = IopState(rt);
        BOOLEAN inUse = FALSE;
        pthread_mutex_lock(&io->VfLock);
        for (PIOP_CALL_FRAME f = io->Frames; f && !inUse; f = f->Next)
            inUse = f->Irp == Irp && !f->Completed;
        pthread_mutex_unlock(&io->VfLock);
        if (inUse)
            KeBugCheckEx(DRIVER_VERIFIER_IOMANAGER_VIOLATION, IOP_VF_FREE_IN_USE, (ULONG_PTR)Irp, 0,
                         0);
    }
    IopFreeIrp(rt, Irp);
}

PIRP NTAPI IoMakeAssociatedIrp(PIRP Irp, CCHAR StackSize)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    PIRP a = IoAllocateIrp(StackSize, FALSE);
    if (!a)
        return NULL;
    a->Flags |= IRP_ASSOCIATED_IRP;
    a->AssociatedIrp.MasterIrp = Irp;
    a->Tail.Overlay.Thread = Irp->Tail.Overlay.Thread;
    a->Tail.Overlay.OriginalFileObject = Irp->Tail.Overlay.OriginalFileObject;
    a->RequestorMode = Irp->RequestorMode;
    return a;
}

/* ---- stack locations (the macros' function forms) ---- */

#undef IoGetCurrentIrpStackLocation
PIO_STACK_LOCATION NTAPI IoGetCurrentIrpStackLocation(PIRP Irp)
{
    return Irp->Tail.Overlay.CurrentStackLocation;
}

#undef IoGetNextIrpStackLocation
PIO_STACK_LOCATION NTAPI IoGetNextIrpStackLocation(PIRP Irp)
{
    return Irp->Tail.Overlay.CurrentStackLocation - 1;
}

#undef IoCopyCurrentIrpStackLocationToNext
VOID NTAPI IoCopyCurrentIrpStackLocationToNext(PIRP Irp)
{
    PIO_STACK_LOCATION cur = Irp->Tail.Overlay.CurrentStackLocation, next = cur - 1;
    memcpy(next, cur, FIELD_OFFSET(IO_STACK_LOCATION, CompletionRoutine));
    next->Control = 0;
}

#undef IoSkipCurrentIrpStackLocation
VOID NTAPI IoSkipCurrentIrpStackLocation(PIRP Irp)
{
    Irp->CurrentLocation++;
    Irp->Tail.Overlay.CurrentStackLocation++;
}

#undef IoSetNextIrpStackLocation
VOID NTAPI IoSetNextIrpStackLocation(PIRP Irp)
{
    Irp->CurrentLocation--;
    Irp->Tail.Overlay.CurrentStackLocation--;
}

#undef IoMarkIrpPending
VOID NTAPI IoMarkIrpPending(PIRP Irp)
{
    Irp->Tail.Overlay.CurrentStackLocation->Control |= SL_PENDING_RETURNED;
}

#undef IoSetCompletionRoutine
VOID NTAPI IoSetCompletionRoutine(PIRP Irp, PIO_COMPLETION_ROUTINE CompletionRoutine, PVOID Context,
                                  BOOLEAN InvokeOnSuccess, BOOLEAN InvokeOnError,
                                  BOOLEAN InvokeOnCancel)
{
    PIO_STACK_LOCATION sl = Irp->Tail.Overlay.CurrentStackLocation - 1;
    sl->CompletionRoutine = CompletionRoutine;
    sl->Context = Context;
    sl->Control = (InvokeOnSuccess ? SL_INVOKE_ON_SUCCESS : 0) |
                  (InvokeOnError ? SL_INVOKE_ON_ERROR : 0) |
                  (InvokeOnCancel ? SL_INVOKE_ON_CANCEL : 0);
}

#undef IoSetCancelRoutine
PDRIVER_CANCEL NTAPI IoSetCancelRoutine(PIRP Irp, PDRIVER_CANCEL CancelRoutine)
{
    return (PDRIVER_CANCEL)(ULONG_PTR)InterlockedExchangePointer(
        (PVOID volatile *)&Irp->CancelRoutine, (PVOID)(ULONG_PTR)CancelRoutine);
}

/* ---- IoCallDriver ---- */

NTSTATUS FASTCALL IofCallDriver(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    struct kmrig_runtime *rt = IopRuntime();
    BOOLEAN vf = VfOn(rt, KMRIG_VERIFY_IO);
    if (vf) {
        if (!Irp || Irp->Type != IO_TYPE_IRP)
            KeBugCheckEx(DRIVER_VERIFIER_IOMANAGER_VIOLATION, IOP_VF_CALL_BAD_IRP, (ULONG_PTR)Irp,
                         0, 0);
        if (!DeviceObject || DeviceObject->Type != IO_TYPE_DEVICE)
            KeBugCheckEx(DRIVER_VERIFIER_IOMANAGER_VIOLATION, IOP_VF_CALL_BAD_DEVICE,
                         (ULONG_PTR)DeviceObject, 0, 0);
        if (Irp->CancelRoutine)
            KeBugCheckEx(DRIVER_VERIFIER_IOMANAGER_VIOLATION, IOP_VF_CALL_CANCEL_SET,
                         (ULONG_PTR)Irp, (ULONG_PTR)Irp->CancelRoutine, 0);
    }
    Irp->CurrentLocation--;
    if (Irp->CurrentLocation <= 0)
        KeBugCheckEx(NO_MORE_IRP_STACK_LOCATIONS, (ULONG_PTR)Irp, 0, 0, 0);
    PIO_STACK_LOCATION sl = --Irp->Tail.Overlay.CurrentStackLocation;
    sl->DeviceObject = DeviceObject;
    PDRIVER_DISPATCH dispatch = DeviceObject->DriverObject->MajorFunction[sl->MajorFunction];
    if (!vf)
        return KmTraceDispatch(rt, dispatch, DeviceObject, Irp, sl->MajorFunction);
    if (sl->MajorFunction == IRP_MJ_PNP)
        IopPnpVerifyCall(rt, DeviceObject, Irp, sl->MinorFunction);

    PIOP_STATE io = IopState(rt);
    PIOP_CALL_FRAME f = calloc(1, sizeof *f);
    if (f) {
        f->Irp = Irp;
        f->Location = sl;
        f->Dispatch = dispatch;
    }
    pthread_mutex_lock(&io->VfLock);
    PIOP_IRP_TRACK t = *IopFindTrack(io, Irp);
    if (t)
        t->Completed = FALSE;
    if (f) {
        f->Next = io->Frames;
        io->Frames = f;
    }
    pthread_mutex_unlock(&io->VfLock);
    KIRQL before = KeGetCurrentIrql();
    NTSTATUS status = KmTraceDispatch(rt, dispatch, DeviceObject, Irp, sl->MajorFunction);
    KIRQL after = KeGetCurrentIrql();
    if (after != before)
        KeBugCheckEx(DRIVER_VERIFIER_IOMANAGER_VIOLATION, IOP_VF_IRQL_CHANGED,
                     (ULONG_PTR)DeviceObject, before, after);
    if (!f)
        return status;
    /* The frame is still listed unless the IRP was freed (then it was checked or dropped). */
    BOOLEAN listed = FALSE, check = FALSE;
    pthread_mutex_lock(&io->VfLock);
    for (PIOP_CALL_FRAME *p = &io->Frames; *p; p = &(*p)->Next)
        if (*p == f) {
            listed = TRUE;
            f->Returned = TRUE;
            f->Status = status;
            if (f->Completed) {
                *p = f->Next;
                check = TRUE;
            }
            break;
        }
    pthread_mutex_unlock(&io->VfLock);
    if (check) {
        IOP_CALL_FRAME copy = *f;
        free(f);
        IopCheckFrame(&copy);
    }
    (void)listed;
    return status;
}

#undef IoCallDriver
NTSTATUS NTAPI IoCallDriver(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    return IofCallDriver(DeviceObject, Irp);
}

NTSTATUS NTAPI PoCallDriver(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    /* Since Windows Vista power IRPs are not serialised by the power manager: IoCallDriver. */
    return IofCallDriver(DeviceObject, Irp);
}

/* ---- completion ---- */

static VOID IopFreeIrpMdls(PIRP Irp)
{
    PMDL mdl = Irp->MdlAddress;
    Irp->MdlAddress = NULL;
    while (mdl) {
        PMDL next = mdl->Next;
        if (mdl->MdlFlags & MDL_PAGES_LOCKED)
            MmUnlockPages(mdl);
        IoFreeMdl(mdl);
        mdl = next;
    }
}

/* The final phase, once completion went past the last stack location. */
static VOID IopCompleteFinal(struct kmrig_runtime *rt, PIRP Irp, CCHAR PriorityBoost)
{
    if (Irp->Flags & IRP_ASSOCIATED_IRP) {
        PIRP master = Irp->AssociatedIrp.MasterIrp;
        LONG left = InterlockedDecrement(&master->AssociatedIrp.IrpCount);
        IopFreeIrpMdls(Irp);
        IopFreeIrp(rt, Irp);
        if (left == 0)
            IofCompleteRequest(master, PriorityBoost);
        return;
    }
    if (!Irp->Tail.Overlay.Thread) {
        /* A driver's own IRP (IoAllocateIrp) completed to the top: NT would queue the final
         * phase to a thread it does not have. Only the status block and event are served. */
        if (Irp->UserIosb)
            *Irp->UserIosb = Irp->IoStatus;
        if (Irp->UserEvent)
            KeSetEvent(Irp->UserEvent, PriorityBoost, FALSE);
        return;
    }
    if (Irp->Flags & IRP_BUFFERED_IO) {
        PVOID sys = Irp->AssociatedIrp.SystemBuffer;
        if ((Irp->Flags & IRP_INPUT_OPERATION) && !NT_ERROR(Irp->IoStatus.Status) && sys &&
            Irp->UserBuffer && Irp->IoStatus.Information)
            memcpy(Irp->UserBuffer, sys, Irp->IoStatus.Information);
        if ((Irp->Flags & IRP_DEALLOCATE_BUFFER) && sys)
            ExFreePoolWithTag(sys, IOP_TAG_BUFFER);
        Irp->AssociatedIrp.SystemBuffer = NULL;
    }
    IopFreeIrpMdls(Irp);
    PIO_STATUS_BLOCK iosb = Irp->UserIosb;
    PKEVENT event = Irp->UserEvent;
    IO_STATUS_BLOCK status = Irp->IoStatus;
    PFILE_OBJECT held =
        (Irp->Flags & IOP_IRP_HOLDS_REFERENCES) ? Irp->Tail.Overlay.OriginalFileObject : NULL;
    IopFreeIrp(rt, Irp);
    if (iosb)
        *iosb = status;
    if (event)
        KeSetEvent(event, PriorityBoost, FALSE);
    if (held) {
        if (event && event != &held->Event)
            ObfDereferenceObject(event);
        ObfDereferenceObject(held);
    }
}

VOID FASTCALL IofCompleteRequest(PIRP Irp, CCHAR PriorityBoost)
{
    struct kmrig_runtime *rt = IopRuntime();
    BOOLEAN vf = VfOn(rt, KMRIG_VERIFY_IO);
    if (vf) {
        KIRQL irql = KeGetCurrentIrql();
        if (irql > DISPATCH_LEVEL)
            KeBugCheckEx(DRIVER_VERIFIER_IOMANAGER_VIOLATION, IOP_VF_COMPLETE_IRQL, irql,
                         (ULONG_PTR)Irp, 0);
        if (Irp->IoStatus.Status == STATUS_PENDING || Irp->IoStatus.Status == (NTSTATUS)-1)
            KeBugCheckEx(DRIVER_VERIFIER_IOMANAGER_VIOLATION, IOP_VF_COMPLETE_PENDING,
                         (ULONG_PTR)Irp->IoStatus.Status, (ULONG_PTR)Irp, 0);
        if (Irp->CancelRoutine)
            KeBugCheckEx(DRIVER_VERIFIER_IOMANAGER_VIOLATION, IOP_VF_COMPLETE_CANCEL_SET,
                         (ULONG_PTR)Irp->CancelRoutine, (ULONG_PTR)Irp, 0);
        PIOP_STATE io = IopState(rt);
        pthread_mutex_lock(&io->VfLock);
        PIOP_IRP_TRACK t = *IopFindTrack(io, Irp);
        BOOLEAN twice = t && t->Completed;
        pthread_mutex_unlock(&io->VfLock);
        if (twice)
            KeBugCheckEx(MULTIPLE_IRP_COMPLETE_REQUESTS, (ULONG_PTR)Irp, 0, 0, 0);
    }
    if (Irp->CurrentLocation > Irp->StackCount + 1)
        KeBugCheckEx(MULTIPLE_IRP_COMPLETE_REQUESTS, (ULONG_PTR)Irp, 0, 0, 0);
    PIO_STACK_LOCATION sl = Irp->Tail.Overlay.CurrentStackLocation;
    for (; Irp->CurrentLocation <= Irp->StackCount; sl++) {
        Irp->CurrentLocation++;
        Irp->Tail.Overlay.CurrentStackLocation++;
        Irp->PendingReturned = (sl->Control & SL_PENDING_RETURNED) != 0;
        BOOLEAN last = Irp->CurrentLocation == Irp->StackCount + 1;
        if (vf)
            IopVfLocationDone(rt, Irp, sl, Irp->PendingReturned, last);
        PIO_COMPLETION_ROUTINE routine = sl->CompletionRoutine;
        PVOID context = sl->Context;
        BOOLEAN error = !NT_SUCCESS(Irp->IoStatus.Status);
        BOOLEAN invoke = routine && ((!error && (sl->Control & SL_INVOKE_ON_SUCCESS)) ||
                                     (error && (sl->Control & SL_INVOKE_ON_ERROR)) ||
                                     (Irp->Cancel && (sl->Control & SL_INVOKE_ON_CANCEL)));
        /* Clear the location as NT does: it may be reused by a resend. */
        sl->MinorFunction = 0;
        sl->Flags = 0;
        sl->Control &= SL_ERROR_RETURNED;
        memset(&sl->Parameters.Others, 0, sizeof sl->Parameters.Others);
        sl->FileObject = NULL;
        sl->CompletionRoutine = NULL;
        sl->Context = NULL;
        if (invoke) {
            PDEVICE_OBJECT dev = last ? NULL : Irp->Tail.Overlay.CurrentStackLocation->DeviceObject;
            if (routine(dev, Irp, context) == STATUS_MORE_PROCESSING_REQUIRED)
                return;
        } else if (!last && Irp->PendingReturned) {
            Irp->Tail.Overlay.CurrentStackLocation->Control |= SL_PENDING_RETURNED;
        }
    }
    IopCompleteFinal(rt, Irp, PriorityBoost);
}

#undef IoCompleteRequest
VOID NTAPI IoCompleteRequest(PIRP Irp, CCHAR PriorityBoost)
{
    IofCompleteRequest(Irp, PriorityBoost);
}

/* ---- IRPs built for a thread ---- */

static PIRP IopNewThreadIrp(PDEVICE_OBJECT DeviceObject, UCHAR Major, PKEVENT Event,
                            PIO_STATUS_BLOCK IoStatusBlock)
{
    PIRP irp = IoAllocateIrp(DeviceObject->StackSize, FALSE);
    if (!irp)
        return NULL;
    irp->Tail.Overlay.Thread = (PETHREAD)KeGetCurrentThread();
    irp->RequestorMode = KernelMode;
    irp->UserIosb = IoStatusBlock;
    irp->UserEvent = Event;
    PIO_STACK_LOCATION sl = IoGetNextIrpStackLocation(irp);
    sl->MajorFunction = Major;
    return irp;
}

/* Describes Buffer with an MDL locked for the operation; FALSE (IRP left as is) on failure. */
static BOOLEAN IopLockBuffer(PIRP Irp, PVOID Buffer, ULONG Length, LOCK_OPERATION Operation)
{
    PMDL mdl = IoAllocateMdl(Buffer, Length, FALSE, FALSE, NULL);
    if (!mdl)
        return FALSE;
    volatile BOOLEAN ok = TRUE;
    __try {
        MmProbeAndLockPages(mdl, KernelMode, Operation);
    } __except (EXCEPTION_EXECUTE_HANDLER) {
        ok = FALSE;
    }
    if (!ok) {
        IoFreeMdl(mdl);
        return FALSE;
    }
    Irp->MdlAddress = mdl;
    return TRUE;
}

static BOOLEAN IopBufferIrp(PIRP Irp, PVOID Buffer, ULONG Length, ULONG CopyIn, BOOLEAN Input)
{
    PVOID sys = ExAllocatePoolWithTag(NonPagedPoolNx, Length, IOP_TAG_BUFFER);
    if (!sys)
        return FALSE;
    if (CopyIn)
        memcpy(sys, Buffer, CopyIn);
    if (Length > CopyIn)
        memset((PUCHAR)sys + CopyIn, 0, Length - CopyIn);
    Irp->AssociatedIrp.SystemBuffer = sys;
    Irp->Flags |= IRP_BUFFERED_IO | IRP_DEALLOCATE_BUFFER | (Input ? IRP_INPUT_OPERATION : 0);
    return TRUE;
}

static PIRP IopBuildFsdRequest(ULONG MajorFunction, PDEVICE_OBJECT DeviceObject, PVOID Buffer,
                               ULONG Length, PLARGE_INTEGER StartingOffset, PKEVENT Event,
                               PIO_STATUS_BLOCK IoStatusBlock, BOOLEAN Power)
{
    switch (MajorFunction) {
    case IRP_MJ_READ:
    case IRP_MJ_WRITE:
    case IRP_MJ_FLUSH_BUFFERS:
    case IRP_MJ_SHUTDOWN:
    case IRP_MJ_PNP:
        break;
    case IRP_MJ_POWER:
        if (Power)
            break;
        /* fall through */
    default:
        KmLogError("io: IoBuild*FsdRequest: major function 0x%x not supported", MajorFunction);
        return NULL;
    }
    PIRP irp = IopNewThreadIrp(DeviceObject, (UCHAR)MajorFunction, Event, IoStatusBlock);
    if (!irp)
        return NULL;
    if (MajorFunction != IRP_MJ_READ && MajorFunction != IRP_MJ_WRITE)
        return irp;
    BOOLEAN read = MajorFunction == IRP_MJ_READ;
    PIO_STACK_LOCATION sl = IoGetNextIrpStackLocation(irp);
    sl->Parameters.Read.Length = Length;
    sl->Parameters.Read.ByteOffset.QuadPart = StartingOffset ? StartingOffset->QuadPart : 0;
    irp->UserBuffer = Buffer;
    if (Length && (DeviceObject->Flags & DO_BUFFERED_IO)) {
        if (!IopBufferIrp(irp, Buffer, Length, read ? 0 : Length, read)) {
            IopFreeIrp(IopRuntime(), irp);
            return NULL;
        }
    } else if (Length && (DeviceObject->Flags & DO_DIRECT_IO)) {
        if (!IopLockBuffer(irp, Buffer, Length, read ? IoWriteAccess : IoReadAccess)) {
            IopFreeIrp(IopRuntime(), irp);
            return NULL;
        }
    }
    return irp;
}

PIRP NTAPI IoBuildSynchronousFsdRequest(ULONG MajorFunction, PDEVICE_OBJECT DeviceObject,
                                        PVOID Buffer, ULONG Length, PLARGE_INTEGER StartingOffset,
                                        PKEVENT Event, PIO_STATUS_BLOCK IoStatusBlock)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    PIRP irp = IopBuildFsdRequest(MajorFunction, DeviceObject, Buffer, Length, StartingOffset,
                                  Event, IoStatusBlock, FALSE);
    if (irp)
        irp->Flags |= IRP_SYNCHRONOUS_API;
    return irp;
}

PIRP NTAPI IoBuildAsynchronousFsdRequest(ULONG MajorFunction, PDEVICE_OBJECT DeviceObject,
                                         PVOID Buffer, ULONG Length, PLARGE_INTEGER StartingOffset,
                                         PIO_STATUS_BLOCK IoStatusBlock)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    return IopBuildFsdRequest(MajorFunction, DeviceObject, Buffer, Length, StartingOffset, NULL,
                              IoStatusBlock, TRUE);
}

PIRP NTAPI IoBuildDeviceIoControlRequest(ULONG IoControlCode, PDEVICE_OBJECT DeviceObject,
                                         PVOID InputBuffer, ULONG InputBufferLength,
                                         PVOID OutputBuffer, ULONG OutputBufferLength,
                                         BOOLEAN InternalDeviceIoControl, PKEVENT Event,
                                         PIO_STATUS_BLOCK IoStatusBlock)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    PIRP irp = IopNewThreadIrp(DeviceObject,
                               InternalDeviceIoControl ? IRP_MJ_INTERNAL_DEVICE_CONTROL
                                                       : IRP_MJ_DEVICE_CONTROL,
                               Event, IoStatusBlock);
    if (!irp)
        return NULL;
    irp->Flags |= IRP_SYNCHRONOUS_API;
    PIO_STACK_LOCATION sl = IoGetNextIrpStackLocation(irp);
    sl->Parameters.DeviceIoControl.IoControlCode = IoControlCode;
    sl->Parameters.DeviceIoControl.InputBufferLength = InputBufferLength;
    sl->Parameters.DeviceIoControl.OutputBufferLength = OutputBufferLength;
    BOOLEAN ok = TRUE;
    switch (METHOD_FROM_CTL_CODE(IoControlCode)) {
    case METHOD_BUFFERED: {
        ULONG size = max(InputBufferLength, OutputBufferLength);
        if (size)
            ok = IopBufferIrp(irp, InputBuffer, size, InputBuffer ? InputBufferLength : 0,
                              OutputBuffer != NULL && OutputBufferLength != 0);
        irp->UserBuffer = OutputBuffer;
        break;
    }
    case METHOD_IN_DIRECT:
    case METHOD_OUT_DIRECT:
        if (InputBuffer && InputBufferLength)
            ok = IopBufferIrp(irp, InputBuffer, InputBufferLength, InputBufferLength, FALSE);
        if (ok && OutputBuffer && OutputBufferLength)
            ok = IopLockBuffer(irp, OutputBuffer, OutputBufferLength,
                               METHOD_FROM_CTL_CODE(IoControlCode) == METHOD_IN_DIRECT
                                   ? IoReadAccess
                                   : IoWriteAccess);
        irp->UserBuffer = OutputBuffer;
        break;
    default: /* METHOD_NEITHER */
        irp->UserBuffer = OutputBuffer;
        sl->Parameters.DeviceIoControl.Type3InputBuffer = InputBuffer;
        break;
    }
    if (!ok) {
        if (irp->Flags & IRP_DEALLOCATE_BUFFER)
            ExFreePoolWithTag(irp->AssociatedIrp.SystemBuffer, IOP_TAG_BUFFER);
        IopFreeIrp(IopRuntime(), irp);
        return NULL;
    }
    return irp;
}

/* ---- requests the I/O manager sends itself ---- */

NTSTATUS IopSendSimpleIrp(PDEVICE_OBJECT DeviceObject, PFILE_OBJECT FileObject, UCHAR Major)
{
    KEVENT ev;
    IO_STATUS_BLOCK iosb;
    KeInitializeEvent(&ev, NotificationEvent, FALSE);
    PIRP irp = IopNewThreadIrp(DeviceObject, Major, &ev, &iosb);
    if (!irp)
        return STATUS_INSUFFICIENT_RESOURCES;
    irp->Flags |= IRP_SYNCHRONOUS_API | (Major == IRP_MJ_CLOSE ? IRP_CLOSE_OPERATION : 0);
    irp->Tail.Overlay.OriginalFileObject = FileObject;
    IoGetNextIrpStackLocation(irp)->FileObject = FileObject;
    NTSTATUS s = IoCallDriver(DeviceObject, irp);
    if (s == STATUS_PENDING) {
        KeWaitForSingleObject(&ev, Executive, KernelMode, FALSE, NULL);
        s = iosb.Status;
    }
    return s;
}

NTSTATUS IopSynchronousRequest(PFILE_OBJECT FileObject, UCHAR MajorFunction, ULONG IoControlCode,
                               PVOID InputBuffer, ULONG InputLength, PVOID OutputBuffer,
                               ULONG OutputLength, PLARGE_INTEGER Offset, PIO_STATUS_BLOCK IoStatus)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    PDEVICE_OBJECT top = IoGetRelatedDeviceObject(FileObject);
    KEVENT ev;
    KeInitializeEvent(&ev, NotificationEvent, FALSE);
    IoStatus->Status = STATUS_SUCCESS;
    IoStatus->Information = 0;
    PIRP irp;
    switch (MajorFunction) {
    case IRP_MJ_READ:
        irp = IoBuildSynchronousFsdRequest(IRP_MJ_READ, top, OutputBuffer, OutputLength, Offset,
                                           &ev, IoStatus);
        break;
    case IRP_MJ_WRITE:
        irp = IoBuildSynchronousFsdRequest(IRP_MJ_WRITE, top, InputBuffer, InputLength, Offset, &ev,
                                           IoStatus);
        break;
    case IRP_MJ_DEVICE_CONTROL:
    case IRP_MJ_INTERNAL_DEVICE_CONTROL:
        irp = IoBuildDeviceIoControlRequest(
            IoControlCode, top, InputBuffer, InputLength, OutputBuffer, OutputLength,
            MajorFunction == IRP_MJ_INTERNAL_DEVICE_CONTROL, &ev, IoStatus);
        break;
    default:
        return STATUS_INVALID_PARAMETER;
    }
    if (!irp)
        return STATUS_INSUFFICIENT_RESOURCES;
    irp->Tail.Overlay.OriginalFileObject = FileObject;
    IoGetNextIrpStackLocation(irp)->FileObject = FileObject;
    NTSTATUS s = IoCallDriver(top, irp);
    if (s == STATUS_PENDING) {
        KeWaitForSingleObject(&ev, Executive, KernelMode, FALSE, NULL);
        s = IoStatus->Status;
    }
    return s;
}

static NTSTATUS NTAPI IopSignalCompletion(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    KeSetEvent(Context, IO_NO_INCREMENT, FALSE);
    return STATUS_MORE_PROCESSING_REQUIRED;
}

BOOLEAN NTAPI IoForwardIrpSynchronously(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    if (Irp->CurrentLocation <= 1)
        return FALSE; /* no stack location left for the lower driver */
    KEVENT ev;
    KeInitializeEvent(&ev, NotificationEvent, FALSE);
    IoCopyCurrentIrpStackLocationToNext(Irp);
    IoSetCompletionRoutine(Irp, IopSignalCompletion, &ev, TRUE, TRUE, TRUE);
    if (IoCallDriver(DeviceObject, Irp) == STATUS_PENDING)
        KeWaitForSingleObject(&ev, Executive, KernelMode, FALSE, NULL);
    return TRUE;
}

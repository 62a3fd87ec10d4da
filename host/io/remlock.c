/*
 * Remove locks (IoInitializeRemoveLock and friends) and cancel-safe IRP queues (IoCsq*): the two
 * library pieces of the WDK that almost every WDM driver uses around its own IRP queues and its
 * removal. Both only use the driver's own storage; neither keeps runtime state.
 */
#include "io.h"

/* ---- remove locks ---- */

VOID NTAPI IoInitializeRemoveLockEx(PIO_REMOVE_LOCK Lock, ULONG AllocateTag, ULONG MaxLockedMinutes,
                                    ULONG HighWatermark, ULONG RemlockSize)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    Lock->Common.Removed = FALSE;
    Lock->Common.IoCount = 1; /* the bias IoReleaseRemoveLockAndWait takes off */
    KeInitializeEvent(&Lock->Common.RemoveEvent, NotificationEvent, FALSE);
    if (RemlockSize >= sizeof(IO_REMOVE_LOCK_COMMON_BLOCK) + sizeof(IO_REMOVE_LOCK_DBG_BLOCK)) {
        /* A checked driver's lock: its debug block is initialised but not used. */
        IO_REMOVE_LOCK_DBG_BLOCK *dbg = (IO_REMOVE_LOCK_DBG_BLOCK *)(&Lock->Common + 1);
        RtlZeroMemory(dbg, sizeof *dbg);
        dbg->Signature = 0x4C4D4552; /* 'REML' */
        dbg->HighWatermark = HighWatermark;
        dbg->MaxLockedTicks = (LONGLONG)MaxLockedMinutes * 60 * 10000000LL;
        dbg->AllocateTag = (LONG)AllocateTag;
        InitializeListHead(&dbg->LockList);
        KeInitializeSpinLock(&dbg->Spin);
    }
}

NTSTATUS NTAPI IoAcquireRemoveLockEx(PIO_REMOVE_LOCK RemoveLock, PVOID Tag, PCSTR File, ULONG Line,
                                     ULONG RemlockSize)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    InterlockedIncrement(&RemoveLock->Common.IoCount);
    if (!RemoveLock->Common.Removed)
        return STATUS_SUCCESS;
    if (InterlockedDecrement(&RemoveLock->Common.IoCount) == 0)
        KeSetEvent(&RemoveLock->Common.RemoveEvent, IO_NO_INCREMENT, FALSE);
    return STATUS_DELETE_PENDING;
}

VOID NTAPI IoReleaseRemoveLockEx(PIO_REMOVE_LOCK RemoveLock, PVOID Tag, ULONG RemlockSize)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    LONG n = InterlockedDecrement(&RemoveLock->Common.IoCount);
    if (n < 0 && VfOn(KiRuntime(), KMRIG_VERIFY_IO))
        KeBugCheckEx(DRIVER_VERIFIER_IOMANAGER_VIOLATION, IOP_VF_REMOVE_LOCK_UNDERFLOW,
                     (ULONG_PTR)RemoveLock, (ULONG_PTR)Tag, (ULONG_PTR)n);
    if (n == 0)
        KeSetEvent(&RemoveLock->Common.RemoveEvent, IO_NO_INCREMENT, FALSE);
}

VOID NTAPI IoReleaseRemoveLockAndWaitEx(PIO_REMOVE_LOCK RemoveLock, PVOID Tag, ULONG RemlockSize)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    RemoveLock->Common.Removed = TRUE;
    /* The caller's own acquisition, then the bias: wait for the others to release. */
    InterlockedDecrement(&RemoveLock->Common.IoCount);
    if (InterlockedDecrement(&RemoveLock->Common.IoCount) > 0)
        KeWaitForSingleObject(&RemoveLock->Common.RemoveEvent, Executive, KernelMode, FALSE, NULL);
}

/* ---- cancel-safe queues ---- */

/* Irp->Tail.Overlay.DriverContext[3] holds the IO_CSQ_IRP_CONTEXT given at insertion, or the
 * IO_CSQ itself; both begin with their type. */
static PIO_CSQ IopCsqOf(PIRP Irp, PIO_CSQ_IRP_CONTEXT *Context)
{
    PVOID p = Irp->Tail.Overlay.DriverContext[3];
    if (p && *(PULONG)p == IO_TYPE_CSQ_IRP_CONTEXT) {
        *Context = p;
        return (*Context)->Csq;
    }
    *Context = NULL;
    return p;
}

static VOID NTAPI IopCsqCancelRoutine(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    IoReleaseCancelSpinLock(Irp->CancelIrql);
    PIO_CSQ_IRP_CONTEXT ctx;
    PIO_CSQ csq = IopCsqOf(Irp, &ctx);
    KIRQL irql;
    csq->CsqAcquireLock(csq, &irql);
    csq->CsqRemoveIrp(csq, Irp);
    if (ctx)
        ctx->Irp = NULL;
    Irp->Tail.Overlay.DriverContext[3] = NULL;
    csq->CsqReleaseLock(csq, irql);
    csq->CsqCompleteCanceledIrp(csq, Irp);
}

static NTSTATUS IopCsqSet(PIO_CSQ Csq, ULONG Type, PVOID Insert, PIO_CSQ_REMOVE_IRP Remove,
                          PIO_CSQ_PEEK_NEXT_IRP Peek, PIO_CSQ_ACQUIRE_LOCK Acquire,
                          PIO_CSQ_RELEASE_LOCK Release, PIO_CSQ_COMPLETE_CANCELED_IRP Complete)
{
    Csq->Type = Type;
    Csq->CsqInsertIrp = (PIO_CSQ_INSERT_IRP)Insert;
    Csq->CsqRemoveIrp = Remove;
    Csq->CsqPeekNextIrp = Peek;
    Csq->CsqAcquireLock = Acquire;
    Csq->CsqReleaseLock = Release;
    Csq->CsqCompleteCanceledIrp = Complete;
    Csq->ReservePointer = NULL;
    return STATUS_SUCCESS;
}

NTSTATUS NTAPI IoCsqInitialize(PIO_CSQ Csq, PIO_CSQ_INSERT_IRP CsqInsertIrp,
                               PIO_CSQ_REMOVE_IRP CsqRemoveIrp,
                               PIO_CSQ_PEEK_NEXT_IRP CsqPeekNextIrp,
                               PIO_CSQ_ACQUIRE_LOCK CsqAcquireLock,
                               PIO_CSQ_RELEASE_LOCK CsqReleaseLock,
                               PIO_CSQ_COMPLETE_CANCELED_IRP CsqCompleteCanceledIrp)
{
    return IopCsqSet(Csq, IO_TYPE_CSQ, (PVOID)CsqInsertIrp, CsqRemoveIrp, CsqPeekNextIrp,
                     CsqAcquireLock, CsqReleaseLock, CsqCompleteCanceledIrp);
}

NTSTATUS NTAPI IoCsqInitializeEx(PIO_CSQ Csq, PIO_CSQ_INSERT_IRP_EX CsqInsertIrp,
                                 PIO_CSQ_REMOVE_IRP CsqRemoveIrp,
                                 PIO_CSQ_PEEK_NEXT_IRP CsqPeekNextIrp,
                                 PIO_CSQ_ACQUIRE_LOCK CsqAcquireLock,
                                 PIO_CSQ_RELEASE_LOCK CsqReleaseLock,
                                 PIO_CSQ_COMPLETE_CANCELED_IRP CsqCompleteCanceledIrp)
{
    return IopCsqSet(Csq, IO_TYPE_CSQ_EX, (PVOID)CsqInsertIrp, CsqRemoveIrp, CsqPeekNextIrp,
                     CsqAcquireLock, CsqReleaseLock, CsqCompleteCanceledIrp);
}

NTSTATUS NTAPI IoCsqInsertIrpEx(PIO_CSQ Csq, PIRP Irp, PIO_CSQ_IRP_CONTEXT Context,
                                PVOID InsertContext)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    KIRQL irql;
    NTSTATUS s = STATUS_SUCCESS;
    Csq->CsqAcquireLock(Csq, &irql);
    if (Csq->Type == IO_TYPE_CSQ_EX)
        s = ((PIO_CSQ_INSERT_IRP_EX)(PVOID)Csq->CsqInsertIrp)(Csq, Irp, InsertContext);
    else
        Csq->CsqInsertIrp(Csq, Irp);
    if (!NT_SUCCESS(s)) {
        Csq->CsqReleaseLock(Csq, irql);
        return s;
    }
    IoMarkIrpPending(Irp);
    if (Context) {
        Context->Type = IO_TYPE_CSQ_IRP_CONTEXT;
        Context->Irp = Irp;
        Context->Csq = Csq;
        Irp->Tail.Overlay.DriverContext[3] = Context;
    } else {
        Irp->Tail.Overlay.DriverContext[3] = Csq;
    }
    IoSetCancelRoutine(Irp, IopCsqCancelRoutine);
    if (Irp->Cancel && IoSetCancelRoutine(Irp, NULL)) {
        /* Cancelled before it got here, and no cancel routine ran: cancel it now. */
        Csq->CsqRemoveIrp(Csq, Irp);
        if (Context)
            Context->Irp = NULL;
        Irp->Tail.Overlay.DriverContext[3] = NULL;
        Csq->CsqReleaseLock(Csq, irql);
        Csq->CsqCompleteCanceledIrp(Csq, Irp);
        return s;
    }
    Csq->CsqReleaseLock(Csq, irql);
    return s;
}

VOID NTAPI IoCsqInsertIrp(PIO_CSQ Csq, PIRP Irp, PIO_CSQ_IRP_CONTEXT Context)
{
    IoCsqInsertIrpEx(Csq, Irp, Context, NULL);
}

PIRP NTAPI IoCsqRemoveIrp(PIO_CSQ Csq, PIO_CSQ_IRP_CONTEXT Context)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    KIRQL irql;
    Csq->CsqAcquireLock(Csq, &irql);
    PIRP irp = Context->Irp;
    if (irp && IoSetCancelRoutine(irp, NULL)) {
        Csq->CsqRemoveIrp(Csq, irp);
        Context->Irp = NULL;
        irp->Tail.Overlay.DriverContext[3] = NULL;
    } else {
        irp = NULL; /* gone, or its cancel routine is about to take it */
    }
    Csq->CsqReleaseLock(Csq, irql);
    return irp;
}

PIRP NTAPI IoCsqRemoveNextIrp(PIO_CSQ Csq, PVOID PeekContext)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    KIRQL irql;
    Csq->CsqAcquireLock(Csq, &irql);
    PIRP irp = Csq->CsqPeekNextIrp(Csq, NULL, PeekContext);
    while (irp) {
        if (IoSetCancelRoutine(irp, NULL)) {
            Csq->CsqRemoveIrp(Csq, irp);
            PIO_CSQ_IRP_CONTEXT ctx;
            IopCsqOf(irp, &ctx);
            if (ctx)
                ctx->Irp = NULL;
            irp->Tail.Overlay.DriverContext[3] = NULL;
            break;
        }
        /* Being cancelled: its cancel routine will take it; look further. */
        irp = Csq->CsqPeekNextIrp(Csq, irp, PeekContext);
    }
    Csq->CsqReleaseLock(Csq, irql);
    return irp;
}

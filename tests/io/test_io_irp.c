/* IRPs: allocation, sizing, reuse; stack locations and their macros; IoCallDriver, PoCallDriver
 * and IoCompleteRequest through a 3-deep stack with completion routines; associated IRPs. */
#include "io_test.h"

static void test_io_allocate_irp_initializes(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    PIRP irp = IoAllocateIrp(3, FALSE);
    assert_non_null(irp);
    assert_int_equal(irp->Type, IO_TYPE_IRP);
    assert_int_equal(irp->Size, IoSizeOfIrp(3));
    assert_int_equal(irp->Size, sizeof(IRP) + 3 * sizeof(IO_STACK_LOCATION));
    assert_int_equal(irp->StackCount, 3);
    assert_int_equal(irp->CurrentLocation, 4);
    assert_ptr_equal(IoGetCurrentIrpStackLocation(irp), (PIO_STACK_LOCATION)(irp + 1) + 3);
    assert_ptr_equal(IoGetNextIrpStackLocation(irp), (PIO_STACK_LOCATION)(irp + 1) + 2);
    assert_int_equal(irp->AllocationFlags & IRP_ALLOCATED_FIXED_SIZE, IRP_ALLOCATED_FIXED_SIZE);
    assert_int_equal(irp->AllocationFlags & IRP_QUOTA_CHARGED, 0);
    assert_true(IsListEmpty(&irp->ThreadListEntry));
    assert_null(irp->MdlAddress);
    assert_null(irp->CancelRoutine);
    assert_false(irp->Cancel);
    assert_false(irp->PendingReturned);
    assert_int_equal((ULONG_PTR)irp % 16, 0);
    IoFreeIrp(irp);
    irp = IoAllocateIrp(1, TRUE);
    assert_true(irp->AllocationFlags & IRP_QUOTA_CHARGED);
    IoFreeIrp(irp);
    irp = IoAllocateIrp(0, FALSE); /* no stack location: only the IRP */
    assert_int_equal(irp->Size, sizeof(IRP));
    assert_int_equal(irp->CurrentLocation, 1);
    IoFreeIrp(irp);
    assert_null(IoAllocateIrp(-1, FALSE));
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old); /* allowed up to DISPATCH_LEVEL */
    irp = IoAllocateIrp(2, FALSE);
    IoFreeIrp(irp);
    KeLowerIrql(old);
    kmrig_runtime_destroy(rt);
}

#undef IoSizeOfIrp
static void test_io_size_of_irp(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    for (CCHAR n = 1; n < 12; n++)
        assert_int_equal(IoSizeOfIrp(n), sizeof(IRP) + n * sizeof(IO_STACK_LOCATION));
    kmrig_runtime_destroy(rt);
}

static void test_io_initialize_irp_caller_memory(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    static QUAD mem[(sizeof(IRP) + 2 * sizeof(IO_STACK_LOCATION)) / sizeof(QUAD) + 1];
    PIRP irp = (PIRP)mem;
    kmtest_junk(mem, sizeof mem);
    IoInitializeIrp(irp, (USHORT)(sizeof(IRP) + 2 * sizeof(IO_STACK_LOCATION)), 2);
    assert_int_equal(irp->Type, IO_TYPE_IRP);
    assert_int_equal(irp->StackCount, 2);
    assert_int_equal(irp->CurrentLocation, 3);
    assert_int_equal(irp->AllocationFlags, 0);
    assert_null(irp->UserEvent);
    assert_null(irp->Tail.Overlay.Thread);
    assert_ptr_equal(IoGetCurrentIrpStackLocation(irp), (PIO_STACK_LOCATION)(irp + 1) + 2);
    kmrig_runtime_destroy(rt);
}

static void test_io_reuse_irp(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    PIRP irp = IoAllocateIrp(2, TRUE);
    UCHAR flags = irp->AllocationFlags;
    irp->Cancel = TRUE;
    irp->IoStatus.Information = 99;
    IoSetNextIrpStackLocation(irp);
    IoGetCurrentIrpStackLocation(irp)->MajorFunction = IRP_MJ_READ;
    IoReuseIrp(irp, STATUS_NOT_SUPPORTED);
    assert_int_equal(irp->IoStatus.Status, STATUS_NOT_SUPPORTED);
    assert_int_equal(irp->IoStatus.Information, 0);
    assert_false(irp->Cancel);
    assert_int_equal(irp->AllocationFlags, flags);
    assert_int_equal(irp->CurrentLocation, 3);
    assert_int_equal(irp->Size, IoSizeOfIrp(2));
    IoFreeIrp(irp);
    kmrig_runtime_destroy(rt);
}

/* The macro forms and the exported functions do the same thing. */
static void stack_ops(PIRP irp, int functions)
{
    PIO_STACK_LOCATION cur, next;
    if (functions) {
#undef IoGetCurrentIrpStackLocation
#undef IoGetNextIrpStackLocation
#undef IoSetNextIrpStackLocation
#undef IoCopyCurrentIrpStackLocationToNext
#undef IoSkipCurrentIrpStackLocation
#undef IoMarkIrpPending
#undef IoSetCompletionRoutine
        IoSetNextIrpStackLocation(irp);
        cur = IoGetCurrentIrpStackLocation(irp);
        next = IoGetNextIrpStackLocation(irp);
        cur->MajorFunction = IRP_MJ_WRITE;
        cur->Parameters.Write.Length = 77;
        cur->Control = SL_INVOKE_ON_SUCCESS;
        cur->CompletionRoutine = (PIO_COMPLETION_ROUTINE)0x1234;
        next->CompletionRoutine = NULL;
        IoCopyCurrentIrpStackLocationToNext(irp);
        assert_int_equal(next->MajorFunction, IRP_MJ_WRITE);
        assert_int_equal(next->Parameters.Write.Length, 77);
        assert_int_equal(next->Control, 0);
        assert_null(next->CompletionRoutine); /* not copied */
        IoMarkIrpPending(irp);
        assert_true(cur->Control & SL_PENDING_RETURNED);
        IoSetCompletionRoutine(irp, (PIO_COMPLETION_ROUTINE)0x99, (PVOID)7, TRUE, FALSE, TRUE);
        assert_int_equal(next->Control, SL_INVOKE_ON_SUCCESS | SL_INVOKE_ON_CANCEL);
        assert_ptr_equal(next->Context, (PVOID)7);
        IoSkipCurrentIrpStackLocation(irp);
        assert_ptr_equal(IoGetNextIrpStackLocation(irp), cur);
    } else {
        /* the same through the macros (see ddk/io.h) */
        irp->CurrentLocation--;
        irp->Tail.Overlay.CurrentStackLocation--;
        cur = irp->Tail.Overlay.CurrentStackLocation;
        next = cur - 1;
        cur->MajorFunction = IRP_MJ_WRITE;
        cur->Parameters.Write.Length = 77;
        cur->Control = SL_INVOKE_ON_SUCCESS;
        cur->CompletionRoutine = (PIO_COMPLETION_ROUTINE)0x1234;
        next->CompletionRoutine = NULL;
        memcpy(next, cur, FIELD_OFFSET(IO_STACK_LOCATION, CompletionRoutine));
        next->Control = 0;
        cur->Control |= SL_PENDING_RETURNED;
        next->CompletionRoutine = (PIO_COMPLETION_ROUTINE)0x99;
        next->Context = (PVOID)7;
        next->Control = SL_INVOKE_ON_SUCCESS | SL_INVOKE_ON_CANCEL;
        irp->CurrentLocation++;
        irp->Tail.Overlay.CurrentStackLocation++;
    }
}

static void test_io_stack_location_functions_match_macros(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    PIRP a = IoAllocateIrp(3, FALSE), b = IoAllocateIrp(3, FALSE);
    stack_ops(a, 1);
    stack_ops(b, 0);
    assert_int_equal(a->CurrentLocation, b->CurrentLocation);
    assert_memory_equal(a + 1, b + 1, 3 * sizeof(IO_STACK_LOCATION));
    IoReuseIrp(a, 0);
    IoReuseIrp(b, 0);
    IoFreeIrp(a);
    IoFreeIrp(b);
    kmrig_runtime_destroy(rt);
}

/* ---- a 3-deep stack: bus (PDO), function driver, filter ---- */

typedef struct {
    int Order[8];
    int Count;
    PDEVICE_OBJECT Devices[8];
    BOOLEAN PendingSeen[8];
} TRACE;
static TRACE Trace;

typedef struct {
    PDEVICE_OBJECT Lower;
    int Id;
    NTSTATUS CompletionReturns;
} EXT;

static NTSTATUS NTAPI trace_completion(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    int id = (int)(ULONG_PTR)Context;
    Trace.Devices[Trace.Count] = DeviceObject;
    Trace.PendingSeen[Trace.Count] = Irp->PendingReturned;
    Trace.Order[Trace.Count++] = id;
    /* A routine with a stack location of its own propagates the pending mark; the originator's
     * (DeviceObject NULL) has none. */
    if (DeviceObject && Irp->PendingReturned)
        IoMarkIrpPending(Irp);
    return DeviceObject ? ((EXT *)DeviceObject->DeviceExtension)->CompletionReturns
                        : STATUS_SUCCESS;
}

/* Filter and function driver: copy down with a completion routine. */
static NTSTATUS NTAPI pass_down(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    EXT *x = DeviceObject->DeviceExtension;
    IoCopyCurrentIrpStackLocationToNext(Irp);
    IoSetCompletionRoutine(Irp, trace_completion, (PVOID)(ULONG_PTR)x->Id, TRUE, TRUE, TRUE);
    return IoCallDriver(x->Lower, Irp);
}

static NTSTATUS BusStatus;
static PIRP BusPended;
static NTSTATUS NTAPI bus_dispatch(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(Irp);
    assert_ptr_equal(sl->DeviceObject, DeviceObject);
    if (BusStatus == STATUS_PENDING) {
        IoMarkIrpPending(Irp);
        BusPended = Irp;
        return STATUS_PENDING;
    }
    return io_complete(Irp, BusStatus, 5);
}

typedef struct {
    PDRIVER_OBJECT Bus, Fn, Filter;
    PDEVICE_OBJECT Pdo, Fdo, Top;
} STACK;

static void build_stack(kmrig_runtime *rt, STACK *s)
{
    s->Bus = io_load(rt, L"Bus");
    s->Fn = io_load(rt, L"Fn");
    s->Filter = io_load(rt, L"Filter");
    for (int i = 0; i <= IRP_MJ_MAXIMUM_FUNCTION; i++) {
        s->Bus->MajorFunction[i] = bus_dispatch;
        s->Fn->MajorFunction[i] = pass_down;
        s->Filter->MajorFunction[i] = pass_down;
    }
    s->Pdo = io_device(s->Bus, NULL, sizeof(EXT));
    s->Fdo = io_device(s->Fn, NULL, sizeof(EXT));
    s->Top = io_device(s->Filter, NULL, sizeof(EXT));
    EXT *f = s->Fdo->DeviceExtension, *t = s->Top->DeviceExtension;
    f->Lower = IoAttachDeviceToDeviceStack(s->Fdo, s->Pdo);
    t->Lower = IoAttachDeviceToDeviceStack(s->Top, s->Pdo);
    f->Id = 2;
    t->Id = 3;
    f->CompletionReturns = t->CompletionReturns = STATUS_SUCCESS;
    memset(&Trace, 0, sizeof Trace);
    BusStatus = STATUS_SUCCESS;
    BusPended = NULL;
}

/* The originator's routine sits in the filter's location: it sees DeviceObject NULL. */
static NTSTATUS NTAPI owner_completion(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    trace_completion(DeviceObject, Irp, Context);
    return STATUS_MORE_PROCESSING_REQUIRED;
}

static PIRP owned_irp(STACK *s, UCHAR major)
{
    PIRP irp = IoAllocateIrp(s->Top->StackSize, FALSE);
    PIO_STACK_LOCATION sl = IoGetNextIrpStackLocation(irp);
    sl->MajorFunction = major;
    IoSetCompletionRoutine(irp, owner_completion, (PVOID)4, TRUE, TRUE, TRUE);
    return irp;
}

static void test_io_complete_request_runs_completion_routines_bottom_up(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    STACK s;
    build_stack(rt, &s);
    assert_int_equal(s.Top->StackSize, 3);
    PIRP irp = owned_irp(&s, IRP_MJ_READ);
    assert_int_equal(IoCallDriver(s.Top, irp), STATUS_SUCCESS);
    assert_int_equal(Trace.Count, 3);
    assert_int_equal(Trace.Order[0], 2); /* the function driver's routine first */
    assert_int_equal(Trace.Order[1], 3); /* then the filter's */
    assert_int_equal(Trace.Order[2], 4); /* then the originator's */
    assert_ptr_equal(Trace.Devices[0], s.Fdo);
    assert_ptr_equal(Trace.Devices[1], s.Top);
    assert_null(Trace.Devices[2]);
    assert_int_equal(irp->IoStatus.Status, STATUS_SUCCESS);
    assert_int_equal(irp->IoStatus.Information, 5);
    assert_int_equal(irp->CurrentLocation, irp->StackCount + 1);
    IoFreeIrp(irp);
    kmrig_runtime_destroy(rt);
}

static void test_io_complete_request_invoke_on_success_error_cancel(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    static const struct {
        BOOLEAN Success, Error, Cancel, IrpCancel;
        NTSTATUS Status;
        int Invoked;
    } cases[] = {
        {TRUE, FALSE, FALSE, FALSE, STATUS_SUCCESS, 1},
        {TRUE, FALSE, FALSE, FALSE, STATUS_IO_DEVICE_ERROR, 0},
        {FALSE, TRUE, FALSE, FALSE, STATUS_IO_DEVICE_ERROR, 1},
        {FALSE, TRUE, FALSE, FALSE, STATUS_BUFFER_OVERFLOW, 1}, /* a warning is not NT_SUCCESS */
        {TRUE, FALSE, FALSE, FALSE, STATUS_BUFFER_OVERFLOW, 0},
        {FALSE, FALSE, TRUE, FALSE, STATUS_CANCELLED, 0},
        {FALSE, FALSE, TRUE, TRUE, STATUS_CANCELLED, 1},
        {FALSE, FALSE, FALSE, TRUE, STATUS_CANCELLED, 0},
        {TRUE, TRUE, TRUE, FALSE, STATUS_SUCCESS, 1},
    };
    STACK s;
    build_stack(rt, &s);
    for (unsigned i = 0; i < ARRAYSIZE(cases); i++) {
        memset(&Trace, 0, sizeof Trace);
        BusStatus = cases[i].Status;
        PIRP irp = IoAllocateIrp(1, FALSE);
        PIO_STACK_LOCATION sl = IoGetNextIrpStackLocation(irp);
        sl->MajorFunction = IRP_MJ_WRITE;
        IoSetCompletionRoutine(irp, owner_completion, (PVOID)9, cases[i].Success, cases[i].Error,
                               cases[i].Cancel);
        irp->Cancel = cases[i].IrpCancel;
        IoCallDriver(s.Pdo, irp);
        assert_int_equal(Trace.Count, cases[i].Invoked);
        if (!cases[i].Invoked) {
            /* Without its routine the IRP completed to the top: the owner still frees it. */
            assert_int_equal(irp->CurrentLocation, 2);
        }
        IoFreeIrp(irp);
    }
    kmrig_runtime_destroy(rt);
}

/* The bus pends and completes from a system worker thread. */
static WORK_QUEUE_ITEM LaterItem;
static VOID NTAPI complete_later(PVOID Parameter)
{
    PIRP irp = Parameter;
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
    io_complete(irp, STATUS_SUCCESS, 5);
}

static NTSTATUS NTAPI bus_pend_to_worker(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    IoMarkIrpPending(Irp);
    ExInitializeWorkItem(&LaterItem, complete_later, Irp);
    ExQueueWorkItem(&LaterItem, DelayedWorkQueue);
    return STATUS_PENDING;
}

/* Forward and wait: the completion routine stops completion, the dispatch routine finishes it. */
static KEVENT WaitEvent;
static NTSTATUS NTAPI signal_completion(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    Trace.Order[Trace.Count++] = 20;
    KeSetEvent(Context, IO_NO_INCREMENT, FALSE);
    return STATUS_MORE_PROCESSING_REQUIRED;
}

static NTSTATUS NTAPI forward_and_wait(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    EXT *x = DeviceObject->DeviceExtension;
    KeInitializeEvent(&WaitEvent, NotificationEvent, FALSE);
    IoCopyCurrentIrpStackLocationToNext(Irp);
    IoSetCompletionRoutine(Irp, signal_completion, &WaitEvent, TRUE, TRUE, TRUE);
    NTSTATUS st = IoCallDriver(x->Lower, Irp);
    if (st == STATUS_PENDING) {
        KeWaitForSingleObject(&WaitEvent, Executive, KernelMode, FALSE, NULL);
        st = Irp->IoStatus.Status;
    }
    Trace.Order[Trace.Count++] = 21;
    Irp->IoStatus.Information = 42;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return st;
}

static void test_io_complete_request_more_processing_required_resumes(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(2);
    STACK s;
    build_stack(rt, &s);
    s.Fn->MajorFunction[IRP_MJ_PNP] = forward_and_wait;
    for (int pend = 0; pend < 2; pend++) {
        memset(&Trace, 0, sizeof Trace);
        s.Bus->MajorFunction[IRP_MJ_PNP] = pend ? bus_pend_to_worker : bus_dispatch;
        PIRP irp = owned_irp(&s, IRP_MJ_PNP);
        irp->IoStatus.Status = STATUS_NOT_SUPPORTED;
        assert_int_equal(IoCallDriver(s.Top, irp), STATUS_SUCCESS);
        /* bus done -> Fn's waiter (20) -> Fn completes (21) -> filter (3) -> owner (4) */
        assert_int_equal(Trace.Count, 4);
        assert_int_equal(Trace.Order[0], 20);
        assert_int_equal(Trace.Order[1], 21);
        assert_int_equal(Trace.Order[2], 3);
        assert_int_equal(Trace.Order[3], 4);
        assert_int_equal(irp->IoStatus.Information, 42);
        assert_false(Trace.PendingSeen[2]); /* Fn returned its own status: not pending above */
        IoFreeIrp(irp);
    }
    kmrig_runtime_destroy(rt);
}

/* IoForwardIrpSynchronously: the function driver sends the IRP down and waits for it. */
static BOOLEAN Forwarded;
static NTSTATUS NTAPI forward_sync(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    EXT *x = DeviceObject->DeviceExtension;
    Forwarded = IoForwardIrpSynchronously(x->Lower, Irp);
    if (Forwarded)
        Irp->IoStatus.Information += 100;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return Irp->IoStatus.Status;
}

static void test_io_forward_irp_synchronously(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(2);
    STACK s;
    build_stack(rt, &s);
    s.Fn->MajorFunction[IRP_MJ_READ] = forward_sync;
    for (int pend = 0; pend < 2; pend++) {
        memset(&Trace, 0, sizeof Trace);
        s.Bus->MajorFunction[IRP_MJ_READ] = pend ? bus_pend_to_worker : bus_dispatch;
        PIRP irp = owned_irp(&s, IRP_MJ_READ);
        assert_int_equal(IoCallDriver(s.Top, irp), STATUS_SUCCESS);
        assert_true(Forwarded);
        assert_int_equal(irp->IoStatus.Information, 105);
        assert_int_equal(Trace.Count, 2); /* the filter's and the owner's routines */
        IoFreeIrp(irp);
    }
    /* No stack location left below: FALSE, nothing sent. */
    PIRP irp = IoAllocateIrp(1, FALSE);
    IoGetNextIrpStackLocation(irp)->MajorFunction = IRP_MJ_READ;
    assert_int_equal(IoCallDriver(s.Fdo, irp), STATUS_SUCCESS);
    assert_false(Forwarded);
    IoFreeIrp(irp);
    kmrig_runtime_destroy(rt);
}

/* PendingReturned: the bus pends, every routine above sees PendingReturned and marks the IRP
 * pending; each dispatch routine returns STATUS_PENDING. */
static void test_io_complete_request_pending_returned_propagates(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    STACK s;
    build_stack(rt, &s);
    BusStatus = STATUS_PENDING;
    PIRP irp = owned_irp(&s, IRP_MJ_WRITE);
    assert_int_equal(IoCallDriver(s.Top, irp), STATUS_PENDING);
    assert_ptr_equal(BusPended, irp);
    assert_int_equal(Trace.Count, 0);
    io_complete(irp, STATUS_SUCCESS, 1);
    assert_int_equal(Trace.Count, 3);
    for (int i = 0; i < 3; i++)
        assert_true(Trace.PendingSeen[i]);
    /* The owner's routine gets its own device and marks its own location. */
    IoReuseIrp(irp, STATUS_SUCCESS);
    memset(&Trace, 0, sizeof Trace);
    for (int i = 0; i <= IRP_MJ_MAXIMUM_FUNCTION; i++)
        s.Fn->MajorFunction[i] = s.Filter->MajorFunction[i] = NULL;
    IoSetNextIrpStackLocation(irp); /* the owner's own location */
    PIO_STACK_LOCATION own = IoGetCurrentIrpStackLocation(irp);
    own->DeviceObject = s.Top; /* as if the owner were a driver with a location of its own */
    IoGetNextIrpStackLocation(irp)->MajorFunction = IRP_MJ_WRITE;
    IoSetCompletionRoutine(irp, owner_completion, (PVOID)4, TRUE, TRUE, TRUE);
    assert_int_equal(IoCallDriver(s.Pdo, irp), STATUS_PENDING);
    io_complete(irp, STATUS_SUCCESS, 1);
    assert_int_equal(Trace.Count, 1);
    assert_true(Trace.PendingSeen[0]);
    assert_true(own->Control & SL_PENDING_RETURNED); /* marked by owner_completion */
    IoFreeIrp(irp);
    kmrig_runtime_destroy(rt);
}

static void test_io_call_driver_function_and_po_call_driver(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    STACK s;
    build_stack(rt, &s);
    PIRP irp = IoAllocateIrp(1, FALSE);
    IoGetNextIrpStackLocation(irp)->MajorFunction = IRP_MJ_POWER;
    IoGetNextIrpStackLocation(irp)->MinorFunction = IRP_MN_SET_POWER;
    irp->IoStatus.Status = STATUS_NOT_SUPPORTED;
    BusStatus = STATUS_SUCCESS;
    assert_int_equal(PoCallDriver(s.Pdo, irp), STATUS_SUCCESS);
    assert_int_equal(irp->IoStatus.Information, 5);
    IoReuseIrp(irp, STATUS_SUCCESS);
    IoGetNextIrpStackLocation(irp)->MajorFunction = IRP_MJ_READ;
    BusStatus = STATUS_END_OF_FILE;
#undef IoCallDriver
    assert_int_equal(IoCallDriver(s.Pdo, irp), STATUS_END_OF_FILE);
    assert_int_equal(irp->IoStatus.Status, STATUS_END_OF_FILE);
    /* A driver with no dispatch routine for a major function fails it. */
    IoReuseIrp(irp, STATUS_SUCCESS);
    IoGetNextIrpStackLocation(irp)->MajorFunction = IRP_MJ_FLUSH_BUFFERS;
    s.Bus->MajorFunction[IRP_MJ_FLUSH_BUFFERS] = IopInvalidDeviceRequest;
    assert_int_equal(IofCallDriver(s.Pdo, irp), STATUS_INVALID_DEVICE_REQUEST);
    IoFreeIrp(irp);
    kmrig_runtime_destroy(rt);
}

/* The 3-deep stack: the function driver's and the filter's routines see success, an error, and
 * a cancellation (the bus's queued IRP cancelled through IoCancelIrp). */
static VOID NTAPI bus_cancel(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    IoReleaseCancelSpinLock(Irp->CancelIrql);
    io_complete(Irp, STATUS_CANCELLED, 0);
}

static NTSTATUS NTAPI bus_queue_cancelable(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    IoMarkIrpPending(Irp);
    IoSetCancelRoutine(Irp, bus_cancel);
    BusPended = Irp;
    return STATUS_PENDING;
}

static NTSTATUS Statuses[8];
static BOOLEAN Cancels[8];
static NTSTATUS NTAPI status_completion(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    Statuses[Trace.Count] = Irp->IoStatus.Status;
    Cancels[Trace.Count] = Irp->Cancel;
    return trace_completion(DeviceObject, Irp, Context);
}

static NTSTATUS NTAPI pass_down_status(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    EXT *x = DeviceObject->DeviceExtension;
    IoCopyCurrentIrpStackLocationToNext(Irp);
    IoSetCompletionRoutine(Irp, status_completion, (PVOID)(ULONG_PTR)x->Id, TRUE, TRUE, TRUE);
    return IoCallDriver(x->Lower, Irp);
}

static void test_io_three_deep_stack_success_error_cancel(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    STACK s;
    build_stack(rt, &s);
    s.Fn->MajorFunction[IRP_MJ_WRITE] = pass_down_status;
    s.Filter->MajorFunction[IRP_MJ_WRITE] = pass_down_status;
    static const NTSTATUS outcome[] = {STATUS_SUCCESS, STATUS_IO_DEVICE_ERROR, STATUS_CANCELLED};
    for (int i = 0; i < 3; i++) {
        memset(&Trace, 0, sizeof Trace);
        BusStatus = outcome[i];
        s.Bus->MajorFunction[IRP_MJ_WRITE] = i == 2 ? bus_queue_cancelable : bus_dispatch;
        PIRP irp = owned_irp(&s, IRP_MJ_WRITE);
        NTSTATUS st = IoCallDriver(s.Top, irp);
        if (i == 2) {
            assert_int_equal(st, STATUS_PENDING);
            assert_int_equal(Trace.Count, 0);
            assert_true(IoCancelIrp(irp)); /* the originator cancels its request */
        } else {
            assert_int_equal(st, outcome[i]);
        }
        assert_int_equal(Trace.Count, 3);
        for (int k = 0; k < 2; k++) {
            assert_int_equal(Statuses[k], outcome[i]);
            assert_int_equal(Cancels[k], i == 2);
        }
        assert_int_equal(irp->IoStatus.Status, outcome[i]);
        IoFreeIrp(irp);
    }
    kmrig_runtime_destroy(rt);
}

/* ---- associated IRPs ---- */

static int MasterDone;
static NTSTATUS NTAPI master_completion(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    MasterDone++;
    return STATUS_MORE_PROCESSING_REQUIRED;
}

static PIRP Held[4];
static int HeldCount;
static NTSTATUS NTAPI hold_dispatch(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    IoMarkIrpPending(Irp);
    Held[HeldCount++] = Irp;
    return STATUS_PENDING;
}

static void test_io_make_associated_irp_completes_master(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    PDRIVER_OBJECT fsd = io_load(rt, L"Fsd"), disk = io_load(rt, L"Disk");
    PDEVICE_OBJECT vol = io_device(fsd, NULL, 0), dsk = io_device(disk, NULL, 0);
    fsd->MajorFunction[IRP_MJ_READ] = hold_dispatch;
    disk->MajorFunction[IRP_MJ_READ] = hold_dispatch;
    HeldCount = 0;
    MasterDone = 0;
    PIRP master = IoAllocateIrp(2, FALSE);
    IoGetNextIrpStackLocation(master)->MajorFunction = IRP_MJ_READ;
    IoSetCompletionRoutine(master, master_completion, NULL, TRUE, TRUE, TRUE);
    assert_int_equal(IoCallDriver(vol, master), STATUS_PENDING);
    /* The FSD splits the read in three associated IRPs to the disk. */
    master->AssociatedIrp.IrpCount = 3;
    for (int i = 0; i < 3; i++) {
        PIRP a = IoMakeAssociatedIrp(master, 1);
        assert_non_null(a);
        assert_true(a->Flags & IRP_ASSOCIATED_IRP);
        assert_ptr_equal(a->AssociatedIrp.MasterIrp, master);
        IoGetNextIrpStackLocation(a)->MajorFunction = IRP_MJ_READ;
        assert_int_equal(IoCallDriver(dsk, a), STATUS_PENDING);
    }
    assert_int_equal(HeldCount, 4);
    master->IoStatus.Status = STATUS_SUCCESS;
    io_complete(Held[1], STATUS_SUCCESS, 0);
    io_complete(Held[2], STATUS_SUCCESS, 0);
    assert_int_equal(MasterDone, 0);
    assert_int_equal(master->AssociatedIrp.IrpCount, 1);
    io_complete(Held[3], STATUS_SUCCESS, 0); /* the last one completes the master */
    assert_int_equal(MasterDone, 1);
    IoFreeIrp(master);
    kmrig_runtime_destroy(rt);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_io_allocate_irp_initializes),
    cmocka_unit_test(test_io_size_of_irp),
    cmocka_unit_test(test_io_initialize_irp_caller_memory),
    cmocka_unit_test(test_io_reuse_irp),
    cmocka_unit_test(test_io_stack_location_functions_match_macros),
    cmocka_unit_test(test_io_complete_request_runs_completion_routines_bottom_up),
    cmocka_unit_test(test_io_complete_request_invoke_on_success_error_cancel),
    cmocka_unit_test(test_io_complete_request_more_processing_required_resumes),
    cmocka_unit_test(test_io_complete_request_pending_returned_propagates),
    cmocka_unit_test(test_io_forward_irp_synchronously),
    cmocka_unit_test(test_io_call_driver_function_and_po_call_driver),
    cmocka_unit_test(test_io_three_deep_stack_success_error_cancel),
    cmocka_unit_test(test_io_make_associated_irp_completes_master),
};
KMTEST_MAIN(tests)

/* StartIo: IoStartPacket (with a cancel routine), IoStartNextPacket, IoStartNextPacketByKey,
 * and a StartIo driver under load on 4 processors with queued and in-progress IRPs cancelled. */
#include "io_test.h"

/* ---- a StartIo driver: the "hardware" is a timer that finishes the current IRP ---- */

typedef struct {
    KTIMER Timer;
    KDPC Dpc;
    volatile LONG Started;
    volatile LONG InStartIo;
    volatile LONG Overlap;
    ULONG Order[64];
    volatile LONG OrderCount;
    BOOLEAN Manual; /* no timer: the test finishes IRPs itself */
} DEV_EXT;

static VOID NTAPI sio_cancel(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    if (Irp == DeviceObject->CurrentIrp) {
        /* In progress: the hardware finishes it soon; its DPC sees Irp->Cancel. */
        IoReleaseCancelSpinLock(Irp->CancelIrql);
        return;
    }
    BOOLEAN removed =
        KeRemoveEntryDeviceQueue(&DeviceObject->DeviceQueue, &Irp->Tail.Overlay.DeviceQueueEntry);
    IoReleaseCancelSpinLock(Irp->CancelIrql);
    assert_true(removed);
    Irp->IoStatus.Status = STATUS_CANCELLED;
    Irp->IoStatus.Information = 0;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
}

static VOID NTAPI sio_start(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    DEV_EXT *x = DeviceObject->DeviceExtension;
    assert_int_equal(KeGetCurrentIrql(), DISPATCH_LEVEL);
    assert_ptr_equal(DeviceObject->CurrentIrp, Irp);
    if (InterlockedIncrement(&x->InStartIo) > 1)
        x->Overlap = 1;
    LONG n = InterlockedIncrement(&x->OrderCount);
    if (n <= 64)
        x->Order[n - 1] = (ULONG)IoGetCurrentIrpStackLocation(Irp)->Parameters.Read.Key;
    InterlockedIncrement(&x->Started);
    if (!x->Manual) {
        LARGE_INTEGER due = {.QuadPart = -1000}; /* 100 us */
        KeSetTimer(&x->Timer, due, &x->Dpc);
    }
    InterlockedDecrement(&x->InStartIo);
}

/* The device finished the current IRP (at DISPATCH_LEVEL). */
static VOID sio_finish(PDEVICE_OBJECT DeviceObject)
{
    PIRP irp = DeviceObject->CurrentIrp;
    KIRQL irql;
    IoAcquireCancelSpinLock(&irql);
    IoSetCancelRoutine(irp, NULL);
    NTSTATUS s = irp->Cancel ? STATUS_CANCELLED : STATUS_SUCCESS;
    IoReleaseCancelSpinLock(irql);
    IoStartNextPacket(DeviceObject, TRUE);
    irp->IoStatus.Status = s;
    irp->IoStatus.Information = s == STATUS_SUCCESS ? 1 : 0;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
}

static VOID NTAPI sio_dpc(PKDPC Dpc, PVOID Context, PVOID A1, PVOID A2)
{
    sio_finish(Context);
}

static NTSTATUS NTAPI sio_dispatch(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    IoMarkIrpPending(Irp);
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(Irp);
    if (sl->Flags & SL_KEY_SPECIFIED) {
        ULONG key = sl->Parameters.Read.Key;
        IoStartPacket(DeviceObject, Irp, &key, sio_cancel);
    } else {
        IoStartPacket(DeviceObject, Irp, NULL, sio_cancel);
    }
    return STATUS_PENDING;
}

static PDEVICE_OBJECT sio_device(kmrig_runtime *rt, BOOLEAN manual)
{
    PDRIVER_OBJECT d = io_load(rt, L"Sio");
    d->MajorFunction[IRP_MJ_READ] = sio_dispatch;
    d->DriverStartIo = sio_start;
    PDEVICE_OBJECT dev = io_device(d, NULL, sizeof(DEV_EXT));
    DEV_EXT *x = dev->DeviceExtension;
    KeInitializeTimer(&x->Timer);
    KeInitializeDpc(&x->Dpc, sio_dpc, dev);
    x->Manual = manual;
    return dev;
}

/* ---- requests: driver-owned IRPs, counted when they complete ---- */

static volatile LONG Done, Cancelled, Succeeded;
static KEVENT AllDone;
static LONG Expected;

static NTSTATUS NTAPI count_completion(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    if (Irp->IoStatus.Status == STATUS_CANCELLED)
        InterlockedIncrement(&Cancelled);
    else if (Irp->IoStatus.Status == STATUS_SUCCESS)
        InterlockedIncrement(&Succeeded);
    if (InterlockedIncrement(&Done) == Expected)
        KeSetEvent(&AllDone, IO_NO_INCREMENT, FALSE);
    return STATUS_MORE_PROCESSING_REQUIRED;
}

static void reset_counts(LONG expected)
{
    Done = Cancelled = Succeeded = 0;
    Expected = expected;
    KeInitializeEvent(&AllDone, NotificationEvent, FALSE);
}

static PIRP send_read(PDEVICE_OBJECT dev, ULONG key, BOOLEAN byKey)
{
    PIRP irp = IoAllocateIrp(dev->StackSize, FALSE);
    PIO_STACK_LOCATION sl = IoGetNextIrpStackLocation(irp);
    sl->MajorFunction = IRP_MJ_READ;
    sl->Parameters.Read.Key = key;
    sl->Flags = byKey ? SL_KEY_SPECIFIED : 0;
    IoSetCompletionRoutine(irp, count_completion, NULL, TRUE, TRUE, TRUE);
    assert_int_equal(IoCallDriver(dev, irp), STATUS_PENDING);
    return irp;
}

static void finish_manual(PDEVICE_OBJECT dev)
{
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    sio_finish(dev);
    KeLowerIrql(old);
}

static void test_io_start_packet_fifo_and_start_next_packet(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    PDEVICE_OBJECT dev = sio_device(rt, TRUE);
    DEV_EXT *x = dev->DeviceExtension;
    reset_counts(4);
    PIRP irps[4];
    for (ULONG i = 0; i < 4; i++)
        irps[i] = send_read(dev, i, FALSE);
    /* The idle device started the first at once; the others wait in the device queue. */
    assert_int_equal(x->Started, 1);
    assert_ptr_equal(dev->CurrentIrp, irps[0]);
    assert_true(dev->DeviceQueue.Busy);
    for (int i = 0; i < 4; i++)
        finish_manual(dev);
    assert_int_equal(Succeeded, 4);
    assert_null(dev->CurrentIrp);
    assert_false(dev->DeviceQueue.Busy);
    for (ULONG i = 0; i < 4; i++)
        assert_int_equal(x->Order[i], i);
    for (int i = 0; i < 4; i++)
        IoFreeIrp(irps[i]);
    kmrig_runtime_destroy(rt);
}

static void test_io_start_next_packet_by_key(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    PDEVICE_OBJECT dev = sio_device(rt, TRUE);
    DEV_EXT *x = dev->DeviceExtension;
    static const ULONG keys[] = {50, 10, 70, 30, 90};
    PIRP irps[5];
    reset_counts(5);
    for (int i = 0; i < 5; i++)
        irps[i] = send_read(dev, keys[i], TRUE);
    /* Sorted by key in the queue; IoStartNextPacketByKey takes the first key >= the one given
     * (wrapping to the lowest). */
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    PIRP cur = dev->CurrentIrp;
    IoSetCancelRoutine(cur, NULL);
    IoStartNextPacketByKey(dev, TRUE, 60);
    io_complete(cur, STATUS_SUCCESS, 0);
    assert_int_equal(x->Order[1], 70);
    cur = dev->CurrentIrp;
    IoSetCancelRoutine(cur, NULL);
    IoStartNextPacketByKey(dev, FALSE, 95);
    io_complete(cur, STATUS_SUCCESS, 0);
    assert_int_equal(x->Order[2], 10);
    KeLowerIrql(old);
    for (int i = 0; i < 3; i++)
        finish_manual(dev);
    assert_int_equal(Succeeded, 5);
    assert_int_equal(x->Order[3], 30);
    assert_int_equal(x->Order[4], 90);
    for (int i = 0; i < 5; i++)
        IoFreeIrp(irps[i]);
    kmrig_runtime_destroy(rt);
}

static void test_io_start_packet_cancel_queued_and_in_progress(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    PDEVICE_OBJECT dev = sio_device(rt, TRUE);
    reset_counts(3);
    PIRP a = send_read(dev, 0, FALSE), b = send_read(dev, 1, FALSE), c = send_read(dev, 2, FALSE);
    /* Queued: the cancel routine takes it out of the device queue and completes it. */
    assert_true(IoCancelIrp(b));
    assert_int_equal(Cancelled, 1);
    /* In progress: the cancel routine leaves it to the device, which completes it cancelled. */
    assert_true(IoCancelIrp(a));
    assert_int_equal(Done, 1);
    finish_manual(dev);
    assert_int_equal(Cancelled, 2);
    assert_ptr_equal(dev->CurrentIrp, c);
    finish_manual(dev);
    assert_int_equal(Succeeded, 1);
    IoFreeIrp(a);
    IoFreeIrp(b);
    IoFreeIrp(c);
    kmrig_runtime_destroy(rt);
}

static void test_io_start_packet_cancelled_before_queued(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    PDEVICE_OBJECT dev = sio_device(rt, TRUE);
    reset_counts(2);
    PIRP a = send_read(dev, 0, FALSE); /* busy now */
    PIRP b = IoAllocateIrp(dev->StackSize, FALSE);
    IoGetNextIrpStackLocation(b)->MajorFunction = IRP_MJ_READ;
    IoSetCompletionRoutine(b, count_completion, NULL, TRUE, TRUE, TRUE);
    assert_false(IoCancelIrp(b)); /* no cancel routine yet */
    assert_int_equal(IoCallDriver(dev, b), STATUS_PENDING);
    /* IoStartPacket saw Irp->Cancel and ran the cancel routine itself. */
    assert_int_equal(Cancelled, 1);
    finish_manual(dev);
    assert_int_equal(Succeeded, 1);
    IoFreeIrp(a);
    IoFreeIrp(b);
    kmrig_runtime_destroy(rt);
}

/* IoSetStartIoAttributes(DeferredStartIo): a StartIo that finishes its IRP at once and calls
 * IoStartNextPacket does not recurse into StartIo. */
static volatile LONG Depth, MaxDepth;
static VOID NTAPI chain_start(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    DEV_EXT *x = DeviceObject->DeviceExtension;
    LONG d = InterlockedIncrement(&Depth);
    if (d > MaxDepth)
        MaxDepth = d;
    x->Order[x->OrderCount++] = IoGetCurrentIrpStackLocation(Irp)->Parameters.Read.Key;
    if (x->OrderCount > 1) { /* the first one waits for the test */
        IoSetCancelRoutine(Irp, NULL);
        IoStartNextPacket(DeviceObject, TRUE);
        io_complete(Irp, STATUS_SUCCESS, 0);
    }
    InterlockedDecrement(&Depth);
}

static void test_io_set_start_io_attributes_deferred(void **state)
{
    for (int deferred = 0; deferred < 2; deferred++) {
        kmrig_runtime *rt = kmtest_runtime(1);
        PDEVICE_OBJECT dev = sio_device(rt, TRUE);
        DEV_EXT *x = dev->DeviceExtension;
        dev->DriverObject->DriverStartIo = chain_start;
        if (deferred)
            IoSetStartIoAttributes(dev, TRUE, FALSE);
        Depth = MaxDepth = 0;
        reset_counts(5);
        PIRP irps[5];
        for (ULONG i = 0; i < 5; i++)
            irps[i] = send_read(dev, i, FALSE);
        finish_manual(dev); /* the first completes; the next four chain */
        assert_int_equal(Succeeded, 5);
        assert_int_equal(MaxDepth, deferred ? 1 : 4);
        for (ULONG i = 0; i < 5; i++)
            assert_int_equal(x->Order[i], i);
        assert_null(dev->CurrentIrp);
        for (int i = 0; i < 5; i++)
            IoFreeIrp(irps[i]);
        kmrig_runtime_destroy(rt);
    }
}

#define LOAD 300
static PIRP LoadIrps[LOAD];

static void test_io_start_packet_under_load_with_cancellation(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(4);
    PDEVICE_OBJECT dev = sio_device(rt, FALSE);
    DEV_EXT *x = dev->DeviceExtension;
    reset_counts(LOAD);
    for (int i = 0; i < LOAD; i++) {
        LoadIrps[i] = send_read(dev, (ULONG)i, FALSE);
        if (i % 3 == 0)
            IoCancelIrp(LoadIrps[i]); /* queued or in progress */
        if (i % 50 == 49) {
            LARGE_INTEGER t = kmtest_ms(1);
            KeDelayExecutionThread(KernelMode, FALSE, &t);
            for (int k = i - 49; k <= i; k += 7)
                IoCancelIrp(LoadIrps[k]); /* some already done: returns FALSE */
        }
    }
    LARGE_INTEGER limit = kmtest_ms(60000);
    assert_int_equal(KeWaitForSingleObject(&AllDone, Executive, KernelMode, FALSE, &limit),
                     STATUS_SUCCESS);
    assert_int_equal(Done, LOAD);
    assert_int_equal(Cancelled + Succeeded, LOAD);
    assert_true(Cancelled >= LOAD / 3);
    assert_int_equal(x->Overlap, 0); /* StartIo never ran twice at once */
    assert_null(dev->CurrentIrp);
    for (int i = 0; i < LOAD; i++)
        IoFreeIrp(LoadIrps[i]);
    kmrig_runtime_destroy(rt);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_io_start_packet_fifo_and_start_next_packet),
    cmocka_unit_test(test_io_start_next_packet_by_key),
    cmocka_unit_test(test_io_start_packet_cancel_queued_and_in_progress),
    cmocka_unit_test(test_io_start_packet_cancelled_before_queued),
    cmocka_unit_test(test_io_start_packet_under_load_with_cancellation),
    cmocka_unit_test(test_io_set_start_io_attributes_deferred),
};
KMTEST_MAIN(tests)

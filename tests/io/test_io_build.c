/* IoBuildSynchronousFsdRequest, IoBuildAsynchronousFsdRequest and IoBuildDeviceIoControlRequest
 * with buffered, direct (MDL) and neither I/O; the final phase of completion (copy back, user
 * status block, event, the IRP freed); the harness's IopSynchronousRequest. */
#include "io_test.h"

#include <kmrig/mm.h>

#define IOCTL_BUF CTL_CODE(FILE_DEVICE_UNKNOWN, 0x800, METHOD_BUFFERED, FILE_ANY_ACCESS)
#define IOCTL_IN CTL_CODE(FILE_DEVICE_UNKNOWN, 0x801, METHOD_IN_DIRECT, FILE_ANY_ACCESS)
#define IOCTL_OUT CTL_CODE(FILE_DEVICE_UNKNOWN, 0x802, METHOD_OUT_DIRECT, FILE_WRITE_ACCESS)
#define IOCTL_NEITHER CTL_CODE(FILE_DEVICE_UNKNOWN, 0x803, METHOD_NEITHER, FILE_READ_ACCESS)

static UCHAR User[64];
static PIRP Seen;
static PFILE_OBJECT SeenFile;
static NTSTATUS Pend; /* STATUS_PENDING: the dispatch routine pends and a DPC completes */
static KDPC CompleteDpc;

static VOID NTAPI complete_dpc(PKDPC Dpc, PVOID Ctx, PVOID A1, PVOID A2)
{
    IoCompleteRequest((PIRP)A1, IO_NO_INCREMENT);
}

static NTSTATUS finish(PIRP Irp, NTSTATUS Status, ULONG_PTR Information)
{
    Irp->IoStatus.Status = Status;
    Irp->IoStatus.Information = Information;
    if (Pend == STATUS_PENDING) {
        IoMarkIrpPending(Irp);
        KeInsertQueueDpc(&CompleteDpc, Irp, NULL);
        return STATUS_PENDING;
    }
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return Status;
}

static NTSTATUS NTAPI rw_dispatch(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(Irp);
    Seen = Irp;
    SeenFile = sl->FileObject;
    assert_ptr_equal(Irp->Tail.Overlay.Thread, KeGetCurrentThread());
    assert_int_equal(Irp->RequestorMode, KernelMode);
    assert_int_equal(sl->Parameters.Read.ByteOffset.QuadPart, 0x1000);
    ULONG len = sl->Parameters.Read.Length;
    PUCHAR data;
    if (DeviceObject->Flags & DO_BUFFERED_IO) {
        data = Irp->AssociatedIrp.SystemBuffer;
        assert_non_null(data);
        assert_ptr_not_equal(data, User);
        assert_true(Irp->Flags & IRP_BUFFERED_IO);
    } else if (DeviceObject->Flags & DO_DIRECT_IO) {
        assert_non_null(Irp->MdlAddress);
        assert_int_equal(MmGetMdlByteCount(Irp->MdlAddress), len);
        data = MmGetSystemAddressForMdlSafe(Irp->MdlAddress, NormalPagePriority);
        assert_non_null(data);
    } else {
        assert_null(Irp->MdlAddress);
        assert_null(Irp->AssociatedIrp.SystemBuffer);
        data = Irp->UserBuffer;
    }
    if (sl->MajorFunction == IRP_MJ_READ) {
        assert_true(!(DeviceObject->Flags & DO_BUFFERED_IO) || (Irp->Flags & IRP_INPUT_OPERATION));
        for (ULONG i = 0; i < len; i++)
            data[i] = (UCHAR)(0xA0 + i);
    } else {
        for (ULONG i = 0; i < len; i++)
            assert_int_equal(data[i], (UCHAR)(0x10 + i));
    }
    return finish(Irp, STATUS_SUCCESS, len / 2); /* half transferred */
}

static PDEVICE_OBJECT rw_device(kmrig_runtime *rt, ULONG flags)
{
    PDRIVER_OBJECT d = io_load(rt, L"Rw");
    d->MajorFunction[IRP_MJ_READ] = rw_dispatch;
    d->MajorFunction[IRP_MJ_WRITE] = rw_dispatch;
    d->MajorFunction[IRP_MJ_FLUSH_BUFFERS] = io_dispatch_success;
    PDEVICE_OBJECT dev = io_device(d, NULL, 0);
    dev->Flags |= flags;
    KeInitializeDpc(&CompleteDpc, complete_dpc, NULL);
    return dev;
}

static void run_sync(PDEVICE_OBJECT dev, UCHAR major, BOOLEAN pend)
{
    KEVENT ev;
    IO_STATUS_BLOCK iosb = {{STATUS_UNSUCCESSFUL}, 99};
    LARGE_INTEGER off = {{0x1000, 0}};
    KeInitializeEvent(&ev, NotificationEvent, FALSE);
    memset(User, 0, sizeof User);
    if (major == IRP_MJ_WRITE)
        for (int i = 0; i < 32; i++)
            User[i] = (UCHAR)(0x10 + i);
    Pend = pend ? STATUS_PENDING : STATUS_SUCCESS;
    PIRP irp = IoBuildSynchronousFsdRequest(major, dev, User, 32, &off, &ev, &iosb);
    assert_non_null(irp);
    assert_true(irp->Flags & IRP_SYNCHRONOUS_API);
    assert_ptr_equal(irp->UserBuffer, User);
    NTSTATUS s = IoCallDriver(dev, irp);
    if (pend) {
        assert_int_equal(s, STATUS_PENDING);
        assert_int_equal(KeWaitForSingleObject(&ev, Executive, KernelMode, FALSE, NULL),
                         STATUS_SUCCESS);
    } else {
        assert_int_equal(s, STATUS_SUCCESS);
        assert_int_equal(KeReadStateEvent(&ev), 1);
    }
    assert_int_equal(iosb.Status, STATUS_SUCCESS);
    assert_int_equal(iosb.Information, 16);
    if (major == IRP_MJ_READ) {
        /* Buffered: Information bytes copied back. Direct and neither: written in place. */
        ULONG n = (dev->Flags & DO_BUFFERED_IO) ? 16 : 32;
        for (ULONG i = 0; i < n; i++)
            assert_int_equal(User[i], (UCHAR)(0xA0 + i));
        for (ULONG i = n; i < 32; i++)
            assert_int_equal(User[i], 0);
    }
}

static void test_io_build_synchronous_fsd_request_buffered(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    PDEVICE_OBJECT dev = rw_device(rt, DO_BUFFERED_IO);
    for (int pend = 0; pend < 2; pend++) {
        run_sync(dev, IRP_MJ_READ, pend);
        run_sync(dev, IRP_MJ_WRITE, pend);
    }
    kmrig_runtime_destroy(rt); /* the IRPs were freed: no leak bugcheck */
}

static void test_io_build_synchronous_fsd_request_direct(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    PDEVICE_OBJECT dev = rw_device(rt, DO_DIRECT_IO);
    for (int pend = 0; pend < 2; pend++) {
        run_sync(dev, IRP_MJ_READ, pend);
        run_sync(dev, IRP_MJ_WRITE, pend);
    }
    kmrig_runtime_destroy(rt);
}

static void test_io_build_synchronous_fsd_request_neither(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    PDEVICE_OBJECT dev = rw_device(rt, 0);
    run_sync(dev, IRP_MJ_READ, FALSE);
    run_sync(dev, IRP_MJ_WRITE, TRUE);
    /* Requests without a buffer; majors it does not build. */
    KEVENT ev;
    IO_STATUS_BLOCK iosb;
    KeInitializeEvent(&ev, NotificationEvent, FALSE);
    PIRP irp = IoBuildSynchronousFsdRequest(IRP_MJ_FLUSH_BUFFERS, dev, NULL, 0, NULL, &ev, &iosb);
    assert_non_null(irp);
    assert_int_equal(IoGetNextIrpStackLocation(irp)->MajorFunction, IRP_MJ_FLUSH_BUFFERS);
    assert_int_equal(IoCallDriver(dev, irp), STATUS_SUCCESS);
    assert_int_equal(iosb.Status, STATUS_SUCCESS);
    assert_null(
        IoBuildSynchronousFsdRequest(IRP_MJ_DEVICE_CONTROL, dev, NULL, 0, NULL, &ev, &iosb));
    assert_null(IoBuildSynchronousFsdRequest(IRP_MJ_POWER, dev, NULL, 0, NULL, &ev, &iosb));
    kmrig_runtime_destroy(rt);
}

/* Direct I/O on a buffer the MDL probe refuses: the request is not built, nothing leaks. */
static void test_io_build_direct_io_probe_failure(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    PDEVICE_OBJECT dev = rw_device(rt, DO_DIRECT_IO);
    KEVENT ev;
    IO_STATUS_BLOCK iosb;
    KeInitializeEvent(&ev, NotificationEvent, FALSE);
    assert_null(IoBuildSynchronousFsdRequest(IRP_MJ_READ, dev, (PVOID)0x10, 32, NULL, &ev, &iosb));
    /* A read-only user buffer: a write request may lock it, a read into it may not. */
    static UCHAR ro[64];
    assert_int_equal(kmrig_user_buffer_register(rt, ro, sizeof ro, 0), 0);
    PIRP irp = IoBuildSynchronousFsdRequest(IRP_MJ_WRITE, dev, ro, 32, NULL, &ev, &iosb);
    assert_non_null(irp);
    assert_non_null(irp->MdlAddress);
    MmUnlockPages(irp->MdlAddress);
    IoFreeMdl(irp->MdlAddress);
    irp->MdlAddress = NULL;
    IoFreeIrp(irp);
    assert_null(IoBuildSynchronousFsdRequest(IRP_MJ_READ, dev, ro, 32, NULL, &ev, &iosb));
    UCHAR in[4] = {0};
    assert_null(IoBuildDeviceIoControlRequest(
        CTL_CODE(FILE_DEVICE_UNKNOWN, 0x802, METHOD_OUT_DIRECT, FILE_ANY_ACCESS), dev, in, 4, ro,
        16, FALSE, &ev, &iosb));
    assert_int_equal(kmrig_user_buffer_unregister(rt, ro), 0);
    kmrig_runtime_destroy(rt); /* no IRP, MDL or buffer leaked */
}

/* ---- asynchronous: the caller's completion routine frees what it built ---- */

static int AsyncDone;
static IO_STATUS_BLOCK AsyncIosb;
static NTSTATUS NTAPI async_completion(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    assert_null(DeviceObject);
    AsyncDone++;
    AsyncIosb = Irp->IoStatus;
    if (Irp->MdlAddress) {
        MmUnlockPages(Irp->MdlAddress);
        IoFreeMdl(Irp->MdlAddress);
        Irp->MdlAddress = NULL;
    }
    IoFreeIrp(Irp);
    return STATUS_MORE_PROCESSING_REQUIRED;
}

static void test_io_build_asynchronous_fsd_request(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    PDEVICE_OBJECT dev = rw_device(rt, DO_DIRECT_IO);
    LARGE_INTEGER off = {{0x1000, 0}};
    AsyncDone = 0;
    for (int pend = 0; pend < 2; pend++) {
        Pend = pend ? STATUS_PENDING : STATUS_SUCCESS;
        KIRQL old;
        KeRaiseIrql(DISPATCH_LEVEL, &old); /* allowed at DISPATCH_LEVEL */
        PIRP irp = IoBuildAsynchronousFsdRequest(IRP_MJ_READ, dev, User, 32, &off, NULL);
        KeLowerIrql(old);
        assert_non_null(irp);
        assert_null(irp->UserEvent);
        IoSetCompletionRoutine(irp, async_completion, NULL, TRUE, TRUE, TRUE);
        NTSTATUS s = IoCallDriver(dev, irp);
        assert_int_equal(s, pend ? STATUS_PENDING : STATUS_SUCCESS);
        assert_int_equal(AsyncDone, pend + 1); /* the DPC ran when IRQL dropped */
        assert_int_equal(AsyncIosb.Information, 16);
    }
    /* Power and PnP requests can be built asynchronously. */
    PIRP p = IoBuildAsynchronousFsdRequest(IRP_MJ_POWER, dev, NULL, 0, NULL, NULL);
    assert_non_null(p);
    IoFreeIrp(p);
    assert_null(IoBuildAsynchronousFsdRequest(IRP_MJ_CREATE, dev, NULL, 0, NULL, NULL));
    kmrig_runtime_destroy(rt);
}

/* ---- device I/O control ---- */

static NTSTATUS NTAPI ioctl_dispatch(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(Irp);
    ULONG in = sl->Parameters.DeviceIoControl.InputBufferLength,
          out = sl->Parameters.DeviceIoControl.OutputBufferLength;
    PUCHAR sys = Irp->AssociatedIrp.SystemBuffer, o;
    switch (sl->Parameters.DeviceIoControl.IoControlCode) {
    case IOCTL_BUF:
        assert_non_null(sys);
        assert_int_equal(sys[0], 0x11);
        assert_int_equal(sys[in - 1], 0x11 + in - 1);
        for (ULONG i = 0; i < out; i++)
            sys[i] = (UCHAR)(0xC0 + i); /* output over the input, in the same buffer */
        return finish(Irp, STATUS_SUCCESS, out);
    case IOCTL_IN:
    case IOCTL_OUT:
        assert_non_null(sys);
        assert_int_equal(sys[0], 0x11);
        assert_non_null(Irp->MdlAddress);
        o = MmGetSystemAddressForMdlSafe(Irp->MdlAddress, NormalPagePriority);
        assert_int_equal(MmGetMdlByteCount(Irp->MdlAddress), out);
        for (ULONG i = 0; i < out; i++)
            o[i] = (UCHAR)(0xD0 + i);
        return finish(Irp, STATUS_SUCCESS, out);
    case IOCTL_NEITHER:
        assert_null(sys);
        assert_null(Irp->MdlAddress);
        o = Irp->UserBuffer;
        assert_int_equal(((PUCHAR)sl->Parameters.DeviceIoControl.Type3InputBuffer)[0], 0x11);
        for (ULONG i = 0; i < out; i++)
            o[i] = (UCHAR)(0xE0 + i);
        return finish(Irp, STATUS_BUFFER_OVERFLOW, out);
    }
    return finish(Irp, STATUS_INVALID_DEVICE_REQUEST, 0);
}

static NTSTATUS NTAPI internal_dispatch(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    assert_int_equal(IoGetCurrentIrpStackLocation(Irp)->MajorFunction,
                     IRP_MJ_INTERNAL_DEVICE_CONTROL);
    return finish(Irp, STATUS_SUCCESS, 3);
}

static NTSTATUS ioctl(PDEVICE_OBJECT dev, ULONG code, ULONG in, ULONG out, BOOLEAN pend,
                      PIO_STATUS_BLOCK iosb, PUCHAR input, PUCHAR output)
{
    KEVENT ev;
    KeInitializeEvent(&ev, NotificationEvent, FALSE);
    for (ULONG i = 0; i < in; i++)
        input[i] = (UCHAR)(0x11 + i);
    memset(output, 0, 32);
    Pend = pend ? STATUS_PENDING : STATUS_SUCCESS;
    PIRP irp = IoBuildDeviceIoControlRequest(code, dev, input, in, output, out, FALSE, &ev, iosb);
    assert_non_null(irp);
    NTSTATUS s = IoCallDriver(dev, irp);
    if (s == STATUS_PENDING) {
        KeWaitForSingleObject(&ev, Executive, KernelMode, FALSE, NULL);
        s = iosb->Status;
    }
    return s;
}

static void test_io_build_device_io_control_request(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    PDRIVER_OBJECT d = io_load(rt, L"Ctl");
    d->MajorFunction[IRP_MJ_DEVICE_CONTROL] = ioctl_dispatch;
    d->MajorFunction[IRP_MJ_INTERNAL_DEVICE_CONTROL] = internal_dispatch;
    PDEVICE_OBJECT dev = io_device(d, NULL, 0);
    KeInitializeDpc(&CompleteDpc, complete_dpc, NULL);
    UCHAR in[32], out[32];
    IO_STATUS_BLOCK iosb;
    for (int pend = 0; pend < 2; pend++) {
        assert_int_equal(ioctl(dev, IOCTL_BUF, 4, 8, pend, &iosb, in, out), STATUS_SUCCESS);
        assert_int_equal(iosb.Information, 8);
        for (int i = 0; i < 8; i++)
            assert_int_equal(out[i], 0xC0 + i);
        assert_int_equal(out[8], 0);
        assert_int_equal(ioctl(dev, IOCTL_BUF, 16, 2, pend, &iosb, in, out), STATUS_SUCCESS);
        assert_int_equal(out[1], 0xC1);
        assert_int_equal(out[2], 0); /* only Information bytes come back */
        assert_int_equal(ioctl(dev, IOCTL_IN, 4, 8, pend, &iosb, in, out), STATUS_SUCCESS);
        assert_int_equal(out[7], 0xD7);
        assert_int_equal(ioctl(dev, IOCTL_OUT, 4, 8, pend, &iosb, in, out), STATUS_SUCCESS);
        assert_int_equal(out[0], 0xD0);
        assert_int_equal(ioctl(dev, IOCTL_NEITHER, 4, 8, pend, &iosb, in, out),
                         STATUS_BUFFER_OVERFLOW);
        assert_int_equal(iosb.Status, STATUS_BUFFER_OVERFLOW);
        assert_int_equal(out[7], 0xE7);
    }
    /* Unknown code: the error status comes back, nothing is copied. */
    assert_int_equal(
        ioctl(dev, CTL_CODE(0x22, 0x900, METHOD_BUFFERED, 0), 4, 4, FALSE, &iosb, in, out),
        STATUS_INVALID_DEVICE_REQUEST);
    assert_int_equal(out[0], 0);
    /* Internal device control. */
    KEVENT ev;
    KeInitializeEvent(&ev, NotificationEvent, FALSE);
    Pend = STATUS_SUCCESS;
    PIRP irp =
        IoBuildDeviceIoControlRequest(IOCTL_NEITHER, dev, NULL, 0, NULL, 0, TRUE, &ev, &iosb);
    assert_int_equal(IoCallDriver(dev, irp), STATUS_SUCCESS);
    assert_int_equal(iosb.Information, 3);
    /* No buffers at all with METHOD_BUFFERED. */
    irp = IoBuildDeviceIoControlRequest(IOCTL_BUF, dev, NULL, 0, NULL, 0, FALSE, &ev, &iosb);
    assert_null(irp->AssociatedIrp.SystemBuffer);
    assert_int_equal(irp->Flags & IRP_BUFFERED_IO, 0);
    IoFreeIrp(irp);
    kmrig_runtime_destroy(rt);
}

/* ---- the harness path: open by name, send, close ---- */

static void test_io_synchronous_request_on_opened_device(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    PDRIVER_OBJECT d = io_load(rt, L"Harness");
    d->MajorFunction[IRP_MJ_CREATE] = io_dispatch_success;
    d->MajorFunction[IRP_MJ_CLEANUP] = io_dispatch_success;
    d->MajorFunction[IRP_MJ_CLOSE] = io_dispatch_success;
    d->MajorFunction[IRP_MJ_DEVICE_CONTROL] = ioctl_dispatch;
    d->MajorFunction[IRP_MJ_READ] = rw_dispatch;
    PDEVICE_OBJECT dev = io_device(d, L"\\Device\\Harness0", 0);
    dev->Flags |= DO_BUFFERED_IO;
    UNICODE_STRING link = io_us(L"\\DosDevices\\HARNESS"), target = io_us(L"\\Device\\Harness0");
    assert_int_equal(IoCreateSymbolicLink(&link, &target), STATUS_SUCCESS);
    KeInitializeDpc(&CompleteDpc, complete_dpc, NULL);
    Pend = STATUS_PENDING;
    PFILE_OBJECT f;
    UNICODE_STRING n = io_us(L"\\??\\Harness");
    assert_int_equal(IopOpenDevice(rt, &n, FILE_ALL_ACCESS, 0, &f), STATUS_SUCCESS);
    UCHAR in[4] = {0x11, 0x12, 0x13, 0x14}, out[8] = {0};
    IO_STATUS_BLOCK iosb;
    assert_int_equal(
        IopSynchronousRequest(f, IRP_MJ_DEVICE_CONTROL, IOCTL_BUF, in, 4, out, 8, NULL, &iosb),
        STATUS_SUCCESS);
    assert_int_equal(iosb.Information, 8);
    assert_int_equal(out[7], 0xC7);
    LARGE_INTEGER off = {{0x1000, 0}};
    UCHAR buf[32] = {0};
    assert_int_equal(IopSynchronousRequest(f, IRP_MJ_READ, 0, NULL, 0, buf, 32, &off, &iosb),
                     STATUS_SUCCESS);
    assert_int_equal(iosb.Information, 16);
    assert_int_equal(buf[15], 0xAF);
    assert_ptr_equal(SeenFile, f);
    assert_int_equal(IopSynchronousRequest(f, IRP_MJ_CREATE, 0, NULL, 0, NULL, 0, NULL, &iosb),
                     STATUS_INVALID_PARAMETER);
    IopCloseFile(f);
    kmrig_runtime_destroy(rt);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_io_build_synchronous_fsd_request_buffered),
    cmocka_unit_test(test_io_build_synchronous_fsd_request_direct),
    cmocka_unit_test(test_io_build_synchronous_fsd_request_neither),
    cmocka_unit_test(test_io_build_direct_io_probe_failure),
    cmocka_unit_test(test_io_build_asynchronous_fsd_request),
    cmocka_unit_test(test_io_build_device_io_control_request),
    cmocka_unit_test(test_io_synchronous_request_on_opened_device),
};
KMTEST_MAIN(tests)

/* Share access (IoCheckShareAccess, IoSetShareAccess, IoUpdateShareAccess, IoRemoveShareAccess),
 * IoGetFileObjectGenericMapping, the error log as the harness reads it, IoIsErrorUserInduced,
 * hard errors and the per-thread verify device. */
#include "io_test.h"

static void test_io_check_share_access(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    SHARE_ACCESS sa;
    FILE_OBJECT f1, f2, f3, f4;
    kmtest_junk(&sa, sizeof sa);
    memset(&f1, 0, sizeof f1);
    f2 = f3 = f4 = f1;
    /* First opener: read, sharing read. */
    IoSetShareAccess(FILE_READ_DATA, FILE_SHARE_READ, &f1, &sa);
    assert_int_equal(sa.OpenCount, 1);
    assert_int_equal(sa.Readers, 1);
    assert_int_equal(sa.Writers, 0);
    assert_int_equal(sa.SharedRead, 1);
    assert_int_equal(sa.SharedWrite, 0);
    assert_true(f1.ReadAccess);
    assert_true(f1.SharedRead);
    /* A writer conflicts (the first did not share write); a reader sharing read does not. */
    assert_int_equal(
        IoCheckShareAccess(FILE_WRITE_DATA, FILE_SHARE_READ | FILE_SHARE_WRITE, &f2, &sa, TRUE),
        STATUS_SHARING_VIOLATION);
    assert_int_equal(sa.OpenCount, 1);
    assert_int_equal(IoCheckShareAccess(FILE_READ_DATA, FILE_SHARE_WRITE, &f2, &sa, TRUE),
                     STATUS_SHARING_VIOLATION); /* does not share read with a reader */
    assert_int_equal(IoCheckShareAccess(FILE_EXECUTE, FILE_SHARE_READ, &f2, &sa, FALSE),
                     STATUS_SUCCESS);
    assert_int_equal(sa.OpenCount, 1); /* no update */
    assert_int_equal(IoCheckShareAccess(FILE_READ_DATA, FILE_SHARE_READ, &f2, &sa, TRUE),
                     STATUS_SUCCESS);
    assert_int_equal(sa.OpenCount, 2);
    assert_int_equal(sa.Readers, 2);
    /* Opens with no read, write or delete access never conflict nor count. */
    assert_int_equal(IoCheckShareAccess(FILE_READ_ATTRIBUTES | SYNCHRONIZE, 0, &f3, &sa, TRUE),
                     STATUS_SUCCESS);
    assert_int_equal(sa.OpenCount, 2);
    /* Delete access against openers that do not share delete. */
    assert_int_equal(IoCheckShareAccess(DELETE, FILE_SHARE_VALID_FLAGS, &f4, &sa, TRUE),
                     STATUS_SHARING_VIOLATION);
    IoRemoveShareAccess(&f1, &sa);
    IoRemoveShareAccess(&f2, &sa);
    assert_int_equal(sa.OpenCount, 0);
    assert_int_equal(sa.Readers, 0);
    assert_int_equal(sa.SharedRead, 0);
    assert_int_equal(IoCheckShareAccess(DELETE | FILE_WRITE_DATA, 0, &f4, &sa, TRUE),
                     STATUS_SUCCESS);
    assert_int_equal(sa.Writers, 1);
    assert_int_equal(sa.Deleters, 1);
    /* IoUpdateShareAccess adds an opener whose access was checked before. */
    assert_int_equal(IoCheckShareAccess(FILE_READ_DATA, FILE_SHARE_VALID_FLAGS, &f1, &sa, FALSE),
                     STATUS_SHARING_VIOLATION);
    IoRemoveShareAccess(&f4, &sa);
    assert_int_equal(IoCheckShareAccess(FILE_APPEND_DATA, FILE_SHARE_VALID_FLAGS, &f1, &sa, FALSE),
                     STATUS_SUCCESS);
    IoUpdateShareAccess(&f1, &sa);
    assert_int_equal(sa.OpenCount, 1);
    assert_int_equal(sa.Writers, 1);
    assert_int_equal(sa.SharedDelete, 1);
    /* Setting share access for an open without data access leaves it empty. */
    IoSetShareAccess(SYNCHRONIZE, FILE_SHARE_READ, &f3, &sa);
    assert_int_equal(sa.OpenCount, 0);
    assert_int_equal(sa.SharedRead, 0);
    kmrig_runtime_destroy(rt);
}

static void test_io_get_file_object_generic_mapping(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    PGENERIC_MAPPING m = IoGetFileObjectGenericMapping();
    assert_int_equal(m->GenericRead, 0x120089);
    assert_int_equal(m->GenericWrite, 0x120116);
    assert_int_equal(m->GenericExecute, 0x1200A0);
    assert_int_equal(m->GenericAll, 0x1F01FF);
    assert_int_equal(m->GenericRead, FILE_GENERIC_READ);
    kmrig_runtime_destroy(rt);
}

static void test_io_write_error_log_entry(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    PDRIVER_OBJECT d = io_load(rt, L"ErrLog");
    PDEVICE_OBJECT dev = io_device(d, NULL, 0);
    assert_int_equal(IopErrorLogCount(rt), 0);
    UCHAR size = sizeof(IO_ERROR_LOG_PACKET) + 2 * sizeof(ULONG);
    PIO_ERROR_LOG_PACKET p = IoAllocateErrorLogEntry(dev, size);
    assert_non_null(p);
    static const UCHAR zero[sizeof(IO_ERROR_LOG_PACKET) + 8];
    assert_memory_equal(p, zero, size);
    LONG refs = ObGetObjectPointerCount(dev);
    p->MajorFunctionCode = IRP_MJ_READ;
    p->RetryCount = 2;
    p->ErrorCode = (NTSTATUS)0xC0040004;
    p->UniqueErrorValue = 0x1234;
    p->FinalStatus = STATUS_IO_TIMEOUT;
    p->DumpDataSize = 3 * sizeof(ULONG);
    p->DumpData[0] = 0xAA;
    p->DumpData[2] = 0xCC;
    IoWriteErrorLogEntry(p);
    assert_int_equal(ObGetObjectPointerCount(dev), refs - 1); /* written: not referenced */
    /* From DISPATCH_LEVEL too, with the driver object. */
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    p = IoAllocateErrorLogEntry(d, sizeof(IO_ERROR_LOG_PACKET));
    p->ErrorCode = 7;
    IoWriteErrorLogEntry(p);
    KeLowerIrql(old);
    assert_int_equal(IopErrorLogCount(rt), 2);
    const IOP_ERROR_LOG_RECORD *r = IopErrorLogEntry(rt, 0);
    assert_non_null(r);
    assert_ptr_equal(r->IoObject, dev);
    assert_int_equal(r->Size, size);
    assert_int_equal(r->Packet.ErrorCode, (NTSTATUS)0xC0040004);
    assert_int_equal(r->Packet.UniqueErrorValue, 0x1234);
    assert_int_equal(r->Packet.FinalStatus, STATUS_IO_TIMEOUT);
    assert_int_equal(r->Packet.DumpData[2], 0xCC);
    assert_int_equal(r->Packet.SequenceNumber, 1);
    assert_true(r->Time > 0);
    UNICODE_STRING name = io_us(r->DriverName), want = io_us(L"\\Driver\\ErrLog");
    assert_true(RtlEqualUnicodeString(&name, &want, FALSE));
    r = IopErrorLogEntry(rt, 1);
    assert_ptr_equal(r->IoObject, d);
    assert_int_equal(r->Packet.ErrorCode, 7);
    assert_int_equal(r->Packet.SequenceNumber, 2);
    assert_null(IopErrorLogEntry(rt, 2));
    /* Too big, or no object: NULL. An entry not written is freed. */
    assert_null(IoAllocateErrorLogEntry(dev, ERROR_LOG_MAXIMUM_SIZE + 1));
    assert_null(IoAllocateErrorLogEntry(NULL, sizeof(IO_ERROR_LOG_PACKET)));
    p = IoAllocateErrorLogEntry(dev, ERROR_LOG_MAXIMUM_SIZE);
    assert_non_null(p);
    IoFreeErrorLogEntry(p);
    assert_int_equal(ObGetObjectPointerCount(dev), refs - 1);
    assert_int_equal(IopErrorLogCount(rt), 2);
    kmrig_runtime_destroy(rt);
}

static void test_io_is_error_user_induced(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    static const NTSTATUS user[] = {STATUS_DEVICE_NOT_READY,      STATUS_IO_TIMEOUT,
                                    STATUS_MEDIA_WRITE_PROTECTED, STATUS_NO_MEDIA_IN_DEVICE,
                                    STATUS_UNRECOGNIZED_MEDIA,    STATUS_VERIFY_REQUIRED,
                                    STATUS_WRONG_VOLUME};
    static const NTSTATUS other[] = {STATUS_SUCCESS, STATUS_IO_DEVICE_ERROR, STATUS_CRC_ERROR,
                                     STATUS_DEVICE_DATA_ERROR, STATUS_PENDING};
    for (unsigned i = 0; i < ARRAYSIZE(user); i++)
        assert_true(IoIsErrorUserInduced(user[i]));
    for (unsigned i = 0; i < ARRAYSIZE(other); i++)
        assert_false(IoIsErrorUserInduced(other[i]));
#undef IoIsErrorUserInduced
    for (unsigned i = 0; i < ARRAYSIZE(user); i++)
        assert_true(IoIsErrorUserInduced(user[i]));
    for (unsigned i = 0; i < ARRAYSIZE(other); i++)
        assert_false(IoIsErrorUserInduced(other[i]));
    kmrig_runtime_destroy(rt);
}

/* ---- hard errors ---- */

static PIRP Held;
static NTSTATUS NTAPI hold(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    IoMarkIrpPending(Irp);
    Held = Irp;
    return STATUS_PENDING;
}

static void test_io_raise_hard_error_completes_irp(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    PDRIVER_OBJECT d = io_load(rt, L"Hard");
    d->MajorFunction[IRP_MJ_READ] = hold;
    PDEVICE_OBJECT dev = io_device(d, NULL, 0);
    for (int disabled = 0; disabled < 2; disabled++) {
        KEVENT ev;
        IO_STATUS_BLOCK iosb;
        KeInitializeEvent(&ev, NotificationEvent, FALSE);
        ULONG before = IopHardErrorCount(rt);
        assert_true(IoSetThreadHardErrorMode(!disabled) || disabled);
        PIRP irp = IoBuildSynchronousFsdRequest(IRP_MJ_READ, dev, NULL, 0, NULL, &ev, &iosb);
        assert_int_equal(IoCallDriver(dev, irp), STATUS_PENDING);
        Held->IoStatus.Status = STATUS_NO_MEDIA_IN_DEVICE;
        Held->IoStatus.Information = 12;
        IoRaiseHardError(Held, NULL, dev);
        /* Enabled: the "pop-up" is answered on a worker thread, which completes the IRP.
         * Disabled: completed at once, with nothing transferred. */
        if (disabled)
            assert_int_equal(KeReadStateEvent(&ev), 1);
        assert_int_equal(KeWaitForSingleObject(&ev, Executive, KernelMode, FALSE, NULL),
                         STATUS_SUCCESS);
        assert_int_equal(iosb.Status, STATUS_NO_MEDIA_IN_DEVICE);
        assert_int_equal(iosb.Information, disabled ? 0 : 12);
        assert_int_equal(IopHardErrorCount(rt), before + (disabled ? 0 : 1));
    }
    assert_false(IoSetThreadHardErrorMode(TRUE)); /* the previous mode: disabled */
    assert_true(IoSetThreadHardErrorMode(TRUE));
    kmrig_runtime_destroy(rt);
}

/* A hard error raised just before the runtime goes: its IRP is still completed. */
static int Completions;
static NTSTATUS NTAPI count_completion(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    Completions++;
    IoFreeIrp(Irp);
    return STATUS_MORE_PROCESSING_REQUIRED;
}

static void test_io_raise_hard_error_before_shutdown(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    PDRIVER_OBJECT d = io_load(rt, L"Hard2");
    d->MajorFunction[IRP_MJ_READ] = hold;
    PDEVICE_OBJECT dev = io_device(d, NULL, 0);
    PIRP irp = IoAllocateIrp(1, FALSE);
    IoGetNextIrpStackLocation(irp)->MajorFunction = IRP_MJ_READ;
    IoSetCompletionRoutine(irp, count_completion, NULL, TRUE, TRUE, TRUE);
    irp->Tail.Overlay.Thread = PsGetCurrentThread();
    assert_int_equal(IoCallDriver(dev, irp), STATUS_PENDING);
    Held->IoStatus.Status = STATUS_DEVICE_NOT_READY;
    Completions = 0;
    KIRQL old;
    KeRaiseIrql(APC_LEVEL, &old); /* allowed up to APC_LEVEL; the worker cannot run yet */
    IoRaiseHardError(Held, NULL, dev);
    KeLowerIrql(old);
    kmrig_runtime_destroy(rt); /* waits for the worker; the IRP is not leaked */
    assert_int_equal(Completions, 1);
}

static void test_io_raise_informational_hard_error(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    UNICODE_STRING s = io_us(L"\\Device\\Harddisk0");
    assert_true(IoRaiseInformationalHardError(STATUS_IO_DEVICE_ERROR, &s, NULL));
    assert_true(IoRaiseInformationalHardError(STATUS_DISK_FULL, NULL, KeGetCurrentThread()));
    assert_int_equal(IopHardErrorCount(rt), 2);
    IoSetThreadHardErrorMode(FALSE);
    assert_false(IoRaiseInformationalHardError(STATUS_DISK_FULL, NULL, KeGetCurrentThread()));
    assert_int_equal(IopHardErrorCount(rt), 2);
    kmrig_runtime_destroy(rt);
}

static void test_io_set_hard_error_or_verify_device(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    PDRIVER_OBJECT d = io_load(rt, L"Verify");
    PDEVICE_OBJECT dev = io_device(d, NULL, 0);
    PETHREAD me = (PETHREAD)KeGetCurrentThread();
    assert_null(IoGetDeviceToVerify(me));
    PIRP irp = IoAllocateIrp(1, FALSE);
    irp->Tail.Overlay.Thread = me;
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    IoSetHardErrorOrVerifyDevice(irp, dev);
    KeLowerIrql(old);
    assert_ptr_equal(IoGetDeviceToVerify(me), dev);
    irp->Tail.Overlay.Thread = NULL; /* no thread: the caller's */
    IoSetHardErrorOrVerifyDevice(irp, NULL);
    assert_null(IoGetDeviceToVerify(me));
    IoFreeIrp(irp);
    kmrig_runtime_destroy(rt);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_io_check_share_access),
    cmocka_unit_test(test_io_get_file_object_generic_mapping),
    cmocka_unit_test(test_io_write_error_log_entry),
    cmocka_unit_test(test_io_is_error_user_induced),
    cmocka_unit_test(test_io_raise_hard_error_completes_irp),
    cmocka_unit_test(test_io_raise_hard_error_before_shutdown),
    cmocka_unit_test(test_io_raise_informational_hard_error),
    cmocka_unit_test(test_io_set_hard_error_or_verify_device),
};
KMTEST_MAIN(tests)

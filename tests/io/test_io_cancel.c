/* Cancellation: the cancel spin lock, IoSetCancelRoutine, IoCancelIrp. */
#include "io_test.h"

static int Calls;
static KIRQL IrqlInRoutine, CancelIrql;
static PDEVICE_OBJECT RoutineDevice;
static BOOLEAN CancelFlag, RoutineCleared;

static VOID NTAPI cancel_routine(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    Calls++;
    IrqlInRoutine = KeGetCurrentIrql();
    CancelIrql = Irp->CancelIrql;
    RoutineDevice = DeviceObject;
    CancelFlag = Irp->Cancel;
    RoutineCleared = Irp->CancelRoutine == NULL;
    IoReleaseCancelSpinLock(Irp->CancelIrql);
    Irp->IoStatus.Status = STATUS_CANCELLED;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
}

static PIRP Queued;
static NTSTATUS NTAPI queue_dispatch(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    IoMarkIrpPending(Irp);
    IoSetCancelRoutine(Irp, cancel_routine);
    Queued = Irp;
    return STATUS_PENDING;
}

static void test_io_cancel_irp_calls_cancel_routine(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    PDRIVER_OBJECT d = io_load(rt, L"Cancel");
    d->MajorFunction[IRP_MJ_READ] = queue_dispatch;
    PDEVICE_OBJECT dev = io_device(d, NULL, 0);
    for (KIRQL irql = PASSIVE_LEVEL; irql <= DISPATCH_LEVEL; irql += DISPATCH_LEVEL) {
        KEVENT ev;
        IO_STATUS_BLOCK iosb;
        KeInitializeEvent(&ev, NotificationEvent, FALSE);
        PIRP irp = IoBuildSynchronousFsdRequest(IRP_MJ_READ, dev, NULL, 0, NULL, &ev, &iosb);
        assert_int_equal(IoCallDriver(dev, irp), STATUS_PENDING);
        Calls = 0;
        KIRQL old;
        KeRaiseIrql(irql, &old);
        assert_true(IoCancelIrp(irp));
        KeLowerIrql(old);
        assert_int_equal(Calls, 1);
        assert_int_equal(IrqlInRoutine, DISPATCH_LEVEL);
        assert_int_equal(CancelIrql, irql);
        assert_ptr_equal(RoutineDevice, dev);
        assert_true(CancelFlag);
        assert_true(RoutineCleared);
        assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
        assert_int_equal(KeWaitForSingleObject(&ev, Executive, KernelMode, FALSE, NULL),
                         STATUS_SUCCESS);
        assert_int_equal(iosb.Status, STATUS_CANCELLED);
    }
    kmrig_runtime_destroy(rt);
}

static void test_io_cancel_irp_without_cancel_routine(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    PIRP irp = IoAllocateIrp(1, FALSE);
    Calls = 0;
    assert_false(IoCancelIrp(irp));
    assert_true(irp->Cancel);
    assert_int_equal(Calls, 0);
    /* Cancelling again still finds no routine. */
    assert_false(IoCancelIrp(irp));
    IoFreeIrp(irp);
    kmrig_runtime_destroy(rt);
}

static VOID NTAPI other_routine(PDEVICE_OBJECT DeviceObject, PIRP Irp) {}

static void test_io_set_cancel_routine_returns_previous(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    PIRP irp = IoAllocateIrp(1, FALSE);
    assert_null(IoSetCancelRoutine(irp, cancel_routine));
    assert_ptr_equal(IoSetCancelRoutine(irp, other_routine), cancel_routine);
#undef IoSetCancelRoutine
    assert_ptr_equal(IoSetCancelRoutine(irp, NULL), other_routine);
    assert_null(IoSetCancelRoutine(irp, NULL));
    IoFreeIrp(irp);
    kmrig_runtime_destroy(rt);
}

static void test_io_acquire_cancel_spin_lock(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(2);
    KIRQL old = 0xFF;
    IoAcquireCancelSpinLock(&old);
    assert_int_equal(old, PASSIVE_LEVEL);
    assert_int_equal(KeGetCurrentIrql(), DISPATCH_LEVEL);
    IoReleaseCancelSpinLock(old);
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
    /* At DISPATCH_LEVEL it stays there. */
    KIRQL o2;
    KeRaiseIrql(DISPATCH_LEVEL, &o2);
    IoAcquireCancelSpinLock(&old);
    assert_int_equal(old, DISPATCH_LEVEL);
    IoReleaseCancelSpinLock(old);
    assert_int_equal(KeGetCurrentIrql(), DISPATCH_LEVEL);
    KeLowerIrql(o2);
    kmrig_runtime_destroy(rt);
}

static void release_at_passive(void *arg)
{
    kmtest_runtime(1);
    IoReleaseCancelSpinLock(PASSIVE_LEVEL);
}

static void acquire_above_dispatch(void *arg)
{
    kmtest_runtime(1);
    KIRQL old, c;
    KeRaiseIrql(DISPATCH_LEVEL + 1, &old);
    IoAcquireCancelSpinLock(&c);
}

static void test_io_cancel_spin_lock_irql_rules(void **state)
{
    ULONG_PTR p[4];
    assert_int_equal(kmtest_bugcheck_of(release_at_passive, NULL, p),
                     DRIVER_VERIFIER_DETECTED_VIOLATION);
    assert_int_equal(p[0], KMRIG_VF_IRQL_TOO_LOW);
    assert_int_equal(kmtest_bugcheck_of(acquire_above_dispatch, NULL, p),
                     DRIVER_VERIFIER_DETECTED_VIOLATION);
    assert_int_equal(p[0], KMRIG_VF_IRQL_TOO_HIGH);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_io_cancel_irp_calls_cancel_routine),
    cmocka_unit_test(test_io_cancel_irp_without_cancel_routine),
    cmocka_unit_test(test_io_set_cancel_routine_returns_previous),
    cmocka_unit_test(test_io_acquire_cancel_spin_lock),
    cmocka_unit_test(test_io_cancel_spin_lock_irql_rules),
};
KMTEST_MAIN(tests)

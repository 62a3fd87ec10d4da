/* The IRP verifier (KMRIG_VERIFY_IO): each rule fires on a driver that breaks it, with the WDK's
 * bugcheck code and parameters; the documented patterns next to each rule do not fire. */
#include "io_test.h"

static PDEVICE_OBJECT Dev, Lower;
static PIRP Irp, HeldIrp;

static PDEVICE_OBJECT make_device(PDRIVER_DISPATCH dispatch)
{
    static int n;
    WCHAR name[8] = {L'V', L'f', (WCHAR)(L'a' + n / 26 % 26), (WCHAR)(L'a' + n % 26), 0};
    n++;
    PDRIVER_OBJECT d = io_load(KiRuntime(), name);
    for (int i = 0; i <= IRP_MJ_MAXIMUM_FUNCTION; i++)
        d->MajorFunction[i] = dispatch;
    return io_device(d, NULL, 0);
}

/* Sends a driver-owned IRP; its completion routine keeps it (STATUS_MORE_PROCESSING_REQUIRED). */
static NTSTATUS NTAPI keep(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    return STATUS_MORE_PROCESSING_REQUIRED;
}

static NTSTATUS send(PDEVICE_OBJECT dev)
{
    Irp = IoAllocateIrp(dev->StackSize, FALSE);
    IoGetNextIrpStackLocation(Irp)->MajorFunction = IRP_MJ_READ;
    IoSetCompletionRoutine(Irp, keep, NULL, TRUE, TRUE, TRUE);
    return IoCallDriver(dev, Irp);
}

/* ---- completing twice ---- */

static NTSTATUS NTAPI complete_twice(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    io_complete(Irp, STATUS_SUCCESS, 0);
    io_complete(Irp, STATUS_SUCCESS, 0);
    return STATUS_SUCCESS;
}

static void run_complete_twice(void *arg)
{
    kmtest_runtime(1);
    send(make_device(complete_twice));
}

/* ---- completing with a cancel routine set ---- */

static VOID NTAPI some_cancel(PDEVICE_OBJECT DeviceObject, PIRP Irp) {}

static NTSTATUS NTAPI complete_with_cancel_routine(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    IoSetCancelRoutine(Irp, some_cancel);
    return io_complete(Irp, STATUS_SUCCESS, 0);
}

static void run_complete_with_cancel_routine(void *arg)
{
    kmtest_runtime(1);
    send(make_device(complete_with_cancel_routine));
}

/* ---- STATUS_PENDING and IoMarkIrpPending ---- */

static NTSTATUS NTAPI pend_unmarked(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    HeldIrp = Irp;
    return STATUS_PENDING; /* no IoMarkIrpPending */
}

static void run_pending_not_marked(void *arg)
{
    kmtest_runtime(1);
    send(make_device(pend_unmarked));
    io_complete(HeldIrp, STATUS_SUCCESS, 0); /* the rule is judged when completion passes */
}

static NTSTATUS NTAPI marked_not_pending(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    IoMarkIrpPending(Irp);
    return io_complete(Irp, STATUS_SUCCESS, 0);
}

static void run_marked_not_pending(void *arg)
{
    kmtest_runtime(1);
    send(make_device(marked_not_pending));
}

/* The pass-through filter with IoSkipCurrentIrpStackLocation and the copy-and-completion-routine
 * filter both return the lower driver's STATUS_PENDING correctly. */
static NTSTATUS NTAPI lower_pends(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    IoMarkIrpPending(Irp);
    HeldIrp = Irp;
    return STATUS_PENDING;
}

static NTSTATUS NTAPI skip_filter(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    IoSkipCurrentIrpStackLocation(Irp);
    return IoCallDriver(Lower, Irp);
}

static NTSTATUS NTAPI propagate(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    if (Irp->PendingReturned)
        IoMarkIrpPending(Irp);
    return STATUS_CONTINUE_COMPLETION;
}

static NTSTATUS NTAPI copy_filter(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    IoCopyCurrentIrpStackLocationToNext(Irp);
    IoSetCompletionRoutine(Irp, propagate, NULL, TRUE, TRUE, TRUE);
    return IoCallDriver(Lower, Irp);
}

static void test_io_verifier_pending_rules_accept_filters(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    PDRIVER_DISPATCH filters[] = {skip_filter, copy_filter};
    for (int i = 0; i < 2; i++) {
        Lower = make_device(lower_pends);
        Dev = make_device(filters[i]);
        IoAttachDeviceToDeviceStack(Dev, Lower);
        assert_int_equal(send(Dev), STATUS_PENDING);
        io_complete(HeldIrp, STATUS_SUCCESS, 0);
        assert_int_equal(Irp->CurrentLocation, Irp->StackCount + 1);
        IoFreeIrp(Irp);
        IoDetachDevice(Lower);
    }
    kmrig_runtime_destroy(rt);
}

/* ---- no stack location left ---- */

static NTSTATUS NTAPI forward_down(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    IoCopyCurrentIrpStackLocationToNext(Irp);
    return IoCallDriver(Lower, Irp);
}

static void forward_without_stack_location(void)
{
    Lower = make_device(io_dispatch_success);
    Dev = make_device(forward_down); /* not attached: StackSize 1, but forwards */
    send(Dev);
}

static void run_no_more_stack_locations(void *arg)
{
    kmtest_runtime(1);
    forward_without_stack_location();
}

/* ---- an IRP still allocated at shutdown ---- */

static void run_irp_leaked(void *arg)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    Irp = IoAllocateIrp(2, FALSE);
    kmrig_runtime_destroy(rt);
}

/* ---- status, IRQL ---- */

static NTSTATUS NTAPI complete_pending_status(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    return io_complete(Irp, STATUS_PENDING, 0);
}

static void run_complete_pending_status(void *arg)
{
    kmtest_runtime(1);
    send(make_device(complete_pending_status));
}

static NTSTATUS NTAPI leaves_irql_raised(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    return io_complete(Irp, STATUS_SUCCESS, 0);
}

static void run_irql_changed(void *arg)
{
    kmtest_runtime(1);
    Dev = make_device(leaves_irql_raised);
    send(Dev);
}

static void run_complete_above_dispatch(void *arg)
{
    kmtest_runtime(1);
    Dev = make_device(pend_unmarked);
    Irp = IoAllocateIrp(1, FALSE);
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL + 1, &old);
    io_complete(Irp, STATUS_SUCCESS, 0);
}

/* ---- IRP lifetime ---- */

static NTSTATUS NTAPI hold(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    IoMarkIrpPending(Irp);
    HeldIrp = Irp;
    return STATUS_PENDING;
}

static void run_free_in_use(void *arg)
{
    kmtest_runtime(1);
    send(make_device(hold));
    IoFreeIrp(Irp);
}

static void run_initialize_allocated(void *arg)
{
    kmtest_runtime(1);
    Irp = IoAllocateIrp(1, FALSE);
    IoInitializeIrp(Irp, IoSizeOfIrp(1), 1);
}

static void run_free_not_irp(void *arg)
{
    kmtest_runtime(1);
    static QUAD junk[32];
    IoFreeIrp((PIRP)junk);
}

static void run_call_bad_irp(void *arg)
{
    kmtest_runtime(1);
    static QUAD junk[32];
    IoCallDriver(make_device(hold), (PIRP)junk);
}

static void run_call_bad_device(void *arg)
{
    kmtest_runtime(1);
    static QUAD junk[64];
    Irp = IoAllocateIrp(1, FALSE);
    IoCallDriver((PDEVICE_OBJECT)junk, Irp);
}

/* ---- device objects ---- */

static void run_detach_not_attached(void *arg)
{
    kmtest_runtime(1);
    IoDetachDevice(make_device(hold));
}

static void run_delete_twice(void *arg)
{
    kmtest_runtime(1);
    Dev = make_device(hold);
    ObReferenceObject(Dev);
    IoDeleteDevice(Dev);
    IoDeleteDevice(Dev);
}

static void run_delete_attached(void *arg)
{
    kmtest_runtime(1);
    Lower = make_device(hold);
    Dev = make_device(hold);
    IoAttachDeviceToDeviceStack(Dev, Lower);
    IoDeleteDevice(Dev);
}

static VOID NTAPI tick(PDEVICE_OBJECT DeviceObject, PVOID Context) {}

static void run_timer_twice(void *arg)
{
    kmtest_runtime(1);
    Dev = make_device(hold);
    IoInitializeTimer(Dev, tick, NULL);
    IoInitializeTimer(Dev, tick, NULL);
}

static NTSTATUS NTAPI forward_with_cancel_routine(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    IoSetCancelRoutine(Irp, some_cancel); /* queued once, forwarded without clearing it */
    IoSkipCurrentIrpStackLocation(Irp);
    return IoCallDriver(Lower, Irp);
}

static void run_call_with_cancel_routine(void *arg)
{
    kmtest_runtime(1);
    Lower = make_device(io_dispatch_success);
    Dev = make_device(forward_with_cancel_routine);
    IoAttachDeviceToDeviceStack(Dev, Lower);
    send(Dev);
}

static void test_io_verifier_call_driver_with_cancel_routine(void **state)
{
    ULONG_PTR p[4];
    assert_int_equal(kmtest_bugcheck_of(run_call_with_cancel_routine, NULL, p),
                     DRIVER_VERIFIER_IOMANAGER_VIOLATION);
    assert_int_equal(p[0], IOP_VF_CALL_CANCEL_SET);
    assert_int_equal(p[2], (ULONG_PTR)some_cancel);
}

/* The same rule on an IRP the I/O manager built and frees at completion, before the dispatch
 * routine returns. */
static void run_marked_not_pending_thread_irp(void *arg)
{
    kmtest_runtime(1);
    KEVENT ev;
    IO_STATUS_BLOCK iosb;
    KeInitializeEvent(&ev, NotificationEvent, FALSE);
    Dev = make_device(marked_not_pending);
    IoCallDriver(Dev,
                 IoBuildDeviceIoControlRequest(0x222003, Dev, NULL, 0, NULL, 0, FALSE, &ev, &iosb));
}

static void test_io_verifier_mark_irp_pending_without_pending_thread_irp(void **state)
{
    ULONG_PTR p[4];
    assert_int_equal(kmtest_bugcheck_of(run_marked_not_pending_thread_irp, NULL, p),
                     DRIVER_VERIFIER_IOMANAGER_VIOLATION);
    assert_int_equal(p[0], IOP_VF_MARKED_NOT_PENDING);
}

/* ---- the checks, each in its own process ---- */

static void test_io_verifier_complete_request_twice(void **state)
{
    ULONG_PTR p[4];
    assert_int_equal(kmtest_bugcheck_of(run_complete_twice, NULL, p),
                     MULTIPLE_IRP_COMPLETE_REQUESTS);
    assert_true(p[0] != 0); /* the IRP */
}

static void test_io_verifier_complete_request_with_cancel_routine(void **state)
{
    ULONG_PTR p[4];
    assert_int_equal(kmtest_bugcheck_of(run_complete_with_cancel_routine, NULL, p),
                     DRIVER_VERIFIER_IOMANAGER_VIOLATION);
    assert_int_equal(p[0], IOP_VF_COMPLETE_CANCEL_SET);
    assert_int_equal(p[1], (ULONG_PTR)some_cancel);
    assert_true(p[2] != 0);
}

static void test_io_verifier_pending_without_mark_irp_pending(void **state)
{
    ULONG_PTR p[4];
    assert_int_equal(kmtest_bugcheck_of(run_pending_not_marked, NULL, p),
                     DRIVER_VERIFIER_IOMANAGER_VIOLATION);
    assert_int_equal(p[0], IOP_VF_PENDING_NOT_MARKED);
    assert_int_equal(p[2], (ULONG_PTR)pend_unmarked);
}

static void test_io_verifier_mark_irp_pending_without_pending(void **state)
{
    ULONG_PTR p[4];
    assert_int_equal(kmtest_bugcheck_of(run_marked_not_pending, NULL, p),
                     DRIVER_VERIFIER_IOMANAGER_VIOLATION);
    assert_int_equal(p[0], IOP_VF_MARKED_NOT_PENDING);
    assert_int_equal(p[2], (ULONG_PTR)marked_not_pending);
    assert_int_equal(p[3], STATUS_SUCCESS);
}

static void test_io_verifier_call_driver_no_more_stack_locations(void **state)
{
    assert_bugcheck(run_no_more_stack_locations, NULL, NO_MORE_IRP_STACK_LOCATIONS);
}

static void test_io_verifier_irp_leaked_at_shutdown(void **state)
{
    ULONG_PTR p[4];
    assert_int_equal(kmtest_bugcheck_of(run_irp_leaked, NULL, p),
                     DRIVER_VERIFIER_IOMANAGER_VIOLATION);
    assert_int_equal(p[0], IOP_VF_IRP_LEAKED);
    assert_true(p[1] != 0);
    assert_int_equal(p[2], 1);
}

static void test_io_verifier_complete_request_status_and_irql(void **state)
{
    ULONG_PTR p[4];
    assert_int_equal(kmtest_bugcheck_of(run_complete_pending_status, NULL, p),
                     DRIVER_VERIFIER_IOMANAGER_VIOLATION);
    assert_int_equal(p[0], IOP_VF_COMPLETE_PENDING);
    assert_int_equal(p[1], STATUS_PENDING);
    assert_int_equal(kmtest_bugcheck_of(run_complete_above_dispatch, NULL, p),
                     DRIVER_VERIFIER_IOMANAGER_VIOLATION);
    assert_int_equal(p[0], IOP_VF_COMPLETE_IRQL);
    assert_int_equal(p[1], DISPATCH_LEVEL + 1);
    assert_int_equal(kmtest_bugcheck_of(run_irql_changed, NULL, p),
                     DRIVER_VERIFIER_IOMANAGER_VIOLATION);
    assert_int_equal(p[0], IOP_VF_IRQL_CHANGED);
    assert_int_equal(p[2], PASSIVE_LEVEL);
    assert_int_equal(p[3], DISPATCH_LEVEL);
}

static void test_io_verifier_irp_lifetime(void **state)
{
    ULONG_PTR p[4];
    assert_int_equal(kmtest_bugcheck_of(run_free_in_use, NULL, p),
                     DRIVER_VERIFIER_IOMANAGER_VIOLATION);
    assert_int_equal(p[0], IOP_VF_FREE_IN_USE);
    assert_int_equal(kmtest_bugcheck_of(run_initialize_allocated, NULL, p),
                     DRIVER_VERIFIER_IOMANAGER_VIOLATION);
    assert_int_equal(p[0], IOP_VF_INITIALIZE_ALLOCATED);
    assert_int_equal(kmtest_bugcheck_of(run_free_not_irp, NULL, p),
                     DRIVER_VERIFIER_IOMANAGER_VIOLATION);
    assert_int_equal(p[0], IOP_VF_FREE_NOT_IRP);
    assert_int_equal(kmtest_bugcheck_of(run_call_bad_irp, NULL, p),
                     DRIVER_VERIFIER_IOMANAGER_VIOLATION);
    assert_int_equal(p[0], IOP_VF_CALL_BAD_IRP);
    assert_int_equal(kmtest_bugcheck_of(run_call_bad_device, NULL, p),
                     DRIVER_VERIFIER_IOMANAGER_VIOLATION);
    assert_int_equal(p[0], IOP_VF_CALL_BAD_DEVICE);
}

static void test_io_verifier_device_objects(void **state)
{
    ULONG_PTR p[4];
    assert_int_equal(kmtest_bugcheck_of(run_detach_not_attached, NULL, p),
                     DRIVER_VERIFIER_IOMANAGER_VIOLATION);
    assert_int_equal(p[0], IOP_VF_DETACH_NOT_ATTACHED);
    assert_int_equal(kmtest_bugcheck_of(run_delete_twice, NULL, p),
                     DRIVER_VERIFIER_IOMANAGER_VIOLATION);
    assert_int_equal(p[0], IOP_VF_DOUBLE_DELETE);
    assert_int_equal(kmtest_bugcheck_of(run_delete_attached, NULL, p),
                     DRIVER_VERIFIER_IOMANAGER_VIOLATION);
    assert_int_equal(p[0], IOP_VF_DELETE_ATTACHED);
    assert_int_equal(kmtest_bugcheck_of(run_timer_twice, NULL, p),
                     DRIVER_VERIFIER_IOMANAGER_VIOLATION);
    assert_int_equal(p[0], IOP_VF_TIMER_REINITIALIZED);
}

/* With KMRIG_VERIFY_IO off the same driver bugs pass unnoticed (as on NT without Driver
 * Verifier), except what NT itself checks. */
static void test_io_verifier_off(void **state)
{
    kmrig_config cfg;
    kmrig_config_init(&cfg);
    cfg.processors = 1;
    cfg.verify = KMRIG_VERIFY_DEFAULT & ~KMRIG_VERIFY_IO;
    kmrig_runtime *rt = kmtest_runtime_cfg(&cfg);
    assert_int_equal(send(make_device(pend_unmarked)), STATUS_PENDING);
    io_complete(HeldIrp, STATUS_SUCCESS, 0);
    IoFreeIrp(Irp);
    assert_int_equal(send(make_device(marked_not_pending)), STATUS_SUCCESS);
    IoFreeIrp(Irp);
    kmrig_runtime_destroy(rt);
}

static void run_no_stack_verifier_off(void *arg)
{
    kmrig_config cfg;
    kmrig_config_init(&cfg);
    cfg.verify_off = 1;
    kmtest_runtime_cfg(&cfg);
    forward_without_stack_location();
}

static void test_io_no_more_irp_stack_locations_without_verifier(void **state)
{
    assert_bugcheck(run_no_stack_verifier_off, NULL, NO_MORE_IRP_STACK_LOCATIONS);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_io_verifier_complete_request_twice),
    cmocka_unit_test(test_io_verifier_complete_request_with_cancel_routine),
    cmocka_unit_test(test_io_verifier_pending_without_mark_irp_pending),
    cmocka_unit_test(test_io_verifier_mark_irp_pending_without_pending),
    cmocka_unit_test(test_io_verifier_mark_irp_pending_without_pending_thread_irp),
    cmocka_unit_test(test_io_verifier_pending_rules_accept_filters),
    cmocka_unit_test(test_io_verifier_call_driver_no_more_stack_locations),
    cmocka_unit_test(test_io_verifier_irp_leaked_at_shutdown),
    cmocka_unit_test(test_io_verifier_complete_request_status_and_irql),
    cmocka_unit_test(test_io_verifier_irp_lifetime),
    cmocka_unit_test(test_io_verifier_call_driver_with_cancel_routine),
    cmocka_unit_test(test_io_verifier_device_objects),
    cmocka_unit_test(test_io_verifier_off),
    cmocka_unit_test(test_io_no_more_irp_stack_locations_without_verifier),
};
KMTEST_MAIN(tests)

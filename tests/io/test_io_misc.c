/* Controller objects, named notification and synchronization events, and the informational
 * routines (IoGetCurrentProcess, IoIsWdmVersionAvailable, IoGetFunctionCodeFromCtlCode,
 * IoGetConfigurationInformation). */
#include "io_test.h"

static int Runs[3];
static IO_ALLOCATION_ACTION Action[3];
static PVOID SeenMapRegisterBase = (PVOID)1;

static IO_ALLOCATION_ACTION NTAPI ctl_routine(PDEVICE_OBJECT DeviceObject, PIRP Irp,
                                              PVOID MapRegisterBase, PVOID Context)
{
    int i = (int)(ULONG_PTR)Context;
    assert_int_equal(KeGetCurrentIrql(), DISPATCH_LEVEL);
    assert_ptr_equal(Irp, DeviceObject->CurrentIrp);
    SeenMapRegisterBase = MapRegisterBase;
    Runs[i]++;
    return Action[i];
}

static void test_io_allocate_controller_serializes_devices(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    PDRIVER_OBJECT d = io_load(rt, L"Ctrl");
    PDEVICE_OBJECT dev[3];
    for (int i = 0; i < 3; i++) {
        dev[i] = io_device(d, NULL, 0);
        dev[i]->CurrentIrp = (PIRP)(ULONG_PTR)(0x100 + i);
    }
    PCONTROLLER_OBJECT c = IoCreateController(40);
    assert_non_null(c);
    assert_int_equal(c->Type, IO_TYPE_CONTROLLER);
    assert_int_equal(c->Size, sizeof(CONTROLLER_OBJECT) + 40);
    assert_int_equal((ULONG_PTR)c->ControllerExtension % 16, 0);
    static const UCHAR zero[40];
    assert_memory_equal(c->ControllerExtension, zero, 40);
    memset(Runs, 0, sizeof Runs);
    Action[0] = KeepObject;
    Action[1] = DeallocateObject;
    Action[2] = KeepObject;
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    IoAllocateController(c, dev[0], ctl_routine, (PVOID)0); /* free: runs now, keeps it */
    assert_int_equal(Runs[0], 1);
    assert_null(SeenMapRegisterBase);
    IoAllocateController(c, dev[1], ctl_routine, (PVOID)1); /* busy: waits */
    IoAllocateController(c, dev[2], ctl_routine, (PVOID)2);
    assert_int_equal(Runs[1] + Runs[2], 0);
    IoFreeController(c); /* dev[1] runs, gives it back, dev[2] runs and keeps it */
    assert_int_equal(Runs[1], 1);
    assert_int_equal(Runs[2], 1);
    IoFreeController(c);
    /* Free again: the next allocation runs at once; DeallocateObject frees it right away. */
    Action[0] = DeallocateObject;
    IoAllocateController(c, dev[0], ctl_routine, (PVOID)0);
    IoAllocateController(c, dev[2], ctl_routine, (PVOID)2);
    assert_int_equal(Runs[0], 2);
    assert_int_equal(Runs[2], 2);
    IoFreeController(c);
    KeLowerIrql(old);
    IoDeleteController(c);
    for (int i = 0; i < 3; i++)
        dev[i]->CurrentIrp = NULL;
    kmrig_runtime_destroy(rt);
}

static void test_io_create_notification_event(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    UNICODE_STRING name = io_us(L"\\BaseNamedObjects\\KmrigTestEvent");
    HANDLE h1 = NULL, h2 = NULL, h3;
    PKEVENT e1 = IoCreateNotificationEvent(&name, &h1);
    assert_non_null(e1);
    assert_non_null(h1);
    assert_int_equal(e1->Header.Type, EventNotificationObject);
    assert_int_equal(KeReadStateEvent(e1), 1); /* a new event is signalled */
    KeClearEvent(e1);
    PKEVENT e2 = IoCreateNotificationEvent(&name, &h2); /* opens the same event */
    assert_ptr_equal(e2, e1);
    assert_ptr_not_equal(h2, h1);
    assert_int_equal(KeReadStateEvent(e2), 0);
    PVOID o;
    assert_int_equal(
        ObReferenceObjectByHandle(h1, EVENT_MODIFY_STATE, *ExEventObjectType, KernelMode, &o, NULL),
        STATUS_SUCCESS);
    assert_ptr_equal(o, e1);
    ObDereferenceObject(o);
    ZwClose(h1);
    ZwClose(h2);
    /* The last handle closed: the name is gone, a new event is created. */
    PKEVENT e3 = IoCreateNotificationEvent(&name, &h3);
    assert_non_null(e3);
    assert_int_equal(KeReadStateEvent(e3), 1);
    ZwClose(h3);
    UNICODE_STRING bad = io_us(L"\\NoSuchDirectory\\Event");
    assert_null(IoCreateNotificationEvent(&bad, &h3));
    kmrig_runtime_destroy(rt);
}

static void test_io_create_synchronization_event(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    UNICODE_STRING name = io_us(L"\\BaseNamedObjects\\KmrigSync");
    HANDLE h;
    PKEVENT e = IoCreateSynchronizationEvent(&name, &h);
    assert_non_null(e);
    assert_int_equal(e->Header.Type, EventSynchronizationObject);
    LARGE_INTEGER zero = {.QuadPart = 0};
    assert_int_equal(KeWaitForSingleObject(e, Executive, KernelMode, FALSE, &zero), STATUS_SUCCESS);
    assert_int_equal(KeWaitForSingleObject(e, Executive, KernelMode, FALSE, &zero),
                     STATUS_TIMEOUT); /* auto-reset */
    ZwClose(h);
    kmrig_runtime_destroy(rt);
}

static void test_io_information_routines(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    assert_ptr_equal(IoGetCurrentProcess(), PsGetCurrentProcess());
#undef IoGetCurrentProcess
    assert_ptr_equal(IoGetCurrentProcess(), PsGetCurrentProcess());
    assert_true(IoIsWdmVersionAvailable(1, 0));
    assert_true(IoIsWdmVersionAvailable(1, 0x30));
    assert_true(IoIsWdmVersionAvailable(WDM_MAJORVERSION, WDM_MINORVERSION));
    assert_false(IoIsWdmVersionAvailable(WDM_MAJORVERSION, WDM_MINORVERSION + 1));
    assert_false(IoIsWdmVersionAvailable(WDM_MAJORVERSION + 1, 0));
    ULONG code = CTL_CODE(FILE_DEVICE_UNKNOWN, 0x923, METHOD_OUT_DIRECT, FILE_READ_ACCESS);
    assert_int_equal(IoGetFunctionCodeFromCtlCode(code), 0x923);
#undef IoGetFunctionCodeFromCtlCode
    assert_int_equal(IoGetFunctionCodeFromCtlCode(code), 0x923);
    assert_int_equal(IoGetFunctionCodeFromCtlCode(0xFFFFFFFF), 0xFFF);
    assert_int_equal(DEVICE_TYPE_FROM_CTL_CODE(code), FILE_DEVICE_UNKNOWN);
    assert_int_equal(METHOD_FROM_CTL_CODE(code), METHOD_OUT_DIRECT);
    PCONFIGURATION_INFORMATION ci = IoGetConfigurationInformation();
    assert_non_null(ci);
    assert_ptr_equal(ci, IoGetConfigurationInformation());
    assert_int_equal(ci->DiskCount, 0);
    assert_int_equal(ci->SerialCount, 0);
    ci->SerialCount++; /* drivers that claim a serial port count it */
    assert_int_equal(IoGetConfigurationInformation()->SerialCount, 1);
    kmrig_runtime_destroy(rt);
}

static void test_io_configuration_information_per_instance(void **state)
{
    /* Two instances, one after the other, start with their own counts. */
    kmrig_runtime *rt = kmtest_runtime(1);
    IoGetConfigurationInformation()->DiskCount = 3;
    kmrig_runtime_destroy(rt);
    rt = kmtest_runtime(1);
    assert_int_equal(IoGetConfigurationInformation()->DiskCount, 0);
    kmrig_runtime_destroy(rt);
}

static void test_io_is_operation_synchronous_and_requestor(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    PIRP irp = IoAllocateIrp(2, FALSE);
    FILE_OBJECT f;
    memset(&f, 0, sizeof f);
    IoSetNextIrpStackLocation(irp);
    assert_false(IoIsOperationSynchronous(irp));
    IoGetCurrentIrpStackLocation(irp)->FileObject = &f;
    assert_false(IoIsOperationSynchronous(irp));
    f.Flags = FO_SYNCHRONOUS_IO;
    assert_true(IoIsOperationSynchronous(irp));
    irp->Flags = IRP_PAGING_IO; /* asynchronous paging I/O, even on a synchronous file */
    assert_false(IoIsOperationSynchronous(irp));
    irp->Flags = IRP_PAGING_IO | IRP_SYNCHRONOUS_PAGING_IO;
    assert_true(IoIsOperationSynchronous(irp));
    f.Flags = 0;
    irp->Flags = IRP_SYNCHRONOUS_API;
    assert_true(IoIsOperationSynchronous(irp));
    /* The requestor: the IRP's thread, in the instance's one process. */
    assert_null(IoGetRequestorProcess(irp));
    assert_int_equal(IoGetRequestorProcessId(irp), 0);
    irp->Tail.Overlay.Thread = PsGetCurrentThread();
    assert_ptr_equal(IoGetRequestorProcess(irp), PsGetCurrentProcess());
    assert_int_equal(IoGetRequestorProcessId(irp), (ULONG)(ULONG_PTR)PsGetCurrentProcessId());
    assert_ptr_equal(IoThreadToProcess(PsGetCurrentThread()), PsGetCurrentProcess());
    assert_int_equal(IoIsSystemThread(PsGetCurrentThread()),
                     PsIsSystemThread(PsGetCurrentThread()));
    IoSkipCurrentIrpStackLocation(irp);
    IoFreeIrp(irp);
    kmrig_runtime_destroy(rt);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_io_allocate_controller_serializes_devices),
    cmocka_unit_test(test_io_create_notification_event),
    cmocka_unit_test(test_io_create_synchronization_event),
    cmocka_unit_test(test_io_information_routines),
    cmocka_unit_test(test_io_configuration_information_per_instance),
    cmocka_unit_test(test_io_is_operation_synchronous_and_requestor),
};
KMTEST_MAIN(tests)

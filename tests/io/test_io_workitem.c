/* I/O work items: IoAllocateWorkItem, IoQueueWorkItem (the device object stays referenced while
 * queued), IoFreeWorkItem, IoSizeofWorkItem. */
#include "io_test.h"

static KEVENT Ran;
static PDEVICE_OBJECT SeenDevice;
static PVOID SeenContext;
static KIRQL SeenIrql;
static PKTHREAD SeenThread;
static LONG RefsInRoutine;

static VOID NTAPI work(PDEVICE_OBJECT DeviceObject, PVOID Context)
{
    SeenDevice = DeviceObject;
    SeenContext = Context;
    SeenIrql = KeGetCurrentIrql();
    SeenThread = KeGetCurrentThread();
    RefsInRoutine = ObGetObjectPointerCount(DeviceObject);
    KeSetEvent(&Ran, IO_NO_INCREMENT, FALSE);
}

static void test_io_queue_work_item_runs_at_passive_on_worker(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(2);
    PDRIVER_OBJECT d = io_load(rt, L"Work");
    PDEVICE_OBJECT dev = io_device(d, NULL, 0);
    PIO_WORKITEM w = IoAllocateWorkItem(dev);
    assert_non_null(w);
    LONG refs = ObGetObjectPointerCount(dev);
    const WORK_QUEUE_TYPE types[] = {DelayedWorkQueue, CriticalWorkQueue, HyperCriticalWorkQueue};
    for (unsigned i = 0; i < ARRAYSIZE(types); i++) {
        KeInitializeEvent(&Ran, NotificationEvent, FALSE);
        KIRQL old;
        KeRaiseIrql(DISPATCH_LEVEL, &old); /* queued from DISPATCH_LEVEL */
        IoQueueWorkItem(w, work, types[i], (PVOID)0x77);
        KeLowerIrql(old);
        LARGE_INTEGER t = kmtest_ms(1000);
        assert_int_equal(KeWaitForSingleObject(&Ran, Executive, KernelMode, FALSE, &t),
                         STATUS_SUCCESS);
        assert_ptr_equal(SeenDevice, dev);
        assert_ptr_equal(SeenContext, (PVOID)0x77);
        assert_int_equal(SeenIrql, PASSIVE_LEVEL);
        assert_ptr_not_equal(SeenThread, KeGetCurrentThread());
        /* Referenced while queued and running (the previous round's worker may still hold its
         * reference for a moment after setting the event). */
        assert_true(RefsInRoutine >= refs + 1 && RefsInRoutine <= refs + 2);
    }
    IoFreeWorkItem(w);
    assert_true(IoSizeofWorkItem() >= sizeof(WORK_QUEUE_ITEM));
    kmrig_runtime_destroy(rt);
}

/* The driver deletes its device while the item is queued: the device object stays valid until
 * the routine has run, and goes away after. */
static PIO_WORKITEM Item;
static KEVENT Deleted;
static VOID NTAPI work_frees_item(PDEVICE_OBJECT DeviceObject, PVOID Context)
{
    KeWaitForSingleObject(&Deleted, Executive, KernelMode, FALSE, NULL);
    SeenDevice = DeviceObject;
    assert_true(DeviceObject->DeviceObjectExtension->ExtensionFlags & DOE_DELETE_PENDING);
    assert_int_equal(ObGetObjectPointerCount(DeviceObject), 1);
    IoFreeWorkItem(Item); /* allowed in the routine */
    KeSetEvent(&Ran, IO_NO_INCREMENT, FALSE);
}

static void test_io_queue_work_item_keeps_device_referenced(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    PDRIVER_OBJECT d = io_load(rt, L"Work2");
    PDEVICE_OBJECT dev = io_device(d, L"\\Device\\Work2", 0);
    KeInitializeEvent(&Ran, NotificationEvent, FALSE);
    KeInitializeEvent(&Deleted, NotificationEvent, FALSE);
    Item = IoAllocateWorkItem(dev);
    IoQueueWorkItem(Item, work_frees_item, DelayedWorkQueue, NULL);
    IoDeleteDevice(dev);
    KeSetEvent(&Deleted, IO_NO_INCREMENT, FALSE);
    KeWaitForSingleObject(&Ran, Executive, KernelMode, FALSE, NULL);
    assert_ptr_equal(SeenDevice, dev);
    kmrig_runtime_destroy(rt);
}

/* IoInitializeWorkItem in caller storage, for a driver object, with the Ex routine. */
static PVOID SeenObject;
static PIO_WORKITEM SeenItem;
static VOID NTAPI work_ex(PVOID IoObject, PVOID Context, PIO_WORKITEM IoWorkItem)
{
    SeenObject = IoObject;
    SeenContext = Context;
    SeenItem = IoWorkItem;
    SeenIrql = KeGetCurrentIrql();
    KeSetEvent(&Ran, IO_NO_INCREMENT, FALSE);
}

static void test_io_initialize_work_item_and_queue_ex(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    PDRIVER_OBJECT d = io_load(rt, L"Work3");
    PIO_WORKITEM w = ExAllocatePoolWithTag(NonPagedPool, IoSizeofWorkItem(), 'kroW');
    kmtest_junk(w, IoSizeofWorkItem());
    IoInitializeWorkItem(d, w);
    KeInitializeEvent(&Ran, NotificationEvent, FALSE);
    IoQueueWorkItemEx(w, work_ex, CriticalWorkQueue, (PVOID)0x99);
    KeWaitForSingleObject(&Ran, Executive, KernelMode, FALSE, NULL);
    assert_ptr_equal(SeenObject, d);
    assert_ptr_equal(SeenContext, (PVOID)0x99);
    assert_ptr_equal(SeenItem, w);
    assert_int_equal(SeenIrql, PASSIVE_LEVEL);
    /* The same item again, with the classic routine and a device. */
    PDEVICE_OBJECT dev = io_device(d, NULL, 0);
    IoUninitializeWorkItem(w);
    IoInitializeWorkItem(dev, w);
    KeInitializeEvent(&Ran, NotificationEvent, FALSE);
    IoQueueWorkItem(w, work, DelayedWorkQueue, (PVOID)0x98);
    KeWaitForSingleObject(&Ran, Executive, KernelMode, FALSE, NULL);
    assert_ptr_equal(SeenDevice, dev);
    IoUninitializeWorkItem(w);
    ExFreePoolWithTag(w, 'kroW');
    kmrig_runtime_destroy(rt);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_io_queue_work_item_runs_at_passive_on_worker),
    cmocka_unit_test(test_io_queue_work_item_keeps_device_referenced),
    cmocka_unit_test(test_io_initialize_work_item_and_queue_ex),
};
KMTEST_MAIN(tests)

/* The I/O timer (once a second of the runtime's virtual time, at DISPATCH_LEVEL) and DPC
 * requests (IoInitializeDpcRequest / IoRequestDpc). */
#include "io_test.h"

typedef struct {
    volatile LONG Calls;
    ULONGLONG Times[16];
    KIRQL Irql;
    PVOID Context;
    LONG StopAfter; /* the routine stops its own timer after this many calls (0: never) */
} TICKS;

static VOID NTAPI tick(PDEVICE_OBJECT DeviceObject, PVOID Context)
{
    TICKS *t = DeviceObject->DeviceExtension;
    LONG n = InterlockedIncrement(&t->Calls);
    if (n <= 16)
        t->Times[n - 1] = KeQueryInterruptTime();
    t->Irql = KeGetCurrentIrql();
    t->Context = Context;
    if (t->StopAfter && n == t->StopAfter)
        IoStopTimer(DeviceObject);
}

static void sleep_ms(LONGLONG ms)
{
    LARGE_INTEGER t = kmtest_ms(ms);
    KeDelayExecutionThread(KernelMode, FALSE, &t);
}

static PDEVICE_OBJECT timer_device(PDRIVER_OBJECT d)
{
    PDEVICE_OBJECT dev = io_device(d, NULL, sizeof(TICKS));
    assert_int_equal(IoInitializeTimer(dev, tick, (PVOID)0xC0DE), STATUS_SUCCESS);
    assert_non_null(dev->Timer);
    return dev;
}

static void test_io_start_timer_ticks_once_a_second_at_dispatch(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    PDRIVER_OBJECT d = io_load(rt, L"Tick");
    PDEVICE_OBJECT a = timer_device(d), b = timer_device(d);
    TICKS *ta = a->DeviceExtension, *tb = b->DeviceExtension;
    sleep_ms(2500);
    assert_int_equal(ta->Calls, 0); /* initialized, not started */
    ULONGLONG start = KeQueryInterruptTime();
    IoStartTimer(a);
    IoStartTimer(a); /* starting twice is harmless */
    IoStartTimer(b);
    sleep_ms(3500);
    assert_int_equal(ta->Calls, 3);
    assert_int_equal(tb->Calls, 3);
    assert_int_equal(ta->Irql, DISPATCH_LEVEL);
    assert_ptr_equal(ta->Context, (PVOID)0xC0DE);
    for (int i = 0; i < 3; i++) {
        ULONGLONG due = start + (ULONGLONG)(i + 1) * 10000000ull;
        assert_true(ta->Times[i] >= due);
        assert_true(ta->Times[i] < due + 10000); /* within a millisecond of the second */
    }
    /* Stopped: no more calls; the other goes on. */
    IoStopTimer(a);
    sleep_ms(2000);
    assert_int_equal(ta->Calls, 3);
    assert_int_equal(tb->Calls, 5);
    IoStopTimer(b);
    sleep_ms(2000);
    assert_int_equal(tb->Calls, 5);
    /* Restart. */
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old); /* allowed at DISPATCH_LEVEL */
    IoStartTimer(a);
    KeLowerIrql(old);
    sleep_ms(1500);
    assert_int_equal(ta->Calls, 4);
    kmrig_runtime_destroy(rt); /* the driver deletes a with its timer started */
}

static void test_io_stop_timer_from_its_routine(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(2);
    PDRIVER_OBJECT d = io_load(rt, L"Tick2");
    PDEVICE_OBJECT a = timer_device(d);
    TICKS *ta = a->DeviceExtension;
    ta->StopAfter = 2;
    IoStartTimer(a);
    sleep_ms(5500);
    assert_int_equal(ta->Calls, 2);
    kmrig_runtime_destroy(rt);
}

static void test_io_delete_device_with_started_timer(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    PDRIVER_OBJECT d = io_load(rt, L"Tick3");
    PDEVICE_OBJECT a = timer_device(d), b = timer_device(d);
    IoStartTimer(a);
    IoStartTimer(b);
    sleep_ms(1500);
    IoDeleteDevice(a);
    TICKS *tb = b->DeviceExtension;
    sleep_ms(1000);
    assert_int_equal(tb->Calls, 2);
    kmrig_runtime_destroy(rt);
}

/* ---- DPC requests ---- */

static PKDPC SeenDpc;
static PDEVICE_OBJECT SeenDevice;
static PIRP SeenIrp;
static PVOID SeenContext;
static KIRQL SeenIrql;
static int Dpcs;

static VOID NTAPI dpc_for_isr(PKDPC Dpc, PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    Dpcs++;
    SeenDpc = Dpc;
    SeenDevice = DeviceObject;
    SeenIrp = Irp;
    SeenContext = Context;
    SeenIrql = KeGetCurrentIrql();
}

static void test_io_request_dpc(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    PDRIVER_OBJECT d = io_load(rt, L"Dpc");
    PDEVICE_OBJECT dev = io_device(d, NULL, 0);
    Dpcs = 0;
    IoInitializeDpcRequest(dev, dpc_for_isr);
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL + 3, &old); /* as from an ISR */
    IoRequestDpc(dev, (PIRP)0x1111, (PVOID)0x2222);
    IoRequestDpc(dev, (PIRP)0x3333, (PVOID)0x4444); /* already queued: no second DPC */
    assert_int_equal(Dpcs, 0);
    KeLowerIrql(old);
    assert_int_equal(Dpcs, 1);
    assert_ptr_equal(SeenDpc, &dev->Dpc);
    assert_ptr_equal(SeenDevice, dev);
    assert_ptr_equal(SeenIrp, (PIRP)0x1111);
    assert_ptr_equal(SeenContext, (PVOID)0x2222);
    assert_int_equal(SeenIrql, DISPATCH_LEVEL);
#undef IoInitializeDpcRequest
#undef IoRequestDpc
    kmtest_junk(&dev->Dpc, sizeof dev->Dpc);
    IoInitializeDpcRequest(dev, dpc_for_isr);
    IoRequestDpc(dev, (PIRP)0x5555, NULL);
    assert_int_equal(Dpcs, 2);
    assert_ptr_equal(SeenIrp, (PIRP)0x5555);
    kmrig_runtime_destroy(rt);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_io_start_timer_ticks_once_a_second_at_dispatch),
    cmocka_unit_test(test_io_stop_timer_from_its_routine),
    cmocka_unit_test(test_io_delete_device_with_started_timer),
    cmocka_unit_test(test_io_request_dpc),
};
KMTEST_MAIN(tests)

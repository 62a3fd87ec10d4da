/* The PnP manager with two processors: interface state changes from a system thread while the
 * PnP worker delivers notifications and the test thread lists and opens interfaces and makes a
 * bus re-enumerate; the last file of a surprise-removed device closed on a system thread while
 * the test thread looks at the device. Run under the tsan preset (label tsan). */
#include "rig_drivers.h"

static volatile LONG g_arrive, g_leave;
static NTSTATUS NTAPI OnChange(PVOID n, PVOID ctx)
{
    PDEVICE_INTERFACE_CHANGE_NOTIFICATION c = n;
    if (!memcmp(&c->Event, &GUID_DEVICE_INTERFACE_ARRIVAL, sizeof(GUID)))
        InterlockedIncrement(&g_arrive);
    else
        InterlockedIncrement(&g_leave);
    return STATUS_SUCCESS;
}

#define TOGGLES 40

static KEVENT g_done;
static UNICODE_STRING g_mine; /* the test device's interface (g_link changes with the child) */
static VOID NTAPI Toggler(PVOID ctx)
{
    for (int i = 0; i < TOGGLES; i++) {
        IoSetDeviceInterfaceState(&g_mine, FALSE);
        IoSetDeviceInterfaceState(&g_mine, TRUE);
    }
    KeSetEvent(&g_done, IO_NO_INCREMENT, FALSE);
    PsTerminateSystemThread(STATUS_SUCCESS);
}

static NTSTATUS NTAPI DummyEntry(PDRIVER_OBJECT d, PUNICODE_STRING p)
{
    return STATUS_SUCCESS;
}

static void test_io_pnp_two_processors_interfaces_and_relations(void **state)
{
    struct kmrig_rig_options o;
    kmrig_rig_options_init(&o);
    o.processors = 2;
    kmrig_rig *rig;
    assert_int_equal(kmrig_rig_open(&o, &rig), STATUS_SUCCESS);
    extern NTSTATUS IopLoadDriver(struct kmrig_runtime * rt, PCWSTR ServiceName,
                                  PDRIVER_INITIALIZE DriverEntry, PUNICODE_STRING RegistryPath,
                                  PDRIVER_OBJECT * DriverObject);
    PDRIVER_OBJECT client;
    assert_int_equal(IopLoadDriver(kmrig_rig_runtime(rig), L"client", DummyEntry, NULL, &client),
                     STATUS_SUCCESS);
    PVOID entry;
    assert_int_equal(IoRegisterPlugPlayNotification(EventCategoryDeviceInterfaceChange, 0,
                                                    (PVOID)&TestInterface, client, OnChange, NULL,
                                                    &entry),
                     STATUS_SUCCESS);
    static const struct kmrig_device_desc devs[] = {
        {.hardware_ids = {"KMRIG\\TESTDEV"}},
        {.hardware_ids = {"KMRIG\\TESTBUS"}},
    };
    assert_int_equal(kmrig_rig_register_driver(rig, "KMRIG\\TESTDEV", "testfn", FnEntry),
                     STATUS_SUCCESS);
    assert_int_equal(kmrig_rig_register_driver(rig, "KMRIG\\TESTBUS", "testbus", BusEntry),
                     STATUS_SUCCESS);
    assert_int_equal(kmrig_rig_register_driver(rig, "TESTBUS\\CHILD", "testfn", FnEntry),
                     STATUS_SUCCESS);
    g_children = 0;
    assert_int_equal(kmrig_rig_start(rig, devs, 2), STATUS_SUCCESS);
    kmrig_rig_settle(rig);
    assert_int_equal(g_arrive, 1);
    /* g_link is the test device's interface (the bus has no children yet) */
    KeInitializeEvent(&g_done, NotificationEvent, FALSE);
    g_mine.Buffer = ExAllocatePoolWithTag(PagedPool, g_link.MaximumLength, 'grtS');
    g_mine.MaximumLength = g_link.MaximumLength;
    RtlCopyUnicodeString(&g_mine, &g_link);
    HANDLE h;
    assert_int_equal(PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL, Toggler, NULL),
                     STATUS_SUCCESS);
    PDEVICE_OBJECT bus = kmrig_rig_find(rig, "KMRIG\\TESTBUS");
    for (int i = 0; i < TOGGLES; i++) {
        PZZWSTR list;
        assert_int_equal(IoGetDeviceInterfaces(&TestInterface, NULL, 0, &list), STATUS_SUCCESS);
        ExFreePool(list);
        if (i == TOGGLES / 2) {
            g_children = 0x1; /* a child arrives mid-way */
            IoInvalidateDeviceRelations(bus, BusRelations);
        }
    }
    KeWaitForSingleObject(&g_done, Executive, KernelMode, FALSE, NULL);
    ZwClose(h);
    kmrig_rig_settle(rig);
    struct kmrig_device_info info;
    assert_int_equal(kmrig_rig_device_info(rig, kmrig_rig_find(rig, "TESTBUS\\CHILD\\0"), &info),
                     STATUS_SUCCESS);
    assert_int_equal(info.state, KMRIG_DEVICE_STARTED);
    /* every change was told, in order per interface: arrivals = removals + enabled ones */
    assert_int_equal(g_leave, TOGGLES);
    assert_int_equal(g_arrive, 1 + TOGGLES + 1);
    assert_int_equal(IoUnregisterPlugPlayNotification(entry), STATUS_SUCCESS);
    RtlFreeUnicodeString(&g_mine);
    kmrig_rig_close(rig);
}

#define CLOSER_IOCTLS 20

static PFILE_OBJECT g_file;
static NTSTATUS g_closer_status[CLOSER_IOCTLS];
static VOID NTAPI Closer(PVOID ctx)
{
    for (int i = 0; i < CLOSER_IOCTLS; i++) {
        ULONG w;
        g_closer_status[i] = kmrig_rig_ioctl(g_file, IOCTL_TEST_WHO, NULL, 0, &w, sizeof w, NULL);
    }
    kmrig_rig_close_file(g_file); /* the last one: the REMOVE goes to the PnP worker */
    KeSetEvent(&g_done, IO_NO_INCREMENT, FALSE);
    PsTerminateSystemThread(STATUS_SUCCESS);
}

static void test_io_pnp_two_processors_last_close_after_surprise_removal(void **state)
{
    struct kmrig_rig_options o;
    kmrig_rig_options_init(&o);
    o.processors = 2;
    kmrig_rig *rig;
    assert_int_equal(kmrig_rig_open(&o, &rig), STATUS_SUCCESS);
    static const struct kmrig_device_desc devs[] = {{.hardware_ids = {"KMRIG\\TESTDEV"}}};
    assert_int_equal(kmrig_rig_register_driver(rig, "KMRIG\\TESTDEV", "testfn", FnEntry),
                     STATUS_SUCCESS);
    assert_int_equal(kmrig_rig_start(rig, devs, 1), STATUS_SUCCESS);
    PDEVICE_OBJECT pdo = kmrig_rig_find(rig, "KMRIG\\TESTDEV");
    assert_int_equal(kmrig_rig_open_interface(rig, &TestInterface, 0, &g_file), STATUS_SUCCESS);
    g_log[0] = 0;
    assert_int_equal(kmrig_rig_surprise_remove(rig, pdo), STATUS_SUCCESS);
    KeInitializeEvent(&g_done, NotificationEvent, FALSE);
    HANDLE h;
    assert_int_equal(PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL, Closer, NULL),
                     STATUS_SUCCESS);
    /* the rig's thread looks at the device while the other processor closes its file and the
     * worker removes it: surprise-removed, then forgotten */
    LARGE_INTEGER zero = {.QuadPart = 0};
    while (KeWaitForSingleObject(&g_done, Executive, KernelMode, FALSE, &zero) == STATUS_TIMEOUT) {
        struct kmrig_device_info info;
        NTSTATUS s = kmrig_rig_device_info(rig, pdo, &info);
        assert_true(s == STATUS_SUCCESS || s == STATUS_NO_SUCH_DEVICE);
        if (s == STATUS_SUCCESS)
            assert_int_equal(info.state, KMRIG_DEVICE_SURPRISE_REMOVED);
        kmrig_rig_run_for(rig, 1000);
    }
    ZwClose(h);
    kmrig_rig_settle(rig);
    for (int i = 0; i < CLOSER_IOCTLS; i++)
        assert_int_equal(g_closer_status[i], STATUS_DELETE_PENDING);
    assert_string_equal(g_log, "fn:23 fn:2 ");
    assert_int_equal(g_fn_devices, 0);
    assert_null(kmrig_rig_find(rig, "KMRIG\\TESTDEV"));
    kmrig_rig_close(rig);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_io_pnp_two_processors_interfaces_and_relations),
    cmocka_unit_test(test_io_pnp_two_processors_last_close_after_surprise_removal),
};
KMTEST_MAIN(tests)

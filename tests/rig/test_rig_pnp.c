/* The rig API and the PnP manager's start sequence, as a filter + function + bus driver stack
 * sees it, on a static description (no target). */
#include "rig_drivers.h"

static void start_test_device(kmrig_rig *rig)
{
    assert_int_equal(kmrig_rig_register_driver(rig, "KMRIG\\TESTDEV", "testfn", FnEntry),
                     STATUS_SUCCESS);
    assert_int_equal(kmrig_rig_register_driver_ex(rig, "KMRIG\\TESTDEV", "testflt", FltEntry,
                                                  KMRIG_DRIVER_UPPER_FILTER),
                     STATUS_SUCCESS);
    assert_int_equal(kmrig_rig_start(rig, test_devices, 1), STATUS_SUCCESS);
}

static void test_rig_start_sends_the_documented_irps_in_order(void **state)
{
    kmrig_rig *rig = test_rig();
    start_test_device(rig);
    /* the function driver attaches first, the upper filter above it; the stack then gets
     * FILTER_RESOURCE_REQUIREMENTS (0x0D), START (0), QUERY_CAPABILITIES (9),
     * QUERY_PNP_DEVICE_STATE (0x14), QUERY_DEVICE_RELATIONS (7), top first */
    assert_string_equal(g_log, "fnadd:0 fltadd:0 flt:13 fn:13 flt:0 fn:0 flt:9 fn:9 flt:20 fn:20 "
                               "flt:7 fn:7 ");
    struct kmrig_device_info info;
    assert_int_equal(kmrig_rig_device(rig, 0, &info), STATUS_SUCCESS);
    assert_int_equal(info.state, KMRIG_DEVICE_STARTED);
    assert_int_equal(kmrig_rig_device(rig, 1, &info), STATUS_NO_MORE_ENTRIES);
    kmrig_rig_close(rig);
}

static void test_rig_start_resources_raw_and_translated_match_the_description(void **state)
{
    kmrig_rig *rig = test_rig();
    start_test_device(rig);
    assert_int_equal(g_raw_count, 4);
    assert_int_equal(g_tr_count, 4);
    assert_int_equal(g_raw_bus, Internal);
    /* port: bus-relative, translated as a port */
    assert_int_equal(g_raw[0].Type, CmResourceTypePort);
    assert_true(g_raw[0].Flags & CM_RESOURCE_PORT_IO);
    assert_int_equal(g_raw[0].u.Port.Start.QuadPart, 0x3F8);
    assert_int_equal(g_raw[0].u.Port.Length, 8);
    assert_int_equal(g_raw[0].ShareDisposition, CmResourceShareDeviceExclusive);
    assert_int_equal(g_tr[0].Type, CmResourceTypePort);
    assert_true(g_tr[0].Flags & CM_RESOURCE_PORT_IO);
    assert_int_equal(g_tr[0].u.Port.Start.QuadPart, 0x3F8);
    /* memory: the same address on both sides (CPU physical = bus address here) */
    assert_int_equal(g_raw[1].Type, CmResourceTypeMemory);
    assert_int_equal(g_raw[1].u.Memory.Start.QuadPart, 0x4000);
    assert_int_equal(g_raw[1].u.Memory.Length, 0x100);
    assert_int_equal(g_tr[1].u.Memory.Start.QuadPart, 0x4000);
    assert_int_equal(g_tr[1].u.Memory.Length, 0x100);
    /* interrupt: raw level = vector = line; translated from HalGetInterruptVector */
    assert_int_equal(g_raw[2].Type, CmResourceTypeInterrupt);
    assert_int_equal(g_raw[2].Flags, CM_RESOURCE_INTERRUPT_LATCHED);
    assert_int_equal(g_raw[2].ShareDisposition, CmResourceShareShared);
    assert_int_equal(g_raw[2].u.Interrupt.Level, 2);
    assert_int_equal(g_raw[2].u.Interrupt.Vector, 2);
    KIRQL irql;
    KAFFINITY aff;
    ULONG vector = HalGetInterruptVector(Internal, 0, 2, 2, &irql, &aff);
    assert_int_equal(g_tr[2].u.Interrupt.Vector, vector);
    assert_int_equal(g_tr[2].u.Interrupt.Level, irql);
    assert_int_equal(g_tr[2].u.Interrupt.Affinity, aff);
    assert_int_equal(g_tr[2].Flags, CM_RESOURCE_INTERRUPT_LATCHED);
    /* DMA channel */
    assert_int_equal(g_raw[3].Type, CmResourceTypeDma);
    assert_int_equal(g_raw[3].u.Dma.Channel, 1);
    assert_int_equal(g_tr[3].u.Dma.Channel, 1);
    kmrig_rig_close(rig);
}

static void test_rig_open_interface_and_ioctl_reach_the_function_driver(void **state)
{
    kmrig_rig *rig = test_rig();
    start_test_device(rig);
    kmrig_rig_settle(rig);
    PFILE_OBJECT f;
    assert_int_equal(kmrig_rig_open_interface(rig, &TestInterface, 0, &f), STATUS_SUCCESS);
    ULONG who = 0;
    ULONG_PTR n = 0;
    assert_int_equal(kmrig_rig_ioctl(f, IOCTL_TEST_WHO, NULL, 0, &who, sizeof who, &n),
                     STATUS_SUCCESS);
    assert_int_equal(n, sizeof who);
    assert_int_equal(who, 0x1000);
    assert_int_equal(kmrig_rig_ioctl(f, IOCTL_TEST_WHO, NULL, 0, &who, 2, &n),
                     STATUS_BUFFER_TOO_SMALL);
    kmrig_rig_close_file(f);
    assert_int_equal(kmrig_rig_open_interface(rig, &TestInterface, 1, &f),
                     STATUS_OBJECT_NAME_NOT_FOUND);
    kmrig_rig_close(rig);
}

static void test_rig_find_by_hardware_id_and_instance_path(void **state)
{
    kmrig_rig *rig = test_rig();
    start_test_device(rig);
    PDEVICE_OBJECT pdo = kmrig_rig_find(rig, "kmrig\\testdev_any");
    assert_non_null(pdo);
    assert_ptr_equal(kmrig_rig_find(rig, "KMRIG\\TESTDEV\\0"), pdo);
    assert_null(kmrig_rig_find(rig, "KMRIG\\NOPE"));
    struct kmrig_device_info info;
    assert_int_equal(kmrig_rig_device_info(rig, pdo, &info), STATUS_SUCCESS);
    assert_memory_equal(info.instance_path, L"KMRIG\\TESTDEV\\0", sizeof L"KMRIG\\TESTDEV\\0");
    assert_memory_equal(info.service, L"testfn", sizeof L"testfn");
    assert_non_null(info.desc);
    assert_int_equal(info.desc->resource_count, 4);
    kmrig_rig_close(rig);
}

static void test_rig_device_without_driver_stays_enumerated(void **state)
{
    kmrig_rig *rig = test_rig();
    assert_int_equal(kmrig_rig_start(rig, test_devices, 1), STATUS_SUCCESS);
    struct kmrig_device_info info;
    assert_int_equal(kmrig_rig_device(rig, 0, &info), STATUS_SUCCESS);
    assert_int_equal(info.state, KMRIG_DEVICE_ENUMERATED);
    assert_null(info.raw);
    assert_int_equal(kmrig_rig_start(rig, test_devices, 1), STATUS_INVALID_DEVICE_STATE);
    kmrig_rig_close(rig);
}

static void test_rig_failed_start_tears_the_stack_down(void **state)
{
    kmrig_rig *rig = test_rig();
    g_fail_start = STATUS_DEVICE_CONFIGURATION_ERROR;
    start_test_device(rig);
    struct kmrig_device_info info;
    assert_int_equal(kmrig_rig_device(rig, 0, &info), STATUS_SUCCESS);
    assert_int_equal(info.state, KMRIG_DEVICE_FAILED);
    assert_int_equal(info.status, STATUS_DEVICE_CONFIGURATION_ERROR);
    assert_null(info.pdo->AttachedDevice); /* REMOVE_DEVICE went down; both drivers left */
    assert_non_null(strstr(g_log, "flt:0 fn:0 flt:2 fn:2 "));
    kmrig_rig_close(rig);
}

static void test_rig_remove_vetoed_sends_cancel_remove(void **state)
{
    kmrig_rig *rig = test_rig();
    start_test_device(rig);
    PDEVICE_OBJECT pdo = kmrig_rig_find(rig, "KMRIG\\TESTDEV");
    g_veto_query_remove = TRUE;
    g_log[0] = 0;
    assert_int_equal(kmrig_rig_remove_device(rig, pdo), STATUS_PLUGPLAY_QUERY_VETOED);
    assert_string_equal(g_log, "flt:1 fn:1 flt:3 fn:3 ");
    struct kmrig_device_info info;
    assert_int_equal(kmrig_rig_device_info(rig, pdo, &info), STATUS_SUCCESS);
    assert_int_equal(info.state, KMRIG_DEVICE_STARTED);
    g_veto_query_remove = FALSE;
    g_log[0] = 0;
    assert_int_equal(kmrig_rig_remove_device(rig, pdo), STATUS_SUCCESS);
    assert_string_equal(g_log, "flt:1 fn:1 flt:2 fn:2 ");
    assert_int_equal(kmrig_rig_device_info(rig, pdo, &info), STATUS_SUCCESS);
    assert_int_equal(info.state, KMRIG_DEVICE_REMOVED);
    assert_null(info.raw);
    assert_int_equal(kmrig_rig_remove_device(rig, pdo), STATUS_INVALID_DEVICE_STATE);
    kmrig_rig_close(rig);
}

static void test_rig_surprise_remove_forgets_the_device(void **state)
{
    kmrig_rig *rig = test_rig();
    start_test_device(rig);
    PDEVICE_OBJECT pdo = kmrig_rig_find(rig, "KMRIG\\TESTDEV");
    g_log[0] = 0;
    assert_int_equal(kmrig_rig_surprise_remove(rig, pdo), STATUS_SUCCESS);
    assert_string_equal(g_log, "flt:23 fn:23 flt:2 fn:2 ");
    assert_null(kmrig_rig_find(rig, "KMRIG\\TESTDEV"));
    kmrig_rig_settle(rig);
    PFILE_OBJECT f;
    assert_int_equal(kmrig_rig_open_interface(rig, &TestInterface, 0, &f),
                     STATUS_OBJECT_NAME_NOT_FOUND);
    kmrig_rig_close(rig);
}

/* ---- surprise removal with files open: REMOVE_DEVICE waits for the last one (as NT) ---- */

static NTSTATUS who(PFILE_OBJECT f)
{
    ULONG w = 0;
    return kmrig_rig_ioctl(f, IOCTL_TEST_WHO, NULL, 0, &w, sizeof w, NULL);
}

static enum kmrig_device_state state_of(kmrig_rig *rig, PDEVICE_OBJECT pdo)
{
    struct kmrig_device_info info;
    assert_int_equal(kmrig_rig_device_info(rig, pdo, &info), STATUS_SUCCESS);
    return info.state;
}

static void test_rig_surprise_remove_with_a_file_open_waits_for_its_close(void **state)
{
    kmrig_rig *rig = test_rig();
    start_test_device(rig);
    PDEVICE_OBJECT pdo = kmrig_rig_find(rig, "KMRIG\\TESTDEV");
    assert_int_equal(g_fn_devices, 1);
    assert_int_equal(g_flt_devices, 1);
    PFILE_OBJECT f;
    assert_int_equal(kmrig_rig_open_interface(rig, &TestInterface, 0, &f), STATUS_SUCCESS);
    assert_int_equal(who(f), STATUS_SUCCESS);
    ObReferenceObject(pdo); /* to look at its stack after the device is forgotten */
    g_log[0] = 0;
    assert_int_equal(kmrig_rig_surprise_remove(rig, pdo), STATUS_SUCCESS);
    kmrig_rig_settle(rig);
    /* SURPRISE_REMOVAL went down the stack; no REMOVE while the file is open */
    assert_string_equal(g_log, "flt:23 fn:23 ");
    assert_int_equal(state_of(rig, pdo), KMRIG_DEVICE_SURPRISE_REMOVED);
    assert_ptr_equal(kmrig_rig_find(rig, "KMRIG\\TESTDEV"), pdo);
    assert_non_null(pdo->AttachedDevice);
    /* requests on the open file still reach the driver, which fails them */
    LONG before = g_fn_ioctls;
    assert_int_equal(who(f), STATUS_DELETE_PENDING);
    assert_int_equal(g_fn_ioctls, before + 1);
    kmrig_rig_run_for(rig, 1000000);
    kmrig_rig_settle(rig);
    assert_string_equal(g_log, "flt:23 fn:23 ");
    /* neither an orderly nor a second surprise removal of it */
    assert_int_equal(kmrig_rig_remove_device(rig, pdo), STATUS_INVALID_DEVICE_STATE);
    assert_int_equal(kmrig_rig_surprise_remove(rig, pdo), STATUS_INVALID_DEVICE_STATE);
    assert_string_equal(g_log, "flt:23 fn:23 ");
    PKTHREAD self = KeGetCurrentThread();
    LONG closes = g_fn_closes;
    kmrig_rig_close_file(f);
    assert_int_equal(g_fn_closes, closes + 1); /* the close reached the driver */
    kmrig_rig_settle(rig);
    /* the last close: REMOVE_DEVICE once, from the PnP worker at PASSIVE_LEVEL, not from
     * inside the driver's close dispatch; the stack is detached and deleted, the device
     * forgotten */
    assert_string_equal(g_log, "flt:23 fn:23 flt:2 fn:2 ");
    assert_false(g_remove_in_close);
    assert_int_equal(g_remove_irql, PASSIVE_LEVEL);
    assert_ptr_not_equal(g_remove_thread, self);
    assert_int_equal(g_fn_devices, 0);
    assert_int_equal(g_flt_devices, 0);
    assert_null(pdo->AttachedDevice);
    ObDereferenceObject(pdo);
    assert_null(kmrig_rig_find(rig, "KMRIG\\TESTDEV"));
    kmrig_rig_run_for(rig, 1000000);
    kmrig_rig_settle(rig);
    assert_string_equal(g_log, "flt:23 fn:23 flt:2 fn:2 "); /* exactly once */
    kmrig_rig_close(rig);
}

static void test_rig_surprise_remove_with_two_files_waits_for_both(void **state)
{
    kmrig_rig *rig = test_rig();
    start_test_device(rig);
    PDEVICE_OBJECT pdo = kmrig_rig_find(rig, "KMRIG\\TESTDEV");
    PFILE_OBJECT f1, f2;
    assert_int_equal(kmrig_rig_open_interface(rig, &TestInterface, 0, &f1), STATUS_SUCCESS);
    assert_int_equal(kmrig_rig_open_interface(rig, &TestInterface, 0, &f2), STATUS_SUCCESS);
    g_log[0] = 0;
    assert_int_equal(kmrig_rig_surprise_remove(rig, pdo), STATUS_SUCCESS);
    assert_string_equal(g_log, "flt:23 fn:23 ");
    kmrig_rig_close_file(f1);
    kmrig_rig_settle(rig);
    assert_string_equal(g_log, "flt:23 fn:23 "); /* one is still open */
    assert_int_equal(state_of(rig, pdo), KMRIG_DEVICE_SURPRISE_REMOVED);
    assert_int_equal(who(f2), STATUS_DELETE_PENDING);
    kmrig_rig_close_file(f2);
    kmrig_rig_settle(rig);
    assert_string_equal(g_log, "flt:23 fn:23 flt:2 fn:2 ");
    assert_int_equal(g_fn_devices, 0);
    assert_int_equal(g_flt_devices, 0);
    assert_null(kmrig_rig_find(rig, "KMRIG\\TESTDEV"));
    kmrig_rig_close(rig);
}

static void start_bus_with_one_child(kmrig_rig *rig)
{
    static const struct kmrig_device_desc bus[] = {{.hardware_ids = {"KMRIG\\TESTBUS"}}};
    assert_int_equal(kmrig_rig_register_driver(rig, "KMRIG\\TESTBUS", "testbus", BusEntry),
                     STATUS_SUCCESS);
    assert_int_equal(kmrig_rig_register_driver(rig, "TESTBUS\\CHILD", "testfn", FnEntry),
                     STATUS_SUCCESS);
    g_children = 0x1;
    assert_int_equal(kmrig_rig_start(rig, bus, 1), STATUS_SUCCESS);
    assert_int_equal(state_of(rig, kmrig_rig_find(rig, "TESTBUS\\CHILD\\0")), KMRIG_DEVICE_STARTED);
}

/* The bus goes with a file open on its child: the child's REMOVE waits for the close, and the
 * bus's waits for the child's. */
static void test_rig_surprise_remove_of_a_bus_waits_for_its_childs_file(void **state)
{
    kmrig_rig *rig = test_rig();
    start_bus_with_one_child(rig);
    PDEVICE_OBJECT bus = kmrig_rig_find(rig, "KMRIG\\TESTBUS");
    PDEVICE_OBJECT child = kmrig_rig_find(rig, "TESTBUS\\CHILD\\0");
    PFILE_OBJECT f;
    assert_int_equal(kmrig_rig_open_interface(rig, &TestInterface, 0, &f), STATUS_SUCCESS);
    g_log[0] = 0;
    assert_int_equal(kmrig_rig_surprise_remove(rig, bus), STATUS_SUCCESS);
    kmrig_rig_settle(rig);
    assert_string_equal(g_log, "fn:23 child:23 bus:23 "); /* children first, no REMOVE */
    assert_int_equal(state_of(rig, bus), KMRIG_DEVICE_SURPRISE_REMOVED);
    assert_int_equal(state_of(rig, child), KMRIG_DEVICE_SURPRISE_REMOVED);
    assert_int_equal(who(f), STATUS_DELETE_PENDING);
    kmrig_rig_close_file(f);
    kmrig_rig_settle(rig);
    assert_string_equal(g_log, "fn:23 child:23 bus:23 fn:2 child:2 bus:2 ");
    assert_int_equal(g_fn_devices, 0);
    assert_null(g_bus_fdo);
    assert_null(kmrig_rig_find(rig, "KMRIG\\TESTBUS"));
    kmrig_rig_close(rig);
}

/* The child alone goes with a file open: its bus cannot be removed in order meanwhile (NT's
 * outstanding-open veto); after the close the child has its REMOVE and the bus may go. */
static void test_rig_surprise_removed_child_with_a_file_vetoes_its_bus_removal(void **state)
{
    kmrig_rig *rig = test_rig();
    start_bus_with_one_child(rig);
    PDEVICE_OBJECT bus = kmrig_rig_find(rig, "KMRIG\\TESTBUS");
    PDEVICE_OBJECT child = kmrig_rig_find(rig, "TESTBUS\\CHILD\\0");
    PFILE_OBJECT f;
    assert_int_equal(kmrig_rig_open_interface(rig, &TestInterface, 0, &f), STATUS_SUCCESS);
    g_log[0] = 0;
    assert_int_equal(kmrig_rig_surprise_remove(rig, child), STATUS_SUCCESS);
    assert_string_equal(g_log, "fn:23 child:23 ");
    assert_int_equal(kmrig_rig_remove_device(rig, bus), STATUS_PLUGPLAY_QUERY_VETOED);
    assert_string_equal(g_log, "fn:23 child:23 "); /* not even queried */
    assert_int_equal(state_of(rig, bus), KMRIG_DEVICE_STARTED);
    kmrig_rig_close_file(f);
    kmrig_rig_settle(rig);
    assert_string_equal(g_log, "fn:23 child:23 fn:2 child:2 ");
    assert_int_equal(state_of(rig, child), KMRIG_DEVICE_REMOVED);
    assert_int_equal(kmrig_rig_remove_device(rig, bus), STATUS_SUCCESS);
    assert_int_equal(state_of(rig, bus), KMRIG_DEVICE_REMOVED);
    kmrig_rig_close(rig);
}

static char g_warnings[1024]; /* the PnP manager's warnings */
static void capture_log(void *ctx, enum kmrig_log_level level, const char *msg)
{
    if (level <= KMRIG_LOG_WARN && !strncmp(msg, "pnp: ", 5))
        strncat(g_warnings, msg, sizeof g_warnings - strlen(g_warnings) - 1);
}

/* kmrig_rig_stop with a surprise-removed device's file still open: the REMOVE goes anyway,
 * once, and the leaked file is reported in the log. */
static void test_rig_stop_with_a_file_open_removes_and_reports_it(void **state)
{
    kmrig_config cfg;
    kmrig_config_init(&cfg);
    cfg.log_level = KMRIG_LOG_WARN;
    cfg.log_fn = capture_log;
    struct kmrig_rig_options o;
    kmrig_rig_options_init(&o);
    o.config = &cfg;
    kmrig_rig *rig;
    assert_int_equal(kmrig_rig_open(&o, &rig), STATUS_SUCCESS);
    start_test_device(rig);
    PDEVICE_OBJECT pdo = kmrig_rig_find(rig, "KMRIG\\TESTDEV");
    PFILE_OBJECT f;
    assert_int_equal(kmrig_rig_open_interface(rig, &TestInterface, 0, &f), STATUS_SUCCESS);
    g_log[0] = 0;
    assert_int_equal(kmrig_rig_surprise_remove(rig, pdo), STATUS_SUCCESS);
    assert_string_equal(g_log, "flt:23 fn:23 ");
    assert_string_equal(g_warnings, "");
    assert_int_equal(kmrig_rig_stop(rig), STATUS_SUCCESS);
    assert_string_equal(g_log, "flt:23 fn:23 flt:2 fn:2 ");
    assert_non_null(strstr(g_warnings, "pnp: KMRIG\\TESTDEV\\0: IRP_MN_REMOVE_DEVICE at shutdown "
                                       "with 1 file object(s) still open"));
    assert_int_equal(g_fn_devices, 0);
    assert_int_equal(g_flt_devices, 0);
    assert_int_equal(g_unloads, 1);
    /* opened on the PDO: its close now goes to the root driver, not to the removed stack */
    LONG before = g_fn_closes;
    kmrig_rig_close_file(f);
    assert_int_equal(g_fn_closes, before);
    assert_string_equal(g_log, "flt:23 fn:23 flt:2 fn:2 ");
    kmrig_rig_close(rig);
}

static void test_rig_stop_removes_devices_and_unloads_drivers(void **state)
{
    kmrig_rig *rig = test_rig();
    start_test_device(rig);
    g_log[0] = 0;
    assert_int_equal(kmrig_rig_stop(rig), STATUS_SUCCESS);
    assert_string_equal(g_log, "flt:1 fn:1 flt:2 fn:2 ");
    assert_int_equal(g_unloads, 1);
    struct kmrig_device_info info;
    assert_int_equal(kmrig_rig_device(rig, 0, &info), STATUS_NO_MORE_ENTRIES);
    kmrig_rig_close(rig);
}

static void test_rig_bus_children_started_and_vanished_ones_removed(void **state)
{
    kmrig_rig *rig = test_rig();
    static const struct kmrig_device_desc bus[] = {{.hardware_ids = {"KMRIG\\TESTBUS"}}};
    assert_int_equal(kmrig_rig_register_driver(rig, "KMRIG\\TESTBUS", "testbus", BusEntry),
                     STATUS_SUCCESS);
    assert_int_equal(kmrig_rig_register_driver(rig, "TESTBUS\\CHILD", "testfn", FnEntry),
                     STATUS_SUCCESS);
    g_children = 0x3;
    assert_int_equal(kmrig_rig_start(rig, bus, 1), STATUS_SUCCESS);
    PDEVICE_OBJECT c0 = kmrig_rig_find(rig, "TESTBUS\\CHILD\\0");
    PDEVICE_OBJECT c1 = kmrig_rig_find(rig, "TESTBUS\\CHILD\\1");
    assert_non_null(c0);
    assert_non_null(c1);
    struct kmrig_device_info info;
    assert_int_equal(kmrig_rig_device_info(rig, c1, &info), STATUS_SUCCESS);
    assert_int_equal(info.state, KMRIG_DEVICE_STARTED);
    assert_ptr_equal(info.parent, kmrig_rig_find(rig, "KMRIG\\TESTBUS"));
    /* the bus driver's PDO got an autogenerated name; its interface links to it */
    WCHAR name[64];
    ULONG len;
    assert_int_equal(
        IoGetDeviceProperty(c1, DevicePropertyPhysicalDeviceObjectName, sizeof name, name, &len),
        STATUS_SUCCESS);
    assert_int_equal(len, 17 * sizeof(WCHAR)); /* "\Device\xxxxxxxx" and the NUL */
    assert_memory_equal(name, L"\\Device\\", 8 * sizeof(WCHAR));
    kmrig_rig_settle(rig);
    PFILE_OBJECT f;
    assert_int_equal(kmrig_rig_open_interface(rig, &TestInterface, 1, &f), STATUS_SUCCESS);
    kmrig_rig_close_file(f);
    /* child 1 unplugged, child 2 plugged in */
    g_children = 0x5;
    g_log[0] = 0;
    IoInvalidateDeviceRelations(kmrig_rig_find(rig, "KMRIG\\TESTBUS"), BusRelations);
    kmrig_rig_settle(rig);
    assert_null(kmrig_rig_find(rig, "TESTBUS\\CHILD\\1"));
    assert_non_null(strstr(g_log, "fn:23 child:23 fn:2 child:2 "));
    PDEVICE_OBJECT c2 = kmrig_rig_find(rig, "TESTBUS\\CHILD\\2");
    assert_non_null(c2);
    assert_int_equal(kmrig_rig_device_info(rig, c2, &info), STATUS_SUCCESS);
    assert_int_equal(info.state, KMRIG_DEVICE_STARTED);
    assert_ptr_equal(kmrig_rig_find(rig, "TESTBUS\\CHILD\\0"), c0);
    kmrig_rig_close(rig);
}

/* ---- the PnP verifier ---- */

static BOOLEAN g_lazy_fail_remove;
static NTSTATUS NTAPI LazyPnp(PDEVICE_OBJECT d, PIRP irp)
{
    PDEVICE_OBJECT lower = *(PDEVICE_OBJECT *)d->DeviceExtension;
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(irp);
    if (sl->MinorFunction == IRP_MN_REMOVE_DEVICE && g_lazy_fail_remove) {
        irp->IoStatus.Status = STATUS_UNSUCCESSFUL;
        IoCompleteRequest(irp, IO_NO_INCREMENT);
        return STATUS_UNSUCCESSFUL;
    }
    if (sl->MinorFunction == IRP_MN_START_DEVICE ||
        sl->MinorFunction == IRP_MN_QUERY_REMOVE_DEVICE ||
        sl->MinorFunction == IRP_MN_REMOVE_DEVICE)
        irp->IoStatus.Status = STATUS_SUCCESS;
    /* REMOVE passed down without detaching or deleting: the stack is left behind */
    IoSkipCurrentIrpStackLocation(irp);
    return IoCallDriver(lower, irp);
}

static NTSTATUS NTAPI LazyEntry(PDRIVER_OBJECT drv, PUNICODE_STRING path)
{
    drv->DriverExtension->AddDevice = FltAddDevice;
    drv->DriverUnload = FltUnload;
    drv->MajorFunction[IRP_MJ_PNP] = LazyPnp;
    return STATUS_SUCCESS;
}

static void lazy_remove(void *arg)
{
    kmrig_rig *rig = test_rig();
    g_lazy_fail_remove = arg != NULL;
    assert_int_equal(kmrig_rig_register_driver(rig, "KMRIG\\TESTDEV", "lazy", LazyEntry),
                     STATUS_SUCCESS);
    assert_int_equal(kmrig_rig_start(rig, test_devices, 1), STATUS_SUCCESS);
    kmrig_rig_remove_device(rig, kmrig_rig_find(rig, "KMRIG\\TESTDEV"));
}

static void test_rig_verifier_remove_that_leaves_the_stack_bugchecks(void **state)
{
    ULONG_PTR p[4];
    assert_int_equal(kmtest_bugcheck_of(lazy_remove, NULL, p), DRIVER_VERIFIER_IOMANAGER_VIOLATION);
    assert_int_equal(p[0], 0x4B4D0112u);
}

static void test_rig_verifier_failed_remove_bugchecks(void **state)
{
    ULONG_PTR p[4];
    assert_int_equal(kmtest_bugcheck_of(lazy_remove, (void *)1, p),
                     DRIVER_VERIFIER_IOMANAGER_VIOLATION);
    assert_int_equal(p[0], 0x4B4D0111u);
    assert_int_equal(p[2], (ULONG_PTR)STATUS_UNSUCCESSFUL);
}

static NTSTATUS NTAPI Done(PDEVICE_OBJECT d, PIRP irp, PVOID ctx)
{
    KeSetEvent(ctx, IO_NO_INCREMENT, FALSE);
    return STATUS_MORE_PROCESSING_REQUIRED;
}

static void driver_sends_start(void *arg)
{
    kmrig_rig *rig = test_rig();
    start_test_device(rig);
    PDEVICE_OBJECT top = IoGetAttachedDeviceReference(kmrig_rig_find(rig, "KMRIG\\TESTDEV"));
    PIRP irp = IoAllocateIrp(top->StackSize, FALSE);
    KEVENT ev;
    KeInitializeEvent(&ev, NotificationEvent, FALSE);
    PIO_STACK_LOCATION sl = IoGetNextIrpStackLocation(irp);
    sl->MajorFunction = IRP_MJ_PNP;
    sl->MinorFunction = IRP_MN_START_DEVICE;
    IoSetCompletionRoutine(irp, Done, &ev, TRUE, TRUE, TRUE);
    IoCallDriver(top, irp);
}

static void test_rig_verifier_start_sent_by_a_driver_bugchecks(void **state)
{
    ULONG_PTR p[4];
    assert_int_equal(kmtest_bugcheck_of(driver_sends_start, NULL, p),
                     DRIVER_VERIFIER_IOMANAGER_VIOLATION);
    assert_int_equal(p[0], 0x4B4D0114u);
    assert_int_equal(p[3], IRP_MN_START_DEVICE);
}

static void test_rig_stop_with_a_veto_falls_back_to_surprise_removal(void **state)
{
    kmrig_rig *rig = test_rig();
    start_test_device(rig);
    g_veto_query_remove = TRUE;
    g_log[0] = 0;
    assert_int_equal(kmrig_rig_stop(rig), STATUS_SUCCESS);
    assert_string_equal(g_log, "flt:1 fn:1 flt:3 fn:3 flt:23 fn:23 flt:2 fn:2 ");
    kmrig_rig_close(rig);
}

static void test_rig_register_driver_errors(void **state)
{
    kmrig_rig *rig = test_rig();
    assert_int_equal(kmrig_rig_register_driver(rig, "", "x", FnEntry), STATUS_INVALID_PARAMETER);
    assert_int_equal(kmrig_rig_register_driver(rig, "A", NULL, FnEntry), STATUS_INVALID_PARAMETER);
    assert_int_equal(kmrig_rig_register_driver(rig, "A", "x", NULL), STATUS_INVALID_PARAMETER);
    assert_int_equal(kmrig_rig_register_driver(rig, "A", "x", FnEntry), STATUS_SUCCESS);
    assert_int_equal(kmrig_rig_register_driver(rig, "a", "y", FltEntry),
                     STATUS_OBJECT_NAME_COLLISION); /* one function driver per ID */
    assert_int_equal(kmrig_rig_register_driver(rig, "B", "x", FltEntry),
                     STATUS_OBJECT_NAME_COLLISION); /* one entry per service */
    kmrig_rig_close(rig);
}

static void test_rig_conflicting_descriptions_second_device_fails(void **state)
{
    kmrig_rig *rig = test_rig();
    struct kmrig_device_desc two[2] = {test_devices[0], test_devices[0]};
    two[1].instance = "7";
    assert_int_equal(kmrig_rig_register_driver(rig, "KMRIG\\TESTDEV", "testfn", FnEntry),
                     STATUS_SUCCESS);
    assert_int_equal(kmrig_rig_start(rig, two, 2), STATUS_SUCCESS);
    struct kmrig_device_info info;
    assert_int_equal(kmrig_rig_device_info(rig, kmrig_rig_find(rig, "KMRIG\\TESTDEV\\7"), &info),
                     STATUS_SUCCESS);
    assert_int_equal(info.state, KMRIG_DEVICE_FAILED);
    assert_int_equal(info.status, STATUS_CONFLICTING_ADDRESSES);
    kmrig_rig_close(rig);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_rig_start_sends_the_documented_irps_in_order),
    cmocka_unit_test(test_rig_start_resources_raw_and_translated_match_the_description),
    cmocka_unit_test(test_rig_open_interface_and_ioctl_reach_the_function_driver),
    cmocka_unit_test(test_rig_find_by_hardware_id_and_instance_path),
    cmocka_unit_test(test_rig_device_without_driver_stays_enumerated),
    cmocka_unit_test(test_rig_failed_start_tears_the_stack_down),
    cmocka_unit_test(test_rig_remove_vetoed_sends_cancel_remove),
    cmocka_unit_test(test_rig_surprise_remove_forgets_the_device),
    cmocka_unit_test(test_rig_surprise_remove_with_a_file_open_waits_for_its_close),
    cmocka_unit_test(test_rig_surprise_remove_with_two_files_waits_for_both),
    cmocka_unit_test(test_rig_surprise_remove_of_a_bus_waits_for_its_childs_file),
    cmocka_unit_test(test_rig_surprise_removed_child_with_a_file_vetoes_its_bus_removal),
    cmocka_unit_test(test_rig_stop_with_a_file_open_removes_and_reports_it),
    cmocka_unit_test(test_rig_stop_removes_devices_and_unloads_drivers),
    cmocka_unit_test(test_rig_bus_children_started_and_vanished_ones_removed),
    cmocka_unit_test(test_rig_verifier_remove_that_leaves_the_stack_bugchecks),
    cmocka_unit_test(test_rig_verifier_failed_remove_bugchecks),
    cmocka_unit_test(test_rig_verifier_start_sent_by_a_driver_bugchecks),
    cmocka_unit_test(test_rig_stop_with_a_veto_falls_back_to_surprise_removal),
    cmocka_unit_test(test_rig_register_driver_errors),
    cmocka_unit_test(test_rig_conflicting_descriptions_second_device_fails),
};
KMTEST_MAIN(tests)

/* The PnP routines drivers call: device properties and registry keys, device interfaces and PnP
 * notifications, device state, eject, detected devices, PoRequestPowerIrp. Devices come from the
 * rig's root bus (tests/rig/rig_drivers.h). */
#include "rig_drivers.h"

/* descriptor i of the first full descriptor (the WDK declares the array [1]) */
static PCM_PARTIAL_RESOURCE_DESCRIPTOR partial(PCM_RESOURCE_LIST l, ULONG i)
{
    return (
        PCM_PARTIAL_RESOURCE_DESCRIPTOR)((PUCHAR)l->List[0].PartialResourceList.PartialDescriptors +
                                         i * sizeof(CM_PARTIAL_RESOURCE_DESCRIPTOR));
}

static kmrig_rig *started_rig(void)
{
    kmrig_rig *rig = test_rig();
    assert_int_equal(kmrig_rig_register_driver(rig, "KMRIG\\TESTDEV", "testfn", FnEntry),
                     STATUS_SUCCESS);
    assert_int_equal(kmrig_rig_start(rig, test_devices, 1), STATUS_SUCCESS);
    kmrig_rig_settle(rig);
    return rig;
}

static PDEVICE_OBJECT testdev(kmrig_rig *rig)
{
    PDEVICE_OBJECT pdo = kmrig_rig_find(rig, "KMRIG\\TESTDEV");
    assert_non_null(pdo);
    return pdo;
}

/* ---- IoGetDeviceProperty ---- */

static void test_io_get_device_property_buffer_contract(void **state)
{
    kmrig_rig *rig = started_rig();
    PDEVICE_OBJECT pdo = testdev(rig);
    static const WCHAR hw[] = L"KMRIG\\TESTDEV\0KMRIG\\TESTDEV_ANY\0";
    ULONG len = 0xdead;
    /* too small: the size needed, nothing written */
    WCHAR buf[64];
    kmtest_junk(buf, sizeof buf);
    WCHAR first = buf[0];
    assert_int_equal(IoGetDeviceProperty(pdo, DevicePropertyHardwareID, 4, buf, &len),
                     STATUS_BUFFER_TOO_SMALL);
    assert_int_equal(len, sizeof hw);
    assert_int_equal(buf[0], first);
    assert_int_equal(IoGetDeviceProperty(pdo, DevicePropertyHardwareID, 0, NULL, &len),
                     STATUS_BUFFER_TOO_SMALL);
    assert_int_equal(len, sizeof hw);
    assert_int_equal(IoGetDeviceProperty(pdo, DevicePropertyHardwareID, sizeof buf, buf, &len),
                     STATUS_SUCCESS);
    assert_int_equal(len, sizeof hw);
    assert_memory_equal(buf, hw, sizeof hw);
    assert_int_equal(IoGetDeviceProperty(pdo, DevicePropertyCompatibleIDs, sizeof buf, buf, &len),
                     STATUS_SUCCESS);
    assert_memory_equal(buf, L"KMRIG\\COMPAT\0", sizeof L"KMRIG\\COMPAT\0");
    assert_int_equal(
        IoGetDeviceProperty(pdo, DevicePropertyDeviceDescription, sizeof buf, buf, &len),
        STATUS_SUCCESS);
    assert_memory_equal(buf, L"Test device", sizeof L"Test device");
    assert_int_equal(IoGetDeviceProperty(pdo, DevicePropertyEnumeratorName, sizeof buf, buf, &len),
                     STATUS_SUCCESS);
    assert_memory_equal(buf, L"KMRIG", sizeof L"KMRIG");
    assert_int_equal(
        IoGetDeviceProperty(pdo, DevicePropertyPhysicalDeviceObjectName, sizeof buf, buf, &len),
        STATUS_SUCCESS);
    assert_memory_equal(buf, L"\\Device\\KmPnp", 13 * sizeof(WCHAR));
    ULONG u = 77;
    assert_int_equal(IoGetDeviceProperty(pdo, DevicePropertyLegacyBusType, sizeof u, &u, &len),
                     STATUS_SUCCESS);
    assert_int_equal(u, Internal);
    assert_int_equal(len, sizeof u);
    assert_int_equal(IoGetDeviceProperty(pdo, DevicePropertyBusNumber, sizeof u, &u, &len),
                     STATUS_SUCCESS);
    assert_int_equal(u, 0);
    assert_int_equal(IoGetDeviceProperty(pdo, DevicePropertyInstallState, sizeof u, &u, &len),
                     STATUS_SUCCESS);
    assert_int_equal(u, InstallStateInstalled);
    assert_int_equal(IoGetDeviceProperty(pdo, DevicePropertyDriverKeyName, sizeof buf, buf, &len),
                     STATUS_SUCCESS);
    assert_memory_equal(buf, L"{4d36e97d-e325-11ce-bfc1-08002be10318}\\", 39 * sizeof(WCHAR));
    /* boot configuration: the description's raw list; translated: the vector */
    UCHAR res[512];
    assert_int_equal(
        IoGetDeviceProperty(pdo, DevicePropertyBootConfiguration, sizeof res, res, &len),
        STATUS_SUCCESS);
    PCM_RESOURCE_LIST raw = (PCM_RESOURCE_LIST)res;
    assert_int_equal(raw->List[0].PartialResourceList.Count, 4);
    assert_int_equal(partial(raw, 2)->u.Interrupt.Vector, 2);
    assert_int_equal(
        IoGetDeviceProperty(pdo, DevicePropertyBootConfigurationTranslated, sizeof res, res, &len),
        STATUS_SUCCESS);
    KIRQL irql;
    KAFFINITY aff;
    PCM_RESOURCE_LIST tr = (PCM_RESOURCE_LIST)res;
    assert_int_equal(partial(tr, 2)->u.Interrupt.Vector,
                     HalGetInterruptVector(Internal, 0, 2, 2, &irql, &aff));
    assert_int_equal(partial(tr, 2)->u.Interrupt.Level, irql);
    /* not a property */
    assert_int_equal(IoGetDeviceProperty(pdo, (DEVICE_REGISTRY_PROPERTY)0x99, sizeof u, &u, &len),
                     STATUS_INVALID_PARAMETER_2);
    /* not a PDO: the function driver's FDO */
    assert_int_equal(
        IoGetDeviceProperty(pdo->AttachedDevice, DevicePropertyHardwareID, sizeof buf, buf, &len),
        STATUS_INVALID_DEVICE_REQUEST);
    kmrig_rig_close(rig);
}

/* ---- IoOpenDeviceRegistryKey ---- */

static void test_io_open_device_registry_key_device_and_driver(void **state)
{
    kmrig_rig *rig = started_rig();
    PDEVICE_OBJECT pdo = testdev(rig);
    HANDLE h;
    assert_int_equal(IoOpenDeviceRegistryKey(pdo, PLUGPLAY_REGKEY_DEVICE, KEY_ALL_ACCESS, &h),
                     STATUS_SUCCESS);
    UNICODE_STRING v;
    RtlInitUnicodeString(&v, L"Baud");
    ULONG baud = 115200;
    assert_int_equal(ZwSetValueKey(h, &v, 0, REG_DWORD, &baud, sizeof baud), STATUS_SUCCESS);
    ZwClose(h);
    /* it is Enum\<instance>\Device Parameters */
    HANDLE k;
    OBJECT_ATTRIBUTES oa;
    UNICODE_STRING path;
    RtlInitUnicodeString(&path, L"\\Registry\\Machine\\System\\CurrentControlSet\\Enum\\KMRIG\\"
                                L"TESTDEV\\0\\Device Parameters");
    InitializeObjectAttributes(&oa, &path, OBJ_KERNEL_HANDLE, NULL, NULL);
    assert_int_equal(ZwOpenKey(&k, KEY_READ, &oa), STATUS_SUCCESS);
    UCHAR buf[64];
    ULONG len;
    assert_int_equal(ZwQueryValueKey(k, &v, KeyValuePartialInformation, buf, sizeof buf, &len),
                     STATUS_SUCCESS);
    assert_int_equal(*(ULONG *)((PKEY_VALUE_PARTIAL_INFORMATION)buf)->Data, 115200);
    ZwClose(k);
    assert_int_equal(IoOpenDeviceRegistryKey(pdo, PLUGPLAY_REGKEY_DRIVER, KEY_READ, &h),
                     STATUS_SUCCESS);
    ZwClose(h);
    assert_int_equal(IoOpenDeviceRegistryKey(pdo, 0, KEY_READ, &h), STATUS_INVALID_PARAMETER);
    assert_int_equal(
        IoOpenDeviceRegistryKey(pdo->AttachedDevice, PLUGPLAY_REGKEY_DEVICE, KEY_READ, &h),
        STATUS_INVALID_DEVICE_REQUEST);
    /* the service key the driver was loaded with */
    RtlInitUnicodeString(&path,
                         L"\\Registry\\Machine\\System\\CurrentControlSet\\Services\\testfn");
    assert_int_equal(ZwOpenKey(&k, KEY_READ, &oa), STATUS_SUCCESS);
    ZwClose(k);
    kmrig_rig_close(rig);
}

/* ---- interfaces and notifications ---- */

static LONG g_arrivals, g_removals;
static WCHAR g_arrived[256];
static NTSTATUS NTAPI OnInterface(PVOID n, PVOID ctx)
{
    PDEVICE_INTERFACE_CHANGE_NOTIFICATION c = n;
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
    assert_memory_equal(&c->InterfaceClassGuid, &TestInterface, sizeof(GUID));
    if (!memcmp(&c->Event, &GUID_DEVICE_INTERFACE_ARRIVAL, sizeof(GUID))) {
        g_arrivals++;
        memcpy(g_arrived, c->SymbolicLinkName->Buffer, c->SymbolicLinkName->Length);
        g_arrived[c->SymbolicLinkName->Length / 2] = 0;
    } else if (!memcmp(&c->Event, &GUID_DEVICE_INTERFACE_REMOVAL, sizeof(GUID))) {
        g_removals++;
    }
    return STATUS_SUCCESS;
}

static NTSTATUS NTAPI DummyEntry(PDRIVER_OBJECT d, PUNICODE_STRING p)
{
    return STATUS_SUCCESS;
}

static PDRIVER_OBJECT g_client; /* a driver object for the notification registrations */
static PDRIVER_OBJECT client_driver(kmrig_rig *rig)
{
    extern NTSTATUS IopLoadDriver(struct kmrig_runtime * rt, PCWSTR ServiceName,
                                  PDRIVER_INITIALIZE DriverEntry, PUNICODE_STRING RegistryPath,
                                  PDRIVER_OBJECT * DriverObject);
    assert_int_equal(IopLoadDriver(kmrig_rig_runtime(rig), L"client", DummyEntry, NULL, &g_client),
                     STATUS_SUCCESS);
    return g_client;
}

static void test_io_interface_name_state_and_arrival_notifications(void **state)
{
    kmrig_rig *rig = test_rig();
    PDRIVER_OBJECT client = client_driver(rig);
    PVOID entry;
    assert_int_equal(IoRegisterPlugPlayNotification(EventCategoryDeviceInterfaceChange, 0,
                                                    (PVOID)&TestInterface, client, OnInterface,
                                                    NULL, &entry),
                     STATUS_SUCCESS);
    assert_int_equal(kmrig_rig_register_driver(rig, "KMRIG\\TESTDEV", "testfn", FnEntry),
                     STATUS_SUCCESS);
    assert_int_equal(kmrig_rig_start(rig, test_devices, 1), STATUS_SUCCESS);
    kmrig_rig_settle(rig);
    assert_int_equal(g_arrivals, 1);
    static const WCHAR name[] = L"\\??\\KMRIG#TESTDEV#0#{6f1c0a52-3b7e-4d2a-9c11-5a0b7e3f2d10}";
    assert_memory_equal(g_arrived, name, sizeof name);
    assert_memory_equal(g_link.Buffer, name, sizeof name - sizeof(WCHAR));
    /* enabled: listed; the link opens the device */
    PZZWSTR list;
    assert_int_equal(IoGetDeviceInterfaces(&TestInterface, NULL, 0, &list), STATUS_SUCCESS);
    assert_memory_equal(list, name, sizeof name);
    assert_int_equal(list[sizeof name / 2], 0);
    ExFreePool(list);
    PFILE_OBJECT f;
    assert_int_equal(kmrig_rig_open_device(rig,
                                           "\\??\\KMRIG#TESTDEV#0#{6f1c0a52-3b7e-4d2a-9c11-"
                                           "5a0b7e3f2d10}",
                                           &f),
                     STATUS_SUCCESS);
    kmrig_rig_close_file(f);
    /* disabled: gone from the active list, still there with INCLUDE_NONACTIVE */
    assert_int_equal(IoSetDeviceInterfaceState(&g_link, FALSE), STATUS_SUCCESS);
    kmrig_rig_settle(rig);
    assert_int_equal(g_removals, 1);
    assert_int_equal(IoGetDeviceInterfaces(&TestInterface, NULL, 0, &list), STATUS_SUCCESS);
    assert_int_equal(list[0], 0);
    ExFreePool(list);
    assert_int_equal(IoGetDeviceInterfaces(&TestInterface, testdev(rig),
                                           DEVICE_INTERFACE_INCLUDE_NONACTIVE, &list),
                     STATUS_SUCCESS);
    assert_memory_equal(list, name, sizeof name);
    ExFreePool(list);
    assert_int_equal(kmrig_rig_open_device(rig,
                                           "\\??\\KMRIG#TESTDEV#0#{6f1c0a52-3b7e-4d2a-9c11-"
                                           "5a0b7e3f2d10}",
                                           &f),
                     STATUS_OBJECT_NAME_NOT_FOUND);
    /* unknown link */
    UNICODE_STRING bogus;
    RtlInitUnicodeString(&bogus, L"\\??\\NOPE");
    assert_int_equal(IoSetDeviceInterfaceState(&bogus, TRUE), STATUS_OBJECT_NAME_NOT_FOUND);
    assert_int_equal(IoUnregisterPlugPlayNotification(entry), STATUS_SUCCESS);
    assert_int_equal(IoSetDeviceInterfaceState(&g_link, TRUE), STATUS_SUCCESS);
    kmrig_rig_settle(rig);
    assert_int_equal(g_arrivals, 1); /* unregistered: not told */
    kmrig_rig_close(rig);
}

static void test_io_register_notification_include_existing_interfaces(void **state)
{
    kmrig_rig *rig = started_rig();
    PDRIVER_OBJECT client = client_driver(rig);
    PVOID entry;
    assert_int_equal(
        IoRegisterPlugPlayNotification(EventCategoryDeviceInterfaceChange,
                                       PNPNOTIFY_DEVICE_INTERFACE_INCLUDE_EXISTING_INTERFACES,
                                       (PVOID)&TestInterface, client, OnInterface, NULL, &entry),
        STATUS_SUCCESS);
    kmrig_rig_settle(rig);
    assert_int_equal(g_arrivals, 1);
    assert_int_equal(IoUnregisterPlugPlayNotification(entry), STATUS_SUCCESS);
    assert_int_equal(IoRegisterPlugPlayNotification(EventCategoryReserved, 0, NULL, client,
                                                    OnInterface, NULL, &entry),
                     STATUS_INVALID_PARAMETER);
    kmrig_rig_close(rig);
}

static void test_io_interface_alias_and_registry_key(void **state)
{
    kmrig_rig *rig = started_rig();
    PDEVICE_OBJECT pdo = testdev(rig);
    UNICODE_STRING alias, got;
    UNICODE_STRING ref;
    RtlInitUnicodeString(&ref, L"bad\\ref");
    assert_int_equal(IoRegisterDeviceInterface(pdo, &TestAlias, &ref, &alias),
                     STATUS_INVALID_DEVICE_REQUEST);
    assert_int_equal(IoRegisterDeviceInterface(pdo->AttachedDevice, &TestAlias, NULL, &alias),
                     STATUS_INVALID_DEVICE_REQUEST);
    assert_int_equal(IoRegisterDeviceInterface(pdo, &TestAlias, NULL, &alias), STATUS_SUCCESS);
    assert_int_equal(IoGetDeviceInterfaceAlias(&g_link, &TestAlias, &got), STATUS_SUCCESS);
    assert_true(RtlEqualUnicodeString(&got, &alias, TRUE));
    RtlFreeUnicodeString(&got);
    static const GUID other = {1, 2, 3, {4, 5, 6, 7, 8, 9, 10, 11}};
    assert_int_equal(IoGetDeviceInterfaceAlias(&g_link, &other, &got),
                     STATUS_OBJECT_NAME_NOT_FOUND);
    UNICODE_STRING bogus;
    RtlInitUnicodeString(&bogus, L"\\??\\NOPE");
    assert_int_equal(IoGetDeviceInterfaceAlias(&bogus, &TestAlias, &got), STATUS_INVALID_HANDLE);
    HANDLE h;
    assert_int_equal(IoOpenDeviceInterfaceRegistryKey(&alias, KEY_ALL_ACCESS, &h), STATUS_SUCCESS);
    ZwClose(h);
    assert_int_equal(IoOpenDeviceInterfaceRegistryKey(&bogus, KEY_ALL_ACCESS, &h),
                     STATUS_OBJECT_NAME_NOT_FOUND);
    /* DeviceClasses\{class}\##?#KMRIG#TESTDEV#0#{class}\#\Device Parameters */
    OBJECT_ATTRIBUTES oa;
    UNICODE_STRING path;
    RtlInitUnicodeString(&path,
                         L"\\Registry\\Machine\\System\\CurrentControlSet\\Control\\DeviceClasses\\"
                         L"{6f1c0a53-3b7e-4d2a-9c11-5a0b7e3f2d10}\\##?#KMRIG#TESTDEV#0#{6f1c0a53-"
                         L"3b7e-4d2a-9c11-5a0b7e3f2d10}\\#\\Device Parameters");
    InitializeObjectAttributes(&oa, &path, OBJ_KERNEL_HANDLE, NULL, NULL);
    assert_int_equal(ZwOpenKey(&h, KEY_READ, &oa), STATUS_SUCCESS);
    ZwClose(h);
    RtlFreeUnicodeString(&alias);
    kmrig_rig_close(rig);
}

/* ---- target device change ---- */

static char g_target_log[256];
static NTSTATUS g_target_answer;
static NTSTATUS NTAPI OnTarget(PVOID n, PVOID ctx)
{
    PPLUGPLAY_NOTIFICATION_HEADER h = n;
    const char *what = "?";
    if (!memcmp(&h->Event, &GUID_TARGET_DEVICE_QUERY_REMOVE, sizeof(GUID)))
        what = "query ";
    else if (!memcmp(&h->Event, &GUID_TARGET_DEVICE_REMOVE_CANCELLED, sizeof(GUID)))
        what = "cancelled ";
    else if (!memcmp(&h->Event, &GUID_TARGET_DEVICE_REMOVE_COMPLETE, sizeof(GUID)))
        what = "complete ";
    else
        what = "custom ";
    assert_ptr_equal(((PTARGET_DEVICE_REMOVAL_NOTIFICATION)n)->FileObject, ctx);
    strcat(g_target_log, what);
    return g_target_answer;
}

static void test_io_target_device_notifications_veto_and_complete(void **state)
{
    kmrig_rig *rig = started_rig();
    PDRIVER_OBJECT client = client_driver(rig);
    PDEVICE_OBJECT pdo = testdev(rig);
    PFILE_OBJECT f;
    assert_int_equal(kmrig_rig_open_interface(rig, &TestInterface, 0, &f), STATUS_SUCCESS);
    PVOID entry;
    assert_int_equal(IoRegisterPlugPlayNotification(EventCategoryTargetDeviceChange, 0, f, client,
                                                    OnTarget, f, &entry),
                     STATUS_SUCCESS);
    /* a custom event goes to the callback; a system one is refused */
    TARGET_DEVICE_CUSTOM_NOTIFICATION c = {1, sizeof c, {0x1234}, NULL, -1, {0}};
    assert_int_equal(IoReportTargetDeviceChange(pdo, &c), STATUS_SUCCESS);
    c.Event = GUID_TARGET_DEVICE_REMOVE_COMPLETE;
    assert_int_equal(IoReportTargetDeviceChange(pdo, &c), STATUS_INVALID_DEVICE_REQUEST);
    assert_string_equal(g_target_log, "custom ");
    /* the callback refuses the query: the removal is vetoed, the callback hears it cancelled */
    g_target_answer = STATUS_UNSUCCESSFUL;
    g_target_log[0] = 0;
    g_log[0] = 0;
    assert_int_equal(kmrig_rig_remove_device(rig, pdo), STATUS_PLUGPLAY_QUERY_VETOED);
    assert_string_equal(g_target_log, "query cancelled ");
    assert_string_equal(g_log, ""); /* no QUERY_REMOVE IRP was sent */
    g_target_answer = STATUS_SUCCESS;
    g_target_log[0] = 0;
    kmrig_rig_close_file(f);
    assert_int_equal(kmrig_rig_remove_device(rig, pdo), STATUS_SUCCESS);
    assert_string_equal(g_target_log, "query complete ");
    assert_int_equal(IoUnregisterPlugPlayNotification(entry), STATUS_SUCCESS);
    assert_int_equal(IoUnregisterPlugPlayNotification(entry), STATUS_INVALID_PARAMETER);
    kmrig_rig_close(rig);
}

/* A holder that does what NT asks of one: on REMOVE_COMPLETE (which follows a surprise
 * removal's SURPRISE_REMOVAL) it closes its file, which lets the REMOVE_DEVICE go. */
static PFILE_OBJECT g_held;
static NTSTATUS NTAPI OnTargetClose(PVOID n, PVOID ctx)
{
    PPLUGPLAY_NOTIFICATION_HEADER h = n;
    if (!memcmp(&h->Event, &GUID_TARGET_DEVICE_REMOVE_COMPLETE, sizeof(GUID))) {
        strcat(g_target_log, "complete ");
        strcat(g_target_log, g_log); /* what the stack had seen by then */
        assert_ptr_equal(((PTARGET_DEVICE_REMOVAL_NOTIFICATION)n)->FileObject, g_held);
        kmrig_rig_close_file(g_held);
        g_held = NULL;
    }
    return STATUS_SUCCESS;
}

static void test_io_target_device_remove_complete_follows_surprise_removal(void **state)
{
    kmrig_rig *rig = started_rig();
    PDRIVER_OBJECT client = client_driver(rig);
    PDEVICE_OBJECT pdo = testdev(rig);
    assert_int_equal(kmrig_rig_open_interface(rig, &TestInterface, 0, &g_held), STATUS_SUCCESS);
    PVOID entry;
    assert_int_equal(IoRegisterPlugPlayNotification(EventCategoryTargetDeviceChange, 0, g_held,
                                                    client, OnTargetClose, NULL, &entry),
                     STATUS_SUCCESS);
    g_log[0] = 0;
    g_target_log[0] = 0;
    assert_int_equal(kmrig_rig_surprise_remove(rig, pdo), STATUS_SUCCESS);
    kmrig_rig_settle(rig);
    /* told once, after SURPRISE_REMOVAL and before REMOVE_DEVICE, which the close let go */
    assert_string_equal(g_target_log, "complete fn:23 ");
    assert_null(g_held);
    assert_string_equal(g_log, "fn:23 fn:2 ");
    assert_null(kmrig_rig_find(rig, "KMRIG\\TESTDEV"));
    assert_int_equal(IoUnregisterPlugPlayNotification(entry), STATUS_SUCCESS);
    kmrig_rig_close(rig);
}

static LONG g_profile_calls;
static NTSTATUS NTAPI OnProfile(PVOID n, PVOID ctx)
{
    PPLUGPLAY_NOTIFICATION_HEADER h = n;
    g_profile_calls++;
    if (!memcmp(&h->Event, &GUID_HWPROFILE_QUERY_CHANGE, sizeof(GUID)))
        return (NTSTATUS)(ULONG_PTR)ctx;
    return STATUS_SUCCESS;
}

static void test_io_hardware_profile_change_query_and_veto(void **state)
{
    kmrig_rig *rig = test_rig();
    PDRIVER_OBJECT client = client_driver(rig);
    PVOID entry;
    assert_int_equal(IoRegisterPlugPlayNotification(EventCategoryHardwareProfileChange, 0, NULL,
                                                    client, OnProfile,
                                                    (PVOID)(ULONG_PTR)STATUS_SUCCESS, &entry),
                     STATUS_SUCCESS);
    assert_int_equal(kmrig_rig_hardware_profile_change(rig), STATUS_SUCCESS);
    assert_int_equal(g_profile_calls, 2); /* query, complete */
    assert_int_equal(IoUnregisterPlugPlayNotification(entry), STATUS_SUCCESS);
    assert_int_equal(IoRegisterPlugPlayNotification(EventCategoryHardwareProfileChange, 0, NULL,
                                                    client, OnProfile,
                                                    (PVOID)(ULONG_PTR)STATUS_UNSUCCESSFUL, &entry),
                     STATUS_SUCCESS);
    assert_int_equal(kmrig_rig_hardware_profile_change(rig), STATUS_PLUGPLAY_QUERY_VETOED);
    assert_int_equal(g_profile_calls, 4); /* query, cancelled */
    assert_int_equal(IoUnregisterPlugPlayNotification(entry), STATUS_SUCCESS);
    kmrig_rig_close(rig);
}

/* ---- device state, eject, relations ---- */

static void test_io_invalidate_device_state_failed_removes_the_stack(void **state)
{
    kmrig_rig *rig = started_rig();
    PDEVICE_OBJECT pdo = testdev(rig);
    g_pnp_state = PNP_DEVICE_FAILED;
    g_log[0] = 0;
    IoInvalidateDeviceState(pdo);
    kmrig_rig_settle(rig);
    /* asked, then removed as a device that may not answer any more */
    assert_string_equal(g_log, "fn:20 fn:23 fn:2 ");
    struct kmrig_device_info info;
    assert_int_equal(kmrig_rig_device_info(rig, pdo, &info), STATUS_SUCCESS);
    assert_int_equal(info.state, KMRIG_DEVICE_FAILED);
    assert_null(pdo->AttachedDevice);
    kmrig_rig_close(rig);
}

/* A failed device with a file open: surprise-removed at once, REMOVE_DEVICE after the close,
 * then listed as failed. */
static void test_io_invalidate_device_state_failed_with_a_file_open_waits_for_it(void **state)
{
    kmrig_rig *rig = started_rig();
    PDEVICE_OBJECT pdo = testdev(rig);
    PFILE_OBJECT f;
    assert_int_equal(kmrig_rig_open_interface(rig, &TestInterface, 0, &f), STATUS_SUCCESS);
    g_pnp_state = PNP_DEVICE_FAILED;
    g_log[0] = 0;
    IoInvalidateDeviceState(pdo);
    kmrig_rig_settle(rig);
    assert_string_equal(g_log, "fn:20 fn:23 ");
    struct kmrig_device_info info;
    assert_int_equal(kmrig_rig_device_info(rig, pdo, &info), STATUS_SUCCESS);
    assert_int_equal(info.state, KMRIG_DEVICE_SURPRISE_REMOVED);
    assert_non_null(pdo->AttachedDevice);
    kmrig_rig_close_file(f);
    kmrig_rig_settle(rig);
    assert_string_equal(g_log, "fn:20 fn:23 fn:2 ");
    assert_int_equal(kmrig_rig_device_info(rig, pdo, &info), STATUS_SUCCESS);
    assert_int_equal(info.state, KMRIG_DEVICE_FAILED);
    assert_int_equal(info.status, STATUS_UNSUCCESSFUL);
    assert_null(pdo->AttachedDevice);
    kmrig_rig_close(rig);
}

static void test_io_invalidate_device_state_requirements_changed_restarts(void **state)
{
    kmrig_rig *rig = started_rig();
    PDEVICE_OBJECT pdo = testdev(rig);
    g_pnp_state = PNP_DEVICE_RESOURCE_REQUIREMENTS_CHANGED;
    g_log[0] = 0;
    IoInvalidateDeviceState(pdo);
    kmrig_rig_settle(rig);
    g_pnp_state = 0;
    /* QUERY_STOP, STOP, requirements again, FILTER, START, then the after-start queries */
    assert_string_equal(g_log, "fn:20 fn:5 fn:4 fn:11 fn:13 fn:0 fn:9 fn:20 fn:7 ");
    struct kmrig_device_info info;
    assert_int_equal(kmrig_rig_device_info(rig, pdo, &info), STATUS_SUCCESS);
    assert_int_equal(info.state, KMRIG_DEVICE_STARTED);
    assert_non_null(info.raw);
    kmrig_rig_close(rig);
}

static void test_io_request_device_eject_removes_and_ejects(void **state)
{
    kmrig_rig *rig = started_rig();
    PDEVICE_OBJECT pdo = testdev(rig);
    g_log[0] = 0;
    IoRequestDeviceEject(pdo);
    kmrig_rig_settle(rig);
    assert_string_equal(g_log, "fn:1 fn:2 ");
    assert_null(kmrig_rig_find(rig, "KMRIG\\TESTDEV")); /* ejected: gone */
    kmrig_rig_close(rig);
}

static void invalidate_fdo(void *arg)
{
    kmrig_rig *rig = started_rig();
    IoInvalidateDeviceRelations(testdev(rig)->AttachedDevice, BusRelations);
}

static void test_io_invalidate_device_relations_of_a_non_pdo_bugchecks(void **state)
{
    ULONG_PTR p[4];
    assert_int_equal(kmtest_bugcheck_of(invalidate_fdo, NULL, p), PNP_DETECTED_FATAL_ERROR);
    assert_int_equal(p[0], 2);
}

/* ---- detected devices ---- */

static PDEVICE_OBJECT g_detected;
static NTSTATUS NTAPI LegacyEntry(PDRIVER_OBJECT drv, PUNICODE_STRING path)
{
    FnEntry(drv, path);
    UCHAR buf[sizeof(CM_RESOURCE_LIST) + sizeof(CM_PARTIAL_RESOURCE_DESCRIPTOR)];
    memset(buf, 0, sizeof buf);
    PCM_RESOURCE_LIST l = (PCM_RESOURCE_LIST)buf;
    l->Count = 1;
    l->List[0].InterfaceType = Isa;
    l->List[0].PartialResourceList.Count = 1;
    PCM_PARTIAL_RESOURCE_DESCRIPTOR d = &l->List[0].PartialResourceList.PartialDescriptors[0];
    d->Type = CmResourceTypePort;
    d->ShareDisposition = CmResourceShareDeviceExclusive;
    d->Flags = CM_RESOURCE_PORT_IO;
    d->u.Port.Start.QuadPart = 0x2F8;
    d->u.Port.Length = 8;
    BOOLEAN conflict = TRUE;
    NTSTATUS s = IoReportResourceForDetection(drv, l, sizeof buf, NULL, NULL, 0, &conflict);
    if (!NT_SUCCESS(s) || conflict)
        return STATUS_UNSUCCESSFUL;
    /* the test device owns 0x3F8: claiming it conflicts */
    d->u.Port.Start.QuadPart = 0x3FC;
    s = IoReportResourceForDetection(drv, l, sizeof buf, NULL, NULL, 0, &conflict);
    if (s != STATUS_CONFLICTING_ADDRESSES || !conflict)
        return STATUS_UNSUCCESSFUL;
    d->u.Port.Start.QuadPart = 0x2F8;
    /* release the driver's claim, then report the device with it */
    IoReportResourceForDetection(drv, NULL, 0, NULL, NULL, 0, &conflict);
    g_detected = NULL;
    s = IoReportDetectedDevice(drv, Isa, 0, 0, l, NULL, FALSE, &g_detected);
    if (!NT_SUCCESS(s))
        return s;
    return FnAddDevice(drv, g_detected);
}

static void test_io_report_detected_device_is_started_with_its_resources(void **state)
{
    kmrig_rig *rig = started_rig();
    extern NTSTATUS IopLoadDriver(struct kmrig_runtime * rt, PCWSTR ServiceName,
                                  PDRIVER_INITIALIZE DriverEntry, PUNICODE_STRING RegistryPath,
                                  PDRIVER_OBJECT * DriverObject);
    PDRIVER_OBJECT legacy;
    assert_int_equal(IopLoadDriver(kmrig_rig_runtime(rig), L"legacy", LegacyEntry, NULL, &legacy),
                     STATUS_SUCCESS);
    assert_non_null(g_detected);
    kmrig_rig_settle(rig);
    struct kmrig_device_info info;
    assert_int_equal(kmrig_rig_device_info(rig, g_detected, &info), STATUS_SUCCESS);
    assert_int_equal(info.state, KMRIG_DEVICE_STARTED);
    assert_memory_equal(info.instance_path, L"ROOT\\LEGACY_LEGACY\\0000",
                        sizeof L"ROOT\\LEGACY_LEGACY\\0000");
    assert_int_equal(
        info.raw->List[0].PartialResourceList.PartialDescriptors[0].u.Port.Start.QuadPart, 0x2F8);
    ULONG u, len;
    assert_int_equal(
        IoGetDeviceProperty(g_detected, DevicePropertyLegacyBusType, sizeof u, &u, &len),
        STATUS_SUCCESS);
    assert_int_equal(u, Isa);
    kmrig_rig_close(rig);
}

/* A PnP driver whose DriverEntry also reports a detected device: the PnP manager is busy
 * loading it when the report comes. */
static NTSTATUS NTAPI DetectInEntry(PDRIVER_OBJECT drv, PUNICODE_STRING path)
{
    FnEntry(drv, path);
    g_detected = NULL;
    NTSTATUS s = IoReportDetectedDevice(drv, InterfaceTypeUndefined, 0xFFFFFFFF, 0xFFFFFFFF, NULL,
                                        NULL, FALSE, &g_detected);
    if (!NT_SUCCESS(s))
        return s;
    return FnAddDevice(drv, g_detected);
}

static void test_io_report_detected_device_from_a_pnp_drivers_entry(void **state)
{
    kmrig_rig *rig = test_rig();
    static const struct kmrig_device_desc other[] = {{.hardware_ids = {"KMRIG\\OTHER"}}};
    assert_int_equal(kmrig_rig_register_driver(rig, "KMRIG\\OTHER", "detector", DetectInEntry),
                     STATUS_SUCCESS);
    assert_int_equal(kmrig_rig_start(rig, other, 1), STATUS_SUCCESS);
    kmrig_rig_settle(rig);
    struct kmrig_device_info info;
    assert_int_equal(kmrig_rig_device_info(rig, g_detected, &info), STATUS_SUCCESS);
    assert_int_equal(info.state, KMRIG_DEVICE_STARTED);
    assert_memory_equal(info.instance_path, L"ROOT\\LEGACY_DETECTOR\\0000",
                        sizeof L"ROOT\\LEGACY_DETECTOR\\0000");
    assert_int_equal(kmrig_rig_device_info(rig, kmrig_rig_find(rig, "KMRIG\\OTHER"), &info),
                     STATUS_SUCCESS);
    assert_int_equal(info.state, KMRIG_DEVICE_STARTED);
    kmrig_rig_close(rig);
}

/* ---- PoRequestPowerIrp ---- */

static LONG g_power_done;
static UCHAR g_power_minor;
static POWER_STATE g_power_state;
static NTSTATUS g_power_status;
static PDEVICE_OBJECT g_power_device;
static VOID NTAPI PowerDone(PDEVICE_OBJECT d, UCHAR minor, POWER_STATE ps, PVOID ctx,
                            PIO_STATUS_BLOCK iosb)
{
    g_power_device = d;
    g_power_minor = minor;
    g_power_state = ps;
    g_power_status = iosb->Status;
    g_power_done += (LONG)(ULONG_PTR)ctx;
}

static void test_po_request_power_irp_completion_gets_the_documented_arguments(void **state)
{
    kmrig_rig *rig = started_rig();
    PDEVICE_OBJECT pdo = testdev(rig);
    POWER_STATE ps;
    ps.DeviceState = PowerDeviceD3;
    g_log[0] = 0;
    assert_int_equal(PoRequestPowerIrp(pdo, IRP_MN_SET_POWER, ps, PowerDone, (PVOID)1, NULL),
                     STATUS_PENDING);
    assert_int_equal(g_power_done, 1);
    assert_ptr_equal(g_power_device, pdo);
    assert_int_equal(g_power_minor, IRP_MN_SET_POWER);
    assert_int_equal(g_power_state.DeviceState, PowerDeviceD3);
    assert_int_equal(g_power_status, STATUS_SUCCESS);
    assert_string_equal(g_log, "fnpower:2 "); /* sent to the top of the stack */
    PIRP irp = (PIRP)1;
    ps.SystemState = PowerSystemSleeping1;
    assert_int_equal(PoRequestPowerIrp(pdo, IRP_MN_WAIT_WAKE, ps, PowerDone, (PVOID)1, &irp),
                     STATUS_PENDING);
    assert_int_equal(g_power_done, 2);
    assert_int_equal(g_power_status, STATUS_NOT_SUPPORTED); /* the root bus cannot wake */
    assert_int_equal(PoRequestPowerIrp(pdo, IRP_MN_POWER_SEQUENCE, ps, PowerDone, NULL, NULL),
                     STATUS_INVALID_PARAMETER_2);
    kmrig_rig_close(rig);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_io_get_device_property_buffer_contract),
    cmocka_unit_test(test_io_open_device_registry_key_device_and_driver),
    cmocka_unit_test(test_io_interface_name_state_and_arrival_notifications),
    cmocka_unit_test(test_io_register_notification_include_existing_interfaces),
    cmocka_unit_test(test_io_interface_alias_and_registry_key),
    cmocka_unit_test(test_io_target_device_notifications_veto_and_complete),
    cmocka_unit_test(test_io_target_device_remove_complete_follows_surprise_removal),
    cmocka_unit_test(test_io_hardware_profile_change_query_and_veto),
    cmocka_unit_test(test_io_invalidate_device_state_failed_removes_the_stack),
    cmocka_unit_test(test_io_invalidate_device_state_failed_with_a_file_open_waits_for_it),
    cmocka_unit_test(test_io_invalidate_device_state_requirements_changed_restarts),
    cmocka_unit_test(test_io_request_device_eject_removes_and_ejects),
    cmocka_unit_test(test_io_invalidate_device_relations_of_a_non_pdo_bugchecks),
    cmocka_unit_test(test_io_report_detected_device_is_started_with_its_resources),
    cmocka_unit_test(test_io_report_detected_device_from_a_pnp_drivers_entry),
    cmocka_unit_test(test_po_request_power_irp_completion_gets_the_documented_arguments),
};
KMTEST_MAIN(tests)

/* The rig and .reg files: a driver registered with a .reg file finds the file's values under its
 * service key when DriverEntry runs (read with RtlQueryRegistryValues); a corrupt file, or one
 * that writes outside the service key, is refused with the file and line in the log, and the
 * driver is not registered. */
#include "kmtest.h"
#include <kmrig/rig.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define REGDRV_ID "KMRIG\\REGDEV"

static const struct kmrig_device_desc reg_devices[] = {
    {.hardware_ids = {REGDRV_ID}, .description = "Device with parameters"},
};

/* What DriverEntry read. */
static int g_entries;
static NTSTATUS g_query_status;
static ULONG g_speed, g_missing;
static ULONGLONG g_big;
static WCHAR g_name[32];
static WCHAR g_regpath[160];

typedef struct {
    PDEVICE_OBJECT Lower;
} REG_EXT;

static NTSTATUS NTAPI RegPnp(PDEVICE_OBJECT d, PIRP irp)
{
    REG_EXT *x = d->DeviceExtension;
    UCHAR minor = IoGetCurrentIrpStackLocation(irp)->MinorFunction;
    PDEVICE_OBJECT lower = x->Lower;
    switch (minor) {
    case IRP_MN_START_DEVICE:
    case IRP_MN_QUERY_REMOVE_DEVICE:
    case IRP_MN_CANCEL_REMOVE_DEVICE:
    case IRP_MN_SURPRISE_REMOVAL:
    case IRP_MN_REMOVE_DEVICE:
        irp->IoStatus.Status = STATUS_SUCCESS;
        break;
    default:
        break;
    }
    IoSkipCurrentIrpStackLocation(irp);
    NTSTATUS s = IoCallDriver(lower, irp);
    if (minor == IRP_MN_REMOVE_DEVICE) {
        IoDetachDevice(lower);
        IoDeleteDevice(d);
    }
    return s;
}

static NTSTATUS NTAPI RegAddDevice(PDRIVER_OBJECT drv, PDEVICE_OBJECT pdo)
{
    PDEVICE_OBJECT fdo;
    NTSTATUS s = IoCreateDevice(drv, sizeof(REG_EXT), NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &fdo);
    if (!NT_SUCCESS(s))
        return s;
    ((REG_EXT *)fdo->DeviceExtension)->Lower = IoAttachDeviceToDeviceStack(fdo, pdo);
    fdo->Flags &= ~DO_DEVICE_INITIALIZING;
    return STATUS_SUCCESS;
}

static VOID NTAPI RegUnload(PDRIVER_OBJECT drv) {}

/* A driver that reads its Parameters key the usual way. */
static NTSTATUS NTAPI RegEntry(PDRIVER_OBJECT drv, PUNICODE_STRING RegistryPath)
{
    g_entries++;
    size_t n = RegistryPath->Length / sizeof(WCHAR);
    if (n >= RTL_NUMBER_OF(g_regpath))
        n = RTL_NUMBER_OF(g_regpath) - 1;
    memcpy(g_regpath, RegistryPath->Buffer, n * sizeof(WCHAR));
    g_regpath[n] = 0;
    ULONG defaultMissing = 9;
    UNICODE_STRING name = {0, sizeof g_name, g_name};
    RTL_QUERY_REGISTRY_TABLE t[6];
    memset(t, 0, sizeof t);
    t[0].Flags = RTL_QUERY_REGISTRY_SUBKEY;
    t[0].Name = L"Parameters";
    t[1].Flags = RTL_QUERY_REGISTRY_DIRECT | RTL_QUERY_REGISTRY_REQUIRED;
    t[1].Name = L"Speed";
    t[1].EntryContext = &g_speed;
    t[2].Flags = RTL_QUERY_REGISTRY_DIRECT | RTL_QUERY_REGISTRY_REQUIRED;
    t[2].Name = L"PortName";
    t[2].EntryContext = &name;
    t[3].Flags = RTL_QUERY_REGISTRY_DIRECT;
    t[3].Name = L"Missing";
    t[3].EntryContext = &g_missing;
    t[3].DefaultType = REG_DWORD;
    t[3].DefaultData = &defaultMissing;
    t[3].DefaultLength = sizeof defaultMissing;
    t[4].Flags = RTL_QUERY_REGISTRY_DIRECT;
    t[4].Name = L"Big";
    /* A QWORD is more than 4 bytes: DIRECT stores it behind a leading LONG giving the size. */
    ULONG big[3] = {(ULONG) - (LONG)sizeof(ULONG64), 0, 0};
    t[4].EntryContext = big;
    g_query_status =
        RtlQueryRegistryValues(RTL_REGISTRY_ABSOLUTE, RegistryPath->Buffer, t, NULL, NULL);
    memcpy(&g_big, big, sizeof g_big);
    drv->DriverExtension->AddDevice = RegAddDevice;
    drv->DriverUnload = RegUnload;
    drv->MajorFunction[IRP_MJ_PNP] = RegPnp;
    return STATUS_SUCCESS;
}

static char g_dir[64];
static char g_errors[2048];

static void capture_log(void *ctx, enum kmrig_log_level level, const char *msg)
{
    if (level == KMRIG_LOG_ERROR) {
        strncat(g_errors, msg, sizeof g_errors - strlen(g_errors) - 2);
        strcat(g_errors, "\n");
    }
}

static kmrig_rig *reg_rig(void)
{
    kmrig_config cfg;
    kmrig_config_init(&cfg);
    cfg.log_fn = capture_log;
    cfg.log_level = KMRIG_LOG_WARN;
    struct kmrig_rig_options o;
    kmrig_rig_options_init(&o);
    o.config = &cfg;
    kmrig_rig *rig = NULL;
    assert_int_equal(kmrig_rig_open(&o, &rig), STATUS_SUCCESS);
    g_errors[0] = 0;
    return rig;
}

/* Writes a .reg file into a fresh directory; returns its path (static storage). */
static const char *write_reg(const char *name, const char *text)
{
    static char path[128];
    if (!g_dir[0]) {
        strcpy(g_dir, "/tmp/kmrig-regXXXXXX");
        assert_non_null(mkdtemp(g_dir));
    }
    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static void remove_dir(const char *file)
{
    unlink(file);
    rmdir(g_dir);
    g_dir[0] = 0;
}

static const char good_reg[] =
    "Windows Registry Editor Version 5.00\r\n"
    "\r\n"
    "; the serial parameters of regdrv\r\n"
    "[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\regdrv\\Parameters]\r\n"
    "\"Speed\"=dword:0001c200\r\n"
    "\"PortName\"=\"COM7\"\r\n"
    "\"Big\"=hex(b):88,77,66,55,44,33,22,11\r\n";

static void test_rig_reg_parameters_reach_driver_entry(void **state)
{
    kmrig_rig *rig = reg_rig();
    const char *path = write_reg("regdrv.reg", good_reg);
    g_entries = 0;
    assert_int_equal(kmrig_rig_register_driver_reg(rig, REGDRV_ID, "regdrv", RegEntry,
                                                   KMRIG_DRIVER_FUNCTION, path),
                     STATUS_SUCCESS);
    assert_int_equal(g_entries, 0); /* DriverEntry runs at start, not at registration */
    assert_int_equal(kmrig_rig_start(rig, reg_devices, 1), STATUS_SUCCESS);
    assert_int_equal(g_entries, 1);
    struct kmrig_device_info info;
    assert_int_equal(kmrig_rig_device(rig, 0, &info), STATUS_SUCCESS);
    assert_int_equal(info.state, KMRIG_DEVICE_STARTED);
    /* DriverEntry got its service key and read the file's values from Parameters. */
    static const WCHAR want_path[] =
        L"\\Registry\\Machine\\System\\CurrentControlSet\\Services\\regdrv";
    assert_memory_equal(g_regpath, want_path, sizeof want_path);
    assert_int_equal(g_query_status, STATUS_SUCCESS);
    assert_int_equal(g_speed, 115200);
    assert_memory_equal(g_name, L"COM7", 5 * sizeof(WCHAR));
    assert_int_equal(g_missing, 9); /* not in the file: the table's default */
    assert_true(g_big == 0x1122334455667788ull);
    /* The PnP manager's own values sit beside them in the service key. */
    ULONG type = 0;
    RTL_QUERY_REGISTRY_TABLE t[2];
    memset(t, 0, sizeof t);
    t[0].Flags = RTL_QUERY_REGISTRY_DIRECT | RTL_QUERY_REGISTRY_REQUIRED;
    t[0].Name = L"Type";
    t[0].EntryContext = &type;
    assert_int_equal(RtlQueryRegistryValues(RTL_REGISTRY_SERVICES, L"regdrv", t, NULL, NULL),
                     STATUS_SUCCESS);
    assert_int_equal(type, 1);
    assert_string_equal(g_errors, "");
    kmrig_rig_close(rig);
    remove_dir(path);
}

static void test_rig_reg_corrupt_file_is_refused_with_file_and_line(void **state)
{
    kmrig_rig *rig = reg_rig();
    const char *path = write_reg("bad.reg", "Windows Registry Editor Version 5.00\n"
                                            "\n"
                                            "[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\"
                                            "Services\\regdrv\\Parameters]\n"
                                            "\"Speed\"=dword:0001c200\n"
                                            "\"Big\"=hex(b):88,zz,66\n");
    g_entries = 0;
    assert_int_equal(kmrig_rig_register_driver_reg(rig, REGDRV_ID, "regdrv", RegEntry,
                                                   KMRIG_DRIVER_FUNCTION, path),
                     STATUS_INVALID_PARAMETER_5);
    char where[160];
    snprintf(where, sizeof where, "%s:5:", path);
    assert_non_null(strstr(g_errors, where));
    assert_non_null(strstr(g_errors, "regdrv"));
    /* Nothing of the file was applied, and the driver is not registered: the device gets none. */
    assert_int_equal(RtlCheckRegistryKey(RTL_REGISTRY_SERVICES, L"regdrv\\Parameters"),
                     STATUS_OBJECT_NAME_NOT_FOUND);
    assert_int_equal(kmrig_rig_start(rig, reg_devices, 1), STATUS_SUCCESS);
    struct kmrig_device_info info;
    assert_int_equal(kmrig_rig_device(rig, 0, &info), STATUS_SUCCESS);
    assert_int_equal(info.state, KMRIG_DEVICE_ENUMERATED);
    assert_int_equal(g_entries, 0);
    kmrig_rig_close(rig);
    remove_dir(path);
}

static void test_rig_reg_file_outside_the_service_key_is_refused(void **state)
{
    kmrig_rig *rig = reg_rig();
    const char *path = write_reg("escape.reg", "REGEDIT4\n\n"
                                               "[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\"
                                               "Services\\other]\n"
                                               "\"Start\"=dword:00000000\n");
    assert_int_equal(kmrig_rig_register_driver_reg(rig, REGDRV_ID, "regdrv", RegEntry,
                                                   KMRIG_DRIVER_FUNCTION, path),
                     STATUS_INVALID_PARAMETER_5);
    assert_non_null(strstr(g_errors, path));
    assert_int_equal(RtlCheckRegistryKey(RTL_REGISTRY_SERVICES, L"other"),
                     STATUS_OBJECT_NAME_NOT_FOUND);
    /* The refusal left the ID free: the same driver registers without the file. */
    assert_int_equal(kmrig_rig_register_driver(rig, REGDRV_ID, "regdrv", RegEntry), STATUS_SUCCESS);
    kmrig_rig_close(rig);
    remove_dir(path);
}

static void test_rig_reg_bad_arguments(void **state)
{
    kmrig_rig *rig = reg_rig();
    assert_int_equal(kmrig_rig_register_driver_reg(rig, REGDRV_ID, "regdrv", RegEntry,
                                                   KMRIG_DRIVER_FUNCTION, "/nonexistent/x.reg"),
                     STATUS_OBJECT_NAME_NOT_FOUND);
    assert_non_null(strstr(g_errors, "/nonexistent/x.reg"));
    assert_int_equal(kmrig_rig_register_driver_reg(rig, REGDRV_ID, "a\\b", RegEntry,
                                                   KMRIG_DRIVER_FUNCTION, "/nonexistent/x.reg"),
                     STATUS_INVALID_PARAMETER);
    assert_int_equal(kmrig_rig_register_driver_reg(rig, REGDRV_ID, "regdrv", NULL,
                                                   KMRIG_DRIVER_FUNCTION, "/nonexistent/x.reg"),
                     STATUS_INVALID_PARAMETER);
    assert_int_equal(kmrig_rig_register_driver_reg(rig, "", "regdrv", RegEntry,
                                                   KMRIG_DRIVER_FUNCTION, "/nonexistent/x.reg"),
                     STATUS_INVALID_PARAMETER);
    /* NULL file: the plain registration. */
    assert_int_equal(kmrig_rig_register_driver_reg(rig, REGDRV_ID, "regdrv", RegEntry,
                                                   KMRIG_DRIVER_FUNCTION, NULL),
                     STATUS_SUCCESS);
    kmrig_rig_close(rig);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_rig_reg_parameters_reach_driver_entry),
    cmocka_unit_test(test_rig_reg_corrupt_file_is_refused_with_file_and_line),
    cmocka_unit_test(test_rig_reg_file_outside_the_service_key_is_refused),
    cmocka_unit_test(test_rig_reg_bad_arguments),
};

KMTEST_MAIN(tests)

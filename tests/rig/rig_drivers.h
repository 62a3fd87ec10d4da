/* Test drivers for the PnP manager and the rig: a function driver (FDO with a device interface
 * and an ioctl), an upper filter, and a bus driver whose children a test adds and takes away.
 * Every PnP IRP any of them sees is logged as "<role>:<minor>", in order. After
 * IRP_MN_SURPRISE_REMOVAL the function driver fails its ioctl with STATUS_DELETE_PENDING, as
 * the WDK tells a driver to; it counts what reaches it and the device objects it has. */
#ifndef RIG_DRIVERS_H
#define RIG_DRIVERS_H

#include "kmtest.h"
#include <kmrig/rig.h>

#include <stdio.h>
#include <string.h>

/* each test file uses some of these drivers */
#pragma GCC diagnostic ignored "-Wunused-function"

/* {6f1c0a52-3b7e-4d2a-9c11-5a0b7e3f2d10} */
static const GUID TestInterface = {
    0x6f1c0a52, 0x3b7e, 0x4d2a, {0x9c, 0x11, 0x5a, 0x0b, 0x7e, 0x3f, 0x2d, 0x10}};
/* {6f1c0a53-3b7e-4d2a-9c11-5a0b7e3f2d10}: an alias class */
static const GUID TestAlias = {
    0x6f1c0a53, 0x3b7e, 0x4d2a, {0x9c, 0x11, 0x5a, 0x0b, 0x7e, 0x3f, 0x2d, 0x10}};

#define IOCTL_TEST_WHO CTL_CODE(FILE_DEVICE_UNKNOWN, 0x801, METHOD_BUFFERED, FILE_ANY_ACCESS)

static char g_log[4096];
static void log_irp(const char *role, UCHAR minor)
{
    char t[32];
    snprintf(t, sizeof t, "%s:%u ", role, (unsigned)minor);
    strncat(g_log, t, sizeof g_log - strlen(g_log) - 1);
}

/* what the function driver's START saw */
static CM_PARTIAL_RESOURCE_DESCRIPTOR g_raw[8], g_tr[8];
static ULONG g_raw_count, g_tr_count;
static INTERFACE_TYPE g_raw_bus;
static BOOLEAN g_veto_query_remove;
static PNP_DEVICE_STATE g_pnp_state; /* the function driver's QUERY_PNP_DEVICE_STATE answer */
static NTSTATUS g_fail_start;
static LONG g_unloads;
static UNICODE_STRING g_link; /* the last interface the function driver registered */
static LONG g_fn_ioctls;      /* ioctls that reached the function driver */
static LONG g_fn_closes;      /* IRP_MJ_CLOSEs that reached it */
static LONG g_fn_devices;     /* its device objects not yet deleted */
static LONG g_flt_devices;    /* the upper filter's */
/* where the function driver's last REMOVE_DEVICE ran */
static BOOLEAN g_in_close; /* the function driver is in its IRP_MJ_CLOSE dispatch */
static BOOLEAN g_remove_in_close;
static KIRQL g_remove_irql;
static PKTHREAD g_remove_thread;

typedef struct {
    PDEVICE_OBJECT Lower;
    PDEVICE_OBJECT Pdo;
    UNICODE_STRING Link;
    ULONG Who;
    BOOLEAN Gone; /* IRP_MN_SURPRISE_REMOVAL seen */
} FN_EXT;

static NTSTATUS NTAPI FnPnp(PDEVICE_OBJECT d, PIRP irp)
{
    FN_EXT *x = d->DeviceExtension;
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(irp);
    log_irp("fn", sl->MinorFunction);
    NTSTATUS s;
    switch (sl->MinorFunction) {
    case IRP_MN_START_DEVICE: {
        if (!IoForwardIrpSynchronously(x->Lower, irp)) {
            s = STATUS_UNSUCCESSFUL;
        } else {
            s = irp->IoStatus.Status;
        }
        if (NT_SUCCESS(s) && g_fail_start)
            s = g_fail_start;
        if (NT_SUCCESS(s)) {
            PCM_RESOURCE_LIST r = sl->Parameters.StartDevice.AllocatedResources;
            PCM_RESOURCE_LIST t = sl->Parameters.StartDevice.AllocatedResourcesTranslated;
            g_raw_count = r ? r->List[0].PartialResourceList.Count : 0;
            g_tr_count = t ? t->List[0].PartialResourceList.Count : 0;
            g_raw_bus = r ? r->List[0].InterfaceType : InterfaceTypeUndefined;
            for (ULONG i = 0; i < g_raw_count && i < 8; i++)
                g_raw[i] = r->List[0].PartialResourceList.PartialDescriptors[i];
            for (ULONG i = 0; i < g_tr_count && i < 8; i++)
                g_tr[i] = t->List[0].PartialResourceList.PartialDescriptors[i];
            if (x->Link.Buffer)
                IoSetDeviceInterfaceState(&x->Link, TRUE);
        }
        irp->IoStatus.Status = s;
        IoCompleteRequest(irp, IO_NO_INCREMENT);
        return s;
    }
    case IRP_MN_QUERY_REMOVE_DEVICE:
        if (g_veto_query_remove) {
            irp->IoStatus.Status = STATUS_UNSUCCESSFUL;
            IoCompleteRequest(irp, IO_NO_INCREMENT);
            return STATUS_UNSUCCESSFUL;
        }
        irp->IoStatus.Status = STATUS_SUCCESS;
        break;
    case IRP_MN_QUERY_PNP_DEVICE_STATE:
        irp->IoStatus.Information |= g_pnp_state;
        irp->IoStatus.Status = STATUS_SUCCESS;
        break;
    case IRP_MN_SURPRISE_REMOVAL:
        x->Gone = TRUE;
        irp->IoStatus.Status = STATUS_SUCCESS;
        break;
    case IRP_MN_CANCEL_REMOVE_DEVICE:
    case IRP_MN_QUERY_STOP_DEVICE:
    case IRP_MN_STOP_DEVICE:
        irp->IoStatus.Status = STATUS_SUCCESS;
        break;
    case IRP_MN_REMOVE_DEVICE: {
        g_remove_in_close = g_in_close;
        g_remove_irql = KeGetCurrentIrql();
        g_remove_thread = KeGetCurrentThread();
        InterlockedDecrement(&g_fn_devices);
        if (x->Link.Buffer) {
            IoSetDeviceInterfaceState(&x->Link, FALSE);
            RtlFreeUnicodeString(&x->Link);
        }
        irp->IoStatus.Status = STATUS_SUCCESS;
        IoSkipCurrentIrpStackLocation(irp);
        s = IoCallDriver(x->Lower, irp);
        IoDetachDevice(x->Lower);
        IoDeleteDevice(d);
        return s;
    }
    default:
        break;
    }
    IoSkipCurrentIrpStackLocation(irp);
    return IoCallDriver(x->Lower, irp);
}

static NTSTATUS NTAPI FnCreateClose(PDEVICE_OBJECT d, PIRP irp)
{
    BOOLEAN close = IoGetCurrentIrpStackLocation(irp)->MajorFunction == IRP_MJ_CLOSE;
    if (close) {
        g_in_close = TRUE;
        InterlockedIncrement(&g_fn_closes);
    }
    irp->IoStatus.Status = STATUS_SUCCESS;
    irp->IoStatus.Information = 0;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    if (close)
        g_in_close = FALSE;
    return STATUS_SUCCESS;
}

static NTSTATUS NTAPI FnIoctl(PDEVICE_OBJECT d, PIRP irp)
{
    FN_EXT *x = d->DeviceExtension;
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(irp);
    NTSTATUS s = STATUS_INVALID_DEVICE_REQUEST;
    ULONG_PTR info = 0;
    InterlockedIncrement(&g_fn_ioctls);
    if (x->Gone) {
        s = STATUS_DELETE_PENDING;
    } else if (sl->Parameters.DeviceIoControl.IoControlCode == IOCTL_TEST_WHO) {
        if (sl->Parameters.DeviceIoControl.OutputBufferLength < sizeof(ULONG)) {
            s = STATUS_BUFFER_TOO_SMALL;
        } else {
            *(ULONG *)irp->AssociatedIrp.SystemBuffer = x->Who;
            info = sizeof(ULONG);
            s = STATUS_SUCCESS;
        }
    }
    irp->IoStatus.Status = s;
    irp->IoStatus.Information = info;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    return s;
}

static NTSTATUS NTAPI FnPower(PDEVICE_OBJECT d, PIRP irp)
{
    FN_EXT *x = d->DeviceExtension;
    log_irp("fnpower", IoGetCurrentIrpStackLocation(irp)->MinorFunction);
    IoSkipCurrentIrpStackLocation(irp);
    return PoCallDriver(x->Lower, irp);
}

static ULONG g_fn_count;
static NTSTATUS NTAPI FnAddDevice(PDRIVER_OBJECT drv, PDEVICE_OBJECT pdo)
{
    log_irp("fnadd", 0);
    PDEVICE_OBJECT d;
    NTSTATUS s = IoCreateDevice(drv, sizeof(FN_EXT), NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &d);
    if (!NT_SUCCESS(s))
        return s;
    FN_EXT *x = d->DeviceExtension;
    memset(x, 0, sizeof *x);
    x->Pdo = pdo;
    x->Who = 0x1000 + g_fn_count++;
    InterlockedIncrement(&g_fn_devices);
    x->Lower = IoAttachDeviceToDeviceStack(d, pdo);
    s = IoRegisterDeviceInterface(pdo, &TestInterface, NULL, &x->Link);
    if (NT_SUCCESS(s)) {
        RtlFreeUnicodeString(&g_link);
        g_link.Buffer = ExAllocatePoolWithTag(PagedPool, x->Link.MaximumLength, 'grtS');
        g_link.MaximumLength = x->Link.MaximumLength;
        RtlCopyUnicodeString(&g_link, &x->Link);
    }
    d->Flags &= ~DO_DEVICE_INITIALIZING;
    return STATUS_SUCCESS;
}

static VOID NTAPI FnUnload(PDRIVER_OBJECT drv)
{
    g_unloads++;
    RtlFreeUnicodeString(&g_link);
}

static NTSTATUS NTAPI FnEntry(PDRIVER_OBJECT drv, PUNICODE_STRING path)
{
    drv->DriverExtension->AddDevice = FnAddDevice;
    drv->DriverUnload = FnUnload;
    drv->MajorFunction[IRP_MJ_PNP] = FnPnp;
    drv->MajorFunction[IRP_MJ_POWER] = FnPower;
    drv->MajorFunction[IRP_MJ_CREATE] = FnCreateClose;
    drv->MajorFunction[IRP_MJ_CLOSE] = FnCreateClose;
    drv->MajorFunction[IRP_MJ_CLEANUP] = FnCreateClose;
    drv->MajorFunction[IRP_MJ_DEVICE_CONTROL] = FnIoctl;
    return STATUS_SUCCESS;
}

/* ---- upper filter: logs and passes everything down ---- */
static NTSTATUS NTAPI FltPass(PDEVICE_OBJECT d, PIRP irp)
{
    PDEVICE_OBJECT lower = *(PDEVICE_OBJECT *)d->DeviceExtension;
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(irp);
    if (sl->MajorFunction == IRP_MJ_PNP) {
        log_irp("flt", sl->MinorFunction);
        if (sl->MinorFunction == IRP_MN_REMOVE_DEVICE) {
            IoSkipCurrentIrpStackLocation(irp);
            NTSTATUS s = IoCallDriver(lower, irp);
            IoDetachDevice(lower);
            IoDeleteDevice(d);
            InterlockedDecrement(&g_flt_devices);
            return s;
        }
    }
    IoSkipCurrentIrpStackLocation(irp);
    return sl->MajorFunction == IRP_MJ_POWER ? PoCallDriver(lower, irp) : IoCallDriver(lower, irp);
}

static NTSTATUS NTAPI FltAddDevice(PDRIVER_OBJECT drv, PDEVICE_OBJECT pdo)
{
    log_irp("fltadd", 0);
    PDEVICE_OBJECT d;
    NTSTATUS s =
        IoCreateDevice(drv, sizeof(PDEVICE_OBJECT), NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &d);
    if (!NT_SUCCESS(s))
        return s;
    *(PDEVICE_OBJECT *)d->DeviceExtension = IoAttachDeviceToDeviceStack(d, pdo);
    InterlockedIncrement(&g_flt_devices);
    d->Flags &= ~DO_DEVICE_INITIALIZING;
    return STATUS_SUCCESS;
}

static VOID NTAPI FltUnload(PDRIVER_OBJECT drv) {}

static NTSTATUS NTAPI FltEntry(PDRIVER_OBJECT drv, PUNICODE_STRING path)
{
    drv->DriverExtension->AddDevice = FltAddDevice;
    drv->DriverUnload = FltUnload;
    for (int i = 0; i <= IRP_MJ_MAXIMUM_FUNCTION; i++)
        drv->MajorFunction[i] = FltPass;
    return STATUS_SUCCESS;
}

/* ---- bus driver: children 0..7, present as g_children says ---- */
static ULONG g_children; /* bit k: child k is present */
static PDEVICE_OBJECT g_child[8];
static PDEVICE_OBJECT g_bus_fdo;

typedef struct {
    BOOLEAN IsPdo;
    ULONG Index;
    PDEVICE_OBJECT Lower; /* FDO */
} BUS_EXT;

static PWCHAR pool_wstr(PCWSTR s, BOOLEAN multi)
{
    size_t n = 0;
    while (s[n])
        n++;
    PWCHAR p = ExAllocatePoolWithTag(PagedPool, (n + 2) * sizeof(WCHAR), 'tseT');
    memcpy(p, s, n * sizeof(WCHAR));
    p[n] = 0;
    p[n + 1] = 0;
    (void)multi;
    return p;
}

static NTSTATUS NTAPI BusPnp(PDEVICE_OBJECT d, PIRP irp)
{
    BUS_EXT *x = d->DeviceExtension;
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(irp);
    NTSTATUS s = irp->IoStatus.Status;
    if (x->IsPdo) {
        log_irp("child", sl->MinorFunction);
        ULONG_PTR info = irp->IoStatus.Information;
        switch (sl->MinorFunction) {
        case IRP_MN_QUERY_ID: {
            WCHAR inst[4] = {(WCHAR)(L'0' + x->Index), 0};
            switch (sl->Parameters.QueryId.IdType) {
            case BusQueryDeviceID:
                info = (ULONG_PTR)pool_wstr(L"TESTBUS\\CHILD", FALSE);
                s = STATUS_SUCCESS;
                break;
            case BusQueryHardwareIDs:
                info = (ULONG_PTR)pool_wstr(L"TESTBUS\\CHILD", TRUE);
                s = STATUS_SUCCESS;
                break;
            case BusQueryInstanceID:
                info = (ULONG_PTR)pool_wstr(inst, FALSE);
                s = STATUS_SUCCESS;
                break;
            default:
                break;
            }
            break;
        }
        case IRP_MN_START_DEVICE:
        case IRP_MN_QUERY_REMOVE_DEVICE:
        case IRP_MN_CANCEL_REMOVE_DEVICE:
        case IRP_MN_SURPRISE_REMOVAL:
            s = STATUS_SUCCESS;
            break;
        case IRP_MN_REMOVE_DEVICE:
            s = STATUS_SUCCESS;
            if (!(g_children & (1u << x->Index))) {
                g_child[x->Index] = NULL;
                IoDeleteDevice(d);
            }
            break;
        default:
            break;
        }
        irp->IoStatus.Status = s;
        irp->IoStatus.Information = info;
        IoCompleteRequest(irp, IO_NO_INCREMENT);
        return s;
    }
    log_irp("bus", sl->MinorFunction);
    switch (sl->MinorFunction) {
    case IRP_MN_START_DEVICE:
        IoForwardIrpSynchronously(x->Lower, irp);
        s = irp->IoStatus.Status;
        IoCompleteRequest(irp, IO_NO_INCREMENT);
        return s;
    case IRP_MN_QUERY_DEVICE_RELATIONS:
        if (sl->Parameters.QueryDeviceRelations.Type == BusRelations) {
            ULONG n = 0;
            for (ULONG k = 0; k < 8; k++) {
                if ((g_children & (1u << k)) && !g_child[k]) {
                    PDEVICE_OBJECT c;
                    IoCreateDevice(d->DriverObject, sizeof(BUS_EXT), NULL, FILE_DEVICE_UNKNOWN,
                                   FILE_AUTOGENERATED_DEVICE_NAME, FALSE, &c);
                    BUS_EXT *cx = c->DeviceExtension;
                    cx->IsPdo = TRUE;
                    cx->Index = k;
                    c->Flags &= ~DO_DEVICE_INITIALIZING;
                    g_child[k] = c;
                }
                if (g_children & (1u << k))
                    n++;
            }
            PDEVICE_RELATIONS r = ExAllocatePoolWithTag(
                PagedPool, sizeof(DEVICE_RELATIONS) + 8 * sizeof(PDEVICE_OBJECT), 'tseT');
            r->Count = 0;
            for (ULONG k = 0; k < 8; k++)
                if (g_children & (1u << k)) {
                    ObReferenceObject(g_child[k]);
                    r->Objects[r->Count++] = g_child[k];
                }
            irp->IoStatus.Information = (ULONG_PTR)r;
            irp->IoStatus.Status = STATUS_SUCCESS;
        }
        break;
    case IRP_MN_REMOVE_DEVICE: {
        irp->IoStatus.Status = STATUS_SUCCESS;
        IoSkipCurrentIrpStackLocation(irp);
        s = IoCallDriver(x->Lower, irp);
        for (ULONG k = 0; k < 8; k++)
            if (g_child[k]) {
                IoDeleteDevice(g_child[k]);
                g_child[k] = NULL;
            }
        IoDetachDevice(x->Lower);
        IoDeleteDevice(d);
        g_bus_fdo = NULL;
        return s;
    }
    case IRP_MN_QUERY_REMOVE_DEVICE:
    case IRP_MN_SURPRISE_REMOVAL:
        irp->IoStatus.Status = STATUS_SUCCESS;
        break;
    default:
        break;
    }
    IoSkipCurrentIrpStackLocation(irp);
    return IoCallDriver(x->Lower, irp);
}

static NTSTATUS NTAPI BusAddDevice(PDRIVER_OBJECT drv, PDEVICE_OBJECT pdo)
{
    PDEVICE_OBJECT d;
    NTSTATUS s = IoCreateDevice(drv, sizeof(BUS_EXT), NULL, FILE_DEVICE_BUS_EXTENDER, 0, FALSE, &d);
    if (!NT_SUCCESS(s))
        return s;
    BUS_EXT *x = d->DeviceExtension;
    x->IsPdo = FALSE;
    x->Lower = IoAttachDeviceToDeviceStack(d, pdo);
    d->Flags &= ~DO_DEVICE_INITIALIZING;
    g_bus_fdo = d;
    return STATUS_SUCCESS;
}

static VOID NTAPI BusUnload(PDRIVER_OBJECT drv) {}

static NTSTATUS NTAPI BusEntry(PDRIVER_OBJECT drv, PUNICODE_STRING path)
{
    drv->DriverExtension->AddDevice = BusAddDevice;
    drv->DriverUnload = BusUnload;
    drv->MajorFunction[IRP_MJ_PNP] = BusPnp;
    return STATUS_SUCCESS;
}

/* ---- a rig with no target ---- */
static kmrig_rig *test_rig(void)
{
    struct kmrig_rig_options o;
    kmrig_rig_options_init(&o);
    kmrig_rig *rig = NULL;
    assert_int_equal(kmrig_rig_open(&o, &rig), STATUS_SUCCESS);
    return rig;
}

/* A UART-like device and a DMA-like device, as the ROM would describe them. */
static const struct kmrig_device_desc test_devices[] = {
    {.hardware_ids = {"KMRIG\\TESTDEV", "KMRIG\\TESTDEV_ANY"},
     .compatible_ids = {"KMRIG\\COMPAT"},
     .description = "Test device",
     .resource_count = 4,
     .resources = {{.kind = KMRIG_RES_PORT, .start = 0x3F8, .length = 8},
                   {.kind = KMRIG_RES_MEMORY, .start = 0x4000, .length = 0x100},
                   {.kind = KMRIG_RES_INTERRUPT, .line = 2, .latched = 1, .shared = 1},
                   {.kind = KMRIG_RES_DMA, .channel = 1}}},
};

#endif

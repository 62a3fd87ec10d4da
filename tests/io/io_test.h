/* Helpers of the I/O manager tests: small NT-style test drivers loaded through the internal
 * IopLoadDriver, names, and an unload routine that takes its devices down. */
#ifndef IO_TEST_H
#define IO_TEST_H

#include "kmtest.h"
#include "io.h"

#include <string.h>

static inline UNICODE_STRING io_us(PCWSTR s)
{
    UNICODE_STRING u;
    RtlInitUnicodeString(&u, s);
    return u;
}

/* Detaches and deletes every device of the driver (the usual unload). */
static VOID NTAPI io_test_unload(PDRIVER_OBJECT d)
{
    while (d->DeviceObject) {
        PDEVICE_OBJECT x = d->DeviceObject;
        if (x->DeviceObjectExtension->AttachedTo)
            IoDetachDevice(x->DeviceObjectExtension->AttachedTo);
        IoDeleteDevice(x);
    }
}

static NTSTATUS NTAPI io_test_entry(PDRIVER_OBJECT d, PUNICODE_STRING RegistryPath)
{
    d->DriverUnload = io_test_unload;
    return STATUS_SUCCESS;
}

/* Loads an empty test driver (every major function fails with STATUS_INVALID_DEVICE_REQUEST). */
static inline PDRIVER_OBJECT io_load(kmrig_runtime *rt, PCWSTR name)
{
    PDRIVER_OBJECT d = NULL;
    assert_int_equal(IopLoadDriver(rt, name, io_test_entry, NULL, &d), STATUS_SUCCESS);
    assert_non_null(d);
    return d;
}

static inline PDEVICE_OBJECT io_device(PDRIVER_OBJECT d, PCWSTR name, ULONG ext)
{
    PDEVICE_OBJECT dev = NULL;
    UNICODE_STRING n = io_us(name ? name : L"");
    assert_int_equal(IoCreateDevice(d, ext, name ? &n : NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &dev),
                     STATUS_SUCCESS);
    dev->Flags &= ~DO_DEVICE_INITIALIZING;
    return dev;
}

/* Completes with the status and information given (a dispatch routine). */
static inline NTSTATUS io_complete(PIRP Irp, NTSTATUS Status, ULONG_PTR Information)
{
    Irp->IoStatus.Status = Status;
    Irp->IoStatus.Information = Information;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return Status;
}

static inline NTSTATUS NTAPI io_dispatch_success(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    return io_complete(Irp, STATUS_SUCCESS, 0);
}

#endif

/* ZwCreateFile, ZwReadFile, ZwWriteFile, ZwQueryInformationFile, ZwSetInformationFile and ZwClose
 * on file handles: on the device of a test driver (buffered, direct and neither I/O, synchronous
 * and asynchronous file objects, share access), and on host files in a sandbox directory
 * (dispositions, information classes, delete and rename, and every escape we could think of). */
#define _GNU_SOURCE
#include "io_test.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* Built a second time as test_io_file_no_openat2, linked with -Wl,--wrap=syscall: openat2 is
 * then ENOSYS and the host file system walks paths one component at a time. */
#ifdef TEST_NO_OPENAT2
#include <stdarg.h>
#include <sys/syscall.h>
static int Openat2Refused;
long __real_syscall(long Number, ...);
long __wrap_syscall(long Number, ...)
{
    va_list ap;
    va_start(ap, Number);
    long a[6];
    for (int i = 0; i < 6; i++)
        a[i] = va_arg(ap, long);
    va_end(ap);
    if (Number == SYS_openat2) {
        Openat2Refused++;
        errno = ENOSYS;
        return -1;
    }
    return __real_syscall(Number, a[0], a[1], a[2], a[3], a[4], a[5]);
}
#endif

/* ---- helpers ---- */

/* Log lines, kept so that a test can ask whether a refusal was logged. */
static char LogText[8192];

static void log_capture(void *Context, enum kmrig_log_level Level, const char *Message)
{
    size_t n = strlen(LogText);
    snprintf(LogText + n, sizeof LogText - n, "%s\n", Message);
}

static NTSTATUS open_name(PCWSTR Name, USHORT Bytes, HANDLE Root, ACCESS_MASK Access, ULONG Share,
                          ULONG Disposition, ULONG Options, HANDLE *Handle, PIO_STATUS_BLOCK Iosb)
{
    UNICODE_STRING n = {Bytes, Bytes, (PWCH)Name};
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, &n, OBJ_KERNEL_HANDLE | OBJ_CASE_INSENSITIVE, Root, NULL);
    kmtest_junk(Iosb, sizeof *Iosb);
    *Handle = (HANDLE)(ULONG_PTR)0x1234;
    return ZwCreateFile(Handle, Access, &oa, Iosb, NULL, FILE_ATTRIBUTE_NORMAL, Share, Disposition,
                        Options, NULL, 0);
}

static NTSTATUS open_file(PCWSTR Name, ACCESS_MASK Access, ULONG Share, ULONG Disposition,
                          ULONG Options, HANDLE *Handle, PIO_STATUS_BLOCK Iosb)
{
    USHORT bytes = 0;
    while (Name[bytes / 2])
        bytes += 2;
    return open_name(Name, bytes, NULL, Access, Share, Disposition, Options, Handle, Iosb);
}

#define RW (FILE_READ_DATA | FILE_WRITE_DATA | SYNCHRONIZE)
#define SYNC FILE_SYNCHRONOUS_IO_NONALERT

/* ---- a test device ---- */

#define DEV_SIZE 4096

typedef struct _FDEV {
    SHARE_ACCESS Share;
    ULONG Creates, Cleanups, Closes;
    ULONG LastOptions, LastShare;
    ACCESS_MASK LastAccess;
    UCHAR Data[DEV_SIZE];
    char LastBuffer; /* 'B' system buffer, 'D' MDL, 'N' user buffer */
    BOOLEAN PendReads;
    BOOLEAN DelayReads; /* each read waits 10 us first, so another thread can run meanwhile */
    PIRP Pending;
    FILE_INFORMATION_CLASS LastSetClass;
    ULONG LastSetLength;
    ULONG Opens; /* with share access recorded */
} FDEV;

static FDEV *fdev(PDEVICE_OBJECT d)
{
    return d->DeviceExtension;
}

static NTSTATUS NTAPI fdev_create(PDEVICE_OBJECT d, PIRP Irp)
{
    FDEV *x = fdev(d);
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(Irp);
    x->Creates++;
    x->LastOptions = sl->Parameters.Create.Options;
    x->LastShare = sl->Parameters.Create.ShareAccess;
    x->LastAccess = sl->Parameters.Create.SecurityContext->DesiredAccess;
    NTSTATUS s = IoCheckShareAccess(x->LastAccess, x->LastShare, sl->FileObject, &x->Share, TRUE);
    if (NT_SUCCESS(s))
        x->Opens++;
    return io_complete(Irp, s, NT_SUCCESS(s) ? FILE_OPENED : 0);
}

static NTSTATUS NTAPI fdev_cleanup(PDEVICE_OBJECT d, PIRP Irp)
{
    FDEV *x = fdev(d);
    x->Cleanups++;
    IoRemoveShareAccess(IoGetCurrentIrpStackLocation(Irp)->FileObject, &x->Share);
    x->Opens--;
    return io_complete(Irp, STATUS_SUCCESS, 0);
}

static NTSTATUS NTAPI fdev_close(PDEVICE_OBJECT d, PIRP Irp)
{
    fdev(d)->Closes++;
    return io_complete(Irp, STATUS_SUCCESS, 0);
}

static PUCHAR fdev_buffer(PDEVICE_OBJECT d, PIRP Irp)
{
    FDEV *x = fdev(d);
    if (d->Flags & DO_BUFFERED_IO) {
        x->LastBuffer = 'B';
        return Irp->AssociatedIrp.SystemBuffer;
    }
    if (d->Flags & DO_DIRECT_IO) {
        x->LastBuffer = 'D';
        return MmGetSystemAddressForMdlSafe(Irp->MdlAddress, NormalPagePriority);
    }
    x->LastBuffer = 'N';
    return Irp->UserBuffer;
}

static ULONG fdev_transfer(PDEVICE_OBJECT d, PIRP Irp)
{
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(Irp);
    LONGLONG off = sl->Parameters.Read.ByteOffset.QuadPart;
    ULONG len = sl->Parameters.Read.Length;
    if (off >= DEV_SIZE)
        return 0;
    if (off + len > DEV_SIZE)
        len = (ULONG)(DEV_SIZE - off);
    PUCHAR b = fdev_buffer(d, Irp);
    if (sl->MajorFunction == IRP_MJ_READ)
        memcpy(b, fdev(d)->Data + off, len);
    else
        memcpy(fdev(d)->Data + off, b, len);
    return len;
}

static NTSTATUS NTAPI fdev_rw(PDEVICE_OBJECT d, PIRP Irp)
{
    FDEV *x = fdev(d);
    if (IoGetCurrentIrpStackLocation(Irp)->MajorFunction == IRP_MJ_READ && x->PendReads) {
        IoMarkIrpPending(Irp);
        x->Pending = Irp;
        return STATUS_PENDING;
    }
    if (x->DelayReads) {
        LARGE_INTEGER t = {.QuadPart = -100};
        KeDelayExecutionThread(KernelMode, FALSE, &t);
    }
    ULONG n = fdev_transfer(d, Irp);
    return io_complete(Irp,
                       n || !IoGetCurrentIrpStackLocation(Irp)->Parameters.Read.Length
                           ? STATUS_SUCCESS
                           : STATUS_END_OF_FILE,
                       n);
}

static VOID fdev_complete_pending(PDEVICE_OBJECT d)
{
    PIRP irp = fdev(d)->Pending;
    fdev(d)->Pending = NULL;
    io_complete(irp, STATUS_SUCCESS, fdev_transfer(d, irp));
}

static NTSTATUS NTAPI fdev_query(PDEVICE_OBJECT d, PIRP Irp)
{
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(Irp);
    if (sl->Parameters.QueryFile.FileInformationClass != FileStandardInformation)
        return io_complete(Irp, STATUS_INVALID_PARAMETER, 0);
    PFILE_STANDARD_INFORMATION s = Irp->AssociatedIrp.SystemBuffer;
    s->EndOfFile.QuadPart = DEV_SIZE;
    s->AllocationSize.QuadPart = DEV_SIZE;
    s->NumberOfLinks = 1;
    return io_complete(Irp, STATUS_SUCCESS, sizeof *s);
}

static NTSTATUS NTAPI fdev_set(PDEVICE_OBJECT d, PIRP Irp)
{
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(Irp);
    fdev(d)->LastSetClass = sl->Parameters.SetFile.FileInformationClass;
    fdev(d)->LastSetLength = sl->Parameters.SetFile.Length;
    return io_complete(Irp, STATUS_SUCCESS, 0);
}

static NTSTATUS NTAPI fdev_entry(PDRIVER_OBJECT d, PUNICODE_STRING RegistryPath)
{
    d->DriverUnload = io_test_unload;
    d->MajorFunction[IRP_MJ_CREATE] = fdev_create;
    d->MajorFunction[IRP_MJ_CLEANUP] = fdev_cleanup;
    d->MajorFunction[IRP_MJ_CLOSE] = fdev_close;
    d->MajorFunction[IRP_MJ_READ] = fdev_rw;
    d->MajorFunction[IRP_MJ_WRITE] = fdev_rw;
    d->MajorFunction[IRP_MJ_QUERY_INFORMATION] = fdev_query;
    d->MajorFunction[IRP_MJ_SET_INFORMATION] = fdev_set;
    return STATUS_SUCCESS;
}

/* Loads the driver with one device \Device\FileDev0 (and \DosDevices\FileDev0) of these Flags. */
static PDEVICE_OBJECT fdev_load(kmrig_runtime *rt, ULONG Flags, BOOLEAN Exclusive)
{
    PDRIVER_OBJECT drv;
    assert_int_equal(IopLoadDriver(rt, L"FileDev", fdev_entry, NULL, &drv), STATUS_SUCCESS);
    UNICODE_STRING name = io_us(L"\\Device\\FileDev0"), link = io_us(L"\\DosDevices\\FileDev0");
    PDEVICE_OBJECT d;
    assert_int_equal(
        IoCreateDevice(drv, sizeof(FDEV), &name, FILE_DEVICE_UNKNOWN, 0, Exclusive, &d),
        STATUS_SUCCESS);
    memset(d->DeviceExtension, 0, sizeof(FDEV));
    d->Flags |= Flags;
    d->Flags &= ~DO_DEVICE_INITIALIZING;
    assert_int_equal(IoCreateSymbolicLink(&link, &name), STATUS_SUCCESS);
    return d;
}

/* ---- devices ---- */

static void test_zw_create_file_opens_a_device_through_a_dos_link(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    PDEVICE_OBJECT d = fdev_load(rt, DO_BUFFERED_IO, FALSE);
    HANDLE h;
    IO_STATUS_BLOCK iosb;
    assert_int_equal(open_file(L"\\DosDevices\\FileDev0", GENERIC_READ, FILE_SHARE_READ, FILE_OPEN,
                               SYNC, &h, &iosb),
                     STATUS_SUCCESS);
    assert_int_equal(iosb.Status, STATUS_SUCCESS);
    assert_int_equal(iosb.Information, FILE_OPENED);
    assert_true(((ULONG_PTR)h & 0xFFFFFFFF80000000ull) ==
                0xFFFFFFFF80000000ull); /* kernel handle */
    assert_int_equal(fdev(d)->Creates, 1);
    assert_int_equal(fdev(d)->LastOptions, (FILE_OPEN << 24) | SYNC);
    assert_int_equal(fdev(d)->LastShare, FILE_SHARE_READ);
    assert_int_equal(fdev(d)->LastAccess, FILE_GENERIC_READ); /* generic rights mapped */
    PFILE_OBJECT f;
    assert_int_equal(
        ObReferenceObjectByHandle(h, 0, *IoFileObjectType, KernelMode, (PVOID *)&f, NULL),
        STATUS_SUCCESS);
    assert_ptr_equal(f->DeviceObject, d);
    assert_true(f->Flags & FO_SYNCHRONOUS_IO);
    assert_true(f->ReadAccess);
    ObDereferenceObject(f);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);
    assert_int_equal(fdev(d)->Cleanups, 1);
    assert_int_equal(fdev(d)->Closes, 1);
    assert_int_equal(ZwClose(h), STATUS_INVALID_HANDLE);
    kmrig_runtime_destroy(rt);
}

static void test_zw_close_sends_close_only_when_the_last_reference_goes(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    PDEVICE_OBJECT d = fdev_load(rt, 0, FALSE);
    HANDLE h;
    IO_STATUS_BLOCK iosb;
    assert_int_equal(open_file(L"\\Device\\FileDev0", FILE_READ_DATA, 0, FILE_OPEN, 0, &h, &iosb),
                     STATUS_SUCCESS);
    PFILE_OBJECT f;
    assert_int_equal(
        ObReferenceObjectByHandle(h, 0, *IoFileObjectType, KernelMode, (PVOID *)&f, NULL),
        STATUS_SUCCESS);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);
    assert_int_equal(fdev(d)->Cleanups, 1); /* the last handle went */
    assert_int_equal(fdev(d)->Closes, 0);   /* a reference is still held */
    ObDereferenceObject(f);
    assert_int_equal(fdev(d)->Closes, 1);
    kmrig_runtime_destroy(rt);
}

/* A relative open holds its RootDirectory's file object (RelatedFileObject) and lets it go with
 * its own last reference, whether the open succeeded or not: the root's IRP_MJ_CLOSE then
 * follows its last handle. (Found by fuzz_sandbox: the reference was never dropped.) */
static void test_zw_close_releases_the_related_file_object_of_a_relative_open(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    PDEVICE_OBJECT d = fdev_load(rt, 0, FALSE);
    HANDLE root, h;
    IO_STATUS_BLOCK iosb;
    assert_int_equal(open_file(L"\\Device\\FileDev0", FILE_READ_DATA, FILE_SHARE_READ, FILE_OPEN, 0,
                               &root, &iosb),
                     STATUS_SUCCESS);
    assert_int_equal(
        open_name(L"rel", 6, root, FILE_READ_DATA, FILE_SHARE_READ, FILE_OPEN, 0, &h, &iosb),
        STATUS_SUCCESS);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);
    assert_int_equal(fdev(d)->Closes, 1);
    /* A relative open the driver refuses (the root does not share writing). */
    assert_int_equal(
        open_name(L"rel", 6, root, FILE_WRITE_DATA, FILE_SHARE_READ, FILE_OPEN, 0, &h, &iosb),
        STATUS_SHARING_VIOLATION);
    /* One the I/O manager refuses before any IRP (a full name with a RootDirectory). */
    assert_int_equal(
        open_name(L"\\rel", 8, root, FILE_READ_DATA, FILE_SHARE_READ, FILE_OPEN, 0, &h, &iosb),
        STATUS_OBJECT_PATH_SYNTAX_BAD);
    assert_int_equal(ZwClose(root), STATUS_SUCCESS);
    assert_int_equal(fdev(d)->Cleanups, 2);
    assert_int_equal(fdev(d)->Closes, 2); /* the root's close came with its last handle */
    kmrig_runtime_destroy(rt);
}

static void test_zw_create_file_rejects_bad_parameters(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    PDEVICE_OBJECT d = fdev_load(rt, 0, FALSE);
    static const struct {
        ACCESS_MASK Access;
        ULONG Share, Disposition, Options;
    } bad[] = {
        {FILE_READ_DATA, 0, FILE_MAXIMUM_DISPOSITION + 1, 0},
        {FILE_READ_DATA, 0, FILE_OPEN, 0x01000000},           /* unknown option */
        {FILE_READ_DATA, 0x8, FILE_OPEN, 0},                  /* unknown share */
        {FILE_READ_DATA, 0, FILE_OPEN, SYNC},                 /* no SYNCHRONIZE */
        {RW, 0, FILE_OPEN, SYNC | FILE_SYNCHRONOUS_IO_ALERT}, /* both */
        {FILE_READ_DATA, 0, FILE_OPEN, FILE_DIRECTORY_FILE | FILE_NON_DIRECTORY_FILE},
        {FILE_READ_DATA, 0, FILE_OVERWRITE_IF, FILE_DIRECTORY_FILE}, /* dir + overwrite */
        {FILE_READ_DATA, 0, FILE_OPEN, FILE_DELETE_ON_CLOSE},        /* no DELETE */
        {FILE_APPEND_DATA, 0, FILE_OPEN, FILE_NO_INTERMEDIATE_BUFFERING},
    };
    for (size_t i = 0; i < ARRAYSIZE(bad); i++) {
        HANDLE h;
        IO_STATUS_BLOCK iosb;
        assert_int_equal(open_file(L"\\Device\\FileDev0", bad[i].Access, bad[i].Share,
                                   bad[i].Disposition, bad[i].Options, &h, &iosb),
                         STATUS_INVALID_PARAMETER);
        assert_null(h);
    }
    assert_int_equal(fdev(d)->Creates, 0); /* refused before any IRP */
    UNICODE_STRING n = io_us(L"\\Device\\FileDev0");
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, &n, OBJ_KERNEL_HANDLE, NULL, NULL);
    IO_STATUS_BLOCK iosb;
    assert_int_equal(
        ZwCreateFile(NULL, FILE_READ_DATA, &oa, &iosb, NULL, 0, 0, FILE_OPEN, 0, NULL, 0),
        STATUS_INVALID_PARAMETER);
    kmrig_runtime_destroy(rt);
}

static void test_zw_create_file_reports_names_that_do_not_resolve(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    fdev_load(rt, 0, FALSE);
    HANDLE h;
    IO_STATUS_BLOCK iosb;
    assert_int_equal(
        open_file(L"\\Device\\NoSuchDevice", FILE_READ_DATA, 0, FILE_OPEN, 0, &h, &iosb),
        STATUS_OBJECT_NAME_NOT_FOUND);
    assert_int_equal(open_file(L"\\NoSuchDir\\x", FILE_READ_DATA, 0, FILE_OPEN, 0, &h, &iosb),
                     STATUS_OBJECT_PATH_NOT_FOUND);
    assert_int_equal(open_file(L"\\Device", FILE_READ_DATA, 0, FILE_OPEN, 0, &h, &iosb),
                     STATUS_OBJECT_TYPE_MISMATCH); /* a directory object, not a device */
    assert_int_equal(open_file(L"Device\\FileDev0", FILE_READ_DATA, 0, FILE_OPEN, 0, &h, &iosb),
                     STATUS_OBJECT_PATH_SYNTAX_BAD);
    kmrig_runtime_destroy(rt);
}

static void test_zw_read_write_file_honour_the_device_buffering(void **state)
{
    static const ULONG flags[] = {DO_BUFFERED_IO, DO_DIRECT_IO, 0};
    static const char kind[] = {'B', 'D', 'N'};
    for (int k = 0; k < 3; k++) {
        kmrig_runtime *rt = kmtest_runtime(1);
        PDEVICE_OBJECT d = fdev_load(rt, flags[k], FALSE);
        HANDLE h;
        IO_STATUS_BLOCK iosb;
        assert_int_equal(open_file(L"\\??\\FileDev0", RW, 0, FILE_OPEN, SYNC, &h, &iosb),
                         STATUS_SUCCESS);
        UCHAR out[100], in[100];
        for (int i = 0; i < 100; i++)
            out[i] = (UCHAR)(i * 7 + k);
        LARGE_INTEGER off = {.QuadPart = 1000};
        kmtest_junk(&iosb, sizeof iosb);
        assert_int_equal(ZwWriteFile(h, NULL, NULL, NULL, &iosb, out, sizeof out, &off, NULL),
                         STATUS_SUCCESS);
        assert_int_equal(iosb.Status, STATUS_SUCCESS);
        assert_int_equal(iosb.Information, sizeof out);
        assert_int_equal(fdev(d)->LastBuffer, kind[k]);
        assert_memory_equal(fdev(d)->Data + 1000, out, sizeof out);
        memset(in, 0, sizeof in);
        assert_int_equal(ZwReadFile(h, NULL, NULL, NULL, &iosb, in, sizeof in, &off, NULL),
                         STATUS_SUCCESS);
        assert_int_equal(iosb.Information, sizeof in);
        assert_memory_equal(in, out, sizeof in);
        ZwClose(h);
        kmrig_runtime_destroy(rt);
    }
}

static void test_zw_read_file_on_a_synchronous_handle_keeps_the_position(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    PDEVICE_OBJECT d = fdev_load(rt, DO_BUFFERED_IO, FALSE);
    for (int i = 0; i < DEV_SIZE; i++)
        fdev(d)->Data[i] = (UCHAR)i;
    HANDLE h;
    IO_STATUS_BLOCK iosb;
    assert_int_equal(open_file(L"\\??\\FileDev0", RW, 0, FILE_OPEN, SYNC, &h, &iosb),
                     STATUS_SUCCESS);
    UCHAR b[10];
    assert_int_equal(ZwReadFile(h, NULL, NULL, NULL, &iosb, b, 10, NULL, NULL), STATUS_SUCCESS);
    assert_int_equal(b[0], 0);
    LARGE_INTEGER current = {.u = {FILE_USE_FILE_POINTER_POSITION, -1}};
    assert_int_equal(ZwReadFile(h, NULL, NULL, NULL, &iosb, b, 10, &current, NULL), STATUS_SUCCESS);
    assert_int_equal(b[0], 10); /* went on from where the last read ended */
    FILE_POSITION_INFORMATION pos;
    assert_int_equal(ZwQueryInformationFile(h, &iosb, &pos, sizeof pos, FilePositionInformation),
                     STATUS_SUCCESS);
    assert_int_equal(pos.CurrentByteOffset.QuadPart, 20);
    assert_int_equal(iosb.Information, sizeof pos);
    LARGE_INTEGER off = {.QuadPart = 200}; /* an explicit offset moves the position */
    assert_int_equal(ZwReadFile(h, NULL, NULL, NULL, &iosb, b, 10, &off, NULL), STATUS_SUCCESS);
    assert_int_equal(ZwReadFile(h, NULL, NULL, NULL, &iosb, b, 10, NULL, NULL), STATUS_SUCCESS);
    assert_int_equal(b[0], 210);
    pos.CurrentByteOffset.QuadPart = 100;
    assert_int_equal(ZwSetInformationFile(h, &iosb, &pos, sizeof pos, FilePositionInformation),
                     STATUS_SUCCESS);
    assert_int_equal(ZwReadFile(h, NULL, NULL, NULL, &iosb, b, 10, NULL, NULL), STATUS_SUCCESS);
    assert_int_equal(b[0], 100);
    pos.CurrentByteOffset.QuadPart = -1;
    assert_int_equal(ZwSetInformationFile(h, &iosb, &pos, sizeof pos, FilePositionInformation),
                     STATUS_INVALID_PARAMETER);
    assert_int_equal(fdev(d)->LastSetClass, 0); /* handled by the I/O manager */
    off.QuadPart = DEV_SIZE;
    assert_int_equal(ZwReadFile(h, NULL, NULL, NULL, &iosb, b, 10, &off, NULL), STATUS_END_OF_FILE);
    assert_int_equal(iosb.Status, STATUS_END_OF_FILE);
    ZwClose(h);
    kmrig_runtime_destroy(rt);
}

static void test_zw_read_file_on_an_asynchronous_handle_pends_and_signals_the_event(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    PDEVICE_OBJECT d = fdev_load(rt, DO_DIRECT_IO, FALSE);
    memset(fdev(d)->Data, 0x5A, DEV_SIZE);
    HANDLE h, eh;
    IO_STATUS_BLOCK iosb;
    assert_int_equal(open_file(L"\\??\\FileDev0", FILE_READ_DATA, 0, FILE_OPEN, 0, &h, &iosb),
                     STATUS_SUCCESS);
    UCHAR b[16];
    assert_int_equal(ZwReadFile(h, NULL, NULL, NULL, &iosb, b, 16, NULL, NULL),
                     STATUS_INVALID_PARAMETER); /* no position on an asynchronous handle */
    UNICODE_STRING en = io_us(L"\\BaseNamedObjects\\FileTestEvent");
    PKEVENT ev = IoCreateNotificationEvent(&en, &eh);
    assert_non_null(ev);
    assert_int_equal(KeReadStateEvent(ev), 1);
    fdev(d)->PendReads = TRUE;
    LARGE_INTEGER off = {.QuadPart = 8};
    memset(b, 0, sizeof b);
    kmtest_junk(&iosb, sizeof iosb);
    assert_int_equal(ZwReadFile(h, eh, NULL, NULL, &iosb, b, 16, &off, NULL), STATUS_PENDING);
    assert_int_equal(KeReadStateEvent(ev), 0); /* cleared at the start */
    assert_non_null(fdev(d)->Pending);
    fdev_complete_pending(d);
    assert_int_equal(KeReadStateEvent(ev), 1);
    assert_int_equal(iosb.Status, STATUS_SUCCESS);
    assert_int_equal(iosb.Information, 16);
    assert_int_equal(b[0], 0x5A);
    /* Without an event the file object's own event is signalled. */
    PFILE_OBJECT f;
    assert_int_equal(
        ObReferenceObjectByHandle(h, 0, *IoFileObjectType, KernelMode, (PVOID *)&f, NULL),
        STATUS_SUCCESS);
    assert_int_equal(ZwReadFile(h, NULL, NULL, NULL, &iosb, b, 16, &off, NULL), STATUS_PENDING);
    assert_int_equal(KeReadStateEvent(&f->Event), 0);
    fdev_complete_pending(d);
    assert_int_equal(KeReadStateEvent(&f->Event), 1);
    ObDereferenceObject(f);
    /* A request in flight holds its file object and event: both handles may go first. */
    assert_int_equal(ZwReadFile(h, eh, NULL, NULL, &iosb, b, 16, &off, NULL), STATUS_PENDING);
    ObReferenceObject(ev); /* to look at it afterwards */
    ZwClose(eh);
    ZwClose(h);
    assert_int_equal(fdev(d)->Cleanups, 1);
    assert_int_equal(fdev(d)->Closes, 0);
    fdev_complete_pending(d);
    assert_int_equal(fdev(d)->Closes, 1);
    assert_int_equal(KeReadStateEvent(ev), 1);
    assert_int_equal(iosb.Information, 16);
    ObDereferenceObject(ev);
    kmrig_runtime_destroy(rt);
}

typedef struct _RACE {
    HANDLE File;
    ULONG Seen[2][100];
    int Next;
} RACE;

static VOID NTAPI race_thread(PVOID Context)
{
    RACE *r = Context;
    int me = InterlockedIncrement((volatile LONG *)&r->Next) - 1;
    for (int i = 0; i < 100; i++) {
        IO_STATUS_BLOCK iosb;
        ULONG v = 0xFFFFFFFF;
        if (ZwReadFile(r->File, NULL, NULL, NULL, &iosb, &v, sizeof v, NULL, NULL) !=
                STATUS_SUCCESS ||
            iosb.Information != sizeof v)
            v = 0xFFFFFFFE;
        r->Seen[me][i] = v;
    }
    PsTerminateSystemThread(STATUS_SUCCESS);
}

/* Two processors reading one synchronous file object at its current position: the file object
 * lock serialises them, so every 4-byte slot is read exactly once. */
static void test_zw_read_file_serialises_a_synchronous_file_object(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(2);
    PDEVICE_OBJECT d = fdev_load(rt, DO_BUFFERED_IO, FALSE);
    for (ULONG i = 0; i < DEV_SIZE / 4; i++)
        memcpy(fdev(d)->Data + 4 * i, &i, 4);
    fdev(d)->DelayReads = TRUE;
    static RACE r;
    IO_STATUS_BLOCK iosb;
    assert_int_equal(open_file(L"\\??\\FileDev0", RW, 0, FILE_OPEN, SYNC, &r.File, &iosb),
                     STATUS_SUCCESS);
    HANDLE th[2];
    PVOID t[2];
    for (int i = 0; i < 2; i++) {
        assert_int_equal(
            PsCreateSystemThread(&th[i], THREAD_ALL_ACCESS, NULL, NULL, NULL, race_thread, &r),
            STATUS_SUCCESS);
        assert_int_equal(
            ObReferenceObjectByHandle(th[i], 0, *PsThreadType, KernelMode, &t[i], NULL),
            STATUS_SUCCESS);
    }
    for (int i = 0; i < 2; i++) {
        KeWaitForSingleObject(t[i], Executive, KernelMode, FALSE, NULL);
        ObDereferenceObject(t[i]);
        ZwClose(th[i]);
    }
    BOOLEAN seen[200] = {0};
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < 100; i++) {
            ULONG v = r.Seen[k][i];
            assert_true(v < 200);
            assert_false(seen[v]);
            seen[v] = TRUE;
            if (i)
                assert_true(v > r.Seen[k][i - 1]); /* each thread moves forward */
        }
    FILE_POSITION_INFORMATION pos;
    assert_int_equal(
        ZwQueryInformationFile(r.File, &iosb, &pos, sizeof pos, FilePositionInformation),
        STATUS_SUCCESS);
    assert_int_equal(pos.CurrentByteOffset.QuadPart, 800);
    ZwClose(r.File);
    kmrig_runtime_destroy(rt);
}

static VOID NTAPI apc_routine(PVOID Context, PIO_STATUS_BLOCK Iosb, ULONG Reserved) {}

static void test_zw_read_write_file_refuse_apc_routines_and_other_handles(void **state)
{
    kmrig_config cfg;
    kmrig_config_init(&cfg);
    cfg.log_fn = log_capture;
    LogText[0] = 0;
    kmrig_runtime *rt = kmtest_runtime_cfg(&cfg);
    fdev_load(rt, 0, FALSE);
    HANDLE h, eh;
    IO_STATUS_BLOCK iosb;
    assert_int_equal(open_file(L"\\??\\FileDev0", RW, 0, FILE_OPEN, SYNC, &h, &iosb),
                     STATUS_SUCCESS);
    UCHAR b[4];
    assert_int_equal(ZwReadFile(h, NULL, apc_routine, NULL, &iosb, b, 4, NULL, NULL),
                     STATUS_NOT_SUPPORTED);
    assert_int_equal(ZwWriteFile(h, NULL, apc_routine, NULL, &iosb, b, 4, NULL, NULL),
                     STATUS_NOT_SUPPORTED);
    assert_non_null(strstr(LogText, "ZwWriteFile: ApcRoutine is not supported"));
    UNICODE_STRING en = io_us(L"\\BaseNamedObjects\\FileTestEvent2");
    assert_non_null(IoCreateNotificationEvent(&en, &eh));
    assert_int_equal(ZwReadFile(eh, NULL, NULL, NULL, &iosb, b, 4, NULL, NULL),
                     STATUS_OBJECT_TYPE_MISMATCH);
    assert_int_equal(ZwReadFile((HANDLE)(ULONG_PTR)0xFFFFFFFF80000F00ull, NULL, NULL, NULL, &iosb,
                                b, 4, NULL, NULL),
                     STATUS_INVALID_HANDLE);
    assert_int_equal(ZwReadFile(h, h, NULL, NULL, &iosb, b, 4, NULL, NULL),
                     STATUS_OBJECT_TYPE_MISMATCH); /* the Event handle is not an event */
    LARGE_INTEGER eof = {.u = {FILE_WRITE_TO_END_OF_FILE, -1}};
    assert_int_equal(ZwReadFile(h, NULL, NULL, NULL, &iosb, b, 4, &eof, NULL),
                     STATUS_INVALID_PARAMETER);
    ZwClose(eh);
    ZwClose(h);
    kmrig_runtime_destroy(rt);
}

static void
test_zw_create_file_share_access_is_the_drivers_and_exclusive_devices_refuse(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    PDEVICE_OBJECT d = fdev_load(rt, 0, FALSE);
    HANDLE a, b;
    IO_STATUS_BLOCK iosb;
    assert_int_equal(
        open_file(L"\\??\\FileDev0", FILE_READ_DATA, FILE_SHARE_READ, FILE_OPEN, 0, &a, &iosb),
        STATUS_SUCCESS);
    assert_int_equal(
        open_file(L"\\??\\FileDev0", FILE_WRITE_DATA, FILE_SHARE_READ, FILE_OPEN, 0, &b, &iosb),
        STATUS_SHARING_VIOLATION);
    assert_int_equal(iosb.Status, STATUS_SHARING_VIOLATION);
    assert_int_equal(fdev(d)->Closes, 0); /* a failed create gets no cleanup or close */
    assert_int_equal(
        open_file(L"\\??\\FileDev0", FILE_READ_DATA, FILE_SHARE_READ, FILE_OPEN, 0, &b, &iosb),
        STATUS_SUCCESS);
    ZwClose(a);
    ZwClose(b);
    assert_int_equal(fdev(d)->Opens, 0);
    kmrig_runtime_destroy(rt);

    rt = kmtest_runtime(1);
    fdev_load(rt, 0, TRUE);
    assert_int_equal(
        open_file(L"\\??\\FileDev0", FILE_READ_DATA, FILE_SHARE_READ, FILE_OPEN, 0, &a, &iosb),
        STATUS_SUCCESS);
    assert_int_equal(
        open_file(L"\\??\\FileDev0", FILE_READ_DATA, FILE_SHARE_READ, FILE_OPEN, 0, &b, &iosb),
        STATUS_ACCESS_DENIED);
    ZwClose(a);
    kmrig_runtime_destroy(rt);
}

static void test_zw_query_set_information_file_check_class_and_length(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    PDEVICE_OBJECT d = fdev_load(rt, 0, FALSE);
    HANDLE h;
    IO_STATUS_BLOCK iosb;
    assert_int_equal(
        open_file(L"\\??\\FileDev0", GENERIC_READ | GENERIC_WRITE, 0, FILE_OPEN, 0, &h, &iosb),
        STATUS_SUCCESS);
    FILE_STANDARD_INFORMATION std;
    kmtest_junk(&std, sizeof std);
    assert_int_equal(ZwQueryInformationFile(h, &iosb, &std, sizeof std, FileStandardInformation),
                     STATUS_SUCCESS);
    assert_int_equal(std.EndOfFile.QuadPart, DEV_SIZE); /* the driver's answer, copied back */
    assert_int_equal(iosb.Information, sizeof std);
    assert_int_equal(
        ZwQueryInformationFile(h, &iosb, &std, sizeof std - 1, FileStandardInformation),
        STATUS_INFO_LENGTH_MISMATCH);
    assert_int_equal(ZwQueryInformationFile(h, &iosb, &std, sizeof std, 0),
                     STATUS_INVALID_INFO_CLASS);
    assert_int_equal(ZwQueryInformationFile(h, &iosb, &std, sizeof std, FileMaximumInformation),
                     STATUS_INVALID_INFO_CLASS);
    assert_int_equal(ZwQueryInformationFile(h, &iosb, &std, sizeof std, FileAllocationInformation),
                     STATUS_INVALID_INFO_CLASS); /* a set-only class */
    FILE_BASIC_INFORMATION basic;
    assert_int_equal(ZwQueryInformationFile(h, &iosb, &basic, sizeof basic, FileBasicInformation),
                     STATUS_INVALID_PARAMETER); /* the driver's refusal */
    assert_int_equal(iosb.Status, STATUS_INVALID_PARAMETER);
    FILE_ACCESS_INFORMATION acc;
    assert_int_equal(ZwQueryInformationFile(h, &iosb, &acc, sizeof acc, FileAccessInformation),
                     STATUS_SUCCESS);
    assert_int_equal(acc.AccessFlags, FILE_GENERIC_READ | FILE_GENERIC_WRITE);
    FILE_END_OF_FILE_INFORMATION eof = {{.QuadPart = 5}};
    assert_int_equal(ZwSetInformationFile(h, &iosb, &eof, sizeof eof, FileEndOfFileInformation),
                     STATUS_SUCCESS);
    assert_int_equal(fdev(d)->LastSetClass, FileEndOfFileInformation);
    assert_int_equal(fdev(d)->LastSetLength, sizeof eof);
    assert_int_equal(ZwSetInformationFile(h, &iosb, &eof, sizeof eof, FileStandardInformation),
                     STATUS_INVALID_INFO_CLASS); /* a query-only class */
    assert_int_equal(ZwSetInformationFile(h, &iosb, &eof, 4, FileEndOfFileInformation),
                     STATUS_INFO_LENGTH_MISMATCH);
    ZwClose(h);
    kmrig_runtime_destroy(rt);
}

static void create_at_dispatch(void *arg)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    fdev_load(rt, 0, FALSE);
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    HANDLE h;
    IO_STATUS_BLOCK iosb;
    open_file(L"\\??\\FileDev0", FILE_READ_DATA, 0, FILE_OPEN, 0, &h, &iosb);
}

static void read_at_dispatch(void *arg)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    fdev_load(rt, 0, FALSE);
    HANDLE h;
    IO_STATUS_BLOCK iosb;
    open_file(L"\\??\\FileDev0", RW, 0, FILE_OPEN, SYNC, &h, &iosb);
    KIRQL old;
    KeRaiseIrql(APC_LEVEL, &old);
    UCHAR b[4];
    ZwReadFile(h, NULL, NULL, NULL, &iosb, b, 4, NULL, NULL);
}

static void test_zw_file_routines_are_passive_level_only(void **state)
{
    assert_bugcheck(create_at_dispatch, NULL, DRIVER_VERIFIER_DETECTED_VIOLATION);
    assert_bugcheck(read_at_dispatch, NULL, DRIVER_VERIFIER_DETECTED_VIOLATION);
}

/* ---- host files in a sandbox ---- */

typedef struct _SANDBOX {
    char Root[64];
    char Outside[64];
    kmrig_runtime *Rt;
} SANDBOX;

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    chmod(path, 0700);
    return remove(path);
}

static int sandbox_setup(void **state)
{
    SANDBOX *s = calloc(1, sizeof *s);
    strcpy(s->Root, "/tmp/kmrig-files-XXXXXX");
    strcpy(s->Outside, "/tmp/kmrig-outside-XXXXXX");
    if (!mkdtemp(s->Root) || !mkdtemp(s->Outside))
        return -1;
    kmrig_config cfg;
    kmrig_config_init(&cfg);
    cfg.time_budget_ns = 600ull * 1000000000ull;
    cfg.sandbox_root = s->Root;
    cfg.log_fn = log_capture;
    LogText[0] = 0;
    s->Rt = kmtest_runtime_cfg(&cfg);
    *state = s;
    return 0;
}

static int sandbox_teardown(void **state)
{
    SANDBOX *s = *state;
    if (s->Rt)
        kmrig_runtime_destroy(s->Rt);
    nftw(s->Root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    nftw(s->Outside, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(s);
    return 0;
}

static char *host_path(SANDBOX *s, const char *Rel)
{
    static char p[512];
    snprintf(p, sizeof p, "%s/%s", s->Root, Rel);
    return p;
}

static void host_write(const char *Path, const char *Text)
{
    FILE *f = fopen(Path, "w");
    assert_non_null(f);
    fputs(Text, f);
    fclose(f);
}

static long host_size(const char *Path)
{
    struct stat st;
    return lstat(Path, &st) ? -1 : (long)st.st_size;
}

static void test_zw_create_file_without_a_sandbox_refuses_host_files(void **state)
{
    kmrig_config cfg;
    kmrig_config_init(&cfg);
    cfg.log_fn = log_capture;
    LogText[0] = 0;
    kmrig_runtime *rt = kmtest_runtime_cfg(&cfg);
    HANDLE h;
    IO_STATUS_BLOCK iosb;
    assert_int_equal(open_file(L"\\??\\C:\\file.txt", RW, 0, FILE_OPEN_IF, SYNC, &h, &iosb),
                     STATUS_ACCESS_DENIED);
    assert_int_equal(open_file(L"\\SystemRoot\\file.txt", RW, 0, FILE_OPEN_IF, SYNC, &h, &iosb),
                     STATUS_ACCESS_DENIED);
    assert_non_null(strstr(LogText, "no sandbox_root"));
    kmrig_runtime_destroy(rt);
    /* A sandbox_root that cannot be opened: logged, and host files refused. */
    cfg.sandbox_root = "/nonexistent/kmrig-sandbox";
    LogText[0] = 0;
    rt = kmtest_runtime_cfg(&cfg);
    assert_non_null(strstr(LogText, "/nonexistent/kmrig-sandbox"));
    assert_int_equal(open_file(L"\\??\\C:\\file.txt", RW, 0, FILE_OPEN_IF, SYNC, &h, &iosb),
                     STATUS_ACCESS_DENIED);
    kmrig_runtime_destroy(rt);
}

static void test_zw_create_file_dispositions_on_host_files(void **state)
{
    SANDBOX *s = *state;
    HANDLE h;
    IO_STATUS_BLOCK iosb;
    PCWSTR name = L"\\??\\C:\\a.txt";
    assert_int_equal(open_file(name, RW, 0, FILE_OPEN, SYNC, &h, &iosb),
                     STATUS_OBJECT_NAME_NOT_FOUND);
    assert_int_equal(iosb.Information, FILE_DOES_NOT_EXIST);
    assert_int_equal(open_file(name, RW, 0, FILE_OVERWRITE, SYNC, &h, &iosb),
                     STATUS_OBJECT_NAME_NOT_FOUND);
    assert_int_equal(open_file(L"\\??\\C:\\nodir\\a.txt", RW, 0, FILE_CREATE, SYNC, &h, &iosb),
                     STATUS_OBJECT_PATH_NOT_FOUND);
    assert_int_equal(open_file(name, RW, 0, FILE_CREATE, SYNC, &h, &iosb), STATUS_SUCCESS);
    assert_int_equal(iosb.Information, FILE_CREATED);
    assert_int_equal(host_size(host_path(s, "a.txt")), 0);
    ZwClose(h);
    assert_int_equal(open_file(name, RW, 0, FILE_CREATE, SYNC, &h, &iosb),
                     STATUS_OBJECT_NAME_COLLISION);
    assert_int_equal(iosb.Status, STATUS_OBJECT_NAME_COLLISION);
    assert_int_equal(iosb.Information, FILE_EXISTS);
    host_write(host_path(s, "a.txt"), "0123456789");
    assert_int_equal(open_file(name, RW, 0, FILE_OPEN, SYNC, &h, &iosb), STATUS_SUCCESS);
    assert_int_equal(iosb.Information, FILE_OPENED);
    ZwClose(h);
    assert_int_equal(open_file(name, RW, 0, FILE_OPEN_IF, SYNC, &h, &iosb), STATUS_SUCCESS);
    assert_int_equal(iosb.Information, FILE_OPENED);
    ZwClose(h);
    assert_int_equal(host_size(host_path(s, "a.txt")), 10);
    assert_int_equal(open_file(name, RW, 0, FILE_OVERWRITE, SYNC, &h, &iosb), STATUS_SUCCESS);
    assert_int_equal(iosb.Information, FILE_OVERWRITTEN);
    assert_int_equal(host_size(host_path(s, "a.txt")), 0);
    ZwClose(h);
    host_write(host_path(s, "a.txt"), "0123456789");
    assert_int_equal(open_file(name, RW, 0, FILE_SUPERSEDE, SYNC, &h, &iosb), STATUS_SUCCESS);
    assert_int_equal(iosb.Information, FILE_SUPERSEDED);
    assert_int_equal(host_size(host_path(s, "a.txt")), 0);
    ZwClose(h);
    assert_int_equal(open_file(L"\\DosDevices\\C:\\b.txt", RW, 0, FILE_OPEN_IF, SYNC, &h, &iosb),
                     STATUS_SUCCESS);
    assert_int_equal(iosb.Information, FILE_CREATED);
    ZwClose(h);
    assert_int_equal(open_file(L"\\??\\C:\\c.txt", RW, 0, FILE_OVERWRITE_IF, SYNC, &h, &iosb),
                     STATUS_SUCCESS);
    assert_int_equal(iosb.Information, FILE_CREATED);
    ZwClose(h);
    assert_int_equal(host_size(host_path(s, "b.txt")), 0);
    assert_int_equal(host_size(host_path(s, "c.txt")), 0);
    /* \SystemRoot is C:\Windows */
    assert_int_equal(mkdir(host_path(s, "Windows"), 0755), 0);
    assert_int_equal(open_file(L"\\SystemRoot\\w.txt", RW, 0, FILE_CREATE, SYNC, &h, &iosb),
                     STATUS_SUCCESS);
    ZwClose(h);
    assert_int_equal(host_size(host_path(s, "Windows/w.txt")), 0);
}

static void test_zw_read_write_file_on_host_files(void **state)
{
    SANDBOX *s = *state;
    HANDLE h;
    IO_STATUS_BLOCK iosb;
    assert_int_equal(open_file(L"\\??\\C:\\rw.bin", RW, 0, FILE_CREATE, SYNC, &h, &iosb),
                     STATUS_SUCCESS);
    char hello[] = "hello, ", world[] = "world";
    assert_int_equal(ZwWriteFile(h, NULL, NULL, NULL, &iosb, hello, 7, NULL, NULL), STATUS_SUCCESS);
    assert_int_equal(iosb.Information, 7);
    assert_int_equal(ZwWriteFile(h, NULL, NULL, NULL, &iosb, world, 5, NULL, NULL), STATUS_SUCCESS);
    assert_int_equal(host_size(host_path(s, "rw.bin")), 12);
    char b[32] = {0};
    LARGE_INTEGER zero = {.QuadPart = 0};
    assert_int_equal(ZwReadFile(h, NULL, NULL, NULL, &iosb, b, sizeof b, &zero, NULL),
                     STATUS_SUCCESS);
    assert_int_equal(iosb.Information, 12); /* a short read at the end */
    assert_memory_equal(b, "hello, world", 12);
    kmtest_junk(&iosb, sizeof iosb);
    assert_int_equal(ZwReadFile(h, NULL, NULL, NULL, &iosb, b, sizeof b, NULL, NULL),
                     STATUS_END_OF_FILE);
    assert_int_equal(iosb.Status, STATUS_END_OF_FILE);
    assert_int_equal(iosb.Information, 0);
    LARGE_INTEGER past = {.QuadPart = 100};
    assert_int_equal(ZwReadFile(h, NULL, NULL, NULL, &iosb, b, sizeof b, &past, NULL),
                     STATUS_END_OF_FILE);
    LARGE_INTEGER end = {.u = {FILE_WRITE_TO_END_OF_FILE, -1}};
    assert_int_equal(ZwWriteFile(h, NULL, NULL, NULL, &iosb, "!", 1, &end, NULL), STATUS_SUCCESS);
    assert_int_equal(host_size(host_path(s, "rw.bin")), 13);
    FILE_POSITION_INFORMATION pos;
    assert_int_equal(ZwQueryInformationFile(h, &iosb, &pos, sizeof pos, FilePositionInformation),
                     STATUS_SUCCESS);
    assert_int_equal(pos.CurrentByteOffset.QuadPart, 13);
    ZwClose(h);
    /* Access: a read-only handle cannot write, a write-only one cannot read, an append-only one
     * writes at the end. */
    assert_int_equal(open_file(L"\\??\\C:\\rw.bin", FILE_READ_DATA | SYNCHRONIZE,
                               FILE_SHARE_READ | FILE_SHARE_WRITE, FILE_OPEN, SYNC, &h, &iosb),
                     STATUS_SUCCESS);
    assert_int_equal(ZwWriteFile(h, NULL, NULL, NULL, &iosb, "x", 1, &zero, NULL),
                     STATUS_ACCESS_DENIED);
    ZwClose(h);
    assert_int_equal(open_file(L"\\??\\C:\\rw.bin", FILE_APPEND_DATA | SYNCHRONIZE, 0, FILE_OPEN,
                               SYNC, &h, &iosb),
                     STATUS_SUCCESS);
    assert_int_equal(ZwReadFile(h, NULL, NULL, NULL, &iosb, b, 1, &zero, NULL),
                     STATUS_ACCESS_DENIED);
    assert_int_equal(ZwWriteFile(h, NULL, NULL, NULL, &iosb, "?", 1, &zero, NULL), STATUS_SUCCESS);
    ZwClose(h);
    int fd = open(host_path(s, "rw.bin"), O_RDONLY);
    char all[32] = {0};
    assert_int_equal(read(fd, all, sizeof all), 14);
    close(fd);
    assert_string_equal(all, "hello, world!?");
}

static void test_zw_create_file_directories_and_relative_opens(void **state)
{
    SANDBOX *s = *state;
    HANDLE d, h;
    IO_STATUS_BLOCK iosb;
    assert_int_equal(open_file(L"\\??\\C:\\dir", FILE_LIST_DIRECTORY | SYNCHRONIZE, 0, FILE_CREATE,
                               FILE_DIRECTORY_FILE | SYNC, &d, &iosb),
                     STATUS_SUCCESS);
    assert_int_equal(iosb.Information, FILE_CREATED);
    struct stat st;
    assert_int_equal(stat(host_path(s, "dir"), &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    /* A name relative to the directory handle. */
    assert_int_equal(open_name(L"f.txt", 10, d, RW, 0, FILE_CREATE, SYNC, &h, &iosb),
                     STATUS_SUCCESS);
    ZwClose(h);
    assert_int_equal(host_size(host_path(s, "dir/f.txt")), 0);
    assert_int_equal(open_name(L"\\f.txt", 12, d, RW, 0, FILE_OPEN, SYNC, &h, &iosb),
                     STATUS_OBJECT_PATH_SYNTAX_BAD);
    assert_int_equal(
        open_file(L"\\??\\C:\\dir\\f.txt", RW, 0, FILE_OPEN, SYNC | FILE_DIRECTORY_FILE, &h, &iosb),
        STATUS_NOT_A_DIRECTORY);
    assert_int_equal(
        open_file(L"\\??\\C:\\dir", RW, 0, FILE_OPEN, SYNC | FILE_NON_DIRECTORY_FILE, &h, &iosb),
        STATUS_FILE_IS_A_DIRECTORY);
    assert_int_equal(open_file(L"\\??\\C:\\dir\\f.txt\\", RW, 0, FILE_OPEN, SYNC, &h, &iosb),
                     STATUS_OBJECT_NAME_INVALID); /* a trailing backslash names a directory */
    assert_int_equal(open_file(L"\\??\\C:\\dir\\f.txt\\x", RW, 0, FILE_OPEN, SYNC, &h, &iosb),
                     STATUS_OBJECT_PATH_NOT_FOUND);
    UCHAR b[4];
    LARGE_INTEGER zero = {.QuadPart = 0};
    assert_int_equal(ZwReadFile(d, NULL, NULL, NULL, &iosb, b, 4, &zero, NULL),
                     STATUS_INVALID_DEVICE_REQUEST);
    /* A driver's own IRP to the volume without a file object of it is refused. */
    PFILE_OBJECT fo;
    assert_int_equal(
        ObReferenceObjectByHandle(d, 0, *IoFileObjectType, KernelMode, (PVOID *)&fo, NULL),
        STATUS_SUCCESS);
    KEVENT ev;
    KeInitializeEvent(&ev, NotificationEvent, FALSE);
    PIRP irp = IoBuildSynchronousFsdRequest(IRP_MJ_READ, IoGetRelatedDeviceObject(fo), b, 4, &zero,
                                            &ev, &iosb);
    assert_non_null(irp);
    assert_int_equal(IoCallDriver(IoGetRelatedDeviceObject(fo), irp),
                     STATUS_INVALID_DEVICE_REQUEST);
    ObDereferenceObject(fo);
    /* The root directory of the volume. */
    assert_int_equal(
        open_file(L"\\??\\C:\\", FILE_LIST_DIRECTORY | SYNCHRONIZE, 0, FILE_OPEN, SYNC, &h, &iosb),
        STATUS_SUCCESS);
    FILE_STANDARD_INFORMATION std;
    assert_int_equal(ZwQueryInformationFile(h, &iosb, &std, sizeof std, FileStandardInformation),
                     STATUS_SUCCESS);
    assert_true(std.Directory);
    ZwClose(h);
    assert_int_equal(open_file(L"\\??\\C:", FILE_READ_DATA, 0, FILE_OPEN, 0, &h, &iosb),
                     STATUS_ACCESS_DENIED); /* the volume itself */
    ZwClose(d);
}

static void test_zw_query_information_file_on_host_files(void **state)
{
    SANDBOX *s = *state;
    assert_int_equal(mkdir(host_path(s, "sub"), 0755), 0);
    host_write(host_path(s, "sub/info.txt"), "0123456789");
    HANDLE h;
    IO_STATUS_BLOCK iosb;
    assert_int_equal(
        open_file(L"\\??\\C:\\sub\\info.txt", FILE_GENERIC_READ, 0, FILE_OPEN, SYNC, &h, &iosb),
        STATUS_SUCCESS);
    FILE_STANDARD_INFORMATION std;
    kmtest_junk(&std, sizeof std);
    assert_int_equal(ZwQueryInformationFile(h, &iosb, &std, sizeof std, FileStandardInformation),
                     STATUS_SUCCESS);
    assert_int_equal(std.EndOfFile.QuadPart, 10);
    assert_int_equal(std.NumberOfLinks, 1);
    assert_false(std.DeletePending);
    assert_false(std.Directory);
    assert_int_equal(iosb.Information, sizeof std);
    FILE_BASIC_INFORMATION basic;
    kmtest_junk(&basic, sizeof basic);
    assert_int_equal(ZwQueryInformationFile(h, &iosb, &basic, sizeof basic, FileBasicInformation),
                     STATUS_SUCCESS);
    struct stat st;
    stat(host_path(s, "sub/info.txt"), &st);
    assert_int_equal(basic.LastWriteTime.QuadPart, (LONGLONG)st.st_mtim.tv_sec * 10000000 +
                                                       st.st_mtim.tv_nsec / 100 +
                                                       116444736000000000LL);
    assert_int_equal(basic.FileAttributes, FILE_ATTRIBUTE_NORMAL);
    struct {
        FILE_NAME_INFORMATION Info;
        WCHAR More[63];
    } name;
    assert_int_equal(ZwQueryInformationFile(h, &iosb, &name, sizeof name, FileNameInformation),
                     STATUS_SUCCESS);
    static const WCHAR want[] = L"\\sub\\info.txt";
    assert_int_equal(name.Info.FileNameLength, sizeof want - sizeof(WCHAR));
    assert_memory_equal(name.Info.FileName, want, sizeof want - sizeof(WCHAR));
    assert_int_equal(iosb.Information,
                     FIELD_OFFSET(FILE_NAME_INFORMATION, FileName) + sizeof want - sizeof(WCHAR));
    /* Too small: as much as fits, STATUS_BUFFER_OVERFLOW, the full length in FileNameLength. */
    FILE_NAME_INFORMATION small[2];
    kmtest_junk(small, sizeof small);
    assert_int_equal(ZwQueryInformationFile(h, &iosb, small, 12, FileNameInformation),
                     STATUS_BUFFER_OVERFLOW);
    assert_int_equal(small[0].FileNameLength, sizeof want - sizeof(WCHAR));
    assert_int_equal(iosb.Information, 12);
    assert_memory_equal(small[0].FileName, want, 8);
    FILE_INTERNAL_INFORMATION id;
    assert_int_equal(ZwQueryInformationFile(h, &iosb, &id, sizeof id, FileInternalInformation),
                     STATUS_SUCCESS);
    assert_int_equal(id.IndexNumber.QuadPart, (LONGLONG)st.st_ino);
    UCHAR all[200];
    assert_int_equal(ZwQueryInformationFile(h, &iosb, all, sizeof all, FileAllInformation),
                     STATUS_NOT_IMPLEMENTED); /* a valid class kmrig does not answer, logged */
    assert_non_null(strstr(LogText, "information class 18 is not implemented"));
    ZwClose(h);
}

static void test_zw_set_information_file_on_host_files(void **state)
{
    SANDBOX *s = *state;
    host_write(host_path(s, "set.txt"), "0123456789");
    HANDLE h, h2;
    IO_STATUS_BLOCK iosb;
    assert_int_equal(open_file(L"\\??\\C:\\set.txt",
                               RW | FILE_WRITE_ATTRIBUTES | FILE_READ_ATTRIBUTES, 0, FILE_OPEN,
                               SYNC, &h, &iosb),
                     STATUS_SUCCESS);
    FILE_END_OF_FILE_INFORMATION eof = {{.QuadPart = 4}};
    assert_int_equal(ZwSetInformationFile(h, &iosb, &eof, sizeof eof, FileEndOfFileInformation),
                     STATUS_SUCCESS);
    assert_int_equal(host_size(host_path(s, "set.txt")), 4);
    eof.EndOfFile.QuadPart = 4096;
    assert_int_equal(ZwSetInformationFile(h, &iosb, &eof, sizeof eof, FileEndOfFileInformation),
                     STATUS_SUCCESS);
    assert_int_equal(host_size(host_path(s, "set.txt")), 4096);
    FILE_ALLOCATION_INFORMATION alloc = {{.QuadPart = 100}};
    assert_int_equal(
        ZwSetInformationFile(h, &iosb, &alloc, sizeof alloc, FileAllocationInformation),
        STATUS_SUCCESS);
    assert_int_equal(host_size(host_path(s, "set.txt")), 100); /* less than EOF: truncates */
    FILE_BASIC_INFORMATION basic = {0};
    basic.LastWriteTime.QuadPart = 116444736000000000LL + 1234567890LL * 10000000;
    basic.FileAttributes = FILE_ATTRIBUTE_READONLY;
    assert_int_equal(ZwSetInformationFile(h, &iosb, &basic, sizeof basic, FileBasicInformation),
                     STATUS_SUCCESS);
    struct stat st;
    stat(host_path(s, "set.txt"), &st);
    assert_int_equal(st.st_mtim.tv_sec, 1234567890);
    assert_int_equal(st.st_mode & 0222, 0);
    FILE_BASIC_INFORMATION back;
    assert_int_equal(ZwQueryInformationFile(h, &iosb, &back, sizeof back, FileBasicInformation),
                     STATUS_SUCCESS);
    assert_int_equal(back.FileAttributes, FILE_ATTRIBUTE_READONLY);
    assert_int_equal(back.LastWriteTime.QuadPart, basic.LastWriteTime.QuadPart);
    /* Read-only now: no new writer, whoever the host user is. */
    assert_int_equal(open_file(L"\\??\\C:\\set.txt", RW, FILE_SHARE_READ | FILE_SHARE_WRITE,
                               FILE_OPEN, SYNC, &h2, &iosb),
                     STATUS_ACCESS_DENIED);
    basic.FileAttributes = FILE_ATTRIBUTE_NORMAL;
    basic.LastWriteTime.QuadPart = 0; /* unchanged */
    assert_int_equal(ZwSetInformationFile(h, &iosb, &basic, sizeof basic, FileBasicInformation),
                     STATUS_SUCCESS);
    stat(host_path(s, "set.txt"), &st);
    assert_int_equal(st.st_mtim.tv_sec, 1234567890);
    assert_true(st.st_mode & 0200);
    FILE_RENAME_INFORMATION link = {0};
    assert_int_equal(ZwSetInformationFile(h, &iosb, &link, sizeof link, FileLinkInformation),
                     STATUS_INVALID_PARAMETER); /* empty name */
    ZwClose(h);
    /* Without FILE_WRITE_ATTRIBUTES / FILE_WRITE_DATA. */
    assert_int_equal(open_file(L"\\??\\C:\\set.txt", FILE_READ_DATA | SYNCHRONIZE, 0, FILE_OPEN,
                               SYNC, &h, &iosb),
                     STATUS_SUCCESS);
    assert_int_equal(ZwSetInformationFile(h, &iosb, &basic, sizeof basic, FileBasicInformation),
                     STATUS_ACCESS_DENIED);
    assert_int_equal(ZwSetInformationFile(h, &iosb, &eof, sizeof eof, FileEndOfFileInformation),
                     STATUS_ACCESS_DENIED);
    ZwClose(h);
}

static NTSTATUS set_delete(HANDLE h, BOOLEAN Delete)
{
    FILE_DISPOSITION_INFORMATION d = {Delete};
    IO_STATUS_BLOCK iosb;
    return ZwSetInformationFile(h, &iosb, &d, sizeof d, FileDispositionInformation);
}

static void test_zw_set_information_file_deletes_on_the_last_close(void **state)
{
    SANDBOX *s = *state;
    host_write(host_path(s, "del.txt"), "x");
    HANDLE a, b, c;
    IO_STATUS_BLOCK iosb;
    assert_int_equal(open_file(L"\\??\\C:\\del.txt", FILE_READ_DATA | SYNCHRONIZE,
                               FILE_SHARE_READ | FILE_SHARE_DELETE, FILE_OPEN, SYNC, &a, &iosb),
                     STATUS_SUCCESS);
    assert_int_equal(set_delete(a, TRUE), STATUS_ACCESS_DENIED); /* no DELETE access */
    assert_int_equal(open_file(L"\\??\\C:\\del.txt", DELETE | SYNCHRONIZE,
                               FILE_SHARE_READ | FILE_SHARE_DELETE, FILE_OPEN, SYNC, &b, &iosb),
                     STATUS_SUCCESS);
    assert_int_equal(set_delete(b, TRUE), STATUS_SUCCESS);
    FILE_STANDARD_INFORMATION std;
    assert_int_equal(ZwQueryInformationFile(a, &iosb, &std, sizeof std, FileStandardInformation),
                     STATUS_SUCCESS);
    assert_true(std.DeletePending);
    assert_int_equal(open_file(L"\\??\\C:\\del.txt", FILE_READ_DATA | SYNCHRONIZE,
                               FILE_SHARE_READ | FILE_SHARE_DELETE, FILE_OPEN, SYNC, &c, &iosb),
                     STATUS_DELETE_PENDING);
    ZwClose(b);
    assert_int_equal(host_size(host_path(s, "del.txt")), 1); /* a is still open */
    ZwClose(a);
    assert_int_equal(host_size(host_path(s, "del.txt")), -1);
    /* Undone before the close: kept. */
    host_write(host_path(s, "keep.txt"), "x");
    assert_int_equal(
        open_file(L"\\??\\C:\\keep.txt", DELETE | SYNCHRONIZE, 0, FILE_OPEN, SYNC, &a, &iosb),
        STATUS_SUCCESS);
    assert_int_equal(set_delete(a, TRUE), STATUS_SUCCESS);
    assert_int_equal(set_delete(a, FALSE), STATUS_SUCCESS);
    ZwClose(a);
    assert_int_equal(host_size(host_path(s, "keep.txt")), 1);
    /* FILE_DELETE_ON_CLOSE */
    assert_int_equal(open_file(L"\\??\\C:\\temp.txt", RW | DELETE, 0, FILE_CREATE,
                               SYNC | FILE_DELETE_ON_CLOSE, &a, &iosb),
                     STATUS_SUCCESS);
    assert_int_equal(host_size(host_path(s, "temp.txt")), 0);
    FILE_MODE_INFORMATION mode;
    assert_int_equal(ZwQueryInformationFile(a, &iosb, &mode, sizeof mode, FileModeInformation),
                     STATUS_SUCCESS);
    assert_int_equal(mode.Mode, SYNC | FILE_DELETE_ON_CLOSE);
    ZwClose(a);
    assert_int_equal(host_size(host_path(s, "temp.txt")), -1);
    /* A directory that is not empty cannot be deleted. */
    assert_int_equal(mkdir(host_path(s, "full"), 0755), 0);
    host_write(host_path(s, "full/x"), "x");
    assert_int_equal(open_file(L"\\??\\C:\\full", DELETE | SYNCHRONIZE, 0, FILE_OPEN,
                               SYNC | FILE_DIRECTORY_FILE, &a, &iosb),
                     STATUS_SUCCESS);
    assert_int_equal(set_delete(a, TRUE), STATUS_DIRECTORY_NOT_EMPTY);
    ZwClose(a);
    assert_int_equal(open_file(L"\\??\\C:\\", DELETE | SYNCHRONIZE, 0, FILE_OPEN, SYNC, &a, &iosb),
                     STATUS_SUCCESS);
    assert_int_equal(set_delete(a, TRUE), STATUS_CANNOT_DELETE); /* the root */
    ZwClose(a);
}

static NTSTATUS rename_to(HANDLE h, PCWSTR Name, BOOLEAN Replace, HANDLE Root)
{
    struct {
        FILE_RENAME_INFORMATION Info;
        WCHAR More[128];
    } r;
    memset(&r, 0, sizeof r);
    r.Info.ReplaceIfExists = Replace;
    r.Info.RootDirectory = Root;
    ULONG n = 0;
    while (Name[n])
        n++;
    r.Info.FileNameLength = n * sizeof(WCHAR);
    memcpy(r.Info.FileName, Name, n * sizeof(WCHAR));
    IO_STATUS_BLOCK iosb;
    return ZwSetInformationFile(h, &iosb, &r, sizeof r, FileRenameInformation);
}

static void test_zw_set_information_file_renames_within_the_sandbox(void **state)
{
    SANDBOX *s = *state;
    assert_int_equal(mkdir(host_path(s, "to"), 0755), 0);
    host_write(host_path(s, "old.txt"), "old");
    host_write(host_path(s, "taken.txt"), "taken");
    HANDLE h, other, dir;
    IO_STATUS_BLOCK iosb;
    assert_int_equal(open_file(L"\\??\\C:\\old.txt", FILE_READ_DATA | SYNCHRONIZE, 0, FILE_OPEN,
                               SYNC, &h, &iosb),
                     STATUS_SUCCESS);
    assert_int_equal(rename_to(h, L"new.txt", FALSE, NULL), STATUS_ACCESS_DENIED); /* no DELETE */
    ZwClose(h);
    assert_int_equal(open_file(L"\\??\\C:\\old.txt", DELETE | FILE_READ_DATA | SYNCHRONIZE, 0,
                               FILE_OPEN, SYNC, &h, &iosb),
                     STATUS_SUCCESS);
    assert_int_equal(rename_to(h, L"new.txt", FALSE, NULL), STATUS_SUCCESS); /* same directory */
    assert_int_equal(host_size(host_path(s, "old.txt")), -1);
    assert_int_equal(host_size(host_path(s, "new.txt")), 3);
    assert_int_equal(rename_to(h, L"taken.txt", FALSE, NULL), STATUS_OBJECT_NAME_COLLISION);
    assert_int_equal(rename_to(h, L"\\??\\C:\\to\\moved.txt", FALSE, NULL), STATUS_SUCCESS);
    assert_int_equal(host_size(host_path(s, "to/moved.txt")), 3);
    struct {
        FILE_NAME_INFORMATION Info;
        WCHAR More[63];
    } name;
    assert_int_equal(ZwQueryInformationFile(h, &iosb, &name, sizeof name, FileNameInformation),
                     STATUS_SUCCESS);
    assert_memory_equal(name.Info.FileName, L"\\to\\moved.txt", 26);
    assert_int_equal(rename_to(h, L"\\??\\C:\\..\\escaped.txt", FALSE, NULL),
                     STATUS_OBJECT_NAME_INVALID);
    assert_int_equal(rename_to(h, L"a\\b.txt", FALSE, NULL), STATUS_INVALID_PARAMETER);
    assert_int_equal(open_file(L"\\??\\C:\\", FILE_LIST_DIRECTORY | SYNCHRONIZE, FILE_SHARE_READ,
                               FILE_OPEN, SYNC, &dir, &iosb),
                     STATUS_SUCCESS);
    assert_int_equal(rename_to(h, L"taken.txt", TRUE, dir), STATUS_SUCCESS); /* replaces */
    assert_int_equal(host_size(host_path(s, "taken.txt")), 3);
    assert_int_equal(host_size(host_path(s, "to/moved.txt")), -1);
    /* A target someone has open is not replaced. */
    host_write(host_path(s, "busy.txt"), "busy");
    assert_int_equal(open_file(L"\\??\\C:\\busy.txt", FILE_READ_DATA | SYNCHRONIZE, FILE_SHARE_READ,
                               FILE_OPEN, SYNC, &other, &iosb),
                     STATUS_SUCCESS);
    assert_int_equal(rename_to(h, L"busy.txt", TRUE, NULL), STATUS_ACCESS_DENIED);
    ZwClose(other);
    ZwClose(dir);
    ZwClose(h);
    /* Another device is not the same volume. */
    fdev_load(s->Rt, 0, FALSE);
    assert_int_equal(
        open_file(L"\\??\\C:\\taken.txt", DELETE | SYNCHRONIZE, 0, FILE_OPEN, SYNC, &h, &iosb),
        STATUS_SUCCESS);
    assert_int_equal(rename_to(h, L"\\Device\\FileDev0\\x", FALSE, NULL), STATUS_NOT_SAME_DEVICE);
    ZwClose(h);
}

static void test_zw_create_file_share_access_between_host_handles(void **state)
{
    SANDBOX *s = *state;
    host_write(host_path(s, "share.txt"), "x");
    HANDLE a, b;
    IO_STATUS_BLOCK iosb;
    PCWSTR n = L"\\??\\C:\\share.txt";
    assert_int_equal(
        open_file(n, FILE_READ_DATA | SYNCHRONIZE, FILE_SHARE_READ, FILE_OPEN, SYNC, &a, &iosb),
        STATUS_SUCCESS);
    assert_int_equal(open_file(n, RW, FILE_SHARE_READ, FILE_OPEN, SYNC, &b, &iosb),
                     STATUS_SHARING_VIOLATION); /* a does not share writing */
    assert_int_equal(open_file(n, FILE_READ_DATA | SYNCHRONIZE, 0, FILE_OPEN, SYNC, &b, &iosb),
                     STATUS_SHARING_VIOLATION); /* b would not share reading with a */
    assert_int_equal(
        open_file(n, FILE_READ_DATA | SYNCHRONIZE, FILE_SHARE_READ, FILE_OPEN, SYNC, &b, &iosb),
        STATUS_SUCCESS);
    ZwClose(b);
    assert_int_equal(
        open_file(n, FILE_READ_ATTRIBUTES | SYNCHRONIZE, 0, FILE_OPEN, SYNC, &b, &iosb),
        STATUS_SUCCESS); /* attributes only: no share check */
    ZwClose(b);
    ZwClose(a);
    assert_int_equal(open_file(n, RW, 0, FILE_OPEN, SYNC, &a, &iosb), STATUS_SUCCESS);
    ZwClose(a);
}

/* Every name here must fail and leave both the sandbox and the world outside it untouched. */
static void test_zw_create_file_cannot_escape_the_sandbox(void **state)
{
    SANDBOX *s = *state;
    char outside[128], secret[160];
    snprintf(outside, sizeof outside, "%s", s->Outside);
    snprintf(secret, sizeof secret, "%s/secret.txt", outside);
    host_write(secret, "secret");
    assert_int_equal(mkdir(host_path(s, "sub"), 0755), 0);
    assert_int_equal(symlink(outside, host_path(s, "outdir")), 0);   /* a directory link out */
    assert_int_equal(symlink(secret, host_path(s, "outfile")), 0);   /* a file link out */
    assert_int_equal(symlink("/", host_path(s, "sub/rootlink")), 0); /* deeper */
    assert_int_equal(symlink("sub", host_path(s, "inlink")), 0);     /* even one pointing inside */
    assert_int_equal(mkfifo(host_path(s, "fifo"), 0644), 0);
    static const struct {
        PCWSTR Name;
        NTSTATUS Status;
    } names[] = {
        {L"\\??\\C:\\..\\escape.txt", STATUS_OBJECT_NAME_INVALID},
        {L"\\??\\C:\\sub\\..\\..\\escape.txt", STATUS_OBJECT_NAME_INVALID},
        {L"\\??\\C:\\sub\\..\\escape.txt", STATUS_OBJECT_NAME_INVALID},
        {L"\\??\\C:\\.\\escape.txt", STATUS_OBJECT_NAME_INVALID},
        {L"\\??\\C:\\sub\\\\escape.txt", STATUS_OBJECT_NAME_INVALID},
        {L"\\??\\C:\\/etc/escape.txt", STATUS_OBJECT_NAME_INVALID},
        {L"\\??\\C:\\sub/../../escape.txt", STATUS_OBJECT_NAME_INVALID},
        {L"\\??\\C:\\escape.txt:stream", STATUS_OBJECT_NAME_INVALID},
        {L"\\??\\C:\\escape.txt::$DATA", STATUS_OBJECT_NAME_INVALID},
        {L"\\??\\C:\\esc*pe.txt", STATUS_OBJECT_NAME_INVALID},
        {L"\\??\\C:\\outdir\\escape.txt", STATUS_ACCESS_DENIED},
        {L"\\??\\C:\\outdir\\secret.txt", STATUS_ACCESS_DENIED},
        {L"\\??\\C:\\outfile", STATUS_ACCESS_DENIED},
        {L"\\??\\C:\\sub\\rootlink\\tmp\\escape.txt", STATUS_ACCESS_DENIED},
        {L"\\??\\C:\\inlink\\escape.txt", STATUS_ACCESS_DENIED},
        {L"\\??\\C:\\fifo", STATUS_ACCESS_DENIED},
        {L"\\??\\UNC\\server\\share\\escape.txt", STATUS_OBJECT_PATH_NOT_FOUND},
        {L"\\??\\/tmp/escape.txt", STATUS_OBJECT_NAME_NOT_FOUND},
        {L"\\??\\D:\\escape.txt", STATUS_OBJECT_PATH_NOT_FOUND},
    };
    static const ULONG dispositions[] = {FILE_OPEN, FILE_CREATE, FILE_OPEN_IF, FILE_OVERWRITE_IF,
                                         FILE_SUPERSEDE};
    for (size_t i = 0; i < ARRAYSIZE(names); i++)
        for (size_t k = 0; k < ARRAYSIZE(dispositions); k++) {
            HANDLE h;
            IO_STATUS_BLOCK iosb;
            NTSTATUS st = open_file(names[i].Name, RW, 0, dispositions[k], SYNC, &h, &iosb);
            if (st != names[i].Status)
                fail_msg("name %zu disposition %lu: 0x%08X, expected 0x%08X", i,
                         (unsigned long)dispositions[k], (unsigned)st, (unsigned)names[i].Status);
            assert_null(h);
        }
    /* A directory link out, opened as a directory. */
    HANDLE h;
    IO_STATUS_BLOCK iosb;
    assert_int_equal(open_file(L"\\??\\C:\\outdir", FILE_LIST_DIRECTORY | SYNCHRONIZE, 0, FILE_OPEN,
                               SYNC | FILE_DIRECTORY_FILE, &h, &iosb),
                     STATUS_ACCESS_DENIED);
    /* Nothing was made or changed out there, or in here. */
    assert_int_equal(host_size(secret), 6);
    char probe[200];
    snprintf(probe, sizeof probe, "%s/escape.txt", outside);
    assert_int_equal(host_size(probe), -1);
    assert_int_equal(host_size("/tmp/escape.txt"), -1);
    assert_int_equal(host_size(host_path(s, "escape.txt")), -1);
    assert_int_equal(host_size(host_path(s, "sub/escape.txt")), -1);
    assert_non_null(strstr(LogText, "symbolic link")); /* the refusals were logged */
    assert_non_null(strstr(LogText, "\"fifo\" is neither a file nor a directory"));
#ifdef TEST_NO_OPENAT2
    assert_true(Openat2Refused > 0); /* the walk without openat2 was the one tested */
#endif
}

static void test_zw_create_file_refuses_nul_and_overlong_names(void **state)
{
    SANDBOX *s = *state;
    HANDLE h;
    IO_STATUS_BLOCK iosb;
    static const WCHAR nul[] = L"\\??\\C:\\a\0b.txt";
    assert_int_equal(
        open_name(nul, sizeof nul - sizeof(WCHAR), NULL, RW, 0, FILE_CREATE, SYNC, &h, &iosb),
        STATUS_OBJECT_NAME_INVALID);
    assert_int_equal(host_size(host_path(s, "a")), -1);
    static const WCHAR odd[] = L"\\??\\C:\\x";
    assert_int_equal(open_name(odd, sizeof odd - 3, NULL, RW, 0, FILE_CREATE, SYNC, &h, &iosb),
                     STATUS_OBJECT_NAME_INVALID); /* an odd byte length */
    /* One component longer than 255 characters. */
    static WCHAR longname[8 + 300 + 1];
    memcpy(longname, L"\\??\\C:\\", 7 * sizeof(WCHAR));
    for (int i = 0; i < 300; i++)
        longname[7 + i] = L'a';
    assert_int_equal(
        open_name(longname, (7 + 300) * sizeof(WCHAR), NULL, RW, 0, FILE_CREATE, SYNC, &h, &iosb),
        STATUS_OBJECT_NAME_INVALID);
    /* A path longer than the host takes (PATH_MAX), of valid components. */
    static WCHAR deep[7 + 20 * 250];
    memcpy(deep, L"\\??\\C:", 6 * sizeof(WCHAR));
    USHORT n = 6;
    for (int c = 0; c < 20; c++) {
        deep[n++] = L'\\';
        for (int i = 0; i < 249; i++)
            deep[n++] = L'd';
    }
    assert_int_equal(open_name(deep, n * sizeof(WCHAR), NULL, RW, 0, FILE_CREATE, SYNC, &h, &iosb),
                     STATUS_NAME_TOO_LONG);
    /* An unpaired surrogate is not a name; a paired one is. */
    static const WCHAR lone[] = L"\\??\\C:\\\xD800x";
    assert_int_equal(
        open_name(lone, sizeof lone - sizeof(WCHAR), NULL, RW, 0, FILE_CREATE, SYNC, &h, &iosb),
        STATUS_OBJECT_NAME_INVALID);
    static const WCHAR pair[] = L"\\??\\C:\\\xD83D\xDE00.txt";
    assert_int_equal(
        open_name(pair, sizeof pair - sizeof(WCHAR), NULL, RW, 0, FILE_CREATE, SYNC, &h, &iosb),
        STATUS_SUCCESS);
    ZwClose(h);
    assert_int_equal(host_size(host_path(s, "\xF0\x9F\x98\x80.txt")), 0);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_zw_create_file_opens_a_device_through_a_dos_link),
    cmocka_unit_test(test_zw_close_sends_close_only_when_the_last_reference_goes),
    cmocka_unit_test(test_zw_close_releases_the_related_file_object_of_a_relative_open),
    cmocka_unit_test(test_zw_create_file_rejects_bad_parameters),
    cmocka_unit_test(test_zw_create_file_reports_names_that_do_not_resolve),
    cmocka_unit_test(test_zw_read_write_file_honour_the_device_buffering),
    cmocka_unit_test(test_zw_read_file_on_a_synchronous_handle_keeps_the_position),
    cmocka_unit_test(test_zw_read_file_on_an_asynchronous_handle_pends_and_signals_the_event),
    cmocka_unit_test(test_zw_read_file_serialises_a_synchronous_file_object),
    cmocka_unit_test(test_zw_read_write_file_refuse_apc_routines_and_other_handles),
    cmocka_unit_test(test_zw_create_file_share_access_is_the_drivers_and_exclusive_devices_refuse),
    cmocka_unit_test(test_zw_query_set_information_file_check_class_and_length),
    cmocka_unit_test(test_zw_file_routines_are_passive_level_only),
    cmocka_unit_test(test_zw_create_file_without_a_sandbox_refuses_host_files),
    cmocka_unit_test_setup_teardown(test_zw_create_file_dispositions_on_host_files, sandbox_setup,
                                    sandbox_teardown),
    cmocka_unit_test_setup_teardown(test_zw_read_write_file_on_host_files, sandbox_setup,
                                    sandbox_teardown),
    cmocka_unit_test_setup_teardown(test_zw_create_file_directories_and_relative_opens,
                                    sandbox_setup, sandbox_teardown),
    cmocka_unit_test_setup_teardown(test_zw_query_information_file_on_host_files, sandbox_setup,
                                    sandbox_teardown),
    cmocka_unit_test_setup_teardown(test_zw_set_information_file_on_host_files, sandbox_setup,
                                    sandbox_teardown),
    cmocka_unit_test_setup_teardown(test_zw_set_information_file_deletes_on_the_last_close,
                                    sandbox_setup, sandbox_teardown),
    cmocka_unit_test_setup_teardown(test_zw_set_information_file_renames_within_the_sandbox,
                                    sandbox_setup, sandbox_teardown),
    cmocka_unit_test_setup_teardown(test_zw_create_file_share_access_between_host_handles,
                                    sandbox_setup, sandbox_teardown),
    cmocka_unit_test_setup_teardown(test_zw_create_file_cannot_escape_the_sandbox, sandbox_setup,
                                    sandbox_teardown),
    cmocka_unit_test_setup_teardown(test_zw_create_file_refuses_nul_and_overlong_names,
                                    sandbox_setup, sandbox_teardown),
};
KMTEST_MAIN(tests)

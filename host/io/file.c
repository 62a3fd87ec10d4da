/*
 * Files: ZwCreateFile, ZwReadFile, ZwWriteFile, ZwQueryInformationFile, ZwSetInformationFile,
 * and the close of a file handle (IRP_MJ_CLEANUP when its last handle goes).
 *
 * The I/O manager side only: a name is resolved through the object name space to a device
 * object (a device of a driver, or the host file system's volume, host/io/hostfs.c), a FILE_OBJECT
 * is made and IRP_MJ_CREATE sent to the top of that device's stack; reads, writes and the
 * information requests are IRPs on the file object, buffered, direct (an MDL) or neither as the
 * device's Flags say. Handles are kernel handles (the instance has only kernel handles).
 *
 * Synchronous file objects (FILE_SYNCHRONOUS_IO_ALERT/NONALERT) serialise their requests on the
 * file object's lock (Busy/Waiters/Lock, as NT) and keep CurrentByteOffset: a read or write at
 * the current position (ByteOffset NULL or FILE_USE_FILE_POINTER_POSITION) starts there, and
 * every successful one at an explicit offset leaves the position after the bytes moved. Requests on
 * other file objects need an explicit ByteOffset, return what the driver returned
 * (STATUS_PENDING included) and signal the caller's event, or the file object's own event, when
 * the request completes; until then the IRP holds the file object and the event
 * (IOP_IRP_HOLDS_REFERENCES), so the caller may close both handles first. There is no APC model: an
 * ApcRoutine is refused (STATUS_NOT_SUPPORTED, logged).
 */
#include "io.h"

#include <stdlib.h>
#include <string.h>

/* ---- the file object lock of synchronous file objects ---- */

static VOID IopLockFile(PFILE_OBJECT f)
{
    if (!(f->Flags & FO_SYNCHRONOUS_IO))
        return;
    InterlockedIncrement((volatile LONG *)&f->Waiters);
    while (InterlockedExchange((volatile LONG *)&f->Busy, 1))
        KeWaitForSingleObject(&f->Lock, Executive, KernelMode, FALSE, NULL);
    InterlockedDecrement((volatile LONG *)&f->Waiters);
}

static VOID IopUnlockFile(PFILE_OBJECT f)
{
    if (!(f->Flags & FO_SYNCHRONOUS_IO))
        return;
    InterlockedExchange((volatile LONG *)&f->Busy, 0);
    if (f->Waiters)
        KeSetEvent(&f->Lock, IO_NO_INCREMENT, FALSE);
}

/* ---- handles ---- */

static NTSTATUS IopReferenceFileHandle(HANDLE Handle, PFILE_OBJECT *File, ACCESS_MASK *Granted)
{
    OBJECT_HANDLE_INFORMATION info;
    PVOID obj;
    NTSTATUS s = ObReferenceObjectByHandle(Handle, 0, *IoFileObjectType, KernelMode, &obj, &info);
    if (!NT_SUCCESS(s))
        return s;
    *File = obj;
    if (Granted)
        *Granted = info.GrantedAccess;
    return STATUS_SUCCESS;
}

VOID IopCloseFileHandle(PVOID Object)
{
    PFILE_OBJECT f = Object;
    if (!(f->Flags & FO_FILE_OPEN) || (f->Flags & FO_CLEANUP_COMPLETE))
        return;
    IopLockFile(f);
    IopSendSimpleIrp(IoGetRelatedDeviceObject(f), f, IRP_MJ_CLEANUP);
    f->Flags |= FO_CLEANUP_COMPLETE;
    IopUnlockFile(f);
}

/* ---- ZwCreateFile ---- */

static NTSTATUS IopCheckCreateParameters(ACCESS_MASK Access, ULONG FileAttributes,
                                         ULONG ShareAccess, ULONG Disposition, ULONG Options)
{
    if (Disposition > FILE_MAXIMUM_DISPOSITION || (Options & ~FILE_VALID_OPTION_FLAGS) ||
        (FileAttributes & ~FILE_ATTRIBUTE_VALID_FLAGS) || (ShareAccess & ~FILE_SHARE_VALID_FLAGS))
        return STATUS_INVALID_PARAMETER;
    ULONG sync = Options & (FILE_SYNCHRONOUS_IO_ALERT | FILE_SYNCHRONOUS_IO_NONALERT);
    if (sync == (FILE_SYNCHRONOUS_IO_ALERT | FILE_SYNCHRONOUS_IO_NONALERT))
        return STATUS_INVALID_PARAMETER;
    if (sync && !(Access & SYNCHRONIZE))
        return STATUS_INVALID_PARAMETER;
    if ((Options & FILE_DIRECTORY_FILE) &&
        ((Options & FILE_NON_DIRECTORY_FILE) ||
         (Disposition != FILE_CREATE && Disposition != FILE_OPEN && Disposition != FILE_OPEN_IF)))
        return STATUS_INVALID_PARAMETER;
    if ((Options & FILE_DELETE_ON_CLOSE) && !(Access & DELETE))
        return STATUS_INVALID_PARAMETER;
    if ((Options & FILE_NO_INTERMEDIATE_BUFFERING) && (Access & FILE_APPEND_DATA))
        return STATUS_INVALID_PARAMETER;
    if ((Options & FILE_COMPLETE_IF_OPLOCKED) && (Options & FILE_RESERVE_OPFILTER))
        return STATUS_INVALID_PARAMETER;
    return STATUS_SUCCESS;
}

static ULONG IopFileFlagsOf(ULONG Options)
{
    ULONG flags = 0;
    if (Options & (FILE_SYNCHRONOUS_IO_ALERT | FILE_SYNCHRONOUS_IO_NONALERT))
        flags |= FO_SYNCHRONOUS_IO;
    if (Options & FILE_SYNCHRONOUS_IO_ALERT)
        flags |= FO_ALERTABLE_IO;
    if (Options & FILE_NO_INTERMEDIATE_BUFFERING)
        flags |= FO_NO_INTERMEDIATE_BUFFERING;
    if (Options & FILE_WRITE_THROUGH)
        flags |= FO_WRITE_THROUGH;
    if (Options & FILE_SEQUENTIAL_ONLY)
        flags |= FO_SEQUENTIAL_ONLY;
    if (Options & FILE_RANDOM_ACCESS)
        flags |= FO_RANDOM_ACCESS;
    if (Options & FILE_DELETE_ON_CLOSE)
        flags |= FO_DELETE_ON_CLOSE;
    return flags;
}

/* Finds the device a create goes to: through the name space, or the device of RootDirectory
 * when that is a file handle (a relative open). *Name receives the name the file object keeps
 * (malloc'd, possibly empty). */
static NTSTATUS IopResolveCreateName(struct kmrig_runtime *rt, POBJECT_ATTRIBUTES Attributes,
                                     PDEVICE_OBJECT *Device, PFILE_OBJECT *Related,
                                     PUNICODE_STRING Name)
{
    PUNICODE_STRING n = Attributes->ObjectName;
    *Device = NULL;
    *Related = NULL;
    Name->Buffer = NULL;
    Name->Length = Name->MaximumLength = 0;
    if (!n || (n->Length & 1) || (n->Length && !n->Buffer) || n->Length > n->MaximumLength)
        return STATUS_OBJECT_NAME_INVALID;
    PVOID root = NULL, obj = NULL;
    if (Attributes->RootDirectory) {
        NTSTATUS s =
            ObReferenceObjectByHandle(Attributes->RootDirectory, 0, NULL, KernelMode, &root, NULL);
        if (!NT_SUCCESS(s))
            return s;
        if (OBJECT_TO_OBJECT_HEADER(root)->Type == &ObpFileType) {
            PFILE_OBJECT rf = root;
            if (n->Length && n->Buffer[0] == L'\\') {
                ObfDereferenceObject(rf);
                return STATUS_OBJECT_PATH_SYNTAX_BAD;
            }
            Name->Buffer = malloc(n->Length + sizeof(WCHAR));
            if (!Name->Buffer) {
                ObfDereferenceObject(rf);
                return STATUS_INSUFFICIENT_RESOURCES;
            }
            memcpy(Name->Buffer, n->Buffer, n->Length);
            Name->Length = n->Length;
            Name->MaximumLength = (USHORT)(n->Length + sizeof(WCHAR));
            ObfReferenceObject(rf->DeviceObject);
            *Device = rf->DeviceObject;
            *Related = rf; /* the reference is the new file object's */
            return STATUS_SUCCESS;
        }
    }
    NTSTATUS s =
        ObpLookupObjectName(rt, n, root, Attributes->Attributes & OBJ_OPENLINK, &obj, Name);
    if (root)
        ObfDereferenceObject(root);
    if (!NT_SUCCESS(s))
        return s;
    if (OBJECT_TO_OBJECT_HEADER(obj)->Type != &ObpDeviceType) {
        free(Name->Buffer);
        Name->Buffer = NULL;
        Name->Length = Name->MaximumLength = 0;
        ObfDereferenceObject(obj);
        return STATUS_OBJECT_TYPE_MISMATCH;
    }
    *Device = obj;
    return STATUS_SUCCESS;
}

NTSTATUS NTAPI ZwCreateFile(PHANDLE FileHandle, ACCESS_MASK DesiredAccess,
                            POBJECT_ATTRIBUTES ObjectAttributes, PIO_STATUS_BLOCK IoStatusBlock,
                            PLARGE_INTEGER AllocationSize, ULONG FileAttributes, ULONG ShareAccess,
                            ULONG CreateDisposition, ULONG CreateOptions, PVOID EaBuffer,
                            ULONG EaLength)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    struct kmrig_runtime *rt = IopRuntime();
    if (!FileHandle || !ObjectAttributes || !IoStatusBlock)
        return STATUS_INVALID_PARAMETER;
    *FileHandle = NULL;
    if (ObjectAttributes->Length != sizeof(OBJECT_ATTRIBUTES))
        return STATUS_INVALID_PARAMETER;
    if (EaLength && !EaBuffer)
        return STATUS_INVALID_PARAMETER;
    ACCESS_MASK access = DesiredAccess;
    RtlMapGenericMask(&access, IoGetFileObjectGenericMapping());
    NTSTATUS s = IopCheckCreateParameters(access, FileAttributes, ShareAccess, CreateDisposition,
                                          CreateOptions);
    if (!NT_SUCCESS(s))
        return s;
    if (!(ObjectAttributes->Attributes & OBJ_KERNEL_HANDLE))
        KmLog(rt, KMRIG_LOG_WARN,
              "ZwCreateFile: OBJ_KERNEL_HANDLE not set (on NT the handle would be the current "
              "process's); kmrig makes a kernel handle");

    PDEVICE_OBJECT d;
    PFILE_OBJECT related;
    UNICODE_STRING name;
    s = IopResolveCreateName(rt, ObjectAttributes, &d, &related, &name);
    if (!NT_SUCCESS(s))
        return s;
    if ((d->Flags & DO_DEVICE_INITIALIZING) ||
        (d->DeviceObjectExtension->ExtensionFlags &
         (DOE_DELETE_PENDING | DOE_UNLOAD_PENDING | DOE_REMOVE_PENDING | DOE_REMOVE_PROCESSED)))
        s = STATUS_NO_SUCH_DEVICE;
    else if ((d->Flags & DO_EXCLUSIVE) && d->ReferenceCount)
        s = STATUS_ACCESS_DENIED;
    PFILE_OBJECT f = NT_SUCCESS(s) ? ObpCreateObject(rt, &ObpFileType, sizeof(FILE_OBJECT)) : NULL;
    if (NT_SUCCESS(s) && !f)
        s = STATUS_INSUFFICIENT_RESOURCES;
    if (!NT_SUCCESS(s)) {
        free(name.Buffer);
        if (related)
            ObfDereferenceObject(related);
        ObfDereferenceObject(d);
        return s;
    }
    f->Type = IO_TYPE_FILE;
    f->Size = sizeof(FILE_OBJECT);
    f->DeviceObject = d; /* the lookup's reference is the file object's */
    f->FileName = name;
    f->RelatedFileObject = related;
    f->Flags = IopFileFlagsOf(CreateOptions);
    KeInitializeEvent(&f->Lock, SynchronizationEvent, FALSE);
    KeInitializeEvent(&f->Event, NotificationEvent, FALSE);
    KeInitializeSpinLock(&f->IrpListLock);
    InitializeListHead(&f->IrpList);
    InterlockedIncrement(&d->ReferenceCount);

    PDEVICE_OBJECT top = IoGetRelatedDeviceObject(f);
    KEVENT ev;
    IO_STATUS_BLOCK iosb = {{STATUS_SUCCESS}, 0};
    IO_SECURITY_CONTEXT sc = {NULL, NULL, access, CreateOptions};
    KeInitializeEvent(&ev, NotificationEvent, FALSE);
    PIRP irp = IoAllocateIrp(top->StackSize, FALSE);
    if (!irp) {
        s = STATUS_INSUFFICIENT_RESOURCES;
    } else {
        irp->UserEvent = &ev;
        irp->UserIosb = &iosb;
        irp->Tail.Overlay.Thread = (PETHREAD)KeGetCurrentThread();
        irp->Tail.Overlay.OriginalFileObject = f;
        irp->RequestorMode = KernelMode;
        irp->Flags = IRP_SYNCHRONOUS_API | IRP_CREATE_OPERATION;
        irp->AssociatedIrp.SystemBuffer = EaLength ? EaBuffer : NULL;
        irp->Overlay.AllocationSize.QuadPart = AllocationSize ? AllocationSize->QuadPart : 0;
        irp->IoStatus.Status = STATUS_SUCCESS;
        PIO_STACK_LOCATION sl = IoGetNextIrpStackLocation(irp);
        sl->MajorFunction = IRP_MJ_CREATE;
        sl->FileObject = f;
        if (!(ObjectAttributes->Attributes & OBJ_CASE_INSENSITIVE))
            sl->Flags |= SL_CASE_SENSITIVE;
        sl->Parameters.Create.SecurityContext = &sc;
        sl->Parameters.Create.Options = (CreateDisposition << 24) | (CreateOptions & 0x00FFFFFF);
        sl->Parameters.Create.FileAttributes = (USHORT)FileAttributes;
        sl->Parameters.Create.ShareAccess = (USHORT)ShareAccess;
        sl->Parameters.Create.EaLength = EaLength;
        s = IoCallDriver(top, irp);
        if (s == STATUS_PENDING) {
            KeWaitForSingleObject(&ev, Executive, KernelMode, FALSE, NULL);
            s = iosb.Status;
        }
    }
    IoStatusBlock->Status = s;
    IoStatusBlock->Information = iosb.Information;
    if (!NT_SUCCESS(s)) {
        InterlockedDecrement(&d->ReferenceCount);
        ObfDereferenceObject(f); /* not open: no cleanup or close is sent */
        return s;
    }
    f->Flags |= FO_FILE_OPEN | FO_HANDLE_CREATED;
    HANDLE h;
    NTSTATUS hs =
        ObpCreateHandle(rt, f, access, ObjectAttributes->Attributes | OBJ_KERNEL_HANDLE, &h);
    if (!NT_SUCCESS(hs)) {
        IopCloseFileHandle(f);
        ObfDereferenceObject(f);
        IoStatusBlock->Status = hs;
        IoStatusBlock->Information = 0;
        return hs;
    }
    ObfDereferenceObject(f); /* the handle holds it now */
    *FileHandle = h;
    return s;
}

/* ---- ZwReadFile / ZwWriteFile ---- */

static BOOLEAN IopIsSpecialOffset(PLARGE_INTEGER Offset, ULONG Which)
{
    return Offset && Offset->HighPart == -1 && Offset->LowPart == Which;
}

static NTSTATUS IopReadWrite(UCHAR Major, HANDLE FileHandle, HANDLE Event,
                             PIO_APC_ROUTINE ApcRoutine, PIO_STATUS_BLOCK IoStatusBlock,
                             PVOID Buffer, ULONG Length, PLARGE_INTEGER ByteOffset, PULONG Key,
                             const char *Routine)
{
    struct kmrig_runtime *rt = IopRuntime();
    if (ApcRoutine) {
        KmLog(rt, KMRIG_LOG_ERROR,
              "%s: ApcRoutine is not supported in kmrig (no user APCs); pass NULL and use the "
              "event or a synchronous file object",
              Routine);
        return STATUS_NOT_SUPPORTED;
    }
    if (!IoStatusBlock || (Length && !Buffer))
        return STATUS_INVALID_PARAMETER;
    PFILE_OBJECT f;
    ACCESS_MASK granted;
    NTSTATUS s = IopReferenceFileHandle(FileHandle, &f, &granted);
    if (!NT_SUCCESS(s))
        return s;
    PKEVENT event = NULL;
    if (Event) {
        PVOID ev;
        s = ObReferenceObjectByHandle(Event, EVENT_MODIFY_STATE, *ExEventObjectType, KernelMode,
                                      &ev, NULL);
        if (!NT_SUCCESS(s)) {
            ObfDereferenceObject(f);
            return s;
        }
        event = ev;
        KeClearEvent(event);
    }
    BOOLEAN sync = (f->Flags & FO_SYNCHRONOUS_IO) != 0;
    BOOLEAN current = !ByteOffset || IopIsSpecialOffset(ByteOffset, FILE_USE_FILE_POINTER_POSITION);
    BOOLEAN eof =
        Major == IRP_MJ_WRITE && IopIsSpecialOffset(ByteOffset, FILE_WRITE_TO_END_OF_FILE);
    PDEVICE_OBJECT top = IoGetRelatedDeviceObject(f);
    if (current && !sync)
        s = STATUS_INVALID_PARAMETER; /* asynchronous file objects have no current position */
    else if (!current && !eof && ByteOffset->QuadPart < 0)
        s = STATUS_INVALID_PARAMETER;
    if (!NT_SUCCESS(s)) {
        if (event)
            ObfDereferenceObject(event);
        ObfDereferenceObject(f);
        return s;
    }
    IopLockFile(f);
    LARGE_INTEGER offset = current ? f->CurrentByteOffset : *ByteOffset;
    if ((f->Flags & FO_NO_INTERMEDIATE_BUFFERING) && top->SectorSize && !eof &&
        ((offset.QuadPart % top->SectorSize) || (Length % top->SectorSize)))
        s = STATUS_INVALID_PARAMETER;
    KEVENT local;
    IO_STATUS_BLOCK iosb = {{STATUS_SUCCESS}, 0};
    PIRP irp = NULL;
    if (NT_SUCCESS(s)) {
        KeInitializeEvent(&local, NotificationEvent, FALSE);
        if (!sync)
            KeClearEvent(&f->Event);
        irp = IoBuildSynchronousFsdRequest(Major, top, Buffer, Length, &offset,
                                           sync ? &local : (event ? event : &f->Event),
                                           sync ? &iosb : IoStatusBlock);
        if (!irp)
            s = STATUS_INSUFFICIENT_RESOURCES;
    }
    if (!NT_SUCCESS(s)) {
        IopUnlockFile(f);
        if (event)
            ObfDereferenceObject(event);
        ObfDereferenceObject(f);
        return s;
    }
    if (!sync) {
        /* The request may outlive this call: it holds the file object and the event. */
        irp->Flags &= ~IRP_SYNCHRONOUS_API;
        irp->Flags |= IOP_IRP_HOLDS_REFERENCES;
        ObfReferenceObject(f);
        if (event)
            ObfReferenceObject(event);
    }
    irp->Flags |= Major == IRP_MJ_READ ? IRP_READ_OPERATION : IRP_WRITE_OPERATION;
    irp->Tail.Overlay.OriginalFileObject = f;
    PIO_STACK_LOCATION sl = IoGetNextIrpStackLocation(irp);
    sl->FileObject = f;
    sl->Parameters.Read.Key = Key ? *Key : 0;
    if (Major == IRP_MJ_WRITE && (f->Flags & FO_WRITE_THROUGH))
        sl->Flags |= SL_WRITE_THROUGH;
    s = IoCallDriver(top, irp);
    if (sync) {
        if (s == STATUS_PENDING) {
            /* FILE_SYNCHRONOUS_IO_ALERT waits are not alertable: kmrig has no alerts or APCs. */
            KeWaitForSingleObject(&local, Executive, KernelMode, FALSE, NULL);
        }
        s = iosb.Status;
        if (!NT_ERROR(s) && !eof)
            f->CurrentByteOffset.QuadPart = offset.QuadPart + (LONGLONG)iosb.Information;
        *IoStatusBlock = iosb;
        if (event)
            KeSetEvent(event, IO_NO_INCREMENT, FALSE);
    }
    IopUnlockFile(f);
    if (event)
        ObfDereferenceObject(event);
    ObfDereferenceObject(f);
    return s;
}

NTSTATUS NTAPI ZwReadFile(HANDLE FileHandle, HANDLE Event, PIO_APC_ROUTINE ApcRoutine,
                          PVOID ApcContext, PIO_STATUS_BLOCK IoStatusBlock, PVOID Buffer,
                          ULONG Length, PLARGE_INTEGER ByteOffset, PULONG Key)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    if (IopIsSpecialOffset(ByteOffset, FILE_WRITE_TO_END_OF_FILE))
        return STATUS_INVALID_PARAMETER;
    return IopReadWrite(IRP_MJ_READ, FileHandle, Event, ApcRoutine, IoStatusBlock, Buffer, Length,
                        ByteOffset, Key, __func__);
}

NTSTATUS NTAPI ZwWriteFile(HANDLE FileHandle, HANDLE Event, PIO_APC_ROUTINE ApcRoutine,
                           PVOID ApcContext, PIO_STATUS_BLOCK IoStatusBlock, PVOID Buffer,
                           ULONG Length, PLARGE_INTEGER ByteOffset, PULONG Key)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    return IopReadWrite(IRP_MJ_WRITE, FileHandle, Event, ApcRoutine, IoStatusBlock, Buffer, Length,
                        ByteOffset, Key, __func__);
}

/* ---- ZwQueryInformationFile / ZwSetInformationFile ---- */

/* The smallest buffer of each class, and whether it may be queried or set (NT's operation-length
 * tables); a class with no entry is STATUS_INVALID_INFO_CLASS. */
typedef struct _IOP_INFO_CLASS {
    USHORT Query;
    USHORT Set;
} IOP_INFO_CLASS;

static const IOP_INFO_CLASS IopInfoClasses[FileMaximumInformation] = {
    [FileBasicInformation] = {sizeof(FILE_BASIC_INFORMATION), sizeof(FILE_BASIC_INFORMATION)},
    [FileStandardInformation] = {sizeof(FILE_STANDARD_INFORMATION), 0},
    [FileInternalInformation] = {sizeof(FILE_INTERNAL_INFORMATION), 0},
    [FileEaInformation] = {sizeof(ULONG), 0},
    [FileAccessInformation] = {sizeof(FILE_ACCESS_INFORMATION), 0},
    [FileNameInformation] = {sizeof(FILE_NAME_INFORMATION), 0},
    [FileRenameInformation] = {0, sizeof(FILE_RENAME_INFORMATION)},
    [FileLinkInformation] = {0, sizeof(FILE_RENAME_INFORMATION)},
    [FileDispositionInformation] = {0, sizeof(FILE_DISPOSITION_INFORMATION)},
    [FilePositionInformation] = {sizeof(FILE_POSITION_INFORMATION),
                                 sizeof(FILE_POSITION_INFORMATION)},
    [FileModeInformation] = {sizeof(FILE_MODE_INFORMATION), sizeof(FILE_MODE_INFORMATION)},
    [FileAlignmentInformation] = {sizeof(FILE_ALIGNMENT_INFORMATION), 0},
    [FileAllInformation] = {104, 0},
    [FileAllocationInformation] = {0, sizeof(FILE_ALLOCATION_INFORMATION)},
    [FileEndOfFileInformation] = {0, sizeof(FILE_END_OF_FILE_INFORMATION)},
    [FileAlternateNameInformation] = {sizeof(FILE_NAME_INFORMATION), 0},
    [FileStreamInformation] = {32, 0},
    [FileCompressionInformation] = {16, 0},
    [FileNetworkOpenInformation] = {56, 0},
    [FileAttributeTagInformation] = {8, 0},
    [FileValidDataLengthInformation] = {0, sizeof(LARGE_INTEGER)},
    [FileShortNameInformation] = {0, sizeof(FILE_NAME_INFORMATION)},
};

static NTSTATUS IopCheckInfoClass(FILE_INFORMATION_CLASS Class, ULONG Length, BOOLEAN Set)
{
    if ((ULONG)Class == 0 || (ULONG)Class >= FileMaximumInformation)
        return STATUS_INVALID_INFO_CLASS;
    USHORT min = Set ? IopInfoClasses[Class].Set : IopInfoClasses[Class].Query;
    if (!min)
        return STATUS_INVALID_INFO_CLASS;
    return Length < min ? STATUS_INFO_LENGTH_MISMATCH : STATUS_SUCCESS;
}

static ULONG IopModeOf(PFILE_OBJECT f)
{
    ULONG mode = 0;
    if (f->Flags & FO_WRITE_THROUGH)
        mode |= FILE_WRITE_THROUGH;
    if (f->Flags & FO_SEQUENTIAL_ONLY)
        mode |= FILE_SEQUENTIAL_ONLY;
    if (f->Flags & FO_NO_INTERMEDIATE_BUFFERING)
        mode |= FILE_NO_INTERMEDIATE_BUFFERING;
    if (f->Flags & FO_SYNCHRONOUS_IO)
        mode |=
            (f->Flags & FO_ALERTABLE_IO) ? FILE_SYNCHRONOUS_IO_ALERT : FILE_SYNCHRONOUS_IO_NONALERT;
    if (f->Flags & FO_DELETE_ON_CLOSE)
        mode |= FILE_DELETE_ON_CLOSE;
    return mode;
}

/* Sends IRP_MJ_QUERY_INFORMATION / IRP_MJ_SET_INFORMATION with SystemBuffer (a pool buffer of
 * IOP_TAG_BUFFER that the completion frees; a query copies Information bytes back to UserBuffer)
 * and waits for it. */
static NTSTATUS IopSendInformation(PFILE_OBJECT f, UCHAR Major, FILE_INFORMATION_CLASS Class,
                                   PVOID SystemBuffer, ULONG Length, PVOID UserBuffer,
                                   PFILE_OBJECT Target, BOOLEAN Replace,
                                   PIO_STATUS_BLOCK IoStatusBlock)
{
    PDEVICE_OBJECT top = IoGetRelatedDeviceObject(f);
    PIRP irp = IoAllocateIrp(top->StackSize, FALSE);
    if (!irp) {
        ExFreePoolWithTag(SystemBuffer, IOP_TAG_BUFFER);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    KEVENT ev;
    IO_STATUS_BLOCK iosb = {{STATUS_SUCCESS}, 0};
    KeInitializeEvent(&ev, NotificationEvent, FALSE);
    irp->Tail.Overlay.Thread = (PETHREAD)KeGetCurrentThread();
    irp->Tail.Overlay.OriginalFileObject = f;
    irp->RequestorMode = KernelMode;
    irp->UserIosb = &iosb;
    irp->UserEvent = &ev;
    irp->UserBuffer = UserBuffer;
    irp->AssociatedIrp.SystemBuffer = SystemBuffer;
    irp->Flags = IRP_SYNCHRONOUS_API | IRP_BUFFERED_IO | IRP_DEALLOCATE_BUFFER |
                 (Major == IRP_MJ_QUERY_INFORMATION ? IRP_INPUT_OPERATION : 0);
    PIO_STACK_LOCATION sl = IoGetNextIrpStackLocation(irp);
    sl->MajorFunction = Major;
    sl->FileObject = f;
    if (Major == IRP_MJ_QUERY_INFORMATION) {
        sl->Parameters.QueryFile.Length = Length;
        sl->Parameters.QueryFile.FileInformationClass = Class;
    } else {
        sl->Parameters.SetFile.Length = Length;
        sl->Parameters.SetFile.FileInformationClass = Class;
        sl->Parameters.SetFile.FileObject = Target;
        if (Class == FileRenameInformation || Class == FileLinkInformation)
            sl->Parameters.SetFile.ReplaceIfExists = Replace;
    }
    NTSTATUS s = IoCallDriver(top, irp);
    if (s == STATUS_PENDING)
        KeWaitForSingleObject(&ev, Executive, KernelMode, FALSE, NULL);
    *IoStatusBlock = iosb;
    return iosb.Status;
}

NTSTATUS NTAPI ZwQueryInformationFile(HANDLE FileHandle, PIO_STATUS_BLOCK IoStatusBlock,
                                      PVOID FileInformation, ULONG Length,
                                      FILE_INFORMATION_CLASS FileInformationClass)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    if (!IoStatusBlock || !FileInformation)
        return STATUS_INVALID_PARAMETER;
    NTSTATUS s = IopCheckInfoClass(FileInformationClass, Length, FALSE);
    if (!NT_SUCCESS(s))
        return s;
    PFILE_OBJECT f;
    ACCESS_MASK granted;
    s = IopReferenceFileHandle(FileHandle, &f, &granted);
    if (!NT_SUCCESS(s))
        return s;
    IopLockFile(f);
    /* What the I/O manager knows itself. */
    BOOLEAN done = TRUE;
    ULONG_PTR info = 0;
    switch (FileInformationClass) {
    case FileAccessInformation:
        ((PFILE_ACCESS_INFORMATION)FileInformation)->AccessFlags = granted;
        info = sizeof(FILE_ACCESS_INFORMATION);
        break;
    case FileModeInformation:
        ((PFILE_MODE_INFORMATION)FileInformation)->Mode = IopModeOf(f);
        info = sizeof(FILE_MODE_INFORMATION);
        break;
    case FileAlignmentInformation:
        ((PFILE_ALIGNMENT_INFORMATION)FileInformation)->AlignmentRequirement =
            IoGetRelatedDeviceObject(f)->AlignmentRequirement;
        info = sizeof(FILE_ALIGNMENT_INFORMATION);
        break;
    case FilePositionInformation:
        if (!(f->Flags & FO_SYNCHRONOUS_IO)) {
            done = FALSE;
            break;
        }
        ((PFILE_POSITION_INFORMATION)FileInformation)->CurrentByteOffset = f->CurrentByteOffset;
        info = sizeof(FILE_POSITION_INFORMATION);
        break;
    default:
        done = FALSE;
        break;
    }
    if (done) {
        IoStatusBlock->Status = STATUS_SUCCESS;
        IoStatusBlock->Information = info;
    } else {
        PVOID sys = ExAllocatePoolWithTag(NonPagedPoolNx, Length, IOP_TAG_BUFFER);
        if (!sys) {
            s = STATUS_INSUFFICIENT_RESOURCES;
        } else {
            memset(sys, 0, Length);
            s = IopSendInformation(f, IRP_MJ_QUERY_INFORMATION, FileInformationClass, sys, Length,
                                   FileInformation, NULL, FALSE, IoStatusBlock);
        }
    }
    IopUnlockFile(f);
    ObfDereferenceObject(f);
    return s;
}

/* FileRenameInformation / FileLinkInformation: a full target name is resolved here, in the name
 * space, to a path on the same device ("\dir\new"), which the driver receives in place of the
 * caller's name; a RootDirectory handle becomes Parameters.SetFile.FileObject. */
static NTSTATUS IopPrepareRename(struct kmrig_runtime *rt, PFILE_OBJECT f,
                                 PFILE_RENAME_INFORMATION In, ULONG Length, PVOID *SystemBuffer,
                                 ULONG *SystemLength, PFILE_OBJECT *Target)
{
    *Target = NULL;
    if ((SIZE_T)FIELD_OFFSET(FILE_RENAME_INFORMATION, FileName) + In->FileNameLength > Length ||
        (In->FileNameLength & 1) || !In->FileNameLength)
        return STATUS_INVALID_PARAMETER;
    UNICODE_STRING target = {(USHORT)In->FileNameLength, (USHORT)In->FileNameLength, In->FileName};
    if (In->FileNameLength > UNICODE_STRING_MAX_BYTES)
        return STATUS_NAME_TOO_LONG;
    UNICODE_STRING rest = {0, 0, NULL};
    if (In->RootDirectory) {
        ACCESS_MASK g;
        NTSTATUS s = IopReferenceFileHandle(In->RootDirectory, Target, &g);
        if (!NT_SUCCESS(s))
            return s;
        if (IoGetRelatedDeviceObject(*Target) != IoGetRelatedDeviceObject(f)) {
            ObfDereferenceObject(*Target);
            *Target = NULL;
            return STATUS_NOT_SAME_DEVICE;
        }
    } else if (target.Buffer[0] == L'\\') {
        PVOID obj;
        NTSTATUS s = ObpLookupObjectName(rt, &target, NULL, 0, &obj, &rest);
        if (!NT_SUCCESS(s))
            return s;
        BOOLEAN same =
            OBJECT_TO_OBJECT_HEADER(obj)->Type == &ObpDeviceType && obj == f->DeviceObject;
        ObfDereferenceObject(obj);
        if (!same || !rest.Length) {
            free(rest.Buffer);
            return same ? STATUS_OBJECT_NAME_INVALID : STATUS_NOT_SAME_DEVICE;
        }
        target = rest;
    }
    ULONG size = FIELD_OFFSET(FILE_RENAME_INFORMATION, FileName) + target.Length;
    PFILE_RENAME_INFORMATION out = ExAllocatePoolWithTag(NonPagedPoolNx, size, IOP_TAG_BUFFER);
    if (!out) {
        free(rest.Buffer);
        if (*Target)
            ObfDereferenceObject(*Target);
        *Target = NULL;
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    memset(out, 0, size);
    out->ReplaceIfExists = In->ReplaceIfExists;
    out->FileNameLength = target.Length;
    memcpy(out->FileName, target.Buffer, target.Length);
    free(rest.Buffer);
    *SystemBuffer = out;
    *SystemLength = size;
    return STATUS_SUCCESS;
}

NTSTATUS NTAPI ZwSetInformationFile(HANDLE FileHandle, PIO_STATUS_BLOCK IoStatusBlock,
                                    PVOID FileInformation, ULONG Length,
                                    FILE_INFORMATION_CLASS FileInformationClass)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    struct kmrig_runtime *rt = IopRuntime();
    if (!IoStatusBlock || !FileInformation)
        return STATUS_INVALID_PARAMETER;
    NTSTATUS s = IopCheckInfoClass(FileInformationClass, Length, TRUE);
    if (!NT_SUCCESS(s))
        return s;
    PFILE_OBJECT f;
    s = IopReferenceFileHandle(FileHandle, &f, NULL);
    if (!NT_SUCCESS(s))
        return s;
    IopLockFile(f);
    PDEVICE_OBJECT top = IoGetRelatedDeviceObject(f);
    BOOLEAN done = FALSE;
    if (FileInformationClass == FilePositionInformation && (f->Flags & FO_SYNCHRONOUS_IO)) {
        LARGE_INTEGER pos = ((PFILE_POSITION_INFORMATION)FileInformation)->CurrentByteOffset;
        done = TRUE;
        if (pos.QuadPart < 0 || ((f->Flags & FO_NO_INTERMEDIATE_BUFFERING) && top->SectorSize &&
                                 pos.QuadPart % top->SectorSize))
            s = STATUS_INVALID_PARAMETER;
        else
            f->CurrentByteOffset = pos;
    } else if (FileInformationClass == FileModeInformation) {
        ULONG mode = ((PFILE_MODE_INFORMATION)FileInformation)->Mode;
        ULONG syncMode = mode & (FILE_SYNCHRONOUS_IO_ALERT | FILE_SYNCHRONOUS_IO_NONALERT);
        done = TRUE;
        if ((mode & ~FILE_VALID_SET_FLAGS) || (syncMode && !(f->Flags & FO_SYNCHRONOUS_IO)) ||
            (!syncMode && (f->Flags & FO_SYNCHRONOUS_IO)) ||
            syncMode == (FILE_SYNCHRONOUS_IO_ALERT | FILE_SYNCHRONOUS_IO_NONALERT)) {
            s = STATUS_INVALID_PARAMETER;
        } else {
            f->Flags &= ~(FO_WRITE_THROUGH | FO_SEQUENTIAL_ONLY | FO_ALERTABLE_IO);
            f->Flags |=
                IopFileFlagsOf(mode) & (FO_WRITE_THROUGH | FO_SEQUENTIAL_ONLY | FO_ALERTABLE_IO);
        }
    }
    if (done) {
        IoStatusBlock->Status = s;
        IoStatusBlock->Information = 0;
    } else {
        PVOID sys = NULL;
        ULONG sysLength = Length;
        PFILE_OBJECT target = NULL;
        BOOLEAN replace = FALSE;
        if (FileInformationClass == FileRenameInformation ||
            FileInformationClass == FileLinkInformation) {
            replace = ((PFILE_RENAME_INFORMATION)FileInformation)->ReplaceIfExists;
            s = IopPrepareRename(rt, f, FileInformation, Length, &sys, &sysLength, &target);
        } else {
            sys = ExAllocatePoolWithTag(NonPagedPoolNx, Length, IOP_TAG_BUFFER);
            if (!sys)
                s = STATUS_INSUFFICIENT_RESOURCES;
            else
                memcpy(sys, FileInformation, Length);
        }
        if (NT_SUCCESS(s))
            s = IopSendInformation(f, IRP_MJ_SET_INFORMATION, FileInformationClass, sys, sysLength,
                                   NULL, target, replace, IoStatusBlock);
        if (target)
            ObfDereferenceObject(target);
    }
    IopUnlockFile(f);
    ObfDereferenceObject(f);
    return s;
}

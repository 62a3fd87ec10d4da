/*
 * Share access and the file generic mapping; the error log (entries kept for the harness and
 * logged); hard errors and the per-thread verify device; named notification and
 * synchronization events.
 */
#include "io.h"

#include <stdlib.h>
#include <string.h>

/* ---- share access ---- */

static VOID IopAccessOf(ACCESS_MASK DesiredAccess, ULONG DesiredShareAccess,
                        PFILE_OBJECT FileObject)
{
    FileObject->ReadAccess = (DesiredAccess & (FILE_EXECUTE | FILE_READ_DATA)) != 0;
    FileObject->WriteAccess = (DesiredAccess & (FILE_WRITE_DATA | FILE_APPEND_DATA)) != 0;
    FileObject->DeleteAccess = (DesiredAccess & DELETE) != 0;
    FileObject->SharedRead = (DesiredShareAccess & FILE_SHARE_READ) != 0;
    FileObject->SharedWrite = (DesiredShareAccess & FILE_SHARE_WRITE) != 0;
    FileObject->SharedDelete = (DesiredShareAccess & FILE_SHARE_DELETE) != 0;
}

static BOOLEAN IopAnyAccess(PFILE_OBJECT f)
{
    return f->ReadAccess || f->WriteAccess || f->DeleteAccess;
}

NTSTATUS NTAPI IoCheckShareAccess(ACCESS_MASK DesiredAccess, ULONG DesiredShareAccess,
                                  PFILE_OBJECT FileObject, PSHARE_ACCESS ShareAccess,
                                  BOOLEAN Update)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    IopAccessOf(DesiredAccess, DesiredShareAccess, FileObject);
    PFILE_OBJECT f = FileObject;
    if (!IopAnyAccess(f))
        return STATUS_SUCCESS;
    PSHARE_ACCESS s = ShareAccess;
    if ((f->ReadAccess && s->SharedRead < s->OpenCount) ||
        (f->WriteAccess && s->SharedWrite < s->OpenCount) ||
        (f->DeleteAccess && s->SharedDelete < s->OpenCount) || (s->Readers && !f->SharedRead) ||
        (s->Writers && !f->SharedWrite) || (s->Deleters && !f->SharedDelete))
        return STATUS_SHARING_VIOLATION;
    if (Update)
        IoUpdateShareAccess(FileObject, ShareAccess);
    return STATUS_SUCCESS;
}

VOID NTAPI IoSetShareAccess(ACCESS_MASK DesiredAccess, ULONG DesiredShareAccess,
                            PFILE_OBJECT FileObject, PSHARE_ACCESS ShareAccess)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    IopAccessOf(DesiredAccess, DesiredShareAccess, FileObject);
    memset(ShareAccess, 0, sizeof *ShareAccess);
    if (IopAnyAccess(FileObject))
        IoUpdateShareAccess(FileObject, ShareAccess);
}

VOID NTAPI IoUpdateShareAccess(PFILE_OBJECT FileObject, PSHARE_ACCESS ShareAccess)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    PFILE_OBJECT f = FileObject;
    if (!IopAnyAccess(f))
        return;
    ShareAccess->OpenCount++;
    ShareAccess->Readers += f->ReadAccess;
    ShareAccess->Writers += f->WriteAccess;
    ShareAccess->Deleters += f->DeleteAccess;
    ShareAccess->SharedRead += f->SharedRead;
    ShareAccess->SharedWrite += f->SharedWrite;
    ShareAccess->SharedDelete += f->SharedDelete;
}

VOID NTAPI IoRemoveShareAccess(PFILE_OBJECT FileObject, PSHARE_ACCESS ShareAccess)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    PFILE_OBJECT f = FileObject;
    if (!IopAnyAccess(f))
        return;
    ShareAccess->OpenCount--;
    ShareAccess->Readers -= f->ReadAccess;
    ShareAccess->Writers -= f->WriteAccess;
    ShareAccess->Deleters -= f->DeleteAccess;
    ShareAccess->SharedRead -= f->SharedRead;
    ShareAccess->SharedWrite -= f->SharedWrite;
    ShareAccess->SharedDelete -= f->SharedDelete;
}

/* A constant descriptor shared by every instance, like the object types. */
static GENERIC_MAPPING IopFileMapping = {FILE_GENERIC_READ, FILE_GENERIC_WRITE,
                                         FILE_GENERIC_EXECUTE, FILE_ALL_ACCESS};

PGENERIC_MAPPING NTAPI IoGetFileObjectGenericMapping(VOID)
{
    return &IopFileMapping;
}

/* ---- error log ---- */

#define IOP_ERROR_LOG_KEEP 1024u

static PIOP_ERROR_LOG_RECORD IopRecordOf(PVOID ElEntry)
{
    return CONTAINING_RECORD(ElEntry, IOP_ERROR_LOG_RECORD, Packet);
}

PVOID NTAPI IoAllocateErrorLogEntry(PVOID IoObject, UCHAR EntrySize)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    if (!IoObject || EntrySize > ERROR_LOG_MAXIMUM_SIZE)
        return NULL;
    SIZE_T size = max((SIZE_T)EntrySize, sizeof(IO_ERROR_LOG_PACKET));
    PIOP_ERROR_LOG_RECORD r = calloc(1, FIELD_OFFSET(IOP_ERROR_LOG_RECORD, Packet) + size);
    if (!r)
        return NULL;
    r->IoObject = IoObject;
    r->Size = EntrySize;
    if (ObpIsObject(IoObject))
        ObfReferenceObject(IoObject); /* until the entry is written or freed */
    return &r->Packet;
}

static PDRIVER_OBJECT IopDriverOf(PVOID IoObject)
{
    if (!ObpIsObject(IoObject))
        return NULL;
    POBJECT_TYPE t = OBJECT_TO_OBJECT_HEADER(IoObject)->Type;
    if (t == &ObpDeviceType)
        return ((PDEVICE_OBJECT)IoObject)->DriverObject;
    return t == &ObpDriverType ? IoObject : NULL;
}

VOID NTAPI IoWriteErrorLogEntry(PVOID ElEntry)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    struct kmrig_runtime *rt = IopRuntime();
    PIOP_STATE io = IopState(rt);
    PIOP_ERROR_LOG_RECORD r = IopRecordOf(ElEntry), drop = NULL;
    LARGE_INTEGER now;
    KeQuerySystemTime(&now);
    r->Time = (ULONGLONG)now.QuadPart;
    PDRIVER_OBJECT d = IopDriverOf(r->IoObject);
    if (d) {
        USHORT n = min((USHORT)(d->DriverName.Length / sizeof(WCHAR)),
                       (USHORT)(ARRAYSIZE(r->DriverName) - 1));
        memcpy(r->DriverName, d->DriverName.Buffer, n * sizeof(WCHAR));
        r->DriverName[n] = 0;
    }
    char name[64];
    UNICODE_STRING u;
    RtlInitUnicodeString(&u, r->DriverName);
    KmLog(rt, KMRIG_LOG_WARN,
          "io: error log: %s ErrorCode 0x%08X UniqueErrorValue 0x%X FinalStatus 0x%08X "
          "MajorFunction 0x%02X RetryCount %u DumpDataSize %u",
          IopNarrow(&u, name, sizeof name), (unsigned)r->Packet.ErrorCode,
          r->Packet.UniqueErrorValue, (unsigned)r->Packet.FinalStatus, r->Packet.MajorFunctionCode,
          r->Packet.RetryCount, r->Packet.DumpDataSize);
    if (ObpIsObject(r->IoObject))
        ObfDereferenceObject(r->IoObject);
    pthread_mutex_lock(&io->Lock);
    r->Packet.SequenceNumber =
        r->Packet.SequenceNumber ? r->Packet.SequenceNumber : ++io->ErrorLogSequence;
    InsertTailList(&io->ErrorLog, &r->Link);
    if (++io->ErrorLogCount > IOP_ERROR_LOG_KEEP) {
        drop = CONTAINING_RECORD(RemoveHeadList(&io->ErrorLog), IOP_ERROR_LOG_RECORD, Link);
        io->ErrorLogCount--;
    }
    pthread_mutex_unlock(&io->Lock);
    free(drop);
}

VOID NTAPI IoFreeErrorLogEntry(PVOID ElEntry)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    PIOP_ERROR_LOG_RECORD r = IopRecordOf(ElEntry);
    if (ObpIsObject(r->IoObject))
        ObfDereferenceObject(r->IoObject);
    free(r);
}

ULONG IopErrorLogCount(struct kmrig_runtime *rt)
{
    PIOP_STATE io = IopState(rt);
    pthread_mutex_lock(&io->Lock);
    ULONG n = io->ErrorLogCount;
    pthread_mutex_unlock(&io->Lock);
    return n;
}

const IOP_ERROR_LOG_RECORD *IopErrorLogEntry(struct kmrig_runtime *rt, ULONG Index)
{
    PIOP_STATE io = IopState(rt);
    const IOP_ERROR_LOG_RECORD *found = NULL;
    pthread_mutex_lock(&io->Lock);
    for (PLIST_ENTRY e = io->ErrorLog.Flink; e != &io->ErrorLog; e = e->Flink)
        if (Index-- == 0) {
            found = CONTAINING_RECORD(e, IOP_ERROR_LOG_RECORD, Link);
            break;
        }
    pthread_mutex_unlock(&io->Lock);
    return found;
}

/* ---- hard errors, per-thread state ---- */

typedef struct _IOP_THREAD_STATE {
    LIST_ENTRY Link;
    PKTHREAD Thread;
    PDEVICE_OBJECT DeviceToVerify;
    BOOLEAN HardErrorsDisabled;
} IOP_THREAD_STATE, *PIOP_THREAD_STATE;

/* The thread's record (created when Create); io->Lock held. */
static PIOP_THREAD_STATE IopThreadState(PIOP_STATE io, PKTHREAD Thread, BOOLEAN Create)
{
    for (PLIST_ENTRY e = io->ThreadStates.Flink; e != &io->ThreadStates; e = e->Flink) {
        PIOP_THREAD_STATE s = CONTAINING_RECORD(e, IOP_THREAD_STATE, Link);
        if (s->Thread == Thread)
            return s;
    }
    if (!Create)
        return NULL;
    PIOP_THREAD_STATE s = calloc(1, sizeof *s);
    if (s) {
        s->Thread = Thread;
        InsertTailList(&io->ThreadStates, &s->Link);
    }
    return s;
}

VOID IopShutdownErrorLog(struct kmrig_runtime *rt)
{
    PIOP_STATE io = IopState(rt);
    while (!IsListEmpty(&io->ErrorLog))
        free(CONTAINING_RECORD(RemoveHeadList(&io->ErrorLog), IOP_ERROR_LOG_RECORD, Link));
    io->ErrorLogCount = 0;
    while (!IsListEmpty(&io->ThreadStates))
        free(CONTAINING_RECORD(RemoveHeadList(&io->ThreadStates), IOP_THREAD_STATE, Link));
}

VOID NTAPI IoSetHardErrorOrVerifyDevice(PIRP Irp, PDEVICE_OBJECT DeviceObject)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    PIOP_STATE io = IopState(IopRuntime());
    PKTHREAD t =
        Irp->Tail.Overlay.Thread ? (PKTHREAD)Irp->Tail.Overlay.Thread : KeGetCurrentThread();
    pthread_mutex_lock(&io->Lock);
    PIOP_THREAD_STATE s = IopThreadState(io, t, TRUE);
    if (s)
        s->DeviceToVerify = DeviceObject;
    pthread_mutex_unlock(&io->Lock);
}

PDEVICE_OBJECT NTAPI IoGetDeviceToVerify(PETHREAD Thread)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    PIOP_STATE io = IopState(IopRuntime());
    pthread_mutex_lock(&io->Lock);
    PIOP_THREAD_STATE s = IopThreadState(io, (PKTHREAD)Thread, FALSE);
    PDEVICE_OBJECT d = s ? s->DeviceToVerify : NULL;
    pthread_mutex_unlock(&io->Lock);
    return d;
}

BOOLEAN NTAPI IoSetThreadHardErrorMode(BOOLEAN EnableHardErrors)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    PIOP_STATE io = IopState(IopRuntime());
    pthread_mutex_lock(&io->Lock);
    PIOP_THREAD_STATE s = IopThreadState(io, KeGetCurrentThread(), TRUE);
    BOOLEAN previous = s ? !s->HardErrorsDisabled : TRUE;
    if (s)
        s->HardErrorsDisabled = !EnableHardErrors;
    pthread_mutex_unlock(&io->Lock);
    return previous;
}

static BOOLEAN IopHardErrorsEnabled(PIOP_STATE io, PKTHREAD Thread)
{
    pthread_mutex_lock(&io->Lock);
    PIOP_THREAD_STATE s = Thread ? IopThreadState(io, Thread, FALSE) : NULL;
    BOOLEAN enabled = !s || !s->HardErrorsDisabled;
    pthread_mutex_unlock(&io->Lock);
    return enabled;
}

typedef struct _IOP_HARD_ERROR {
    WORK_QUEUE_ITEM Item;
    PIRP Irp;
} IOP_HARD_ERROR, *PIOP_HARD_ERROR;

/* The "pop-up" is over (there is no one to show it to): complete the IRP with its status. */
static VOID NTAPI IopHardErrorWorker(PVOID Parameter)
{
    PIOP_HARD_ERROR h = Parameter;
    IoCompleteRequest(h->Irp, IO_DISK_INCREMENT);
    free(h);
    InterlockedDecrement(&IopState(IopRuntime())->HardErrorsQueued);
}

/* At shutdown: the workers complete the IRPs of the hard errors still queued first. */
VOID IopWaitForHardErrors(struct kmrig_runtime *rt)
{
    while (InterlockedCompareExchange(&IopState(rt)->HardErrorsQueued, 0, 0) > 0) {
        LARGE_INTEGER t = {.QuadPart = -10000}; /* 1 ms */
        KeDelayExecutionThread(KernelMode, FALSE, &t);
    }
}

VOID NTAPI IoRaiseHardError(PIRP Irp, PVPB Vpb, PDEVICE_OBJECT RealDeviceObject)
{
    VF_IRQL_MAX(APC_LEVEL);
    struct kmrig_runtime *rt = IopRuntime();
    PIOP_STATE io = IopState(rt);
    PKTHREAD t = Irp->Tail.Overlay.Thread ? (PKTHREAD)Irp->Tail.Overlay.Thread : NULL;
    if (!IopHardErrorsEnabled(io, t)) {
        /* No pop-up: completed at once, no data copied to the caller's buffers. */
        Irp->IoStatus.Information = 0;
        IoCompleteRequest(Irp, IO_DISK_INCREMENT);
        return;
    }
    InterlockedIncrement((volatile LONG *)&io->HardErrors);
    KmLog(rt, KMRIG_LOG_WARN, "io: hard error 0x%08X on device %p (VPB %p), IRP %p",
          (unsigned)Irp->IoStatus.Status, (void *)RealDeviceObject, (void *)Vpb, (void *)Irp);
    PIOP_HARD_ERROR h = malloc(sizeof *h);
    if (!h) {
        IoCompleteRequest(Irp, IO_DISK_INCREMENT);
        return;
    }
    h->Irp = Irp;
    InterlockedIncrement(&io->HardErrorsQueued);
    ExInitializeWorkItem(&h->Item, IopHardErrorWorker, h);
    ExQueueWorkItem(&h->Item, DelayedWorkQueue);
}

BOOLEAN NTAPI IoRaiseInformationalHardError(NTSTATUS ErrorStatus, PUNICODE_STRING String,
                                            PKTHREAD Thread)
{
    VF_IRQL_MAX(APC_LEVEL);
    struct kmrig_runtime *rt = IopRuntime();
    PIOP_STATE io = IopState(rt);
    if (!IopHardErrorsEnabled(io, Thread))
        return FALSE;
    char text[128];
    InterlockedIncrement((volatile LONG *)&io->InformationalHardErrors);
    KmLog(rt, KMRIG_LOG_WARN, "io: informational hard error 0x%08X %s", (unsigned)ErrorStatus,
          IopNarrow(String, text, sizeof text));
    return TRUE;
}

ULONG IopHardErrorCount(struct kmrig_runtime *rt)
{
    PIOP_STATE io = IopState(rt);
    return io->HardErrors + io->InformationalHardErrors;
}

#undef IoIsErrorUserInduced
BOOLEAN NTAPI IoIsErrorUserInduced(NTSTATUS Status)
{
    return Status == STATUS_DEVICE_NOT_READY || Status == STATUS_IO_TIMEOUT ||
           Status == STATUS_MEDIA_WRITE_PROTECTED || Status == STATUS_NO_MEDIA_IN_DEVICE ||
           Status == STATUS_UNRECOGNIZED_MEDIA || Status == STATUS_VERIFY_REQUIRED ||
           Status == STATUS_WRONG_VOLUME;
}

/* ---- named events ---- */

static PKEVENT IopCreateNamedEvent(PUNICODE_STRING EventName, PHANDLE EventHandle, EVENT_TYPE Type)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    struct kmrig_runtime *rt = IopRuntime();
    *EventHandle = NULL;
    PKEVENT ev = ObpCreateObject(rt, &ObpEventType, sizeof(KEVENT)), existing = NULL;
    if (!ev)
        return NULL;
    KeInitializeEvent(ev, Type, TRUE); /* a new event starts signalled */
    NTSTATUS s = ObpInsertObjectName(rt, ev, EventName, NULL, OBJ_OPENIF, (PVOID *)&existing);
    if (s == STATUS_OBJECT_NAME_EXISTS) {
        ObfDereferenceObject(ev);
        ev = existing;
    } else if (!NT_SUCCESS(s)) {
        ObfDereferenceObject(ev);
        return NULL;
    }
    s = ObpCreateHandle(rt, ev, EVENT_ALL_ACCESS, OBJ_KERNEL_HANDLE, EventHandle);
    ObfDereferenceObject(ev); /* the handle holds it now */
    return NT_SUCCESS(s) ? ev : NULL;
}

PKEVENT NTAPI IoCreateNotificationEvent(PUNICODE_STRING EventName, PHANDLE EventHandle)
{
    return IopCreateNamedEvent(EventName, EventHandle, NotificationEvent);
}

PKEVENT NTAPI IoCreateSynchronizationEvent(PUNICODE_STRING EventName, PHANDLE EventHandle)
{
    return IopCreateNamedEvent(EventName, EventHandle, SynchronizationEvent);
}

/*
 * System threads, ids, notify routines, version. A system thread is an Ob object (so its handle
 * can be referenced, waited on and closed) whose body is the KTHREAD; the thread holds one
 * reference on itself until it ends.
 */
#define _GNU_SOURCE
#include "ob.h"
#include "vf.h"

#include <stdlib.h>
#include <string.h>

#define PSP_MAX_NOTIFY 64
#define PSP_SYSTEM_PROCESS_ID ((HANDLE)(ULONG_PTR)4)

struct _EPROCESS {
    HANDLE UniqueProcessId;
};

typedef struct _PSP_STATE {
    pthread_mutex_t Lock;
    ULONG_PTR NextThreadId;
    PEPROCESS SystemProcess;
    PCREATE_PROCESS_NOTIFY_ROUTINE ProcessNotify[PSP_MAX_NOTIFY];
    PCREATE_THREAD_NOTIFY_ROUTINE ThreadNotify[PSP_MAX_NOTIFY];
    PLOAD_IMAGE_NOTIFY_ROUTINE ImageNotify[PSP_MAX_NOTIFY];
} PSP_STATE;

static VOID PspDeleteThread(PVOID Object)
{
    PKTHREAD t = Object;
    pthread_cond_destroy(&t->Cv);
}

NTSTATUS PspInitialize(struct kmrig_runtime *rt)
{
    PSP_STATE *ps = calloc(1, sizeof *ps);
    if (!ps)
        return STATUS_INSUFFICIENT_RESOURCES;
    pthread_mutex_init(&ps->Lock, NULL);
    ps->NextThreadId = 0x100;
    ps->SystemProcess = ObpCreateObject(rt, &ObpProcessType, sizeof(struct _EPROCESS));
    if (!ps->SystemProcess) {
        free(ps);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    ps->SystemProcess->UniqueProcessId = PSP_SYSTEM_PROCESS_ID;
    ObpThreadType.DeleteProcedure = PspDeleteThread;
    rt->Ps = ps;
    /* The harness thread gets an id too. */
    KiCurrentThread()->UniqueThread = (HANDLE)(ps->NextThreadId += 4);
    return STATUS_SUCCESS;
}

/* Waits for every system thread to end: a thread that never does shows up as a deadlock (or an
 * exhausted time budget) report naming what it waits on. */
VOID PspShutdown(struct kmrig_runtime *rt)
{
    PKTHREAD self = KiCurrentThread();
    for (;;) {
        PKTHREAD wait = NULL;
        KiAcquireDispatcherLock(rt);
        for (PLIST_ENTRY e = rt->Ke.ThreadList.Flink; e != &rt->Ke.ThreadList; e = e->Flink) {
            PKTHREAD t = CONTAINING_RECORD(e, KTHREAD, ThreadListEntry);
            if (t != self && !t->IsDpcThread && !t->Adopted && t->ObObject) {
                wait = t;
                ObfReferenceObject(t);
                break;
            }
        }
        KiReleaseDispatcherLock(rt);
        if (!wait)
            break;
        KmLog(rt, KMRIG_LOG_DEBUG, "shutdown waits for system thread %p", (void *)wait);
        KeWaitForSingleObject(wait, Executive, KernelMode, FALSE, NULL);
        ObfDereferenceObject(wait);
    }
    PSP_STATE *ps = rt->Ps;
    ObfDereferenceObject(ps->SystemProcess);
    pthread_mutex_destroy(&ps->Lock);
    free(ps);
    rt->Ps = NULL;
}

static void PspNotifyThread(struct kmrig_runtime *rt, HANDLE ThreadId, BOOLEAN Create)
{
    PSP_STATE *ps = rt->Ps;
    PCREATE_THREAD_NOTIFY_ROUTINE r[PSP_MAX_NOTIFY];
    pthread_mutex_lock(&ps->Lock);
    memcpy(r, ps->ThreadNotify, sizeof r);
    pthread_mutex_unlock(&ps->Lock);
    for (int i = 0; i < PSP_MAX_NOTIFY; i++)
        if (r[i])
            r[i](PSP_SYSTEM_PROCESS_ID, ThreadId, Create);
}

static void PspReaper(PKTHREAD t)
{
    ObfDereferenceObject(t);
}

static void PspSystemThreadStartup(PKTHREAD t)
{
    PspNotifyThread(t->Runtime, t->UniqueThread, TRUE);
    ((PKSTART_ROUTINE)t->StartRoutine)(t->StartContext);
    PsTerminateSystemThread(STATUS_SUCCESS);
}

NTSTATUS NTAPI PsCreateSystemThread(PHANDLE ThreadHandle, ULONG DesiredAccess,
                                    POBJECT_ATTRIBUTES ObjectAttributes, HANDLE ProcessHandle,
                                    PCLIENT_ID ClientId, PKSTART_ROUTINE StartRoutine,
                                    PVOID StartContext)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    struct kmrig_runtime *rt = KiCurrentThread()->Runtime;
    PSP_STATE *ps = rt->Ps;
    if (!ThreadHandle || !StartRoutine)
        return STATUS_INVALID_PARAMETER;
    if (ProcessHandle && ProcessHandle != NtCurrentProcess())
        return STATUS_INVALID_HANDLE; /* only the System process exists */
    PKTHREAD t = ObpCreateObject(rt, &ObpThreadType, sizeof(KTHREAD));
    if (!t)
        return STATUS_INSUFFICIENT_RESOURCES;
    pthread_mutex_lock(&ps->Lock);
    t->UniqueThread = (HANDLE)(ps->NextThreadId += 4);
    pthread_mutex_unlock(&ps->Lock);
    t->Reaper = PspReaper;
    t->ObObject = TRUE;
    /* The handle's reference first: the thread may run and end before we return. */
    ULONG attrs = ObjectAttributes ? ObjectAttributes->Attributes : OBJ_KERNEL_HANDLE;
    NTSTATUS s = ObpCreateHandle(rt, t, DesiredAccess ? DesiredAccess : THREAD_ALL_ACCESS, attrs,
                                 ThreadHandle);
    if (!NT_SUCCESS(s)) {
        ObfDereferenceObject(t);
        return s;
    }
    if (ClientId) {
        ClientId->UniqueProcess = PSP_SYSTEM_PROCESS_ID;
        ClientId->UniqueThread = t->UniqueThread;
    }
    if (!KiCreateThread(rt, t, PspSystemThreadStartup, (PVOID)StartRoutine, StartContext, 8, FALSE,
                        NULL)) {
        ZwClose(*ThreadHandle);
        *ThreadHandle = NULL;
        ObfDereferenceObject(t);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    KiDeliver(KiCurrentThread());
    return STATUS_SUCCESS;
}

NTSTATUS NTAPI PsTerminateSystemThread(NTSTATUS ExitStatus)
{
    PKTHREAD t = KiCurrentThread();
    if (!t->ObObject || t->IsDpcThread)
        return STATUS_INVALID_PARAMETER; /* not a system thread created by PsCreateSystemThread */
    if (t->Prcb->Irql != PASSIVE_LEVEL)
        VfCheckIrqlMax(PASSIVE_LEVEL, "PsTerminateSystemThread");
    PspNotifyThread(t->Runtime, t->UniqueThread, FALSE);
    KiTerminateThread(t, ExitStatus);
    return STATUS_SUCCESS; /* not reached */
}

PETHREAD NTAPI PsGetCurrentThread(VOID)
{
    return (PETHREAD)KiCurrentThread();
}

PEPROCESS NTAPI PsGetCurrentProcess(VOID)
{
    return KiCurrentThread()->Runtime->Ps->SystemProcess;
}

HANDLE NTAPI PsGetCurrentProcessId(VOID)
{
    return PsGetCurrentProcess()->UniqueProcessId;
}

HANDLE NTAPI PsGetCurrentThreadId(VOID)
{
    return KiCurrentThread()->UniqueThread;
}

HANDLE NTAPI PsGetThreadId(PETHREAD Thread)
{
    return ((PKTHREAD)Thread)->UniqueThread;
}

BOOLEAN NTAPI PsIsSystemThread(PETHREAD Thread)
{
    return ((PKTHREAD)Thread)->SystemThread;
}

/* kmrig presents itself as Windows 10 22H2 (10.0.19045), a free (not checked) build. */
BOOLEAN NTAPI PsGetVersion(PULONG MajorVersion, PULONG MinorVersion, PULONG BuildNumber,
                           PUNICODE_STRING CSDVersion)
{
    if (MajorVersion)
        *MajorVersion = 10;
    if (MinorVersion)
        *MinorVersion = 0;
    if (BuildNumber)
        *BuildNumber = 19045;
    if (CSDVersion && CSDVersion->Buffer && CSDVersion->MaximumLength >= sizeof(WCHAR)) {
        CSDVersion->Length = 0; /* no service pack */
        CSDVersion->Buffer[0] = 0;
    }
    return FALSE;
}

/* Notify routine tables: add to a free slot, or remove an existing entry. */
static NTSTATUS PspSetNotify(struct kmrig_runtime *rt, PVOID *Table, PVOID Routine, BOOLEAN Remove)
{
    PSP_STATE *ps = rt->Ps;
    NTSTATUS s;
    pthread_mutex_lock(&ps->Lock);
    if (Remove) {
        s = STATUS_PROCEDURE_NOT_FOUND;
        for (int i = 0; i < PSP_MAX_NOTIFY; i++)
            if (Table[i] == Routine) {
                Table[i] = NULL;
                s = STATUS_SUCCESS;
                break;
            }
    } else {
        s = STATUS_INSUFFICIENT_RESOURCES;
        for (int i = 0; i < PSP_MAX_NOTIFY; i++)
            if (Table[i] == Routine) {
                s = STATUS_INVALID_PARAMETER; /* registered already */
                break;
            }
        if (s != STATUS_INVALID_PARAMETER)
            for (int i = 0; i < PSP_MAX_NOTIFY; i++)
                if (!Table[i]) {
                    Table[i] = Routine;
                    s = STATUS_SUCCESS;
                    break;
                }
    }
    pthread_mutex_unlock(&ps->Lock);
    return s;
}

/* Only the System process exists in a runtime instance, so process notifications never fire;
 * registration follows the documented contract (removal of an unknown routine fails). */
NTSTATUS NTAPI PsSetCreateProcessNotifyRoutine(PCREATE_PROCESS_NOTIFY_ROUTINE NotifyRoutine,
                                               BOOLEAN Remove)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    NTSTATUS s = PspSetNotify(KiCurrentThread()->Runtime,
                              (PVOID *)KiCurrentThread()->Runtime->Ps->ProcessNotify,
                              (PVOID)NotifyRoutine, Remove);
    return (Remove && s == STATUS_PROCEDURE_NOT_FOUND) ? STATUS_INVALID_PARAMETER : s;
}

NTSTATUS NTAPI PsSetCreateThreadNotifyRoutine(PCREATE_THREAD_NOTIFY_ROUTINE NotifyRoutine)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    struct kmrig_runtime *rt = KiCurrentThread()->Runtime;
    return PspSetNotify(rt, (PVOID *)rt->Ps->ThreadNotify, (PVOID)NotifyRoutine, FALSE);
}

NTSTATUS NTAPI PsRemoveCreateThreadNotifyRoutine(PCREATE_THREAD_NOTIFY_ROUTINE NotifyRoutine)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    struct kmrig_runtime *rt = KiCurrentThread()->Runtime;
    return PspSetNotify(rt, (PVOID *)rt->Ps->ThreadNotify, (PVOID)NotifyRoutine, TRUE);
}

NTSTATUS NTAPI PsSetLoadImageNotifyRoutine(PLOAD_IMAGE_NOTIFY_ROUTINE NotifyRoutine)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    struct kmrig_runtime *rt = KiCurrentThread()->Runtime;
    return PspSetNotify(rt, (PVOID *)rt->Ps->ImageNotify, (PVOID)NotifyRoutine, FALSE);
}

NTSTATUS NTAPI PsRemoveLoadImageNotifyRoutine(PLOAD_IMAGE_NOTIFY_ROUTINE NotifyRoutine)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    struct kmrig_runtime *rt = KiCurrentThread()->Runtime;
    return PspSetNotify(rt, (PVOID *)rt->Ps->ImageNotify, (PVOID)NotifyRoutine, TRUE);
}

/* Called by the I/O manager when it loads a driver image. */
VOID PspNotifyLoadImage(struct kmrig_runtime *rt, PUNICODE_STRING Name, PVOID Base, SIZE_T Size)
{
    PSP_STATE *ps = rt->Ps;
    IMAGE_INFO info = {0};
    info.SystemModeImage = 1;
    info.ImageBase = Base;
    info.ImageSize = Size;
    PLOAD_IMAGE_NOTIFY_ROUTINE r[PSP_MAX_NOTIFY];
    pthread_mutex_lock(&ps->Lock);
    memcpy(r, ps->ImageNotify, sizeof r);
    pthread_mutex_unlock(&ps->Lock);
    for (int i = 0; i < PSP_MAX_NOTIFY; i++)
        if (r[i])
            r[i](Name, NULL, &info);
}

NTSTATUS NTAPI ZwSetInformationThread(HANDLE ThreadHandle, THREADINFOCLASS ThreadInformationClass,
                                      PVOID ThreadInformation, ULONG ThreadInformationLength)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    PVOID obj;
    NTSTATUS s = ObReferenceObjectByHandle(ThreadHandle, THREAD_SET_INFORMATION, *PsThreadType,
                                           KernelMode, &obj, NULL);
    if (!NT_SUCCESS(s))
        return s;
    PKTHREAD t = obj;
    switch (ThreadInformationClass) {
    case ThreadPriority:
        if (ThreadInformationLength != sizeof(KPRIORITY))
            s = STATUS_INFO_LENGTH_MISMATCH;
        else if (*(PKPRIORITY)ThreadInformation < 1 || *(PKPRIORITY)ThreadInformation > 31)
            s = STATUS_INVALID_PARAMETER;
        else
            KeSetPriorityThread(t, *(PKPRIORITY)ThreadInformation);
        break;
    case ThreadBasePriority:
        if (ThreadInformationLength != sizeof(LONG))
            s = STATUS_INFO_LENGTH_MISMATCH;
        else
            KeSetBasePriorityThread(t, *(PLONG)ThreadInformation);
        break;
    case ThreadAffinityMask: {
        if (ThreadInformationLength != sizeof(KAFFINITY)) {
            s = STATUS_INFO_LENGTH_MISMATCH;
            break;
        }
        KAFFINITY a = *(PKAFFINITY)ThreadInformation & KeQueryActiveProcessors();
        if (!a) {
            s = STATUS_INVALID_PARAMETER;
            break;
        }
        struct kmrig_runtime *rt = t->Runtime;
        KiAcquireDispatcherLock(rt);
        t->Affinity = a;
        KiReleaseDispatcherLock(rt);
        /* A running thread off its new set moves at its next wait or quantum end. */
        break;
    }
    default:
        s = STATUS_INVALID_INFO_CLASS;
        break;
    }
    ObfDereferenceObject(obj);
    return s;
}

ULONG_PTR NTAPI IoGetRemainingStackSize(VOID)
{
    PKTHREAD t = KiCurrentThread();
    ULONG_PTR sp = (ULONG_PTR)__builtin_frame_address(0);
    return sp > t->StackLimit ? sp - t->StackLimit : 0;
}

PVOID NTAPI IoGetInitialStack(VOID)
{
    return (PVOID)KiCurrentThread()->StackBase;
}

VOID NTAPI IoGetStackLimits(PULONG_PTR LowLimit, PULONG_PTR HighLimit)
{
    PKTHREAD t = KiCurrentThread();
    *LowLimit = t->StackLimit;
    *HighLimit = t->StackBase;
}

/*
 * callback.c - callback objects (ExCreateCallback, ExRegisterCallback, ExUnregisterCallback,
 * ExNotifyCallback).
 *
 * A callback object is an Ob object (so the ObDereferenceObject a driver owes after
 * ExCreateCallback works) whose name lives in a per-instance table (rt->Ex->CallbackList); the
 * table holds one reference, so a named callback object lives as long as the instance, like an
 * OBJ_PERMANENT one. Names are compared case-insensitively (ASCII) as the documented
 * OBJ_CASE_INSENSITIVE use requires. The instance starts with the objects Windows creates:
 * \Callback\SetSystemTime, \Callback\PowerState and \Callback\ProcessorAdd.
 *
 * ExNotifyCallback calls each registration with the object's lock dropped, at the caller's IRQL;
 * a registration being called is marked busy, and ExUnregisterCallback waits for it to be idle.
 */
#include "ex.h"
#include "ob.h"

#include <stdlib.h>
#include <string.h>

typedef struct _CALLBACK_OBJECT {
    LIST_ENTRY Link; /* rt->Ex->CallbackList */
    KSPIN_LOCK Lock;
    LIST_ENTRY Registrations;
    BOOLEAN AllowMultipleCallbacks;
    USHORT NameLength; /* bytes */
    PWCH Name;
} CALLBACK_OBJECT;

typedef struct _EXP_CALLBACK_REGISTRATION {
    LIST_ENTRY Link;
    PCALLBACK_OBJECT Object;
    PCALLBACK_FUNCTION Function;
    PVOID Context;
    ULONG Busy;
    BOOLEAN UnregisterWaiting;
    KEVENT Idle;
} EXP_CALLBACK_REGISTRATION, *PEXP_CALLBACK_REGISTRATION;

static VOID ExpDeleteCallbackObject(PVOID Object)
{
    PCALLBACK_OBJECT cb = Object;
    while (!IsListEmpty(&cb->Registrations))
        free(
            CONTAINING_RECORD(RemoveHeadList(&cb->Registrations), EXP_CALLBACK_REGISTRATION, Link));
    free(cb->Name);
}

static OBJECT_TYPE ExpCallbackObjectType = {"Callback", ExpDeleteCallbackObject, 20};

static inline WCHAR ExpUpcase(WCHAR c)
{
    return (c >= 'a' && c <= 'z') ? (WCHAR)(c - 'a' + 'A') : c;
}

static BOOLEAN ExpNameEqual(PCALLBACK_OBJECT cb, PCUNICODE_STRING Name, BOOLEAN CaseInsensitive)
{
    if (cb->NameLength != Name->Length)
        return FALSE;
    for (USHORT i = 0; i < Name->Length / sizeof(WCHAR); i++) {
        WCHAR a = cb->Name[i], b = Name->Buffer[i];
        if (CaseInsensitive ? ExpUpcase(a) != ExpUpcase(b) : a != b)
            return FALSE;
    }
    return TRUE;
}

static PCALLBACK_OBJECT ExpNewCallbackObject(struct kmrig_runtime *rt, PCUNICODE_STRING Name,
                                             BOOLEAN AllowMultiple)
{
    PCALLBACK_OBJECT cb = ObpCreateObject(rt, &ExpCallbackObjectType, sizeof(CALLBACK_OBJECT));
    if (!cb)
        return NULL;
    cb->Name = malloc(Name->Length ? Name->Length : 1);
    if (!cb->Name) {
        ObfDereferenceObject(cb);
        return NULL;
    }
    memcpy(cb->Name, Name->Buffer, Name->Length);
    cb->NameLength = Name->Length;
    KeInitializeSpinLock(&cb->Lock);
    InitializeListHead(&cb->Registrations);
    cb->AllowMultipleCallbacks = AllowMultiple;
    return cb;
}

static const WCHAR ExpSetSystemTime[] = L"\\Callback\\SetSystemTime";
static const WCHAR ExpPowerState[] = L"\\Callback\\PowerState";
static const WCHAR ExpProcessorAdd[] = L"\\Callback\\ProcessorAdd";

NTSTATUS ExpInitializeCallbacks(struct kmrig_runtime *rt)
{
    const WCHAR *names[] = {ExpSetSystemTime, ExpPowerState, ExpProcessorAdd};
    const USHORT lengths[] = {sizeof(ExpSetSystemTime) - 2, sizeof(ExpPowerState) - 2,
                              sizeof(ExpProcessorAdd) - 2};
    for (int i = 0; i < 3; i++) {
        UNICODE_STRING n = {lengths[i], lengths[i] + 2, (PWCH)names[i]};
        PCALLBACK_OBJECT cb = ExpNewCallbackObject(rt, &n, TRUE);
        if (!cb) {
            ExpShutdownCallbacks(rt);
            return STATUS_INSUFFICIENT_RESOURCES;
        }
        InsertTailList(&rt->Ex->CallbackList, &cb->Link);
    }
    return STATUS_SUCCESS;
}

VOID ExpShutdownCallbacks(struct kmrig_runtime *rt)
{
    PEXP_STATE ex = rt->Ex;
    while (!IsListEmpty(&ex->CallbackList))
        ObfDereferenceObject(
            CONTAINING_RECORD(RemoveHeadList(&ex->CallbackList), CALLBACK_OBJECT, Link));
}

NTSTATUS NTAPI ExCreateCallback(PCALLBACK_OBJECT *CallbackObject,
                                POBJECT_ATTRIBUTES ObjectAttributes, BOOLEAN Create,
                                BOOLEAN AllowMultipleCallbacks)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    struct kmrig_runtime *rt = KiRuntime();
    PEXP_STATE ex = rt->Ex;
    if (!CallbackObject || !ObjectAttributes)
        return STATUS_INVALID_PARAMETER;
    PUNICODE_STRING name = ObjectAttributes->ObjectName;
    if (!name || !name->Buffer || name->Length == 0)
        return STATUS_UNSUCCESSFUL; /* unnamed callback objects are not allowed */
    if (ObjectAttributes->RootDirectory)
        return STATUS_INVALID_PARAMETER; /* names are full paths in the instance's table */
    BOOLEAN ci = (ObjectAttributes->Attributes & OBJ_CASE_INSENSITIVE) != 0;

    pthread_mutex_lock(&ex->ListLock);
    for (PLIST_ENTRY e = ex->CallbackList.Flink; e != &ex->CallbackList; e = e->Flink) {
        PCALLBACK_OBJECT cb = CONTAINING_RECORD(e, CALLBACK_OBJECT, Link);
        if (ExpNameEqual(cb, name, ci)) {
            ObfReferenceObject(cb);
            pthread_mutex_unlock(&ex->ListLock);
            *CallbackObject = cb;
            return STATUS_SUCCESS;
        }
    }
    if (!Create) {
        pthread_mutex_unlock(&ex->ListLock);
        return STATUS_OBJECT_NAME_NOT_FOUND;
    }
    PCALLBACK_OBJECT cb = ExpNewCallbackObject(rt, name, AllowMultipleCallbacks);
    if (!cb) {
        pthread_mutex_unlock(&ex->ListLock);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    ObfReferenceObject(cb); /* the caller's; the table keeps the creation reference */
    InsertTailList(&ex->CallbackList, &cb->Link);
    pthread_mutex_unlock(&ex->ListLock);
    *CallbackObject = cb;
    return STATUS_SUCCESS;
}

PVOID NTAPI ExRegisterCallback(PCALLBACK_OBJECT CallbackObject, PCALLBACK_FUNCTION CallbackFunction,
                               PVOID CallbackContext)
{
    VF_IRQL_MAX(APC_LEVEL);
    PEXP_CALLBACK_REGISTRATION reg = calloc(1, sizeof(*reg));
    if (!reg)
        return NULL;
    reg->Object = CallbackObject;
    reg->Function = CallbackFunction;
    reg->Context = CallbackContext;
    KeInitializeEvent(&reg->Idle, SynchronizationEvent, FALSE);
    KIRQL old;
    KeAcquireSpinLock(&CallbackObject->Lock, &old);
    if (!CallbackObject->AllowMultipleCallbacks && !IsListEmpty(&CallbackObject->Registrations)) {
        KeReleaseSpinLock(&CallbackObject->Lock, old);
        free(reg);
        return NULL;
    }
    InsertTailList(&CallbackObject->Registrations, &reg->Link);
    KeReleaseSpinLock(&CallbackObject->Lock, old);
    ObfReferenceObject(CallbackObject); /* the registration's */
    return reg;
}

VOID NTAPI ExUnregisterCallback(PVOID CallbackRegistration)
{
    VF_IRQL_MAX(APC_LEVEL);
    PEXP_CALLBACK_REGISTRATION reg = CallbackRegistration;
    PCALLBACK_OBJECT cb = reg->Object;
    KIRQL old;
    KeAcquireSpinLock(&cb->Lock, &old);
    while (reg->Busy) {
        reg->UnregisterWaiting = TRUE;
        KeReleaseSpinLock(&cb->Lock, old);
        KeWaitForSingleObject(&reg->Idle, Executive, KernelMode, FALSE, NULL);
        KeAcquireSpinLock(&cb->Lock, &old);
    }
    RemoveEntryList(&reg->Link);
    KeReleaseSpinLock(&cb->Lock, old);
    free(reg);
    ObfDereferenceObject(cb);
}

VOID NTAPI ExNotifyCallback(PVOID CallbackObject, PVOID Argument1, PVOID Argument2)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    PCALLBACK_OBJECT cb = CallbackObject;
    KIRQL old;
    KeAcquireSpinLock(&cb->Lock, &old);
    PLIST_ENTRY e = cb->Registrations.Flink;
    while (e != &cb->Registrations) {
        PEXP_CALLBACK_REGISTRATION reg = CONTAINING_RECORD(e, EXP_CALLBACK_REGISTRATION, Link);
        if (reg->UnregisterWaiting) {
            e = e->Flink;
            continue;
        }
        reg->Busy++;
        KeReleaseSpinLock(&cb->Lock, old);
        reg->Function(reg->Context, Argument1, Argument2);
        KeAcquireSpinLock(&cb->Lock, &old);
        e = e->Flink;
        BOOLEAN wake = --reg->Busy == 0 && reg->UnregisterWaiting;
        if (wake)
            KeSetEvent(&reg->Idle, 0, FALSE);
    }
    KeReleaseSpinLock(&cb->Lock, old);
}

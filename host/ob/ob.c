/*
 * Objects and handles. Objects created through Ob carry an OBJECT_HEADER in front of the body with
 * pointer and handle counts; the last dereference runs the type's delete procedure and frees the
 * memory. Handles live in one table per instance; a kernel handle is an index with the high bits
 * set as on x64 Windows.
 */
#include "ob.h"
#include "vf.h"

#include <stdlib.h>

OBJECT_TYPE ObpThreadType = {"Thread", NULL, 1};
OBJECT_TYPE ObpProcessType = {"Process", NULL, 2};
OBJECT_TYPE ObpEventType = {"Event", NULL, 3};
OBJECT_TYPE ObpSemaphoreType = {"Semaphore", NULL, 4};
OBJECT_TYPE ObpFileType = {"File", NULL, 5};
OBJECT_TYPE ObpDeviceType = {"Device", NULL, 6};
OBJECT_TYPE ObpDriverType = {"Driver", NULL, 7};
OBJECT_TYPE ObpKeyType = {"Key", CmpDeleteKeyObject, 8}; /* host/cm/cm.c */
OBJECT_TYPE ObpTokenType = {"Token", NULL, 9};

/* The WDK exports POBJECT_TYPE *XxxType: a pointer to the type pointer. Types are constant
 * descriptors shared by every instance (like a vtable), not runtime state. */
static POBJECT_TYPE ObpThreadTypeP = &ObpThreadType, ObpProcessTypeP = &ObpProcessType,
                    ObpEventTypeP = &ObpEventType, ObpSemaphoreTypeP = &ObpSemaphoreType,
                    ObpFileTypeP = &ObpFileType, ObpDeviceTypeP = &ObpDeviceType,
                    ObpDriverTypeP = &ObpDriverType, ObpKeyTypeP = &ObpKeyType,
                    ObpTokenTypeP = &ObpTokenType;
POBJECT_TYPE *PsThreadType = &ObpThreadTypeP;
POBJECT_TYPE *PsProcessType = &ObpProcessTypeP;
POBJECT_TYPE *ExEventObjectType = &ObpEventTypeP;
POBJECT_TYPE *ExSemaphoreObjectType = &ObpSemaphoreTypeP;
POBJECT_TYPE *IoFileObjectType = &ObpFileTypeP;
POBJECT_TYPE *IoDeviceObjectType = &ObpDeviceTypeP;
POBJECT_TYPE *IoDriverObjectType = &ObpDriverTypeP;
POBJECT_TYPE *CmKeyObjectType = &ObpKeyTypeP;
POBJECT_TYPE *SeTokenObjectType = &ObpTokenTypeP;

typedef struct _OBP_HANDLE_ENTRY {
    PVOID Object;
    ACCESS_MASK GrantedAccess;
    ULONG Attributes;
} OBP_HANDLE_ENTRY;

typedef struct _OBP_STATE {
    pthread_mutex_t Lock;
    OBP_HANDLE_ENTRY *Table;
    ULONG Capacity;
    ULONG FreeHint;
    ULONG Count;
} OBP_STATE;

#define OBP_KERNEL_HANDLE_BIT ((ULONG_PTR)0xFFFFFFFF80000000ull)

NTSTATUS ObpInitialize(struct kmrig_runtime *rt)
{
    OBP_STATE *ob = calloc(1, sizeof *ob);
    if (!ob)
        return STATUS_INSUFFICIENT_RESOURCES;
    pthread_mutex_init(&ob->Lock, NULL);
    rt->Ob = ob;
    return STATUS_SUCCESS;
}

VOID ObpShutdown(struct kmrig_runtime *rt)
{
    OBP_STATE *ob = rt->Ob;
    if (ob->Count)
        KmLog(rt, KMRIG_LOG_WARN, "%u handle(s) still open at shutdown", ob->Count);
    free(ob->Table);
    pthread_mutex_destroy(&ob->Lock);
    free(ob);
    rt->Ob = NULL;
}

PVOID ObpCreateObject(struct kmrig_runtime *rt, POBJECT_TYPE Type, SIZE_T BodySize)
{
    POBJECT_HEADER h = calloc(1, FIELD_OFFSET(OBJECT_HEADER, Body) + BodySize);
    if (!h)
        return NULL;
    h->Magic = OBP_HEADER_MAGIC;
    h->Type = Type;
    h->Runtime = rt;
    atomic_store(&h->PointerCount, 1);
    return &h->Body;
}

BOOLEAN ObpIsObject(PVOID p)
{
    return p && OBJECT_TO_OBJECT_HEADER(p)->Magic == OBP_HEADER_MAGIC;
}

static POBJECT_HEADER ObpHeader(PVOID Object, const char *Routine)
{
    if (!ObpIsObject(Object))
        KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, VF_NOT_AN_OBJECT, (ULONG_PTR)Object, 0,
                     (ULONG_PTR)Routine);
    return OBJECT_TO_OBJECT_HEADER(Object);
}

LONG_PTR FASTCALL ObfReferenceObject(PVOID Object)
{
    POBJECT_HEADER h = ObpHeader(Object, __func__);
    LONG_PTR n = atomic_fetch_add(&h->PointerCount, 1) + 1;
    if (n <= 1)
        KeBugCheckEx(0x18 /* REFERENCE_BY_POINTER */, (ULONG_PTR)h->Type, (ULONG_PTR)Object,
                     (ULONG_PTR)n, 0);
    return n;
}

LONG_PTR FASTCALL ObfDereferenceObject(PVOID Object)
{
    POBJECT_HEADER h = ObpHeader(Object, __func__);
    LONG_PTR n = atomic_fetch_sub(&h->PointerCount, 1) - 1;
    if (n < 0)
        KeBugCheckEx(0x18 /* REFERENCE_BY_POINTER */, (ULONG_PTR)h->Type, (ULONG_PTR)Object,
                     (ULONG_PTR)n, 0);
    if (n == 0) {
        if (h->Type->DeleteProcedure)
            h->Type->DeleteProcedure(Object);
        h->Magic = 0;
        free(h);
    }
    return n;
}

#undef ObReferenceObject
#undef ObDereferenceObject
LONG_PTR NTAPI ObReferenceObject(PVOID Object)
{
    return ObfReferenceObject(Object);
}

LONG_PTR NTAPI ObDereferenceObject(PVOID Object)
{
    return ObfDereferenceObject(Object);
}

VOID NTAPI ObDereferenceObjectDeferDelete(PVOID Object)
{
    ObfDereferenceObject(Object);
}

LONG NTAPI ObGetObjectPointerCount(PVOID Object)
{
    return (LONG)atomic_load(&ObpHeader(Object, __func__)->PointerCount);
}

BOOLEAN NTAPI ObReferenceObjectSafe(PVOID Object)
{
    POBJECT_HEADER h = ObpHeader(Object, __func__);
    long long n = atomic_load(&h->PointerCount);
    while (n > 0)
        if (atomic_compare_exchange_weak(&h->PointerCount, &n, n + 1))
            return TRUE;
    return FALSE;
}

NTSTATUS NTAPI ObReferenceObjectByPointer(PVOID Object, ACCESS_MASK DesiredAccess,
                                          POBJECT_TYPE ObjectType, KPROCESSOR_MODE AccessMode)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    POBJECT_HEADER h = ObpHeader(Object, __func__);
    if (ObjectType && h->Type != ObjectType)
        return STATUS_OBJECT_TYPE_MISMATCH;
    ObfReferenceObject(Object);
    return STATUS_SUCCESS;
}

NTSTATUS ObpCreateHandle(struct kmrig_runtime *rt, PVOID Object, ACCESS_MASK Access,
                         ULONG Attributes, PHANDLE Handle)
{
    OBP_STATE *ob = rt->Ob;
    pthread_mutex_lock(&ob->Lock);
    ULONG i = ob->FreeHint;
    while (i < ob->Capacity && ob->Table[i].Object)
        i++;
    if (i == ob->Capacity) {
        ULONG cap = ob->Capacity ? ob->Capacity * 2 : 64;
        if (cap > (1u << 24)) {
            pthread_mutex_unlock(&ob->Lock);
            return STATUS_INSUFFICIENT_RESOURCES;
        }
        OBP_HANDLE_ENTRY *t = realloc(ob->Table, cap * sizeof *t);
        if (!t) {
            pthread_mutex_unlock(&ob->Lock);
            return STATUS_INSUFFICIENT_RESOURCES;
        }
        for (ULONG j = ob->Capacity; j < cap; j++)
            t[j].Object = NULL;
        ob->Table = t;
        ob->Capacity = cap;
    }
    ObfReferenceObject(Object);
    atomic_fetch_add(&OBJECT_TO_OBJECT_HEADER(Object)->HandleCount, 1);
    ob->Table[i].Object = Object;
    ob->Table[i].GrantedAccess = Access;
    ob->Table[i].Attributes = Attributes;
    ob->FreeHint = i + 1;
    ob->Count++;
    pthread_mutex_unlock(&ob->Lock);
    *Handle = (HANDLE)(OBP_KERNEL_HANDLE_BIT | ((ULONG_PTR)(i + 1) << 2));
    return STATUS_SUCCESS;
}

static BOOLEAN ObpDecodeHandle(OBP_STATE *ob, HANDLE Handle, ULONG *Index)
{
    ULONG_PTR v = (ULONG_PTR)Handle;
    if ((v & OBP_KERNEL_HANDLE_BIT) != OBP_KERNEL_HANDLE_BIT || (v & 3))
        return FALSE;
    ULONG_PTR i = ((v & ~OBP_KERNEL_HANDLE_BIT) >> 2);
    if (i == 0 || i > ob->Capacity || !ob->Table[i - 1].Object)
        return FALSE;
    *Index = (ULONG)(i - 1);
    return TRUE;
}

NTSTATUS NTAPI ObReferenceObjectByHandle(HANDLE Handle, ACCESS_MASK DesiredAccess,
                                         POBJECT_TYPE ObjectType, KPROCESSOR_MODE AccessMode,
                                         PVOID *Object,
                                         POBJECT_HANDLE_INFORMATION HandleInformation)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    PKTHREAD t = KiCurrentThread();
    struct kmrig_runtime *rt = t->Runtime;
    *Object = NULL;
    if (Handle == NtCurrentThread()) {
        if (ObjectType && ObjectType != &ObpThreadType)
            return STATUS_OBJECT_TYPE_MISMATCH;
        if (!t->ObObject)
            return STATUS_INVALID_HANDLE; /* the harness's own thread is not an Ob object */
        ObfReferenceObject(t);
        *Object = t;
        if (HandleInformation) {
            HandleInformation->GrantedAccess = THREAD_ALL_ACCESS;
            HandleInformation->HandleAttributes = 0;
        }
        return STATUS_SUCCESS;
    }
    OBP_STATE *ob = rt->Ob;
    pthread_mutex_lock(&ob->Lock);
    ULONG i;
    if (!ObpDecodeHandle(ob, Handle, &i)) {
        pthread_mutex_unlock(&ob->Lock);
        return STATUS_INVALID_HANDLE;
    }
    OBP_HANDLE_ENTRY e = ob->Table[i];
    if (ObjectType && OBJECT_TO_OBJECT_HEADER(e.Object)->Type != ObjectType) {
        pthread_mutex_unlock(&ob->Lock);
        return STATUS_OBJECT_TYPE_MISMATCH;
    }
    if (AccessMode == UserMode && (DesiredAccess & ~e.GrantedAccess)) {
        pthread_mutex_unlock(&ob->Lock);
        return STATUS_ACCESS_DENIED;
    }
    ObfReferenceObject(e.Object);
    pthread_mutex_unlock(&ob->Lock);
    *Object = e.Object;
    if (HandleInformation) {
        HandleInformation->GrantedAccess = e.GrantedAccess;
        HandleInformation->HandleAttributes = e.Attributes;
    }
    return STATUS_SUCCESS;
}

NTSTATUS NTAPI ZwClose(HANDLE Handle)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    struct kmrig_runtime *rt = KiCurrentThread()->Runtime;
    OBP_STATE *ob = rt->Ob;
    pthread_mutex_lock(&ob->Lock);
    ULONG i;
    if (!ObpDecodeHandle(ob, Handle, &i)) {
        pthread_mutex_unlock(&ob->Lock);
        return STATUS_INVALID_HANDLE;
    }
    PVOID obj = ob->Table[i].Object;
    ob->Table[i].Object = NULL;
    if (i < ob->FreeHint)
        ob->FreeHint = i;
    ob->Count--;
    pthread_mutex_unlock(&ob->Lock);
    POBJECT_HEADER h = OBJECT_TO_OBJECT_HEADER(obj);
    if (atomic_fetch_sub(&h->HandleCount, 1) == 1) {
        /* As NT's ObpDecrementHandleCount: the type's close procedure, then the name check. */
        if (h->Type->CloseProcedure)
            h->Type->CloseProcedure(obj);
        ObpDeleteNameCheck(obj);
    }
    ObfDereferenceObject(obj);
    return STATUS_SUCCESS;
}

#undef InitializeObjectAttributes
VOID NTAPI InitializeObjectAttributes(POBJECT_ATTRIBUTES p, PUNICODE_STRING n, ULONG a, HANDLE r,
                                      PVOID s)
{
    p->Length = sizeof(OBJECT_ATTRIBUTES);
    p->RootDirectory = r;
    p->Attributes = a;
    p->ObjectName = n;
    p->SecurityDescriptor = s;
    p->SecurityQualityOfService = NULL;
}

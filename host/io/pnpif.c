/*
 * Device interfaces and PnP notifications.
 *
 * An interface instance is named \??\<instance path with '\' as '#'>#{class}[\<reference>]. Its
 * symbolic link object is the part before the reference (\??\...#{class}) and points at the
 * PDO's name, so opening the name reaches the top of the device's stack with the reference
 * string as the file name ("\ref"), as on NT. Its registry key is
 * ...\Control\DeviceClasses\{class}\##?#<instance>#{class}\#<reference> (DeviceInstance and
 * SymbolicLink values; "Device Parameters" under it; a volatile "Control" key with Linked = 1
 * while enabled).
 *
 * Notifications. Interface arrival/removal and hardware-profile events are delivered by the PnP
 * worker at PASSIVE_LEVEL, in order. Target-device events (query-remove, remove-complete,
 * remove-cancelled, custom) are delivered on the thread doing the removal or the report, at
 * PASSIVE_LEVEL, as NT's PnP manager does from its own thread. A callback may unregister
 * itself (or another entry) while it runs: the entry is freed when no delivery uses it.
 */
#include "pnp.h"
#include "cm.h"
#include "rtlp.h"

#include <stdlib.h>
#include <string.h>

const GUID GUID_HWPROFILE_QUERY_CHANGE = {
    0xcb3a4001L, 0x46f0, 0x11d0, {0xb0, 0x8f, 0x00, 0x60, 0x97, 0x13, 0x05, 0x3f}};
const GUID GUID_HWPROFILE_CHANGE_CANCELLED = {
    0xcb3a4002L, 0x46f0, 0x11d0, {0xb0, 0x8f, 0x00, 0x60, 0x97, 0x13, 0x05, 0x3f}};
const GUID GUID_HWPROFILE_CHANGE_COMPLETE = {
    0xcb3a4003L, 0x46f0, 0x11d0, {0xb0, 0x8f, 0x00, 0x60, 0x97, 0x13, 0x05, 0x3f}};
const GUID GUID_DEVICE_INTERFACE_ARRIVAL = {
    0xcb3a4004L, 0x46f0, 0x11d0, {0xb0, 0x8f, 0x00, 0x60, 0x97, 0x13, 0x05, 0x3f}};
const GUID GUID_DEVICE_INTERFACE_REMOVAL = {
    0xcb3a4005L, 0x46f0, 0x11d0, {0xb0, 0x8f, 0x00, 0x60, 0x97, 0x13, 0x05, 0x3f}};
const GUID GUID_TARGET_DEVICE_QUERY_REMOVE = {
    0xcb3a4006L, 0x46f0, 0x11d0, {0xb0, 0x8f, 0x00, 0x60, 0x97, 0x13, 0x05, 0x3f}};
const GUID GUID_TARGET_DEVICE_REMOVE_CANCELLED = {
    0xcb3a4007L, 0x46f0, 0x11d0, {0xb0, 0x8f, 0x00, 0x60, 0x97, 0x13, 0x05, 0x3f}};
const GUID GUID_TARGET_DEVICE_REMOVE_COMPLETE = {
    0xcb3a4008L, 0x46f0, 0x11d0, {0xb0, 0x8f, 0x00, 0x60, 0x97, 0x13, 0x05, 0x3f}};

#define IOP_DEVICE_CLASSES                                                                         \
    L"\\Registry\\Machine\\System\\CurrentControlSet\\Control\\DeviceClasses\\"

static BOOLEAN IopGuidEqual(const GUID *a, const GUID *b)
{
    return !memcmp(a, b, sizeof(GUID));
}

/* ---- notification entries ---- */

typedef struct _IOP_PNP_NOTIFY {
    LIST_ENTRY Link;
    IO_NOTIFICATION_EVENT_CATEGORY Category;
    PDRIVER_NOTIFICATION_CALLBACK_ROUTINE Callback;
    PVOID Context;
    PDRIVER_OBJECT Driver; /* referenced while registered */
    GUID Class;            /* interface change */
    PDEVICE_OBJECT Target; /* target device change: the PDO (referenced) */
    PFILE_OBJECT File;     /* ... and the file object given */
    LONG Users;            /* deliveries in progress + 1 while registered */
    BOOLEAN Unregistered;
} IOP_PNP_NOTIFY, *PIOP_PNP_NOTIFY;

static VOID IopPnpReleaseNotify(struct kmrig_runtime *rt, PIOP_PNP_NOTIFY n)
{
    PIOP_PNP_STATE pnp = IopPnp(rt);
    pthread_mutex_lock(&pnp->Lock);
    BOOLEAN last = --n->Users == 0;
    pthread_mutex_unlock(&pnp->Lock);
    if (!last)
        return;
    if (n->Target)
        ObfDereferenceObject(n->Target);
    if (n->Driver)
        ObfDereferenceObject(n->Driver);
    free(n);
}

/* The live entries of a category (and class / target) with a delivery reference each. */
static ULONG IopPnpCollect(struct kmrig_runtime *rt, IO_NOTIFICATION_EVENT_CATEGORY Category,
                           const GUID *Class, PDEVICE_OBJECT Target, PIOP_PNP_NOTIFY **Out)
{
    PIOP_PNP_STATE pnp = IopPnp(rt);
    pthread_mutex_lock(&pnp->Lock);
    ULONG cap = 0, count = 0;
    for (PLIST_ENTRY e = pnp->Notifications.Flink; e != &pnp->Notifications; e = e->Flink)
        cap++;
    PIOP_PNP_NOTIFY *v = malloc((cap + 1) * sizeof *v);
    for (PLIST_ENTRY e = pnp->Notifications.Flink; v && e != &pnp->Notifications; e = e->Flink) {
        PIOP_PNP_NOTIFY n = CONTAINING_RECORD(e, IOP_PNP_NOTIFY, Link);
        if (n->Unregistered || n->Category != Category)
            continue;
        if (Class && !IopGuidEqual(&n->Class, Class))
            continue;
        if (Target && n->Target != Target)
            continue;
        n->Users++;
        v[count++] = n;
    }
    pthread_mutex_unlock(&pnp->Lock);
    *Out = v;
    return count;
}

static BOOLEAN IopPnpStillRegistered(struct kmrig_runtime *rt, PIOP_PNP_NOTIFY n)
{
    pthread_mutex_lock(&IopPnp(rt)->Lock);
    BOOLEAN live = !n->Unregistered;
    pthread_mutex_unlock(&IopPnp(rt)->Lock);
    return live;
}

/* Work item: an interface change to the callbacks of its class (or one entry, for
 * INCLUDE_EXISTING_INTERFACES). */
typedef struct _IOP_IF_EVENT {
    GUID Event;
    GUID Class;
    PIOP_PNP_NOTIFY Only; /* a delivery reference on it */
    UNICODE_STRING Link;
    WCHAR Buffer[1];
} IOP_IF_EVENT;

static VOID IopPnpDeliverInterface(struct kmrig_runtime *rt, PIOP_PNP_WORK w)
{
    IOP_IF_EVENT *ev = w->Data;
    ev->Link.Buffer = ev->Buffer;
    DEVICE_INTERFACE_CHANGE_NOTIFICATION n;
    n.Version = 1;
    n.Size = sizeof n;
    n.Event = ev->Event;
    n.InterfaceClassGuid = ev->Class;
    n.SymbolicLinkName = &ev->Link;
    PIOP_PNP_NOTIFY *v = NULL;
    ULONG count;
    if (ev->Only) {
        v = malloc(sizeof *v);
        count = v ? 1 : 0;
        if (v)
            v[0] = ev->Only;
        else
            IopPnpReleaseNotify(rt, ev->Only);
    } else {
        count = IopPnpCollect(rt, EventCategoryDeviceInterfaceChange, &ev->Class, NULL, &v);
    }
    for (ULONG i = 0; i < count; i++) {
        if (IopPnpStillRegistered(rt, v[i]))
            v[i]->Callback(&n, v[i]->Context);
        IopPnpReleaseNotify(rt, v[i]);
    }
    free(v);
}

static VOID IopPnpQueueInterfaceEvent(struct kmrig_runtime *rt, const GUID *Event,
                                      PIOP_DEVICE_INTERFACE i, PIOP_PNP_NOTIFY Only)
{
    IOP_IF_EVENT *ev = malloc(sizeof *ev + i->SymbolicLink.Length);
    if (!ev) {
        if (Only)
            IopPnpReleaseNotify(rt, Only);
        return;
    }
    ev->Event = *Event;
    ev->Class = i->Class;
    ev->Only = Only;
    memcpy(ev->Buffer, i->SymbolicLink.Buffer, i->SymbolicLink.Length);
    ev->Buffer[i->SymbolicLink.Length / sizeof(WCHAR)] = 0;
    ev->Link.Length = i->SymbolicLink.Length;
    ev->Link.MaximumLength = (USHORT)(i->SymbolicLink.Length + sizeof(WCHAR));
    IopPnpQueue(rt, IopPnpDeliverInterface, NULL, 0, ev);
}

NTSTATUS NTAPI IoRegisterPlugPlayNotification(IO_NOTIFICATION_EVENT_CATEGORY EventCategory,
                                              ULONG EventCategoryFlags, PVOID EventCategoryData,
                                              PDRIVER_OBJECT DriverObject,
                                              PDRIVER_NOTIFICATION_CALLBACK_ROUTINE CallbackRoutine,
                                              PVOID Context, PVOID *NotificationEntry)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    struct kmrig_runtime *rt = IopRuntime();
    PIOP_PNP_STATE pnp = IopPnp(rt);
    if (NotificationEntry)
        *NotificationEntry = NULL;
    if (!CallbackRoutine || !NotificationEntry || !DriverObject)
        return STATUS_INVALID_PARAMETER;
    PIOP_PNP_NOTIFY n = calloc(1, sizeof *n);
    if (!n)
        return STATUS_INSUFFICIENT_RESOURCES;
    n->Category = EventCategory;
    n->Callback = CallbackRoutine;
    n->Context = Context;
    n->Users = 1;
    switch (EventCategory) {
    case EventCategoryHardwareProfileChange:
        break;
    case EventCategoryDeviceInterfaceChange:
        if (!EventCategoryData) {
            free(n);
            return STATUS_INVALID_PARAMETER;
        }
        n->Class = *(const GUID *)EventCategoryData;
        break;
    case EventCategoryTargetDeviceChange: {
        PFILE_OBJECT f = EventCategoryData;
        if (!f || !ObpIsObject(f) || OBJECT_TO_OBJECT_HEADER(f)->Type != &ObpFileType) {
            free(n);
            return STATUS_INVALID_PARAMETER;
        }
        /* the target is the PDO at the bottom of the file's device stack */
        PDEVICE_OBJECT base = IoGetDeviceAttachmentBaseRef(f->DeviceObject);
        if (!IopPnpNodeOf(base)) {
            ObfDereferenceObject(base);
            free(n);
            return STATUS_INVALID_PARAMETER;
        }
        n->Target = base;
        n->File = f;
        break;
    }
    default:
        free(n);
        return STATUS_INVALID_PARAMETER;
    }
    ObfReferenceObject(DriverObject);
    n->Driver = DriverObject;
    pthread_mutex_lock(&pnp->Lock);
    InsertTailList(&pnp->Notifications, &n->Link);
    pthread_mutex_unlock(&pnp->Lock);
    if (EventCategory == EventCategoryDeviceInterfaceChange &&
        (EventCategoryFlags & PNPNOTIFY_DEVICE_INTERFACE_INCLUDE_EXISTING_INTERFACES)) {
        /* the interfaces enabled now, each an arrival for this entry alone */
        pthread_mutex_lock(&pnp->Lock);
        ULONG cap = 0;
        for (PLIST_ENTRY e = pnp->Interfaces.Flink; e != &pnp->Interfaces; e = e->Flink)
            cap++;
        PIOP_DEVICE_INTERFACE *v = malloc((cap + 1) * sizeof *v);
        ULONG count = 0;
        for (PLIST_ENTRY e = pnp->Interfaces.Flink; v && e != &pnp->Interfaces; e = e->Flink) {
            PIOP_DEVICE_INTERFACE i = CONTAINING_RECORD(e, IOP_DEVICE_INTERFACE, Link);
            if (i->Enabled && IopGuidEqual(&i->Class, &n->Class)) {
                v[count++] = i;
                n->Users++;
            }
        }
        pthread_mutex_unlock(&pnp->Lock);
        for (ULONG k = 0; k < count; k++)
            IopPnpQueueInterfaceEvent(rt, &GUID_DEVICE_INTERFACE_ARRIVAL, v[k], n);
        free(v);
    }
    *NotificationEntry = n;
    return STATUS_SUCCESS;
}

NTSTATUS NTAPI IoUnregisterPlugPlayNotification(PVOID NotificationEntry)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    struct kmrig_runtime *rt = IopRuntime();
    PIOP_PNP_STATE pnp = IopPnp(rt);
    PIOP_PNP_NOTIFY n = NotificationEntry;
    pthread_mutex_lock(&pnp->Lock);
    BOOLEAN found = FALSE;
    for (PLIST_ENTRY e = pnp->Notifications.Flink; e != &pnp->Notifications; e = e->Flink)
        if (e == &n->Link) {
            found = !n->Unregistered;
            break;
        }
    if (found) {
        n->Unregistered = TRUE;
        RemoveEntryList(&n->Link);
    }
    pthread_mutex_unlock(&pnp->Lock);
    if (!found)
        return STATUS_INVALID_PARAMETER;
    IopPnpReleaseNotify(rt, n);
    return STATUS_SUCCESS;
}

VOID IopPnpFreeNotifications(struct kmrig_runtime *rt)
{
    PIOP_PNP_STATE pnp = IopPnp(rt);
    for (;;) {
        pthread_mutex_lock(&pnp->Lock);
        PIOP_PNP_NOTIFY n = IsListEmpty(&pnp->Notifications)
                                ? NULL
                                : CONTAINING_RECORD(pnp->Notifications.Flink, IOP_PNP_NOTIFY, Link);
        if (n) {
            RemoveEntryList(&n->Link);
            n->Unregistered = TRUE;
        }
        pthread_mutex_unlock(&pnp->Lock);
        if (!n)
            return;
        KmLog(rt, KMRIG_LOG_WARN, "pnp: a PnP notification entry was never unregistered");
        IopPnpReleaseNotify(rt, n);
    }
}

NTSTATUS IopPnpNotifyTarget(struct kmrig_runtime *rt, PDEVICE_NODE Node, const GUID *Event)
{
    PIOP_PNP_NOTIFY *v;
    ULONG count = IopPnpCollect(rt, EventCategoryTargetDeviceChange, NULL, Node->Pdo, &v);
    NTSTATUS result = STATUS_SUCCESS;
    ULONG i = 0;
    BOOLEAN query = IopGuidEqual(Event, &GUID_TARGET_DEVICE_QUERY_REMOVE);
    for (; i < count; i++) {
        if (!IopPnpStillRegistered(rt, v[i]))
            continue;
        TARGET_DEVICE_REMOVAL_NOTIFICATION n;
        n.Version = 1;
        n.Size = sizeof n;
        n.Event = *Event;
        n.FileObject = v[i]->File;
        NTSTATUS s = v[i]->Callback(&n, v[i]->Context);
        if (query && !NT_SUCCESS(s)) {
            result = s;
            break;
        }
    }
    if (!NT_SUCCESS(result)) {
        /* the ones told of the query (the refusing one included) hear it is cancelled */
        for (ULONG k = 0; k <= i && k < count; k++) {
            if (!IopPnpStillRegistered(rt, v[k]))
                continue;
            TARGET_DEVICE_REMOVAL_NOTIFICATION n;
            n.Version = 1;
            n.Size = sizeof n;
            n.Event = GUID_TARGET_DEVICE_REMOVE_CANCELLED;
            n.FileObject = v[k]->File;
            v[k]->Callback(&n, v[k]->Context);
        }
    }
    for (ULONG k = 0; k < count; k++)
        IopPnpReleaseNotify(rt, v[k]);
    free(v);
    return result;
}

NTSTATUS NTAPI IoReportTargetDeviceChange(PDEVICE_OBJECT PhysicalDeviceObject,
                                          PVOID NotificationStructure)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    struct kmrig_runtime *rt = IopRuntime();
    PDEVICE_NODE node = IopPnpNodeOf(PhysicalDeviceObject);
    if (!node)
        KeBugCheckEx(PNP_DETECTED_FATAL_ERROR, IOP_PNP_FATAL_INVALID_PDO,
                     (ULONG_PTR)PhysicalDeviceObject, 0, 0);
    PTARGET_DEVICE_CUSTOM_NOTIFICATION c = NotificationStructure;
    if (!c || c->Size < FIELD_OFFSET(TARGET_DEVICE_CUSTOM_NOTIFICATION, CustomDataBuffer))
        return STATUS_INVALID_PARAMETER;
    /* the system events are the PnP manager's to send */
    if (IopGuidEqual(&c->Event, &GUID_TARGET_DEVICE_QUERY_REMOVE) ||
        IopGuidEqual(&c->Event, &GUID_TARGET_DEVICE_REMOVE_CANCELLED) ||
        IopGuidEqual(&c->Event, &GUID_TARGET_DEVICE_REMOVE_COMPLETE))
        return STATUS_INVALID_DEVICE_REQUEST;
    PIOP_PNP_NOTIFY *v;
    ULONG count = IopPnpCollect(rt, EventCategoryTargetDeviceChange, NULL, node->Pdo, &v);
    PTARGET_DEVICE_CUSTOM_NOTIFICATION copy = malloc(c->Size);
    for (ULONG i = 0; i < count; i++) {
        if (copy && IopPnpStillRegistered(rt, v[i])) {
            memcpy(copy, c, c->Size);
            copy->FileObject = v[i]->File;
            v[i]->Callback(copy, v[i]->Context);
        }
        IopPnpReleaseNotify(rt, v[i]);
    }
    free(v);
    if (!copy)
        return STATUS_INSUFFICIENT_RESOURCES;
    free(copy);
    return STATUS_SUCCESS;
}

NTSTATUS IopPnpHardwareProfileChange(struct kmrig_runtime *rt)
{
    PIOP_PNP_NOTIFY *v;
    ULONG count = IopPnpCollect(rt, EventCategoryHardwareProfileChange, NULL, NULL, &v);
    HWPROFILE_CHANGE_NOTIFICATION n = {1, sizeof n, GUID_HWPROFILE_QUERY_CHANGE};
    NTSTATUS result = STATUS_SUCCESS;
    ULONG i = 0;
    for (; i < count; i++)
        if (IopPnpStillRegistered(rt, v[i]) && !NT_SUCCESS(v[i]->Callback(&n, v[i]->Context))) {
            result = STATUS_PLUGPLAY_QUERY_VETOED;
            break;
        }
    n.Event = NT_SUCCESS(result) && result != STATUS_PLUGPLAY_QUERY_VETOED
                  ? GUID_HWPROFILE_CHANGE_COMPLETE
                  : GUID_HWPROFILE_CHANGE_CANCELLED;
    for (ULONG k = 0; k < count; k++) {
        if (IopPnpStillRegistered(rt, v[k]))
            v[k]->Callback(&n, v[k]->Context);
        IopPnpReleaseNotify(rt, v[k]);
    }
    free(v);
    return result;
}

/* ---- interfaces ---- */

static PIOP_DEVICE_INTERFACE IopPnpFindInterface(PIOP_PNP_STATE pnp, PCUNICODE_STRING Link)
{
    if (!Link || !Link->Buffer)
        return NULL;
    for (PLIST_ENTRY e = pnp->Interfaces.Flink; e != &pnp->Interfaces; e = e->Flink) {
        PIOP_DEVICE_INTERFACE i = CONTAINING_RECORD(e, IOP_DEVICE_INTERFACE, Link);
        if (RtlEqualUnicodeString(&i->SymbolicLink, Link, TRUE))
            return i;
    }
    /* the user-mode form \\?\... names the same instance */
    if (Link->Length >= 4 * sizeof(WCHAR) && Link->Buffer[0] == L'\\' && Link->Buffer[1] == L'\\') {
        UNICODE_STRING k = *Link;
        for (PLIST_ENTRY e = pnp->Interfaces.Flink; e != &pnp->Interfaces; e = e->Flink) {
            PIOP_DEVICE_INTERFACE i = CONTAINING_RECORD(e, IOP_DEVICE_INTERFACE, Link);
            UNICODE_STRING a = i->SymbolicLink, b = k;
            a.Buffer += 2, a.Length -= 4, b.Buffer += 2, b.Length -= 4;
            if (RtlEqualUnicodeString(&a, &b, TRUE))
                return i;
        }
    }
    return NULL;
}

static NTSTATUS IopPnpNewString(PUNICODE_STRING s, size_t Chars)
{
    s->Buffer = calloc(Chars + 1, sizeof(WCHAR));
    s->Length = 0;
    s->MaximumLength = (USHORT)((Chars + 1) * sizeof(WCHAR));
    return s->Buffer ? STATUS_SUCCESS : STATUS_INSUFFICIENT_RESOURCES;
}

static VOID IopPnpAppend(PUNICODE_STRING s, PCWSTR w, size_t n)
{
    memcpy(s->Buffer + s->Length / sizeof(WCHAR), w, n * sizeof(WCHAR));
    s->Length = (USHORT)(s->Length + n * sizeof(WCHAR));
}

NTSTATUS NTAPI IoRegisterDeviceInterface(PDEVICE_OBJECT PhysicalDeviceObject,
                                         const GUID *InterfaceClassGuid,
                                         PUNICODE_STRING ReferenceString,
                                         PUNICODE_STRING SymbolicLinkName)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    struct kmrig_runtime *rt = IopRuntime();
    PIOP_PNP_STATE pnp = IopPnp(rt);
    PDEVICE_NODE node = IopPnpNodeOf(PhysicalDeviceObject);
    if (!node || !node->InstancePath || !InterfaceClassGuid || !SymbolicLinkName)
        return STATUS_INVALID_DEVICE_REQUEST;
    size_t rl =
        ReferenceString && ReferenceString->Buffer ? ReferenceString->Length / sizeof(WCHAR) : 0;
    for (size_t k = 0; k < rl; k++)
        if (ReferenceString->Buffer[k] == L'\\' || ReferenceString->Buffer[k] == L'/' ||
            !ReferenceString->Buffer[k])
            return STATUS_INVALID_DEVICE_REQUEST;
    WCHAR guid[39];
    IopPnpGuidToString(InterfaceClassGuid, guid);
    size_t il = IopPnpWcslen(node->InstancePath);
    /* \??\<inst with #>#{guid}[\ref] */
    UNICODE_STRING link, object, ref;
    if (!NT_SUCCESS(IopPnpNewString(&link, 4 + il + 1 + 38 + 1 + rl)))
        return STATUS_INSUFFICIENT_RESOURCES;
    IopPnpAppend(&link, L"\\??\\", 4);
    for (size_t k = 0; k < il; k++) {
        WCHAR c = node->InstancePath[k] == L'\\' ? L'#' : node->InstancePath[k];
        IopPnpAppend(&link, &c, 1);
    }
    IopPnpAppend(&link, L"#", 1);
    IopPnpAppend(&link, guid, 38);
    object = link;
    object.Buffer = NULL;
    if (!NT_SUCCESS(IopPnpNewString(&object, link.Length / sizeof(WCHAR)))) {
        free(link.Buffer);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    IopPnpAppend(&object, link.Buffer, link.Length / sizeof(WCHAR));
    if (rl) {
        IopPnpAppend(&link, L"\\", 1);
        IopPnpAppend(&link, ReferenceString->Buffer, rl);
    }
    if (!NT_SUCCESS(IopPnpNewString(&ref, rl))) {
        free(link.Buffer);
        free(object.Buffer);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    if (rl)
        IopPnpAppend(&ref, ReferenceString->Buffer, rl);
    /* the caller's copy, freed with RtlFreeUnicodeString */
    PWCHAR out = ExAllocatePoolWithTag(PagedPool, link.Length + sizeof(WCHAR), RTLP_STRING_TAG);
    if (!out) {
        free(link.Buffer);
        free(object.Buffer);
        free(ref.Buffer);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    memcpy(out, link.Buffer, link.Length + sizeof(WCHAR));
    pthread_mutex_lock(&pnp->Lock);
    PIOP_DEVICE_INTERFACE i = IopPnpFindInterface(pnp, &link);
    pthread_mutex_unlock(&pnp->Lock);
    if (i) {
        /* registered already: the same name again */
        free(link.Buffer);
        free(object.Buffer);
        free(ref.Buffer);
    } else {
        i = calloc(1, sizeof *i);
        /* the key: DeviceClasses\{guid}\##?#<inst>#{guid}\#<ref> */
        size_t kl =
            IopPnpWcslen(IOP_DEVICE_CLASSES) + 38 + 1 + 4 + (object.Length / 2 - 4) + 2 + rl + 1;
        PWCHAR key = calloc(kl, sizeof(WCHAR));
        if (!i || !key) {
            free(i);
            free(key);
            free(link.Buffer);
            free(object.Buffer);
            free(ref.Buffer);
            ExFreePool(out);
            return STATUS_INSUFFICIENT_RESOURCES;
        }
        size_t p = 0;
        for (PCWSTR s = IOP_DEVICE_CLASSES; *s; s++)
            key[p++] = *s;
        memcpy(key + p, guid, 38 * sizeof(WCHAR));
        p += 38;
        key[p++] = L'\\';
        memcpy(key + p, L"##?#", 4 * sizeof(WCHAR));
        p += 4;
        memcpy(key + p, object.Buffer + 4, object.Length - 4 * sizeof(WCHAR));
        p += object.Length / 2 - 4;
        key[p++] = L'\\';
        key[p++] = L'#';
        memcpy(key + p, ref.Buffer, rl * sizeof(WCHAR));
        p += rl;
        key[p] = 0;
        i->Node = node;
        i->Class = *InterfaceClassGuid;
        i->SymbolicLink = link;
        i->LinkObject = object;
        i->Reference = ref;
        i->KeyPath = key;
        HANDLE h;
        if (NT_SUCCESS(CmpCreateKeyPathW(key, KEY_ALL_ACCESS, 0, &h, NULL))) {
            UNICODE_STRING v;
            RtlInitUnicodeString(&v, L"SymbolicLink");
            ZwSetValueKey(h, &v, 0, REG_SZ, link.Buffer, link.Length + sizeof(WCHAR));
            ZwClose(h);
        }
        /* DeviceInstance on the per-device key (the parent of #ref) */
        key[p - rl - 2] = 0;
        if (NT_SUCCESS(CmpCreateKeyPathW(key, KEY_ALL_ACCESS, 0, &h, NULL))) {
            UNICODE_STRING v;
            RtlInitUnicodeString(&v, L"DeviceInstance");
            ZwSetValueKey(h, &v, 0, REG_SZ, node->InstancePath, (ULONG)((il + 1) * sizeof(WCHAR)));
            ZwClose(h);
        }
        key[p - rl - 2] = L'\\';
        pthread_mutex_lock(&pnp->Lock);
        InsertTailList(&pnp->Interfaces, &i->Link);
        InsertTailList(&node->Interfaces, &i->NodeLink);
        pthread_mutex_unlock(&pnp->Lock);
    }
    SymbolicLinkName->Buffer = out;
    SymbolicLinkName->Length = i->SymbolicLink.Length;
    SymbolicLinkName->MaximumLength = (USHORT)(i->SymbolicLink.Length + sizeof(WCHAR));
    return STATUS_SUCCESS;
}

/* Is another enabled instance using the same link object? Lock held. */
static BOOLEAN IopPnpLinkShared(PIOP_PNP_STATE pnp, PIOP_DEVICE_INTERFACE i)
{
    for (PLIST_ENTRY e = pnp->Interfaces.Flink; e != &pnp->Interfaces; e = e->Flink) {
        PIOP_DEVICE_INTERFACE o = CONTAINING_RECORD(e, IOP_DEVICE_INTERFACE, Link);
        if (o != i && o->Enabled && RtlEqualUnicodeString(&o->LinkObject, &i->LinkObject, TRUE))
            return TRUE;
    }
    return FALSE;
}

static VOID IopPnpSetLinked(PIOP_DEVICE_INTERFACE i, ULONG Linked)
{
    size_t kl = IopPnpWcslen(i->KeyPath);
    PWCHAR p = malloc((kl + 10) * sizeof(WCHAR));
    if (!p)
        return;
    memcpy(p, i->KeyPath, kl * sizeof(WCHAR));
    memcpy(p + kl, L"\\Control", 9 * sizeof(WCHAR));
    HANDLE h;
    if (NT_SUCCESS(CmpCreateKeyPathW(p, KEY_ALL_ACCESS, REG_OPTION_VOLATILE, &h, NULL))) {
        UNICODE_STRING v;
        RtlInitUnicodeString(&v, L"Linked");
        ZwSetValueKey(h, &v, 0, REG_DWORD, &Linked, sizeof Linked);
        ZwClose(h);
    }
    free(p);
}

static NTSTATUS IopPnpSetState(struct kmrig_runtime *rt, PIOP_DEVICE_INTERFACE i, BOOLEAN Enable)
{
    PIOP_PNP_STATE pnp = IopPnp(rt);
    pthread_mutex_lock(&pnp->Lock);
    BOOLEAN was = i->Enabled;
    BOOLEAN shared = IopPnpLinkShared(pnp, i);
    if (was != Enable)
        i->Enabled = Enable;
    pthread_mutex_unlock(&pnp->Lock);
    if (was == Enable)
        return Enable ? STATUS_OBJECT_NAME_EXISTS : STATUS_OBJECT_NAME_NOT_FOUND;
    if (!shared) {
        if (Enable) {
            UNICODE_STRING target;
            RtlInitUnicodeString(&target, i->Node->PdoName);
            NTSTATUS s = i->Node->PdoName[0] ? IoCreateSymbolicLink(&i->LinkObject, &target)
                                             : STATUS_OBJECT_NAME_NOT_FOUND;
            if (!NT_SUCCESS(s)) {
                pthread_mutex_lock(&pnp->Lock);
                i->Enabled = FALSE;
                pthread_mutex_unlock(&pnp->Lock);
                return s;
            }
        } else {
            IoDeleteSymbolicLink(&i->LinkObject);
        }
    }
    IopPnpSetLinked(i, Enable);
    IopPnpQueueInterfaceEvent(
        rt, Enable ? &GUID_DEVICE_INTERFACE_ARRIVAL : &GUID_DEVICE_INTERFACE_REMOVAL, i, NULL);
    return STATUS_SUCCESS;
}

NTSTATUS NTAPI IoSetDeviceInterfaceState(PUNICODE_STRING SymbolicLinkName, BOOLEAN Enable)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    struct kmrig_runtime *rt = IopRuntime();
    PIOP_PNP_STATE pnp = IopPnp(rt);
    pthread_mutex_lock(&pnp->Lock);
    PIOP_DEVICE_INTERFACE i = IopPnpFindInterface(pnp, SymbolicLinkName);
    pthread_mutex_unlock(&pnp->Lock);
    if (!i)
        return STATUS_OBJECT_NAME_NOT_FOUND;
    if (Enable && i->Node->State != DevnodeStarted && i->Node->State != DevnodeDriversAdded)
        return STATUS_INVALID_DEVICE_STATE;
    NTSTATUS s = IopPnpSetState(rt, i, Enable);
    /* enabling an enabled interface, or disabling a disabled one, changes nothing: success */
    return s == STATUS_OBJECT_NAME_EXISTS || s == STATUS_OBJECT_NAME_NOT_FOUND ? STATUS_SUCCESS : s;
}

VOID IopPnpDisableInterfaces(struct kmrig_runtime *rt, PDEVICE_NODE Node)
{
    PIOP_PNP_STATE pnp = IopPnp(rt);
    for (;;) {
        PIOP_DEVICE_INTERFACE i = NULL;
        pthread_mutex_lock(&pnp->Lock);
        for (PLIST_ENTRY e = Node->Interfaces.Flink; e != &Node->Interfaces; e = e->Flink) {
            PIOP_DEVICE_INTERFACE o = CONTAINING_RECORD(e, IOP_DEVICE_INTERFACE, NodeLink);
            if (o->Enabled) {
                i = o;
                break;
            }
        }
        pthread_mutex_unlock(&pnp->Lock);
        if (!i)
            return;
        if (IopPnpSetState(rt, i, FALSE) != STATUS_SUCCESS)
            return;
    }
}

VOID IopPnpFreeInterfaces(struct kmrig_runtime *rt, PDEVICE_NODE Node)
{
    PIOP_PNP_STATE pnp = IopPnp(rt);
    IopPnpDisableInterfaces(rt, Node);
    pthread_mutex_lock(&pnp->Lock);
    while (!IsListEmpty(&Node->Interfaces)) {
        PIOP_DEVICE_INTERFACE i =
            CONTAINING_RECORD(RemoveHeadList(&Node->Interfaces), IOP_DEVICE_INTERFACE, NodeLink);
        RemoveEntryList(&i->Link);
        free(i->SymbolicLink.Buffer);
        free(i->LinkObject.Buffer);
        free(i->Reference.Buffer);
        free(i->KeyPath);
        free(i);
    }
    pthread_mutex_unlock(&pnp->Lock);
}

NTSTATUS NTAPI IoGetDeviceInterfaces(const GUID *InterfaceClassGuid,
                                     PDEVICE_OBJECT PhysicalDeviceObject, ULONG Flags,
                                     PZZWSTR *SymbolicLinkList)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    struct kmrig_runtime *rt = IopRuntime();
    PIOP_PNP_STATE pnp = IopPnp(rt);
    *SymbolicLinkList = NULL;
    if (!InterfaceClassGuid)
        return STATUS_INVALID_PARAMETER;
    PDEVICE_NODE node = NULL;
    if (PhysicalDeviceObject) {
        node = IopPnpNodeOf(PhysicalDeviceObject);
        if (!node)
            return STATUS_INVALID_DEVICE_REQUEST;
    }
    pthread_mutex_lock(&pnp->Lock);
    size_t chars = 1;
    for (int pass = 0; pass < 2; pass++) {
        PWCHAR out = NULL, p = NULL;
        if (pass) {
            out = ExAllocatePoolWithTag(PagedPool, (chars + 1) * sizeof(WCHAR), IOP_TAG_PNP);
            if (!out) {
                pthread_mutex_unlock(&pnp->Lock);
                return STATUS_INSUFFICIENT_RESOURCES;
            }
            p = out;
        }
        for (PLIST_ENTRY e = pnp->Interfaces.Flink; e != &pnp->Interfaces; e = e->Flink) {
            PIOP_DEVICE_INTERFACE i = CONTAINING_RECORD(e, IOP_DEVICE_INTERFACE, Link);
            if (!IopGuidEqual(&i->Class, InterfaceClassGuid) || (node && i->Node != node))
                continue;
            if (!i->Enabled && !(Flags & DEVICE_INTERFACE_INCLUDE_NONACTIVE))
                continue;
            size_t n = i->SymbolicLink.Length / sizeof(WCHAR);
            if (pass) {
                memcpy(p, i->SymbolicLink.Buffer, n * sizeof(WCHAR));
                p += n;
                *p++ = 0;
            } else {
                chars += n + 1;
            }
        }
        if (pass) {
            *p++ = 0;
            if (p == out + 1)
                *p = 0; /* an empty list: two NULs */
            *SymbolicLinkList = out;
        }
    }
    pthread_mutex_unlock(&pnp->Lock);
    return STATUS_SUCCESS;
}

NTSTATUS NTAPI IoGetDeviceInterfaceAlias(PUNICODE_STRING SymbolicLinkName,
                                         const GUID *AliasInterfaceClassGuid,
                                         PUNICODE_STRING AliasSymbolicLinkName)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    struct kmrig_runtime *rt = IopRuntime();
    PIOP_PNP_STATE pnp = IopPnp(rt);
    if (!SymbolicLinkName || !AliasInterfaceClassGuid || !AliasSymbolicLinkName)
        return STATUS_INVALID_PARAMETER;
    pthread_mutex_lock(&pnp->Lock);
    PIOP_DEVICE_INTERFACE i = IopPnpFindInterface(pnp, SymbolicLinkName);
    PIOP_DEVICE_INTERFACE alias = NULL;
    if (i)
        for (PLIST_ENTRY e = i->Node->Interfaces.Flink; e != &i->Node->Interfaces; e = e->Flink) {
            PIOP_DEVICE_INTERFACE o = CONTAINING_RECORD(e, IOP_DEVICE_INTERFACE, NodeLink);
            if (IopGuidEqual(&o->Class, AliasInterfaceClassGuid) &&
                RtlEqualUnicodeString(&o->Reference, &i->Reference, TRUE)) {
                alias = o;
                break;
            }
        }
    NTSTATUS s = !i       ? STATUS_INVALID_HANDLE
                 : !alias ? STATUS_OBJECT_NAME_NOT_FOUND
                          : STATUS_SUCCESS;
    PWCHAR out = NULL;
    if (alias) {
        out = ExAllocatePoolWithTag(PagedPool, alias->SymbolicLink.Length + sizeof(WCHAR),
                                    RTLP_STRING_TAG); /* freed with RtlFreeUnicodeString */
        if (out) {
            memcpy(out, alias->SymbolicLink.Buffer, alias->SymbolicLink.Length);
            out[alias->SymbolicLink.Length / sizeof(WCHAR)] = 0;
            AliasSymbolicLinkName->Buffer = out;
            AliasSymbolicLinkName->Length = alias->SymbolicLink.Length;
            AliasSymbolicLinkName->MaximumLength =
                (USHORT)(alias->SymbolicLink.Length + sizeof(WCHAR));
        } else {
            s = STATUS_INSUFFICIENT_RESOURCES;
        }
    }
    pthread_mutex_unlock(&pnp->Lock);
    return s;
}

NTSTATUS NTAPI IoOpenDeviceInterfaceRegistryKey(PUNICODE_STRING SymbolicLinkName,
                                                ACCESS_MASK DesiredAccess,
                                                PHANDLE DeviceInterfaceKey)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    struct kmrig_runtime *rt = IopRuntime();
    PIOP_PNP_STATE pnp = IopPnp(rt);
    *DeviceInterfaceKey = NULL;
    pthread_mutex_lock(&pnp->Lock);
    PIOP_DEVICE_INTERFACE i = IopPnpFindInterface(pnp, SymbolicLinkName);
    size_t kl = i ? IopPnpWcslen(i->KeyPath) : 0;
    PWCHAR p = i ? malloc((kl + 20) * sizeof(WCHAR)) : NULL;
    if (p) {
        memcpy(p, i->KeyPath, kl * sizeof(WCHAR));
        memcpy(p + kl, L"\\Device Parameters", 19 * sizeof(WCHAR));
    }
    pthread_mutex_unlock(&pnp->Lock);
    if (!i)
        return STATUS_OBJECT_NAME_NOT_FOUND;
    if (!p)
        return STATUS_INSUFFICIENT_RESOURCES;
    NTSTATUS s = CmpCreateKeyPathW(p, DesiredAccess, 0, DeviceInterfaceKey, NULL);
    free(p);
    return s;
}

/* Device queues (KDEVICE_QUEUE): the busy flag and a list ordered by insertion or sort key,
 * guarded by the queue's own spin lock. Callers are at DISPATCH_LEVEL, except
 * KeRemoveEntryDeviceQueue (<= DISPATCH_LEVEL). */
#include "rt.h"
#include "vf.h"

VOID NTAPI KeInitializeDeviceQueue(PKDEVICE_QUEUE DeviceQueue)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    DeviceQueue->Type = DeviceQueueObject;
    DeviceQueue->Size = sizeof(KDEVICE_QUEUE);
    InitializeListHead(&DeviceQueue->DeviceListHead);
    KeInitializeSpinLock(&DeviceQueue->Lock);
    DeviceQueue->Busy = FALSE;
}

static void KipCheckQueue(PKDEVICE_QUEUE q)
{
    if (q->Type != DeviceQueueObject)
        KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, VF_DEVICE_QUEUE_INVALID, (ULONG_PTR)q,
                     q->Type, 0);
}

BOOLEAN NTAPI KeInsertDeviceQueue(PKDEVICE_QUEUE DeviceQueue, PKDEVICE_QUEUE_ENTRY Entry)
{
    VF_IRQL_EQ(DISPATCH_LEVEL);
    KipCheckQueue(DeviceQueue);
    BOOLEAN inserted;
    KeAcquireSpinLockAtDpcLevel(&DeviceQueue->Lock);
    if (!DeviceQueue->Busy) {
        DeviceQueue->Busy = TRUE;
        inserted = FALSE;
    } else {
        InsertTailList(&DeviceQueue->DeviceListHead, &Entry->DeviceListEntry);
        inserted = TRUE;
    }
    Entry->Inserted = inserted;
    KeReleaseSpinLockFromDpcLevel(&DeviceQueue->Lock);
    return inserted;
}

BOOLEAN NTAPI KeInsertByKeyDeviceQueue(PKDEVICE_QUEUE DeviceQueue, PKDEVICE_QUEUE_ENTRY Entry,
                                       ULONG SortKey)
{
    VF_IRQL_EQ(DISPATCH_LEVEL);
    KipCheckQueue(DeviceQueue);
    BOOLEAN inserted;
    KeAcquireSpinLockAtDpcLevel(&DeviceQueue->Lock);
    Entry->SortKey = SortKey;
    if (!DeviceQueue->Busy) {
        DeviceQueue->Busy = TRUE;
        inserted = FALSE;
    } else {
        /* After every entry whose key is <= SortKey: equal keys stay FIFO. */
        PLIST_ENTRY h = &DeviceQueue->DeviceListHead, e = h->Blink;
        while (e != h &&
               CONTAINING_RECORD(e, KDEVICE_QUEUE_ENTRY, DeviceListEntry)->SortKey > SortKey)
            e = e->Blink;
        InsertHeadList(e, &Entry->DeviceListEntry);
        inserted = TRUE;
    }
    Entry->Inserted = inserted;
    KeReleaseSpinLockFromDpcLevel(&DeviceQueue->Lock);
    return inserted;
}

PKDEVICE_QUEUE_ENTRY NTAPI KeRemoveDeviceQueue(PKDEVICE_QUEUE DeviceQueue)
{
    VF_IRQL_EQ(DISPATCH_LEVEL);
    KipCheckQueue(DeviceQueue);
    PKDEVICE_QUEUE_ENTRY entry = NULL;
    KeAcquireSpinLockAtDpcLevel(&DeviceQueue->Lock);
    if (!DeviceQueue->Busy)
        KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, VF_DEVICE_QUEUE_NOT_BUSY,
                     (ULONG_PTR)DeviceQueue, 0, 0);
    if (IsListEmpty(&DeviceQueue->DeviceListHead)) {
        DeviceQueue->Busy = FALSE;
    } else {
        entry = CONTAINING_RECORD(RemoveHeadList(&DeviceQueue->DeviceListHead), KDEVICE_QUEUE_ENTRY,
                                  DeviceListEntry);
        entry->Inserted = FALSE;
    }
    KeReleaseSpinLockFromDpcLevel(&DeviceQueue->Lock);
    return entry;
}

PKDEVICE_QUEUE_ENTRY NTAPI KeRemoveByKeyDeviceQueue(PKDEVICE_QUEUE DeviceQueue, ULONG SortKey)
{
    VF_IRQL_EQ(DISPATCH_LEVEL);
    KipCheckQueue(DeviceQueue);
    PKDEVICE_QUEUE_ENTRY entry = NULL;
    KeAcquireSpinLockAtDpcLevel(&DeviceQueue->Lock);
    if (!DeviceQueue->Busy)
        KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, VF_DEVICE_QUEUE_NOT_BUSY,
                     (ULONG_PTR)DeviceQueue, 0, 0);
    PLIST_ENTRY h = &DeviceQueue->DeviceListHead;
    if (IsListEmpty(h)) {
        DeviceQueue->Busy = FALSE;
    } else {
        /* The first entry whose key is >= SortKey; if none, wrap to the first entry. */
        PLIST_ENTRY e = h->Flink;
        while (e != h &&
               CONTAINING_RECORD(e, KDEVICE_QUEUE_ENTRY, DeviceListEntry)->SortKey < SortKey)
            e = e->Flink;
        if (e == h)
            e = h->Flink;
        RemoveEntryList(e);
        entry = CONTAINING_RECORD(e, KDEVICE_QUEUE_ENTRY, DeviceListEntry);
        entry->Inserted = FALSE;
    }
    KeReleaseSpinLockFromDpcLevel(&DeviceQueue->Lock);
    return entry;
}

BOOLEAN NTAPI KeRemoveEntryDeviceQueue(PKDEVICE_QUEUE DeviceQueue, PKDEVICE_QUEUE_ENTRY Entry)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    KipCheckQueue(DeviceQueue);
    KIRQL old;
    KeAcquireSpinLock(&DeviceQueue->Lock, &old);
    BOOLEAN was = Entry->Inserted;
    if (was) {
        RemoveEntryList(&Entry->DeviceListEntry);
        Entry->Inserted = FALSE;
    }
    KeReleaseSpinLock(&DeviceQueue->Lock, old);
    return was;
}

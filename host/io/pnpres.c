/*
 * PnP resources: a description's CM_RESOURCE_LIST, the requirements a bus reports, assignment
 * with conflict checks, translation (interrupts through HalGetInterruptVector), and the
 * enumeration ROM parser (untrusted bytes: fuzzed).
 *
 * The root bus is one Internal bus, number 0. Raw resources are what the bus decodes: ports as
 * port numbers, memory as bus addresses, an interrupt as its line (Level = Vector = line).
 * Translated resources are what the processor sees: ports stay ports, memory addresses are CPU
 * physical (the same numbers on this platform), an interrupt gets the vector, DIRQL and affinity
 * HalGetInterruptVector gives its line.
 */
#include "pnp.h"
#include "kmrig_soc_map.h" /* the ROM layout (generated from rtl/soc.json) */

#include <stdlib.h>
#include <string.h>

ULONG IopPnpResourceListSize(PCM_RESOURCE_LIST List)
{
    if (!List)
        return 0;
    ULONG size = FIELD_OFFSET(CM_RESOURCE_LIST, List);
    PCM_FULL_RESOURCE_DESCRIPTOR f = List->List;
    for (ULONG i = 0; i < List->Count; i++) {
        ULONG n = f->PartialResourceList.Count;
        ULONG fs =
            FIELD_OFFSET(CM_FULL_RESOURCE_DESCRIPTOR, PartialResourceList.PartialDescriptors) +
            n * sizeof(CM_PARTIAL_RESOURCE_DESCRIPTOR);
        size += fs;
        f = (PCM_FULL_RESOURCE_DESCRIPTOR)((PUCHAR)f + fs);
    }
    return size;
}

ULONG IopPnpRequirementsSize(PIO_RESOURCE_REQUIREMENTS_LIST Req)
{
    return Req ? Req->ListSize : 0;
}

static PCM_RESOURCE_LIST IopPnpNewList(ULONG Count)
{
    ULONG size = FIELD_OFFSET(CM_RESOURCE_LIST, List[0].PartialResourceList.PartialDescriptors) +
                 Count * sizeof(CM_PARTIAL_RESOURCE_DESCRIPTOR);
    PCM_RESOURCE_LIST l = calloc(1, size);
    if (!l)
        return NULL;
    l->Count = 1;
    l->List[0].InterfaceType = Internal;
    l->List[0].BusNumber = 0;
    l->List[0].PartialResourceList.Version = 1;
    l->List[0].PartialResourceList.Revision = 1;
    l->List[0].PartialResourceList.Count = Count;
    return l;
}

PCM_RESOURCE_LIST IopPnpDescToRaw(const struct kmrig_device_desc *Desc)
{
    PCM_RESOURCE_LIST l = IopPnpNewList(Desc->resource_count);
    if (!l)
        return NULL;
    for (unsigned i = 0; i < Desc->resource_count; i++) {
        const struct kmrig_resource *r = &Desc->resources[i];
        PCM_PARTIAL_RESOURCE_DESCRIPTOR d = &l->List[0].PartialResourceList.PartialDescriptors[i];
        d->ShareDisposition = CmResourceShareDeviceExclusive;
        switch (r->kind) {
        case KMRIG_RES_PORT:
            d->Type = CmResourceTypePort;
            d->Flags = CM_RESOURCE_PORT_IO | CM_RESOURCE_PORT_16_BIT_DECODE;
            d->u.Port.Start.QuadPart = (LONGLONG)r->start;
            d->u.Port.Length = r->length;
            break;
        case KMRIG_RES_MEMORY:
            d->Type = CmResourceTypeMemory;
            d->Flags = CM_RESOURCE_MEMORY_READ_WRITE;
            d->u.Memory.Start.QuadPart = (LONGLONG)r->start;
            d->u.Memory.Length = r->length;
            break;
        case KMRIG_RES_INTERRUPT:
            d->Type = CmResourceTypeInterrupt;
            d->Flags =
                r->latched ? CM_RESOURCE_INTERRUPT_LATCHED : CM_RESOURCE_INTERRUPT_LEVEL_SENSITIVE;
            d->ShareDisposition =
                r->shared ? CmResourceShareShared : CmResourceShareDeviceExclusive;
            d->u.Interrupt.Level = r->line;
            d->u.Interrupt.Vector = r->line;
            d->u.Interrupt.Affinity = (KAFFINITY)-1;
            break;
        case KMRIG_RES_DMA:
            d->Type = CmResourceTypeDma;
            d->Flags = CM_RESOURCE_DMA_8;
            d->u.Dma.Channel = r->channel;
            d->u.Dma.Port = 0;
            break;
        default:
            free(l);
            return NULL;
        }
    }
    return l;
}

PIO_RESOURCE_REQUIREMENTS_LIST IopPnpRawToRequirements(PCM_RESOURCE_LIST Raw)
{
    ULONG n = Raw && Raw->Count ? Raw->List[0].PartialResourceList.Count : 0;
    ULONG size = FIELD_OFFSET(IO_RESOURCE_REQUIREMENTS_LIST, List[0].Descriptors) +
                 n * sizeof(IO_RESOURCE_DESCRIPTOR);
    PIO_RESOURCE_REQUIREMENTS_LIST r = calloc(1, size);
    if (!r)
        return NULL;
    r->ListSize = size;
    r->InterfaceType = Internal;
    r->BusNumber = 0;
    r->SlotNumber = 0;
    r->AlternativeLists = 1;
    r->List[0].Version = 1;
    r->List[0].Revision = 1;
    r->List[0].Count = n;
    for (ULONG i = 0; i < n; i++) {
        PCM_PARTIAL_RESOURCE_DESCRIPTOR c = &Raw->List[0].PartialResourceList.PartialDescriptors[i];
        PIO_RESOURCE_DESCRIPTOR d = &r->List[0].Descriptors[i];
        d->Option = 0; /* required, fixed */
        d->Type = c->Type;
        d->ShareDisposition = c->ShareDisposition;
        d->Flags = c->Flags;
        switch (c->Type) {
        case CmResourceTypePort:
        case CmResourceTypeMemory:
            d->u.Generic.Length = c->u.Generic.Length;
            d->u.Generic.Alignment = 1;
            d->u.Generic.MinimumAddress = c->u.Generic.Start;
            d->u.Generic.MaximumAddress.QuadPart =
                c->u.Generic.Start.QuadPart + (c->u.Generic.Length ? c->u.Generic.Length - 1 : 0);
            break;
        case CmResourceTypeInterrupt:
            d->u.Interrupt.MinimumVector = d->u.Interrupt.MaximumVector = c->u.Interrupt.Vector;
            break;
        case CmResourceTypeDma:
            d->u.Dma.MinimumChannel = d->u.Dma.MaximumChannel = c->u.Dma.Channel;
            break;
        default:
            d->u.DevicePrivate = *(typeof(d->u.DevicePrivate) *)&c->u.DevicePrivate;
            break;
        }
    }
    return r;
}

PCM_RESOURCE_LIST IopPnpTranslate(PCM_RESOURCE_LIST Raw)
{
    ULONG size = IopPnpResourceListSize(Raw);
    PCM_RESOURCE_LIST t = malloc(size);
    if (!t)
        return NULL;
    memcpy(t, Raw, size);
    PCM_FULL_RESOURCE_DESCRIPTOR f = t->List;
    for (ULONG i = 0; i < t->Count; i++) {
        ULONG n = f->PartialResourceList.Count;
        for (ULONG j = 0; j < n; j++) {
            PCM_PARTIAL_RESOURCE_DESCRIPTOR d = &f->PartialResourceList.PartialDescriptors[j];
            if (d->Type == CmResourceTypeInterrupt) {
                KIRQL irql = 0;
                KAFFINITY aff = 0;
                ULONG vector =
                    HalGetInterruptVector(f->InterfaceType, f->BusNumber, d->u.Interrupt.Level,
                                          d->u.Interrupt.Vector, &irql, &aff);
                d->u.Interrupt.Level = irql;
                d->u.Interrupt.Vector = vector;
                d->u.Interrupt.Affinity = aff;
            }
        }
        f = (PCM_FULL_RESOURCE_DESCRIPTOR)&f->PartialResourceList.PartialDescriptors[n];
    }
    return t;
}

/* Do two raw descriptors claim the same thing in a way that cannot be shared? */
static BOOLEAN IopPnpClash(PCM_PARTIAL_RESOURCE_DESCRIPTOR a, PCM_PARTIAL_RESOURCE_DESCRIPTOR b)
{
    if (a->Type != b->Type)
        return FALSE;
    switch (a->Type) {
    case CmResourceTypePort:
    case CmResourceTypeMemory: {
        ULONGLONG as = (ULONGLONG)a->u.Generic.Start.QuadPart, al = a->u.Generic.Length;
        ULONGLONG bs = (ULONGLONG)b->u.Generic.Start.QuadPart, bl = b->u.Generic.Length;
        if (!al || !bl)
            return FALSE;
        BOOLEAN overlap = as < bs + bl && bs < as + al;
        return overlap && !(a->ShareDisposition == CmResourceShareShared &&
                            b->ShareDisposition == CmResourceShareShared);
    }
    case CmResourceTypeInterrupt:
        return a->u.Interrupt.Vector == b->u.Interrupt.Vector &&
               !(a->ShareDisposition == CmResourceShareShared &&
                 b->ShareDisposition == CmResourceShareShared);
    case CmResourceTypeDma:
        return a->u.Dma.Channel == b->u.Dma.Channel;
    default:
        return FALSE;
    }
}

static BOOLEAN IopPnpListsClash(PCM_RESOURCE_LIST A, PCM_RESOURCE_LIST B)
{
    if (!A || !B)
        return FALSE;
    PCM_FULL_RESOURCE_DESCRIPTOR fa = A->List;
    for (ULONG i = 0; i < A->Count; i++) {
        ULONG na = fa->PartialResourceList.Count;
        PCM_FULL_RESOURCE_DESCRIPTOR fb = B->List;
        for (ULONG k = 0; k < B->Count; k++) {
            ULONG nb = fb->PartialResourceList.Count;
            for (ULONG x = 0; x < na; x++)
                for (ULONG y = 0; y < nb; y++)
                    if (IopPnpClash(&fa->PartialResourceList.PartialDescriptors[x],
                                    &fb->PartialResourceList.PartialDescriptors[y]))
                        return TRUE;
            fb = (PCM_FULL_RESOURCE_DESCRIPTOR)&fb->PartialResourceList.PartialDescriptors[nb];
        }
        fa = (PCM_FULL_RESOURCE_DESCRIPTOR)&fa->PartialResourceList.PartialDescriptors[na];
    }
    return FALSE;
}

/* A claim made by IoReportResourceForDetection. */
typedef struct _IOP_PNP_CLAIM {
    LIST_ENTRY Link;
    PVOID Owner;
    PCM_RESOURCE_LIST List;
} IOP_PNP_CLAIM, *PIOP_PNP_CLAIM;

BOOLEAN IopPnpConflicts(struct kmrig_runtime *rt, PCM_RESOURCE_LIST List, PDEVICE_NODE Except,
                        PVOID ExceptClaim)
{
    PIOP_PNP_STATE pnp = IopPnp(rt);
    for (PLIST_ENTRY e = pnp->Nodes.Flink; e != &pnp->Nodes; e = e->Flink) {
        PDEVICE_NODE n = CONTAINING_RECORD(e, DEVICE_NODE, Link);
        if (n != Except && IopPnpListsClash(List, n->Raw))
            return TRUE;
    }
    for (PLIST_ENTRY e = pnp->Claims.Flink; e != &pnp->Claims; e = e->Flink) {
        PIOP_PNP_CLAIM c = CONTAINING_RECORD(e, IOP_PNP_CLAIM, Link);
        if (c->Owner != ExceptClaim && (!Except || c->Owner != (PVOID)Except->Pdo) &&
            IopPnpListsClash(List, c->List))
            return TRUE;
    }
    return FALSE;
}

NTSTATUS IopPnpAssignResources(struct kmrig_runtime *rt, PDEVICE_NODE Node,
                               PIO_RESOURCE_REQUIREMENTS_LIST Req, PCM_RESOURCE_LIST *Raw,
                               PCM_RESOURCE_LIST *Translated)
{
    *Raw = *Translated = NULL;
    ULONG n = 0;
    PIO_RESOURCE_LIST alt = NULL;
    if (Req && Req->AlternativeLists) {
        alt = &Req->List[0];
        /* the preferred descriptor of each group: alternatives follow their preferred one */
        for (ULONG i = 0; i < alt->Count; i++)
            if (!(alt->Descriptors[i].Option & IO_RESOURCE_ALTERNATIVE))
                n++;
    }
    PCM_RESOURCE_LIST raw = IopPnpNewList(n);
    if (!raw)
        return STATUS_INSUFFICIENT_RESOURCES;
    if (Req) {
        raw->List[0].InterfaceType = Req->InterfaceType;
        raw->List[0].BusNumber = Req->BusNumber;
    }
    ULONG k = 0;
    for (ULONG i = 0; alt && i < alt->Count; i++) {
        PIO_RESOURCE_DESCRIPTOR r = &alt->Descriptors[i];
        if (r->Option & IO_RESOURCE_ALTERNATIVE)
            continue;
        PCM_PARTIAL_RESOURCE_DESCRIPTOR d =
            &raw->List[0].PartialResourceList.PartialDescriptors[k++];
        d->Type = r->Type;
        d->ShareDisposition = r->ShareDisposition;
        d->Flags = r->Flags;
        switch (r->Type) {
        case CmResourceTypePort:
        case CmResourceTypeMemory:
            d->u.Generic.Start = r->u.Generic.MinimumAddress;
            d->u.Generic.Length = r->u.Generic.Length;
            break;
        case CmResourceTypeInterrupt:
            d->u.Interrupt.Level = d->u.Interrupt.Vector = r->u.Interrupt.MinimumVector;
            d->u.Interrupt.Affinity = (KAFFINITY)-1;
            break;
        case CmResourceTypeDma:
            d->u.Dma.Channel = r->u.Dma.MinimumChannel;
            break;
        default:
            memcpy(&d->u.DevicePrivate, &r->u.DevicePrivate, sizeof d->u.DevicePrivate);
            break;
        }
    }
    pthread_mutex_lock(&IopPnp(rt)->Lock);
    BOOLEAN clash = IopPnpConflicts(rt, raw, Node, NULL);
    pthread_mutex_unlock(&IopPnp(rt)->Lock);
    if (clash) {
        free(raw);
        return STATUS_CONFLICTING_ADDRESSES;
    }
    PCM_RESOURCE_LIST tr = IopPnpTranslate(raw);
    if (!tr) {
        free(raw);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    *Raw = raw;
    *Translated = tr;
    return STATUS_SUCCESS;
}

/* ---- IoReportResourceForDetection ---- */

NTSTATUS NTAPI IoReportResourceForDetection(PDRIVER_OBJECT DriverObject,
                                            PCM_RESOURCE_LIST DriverList, ULONG DriverListSize,
                                            PDEVICE_OBJECT DeviceObject,
                                            PCM_RESOURCE_LIST DeviceList, ULONG DeviceListSize,
                                            PBOOLEAN ConflictDetected)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    struct kmrig_runtime *rt = IopRuntime();
    PIOP_PNP_STATE pnp = IopPnp(rt);
    *ConflictDetected = FALSE;
    if ((DriverList && DeviceList) || (DeviceList && !DeviceObject))
        return STATUS_INVALID_PARAMETER;
    /* A PnP device's resources come from its start, never from a claim. */
    PDEVICE_NODE node = DeviceObject ? IopPnpNodeOf(DeviceObject) : NULL;
    if (node && !node->Detected)
        return STATUS_INVALID_PARAMETER;
    PVOID owner = DeviceObject ? (PVOID)DeviceObject : (PVOID)DriverObject;
    PCM_RESOURCE_LIST list = DriverList ? DriverList : DeviceList;
    ULONG size = DriverList ? DriverListSize : DeviceListSize;
    if (list &&
        (size < FIELD_OFFSET(CM_RESOURCE_LIST, List) || IopPnpResourceListSize(list) > size))
        return STATUS_INVALID_PARAMETER;
    PCM_RESOURCE_LIST copy = NULL;
    if (list) {
        copy = malloc(IopPnpResourceListSize(list));
        if (!copy)
            return STATUS_INSUFFICIENT_RESOURCES;
        memcpy(copy, list, IopPnpResourceListSize(list));
    }
    pthread_mutex_lock(&pnp->Lock);
    if (copy && IopPnpConflicts(rt, copy, node, owner)) {
        pthread_mutex_unlock(&pnp->Lock);
        free(copy);
        *ConflictDetected = TRUE;
        return STATUS_CONFLICTING_ADDRESSES;
    }
    /* the new claim replaces the owner's previous one; an empty list releases it */
    for (PLIST_ENTRY e = pnp->Claims.Flink; e != &pnp->Claims; e = e->Flink) {
        PIOP_PNP_CLAIM c = CONTAINING_RECORD(e, IOP_PNP_CLAIM, Link);
        if (c->Owner == owner) {
            RemoveEntryList(e);
            free(c->List);
            free(c);
            break;
        }
    }
    PIOP_PNP_CLAIM c = copy ? malloc(sizeof *c) : NULL;
    if (c) {
        c->Owner = owner;
        c->List = copy;
        InsertTailList(&pnp->Claims, &c->Link);
    }
    pthread_mutex_unlock(&pnp->Lock);
    if (copy && !c) {
        free(copy);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    return STATUS_SUCCESS;
}

VOID IopPnpFreeClaims(struct kmrig_runtime *rt, PVOID Owner)
{
    PIOP_PNP_STATE pnp = IopPnp(rt);
    pthread_mutex_lock(&pnp->Lock);
    for (PLIST_ENTRY e = pnp->Claims.Flink, n; e != &pnp->Claims; e = n) {
        n = e->Flink;
        PIOP_PNP_CLAIM c = CONTAINING_RECORD(e, IOP_PNP_CLAIM, Link);
        if (!Owner || c->Owner == Owner) {
            RemoveEntryList(e);
            free(c->List);
            free(c);
        }
    }
    pthread_mutex_unlock(&pnp->Lock);
}

/* ---- the enumeration ROM ---- */

NTSTATUS kmrig_rom_parse(const uint32_t *words, size_t nwords, struct kmrig_device_desc *descs,
                         struct kmrig_rom_strings *strings, size_t max, size_t *count)
{
    *count = 0;
    if (!words || nwords < KMRIG_ROM_HDR_BYTES / 4 || words[0] != KMRIG_ROM_MAGIC)
        return STATUS_DEVICE_CONFIGURATION_ERROR;
    uint32_t info = words[KMRIG_ROM_HDR_INFO / 4];
    unsigned layout = info & 0xFF, entries = (info >> 8) & 0xFF, esize = (info >> 16) & 0xFF;
    unsigned lines = info >> 24;
    if (layout != KMRIG_ROM_LAYOUT || esize != KMRIG_ROM_ENTRY_BYTES ||
        (KMRIG_ROM_HDR_BYTES + (size_t)entries * esize) / 4 > nwords)
        return STATUS_DEVICE_CONFIGURATION_ERROR;
    size_t total = (KMRIG_ROM_HDR_BYTES + (size_t)entries * esize) / 4;
    uint32_t sum = 0;
    for (size_t i = 0; i < total; i++)
        sum += words[i];
    if (sum != 0)
        return STATUS_DEVICE_CONFIGURATION_ERROR;
    for (unsigned e = 0; e < entries; e++) {
        const uint32_t *w = words + (KMRIG_ROM_HDR_BYTES + e * esize) / 4;
        uint32_t flags = w[KMRIG_ROM_ENT_FLAGS / 4];
        char name[KMRIG_ROM_NAME_BYTES + 1];
        for (unsigned b = 0; b < KMRIG_ROM_NAME_BYTES; b++)
            name[b] = (char)(w[KMRIG_ROM_ENT_NAME / 4 + b / 4] >> (8 * (b % 4)));
        name[KMRIG_ROM_NAME_BYTES] = 0;
        size_t len = strlen(name);
        if (!len)
            return STATUS_DEVICE_CONFIGURATION_ERROR;
        for (size_t b = 0; b < KMRIG_ROM_NAME_BYTES; b++)
            if ((b < len && (name[b] < 0x20 || name[b] > 0x7E)) || (b >= len && name[b]))
                return STATUS_DEVICE_CONFIGURATION_ERROR;
        unsigned line = (flags >> 8) & 0xFF;
        if ((flags & KMRIG_ROM_FLAG_IRQ) && line >= lines)
            return STATUS_DEVICE_CONFIGURATION_ERROR;
        if (e >= max)
            continue;
        struct kmrig_device_desc *d = &descs[e];
        struct kmrig_rom_strings *s = &strings[e];
        memset(d, 0, sizeof *d);
        memcpy(s->hardware_id, name, sizeof s->hardware_id);
        unsigned inst = (flags >> 16) & 0xFF;
        s->instance[0] = (char)('0' + inst / 100 % 10);
        s->instance[1] = (char)('0' + inst / 10 % 10);
        s->instance[2] = (char)('0' + inst % 10);
        s->instance[3] = 0;
        /* without leading zeros: "0", "12" */
        while (s->instance[0] == '0' && s->instance[1])
            memmove(s->instance, s->instance + 1, strlen(s->instance));
        d->hardware_ids[0] = s->hardware_id;
        d->instance = s->instance;
        d->core = (flags & KMRIG_ROM_FLAG_CORE) != 0;
        d->bus_master = (flags & KMRIG_ROM_FLAG_DMA) != 0;
        struct kmrig_resource *r = &d->resources[d->resource_count++];
        r->kind = (flags & KMRIG_ROM_FLAG_IO) ? KMRIG_RES_PORT : KMRIG_RES_MEMORY;
        r->start = w[KMRIG_ROM_ENT_BASE / 4];
        r->length = w[KMRIG_ROM_ENT_SIZE / 4];
        if (flags & KMRIG_ROM_FLAG_IRQ) {
            r = &d->resources[d->resource_count++];
            r->kind = KMRIG_RES_INTERRUPT;
            r->line = line;
        }
        if (flags & KMRIG_ROM_FLAG_SDMA) {
            r = &d->resources[d->resource_count++];
            r->kind = KMRIG_RES_DMA;
            r->channel = flags >> 24;
        }
    }
    *count = entries;
    return STATUS_SUCCESS;
}

/*
 * MBR partition tables: HalExamineMBR, IoReadPartitionTable, IoSetPartitionInformation,
 * IoWritePartitionTable. Every routine is PASSIVE_LEVEL and reads or writes whole sectors of the
 * disk device object it is given (IRP_MJ_READ/WRITE built with IoBuildSynchronousFsdRequest,
 * SL_OVERRIDE_VERIFY_VOLUME set, sent to that device and waited for), as NT's do.
 *
 * A table is the 64 bytes at 0x1BE of a sector ending in 0xAA55: the MBR at sector 0, then one
 * extended boot record (EBR) per link of the chain. The first container entry (types 0x05, 0x0F)
 * of a table gives the next table: in the MBR its start is from the disk's start and is the
 * extended partition's base; in an EBR it is from that base. Other entries of an EBR start from
 * the EBR itself. The walk ends at a table without a container entry; a chain that comes back to
 * a table already read, or is longer than IOP_MAX_TABLES, is STATUS_DISK_CORRUPT_ERROR.
 *
 * Partition numbers are 1, 2, ... over the used, non-container entries in walk order (the MBR's
 * entries, then each EBR's): IoReadPartitionTable reports them in PartitionNumber and
 * IoSetPartitionInformation takes them. The layout of IoReadPartitionTable with
 * ReturnRecognizedPartitions FALSE has four entries per table, empty ones included, which is what
 * IoWritePartitionTable takes back.
 */
#include "io.h"

#include <string.h>

#define IOP_TAG_PARTITION ((ULONG)'t' << 24 | (ULONG)'r' << 16 | (ULONG)'a' << 8 | (ULONG)'P')
#define IOP_MAX_TABLES 128u
#define IOP_MBR_TABLE 0x1BE
#define IOP_MBR_DISK_SIGNATURE 0x1B8
#define IOP_MBR_BOOT_SIGNATURE 510

typedef struct _IOP_MBR_ENTRY {
    UCHAR Boot;
    UCHAR Type;
    ULONG Start; /* relative sectors */
    ULONG Count;
} IOP_MBR_ENTRY;

static ULONG IopGet32(const UCHAR *p)
{
    return (ULONG)p[0] | (ULONG)p[1] << 8 | (ULONG)p[2] << 16 | (ULONG)p[3] << 24;
}

static VOID IopPut32(UCHAR *p, ULONG v)
{
    p[0] = (UCHAR)v;
    p[1] = (UCHAR)(v >> 8);
    p[2] = (UCHAR)(v >> 16);
    p[3] = (UCHAR)(v >> 24);
}

static IOP_MBR_ENTRY IopEntry(const UCHAR *Sector, ULONG i)
{
    const UCHAR *p = Sector + IOP_MBR_TABLE + 16 * i;
    IOP_MBR_ENTRY e = {p[0], p[4], IopGet32(p + 8), IopGet32(p + 12)};
    return e;
}

static BOOLEAN IopHasBootSignature(const UCHAR *Sector)
{
    return Sector[IOP_MBR_BOOT_SIGNATURE] == 0x55 && Sector[IOP_MBR_BOOT_SIGNATURE + 1] == 0xAA;
}

static BOOLEAN IopValidSectorSize(ULONG SectorSize)
{
    return SectorSize && !(SectorSize & (SectorSize - 1)) && SectorSize <= 65536;
}

/* One synchronous sector transfer on the disk device. */
static NTSTATUS IopDiskTransfer(PDEVICE_OBJECT Device, UCHAR Major, ULONGLONG Offset, PVOID Buffer,
                                ULONG Length)
{
    KEVENT ev;
    IO_STATUS_BLOCK iosb = {{STATUS_SUCCESS}, 0};
    LARGE_INTEGER off;
    off.QuadPart = (LONGLONG)Offset;
    KeInitializeEvent(&ev, NotificationEvent, FALSE);
    PIRP irp = IoBuildSynchronousFsdRequest(Major, Device, Buffer, Length, &off, &ev, &iosb);
    if (!irp)
        return STATUS_INSUFFICIENT_RESOURCES;
    IoGetNextIrpStackLocation(irp)->Flags |= SL_OVERRIDE_VERIFY_VOLUME;
    NTSTATUS s = IoCallDriver(Device, irp);
    if (s == STATUS_PENDING) {
        KeWaitForSingleObject(&ev, Executive, KernelMode, FALSE, NULL);
        s = iosb.Status;
    }
    if (NT_SUCCESS(s) && iosb.Information < Length)
        s = STATUS_DEVICE_DATA_ERROR; /* a short sector */
    return s;
}

/* ---- walking the chain of tables ---- */

typedef struct _IOP_TABLE_WALK {
    PDEVICE_OBJECT Device;
    ULONG SectorSize;
    ULONG IoSize; /* bytes read per table: at least 512 */
    PUCHAR Sector;
    ULONG Tables; /* read so far; the current one is Tables - 1 */
    ULONGLONG Offset;
    ULONGLONG ExtendedBase;
    BOOLEAN HaveNext;
    ULONGLONG Next;
    ULONGLONG Visited[IOP_MAX_TABLES];
} IOP_TABLE_WALK;

static NTSTATUS IopWalkBegin(IOP_TABLE_WALK *w, PDEVICE_OBJECT Device, ULONG SectorSize)
{
    memset(w, 0, sizeof *w);
    w->Device = Device;
    w->SectorSize = SectorSize;
    w->IoSize = SectorSize < 512 ? 512 : SectorSize;
    w->Sector = ExAllocatePoolWithTag(NonPagedPoolNx, w->IoSize, IOP_TAG_PARTITION);
    return w->Sector ? STATUS_SUCCESS : STATUS_INSUFFICIENT_RESOURCES;
}

static VOID IopWalkEnd(IOP_TABLE_WALK *w)
{
    ExFreePoolWithTag(w->Sector, IOP_TAG_PARTITION);
}

/* Where an entry of the current table starts, in bytes from the disk's start. */
static ULONGLONG IopEntryStart(const IOP_TABLE_WALK *w, const IOP_MBR_ENTRY *e)
{
    ULONGLONG base =
        IsContainerPartition(e->Type) ? (w->Tables == 1 ? 0 : w->ExtendedBase) : w->Offset;
    return base + (ULONGLONG)e->Start * w->SectorSize;
}

/* Reads the next table into w->Sector. STATUS_NO_MORE_ENTRIES at the end of the chain (or at an
 * EBR without a boot signature, logged); STATUS_BAD_MASTER_BOOT_RECORD when sector 0 has none;
 * STATUS_DISK_CORRUPT_ERROR on a loop. */
static NTSTATUS IopWalkNext(IOP_TABLE_WALK *w)
{
    if (w->Tables && !w->HaveNext)
        return STATUS_NO_MORE_ENTRIES;
    ULONGLONG off = w->Tables ? w->Next : 0;
    for (ULONG i = 0; i < w->Tables; i++)
        if (w->Visited[i] == off) {
            KmLogError("io: partition table chain loops back to offset 0x%llx", off);
            return STATUS_DISK_CORRUPT_ERROR;
        }
    if (w->Tables == IOP_MAX_TABLES) {
        KmLogError("io: partition table chain longer than %u tables", IOP_MAX_TABLES);
        return STATUS_DISK_CORRUPT_ERROR;
    }
    w->Visited[w->Tables++] = off;
    w->Offset = off;
    NTSTATUS s = IopDiskTransfer(w->Device, IRP_MJ_READ, off, w->Sector, w->IoSize);
    if (!NT_SUCCESS(s))
        return s;
    if (!IopHasBootSignature(w->Sector)) {
        if (w->Tables == 1)
            return STATUS_BAD_MASTER_BOOT_RECORD;
        KmLogWarn("io: extended boot record at 0x%llx has no boot signature; the chain ends there",
                  off);
        return STATUS_NO_MORE_ENTRIES;
    }
    w->HaveNext = FALSE;
    for (ULONG i = 0; i < 4 && !w->HaveNext; i++) {
        IOP_MBR_ENTRY e = IopEntry(w->Sector, i);
        if (IsContainerPartition(e.Type) && e.Count) {
            w->Next = IopEntryStart(w, &e);
            if (w->Tables == 1)
                w->ExtendedBase = w->Next;
            w->HaveNext = TRUE;
        }
    }
    return STATUS_SUCCESS;
}

/* ---- HalExamineMBR ---- */

VOID FASTCALL HalExamineMBR(PDEVICE_OBJECT DeviceObject, ULONG SectorSize, ULONG MBRTypeIdentifier,
                            PVOID *Buffer)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    *Buffer = NULL;
    ULONG size = SectorSize < 512 ? 512 : SectorSize;
    PUCHAR sector = ExAllocatePoolWithTag(NonPagedPoolNx, size, IOP_TAG_PARTITION);
    if (!sector)
        return;
    NTSTATUS s = IopDiskTransfer(DeviceObject, IRP_MJ_READ, 0, sector, size);
    if (NT_SUCCESS(s) && IopHasBootSignature(sector) &&
        IopEntry(sector, 0).Type == (UCHAR)MBRTypeIdentifier && MBRTypeIdentifier <= 0xFF) {
        *Buffer = sector; /* the caller frees it with ExFreePool */
        return;
    }
    ExFreePoolWithTag(sector, IOP_TAG_PARTITION);
}

/* ---- IoReadPartitionTable ---- */

static PDRIVE_LAYOUT_INFORMATION IopGrowLayout(PDRIVE_LAYOUT_INFORMATION Old, ULONG *Capacity)
{
    ULONG cap = *Capacity ? *Capacity * 2 : 16;
    SIZE_T size = FIELD_OFFSET(DRIVE_LAYOUT_INFORMATION, PartitionEntry) +
                  (SIZE_T)cap * sizeof(PARTITION_INFORMATION);
    PDRIVE_LAYOUT_INFORMATION l = ExAllocatePoolWithTag(NonPagedPoolNx, size, IOP_TAG_PARTITION);
    if (!l)
        return NULL;
    memset(l, 0, size);
    if (Old) {
        memcpy(l, Old,
               FIELD_OFFSET(DRIVE_LAYOUT_INFORMATION, PartitionEntry) +
                   (SIZE_T)Old->PartitionCount * sizeof(PARTITION_INFORMATION));
        ExFreePoolWithTag(Old, IOP_TAG_PARTITION);
    }
    *Capacity = cap;
    return l;
}

NTSTATUS FASTCALL IoReadPartitionTable(PDEVICE_OBJECT DeviceObject, ULONG SectorSize,
                                       BOOLEAN ReturnRecognizedPartitions,
                                       struct _DRIVE_LAYOUT_INFORMATION **PartitionBuffer)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    *PartitionBuffer = NULL;
    if (!IopValidSectorSize(SectorSize))
        return STATUS_INVALID_PARAMETER;
    IOP_TABLE_WALK w;
    NTSTATUS s = IopWalkBegin(&w, DeviceObject, SectorSize);
    if (!NT_SUCCESS(s))
        return s;
    ULONG capacity = 0, number = 0;
    PDRIVE_LAYOUT_INFORMATION layout = IopGrowLayout(NULL, &capacity);
    if (!layout) {
        IopWalkEnd(&w);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    for (;;) {
        s = IopWalkNext(&w);
        if (s == STATUS_NO_MORE_ENTRIES || s == STATUS_BAD_MASTER_BOOT_RECORD) {
            s = STATUS_SUCCESS; /* the end, or an unpartitioned disk: no partitions */
            break;
        }
        if (!NT_SUCCESS(s)) {
            if (w.Tables > 1 && s != STATUS_DISK_CORRUPT_ERROR) {
                KmLogWarn("io: reading the partition table at 0x%llx failed 0x%08X; the chain "
                          "ends there",
                          w.Offset, (unsigned)s);
                s = STATUS_SUCCESS; /* at least one table was read */
            }
            break;
        }
        if (w.Tables == 1)
            layout->Signature = IopGet32(w.Sector + IOP_MBR_DISK_SIGNATURE);
        for (ULONG i = 0; i < 4; i++) {
            IOP_MBR_ENTRY e = IopEntry(w.Sector, i);
            BOOLEAN used = e.Type != PARTITION_ENTRY_UNUSED;
            BOOLEAN recognized = IsRecognizedPartition(e.Type);
            ULONG partitionNumber = used && !IsContainerPartition(e.Type) ? ++number : 0;
            if (ReturnRecognizedPartitions && !recognized)
                continue;
            if (layout->PartitionCount == capacity &&
                !(layout = IopGrowLayout(layout, &capacity))) {
                IopWalkEnd(&w);
                return STATUS_INSUFFICIENT_RESOURCES;
            }
            PPARTITION_INFORMATION p = &layout->PartitionEntry[layout->PartitionCount++];
            if (used) {
                p->StartingOffset.QuadPart = (LONGLONG)IopEntryStart(&w, &e);
                p->PartitionLength.QuadPart = (LONGLONG)e.Count * SectorSize;
                p->HiddenSectors = e.Start;
            }
            p->PartitionNumber = partitionNumber;
            p->PartitionType = e.Type;
            p->BootIndicator = (e.Boot & 0x80) != 0;
            p->RecognizedPartition = recognized;
            p->RewritePartition = FALSE;
        }
    }
    IopWalkEnd(&w);
    if (!NT_SUCCESS(s)) {
        ExFreePoolWithTag(layout, IOP_TAG_PARTITION);
        return s;
    }
    *PartitionBuffer = layout; /* the caller frees it with ExFreePool */
    return STATUS_SUCCESS;
}

/* ---- IoSetPartitionInformation ---- */

NTSTATUS FASTCALL IoSetPartitionInformation(PDEVICE_OBJECT DeviceObject, ULONG SectorSize,
                                            ULONG PartitionNumber, ULONG PartitionType)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    if (!IopValidSectorSize(SectorSize) || !PartitionNumber || PartitionType > 0xFF ||
        PartitionType == PARTITION_ENTRY_UNUSED || IsContainerPartition(PartitionType))
        return STATUS_INVALID_PARAMETER;
    IOP_TABLE_WALK w;
    NTSTATUS s = IopWalkBegin(&w, DeviceObject, SectorSize);
    if (!NT_SUCCESS(s))
        return s;
    ULONG number = 0;
    for (;;) {
        s = IopWalkNext(&w);
        if (s == STATUS_NO_MORE_ENTRIES) {
            s = STATUS_NOT_FOUND; /* no partition with that number */
            break;
        }
        if (s == STATUS_BAD_MASTER_BOOT_RECORD)
            s = STATUS_UNSUCCESSFUL;
        if (!NT_SUCCESS(s))
            break;
        ULONG hit = 4;
        for (ULONG i = 0; i < 4 && hit == 4; i++) {
            IOP_MBR_ENTRY e = IopEntry(w.Sector, i);
            if (e.Type != PARTITION_ENTRY_UNUSED && !IsContainerPartition(e.Type) &&
                ++number == PartitionNumber)
                hit = i;
        }
        if (hit < 4) {
            w.Sector[IOP_MBR_TABLE + 16 * hit + 4] = (UCHAR)PartitionType;
            s = IopDiskTransfer(DeviceObject, IRP_MJ_WRITE, w.Offset, w.Sector, w.IoSize);
            break;
        }
    }
    IopWalkEnd(&w);
    return s;
}

/* ---- IoWritePartitionTable ---- */

static VOID IopChs(ULONGLONG Lba, ULONG SectorsPerTrack, ULONG Heads, UCHAR *Out)
{
    ULONGLONG cylinder = Lba / ((ULONGLONG)SectorsPerTrack * Heads);
    if (cylinder > 1023 || Heads > 255 || SectorsPerTrack > 63) {
        Out[0] = 0xFE; /* beyond what CHS can say */
        Out[1] = 0xFF;
        Out[2] = 0xFF;
        return;
    }
    ULONG head = (ULONG)((Lba / SectorsPerTrack) % Heads);
    ULONG sector = (ULONG)(Lba % SectorsPerTrack) + 1;
    Out[0] = (UCHAR)head;
    Out[1] = (UCHAR)((sector & 0x3F) | ((cylinder >> 2) & 0xC0));
    Out[2] = (UCHAR)cylinder;
}

/* Checks the layout and works out where each group of four entries goes: Offsets[t] is the
 * table's offset, Base[t] what its non-container entries start from. */
static NTSTATUS IopPlanLayout(PDRIVE_LAYOUT_INFORMATION Layout, ULONG SectorSize,
                              ULONGLONG *Offsets, ULONGLONG *ExtendedBase)
{
    ULONG tables = Layout->PartitionCount / 4;
    *ExtendedBase = 0;
    Offsets[0] = 0;
    for (ULONG t = 0; t < tables; t++) {
        PPARTITION_INFORMATION g = &Layout->PartitionEntry[4 * t];
        ULONG containers = 0;
        for (ULONG i = 0; i < 4; i++) {
            PPARTITION_INFORMATION p = &g[i];
            if (p->PartitionType == PARTITION_ENTRY_UNUSED)
                continue;
            BOOLEAN container = IsContainerPartition(p->PartitionType);
            ULONGLONG base = container ? (t ? *ExtendedBase : 0) : Offsets[t];
            if (p->StartingOffset.QuadPart < 0 || p->PartitionLength.QuadPart <= 0 ||
                p->StartingOffset.QuadPart % SectorSize ||
                p->PartitionLength.QuadPart % SectorSize ||
                (ULONGLONG)p->StartingOffset.QuadPart < base ||
                ((ULONGLONG)p->StartingOffset.QuadPart - base) / SectorSize > 0xFFFFFFFFull ||
                (ULONGLONG)p->PartitionLength.QuadPart / SectorSize > 0xFFFFFFFFull)
                return STATUS_INVALID_PARAMETER;
            if (container) {
                if (++containers > 1 || t + 1 == tables)
                    return STATUS_INVALID_PARAMETER; /* its table must be the next group */
                if (!t)
                    *ExtendedBase = (ULONGLONG)p->StartingOffset.QuadPart;
                Offsets[t + 1] = (ULONGLONG)p->StartingOffset.QuadPart;
            }
        }
        if (t + 1 < tables && !containers)
            return STATUS_INVALID_PARAMETER; /* nothing leads to the next group */
    }
    return STATUS_SUCCESS;
}

NTSTATUS FASTCALL IoWritePartitionTable(PDEVICE_OBJECT DeviceObject, ULONG SectorSize,
                                        ULONG SectorsPerTrack, ULONG NumberOfHeads,
                                        struct _DRIVE_LAYOUT_INFORMATION *PartitionBuffer)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    PDRIVE_LAYOUT_INFORMATION l = PartitionBuffer;
    if (!IopValidSectorSize(SectorSize) || !SectorsPerTrack || !NumberOfHeads || !l ||
        !l->PartitionCount || (l->PartitionCount % 4) || l->PartitionCount / 4 > IOP_MAX_TABLES)
        return STATUS_INVALID_PARAMETER;
    ULONG tables = l->PartitionCount / 4;
    ULONGLONG offsets[IOP_MAX_TABLES], extendedBase;
    NTSTATUS s = IopPlanLayout(l, SectorSize, offsets, &extendedBase);
    if (!NT_SUCCESS(s))
        return s;
    ULONG size = SectorSize < 512 ? 512 : SectorSize;
    PUCHAR sector = ExAllocatePoolWithTag(NonPagedPoolNx, size, IOP_TAG_PARTITION);
    if (!sector)
        return STATUS_INSUFFICIENT_RESOURCES;
    s = IopDiskTransfer(DeviceObject, IRP_MJ_READ, 0, sector, size);
    if (NT_SUCCESS(s) && !IopHasBootSignature(sector))
        s = STATUS_UNSUCCESSFUL; /* sector 0 is not an MBR */
    for (ULONG t = 0; NT_SUCCESS(s) && t < tables; t++) {
        PPARTITION_INFORMATION g = &l->PartitionEntry[4 * t];
        if (!g[0].RewritePartition && !g[1].RewritePartition && !g[2].RewritePartition &&
            !g[3].RewritePartition)
            continue; /* only tables with an entry to rewrite are written */
        if (t)
            s = IopDiskTransfer(DeviceObject, IRP_MJ_READ, offsets[t], sector, size);
        if (!NT_SUCCESS(s))
            break;
        memset(sector + IOP_MBR_TABLE, 0, 64);
        for (ULONG i = 0; i < 4; i++) {
            PPARTITION_INFORMATION p = &g[i];
            if (p->PartitionType == PARTITION_ENTRY_UNUSED)
                continue;
            BOOLEAN container = IsContainerPartition(p->PartitionType);
            ULONGLONG base = container ? (t ? extendedBase : 0) : offsets[t];
            ULONGLONG lba = (ULONGLONG)p->StartingOffset.QuadPart / SectorSize;
            ULONGLONG count = (ULONGLONG)p->PartitionLength.QuadPart / SectorSize;
            UCHAR *e = sector + IOP_MBR_TABLE + 16 * i;
            e[0] = p->BootIndicator ? 0x80 : 0x00;
            IopChs(lba, SectorsPerTrack, NumberOfHeads, e + 1);
            e[4] = p->PartitionType;
            IopChs(lba + count - 1, SectorsPerTrack, NumberOfHeads, e + 5);
            IopPut32(e + 8, (ULONG)(lba - base / SectorSize));
            IopPut32(e + 12, (ULONG)count);
        }
        sector[IOP_MBR_BOOT_SIGNATURE] = 0x55;
        sector[IOP_MBR_BOOT_SIGNATURE + 1] = 0xAA;
        if (!t)
            IopPut32(sector + IOP_MBR_DISK_SIGNATURE, l->Signature);
        s = IopDiskTransfer(DeviceObject, IRP_MJ_WRITE, offsets[t], sector, size);
    }
    ExFreePoolWithTag(sector, IOP_TAG_PARTITION);
    return s;
}

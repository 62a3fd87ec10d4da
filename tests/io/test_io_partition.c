/* HalExamineMBR, IoReadPartitionTable, IoSetPartitionInformation and IoWritePartitionTable
 * against a RAM disk driver (IRP_MJ_READ/WRITE over a buffer, direct I/O), with hand-built MBRs
 * and EBR chains: a good one, corrupt ones (no signature, loops in the chain, an unreadable
 * EBR), and write/read round trips. */
#include "io_test.h"

#include <stdlib.h>

/* ---- a RAM disk ---- */

typedef struct _RAMDISK {
    PUCHAR Data;
    ULONG SectorSize;
    ULONG Sectors;
    ULONG Reads, Writes;
    BOOLEAN OverrideVerify; /* every request carried SL_OVERRIDE_VERIFY_VOLUME */
    LONGLONG FailAt;        /* a read at this offset fails; -1: none */
} RAMDISK;

static RAMDISK *rd(PDEVICE_OBJECT d)
{
    return d->DeviceExtension;
}

static NTSTATUS NTAPI rd_rw(PDEVICE_OBJECT d, PIRP Irp)
{
    RAMDISK *x = rd(d);
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(Irp);
    LONGLONG off = sl->Parameters.Read.ByteOffset.QuadPart;
    ULONG len = sl->Parameters.Read.Length;
    BOOLEAN read = sl->MajorFunction == IRP_MJ_READ;
    if (!(sl->Flags & SL_OVERRIDE_VERIFY_VOLUME))
        x->OverrideVerify = FALSE;
    if (off < 0 || off % x->SectorSize || len % x->SectorSize ||
        off + len > (LONGLONG)x->SectorSize * x->Sectors)
        return io_complete(Irp, STATUS_INVALID_PARAMETER, 0);
    if (read && off == x->FailAt)
        return io_complete(Irp, STATUS_DEVICE_DATA_ERROR, 0);
    PUCHAR b = MmGetSystemAddressForMdlSafe(Irp->MdlAddress, NormalPagePriority);
    if (read) {
        x->Reads++;
        memcpy(b, x->Data + off, len);
    } else {
        x->Writes++;
        memcpy(x->Data + off, b, len);
    }
    return io_complete(Irp, STATUS_SUCCESS, len);
}

static NTSTATUS NTAPI rd_entry(PDRIVER_OBJECT d, PUNICODE_STRING RegistryPath)
{
    d->DriverUnload = io_test_unload;
    d->MajorFunction[IRP_MJ_READ] = rd_rw;
    d->MajorFunction[IRP_MJ_WRITE] = rd_rw;
    return STATUS_SUCCESS;
}

static PDEVICE_OBJECT rd_load(kmrig_runtime *rt, ULONG SectorSize, ULONG Sectors)
{
    PDRIVER_OBJECT drv;
    assert_int_equal(IopLoadDriver(rt, L"RamDisk", rd_entry, NULL, &drv), STATUS_SUCCESS);
    UNICODE_STRING name = io_us(L"\\Device\\RamDisk0");
    PDEVICE_OBJECT d;
    assert_int_equal(IoCreateDevice(drv, sizeof(RAMDISK), &name, FILE_DEVICE_DISK, 0, FALSE, &d),
                     STATUS_SUCCESS);
    d->Flags |= DO_DIRECT_IO;
    d->Flags &= ~DO_DEVICE_INITIALIZING;
    RAMDISK *x = rd(d);
    x->SectorSize = SectorSize;
    x->Sectors = Sectors;
    x->Data = calloc(Sectors, SectorSize);
    x->OverrideVerify = TRUE;
    x->FailAt = -1;
    assert_non_null(x->Data);
    return d;
}

static void rd_free(PDEVICE_OBJECT d)
{
    free(rd(d)->Data);
}

/* ---- building tables ---- */

static PUCHAR sector_of(PDEVICE_OBJECT d, ULONG Lba)
{
    return rd(d)->Data + (SIZE_T)Lba * rd(d)->SectorSize;
}

static void put32(PUCHAR p, ULONG v)
{
    p[0] = (UCHAR)v;
    p[1] = (UCHAR)(v >> 8);
    p[2] = (UCHAR)(v >> 16);
    p[3] = (UCHAR)(v >> 24);
}

static ULONG get32(const UCHAR *p)
{
    return p[0] | p[1] << 8 | p[2] << 16 | (ULONG)p[3] << 24;
}

static void set_entry(PDEVICE_OBJECT d, ULONG Lba, int i, UCHAR Boot, UCHAR Type, ULONG Start,
                      ULONG Count)
{
    PUCHAR e = sector_of(d, Lba) + 0x1BE + 16 * i;
    memset(e, 0, 16);
    e[0] = Boot;
    e[4] = Type;
    put32(e + 8, Start);
    put32(e + 12, Count);
}

static void set_signature(PDEVICE_OBJECT d, ULONG Lba)
{
    sector_of(d, Lba)[510] = 0x55;
    sector_of(d, Lba)[511] = 0xAA;
}

/* The test disk (512-byte sectors, 2048 of them):
 *   MBR  #1 0x06 boot LBA 8 (100)   #2 0x07 LBA 108 (200)   extended LBA 400 (1000)
 *        #3 0x83 LBA 1500 (100), not recognized
 *   EBR at 400: #4 0x0B at 402 (100), link -> 400 + 200 = 600
 *   EBR at 600: #5 0x07 at 602 (150), link -> 400 + 500 = 900
 *   EBR at 900: #6 0x0C at 902 (50), end of chain */
static void build_disk(PDEVICE_OBJECT d)
{
    memset(sector_of(d, 0), 0xCC, 440); /* boot code that a write must keep */
    put32(sector_of(d, 0) + 0x1B8, 0x12345678);
    set_entry(d, 0, 0, 0x80, PARTITION_HUGE, 8, 100);
    set_entry(d, 0, 1, 0, PARTITION_IFS, 108, 200);
    set_entry(d, 0, 2, 0, PARTITION_EXTENDED, 400, 1000);
    set_entry(d, 0, 3, 0, 0x83, 1500, 100);
    set_signature(d, 0);
    set_entry(d, 400, 0, 0, PARTITION_FAT32, 2, 100);
    set_entry(d, 400, 1, 0, PARTITION_EXTENDED, 200, 300);
    set_signature(d, 400);
    set_entry(d, 600, 0, 0, PARTITION_IFS, 2, 150);
    set_entry(d, 600, 1, 0, PARTITION_EXTENDED, 500, 100);
    set_signature(d, 600);
    set_entry(d, 900, 0, 0, PARTITION_FAT32_XINT13, 2, 50);
    set_signature(d, 900);
}

static void expect_partition(PPARTITION_INFORMATION p, ULONGLONG StartLba, ULONGLONG Sectors,
                             ULONG Number, UCHAR Type, BOOLEAN Boot, ULONG Hidden)
{
    assert_int_equal(p->StartingOffset.QuadPart, StartLba * 512);
    assert_int_equal(p->PartitionLength.QuadPart, Sectors * 512);
    assert_int_equal(p->PartitionNumber, Number);
    assert_int_equal(p->PartitionType, Type);
    assert_int_equal(p->BootIndicator, Boot);
    assert_int_equal(p->HiddenSectors, Hidden);
    assert_false(p->RewritePartition);
}

/* ---- HalExamineMBR ---- */

static void test_hal_examine_mbr_returns_the_mbr_of_the_type_asked(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    PDEVICE_OBJECT d = rd_load(rt, 512, 2048);
    build_disk(d);
    PVOID b = (PVOID)1;
    HalExamineMBR(d, 512, PARTITION_HUGE, &b);
    assert_non_null(b);
    assert_memory_equal(b, sector_of(d, 0), 512);
    ExFreePool(b);
    b = (PVOID)1;
    HalExamineMBR(d, 256, PARTITION_HUGE, &b); /* below 512: 512 bytes are read */
    assert_non_null(b);
    assert_memory_equal(b, sector_of(d, 0), 512);
    ExFreePool(b);
    b = (PVOID)1;
    HalExamineMBR(d, 512, PARTITION_EZDRIVE, &b); /* another type */
    assert_null(b);
    sector_of(d, 0)[511] = 0;
    b = (PVOID)1;
    HalExamineMBR(d, 512, PARTITION_HUGE, &b); /* no boot signature */
    assert_null(b);
    rd(d)->FailAt = 0;
    set_signature(d, 0);
    b = (PVOID)1;
    HalExamineMBR(d, 512, PARTITION_HUGE, &b); /* an error */
    assert_null(b);
    assert_true(rd(d)->OverrideVerify);
    rd_free(d);
    kmrig_runtime_destroy(rt);
}

/* ---- IoReadPartitionTable ---- */

static void test_io_read_partition_table_follows_the_extended_chain(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    PDEVICE_OBJECT d = rd_load(rt, 512, 2048);
    build_disk(d);
    PDRIVE_LAYOUT_INFORMATION l = (PVOID)1;
    assert_int_equal(IoReadPartitionTable(d, 512, TRUE, &l), STATUS_SUCCESS);
    assert_non_null(l);
    assert_int_equal(l->Signature, 0x12345678);
    assert_int_equal(l->PartitionCount, 5); /* the recognized ones: not 0x83, not containers */
    expect_partition(&l->PartitionEntry[0], 8, 100, 1, PARTITION_HUGE, TRUE, 8);
    expect_partition(&l->PartitionEntry[1], 108, 200, 2, PARTITION_IFS, FALSE, 108);
    expect_partition(&l->PartitionEntry[2], 402, 100, 4, PARTITION_FAT32, FALSE, 2);
    expect_partition(&l->PartitionEntry[3], 602, 150, 5, PARTITION_IFS, FALSE, 2);
    expect_partition(&l->PartitionEntry[4], 902, 50, 6, PARTITION_FAT32_XINT13, FALSE, 2);
    for (ULONG i = 0; i < l->PartitionCount; i++)
        assert_true(l->PartitionEntry[i].RecognizedPartition);
    assert_int_equal(rd(d)->Reads, 4); /* the MBR and three EBRs */
    assert_true(rd(d)->OverrideVerify);
    ExFreePool(l);
    rd_free(d);
    kmrig_runtime_destroy(rt);
}

static void test_io_read_partition_table_all_entries_four_per_table(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    PDEVICE_OBJECT d = rd_load(rt, 512, 2048);
    build_disk(d);
    PDRIVE_LAYOUT_INFORMATION l;
    assert_int_equal(IoReadPartitionTable(d, 512, FALSE, &l), STATUS_SUCCESS);
    assert_int_equal(l->PartitionCount, 16);
    PPARTITION_INFORMATION p = l->PartitionEntry;
    expect_partition(&p[2], 400, 1000, 0, PARTITION_EXTENDED, FALSE, 400);
    assert_false(p[2].RecognizedPartition);
    expect_partition(&p[3], 1500, 100, 3, 0x83, FALSE, 1500);
    assert_false(p[3].RecognizedPartition);
    expect_partition(&p[4], 402, 100, 4, PARTITION_FAT32, FALSE, 2);
    expect_partition(&p[5], 600, 300, 0, PARTITION_EXTENDED, FALSE, 200); /* from the base */
    expect_partition(&p[6], 0, 0, 0, PARTITION_ENTRY_UNUSED, FALSE, 0);
    expect_partition(&p[9], 900, 100, 0, PARTITION_EXTENDED, FALSE, 500);
    expect_partition(&p[12], 902, 50, 6, PARTITION_FAT32_XINT13, FALSE, 2);
    expect_partition(&p[15], 0, 0, 0, PARTITION_ENTRY_UNUSED, FALSE, 0);
    ExFreePool(l);
    rd_free(d);
    kmrig_runtime_destroy(rt);
}

static void test_io_read_partition_table_on_corrupt_tables(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    PDEVICE_OBJECT d = rd_load(rt, 512, 2048);
    PDRIVE_LAYOUT_INFORMATION l;
    /* No boot signature in sector 0: an unpartitioned disk. */
    assert_int_equal(IoReadPartitionTable(d, 512, TRUE, &l), STATUS_SUCCESS);
    assert_int_equal(l->PartitionCount, 0);
    assert_int_equal(l->Signature, 0);
    ExFreePool(l);
    /* The last EBR links back to the first: a loop, an error, not a hang. */
    build_disk(d);
    set_entry(d, 900, 1, 0, PARTITION_EXTENDED, 0, 100);
    l = (PVOID)1;
    assert_int_equal(IoReadPartitionTable(d, 512, TRUE, &l), STATUS_DISK_CORRUPT_ERROR);
    assert_null(l);
    /* An EBR that links to itself. */
    build_disk(d);
    set_entry(d, 600, 1, 0, PARTITION_EXTENDED, 200, 100);
    assert_int_equal(IoReadPartitionTable(d, 512, FALSE, &l), STATUS_DISK_CORRUPT_ERROR);
    assert_null(l);
    /* An extended partition at sector 0: its first EBR would be the MBR, a loop too. */
    build_disk(d);
    set_entry(d, 0, 2, 0, PARTITION_EXTENDED, 0, 1000);
    assert_int_equal(IoReadPartitionTable(d, 512, TRUE, &l), STATUS_DISK_CORRUPT_ERROR);
    /* An EBR without a signature ends the chain: what came before is returned. */
    build_disk(d);
    sector_of(d, 600)[510] = 0;
    assert_int_equal(IoReadPartitionTable(d, 512, TRUE, &l), STATUS_SUCCESS);
    assert_int_equal(l->PartitionCount, 3);
    ExFreePool(l);
    /* An EBR beyond the disk, or one the disk cannot read: the chain ends there. */
    build_disk(d);
    set_entry(d, 600, 1, 0, PARTITION_EXTENDED, 5000, 100);
    assert_int_equal(IoReadPartitionTable(d, 512, TRUE, &l), STATUS_SUCCESS);
    assert_int_equal(l->PartitionCount, 4);
    ExFreePool(l);
    /* The MBR cannot be read: the error, no buffer. */
    rd(d)->FailAt = 0;
    l = (PVOID)1;
    assert_int_equal(IoReadPartitionTable(d, 512, TRUE, &l), STATUS_DEVICE_DATA_ERROR);
    assert_null(l);
    assert_int_equal(IoReadPartitionTable(d, 0, TRUE, &l), STATUS_INVALID_PARAMETER);
    assert_int_equal(IoReadPartitionTable(d, 500, TRUE, &l), STATUS_INVALID_PARAMETER);
    rd_free(d);
    kmrig_runtime_destroy(rt);
}

static void test_io_read_partition_table_with_4k_sectors(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    PDEVICE_OBJECT d = rd_load(rt, 4096, 256);
    set_entry(d, 0, 0, 0, PARTITION_IFS, 1, 10);
    set_entry(d, 0, 1, 0, PARTITION_XINT13_EXTENDED, 20, 100);
    set_signature(d, 0);
    set_entry(d, 20, 0, 0, PARTITION_FAT32, 1, 30);
    set_signature(d, 20);
    PDRIVE_LAYOUT_INFORMATION l;
    assert_int_equal(IoReadPartitionTable(d, 4096, TRUE, &l), STATUS_SUCCESS);
    assert_int_equal(l->PartitionCount, 2);
    assert_int_equal(l->PartitionEntry[0].StartingOffset.QuadPart, 4096);
    assert_int_equal(l->PartitionEntry[0].PartitionLength.QuadPart, 10 * 4096);
    assert_int_equal(l->PartitionEntry[1].StartingOffset.QuadPart, 21 * 4096);
    assert_int_equal(l->PartitionEntry[1].PartitionNumber, 2);
    ExFreePool(l);
    rd_free(d);
    kmrig_runtime_destroy(rt);
}

/* ---- IoSetPartitionInformation ---- */

static void test_io_set_partition_information_changes_one_entry(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    PDEVICE_OBJECT d = rd_load(rt, 512, 2048);
    build_disk(d);
    PUCHAR before = malloc(2048 * 512);
    memcpy(before, rd(d)->Data, 2048 * 512);
    assert_int_equal(IoSetPartitionInformation(d, 512, 5, PARTITION_FAT32), STATUS_SUCCESS);
    assert_int_equal(rd(d)->Writes, 1);
    assert_int_equal(sector_of(d, 600)[0x1BE + 4], PARTITION_FAT32);
    sector_of(d, 600)[0x1BE + 4] = PARTITION_IFS;
    assert_memory_equal(before, rd(d)->Data, 2048 * 512); /* nothing else moved */
    assert_int_equal(IoSetPartitionInformation(d, 512, 3, PARTITION_IFS), STATUS_SUCCESS);
    assert_int_equal(sector_of(d, 0)[0x1BE + 48 + 4], PARTITION_IFS); /* the 0x83 entry */
    PDRIVE_LAYOUT_INFORMATION l;
    assert_int_equal(IoReadPartitionTable(d, 512, TRUE, &l), STATUS_SUCCESS);
    assert_int_equal(l->PartitionCount, 6); /* #3 is recognized now */
    ExFreePool(l);
    assert_int_equal(IoSetPartitionInformation(d, 512, 7, PARTITION_IFS), STATUS_NOT_FOUND);
    assert_int_equal(IoSetPartitionInformation(d, 512, 0, PARTITION_IFS), STATUS_INVALID_PARAMETER);
    assert_int_equal(IoSetPartitionInformation(d, 512, 1, PARTITION_EXTENDED),
                     STATUS_INVALID_PARAMETER);
    assert_int_equal(IoSetPartitionInformation(d, 512, 1, 0x100), STATUS_INVALID_PARAMETER);
    sector_of(d, 0)[510] = 0;
    ULONG writes = rd(d)->Writes;
    assert_int_equal(IoSetPartitionInformation(d, 512, 1, PARTITION_IFS), STATUS_UNSUCCESSFUL);
    assert_int_equal(rd(d)->Writes, writes);
    build_disk(d);
    set_entry(d, 900, 1, 0, PARTITION_EXTENDED, 0, 100);
    assert_int_equal(IoSetPartitionInformation(d, 512, 9, PARTITION_IFS),
                     STATUS_DISK_CORRUPT_ERROR);
    free(before);
    rd_free(d);
    kmrig_runtime_destroy(rt);
}

/* ---- IoWritePartitionTable ---- */

static void test_io_write_partition_table_round_trips(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    PDEVICE_OBJECT src = rd_load(rt, 512, 2048);
    build_disk(src);
    PDRIVE_LAYOUT_INFORMATION l;
    assert_int_equal(IoReadPartitionTable(src, 512, FALSE, &l), STATUS_SUCCESS);
    /* A blank disk with only a boot signature (initialised, no partitions). */
    PDRIVER_OBJECT drv = src->DriverObject;
    UNICODE_STRING name = io_us(L"\\Device\\RamDisk1");
    PDEVICE_OBJECT dst;
    assert_int_equal(IoCreateDevice(drv, sizeof(RAMDISK), &name, FILE_DEVICE_DISK, 0, FALSE, &dst),
                     STATUS_SUCCESS);
    dst->Flags |= DO_DIRECT_IO;
    dst->Flags &= ~DO_DEVICE_INITIALIZING;
    *rd(dst) = (RAMDISK){calloc(2048, 512), 512, 2048, 0, 0, TRUE, -1};
    set_signature(dst, 0);
    /* Nothing marked for rewriting: nothing written. */
    assert_int_equal(IoWritePartitionTable(dst, 512, 63, 255, l), STATUS_SUCCESS);
    assert_int_equal(rd(dst)->Writes, 0);
    for (ULONG i = 0; i < l->PartitionCount; i++)
        l->PartitionEntry[i].RewritePartition = TRUE;
    l->PartitionEntry[1].PartitionType = PARTITION_FAT32; /* and one change */
    assert_int_equal(IoWritePartitionTable(dst, 512, 63, 255, l), STATUS_SUCCESS);
    assert_int_equal(rd(dst)->Writes, 4);
    assert_true(rd(dst)->OverrideVerify);
    PDRIVE_LAYOUT_INFORMATION back;
    assert_int_equal(IoReadPartitionTable(dst, 512, FALSE, &back), STATUS_SUCCESS);
    assert_int_equal(back->PartitionCount, 16);
    assert_int_equal(back->Signature, 0x12345678);
    for (ULONG i = 0; i < 16; i++) {
        PPARTITION_INFORMATION a = &l->PartitionEntry[i], b = &back->PartitionEntry[i];
        assert_int_equal(a->StartingOffset.QuadPart, b->StartingOffset.QuadPart);
        assert_int_equal(a->PartitionLength.QuadPart, b->PartitionLength.QuadPart);
        assert_int_equal(a->PartitionType, b->PartitionType);
        assert_int_equal(a->BootIndicator, b->BootIndicator);
        assert_int_equal(a->HiddenSectors, b->HiddenSectors);
        assert_int_equal(a->PartitionNumber, b->PartitionNumber);
    }
    /* The tables on disk are the source's (the one change aside), entry for entry. */
    sector_of(src, 0)[0x1BE + 16 + 4] = PARTITION_FAT32;
    static const ULONG lbas[] = {0, 400, 600, 900};
    for (int t = 0; t < 4; t++) {
        for (int i = 0; i < 4; i++) {
            PUCHAR a = sector_of(src, lbas[t]) + 0x1BE + 16 * i,
                   b = sector_of(dst, lbas[t]) + 0x1BE + 16 * i;
            assert_int_equal(a[0], b[0]);
            assert_int_equal(a[4], b[4]);
            assert_int_equal(get32(a + 8), get32(b + 8));
            assert_int_equal(get32(a + 12), get32(b + 12));
        }
        assert_int_equal(sector_of(dst, lbas[t])[510], 0x55);
        assert_int_equal(sector_of(dst, lbas[t])[511], 0xAA);
    }
    /* CHS of partition #1 (LBA 8 .. 107 with 63 sectors and 255 heads): 0/0/9 .. 0/1/45. */
    PUCHAR e = sector_of(dst, 0) + 0x1BE;
    assert_int_equal(e[1], 0);
    assert_int_equal(e[2], 9);
    assert_int_equal(e[3], 0);
    assert_int_equal(e[5], 1);
    assert_int_equal(e[6], 45);
    assert_int_equal(e[7], 0);
    ExFreePool(back);
    ExFreePool(l);
    free(rd(dst)->Data);
    rd_free(src);
    kmrig_runtime_destroy(rt);
}

static void test_io_write_partition_table_keeps_the_boot_code_and_refuses_bad_layouts(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    PDEVICE_OBJECT d = rd_load(rt, 512, 2048);
    build_disk(d);
    PDRIVE_LAYOUT_INFORMATION l;
    assert_int_equal(IoReadPartitionTable(d, 512, FALSE, &l), STATUS_SUCCESS);
    for (ULONG i = 0; i < 4; i++)
        l->PartitionEntry[i].RewritePartition = TRUE;
    l->PartitionEntry[0].BootIndicator = FALSE;
    assert_int_equal(IoWritePartitionTable(d, 512, 63, 255, l), STATUS_SUCCESS);
    assert_int_equal(rd(d)->Writes, 1); /* only the MBR had entries to rewrite */
    assert_int_equal(sector_of(d, 0)[0x1BE], 0);
    for (int i = 0; i < 440; i++)
        assert_int_equal(sector_of(d, 0)[i], 0xCC);
    ULONG writes = rd(d)->Writes;
    /* Bad layouts are refused before anything is written. */
    ULONG count = l->PartitionCount;
    l->PartitionCount = 6;
    assert_int_equal(IoWritePartitionTable(d, 512, 63, 255, l), STATUS_INVALID_PARAMETER);
    l->PartitionCount = 0;
    assert_int_equal(IoWritePartitionTable(d, 512, 63, 255, l), STATUS_INVALID_PARAMETER);
    l->PartitionCount = 4; /* a container whose table is not in the layout */
    assert_int_equal(IoWritePartitionTable(d, 512, 63, 255, l), STATUS_INVALID_PARAMETER);
    l->PartitionCount = count;
    l->PartitionEntry[0].StartingOffset.QuadPart += 1; /* not on a sector */
    assert_int_equal(IoWritePartitionTable(d, 512, 63, 255, l), STATUS_INVALID_PARAMETER);
    l->PartitionEntry[0].StartingOffset.QuadPart -= 1;
    l->PartitionEntry[5].PartitionType = 0; /* the chain is broken after the first EBR */
    assert_int_equal(IoWritePartitionTable(d, 512, 63, 255, l), STATUS_INVALID_PARAMETER);
    l->PartitionEntry[5].PartitionType = PARTITION_EXTENDED;
    assert_int_equal(IoWritePartitionTable(d, 512, 0, 255, l), STATUS_INVALID_PARAMETER);
    assert_int_equal(IoWritePartitionTable(d, 512, 63, 255, NULL), STATUS_INVALID_PARAMETER);
    assert_int_equal(rd(d)->Writes, writes);
    /* Sector 0 without the MBR signature: STATUS_UNSUCCESSFUL, nothing written. */
    sector_of(d, 0)[511] = 0;
    assert_int_equal(IoWritePartitionTable(d, 512, 63, 255, l), STATUS_UNSUCCESSFUL);
    assert_int_equal(rd(d)->Writes, writes);
    ExFreePool(l);
    rd_free(d);
    kmrig_runtime_destroy(rt);
}

static void test_io_write_partition_table_builds_a_new_extended_chain(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    PDEVICE_OBJECT d = rd_load(rt, 512, 4096);
    set_signature(d, 0);
    SIZE_T size =
        FIELD_OFFSET(DRIVE_LAYOUT_INFORMATION, PartitionEntry) + 12 * sizeof(PARTITION_INFORMATION);
    PDRIVE_LAYOUT_INFORMATION l = ExAllocatePoolWithTag(NonPagedPool, size, 'tseT');
    memset(l, 0, size);
    l->PartitionCount = 12;
    l->Signature = 0xCAFEF00D;
    struct {
        int Index;
        ULONG Start, Count;
        UCHAR Type;
    } parts[] = {
        {0, 63, 1000, PARTITION_IFS},        {1, 2048, 2000, PARTITION_EXTENDED},
        {4, 2048 + 63, 500, PARTITION_IFS},  {5, 2048 + 1000, 900, PARTITION_EXTENDED},
        {8, 3048 + 63, 800, PARTITION_HUGE},
    };
    for (size_t i = 0; i < ARRAYSIZE(parts); i++) {
        PPARTITION_INFORMATION p = &l->PartitionEntry[parts[i].Index];
        p->StartingOffset.QuadPart = (LONGLONG)parts[i].Start * 512;
        p->PartitionLength.QuadPart = (LONGLONG)parts[i].Count * 512;
        p->PartitionType = parts[i].Type;
    }
    for (int i = 0; i < 12; i++)
        l->PartitionEntry[i].RewritePartition = TRUE;
    assert_int_equal(IoWritePartitionTable(d, 512, 63, 16, l), STATUS_SUCCESS);
    /* The relative starts as the MBR rules say. */
    assert_int_equal(get32(sector_of(d, 0) + 0x1BE + 16 + 8), 2048);
    assert_int_equal(get32(sector_of(d, 2048) + 0x1BE + 8), 63);
    assert_int_equal(get32(sector_of(d, 2048) + 0x1BE + 16 + 8), 1000); /* from the base */
    assert_int_equal(get32(sector_of(d, 3048) + 0x1BE + 8), 63);        /* from its EBR */
    assert_int_equal(get32(sector_of(d, 0) + 0x1B8), 0xCAFEF00D);
    PDRIVE_LAYOUT_INFORMATION back;
    assert_int_equal(IoReadPartitionTable(d, 512, TRUE, &back), STATUS_SUCCESS);
    assert_int_equal(back->PartitionCount, 3);
    assert_int_equal(back->PartitionEntry[1].StartingOffset.QuadPart, (2048 + 63) * 512);
    assert_int_equal(back->PartitionEntry[2].StartingOffset.QuadPart, (3048 + 63) * 512);
    assert_int_equal(back->PartitionEntry[2].PartitionNumber, 3);
    ExFreePool(back);
    ExFreePool(l);
    rd_free(d);
    kmrig_runtime_destroy(rt);
}

static void read_table_at_dispatch(void *arg)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    PDEVICE_OBJECT d = rd_load(rt, 512, 64);
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    PDRIVE_LAYOUT_INFORMATION l;
    IoReadPartitionTable(d, 512, TRUE, &l);
}

static void test_partition_routines_are_passive_level_only(void **state)
{
    assert_bugcheck(read_table_at_dispatch, NULL, DRIVER_VERIFIER_DETECTED_VIOLATION);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_hal_examine_mbr_returns_the_mbr_of_the_type_asked),
    cmocka_unit_test(test_io_read_partition_table_follows_the_extended_chain),
    cmocka_unit_test(test_io_read_partition_table_all_entries_four_per_table),
    cmocka_unit_test(test_io_read_partition_table_on_corrupt_tables),
    cmocka_unit_test(test_io_read_partition_table_with_4k_sectors),
    cmocka_unit_test(test_io_set_partition_information_changes_one_entry),
    cmocka_unit_test(test_io_write_partition_table_round_trips),
    cmocka_unit_test(test_io_write_partition_table_keeps_the_boot_code_and_refuses_bad_layouts),
    cmocka_unit_test(test_io_write_partition_table_builds_a_new_extended_chain),
    cmocka_unit_test(test_partition_routines_are_passive_level_only),
};
KMTEST_MAIN(tests)

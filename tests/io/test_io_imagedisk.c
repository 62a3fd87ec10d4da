/* Partition tables on a disk whose sectors are a host image file: a small disk driver opens
 * \??\C:\disk.img (the runtime's sandbox, docs/files.md) with ZwCreateFile and serves
 * IRP_MJ_READ/WRITE with ZwReadFile/ZwWriteFile. IoWritePartitionTable and IoReadPartitionTable
 * round trip on it, and after the runtime is gone plain host reads of the image find the MBR and
 * EBR bytes expected. */
#include "io_test.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define SECTOR 512u
#define SECTORS 4096u

typedef struct _IMAGE_DISK {
    HANDLE File;
    ULONGLONG Bytes;
    ULONG Reads, Writes;
} IMAGE_DISK;

static NTSTATUS NTAPI img_rw(PDEVICE_OBJECT d, PIRP Irp)
{
    IMAGE_DISK *x = d->DeviceExtension;
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(Irp);
    LARGE_INTEGER off = sl->Parameters.Read.ByteOffset;
    ULONG len = sl->Parameters.Read.Length;
    if (off.QuadPart < 0 || off.QuadPart % SECTOR || len % SECTOR ||
        (ULONGLONG)off.QuadPart + len > x->Bytes)
        return io_complete(Irp, STATUS_INVALID_PARAMETER, 0);
    PVOID b = MmGetSystemAddressForMdlSafe(Irp->MdlAddress, NormalPagePriority);
    if (!b)
        return io_complete(Irp, STATUS_INSUFFICIENT_RESOURCES, 0);
    IO_STATUS_BLOCK iosb;
    NTSTATUS s;
    if (sl->MajorFunction == IRP_MJ_READ) {
        x->Reads++;
        s = ZwReadFile(x->File, NULL, NULL, NULL, &iosb, b, len, &off, NULL);
    } else {
        x->Writes++;
        s = ZwWriteFile(x->File, NULL, NULL, NULL, &iosb, b, len, &off, NULL);
    }
    if (NT_SUCCESS(s) && iosb.Information != len)
        s = STATUS_DEVICE_DATA_ERROR; /* a short transfer: the image is smaller than said */
    return io_complete(Irp, s, NT_SUCCESS(s) ? len : 0);
}

static NTSTATUS NTAPI img_entry(PDRIVER_OBJECT d, PUNICODE_STRING RegistryPath)
{
    d->DriverUnload = io_test_unload;
    d->MajorFunction[IRP_MJ_READ] = img_rw;
    d->MajorFunction[IRP_MJ_WRITE] = img_rw;
    return STATUS_SUCCESS;
}

/* The disk device over \??\C:\<image>. */
static PDEVICE_OBJECT img_load(kmrig_runtime *rt, PCWSTR image, ULONGLONG bytes)
{
    PDRIVER_OBJECT drv;
    assert_int_equal(IopLoadDriver(rt, L"ImageDisk", img_entry, NULL, &drv), STATUS_SUCCESS);
    UNICODE_STRING name = io_us(L"\\Device\\ImageDisk0");
    PDEVICE_OBJECT d;
    assert_int_equal(IoCreateDevice(drv, sizeof(IMAGE_DISK), &name, FILE_DEVICE_DISK, 0, FALSE, &d),
                     STATUS_SUCCESS);
    d->Flags |= DO_DIRECT_IO;
    IMAGE_DISK *x = d->DeviceExtension;
    UNICODE_STRING path = io_us(image);
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, &path, OBJ_CASE_INSENSITIVE | OBJ_KERNEL_HANDLE, NULL, NULL);
    IO_STATUS_BLOCK iosb;
    assert_int_equal(ZwCreateFile(&x->File, GENERIC_READ | GENERIC_WRITE | SYNCHRONIZE, &oa, &iosb,
                                  NULL, FILE_ATTRIBUTE_NORMAL, 0, FILE_OPEN,
                                  FILE_SYNCHRONOUS_IO_NONALERT | FILE_NON_DIRECTORY_FILE, NULL, 0),
                     STATUS_SUCCESS);
    x->Bytes = bytes;
    d->Flags &= ~DO_DEVICE_INITIALIZING;
    return d;
}

static void img_unload(PDEVICE_OBJECT d)
{
    IMAGE_DISK *x = d->DeviceExtension;
    assert_int_equal(ZwClose(x->File), STATUS_SUCCESS);
    x->File = NULL;
}

/* ---- the sandbox and the image, on the host side ---- */

static char g_root[64], g_image[96];

static void make_image(void)
{
    strcpy(g_root, "/tmp/kmrig-imgXXXXXX");
    assert_non_null(mkdtemp(g_root));
    snprintf(g_image, sizeof g_image, "%s/disk.img", g_root);
    int fd = open(g_image, O_CREAT | O_EXCL | O_WRONLY, 0600);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)SECTORS * SECTOR), 0);
    /* An initialised blank disk: boot code the table writes must keep, and the signature. */
    UCHAR mbr[SECTOR] = {0};
    memset(mbr, 0xCC, 440);
    mbr[510] = 0x55;
    mbr[511] = 0xAA;
    assert_int_equal(pwrite(fd, mbr, sizeof mbr, 0), (ssize_t)sizeof mbr);
    close(fd);
}

static void remove_image(void)
{
    unlink(g_image);
    rmdir(g_root);
}

static ULONG get32(const UCHAR *p)
{
    return p[0] | p[1] << 8 | p[2] << 16 | (ULONG)p[3] << 24;
}

static void set_part(PPARTITION_INFORMATION p, UCHAR type, ULONGLONG lba, ULONGLONG count,
                     BOOLEAN boot)
{
    memset(p, 0, sizeof *p);
    p->PartitionType = type;
    p->StartingOffset.QuadPart = (LONGLONG)(lba * SECTOR);
    p->PartitionLength.QuadPart = (LONGLONG)(count * SECTOR);
    p->BootIndicator = boot;
    p->RewritePartition = TRUE;
}

/* The layout written: MBR #1 NTFS LBA 63 (1000) boot, #2 FAT32 LBA 1063 (2000), an extended
 * partition at 3063 (1000); its EBR holds #3, a FAT16 (0x06) at 3064 (500). */
static PDRIVE_LAYOUT_INFORMATION make_layout(void)
{
    ULONG size =
        FIELD_OFFSET(DRIVE_LAYOUT_INFORMATION, PartitionEntry) + 8 * sizeof(PARTITION_INFORMATION);
    PDRIVE_LAYOUT_INFORMATION l = ExAllocatePoolWithTag(NonPagedPoolNx, size, 'tseT');
    assert_non_null(l);
    memset(l, 0, size);
    l->PartitionCount = 8;
    l->Signature = 0xCAFEF00D;
    set_part(&l->PartitionEntry[0], PARTITION_IFS, 63, 1000, TRUE);
    set_part(&l->PartitionEntry[1], PARTITION_FAT32, 1063, 2000, FALSE);
    set_part(&l->PartitionEntry[2], PARTITION_EXTENDED, 3063, 1000, FALSE);
    l->PartitionEntry[3].RewritePartition = TRUE;
    set_part(&l->PartitionEntry[4], PARTITION_HUGE, 3064, 500, FALSE);
    for (int i = 5; i < 8; i++)
        l->PartitionEntry[i].RewritePartition = TRUE;
    return l;
}

static void test_io_partition_table_on_an_image_file_round_trips(void **state)
{
    make_image();
    kmrig_config cfg;
    kmrig_config_init(&cfg);
    cfg.sandbox_root = g_root;
    kmrig_runtime *rt = kmtest_runtime_cfg(&cfg);
    PDEVICE_OBJECT d = img_load(rt, L"\\??\\C:\\disk.img", (ULONGLONG)SECTORS * SECTOR);
    IMAGE_DISK *x = d->DeviceExtension;

    /* The blank disk has an MBR and no partitions. */
    PDRIVE_LAYOUT_INFORMATION l = NULL;
    assert_int_equal(IoReadPartitionTable(d, SECTOR, TRUE, &l), STATUS_SUCCESS);
    assert_int_equal(l->PartitionCount, 0);
    ExFreePool(l);

    PDRIVE_LAYOUT_INFORMATION w = make_layout();
    ULONG writes = x->Writes;
    assert_int_equal(IoWritePartitionTable(d, SECTOR, 63, 255, w), STATUS_SUCCESS);
    assert_int_equal(x->Writes - writes, 2); /* the MBR and the EBR */

    /* Read back, every entry: the same layout. */
    assert_int_equal(IoReadPartitionTable(d, SECTOR, FALSE, &l), STATUS_SUCCESS);
    assert_int_equal(l->Signature, 0xCAFEF00D);
    assert_int_equal(l->PartitionCount, 8);
    for (ULONG i = 0; i < 8; i++) {
        assert_int_equal(l->PartitionEntry[i].PartitionType, w->PartitionEntry[i].PartitionType);
        if (w->PartitionEntry[i].PartitionType == PARTITION_ENTRY_UNUSED)
            continue;
        assert_int_equal(l->PartitionEntry[i].StartingOffset.QuadPart,
                         w->PartitionEntry[i].StartingOffset.QuadPart);
        assert_int_equal(l->PartitionEntry[i].PartitionLength.QuadPart,
                         w->PartitionEntry[i].PartitionLength.QuadPart);
        assert_int_equal(l->PartitionEntry[i].BootIndicator, w->PartitionEntry[i].BootIndicator);
    }
    ExFreePool(l);
    /* The recognized ones, numbered in order. */
    assert_int_equal(IoReadPartitionTable(d, SECTOR, TRUE, &l), STATUS_SUCCESS);
    assert_int_equal(l->PartitionCount, 3);
    static const UCHAR types[3] = {PARTITION_IFS, PARTITION_FAT32, PARTITION_HUGE};
    for (ULONG i = 0; i < 3; i++) {
        assert_int_equal(l->PartitionEntry[i].PartitionType, types[i]);
        assert_int_equal(l->PartitionEntry[i].PartitionNumber, i + 1);
    }
    ExFreePool(l);
    /* One type change through IoSetPartitionInformation: the logical partition. */
    assert_int_equal(IoSetPartitionInformation(d, SECTOR, 3, PARTITION_FAT_16), STATUS_SUCCESS);
    ExFreePool(w);
    img_unload(d);
    kmrig_runtime_destroy(rt);

    /* The runtime is gone: the image on disk has the bytes expected. */
    int fd = open(g_image, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(lseek(fd, 0, SEEK_END), (off_t)SECTORS * SECTOR); /* no growth */
    UCHAR mbr[SECTOR], ebr[SECTOR];
    assert_int_equal(pread(fd, mbr, SECTOR, 0), SECTOR);
    assert_int_equal(pread(fd, ebr, SECTOR, (off_t)3063 * SECTOR), SECTOR);
    close(fd);
    for (int i = 0; i < 440; i++)
        assert_int_equal(mbr[i], 0xCC); /* the boot code is kept */
    assert_int_equal(get32(mbr + 0x1B8), 0xCAFEF00D);
    static const struct {
        UCHAR Boot, Type;
        ULONG Start, Count;
    } want[4] = {{0x80, PARTITION_IFS, 63, 1000},
                 {0, PARTITION_FAT32, 1063, 2000},
                 {0, PARTITION_EXTENDED, 3063, 1000},
                 {0, 0, 0, 0}};
    for (int i = 0; i < 4; i++) {
        const UCHAR *e = mbr + 0x1BE + 16 * i;
        assert_int_equal(e[0], want[i].Boot);
        assert_int_equal(e[4], want[i].Type);
        assert_int_equal(get32(e + 8), want[i].Start);
        assert_int_equal(get32(e + 12), want[i].Count);
    }
    assert_int_equal(mbr[510], 0x55);
    assert_int_equal(mbr[511], 0xAA);
    /* CHS of #1, LBA 63 .. 1062 with 63 sectors a track and 255 heads: 0/1/1 .. 0/16/55. */
    assert_int_equal(mbr[0x1BE + 1], 1);
    assert_int_equal(mbr[0x1BE + 2], 1);
    assert_int_equal(mbr[0x1BE + 3], 0);
    assert_int_equal(mbr[0x1BE + 5], 16);
    assert_int_equal(mbr[0x1BE + 6], 55);
    assert_int_equal(mbr[0x1BE + 7], 0);
    /* The EBR: the logical partition relative to its EBR (3064 - 3063 = 1), type changed. */
    assert_int_equal(ebr[0x1BE + 4], PARTITION_FAT_16);
    assert_int_equal(get32(ebr + 0x1BE + 8), 1);
    assert_int_equal(get32(ebr + 0x1BE + 12), 500);
    for (int i = 1; i < 4; i++)
        assert_int_equal(ebr[0x1BE + 16 * i + 4], 0);
    assert_int_equal(ebr[510], 0x55);
    assert_int_equal(ebr[511], 0xAA);
    remove_image();
}

static void test_io_partition_table_beyond_the_image_end_fails_with_the_driver_status(void **state)
{
    /* The driver says the disk is twice the image: the EBR of an extended partition placed past
     * the image's end cannot be read (ZwReadFile: STATUS_END_OF_FILE), so IoWritePartitionTable
     * stops there with that status, after the MBR (written first, as on NT), and reading the
     * table back ends the chain at the unreadable EBR. */
    make_image();
    kmrig_config cfg;
    kmrig_config_init(&cfg);
    cfg.sandbox_root = g_root;
    kmrig_runtime *rt = kmtest_runtime_cfg(&cfg);
    PDEVICE_OBJECT d = img_load(rt, L"\\??\\C:\\disk.img", (ULONGLONG)2 * SECTORS * SECTOR);
    PDRIVE_LAYOUT_INFORMATION w = make_layout();
    set_part(&w->PartitionEntry[2], PARTITION_EXTENDED, SECTORS + 10, 1000, FALSE);
    set_part(&w->PartitionEntry[4], PARTITION_HUGE, SECTORS + 11, 500, FALSE);
    assert_int_equal(IoWritePartitionTable(d, SECTOR, 63, 255, w), STATUS_END_OF_FILE);
    PDRIVE_LAYOUT_INFORMATION l = NULL;
    assert_int_equal(IoReadPartitionTable(d, SECTOR, TRUE, &l), STATUS_SUCCESS);
    assert_int_equal(l->PartitionCount, 2);
    assert_int_equal(l->PartitionEntry[0].PartitionType, PARTITION_IFS);
    assert_int_equal(l->PartitionEntry[1].PartitionType, PARTITION_FAT32);
    ExFreePool(l);
    ExFreePool(w);
    img_unload(d);
    kmrig_runtime_destroy(rt);
    /* Nothing was written past the end: the image kept its size. */
    int fd = open(g_image, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(lseek(fd, 0, SEEK_END), (off_t)SECTORS * SECTOR);
    close(fd);
    remove_image();
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_io_partition_table_on_an_image_file_round_trips),
    cmocka_unit_test(test_io_partition_table_beyond_the_image_end_fails_with_the_driver_status),
};

KMTEST_MAIN(tests)

/*
 * ddk/file.h - files: ZwCreateFile, ZwReadFile, ZwWriteFile, ZwQueryInformationFile,
 * ZwSetInformationFile, their flags and information structures; MBR partition tables
 * (ntdddisk.h's PARTITION_INFORMATION and DRIVE_LAYOUT_INFORMATION, HalExamineMBR,
 * IoReadPartitionTable, IoSetPartitionInformation, IoWritePartitionTable). Part of wdm.h/ntddk.h;
 * do not include directly.
 *
 * Layouts are the x64 WDK's (pinned below). What kmrig does with host files (the sandbox) is in
 * docs/files.md.
 */
#ifndef KMRIG_DDK_FILE_H
#define KMRIG_DDK_FILE_H

#include "../ntdef.h"
#include "io.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- ZwCreateFile: dispositions, options, results ---- */
#define FILE_SUPERSEDE 0x00000000
#define FILE_OPEN 0x00000001
#define FILE_CREATE 0x00000002
#define FILE_OPEN_IF 0x00000003
#define FILE_OVERWRITE 0x00000004
#define FILE_OVERWRITE_IF 0x00000005
#define FILE_MAXIMUM_DISPOSITION 0x00000005

#define FILE_DIRECTORY_FILE 0x00000001
#define FILE_WRITE_THROUGH 0x00000002
#define FILE_SEQUENTIAL_ONLY 0x00000004
#define FILE_NO_INTERMEDIATE_BUFFERING 0x00000008
#define FILE_SYNCHRONOUS_IO_ALERT 0x00000010
#define FILE_SYNCHRONOUS_IO_NONALERT 0x00000020
#define FILE_NON_DIRECTORY_FILE 0x00000040
#define FILE_CREATE_TREE_CONNECTION 0x00000080
#define FILE_COMPLETE_IF_OPLOCKED 0x00000100
#define FILE_NO_EA_KNOWLEDGE 0x00000200
#define FILE_OPEN_REMOTE_INSTANCE 0x00000400
#define FILE_RANDOM_ACCESS 0x00000800
#define FILE_DELETE_ON_CLOSE 0x00001000
#define FILE_OPEN_BY_FILE_ID 0x00002000
#define FILE_OPEN_FOR_BACKUP_INTENT 0x00004000
#define FILE_NO_COMPRESSION 0x00008000
#define FILE_OPEN_REQUIRING_OPLOCK 0x00010000
#define FILE_RESERVE_OPFILTER 0x00100000
#define FILE_OPEN_REPARSE_POINT 0x00200000
#define FILE_OPEN_NO_RECALL 0x00400000
#define FILE_OPEN_FOR_FREE_SPACE_QUERY 0x00800000
#define FILE_VALID_OPTION_FLAGS 0x00ffffff
#define FILE_VALID_PIPE_OPTION_FLAGS 0x00000032
#define FILE_VALID_MAILSLOT_OPTION_FLAGS 0x00000032
#define FILE_VALID_SET_FLAGS 0x00000036

/* IO_STATUS_BLOCK.Information after ZwCreateFile */
#define FILE_SUPERSEDED 0x00000000
#define FILE_OPENED 0x00000001
#define FILE_CREATED 0x00000002
#define FILE_OVERWRITTEN 0x00000003
#define FILE_EXISTS 0x00000004
#define FILE_DOES_NOT_EXIST 0x00000005

/* ZwReadFile / ZwWriteFile ByteOffset with HighPart == -1 */
#define FILE_WRITE_TO_END_OF_FILE 0xffffffff
#define FILE_USE_FILE_POINTER_POSITION 0xfffffffe

#define FILE_ATTRIBUTE_READONLY 0x00000001
#define FILE_ATTRIBUTE_HIDDEN 0x00000002
#define FILE_ATTRIBUTE_SYSTEM 0x00000004
#define FILE_ATTRIBUTE_DIRECTORY 0x00000010
#define FILE_ATTRIBUTE_ARCHIVE 0x00000020
#define FILE_ATTRIBUTE_DEVICE 0x00000040
#define FILE_ATTRIBUTE_NORMAL 0x00000080
#define FILE_ATTRIBUTE_TEMPORARY 0x00000100
#define FILE_ATTRIBUTE_SPARSE_FILE 0x00000200
#define FILE_ATTRIBUTE_REPARSE_POINT 0x00000400
#define FILE_ATTRIBUTE_COMPRESSED 0x00000800
#define FILE_ATTRIBUTE_OFFLINE 0x00001000
#define FILE_ATTRIBUTE_NOT_CONTENT_INDEXED 0x00002000
#define FILE_ATTRIBUTE_ENCRYPTED 0x00004000
#define FILE_ATTRIBUTE_VALID_FLAGS 0x00007fb7
#define FILE_ATTRIBUTE_VALID_SET_FLAGS 0x000031a7

/* ---- information classes (FILE_INFORMATION_CLASS is ddk/io.h's) ---- */
typedef struct _FILE_BASIC_INFORMATION {
    LARGE_INTEGER CreationTime;
    LARGE_INTEGER LastAccessTime;
    LARGE_INTEGER LastWriteTime;
    LARGE_INTEGER ChangeTime;
    ULONG FileAttributes;
} FILE_BASIC_INFORMATION, *PFILE_BASIC_INFORMATION;

typedef struct _FILE_STANDARD_INFORMATION {
    LARGE_INTEGER AllocationSize;
    LARGE_INTEGER EndOfFile;
    ULONG NumberOfLinks;
    BOOLEAN DeletePending;
    BOOLEAN Directory;
} FILE_STANDARD_INFORMATION, *PFILE_STANDARD_INFORMATION;

typedef struct _FILE_INTERNAL_INFORMATION {
    LARGE_INTEGER IndexNumber;
} FILE_INTERNAL_INFORMATION, *PFILE_INTERNAL_INFORMATION;

typedef struct _FILE_ACCESS_INFORMATION {
    ACCESS_MASK AccessFlags;
} FILE_ACCESS_INFORMATION, *PFILE_ACCESS_INFORMATION;

typedef struct _FILE_MODE_INFORMATION {
    ULONG Mode;
} FILE_MODE_INFORMATION, *PFILE_MODE_INFORMATION;

typedef struct _FILE_ALIGNMENT_INFORMATION {
    ULONG AlignmentRequirement;
} FILE_ALIGNMENT_INFORMATION, *PFILE_ALIGNMENT_INFORMATION;

typedef struct _FILE_POSITION_INFORMATION {
    LARGE_INTEGER CurrentByteOffset;
} FILE_POSITION_INFORMATION, *PFILE_POSITION_INFORMATION;

typedef struct _FILE_END_OF_FILE_INFORMATION {
    LARGE_INTEGER EndOfFile;
} FILE_END_OF_FILE_INFORMATION, *PFILE_END_OF_FILE_INFORMATION;

typedef struct _FILE_ALLOCATION_INFORMATION {
    LARGE_INTEGER AllocationSize;
} FILE_ALLOCATION_INFORMATION, *PFILE_ALLOCATION_INFORMATION;

typedef struct _FILE_NAME_INFORMATION {
    ULONG FileNameLength;
    WCHAR FileName[1];
} FILE_NAME_INFORMATION, *PFILE_NAME_INFORMATION;

typedef struct _FILE_DISPOSITION_INFORMATION {
    BOOLEAN DeleteFile;
} FILE_DISPOSITION_INFORMATION, *PFILE_DISPOSITION_INFORMATION;

typedef struct _FILE_RENAME_INFORMATION {
    union {
        BOOLEAN ReplaceIfExists;
        ULONG Flags;
    };
    HANDLE RootDirectory;
    ULONG FileNameLength;
    WCHAR FileName[1];
} FILE_RENAME_INFORMATION, *PFILE_RENAME_INFORMATION;

/* ---- the Zw file routines (PASSIVE_LEVEL) ---- */
NTSYSAPI NTSTATUS NTAPI ZwCreateFile(PHANDLE FileHandle, ACCESS_MASK DesiredAccess,
                                     POBJECT_ATTRIBUTES ObjectAttributes,
                                     PIO_STATUS_BLOCK IoStatusBlock, PLARGE_INTEGER AllocationSize,
                                     ULONG FileAttributes, ULONG ShareAccess,
                                     ULONG CreateDisposition, ULONG CreateOptions, PVOID EaBuffer,
                                     ULONG EaLength);
NTSYSAPI NTSTATUS NTAPI ZwReadFile(HANDLE FileHandle, HANDLE Event, PIO_APC_ROUTINE ApcRoutine,
                                   PVOID ApcContext, PIO_STATUS_BLOCK IoStatusBlock, PVOID Buffer,
                                   ULONG Length, PLARGE_INTEGER ByteOffset, PULONG Key);
NTSYSAPI NTSTATUS NTAPI ZwWriteFile(HANDLE FileHandle, HANDLE Event, PIO_APC_ROUTINE ApcRoutine,
                                    PVOID ApcContext, PIO_STATUS_BLOCK IoStatusBlock, PVOID Buffer,
                                    ULONG Length, PLARGE_INTEGER ByteOffset, PULONG Key);
NTSYSAPI NTSTATUS NTAPI ZwQueryInformationFile(HANDLE FileHandle, PIO_STATUS_BLOCK IoStatusBlock,
                                               PVOID FileInformation, ULONG Length,
                                               FILE_INFORMATION_CLASS FileInformationClass);
NTSYSAPI NTSTATUS NTAPI ZwSetInformationFile(HANDLE FileHandle, PIO_STATUS_BLOCK IoStatusBlock,
                                             PVOID FileInformation, ULONG Length,
                                             FILE_INFORMATION_CLASS FileInformationClass);

/* ---- MBR partitions (ntdddisk.h) ---- */
#define PARTITION_ENTRY_UNUSED 0x00
#define PARTITION_FAT_12 0x01
#define PARTITION_XENIX_1 0x02
#define PARTITION_XENIX_2 0x03
#define PARTITION_FAT_16 0x04
#define PARTITION_EXTENDED 0x05
#define PARTITION_HUGE 0x06
#define PARTITION_IFS 0x07
#define PARTITION_OS2BOOTMGR 0x0A
#define PARTITION_FAT32 0x0B
#define PARTITION_FAT32_XINT13 0x0C
#define PARTITION_XINT13 0x0E
#define PARTITION_XINT13_EXTENDED 0x0F
#define PARTITION_MSFT_RECOVERY 0x27
#define PARTITION_PREP 0x41
#define PARTITION_LDM 0x42
#define PARTITION_DM 0x54
#define PARTITION_EZDRIVE 0x55
#define PARTITION_UNIX 0x63
#define PARTITION_SPACES 0xE7
#define PARTITION_GPT 0xEE
#define PARTITION_NTFT 0x80
#define VALID_NTFT 0xC0

#define IsContainerPartition(PartitionType)                                                        \
    (((PartitionType) == PARTITION_EXTENDED) || ((PartitionType) == PARTITION_XINT13_EXTENDED))
#define IsFTPartition(PartitionType)                                                               \
    (((PartitionType)&PARTITION_NTFT) && IsRecognizedPartition((PartitionType) & ~0xC0))
#define IsRecognizedPartition(PartitionType)                                                       \
    ((((PartitionType) & ~0xC0) == PARTITION_FAT_12) ||                                            \
     (((PartitionType) & ~0xC0) == PARTITION_FAT_16) ||                                            \
     (((PartitionType) & ~0xC0) == PARTITION_HUGE) ||                                              \
     (((PartitionType) & ~0xC0) == PARTITION_IFS) ||                                               \
     (((PartitionType) & ~0xC0) == PARTITION_FAT32) ||                                             \
     (((PartitionType) & ~0xC0) == PARTITION_FAT32_XINT13) ||                                      \
     (((PartitionType) & ~0xC0) == PARTITION_XINT13))

typedef struct _PARTITION_INFORMATION {
    LARGE_INTEGER StartingOffset;
    LARGE_INTEGER PartitionLength;
    ULONG HiddenSectors;
    ULONG PartitionNumber;
    UCHAR PartitionType;
    BOOLEAN BootIndicator;
    BOOLEAN RecognizedPartition;
    BOOLEAN RewritePartition;
} PARTITION_INFORMATION, *PPARTITION_INFORMATION;

typedef struct _DRIVE_LAYOUT_INFORMATION {
    ULONG PartitionCount;
    ULONG Signature;
    PARTITION_INFORMATION PartitionEntry[1];
} DRIVE_LAYOUT_INFORMATION, *PDRIVE_LAYOUT_INFORMATION;

NTHALAPI VOID FASTCALL HalExamineMBR(PDEVICE_OBJECT DeviceObject, ULONG SectorSize,
                                     ULONG MBRTypeIdentifier, PVOID *Buffer);
NTKERNELAPI NTSTATUS FASTCALL IoReadPartitionTable(
    PDEVICE_OBJECT DeviceObject, ULONG SectorSize, BOOLEAN ReturnRecognizedPartitions,
    struct _DRIVE_LAYOUT_INFORMATION **PartitionBuffer);
NTKERNELAPI NTSTATUS FASTCALL IoSetPartitionInformation(PDEVICE_OBJECT DeviceObject,
                                                        ULONG SectorSize, ULONG PartitionNumber,
                                                        ULONG PartitionType);
NTKERNELAPI NTSTATUS FASTCALL
IoWritePartitionTable(PDEVICE_OBJECT DeviceObject, ULONG SectorSize, ULONG SectorsPerTrack,
                      ULONG NumberOfHeads, struct _DRIVE_LAYOUT_INFORMATION *PartitionBuffer);

/* ---- layout pins (x64 WDK) ---- */
C_ASSERT(sizeof(FILE_BASIC_INFORMATION) == 40);
C_ASSERT(FIELD_OFFSET(FILE_BASIC_INFORMATION, FileAttributes) == 32);
C_ASSERT(sizeof(FILE_STANDARD_INFORMATION) == 24);
C_ASSERT(FIELD_OFFSET(FILE_STANDARD_INFORMATION, DeletePending) == 20);
C_ASSERT(sizeof(FILE_NAME_INFORMATION) == 8);
C_ASSERT(FIELD_OFFSET(FILE_RENAME_INFORMATION, RootDirectory) == 8);
C_ASSERT(FIELD_OFFSET(FILE_RENAME_INFORMATION, FileNameLength) == 16);
C_ASSERT(FIELD_OFFSET(FILE_RENAME_INFORMATION, FileName) == 20);
C_ASSERT(sizeof(PARTITION_INFORMATION) == 32);
C_ASSERT(FIELD_OFFSET(PARTITION_INFORMATION, PartitionType) == 24);
C_ASSERT(FIELD_OFFSET(DRIVE_LAYOUT_INFORMATION, PartitionEntry) == 8);
C_ASSERT(sizeof(DRIVE_LAYOUT_INFORMATION) == 40);

#ifdef __cplusplus
}
#endif

#endif

/*
 * ddk/mm.h - memory manager: PAGE_SIZE and page macros, MDLs, probing, sections, pageable code.
 *
 * What kmrig's memory manager is:
 *  - There is one address space, the host process's. The "system address" of a buffer an MDL
 *    describes is the host buffer itself: MmGetSystemAddressForMdlSafe returns
 *    MmGetMdlVirtualAddress(Mdl). Nothing is ever paged out, so locking only records state.
 *  - Page frame numbers are fake but consistent: the PFN of a page is its host virtual address
 *    shifted right by PAGE_SHIFT. The same page always has the same PFN, PFNs of consecutive
 *    pages of a buffer are consecutive, and the HAL turns a PFN back into the host page.
 *  - "User" addresses are the buffers the harness registered (kmrig/mm.h). ProbeForRead,
 *    ProbeForWrite and MmProbeAndLockPages(UserMode) raise STATUS_ACCESS_VIOLATION for any other
 *    range; nothing is learned by touching memory (no SIGSEGV handling).
 *  - The WDK defines several of these routines as macros; each is also a real exported function
 *    (#undef the macro to reach it). MmGetSystemAddressForMdl(Safe) and MmPrepareMdlForReuse are
 *    functions only, so the verifier sees every call.
 */
#ifndef KMRIG_DDK_MM_H
#define KMRIG_DDK_MM_H

#include "../ntdef.h"
#include "iotypes.h"
#include "cmres.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PAGE_SIZE 0x1000
#define PAGE_SHIFT 12L

typedef enum _MEMORY_CACHING_TYPE_ORIG { MmFrameBufferCached = 2 } MEMORY_CACHING_TYPE_ORIG;
typedef enum _MEMORY_CACHING_TYPE {
    MmNonCached = FALSE,
    MmCached = TRUE,
    MmWriteCombined = MmFrameBufferCached,
    MmHardwareCoherentCached,
    MmNonCachedUnordered,
    MmUSWCCached,
    MmMaximumCacheType,
    MmNotMapped = -1
} MEMORY_CACHING_TYPE;

/* ---- page arithmetic ---- */

NTKERNELAPI PVOID NTAPI PAGE_ALIGN(PVOID Va);
NTKERNELAPI ULONG NTAPI BYTE_OFFSET(PVOID Va);
NTKERNELAPI SIZE_T NTAPI ROUND_TO_PAGES(SIZE_T Size);
NTKERNELAPI ULONG NTAPI BYTES_TO_PAGES(SIZE_T Size);
NTKERNELAPI ULONG NTAPI ADDRESS_AND_SIZE_TO_SPAN_PAGES(PVOID Va, SIZE_T Size);

#define PAGE_ALIGN(Va) ((PVOID)((ULONG_PTR)(Va) & ~((ULONG_PTR)PAGE_SIZE - 1)))
#define BYTE_OFFSET(Va) ((ULONG)((LONG_PTR)(Va) & (PAGE_SIZE - 1)))
#define ROUND_TO_PAGES(Size) (((ULONG_PTR)(Size) + PAGE_SIZE - 1) & ~((ULONG_PTR)PAGE_SIZE - 1))
#define BYTES_TO_PAGES(Size)                                                                       \
    ((ULONG)(((ULONG_PTR)(Size) >> PAGE_SHIFT) + (((ULONG_PTR)(Size) & (PAGE_SIZE - 1)) != 0)))
#define ADDRESS_AND_SIZE_TO_SPAN_PAGES(Va, Size)                                                   \
    ((ULONG)((BYTE_OFFSET(Va) + ((SIZE_T)(Size)) + (PAGE_SIZE - 1)) >> PAGE_SHIFT))

/* ---- MDLs ---- */

typedef ULONG_PTR PFN_NUMBER, *PPFN_NUMBER;

/* The x64 WDK layout; the PFN array follows the structure. */
typedef struct _MDL {
    struct _MDL *Next;
    CSHORT Size; /* of the MDL with its PFN array, bytes */
    CSHORT MdlFlags;
    struct _EPROCESS *Process;
    PVOID MappedSystemVa;
    PVOID StartVa; /* page-aligned */
    ULONG ByteCount;
    ULONG ByteOffset; /* of the buffer in its first page */
} MDL;
C_ASSERT(FIELD_OFFSET(MDL, Next) == 0);
C_ASSERT(FIELD_OFFSET(MDL, Size) == 8);
C_ASSERT(FIELD_OFFSET(MDL, MdlFlags) == 10);
C_ASSERT(FIELD_OFFSET(MDL, Process) == 16);
C_ASSERT(FIELD_OFFSET(MDL, MappedSystemVa) == 24);
C_ASSERT(FIELD_OFFSET(MDL, StartVa) == 32);
C_ASSERT(FIELD_OFFSET(MDL, ByteCount) == 40);
C_ASSERT(FIELD_OFFSET(MDL, ByteOffset) == 44);
C_ASSERT(sizeof(MDL) == 48);

#define MDL_MAPPED_TO_SYSTEM_VA 0x0001
#define MDL_PAGES_LOCKED 0x0002
#define MDL_SOURCE_IS_NONPAGED_POOL 0x0004
#define MDL_ALLOCATED_FIXED_SIZE 0x0008
#define MDL_PARTIAL 0x0010
#define MDL_PARTIAL_HAS_BEEN_MAPPED 0x0020
#define MDL_IO_PAGE_READ 0x0040
#define MDL_WRITE_OPERATION 0x0080
#define MDL_LOCKED_PAGE_TABLES 0x0100
#define MDL_PARENT_MAPPED_SYSTEM_VA MDL_LOCKED_PAGE_TABLES
#define MDL_FREE_EXTRA_PTES 0x0200
#define MDL_DESCRIBES_AWE 0x0400
#define MDL_IO_SPACE 0x0800
#define MDL_NETWORK_HEADER 0x1000
#define MDL_MAPPING_CAN_FAIL 0x2000
#define MDL_PAGE_CONTENTS_INVARIANT 0x4000
#define MDL_ALLOCATED_MUST_SUCCEED MDL_PAGE_CONTENTS_INVARIANT
#define MDL_INTERNAL 0x8000
#define MDL_MAPPING_FLAGS                                                                          \
    (MDL_MAPPED_TO_SYSTEM_VA | MDL_PAGES_LOCKED | MDL_SOURCE_IS_NONPAGED_POOL |                    \
     MDL_PARTIAL_HAS_BEEN_MAPPED | MDL_PARENT_MAPPED_SYSTEM_VA | MDL_IO_SPACE)

typedef enum _LOCK_OPERATION { IoReadAccess, IoWriteAccess, IoModifyAccess } LOCK_OPERATION;

typedef enum _MM_PAGE_PRIORITY {
    LowPagePriority,
    NormalPagePriority = 16,
    HighPagePriority = 32
} MM_PAGE_PRIORITY;
#define MdlMappingNoWrite 0x80000000
#define MdlMappingNoExecute 0x40000000

NTKERNELAPI PMDL NTAPI IoAllocateMdl(PVOID VirtualAddress, ULONG Length, BOOLEAN SecondaryBuffer,
                                     BOOLEAN ChargeQuota, PIRP Irp);
NTKERNELAPI VOID NTAPI IoFreeMdl(PMDL Mdl);
NTKERNELAPI VOID NTAPI IoBuildPartialMdl(PMDL SourceMdl, PMDL TargetMdl, PVOID VirtualAddress,
                                         ULONG Length);
NTKERNELAPI SIZE_T NTAPI MmSizeOfMdl(PVOID Base, SIZE_T Length);
NTKERNELAPI PMDL NTAPI MmCreateMdl(PMDL MemoryDescriptorList, PVOID Base, SIZE_T Length);
NTKERNELAPI VOID NTAPI MmBuildMdlForNonPagedPool(PMDL MemoryDescriptorList);
NTKERNELAPI VOID NTAPI MmProbeAndLockPages(PMDL MemoryDescriptorList, KPROCESSOR_MODE AccessMode,
                                           LOCK_OPERATION Operation);
NTKERNELAPI VOID NTAPI MmUnlockPages(PMDL MemoryDescriptorList);
NTKERNELAPI PVOID NTAPI MmMapLockedPages(PMDL MemoryDescriptorList, KPROCESSOR_MODE AccessMode);
NTKERNELAPI PVOID NTAPI MmMapLockedPagesSpecifyCache(PMDL MemoryDescriptorList,
                                                     KPROCESSOR_MODE AccessMode,
                                                     MEMORY_CACHING_TYPE CacheType,
                                                     PVOID RequestedAddress,
                                                     ULONG BugCheckOnFailure, ULONG Priority);
NTKERNELAPI VOID NTAPI MmUnmapLockedPages(PVOID BaseAddress, PMDL MemoryDescriptorList);
NTKERNELAPI PVOID NTAPI MmGetSystemAddressForMdlSafe(PMDL Mdl, ULONG Priority);
NTKERNELAPI PVOID NTAPI MmGetSystemAddressForMdl(PMDL Mdl);
NTKERNELAPI VOID NTAPI MmPrepareMdlForReuse(PMDL Mdl);
NTKERNELAPI BOOLEAN NTAPI MmIsAddressValid(PVOID VirtualAddress);

NTKERNELAPI VOID NTAPI MmInitializeMdl(PMDL MemoryDescriptorList, PVOID BaseVa, SIZE_T Length);
NTKERNELAPI PVOID NTAPI MmGetMdlVirtualAddress(PMDL Mdl);
NTKERNELAPI ULONG NTAPI MmGetMdlByteCount(PMDL Mdl);
NTKERNELAPI ULONG NTAPI MmGetMdlByteOffset(PMDL Mdl);
NTKERNELAPI PPFN_NUMBER NTAPI MmGetMdlPfnArray(PMDL Mdl);

/* As the WDK defines them. MmInitializeMdl leaves Process and MappedSystemVa alone. */
#define MmInitializeMdl(_Mdl, _BaseVa, _Length)                                                    \
    {                                                                                              \
        (_Mdl)->Next = (PMDL)NULL;                                                                 \
        (_Mdl)->Size =                                                                             \
            (CSHORT)(sizeof(MDL) +                                                                 \
                     (sizeof(PFN_NUMBER) * ADDRESS_AND_SIZE_TO_SPAN_PAGES((_BaseVa), (_Length)))); \
        (_Mdl)->MdlFlags = 0;                                                                      \
        (_Mdl)->StartVa = (PVOID)PAGE_ALIGN((_BaseVa));                                            \
        (_Mdl)->ByteOffset = BYTE_OFFSET((_BaseVa));                                               \
        (_Mdl)->ByteCount = (ULONG)(_Length);                                                      \
    }
#define MmGetMdlVirtualAddress(Mdl) ((PVOID)((PCHAR)((Mdl)->StartVa) + (Mdl)->ByteOffset))
#define MmGetMdlByteCount(Mdl) ((Mdl)->ByteCount)
#define MmGetMdlByteOffset(Mdl) ((Mdl)->ByteOffset)
#define MmGetMdlPfnArray(Mdl) ((PPFN_NUMBER)((Mdl) + 1))

/* ---- probing user buffers (raise STATUS_ACCESS_VIOLATION / STATUS_DATATYPE_MISALIGNMENT) ---- */

NTKERNELAPI VOID NTAPI ProbeForRead(const volatile VOID *Address, SIZE_T Length, ULONG Alignment);
NTKERNELAPI VOID NTAPI ProbeForWrite(volatile VOID *Address, SIZE_T Length, ULONG Alignment);

/* ---- pageable code and data (nothing is paged out; lock counts are kept and checked) ---- */

NTKERNELAPI PVOID NTAPI MmLockPagableCodeSection(PVOID AddressWithinSection);
NTKERNELAPI PVOID NTAPI MmLockPagableDataSection(PVOID AddressWithinSection);
NTKERNELAPI VOID NTAPI MmLockPagableSectionByHandle(PVOID ImageSectionHandle);
NTKERNELAPI VOID NTAPI MmUnlockPagableImageSection(PVOID ImageSectionHandle);
NTKERNELAPI PVOID NTAPI MmPageEntireDriver(PVOID AddressWithinSection);
NTKERNELAPI VOID NTAPI MmResetDriverPaging(PVOID AddressWithinSection);
#define MmLockPageableCodeSection MmLockPagableCodeSection
#define MmLockPageableDataSection MmLockPagableDataSection
#define MmLockPageableSectionByHandle MmLockPagableSectionByHandle
#define MmUnlockPageableImageSection MmUnlockPagableImageSection

typedef enum _MM_SYSTEM_SIZE { MmSmallSystem, MmMediumSystem, MmLargeSystem } MM_SYSTEMSIZE;
NTKERNELAPI MM_SYSTEMSIZE NTAPI MmQuerySystemSize(VOID);
NTKERNELAPI BOOLEAN NTAPI MmIsThisAnNtAsSystem(VOID);

/* ---- sections and views ---- */

#define SECTION_QUERY 0x0001
#define SECTION_MAP_WRITE 0x0002
#define SECTION_MAP_READ 0x0004
#define SECTION_MAP_EXECUTE 0x0008
#define SECTION_EXTEND_SIZE 0x0010
#define SECTION_MAP_EXECUTE_EXPLICIT 0x0020
#define SECTION_ALL_ACCESS                                                                         \
    (STANDARD_RIGHTS_REQUIRED | SECTION_QUERY | SECTION_MAP_WRITE | SECTION_MAP_READ |             \
     SECTION_MAP_EXECUTE | SECTION_EXTEND_SIZE)

#define PAGE_NOACCESS 0x01
#define PAGE_READONLY 0x02
#define PAGE_READWRITE 0x04
#define PAGE_WRITECOPY 0x08
#define PAGE_EXECUTE 0x10
#define PAGE_EXECUTE_READ 0x20
#define PAGE_EXECUTE_READWRITE 0x40
#define PAGE_EXECUTE_WRITECOPY 0x80
#define PAGE_GUARD 0x100
#define PAGE_NOCACHE 0x200
#define PAGE_WRITECOMBINE 0x400

#define MEM_COMMIT 0x00001000
#define MEM_RESERVE 0x00002000
#define MEM_TOP_DOWN 0x00100000
#define MEM_LARGE_PAGES 0x20000000

typedef enum _SECTION_INHERIT { ViewShare = 1, ViewUnmap = 2 } SECTION_INHERIT;

NTSYSAPI NTSTATUS NTAPI ZwOpenSection(PHANDLE SectionHandle, ACCESS_MASK DesiredAccess,
                                      POBJECT_ATTRIBUTES ObjectAttributes);
NTSYSAPI NTSTATUS NTAPI ZwMapViewOfSection(HANDLE SectionHandle, HANDLE ProcessHandle,
                                           PVOID *BaseAddress, ULONG_PTR ZeroBits,
                                           SIZE_T CommitSize, PLARGE_INTEGER SectionOffset,
                                           PSIZE_T ViewSize, SECTION_INHERIT InheritDisposition,
                                           ULONG AllocationType, ULONG Win32Protect);
NTSYSAPI NTSTATUS NTAPI ZwUnmapViewOfSection(HANDLE ProcessHandle, PVOID BaseAddress);
/* The same routine under the spelling of old DDK indexes. */
NTSYSAPI NTSTATUS NTAPI ZwUnMapViewOfSection(HANDLE ProcessHandle, PVOID BaseAddress);

#ifdef __cplusplus
}
#endif

#endif

/*
 * kmrig/mm.h - the memory manager as a harness sees it (snake_case, harness-facing).
 *
 * User buffers. On NT a driver that receives a user-mode pointer (METHOD_NEITHER, direct I/O)
 * probes it: ProbeForRead/ProbeForWrite and MmProbeAndLockPages(UserMode) raise
 * STATUS_ACCESS_VIOLATION when the range is not valid user memory. In kmrig there is no user
 * address space, so the harness says which host ranges play the user's buffers: a probe succeeds
 * only for a range that lies inside one registered buffer (and, for a write probe, a writable
 * one). Register before handing the pointer to a driver, unregister when the request is done.
 *
 * Sections. ZwOpenSection finds sections by name. A harness (or a test) creates named sections
 * backed by anonymous shared memory; each ZwMapViewOfSection maps a new view of the same pages.
 * \Device\PhysicalMemory is refused with STATUS_ACCESS_DENIED: it would give a driver the host's
 * memory, which the rig never exposes (device memory goes through MmMapIoSpace and the HAL).
 *
 * Every function takes the instance explicitly and may be called from any thread, attached or
 * not. They return 0 or a negative errno value.
 */
#ifndef KMRIG_MM_H
#define KMRIG_MM_H

#include <stddef.h>
#include <stdint.h>

#include "runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Registers [p, p + len) as a user buffer of rt; writable nonzero allows write probes.
 * -EINVAL: p NULL, len 0 or the range wraps; -EEXIST: it overlaps a registered buffer. */
int kmrig_user_buffer_register(kmrig_runtime *rt, void *p, size_t len, int writable);

/* Unregisters the buffer that starts at p. -ENOENT: none does. If an MDL locked by
 * MmProbeAndLockPages still holds pages of it, the runtime bugchecks
 * DRIVER_LEFT_LOCKED_PAGES_IN_PROCESS (0xCB) as NT does when such a process ends. */
int kmrig_user_buffer_unregister(kmrig_runtime *rt, void *p);

/* Creates a named section of size bytes (rounded up to pages), zero-filled. name is the NT name
 * in UTF-8 ("\\BaseNamedObjects\\Frame"); writable zero makes it read-only (write access is
 * refused at open and map). *contents (optional) receives a host mapping of the whole section
 * that stays valid until the section is deleted: the harness fills or checks it there.
 * -EINVAL: bad name or size 0; -EEXIST: the name is taken; -EACCES: a reserved name
 * (\Device\PhysicalMemory); -ENOMEM. */
int kmrig_section_create(kmrig_runtime *rt, const char *name, size_t size, int writable,
                         void **contents);

/* Removes the name; the section goes away when its last handle is closed and its last view
 * unmapped. -ENOENT: no such section. */
int kmrig_section_delete(kmrig_runtime *rt, const char *name);

/* Parameter 1 of DRIVER_VERIFIER_DETECTED_VIOLATION (0xC4) for the memory manager's checks.
 * p2 is the MDL (or the handle / address) concerned, p4 the routine's name (char *). */
#define KMRIG_VF_MDL_ALREADY_LOCKED 0x4B4D0030u /* MmProbeAndLockPages on a locked MDL */
#define KMRIG_VF_MDL_NOT_LOCKABLE 0x4B4D0031u   /* ... on a partial or nonpaged-pool MDL */
#define KMRIG_VF_MDL_NOT_LOCKED 0x4B4D0032u     /* unlock/map of an MDL that is not locked */
#define KMRIG_VF_MDL_ALREADY_MAPPED 0x4B4D0033u /* MmMapLockedPages on a mapped MDL */
#define KMRIG_VF_MDL_BAD_UNMAP                                                                     \
    0x4B4D0034u /* unmap of an address the MDL was not mapped at;                                  \
                   p3 = the address */
#define KMRIG_VF_MDL_PARTIAL_RANGE                                                                 \
    0x4B4D0035u                                   /* IoBuildPartialMdl outside the source MDL or   \
                                                     into a target too small; p3 = target */
#define KMRIG_VF_MDL_USER_AS_NONPAGED 0x4B4D0036u /* MmBuildMdlForNonPagedPool on user memory */
#define KMRIG_VF_MDL_SECONDARY_WITHOUT_IRP                                                         \
    0x4B4D0037u /* IoAllocateMdl(SecondaryBuffer, no IRP)                                          \
                 */
#define KMRIG_VF_PROBE_ALIGNMENT                                                                   \
    0x4B4D0038u                                 /* ProbeFor* alignment not 1, 2, 4, 8 or 16;       \
                                                   p2 = alignment */
#define KMRIG_VF_SECTION_UNBALANCED 0x4B4D0039u /* MmUnlockPagableImageSection with count 0 */
#define KMRIG_VF_SECTION_BAD_HANDLE 0x4B4D003Au /* not a handle from MmLockPagable*Section */
#define KMRIG_VF_NOT_IN_IMAGE                                                                      \
    0x4B4D003Bu /* MmLockPagable*, MmPageEntireDriver, ...:                                        \
                   the address is in no loaded image */

#ifdef __cplusplus
}
#endif

#endif

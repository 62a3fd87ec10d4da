/* MmMapIoSpace / MmUnmapIoSpace: device memory windows. A mapping is a PROT_NONE reservation of
 * host address space (so a stray dereference faults at once) that the window table maps back to
 * bus addresses for READ/WRITE_REGISTER_*. An unmapped window stays reserved and marked dead, so
 * a stale pointer is caught as a page fault instead of reaching whatever is mapped there later. */
#define _GNU_SOURCE
#include "hal.h"
#include "vf.h"

#include <sys/mman.h>

PVOID NTAPI MmMapIoSpace(PHYSICAL_ADDRESS PhysicalAddress, SIZE_T NumberOfBytes,
                         MEMORY_CACHING_TYPE CacheType)
{
    struct kmrig_runtime *rt = KiRuntime();
    VF_IRQL_MAX(DISPATCH_LEVEL);
    HALP_STATE *h = rt->Hal;
    ULONGLONG bus = (ULONGLONG)PhysicalAddress.QuadPart;
    if (!NumberOfBytes || PhysicalAddress.QuadPart < 0 || bus + NumberOfBytes > 0x100000000ull ||
        (unsigned)CacheType >= MmMaximumCacheType) {
        KmLog(rt, KMRIG_LOG_ERROR,
              "MmMapIoSpace(0x%llx, %zu, cache %d): not a range of the 32-bit device bus", bus,
              (size_t)NumberOfBytes, (int)CacheType);
        return NULL;
    }
    if (!h->Link) {
        KmLog(rt, KMRIG_LOG_ERROR,
              "MmMapIoSpace(0x%llx): this runtime has no target (set kmrig_config.target)", bus);
        return NULL;
    }
    SIZE_T offset = (SIZE_T)(bus & (PAGE_SIZE - 1));
    SIZE_T size = (offset + NumberOfBytes + PAGE_SIZE - 1) & ~(SIZE_T)(PAGE_SIZE - 1);
    void *r = mmap(NULL, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (r == MAP_FAILED)
        return NULL;
    pthread_mutex_lock(&h->Lock);
    unsigned n = atomic_load(&h->WindowCount);
    if (n == HALP_MAX_WINDOWS) {
        pthread_mutex_unlock(&h->Lock);
        munmap(r, size);
        KmLog(rt, KMRIG_LOG_ERROR, "MmMapIoSpace: more than %u mappings in one runtime",
              HALP_MAX_WINDOWS);
        return NULL;
    }
    HALP_WINDOW *w = &h->Windows[n];
    w->Reserved = r;
    w->ReservedSize = size;
    w->Va = (ULONG_PTR)r + offset;
    w->Length = NumberOfBytes;
    w->Bus = bus;
    atomic_store(&w->Dead, false);
    atomic_store_explicit(&h->WindowCount, n + 1, memory_order_release);
    pthread_mutex_unlock(&h->Lock);
    KmLog(rt, KMRIG_LOG_DEBUG, "MmMapIoSpace: bus 0x%llx + %zu at %p", bus, (size_t)NumberOfBytes,
          (void *)w->Va);
    return (PVOID)w->Va;
}

VOID NTAPI MmUnmapIoSpace(PVOID BaseAddress, SIZE_T NumberOfBytes)
{
    struct kmrig_runtime *rt = KiRuntime();
    VF_IRQL_MAX(DISPATCH_LEVEL);
    HALP_STATE *h = rt->Hal;
    pthread_mutex_lock(&h->Lock);
    unsigned n = atomic_load(&h->WindowCount);
    for (unsigned i = 0; i < n; i++) {
        HALP_WINDOW *w = &h->Windows[i];
        if (w->Va == (ULONG_PTR)BaseAddress && !atomic_load(&w->Dead) &&
            w->Length == NumberOfBytes) {
            atomic_store_explicit(&w->Dead, true, memory_order_release);
            pthread_mutex_unlock(&h->Lock);
            return;
        }
    }
    pthread_mutex_unlock(&h->Lock);
    KmLog(rt, KMRIG_LOG_ERROR,
          "MmUnmapIoSpace(%p, %zu): no live mapping that MmMapIoSpace returned with that size",
          BaseAddress, (size_t)NumberOfBytes);
    KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, KMRIG_VF_BAD_IO_UNMAP, (ULONG_PTR)BaseAddress,
                 NumberOfBytes, (ULONG_PTR) "MmUnmapIoSpace");
}

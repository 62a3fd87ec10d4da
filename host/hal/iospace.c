/* MmMapIoSpace / MmUnmapIoSpace: device memory windows. A mapping is a PROT_NONE reservation of
 * host address space (so a stray dereference faults at once) that the window table maps back to
 * bus addresses for READ/WRITE_REGISTER_*. An unmapped window stays reserved and marked dead, so
 * a stale pointer is caught as a page fault instead of reaching whatever is mapped there later,
 * until the table is full: then the window unmapped longest ago is released and its slot reused
 * (a driver may map and unmap for ever; only HALP_MAX_WINDOWS can be live at once). */
#define _GNU_SOURCE
#include "hal.h"
#include "vf.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

VOID HalpWindowView(const HALP_WINDOW *w, HALP_WINDOW_VIEW *v)
{
    for (;;) {
        unsigned seq = atomic_load_explicit(&w->Seq, memory_order_acquire);
        if (seq & 1)
            continue; /* being rewritten (a few stores, under the HAL lock) */
        v->Va = atomic_load_explicit(&w->Va, memory_order_relaxed);
        v->Length = atomic_load_explicit(&w->Length, memory_order_relaxed);
        v->Bus = atomic_load_explicit(&w->Bus, memory_order_relaxed);
        v->Lo = atomic_load_explicit(&w->Reserved, memory_order_relaxed);
        v->Hi = v->Lo + atomic_load_explicit(&w->ReservedSize, memory_order_relaxed);
        v->Dead = atomic_load_explicit(&w->Dead, memory_order_relaxed);
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&w->Seq, memory_order_relaxed) == seq)
            return;
    }
}

/* h->Lock held. Rewrites a slot inside its sequence count. */
static void HalpWindowSet(HALP_WINDOW *w, void *reserved, size_t size, ULONG_PTR va, SIZE_T length,
                          ULONGLONG bus, bool dead)
{
    unsigned seq = atomic_load_explicit(&w->Seq, memory_order_relaxed);
    atomic_store_explicit(&w->Seq, seq + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    atomic_store_explicit(&w->Reserved, (uintptr_t)reserved, memory_order_relaxed);
    atomic_store_explicit(&w->ReservedSize, size, memory_order_relaxed);
    atomic_store_explicit(&w->Va, va, memory_order_relaxed);
    atomic_store_explicit(&w->Length, length, memory_order_relaxed);
    atomic_store_explicit(&w->Bus, bus, memory_order_relaxed);
    atomic_store_explicit(&w->Dead, dead, memory_order_relaxed);
    atomic_store_explicit(&w->Seq, seq + 2, memory_order_release);
}

/* h->Lock held. A slot for a new window: a free one, else the one unmapped longest ago (its
 * reservation is released), else NULL (every window is live). */
static HALP_WINDOW *HalpWindowSlot(HALP_STATE *h)
{
    unsigned n = atomic_load_explicit(&h->WindowCount, memory_order_relaxed);
    if (n < HALP_MAX_WINDOWS)
        return &h->Windows[n];
    HALP_WINDOW *oldest = NULL;
    for (unsigned i = 0; i < n; i++) {
        HALP_WINDOW *w = &h->Windows[i];
        if (atomic_load_explicit(&w->Dead, memory_order_relaxed) &&
            (!oldest || w->DeadOrder < oldest->DeadOrder))
            oldest = w;
    }
    if (oldest) {
        munmap((void *)atomic_load_explicit(&oldest->Reserved, memory_order_relaxed),
               atomic_load_explicit(&oldest->ReservedSize, memory_order_relaxed));
        /* an empty dead slot until it is set: the released range may be anybody's now */
        HalpWindowSet(oldest, NULL, 0, 0, 0, 0, true);
    }
    return oldest;
}

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
    pthread_mutex_lock(&h->Lock);
    HALP_WINDOW *w = HalpWindowSlot(h);
    if (!w) {
        pthread_mutex_unlock(&h->Lock);
        KmLog(rt, KMRIG_LOG_ERROR,
              "MmMapIoSpace(0x%llx): %u mappings are live already, the most one runtime has", bus,
              HALP_MAX_WINDOWS);
        return NULL;
    }
    void *r = mmap(NULL, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (r == MAP_FAILED) {
        /* a recycled slot stays empty and dead: nothing matches it */
        pthread_mutex_unlock(&h->Lock);
        KmLog(rt, KMRIG_LOG_ERROR, "MmMapIoSpace(0x%llx): no address space: %s", bus,
              strerror(errno));
        return NULL;
    }
    ULONG_PTR va = (ULONG_PTR)r + offset;
    HalpWindowSet(w, r, size, va, NumberOfBytes, bus, false);
    unsigned n = atomic_load_explicit(&h->WindowCount, memory_order_relaxed);
    if (w == &h->Windows[n])
        atomic_store_explicit(&h->WindowCount, n + 1, memory_order_release);
    pthread_mutex_unlock(&h->Lock);
    KmLog(rt, KMRIG_LOG_DEBUG, "MmMapIoSpace: bus 0x%llx + %zu at %p", bus, (size_t)NumberOfBytes,
          (void *)va);
    return (PVOID)va;
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
        if (atomic_load(&w->Va) == (ULONG_PTR)BaseAddress && !atomic_load(&w->Dead) &&
            atomic_load(&w->Length) == NumberOfBytes) {
            w->DeadOrder = ++h->WindowDeaths;
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

/* The DMA translation table (host memory as the device's DMA master sees it), the link's DMA
 * handler, and the Mm routines whose memory is entered in it when allocated:
 * MmAllocateContiguousMemory, MmAllocateNonCachedMemory, their frees, MmGetPhysicalAddress,
 * KeFlushIoBuffers. The scheme is in host/internal/hal.h. */
#define _GNU_SOURCE
#include "hal.h"
#include "trace.h"
#include "vf.h"

#include <stdlib.h>
#include <string.h>

#define HALP_PAGES(n) (((n) + PAGE_SIZE - 1) & ~(SIZE_T)(PAGE_SIZE - 1))

/* ---- the table --------------------------------------------------------------------------- */

static const HALP_BUSMAP *HalpFindBus(HALP_STATE *h, ULONGLONG Bus)
{
    ULONG lo = 0, hi = h->MapCount;
    while (lo < hi) {
        ULONG mid = (lo + hi) / 2;
        const HALP_BUSMAP *m = &h->Maps[mid];
        if (Bus < m->Bus)
            hi = mid;
        else if (Bus >= m->Bus + m->Length)
            lo = mid + 1;
        else
            return m;
    }
    return NULL;
}

NTSTATUS HalpMapBus(HALP_STATE *h, SIZE_T Bytes, PUCHAR Host, UCHAR Kind,
                    struct _HALP_ADAPTER *Adapter, ULONGLONG Highest, PULONGLONG Bus)
{
    SIZE_T len = HALP_PAGES(Bytes);
    if (!len || len > HALP_DMA_END - HALP_DMA_BASE)
        return STATUS_INVALID_PARAMETER;
    pthread_mutex_lock(&h->DmaLock);
    if (h->MapCount == h->MapCapacity) {
        ULONG cap = h->MapCapacity ? h->MapCapacity * 2 : 16;
        HALP_BUSMAP *m = realloc(h->Maps, cap * sizeof *m);
        if (!m) {
            pthread_mutex_unlock(&h->DmaLock);
            return STATUS_INSUFFICIENT_RESOURCES;
        }
        h->Maps = m;
        h->MapCapacity = cap;
    }
    /* First fit, a guard page after every range. */
    ULONGLONG at = HALP_DMA_BASE;
    ULONG i = 0;
    for (; i < h->MapCount; i++) {
        if (at + len + PAGE_SIZE <= h->Maps[i].Bus)
            break;
        at = h->Maps[i].Bus + h->Maps[i].Length + PAGE_SIZE;
    }
    if (at + len > HALP_DMA_END || at + len - 1 > Highest) {
        pthread_mutex_unlock(&h->DmaLock);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    memmove(&h->Maps[i + 1], &h->Maps[i], (h->MapCount - i) * sizeof *h->Maps);
    h->Maps[i] = (HALP_BUSMAP){
        .Bus = at, .Length = len, .Bytes = Bytes, .Host = Host, .Adapter = Adapter, .Kind = Kind};
    h->MapCount++;
    pthread_mutex_unlock(&h->DmaLock);
    /* A buffer is reachable in both directions while allocated: enter it in the IOMMU, if the
     * link has one (an aperture's registers are entered by MapTransfer). */
    int rc = Host && h->Link ? kmrig_link_dma_map(h->Link, Host, len, at,
                                                  KMRIG_DMA_TO_DEVICE | KMRIG_DMA_FROM_DEVICE)
                             : KMRIG_LINK_ENOTSUP;
    if (rc != KMRIG_LINK_OK && rc != KMRIG_LINK_ENOTSUP) {
        KmLog(h->Runtime, KMRIG_LOG_ERROR,
              "DMA: entering %zu bytes at bus 0x%llx in the IOMMU failed: %s%s", (size_t)len,
              (unsigned long long)at, kmrig_link_strerror(rc),
              rc == KMRIG_LINK_ENOMEM ? " (the locked-memory limit? ulimit -l)" : "");
        HalpUnmapBus(h, at, Host, Kind, Bytes);
        return rc == KMRIG_LINK_ENOMEM ? STATUS_INSUFFICIENT_RESOURCES : STATUS_UNSUCCESSFUL;
    }
    if (rc == KMRIG_LINK_OK) {
        pthread_mutex_lock(&h->DmaLock);
        HALP_BUSMAP *m = (HALP_BUSMAP *)HalpFindBus(h, at);
        m->Iommu = TRUE;
        pthread_mutex_unlock(&h->DmaLock);
    }
    *Bus = at;
    return STATUS_SUCCESS;
}

/* Takes a buffer out of the IOMMU (after it left the table). */
static void HalpIommuUnmapBuffer(HALP_STATE *h, ULONGLONG Bus, SIZE_T Length)
{
    int rc = kmrig_link_dma_unmap(h->Link, Bus, Length);
    if (rc != KMRIG_LINK_OK)
        KmLog(h->Runtime, KMRIG_LOG_ERROR,
              "DMA: removing %zu bytes at bus 0x%llx from the IOMMU failed: %s", (size_t)Length,
              (unsigned long long)Bus, kmrig_link_strerror(rc));
}

/* Removes the range that starts at Bus (or, Bus == 0, whose buffer is Host) of that kind and
 * size (Bytes 0: any). FALSE if there is none. */
BOOLEAN HalpUnmapBus(HALP_STATE *h, ULONGLONG Bus, PUCHAR Host, UCHAR Kind, SIZE_T Bytes)
{
    pthread_mutex_lock(&h->DmaLock);
    for (ULONG i = 0; i < h->MapCount; i++) {
        HALP_BUSMAP *m = &h->Maps[i];
        if (m->Kind != Kind || (Bus && m->Bus != Bus) || (Host && m->Host != Host) ||
            (Bytes && m->Bytes != Bytes))
            continue;
        HALP_BUSMAP gone = *m;
        memmove(m, m + 1, (h->MapCount - i - 1) * sizeof *m);
        h->MapCount--;
        pthread_mutex_unlock(&h->DmaLock);
        if (gone.Iommu) /* the link is never called with DmaLock held */
            HalpIommuUnmapBuffer(h, gone.Bus, gone.Length);
        return TRUE;
    }
    pthread_mutex_unlock(&h->DmaLock);
    return FALSE;
}

/* Host address of [Bus, Bus + n) for an access of `need` (HALP_DMA_*), n within one page; NULL
 * and a reason when the device may not. DmaLock held. */
static PUCHAR HalpTranslate(HALP_STATE *h, ULONGLONG Bus, size_t n, ULONG need, const char **why)
{
    const HALP_BUSMAP *m = HalpFindBus(h, Bus);
    if (!m) {
        *why = "no buffer is mapped there";
        return NULL;
    }
    ULONGLONG off = Bus - m->Bus;
    if (m->Kind != HALP_MAP_APERTURE) {
        if (off + n > m->Length) {
            *why = "the access runs past the end of the buffer";
            return NULL;
        }
        return m->Host + off;
    }
    const HALP_MAPREG *r = &m->Adapter->Regs[off / PAGE_SIZE];
    if (!r->Access) {
        *why = "the map register is not mapped (no MapTransfer, or flushed / freed)";
        return NULL;
    }
    if (!(r->Access & need)) {
        *why = need == HALP_DMA_WRITE ? "the transfer was mapped for a write to the device"
                                      : "the transfer was mapped for a read from the device";
        return NULL;
    }
    return r->HostPage + (off % PAGE_SIZE);
}

int HalpDmaAccess(void *ctx, int write, uint64_t bus, void *data, size_t size)
{
    HALP_STATE *h = ctx;
    ULONG need = write ? HALP_DMA_WRITE : HALP_DMA_READ;
    const char *why = NULL;
    KmTraceDma(h->Runtime, write, bus, size, kmrig_link_dma_cycle(h->Link));
    pthread_mutex_lock(&h->DmaLock); /* (the link's lock is held: never call the link here) */
    /* Check the whole range first: a faulting access touches no host memory at all. */
    ULONGLONG at = bus;
    size_t left = size;
    while (left) {
        size_t n = PAGE_SIZE - (at % PAGE_SIZE);
        if (n > left)
            n = left;
        if (at + n < at || !HalpTranslate(h, at, n, need, &why))
            break;
        at += n;
        left -= n;
    }
    if (!left) {
        at = bus;
        left = size;
        PUCHAR p = data;
        while (left) {
            size_t n = PAGE_SIZE - (at % PAGE_SIZE);
            if (n > left)
                n = left;
            PUCHAR host = HalpTranslate(h, at, n, need, &why);
            if (write)
                memcpy(host, p, n);
            else
                memcpy(p, host, n);
            at += n;
            p += n;
            left -= n;
        }
        pthread_mutex_unlock(&h->DmaLock);
        return KMRIG_LINK_OK;
    }
    atomic_fetch_add(&h->DmaFaults, 1);
    if (h->PendingFaultCount < sizeof h->PendingFaults / sizeof h->PendingFaults[0]) {
        ULONG i = h->PendingFaultCount++;
        h->PendingFaults[i].Bus = bus;
        h->PendingFaults[i].At = at;
        h->PendingFaults[i].Size = size;
        h->PendingFaults[i].Write = write;
        h->PendingFaults[i].Why = why;
    } else {
        h->UnreportedFaults++;
    }
    pthread_mutex_unlock(&h->DmaLock);
    return KMRIG_LINK_EBUS;
}

VOID HalpReportDmaFaults(HALP_STATE *h)
{
    if (!h->PendingFaultCount) /* racy peek; the lock decides */
        return;
    pthread_mutex_lock(&h->DmaLock);
    ULONG n = h->PendingFaultCount, lost = h->UnreportedFaults;
    __typeof__(h->PendingFaults) f;
    memcpy(f, h->PendingFaults, sizeof f);
    h->PendingFaultCount = 0;
    h->UnreportedFaults = 0;
    pthread_mutex_unlock(&h->DmaLock);
    struct kmrig_runtime *rt = h->Runtime;
    for (ULONG i = 0; i < n; i++)
        KmLog(rt, KMRIG_LOG_ERROR,
              "DMA fault: the device %s %zu byte(s) at bus address 0x%llx: %s (at 0x%llx); no "
              "host memory was touched",
              f[i].Write ? "wrote" : "read", f[i].Size, (unsigned long long)f[i].Bus, f[i].Why,
              (unsigned long long)f[i].At);
    if (lost)
        KmLog(rt, KMRIG_LOG_ERROR, "DMA: %u more fault(s) not shown", (unsigned)lost);
    if (n && VfOn(rt, KMRIG_VERIFY_DMA))
        KiBugCheckRt(rt, DRIVER_VERIFIER_DMA_VIOLATION, KMRIG_VF_DMA_FAULT, (ULONG_PTR)f[0].Bus,
                     f[0].Size, (ULONG_PTR)f[0].Write);
}

/* Ranges still entered at shutdown: the memory of a driver that did not free it. */
VOID HalpDmaShutdown(HALP_STATE *h)
{
    static const char *kinds[] = {"", "contiguous memory", "noncached memory", "a common buffer",
                                  "an adapter's map registers"};
    for (ULONG i = 0; i < h->MapCount; i++) {
        HALP_BUSMAP *m = &h->Maps[i];
        KmLog(h->Runtime, KMRIG_LOG_ERROR,
              "DMA: %s of %zu bytes at bus 0x%llx is still allocated at shutdown (leak)",
              kinds[m->Kind], m->Bytes, (unsigned long long)m->Bus);
        if (m->Iommu)
            HalpIommuUnmapBuffer(h, m->Bus, m->Length);
        if (m->Host)
            free(m->Host);
    }
    h->MapCount = 0;
}

/* ---- memory the device may reach ---------------------------------------------------------- */

PVOID HalpAllocateDmaMemory(HALP_STATE *h, SIZE_T Bytes, UCHAR Kind, struct _HALP_ADAPTER *A,
                            ULONGLONG Highest, PULONGLONG Bus)
{
    if (!Bytes)
        return NULL;
    PUCHAR p = aligned_alloc(PAGE_SIZE, HALP_PAGES(Bytes));
    if (!p)
        return NULL;
    memset(p, 0, HALP_PAGES(Bytes));
    if (!NT_SUCCESS(HalpMapBus(h, Bytes, p, Kind, A, Highest, Bus))) {
        free(p);
        return NULL;
    }
    return p;
}

PVOID NTAPI MmAllocateContiguousMemory(SIZE_T NumberOfBytes,
                                       PHYSICAL_ADDRESS HighestAcceptableAddress)
{
    struct kmrig_runtime *rt = KiRuntime();
    VF_IRQL_MAX(DISPATCH_LEVEL);
    ULONGLONG bus;
    ULONGLONG highest =
        HighestAcceptableAddress.QuadPart < 0 ? 0 : (ULONGLONG)HighestAcceptableAddress.QuadPart;
    PVOID p =
        HalpAllocateDmaMemory(rt->Hal, NumberOfBytes, HALP_MAP_CONTIGUOUS, NULL, highest, &bus);
    if (!p && NumberOfBytes)
        KmLog(rt, KMRIG_LOG_WARN,
              "MmAllocateContiguousMemory(%zu, highest 0x%llx): no bus range fits",
              (size_t)NumberOfBytes, highest);
    return p;
}

VOID NTAPI MmFreeContiguousMemory(PVOID BaseAddress)
{
    struct kmrig_runtime *rt = KiRuntime();
    VF_IRQL_MAX(PASSIVE_LEVEL);
    if (!BaseAddress || !HalpUnmapBus(rt->Hal, 0, BaseAddress, HALP_MAP_CONTIGUOUS, 0))
        KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, KMRIG_VF_BAD_DMA_FREE,
                     (ULONG_PTR)BaseAddress, 0, (ULONG_PTR) "MmFreeContiguousMemory");
    free(BaseAddress);
}

PVOID NTAPI MmAllocateNonCachedMemory(SIZE_T NumberOfBytes)
{
    struct kmrig_runtime *rt = KiRuntime();
    VF_IRQL_MAX(APC_LEVEL);
    ULONGLONG bus;
    return HalpAllocateDmaMemory(rt->Hal, NumberOfBytes, HALP_MAP_NONCACHED, NULL, UINT64_MAX,
                                 &bus);
}

VOID NTAPI MmFreeNonCachedMemory(PVOID BaseAddress, SIZE_T NumberOfBytes)
{
    struct kmrig_runtime *rt = KiRuntime();
    VF_IRQL_MAX(APC_LEVEL);
    if (!BaseAddress || !HalpUnmapBus(rt->Hal, 0, BaseAddress, HALP_MAP_NONCACHED, NumberOfBytes))
        KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, KMRIG_VF_BAD_DMA_FREE,
                     (ULONG_PTR)BaseAddress, NumberOfBytes, (ULONG_PTR) "MmFreeNonCachedMemory");
    free(BaseAddress);
}

PHYSICAL_ADDRESS NTAPI MmGetPhysicalAddress(PVOID BaseAddress)
{
    struct kmrig_runtime *rt = KiRuntime();
    VF_IRQL_MAX(DISPATCH_LEVEL);
    HALP_STATE *h = rt->Hal;
    PHYSICAL_ADDRESS pa;
    PUCHAR a = BaseAddress;
    pthread_mutex_lock(&h->DmaLock);
    for (ULONG i = 0; i < h->MapCount; i++) {
        const HALP_BUSMAP *m = &h->Maps[i];
        if (m->Host && a >= m->Host && a < m->Host + m->Length) {
            pa.QuadPart = (LONGLONG)(m->Bus + (ULONGLONG)(a - m->Host));
            pthread_mutex_unlock(&h->DmaLock);
            return pa;
        }
    }
    pthread_mutex_unlock(&h->DmaLock);
    /* Not DMA memory: the frame address of the MDL frame numbers (the host address), which no
     * device can reach. */
    pa.QuadPart = (LONGLONG)(ULONG_PTR)BaseAddress;
    return pa;
}

VOID NTAPI KeFlushIoBuffers(PMDL Mdl, BOOLEAN ReadOperation, BOOLEAN DmaOperation)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    (void)ReadOperation, (void)DmaOperation;
    if (!Mdl)
        KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, KMRIG_VF_BAD_DMA_FREE, 0, 0,
                     (ULONG_PTR) "KeFlushIoBuffers");
    /* x86/x64 keep DMA coherent with the caches: nothing to do, as on NT. */
}

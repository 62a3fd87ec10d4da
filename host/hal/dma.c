/* DMA adapters: IoGetDmaAdapter and the DMA_OPERATIONS members (adapter channels, map
 * registers, MapTransfer, scatter/gather lists, common buffers, ReadDmaCounter), and the legacy
 * Io*Adapter routines. Structure as NT's HAL: GetScatterGatherList is an adapter-channel
 * allocation whose execution routine builds the list.
 *
 * Two kinds of adapter:
 *  - bus master (DEVICE_DESCRIPTION.Master): map registers are page slots of an aperture in the
 *    bus-address table, mapped straight onto the buffer's pages for one direction;
 *  - system (slave) DMA (Master = FALSE, DmaChannel): a channel of the target's system DMA
 *    controller (docs/rtl.md "sysdma", found through the enumeration ROM). MapTransfer programs
 *    the channel (address, count, direction, autoinitialize) and unmasks it; FlushAdapterBuffers
 *    masks it; ReadDmaCounter reads its count. The controller takes one contiguous bus range, so
 *    a buffer that is not contiguous on the bus goes through a bounce buffer that the map
 *    registers stand for (copied in by MapTransfer for a write to the device, copied back by
 *    FlushAdapterBuffers for a read), as NT's map registers do for ISA DMA. */
#define _GNU_SOURCE
#include "hal.h"
#include "vf.h"
/* The system DMA controller's registers and the enumeration ROM layout: part of the bridge
 * core, the same on the model and on a board. */
#include "../../bridge/sim/gen/kmrig_soc_map.h"

#include <stdlib.h>
#include <string.h>

static DMA_OPERATIONS HalpDmaOperations;

static HALP_ADAPTER *HalpAdapter(PDMA_ADAPTER DmaAdapter, const char *Routine)
{
    HALP_ADAPTER *a = (HALP_ADAPTER *)DmaAdapter;
    if (!a || a->Magic != HALP_ADAPTER_MAGIC || a->Runtime != KiRuntime())
        KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, KMRIG_VF_BAD_DMA_FREE, (ULONG_PTR)a, 0,
                     (ULONG_PTR)Routine);
    return a;
}

/* ---- map registers ----------------------------------------------------------------------- */

/* A free run of n registers, marked allocated; NULL when there is none. Adapter lock held. */
static PHALP_MAPREG HalpAllocateRegisters(HALP_ADAPTER *a, ULONG n)
{
    if (!n)
        return NULL;
    for (ULONG i = 0; i + n <= a->MapRegisters; i++) {
        ULONG k = 0;
        while (k < n && !a->Regs[i + k].Allocated)
            k++;
        if (k == n) {
            for (k = 0; k < n; k++)
                a->Regs[i + k].Allocated = TRUE;
            a->Regs[i].RunLength = n;
            return &a->Regs[i];
        }
        i += k;
    }
    return NULL;
}

static BOOLEAN HalpEnoughRegisters(HALP_ADAPTER *a, ULONG n)
{
    if (!n)
        return TRUE;
    for (ULONG i = 0; i + n <= a->MapRegisters; i++) {
        ULONG k = 0;
        while (k < n && !a->Regs[i + k].Allocated)
            k++;
        if (k == n)
            return TRUE;
        i += k;
    }
    return FALSE;
}

/* ---- the IOMMU (links with dma_map: host/internal/hal.h) ---------------------------------- */

typedef struct _HALP_IOMMU_RUNS {
    ULONG Count;
    ULONG First[HALP_MAX_MAP_REGISTERS], Pages[HALP_MAX_MAP_REGISTERS];
} HALP_IOMMU_RUNS;

/* Takes the IOMMU mappings that overlap registers [First, First + n) off the registers into
 * *Runs, to be removed with HalpIommuUnmapRuns once DmaLock is released. DmaLock held. */
static void HalpTakeIommuRuns(HALP_ADAPTER *a, ULONG First, ULONG n, HALP_IOMMU_RUNS *Runs)
{
    Runs->Count = 0;
    for (ULONG j = 0; j < a->MapRegisters; j++) {
        ULONG run = a->Regs[j].IommuRun;
        if (!run || j >= First + n || j + run <= First)
            continue;
        Runs->First[Runs->Count] = j;
        Runs->Pages[Runs->Count++] = run;
        a->Regs[j].IommuRun = 0;
    }
}

static void HalpIommuUnmapRuns(HALP_ADAPTER *a, const HALP_IOMMU_RUNS *Runs)
{
    HALP_STATE *h = a->Runtime->Hal;
    for (ULONG i = 0; i < Runs->Count; i++) {
        ULONGLONG bus = a->Aperture + (ULONGLONG)Runs->First[i] * PAGE_SIZE;
        int rc = kmrig_link_dma_unmap(h->Link, bus, (size_t)Runs->Pages[i] * PAGE_SIZE);
        if (rc != KMRIG_LINK_OK)
            KmLog(a->Runtime, KMRIG_LOG_ERROR,
                  "DMA: removing %u map register page(s) at bus 0x%llx from the IOMMU failed: %s",
                  (unsigned)Runs->Pages[i], (unsigned long long)bus, kmrig_link_strerror(rc));
    }
}

/* Registers r[0..Pages) now point at the consecutive host pages from HostPage for Access
 * (HALP_DMA_*): enters them in the IOMMU in one mapping, replacing what they mapped before.
 * DmaLock not held. A failure is logged: the device cannot reach the transfer (MapTransfer has
 * no way to fail on NT). */
static void HalpIommuMapRegisters(HALP_ADAPTER *a, PHALP_MAPREG r, PUCHAR HostPage, ULONG Pages,
                                  ULONG Access, const char *Routine)
{
    HALP_STATE *h = a->Runtime->Hal;
    if (!h->Link || !Pages)
        return;
    ULONG first = (ULONG)(r - a->Regs);
    HALP_IOMMU_RUNS old;
    pthread_mutex_lock(&h->DmaLock);
    HalpTakeIommuRuns(a, first, Pages, &old);
    pthread_mutex_unlock(&h->DmaLock);
    HalpIommuUnmapRuns(a, &old);
    ULONGLONG bus = a->Aperture + (ULONGLONG)first * PAGE_SIZE;
    unsigned dir = (Access & HALP_DMA_READ ? KMRIG_DMA_TO_DEVICE : 0) |
                   (Access & HALP_DMA_WRITE ? KMRIG_DMA_FROM_DEVICE : 0);
    int rc = kmrig_link_dma_map(h->Link, HostPage, (size_t)Pages * PAGE_SIZE, bus, dir);
    if (rc == KMRIG_LINK_OK) {
        pthread_mutex_lock(&h->DmaLock);
        r->IommuRun = Pages;
        pthread_mutex_unlock(&h->DmaLock);
    } else if (rc != KMRIG_LINK_ENOTSUP) {
        KmLog(a->Runtime, KMRIG_LOG_ERROR,
              "%s: entering %u page(s) at bus 0x%llx in the IOMMU failed: %s; the device cannot "
              "reach this transfer",
              Routine, (unsigned)Pages, (unsigned long long)bus, kmrig_link_strerror(rc));
    }
}

/* Unmaps registers [r, r + n): the device can no longer reach what they mapped. */
static void HalpUnmapRegisters(HALP_ADAPTER *a, PHALP_MAPREG r, ULONG n)
{
    HALP_STATE *h = a->Runtime->Hal;
    HALP_IOMMU_RUNS old;
    pthread_mutex_lock(&h->DmaLock);
    for (ULONG i = 0; i < n; i++) {
        r[i].Access = 0;
        r[i].HostPage = NULL;
    }
    HalpTakeIommuRuns(a, (ULONG)(r - a->Regs), n, &old);
    pthread_mutex_unlock(&h->DmaLock);
    HalpIommuUnmapRuns(a, &old);
}

/* The run that starts at Base with n registers, or a verifier bugcheck. */
static PHALP_MAPREG HalpRun(HALP_ADAPTER *a, PVOID Base, ULONG n, const char *Routine)
{
    PHALP_MAPREG r = Base;
    if (!r || r < a->Regs || r >= a->Regs + a->MapRegisters ||
        (size_t)((char *)r - (char *)a->Regs) % sizeof *r || !r->Allocated || !r->RunLength ||
        (n && n > r->RunLength))
        KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, KMRIG_VF_BAD_MAP_REGISTERS,
                     (ULONG_PTR)Base, n, (ULONG_PTR)Routine);
    return r;
}

static void HalpFreeRegisters(HALP_ADAPTER *a, PHALP_MAPREG r)
{
    ULONG n = r->RunLength;
    HalpUnmapRegisters(a, r, n);
    for (ULONG i = 0; i < n; i++)
        r[i].Allocated = FALSE;
    r->RunLength = 0;
}

/* ---- adapter channels -------------------------------------------------------------------- */

static ULONG HalpStopSystemTransfer(HALP_ADAPTER *a, PULONG Left);

/* Grants the channel to waiters while it is free and their registers are there. Called at
 * DISPATCH_LEVEL without the adapter lock; execution routines run without it. */
static void HalpGrantChannel(HALP_ADAPTER *a)
{
    KIRQL old;
    KeAcquireSpinLock(&a->Lock, &old);
    if (a->Granting) {
        KeReleaseSpinLock(&a->Lock, old);
        return;
    }
    a->Granting = TRUE;
    while (!a->ChannelOwned && !IsListEmpty(&a->Waiters)) {
        HALP_CHANNEL_WAIT *w = CONTAINING_RECORD(a->Waiters.Flink, HALP_CHANNEL_WAIT, Entry);
        if (!HalpEnoughRegisters(a, w->Registers))
            break; /* wait for registers to be freed */
        RemoveEntryList(&w->Entry);
        PHALP_MAPREG regs = HalpAllocateRegisters(a, w->Registers);
        a->ChannelOwned = TRUE;
        KeReleaseSpinLock(&a->Lock, DISPATCH_LEVEL);
        PIRP irp = w->Device ? w->Device->CurrentIrp : NULL;
        IO_ALLOCATION_ACTION action = w->Routine(w->Device, irp, regs, w->Context);
        KeAcquireSpinLockAtDpcLevel(&a->Lock);
        switch (action) {
        case KeepObject:
            a->OwnerRegs = regs;
            a->OwnerCount = w->Registers;
            break;
        case DeallocateObjectKeepRegisters:
            a->ChannelOwned = FALSE;
            break;
        default: /* DeallocateObject */
            a->ChannelOwned = FALSE;
            if (regs)
                HalpFreeRegisters(a, regs);
            break;
        }
        free(w);
    }
    a->Granting = FALSE;
    KeReleaseSpinLock(&a->Lock, old);
}

NTSTATUS NTAPI AllocateAdapterChannel(PDMA_ADAPTER DmaAdapter, PDEVICE_OBJECT DeviceObject,
                                      ULONG NumberOfMapRegisters, PDRIVER_CONTROL ExecutionRoutine,
                                      PVOID Context)
{
    VF_IRQL_EQ(DISPATCH_LEVEL);
    HALP_ADAPTER *a = HalpAdapter(DmaAdapter, __func__);
    if (!ExecutionRoutine)
        return STATUS_INVALID_PARAMETER;
    if (NumberOfMapRegisters > a->MapRegisters)
        return STATUS_INSUFFICIENT_RESOURCES;
    HALP_CHANNEL_WAIT *w = calloc(1, sizeof *w);
    if (!w)
        return STATUS_INSUFFICIENT_RESOURCES;
    w->Device = DeviceObject;
    w->Registers = NumberOfMapRegisters;
    w->Routine = ExecutionRoutine;
    w->Context = Context;
    KeAcquireSpinLockAtDpcLevel(&a->Lock);
    InsertTailList(&a->Waiters, &w->Entry);
    KeReleaseSpinLockFromDpcLevel(&a->Lock);
    HalpGrantChannel(a);
    return STATUS_SUCCESS;
}

VOID NTAPI FreeAdapterChannel(PDMA_ADAPTER DmaAdapter)
{
    VF_IRQL_EQ(DISPATCH_LEVEL);
    HALP_ADAPTER *a = HalpAdapter(DmaAdapter, __func__);
    if (a->System && a->Xfer.Active && a->ChannelOwned) {
        ULONG left;
        HalpStopSystemTransfer(a, &left);
        KmLog(a->Runtime, KMRIG_LOG_ERROR,
              "FreeAdapterChannel: system DMA channel %u released with a transfer not flushed "
              "(%u byte(s) left); the channel is masked",
              (unsigned)a->Channel, (unsigned)left);
    }
    KeAcquireSpinLockAtDpcLevel(&a->Lock);
    if (!a->ChannelOwned) {
        KeReleaseSpinLockFromDpcLevel(&a->Lock);
        KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, KMRIG_VF_NOT_CHANNEL_OWNER, (ULONG_PTR)a,
                     0, (ULONG_PTR) "FreeAdapterChannel");
    }
    if (a->OwnerRegs)
        HalpFreeRegisters(a, a->OwnerRegs);
    a->OwnerRegs = NULL;
    a->OwnerCount = 0;
    a->ChannelOwned = FALSE;
    KeReleaseSpinLockFromDpcLevel(&a->Lock);
    HalpGrantChannel(a);
}

VOID NTAPI FreeMapRegisters(PDMA_ADAPTER DmaAdapter, PVOID MapRegisterBase,
                            ULONG NumberOfMapRegisters)
{
    VF_IRQL_EQ(DISPATCH_LEVEL);
    HALP_ADAPTER *a = HalpAdapter(DmaAdapter, __func__);
    if (!MapRegisterBase && !NumberOfMapRegisters)
        return;
    KeAcquireSpinLockAtDpcLevel(&a->Lock);
    PHALP_MAPREG r = HalpRun(a, MapRegisterBase, 0, "FreeMapRegisters");
    if (r->RunLength != NumberOfMapRegisters || r == a->OwnerRegs) {
        KeReleaseSpinLockFromDpcLevel(&a->Lock);
        KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, KMRIG_VF_BAD_MAP_REGISTERS,
                     (ULONG_PTR)MapRegisterBase, NumberOfMapRegisters,
                     (ULONG_PTR) "FreeMapRegisters");
    }
    HalpFreeRegisters(a, r);
    KeReleaseSpinLockFromDpcLevel(&a->Lock);
    HalpGrantChannel(a);
}

/* ---- system DMA: the controller's channels ------------------------------------------------ */

#define HALP_SYSDMA_COUNT_MAX 0xFFFFFFu /* COUNT is 24 bits */

/* After a register access of the controller: a delivery point, as a driver's own access is. */
static void HalpAfterSysdmaAccess(struct kmrig_runtime *rt)
{
    HalpReportDmaFaults(rt->Hal);
    if (rt->Hal->DeviceClock)
        KiTimeMoved(rt);
    HalpPollInterrupts(rt);
    KiDeliver(KiCurrentThread());
}

static ULONG HalpSysdmaRead(struct kmrig_runtime *rt, ULONGLONG Bus)
{
    HALP_STATE *h = rt->Hal;
    uint32_t v = 0;
    int rc =
        h->Link ? kmrig_link_read(h->Link, KMRIG_SPACE_MEM, Bus, 4, &v, NULL) : KMRIG_LINK_EBUS;
    if (rc != KMRIG_LINK_OK) {
        KmLog(rt, KMRIG_LOG_ERROR, "system DMA: read of bus 0x%llx failed: %s",
              (unsigned long long)Bus, kmrig_link_strerror(rc));
        v = 0xFFFFFFFFu;
    }
    HalpAfterSysdmaAccess(rt);
    return v;
}

static void HalpSysdmaWrite(struct kmrig_runtime *rt, ULONGLONG Bus, ULONG Value)
{
    HALP_STATE *h = rt->Hal;
    int rc =
        h->Link ? kmrig_link_write(h->Link, KMRIG_SPACE_MEM, Bus, 4, Value, NULL) : KMRIG_LINK_EBUS;
    if (rc != KMRIG_LINK_OK)
        KmLog(rt, KMRIG_LOG_ERROR, "system DMA: write of bus 0x%llx failed: %s",
              (unsigned long long)Bus, kmrig_link_strerror(rc));
    HalpAfterSysdmaAccess(rt);
}

#define HALP_CHREG(a, r) ((a)->ChannelRegs + KMRIG_SYSDMA_##r)

/* Finds the system DMA controller in the target's enumeration ROM: the memory-space entry
 * whose hardware ID is KMRIG\SYSDMA. Called without any lock (the reads are delivery points);
 * the result is published under h->Lock. */
static BOOLEAN HalpFindSysdma(struct kmrig_runtime *rt)
{
    HALP_STATE *h = rt->Hal;
    pthread_mutex_lock(&h->Lock);
    int probed = h->SysdmaProbed;
    pthread_mutex_unlock(&h->Lock);
    if (probed)
        return probed > 0;
    ULONGLONG base = 0;
    BOOLEAN found = FALSE;
    if (h->Link &&
        HalpSysdmaRead(rt, KMRIG_SOC_ROM_BASE + KMRIG_ROM_HDR_MAGIC) == KMRIG_ROM_MAGIC) {
        ULONG info = HalpSysdmaRead(rt, KMRIG_SOC_ROM_BASE + KMRIG_ROM_HDR_INFO);
        ULONG entries = (info >> 8) & 0xFF, size = (info >> 16) & 0xFF;
        if ((info & 0xFF) == KMRIG_ROM_LAYOUT && size >= KMRIG_ROM_ENTRY_BYTES) {
            for (ULONG e = 0; e < entries && !found; e++) {
                ULONGLONG ent = KMRIG_SOC_ROM_BASE + KMRIG_ROM_HDR_BYTES + (ULONGLONG)e * size;
                char name[KMRIG_ROM_NAME_BYTES + 1] = {0};
                for (ULONG w = 0; w < KMRIG_ROM_NAME_BYTES / 4; w++) {
                    ULONG v = HalpSysdmaRead(rt, ent + KMRIG_ROM_ENT_NAME + 4 * w);
                    for (ULONG b = 0; b < 4; b++)
                        name[4 * w + b] = (char)(v >> (8 * b));
                }
                if (strcmp(name, "KMRIG\\SYSDMA") ||
                    (HalpSysdmaRead(rt, ent + KMRIG_ROM_ENT_FLAGS) & KMRIG_ROM_FLAG_IO))
                    continue;
                base = HalpSysdmaRead(rt, ent + KMRIG_ROM_ENT_BASE);
                found = TRUE;
            }
        }
    }
    pthread_mutex_lock(&h->Lock);
    h->SysdmaBase = base;
    h->SysdmaProbed = found ? 1 : -1;
    pthread_mutex_unlock(&h->Lock);
    if (found)
        KmLog(rt, KMRIG_LOG_INFO, "system DMA controller at bus 0x%llx", (unsigned long long)base);
    return found;
}

/* The bus address of [Va, Va + Length) when it lies in one buffer of the translation table
 * (common buffer, contiguous or noncached memory): then the controller can take it as is. */
static BOOLEAN HalpContiguousOnBus(HALP_STATE *h, PUCHAR Va, ULONG Length, PULONGLONG Bus)
{
    BOOLEAN ok = FALSE;
    pthread_mutex_lock(&h->DmaLock);
    for (ULONG i = 0; i < h->MapCount && !ok; i++) {
        const HALP_BUSMAP *m = &h->Maps[i];
        if (m->Host && Va >= m->Host && Va + Length <= m->Host + m->Length) {
            *Bus = m->Bus + (ULONGLONG)(Va - m->Host);
            ok = TRUE;
        }
    }
    pthread_mutex_unlock(&h->DmaLock);
    return ok;
}

/* Stops the channel and ends the mapping of the transfer in progress. Returns the channel's
 * STATUS and (in *Left) its COUNT as they were when it stopped. */
static ULONG HalpStopSystemTransfer(HALP_ADAPTER *a, PULONG Left)
{
    struct kmrig_runtime *rt = a->Runtime;
    HalpSysdmaWrite(rt, HALP_CHREG(a, CTRL), KMRIG_SYSDMA_CTRL_MASK);
    ULONG status = HalpSysdmaRead(rt, HALP_CHREG(a, STATUS));
    *Left = HalpSysdmaRead(rt, HALP_CHREG(a, COUNT)) & HALP_SYSDMA_COUNT_MAX;
    if (a->Xfer.Regs)
        HalpUnmapRegisters(a, a->Xfer.Regs, a->Xfer.Count);
    a->Xfer.Active = FALSE;
    return status;
}

static PHYSICAL_ADDRESS HalpMapSystemTransfer(HALP_ADAPTER *a, PVOID MapRegisterBase, PUCHAR Va,
                                              ULONG Length, BOOLEAN WriteToDevice)
{
    struct kmrig_runtime *rt = a->Runtime;
    HALP_STATE *h = rt->Hal;
    if (!a->ChannelOwned)
        KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, KMRIG_VF_NOT_CHANNEL_OWNER, (ULONG_PTR)a,
                     0, (ULONG_PTR) "MapTransfer");
    /* One transfer at a time per channel, and no more than its count register holds. */
    if (a->Xfer.Active || Length > HALP_SYSDMA_COUNT_MAX)
        KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, KMRIG_VF_DMA_BAD_TRANSFER, (ULONG_PTR)Va,
                     Length, (ULONG_PTR) "MapTransfer (system DMA)");
    ULONGLONG bus;
    PHALP_MAPREG r = NULL;
    ULONG pages = 0;
    BOOLEAN bounced = !HalpContiguousOnBus(h, Va, Length, &bus);
    if (bounced) {
        pages = ADDRESS_AND_SIZE_TO_SPAN_PAGES(Va, Length);
        r = HalpRun(a, MapRegisterBase, pages, "MapTransfer");
        ULONG first = (ULONG)(r - a->Regs);
        ULONG offset = (ULONG)((ULONG_PTR)Va & (PAGE_SIZE - 1));
        if (WriteToDevice)
            memcpy(a->Bounce + (SIZE_T)first * PAGE_SIZE + offset, Va, Length);
        pthread_mutex_lock(&h->DmaLock);
        for (ULONG i = 0; i < pages; i++) {
            r[i].HostPage = a->Bounce + (SIZE_T)(first + i) * PAGE_SIZE;
            r[i].Access = WriteToDevice ? HALP_DMA_READ : HALP_DMA_WRITE;
        }
        pthread_mutex_unlock(&h->DmaLock);
        HalpIommuMapRegisters(a, r, a->Bounce + (SIZE_T)first * PAGE_SIZE, pages,
                              WriteToDevice ? HALP_DMA_READ : HALP_DMA_WRITE, "MapTransfer");
        bus = a->Aperture + (ULONGLONG)first * PAGE_SIZE + offset;
    }
    a->Xfer.Active = TRUE;
    a->Xfer.Bounced = bounced;
    a->Xfer.ToDevice = WriteToDevice;
    a->Xfer.Va = Va;
    a->Xfer.Length = Length;
    a->Xfer.Regs = r;
    a->Xfer.Count = pages;
    /* Masked while it is programmed; the stale TC/ERROR of an earlier transfer are cleared. */
    ULONG mode = (WriteToDevice ? 2u : 1u) << KMRIG_SYSDMA_MODE_XFER_SHIFT;
    if (a->Desc.AutoInitialize)
        mode |= KMRIG_SYSDMA_MODE_AUTOINIT;
    HalpSysdmaWrite(rt, HALP_CHREG(a, CTRL), KMRIG_SYSDMA_CTRL_MASK);
    HalpSysdmaWrite(rt, HALP_CHREG(a, ADDR), (ULONG)bus);
    HalpSysdmaWrite(rt, HALP_CHREG(a, COUNT), Length);
    HalpSysdmaWrite(rt, HALP_CHREG(a, MODE), mode);
    HalpSysdmaWrite(rt, HALP_CHREG(a, STATUS), KMRIG_SYSDMA_STATUS_TC | KMRIG_SYSDMA_STATUS_ERROR);
    HalpSysdmaWrite(rt, HALP_CHREG(a, CTRL), 0); /* unmask: the device's requests move bytes */
    PHYSICAL_ADDRESS pa;
    pa.QuadPart = (LONGLONG)bus;
    return pa;
}

static BOOLEAN HalpFlushSystemTransfer(HALP_ADAPTER *a, PUCHAR Va, ULONG Length,
                                       BOOLEAN WriteToDevice)
{
    if (!a->Xfer.Active || Va != a->Xfer.Va || WriteToDevice != a->Xfer.ToDevice)
        KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, KMRIG_VF_DMA_BAD_TRANSFER, (ULONG_PTR)Va,
                     Length, (ULONG_PTR) "FlushAdapterBuffers (no such system DMA transfer)");
    ULONG left;
    ULONG status = HalpStopSystemTransfer(a, &left);
    if (a->Xfer.Bounced && !WriteToDevice) {
        /* What the device wrote into the bounce buffer goes to the caller's buffer: all of it
         * in autoinitialize mode (the channel went round), else the bytes it moved. */
        ULONG moved = a->Desc.AutoInitialize ? a->Xfer.Length : a->Xfer.Length - left;
        if (moved > Length)
            moved = Length;
        ULONG first = (ULONG)(a->Xfer.Regs - a->Regs);
        memcpy(Va, a->Bounce + (SIZE_T)first * PAGE_SIZE + ((ULONG_PTR)Va & (PAGE_SIZE - 1)),
               moved);
    }
    if (status & KMRIG_SYSDMA_STATUS_ERROR) {
        KmLog(a->Runtime, KMRIG_LOG_ERROR,
              "FlushAdapterBuffers: system DMA channel %u stopped on a DMA fault with %u of %u "
              "byte(s) left",
              (unsigned)a->Channel, (unsigned)left, (unsigned)a->Xfer.Length);
        return FALSE;
    }
    return TRUE;
}

/* ---- MapTransfer ------------------------------------------------------------------------- */

/* Checks [CurrentVa, CurrentVa + Length) lies in the MDL's buffer. */
static void HalpCheckTransfer(PMDL Mdl, PVOID CurrentVa, ULONG Length, const char *Routine)
{
    PUCHAR va = Mdl ? MmGetMdlVirtualAddress(Mdl) : NULL;
    PUCHAR cur = CurrentVa;
    if (!Mdl || cur < va || cur + Length > va + MmGetMdlByteCount(Mdl) || !Length)
        KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, KMRIG_VF_DMA_BAD_TRANSFER,
                     (ULONG_PTR)CurrentVa, Length, (ULONG_PTR)Routine);
}

/* Maps [Va, Va + Length) into registers r.. for one direction; returns the bus address. */
static ULONGLONG HalpMapRegisters(HALP_ADAPTER *a, PHALP_MAPREG r, PUCHAR Va, ULONG Length,
                                  BOOLEAN WriteToDevice, const char *Routine)
{
    HALP_STATE *h = a->Runtime->Hal;
    PUCHAR page = (PUCHAR)((ULONG_PTR)Va & ~(ULONG_PTR)(PAGE_SIZE - 1));
    ULONG pages = (ULONG)((((ULONG_PTR)Va & (PAGE_SIZE - 1)) + Length + PAGE_SIZE - 1) / PAGE_SIZE);
    pthread_mutex_lock(&h->DmaLock);
    for (ULONG i = 0; i < pages; i++) {
        r[i].HostPage = page + (SIZE_T)i * PAGE_SIZE;
        r[i].Access = WriteToDevice ? HALP_DMA_READ : HALP_DMA_WRITE;
    }
    pthread_mutex_unlock(&h->DmaLock);
    HalpIommuMapRegisters(a, r, page, pages, WriteToDevice ? HALP_DMA_READ : HALP_DMA_WRITE,
                          Routine);
    return a->Aperture + (ULONGLONG)(r - a->Regs) * PAGE_SIZE + ((ULONG_PTR)Va & (PAGE_SIZE - 1));
}

PHYSICAL_ADDRESS NTAPI MapTransfer(PDMA_ADAPTER DmaAdapter, PMDL Mdl, PVOID MapRegisterBase,
                                   PVOID CurrentVa, PULONG Length, BOOLEAN WriteToDevice)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    HALP_ADAPTER *a = HalpAdapter(DmaAdapter, __func__);
    HalpCheckTransfer(Mdl, CurrentVa, *Length, "MapTransfer");
    if (a->System) /* the whole length, or a bugcheck: Length in and out are the same */
        return HalpMapSystemTransfer(a, MapRegisterBase, CurrentVa, *Length, WriteToDevice);
    PHALP_MAPREG r = HalpRun(a, MapRegisterBase, 0, "MapTransfer");
    /* As much as the registers hold; the device then gets one contiguous bus range. */
    ULONG room = r->RunLength * PAGE_SIZE - (ULONG)((ULONG_PTR)CurrentVa & (PAGE_SIZE - 1));
    if (*Length > room)
        *Length = room;
    PHYSICAL_ADDRESS pa;
    pa.QuadPart =
        (LONGLONG)HalpMapRegisters(a, r, CurrentVa, *Length, WriteToDevice, "MapTransfer");
    return pa;
}

BOOLEAN NTAPI FlushAdapterBuffers(PDMA_ADAPTER DmaAdapter, PMDL Mdl, PVOID MapRegisterBase,
                                  PVOID CurrentVa, ULONG Length, BOOLEAN WriteToDevice)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    HALP_ADAPTER *a = HalpAdapter(DmaAdapter, __func__);
    HalpCheckTransfer(Mdl, CurrentVa, Length, "FlushAdapterBuffers");
    if (a->System)
        return HalpFlushSystemTransfer(a, CurrentVa, Length, WriteToDevice);
    PHALP_MAPREG r = HalpRun(a, MapRegisterBase, 0, "FlushAdapterBuffers");
    /* The data is in place (no bounce buffers: coherent, directly mapped). The mapping ends
     * here, so a device that goes on using it faults instead of corrupting memory. */
    HalpUnmapRegisters(a, r, r->RunLength);
    return TRUE;
}

/* ---- scatter/gather ---------------------------------------------------------------------- */

typedef struct _HALP_SG_WAIT {
    PMDL Mdl;
    PUCHAR Va;
    ULONG Length;
    PDRIVER_LIST_CONTROL Routine;
    PVOID Context;
    BOOLEAN WriteToDevice;
    HALP_ADAPTER *Adapter;
} HALP_SG_WAIT;

/* Kept in SCATTER_GATHER_LIST.Reserved. */
typedef struct _HALP_SG_INFO {
    PHALP_MAPREG Regs;
    BOOLEAN WriteToDevice;
} HALP_SG_INFO;

static IO_ALLOCATION_ACTION NTAPI HalpBuildScatterGather(PDEVICE_OBJECT Device, PIRP Irp,
                                                         PVOID MapRegisterBase, PVOID Context)
{
    HALP_SG_WAIT *w = Context;
    HALP_ADAPTER *a = w->Adapter;
    PHALP_MAPREG r = MapRegisterBase;
    ULONG pages = r->RunLength;
    PSCATTER_GATHER_LIST sg =
        calloc(1, sizeof *sg + pages * sizeof(SCATTER_GATHER_ELEMENT) + sizeof(HALP_SG_INFO));
    if (!sg)
        KiFatal("GetScatterGatherList: out of host memory");
    HALP_SG_INFO *info = (HALP_SG_INFO *)&sg->Elements[pages];
    info->Regs = r;
    info->WriteToDevice = w->WriteToDevice;
    sg->Reserved = (ULONG_PTR)info;
    ULONGLONG bus =
        HalpMapRegisters(a, r, w->Va, w->Length, w->WriteToDevice, "GetScatterGatherList");
    /* One element per page, as pages that are not physically contiguous would give. */
    ULONG left = w->Length;
    while (left) {
        ULONG n = PAGE_SIZE - (ULONG)(bus & (PAGE_SIZE - 1));
        if (n > left)
            n = left;
        sg->Elements[sg->NumberOfElements].Address.QuadPart = (LONGLONG)bus;
        sg->Elements[sg->NumberOfElements].Length = n;
        sg->NumberOfElements++;
        bus += n;
        left -= n;
    }
    InterlockedIncrement(&a->ScatterGatherLists);
    PDRIVER_LIST_CONTROL routine = w->Routine;
    PVOID context = w->Context;
    free(w);
    routine(Device, Irp, sg, context);
    return DeallocateObjectKeepRegisters;
}

NTSTATUS NTAPI GetScatterGatherList(PDMA_ADAPTER DmaAdapter, PDEVICE_OBJECT DeviceObject, PMDL Mdl,
                                    PVOID CurrentVa, ULONG Length,
                                    PDRIVER_LIST_CONTROL ExecutionRoutine, PVOID Context,
                                    BOOLEAN WriteToDevice)
{
    VF_IRQL_EQ(DISPATCH_LEVEL);
    HALP_ADAPTER *a = HalpAdapter(DmaAdapter, __func__);
    if (a->System) {
        KmLog(a->Runtime, KMRIG_LOG_ERROR,
              "GetScatterGatherList: system DMA channel %u takes one contiguous range; use "
              "AllocateAdapterChannel and MapTransfer",
              (unsigned)a->Channel);
        return STATUS_NOT_SUPPORTED;
    }
    if (!ExecutionRoutine || !Mdl)
        return STATUS_INVALID_PARAMETER;
    PUCHAR va = MmGetMdlVirtualAddress(Mdl), cur = CurrentVa;
    if (cur < va || cur + Length > va + MmGetMdlByteCount(Mdl))
        return STATUS_BUFFER_TOO_SMALL;
    if (!Length)
        return STATUS_INVALID_PARAMETER;
    ULONG pages = ADDRESS_AND_SIZE_TO_SPAN_PAGES(CurrentVa, Length);
    if (pages > a->MapRegisters)
        return STATUS_INSUFFICIENT_RESOURCES;
    HALP_SG_WAIT *w = calloc(1, sizeof *w);
    if (!w)
        return STATUS_INSUFFICIENT_RESOURCES;
    *w = (HALP_SG_WAIT){.Mdl = Mdl,
                        .Va = cur,
                        .Length = Length,
                        .Routine = ExecutionRoutine,
                        .Context = Context,
                        .WriteToDevice = WriteToDevice,
                        .Adapter = a};
    NTSTATUS s = AllocateAdapterChannel(DmaAdapter, DeviceObject, pages, HalpBuildScatterGather, w);
    if (!NT_SUCCESS(s))
        free(w);
    return s;
}

VOID NTAPI PutScatterGatherList(PDMA_ADAPTER DmaAdapter, PSCATTER_GATHER_LIST ScatterGather,
                                BOOLEAN WriteToDevice)
{
    VF_IRQL_EQ(DISPATCH_LEVEL);
    HALP_ADAPTER *a = HalpAdapter(DmaAdapter, __func__);
    HALP_SG_INFO *info = ScatterGather ? (HALP_SG_INFO *)ScatterGather->Reserved : NULL;
    if (!info || info != (HALP_SG_INFO *)&ScatterGather->Elements[info->Regs->RunLength] ||
        info->WriteToDevice != WriteToDevice)
        KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, KMRIG_VF_BAD_DMA_FREE,
                     (ULONG_PTR)ScatterGather, WriteToDevice, (ULONG_PTR) "PutScatterGatherList");
    KeAcquireSpinLockAtDpcLevel(&a->Lock);
    HalpRun(a, info->Regs, 0, "PutScatterGatherList");
    HalpFreeRegisters(a, info->Regs);
    KeReleaseSpinLockFromDpcLevel(&a->Lock);
    InterlockedDecrement(&a->ScatterGatherLists);
    free(ScatterGather);
    HalpGrantChannel(a);
}

/* ---- common buffers ---------------------------------------------------------------------- */

PVOID NTAPI AllocateCommonBuffer(PDMA_ADAPTER DmaAdapter, ULONG Length,
                                 PPHYSICAL_ADDRESS LogicalAddress, BOOLEAN CacheEnabled)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    HALP_ADAPTER *a = HalpAdapter(DmaAdapter, __func__);
    (void)CacheEnabled; /* coherent: cached or not, the device sees the same bytes */
    ULONGLONG bus;
    ULONGLONG highest = a->System ? 0xFFFFFFFFull /* the controller's ADDR is 32-bit */
                        : a->Desc.Dma64BitAddresses || a->Desc.Dma32BitAddresses
                            ? UINT64_MAX
                            : 0xFFFFFFull; /* 24-bit ISA masters */
    PVOID p = HalpAllocateDmaMemory(a->Runtime->Hal, Length, HALP_MAP_COMMON, a, highest, &bus);
    if (!p)
        return NULL;
    InterlockedIncrement(&a->CommonBuffers);
    LogicalAddress->QuadPart = (LONGLONG)bus;
    return p;
}

VOID NTAPI FreeCommonBuffer(PDMA_ADAPTER DmaAdapter, ULONG Length, PHYSICAL_ADDRESS LogicalAddress,
                            PVOID VirtualAddress, BOOLEAN CacheEnabled)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    HALP_ADAPTER *a = HalpAdapter(DmaAdapter, __func__);
    if (!VirtualAddress || !LogicalAddress.QuadPart ||
        !HalpUnmapBus(a->Runtime->Hal, (ULONGLONG)LogicalAddress.QuadPart, VirtualAddress,
                      HALP_MAP_COMMON, Length))
        KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, KMRIG_VF_BAD_DMA_FREE,
                     (ULONG_PTR)VirtualAddress, Length, (ULONG_PTR) "FreeCommonBuffer");
    InterlockedDecrement(&a->CommonBuffers);
    free(VirtualAddress);
}

/* ---- the rest of the adapter ------------------------------------------------------------- */

ULONG NTAPI GetDmaAlignment(PDMA_ADAPTER DmaAdapter)
{
    HALP_ADAPTER *a = HalpAdapter(DmaAdapter, __func__);
    switch (a->Desc.DmaWidth) {
    case Width16Bits:
        return 2;
    case Width32Bits:
        return 4;
    case Width64Bits:
        return 8;
    default:
        return 1;
    }
}

ULONG NTAPI ReadDmaCounter(PDMA_ADAPTER DmaAdapter)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    HALP_ADAPTER *a = HalpAdapter(DmaAdapter, __func__);
    /* Bus masters keep their own counts: 0. A system DMA channel: the bytes its COUNT says are
     * still to move (in autoinitialize mode it reloads at terminal count, so the value wraps). */
    if (!a->System)
        return 0;
    return HalpSysdmaRead(a->Runtime, HALP_CHREG(a, COUNT)) & HALP_SYSDMA_COUNT_MAX;
}

VOID NTAPI PutDmaAdapter(PDMA_ADAPTER DmaAdapter)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    HALP_ADAPTER *a = HalpAdapter(DmaAdapter, __func__);
    HALP_STATE *h = a->Runtime->Hal;
    if (a->System) { /* shared by every IoGetDmaAdapter of its channel: the last put frees it */
        pthread_mutex_lock(&h->Lock);
        BOOLEAN last = --a->References == 0;
        if (last)
            h->SystemAdapters[a->Channel] = NULL;
        pthread_mutex_unlock(&h->Lock);
        if (!last)
            return;
    }
    ULONG busy = (a->CommonBuffers ? 1 : 0) | (a->ScatterGatherLists ? 2 : 0) |
                 (a->ChannelOwned ? 4 : 0) | (!IsListEmpty(&a->Waiters) ? 8 : 0) |
                 (a->Xfer.Active ? 32 : 0);
    for (ULONG i = 0; i < a->MapRegisters; i++)
        if (a->Regs[i].Allocated)
            busy |= 16;
    if (busy) {
        KmLog(a->Runtime, KMRIG_LOG_ERROR,
              "PutDmaAdapter(%p) with %ld common buffer(s), %ld scatter/gather list(s)%s%s%s%s "
              "outstanding",
              (void *)a, (long)a->CommonBuffers, (long)a->ScatterGatherLists,
              a->ChannelOwned ? ", the adapter channel" : "",
              !IsListEmpty(&a->Waiters) ? ", waiting channel requests" : "",
              busy & 16 ? ", map registers" : "",
              busy & 32 ? ", a system DMA transfer not flushed" : "");
        KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, KMRIG_VF_DMA_ADAPTER_BUSY, (ULONG_PTR)a,
                     busy, (ULONG_PTR) "PutDmaAdapter");
    }
    HalpUnmapBus(h, a->Aperture, NULL, HALP_MAP_APERTURE, 0);
    a->Magic = 0;
    free(a->Bounce);
    free(a->Regs);
    free(a);
}

/* Map registers for a transfer of up to MaximumLength bytes at any page offset. */
static ULONG HalpMapRegistersFor(PDEVICE_DESCRIPTION d)
{
    ULONG n = d->MaximumLength ? BYTES_TO_PAGES(d->MaximumLength) + 1 : 1;
    return n > HALP_MAX_MAP_REGISTERS ? HALP_MAX_MAP_REGISTERS : n;
}

/* A new adapter with n map registers (and, for system DMA, their bounce pages). */
static HALP_ADAPTER *HalpNewAdapter(struct kmrig_runtime *rt, PDEVICE_DESCRIPTION d,
                                    PDEVICE_OBJECT Pdo, ULONG n, BOOLEAN System)
{
    HALP_ADAPTER *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->Regs = calloc(n, sizeof *a->Regs);
    if (System)
        a->Bounce = aligned_alloc(PAGE_SIZE, (SIZE_T)n * PAGE_SIZE);
    if (!a->Regs || (System && !a->Bounce) ||
        !NT_SUCCESS(HalpMapBus(rt->Hal, (SIZE_T)n * PAGE_SIZE, NULL, HALP_MAP_APERTURE, a,
                               System ? 0xFFFFFFFFull : UINT64_MAX, &a->Aperture))) {
        free(a->Bounce);
        free(a->Regs);
        free(a);
        return NULL;
    }
    a->Dma.Version = 1;
    a->Dma.Size = sizeof(DMA_ADAPTER);
    a->Dma.DmaOperations = &HalpDmaOperations;
    a->Magic = HALP_ADAPTER_MAGIC;
    a->Runtime = rt;
    a->Desc = *d;
    a->Device = Pdo;
    a->MapRegisters = n;
    a->System = System;
    KeInitializeSpinLock(&a->Lock);
    InitializeListHead(&a->Waiters);
    return a;
}

/* A system DMA channel's adapter, shared by everyone who asks for that channel. */
static PDMA_ADAPTER HalpGetSystemAdapter(struct kmrig_runtime *rt, PDEVICE_OBJECT Pdo,
                                         PDEVICE_DESCRIPTION d, PULONG NumberOfMapRegisters)
{
    HALP_STATE *h = rt->Hal;
    if (d->DmaChannel >= HALP_SYSDMA_CHANNELS) {
        KmLog(rt, KMRIG_LOG_ERROR,
              "IoGetDmaAdapter: system DMA channel %u does not exist (the controller has %u)",
              (unsigned)d->DmaChannel, HALP_SYSDMA_CHANNELS);
        return NULL;
    }
    if (d->DmaWidth != Width8Bits) {
        KmLog(rt, KMRIG_LOG_ERROR,
              "IoGetDmaAdapter: system DMA channel %u moves bytes; DmaWidth %d is not supported",
              (unsigned)d->DmaChannel, (int)d->DmaWidth);
        return NULL;
    }
    if (!HalpFindSysdma(rt)) {
        KmLog(rt, KMRIG_LOG_ERROR,
              "IoGetDmaAdapter: system (slave) DMA, channel %u: the target has no system DMA "
              "controller (no KMRIG\\SYSDMA in its enumeration ROM)",
              (unsigned)d->DmaChannel);
        return NULL;
    }
    ULONG want = HalpMapRegistersFor(d);
    pthread_mutex_lock(&h->Lock);
    HALP_ADAPTER *a = h->SystemAdapters[d->DmaChannel];
    if (!a) {
        /* Sized for the first caller's MaximumLength (at least 64 KiB worth). */
        a = HalpNewAdapter(rt, d, Pdo, want > 17 ? want : 17, TRUE);
        if (a) {
            a->Channel = d->DmaChannel;
            a->ChannelRegs = h->SysdmaBase + KMRIG_SYSDMA_CH(d->DmaChannel);
            h->SystemAdapters[d->DmaChannel] = a;
        }
    } else if (a->Desc.AutoInitialize != d->AutoInitialize) {
        KmLog(rt, KMRIG_LOG_WARN,
              "IoGetDmaAdapter: system DMA channel %u is shared; AutoInitialize stays %s as its "
              "first caller asked",
              (unsigned)d->DmaChannel, a->Desc.AutoInitialize ? "on" : "off");
    }
    if (a)
        a->References++;
    pthread_mutex_unlock(&h->Lock);
    if (!a)
        return NULL;
    *NumberOfMapRegisters = want < a->MapRegisters ? want : a->MapRegisters;
    return &a->Dma;
}

PDMA_ADAPTER NTAPI IoGetDmaAdapter(PDEVICE_OBJECT PhysicalDeviceObject,
                                   PDEVICE_DESCRIPTION DeviceDescription,
                                   PULONG NumberOfMapRegisters)
{
    struct kmrig_runtime *rt = KiRuntime();
    VF_IRQL_MAX(PASSIVE_LEVEL);
    PDEVICE_DESCRIPTION d = DeviceDescription;
    if (!d || !NumberOfMapRegisters || d->Version > DEVICE_DESCRIPTION_VERSION3) {
        KmLog(rt, KMRIG_LOG_ERROR, "IoGetDmaAdapter: no DEVICE_DESCRIPTION, or version %u",
              d ? (unsigned)d->Version : 0);
        return NULL;
    }
    if (!d->Master)
        return HalpGetSystemAdapter(rt, PhysicalDeviceObject, d, NumberOfMapRegisters);
    ULONG n = HalpMapRegistersFor(d);
    HALP_ADAPTER *a = HalpNewAdapter(rt, d, PhysicalDeviceObject, n, FALSE);
    if (!a)
        return NULL;
    *NumberOfMapRegisters = n;
    return &a->Dma;
}

/* ---- legacy adapter routines ------------------------------------------------------------- */

NTSTATUS NTAPI IoAllocateAdapterChannel(PADAPTER_OBJECT AdapterObject, PDEVICE_OBJECT DeviceObject,
                                        ULONG NumberOfMapRegisters,
                                        PDRIVER_CONTROL ExecutionRoutine, PVOID Context)
{
    return AllocateAdapterChannel(AdapterObject, DeviceObject, NumberOfMapRegisters,
                                  ExecutionRoutine, Context);
}

VOID NTAPI IoFreeAdapterChannel(PADAPTER_OBJECT AdapterObject)
{
    FreeAdapterChannel(AdapterObject);
}

VOID NTAPI IoFreeMapRegisters(PADAPTER_OBJECT AdapterObject, PVOID MapRegisterBase,
                              ULONG NumberOfMapRegisters)
{
    FreeMapRegisters(AdapterObject, MapRegisterBase, NumberOfMapRegisters);
}

PHYSICAL_ADDRESS NTAPI IoMapTransfer(PADAPTER_OBJECT AdapterObject, PMDL Mdl, PVOID MapRegisterBase,
                                     PVOID CurrentVa, PULONG Length, BOOLEAN WriteToDevice)
{
    return MapTransfer(AdapterObject, Mdl, MapRegisterBase, CurrentVa, Length, WriteToDevice);
}

BOOLEAN NTAPI IoFlushAdapterBuffers(PADAPTER_OBJECT AdapterObject, PMDL Mdl, PVOID MapRegisterBase,
                                    PVOID CurrentVa, ULONG Length, BOOLEAN WriteToDevice)
{
    return FlushAdapterBuffers(AdapterObject, Mdl, MapRegisterBase, CurrentVa, Length,
                               WriteToDevice);
}

/* ---- DMA_OPERATIONS members not written yet: they fail loudly ---------------------------- */

#define HALP_NOT_DONE(name)                                                                        \
    KmLog(KiRuntime(), KMRIG_LOG_ERROR, "%s: not implemented in kmrig", name)

static NTSTATUS NTAPI HalpCalculateScatterGatherList(PDMA_ADAPTER A, PMDL M, PVOID V, ULONG L,
                                                     PULONG S, PULONG N)
{
    HALP_NOT_DONE("CalculateScatterGatherList");
    return STATUS_NOT_IMPLEMENTED;
}
static NTSTATUS NTAPI HalpBuildScatterGatherList(PDMA_ADAPTER A, PDEVICE_OBJECT D, PMDL M, PVOID V,
                                                 ULONG L, PDRIVER_LIST_CONTROL R, PVOID C,
                                                 BOOLEAN W, PVOID B, ULONG BL)
{
    HALP_NOT_DONE("BuildScatterGatherList");
    return STATUS_NOT_IMPLEMENTED;
}
static NTSTATUS NTAPI HalpBuildMdlFromScatterGatherList(PDMA_ADAPTER A, PSCATTER_GATHER_LIST S,
                                                        PMDL M, PMDL *T)
{
    HALP_NOT_DONE("BuildMdlFromScatterGatherList");
    return STATUS_NOT_IMPLEMENTED;
}
static NTSTATUS NTAPI HalpGetDmaAdapterInfo(PDMA_ADAPTER A, PVOID I)
{
    HALP_NOT_DONE("GetDmaAdapterInfo");
    return STATUS_NOT_IMPLEMENTED;
}
static NTSTATUS NTAPI HalpGetDmaTransferInfo(PDMA_ADAPTER A, PMDL M, ULONGLONG O, ULONG L,
                                             BOOLEAN W, PVOID I)
{
    HALP_NOT_DONE("GetDmaTransferInfo");
    return STATUS_NOT_IMPLEMENTED;
}
static NTSTATUS NTAPI HalpInitializeDmaTransferContext(PDMA_ADAPTER A, PVOID C)
{
    HALP_NOT_DONE("InitializeDmaTransferContext");
    return STATUS_NOT_IMPLEMENTED;
}
static PVOID NTAPI HalpAllocateCommonBufferEx(PDMA_ADAPTER A, PPHYSICAL_ADDRESS M, ULONG L,
                                              PPHYSICAL_ADDRESS LA, BOOLEAN C, ULONG N)
{
    HALP_NOT_DONE("AllocateCommonBufferEx");
    return NULL;
}
static NTSTATUS NTAPI HalpAllocateAdapterChannelEx(PDMA_ADAPTER A, PDEVICE_OBJECT D, PVOID T,
                                                   ULONG N, ULONG F, PDRIVER_CONTROL R, PVOID C,
                                                   PVOID *B)
{
    HALP_NOT_DONE("AllocateAdapterChannelEx");
    return STATUS_NOT_IMPLEMENTED;
}
static NTSTATUS NTAPI HalpConfigureAdapterChannel(PDMA_ADAPTER A, ULONG F, PVOID C)
{
    HALP_NOT_DONE("ConfigureAdapterChannel");
    return STATUS_NOT_IMPLEMENTED;
}
static BOOLEAN NTAPI HalpCancelAdapterChannel(PDMA_ADAPTER A, PDEVICE_OBJECT D, PVOID T)
{
    HALP_NOT_DONE("CancelAdapterChannel");
    return FALSE;
}
static NTSTATUS NTAPI HalpMapTransferEx(PDMA_ADAPTER A, PMDL M, PVOID B, ULONGLONG O, ULONG DO,
                                        PULONG L, BOOLEAN W, PSCATTER_GATHER_LIST S, ULONG SL,
                                        PVOID R, PVOID C)
{
    HALP_NOT_DONE("MapTransferEx");
    return STATUS_NOT_IMPLEMENTED;
}
static NTSTATUS NTAPI HalpGetScatterGatherListEx(PDMA_ADAPTER A, PDEVICE_OBJECT D, PVOID T, PMDL M,
                                                 ULONGLONG O, ULONG L, ULONG F,
                                                 PDRIVER_LIST_CONTROL R, PVOID C, BOOLEAN W,
                                                 PVOID CR, PVOID CC, PSCATTER_GATHER_LIST *S)
{
    HALP_NOT_DONE("GetScatterGatherListEx");
    return STATUS_NOT_IMPLEMENTED;
}
static NTSTATUS NTAPI HalpBuildScatterGatherListEx(PDMA_ADAPTER A, PDEVICE_OBJECT D, PVOID T,
                                                   PMDL M, ULONGLONG O, ULONG L, ULONG F,
                                                   PDRIVER_LIST_CONTROL R, PVOID C, BOOLEAN W,
                                                   PVOID B, ULONG BL, PVOID CR, PVOID CC, PVOID *S)
{
    HALP_NOT_DONE("BuildScatterGatherListEx");
    return STATUS_NOT_IMPLEMENTED;
}
static NTSTATUS NTAPI HalpFlushAdapterBuffersEx(PDMA_ADAPTER A, PMDL M, PVOID B, ULONGLONG O,
                                                ULONG L, BOOLEAN W)
{
    HALP_NOT_DONE("FlushAdapterBuffersEx");
    return STATUS_NOT_IMPLEMENTED;
}
static VOID NTAPI HalpFreeAdapterObject(PDMA_ADAPTER A, IO_ALLOCATION_ACTION Action)
{
    HALP_NOT_DONE("FreeAdapterObject");
}
static NTSTATUS NTAPI HalpCancelMappedTransfer(PDMA_ADAPTER A, PVOID T)
{
    HALP_NOT_DONE("CancelMappedTransfer");
    return STATUS_NOT_IMPLEMENTED;
}

static DMA_OPERATIONS HalpDmaOperations = {
    .Size = sizeof(DMA_OPERATIONS),
    .PutDmaAdapter = PutDmaAdapter,
    .AllocateCommonBuffer = AllocateCommonBuffer,
    .FreeCommonBuffer = FreeCommonBuffer,
    .AllocateAdapterChannel = AllocateAdapterChannel,
    .FlushAdapterBuffers = FlushAdapterBuffers,
    .FreeAdapterChannel = FreeAdapterChannel,
    .FreeMapRegisters = FreeMapRegisters,
    .MapTransfer = MapTransfer,
    .GetDmaAlignment = GetDmaAlignment,
    .ReadDmaCounter = ReadDmaCounter,
    .GetScatterGatherList = GetScatterGatherList,
    .PutScatterGatherList = PutScatterGatherList,
    .CalculateScatterGatherList = HalpCalculateScatterGatherList,
    .BuildScatterGatherList = HalpBuildScatterGatherList,
    .BuildMdlFromScatterGatherList = HalpBuildMdlFromScatterGatherList,
    .GetDmaAdapterInfo = HalpGetDmaAdapterInfo,
    .GetDmaTransferInfo = HalpGetDmaTransferInfo,
    .InitializeDmaTransferContext = HalpInitializeDmaTransferContext,
    .AllocateCommonBufferEx = HalpAllocateCommonBufferEx,
    .AllocateAdapterChannelEx = HalpAllocateAdapterChannelEx,
    .ConfigureAdapterChannel = HalpConfigureAdapterChannel,
    .CancelAdapterChannel = HalpCancelAdapterChannel,
    .MapTransferEx = HalpMapTransferEx,
    .GetScatterGatherListEx = HalpGetScatterGatherListEx,
    .BuildScatterGatherListEx = HalpBuildScatterGatherListEx,
    .FlushAdapterBuffersEx = HalpFlushAdapterBuffersEx,
    .FreeAdapterObject = HalpFreeAdapterObject,
    .CancelMappedTransfer = HalpCancelMappedTransfer,
};

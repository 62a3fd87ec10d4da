/* Bus-master DMA adapters: IoGetDmaAdapter and the DMA_OPERATIONS members (adapter channels,
 * map registers, MapTransfer, scatter/gather lists, common buffers), and the legacy Io*Adapter
 * routines. Structure as NT's HAL: GetScatterGatherList is an adapter-channel allocation whose
 * execution routine builds the list. */
#define _GNU_SOURCE
#include "hal.h"
#include "vf.h"

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

/* Unmaps registers [r, r + n): the device can no longer reach what they mapped. */
static void HalpUnmapRegisters(HALP_ADAPTER *a, PHALP_MAPREG r, ULONG n)
{
    HALP_STATE *h = a->Runtime->Hal;
    pthread_mutex_lock(&h->DmaLock);
    for (ULONG i = 0; i < n; i++) {
        r[i].Access = 0;
        r[i].HostPage = NULL;
    }
    pthread_mutex_unlock(&h->DmaLock);
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

/* ---- MapTransfer ------------------------------------------------------------------------- */

/* Checks [CurrentVa, CurrentVa + Length) lies in the MDL's buffer. */
static void HalpCheckTransfer(PMDL Mdl, PVOID CurrentVa, ULONG Length, const char *Routine)
{
    PUCHAR va = MmGetMdlVirtualAddress(Mdl);
    PUCHAR cur = CurrentVa;
    if (!Mdl || cur < va || cur + Length > va + MmGetMdlByteCount(Mdl) || !Length)
        KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, KMRIG_VF_DMA_BAD_TRANSFER,
                     (ULONG_PTR)CurrentVa, Length, (ULONG_PTR)Routine);
}

/* Maps [Va, Va + Length) into registers r.. for one direction; returns the bus address. */
static ULONGLONG HalpMapRegisters(HALP_ADAPTER *a, PHALP_MAPREG r, PUCHAR Va, ULONG Length,
                                  BOOLEAN WriteToDevice)
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
    return a->Aperture + (ULONGLONG)(r - a->Regs) * PAGE_SIZE + ((ULONG_PTR)Va & (PAGE_SIZE - 1));
}

PHYSICAL_ADDRESS NTAPI MapTransfer(PDMA_ADAPTER DmaAdapter, PMDL Mdl, PVOID MapRegisterBase,
                                   PVOID CurrentVa, PULONG Length, BOOLEAN WriteToDevice)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    HALP_ADAPTER *a = HalpAdapter(DmaAdapter, __func__);
    HalpCheckTransfer(Mdl, CurrentVa, *Length, "MapTransfer");
    PHALP_MAPREG r = HalpRun(a, MapRegisterBase, 0, "MapTransfer");
    /* As much as the registers hold; the device then gets one contiguous bus range. */
    ULONG room = r->RunLength * PAGE_SIZE - (ULONG)((ULONG_PTR)CurrentVa & (PAGE_SIZE - 1));
    if (*Length > room)
        *Length = room;
    PHYSICAL_ADDRESS pa;
    pa.QuadPart = (LONGLONG)HalpMapRegisters(a, r, CurrentVa, *Length, WriteToDevice);
    return pa;
}

BOOLEAN NTAPI FlushAdapterBuffers(PDMA_ADAPTER DmaAdapter, PMDL Mdl, PVOID MapRegisterBase,
                                  PVOID CurrentVa, ULONG Length, BOOLEAN WriteToDevice)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    HALP_ADAPTER *a = HalpAdapter(DmaAdapter, __func__);
    HalpCheckTransfer(Mdl, CurrentVa, Length, "FlushAdapterBuffers");
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
    ULONGLONG bus = HalpMapRegisters(a, r, w->Va, w->Length, w->WriteToDevice);
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
    ULONGLONG highest = a->Desc.Dma64BitAddresses || a->Desc.Dma32BitAddresses
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
    HalpAdapter(DmaAdapter, __func__);
    /* Bus masters keep their own counts; only a system DMA channel has a counter here, and
     * IoGetDmaAdapter does not hand out system DMA adapters yet. */
    return 0;
}

VOID NTAPI PutDmaAdapter(PDMA_ADAPTER DmaAdapter)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    HALP_ADAPTER *a = HalpAdapter(DmaAdapter, __func__);
    ULONG busy = (a->CommonBuffers ? 1 : 0) | (a->ScatterGatherLists ? 2 : 0) |
                 (a->ChannelOwned ? 4 : 0) | (!IsListEmpty(&a->Waiters) ? 8 : 0);
    for (ULONG i = 0; i < a->MapRegisters; i++)
        if (a->Regs[i].Allocated)
            busy |= 16;
    if (busy) {
        KmLog(a->Runtime, KMRIG_LOG_ERROR,
              "PutDmaAdapter(%p) with %ld common buffer(s), %ld scatter/gather list(s)%s%s%s "
              "outstanding",
              (void *)a, (long)a->CommonBuffers, (long)a->ScatterGatherLists,
              a->ChannelOwned ? ", the adapter channel" : "",
              !IsListEmpty(&a->Waiters) ? ", waiting channel requests" : "",
              busy & 16 ? ", map registers" : "");
        KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, KMRIG_VF_DMA_ADAPTER_BUSY, (ULONG_PTR)a,
                     busy, (ULONG_PTR) "PutDmaAdapter");
    }
    HalpUnmapBus(a->Runtime->Hal, a->Aperture, NULL, HALP_MAP_APERTURE, 0);
    a->Magic = 0;
    free(a->Regs);
    free(a);
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
    if (!d->Master) {
        KmLog(rt, KMRIG_LOG_ERROR,
              "IoGetDmaAdapter: system (slave) DMA, channel %u: this target has no system DMA "
              "controller kmrig drives yet; only bus-master adapters are available",
              (unsigned)d->DmaChannel);
        return NULL;
    }
    HALP_ADAPTER *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    ULONG n = d->MaximumLength ? BYTES_TO_PAGES(d->MaximumLength) + 1 : 1;
    if (n > HALP_MAX_MAP_REGISTERS)
        n = HALP_MAX_MAP_REGISTERS;
    a->Regs = calloc(n, sizeof *a->Regs);
    if (!a->Regs || !NT_SUCCESS(HalpMapBus(rt->Hal, (SIZE_T)n * PAGE_SIZE, NULL, HALP_MAP_APERTURE,
                                           a, UINT64_MAX, &a->Aperture))) {
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
    a->Device = PhysicalDeviceObject;
    a->MapRegisters = n;
    KeInitializeSpinLock(&a->Lock);
    InitializeListHead(&a->Waiters);
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

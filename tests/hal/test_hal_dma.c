/* DMA: IoGetDmaAdapter and the DMA_OPERATIONS members, the legacy Io*Adapter routines,
 * contiguous and noncached memory, MmGetPhysicalAddress, KeFlushIoBuffers, and DMA faults.
 * The device side is the "loop" target's DMA engine (bridge/link/link_loop.c): it reads and
 * writes host memory at bus addresses through the runtime's translation table. */
#include "hal_test.h"

#include <stdlib.h>
#include <string.h>

#define DMA_SRC 8
#define DMA_DST 9
#define DMA_LEN 10
#define DMA_CTRL 11
#define DMA_STATUS 12
#define OP_HOST_TO_HOST 1
#define OP_HOST_TO_RAM 2
#define OP_RAM_TO_HOST 3

static volatile ULONG *ctl;

static kmrig_runtime *dma_runtime(BOOLEAN verify_dma)
{
    kmrig_config cfg;
    kmrig_config_init(&cfg);
    cfg.target = "loop";
    cfg.time_budget_ns = 10ull * 1000000000ull;
    if (!verify_dma)
        cfg.verify &= ~KMRIG_VERIFY_DMA;
    kmrig_runtime *rt = kmtest_runtime_cfg(&cfg);
    ctl = hal_map_loop_ctl();
    return rt;
}

/* Runs the device's DMA engine; returns its status (0 done, 1 DMA fault). */
static ULONG device_dma(ULONG op, ULONGLONG src, ULONGLONG dst, ULONG len)
{
    WRITE_REGISTER_ULONG(ctl + DMA_SRC, (ULONG)src);
    WRITE_REGISTER_ULONG(ctl + DMA_DST, (ULONG)dst);
    WRITE_REGISTER_ULONG(ctl + DMA_LEN, len);
    WRITE_REGISTER_ULONG(ctl + DMA_CTRL, op);
    return READ_REGISTER_ULONG(ctl + DMA_STATUS);
}

static PDMA_ADAPTER get_adapter(ULONG max_length, PULONG n)
{
    DEVICE_DESCRIPTION d;
    memset(&d, 0, sizeof d);
    d.Version = DEVICE_DESCRIPTION_VERSION;
    d.Master = TRUE;
    d.ScatterGather = TRUE;
    d.Dma32BitAddresses = TRUE;
    d.InterfaceType = Internal;
    d.MaximumLength = max_length;
    PDMA_ADAPTER a = IoGetDmaAdapter(NULL, &d, n);
    assert_non_null(a);
    return a;
}

static void fill(PUCHAR p, size_t n, UCHAR seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (UCHAR)(seed + i * 7 + (i >> 8));
}

static void test_io_get_dma_adapter_gives_a_bus_master_adapter(void **state)
{
    kmrig_runtime *rt = dma_runtime(TRUE);
    ULONG n = 0;
    PDMA_ADAPTER a = get_adapter(64 * 1024, &n);
    assert_int_equal(n, 17); /* BYTES_TO_PAGES(64 KiB) + 1: an unaligned buffer spans 17 pages */
    PDMA_OPERATIONS ops = a->DmaOperations;
    assert_int_equal(ops->Size, sizeof(DMA_OPERATIONS));
    assert_ptr_equal(ops->MapTransfer, MapTransfer);
    assert_ptr_equal(ops->GetScatterGatherList, GetScatterGatherList);
    assert_ptr_equal(ops->PutDmaAdapter, PutDmaAdapter);
    assert_int_equal(ops->GetDmaAlignment(a), 1);
    assert_int_equal(ops->ReadDmaCounter(a), 0); /* a bus master keeps its own count */
    /* Members not written yet fail loudly, never succeed silently. */
    ULONG size, regs;
    assert_int_equal(ops->CalculateScatterGatherList(a, NULL, NULL, 0, &size, &regs),
                     STATUS_NOT_IMPLEMENTED);
    ops->PutDmaAdapter(a);

    DEVICE_DESCRIPTION d;
    memset(&d, 0, sizeof d);
    d.Master = TRUE;
    d.DmaWidth = Width32Bits;
    a = IoGetDmaAdapter(NULL, &d, &n);
    assert_int_equal(n, 1); /* MaximumLength 0: one register */
    assert_int_equal(GetDmaAlignment(a), 4);
    PutDmaAdapter(a);
    d.Version = 4;
    assert_null(IoGetDmaAdapter(NULL, &d, &n));
    d.Version = 0;
    d.Master = FALSE; /* system DMA: the loop target has no system DMA controller */
    assert_null(IoGetDmaAdapter(NULL, &d, &n));
    assert_null(IoGetDmaAdapter(NULL, NULL, &n));
    /* A huge MaximumLength is capped, not refused. */
    d.Master = TRUE;
    d.MaximumLength = 0x40000000;
    a = IoGetDmaAdapter(NULL, &d, &n);
    assert_int_equal(n, 256);
    PutDmaAdapter(a);
    kmrig_runtime_destroy(rt);
}

static void test_allocate_common_buffer_is_reachable_both_ways(void **state)
{
    kmrig_runtime *rt = dma_runtime(FALSE);
    ULONG n;
    PDMA_ADAPTER a = get_adapter(4096, &n);
    PHYSICAL_ADDRESS la;
    PUCHAR va = AllocateCommonBuffer(a, 8192, &la, FALSE);
    assert_non_null(va);
    assert_int_equal((ULONG_PTR)va & (PAGE_SIZE - 1), 0);
    assert_true(la.QuadPart != 0 && la.QuadPart < 0x100000000ll);
    assert_int_equal(MmGetPhysicalAddress(va + 100).QuadPart, la.QuadPart + 100);
    /* The device writes into it ... */
    UCHAR pattern[8192];
    fill(pattern, sizeof pattern, 3);
    PHYSICAL_ADDRESS ram = {.QuadPart = 0};
    volatile UCHAR *loopram = MmMapIoSpace(ram, sizeof pattern, MmNonCached);
    WRITE_REGISTER_BUFFER_UCHAR(loopram, pattern, sizeof pattern);
    assert_int_equal(device_dma(OP_RAM_TO_HOST, 0, la.QuadPart, sizeof pattern), 0);
    assert_memory_equal(va, pattern, sizeof pattern);
    /* ... and reads from it. */
    fill(va, 8192, 99);
    assert_int_equal(device_dma(OP_HOST_TO_RAM, la.QuadPart, 0, 8192), 0);
    UCHAR back[8192];
    READ_REGISTER_BUFFER_UCHAR(loopram, back, sizeof back);
    assert_memory_equal(back, va, sizeof back);
    FreeCommonBuffer(a, 8192, la, va, FALSE);
    /* Freed: the bus address is no longer host memory. */
    assert_int_equal(device_dma(OP_HOST_TO_RAM, la.QuadPart, 0, 16), 1);
    assert_null(AllocateCommonBuffer(a, 0, &la, FALSE));
    PutDmaAdapter(a);
    kmrig_runtime_destroy(rt);
}

static void test_dma_fault_touches_no_host_memory(void **state)
{
    kmrig_runtime *rt = dma_runtime(FALSE);
    ULONG n;
    PDMA_ADAPTER a = get_adapter(4096, &n);
    PHYSICAL_ADDRESS la;
    PUCHAR va = AllocateCommonBuffer(a, 2 * PAGE_SIZE, &la, TRUE);
    memset(va, 0x5A, 2 * PAGE_SIZE);
    /* One DMA request of 64 bytes whose last 32 run into the guard page after the buffer: the
     * whole request is refused, its first 32 bytes are not written either. */
    assert_int_equal(device_dma(OP_RAM_TO_HOST, 0, la.QuadPart + 2 * PAGE_SIZE - 32, 64), 1);
    for (int i = 0; i < 2 * PAGE_SIZE; i++)
        assert_int_equal(va[i], 0x5A);
    /* Pool memory: its "physical" address is not one the device can reach. */
    PUCHAR pool = ExAllocatePoolWithTag(NonPagedPool, 64, 'tsET');
    memset(pool, 1, 64);
    assert_int_equal(device_dma(OP_RAM_TO_HOST, 0, MmGetPhysicalAddress(pool).QuadPart, 64), 1);
    assert_int_equal(pool[0], 1);
    ExFreePoolWithTag(pool, 'tsET');
    FreeCommonBuffer(a, 2 * PAGE_SIZE, la, va, TRUE);
    PutDmaAdapter(a);
    kmrig_runtime_destroy(rt);
}

static void fault_with_verifier(void *arg)
{
    dma_runtime(TRUE);
    device_dma(OP_RAM_TO_HOST, 0, 0x10000000, 4);
}

static void test_dma_fault_under_the_verifier_is_a_dma_violation(void **state)
{
    ULONG_PTR params[4];
    assert_int_equal(kmtest_bugcheck_of(fault_with_verifier, NULL, params),
                     DRIVER_VERIFIER_DMA_VIOLATION);
    assert_int_equal(params[0], KMRIG_VF_DMA_FAULT);
    assert_int_equal(params[1], 0x10000000);
    assert_int_equal(params[2], 4);
    assert_int_equal(params[3], 1); /* a write */
}

/* ---- packet DMA: adapter channel, map registers, MapTransfer ------------------------------- */

typedef struct {
    PVOID Base;
    ULONG Calls;
    IO_ALLOCATION_ACTION Action;
    PIRP Irp;
} channel_ctx;

static IO_ALLOCATION_ACTION NTAPI on_channel(PDEVICE_OBJECT Device, PIRP Irp, PVOID Base,
                                             PVOID Context)
{
    channel_ctx *c = Context;
    c->Base = Base;
    c->Irp = Irp;
    c->Calls++;
    assert_int_equal(KeGetCurrentIrql(), DISPATCH_LEVEL);
    return c->Action;
}

static void test_map_transfer_maps_one_direction_until_flushed(void **state)
{
    kmrig_runtime *rt = dma_runtime(FALSE);
    ULONG n;
    PDMA_ADAPTER a = get_adapter(3 * PAGE_SIZE, &n);
    assert_int_equal(n, 4);
    PUCHAR buf = ExAllocatePoolWithTag(NonPagedPool, 4 * PAGE_SIZE, 'tsET');
    PUCHAR va = buf + 100;
    fill(va, 3 * PAGE_SIZE, 1);
    PMDL mdl = IoAllocateMdl(va, 3 * PAGE_SIZE, FALSE, FALSE, NULL);
    MmBuildMdlForNonPagedPool(mdl);
    channel_ctx c = {.Action = KeepObject};
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    assert_int_equal(AllocateAdapterChannel(a, NULL, 4, on_channel, &c), STATUS_SUCCESS);
    assert_int_equal(c.Calls, 1);
    assert_non_null(c.Base);
    ULONG len = 3 * PAGE_SIZE;
    PHYSICAL_ADDRESS la = MapTransfer(a, mdl, c.Base, va, &len, TRUE);
    assert_int_equal(len, 3 * PAGE_SIZE);
    assert_int_equal(la.QuadPart & (PAGE_SIZE - 1), 100);
    KeLowerIrql(old);
    /* Mapped for a write to the device: the device may read it, not write it. */
    assert_int_equal(device_dma(OP_HOST_TO_RAM, la.QuadPart, 0, len), 0);
    PHYSICAL_ADDRESS ram = {.QuadPart = 0};
    volatile UCHAR *loopram = MmMapIoSpace(ram, len, MmNonCached);
    UCHAR back[3 * PAGE_SIZE];
    READ_REGISTER_BUFFER_UCHAR(loopram, back, len);
    assert_memory_equal(back, va, len);
    assert_int_equal(device_dma(OP_RAM_TO_HOST, 0, la.QuadPart, 4), 1);
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    assert_true(FlushAdapterBuffers(a, mdl, c.Base, va, len, TRUE));
    KeLowerIrql(old);
    /* Flushed: the mapping is gone. */
    assert_int_equal(device_dma(OP_HOST_TO_RAM, la.QuadPart, 0, 4), 1);
    /* Remap the tail for the device to write; the length is cut to what the registers hold. */
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    len = 2 * PAGE_SIZE;
    la = MapTransfer(a, mdl, c.Base, va + PAGE_SIZE, &len, FALSE);
    KeLowerIrql(old);
    assert_int_equal(device_dma(OP_RAM_TO_HOST, 0, la.QuadPart, len), 0);
    assert_memory_equal(va + PAGE_SIZE, back, len);
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    FlushAdapterBuffers(a, mdl, c.Base, va + PAGE_SIZE, len, FALSE);
    FreeAdapterChannel(a); /* KeepObject: the channel and its registers go together */
    KeLowerIrql(old);
    IoFreeMdl(mdl);
    ExFreePoolWithTag(buf, 'tsET');
    PutDmaAdapter(a);
    kmrig_runtime_destroy(rt);
}

static void test_allocate_adapter_channel_waits_for_the_channel_and_registers(void **state)
{
    kmrig_runtime *rt = dma_runtime(TRUE);
    ULONG n;
    PDMA_ADAPTER a = get_adapter(3 * PAGE_SIZE, &n); /* 4 registers */
    channel_ctx first = {.Action = KeepObject}, second = {.Action = DeallocateObjectKeepRegisters},
                third = {.Action = DeallocateObject};
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    assert_int_equal(AllocateAdapterChannel(a, NULL, 5, on_channel, &first),
                     STATUS_INSUFFICIENT_RESOURCES);
    assert_int_equal(AllocateAdapterChannel(a, NULL, 2, on_channel, &first), STATUS_SUCCESS);
    assert_int_equal(AllocateAdapterChannel(a, NULL, 2, on_channel, &second), STATUS_SUCCESS);
    assert_int_equal(first.Calls, 1);
    assert_int_equal(second.Calls, 0); /* the channel is held (KeepObject) */
    FreeAdapterChannel(a);
    assert_int_equal(second.Calls, 1); /* granted when released; keeps its 2 registers */
    assert_int_equal(AllocateAdapterChannel(a, NULL, 3, on_channel, &third), STATUS_SUCCESS);
    assert_int_equal(third.Calls, 0); /* the channel is free, but only 2 registers are */
    FreeMapRegisters(a, second.Base, 2);
    assert_int_equal(third.Calls, 1);
    /* DeallocateObject released everything: a 4-register request is granted at once. */
    first.Action = DeallocateObject;
    assert_int_equal(AllocateAdapterChannel(a, NULL, 4, on_channel, &first), STATUS_SUCCESS);
    assert_int_equal(first.Calls, 2);
    /* Zero registers: a NULL base. */
    assert_int_equal(AllocateAdapterChannel(a, NULL, 0, on_channel, &third), STATUS_SUCCESS);
    assert_null(third.Base);
    KeLowerIrql(old);
    PutDmaAdapter(a);
    kmrig_runtime_destroy(rt);
}

/* ---- scatter/gather ----------------------------------------------------------------------- */

typedef struct {
    PSCATTER_GATHER_LIST List;
    ULONG Calls;
} sg_ctx;

static VOID NTAPI on_list(PDEVICE_OBJECT Device, PIRP Irp, PSCATTER_GATHER_LIST Sg, PVOID Context)
{
    sg_ctx *c = Context;
    c->List = Sg;
    c->Calls++;
}

static PSCATTER_GATHER_LIST get_list(PDMA_ADAPTER a, PMDL mdl, PVOID va, ULONG len, BOOLEAN out)
{
    sg_ctx c = {0};
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    assert_int_equal(GetScatterGatherList(a, NULL, mdl, va, len, on_list, &c, out), STATUS_SUCCESS);
    KeLowerIrql(old);
    assert_int_equal(c.Calls, 1);
    return c.List;
}

static void put_list(PDMA_ADAPTER a, PSCATTER_GATHER_LIST sg, BOOLEAN out)
{
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    PutScatterGatherList(a, sg, out);
    KeLowerIrql(old);
}

static void test_get_scatter_gather_list_describes_the_buffer_page_by_page(void **state)
{
    kmrig_runtime *rt = dma_runtime(FALSE);
    ULONG n;
    PDMA_ADAPTER a = get_adapter(16 * PAGE_SIZE, &n);
    PUCHAR buf = ExAllocatePoolWithTag(NonPagedPool, 4 * PAGE_SIZE, 'tsET');
    PUCHAR va = buf + 0x234;
    ULONG len = 2 * PAGE_SIZE + 10;
    fill(va, len, 5);
    PMDL mdl = IoAllocateMdl(va, len, FALSE, FALSE, NULL);
    MmBuildMdlForNonPagedPool(mdl);
    PSCATTER_GATHER_LIST sg = get_list(a, mdl, va, len, TRUE);
    assert_int_equal(sg->NumberOfElements, ADDRESS_AND_SIZE_TO_SPAN_PAGES(va, len));
    assert_int_equal(sg->Elements[0].Address.QuadPart & (PAGE_SIZE - 1), 0x234);
    assert_int_equal(sg->Elements[0].Length, PAGE_SIZE - 0x234);
    ULONG total = 0, ram = 0;
    for (ULONG i = 0; i < sg->NumberOfElements; i++) {
        assert_int_equal(device_dma(OP_HOST_TO_RAM, sg->Elements[i].Address.QuadPart, ram,
                                    sg->Elements[i].Length),
                         0);
        ram += sg->Elements[i].Length;
        total += sg->Elements[i].Length;
    }
    assert_int_equal(total, len);
    PHYSICAL_ADDRESS r0 = {.QuadPart = 0};
    volatile UCHAR *loopram = MmMapIoSpace(r0, len, MmNonCached);
    PUCHAR back = malloc(len);
    READ_REGISTER_BUFFER_UCHAR(loopram, back, len);
    assert_memory_equal(back, va, len);
    ULONGLONG first = sg->Elements[0].Address.QuadPart;
    /* Mapped for the device to read: a write is refused. */
    assert_int_equal(device_dma(OP_RAM_TO_HOST, 0, first, 4), 1);
    put_list(a, sg, TRUE);
    assert_int_equal(device_dma(OP_HOST_TO_RAM, first, 0, 4), 1); /* gone after the put */
    free(back);
    IoFreeMdl(mdl);
    ExFreePoolWithTag(buf, 'tsET');
    PutDmaAdapter(a);
    kmrig_runtime_destroy(rt);
}

static void test_get_scatter_gather_list_refuses_what_it_cannot_map(void **state)
{
    kmrig_runtime *rt = dma_runtime(TRUE);
    ULONG n;
    PDMA_ADAPTER a = get_adapter(PAGE_SIZE, &n); /* 2 registers */
    PUCHAR buf = ExAllocatePoolWithTag(NonPagedPool, 4 * PAGE_SIZE, 'tsET');
    PMDL mdl = IoAllocateMdl(buf, 4 * PAGE_SIZE, FALSE, FALSE, NULL);
    MmBuildMdlForNonPagedPool(mdl);
    sg_ctx c = {0};
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    assert_int_equal(GetScatterGatherList(a, NULL, mdl, buf, 3 * PAGE_SIZE, on_list, &c, TRUE),
                     STATUS_INSUFFICIENT_RESOURCES);
    assert_int_equal(
        GetScatterGatherList(a, NULL, mdl, buf + 2 * PAGE_SIZE, 3 * PAGE_SIZE, on_list, &c, TRUE),
        STATUS_BUFFER_TOO_SMALL);
    KeLowerIrql(old);
    assert_int_equal(c.Calls, 0);
    IoFreeMdl(mdl);
    ExFreePoolWithTag(buf, 'tsET');
    PutDmaAdapter(a);
    kmrig_runtime_destroy(rt);
}

/* The integration case, on the loop device: 1 MiB copied host to host by the device in
 * scatter/gather chunks of 64 KiB, verified byte for byte. */
static void test_scatter_gather_copy_of_one_mebibyte(void **state)
{
    kmrig_runtime *rt = dma_runtime(TRUE);
    ULONG n;
    const ULONG chunk = 64 * 1024, total = 1024 * 1024;
    PDMA_ADAPTER a = get_adapter(2 * chunk, &n); /* the source and destination lists at once */
    PUCHAR src = ExAllocatePoolWithTag(NonPagedPool, total, 'tsET');
    PUCHAR dst = ExAllocatePoolWithTag(NonPagedPool, total, 'tsET');
    fill(src, total, 11);
    memset(dst, 0, total);
    PMDL ms = IoAllocateMdl(src, total, FALSE, FALSE, NULL);
    PMDL md = IoAllocateMdl(dst, total, FALSE, FALSE, NULL);
    MmBuildMdlForNonPagedPool(ms);
    MmBuildMdlForNonPagedPool(md);
    ULONG elements = 0;
    for (ULONG off = 0; off < total; off += chunk) {
        PSCATTER_GATHER_LIST s = get_list(a, ms, src + off, chunk, TRUE);
        PSCATTER_GATHER_LIST d = get_list(a, md, dst + off, chunk, FALSE);
        assert_int_equal(s->NumberOfElements, d->NumberOfElements);
        for (ULONG i = 0; i < s->NumberOfElements; i++)
            assert_int_equal(device_dma(OP_HOST_TO_HOST, s->Elements[i].Address.QuadPart,
                                        d->Elements[i].Address.QuadPart, s->Elements[i].Length),
                             0);
        elements += s->NumberOfElements;
        put_list(a, d, FALSE);
        put_list(a, s, TRUE);
    }
    assert_memory_equal(src, dst, total);
    assert_true(elements >= total / PAGE_SIZE);
    IoFreeMdl(ms);
    IoFreeMdl(md);
    ExFreePoolWithTag(src, 'tsET');
    ExFreePoolWithTag(dst, 'tsET');
    PutDmaAdapter(a);
    kmrig_runtime_destroy(rt);
}

/* ---- the legacy routines ------------------------------------------------------------------- */

static void test_legacy_io_adapter_routines_do_a_packet_transfer(void **state)
{
    kmrig_runtime *rt = dma_runtime(FALSE);
    ULONG n;
    PADAPTER_OBJECT a = get_adapter(PAGE_SIZE, &n);
    PUCHAR buf = ExAllocatePoolWithTag(NonPagedPool, 256, 'tsET');
    fill(buf, 256, 42);
    PMDL mdl = IoAllocateMdl(buf, 256, FALSE, FALSE, NULL);
    MmBuildMdlForNonPagedPool(mdl);
    channel_ctx c = {.Action = DeallocateObjectKeepRegisters};
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    ULONG regs = ADDRESS_AND_SIZE_TO_SPAN_PAGES(buf, 256); /* pool may straddle a page */
    assert_int_equal(IoAllocateAdapterChannel(a, NULL, regs, on_channel, &c), STATUS_SUCCESS);
    ULONG len = 256;
    PHYSICAL_ADDRESS la = IoMapTransfer(a, mdl, c.Base, buf, &len, TRUE);
    KeLowerIrql(old);
    assert_int_equal(len, 256);
    assert_int_equal(device_dma(OP_HOST_TO_RAM, la.QuadPart, 0x100, 256), 0);
    PHYSICAL_ADDRESS r = {.QuadPart = 0x100};
    volatile UCHAR *loopram = MmMapIoSpace(r, 256, MmNonCached);
    UCHAR back[256];
    READ_REGISTER_BUFFER_UCHAR(loopram, back, 256);
    assert_memory_equal(back, buf, 256);
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    assert_true(IoFlushAdapterBuffers(a, mdl, c.Base, buf, 256, TRUE));
    IoFreeMapRegisters(a, c.Base, regs);
    /* The channel was released by DeallocateObjectKeepRegisters; take and free it again. */
    c.Action = KeepObject;
    assert_int_equal(IoAllocateAdapterChannel(a, NULL, 0, on_channel, &c), STATUS_SUCCESS);
    IoFreeAdapterChannel(a);
    KeLowerIrql(old);
    IoFreeMdl(mdl);
    ExFreePoolWithTag(buf, 'tsET');
    PutDmaAdapter(a);
    kmrig_runtime_destroy(rt);
}

/* ---- contiguous / noncached memory --------------------------------------------------------- */

static void test_mm_allocate_contiguous_memory_is_device_reachable(void **state)
{
    kmrig_runtime *rt = dma_runtime(TRUE);
    PHYSICAL_ADDRESS highest = {.QuadPart = 0xFFFFFFFF};
    PUCHAR p = MmAllocateContiguousMemory(10000, highest);
    assert_non_null(p);
    assert_int_equal((ULONG_PTR)p & (PAGE_SIZE - 1), 0);
    for (int i = 0; i < 10000; i++)
        assert_int_equal(p[i], 0);
    PHYSICAL_ADDRESS pa = MmGetPhysicalAddress(p + 5000);
    assert_true(pa.QuadPart > 0 && pa.QuadPart + 5000 <= highest.QuadPart);
    fill(p, 10000, 8);
    assert_int_equal(device_dma(OP_HOST_TO_RAM, pa.QuadPart - 5000, 0, 10000), 0);
    MmFreeContiguousMemory(p);
    /* Below what the bus can place: refused. */
    highest.QuadPart = 0xFFFFF;
    assert_null(MmAllocateContiguousMemory(4096, highest));
    highest.QuadPart = 0xFFFFFFFF;
    assert_null(MmAllocateContiguousMemory(0, highest));

    PUCHAR q = MmAllocateNonCachedMemory(300);
    assert_non_null(q);
    assert_true(MmGetPhysicalAddress(q).QuadPart < 0x100000000ll);
    MmFreeNonCachedMemory(q, 300);
    assert_null(MmAllocateNonCachedMemory(0));
    kmrig_runtime_destroy(rt);
}

static void free_contiguous_twice(void *arg)
{
    dma_runtime(TRUE);
    PHYSICAL_ADDRESS highest = {.QuadPart = -1};
    PVOID p = MmAllocateContiguousMemory(100, highest);
    MmFreeContiguousMemory(p);
    MmFreeContiguousMemory(p);
}

static void free_noncached_wrong_size(void *arg)
{
    dma_runtime(TRUE);
    PVOID p = MmAllocateNonCachedMemory(100);
    MmFreeNonCachedMemory(p, 200);
}

static void free_common_buffer_wrong_address(void *arg)
{
    dma_runtime(TRUE);
    ULONG n;
    PDMA_ADAPTER a = get_adapter(4096, &n);
    PHYSICAL_ADDRESS la;
    PUCHAR va = AllocateCommonBuffer(a, 100, &la, TRUE);
    la.QuadPart += PAGE_SIZE;
    FreeCommonBuffer(a, 100, la, va, TRUE);
}

static void put_adapter_with_a_common_buffer(void *arg)
{
    dma_runtime(TRUE);
    ULONG n;
    PDMA_ADAPTER a = get_adapter(4096, &n);
    PHYSICAL_ADDRESS la;
    AllocateCommonBuffer(a, 100, &la, TRUE);
    PutDmaAdapter(a);
}

static void free_map_registers_wrong_count(void *arg)
{
    dma_runtime(TRUE);
    ULONG n;
    PDMA_ADAPTER a = get_adapter(3 * PAGE_SIZE, &n);
    static channel_ctx c = {.Action = DeallocateObjectKeepRegisters};
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    AllocateAdapterChannel(a, NULL, 2, on_channel, &c);
    FreeMapRegisters(a, c.Base, 3);
}

static void free_channel_not_owned(void *arg)
{
    dma_runtime(TRUE);
    ULONG n;
    PDMA_ADAPTER a = get_adapter(PAGE_SIZE, &n);
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    FreeAdapterChannel(a);
}

static void allocate_channel_at_passive(void *arg)
{
    dma_runtime(TRUE);
    ULONG n;
    PDMA_ADAPTER a = get_adapter(PAGE_SIZE, &n);
    static channel_ctx c;
    AllocateAdapterChannel(a, NULL, 1, on_channel, &c);
}

static void map_transfer_outside_the_mdl(void *arg)
{
    dma_runtime(TRUE);
    ULONG n;
    PDMA_ADAPTER a = get_adapter(PAGE_SIZE, &n);
    static UCHAR buf[64];
    PMDL mdl = IoAllocateMdl(buf, 32, FALSE, FALSE, NULL);
    MmBuildMdlForNonPagedPool(mdl);
    static channel_ctx c = {.Action = KeepObject};
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    AllocateAdapterChannel(a, NULL, 1, on_channel, &c);
    ULONG len = 64;
    MapTransfer(a, mdl, c.Base, buf, &len, TRUE);
}

static void flush_io_buffers_at_high(void *arg)
{
    dma_runtime(TRUE);
    static UCHAR buf[64];
    PMDL mdl = IoAllocateMdl(buf, 64, FALSE, FALSE, NULL);
    KIRQL old;
    KeRaiseIrql(HIGH_LEVEL, &old);
    KeFlushIoBuffers(mdl, TRUE, TRUE);
}

static void test_dma_misuse_is_caught_by_the_verifier(void **state)
{
    ULONG_PTR p[4];
    assert_int_equal(kmtest_bugcheck_of(free_contiguous_twice, NULL, p),
                     DRIVER_VERIFIER_DETECTED_VIOLATION);
    assert_int_equal(p[0], KMRIG_VF_BAD_DMA_FREE);
    assert_int_equal(kmtest_bugcheck_of(free_noncached_wrong_size, NULL, p),
                     DRIVER_VERIFIER_DETECTED_VIOLATION);
    assert_int_equal(p[0], KMRIG_VF_BAD_DMA_FREE);
    assert_int_equal(p[2], 200);
    assert_int_equal(kmtest_bugcheck_of(free_common_buffer_wrong_address, NULL, p),
                     DRIVER_VERIFIER_DETECTED_VIOLATION);
    assert_int_equal(p[0], KMRIG_VF_BAD_DMA_FREE);
    assert_int_equal(kmtest_bugcheck_of(put_adapter_with_a_common_buffer, NULL, p),
                     DRIVER_VERIFIER_DETECTED_VIOLATION);
    assert_int_equal(p[0], KMRIG_VF_DMA_ADAPTER_BUSY);
    assert_int_equal(p[2] & 1, 1);
    assert_int_equal(kmtest_bugcheck_of(free_map_registers_wrong_count, NULL, p),
                     DRIVER_VERIFIER_DETECTED_VIOLATION);
    assert_int_equal(p[0], KMRIG_VF_BAD_MAP_REGISTERS);
    assert_int_equal(kmtest_bugcheck_of(free_channel_not_owned, NULL, p),
                     DRIVER_VERIFIER_DETECTED_VIOLATION);
    assert_int_equal(p[0], KMRIG_VF_NOT_CHANNEL_OWNER);
    assert_int_equal(kmtest_bugcheck_of(allocate_channel_at_passive, NULL, p),
                     DRIVER_VERIFIER_DETECTED_VIOLATION);
    assert_int_equal(p[0], KMRIG_VF_IRQL_TOO_LOW);
    assert_int_equal(kmtest_bugcheck_of(map_transfer_outside_the_mdl, NULL, p),
                     DRIVER_VERIFIER_DETECTED_VIOLATION);
    assert_int_equal(p[0], KMRIG_VF_DMA_BAD_TRANSFER);
    assert_int_equal(kmtest_bugcheck_of(flush_io_buffers_at_high, NULL, p),
                     DRIVER_VERIFIER_DETECTED_VIOLATION);
    assert_int_equal(p[0], KMRIG_VF_IRQL_TOO_HIGH);
}

static void test_ke_flush_io_buffers_is_a_no_op_on_a_coherent_machine(void **state)
{
    kmrig_runtime *rt = dma_runtime(TRUE);
    UCHAR buf[64];
    memset(buf, 7, sizeof buf);
    PMDL mdl = IoAllocateMdl(buf, 64, FALSE, FALSE, NULL);
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    KeFlushIoBuffers(mdl, TRUE, TRUE);
    KeFlushIoBuffers(mdl, FALSE, FALSE);
    KeLowerIrql(old);
    for (int i = 0; i < 64; i++)
        assert_int_equal(buf[i], 7);
    IoFreeMdl(mdl);
    kmrig_runtime_destroy(rt);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_io_get_dma_adapter_gives_a_bus_master_adapter),
    cmocka_unit_test(test_allocate_common_buffer_is_reachable_both_ways),
    cmocka_unit_test(test_dma_fault_touches_no_host_memory),
    cmocka_unit_test(test_dma_fault_under_the_verifier_is_a_dma_violation),
    cmocka_unit_test(test_map_transfer_maps_one_direction_until_flushed),
    cmocka_unit_test(test_allocate_adapter_channel_waits_for_the_channel_and_registers),
    cmocka_unit_test(test_get_scatter_gather_list_describes_the_buffer_page_by_page),
    cmocka_unit_test(test_get_scatter_gather_list_refuses_what_it_cannot_map),
    cmocka_unit_test(test_scatter_gather_copy_of_one_mebibyte),
    cmocka_unit_test(test_legacy_io_adapter_routines_do_a_packet_transfer),
    cmocka_unit_test(test_mm_allocate_contiguous_memory_is_device_reachable),
    cmocka_unit_test(test_dma_misuse_is_caught_by_the_verifier),
    cmocka_unit_test(test_ke_flush_io_buffers_is_a_no_op_on_a_coherent_machine),
};

KMTEST_MAIN(tests)

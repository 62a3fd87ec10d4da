/* DMA on the Verilator model, end to end: the reference SoC's DMA masters (dma0, the
 * scatter-gather engine, and sysdma, the system DMA controller) reach host memory only through
 * the runtime's bus-address table, over the model's DMA port (bridge/link/link_sim.c).
 *
 * - dma0 driven the way a driver drives it (descriptors in a common buffer, buffers mapped by
 *   GetScatterGatherList); accesses outside a mapping, or against its direction, are refused
 *   whole (the engine stops with ERROR and its address), reported, and touch no host memory.
 * - System (slave) DMA through IoGetDmaAdapter(Master = FALSE, DmaChannel 0): channel 0 serves
 *   uart0, whose FIFOs the controller fills from / drains to memory. The far end of the serial
 *   line is the model's remote terminal (kmrig_simsoc_uart_remote/send/recv), reached through
 *   the sim link (kmrig/link_sim.h).
 */
#include "kmtest.h"
#include "kmrig_soc_map.h"
#include "rt.h" /* host/internal: the runtime's HAL state, for its link */
#include "hal.h"

#include <kmrig/link_sim.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REG(base, off) ((base) + (off) / 4)

/* ---- log capture: the HAL reports DMA faults in the log ----------------------------------- */

static unsigned faults_logged;
static char last_fault[512];

static void capture_log(void *ctx, enum kmrig_log_level level, const char *msg)
{
    if (strstr(msg, "DMA fault")) {
        faults_logged++;
        snprintf(last_fault, sizeof last_fault, "%s", msg);
    }
}

static kmrig_runtime *sim_rt(BOOLEAN verify_dma)
{
    kmrig_config cfg;
    kmrig_config_init(&cfg);
    cfg.processors = 1;
    cfg.target = "sim";
    cfg.time_budget_ns = 1000000000ull;
    cfg.log_fn = capture_log;
    if (!verify_dma)
        cfg.verify &= ~KMRIG_VERIFY_DMA;
    faults_logged = 0;
    last_fault[0] = 0;
    return kmtest_runtime_cfg(&cfg);
}

static volatile ULONG *map(ULONG base, ULONG size)
{
    PHYSICAL_ADDRESS pa = {.QuadPart = base};
    volatile ULONG *p = MmMapIoSpace(pa, size, MmNonCached);
    assert_non_null((void *)p);
    return p;
}

static void fill(PUCHAR p, size_t n, UCHAR seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (UCHAR)(seed + i * 13 + (i >> 9));
}

/* ---- dma0 ------------------------------------------------------------------------------------ */

typedef struct {
    volatile ULONG *Regs;
    PDMA_ADAPTER Adapter;
    PUCHAR Ring; /* descriptors (common buffer) */
    PHYSICAL_ADDRESS RingLa;
} DMA0;

#define RING_BYTES 4096

static void dma0_open(DMA0 *d, ULONG max_length)
{
    memset(d, 0, sizeof *d);
    d->Regs = map(KMRIG_SOC_DMA0_BASE, KMRIG_SOC_DMA0_SIZE);
    DEVICE_DESCRIPTION dd;
    memset(&dd, 0, sizeof dd);
    dd.Version = DEVICE_DESCRIPTION_VERSION;
    dd.Master = TRUE;
    dd.ScatterGather = TRUE;
    dd.Dma32BitAddresses = TRUE;
    dd.InterfaceType = Internal;
    dd.MaximumLength = max_length;
    ULONG n;
    d->Adapter = IoGetDmaAdapter(NULL, &dd, &n);
    assert_non_null(d->Adapter);
    d->Ring = AllocateCommonBuffer(d->Adapter, RING_BYTES, &d->RingLa, FALSE);
    assert_non_null(d->Ring);
}

static void dma0_close(DMA0 *d)
{
    FreeCommonBuffer(d->Adapter, RING_BYTES, d->RingLa, d->Ring, FALSE);
    PutDmaAdapter(d->Adapter);
    MmUnmapIoSpace((PVOID)d->Regs, KMRIG_SOC_DMA0_SIZE);
}

/* Writes descriptor i of the ring (linked to i + 1 unless last). */
static void dma0_desc(DMA0 *d, ULONG i, ULONGLONG src, ULONGLONG dst, ULONG len, ULONG op,
                      BOOLEAN last)
{
    PUCHAR p = d->Ring + 32 * i;
    ULONGLONG next = d->RingLa.QuadPart + 32 * (i + 1);
    ULONG ctrl = len | op << KMRIG_DMADESC_CTRL_OP_SHIFT | KMRIG_DMADESC_CTRL_OWN |
                 (last ? KMRIG_DMADESC_CTRL_LAST : 0);
    memcpy(p + KMRIG_DMADESC_SRC_LO, &src, 8);
    memcpy(p + KMRIG_DMADESC_DST_LO, &dst, 8);
    memcpy(p + KMRIG_DMADESC_NEXT_LO, &next, 8);
    memcpy(p + KMRIG_DMADESC_CTRL, &ctrl, 4);
    memset(p + KMRIG_DMADESC_STATUS, 0, 4);
}

static ULONG desc_word(DMA0 *d, ULONG i, ULONG off)
{
    ULONG v;
    memcpy(&v, d->Ring + 32 * i + off, 4);
    return v;
}

/* Starts the engine at descriptor 0 and polls until it stops; returns STATUS. */
static ULONG dma0_run(DMA0 *d)
{
    WRITE_REGISTER_ULONG(REG(d->Regs, KMRIG_DMA_STATUS), KMRIG_DMA_STATUS_DONE |
                                                             KMRIG_DMA_STATUS_ERROR |
                                                             KMRIG_DMA_STATUS_DESC_IRQ);
    WRITE_REGISTER_ULONG(REG(d->Regs, KMRIG_DMA_DESC_LO), (ULONG)d->RingLa.QuadPart);
    WRITE_REGISTER_ULONG(REG(d->Regs, KMRIG_DMA_DESC_HI), (ULONG)(d->RingLa.QuadPart >> 32));
    WRITE_REGISTER_ULONG(REG(d->Regs, KMRIG_DMA_CTRL), KMRIG_DMA_CTRL_RUN);
    for (int i = 0; i < 100000; i++) {
        ULONG st = READ_REGISTER_ULONG(REG(d->Regs, KMRIG_DMA_STATUS));
        if (!(st & KMRIG_DMA_STATUS_BUSY) &&
            (st & (KMRIG_DMA_STATUS_DONE | KMRIG_DMA_STATUS_ERROR)))
            return st;
        KeStallExecutionProcessor(1);
    }
    fail_msg("dma0 did not stop");
    return 0;
}

static ULONG err_code(ULONG status)
{
    return (status & KMRIG_DMA_STATUS_ERR_CODE_MASK) >> KMRIG_DMA_STATUS_ERR_CODE_SHIFT;
}

static ULONGLONG err_addr(DMA0 *d)
{
    return (ULONGLONG)READ_REGISTER_ULONG(REG(d->Regs, KMRIG_DMA_ERR_ADDR_HI)) << 32 |
           READ_REGISTER_ULONG(REG(d->Regs, KMRIG_DMA_ERR_ADDR_LO));
}

typedef struct {
    PSCATTER_GATHER_LIST List;
} SG_CTX;

static VOID NTAPI on_list(PDEVICE_OBJECT Device, PIRP Irp, PSCATTER_GATHER_LIST Sg, PVOID Context)
{
    ((SG_CTX *)Context)->List = Sg;
}

static PSCATTER_GATHER_LIST get_list(PDMA_ADAPTER a, PMDL mdl, PVOID va, ULONG len, BOOLEAN out)
{
    SG_CTX c = {0};
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    assert_int_equal(GetScatterGatherList(a, NULL, mdl, va, len, on_list, &c, out), STATUS_SUCCESS);
    KeLowerIrql(old);
    assert_non_null(c.List);
    return c.List;
}

static void put_list(PDMA_ADAPTER a, PSCATTER_GATHER_LIST sg, BOOLEAN out)
{
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    PutScatterGatherList(a, sg, out);
    KeLowerIrql(old);
}

/* A common-buffer source copied by dma0 into a pool buffer at an odd page offset, one
 * descriptor per scatter/gather element: the engine's reads and writes go through the table. */
static void test_sim_dma0_copies_into_a_scatter_gather_list(void **state)
{
    kmrig_runtime *rt = sim_rt(TRUE);
    DMA0 d;
    dma0_open(&d, 8 * PAGE_SIZE);
    const ULONG len = 3 * PAGE_SIZE + 0x100;
    PHYSICAL_ADDRESS src_la;
    PUCHAR src = AllocateCommonBuffer(d.Adapter, len, &src_la, FALSE);
    fill(src, len, 7);
    PUCHAR pool = ExAllocatePoolWithTag(NonPagedPool, 5 * PAGE_SIZE, 'tsET');
    PUCHAR dst = (PUCHAR)(((ULONG_PTR)pool + PAGE_SIZE - 1) & ~(ULONG_PTR)(PAGE_SIZE - 1)) + 0x234;
    memset(dst, 0, len);
    PMDL mdl = IoAllocateMdl(dst, len, FALSE, FALSE, NULL);
    MmBuildMdlForNonPagedPool(mdl);
    PSCATTER_GATHER_LIST sg = get_list(d.Adapter, mdl, dst, len, FALSE);
    assert_int_equal(sg->NumberOfElements, 4);
    ULONG off = 0;
    for (ULONG i = 0; i < sg->NumberOfElements; i++) {
        dma0_desc(&d, i, src_la.QuadPart + off, sg->Elements[i].Address.QuadPart,
                  sg->Elements[i].Length, 0, i + 1 == sg->NumberOfElements);
        off += sg->Elements[i].Length;
    }
    uint64_t t0 = kmrig_runtime_now_ns(rt);
    ULONG st = dma0_run(&d);
    assert_int_equal(st & (KMRIG_DMA_STATUS_DONE | KMRIG_DMA_STATUS_ERROR), KMRIG_DMA_STATUS_DONE);
    assert_memory_equal(dst, src, len);
    assert_int_equal(READ_REGISTER_ULONG(REG(d.Regs, KMRIG_DMA_BYTES)), len);
    assert_int_equal(READ_REGISTER_ULONG(REG(d.Regs, KMRIG_DMA_DESCS)), sg->NumberOfElements);
    /* The engine wrote each descriptor back: OWN cleared, DONE and the bytes moved. */
    for (ULONG i = 0; i < sg->NumberOfElements; i++) {
        assert_int_equal(desc_word(&d, i, KMRIG_DMADESC_CTRL) & KMRIG_DMADESC_CTRL_OWN, 0);
        assert_int_equal(desc_word(&d, i, KMRIG_DMADESC_STATUS),
                         KMRIG_DMADESC_STATUS_DONE | sg->Elements[i].Length);
    }
    /* One word per cycle: about 2 cycles per word copied, at 50 MHz. */
    uint64_t ns = kmrig_runtime_now_ns(rt) - t0;
    assert_true(ns >= (len / 4) * 2 * 20 && ns < (len / 4) * 2 * 20 + 20000);
    put_list(d.Adapter, sg, FALSE);
    IoFreeMdl(mdl);
    ExFreePoolWithTag(pool, 'tsET');
    FreeCommonBuffer(d.Adapter, len, src_la, src, FALSE);
    dma0_close(&d);
    assert_int_equal(faults_logged, 0);
    kmrig_runtime_destroy(rt);
}

/* A destination or a source outside every mapping: the engine gets a bus error and stops with
 * its address; the fault is logged; no host memory changes. */
static void test_sim_dma0_outside_its_mapping_is_caught_and_touches_nothing(void **state)
{
    kmrig_runtime *rt = sim_rt(FALSE);
    DMA0 d;
    dma0_open(&d, PAGE_SIZE);
    PHYSICAL_ADDRESS a_la, b_la;
    PUCHAR a = AllocateCommonBuffer(d.Adapter, PAGE_SIZE, &a_la, FALSE);
    PUCHAR b = AllocateCommonBuffer(d.Adapter, PAGE_SIZE, &b_la, FALSE);
    fill(a, PAGE_SIZE, 1);
    memset(b, 0x5A, PAGE_SIZE);
    UCHAR a0[PAGE_SIZE];
    memcpy(a0, a, PAGE_SIZE);
    /* Write side: the guard page after b (between two ranges nothing is mapped). */
    ULONGLONG hole = b_la.QuadPart + PAGE_SIZE;
    dma0_desc(&d, 0, a_la.QuadPart, hole, 256, 0, TRUE);
    ULONG st = dma0_run(&d);
    assert_true(st & KMRIG_DMA_STATUS_ERROR);
    assert_int_equal(err_code(st), 3); /* writing the destination */
    assert_int_equal(err_addr(&d), hole);
    assert_int_equal(faults_logged, 1);
    char want[64];
    snprintf(want, sizeof want, "0x%llx", (unsigned long long)hole);
    assert_non_null(strstr(last_fault, want));
    assert_non_null(strstr(last_fault, "no host memory was touched"));
    assert_memory_equal(a, a0, PAGE_SIZE);
    for (ULONG i = 0; i < PAGE_SIZE; i++)
        assert_int_equal(b[i], 0x5A);
    /* Not written back: the descriptor still belongs to the device. */
    assert_true(desc_word(&d, 0, KMRIG_DMADESC_CTRL) & KMRIG_DMADESC_CTRL_OWN);
    /* Read side: a freed buffer's bus address is no longer host memory. */
    ULONGLONG freed = a_la.QuadPart;
    FreeCommonBuffer(d.Adapter, PAGE_SIZE, a_la, a, FALSE);
    dma0_desc(&d, 0, freed, b_la.QuadPart, 64, 0, TRUE);
    st = dma0_run(&d);
    assert_int_equal(err_code(st), 2); /* reading the source */
    assert_int_equal(err_addr(&d), freed);
    assert_int_equal(faults_logged, 2);
    for (ULONG i = 0; i < PAGE_SIZE; i++)
        assert_int_equal(b[i], 0x5A);
    FreeCommonBuffer(d.Adapter, PAGE_SIZE, b_la, b, FALSE);
    dma0_close(&d);
    kmrig_runtime_destroy(rt);
}

/* A buffer mapped for a write to the device may be read by it, not written; a flushed
 * MapTransfer mapping is gone. */
static void test_sim_dma0_against_the_mapped_direction_is_refused(void **state)
{
    kmrig_runtime *rt = sim_rt(FALSE);
    DMA0 d;
    dma0_open(&d, 4 * PAGE_SIZE);
    PHYSICAL_ADDRESS c_la;
    PUCHAR c = AllocateCommonBuffer(d.Adapter, PAGE_SIZE, &c_la, FALSE);
    fill(c, PAGE_SIZE, 9);
    PUCHAR buf = ExAllocatePoolWithTag(NonPagedPool, 2 * PAGE_SIZE, 'tsET');
    PUCHAR va = buf + 0x40;
    memset(va, 0x77, PAGE_SIZE);
    PMDL mdl = IoAllocateMdl(va, PAGE_SIZE, FALSE, FALSE, NULL);
    MmBuildMdlForNonPagedPool(mdl);
    PSCATTER_GATHER_LIST sg = get_list(d.Adapter, mdl, va, PAGE_SIZE, TRUE); /* device reads */
    ULONGLONG e0 = sg->Elements[0].Address.QuadPart;
    dma0_desc(&d, 0, c_la.QuadPart, e0, 64, 0, TRUE); /* ... but is told to write it */
    ULONG st = dma0_run(&d);
    assert_int_equal(err_code(st), 3);
    assert_int_equal(err_addr(&d), e0);
    assert_int_equal(faults_logged, 1);
    assert_non_null(strstr(last_fault, "mapped for a write to the device"));
    for (ULONG i = 0; i < PAGE_SIZE; i++)
        assert_int_equal(va[i], 0x77);
    /* The direction it was mapped for works. */
    dma0_desc(&d, 0, e0, c_la.QuadPart, 64, 0, TRUE);
    st = dma0_run(&d);
    assert_int_equal(st & KMRIG_DMA_STATUS_ERROR, 0);
    assert_memory_equal(c, va, 64);
    put_list(d.Adapter, sg, TRUE);
    /* After PutScatterGatherList the same bus address reads nothing. */
    dma0_desc(&d, 0, e0, c_la.QuadPart, 64, 0, TRUE);
    st = dma0_run(&d);
    assert_int_equal(err_code(st), 2);
    assert_int_equal(faults_logged, 2);
    IoFreeMdl(mdl);
    ExFreePoolWithTag(buf, 'tsET');
    FreeCommonBuffer(d.Adapter, PAGE_SIZE, c_la, c, FALSE);
    dma0_close(&d);
    kmrig_runtime_destroy(rt);
}

static void dma0_fault_with_the_verifier(void *arg)
{
    sim_rt(TRUE);
    DMA0 d;
    dma0_open(&d, PAGE_SIZE);
    /* to the guard page after the ring */
    dma0_desc(&d, 0, d.RingLa.QuadPart, d.RingLa.QuadPart + RING_BYTES, 16, 0, TRUE);
    dma0_run(&d);
}

static void test_sim_dma0_fault_under_the_dma_verifier_is_a_bugcheck(void **state)
{
    ULONG_PTR p[4];
    assert_int_equal(kmtest_bugcheck_of(dma0_fault_with_the_verifier, NULL, p),
                     DRIVER_VERIFIER_DMA_VIOLATION);
    assert_int_equal(p[0], KMRIG_VF_DMA_FAULT);
    /* Bus space from 0x1000_0000, first fit, a guard page after each range: the adapter's 2 map
     * registers (2 pages), a guard page, the ring (one page), then the ring's guard page. */
    assert_int_equal(p[1], 0x10000000 + 2 * PAGE_SIZE + PAGE_SIZE + RING_BYTES);
    assert_int_equal(p[2], 4); /* one word */
    assert_int_equal(p[3], 1); /* a device write */
}

/* ---- system DMA: sysdma channel 0 and uart0 -------------------------------------------------- */

#define UART(off) ((PUCHAR)(ULONG_PTR)(KMRIG_SOC_UART0_BASE + (off)))

/* The model behind the runtime's sim target. This test runs one processor and calls it only
 * from the running thread (see kmrig/link_sim.h). */
static kmrig_simsoc *model(void)
{
    kmrig_simsoc *m = kmrig_link_sim_model(kmrig_runtime_current()->Hal->Link);
    assert_non_null(m);
    return m;
}

/* uart0 at divisor 1 (16 cycles per bit, 160 cycles = 3.2 us per 8N1 character), FIFOs on in
 * DMA mode 1 (TXRDY while the TX FIFO has room); the far end a terminal at the same rate. */
static void uart_setup(void)
{
    WRITE_PORT_UCHAR(UART(KMRIG_UART_LCR), KMRIG_UART_LCR_DLAB);
    WRITE_PORT_UCHAR(UART(KMRIG_UART_DLL), 1);
    WRITE_PORT_UCHAR(UART(KMRIG_UART_DLM), 0);
    WRITE_PORT_UCHAR(UART(KMRIG_UART_LCR), 0x03);
    WRITE_PORT_UCHAR(UART(KMRIG_UART_FCR), KMRIG_UART_FCR_ENABLE | 0x08);
    assert_int_equal(kmrig_simsoc_uart_remote(model(), 16, 0x03), KMRIG_SIM_OK);
}

/* Collects n bytes at the far end, waiting up to 2 character times per byte. */
static void far_end_recv(PUCHAR got, size_t n)
{
    size_t have = 0;
    for (size_t i = 0; i < 2 * n + 4 && have < n; i++) {
        KeStallExecutionProcessor(7);
        have += kmrig_simsoc_uart_recv(model(), got + have, n - have);
    }
    assert_int_equal(have, n);
    assert_int_equal(kmrig_simsoc_uart_recv_errors(model()), 0);
}

static void far_end_send(const UCHAR *bytes, size_t n)
{
    assert_int_equal(kmrig_simsoc_uart_send(model(), bytes, n), KMRIG_SIM_OK);
}

/* Reads one received byte by programmed I/O, waiting up to 10 character times. */
static UCHAR uart_rx(void)
{
    for (int i = 0; i < 100; i++) {
        if (READ_PORT_UCHAR(UART(KMRIG_UART_LSR)) & KMRIG_UART_LSR_DR)
            return READ_PORT_UCHAR(UART(KMRIG_UART_RBR));
        KeStallExecutionProcessor(1);
    }
    fail_msg("uart0 received nothing");
    return 0;
}

static PDMA_ADAPTER get_system_adapter(ULONG channel, BOOLEAN autoinit, PULONG n)
{
    DEVICE_DESCRIPTION dd;
    memset(&dd, 0, sizeof dd);
    dd.Version = DEVICE_DESCRIPTION_VERSION;
    dd.Master = FALSE;
    dd.DmaChannel = channel;
    dd.InterfaceType = Isa;
    dd.DmaWidth = Width8Bits;
    dd.DemandMode = TRUE;
    dd.AutoInitialize = autoinit;
    dd.MaximumLength = 4 * PAGE_SIZE;
    return IoGetDmaAdapter(NULL, &dd, n);
}

typedef struct {
    PVOID Base;
    ULONG Calls;
} CHANNEL_CTX;

static IO_ALLOCATION_ACTION NTAPI on_channel(PDEVICE_OBJECT Device, PIRP Irp, PVOID Base,
                                             PVOID Context)
{
    CHANNEL_CTX *c = Context;
    c->Base = Base;
    c->Calls++;
    return KeepObject;
}

static void test_sim_io_get_dma_adapter_for_a_system_dma_channel(void **state)
{
    kmrig_runtime *rt = sim_rt(TRUE);
    ULONG n = 0, n2 = 0;
    PDMA_ADAPTER a = get_system_adapter(0, FALSE, &n);
    assert_non_null(a);
    assert_int_equal(n, 5); /* BYTES_TO_PAGES(16 KiB) + 1 */
    /* One adapter per channel, shared. */
    assert_ptr_equal(get_system_adapter(0, FALSE, &n2), a);
    assert_int_equal(n2, 5);
    PDMA_ADAPTER b = get_system_adapter(1, FALSE, &n2);
    assert_non_null(b);
    assert_ptr_not_equal(a, b);
    assert_null(get_system_adapter(2, FALSE, &n2)); /* the controller has 2 channels */
    DEVICE_DESCRIPTION dd;
    memset(&dd, 0, sizeof dd);
    dd.DmaChannel = 0;
    dd.DmaWidth = Width16Bits; /* the channels move bytes */
    assert_null(IoGetDmaAdapter(NULL, &dd, &n2));
    /* Nothing mapped: ReadDmaCounter reads the channel's count, 0 after reset. */
    assert_int_equal(a->DmaOperations->ReadDmaCounter(a), 0);
    SG_CTX c = {0};
    KIRQL old;
    UCHAR x[16];
    PMDL mdl = IoAllocateMdl(x, sizeof x, FALSE, FALSE, NULL);
    MmBuildMdlForNonPagedPool(mdl);
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    assert_int_equal(GetScatterGatherList(a, NULL, mdl, x, sizeof x, on_list, &c, TRUE),
                     STATUS_NOT_SUPPORTED);
    KeLowerIrql(old);
    IoFreeMdl(mdl);
    PutDmaAdapter(b);
    PutDmaAdapter(a);
    PutDmaAdapter(a);
    kmrig_runtime_destroy(rt);
}

static volatile ULONG *sysdma_ch0(void)
{
    return map(KMRIG_SOC_SYSDMA_BASE + KMRIG_SYSDMA_CH(0), 0x20);
}

/* Memory to uart0 from a pool buffer (not contiguous on the bus: through the bounce buffer):
 * MapTransfer programs the channel, the UART's TXRDY pulls the bytes, ReadDmaCounter follows. */
static void test_sim_system_dma_memory_to_uart(void **state)
{
    kmrig_runtime *rt = sim_rt(TRUE);
    uart_setup();
    volatile ULONG *ch = sysdma_ch0();
    ULONG n;
    PDMA_ADAPTER a = get_system_adapter(0, FALSE, &n);
    const ULONG len = 40;
    PUCHAR buf = ExAllocatePoolWithTag(NonPagedPool, 4096, 'tsET');
    PUCHAR va = buf + 0x7F1;
    fill(va, len, 0x31);
    PMDL mdl = IoAllocateMdl(va, len, FALSE, FALSE, NULL);
    MmBuildMdlForNonPagedPool(mdl);
    CHANNEL_CTX c = {0};
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    ULONG regs = ADDRESS_AND_SIZE_TO_SPAN_PAGES(va, len);
    assert_int_equal(AllocateAdapterChannel(a, NULL, regs, on_channel, &c), STATUS_SUCCESS);
    assert_int_equal(c.Calls, 1);
    ULONG l = len;
    PHYSICAL_ADDRESS la = MapTransfer(a, mdl, c.Base, va, &l, TRUE);
    assert_int_equal(l, len); /* system DMA: Length out is Length in */
    KeLowerIrql(old);
    /* The channel as MapTransfer left it: the bus address, the count, a read transfer
     * (memory to device), unmasked. */
    assert_int_equal(READ_REGISTER_ULONG(REG(ch, KMRIG_SYSDMA_BASE_ADDR)), (ULONG)la.QuadPart);
    assert_int_equal(READ_REGISTER_ULONG(REG(ch, KMRIG_SYSDMA_BASE_COUNT)), len);
    assert_int_equal(READ_REGISTER_ULONG(REG(ch, KMRIG_SYSDMA_MODE)), 2);
    assert_int_equal(READ_REGISTER_ULONG(REG(ch, KMRIG_SYSDMA_CTRL)) & KMRIG_SYSDMA_CTRL_MASK, 0);
    /* The 16-byte TX FIFO and the shifter take 17 at once; the rest goes a character time each. */
    ULONG left = a->DmaOperations->ReadDmaCounter(a);
    assert_true(left > 0 && left < len);
    UCHAR got[40];
    far_end_recv(got, len);
    assert_memory_equal(got, va, len);
    assert_int_equal(a->DmaOperations->ReadDmaCounter(a), 0);
    assert_true(READ_REGISTER_ULONG(REG(ch, KMRIG_SYSDMA_STATUS)) & KMRIG_SYSDMA_STATUS_TC);
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    assert_true(FlushAdapterBuffers(a, mdl, c.Base, va, len, TRUE));
    FreeAdapterChannel(a);
    KeLowerIrql(old);
    assert_true(READ_REGISTER_ULONG(REG(ch, KMRIG_SYSDMA_CTRL)) & KMRIG_SYSDMA_CTRL_MASK);
    IoFreeMdl(mdl);
    ExFreePoolWithTag(buf, 'tsET');
    PutDmaAdapter(a);
    assert_int_equal(faults_logged, 0);
    kmrig_runtime_destroy(rt);
}

/* uart0 to a pool buffer: the device writes the bounce buffer; the caller's buffer gets the
 * bytes at FlushAdapterBuffers, as with NT's map registers. */
static void test_sim_system_dma_uart_to_memory_through_the_bounce_buffer(void **state)
{
    kmrig_runtime *rt = sim_rt(TRUE);
    uart_setup();
    volatile ULONG *ch = sysdma_ch0();
    ULONG n;
    PDMA_ADAPTER a = get_system_adapter(0, FALSE, &n);
    const ULONG len = 24;
    PUCHAR buf = ExAllocatePoolWithTag(NonPagedPool, 2 * PAGE_SIZE, 'tsET');
    PUCHAR va = (PUCHAR)(((ULONG_PTR)buf + PAGE_SIZE) & ~(ULONG_PTR)(PAGE_SIZE - 1)) - 10;
    memset(va, 0xEE, len + 8);
    PMDL mdl = IoAllocateMdl(va, len, FALSE, FALSE, NULL); /* straddles a page */
    MmBuildMdlForNonPagedPool(mdl);
    CHANNEL_CTX c = {0};
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    assert_int_equal(IoAllocateAdapterChannel(a, NULL, 2, on_channel, &c), STATUS_SUCCESS);
    ULONG l = len;
    IoMapTransfer(a, mdl, c.Base, va, &l, FALSE);
    KeLowerIrql(old);
    assert_int_equal(READ_REGISTER_ULONG(REG(ch, KMRIG_SYSDMA_MODE)), 1); /* device to memory */
    UCHAR sent[24];
    for (ULONG i = 0; i < len; i++)
        sent[i] = (UCHAR)(0xA0 + i);
    far_end_send(sent, len);
    KeStallExecutionProcessor(50); /* about 15 of the 24 character times */
    ULONG left = a->DmaOperations->ReadDmaCounter(a);
    assert_true(left > 0 && left < len);
    KeStallExecutionProcessor(40);
    assert_int_equal(a->DmaOperations->ReadDmaCounter(a), 0);
    assert_int_equal(READ_PORT_UCHAR(UART(KMRIG_UART_LSR)) & KMRIG_UART_LSR_DR, 0);
    for (ULONG i = 0; i < len; i++)
        assert_int_equal(va[i], 0xEE); /* still in the bounce buffer */
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    assert_true(IoFlushAdapterBuffers(a, mdl, c.Base, va, len, FALSE));
    IoFreeAdapterChannel(a);
    KeLowerIrql(old);
    for (ULONG i = 0; i < len; i++)
        assert_int_equal(va[i], 0xA0 + i);
    for (ULONG i = len; i < len + 8; i++)
        assert_int_equal(va[i], 0xEE); /* nothing past the transfer */
    IoFreeMdl(mdl);
    ExFreePoolWithTag(buf, 'tsET');
    PutDmaAdapter(a);
    kmrig_runtime_destroy(rt);
}

/* AutoInitialize into a common buffer (contiguous on the bus: no bounce, the device writes it
 * directly): the channel reloads at terminal count and ReadDmaCounter wraps. */
static void test_sim_system_dma_autoinitialize_wraps_the_counter(void **state)
{
    kmrig_runtime *rt = sim_rt(TRUE);
    uart_setup();
    volatile ULONG *ch = sysdma_ch0();
    ULONG n;
    PDMA_ADAPTER a = get_system_adapter(0, TRUE, &n);
    const ULONG ring = 8;
    PHYSICAL_ADDRESS la;
    PUCHAR cb = AllocateCommonBuffer(a, ring, &la, FALSE);
    assert_non_null(cb);
    assert_true(la.QuadPart < 0x100000000ll);
    PMDL mdl = IoAllocateMdl(cb, ring, FALSE, FALSE, NULL);
    MmBuildMdlForNonPagedPool(mdl);
    CHANNEL_CTX c = {0};
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    assert_int_equal(AllocateAdapterChannel(a, NULL, 1, on_channel, &c), STATUS_SUCCESS);
    ULONG l = ring;
    PHYSICAL_ADDRESS mapped = MapTransfer(a, mdl, c.Base, cb, &l, FALSE);
    KeLowerIrql(old);
    assert_int_equal(mapped.QuadPart, la.QuadPart); /* the common buffer itself */
    assert_int_equal(READ_REGISTER_ULONG(REG(ch, KMRIG_SYSDMA_MODE)),
                     1 | KMRIG_SYSDMA_MODE_AUTOINIT);
    UCHAR first[12], second[5];
    for (ULONG i = 0; i < 12; i++)
        first[i] = (UCHAR)(0x40 + i);
    for (ULONG i = 0; i < 5; i++)
        second[i] = (UCHAR)(0x60 + i);
    far_end_send(first, sizeof first);
    KeStallExecutionProcessor(50);
    /* 12 bytes into an 8-byte ring: 8..11 over 0..3, 4..7 still there; 4 to go to the next
     * terminal count. */
    assert_int_equal(a->DmaOperations->ReadDmaCounter(a), 4);
    for (ULONG i = 0; i < 4; i++)
        assert_int_equal(cb[i], 0x48 + i);
    for (ULONG i = 4; i < 8; i++)
        assert_int_equal(cb[i], 0x40 + i);
    assert_true(READ_REGISTER_ULONG(REG(ch, KMRIG_SYSDMA_STATUS)) & KMRIG_SYSDMA_STATUS_TC);
    assert_int_equal(READ_REGISTER_ULONG(REG(ch, KMRIG_SYSDMA_CTRL)) & KMRIG_SYSDMA_CTRL_MASK, 0);
    far_end_send(second, sizeof second);
    KeStallExecutionProcessor(30);
    assert_int_equal(a->DmaOperations->ReadDmaCounter(a), 7); /* wrapped again: 8 - 1 */
    assert_int_equal(cb[0], 0x64);
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    assert_true(FlushAdapterBuffers(a, mdl, c.Base, cb, ring, FALSE));
    FreeAdapterChannel(a);
    KeLowerIrql(old);
    /* Stopped: more bytes stay in the UART. */
    static const UCHAR late = 0x99;
    far_end_send(&late, 1);
    KeStallExecutionProcessor(10);
    assert_int_equal(uart_rx(), 0x99);
    assert_int_equal(cb[1], 0x49);
    IoFreeMdl(mdl);
    FreeCommonBuffer(a, ring, la, cb, FALSE);
    PutDmaAdapter(a);
    kmrig_runtime_destroy(rt);
}

static void map_transfer_without_the_channel(void *arg)
{
    sim_rt(TRUE);
    ULONG n;
    PDMA_ADAPTER a = get_system_adapter(0, FALSE, &n);
    static UCHAR x[16];
    PMDL mdl = IoAllocateMdl(x, sizeof x, FALSE, FALSE, NULL);
    MmBuildMdlForNonPagedPool(mdl);
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    ULONG l = sizeof x;
    MapTransfer(a, mdl, NULL, x, &l, TRUE);
}

static void map_transfer_twice(void *arg)
{
    sim_rt(TRUE);
    ULONG n;
    PDMA_ADAPTER a = get_system_adapter(0, FALSE, &n);
    static UCHAR x[16];
    PMDL mdl = IoAllocateMdl(x, sizeof x, FALSE, FALSE, NULL);
    MmBuildMdlForNonPagedPool(mdl);
    static CHANNEL_CTX c;
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    AllocateAdapterChannel(a, NULL, 2, on_channel, &c);
    ULONG l = sizeof x;
    MapTransfer(a, mdl, c.Base, x, &l, TRUE);
    MapTransfer(a, mdl, c.Base, x, &l, TRUE);
}

static void map_transfer_beyond_the_registers(void *arg)
{
    sim_rt(TRUE);
    ULONG n;
    PDMA_ADAPTER a = get_system_adapter(0, FALSE, &n);
    PUCHAR x = ExAllocatePoolWithTag(NonPagedPool, 3 * PAGE_SIZE, 'tsET');
    PMDL mdl = IoAllocateMdl(x, 3 * PAGE_SIZE, FALSE, FALSE, NULL);
    MmBuildMdlForNonPagedPool(mdl);
    static CHANNEL_CTX c;
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    AllocateAdapterChannel(a, NULL, 1, on_channel, &c);
    ULONG l = 3 * PAGE_SIZE;
    MapTransfer(a, mdl, c.Base, x, &l, TRUE);
}

static void test_sim_system_dma_misuse_is_caught_by_the_verifier(void **state)
{
    ULONG_PTR p[4];
    assert_int_equal(kmtest_bugcheck_of(map_transfer_without_the_channel, NULL, p),
                     DRIVER_VERIFIER_DETECTED_VIOLATION);
    assert_int_equal(p[0], KMRIG_VF_NOT_CHANNEL_OWNER);
    assert_int_equal(kmtest_bugcheck_of(map_transfer_twice, NULL, p),
                     DRIVER_VERIFIER_DETECTED_VIOLATION);
    assert_int_equal(p[0], KMRIG_VF_DMA_BAD_TRANSFER);
    assert_int_equal(kmtest_bugcheck_of(map_transfer_beyond_the_registers, NULL, p),
                     DRIVER_VERIFIER_DETECTED_VIOLATION);
    assert_int_equal(p[0], KMRIG_VF_BAD_MAP_REGISTERS);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_sim_dma0_copies_into_a_scatter_gather_list),
    cmocka_unit_test(test_sim_dma0_outside_its_mapping_is_caught_and_touches_nothing),
    cmocka_unit_test(test_sim_dma0_against_the_mapped_direction_is_refused),
    cmocka_unit_test(test_sim_dma0_fault_under_the_dma_verifier_is_a_bugcheck),
    cmocka_unit_test(test_sim_io_get_dma_adapter_for_a_system_dma_channel),
    cmocka_unit_test(test_sim_system_dma_memory_to_uart),
    cmocka_unit_test(test_sim_system_dma_uart_to_memory_through_the_bounce_buffer),
    cmocka_unit_test(test_sim_system_dma_autoinitialize_wraps_the_counter),
    cmocka_unit_test(test_sim_system_dma_misuse_is_caught_by_the_verifier),
};

KMTEST_MAIN(tests)

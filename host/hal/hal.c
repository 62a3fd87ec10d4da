/* HAL: the instance's target (a link), its clock as the kernel's time source, and the
 * component lifecycle. */
#define _GNU_SOURCE
#include "hal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static int HalpErrno(int rc)
{
    switch (rc) {
    case KMRIG_LINK_ENOENT:
        return -ENOENT;
    case KMRIG_LINK_ENOTBUILT:
        return -ENOTSUP;
    case KMRIG_LINK_EINVAL:
        return -EINVAL;
    case KMRIG_LINK_ENOMEM:
        return -ENOMEM;
    case KMRIG_LINK_EMISMATCH:
        return -EPROTO;
    default:
        return -EIO;
    }
}

static HALP_STATE *HalpAllocate(struct kmrig_runtime *rt)
{
    HALP_STATE *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->Runtime = rt;
    pthread_mutex_init(&h->Lock, NULL);
    pthread_rwlock_init(&h->ChainLock, NULL);
    pthread_mutex_init(&h->DmaLock, NULL);
    for (ULONG i = 0; i < HALP_MAX_LINES; i++) {
        h->Lines[i].Line = i;
        h->Lines[i].Vector = HALP_VECTOR_BASE + i;
        h->Lines[i].Irql = HalpLineIrql(i);
        InitializeListHead(&h->Lines[i].Chain);
    }
    return h;
}

int HalpOpenTarget(struct kmrig_runtime *rt, const char *uri)
{
    HALP_STATE *h = rt->Hal ? rt->Hal : HalpAllocate(rt);
    if (!h)
        return -ENOMEM;
    rt->Hal = h;
    char err[256];
    int rc = kmrig_link_open(uri, &h->Link, err, sizeof err);
    if (rc != KMRIG_LINK_OK) {
        KmLog(rt, KMRIG_LOG_ERROR, "%s", err);
        return HalpErrno(rc);
    }
    h->Info = *kmrig_link_get_info(h->Link);
    kmrig_link_set_dma_handler(h->Link, HalpDmaAccess, h);
    h->DeviceClock = h->Info.virtual_time != 0;
    KmLog(rt, KMRIG_LOG_INFO, "target %s: %s", uri, h->Info.description);
    return 0;
}

VOID HalpCloseTarget(struct kmrig_runtime *rt)
{
    HALP_STATE *h = rt->Hal;
    if (!h)
        return;
    kmrig_link_close(h->Link);
    unsigned n = atomic_load(&h->WindowCount);
    for (unsigned i = 0; i < n; i++)
        munmap(h->Windows[i].Reserved, h->Windows[i].ReservedSize);
    pthread_rwlock_destroy(&h->ChainLock);
    pthread_mutex_destroy(&h->DmaLock);
    free(h->Maps);
    pthread_mutex_destroy(&h->Lock);
    free(h);
    rt->Hal = NULL;
}

NTSTATUS HalpInitialize(struct kmrig_runtime *rt)
{
    if (!rt->Hal && !(rt->Hal = HalpAllocate(rt)))
        return STATUS_INSUFFICIENT_RESOURCES;
    return STATUS_SUCCESS;
}

/* Interrupts still connected when the runtime stops: a driver that unloaded without
 * IoDisconnectInterrupt. They are reported and disconnected (the ISR code may be gone). */
VOID HalpShutdown(struct kmrig_runtime *rt)
{
    HALP_STATE *h = rt->Hal;
    if (!h)
        return;
    for (ULONG l = 0; l < HALP_MAX_LINES; l++) {
        HALP_LINE *ln = &h->Lines[l];
        while (!IsListEmpty(&ln->Chain)) {
            PKINTERRUPT i = CONTAINING_RECORD(ln->Chain.Flink, KINTERRUPT, InterruptListEntry);
            KmLog(rt, KMRIG_LOG_ERROR,
                  "interrupt object %p (ISR %p, line %u) still connected at shutdown: the "
                  "driver did not call IoDisconnectInterrupt",
                  (void *)i, (void *)(ULONG_PTR)i->ServiceRoutine, (unsigned)l);
            IoDisconnectInterrupt(i);
        }
    }
    HalpDmaShutdown(h);
}

/* ---- the device clock ------------------------------------------------------------------- */

static uint64_t HalpClockNow(void *ctx)
{
    HALP_STATE *h = ctx;
    return kmrig_link_cycles_to_ns(h->Link, kmrig_link_now(h->Link));
}

/* Busy: run the model for ns, stopping early when an interrupt line changes. */
static uint64_t HalpClockBusy(void *ctx, uint64_t ns)
{
    HALP_STATE *h = ctx;
    if (!ns)
        return 0;
    uint64_t c0 = kmrig_link_now(h->Link);
    uint64_t t0 = kmrig_link_cycles_to_ns(h->Link, c0);
    uint64_t cycles = kmrig_link_ns_to_cycles(h->Link, t0 + ns) - c0;
    if (!cycles)
        cycles = 1;
    uint64_t done = kmrig_link_advance(h->Link, cycles, 1);
    HalpReportDmaFaults(h);
    HalpPollInterrupts(h->Runtime);
    uint64_t spent = kmrig_link_cycles_to_ns(h->Link, c0 + done) - t0;
    return spent ? spent : 1;
}

/* Idle: every processor is idle. Run the model to the deadline, or to the first interrupt,
 * or (no deadline) to the device's next event. Returns at once when a line already needs
 * service, and without moving time when nothing can ever happen (the kernel then reports a
 * deadlock). */
static uint64_t HalpClockIdle(void *ctx, uint64_t deadline)
{
    HALP_STATE *h = ctx;
    struct kmrig_runtime *rt = h->Runtime;
    if (HalpPollInterrupts(rt))
        return HalpClockNow(h);
    uint64_t c0 = kmrig_link_now(h->Link);
    uint64_t cycles;
    if (deadline == UINT64_MAX) {
        uint64_t next = kmrig_link_next_event(h->Link);
        if (next == UINT64_MAX)
            return HalpClockNow(h);
        cycles = next ? next : 1;
    } else {
        uint64_t target = kmrig_link_ns_to_cycles(h->Link, deadline);
        if (target <= c0)
            return HalpClockNow(h);
        cycles = target - c0;
    }
    kmrig_link_advance(h->Link, cycles, 1);
    HalpReportDmaFaults(h);
    HalpPollInterrupts(rt);
    return HalpClockNow(h);
}

const struct kmrig_clock_ops HalpDeviceClockOps = {
    .name = "device",
    .is_virtual = 1,
    .has_events = 1,
    .now_ns = HalpClockNow,
    .busy = HalpClockBusy,
    .idle = HalpClockIdle,
    .kick = NULL, /* idle() never blocks on the host */
};

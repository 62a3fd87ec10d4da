/* HAL: the instance's target (a link), its clock as the kernel's time source, and the
 * component lifecycle. */
#define _GNU_SOURCE
#include "hal.h"

#include "pnp.h"

#include <errno.h>
#include <stdio.h>
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
    pthread_mutex_init(&h->IrqLock, NULL);
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

/* ---- wall-time targets: events from the link's own thread --------------------------------- */

/* The link's messages (the stream engine's losses, retries, the link dropping). */
static void HalpLinkLog(void *ctx, int level, const char *msg)
{
    HALP_STATE *h = ctx;
    KmLog(h->Runtime, level <= 0 ? KMRIG_LOG_ERROR : (enum kmrig_log_level)level, "link: %s", msg);
}

/* PASSIVE_LEVEL, a system worker: every device of the root bus is surprise-removed. */
static VOID NTAPI HalpGoneWork(PVOID Context)
{
    HALP_STATE *h = Context;
    KmLog(h->Runtime, KMRIG_LOG_ERROR,
          "target link dropped: surprise-removing the devices of the root bus");
    IopPnpSurpriseRemoveRoot(h->Runtime);
    atomic_store(&h->GoneDone, TRUE);
}

static VOID NTAPI HalpGoneDpc(PKDPC Dpc, PVOID Context, PVOID A1, PVOID A2)
{
    HALP_STATE *h = Context;
    (void)Dpc;
    (void)A1;
    (void)A2;
    ExQueueWorkItem(&h->GoneWork, DelayedWorkQueue);
}

/* The gone vector's service (DIRQL, on a processor): as a hot-plug controller's interrupt, it
 * only queues the DPC. */
static void HalpGoneService(struct kmrig_runtime *rt, ULONG Vector, PVOID Context)
{
    HALP_STATE *h = Context;
    (void)rt;
    (void)Vector;
    KeInsertQueueDpc(&h->GoneDpc, NULL, NULL);
}

/* Links that dropped in this process (kmrig_rig_links_lost): a test harness fails the test that
 * was running, whatever the driver made of its failed accesses. */
static atomic_uint HalpLinksLost;
static char HalpLostDescription[160];
static pthread_mutex_t HalpLostLock = PTHREAD_MUTEX_INITIALIZER;

VOID HalpNoteLinkLost(HALP_STATE *h)
{
    if (atomic_exchange(&h->LinkLostNoted, TRUE))
        return;
    pthread_mutex_lock(&HalpLostLock);
    snprintf(HalpLostDescription, sizeof HalpLostDescription, "%s", h->Info.description);
    pthread_mutex_unlock(&HalpLostLock);
    atomic_fetch_add(&HalpLinksLost, 1);
}

unsigned kmrig_rig_links_lost(char *description, size_t n)
{
    if (description && n) {
        pthread_mutex_lock(&HalpLostLock);
        snprintf(description, n, "%s", HalpLostDescription);
        pthread_mutex_unlock(&HalpLostLock);
    }
    return atomic_load(&HalpLinksLost);
}

static void HalpRequestGone(HALP_STATE *h)
{
    if (atomic_load(&h->GoneVector) && !atomic_load(&h->GoneClosing) &&
        !atomic_exchange(&h->GoneQueued, TRUE))
        KiRequestInterrupt(h->Runtime, 0, HALP_GONE_VECTOR);
}

VOID HalpQuiesceLinkEvents(struct kmrig_runtime *rt)
{
    HALP_STATE *h = rt->Hal;
    if (!h || !h->Link)
        return;
    atomic_store(&h->GoneClosing, TRUE);
    /* returns once a notification in progress has finished (the link's event lock) */
    kmrig_link_set_event_handler(h->Link, NULL, NULL);
    if (!atomic_load(&h->GoneQueued))
        return;
    /* the removal was requested: its vector, DPC and work item run on this runtime's
     * processors and workers, which are all still up; wait (bounded) until it has run */
    for (int i = 0; i < 100000 && !atomic_load(&h->GoneDone); i++) {
        LARGE_INTEGER d;
        d.QuadPart = -1000; /* 100 us */
        KeDelayExecutionThread(KernelMode, FALSE, &d);
    }
    if (!atomic_load(&h->GoneDone))
        KmLog(rt, KMRIG_LOG_ERROR,
              "the surprise removal after the link dropped did not finish within 10 s; "
              "shutting down anyway");
}

/* From the link's notifier thread (no runtime thread, no lock held): an interrupt event
 * requests the pending lines' vectors at once, which wakes an idle processor (its DPC thread
 * runs the ISR), so nobody has to poll; the link's loss starts the surprise removal. */
static void HalpLinkEvent(void *ctx, struct kmrig_link *link, enum kmrig_link_event ev)
{
    HALP_STATE *h = ctx;
    (void)link;
    if (ev == KMRIG_LINK_EV_IRQ) {
        atomic_fetch_add(&h->LinkIrqEvents, 1);
        HalpPollInterrupts(h->Runtime);
    } else if (ev == KMRIG_LINK_EV_GONE && !atomic_exchange(&h->LinkGone, TRUE)) {
        HalpNoteLinkLost(h);
        KmLog(h->Runtime, KMRIG_LOG_ERROR,
              "target link dropped (%s): device accesses fail and read all ones, as from a "
              "surprise-removed device",
              h->Info.description);
        HalpRequestGone(h);
    }
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
    if (!h->DeviceClock) {
        KeInitializeDpc(&h->GoneDpc, HalpGoneDpc, h);
        ExInitializeWorkItem(&h->GoneWork, HalpGoneWork, h);
        kmrig_link_set_log_handler(h->Link, HalpLinkLog, h);
        kmrig_link_set_event_handler(h->Link, HalpLinkEvent, h);
    }
    KmLog(rt, KMRIG_LOG_INFO, "target %s: %s", uri, h->Info.description);
    return 0;
}

VOID HalpCloseTarget(struct kmrig_runtime *rt)
{
    HALP_STATE *h = rt->Hal;
    if (!h)
        return;
    if (h->Link) {
        kmrig_link_set_event_handler(h->Link, NULL, NULL); /* waits for a call in progress */
        kmrig_link_set_log_handler(h->Link, NULL, NULL);
    }
    if (atomic_load(&h->GoneVector))
        KiDisconnectVector(rt, HALP_GONE_VECTOR);
    kmrig_link_close(h->Link);
    unsigned n = atomic_load(&h->WindowCount);
    for (unsigned i = 0; i < n; i++)
        if (atomic_load(&h->Windows[i].ReservedSize))
            munmap((void *)atomic_load(&h->Windows[i].Reserved),
                   atomic_load(&h->Windows[i].ReservedSize));
    pthread_rwlock_destroy(&h->ChainLock);
    pthread_mutex_destroy(&h->DmaLock);
    free(h->Maps);
    pthread_mutex_destroy(&h->IrqLock);
    pthread_mutex_destroy(&h->Lock);
    free(h);
    rt->Hal = NULL;
}

NTSTATUS HalpInitialize(struct kmrig_runtime *rt)
{
    if (!rt->Hal && !(rt->Hal = HalpAllocate(rt)))
        return STATUS_INSUFFICIENT_RESOURCES;
    HALP_STATE *h = rt->Hal;
    rt->IrqReport = HalpIrqReport;
    if (h->Link && !h->DeviceClock) {
        KiConnectVector(rt, HALP_GONE_VECTOR, HalpLineIrql(HALP_MAX_LINES - 1), HalpGoneService, h);
        atomic_store(&h->GoneVector, TRUE);
        if (atomic_load(&h->LinkGone)) /* it dropped while the runtime started */
            HalpRequestGone(h);
    }
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

/*
 * hal.h - HAL internals: the instance's target (a link), the I/O windows that MmMapIoSpace
 * hands out, interrupt lines and their KINTERRUPT chains, and the device clock.
 *
 * Routing. A register pointer is a host address inside a PROT_NONE reservation that
 * MmMapIoSpace made (so a driver that dereferences it instead of calling READ_REGISTER_* faults
 * at once); the window table maps it back to a bus address. A port "address" is a cookie routed
 * by value (0..0xFFFF), never dereferenced.
 *
 * Interrupts. Line n of the target's interrupt unit is vector HALP_VECTOR_BASE + n at DIRQL
 * HalpLineIrql(n). After anything that can change device state (an access, an advance of the
 * device clock, a wall-time link's interrupt event) the HAL polls the link's pending lines and
 * requests the vector of every connected line that is pending, not in service and not already
 * requested. The vector's service routine (HalpInterruptService) runs the KINTERRUPT chain on
 * the processor; a latched (edge) line is EOIed before the ISRs run, so an edge during them is
 * kept. On a virtual-time target a line still pending after its service (a level line still
 * high, an edge latched during the ISRs) is requested again at the next poll, i.e. after the
 * DPCs and threads of that processor had their chance: DPCs are not starved (NT would present
 * it again as soon as IRQL drops below DIRQL; a device that interrupts faster than its ISR runs
 * would then hold the processor for good, and `kmrig bench` probes exactly that). On a
 * wall-time target, whose lines come by event, a level line is EOIed after its ISRs (the device
 * reports it again if it is still high) and the service polls the lines when it ends: an event
 * that came during the service was dropped, and nothing else would poll. A level line that no
 * ISR claims 1000 times in a row, or (virtual time) whose services end 1000 times in a row at
 * the same device time (nothing touches the device, so nothing can ever lower the line), is an
 * interrupt storm: bugcheck HARDWARE_INTERRUPT_STORM (0xF2).
 *
 * Races. A poll reads the lines without any lock (the link may take a round trip) and then
 * requests under IrqLock, against the line's Epoch: a poll whose reading may predate a service
 * (the service started or ran meanwhile, and may have EOIed the edge or lowered the level the
 * poll saw) requests nothing: a later poll reads the line afresh (on a wall-time target the
 * service's own, at its end). A
 * disconnect withdraws the vector's requests from every processor (KiDisconnectVector), so a
 * request that raced it does not stay behind for a vector nobody serves.
 */
#ifndef KMRIG_INTERNAL_HAL_H
#define KMRIG_INTERNAL_HAL_H

#include "rt.h"
#include <kmrig/link.h>

#define HALP_VECTOR_BASE 0x40u
#define HALP_MAX_LINES 32u
#define HALP_MAX_WINDOWS 1024u
#define HALP_STORM_UNCLAIMED 1000u
/* The HAL's own vector for a wall-time target's link loss: requested by the link's thread, its
 * service queues GoneDpc, which queues GoneWork (PASSIVE_LEVEL: the PnP manager surprise-removes
 * the root bus's devices). */
#define HALP_GONE_VECTOR (HALP_VECTOR_BASE + HALP_MAX_LINES)

typedef struct _KINTERRUPT {
    CSHORT Type;
    CSHORT Size;
    LIST_ENTRY InterruptListEntry;
    PKSERVICE_ROUTINE ServiceRoutine;
    PVOID ServiceContext;
    KSPIN_LOCK SpinLock;    /* used when the driver passed no lock */
    PKSPIN_LOCK ActualLock; /* the driver's lock or &SpinLock */
    ULONG Vector;
    KIRQL Irql;
    KIRQL SynchronizeIrql;
    BOOLEAN ShareVector;
    BOOLEAN FloatingSave;
    KINTERRUPT_MODE Mode;
    KAFFINITY Affinity;
    ULONG Line;
    struct kmrig_runtime *Runtime;
    ULONGLONG ServiceCount; /* times its ISR ran */
    ULONGLONG ClaimCount;   /* ... and returned TRUE */
} KINTERRUPT;

typedef struct _HALP_LINE {
    ULONG Line;
    ULONG Vector;
    KIRQL Irql;
    KINTERRUPT_MODE Mode;
    ULONG Processor;        /* where it is delivered */
    LIST_ENTRY Chain;       /* KINTERRUPTs (HALP_STATE.ChainLock) */
    ULONG Connected;        /* KINTERRUPTs in Chain */
    ULONG UnclaimedRun;     /* consecutive services no ISR claimed */
    ULONG AssertedRun;      /* consecutive services that ended at one device time (virtual time) */
    ULONGLONG LastEnd;      /* device cycles at the end of the last service (virtual time) */
    atomic_ullong Services; /* times the chain ran */
    ULONG Epoch;            /* HALP_STATE.IrqLock: odd while the chain runs; +2 per service */
} HALP_LINE;

/* One MmMapIoSpace window. Register accesses read the table without a lock: a slot is
 * rewritten (HALP_STATE.Lock held) only inside its sequence count (odd while it changes), and a
 * reader takes a copy that no rewrite overlapped (HalpWindowView). */
typedef struct _HALP_WINDOW {
    atomic_uint Seq;
    atomic_uintptr_t Va;       /* what MmMapIoSpace returned */
    atomic_size_t Length;      /* NumberOfBytes */
    atomic_ullong Bus;         /* bus (physical) address of Va */
    atomic_uintptr_t Reserved; /* the PROT_NONE reservation (page aligned) */
    atomic_size_t ReservedSize;
    atomic_bool Dead;    /* unmapped: touching it is a page fault */
    ULONGLONG DeadOrder; /* (HALP_STATE.Lock) when it was unmapped: the oldest is reused first */
} HALP_WINDOW;

typedef struct {
    ULONG_PTR Va, Lo, Hi; /* Lo..Hi: the reservation */
    SIZE_T Length;
    ULONGLONG Bus;
    BOOLEAN Dead;
} HALP_WINDOW_VIEW;

/* ---- DMA: the bus-address translation table (host memory as the device sees it) ----------
 * Bus addresses for host memory live in their own space (the device's DMA master port), from
 * HALP_DMA_BASE up, one unmapped guard page between ranges. A range is either a buffer (common
 * buffer, contiguous or noncached memory: mapped for device reads and writes while allocated) or
 * an adapter's map-register aperture (each register a page slot, mapped by MapTransfer /
 * GetScatterGatherList for one direction and unmapped by FlushAdapterBuffers /
 * PutScatterGatherList / FreeMapRegisters).
 *
 * IOMMU. When the link has dma_map (a device that masters host memory itself: pcie), every range
 * is also entered in the IOMMU at IOVA = its bus address, so the IOMMU lets the device reach what
 * this table allows and nothing else: a buffer for both directions while it is allocated, a run
 * of map registers for the transfer's direction from MapTransfer / GetScatterGatherList until
 * its flush or free (whole pages: the IOMMU maps pages, so the rest of a buffer's first and last
 * page is reachable too, as on NT with an IOMMU). Bus ranges are page aligned with a guard page
 * between them, so no IOVA page belongs to two ranges. Device DMA then does not come through
 * HalpDmaAccess; the link is never called with DmaLock held. */
#define HALP_DMA_BASE 0x10000000ull
#define HALP_DMA_END 0x100000000ull
#define HALP_DMA_READ 1u  /* the device may read (WriteToDevice) */
#define HALP_DMA_WRITE 2u /* the device may write */
#define HALP_MAX_MAP_REGISTERS 256u
#define HALP_SYSDMA_CHANNELS 2u /* channels of the reference system DMA controller */

typedef struct _HALP_MAPREG {
    PUCHAR HostPage; /* host page this register maps */
    ULONG Access;    /* HALP_DMA_*; 0: not mapped */
    ULONG RunLength; /* at the first register of an allocated run: its length */
    ULONG IommuRun;  /* at the first register of an IOMMU mapping: the pages it maps */
    BOOLEAN Allocated;
} HALP_MAPREG, *PHALP_MAPREG;

struct _HALP_ADAPTER;

typedef struct _HALP_BUSMAP {
    ULONGLONG Bus;
    SIZE_T Length;                 /* bytes of bus space (whole pages) */
    SIZE_T Bytes;                  /* what the caller asked for */
    PUCHAR Host;                   /* buffer: its host memory; NULL for a map-register aperture */
    struct _HALP_ADAPTER *Adapter; /* aperture: its adapter; buffer: the common buffer's adapter */
    UCHAR Kind;                    /* HALP_MAP_* */
    BOOLEAN Iommu;                 /* buffer: entered in the link's IOMMU (kmrig_link_dma_map) */
} HALP_BUSMAP;

#define HALP_MAP_CONTIGUOUS 1
#define HALP_MAP_NONCACHED 2
#define HALP_MAP_COMMON 3
#define HALP_MAP_APERTURE 4

typedef struct _HALP_STATE {
    struct kmrig_runtime *Runtime;
    struct kmrig_link *Link; /* NULL: no target */
    struct kmrig_link_info Info;
    BOOLEAN DeviceClock; /* the link's clock is the runtime's time base */
    /* Wall-time targets: the link reports interrupts and its loss by itself (HalpLinkEvent). */
    atomic_bool LinkGone;        /* KMRIG_LINK_EV_GONE came: accesses fail, devices go */
    atomic_bool GoneLogged;      /* the first failed access after it was logged */
    atomic_bool LinkLostNoted;   /* counted in the process's lost links (HalpNoteLinkLost) */
    atomic_bool GoneVector;      /* HALP_GONE_VECTOR is connected (HalpInitialize) */
    atomic_bool GoneQueued;      /* the removal was queued once */
    atomic_bool GoneDone;        /* ... and its work item has run */
    atomic_bool GoneClosing;     /* the runtime is being destroyed: no new removal */
    atomic_ullong LinkIrqEvents; /* KMRIG_LINK_EV_IRQ reports */
    KDPC GoneDpc;
    WORK_QUEUE_ITEM GoneWork;

    pthread_mutex_t Lock;       /* connect/disconnect, window table appends */
    pthread_rwlock_t ChainLock; /* KINTERRUPT chains: read while ISRs run */
    HALP_LINE Lines[HALP_MAX_LINES];
    /* A poll's requests against a service's start and a connect or disconnect (nothing else
     * is taken inside it but the dispatcher lock, by KiRequestInterrupt). */
    pthread_mutex_t IrqLock;
    atomic_uint ConnectedLines; /* lines with at least one KINTERRUPT, unmasked (IrqLock) */
    atomic_uint Requested;      /* lines whose vector is requested, not yet serviced (IrqLock) */

    /* MmMapIoSpace windows, live and unmapped. An unmapped one stays reserved (a stale pointer
     * is a page fault) until the table is full: then the one unmapped longest ago gives up its
     * reservation and slot to the next mapping. */
    HALP_WINDOW Windows[HALP_MAX_WINDOWS];
    atomic_uint WindowCount; /* slots in use (release; never shrinks) */
    ULONGLONG WindowDeaths;  /* (Lock) unmaps so far: DeadOrder */

    pthread_mutex_t DmaLock; /* the translation table and every map register */
    HALP_BUSMAP *Maps;       /* sorted by Bus */
    ULONG MapCount, MapCapacity;
    atomic_ullong DmaFaults;
    /* Faults seen inside the link (where nothing may call the link back, not even the log's
     * clock) wait here until HalpReportDmaFaults runs after the link call. DmaLock. */
    struct {
        ULONGLONG Bus, At;
        size_t Size;
        int Write;
        const char *Why;
    } PendingFaults[8];
    atomic_uint PendingFaultCount; /* peeked without the lock by HalpReportDmaFaults */
    ULONG UnreportedFaults;

    /* The system DMA controller (found in the enumeration ROM at the first system DMA
     * IoGetDmaAdapter) and its channels' adapters. Lock. */
    int SysdmaProbed;     /* 0 not yet, 1 found, -1 the target has none */
    ULONGLONG SysdmaBase; /* its register window (memory space) */
    struct _HALP_ADAPTER *SystemAdapters[HALP_SYSDMA_CHANNELS];

    atomic_ullong BusErrors; /* accesses that failed */
    atomic_ullong Polls;
} HALP_STATE;

/* Opens the target named in the configuration (before the kernel starts, so that its clock can
 * be the time base) and closes it (after the kernel stopped). */
int HalpOpenTarget(struct kmrig_runtime *rt, const char *uri);
VOID HalpCloseTarget(struct kmrig_runtime *rt);
/* Before the components shut down: no link event reaches the runtime any more, and a surprise
 * removal the link's loss queued has run (the PnP manager must not go while it runs). */
VOID HalpQuiesceLinkEvents(struct kmrig_runtime *rt);
/* The device clock as the kernel's time source. */
extern const struct kmrig_clock_ops HalpDeviceClockOps;

/* Requests the vectors of pending connected lines. Any thread, no lock held. TRUE when it
 * requested at least one. */
BOOLEAN HalpPollInterrupts(struct kmrig_runtime *rt);
/* The interrupt lines' report (kmrig_runtime_irq_report): any thread, even while the instance
 * is stuck; it waits at most a few hundred ms for a lock or the link. */
size_t HalpIrqReport(struct kmrig_runtime *rt, char *buf, size_t n);
/* A consistent copy of a window (any thread, no lock). */
VOID HalpWindowView(const HALP_WINDOW *w, HALP_WINDOW_VIEW *v);
/* The link dropped: counted once per instance for kmrig_rig_links_lost (any thread). */
VOID HalpNoteLinkLost(HALP_STATE *h);

/* A DMA adapter: a bus master, or a system DMA channel (System). The DMA_ADAPTER comes first:
 * drivers get its address. */
#define HALP_ADAPTER_MAGIC 0x41444150u /* 'PADA' */

typedef struct _HALP_CHANNEL_WAIT {
    LIST_ENTRY Entry;
    PDEVICE_OBJECT Device;
    ULONG Registers;
    PDRIVER_CONTROL Routine;
    PVOID Context;
} HALP_CHANNEL_WAIT;

typedef struct _HALP_ADAPTER {
    DMA_ADAPTER Dma;
    ULONG Magic;
    struct kmrig_runtime *Runtime;
    DEVICE_DESCRIPTION Desc;
    PDEVICE_OBJECT Device;
    ULONG MapRegisters; /* what IoGetDmaAdapter granted */
    ULONGLONG Aperture; /* bus address of register 0 */
    HALP_MAPREG *Regs;  /* contents under HALP_STATE.DmaLock */
    KSPIN_LOCK Lock;    /* channel, wait queue, register allocation */
    LIST_ENTRY Waiters; /* HALP_CHANNEL_WAIT */
    BOOLEAN ChannelOwned;
    BOOLEAN Granting;       /* a grant loop is running (no recursion) */
    PHALP_MAPREG OwnerRegs; /* registers kept with the channel (KeepObject) */
    ULONG OwnerCount;
    LONG CommonBuffers;
    LONG ScatterGatherLists;
    /* System (slave) DMA: the adapter is a channel of the system DMA controller, one adapter
     * per channel shared by every IoGetDmaAdapter for it. Its map registers stand for pages of a
     * bounce buffer (contiguous on the bus) unless the transfer's buffer already is. */
    BOOLEAN System;
    ULONG Channel;
    ULONGLONG ChannelRegs; /* bus (memory space) address of the channel's registers */
    LONG References;       /* IoGetDmaAdapter calls not yet matched by PutDmaAdapter */
    PUCHAR Bounce;         /* MapRegisters pages */
    struct {               /* what MapTransfer programmed, until FlushAdapterBuffers */
        BOOLEAN Active, Bounced, ToDevice;
        PUCHAR Va;
        ULONG Length;
        PHALP_MAPREG Regs;
        ULONG Count;
    } Xfer;
} HALP_ADAPTER;

/* The link's DMA handler: a device access to host memory at a bus address. */
int HalpDmaAccess(void *ctx, int write, uint64_t bus, void *data, size_t size);
/* Enters / removes a range of the translation table (DmaLock taken inside). */
NTSTATUS HalpMapBus(HALP_STATE *h, SIZE_T Bytes, PUCHAR Host, UCHAR Kind,
                    struct _HALP_ADAPTER *Adapter, ULONGLONG Highest, PULONGLONG Bus);
BOOLEAN HalpUnmapBus(HALP_STATE *h, ULONGLONG Bus, PUCHAR Host, UCHAR Kind, SIZE_T Bytes);
PVOID HalpAllocateDmaMemory(HALP_STATE *h, SIZE_T Bytes, UCHAR Kind, struct _HALP_ADAPTER *A,
                            ULONGLONG Highest, PULONGLONG Bus);
VOID HalpDmaShutdown(HALP_STATE *h);
/* Logs the DMA faults the last link calls produced (and bugchecks under the DMA verifier). Call
 * with no lock held, after every link call that can run the device. */
VOID HalpReportDmaFaults(HALP_STATE *h);

static inline KIRQL HalpLineIrql(ULONG Line)
{
    return (KIRQL)(4 + (Line < 7 ? Line : 7)); /* DIRQLs 4..11, below SYNCH_LEVEL */
}

#endif

/*
 * kmrig/link.h - how host accesses reach a device: the link interface and its transports.
 *
 * A link is one open connection to one target (a Verilator model in process, a board over USB,
 * a loopback for tests). The runtime's HAL sends every port/register access, interrupt-unit
 * operation and (for virtual-time targets) every advance of the clock through it.
 *
 * Two layers:
 *   - the core (kmrig_link_* functions below) validates arguments, serialises calls with the
 *     link's lock, converts time, counts statistics, and owns the instance memory;
 *   - a transport implements struct kmrig_link_ops. The registry (kmrig_link_transports())
 *     lists every transport this build knows, alphabetically, including those compiled out,
 *     so that opening one says why it is not available instead of "unknown".
 *
 * Link profiles: a virtual-time target (sim, loop) has no link timing of its own. The URI
 * argument "profile=NAME" (ideal, pcie, ft245, uart; e.g. "sim:profile=ft245",
 * "loop:profile=uart") puts the core's timing model of that link between the caller and the
 * transport (docs/protocol.md, section 12): a read returns when its response would arrive, a
 * write is posted and reaches the device when its frame would, the host sees an interrupt line
 * when its EVT_IRQ frame would arrive, and DMA requests (kmrig_link_dma_at) take the link's
 * latency and bandwidth with up to 8 in flight. Everything is in the device's clock, which the
 * core runs meanwhile; "ideal" (the default) adds nothing.
 *
 * Threading: the core holds the link's lock around every hook, so a transport never sees two
 * calls at once. The DMA handler (kmrig_link_set_dma_handler) is called from inside a hook, with
 * the lock held, or from a transport's own thread through kmrig_link_dma_async (without it); it
 * must not call back into the link. Calls of the handler never overlap (the core's DMA lock).
 *
 * Plain C (no NT types, no wchar_t): usable from the runtime, from tools and from C++.
 */
#ifndef KMRIG_LINK_H
#define KMRIG_LINK_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Return codes: 0 or one of these. Each stays distinct through the layers (a timeout is never
 * reported as a bus error). */
#define KMRIG_LINK_OK 0
#define KMRIG_LINK_EINVAL (-1)   /* bad argument (size, alignment, port > 0xFFFF, line) */
#define KMRIG_LINK_EBUS (-2)     /* the bus cycle ended with an error (nothing decoded it) */
#define KMRIG_LINK_ETIMEOUT (-3) /* the device did not answer in time */
#define KMRIG_LINK_ENOMEM (-4)
#define KMRIG_LINK_ENOTSUP (-5)    /* the transport cannot do this */
#define KMRIG_LINK_EIO (-6)        /* the transport failed (file, USB, socket) */
#define KMRIG_LINK_ENOTBUILT (-7)  /* the transport exists but this build lacks it */
#define KMRIG_LINK_ENOENT (-8)     /* no transport of that name */
#define KMRIG_LINK_EGONE (-9)      /* the link dropped; reopen it */
#define KMRIG_LINK_EMISMATCH (-10) /* the gateware does not match this host (see the log) */

/* Address spaces of a bus access. */
#define KMRIG_SPACE_MEM 0u
#define KMRIG_SPACE_IO 1u

/* Interrupt-unit operations (kmrig_link_irq_control). */
enum kmrig_irq_op {
    KMRIG_IRQ_MASK = 0,   /* hide the line (it stays latched) */
    KMRIG_IRQ_UNMASK = 1, /* deliver the line */
    KMRIG_IRQ_LEVEL = 2,  /* level-sensitive: pending while the input is high */
    KMRIG_IRQ_EDGE = 3,   /* rising edge, latched until EOI */
    KMRIG_IRQ_EOI = 4,    /* end of interrupt: clear the line's latched edge */
};

/* What a target is; filled by the transport's open(). */
struct kmrig_link_info {
    uint64_t clock_hz;    /* device clock (timestamps count it) */
    unsigned irq_lines;   /* lines of the interrupt unit (at most 32) */
    uint32_t soc_id;      /* SoC identification (sysid ID) */
    uint32_t soc_version; /* SoC / gateware version */
    int virtual_time;     /* nonzero: the target's clock is the time base and only moves
                             through kmrig_link_advance() and accesses (a model) */
    char description[96]; /* for logs: "Verilator model kmrig_soc 1.0.0 @ 50 MHz" */
};

struct kmrig_link;

/* A device-initiated DMA access to host memory at a bus address. write: nonzero when the device
 * writes (data holds size bytes to store), zero when it reads (store size bytes in data).
 * Returns 0, or KMRIG_LINK_EBUS when the range is not mapped for DMA (the device sees a bus
 * error; no host memory is touched). Called with the link's lock held. */
typedef int (*kmrig_link_dma_fn)(void *ctx, int write, uint64_t bus_addr, void *data, size_t size);

/* The interrupt unit's state (bit n = line n), as IRQ_QUERY_RSP carries it. */
struct kmrig_irq_state {
    uint32_t pending; /* latched (edge) or high (level) */
    uint32_t mask;    /* 1 = masked */
    uint32_t mode;    /* 1 = edge */
    uint32_t raw;     /* input levels */
    uint32_t active;  /* what the host side of the link has as pending and unmasked now */
    uint64_t ts;      /* device time of the answer (cycles) */
};

/* The transport interface. Hooks marked optional may be NULL.
 * Lifecycle: close() is called if and only if open() succeeded. The core allocates priv_size
 * zeroed bytes for the transport's state before open() (kmrig_link_priv()).
 * Every hook is called with the link's lock held and returns 0 or a KMRIG_LINK_E* code. */
struct kmrig_link_ops {
    const char *name;    /* URI scheme, e.g. "sim" */
    const char *summary; /* one line for `kmrig info` and error messages */
    size_t priv_size;
    const char *usage; /* the URI arguments open() accepts, for error messages ("" for none) */
    /* NULL when this build lacks the transport: then `missing` says why. */
    const char *missing;

    /* Required. args: the URI after "name:" ("" when none). Fills *info. */
    int (*open)(struct kmrig_link *link, const char *args, struct kmrig_link_info *info);
    /* Required. */
    void (*close)(struct kmrig_link *link);

    /* Required. One naturally aligned bus access of 1, 2 or 4 bytes, to completion. *ts gets the
     * device timestamp (cycles) at completion. A read stores the value in *value (bit 0 = the
     * byte at addr). */
    int (*read)(struct kmrig_link *link, unsigned space, uint64_t addr, unsigned size,
                uint32_t *value, uint64_t *ts);
    int (*write)(struct kmrig_link *link, unsigned space, uint64_t addr, unsigned size,
                 uint32_t value, uint64_t *ts);

    /* Required. Lines pending and unmasked now (bit n = line n). */
    int (*irq_pending)(struct kmrig_link *link, uint32_t *lines);
    /* Required. One enum kmrig_irq_op on one line. */
    int (*irq_control)(struct kmrig_link *link, unsigned line, enum kmrig_irq_op op);
    /* Optional. Device timestamp (cycles) of the line's last rising edge. */
    int (*irq_timestamp)(struct kmrig_link *link, unsigned line, uint64_t *ts);
    /* Optional. The interrupt unit's own state (IRQ_QUERY, docs/protocol.md section 7), for
     * diagnosis: it may cost a round trip, and on a virtual-time target it must not move
     * device time. */
    int (*irq_query)(struct kmrig_link *link, struct kmrig_irq_state *state);

    /* Required for virtual_time targets, else NULL. Device time in cycles. */
    uint64_t (*now)(struct kmrig_link *link);
    /* Required for virtual_time targets. Advances up to `cycles`; with stop_on_irq, stops as
     * soon as the pending-and-unmasked line set changes. Returns the cycles advanced. */
    uint64_t (*advance)(struct kmrig_link *link, uint64_t cycles, int stop_on_irq);
    /* Optional (virtual_time). Cycles until the device's next internal event (a timer expiry,
     * a character shifted out), or UINT64_MAX when nothing will ever change by itself. */
    uint64_t (*next_event)(struct kmrig_link *link);

    /* Optional. A locked read-modify-write in one request (an RMW frame); without it the core
     * does read then write under its lock. Semantics as kmrig_link_rmw. */
    int (*rmw)(struct kmrig_link *link, unsigned space, uint64_t addr, unsigned size, uint32_t mask,
               uint32_t value, uint32_t *old, uint64_t *ts);
    /* Optional. Targets whose device masters host memory on its own (PCIe behind an IOMMU):
     * make [va, va + len) reachable by the device at bus address `bus` (va, len and bus are
     * multiples of KMRIG_LINK_DMA_PAGE), for device reads (dir bit 0, KMRIG_DMA_TO_DEVICE)
     * and/or device writes (bit 1, KMRIG_DMA_FROM_DEVICE). Without these hooks the device's
     * DMA comes through kmrig_link_dma() and the HAL's handler. */
    int (*dma_map)(struct kmrig_link *link, void *va, size_t len, uint64_t bus, unsigned dir);
    int (*dma_unmap)(struct kmrig_link *link, uint64_t bus, size_t len);
    /* Optional. Resets the target's logic (a board's reset line, the model's reset) and waits
     * until it answers again; interrupt-unit state and device registers are back to reset. */
    int (*reset)(struct kmrig_link *link);
};

#define KMRIG_LINK_DMA_PAGE 4096u
#define KMRIG_DMA_TO_DEVICE 1u   /* the device reads the host memory */
#define KMRIG_DMA_FROM_DEVICE 2u /* the device writes the host memory */

/* Asynchronous events of a link (kmrig_link_set_event_handler). */
enum kmrig_link_event {
    /* The set of pending interrupt lines may have changed (a wall-time target's interrupt
     * event arrived): call kmrig_link_irq_pending. */
    KMRIG_LINK_EV_IRQ = 1,
    /* The link dropped (cable pulled, board gone, connection lost). From now on every call
     * fails with KMRIG_LINK_EGONE at once, and pending calls return it instead of waiting. */
    KMRIG_LINK_EV_GONE = 2,
};
typedef void (*kmrig_link_event_fn)(void *ctx, struct kmrig_link *link, enum kmrig_link_event ev);

/* Statistics kept by the core. */
struct kmrig_link_stats {
    uint64_t reads, writes;   /* accesses issued */
    uint64_t errors;          /* accesses that failed (any code) */
    uint64_t irq_ops;         /* irq_control calls */
    uint64_t advanced_cycles; /* cycles moved by kmrig_link_advance */
    uint64_t dma_reads, dma_writes, dma_faults;
    /* With a link profile: DMA requests it timed (kmrig_link_dma_at, kmrig_link_dma_time), their
     * payload bytes, and the bytes their frames took on the link per direction (0 host to device,
     * 1 device to host; headers, CRC, PCIe TLP overhead and FT245 status bytes included). */
    uint64_t dma_requests, dma_payload_bytes, dma_link_bytes[2];
};

/* Opens a target by URI: "sim", "sim:ARGS", "loop", "null", ... Returns 0 and sets *out, or a
 * KMRIG_LINK_E* code; *err (if not NULL, n bytes) receives a sentence saying what went wrong
 * and what to do. */
int kmrig_link_open(const char *uri, struct kmrig_link **out, char *err, size_t n);
/* Closes the link and frees it. NULL is ok. */
void kmrig_link_close(struct kmrig_link *link);

const struct kmrig_link_info *kmrig_link_get_info(const struct kmrig_link *link);
const char *kmrig_link_name(const struct kmrig_link *link);
void kmrig_link_get_stats(struct kmrig_link *link, struct kmrig_link_stats *stats);
const char *kmrig_link_strerror(int code);

/* Bus accesses (validated: size 1/2/4, aligned, I/O ports <= 0xFFFF). ts may be NULL. */
int kmrig_link_read(struct kmrig_link *link, unsigned space, uint64_t addr, unsigned size,
                    uint32_t *value, uint64_t *ts);
int kmrig_link_write(struct kmrig_link *link, unsigned space, uint64_t addr, unsigned size,
                     uint32_t value, uint64_t *ts);

int kmrig_link_irq_pending(struct kmrig_link *link, uint32_t *lines);
int kmrig_link_irq_control(struct kmrig_link *link, unsigned line, enum kmrig_irq_op op);
int kmrig_link_irq_timestamp(struct kmrig_link *link, unsigned line, uint64_t *ts);
/* The interrupt unit's state as the device has it, for diagnosis (a hang report): any thread;
 * it waits at most 500 ms for a link busy with another call (KMRIG_LINK_ETIMEOUT then).
 * KMRIG_LINK_ENOTSUP when the target cannot tell. */
int kmrig_link_irq_query(struct kmrig_link *link, struct kmrig_irq_state *state);
/* The host has serviced the event that reported a line (docs/protocol.md, section 7: the level
 * flow's EOI after the ISR). With a link profile the line is hidden until the device reports it
 * again and an EOI goes to the device (posted), which reports the line again if it is still
 * pending; without one (ideal) the host sees the lines' live state and this does nothing. */
void kmrig_link_irq_ack(struct kmrig_link *link, unsigned line);

/* A locked read-modify-write (RMW frame): reads the old value into *old and, if mask is not 0,
 * writes (old & ~mask) | (value & mask) in the same locked bus cycle. A failed read skips the
 * write. Checked as kmrig_link_read. With a link profile it costs one round trip. */
int kmrig_link_rmw(struct kmrig_link *link, unsigned space, uint64_t addr, unsigned size,
                   uint32_t mask, uint32_t value, uint32_t *old, uint64_t *ts);

/* The URI name of the link's profile: "ideal", "pcie", "ft245" or "uart". */
const char *kmrig_link_profile_name(const struct kmrig_link *link);

/* Virtual-time targets: device time in cycles and in ns (cycles * 1e9 / clock_hz, rounded
 * down), advancing, and the next internal event. On other targets now() is 0 and advance()
 * returns KMRIG_LINK_ENOTSUP through *advanced = 0. */
uint64_t kmrig_link_now(struct kmrig_link *link);
uint64_t kmrig_link_cycles_to_ns(const struct kmrig_link *link, uint64_t cycles);
/* The least number of cycles whose duration is at least ns. */
uint64_t kmrig_link_ns_to_cycles(const struct kmrig_link *link, uint64_t ns);
uint64_t kmrig_link_advance(struct kmrig_link *link, uint64_t cycles, int stop_on_irq);
uint64_t kmrig_link_next_event(struct kmrig_link *link);

/* The handler for device-initiated DMA; NULL refuses every DMA access (bus error). */
void kmrig_link_set_dma_handler(struct kmrig_link *link, kmrig_link_dma_fn fn, void *ctx);

/* For transports: their private state, and the DMA entry they call when the device masters
 * the bus (counts, logs faults, and calls the handler). */
void *kmrig_link_priv(struct kmrig_link *link);
int kmrig_link_dma(struct kmrig_link *link, int write, uint64_t bus_addr, void *data, size_t size);
/* The same for a DMA request that the device issues at cycle `issue` (at or after now; a DMA
 * engine that queues several requests passes each one's issue cycle). *done receives the cycle
 * at which the request is done for the peripheral: with a link profile, a read when its data
 * arrives, a write (posted) when it could be issued (a free tag); without one, `issue`. The
 * data moves at once; only time is modelled. A transport holds its DMA master until *done. */
int kmrig_link_dma_at(struct kmrig_link *link, int write, uint64_t bus_addr, void *data,
                      size_t size, uint64_t issue, uint64_t *done);
/* For transports that move a device's DMA data word by word (kmrig_link_dma, which times each
 * word as its own request) but present the device's sequential words to the profile as bursts
 * (link_sim.c): times one request of `size` bytes (at most KMRIG_PROTO_MAX_BURST) issued at
 * cycle `issue`, as kmrig_link_dma_at would, and returns its done cycle; moves no data and calls
 * no handler. Without a profile it returns `issue`. Called with the link's lock held (from a
 * hook). */
uint64_t kmrig_link_dma_time(struct kmrig_link *link, int write, size_t size, uint64_t issue);
/* kmrig_link_dma without timing (the transport times the burst the access belongs to with
 * kmrig_link_dma_time). */
int kmrig_link_dma_untimed(struct kmrig_link *link, int write, uint64_t bus_addr, void *data,
                           size_t size);
/* Only from inside the DMA handler: the issue cycle of the access being served. */
uint64_t kmrig_link_dma_cycle(const struct kmrig_link *link);

/* The handler for asynchronous events (NULL: none). It is called from the transport's own
 * thread, without the link's lock held; it may call kmrig_link_* functions. */
void kmrig_link_set_event_handler(struct kmrig_link *link, kmrig_link_event_fn fn, void *ctx);
/* For transports: report an event. Callable from any thread that does not hold the link's lock
 * (a transport's reader thread, not a hook). KMRIG_LINK_EV_GONE also marks the link gone. */
void kmrig_link_notify(struct kmrig_link *link, enum kmrig_link_event ev);
/* Nonzero once the link dropped (KMRIG_LINK_EV_GONE). */
int kmrig_link_gone(const struct kmrig_link *link);

/* Messages of a link's transport while it runs (a lost posted write, a retry, the link
 * dropping): level is 0 error, 1 warning, 2 info, 3 debug. Called from any thread (the
 * transport's reader too), possibly with the link's lock held: fn must not call into the link.
 * NULL: messages are dropped. */
typedef void (*kmrig_link_log_fn)(void *ctx, int level, const char *msg);
void kmrig_link_set_log_handler(struct kmrig_link *link, kmrig_link_log_fn fn, void *ctx);
/* For transports: a message for the log handler (printf format). */
void kmrig_link_log(struct kmrig_link *link, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* For transports, in open(): the sentence kmrig_link_open() returns in its err buffer when
 * open() fails (what went wrong and what to do, e.g. what to flash). */
void kmrig_link_set_open_error(struct kmrig_link *link, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* For transports with a thread of their own (the stream engine's reader): kmrig_link_dma for a
 * caller that does NOT hold the link's lock. Serialised with the other DMA entries by the core's
 * DMA lock (never the link's lock, so a hook waiting for the device does not block it); the
 * handler is called as from kmrig_link_dma. Not for virtual-time targets (no timing). */
int kmrig_link_dma_async(struct kmrig_link *link, int write, uint64_t bus_addr, void *data,
                         size_t size);

/* DMA windows for targets that master host memory directly (the dma_map hook): returns
 * KMRIG_LINK_ENOTSUP when the transport has no such hook (then device DMA goes through the
 * DMA handler), KMRIG_LINK_EINVAL when va, len or bus is not page aligned. */
int kmrig_link_dma_map(struct kmrig_link *link, void *va, size_t len, uint64_t bus, unsigned dir);
int kmrig_link_dma_unmap(struct kmrig_link *link, uint64_t bus, size_t len);
/* Resets the target (the reset hook): KMRIG_LINK_ENOTSUP when it cannot. */
int kmrig_link_reset(struct kmrig_link *link);

/* The registry of transports, alphabetical: stores up to max entries in out and returns how
 * many there are. An entry whose `missing` is set is not available in this program. */
size_t kmrig_link_transports(const struct kmrig_link_ops **out, size_t max);

#ifdef __cplusplus
}
#endif

#endif

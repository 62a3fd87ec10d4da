/*
 * kmrig/runtime.h - create and destroy a runtime instance (harness-facing, snake_case).
 *
 * A runtime instance is one emulated NT machine: N processors, a clock, pools, objects. All its
 * state lives in the instance; two instances in one process share nothing. The thread that creates
 * an instance is attached to it: it runs as a system thread at PASSIVE_LEVEL on processor 0 and
 * may call any routine until it calls kmrig_runtime_destroy() (or kmrig_runtime_detach()).
 */
#ifndef KMRIG_RUNTIME_H
#define KMRIG_RUNTIME_H

#include <stdint.h>
#include <stdarg.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kmrig_runtime kmrig_runtime;

/* Time sources. The runtime reads time only through these hooks.
 *   now_ns   required. Monotonic time since the instance started, in nanoseconds.
 *   busy     required. The calling processor is busy for up to ns (a stall, the cost of a time
 *            query or of an access). Virtual sources advance their clock (and the device model);
 *            the wall source spins. Returns the ns actually consumed: less than asked only when a
 *            device event (an interrupt) happened first, and at least 1 when ns > 0. Called with
 *            no runtime lock held.
 *   idle     required. Every emulated processor is idle: wait until deadline_ns (UINT64_MAX: no
 *            timer pending) or until kick() is called or the source itself has an event (a device
 *            interrupt), whichever is first. Returns the new now_ns. Called from the clock thread
 *            with no runtime lock held.
 *   kick     optional. Ends a pending idle() early (another thread has made work).
 *   is_virtual  nonzero when time only advances through busy()/idle() (deterministic).
 *   has_events  nonzero when idle() can end before its deadline because of a device event (a
 *            model or a link); zero for a pure clock, so that "every thread waits and no timer is
 *            set" is reported as a deadlock at once.
 * Every hook takes the ctx given with the ops. */
struct kmrig_clock_ops {
    const char *name;
    int is_virtual;
    int has_events;
    uint64_t (*now_ns)(void *ctx);
    uint64_t (*busy)(void *ctx, uint64_t ns);
    uint64_t (*idle)(void *ctx, uint64_t deadline_ns);
    void (*kick)(void *ctx);
};

enum kmrig_time_mode {
    KMRIG_TIME_VIRTUAL = 0, /* default: simulated time, deterministic with one processor */
    KMRIG_TIME_WALL = 1,    /* host monotonic clock */
};

enum kmrig_log_level {
    KMRIG_LOG_ERROR = 0,
    KMRIG_LOG_WARN = 1,
    KMRIG_LOG_INFO = 2,
    KMRIG_LOG_DEBUG = 3,
    KMRIG_LOG_IO = 4, /* every device access */
};

/* Verifier checks (KMRIG_VERIFY_DEFAULT is on in tests and by default). */
enum {
    KMRIG_VERIFY_IRQL = 1u << 0,  /* routine called above its documented IRQL */
    KMRIG_VERIFY_LOCKS = 1u << 1, /* releasing a spin lock / mutex not held */
    KMRIG_VERIFY_POOL = 1u << 2,  /* double free, wrong tag, leaks by tag at unload */
    KMRIG_VERIFY_WAITS = 1u << 3, /* nonzero-timeout wait at DISPATCH_LEVEL */
    KMRIG_VERIFY_IO = 1u << 4,    /* IRP rules (I/O manager) */
    KMRIG_VERIFY_DMA = 1u << 5,   /* device DMA outside a mapping */
    KMRIG_VERIFY_DEFAULT = 0x3f,
};

typedef void (*kmrig_log_fn)(void *ctx, enum kmrig_log_level level, const char *msg);

typedef struct kmrig_config {
    unsigned processors; /* 0: KMRIG_PROCESSORS_DEFAULT (1); at most 64 */
    enum kmrig_time_mode time_mode;
    const char *target; /* the device target's URI ("sim", "sim:waves=x.fst", "loop", ...; see
                           kmrig/link.h), or NULL for none. A virtual-time target (the model)
                           becomes the time source unless `clock` is set. */
    const struct kmrig_clock_ops *clock; /* custom source (a device model); overrides time_mode */
    void *clock_ctx;
    int64_t epoch;               /* system time at start, NT units (100 ns since 1601-01-01 UTC);
                                    0: 2024-01-01T00:00:00Z. Fixed per run so dates repeat. */
    int32_t tz_bias_minutes;     /* UTC - local, in minutes (as the Windows TIME_ZONE bias) */
    uint64_t quantum_ns;         /* preemption quantum of a PASSIVE thread; 0: 10 ms */
    uint64_t time_budget_ns;     /* simulated time after which the run fails; 0: none */
    uint64_t time_query_cost_ns; /* virtual time charged per time query; 0: 50 ns */
    unsigned verify;             /* KMRIG_VERIFY_* flags; use KMRIG_VERIFY_DEFAULT */
    int verify_off;              /* nonzero: verifier fully off (benchmarks) */
    enum kmrig_log_level log_level;
    kmrig_log_fn log_fn; /* NULL: stderr */
    void *log_ctx;
    const char *trace_path;   /* event trace written here at destroy (kmrig/trace.h); NULL: off */
    unsigned trace_events;    /* events per processor buffer; 0: KMRIG_TRACE_EVENTS_DEFAULT */
    const char *sandbox_root; /* host directory that \??\C:\ (and \SystemRoot, C:\Windows) map to
                                 for ZwCreateFile; NULL: host files are refused
                                 (STATUS_ACCESS_DENIED). Opened once at runtime creation; the
                                 string need not outlive kmrig_runtime_create. See docs/files.md. */
} kmrig_config;

/* Fills cfg with the defaults (virtual time, verifier on). */
void kmrig_config_init(kmrig_config *cfg);

/* Creates an instance and attaches the calling thread to it (see above). Returns 0 or a negative
 * errno value. */
int kmrig_runtime_create(const kmrig_config *cfg, kmrig_runtime **out);

/* Stops every runtime thread, checks for leaks (verifier) and frees the instance. Call from the
 * attached thread. */
void kmrig_runtime_destroy(kmrig_runtime *rt);

/* The calling thread leaves / rejoins the instance. While the creating thread is detached the
 * virtual clock does not advance (other runtime threads still run). */
void kmrig_runtime_detach(kmrig_runtime *rt);
void kmrig_runtime_attach(kmrig_runtime *rt);

/* The instance the calling thread is attached to, or NULL. */
kmrig_runtime *kmrig_runtime_current(void);

/* Time as the instance sees it (ns since start). */
uint64_t kmrig_runtime_now_ns(kmrig_runtime *rt);

/* Runs the instance until every runtime thread is idle and no DPC, timer or interrupt is due
 * before now + ns of simulated time; the attached thread waits at PASSIVE meanwhile. */
void kmrig_runtime_run_for(kmrig_runtime *rt, uint64_t ns);

/* A report of the instance's interrupt lines, for a test that waited in vain for an interrupt:
 * per line the driver connected, what the host did (services, requested, in service) and, where
 * the target can tell (a board, sim:fidelity=stream, loop), the device's own view of the line
 * (input, pending, mask, mode) with a diagnosis such as a lost edge or a masked line. Written to
 * buf (n bytes, NUL-terminated, cut short if needed); returns the length it needed. Any thread,
 * even while the instance is stuck: it waits at most about a second for locks and the link. */
size_t kmrig_runtime_irq_report(kmrig_runtime *rt, char *buf, size_t n);

/* The interrupt report of every live instance of this process, and its threads with what each
 * waits for, written to fd. `kmrig run`
 * asks a test for it (KMRIG_HANG_REPORT_ENV, below) before it kills it at --timeout, so the
 * hang's report says what the interrupt lines were doing. */
void kmrig_runtime_report_all(int fd);

/* Log through the instance (library code never prints to stdout). */
void kmrig_log(kmrig_runtime *rt, enum kmrig_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Bugcheck codes of kmrig's own (outside the NT range). */
#define KMRIG_BUGCHECK_DEADLOCK 0x4B4D0001u    /* every thread waits, nothing can wake one */
#define KMRIG_BUGCHECK_TIME_BUDGET 0x4B4D0002u /* the simulated-time budget ran out */
#define KMRIG_BUGCHECK_HARNESS 0x4B4D0003u     /* the harness API was misused */

/* Parameter 1 of DRIVER_VERIFIER_DETECTED_VIOLATION (0xC4) for kmrig's own checks (the WDK's own
 * 0xC4 codes stay as the WDK defines them). */
#define KMRIG_VF_IRQL_TOO_HIGH 0x4B4D0000u    /* p2 = IRQL, p3 = rule's IRQL, p4 = routine name */
#define KMRIG_VF_IRQL_TOO_LOW 0x4B4D0001u     /* same parameters */
#define KMRIG_VF_WAIT_AT_DISPATCH 0x4B4D0002u /* p2 = IRQL, p3 = timeout, p4 = routine name */
#define KMRIG_VF_BAD_INTERRUPT_OBJECT 0x4B4D0030u /* p2 = the pointer, p4 = routine name */
#define KMRIG_VF_BAD_IO_UNMAP 0x4B4D0031u         /* MmUnmapIoSpace of no mapping: p2 = address */
#define KMRIG_VF_BAD_PORT 0x4B4D0032u /* READ/WRITE_PORT_* above 0xFFFF: p2 = port, p3 = size */
#define KMRIG_VF_BAD_DMA_FREE                                                                      \
    0x4B4D0040u /* freeing DMA memory / a mapping not allocated: p2 =                              \
                   address, p3 = size, p4 = routine name */
#define KMRIG_VF_BAD_MAP_REGISTERS 0x4B4D0041u /* map registers not held: p2 = base, p3 = count */
#define KMRIG_VF_DMA_ADAPTER_BUSY                                                                  \
    0x4B4D0042u /* PutDmaAdapter with buffers, lists or a channel                                  \
                   outstanding: p2 = adapter, p3 = what */
#define KMRIG_VF_DMA_BAD_TRANSFER                                                                  \
    0x4B4D0043u                                /* MapTransfer/GetScatterGatherList range not in    \
                                                  the MDL: p2 = CurrentVa, p3 = length */
#define KMRIG_VF_NOT_CHANNEL_OWNER 0x4B4D0044u /* FreeAdapterChannel without the channel */
/* Parameter 1 of DRIVER_VERIFIER_DMA_VIOLATION (0xE6): the device accessed host memory outside
 * every DMA mapping (p2 = bus address, p3 = size, p4 = 1 write / 0 read). */
#define KMRIG_VF_DMA_FAULT 0x4B4D0045u

/* Process exit status of a test process that bugchecked. */
#define KMRIG_EXIT_BUGCHECK 66
/* If set, KeBugCheckEx also writes its report to this file (the test runner reads it). */
#define KMRIG_BUGCHECK_REPORT_ENV "KMRIG_BUGCHECK_REPORT"
/* Set (to 1) by `kmrig run` for a suite it runs: SIGUSR1 then asks the suite for its hang report
 * (kmrig_runtime_report_all on stderr), after which the suite stops itself (SIGSTOP). */
#define KMRIG_HANG_REPORT_ENV "KMRIG_HANG_REPORT"

#ifdef __cplusplus
}
#endif

#endif

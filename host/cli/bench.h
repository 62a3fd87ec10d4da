/*
 * bench.h - `kmrig bench` (docs/cli.md, "kmrig bench"): what is measured (bench_measure.c) and how
 * it is reported (bench_report.c: the terminal table, the JSON file, the SVG plot).
 *
 * Every time is device time in nanoseconds: the model's virtual clock on a virtual-time target
 * (exact, so two runs give the same figures), the device's own timestamp counter (sysid TS_LO/
 * TS_HI, the interrupt controller's edge timestamps) on a wall-time target (a board, or
 * sim:fidelity=stream). Linux-facing code: snake_case, no NT types in this header.
 */
#ifndef KMRIG_CLI_BENCH_H
#define KMRIG_CLI_BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define BENCH_MAX_SIZES 16

/* min/p50/p99/max/mean of a set of samples (ns). p50 and p99 are nearest-rank percentiles. */
struct bench_dist {
    unsigned count;
    uint64_t min_ns, p50_ns, p99_ns, max_ns;
    double mean_ns;
};

enum bench_dir { BENCH_H2D = 0, BENCH_D2H = 1, BENCH_COPY = 2, BENCH_DIRS = 3 };

enum bench_phase {
    BENCH_PHASE_DMA = 0,
    BENCH_PHASE_REGISTERS,
    BENCH_PHASE_INTERRUPTS,
    BENCH_PHASES
};

/* Device time against host time over one phase (wall-time targets). */
struct bench_clock_check {
    uint64_t device_ns, host_ns; /* 0, 0: not measured */
};

/* One transfer size of one direction. */
struct bench_dma_point {
    uint32_t bytes;                /* per request */
    unsigned requests;             /* timed requests of that size */
    uint64_t total_ns;             /* their summed durations */
    double throughput_bytes_per_s; /* bytes * requests / total_ns */
    struct bench_dist request;     /* one request's duration, IRP sent to IRP completed */
};

struct bench_dma_series {
    unsigned npoints;
    struct bench_dma_point points[BENCH_MAX_SIZES];
};

/* What the user asked for (after defaults). */
struct bench_options {
    const char *target;  /* the URI as opened (the profile included) */
    const char *profile; /* the profile asked for with --link-profile, or NULL */
    uint32_t sizes[BENCH_MAX_SIZES];
    unsigned nsizes;
    unsigned iterations;          /* samples per latency figure, interrupts of the ISR run */
    unsigned probe_interrupts;    /* interrupts per step of the rate search */
    uint64_t dma_bytes_per_size;  /* at most this many bytes moved per size and direction */
    unsigned timeout_s;           /* wall-time target: no answer for this long ends the run */
    uint64_t rate_search_wall_ns; /* wall-time target: the rate search stops after this long */
    uint64_t step_wall_ns;        /* wall-time target: one DMA size, the register loop */
    int quick;
};

struct bench_results {
    /* the target */
    char transport[32];
    char profile[16];
    char device[96];
    uint64_t clock_hz;
    uint32_t soc_id, soc_version;
    uint64_t link_h2d_bytes_per_s, link_d2h_bytes_per_s; /* 0: no limit (ideal) */
    int half_duplex;
    int wall_time;              /* 1: timed with the device's timestamps (a wall-time target) */
    uint64_t timer_overhead_ns; /* cost of reading the clock, subtracted from every sample */
    /* wall time: the device's clock against the host's over each phase (device ns / host ns; a
     * board's is 1 within the jitter of a read; a stand-in that could not keep up is below) */
    struct bench_clock_check clock[BENCH_PHASES];

    /* DMA: dmaeng on the SGDMA engine */
    uint32_t fifo_bytes;  /* the engine's loopback FIFO: h2d/d2h sizes stop there */
    uint32_t chunk_bytes; /* the driver's largest chunk (its map registers) */
    struct bench_dma_series dma[BENCH_DIRS];
    /* wall time: sizes not measured (a request would take too long), with the reason */
    unsigned dma_nskipped;
    struct {
        uint32_t bytes;
        char reason[128];
    } dma_skipped[BENCH_MAX_SIZES];

    /* register access latency, sysid SCRATCH */
    uint64_t register_address;
    struct bench_dist reg_read, reg_write;

    /* ISR latency: timer edge (intc timestamp) to ISR entry */
    unsigned timer_line;
    uint64_t isr_period_ns;
    uint64_t *isr_samples; /* sorted, isr.count of them */
    struct bench_dist isr;
    unsigned isr_runs; /* timer runs it took to collect the samples (wall time: more than one
                          when interrupts were lost) */
    unsigned isr_lost; /* interrupts lost over those runs */

    /* sustainable periodic interrupt rate */
    int rate_measured; /* 0: rate_not_measured says why (no figure below is valid) */
    char rate_not_measured[160];
    unsigned rate_runs;      /* timer runs of the search and its confirmation, retries too */
    unsigned rate_slow_runs; /* wall time: runs refused because the device's clock ran below
                                3/4 of its rate against the host's (counted as lossy) */
    double rate_max_hz;
    uint64_t rate_min_period_ns;         /* the shortest period with no interrupt lost */
    uint64_t rate_first_lossy_period_ns; /* the longest period found losing interrupts */
    unsigned rate_probes;                /* search steps (each probe_interrupts long) */
    unsigned rate_verify_interrupts;     /* the final run at rate_min_period_ns */
    int rate_at_search_floor;            /* 1: even the shortest period tried lost nothing */
    int rate_search_cut;                 /* 1: the binary search hit its wall-time bound */
};

/* Runs every measurement on opts->target. Returns a KMRIG_CLI_* exit status; on failure the
 * reason is on stderr. */
int bench_measure(const struct bench_options *opts, struct bench_results *r);

void bench_results_free(struct bench_results *r);

const char *bench_dir_name(enum bench_dir d);

/* The reports. Each returns 0, or -1 with errno set (the file could not be written). */
void bench_print_table(FILE *out, const struct bench_options *o, const struct bench_results *r);
int bench_write_json(const char *path, const struct bench_options *o,
                     const struct bench_results *r);
int bench_write_svg(const char *path, const struct bench_options *o, const struct bench_results *r);

/* Fills d from n samples, sorting them in place. */
void bench_dist_of(uint64_t *samples, unsigned n, struct bench_dist *d);

#endif

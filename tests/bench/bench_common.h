/* bench_common.h - timing helpers for the pool/lookaside benchmarks (plain C, no cmocka). */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <stdint.h>
#include <time.h>

static inline uint64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Sizes cycled through by both sides of a comparison (same sequence, same run). */
static const unsigned bench_sizes[8] = {16, 24, 40, 64, 96, 128, 200, 256};

#endif

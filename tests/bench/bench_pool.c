/*
 * bench_pool - ExAllocatePoolWithTag/ExFreePoolWithTag with the verifier off against malloc/free
 * of the same sizes in the same run. Target: pool <= 2x malloc.
 *
 *   bench_pool [iterations]
 */
#include <ntddk.h>
#include <kmrig/runtime.h>

#include <stdio.h>
#include <stdlib.h>

#include "bench_common.h"

#define BATCH 16

static void *volatile sink;

static double run_malloc(unsigned long n)
{
    void *p[BATCH];
    uint64_t t0 = bench_now_ns();
    for (unsigned long i = 0; i < n; i += BATCH) {
        for (int k = 0; k < BATCH; k++) {
            p[k] = malloc(bench_sizes[(i + k) & 7]);
            sink = p[k];
        }
        for (int k = 0; k < BATCH; k++)
            free(p[k]);
    }
    return (double)(bench_now_ns() - t0) / (double)n;
}

static double run_pool(unsigned long n)
{
    void *p[BATCH];
    uint64_t t0 = bench_now_ns();
    for (unsigned long i = 0; i < n; i += BATCH) {
        for (int k = 0; k < BATCH; k++) {
            p[k] = ExAllocatePoolWithTag(NonPagedPoolNx, bench_sizes[(i + k) & 7], 'hcnB');
            sink = p[k];
        }
        for (int k = 0; k < BATCH; k++)
            ExFreePoolWithTag(p[k], 'hcnB');
    }
    return (double)(bench_now_ns() - t0) / (double)n;
}

int main(int argc, char **argv)
{
    unsigned long n = argc > 1 ? strtoul(argv[1], NULL, 0) : 4000000ul;
    kmrig_config cfg;
    kmrig_config_init(&cfg);
    cfg.verify_off = 1;
    kmrig_runtime *rt = NULL;
    if (kmrig_runtime_create(&cfg, &rt) != 0) {
        fprintf(stderr, "bench_pool: cannot create a runtime\n");
        return 2;
    }
    /* Warm both allocators, then take the best of five rounds of each. */
    run_malloc(n / 10);
    run_pool(n / 10);
    double m = 1e9, q = 1e9;
    for (int r = 0; r < 5; r++) {
        double a = run_malloc(n), b = run_pool(n);
        m = a < m ? a : m;
        q = b < q ? b : q;
    }
    kmrig_runtime_destroy(rt);
    double ratio = q / m;
    printf("pool alloc/free: %.1f ns/op, malloc/free: %.1f ns/op, ratio %.2f (target <= 2.0)\n", q,
           m, ratio);
    return 0;
}

/*
 * bench_lookaside - ExAllocateFromNPagedLookasideList/ExFreeToNPagedLookasideList with the
 * verifier off against malloc/free of the list's block size in the same run. Target:
 * lookaside <= 1x malloc.
 *
 *   bench_lookaside [iterations]
 */
#include <ntddk.h>
#include <kmrig/runtime.h>

#include <stdio.h>
#include <stdlib.h>

#include "bench_common.h"

#define BATCH 4 /* at most the list's depth: steady state is all hits */
#define BLOCK 128

static void *volatile sink;

static double run_malloc(unsigned long n)
{
    void *p[BATCH];
    uint64_t t0 = bench_now_ns();
    for (unsigned long i = 0; i < n; i += BATCH) {
        for (int k = 0; k < BATCH; k++) {
            p[k] = malloc(BLOCK);
            sink = p[k];
        }
        for (int k = 0; k < BATCH; k++)
            free(p[k]);
    }
    return (double)(bench_now_ns() - t0) / (double)n;
}

static double run_lookaside(PNPAGED_LOOKASIDE_LIST la, unsigned long n)
{
    void *p[BATCH];
    uint64_t t0 = bench_now_ns();
    for (unsigned long i = 0; i < n; i += BATCH) {
        for (int k = 0; k < BATCH; k++) {
            p[k] = ExAllocateFromNPagedLookasideList(la);
            sink = p[k];
        }
        for (int k = 0; k < BATCH; k++)
            ExFreeToNPagedLookasideList(la, p[k]);
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
        fprintf(stderr, "bench_lookaside: cannot create a runtime\n");
        return 2;
    }
    static NPAGED_LOOKASIDE_LIST la;
    ExInitializeNPagedLookasideList(&la, NULL, NULL, 0, BLOCK, 'hcnB', 0);
    run_malloc(n / 10);
    run_lookaside(&la, n / 10);
    double m = 1e9, l = 1e9;
    for (int r = 0; r < 3; r++) {
        double a = run_malloc(n), b = run_lookaside(&la, n);
        m = a < m ? a : m;
        l = b < l ? b : l;
    }
    ExDeleteNPagedLookasideList(&la);
    kmrig_runtime_destroy(rt);
    double ratio = l / m;
    printf("lookaside alloc/free: %.1f ns/op, malloc/free: %.1f ns/op, ratio %.2f (target <= "
           "1.0)\n",
           l, m, ratio);
    return ratio <= 1.0 ? 0 : 1;
}

/*
 * bench_lookaside - ExAllocateFromNPagedLookasideList/ExFreeToNPagedLookasideList with the
 * verifier off against malloc/free of the list's block size in the same run. Target:
 * lookaside <= 1x malloc. A second figure has two system threads on the two processors share
 * one list, against two pthreads doing malloc/free (no target: it shows what the list's shared
 * counters cost when both processors use it at once).
 *
 *   bench_lookaside [iterations]
 */
#include <ntddk.h>
#include <kmrig/runtime.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench_common.h"

#define BATCH 4 /* at most the list's depth: steady state is all hits */
#define BLOCK 128

static _Thread_local void *volatile sink; /* per thread: the two-thread runs share nothing */

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

/* ---- two processors at once ---- */

typedef struct {
    PNPAGED_LOOKASIDE_LIST List;
    unsigned long N;
} SHARE;

static VOID NTAPI lookaside_thread(PVOID Context)
{
    SHARE *s = Context;
    run_lookaside(s->List, s->N);
    PsTerminateSystemThread(STATUS_SUCCESS);
}

static void *malloc_thread(void *arg)
{
    run_malloc(*(unsigned long *)arg);
    return NULL;
}

static double run_shared_lookaside(PNPAGED_LOOKASIDE_LIST la, unsigned long n)
{
    SHARE s = {la, n};
    HANDLE h[2];
    PVOID t[2];
    uint64_t t0 = bench_now_ns();
    for (int k = 0; k < 2; k++) {
        PsCreateSystemThread(&h[k], THREAD_ALL_ACCESS, NULL, NULL, NULL, lookaside_thread, &s);
        ObReferenceObjectByHandle(h[k], 0, *PsThreadType, KernelMode, &t[k], NULL);
    }
    for (int k = 0; k < 2; k++) {
        KeWaitForSingleObject(t[k], Executive, KernelMode, FALSE, NULL);
        ObDereferenceObject(t[k]);
        ZwClose(h[k]);
    }
    return (double)(bench_now_ns() - t0) / (double)n;
}

static double run_shared_malloc(unsigned long n)
{
    pthread_t t[2];
    uint64_t t0 = bench_now_ns();
    for (int k = 0; k < 2; k++)
        pthread_create(&t[k], NULL, malloc_thread, &n);
    for (int k = 0; k < 2; k++)
        pthread_join(t[k], NULL);
    return (double)(bench_now_ns() - t0) / (double)n;
}

int main(int argc, char **argv)
{
    unsigned long n = argc > 1 ? strtoul(argv[1], NULL, 0) : 4000000ul;
    kmrig_config cfg;
    kmrig_config_init(&cfg);
    cfg.verify_off = 1;
    cfg.processors = 2;
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
    for (int r = 0; r < 5; r++) {
        double a = run_malloc(n), b = run_lookaside(&la, n);
        m = a < m ? a : m;
        l = b < l ? b : l;
    }
    double ms = 1e9, ls = 1e9;
    for (int r = 0; r < 3; r++) {
        double a = run_shared_malloc(n / 2), b = run_shared_lookaside(&la, n / 2);
        ms = a < ms ? a : ms;
        ls = b < ls ? b : ls;
    }
    ExDeleteNPagedLookasideList(&la);
    kmrig_runtime_destroy(rt);
    printf("lookaside alloc/free: %.1f ns/op, malloc/free: %.1f ns/op, ratio %.2f (target <= "
           "1.0)\n",
           l, m, l / m);
    printf("lookaside alloc/free, one list on 2 processors at once: %.1f ns/op per thread, "
           "malloc/free on 2 threads: %.1f ns/op, ratio %.2f\n",
           ls, ms, ls / ms);
    return 0;
}

/*
 * bench_ke: the execution model's hot paths against plain pthread equivalents, measured in one
 * run so the ratios hold on a noisy machine.
 *   spin lock acquire/release (KeAcquireSpinLock/KeReleaseSpinLock) vs pthread_spin_lock/unlock
 *   DPC queue -> run at PASSIVE_LEVEL (KeInsertQueueDpc), wall-clock cost per DPC (p50/p99)
 * Verifier off, one processor, wall time.
 */
#include <ntddk.h>
#include <kmrig/runtime.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static volatile ULONG g_dpc_runs;
static VOID NTAPI bench_dpc(PKDPC Dpc, PVOID Ctx, PVOID A1, PVOID A2)
{
    g_dpc_runs++;
}

int main(void)
{
    enum { N = 2000000, ND = 20000 };
    kmrig_config cfg;
    kmrig_config_init(&cfg);
    cfg.verify_off = 1;
    cfg.time_mode = KMRIG_TIME_WALL;
    kmrig_runtime *rt;
    if (kmrig_runtime_create(&cfg, &rt)) {
        fprintf(stderr, "bench_ke: cannot create a runtime\n");
        return 1;
    }

    KSPIN_LOCK lock;
    KeInitializeSpinLock(&lock);
    pthread_spinlock_t ps;
    pthread_spin_init(&ps, PTHREAD_PROCESS_PRIVATE);
    double best_ke = 1e30, best_px = 1e30;
    for (int round = 0; round < 5; round++) {
        double t0 = now_ns();
        for (int i = 0; i < N; i++) {
            KIRQL old;
            KeAcquireSpinLock(&lock, &old);
            KeReleaseSpinLock(&lock, old);
        }
        double t1 = now_ns();
        for (int i = 0; i < N; i++) {
            pthread_spin_lock(&ps);
            pthread_spin_unlock(&ps);
        }
        double t2 = now_ns();
        if ((t1 - t0) / N < best_ke)
            best_ke = (t1 - t0) / N;
        if ((t2 - t1) / N < best_px)
            best_px = (t2 - t1) / N;
    }
    printf("spin lock acquire/release: %.2f ns/op, pthread spinlock: %.2f ns/op, ratio %.2f "
           "(target <= 2.0)\n",
           best_ke, best_px, best_ke / best_px);

    KDPC dpc;
    KeInitializeDpc(&dpc, bench_dpc, NULL);
    static double lat[ND];
    for (int i = 0; i < ND; i++) {
        double t0 = now_ns();
        KeInsertQueueDpc(&dpc, NULL, NULL); /* at PASSIVE_LEVEL it runs before returning */
        lat[i] = now_ns() - t0;
    }
    qsort(lat, ND, sizeof lat[0], cmp);
    printf("DPC queue->run (same processor, PASSIVE_LEVEL): p50 %.0f ns, p99 %.0f ns, max %.0f ns "
           "over %u DPCs\n",
           lat[ND / 2], lat[ND * 99 / 100], lat[ND - 1], (unsigned)g_dpc_runs);
    kmrig_runtime_destroy(rt);
    return 0;
}

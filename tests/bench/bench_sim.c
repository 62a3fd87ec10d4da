/* bench_sim.c - what the rig costs around the Verilator model (docs/protocol.md, "Full-bridge
 * fidelity", and docs/rtl.md, "The model and idle skipping"). Figures, all from one run:
 *
 *   1. READ_REGISTER_ULONG per second through the runtime, the HAL and the sim link at
 *      transaction level, against a raw Verilator loop doing the same bus reads on the same RTL
 *      (bench_sim_raw.cpp); target: >= 50% of raw.
 *   2. The same through the full bridge (sim:fidelity=bridge): each read a frame through the
 *      bridge RTL and back.
 *   3. Model cycles per second with the rig around it and the driver idle (a delay on the
 *      model's clock, sim:noskip so that every cycle is evaluated), against the bare model
 *      (bench_sim_raw.cpp clocking the same top); target: >= 80%.
 *
 * Each figure is the best of 3 rounds, the compared pairs measured alternately.
 * Usage: bench_sim [reads] [cycles]   (defaults 200000 and 20000000). */
#include <ntddk.h>
#include <kmrig/runtime.h>

#include "bench_common.h"
#include "kmrig_soc_map.h"

#include <stdio.h>
#include <stdlib.h>

uint32_t bench_raw_reads(uint32_t addr, uint64_t n);
void bench_raw_cycles(uint64_t n);

static kmrig_runtime *open_rt(const char *target)
{
    kmrig_config cfg;
    kmrig_config_init(&cfg);
    cfg.processors = 1;
    cfg.target = target;
    cfg.verify_off = 1; /* (the figures are the access path's, not the verifier's) */
    kmrig_runtime *rt = NULL;
    if (kmrig_runtime_create(&cfg, &rt) != 0 || !rt) {
        fprintf(stderr, "bench_sim: cannot open target %s\n", target);
        exit(1);
    }
    return rt;
}

/* Reads per second of READ_REGISTER_ULONG on sysid ID through the runtime. */
static double rig_reads(const char *target, uint64_t n, uint64_t *cycles_per_read)
{
    kmrig_runtime *rt = open_rt(target);
    PHYSICAL_ADDRESS pa = {.QuadPart = KMRIG_SOC_SYSID_BASE};
    volatile ULONG *sysid = MmMapIoSpace(pa, KMRIG_SOC_SYSID_SIZE, MmNonCached);
    ULONG sum = 0;
    uint64_t v0 = kmrig_runtime_now_ns(rt);
    uint64_t t0 = bench_now_ns();
    for (uint64_t i = 0; i < n; i++)
        sum += READ_REGISTER_ULONG(sysid);
    uint64_t t1 = bench_now_ns();
    uint64_t v1 = kmrig_runtime_now_ns(rt);
    if (sum != (ULONG)(n * KMRIG_SOC_ID)) {
        fprintf(stderr, "bench_sim: wrong data from %s\n", target);
        exit(1);
    }
    *cycles_per_read = (v1 - v0) / (1000000000ull / KMRIG_SOC_CLOCK_HZ) / n;
    MmUnmapIoSpace((PVOID)sysid, KMRIG_SOC_SYSID_SIZE);
    kmrig_runtime_destroy(rt);
    return (double)n * 1e9 / (double)(t1 - t0);
}

/* Model cycles per second with the runtime idle in a delay on the model's clock. */
static double rig_cycles(uint64_t cycles)
{
    kmrig_runtime *rt = open_rt("sim:noskip");
    uint64_t v0 = kmrig_runtime_now_ns(rt);
    LARGE_INTEGER delay;
    delay.QuadPart = -(LONGLONG)(cycles * (1000000000ull / KMRIG_SOC_CLOCK_HZ) / 100);
    uint64_t t0 = bench_now_ns();
    KeDelayExecutionThread(KernelMode, FALSE, &delay);
    uint64_t t1 = bench_now_ns();
    uint64_t v1 = kmrig_runtime_now_ns(rt);
    kmrig_runtime_destroy(rt);
    double done = (double)(v1 - v0) / (double)(1000000000ull / KMRIG_SOC_CLOCK_HZ);
    return done * 1e9 / (double)(t1 - t0);
}

int main(int argc, char **argv)
{
    uint64_t reads = argc > 1 ? strtoull(argv[1], NULL, 0) : 200000;
    uint64_t cycles = argc > 2 ? strtoull(argv[2], NULL, 0) : 20000000;
    if (!reads || !cycles) {
        fprintf(stderr, "usage: bench_sim [reads] [cycles]\n");
        return 2;
    }

    /* Each figure is the best of ROUNDS, the compared pairs measured alternately, so that a
     * machine shared with other work disturbs both sides alike. */
    enum { ROUNDS = 3 };
    double raw_rps = 0, txn_rps = 0, br_rps = 0, bare_cps = 0, rig_cps = 0;
    uint64_t txn_cpr = 0, br_cpr = 0;
    for (int r = 0; r < ROUNDS; r++) {
        uint64_t t0 = bench_now_ns();
        uint32_t sum = bench_raw_reads(KMRIG_SOC_SYSID_BASE, reads);
        double v = (double)reads * 1e9 / (double)(bench_now_ns() - t0);
        if (sum != (uint32_t)(reads * KMRIG_SOC_ID)) {
            fprintf(stderr, "bench_sim: wrong data from the raw loop\n");
            return 1;
        }
        raw_rps = v > raw_rps ? v : raw_rps;
        v = rig_reads("sim", reads, &txn_cpr);
        txn_rps = v > txn_rps ? v : txn_rps;
        v = rig_reads("sim:fidelity=bridge", reads / 10, &br_cpr);
        br_rps = v > br_rps ? v : br_rps;

        t0 = bench_now_ns();
        bench_raw_cycles(cycles);
        v = (double)cycles * 1e9 / (double)(bench_now_ns() - t0);
        bare_cps = v > bare_cps ? v : bare_cps;
        v = rig_cycles(cycles);
        rig_cps = v > rig_cps ? v : rig_cps;
    }

    printf("READ_REGISTER_ULONG/s, raw Verilator loop (same RTL): %12.0f  (2 cycles/read)\n",
           raw_rps);
    printf("READ_REGISTER_ULONG/s, rig, sim (transaction level):  %12.0f  (%llu cycles/read)  "
           "%5.1f%% of raw (target >= 50%%)\n",
           txn_rps, (unsigned long long)txn_cpr, 100.0 * txn_rps / raw_rps);
    printf("READ_REGISTER_ULONG/s, rig, sim:fidelity=bridge:      %12.0f  (%llu cycles/read)  "
           "%5.1f%% of raw\n",
           br_rps, (unsigned long long)br_cpr, 100.0 * br_rps / raw_rps);
    printf("model cycles/s, bare model (raw loop):                %12.0f\n", bare_cps);
    printf("model cycles/s, rig around it, driver idle (noskip):  %12.0f  %5.1f%% of bare "
           "(target >= 80%%)\n",
           rig_cps, 100.0 * rig_cps / bare_cps);
    return 0;
}

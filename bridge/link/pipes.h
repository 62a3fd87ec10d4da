/* Pipes for tests and for the model as a board stand-in (pipe.h): the reference SoC's bridge
 * model as a byte pipe (the `sim:fidelity=stream` target), and a wrapper that injects faults
 * into any pipe. */
#ifndef KMRIG_PIPES_H
#define KMRIG_PIPES_H

#include "pipe.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- faults (pipe_fault.c, kmrig::bridge) ---------------------------------------------------
 * Each byte that passes in a chosen direction is, with the given rates (parts per million,
 * drawn from a generator seeded with `seed`, one sequence per direction so a run repeats),
 * dropped, corrupted (one bit flipped) or sent twice. After cut_after bytes in both
 * directions together (0: never) the pipe is cut: that send and every later send and recv
 * return KMRIG_LINK_EGONE, as a pulled cable does. */
#define KMRIG_PIPE_FAULT_H2D 1u /* host to device (send) */
#define KMRIG_PIPE_FAULT_D2H 2u /* device to host (recv) */
struct kmrig_pipe_fault {
    uint64_t seed;
    unsigned drop_ppm, corrupt_ppm, dup_ppm;
    unsigned dirs; /* KMRIG_PIPE_FAULT_*; 0 means both */
    uint64_t cut_after;
    /* recv() waits up to this long for data whatever timeout it is given (0: the caller's):
       a transport whose reads block until data comes, so nothing may rely on recv()
       returning to get something else done (test_stream's posted-write flush). */
    unsigned recv_hold_ms;
};
struct kmrig_pipe_fault_stats {
    uint64_t bytes[2]; /* passed per direction: 0 h2d, 1 d2h */
    uint64_t dropped, corrupted, duplicated;
    int cut;
};
/* Wraps inner (owned from now on, closed with the wrapper, also on failure). */
int kmrig_pipe_fault_wrap(struct kmrig_pipe *inner, const struct kmrig_pipe_fault *cfg,
                          struct kmrig_pipe **out);
/* Cuts a fault pipe now. Returns KMRIG_LINK_EINVAL for any other pipe. */
int kmrig_pipe_fault_cut(struct kmrig_pipe *p);
int kmrig_pipe_fault_stats(struct kmrig_pipe *p, struct kmrig_pipe_fault_stats *st);
/* Nonzero when p is a fault pipe. */
int kmrig_pipe_is_fault(const struct kmrig_pipe *p);
/* The pipe a fault pipe wraps (p itself for any other pipe). */
struct kmrig_pipe *kmrig_pipe_fault_inner(struct kmrig_pipe *p);

/* ---- the model (pipe_model.c, kmrig::sim) ----------------------------------------------------
 * The bridge of a model opened with struct kmrig_simsoc_config.bridge set, fed byte by byte
 * (kmrig_simsoc_phy_send/recv). Paced to wall time, as a board's clock runs by itself: the
 * model's cycle count follows the host's monotonic clock at its nominal rate (send, recv and
 * kmrig_pipe_model_call first run it up to the cycle of "now", never beyond; idle stretches are
 * skipped), so host bytes reach the bridge at the cycle of the wall time they were sent. A model
 * the CPU cannot keep up with lags and catches up; a lag beyond 200 ms, or beyond 4 ms where the
 * host and the bridge exchange bytes, is dropped (pipe_model.c).
 * Thread-safe: send and recv may overlap (a mutex around the model, released between short
 * runs). Takes ownership of the model (destroyed with the pipe, also on failure). */
struct kmrig_simsoc;
int kmrig_pipe_model_open(struct kmrig_simsoc *model, struct kmrig_pipe **out);
/* Calls fn(ctx, model) with the model's lock held: for harness code that plays the world
 * outside the SoC (kmrig_simsoc_uart_*). Returns KMRIG_LINK_EINVAL when p is not a model pipe
 * (nor a fault pipe around one). */
int kmrig_pipe_model_call(struct kmrig_pipe *p, void (*fn)(void *ctx, struct kmrig_simsoc *m),
                          void *ctx);

#ifdef __cplusplus
}
#endif

#endif

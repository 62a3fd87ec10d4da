/*
 * kmrig/link_sim.h - what the "sim" transport offers beyond struct kmrig_link_ops: the model
 * behind a sim link, for harness code that plays the world outside the SoC (the far end of
 * uart0's cable: kmrig_simsoc_uart_remote/send/recv/set_modem/set_loopback, kmrig/simsoc.h).
 * Link kmrig::sim to use it.
 */
#ifndef KMRIG_LINK_SIM_H
#define KMRIG_LINK_SIM_H

#include <kmrig/link.h>
#include <kmrig/simsoc.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The model of a link opened as "sim", or NULL for any other link (or NULL).
 * The model is not thread-safe and this does not take the link's lock: call kmrig_simsoc_*
 * functions on it only while no other thread can use the link. On a runtime that owns the
 * link, that is from a thread holding an emulated processor when the runtime has one
 * processor (its clock thread and DPC thread only run the model while every processor is
 * idle or handed over). Calls that move the model's clock (run, read, write) would bypass the
 * runtime's interrupt polling and time accounting: use only the pin-level functions. */
kmrig_simsoc *kmrig_link_sim_model(struct kmrig_link *link);

/* A link opened as "sim:fidelity=stream" (the model as a wall-time board stand-in, driven by
 * the stream engine's threads; kmrig_link_sim_model gives NULL for it):
 * calls fn(ctx, model) with the model's lock held, for the pin-level functions (the far end of
 * uart0's cable); KMRIG_LINK_EINVAL for any other link. */
int kmrig_link_sim_call(struct kmrig_link *link, void (*fn)(void *ctx, kmrig_simsoc *m), void *ctx);
/* Cuts the pipe as a pulled cable does (needs a fault pipe: any fault_* argument, e.g.
 * fault_seed=1): the engine sees KMRIG_LINK_EGONE and the link reports KMRIG_LINK_EV_GONE. */
int kmrig_link_sim_cut(struct kmrig_link *link);
/* The fault pipe's counts of bytes it dropped, corrupted and duplicated. */
int kmrig_link_sim_fault_stats(struct kmrig_link *link, uint64_t *dropped, uint64_t *corrupted,
                               uint64_t *duplicated);

#ifdef __cplusplus
}
#endif

#endif

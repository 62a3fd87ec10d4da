/*
 * kmrig/link_sim.h - what the "sim" transport (bridge/link/link_sim.c, library kmrig::sim)
 * offers beyond struct kmrig_link_ops: the model itself, for a test or a harness that drives
 * what lies outside the SoC, such as the far end of uart0's serial line
 * (kmrig_simsoc_uart_remote / _send / _recv in kmrig/simsoc.h).
 */
#ifndef KMRIG_LINK_SIM_H
#define KMRIG_LINK_SIM_H

#include <kmrig/link.h>
#include <kmrig/simsoc.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The model behind a "sim" link; NULL for a link of another transport. The model is not
 * thread-safe and the link's lock is not taken: call kmrig_simsoc_* on it only while nothing
 * else can use the link (in a runtime with one processor, from the thread that is running, which
 * holds the only processor: the clock thread advances the model only when every processor is
 * idle). Do not call the bus access or run functions on it behind the runtime's back. */
kmrig_simsoc *kmrig_link_sim_model(struct kmrig_link *link);

#ifdef __cplusplus
}
#endif

#endif

/*
 * kmrig/trace.h - the runtime's event trace (harness-facing).
 *
 * With kmrig_config.trace_path set, the runtime records the driver routines it runs on the
 * emulated processors (dispatch routines per major function, StartIo, ISRs, DPCs, timer DPCs,
 * work items) and the device events (register and port accesses, interrupt requests and EOIs,
 * DMA requests) with their device time, and writes them when the instance is destroyed as Chrome
 * trace event JSON (chrome://tracing, https://ui.perfetto.dev): one track per processor with "X"
 * events for routines, a "device" track with "i" events for device events and "C" counters for
 * interrupt lines. The format is described in docs/architecture.md, "Event trace".
 *
 * Memory is bounded: each processor, the device's DMA, and events from no processor each have a
 * buffer of kmrig_config.trace_events events (0: KMRIG_TRACE_EVENTS_DEFAULT); events past it are
 * counted as dropped and reported. Off (no trace_path), each hook costs one branch.
 *
 * The trace carries a 64-bit hash (FNV-1a) of its event stream in "otherData". With one
 * processor on a virtual-time target two runs of the same program give the same file and hash.
 */
#ifndef KMRIG_TRACE_H
#define KMRIG_TRACE_H

#include <kmrig/runtime.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KMRIG_TRACE_EVENTS_DEFAULT 65536u

struct kmrig_trace_summary {
    uint64_t events;  /* recorded so far (all buffers) */
    uint64_t dropped; /* lost to full buffers */
    uint64_t hash;    /* FNV-1a of the events recorded so far, in trace order */
};

/* The trace so far. Returns 0, or -ENODATA when the instance does not trace. */
int kmrig_trace_get_summary(kmrig_runtime *rt, struct kmrig_trace_summary *s);

/* From the moment the instance is created the file at trace_path grows with every event (one
 * write(2) each, in recording order), and destroy replaces it with the sorted, complete file. A
 * process that dies before destroy (a failed assertion, a crash, a bugcheck, a kill) leaves the
 * stream: this completes it into a valid trace, cut after its last whole event, with an instant
 * event named `marker` (e.g. "test died: crashed with signal 11") on every track at the time of
 * the last event's end, and "otherData": {"complete": false, "events": N, "end": marker}. A
 * missing or unreadable-as-a-stream file becomes a trace with only the marker. Call it after the
 * process that traced has ended. Returns 1 when it wrote the file, 0 when the file was already
 * complete (left alone), or -errno. */
int kmrig_trace_complete(const char *path, const char *marker);

#ifdef __cplusplus
}
#endif

#endif

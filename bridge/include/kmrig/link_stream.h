/*
 * kmrig/link_stream.h - what a link driven by the stream engine (every byte-stream board
 * transport: ftdi, usb, tcp, simstream; bridge/link/stream.h) offers beyond kmrig/link.h: the
 * engine's statistics, for `kmrig info` and `kmrig bench`.
 */
#ifndef KMRIG_LINK_STREAM_H
#define KMRIG_LINK_STREAM_H

#include <kmrig/link.h>

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct kmrig_stream_stats {
    uint64_t frames_tx, frames_rx; /* frames sent / decoded */
    uint64_t bytes_tx, bytes_rx;   /* bytes handed to / taken from the pipe */
    uint64_t sends;                /* pipe send() calls (a batch of frames is one) */
    uint64_t crc_errors;           /* received frames whose CRC-32 failed */
    uint64_t header_errors;        /* SOF found but the header was unsound */
    uint64_t dropped_bytes;        /* received bytes that were not part of a good frame */
    uint64_t resyncs;              /* HELLOs sent after a loss to resynchronise */
    uint64_t retries;              /* requests sent again (lost before the device ran them) */
    uint64_t timeouts;             /* requests whose answer did not come in time */
    uint64_t lost_responses;       /* answers lost on the way back (their call failed EIO) */
    uint64_t lost_events;          /* device events lost (an event sequence gap) */
    uint64_t lost_writes;          /* posted requests the device never ran (reported EIO) */
    uint64_t device_errors;        /* EVT_ERROR frames from the device */
    uint64_t irq_events;           /* EVT_IRQ frames */
    uint64_t dma_requests;         /* DMA_RD_REQ + DMA_WR_REQ served */
    uint64_t dma_faults;           /* ... answered DMA_FAULT */
    uint64_t dma_bytes;            /* payload bytes moved by DMA */
    uint64_t credit_waits;         /* sends that waited for command credits */
};

/* The engine's statistics of a stream link. Returns 0, or KMRIG_LINK_ENOTSUP for a link that is
 * not driven by the stream engine (sim, loop, pcie). */
int kmrig_link_stream_stats(struct kmrig_link *link, struct kmrig_stream_stats *stats);

#ifdef __cplusplus
}
#endif

#endif

/* The stream engine: the host end of the wire protocol (docs/protocol.md) over a byte pipe
 * (pipe.h), for every byte-stream board transport (ftdi, usb, tcp, simstream). A transport
 * opens its medium, wraps it in a struct kmrig_pipe and hands it to kmrig_stream_open(); the
 * engine does everything else: HELLO and the gateware check, framing, tags, command credits,
 * batching of posted writes, response matching, interrupt events, device DMA, loss detection
 * and recovery, link loss. docs/protocol.md, section 16, describes its behaviour.
 *
 * How a transport uses it:
 *
 *     struct ftdi_priv {
 *         struct kmrig_stream *stream;   // FIRST member: the hooks find the engine here
 *         ...                            // the transport's own state
 *     };
 *     static int ftdi_open(struct kmrig_link *link, const char *args,
 *                          struct kmrig_link_info *info)
 *     {
 *         struct ftdi_priv *p = kmrig_link_priv(link);
 *         ... split args: keys for which kmrig_stream_is_arg() is nonzero go to the engine ...
 *         struct kmrig_pipe *pipe = ...;   // the transport's pipe, allocated
 *         return kmrig_stream_open(link, pipe, engine_args, info, &p->stream);
 *     }
 *     static void ftdi_close(struct kmrig_link *link)
 *     {
 *         struct ftdi_priv *p = kmrig_link_priv(link);
 *         kmrig_stream_close(p->stream);  // closes the pipe too
 *     }
 *     const struct kmrig_link_ops kmrig_link_ftdi_ops = {
 *         .name = "ftdi", .summary = ..., .priv_size = sizeof(struct ftdi_priv),
 *         .usage = "serial=SN, ..., " KMRIG_STREAM_USAGE,
 *         .open = ftdi_open, .close = ftdi_close, KMRIG_STREAM_HOOKS
 *     };
 *
 * The link is a wall-time target: info->virtual_time = 0, no now/advance hooks; interrupts are
 * reported through kmrig_link_notify(KMRIG_LINK_EV_IRQ) and a dropped pipe through
 * kmrig_link_notify(KMRIG_LINK_EV_GONE).
 *
 * Threads: the hooks run in the caller's thread with the link's lock held (kmrig/link.h). The
 * engine has two threads of its own: a reader (pipe recv(), decoding, response matching,
 * events, device DMA through kmrig_link_dma_async(), the flush timer of posted writes) that
 * never takes the link's lock, and a notifier that calls kmrig_link_notify(), so an event
 * handler may call back into the link (and block on its lock) without stopping the reader.
 * The pipe's send() is called from the hooks' thread and from the reader (DMA answers, timed
 * flushes), never from two threads at once (the engine serialises them).
 * docs/decisions/0013-stream-engine-threads.md.
 */
#ifndef KMRIG_STREAM_H
#define KMRIG_STREAM_H

#include <kmrig/link.h>
#include <kmrig/link_stream.h>

#include "pipe.h"

#ifdef __cplusplus
extern "C" {
#endif

struct kmrig_stream;

/* The URI arguments the engine takes (for a transport's .usage). */
#define KMRIG_STREAM_USAGE                                                                         \
    "timeout=MS (answer timeout, default 1000), retries=N (default 2), flush=US (posted-write "    \
    "batching, default 200), crc (CRC-32 on every frame), ack (wait for every write's status), "   \
    "soc=ID|any, build=ID|any, flash=HINT"

/* Nonzero when `key` (a URI argument's name, before any '=') is one of the engine's. */
int kmrig_stream_is_arg(const char *key);

/* Opens the engine on `pipe` for `link` (whose transport priv's first member is the
 * struct kmrig_stream * that receives *out). Takes ownership of the pipe: on failure it is
 * closed before returning. args: only the engine's comma-separated arguments
 * (KMRIG_STREAM_USAGE; "" for none); an unknown one is KMRIG_LINK_EINVAL with a log line.
 * Starts the threads, sends HELLO and checks the answer: a protocol version, SoC id/version or
 * build the host cannot use is KMRIG_LINK_EMISMATCH and a log line that says what to flash; no
 * answer is KMRIG_LINK_ETIMEOUT; a pipe failure its code. On success fills *info (clock_hz,
 * irq_lines, soc_id, soc_version from HELLO_RSP; virtual_time = 0; description: board, build
 * and pipe->description), learns the interrupt unit's state (IRQ_QUERY) and returns 0. */
int kmrig_stream_open(struct kmrig_link *link, struct kmrig_pipe *pipe, const char *args,
                      struct kmrig_link_info *info, struct kmrig_stream **out);
/* Sends what is still batched, stops the threads, closes the pipe and frees the engine. Called
 * from the transport's close() (the link's lock held). NULL is ok. */
void kmrig_stream_close(struct kmrig_stream *s);

/* Statistics (kmrig/link_stream.h has the same for any link). */
void kmrig_stream_get_stats(struct kmrig_stream *s, struct kmrig_stream_stats *stats);

/* The hooks (kmrig_link_ops signatures). They find the engine as the first member of the
 * transport's priv. Reads, RMW and interrupt-unit operations wait for their answer (at most
 * timeout= per try); writes are posted (batched, sent before the next read and at the latest
 * after flush= microseconds). After the link dropped every hook returns KMRIG_LINK_EGONE at
 * once. reset needs the pipe's reset(); it pulses it and sends HELLO again. */
int kmrig_stream_read(struct kmrig_link *link, unsigned space, uint64_t addr, unsigned size,
                      uint32_t *value, uint64_t *ts);
int kmrig_stream_write(struct kmrig_link *link, unsigned space, uint64_t addr, unsigned size,
                       uint32_t value, uint64_t *ts);
int kmrig_stream_rmw(struct kmrig_link *link, unsigned space, uint64_t addr, unsigned size,
                     uint32_t mask, uint32_t value, uint32_t *old, uint64_t *ts);
int kmrig_stream_irq_pending(struct kmrig_link *link, uint32_t *lines);
int kmrig_stream_irq_control(struct kmrig_link *link, unsigned line, enum kmrig_irq_op op);
int kmrig_stream_irq_timestamp(struct kmrig_link *link, unsigned line, uint64_t *ts);
int kmrig_stream_irq_query(struct kmrig_link *link, struct kmrig_irq_state *state);
int kmrig_stream_reset(struct kmrig_link *link);

/* The hooks as designated initialisers, for a transport's struct kmrig_link_ops. */
#define KMRIG_STREAM_HOOKS                                                                         \
    .read = kmrig_stream_read, .write = kmrig_stream_write, .rmw = kmrig_stream_rmw,               \
    .irq_pending = kmrig_stream_irq_pending, .irq_control = kmrig_stream_irq_control,              \
    .irq_timestamp = kmrig_stream_irq_timestamp, .irq_query = kmrig_stream_irq_query,              \
    .reset = kmrig_stream_reset

#ifdef __cplusplus
}
#endif

#endif

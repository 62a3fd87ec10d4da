/* Byte pipes: what a byte-stream transport (ftdi, usb, a model behind a PHY) gives the stream
 * engine (stream.h), which speaks the wire protocol of docs/protocol.md over it.
 *
 * A pipe moves opaque bytes in both directions; it knows nothing of frames. Whatever the
 * medium adds or splits (FTDI modem-status bytes in every USB packet, USB packet boundaries,
 * UART framing) is removed by the pipe: recv() returns only the bytes the device's PHY sent.
 *
 * Threading: the stream engine calls send() from the caller's thread and recv() from its reader
 * thread, possibly at the same time; a pipe must allow that (one sender, one receiver). close()
 * is called once, when neither is running.
 */
#ifndef KMRIG_PIPE_H
#define KMRIG_PIPE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct kmrig_pipe;

struct kmrig_pipe_ops {
    const char *name; /* "ftdi-fifo", "ftdi-uart", "usb-bulk", "model-ft245", ... */
    /* Required. Sends all n bytes, or fails: 0 or a KMRIG_LINK_E* code (EGONE when the device
     * went away, EIO for other transport failures, ETIMEOUT when the device stopped taking
     * data for timeout_us). */
    int (*send)(struct kmrig_pipe *p, const void *data, size_t n, unsigned timeout_us);
    /* Required. Receives what arrived, up to cap bytes, waiting at most timeout_us for the first
     * byte (0: do not wait). Returns the byte count (0: nothing arrived in time) or a
     * KMRIG_LINK_E* code (negative). */
    long (*recv)(struct kmrig_pipe *p, void *buf, size_t cap, unsigned timeout_us);
    /* Optional. Pulses the board's reset (an FTDI GPIO, DTR) and returns when it is released. */
    int (*reset)(struct kmrig_pipe *p);
    /* Required. Releases the pipe and frees it. */
    void (*close)(struct kmrig_pipe *p);
};

struct kmrig_pipe {
    const struct kmrig_pipe_ops *ops;
    void *ctx;            /* the pipe's own state */
    size_t send_chunk;    /* preferred size of one send (a USB transfer); 0: any */
    uint64_t byte_rate;   /* payload bytes/s the medium carries per direction (0: unknown) */
    char description[96]; /* for logs and `kmrig info`: "FT232H FT4ABC12 (245 FIFO)" */
};

#ifdef __cplusplus
}
#endif

#endif

/* The ftdi transport's byte pipe (link_ftdi.c): an FTDI channel in synchronous 245 FIFO or UART
 * mode as a struct kmrig_pipe for the stream engine, over the USB seam of ftdi_io.h.
 *
 * URI arguments (after "ftdi://"), comma-separated, all optional:
 *   VID:PID          hex, default 0403:6014 (FT232H); 0403:6010 is the FT2232H
 *   s=SERIAL         the chip's serial number
 *   path=BUS-PORTS   the USB port path ("1-2.3", as `kmrig list` prints it), for a board whose
 *                    chip has no serial
 *   d=DESCRIPTION    the USB product string
 *   index=N          the N-th matching device (default 0)
 *   i=A|B|C|D        the channel (default A)
 *   mode=fifo|uart   default fifo
 *   baud=N           UART bit rate (default 2000000)
 *   flow=0|1         UART RTS/CTS (default 1)
 *   latency=MS       latency timer 1..255 (default 2 in fifo mode, 1 in uart mode)
 *   xfers=N          IN transfers kept in flight, 1..8 (default 4)
 *   chunk=BYTES      transfer size, a multiple of 512 from 512 to 65536 (default 16384 in fifo
 *                    mode, 4096 in uart mode)
 * and the stream engine's (KMRIG_STREAM_USAGE; crc is implied in uart mode),
 * e.g. "ftdi://0403:6010,i=B,mode=uart,baud=3000000" (iCEBreaker),
 *      "ftdi://0403:6014,s=FT4ABC12" (an FT232H module in 245 FIFO mode).
 */
#ifndef KMRIG_LINK_FTDI_H
#define KMRIG_LINK_FTDI_H

#include "ftdi_io.h"
#include "pipe.h"

#include <stddef.h>
#include <stdint.h>

struct kmrig_ftdi_args {
    struct ftdi_io_params dev;
    struct ftdi_io_mode mode;
    unsigned xfers;
    char serial[64];
    char desc[64];
    char path[32];
};

/* Parses the URI arguments into *a (defaults filled). 0, or KMRIG_LINK_EINVAL with a sentence
 * in err. */
int kmrig_ftdi_parse_args(const char *args, struct kmrig_ftdi_args *a, char *err, size_t n);

/* Opens the pipe on the backend `io` (ftdi_io_libftdi on a board; ctx is the backend's). 0 and
 * *out, or a KMRIG_LINK_E* code with a sentence in err. */
int kmrig_ftdi_pipe_open(const char *args, const struct ftdi_io_ops *io, void *ctx,
                         struct kmrig_pipe **out, char *err, size_t n);

/* The bulk pipe under both USB transports, from parsed arguments: status_bytes is 2 for FTDI
 * chips (stripped from every IN packet) and 0 for plain bulk devices (link_usb.c). */
int kmrig_bulk_pipe_open(const struct kmrig_ftdi_args *a, const struct ftdi_io_ops *io, void *ctx,
                         unsigned status_bytes, struct kmrig_pipe **out, char *err, size_t n);

/* Splits URI arguments into the transport's (mine) and the stream engine's (eng), cap bytes
 * each. 0 or KMRIG_LINK_EINVAL (too long). */
int kmrig_bulk_split_args(const char *args, char *mine, char *eng, size_t cap);

/* The backends the ftdi and usb links open (ftdi_usb.c, usb_io.c): libftdi1 / libusb, *ctx
 * NULL. One function each, so that a test can put the chip emulation in their place with
 * -Wl,--wrap=kmrig_ftdi_io_backend (tests/bridge/test_ftdi_link.c). */
const struct ftdi_io_ops *kmrig_ftdi_io_backend(void **ctx);
const struct ftdi_io_ops *kmrig_usb_io_backend(void **ctx);

/* Counters of the packet layer (for tests and `kmrig info`). */
struct kmrig_ftdi_stats {
    uint64_t in_packets;    /* USB packets received (each with 2 status bytes) */
    uint64_t status_only;   /* ... that carried no data (latency timer) */
    uint64_t line_errors;   /* packets whose line status had OE, PE, FE, BI or the FIFO error */
    uint64_t in_bytes;      /* data bytes delivered to recv() */
    uint64_t out_bytes;     /* bytes sent */
    uint64_t in_xfers;      /* IN transfers completed */
    uint64_t short_xfers;   /* ... that ended on a short packet */
    unsigned max_in_flight; /* most IN transfers in flight at once */
    uint8_t last_status[2]; /* the status bytes of the last packet */
};
void kmrig_ftdi_pipe_stats(struct kmrig_pipe *p, struct kmrig_ftdi_stats *s);

#endif

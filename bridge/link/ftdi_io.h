/* The seam under the USB transports (link_ftdi.c, link_usb.c): the few USB operations their
 * bulk pipe needs. ftdi_usb.c implements them for FTDI chips with libftdi1 and libusb-1.0,
 * usb_io.c for any bulk device with libusb-1.0; each holds every call into those libraries. The
 * tests put the chip emulation on the PHY model behind the same interface
 * (tests/bridge/ftdi_emu.c), so everything above these files runs the same code on the model
 * as on a board.
 *
 * Lifecycle: close() is called if and only if open() succeeded. Transfers: the caller owns each
 * struct ftdi_io_xfer and its buffer until poll() has marked it done (or close() returned);
 * close() cancels and reaps what is still in flight. Threading: the caller serialises all calls
 * on one instance (link_ftdi.c holds its lock around them).
 */
#ifndef KMRIG_FTDI_IO_H
#define KMRIG_FTDI_IO_H

#include <stddef.h>
#include <stdint.h>

/* A port path as `kmrig list` and sysfs write it: BUS-PORT[.PORT]... (decimal, up to 7 ports).
 * Nonzero when s is one (link_ftdi.c). */
int kmrig_usb_path_valid(const char *s);
/* The port path of a libusb_device (usb_io.c; the argument is a libusb_device *, void here so
 * this header needs no libusb). 0, or -1 when it has none or it does not fit. */
int kmrig_usb_port_path(void *libusb_dev, char *out, size_t n);

#define FTDI_IO_MODE_FIFO 0 /* synchronous 245 FIFO (FT232H, FT2232H channel A) */
#define FTDI_IO_MODE_UART 1 /* asynchronous serial, 8N1 */

/* What to open (from the URI; link_ftdi.c fills defaults). */
struct ftdi_io_params {
    unsigned vid, pid;
    const char *serial; /* NULL: any */
    const char *desc;   /* product description, NULL: any */
    const char *path;   /* USB bus and port path ("1-2.3", as sysfs and `kmrig list` name it):
                           the device in that port, for boards without a serial; NULL: any */
    unsigned index;     /* among the matching devices */
    unsigned iface;     /* ftdi: 0..3 = channel A..D; usb: the interface to claim */
    unsigned ep_in;     /* usb: bulk IN endpoint address (0x81) */
    unsigned ep_out;    /* usb: bulk OUT endpoint address (0x01) */
};

/* How to run it (set_mode). */
struct ftdi_io_mode {
    int mode;            /* FTDI_IO_MODE_* */
    unsigned baud;       /* UART */
    int flow;            /* UART: RTS/CTS */
    unsigned latency_ms; /* latency timer, 1..255 */
    unsigned chunk;      /* the largest transfer that will be submitted */
};

/* Filled by open(). */
struct ftdi_io_info {
    unsigned packet; /* bulk IN max packet size: 512 (high speed) or 64 */
    char chip[16];   /* "FT232H", "FT2232H", ... */
    char serial[32];
};

struct ftdi_io_xfer {
    uint8_t *buf;
    size_t len; /* bytes to send (OUT) or buffer size (IN; a multiple of the packet size) */
    int in;     /* nonzero: bulk IN */
    /* set by poll() when the transfer completes */
    int done;
    int status;    /* 0 or KMRIG_LINK_EGONE / ETIMEOUT / EIO */
    size_t actual; /* bytes moved */
    void *priv;    /* the backend's */
};

struct ftdi_io;

struct ftdi_io_ops {
    const char *name;
    /* ctx: the backend's (the model for the emulation; NULL for libftdi1). Returns 0, or
     * KMRIG_LINK_EIO (no such device: err says which were found), KMRIG_LINK_ENOMEM. */
    int (*open)(void *ctx, const struct ftdi_io_params *p, struct ftdi_io **out,
                struct ftdi_io_info *info, char *err, size_t n);
    void (*close)(struct ftdi_io *io);
    /* Puts the channel into the mode, sets the latency timer, purges both buffers. */
    int (*set_mode)(struct ftdi_io *io, const struct ftdi_io_mode *m, char *err, size_t n);
    /* Queues a bulk transfer. 0, or EGONE (device unplugged), EIO. */
    int (*submit)(struct ftdi_io *io, struct ftdi_io_xfer *x);
    /* Completes what finished, waiting at most timeout_us for the first completion: sets done,
     * status and actual. Returns the number completed, or EGONE once the device is gone. */
    int (*poll)(struct ftdi_io *io, unsigned timeout_us);
    /* Optional: the backend's clock in µs, which poll() timeouts count (the model's for the
     * emulation). NULL: CLOCK_MONOTONIC. */
    uint64_t (*now_us)(struct ftdi_io *io);
    /* Optional: pulses the board's reset line (not wired on FTDI boards: NULL). */
    int (*reset)(struct ftdi_io *io);
};

extern const struct ftdi_io_ops ftdi_io_libftdi; /* ftdi_usb.c, when libftdi1 was found */
extern const struct ftdi_io_ops usb_io_libusb;   /* usb_io.c, when libusb-1.0 was found */

#endif

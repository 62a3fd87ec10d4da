/* The ftdi transport's USB calls (ftdi_io.h): libftdi1 opens and configures the chip, libusb-1.0
 * moves the data with asynchronous bulk transfers on libftdi's device handle. Nothing else is
 * in this file: the packet layer and the pipe are link_ftdi.c, tested on the PHY model; this
 * file is the only part that needs a board.
 *
 * libftdi names the endpoints from the chip's side: ftdi->out_ep is the bulk IN endpoint the
 * host reads (0x81 for channel A), ftdi->in_ep the bulk OUT endpoint it writes.
 */
#include "ftdi_io.h"

#include <kmrig/link.h>

#include <ftdi.h>
#include <libusb.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#define FTDI_USB_MAX_INFLIGHT 32

struct ftdi_io {
    struct ftdi_context *ftdi;
    int gone;
    int completed; /* completions since the last poll (libusb's "completed" flag) */
    struct libusb_transfer *inflight[FTDI_USB_MAX_INFLIGHT];
};

static int usb_code(int rc)
{
    if (rc == LIBUSB_ERROR_NO_DEVICE)
        return KMRIG_LINK_EGONE;
    if (rc == LIBUSB_ERROR_TIMEOUT)
        return KMRIG_LINK_ETIMEOUT;
    if (rc == LIBUSB_ERROR_NO_MEM)
        return KMRIG_LINK_ENOMEM;
    return KMRIG_LINK_EIO;
}

static const char *chip_name(enum ftdi_chip_type t)
{
    switch (t) {
    case TYPE_232H:
        return "FT232H";
    case TYPE_2232H:
        return "FT2232H";
    case TYPE_4232H:
        return "FT4232H";
    case TYPE_R:
        return "FT232R";
    case TYPE_230X:
        return "FT230X";
    default:
        return "FTDI";
    }
}

/* The chip with vid:pid in the USB port p->path (a board without a serial, as `kmrig list`
 * names it), opened. 0, or a libftdi error code (its error string says why). */
static int open_by_path(struct ftdi_context *f, const struct ftdi_io_params *p)
{
    struct ftdi_device_list *list = NULL;
    int n = ftdi_usb_find_all(f, &list, (int)p->vid, (int)p->pid);
    if (n < 0)
        return n;
    int rc = -3; /* libftdi's "device not found" */
    for (struct ftdi_device_list *d = list; d; d = d->next) {
        char path[32];
        if (kmrig_usb_port_path(d->dev, path, sizeof path) == 0 && !strcmp(path, p->path)) {
            rc = ftdi_usb_open_dev(f, d->dev);
            break;
        }
    }
    ftdi_list_free(&list);
    return rc;
}

static int io_open(void *ctx, const struct ftdi_io_params *p, struct ftdi_io **out,
                   struct ftdi_io_info *info, char *err, size_t n)
{
    (void)ctx;
    struct ftdi_io *io = calloc(1, sizeof *io);
    if (!io)
        return KMRIG_LINK_ENOMEM;
    io->ftdi = ftdi_new();
    if (!io->ftdi) {
        free(io);
        return KMRIG_LINK_ENOMEM;
    }
    int rc = ftdi_set_interface(io->ftdi, (enum ftdi_interface)(INTERFACE_A + (int)p->iface));
    if (rc == 0 && p->path)
        rc = open_by_path(io->ftdi, p);
    else if (rc == 0)
        rc = ftdi_usb_open_desc_index(io->ftdi, (int)p->vid, (int)p->pid, p->desc, p->serial,
                                      p->index);
    if (rc < 0) {
        snprintf(
            err, n,
            "ftdi: cannot open %04x:%04x%s%s%s%s%s%s index %u channel %c: %s (is it plugged in, "
            "and does a udev rule give you access? docs/cli.md, Targets)",
            p->vid, p->pid, p->serial ? " serial " : "", p->serial ? p->serial : "",
            p->desc ? " description " : "", p->desc ? p->desc : "", p->path ? " in port " : "",
            p->path ? p->path : "", p->index, 'A' + p->iface, ftdi_get_error_string(io->ftdi));
        ftdi_free(io->ftdi);
        free(io);
        return KMRIG_LINK_EIO;
    }
    memset(info, 0, sizeof *info);
    info->packet = io->ftdi->max_packet_size;
    snprintf(info->chip, sizeof info->chip, "%s", chip_name(io->ftdi->type));
    struct libusb_device_descriptor dd;
    if (libusb_get_device_descriptor(libusb_get_device(io->ftdi->usb_dev), &dd) == 0 &&
        dd.iSerialNumber)
        libusb_get_string_descriptor_ascii(io->ftdi->usb_dev, dd.iSerialNumber,
                                           (unsigned char *)info->serial, sizeof info->serial);
    *out = io;
    return KMRIG_LINK_OK;
}

static int io_set_mode(struct ftdi_io *io, const struct ftdi_io_mode *m, char *err, size_t n)
{
    struct ftdi_context *f = io->ftdi;
    const char *what = "reset the bit mode";
    int rc = ftdi_set_bitmode(f, 0xFF, BITMODE_RESET);
    if (rc == 0 && m->mode == FTDI_IO_MODE_FIFO) {
        what = "enter synchronous 245 FIFO mode (is the EEPROM set to 245 FIFO?)";
        rc = ftdi_set_bitmode(f, 0xFF, BITMODE_SYNCFF);
    } else if (rc == 0) {
        what = "set the baud rate";
        rc = ftdi_set_baudrate(f, (int)m->baud);
        if (rc == 0) {
            what = "set 8N1";
            rc = ftdi_set_line_property(f, BITS_8, STOP_BIT_1, NONE);
        }
        if (rc == 0) {
            what = "set the flow control";
            rc = ftdi_setflowctrl(f, m->flow ? SIO_RTS_CTS_HS : SIO_DISABLE_FLOW_CTRL);
        }
    }
    if (rc == 0) {
        what = "set the latency timer";
        rc = ftdi_set_latency_timer(f, (unsigned char)m->latency_ms);
    }
    if (rc == 0) {
        ftdi_read_data_set_chunksize(f, m->chunk);
        ftdi_write_data_set_chunksize(f, m->chunk);
        what = "purge the buffers";
        rc = ftdi_tcioflush(f);
    }
    if (rc < 0) {
        snprintf(err, n, "ftdi: cannot %s: %s", what, ftdi_get_error_string(f));
        return rc == -666 ? KMRIG_LINK_EGONE : KMRIG_LINK_EIO; /* -666: USB device unavailable */
    }
    return KMRIG_LINK_OK;
}

static void LIBUSB_CALL xfer_done(struct libusb_transfer *t)
{
    struct ftdi_io_xfer *x = t->user_data;
    struct ftdi_io *io = x->priv;
    switch (t->status) {
    case LIBUSB_TRANSFER_COMPLETED:
        x->status = 0;
        break;
    case LIBUSB_TRANSFER_NO_DEVICE:
        x->status = KMRIG_LINK_EGONE;
        io->gone = 1;
        break;
    case LIBUSB_TRANSFER_TIMED_OUT:
        x->status = KMRIG_LINK_ETIMEOUT;
        break;
    default: /* error, stall, overflow, cancelled */
        x->status = KMRIG_LINK_EIO;
        break;
    }
    x->actual = (size_t)t->actual_length;
    x->done = 1;
    for (unsigned i = 0; i < FTDI_USB_MAX_INFLIGHT; i++)
        if (io->inflight[i] == t)
            io->inflight[i] = NULL;
    libusb_free_transfer(t);
    io->completed++;
}

static int io_submit(struct ftdi_io *io, struct ftdi_io_xfer *x)
{
    if (io->gone)
        return KMRIG_LINK_EGONE;
    unsigned slot = 0;
    while (slot < FTDI_USB_MAX_INFLIGHT && io->inflight[slot])
        slot++;
    if (slot == FTDI_USB_MAX_INFLIGHT)
        return KMRIG_LINK_EIO;
    struct libusb_transfer *t = libusb_alloc_transfer(0);
    if (!t)
        return KMRIG_LINK_ENOMEM;
    x->priv = io;
    x->done = 0;
    libusb_fill_bulk_transfer(t, io->ftdi->usb_dev,
                              (unsigned char)(x->in ? io->ftdi->out_ep : io->ftdi->in_ep), x->buf,
                              (int)x->len, xfer_done, x, 0);
    int rc = libusb_submit_transfer(t);
    if (rc < 0) {
        libusb_free_transfer(t);
        if (rc == LIBUSB_ERROR_NO_DEVICE)
            io->gone = 1;
        return usb_code(rc);
    }
    io->inflight[slot] = t;
    return KMRIG_LINK_OK;
}

static int io_poll(struct ftdi_io *io, unsigned timeout_us)
{
    struct timeval tv = {(time_t)(timeout_us / 1000000u), (suseconds_t)(timeout_us % 1000000u)};
    io->completed = 0;
    int rc = libusb_handle_events_timeout_completed(io->ftdi->usb_ctx, &tv, &io->completed);
    if (rc < 0 && rc != LIBUSB_ERROR_INTERRUPTED)
        return usb_code(rc);
    if (io->gone && !io->completed)
        return KMRIG_LINK_EGONE;
    return io->completed;
}

static void io_close(struct ftdi_io *io)
{
    for (unsigned i = 0; i < FTDI_USB_MAX_INFLIGHT; i++)
        if (io->inflight[i])
            libusb_cancel_transfer(io->inflight[i]);
    /* reap the cancellations (each ends in xfer_done), at most a second */
    for (int tries = 0; tries < 100; tries++) {
        unsigned left = 0;
        for (unsigned i = 0; i < FTDI_USB_MAX_INFLIGHT; i++)
            left += io->inflight[i] != NULL;
        if (!left)
            break;
        struct timeval tv = {0, 10000};
        libusb_handle_events_timeout(io->ftdi->usb_ctx, &tv);
    }
    if (!io->gone)
        ftdi_set_bitmode(io->ftdi, 0xFF, BITMODE_RESET);
    ftdi_usb_close(io->ftdi);
    ftdi_free(io->ftdi);
    free(io);
}

const struct ftdi_io_ops ftdi_io_libftdi = {
    .name = "libftdi1",
    .open = io_open,
    .close = io_close,
    .set_mode = io_set_mode,
    .submit = io_submit,
    .poll = io_poll,
};

const struct ftdi_io_ops *kmrig_ftdi_io_backend(void **ctx)
{
    *ctx = NULL;
    return &ftdi_io_libftdi;
}

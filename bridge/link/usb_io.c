/* The usb transport's USB calls (ftdi_io.h's seam): libusb-1.0 opens the device by VID:PID and
 * serial, claims the interface and moves data with asynchronous bulk transfers. Nothing else is
 * in this file; the pipe above it (link_ftdi.c, link_usb.c) is tested on the model. */
#include "ftdi_io.h"

#include <kmrig/link.h>

#include <libusb.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#define USB_IO_MAX_INFLIGHT 32

struct ftdi_io {
    libusb_context *ctx;
    libusb_device_handle *h;
    unsigned iface, ep_in, ep_out;
    int gone;
    int completed;
    struct libusb_transfer *inflight[USB_IO_MAX_INFLIGHT];
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

int kmrig_usb_port_path(void *libusb_dev, char *out, size_t n)
{
    uint8_t ports[8];
    libusb_device *dev = libusb_dev;
    int np = libusb_get_port_numbers(dev, ports, (int)sizeof ports);
    if (np <= 0)
        return -1;
    int len = snprintf(out, n, "%u-", (unsigned)libusb_get_bus_number(dev));
    for (int i = 0; i < np && len > 0 && (size_t)len < n; i++)
        len += snprintf(out + len, n - (size_t)len, i ? ".%u" : "%u", (unsigned)ports[i]);
    return len > 0 && (size_t)len < n ? 0 : -1;
}

/* The index-th device with vid:pid (and serial and port path, if given), opened. */
static libusb_device_handle *find(libusb_context *ctx, const struct ftdi_io_params *p, char *serial,
                                  size_t cap, unsigned *seen)
{
    libusb_device **list;
    ssize_t cnt = libusb_get_device_list(ctx, &list);
    libusb_device_handle *found = NULL;
    unsigned index = 0;
    *seen = 0;
    for (ssize_t i = 0; i < cnt && !found; i++) {
        struct libusb_device_descriptor dd;
        if (libusb_get_device_descriptor(list[i], &dd) || dd.idVendor != p->vid ||
            dd.idProduct != p->pid)
            continue;
        char path[32];
        if (p->path && (kmrig_usb_port_path(list[i], path, sizeof path) || strcmp(path, p->path)))
            continue;
        (*seen)++;
        libusb_device_handle *h;
        if (libusb_open(list[i], &h))
            continue;
        serial[0] = 0;
        if (dd.iSerialNumber)
            libusb_get_string_descriptor_ascii(h, dd.iSerialNumber, (unsigned char *)serial,
                                               (int)cap);
        if ((p->serial && strcmp(serial, p->serial)) || index++ != p->index) {
            libusb_close(h);
            continue;
        }
        found = h;
    }
    if (cnt >= 0)
        libusb_free_device_list(list, 1);
    return found;
}

static int io_open(void *unused, const struct ftdi_io_params *p, struct ftdi_io **out,
                   struct ftdi_io_info *info, char *err, size_t n)
{
    (void)unused;
    struct ftdi_io *io = calloc(1, sizeof *io);
    if (!io)
        return KMRIG_LINK_ENOMEM;
    int rc = libusb_init(&io->ctx);
    if (rc) {
        snprintf(err, n, "usb: libusb_init failed: %s", libusb_strerror((enum libusb_error)rc));
        free(io);
        return KMRIG_LINK_EIO;
    }
    memset(info, 0, sizeof *info);
    unsigned seen;
    io->h = find(io->ctx, p, info->serial, sizeof info->serial, &seen);
    if (!io->h) {
        snprintf(err, n,
                 "usb: no device %04x:%04x%s%s (index %u) could be opened (%u with that ID seen; "
                 "a udev rule must give you access, docs/cli.md, Targets)",
                 p->vid, p->pid, p->serial ? " serial " : "", p->serial ? p->serial : "", p->index,
                 seen);
        libusb_exit(io->ctx);
        free(io);
        return KMRIG_LINK_EIO;
    }
    libusb_set_auto_detach_kernel_driver(io->h, 1);
    rc = libusb_claim_interface(io->h, (int)p->iface);
    int mp =
        rc ? rc : libusb_get_max_packet_size(libusb_get_device(io->h), (unsigned char)p->ep_in);
    if (rc || mp <= 0) {
        snprintf(err, n, "usb: %04x:%04x: cannot %s: %s", p->vid, p->pid,
                 rc ? "claim the interface" : "find the IN endpoint",
                 libusb_strerror((enum libusb_error)(rc ? rc : mp)));
        if (!rc)
            libusb_release_interface(io->h, (int)p->iface);
        libusb_close(io->h);
        libusb_exit(io->ctx);
        free(io);
        return rc == LIBUSB_ERROR_NO_DEVICE ? KMRIG_LINK_EGONE : KMRIG_LINK_EIO;
    }
    io->iface = p->iface;
    io->ep_in = p->ep_in;
    io->ep_out = p->ep_out;
    info->packet = (unsigned)mp;
    snprintf(info->chip, sizeof info->chip, "USB");
    *out = io;
    return KMRIG_LINK_OK;
}

static int io_set_mode(struct ftdi_io *io, const struct ftdi_io_mode *m, char *err, size_t n)
{
    (void)m;
    /* a bulk device has no mode; start both endpoints clean */
    int rc = libusb_clear_halt(io->h, (unsigned char)io->ep_in);
    if (!rc)
        rc = libusb_clear_halt(io->h, (unsigned char)io->ep_out);
    if (rc) {
        snprintf(err, n, "usb: cannot clear the endpoints: %s",
                 libusb_strerror((enum libusb_error)rc));
        return usb_code(rc);
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
    default:
        x->status = KMRIG_LINK_EIO;
        break;
    }
    x->actual = (size_t)t->actual_length;
    x->done = 1;
    for (unsigned i = 0; i < USB_IO_MAX_INFLIGHT; i++)
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
    while (slot < USB_IO_MAX_INFLIGHT && io->inflight[slot])
        slot++;
    if (slot == USB_IO_MAX_INFLIGHT)
        return KMRIG_LINK_EIO;
    struct libusb_transfer *t = libusb_alloc_transfer(0);
    if (!t)
        return KMRIG_LINK_ENOMEM;
    x->priv = io;
    x->done = 0;
    libusb_fill_bulk_transfer(t, io->h, (unsigned char)(x->in ? io->ep_in : io->ep_out), x->buf,
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
    int rc = libusb_handle_events_timeout_completed(io->ctx, &tv, &io->completed);
    if (rc < 0 && rc != LIBUSB_ERROR_INTERRUPTED)
        return usb_code(rc);
    if (io->gone && !io->completed)
        return KMRIG_LINK_EGONE;
    return io->completed;
}

static void io_close(struct ftdi_io *io)
{
    for (unsigned i = 0; i < USB_IO_MAX_INFLIGHT; i++)
        if (io->inflight[i])
            libusb_cancel_transfer(io->inflight[i]);
    for (int tries = 0; tries < 100; tries++) {
        unsigned left = 0;
        for (unsigned i = 0; i < USB_IO_MAX_INFLIGHT; i++)
            left += io->inflight[i] != NULL;
        if (!left)
            break;
        struct timeval tv = {0, 10000};
        libusb_handle_events_timeout(io->ctx, &tv);
    }
    libusb_release_interface(io->h, (int)io->iface);
    libusb_close(io->h);
    libusb_exit(io->ctx);
    free(io);
}

const struct ftdi_io_ops usb_io_libusb = {
    .name = "libusb",
    .open = io_open,
    .close = io_close,
    .set_mode = io_set_mode,
    .submit = io_submit,
    .poll = io_poll,
};

const struct ftdi_io_ops *kmrig_usb_io_backend(void **ctx)
{
    *ctx = NULL;
    return &usb_io_libusb;
}

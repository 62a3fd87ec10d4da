/*
 * list_usb.c - the libusb-1.0 calls of `kmrig list` and nothing else (list.h): enumerate the
 * devices, read their descriptors and strings, and their port paths. Tests link a fake instead.
 */
#include "list.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef KMRIG_HAVE_LIBUSB
#include <libusb.h>

static void list_usb_string(libusb_device_handle *h, uint8_t index, char *out, size_t n)
{
    out[0] = 0;
    if (!h || !index)
        return;
    int got = libusb_get_string_descriptor_ascii(h, index, (unsigned char *)out, (int)n);
    out[got > 0 ? (size_t)got < n ? (size_t)got : n - 1 : 0] = 0;
}

int list_usb_enumerate(struct list_usb_device **out, char *err, size_t n)
{
    libusb_context *ctx = NULL;
    libusb_device **devs = NULL;
    *out = NULL;
    int rc = libusb_init(&ctx);
    if (rc < 0) {
        snprintf(err, n, "libusb_init failed: %s", libusb_strerror(rc));
        return LIST_USB_FAILED;
    }
    ssize_t count = libusb_get_device_list(ctx, &devs);
    if (count < 0) {
        snprintf(err, n, "libusb_get_device_list failed: %s", libusb_strerror((int)count));
        libusb_exit(ctx);
        return LIST_USB_FAILED;
    }
    struct list_usb_device *list = calloc((size_t)count + 1, sizeof *list);
    if (!list) {
        snprintf(err, n, "out of memory");
        libusb_free_device_list(devs, 1);
        libusb_exit(ctx);
        return LIST_USB_FAILED;
    }
    int k = 0;
    for (ssize_t i = 0; i < count; i++) {
        struct libusb_device_descriptor dd;
        if (libusb_get_device_descriptor(devs[i], &dd) < 0)
            continue;
        struct list_usb_device *d = &list[k++];
        d->vid = dd.idVendor;
        d->pid = dd.idProduct;
        d->bus = libusb_get_bus_number(devs[i]);
        int np = libusb_get_port_numbers(devs[i], d->ports, LIST_USB_MAX_PORTS);
        d->nports = np > 0 ? np : 0;
        libusb_device_handle *h = NULL;
        if (libusb_open(devs[i], &h) < 0)
            h = NULL;
        list_usb_string(h, dd.iSerialNumber, d->serial, sizeof d->serial);
        list_usb_string(h, dd.iManufacturer, d->manufacturer, sizeof d->manufacturer);
        list_usb_string(h, dd.iProduct, d->product, sizeof d->product);
        d->serial_state = !dd.iSerialNumber ? 0 : d->serial[0] ? 1 : -1;
        if (h)
            libusb_close(h);
    }
    libusb_free_device_list(devs, 1);
    libusb_exit(ctx);
    *out = list;
    return k;
}
#else
int list_usb_enumerate(struct list_usb_device **out, char *err, size_t n)
{
    *out = NULL;
    snprintf(err, n, "USB enumeration not built: libusb-1.0 was not found at build time");
    return LIST_USB_NOT_BUILT;
}
#endif

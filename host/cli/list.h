/*
 * list.h - `kmrig list` (list.c) and its seam to libusb (list_usb.c): the USB devices as plain
 * data, so that tests replace list_usb.c with a fake device set.
 */
#ifndef KMRIG_CLI_LIST_H
#define KMRIG_CLI_LIST_H

#include <stddef.h>
#include <stdint.h>

#define LIST_USB_MAX_PORTS 8
#define LIST_USB_FAILED (-1)
#define LIST_USB_NOT_BUILT (-2)

struct list_usb_device {
    uint16_t vid, pid;
    uint8_t bus;                       /* the bus number (stable: the host controller) */
    uint8_t ports[LIST_USB_MAX_PORTS]; /* the port path from the root hub */
    int nports;                        /* 0: unknown */
    int serial_state;                  /* 1 read, 0 the device has none, -1 not readable */
    char serial[128], manufacturer[128], product[128];
};

/* Enumerates the USB devices attached to this machine. Returns their number (>= 0) with *out
 * (malloc'ed; the caller frees it), or LIST_USB_FAILED / LIST_USB_NOT_BUILT with a sentence in
 * err. Strings the device has not, or that cannot be read without access to the device (see
 * docs/boards-bringup.md, udev), are "". */
int list_usb_enumerate(struct list_usb_device **out, char *err, size_t n);

#endif

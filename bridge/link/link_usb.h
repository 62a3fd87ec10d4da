/* The usb transport's byte pipe (link_usb.c): a board with its own USB bridge (an FX2/FX3 in
 * slave FIFO mode, a soft USB core in the FPGA) as two bulk endpoints, no framing of its own
 * (no status bytes), with asynchronous transfers kept queued: the bulk pipe of link_ftdi.c over
 * usb_io.c (libusb-1.0).
 *
 * URI:
 * "usb://VID:PID[,serial=S][,path=P][,ep_in=0x81][,ep_out=0x01][,iface=0][,xfers=N][,chunk=BYTES]"
 *   VID:PID  hex, required
 *   serial=  the device's serial string (default: the first match)
 *   path=    the USB port path ("1-2.3", as `kmrig list` prints it) for a device without a serial
 *   ep_in, ep_out  bulk endpoint addresses (default 0x81 and 0x01); ep_in needs bit 7 set,
 *            ep_out clear
 *   iface=   the interface to claim (default 0)
 *   xfers=, chunk=  as for ftdi (default 4 transfers of 16384 bytes)
 */
#ifndef KMRIG_LINK_USB_H
#define KMRIG_LINK_USB_H

#include "link_ftdi.h"

int kmrig_usb_parse_args(const char *args, struct kmrig_ftdi_args *a, char *err, size_t n);
int kmrig_usb_pipe_open(const char *args, const struct ftdi_io_ops *io, void *ctx,
                        struct kmrig_pipe **out, char *err, size_t n);

#endif

/* The chip emulation behind the ftdi transport's USB seam (bridge/link/ftdi_io.h): the FTDI
 * chip and the FPGA behind it are the PHY model (kmrig/phy_model.h); this file plays the USB
 * host controller: it queues bulk transfers, moves OUT data into the chip as its buffer takes
 * packets, fills IN transfers packet by packet and completes them when full or on a short
 * packet, as libusb does. The model's clock advances only inside poll(), by its timeout. */
#ifndef KMRIG_FTDI_EMU_H
#define KMRIG_FTDI_EMU_H

#include "ftdi_io.h"

#include <kmrig/phy_model.h>

#include <pthread.h>

struct ftdi_emu {
    struct kmrig_phy_model *model;
    unsigned packet;  /* the chip's max packet size (512) */
    const char *chip; /* "FT232H" / "FT2232H" */
    /* a plain bulk bridge (usb transport): IN packets carry the chip's data without the status
     * bytes, and nothing is sent when there is no data */
    int raw;
    /* fault injection: the device is unplugged once this many data bytes went IN (0: never) */
    uint64_t gone_after_in;
    /* set by ftdi_emu_unplug: the device vanishes at the next poll */
    int unplug;
    /* the model is stepped by whichever thread polls (the stream engine's reader, its sender):
     * the pipe serialises those; this lock also covers the test's own calls below */
    pthread_mutex_t lock;
    /* observed */
    int mode_set;
    struct ftdi_io_mode mode;
    uint64_t in_data; /* data bytes (without status) delivered in IN packets */
};

/* Zeroes *e and sets up its lock; then fill model, packet, chip, raw, gone_after_in. */
void ftdi_emu_init(struct ftdi_emu *e);
void ftdi_emu_destroy(struct ftdi_emu *e);
/* The model's external interrupt inputs, between two polls. */
void ftdi_emu_set_irq_ext(struct ftdi_emu *e, unsigned mask);
/* The device is unplugged: everything in flight and every later call fails with EGONE. */
void ftdi_emu_unplug(struct ftdi_emu *e);

extern const struct ftdi_io_ops ftdi_io_emu; /* open()'s ctx: a struct ftdi_emu */

#endif

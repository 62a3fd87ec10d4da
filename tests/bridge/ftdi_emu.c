/* The USB host side of the chip emulation (ftdi_emu.h). */
#include "ftdi_emu.h"

#include <kmrig/link.h>

#include <stdlib.h>
#include <string.h>

#define EMU_MAX 32
#define EMU_STEP_NS 1000u /* the model runs in 1 µs steps between USB activity */

struct ftdi_io {
    struct ftdi_emu *e;
    int gone;
    struct ftdi_io_xfer *outq[EMU_MAX], *inq[EMU_MAX]; /* in submission order */
    unsigned nout, nin;
    uint8_t pkt[1024];
};

static int emu_open(void *ctx, const struct ftdi_io_params *p, struct ftdi_io **out,
                    struct ftdi_io_info *info, char *err, size_t n)
{
    (void)p;
    (void)err;
    (void)n;
    struct ftdi_emu *e = ctx;
    struct ftdi_io *io = calloc(1, sizeof *io);
    if (!io)
        return KMRIG_LINK_ENOMEM;
    io->e = e;
    memset(info, 0, sizeof *info);
    info->packet = e->packet ? e->packet : 512;
    strncpy(info->chip, e->chip ? e->chip : "FT232H", sizeof info->chip - 1);
    strcpy(info->serial, "EMU00001");
    *out = io;
    return KMRIG_LINK_OK;
}

static void emu_close(struct ftdi_io *io)
{
    free(io);
}

static int emu_set_mode(struct ftdi_io *io, const struct ftdi_io_mode *m, char *err, size_t n)
{
    (void)err;
    (void)n;
    io->e->mode_set = 1;
    io->e->mode = *m;
    return KMRIG_LINK_OK;
}

void ftdi_emu_init(struct ftdi_emu *e)
{
    memset(e, 0, sizeof *e);
    pthread_mutex_init(&e->lock, NULL);
}

void ftdi_emu_destroy(struct ftdi_emu *e)
{
    pthread_mutex_destroy(&e->lock);
}

void ftdi_emu_set_irq_ext(struct ftdi_emu *e, unsigned mask)
{
    pthread_mutex_lock(&e->lock);
    kmrig_phy_model_set_irq_ext(e->model, mask);
    pthread_mutex_unlock(&e->lock);
}

void ftdi_emu_unplug(struct ftdi_emu *e)
{
    pthread_mutex_lock(&e->lock);
    e->unplug = 1;
    pthread_mutex_unlock(&e->lock);
}

static int emu_submit_locked(struct ftdi_io *io, struct ftdi_io_xfer *x)
{
    if (io->gone || io->e->unplug)
        return KMRIG_LINK_EGONE;
    x->done = 0;
    x->actual = 0;
    x->status = 0;
    if (x->in) {
        if (io->nin == EMU_MAX)
            return KMRIG_LINK_EIO;
        io->inq[io->nin++] = x;
    } else {
        if (io->nout == EMU_MAX)
            return KMRIG_LINK_EIO;
        io->outq[io->nout++] = x;
    }
    return KMRIG_LINK_OK;
}

static int emu_submit(struct ftdi_io *io, struct ftdi_io_xfer *x)
{
    pthread_mutex_lock(&io->e->lock);
    int rc = emu_submit_locked(io, x);
    pthread_mutex_unlock(&io->e->lock);
    return rc;
}

static void pop(struct ftdi_io_xfer **q, unsigned *n)
{
    memmove(q, q + 1, (*n - 1) * sizeof *q);
    (*n)--;
}

/* Unplugged: everything in flight ends with NO_DEVICE. */
static int unplug(struct ftdi_io *io)
{
    int c = 0;
    io->gone = 1;
    while (io->nin) {
        io->inq[0]->done = 1;
        io->inq[0]->status = KMRIG_LINK_EGONE;
        pop(io->inq, &io->nin);
        c++;
    }
    while (io->nout) {
        io->outq[0]->done = 1;
        io->outq[0]->status = KMRIG_LINK_EGONE;
        pop(io->outq, &io->nout);
        c++;
    }
    return c;
}

/* Moves what the USB can move now; returns the transfers completed. */
static int usb_step(struct ftdi_io *io)
{
    struct ftdi_emu *e = io->e;
    int c = 0;
    while (io->nout) {
        struct ftdi_io_xfer *x = io->outq[0];
        x->actual += kmrig_phy_model_bulk_out(e->model, x->buf + x->actual, x->len - x->actual);
        if (x->actual < x->len)
            break;
        x->done = 1;
        pop(io->outq, &io->nout);
        c++;
    }
    unsigned pk = e->packet ? e->packet : 512;
    while (io->nin) {
        struct ftdi_io_xfer *x = io->inq[0];
        int ended = 0;
        while (x->len - x->actual >= pk) {
            size_t got = kmrig_phy_model_bulk_in(e->model, io->pkt, sizeof io->pkt);
            if (!got)
                break;
            size_t skip = e->raw ? 2 : 0;
            if (got == skip)
                break; /* a plain bulk device sends no empty packets */
            memcpy(x->buf + x->actual, io->pkt + skip, got - skip);
            x->actual += got - skip;
            e->in_data += got - 2;
            if (e->gone_after_in && e->in_data >= e->gone_after_in)
                return c + unplug(io);
            if (got - skip < pk) {
                ended = 1; /* a short packet ends the transfer */
                break;
            }
        }
        if (!ended && x->actual < x->len)
            break;
        x->done = 1;
        pop(io->inq, &io->nin);
        c++;
    }
    return c;
}

static int emu_poll_locked(struct ftdi_io *io, unsigned timeout_us)
{
    if (io->gone)
        return KMRIG_LINK_EGONE;
    if (io->e->unplug)
        return unplug(io);
    uint64_t end = kmrig_phy_model_now_ns(io->e->model) + (uint64_t)timeout_us * 1000u;
    int c = usb_step(io);
    while (!c && !io->gone && kmrig_phy_model_now_ns(io->e->model) < end) {
        kmrig_phy_model_run_ns(io->e->model, EMU_STEP_NS);
        c = usb_step(io);
    }
    return c;
}

static int emu_poll(struct ftdi_io *io, unsigned timeout_us)
{
    pthread_mutex_lock(&io->e->lock);
    int rc = emu_poll_locked(io, timeout_us);
    pthread_mutex_unlock(&io->e->lock);
    return rc;
}

static uint64_t emu_now_us(struct ftdi_io *io)
{
    pthread_mutex_lock(&io->e->lock);
    uint64_t t = kmrig_phy_model_now_ns(io->e->model) / 1000u;
    pthread_mutex_unlock(&io->e->lock);
    return t;
}

const struct ftdi_io_ops ftdi_io_emu = {
    .name = "ftdi-emu",
    .open = emu_open,
    .close = emu_close,
    .set_mode = emu_set_mode,
    .submit = emu_submit,
    .poll = emu_poll,
    .now_us = emu_now_us,
};

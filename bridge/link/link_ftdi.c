/* The ftdi transport's packet layer and byte pipe (link_ftdi.h): URI parsing, FTDI status bytes,
 * transfer sizes, IN transfers kept in flight. Every libftdi1/libusb call is in ftdi_usb.c,
 * behind struct ftdi_io_ops, so this file runs unchanged against the chip emulation on the PHY
 * model (tests/bridge/test_ftdi_phy.c).
 *
 * Packet layer: each bulk IN transfer is a sequence of USB packets of `packet` bytes (512 at
 * high speed), the last one possibly short; every packet starts with 2 status bytes (modem
 * status, line status) that are not data. They are stripped here, packet by packet; line status
 * errors (overrun, parity, framing, break, FIFO error) are counted (the protocol's CRC decides
 * what they cost). A packet shorter than 2 bytes is a protocol error (EIO).
 */
#include "link_ftdi.h"
#include "stream.h"

#include <kmrig/link.h>

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define FTDI_MAX_XFERS 8
#define FTDI_LS_ERRORS 0x9Eu /* OE, PE, FE, BI, RX FIFO error */
#define FTDI_SLICE_US 1000u  /* the longest one poll holds the lock */

struct ftdi_pipe {
    struct kmrig_pipe pipe;
    const struct ftdi_io_ops *ops;
    struct ftdi_io *io;
    struct ftdi_io_info info;
    struct kmrig_ftdi_args args;
    unsigned status_bytes; /* at the start of every IN packet: 2 (FTDI) or 0 (usb) */
    pthread_mutex_t lk;
    int gone;
    int error; /* sticky transport error (EIO) */
    struct kmrig_ftdi_stats st;
    /* IN: xfers transfers of chunk bytes, completed in submission order */
    struct ftdi_io_xfer in[FTDI_MAX_XFERS];
    int in_busy[FTDI_MAX_XFERS];
    unsigned in_next; /* the oldest one */
    /* received data not yet taken by recv() */
    uint8_t *ring;
    size_t ring_cap, ring_head, ring_len;
    /* OUT */
    struct ftdi_io_xfer out[FTDI_MAX_XFERS];
    int out_busy[FTDI_MAX_XFERS];
    unsigned out_next;
};

/* ---- URI -------------------------------------------------------------------------------- */

static int say(char *err, size_t n, const char *fmt, const char *a)
{
    if (err && n)
        snprintf(err, n, fmt, a);
    return KMRIG_LINK_EINVAL;
}

static int parse_uint(const char *s, unsigned base, unsigned long lo, unsigned long hi,
                      unsigned *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, base);
    if (errno || end == s || *end || v < lo || v > hi || *s == '-')
        return -1;
    *out = (unsigned)v;
    return 0;
}

int kmrig_usb_path_valid(const char *s)
{
    /* BUS-PORT[.PORT]...: a number, '-', then 1..7 numbers separated by '.' */
    unsigned ports = 0;
    if (!isdigit((unsigned char)*s))
        return 0;
    while (isdigit((unsigned char)*s))
        s++;
    if (*s++ != '-')
        return 0;
    for (;;) {
        if (!isdigit((unsigned char)*s) || ++ports > 7)
            return 0;
        while (isdigit((unsigned char)*s))
            s++;
        if (!*s)
            return 1;
        if (*s++ != '.')
            return 0;
    }
}

int kmrig_ftdi_parse_args(const char *args, struct kmrig_ftdi_args *a, char *err, size_t n)
{
    memset(a, 0, sizeof *a);
    a->dev.vid = 0x0403;
    a->dev.pid = 0x6014;
    a->mode.mode = FTDI_IO_MODE_FIFO;
    a->mode.baud = 2000000;
    a->mode.flow = 1;
    a->xfers = 4;
    unsigned latency = 0, chunk = 0;
    char buf[512];
    if (strlen(args) >= sizeof buf)
        return say(err, n, "ftdi: arguments too long%s", "");
    strcpy(buf, args);
    char *save = NULL;
    int first = 1;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save), first = 0) {
        char *eq = strchr(tok, '=');
        if (!eq) {
            char *colon = strchr(tok, ':');
            if (!first || !colon)
                return say(err, n, "ftdi: '%s' is not KEY=VALUE (or VID:PID first)", tok);
            *colon = 0;
            if (parse_uint(tok, 16, 0, 0xFFFF, &a->dev.vid) ||
                parse_uint(colon + 1, 16, 0, 0xFFFF, &a->dev.pid)) {
                *colon = ':';
                return say(err, n, "ftdi: '%s' is not a hex VID:PID", tok);
            }
            continue;
        }
        *eq = 0;
        const char *k = tok, *v = eq + 1;
        if (!strcmp(k, "s") || !strcmp(k, "serial")) {
            if (strlen(v) >= sizeof a->serial || !*v)
                return say(err, n, "ftdi: bad serial '%s'", v);
            strcpy(a->serial, v);
        } else if (!strcmp(k, "d") || !strcmp(k, "desc")) {
            if (strlen(v) >= sizeof a->desc || !*v)
                return say(err, n, "ftdi: bad description '%s'", v);
            strcpy(a->desc, v);
        } else if (!strcmp(k, "path")) {
            if (strlen(v) >= sizeof a->path || !kmrig_usb_path_valid(v))
                return say(err, n, "ftdi: path '%s' is not a USB port path like 1-2.3", v);
            strcpy(a->path, v);
        } else if (!strcmp(k, "i") || !strcmp(k, "interface")) {
            if (strlen(v) != 1 || !strchr("ABCDabcd", v[0]))
                return say(err, n, "ftdi: interface '%s' is not A, B, C or D", v);
            a->dev.iface = (unsigned)((v[0] | 0x20) - 'a');
        } else if (!strcmp(k, "index")) {
            if (parse_uint(v, 10, 0, 255, &a->dev.index))
                return say(err, n, "ftdi: index '%s' is not 0..255", v);
        } else if (!strcmp(k, "mode")) {
            if (!strcmp(v, "fifo"))
                a->mode.mode = FTDI_IO_MODE_FIFO;
            else if (!strcmp(v, "uart"))
                a->mode.mode = FTDI_IO_MODE_UART;
            else
                return say(err, n, "ftdi: mode '%s' is not fifo or uart", v);
        } else if (!strcmp(k, "baud")) {
            if (parse_uint(v, 10, 300, 12000000, &a->mode.baud))
                return say(err, n, "ftdi: baud '%s' is not 300..12000000", v);
        } else if (!strcmp(k, "flow")) {
            unsigned f;
            if (parse_uint(v, 10, 0, 1, &f))
                return say(err, n, "ftdi: flow '%s' is not 0 or 1", v);
            a->mode.flow = (int)f;
        } else if (!strcmp(k, "latency")) {
            if (parse_uint(v, 10, 1, 255, &latency))
                return say(err, n, "ftdi: latency '%s' is not 1..255 (ms)", v);
        } else if (!strcmp(k, "xfers")) {
            if (parse_uint(v, 10, 1, FTDI_MAX_XFERS, &a->xfers))
                return say(err, n, "ftdi: xfers '%s' is not 1..8", v);
        } else if (!strcmp(k, "chunk")) {
            if (parse_uint(v, 10, 512, 65536, &chunk) || chunk % 512)
                return say(err, n, "ftdi: chunk '%s' is not a multiple of 512 in 512..65536", v);
        } else {
            return say(
                err, n,
                "ftdi: unknown argument '%s' (VID:PID, s=, d=, path=, index=, i=, mode=, baud=, "
                "flow=, latency=, xfers=, chunk=)",
                k);
        }
    }
    int uart = a->mode.mode == FTDI_IO_MODE_UART;
    a->mode.latency_ms = latency ? latency : (uart ? 1u : 2u);
    a->mode.chunk = chunk ? chunk : (uart ? 4096u : 16384u);
    a->dev.serial = a->serial[0] ? a->serial : NULL;
    a->dev.desc = a->desc[0] ? a->desc : NULL;
    a->dev.path = a->path[0] ? a->path : NULL;
    return KMRIG_LINK_OK;
}

/* ---- packet layer ----------------------------------------------------------------------- */

static size_t ring_free(const struct ftdi_pipe *f)
{
    return f->ring_cap - f->ring_len;
}

static void ring_put(struct ftdi_pipe *f, const uint8_t *p, size_t n)
{
    size_t tail = (f->ring_head + f->ring_len) % f->ring_cap;
    for (size_t done = 0; done < n;) {
        size_t run = f->ring_cap - tail;
        if (run > n - done)
            run = n - done;
        memcpy(f->ring + tail, p + done, run);
        done += run;
        tail = (tail + run) % f->ring_cap;
    }
    f->ring_len += n;
}

static size_t ring_get(struct ftdi_pipe *f, uint8_t *p, size_t cap)
{
    size_t n = f->ring_len < cap ? f->ring_len : cap;
    for (size_t done = 0; done < n;) {
        size_t run = f->ring_cap - f->ring_head;
        if (run > n - done)
            run = n - done;
        memcpy(p + done, f->ring + f->ring_head, run);
        done += run;
        f->ring_head = (f->ring_head + run) % f->ring_cap;
    }
    f->ring_len -= n;
    return n;
}

static void mark_gone(struct ftdi_pipe *f)
{
    f->gone = 1;
}

/* Strips the status bytes of one completed IN transfer into the ring. */
static int take_in(struct ftdi_pipe *f, const struct ftdi_io_xfer *x)
{
    unsigned pk = f->info.packet;
    f->st.in_xfers++;
    if (x->actual % pk || x->actual == 0)
        f->st.short_xfers++;
    for (size_t off = 0; off < x->actual; off += pk) {
        size_t len = x->actual - off < pk ? x->actual - off : pk;
        const uint8_t *p = x->buf + off;
        f->st.in_packets++;
        if (f->status_bytes) {
            if (len < 2)
                return KMRIG_LINK_EIO; /* a packet without its status bytes */
            f->st.last_status[0] = p[0];
            f->st.last_status[1] = p[1];
            if (p[1] & FTDI_LS_ERRORS)
                f->st.line_errors++;
            if (len == 2)
                f->st.status_only++;
        }
        ring_put(f, p + f->status_bytes, len - f->status_bytes);
        f->st.in_bytes += len - f->status_bytes;
    }
    return KMRIG_LINK_OK;
}

static unsigned in_flight(const struct ftdi_pipe *f)
{
    unsigned c = 0;
    for (unsigned i = 0; i < f->args.xfers; i++)
        c += (unsigned)f->in_busy[i];
    return c;
}

/* Keeps every IN transfer in flight for which the ring has room (its data at most). */
static int submit_ins(struct ftdi_pipe *f)
{
    for (unsigned k = 0; k < f->args.xfers; k++) {
        unsigned i = (f->in_next + k) % f->args.xfers;
        if (f->in_busy[i])
            continue;
        size_t reserved = 0;
        for (unsigned j = 0; j < f->args.xfers; j++)
            reserved += f->in_busy[j] ? f->in[j].len : 0;
        if (ring_free(f) < reserved + f->in[i].len)
            break;
        struct ftdi_io_xfer *x = &f->in[i];
        x->done = 0;
        x->status = 0;
        x->actual = 0;
        int rc = f->ops->submit(f->io, x);
        if (rc == KMRIG_LINK_EGONE) {
            mark_gone(f);
            return rc;
        }
        if (rc)
            return rc;
        f->in_busy[i] = 1;
        unsigned fl = in_flight(f);
        if (fl > f->st.max_in_flight)
            f->st.max_in_flight = fl;
    }
    return KMRIG_LINK_OK;
}

/* One poll of the backend, then IN completions in order, then resubmission. */
static int pump(struct ftdi_pipe *f, unsigned timeout_us)
{
    if (f->gone)
        return KMRIG_LINK_EGONE;
    if (f->error)
        return f->error;
    int rc = submit_ins(f);
    if (rc)
        return rc;
    rc = f->ops->poll(f->io, timeout_us);
    if (rc == KMRIG_LINK_EGONE) {
        mark_gone(f);
        return rc;
    }
    if (rc < 0)
        return f->error = rc;
    while (f->in_busy[f->in_next] && f->in[f->in_next].done) {
        struct ftdi_io_xfer *x = &f->in[f->in_next];
        f->in_busy[f->in_next] = 0;
        f->in_next = (f->in_next + 1) % f->args.xfers;
        if (x->status == KMRIG_LINK_EGONE) {
            mark_gone(f);
            return KMRIG_LINK_EGONE;
        }
        if (x->status && x->status != KMRIG_LINK_ETIMEOUT)
            return f->error = x->status;
        if ((rc = take_in(f, x)) != KMRIG_LINK_OK)
            return f->error = rc;
    }
    return submit_ins(f);
}

static uint64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Deadlines count the backend's clock (the model's time for the emulation). */
static uint64_t now_us(const struct ftdi_pipe *f)
{
    return f->ops->now_us ? f->ops->now_us(f->io) : mono_us();
}

struct waiter {
    uint64_t deadline;
};

static void wait_start(struct waiter *w, const struct ftdi_pipe *f, unsigned timeout_us)
{
    w->deadline = now_us(f) + timeout_us;
}

/* The next poll's timeout: what is left, at most one slice (0 once the deadline passed). */
static unsigned wait_slice(struct waiter *w, const struct ftdi_pipe *f)
{
    uint64_t now = now_us(f);
    if (now >= w->deadline)
        return 0;
    uint64_t left = w->deadline - now;
    return (unsigned)(left < FTDI_SLICE_US ? left : FTDI_SLICE_US);
}

static long pipe_recv(struct kmrig_pipe *p, void *buf, size_t cap, unsigned timeout_us)
{
    struct ftdi_pipe *f = p->ctx;
    struct waiter w;
    long rc = 0;
    pthread_mutex_lock(&f->lk);
    wait_start(&w, f, timeout_us);
    for (;;) {
        if (f->ring_len) {
            rc = (long)ring_get(f, buf, cap);
            break;
        }
        unsigned slice = wait_slice(&w, f);
        int r = pump(f, slice);
        if (r) {
            rc = r;
            break;
        }
        if (f->ring_len)
            continue;
        if (!slice)
            break;
        /* let a sender in between slices */
        pthread_mutex_unlock(&f->lk);
        pthread_mutex_lock(&f->lk);
    }
    pthread_mutex_unlock(&f->lk);
    return rc;
}

static int pipe_send(struct kmrig_pipe *p, const void *data, size_t n, unsigned timeout_us)
{
    struct ftdi_pipe *f = p->ctx;
    const uint8_t *src = data;
    size_t off = 0;
    int rc = KMRIG_LINK_OK;
    struct waiter w;
    pthread_mutex_lock(&f->lk);
    wait_start(&w, f, timeout_us);
    for (;;) {
        if (f->gone) {
            rc = KMRIG_LINK_EGONE;
            break;
        }
        /* fill the free OUT transfers, oldest slot first */
        for (unsigned k = 0; k < f->args.xfers && off < n; k++) {
            unsigned i = (f->out_next + k) % f->args.xfers;
            if (f->out_busy[i])
                continue;
            struct ftdi_io_xfer *x = &f->out[i];
            size_t len = n - off < f->args.mode.chunk ? n - off : f->args.mode.chunk;
            memcpy(x->buf, src + off, len);
            x->len = len;
            x->done = 0;
            x->status = 0;
            x->actual = 0;
            rc = f->ops->submit(f->io, x);
            if (rc == KMRIG_LINK_EGONE)
                mark_gone(f);
            if (rc)
                break;
            f->out_busy[i] = 1;
            off += len;
        }
        if (rc)
            break;
        /* reap finished OUT transfers */
        int busy = 0;
        for (unsigned i = 0; i < f->args.xfers; i++) {
            if (!f->out_busy[i])
                continue;
            struct ftdi_io_xfer *x = &f->out[i];
            if (!x->done) {
                busy = 1;
                continue;
            }
            f->out_busy[i] = 0;
            f->out_next = (i + 1) % f->args.xfers;
            if (x->status == KMRIG_LINK_EGONE)
                mark_gone(f);
            if (x->status && !rc)
                rc = x->status;
            f->st.out_bytes += x->actual;
        }
        if (rc || (off == n && !busy))
            break;
        unsigned slice = wait_slice(&w, f);
        if (!slice) {
            rc = KMRIG_LINK_ETIMEOUT;
            break;
        }
        int r = pump(f, slice);
        if (r) {
            rc = r;
            break;
        }
    }
    pthread_mutex_unlock(&f->lk);
    return rc;
}

static int pipe_reset(struct kmrig_pipe *p)
{
    struct ftdi_pipe *f = p->ctx;
    if (!f->ops->reset)
        return KMRIG_LINK_ENOTSUP;
    pthread_mutex_lock(&f->lk);
    int rc = f->gone ? KMRIG_LINK_EGONE : f->ops->reset(f->io);
    pthread_mutex_unlock(&f->lk);
    return rc;
}

static void pipe_close(struct kmrig_pipe *p)
{
    struct ftdi_pipe *f = p->ctx;
    f->ops->close(f->io); /* cancels and reaps what is in flight */
    pthread_mutex_destroy(&f->lk);
    for (unsigned i = 0; i < FTDI_MAX_XFERS; i++) {
        free(f->in[i].buf);
        free(f->out[i].buf);
    }
    free(f->ring);
    free(f);
}

static const struct kmrig_pipe_ops ftdi_fifo_pipe_ops = {
    .name = "ftdi-fifo",
    .send = pipe_send,
    .recv = pipe_recv,
    .reset = pipe_reset,
    .close = pipe_close,
};

static const struct kmrig_pipe_ops ftdi_uart_pipe_ops = {
    .name = "ftdi-uart",
    .send = pipe_send,
    .recv = pipe_recv,
    .reset = pipe_reset,
    .close = pipe_close,
};

void kmrig_ftdi_pipe_stats(struct kmrig_pipe *p, struct kmrig_ftdi_stats *s)
{
    struct ftdi_pipe *f = p->ctx;
    pthread_mutex_lock(&f->lk);
    *s = f->st;
    pthread_mutex_unlock(&f->lk);
}

static const struct kmrig_pipe_ops usb_bulk_pipe_ops = {
    .name = "usb-bulk",
    .send = pipe_send,
    .recv = pipe_recv,
    .reset = pipe_reset,
    .close = pipe_close,
};

int kmrig_ftdi_pipe_open(const char *args, const struct ftdi_io_ops *io, void *ctx,
                         struct kmrig_pipe **out, char *err, size_t n)
{
    *out = NULL;
    if (err && n)
        err[0] = 0;
    struct kmrig_ftdi_args a;
    int rc = kmrig_ftdi_parse_args(args ? args : "", &a, err, n);
    return rc ? rc : kmrig_bulk_pipe_open(&a, io, ctx, 2, out, err, n);
}

int kmrig_bulk_pipe_open(const struct kmrig_ftdi_args *a, const struct ftdi_io_ops *io, void *ctx,
                         unsigned status_bytes, struct kmrig_pipe **out, char *err, size_t n)
{
    *out = NULL;
    struct ftdi_pipe *f = calloc(1, sizeof *f);
    if (!f)
        return KMRIG_LINK_ENOMEM;
    int rc = KMRIG_LINK_OK;
    f->args = *a;
    f->args.dev.serial = f->args.serial[0] ? f->args.serial : NULL;
    f->args.dev.desc = f->args.desc[0] ? f->args.desc : NULL;
    f->status_bytes = status_bytes;
    f->ops = io;
    pthread_mutex_init(&f->lk, NULL);
    size_t chunk = f->args.mode.chunk;
    f->ring_cap = chunk * (f->args.xfers + 2u);
    f->ring = malloc(f->ring_cap);
    rc = f->ring ? KMRIG_LINK_OK : KMRIG_LINK_ENOMEM;
    for (unsigned i = 0; i < f->args.xfers && !rc; i++) {
        f->in[i].buf = malloc(chunk);
        f->in[i].len = chunk;
        f->in[i].in = 1;
        f->out[i].buf = malloc(chunk);
        if (!f->in[i].buf || !f->out[i].buf)
            rc = KMRIG_LINK_ENOMEM;
    }
    int opened = 0;
    if (!rc && (rc = io->open(ctx, &f->args.dev, &f->io, &f->info, err, n)) == KMRIG_LINK_OK)
        opened = 1;
    if (!rc && (!f->info.packet || chunk % f->info.packet)) {
        snprintf(err, n, "ftdi: the device's packet size %u does not divide the chunk %zu",
                 f->info.packet, chunk);
        rc = KMRIG_LINK_EINVAL;
    }
    if (!rc)
        rc = io->set_mode(f->io, &f->args.mode, err, n);
    if (!rc)
        rc = submit_ins(f);
    if (rc) {
        if (opened)
            io->close(f->io);
        f->io = NULL;
        pthread_mutex_destroy(&f->lk);
        for (unsigned i = 0; i < FTDI_MAX_XFERS; i++) {
            free(f->in[i].buf);
            free(f->out[i].buf);
        }
        free(f->ring);
        free(f);
        return rc;
    }
    int uart = f->args.mode.mode == FTDI_IO_MODE_UART;
    f->pipe.ops = !status_bytes ? &usb_bulk_pipe_ops
                  : uart        ? &ftdi_uart_pipe_ops
                                : &ftdi_fifo_pipe_ops;
    f->pipe.ctx = f;
    f->pipe.send_chunk = chunk;
    /* payload per direction: sync FIFO ~40 MB/s (USB 2.0 bulk and the 60 MHz half-duplex bus);
     * UART: 10 bits per byte; less the status bytes' share either way */
    uint64_t raw = uart ? f->args.mode.baud / 10u : 40000000u;
    f->pipe.byte_rate = raw * (f->info.packet - status_bytes) / f->info.packet;
    /* short: the engine puts it after the board and build in a 96-byte description */
    if (status_bytes)
        snprintf(f->pipe.description, sizeof f->pipe.description, "%s %s/%c %s", f->info.chip,
                 f->info.serial[0] ? f->info.serial : "-", 'A' + f->args.dev.iface,
                 uart ? "uart" : "fifo");
    else
        snprintf(f->pipe.description, sizeof f->pipe.description, "usb %04x:%04x %s",
                 f->args.dev.vid, f->args.dev.pid, f->info.serial[0] ? f->info.serial : "-");
    *out = &f->pipe;
    return KMRIG_LINK_OK;
}

/* ---- the link: the stream engine over the pipe ------------------------------------------ */

/* Splits the URI arguments: the stream engine's keys (kmrig_stream_is_arg) to eng, the rest to
 * mine. Returns 0 or EINVAL (too long). */
int kmrig_bulk_split_args(const char *args, char *mine, char *eng, size_t cap)
{
    char buf[512];
    mine[0] = eng[0] = 0;
    if (strlen(args) >= sizeof buf)
        return KMRIG_LINK_EINVAL;
    strcpy(buf, args);
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *dst = kmrig_stream_is_arg(tok) ? eng : mine;
        size_t used = strlen(dst);
        int k = snprintf(dst + used, cap - used, "%s%s", used ? "," : "", tok);
        if (k < 0 || (size_t)k >= cap - used)
            return KMRIG_LINK_EINVAL;
    }
    return KMRIG_LINK_OK;
}

#ifdef KMRIG_HAVE_LIBFTDI
struct ftdi_link {
    struct kmrig_stream *stream; /* first: the engine's hooks find it here */
};

static int ftdi_link_open(struct kmrig_link *link, const char *args, struct kmrig_link_info *info)
{
    struct ftdi_link *p = kmrig_link_priv(link);
    char mine[512], eng[512], err[256] = "";
    if (kmrig_bulk_split_args(args, mine, eng, sizeof mine)) {
        kmrig_link_set_open_error(link, "ftdi: arguments too long");
        return KMRIG_LINK_EINVAL;
    }
    struct kmrig_ftdi_args a;
    int rc = kmrig_ftdi_parse_args(mine, &a, err, sizeof err);
    /* the protocol requires the CRC-32 on a UART (docs/protocol.md, section 2) */
    if (!rc && a.mode.mode == FTDI_IO_MODE_UART && !strstr(eng, "crc") &&
        strlen(eng) + 5 < sizeof eng)
        strcat(eng, eng[0] ? ",crc" : "crc");
    void *ctx = NULL;
    const struct ftdi_io_ops *io = kmrig_ftdi_io_backend(&ctx);
    struct kmrig_pipe *pipe = NULL;
    if (!rc)
        rc = kmrig_bulk_pipe_open(&a, io, ctx, 2, &pipe, err, sizeof err);
    if (rc) {
        kmrig_link_set_open_error(link, "%s", err[0] ? err : kmrig_link_strerror(rc));
        return rc;
    }
    return kmrig_stream_open(link, pipe, eng, info, &p->stream);
}

static void ftdi_link_close(struct kmrig_link *link)
{
    struct ftdi_link *p = kmrig_link_priv(link);
    kmrig_stream_close(p->stream);
}

const struct kmrig_link_ops kmrig_link_ftdi_ops = {
    .name = "ftdi",
    .summary = "FT232H/FT2232H synchronous FIFO (FT245 mode) or UART through libftdi1",
    .priv_size = sizeof(struct ftdi_link),
    .usage = "VID:PID, s=SERIAL, d=DESCRIPTION, index=N, i=A|B|C|D, mode=fifo|uart, baud=N, "
             "flow=0|1, latency=MS, xfers=N, chunk=BYTES, " KMRIG_STREAM_USAGE,
    .open = ftdi_link_open,
    .close = ftdi_link_close,
    KMRIG_STREAM_HOOKS,
};
#endif

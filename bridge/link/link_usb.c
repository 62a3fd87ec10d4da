/* The usb transport's URI and pipe (link_usb.h). The transfers are the bulk pipe's
 * (link_ftdi.c, without status bytes); every libusb call is in usb_io.c. */
#include "link_usb.h"
#include "stream.h"

#include <kmrig/link.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int say(char *err, size_t n, const char *fmt, const char *a)
{
    if (err && n)
        snprintf(err, n, fmt, a);
    return KMRIG_LINK_EINVAL;
}

static int num(const char *s, unsigned long hi, unsigned *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 0);
    if (errno || end == s || *end || *s == '-' || v > hi)
        return -1;
    *out = (unsigned)v;
    return 0;
}

int kmrig_usb_parse_args(const char *args, struct kmrig_ftdi_args *a, char *err, size_t n)
{
    memset(a, 0, sizeof *a);
    a->dev.ep_in = 0x81;
    a->dev.ep_out = 0x01;
    a->mode.chunk = 16384;
    a->mode.latency_ms = 1;
    a->xfers = 4;
    char buf[512];
    if (strlen(args) >= sizeof buf)
        return say(err, n, "usb: arguments too long%s", "");
    strcpy(buf, args);
    char *save = NULL;
    int have_id = 0;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq) {
            char *colon = strchr(tok, ':');
            char *e1, *e2;
            if (have_id || !colon)
                return say(err, n, "usb: '%s' is not KEY=VALUE (or VID:PID first)", tok);
            *colon = 0;
            unsigned long v = strtoul(tok, &e1, 16), p = strtoul(colon + 1, &e2, 16);
            if (e1 == tok || *e1 || e2 == colon + 1 || *e2 || v > 0xFFFF || p > 0xFFFF ||
                *tok == '-' || colon[1] == '-') {
                *colon = ':';
                return say(err, n, "usb: '%s' is not a hex VID:PID", tok);
            }
            a->dev.vid = (unsigned)v;
            a->dev.pid = (unsigned)p;
            have_id = 1;
            continue;
        }
        *eq = 0;
        const char *k = tok, *v = eq + 1;
        unsigned u;
        if (!strcmp(k, "serial")) {
            if (!*v || strlen(v) >= sizeof a->serial)
                return say(err, n, "usb: bad serial '%s'", v);
            strcpy(a->serial, v);
        } else if (!strcmp(k, "path")) {
            if (strlen(v) >= sizeof a->path || !kmrig_usb_path_valid(v))
                return say(err, n, "usb: path '%s' is not a USB port path like 1-2.3", v);
            strcpy(a->path, v);
        } else if (!strcmp(k, "ep_in")) {
            if (num(v, 0xFF, &u) || !(u & 0x80) || !(u & 0x0F) || (u & 0x70))
                return say(err, n, "usb: ep_in '%s' is not an IN endpoint address (0x81..0x8F)", v);
            a->dev.ep_in = u;
        } else if (!strcmp(k, "ep_out")) {
            if (num(v, 0xFF, &u) || (u & 0xF0) || !u)
                return say(err, n, "usb: ep_out '%s' is not an OUT endpoint address (0x01..0x0F)",
                           v);
            a->dev.ep_out = u;
        } else if (!strcmp(k, "iface")) {
            if (num(v, 255, &u))
                return say(err, n, "usb: iface '%s' is not 0..255", v);
            a->dev.iface = u;
        } else if (!strcmp(k, "xfers")) {
            if (num(v, 8, &u) || !u)
                return say(err, n, "usb: xfers '%s' is not 1..8", v);
            a->xfers = u;
        } else if (!strcmp(k, "chunk")) {
            if (num(v, 65536, &u) || u < 512 || u % 512)
                return say(err, n, "usb: chunk '%s' is not a multiple of 512 in 512..65536", v);
            a->mode.chunk = u;
        } else {
            return say(
                err, n,
                "usb: unknown argument '%s' (VID:PID, serial=, path=, ep_in=, ep_out=, iface=, "
                "xfers=, chunk=)",
                k);
        }
    }
    if (!have_id)
        return say(err, n, "usb: the device's VID:PID is required (usb://1d50:6018)%s", "");
    a->dev.serial = a->serial[0] ? a->serial : NULL;
    a->dev.path = a->path[0] ? a->path : NULL;
    return KMRIG_LINK_OK;
}

int kmrig_usb_pipe_open(const char *args, const struct ftdi_io_ops *io, void *ctx,
                        struct kmrig_pipe **out, char *err, size_t n)
{
    *out = NULL;
    if (err && n)
        err[0] = 0;
    struct kmrig_ftdi_args a;
    int rc = kmrig_usb_parse_args(args ? args : "", &a, err, n);
    return rc ? rc : kmrig_bulk_pipe_open(&a, io, ctx, 0, out, err, n);
}

#ifdef KMRIG_HAVE_LIBUSB
struct usb_link {
    struct kmrig_stream *stream; /* first: the engine's hooks find it here */
};

static int usb_link_open(struct kmrig_link *link, const char *args, struct kmrig_link_info *info)
{
    struct usb_link *p = kmrig_link_priv(link);
    char mine[512], eng[512], err[256] = "";
    if (kmrig_bulk_split_args(args, mine, eng, sizeof mine)) {
        kmrig_link_set_open_error(link, "usb: arguments too long");
        return KMRIG_LINK_EINVAL;
    }
    struct kmrig_ftdi_args a;
    int rc = kmrig_usb_parse_args(mine, &a, err, sizeof err);
    void *ctx = NULL;
    const struct ftdi_io_ops *io = kmrig_usb_io_backend(&ctx);
    struct kmrig_pipe *pipe = NULL;
    if (!rc)
        rc = kmrig_bulk_pipe_open(&a, io, ctx, 0, &pipe, err, sizeof err);
    if (rc) {
        kmrig_link_set_open_error(link, "%s", err[0] ? err : kmrig_link_strerror(rc));
        return rc;
    }
    return kmrig_stream_open(link, pipe, eng, info, &p->stream);
}

static void usb_link_close(struct kmrig_link *link)
{
    struct usb_link *p = kmrig_link_priv(link);
    kmrig_stream_close(p->stream);
}

const struct kmrig_link_ops kmrig_link_usb_ops = {
    .name = "usb",
    .summary = "any bulk USB device through libusb-1.0",
    .priv_size = sizeof(struct usb_link),
    .usage = "VID:PID, serial=S, ep_in=0x81, ep_out=0x01, iface=N, xfers=N, "
             "chunk=BYTES, " KMRIG_STREAM_USAGE,
    .open = usb_link_open,
    .close = usb_link_close,
    KMRIG_STREAM_HOOKS,
};
#endif

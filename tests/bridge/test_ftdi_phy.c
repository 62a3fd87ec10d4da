/*
 * test_ftdi_phy.c - the host side of the ftdi transport (bridge/link/link_ftdi.c: URI, packet
 * layer, pipe) against the FT245 and UART PHY RTL (rtl/phy) on the model, through the FTDI chip
 * emulation (kmrig/phy_model.h, ftdi_emu.c). Only ftdi_usb.c (the libftdi1/libusb calls) is not
 * run here. Frames are built and checked with the host codec (kmrig/protocol.h), so the pipe is
 * shown to deliver exactly the bytes the bridge sent: the status bytes of every USB packet
 * removed, nothing lost or added across packet and transfer boundaries.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>
#include <pthread.h>

#include "ftdi_emu.h"
#include "link_ftdi.h"
#include "link_usb.h"

#include <kmrig/link.h>
#include <kmrig/phy_model.h>
#include <kmrig/protocol.h>
#include <kmrig_soc_map.h>

#define MEM KMRIG_PROTO_SPACE_MEM
#define SCRATCH (KMRIG_SOC_SYSID_BASE + KMRIG_SYSID_SCRATCH)
#define WAIT_US 20000u /* model time a test waits for one frame */

struct host {
    struct ftdi_emu emu;
    struct kmrig_pipe *pipe;
    struct kmrig_proto_decoder dec;
    unsigned flags; /* KMRIG_PROTO_FLAG_PCRC on UART */
    uint8_t seq;
    struct rx {
        struct kmrig_proto_msg msg;
        uint8_t data[KMRIG_PROTO_MAX_PAYLOAD];
        uint64_t at_ns; /* model time the frame was complete */
    } q[32];
    unsigned nq;
    int last_rc; /* the last recv() error, or 0 */
};

static struct host *host_open(const struct kmrig_phy_model_config *cfg, const char *uri_args,
                              uint64_t gone_after_in)
{
    struct host *h = calloc(1, sizeof *h);
    assert_non_null(h);
    ftdi_emu_init(&h->emu);
    assert_int_equal(kmrig_phy_model_open(cfg, &h->emu.model), 0);
    h->emu.packet = cfg->packet ? cfg->packet : 512;
    h->emu.chip = cfg->kind == KMRIG_PHY_UART ? "FT2232H" : "FT232H";
    h->emu.gone_after_in = gone_after_in;
    char err[256];
    int rc = kmrig_ftdi_pipe_open(uri_args, &ftdi_io_emu, &h->emu, &h->pipe, err, sizeof err);
    if (rc)
        fail_msg("kmrig_ftdi_pipe_open(%s): %d %s", uri_args, rc, err);
    h->flags = cfg->kind == KMRIG_PHY_UART ? KMRIG_PROTO_FLAG_PCRC : 0;
    kmrig_proto_decoder_init(&h->dec, 0);
    return h;
}

/* The usb transport on the same model: the emulation as a plain bulk bridge (no status bytes). */
static struct host *host_open_usb(const char *uri_args, uint64_t gone_after_in)
{
    struct host *h = calloc(1, sizeof *h);
    assert_non_null(h);
    struct kmrig_phy_model_config c;
    memset(&c, 0, sizeof c);
    c.kind = KMRIG_PHY_FT245;
    c.latency_ms = 255;
    ftdi_emu_init(&h->emu);
    assert_int_equal(kmrig_phy_model_open(&c, &h->emu.model), 0);
    h->emu.packet = 512;
    h->emu.chip = "USB";
    h->emu.raw = 1;
    h->emu.gone_after_in = gone_after_in;
    char err[256];
    int rc = kmrig_usb_pipe_open(uri_args, &ftdi_io_emu, &h->emu, &h->pipe, err, sizeof err);
    if (rc)
        fail_msg("kmrig_usb_pipe_open(%s): %d %s", uri_args, rc, err);
    kmrig_proto_decoder_init(&h->dec, 0);
    return h;
}

static void host_close(struct host *h)
{
    h->pipe->ops->close(h->pipe);
    kmrig_phy_model_close(h->emu.model);
    ftdi_emu_destroy(&h->emu);
    free(h);
}

static uint64_t now_ns(struct host *h)
{
    return kmrig_phy_model_now_ns(h->emu.model);
}

static void send(struct host *h, const uint8_t *f, int n)
{
    assert_true(n > 0);
    assert_int_equal(h->pipe->ops->send(h->pipe, f, (size_t)n, 100000), KMRIG_LINK_OK);
}

/* Receives for up to timeout_us (model time) and decodes what came. */
static void pump(struct host *h, unsigned timeout_us)
{
    uint8_t buf[8192];
    long n = h->pipe->ops->recv(h->pipe, buf, sizeof buf, timeout_us);
    if (n < 0) {
        h->last_rc = (int)n;
        return;
    }
    size_t off = 0;
    while (off < (size_t)n) {
        size_t used = 0;
        struct kmrig_proto_frame f;
        int got = kmrig_proto_decoder_feed(&h->dec, buf + off, (size_t)n - off, &used, &f);
        off += used;
        if (got == 1) {
            assert_true(h->nq < 32);
            struct rx *r = &h->q[h->nq++];
            memcpy(r->data, f.payload, f.len);
            f.payload = r->data;
            assert_int_equal(kmrig_proto_parse(&f, &r->msg), 0);
            r->at_ns = now_ns(h);
        }
    }
}

static int find(struct host *h, unsigned type, int tag, struct rx *out)
{
    for (unsigned i = 0; i < h->nq; i++) {
        if (h->q[i].msg.type == type && (tag < 0 || h->q[i].msg.tag == tag)) {
            *out = h->q[i];
            out->msg.data = h->q[i].msg.data ? out->data + (h->q[i].msg.data - h->q[i].data) : NULL;
            memmove(&h->q[i], &h->q[i + 1], (h->nq - i - 1) * sizeof h->q[0]);
            h->nq--;
            return 1;
        }
    }
    return 0;
}

/* Waits (model time) for a frame of `type` (and tag, if >= 0); fails without one. */
static struct rx *take(struct host *h, unsigned type, int tag, unsigned wait_us)
{
    static struct rx r;
    uint64_t end = now_ns(h) + (uint64_t)wait_us * 1000u;
    while (!find(h, type, tag, &r)) {
        if (h->last_rc)
            fail_msg("recv failed (%s) waiting for %s", kmrig_link_strerror(h->last_rc),
                     kmrig_proto_type_name(type));
        if (now_ns(h) >= end)
            fail_msg("no %s (tag %d) within %u us", kmrig_proto_type_name(type), tag, wait_us);
        pump(h, 200);
    }
    return &r;
}

static struct kmrig_proto_hello_rsp hello(struct host *h)
{
    uint8_t f[64];
    h->seq = 0x40;
    send(h, f, kmrig_proto_enc_hello(f, sizeof f, h->flags, h->seq++, 0, 4096, 1));
    return take(h, KMRIG_PROTO_T_HELLO_RSP, 0x40, WAIT_US)->msg.u.hello_rsp;
}

static struct kmrig_proto_result wr(struct host *h, uint32_t addr, uint32_t v)
{
    uint8_t f[64];
    uint8_t tag = h->seq++;
    send(h, f,
         kmrig_proto_enc_write(f, sizeof f, h->flags | KMRIG_PROTO_FLAG_ACK, tag, MEM, addr, 4, v));
    return take(h, KMRIG_PROTO_T_WRITE_RSP, tag, WAIT_US)->msg.u.result;
}

static struct kmrig_proto_result rd(struct host *h, uint32_t addr)
{
    uint8_t f[64];
    uint8_t tag = h->seq++;
    send(h, f, kmrig_proto_enc_read(f, sizeof f, h->flags, tag, MEM, addr, 4));
    return take(h, KMRIG_PROTO_T_READ_RSP, tag, WAIT_US)->msg.u.result;
}

static void ft245_config(struct kmrig_phy_model_config *c, unsigned latency_ms)
{
    memset(c, 0, sizeof *c);
    c->kind = KMRIG_PHY_FT245;
    c->latency_ms = latency_ms;
    c->waves_path = getenv("KMRIG_PHY_WAVES");
}

static void uart_config(struct kmrig_phy_model_config *c)
{
    memset(c, 0, sizeof *c);
    c->kind = KMRIG_PHY_UART;
    c->latency_ms = 1;
    c->waves_path = getenv("KMRIG_PHY_WAVES");
}

static void assert_clean_pins(struct host *h)
{
    struct kmrig_phy_model_stats s;
    kmrig_phy_model_get_stats(h->emu.model, &s);
    assert_int_equal(s.violations, 0);
}

/* ---- URI -------------------------------------------------------------------------------- */

static void test_ftdi_parse_args_defaults(void **state)
{
    (void)state;
    struct kmrig_ftdi_args a;
    char err[200];
    assert_int_equal(kmrig_ftdi_parse_args("", &a, err, sizeof err), 0);
    assert_int_equal(a.dev.vid, 0x0403);
    assert_int_equal(a.dev.pid, 0x6014);
    assert_int_equal(a.dev.iface, 0);
    assert_null(a.dev.serial);
    assert_null(a.dev.desc);
    assert_int_equal(a.mode.mode, FTDI_IO_MODE_FIFO);
    assert_int_equal(a.mode.latency_ms, 2);
    assert_int_equal(a.mode.chunk, 16384);
    assert_int_equal(a.xfers, 4);

    assert_int_equal(kmrig_ftdi_parse_args("0403:6010,i=B,mode=uart,baud=3000000,flow=0,"
                                           "s=FT4ABC12,d=Dual RS232-HS,index=1,latency=4,"
                                           "xfers=2,chunk=8192",
                                           &a, err, sizeof err),
                     0);
    assert_int_equal(a.dev.pid, 0x6010);
    assert_int_equal(a.dev.iface, 1);
    assert_int_equal(a.dev.index, 1);
    assert_string_equal(a.dev.serial, "FT4ABC12");
    assert_string_equal(a.dev.desc, "Dual RS232-HS");
    assert_int_equal(a.mode.mode, FTDI_IO_MODE_UART);
    assert_int_equal(a.mode.baud, 3000000);
    assert_int_equal(a.mode.flow, 0);
    assert_int_equal(a.mode.latency_ms, 4);
    assert_int_equal(a.mode.chunk, 8192);
    assert_int_equal(a.xfers, 2);
    /* a board without a serial, by its USB port path as `kmrig list` prints it */
    assert_int_equal(kmrig_ftdi_parse_args("0403:6010,path=1-2.3,i=B", &a, err, sizeof err), 0);
    assert_string_equal(a.dev.path, "1-2.3");
    assert_null(a.dev.serial);
    assert_int_equal(kmrig_ftdi_parse_args("path=3-1", &a, err, sizeof err), 0);
    assert_string_equal(a.dev.path, "3-1");
    /* UART defaults */
    assert_int_equal(kmrig_ftdi_parse_args("mode=uart", &a, err, sizeof err), 0);
    assert_int_equal(a.mode.latency_ms, 1);
    assert_int_equal(a.mode.chunk, 4096);
    assert_int_equal(a.mode.flow, 1);
}

static void test_ftdi_parse_args_rejects_bad_input(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "zz:6014",    "0403:6014:1",  "i=E",
        "mode=spi",   "latency=0",    "latency=256",
        "chunk=1000", "chunk=131072", "xfers=9",
        "baud=12",    "foo=1",        "s=",
        "flow=2",     "index=-1",     "i=A,0403:6014",
        "path=",      "path=1",       "path=1-",
        "path=1-2.",  "path=a-1",     "path=1-1.2.3.4.5.6.7.8",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct kmrig_ftdi_args a;
        char err[200] = "";
        int rc = kmrig_ftdi_parse_args(bad[i], &a, err, sizeof err);
        if (rc != KMRIG_LINK_EINVAL)
            fail_msg("'%s' was accepted", bad[i]);
        assert_true(strncmp(err, "ftdi: ", 6) == 0);
    }
}

/* ---- FT245 synchronous FIFO ------------------------------------------------------------- */

static void test_ftdi_fifo_hello_read_write(void **state)
{
    (void)state;
    struct kmrig_phy_model_config c;
    ft245_config(&c, 16);
    struct host *h = host_open(&c, "", 0);
    assert_int_equal(h->emu.mode_set, 1);
    assert_int_equal(h->emu.mode.mode, FTDI_IO_MODE_FIFO);
    assert_int_equal(h->emu.mode.latency_ms, 2);
    assert_string_equal(h->pipe->ops->name, "ftdi-fifo");
    assert_int_equal(h->pipe->send_chunk, 16384);

    struct kmrig_proto_hello_rsp r = hello(h);
    assert_int_equal(r.status, KMRIG_PROTO_HELLO_ST_OK);
    assert_int_equal(r.soc_id, KMRIG_SOC_ID);
    assert_string_equal(r.board, "sim-ft245");
    assert_int_equal(r.caps & KMRIG_PROTO_CAP_CRC_REQUIRED, 0);
    assert_int_equal(wr(h, SCRATCH, 0xC0FFEE11).status, KMRIG_PROTO_ST_OK);
    struct kmrig_proto_result v = rd(h, SCRATCH);
    assert_int_equal(v.status, KMRIG_PROTO_ST_OK);
    assert_int_equal(v.data, 0xC0FFEE11);
    assert_int_equal(rd(h, KMRIG_SOC_SYSID_BASE + KMRIG_SYSID_ID).data, 0x4B4D5247);

    /* every byte the pipe delivered belonged to a frame: no status byte leaked through */
    assert_int_equal(h->dec.stats.dropped_bytes, 0);
    struct kmrig_ftdi_stats s;
    kmrig_ftdi_pipe_stats(h->pipe, &s);
    assert_true(s.in_packets >= 4);
    assert_true(s.max_in_flight >= 2);
    assert_int_equal(s.line_errors, 0);
    assert_clean_pins(h);
    host_close(h);
}

/* 4 KiB each way: a fixed-address WRITE_BURST and a READ_BURST of the ROM, whose response
 * spans 9 USB packets and so 9 pairs of status bytes inside one IN transfer. */
static void test_ftdi_fifo_long_bursts_cross_packets(void **state)
{
    (void)state;
    struct kmrig_phy_model_config c;
    ft245_config(&c, 16);
    struct host *h = host_open(&c, "", 0);
    hello(h);
    static uint8_t f[KMRIG_PROTO_MAX_FRAME];
    static uint32_t words[1024];
    for (unsigned i = 0; i < 1024; i++)
        words[i] = 0x01010101u * (i & 0xFF) ^ 0xA5000000u;
    uint8_t tag = h->seq++;
    send(h, f,
         kmrig_proto_enc_write_burst(f, sizeof f, KMRIG_PROTO_FLAG_ACK, tag, MEM, SCRATCH, 4, 1024,
                                     1, words));
    struct kmrig_proto_result w =
        take(h, KMRIG_PROTO_T_WRITE_BURST_RSP, tag, WAIT_US)->msg.u.result;
    assert_int_equal(w.status, KMRIG_PROTO_ST_OK);
    assert_int_equal(w.count, 1024);
    assert_int_equal(rd(h, SCRATCH).data, words[1023]);

    /* the ROM 17 times over: 1020 words, each checked */
    tag = h->seq++;
    send(h, f, kmrig_proto_enc_read_burst(f, sizeof f, 0, tag, MEM, 0, 4, 60, 0));
    struct rx *r = take(h, KMRIG_PROTO_T_READ_BURST_RSP, tag, WAIT_US);
    assert_int_equal(r->msg.data_len, 240);
    for (unsigned i = 0; i < 60; i++) {
        uint32_t v;
        memcpy(&v, r->msg.data + 4 * i, 4);
        assert_int_equal(v, kmrig_soc_rom_expected[i]);
    }
    uint8_t tags[4];
    uint64_t t0 = now_ns(h);
    for (unsigned k = 0; k < 4; k++) {
        tags[k] = h->seq++;
        send(h, f, kmrig_proto_enc_read_burst(f, sizeof f, 0, tags[k], MEM, SCRATCH, 4, 1024, 1));
    }
    for (unsigned k = 0; k < 4; k++) {
        r = take(h, KMRIG_PROTO_T_READ_BURST_RSP, tags[k], WAIT_US);
        assert_int_equal(r->msg.u.result.count, 1024);
        assert_int_equal(r->msg.data_len, 4096);
        for (unsigned i = 0; i < 1024; i++) {
            uint32_t v;
            memcpy(&v, r->msg.data + 4 * i, 4);
            assert_int_equal(v, words[1023]);
        }
    }
    /* 4 x 4 KiB of READ_BURST_RSP payload. The bridge reads a burst (a word every 4 cycles:
     * 82 us for 4 KiB at 50 MHz) before it sends it (4 KiB at one byte per cycle: 82 us), and
     * does not overlap the two, so 4096 B / 164 us = 25 MB/s is its bound; the PHY, the chip
     * and the packet layer must keep up with the sending half (measured: 24.9 MB/s). */
    uint64_t dt = now_ns(h) - t0;
    double mbs = 4.0 * 4096 * 1000.0 / (double)dt;
    print_message("4 x 4 KiB read bursts in %llu ns: %.1f MB/s of payload\n",
                  (unsigned long long)dt, mbs);
    assert_true(mbs > 22.0);
    struct kmrig_ftdi_stats s;
    kmrig_ftdi_pipe_stats(h->pipe, &s);
    assert_true(s.in_packets >= 4 * 9);
    assert_true(s.in_bytes >= 4 * 4096);
    assert_int_equal(h->dec.stats.dropped_bytes, 0);
    assert_clean_pins(h);
    host_close(h);
}

/* The host stops reading: the chip's 1 KiB transmit buffer fills, TXE# stays high and the PHY
 * holds the rest of a 4 KiB response; when the host reads again every byte arrives, in order. */
static void test_ftdi_fifo_full_chip_buffer_stalls_the_phy(void **state)
{
    (void)state;
    struct kmrig_phy_model_config c;
    ft245_config(&c, 16);
    struct host *h = host_open(&c, "", 0);
    hello(h);
    assert_int_equal(wr(h, SCRATCH, 0x0BADCAFE).status, KMRIG_PROTO_ST_OK);
    uint8_t f[64];
    uint8_t tag = h->seq++;
    send(h, f, kmrig_proto_enc_read_burst(f, sizeof f, 0, tag, MEM, SCRATCH, 4, 1024, 1));
    /* 300 us with no USB IN traffic: far longer than 4 KiB takes at 60 MHz */
    kmrig_phy_model_run_ns(h->emu.model, 300000);
    assert_int_equal(kmrig_phy_model_tx_pending(h->emu.model), 1024);
    struct rx *r = take(h, KMRIG_PROTO_T_READ_BURST_RSP, tag, WAIT_US);
    assert_int_equal(r->msg.data_len, 4096);
    for (unsigned i = 0; i < 1024; i++) {
        uint32_t v;
        memcpy(&v, r->msg.data + 4 * i, 4);
        assert_int_equal(v, 0x0BADCAFE);
    }
    assert_int_equal(h->dec.stats.dropped_bytes, 0);
    assert_clean_pins(h);
    host_close(h);
}

/* Nothing to send: the chip answers each latency-timer expiry with a status-only packet, which
 * the pipe consumes without delivering a byte. */
static void test_ftdi_fifo_status_only_packets(void **state)
{
    (void)state;
    struct kmrig_phy_model_config c;
    ft245_config(&c, 1);
    struct host *h = host_open(&c, "latency=1", 0);
    assert_int_equal(h->emu.mode.latency_ms, 1);
    hello(h);
    struct kmrig_ftdi_stats s0, s1;
    kmrig_ftdi_pipe_stats(h->pipe, &s0);
    uint8_t buf[64];
    assert_int_equal(h->pipe->ops->recv(h->pipe, buf, sizeof buf, 5500), 0);
    kmrig_ftdi_pipe_stats(h->pipe, &s1);
    assert_true(s1.status_only - s0.status_only >= 5);
    assert_int_equal(s1.in_bytes, s0.in_bytes);
    assert_int_equal(s1.last_status[1] & 0x9E, 0);
    assert_int_equal(s1.last_status[1] & KMRIG_PHY_LS_TEMT, KMRIG_PHY_LS_TEMT);
    host_close(h);
}

/* With the latency timer at 255 ms, an interrupt event still arrives within microseconds: the
 * PHY pulses SI/WU when its TX side goes idle after the frame. */
static void test_ftdi_fifo_irq_event_is_flushed_by_siwu(void **state)
{
    (void)state;
    struct kmrig_phy_model_config c;
    ft245_config(&c, 255);
    struct host *h = host_open(&c, "latency=255", 0);
    hello(h);
    uint8_t f[64];
    uint8_t tag = h->seq++;
    send(h, f,
         kmrig_proto_enc_irq_ctl(f, sizeof f, KMRIG_PROTO_FLAG_ACK, tag, KMRIG_PROTO_IRQ_OP_UNMASK,
                                 1u << 5));
    take(h, KMRIG_PROTO_T_IRQ_CTL_RSP, tag, WAIT_US);
    struct kmrig_phy_model_stats s0, s1;
    kmrig_phy_model_get_stats(h->emu.model, &s0);
    uint64_t t0 = now_ns(h);
    kmrig_phy_model_set_irq_ext(h->emu.model, 1); /* line 5 */
    struct rx *e = take(h, KMRIG_PROTO_T_EVT_IRQ, -1, WAIT_US);
    assert_int_equal(e->msg.u.evt_irq.line, 5);
    assert_int_equal(e->msg.u.evt_irq.state & KMRIG_PROTO_IRQ_STATE_ASSERTED, 1);
    uint64_t latency = e->at_ns - t0;
    print_message("EVT_IRQ arrived %llu ns after the line rose\n", (unsigned long long)latency);
    assert_true(latency < 20000); /* 20 µs against a 255 ms latency timer */
    kmrig_phy_model_get_stats(h->emu.model, &s1);
    assert_true(s1.siwu_pulses > s0.siwu_pulses);
    assert_clean_pins(h);
    host_close(h);
}

/* The device is unplugged while a 4 KiB response is coming in: recv and send report EGONE,
 * and keep reporting it, instead of hanging. */
static void test_ftdi_fifo_device_gone_mid_transfer(void **state)
{
    (void)state;
    struct kmrig_phy_model_config c;
    ft245_config(&c, 16);
    struct host *h = host_open(&c, "", 600);
    hello(h);
    static uint8_t f[128];
    send(h, f, kmrig_proto_enc_read_burst(f, sizeof f, 0, h->seq++, MEM, SCRATCH, 4, 1024, 1));
    uint8_t buf[8192];
    long rc = 0;
    for (int i = 0; i < 100 && rc >= 0; i++)
        rc = h->pipe->ops->recv(h->pipe, buf, sizeof buf, 1000);
    assert_int_equal(rc, KMRIG_LINK_EGONE);
    assert_int_equal(h->pipe->ops->recv(h->pipe, buf, sizeof buf, 1000), KMRIG_LINK_EGONE);
    int n = kmrig_proto_enc_read(f, sizeof f, 0, h->seq++, MEM, SCRATCH, 4);
    assert_int_equal(h->pipe->ops->send(h->pipe, f, (size_t)n, 1000), KMRIG_LINK_EGONE);
    host_close(h);
}

/* The stream engine's threading: one thread sends while a reader thread receives (pipe.h).
 * 64 READs of SCRATCH go out from this thread; the reader decodes the 64 READ_RSPs. */
struct reader {
    struct host *h;
    unsigned got;
    int rc;
};

static void *reader_main(void *arg)
{
    struct reader *r = arg;
    struct kmrig_proto_decoder *dec = calloc(1, sizeof *dec);
    kmrig_proto_decoder_init(dec, 0);
    uint8_t buf[4096];
    for (int i = 0; i < 2000 && r->got < 64 && !r->rc; i++) {
        long n = r->h->pipe->ops->recv(r->h->pipe, buf, sizeof buf, 500);
        if (n < 0) {
            r->rc = (int)n;
            break;
        }
        size_t off = 0;
        while (off < (size_t)n) {
            size_t used = 0;
            struct kmrig_proto_frame f;
            int ok = kmrig_proto_decoder_feed(dec, buf + off, (size_t)n - off, &used, &f);
            off += used;
            struct kmrig_proto_msg m;
            if (ok == 1 && kmrig_proto_parse(&f, &m) == 0 && m.type == KMRIG_PROTO_T_READ_RSP &&
                m.u.result.data == 0x600DF00D)
                r->got++;
        }
    }
    free(dec);
    return NULL;
}

static void test_ftdi_fifo_send_and_recv_from_two_threads(void **state)
{
    (void)state;
    struct kmrig_phy_model_config c;
    ft245_config(&c, 16);
    struct host *h = host_open(&c, "", 0);
    hello(h);
    assert_int_equal(wr(h, SCRATCH, 0x600DF00D).status, KMRIG_PROTO_ST_OK);
    struct reader r = {h, 0, 0};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, reader_main, &r), 0);
    for (unsigned i = 0; i < 64; i++) {
        uint8_t f[64];
        int n = kmrig_proto_enc_read(f, sizeof f, 0, (uint8_t)i, MEM, SCRATCH, 4);
        assert_int_equal(h->pipe->ops->send(h->pipe, f, (size_t)n, 100000), KMRIG_LINK_OK);
    }
    pthread_join(t, NULL);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.got, 64);
    assert_clean_pins(h);
    host_close(h);
}

/* ---- UART ------------------------------------------------------------------------------- */

static void test_ftdi_uart_hello_read_write_with_crc(void **state)
{
    (void)state;
    struct kmrig_phy_model_config c;
    uart_config(&c);
    struct host *h = host_open(&c, "0403:6010,i=B,mode=uart,baud=2000000", 0);
    assert_int_equal(h->emu.mode.mode, FTDI_IO_MODE_UART);
    assert_int_equal(h->emu.mode.baud, 2000000);
    assert_int_equal(h->emu.mode.flow, 1);
    assert_string_equal(h->pipe->ops->name, "ftdi-uart");
    struct kmrig_proto_hello_rsp r = hello(h);
    assert_int_equal(r.status, KMRIG_PROTO_HELLO_ST_OK);
    assert_int_equal(r.caps & KMRIG_PROTO_CAP_CRC_REQUIRED, KMRIG_PROTO_CAP_CRC_REQUIRED);
    assert_string_equal(r.board, "sim-uart");
    assert_int_equal(wr(h, SCRATCH, 0x12345678).status, KMRIG_PROTO_ST_OK);
    assert_int_equal(rd(h, SCRATCH).data, 0x12345678);
    /* a 256-byte response at 2 Mbaud: several packets, each with its status bytes */
    uint8_t f[64];
    uint8_t tag = h->seq++;
    send(h, f, kmrig_proto_enc_read_burst(f, sizeof f, h->flags, tag, MEM, 0, 4, 60, 0));
    struct rx *b = take(h, KMRIG_PROTO_T_READ_BURST_RSP, tag, 5 * WAIT_US);
    for (unsigned i = 0; i < 60; i++) {
        uint32_t v;
        memcpy(&v, b->msg.data + 4 * i, 4);
        assert_int_equal(v, kmrig_soc_rom_expected[i]);
    }
    assert_int_equal(h->dec.stats.dropped_bytes, 0);
    struct kmrig_phy_model_stats s;
    kmrig_phy_model_get_stats(h->emu.model, &s);
    assert_int_equal(s.phy_frame_errors, 0);
    assert_int_equal(s.chip_rx_errors, 0);
    host_close(h);
}

/* Full-speed packets (64 bytes, as an FT232R or a full-speed port gives): 62 data bytes per
 * packet. */
static void test_ftdi_uart_full_speed_packets(void **state)
{
    (void)state;
    struct kmrig_phy_model_config c;
    uart_config(&c);
    c.packet = 64;
    struct host *h = host_open(&c, "mode=uart", 0);
    hello(h);
    uint8_t f[64];
    uint8_t tag = h->seq++;
    send(h, f, kmrig_proto_enc_read_burst(f, sizeof f, h->flags, tag, MEM, 0, 4, 60, 0));
    struct rx *b = take(h, KMRIG_PROTO_T_READ_BURST_RSP, tag, 5 * WAIT_US);
    assert_int_equal(b->msg.data_len, 240);
    for (unsigned i = 0; i < 60; i++) {
        uint32_t v;
        memcpy(&v, b->msg.data + 4 * i, 4);
        assert_int_equal(v, kmrig_soc_rom_expected[i]);
    }
    struct kmrig_ftdi_stats s;
    kmrig_ftdi_pipe_stats(h->pipe, &s);
    assert_true(s.in_packets >= 5);
    assert_int_equal(h->dec.stats.dropped_bytes, 0);
    host_close(h);
}

/* A corrupted byte, a framing error and a dropped byte on the host-to-FPGA line: each write is
 * refused by the bridge's CRC-32 check (no WRITE_RSP, SCRATCH unchanged), the PHY counts the
 * framing error, and the next good frame goes through. */
static void test_ftdi_uart_corruption_is_caught_by_crc(void **state)
{
    (void)state;
    struct kmrig_phy_model_config c;
    uart_config(&c);
    struct host *h = host_open(&c, "mode=uart", 0);
    hello(h);
    assert_int_equal(wr(h, SCRATCH, 0x11111111).status, KMRIG_PROTO_ST_OK);
    static const struct {
        unsigned xor_mask;
        int drop;
    } faults[] = {{0x04, 0}, {0x100, 0}, {0, 1}};
    for (unsigned k = 0; k < 3; k++) {
        uint8_t f[64];
        uint8_t tag = h->seq++;
        int n = kmrig_proto_enc_write(f, sizeof f, h->flags | KMRIG_PROTO_FLAG_ACK, tag, MEM,
                                      SCRATCH, 4, 0xBAD00000u + k);
        kmrig_phy_model_uart_inject(h->emu.model, 13, faults[k].xor_mask, faults[k].drop);
        send(h, f, n);
        /* give it the time of the frame and more: no answer */
        uint64_t end = now_ns(h) + 2000000;
        struct rx r;
        while (now_ns(h) < end && !find(h, KMRIG_PROTO_T_WRITE_RSP, tag, &r))
            pump(h, 500);
        assert_true(now_ns(h) >= end);
        h->nq = 0; /* EVT_ERROR reports, if any */
        h->seq++;
        assert_int_equal(rd(h, SCRATCH).data, 0x11111111);
    }
    struct kmrig_phy_model_stats s;
    kmrig_phy_model_get_stats(h->emu.model, &s);
    assert_int_equal(s.phy_frame_errors, 1);
    assert_int_equal(wr(h, SCRATCH, 0x22222222).status, KMRIG_PROTO_ST_OK);
    assert_int_equal(rd(h, SCRATCH).data, 0x22222222);
    host_close(h);
}

/* ---- usb (generic bulk endpoints) ------------------------------------------------------- */

static void test_usb_parse_args(void **state)
{
    (void)state;
    struct kmrig_ftdi_args a;
    char err[200];
    assert_int_equal(kmrig_usb_parse_args("1d50:6018", &a, err, sizeof err), 0);
    assert_int_equal(a.dev.vid, 0x1d50);
    assert_int_equal(a.dev.pid, 0x6018);
    assert_int_equal(a.dev.ep_in, 0x81);
    assert_int_equal(a.dev.ep_out, 0x01);
    assert_int_equal(a.dev.iface, 0);
    assert_null(a.dev.serial);
    assert_int_equal(a.xfers, 4);
    assert_int_equal(kmrig_usb_parse_args("04b4:8613,serial=X1,ep_in=0x86,ep_out=0x02,iface=1,"
                                          "xfers=8,chunk=4096",
                                          &a, err, sizeof err),
                     0);
    assert_string_equal(a.dev.serial, "X1");
    assert_int_equal(a.dev.ep_in, 0x86);
    assert_int_equal(a.dev.ep_out, 0x02);
    assert_int_equal(a.dev.iface, 1);
    assert_int_equal(a.xfers, 8);
    assert_int_equal(a.mode.chunk, 4096);
    assert_null(a.dev.path);
    assert_int_equal(kmrig_usb_parse_args("1d50:6018,path=2-1.4", &a, err, sizeof err), 0);
    assert_string_equal(a.dev.path, "2-1.4");
    static const char *const bad[] = {"",
                                      "1d50:6018,path=2",
                                      "1d50:6018,path=2-1..4",
                                      "serial=X",
                                      "1d50",
                                      "1d50:6018,ep_in=0x01",
                                      "1d50:6018,ep_out=0x81",
                                      "1d50:6018,iface=256",
                                      "1d50:6018,xfers=0",
                                      "1d50:6018,chunk=100",
                                      "1d50:6018,s=X",
                                      "g:1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = 0;
        if (kmrig_usb_parse_args(bad[i], &a, err, sizeof err) != KMRIG_LINK_EINVAL)
            fail_msg("'%s' was accepted", bad[i]);
        assert_true(strncmp(err, "usb: ", 5) == 0);
    }
}

static void test_usb_bulk_hello_burst_and_gone(void **state)
{
    (void)state;
    struct host *h = host_open_usb("1d50:6018,xfers=3", 0);
    assert_string_equal(h->pipe->ops->name, "usb-bulk");
    struct kmrig_proto_hello_rsp r = hello(h);
    assert_int_equal(r.status, KMRIG_PROTO_HELLO_ST_OK);
    assert_int_equal(wr(h, SCRATCH, 0x5A5A0001).status, KMRIG_PROTO_ST_OK);
    uint8_t f[64];
    uint8_t tag = h->seq++;
    send(h, f, kmrig_proto_enc_read_burst(f, sizeof f, 0, tag, MEM, SCRATCH, 4, 1024, 1));
    struct rx *b = take(h, KMRIG_PROTO_T_READ_BURST_RSP, tag, WAIT_US);
    assert_int_equal(b->msg.data_len, 4096);
    for (unsigned i = 0; i < 1024; i++) {
        uint32_t v;
        memcpy(&v, b->msg.data + 4 * i, 4);
        assert_int_equal(v, 0x5A5A0001);
    }
    assert_int_equal(h->dec.stats.dropped_bytes, 0);
    struct kmrig_ftdi_stats s;
    kmrig_ftdi_pipe_stats(h->pipe, &s);
    assert_int_equal(s.status_only, 0);
    assert_int_equal(s.max_in_flight, 3);
    host_close(h);

    h = host_open_usb("1d50:6018", 1000);
    hello(h);
    send(h, f, kmrig_proto_enc_read_burst(f, sizeof f, 0, h->seq++, MEM, SCRATCH, 4, 1024, 1));
    uint8_t buf[8192];
    long rc = 0;
    for (int i = 0; i < 100 && rc >= 0; i++)
        rc = h->pipe->ops->recv(h->pipe, buf, sizeof buf, 1000);
    assert_int_equal(rc, KMRIG_LINK_EGONE);
    host_close(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ftdi_parse_args_defaults),
        cmocka_unit_test(test_ftdi_parse_args_rejects_bad_input),
        cmocka_unit_test(test_ftdi_fifo_hello_read_write),
        cmocka_unit_test(test_ftdi_fifo_long_bursts_cross_packets),
        cmocka_unit_test(test_ftdi_fifo_full_chip_buffer_stalls_the_phy),
        cmocka_unit_test(test_ftdi_fifo_status_only_packets),
        cmocka_unit_test(test_ftdi_fifo_irq_event_is_flushed_by_siwu),
        cmocka_unit_test(test_ftdi_fifo_device_gone_mid_transfer),
        cmocka_unit_test(test_ftdi_fifo_send_and_recv_from_two_threads),
        cmocka_unit_test(test_ftdi_uart_hello_read_write_with_crc),
        cmocka_unit_test(test_ftdi_uart_full_speed_packets),
        cmocka_unit_test(test_ftdi_uart_corruption_is_caught_by_crc),
        cmocka_unit_test(test_usb_parse_args),
        cmocka_unit_test(test_usb_bulk_hello_burst_and_gone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

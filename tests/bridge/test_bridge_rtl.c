/*
 * test_bridge_rtl.c - the bridge frame engine (rtl/bridge/, docs/protocol.md) on the Verilator
 * model of kmrig_soc_bridge at full-bridge fidelity (struct kmrig_simsoc_config.bridge): frames
 * built by the host codec (bridge/protocol/frame.c) go in through the PHY byte by byte,
 * the engine runs them as Wishbone cycles on the SoC's bus, and what comes back is decoded and
 * parsed by the same codec, so host and gateware are shown to agree on every byte.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include <kmrig/protocol.h>
#include <kmrig/simsoc.h>
#include <kmrig_soc_map.h>

#define MEM KMRIG_PROTO_SPACE_MEM
#define IO KMRIG_PROTO_SPACE_IO
#define SCRATCH (KMRIG_SOC_SYSID_BASE + KMRIG_SYSID_SCRATCH)
#define WAIT_CYCLES 200000u

struct dev {
    kmrig_simsoc *m;
    struct kmrig_proto_decoder dec;
    uint8_t seq;
    unsigned flags; /* KMRIG_PROTO_FLAG_PCRC on every host frame when set */
    /* frames received, parsed, in arrival order; payloads copied */
    struct rx {
        struct kmrig_proto_msg msg;
        uint8_t data[KMRIG_PROTO_MAX_PAYLOAD];
    } q[64];
    unsigned nq;
    /* host memory for DMA */
    uint8_t mem[4096];
    uint64_t mem_base;
};

static struct dev *dev_open(void)
{
    struct dev *d = calloc(1, sizeof *d);
    assert_non_null(d);
    struct kmrig_simsoc_config cfg;
    kmrig_simsoc_config_init(&cfg);
    cfg.bridge = 1;
    assert_int_equal(kmrig_simsoc_open(&cfg, &d->m), KMRIG_SIM_OK);
    kmrig_proto_decoder_init(&d->dec, 0);
    return d;
}

static void dev_close(struct dev *d)
{
    kmrig_simsoc_destroy(d->m);
    free(d);
}

static void send(struct dev *d, const uint8_t *f, int n)
{
    assert_true(n > 0);
    assert_int_equal(kmrig_simsoc_phy_send(d->m, f, (size_t)n), KMRIG_SIM_OK);
}

/* Runs the model until a frame of `type` (and tag, if tag >= 0) is among the received ones;
 * returns it (removed from the queue) or fails. Other frames stay queued. */
static struct rx *pump(struct dev *d)
{
    uint8_t buf[8192];
    size_t n = kmrig_simsoc_phy_recv(d->m, buf, sizeof buf);
    size_t off = 0;
    while (off < n) {
        size_t used = 0;
        struct kmrig_proto_frame f;
        int got = kmrig_proto_decoder_feed(&d->dec, buf + off, n - off, &used, &f);
        off += used;
        if (got == 1) {
            assert_true(d->nq < 64);
            struct rx *r = &d->q[d->nq++];
            memcpy(r->data, f.payload, f.len);
            f.payload = r->data;
            assert_int_equal(kmrig_proto_parse(&f, &r->msg), 0);
        }
    }
    return NULL;
}

static struct rx take(struct dev *d, unsigned type, int tag)
{
    static struct rx none;
    for (uint64_t waited = 0; waited < WAIT_CYCLES;) {
        pump(d);
        for (unsigned i = 0; i < d->nq; i++) {
            if (d->q[i].msg.type == type && (tag < 0 || d->q[i].msg.tag == tag)) {
                struct rx r = d->q[i];
                r.msg.data = r.msg.data ? r.data + (d->q[i].msg.data - d->q[i].data) : NULL;
                memmove(&d->q[i], &d->q[i + 1], (d->nq - i - 1) * sizeof d->q[0]);
                d->nq--;
                return r;
            }
        }
        waited += kmrig_simsoc_run_until_phy(d->m, WAIT_CYCLES - waited);
    }
    fail_msg("no %s (tag %d) from the bridge within %u cycles", kmrig_proto_type_name(type), tag,
             WAIT_CYCLES);
    return none;
}

/* True when no frame of `type` arrives within `cycles`. */
static int none_of(struct dev *d, unsigned type, uint64_t cycles)
{
    kmrig_simsoc_run(d->m, cycles);
    pump(d);
    for (unsigned i = 0; i < d->nq; i++)
        if (d->q[i].msg.type == type)
            return 0;
    return 1;
}

static struct kmrig_proto_hello_rsp hello(struct dev *d, uint32_t caps)
{
    uint8_t f[64];
    d->seq = 0x40;
    send(d, f, kmrig_proto_enc_hello(f, sizeof f, d->flags, d->seq++, caps, 4096, 1));
    struct rx r = take(d, KMRIG_PROTO_T_HELLO_RSP, 0x40);
    return r.msg.u.hello_rsp;
}

static struct kmrig_proto_result rd(struct dev *d, unsigned space, uint32_t addr, unsigned size)
{
    uint8_t f[64];
    uint8_t tag = d->seq++;
    send(d, f, kmrig_proto_enc_read(f, sizeof f, d->flags, tag, space, addr, size));
    return take(d, KMRIG_PROTO_T_READ_RSP, tag).msg.u.result;
}

static struct kmrig_proto_result wr(struct dev *d, unsigned space, uint32_t addr, unsigned size,
                                    uint32_t v)
{
    uint8_t f[64];
    uint8_t tag = d->seq++;
    send(d, f,
         kmrig_proto_enc_write(f, sizeof f, d->flags | KMRIG_PROTO_FLAG_ACK, tag, space, addr, size,
                               v));
    return take(d, KMRIG_PROTO_T_WRITE_RSP, tag).msg.u.result;
}

static void test_bridge_rtl_hello_reports_the_gateware(void **state)
{
    (void)state;
    struct dev *d = dev_open();
    struct kmrig_proto_hello_rsp h = hello(d, 0);
    assert_int_equal(h.magic, KMRIG_PROTO_MAGIC);
    assert_int_equal(h.ver_major, KMRIG_PROTO_VERSION_MAJOR);
    assert_int_equal(h.ver_minor, KMRIG_PROTO_VERSION_MINOR);
    assert_int_equal(h.status, KMRIG_PROTO_HELLO_ST_OK);
    assert_int_equal(h.irq_lines, KMRIG_SOC_IRQ_LINES);
    assert_int_equal(h.clock_hz, KMRIG_SOC_CLOCK_HZ);
    assert_int_equal(h.soc_id, KMRIG_SOC_ID);
    assert_int_equal(h.soc_version, KMRIG_SOC_VERSION);
    /* a command buffer for the largest request plus the HELLO reserve (section 9) */
    assert_true(h.cmd_credits >= 4116 + KMRIG_PROTO_HELLO_RESERVE);
    assert_int_equal(h.max_payload, KMRIG_PROTO_MAX_PAYLOAD);
    assert_int_equal(h.dma_tags, 1);
    uint32_t want = KMRIG_PROTO_CAP_BURST | KMRIG_PROTO_CAP_BURST_FIXED | KMRIG_PROTO_CAP_RMW |
                    KMRIG_PROTO_CAP_IRQ | KMRIG_PROTO_CAP_DMA | KMRIG_PROTO_CAP_IO_SPACE |
                    KMRIG_PROTO_CAP_VIRTUAL_TIME;
    assert_int_equal(h.caps, want);
    assert_string_equal(h.board, "sim");
    assert_string_equal(h.build, "kmrig-sim");
    struct kmrig_proto_expect e = {
        .ver_major = 1, .soc_id = KMRIG_SOC_ID, .soc_version = KMRIG_SOC_VERSION};
    char msg[256];
    assert_int_equal(kmrig_proto_hello_check(&h, &e, msg, sizeof msg), 0);
    dev_close(d);
}

static void test_bridge_rtl_requests_before_hello_get_no_hello(void **state)
{
    (void)state;
    struct dev *d = dev_open();
    d->seq = 7;
    struct kmrig_proto_result r = rd(d, MEM, KMRIG_SOC_SYSID_BASE, 4);
    assert_int_equal(r.status, KMRIG_PROTO_ST_NO_HELLO);
    /* and a HELLO of another major version is refused, as are the requests after it */
    uint8_t f[64];
    int n = kmrig_proto_enc_hello(f, sizeof f, 0, 9, 0, 0, 1);
    f[8 + KMRIG_PROTO_HELLO_VER_MAJOR_OFF] = 2;
    /* fix the header CRC is not needed: the version is in the payload, no PCRC */
    send(d, f, n);
    struct rx h = take(d, KMRIG_PROTO_T_HELLO_RSP, 9);
    assert_int_equal(h.msg.u.hello_rsp.status, KMRIG_PROTO_HELLO_ST_VERSION);
    d->seq = 10;
    r = rd(d, MEM, KMRIG_SOC_SYSID_BASE, 4);
    assert_int_equal(r.status, KMRIG_PROTO_ST_NO_HELLO);
    dev_close(d);
}

static void test_bridge_rtl_read_write_byte_lanes_and_spaces(void **state)
{
    (void)state;
    struct dev *d = dev_open();
    hello(d, 0);
    struct kmrig_proto_result r = rd(d, MEM, KMRIG_SOC_SYSID_BASE + KMRIG_SYSID_ID, 4);
    assert_int_equal(r.status, KMRIG_PROTO_ST_OK);
    assert_int_equal(r.data, KMRIG_SOC_ID);
    r = wr(d, MEM, SCRATCH, 4, 0xA5A5F00D);
    assert_int_equal(r.status, KMRIG_PROTO_ST_OK);
    assert_int_equal(r.count, 1);
    /* an 8-bit write to byte 1 changes only that lane; a 16-bit read of the upper half */
    assert_int_equal(wr(d, MEM, SCRATCH + 1, 1, 0x11).status, KMRIG_PROTO_ST_OK);
    assert_int_equal(rd(d, MEM, SCRATCH, 4).data, 0xA5A5110D);
    assert_int_equal(rd(d, MEM, SCRATCH + 2, 2).data, 0xA5A5);
    assert_int_equal(rd(d, MEM, SCRATCH + 3, 1).data, 0xA5);
    /* I/O space: uart0 LSR at port 0x3FD reads THRE|TEMT; memory 0x3FD decodes nothing */
    r = rd(d, IO, KMRIG_SOC_UART0_BASE + 5, 1);
    assert_int_equal(r.status, KMRIG_PROTO_ST_OK);
    assert_int_equal(r.data, 0x60);
    assert_int_equal(rd(d, MEM, KMRIG_SOC_UART0_BASE + 5, 1).status, KMRIG_PROTO_ST_BUS);
    /* timer1 in port space: LOAD written and read back */
    assert_int_equal(wr(d, IO, KMRIG_SOC_TIMER1_BASE + KMRIG_TIMER_LOAD, 4, 12345).status, 0);
    assert_int_equal(rd(d, IO, KMRIG_SOC_TIMER1_BASE + KMRIG_TIMER_LOAD, 4).data, 12345);
    dev_close(d);
}

static void test_bridge_rtl_timestamps_follow_the_device_clock(void **state)
{
    (void)state;
    struct dev *d = dev_open();
    hello(d, 0);
    struct kmrig_proto_result a = rd(d, MEM, KMRIG_SOC_SYSID_BASE + KMRIG_SYSID_TS_LO, 4);
    uint64_t now = kmrig_simsoc_cycles(d->m);
    /* ts is the cycle the bus cycle ended in; TS_LO is the counter at the acknowledge */
    assert_true(a.ts >= a.data && a.ts - a.data <= 2);
    assert_true(a.ts < now);
    kmrig_simsoc_run(d->m, 1000);
    struct kmrig_proto_result b = rd(d, MEM, KMRIG_SOC_SYSID_BASE + KMRIG_SYSID_TS_LO, 4);
    assert_true(b.ts - a.ts >= 1000);
    assert_int_equal(b.ts - a.ts, b.data - a.data);
    dev_close(d);
}

static void test_bridge_rtl_errors_bus_malformed_unknown(void **state)
{
    (void)state;
    struct dev *d = dev_open();
    hello(d, 0);
    assert_int_equal(rd(d, MEM, 0x8000, 4).status, KMRIG_PROTO_ST_BUS);
    /* misaligned and beyond the 16-bit port space: refused without a bus cycle */
    uint8_t f[64];
    int n = kmrig_proto_frame_encode(f, sizeof f, KMRIG_PROTO_T_READ, 0, d->seq,
                                     (const uint8_t[]){0x04, 0, 0, 0, 0x02, 0x10, 0, 0}, 8);
    send(d, f, n);
    assert_int_equal(take(d, KMRIG_PROTO_T_READ_RSP, d->seq++).msg.u.result.status,
                     KMRIG_PROTO_ST_MALFORMED);
    n = kmrig_proto_frame_encode(f, sizeof f, KMRIG_PROTO_T_READ, 0, d->seq,
                                 (const uint8_t[]){0x05, 0, 0, 0, 0xFE, 0xFF, 0, 0}, 8);
    send(d, f, n);
    assert_int_equal(take(d, KMRIG_PROTO_T_READ_RSP, d->seq++).msg.u.result.status,
                     KMRIG_PROTO_ST_MALFORMED);
    /* a body of the wrong length */
    n = kmrig_proto_frame_encode(f, sizeof f, KMRIG_PROTO_T_READ, 0, d->seq,
                                 (const uint8_t[]){0x04, 0, 0, 0, 0, 0x10, 0, 0, 0}, 9);
    send(d, f, n);
    assert_int_equal(take(d, KMRIG_PROTO_T_READ_RSP, d->seq++).msg.u.result.status,
                     KMRIG_PROTO_ST_MALFORMED);
    /* an unknown request type: EVT_ERROR MALFORMED with the type, and the link goes on */
    n = kmrig_proto_frame_encode(f, sizeof f, 0x1E, 0, d->seq++, NULL, 0);
    send(d, f, n);
    struct rx e = take(d, KMRIG_PROTO_T_EVT_ERROR, -1);
    assert_int_equal(e.msg.u.evt_error.code, KMRIG_PROTO_EV_ERR_MALFORMED);
    assert_int_equal(e.msg.u.evt_error.info, 0x1E);
    assert_int_equal(rd(d, MEM, KMRIG_SOC_SYSID_BASE, 4).data, KMRIG_SOC_ID);
    /* a sequence gap (a lost frame) is reported as expected << 8 | received */
    uint8_t expected = d->seq;
    d->seq += 3;
    uint8_t got = d->seq;
    assert_int_equal(rd(d, MEM, KMRIG_SOC_SYSID_BASE, 4).status, KMRIG_PROTO_ST_OK);
    e = take(d, KMRIG_PROTO_T_EVT_ERROR, -1);
    assert_int_equal(e.msg.u.evt_error.code, KMRIG_PROTO_EV_ERR_SEQ);
    assert_int_equal(e.msg.u.evt_error.info, (unsigned)expected << 8 | got);
    dev_close(d);
}

static void test_bridge_rtl_rmw_is_one_locked_read_and_write(void **state)
{
    (void)state;
    struct dev *d = dev_open();
    hello(d, 0);
    wr(d, MEM, SCRATCH, 4, 0x12345678);
    uint8_t f[64];
    uint8_t tag = d->seq++;
    send(d, f, kmrig_proto_enc_rmw(f, sizeof f, 0, tag, MEM, SCRATCH, 4, 0x0000FF00, 0xFFFFABFF));
    struct kmrig_proto_result r = take(d, KMRIG_PROTO_T_RMW_RSP, tag).msg.u.result;
    assert_int_equal(r.status, KMRIG_PROTO_ST_OK);
    assert_int_equal(r.data, 0x12345678); /* the old value */
    assert_int_equal(rd(d, MEM, SCRATCH, 4).data, 0x1234AB78);
    /* 8-bit RMW on lane 2; an RMW on nothing fails in its read and writes nothing */
    tag = d->seq++;
    send(d, f, kmrig_proto_enc_rmw(f, sizeof f, 0, tag, MEM, SCRATCH + 2, 1, 0xF0, 0x90));
    assert_int_equal(take(d, KMRIG_PROTO_T_RMW_RSP, tag).msg.u.result.data, 0x34);
    assert_int_equal(rd(d, MEM, SCRATCH, 4).data, 0x1294AB78);
    tag = d->seq++;
    send(d, f, kmrig_proto_enc_rmw(f, sizeof f, 0, tag, MEM, 0x8000, 4, ~0u, 1));
    assert_int_equal(take(d, KMRIG_PROTO_T_RMW_RSP, tag).msg.u.result.status, KMRIG_PROTO_ST_BUS);
    dev_close(d);
}

static void test_bridge_rtl_bursts_of_4k_fixed_and_incrementing(void **state)
{
    (void)state;
    struct dev *d = dev_open();
    hello(d, 0);
    static uint8_t data[4096];
    for (unsigned i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 7 + 1);
    static uint8_t f[KMRIG_PROTO_MAX_FRAME];

    /* 4096 byte writes at one address (a FIFO register): all done, the last one stays */
    uint8_t tag = d->seq++;
    send(d, f,
         kmrig_proto_enc_write_burst(f, sizeof f, KMRIG_PROTO_FLAG_ACK, tag, MEM, SCRATCH, 1, 4096,
                                     1, data));
    struct kmrig_proto_result r = take(d, KMRIG_PROTO_T_WRITE_BURST_RSP, tag).msg.u.result;
    assert_int_equal(r.status, KMRIG_PROTO_ST_OK);
    assert_int_equal(r.count, 4096);
    assert_int_equal(rd(d, MEM, SCRATCH, 1).data, data[4095]);

    /* 1024 word reads at one address: the timestamp counter, a new bus cycle each time */
    tag = d->seq++;
    send(d, f,
         kmrig_proto_enc_read_burst(f, sizeof f, 0, tag, MEM,
                                    KMRIG_SOC_SYSID_BASE + KMRIG_SYSID_TS_LO, 4, 1024, 1));
    struct rx b = take(d, KMRIG_PROTO_T_READ_BURST_RSP, tag);
    assert_int_equal(b.msg.u.result.status, KMRIG_PROTO_ST_OK);
    assert_int_equal(b.msg.u.result.count, 1024);
    assert_int_equal(b.msg.data_len, 4096);
    uint32_t prev = 0;
    for (unsigned i = 0; i < 1024; i++) {
        uint32_t v;
        memcpy(&v, b.msg.data + 4 * i, 4);
        assert_true(i == 0 || v > prev);
        prev = v;
    }
    assert_true(b.msg.u.result.ts >= prev);

    /* an incrementing 4 KiB read from 0: the ROM's 256 bytes, then nothing decodes 0x100, so
     * the burst stops there with the failing element's status and only the data done */
    tag = d->seq++;
    send(d, f, kmrig_proto_enc_read_burst(f, sizeof f, 0, tag, MEM, 0, 4, 1024, 0));
    b = take(d, KMRIG_PROTO_T_READ_BURST_RSP, tag);
    assert_int_equal(b.msg.u.result.status, KMRIG_PROTO_ST_BUS);
    assert_int_equal(b.msg.u.result.count, KMRIG_SOC_ROM_SIZE / 4);
    assert_int_equal(b.msg.data_len, KMRIG_SOC_ROM_SIZE);
    uint32_t w0, w1;
    memcpy(&w0, b.msg.data, 4);
    memcpy(&w1, b.msg.data + 4, 4);
    assert_int_equal(w0, 0x4B4D5245); /* "ERMK": the ROM's magic */
    assert_int_equal(w1 & 0xFF, 1);   /* layout version 1 */

    /* an incrementing 4 KiB write from the sysid window: 64 words (read-only registers take
     * and ignore writes, SCRATCH keeps its word), then 0x1100 decodes nothing */
    static uint32_t words[1024];
    for (unsigned i = 0; i < 1024; i++)
        words[i] = 0xC0DE0000u + i;
    tag = d->seq++;
    send(d, f,
         kmrig_proto_enc_write_burst(f, sizeof f, KMRIG_PROTO_FLAG_ACK, tag, MEM,
                                     KMRIG_SOC_SYSID_BASE, 4, 1024, 0, words));
    r = take(d, KMRIG_PROTO_T_WRITE_BURST_RSP, tag).msg.u.result;
    assert_int_equal(r.status, KMRIG_PROTO_ST_BUS);
    assert_int_equal(r.count, KMRIG_SOC_SYSID_SIZE / 4);
    assert_int_equal(rd(d, MEM, SCRATCH, 4).data, words[KMRIG_SYSID_SCRATCH / 4]);
    assert_int_equal(rd(d, MEM, KMRIG_SOC_SYSID_BASE, 4).data, KMRIG_SOC_ID);

    /* a 16-bit incrementing burst that would run past the end of the port space is malformed
     * (the codec refuses to build one, so the frame is made by hand) */
    tag = d->seq++;
    send(d, f,
         kmrig_proto_frame_encode(f, sizeof f, KMRIG_PROTO_T_READ_BURST, 0, tag,
                                  (const uint8_t[]){0x03, 0, 16, 0, 0xF0, 0xFF, 0, 0}, 8));
    assert_int_equal(take(d, KMRIG_PROTO_T_READ_BURST_RSP, tag).msg.u.result.status,
                     KMRIG_PROTO_ST_MALFORMED);
    dev_close(d);
}

static void test_bridge_rtl_ping_echoes_with_a_timestamp(void **state)
{
    (void)state;
    struct dev *d = dev_open();
    hello(d, 0);
    uint8_t f[128], data[64];
    for (unsigned i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(0xF0 ^ i);
    for (unsigned n = 0; n <= 64; n += 21) {
        uint8_t tag = d->seq++;
        send(d, f, kmrig_proto_enc_ping(f, sizeof f, 0, tag, data, n));
        struct rx r = take(d, KMRIG_PROTO_T_PING_RSP, tag);
        assert_int_equal(r.msg.data_len, n);
        assert_memory_equal(r.msg.data, data, n);
        assert_true(r.msg.u.ping_ts > 0 && r.msg.u.ping_ts < kmrig_simsoc_cycles(d->m));
    }
    dev_close(d);
}

/* timer0 (line 0) periodic at `period` */
static void timer0_start(struct dev *d, uint32_t period)
{
    wr(d, MEM, KMRIG_SOC_TIMER0_BASE + KMRIG_TIMER_LOAD, 4, period);
    wr(d, MEM, KMRIG_SOC_TIMER0_BASE + KMRIG_TIMER_CTRL, 4,
       KMRIG_TIMER_CTRL_EN | KMRIG_TIMER_CTRL_PERIODIC | KMRIG_TIMER_CTRL_IRQ_EN);
}

static void irq_ctl(struct dev *d, unsigned op, uint32_t lines)
{
    uint8_t f[64];
    uint8_t tag = d->seq++;
    send(d, f, kmrig_proto_enc_irq_ctl(f, sizeof f, KMRIG_PROTO_FLAG_ACK, tag, op, lines));
    struct kmrig_proto_result r = take(d, KMRIG_PROTO_T_IRQ_CTL_RSP, tag).msg.u.result;
    assert_int_equal(r.status, KMRIG_PROTO_ST_OK);
}

static void test_bridge_rtl_level_interrupt_events(void **state)
{
    (void)state;
    struct dev *d = dev_open();
    hello(d, 0);
    timer0_start(d, 1000);
    /* masked (reset): the line goes pending with no event */
    assert_true(none_of(d, KMRIG_PROTO_T_EVT_IRQ, 2000));
    uint8_t f[64];
    uint8_t tag = d->seq++;
    send(d, f, kmrig_proto_enc_irq_query(f, sizeof f, 0, tag));
    struct kmrig_proto_irq_state q = take(d, KMRIG_PROTO_T_IRQ_QUERY_RSP, tag).msg.u.irq_state;
    assert_int_equal(q.pending & 1, 1);
    assert_int_equal(q.mask & 0xFF, 0xFF);
    assert_int_equal(q.mode, 0);
    assert_int_equal(q.raw & 1, 1);
    /* unmasking a pending line reports it as if it had just risen, with the rise's time */
    irq_ctl(d, KMRIG_PROTO_IRQ_OP_UNMASK, 1);
    struct rx e = take(d, KMRIG_PROTO_T_EVT_IRQ, -1);
    assert_int_equal(e.msg.u.evt_irq.line, 0);
    assert_int_equal(e.msg.u.evt_irq.state, KMRIG_PROTO_IRQ_STATE_ASSERTED);
    assert_int_equal(e.msg.u.evt_irq.active, 1);
    uint64_t first = e.msg.u.evt_irq.ts;
    uint8_t evseq = e.msg.tag;
    /* the device drops the line: a deassert event */
    wr(d, MEM, KMRIG_SOC_TIMER0_BASE + KMRIG_TIMER_STATUS, 4, KMRIG_TIMER_STATUS_PENDING);
    e = take(d, KMRIG_PROTO_T_EVT_IRQ, -1);
    assert_int_equal(e.msg.u.evt_irq.state, 0);
    assert_int_equal(e.msg.u.evt_irq.active, 0);
    /* (events share one sequence: EVT_CREDITs may come in between) */
    assert_true((uint8_t)(e.msg.tag - evseq) >= 1);
    evseq = e.msg.tag;
    /* the next expiry: an assert stamped exactly periods after the first rise */
    e = take(d, KMRIG_PROTO_T_EVT_IRQ, -1);
    assert_int_equal(e.msg.u.evt_irq.state, KMRIG_PROTO_IRQ_STATE_ASSERTED);
    assert_int_equal((e.msg.u.evt_irq.ts - first) % 1000, 0);
    assert_true((uint8_t)(e.msg.tag - evseq) >= 1);
    /* EOI on a level line still high reports it again */
    irq_ctl(d, KMRIG_PROTO_IRQ_OP_EOI, 1);
    e = take(d, KMRIG_PROTO_T_EVT_IRQ, -1);
    assert_int_equal(e.msg.u.evt_irq.state, KMRIG_PROTO_IRQ_STATE_ASSERTED);
    /* masking sends nothing */
    irq_ctl(d, KMRIG_PROTO_IRQ_OP_MASK, 1);
    assert_true(none_of(d, KMRIG_PROTO_T_EVT_IRQ, 3000));
    dev_close(d);
}

static void test_bridge_rtl_edge_interrupt_is_latched_until_eoi(void **state)
{
    (void)state;
    struct dev *d = dev_open();
    hello(d, 0);
    irq_ctl(d, KMRIG_PROTO_IRQ_OP_EDGE, 1);
    irq_ctl(d, KMRIG_PROTO_IRQ_OP_UNMASK, 1);
    timer0_start(d, 1000);
    struct rx e = take(d, KMRIG_PROTO_T_EVT_IRQ, -1);
    assert_int_equal(e.msg.u.evt_irq.state,
                     KMRIG_PROTO_IRQ_STATE_ASSERTED | KMRIG_PROTO_IRQ_STATE_EDGE);
    /* the device drops its line: an edge stays latched, no event */
    wr(d, MEM, KMRIG_SOC_TIMER0_BASE + KMRIG_TIMER_STATUS, 4, KMRIG_TIMER_STATUS_PENDING);
    assert_true(none_of(d, KMRIG_PROTO_T_EVT_IRQ, 500));
    uint8_t f[64];
    uint8_t tag = d->seq++;
    send(d, f, kmrig_proto_enc_irq_query(f, sizeof f, 0, tag));
    assert_int_equal(take(d, KMRIG_PROTO_T_IRQ_QUERY_RSP, tag).msg.u.irq_state.pending & 1, 1);
    /* EOI clears it; the next rise is a new event */
    irq_ctl(d, KMRIG_PROTO_IRQ_OP_EOI, 1);
    tag = d->seq++;
    send(d, f, kmrig_proto_enc_irq_query(f, sizeof f, 0, tag));
    assert_int_equal(take(d, KMRIG_PROTO_T_IRQ_QUERY_RSP, tag).msg.u.irq_state.pending & 1, 0);
    e = take(d, KMRIG_PROTO_T_EVT_IRQ, -1);
    assert_int_equal(e.msg.u.evt_irq.state,
                     KMRIG_PROTO_IRQ_STATE_ASSERTED | KMRIG_PROTO_IRQ_STATE_EDGE);
    dev_close(d);
}

static void test_bridge_rtl_credits_come_back(void **state)
{
    (void)state;
    struct dev *d = dev_open();
    struct kmrig_proto_hello_rsp h = hello(d, 0);
    /* posted writes without ACK are silent; their credits return with EVT_CREDIT */
    uint8_t f[64];
    uint32_t spent = 0;
    for (int i = 0; i < 10; i++) {
        int n = kmrig_proto_enc_write(f, sizeof f, 0, d->seq++, MEM, SCRATCH, 4, (uint32_t)i);
        send(d, f, n);
        spent += (uint32_t)n;
    }
    uint32_t back = 0;
    while (back < spent)
        back += take(d, KMRIG_PROTO_T_EVT_CREDIT, -1).msg.u.credits;
    assert_int_equal(back, spent);
    assert_true(spent < h.cmd_credits);
    assert_true(none_of(d, KMRIG_PROTO_T_WRITE_RSP, 200));
    assert_int_equal(rd(d, MEM, SCRATCH, 4).data, 9);
    dev_close(d);
}

/* DMA: the SoC's dma0 copies through the bridge's DMA port: DMA requests to the host, whose
 * answers come from `mem`. */
static int serve_dma(struct dev *d, struct rx *r)
{
    uint8_t f[64];
    const struct kmrig_proto_dma_req *q = &r->msg.u.dma_req;
    int ok = q->addr >= d->mem_base && q->addr + q->len <= d->mem_base + sizeof d->mem;
    if (r->msg.type == KMRIG_PROTO_T_DMA_RD_REQ) {
        send(d, f,
             kmrig_proto_enc_dma_rd_rsp(
                 f, sizeof f, 0, r->msg.tag, ok ? KMRIG_PROTO_ST_OK : KMRIG_PROTO_ST_DMA_FAULT,
                 ok ? &d->mem[q->addr - d->mem_base] : NULL, ok ? q->len : 0));
    } else {
        if (ok)
            memcpy(&d->mem[q->addr - d->mem_base], r->msg.data, q->len);
        send(d, f,
             kmrig_proto_enc_dma_wr_rsp(f, sizeof f, 0, r->msg.tag,
                                        ok ? KMRIG_PROTO_ST_OK : KMRIG_PROTO_ST_DMA_FAULT));
    }
    return ok;
}

static void put32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

/* Serves DMA requests (counting them) until dma0 is done or failed; returns its STATUS. The
 * STATUS reads are host requests like any other: DMA answers bypass them (section 6, rule 5). */
static uint32_t dma_wait(struct dev *d, unsigned *reads, unsigned *writes, unsigned *faults)
{
    for (int guard = 0; guard < 1000; guard++) {
        uint8_t f[64];
        uint8_t tag = d->seq++;
        send(d, f,
             kmrig_proto_enc_read(f, sizeof f, 0, tag, MEM, KMRIG_SOC_DMA0_BASE + KMRIG_DMA_STATUS,
                                  4));
        int found = 0;
        uint32_t status = 0;
        while (!found) {
            kmrig_simsoc_run_until_phy(d->m, 10000);
            pump(d);
            for (unsigned i = 0; i < d->nq;) {
                unsigned t = d->q[i].msg.type;
                if (t == KMRIG_PROTO_T_DMA_RD_REQ || t == KMRIG_PROTO_T_DMA_WR_REQ) {
                    *faults += !serve_dma(d, &d->q[i]);
                    *reads += t == KMRIG_PROTO_T_DMA_RD_REQ;
                    *writes += t == KMRIG_PROTO_T_DMA_WR_REQ;
                } else if (t == KMRIG_PROTO_T_READ_RSP && d->q[i].msg.tag == tag) {
                    status = d->q[i].msg.u.result.data;
                    found = 1;
                } else {
                    i++;
                    continue;
                }
                memmove(&d->q[i], &d->q[i + 1], (d->nq - i - 1) * sizeof d->q[0]);
                d->nq--;
            }
        }
        if (status & (KMRIG_DMA_STATUS_DONE | KMRIG_DMA_STATUS_ERROR))
            return status;
    }
    fail_msg("dma0 neither finished nor failed");
    return 0;
}

static void dma_copy(struct dev *d, uint64_t src, uint64_t dst, uint32_t len)
{
    uint8_t *desc = d->mem;
    memset(desc, 0, 32);
    put32(desc + KMRIG_DMADESC_CTRL, KMRIG_DMADESC_CTRL_OWN | KMRIG_DMADESC_CTRL_LAST | len);
    put32(desc + KMRIG_DMADESC_SRC_LO, (uint32_t)src);
    put32(desc + KMRIG_DMADESC_SRC_HI, (uint32_t)(src >> 32));
    put32(desc + KMRIG_DMADESC_DST_LO, (uint32_t)dst);
    put32(desc + KMRIG_DMADESC_DST_HI, (uint32_t)(dst >> 32));
    wr(d, MEM, KMRIG_SOC_DMA0_BASE + KMRIG_DMA_STATUS, 4,
       KMRIG_DMA_STATUS_DONE | KMRIG_DMA_STATUS_ERROR);
    wr(d, MEM, KMRIG_SOC_DMA0_BASE + KMRIG_DMA_DESC_LO, 4, (uint32_t)d->mem_base);
    wr(d, MEM, KMRIG_SOC_DMA0_BASE + KMRIG_DMA_DESC_HI, 4, (uint32_t)(d->mem_base >> 32));
    wr(d, MEM, KMRIG_SOC_DMA0_BASE + KMRIG_DMA_CTRL, 4, KMRIG_DMA_CTRL_RUN);
}

static void test_bridge_rtl_dma_goes_through_dma_frames(void **state)
{
    (void)state;
    struct dev *d = dev_open();
    hello(d, 0);
    d->mem_base = 0x123400000ull;
    for (unsigned i = 0; i < 64; i++)
        d->mem[0x100 + i] = (uint8_t)(i ^ 0x5A);
    unsigned reads = 0, writes = 0, faults = 0;
    /* 64 bytes from mem+0x100 to mem+0x200 */
    dma_copy(d, d->mem_base + 0x100, d->mem_base + 0x200, 64);
    uint32_t status = dma_wait(d, &reads, &writes, &faults);
    assert_int_equal(status & (KMRIG_DMA_STATUS_DONE | KMRIG_DMA_STATUS_ERROR),
                     KMRIG_DMA_STATUS_DONE);
    assert_memory_equal(d->mem + 0x200, d->mem + 0x100, 64);
    assert_true(reads >= 16 + 1); /* the descriptor and the source words */
    assert_true(writes >= 16);    /* the destination words (and the write-back) */
    assert_int_equal(faults, 0);
    /* a source outside host memory: the host answers DMA_FAULT, dma0 stops with ERROR, and
     * the destination is untouched */
    memset(d->mem + 0x300, 0xEE, 64);
    dma_copy(d, d->mem_base + 0x100000, d->mem_base + 0x300, 64);
    status = dma_wait(d, &reads, &writes, &faults);
    assert_int_equal(status & KMRIG_DMA_STATUS_ERROR, KMRIG_DMA_STATUS_ERROR);
    assert_int_equal(faults, 1);
    for (unsigned i = 0; i < 64; i++)
        assert_int_equal(d->mem[0x300 + i], 0xEE);
    dev_close(d);
}

/* The bus idle gap applies to the bridge's cycles: consecutive elements of a fixed burst of
 * TS_LO reads are a constant number of cycles apart: 4 without a gap (the cycle of STB, the
 * acknowledge, the engine's two cycles between elements), gap + 2 with a gap of 2 or more (the
 * interconnect counts the gap from the edge after the acknowledge, and the engine's two
 * cycles overlap it). */
static uint32_t burst_spacing(unsigned gap)
{
    struct dev *d = calloc(1, sizeof *d);
    assert_non_null(d);
    struct kmrig_simsoc_config cfg;
    kmrig_simsoc_config_init(&cfg);
    cfg.bridge = 1;
    cfg.idle_gap = gap;
    assert_int_equal(kmrig_simsoc_open(&cfg, &d->m), KMRIG_SIM_OK);
    kmrig_proto_decoder_init(&d->dec, 0);
    hello(d, 0);
    uint8_t f[64];
    uint8_t tag = d->seq++;
    send(d, f,
         kmrig_proto_enc_read_burst(f, sizeof f, 0, tag, MEM,
                                    KMRIG_SOC_SYSID_BASE + KMRIG_SYSID_TS_LO, 4, 8, 1));
    struct rx b = take(d, KMRIG_PROTO_T_READ_BURST_RSP, tag);
    assert_int_equal(b.msg.u.result.count, 8);
    uint32_t v[8];
    memcpy(v, b.msg.data, sizeof v);
    for (unsigned i = 2; i < 8; i++)
        assert_int_equal(v[i] - v[i - 1], v[1] - v[0]);
    dev_close(d);
    return v[1] - v[0];
}

static void test_bridge_rtl_bus_idle_gap_spaces_the_cycles(void **state)
{
    (void)state;
    uint32_t s0 = burst_spacing(0), s20 = burst_spacing(20);
    assert_int_equal(s0, 4);
    assert_int_equal(s20, 20 + 2);
}

/* Garbage between good frames: random bytes, truncated frames, bad CRCs, bad header CRCs. On
 * a link with CRC-32 on every frame, every good frame is answered exactly once, in order. */
static void garbage_run(unsigned seed)
{
    struct dev *d = dev_open();
    d->flags = KMRIG_PROTO_FLAG_PCRC;
    hello(d, KMRIG_PROTO_CAP_CRC_REQUIRED);
    srand(seed);
    static uint8_t stream[200000];
    size_t n = 0;
    uint8_t tags[500];
    unsigned ngood = 0;
    uint8_t f[64];
    for (unsigned i = 0; i < 400; i++) {
        unsigned kind = (unsigned)rand() % 7;
        int fl;
        switch (kind) {
        case 0: /* random bytes, SOFs among them */
            for (int k = rand() % 40; k > 0; k--)
                stream[n++] = (rand() % 4) ? (uint8_t)rand() : KMRIG_PROTO_SOF;
            break;
        case 1: /* a truncated frame */
            fl = kmrig_proto_enc_read(f, sizeof f, d->flags, 0x99, MEM, SCRATCH, 4);
            {
                int cut = 1 + rand() % (fl - 1);
                memcpy(stream + n, f, (size_t)cut);
                n += (size_t)cut;
            }
            break;
        case 2: /* a bad payload CRC */
            fl = kmrig_proto_enc_read(f, sizeof f, d->flags, 0x98, MEM, SCRATCH, 4);
            f[8 + rand() % (fl - 8)] ^= (uint8_t)(1u << (rand() % 8));
            memcpy(stream + n, f, (size_t)fl);
            n += (size_t)fl;
            break;
        case 4: /* a long frame cut short: its length swallows the good frames behind it */
        {
            static uint8_t big[KMRIG_PROTO_MAX_FRAME], junk[1024];
            for (unsigned k = 0; k < sizeof junk; k++)
                junk[k] = (uint8_t)rand();
            fl = kmrig_proto_enc_write_burst(big, sizeof big, d->flags, 0x96, MEM, SCRATCH, 1, 1024,
                                             1, junk);
            int cut = 8 + rand() % 200;
            assert_true(cut < fl);
            memcpy(stream + n, big, (size_t)cut);
            n += (size_t)cut;
        } break;
        case 3: /* a bad header */
            fl = kmrig_proto_enc_read(f, sizeof f, d->flags, 0x97, MEM, SCRATCH, 4);
            f[1 + rand() % 7] ^= (uint8_t)(1u << (rand() % 8));
            memcpy(stream + n, f, (size_t)fl);
            n += (size_t)fl;
            break;
        default: /* a good frame */
            tags[ngood++] = d->seq;
            fl = kmrig_proto_enc_read(f, sizeof f, d->flags, d->seq++, MEM,
                                      KMRIG_SOC_SYSID_BASE + KMRIG_SYSID_ID, 4);
            memcpy(stream + n, f, (size_t)fl);
            n += (size_t)fl;
            break;
        }
    }
    /* good frames to finish: a frame cut short waits for as many bytes as its header says
     * (as the host's decoder does), so the stream goes on for longer than the longest one */
    for (unsigned i = 0; i < 80; i++) {
        tags[ngood++] = d->seq;
        int fl = kmrig_proto_enc_read(f, sizeof f, d->flags, d->seq++, MEM,
                                      KMRIG_SOC_SYSID_BASE + KMRIG_SYSID_ID, 4);
        memcpy(stream + n, f, (size_t)fl);
        n += (size_t)fl;
    }
    send(d, stream, (int)n);
    unsigned answered = 0;
    uint64_t waited = 0;
    while (answered < ngood && waited < 10 * WAIT_CYCLES) {
        waited += kmrig_simsoc_run_until_phy(d->m, 10000);
        pump(d);
        for (unsigned i = 0; i < d->nq;) {
            if (d->q[i].msg.type == KMRIG_PROTO_T_READ_RSP) {
                assert_true(answered < ngood);
                assert_int_equal(d->q[i].msg.tag, tags[answered]);
                assert_int_equal(d->q[i].msg.u.result.data, KMRIG_SOC_ID);
                assert_true(d->q[i].msg.flags & KMRIG_PROTO_FLAG_PCRC);
                answered++;
            }
            memmove(&d->q[i], &d->q[i + 1], (d->nq - i - 1) * sizeof d->q[0]);
            d->nq--;
        }
    }
    assert_int_equal(answered, ngood);
    assert_true(none_of(d, KMRIG_PROTO_T_READ_RSP, 5000));
    dev_close(d);
}

static void test_bridge_rtl_resynchronises_after_garbage(void **state)
{
    (void)state;
    static const unsigned seeds[] = {12345, 1, 777, 4242};
    for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++)
        garbage_run(seeds[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bridge_rtl_hello_reports_the_gateware),
        cmocka_unit_test(test_bridge_rtl_requests_before_hello_get_no_hello),
        cmocka_unit_test(test_bridge_rtl_read_write_byte_lanes_and_spaces),
        cmocka_unit_test(test_bridge_rtl_timestamps_follow_the_device_clock),
        cmocka_unit_test(test_bridge_rtl_errors_bus_malformed_unknown),
        cmocka_unit_test(test_bridge_rtl_rmw_is_one_locked_read_and_write),
        cmocka_unit_test(test_bridge_rtl_bursts_of_4k_fixed_and_incrementing),
        cmocka_unit_test(test_bridge_rtl_ping_echoes_with_a_timestamp),
        cmocka_unit_test(test_bridge_rtl_level_interrupt_events),
        cmocka_unit_test(test_bridge_rtl_edge_interrupt_is_latched_until_eoi),
        cmocka_unit_test(test_bridge_rtl_credits_come_back),
        cmocka_unit_test(test_bridge_rtl_dma_goes_through_dma_frames),
        cmocka_unit_test(test_bridge_rtl_bus_idle_gap_spaces_the_cycles),
        cmocka_unit_test(test_bridge_rtl_resynchronises_after_garbage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

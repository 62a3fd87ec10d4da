/*
 * test_proto_frame.c - the wire-protocol codec (kmrig/protocol.h, bridge/protocol/frame.c):
 * CRCs, round trips of every frame type, the worked examples of docs/protocol.md byte for byte,
 * and the streaming decoder against chunking, garbage, truncation, bit flips and oversize
 * lengths. Plain cmocka: the codec needs no runtime.
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

/* ---- helpers ------------------------------------------------------------------------------ */

struct got {
    size_t n;
    struct kmrig_proto_frame f[64];
    uint8_t copy[64][KMRIG_PROTO_MAX_FRAME]; /* header+payload as received */
};

/* Feeds `in` in chunks of at most `chunk` bytes (0: all at once) and collects every frame. */
static void decode_all(struct kmrig_proto_decoder *d, const uint8_t *in, size_t n, size_t chunk,
                       struct got *g)
{
    size_t off = 0;
    while (off < n) {
        size_t k = chunk && n - off > chunk ? chunk : n - off;
        const uint8_t *p = in + off;
        size_t left = k;
        off += k;
        while (left) {
            size_t used = 99999;
            struct kmrig_proto_frame f;
            int r = kmrig_proto_decoder_feed(d, p, left, &used, &f);
            assert_true(used <= left);
            p += used;
            left -= used;
            if (r == 1) {
                assert_true(g->n < 64);
                g->f[g->n] = f;
                memcpy(g->copy[g->n], f.payload, f.len);
                g->f[g->n].payload = g->copy[g->n];
                g->n++;
            } else {
                assert_int_equal(r, 0);
                assert_int_equal(left, 0);
            }
        }
    }
    const struct kmrig_proto_decoder_stats *s = &d->stats;
    assert_int_equal(s->bytes_in,
                     s->frame_bytes + s->dropped_bytes + kmrig_proto_decoder_pending(d));
}

/* Decodes one complete encoded frame and parses it. */
static void decode_one(const uint8_t *buf, size_t n, struct kmrig_proto_msg *m,
                       struct kmrig_proto_frame *f, struct got *g)
{
    struct kmrig_proto_decoder d;
    kmrig_proto_decoder_init(&d, 0);
    g->n = 0;
    decode_all(&d, buf, n, 0, g);
    assert_int_equal(g->n, 1);
    assert_int_equal(g->f[0].wire_len, n);
    *f = g->f[0];
    assert_int_equal(kmrig_proto_parse(f, m), 0);
}

static uint8_t pattern[KMRIG_PROTO_MAX_BURST];

static void fill_pattern(void)
{
    for (size_t i = 0; i < sizeof pattern; i++)
        pattern[i] = (uint8_t)(i * 7 + 3);
}

static struct kmrig_proto_msg *new_msg(struct kmrig_proto_msg **cur, struct kmrig_proto_msg *m,
                                       unsigned type, size_t n)
{
    memset(m, 0, sizeof *m);
    m->type = (uint8_t)type;
    m->tag = (uint8_t)(n * 13);
    return *cur = m;
}

/* One message of each type with every field set to something distinguishable. */
static size_t sample_msgs(struct kmrig_proto_msg *out)
{
    size_t n = 0;
    struct kmrig_proto_msg *m;
#define NEW(t) (n++, new_msg(&m, &out[n - 1], KMRIG_PROTO_T_##t, n))
    NEW(HELLO)->u.hello = (struct kmrig_proto_hello){KMRIG_PROTO_MAGIC, 1, 0, 0x1F, 65536, 8};
    NEW(READ)->u.access = (struct kmrig_proto_access){.attr = 0x01, .addr = 0x3FD};
    NEW(WRITE)->u.access = (struct kmrig_proto_access){.attr = 0x04, .addr = 0x2004, .data = 50000};
    NEW(READ_BURST)->u.access = (struct kmrig_proto_access){.attr = 0x04, .count = 1024, .addr = 0};
    NEW(WRITE_BURST)->u.access =
        (struct kmrig_proto_access){.attr = 0x09, .count = 300, .addr = 0x3F8};
    m->data = pattern, m->data_len = 300;
    NEW(RMW)->u.access =
        (struct kmrig_proto_access){.attr = 0x02, .addr = 0x3002, .mask = 0xFF0F, .value = 0x1234};
    NEW(IRQ_CTL)->u.irq_ctl = (struct kmrig_proto_irq_ctl){KMRIG_PROTO_IRQ_OP_EOI, 0x80000005u};
    NEW(IRQ_QUERY);
    NEW(PING);
    m->data = pattern, m->data_len = KMRIG_PROTO_MAX_PING;
    NEW(DMA_RD_RSP)->u.dma_status = KMRIG_PROTO_ST_OK;
    m->data = pattern, m->data_len = KMRIG_PROTO_MAX_BURST;
    NEW(DMA_WR_RSP)->u.dma_status = KMRIG_PROTO_ST_DMA_FAULT;
    NEW(HELLO_RSP)->u.hello_rsp = (struct kmrig_proto_hello_rsp){KMRIG_PROTO_MAGIC,
                                                                 1,
                                                                 0,
                                                                 KMRIG_PROTO_HELLO_ST_OK,
                                                                 8,
                                                                 0xFF,
                                                                 50000000,
                                                                 0x4B4D5247,
                                                                 0x00010200,
                                                                 0xDEADBEEF,
                                                                 4096 + 64,
                                                                 KMRIG_PROTO_MAX_PAYLOAD,
                                                                 4,
                                                                 "icebreaker",
                                                                 "kmrig-0.1.0-g1234567"};
    NEW(READ_RSP)->u.result = (struct kmrig_proto_result){0, 0, 0x60, 0x123456789ABCull};
    NEW(WRITE_RSP)->u.result = (struct kmrig_proto_result){KMRIG_PROTO_ST_BUS, 1, 0, 77};
    NEW(READ_BURST_RSP)->u.result = (struct kmrig_proto_result){0, 1024, 0, 1ull << 40};
    m->data = pattern, m->data_len = KMRIG_PROTO_MAX_BURST;
    NEW(WRITE_BURST_RSP)->u.result = (struct kmrig_proto_result){KMRIG_PROTO_ST_TIMEOUT, 17, 0, 5};
    NEW(RMW_RSP)->u.result = (struct kmrig_proto_result){0, 0, 0xCAFEF00D, 99};
    NEW(IRQ_CTL_RSP)->u.result = (struct kmrig_proto_result){KMRIG_PROTO_ST_UNSUPPORTED, 0, 0, 3};
    NEW(IRQ_QUERY_RSP)->u.irq_state = (struct kmrig_proto_irq_state){5, 0xF0, 0x0C, 0x07, 1234};
    NEW(PING_RSP)->u.ping_ts = 0xFEDCBA9876543210ull;
    m->data = pattern, m->data_len = 5;
    NEW(DMA_RD_REQ)->u.dma_req = (struct kmrig_proto_dma_req){0x100001000ull, 4096, 42};
    NEW(DMA_WR_REQ)->u.dma_req = (struct kmrig_proto_dma_req){0x200000FF0ull, 16, 43};
    m->data = pattern, m->data_len = 16;
    NEW(EVT_IRQ)->u.evt_irq = (struct kmrig_proto_evt_irq){31, 0x03, 0x80000000u, 10000000};
    NEW(EVT_ERROR)->u.evt_error =
        (struct kmrig_proto_evt_error){KMRIG_PROTO_EV_ERR_SEQ, 0x0709, 12, 8};
    NEW(EVT_CREDIT)->u.credits = 4124;
#undef NEW
    return n;
}

#define ALL_TYPES_COUNT(n, t, b, d, mp) +1
static const size_t all_types = 0 KMRIG_PROTO_FRAME_LIST(ALL_TYPES_COUNT);

/* ---- CRC ---------------------------------------------------------------------------------- */

static void test_proto_crc_check_values(void **state)
{
    (void)state;
    assert_int_equal(kmrig_proto_crc16("123456789", 9), KMRIG_PROTO_CRC16_CHECK);
    assert_int_equal(kmrig_proto_crc32("123456789", 9), KMRIG_PROTO_CRC32_CHECK);
    /* chaining gives the same as one call */
    uint16_t c16 = kmrig_proto_crc16_update(kmrig_proto_crc16("1234", 4), "56789", 5);
    assert_int_equal(c16, KMRIG_PROTO_CRC16_CHECK);
    assert_int_equal(kmrig_proto_crc32_update(kmrig_proto_crc32("12", 2), "3456789", 7),
                     KMRIG_PROTO_CRC32_CHECK);
    assert_int_equal(kmrig_proto_crc32("", 0), 0);
}

/* ---- round trips -------------------------------------------------------------------------- */

static void test_proto_roundtrip_every_type(void **state)
{
    (void)state;
    static struct got g;
    static uint8_t buf[KMRIG_PROTO_MAX_FRAME], again[KMRIG_PROTO_MAX_FRAME];
    struct kmrig_proto_msg msgs[40];
    size_t n = sample_msgs(msgs);
    assert_int_equal(n, all_types); /* a sample for every type in protocol.json */
    for (size_t i = 0; i < n; i++) {
        for (unsigned pcrc = 0; pcrc <= KMRIG_PROTO_FLAG_PCRC; pcrc += KMRIG_PROTO_FLAG_PCRC) {
            struct kmrig_proto_msg m = msgs[i], back;
            struct kmrig_proto_frame f;
            m.flags = (uint8_t)pcrc;
            int len = kmrig_proto_encode(&m, buf, sizeof buf);
            assert_true(len > 0);
            int body = kmrig_proto_type_body(m.type, NULL);
            assert_int_equal(len, KMRIG_PROTO_HDR_BYTES + body + m.data_len + (pcrc ? 4 : 0));
            decode_one(buf, (size_t)len, &back, &f, &g);
            assert_int_equal(back.type, m.type);
            assert_int_equal(back.tag, m.tag);
            assert_int_equal(back.flags, m.flags);
            assert_int_equal(back.data_len, m.data_len);
            if (m.data_len)
                assert_memory_equal(back.data, m.data, m.data_len);
            /* every field survives: the union compares equal over the type's struct */
            assert_int_equal(kmrig_proto_encode(&back, again, sizeof again), len);
            assert_memory_equal(again, buf, (size_t)len);
            assert_string_not_equal(kmrig_proto_type_name(m.type), "?");
        }
    }
    /* spot checks that the parsed values are the fields, not just the same bytes */
    struct kmrig_proto_msg back;
    struct kmrig_proto_frame f;
    int len = kmrig_proto_encode(&msgs[11], buf, sizeof buf);
    decode_one(buf, (size_t)len, &back, &f, &g);
    assert_int_equal(back.type, KMRIG_PROTO_T_HELLO_RSP);
    assert_string_equal(back.u.hello_rsp.board, "icebreaker");
    assert_string_equal(back.u.hello_rsp.build, "kmrig-0.1.0-g1234567");
    assert_int_equal(back.u.hello_rsp.clock_hz, 50000000);
    assert_int_equal(back.u.hello_rsp.max_payload, KMRIG_PROTO_MAX_PAYLOAD);
    len = kmrig_proto_encode(&msgs[20], buf, sizeof buf);
    decode_one(buf, (size_t)len, &back, &f, &g);
    assert_int_equal(back.u.dma_req.addr, 0x100001000ull);
    assert_int_equal(back.u.dma_req.len, 4096);
}

static void test_proto_enc_helpers_match_messages(void **state)
{
    (void)state;
    uint8_t a[KMRIG_PROTO_MAX_FRAME], b[KMRIG_PROTO_MAX_FRAME];
    struct kmrig_proto_msg m = {
        .type = KMRIG_PROTO_T_RMW, .flags = KMRIG_PROTO_FLAG_PCRC, .tag = 9};
    m.u.access = (struct kmrig_proto_access){.attr = 0x04, .addr = 0x3004, .mask = 0xF, .value = 5};
    int la = kmrig_proto_enc_rmw(a, sizeof a, KMRIG_PROTO_FLAG_PCRC, 9, KMRIG_PROTO_SPACE_MEM,
                                 0x3004, 4, 0xF, 5);
    assert_int_equal(la, kmrig_proto_encode(&m, b, sizeof b));
    assert_memory_equal(a, b, (size_t)la);

    memset(&m, 0, sizeof m);
    m.type = KMRIG_PROTO_T_HELLO;
    m.tag = 1;
    m.u.hello = (struct kmrig_proto_hello){KMRIG_PROTO_MAGIC,
                                           KMRIG_PROTO_VERSION_MAJOR,
                                           KMRIG_PROTO_VERSION_MINOR,
                                           KMRIG_PROTO_CAP_DMA,
                                           16384,
                                           4};
    la = kmrig_proto_enc_hello(a, sizeof a, 0, 1, KMRIG_PROTO_CAP_DMA, 16384, 4);
    assert_int_equal(la, kmrig_proto_encode(&m, b, sizeof b));
    assert_memory_equal(a, b, (size_t)la);

    assert_int_equal(kmrig_proto_enc_irq_query(a, sizeof a, 0, 3), KMRIG_PROTO_HDR_BYTES);
    assert_int_equal(kmrig_proto_enc_dma_wr_rsp(a, sizeof a, 0, 3, KMRIG_PROTO_ST_OK), 12);
    assert_int_equal(kmrig_proto_enc_ping(a, sizeof a, 0, 3, "abc", 3), 11);
    assert_int_equal(
        kmrig_proto_enc_read_burst(a, sizeof a, 0, 3, KMRIG_PROTO_SPACE_IO, 0x3F8, 1, 16, 1), 16);
}

/* ---- docs/protocol.md, "Worked examples" ----------------------------------------------------- */

static const uint8_t ex_read[] = {0xA5, 0x02, 0x00, 0x10, 0x08, 0x00, 0x70, 0x22,
                                  0x01, 0x00, 0x00, 0x00, 0xFD, 0x03, 0x00, 0x00};
static const uint8_t ex_read_rsp[] = {0xA5, 0x42, 0x00, 0x10, 0x10, 0x00, 0xC2, 0xB9,
                                      0x00, 0x00, 0x00, 0x00, 0x60, 0x00, 0x00, 0x00,
                                      0x34, 0x12, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
static const uint8_t ex_write[] = {0xA5, 0x03, 0x00, 0x11, 0x0C, 0x00, 0xD5, 0x73, 0x04, 0x00,
                                   0x00, 0x00, 0x04, 0x20, 0x00, 0x00, 0x50, 0xC3, 0x00, 0x00};
static const uint8_t ex_write_crc[] = {0xA5, 0x03, 0x01, 0x11, 0x0C, 0x00, 0x61, 0x05,
                                       0x04, 0x00, 0x00, 0x00, 0x04, 0x20, 0x00, 0x00,
                                       0x50, 0xC3, 0x00, 0x00, 0xE5, 0x1C, 0x6B, 0x32};
static const uint8_t ex_write_burst[] = {0xA5, 0x05, 0x00, 0x12, 0x0C, 0x00, 0x00,
                                         0xE7, 0x09, 0x00, 0x04, 0x00, 0xF8, 0x03,
                                         0x00, 0x00, 0x6B, 0x6D, 0x72, 0x67};
static const uint8_t ex_read_burst[] = {0xA5, 0x04, 0x00, 0x13, 0x08, 0x00, 0xA5, 0xB6,
                                        0x04, 0x00, 0x02, 0x00, 0x00, 0x10, 0x00, 0x00};
static const uint8_t ex_read_burst_rsp[] = {
    0xA5, 0x44, 0x00, 0x13, 0x14, 0x00, 0xD3, 0xE1, 0x00, 0x00, 0x02, 0x00, 0x40, 0x12,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x47, 0x52, 0x4D, 0x4B, 0x00, 0x02, 0x01, 0x00};
static const uint8_t ex_evt_irq[] = {0xA5, 0x70, 0x00, 0x05, 0x10, 0x00, 0x3C, 0x59,
                                     0x00, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
                                     0x80, 0x96, 0x98, 0x00, 0x00, 0x00, 0x00, 0x00};
static const uint8_t ex_dma_rd_req[] = {0xA5, 0x60, 0x00, 0x02, 0x14, 0x00, 0x32, 0x14, 0x00, 0x20,
                                        0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00,
                                        0x00, 0x00, 0x00, 0x20, 0x00, 0x00, 0x00, 0x00};
static const uint8_t ex_dma_rd_rsp[] = {0xA5, 0x20, 0x00, 0x02, 0x14, 0x00, 0x5A, 0x05, 0x00, 0x00,
                                        0x00, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
                                        0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F};

static void assert_encodes_to(const struct kmrig_proto_msg *m, const uint8_t *want, size_t n)
{
    uint8_t buf[256];
    assert_int_equal(kmrig_proto_encode(m, buf, sizeof buf), (int)n);
    assert_memory_equal(buf, want, n);
}

static void test_proto_worked_examples_host_frames(void **state)
{
    (void)state;
    uint8_t buf[256];
    /* READ_PORT_UCHAR(0x3FD): uart0 LSR */
    assert_int_equal(kmrig_proto_enc_read(buf, sizeof buf, 0, 0x10, KMRIG_PROTO_SPACE_IO, 0x3FD, 1),
                     sizeof ex_read);
    assert_memory_equal(buf, ex_read, sizeof ex_read);
    /* timer0 LOAD = 50000, posted; then the same with CRC-32 as on UART */
    assert_int_equal(
        kmrig_proto_enc_write(buf, sizeof buf, 0, 0x11, KMRIG_PROTO_SPACE_MEM, 0x2004, 4, 50000),
        sizeof ex_write);
    assert_memory_equal(buf, ex_write, sizeof ex_write);
    assert_int_equal(kmrig_proto_enc_write(buf, sizeof buf, KMRIG_PROTO_FLAG_PCRC, 0x11,
                                           KMRIG_PROTO_SPACE_MEM, 0x2004, 4, 50000),
                     sizeof ex_write_crc);
    assert_memory_equal(buf, ex_write_crc, sizeof ex_write_crc);
    /* "kmrg" into the THR FIFO: fixed-address byte burst at port 0x3F8 */
    assert_int_equal(kmrig_proto_enc_write_burst(buf, sizeof buf, 0, 0x12, KMRIG_PROTO_SPACE_IO,
                                                 0x3F8, 1, 4, 1, "kmrg"),
                     sizeof ex_write_burst);
    assert_memory_equal(buf, ex_write_burst, sizeof ex_write_burst);
    /* sysid ID and VERSION: incrementing 32-bit burst of 2 */
    assert_int_equal(kmrig_proto_enc_read_burst(buf, sizeof buf, 0, 0x13, KMRIG_PROTO_SPACE_MEM,
                                                0x1000, 4, 2, 0),
                     sizeof ex_read_burst);
    assert_memory_equal(buf, ex_read_burst, sizeof ex_read_burst);
    /* the host answers DMA tag 2 with 16 bytes */
    uint8_t data[16];
    for (int i = 0; i < 16; i++)
        data[i] = (uint8_t)i;
    assert_int_equal(
        kmrig_proto_enc_dma_rd_rsp(buf, sizeof buf, 0, 0x02, KMRIG_PROTO_ST_OK, data, 16),
        sizeof ex_dma_rd_rsp);
    assert_memory_equal(buf, ex_dma_rd_rsp, sizeof ex_dma_rd_rsp);
}

static void test_proto_worked_examples_device_frames(void **state)
{
    (void)state;
    static struct got g;
    struct kmrig_proto_msg m;
    struct kmrig_proto_frame f;

    decode_one(ex_read_rsp, sizeof ex_read_rsp, &m, &f, &g);
    assert_int_equal(m.type, KMRIG_PROTO_T_READ_RSP);
    assert_int_equal(m.tag, 0x10);
    assert_int_equal(m.u.result.status, KMRIG_PROTO_ST_OK);
    assert_int_equal(m.u.result.data, 0x60);
    assert_int_equal(m.u.result.ts, 0x1234);
    assert_encodes_to(&m, ex_read_rsp, sizeof ex_read_rsp);

    decode_one(ex_read_burst_rsp, sizeof ex_read_burst_rsp, &m, &f, &g);
    assert_int_equal(m.type, KMRIG_PROTO_T_READ_BURST_RSP);
    assert_int_equal(m.u.result.count, 2);
    assert_int_equal(m.data_len, 8);
    assert_int_equal(m.data[0] | m.data[1] << 8 | m.data[2] << 16 | (uint32_t)m.data[3] << 24,
                     0x4B4D5247u);
    assert_encodes_to(&m, ex_read_burst_rsp, sizeof ex_read_burst_rsp);

    decode_one(ex_evt_irq, sizeof ex_evt_irq, &m, &f, &g);
    assert_int_equal(m.type, KMRIG_PROTO_T_EVT_IRQ);
    assert_int_equal(m.tag, 5);
    assert_int_equal(m.u.evt_irq.line, 0);
    assert_int_equal(m.u.evt_irq.state, KMRIG_PROTO_IRQ_STATE_ASSERTED);
    assert_int_equal(m.u.evt_irq.active, 1);
    assert_int_equal(m.u.evt_irq.ts, 10000000);
    assert_encodes_to(&m, ex_evt_irq, sizeof ex_evt_irq);

    decode_one(ex_dma_rd_req, sizeof ex_dma_rd_req, &m, &f, &g);
    assert_int_equal(m.type, KMRIG_PROTO_T_DMA_RD_REQ);
    assert_int_equal(m.tag, 2);
    assert_int_equal(m.u.dma_req.addr, 0x100002000ull);
    assert_int_equal(m.u.dma_req.len, 16);
    assert_int_equal(m.u.dma_req.ts, 0x20000000);
    assert_encodes_to(&m, ex_dma_rd_req, sizeof ex_dma_rd_req);

    decode_one(ex_write_crc, sizeof ex_write_crc, &m, &f, &g);
    assert_int_equal(m.flags, KMRIG_PROTO_FLAG_PCRC);
    assert_int_equal(m.u.access.data, 50000);
}

/* ---- the streaming decoder ------------------------------------------------------------------ */

/* A stream of every sample frame, alternately with and without CRC. */
static size_t build_stream(uint8_t *out, size_t cap, size_t *lens, size_t *count)
{
    struct kmrig_proto_msg msgs[40];
    size_t n = sample_msgs(msgs), off = 0;
    for (size_t i = 0; i < n; i++) {
        msgs[i].flags = (i & 1) ? KMRIG_PROTO_FLAG_PCRC : 0;
        int len = kmrig_proto_encode(&msgs[i], out + off, cap - off);
        assert_true(len > 0);
        lens[i] = (size_t)len;
        off += (size_t)len;
    }
    *count = n;
    return off;
}

static void assert_stream_frames(const struct got *g, const uint8_t *stream, const size_t *lens,
                                 size_t count)
{
    size_t off = 0;
    assert_int_equal(g->n, count);
    for (size_t i = 0; i < count; i++) {
        assert_int_equal(g->f[i].wire_len, lens[i]);
        assert_int_equal(g->f[i].type, stream[off + 1]);
        assert_memory_equal(g->f[i].payload, stream + off + KMRIG_PROTO_HDR_BYTES, g->f[i].len);
        off += lens[i];
    }
}

static void test_proto_decoder_split_at_every_boundary(void **state)
{
    (void)state;
    static uint8_t stream[64 * 1024];
    static struct got g;
    size_t lens[40], count;
    size_t n = build_stream(stream, sizeof stream, lens, &count);
    struct kmrig_proto_decoder *d = malloc(sizeof *d);
    assert_non_null(d);
    /* two chunks, split at every byte */
    for (size_t cut = 0; cut <= n; cut++) {
        kmrig_proto_decoder_init(d, 0);
        g.n = 0;
        decode_all(d, stream, cut, 0, &g);
        decode_all(d, stream + cut, n - cut, 0, &g);
        assert_stream_frames(&g, stream, lens, count);
        assert_int_equal(d->stats.dropped_bytes, 0);
    }
    /* and byte by byte, and in odd chunk sizes */
    size_t chunks[] = {1, 2, 3, 7, 8, 9, 511, 4096};
    for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
        kmrig_proto_decoder_init(d, 0);
        g.n = 0;
        decode_all(d, stream, n, chunks[c], &g);
        assert_stream_frames(&g, stream, lens, count);
        assert_int_equal(kmrig_proto_decoder_pending(d), 0);
    }
    free(d);
}

static void test_proto_decoder_garbage_before_and_between(void **state)
{
    (void)state;
    static uint8_t stream[8192];
    static struct got g;
    uint8_t f1[64], f2[64];
    int l1 = kmrig_proto_enc_read(f1, sizeof f1, 0, 1, KMRIG_PROTO_SPACE_IO, 0x3F8, 1);
    int l2 = kmrig_proto_enc_write(f2, sizeof f2, KMRIG_PROTO_FLAG_PCRC, 2, KMRIG_PROTO_SPACE_MEM,
                                   0x1010, 4, 0xAABBCCDD);
    /* garbage: noise, lone SOFs, a SOF with a header that fails its CRC, a header with a sound
     * CRC-16 whose frame is cut short by the next real frame */
    static const uint8_t noise[] = {0x00, 0xFF, 0xA5, 0xA5, 0x13, 0xA5, 0x02, 0x00,
                                    0x10, 0x08, 0x00, 0x00, 0x00, 0x55, 0xA5};
    size_t off = 0, garbage = 0;
    memcpy(stream + off, noise, sizeof noise), off += sizeof noise, garbage += sizeof noise;
    memcpy(stream + off, f1, (size_t)l1), off += (size_t)l1;
    memcpy(stream + off, noise, sizeof noise), off += sizeof noise, garbage += sizeof noise;
    memcpy(stream + off, f2, 10), off += 10, garbage += 10; /* truncated copy of f2 */
    memcpy(stream + off, f2, (size_t)l2), off += (size_t)l2;
    for (int i = 0; i < 300; i++)
        stream[off++] = (uint8_t)(i * 37), garbage++;
    memcpy(stream + off, f1, (size_t)l1), off += (size_t)l1;

    for (size_t chunk = 0; chunk <= 5; chunk++) {
        struct kmrig_proto_decoder d;
        kmrig_proto_decoder_init(&d, 0);
        g.n = 0;
        decode_all(&d, stream, off, chunk, &g);
        assert_int_equal(g.n, 3);
        assert_int_equal(g.f[0].type, KMRIG_PROTO_T_READ);
        assert_int_equal(g.f[1].type, KMRIG_PROTO_T_WRITE);
        assert_int_equal(g.f[1].tag, 2);
        assert_int_equal(g.f[2].type, KMRIG_PROTO_T_READ);
        assert_int_equal(d.stats.dropped_bytes, garbage);
        assert_true(d.stats.header_errors >= 1);
        assert_int_equal(kmrig_proto_decoder_pending(&d), 0);
    }
}

static void test_proto_decoder_truncated_frame_then_good(void **state)
{
    (void)state;
    static uint8_t stream[3 * KMRIG_PROTO_MAX_FRAME];
    static struct got g;
    size_t off = 0;
    /* a 4 KiB burst whose last 100 bytes are lost, then a small frame */
    int lb = kmrig_proto_enc_write_burst(stream, sizeof stream, KMRIG_PROTO_FLAG_PCRC, 7,
                                         KMRIG_PROTO_SPACE_MEM, 0x10000, 4, 1024, 0, pattern);
    assert_true(lb > 0);
    off = (size_t)lb - 100;
    int lr = kmrig_proto_enc_read(stream + off, sizeof stream - off, KMRIG_PROTO_FLAG_PCRC, 8,
                                  KMRIG_PROTO_SPACE_MEM, 0x1000, 4);
    off += (size_t)lr;
    /* the burst's header claims 4 KiB: the decoder waits, then the CRC fails and it rescans */
    int lr2 = kmrig_proto_enc_read(stream + off, sizeof stream - off, KMRIG_PROTO_FLAG_PCRC, 9,
                                   KMRIG_PROTO_SPACE_MEM, 0x1004, 4);
    off += (size_t)lr2;
    uint8_t tail[120];
    for (size_t i = 0; i < sizeof tail; i++)
        tail[i] = 0xEE;
    memcpy(stream + off, tail, sizeof tail), off += sizeof tail; /* completes the burst's length */

    struct kmrig_proto_decoder d;
    kmrig_proto_decoder_init(&d, 0);
    g.n = 0;
    decode_all(&d, stream, off, 0, &g);
    assert_int_equal(g.n, 2);
    assert_int_equal(g.f[0].tag, 8);
    assert_int_equal(g.f[1].tag, 9);
    assert_int_equal(d.stats.crc_errors, 1);
    assert_int_equal(d.stats.dropped_bytes, (size_t)lb - 100 + sizeof tail);

    /* a frame cut short at the end of the input stays pending, never emitted */
    kmrig_proto_decoder_init(&d, 0);
    g.n = 0;
    decode_all(&d, stream, (size_t)lb - 100, 0, &g);
    assert_int_equal(g.n, 0);
    assert_int_equal(kmrig_proto_decoder_pending(&d), (size_t)lb - 100);
    kmrig_proto_decoder_reset(&d);
    assert_int_equal(kmrig_proto_decoder_pending(&d), 0);
    assert_int_equal(d.stats.dropped_bytes, (size_t)lb - 100);
}

static void test_proto_decoder_flipped_bits_caught_and_recovered(void **state)
{
    (void)state;
    static uint8_t stream[2 * KMRIG_PROTO_MAX_FRAME];
    static struct got g;
    struct kmrig_proto_decoder *d = malloc(sizeof *d);
    assert_non_null(d);
    int l1 = kmrig_proto_enc_write_burst(stream, sizeof stream, KMRIG_PROTO_FLAG_PCRC, 1,
                                         KMRIG_PROTO_SPACE_IO, 0x3F8, 1, 32, 1, pattern);
    int l2 = kmrig_proto_enc_rmw(stream + l1, sizeof stream - (size_t)l1, KMRIG_PROTO_FLAG_PCRC, 2,
                                 KMRIG_PROTO_SPACE_MEM, 0x3004, 4, 0x1, 0x0);
    size_t n = (size_t)l1 + (size_t)l2;
    for (size_t bit = 0; bit < (size_t)l1 * 8; bit++) {
        stream[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        kmrig_proto_decoder_init(d, 0);
        g.n = 0;
        decode_all(d, stream, n, 0, &g);
        /* the damaged frame is never emitted; the next one always is */
        assert_int_equal(g.n, 1);
        assert_int_equal(g.f[0].type, KMRIG_PROTO_T_RMW);
        assert_int_equal(g.f[0].tag, 2);
        assert_int_equal(d->stats.dropped_bytes, (size_t)l1);
        assert_true(d->stats.header_errors + d->stats.crc_errors >= 1);
        stream[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    /* the same for a maximum-size DMA write: a flip in its data is a CRC error */
    struct kmrig_proto_msg m = {
        .type = KMRIG_PROTO_T_DMA_WR_REQ, .flags = KMRIG_PROTO_FLAG_PCRC, .tag = 3};
    m.u.dma_req = (struct kmrig_proto_dma_req){0x80000000ull, KMRIG_PROTO_MAX_BURST, 1};
    m.data = pattern, m.data_len = KMRIG_PROTO_MAX_BURST;
    l1 = kmrig_proto_encode(&m, stream, sizeof stream);
    assert_int_equal(l1, KMRIG_PROTO_MAX_FRAME);
    l2 = kmrig_proto_enc_read(stream + l1, sizeof stream - (size_t)l1, KMRIG_PROTO_FLAG_PCRC, 4,
                              KMRIG_PROTO_SPACE_MEM, 0, 4);
    n = (size_t)l1 + (size_t)l2;
    for (size_t bit = 64; bit < (size_t)l1 * 8; bit += 997) {
        stream[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        kmrig_proto_decoder_init(d, 0);
        g.n = 0;
        decode_all(d, stream, n, 0, &g);
        assert_int_equal(g.n, 1);
        assert_int_equal(g.f[0].tag, 4);
        assert_int_equal(d->stats.crc_errors, 1);
        stream[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    free(d);
}

static void test_proto_decoder_require_crc_drops_plain_frames(void **state)
{
    (void)state;
    static struct got g;
    uint8_t stream[128];
    int l1 = kmrig_proto_enc_read(stream, sizeof stream, 0, 1, KMRIG_PROTO_SPACE_MEM, 0x1000, 4);
    int l2 = kmrig_proto_enc_read(stream + l1, sizeof stream - (size_t)l1, KMRIG_PROTO_FLAG_PCRC, 2,
                                  KMRIG_PROTO_SPACE_MEM, 0x1000, 4);
    struct kmrig_proto_decoder d;
    kmrig_proto_decoder_init(&d, KMRIG_PROTO_DEC_REQUIRE_CRC);
    g.n = 0;
    decode_all(&d, stream, (size_t)(l1 + l2), 0, &g);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.f[0].tag, 2);
    assert_int_equal(d.stats.no_crc, 1);
    assert_int_equal(d.stats.dropped_bytes, (size_t)l1);
}

static void test_proto_max_burst(void **state)
{
    (void)state;
    static uint8_t buf[KMRIG_PROTO_MAX_FRAME + 64];
    static struct got g;
    struct kmrig_proto_msg m;
    struct kmrig_proto_frame f;
    /* 4 KiB in bytes, 16-bit and 32-bit elements; one more element is refused */
    const unsigned sizes[] = {1, 2, 4};
    for (int i = 0; i < 3; i++) {
        unsigned s = sizes[i], count = KMRIG_PROTO_MAX_BURST / s;
        int len =
            kmrig_proto_enc_write_burst(buf, sizeof buf, KMRIG_PROTO_FLAG_PCRC, 1,
                                        KMRIG_PROTO_SPACE_MEM, 0x100000, s, count, 0, pattern);
        assert_int_equal(len, KMRIG_PROTO_HDR_BYTES + KMRIG_PROTO_WRITE_BURST_BODY +
                                  KMRIG_PROTO_MAX_BURST + 4);
        decode_one(buf, (size_t)len, &m, &f, &g);
        assert_int_equal(m.u.access.count, count);
        assert_memory_equal(m.data, pattern, KMRIG_PROTO_MAX_BURST);
        assert_int_equal(kmrig_proto_enc_write_burst(buf, sizeof buf, 0, 1, KMRIG_PROTO_SPACE_MEM,
                                                     0x100000, s, count + 1, 0, pattern),
                         KMRIG_PROTO_EMSGSIZE);
        assert_int_equal(kmrig_proto_enc_read_burst(buf, sizeof buf, 0, 1, KMRIG_PROTO_SPACE_MEM,
                                                    0x100000, s, count + 1, 1),
                         KMRIG_PROTO_EMSGSIZE);
        assert_true(kmrig_proto_enc_read_burst(buf, sizeof buf, 0, 1, KMRIG_PROTO_SPACE_MEM,
                                               0x100000, s, count, 1) > 0);
    }
    /* a fixed-address burst of 4096 bytes to one I/O port is within port space */
    assert_true(kmrig_proto_enc_write_burst(buf, sizeof buf, 0, 1, KMRIG_PROTO_SPACE_IO, 0xFFFC, 4,
                                            1024, 1, pattern) > 0);
    /* ... an incrementing one from there is not */
    assert_int_equal(kmrig_proto_enc_write_burst(buf, sizeof buf, 0, 1, KMRIG_PROTO_SPACE_IO,
                                                 0xFFFC, 4, 2, 0, pattern),
                     KMRIG_PROTO_EINVAL);
    /* DMA: at most 4096 bytes, never across a 4 KiB boundary */
    m = (struct kmrig_proto_msg){.type = KMRIG_PROTO_T_DMA_RD_REQ};
    m.u.dma_req = (struct kmrig_proto_dma_req){0x1000, 4096, 0};
    assert_true(kmrig_proto_encode(&m, buf, sizeof buf) > 0);
    m.u.dma_req.addr = 0x1004;
    assert_int_equal(kmrig_proto_encode(&m, buf, sizeof buf), KMRIG_PROTO_EINVAL);
    m.u.dma_req = (struct kmrig_proto_dma_req){0x1000, 4097, 0};
    assert_int_equal(kmrig_proto_encode(&m, buf, sizeof buf), KMRIG_PROTO_EINVAL);
    m.u.dma_req = (struct kmrig_proto_dma_req){0x1000, 0, 0};
    assert_int_equal(kmrig_proto_encode(&m, buf, sizeof buf), KMRIG_PROTO_EINVAL);
    /* the largest frame of all is exactly KMRIG_PROTO_MAX_FRAME, and a byte less does not fit */
    m = (struct kmrig_proto_msg){.type = KMRIG_PROTO_T_DMA_WR_REQ, .flags = KMRIG_PROTO_FLAG_PCRC};
    m.u.dma_req = (struct kmrig_proto_dma_req){0x2000, 4096, 0};
    m.data = pattern, m.data_len = 4096;
    assert_int_equal(kmrig_proto_encode(&m, buf, KMRIG_PROTO_MAX_FRAME), KMRIG_PROTO_MAX_FRAME);
    assert_int_equal(kmrig_proto_encode(&m, buf, KMRIG_PROTO_MAX_FRAME - 1), KMRIG_PROTO_ENOSPC);
}

static void test_proto_oversized_length_rejected(void **state)
{
    (void)state;
    static uint8_t buf[2 * KMRIG_PROTO_MAX_FRAME];
    static struct got g;
    assert_int_equal(kmrig_proto_frame_encode(buf, sizeof buf, KMRIG_PROTO_T_PING, 0, 0, pattern,
                                              KMRIG_PROTO_MAX_PAYLOAD + 1),
                     KMRIG_PROTO_EMSGSIZE);
    /* a header with a sound CRC-16 but len one past the limit, then a good frame */
    uint8_t *h = buf;
    h[0] = KMRIG_PROTO_SOF, h[1] = KMRIG_PROTO_T_WRITE_BURST, h[2] = 0, h[3] = 1;
    h[4] = (uint8_t)(KMRIG_PROTO_MAX_PAYLOAD + 1),
    h[5] = (uint8_t)((KMRIG_PROTO_MAX_PAYLOAD + 1) >> 8);
    uint16_t c = kmrig_proto_crc16(h, 6);
    h[6] = (uint8_t)c, h[7] = (uint8_t)(c >> 8);
    int l = kmrig_proto_enc_irq_query(buf + 8, sizeof buf - 8, 0, 2);
    /* len 0xFFFF too */
    uint8_t *h2 = buf + 8 + l;
    memcpy(h2, h, 6);
    h2[4] = 0xFF, h2[5] = 0xFF;
    c = kmrig_proto_crc16(h2, 6);
    h2[6] = (uint8_t)c, h2[7] = (uint8_t)(c >> 8);
    int l3 = kmrig_proto_enc_irq_query(h2 + 8, 64, 0, 3);
    struct kmrig_proto_decoder d;
    kmrig_proto_decoder_init(&d, 0);
    g.n = 0;
    decode_all(&d, buf, (size_t)(8 + l + 8 + l3), 0, &g);
    assert_int_equal(g.n, 2);
    assert_int_equal(g.f[0].tag, 2);
    assert_int_equal(g.f[1].tag, 3);
    assert_int_equal(d.stats.oversize, 2);
    assert_int_equal(d.stats.dropped_bytes, 16);
}

static void test_proto_parse_rejects_malformed_bodies(void **state)
{
    (void)state;
    uint8_t body[64] = {0};
    struct kmrig_proto_frame f = {.type = KMRIG_PROTO_T_READ, .len = 8, .payload = body};
    struct kmrig_proto_msg m;
    body[0] = 0x04, body[4] = 0x00, body[5] = 0x10; /* 32-bit read at 0x1000 */
    assert_int_equal(kmrig_proto_parse(&f, &m), 0);
    body[4] = 0x02; /* misaligned */
    assert_int_equal(kmrig_proto_parse(&f, &m), KMRIG_PROTO_EMALFORMED);
    body[4] = 0;
    body[0] = 0x06; /* size code 3 */
    assert_int_equal(kmrig_proto_parse(&f, &m), KMRIG_PROTO_EMALFORMED);
    body[0] = 0x0C; /* FIXED on a single access */
    assert_int_equal(kmrig_proto_parse(&f, &m), KMRIG_PROTO_EMALFORMED);
    body[0] = 0x44; /* reserved attr bit */
    assert_int_equal(kmrig_proto_parse(&f, &m), KMRIG_PROTO_EMALFORMED);
    body[0] = 0x04;
    f.len = 7; /* short body */
    assert_int_equal(kmrig_proto_parse(&f, &m), KMRIG_PROTO_EMALFORMED);
    f.len = 12; /* long body on a fixed-size type */
    assert_int_equal(kmrig_proto_parse(&f, &m), KMRIG_PROTO_EMALFORMED);
    f.type = 0x3F;
    f.len = 0;
    assert_int_equal(kmrig_proto_parse(&f, &m), KMRIG_PROTO_ETYPE);
    /* WRITE_BURST whose data does not match count * size */
    f.type = KMRIG_PROTO_T_WRITE_BURST;
    memset(body, 0, sizeof body);
    body[0] = 0x02, body[2] = 4; /* 4 x 16-bit = 8 bytes */
    f.len = 8 + 8;
    assert_int_equal(kmrig_proto_parse(&f, &m), 0);
    f.len = 8 + 7;
    assert_int_equal(kmrig_proto_parse(&f, &m), KMRIG_PROTO_EMALFORMED);
    body[2] = 0, f.len = 8; /* count 0 */
    assert_int_equal(kmrig_proto_parse(&f, &m), KMRIG_PROTO_EMALFORMED);
    /* IRQ_CTL with an unknown op */
    f.type = KMRIG_PROTO_T_IRQ_CTL, f.len = 8;
    memset(body, 0, sizeof body);
    body[0] = KMRIG_PROTO_IRQ_OP_EOI + 1;
    assert_int_equal(kmrig_proto_parse(&f, &m), KMRIG_PROTO_EMALFORMED);
    /* DMA_RD_RSP with data but a fault status */
    f.type = KMRIG_PROTO_T_DMA_RD_RSP, f.len = 4 + 4;
    body[0] = KMRIG_PROTO_ST_DMA_FAULT;
    assert_int_equal(kmrig_proto_parse(&f, &m), KMRIG_PROTO_EMALFORMED);
    f.len = 4;
    assert_int_equal(kmrig_proto_parse(&f, &m), 0);
    assert_int_equal(m.u.dma_status, KMRIG_PROTO_ST_DMA_FAULT);
    /* DMA_WR_REQ crossing 4 KiB */
    f.type = KMRIG_PROTO_T_DMA_WR_REQ, f.len = 20 + 16;
    memset(body, 0, sizeof body);
    body[0] = 0xF8, body[1] = 0x0F, body[8] = 16;
    assert_int_equal(kmrig_proto_parse(&f, &m), KMRIG_PROTO_EMALFORMED);
    body[0] = 0xF0;
    assert_int_equal(kmrig_proto_parse(&f, &m), 0);
    assert_int_equal(m.u.dma_req.addr, 0xFF0);
}

static void test_proto_encode_argument_errors(void **state)
{
    (void)state;
    uint8_t buf[64];
    assert_int_equal(kmrig_proto_enc_read(buf, sizeof buf, 0, 0, 2, 0, 4), KMRIG_PROTO_EINVAL);
    assert_int_equal(kmrig_proto_enc_read(buf, sizeof buf, 0, 0, 0, 0, 3), KMRIG_PROTO_EINVAL);
    assert_int_equal(kmrig_proto_enc_read(buf, sizeof buf, 0, 0, 0, 2, 4), KMRIG_PROTO_EINVAL);
    assert_int_equal(kmrig_proto_enc_read(buf, sizeof buf, 0, 0, KMRIG_PROTO_SPACE_IO, 0x10000, 1),
                     KMRIG_PROTO_EINVAL);
    assert_int_equal(kmrig_proto_enc_read(buf, sizeof buf, 0x80, 0, 0, 0, 4), KMRIG_PROTO_EINVAL);
    assert_int_equal(kmrig_proto_enc_read(buf, 15, 0, 0, 0, 0, 4), KMRIG_PROTO_ENOSPC);
    assert_int_equal(kmrig_proto_enc_read(buf, 16, 0, 0, 0, 0, 4), 16);
    assert_int_equal(kmrig_proto_enc_irq_ctl(buf, sizeof buf, 0, 0, 9, 1), KMRIG_PROTO_EINVAL);
    assert_int_equal(kmrig_proto_enc_ping(buf, sizeof buf, 0, 0, pattern, KMRIG_PROTO_MAX_PING + 1),
                     KMRIG_PROTO_EMSGSIZE);
    assert_int_equal(kmrig_proto_enc_dma_rd_rsp(buf, sizeof buf, 0, 0, KMRIG_PROTO_ST_OK, NULL, 0),
                     KMRIG_PROTO_EINVAL);
    struct kmrig_proto_msg m = {.type = 0x3F};
    assert_int_equal(kmrig_proto_encode(&m, buf, sizeof buf), KMRIG_PROTO_ETYPE);
    assert_int_equal(kmrig_proto_frame_encode(buf, sizeof buf, 0x80, 0, 0, NULL, 0),
                     KMRIG_PROTO_EINVAL);
    assert_string_equal(kmrig_proto_strerror(KMRIG_PROTO_EMISMATCH),
                        "gateware does not match this host");
    assert_string_equal(kmrig_proto_strerror(-999), "unknown protocol error code");
    assert_string_equal(kmrig_proto_type_name(0x3F), "?");
    assert_int_equal(kmrig_proto_type_body(0x3F, NULL), -1);
}

/* ---- hello ---------------------------------------------------------------------------------- */

static void test_proto_hello_check(void **state)
{
    (void)state;
    struct kmrig_proto_hello_rsp r = {KMRIG_PROTO_MAGIC,
                                      1,
                                      2,
                                      KMRIG_PROTO_HELLO_ST_OK,
                                      8,
                                      0,
                                      50000000,
                                      0x4B4D5247,
                                      0x01020000,
                                      0x1234,
                                      4160,
                                      4116,
                                      4,
                                      "icebreaker",
                                      "kmrig-0.1.0-gabcdef"};
    struct kmrig_proto_expect e = {1, 0, 0x4B4D5247, 0x01020000, 0, NULL};
    char msg[400];
    assert_int_equal(kmrig_proto_hello_check(&r, &e, msg, sizeof msg), 0);
    assert_string_equal(msg, "");
    /* a newer minor on the device is fine; an older one than the host needs is not */
    e.ver_minor = 3;
    assert_int_equal(kmrig_proto_hello_check(&r, &e, msg, sizeof msg), KMRIG_PROTO_EMISMATCH);
    assert_non_null(strstr(msg, "protocol 1.2, this host needs 1.3"));
    assert_non_null(strstr(msg, "flash icebreaker"));
    e.ver_minor = 0;
    r.ver_major = 2;
    e.flash_hint = "gateware/icebreaker/kmrig_soc.bin";
    assert_int_equal(kmrig_proto_hello_check(&r, &e, msg, sizeof msg), KMRIG_PROTO_EMISMATCH);
    assert_non_null(strstr(msg, "flash gateware/icebreaker/kmrig_soc.bin on icebreaker"));
    r.ver_major = 1;
    r.status = KMRIG_PROTO_HELLO_ST_VERSION; /* the device refused the host */
    assert_int_equal(kmrig_proto_hello_check(&r, &e, msg, sizeof msg), KMRIG_PROTO_EMISMATCH);
    r.status = KMRIG_PROTO_HELLO_ST_OK;
    r.soc_version = 0x01010003; /* sysid VERSION: [31:24] major, [23:16] minor, [15:0] patch */
    assert_int_equal(kmrig_proto_hello_check(&r, &e, msg, sizeof msg), KMRIG_PROTO_EMISMATCH);
    assert_non_null(
        strstr(msg, "version 1.1.3, this host was built for SoC 0x4B4D5247 version 1.2.0"));
    r.soc_version = 0x01020000;
    e.build_id = 0x9999;
    assert_int_equal(kmrig_proto_hello_check(&r, &e, msg, sizeof msg), KMRIG_PROTO_EMISMATCH);
    assert_non_null(strstr(msg, "build id 0x00001234"));
    e.build_id = 0;
    r.magic = 0;
    assert_int_equal(kmrig_proto_hello_check(&r, &e, msg, 20), KMRIG_PROTO_EMISMATCH);
    assert_int_equal(strlen(msg), 19); /* truncated, terminated */
}

int main(void)
{
    fill_pattern();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_proto_crc_check_values),
        cmocka_unit_test(test_proto_roundtrip_every_type),
        cmocka_unit_test(test_proto_enc_helpers_match_messages),
        cmocka_unit_test(test_proto_worked_examples_host_frames),
        cmocka_unit_test(test_proto_worked_examples_device_frames),
        cmocka_unit_test(test_proto_decoder_split_at_every_boundary),
        cmocka_unit_test(test_proto_decoder_garbage_before_and_between),
        cmocka_unit_test(test_proto_decoder_truncated_frame_then_good),
        cmocka_unit_test(test_proto_decoder_flipped_bits_caught_and_recovered),
        cmocka_unit_test(test_proto_decoder_require_crc_drops_plain_frames),
        cmocka_unit_test(test_proto_max_burst),
        cmocka_unit_test(test_proto_oversized_length_rejected),
        cmocka_unit_test(test_proto_parse_rejects_malformed_bodies),
        cmocka_unit_test(test_proto_encode_argument_errors),
        cmocka_unit_test(test_proto_hello_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * frame.c - the host side of the bridge wire protocol (docs/protocol.md): CRCs, frame encoder,
 * streaming decoder, message encode/parse and the hello check. See kmrig/protocol.h.
 */
#include <kmrig/protocol.h>

#include <stdio.h>
#include <string.h>

/* ---- little helpers --------------------------------------------------------------------- */

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
    return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

const char *kmrig_proto_strerror(int code)
{
    switch (code) {
    case KMRIG_PROTO_OK:
        return "success";
    case KMRIG_PROTO_EINVAL:
        return "field out of range for the frame type";
    case KMRIG_PROTO_ENOSPC:
        return "output buffer too small for the frame";
    case KMRIG_PROTO_EMSGSIZE:
        return "payload longer than the frame type allows";
    case KMRIG_PROTO_EMALFORMED:
        return "received frame body does not fit its type";
    case KMRIG_PROTO_ETYPE:
        return "unknown frame type";
    case KMRIG_PROTO_EMISMATCH:
        return "gateware does not match this host";
    default:
        return "unknown protocol error code";
    }
}

struct type_info {
    const char *name;
    uint8_t type;
    uint16_t body;
    uint8_t has_data;
    uint16_t max_payload;
};

static const struct type_info types[] = {
#define KMRIG_PROTO_TYPE_ENTRY(n, t, b, d, m) {#n, t, b, d, m},
    KMRIG_PROTO_FRAME_LIST(KMRIG_PROTO_TYPE_ENTRY)
#undef KMRIG_PROTO_TYPE_ENTRY
};

static const struct type_info *type_find(unsigned type)
{
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (types[i].type == type)
            return &types[i];
    return NULL;
}

const char *kmrig_proto_type_name(unsigned type)
{
    const struct type_info *t = type_find(type);
    return t ? t->name : "?";
}

int kmrig_proto_type_body(unsigned type, int *has_data)
{
    const struct type_info *t = type_find(type);
    if (!t)
        return -1;
    if (has_data)
        *has_data = t->has_data;
    return t->body;
}

/* ---- CRCs --------------------------------------------------------------------------------- */

uint16_t kmrig_proto_crc16_update(uint16_t crc, const void *data, size_t n)
{
    const uint8_t *p = data;
    while (n--) {
        crc ^= (uint16_t)(*p++ << 8);
        for (int i = 0; i < 8; i++)
            crc = (crc & 0x8000u) ? (uint16_t)(crc << 1 ^ KMRIG_PROTO_CRC16_POLY)
                                  : (uint16_t)(crc << 1);
    }
    return crc;
}

uint16_t kmrig_proto_crc16(const void *data, size_t n)
{
    return kmrig_proto_crc16_update(KMRIG_PROTO_CRC16_INIT, data, n);
}

/* Four bits at a time: 16 constant entries (the reflected polynomial's multiples), twice the
 * speed of bitwise and no table to build at run time (no global mutable state). */
static const uint32_t crc32_nibble[16] = {
    0x00000000u, 0x1DB71064u, 0x3B6E20C8u, 0x26D930ACu, 0x76DC4190u, 0x6B6B51F4u,
    0x4DB26158u, 0x5005713Cu, 0xEDB88320u, 0xF00F9344u, 0xD6D6A3E8u, 0xCB61B38Cu,
    0x9B64C2B0u, 0x86D3D2D4u, 0xA00AE278u, 0xBDBDF21Cu,
};

uint32_t kmrig_proto_crc32_update(uint32_t crc, const void *data, size_t n)
{
    const uint8_t *p = data;
    crc ^= KMRIG_PROTO_CRC32_XOROUT;
    while (n--) {
        crc ^= *p++;
        crc = (crc >> 4) ^ crc32_nibble[crc & 0xFu];
        crc = (crc >> 4) ^ crc32_nibble[crc & 0xFu];
    }
    return crc ^ KMRIG_PROTO_CRC32_XOROUT;
}

uint32_t kmrig_proto_crc32(const void *data, size_t n)
{
    return kmrig_proto_crc32_update(0, data, n);
}

/* ---- attributes ----------------------------------------------------------------------------- */

int kmrig_proto_attr(unsigned space, unsigned size, int fixed)
{
    unsigned lg;
    switch (size) {
    case 1:
        lg = 0;
        break;
    case 2:
        lg = 1;
        break;
    case 4:
        lg = 2;
        break;
    default:
        return KMRIG_PROTO_EINVAL;
    }
    if (space > KMRIG_PROTO_SPACE_IO)
        return KMRIG_PROTO_EINVAL;
    return (int)((space ? KMRIG_PROTO_ATTR_IO : 0u) | lg << KMRIG_PROTO_ATTR_SIZE_SHIFT |
                 (fixed ? KMRIG_PROTO_ATTR_FIXED : 0u));
}

unsigned kmrig_proto_attr_size(uint8_t attr)
{
    unsigned lg = (attr & KMRIG_PROTO_ATTR_SIZE_MASK) >> KMRIG_PROTO_ATTR_SIZE_SHIFT;
    if ((attr & ~KMRIG_PROTO_ATTR_KNOWN) || lg > 2)
        return 0;
    return 1u << lg;
}

/* ---- framing -------------------------------------------------------------------------------- */

/* Writes header and CRC around a payload already at out + HDR_BYTES. */
static int frame_finish(uint8_t *out, size_t cap, unsigned type, unsigned flags, unsigned tag,
                        size_t len)
{
    size_t total = KMRIG_PROTO_HDR_BYTES + len +
                   ((flags & KMRIG_PROTO_FLAG_PCRC) ? KMRIG_PROTO_CRC32_BYTES : 0);
    if (total > cap)
        return KMRIG_PROTO_ENOSPC;
    out[KMRIG_PROTO_HDR_SOF_OFF] = KMRIG_PROTO_SOF;
    out[KMRIG_PROTO_HDR_TYPE_OFF] = (uint8_t)type;
    out[KMRIG_PROTO_HDR_FLAGS_OFF] = (uint8_t)flags;
    out[KMRIG_PROTO_HDR_TAG_OFF] = (uint8_t)tag;
    put16(out + KMRIG_PROTO_HDR_LEN_OFF, (uint16_t)len);
    put16(out + KMRIG_PROTO_HDR_HCRC_OFF, kmrig_proto_crc16(out, KMRIG_PROTO_CRC16_COVERS));
    if (flags & KMRIG_PROTO_FLAG_PCRC)
        put32(out + KMRIG_PROTO_HDR_BYTES + len,
              kmrig_proto_crc32(out, KMRIG_PROTO_HDR_BYTES + len));
    return (int)total;
}

static int frame_check_args(size_t cap, unsigned type, unsigned flags, unsigned tag, size_t len)
{
    if ((type & ~0x7Fu) || (flags & ~KMRIG_PROTO_FLAGS_KNOWN) || tag > 0xFF)
        return KMRIG_PROTO_EINVAL;
    if (len > KMRIG_PROTO_MAX_PAYLOAD)
        return KMRIG_PROTO_EMSGSIZE;
    if (KMRIG_PROTO_HDR_BYTES + len + ((flags & KMRIG_PROTO_FLAG_PCRC) ? 4 : 0) > cap)
        return KMRIG_PROTO_ENOSPC;
    return 0;
}

int kmrig_proto_frame_encode(uint8_t *out, size_t cap, unsigned type, unsigned flags, unsigned tag,
                             const void *payload, size_t len)
{
    int rc = frame_check_args(cap, type, flags, tag, len);
    if (rc)
        return rc;
    if (len)
        memmove(out + KMRIG_PROTO_HDR_BYTES, payload, len);
    return frame_finish(out, cap, type, flags, tag, len);
}

void kmrig_proto_decoder_init(struct kmrig_proto_decoder *d, unsigned options)
{
    memset(d, 0, offsetof(struct kmrig_proto_decoder, buf));
    d->options = options;
}

static void drop_front(struct kmrig_proto_decoder *d, size_t k)
{
    memmove(d->buf, d->buf + k, d->have - k);
    d->have -= k;
}

void kmrig_proto_decoder_reset(struct kmrig_proto_decoder *d)
{
    if (d->emitted) {
        drop_front(d, d->emitted);
        d->emitted = 0;
    }
    d->stats.dropped_bytes += d->have;
    d->have = 0;
}

size_t kmrig_proto_decoder_pending(const struct kmrig_proto_decoder *d)
{
    return d->have - d->emitted;
}

/* Drops the candidate's SOF and everything up to the next SOF in the buffer. */
static void resync(struct kmrig_proto_decoder *d)
{
    const uint8_t *sof = d->have > 1 ? memchr(d->buf + 1, KMRIG_PROTO_SOF, d->have - 1) : NULL;
    size_t k = sof ? (size_t)(sof - d->buf) : d->have;
    d->stats.dropped_bytes += k;
    drop_front(d, k);
}

/* Examines the buffered candidate. Returns the bytes still needed (> 0), 0 when a whole valid
 * frame is buffered, or -1 after dropping a bad candidate (try again). */
static long examine(struct kmrig_proto_decoder *d)
{
    const uint8_t *b = d->buf;
    if (d->have < KMRIG_PROTO_HDR_BYTES)
        return (long)(KMRIG_PROTO_HDR_BYTES - d->have);
    unsigned len = get16(b + KMRIG_PROTO_HDR_LEN_OFF);
    unsigned flags = b[KMRIG_PROTO_HDR_FLAGS_OFF];
    if (get16(b + KMRIG_PROTO_HDR_HCRC_OFF) != kmrig_proto_crc16(b, KMRIG_PROTO_CRC16_COVERS) ||
        (flags & ~KMRIG_PROTO_FLAGS_KNOWN) || (b[KMRIG_PROTO_HDR_TYPE_OFF] & 0x80u) ||
        len > KMRIG_PROTO_MAX_PAYLOAD) {
        d->stats.header_errors++;
        if (len > KMRIG_PROTO_MAX_PAYLOAD)
            d->stats.oversize++;
        resync(d);
        return -1;
    }
    size_t total = KMRIG_PROTO_HDR_BYTES + len +
                   ((flags & KMRIG_PROTO_FLAG_PCRC) ? KMRIG_PROTO_CRC32_BYTES : 0);
    if (d->have < total)
        return (long)(total - d->have);
    if (!(flags & KMRIG_PROTO_FLAG_PCRC) && (d->options & KMRIG_PROTO_DEC_REQUIRE_CRC)) {
        /* A sound header says how long the frame is: drop all of it. */
        d->stats.no_crc++;
        d->stats.dropped_bytes += total;
        drop_front(d, total);
        return -1;
    }
    if ((flags & KMRIG_PROTO_FLAG_PCRC) && get32(b + KMRIG_PROTO_HDR_BYTES + len) !=
                                               kmrig_proto_crc32(b, KMRIG_PROTO_HDR_BYTES + len)) {
        d->stats.crc_errors++;
        resync(d);
        return -1;
    }
    return 0;
}

int kmrig_proto_decoder_feed(struct kmrig_proto_decoder *d, const uint8_t *in, size_t n,
                             size_t *used, struct kmrig_proto_frame *frame)
{
    size_t pos = 0;
    if (d->emitted) {
        drop_front(d, d->emitted);
        d->emitted = 0;
    }
    for (;;) {
        if (d->have && d->buf[0] != KMRIG_PROTO_SOF) {
            resync(d); /* a candidate was dropped earlier: hunt inside the buffer */
            continue;
        }
        long need;
        if (d->have == 0) {
            /* Hunting with an empty buffer: skip input up to the next SOF without copying. */
            const uint8_t *sof = pos < n ? memchr(in + pos, KMRIG_PROTO_SOF, n - pos) : NULL;
            size_t skip = sof ? (size_t)(sof - (in + pos)) : n - pos;
            d->stats.dropped_bytes += skip;
            d->stats.bytes_in += skip;
            pos += skip;
            need = KMRIG_PROTO_HDR_BYTES;
        } else {
            need = examine(d);
            if (need < 0)
                continue;
            if (need == 0) {
                unsigned len = get16(d->buf + KMRIG_PROTO_HDR_LEN_OFF);
                size_t total = KMRIG_PROTO_HDR_BYTES + len +
                               ((d->buf[KMRIG_PROTO_HDR_FLAGS_OFF] & KMRIG_PROTO_FLAG_PCRC)
                                    ? KMRIG_PROTO_CRC32_BYTES
                                    : 0);
                frame->type = d->buf[KMRIG_PROTO_HDR_TYPE_OFF];
                frame->flags = d->buf[KMRIG_PROTO_HDR_FLAGS_OFF];
                frame->tag = d->buf[KMRIG_PROTO_HDR_TAG_OFF];
                frame->len = (uint16_t)len;
                frame->payload = d->buf + KMRIG_PROTO_HDR_BYTES;
                frame->wire_len = total;
                d->emitted = total;
                d->stats.frames++;
                d->stats.frame_bytes += total;
                *used = pos;
                return 1;
            }
        }
        if (pos == n) {
            *used = pos;
            return 0;
        }
        /* Take no more than the candidate needs: the buffer never holds past one frame. */
        size_t k = n - pos < (size_t)need ? n - pos : (size_t)need;
        memcpy(d->buf + d->have, in + pos, k);
        d->have += k;
        d->stats.bytes_in += k;
        pos += k;
    }
}

/* ---- messages ------------------------------------------------------------------------------- */

static unsigned max_data(unsigned type)
{
    return (type == KMRIG_PROTO_T_PING || type == KMRIG_PROTO_T_PING_RSP) ? KMRIG_PROTO_MAX_PING
                                                                          : KMRIG_PROTO_MAX_BURST;
}

/* An access's attr, address and count are consistent: known attr bits, FIXED only on bursts,
 * natural alignment, no wrap, I/O ports below 0x10000, bursts within KMRIG_PROTO_MAX_BURST. */
static int check_access(unsigned type, const struct kmrig_proto_access *a)
{
    unsigned size = kmrig_proto_attr_size(a->attr);
    int burst = type == KMRIG_PROTO_T_READ_BURST || type == KMRIG_PROTO_T_WRITE_BURST;
    if (!size || (a->addr & (size - 1)) || (!burst && (a->attr & KMRIG_PROTO_ATTR_FIXED)))
        return -1;
    uint64_t span = size;
    if (burst) {
        if (a->count == 0 || (uint32_t)a->count * size > KMRIG_PROTO_MAX_BURST)
            return -1;
        if (!(a->attr & KMRIG_PROTO_ATTR_FIXED))
            span = (uint64_t)a->count * size;
    }
    uint64_t end = (uint64_t)a->addr + span;
    if (end > ((a->attr & KMRIG_PROTO_ATTR_IO) ? 0x10000u : 0x100000000u))
        return -1;
    return 0;
}

static int check_dma(const struct kmrig_proto_dma_req *r)
{
    if (r->len == 0 || r->len > KMRIG_PROTO_MAX_BURST ||
        (r->addr % KMRIG_PROTO_DMA_BOUNDARY) + r->len > KMRIG_PROTO_DMA_BOUNDARY)
        return -1;
    return 0;
}

/* The rules of docs/protocol.md that a single frame can be checked against. strict adds the
 * ones only a sender must follow (known status and error codes). Returns 0 or -1. */
static int check_msg(const struct kmrig_proto_msg *m, int strict)
{
    const struct type_info *t = type_find(m->type);
    if (!t->has_data && m->data_len)
        return -1;
    if (t->has_data && m->data_len > max_data(m->type))
        return -1;
    switch (m->type) {
    case KMRIG_PROTO_T_READ:
    case KMRIG_PROTO_T_WRITE:
    case KMRIG_PROTO_T_RMW:
    case KMRIG_PROTO_T_READ_BURST:
        return check_access(m->type, &m->u.access);
    case KMRIG_PROTO_T_WRITE_BURST:
        if (check_access(m->type, &m->u.access))
            return -1;
        return m->data_len == (size_t)m->u.access.count * kmrig_proto_attr_size(m->u.access.attr)
                   ? 0
                   : -1;
    case KMRIG_PROTO_T_IRQ_CTL:
        return m->u.irq_ctl.op <= KMRIG_PROTO_IRQ_OP_EOI ? 0 : -1;
    case KMRIG_PROTO_T_DMA_RD_RSP:
        if (strict && m->u.dma_status > KMRIG_PROTO_ST_NO_HELLO)
            return -1;
        return (m->u.dma_status == KMRIG_PROTO_ST_OK) == (m->data_len != 0) ? 0 : -1;
    case KMRIG_PROTO_T_DMA_WR_RSP:
        return strict && m->u.dma_status > KMRIG_PROTO_ST_NO_HELLO ? -1 : 0;
    case KMRIG_PROTO_T_READ_RSP:
    case KMRIG_PROTO_T_WRITE_RSP:
    case KMRIG_PROTO_T_READ_BURST_RSP:
    case KMRIG_PROTO_T_WRITE_BURST_RSP:
    case KMRIG_PROTO_T_RMW_RSP:
    case KMRIG_PROTO_T_IRQ_CTL_RSP:
        return strict && m->u.result.status > KMRIG_PROTO_ST_NO_HELLO ? -1 : 0;
    case KMRIG_PROTO_T_HELLO_RSP:
        return strict && m->u.hello_rsp.status > KMRIG_PROTO_HELLO_ST_VERSION ? -1 : 0;
    case KMRIG_PROTO_T_DMA_RD_REQ:
        return check_dma(&m->u.dma_req);
    case KMRIG_PROTO_T_DMA_WR_REQ:
        return check_dma(&m->u.dma_req) || m->data_len != m->u.dma_req.len ? -1 : 0;
    case KMRIG_PROTO_T_EVT_IRQ:
        return m->u.evt_irq.line < 32 ? 0 : -1;
    case KMRIG_PROTO_T_EVT_ERROR:
        return strict && (m->u.evt_error.code == 0 ||
                          m->u.evt_error.code > KMRIG_PROTO_EV_ERR_DMA_TIMEOUT)
                   ? -1
                   : 0;
    default:
        return 0;
    }
}

static void put_str(uint8_t *p, const char *s, size_t n)
{
    size_t k = 0;
    while (k < n && s[k])
        k++;
    memcpy(p, s, k);
    memset(p + k, 0, n - k);
}

int kmrig_proto_encode(const struct kmrig_proto_msg *m, uint8_t *out, size_t cap)
{
    const struct type_info *t = type_find(m->type);
    if (!t)
        return KMRIG_PROTO_ETYPE;
    if (t->has_data && m->data_len > max_data(m->type))
        return KMRIG_PROTO_EMSGSIZE;
    if ((m->type == KMRIG_PROTO_T_READ_BURST || m->type == KMRIG_PROTO_T_WRITE_BURST) &&
        (uint32_t)m->u.access.count * kmrig_proto_attr_size(m->u.access.attr) >
            KMRIG_PROTO_MAX_BURST)
        return KMRIG_PROTO_EMSGSIZE;
    if (check_msg(m, 1))
        return KMRIG_PROTO_EINVAL;
    size_t len = t->body + m->data_len;
    int rc = frame_check_args(cap, m->type, m->flags, m->tag, len);
    if (rc)
        return rc;
    uint8_t *b = out + KMRIG_PROTO_HDR_BYTES;
    memset(b, 0, t->body);
    switch (m->type) {
    case KMRIG_PROTO_T_HELLO: {
        const struct kmrig_proto_hello *h = &m->u.hello;
        put32(b + KMRIG_PROTO_HELLO_MAGIC_OFF, h->magic);
        b[KMRIG_PROTO_HELLO_VER_MAJOR_OFF] = h->ver_major;
        b[KMRIG_PROTO_HELLO_VER_MINOR_OFF] = h->ver_minor;
        put32(b + KMRIG_PROTO_HELLO_CAPS_OFF, h->caps);
        put32(b + KMRIG_PROTO_HELLO_DMA_WR_CREDITS_OFF, h->dma_wr_credits);
        b[KMRIG_PROTO_HELLO_DMA_TAGS_OFF] = h->dma_tags;
        break;
    }
    case KMRIG_PROTO_T_HELLO_RSP: {
        const struct kmrig_proto_hello_rsp *h = &m->u.hello_rsp;
        put32(b + KMRIG_PROTO_HELLO_RSP_MAGIC_OFF, h->magic);
        b[KMRIG_PROTO_HELLO_RSP_VER_MAJOR_OFF] = h->ver_major;
        b[KMRIG_PROTO_HELLO_RSP_VER_MINOR_OFF] = h->ver_minor;
        b[KMRIG_PROTO_HELLO_RSP_STATUS_OFF] = h->status;
        b[KMRIG_PROTO_HELLO_RSP_IRQ_LINES_OFF] = h->irq_lines;
        put32(b + KMRIG_PROTO_HELLO_RSP_CAPS_OFF, h->caps);
        put32(b + KMRIG_PROTO_HELLO_RSP_CLOCK_HZ_OFF, h->clock_hz);
        put32(b + KMRIG_PROTO_HELLO_RSP_SOC_ID_OFF, h->soc_id);
        put32(b + KMRIG_PROTO_HELLO_RSP_SOC_VERSION_OFF, h->soc_version);
        put32(b + KMRIG_PROTO_HELLO_RSP_BUILD_ID_OFF, h->build_id);
        put16(b + KMRIG_PROTO_HELLO_RSP_CMD_CREDITS_OFF, h->cmd_credits);
        put16(b + KMRIG_PROTO_HELLO_RSP_MAX_PAYLOAD_OFF, h->max_payload);
        b[KMRIG_PROTO_HELLO_RSP_DMA_TAGS_OFF] = h->dma_tags;
        put_str(b + KMRIG_PROTO_HELLO_RSP_BOARD_OFF, h->board, KMRIG_PROTO_HELLO_RSP_BOARD_LEN);
        put_str(b + KMRIG_PROTO_HELLO_RSP_BUILD_OFF, h->build, KMRIG_PROTO_HELLO_RSP_BUILD_LEN);
        break;
    }
    case KMRIG_PROTO_T_READ:
    case KMRIG_PROTO_T_WRITE:
    case KMRIG_PROTO_T_RMW:
        b[KMRIG_PROTO_READ_ATTR_OFF] = m->u.access.attr;
        put32(b + KMRIG_PROTO_READ_ADDR_OFF, m->u.access.addr);
        if (m->type == KMRIG_PROTO_T_WRITE)
            put32(b + KMRIG_PROTO_WRITE_DATA_OFF, m->u.access.data);
        if (m->type == KMRIG_PROTO_T_RMW) {
            put32(b + KMRIG_PROTO_RMW_MASK_OFF, m->u.access.mask);
            put32(b + KMRIG_PROTO_RMW_VALUE_OFF, m->u.access.value);
        }
        break;
    case KMRIG_PROTO_T_READ_BURST:
    case KMRIG_PROTO_T_WRITE_BURST:
        b[KMRIG_PROTO_READ_BURST_ATTR_OFF] = m->u.access.attr;
        put16(b + KMRIG_PROTO_READ_BURST_COUNT_OFF, m->u.access.count);
        put32(b + KMRIG_PROTO_READ_BURST_ADDR_OFF, m->u.access.addr);
        break;
    case KMRIG_PROTO_T_IRQ_CTL:
        b[KMRIG_PROTO_IRQ_CTL_OP_OFF] = m->u.irq_ctl.op;
        put32(b + KMRIG_PROTO_IRQ_CTL_LINES_OFF, m->u.irq_ctl.lines);
        break;
    case KMRIG_PROTO_T_DMA_RD_RSP:
    case KMRIG_PROTO_T_DMA_WR_RSP:
        b[KMRIG_PROTO_DMA_RD_RSP_STATUS_OFF] = m->u.dma_status;
        break;
    case KMRIG_PROTO_T_READ_RSP:
    case KMRIG_PROTO_T_RMW_RSP:
        b[KMRIG_PROTO_READ_RSP_STATUS_OFF] = m->u.result.status;
        put32(b + KMRIG_PROTO_READ_RSP_DATA_OFF, m->u.result.data);
        put64(b + KMRIG_PROTO_READ_RSP_TS_OFF, m->u.result.ts);
        break;
    case KMRIG_PROTO_T_WRITE_RSP:
    case KMRIG_PROTO_T_READ_BURST_RSP:
    case KMRIG_PROTO_T_WRITE_BURST_RSP:
    case KMRIG_PROTO_T_IRQ_CTL_RSP:
        b[KMRIG_PROTO_WRITE_RSP_STATUS_OFF] = m->u.result.status;
        put16(b + KMRIG_PROTO_WRITE_RSP_COUNT_OFF, m->u.result.count);
        put64(b + KMRIG_PROTO_WRITE_RSP_TS_OFF, m->u.result.ts);
        break;
    case KMRIG_PROTO_T_IRQ_QUERY_RSP: {
        const struct kmrig_proto_irq_state *s = &m->u.irq_state;
        put32(b + KMRIG_PROTO_IRQ_QUERY_RSP_PENDING_OFF, s->pending);
        put32(b + KMRIG_PROTO_IRQ_QUERY_RSP_MASK_OFF, s->mask);
        put32(b + KMRIG_PROTO_IRQ_QUERY_RSP_MODE_OFF, s->mode);
        put32(b + KMRIG_PROTO_IRQ_QUERY_RSP_RAW_OFF, s->raw);
        put64(b + KMRIG_PROTO_IRQ_QUERY_RSP_TS_OFF, s->ts);
        break;
    }
    case KMRIG_PROTO_T_PING_RSP:
        put64(b + KMRIG_PROTO_PING_RSP_TS_OFF, m->u.ping_ts);
        break;
    case KMRIG_PROTO_T_DMA_RD_REQ:
    case KMRIG_PROTO_T_DMA_WR_REQ:
        put64(b + KMRIG_PROTO_DMA_RD_REQ_ADDR_OFF, m->u.dma_req.addr);
        put16(b + KMRIG_PROTO_DMA_RD_REQ_LEN_OFF, m->u.dma_req.len);
        put64(b + KMRIG_PROTO_DMA_RD_REQ_TS_OFF, m->u.dma_req.ts);
        break;
    case KMRIG_PROTO_T_EVT_IRQ:
        b[KMRIG_PROTO_EVT_IRQ_LINE_OFF] = m->u.evt_irq.line;
        b[KMRIG_PROTO_EVT_IRQ_STATE_OFF] = m->u.evt_irq.state;
        put32(b + KMRIG_PROTO_EVT_IRQ_ACTIVE_OFF, m->u.evt_irq.active);
        put64(b + KMRIG_PROTO_EVT_IRQ_TS_OFF, m->u.evt_irq.ts);
        break;
    case KMRIG_PROTO_T_EVT_ERROR:
        b[KMRIG_PROTO_EVT_ERROR_CODE_OFF] = m->u.evt_error.code;
        put16(b + KMRIG_PROTO_EVT_ERROR_INFO_OFF, m->u.evt_error.info);
        put32(b + KMRIG_PROTO_EVT_ERROR_DROPPED_OFF, m->u.evt_error.dropped);
        put64(b + KMRIG_PROTO_EVT_ERROR_TS_OFF, m->u.evt_error.ts);
        break;
    case KMRIG_PROTO_T_EVT_CREDIT:
        put32(b + KMRIG_PROTO_EVT_CREDIT_CREDITS_OFF, m->u.credits);
        break;
    default: /* IRQ_QUERY, PING: no body */
        break;
    }
    if (m->data_len)
        memmove(b + t->body, m->data, m->data_len);
    return frame_finish(out, cap, m->type, m->flags, m->tag, len);
}

static void get_str(char *dst, const uint8_t *p, size_t n)
{
    memcpy(dst, p, n);
    dst[n] = 0;
}

int kmrig_proto_parse(const struct kmrig_proto_frame *f, struct kmrig_proto_msg *m)
{
    const struct type_info *t = type_find(f->type);
    memset(m, 0, sizeof *m);
    if (!t)
        return KMRIG_PROTO_ETYPE;
    if (f->len < t->body || (!t->has_data && f->len != t->body) ||
        (unsigned)(f->len - t->body) > max_data(f->type))
        return KMRIG_PROTO_EMALFORMED;
    m->type = f->type;
    m->flags = f->flags;
    m->tag = f->tag;
    const uint8_t *b = f->payload;
    if (t->has_data && f->len > t->body) {
        m->data = b + t->body;
        m->data_len = f->len - t->body;
    }
    switch (f->type) {
    case KMRIG_PROTO_T_HELLO: {
        struct kmrig_proto_hello *h = &m->u.hello;
        h->magic = get32(b + KMRIG_PROTO_HELLO_MAGIC_OFF);
        h->ver_major = b[KMRIG_PROTO_HELLO_VER_MAJOR_OFF];
        h->ver_minor = b[KMRIG_PROTO_HELLO_VER_MINOR_OFF];
        h->caps = get32(b + KMRIG_PROTO_HELLO_CAPS_OFF);
        h->dma_wr_credits = get32(b + KMRIG_PROTO_HELLO_DMA_WR_CREDITS_OFF);
        h->dma_tags = b[KMRIG_PROTO_HELLO_DMA_TAGS_OFF];
        break;
    }
    case KMRIG_PROTO_T_HELLO_RSP: {
        struct kmrig_proto_hello_rsp *h = &m->u.hello_rsp;
        h->magic = get32(b + KMRIG_PROTO_HELLO_RSP_MAGIC_OFF);
        h->ver_major = b[KMRIG_PROTO_HELLO_RSP_VER_MAJOR_OFF];
        h->ver_minor = b[KMRIG_PROTO_HELLO_RSP_VER_MINOR_OFF];
        h->status = b[KMRIG_PROTO_HELLO_RSP_STATUS_OFF];
        h->irq_lines = b[KMRIG_PROTO_HELLO_RSP_IRQ_LINES_OFF];
        h->caps = get32(b + KMRIG_PROTO_HELLO_RSP_CAPS_OFF);
        h->clock_hz = get32(b + KMRIG_PROTO_HELLO_RSP_CLOCK_HZ_OFF);
        h->soc_id = get32(b + KMRIG_PROTO_HELLO_RSP_SOC_ID_OFF);
        h->soc_version = get32(b + KMRIG_PROTO_HELLO_RSP_SOC_VERSION_OFF);
        h->build_id = get32(b + KMRIG_PROTO_HELLO_RSP_BUILD_ID_OFF);
        h->cmd_credits = get16(b + KMRIG_PROTO_HELLO_RSP_CMD_CREDITS_OFF);
        h->max_payload = get16(b + KMRIG_PROTO_HELLO_RSP_MAX_PAYLOAD_OFF);
        h->dma_tags = b[KMRIG_PROTO_HELLO_RSP_DMA_TAGS_OFF];
        get_str(h->board, b + KMRIG_PROTO_HELLO_RSP_BOARD_OFF, KMRIG_PROTO_HELLO_RSP_BOARD_LEN);
        get_str(h->build, b + KMRIG_PROTO_HELLO_RSP_BUILD_OFF, KMRIG_PROTO_HELLO_RSP_BUILD_LEN);
        break;
    }
    case KMRIG_PROTO_T_READ:
    case KMRIG_PROTO_T_WRITE:
    case KMRIG_PROTO_T_RMW:
        m->u.access.attr = b[KMRIG_PROTO_READ_ATTR_OFF];
        m->u.access.addr = get32(b + KMRIG_PROTO_READ_ADDR_OFF);
        if (f->type == KMRIG_PROTO_T_WRITE)
            m->u.access.data = get32(b + KMRIG_PROTO_WRITE_DATA_OFF);
        if (f->type == KMRIG_PROTO_T_RMW) {
            m->u.access.mask = get32(b + KMRIG_PROTO_RMW_MASK_OFF);
            m->u.access.value = get32(b + KMRIG_PROTO_RMW_VALUE_OFF);
        }
        break;
    case KMRIG_PROTO_T_READ_BURST:
    case KMRIG_PROTO_T_WRITE_BURST:
        m->u.access.attr = b[KMRIG_PROTO_READ_BURST_ATTR_OFF];
        m->u.access.count = get16(b + KMRIG_PROTO_READ_BURST_COUNT_OFF);
        m->u.access.addr = get32(b + KMRIG_PROTO_READ_BURST_ADDR_OFF);
        break;
    case KMRIG_PROTO_T_IRQ_CTL:
        m->u.irq_ctl.op = b[KMRIG_PROTO_IRQ_CTL_OP_OFF];
        m->u.irq_ctl.lines = get32(b + KMRIG_PROTO_IRQ_CTL_LINES_OFF);
        break;
    case KMRIG_PROTO_T_DMA_RD_RSP:
    case KMRIG_PROTO_T_DMA_WR_RSP:
        m->u.dma_status = b[KMRIG_PROTO_DMA_RD_RSP_STATUS_OFF];
        break;
    case KMRIG_PROTO_T_READ_RSP:
    case KMRIG_PROTO_T_RMW_RSP:
        m->u.result.status = b[KMRIG_PROTO_READ_RSP_STATUS_OFF];
        m->u.result.data = get32(b + KMRIG_PROTO_READ_RSP_DATA_OFF);
        m->u.result.ts = get64(b + KMRIG_PROTO_READ_RSP_TS_OFF);
        break;
    case KMRIG_PROTO_T_WRITE_RSP:
    case KMRIG_PROTO_T_READ_BURST_RSP:
    case KMRIG_PROTO_T_WRITE_BURST_RSP:
    case KMRIG_PROTO_T_IRQ_CTL_RSP:
        m->u.result.status = b[KMRIG_PROTO_WRITE_RSP_STATUS_OFF];
        m->u.result.count = get16(b + KMRIG_PROTO_WRITE_RSP_COUNT_OFF);
        m->u.result.ts = get64(b + KMRIG_PROTO_WRITE_RSP_TS_OFF);
        break;
    case KMRIG_PROTO_T_IRQ_QUERY_RSP: {
        struct kmrig_proto_irq_state *s = &m->u.irq_state;
        s->pending = get32(b + KMRIG_PROTO_IRQ_QUERY_RSP_PENDING_OFF);
        s->mask = get32(b + KMRIG_PROTO_IRQ_QUERY_RSP_MASK_OFF);
        s->mode = get32(b + KMRIG_PROTO_IRQ_QUERY_RSP_MODE_OFF);
        s->raw = get32(b + KMRIG_PROTO_IRQ_QUERY_RSP_RAW_OFF);
        s->ts = get64(b + KMRIG_PROTO_IRQ_QUERY_RSP_TS_OFF);
        break;
    }
    case KMRIG_PROTO_T_PING_RSP:
        m->u.ping_ts = get64(b + KMRIG_PROTO_PING_RSP_TS_OFF);
        break;
    case KMRIG_PROTO_T_DMA_RD_REQ:
    case KMRIG_PROTO_T_DMA_WR_REQ:
        m->u.dma_req.addr = get64(b + KMRIG_PROTO_DMA_RD_REQ_ADDR_OFF);
        m->u.dma_req.len = get16(b + KMRIG_PROTO_DMA_RD_REQ_LEN_OFF);
        m->u.dma_req.ts = get64(b + KMRIG_PROTO_DMA_RD_REQ_TS_OFF);
        break;
    case KMRIG_PROTO_T_EVT_IRQ:
        m->u.evt_irq.line = b[KMRIG_PROTO_EVT_IRQ_LINE_OFF];
        m->u.evt_irq.state = b[KMRIG_PROTO_EVT_IRQ_STATE_OFF];
        m->u.evt_irq.active = get32(b + KMRIG_PROTO_EVT_IRQ_ACTIVE_OFF);
        m->u.evt_irq.ts = get64(b + KMRIG_PROTO_EVT_IRQ_TS_OFF);
        break;
    case KMRIG_PROTO_T_EVT_ERROR:
        m->u.evt_error.code = b[KMRIG_PROTO_EVT_ERROR_CODE_OFF];
        m->u.evt_error.info = get16(b + KMRIG_PROTO_EVT_ERROR_INFO_OFF);
        m->u.evt_error.dropped = get32(b + KMRIG_PROTO_EVT_ERROR_DROPPED_OFF);
        m->u.evt_error.ts = get64(b + KMRIG_PROTO_EVT_ERROR_TS_OFF);
        break;
    case KMRIG_PROTO_T_EVT_CREDIT:
        m->u.credits = get32(b + KMRIG_PROTO_EVT_CREDIT_CREDITS_OFF);
        break;
    default:
        break;
    }
    return check_msg(m, 0) ? KMRIG_PROTO_EMALFORMED : 0;
}

/* ---- host-to-device encoders ------------------------------------------------------------------
 */

static void msg_init(struct kmrig_proto_msg *m, unsigned type, unsigned flags, uint8_t tag)
{
    memset(m, 0, sizeof *m);
    m->type = (uint8_t)type;
    m->flags = (uint8_t)flags;
    m->tag = tag;
}

static int enc(struct kmrig_proto_msg *m, unsigned flags, uint8_t *out, size_t cap)
{
    if (flags & ~KMRIG_PROTO_FLAGS_KNOWN)
        return KMRIG_PROTO_EINVAL;
    return kmrig_proto_encode(m, out, cap);
}

int kmrig_proto_enc_hello(uint8_t *out, size_t cap, unsigned flags, uint8_t tag, uint32_t caps,
                          uint32_t dma_wr_credits, uint8_t dma_tags)
{
    struct kmrig_proto_msg m;
    msg_init(&m, KMRIG_PROTO_T_HELLO, flags, tag);
    m.u.hello.magic = KMRIG_PROTO_MAGIC;
    m.u.hello.ver_major = KMRIG_PROTO_VERSION_MAJOR;
    m.u.hello.ver_minor = KMRIG_PROTO_VERSION_MINOR;
    m.u.hello.caps = caps;
    m.u.hello.dma_wr_credits = dma_wr_credits;
    m.u.hello.dma_tags = dma_tags;
    return enc(&m, flags, out, cap);
}

static int enc_access(unsigned type, unsigned flags, uint8_t tag, unsigned space, uint32_t addr,
                      unsigned size, int fixed, struct kmrig_proto_msg *m)
{
    int attr = kmrig_proto_attr(space, size, fixed);
    if (attr < 0)
        return attr;
    msg_init(m, type, flags, tag);
    m->u.access.attr = (uint8_t)attr;
    m->u.access.addr = addr;
    return 0;
}

int kmrig_proto_enc_read(uint8_t *out, size_t cap, unsigned flags, uint8_t tag, unsigned space,
                         uint32_t addr, unsigned size)
{
    struct kmrig_proto_msg m;
    int rc = enc_access(KMRIG_PROTO_T_READ, flags, tag, space, addr, size, 0, &m);
    return rc ? rc : enc(&m, flags, out, cap);
}

int kmrig_proto_enc_write(uint8_t *out, size_t cap, unsigned flags, uint8_t tag, unsigned space,
                          uint32_t addr, unsigned size, uint32_t value)
{
    struct kmrig_proto_msg m;
    int rc = enc_access(KMRIG_PROTO_T_WRITE, flags, tag, space, addr, size, 0, &m);
    if (rc)
        return rc;
    m.u.access.data = value;
    return enc(&m, flags, out, cap);
}

int kmrig_proto_enc_read_burst(uint8_t *out, size_t cap, unsigned flags, uint8_t tag,
                               unsigned space, uint32_t addr, unsigned size, unsigned count,
                               int fixed)
{
    struct kmrig_proto_msg m;
    int rc = enc_access(KMRIG_PROTO_T_READ_BURST, flags, tag, space, addr, size, fixed, &m);
    if (rc)
        return rc;
    if (count == 0)
        return KMRIG_PROTO_EINVAL;
    if (count > KMRIG_PROTO_MAX_BURST / size)
        return KMRIG_PROTO_EMSGSIZE;
    m.u.access.count = (uint16_t)count;
    return enc(&m, flags, out, cap);
}

int kmrig_proto_enc_write_burst(uint8_t *out, size_t cap, unsigned flags, uint8_t tag,
                                unsigned space, uint32_t addr, unsigned size, unsigned count,
                                int fixed, const void *data)
{
    struct kmrig_proto_msg m;
    int rc = enc_access(KMRIG_PROTO_T_WRITE_BURST, flags, tag, space, addr, size, fixed, &m);
    if (rc)
        return rc;
    if (count == 0)
        return KMRIG_PROTO_EINVAL;
    if (count > KMRIG_PROTO_MAX_BURST / size)
        return KMRIG_PROTO_EMSGSIZE;
    m.u.access.count = (uint16_t)count;
    m.data = data;
    m.data_len = (size_t)count * size;
    return enc(&m, flags, out, cap);
}

int kmrig_proto_enc_rmw(uint8_t *out, size_t cap, unsigned flags, uint8_t tag, unsigned space,
                        uint32_t addr, unsigned size, uint32_t mask, uint32_t value)
{
    struct kmrig_proto_msg m;
    int rc = enc_access(KMRIG_PROTO_T_RMW, flags, tag, space, addr, size, 0, &m);
    if (rc)
        return rc;
    m.u.access.mask = mask;
    m.u.access.value = value;
    return enc(&m, flags, out, cap);
}

int kmrig_proto_enc_irq_ctl(uint8_t *out, size_t cap, unsigned flags, uint8_t tag, unsigned op,
                            uint32_t lines)
{
    struct kmrig_proto_msg m;
    if (op > KMRIG_PROTO_IRQ_OP_EOI)
        return KMRIG_PROTO_EINVAL;
    msg_init(&m, KMRIG_PROTO_T_IRQ_CTL, flags, tag);
    m.u.irq_ctl.op = (uint8_t)op;
    m.u.irq_ctl.lines = lines;
    return enc(&m, flags, out, cap);
}

int kmrig_proto_enc_irq_query(uint8_t *out, size_t cap, unsigned flags, uint8_t tag)
{
    struct kmrig_proto_msg m;
    msg_init(&m, KMRIG_PROTO_T_IRQ_QUERY, flags, tag);
    return enc(&m, flags, out, cap);
}

int kmrig_proto_enc_ping(uint8_t *out, size_t cap, unsigned flags, uint8_t tag, const void *data,
                         size_t n)
{
    struct kmrig_proto_msg m;
    msg_init(&m, KMRIG_PROTO_T_PING, flags, tag);
    m.data = data;
    m.data_len = n;
    return enc(&m, flags, out, cap);
}

int kmrig_proto_enc_dma_rd_rsp(uint8_t *out, size_t cap, unsigned flags, uint8_t tag,
                               unsigned status, const void *data, size_t n)
{
    struct kmrig_proto_msg m;
    if (status > 0xFF)
        return KMRIG_PROTO_EINVAL;
    msg_init(&m, KMRIG_PROTO_T_DMA_RD_RSP, flags, tag);
    m.u.dma_status = (uint8_t)status;
    m.data = data;
    m.data_len = n;
    return enc(&m, flags, out, cap);
}

int kmrig_proto_enc_dma_wr_rsp(uint8_t *out, size_t cap, unsigned flags, uint8_t tag,
                               unsigned status)
{
    struct kmrig_proto_msg m;
    if (status > 0xFF)
        return KMRIG_PROTO_EINVAL;
    msg_init(&m, KMRIG_PROTO_T_DMA_WR_RSP, flags, tag);
    m.u.dma_status = (uint8_t)status;
    return enc(&m, flags, out, cap);
}

/* ---- hello ------------------------------------------------------------------------------------
 */

/* As sysid VERSION is laid out ([31:24] major, [23:16] minor, [15:0] patch): 0x01020000 is
 * 1.2.0. */
static void version_str(char *s, size_t n, uint32_t v)
{
    snprintf(s, n, "%u.%u.%u", (unsigned)(v >> 24), (unsigned)(v >> 16 & 0xFF),
             (unsigned)(v & 0xFFFF));
}

int kmrig_proto_hello_check(const struct kmrig_proto_hello_rsp *r,
                            const struct kmrig_proto_expect *e, char *msg, size_t n)
{
    char what[160], have[16], want[16];
    const char *board = r->board[0] ? r->board : "this board";
    what[0] = 0;
    if (r->magic != KMRIG_PROTO_MAGIC) {
        snprintf(what, sizeof what, "the device did not answer as kmrig gateware (magic 0x%08X)",
                 (unsigned)r->magic);
    } else if (r->status == KMRIG_PROTO_HELLO_ST_VERSION || r->ver_major != e->ver_major ||
               r->ver_minor < e->ver_minor) {
        snprintf(what, sizeof what,
                 "gateware '%s' speaks kmrig protocol %u.%u, this host needs %u.%u or a later "
                 "%u.x",
                 r->build, r->ver_major, r->ver_minor, e->ver_major, e->ver_minor, e->ver_major);
    } else if ((e->soc_id && r->soc_id != e->soc_id) ||
               (e->soc_version && r->soc_version != e->soc_version)) {
        version_str(have, sizeof have, r->soc_version);
        version_str(want, sizeof want, e->soc_version);
        snprintf(what, sizeof what,
                 "gateware '%s' is SoC 0x%08X version %s, this host was built for SoC 0x%08X "
                 "version %s",
                 r->build, (unsigned)r->soc_id, have, (unsigned)e->soc_id, want);
    } else if (e->build_id && r->build_id != e->build_id) {
        snprintf(what, sizeof what, "gateware '%s' has build id 0x%08X, this host expects 0x%08X",
                 r->build, (unsigned)r->build_id, (unsigned)e->build_id);
    }
    if (!what[0]) {
        if (n)
            msg[0] = 0;
        return 0;
    }
    if (n) {
        if (e->flash_hint)
            snprintf(msg, n, "%s: flash %s on %s and reconnect", what, e->flash_hint, board);
        else
            snprintf(msg, n,
                     "%s: flash %s with the gateware built from this kmrig (kmrig protocol "
                     "%u.%u) and reconnect",
                     what, board, e->ver_major, e->ver_minor);
    }
    return KMRIG_PROTO_EMISMATCH;
}

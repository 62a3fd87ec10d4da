/*
 * kmrig/protocol.h - the bridge wire protocol for byte-stream links (docs/protocol.md): frame
 * encoder, streaming decoder, CRCs and the hello check.
 *
 * The constants (frame types, layouts, codes, limits) come from bridge/protocol/protocol.json
 * through kmrig/protocol_gen.h; the gateware includes the same values (rtl/gen/kmrig_proto.vh).
 *
 * Layers:
 *   - framing: kmrig_proto_frame_encode() writes header, payload and optional CRC-32;
 *     struct kmrig_proto_decoder turns a byte stream fed in arbitrary chunks into frames,
 *     dropping garbage, bad headers and CRC failures and resynchronising on the next frame;
 *   - messages: struct kmrig_proto_msg is a frame's content, field by field;
 *     kmrig_proto_encode() and kmrig_proto_parse() convert between it and frames, validating
 *     every rule that does not need the request (a READ_BURST_RSP's data length does).
 *     kmrig_proto_enc_*() build each host-to-device frame from plain arguments.
 *
 * Plain C, no allocation, no I/O, no global state: every call works on the caller's memory, so
 * any number of links can use the codec at once (one decoder per stream, not shared between
 * threads). Functions return a byte count or 0, or a negative KMRIG_PROTO_E* code.
 */
#ifndef KMRIG_PROTOCOL_H
#define KMRIG_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>

#include <kmrig/protocol_gen.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KMRIG_PROTO_OK 0
#define KMRIG_PROTO_EINVAL (-1)     /* a field is out of range (size, alignment, count, op...) */
#define KMRIG_PROTO_ENOSPC (-2)     /* the output buffer is too small */
#define KMRIG_PROTO_EMSGSIZE (-3)   /* the payload would exceed what the type allows */
#define KMRIG_PROTO_EMALFORMED (-4) /* a received body does not fit its type */
#define KMRIG_PROTO_ETYPE (-5)      /* unknown frame type */
#define KMRIG_PROTO_EMISMATCH (-6)  /* hello: the gateware does not match this host */

const char *kmrig_proto_strerror(int code);
/* "READ_BURST_RSP", or "?" for an unknown type. */
const char *kmrig_proto_type_name(unsigned type);
/* The fixed body size of a type and whether variable data follows; -1 for unknown types. */
int kmrig_proto_type_body(unsigned type, int *has_data);

/* CRC-16/IBM-3740 (CCITT-FALSE) of the header. Start with KMRIG_PROTO_CRC16_INIT; chainable. */
uint16_t kmrig_proto_crc16_update(uint16_t crc, const void *data, size_t n);
uint16_t kmrig_proto_crc16(const void *data, size_t n);
/* CRC-32/ISO-HDLC (IEEE 802.3, zlib). _update works on the final value: crc32_update(crc32(a), b)
 * is the CRC of a followed by b; start from 0. */
uint32_t kmrig_proto_crc32_update(uint32_t crc, const void *data, size_t n);
uint32_t kmrig_proto_crc32(const void *data, size_t n);

/* attr byte of an access: space KMRIG_PROTO_SPACE_MEM/IO (same values as kmrig/link.h), size 1, 2
 * or 4, fixed nonzero for a fixed-address burst. Returns the byte, or KMRIG_PROTO_EINVAL. */
#define KMRIG_PROTO_SPACE_MEM 0u
#define KMRIG_PROTO_SPACE_IO 1u
int kmrig_proto_attr(unsigned space, unsigned size, int fixed);
/* The access size an attr byte gives (1, 2, 4), or 0 when it is malformed. */
unsigned kmrig_proto_attr_size(uint8_t attr);

/* ---- framing ---------------------------------------------------------------------------- */

/* A frame as it arrived: header fields and the payload (pointing into the decoder, valid until
 * its next feed or reset). */
struct kmrig_proto_frame {
    uint8_t type;
    uint8_t flags; /* KMRIG_PROTO_FLAG_*; PCRC means the CRC-32 was present and correct */
    uint8_t tag;
    uint16_t len; /* payload bytes */
    const uint8_t *payload;
    size_t wire_len; /* header + payload + CRC, as it was on the wire */
};

/* Writes one frame: header (with its CRC-16), payload, and with KMRIG_PROTO_FLAG_PCRC in flags
 * the CRC-32. Returns the frame's length, KMRIG_PROTO_EINVAL for unknown flags or a type with
 * bit 7 set, KMRIG_PROTO_EMSGSIZE when len > KMRIG_PROTO_MAX_PAYLOAD, KMRIG_PROTO_ENOSPC when
 * cap is too small (nothing useful is written then). Does not check the payload against the
 * type (kmrig_proto_encode() does). */
int kmrig_proto_frame_encode(uint8_t *out, size_t cap, unsigned type, unsigned flags, unsigned tag,
                             const void *payload, size_t len);

/* Decoder options. */
#define KMRIG_PROTO_DEC_REQUIRE_CRC 0x1u /* drop frames without PCRC (links that corrupt: UART) */

struct kmrig_proto_decoder_stats {
    uint64_t bytes_in;      /* bytes fed and consumed */
    uint64_t frames;        /* frames emitted */
    uint64_t frame_bytes;   /* their wire bytes */
    uint64_t dropped_bytes; /* bytes that were not part of an emitted frame */
    uint64_t header_errors; /* SOF found but the header was invalid (CRC-16, flags, type bit 7) */
    uint64_t oversize;      /* ... of which: a sound header with len > KMRIG_PROTO_MAX_PAYLOAD */
    uint64_t crc_errors;    /* sound header, CRC-32 wrong */
    uint64_t no_crc;        /* sound frame without PCRC, dropped under REQUIRE_CRC */
};

/* A streaming decoder: bounded memory (one maximum frame), never reads past its input.
 * After garbage, a bad header or a bad CRC-32 it drops bytes one SOF at a time and tries again
 * from the next SOF, so the first good frame after the damage is found even when a byte was
 * lost inside the damaged one. Invariant: bytes_in = frame_bytes + dropped_bytes + buffered. */
struct kmrig_proto_decoder {
    unsigned options;
    size_t have;    /* bytes buffered in buf (a frame candidate starting with SOF) */
    size_t emitted; /* wire length of the frame returned by the last feed, dropped at the next */
    struct kmrig_proto_decoder_stats stats;
    uint8_t buf[KMRIG_PROTO_MAX_FRAME];
};

void kmrig_proto_decoder_init(struct kmrig_proto_decoder *d, unsigned options);
/* Forgets buffered bytes (counting them as dropped) and keeps the statistics. */
void kmrig_proto_decoder_reset(struct kmrig_proto_decoder *d);
/* Consumes input up to the end of the next complete frame. Returns 1 and fills *frame when a
 * frame is complete (call again with the rest of the input: in + *used), 0 when all n bytes
 * were consumed without completing one. *used is never more than n. */
int kmrig_proto_decoder_feed(struct kmrig_proto_decoder *d, const uint8_t *in, size_t n,
                             size_t *used, struct kmrig_proto_frame *frame);
/* Bytes buffered (a frame in progress). */
size_t kmrig_proto_decoder_pending(const struct kmrig_proto_decoder *d);

/* ---- messages --------------------------------------------------------------------------- */

struct kmrig_proto_hello {
    uint32_t magic; /* KMRIG_PROTO_MAGIC */
    uint8_t ver_major, ver_minor;
    uint32_t caps;           /* KMRIG_PROTO_CAP_* the host will use */
    uint32_t dma_wr_credits; /* bytes of DMA write data the host buffers */
    uint8_t dma_tags;        /* DMA requests the host accepts in flight */
};

struct kmrig_proto_hello_rsp {
    uint32_t magic;
    uint8_t ver_major, ver_minor, status, irq_lines;
    uint32_t caps, clock_hz, soc_id, soc_version, build_id;
    uint16_t cmd_credits, max_payload;
    uint8_t dma_tags;
    char board[17]; /* NUL-terminated; 16 bytes on the wire, NUL-padded */
    char build[33]; /* NUL-terminated; 32 bytes on the wire */
};

/* READ, WRITE, READ_BURST, WRITE_BURST, RMW. */
struct kmrig_proto_access {
    uint8_t attr;
    uint16_t count; /* bursts: elements */
    uint32_t addr;
    uint32_t data;  /* WRITE */
    uint32_t mask;  /* RMW */
    uint32_t value; /* RMW */
};

/* READ_RSP, RMW_RSP (data), WRITE_RSP, READ_BURST_RSP, WRITE_BURST_RSP, IRQ_CTL_RSP (count). */
struct kmrig_proto_result {
    uint8_t status;
    uint16_t count;
    uint32_t data;
    uint64_t ts;
};

struct kmrig_proto_irq_ctl {
    uint8_t op; /* KMRIG_PROTO_IRQ_OP_* */
    uint32_t lines;
};

struct kmrig_proto_irq_state {
    uint32_t pending, mask, mode, raw;
    uint64_t ts;
};

/* DMA_RD_REQ, DMA_WR_REQ. */
struct kmrig_proto_dma_req {
    uint64_t addr;
    uint16_t len;
    uint64_t ts;
};

struct kmrig_proto_evt_irq {
    uint8_t line, state; /* KMRIG_PROTO_IRQ_STATE_* */
    uint32_t active;
    uint64_t ts;
};

struct kmrig_proto_evt_error {
    uint8_t code; /* KMRIG_PROTO_EV_ERR_* */
    uint16_t info;
    uint32_t dropped;
    uint64_t ts;
};

/* One frame's content. data/data_len: the variable part (burst data, DMA data, ping bytes);
 * after kmrig_proto_parse() it points into the frame's payload. */
struct kmrig_proto_msg {
    uint8_t type, flags, tag;
    union {
        struct kmrig_proto_hello hello;
        struct kmrig_proto_hello_rsp hello_rsp;
        struct kmrig_proto_access access;
        struct kmrig_proto_result result;
        struct kmrig_proto_irq_ctl irq_ctl;
        struct kmrig_proto_irq_state irq_state;
        struct kmrig_proto_dma_req dma_req;
        uint8_t dma_status; /* DMA_RD_RSP, DMA_WR_RSP */
        uint64_t ping_ts;   /* PING_RSP */
        struct kmrig_proto_evt_irq evt_irq;
        struct kmrig_proto_evt_error evt_error;
        uint32_t credits; /* EVT_CREDIT */
    } u;
    const uint8_t *data;
    size_t data_len;
};

/* Checks m against its type's rules and writes its frame. Returns the frame's length or a
 * KMRIG_PROTO_E* code (ETYPE, EINVAL, EMSGSIZE, ENOSPC). */
int kmrig_proto_encode(const struct kmrig_proto_msg *m, uint8_t *out, size_t cap);
/* Fills m from a decoded frame. Returns 0, KMRIG_PROTO_ETYPE or KMRIG_PROTO_EMALFORMED
 * (length, attr, count, op or DMA range wrong for the type). Reserved bytes are ignored. */
int kmrig_proto_parse(const struct kmrig_proto_frame *f, struct kmrig_proto_msg *m);

/* Host-to-device frames from plain arguments; each returns the frame's length or a code.
 * flags: KMRIG_PROTO_FLAG_PCRC and, for posted requests, KMRIG_PROTO_FLAG_ACK. */
int kmrig_proto_enc_hello(uint8_t *out, size_t cap, unsigned flags, uint8_t tag, uint32_t caps,
                          uint32_t dma_wr_credits, uint8_t dma_tags);
int kmrig_proto_enc_read(uint8_t *out, size_t cap, unsigned flags, uint8_t tag, unsigned space,
                         uint32_t addr, unsigned size);
int kmrig_proto_enc_write(uint8_t *out, size_t cap, unsigned flags, uint8_t tag, unsigned space,
                          uint32_t addr, unsigned size, uint32_t value);
int kmrig_proto_enc_read_burst(uint8_t *out, size_t cap, unsigned flags, uint8_t tag,
                               unsigned space, uint32_t addr, unsigned size, unsigned count,
                               int fixed);
/* data: count * size bytes, little-endian elements. */
int kmrig_proto_enc_write_burst(uint8_t *out, size_t cap, unsigned flags, uint8_t tag,
                                unsigned space, uint32_t addr, unsigned size, unsigned count,
                                int fixed, const void *data);
int kmrig_proto_enc_rmw(uint8_t *out, size_t cap, unsigned flags, uint8_t tag, unsigned space,
                        uint32_t addr, unsigned size, uint32_t mask, uint32_t value);
int kmrig_proto_enc_irq_ctl(uint8_t *out, size_t cap, unsigned flags, uint8_t tag, unsigned op,
                            uint32_t lines);
int kmrig_proto_enc_irq_query(uint8_t *out, size_t cap, unsigned flags, uint8_t tag);
int kmrig_proto_enc_ping(uint8_t *out, size_t cap, unsigned flags, uint8_t tag, const void *data,
                         size_t n);
/* tag: the DMA_RD_REQ's. data/n only with status KMRIG_PROTO_ST_OK (n = the request's len). */
int kmrig_proto_enc_dma_rd_rsp(uint8_t *out, size_t cap, unsigned flags, uint8_t tag,
                               unsigned status, const void *data, size_t n);
int kmrig_proto_enc_dma_wr_rsp(uint8_t *out, size_t cap, unsigned flags, uint8_t tag,
                               unsigned status);

/* ---- hello ------------------------------------------------------------------------------ */

/* What the host needs from the gateware. Zero soc_id/soc_version/build_id accept any. */
struct kmrig_proto_expect {
    uint8_t ver_major, ver_minor; /* the least protocol version the host needs */
    uint32_t soc_id, soc_version, build_id;
    const char *flash_hint; /* what to flash, e.g. "gateware/icebreaker/kmrig_soc.bin"; NULL
                               gives a generic sentence */
};

/* Decides whether the host may use this gateware. Returns 0, or KMRIG_PROTO_EMISMATCH with a
 * sentence in msg (n bytes, always terminated when n > 0) saying what differs and what to
 * flash. */
int kmrig_proto_hello_check(const struct kmrig_proto_hello_rsp *r,
                            const struct kmrig_proto_expect *e, char *msg, size_t n);

#ifdef __cplusplus
}
#endif

#endif

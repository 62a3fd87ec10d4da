/*
 * kmrig/link_tcp.h - the remote-target protocol between the "tcp" transport (bridge/link/
 * link_tcp.c, the client) and `kmrig serve` (host/cli/serve.c, the server): docs/protocol.md,
 * "Remote targets (kmrig serve)".
 *
 * The server opens a target with kmrig_link_open and executes the client's link operations on
 * it; this is the link-ops level, not the byte stream of the wire protocol, so any target can
 * be served, a model with its virtual time included.
 *
 * Every message: u32 length (little-endian; the bytes after it: type and body, 1 to
 * KMRIG_TCP_MAX_MSG), u8 type, body. Integers are little-endian. The helpers below encode and
 * decode the fixed parts; both ends check each body's length against its type.
 */
#ifndef KMRIG_LINK_TCP_H
#define KMRIG_LINK_TCP_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define KMRIG_TCP_MAGIC "KMRIGTCP"
#define KMRIG_TCP_VERSION 1u
/* The largest type+body a message may have; a longer length closes the connection. */
#define KMRIG_TCP_MAX_MSG (65536u + 64u)
/* Device DMA data per DMA_REQ message; a longer access is split. */
#define KMRIG_TCP_MAX_DMA 65536u
#define KMRIG_TCP_MAX_TOKEN 256u
#define KMRIG_TCP_MAX_TEXT 256u

enum kmrig_tcp_type {
    /* client to server */
    KMRIG_TCP_HELLO = 0x01,    /* magic[8] u16 version u16 token_len token[token_len] */
    KMRIG_TCP_BYE = 0x02,      /* (empty) the client leaves; the server closes */
    KMRIG_TCP_READ = 0x10,     /* u8 space u8 size u8 flags u8 0 u32 addr */
    KMRIG_TCP_WRITE = 0x11,    /* u8 space u8 size u8 flags u8 0 u32 addr u32 value */
    KMRIG_TCP_RMW = 0x12,      /* u8 space u8 size u8 flags u8 0 u32 addr u32 mask u32 value */
    KMRIG_TCP_IRQ_PEND = 0x13, /* (empty) */
    KMRIG_TCP_IRQ_CTL = 0x14,  /* u8 line u8 op u8 flags u8 0 */
    KMRIG_TCP_IRQ_TS = 0x15,   /* u8 line u8 0 u8 flags u8 0 */
    KMRIG_TCP_NOW = 0x16,      /* (empty) */
    KMRIG_TCP_ADVANCE = 0x17,  /* u64 cycles u8 stop_on_irq */
    KMRIG_TCP_NEXT = 0x18,     /* (empty) */
    KMRIG_TCP_RESET = 0x19,    /* (empty) */
    KMRIG_TCP_DMA_RSP = 0x1A,  /* i32 rc, then for a device read that succeeded: the data */
    /* server to client */
    KMRIG_TCP_WELCOME = 0x81, /* u16 version u16 0 u64 clock_hz u32 irq_lines u32 soc_id
                                 u32 soc_version u8 virtual_time u8[3] 0 char description[96] */
    KMRIG_TCP_REFUSE = 0x82,  /* i32 code, text (UTF-8, not NUL-terminated, <= MAX_TEXT) */
    KMRIG_TCP_RESULT = 0x83,  /* the answer to one request, struct kmrig_tcp_result */
    KMRIG_TCP_DMA_REQ = 0x84, /* u8 write u8[3] 0 u32 size u64 bus u64 issue, data if write */
    KMRIG_TCP_EVENT = 0x85,   /* u8 enum kmrig_link_event */
    KMRIG_TCP_ERROR = 0x86,   /* text: why the server closes this connection */
};

/* flags of requests that may be posted (WRITE, IRQ_CTL): bit 0 = answer this one. READ, RMW,
 * IRQ_TS and the empty requests are always answered. */
#define KMRIG_TCP_F_ANSWER 1u

/* RESULT body: rc is 0 or a KMRIG_LINK_E* code, exactly as the served link returned it.
 * value: a read's value, RMW's old value, IRQ_PEND's lines. v64: the completion timestamp
 * (READ, WRITE, RMW), IRQ_TS's timestamp, NOW's cycles, ADVANCE's cycles advanced, NEXT's
 * cycles. For a virtual-time target, now and lines are the device time and the pending
 * lines after the request (state bit 0 set; bit 1 when the lines query failed); the client
 * answers now() and irq_pending() from them until its next request. */
#define KMRIG_TCP_RESULT_LEN 32u
struct kmrig_tcp_result {
    int32_t rc;
    uint32_t value;
    uint64_t v64;
    uint64_t now;
    uint32_t lines;
    uint32_t state;
};
#define KMRIG_TCP_STATE_VALID 1u     /* now and lines are the device's after the request */
#define KMRIG_TCP_STATE_LINES_ERR 2u /* ... but the lines query failed */

#define KMRIG_TCP_WELCOME_LEN (4u + 8u + 4u + 4u + 4u + 4u + 96u)
#define KMRIG_TCP_DMA_REQ_HDR 24u

/* Socket I/O both ends use (link_tcp.c). send_all: 0, or -1 when the socket failed.
 * recv_all: 1 read all n bytes, 0 the peer closed, -1 error; with deadline_ms > 0, -2 when no
 * byte came for that long. EINTR is retried. */
int kmrig_tcp_send_all(int fd, const uint8_t *p, size_t n);
int kmrig_tcp_recv_all(int fd, uint8_t *p, size_t n, int deadline_ms);

static inline void kmrig_tcp_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static inline void kmrig_tcp_put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static inline void kmrig_tcp_put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint16_t kmrig_tcp_get16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}
static inline uint32_t kmrig_tcp_get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t kmrig_tcp_get64(const uint8_t *p)
{
    return (uint64_t)kmrig_tcp_get32(p) | (uint64_t)kmrig_tcp_get32(p + 4) << 32;
}

/* Writes a message header (length and type) for a body of n bytes at p; returns 5. */
static inline size_t kmrig_tcp_header(uint8_t *p, uint8_t type, size_t n)
{
    kmrig_tcp_put32(p, (uint32_t)(n + 1));
    p[4] = type;
    return 5;
}

static inline void kmrig_tcp_put_result(uint8_t *p, const struct kmrig_tcp_result *r)
{
    kmrig_tcp_put32(p, (uint32_t)r->rc);
    kmrig_tcp_put32(p + 4, r->value);
    kmrig_tcp_put64(p + 8, r->v64);
    kmrig_tcp_put64(p + 16, r->now);
    kmrig_tcp_put32(p + 24, r->lines);
    kmrig_tcp_put32(p + 28, r->state);
}

static inline void kmrig_tcp_get_result(const uint8_t *p, struct kmrig_tcp_result *r)
{
    r->rc = (int32_t)kmrig_tcp_get32(p);
    r->value = kmrig_tcp_get32(p + 4);
    r->v64 = kmrig_tcp_get64(p + 8);
    r->now = kmrig_tcp_get64(p + 16);
    r->lines = kmrig_tcp_get32(p + 24);
    r->state = kmrig_tcp_get32(p + 28);
}

/* The body length a request type must have (DMA_RSP: at least 4; HELLO: at least 12), or -1
 * for a type a client may not send. */
static inline long kmrig_tcp_request_len(uint8_t type)
{
    switch (type) {
    case KMRIG_TCP_BYE:
    case KMRIG_TCP_IRQ_PEND:
    case KMRIG_TCP_NOW:
    case KMRIG_TCP_NEXT:
    case KMRIG_TCP_RESET:
        return 0;
    case KMRIG_TCP_READ:
    case KMRIG_TCP_IRQ_CTL:
    case KMRIG_TCP_IRQ_TS:
        return type == KMRIG_TCP_READ ? 8 : 4;
    case KMRIG_TCP_WRITE:
        return 12;
    case KMRIG_TCP_RMW:
        return 16;
    case KMRIG_TCP_ADVANCE:
        return 9;
    case KMRIG_TCP_DMA_RSP:
        return 4;
    default:
        return -1;
    }
}

#endif

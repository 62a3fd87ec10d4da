/* Link profiles: the timing model of real links (docs/protocol.md, section 12).
 *
 * A profile sits between the link core and a transport that has no link timing of its own (a
 * virtual-time target: sim, loop). It gives every request the latency and bandwidth the real
 * link would give it, in the device's clock, which stays the only time base: the driver waits
 * for a read as long as the board would make it wait, because the model runs meanwhile.
 *
 * What each operation costs (t = device time in ns when the host issues it):
 *   read / RMW   a request frame h2d, the bus access when it arrives, the response d2h; the
 *                call returns (the model has run) when the response arrives.
 *   write        posted: a frame h2d, queued; it reaches the bus when it arrives (in order with
 *                everything else the host sends). The caller is not charged. Several writes
 *                submitted close together share a microframe / the wire (batching).
 *   irq_control  posted like a write (IRQ_CTL).
 *   interrupts   the host sees a line (irq_pending) when the EVT_IRQ frame that the device sends
 *                at the edge arrives; a line it services is consumed (EOI / irq_ack: it is
 *                hidden until reported again), and the EOI's arrival re-reports a line that is
 *                still high (section 7).
 *   DMA          DMA_RD_REQ d2h then DMA_RD_RSP h2d (the peripheral waits for the data);
 *                DMA_WR_REQ d2h then DMA_WR_RSP h2d (posted: the peripheral goes on at once;
 *                the answer frees the tag). At most PROF_TAGS requests are in flight.
 *
 * How long a frame takes (docs/protocol.md, "Link profiles"; wire bytes w = 8 + body + data,
 * + 4 with CRC; T(b, rate) = ceil(b * 1e9 / rate) ns):
 *   pcie    TLPs, full duplex, per direction a wire that is busy T((n + 24 * ceil(n / 256)),
 *           500 MB/s) for n payload bytes (a request without data is one 24-byte TLP); the
 *           frame arrives per_frame (100 ns) + latency (450 ns) after its last byte left.
 *   uart    frames, full duplex, CRC on every frame, per direction a wire busy T(w, 300 kB/s)
 *           (3 Mbaud 8N1); the frame arrives with its last byte.
 *   ft245   125 us microframes on one half-duplex bus: a microframe carries at most 13 bulk
 *           packets of 512 bytes in all (USB 2.0, table 5-10) and at most 10 of each direction
 *           (the FT232H's rate per direction, 40.96 MB/s); per direction a byte stream: OUT
 *           packets carry 512 frame bytes, IN packets 510 + 2 status bytes. A frame is ready at
 *           t + 10 us (OUT: the host's stack) or t (IN: the reference PHY pulses SIWU at the end
 *           of each frame, so the 1 ms latency timer never matters) and takes the next free
 *           packet bytes of its direction from microframe floor(ready / 125 us) on; a direction
 *           fills at most min(10, 13 - the other's packets) packets of a microframe and goes on
 *           in the next. Frames are booked in the order they are sent: the first direction to
 *           book a microframe gets up to 10 packets, the other keeps at least 3. It arrives at
 *           the end of the microframe carrying its last byte.
 * A device time in ns becomes a cycle by rounding up (kmrig_link_ns_to_cycles).
 */
#include "link_internal.h"

#include <kmrig/protocol.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROF_MF_SLOTS 256u /* microframes booked ahead (ft245): 32 ms */
#define PROF_QUEUE 256u    /* posted requests in flight; the next one waits */
#define PROF_REPORTS 128u  /* interrupt events in flight */
#define PROF_TAGS 8u       /* DMA tags of the reference gateware */
#define PROF_HDR 8u        /* frame header bytes */
#define PROF_PCIE_TLP 24u  /* PCIe TLP overhead (framing, sequence, header, LCRC) */
/* ft245: bulk packets of 512 bytes one high-speed microframe can carry, both directions
 * together (USB 2.0, section 5.8.4, table 5-10: 13 x 512 = 6656 bytes, 53.248 MB/s). The
 * profile's packets_per_microframe (10) is the chip's limit per direction. */
#define PROF_USB_BUS_PACKETS 13u

enum { PK_IDEAL, PK_PCIE, PK_FT245, PK_UART };

struct prof_params {
    const char *name; /* URI name */
    const char *proto;
    int duplex;
    uint64_t h2d_bps, d2h_bps, latency_ns;
    int crc;
    uint64_t microframe_ns, packet_bytes, status_bytes, packets_per_microframe, turnaround_ns,
        latency_timer_ns, per_frame_ns;
};

#define PROF_ROW(NAME, duplex, h2d, d2h, lat, crc, mf, pkt, st, ppm, ta, lt, pf)                   \
    {NULL, #NAME, duplex, h2d, d2h, lat, crc, mf, pkt, st, ppm, ta, lt, pf},
static const struct prof_params prof_table[] = {KMRIG_PROTO_PROFILE_LIST(PROF_ROW)};
static const char *const prof_names[] = {"ideal", "pcie", "ft245", "uart"};
#define PROF_COUNT (sizeof prof_table / sizeof prof_table[0])
_Static_assert(sizeof prof_names / sizeof prof_names[0] == PROF_COUNT,
               "one URI name per profile of protocol.json");

struct prof_posted {
    uint64_t at; /* cycle of arrival at the device */
    uint64_t addr;
    uint32_t value;
    uint8_t irq; /* 1: IRQ_CTL (op on line), 0: WRITE */
    uint8_t space, size, op;
    unsigned line;
};

struct prof_report {
    uint64_t at; /* cycle the EVT_IRQ reaches the host */
    unsigned line;
    int asserted;
};

struct prof_mf { /* ft245: what one microframe carries */
    uint64_t k;
    uint64_t bytes[2]; /* payload bytes of its packets per direction (0 OUT, 1 IN) */
    unsigned pkts[2];  /* its packets per direction */
};

struct link_prof {
    unsigned kind;
    const struct prof_params *p;
    uint64_t free_ns[2]; /* pcie, uart: when each direction's wire is free (0 h2d, 1 d2h) */
    struct prof_mf mf[PROF_MF_SLOTS];
    struct prof_posted q[PROF_QUEUE];
    unsigned qhead, qcount;
    struct prof_report r[PROF_REPORTS];
    unsigned rcount;     /* sorted by at */
    uint32_t dev_active; /* the device's pending-and-unmasked lines as last seen */
    uint32_t view;       /* lines the host has been told about and not consumed */
    uint64_t tag_free[PROF_TAGS];
};

static uint64_t div_up(uint64_t a, uint64_t b)
{
    return (a + b - 1) / b;
}

/* ns to move b bytes at rate bytes/s. */
static uint64_t bytes_ns(uint64_t b, uint64_t rate)
{
    return (uint64_t)(((unsigned __int128)b * 1000000000u + rate - 1) / rate);
}

static uint64_t max64(uint64_t a, uint64_t b)
{
    return a > b ? a : b;
}

static uint64_t now_ns(struct kmrig_link *l)
{
    return kmrig_link_cycles_to_ns(l, l->ops->now(l));
}

/* ---- frames on the wire ----------------------------------------------------------------- */

/* Wire bytes of a frame of `type` with `data` bytes after its body. */
static uint64_t frame_wire(const struct link_prof *p, unsigned type, size_t data)
{
    int body = kmrig_proto_type_body(type, NULL);
    return PROF_HDR + (uint64_t)(body < 0 ? 0 : body) + data + (p->p->crc ? 4u : 0u);
}

/* Microframe k's slot of the ring, or NULL when the slot holds a later microframe (k is more
 * than the ring behind the newest booking; the caller treats it as full). */
static struct prof_mf *mf_slot(struct link_prof *p, uint64_t k)
{
    struct prof_mf *s = &p->mf[k % PROF_MF_SLOTS];
    if (s->k > k)
        return NULL;
    if (s->k != k) {
        memset(s, 0, sizeof *s);
        s->k = k;
    }
    return s;
}

/* Books `wire` bytes of a frame in direction d (0 OUT, 1 IN) of the ft245 stream from
 * microframe k on: the bytes take the next free packet bytes of the microframes from k, a
 * direction using at most min(packets_per_microframe, PROF_USB_BUS_PACKETS - the other's
 * packets) packets of one microframe (the chip's rate per direction, the bus's per microframe;
 * whoever books a microframe first gets its packets, and since 10 < 13 the other direction
 * keeps at least 3). Returns the microframe carrying the frame's last byte; *status gets the
 * status bytes of the IN packets the frame opened. */
static uint64_t ft_book(struct link_prof *p, int d, uint64_t k, uint64_t wire, uint64_t *status)
{
    const struct prof_params *pp = p->p;
    uint64_t cap = pp->packet_bytes - (d ? pp->status_bytes : 0); /* payload per packet */
    *status = 0;
    for (;; k++) {
        struct prof_mf *s = mf_slot(p, k);
        if (!s)
            continue; /* the ring holds a later microframe there: treat k as full */
        uint64_t bus = PROF_USB_BUS_PACKETS - s->pkts[!d];
        uint64_t limit =
            (pp->packets_per_microframe < bus ? pp->packets_per_microframe : bus) * cap;
        if (s->bytes[d] >= limit)
            continue;
        uint64_t take = wire < limit - s->bytes[d] ? wire : limit - s->bytes[d];
        unsigned before = s->pkts[d];
        s->bytes[d] += take;
        s->pkts[d] = (unsigned)div_up(s->bytes[d], cap);
        if (d)
            *status += (uint64_t)(s->pkts[d] - before) * pp->status_bytes;
        wire -= take;
        if (!wire)
            return k;
    }
}

/* Sends a message at device time t (ns) in one direction; returns when it arrives (ns) and
 * adds the bytes it takes on the link to *link (if not NULL).
 * wire: the frame's bytes; tlp: its PCIe payload bytes (the PCIe profile carries TLPs). */
static uint64_t prof_send(struct link_prof *p, int d2h, uint64_t t, uint64_t wire, uint64_t tlp,
                          uint64_t *link)
{
    const struct prof_params *pp = p->p;
    uint64_t rate = d2h ? pp->d2h_bps : pp->h2d_bps, bytes = wire, at = t;
    switch (p->kind) {
    case PK_PCIE: {
        bytes = tlp + PROF_PCIE_TLP * (tlp ? div_up(tlp, pp->packet_bytes) : 1);
        uint64_t start = max64(t, p->free_ns[d2h]);
        p->free_ns[d2h] = start + bytes_ns(bytes, rate);
        at = p->free_ns[d2h] + pp->per_frame_ns + pp->latency_ns;
        break;
    }
    case PK_UART: {
        uint64_t start = max64(t, p->free_ns[d2h]);
        p->free_ns[d2h] = start + bytes_ns(wire, rate);
        at = p->free_ns[d2h] + pp->latency_ns;
        break;
    }
    case PK_FT245: {
        /* OUT is ready latency_ns (the host's stack) after it is sent, IN at once (SIWU); both
         * go from the microframe in progress then and arrive at the end of the microframe that
         * carries their last byte. */
        uint64_t status;
        uint64_t k =
            ft_book(p, d2h, (t + (d2h ? 0 : pp->latency_ns)) / pp->microframe_ns, wire, &status);
        bytes += status;
        at = (k + 1) * pp->microframe_ns;
        break;
    }
    default:
        break;
    }
    if (link)
        *link += bytes;
    return at;
}

/* ---- interrupt events ------------------------------------------------------------------- */

static void prof_report(struct kmrig_link *l, unsigned line, int asserted)
{
    struct link_prof *p = l->prof;
    uint64_t at = prof_send(p, 1, now_ns(l), frame_wire(p, KMRIG_PROTO_T_EVT_IRQ, 0), 4, NULL);
    if (p->rcount == PROF_REPORTS) { /* cannot happen with 32 lines; keep the newest state */
        memmove(p->r, p->r + 1, (PROF_REPORTS - 1) * sizeof p->r[0]);
        p->rcount--;
    }
    struct prof_report e = {kmrig_link_ns_to_cycles(l, at), line, asserted};
    unsigned i = p->rcount;
    while (i > 0 && p->r[i - 1].at > e.at) {
        p->r[i] = p->r[i - 1];
        i--;
    }
    p->r[i] = e;
    p->rcount++;
}

/* Notices changes of the device's lines since the last look: each is an EVT_IRQ. */
static void prof_sync(struct kmrig_link *l)
{
    struct link_prof *p = l->prof;
    uint32_t a = 0;
    if (l->ops->irq_pending(l, &a) != KMRIG_LINK_OK)
        return;
    uint32_t changed = a ^ p->dev_active;
    p->dev_active = a;
    while (changed) {
        unsigned n = (unsigned)__builtin_ctz(changed);
        changed &= changed - 1;
        prof_report(l, n, (a >> n) & 1);
    }
}

/* Executes the posted requests and delivers the events that are due by now. */
static void prof_due(struct kmrig_link *l)
{
    struct link_prof *p = l->prof;
    for (;;) {
        uint64_t now = l->ops->now(l);
        if (p->qcount && p->q[p->qhead].at <= now) {
            struct prof_posted e = p->q[p->qhead];
            p->qhead = (p->qhead + 1) % PROF_QUEUE;
            p->qcount--;
            int rc;
            if (e.irq) {
                rc = l->ops->irq_control(l, e.line, (enum kmrig_irq_op)e.op);
                uint32_t a = 0;
                /* The EOI reports a line that is still pending again (section 7). */
                if (rc == KMRIG_LINK_OK && e.op == KMRIG_IRQ_EOI &&
                    l->ops->irq_pending(l, &a) == KMRIG_LINK_OK &&
                    (a & p->dev_active) >> e.line & 1)
                    prof_report(l, e.line, 1);
            } else {
                uint64_t ts;
                rc = l->ops->write(l, e.space, e.addr, e.size, e.value, &ts);
            }
            if (rc != KMRIG_LINK_OK)
                l->stats.errors++; /* silent on the wire, as a posted PCI write */
            prof_sync(l);
            continue;
        }
        if (p->rcount && p->r[0].at <= now) {
            struct prof_report e = p->r[0];
            memmove(p->r, p->r + 1, (p->rcount - 1) * sizeof p->r[0]);
            p->rcount--;
            if (e.asserted)
                p->view |= 1u << e.line;
            else
                p->view &= ~(1u << e.line);
            continue;
        }
        return;
    }
}

/* Runs the device to cycle `target`, executing what arrives on the way. With stop, returns
 * as soon as the host's view of the lines changes. */
static void prof_run(struct kmrig_link *l, uint64_t target, int stop)
{
    struct link_prof *p = l->prof;
    uint32_t view0 = p->view;
    for (;;) {
        prof_sync(l);
        prof_due(l);
        if (stop && p->view != view0)
            return;
        uint64_t now = l->ops->now(l);
        if (now >= target)
            return;
        uint64_t next = target;
        if (p->qcount && p->q[p->qhead].at < next)
            next = p->q[p->qhead].at;
        if (p->rcount && p->r[0].at < next)
            next = p->r[0].at;
        /* Stop at every change of the device's lines, to timestamp its EVT_IRQ exactly. */
        if (!l->ops->advance(l, next - now, 1))
            l->ops->advance(l, 1, 0);
    }
}

static int prof_post(struct kmrig_link *l, struct prof_posted *e, uint64_t wire, uint64_t tlp)
{
    struct link_prof *p = l->prof;
    if (p->qcount == PROF_QUEUE) /* the host waits for the oldest to leave */
        prof_run(l, p->q[p->qhead].at, 0);
    e->at = kmrig_link_ns_to_cycles(l, prof_send(p, 0, now_ns(l), wire, tlp, NULL));
    p->q[(p->qhead + p->qcount) % PROF_QUEUE] = *e;
    p->qcount++;
    return KMRIG_LINK_OK;
}

/* ---- the operations --------------------------------------------------------------------- */

int link_prof_take_arg(char *args, unsigned *index, char *err, size_t n)
{
    *index = 0;
    char out[512];
    size_t o = 0;
    int rc = KMRIG_LINK_OK;
    for (char *tok = args; tok && *tok;) {
        char *comma = strchr(tok, ',');
        size_t len = comma ? (size_t)(comma - tok) : strlen(tok);
        if (len > 8 && !strncmp(tok, "profile=", 8)) {
            unsigned i;
            for (i = 0; i < PROF_COUNT; i++)
                if (strlen(prof_names[i]) == len - 8 && !strncmp(tok + 8, prof_names[i], len - 8))
                    break;
            if (i == PROF_COUNT) {
                if (err && n)
                    snprintf(err, n,
                             "unknown link profile '%.*s' (profiles: ideal pcie ft245 uart)",
                             (int)(len - 8), tok + 8);
                rc = KMRIG_LINK_EINVAL;
            } else {
                *index = i;
            }
        } else if (len && o + len + 1 < sizeof out) {
            if (o)
                out[o++] = ',';
            memcpy(out + o, tok, len);
            o += len;
        }
        tok = comma ? comma + 1 : NULL;
    }
    out[o] = 0;
    strcpy(args, out);
    return rc;
}

int link_prof_open(struct kmrig_link *l, unsigned index)
{
    if (!index)
        return KMRIG_LINK_OK;
    struct link_prof *p = calloc(1, sizeof *p);
    if (!p)
        return KMRIG_LINK_ENOMEM;
    p->kind = index;
    p->p = &prof_table[index];
    l->prof = p;
    uint32_t a = 0;
    if (l->ops->irq_pending(l, &a) == KMRIG_LINK_OK)
        p->dev_active = p->view = a; /* as IRQ_QUERY after HELLO would say */
    return KMRIG_LINK_OK;
}

void link_prof_close(struct kmrig_link *l)
{
    free(l->prof);
    l->prof = NULL;
}

const char *kmrig_link_profile_name(const struct kmrig_link *l)
{
    return prof_names[l->prof ? l->prof->kind : 0];
}

int link_prof_read(struct kmrig_link *l, unsigned space, uint64_t addr, unsigned size,
                   uint32_t *value, uint64_t *ts)
{
    struct link_prof *p = l->prof;
    uint64_t at = prof_send(p, 0, now_ns(l), frame_wire(p, KMRIG_PROTO_T_READ, 0), 0, NULL);
    prof_run(l, kmrig_link_ns_to_cycles(l, at), 0);
    int rc = l->ops->read(l, space, addr, size, value, ts);
    prof_sync(l);
    at = prof_send(p, 1, now_ns(l), frame_wire(p, KMRIG_PROTO_T_READ_RSP, 0), size, NULL);
    prof_run(l, kmrig_link_ns_to_cycles(l, at), 0);
    return rc;
}

int link_prof_write(struct kmrig_link *l, unsigned space, uint64_t addr, unsigned size,
                    uint32_t value, uint64_t *ts)
{
    struct prof_posted e = {
        .addr = addr, .value = value, .space = (uint8_t)space, .size = (uint8_t)size};
    int rc = prof_post(l, &e, frame_wire(l->prof, KMRIG_PROTO_T_WRITE, 0), size);
    *ts = e.at; /* when it will take effect */
    return rc;
}

int link_prof_rmw(struct kmrig_link *l, unsigned space, uint64_t addr, unsigned size, uint32_t mask,
                  uint32_t value, uint32_t *old, uint64_t *ts)
{
    struct link_prof *p = l->prof;
    /* PCIe: an AtomicOp compare-and-swap request carries two operands. */
    uint64_t at = prof_send(p, 0, now_ns(l), frame_wire(p, KMRIG_PROTO_T_RMW, 0), 2 * size, NULL);
    prof_run(l, kmrig_link_ns_to_cycles(l, at), 0);
    int rc = l->ops->read(l, space, addr, size, old, ts);
    if (rc == KMRIG_LINK_OK && mask)
        rc = l->ops->write(l, space, addr, size, (*old & ~mask) | (value & mask), ts);
    prof_sync(l);
    at = prof_send(p, 1, now_ns(l), frame_wire(p, KMRIG_PROTO_T_RMW_RSP, 0), size, NULL);
    prof_run(l, kmrig_link_ns_to_cycles(l, at), 0);
    return rc;
}

int link_prof_irq_pending(struct kmrig_link *l, uint32_t *lines)
{
    prof_run(l, 0, 0); /* what arrived by now */
    *lines = l->prof->view;
    return KMRIG_LINK_OK;
}

int link_prof_irq_control(struct kmrig_link *l, unsigned line, enum kmrig_irq_op op)
{
    if (op == KMRIG_IRQ_EOI)
        l->prof->view &= ~(1u << line); /* the host took the event */
    struct prof_posted e = {.irq = 1, .op = (uint8_t)op, .line = line};
    return prof_post(l, &e, frame_wire(l->prof, KMRIG_PROTO_T_IRQ_CTL, 0), 4);
}

void link_prof_irq_ack(struct kmrig_link *l, unsigned line)
{
    link_prof_irq_control(l, line, KMRIG_IRQ_EOI);
}

uint64_t link_prof_advance(struct kmrig_link *l, uint64_t cycles, int stop_on_irq)
{
    uint64_t start = l->ops->now(l);
    uint64_t target = UINT64_MAX - start < cycles ? UINT64_MAX : start + cycles;
    prof_run(l, target, stop_on_irq);
    return l->ops->now(l) - start;
}

uint64_t link_prof_next_event(struct kmrig_link *l)
{
    struct link_prof *p = l->prof;
    uint64_t now = l->ops->now(l);
    uint64_t next = l->ops->next_event ? l->ops->next_event(l) : UINT64_MAX;
    uint64_t at[2] = {p->qcount ? p->q[p->qhead].at : UINT64_MAX,
                      p->rcount ? p->r[0].at : UINT64_MAX};
    for (int i = 0; i < 2; i++)
        if (at[i] != UINT64_MAX && (at[i] > now ? at[i] - now : 0) < next)
            next = at[i] > now ? at[i] - now : 0;
    return next;
}

uint64_t link_prof_dma(struct kmrig_link *l, int write, size_t size, uint64_t issue)
{
    struct link_prof *p = l->prof;
    unsigned tag = 0;
    for (unsigned i = 1; i < PROF_TAGS; i++)
        if (p->tag_free[i] < p->tag_free[tag])
            tag = i;
    uint64_t t = max64(kmrig_link_cycles_to_ns(l, issue), p->tag_free[tag]);
    uint64_t done;
    /* (request frame d2h, answer frame h2d), and the PCIe payload of each */
    uint64_t rq = frame_wire(p, write ? KMRIG_PROTO_T_DMA_WR_REQ : KMRIG_PROTO_T_DMA_RD_REQ,
                             write ? size : 0);
    uint64_t an = frame_wire(p, write ? KMRIG_PROTO_T_DMA_WR_RSP : KMRIG_PROTO_T_DMA_RD_RSP,
                             write ? 0 : size);
    l->stats.dma_requests++;
    l->stats.dma_payload_bytes += size;
    uint64_t *lb = l->stats.dma_link_bytes;
    if (!write) {
        uint64_t a = prof_send(p, 1, t, rq, 0, &lb[1]);
        done = prof_send(p, 0, a, an, size, &lb[0]);
        p->tag_free[tag] = done;
    } else {
        uint64_t a = prof_send(p, 1, t, rq, size, &lb[1]);
        /* PCIe: a posted memory write needs no answer; elsewhere DMA_WR_RSP frees the tag. */
        p->tag_free[tag] = p->kind == PK_PCIE ? a : prof_send(p, 0, a, an, 0, &lb[0]);
        /* Posted: the port acknowledges the peripheral as soon as the request has a tag, so
         * `done` is the start of the request, not the arrival of its data (which is
         * tag_free[tag] less the answer's trip): a stream of N writes is still moving its
         * last PROF_TAGS requests at the last done. */
        done = t;
    }
    return kmrig_link_ns_to_cycles(l, done);
}

/* The "sim" transport: a Verilator model linked into the program (kmrig/simsoc.h), by default
 * the reference SoC. The model's clock is the time base: it moves only through accesses and
 * kmrig_link_advance().
 *
 * Two fidelities (URI argument fidelity=):
 *   txn     (default) transaction level: host accesses drive the SoC's bus master port
 *           directly, the interrupt unit is the SoC's intc, DMA cycles call the link's handler.
 *   bridge  full bridge: every access is a frame (kmrig/protocol.h) pushed byte by byte
 *           through the bridge RTL (rtl/bridge) and answered by it; interrupts arrive as
 *           EVT_IRQ frames from the bridge's interrupt unit, DMA as DMA_RD_REQ/DMA_WR_REQ frames
 *           that this transport answers from the link's DMA handler. Bytes cost cycles at the
 *           PHY's rate (one byte per clock each way), so accesses take the time they would on
 *           a link that fast (docs/protocol.md, "Full-bridge fidelity"). Only a model whose top
 *           has the bridge (the reference SoC's) offers it.
 *   stream  the bridge model as a board stand-in: a wall-time target driven by the stream
 *           engine (stream.h) exactly as a board over USB is, through a free-running model
 *           pipe (pipes.h). The engine's arguments apply (KMRIG_STREAM_USAGE: timeout= is then
 *           its answer timeout in ms), and fault injection for tests: fault_seed=N,
 *           fault_drop=PPM, fault_corrupt=PPM, fault_dup=PPM, fault_dir=h2d|d2h|both,
 *           fault_cut=BYTES (the pipe is cut after that many bytes), fault_hold=MS (a
 *           read of the pipe blocks up to MS until data comes, as a USB read can).
 *
 * URI arguments, comma-separated: model=NAME (a model linked into the program, kmrig/sim_model.h;
 * default kmrig_soc), waves=PATH (FST file), gap=N (idle cycles between bus cycles), hz=N (clock
 * frequency), noskip (evaluate every cycle), timeout=N (bus timeout in cycles),
 * fidelity=txn|bridge. timeout= is the harness's bus timeout, so it exists at transaction level
 * only (the bridge's is the gateware's, 4096 cycles): with fidelity=bridge it is refused.
 * Example: sim:waves=run.fst,gap=2  sim:fidelity=bridge  sim:model=crcsoc
 *
 * Built into its own library (kmrig::sim) with the model, so that only programs that link it
 * carry the model; the registry in link.c refers to kmrig_link_sim_ops weakly.
 */
#include <kmrig/link.h>
#include <kmrig/link_sim.h>

#include <kmrig/protocol.h>
#include <kmrig/sim_model.h>

#include "pipes.h"
#include "stream.h"
#include "../sim/gen/kmrig_soc_map.h" /* KMRIG_INTC_*: the intc block is the same in every SoC */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The DMA port under a link profile (transaction level): the port moves one word per Wishbone
 * cycle, but a bridge built for a link would buffer the master's sequential words into bursts
 * (docs/protocol.md, sections 8 and 12, "DMA on the sim target"). Reads: a read outside the
 * requested windows starts a stream and requests SIM_DMA_RD_FIRST bytes; a read that continues
 * the stream at the end of its newest window doubles the stream's request size up to 4 KiB (a
 * request never crosses a 4 KiB boundary: it is cut there); entering a 4 KiB window also requests
 * the next one (read-ahead). A word is held until its window's data arrives. Writes: sequential
 * words are collected into one request that ends at a 4 KiB boundary (issued with its last word),
 * at a write that does not continue it, at a read that overlaps it, or when an interrupt line
 * changes (issued at the cycle of its last word: the interrupt's event follows the data on the
 * link); writes are posted, so only a request that waits for a free tag holds the port. Data moves
 * at once, word by word, through the runtime's handler. */
#define SIM_DMA_BURST KMRIG_PROTO_MAX_BURST
#define SIM_DMA_RD_FIRST 64u
#define SIM_DMA_RD_WINDOWS 2u

struct sim_dma_win {
    uint64_t lo, hi, done; /* requested bytes [lo, hi) arrive at cycle done */
};

struct sim_dma {
    uint32_t lines;                            /* interrupt lines as last reported */
    struct sim_dma_win rd[SIM_DMA_RD_WINDOWS]; /* oldest first */
    unsigned nrd;
    uint64_t rd_len; /* the stream's request size: SIM_DMA_RD_FIRST doubling to 4 KiB */
    uint64_t wr_lo, wr_hi, wr_last; /* the write request being collected (wr_hi > wr_lo) */
    uint64_t busy_until;            /* a write request waits for a tag: the next cycle waits */
};

/* Full-bridge fidelity: the host end of the wire protocol. */
struct sim_bridge {
    struct kmrig_link *link;
    uint8_t seq;             /* next host sequence number */
    uint32_t credits;        /* command credits held */
    uint32_t active;         /* pending-and-unmasked lines, from EVT_IRQ */
    uint64_t irq_ts[32];     /* the last assertion's timestamp per line */
    int want_type, want_tag; /* the response being waited for */
    uint32_t ctl_clear;      /* lines an awaited IRQ_CTL (MASK, EOI) takes out of active */
    int got;                 /* ... it arrived: rsp holds it */
    struct kmrig_proto_msg rsp;
    struct kmrig_proto_decoder dec;
    uint8_t buf[KMRIG_PROTO_MAX_FRAME];
};

struct sim {
    struct kmrig_stream *stream; /* fidelity=stream (first member: the engine's hooks find it) */
    struct kmrig_pipe *pipe;     /* ... its pipe (a model pipe, or a fault pipe around one) */
    kmrig_simsoc *m;             /* NULL with fidelity=stream (the pipe owns the model) */
    const struct kmrig_sim_model *model; /* SoC identity, intc window */
    char model_name[64];
    uint32_t mask; /* shadow of the intc's MASK (reset all ones) */
    uint32_t mode; /* shadow of MODE (reset level) */
    char waves[256];
    struct sim_bridge *br; /* fidelity=bridge, else NULL */
    struct sim_dma dma;    /* the DMA port's bursts under a link profile */
};

/* Cycles a bridge request may take before the transport gives up on its answer: the bus
 * timeout of the gateware plus the longest frames each way. */
#define SIM_BRIDGE_WAIT 1000000u

static int sim_code(int rc)
{
    switch (rc) {
    case KMRIG_SIM_OK:
        return KMRIG_LINK_OK;
    case KMRIG_SIM_EINVAL:
        return KMRIG_LINK_EINVAL;
    case KMRIG_SIM_EBUS:
        return KMRIG_LINK_EBUS;
    case KMRIG_SIM_ETIMEOUT:
        return KMRIG_LINK_ETIMEOUT;
    case KMRIG_SIM_ENOMEM:
        return KMRIG_LINK_ENOMEM;
    case KMRIG_SIM_ENOTSUP:
        return KMRIG_LINK_ENOTSUP;
    default:
        return KMRIG_LINK_EIO;
    }
}

static uint64_t u64max(uint64_t a, uint64_t b)
{
    return a > b ? a : b;
}

/* Issues the collected write request (at the cycle of its last word); returns when its tag
 * leaves the port free. */
static uint64_t sim_dma_flush(struct kmrig_link *link, struct sim_dma *d)
{
    if (d->wr_hi == d->wr_lo)
        return 0;
    uint64_t done = kmrig_link_dma_time(link, 1, d->wr_hi - d->wr_lo, d->wr_last);
    d->wr_lo = d->wr_hi = 0;
    d->busy_until = u64max(d->busy_until, done);
    return done;
}

/* Requests the read window [lo, hi) at cycle c, the newest of the stream. */
static void sim_dma_request(struct kmrig_link *link, struct sim_dma *d, uint64_t lo, uint64_t hi,
                            uint64_t c)
{
    if (d->nrd == SIM_DMA_RD_WINDOWS) {
        memmove(d->rd, d->rd + 1, (SIM_DMA_RD_WINDOWS - 1) * sizeof d->rd[0]);
        d->nrd--;
    }
    struct sim_dma_win *w = &d->rd[d->nrd++];
    w->lo = lo;
    w->hi = hi;
    w->done = kmrig_link_dma_time(link, 0, hi - lo, c);
}

static uint64_t boundary(uint64_t a)
{
    return (a / SIM_DMA_BURST + 1) * SIM_DMA_BURST;
}

/* The cycle until which the port holds a read of [a, a + size) issued at c. */
static uint64_t sim_dma_read_time(struct kmrig_link *link, struct sim_dma *d, uint64_t a,
                                  unsigned size, uint64_t c)
{
    if (d->wr_hi != d->wr_lo && a < d->wr_hi && a + size > d->wr_lo)
        sim_dma_flush(link, d); /* the read sees the buffered writes */
    c = u64max(c, d->busy_until);
    unsigned i;
    for (i = 0; i < d->nrd; i++)
        if (a >= d->rd[i].lo && a + size <= d->rd[i].hi)
            break;
    if (i == d->nrd) {
        if (d->nrd && a == d->rd[d->nrd - 1].hi) { /* the stream goes on: a larger request */
            d->rd_len = 2 * d->rd_len < SIM_DMA_BURST ? 2 * d->rd_len : SIM_DMA_BURST;
        } else { /* a new stream */
            d->nrd = 0;
            d->rd_len = SIM_DMA_RD_FIRST;
        }
        uint64_t hi = a + d->rd_len;
        if (hi > boundary(a))
            hi = boundary(a);
        sim_dma_request(link, d, a, hi, c);
        i = d->nrd - 1;
    }
    struct sim_dma_win w = d->rd[i];
    if (a == w.lo && i == d->nrd - 1 && w.hi - w.lo == SIM_DMA_BURST)
        sim_dma_request(link, d, w.hi, w.hi + SIM_DMA_BURST, c); /* read-ahead */
    return w.done;
}

/* The cycle until which the port holds a write of [a, a + size) issued at c. */
static uint64_t sim_dma_write_time(struct kmrig_link *link, struct sim_dma *d, uint64_t a,
                                   unsigned size, uint64_t c)
{
    uint64_t hold = d->busy_until;
    if (d->wr_hi == d->wr_lo || a != d->wr_hi || d->wr_hi % SIM_DMA_BURST == 0) {
        sim_dma_flush(link, d);
        d->wr_lo = a;
    }
    d->wr_hi = a + size;
    d->wr_last = c;
    for (unsigned i = 0; i < d->nrd; i++) /* a later read of these bytes asks again */
        if (a < d->rd[i].hi && a + size > d->rd[i].lo)
            d->nrd = 0;
    if (d->wr_hi % SIM_DMA_BURST == 0)
        hold = u64max(hold, sim_dma_flush(link, d));
    return hold;
}

/* The model's DMA port (dma0 and sysdma through their arbiter) served by the link's DMA entry:
 * the runtime's handler decides from its bus-address table, so a refused address is a bus error
 * (ERR) for the device's master and no host memory is touched. Called by the model inside a
 * link hook (the link's lock is held). The word's byte lanes are packed explicitly, so the
 * host's byte order does not matter. */
static int sim_dma(void *ctx, int write, uint64_t bus_addr, unsigned size, uint32_t *data)
{
    struct kmrig_link *link = ctx;
    struct sim *s = kmrig_link_priv(link);
    uint8_t bytes[4];
    if (size == 0 || size > sizeof bytes)
        return KMRIG_LINK_EINVAL;
    if (write)
        for (unsigned i = 0; i < size; i++)
            bytes[i] = (uint8_t)(*data >> (8 * i));
    int rc;
    if (strcmp(kmrig_link_profile_name(link), "ideal")) {
        uint64_t c = kmrig_simsoc_cycles(s->m);
        uint64_t until = write ? sim_dma_write_time(link, &s->dma, bus_addr, size, c)
                               : sim_dma_read_time(link, &s->dma, bus_addr, size, c);
        kmrig_simsoc_dma_hold(s->m, until);
        rc = kmrig_link_dma_untimed(link, write, bus_addr, bytes, size);
    } else {
        rc = kmrig_link_dma(link, write, bus_addr, bytes, size);
    }
    if (rc == KMRIG_LINK_OK && !write) {
        uint32_t v = 0;
        for (unsigned i = 0; i < size; i++)
            v |= (uint32_t)bytes[i] << (8 * i);
        *data = v;
    }
    return rc;
}

/* fidelity=stream: the engine's arguments (copied to eng) and the fault pipe's. */
static int sim_parse_stream(char *tok, char *val, char *eng, size_t n, struct kmrig_pipe_fault *f,
                            int *faults)
{
    char *end = NULL;
    if (kmrig_stream_is_arg(tok)) {
        size_t used = strlen(eng);
        int k = snprintf(eng + used, n - used, "%s%s%s%s", used ? "," : "", tok, val ? "=" : "",
                         val ? val : "");
        return k < 0 || (size_t)k >= n - used ? KMRIG_LINK_EINVAL : KMRIG_LINK_OK;
    }
    if (!val || strncmp(tok, "fault_", 6))
        return KMRIG_LINK_EINVAL;
    *faults = 1;
    if (!strcmp(tok, "fault_dir")) {
        f->dirs = !strcmp(val, "h2d")    ? KMRIG_PIPE_FAULT_H2D
                  : !strcmp(val, "d2h")  ? KMRIG_PIPE_FAULT_D2H
                  : !strcmp(val, "both") ? KMRIG_PIPE_FAULT_H2D | KMRIG_PIPE_FAULT_D2H
                                         : 0;
        return f->dirs ? KMRIG_LINK_OK : KMRIG_LINK_EINVAL;
    }
    unsigned long long v = strtoull(val, &end, 0);
    if (!*val || *end)
        return KMRIG_LINK_EINVAL;
    if (!strcmp(tok, "fault_seed"))
        f->seed = v;
    else if (!strcmp(tok, "fault_cut"))
        f->cut_after = v;
    else if (!strcmp(tok, "fault_hold") && v <= 60000u)
        f->recv_hold_ms = (unsigned)v;
    else if (v > 1000000u)
        return KMRIG_LINK_EINVAL;
    else if (!strcmp(tok, "fault_drop"))
        f->drop_ppm = (unsigned)v;
    else if (!strcmp(tok, "fault_corrupt"))
        f->corrupt_ppm = (unsigned)v;
    else if (!strcmp(tok, "fault_dup"))
        f->dup_ppm = (unsigned)v;
    else
        return KMRIG_LINK_EINVAL;
    return KMRIG_LINK_OK;
}

static int sim_parse(const char *args, struct kmrig_simsoc_config *cfg, struct sim *s, int *bridge,
                     char *eng, size_t eng_n, struct kmrig_pipe_fault *fault, int *faults)
{
    char buf[512];
    int timeout_set = 0;
    if (strlen(args) >= sizeof buf)
        return KMRIG_LINK_EINVAL;
    strcpy(buf, args);
    /* fidelity=stream changes what the other arguments mean (timeout=): find it first */
    int stream = 0;
    for (const char *p = strstr(args, "fidelity=stream"); p; p = strstr(p + 1, "fidelity=stream"))
        if ((p == args || p[-1] == ',') && (p[15] == 0 || p[15] == ','))
            stream = 1;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        char *val = eq ? eq + 1 : NULL;
        if (eq)
            *eq = 0;
        char *end = NULL;
        if (stream && (kmrig_stream_is_arg(tok) || !strncmp(tok, "fault_", 6))) {
            if (sim_parse_stream(tok, val, eng, eng_n, fault, faults) != KMRIG_LINK_OK)
                return KMRIG_LINK_EINVAL;
        } else if (!strcmp(tok, "model") && val && strlen(val) < sizeof s->model_name) {
            strcpy(s->model_name, val);
        } else if (!strcmp(tok, "waves") && val && strlen(val) < sizeof s->waves) {
            strcpy(s->waves, val);
            cfg->waves_path = s->waves;
        } else if (!strcmp(tok, "noskip") && !val) {
            cfg->no_skip = 1;
        } else if (!strcmp(tok, "gap") && val) {
            unsigned long v = strtoul(val, &end, 0);
            if (*end || v > 255)
                return KMRIG_LINK_EINVAL;
            cfg->idle_gap = (unsigned)v;
        } else if (!strcmp(tok, "hz") && val) {
            unsigned long long v = strtoull(val, &end, 0);
            if (*end || !v)
                return KMRIG_LINK_EINVAL;
            cfg->clock_hz = v;
        } else if (!strcmp(tok, "fidelity") && val) {
            if (!strcmp(val, "bridge"))
                *bridge = 1;
            else if (!strcmp(val, "stream"))
                *bridge = 2;
            else if (!strcmp(val, "txn"))
                *bridge = 0;
            else
                return KMRIG_LINK_EINVAL;
        } else if (!strcmp(tok, "timeout") && val) {
            unsigned long v = strtoul(val, &end, 0);
            if (*end || !v)
                return KMRIG_LINK_EINVAL;
            cfg->bus_timeout = (unsigned)v;
            timeout_set = 1;
        } else {
            return KMRIG_LINK_EINVAL;
        }
    }
    if (*bridge && timeout_set)
        return KMRIG_LINK_EINVAL;
    return KMRIG_LINK_OK;
}

/* ---- full-bridge fidelity ---------------------------------------------------------------- */

static int br_status(unsigned st)
{
    switch (st) {
    case KMRIG_PROTO_ST_OK:
        return KMRIG_LINK_OK;
    case KMRIG_PROTO_ST_BUS:
        return KMRIG_LINK_EBUS;
    case KMRIG_PROTO_ST_TIMEOUT:
        return KMRIG_LINK_ETIMEOUT;
    case KMRIG_PROTO_ST_MALFORMED:
        return KMRIG_LINK_EINVAL;
    case KMRIG_PROTO_ST_UNSUPPORTED:
        return KMRIG_LINK_ENOTSUP;
    default:
        return KMRIG_LINK_EIO;
    }
}

/* Answers a DMA request from the link's DMA handler (IOMMU-like: a refused range is a
 * DMA_FAULT and no host memory is touched). */
static void br_dma(struct sim *s, const struct kmrig_proto_msg *m)
{
    struct sim_bridge *b = s->br;
    uint8_t data[KMRIG_PROTO_MAX_BURST];
    uint8_t f[KMRIG_PROTO_MAX_FRAME];
    const struct kmrig_proto_dma_req *q = &m->u.dma_req;
    int n;
    if (m->type == KMRIG_PROTO_T_DMA_RD_REQ) {
        int rc = kmrig_link_dma(b->link, 0, q->addr, data, q->len);
        n = kmrig_proto_enc_dma_rd_rsp(f, sizeof f, 0, m->tag,
                                       rc ? KMRIG_PROTO_ST_DMA_FAULT : KMRIG_PROTO_ST_OK,
                                       rc ? NULL : data, rc ? 0 : q->len);
    } else {
        memcpy(data, m->data, q->len);
        int rc = kmrig_link_dma(b->link, 1, q->addr, data, q->len);
        n = kmrig_proto_enc_dma_wr_rsp(f, sizeof f, 0, m->tag,
                                       rc ? KMRIG_PROTO_ST_DMA_FAULT : KMRIG_PROTO_ST_OK);
    }
    if (n > 0)
        kmrig_simsoc_phy_send(s->m, f, (size_t)n);
}

/* Takes what the bridge sent and handles every complete frame: events update the interrupt
 * state and the credits, DMA requests are answered at once (section 6, rule 5), and the
 * response being waited for is kept. EVT_ERROR needs no action here: the model's PHY does not
 * lose bytes, and a request that fails on the wire ends in its caller's timeout. */
static void br_pump(struct sim *s)
{
    struct sim_bridge *b = s->br;
    for (;;) {
        size_t n = kmrig_simsoc_phy_recv(s->m, b->buf, sizeof b->buf);
        if (!n)
            return;
        size_t off = 0;
        while (off < n) {
            size_t used = 0;
            struct kmrig_proto_frame fr;
            int got = kmrig_proto_decoder_feed(&b->dec, b->buf + off, n - off, &used, &fr);
            off += used;
            struct kmrig_proto_msg m;
            if (got != 1 || kmrig_proto_parse(&fr, &m) != 0)
                continue;
            switch (m.type) {
            case KMRIG_PROTO_T_EVT_IRQ:
                b->active = m.u.evt_irq.active;
                if ((m.u.evt_irq.state & KMRIG_PROTO_IRQ_STATE_ASSERTED) && m.u.evt_irq.line < 32)
                    b->irq_ts[m.u.evt_irq.line] = m.u.evt_irq.ts;
                break;
            case KMRIG_PROTO_T_EVT_CREDIT:
                b->credits += m.u.credits;
                break;
            case KMRIG_PROTO_T_DMA_RD_REQ:
            case KMRIG_PROTO_T_DMA_WR_REQ:
                br_dma(s, &m);
                break;
            default:
                if (m.type == b->want_type && m.tag == b->want_tag && !b->got) {
                    /* Masking and EOI send no event of their own (section 7): the line leaves
                     * the active set here, in stream order, so that a level line still high,
                     * which the EOI reports again in the frame after this one, comes back. */
                    if (m.type == KMRIG_PROTO_T_IRQ_CTL_RSP &&
                        m.u.result.status == KMRIG_PROTO_ST_OK)
                        b->active &= ~b->ctl_clear;
                    b->rsp = m;
                    b->rsp.data = NULL; /* (points into the decoder; the callers need none) */
                    b->got = 1;
                }
                break;
            }
        }
    }
}

/* Sends one host request and runs the model until its answer (type `rsp`) arrives. Requests
 * wait for command credits first (HELLO costs none). */
static int br_call(struct sim *s, const uint8_t *f, int n, unsigned rsp, int hello)
{
    struct sim_bridge *b = s->br;
    if (n < 0)
        return KMRIG_LINK_EINVAL;
    uint64_t waited = 0;
    while (!hello && b->credits < (uint32_t)n && waited < SIM_BRIDGE_WAIT) {
        waited += kmrig_simsoc_run_until_phy(s->m, SIM_BRIDGE_WAIT - waited);
        br_pump(s);
    }
    if (!hello && b->credits < (uint32_t)n)
        return KMRIG_LINK_ETIMEOUT;
    if (!hello)
        b->credits -= (uint32_t)n;
    b->want_type = (int)rsp;
    b->want_tag = f[KMRIG_PROTO_HDR_TAG_OFF];
    b->got = 0;
    kmrig_simsoc_phy_send(s->m, f, (size_t)n);
    for (waited = 0; !b->got && waited < SIM_BRIDGE_WAIT;) {
        waited += kmrig_simsoc_run_until_phy(s->m, SIM_BRIDGE_WAIT - waited);
        br_pump(s);
    }
    b->want_type = -1;
    return b->got ? KMRIG_LINK_OK : KMRIG_LINK_ETIMEOUT;
}

static int br_hello(struct sim *s)
{
    struct sim_bridge *b = s->br;
    uint8_t f[64];
    b->seq = 0;
    int n = kmrig_proto_enc_hello(f, sizeof f, 0, b->seq++, 0, KMRIG_PROTO_MAX_BURST, 1);
    int rc = br_call(s, f, n, KMRIG_PROTO_T_HELLO_RSP, 1);
    if (rc != KMRIG_LINK_OK)
        return rc;
    const struct kmrig_proto_expect e = {.ver_major = KMRIG_PROTO_VERSION_MAJOR,
                                         .ver_minor = KMRIG_PROTO_VERSION_MINOR,
                                         .soc_id = s->model->soc_id,
                                         .soc_version = s->model->soc_version};
    char msg[256];
    if (kmrig_proto_hello_check(&b->rsp.u.hello_rsp, &e, msg, sizeof msg) != 0)
        return KMRIG_LINK_EMISMATCH;
    b->credits = b->rsp.u.hello_rsp.cmd_credits;
    return KMRIG_LINK_OK;
}

static int br_read(struct sim *s, unsigned space, uint64_t addr, unsigned size, uint32_t *value,
                   uint64_t *ts)
{
    struct sim_bridge *b = s->br;
    uint8_t f[64];
    int n = kmrig_proto_enc_read(f, sizeof f, 0, b->seq++, space, (uint32_t)addr, size);
    int rc = br_call(s, f, n, KMRIG_PROTO_T_READ_RSP, 0);
    *value = 0;
    *ts = kmrig_simsoc_cycles(s->m);
    if (rc != KMRIG_LINK_OK)
        return rc;
    *ts = b->rsp.u.result.ts;
    rc = br_status(b->rsp.u.result.status);
    if (rc == KMRIG_LINK_OK)
        *value = b->rsp.u.result.data;
    return rc;
}

/* Writes ask for WRITE_RSP (flag ACK), so a bus error reaches the caller as on the transaction
 * level. */
static int br_write(struct sim *s, unsigned space, uint64_t addr, unsigned size, uint32_t value,
                    uint64_t *ts)
{
    struct sim_bridge *b = s->br;
    uint8_t f[64];
    int n = kmrig_proto_enc_write(f, sizeof f, KMRIG_PROTO_FLAG_ACK, b->seq++, space,
                                  (uint32_t)addr, size, value);
    int rc = br_call(s, f, n, KMRIG_PROTO_T_WRITE_RSP, 0);
    *ts = kmrig_simsoc_cycles(s->m);
    if (rc != KMRIG_LINK_OK)
        return rc;
    *ts = b->rsp.u.result.ts;
    return br_status(b->rsp.u.result.status);
}

static int br_irq_control(struct sim *s, unsigned line, enum kmrig_irq_op op)
{
    struct sim_bridge *b = s->br;
    uint8_t f[64];
    int n = kmrig_proto_enc_irq_ctl(f, sizeof f, KMRIG_PROTO_FLAG_ACK, b->seq++, (unsigned)op,
                                    1u << line);
    b->ctl_clear = (op == KMRIG_IRQ_MASK || op == KMRIG_IRQ_EOI) ? 1u << line : 0;
    int rc = br_call(s, f, n, KMRIG_PROTO_T_IRQ_CTL_RSP, 0);
    b->ctl_clear = 0;
    return rc != KMRIG_LINK_OK ? rc : br_status(b->rsp.u.result.status);
}

static uint64_t br_advance(struct sim *s, uint64_t cycles, int stop_on_irq)
{
    struct sim_bridge *b = s->br;
    const uint32_t start = b->active;
    uint64_t done = 0;
    br_pump(s);
    while (done < cycles && !(stop_on_irq && b->active != start)) {
        done += kmrig_simsoc_run_until_phy(s->m, cycles - done);
        br_pump(s);
    }
    return done;
}

/* ---- the transport ------------------------------------------------------------------------ */

/* fidelity=stream: the model behind a model pipe (and the fault pipe), driven by the engine. */
static int sim_open_stream(struct kmrig_link *link, struct sim *s,
                           const struct kmrig_simsoc_config *cfg, const char *eng,
                           const struct kmrig_pipe_fault *fault, struct kmrig_link_info *info)
{
    kmrig_simsoc *m;
    int rc = kmrig_simsoc_open_model(s->model_name[0] ? s->model_name : NULL, cfg, &m);
    if (rc == KMRIG_SIM_ENOENT)
        return KMRIG_LINK_EINVAL;
    if (rc != KMRIG_SIM_OK)
        return sim_code(rc);
    s->model = kmrig_simsoc_model(m);
    struct kmrig_pipe *pipe;
    rc = kmrig_pipe_model_open(m, &pipe); /* owns the model from here */
    if (rc == KMRIG_LINK_OK && fault)
        rc = kmrig_pipe_fault_wrap(pipe, fault, &pipe);
    if (rc != KMRIG_LINK_OK)
        return rc;
    s->pipe = pipe;
    rc = kmrig_stream_open(link, pipe, eng, info, &s->stream); /* owns the pipe */
    if (rc != KMRIG_LINK_OK)
        s->pipe = NULL;
    return rc;
}

static int sim_open(struct kmrig_link *link, const char *args, struct kmrig_link_info *info)
{
    struct sim *s = kmrig_link_priv(link);
    struct kmrig_simsoc_config cfg;
    kmrig_simsoc_config_init(&cfg);
    int bridge = 0, faults = 0;
    char eng[512] = "";
    struct kmrig_pipe_fault fault = {0};
    int rc = sim_parse(args, &cfg, s, &bridge, eng, sizeof eng, &fault, &faults);
    if (rc != KMRIG_LINK_OK)
        return rc;
    cfg.bridge = bridge != 0;
    if (bridge == 2)
        return sim_open_stream(link, s, &cfg, eng, faults ? &fault : NULL, info);
    if (bridge) {
        s->br = calloc(1, sizeof *s->br);
        if (!s->br)
            return KMRIG_LINK_ENOMEM;
        s->br->link = link;
        s->br->want_type = -1;
        kmrig_proto_decoder_init(&s->br->dec, 0);
    }
    rc = kmrig_simsoc_open_model(s->model_name[0] ? s->model_name : NULL, &cfg, &s->m);
    if (rc == KMRIG_SIM_ENOENT)
        rc = KMRIG_LINK_EINVAL; /* no such model in this program: the usage names them */
    else
        rc = sim_code(rc);
    if (rc == KMRIG_LINK_OK)
        s->model = kmrig_simsoc_model(s->m);
    if (rc == KMRIG_LINK_OK && bridge) {
        rc = br_hello(s);
        if (rc != KMRIG_LINK_OK)
            kmrig_simsoc_destroy(s->m);
    }
    if (rc != KMRIG_LINK_OK) {
        free(s->br);
        s->br = NULL;
        return rc;
    }
    if (!bridge)
        kmrig_simsoc_set_dma_handler(s->m, sim_dma, link);
    s->mask = (1u << s->model->irq_lines) - 1;
    s->mode = 0;
    info->clock_hz = kmrig_simsoc_clock_hz(s->m);
    info->irq_lines = s->model->irq_lines;
    info->soc_id = s->model->soc_id;
    info->soc_version = s->model->soc_version;
    info->virtual_time = 1;
    snprintf(info->description, sizeof info->description,
             "Verilator model of %s %u.%u.%u @ %llu Hz%s", s->model->top,
             s->model->soc_version >> 24, (s->model->soc_version >> 16) & 0xFF,
             s->model->soc_version & 0xFFFF, (unsigned long long)info->clock_hz,
             bridge ? ", full bridge" : "");
    return KMRIG_LINK_OK;
}

static void sim_close(struct kmrig_link *link)
{
    struct sim *s = kmrig_link_priv(link);
    if (s->stream) {
        kmrig_stream_close(s->stream);
        return;
    }
    kmrig_simsoc_destroy(s->m);
    free(s->br);
}

static int sim_read(struct kmrig_link *link, unsigned space, uint64_t addr, unsigned size,
                    uint32_t *value, uint64_t *ts)
{
    struct sim *s = kmrig_link_priv(link);
    if (s->stream)
        return kmrig_stream_read(link, space, addr, size, value, ts);
    if (s->br)
        return br_read(s, space, addr, size, value, ts);
    int rc = kmrig_simsoc_read(s->m, space == KMRIG_SPACE_IO, (uint32_t)addr, size, value);
    *ts = kmrig_simsoc_cycles(s->m);
    return sim_code(rc);
}

static int sim_write(struct kmrig_link *link, unsigned space, uint64_t addr, unsigned size,
                     uint32_t value, uint64_t *ts)
{
    struct sim *s = kmrig_link_priv(link);
    if (s->stream)
        return kmrig_stream_write(link, space, addr, size, value, ts);
    if (s->br)
        return br_write(s, space, addr, size, value, ts);
    int rc = kmrig_simsoc_write(s->m, space == KMRIG_SPACE_IO, (uint32_t)addr, size, value);
    *ts = kmrig_simsoc_cycles(s->m);
    return sim_code(rc);
}

static int sim_irq_pending(struct kmrig_link *link, uint32_t *lines)
{
    struct sim *s = kmrig_link_priv(link);
    if (s->stream)
        return kmrig_stream_irq_pending(link, lines);
    if (s->br) {
        br_pump(s);
        *lines = s->br->active;
        return KMRIG_LINK_OK;
    }
    *lines = kmrig_simsoc_irq(s->m);
    if (*lines != s->dma.lines) {
        sim_dma_flush(link, &s->dma);
        s->dma.lines = *lines;
    }
    return KMRIG_LINK_OK;
}

static int sim_intc_write(struct sim *s, uint32_t reg, uint32_t value)
{
    return sim_code(
        kmrig_simsoc_write(s->m, s->model->intc_io, s->model->intc_base + reg, 4, value));
}

static int sim_irq_control(struct kmrig_link *link, unsigned line, enum kmrig_irq_op op)
{
    struct sim *s = kmrig_link_priv(link);
    uint32_t bit = 1u << line;
    if (s->stream)
        return kmrig_stream_irq_control(link, line, op);
    if (s->br)
        return br_irq_control(s, line, op);
    switch (op) {
    case KMRIG_IRQ_MASK:
        s->mask |= bit;
        return sim_intc_write(s, KMRIG_INTC_MASK, s->mask);
    case KMRIG_IRQ_UNMASK:
        s->mask &= ~bit;
        return sim_intc_write(s, KMRIG_INTC_MASK, s->mask);
    case KMRIG_IRQ_LEVEL:
        s->mode &= ~bit;
        return sim_intc_write(s, KMRIG_INTC_MODE, s->mode);
    case KMRIG_IRQ_EDGE:
        s->mode |= bit;
        return sim_intc_write(s, KMRIG_INTC_MODE, s->mode);
    case KMRIG_IRQ_EOI:
        return sim_intc_write(s, KMRIG_INTC_EOI, bit);
    }
    return KMRIG_LINK_EINVAL;
}

/* The stream fidelity asks the bridge (IRQ_QUERY); the others cannot without moving the
 * model's time (the intc's registers are read by bus cycles). */
static int sim_irq_query(struct kmrig_link *link, struct kmrig_irq_state *state)
{
    struct sim *s = kmrig_link_priv(link);
    if (s->stream)
        return kmrig_stream_irq_query(link, state);
    return KMRIG_LINK_ENOTSUP;
}

static int sim_irq_timestamp(struct kmrig_link *link, unsigned line, uint64_t *ts)
{
    struct sim *s = kmrig_link_priv(link);
    if (s->stream)
        return kmrig_stream_irq_timestamp(link, line, ts);
    if (s->br) {
        *ts = s->br->irq_ts[line];
        return KMRIG_LINK_OK;
    }
    uint32_t lo = 0, hi = 0;
    uint32_t base = s->model->intc_base + KMRIG_INTC_TS_LO0 + 8 * line;
    int rc = kmrig_simsoc_read(s->m, s->model->intc_io, base, 4, &lo);
    if (rc == KMRIG_SIM_OK)
        rc = kmrig_simsoc_read(s->m, s->model->intc_io, base + 4, 4, &hi);
    *ts = (uint64_t)hi << 32 | lo;
    return sim_code(rc);
}

static uint64_t sim_now(struct kmrig_link *link)
{
    struct sim *s = kmrig_link_priv(link);
    return s->stream ? 0 : kmrig_simsoc_cycles(s->m); /* wall time: no device clock */
}

static uint64_t sim_advance(struct kmrig_link *link, uint64_t cycles, int stop_on_irq)
{
    struct sim *s = kmrig_link_priv(link);
    if (s->stream)
        return 0; /* free-running */
    if (s->br)
        return br_advance(s, cycles, stop_on_irq);
    if (stop_on_irq)
        return kmrig_simsoc_run_until_irq_change(s->m, cycles);
    kmrig_simsoc_run(s->m, cycles);
    return cycles;
}

static uint64_t sim_next_event(struct kmrig_link *link)
{
    struct sim *s = kmrig_link_priv(link);
    if (s->stream)
        return UINT64_MAX;
    uint64_t n = kmrig_simsoc_next_event(s->m);
    return n >= UINT32_MAX ? UINT64_MAX : n;
}

/* The engine's RMW frame with fidelity=stream; the other fidelities do what the core does
 * without the hook (read, then write, under the link's lock). */
static int sim_rmw(struct kmrig_link *link, unsigned space, uint64_t addr, unsigned size,
                   uint32_t mask, uint32_t value, uint32_t *old, uint64_t *ts)
{
    struct sim *s = kmrig_link_priv(link);
    if (s->stream)
        return kmrig_stream_rmw(link, space, addr, size, mask, value, old, ts);
    int rc = sim_read(link, space, addr, size, old, ts);
    if (rc == KMRIG_LINK_OK && mask)
        rc = sim_write(link, space, addr, size, (*old & ~mask) | (value & mask), ts);
    return rc;
}

static int sim_reset(struct kmrig_link *link)
{
    struct sim *s = kmrig_link_priv(link);
    return s->stream ? kmrig_stream_reset(link) : KMRIG_LINK_ENOTSUP;
}

kmrig_simsoc *kmrig_link_sim_model(struct kmrig_link *link)
{
    if (!link || strcmp(kmrig_link_name(link), "sim"))
        return NULL;
    return ((struct sim *)kmrig_link_priv(link))->m;
}

static struct kmrig_pipe *sim_stream_pipe(struct kmrig_link *link)
{
    if (!link || strcmp(kmrig_link_name(link), "sim"))
        return NULL;
    return ((struct sim *)kmrig_link_priv(link))->pipe;
}

int kmrig_link_sim_call(struct kmrig_link *link, void (*fn)(void *ctx, kmrig_simsoc *m), void *ctx)
{
    struct kmrig_pipe *p = sim_stream_pipe(link);
    return p ? kmrig_pipe_model_call(p, fn, ctx) : KMRIG_LINK_EINVAL;
}

int kmrig_link_sim_cut(struct kmrig_link *link)
{
    struct kmrig_pipe *p = sim_stream_pipe(link);
    return p ? kmrig_pipe_fault_cut(p) : KMRIG_LINK_EINVAL;
}

int kmrig_link_sim_fault_stats(struct kmrig_link *link, uint64_t *dropped, uint64_t *corrupted,
                               uint64_t *duplicated)
{
    struct kmrig_pipe *p = sim_stream_pipe(link);
    struct kmrig_pipe_fault_stats st;
    int rc = p ? kmrig_pipe_fault_stats(p, &st) : KMRIG_LINK_EINVAL;
    *dropped = rc ? 0 : st.dropped;
    *corrupted = rc ? 0 : st.corrupted;
    *duplicated = rc ? 0 : st.duplicated;
    return rc;
}

const struct kmrig_link_ops kmrig_link_sim_ops = {
    .name = "sim",
    .summary = "a Verilator model in process, by default the reference SoC (virtual time)",
    .priv_size = sizeof(struct sim),
    .usage = "model=NAME (kmrig_soc, or a user SoC linked into the program), waves=FILE.fst, "
             "gap=0..255, hz=N, noskip, timeout=N, fidelity=txn|bridge|stream; with "
             "fidelity=stream: " KMRIG_STREAM_USAGE ", fault_seed=N, fault_drop=PPM, "
             "fault_corrupt=PPM, fault_dup=PPM, fault_dir=h2d|d2h|both, fault_cut=BYTES; "
             "comma-separated",
    .open = sim_open,
    .close = sim_close,
    .read = sim_read,
    .write = sim_write,
    .irq_pending = sim_irq_pending,
    .irq_control = sim_irq_control,
    .irq_timestamp = sim_irq_timestamp,
    .irq_query = sim_irq_query,
    .now = sim_now,
    .advance = sim_advance,
    .next_event = sim_next_event,
    .rmw = sim_rmw,
    .reset = sim_reset,
};

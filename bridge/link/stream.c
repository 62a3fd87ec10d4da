/* The stream engine (stream.h): the host end of the wire protocol over a byte pipe.
 *
 * State and locks (docs/decisions/0013-stream-engine-threads.md):
 *   mu       the engine's state: the batch of frames not yet sent, the queue of requests that
 *            wait for an answer, credits, interrupt state, statistics. Held for a few
 *            instructions, never across a pipe call or a DMA handler call.
 *   send_mu  the pipe's send(): taken before mu by whoever sends (a hook flushing the batch,
 *            the reader answering DMA or flushing on the timer), so batches leave in order.
 *   ev_mu    the notifier's queue of events.
 * Threads: the reader (recv, answers, DMA), the notifier (events without the link's lock) and
 * the flusher, which sends a batch of posted frames flush_us after its first frame went in, so
 * a posted write never waits for the reader to come back from a recv() that blocks.
 * The hooks run with the link's lock held (one at a time); the reader and the notifier never
 * take it. A hook that waits for an answer sleeps on `cv` (under mu) and is woken by the reader
 * when its answer, a loss, or the link's end is known. */
#define _GNU_SOURCE
#include "stream.h"

#include "link_internal.h"

#include <kmrig/protocol.h>

#include "../sim/gen/kmrig_soc_map.h" /* KMRIG_SOC_ID, KMRIG_SOC_VERSION */

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ST_QUEUE 160u     /* requests waiting for an answer (tags are mod 256) */
#define ST_BATCH 8192u    /* bytes of frames batched before a send */
#define ST_DMA_TAGS 8u    /* DMA requests the host accepts in flight */
#define ST_POLL_US 10000u /* the reader's longest wait in recv() */

#define LOG_ERR 0
#define LOG_WARN 1
#define LOG_INFO 2
#define LOG_DEBUG 3

enum st_state {
    RQ_WAIT = 0, /* sent, no answer yet */
    RQ_DONE,     /* the answer is in rq.res */
    RQ_NOT_RUN,  /* the device dropped the request (a SEQ gap named its tag): safe to send again */
    RQ_LOST,     /* the device ran it but its answer was lost (a later answer came first) */
    RQ_BAD,      /* the answer did not parse */
};

struct st_req {
    uint8_t tag, rsp_type;
    enum st_state state;
    int abandoned;      /* its caller gave up (timeout): the answer is dropped when it comes */
    int posted;         /* a posted request's answer that nobody waits for (ack_posted) */
    uint32_t ctl_clear; /* IRQ_CTL MASK/EOI: lines that leave `active` when the answer comes */
    struct kmrig_proto_result res;
    struct kmrig_proto_irq_state irq;
    struct kmrig_proto_hello_rsp hello;
};

/* What each sequence number carried, to tell what a SEQ gap lost. */
struct st_sent {
    uint8_t type;
    uint8_t space;
    uint32_t addr;
};

struct kmrig_stream {
    struct kmrig_link *link;
    struct kmrig_pipe *pipe;
    /* arguments */
    unsigned timeout_ms, retries, flush_us;
    int crc_wanted, ack_writes;
    int ack_posted; /* a link that can lose frames: posted writes ask for an answer (not waited) */
    struct kmrig_proto_expect expect;
    char flash[128];

    pthread_mutex_t mu, send_mu;
    pthread_cond_t cv;
    /* the batch */
    uint8_t batch[ST_BATCH];
    size_t batch_len;
    uint64_t batch_since_ns; /* when its oldest posted frame went in */
    uint8_t sendbuf[ST_BATCH];
    /* protocol state */
    uint8_t seq;
    unsigned flags;   /* PCRC when the link needs it */
    uint32_t credits; /* command credits held */
    uint32_t max_credits;
    struct st_req q[ST_QUEUE]; /* ring: q[(head + i) % ST_QUEUE], i < count */
    unsigned head, count;
    struct st_sent sent[256];
    uint8_t evt_seq;
    int evt_seq_valid;
    int need_resync; /* a loss was seen: the next hook sends HELLO and IRQ_QUERY first */
    unsigned lost_writes_unreported;
    struct st_sent lost_write;
    uint32_t active;
    uint64_t irq_ts[32];
    uint64_t last_ts;
    int dead; /* 0, or the pipe's error: the link is gone */
    struct kmrig_proto_hello_rsp hello;
    struct kmrig_stream_stats st;

    /* threads */
    pthread_t reader, notifier, flusher;
    int reader_running, notifier_running, flusher_running;
    int stop;                /* under mu: the reader and the flusher end */
    pthread_cond_t flush_cv; /* under mu: the batch got its first frame, or stop */
    pthread_mutex_t ev_mu;
    pthread_cond_t ev_cv;
    unsigned ev_pending; /* 1 << KMRIG_LINK_EV_* */
    int ev_stop;
    struct kmrig_proto_decoder dec;
    uint8_t rxbuf[16384];
};

/* ---- helpers ----------------------------------------------------------------------------- */

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static void deadline_in(struct timespec *ts, uint64_t ns)
{
    uint64_t t = now_ns() + ns;
    ts->tv_sec = (time_t)(t / 1000000000ull);
    ts->tv_nsec = (long)(t % 1000000000ull);
}

static struct kmrig_stream *engine(struct kmrig_link *link)
{
    return *(struct kmrig_stream **)kmrig_link_priv(link);
}

static int status_code(unsigned st)
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

/* The notifier reports ev (mu may be held). */
static void post_event(struct kmrig_stream *s, enum kmrig_link_event ev)
{
    pthread_mutex_lock(&s->ev_mu);
    s->ev_pending |= 1u << ev;
    pthread_cond_signal(&s->ev_cv);
    pthread_mutex_unlock(&s->ev_mu);
}

/* mu held. The pipe failed: the link is gone, every waiter returns EGONE. */
static void go_dead(struct kmrig_stream *s, int rc)
{
    if (s->dead)
        return;
    s->dead = rc ? rc : KMRIG_LINK_EGONE;
    pthread_cond_broadcast(&s->cv);
    pthread_cond_broadcast(&s->flush_cv);
    kmrig_link_log(s->link, LOG_ERR,
                   "%s: the pipe failed (%s): the link is gone, every access fails from now on",
                   s->pipe->description, kmrig_link_strerror(s->dead));
    post_event(s, KMRIG_LINK_EV_GONE);
}

/* ---- sending ----------------------------------------------------------------------------- */

/* send_mu held, mu not held. Sends n bytes of s->sendbuf. */
static int pipe_send(struct kmrig_stream *s, const uint8_t *data, size_t n)
{
    int rc = KMRIG_LINK_OK;
    size_t chunk = s->pipe->send_chunk ? s->pipe->send_chunk : n;
    for (size_t off = 0; off < n && rc == KMRIG_LINK_OK; off += chunk) {
        size_t k = n - off < chunk ? n - off : chunk;
        rc = s->pipe->ops->send(s->pipe, data + off, k, s->timeout_ms * 1000u);
    }
    pthread_mutex_lock(&s->mu);
    s->st.sends++;
    s->st.bytes_tx += n;
    if (rc == KMRIG_LINK_EGONE || rc == KMRIG_LINK_EIO)
        go_dead(s, rc);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* Neither lock held. Sends what is batched. */
static int flush(struct kmrig_stream *s)
{
    pthread_mutex_lock(&s->send_mu);
    pthread_mutex_lock(&s->mu);
    size_t n = s->batch_len;
    memcpy(s->sendbuf, s->batch, n);
    s->batch_len = 0;
    int dead = s->dead;
    pthread_mutex_unlock(&s->mu);
    int rc = dead ? KMRIG_LINK_EGONE : (n ? pipe_send(s, s->sendbuf, n) : KMRIG_LINK_OK);
    pthread_mutex_unlock(&s->send_mu);
    return rc;
}

/* mu held. Waits on cv until `deadline` (absolute); returns nonzero when it passed. */
static int wait_until(struct kmrig_stream *s, const struct timespec *deadline)
{
    return pthread_cond_timedwait(&s->cv, &s->mu, deadline) == ETIMEDOUT;
}

/* mu held. Takes credits for an n-byte request frame, flushing and waiting for EVT_CREDIT as
 * needed (HELLO costs none). Returns 0, EGONE, or ETIMEOUT (then a resync is due). */
static int take_credits(struct kmrig_stream *s, uint32_t n)
{
    if (s->credits >= n)
        goto take;
    s->st.credit_waits++;
    struct timespec dl;
    deadline_in(&dl, (uint64_t)s->timeout_ms * 1000000u);
    while (!s->dead && s->credits < n) {
        if (s->batch_len) {
            pthread_mutex_unlock(&s->mu);
            flush(s);
            pthread_mutex_lock(&s->mu);
            continue;
        }
        if (wait_until(s, &dl))
            break;
    }
    if (s->dead)
        return KMRIG_LINK_EGONE;
    if (s->credits < n) {
        kmrig_link_log(
            s->link, LOG_WARN,
            "%s: no command credits for %u ms (an EVT_CREDIT was lost?): resynchronising",
            s->pipe->description, s->timeout_ms);
        s->need_resync = 1;
        return KMRIG_LINK_ETIMEOUT;
    }
take:
    s->credits -= n;
    return KMRIG_LINK_OK;
}

/* mu held. Appends a host request built by `n` bytes in f (its tag is s->seq, which this
 * advances) to the batch; with rsp_type, queues a waiter and returns its index in *slot.
 * Flushes first when the batch is full. */
static int append(struct kmrig_stream *s, const uint8_t *f, int n, int hello, int rsp_type,
                  unsigned *slot, uint32_t ctl_clear, unsigned space, uint32_t addr)
{
    if (n < 0)
        return KMRIG_LINK_EINVAL;
    if (s->dead)
        return KMRIG_LINK_EGONE;
    if (rsp_type >= 0 && s->count >= ST_QUEUE) {
        /* answers of posted writes fill the queue: let them come */
        struct timespec dl;
        deadline_in(&dl, (uint64_t)s->timeout_ms * 1000000u);
        while (!s->dead && s->count >= ST_QUEUE) {
            if (s->batch_len) {
                pthread_mutex_unlock(&s->mu);
                flush(s);
                pthread_mutex_lock(&s->mu);
                continue;
            }
            if (wait_until(s, &dl))
                break;
        }
        if (s->dead)
            return KMRIG_LINK_EGONE;
        if (s->count >= ST_QUEUE) {
            s->need_resync = 1;
            return KMRIG_LINK_ETIMEOUT;
        }
    }
    if (!hello) {
        int rc = take_credits(s, (uint32_t)n);
        if (rc != KMRIG_LINK_OK)
            return rc;
    }
    while (s->batch_len + (size_t)n > sizeof s->batch) {
        pthread_mutex_unlock(&s->mu);
        flush(s);
        pthread_mutex_lock(&s->mu);
        if (s->dead)
            return KMRIG_LINK_EGONE;
    }
    if (!s->batch_len) {
        s->batch_since_ns = now_ns();
        pthread_cond_signal(&s->flush_cv); /* the flusher times this batch */
    }
    memcpy(s->batch + s->batch_len, f, (size_t)n);
    s->batch_len += (size_t)n;
    uint8_t tag = f[KMRIG_PROTO_HDR_TAG_OFF];
    s->sent[tag].type = f[KMRIG_PROTO_HDR_TYPE_OFF];
    s->sent[tag].space = (uint8_t)space;
    s->sent[tag].addr = addr;
    s->seq = (uint8_t)(tag + 1);
    s->st.frames_tx++;
    if (rsp_type >= 0) {
        unsigned i = (s->head + s->count++) % ST_QUEUE;
        memset(&s->q[i], 0, sizeof s->q[i]);
        s->q[i].tag = tag;
        s->q[i].rsp_type = (uint8_t)rsp_type;
        s->q[i].ctl_clear = ctl_clear;
        *slot = i;
    }
    return KMRIG_LINK_OK;
}

/* mu held. Drops finished entries from the head of the queue (an abandoned entry that is still
 * unanswered stays: a later answer tells that its answer was lost). */
static void queue_trim(struct kmrig_stream *s)
{
    while (s->count && s->q[s->head].state != RQ_WAIT) {
        s->head = (s->head + 1) % ST_QUEUE;
        s->count--;
    }
}

static void lost_write(struct kmrig_stream *s, uint8_t t);

/* mu held. Forgets every outstanding request (HELLO resets the device's sequence): a posted
 * write whose answer never came counts as lost. */
static void queue_forget(struct kmrig_stream *s)
{
    for (unsigned k = 0; k < s->count; k++) {
        struct st_req *r = &s->q[(s->head + k) % ST_QUEUE];
        if (r->state == RQ_WAIT && r->posted)
            lost_write(s, r->tag);
        if (r->state == RQ_WAIT)
            r->state = RQ_LOST;
    }
    s->count = 0;
}

/* mu held. Before a resynchronising HELLO (which must find no request outstanding): sends the
 * batch and waits, at most `timeout`, for the answers still due to live requests. */
static void queue_drain(struct kmrig_stream *s)
{
    pthread_mutex_unlock(&s->mu);
    flush(s);
    pthread_mutex_lock(&s->mu);
    struct timespec dl;
    deadline_in(&dl, (uint64_t)s->timeout_ms * 1000000u);
    for (;;) {
        int live = 0;
        for (unsigned k = 0; k < s->count; k++) {
            struct st_req *r = &s->q[(s->head + k) % ST_QUEUE];
            live |= r->state == RQ_WAIT && !r->abandoned;
        }
        if (!live || s->dead || wait_until(s, &dl))
            break;
    }
}

/* ---- receiving (the reader thread) -------------------------------------------------------- */

/* mu held. The posted request with this tag may not have run (its answer never came, or the
 * device reported it dropped): the next answer its caller's successors get is EIO. */
static void lost_write(struct kmrig_stream *s, uint8_t t)
{
    s->st.lost_writes++;
    s->lost_writes_unreported++;
    s->lost_write = s->sent[t];
    kmrig_link_log(s->link, LOG_ERR,
                   "%s: posted %s (tag %u, %s 0x%x) was lost on the link: the device may not have "
                   "run it",
                   s->pipe->description, kmrig_proto_type_name(s->sent[t].type), (unsigned)t,
                   s->sent[t].space ? "port" : "bus", (unsigned)s->sent[t].addr);
}

/* mu held. An answer of type `type` with tag `tag` came: it belongs to the queued request with
 * that tag; every request queued before it that is still waiting lost its answer. */
static struct st_req *match(struct kmrig_stream *s, uint8_t type, uint8_t tag)
{
    unsigned k;
    for (k = 0; k < s->count; k++) {
        struct st_req *r = &s->q[(s->head + k) % ST_QUEUE];
        if (r->state == RQ_WAIT && r->tag == tag && r->rsp_type == type)
            break;
    }
    if (k == s->count)
        return NULL; /* stale (its request was forgotten) or a duplicate */
    for (unsigned j = 0; j < k; j++) {
        struct st_req *r = &s->q[(s->head + j) % ST_QUEUE];
        if (r->state == RQ_WAIT) {
            r->state = RQ_LOST;
            if (r->posted)
                lost_write(s, r->tag);
            else
                s->st.lost_responses++;
        }
    }
    return &s->q[(s->head + k) % ST_QUEUE];
}

/* mu held. The device's SEQ gap: host frames expected .. received-1 never ran. */
static void seq_gap(struct kmrig_stream *s, uint8_t expected, uint8_t received)
{
    for (uint8_t t = expected; t != received; t++) {
        unsigned type = s->sent[t].type;
        int found = 0;
        for (unsigned k = 0; k < s->count; k++) {
            struct st_req *r = &s->q[(s->head + k) % ST_QUEUE];
            if (r->tag == t && r->state == RQ_WAIT) {
                r->state = r->posted ? RQ_LOST : RQ_NOT_RUN;
                found = !r->posted;
            }
        }
        if (!found && (type == KMRIG_PROTO_T_WRITE || type == KMRIG_PROTO_T_WRITE_BURST ||
                       type == KMRIG_PROTO_T_IRQ_CTL))
            lost_write(s, t);
    }
    pthread_cond_broadcast(&s->cv);
}

/* mu held. Device events: interrupt state, credits, errors; a gap in their sequence means one
 * was lost (the state is re-learned by a resync). */
static void on_event(struct kmrig_stream *s, const struct kmrig_proto_msg *m)
{
    if (s->evt_seq_valid && m->tag != s->evt_seq) {
        s->st.lost_events++;
        s->need_resync = 1;
        kmrig_link_log(s->link, LOG_WARN, "%s: %u device event(s) lost: resynchronising",
                       s->pipe->description, (unsigned)(uint8_t)(m->tag - s->evt_seq));
        post_event(s, KMRIG_LINK_EV_IRQ); /* someone calls irq_pending, which resyncs */
    }
    s->evt_seq = (uint8_t)(m->tag + 1);
    s->evt_seq_valid = 1;
    switch (m->type) {
    case KMRIG_PROTO_T_EVT_IRQ:
        s->st.irq_events++;
        s->active = m->u.evt_irq.active;
        if ((m->u.evt_irq.state & KMRIG_PROTO_IRQ_STATE_ASSERTED) && m->u.evt_irq.line < 32)
            s->irq_ts[m->u.evt_irq.line] = m->u.evt_irq.ts;
        post_event(s, KMRIG_LINK_EV_IRQ);
        break;
    case KMRIG_PROTO_T_EVT_CREDIT:
        s->credits += m->u.credits;
        if (s->credits > s->max_credits)
            s->credits = s->max_credits;
        pthread_cond_broadcast(&s->cv);
        break;
    case KMRIG_PROTO_T_EVT_ERROR:
        s->st.device_errors++;
        if (m->u.evt_error.code == KMRIG_PROTO_EV_ERR_SEQ)
            seq_gap(s, (uint8_t)(m->u.evt_error.info >> 8), (uint8_t)m->u.evt_error.info);
        else
            kmrig_link_log(s->link,
                           m->u.evt_error.code == KMRIG_PROTO_EV_ERR_DMA_TIMEOUT ? LOG_WARN
                                                                                 : LOG_DEBUG,
                           "%s: device error %u (info 0x%x, %u bytes dropped so far)",
                           s->pipe->description, (unsigned)m->u.evt_error.code,
                           (unsigned)m->u.evt_error.info, (unsigned)m->u.evt_error.dropped);
        if (m->u.evt_error.code == KMRIG_PROTO_EV_ERR_OVERFLOW)
            s->need_resync = 1;
        break;
    }
}

/* mu held on entry and exit (dropped meanwhile). A device DMA request: served through the
 * link's DMA handler and answered at once (answers need no credits, section 6 rule 5). */
static void on_dma(struct kmrig_stream *s, const struct kmrig_proto_msg *m)
{
    static const size_t cap = KMRIG_PROTO_MAX_FRAME;
    uint8_t *f = malloc(cap + KMRIG_PROTO_MAX_BURST);
    if (!f)
        return; /* the device times the request out (EVT_ERROR DMA_TIMEOUT) */
    uint8_t *data = f + cap;
    const struct kmrig_proto_dma_req *q = &m->u.dma_req;
    unsigned flags = s->flags;
    int write = m->type == KMRIG_PROTO_T_DMA_WR_REQ;
    if (write)
        memcpy(data, m->data, q->len);
    pthread_mutex_unlock(&s->mu);
    int rc = kmrig_link_dma_async(s->link, write, q->addr, data, q->len);
    unsigned st = rc == KMRIG_LINK_OK ? KMRIG_PROTO_ST_OK : KMRIG_PROTO_ST_DMA_FAULT;
    int n = write ? kmrig_proto_enc_dma_wr_rsp(f, cap, flags, m->tag, st)
                  : kmrig_proto_enc_dma_rd_rsp(f, cap, flags, m->tag, st, rc ? NULL : data,
                                               rc ? 0 : q->len);
    if (n > 0) {
        pthread_mutex_lock(&s->send_mu);
        pipe_send(s, f, (size_t)n);
        pthread_mutex_unlock(&s->send_mu);
    }
    free(f);
    pthread_mutex_lock(&s->mu);
    s->st.frames_tx++;
    s->st.dma_requests++;
    if (rc == KMRIG_LINK_OK)
        s->st.dma_bytes += q->len;
    else
        s->st.dma_faults++;
}

/* mu held. One decoded frame. */
static void on_frame(struct kmrig_stream *s, const struct kmrig_proto_frame *f)
{
    struct kmrig_proto_msg m;
    s->st.frames_rx++;
    int prc = kmrig_proto_parse(f, &m);
    if (prc != 0) {
        /* a response we cannot read fails its request with EIO (section 10) */
        if (f->type & KMRIG_PROTO_TYPE_D2H && !(f->type & KMRIG_PROTO_TYPE_DEV)) {
            struct st_req *r = match(s, f->type, f->tag);
            if (r) {
                r->state = RQ_BAD;
                pthread_cond_broadcast(&s->cv);
            }
        }
        kmrig_link_log(s->link, LOG_WARN, "%s: unreadable %s frame from the device: %s",
                       s->pipe->description, kmrig_proto_type_name(f->type),
                       kmrig_proto_strerror(prc));
        return;
    }
    switch (m.type) {
    case KMRIG_PROTO_T_EVT_IRQ:
    case KMRIG_PROTO_T_EVT_ERROR:
    case KMRIG_PROTO_T_EVT_CREDIT:
        on_event(s, &m);
        return;
    case KMRIG_PROTO_T_DMA_RD_REQ:
    case KMRIG_PROTO_T_DMA_WR_REQ:
        on_dma(s, &m);
        return;
    default:
        break;
    }
    struct st_req *r = match(s, m.type, m.tag);
    if (!r)
        return;
    r->state = RQ_DONE;
    switch (m.type) {
    case KMRIG_PROTO_T_HELLO_RSP:
        r->hello = m.u.hello_rsp;
        break;
    case KMRIG_PROTO_T_IRQ_QUERY_RSP:
        r->irq = m.u.irq_state;
        s->last_ts = m.u.irq_state.ts;
        break;
    case KMRIG_PROTO_T_PING_RSP:
        r->res.ts = m.u.ping_ts;
        s->last_ts = m.u.ping_ts;
        break;
    default:
        r->res = m.u.result;
        s->last_ts = m.u.result.ts;
        /* MASK and EOI send no event of their own (section 7): the line leaves the active set
         * here, in stream order, so that a level line the EOI reports again comes back. */
        if (m.type == KMRIG_PROTO_T_IRQ_CTL_RSP && m.u.result.status == KMRIG_PROTO_ST_OK)
            s->active &= ~r->ctl_clear;
        break;
    }
    if (r->abandoned)
        r->state = RQ_LOST;
    queue_trim(s);
    pthread_cond_broadcast(&s->cv);
}

/* Sends each batch of posted frames flush_us after its first frame went in (a request that
 * waits for its answer flushes at once, and a full batch is sent by whoever fills it). */
static void *flusher_main(void *arg)
{
    struct kmrig_stream *s = arg;
    pthread_mutex_lock(&s->mu);
    while (!s->stop && !s->dead) {
        if (!s->batch_len) {
            pthread_cond_wait(&s->flush_cv, &s->mu);
            continue;
        }
        uint64_t due = s->batch_since_ns + (uint64_t)s->flush_us * 1000u;
        if (now_ns() < due) {
            struct timespec ts = {.tv_sec = (time_t)(due / 1000000000ull),
                                  .tv_nsec = (long)(due % 1000000000ull)};
            pthread_cond_timedwait(&s->flush_cv, &s->mu, &ts);
            continue; /* the batch may have gone, or be a new one, meanwhile */
        }
        pthread_mutex_unlock(&s->mu);
        flush(s);
        pthread_mutex_lock(&s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

static void *reader_main(void *arg)
{
    struct kmrig_stream *s = arg;
    pthread_mutex_lock(&s->mu);
    while (!s->stop && !s->dead) {
        pthread_mutex_unlock(&s->mu);
        long n = s->pipe->ops->recv(s->pipe, s->rxbuf, sizeof s->rxbuf, ST_POLL_US);
        pthread_mutex_lock(&s->mu);
        if (n < 0) {
            go_dead(s, (int)n);
            break;
        }
        s->st.bytes_rx += (uint64_t)n;
        size_t off = 0;
        while (off < (size_t)n && !s->dead) {
            size_t used = 0;
            struct kmrig_proto_frame fr;
            int got =
                kmrig_proto_decoder_feed(&s->dec, s->rxbuf + off, (size_t)n - off, &used, &fr);
            off += used;
            if (got == 1)
                on_frame(s, &fr);
        }
        s->st.crc_errors = s->dec.stats.crc_errors;
        s->st.header_errors = s->dec.stats.header_errors;
        s->st.dropped_bytes = s->dec.stats.dropped_bytes;
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

static void *notifier_main(void *arg)
{
    struct kmrig_stream *s = arg;
    pthread_mutex_lock(&s->ev_mu);
    for (;;) {
        while (!s->ev_pending && !s->ev_stop)
            pthread_cond_wait(&s->ev_cv, &s->ev_mu);
        if (s->ev_stop)
            break;
        unsigned ev = s->ev_pending;
        s->ev_pending = 0;
        pthread_mutex_unlock(&s->ev_mu);
        if (ev & (1u << KMRIG_LINK_EV_IRQ))
            kmrig_link_notify(s->link, KMRIG_LINK_EV_IRQ);
        if (ev & (1u << KMRIG_LINK_EV_GONE))
            kmrig_link_notify(s->link, KMRIG_LINK_EV_GONE);
        pthread_mutex_lock(&s->ev_mu);
    }
    pthread_mutex_unlock(&s->ev_mu);
    return NULL;
}

/* ---- requests ---------------------------------------------------------------------------- */

/* mu held. Waits for the answer of q[slot]; with a PING probe after a silent timeout, tells a
 * request the device never ran (RQ_NOT_RUN) from one whose answer was lost (RQ_LOST). Returns
 * 0 with the entry RQ_DONE, ST_RETRY when the device dropped the request (sending it again is
 * safe), KMRIG_LINK_EIO when it ran and its answer was lost (sending it again is not: a read may
 * pop a FIFO or clear a status), ETIMEOUT, EGONE. */
#define ST_RETRY 1
static int wait_answer(struct kmrig_stream *s, unsigned slot, int probe)
{
    struct timespec dl;
    deadline_in(&dl, (uint64_t)s->timeout_ms * 1000000u);
    struct st_req *r = &s->q[slot];
    while (!s->dead && r->state == RQ_WAIT)
        if (wait_until(s, &dl))
            break;
    if (s->dead)
        return KMRIG_LINK_EGONE;
    if (r->state == RQ_WAIT && probe) {
        /* silence: a PING tells whether the request ran (its answer is lost: the PING's answer
         * comes alone) or was dropped (the device reports a SEQ gap before answering) */
        uint8_t f[32];
        unsigned ps;
        int n = kmrig_proto_enc_ping(f, sizeof f, s->flags, s->seq, NULL, 0);
        int rc = append(s, f, n, 0, KMRIG_PROTO_T_PING_RSP, &ps, 0, 0, 0);
        if (rc == KMRIG_LINK_OK) {
            pthread_mutex_unlock(&s->mu);
            rc = flush(s);
            pthread_mutex_lock(&s->mu);
        }
        if (rc == KMRIG_LINK_OK) {
            deadline_in(&dl, (uint64_t)s->timeout_ms * 1000000u);
            while (!s->dead && s->q[ps].state == RQ_WAIT && r->state == RQ_WAIT)
                if (wait_until(s, &dl))
                    break;
            if (s->q[ps].state == RQ_WAIT)
                s->q[ps].abandoned = 1;
        }
        if (s->dead)
            return KMRIG_LINK_EGONE;
    }
    switch (r->state) {
    case RQ_DONE:
        return KMRIG_LINK_OK;
    case RQ_NOT_RUN:
        r->state = RQ_LOST; /* finished; the caller sends it again */
        queue_trim(s);
        return ST_RETRY;
    case RQ_LOST:
        queue_trim(s);
        return KMRIG_LINK_EIO;
    case RQ_BAD:
        queue_trim(s);
        return KMRIG_LINK_EIO;
    case RQ_WAIT:
    default:
        r->abandoned = 1;
        s->st.timeouts++;
        s->need_resync = 1;
        kmrig_link_log(s->link, LOG_WARN, "%s: no answer to %s (tag %u) within %u ms",
                       s->pipe->description, kmrig_proto_type_name(r->rsp_type ^ 0x40u),
                       (unsigned)r->tag, s->timeout_ms);
        return KMRIG_LINK_ETIMEOUT;
    }
}

static int resync(struct kmrig_stream *s);

/* mu held. A posted write was lost since the last report: EIO (and the log) once, so the loss
 * reaches a caller: the one whose answer came after the loss was known, or the next one. */
static int report_lost_writes(struct kmrig_stream *s)
{
    if (s->lost_writes_unreported) {
        kmrig_link_log(s->link, LOG_ERR,
                       "%s: %u posted write(s) lost on the link (the last: %s 0x%x): this access "
                       "fails so that the loss is not hidden",
                       s->pipe->description, s->lost_writes_unreported,
                       s->lost_write.space ? "port" : "bus", (unsigned)s->lost_write.addr);
        s->lost_writes_unreported = 0;
        return KMRIG_LINK_EIO;
    }
    return KMRIG_LINK_OK;
}

/* mu held. Common start of a hook: the link's end, a pending resync, a lost posted write. */
static int hook_enter(struct kmrig_stream *s)
{
    if (s->dead)
        return KMRIG_LINK_EGONE;
    if (s->need_resync) {
        int rc = resync(s);
        if (rc != KMRIG_LINK_OK)
            return rc;
    }
    return report_lost_writes(s);
}

/* mu held. Sends one request built by build(), waits for its answer, sends it again (up to
 * retries) when the device dropped it. *out receives the answered entry. */
typedef int (*build_fn)(struct kmrig_stream *s, uint8_t *f, size_t cap, const void *arg);

static int call(struct kmrig_stream *s, build_fn build, const void *arg, unsigned rsp_type,
                uint32_t ctl_clear, unsigned space, uint32_t addr, struct st_req *out, int hello)
{
    int rc = ST_RETRY;
    for (unsigned attempt = 0; rc == ST_RETRY && attempt <= s->retries; attempt++) {
        if (attempt)
            s->st.retries++;
        uint8_t f[64];
        int n = build(s, f, sizeof f, arg);
        unsigned slot;
        rc = append(s, f, n, hello, (int)rsp_type, &slot, ctl_clear, space, addr);
        if (rc != KMRIG_LINK_OK)
            return rc;
        pthread_mutex_unlock(&s->mu);
        rc = flush(s);
        pthread_mutex_lock(&s->mu);
        if (rc != KMRIG_LINK_OK && !s->dead) {
            s->q[slot].abandoned = 1;
            s->need_resync = 1;
            return rc;
        }
        rc = wait_answer(s, slot, !hello);
        if (rc == KMRIG_LINK_OK) {
            *out = s->q[slot];
            s->q[slot].state = RQ_LOST; /* consumed */
            queue_trim(s);
            if (!hello) /* what it read may lack the lost write */
                rc = report_lost_writes(s);
        }
    }
    if (rc == ST_RETRY) {
        kmrig_link_log(s->link, LOG_ERR, "%s: %s dropped by the device %u times: giving up",
                       s->pipe->description, kmrig_proto_type_name(rsp_type ^ 0x40u),
                       s->retries + 1);
        rc = KMRIG_LINK_EIO;
    }
    if (rc == KMRIG_LINK_EIO)
        s->need_resync = 1;
    return rc;
}

struct access_arg {
    unsigned space, size;
    uint32_t addr, value, mask;
    unsigned op, lines;
};

static int build_read(struct kmrig_stream *s, uint8_t *f, size_t cap, const void *arg)
{
    const struct access_arg *a = arg;
    return kmrig_proto_enc_read(f, cap, s->flags, s->seq, a->space, a->addr, a->size);
}

static int build_write_ack(struct kmrig_stream *s, uint8_t *f, size_t cap, const void *arg)
{
    const struct access_arg *a = arg;
    return kmrig_proto_enc_write(f, cap, s->flags | KMRIG_PROTO_FLAG_ACK, s->seq, a->space, a->addr,
                                 a->size, a->value);
}

static int build_rmw(struct kmrig_stream *s, uint8_t *f, size_t cap, const void *arg)
{
    const struct access_arg *a = arg;
    return kmrig_proto_enc_rmw(f, cap, s->flags, s->seq, a->space, a->addr, a->size, a->mask,
                               a->value);
}

static int build_irq_ctl(struct kmrig_stream *s, uint8_t *f, size_t cap, const void *arg)
{
    const struct access_arg *a = arg;
    return kmrig_proto_enc_irq_ctl(f, cap, s->flags | KMRIG_PROTO_FLAG_ACK, s->seq, a->op,
                                   a->lines);
}

static int build_irq_query(struct kmrig_stream *s, uint8_t *f, size_t cap, const void *arg)
{
    (void)arg;
    return kmrig_proto_enc_irq_query(f, cap, s->flags, s->seq);
}

static int build_hello(struct kmrig_stream *s, uint8_t *f, size_t cap, const void *arg)
{
    (void)arg;
    uint32_t caps = KMRIG_PROTO_CAP_IRQ | KMRIG_PROTO_CAP_DMA | KMRIG_PROTO_CAP_IO_SPACE |
                    KMRIG_PROTO_CAP_RMW | (s->crc_wanted ? KMRIG_PROTO_CAP_CRC_REQUIRED : 0);
    return kmrig_proto_enc_hello(f, cap, s->flags, s->seq, caps,
                                 ST_DMA_TAGS * KMRIG_PROTO_MAX_BURST, ST_DMA_TAGS);
}

/* mu held. HELLO (resets the device's sequence, credits and event sequence), then IRQ_QUERY to
 * re-learn the interrupt lines. */
static int hello(struct kmrig_stream *s, int first)
{
    struct st_req r;
    int rc = KMRIG_LINK_ETIMEOUT;
    queue_forget(s);
    for (unsigned i = 0; i <= s->retries && rc == KMRIG_LINK_ETIMEOUT; i++) {
        rc = call(s, build_hello, NULL, KMRIG_PROTO_T_HELLO_RSP, 0, 0, 0, &r, 1);
        if (rc == KMRIG_LINK_ETIMEOUT)
            queue_forget(s);
    }
    if (rc != KMRIG_LINK_OK)
        return rc;
    char msg[256];
    if (kmrig_proto_hello_check(&r.hello, &s->expect, msg, sizeof msg) != 0) {
        kmrig_link_log(s->link, LOG_ERR, "%s: %s", s->pipe->description, msg);
        kmrig_link_set_open_error(s->link, "%s: %s", s->pipe->description, msg);
        return KMRIG_LINK_EMISMATCH;
    }
    if (!first && (r.hello.soc_id != s->hello.soc_id || r.hello.build_id != s->hello.build_id)) {
        kmrig_link_log(s->link, LOG_ERR, "%s: another gateware answers after a resync",
                       s->pipe->description);
        return KMRIG_LINK_EMISMATCH;
    }
    s->hello = r.hello;
    if (r.hello.caps & KMRIG_PROTO_CAP_CRC_REQUIRED) {
        s->flags = KMRIG_PROTO_FLAG_PCRC;
        s->dec.options |= KMRIG_PROTO_DEC_REQUIRE_CRC;
        s->ack_posted = 1;
    }
    s->max_credits = s->credits = r.hello.cmd_credits;
    s->evt_seq_valid = 0;
    s->need_resync = 0;
    rc = call(s, build_irq_query, NULL, KMRIG_PROTO_T_IRQ_QUERY_RSP, 0, 0, 0, &r, 0);
    if (rc != KMRIG_LINK_OK)
        return rc;
    s->active = r.irq.pending & ~r.irq.mask;
    return KMRIG_LINK_OK;
}

static int resync(struct kmrig_stream *s)
{
    s->st.resyncs++;
    kmrig_link_log(s->link, LOG_INFO, "%s: resynchronising (HELLO, IRQ_QUERY)",
                   s->pipe->description);
    uint32_t before = s->active;
    queue_drain(s);
    int rc = hello(s, 0);
    if (rc == KMRIG_LINK_OK && s->active != before)
        post_event(s, KMRIG_LINK_EV_IRQ);
    return rc;
}

/* ---- hooks ------------------------------------------------------------------------------- */

int kmrig_stream_read(struct kmrig_link *link, unsigned space, uint64_t addr, unsigned size,
                      uint32_t *value, uint64_t *ts)
{
    struct kmrig_stream *s = engine(link);
    struct access_arg a = {.space = space, .size = size, .addr = (uint32_t)addr};
    struct st_req r;
    *value = 0;
    pthread_mutex_lock(&s->mu);
    *ts = s->last_ts;
    int rc = hook_enter(s);
    if (rc == KMRIG_LINK_OK)
        rc = call(s, build_read, &a, KMRIG_PROTO_T_READ_RSP, 0, space, a.addr, &r, 0);
    if (rc == KMRIG_LINK_OK) {
        *ts = r.res.ts;
        rc = status_code(r.res.status);
        if (rc == KMRIG_LINK_OK)
            *value = r.res.data;
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int kmrig_stream_write(struct kmrig_link *link, unsigned space, uint64_t addr, unsigned size,
                       uint32_t value, uint64_t *ts)
{
    struct kmrig_stream *s = engine(link);
    struct access_arg a = {.space = space, .size = size, .addr = (uint32_t)addr, .value = value};
    pthread_mutex_lock(&s->mu);
    *ts = s->last_ts;
    int rc = hook_enter(s);
    if (rc == KMRIG_LINK_OK && s->ack_writes) {
        struct st_req r;
        rc = call(s, build_write_ack, &a, KMRIG_PROTO_T_WRITE_RSP, 0, space, a.addr, &r, 0);
        if (rc == KMRIG_LINK_OK) {
            *ts = r.res.ts;
            rc = status_code(r.res.status);
        }
    } else if (rc == KMRIG_LINK_OK) {
        uint8_t f[64];
        unsigned slot;
        int n = kmrig_proto_enc_write(f, sizeof f,
                                      s->flags | (s->ack_posted ? KMRIG_PROTO_FLAG_ACK : 0), s->seq,
                                      space, a.addr, size, value);
        rc = append(s, f, n, 0, s->ack_posted ? (int)KMRIG_PROTO_T_WRITE_RSP : -1, &slot, 0, space,
                    a.addr);
        if (rc == KMRIG_LINK_OK && s->ack_posted)
            s->q[slot].posted = 1;
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int kmrig_stream_rmw(struct kmrig_link *link, unsigned space, uint64_t addr, unsigned size,
                     uint32_t mask, uint32_t value, uint32_t *old, uint64_t *ts)
{
    struct kmrig_stream *s = engine(link);
    struct access_arg a = {
        .space = space, .size = size, .addr = (uint32_t)addr, .value = value, .mask = mask};
    struct st_req r;
    *old = 0;
    pthread_mutex_lock(&s->mu);
    *ts = s->last_ts;
    int rc = hook_enter(s);
    if (rc == KMRIG_LINK_OK)
        rc = call(s, build_rmw, &a, KMRIG_PROTO_T_RMW_RSP, 0, space, a.addr, &r, 0);
    if (rc == KMRIG_LINK_OK) {
        *ts = r.res.ts;
        rc = status_code(r.res.status);
        if (rc == KMRIG_LINK_OK)
            *old = r.res.data;
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int kmrig_stream_irq_pending(struct kmrig_link *link, uint32_t *lines)
{
    struct kmrig_stream *s = engine(link);
    pthread_mutex_lock(&s->mu);
    int rc = s->dead ? KMRIG_LINK_EGONE : KMRIG_LINK_OK;
    if (rc == KMRIG_LINK_OK && s->need_resync)
        rc = resync(s);
    *lines = rc == KMRIG_LINK_OK ? s->active : 0;
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int kmrig_stream_irq_control(struct kmrig_link *link, unsigned line, enum kmrig_irq_op op)
{
    struct kmrig_stream *s = engine(link);
    struct access_arg a = {.op = (unsigned)op, .lines = 1u << line};
    uint32_t clear = (op == KMRIG_IRQ_MASK || op == KMRIG_IRQ_EOI) ? 1u << line : 0;
    struct st_req r;
    pthread_mutex_lock(&s->mu);
    int rc = hook_enter(s);
    if (rc == KMRIG_LINK_OK)
        rc = call(s, build_irq_ctl, &a, KMRIG_PROTO_T_IRQ_CTL_RSP, clear, 0, 0, &r, 0);
    if (rc == KMRIG_LINK_OK)
        rc = status_code(r.res.status);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* IRQ_QUERY: the device's view, next to the lines this engine has as pending (`active`). */
int kmrig_stream_irq_query(struct kmrig_link *link, struct kmrig_irq_state *state)
{
    struct kmrig_stream *s = engine(link);
    struct st_req r;
    pthread_mutex_lock(&s->mu);
    int rc = hook_enter(s);
    if (rc == KMRIG_LINK_OK)
        rc = call(s, build_irq_query, NULL, KMRIG_PROTO_T_IRQ_QUERY_RSP, 0, 0, 0, &r, 0);
    if (rc == KMRIG_LINK_OK) {
        state->pending = r.irq.pending;
        state->mask = r.irq.mask;
        state->mode = r.irq.mode;
        state->raw = r.irq.raw;
        state->ts = r.irq.ts;
    }
    state->active = s->active;
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int kmrig_stream_irq_timestamp(struct kmrig_link *link, unsigned line, uint64_t *ts)
{
    struct kmrig_stream *s = engine(link);
    pthread_mutex_lock(&s->mu);
    int rc = s->dead ? KMRIG_LINK_EGONE : KMRIG_LINK_OK;
    *ts = line < 32 ? s->irq_ts[line] : 0;
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int kmrig_stream_reset(struct kmrig_link *link)
{
    struct kmrig_stream *s = engine(link);
    if (!s->pipe->ops->reset)
        return KMRIG_LINK_ENOTSUP;
    if (flush(s) == KMRIG_LINK_EGONE)
        return KMRIG_LINK_EGONE;
    pthread_mutex_lock(&s->send_mu);
    int rc = s->pipe->ops->reset(s->pipe);
    pthread_mutex_unlock(&s->send_mu);
    pthread_mutex_lock(&s->mu);
    if (rc == KMRIG_LINK_OK) {
        memset(s->irq_ts, 0, sizeof s->irq_ts);
        rc = hello(s, 0);
        s->lost_writes_unreported = 0; /* the reset undid every write anyway */
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* ---- open / close ------------------------------------------------------------------------ */

int kmrig_stream_is_arg(const char *key)
{
    static const char *const keys[] = {"timeout", "retries", "flush", "crc",
                                       "ack",     "soc",     "build", "flash"};
    size_t n = strcspn(key, "=");
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (strlen(keys[i]) == n && !strncmp(keys[i], key, n))
            return 1;
    return 0;
}

static int parse_u32(const char *v, unsigned long max, uint32_t *out)
{
    char *end;
    errno = 0;
    unsigned long x = strtoul(v, &end, 0);
    if (!*v || *end || errno || x > max)
        return -1;
    *out = (uint32_t)x;
    return 0;
}

static int parse_args(struct kmrig_stream *s, const char *args)
{
    char buf[512];
    if (strlen(args) >= sizeof buf)
        return KMRIG_LINK_EINVAL;
    strcpy(buf, args);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        char *val = eq ? eq + 1 : NULL;
        if (eq)
            *eq = 0;
        uint32_t v;
        int bad = 0;
        if (!strcmp(tok, "timeout") && val)
            bad = parse_u32(val, 600000, &v) || !v || ((s->timeout_ms = v), 0);
        else if (!strcmp(tok, "retries") && val)
            bad = parse_u32(val, 100, &v) || ((s->retries = v), 0);
        else if (!strcmp(tok, "flush") && val)
            bad = parse_u32(val, 1000000, &v) || ((s->flush_us = v), 0);
        else if (!strcmp(tok, "crc") && !val)
            s->crc_wanted = 1;
        else if (!strcmp(tok, "ack") && !val)
            s->ack_writes = 1;
        else if (!strcmp(tok, "soc") && val && !strcmp(val, "any"))
            s->expect.soc_id = s->expect.soc_version = 0;
        else if (!strcmp(tok, "soc") && val)
            bad = parse_u32(val, UINT32_MAX, &s->expect.soc_id) || ((s->expect.soc_version = 0), 0);
        else if (!strcmp(tok, "build") && val && !strcmp(val, "any"))
            s->expect.build_id = 0;
        else if (!strcmp(tok, "build") && val)
            bad = parse_u32(val, UINT32_MAX, &s->expect.build_id);
        else if (!strcmp(tok, "flash") && val && strlen(val) < sizeof s->flash)
            strcpy(s->flash, val), s->expect.flash_hint = s->flash;
        else
            bad = 1;
        if (bad) {
            kmrig_link_set_open_error(s->link, "bad argument '%s%s%s' (arguments: %s)", tok,
                                      val ? "=" : "", val ? val : "", KMRIG_STREAM_USAGE);
            return KMRIG_LINK_EINVAL;
        }
    }
    return KMRIG_LINK_OK;
}

static void stop_threads(struct kmrig_stream *s)
{
    pthread_mutex_lock(&s->mu);
    s->stop = 1;
    pthread_cond_broadcast(&s->flush_cv);
    pthread_mutex_unlock(&s->mu);
    if (s->flusher_running) {
        pthread_join(s->flusher, NULL);
        s->flusher_running = 0;
    }
    if (s->reader_running) {
        pthread_join(s->reader, NULL);
        s->reader_running = 0;
    }
    if (s->notifier_running) {
        pthread_mutex_lock(&s->ev_mu);
        s->ev_stop = 1;
        pthread_cond_signal(&s->ev_cv);
        pthread_mutex_unlock(&s->ev_mu);
        pthread_join(s->notifier, NULL);
        s->notifier_running = 0;
    }
}

static void destroy(struct kmrig_stream *s)
{
    stop_threads(s);
    s->pipe->ops->close(s->pipe);
    pthread_mutex_destroy(&s->mu);
    pthread_mutex_destroy(&s->send_mu);
    pthread_mutex_destroy(&s->ev_mu);
    pthread_cond_destroy(&s->cv);
    pthread_cond_destroy(&s->ev_cv);
    pthread_cond_destroy(&s->flush_cv);
    free(s);
}

int kmrig_stream_open(struct kmrig_link *link, struct kmrig_pipe *pipe, const char *args,
                      struct kmrig_link_info *info, struct kmrig_stream **out)
{
    *out = NULL;
    struct kmrig_stream *s = calloc(1, sizeof *s);
    if (!s) {
        pipe->ops->close(pipe);
        return KMRIG_LINK_ENOMEM;
    }
    s->link = link;
    s->pipe = pipe;
    s->timeout_ms = 1000;
    s->retries = 2;
    s->flush_us = 200;
    s->expect.ver_major = KMRIG_PROTO_VERSION_MAJOR;
    s->expect.ver_minor = KMRIG_PROTO_VERSION_MINOR;
    s->expect.soc_id = KMRIG_SOC_ID; /* the reference SoC this host was built for */
    s->expect.soc_version = KMRIG_SOC_VERSION;
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->send_mu, NULL);
    pthread_mutex_init(&s->ev_mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cv, &ca);
    pthread_cond_init(&s->flush_cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_cond_init(&s->ev_cv, NULL);
    kmrig_proto_decoder_init(&s->dec, 0);
    int rc = parse_args(s, args ? args : "");
    if (rc != KMRIG_LINK_OK) {
        destroy(s);
        return rc;
    }
    if (s->crc_wanted) {
        s->flags = KMRIG_PROTO_FLAG_PCRC;
        s->ack_posted = 1;
    }
    s->seq = (uint8_t)(now_ns() & 0xFF); /* a stale answer of an earlier session does not match */
    if (pthread_create(&s->reader, NULL, reader_main, s) != 0) {
        destroy(s);
        return KMRIG_LINK_ENOMEM;
    }
    s->reader_running = 1;
    if (pthread_create(&s->notifier, NULL, notifier_main, s) != 0) {
        destroy(s);
        return KMRIG_LINK_ENOMEM;
    }
    s->notifier_running = 1;
    if (pthread_create(&s->flusher, NULL, flusher_main, s) != 0) {
        destroy(s);
        return KMRIG_LINK_ENOMEM;
    }
    s->flusher_running = 1;
    pthread_mutex_lock(&s->mu);
    rc = hello(s, 1);
    if (rc == KMRIG_LINK_ETIMEOUT)
        kmrig_link_set_open_error(link,
                                  "%s: no HELLO answer within %u ms (%u tries): is the kmrig "
                                  "gateware loaded and the board powered?",
                                  pipe->description, s->timeout_ms, s->retries + 1);
    else if (rc == KMRIG_LINK_EGONE || rc == KMRIG_LINK_EIO)
        kmrig_link_set_open_error(link, "%s: %s", pipe->description, kmrig_link_strerror(rc));
    pthread_mutex_unlock(&s->mu);
    if (rc != KMRIG_LINK_OK) {
        destroy(s);
        return rc;
    }
    info->clock_hz = s->hello.clock_hz;
    info->irq_lines = s->hello.irq_lines > 32 ? 32 : s->hello.irq_lines;
    info->soc_id = s->hello.soc_id;
    info->soc_version = s->hello.soc_version;
    info->virtual_time = 0;
    /* Board, build, clock in MHz (the exact figure is clock_hz), then the pipe: the pipe's
       description is the part people look for ("FT232H FT4ABC12 (245 FIFO)"), so it is not
       cut short to make room for digits. */
    snprintf(info->description, sizeof info->description, "%.16s %.32s @ %.6g MHz over ",
             s->hello.board[0] ? s->hello.board : "board", s->hello.build,
             (double)s->hello.clock_hz / 1e6);
    size_t used = strlen(info->description), room = sizeof info->description - 1 - used;
    size_t plen = strnlen(pipe->description, sizeof pipe->description);
    memcpy(info->description + used, pipe->description, plen < room ? plen : room);
    info->description[used + (plen < room ? plen : room)] = 0;
    atomic_store(&link->stream, s);
    *out = s;
    return KMRIG_LINK_OK;
}

void kmrig_stream_close(struct kmrig_stream *s)
{
    if (!s)
        return;
    atomic_store(&s->link->stream, NULL);
    flush(s);
    destroy(s);
}

void kmrig_stream_get_stats(struct kmrig_stream *s, struct kmrig_stream_stats *stats)
{
    pthread_mutex_lock(&s->mu);
    *stats = s->st;
    pthread_mutex_unlock(&s->mu);
}

int kmrig_link_stream_stats(struct kmrig_link *link, struct kmrig_stream_stats *stats)
{
    memset(stats, 0, sizeof *stats);
    struct kmrig_stream *s = link ? atomic_load(&link->stream) : NULL;
    if (!s)
        return KMRIG_LINK_ENOTSUP;
    kmrig_stream_get_stats(s, stats);
    return KMRIG_LINK_OK;
}

/* The "tcp" transport: a target exported by `kmrig serve` on another process or machine
 * (docs/protocol.md, "Remote targets (kmrig serve)"; the messages are in kmrig/link_tcp.h).
 *
 *   tcp://HOST:PORT[,token_file=PATH][,timeout=MS][,batch=0|1]
 *
 * HOST is a name, an IPv4 address or an IPv6 address in brackets ([::1]). The token comes from
 * token_file= (its first line), else $KMRIG_TOKEN. timeout= (default 60000 ms) bounds how long
 * a call waits for the server without hearing from it; then the call fails with
 * KMRIG_LINK_ETIMEOUT and the connection is closed (later calls: KMRIG_LINK_EGONE).
 *
 * Batching (batch=1, the default for wall-time targets): writes and irq_control operations are
 * posted: they are kept
 * in a buffer and sent, in order, with the next request that needs an answer (a read, RMW, an
 * advance, a time or interrupt query), or when the buffer holds 4 KiB. The server executes every
 * request in the order the client issued it, so a read sees every earlier write, as a read
 * pushes posted writes on PCI. A posted request's status is not returned (it returns 0 and the
 * last known device time as its timestamp); one that fails is logged by the server, as a posted
 * write that fails is silent on the wire protocol. batch=0 (the default for virtual-time
 * targets) answers every request: there a write is answered with the time and lines the HAL
 * asks for next anyway, so posting saves no round trip, and the device's DMA during the write
 * stays inside the write, as on a local target (the same trace).
 *
 * Virtual-time targets: every answer carries the device time and the pending interrupt lines
 * after the request, and now() and irq_pending() are answered from them until the next request
 * (nothing moves a virtual-time target between requests), so a register access costs one round
 * trip. Device DMA comes as DMA requests nested in the request that caused it; the reader thread
 * hands each to the waiting caller, which serves it through the link's DMA handler on its own
 * thread (with the link's lock held, as for a local target) and answers it. Wall-time targets: the
 * server pushes interrupt events, which an event thread reports with
 * kmrig_link_notify(KMRIG_LINK_EV_IRQ), and device DMA may arrive while no call is in progress
 * (then the reader thread serves it without the link's lock). A dropped connection (the server
 * gone, the network down) reports KMRIG_LINK_EV_GONE; the call in progress fails with
 * KMRIG_LINK_EGONE.
 *
 * Link profiles are not applied to a tcp:// target (the core refuses profile= for it): the
 * device's DMA runs at the server, which a client-side timing model could not hold.
 */
#define _GNU_SOURCE
#include <kmrig/link.h>
#include <kmrig/link_tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

extern const struct kmrig_link_ops kmrig_link_tcp_ops;

#define TCP_DEFAULT_TIMEOUT_MS 60000u
#define TCP_BATCH_MAX 4096u

struct tcp {
    struct kmrig_link *link;
    int fd;
    unsigned timeout_ms;
    int batch; /* post writes and irq_control */
    int vt;    /* a virtual-time target */
    char where[160];

    pthread_t reader, events;
    int reader_started, events_started;

    /* mu guards the fields up to smu: the answer being waited for, the connection's end, the
     * events for the event thread. */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int want, have;
    struct kmrig_tcp_result rsp;
    const uint8_t *dma_req; /* a nested DMA request for the waiting caller (in rx) */
    int dead;               /* the connection ended */
    int dead_rc;            /* what the call in progress then returns */
    int closing;            /* close() ended it: no GONE event */
    unsigned ev_pending;
    struct timespec last_rx;

    pthread_mutex_t smu; /* one sender at a time (a hook, the reader answering DMA) */

    /* The caller's side (hooks run one at a time under the link's lock). */
    uint8_t out[TCP_BATCH_MAX + 64];
    size_t out_len;
    int cache_valid, lines_ok;
    uint64_t now;
    uint32_t lines;

    uint8_t rx[KMRIG_TCP_MAX_MSG];       /* the reader's */
    uint8_t dma[KMRIG_TCP_MAX_DMA + 16]; /* a DMA answer (the reader's or the caller's) */
};

int kmrig_tcp_send_all(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

int kmrig_tcp_recv_all(int fd, uint8_t *p, size_t n, int deadline_ms)
{
    while (n) {
        if (deadline_ms > 0) {
            struct pollfd pf = {.fd = fd, .events = POLLIN};
            int r = poll(&pf, 1, deadline_ms);
            if (r < 0 && errno == EINTR)
                continue;
            if (r == 0)
                return -2;
        }
        ssize_t k = recv(fd, p, n, 0);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return -1;
        if (k == 0)
            return 0;
        p += k;
        n -= (size_t)k;
    }
    return 1;
}

static uint64_t ms_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (uint64_t)((t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000);
}

/* Ends the connection (mu held): the call in progress returns rc. */
static void tcp_die(struct tcp *t, int rc)
{
    if (!t->dead) {
        t->dead = 1;
        t->dead_rc = rc;
        shutdown(t->fd, SHUT_RDWR);
    }
    pthread_cond_broadcast(&t->cv);
}

static int tcp_send(struct tcp *t, const uint8_t *p, size_t n)
{
    pthread_mutex_lock(&t->smu);
    int rc = kmrig_tcp_send_all(t->fd, p, n);
    pthread_mutex_unlock(&t->smu);
    return rc;
}

/* Serves a DMA request (its body at b, checked) through the link's DMA handler and answers it.
 * Returns -1 when the answer could not be sent. */
static int tcp_serve_dma(struct tcp *t, const uint8_t *b)
{
    int write = b[0] != 0;
    uint32_t size = kmrig_tcp_get32(b + 4);
    uint64_t bus = kmrig_tcp_get64(b + 8), issue = kmrig_tcp_get64(b + 16), done;
    uint8_t *data = t->dma + 9;
    if (write)
        memcpy(data, b + KMRIG_TCP_DMA_REQ_HDR, size);
    int r = kmrig_link_dma_at(t->link, write, bus, data, size, issue, &done);
    size_t body = 4 + (!write && r == KMRIG_LINK_OK ? size : 0);
    kmrig_tcp_header(t->dma, KMRIG_TCP_DMA_RSP, body);
    kmrig_tcp_put32(t->dma + 5, (uint32_t)r);
    return tcp_send(t, t->dma, 5 + body);
}

/* The reader thread: answers, nested DMA requests, events; ends with the connection. */
static void *tcp_reader(void *arg)
{
    struct tcp *t = arg;
    int rc = KMRIG_LINK_EGONE;
    for (;;) {
        uint8_t hdr[4];
        if (kmrig_tcp_recv_all(t->fd, hdr, 4, 0) <= 0)
            break;
        uint32_t len = kmrig_tcp_get32(hdr);
        if (len < 1 || len > KMRIG_TCP_MAX_MSG) {
            rc = KMRIG_LINK_EIO;
            break;
        }
        if (kmrig_tcp_recv_all(t->fd, t->rx, len, 0) <= 0)
            break;
        uint8_t type = t->rx[0];
        const uint8_t *b = t->rx + 1;
        size_t n = len - 1;
        pthread_mutex_lock(&t->mu);
        clock_gettime(CLOCK_MONOTONIC, &t->last_rx);
        pthread_mutex_unlock(&t->mu);
        if (type == KMRIG_TCP_RESULT && n == KMRIG_TCP_RESULT_LEN) {
            pthread_mutex_lock(&t->mu);
            int ok = t->want && !t->have;
            if (ok) {
                kmrig_tcp_get_result(b, &t->rsp);
                t->have = 1;
                pthread_cond_broadcast(&t->cv);
            }
            pthread_mutex_unlock(&t->mu);
            if (!ok) {
                rc = KMRIG_LINK_EIO; /* an answer nobody asked for */
                break;
            }
        } else if (type == KMRIG_TCP_DMA_REQ && n >= KMRIG_TCP_DMA_REQ_HDR) {
            int write = b[0] != 0;
            uint32_t size = kmrig_tcp_get32(b + 4);
            if (b[0] > 1 || !size || size > KMRIG_TCP_MAX_DMA ||
                n != KMRIG_TCP_DMA_REQ_HDR + (write ? size : 0)) {
                rc = KMRIG_LINK_EIO;
                break;
            }
            /* Nested in a call: the caller serves it on its own thread (where the runtime's
             * handler runs for a local target). Else (a wall-time target's device on its own):
             * here. */
            pthread_mutex_lock(&t->mu);
            if (t->want && !t->dead) {
                t->dma_req = b;
                pthread_cond_broadcast(&t->cv);
                while (t->dma_req && !t->dead)
                    pthread_cond_wait(&t->cv, &t->mu);
                pthread_mutex_unlock(&t->mu);
            } else {
                pthread_mutex_unlock(&t->mu);
                if (tcp_serve_dma(t, b) < 0)
                    break;
            }
        } else if (type == KMRIG_TCP_EVENT && n == 1 &&
                   (b[0] == KMRIG_LINK_EV_IRQ || b[0] == KMRIG_LINK_EV_GONE)) {
            if (b[0] == KMRIG_LINK_EV_GONE)
                break; /* the served target dropped: so does this link */
            pthread_mutex_lock(&t->mu);
            t->ev_pending |= 1u << KMRIG_LINK_EV_IRQ;
            pthread_cond_broadcast(&t->cv);
            pthread_mutex_unlock(&t->mu);
        } else {
            /* ERROR (the server closes: it found our stream malformed), or garbage */
            rc = KMRIG_LINK_EIO;
            break;
        }
    }
    pthread_mutex_lock(&t->mu);
    tcp_die(t, rc);
    int closing = t->closing;
    pthread_mutex_unlock(&t->mu);
    if (!closing)
        kmrig_link_notify(t->link, KMRIG_LINK_EV_GONE);
    return NULL;
}

/* Wall-time targets: reports the server's interrupt events from a thread of its own (the event
 * handler may call into the link, whose answers the reader thread delivers). */
static void *tcp_events(void *arg)
{
    struct tcp *t = arg;
    pthread_mutex_lock(&t->mu);
    for (;;) {
        while (!t->ev_pending && !t->dead && !t->closing)
            pthread_cond_wait(&t->cv, &t->mu);
        if (t->dead || t->closing)
            break;
        t->ev_pending = 0;
        pthread_mutex_unlock(&t->mu);
        kmrig_link_notify(t->link, KMRIG_LINK_EV_IRQ);
        pthread_mutex_lock(&t->mu);
    }
    pthread_mutex_unlock(&t->mu);
    return NULL;
}

/* Appends a request to the batch (the caller sends it). */
static void tcp_append(struct tcp *t, uint8_t type, const uint8_t *body, size_t n)
{
    t->out_len += kmrig_tcp_header(t->out + t->out_len, type, n);
    if (n) /* an empty request has no body (NULL) */
        memcpy(t->out + t->out_len, body, n);
    t->out_len += n;
    t->cache_valid = 0; /* any request may move the device */
}

/* Sends the batch without waiting (posted requests only). */
static int tcp_flush(struct tcp *t)
{
    if (!t->out_len)
        return KMRIG_LINK_OK;
    int rc = tcp_send(t, t->out, t->out_len);
    t->out_len = 0;
    if (rc < 0) {
        pthread_mutex_lock(&t->mu);
        tcp_die(t, KMRIG_LINK_EGONE);
        pthread_mutex_unlock(&t->mu);
        return KMRIG_LINK_EGONE;
    }
    return KMRIG_LINK_OK;
}

/* A request that needs an answer: sends it with the batch before it and waits. Returns 0 with
 * *r filled (r->rc is the served link's code), or the transport's failure. */
static int tcp_call(struct tcp *t, uint8_t type, const uint8_t *body, size_t n,
                    struct kmrig_tcp_result *r)
{
    pthread_mutex_lock(&t->mu);
    if (t->dead) {
        pthread_mutex_unlock(&t->mu);
        t->out_len = 0;
        return KMRIG_LINK_EGONE;
    }
    t->want = 1;
    t->have = 0;
    pthread_mutex_unlock(&t->mu);
    tcp_append(t, type, body, n);
    struct timespec sent;
    clock_gettime(CLOCK_MONOTONIC, &sent);
    int rc = tcp_flush(t);
    pthread_mutex_lock(&t->mu);
    while (rc == KMRIG_LINK_OK && !t->have && !t->dead) {
        if (t->dma_req) { /* the device's DMA, nested in this call */
            const uint8_t *req = t->dma_req;
            pthread_mutex_unlock(&t->mu);
            int bad = tcp_serve_dma(t, req) < 0;
            pthread_mutex_lock(&t->mu);
            t->dma_req = NULL;
            pthread_cond_broadcast(&t->cv);
            if (bad)
                tcp_die(t, KMRIG_LINK_EGONE);
            continue;
        }
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 1;
        pthread_cond_timedwait(&t->cv, &t->mu, &until);
        if (t->have || t->dead)
            break;
        uint64_t quiet = ms_since(&sent);
        uint64_t rx = ms_since(&t->last_rx);
        if ((quiet < rx ? quiet : rx) >= t->timeout_ms)
            tcp_die(t, KMRIG_LINK_ETIMEOUT);
    }
    if (rc == KMRIG_LINK_OK && t->have)
        *r = t->rsp;
    else if (rc == KMRIG_LINK_OK)
        rc = t->dead_rc ? t->dead_rc : KMRIG_LINK_EGONE;
    t->dead_rc = KMRIG_LINK_EGONE; /* only the call in progress gets the first code */
    t->want = t->have = 0;
    pthread_mutex_unlock(&t->mu);
    if (rc == KMRIG_LINK_OK && (r->state & KMRIG_TCP_STATE_VALID)) {
        t->cache_valid = 1;
        t->now = r->now;
        t->lines = r->lines;
        t->lines_ok = !(r->state & KMRIG_TCP_STATE_LINES_ERR);
    }
    return rc;
}

/* A request that may be posted: with batching, into the batch; else answered. */
static int tcp_post(struct tcp *t, uint8_t type, uint8_t *body, size_t n, uint64_t *ts)
{
    if (t->batch) {
        body[2] = 0;
        tcp_append(t, type, body, n);
        if (ts)
            *ts = t->now;
        return t->out_len >= TCP_BATCH_MAX ? tcp_flush(t) : KMRIG_LINK_OK;
    }
    body[2] = KMRIG_TCP_F_ANSWER;
    struct kmrig_tcp_result r;
    int rc = tcp_call(t, type, body, n, &r);
    if (rc != KMRIG_LINK_OK)
        return rc;
    if (ts)
        *ts = r.v64;
    return r.rc;
}

static void tcp_access_body(uint8_t *b, unsigned space, uint64_t addr, unsigned size)
{
    b[0] = (uint8_t)space;
    b[1] = (uint8_t)size;
    b[2] = 0;
    b[3] = 0;
    kmrig_tcp_put32(b + 4, (uint32_t)addr);
}

static int tcp_read(struct kmrig_link *link, unsigned space, uint64_t addr, unsigned size,
                    uint32_t *value, uint64_t *ts)
{
    struct tcp *t = kmrig_link_priv(link);
    uint8_t b[8];
    struct kmrig_tcp_result r;
    tcp_access_body(b, space, addr, size);
    int rc = tcp_call(t, KMRIG_TCP_READ, b, sizeof b, &r);
    if (rc != KMRIG_LINK_OK)
        return rc;
    *value = r.value;
    *ts = r.v64;
    return r.rc;
}

static int tcp_write(struct kmrig_link *link, unsigned space, uint64_t addr, unsigned size,
                     uint32_t value, uint64_t *ts)
{
    struct tcp *t = kmrig_link_priv(link);
    uint8_t b[12];
    tcp_access_body(b, space, addr, size);
    kmrig_tcp_put32(b + 8, value);
    return tcp_post(t, KMRIG_TCP_WRITE, b, sizeof b, ts);
}

static int tcp_rmw(struct kmrig_link *link, unsigned space, uint64_t addr, unsigned size,
                   uint32_t mask, uint32_t value, uint32_t *old, uint64_t *ts)
{
    struct tcp *t = kmrig_link_priv(link);
    uint8_t b[16];
    struct kmrig_tcp_result r;
    tcp_access_body(b, space, addr, size);
    kmrig_tcp_put32(b + 8, mask);
    kmrig_tcp_put32(b + 12, value);
    int rc = tcp_call(t, KMRIG_TCP_RMW, b, sizeof b, &r);
    if (rc != KMRIG_LINK_OK)
        return rc;
    *old = r.value;
    *ts = r.v64;
    return r.rc;
}

static int tcp_irq_pending(struct kmrig_link *link, uint32_t *lines)
{
    struct tcp *t = kmrig_link_priv(link);
    if (t->vt && t->cache_valid && t->lines_ok && !t->out_len) {
        *lines = t->lines;
        return KMRIG_LINK_OK;
    }
    struct kmrig_tcp_result r;
    int rc = tcp_call(t, KMRIG_TCP_IRQ_PEND, NULL, 0, &r);
    if (rc != KMRIG_LINK_OK)
        return rc;
    *lines = r.value;
    return r.rc;
}

static int tcp_irq_control(struct kmrig_link *link, unsigned line, enum kmrig_irq_op op)
{
    struct tcp *t = kmrig_link_priv(link);
    uint8_t b[4] = {(uint8_t)line, (uint8_t)op, 0, 0};
    return tcp_post(t, KMRIG_TCP_IRQ_CTL, b, sizeof b, NULL);
}

static int tcp_irq_timestamp(struct kmrig_link *link, unsigned line, uint64_t *ts)
{
    struct tcp *t = kmrig_link_priv(link);
    uint8_t b[4] = {(uint8_t)line, 0, 0, 0};
    struct kmrig_tcp_result r;
    int rc = tcp_call(t, KMRIG_TCP_IRQ_TS, b, sizeof b, &r);
    if (rc != KMRIG_LINK_OK)
        return rc;
    *ts = r.v64;
    return r.rc;
}

static uint64_t tcp_now(struct kmrig_link *link)
{
    struct tcp *t = kmrig_link_priv(link);
    if (!t->vt || (t->cache_valid && !t->out_len))
        return t->vt ? t->now : 0;
    struct kmrig_tcp_result r;
    if (tcp_call(t, KMRIG_TCP_NOW, NULL, 0, &r) == KMRIG_LINK_OK)
        t->now = r.v64;
    return t->now; /* a dropped link: the last time it had */
}

static uint64_t tcp_advance(struct kmrig_link *link, uint64_t cycles, int stop_on_irq)
{
    struct tcp *t = kmrig_link_priv(link);
    if (!t->vt)
        return 0;
    uint8_t b[9];
    kmrig_tcp_put64(b, cycles);
    b[8] = stop_on_irq != 0;
    struct kmrig_tcp_result r;
    if (tcp_call(t, KMRIG_TCP_ADVANCE, b, sizeof b, &r) != KMRIG_LINK_OK)
        return 0;
    return r.v64;
}

static uint64_t tcp_next_event(struct kmrig_link *link)
{
    struct tcp *t = kmrig_link_priv(link);
    struct kmrig_tcp_result r;
    if (!t->vt || tcp_call(t, KMRIG_TCP_NEXT, NULL, 0, &r) != KMRIG_LINK_OK)
        return UINT64_MAX;
    return r.v64;
}

static int tcp_reset(struct kmrig_link *link)
{
    struct tcp *t = kmrig_link_priv(link);
    struct kmrig_tcp_result r;
    int rc = tcp_call(t, KMRIG_TCP_RESET, NULL, 0, &r);
    return rc != KMRIG_LINK_OK ? rc : r.rc;
}

/* ---- open / close ----------------------------------------------------------------------- */

static int tcp_read_token(struct kmrig_link *link, const char *path, char *tok, size_t n)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        kmrig_link_set_open_error(link, "token_file=%s: %s", path, strerror(errno));
        return KMRIG_LINK_EINVAL;
    }
    char line[KMRIG_TCP_MAX_TOKEN + 8];
    if (!fgets(line, sizeof line, f))
        line[0] = 0;
    fclose(f);
    size_t k = strcspn(line, "\r\n");
    line[k] = 0;
    if (!k || k >= n) {
        kmrig_link_set_open_error(link, "token_file=%s: %s", path,
                                  k ? "the token is longer than 256 characters"
                                    : "the file's first line is empty");
        return KMRIG_LINK_EINVAL;
    }
    memcpy(tok, line, k + 1);
    return KMRIG_LINK_OK;
}

/* Splits "HOST:PORT" or "[V6]:PORT". */
static int tcp_split(char *hp, char **host, char **port)
{
    char *colon;
    if (hp[0] == '[') {
        char *close = strchr(hp, ']');
        if (!close || close[1] != ':')
            return -1;
        *close = 0;
        *host = hp + 1;
        colon = close + 1;
    } else {
        colon = strrchr(hp, ':');
        if (!colon)
            return -1;
        *colon = 0;
        *host = hp;
    }
    *port = colon + 1;
    return **host && **port ? 0 : -1;
}

static int tcp_connect(struct kmrig_link *link, struct tcp *t, const char *host, const char *port)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    int g = getaddrinfo(host, port, &hints, &res);
    if (g) {
        kmrig_link_set_open_error(link, "%s: %s", t->where, gai_strerror(g));
        return KMRIG_LINK_EIO;
    }
    int err = 0;
    t->fd = -1;
    for (struct addrinfo *a = res; a && t->fd < 0; a = a->ai_next) {
        int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        int fl = fcntl(fd, F_GETFL);
        fcntl(fd, F_SETFL, fl | O_NONBLOCK);
        int r = connect(fd, a->ai_addr, a->ai_addrlen);
        if (r < 0 && errno == EINPROGRESS) {
            struct pollfd pf = {.fd = fd, .events = POLLOUT};
            socklen_t sl = sizeof err;
            if (poll(&pf, 1, (int)t->timeout_ms) == 1 &&
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl) == 0 && !err)
                r = 0;
            else if (!err)
                err = ETIMEDOUT;
        } else if (r < 0) {
            err = errno;
        }
        if (r < 0) {
            close(fd);
            continue;
        }
        fcntl(fd, F_SETFL, fl);
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        t->fd = fd;
    }
    freeaddrinfo(res);
    if (t->fd < 0) {
        kmrig_link_set_open_error(link, "%s: cannot connect: %s (is `kmrig serve` running there?)",
                                  t->where, strerror(err ? err : ECONNREFUSED));
        return err == ETIMEDOUT ? KMRIG_LINK_ETIMEOUT : KMRIG_LINK_EIO;
    }
    return KMRIG_LINK_OK;
}

/* HELLO, then WELCOME (fills info) or REFUSE. */
static int tcp_handshake(struct kmrig_link *link, struct tcp *t, const char *token,
                         struct kmrig_link_info *info)
{
    uint8_t m[5 + 12 + KMRIG_TCP_MAX_TOKEN];
    size_t tl = strlen(token);
    size_t at = kmrig_tcp_header(m, KMRIG_TCP_HELLO, 12 + tl);
    memcpy(m + at, KMRIG_TCP_MAGIC, 8);
    kmrig_tcp_put16(m + at + 8, KMRIG_TCP_VERSION);
    kmrig_tcp_put16(m + at + 10, (uint16_t)tl);
    memcpy(m + at + 12, token, tl);
    if (kmrig_tcp_send_all(t->fd, m, at + 12 + tl) < 0) {
        kmrig_link_set_open_error(link, "%s: the connection closed at once", t->where);
        return KMRIG_LINK_EIO;
    }
    uint8_t hdr[4];
    int r = kmrig_tcp_recv_all(t->fd, hdr, 4, (int)t->timeout_ms);
    uint32_t len = r == 1 ? kmrig_tcp_get32(hdr) : 0;
    if (r == 1 && (len < 1 || len > KMRIG_TCP_MAX_MSG))
        r = -1;
    if (r == 1)
        r = kmrig_tcp_recv_all(t->fd, t->rx, len, (int)t->timeout_ms);
    if (r != 1) {
        kmrig_link_set_open_error(link, "%s: %s", t->where,
                                  r == -2  ? "no answer to the hello (is it `kmrig serve`?)"
                                  : r == 0 ? "the server closed the connection during the hello"
                                           : "not a kmrig serve answer to the hello");
        return r == -2 ? KMRIG_LINK_ETIMEOUT : KMRIG_LINK_EIO;
    }
    const uint8_t *b = t->rx + 1;
    size_t n = len - 1;
    if (t->rx[0] == KMRIG_TCP_REFUSE && n >= 4) {
        int code = (int32_t)kmrig_tcp_get32(b);
        size_t tn = n - 4 > KMRIG_TCP_MAX_TEXT ? KMRIG_TCP_MAX_TEXT : n - 4;
        kmrig_link_set_open_error(link, "%s: the server refused: %.*s", t->where, (int)tn,
                                  (const char *)b + 4);
        return code < 0 && code >= KMRIG_LINK_EMISMATCH ? code : KMRIG_LINK_EIO;
    }
    if (t->rx[0] != KMRIG_TCP_WELCOME || n != KMRIG_TCP_WELCOME_LEN) {
        kmrig_link_set_open_error(link, "%s: not a kmrig serve answer to the hello", t->where);
        return KMRIG_LINK_EIO;
    }
    if (kmrig_tcp_get16(b) != KMRIG_TCP_VERSION) {
        kmrig_link_set_open_error(link,
                                  "%s: the server speaks protocol version %u, this kmrig %u: "
                                  "use the same kmrig version on both ends",
                                  t->where, kmrig_tcp_get16(b), KMRIG_TCP_VERSION);
        return KMRIG_LINK_EMISMATCH;
    }
    info->clock_hz = kmrig_tcp_get64(b + 4);
    info->irq_lines = kmrig_tcp_get32(b + 12);
    info->soc_id = kmrig_tcp_get32(b + 16);
    info->soc_version = kmrig_tcp_get32(b + 20);
    info->virtual_time = b[24] != 0;
    memcpy(info->description, b + 28, sizeof info->description);
    info->description[sizeof info->description - 1] = 0;
    return KMRIG_LINK_OK;
}

static int tcp_open(struct kmrig_link *link, const char *args, struct kmrig_link_info *info)
{
    struct tcp *t = kmrig_link_priv(link);
    char buf[512], token[KMRIG_TCP_MAX_TOKEN + 1] = "";
    char *host, *port, *save = NULL;
    t->link = link;
    t->fd = -1;
    t->timeout_ms = TCP_DEFAULT_TIMEOUT_MS;
    t->batch = -1; /* by the target: see the top of the file */
    snprintf(buf, sizeof buf, "%s", args);
    char *hp = strtok_r(buf, ",", &save);
    if (!hp) {
        kmrig_link_set_open_error(link, "tcp://: no HOST:PORT given");
        return KMRIG_LINK_EINVAL;
    }
    snprintf(t->where, sizeof t->where, "tcp://%s", hp);
    if (tcp_split(hp, &host, &port) < 0) {
        kmrig_link_set_open_error(link, "%s: expected HOST:PORT ([ADDR]:PORT for IPv6)", t->where);
        return KMRIG_LINK_EINVAL;
    }
    const char *token_file = NULL;
    for (char *a = strtok_r(NULL, ",", &save); a; a = strtok_r(NULL, ",", &save)) {
        char *end = NULL;
        if (!strncmp(a, "token_file=", 11) && a[11]) {
            token_file = a + 11;
        } else if (!strncmp(a, "timeout=", 8)) {
            unsigned long v = strtoul(a + 8, &end, 10);
            if (!a[8] || *end || !v || v > 3600000)
                return KMRIG_LINK_EINVAL;
            t->timeout_ms = (unsigned)v;
        } else if (!strcmp(a, "batch=0") || !strcmp(a, "batch=1")) {
            t->batch = a[6] == '1';
        } else {
            kmrig_link_set_open_error(link, "%s: unknown argument '%s' (arguments: %s)", t->where,
                                      a, kmrig_link_tcp_ops.usage);
            return KMRIG_LINK_EINVAL;
        }
    }
    int rc;
    if (token_file) {
        if ((rc = tcp_read_token(link, token_file, token, sizeof token)) != KMRIG_LINK_OK)
            return rc;
    } else if (getenv("KMRIG_TOKEN")) {
        const char *e = getenv("KMRIG_TOKEN");
        if (strlen(e) > KMRIG_TCP_MAX_TOKEN) {
            kmrig_link_set_open_error(link, "$KMRIG_TOKEN is longer than 256 characters");
            return KMRIG_LINK_EINVAL;
        }
        strcpy(token, e);
    }
    if ((rc = tcp_connect(link, t, host, port)) != KMRIG_LINK_OK)
        return rc;
    rc = tcp_handshake(link, t, token, info);
    if (rc == KMRIG_LINK_EINVAL && !token[0])
        kmrig_link_set_open_error(link,
                                  "%s: the server wants a token and none was given: add "
                                  "token_file=PATH (the file `kmrig serve` printed) or set "
                                  "$KMRIG_TOKEN",
                                  t->where);
    if (rc != KMRIG_LINK_OK) {
        close(t->fd);
        return rc;
    }
    t->vt = info->virtual_time;
    if (t->batch < 0)
        t->batch = !t->vt;
    pthread_mutex_init(&t->mu, NULL);
    pthread_mutex_init(&t->smu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_cond_init(&t->cv, &ca);
    pthread_condattr_destroy(&ca);
    clock_gettime(CLOCK_MONOTONIC, &t->last_rx);
    if (pthread_create(&t->reader, NULL, tcp_reader, t) == 0)
        t->reader_started = 1;
    if (t->reader_started && !t->vt && pthread_create(&t->events, NULL, tcp_events, t) == 0)
        t->events_started = 1;
    if (!t->reader_started || (!t->vt && !t->events_started)) {
        pthread_mutex_lock(&t->mu);
        t->closing = 1;
        tcp_die(t, KMRIG_LINK_ENOMEM);
        pthread_mutex_unlock(&t->mu);
        if (t->reader_started)
            pthread_join(t->reader, NULL);
        close(t->fd);
        pthread_mutex_destroy(&t->mu);
        pthread_mutex_destroy(&t->smu);
        pthread_cond_destroy(&t->cv);
        return KMRIG_LINK_ENOMEM;
    }
    return KMRIG_LINK_OK;
}

/* Sends what is posted and BYE, then ends the connection and the threads. (An event handler
 * still running when the link closes must not wait for the link: the HAL removes its handler
 * before it closes the link.) */
static void tcp_close(struct kmrig_link *link)
{
    struct tcp *t = kmrig_link_priv(link);
    pthread_mutex_lock(&t->mu);
    int dead = t->dead;
    t->closing = 1;
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
    if (!dead) {
        tcp_append(t, KMRIG_TCP_BYE, NULL, 0);
        tcp_flush(t);
    }
    pthread_mutex_lock(&t->mu);
    tcp_die(t, KMRIG_LINK_EGONE);
    pthread_mutex_unlock(&t->mu);
    pthread_join(t->reader, NULL);
    if (t->events_started)
        pthread_join(t->events, NULL);
    close(t->fd);
    pthread_mutex_destroy(&t->mu);
    pthread_mutex_destroy(&t->smu);
    pthread_cond_destroy(&t->cv);
}

const struct kmrig_link_ops kmrig_link_tcp_ops = {
    .name = "tcp",
    .summary = "a target exported by `kmrig serve` over TCP",
    .priv_size = sizeof(struct tcp),
    .usage = "tcp://HOST:PORT, then token_file=PATH (else $KMRIG_TOKEN), timeout=MS (default "
             "60000), batch=0|1 (post writes and interrupt operations; default 1 on wall-time "
             "targets, 0 on "
             "virtual-time ones); comma-separated",
    .open = tcp_open,
    .close = tcp_close,
    .read = tcp_read,
    .write = tcp_write,
    .irq_pending = tcp_irq_pending,
    .irq_control = tcp_irq_control,
    .irq_timestamp = tcp_irq_timestamp,
    .now = tcp_now,
    .advance = tcp_advance,
    .next_event = tcp_next_event,
    .rmw = tcp_rmw,
    .reset = tcp_reset,
};

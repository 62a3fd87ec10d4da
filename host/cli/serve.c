/*
 * serve.c - `kmrig serve`: exports a target over TCP (docs/cli.md, "kmrig serve"; the protocol is
 * docs/protocol.md, "Remote targets (kmrig serve)", and kmrig/link_tcp.h).
 *
 * The server opens the target with kmrig_link_open and executes its client's link operations
 * on it, so any target can be served, a model on its virtual time included. One client at a
 * time: an acceptor thread hands a new connection to the main thread when no client is
 * connected, and refuses it (after reading its hello: "busy", or "wrong token") otherwise. A
 * session has a reader thread that queues the client's requests and delivers the answers to the
 * device's DMA requests; the main thread executes the requests in order and answers them. The
 * device's DMA (the served link's DMA handler) becomes DMA requests to the client, nested in the
 * request that caused them; events of a wall-time target (interrupts, link loss) are pushed.
 * After each client the target is reset (its reset hook) or, without one (sim), reopened, so the
 * next client starts on a fresh target as a local run would.
 */
#define _GNU_SOURCE
#include "cli.h"

#include <kmrig/link.h>
#include <kmrig/link_tcp.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char serve_help[] =
    "usage: kmrig serve [--target URI] [--listen ADDR:PORT] [--token-file FILE]\n"
    "\n"
    "Exports a target over TCP so that `kmrig run`, `kmrig info` or a harness on another machine\n"
    "(or in another process) uses it as --target tcp://ADDR:PORT. The server opens the target\n"
    "and executes the client's operations on it: a model keeps its virtual time, so a run over\n"
    "tcp:// on the model gives the same results as a local one. One client at a time; another is\n"
    "refused while one is connected. After each client the target is reset (a model: opened\n"
    "again), so every client starts on a fresh target.\n"
    "\n"
    "options:\n"
    "  --target URI       what to export: sim (default; or $KMRIG_TARGET), loop, a board URI.\n"
    "                     Not a link profile: clients' timing is the network's\n"
    "  --listen ADDR:PORT where to listen (default 127.0.0.1:0). Port 0 picks a free port; the\n"
    "                     address and port are printed. An address other than loopback makes\n"
    "                     the target reachable from other machines: a warning says so\n"
    "  --token-file FILE  the token clients must present (its first line). Else $KMRIG_TOKEN;\n"
    "                     else a new random token is written to a file only you can read, whose\n"
    "                     name is printed. The server never runs without a token\n"
    "  --fault-drop-after N\n"
    "                     (testing) close the first client's connection without a word after\n"
    "                     its Nth request, as a network failure would\n"
    "\n"
    "Clients give the token with tcp://ADDR:PORT,token_file=FILE or $KMRIG_TOKEN. Ctrl-C or\n"
    "SIGTERM stops the server (a connected client sees the link drop). docs/security.md says\n"
    "what a holder of the token can do.\n"
    "\n"
    "exit status: 0 stopped by a signal, 2 usage error, 4 could not listen or read the token,\n"
    "77 the target did not open\n";

#define SERVE_HELLO_MS 5000
#define SERVE_DMA_MS 60000
#define SERVE_MAX_REFUSERS 16
#define SERVE_QUEUE_MAX (1u << 20) /* bytes of requests queued ahead of the executor */

static atomic_int g_serve_stop; /* a lock-free atomic: safe in a signal handler */

static void serve_on_signal(int sig)
{
    g_serve_stop = sig;
}

struct serve_msg {
    struct serve_msg *next;
    uint8_t type;
    uint32_t n;
    uint8_t body[];
};

struct serve_session {
    int fd;
    char peer[80];
    pthread_t reader;
    pthread_mutex_t mu; /* guards the queue, the DMA answer and closed */
    pthread_cond_t cv;
    struct serve_msg *head, *tail;
    size_t queued;
    int closed;    /* the reader ended: EOF, an error, malformed input */
    char why[224]; /* ... why, for the log */
    int dma_wait, dma_have;
    int32_t dma_rc;
    uint32_t dma_len;
    uint8_t dma_data[KMRIG_TCP_MAX_DMA];
    pthread_mutex_t smu; /* one sender at a time */
};

struct serve {
    const char *uri;
    struct kmrig_link *link; /* NULL when it could not be opened again */
    int vt;
    char token[KMRIG_TCP_MAX_TOKEN];
    size_t token_len;
    int listen_fd;
    unsigned long drop_after;
    pthread_mutex_t mu; /* guards the fields below */
    pthread_cond_t cv;
    int busy;       /* the main thread serves a connection (its hello, its session) */
    int ending;     /* ... whose client has left: the target is being made fresh */
    int pending_fd; /* handed to the main thread */
    char pending_peer[80];
    struct serve_session *session;
    atomic_int refusers;
    atomic_int target_gone;
    pthread_mutex_t dma_mu; /* one DMA request to the client at a time */
};

static void serve_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void serve_log(const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "kmrig serve: %s\n", line);
}

static void serve_send_text(int fd, uint8_t type, int code, const char *text)
{
    uint8_t m[5 + 4 + KMRIG_TCP_MAX_TEXT];
    size_t tl = strlen(text);
    if (tl > KMRIG_TCP_MAX_TEXT)
        tl = KMRIG_TCP_MAX_TEXT;
    size_t lead = type == KMRIG_TCP_REFUSE ? 4 : 0;
    size_t at = kmrig_tcp_header(m, type, lead + tl);
    if (lead)
        kmrig_tcp_put32(m + at, (uint32_t)code);
    memcpy(m + at + lead, text, tl);
    kmrig_tcp_send_all(fd, m, at + lead + tl);
}

/* Compares the presented token with the server's in time that does not depend on where they
 * differ (nor on the presented token's length up to the maximum). */
static int serve_token_ok(const struct serve *sv, const uint8_t *tok, size_t n)
{
    uint8_t a[KMRIG_TCP_MAX_TOKEN] = {0}, b[KMRIG_TCP_MAX_TOKEN] = {0};
    volatile unsigned diff = (unsigned)(n ^ sv->token_len);
    memcpy(a, tok, n);
    memcpy(b, sv->token, sv->token_len);
    for (size_t i = 0; i < sizeof a; i++)
        diff |= (unsigned)(a[i] ^ b[i]);
    return diff == 0 && sv->token_len > 0;
}

enum serve_hello { HELLO_OK, HELLO_BAD_TOKEN, HELLO_VERSION, HELLO_NOT_KMRIG, HELLO_SILENT };

static enum serve_hello serve_read_hello(const struct serve *sv, int fd, unsigned *version)
{
    uint8_t hdr[4], m[12 + KMRIG_TCP_MAX_TOKEN];
    int r = kmrig_tcp_recv_all(fd, hdr, 4, SERVE_HELLO_MS);
    if (r != 1)
        return HELLO_SILENT;
    uint32_t len = kmrig_tcp_get32(hdr);
    uint8_t type;
    if (len < 13 || len > 1 + sizeof m || kmrig_tcp_recv_all(fd, &type, 1, SERVE_HELLO_MS) != 1 ||
        type != KMRIG_TCP_HELLO || kmrig_tcp_recv_all(fd, m, len - 1, SERVE_HELLO_MS) != 1 ||
        memcmp(m, KMRIG_TCP_MAGIC, 8))
        return HELLO_NOT_KMRIG;
    *version = kmrig_tcp_get16(m + 8);
    size_t tl = kmrig_tcp_get16(m + 10);
    if (tl != len - 13)
        return HELLO_NOT_KMRIG;
    if (*version != KMRIG_TCP_VERSION)
        return HELLO_VERSION;
    return serve_token_ok(sv, m + 12, tl) ? HELLO_OK : HELLO_BAD_TOKEN;
}

/* Answers a hello that will not be served; returns 1 if the client may be told more. */
static int serve_refuse_hello(int fd, const char *peer, enum serve_hello h, unsigned version)
{
    char text[200];
    switch (h) {
    case HELLO_BAD_TOKEN:
        serve_log("client %s refused: wrong token", peer);
        serve_send_text(fd, KMRIG_TCP_REFUSE, KMRIG_LINK_EINVAL,
                        "wrong token (give the server's token with token_file=PATH or "
                        "$KMRIG_TOKEN)");
        return 0;
    case HELLO_VERSION:
        serve_log("client %s refused: protocol version %u", peer, version);
        snprintf(text, sizeof text,
                 "the client speaks protocol version %u, this server %u: use the same kmrig "
                 "version on both ends",
                 version, KMRIG_TCP_VERSION);
        serve_send_text(fd, KMRIG_TCP_REFUSE, KMRIG_LINK_EMISMATCH, text);
        return 0;
    case HELLO_NOT_KMRIG:
        serve_log("client %s closed: not a kmrig client (no valid hello)", peer);
        return 0;
    case HELLO_SILENT:
        serve_log("client %s closed: no hello within %d ms", peer, SERVE_HELLO_MS);
        return 0;
    case HELLO_OK:
        break;
    }
    return 1;
}

/* Closes a refused connection gracefully: the client reads the refusal before the close. */
static void serve_linger_close(int fd)
{
    shutdown(fd, SHUT_WR);
    uint8_t sink[256];
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        if (poll(&pf, 1, 200) <= 0 || recv(fd, sink, sizeof sink, 0) <= 0)
            break;
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (t1.tv_sec - t0.tv_sec > 2)
            break;
    }
    close(fd);
}

struct serve_refuser {
    struct serve *sv;
    int fd;
    char peer[80];
    char busy_with[80];
};

/* A connection while a client is served: "busy" to a client with the token. */
static void *serve_refuser(void *arg)
{
    struct serve_refuser *r = arg;
    unsigned version = 0;
    enum serve_hello h = serve_read_hello(r->sv, r->fd, &version);
    if (serve_refuse_hello(r->fd, r->peer, h, version)) {
        char text[240];
        snprintf(text, sizeof text,
                 "busy: another client (%s) is using %s; one client at a time, try again when "
                 "it leaves",
                 r->busy_with, r->sv->uri);
        serve_log("client %s refused: busy with %s", r->peer, r->busy_with);
        serve_send_text(r->fd, KMRIG_TCP_REFUSE, KMRIG_LINK_EIO, text);
    }
    serve_linger_close(r->fd);
    atomic_fetch_sub(&r->sv->refusers, 1);
    free(r);
    return NULL;
}

static void serve_peer_name(const struct sockaddr_storage *ss, char *out, size_t n)
{
    char host[64] = "?";
    unsigned port = 0;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const void *)ss;
        inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
        port = ntohs(a->sin_port);
        snprintf(out, n, "%s:%u", host, port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const void *)ss;
        inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
        port = ntohs(a->sin6_port);
        snprintf(out, n, "[%s]:%u", host, port);
    } else {
        snprintf(out, n, "?");
    }
}

/* How long a new connection waits for the current client's session to end before "busy". */
#define SERVE_BUSY_GRACE_MS 1000

/* Busy: a client is being served and has not left. One that left but whose session the main
 * thread is still ending (the target being reset or reopened) does not count: the next client
 * waits for that instead of being refused. Called with sv->mu held. */
static int serve_busy_locked(struct serve *sv)
{
    int busy = sv->pending_fd >= 0;
    if (sv->busy && !busy && !sv->ending) {
        busy = 1;
        if (sv->session) {
            pthread_mutex_lock(&sv->session->mu);
            busy = !sv->session->closed;
            pthread_mutex_unlock(&sv->session->mu);
        }
    }
    return busy;
}

static void *serve_acceptor(void *arg)
{
    struct serve *sv = arg;
    while (!g_serve_stop) {
        struct pollfd pf = {.fd = sv->listen_fd, .events = POLLIN};
        if (poll(&pf, 1, 200) <= 0)
            continue;
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        int fd = accept4(sv->listen_fd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        char peer[80];
        serve_peer_name(&ss, peer, sizeof peer);
        pthread_mutex_lock(&sv->mu);
        int busy = serve_busy_locked(sv);
        /* A client that has just closed (kmrig run probes the target, then each test process
         * connects) may not be seen as gone yet: give its session a moment to end before this
         * one is refused. */
        for (int waited = 0; busy && waited < SERVE_BUSY_GRACE_MS && !g_serve_stop; waited += 10) {
            pthread_mutex_unlock(&sv->mu);
            usleep(10000);
            pthread_mutex_lock(&sv->mu);
            busy = serve_busy_locked(sv);
        }
        if (!busy) {
            sv->pending_fd = fd;
            snprintf(sv->pending_peer, sizeof sv->pending_peer, "%s", peer);
            pthread_cond_broadcast(&sv->cv);
            pthread_mutex_unlock(&sv->mu);
            continue;
        }
        struct serve_refuser *r = calloc(1, sizeof *r);
        if (r) {
            r->sv = sv;
            r->fd = fd;
            snprintf(r->peer, sizeof r->peer, "%s", peer);
            snprintf(r->busy_with, sizeof r->busy_with, "%s",
                     sv->session ? sv->session->peer : sv->pending_peer);
        }
        pthread_mutex_unlock(&sv->mu);
        pthread_t th;
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        if (!r || atomic_fetch_add(&sv->refusers, 1) >= SERVE_MAX_REFUSERS ||
            pthread_create(&th, &at, serve_refuser, r) != 0) {
            if (r)
                atomic_fetch_sub(&sv->refusers, 1);
            serve_log("client %s closed: busy (too many waiting connections)", peer);
            close(fd);
            free(r);
        }
        pthread_attr_destroy(&at);
    }
    return NULL;
}

/* ---- a session ---------------------------------------------------------------------------- */

static void serve_session_close_locked(struct serve_session *s, const char *why)
{
    if (!s->closed) {
        s->closed = 1;
        snprintf(s->why, sizeof s->why, "%s", why);
    }
    pthread_cond_broadcast(&s->cv);
}

/* Malformed input from the client: says why and closes this connection only. */
static void serve_malformed(struct serve_session *s, const char *why)
{
    char text[200];
    snprintf(text, sizeof text, "malformed message: %s; closing the connection", why);
    pthread_mutex_lock(&s->smu);
    serve_send_text(s->fd, KMRIG_TCP_ERROR, 0, text);
    pthread_mutex_unlock(&s->smu);
    pthread_mutex_lock(&s->mu);
    serve_session_close_locked(s, text);
    pthread_mutex_unlock(&s->mu);
    shutdown(s->fd, SHUT_RDWR);
}

static void *serve_reader(void *arg)
{
    struct serve_session *s = arg;
    uint8_t *buf = malloc(KMRIG_TCP_MAX_MSG);
    if (!buf) {
        pthread_mutex_lock(&s->mu);
        serve_session_close_locked(s, "out of memory");
        pthread_mutex_unlock(&s->mu);
        return NULL;
    }
    for (;;) {
        uint8_t hdr[4];
        int r = kmrig_tcp_recv_all(s->fd, hdr, 4, 0);
        if (r != 1) {
            pthread_mutex_lock(&s->mu);
            serve_session_close_locked(s, r == 0 ? "connection closed" : "connection reset");
            pthread_mutex_unlock(&s->mu);
            break;
        }
        uint32_t len = kmrig_tcp_get32(hdr);
        if (len < 1 || len > KMRIG_TCP_MAX_MSG) {
            serve_malformed(s, "length out of range");
            break;
        }
        if (kmrig_tcp_recv_all(s->fd, buf, len, 0) != 1) {
            pthread_mutex_lock(&s->mu);
            serve_session_close_locked(s, "connection closed inside a message");
            pthread_mutex_unlock(&s->mu);
            break;
        }
        uint8_t type = buf[0];
        uint32_t n = len - 1;
        long want = kmrig_tcp_request_len(type);
        if (want < 0 || (type == KMRIG_TCP_DMA_RSP ? n < 4 : n != (uint32_t)want)) {
            serve_malformed(s, want < 0 ? "unknown message type" : "wrong body length");
            break;
        }
        pthread_mutex_lock(&s->mu);
        if (type == KMRIG_TCP_DMA_RSP) {
            if (!s->dma_wait || s->dma_have || n - 4 > KMRIG_TCP_MAX_DMA) {
                pthread_mutex_unlock(&s->mu);
                serve_malformed(s, "a DMA answer nothing asked for");
                break;
            }
            s->dma_rc = (int32_t)kmrig_tcp_get32(buf + 1);
            s->dma_len = n - 4;
            memcpy(s->dma_data, buf + 5, n - 4);
            s->dma_have = 1;
            pthread_cond_broadcast(&s->cv);
            pthread_mutex_unlock(&s->mu);
            continue;
        }
        if (s->queued + n > SERVE_QUEUE_MAX) {
            pthread_mutex_unlock(&s->mu);
            serve_malformed(s, "too many requests queued");
            break;
        }
        struct serve_msg *m = malloc(sizeof *m + n);
        if (!m) {
            serve_session_close_locked(s, "out of memory");
            pthread_mutex_unlock(&s->mu);
            break;
        }
        m->next = NULL;
        m->type = type;
        m->n = n;
        memcpy(m->body, buf + 1, n);
        if (s->tail)
            s->tail->next = m;
        else
            s->head = m;
        s->tail = m;
        s->queued += n;
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
    }
    free(buf);
    return NULL;
}

/* The served link's DMA handler: the device's access becomes DMA requests to the client. */
static int serve_dma(void *ctx, int write, uint64_t bus, void *data, size_t size)
{
    struct serve *sv = ctx;
    pthread_mutex_lock(&sv->dma_mu);
    pthread_mutex_lock(&sv->mu);
    struct serve_session *s = sv->session;
    pthread_mutex_unlock(&sv->mu);
    int rc = s ? KMRIG_LINK_OK : KMRIG_LINK_EBUS;
    uint64_t issue = kmrig_link_dma_cycle(sv->link);
    uint8_t hdr[5 + KMRIG_TCP_DMA_REQ_HDR];
    for (size_t off = 0; rc == KMRIG_LINK_OK && off < size;) {
        size_t k = size - off < KMRIG_TCP_MAX_DMA ? size - off : KMRIG_TCP_MAX_DMA;
        size_t at =
            kmrig_tcp_header(hdr, KMRIG_TCP_DMA_REQ, KMRIG_TCP_DMA_REQ_HDR + (write ? k : 0));
        memset(hdr + at, 0, KMRIG_TCP_DMA_REQ_HDR);
        hdr[at] = write ? 1 : 0;
        kmrig_tcp_put32(hdr + at + 4, (uint32_t)k);
        kmrig_tcp_put64(hdr + at + 8, bus + off);
        kmrig_tcp_put64(hdr + at + 16, issue);
        pthread_mutex_lock(&s->mu);
        s->dma_wait = 1;
        s->dma_have = 0;
        int closed = s->closed;
        pthread_mutex_unlock(&s->mu);
        pthread_mutex_lock(&s->smu);
        int bad = closed || kmrig_tcp_send_all(s->fd, hdr, at + KMRIG_TCP_DMA_REQ_HDR) < 0 ||
                  (write && kmrig_tcp_send_all(s->fd, (const uint8_t *)data + off, k) < 0);
        pthread_mutex_unlock(&s->smu);
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        pthread_mutex_lock(&s->mu);
        while (!bad && !s->dma_have && !s->closed) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += 1;
            pthread_cond_timedwait(&s->cv, &s->mu, &until);
            clock_gettime(CLOCK_MONOTONIC, &t1);
            if (!s->dma_have && (t1.tv_sec - t0.tv_sec) * 1000 > SERVE_DMA_MS) {
                serve_session_close_locked(s, "no answer to a DMA request in time");
                shutdown(s->fd, SHUT_RDWR);
            }
        }
        if (bad || !s->dma_have) {
            rc = KMRIG_LINK_EBUS; /* the client is gone: the device sees a bus error */
        } else if (s->dma_rc != KMRIG_LINK_OK) {
            rc = s->dma_rc;
        } else if (s->dma_len != (write ? 0 : k)) {
            rc = KMRIG_LINK_EBUS;
            serve_session_close_locked(s, "a DMA answer of the wrong length");
            shutdown(s->fd, SHUT_RDWR);
        } else if (!write) {
            memcpy((uint8_t *)data + off, s->dma_data, k);
        }
        s->dma_wait = s->dma_have = 0;
        pthread_mutex_unlock(&s->mu);
        off += k;
    }
    pthread_mutex_unlock(&sv->dma_mu);
    return rc;
}

/* Events of a wall-time target, pushed to the client. */
static void serve_event(void *ctx, struct kmrig_link *link, enum kmrig_link_event ev)
{
    struct serve *sv = ctx;
    (void)link;
    if (ev == KMRIG_LINK_EV_GONE) {
        atomic_store(&sv->target_gone, 1);
        serve_log("the target %s dropped", sv->uri);
    }
    pthread_mutex_lock(&sv->mu);
    struct serve_session *s = sv->session;
    if (s) {
        uint8_t m[6];
        kmrig_tcp_header(m, KMRIG_TCP_EVENT, 1);
        m[5] = (uint8_t)ev;
        pthread_mutex_lock(&s->smu);
        kmrig_tcp_send_all(s->fd, m, sizeof m);
        pthread_mutex_unlock(&s->smu);
    }
    pthread_mutex_unlock(&sv->mu);
}

static int serve_open_target(struct serve *sv, char *err, size_t n)
{
    int rc = kmrig_link_open(sv->uri, &sv->link, err, n);
    if (rc != KMRIG_LINK_OK) {
        sv->link = NULL;
        return rc;
    }
    if (strcmp(kmrig_link_profile_name(sv->link), "ideal")) {
        snprintf(err, n,
                 "target '%s': a link profile is not served (clients' timing is the network's); "
                 "serve the target without profile=",
                 sv->uri);
        kmrig_link_close(sv->link);
        sv->link = NULL;
        return KMRIG_LINK_EINVAL;
    }
    sv->vt = kmrig_link_get_info(sv->link)->virtual_time;
    atomic_store(&sv->target_gone, 0);
    kmrig_link_set_dma_handler(sv->link, serve_dma, sv);
    kmrig_link_set_event_handler(sv->link, serve_event, sv);
    return KMRIG_LINK_OK;
}

static void serve_close_target(struct serve *sv)
{
    if (!sv->link)
        return;
    kmrig_link_set_event_handler(sv->link, NULL, NULL);
    kmrig_link_close(sv->link);
    sv->link = NULL;
}

/* A fresh target for the next client: its reset, or (none, as sim) opened again. */
static void serve_refresh_target(struct serve *sv)
{
    char err[256] = "";
    if (sv->link && !atomic_load(&sv->target_gone)) {
        int rc = kmrig_link_reset(sv->link);
        if (rc == KMRIG_LINK_OK)
            return;
        if (rc != KMRIG_LINK_ENOTSUP)
            serve_log("resetting %s failed (%s): opening it again", sv->uri,
                      kmrig_link_strerror(rc));
    }
    serve_close_target(sv);
    if (serve_open_target(sv, err, sizeof err) != KMRIG_LINK_OK)
        serve_log("%s (the next client is refused until it opens)", err);
}

static int serve_answer(struct serve *sv, struct serve_session *s, struct kmrig_tcp_result *r)
{
    if (sv->vt) {
        r->now = kmrig_link_now(sv->link);
        r->state = KMRIG_TCP_STATE_VALID;
        if (kmrig_link_irq_pending(sv->link, &r->lines) != KMRIG_LINK_OK)
            r->state |= KMRIG_TCP_STATE_LINES_ERR;
    }
    uint8_t m[5 + KMRIG_TCP_RESULT_LEN];
    size_t at = kmrig_tcp_header(m, KMRIG_TCP_RESULT, KMRIG_TCP_RESULT_LEN);
    kmrig_tcp_put_result(m + at, r);
    pthread_mutex_lock(&s->smu);
    int rc = kmrig_tcp_send_all(s->fd, m, sizeof m);
    pthread_mutex_unlock(&s->smu);
    return rc;
}

/* Executes one request; returns 1 to answer it, 0 not (posted), -1 to end the session. */
static int serve_execute(struct serve *sv, const struct serve_msg *m, struct kmrig_tcp_result *r)
{
    const uint8_t *b = m->body;
    struct kmrig_link *l = sv->link;
    memset(r, 0, sizeof *r);
    switch (m->type) {
    case KMRIG_TCP_READ:
        r->rc = kmrig_link_read(l, b[0], kmrig_tcp_get32(b + 4), b[1], &r->value, &r->v64);
        return 1;
    case KMRIG_TCP_WRITE:
        r->rc = kmrig_link_write(l, b[0], kmrig_tcp_get32(b + 4), b[1], kmrig_tcp_get32(b + 8),
                                 &r->v64);
        if (!(b[2] & KMRIG_TCP_F_ANSWER) && r->rc != KMRIG_LINK_OK)
            serve_log("a posted write of %u byte(s) to %s 0x%x failed: %s", b[1],
                      b[0] ? "port" : "bus", kmrig_tcp_get32(b + 4), kmrig_link_strerror(r->rc));
        return (b[2] & KMRIG_TCP_F_ANSWER) != 0;
    case KMRIG_TCP_RMW:
        r->rc = kmrig_link_rmw(l, b[0], kmrig_tcp_get32(b + 4), b[1], kmrig_tcp_get32(b + 8),
                               kmrig_tcp_get32(b + 12), &r->value, &r->v64);
        return 1;
    case KMRIG_TCP_IRQ_PEND:
        r->rc = kmrig_link_irq_pending(l, &r->value);
        return 1;
    case KMRIG_TCP_IRQ_CTL:
        r->rc = kmrig_link_irq_control(l, b[0], (enum kmrig_irq_op)b[1]);
        if (!(b[2] & KMRIG_TCP_F_ANSWER) && r->rc != KMRIG_LINK_OK)
            serve_log("a posted interrupt operation %u on line %u failed: %s", b[1], b[0],
                      kmrig_link_strerror(r->rc));
        return (b[2] & KMRIG_TCP_F_ANSWER) != 0;
    case KMRIG_TCP_IRQ_TS:
        r->rc = kmrig_link_irq_timestamp(l, b[0], &r->v64);
        return 1;
    case KMRIG_TCP_NOW:
        r->v64 = kmrig_link_now(l);
        return 1;
    case KMRIG_TCP_ADVANCE:
        r->v64 = kmrig_link_advance(l, kmrig_tcp_get64(b), b[8] != 0);
        return 1;
    case KMRIG_TCP_NEXT:
        r->v64 = kmrig_link_next_event(l);
        return 1;
    case KMRIG_TCP_RESET:
        r->rc = kmrig_link_reset(l);
        if (r->rc == KMRIG_LINK_ENOTSUP && sv->vt) { /* a model: a fresh one */
            char err[256] = "";
            serve_close_target(sv);
            r->rc = serve_open_target(sv, err, sizeof err);
            if (r->rc != KMRIG_LINK_OK) {
                serve_log("reset: %s", err);
                return -1;
            }
        }
        return 1;
    case KMRIG_TCP_BYE:
        return -1;
    default:
        return -1;
    }
}

static void serve_session(struct serve *sv, int fd, const char *peer)
{
    struct serve_session *s = calloc(1, sizeof *s);
    if (!s) {
        close(fd);
        return;
    }
    s->fd = fd;
    snprintf(s->peer, sizeof s->peer, "%s", peer);
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->smu, NULL);
    pthread_cond_init(&s->cv, NULL);

    const struct kmrig_link_info *li = kmrig_link_get_info(sv->link);
    uint8_t w[5 + KMRIG_TCP_WELCOME_LEN] = {0};
    size_t at = kmrig_tcp_header(w, KMRIG_TCP_WELCOME, KMRIG_TCP_WELCOME_LEN);
    kmrig_tcp_put16(w + at, KMRIG_TCP_VERSION);
    kmrig_tcp_put64(w + at + 4, li->clock_hz);
    kmrig_tcp_put32(w + at + 12, li->irq_lines);
    kmrig_tcp_put32(w + at + 16, li->soc_id);
    kmrig_tcp_put32(w + at + 20, li->soc_version);
    w[at + 24] = li->virtual_time != 0;
    memcpy(w + at + 28, li->description, sizeof li->description);
    w[at + 28 + sizeof li->description - 1] = 0;

    pthread_mutex_lock(&sv->mu);
    sv->session = s;
    pthread_mutex_unlock(&sv->mu);
    int started = kmrig_tcp_send_all(fd, w, sizeof w) == 0 &&
                  pthread_create(&s->reader, NULL, serve_reader, s) == 0;
    serve_log("client %s connected", peer);

    unsigned long requests = 0;
    int bye = 0, dropped = 0;
    while (started) {
        pthread_mutex_lock(&s->mu);
        while (!s->head && !s->closed && !g_serve_stop) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_nsec += 200000000;
            if (until.tv_nsec >= 1000000000) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000;
            }
            pthread_cond_timedwait(&s->cv, &s->mu, &until);
        }
        struct serve_msg *m = s->head;
        if (m) {
            s->head = m->next;
            if (!s->head)
                s->tail = NULL;
            s->queued -= m->n;
        }
        pthread_mutex_unlock(&s->mu);
        if (!m)
            break; /* closed, or stopping */
        struct kmrig_tcp_result r;
        int act = m->type == KMRIG_TCP_BYE ? -1 : serve_execute(sv, m, &r);
        bye = m->type == KMRIG_TCP_BYE;
        free(m);
        requests++;
        if (act < 0 || (act > 0 && serve_answer(sv, s, &r) < 0))
            break;
        if (sv->drop_after && requests >= sv->drop_after) {
            sv->drop_after = 0; /* the first client only */
            dropped = 1;
            break;
        }
    }

    pthread_mutex_lock(&s->mu);
    int closed = s->closed;
    char why[224];
    snprintf(why, sizeof why, "%s", s->why);
    serve_session_close_locked(s, g_serve_stop ? "the server is stopping" : "session ended");
    pthread_mutex_unlock(&s->mu);
    if (g_serve_stop && !closed) {
        /* for the client the target goes away (its link is gone, KMRIG_LINK_EGONE), as when
         * the served target drops; ERROR is for a stream the server found malformed */
        uint8_t m[6];
        kmrig_tcp_header(m, KMRIG_TCP_EVENT, 1);
        m[5] = (uint8_t)KMRIG_LINK_EV_GONE;
        pthread_mutex_lock(&s->smu);
        kmrig_tcp_send_all(fd, m, sizeof m);
        pthread_mutex_unlock(&s->smu);
    }
    shutdown(fd, SHUT_RDWR);
    if (started)
        pthread_join(s->reader, NULL);
    pthread_mutex_lock(&sv->mu);
    sv->session = NULL;
    sv->ending = 1;
    pthread_mutex_unlock(&sv->mu);
    /* a DMA handler still waiting saw closed; dma_mu orders its end before the free */
    pthread_mutex_lock(&sv->dma_mu);
    pthread_mutex_unlock(&sv->dma_mu);
    close(fd);
    if (bye)
        serve_log("client %s left after %lu requests", peer, requests);
    else if (dropped)
        serve_log("client %s dropped by --fault-drop-after after %lu requests", peer, requests);
    else if (g_serve_stop)
        serve_log("client %s disconnected: the server is stopping", peer);
    else
        serve_log("client %s dropped mid-session after %lu requests (%s)", peer, requests,
                  closed ? why : "the link failed");
    for (struct serve_msg *m = s->head, *nx; m; m = nx) {
        nx = m->next;
        free(m);
    }
    pthread_mutex_destroy(&s->mu);
    pthread_mutex_destroy(&s->smu);
    pthread_cond_destroy(&s->cv);
    free(s);
    if (!g_serve_stop)
        serve_refresh_target(sv);
}

/* ---- setup -------------------------------------------------------------------------------- */

static int serve_read_token_file(struct serve *sv, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "kmrig serve: --token-file %s: %s\n", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077))
        fprintf(stderr,
                "kmrig serve: warning: the token file %s can be read by other users (chmod 600 "
                "it)\n",
                path);
    char line[KMRIG_TCP_MAX_TOKEN + 8];
    if (!fgets(line, sizeof line, f))
        line[0] = 0;
    fclose(f);
    size_t k = strcspn(line, "\r\n");
    if (!k || k > KMRIG_TCP_MAX_TOKEN) {
        fprintf(stderr, "kmrig serve: --token-file %s: %s\n", path,
                k ? "the token is longer than 256 characters" : "the first line is empty");
        return -1;
    }
    memcpy(sv->token, line, k);
    sv->token_len = k;
    return 0;
}

/* A new random token (32 bytes, hex) in a file only this user can read; its path in path. */
static int serve_new_token(struct serve *sv, char *path, size_t n)
{
    uint8_t raw[32];
    size_t got = 0;
    while (got < sizeof raw) {
        ssize_t k = getrandom(raw + got, sizeof raw - got, 0);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            fprintf(stderr, "kmrig serve: no random bytes for a token: %s\n", strerror(errno));
            return -1;
        }
        got += (size_t)k;
    }
    for (size_t i = 0; i < sizeof raw; i++)
        snprintf(sv->token + 2 * i, 3, "%02x", raw[i]);
    sv->token_len = 2 * sizeof raw;
    const char *dir = getenv("XDG_RUNTIME_DIR");
    snprintf(path, n, "%s/kmrig-serve-XXXXXX.token", dir && *dir ? dir : "/tmp");
    int fd = mkstemps(path, 6); /* mode 0600 */
    if (fd < 0) {
        fprintf(stderr, "kmrig serve: cannot write the token file %s: %s\n", path, strerror(errno));
        return -1;
    }
    char line[KMRIG_TCP_MAX_TOKEN + 2];
    int len = snprintf(line, sizeof line, "%.*s\n", (int)sv->token_len, sv->token);
    int ok = write(fd, line, (size_t)len) == len;
    close(fd);
    if (!ok) {
        unlink(path);
        fprintf(stderr, "kmrig serve: cannot write the token file %s\n", path);
        return -1;
    }
    return 0;
}

/* Binds ADDR:PORT ("PORT" alone: loopback). Prints the address it got in out. */
static int serve_listen(const char *spec, char *out, size_t n, int *loopback)
{
    char buf[256], *host, *port;
    snprintf(buf, sizeof buf, "%s", spec);
    if (buf[0] == '[') {
        char *close_b = strchr(buf, ']');
        if (!close_b || close_b[1] != ':')
            return -2;
        *close_b = 0;
        host = buf + 1;
        port = close_b + 2;
    } else if (strchr(buf, ':')) {
        char *c = strrchr(buf, ':');
        *c = 0;
        host = buf;
        port = c + 1;
    } else {
        host = "127.0.0.1";
        port = buf;
    }
    char *end;
    unsigned long pv = strtoul(port, &end, 10);
    if (!*port || *end || pv > 65535 || !*host)
        return -2;
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    struct addrinfo *res = NULL;
    int g = getaddrinfo(host, port, &hints, &res);
    if (g) {
        fprintf(stderr, "kmrig serve: --listen %s: %s\n", spec, gai_strerror(g));
        return -2;
    }
    int fd = -1, err = 0;
    for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, a->ai_addr, a->ai_addrlen) < 0 || listen(fd, 8) < 0) {
            err = errno;
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0) {
        fprintf(stderr, "kmrig serve: cannot listen on %s: %s\n", spec, strerror(err));
        return -1;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    serve_peer_name(&ss, out, n);
    if (ss.ss_family == AF_INET)
        *loopback = (ntohl(((struct sockaddr_in *)&ss)->sin_addr.s_addr) >> 24) == 127;
    else
        *loopback = IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *)&ss)->sin6_addr);
    return fd;
}

int kmrig_cli_serve(int argc, char **argv)
{
    struct serve sv = {.listen_fd = -1, .pending_fd = -1};
    const char *listen_spec = "127.0.0.1:0", *token_file = NULL;
    sv.uri = getenv("KMRIG_TARGET");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(serve_help, stdout);
            return KMRIG_CLI_OK;
        } else if (!strcmp(a, "--target") && val) {
            sv.uri = argv[++i];
        } else if (!strncmp(a, "--target=", 9)) {
            sv.uri = a + 9;
        } else if (!strcmp(a, "--listen") && val) {
            listen_spec = argv[++i];
        } else if (!strncmp(a, "--listen=", 9)) {
            listen_spec = a + 9;
        } else if (!strcmp(a, "--token-file") && val) {
            token_file = argv[++i];
        } else if (!strncmp(a, "--token-file=", 13)) {
            token_file = a + 13;
        } else if (!strcmp(a, "--fault-drop-after") && val) {
            char *end;
            sv.drop_after = strtoul(argv[++i], &end, 10);
            if (*end || !sv.drop_after) {
                fprintf(stderr, "kmrig serve: --fault-drop-after wants a number >= 1\n");
                return KMRIG_CLI_USAGE;
            }
        } else {
            fprintf(stderr, "kmrig serve: unknown argument '%s'\n%s", a, serve_help);
            return KMRIG_CLI_USAGE;
        }
    }
    if (!sv.uri || !*sv.uri)
        sv.uri = "sim";

    char token_path[512] = "";
    const char *token_from;
    if (token_file) {
        if (serve_read_token_file(&sv, token_file) < 0)
            return KMRIG_CLI_ERROR;
        token_from = token_file;
    } else if (getenv("KMRIG_TOKEN") && *getenv("KMRIG_TOKEN")) {
        const char *e = getenv("KMRIG_TOKEN");
        if (strlen(e) > KMRIG_TCP_MAX_TOKEN) {
            fprintf(stderr, "kmrig serve: $KMRIG_TOKEN is longer than 256 characters\n");
            return KMRIG_CLI_USAGE;
        }
        sv.token_len = strlen(e);
        memcpy(sv.token, e, sv.token_len);
        token_from = "$KMRIG_TOKEN";
    } else {
        if (serve_new_token(&sv, token_path, sizeof token_path) < 0)
            return KMRIG_CLI_ERROR;
        token_from = token_path;
    }

    char err[256] = "";
    int rc = serve_open_target(&sv, err, sizeof err);
    if (rc != KMRIG_LINK_OK) {
        fprintf(stderr, "kmrig serve: %s\n", err[0] ? err : kmrig_link_strerror(rc));
        if (token_path[0])
            unlink(token_path);
        return rc == KMRIG_LINK_EINVAL || rc == KMRIG_LINK_ENOENT ? KMRIG_CLI_USAGE
                                                                  : KMRIG_CLI_NO_TARGET;
    }
    char where[96];
    int loopback = 1;
    sv.listen_fd = serve_listen(listen_spec, where, sizeof where, &loopback);
    if (sv.listen_fd < 0) {
        serve_close_target(&sv);
        if (token_path[0])
            unlink(token_path);
        if (sv.listen_fd == -2)
            fprintf(stderr,
                    "kmrig serve: --listen wants ADDR:PORT, [IPV6]:PORT or PORT, not '%s'\n",
                    listen_spec);
        return sv.listen_fd == -2 ? KMRIG_CLI_USAGE : KMRIG_CLI_ERROR;
    }
    if (!loopback)
        fprintf(stderr,
                "kmrig serve: warning: listening on %s, which other machines can reach: anyone "
                "who has the token controls %s (docs/security.md)\n",
                where, sv.uri);
    printf("kmrig serve: serving %s (%s) on %s\n", sv.uri,
           kmrig_link_get_info(sv.link)->description, where);
    printf("kmrig serve: token from %s%s\n", token_from,
           token_path[0] ? " (new, readable only by you; removed when the server stops)" : "");
    if (token_file || token_path[0])
        printf("kmrig serve: clients use --target tcp://%s,token_file=%s\n", where, token_from);
    else
        printf("kmrig serve: clients use --target tcp://%s with $KMRIG_TOKEN set\n", where);
    fflush(stdout);

    struct sigaction sa = {.sa_handler = serve_on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    pthread_mutex_init(&sv.mu, NULL);
    pthread_mutex_init(&sv.dma_mu, NULL);
    pthread_cond_init(&sv.cv, NULL);
    pthread_t acceptor;
    int ok = pthread_create(&acceptor, NULL, serve_acceptor, &sv) == 0;
    while (ok && !g_serve_stop) {
        pthread_mutex_lock(&sv.mu);
        while (sv.pending_fd < 0 && !g_serve_stop) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_nsec += 200000000;
            if (until.tv_nsec >= 1000000000) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000;
            }
            pthread_cond_timedwait(&sv.cv, &sv.mu, &until);
        }
        int fd = sv.pending_fd;
        char peer[80];
        snprintf(peer, sizeof peer, "%s", sv.pending_peer);
        sv.pending_fd = -1;
        sv.busy = fd >= 0;
        sv.ending = 0;
        pthread_mutex_unlock(&sv.mu);
        if (fd < 0)
            break;
        unsigned version = 0;
        enum serve_hello h = serve_read_hello(&sv, fd, &version);
        if (h != HELLO_OK) { /* refused: the next client need not wait for the delay */
            pthread_mutex_lock(&sv.mu);
            sv.ending = 1;
            pthread_mutex_unlock(&sv.mu);
        }
        if (h == HELLO_BAD_TOKEN) {
            struct timespec nap = {0, 100000000}; /* slows guessing */
            nanosleep(&nap, NULL);
        }
        if (!serve_refuse_hello(fd, peer, h, version)) {
            serve_linger_close(fd);
        } else {
            if (!sv.link)
                serve_refresh_target(&sv);
            if (!sv.link) {
                char text[200];
                snprintf(text, sizeof text, "the target %s is not available (see the server's log)",
                         sv.uri);
                serve_send_text(fd, KMRIG_TCP_REFUSE, KMRIG_LINK_EGONE, text);
                serve_linger_close(fd);
            } else {
                serve_session(&sv, fd, peer);
            }
        }
        pthread_mutex_lock(&sv.mu);
        sv.busy = 0;
        pthread_mutex_unlock(&sv.mu);
    }
    if (!g_serve_stop)
        g_serve_stop = SIGTERM;
    if (ok)
        pthread_join(acceptor, NULL);
    /* refusers still lingering end within their 2 s; wait for them so nothing outlives sv */
    for (int i = 0; i < 50 && atomic_load(&sv.refusers); i++) {
        struct timespec nap = {0, 100000000};
        nanosleep(&nap, NULL);
    }
    close(sv.listen_fd);
    serve_close_target(&sv);
    if (token_path[0])
        unlink(token_path);
    pthread_mutex_destroy(&sv.mu);
    pthread_mutex_destroy(&sv.dma_mu);
    pthread_cond_destroy(&sv.cv);
    serve_log("stopped (%s)", strsignal((int)g_serve_stop));
    return ok ? KMRIG_CLI_OK : KMRIG_CLI_ERROR;
}

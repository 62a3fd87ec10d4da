/* A pipe wrapper that drops, corrupts, duplicates bytes and cuts the pipe (pipes.h). */
#include "pipes.h"

#include <kmrig/link.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct fault_pipe {
    struct kmrig_pipe p; /* first: the pipe handed out */
    struct kmrig_pipe *inner;
    struct kmrig_pipe_fault cfg;
    pthread_mutex_t mu;
    uint64_t rng[2];
    uint64_t total;
    int cut;
    struct kmrig_pipe_fault_stats st;
    uint8_t *out[2]; /* per direction: the bytes after the faults */
    uint8_t *in;     /* recv: what the inner pipe gave */
};

static const struct kmrig_pipe_ops fault_ops;

static uint64_t next(uint64_t *x)
{
    /* xorshift64* */
    *x ^= *x >> 12;
    *x ^= *x << 25;
    *x ^= *x >> 27;
    return *x * 0x2545F4914F6CDD1Dull;
}

/* mu held. Applies the faults of direction d (0 h2d, 1 d2h) to n bytes into f->out[d] (room
 * for 2n); returns how many bytes came out. */
static size_t apply(struct fault_pipe *f, unsigned d, const uint8_t *in, size_t n)
{
    uint8_t *o = f->out[d];
    size_t k = 0;
    unsigned dirs = f->cfg.dirs ? f->cfg.dirs : KMRIG_PIPE_FAULT_H2D | KMRIG_PIPE_FAULT_D2H;
    int on = (dirs >> d) & 1;
    for (size_t i = 0; i < n; i++) {
        f->st.bytes[d]++;
        uint8_t b = in[i];
        unsigned r = on ? (unsigned)(next(&f->rng[d]) % 1000000u) : 1000000u;
        if (r < f->cfg.drop_ppm) {
            f->st.dropped++;
            continue;
        }
        r -= f->cfg.drop_ppm;
        if (r < f->cfg.corrupt_ppm) {
            f->st.corrupted++;
            b ^= (uint8_t)(1u << (next(&f->rng[d]) % 8));
        } else if (r - f->cfg.corrupt_ppm < f->cfg.dup_ppm) {
            f->st.duplicated++;
            o[k++] = b;
        }
        o[k++] = b;
    }
    return k;
}

/* mu held. How many of n bytes pass before the cut (all when there is none); sets f->cut when
 * the cut is reached. */
static size_t until_cut(struct fault_pipe *f, size_t n)
{
    if (!f->cfg.cut_after)
        return n;
    uint64_t left = f->cfg.cut_after > f->total ? f->cfg.cut_after - f->total : 0;
    if (left > n) {
        f->total += n;
        return n;
    }
    f->total += left;
    f->cut = 1;
    f->st.cut = 1;
    return (size_t)left;
}

static int fault_send(struct kmrig_pipe *p, const void *data, size_t n, unsigned timeout_us)
{
    struct fault_pipe *f = (struct fault_pipe *)p;
    const uint8_t *in = data;
    while (n) {
        size_t chunk = n < 4096 ? n : 4096;
        pthread_mutex_lock(&f->mu);
        if (f->cut) {
            pthread_mutex_unlock(&f->mu);
            return KMRIG_LINK_EGONE;
        }
        size_t pass = until_cut(f, chunk);
        size_t k = apply(f, 0, in, pass);
        int cut = f->cut;
        pthread_mutex_unlock(&f->mu);
        /* out[0] is only written by the sender (one sender at a time, pipe.h) */
        int rc = k ? f->inner->ops->send(f->inner, f->out[0], k, timeout_us) : KMRIG_LINK_OK;
        if (rc != KMRIG_LINK_OK)
            return rc;
        if (cut)
            return KMRIG_LINK_EGONE;
        in += chunk;
        n -= chunk;
    }
    return KMRIG_LINK_OK;
}

static long fault_recv(struct kmrig_pipe *p, void *buf, size_t cap, unsigned timeout_us)
{
    struct fault_pipe *f = (struct fault_pipe *)p;
    pthread_mutex_lock(&f->mu);
    int cut = f->cut;
    pthread_mutex_unlock(&f->mu);
    if (cut)
        return KMRIG_LINK_EGONE;
    size_t want = cap / 2 < 4096 ? cap / 2 : 4096; /* duplicates may double it */
    if (!want)
        want = 1;
    long n = f->inner->ops->recv(f->inner, f->in, want, timeout_us);
    if (n == 0 && f->cfg.recv_hold_ms) {
        struct timespec t0, t;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (;;) {
            clock_gettime(CLOCK_MONOTONIC, &t);
            int64_t ms = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
            pthread_mutex_lock(&f->mu);
            cut = f->cut;
            pthread_mutex_unlock(&f->mu);
            if (n != 0 || cut || ms >= (int64_t)f->cfg.recv_hold_ms)
                break;
            n = f->inner->ops->recv(f->inner, f->in, want, 1000);
        }
        if (cut)
            return KMRIG_LINK_EGONE;
    }
    if (n <= 0)
        return n;
    pthread_mutex_lock(&f->mu);
    size_t pass = until_cut(f, (size_t)n);
    size_t k = apply(f, 1, f->in, pass);
    if (k > cap)
        k = cap;
    memcpy(buf, f->out[1], k);
    cut = f->cut && !k;
    pthread_mutex_unlock(&f->mu);
    return cut ? KMRIG_LINK_EGONE : (long)k;
}

static int fault_reset(struct kmrig_pipe *p)
{
    struct fault_pipe *f = (struct fault_pipe *)p;
    if (!f->inner->ops->reset)
        return KMRIG_LINK_ENOTSUP;
    return f->inner->ops->reset(f->inner);
}

static void fault_close(struct kmrig_pipe *p)
{
    struct fault_pipe *f = (struct fault_pipe *)p;
    f->inner->ops->close(f->inner);
    pthread_mutex_destroy(&f->mu);
    free(f->out[0]);
    free(f->out[1]);
    free(f->in);
    free(f);
}

static const struct kmrig_pipe_ops fault_ops = {
    .name = "fault",
    .send = fault_send,
    .recv = fault_recv,
    .reset = fault_reset,
    .close = fault_close,
};

int kmrig_pipe_fault_wrap(struct kmrig_pipe *inner, const struct kmrig_pipe_fault *cfg,
                          struct kmrig_pipe **out)
{
    *out = NULL;
    struct fault_pipe *f = calloc(1, sizeof *f);
    if (f) {
        f->out[0] = malloc(2 * 4096);
        f->out[1] = malloc(2 * 4096);
        f->in = malloc(4096);
    }
    if (!f || !f->out[0] || !f->out[1] || !f->in) {
        if (f) {
            free(f->out[0]);
            free(f->out[1]);
            free(f->in);
        }
        free(f);
        inner->ops->close(inner);
        return KMRIG_LINK_ENOMEM;
    }
    if (cfg->drop_ppm + (uint64_t)cfg->corrupt_ppm + cfg->dup_ppm > 1000000u) {
        fault_close(&f->p);
        return KMRIG_LINK_EINVAL;
    }
    f->inner = inner;
    f->cfg = *cfg;
    pthread_mutex_init(&f->mu, NULL);
    f->rng[0] = cfg->seed * 2 + 0x9E3779B97F4A7C15ull;
    f->rng[1] = cfg->seed * 2 + 1 + 0x6A09E667F3BCC909ull;
    f->p.ops = &fault_ops;
    f->p.ctx = f;
    f->p.send_chunk = inner->send_chunk;
    f->p.byte_rate = inner->byte_rate;
    size_t n = strlen(inner->description);
    if (n > sizeof f->p.description - 10)
        n = sizeof f->p.description - 10;
    memcpy(f->p.description, inner->description, n);
    strcpy(f->p.description + n, " (faults)");
    *out = &f->p;
    return KMRIG_LINK_OK;
}

int kmrig_pipe_is_fault(const struct kmrig_pipe *p)
{
    return p && p->ops == &fault_ops;
}

struct kmrig_pipe *kmrig_pipe_fault_inner(struct kmrig_pipe *p)
{
    return kmrig_pipe_is_fault(p) ? ((struct fault_pipe *)p)->inner : p;
}

int kmrig_pipe_fault_cut(struct kmrig_pipe *p)
{
    if (!kmrig_pipe_is_fault(p))
        return KMRIG_LINK_EINVAL;
    struct fault_pipe *f = (struct fault_pipe *)p;
    pthread_mutex_lock(&f->mu);
    f->cut = 1;
    f->st.cut = 1;
    pthread_mutex_unlock(&f->mu);
    return KMRIG_LINK_OK;
}

int kmrig_pipe_fault_stats(struct kmrig_pipe *p, struct kmrig_pipe_fault_stats *st)
{
    if (!kmrig_pipe_is_fault(p))
        return KMRIG_LINK_EINVAL;
    struct fault_pipe *f = (struct fault_pipe *)p;
    pthread_mutex_lock(&f->mu);
    *st = f->st;
    pthread_mutex_unlock(&f->mu);
    return KMRIG_LINK_OK;
}

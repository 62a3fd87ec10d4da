/* The model pipe (pipes.h): a bridge model's PHY as a byte pipe, free-running. */
#include "pipes.h"

#include <kmrig/link.h>
#include <kmrig/simsoc.h>

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>

/* Cycles one recv() runs the model with the lock held before letting a sender in. */
#define MODEL_STEP 4096u

struct model_pipe {
    struct kmrig_pipe p; /* first: the pipe handed out */
    pthread_mutex_t mu;
    kmrig_simsoc *m;
    uint64_t hz;
};

static const struct kmrig_pipe_ops model_ops;

static int model_send(struct kmrig_pipe *p, const void *data, size_t n, unsigned timeout_us)
{
    struct model_pipe *mp = (struct model_pipe *)p;
    (void)timeout_us; /* the model's PHY queue takes everything */
    pthread_mutex_lock(&mp->mu);
    int rc = kmrig_simsoc_phy_send(mp->m, data, n);
    pthread_mutex_unlock(&mp->mu);
    return rc == KMRIG_SIM_OK ? KMRIG_LINK_OK : KMRIG_LINK_EIO;
}

static long model_recv(struct kmrig_pipe *p, void *buf, size_t cap, unsigned timeout_us)
{
    struct model_pipe *mp = (struct model_pipe *)p;
    uint64_t budget = (uint64_t)timeout_us * mp->hz / 1000000u;
    uint64_t done = 0;
    for (;;) {
        pthread_mutex_lock(&mp->mu);
        size_t n = kmrig_simsoc_phy_recv(mp->m, buf, cap);
        if (n || done >= budget) {
            pthread_mutex_unlock(&mp->mu);
            return (long)n;
        }
        uint64_t step = budget - done < MODEL_STEP ? budget - done : MODEL_STEP;
        uint64_t ran = kmrig_simsoc_run_until_phy(mp->m, step);
        pthread_mutex_unlock(&mp->mu);
        done += ran ? ran : step;
        sched_yield(); /* a sender waiting for the lock gets it */
    }
}

static void model_close(struct kmrig_pipe *p)
{
    struct model_pipe *mp = (struct model_pipe *)p;
    kmrig_simsoc_destroy(mp->m);
    pthread_mutex_destroy(&mp->mu);
    free(mp);
}

static const struct kmrig_pipe_ops model_ops = {
    .name = "model",
    .send = model_send,
    .recv = model_recv,
    .close = model_close,
};

int kmrig_pipe_model_open(struct kmrig_simsoc *model, struct kmrig_pipe **out)
{
    *out = NULL;
    struct model_pipe *mp = calloc(1, sizeof *mp);
    if (!mp) {
        kmrig_simsoc_destroy(model);
        return KMRIG_LINK_ENOMEM;
    }
    pthread_mutex_init(&mp->mu, NULL);
    mp->m = model;
    mp->hz = kmrig_simsoc_clock_hz(model);
    mp->p.ops = &model_ops;
    mp->p.ctx = mp;
    mp->p.byte_rate = mp->hz; /* one byte per clock each way */
    snprintf(mp->p.description, sizeof mp->p.description, "model bridge PHY (free-running)");
    *out = &mp->p;
    return KMRIG_LINK_OK;
}

int kmrig_pipe_model_call(struct kmrig_pipe *p, void (*fn)(void *ctx, struct kmrig_simsoc *m),
                          void *ctx)
{
    p = kmrig_pipe_fault_inner(p);
    if (!p || p->ops != &model_ops)
        return KMRIG_LINK_EINVAL;
    struct model_pipe *mp = (struct model_pipe *)p;
    pthread_mutex_lock(&mp->mu);
    fn(ctx, mp->m);
    pthread_mutex_unlock(&mp->mu);
    return KMRIG_LINK_OK;
}

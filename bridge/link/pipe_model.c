/* The model pipe (pipes.h): a bridge model's PHY as a byte pipe, paced to wall time.
 *
 * A board's clock runs by itself at its frequency; so does this one's, approximately: the model's
 * cycle count follows the host's monotonic clock at the model's nominal rate (cycle = cyc0 +
 * (now - wall0) * hz, "the cycle of now").
 *   - send() and kmrig_pipe_model_call() first run the model up to the cycle of now (idle
 *     stretches in one evaluation, the work in between in at most PACE_SEND_EVALS), so host
 *     bytes reach the bridge at the cycle of the wall time they were sent and a byte the harness
 *     sends on the UART starts "now". A model with more work than that stays behind: a sender
 *     never waits long for the model.
 *   - recv() (the stream engine's reader) does the work: it runs the model up to the cycle of
 *     now, and up to PACE_LEAD_NS beyond it while there is something to do (host bytes, an event
 *     due), in slices (the lock released between slices when a sender waits); it returns as soon
 *     as the bridge sent something, and otherwise sleeps until the wall time of the model's next
 *     event (kmrig_simsoc_next_event) less the lead, a send, or at most PACE_RECV_MAX_NS.
 * So device time tracks wall time within the lead (5 us) while the host keeps up. Idle stretches
 * cost nothing (skipped), so an idle or lightly loaded model keeps up with any host. A model that
 * cannot (the SoC's work needs more CPU than the host gives the reader, or the reader was not
 * scheduled) falls behind and catches up as fast as the CPU allows; meanwhile device time lags
 * wall time and host bytes land at an earlier device cycle than on a board. The lag is bounded:
 * beyond PACE_MAX_LAG_NS the excess is dropped (the clock slips: it goes on from where the model
 * is, PACE_MAX_LAG_NS behind), and so is a lag beyond PACE_OUT_LAG_NS where the host and the
 * device meet: when the bridge sends the host something and when the host sends the bridge
 * something (a wait of one for the other then happens in real time, never while being caught
 * up: a stall of the pipe's threads on a loaded host does not count against the device's
 * timeouts); over such a stretch device time advances less than wall time.
 * The pipe reports nothing; a tool that needs to know compares the device's timestamps with its
 * own clock (kmrig bench reports the ratio, docs/cli.md). */
#define _GNU_SOURCE
#include "pipes.h"

#include <kmrig/link.h>
#include <kmrig/simsoc.h>

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* Cycles one recv() runs the model with the lock held before letting a sender in. */
#define PACE_SLICE 4096u
/* How far ahead of wall time the model may run to work on something (host bytes, an event):
 * enough for a request frame, its execution and its answer, so that a recv() does not sleep
 * (tens of us at best on a busy host) for each few cycles of work. */
#define PACE_LEAD_NS 5000ull
/* The most evaluations a send's catch-up makes (pace_catch_up). */
#define PACE_SEND_EVALS 256u
/* The most device time the model may lag wall time before the excess is dropped: in a quiet
 * stretch, and where the host and the device meet (pace_cap_lag). */
#define PACE_MAX_LAG_NS 200000000ull
#define PACE_OUT_LAG_NS 4000000ull
/* A recv() that waits sleeps at least this long (a shorter timed wait would be all overhead; the
 * model catches up after it, so only delivery is late, never a device cycle) and at most
 * PACE_MAX_SLEEP_NS (bounds the delivery of an event the model does not report in advance). */
#define PACE_MIN_SLEEP_NS 5000ull
#define PACE_MAX_SLEEP_NS 1000000ull
/* The longest one recv() waits, whatever its timeout: the stream engine's reader looks at its
 * batch of posted frames (flushed after 200 us by default) only between two recv() calls, as with
 * a board's transport, whose reads return every USB (micro)frame or latency-timer period. */
#define PACE_RECV_MAX_NS 200000ull

struct model_pipe {
    struct kmrig_pipe p; /* first: the pipe handed out */
    pthread_mutex_t mu;  /* the model and the pacing state */
    pthread_cond_t cv;   /* (mu) a send or a harness call changed the model: recv looks again */
    atomic_uint senders; /* threads waiting for mu to send or call: recv lets them in */
    kmrig_simsoc *m;
    uint64_t hz;
    uint64_t lead;           /* PACE_LEAD_NS in cycles */
    uint64_t wall0_ns, cyc0; /* the pacing reference: cycle cyc0 at wall time wall0_ns */
};

static const struct kmrig_pipe_ops model_ops;

static uint64_t pace_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* mu held. The cycle the model should be at, at wall time now; slips the reference when the
 * model lags more than PACE_MAX_LAG_NS. */
static uint64_t pace_target(struct model_pipe *mp, uint64_t now)
{
    uint64_t cur = kmrig_simsoc_cycles(mp->m);
    uint64_t want =
        mp->cyc0 + (uint64_t)((unsigned __int128)(now - mp->wall0_ns) * mp->hz / 1000000000u);
    uint64_t max_lag = (uint64_t)((unsigned __int128)PACE_MAX_LAG_NS * mp->hz / 1000000000u);
    if (want > cur + max_lag) {
        mp->wall0_ns = now;
        mp->cyc0 = cur + max_lag;
        want = mp->cyc0;
    }
    return want;
}

/* mu held. Drops the part of the model's lag beyond lag_ns (the clock slips). Used where the host
 * and the device meet (the bridge's bytes go to the host, the host's bytes go to the bridge): from
 * there on the device waits for the host, or the host for the device, in real time; catching a
 * lag up there would run the device's own timeouts (a DMA request's 20 ms) through a stall of the
 * pipe's threads in a fraction of the host's time. */
static void pace_cap_lag(struct model_pipe *mp, uint64_t now, uint64_t lag_ns)
{
    uint64_t want = pace_target(mp, now);
    uint64_t cur = kmrig_simsoc_cycles(mp->m);
    uint64_t lag = (uint64_t)((unsigned __int128)lag_ns * mp->hz / 1000000000u);
    if (want > cur + lag) {
        mp->wall0_ns = now;
        mp->cyc0 = cur + lag;
    }
}

/* mu held. The wall time at which the model reaches `cycle` on the pacing reference. */
static uint64_t pace_wall_of(const struct model_pipe *mp, uint64_t cycle)
{
    if (cycle <= mp->cyc0)
        return mp->wall0_ns;
    return mp->wall0_ns + (uint64_t)((unsigned __int128)(cycle - mp->cyc0) * 1000000000u / mp->hz);
}

/* mu held. Before a send or a harness call: runs the model up to the cycle of wall time now, so
 * that what comes next happens at the cycle of now. Idle stretches are one evaluation each; the
 * work in between (a frame the bridge is still sending, an event) at most PACE_SEND_EVALS
 * evaluations, so a sender never waits long: a model with more work than that stays behind (the
 * reader catches it up). */
static void pace_catch_up(struct model_pipe *mp)
{
    uint64_t now = pace_now_ns();
    pace_cap_lag(mp, now, PACE_OUT_LAG_NS);
    uint64_t want = pace_target(mp, now);
    uint64_t cur = kmrig_simsoc_cycles(mp->m);
    for (unsigned k = 0; k < PACE_SEND_EVALS && cur < want; k++) {
        uint64_t ev = kmrig_simsoc_phy_send_pending(mp->m) ? 1 : kmrig_simsoc_next_event(mp->m);
        kmrig_simsoc_run(mp->m, ev >= want - cur ? want - cur : ev ? ev : 1);
        cur = kmrig_simsoc_cycles(mp->m);
    }
}

static int model_send(struct kmrig_pipe *p, const void *data, size_t n, unsigned timeout_us)
{
    struct model_pipe *mp = (struct model_pipe *)p;
    (void)timeout_us; /* the model's PHY queue takes everything */
    atomic_fetch_add(&mp->senders, 1);
    pthread_mutex_lock(&mp->mu);
    atomic_fetch_sub(&mp->senders, 1);
    pace_catch_up(mp);
    int rc = kmrig_simsoc_phy_send(mp->m, data, n);
    pthread_cond_signal(&mp->cv);
    pthread_mutex_unlock(&mp->mu);
    return rc == KMRIG_SIM_OK ? KMRIG_LINK_OK : KMRIG_LINK_EIO;
}

static long model_recv(struct kmrig_pipe *p, void *buf, size_t cap, unsigned timeout_us)
{
    struct model_pipe *mp = (struct model_pipe *)p;
    uint64_t t0 = pace_now_ns();
    uint64_t wait_ns = (uint64_t)timeout_us * 1000u;
    uint64_t deadline = t0 + (wait_ns < PACE_RECV_MAX_NS ? wait_ns : PACE_RECV_MAX_NS);
    size_t n = 0;
    int ran = 0; /* each call does some work, however short its timeout */
    pthread_mutex_lock(&mp->mu);
    for (;;) {
        n = kmrig_simsoc_phy_recv(mp->m, buf, cap);
        if (n) {
            pace_cap_lag(mp, pace_now_ns(), PACE_OUT_LAG_NS);
            break;
        }
        uint64_t now = pace_now_ns();
        if (now >= deadline && ran)
            break; /* also when behind: the caller comes back, the catch-up goes on */
        uint64_t want = pace_target(mp, now);
        uint64_t horizon = want + mp->lead;
        uint64_t cur = kmrig_simsoc_cycles(mp->m);
        uint64_t ev = kmrig_simsoc_phy_send_pending(mp->m) ? 1 : kmrig_simsoc_next_event(mp->m);
        uint64_t to = 0;
        if (cur < horizon && ev <= horizon - cur)
            to = horizon; /* work within the lead: do it now */
        else if (cur < want)
            to = want; /* idle: catch up, never ahead */
        if (to) {
            /* an idle stretch in one go (one evaluation), else a slice */
            uint64_t step = ev > PACE_SLICE ? ev : PACE_SLICE;
            kmrig_simsoc_run_until_phy(mp->m, to - cur < step ? to - cur : step);
            ran = 1;
            if (atomic_load_explicit(&mp->senders, memory_order_relaxed)) {
                pthread_mutex_unlock(&mp->mu);
                sched_yield(); /* a sender waits for the lock: let it in */
                pthread_mutex_lock(&mp->mu);
            }
            continue;
        }
        /* nothing to do before the lead reaches the next event: sleep until then */
        if (now >= deadline)
            break;
        uint64_t wake = deadline;
        if (ev < (uint64_t)UINT32_MAX) {
            uint64_t at = pace_wall_of(mp, cur + ev - mp->lead);
            wake = at < wake ? at : wake;
        }
        wake = wake < now + PACE_MIN_SLEEP_NS ? now + PACE_MIN_SLEEP_NS : wake;
        wake = wake > deadline ? deadline : wake;
        struct timespec ts = {.tv_sec = (time_t)(wake / 1000000000u),
                              .tv_nsec = (long)(wake % 1000000000u)};
        pthread_cond_timedwait(&mp->cv, &mp->mu, &ts);
    }
    pthread_mutex_unlock(&mp->mu);
    return (long)n;
}

static void model_close(struct kmrig_pipe *p)
{
    struct model_pipe *mp = (struct model_pipe *)p;
    kmrig_simsoc_destroy(mp->m);
    pthread_cond_destroy(&mp->cv);
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
    pthread_condattr_t ca;
    if (!mp || pthread_condattr_init(&ca)) {
        free(mp);
        kmrig_simsoc_destroy(model);
        return KMRIG_LINK_ENOMEM;
    }
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(&mp->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (rc) {
        free(mp);
        kmrig_simsoc_destroy(model);
        return KMRIG_LINK_ENOMEM;
    }
    pthread_mutex_init(&mp->mu, NULL);
    mp->m = model;
    mp->hz = kmrig_simsoc_clock_hz(model);
    mp->cyc0 = kmrig_simsoc_cycles(model);
    mp->lead = (uint64_t)((unsigned __int128)PACE_LEAD_NS * mp->hz / 1000000000u);
    mp->wall0_ns = pace_now_ns();
    mp->p.ops = &model_ops;
    mp->p.ctx = mp;
    mp->p.byte_rate = mp->hz; /* one byte per clock each way */
    snprintf(mp->p.description, sizeof mp->p.description, "model bridge PHY (paced to wall time)");
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
    atomic_fetch_add(&mp->senders, 1);
    pthread_mutex_lock(&mp->mu);
    atomic_fetch_sub(&mp->senders, 1);
    pace_catch_up(mp);
    fn(ctx, mp->m);
    pthread_cond_signal(&mp->cv);
    pthread_mutex_unlock(&mp->mu);
    return KMRIG_LINK_OK;
}

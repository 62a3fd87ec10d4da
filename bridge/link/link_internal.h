/* The link core's private state, shared by link.c (the core) and link_profile.c (the timing
 * model of real links). Not for transports: they see struct kmrig_link only through
 * kmrig/link.h. */
#ifndef KMRIG_LINK_INTERNAL_H
#define KMRIG_LINK_INTERNAL_H

#include <kmrig/link.h>

#include <pthread.h>
#include <stdatomic.h>

struct link_prof;

struct kmrig_link {
    const struct kmrig_link_ops *ops;
    pthread_mutex_t lock;
    struct kmrig_link_info info;
    struct kmrig_link_stats stats;
    kmrig_link_dma_fn dma_fn;
    void *dma_ctx;
    void *priv;
    uint64_t dma_cycle;     /* issue cycle of the DMA access being served (for the handler) */
    struct link_prof *prof; /* NULL: the ideal profile (no link timing) */
    /* Asynchronous events (kmrig_link_notify): the handler is read and called without the
     * lock; `gone` is set once and read by every call. */
    pthread_mutex_t event_lock;
    kmrig_link_event_fn event_fn;
    void *event_ctx;
    atomic_int gone;
    char open_err[256]; /* kmrig_link_set_open_error, during open() */
};

/* ---- link_profile.c: every function is called with the link's lock held ---------------- */

/* Finds "profile=NAME" among the comma-separated URI arguments, removes it from args (in
 * place) and stores the profile's index in *index (0: ideal). Returns 0, or KMRIG_LINK_EINVAL
 * for an unknown name (the message goes to err). */
int link_prof_take_arg(char *args, unsigned *index, char *err, size_t n);
/* Sets the profile up after the transport opened (index from link_prof_take_arg; 0 leaves
 * l->prof NULL). */
int link_prof_open(struct kmrig_link *l, unsigned index);
void link_prof_close(struct kmrig_link *l);

int link_prof_read(struct kmrig_link *l, unsigned space, uint64_t addr, unsigned size,
                   uint32_t *value, uint64_t *ts);
int link_prof_write(struct kmrig_link *l, unsigned space, uint64_t addr, unsigned size,
                    uint32_t value, uint64_t *ts);
int link_prof_rmw(struct kmrig_link *l, unsigned space, uint64_t addr, unsigned size, uint32_t mask,
                  uint32_t value, uint32_t *old, uint64_t *ts);
int link_prof_irq_pending(struct kmrig_link *l, uint32_t *lines);
int link_prof_irq_control(struct kmrig_link *l, unsigned line, enum kmrig_irq_op op);
void link_prof_irq_ack(struct kmrig_link *l, unsigned line);
uint64_t link_prof_advance(struct kmrig_link *l, uint64_t cycles, int stop_on_irq);
uint64_t link_prof_next_event(struct kmrig_link *l);
/* The cycle at which a device DMA request issued at `issue` is done for the peripheral. */
uint64_t link_prof_dma(struct kmrig_link *l, int write, size_t size, uint64_t issue);

#endif

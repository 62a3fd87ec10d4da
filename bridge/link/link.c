/* The link core: the transport registry, open/close, argument checks, the lock, time
 * conversion and statistics (kmrig/link.h). */
#include "link_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

extern const struct kmrig_link_ops kmrig_link_loop_ops;
extern const struct kmrig_link_ops kmrig_link_null_ops;
#ifdef __linux__
extern const struct kmrig_link_ops kmrig_link_pcie_ops;
#else
static const struct kmrig_link_ops kmrig_link_pcie_ops = {
    .name = "pcie",
    .summary = "PCIe endpoint through VFIO",
    .missing = "the pcie transport needs Linux VFIO",
};
#endif
/* Weak: defined only when the program links kmrig::sim (the model and its transport). */
extern const struct kmrig_link_ops kmrig_link_sim_ops __attribute__((weak));

#ifdef KMRIG_HAVE_LIBFTDI
extern const struct kmrig_link_ops kmrig_link_ftdi_ops; /* link_ftdi.c */
#define FTDI_OPS (&kmrig_link_ftdi_ops)
#else
static const struct kmrig_link_ops ftdi_ops = {
    .name = "ftdi",
    .summary = "FT232H/FT2232H synchronous FIFO (FT245 mode) or UART through libftdi1",
    .missing = "libftdi1 was not found when kmrig was configured (apt-get install libftdi1-dev "
               "libusb-1.0-0-dev pkg-config, then configure again)",
};
#define FTDI_OPS (&ftdi_ops)
#endif
extern const struct kmrig_link_ops kmrig_link_tcp_ops; /* link_tcp.c */
#ifdef KMRIG_HAVE_LIBUSB
extern const struct kmrig_link_ops kmrig_link_usb_ops; /* link_usb.c */
#define USB_OPS (&kmrig_link_usb_ops)
#else
static const struct kmrig_link_ops usb_ops = {
    .name = "usb",
    .summary = "any bulk USB device through libusb-1.0",
    .missing = "libusb-1.0 was not found when kmrig was configured (apt-get install "
               "libusb-1.0-0-dev pkg-config, then configure again)",
};
#define USB_OPS (&usb_ops)
#endif

static const struct kmrig_link_ops sim_missing_ops = {
    .name = "sim",
    .summary = "the reference SoC as an in-process Verilator model (virtual time)",
#ifdef KMRIG_SIM_BUILT
    .missing = "this program was not linked with the model: link it with kmrig::sim",
#else
    .missing = "Verilator was not found when kmrig was configured (apt-get install verilator, "
               "then configure again)",
#endif
};

/* Alphabetical. */
static const struct kmrig_link_ops *const fixed[] = {
    FTDI_OPS,
    &kmrig_link_loop_ops,
    &kmrig_link_null_ops,
    &kmrig_link_pcie_ops,
    NULL,
    &kmrig_link_tcp_ops,
    USB_OPS,
};
#define NTRANSPORTS (sizeof fixed / sizeof fixed[0])

static const struct kmrig_link_ops *transport(size_t i)
{
    if (fixed[i])
        return fixed[i];
    return &kmrig_link_sim_ops ? &kmrig_link_sim_ops : &sim_missing_ops; /* slot 4 */
}

size_t kmrig_link_transports(const struct kmrig_link_ops **out, size_t max)
{
    for (size_t i = 0; i < NTRANSPORTS && i < max; i++)
        out[i] = transport(i);
    return NTRANSPORTS;
}

const char *kmrig_link_strerror(int code)
{
    switch (code) {
    case KMRIG_LINK_OK:
        return "success";
    case KMRIG_LINK_EINVAL:
        return "invalid argument";
    case KMRIG_LINK_EBUS:
        return "bus error (no device decoded the address)";
    case KMRIG_LINK_ETIMEOUT:
        return "the device did not answer in time";
    case KMRIG_LINK_ENOMEM:
        return "out of memory";
    case KMRIG_LINK_ENOTSUP:
        return "not supported by this transport";
    case KMRIG_LINK_EIO:
        return "transport I/O error";
    case KMRIG_LINK_ENOTBUILT:
        return "transport not built";
    case KMRIG_LINK_ENOENT:
        return "no such transport";
    case KMRIG_LINK_EGONE:
        return "the link dropped";
    case KMRIG_LINK_EMISMATCH:
        return "gateware does not match this host";
    default:
        return "unknown error";
    }
}

static void say(char *err, size_t n, const char *fmt, const char *a, const char *b)
{
    if (err && n)
        snprintf(err, n, fmt, a, b);
}

int kmrig_link_open(const char *uri, struct kmrig_link **out, char *err, size_t n)
{
    *out = NULL;
    if (err && n)
        err[0] = 0;
    if (!uri || !*uri) {
        say(err, n, "no target given%s%s", "", "");
        return KMRIG_LINK_EINVAL;
    }
    const char *colon = strchr(uri, ':');
    size_t len = colon ? (size_t)(colon - uri) : strlen(uri);
    const char *uargs = colon ? colon + 1 : "";
    /* "tcp://host" style: drop the slashes after the scheme. */
    while (colon && *uargs == '/')
        uargs++;
    /* "profile=NAME" is the core's (the link's timing model); the rest is the transport's. */
    char args[512];
    unsigned profile = 0;
    if (strlen(uargs) >= sizeof args) {
        say(err, n, "target '%s': arguments too long%s", uri, "");
        return KMRIG_LINK_EINVAL;
    }
    strcpy(args, uargs);
    const struct kmrig_link_ops *ops = NULL;
    for (size_t i = 0; i < NTRANSPORTS; i++)
        if (strlen(transport(i)->name) == len && !strncmp(transport(i)->name, uri, len))
            ops = transport(i);
    if (!ops) {
        say(err, n, "unknown target '%s' (transports: ftdi loop null pcie sim tcp usb)%s", uri, "");
        return KMRIG_LINK_ENOENT;
    }
    if (ops->missing) {
        say(err, n, "target '%s': not built: %s", uri, ops->missing);
        return KMRIG_LINK_ENOTBUILT;
    }
    if (link_prof_take_arg(args, &profile, err, n) != KMRIG_LINK_OK)
        return KMRIG_LINK_EINVAL;
    /* A served target's device (and its DMA) runs at the server: a timing model here could not
     * hold it (docs/protocol.md, "Remote targets (kmrig serve)"). */
    if (profile && ops == &kmrig_link_tcp_ops) {
        say(err, n,
            "target '%s': a link profile is not applied over tcp:// (the served device runs at "
            "the server)%s",
            uri, "");
        return KMRIG_LINK_EINVAL;
    }
    struct kmrig_link *l = calloc(1, sizeof *l);
    if (!l)
        return KMRIG_LINK_ENOMEM;
    l->ops = ops;
    if (ops->priv_size && !(l->priv = calloc(1, ops->priv_size))) {
        free(l);
        return KMRIG_LINK_ENOMEM;
    }
    pthread_mutex_init(&l->lock, NULL);
    pthread_mutex_init(&l->event_lock, NULL);
    pthread_mutex_init(&l->dma_lock, NULL);
    pthread_mutex_init(&l->log_lock, NULL);
    int rc = ops->open(l, args, &l->info);
    if (rc == KMRIG_LINK_OK && l->info.irq_lines > 32)
        rc = KMRIG_LINK_EINVAL;
    if (rc == KMRIG_LINK_OK && l->info.virtual_time &&
        (!ops->now || !ops->advance || !l->info.clock_hz))
        rc = KMRIG_LINK_EINVAL;
    if (rc == KMRIG_LINK_OK && profile && !l->info.virtual_time) {
        say(err, n,
            "target '%s': a link profile needs a virtual-time target (sim, loop); this "
            "one has real link timing%s",
            uri, "");
        ops->close(l);
        rc = KMRIG_LINK_EINVAL;
    } else if (rc == KMRIG_LINK_OK && (rc = link_prof_open(l, profile)) != KMRIG_LINK_OK) {
        ops->close(l);
    }
    if (rc != KMRIG_LINK_OK) {
        if (err && n && !err[0] && l->open_err[0])
            snprintf(err, n, "target '%s': %s", uri, l->open_err);
        if (err && n && !err[0])
            snprintf(err, n, "target '%s': %s%s%s%s", uri, kmrig_link_strerror(rc),
                     rc == KMRIG_LINK_EINVAL ? " (arguments: " : "",
                     rc == KMRIG_LINK_EINVAL ? (ops->usage && *ops->usage ? ops->usage : "none")
                                             : "",
                     rc == KMRIG_LINK_EINVAL ? ")" : "");
        pthread_mutex_destroy(&l->lock);
        pthread_mutex_destroy(&l->event_lock);
        pthread_mutex_destroy(&l->dma_lock);
        pthread_mutex_destroy(&l->log_lock);
        free(l->priv);
        free(l);
        return rc;
    }
    *out = l;
    return KMRIG_LINK_OK;
}

void kmrig_link_close(struct kmrig_link *l)
{
    if (!l)
        return;
    /* First the event handler goes (waiting for a call in progress, which may need the link's
     * lock): a transport's thread that reports an event while close() stops it then finds no
     * handler instead of waiting for the lock that close() holds. */
    kmrig_link_set_event_handler(l, NULL, NULL);
    pthread_mutex_lock(&l->lock);
    l->ops->close(l);
    link_prof_close(l);
    pthread_mutex_unlock(&l->lock);
    pthread_mutex_destroy(&l->lock);
    pthread_mutex_destroy(&l->event_lock);
    pthread_mutex_destroy(&l->dma_lock);
    pthread_mutex_destroy(&l->log_lock);
    free(l->priv);
    free(l);
}

void kmrig_link_set_event_handler(struct kmrig_link *l, kmrig_link_event_fn fn, void *ctx)
{
    pthread_mutex_lock(&l->event_lock);
    l->event_fn = fn;
    l->event_ctx = ctx;
    pthread_mutex_unlock(&l->event_lock);
}

void kmrig_link_notify(struct kmrig_link *l, enum kmrig_link_event ev)
{
    if (ev == KMRIG_LINK_EV_GONE && atomic_exchange(&l->gone, 1))
        return; /* reported once */
    /* event_lock keeps the handler from changing (or the HAL from going) during the call; it is
     * not the link's lock, so the handler may call into the link. */
    pthread_mutex_lock(&l->event_lock);
    if (l->event_fn)
        l->event_fn(l->event_ctx, l, ev);
    pthread_mutex_unlock(&l->event_lock);
}

int kmrig_link_gone(const struct kmrig_link *l)
{
    return atomic_load(&l->gone);
}

void kmrig_link_set_log_handler(struct kmrig_link *l, kmrig_link_log_fn fn, void *ctx)
{
    pthread_mutex_lock(&l->log_lock);
    l->log_fn = fn;
    l->log_ctx = ctx;
    pthread_mutex_unlock(&l->log_lock);
}

void kmrig_link_log(struct kmrig_link *l, int level, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&l->log_lock);
    if (l->log_fn)
        l->log_fn(l->log_ctx, level, msg);
    pthread_mutex_unlock(&l->log_lock);
}

void kmrig_link_set_open_error(struct kmrig_link *l, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(l->open_err, sizeof l->open_err, fmt, ap);
    va_end(ap);
}

int kmrig_link_dma_map(struct kmrig_link *l, void *va, size_t len, uint64_t bus, unsigned dir)
{
    if (!l->ops->dma_map)
        return KMRIG_LINK_ENOTSUP;
    if (((uintptr_t)va | len | bus) & (KMRIG_LINK_DMA_PAGE - 1) || !len || !dir ||
        dir > (KMRIG_DMA_TO_DEVICE | KMRIG_DMA_FROM_DEVICE))
        return KMRIG_LINK_EINVAL;
    if (atomic_load(&l->gone))
        return KMRIG_LINK_EGONE;
    pthread_mutex_lock(&l->lock);
    int rc = l->ops->dma_map(l, va, len, bus, dir);
    pthread_mutex_unlock(&l->lock);
    return rc;
}

int kmrig_link_dma_unmap(struct kmrig_link *l, uint64_t bus, size_t len)
{
    if (!l->ops->dma_unmap)
        return KMRIG_LINK_ENOTSUP;
    if ((len | bus) & (KMRIG_LINK_DMA_PAGE - 1) || !len)
        return KMRIG_LINK_EINVAL;
    pthread_mutex_lock(&l->lock);
    int rc = l->ops->dma_unmap(l, bus, len); /* also when gone: the IOMMU entry must go */
    pthread_mutex_unlock(&l->lock);
    return rc;
}

int kmrig_link_reset(struct kmrig_link *l)
{
    if (!l->ops->reset)
        return KMRIG_LINK_ENOTSUP;
    if (atomic_load(&l->gone))
        return KMRIG_LINK_EGONE;
    pthread_mutex_lock(&l->lock);
    int rc = l->ops->reset(l);
    pthread_mutex_unlock(&l->lock);
    return rc;
}

const struct kmrig_link_info *kmrig_link_get_info(const struct kmrig_link *l)
{
    return &l->info;
}

const char *kmrig_link_name(const struct kmrig_link *l)
{
    return l->ops->name;
}

void *kmrig_link_priv(struct kmrig_link *l)
{
    return l->priv;
}

void kmrig_link_get_stats(struct kmrig_link *l, struct kmrig_link_stats *s)
{
    pthread_mutex_lock(&l->lock);
    pthread_mutex_lock(&l->dma_lock);
    *s = l->stats;
    pthread_mutex_unlock(&l->dma_lock);
    pthread_mutex_unlock(&l->lock);
}

static int check_access(unsigned space, uint64_t addr, unsigned size)
{
    if (space > KMRIG_SPACE_IO || (size != 1 && size != 2 && size != 4) || (addr & (size - 1)))
        return KMRIG_LINK_EINVAL;
    if (space == KMRIG_SPACE_IO && addr + size > 0x10000)
        return KMRIG_LINK_EINVAL;
    if (addr > UINT32_MAX)
        return KMRIG_LINK_EINVAL; /* the reference bus has 32-bit addresses */
    return KMRIG_LINK_OK;
}

int kmrig_link_read(struct kmrig_link *l, unsigned space, uint64_t addr, unsigned size,
                    uint32_t *value, uint64_t *ts)
{
    uint64_t t = 0;
    *value = 0;
    int rc = check_access(space, addr, size);
    if (rc == KMRIG_LINK_OK && atomic_load(&l->gone))
        rc = KMRIG_LINK_EGONE;
    pthread_mutex_lock(&l->lock);
    l->stats.reads++;
    if (rc == KMRIG_LINK_OK)
        rc = l->prof ? link_prof_read(l, space, addr, size, value, &t)
                     : l->ops->read(l, space, addr, size, value, &t);
    if (rc != KMRIG_LINK_OK)
        l->stats.errors++;
    pthread_mutex_unlock(&l->lock);
    if (ts)
        *ts = t;
    return rc;
}

int kmrig_link_write(struct kmrig_link *l, unsigned space, uint64_t addr, unsigned size,
                     uint32_t value, uint64_t *ts)
{
    uint64_t t = 0;
    int rc = check_access(space, addr, size);
    if (size < 4)
        value &= (1u << (8 * size)) - 1;
    if (rc == KMRIG_LINK_OK && atomic_load(&l->gone))
        rc = KMRIG_LINK_EGONE;
    pthread_mutex_lock(&l->lock);
    l->stats.writes++;
    if (rc == KMRIG_LINK_OK)
        rc = l->prof ? link_prof_write(l, space, addr, size, value, &t)
                     : l->ops->write(l, space, addr, size, value, &t);
    if (rc != KMRIG_LINK_OK)
        l->stats.errors++;
    pthread_mutex_unlock(&l->lock);
    if (ts)
        *ts = t;
    return rc;
}

int kmrig_link_irq_pending(struct kmrig_link *l, uint32_t *lines)
{
    if (atomic_load(&l->gone)) {
        *lines = 0;
        return KMRIG_LINK_EGONE;
    }
    pthread_mutex_lock(&l->lock);
    int rc = l->prof ? link_prof_irq_pending(l, lines) : l->ops->irq_pending(l, lines);
    pthread_mutex_unlock(&l->lock);
    if (rc != KMRIG_LINK_OK)
        *lines = 0;
    return rc;
}

int kmrig_link_irq_control(struct kmrig_link *l, unsigned line, enum kmrig_irq_op op)
{
    if (line >= l->info.irq_lines || (unsigned)op > KMRIG_IRQ_EOI)
        return KMRIG_LINK_EINVAL;
    if (atomic_load(&l->gone))
        return KMRIG_LINK_EGONE;
    pthread_mutex_lock(&l->lock);
    l->stats.irq_ops++;
    int rc = l->prof ? link_prof_irq_control(l, line, op) : l->ops->irq_control(l, line, op);
    pthread_mutex_unlock(&l->lock);
    return rc;
}

void kmrig_link_irq_ack(struct kmrig_link *l, unsigned line)
{
    if (!l->prof || line >= l->info.irq_lines)
        return;
    pthread_mutex_lock(&l->lock);
    l->stats.irq_ops++;
    link_prof_irq_ack(l, line);
    pthread_mutex_unlock(&l->lock);
}

int kmrig_link_rmw(struct kmrig_link *l, unsigned space, uint64_t addr, unsigned size,
                   uint32_t mask, uint32_t value, uint32_t *old, uint64_t *ts)
{
    uint64_t t = 0;
    *old = 0;
    int rc = check_access(space, addr, size);
    if (size < 4) {
        mask &= (1u << (8 * size)) - 1;
        value &= (1u << (8 * size)) - 1;
    }
    if (rc == KMRIG_LINK_OK && atomic_load(&l->gone))
        rc = KMRIG_LINK_EGONE;
    pthread_mutex_lock(&l->lock);
    l->stats.reads++;
    if (rc == KMRIG_LINK_OK && l->prof) {
        l->stats.writes += mask != 0;
        rc = link_prof_rmw(l, space, addr, size, mask, value, old, &t);
    } else if (rc == KMRIG_LINK_OK && l->ops->rmw) {
        l->stats.writes += mask != 0;
        rc = l->ops->rmw(l, space, addr, size, mask, value, old, &t);
    } else if (rc == KMRIG_LINK_OK) {
        rc = l->ops->read(l, space, addr, size, old, &t);
        if (rc == KMRIG_LINK_OK && mask) {
            l->stats.writes++;
            rc = l->ops->write(l, space, addr, size, (*old & ~mask) | (value & mask), &t);
        }
    }
    if (rc != KMRIG_LINK_OK)
        l->stats.errors++;
    pthread_mutex_unlock(&l->lock);
    if (ts)
        *ts = t;
    return rc;
}

int kmrig_link_irq_timestamp(struct kmrig_link *l, unsigned line, uint64_t *ts)
{
    *ts = 0;
    if (line >= l->info.irq_lines)
        return KMRIG_LINK_EINVAL;
    if (!l->ops->irq_timestamp)
        return KMRIG_LINK_ENOTSUP;
    pthread_mutex_lock(&l->lock);
    int rc = l->ops->irq_timestamp(l, line, ts);
    pthread_mutex_unlock(&l->lock);
    return rc;
}

int kmrig_link_irq_query(struct kmrig_link *l, struct kmrig_irq_state *state)
{
    memset(state, 0, sizeof *state);
    if (!l->ops->irq_query)
        return KMRIG_LINK_ENOTSUP;
    if (atomic_load(&l->gone))
        return KMRIG_LINK_EGONE;
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_nsec += 500000000;
    if (dl.tv_nsec >= 1000000000) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000;
    }
    if (pthread_mutex_timedlock(&l->lock, &dl))
        return KMRIG_LINK_ETIMEOUT;
    int rc = l->ops->irq_query(l, state);
    pthread_mutex_unlock(&l->lock);
    return rc;
}

uint64_t kmrig_link_now(struct kmrig_link *l)
{
    if (!l->ops->now)
        return 0;
    pthread_mutex_lock(&l->lock);
    uint64_t c = l->ops->now(l);
    pthread_mutex_unlock(&l->lock);
    return c;
}

uint64_t kmrig_link_cycles_to_ns(const struct kmrig_link *l, uint64_t cycles)
{
    if (!l->info.clock_hz)
        return 0;
    return (uint64_t)((unsigned __int128)cycles * 1000000000u / l->info.clock_hz);
}

uint64_t kmrig_link_ns_to_cycles(const struct kmrig_link *l, uint64_t ns)
{
    if (!l->info.clock_hz)
        return 0;
    unsigned __int128 c = ((unsigned __int128)ns * l->info.clock_hz + 999999999u) / 1000000000u;
    return c > UINT64_MAX ? UINT64_MAX : (uint64_t)c;
}

uint64_t kmrig_link_advance(struct kmrig_link *l, uint64_t cycles, int stop_on_irq)
{
    if (!l->ops->advance || !cycles)
        return 0;
    pthread_mutex_lock(&l->lock);
    uint64_t done = l->prof ? link_prof_advance(l, cycles, stop_on_irq)
                            : l->ops->advance(l, cycles, stop_on_irq);
    l->stats.advanced_cycles += done;
    pthread_mutex_unlock(&l->lock);
    return done;
}

uint64_t kmrig_link_next_event(struct kmrig_link *l)
{
    if (!l->ops->next_event && !l->prof)
        return UINT64_MAX;
    pthread_mutex_lock(&l->lock);
    uint64_t n = l->prof ? link_prof_next_event(l) : l->ops->next_event(l);
    pthread_mutex_unlock(&l->lock);
    return n;
}

void kmrig_link_set_dma_handler(struct kmrig_link *l, kmrig_link_dma_fn fn, void *ctx)
{
    pthread_mutex_lock(&l->lock);
    pthread_mutex_lock(&l->dma_lock);
    l->dma_fn = fn;
    l->dma_ctx = ctx;
    pthread_mutex_unlock(&l->dma_lock);
    pthread_mutex_unlock(&l->lock);
}

int kmrig_link_dma(struct kmrig_link *l, int write, uint64_t bus_addr, void *data, size_t size)
{
    uint64_t done;
    return kmrig_link_dma_at(l, write, bus_addr, data, size, l->ops->now ? l->ops->now(l) : 0,
                             &done);
}

/* Moves a DMA access's data through the handler (counts, faults) for an access issued at `issue`.
 */
static int link_dma_move(struct kmrig_link *l, int write, uint64_t bus_addr, void *data,
                         size_t size, uint64_t issue)
{
    pthread_mutex_lock(&l->dma_lock);
    l->dma_cycle = issue;
    int rc = l->dma_fn ? l->dma_fn(l->dma_ctx, write, bus_addr, data, size) : KMRIG_LINK_EBUS;
    if (write)
        l->stats.dma_writes++;
    else
        l->stats.dma_reads++;
    if (rc != KMRIG_LINK_OK) {
        l->stats.dma_faults++;
        if (!write)
            memset(data, 0xFF, size);
    }
    pthread_mutex_unlock(&l->dma_lock);
    return rc;
}

int kmrig_link_dma_async(struct kmrig_link *l, int write, uint64_t bus_addr, void *data,
                         size_t size)
{
    return link_dma_move(l, write, bus_addr, data, size, 0);
}

uint64_t kmrig_link_dma_time(struct kmrig_link *l, int write, size_t size, uint64_t issue)
{
    return l->prof ? link_prof_dma(l, write, size, issue) : issue;
}

uint64_t kmrig_link_dma_cycle(const struct kmrig_link *l)
{
    return l->dma_cycle;
}

int kmrig_link_dma_at(struct kmrig_link *l, int write, uint64_t bus_addr, void *data, size_t size,
                      uint64_t issue, uint64_t *done)
{
    *done = l->prof ? link_prof_dma(l, write, size, issue) : issue;
    return link_dma_move(l, write, bus_addr, data, size, issue);
}

int kmrig_link_dma_untimed(struct kmrig_link *l, int write, uint64_t bus_addr, void *data,
                           size_t size)
{
    return link_dma_move(l, write, bus_addr, data, size, l->ops->now ? l->ops->now(l) : 0);
}

/* The "sim" transport: the reference SoC as an in-process Verilator model (kmrig/simsoc.h), at
 * transaction level (host accesses drive the SoC's bus master port directly). The model's clock
 * is the time base: it moves only through accesses and kmrig_link_advance().
 *
 * URI arguments, comma-separated: waves=PATH (FST file), gap=N (idle cycles between bus cycles),
 * hz=N (clock frequency), noskip (evaluate every cycle), timeout=N (bus timeout in cycles).
 * Example: sim:waves=run.fst,gap=2
 *
 * Built into its own library (kmrig::sim) with the model, so that only programs that link it
 * carry the model; the registry in link.c refers to kmrig_link_sim_ops weakly.
 */
#include <kmrig/link.h>
#include <kmrig/link_sim.h>

#include <kmrig/simsoc.h>
#include "../sim/gen/kmrig_soc_map.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sim {
    kmrig_simsoc *m;
    uint32_t mask; /* shadow of the intc's MASK (reset all ones) */
    uint32_t mode; /* shadow of MODE (reset level) */
    char waves[256];
};

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

static int sim_parse(const char *args, struct kmrig_simsoc_config *cfg, struct sim *s)
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
        char *end = NULL;
        if (!strcmp(tok, "waves") && val && strlen(val) < sizeof s->waves) {
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
        } else if (!strcmp(tok, "timeout") && val) {
            unsigned long v = strtoul(val, &end, 0);
            if (*end || !v)
                return KMRIG_LINK_EINVAL;
            cfg->bus_timeout = (unsigned)v;
        } else {
            return KMRIG_LINK_EINVAL;
        }
    }
    return KMRIG_LINK_OK;
}

static int sim_open(struct kmrig_link *link, const char *args, struct kmrig_link_info *info)
{
    struct sim *s = kmrig_link_priv(link);
    struct kmrig_simsoc_config cfg;
    kmrig_simsoc_config_init(&cfg);
    int rc = sim_parse(args, &cfg, s);
    if (rc != KMRIG_LINK_OK)
        return rc;
    rc = sim_code(kmrig_simsoc_open(&cfg, &s->m));
    if (rc != KMRIG_LINK_OK)
        return rc;
    s->mask = (1u << KMRIG_SOC_IRQ_LINES) - 1;
    s->mode = 0;
    info->clock_hz = kmrig_simsoc_clock_hz(s->m);
    info->irq_lines = KMRIG_SOC_IRQ_LINES;
    info->soc_id = KMRIG_SOC_ID;
    info->soc_version = KMRIG_SOC_VERSION;
    info->virtual_time = 1;
    snprintf(info->description, sizeof info->description,
             "Verilator model of kmrig_soc %u.%u.%u @ %llu Hz", KMRIG_SOC_VERSION >> 24,
             (KMRIG_SOC_VERSION >> 16) & 0xFF, KMRIG_SOC_VERSION & 0xFFFF,
             (unsigned long long)info->clock_hz);
    return KMRIG_LINK_OK;
}

static void sim_close(struct kmrig_link *link)
{
    struct sim *s = kmrig_link_priv(link);
    kmrig_simsoc_destroy(s->m);
}

static int sim_read(struct kmrig_link *link, unsigned space, uint64_t addr, unsigned size,
                    uint32_t *value, uint64_t *ts)
{
    struct sim *s = kmrig_link_priv(link);
    int rc = kmrig_simsoc_read(s->m, space == KMRIG_SPACE_IO, (uint32_t)addr, size, value);
    *ts = kmrig_simsoc_cycles(s->m);
    return sim_code(rc);
}

static int sim_write(struct kmrig_link *link, unsigned space, uint64_t addr, unsigned size,
                     uint32_t value, uint64_t *ts)
{
    struct sim *s = kmrig_link_priv(link);
    int rc = kmrig_simsoc_write(s->m, space == KMRIG_SPACE_IO, (uint32_t)addr, size, value);
    *ts = kmrig_simsoc_cycles(s->m);
    return sim_code(rc);
}

static int sim_irq_pending(struct kmrig_link *link, uint32_t *lines)
{
    struct sim *s = kmrig_link_priv(link);
    *lines = kmrig_simsoc_irq(s->m);
    return KMRIG_LINK_OK;
}

static int sim_intc_write(struct sim *s, uint32_t reg, uint32_t value)
{
    return sim_code(
        kmrig_simsoc_write(s->m, KMRIG_SOC_INTC_IO, KMRIG_SOC_INTC_BASE + reg, 4, value));
}

static int sim_irq_control(struct kmrig_link *link, unsigned line, enum kmrig_irq_op op)
{
    struct sim *s = kmrig_link_priv(link);
    uint32_t bit = 1u << line;
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

static int sim_irq_timestamp(struct kmrig_link *link, unsigned line, uint64_t *ts)
{
    struct sim *s = kmrig_link_priv(link);
    uint32_t lo = 0, hi = 0;
    uint32_t base = KMRIG_SOC_INTC_BASE + KMRIG_INTC_TS_LO0 + 8 * line;
    int rc = kmrig_simsoc_read(s->m, KMRIG_SOC_INTC_IO, base, 4, &lo);
    if (rc == KMRIG_SIM_OK)
        rc = kmrig_simsoc_read(s->m, KMRIG_SOC_INTC_IO, base + 4, 4, &hi);
    *ts = (uint64_t)hi << 32 | lo;
    return sim_code(rc);
}

static uint64_t sim_now(struct kmrig_link *link)
{
    return kmrig_simsoc_cycles(((struct sim *)kmrig_link_priv(link))->m);
}

static uint64_t sim_advance(struct kmrig_link *link, uint64_t cycles, int stop_on_irq)
{
    struct sim *s = kmrig_link_priv(link);
    if (stop_on_irq)
        return kmrig_simsoc_run_until_irq_change(s->m, cycles);
    kmrig_simsoc_run(s->m, cycles);
    return cycles;
}

static uint64_t sim_next_event(struct kmrig_link *link)
{
    uint64_t n = kmrig_simsoc_next_event(((struct sim *)kmrig_link_priv(link))->m);
    return n >= UINT32_MAX ? UINT64_MAX : n;
}

const struct kmrig_link_ops kmrig_link_sim_ops = {
    .name = "sim",
    .summary = "the reference SoC as an in-process Verilator model (virtual time)",
    .priv_size = sizeof(struct sim),
    .usage = "waves=FILE.fst, gap=0..255, hz=N, noskip, timeout=N; comma-separated",
    .open = sim_open,
    .close = sim_close,
    .read = sim_read,
    .write = sim_write,
    .irq_pending = sim_irq_pending,
    .irq_control = sim_irq_control,
    .irq_timestamp = sim_irq_timestamp,
    .now = sim_now,
    .advance = sim_advance,
    .next_event = sim_next_event,
};

kmrig_simsoc *kmrig_link_sim_model(struct kmrig_link *link)
{
    if (!link || strcmp(kmrig_link_name(link), kmrig_link_sim_ops.name) != 0)
        return NULL;
    return ((struct sim *)kmrig_link_priv(link))->m;
}

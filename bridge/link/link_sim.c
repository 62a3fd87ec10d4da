/* The "sim" transport: a Verilator model linked into the program (kmrig/simsoc.h), by default
 * the reference SoC, at transaction level (host accesses drive the SoC's bus master port
 * directly). The model's clock is the time base: it moves only through accesses and
 * kmrig_link_advance().
 *
 * URI arguments, comma-separated: model=NAME (a model linked into the program, kmrig/sim_model.h;
 * default kmrig_soc), waves=PATH (FST file), gap=N (idle cycles between bus cycles), hz=N (clock
 * frequency), noskip (evaluate every cycle), timeout=N (bus timeout in cycles).
 * Example: sim:waves=run.fst,gap=2; sim:model=crcsoc
 *
 * Built into its own library (kmrig::sim) with the model, so that only programs that link it
 * carry the model; the registry in link.c refers to kmrig_link_sim_ops weakly.
 */
#include <kmrig/link.h>

#include <kmrig/sim_model.h>
#include "../sim/gen/kmrig_soc_map.h" /* KMRIG_INTC_*: the intc block is the same in every SoC */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sim {
    kmrig_simsoc *m;
    const struct kmrig_sim_model *model; /* SoC identity, intc window */
    char model_name[64];
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
        if (!strcmp(tok, "model") && val && strlen(val) < sizeof s->model_name) {
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
    rc = kmrig_simsoc_open_model(s->model_name[0] ? s->model_name : NULL, &cfg, &s->m);
    if (rc == KMRIG_SIM_ENOENT)
        return KMRIG_LINK_EINVAL; /* no such model in this program: the usage names them */
    rc = sim_code(rc);
    if (rc != KMRIG_LINK_OK)
        return rc;
    s->model = kmrig_simsoc_model(s->m);
    s->mask = (1u << s->model->irq_lines) - 1;
    s->mode = 0;
    info->clock_hz = kmrig_simsoc_clock_hz(s->m);
    info->irq_lines = s->model->irq_lines;
    info->soc_id = s->model->soc_id;
    info->soc_version = s->model->soc_version;
    info->virtual_time = 1;
    snprintf(info->description, sizeof info->description,
             "Verilator model of %s %u.%u.%u @ %llu Hz", s->model->top, s->model->soc_version >> 24,
             (s->model->soc_version >> 16) & 0xFF, s->model->soc_version & 0xFFFF,
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
        kmrig_simsoc_write(s->m, s->model->intc_io, s->model->intc_base + reg, 4, value));
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
    uint32_t base = s->model->intc_base + KMRIG_INTC_TS_LO0 + 8 * line;
    int rc = kmrig_simsoc_read(s->m, s->model->intc_io, base, 4, &lo);
    if (rc == KMRIG_SIM_OK)
        rc = kmrig_simsoc_read(s->m, s->model->intc_io, base + 4, 4, &hi);
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
    .summary = "a Verilator model in process, by default the reference SoC (virtual time)",
    .priv_size = sizeof(struct sim),
    .usage = "model=NAME (kmrig_soc, or a user SoC linked into the program), waves=FILE.fst, "
             "gap=0..255, hz=N, noskip, timeout=N; comma-separated",
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

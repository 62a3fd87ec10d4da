/* The kmrig/simsoc.h functions for every model linked into the program, and the registry of
 * models (kmrig/sim_model.h). Part of kmrig_simcore, with the Verilator runtime: linked once
 * per program, however many models it links.
 *
 * An instance is the model's table plus the model's own harness object; each function here
 * calls the model's hook of the same name. */
#include <kmrig/sim_model.h>

#include <stdlib.h>
#include <string.h>

struct kmrig_simsoc {
    const struct kmrig_sim_model *model;
    struct kmrig_sim_impl *impl;
};

/* The models linked into this program. Written by constructors before main() (one thread) and
 * read afterwards; a test that registers its own table does so before opening models. */
#define MAX_MODELS 16
static const struct kmrig_sim_model *models[MAX_MODELS];
static size_t nmodels;

int kmrig_sim_model_register(const struct kmrig_sim_model *model)
{
    if (!model || !model->name || !model->ops)
        return KMRIG_SIM_EINVAL;
    for (size_t i = 0; i < nmodels; i++) {
        if (models[i] == model)
            return KMRIG_SIM_OK;
        if (!strcmp(models[i]->name, model->name))
            return KMRIG_SIM_EINVAL;
    }
    if (nmodels == MAX_MODELS)
        return KMRIG_SIM_ENOMEM;
    models[nmodels++] = model;
    return KMRIG_SIM_OK;
}

const struct kmrig_sim_model *kmrig_sim_model_find(const char *name)
{
    for (size_t i = 0; name && i < nmodels; i++)
        if (!strcmp(models[i]->name, name))
            return models[i];
    return NULL;
}

size_t kmrig_sim_models(const struct kmrig_sim_model **out, size_t max)
{
    for (size_t i = 0; i < nmodels && i < max; i++)
        out[i] = models[i];
    return nmodels;
}

void kmrig_simsoc_config_init(struct kmrig_simsoc_config *cfg)
{
    /* Every model runs the same harness: any registered one gives the defaults. */
    memset(cfg, 0, sizeof *cfg);
    if (nmodels)
        models[0]->ops->config_init(cfg);
}

int kmrig_simsoc_open_model(const char *name, const struct kmrig_simsoc_config *cfg,
                            kmrig_simsoc **out)
{
    *out = NULL;
    const struct kmrig_sim_model *model =
        kmrig_sim_model_find(name ? name : KMRIG_SIM_MODEL_DEFAULT);
    if (!model)
        return KMRIG_SIM_ENOENT;
    kmrig_simsoc *m = calloc(1, sizeof *m);
    if (!m)
        return KMRIG_SIM_ENOMEM;
    m->model = model;
    int rc = model->ops->open(cfg, &m->impl);
    if (rc != KMRIG_SIM_OK) {
        free(m);
        return rc;
    }
    *out = m;
    return KMRIG_SIM_OK;
}

int kmrig_simsoc_open(const struct kmrig_simsoc_config *cfg, kmrig_simsoc **out)
{
    return kmrig_simsoc_open_model(KMRIG_SIM_MODEL_DEFAULT, cfg, out);
}

kmrig_simsoc *kmrig_simsoc_create(const struct kmrig_simsoc_config *cfg)
{
    kmrig_simsoc *m = NULL;
    return kmrig_simsoc_open(cfg, &m) == KMRIG_SIM_OK ? m : NULL;
}

void kmrig_simsoc_destroy(kmrig_simsoc *m)
{
    if (!m)
        return;
    m->model->ops->destroy(m->impl);
    free(m);
}

const struct kmrig_sim_model *kmrig_simsoc_model(const kmrig_simsoc *m)
{
    return m->model;
}

uint64_t kmrig_simsoc_cycles(const kmrig_simsoc *m)
{
    return m->model->ops->cycles(m->impl);
}

uint64_t kmrig_simsoc_clock_hz(const kmrig_simsoc *m)
{
    return m->model->ops->clock_hz(m->impl);
}

int kmrig_simsoc_read(kmrig_simsoc *m, int io_space, uint32_t addr, unsigned size, uint32_t *value)
{
    return m->model->ops->read(m->impl, io_space, addr, size, value);
}

int kmrig_simsoc_write(kmrig_simsoc *m, int io_space, uint32_t addr, unsigned size, uint32_t value)
{
    return m->model->ops->write(m->impl, io_space, addr, size, value);
}

void kmrig_simsoc_run(kmrig_simsoc *m, uint64_t cycles)
{
    m->model->ops->run(m->impl, cycles);
}

uint64_t kmrig_simsoc_run_until_irq_change(kmrig_simsoc *m, uint64_t max_cycles)
{
    return m->model->ops->run_until_irq_change(m->impl, max_cycles);
}

uint64_t kmrig_simsoc_next_event(const kmrig_simsoc *m)
{
    return m->model->ops->next_event(m->impl);
}

uint32_t kmrig_simsoc_irq(const kmrig_simsoc *m)
{
    return m->model->ops->irq(m->impl);
}

void kmrig_simsoc_set_irq_ext(kmrig_simsoc *m, uint32_t lines)
{
    m->model->ops->set_irq_ext(m->impl, lines);
}

void kmrig_simsoc_uart_set_rx(kmrig_simsoc *m, int level)
{
    m->model->ops->uart_set_rx(m->impl, level);
}

int kmrig_simsoc_uart_tx(const kmrig_simsoc *m)
{
    return m->model->ops->uart_tx(m->impl);
}

void kmrig_simsoc_uart_set_modem(kmrig_simsoc *m, unsigned lines)
{
    m->model->ops->uart_set_modem(m->impl, lines);
}

unsigned kmrig_simsoc_uart_modem(const kmrig_simsoc *m)
{
    return m->model->ops->uart_modem(m->impl);
}

void kmrig_simsoc_uart_set_loopback(kmrig_simsoc *m, int on)
{
    m->model->ops->uart_set_loopback(m->impl, on);
}

int kmrig_simsoc_uart_remote(kmrig_simsoc *m, uint32_t cycles_per_bit, unsigned lcr)
{
    return m->model->ops->uart_remote(m->impl, cycles_per_bit, lcr);
}

int kmrig_simsoc_uart_send(kmrig_simsoc *m, const uint8_t *bytes, size_t n)
{
    return m->model->ops->uart_send(m->impl, bytes, n);
}

size_t kmrig_simsoc_uart_send_pending(const kmrig_simsoc *m)
{
    return m->model->ops->uart_send_pending(m->impl);
}

size_t kmrig_simsoc_uart_recv(kmrig_simsoc *m, uint8_t *buf, size_t cap)
{
    return m->model->ops->uart_recv(m->impl, buf, cap);
}

unsigned kmrig_simsoc_uart_recv_errors(const kmrig_simsoc *m)
{
    return m->model->ops->uart_recv_errors(m->impl);
}

uint64_t kmrig_simsoc_run_until_uart_tx_change(kmrig_simsoc *m, uint64_t max_cycles)
{
    return m->model->ops->run_until_uart_tx_change(m->impl, max_cycles);
}

void kmrig_simsoc_set_dma_handler(kmrig_simsoc *m, kmrig_simsoc_dma_fn fn, void *ctx)
{
    m->model->ops->set_dma_handler(m->impl, fn, ctx);
}

int kmrig_simsoc_dma_hold(kmrig_simsoc *m, uint64_t until_cycle)
{
    return m->model->ops->dma_hold(m->impl, until_cycle);
}

int kmrig_simsoc_phy_send(kmrig_simsoc *m, const uint8_t *bytes, size_t n)
{
    return m->model->ops->phy_send(m->impl, bytes, n);
}

size_t kmrig_simsoc_phy_send_pending(const kmrig_simsoc *m)
{
    return m->model->ops->phy_send_pending(m->impl);
}

size_t kmrig_simsoc_phy_recv(kmrig_simsoc *m, uint8_t *buf, size_t cap)
{
    return m->model->ops->phy_recv(m->impl, buf, cap);
}

uint64_t kmrig_simsoc_run_until_phy(kmrig_simsoc *m, uint64_t max_cycles)
{
    return m->model->ops->run_until_phy(m->impl, max_cycles);
}

void kmrig_simsoc_get_stats(const kmrig_simsoc *m, struct kmrig_simsoc_stats *stats)
{
    m->model->ops->get_stats(m->impl, stats);
}

const char *kmrig_simsoc_strerror(int code)
{
    if (code == KMRIG_SIM_ENOENT)
        return "no model of that name is linked into this program";
    if (nmodels)
        return models[0]->ops->strerror(code);
    return code == KMRIG_SIM_OK ? "success" : "unknown error (no model is linked)";
}

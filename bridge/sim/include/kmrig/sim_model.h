/*
 * kmrig/sim_model.h - the Verilator models linked into a program, by name.
 *
 * Every model library (the reference SoC, kmrig::simsoc; a user SoC built with
 * kmrig_add_user_soc in cmake/KmrigSim.cmake) carries the harness compiled for its own top under
 * its own C prefix (<prefix>_open, <prefix>_read, ...) and one `struct kmrig_sim_model` that
 * describes the SoC and points at those functions. The table registers itself under the model's
 * name when the program starts, so one program may link several models; the Verilator runtime
 * is in kmrig_simcore, linked once.
 *
 * The kmrig_simsoc_* functions of kmrig/simsoc.h work on a model of any name: they dispatch
 * through the table of the model the handle was opened on. kmrig_simsoc_open() opens the
 * reference SoC ("kmrig_soc"); kmrig_simsoc_open_model() opens one by name.
 *
 * Plain C, usable from C and C++.
 */
#ifndef KMRIG_SIM_MODEL_H
#define KMRIG_SIM_MODEL_H

#include <kmrig/simsoc.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The name of the reference SoC's model, the default of kmrig_simsoc_open and of "sim". */
#define KMRIG_SIM_MODEL_DEFAULT "kmrig_soc"

/* A model's own instance (the harness object of that model). Opaque. */
struct kmrig_sim_impl;

/* The harness of one model (bridge/sim/kmrig_simsoc.cpp compiled for its top). Each hook is the
 * kmrig/simsoc.h function of the same name, on the model's own instance; all are required.
 * Called by the kmrig_simsoc_* dispatchers only. A function added to kmrig/simsoc.h gets a hook
 * here, its line in bridge/sim/sim_model.c and its dispatcher in bridge/sim/simsoc_api.c
 * (configure stops with a message naming a function that lacks them). */
struct kmrig_sim_model_ops {
    void (*config_init)(struct kmrig_simsoc_config *cfg);
    int (*open)(const struct kmrig_simsoc_config *cfg, struct kmrig_sim_impl **out);
    void (*destroy)(struct kmrig_sim_impl *m);
    uint64_t (*cycles)(const struct kmrig_sim_impl *m);
    uint64_t (*clock_hz)(const struct kmrig_sim_impl *m);
    int (*read)(struct kmrig_sim_impl *m, int io_space, uint32_t addr, unsigned size,
                uint32_t *value);
    int (*write)(struct kmrig_sim_impl *m, int io_space, uint32_t addr, unsigned size,
                 uint32_t value);
    void (*run)(struct kmrig_sim_impl *m, uint64_t cycles);
    uint64_t (*run_until_irq_change)(struct kmrig_sim_impl *m, uint64_t max_cycles);
    uint64_t (*next_event)(const struct kmrig_sim_impl *m);
    uint32_t (*irq)(const struct kmrig_sim_impl *m);
    void (*set_irq_ext)(struct kmrig_sim_impl *m, uint32_t lines);
    void (*uart_set_rx)(struct kmrig_sim_impl *m, int level);
    int (*uart_tx)(const struct kmrig_sim_impl *m);
    void (*uart_set_modem)(struct kmrig_sim_impl *m, unsigned lines);
    unsigned (*uart_modem)(const struct kmrig_sim_impl *m);
    void (*uart_set_loopback)(struct kmrig_sim_impl *m, int on);
    int (*uart_remote)(struct kmrig_sim_impl *m, uint32_t cycles_per_bit, unsigned lcr);
    int (*uart_send)(struct kmrig_sim_impl *m, const uint8_t *bytes, size_t n);
    size_t (*uart_send_pending)(const struct kmrig_sim_impl *m);
    size_t (*uart_recv)(struct kmrig_sim_impl *m, uint8_t *buf, size_t cap);
    unsigned (*uart_recv_errors)(const struct kmrig_sim_impl *m);
    uint64_t (*run_until_uart_tx_change)(struct kmrig_sim_impl *m, uint64_t max_cycles);
    void (*set_dma_handler)(struct kmrig_sim_impl *m, kmrig_simsoc_dma_fn fn, void *ctx);
    int (*dma_hold)(struct kmrig_sim_impl *m, uint64_t until_cycle);
    int (*phy_send)(struct kmrig_sim_impl *m, const uint8_t *bytes, size_t n);
    size_t (*phy_send_pending)(const struct kmrig_sim_impl *m);
    size_t (*phy_recv)(struct kmrig_sim_impl *m, uint8_t *buf, size_t cap);
    uint64_t (*run_until_phy)(struct kmrig_sim_impl *m, uint64_t max_cycles);
    void (*get_stats)(const struct kmrig_sim_impl *m, struct kmrig_simsoc_stats *stats);
    const char *(*strerror)(int code);
};

/* What a model is: the SoC's identity and the places the sim transport needs, generated from
 * the SoC's json by rtl/gen_soc.py. */
struct kmrig_sim_model {
    const char *name;     /* "kmrig_soc", or the NAME given to kmrig_add_user_soc */
    const char *top;      /* the Verilog top module */
    const char *c_prefix; /* the prefix of this model's own C functions */
    uint32_t soc_id;      /* sysid ID */
    uint32_t soc_version; /* sysid VERSION */
    uint64_t clock_hz;    /* the SoC's nominal clock */
    unsigned irq_lines;   /* lines of the interrupt controller */
    unsigned irq_ext_first;
    uint32_t rom_base; /* enumeration ROM window (memory space) */
    uint32_t rom_size;
    uint32_t intc_base; /* interrupt controller window */
    int intc_io;        /* 1: the intc is in I/O-port space */
    const struct kmrig_sim_model_ops *ops;
};

/* Adds a model to the program's list. Called by each model library's constructor; a test may
 * call it for a table of its own. Returns 0, KMRIG_SIM_EINVAL for a table without a name or
 * ops, or with the name of a different table already registered, KMRIG_SIM_ENOMEM when the list
 * (16 models) is full. Registering the same table again is a no-op. */
int kmrig_sim_model_register(const struct kmrig_sim_model *model);
/* The registered model of that name, or NULL. */
const struct kmrig_sim_model *kmrig_sim_model_find(const char *name);
/* Stores up to max registered models in out, in registration order; returns how many there are. */
size_t kmrig_sim_models(const struct kmrig_sim_model **out, size_t max);

/* Opens the model of that name (NULL: KMRIG_SIM_MODEL_DEFAULT). Returns 0 and sets *out, or a
 * negative KMRIG_SIM_E* code: KMRIG_SIM_ENOENT when no model of that name is linked. */
int kmrig_simsoc_open_model(const char *name, const struct kmrig_simsoc_config *cfg,
                            kmrig_simsoc **out);
/* The model an instance was opened on. */
const struct kmrig_sim_model *kmrig_simsoc_model(const kmrig_simsoc *m);

#ifdef __cplusplus
}
#endif

#endif

/* The table of one model (kmrig/sim_model.h): compiled once per model library by
 * kmrig_add_sim_model (cmake/KmrigSim.cmake), next to the harness compiled for the same top.
 *
 * Both files are compiled with the model's generated rename header forced in first (-include):
 * it renames the kmrig_simsoc_* functions of kmrig/simsoc.h to the model's prefix
 * (<prefix>_read, ...), so several models link into one program, and names here the opaque
 * instance type `struct kmrig_sim_impl` that the table's hooks take (the C++ harness names its
 * class after the prefix; both are the same object pointer behind extern "C" functions).
 * kmrig_soc_map.h is the map of this model's SoC (rtl/gen_soc.py). */
#include <kmrig/sim_model.h>

#include "kmrig_soc_map.h"

#ifndef KMRIG_SIM_MODEL_TABLE
#error "compile with the model's rename header (cmake/KmrigSim.cmake)"
#endif

static const struct kmrig_sim_model_ops ops = {
    .config_init = kmrig_simsoc_config_init,
    .open = kmrig_simsoc_open,
    .destroy = kmrig_simsoc_destroy,
    .cycles = kmrig_simsoc_cycles,
    .clock_hz = kmrig_simsoc_clock_hz,
    .read = kmrig_simsoc_read,
    .write = kmrig_simsoc_write,
    .run = kmrig_simsoc_run,
    .run_until_irq_change = kmrig_simsoc_run_until_irq_change,
    .next_event = kmrig_simsoc_next_event,
    .irq = kmrig_simsoc_irq,
    .set_irq_ext = kmrig_simsoc_set_irq_ext,
    .uart_set_rx = kmrig_simsoc_uart_set_rx,
    .uart_tx = kmrig_simsoc_uart_tx,
    .uart_set_modem = kmrig_simsoc_uart_set_modem,
    .uart_modem = kmrig_simsoc_uart_modem,
    .uart_set_loopback = kmrig_simsoc_uart_set_loopback,
    .uart_remote = kmrig_simsoc_uart_remote,
    .uart_send = kmrig_simsoc_uart_send,
    .uart_send_pending = kmrig_simsoc_uart_send_pending,
    .uart_recv = kmrig_simsoc_uart_recv,
    .uart_recv_errors = kmrig_simsoc_uart_recv_errors,
    .run_until_uart_tx_change = kmrig_simsoc_run_until_uart_tx_change,
    .set_dma_handler = kmrig_simsoc_set_dma_handler,
    .dma_hold = kmrig_simsoc_dma_hold,
    .phy_send = kmrig_simsoc_phy_send,
    .phy_send_pending = kmrig_simsoc_phy_send_pending,
    .phy_recv = kmrig_simsoc_phy_recv,
    .run_until_phy = kmrig_simsoc_run_until_phy,
    .get_stats = kmrig_simsoc_get_stats,
    .strerror = kmrig_simsoc_strerror,
};

const struct kmrig_sim_model KMRIG_SIM_MODEL_TABLE = {
    .name = KMRIG_SIM_MODEL_NAME,
    .top = KMRIG_SIM_MODEL_TOP,
    .c_prefix = KMRIG_SIM_MODEL_PREFIX,
    .soc_id = KMRIG_SOC_ID,
    .soc_version = KMRIG_SOC_VERSION,
    .clock_hz = KMRIG_SOC_CLOCK_HZ,
    .irq_lines = KMRIG_SOC_IRQ_LINES,
    .irq_ext_first = KMRIG_SOC_IRQ_EXT_FIRST,
    .rom_base = KMRIG_SOC_ROM_BASE,
    .rom_size = KMRIG_SOC_ROM_SIZE,
    .intc_base = KMRIG_SOC_INTC_BASE,
    .intc_io = KMRIG_SOC_INTC_IO,
    .ops = &ops,
};

/* The library names this table as undefined in every program that links it
 * (LINKER:--undefined), so this object, and with it the registration, is always linked. */
__attribute__((constructor)) static void register_model(void)
{
    kmrig_sim_model_register(&KMRIG_SIM_MODEL_TABLE);
}

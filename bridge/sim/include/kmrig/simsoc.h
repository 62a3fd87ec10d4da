/*
 * kmrig/simsoc.h - the reference SoC (rtl/kmrig_soc.v) as an in-process Verilator model.
 *
 * The model is driven cycle by cycle through the SoC's host Wishbone master port: every call
 * advances the model's clock by a known, deterministic number of cycles, and nothing else does.
 * The same sequence of calls on a fresh model gives the same cycle counts, register values and
 * interrupt vector, bit for bit. Time is virtual: cycles / clock_hz seconds.
 *
 * Lifecycle: kmrig_simsoc_open()/create() build a model and take it out of reset (cycle 0);
 * kmrig_simsoc_destroy() is called if and only if open succeeded. Each model owns its Verilator
 * context, so several models may live in one process. A model is not thread-safe: the caller
 * serialises calls on one model (different models may be used from different threads).
 *
 * Cost model of this harness (docs/rtl.md): a bus access takes 2 cycles (the cycle that the
 * slave acknowledges, then one idle cycle) plus wait states plus the configured idle gap.
 *
 * Plain C, usable from C and C++; no wchar_t, nothing here depends on -fshort-wchar.
 */
#ifndef KMRIG_SIMSOC_H
#define KMRIG_SIMSOC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Negative return codes. */
#define KMRIG_SIM_OK 0
#define KMRIG_SIM_EINVAL (-1)   /* bad argument: size not 1/2/4, misaligned, I/O port > 0xFFFF */
#define KMRIG_SIM_EBUS (-2)     /* the access ended with Wishbone ERR (unmapped address) */
#define KMRIG_SIM_ETIMEOUT (-3) /* no ACK/ERR within bus_timeout cycles */
#define KMRIG_SIM_ENOMEM (-4)
#define KMRIG_SIM_ENOTSUP (-5) /* waves asked for, but the model was built without FST */
#define KMRIG_SIM_EIO (-6)     /* the waveform file could not be opened */
#define KMRIG_SIM_ENOENT (-7)  /* no model of that name is linked (kmrig/sim_model.h) */

typedef struct kmrig_simsoc kmrig_simsoc;

struct kmrig_simsoc_config {
    uint64_t clock_hz;      /* clock frequency for time conversion and waves; 0: 50 MHz */
    const char *waves_path; /* FST waveform file to write, or NULL for none (no cost) */
    unsigned idle_gap;      /* idle cycles the interconnect inserts between bus cycles, 0..255 */
    unsigned bus_timeout;   /* cycles to wait for ACK/ERR before KMRIG_SIM_ETIMEOUT; 0: 1024 */
    int no_skip;            /* nonzero: evaluate every cycle, never skip idle stretches
                               (same results, slower; for checking the skipping) */
    unsigned dma_wait;      /* wait states the DMA port inserts before answering each cycle
                               (0: answered in the cycle presented, one word per cycle) */
    int bridge;             /* nonzero: full-bridge fidelity. The bridge frame engine in front of
                               the SoC (rtl/bridge/kmrig_soc_bridge.v) masters the bus and serves
                               the DMA port; the host talks to it in frames through
                               kmrig_simsoc_phy_*(), and kmrig_simsoc_read/write return
                               KMRIG_SIM_ENOTSUP, the DMA handler is never called (DMA goes out
                               as frames), and kmrig_simsoc_irq() stays the SoC intc's vector (the
                               bridge's interrupt unit reports in frames). KMRIG_SIM_ENOTSUP from
                               open when the model's top has no bridge. */
};

/* Counters for measuring the harness (not part of the model's state). */
struct kmrig_simsoc_stats {
    uint64_t edges;           /* clock edges evaluated (a skip counts one) */
    uint64_t skipped_cycles;  /* cycles advanced without their own evaluation */
    uint64_t bus_cycles;      /* Wishbone cycles run (reads + writes, including failed ones) */
    uint64_t bus_errors;      /* ... of which ended with ERR or a timeout */
    uint64_t dma_cycles;      /* DMA port cycles served (kmrig_simsoc_set_dma_handler) */
    uint64_t dma_errors;      /* ... of which ended with ERR: refused by the handler, no handler,
                                 a bad select, or a cycle changed while waiting */
    uint64_t dma_held_cycles; /* cycles DMA port cycles were held (kmrig_simsoc_dma_hold) */
    uint64_t phy_rx_bytes;    /* full bridge: bytes the bridge took from the host */
    uint64_t phy_tx_bytes;    /* ... and bytes it sent to the host */
};

/* Fills cfg with the defaults (the same that a NULL cfg gives). */
void kmrig_simsoc_config_init(struct kmrig_simsoc_config *cfg);

/* Creates a model of the reference SoC; cfg may be NULL for the defaults. Returns 0 and sets
 * *out, or a negative KMRIG_SIM_E* code. Other models (several may be linked into one program)
 * open by name with kmrig_simsoc_open_model (kmrig/sim_model.h); every function below works on
 * an instance of any model. */
int kmrig_simsoc_open(const struct kmrig_simsoc_config *cfg, kmrig_simsoc **out);
/* As kmrig_simsoc_open, returning the model or NULL. */
kmrig_simsoc *kmrig_simsoc_create(const struct kmrig_simsoc_config *cfg);
/* Finishes the model (Verilator final(), closes the waveform file) and frees it. NULL is ok. */
void kmrig_simsoc_destroy(kmrig_simsoc *m);

/* Cycles elapsed since reset was released. Equals the sysid timestamp counter. */
uint64_t kmrig_simsoc_cycles(const kmrig_simsoc *m);
uint64_t kmrig_simsoc_clock_hz(const kmrig_simsoc *m);

/* One Wishbone cycle to completion. io_space: 0 memory, 1 I/O port. addr: byte address,
 * naturally aligned to size (1, 2 or 4); the access uses the byte lanes of addr & 3 (an 8-bit
 * register at byte offset 1 is sel = 0b0010, data[15:8]). read stores the value, shifted down
 * to bit 0, in *value (0 on error). Returns 0 or KMRIG_SIM_EINVAL/EBUS/ETIMEOUT. */
int kmrig_simsoc_read(kmrig_simsoc *m, int io_space, uint32_t addr, unsigned size, uint32_t *value);
int kmrig_simsoc_write(kmrig_simsoc *m, int io_space, uint32_t addr, unsigned size, uint32_t value);

/* Advances exactly `cycles` cycles. Stretches in which every peripheral reports that nothing
 * but free-running counters changes are advanced in one evaluation; the result is the same as
 * evaluating every cycle (struct kmrig_simsoc_config.no_skip). */
void kmrig_simsoc_run(kmrig_simsoc *m, uint64_t cycles);
/* Advances until the interrupt vector differs from its value at the call, or max_cycles have
 * passed. Returns the cycles advanced (<= max_cycles; the vector has changed iff the return is
 * below max_cycles or kmrig_simsoc_irq() now differs). */
uint64_t kmrig_simsoc_run_until_irq_change(kmrig_simsoc *m, uint64_t max_cycles);
/* Cycles until the model's next event (a state change other than a free-running count), as the
 * peripherals report it; UINT32_MAX when they are all idle. Reading it costs nothing. */
uint64_t kmrig_simsoc_next_event(const kmrig_simsoc *m);

/* Interrupt vector: bit n = line n pending and not masked in the interrupt controller. */
uint32_t kmrig_simsoc_irq(const kmrig_simsoc *m);
/* Drives the interrupt inputs that come from outside the SoC (lines in KMRIG_SOC_IRQ_EXT_MASK
 * of kmrig_soc_map.h; other bits are ignored). Sampled by the interrupt controller at the next
 * clock edge. */
void kmrig_simsoc_set_irq_ext(kmrig_simsoc *m, uint32_t lines);

/* uart0 pins (rtl/kmrig_uart16550.v, docs/rtl.md "uart0"). Levels are logic levels, active
 * high: the serial line idles at 1 (mark), a modem line reads 1 when asserted. Inputs set from C
 * are evaluated at once and sampled by the UART's synchronisers at the next clock edges, like
 * kmrig_simsoc_set_irq_ext. At open, rx is 1 and the modem inputs are 0. */
#define KMRIG_SIM_UART_CTS 0x1u /* kmrig_simsoc_uart_set_modem() bits = MSR[7:4] */
#define KMRIG_SIM_UART_DSR 0x2u
#define KMRIG_SIM_UART_RI 0x4u
#define KMRIG_SIM_UART_DCD 0x8u
#define KMRIG_SIM_UART_DTR 0x1u /* kmrig_simsoc_uart_modem() bits = MCR[3:0] */
#define KMRIG_SIM_UART_RTS 0x2u
#define KMRIG_SIM_UART_OUT1 0x4u
#define KMRIG_SIM_UART_OUT2 0x8u
/* Drives the receive line (0 or 1). Ignored while the loopback plug or a remote end is in. */
void kmrig_simsoc_uart_set_rx(kmrig_simsoc *m, int level);
/* The transmit line as the last clock edge left it (1 while idle and in MCR loopback). */
int kmrig_simsoc_uart_tx(const kmrig_simsoc *m);
/* Drives the modem status inputs (KMRIG_SIM_UART_CTS/DSR/RI/DCD). Ignored while the plug is in. */
void kmrig_simsoc_uart_set_modem(kmrig_simsoc *m, unsigned lines);
/* The modem control outputs (KMRIG_SIM_UART_DTR/RTS/OUT1/OUT2; 0 in MCR loopback). */
unsigned kmrig_simsoc_uart_modem(const kmrig_simsoc *m);
/* A loopback plug on the serial port, as on a bench: nonzero connects TX to RX, RTS to CTS and
 * DTR to DSR and DCD (RI reads 0) outside the UART, from now on, until called with 0 (the
 * inputs then keep their last level). The harness copies the outputs to the inputs after every
 * clock edge, so a level change reaches the UART's synchroniser one edge after it left, exactly
 * as a wire would, and idle skipping stays exact. */
void kmrig_simsoc_uart_set_loopback(kmrig_simsoc *m, int on);
/* The remote end of the serial line: a terminal with its own bit clock, as a bench's USB-serial
 * adapter would be. kmrig_simsoc_uart_remote() sets its speed and frame format and connects it
 * (replacing the loopback plug); cycles_per_bit = 0 disconnects it. lcr: the frame format as in
 * the UART's LCR bits 5:0 (word length, stop bits, parity). The sender drives RX: a byte queued
 * with kmrig_simsoc_uart_send starts now if the line is idle (rx falls before the next edge),
 * else right after the previous frame's stop bits; every level lasts exactly its bit time (a
 * 1.5 stop bit: 1.5 bit times, rounded down to whole cycles from the frame start), and idle
 * skipping lands on each change. The receiver decodes TX, sampling the middle of each bit from
 * the falling edge of the start bit; a byte is available from the cycle of its stop-bit sample
 * (kmrig_simsoc_uart_recv). A frame with a start bit that is not 0, a wrong parity or a 0 stop
 * bit still yields its byte and counts a receive error. Returns 0 or KMRIG_SIM_EINVAL
 * (cycles_per_bit 1, lcr beyond bits 5:0; send without a remote end). */
int kmrig_simsoc_uart_remote(kmrig_simsoc *m, uint32_t cycles_per_bit, unsigned lcr);
int kmrig_simsoc_uart_send(kmrig_simsoc *m, const uint8_t *bytes, size_t n);
/* Bytes queued with kmrig_simsoc_uart_send whose frame has not ended yet. */
size_t kmrig_simsoc_uart_send_pending(const kmrig_simsoc *m);
/* Takes up to cap received bytes, oldest first; returns how many. */
size_t kmrig_simsoc_uart_recv(kmrig_simsoc *m, uint8_t *buf, size_t cap);
/* Frames received with an error (start, parity or stop bit) since the remote was set. */
unsigned kmrig_simsoc_uart_recv_errors(const kmrig_simsoc *m);
/* Advances until the transmit line differs from its level at the call, or max_cycles have
 * passed; returns the cycles advanced (as kmrig_simsoc_run_until_irq_change). Skips idle
 * stretches, so timing a character costs a few evaluations per bit. */
uint64_t kmrig_simsoc_run_until_uart_tx_change(kmrig_simsoc *m, uint64_t max_cycles);

/* The DMA port (docs/rtl.md, "DMA port"): the DMA masters (dma0, sysdma) reach host memory
 * through it. The harness serves it as a Wishbone slave: for every cycle a master presents, it
 * calls fn once, synchronously, from inside whichever call is advancing the clock (run,
 * run_until_*, read, write), on the caller's thread. One call per Wishbone cycle: one word or
 * part of one (bursts may later come as several calls); the answer reaches the master on the
 * next edge, so a master that keeps the port busy moves one word per cycle (with
 * struct kmrig_simsoc_config.dma_wait = w, fn is called w edges after the cycle appears and
 * answered for the edge after that: one word per w + 1 cycles; a master that changes the
 * address, data, select or direction of a cycle while it waits gets ERR, and fn is not called).
 *   write: 1 the device writes memory (*data holds the value), 0 it reads (store in *data);
 *   bus_addr: byte address of the lowest byte, naturally aligned to size (1, 2 or 4);
 *   data: the value in bits 8*size-1:0 (the harness does the byte lanes, as in read/write).
 * Return 0 to complete the cycle, nonzero to end it with a bus error: the master sees a DMA
 * fault (dma0: STATUS.ERROR, its code and address, and its interrupt). fn must not call any
 * kmrig_simsoc_* function on the same model. fn = NULL (the default) refuses every cycle.
 * Setting a handler takes effect for the next cycle. */
typedef int (*kmrig_simsoc_dma_fn)(void *ctx, int write, uint64_t bus_addr, unsigned size,
                                   uint32_t *data);
void kmrig_simsoc_set_dma_handler(kmrig_simsoc *m, kmrig_simsoc_dma_fn fn, void *ctx);
/* Only from inside the DMA handler: the cycle being served is answered (ACK, or ERR if fn fails
 * it) after the edge that reaches until_cycle instead of after this one, so the master takes the
 * answer at edge until_cycle + 1 (the data has moved already; only time is modelled: a link
 * profile's completion time, kmrig_link_dma_at). The master's cycle stays on the port meanwhile;
 * if it changes, it ends with ERR. The model advances normally and skips idle stretches up to
 * until_cycle (the hold is an event for kmrig_simsoc_next_event). A cycle at or before the
 * current one holds nothing; several calls keep the latest cycle. Returns 0, or KMRIG_SIM_EINVAL
 * outside the handler. */
int kmrig_simsoc_dma_hold(kmrig_simsoc *m, uint64_t until_cycle);

/* Full-bridge fidelity (struct kmrig_simsoc_config.bridge; docs/rtl.md, "Bridge"): the PHY of
 * the bridge frame engine, a byte stream each way at one byte per clock cycle (50 MB/s at the
 * reference 50 MHz), full duplex, always ready on the host side. Bytes queued with
 * kmrig_simsoc_phy_send are taken by the bridge one per edge from the next edge on, as the
 * clock advances (run, run_until_*); bytes it sends collect until kmrig_simsoc_phy_recv takes
 * them. Framing is the caller's: docs/protocol.md, kmrig/protocol.h. send returns 0 or
 * KMRIG_SIM_EINVAL (not a bridge model). */
int kmrig_simsoc_phy_send(kmrig_simsoc *m, const uint8_t *bytes, size_t n);
/* Bytes queued by kmrig_simsoc_phy_send that the bridge has not taken yet. */
size_t kmrig_simsoc_phy_send_pending(const kmrig_simsoc *m);
/* Takes up to cap bytes the bridge sent, oldest first; returns how many. */
size_t kmrig_simsoc_phy_recv(kmrig_simsoc *m, uint8_t *buf, size_t cap);
/* Advances until the bridge has sent something and paused (the end of a frame, or of a run of
 * back-to-back frames), or max_cycles have passed; returns the cycles advanced. Idle stretches
 * are skipped as in kmrig_simsoc_run, so waiting for an interrupt event costs little. */
uint64_t kmrig_simsoc_run_until_phy(kmrig_simsoc *m, uint64_t max_cycles);

void kmrig_simsoc_get_stats(const kmrig_simsoc *m, struct kmrig_simsoc_stats *stats);
const char *kmrig_simsoc_strerror(int code);

#ifdef __cplusplus
}
#endif

#endif

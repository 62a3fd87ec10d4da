/*
 * kmrig/phy_model.h - the PHY models: the reference SoC and bridge behind a PHY
 * (rtl/phy/kmrig_soc_ft245.v, rtl/phy/kmrig_soc_uart.v) as Verilator models, with a C++
 * emulation of the FTDI chip on the PHY's pins, seen from the USB host (docs/rtl.md, "PHYs").
 *
 *   KMRIG_PHY_FT245  an FT232H in synchronous 245 FIFO mode on kmrig_soc_ft245: the chip's
 *                    60 MHz CLKOUT against the 50 MHz system clock (different periods, so the
 *                    clock-domain crossing runs at every phase), RXF#/TXE#/RD#/WR#/OE#/SI/WU.
 *   KMRIG_PHY_UART   an FT2232H channel in UART mode (8N1, RTS/CTS) on kmrig_soc_uart.
 *
 * What the USB host sees is what the chip sends: bulk IN packets of at most `packet` bytes
 * (512 at high speed, 64 at full speed), each starting with 2 status bytes (modem status, line
 * status), the rest data. The chip sends a packet when it holds packet - 2 bytes, when the
 * FPGA pulsed SI/WU (FT245: all bytes written before the pulse go out, or one status-only
 * packet when there were none), or when the latency timer expires (a status-only packet when
 * it holds nothing). Bulk OUT data goes into the chip's receive buffer (`rx_buf` bytes; a
 * packet that does not fit is refused, as USB NAKs it), TX data from the FPGA into its
 * transmit buffer (`tx_buf` bytes; TXE# goes high / CTS is dropped when it is full).
 *
 * Time is the model's: it advances only in kmrig_phy_model_run_ns (and the calls that say so).
 * A model is single-threaded: the caller serialises calls on one model.
 */
#ifndef KMRIG_PHY_MODEL_H
#define KMRIG_PHY_MODEL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KMRIG_PHY_FT245 0
#define KMRIG_PHY_UART 1

/* Line status bits of the second status byte (as libftdi's FTDI_* names). */
#define KMRIG_PHY_LS_OE 0x02u   /* overrun: the chip's receive side lost a byte */
#define KMRIG_PHY_LS_PE 0x04u   /* parity error */
#define KMRIG_PHY_LS_FE 0x08u   /* framing error */
#define KMRIG_PHY_LS_BI 0x10u   /* break */
#define KMRIG_PHY_LS_THRE 0x20u /* transmit holding register empty */
#define KMRIG_PHY_LS_TEMT 0x40u /* transmitter empty */
#define KMRIG_PHY_LS_ERR 0x80u  /* error in the receive FIFO */

struct kmrig_phy_model_config {
    int kind;               /* KMRIG_PHY_FT245 or KMRIG_PHY_UART */
    unsigned latency_ms;    /* latency timer, 1..255 (0: 16, the chip's default) */
    unsigned packet;        /* bulk IN max packet size (0: 512) */
    unsigned rx_buf;        /* chip receive buffer, host to FPGA (0: 1024) */
    unsigned tx_buf;        /* chip transmit buffer, FPGA to host (0: 1024) */
    unsigned baud;          /* UART: the chip's baud rate (0: 2000000, the PHY's DIVISOR 25) */
    int no_flow;            /* UART: the chip ignores CTS (RTS/CTS off) */
    const char *waves_path; /* FST waveform file, or NULL */
};

struct kmrig_phy_model_stats {
    uint64_t out_bytes;        /* bulk OUT bytes accepted */
    uint64_t in_bytes;         /* data bytes sent in IN packets (status bytes not counted) */
    uint64_t in_packets;       /* IN packets, status-only ones included */
    uint64_t status_only;      /* IN packets with no data */
    uint64_t siwu_pulses;      /* FT245: SI/WU pulses seen */
    uint64_t violations;       /* FT245: pin protocol violations (RD# without OE#, both ends
                                  driving D, WR# with D not driven): must stay 0 */
    uint64_t chip_rx_errors;   /* UART: framing errors the chip's receiver saw on the FPGA's TXD */
    uint64_t phy_frame_errors; /* UART: the PHY's frame_errors_o */
    uint64_t phy_overruns;     /* UART: the PHY's overruns_o */
};

struct kmrig_phy_model;

/* 0 and *out, or -1 (bad config: kind, latency) / -2 (out of memory) / -3 (waves file). */
int kmrig_phy_model_open(const struct kmrig_phy_model_config *cfg, struct kmrig_phy_model **out);
void kmrig_phy_model_close(struct kmrig_phy_model *m);

/* Model time in ns since reset was released. */
uint64_t kmrig_phy_model_now_ns(const struct kmrig_phy_model *m);
/* Advances the model by ns. */
void kmrig_phy_model_run_ns(struct kmrig_phy_model *m, uint64_t ns);

/* A bulk OUT of n bytes: the chip takes whole packets while its receive buffer has room (the
 * last one may be short). Returns the bytes taken (0 when the buffer is full: the host retries). */
size_t kmrig_phy_model_bulk_out(struct kmrig_phy_model *m, const void *data, size_t n);
/* One bulk IN packet if the chip has one to send now, else 0. cap must be at least the packet
 * size. Returns the packet's length (2 status bytes + data). */
size_t kmrig_phy_model_bulk_in(struct kmrig_phy_model *m, uint8_t *buf, size_t cap);
/* Bytes waiting in the chip's transmit buffer (FPGA to host, not yet in a packet). */
size_t kmrig_phy_model_tx_pending(const struct kmrig_phy_model *m);

/* The SoC's external interrupt inputs (irq_ext_i[2:0]: interrupt lines 5..7). */
void kmrig_phy_model_set_irq_ext(struct kmrig_phy_model *m, unsigned mask);
/* UART fault injection on the host-to-FPGA line: the next byte the chip shifts out after
 * `after` more bytes has its bits XORed with `xor_mask` (0x100 sends a 0 stop bit: a framing
 * error), or is dropped when drop is set. One pending injection at a time. */
void kmrig_phy_model_uart_inject(struct kmrig_phy_model *m, uint64_t after, unsigned xor_mask,
                                 int drop);
void kmrig_phy_model_get_stats(const struct kmrig_phy_model *m, struct kmrig_phy_model_stats *s);

#ifdef __cplusplus
}
#endif

#endif

/*
 * test_ftdi_link.c - the ftdi and usb transports end to end: kmrig_link_open("ftdi://...") and
 * "usb://..." with the stream engine (bridge/link/stream.c) over their bulk pipe, against the
 * FT245 and UART PHY RTL on the model. The one function that picks the USB backend
 * (kmrig_ftdi_io_backend / kmrig_usb_io_backend, in the files that hold the libftdi1/libusb
 * calls) is replaced with -Wl,--wrap by the chip emulation (ftdi_emu.c); all else is the code a
 * board runs. The engine's timeouts are wall time while the model runs at about 2 % of real
 * time, hence timeout=20000 in the URIs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdatomic.h>
#include <time.h>

#include "ftdi_emu.h"
#include "link_ftdi.h"

#include <kmrig/link.h>
#include <kmrig/phy_model.h>
#include <kmrig_soc_map.h>

#define SCRATCH (KMRIG_SOC_SYSID_BASE + KMRIG_SYSID_SCRATCH)

static struct ftdi_emu emu; /* the device the wrapped backends return */

const struct ftdi_io_ops *__wrap_kmrig_ftdi_io_backend(void **ctx);
const struct ftdi_io_ops *__wrap_kmrig_ftdi_io_backend(void **ctx)
{
    *ctx = &emu;
    return &ftdi_io_emu;
}

const struct ftdi_io_ops *__wrap_kmrig_usb_io_backend(void **ctx);
const struct ftdi_io_ops *__wrap_kmrig_usb_io_backend(void **ctx)
{
    *ctx = &emu;
    return &ftdi_io_emu;
}

static void device(int kind, int raw)
{
    struct kmrig_phy_model_config c;
    memset(&c, 0, sizeof c);
    c.kind = kind;
    c.latency_ms = kind == KMRIG_PHY_UART ? 1 : 16;
    ftdi_emu_init(&emu);
    assert_int_equal(kmrig_phy_model_open(&c, &emu.model), 0);
    emu.packet = 512;
    emu.chip = kind == KMRIG_PHY_UART ? "FT2232H" : "FT232H";
    emu.raw = raw;
}

static void device_close(void)
{
    kmrig_phy_model_close(emu.model);
    ftdi_emu_destroy(&emu);
}

static struct kmrig_link *open_link(const char *uri)
{
    struct kmrig_link *l = NULL;
    char err[512];
    int rc = kmrig_link_open(uri, &l, err, sizeof err);
    if (rc)
        fail_msg("%s: %s (%s)", uri, kmrig_link_strerror(rc), err);
    return l;
}

static void check_access(struct kmrig_link *l)
{
    const struct kmrig_link_info *info = kmrig_link_get_info(l);
    assert_int_equal(info->soc_id, KMRIG_SOC_ID);
    assert_int_equal(info->virtual_time, 0);
    assert_int_equal(kmrig_link_write(l, KMRIG_SPACE_MEM, SCRATCH, 4, 0xFEEDC0DE, NULL), 0);
    uint32_t v = 0;
    assert_int_equal(kmrig_link_read(l, KMRIG_SPACE_MEM, SCRATCH, 4, &v, NULL), 0);
    assert_int_equal(v, 0xFEEDC0DE);
    assert_int_equal(kmrig_link_read(l, KMRIG_SPACE_MEM, KMRIG_SOC_SYSID_BASE, 4, &v, NULL), 0);
    assert_int_equal(v, 0x4B4D5247);
    uint32_t old = 0;
    assert_int_equal(
        kmrig_link_rmw(l, KMRIG_SPACE_MEM, SCRATCH, 4, 0x0000FFFF, 0x00001234, &old, NULL), 0);
    assert_int_equal(old, 0xFEEDC0DE);
    assert_int_equal(kmrig_link_read(l, KMRIG_SPACE_MEM, SCRATCH, 4, &v, NULL), 0);
    assert_int_equal(v, 0xFEED1234);
    /* nothing decodes this address: a bus error, not a transport failure */
    assert_int_equal(kmrig_link_read(l, KMRIG_SPACE_MEM, 0x00F00000, 4, &v, NULL), KMRIG_LINK_EBUS);
}

struct events {
    atomic_int irq, gone;
};

static void on_event(void *ctx, struct kmrig_link *l, enum kmrig_link_event ev)
{
    (void)l;
    struct events *e = ctx;
    atomic_fetch_add(ev == KMRIG_LINK_EV_IRQ ? &e->irq : &e->gone, 1);
}

static int wait_for(atomic_int *v, int seconds)
{
    for (int i = 0; i < seconds * 100 && !atomic_load(v); i++)
        nanosleep(&(struct timespec){0, 10000000}, NULL);
    return atomic_load(v);
}

static void test_ftdi_link_fifo_accesses_and_interrupt(void **state)
{
    (void)state;
    device(KMRIG_PHY_FT245, 0);
    struct kmrig_link *l = open_link("ftdi://0403:6014,s=EMU00001,timeout=20000");
    assert_non_null(strstr(kmrig_link_get_info(l)->description, "FT232H EMU00001/A fifo"));
    check_access(l);
    struct events ev = {0, 0};
    kmrig_link_set_event_handler(l, on_event, &ev);
    assert_int_equal(kmrig_link_irq_control(l, 5, KMRIG_IRQ_UNMASK), 0);
    ftdi_emu_set_irq_ext(&emu, 1); /* line 5 */
    assert_true(wait_for(&ev.irq, 60));
    uint32_t lines = 0;
    assert_int_equal(kmrig_link_irq_pending(l, &lines), 0);
    assert_int_equal(lines & (1u << 5), 1u << 5);
    kmrig_link_close(l);
    device_close();
}

/* The cable is pulled: the engine reports GONE once, every access fails with EGONE at once. */
static void test_ftdi_link_device_gone(void **state)
{
    (void)state;
    device(KMRIG_PHY_FT245, 0);
    struct kmrig_link *l = open_link("ftdi://timeout=20000");
    struct events ev = {0, 0};
    kmrig_link_set_event_handler(l, on_event, &ev);
    uint32_t v;
    assert_int_equal(kmrig_link_read(l, KMRIG_SPACE_MEM, SCRATCH, 4, &v, NULL), 0);
    ftdi_emu_unplug(&emu);
    assert_true(wait_for(&ev.gone, 60));
    assert_true(kmrig_link_gone(l));
    assert_int_equal(kmrig_link_read(l, KMRIG_SPACE_MEM, SCRATCH, 4, &v, NULL), KMRIG_LINK_EGONE);
    assert_int_equal(atomic_load(&ev.gone), 1);
    kmrig_link_close(l);
    device_close();
}

/* UART mode: the engine gets crc without asking (the protocol requires it on a UART). */
static void test_ftdi_link_uart(void **state)
{
    (void)state;
    device(KMRIG_PHY_UART, 0);
    struct kmrig_link *l = open_link("ftdi://0403:6010,i=B,mode=uart,baud=2000000,timeout=20000");
    assert_int_equal(emu.mode.mode, FTDI_IO_MODE_UART);
    assert_non_null(strstr(kmrig_link_get_info(l)->description, "FT2232H EMU00001/B uart"));
    check_access(l);
    kmrig_link_close(l);
    device_close();
}

static void test_usb_link_bulk(void **state)
{
    (void)state;
    device(KMRIG_PHY_FT245, 1);
    struct kmrig_link *l = open_link("usb://1d50:6018,ep_in=0x82,timeout=20000");
    assert_non_null(strstr(kmrig_link_get_info(l)->description, "usb 1d50:6018"));
    check_access(l);
    kmrig_link_close(l);
    device_close();
}

/* Bad arguments are refused before any device is touched, with a sentence that says which. */
static void test_ftdi_usb_link_bad_uri(void **state)
{
    (void)state;
    static const struct {
        const char *uri, *says;
    } cases[] = {
        {"ftdi://i=Q", "interface 'Q'"},
        {"ftdi://mode=spi", "mode 'spi'"},
        {"usb://", "VID:PID is required"},
        {"usb://1d50:6018,ep_in=0x02", "ep_in '0x02'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct kmrig_link *l = NULL;
        char err[512] = "";
        assert_int_equal(kmrig_link_open(cases[i].uri, &l, err, sizeof err), KMRIG_LINK_EINVAL);
        assert_null(l);
        if (!strstr(err, cases[i].says))
            fail_msg("%s: '%s' does not say '%s'", cases[i].uri, err, cases[i].says);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ftdi_link_fifo_accesses_and_interrupt),
        cmocka_unit_test(test_ftdi_link_device_gone),
        cmocka_unit_test(test_ftdi_link_uart),
        cmocka_unit_test(test_usb_link_bulk),
        cmocka_unit_test(test_ftdi_usb_link_bad_uri),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

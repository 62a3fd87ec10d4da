/* The runtime on a wall-time target driven by the stream engine ("sim:fidelity=stream": the
 * reference SoC's bridge model behind the model pipe (paced to wall time), as a board over USB): a
 * driver's interrupt reaches its ISR with nobody polling the device (the link's event wakes the
 * idle processor), and when the link drops, accesses read all ones, the devices of the root bus are
 * surprise-removed by the PnP manager, and the run goes on to a clean close. */
#include "rig_drivers.h"
#include "kmrig_soc_map.h"

#include <kmrig/link.h>
#include <kmrig/link_sim.h>
#include <kmrig/link_stream.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#define REG(base, off) ((base) + (off) / 4)
#define TICKS 10

typedef struct {
    volatile ULONG *Timer;
    PKINTERRUPT Interrupt;
    KDPC Dpc;
    KEVENT Done;
    ULONG Isr, Spurious, Dpcs;
    ULONG Want;    /* Done is set at this many DPCs (0: TICKS) */
    ULONG StallUs; /* every other ISR run stays this long after acknowledging its tick */
    KIRQL IsrIrql;
    KINTERRUPT_MODE Mode;
    KIRQL Irql;   /* the line's DIRQL (HalGetInterruptVector) */
    ULONG Reacks; /* latched: acknowledgements repeated because PENDING read set again */
} TIMER_DEV;

static BOOLEAN NTAPI TimerIsr(PKINTERRUPT Interrupt, PVOID Context)
{
    TIMER_DEV *d = Context;
    (void)Interrupt;
    if (!(READ_REGISTER_ULONG(REG(d->Timer, KMRIG_TIMER_STATUS)) & KMRIG_TIMER_STATUS_PENDING)) {
        d->Spurious++;
        return FALSE;
    }
    WRITE_REGISTER_ULONG(REG(d->Timer, KMRIG_TIMER_STATUS), KMRIG_TIMER_STATUS_PENDING);
    /* A latched (edge) line from a level source: the timer holds PENDING until it is cleared,
       and an expiry on the very edge of that write wins over it (docs/rtl.md, timer). PENDING
       then never drops, no new edge comes, and the line is never reported again: the lost edge
       of any edge-triggered line on NT. So an edge ISR acknowledges again while its status
       reads set. The line stays stuck only if every acknowledgement of the run fell on an
       expiry edge (about 1 in 1000 each at a 20 us period); a bounded loop, since at that
       period a read can take longer than a tick and the status may never read clear. */
    for (int n = 0;
         d->Mode == Latched && n < 2 &&
         (READ_REGISTER_ULONG(REG(d->Timer, KMRIG_TIMER_STATUS)) & KMRIG_TIMER_STATUS_PENDING);
         n++) {
        WRITE_REGISTER_ULONG(REG(d->Timer, KMRIG_TIMER_STATUS), KMRIG_TIMER_STATUS_PENDING);
        d->Reacks++;
    }
    d->Isr++;
    d->IsrIrql = KeGetCurrentIrql();
    if (d->StallUs && (d->Isr & 1)) /* every other run: the next ticks come meanwhile */
        KeStallExecutionProcessor(d->StallUs);
    KeInsertQueueDpc(&d->Dpc, NULL, NULL);
    return TRUE;
}

static VOID NTAPI TimerDpc(PKDPC Dpc, PVOID Context, PVOID A1, PVOID A2)
{
    TIMER_DEV *d = Context;
    (void)Dpc, (void)A1, (void)A2;
    if (++d->Dpcs == (d->Want ? d->Want : TICKS))
        KeSetEvent(&d->Done, 0, FALSE);
}

/* Maps timer0 and connects its ISR (the device is not started). */
static void timer_connect(TIMER_DEV *d, KINTERRUPT_MODE mode)
{
    memset(d, 0, sizeof *d);
    d->Mode = mode;
    PHYSICAL_ADDRESS pa = {.QuadPart = KMRIG_SOC_TIMER0_BASE};
    d->Timer = MmMapIoSpace(pa, KMRIG_SOC_TIMER0_SIZE, MmNonCached);
    assert_non_null((void *)d->Timer);
    KeInitializeDpc(&d->Dpc, TimerDpc, d);
    KeInitializeEvent(&d->Done, NotificationEvent, FALSE);
    KIRQL irql;
    KAFFINITY aff;
    ULONG vector = HalGetInterruptVector(Internal, 0, KMRIG_SOC_TIMER0_IRQ, 0, &irql, &aff);
    d->Irql = irql;
    assert_int_equal(IoConnectInterrupt(&d->Interrupt, TimerIsr, d, NULL, vector, irql, irql, mode,
                                        FALSE, aff, FALSE),
                     STATUS_SUCCESS);
}

/* Starts the timer: a periodic interrupt every `cycles` of device time. */
static void timer_start(TIMER_DEV *d, ULONG cycles)
{
    WRITE_REGISTER_ULONG(REG(d->Timer, KMRIG_TIMER_LOAD), cycles);
    WRITE_REGISTER_ULONG(REG(d->Timer, KMRIG_TIMER_CTRL),
                         KMRIG_TIMER_CTRL_EN | KMRIG_TIMER_CTRL_PERIODIC | KMRIG_TIMER_CTRL_IRQ_EN);
}

static void timer_stop(TIMER_DEV *d)
{
    WRITE_REGISTER_ULONG(REG(d->Timer, KMRIG_TIMER_CTRL), 0);
    IoDisconnectInterrupt(d->Interrupt);
    MmUnmapIoSpace((PVOID)d->Timer, KMRIG_SOC_TIMER0_SIZE);
}

static kmrig_rig *open_stream_rig(void)
{
    struct kmrig_rig_options o;
    kmrig_rig_options_init(&o);
    o.target = "sim:fidelity=stream";
    kmrig_rig *rig = NULL;
    assert_int_equal(kmrig_rig_open(&o, &rig), STATUS_SUCCESS);
    return rig;
}

static void test_stream_rig_interrupt_reaches_the_isr_without_polling(void **state)
{
    (void)state;
    static const KINTERRUPT_MODE modes[] = {LevelSensitive, Latched};
    for (size_t m = 0; m < 2; m++) {
        kmrig_rig *rig = open_stream_rig();
        TIMER_DEV d;
        timer_connect(&d, modes[m]);
        /* 1 ms of device time per tick; the waiting thread makes no runtime call meanwhile */
        timer_start(&d, KMRIG_SOC_CLOCK_HZ / 1000);
        LARGE_INTEGER timeout = kmtest_ms(20000); /* wall time */
        assert_int_equal(KeWaitForSingleObject(&d.Done, Executive, KernelMode, FALSE, &timeout),
                         STATUS_SUCCESS);
        timer_stop(&d);
        /* the timer runs on until timer_stop's CTRL write, so a tick or two more may have come */
        assert_true(d.Dpcs >= TICKS);
        assert_true(d.Isr >= d.Dpcs);
        assert_int_equal(d.IsrIrql, d.Irql);
        struct kmrig_stream_stats st;
        assert_int_equal(kmrig_link_stream_stats(kmrig_rig_link(rig), &st), KMRIG_LINK_OK);
        assert_true(st.irq_events >= TICKS);
        kmrig_rig_close(rig);
    }
}

/* Ticks that come while the ISR of the last one still runs (every other run stalls after
 * acknowledging its tick, far longer than the period): their events arrive while the line is in
 * service, and the service's end presents the line again, as NT does when IRQL drops (on a level
 * line through the EOI the device answers by reporting the line again). Before, such a tick was
 * never serviced: its event's poll found the line in service, and the device, its line still
 * pending, sent no other. (Every run stalling would starve the DPCs, as on NT.) */
static void test_stream_rig_tick_during_the_isr_is_serviced_after_it(void **state)
{
    (void)state;
    static const KINTERRUPT_MODE modes[] = {LevelSensitive, Latched};
    for (size_t m = 0; m < 2; m++) {
        kmrig_rig *rig = open_stream_rig();
        TIMER_DEV d;
        timer_connect(&d, modes[m]);
        d.StallUs = 20000;
        timer_start(&d, KMRIG_SOC_CLOCK_HZ / 50000); /* every 20 us of device time */
        LARGE_INTEGER timeout = kmtest_ms(10000);    /* wall time */
        NTSTATUS st = KeWaitForSingleObject(&d.Done, Executive, KernelMode, FALSE, &timeout);
        ULONG isr = d.Isr;
        timer_stop(&d);
        if (st != STATUS_SUCCESS)
            fail_msg("%s: %lu DPC(s) of %u in 10 s (ISR runs %lu): a tick was lost",
                     m ? "latched" : "level", (unsigned long)d.Dpcs, TICKS, (unsigned long)isr);
        assert_true(d.Isr >= TICKS);
        kmrig_rig_close(rig);
    }
}

/* Connects and disconnects the timer's interrupt many times while the timer interrupts every
 * 20 us of device time: the link's notifier polls (and requests the line) from its own thread
 * while the driver disconnects. A request that raced a disconnect used to stay pending for a
 * vector with no service: the processor's DPC thread spun on it and the next wait never ended
 * (the hang this test's file once had; tests/hal/test_hal_interrupt_race.c makes that race
 * happen on purpose, this one only checks the wall-time path end to end). */
static void stream_connect_cycles(void)
{
    kmrig_rig *rig = open_stream_rig();
    for (int k = 0; k < 100; k++) {
        TIMER_DEV d;
        timer_connect(&d, k % 2 ? Latched : LevelSensitive);
        d.Want = 2;
        timer_start(&d, KMRIG_SOC_CLOCK_HZ / 50000);
        LARGE_INTEGER timeout = kmtest_ms(10000);
        if (KeWaitForSingleObject(&d.Done, Executive, KernelMode, FALSE, &timeout) !=
            STATUS_SUCCESS) {
            uint32_t active = 0;
            kmrig_link_irq_pending(kmrig_rig_link(rig), &active);
            char report[4096];
            kmrig_runtime_irq_report(kmrig_runtime_current(), report, sizeof report);
            fputs(report, stderr);
            fail_msg("cycle %d (%s): %lu DPC(s) of 2 in 10 s (ISR runs %lu, spurious %lu, "
                     "re-acknowledged %lu); timer STATUS 0x%lx, lines the host sees 0x%x",
                     k, d.Mode == Latched ? "latched" : "level", (unsigned long)d.Dpcs,
                     (unsigned long)d.Isr, (unsigned long)d.Spurious, (unsigned long)d.Reacks,
                     (unsigned long)READ_REGISTER_ULONG(REG(d.Timer, KMRIG_TIMER_STATUS)),
                     (unsigned)active);
        }
        /* disconnect first, with the timer still running (its events keep coming), then stop */
        IoDisconnectInterrupt(d.Interrupt);
        WRITE_REGISTER_ULONG(REG(d.Timer, KMRIG_TIMER_CTRL), 0);
        WRITE_REGISTER_ULONG(REG(d.Timer, KMRIG_TIMER_STATUS), KMRIG_TIMER_STATUS_PENDING);
        MmUnmapIoSpace((PVOID)d.Timer, KMRIG_SOC_TIMER0_SIZE);
        LARGE_INTEGER pause = kmtest_ms(1); /* the processor idles: nothing may be left on it */
        assert_int_equal(KeDelayExecutionThread(KernelMode, FALSE, &pause), STATUS_SUCCESS);
    }
    kmrig_rig_close(rig);
}

static void test_stream_rig_disconnect_while_the_device_interrupts(void **state)
{
    (void)state;
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        alarm(90);
        stream_connect_cycles();
        _exit(0);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
        fail_msg("connect/disconnect cycles hung (not done after 90 s)");
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* kmrig_runtime_irq_report on a wall-time target: the device's view comes from the bridge
 * (IRQ_QUERY through the stream engine): a connected timer that is not running does not assert
 * its line; masked behind the HAL's back, the line is diagnosed as masked. */
static void test_stream_rig_irq_report_asks_the_device(void **state)
{
    (void)state;
    kmrig_rig *rig = open_stream_rig();
    TIMER_DEV d;
    timer_connect(&d, Latched);
    char r[4096];
    kmrig_runtime_irq_report(kmrig_runtime_current(), r, sizeof r);
    char want[64];
    snprintf(want, sizeof want, "  line %u (vector", (unsigned)KMRIG_SOC_TIMER0_IRQ);
    const char *l = strstr(r, want);
    assert_non_null(l);
    assert_non_null(strstr(r, "(device time "));
    assert_non_null(strstr(l, "device: input low, not pending, unmasked, edge mode"));
    assert_non_null(strstr(l, "diagnosis: the device does not assert it"));
    assert_int_equal(
        kmrig_link_irq_control(kmrig_rig_link(rig), KMRIG_SOC_TIMER0_IRQ, KMRIG_IRQ_MASK),
        KMRIG_LINK_OK);
    kmrig_runtime_irq_report(kmrig_runtime_current(), r, sizeof r);
    l = strstr(r, want);
    assert_non_null(l);
    assert_non_null(strstr(l, "diagnosis: masked at the device"));
    timer_stop(&d);
    kmrig_rig_close(rig);
}

static void sleep_ms(LONGLONG ms)
{
    LARGE_INTEGER t = kmtest_ms(ms);
    KeDelayExecutionThread(KernelMode, FALSE, &t);
}

static void test_stream_rig_link_loss_surprise_removes_the_root_bus(void **state)
{
    (void)state;
    struct kmrig_rig_options o;
    kmrig_rig_options_init(&o);
    o.target = "sim:fidelity=stream,fault_seed=1"; /* a fault pipe (no faults): it can be cut */
    kmrig_rig *rig = NULL;
    assert_int_equal(kmrig_rig_open(&o, &rig), STATUS_SUCCESS);
    assert_int_equal(kmrig_rig_register_driver(rig, "*PNP0501", "testfn", FnEntry), STATUS_SUCCESS);
    assert_int_equal(kmrig_rig_start(rig, NULL, 0), STATUS_SUCCESS);
    PDEVICE_OBJECT uart = kmrig_rig_find(rig, "ROOT\\*PNP0501\\0");
    assert_non_null(uart);
    struct kmrig_device_info info;
    assert_int_equal(kmrig_rig_device_info(rig, uart, &info), STATUS_SUCCESS);
    assert_int_equal(info.state, KMRIG_DEVICE_STARTED);
    /* uart0's LSR reads as the device has it: THRE and TEMT */
    PUCHAR lsr = (PUCHAR)(ULONG_PTR)(KMRIG_SOC_UART0_BASE + 5);
    assert_int_equal(READ_PORT_UCHAR(lsr) & 0x60, 0x60);
    g_log[0] = 0;

    /* the cable is pulled */
    assert_int_equal(kmrig_link_sim_cut(kmrig_rig_link(rig)), KMRIG_LINK_OK);
    /* accesses fail at once and read all ones, as from a surprise-removed device */
    UCHAR v = 0;
    for (int i = 0; i < 50 && v != 0xFF; i++) {
        v = READ_PORT_UCHAR(lsr);
        if (v != 0xFF)
            sleep_ms(10);
    }
    assert_int_equal(v, 0xFF);
    /* the link reports its loss (KMRIG_LINK_EV_GONE) from its own thread, soon after */
    for (int i = 0; i < 200 && !kmrig_link_gone(kmrig_rig_link(rig)); i++)
        sleep_ms(10);
    assert_true(kmrig_link_gone(kmrig_rig_link(rig)));

    /* the PnP manager surprise-removes the root bus's devices, at PASSIVE_LEVEL, by itself */
    int removed = 0;
    for (int i = 0; i < 500 && !removed; i++) {
        kmrig_rig_settle(rig);
        PDEVICE_OBJECT p = kmrig_rig_find(rig, "ROOT\\*PNP0501\\0");
        removed =
            !p ||
            (kmrig_rig_device_info(rig, p, &info) == STATUS_SUCCESS &&
             (info.state == KMRIG_DEVICE_SURPRISE_REMOVED || info.state == KMRIG_DEVICE_REMOVED));
        if (!removed)
            sleep_ms(10);
    }
    assert_true(removed);
    char want[16];
    snprintf(want, sizeof want, "fn:%u ", (unsigned)IRP_MN_SURPRISE_REMOVAL);
    assert_non_null(strstr(g_log, want));
    /* the run goes on: a clean stop and close */
    kmrig_rig_close(rig);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_stream_rig_interrupt_reaches_the_isr_without_polling),
    cmocka_unit_test(test_stream_rig_tick_during_the_isr_is_serviced_after_it),
    cmocka_unit_test(test_stream_rig_disconnect_while_the_device_interrupts),
    cmocka_unit_test(test_stream_rig_irq_report_asks_the_device),
    cmocka_unit_test(test_stream_rig_link_loss_surprise_removes_the_root_bus),
};

KMTEST_MAIN(tests)

/* The thin slice end to end: NT-style driver code whose READ_REGISTER_ULONG and interrupts
 * reach the reference SoC's RTL on the Verilator model, on the model's virtual time.
 *
 * The "driver" maps sysid and timer0 with MmMapIoSpace, connects timer0's line with
 * IoConnectInterrupt, and runs a periodic timer whose ISR acknowledges the device and queues a
 * DPC that signals an event a PASSIVE thread waits on. Addresses come from the generated SoC map
 * (rtl/soc.json).
 *
 * Every test runs twice: at transaction level (target "sim") and at full-bridge fidelity
 * ("sim:fidelity=bridge": every access a frame through the bridge RTL, interrupts as event
 * frames). The driver code is the same; only the cost of an access in cycles differs
 * (docs/protocol.md, "Full-bridge fidelity"). */
#include "kmtest.h"
#include "kmrig_soc_map.h"

#include <kmrig/link.h>

#include <string.h>

#define NS_PER_CYCLE (1000000000ull / KMRIG_SOC_CLOCK_HZ)

/* The fidelity a test runs at. */
struct fidelity {
    const char *target;
    unsigned read_cycles; /* cycles of one 32-bit register read, start to answer */
    unsigned isr_slack;   /* cycles from an expiry to its ISR's entry, at most */
};
static const struct fidelity TXN = {"sim", 2, 40};
/* A READ is 20 bytes to the bridge and a READ_RSP 24 bytes back at one byte per cycle, and 11
 * cycles in the engine: fetch and decode, the bus cycle, the transmitter's start. From a timer
 * write to its ISR: the setup's requests (IRQ_CTL, LOAD, CTRL), the EVT_IRQ, the EOI of a
 * latched line and the ISR's STATUS read, at most 8 request times. */
static const struct fidelity BRIDGE = {"sim:fidelity=bridge", 55, 8 * 55};
static const struct fidelity *fid = &TXN;

static kmrig_runtime *sim_runtime(uint64_t budget_ns)
{
    kmrig_config cfg;
    kmrig_config_init(&cfg);
    cfg.processors = 1;
    cfg.target = fid->target;
    cfg.time_budget_ns = budget_ns;
    return kmtest_runtime_cfg(&cfg);
}

static volatile ULONG *map(ULONG base, ULONG size)
{
    PHYSICAL_ADDRESS pa = {.QuadPart = base};
    volatile ULONG *p = MmMapIoSpace(pa, size, MmNonCached);
    assert_non_null((void *)p);
    return p;
}

#define REG(base, off) ((base) + (off) / 4)

static void test_sim_read_register_ulong_reads_the_sysid_block(void **state)
{
    fid = *state;
    kmrig_runtime *rt = sim_runtime(0);
    volatile ULONG *sysid = map(KMRIG_SOC_SYSID_BASE, KMRIG_SOC_SYSID_SIZE);
    assert_int_equal(READ_REGISTER_ULONG(REG(sysid, KMRIG_SYSID_ID)), KMRIG_SOC_ID);
    assert_int_equal(READ_REGISTER_ULONG(REG(sysid, KMRIG_SYSID_VERSION)), KMRIG_SOC_VERSION);
    assert_int_equal(READ_REGISTER_ULONG(REG(sysid, KMRIG_SYSID_CLOCK_HZ)), KMRIG_SOC_CLOCK_HZ);
    WRITE_REGISTER_ULONG(REG(sysid, KMRIG_SYSID_SCRATCH), 0xA5A5F00D);
    /* Byte lanes: an 8-bit write to byte 1 of SCRATCH changes only that byte. */
    WRITE_REGISTER_UCHAR((volatile UCHAR *)REG(sysid, KMRIG_SYSID_SCRATCH) + 1, 0x11);
    assert_int_equal(READ_REGISTER_ULONG(REG(sysid, KMRIG_SYSID_SCRATCH)), 0xA5A5110D);
    kmrig_runtime_destroy(rt);
}

static void test_sim_unmapped_bus_address_reads_all_ones(void **state)
{
    fid = *state;
    kmrig_runtime *rt = sim_runtime(0);
    volatile ULONG *hole = map(0x8000, 4); /* nothing decodes 0x8000 */
    assert_int_equal(READ_REGISTER_ULONG(hole), 0xFFFFFFFF);
    volatile ULONG *sysid = map(KMRIG_SOC_SYSID_BASE, KMRIG_SOC_SYSID_SIZE);
    assert_int_equal(READ_REGISTER_ULONG(sysid), KMRIG_SOC_ID); /* and the bus still works */
    kmrig_runtime_destroy(rt);
}

static ULONGLONG read_ts(volatile ULONG *sysid)
{
    ULONG lo = READ_REGISTER_ULONG(REG(sysid, KMRIG_SYSID_TS_LO));
    ULONG hi = READ_REGISTER_ULONG(REG(sysid, KMRIG_SYSID_TS_HI));
    return (ULONGLONG)hi << 32 | lo;
}

static void test_sim_runtime_time_is_the_model_clock(void **state)
{
    fid = *state;
    kmrig_runtime *rt = sim_runtime(0);
    volatile ULONG *sysid = map(KMRIG_SOC_SYSID_BASE, KMRIG_SOC_SYSID_SIZE);
    ULONGLONG ts0 = read_ts(sysid);
    uint64_t now = kmrig_runtime_now_ns(rt);
    /* The counter value is taken in the cycle the read is acknowledged; the runtime's clock is
     * the model's cycle count since reset, so they agree to the cycles of the TS_HI read. */
    assert_true(now / NS_PER_CYCLE >= ts0 &&
                now / NS_PER_CYCLE - ts0 <= 2 * (uint64_t)fid->read_cycles);
    KeStallExecutionProcessor(100); /* 100 us = 5000 cycles at 50 MHz */
    ULONGLONG ts1 = read_ts(sysid);
    assert_true(ts1 - ts0 >= 5000 && ts1 - ts0 <= 5000 + 4 * (uint64_t)fid->read_cycles);
    /* Each register access costs the same: 2 cycles on this bus at transaction level. */
    uint64_t t0 = kmrig_runtime_now_ns(rt);
    for (int i = 0; i < 10; i++)
        READ_REGISTER_ULONG(REG(sysid, KMRIG_SYSID_ID));
    assert_int_equal(kmrig_runtime_now_ns(rt) - t0, 10 * fid->read_cycles * NS_PER_CYCLE);
    kmrig_runtime_destroy(rt);
}

/* ---- the timer driver ----------------------------------------------------------------------- */

#define TICKS 10

typedef struct {
    volatile ULONG *Timer;
    PKINTERRUPT Interrupt;
    KDPC Dpc;
    KEVENT Done;
    ULONG Isr, Spurious, Dpcs;
    ULONGLONG IsrAt[TICKS + 4];
    KIRQL IsrIrql;
} TIMER_DEV;

static BOOLEAN NTAPI TimerIsr(PKINTERRUPT Interrupt, PVOID Context)
{
    TIMER_DEV *d = Context;
    if (!(READ_REGISTER_ULONG(REG(d->Timer, KMRIG_TIMER_STATUS)) & KMRIG_TIMER_STATUS_PENDING)) {
        d->Spurious++;
        return FALSE;
    }
    WRITE_REGISTER_ULONG(REG(d->Timer, KMRIG_TIMER_STATUS), KMRIG_TIMER_STATUS_PENDING);
    if (d->Isr < TICKS + 4)
        d->IsrAt[d->Isr] = kmrig_runtime_now_ns(kmrig_runtime_current());
    d->Isr++;
    d->IsrIrql = KeGetCurrentIrql();
    KeInsertQueueDpc(&d->Dpc, NULL, NULL);
    return TRUE;
}

static VOID NTAPI TimerDpc(PKDPC Dpc, PVOID Context, PVOID A1, PVOID A2)
{
    TIMER_DEV *d = Context;
    if (++d->Dpcs == TICKS)
        KeSetEvent(&d->Done, 0, FALSE);
}

/* Starts timer0 periodic at `period` cycles with its interrupt connected. */
static void timer_start(TIMER_DEV *d, ULONG period, KINTERRUPT_MODE mode)
{
    memset(d, 0, sizeof *d);
    d->Timer = map(KMRIG_SOC_TIMER0_BASE, KMRIG_SOC_TIMER0_SIZE);
    KeInitializeDpc(&d->Dpc, TimerDpc, d);
    KeInitializeEvent(&d->Done, NotificationEvent, FALSE);
    KIRQL irql;
    KAFFINITY aff;
    ULONG vector = HalGetInterruptVector(Internal, 0, KMRIG_SOC_TIMER0_IRQ, 0, &irql, &aff);
    assert_int_equal(IoConnectInterrupt(&d->Interrupt, TimerIsr, d, NULL, vector, irql, irql, mode,
                                        FALSE, aff, FALSE),
                     STATUS_SUCCESS);
    WRITE_REGISTER_ULONG(REG(d->Timer, KMRIG_TIMER_LOAD), period);
    WRITE_REGISTER_ULONG(REG(d->Timer, KMRIG_TIMER_CTRL),
                         KMRIG_TIMER_CTRL_EN | KMRIG_TIMER_CTRL_PERIODIC | KMRIG_TIMER_CTRL_IRQ_EN);
}

static void timer_stop(TIMER_DEV *d)
{
    WRITE_REGISTER_ULONG(REG(d->Timer, KMRIG_TIMER_CTRL), 0);
    IoDisconnectInterrupt(d->Interrupt);
    MmUnmapIoSpace((PVOID)d->Timer, KMRIG_SOC_TIMER0_SIZE);
}

/* Runs TICKS periods of `period` cycles; returns the time the wait ended. */
static uint64_t timer_run(TIMER_DEV *d, ULONG period, KINTERRUPT_MODE mode)
{
    timer_start(d, period, mode);
    LARGE_INTEGER timeout = kmtest_ms(10);
    assert_int_equal(KeWaitForSingleObject(&d->Done, Executive, KernelMode, FALSE, &timeout),
                     STATUS_SUCCESS);
    uint64_t end = kmrig_runtime_now_ns(kmrig_runtime_current());
    timer_stop(d);
    return end;
}

static void test_sim_timer_interrupt_reaches_the_isr_on_model_time(void **state)
{
    fid = *state;
    static const KINTERRUPT_MODE modes[] = {LevelSensitive, Latched};
    for (size_t m = 0; m < 2; m++) {
        kmrig_runtime *rt = sim_runtime(1000000000ull);
        TIMER_DEV d;
        uint64_t start = kmrig_runtime_now_ns(rt);
        uint64_t end = timer_run(&d, 1000, modes[m]); /* 1000 cycles = 20 us */
        assert_int_equal(d.Dpcs, TICKS);
        assert_true(d.Isr >= TICKS);
        assert_int_equal(d.Spurious, 0);
        KIRQL irql;
        KAFFINITY aff;
        HalGetInterruptVector(Internal, 0, KMRIG_SOC_TIMER0_IRQ, 0, &irql, &aff);
        assert_int_equal(d.IsrIrql, irql);
        /* The machine idled between ticks, and each ISR entered at the same offset after its
         * expiry: successive entries are exactly one period apart. */
        for (int i = 1; i < TICKS; i++)
            assert_int_equal(d.IsrAt[i] - d.IsrAt[i - 1], 1000 * NS_PER_CYCLE);
        /* The first expiry is 1000 cycles after the CTRL write; the ISR entered within a few
         * cycles of it (interrupt controller register stage, the wait's own accesses; at full
         * bridge the event frame and the ISR's own register reads too). */
        assert_true(d.IsrAt[0] - start >= 1000 * NS_PER_CYCLE);
        assert_true(d.IsrAt[0] - start <= (1000 + fid->isr_slack) * NS_PER_CYCLE);
        /* Ten periods of simulated time, not more (the waiter woke on the tenth DPC). */
        assert_true(end - start < (TICKS * 1000 + 100 + fid->isr_slack) * NS_PER_CYCLE);
        kmrig_runtime_destroy(rt);
    }
}

static void test_sim_two_runs_are_identical(void **state)
{
    fid = *state;
    ULONGLONG at[2][TICKS];
    uint64_t end[2];
    for (int run = 0; run < 2; run++) {
        kmrig_runtime *rt = sim_runtime(1000000000ull);
        TIMER_DEV d;
        end[run] = timer_run(&d, 777, LevelSensitive);
        memcpy(at[run], d.IsrAt, sizeof at[run]);
        kmrig_runtime_destroy(rt);
    }
    assert_memory_equal(at[0], at[1], sizeof at[0]);
    assert_int_equal(end[0], end[1]);
}

/* An interrupt that comes due in a stall is serviced in it, at its time (not at the end). */
static void test_sim_interrupt_during_a_stall_is_serviced_at_its_time(void **state)
{
    fid = *state;
    kmrig_runtime *rt = sim_runtime(1000000000ull);
    TIMER_DEV d;
    timer_start(&d, 1500, LevelSensitive); /* 30 us */
    uint64_t start = kmrig_runtime_now_ns(rt);
    KeStallExecutionProcessor(100);
    assert_int_equal(d.Isr, 3); /* at 30, 60 and 90 us */
    assert_true(d.IsrAt[0] - start >= 1500 * NS_PER_CYCLE &&
                d.IsrAt[0] - start <= (1500 + fid->isr_slack) * NS_PER_CYCLE);
    assert_int_equal(d.Dpcs, 3); /* a stall at PASSIVE lets the DPCs run too */
    timer_stop(&d);
    kmrig_runtime_destroy(rt);
}

/* timer1 sits in I/O-port space at 0x340: the same driver logic through READ/WRITE_PORT_ULONG,
 * one-shot, latched. */
static ULONG port_isr_count;

static BOOLEAN NTAPI PortTimerIsr(PKINTERRUPT Interrupt, PVOID Context)
{
    PULONG status = (PULONG)(ULONG_PTR)(KMRIG_SOC_TIMER1_BASE + KMRIG_TIMER_STATUS);
    if (!(READ_PORT_ULONG(status) & KMRIG_TIMER_STATUS_PENDING))
        return FALSE;
    WRITE_PORT_ULONG(status, KMRIG_TIMER_STATUS_PENDING);
    port_isr_count++;
    return TRUE;
}

static void test_sim_port_space_timer_one_shot(void **state)
{
    fid = *state;
    kmrig_runtime *rt = sim_runtime(1000000000ull);
    PULONG base = (PULONG)(ULONG_PTR)KMRIG_SOC_TIMER1_BASE;
    KIRQL irql;
    KAFFINITY aff;
    ULONG vector = HalGetInterruptVector(Isa, 0, KMRIG_SOC_TIMER1_IRQ, 0, &irql, &aff);
    PKINTERRUPT i;
    assert_int_equal(IoConnectInterrupt(&i, PortTimerIsr, NULL, NULL, vector, irql, irql, Latched,
                                        FALSE, aff, FALSE),
                     STATUS_SUCCESS);
    WRITE_PORT_ULONG(base + KMRIG_TIMER_LOAD / 4, 500);
    assert_int_equal(READ_PORT_ULONG(base + KMRIG_TIMER_LOAD / 4), 500);
    port_isr_count = 0;
    WRITE_PORT_ULONG(base + KMRIG_TIMER_CTRL / 4, KMRIG_TIMER_CTRL_EN | KMRIG_TIMER_CTRL_IRQ_EN);
    LARGE_INTEGER delay = kmtest_ms(1);
    KeDelayExecutionThread(KernelMode, FALSE, &delay);
    assert_int_equal(port_isr_count, 1); /* one shot: one expiry, one ISR */
    assert_int_equal(READ_PORT_ULONG(base + KMRIG_TIMER_CTRL / 4) & KMRIG_TIMER_CTRL_EN, 0);
    IoDisconnectInterrupt(i);
    kmrig_runtime_destroy(rt);
}

static void poll_forever(void *arg)
{
    sim_runtime(1000000); /* 1 ms */
    volatile ULONG *timer = map(KMRIG_SOC_TIMER0_BASE, KMRIG_SOC_TIMER0_SIZE);
    /* Waits for a timer nobody started: only the budget ends it. */
    while (!(READ_REGISTER_ULONG(REG(timer, KMRIG_TIMER_STATUS)) & KMRIG_TIMER_STATUS_PENDING))
        ;
}

static void test_sim_polling_a_register_forever_hits_the_time_budget(void **state)
{
    fid = *state;
    ULONG_PTR params[4];
    assert_int_equal(kmtest_bugcheck_of(poll_forever, NULL, params), KMRIG_BUGCHECK_TIME_BUDGET);
    assert_int_equal(params[0], 1000000);
}

/* The sim transport's fidelity= option, on the link itself (no runtime). */
static void test_sim_link_fidelity_option(void **state)
{
    (void)state;
    struct kmrig_link *l = NULL;
    char err[256];
    assert_int_equal(kmrig_link_open("sim:fidelity=gates", &l, err, sizeof err), KMRIG_LINK_EINVAL);
    /* the harness's bus timeout does not exist at full bridge (the gateware has its own) */
    assert_int_equal(kmrig_link_open("sim:fidelity=bridge,timeout=100", &l, err, sizeof err),
                     KMRIG_LINK_EINVAL);
    assert_int_equal(kmrig_link_open("sim:fidelity=bridge", &l, err, sizeof err), KMRIG_LINK_OK);
    assert_non_null(strstr(kmrig_link_get_info(l)->description, "full bridge"));
    uint32_t v = 0;
    uint64_t ts = 0;
    assert_int_equal(
        kmrig_link_read(l, KMRIG_SPACE_MEM, KMRIG_SOC_SYSID_BASE + KMRIG_SYSID_ID, 4, &v, &ts),
        KMRIG_LINK_OK);
    assert_int_equal(v, KMRIG_SOC_ID);
    assert_true(ts > 0 && ts <= kmrig_link_now(l));
    /* errors keep their kind through the frames: nothing decodes 0x8000 */
    assert_int_equal(kmrig_link_read(l, KMRIG_SPACE_MEM, 0x8000, 4, &v, &ts), KMRIG_LINK_EBUS);
    assert_int_equal(kmrig_link_write(l, KMRIG_SPACE_MEM, 0x8000, 4, 1, &ts), KMRIG_LINK_EBUS);
    /* timer0 unmasked at the bridge's interrupt unit: the line shows after its expiry */
    assert_int_equal(kmrig_link_irq_control(l, KMRIG_SOC_TIMER0_IRQ, KMRIG_IRQ_UNMASK), 0);
    kmrig_link_write(l, KMRIG_SPACE_MEM, KMRIG_SOC_TIMER0_BASE + KMRIG_TIMER_LOAD, 4, 500, &ts);
    kmrig_link_write(l, KMRIG_SPACE_MEM, KMRIG_SOC_TIMER0_BASE + KMRIG_TIMER_CTRL, 4,
                     KMRIG_TIMER_CTRL_EN | KMRIG_TIMER_CTRL_IRQ_EN, &ts);
    uint64_t armed = kmrig_link_now(l);
    uint32_t lines = 0;
    assert_int_equal(kmrig_link_irq_pending(l, &lines), 0);
    assert_int_equal(lines, 0);
    kmrig_link_advance(l, 10000, 1);
    assert_int_equal(kmrig_link_irq_pending(l, &lines), 0);
    assert_int_equal(lines, 1u << KMRIG_SOC_TIMER0_IRQ);
    uint64_t rise = 0;
    assert_int_equal(kmrig_link_irq_timestamp(l, KMRIG_SOC_TIMER0_IRQ, &rise), 0);
    assert_true(rise >= armed - 60 && rise <= armed + 500);
    kmrig_link_close(l);
}

/* Each test at both fidelities: NAME (transaction level) and NAME_bridge (full bridge). */
#define AT_TXN(f)                                                                                  \
    {                                                                                              \
#f, f, NULL, NULL, (void *)&TXN                                                            \
    }
#define AT_BRIDGE(f)                                                                               \
    {                                                                                              \
#f "_bridge", f, NULL, NULL, (void *)&BRIDGE                                               \
    }
#define BOTH(f) AT_TXN(f), AT_BRIDGE(f)

static const struct CMUnitTest tests[] = {
    BOTH(test_sim_read_register_ulong_reads_the_sysid_block),
    BOTH(test_sim_unmapped_bus_address_reads_all_ones),
    BOTH(test_sim_runtime_time_is_the_model_clock),
    BOTH(test_sim_timer_interrupt_reaches_the_isr_on_model_time),
    BOTH(test_sim_two_runs_are_identical),
    BOTH(test_sim_interrupt_during_a_stall_is_serviced_at_its_time),
    BOTH(test_sim_port_space_timer_one_shot),
    BOTH(test_sim_polling_a_register_forever_hits_the_time_budget),
    cmocka_unit_test(test_sim_link_fidelity_option),
};

KMTEST_MAIN(tests)

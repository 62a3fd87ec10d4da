/* HalGetInterruptVector, IoConnectInterrupt (level, latched, shared), IoDisconnectInterrupt,
 * KeSynchronizeExecution, interrupt storms, device events on an idle machine. Runs on the
 * "loop" target: writing LINES_SET/LINES_CLR drives interrupt inputs, TIMER raises a line
 * after a number of cycles. */
#include "hal_test.h"

#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

typedef struct {
    volatile ULONG *ctl; /* loop control registers */
    ULONG line;
    LONG calls;
    LONG claim_after; /* claim (and lower the line) from this call on; 0: at once */
    BOOLEAN lower;    /* lower the line when claiming */
    LONG lower_after; /* with lower: lower it only from this call on (claiming before) */
    LONG edges_again; /* make this many more edges on the line, one per call */
    BOOLEAN never_claim;
    KIRQL irql_seen;
    uint64_t at_ns[8];
    char *log; /* appended: the ISR's letter */
    char letter;
    KDPC *dpc;
    LONG *shared; /* incremented without atomics: the ISR lock must protect it */
    LONG done;    /* ISRs that returned */
} isr_ctx;

static BOOLEAN NTAPI test_isr(PKINTERRUPT Interrupt, PVOID Context)
{
    isr_ctx *c = Context;
    LONG n = ++c->calls;
    c->irql_seen = KeGetCurrentIrql();
    if (n <= 8)
        c->at_ns[n - 1] = kmrig_runtime_now_ns(kmrig_runtime_current());
    if (c->log)
        strncat(c->log, &c->letter, 1);
    if (c->shared)
        ++*c->shared;
    if (c->dpc)
        KeInsertQueueDpc(c->dpc, NULL, NULL);
    BOOLEAN claim = !c->never_claim && n >= c->claim_after;
    if (claim && c->lower && n >= c->lower_after)
        WRITE_REGISTER_ULONG(c->ctl + 1, 1u << c->line);
    if (c->edges_again > 0) {
        c->edges_again--;
        WRITE_REGISTER_ULONG(c->ctl + 1, 1u << c->line); /* LINES_CLR */
        WRITE_REGISTER_ULONG(c->ctl, 1u << c->line);     /* LINES_SET: a new edge */
    }
    __atomic_add_fetch(&c->done, 1, __ATOMIC_RELEASE);
    return claim;
}

static PKINTERRUPT connect_line(ULONG line, isr_ctx *c, KINTERRUPT_MODE mode, BOOLEAN share)
{
    KIRQL irql;
    KAFFINITY aff;
    ULONG v = HalGetInterruptVector(Internal, 0, line, line, &irql, &aff);
    assert_int_not_equal(v, 0);
    PKINTERRUPT i = NULL;
    assert_int_equal(
        IoConnectInterrupt(&i, test_isr, c, NULL, v, irql, irql, mode, share, aff, FALSE),
        STATUS_SUCCESS);
    assert_non_null(i);
    return i;
}

static void raise_line(volatile ULONG *ctl, ULONG line)
{
    WRITE_REGISTER_ULONG(ctl, 1u << line);
}

static void test_hal_get_interrupt_vector_translates_each_line(void **state)
{
    kmrig_runtime *rt = hal_runtime_on("loop", 2);
    ULONG seen[8];
    for (ULONG l = 0; l < 8; l++) {
        KIRQL irql = 0;
        KAFFINITY aff = 0;
        seen[l] = HalGetInterruptVector(Isa, 0, l, l, &irql, &aff);
        assert_int_not_equal(seen[l], 0);
        for (ULONG k = 0; k < l; k++)
            assert_int_not_equal(seen[k], seen[l]);
        assert_true(irql > DISPATCH_LEVEL && irql < SYNCH_LEVEL);
        assert_int_equal(aff, 3);
    }
    KIRQL irql = 7;
    KAFFINITY aff = 7;
    assert_int_equal(HalGetInterruptVector(Internal, 0, 8, 8, &irql, &aff), 0); /* no line 8 */
    assert_int_equal(irql, 0);
    assert_int_equal(aff, 0);
    assert_int_equal(HalGetInterruptVector(Internal, 1, 0, 0, &irql, &aff), 0); /* no bus 1 */
    assert_int_equal(HalGetInterruptVector(PCIBus, 0, 0, 0, &irql, &aff), 0);
    kmrig_runtime_destroy(rt);

    rt = kmtest_runtime(1); /* no target, no lines */
    assert_int_equal(HalGetInterruptVector(Internal, 0, 0, 0, &irql, &aff), 0);
    kmrig_runtime_destroy(rt);
}

static void test_io_connect_interrupt_rejects_bad_parameters(void **state)
{
    kmrig_runtime *rt = hal_runtime_on("loop", 1);
    isr_ctx c = {0};
    KIRQL irql;
    KAFFINITY aff;
    ULONG v = HalGetInterruptVector(Internal, 0, 3, 3, &irql, &aff);
    PKINTERRUPT i = (PKINTERRUPT)(ULONG_PTR)1;
    /* SynchronizeIrql below Irql */
    assert_int_equal(IoConnectInterrupt(&i, test_isr, &c, NULL, v, irql, irql - 1, LevelSensitive,
                                        FALSE, aff, FALSE),
                     STATUS_INVALID_PARAMETER);
    assert_null(i);
    /* no processor */
    assert_int_equal(
        IoConnectInterrupt(&i, test_isr, &c, NULL, v, irql, irql, LevelSensitive, FALSE, 0, FALSE),
        STATUS_INVALID_PARAMETER);
    /* processors that do not exist */
    assert_int_equal(IoConnectInterrupt(&i, test_isr, &c, NULL, v, irql, irql, LevelSensitive,
                                        FALSE, 0xF0, FALSE),
                     STATUS_INVALID_PARAMETER);
    /* a vector that is no line, and a DIRQL that is not the vector's */
    assert_int_equal(IoConnectInterrupt(&i, test_isr, &c, NULL, 0x30, irql, irql, LevelSensitive,
                                        FALSE, aff, FALSE),
                     STATUS_INVALID_PARAMETER);
    assert_int_equal(IoConnectInterrupt(&i, test_isr, &c, NULL, v, irql + 1, irql + 1,
                                        LevelSensitive, FALSE, aff, FALSE),
                     STATUS_INVALID_PARAMETER);
    /* no ISR */
    assert_int_equal(
        IoConnectInterrupt(&i, NULL, &c, NULL, v, irql, irql, LevelSensitive, FALSE, aff, FALSE),
        STATUS_INVALID_PARAMETER);
    kmrig_runtime_destroy(rt);
}

static void test_io_connect_interrupt_level_isr_runs_at_dirql_when_the_line_rises(void **state)
{
    kmrig_runtime *rt = hal_runtime_on("loop", 1);
    isr_ctx c = {.ctl = hal_map_loop_ctl(), .line = 1, .lower = TRUE};
    KIRQL irql;
    KAFFINITY aff;
    HalGetInterruptVector(Internal, 0, 1, 1, &irql, &aff);
    PKINTERRUPT i = connect_line(1, &c, LevelSensitive, FALSE);
    assert_int_equal(c.calls, 0);
    raise_line(c.ctl, 1); /* the access is a delivery point: the ISR has run when it returns */
    assert_int_equal(c.calls, 1);
    assert_int_equal(c.irql_seen, irql);
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
    for (int k = 0; k < 10; k++)
        READ_PORT_UCHAR((PUCHAR)0x80);
    assert_int_equal(c.calls, 1); /* the ISR lowered the line */
    IoDisconnectInterrupt(i);
    kmrig_runtime_destroy(rt);
}

static LONG dpc_runs;
static char order_log[64];

static VOID NTAPI log_dpc(PKDPC Dpc, PVOID Ctx, PVOID A1, PVOID A2)
{
    dpc_runs++;
    strcat(order_log, "D");
}

static void
test_io_connect_interrupt_level_line_held_high_reruns_isr_without_starving_dpcs(void **state)
{
    kmrig_runtime *rt = hal_runtime_on("loop", 1);
    KDPC dpc;
    KeInitializeDpc(&dpc, log_dpc, NULL);
    order_log[0] = 0;
    isr_ctx c = {.ctl = hal_map_loop_ctl(),
                 .line = 2,
                 .lower = TRUE,
                 .claim_after = 3,
                 .log = order_log,
                 .letter = 'I',
                 .dpc = &dpc};
    PKINTERRUPT i = connect_line(2, &c, LevelSensitive, FALSE);
    raise_line(c.ctl, 2);
    for (int k = 0; k < 10; k++)
        READ_PORT_UCHAR((PUCHAR)0x80);
    /* Unclaimed twice while the line stays high, claimed (and lowered) the third time; the DPC
     * each ISR queued ran before the line was serviced again. */
    assert_int_equal(c.calls, 3);
    assert_string_equal(order_log, "IDIDID");
    IoDisconnectInterrupt(i);
    kmrig_runtime_destroy(rt);
}

/* A level ISR that claims but leaves the line asserted (it does not acknowledge its device) runs
 * again at the next poll (here each access), until it lowers the line; NT would run it again as
 * soon as it returned (docs/architecture.md, "Interrupts"). */
static void
test_io_connect_interrupt_level_isr_not_acknowledging_runs_again_at_the_next_poll(void **state)
{
    kmrig_runtime *rt = hal_runtime_on("loop", 1);
    isr_ctx c = {.ctl = hal_map_loop_ctl(), .line = 1, .lower = TRUE, .lower_after = 5};
    PKINTERRUPT i = connect_line(1, &c, LevelSensitive, FALSE);
    raise_line(c.ctl, 1);
    assert_int_equal(c.calls, 1);
    for (int k = 0; k < 10; k++)
        READ_PORT_UCHAR((PUCHAR)0x80);
    assert_int_equal(c.calls, 5);
    IoDisconnectInterrupt(i);
    kmrig_runtime_destroy(rt);
}

static void test_io_connect_interrupt_latched_isr_runs_once_per_rising_edge(void **state)
{
    kmrig_runtime *rt = hal_runtime_on("loop", 1);
    isr_ctx c = {.ctl = hal_map_loop_ctl(), .line = 4, .lower = FALSE};
    /* An edge latched before the connection is stale and dropped. */
    raise_line(c.ctl, 4);
    WRITE_REGISTER_ULONG(c.ctl + 1, 1u << 4);
    PKINTERRUPT i = connect_line(4, &c, Latched, FALSE);
    assert_int_equal(c.calls, 0);
    raise_line(c.ctl, 4); /* the input stays high: one edge, one ISR */
    for (int k = 0; k < 10; k++)
        READ_PORT_UCHAR((PUCHAR)0x80);
    assert_int_equal(c.calls, 1);
    WRITE_REGISTER_ULONG(c.ctl + 1, 1u << 4);
    assert_int_equal(c.calls, 1);
    raise_line(c.ctl, 4);
    assert_int_equal(c.calls, 2);
    IoDisconnectInterrupt(i);
    kmrig_runtime_destroy(rt);
}

/* kmrig_runtime_irq_report: each connected line with the host's and the device's view and a
 * diagnosis; a line asserted at the device with no ISR; the report cut to a small buffer. */
static void test_irq_report_diagnoses_each_line(void **state)
{
    kmrig_runtime *rt = hal_runtime_on("loop", 1);
    char r[4096];
    kmrig_runtime_irq_report(rt, r, sizeof r);
    assert_non_null(strstr(r, "no line is connected or asserted at the device"));
    volatile ULONG *ctl = hal_map_loop_ctl();
    isr_ctx e = {.ctl = ctl, .line = 4};                /* claims, leaves the input high */
    isr_ctx q = {.ctl = ctl, .line = 5, .lower = TRUE}; /* never raised */
    PKINTERRUPT ie = connect_line(4, &e, Latched, FALSE);
    PKINTERRUPT iq = connect_line(5, &q, LevelSensitive, FALSE);
    raise_line(ctl, 4); /* one edge, one ISR; the input stays high: no edge can come again */
    assert_int_equal(e.calls, 1);
    raise_line(ctl, 6); /* nobody connected */
    size_t len = kmrig_runtime_irq_report(rt, r, sizeof r);
    assert_true(len < sizeof r);
    assert_int_equal(len, strlen(r));
    assert_non_null(strstr(r, "interrupt lines of "));
    const char *l4 = strstr(r, "  line 4 "), *l5 = strstr(r, "  line 5 ");
    assert_non_null(l4);
    assert_non_null(l5);
    assert_true(l4 < l5);
    assert_non_null(strstr(l4, "latched, 1 ISR(s), 1 service(s); host: idle"));
    const char *lost = strstr(l4, "diagnosis: a lost edge");
    assert_true(lost && lost < l5);
    assert_non_null(strstr(l4, "device: input high, not pending, unmasked, edge mode"));
    assert_non_null(strstr(l5, "level-sensitive, 1 ISR(s), 0 service(s); host: idle"));
    assert_non_null(strstr(l5, "device: input low, not pending, unmasked, level mode"));
    assert_non_null(strstr(l5, "diagnosis: the device does not assert it"));
    assert_non_null(strstr(r, "  line 6: pending at the device, no ISR connected"));
    /* the ISR that acknowledges (lowers the input) ends the lost edge's state: no diagnosis */
    WRITE_REGISTER_ULONG(ctl + 1, 1u << 4);
    kmrig_runtime_irq_report(rt, r, sizeof r);
    l4 = strstr(r, "  line 4 ");
    l5 = strstr(r, "  line 5 ");
    assert_true(l4 && l5);
    assert_true(!strstr(l4, "lost edge"));
    /* cut to a small buffer: NUL-terminated, the length it needed returned */
    char small[32];
    size_t want = kmrig_runtime_irq_report(rt, small, sizeof small);
    assert_int_equal(want, strlen(r));
    assert_int_equal(strlen(small), sizeof small - 1);
    assert_memory_equal(small, r, sizeof small - 1);
    IoDisconnectInterrupt(ie);
    IoDisconnectInterrupt(iq);
    kmrig_runtime_destroy(rt);
}

/* An edge that comes while the ISR runs (after the line's EOI) is latched: the ISR runs again at
 * the next poll, once per edge. */
static void test_io_connect_interrupt_latched_edge_during_the_isr_runs_it_again(void **state)
{
    kmrig_runtime *rt = hal_runtime_on("loop", 1);
    isr_ctx c = {.ctl = hal_map_loop_ctl(), .line = 4, .edges_again = 2};
    PKINTERRUPT i = connect_line(4, &c, Latched, FALSE);
    raise_line(c.ctl, 4);
    assert_int_equal(c.calls, 1);
    for (int k = 0; k < 10; k++)
        READ_PORT_UCHAR((PUCHAR)0x80);
    assert_int_equal(c.calls, 3); /* the edge, and the two the ISR made */
    IoDisconnectInterrupt(i);
    kmrig_runtime_destroy(rt);
}

static void test_io_connect_interrupt_shared_level_chain_stops_at_the_first_claim(void **state)
{
    kmrig_runtime *rt = hal_runtime_on("loop", 1);
    char log[16] = "";
    volatile ULONG *ctl = hal_map_loop_ctl();
    isr_ctx a = {.ctl = ctl, .line = 3, .never_claim = TRUE, .log = log, .letter = 'a'};
    isr_ctx b = {.ctl = ctl, .line = 3, .lower = TRUE, .log = log, .letter = 'b'};
    PKINTERRUPT ia = connect_line(3, &a, LevelSensitive, TRUE);
    PKINTERRUPT ib = connect_line(3, &b, LevelSensitive, TRUE);
    raise_line(ctl, 3);
    assert_string_equal(log, "ab");
    a.never_claim = FALSE;
    a.lower = TRUE;
    log[0] = 0;
    raise_line(ctl, 3);
    assert_string_equal(log, "a"); /* a claimed: b is not called */
    IoDisconnectInterrupt(ia);
    log[0] = 0;
    raise_line(ctl, 3);
    assert_string_equal(log, "b");
    IoDisconnectInterrupt(ib);
    kmrig_runtime_destroy(rt);
}

static void test_io_connect_interrupt_shared_latched_chain_calls_every_isr(void **state)
{
    kmrig_runtime *rt = hal_runtime_on("loop", 1);
    char log[16] = "";
    volatile ULONG *ctl = hal_map_loop_ctl();
    isr_ctx a = {.ctl = ctl, .line = 5, .log = log, .letter = 'a'};
    isr_ctx b = {.ctl = ctl, .line = 5, .log = log, .letter = 'b'};
    PKINTERRUPT ia = connect_line(5, &a, Latched, TRUE);
    PKINTERRUPT ib = connect_line(5, &b, Latched, TRUE);
    raise_line(ctl, 5);
    assert_string_equal(log, "ab");
    IoDisconnectInterrupt(ib);
    IoDisconnectInterrupt(ia);
    kmrig_runtime_destroy(rt);
}

static void test_io_connect_interrupt_refuses_a_vector_in_use(void **state)
{
    kmrig_runtime *rt = hal_runtime_on("loop", 1);
    isr_ctx c = {0};
    KIRQL irql;
    KAFFINITY aff;
    ULONG v = HalGetInterruptVector(Internal, 0, 6, 6, &irql, &aff);
    PKINTERRUPT first = connect_line(6, &c, LevelSensitive, FALSE), i;
    /* the first is not shared */
    assert_int_equal(
        IoConnectInterrupt(&i, test_isr, &c, NULL, v, irql, irql, LevelSensitive, TRUE, aff, FALSE),
        STATUS_INVALID_PARAMETER);
    IoDisconnectInterrupt(first);
    first = connect_line(6, &c, LevelSensitive, TRUE);
    /* the second is not shared, or wants the other mode */
    assert_int_equal(IoConnectInterrupt(&i, test_isr, &c, NULL, v, irql, irql, LevelSensitive,
                                        FALSE, aff, FALSE),
                     STATUS_INVALID_PARAMETER);
    assert_int_equal(
        IoConnectInterrupt(&i, test_isr, &c, NULL, v, irql, irql, Latched, TRUE, aff, FALSE),
        STATUS_INVALID_PARAMETER);
    IoDisconnectInterrupt(first);
    kmrig_runtime_destroy(rt);
}

static void test_io_disconnect_interrupt_stops_delivery(void **state)
{
    kmrig_runtime *rt = hal_runtime_on("loop", 1);
    isr_ctx c = {.ctl = hal_map_loop_ctl(), .line = 0, .lower = FALSE};
    PKINTERRUPT i = connect_line(0, &c, LevelSensitive, FALSE);
    IoDisconnectInterrupt(i);
    raise_line(c.ctl, 0);
    for (int k = 0; k < 10; k++)
        READ_PORT_UCHAR((PUCHAR)0x80);
    assert_int_equal(c.calls, 0);
    /* Reconnecting finds the line high and services it at once. */
    c.lower = TRUE;
    i = connect_line(0, &c, LevelSensitive, FALSE);
    assert_int_equal(c.calls, 1);
    IoDisconnectInterrupt(i);
    kmrig_runtime_destroy(rt);
}

static void storm(void *arg)
{
    hal_runtime_on("loop", 1);
    static isr_ctx c;
    c.ctl = hal_map_loop_ctl();
    c.line = 2;
    c.never_claim = TRUE;
    connect_line(2, &c, LevelSensitive, FALSE);
    raise_line(c.ctl, 2);
    for (int k = 0; k < 5000; k++)
        READ_PORT_UCHAR((PUCHAR)0x80);
}

static void test_hal_unclaimed_level_interrupt_is_an_interrupt_storm(void **state)
{
    ULONG_PTR params[4];
    assert_int_equal(kmtest_bugcheck_of(storm, NULL, params), HARDWARE_INTERRUPT_STORM);
    assert_int_equal(params[0], (ULONG_PTR)test_isr);
    assert_int_equal(params[3], 1); /* not chained */
}

static void storm_claimed(void *arg)
{
    hal_runtime_on("loop", 1);
    static isr_ctx c;
    c.ctl = hal_map_loop_ctl();
    c.line = 2; /* claims, never lowers the line, never touches the device */
    connect_line(2, &c, LevelSensitive, FALSE);
    raise_line(c.ctl, 2);
    LARGE_INTEGER d = {.QuadPart = -10000}; /* 1 ms: the processor idles, the line is polled */
    KeDelayExecutionThread(KernelMode, FALSE, &d);
}

/* NT: a level line that stays asserted although its ISR claims it (the driver does not tell its
 * device to release it) is an interrupt storm too. Here the ISR does not touch the device, so on
 * the virtual-time target nothing can ever lower the line, and time stands still while the idle
 * processor services it again and again: without the bugcheck the run would never end. */
static void test_hal_level_interrupt_claimed_but_never_released_is_an_interrupt_storm(void **state)
{
    ULONG_PTR params[4];
    assert_int_equal(kmtest_bugcheck_of(storm_claimed, NULL, params), HARDWARE_INTERRUPT_STORM);
    assert_int_equal(params[0], (ULONG_PTR)test_isr);
    assert_int_equal(params[3], 1); /* not chained */
}

typedef struct {
    isr_ctx *isr;
    LONG calls_inside;
    KIRQL irql_inside;
} sync_ctx;

static BOOLEAN NTAPI sync_routine(PVOID Context)
{
    sync_ctx *s = Context;
    s->irql_inside = KeGetCurrentIrql();
    raise_line(s->isr->ctl, s->isr->line); /* a delivery point, but the ISR must wait */
    READ_PORT_UCHAR((PUCHAR)0x80);
    s->calls_inside = s->isr->calls;
    return 77 == 77;
}

static void test_ke_synchronize_execution_excludes_the_isr(void **state)
{
    kmrig_runtime *rt = hal_runtime_on("loop", 1);
    isr_ctx c = {.ctl = hal_map_loop_ctl(), .line = 1, .lower = TRUE};
    KIRQL irql;
    KAFFINITY aff;
    ULONG v = HalGetInterruptVector(Internal, 0, 1, 1, &irql, &aff);
    PKINTERRUPT i;
    assert_int_equal(IoConnectInterrupt(&i, test_isr, &c, NULL, v, irql, irql + 1, LevelSensitive,
                                        FALSE, aff, FALSE),
                     STATUS_SUCCESS);
    sync_ctx s = {.isr = &c};
    assert_true(KeSynchronizeExecution(i, sync_routine, &s));
    assert_int_equal(s.irql_inside, irql + 1); /* SynchronizeIrql */
    assert_int_equal(s.calls_inside, 0);
    assert_int_equal(c.calls, 1); /* delivered as soon as IRQL dropped */
    assert_int_equal(c.irql_seen, irql + 1);
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
    IoDisconnectInterrupt(i);
    kmrig_runtime_destroy(rt);
}

static void sync_above_dirql(void *arg)
{
    hal_runtime_on("loop", 1);
    static isr_ctx c;
    PKINTERRUPT i = connect_line(1, &c, LevelSensitive, FALSE);
    KIRQL old;
    KeRaiseIrql(HIGH_LEVEL, &old);
    sync_ctx s = {.isr = &c};
    KeSynchronizeExecution(i, sync_routine, &s);
}

static void disconnect_junk(void *arg)
{
    hal_runtime_on("loop", 1);
    static KINTERRUPT_MODE junk[64];
    IoDisconnectInterrupt((PKINTERRUPT)junk);
}

static void test_ke_synchronize_execution_and_disconnect_check_their_caller(void **state)
{
    ULONG_PTR params[4];
    assert_int_equal(kmtest_bugcheck_of(sync_above_dirql, NULL, params),
                     DRIVER_VERIFIER_DETECTED_VIOLATION);
    assert_int_equal(params[0], KMRIG_VF_IRQL_TOO_HIGH);
    assert_int_equal(params[1], HIGH_LEVEL);
    assert_int_equal(kmtest_bugcheck_of(disconnect_junk, NULL, params),
                     DRIVER_VERIFIER_DETECTED_VIOLATION);
    assert_int_equal(params[0], KMRIG_VF_BAD_INTERRUPT_OBJECT);
}

static KEVENT wake_event;

static VOID NTAPI wake_dpc(PKDPC Dpc, PVOID Ctx, PVOID A1, PVOID A2)
{
    KeSetEvent(&wake_event, 0, FALSE);
}

static void test_hal_device_interrupt_wakes_an_idle_machine_at_device_time(void **state)
{
    kmrig_runtime *rt = hal_runtime_on("loop", 1);
    KDPC dpc;
    KeInitializeDpc(&dpc, wake_dpc, NULL);
    KeInitializeEvent(&wake_event, NotificationEvent, FALSE);
    isr_ctx c = {.ctl = hal_map_loop_ctl(), .line = 7, .lower = TRUE, .dpc = &dpc};
    PKINTERRUPT i = connect_line(7, &c, LevelSensitive, FALSE);
    WRITE_REGISTER_ULONG(c.ctl + 3, 7);    /* TIMER_LINE */
    WRITE_REGISTER_ULONG(c.ctl + 2, 5000); /* TIMER: 5000 cycles = 50 us from this access */
    uint64_t armed = kmrig_runtime_now_ns(rt);
    LARGE_INTEGER timeout = kmtest_ms(1000);
    assert_int_equal(KeWaitForSingleObject(&wake_event, Executive, KernelMode, FALSE, &timeout),
                     STATUS_SUCCESS);
    assert_int_equal(c.calls, 1);
    /* The machine idled to the device's event, exactly: the ISR entered at the expiry. */
    assert_int_equal(c.at_ns[0] - armed, 5000 * LOOP_NS_PER_CYCLE);
    IoDisconnectInterrupt(i);
    kmrig_runtime_destroy(rt);
}

static void wait_for_nothing(void *arg)
{
    hal_runtime_on("loop", 1);
    static KEVENT never;
    KeInitializeEvent(&never, NotificationEvent, FALSE);
    KeWaitForSingleObject(&never, Executive, KernelMode, FALSE, NULL);
}

/* The same wait with an ISR connected to a line the device never raises. */
static void wait_for_an_interrupt(void *arg)
{
    hal_runtime_on("loop", 1);
    static isr_ctx c = {.line = 3};
    connect_line(3, &c, LevelSensitive, FALSE);
    static KEVENT never;
    KeInitializeEvent(&never, NotificationEvent, FALSE);
    KeWaitForSingleObject(&never, Executive, KernelMode, FALSE, NULL);
}

static void test_hal_waiting_for_a_device_with_no_events_is_a_deadlock(void **state)
{
    assert_bugcheck(wait_for_nothing, NULL, KMRIG_BUGCHECK_DEADLOCK);
    /* its report says what the interrupt lines did: the one connected was never raised */
    char text[8192];
    assert_int_equal(
        kmtest_bugcheck_report_of(wait_for_an_interrupt, NULL, NULL, text, sizeof text),
        KMRIG_BUGCHECK_DEADLOCK);
    const char *l = strstr(text, "  line 3 (vector 0x43");
    assert_non_null(l);
    assert_non_null(strstr(l, "level-sensitive, 1 ISR(s), 0 service(s); host: idle"));
    assert_non_null(strstr(l, "diagnosis: the device does not assert it"));
}

/* Two processors: a system thread on each side of the ISR lock. The counter is a plain LONG:
 * only the interrupt spin lock makes the increments safe (TSan checks it). */
static LONG shared_count;
static PKINTERRUPT stress_interrupt;
static volatile LONG stress_stop;

static BOOLEAN NTAPI stress_sync(PVOID Context)
{
    shared_count++;
    return TRUE;
}

static VOID NTAPI stress_thread(PVOID Context)
{
    LONG *n = Context;
    while (!__atomic_load_n(&stress_stop, __ATOMIC_ACQUIRE)) {
        KeSynchronizeExecution(stress_interrupt, stress_sync, NULL);
        ++*n;
    }
    PsTerminateSystemThread(STATUS_SUCCESS);
}

static void test_ke_synchronize_execution_under_load_on_two_processors(void **state)
{
    kmrig_runtime *rt = hal_runtime_on("loop", 2);
    isr_ctx c = {.ctl = hal_map_loop_ctl(), .line = 2, .lower = TRUE, .shared = &shared_count};
    shared_count = 0;
    stress_interrupt = connect_line(2, &c, LevelSensitive, FALSE);
    LONG syncs = 0;
    HANDLE th;
    assert_int_equal(
        PsCreateSystemThread(&th, THREAD_ALL_ACCESS, NULL, NULL, NULL, stress_thread, &syncs),
        STATUS_SUCCESS);
    for (LONG k = 0; k < 2000; k++) {
        raise_line(c.ctl, 2);
        /* The ISR may run on either processor; wait until it lowered the line. Each poll is a
         * delivery point (the ISR may be ours to run); between polls, yield the host CPU so the
         * other processor's thread gets the link (host mutexes are not fair, and a sanitizer
         * build on a loaded machine is slow). */
        time_t limit = time(NULL) + 60;
        for (unsigned spin = 0; __atomic_load_n(&c.done, __ATOMIC_ACQUIRE) <= k; spin++) {
            READ_PORT_UCHAR((PUCHAR)0x80);
            sched_yield();
            if (!(spin % 1024) && time(NULL) > limit)
                fail_msg("ISR %ld did not finish in 60 s (entered %ld)", (long)k + 1,
                         (long)c.calls);
        }
    }
    __atomic_store_n(&stress_stop, 1, __ATOMIC_RELEASE);
    kmtest_join(th);
    assert_int_equal(c.calls, 2000);
    assert_int_equal(shared_count, 2000 + syncs);
    IoDisconnectInterrupt(stress_interrupt);
    kmrig_runtime_destroy(rt);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_hal_get_interrupt_vector_translates_each_line),
    cmocka_unit_test(test_io_connect_interrupt_rejects_bad_parameters),
    cmocka_unit_test(test_io_connect_interrupt_level_isr_runs_at_dirql_when_the_line_rises),
    cmocka_unit_test(
        test_io_connect_interrupt_level_line_held_high_reruns_isr_without_starving_dpcs),
    cmocka_unit_test(
        test_io_connect_interrupt_level_isr_not_acknowledging_runs_again_at_the_next_poll),
    cmocka_unit_test(test_io_connect_interrupt_latched_edge_during_the_isr_runs_it_again),
    cmocka_unit_test(test_io_connect_interrupt_latched_isr_runs_once_per_rising_edge),
    cmocka_unit_test(test_irq_report_diagnoses_each_line),
    cmocka_unit_test(test_io_connect_interrupt_shared_level_chain_stops_at_the_first_claim),
    cmocka_unit_test(test_io_connect_interrupt_shared_latched_chain_calls_every_isr),
    cmocka_unit_test(test_io_connect_interrupt_refuses_a_vector_in_use),
    cmocka_unit_test(test_io_disconnect_interrupt_stops_delivery),
    cmocka_unit_test(test_hal_unclaimed_level_interrupt_is_an_interrupt_storm),
    cmocka_unit_test(test_hal_level_interrupt_claimed_but_never_released_is_an_interrupt_storm),
    cmocka_unit_test(test_ke_synchronize_execution_excludes_the_isr),
    cmocka_unit_test(test_ke_synchronize_execution_and_disconnect_check_their_caller),
    cmocka_unit_test(test_hal_device_interrupt_wakes_an_idle_machine_at_device_time),
    cmocka_unit_test(test_hal_waiting_for_a_device_with_no_events_is_a_deadlock),
    cmocka_unit_test(test_ke_synchronize_execution_under_load_on_two_processors),
};

KMTEST_MAIN(tests)

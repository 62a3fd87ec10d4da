/* Races on the HAL's interrupt request path (host/internal/hal.h, "Races"): a poll from another
 * processor (or a wall-time link's thread) against the service of the line it reads, and
 * against IoDisconnectInterrupt. Two processors on the "loop" target.
 *
 * kmrig_link_irq_pending is wrapped (-Wl,--wrap, tests/hal/CMakeLists.txt) so that a poll made by
 * the poller thread can be held between reading the lines and requesting them: a test puts a
 * whole service in that window instead of waiting for the host's scheduler to do it. */
#include "hal_test.h"

#include <kmrig/link.h>

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- the seam: a poll of the poller thread, held after it read the lines ------------------ */

static __thread int is_poller;
static void (*hold_after_read)(uint32_t lines); /* NULL: no hold */

int __real_kmrig_link_irq_pending(struct kmrig_link *link, uint32_t *lines);
int __wrap_kmrig_link_irq_pending(struct kmrig_link *link, uint32_t *lines)
{
    int rc = __real_kmrig_link_irq_pending(link, lines);
    void (*hold)(uint32_t) = __atomic_load_n(&hold_after_read, __ATOMIC_ACQUIRE);
    if (rc == KMRIG_LINK_OK && is_poller && hold)
        hold(*lines);
    return rc;
}

static uint64_t wall_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000u + (uint64_t)t.tv_nsec / 1000000u;
}

/* Spins (yielding the host CPU) until *flag is at least want, for at most 5 s of wall time. */
static int wait_flag(volatile LONG *flag, LONG want)
{
    uint64_t limit = wall_ms() + 5000;
    while (__atomic_load_n(flag, __ATOMIC_ACQUIRE) < want)
        if (wall_ms() > limit)
            return 0;
        else
            sched_yield();
    return 1;
}

/* ---- the poller: a system thread on the other processor, each access a poll -------------- */

static volatile LONG poller_stop, poller_polls;
static volatile LONG poller_cpu; /* the processor the poller runs on */
static volatile ULONG *poller_ctl;
static ULONG poller_line;
static BOOLEAN poller_edges; /* raise and lower the line (edges), else read a port */

static VOID NTAPI poller_thread(PVOID Context)
{
    (void)Context;
    is_poller = 1;
    __atomic_store_n(&poller_cpu, (LONG)KeGetCurrentProcessorNumber(), __ATOMIC_RELEASE);
    while (!__atomic_load_n(&poller_stop, __ATOMIC_ACQUIRE)) {
        if (poller_edges) {
            WRITE_REGISTER_ULONG(poller_ctl, 1u << poller_line);     /* LINES_SET */
            WRITE_REGISTER_ULONG(poller_ctl + 1, 1u << poller_line); /* LINES_CLR */
        } else {
            READ_PORT_UCHAR((PUCHAR)0x80);
        }
        __atomic_add_fetch(&poller_polls, 1, __ATOMIC_RELEASE);
        sched_yield();
    }
    PsTerminateSystemThread(STATUS_SUCCESS);
}

static HANDLE start_poller(volatile ULONG *ctl, ULONG line, BOOLEAN edges)
{
    poller_ctl = ctl;
    poller_line = line;
    poller_edges = edges;
    __atomic_store_n(&poller_stop, 0, __ATOMIC_RELEASE);
    __atomic_store_n(&poller_cpu, -1, __ATOMIC_RELEASE);
    LONG polls = __atomic_load_n(&poller_polls, __ATOMIC_ACQUIRE);
    HANDLE th;
    assert_int_equal(
        PsCreateSystemThread(&th, THREAD_ALL_ACCESS, NULL, NULL, NULL, poller_thread, NULL),
        STATUS_SUCCESS);
    assert_true(wait_flag(&poller_polls, polls + 1)); /* it runs */
    return th;
}

static void stop_poller(HANDLE th)
{
    __atomic_store_n(&poller_stop, 1, __ATOMIC_RELEASE);
    kmtest_join(th);
}

/* Connects the line, delivered on processor `cpu`. */
static PKINTERRUPT connect(ULONG line, PKSERVICE_ROUTINE isr, PVOID ctx, KINTERRUPT_MODE mode,
                           ULONG cpu)
{
    KIRQL irql;
    KAFFINITY aff;
    ULONG v = HalGetInterruptVector(Internal, 0, line, line, &irql, &aff);
    assert_int_not_equal(v, 0);
    PKINTERRUPT i = NULL;
    assert_int_equal(IoConnectInterrupt(&i, isr, ctx, NULL, v, irql, irql, mode, FALSE,
                                        (KAFFINITY)1 << cpu, FALSE),
                     STATUS_SUCCESS);
    return i;
}

/* The processor of the calling thread, which is not the poller's. */
static ULONG my_cpu(void)
{
    ULONG cpu = KeGetCurrentProcessorNumber();
    assert_int_not_equal(cpu, (ULONG)__atomic_load_n(&poller_cpu, __ATOMIC_ACQUIRE));
    return cpu;
}

/* ---- a poll that read the line before its service must not deliver it again -------------- */

static volatile ULONG *race_ctl;
static volatile LONG isr_calls, isr_done, isr_waiting, poller_read_high, poller_held;

/* Line 2, level: the first run waits (at DIRQL, on processor 0) until the poller has read the
 * line high, then lowers it and claims. */
static BOOLEAN NTAPI waiting_isr(PKINTERRUPT Interrupt, PVOID Context)
{
    (void)Interrupt;
    (void)Context;
    if (__atomic_add_fetch(&isr_calls, 1, __ATOMIC_ACQ_REL) == 1) {
        __atomic_store_n(&isr_waiting, 1, __ATOMIC_RELEASE);
        wait_flag(&poller_read_high, 1);
    }
    WRITE_REGISTER_ULONG(race_ctl + 1, 1u << 2); /* LINES_CLR */
    __atomic_add_fetch(&isr_done, 1, __ATOMIC_RELEASE);
    return TRUE;
}

/* The poller's read of the lines, once, while the ISR waits: held until the service is over. */
static void hold_until_serviced(uint32_t lines)
{
    if (!(lines & (1u << 2)) || !__atomic_load_n(&isr_waiting, __ATOMIC_ACQUIRE) ||
        __atomic_load_n(&poller_read_high, __ATOMIC_ACQUIRE))
        return;
    __atomic_store_n(&poller_read_high, 1, __ATOMIC_RELEASE);
    wait_flag(&isr_done, 1);
    struct timespec d = {0, 20 * 1000000}; /* and the service's end after the ISR */
    nanosleep(&d, NULL);
    __atomic_store_n(&poller_held, 1, __ATOMIC_RELEASE);
}

static void
test_hal_poll_that_read_a_line_before_its_service_does_not_deliver_it_again(void **state)
{
    (void)state;
    kmrig_runtime *rt = hal_runtime_on("loop", 2);
    race_ctl = hal_map_loop_ctl();
    __atomic_store_n(&hold_after_read, hold_until_serviced, __ATOMIC_RELEASE);
    HANDLE th = start_poller(race_ctl, 2, FALSE);
    /* delivered here, on this thread's processor: the ISR runs in the access below */
    PKINTERRUPT i = connect(2, waiting_isr, NULL, LevelSensitive, my_cpu());
    WRITE_REGISTER_ULONG(race_ctl, 1u << 2); /* the line rises; its ISR runs in this access */
    assert_int_equal(__atomic_load_n(&isr_done, __ATOMIC_ACQUIRE), 1);
    assert_true(wait_flag(&poller_held, 1)); /* the poller's held poll went on */
    LONG polls = __atomic_load_n(&poller_polls, __ATOMIC_ACQUIRE);
    assert_true(wait_flag(&poller_polls, polls + 2));
    for (int k = 0; k < 10; k++) /* delivery points on processor 0, where the line is requested */
        READ_PORT_UCHAR((PUCHAR)0x80);
    stop_poller(th);
    __atomic_store_n(&hold_after_read, NULL, __ATOMIC_RELEASE);
    READ_PORT_UCHAR((PUCHAR)0x80);
    /* one rising of the line, one ISR run: the poll's reading predates the service */
    assert_int_equal(__atomic_load_n(&isr_calls, __ATOMIC_ACQUIRE), 1);
    IoDisconnectInterrupt(i);
    kmrig_runtime_destroy(rt);
}

/* ---- a request that races IoDisconnectInterrupt ------------------------------------------ */

/* Runs fn(arg) in a child process bounded by `seconds` of wall time, so that a hang fails with
 * a name instead of the whole test timing out. */
static void run_bounded(void (*fn)(void *), void *arg, unsigned seconds, const char *what)
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        alarm(seconds);
        fn(arg);
        _exit(0);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
        fail_msg("%s: hung (not done after %u s)", what, seconds);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("%s: failed (status 0x%x)", what, status);
}

static volatile LONG cycle_calls;

static BOOLEAN NTAPI counting_isr(PKINTERRUPT Interrupt, PVOID Context)
{
    (void)Interrupt;
    volatile ULONG *ctl = Context;
    __atomic_add_fetch(&cycle_calls, 1, __ATOMIC_RELEASE);
    WRITE_REGISTER_ULONG(ctl + 1, 1u << 3); /* LINES_CLR (a level line drops; no edge) */
    return TRUE;
}

#define RACE_CYCLES 300

typedef struct {
    KINTERRUPT_MODE Mode;
    BOOLEAN OnPoller; /* the line is delivered on the poller's processor, else on ours */
} cycle_args;

/* Processor 1 keeps raising line 3 (each access a poll that requests its vector) while
 * processor 0 connects and disconnects it. A request that lands just before the disconnect must
 * not stay behind for a vector nobody serves: its processor would never be idle again (its DPC
 * thread would spin on the request), virtual time (which moves only when every processor is
 * idle) would stop, and the delay after the cycle would never end. */
static void connect_disconnect_cycles(void *arg)
{
    const cycle_args *a = arg;
    kmrig_runtime *rt = hal_runtime_on("loop", 2);
    volatile ULONG *ctl = hal_map_loop_ctl();
    for (int k = 0; k < RACE_CYCLES; k++) {
        HANDLE th = start_poller(ctl, 3, TRUE);
        ULONG me = my_cpu();
        ULONG cpu = a->OnPoller ? (ULONG)__atomic_load_n(&poller_cpu, __ATOMIC_ACQUIRE) : me;
        PKINTERRUPT i = connect(3, counting_isr, (PVOID)ctl, a->Mode, cpu);
        /* disconnect while the other processor is busy requesting the line */
        LONG p0 = __atomic_load_n(&poller_polls, __ATOMIC_ACQUIRE);
        while (__atomic_load_n(&poller_polls, __ATOMIC_ACQUIRE) < p0 + 2)
            READ_PORT_UCHAR((PUCHAR)0x80);
        IoDisconnectInterrupt(i);
        stop_poller(th);
        LONG calls = __atomic_load_n(&cycle_calls, __ATOMIC_ACQUIRE);
        LARGE_INTEGER d = {.QuadPart = -10}; /* 1 us, with both processors idle */
        KeDelayExecutionThread(KernelMode, FALSE, &d);
        if (__atomic_load_n(&cycle_calls, __ATOMIC_ACQUIRE) != calls)
            fail_msg("cycle %d: the ISR ran after its disconnect", k);
    }
    /* the line was serviced while connected */
    assert_true(__atomic_load_n(&cycle_calls, __ATOMIC_ACQUIRE) > 0);
    kmrig_runtime_destroy(rt);
}

static void test_io_disconnect_interrupt_races_a_request_from_another_processor(void **state)
{
    (void)state;
    static const cycle_args cases[] = {
        {LevelSensitive, FALSE}, {Latched, FALSE}, {LevelSensitive, TRUE}, {Latched, TRUE}};
    static const char *const names[] = {
        "level line on the disconnecting processor", "latched line on the disconnecting processor",
        "level line on the requesting processor", "latched line on the requesting processor"};
    for (int c = 0; c < 4; c++)
        run_bounded(connect_disconnect_cycles, (void *)&cases[c], 60, names[c]);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_hal_poll_that_read_a_line_before_its_service_does_not_deliver_it_again),
    cmocka_unit_test(test_io_disconnect_interrupt_races_a_request_from_another_processor),
};

KMTEST_MAIN(tests)

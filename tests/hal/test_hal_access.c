/* Port and register access routed to the target, MmMapIoSpace/MmUnmapIoSpace, bus errors,
 * device time. Runs on the "loop" target (RAM in both spaces, 1 cycle = 10 ns per access). */
#include "hal_test.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void test_hal_read_write_port_all_widths_reach_the_target(void **state)
{
    kmrig_runtime *rt = hal_runtime_on("loop", 1);
    WRITE_PORT_UCHAR((PUCHAR)0x3F8, 0x5A);
    assert_int_equal(READ_PORT_UCHAR((PUCHAR)0x3F8), 0x5A);
    WRITE_PORT_USHORT((PUSHORT)0x100, 0xBEEF);
    assert_int_equal(READ_PORT_USHORT((PUSHORT)0x100), 0xBEEF);
    WRITE_PORT_ULONG((PULONG)0x200, 0x11223344);
    assert_int_equal(READ_PORT_ULONG((PULONG)0x200), 0x11223344);
    /* Little-endian byte lanes: byte 1 of the dword is 0x33. */
    assert_int_equal(READ_PORT_UCHAR((PUCHAR)0x201), 0x33);
    assert_int_equal(READ_PORT_USHORT((PUSHORT)0x202), 0x1122);
    /* Port space and memory space are distinct. */
    volatile UCHAR *m;
    PHYSICAL_ADDRESS pa = {.QuadPart = 0x3F8};
    m = MmMapIoSpace(pa, 1, MmNonCached);
    assert_non_null((void *)m);
    assert_int_equal(READ_REGISTER_UCHAR(m), 0);
    MmUnmapIoSpace((PVOID)m, 1);
    kmrig_runtime_destroy(rt);
}

static void test_hal_port_buffers_repeat_one_port(void **state)
{
    kmrig_runtime *rt = hal_runtime_on("loop", 1);
    UCHAR b[3] = {1, 2, 3}, rb[3];
    WRITE_PORT_BUFFER_UCHAR((PUCHAR)0x10, b, 3);
    assert_int_equal(READ_PORT_UCHAR((PUCHAR)0x10), 3); /* the last write wins */
    assert_int_equal(READ_PORT_UCHAR((PUCHAR)0x11), 0); /* the next port untouched */
    READ_PORT_BUFFER_UCHAR((PUCHAR)0x10, rb, 3);
    assert_memory_equal(rb, ((UCHAR[]){3, 3, 3}), 3);

    USHORT w[2] = {0x1111, 0x2222}, rw[2];
    WRITE_PORT_BUFFER_USHORT((PUSHORT)0x20, w, 2);
    assert_int_equal(READ_PORT_USHORT((PUSHORT)0x22), 0);
    READ_PORT_BUFFER_USHORT((PUSHORT)0x20, rw, 2);
    assert_int_equal(rw[0], 0x2222);
    assert_int_equal(rw[1], 0x2222);

    ULONG d[2] = {0xA0A0A0A0, 0xB0B0B0B0}, rd[2];
    WRITE_PORT_BUFFER_ULONG((PULONG)0x40, d, 2);
    assert_int_equal(READ_PORT_ULONG((PULONG)0x44), 0);
    READ_PORT_BUFFER_ULONG((PULONG)0x40, rd, 2);
    assert_int_equal(rd[0], 0xB0B0B0B0);
    assert_int_equal(rd[1], 0xB0B0B0B0);
    /* Count 0 touches nothing. */
    READ_PORT_BUFFER_ULONG((PULONG)0x40, NULL, 0);
    kmrig_runtime_destroy(rt);
}

static void test_hal_register_buffers_walk_addresses(void **state)
{
    kmrig_runtime *rt = hal_runtime_on("loop", 1);
    PHYSICAL_ADDRESS pa = {.QuadPart = 0x1000};
    volatile ULONG *p = MmMapIoSpace(pa, 0x100, MmNonCached);
    assert_non_null((void *)p);
    ULONG d[4] = {1, 2, 3, 4}, rd[4] = {0};
    WRITE_REGISTER_BUFFER_ULONG(p, d, 4);
    assert_int_equal(READ_REGISTER_ULONG(p + 2), 3);
    READ_REGISTER_BUFFER_ULONG(p, rd, 4);
    assert_memory_equal(rd, d, sizeof d);

    volatile USHORT *ps = (volatile USHORT *)(p + 8);
    USHORT s[3] = {0xA1, 0xB2, 0xC3}, rs[3];
    WRITE_REGISTER_BUFFER_USHORT(ps, s, 3);
    READ_REGISTER_BUFFER_USHORT(ps, rs, 3);
    assert_memory_equal(rs, s, sizeof s);
    assert_int_equal(READ_REGISTER_USHORT(ps + 1), 0xB2);

    volatile UCHAR *pc = (volatile UCHAR *)(p + 16);
    UCHAR c[5] = "abcd", rc[5] = {0};
    WRITE_REGISTER_BUFFER_UCHAR(pc, c, 5);
    READ_REGISTER_BUFFER_UCHAR(pc, rc, 5);
    assert_string_equal((char *)rc, "abcd");
    WRITE_REGISTER_UCHAR(pc + 1, 'X');
    WRITE_REGISTER_USHORT((volatile USHORT *)(pc + 2), 0x5A59); /* "YZ" */
    assert_int_equal(READ_REGISTER_ULONG((volatile ULONG *)pc), 0x5A595861);
    MmUnmapIoSpace((PVOID)p, 0x100);
    kmrig_runtime_destroy(rt);
}

static void test_mm_map_io_space_keeps_the_page_offset(void **state)
{
    kmrig_runtime *rt = hal_runtime_on("loop", 1);
    PHYSICAL_ADDRESS pa = {.QuadPart = 0x1234};
    volatile ULONG *p = MmMapIoSpace(pa, 8, MmNonCached);
    assert_non_null((void *)p);
    assert_int_equal((ULONG_PTR)p & (PAGE_SIZE - 1), 0x234);
    WRITE_REGISTER_ULONG(p + 1, 0xCAFEF00D); /* bus 0x1238 */
    PHYSICAL_ADDRESS page = {.QuadPart = 0x1000};
    volatile UCHAR *q = MmMapIoSpace(page, PAGE_SIZE, MmNonCached);
    assert_int_equal(READ_REGISTER_ULONG((volatile ULONG *)(q + 0x238)), 0xCAFEF00D);
    MmUnmapIoSpace((PVOID)q, PAGE_SIZE);
    MmUnmapIoSpace((PVOID)p, 8);
    kmrig_runtime_destroy(rt);
}

static void test_hal_register_routines_on_ordinary_memory_are_plain_accesses(void **state)
{
    kmrig_runtime *rt = hal_runtime_on("loop", 1);
    ULONG x = 7;
    assert_int_equal(READ_REGISTER_ULONG(&x), 7);
    WRITE_REGISTER_ULONG(&x, 9);
    assert_int_equal(x, 9);
    UCHAR buf[4] = {1, 2, 3, 4}, out[4];
    READ_REGISTER_BUFFER_UCHAR(buf, out, 4);
    assert_memory_equal(buf, out, 4);
    kmrig_runtime_destroy(rt);
}

static void access_after_unmap(void *arg)
{
    hal_runtime_on("loop", 1);
    PHYSICAL_ADDRESS pa = {.QuadPart = 0x2000};
    volatile ULONG *p = MmMapIoSpace(pa, 16, MmNonCached);
    MmUnmapIoSpace((PVOID)p, 16);
    *(volatile ULONG_PTR *)arg = (ULONG_PTR)p; /* (the child's copy) */
    READ_REGISTER_ULONG(p);
}

static void access_beyond_mapping(void *arg)
{
    hal_runtime_on("loop", 1);
    PHYSICAL_ADDRESS pa = {.QuadPart = 0x2000};
    volatile ULONG *p = MmMapIoSpace(pa, 16, MmNonCached);
    WRITE_REGISTER_ULONG(p + 4, 1);
}

static void test_hal_register_access_outside_a_live_mapping_is_a_page_fault(void **state)
{
    ULONG_PTR params[4], dummy = 0;
    assert_int_equal(kmtest_bugcheck_of(access_after_unmap, &dummy, params),
                     PAGE_FAULT_IN_NONPAGED_AREA);
    assert_int_equal(params[1], 0); /* a read */
    assert_int_equal(params[0] & (PAGE_SIZE - 1), 0);
    assert_int_equal(kmtest_bugcheck_of(access_beyond_mapping, NULL, params),
                     PAGE_FAULT_IN_NONPAGED_AREA);
    assert_int_equal(params[1], 1); /* a write */
    assert_int_equal(params[0] & (PAGE_SIZE - 1), 16);
}

/* A driver that maps and unmaps for ever (per request, or a start/stop loop) never runs out:
 * once the table is full, the window unmapped longest ago gives up its slot. The one unmapped
 * last is still caught as a page fault after 1000 more map/unmap pairs. */
static void stale_after_many_mappings(void *arg)
{
    hal_runtime_on("loop", 1);
    PHYSICAL_ADDRESS pa = {.QuadPart = 0x3000};
    volatile ULONG *stale = NULL;
    for (ULONG k = 0; k < 3000; k++) {
        volatile ULONG *p = MmMapIoSpace(pa, 16, MmNonCached);
        if (!p)
            _exit(10); /* (the parent sees no bug check) */
        WRITE_REGISTER_ULONG(p + 1, k);
        if (READ_REGISTER_ULONG(p + 1) != k)
            _exit(11);
        MmUnmapIoSpace((PVOID)p, 16);
        stale = p;
    }
    for (ULONG k = 0; k < 1000; k++) {
        PVOID p = MmMapIoSpace(pa, 16, MmNonCached);
        if (!p)
            _exit(12);
        MmUnmapIoSpace(p, 16);
    }
    *(volatile ULONG_PTR *)arg = (ULONG_PTR)stale;
    READ_REGISTER_ULONG(stale);
}

static void test_mm_map_io_space_reuses_the_slots_of_unmapped_windows(void **state)
{
    ULONG_PTR params[4], dummy = 0;
    assert_int_equal(kmtest_bugcheck_of(stale_after_many_mappings, &dummy, params),
                     PAGE_FAULT_IN_NONPAGED_AREA);
    assert_int_equal(params[1], 0); /* a read */
}

/* At most 1024 windows are live at once: the next mapping fails (NULL, logged) and the run
 * goes on; after an unmap, mapping works again. */
static void test_mm_map_io_space_fails_beyond_the_live_window_limit(void **state)
{
    kmrig_runtime *rt = hal_runtime_on("loop", 1);
    enum { LIVE = 1024 };
    static volatile UCHAR *w[LIVE];
    for (ULONG i = 0; i < LIVE; i++) {
        PHYSICAL_ADDRESS pa = {.QuadPart = 0x8000 + i};
        w[i] = MmMapIoSpace(pa, 1, MmNonCached);
        assert_non_null((void *)w[i]);
        WRITE_REGISTER_UCHAR(w[i], (UCHAR)i);
    }
    PHYSICAL_ADDRESS extra = {.QuadPart = 0x9000};
    assert_null(MmMapIoSpace(extra, 4, MmNonCached));
    /* every window still reaches its own bus address */
    for (ULONG i = 0; i < LIVE; i += 97)
        assert_int_equal(READ_REGISTER_UCHAR(w[i]), (UCHAR)i);
    MmUnmapIoSpace((PVOID)w[500], 1);
    volatile ULONG *p = MmMapIoSpace(extra, 4, MmNonCached);
    assert_non_null((void *)p);
    WRITE_REGISTER_ULONG(p, 0xC0FFEE);
    assert_int_equal(READ_REGISTER_UCHAR(w[501]), 501 & 0xFF);
    assert_int_equal(READ_REGISTER_ULONG(p), 0xC0FFEE);
    for (ULONG i = 0; i < LIVE; i++)
        if (i != 500)
            MmUnmapIoSpace((PVOID)w[i], 1);
    MmUnmapIoSpace((PVOID)p, 4);
    kmrig_runtime_destroy(rt);
}

/* Register accesses read the window table without a lock while another thread maps and
 * unmaps (slots recycled all the while): every access reaches its own window's bus address. */
static volatile LONG churn_stop, churn_rounds, churn_bad;

static VOID NTAPI churn_thread(PVOID Context)
{
    (void)Context;
    for (ULONG k = 0; !__atomic_load_n(&churn_stop, __ATOMIC_ACQUIRE); k++) {
        PHYSICAL_ADDRESS pa = {.QuadPart = 0x4000 + (k % 64) * 16};
        volatile ULONG *p = MmMapIoSpace(pa, 16, MmNonCached);
        if (!p) {
            __atomic_add_fetch(&churn_bad, 1, __ATOMIC_RELEASE);
            break;
        }
        WRITE_REGISTER_ULONG(p, k);
        if (READ_REGISTER_ULONG(p) != k)
            __atomic_add_fetch(&churn_bad, 1, __ATOMIC_RELEASE);
        MmUnmapIoSpace((PVOID)p, 16);
        __atomic_add_fetch(&churn_rounds, 1, __ATOMIC_RELEASE);
    }
    PsTerminateSystemThread(STATUS_SUCCESS);
}

static void test_hal_register_access_while_windows_are_mapped_and_unmapped(void **state)
{
    kmrig_runtime *rt = hal_runtime_on("loop", 2);
    PHYSICAL_ADDRESS pa = {.QuadPart = 0x6000};
    volatile ULONG *w = MmMapIoSpace(pa, 16, MmNonCached);
    assert_non_null((void *)w);
    __atomic_store_n(&churn_stop, 0, __ATOMIC_RELEASE);
    __atomic_store_n(&churn_rounds, 0, __ATOMIC_RELEASE);
    __atomic_store_n(&churn_bad, 0, __ATOMIC_RELEASE);
    HANDLE th;
    assert_int_equal(
        PsCreateSystemThread(&th, THREAD_ALL_ACCESS, NULL, NULL, NULL, churn_thread, NULL),
        STATUS_SUCCESS);
    ULONG reads = 0;
    /* until the churn has recycled every slot twice over (and at least 20000 accesses here) */
    while (__atomic_load_n(&churn_rounds, __ATOMIC_ACQUIRE) < 3000 || reads < 20000) {
        WRITE_REGISTER_ULONG(w + 1, reads);
        assert_int_equal(READ_REGISTER_ULONG(w + 1), reads);
        reads++;
        if (__atomic_load_n(&churn_bad, __ATOMIC_ACQUIRE))
            break;
    }
    __atomic_store_n(&churn_stop, 1, __ATOMIC_RELEASE);
    kmtest_join(th);
    assert_int_equal(__atomic_load_n(&churn_bad, __ATOMIC_ACQUIRE), 0);
    MmUnmapIoSpace((PVOID)w, 16);
    kmrig_runtime_destroy(rt);
}

static void unmap_unknown(void *arg)
{
    hal_runtime_on("loop", 1);
    ULONG x;
    MmUnmapIoSpace(&x, sizeof x);
}

static void unmap_twice(void *arg)
{
    hal_runtime_on("loop", 1);
    PHYSICAL_ADDRESS pa = {.QuadPart = 0x2000};
    PVOID p = MmMapIoSpace(pa, 16, MmNonCached);
    MmUnmapIoSpace(p, 16);
    MmUnmapIoSpace(p, 16);
}

static void unmap_wrong_size(void *arg)
{
    hal_runtime_on("loop", 1);
    PHYSICAL_ADDRESS pa = {.QuadPart = 0x2000};
    PVOID p = MmMapIoSpace(pa, 16, MmNonCached);
    MmUnmapIoSpace(p, 8);
}

static void test_mm_unmap_io_space_of_no_mapping_bugchecks(void **state)
{
    ULONG_PTR params[4];
    assert_int_equal(kmtest_bugcheck_of(unmap_unknown, NULL, params),
                     DRIVER_VERIFIER_DETECTED_VIOLATION);
    assert_int_equal(params[0], KMRIG_VF_BAD_IO_UNMAP);
    assert_int_equal(kmtest_bugcheck_of(unmap_twice, NULL, params),
                     DRIVER_VERIFIER_DETECTED_VIOLATION);
    assert_int_equal(params[0], KMRIG_VF_BAD_IO_UNMAP);
    assert_int_equal(kmtest_bugcheck_of(unmap_wrong_size, NULL, params),
                     DRIVER_VERIFIER_DETECTED_VIOLATION);
    assert_int_equal(params[2], 8);
}

static void port_too_high(void *arg)
{
    hal_runtime_on("loop", 1);
    READ_PORT_ULONG((PULONG)0xFFFE);
}

static void port_pointer(void *arg)
{
    hal_runtime_on("loop", 1);
    ULONG x;
    WRITE_PORT_ULONG(&x, 1); /* a memory pointer passed where a port number belongs */
}

static void test_hal_port_outside_the_port_space_bugchecks(void **state)
{
    ULONG_PTR params[4];
    assert_int_equal(kmtest_bugcheck_of(port_too_high, NULL, params),
                     DRIVER_VERIFIER_DETECTED_VIOLATION);
    assert_int_equal(params[0], KMRIG_VF_BAD_PORT);
    assert_int_equal(params[1], 0xFFFE);
    assert_int_equal(params[2], 4);
    assert_int_equal(kmtest_bugcheck_of(port_pointer, NULL, params),
                     DRIVER_VERIFIER_DETECTED_VIOLATION);
    assert_int_equal(params[0], KMRIG_VF_BAD_PORT);
}

static void test_mm_map_io_space_refuses_what_is_not_device_bus(void **state)
{
    kmrig_runtime *rt = hal_runtime_on("loop", 1);
    PHYSICAL_ADDRESS pa = {.QuadPart = 0x1000};
    assert_null(MmMapIoSpace(pa, 0, MmNonCached));
    pa.QuadPart = 0x100000000ll;
    assert_null(MmMapIoSpace(pa, 4, MmNonCached));
    pa.QuadPart = 0xFFFFFFFCll;
    assert_null(MmMapIoSpace(pa, 8, MmNonCached)); /* crosses the end of the bus */
    assert_non_null(MmMapIoSpace(pa, 4, MmNonCached));
    pa.QuadPart = -4096;
    assert_null(MmMapIoSpace(pa, 4, MmNonCached));
    pa.QuadPart = 0x1000;
    assert_null(MmMapIoSpace(pa, 4, (MEMORY_CACHING_TYPE)77));
    kmrig_runtime_destroy(rt);

    rt = kmtest_runtime(1); /* no target */
    assert_null(MmMapIoSpace(pa, 4, MmNonCached));
    kmrig_runtime_destroy(rt);
}

static void map_at_high(void *arg)
{
    hal_runtime_on("loop", 1);
    KIRQL old;
    KeRaiseIrql(HIGH_LEVEL, &old);
    PHYSICAL_ADDRESS pa = {.QuadPart = 0x1000};
    MmMapIoSpace(pa, 4, MmNonCached);
}

static void test_mm_map_io_space_above_dispatch_bugchecks(void **state)
{
    ULONG_PTR params[4];
    assert_int_equal(kmtest_bugcheck_of(map_at_high, NULL, params),
                     DRIVER_VERIFIER_DETECTED_VIOLATION);
    assert_int_equal(params[0], KMRIG_VF_IRQL_TOO_HIGH);
    assert_int_equal(params[1], HIGH_LEVEL);
    assert_int_equal(params[2], DISPATCH_LEVEL);
}

static void test_hal_access_at_any_irql(void **state)
{
    kmrig_runtime *rt = hal_runtime_on("loop", 1);
    static const KIRQL levels[] = {PASSIVE_LEVEL, APC_LEVEL, DISPATCH_LEVEL, 11, HIGH_LEVEL};
    for (size_t i = 0; i < sizeof levels; i++) {
        KIRQL old;
        KeRaiseIrql(levels[i], &old);
        WRITE_PORT_UCHAR((PUCHAR)0x60, (UCHAR)i);
        assert_int_equal(READ_PORT_UCHAR((PUCHAR)0x60), i);
        KeLowerIrql(old);
    }
    kmrig_runtime_destroy(rt);
}

static void test_hal_bus_error_reads_all_ones_and_the_run_goes_on(void **state)
{
    kmrig_runtime *rt = hal_runtime_on("null", 1);
    assert_int_equal(READ_PORT_UCHAR((PUCHAR)0x80), 0xFF);
    assert_int_equal(READ_PORT_USHORT((PUSHORT)0x80), 0xFFFF);
    assert_int_equal(READ_PORT_ULONG((PULONG)0x80), 0xFFFFFFFF);
    WRITE_PORT_UCHAR((PUCHAR)0x80, 1);
    PHYSICAL_ADDRESS pa = {.QuadPart = 0x1000};
    volatile ULONG *p = MmMapIoSpace(pa, 4, MmNonCached);
    assert_non_null((void *)p);
    assert_int_equal(READ_REGISTER_ULONG(p), 0xFFFFFFFF);
    MmUnmapIoSpace((PVOID)p, 4);
    kmrig_runtime_destroy(rt);

    /* On the loop target, memory above its RAM and control block decodes to nothing. */
    rt = hal_runtime_on("loop", 1);
    pa.QuadPart = 0x80000;
    p = MmMapIoSpace(pa, 4, MmNonCached);
    assert_int_equal(READ_REGISTER_ULONG(p), 0xFFFFFFFF);
    WRITE_PORT_UCHAR((PUCHAR)0x61, 0x42); /* and the target still answers afterwards */
    assert_int_equal(READ_PORT_UCHAR((PUCHAR)0x61), 0x42);
    kmrig_runtime_destroy(rt);
}

static void test_hal_accesses_take_device_time(void **state)
{
    kmrig_runtime *rt = hal_runtime_on("loop", 1);
    uint64_t t0 = kmrig_runtime_now_ns(rt);
    for (int i = 0; i < 100; i++)
        READ_PORT_UCHAR((PUCHAR)0x70);
    assert_int_equal(kmrig_runtime_now_ns(rt) - t0, 100 * LOOP_NS_PER_CYCLE);
    /* A stall runs the device for exactly that long. */
    t0 = kmrig_runtime_now_ns(rt);
    KeStallExecutionProcessor(10);
    assert_int_equal(kmrig_runtime_now_ns(rt) - t0, 10000);
    /* The device counted the accesses (each 1 cycle), and its clock is the runtime's. */
    volatile ULONG *ctl = hal_map_loop_ctl();
    ULONG a0 = READ_REGISTER_ULONG(ctl + 4);
    ULONG a1 = READ_REGISTER_ULONG(ctl + 4);
    assert_int_equal(a1 - a0, 1);
    kmrig_runtime_destroy(rt);
}

static void keep_last(void *ctx, enum kmrig_log_level level, const char *msg)
{
    if (level == KMRIG_LOG_ERROR)
        snprintf(ctx, 256, "%s", msg);
}

static void test_hal_runtime_create_reports_an_unusable_target(void **state)
{
    kmrig_config cfg;
    kmrig_config_init(&cfg);
    char last[256] = "";
    cfg.log_fn = keep_last; /* the errors are expected: keep the last one to check it */
    cfg.log_ctx = last;
    kmrig_runtime *rt = NULL;
    cfg.target = "bogus";
    assert_int_equal(kmrig_runtime_create(&cfg, &rt), -ENOENT);
    assert_non_null(strstr(last, "unknown target 'bogus'"));
    /* a board transport whose device is not there (no USB device has this ID) */
    /* (or, in a build without libftdi1, the transport says what to install) */
    cfg.target = "ftdi://ffff:fffe";
    int rc = kmrig_runtime_create(&cfg, &rt);
    if (rc == -ENOTSUP)
        assert_non_null(strstr(last, "apt-get install libftdi1-dev"));
    else {
        assert_int_equal(rc, -EIO);
        assert_non_null(strstr(last, "cannot open ffff:fffe"));
    }
    cfg.target = "loop:junk";
    assert_int_equal(kmrig_runtime_create(&cfg, &rt), -EINVAL);
    assert_null(rt);
    cfg.target = "loop";
    assert_int_equal(kmrig_runtime_create(&cfg, &rt), 0);
    kmrig_runtime_destroy(rt);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_hal_read_write_port_all_widths_reach_the_target),
    cmocka_unit_test(test_hal_port_buffers_repeat_one_port),
    cmocka_unit_test(test_hal_register_buffers_walk_addresses),
    cmocka_unit_test(test_mm_map_io_space_keeps_the_page_offset),
    cmocka_unit_test(test_hal_register_routines_on_ordinary_memory_are_plain_accesses),
    cmocka_unit_test(test_hal_register_access_outside_a_live_mapping_is_a_page_fault),
    cmocka_unit_test(test_mm_unmap_io_space_of_no_mapping_bugchecks),
    cmocka_unit_test(test_mm_map_io_space_reuses_the_slots_of_unmapped_windows),
    cmocka_unit_test(test_mm_map_io_space_fails_beyond_the_live_window_limit),
    cmocka_unit_test(test_hal_register_access_while_windows_are_mapped_and_unmapped),
    cmocka_unit_test(test_hal_port_outside_the_port_space_bugchecks),
    cmocka_unit_test(test_mm_map_io_space_refuses_what_is_not_device_bus),
    cmocka_unit_test(test_mm_map_io_space_above_dispatch_bugchecks),
    cmocka_unit_test(test_hal_access_at_any_irql),
    cmocka_unit_test(test_hal_bus_error_reads_all_ones_and_the_run_goes_on),
    cmocka_unit_test(test_hal_accesses_take_device_time),
    cmocka_unit_test(test_hal_runtime_create_reports_an_unusable_target),
};

KMTEST_MAIN(tests)

/* Shared helpers of the HAL tests: runtimes on the "loop" target (kmrig/link.h). */
#ifndef HAL_TEST_H
#define HAL_TEST_H

#include "kmtest.h"

/* Loop target registers (bridge/link/link_loop.c). */
#define LOOP_LINES_SET 0x10000u
#define LOOP_LINES_CLR 0x10004u
#define LOOP_TIMER 0x10008u
#define LOOP_TIMER_LINE 0x1000Cu
#define LOOP_ACCESSES 0x10010u
#define LOOP_NS_PER_CYCLE 10u

static inline kmrig_runtime *hal_runtime_on(const char *target, unsigned processors)
{
    kmrig_config cfg;
    kmrig_config_init(&cfg);
    cfg.processors = processors;
    cfg.target = target;
    cfg.time_budget_ns = 10ull * 1000000000ull;
    return kmtest_runtime_cfg(&cfg);
}

/* Maps the loop target's control registers. */
static inline volatile ULONG *hal_map_loop_ctl(void)
{
    PHYSICAL_ADDRESS pa;
    pa.QuadPart = 0x10000;
    volatile ULONG *p = MmMapIoSpace(pa, 0x40, MmNonCached);
    assert_non_null((void *)p);
    return p;
}

#endif

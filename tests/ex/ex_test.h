/* ex_test.h - helpers shared by the Ex tests: system threads started and joined by handle. */
#ifndef EX_TEST_H
#define EX_TEST_H

#include "kmtest.h"

static inline HANDLE ex_start(PKSTART_ROUTINE Routine, PVOID Context)
{
    HANDLE h = NULL;
    assert_int_equal(
        PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL, Routine, Context),
        STATUS_SUCCESS);
    return h;
}

static inline void ex_sleep_ms(LONGLONG ms)
{
    LARGE_INTEGER d = kmtest_ms(ms);
    KeDelayExecutionThread(KernelMode, FALSE, &d);
}

#endif

/*
 * kmtest.h - the test runner for kmrig's cmocka tests.
 *
 * Each test runs in its own process (fork per test), so a bugcheck, a crash or a hang fails that
 * test with its report and the rest of the suite goes on. A test that does not finish within its
 * wall-clock limit (KMTEST_TIMEOUT seconds, default 120) is killed and reported as hung.
 *
 *   prog                run every test, each in its own process
 *   prog --list         list the test names
 *   prog NAME...        run only these tests (exact names or cmocka globs)
 *   prog --no-fork ...  run in this process (for a debugger)
 */
#ifndef KMTEST_H
#define KMTEST_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ntddk.h>
#include <kmrig/runtime.h>

int kmtest_main(int argc, char **argv, const char *group, const struct CMUnitTest *tests,
                size_t count);
#define KMTEST_MAIN(tests)                                                                         \
    int main(int argc, char **argv)                                                                \
    {                                                                                              \
        return kmtest_main(argc, argv, __FILE__, tests, sizeof(tests) / sizeof((tests)[0]));       \
    }

/* A runtime with test defaults: virtual time, verifier on, `processors` processors. The calling
 * thread is attached at PASSIVE_LEVEL. */
kmrig_runtime *kmtest_runtime(unsigned processors);
kmrig_runtime *kmtest_runtime_cfg(const kmrig_config *cfg);

/* Runs fn(arg) in a child process that is expected to bugcheck. Returns the bugcheck code the
 * child reported (params[0..3] filled when non-NULL), or 0 if the child exited without one. */
ULONG kmtest_bugcheck_of(void (*fn)(void *), void *arg, ULONG_PTR params[4]);
/* The same, and copies the report file's text (NUL-terminated, truncated to size) to text. */
ULONG kmtest_bugcheck_report_of(void (*fn)(void *), void *arg, ULONG_PTR params[4], char *text,
                                size_t size);
#define assert_bugcheck(fn, arg, code)                                                             \
    assert_int_equal(kmtest_bugcheck_of((fn), (arg), NULL), (code))

/* Fills memory with junk before an object is initialised (objects must not rely on zeroed
 * memory). */
void kmtest_junk(void *p, size_t n);

/* Waits for a system thread (PsCreateSystemThread's handle) to end, and closes the handle. */
static inline void kmtest_join(HANDLE h)
{
    PVOID t = NULL;
    assert_int_equal(ObReferenceObjectByHandle(h, SYNCHRONIZE, *PsThreadType, KernelMode, &t, NULL),
                     STATUS_SUCCESS);
    assert_int_equal(KeWaitForSingleObject(t, Executive, KernelMode, FALSE, NULL), STATUS_SUCCESS);
    ObDereferenceObject(t);
    ZwClose(h);
}

/* Relative NT timeout of ms milliseconds (negative 100 ns units). */
static inline LARGE_INTEGER kmtest_ms(LONGLONG ms)
{
    LARGE_INTEGER li;
    li.QuadPart = -ms * 10000;
    return li;
}

#endif

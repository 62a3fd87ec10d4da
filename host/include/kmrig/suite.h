/*
 * kmrig/suite.h - regression suites for `kmrig run` and ctest (docs/cli.md, "Suites").
 *
 * A suite is a program built from C test files (cmocka tests against the harness API,
 * kmrig/rig.h) with the CMake function kmrig_add_suite() (cmake/KmrigSuite.cmake):
 *
 *   #include <kmrig/suite.h>
 *
 *   static void serial_port_starts(void **state)
 *   {
 *       kmrig_rig *rig = kmrig_suite_rig_open();          // on the suite's target
 *       kmrig_rig_register_driver(rig, "*PNP0501", "serial", Serial16550DriverEntry);
 *       assert_int_equal(kmrig_rig_start(rig, NULL, 0), STATUS_SUCCESS);
 *       ...
 *       kmrig_rig_close(rig);                              // writes the trace, checks leaks
 *   }
 *
 *   static const struct CMUnitTest tests[] = { cmocka_unit_test(serial_port_starts) };
 *   KMRIG_SUITE_MAIN(tests)
 *
 * The suite program:
 *   suite [--target URI] [--seed N] [--trace FILE]           every test, each in its own process
 *   suite [options] NAME...                                  these tests (names or globs)
 *   suite --list                                             the test names, one a line
 *   suite --no-fork [options] NAME                           one test in this process
 *                                                            (kmrig run, a debugger)
 * Exit status: 0 every selected test passed, 1 one failed, 2 usage error, 77 every selected
 * test skipped (a test that calls kmrig_suite_skip). With --no-fork a bugcheck exits with
 * KMRIG_EXIT_BUGCHECK (66) and a crash dies of its signal.
 *
 * The target: --target URI, else $KMRIG_TARGET, else the board CTest gave the test through a
 * resource group (CTEST_RESOURCE_GROUP_COUNT, CTEST_RESOURCE_GROUP_0, and
 * CTEST_RESOURCE_GROUP_0_<TYPE> = "id:ID,slots:N"): the URI is $KMRIG_BOARD_<ID> (ID upper-cased)
 * if set, else the ID itself when it names a transport ("sim"); else "sim".
 */
#ifndef KMRIG_SUITE_H
#define KMRIG_SUITE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ntddk.h>
#include <kmrig/rig.h>

#ifdef __cplusplus
extern "C" {
#endif

int kmrig_suite_main(int argc, char **argv, const char *name, const struct CMUnitTest *tests,
                     size_t count);
#define KMRIG_SUITE_MAIN(tests)                                                                    \
    int main(int argc, char **argv)                                                                \
    {                                                                                              \
        return kmrig_suite_main(argc, argv, NULL, tests, sizeof(tests) / sizeof((tests)[0]));      \
    }

/* The target URI the suite runs on (see above). Never NULL. */
const char *kmrig_suite_target(void);
/* The run's seed (--seed N, else $KMRIG_SEED, else 1): tests derive their random inputs from it,
 * so the command `kmrig run` prints for a failure reproduces it. */
uint64_t kmrig_suite_seed(void);
/* The next number of a xorshift64* stream started from the seed (the same for every run with the
 * same seed, per test process). */
uint64_t kmrig_suite_random(void);
/* The trace file of this test (--trace FILE) or NULL. */
const char *kmrig_suite_trace_path(void);

/* Fills o with the suite's settings: the target, one processor, a simulated-time budget of
 * 600 s, the trace path (through o->config). The config lives in the suite (one per process). */
void kmrig_suite_rig_options(struct kmrig_rig_options *o);
/* Opens a rig with kmrig_suite_rig_options; a failure fails the test with the status. */
kmrig_rig *kmrig_suite_rig_open(void);

/* Ends the test as skipped, with a reason (printed, and in the JUnit report of kmrig run). */
void kmrig_suite_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Exit status of a skipped test's process (and of a suite whose every test skipped). */
#define KMRIG_EXIT_SKIPPED 77

#ifdef __cplusplus
}
#endif

#endif

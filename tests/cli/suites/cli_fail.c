/* A suite with every kind of ending, for tests/cli: an assertion, a bugcheck, a crash, a skip, a
 * flaky test (fails on its first run in $KMRIG_CLI_FLAKY_DIR, passes after), a hang (with
 * $KMRIG_CLI_HANG) and a pass. */
#include <kmrig/suite.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void cli_fail_asserts(void **state)
{
    int one = 1;
    printf("about to fail\n");
    assert_int_equal(one, 2);
}

static void cli_fail_bugchecks(void **state)
{
    kmrig_rig *rig = kmrig_suite_rig_open();
    KeBugCheckEx(MANUALLY_INITIATED_CRASH, 1, 2, 3, 4);
    kmrig_rig_close(rig);
}

static void cli_fail_crashes(void **state)
{
    abort();
}

static void cli_fail_skips(void **state)
{
    kmrig_suite_skip("no board here");
}

static void cli_fail_flaky(void **state)
{
    const char *dir = getenv("KMRIG_CLI_FLAKY_DIR");
    assert_non_null(dir);
    char path[512];
    snprintf(path, sizeof path, "%s/flaky-ran", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd >= 0) {
        close(fd);
        fail_msg("first run: failing on purpose");
    }
}

static BOOLEAN NTAPI cli_fail_isr(PKINTERRUPT Interrupt, PVOID Context)
{
    (void)Interrupt, (void)Context;
    return TRUE;
}

/* Hangs (a wait nothing will end, on the wall clock) when KMRIG_CLI_HANG is set; else skips.
 * Like a driver test waiting for an interrupt that never comes, it has an ISR connected to
 * line 2, which kmrig run's hang report shows. */
static void cli_fail_hangs(void **state)
{
    if (!getenv("KMRIG_CLI_HANG"))
        kmrig_suite_skip("KMRIG_CLI_HANG is not set");
    kmrig_rig *rig = kmrig_suite_rig_open();
    assert_non_null(rig);
    KIRQL irql;
    KAFFINITY aff;
    ULONG vector = HalGetInterruptVector(Internal, 0, 2, 0, &irql, &aff);
    PKINTERRUPT interrupt = NULL;
    assert_int_equal(IoConnectInterrupt(&interrupt, cli_fail_isr, NULL, NULL, vector, irql, irql,
                                        LevelSensitive, FALSE, aff, FALSE),
                     STATUS_SUCCESS);
    const char *dir = getenv("KMRIG_CLI_FLAKY_DIR");
    if (dir) { /* tell test_cli who hangs, so it can check that kmrig killed it */
        char path[512];
        snprintf(path, sizeof path, "%s/hang-pid", dir);
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fprintf(f, "%d\n", (int)getpid());
        fclose(f);
    }
    for (;;)
        pause();
}

static void cli_fail_passes(void **state)
{
    kmrig_rig *rig = kmrig_suite_rig_open();
    kmrig_rig_close(rig);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(cli_fail_asserts), cmocka_unit_test(cli_fail_bugchecks),
    cmocka_unit_test(cli_fail_crashes), cmocka_unit_test(cli_fail_skips),
    cmocka_unit_test(cli_fail_flaky),   cmocka_unit_test(cli_fail_hangs),
    cmocka_unit_test(cli_fail_passes),
};
KMRIG_SUITE_MAIN(tests)

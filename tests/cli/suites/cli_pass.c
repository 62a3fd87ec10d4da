/* A suite whose tests pass, for tests/cli: they open a rig on the suite's target and report the
 * seed and target they were given, which test_cli checks in the JUnit report. */
#include <kmrig/suite.h>

#include <stdio.h>
#include <stdlib.h>

static void cli_pass_rig_opens_on_the_target(void **state)
{
    kmrig_rig *rig = kmrig_suite_rig_open();
    assert_non_null(kmrig_rig_runtime(rig));
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
    const char *board = getenv("CTEST_RESOURCE_GROUP_0_FPGA_BOARDS");
    printf("target=%s seed=%llu board=%s\n", kmrig_suite_target(),
           (unsigned long long)kmrig_suite_seed(), board ? board : "none");
    kmrig_rig_close(rig);
}

static void cli_pass_random_follows_the_seed(void **state)
{
    uint64_t a = kmrig_suite_random(), b = kmrig_suite_random();
    assert_true(a != b);
    printf("random=%llu\n", (unsigned long long)a);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(cli_pass_rig_opens_on_the_target),
    cmocka_unit_test(cli_pass_random_follows_the_seed),
};
KMRIG_SUITE_MAIN(tests)

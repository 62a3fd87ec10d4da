/* A suite whose tests die with their rig open, for tests/cli's checks of traces of dying tests:
 * each writes 0x11, 0x22, 0x33 to a register of the loop target (three "write bus" events in the
 * trace), then fails an assertion or takes a SIGSEGV, so kmrig_rig_close never runs. */
#include <kmrig/suite.h>

#include <signal.h>

static volatile ULONG *cli_die_three_writes(void)
{
    PHYSICAL_ADDRESS pa;
    pa.QuadPart = 0x1000; /* loop: RAM */
    volatile ULONG *reg = MmMapIoSpace(pa, 0x100, MmNonCached);
    assert_non_null(reg);
    WRITE_REGISTER_ULONG((PULONG)reg, 0x11);
    WRITE_REGISTER_ULONG((PULONG)reg, 0x22);
    WRITE_REGISTER_ULONG((PULONG)reg, 0x33);
    return reg;
}

static void cli_die_asserts_mid_test(void **state)
{
    kmrig_rig *rig = kmrig_suite_rig_open();
    volatile ULONG *reg = cli_die_three_writes();
    assert_int_equal(READ_REGISTER_ULONG((PULONG)reg), 0x44); /* it is 0x33: fails here */
    kmrig_rig_close(rig);
}

static void cli_die_segfaults_mid_test(void **state)
{
    kmrig_rig *rig = kmrig_suite_rig_open();
    cli_die_three_writes();
    signal(SIGSEGV, SIG_DFL); /* a plain death by the signal, also under ASan's handler */
    raise(SIGSEGV);
    kmrig_rig_close(rig);
}

static void cli_die_closes_its_rig(void **state)
{
    kmrig_rig *rig = kmrig_suite_rig_open();
    cli_die_three_writes();
    kmrig_rig_close(rig);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(cli_die_asserts_mid_test),
    cmocka_unit_test(cli_die_segfaults_mid_test),
    cmocka_unit_test(cli_die_closes_its_rig),
};
KMRIG_SUITE_MAIN(tests)

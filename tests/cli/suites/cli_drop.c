/* A suite whose link drops in the middle of a test, for tests/cli: on the model behind the
 * stream engine (sim:fidelity=stream, a wall-time target driven as a board is), the test reads
 * the SoC's ID, pulls the cable (kmrig_link_sim_cut), and carries on as a driver that ignores
 * all-ones reads would. It asserts nothing about the loss itself: the suite runner must fail it. */
#include <kmrig/link_sim.h>
#include <kmrig/suite.h>

#include "kmrig_soc_map.h" /* bridge/sim/gen: the reference SoC's addresses */

static void cli_drop_link_drops_mid_test(void **state)
{
    struct kmrig_rig_options o;
    kmrig_suite_rig_options(&o);
    o.target = "sim:fidelity=stream,fault_seed=1";
    kmrig_rig *rig = NULL;
    assert_int_equal(kmrig_rig_open(&o, &rig), STATUS_SUCCESS);
    PHYSICAL_ADDRESS pa;
    pa.QuadPart = KMRIG_SOC_SYSID_BASE;
    volatile ULONG *sysid = MmMapIoSpace(pa, 0x100, MmNonCached);
    assert_non_null(sysid);
    ULONG id = READ_REGISTER_ULONG((PULONG)sysid);
    assert_int_equal(id, 0x4B4D5247u); /* KMRG */
    assert_int_equal(kmrig_link_sim_cut(kmrig_rig_link(rig)), 0);
    (void)READ_REGISTER_ULONG((PULONG)sysid); /* all ones now; this driver does not check */
    MmUnmapIoSpace((PVOID)sysid, 0x100);
    kmrig_rig_close(rig);
}

static void cli_drop_runs_after_a_drop(void **state)
{
    kmrig_rig *rig = kmrig_suite_rig_open();
    kmrig_rig_close(rig);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(cli_drop_link_drops_mid_test),
    cmocka_unit_test(cli_drop_runs_after_a_drop),
};
KMRIG_SUITE_MAIN(tests)

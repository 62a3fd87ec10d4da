/* The rig on the sim target: the root bus enumerates the reference SoC's enumeration ROM
 * (docs/rtl.md), read through the HAL from the Verilator model. */
#include "rig_drivers.h"
#include "kmrig_soc_map.h"

static kmrig_rig *sim_rig(void)
{
    struct kmrig_rig_options o;
    kmrig_rig_options_init(&o);
    o.target = "sim";
    kmrig_rig *rig = NULL;
    assert_int_equal(kmrig_rig_open(&o, &rig), STATUS_SUCCESS);
    return rig;
}

static const struct kmrig_device_desc *find_desc(const struct kmrig_device_desc *d, size_t n,
                                                 const char *hwid)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(d[i].hardware_ids[0], hwid))
            return &d[i];
    return NULL;
}

static void test_rig_sim_rom_lists_the_reference_soc(void **state)
{
    kmrig_rig *rig = sim_rig();
    struct kmrig_device_desc d[16];
    size_t n = 0;
    assert_int_equal(kmrig_rig_read_rom(rig, d, 16, &n), STATUS_SUCCESS);
    assert_int_equal(n, 7);
    const struct kmrig_device_desc *uart = find_desc(d, n, "*PNP0501");
    assert_non_null(uart);
    assert_false(uart->core);
    assert_int_equal(uart->resource_count, 3);
    assert_int_equal(uart->resources[0].kind, KMRIG_RES_PORT);
    assert_int_equal(uart->resources[0].start, 0x3F8);
    assert_int_equal(uart->resources[0].length, 8);
    assert_int_equal(uart->resources[1].kind, KMRIG_RES_INTERRUPT);
    assert_int_equal(uart->resources[1].line, 2);
    assert_int_equal(uart->resources[2].kind, KMRIG_RES_DMA);
    assert_int_equal(uart->resources[2].channel, 0);
    const struct kmrig_device_desc *sg = find_desc(d, n, "KMRIG\\SGDMA");
    assert_non_null(sg);
    assert_true(sg->bus_master);
    assert_false(sg->core);
    assert_int_equal(sg->resources[0].kind, KMRIG_RES_MEMORY);
    assert_int_equal(sg->resources[0].start, 0x4000);
    assert_int_equal(sg->resources[0].length, 0x100);
    assert_int_equal(sg->resources[1].line, 3);
    /* the system DMA controller is part of the bridge (the HAL's), listed but not a PnP child */
    const struct kmrig_device_desc *sys = find_desc(d, n, "KMRIG\\SYSDMA");
    assert_non_null(sys);
    assert_true(sys->core);
    assert_int_equal(sys->resources[0].start, 0x5000);
    assert_int_equal(sys->resources[1].line, 4);
    kmrig_rig_close(rig);
}

static void test_rig_sim_start_enumerates_the_non_core_devices(void **state)
{
    kmrig_rig *rig = sim_rig();
    assert_int_equal(kmrig_rig_register_driver(rig, "*PNP0501", "testfn", FnEntry), STATUS_SUCCESS);
    assert_int_equal(kmrig_rig_start(rig, NULL, 0), STATUS_SUCCESS);
    /* timer0, timer1, uart0, dma0: the ROM's non-core entries */
    struct kmrig_device_info info;
    size_t count = 0;
    while (kmrig_rig_device(rig, count, &info) == STATUS_SUCCESS)
        count++;
    assert_int_equal(count, 4);
    assert_null(kmrig_rig_find(rig, "KMRIG\\SYSDMA"));
    PDEVICE_OBJECT uart = kmrig_rig_find(rig, "ROOT\\*PNP0501\\0");
    assert_non_null(uart);
    assert_int_equal(kmrig_rig_device_info(rig, uart, &info), STATUS_SUCCESS);
    assert_int_equal(info.state, KMRIG_DEVICE_STARTED);
    /* what the driver's START saw */
    assert_int_equal(g_raw_count, 3);
    assert_int_equal(g_raw[0].u.Port.Start.QuadPart, KMRIG_SOC_UART0_BASE);
    assert_int_equal(g_raw[0].u.Port.Length, KMRIG_SOC_UART0_SIZE);
    assert_int_equal(g_raw[1].u.Interrupt.Level, KMRIG_SOC_UART0_IRQ);
    KIRQL irql;
    KAFFINITY aff;
    assert_int_equal(g_tr[1].u.Interrupt.Vector,
                     HalGetInterruptVector(Internal, 0, KMRIG_SOC_UART0_IRQ, 0, &irql, &aff));
    assert_int_equal(g_tr[1].u.Interrupt.Level, irql);
    assert_int_equal(g_raw[2].u.Dma.Channel, 0);
    PDEVICE_OBJECT sg = kmrig_rig_find(rig, "KMRIG\\SGDMA\\0");
    assert_non_null(sg);
    assert_int_equal(kmrig_rig_device_info(rig, sg, &info), STATUS_SUCCESS);
    assert_int_equal(info.state, KMRIG_DEVICE_ENUMERATED); /* no driver registered */
    assert_int_equal(info.desc->resources[0].start, KMRIG_SOC_DMA0_BASE);
    assert_int_equal(info.desc->resources[1].line, KMRIG_SOC_DMA0_IRQ);
    kmrig_rig_close(rig);
}

static void test_rig_rom_parse_refuses_a_bad_checksum(void **state)
{
    uint32_t w[KMRIG_SOC_ROM_WORDS];
    memcpy(w, kmrig_soc_rom_expected, sizeof w);
    struct kmrig_device_desc d[8];
    struct kmrig_rom_strings s[8];
    size_t n;
    assert_int_equal(kmrig_rom_parse(w, KMRIG_SOC_ROM_WORDS, d, s, 8, &n), STATUS_SUCCESS);
    assert_int_equal(n, 7);
    w[6] ^= 1; /* a window base bit */
    assert_int_equal(kmrig_rom_parse(w, KMRIG_SOC_ROM_WORDS, d, s, 8, &n),
                     STATUS_DEVICE_CONFIGURATION_ERROR);
    assert_int_equal(n, 0);
    memcpy(w, kmrig_soc_rom_expected, sizeof w);
    w[0] = 0;
    assert_int_equal(kmrig_rom_parse(w, KMRIG_SOC_ROM_WORDS, d, s, 8, &n),
                     STATUS_DEVICE_CONFIGURATION_ERROR);
    /* a count beyond the words given */
    memcpy(w, kmrig_soc_rom_expected, sizeof w);
    assert_int_equal(kmrig_rom_parse(w, 20, d, s, 8, &n), STATUS_DEVICE_CONFIGURATION_ERROR);
}

static void test_rig_read_rom_without_target_is_no_such_device(void **state)
{
    kmrig_rig *rig = test_rig();
    struct kmrig_device_desc d[8];
    size_t n = 5;
    assert_int_equal(kmrig_rig_read_rom(rig, d, 8, &n), STATUS_NO_SUCH_DEVICE);
    assert_int_equal(n, 0);
    assert_int_equal(kmrig_rig_start(rig, NULL, 0), STATUS_NO_SUCH_DEVICE);
    kmrig_rig_close(rig);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_rig_sim_rom_lists_the_reference_soc),
    cmocka_unit_test(test_rig_sim_start_enumerates_the_non_core_devices),
    cmocka_unit_test(test_rig_rom_parse_refuses_a_bad_checksum),
    cmocka_unit_test(test_rig_read_rom_without_target_is_no_such_device),
};
KMTEST_MAIN(tests)

/*
 * test_bridge_sim_models.c - several Verilator models in one program (kmrig/sim_model.h): the
 * reference SoC (kmrig::simsoc) and the user SoC "crcsoc" that kmrig_add_user_soc builds from
 * fixtures/crc_soc/crc32_periph.v, both linked here, both open at once, each with its own map,
 * ROM and peripherals. The CRC-32 results are checked against a plain C CRC-32 of the same bytes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include <kmrig/sim_model.h>
#include <kmrig_soc_map.h>
#include <crcsoc_map.h>

#define MEM 0
#define CRC(r) (CRCSOC_CRC0_BASE + CRC32_##r)
#define CRC_BIT (1u << CRCSOC_CRC0_IRQ)
#define HOST_BASE 0x200000000ull
#define HOST_WORDS 64u

/* The reference CRC-32 (IEEE 802.3, reflected, as zlib's crc32()). */
static uint32_t crc32_sw(uint32_t crc, const uint8_t *p, size_t n)
{
    crc = ~crc;
    while (n--) {
        crc ^= *p++;
        for (int i = 0; i < 8; i++)
            crc = (crc & 1) ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
    }
    return ~crc;
}

static uint32_t rd(kmrig_simsoc *m, uint32_t addr)
{
    uint32_t v = 0xDEADBEEF;
    int rc = kmrig_simsoc_read(m, MEM, addr, 4, &v);
    if (rc != KMRIG_SIM_OK)
        fail_msg("read 0x%x: %s", addr, kmrig_simsoc_strerror(rc));
    return v;
}

static void wr(kmrig_simsoc *m, uint32_t addr, uint32_t v)
{
    int rc = kmrig_simsoc_write(m, MEM, addr, 4, v);
    if (rc != KMRIG_SIM_OK)
        fail_msg("write 0x%x: %s", addr, kmrig_simsoc_strerror(rc));
}

static kmrig_simsoc *open_model(const char *name)
{
    kmrig_simsoc *m = NULL;
    int rc = kmrig_simsoc_open_model(name, NULL, &m);
    if (rc != KMRIG_SIM_OK)
        fail_msg("open %s: %s", name, kmrig_simsoc_strerror(rc));
    return m;
}

static void test_sim_models_both_are_registered_with_their_maps(void **state)
{
    (void)state;
    const struct kmrig_sim_model *list[16];
    size_t n = kmrig_sim_models(list, 16);
    assert_int_equal(n, 2);
    const struct kmrig_sim_model *ref = kmrig_sim_model_find(KMRIG_SIM_MODEL_DEFAULT);
    const struct kmrig_sim_model *crc = kmrig_sim_model_find("crcsoc");
    assert_non_null(ref);
    assert_non_null(crc);
    assert_ptr_not_equal(ref, crc);
    assert_true((list[0] == ref && list[1] == crc) || (list[0] == crc && list[1] == ref));
    assert_string_equal(ref->top, "kmrig_soc_bridge"); /* the SoC behind the bridge engine */
    assert_string_equal(crc->top, "crcsoc_soc");
    assert_string_equal(crc->c_prefix, "crcsoc");
    assert_int_equal(ref->soc_id, KMRIG_SOC_ID);
    assert_int_equal(ref->soc_version, KMRIG_SOC_VERSION);
    assert_int_equal(ref->intc_base, KMRIG_SOC_INTC_BASE);
    assert_int_equal(ref->irq_lines, KMRIG_SOC_IRQ_LINES);
    assert_int_equal(crc->soc_id, CRCSOC_ID);
    assert_int_equal(crc->soc_version, CRCSOC_VERSION);
    assert_int_equal(crc->intc_base, CRCSOC_INTC_BASE);
    assert_int_equal(crc->intc_io, CRCSOC_INTC_IO);
    assert_int_equal(crc->rom_base, CRCSOC_ROM_BASE);
    assert_int_equal(crc->irq_lines, CRCSOC_IRQ_LINES);
    assert_null(kmrig_sim_model_find("nosuch"));
    assert_null(kmrig_sim_model_find(NULL));
}

static void test_sim_models_open_by_name_and_default(void **state)
{
    (void)state;
    kmrig_simsoc *m = (kmrig_simsoc *)0x1;
    assert_int_equal(kmrig_simsoc_open_model("nosuch", NULL, &m), KMRIG_SIM_ENOENT);
    assert_null(m);
    assert_string_equal(kmrig_simsoc_strerror(KMRIG_SIM_ENOENT),
                        "no model of that name is linked into this program");
    m = kmrig_simsoc_create(NULL);
    assert_non_null(m);
    assert_ptr_equal(kmrig_simsoc_model(m), kmrig_sim_model_find(KMRIG_SIM_MODEL_DEFAULT));
    kmrig_simsoc_destroy(m);
    assert_int_equal(kmrig_simsoc_open_model(NULL, NULL, &m), KMRIG_SIM_OK);
    assert_ptr_equal(kmrig_simsoc_model(m), kmrig_sim_model_find(KMRIG_SIM_MODEL_DEFAULT));
    kmrig_simsoc_destroy(m);
    m = open_model("crcsoc");
    assert_ptr_equal(kmrig_simsoc_model(m), kmrig_sim_model_find("crcsoc"));
    /* Argument checks are the harness's, on every model. */
    struct kmrig_simsoc_config cfg;
    kmrig_simsoc_config_init(&cfg);
    assert_int_equal(cfg.bus_timeout, 1024);
    cfg.idle_gap = 256;
    kmrig_simsoc *bad = NULL;
    assert_int_equal(kmrig_simsoc_open_model("crcsoc", &cfg, &bad), KMRIG_SIM_EINVAL);
    assert_null(bad);
    kmrig_simsoc_destroy(m);
}

static void test_sim_models_register_refuses_a_second_table_of_one_name(void **state)
{
    (void)state;
    const struct kmrig_sim_model *crc = kmrig_sim_model_find("crcsoc");
    struct kmrig_sim_model copy = *crc;
    assert_int_equal(kmrig_sim_model_register(crc), KMRIG_SIM_OK); /* the same table: no-op */
    assert_int_equal(kmrig_sim_model_register(&copy), KMRIG_SIM_EINVAL);
    copy.name = NULL;
    assert_int_equal(kmrig_sim_model_register(&copy), KMRIG_SIM_EINVAL);
    assert_int_equal(kmrig_sim_model_register(NULL), KMRIG_SIM_EINVAL);
    assert_int_equal(kmrig_sim_models(NULL, 0), 2);
}

/* Each SoC answers with its own sysid, ROM and windows while the other is open too. */
static void test_sim_models_two_open_at_once_keep_their_own_state(void **state)
{
    (void)state;
    kmrig_simsoc *ref = open_model(KMRIG_SIM_MODEL_DEFAULT);
    kmrig_simsoc *crc = open_model("crcsoc");
    assert_int_equal(rd(ref, KMRIG_SOC_SYSID_BASE + KMRIG_SYSID_ID), KMRIG_SOC_ID);
    assert_int_equal(rd(crc, CRCSOC_SYSID_BASE + KMRIG_SYSID_ID), CRCSOC_ID);
    assert_int_equal(rd(crc, CRCSOC_SYSID_BASE + KMRIG_SYSID_VERSION), CRCSOC_VERSION);
    wr(ref, KMRIG_SOC_SYSID_BASE + KMRIG_SYSID_SCRATCH, 0x11111111);
    wr(crc, CRCSOC_SYSID_BASE + KMRIG_SYSID_SCRATCH, 0x22222222);
    assert_int_equal(rd(ref, KMRIG_SOC_SYSID_BASE + KMRIG_SYSID_SCRATCH), 0x11111111);
    assert_int_equal(rd(crc, CRCSOC_SYSID_BASE + KMRIG_SYSID_SCRATCH), 0x22222222);
    for (unsigned i = 0; i < KMRIG_SOC_ROM_WORDS; i++)
        assert_int_equal(rd(ref, KMRIG_SOC_ROM_BASE + 4 * i), kmrig_soc_rom_expected[i]);
    for (unsigned i = 0; i < CRCSOC_ROM_WORDS; i++)
        assert_int_equal(rd(crc, CRCSOC_ROM_BASE + 4 * i), crcsoc_rom_expected[i]);
    /* The user SoC has no timer0; the reference has no CRC engine. */
    uint32_t v = 0;
    assert_int_equal(kmrig_simsoc_read(crc, MEM, KMRIG_SOC_TIMER0_BASE, 4, &v), KMRIG_SIM_EBUS);
    assert_int_equal(kmrig_simsoc_read(ref, MEM, CRC(CRC), 4, &v), KMRIG_SIM_EBUS);
    /* Clocks are separate: the accesses above moved each model by its own. */
    uint64_t c_ref = kmrig_simsoc_cycles(ref), c_crc = kmrig_simsoc_cycles(crc);
    kmrig_simsoc_run(ref, 1000);
    assert_int_equal(kmrig_simsoc_cycles(ref), c_ref + 1000);
    assert_int_equal(kmrig_simsoc_cycles(crc), c_crc);
    kmrig_simsoc_destroy(ref);
    kmrig_simsoc_destroy(crc);
}

/* The ROM entry of the user peripheral, as the root bus reads it. */
static void test_sim_models_user_rom_entry_describes_the_peripheral(void **state)
{
    (void)state;
    kmrig_simsoc *crc = open_model("crcsoc");
    uint32_t info = rd(crc, CRCSOC_ROM_BASE + KMRIG_ROM_HDR_INFO);
    unsigned entries = (info >> 8) & 0xFF;
    assert_int_equal(info & 0xFF, KMRIG_ROM_LAYOUT);
    assert_int_equal(entries, 3); /* sysid, intc, crc0 */
    int found = 0;
    for (unsigned e = 0; e < entries; e++) {
        uint32_t at = CRCSOC_ROM_BASE + KMRIG_ROM_HDR_BYTES + e * KMRIG_ROM_ENTRY_BYTES;
        char hwid[KMRIG_ROM_NAME_BYTES + 1] = {0};
        for (unsigned i = 0; i < KMRIG_ROM_NAME_BYTES; i += 4) {
            uint32_t w = rd(crc, at + KMRIG_ROM_ENT_NAME + i);
            memcpy(hwid + i, &w, 4);
        }
        if (strcmp(hwid, "KMRIG\\CRC32"))
            continue;
        found++;
        uint32_t flags = rd(crc, at + KMRIG_ROM_ENT_FLAGS);
        assert_int_equal(flags & 0xFF, KMRIG_ROM_FLAG_IRQ | KMRIG_ROM_FLAG_DMA);
        assert_int_equal((flags >> 8) & 0xFF, CRCSOC_CRC0_IRQ);
        assert_int_equal(rd(crc, at + KMRIG_ROM_ENT_BASE), CRCSOC_CRC0_BASE);
        assert_int_equal(rd(crc, at + KMRIG_ROM_ENT_SIZE), CRCSOC_CRC0_SIZE);
    }
    assert_int_equal(found, 1);
    kmrig_simsoc_destroy(crc);
}

/* Host-fed CRC: every DATA word takes 4 cycles, then DONE raises the interrupt line. */
static void test_sim_models_user_peripheral_crc_by_register_writes(void **state)
{
    (void)state;
    kmrig_simsoc *crc = open_model("crcsoc");
    static const uint8_t msg[12] = "kmrig-crc32!";
    wr(crc, CRCSOC_INTC_BASE + KMRIG_INTC_MASK, ~CRC_BIT);
    wr(crc, CRC(CTRL), CRC32_CTRL_IRQ_EN);
    wr(crc, CRC(CRC), 0);
    assert_int_equal(rd(crc, CRC(CRC)), 0);
    for (unsigned i = 0; i < sizeof msg; i += 4) {
        uint32_t w = (uint32_t)msg[i] | (uint32_t)msg[i + 1] << 8 | (uint32_t)msg[i + 2] << 16 |
                     (uint32_t)msg[i + 3] << 24;
        wr(crc, CRC(DATA), w);
        kmrig_simsoc_run_until_irq_change(crc, 100);
        assert_int_equal(kmrig_simsoc_irq(crc), CRC_BIT);
        uint32_t st = rd(crc, CRC(STATUS));
        assert_int_equal(st, CRC32_STATUS_DONE);
        wr(crc, CRC(STATUS), CRC32_STATUS_DONE);
        assert_int_equal(rd(crc, CRC(STATUS)), 0);
        assert_int_equal(kmrig_simsoc_irq(crc), 0);
        assert_int_equal(rd(crc, CRC(CRC)), crc32_sw(0, msg, i + 4));
    }
    /* Writing a CRC continues from it, as crc32(crc, ...) does. */
    uint32_t head = crc32_sw(0, msg, 4);
    wr(crc, CRC(CRC), head);
    wr(crc, CRC(DATA), 0x34333231); /* "1234" */
    kmrig_simsoc_run(crc, 10);
    assert_int_equal(rd(crc, CRC(CRC)), crc32_sw(head, (const uint8_t *)"1234", 4));
    kmrig_simsoc_destroy(crc);
}

struct host {
    uint8_t mem[HOST_WORDS * 4];
    int refuse;
    unsigned reads;
};

static int host_dma(void *ctx, int write, uint64_t addr, unsigned size, uint32_t *data)
{
    struct host *h = ctx;
    if (h->refuse || write || size != 4 || addr < HOST_BASE ||
        addr + size > HOST_BASE + sizeof h->mem)
        return -1;
    memcpy(data, &h->mem[addr - HOST_BASE], 4);
    h->reads++;
    return 0;
}

/* The peripheral's DMA master reads host memory through the DMA port of the user SoC. */
static void test_sim_models_user_peripheral_dma_master(void **state)
{
    (void)state;
    kmrig_simsoc *crc = open_model("crcsoc");
    struct host *h = calloc(1, sizeof *h);
    for (unsigned i = 0; i < sizeof h->mem; i++)
        h->mem[i] = (uint8_t)(i * 7 + 3);
    kmrig_simsoc_set_dma_handler(crc, host_dma, h);
    wr(crc, CRCSOC_INTC_BASE + KMRIG_INTC_MASK, ~CRC_BIT);
    wr(crc, CRC(ADDR_LO), (uint32_t)HOST_BASE + 16);
    wr(crc, CRC(ADDR_HI), (uint32_t)(HOST_BASE >> 32));
    wr(crc, CRC(LEN), 200);
    wr(crc, CRC(CRC), 0);
    wr(crc, CRC(CTRL), CRC32_CTRL_START | CRC32_CTRL_IRQ_EN);
    assert_int_equal(rd(crc, CRC(STATUS)) & CRC32_STATUS_BUSY, CRC32_STATUS_BUSY);
    assert_int_equal(kmrig_simsoc_next_event(crc), 1); /* busy: no skipping */
    kmrig_simsoc_run_until_irq_change(crc, 100000);
    assert_int_equal(kmrig_simsoc_irq(crc), CRC_BIT);
    assert_int_equal(rd(crc, CRC(STATUS)), CRC32_STATUS_DONE);
    assert_int_equal(rd(crc, CRC(CRC)), crc32_sw(0, h->mem + 16, 200));
    assert_int_equal(h->reads, 50);
    struct kmrig_simsoc_stats st;
    kmrig_simsoc_get_stats(crc, &st);
    assert_int_equal(st.dma_cycles, 50);
    assert_int_equal(st.dma_errors, 0);
    /* Idle again: every block reports nothing to come. */
    assert_int_equal(kmrig_simsoc_next_event(crc), UINT32_MAX);

    /* A refused bus address is a DMA fault: ERROR with DONE, the interrupt, no CRC change. */
    wr(crc, CRC(STATUS), CRC32_STATUS_DONE);
    uint32_t before = rd(crc, CRC(CRC));
    h->refuse = 1;
    wr(crc, CRC(CTRL), CRC32_CTRL_START | CRC32_CTRL_IRQ_EN);
    kmrig_simsoc_run_until_irq_change(crc, 1000);
    assert_int_equal(kmrig_simsoc_irq(crc), CRC_BIT);
    assert_int_equal(rd(crc, CRC(STATUS)), CRC32_STATUS_DONE | CRC32_STATUS_ERROR);
    assert_int_equal(rd(crc, CRC(CRC)), before);
    kmrig_simsoc_get_stats(crc, &st);
    assert_int_equal(st.dma_errors, 1);
    kmrig_simsoc_destroy(crc);
    free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sim_models_both_are_registered_with_their_maps),
        cmocka_unit_test(test_sim_models_open_by_name_and_default),
        cmocka_unit_test(test_sim_models_register_refuses_a_second_table_of_one_name),
        cmocka_unit_test(test_sim_models_two_open_at_once_keep_their_own_state),
        cmocka_unit_test(test_sim_models_user_rom_entry_describes_the_peripheral),
        cmocka_unit_test(test_sim_models_user_peripheral_crc_by_register_writes),
        cmocka_unit_test(test_sim_models_user_peripheral_dma_master),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* A user's own RTL through the runtime: the user SoC "crcsoc" (fixtures/crc_soc: crc32_periph.v
 * built with kmrig_add_user_soc) and the reference SoC, both linked into this program.
 *
 * The "driver" finds its device in the user SoC's enumeration ROM by hardware ID, maps the
 * window it names with MmMapIoSpace, connects the interrupt line the ROM gives, and feeds the CRC
 * engine with WRITE_REGISTER_ULONG; the ISR acknowledges DONE and queues a DPC that signals an
 * event a PASSIVE thread waits on. Results are checked against a plain C CRC-32. */
#include "kmtest.h"

#include <kmrig/link.h>
#include <kmrig_soc_map.h>
#include <crcsoc_map.h>

#include <string.h>

#define CRC_URI "sim:model=crcsoc"

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

static kmrig_runtime *runtime_on(const char *target)
{
    kmrig_config cfg;
    kmrig_config_init(&cfg);
    cfg.processors = 1;
    cfg.target = target;
    cfg.time_budget_ns = 1000000000ull;
    return kmtest_runtime_cfg(&cfg);
}

static volatile ULONG *map(ULONG base, ULONG size)
{
    PHYSICAL_ADDRESS pa = {.QuadPart = base};
    volatile ULONG *p = MmMapIoSpace(pa, size, MmNonCached);
    assert_non_null((void *)p);
    return p;
}

#define REG(base, off) ((base) + (off) / 4)

/* What the root bus would give the driver: the ROM entry of a hardware ID. */
typedef struct {
    ULONG Base, Size, Line, Flags;
} ROM_DEVICE;

static BOOLEAN find_in_rom(const char *hwid, ROM_DEVICE *dev)
{
    volatile ULONG *rom = map(KMRIG_SOC_ROM_BASE, KMRIG_SOC_ROM_SIZE); /* at 0 in every SoC */
    BOOLEAN found = FALSE;
    assert_int_equal(READ_REGISTER_ULONG(rom), KMRIG_ROM_MAGIC);
    ULONG entries = (READ_REGISTER_ULONG(REG(rom, KMRIG_ROM_HDR_INFO)) >> 8) & 0xFF;
    for (ULONG e = 0; e < entries && !found; e++) {
        volatile ULONG *ent = REG(rom, KMRIG_ROM_HDR_BYTES + e * KMRIG_ROM_ENTRY_BYTES);
        char name[KMRIG_ROM_NAME_BYTES + 1] = {0};
        for (ULONG i = 0; i < KMRIG_ROM_NAME_BYTES; i += 4) {
            ULONG w = READ_REGISTER_ULONG(REG(ent, KMRIG_ROM_ENT_NAME + i));
            memcpy(name + i, &w, 4);
        }
        if (strcmp(name, hwid))
            continue;
        ULONG flags = READ_REGISTER_ULONG(REG(ent, KMRIG_ROM_ENT_FLAGS));
        dev->Flags = flags & 0xFF;
        dev->Line = (flags >> 8) & 0xFF;
        dev->Base = READ_REGISTER_ULONG(REG(ent, KMRIG_ROM_ENT_BASE));
        dev->Size = READ_REGISTER_ULONG(REG(ent, KMRIG_ROM_ENT_SIZE));
        found = TRUE;
    }
    MmUnmapIoSpace((PVOID)rom, KMRIG_SOC_ROM_SIZE);
    return found;
}

typedef struct {
    volatile ULONG *Regs;
    PKINTERRUPT Interrupt;
    KDPC Dpc;
    KEVENT Done;
    ULONG Isr, Spurious, Dpcs, LastCrc;
    KIRQL IsrIrql;
} CRC_DEV;

static BOOLEAN NTAPI CrcIsr(PKINTERRUPT Interrupt, PVOID Context)
{
    CRC_DEV *d = Context;
    ULONG status = READ_REGISTER_ULONG(REG(d->Regs, CRC32_STATUS));
    if (!(status & CRC32_STATUS_DONE)) {
        d->Spurious++;
        return FALSE;
    }
    WRITE_REGISTER_ULONG(REG(d->Regs, CRC32_STATUS), CRC32_STATUS_DONE);
    d->LastCrc = READ_REGISTER_ULONG(REG(d->Regs, CRC32_CRC));
    d->IsrIrql = KeGetCurrentIrql();
    d->Isr++;
    KeInsertQueueDpc(&d->Dpc, NULL, NULL);
    return TRUE;
}

static VOID NTAPI CrcDpc(PKDPC Dpc, PVOID Context, PVOID A1, PVOID A2)
{
    CRC_DEV *d = Context;
    d->Dpcs++;
    KeSetEvent(&d->Done, 0, FALSE);
}

static void test_user_soc_driver_finds_maps_and_interrupts(void **state)
{
    kmrig_runtime *rt = runtime_on(CRC_URI);
    ROM_DEVICE dev;
    assert_true(find_in_rom("KMRIG\\CRC32", &dev));
    assert_int_equal(dev.Base, CRCSOC_CRC0_BASE);
    assert_int_equal(dev.Size, CRCSOC_CRC0_SIZE);
    assert_int_equal(dev.Line, CRCSOC_CRC0_IRQ);
    assert_int_equal(dev.Flags, KMRIG_ROM_FLAG_IRQ | KMRIG_ROM_FLAG_DMA);
    assert_false(find_in_rom("KMRIG\\TIMER", &dev)); /* the reference's peripherals are not here */

    CRC_DEV d;
    kmtest_junk(&d, sizeof d);
    d.Isr = d.Spurious = d.Dpcs = 0;
    d.Regs = map(CRCSOC_CRC0_BASE, CRCSOC_CRC0_SIZE);
    KeInitializeDpc(&d.Dpc, CrcDpc, &d);
    KeInitializeEvent(&d.Done, SynchronizationEvent, FALSE);
    KIRQL irql;
    KAFFINITY aff;
    ULONG vector = HalGetInterruptVector(Internal, 0, CRCSOC_CRC0_IRQ, 0, &irql, &aff);
    assert_int_equal(IoConnectInterrupt(&d.Interrupt, CrcIsr, &d, NULL, vector, irql, irql,
                                        LevelSensitive, FALSE, aff, FALSE),
                     STATUS_SUCCESS);
    WRITE_REGISTER_ULONG(REG(d.Regs, CRC32_CRC), 0);
    WRITE_REGISTER_ULONG(REG(d.Regs, CRC32_CTRL), CRC32_CTRL_IRQ_EN);
    static const uint8_t msg[16] = "user RTL on sim!";
    for (ULONG i = 0; i < sizeof msg; i += 4) {
        ULONG w;
        memcpy(&w, msg + i, 4);
        WRITE_REGISTER_ULONG(REG(d.Regs, CRC32_DATA), w);
        LARGE_INTEGER timeout = kmtest_ms(1);
        assert_int_equal(KeWaitForSingleObject(&d.Done, Executive, KernelMode, FALSE, &timeout),
                         STATUS_SUCCESS);
        assert_int_equal(d.Isr, i / 4 + 1);
        assert_int_equal(d.Dpcs, i / 4 + 1);
        assert_int_equal(d.LastCrc, crc32_sw(0, msg, i + 4));
    }
    assert_int_equal(d.Spurious, 0);
    assert_int_equal(d.IsrIrql, irql);
    assert_int_equal(READ_REGISTER_ULONG(REG(d.Regs, CRC32_CRC)), crc32_sw(0, msg, sizeof msg));
    IoDisconnectInterrupt(d.Interrupt);
    MmUnmapIoSpace((PVOID)d.Regs, CRCSOC_CRC0_SIZE);
    kmrig_runtime_destroy(rt);
}

static ULONG sysid_of(void)
{
    volatile ULONG *sysid = map(KMRIG_SOC_SYSID_BASE, KMRIG_SOC_SYSID_SIZE);
    ULONG id = READ_REGISTER_ULONG(REG(sysid, KMRIG_SYSID_ID));
    MmUnmapIoSpace((PVOID)sysid, KMRIG_SOC_SYSID_SIZE);
    return id;
}

/* Two runtimes in one process, one on each model: one after the other, then both alive at once
 * (the thread attached to one at a time). */
static void test_user_soc_and_reference_soc_in_one_process(void **state)
{
    kmrig_runtime *rt = runtime_on("sim");
    assert_int_equal(sysid_of(), KMRIG_SOC_ID);
    kmrig_runtime_destroy(rt);
    rt = runtime_on(CRC_URI);
    assert_int_equal(sysid_of(), CRCSOC_ID);
    kmrig_runtime_destroy(rt);

    kmrig_runtime *ref = runtime_on("sim:model=kmrig_soc");
    kmrig_runtime_detach(ref);
    kmrig_runtime *crc = runtime_on(CRC_URI);
    assert_int_equal(sysid_of(), CRCSOC_ID);
    kmrig_runtime_detach(crc);
    kmrig_runtime_attach(ref);
    assert_int_equal(sysid_of(), KMRIG_SOC_ID);
    kmrig_runtime_destroy(ref);
    kmrig_runtime_attach(crc);
    assert_int_equal(sysid_of(), CRCSOC_ID);
    kmrig_runtime_destroy(crc);
}

/* Two links at once, one per model, at the link level. */
static void test_user_soc_two_sim_links_at_once(void **state)
{
    struct kmrig_link *ref = NULL, *crc = NULL;
    char err[256];
    assert_int_equal(kmrig_link_open("sim", &ref, err, sizeof err), KMRIG_LINK_OK);
    assert_int_equal(kmrig_link_open(CRC_URI, &crc, err, sizeof err), KMRIG_LINK_OK);
    const struct kmrig_link_info *ri = kmrig_link_get_info(ref);
    const struct kmrig_link_info *ci = kmrig_link_get_info(crc);
    assert_int_equal(ri->soc_id, KMRIG_SOC_ID);
    assert_int_equal(ci->soc_id, CRCSOC_ID);
    assert_int_equal(ci->soc_version, CRCSOC_VERSION);
    assert_int_equal(ci->irq_lines, CRCSOC_IRQ_LINES);
    assert_non_null(strstr(ci->description, "crcsoc_soc"));
    assert_non_null(strstr(ri->description, "kmrig_soc"));
    uint32_t v = 0;
    assert_int_equal(
        kmrig_link_read(crc, KMRIG_SPACE_MEM, CRCSOC_SYSID_BASE + KMRIG_SYSID_ID, 4, &v, NULL),
        KMRIG_LINK_OK);
    assert_int_equal(v, CRCSOC_ID);
    assert_int_equal(
        kmrig_link_read(ref, KMRIG_SPACE_MEM, KMRIG_SOC_SYSID_BASE + KMRIG_SYSID_ID, 4, &v, NULL),
        KMRIG_LINK_OK);
    assert_int_equal(v, KMRIG_SOC_ID);
    /* The interrupt unit of each link is its own SoC's intc: unmask and raise crc0's line. */
    assert_int_equal(kmrig_link_irq_control(crc, CRCSOC_CRC0_IRQ, KMRIG_IRQ_UNMASK), KMRIG_LINK_OK);
    assert_int_equal(kmrig_link_write(crc, KMRIG_SPACE_MEM, CRCSOC_CRC0_BASE + CRC32_CTRL, 4,
                                      CRC32_CTRL_IRQ_EN, NULL),
                     KMRIG_LINK_OK);
    assert_int_equal(
        kmrig_link_write(crc, KMRIG_SPACE_MEM, CRCSOC_CRC0_BASE + CRC32_DATA, 4, 1, NULL),
        KMRIG_LINK_OK);
    kmrig_link_advance(crc, 100, 1);
    uint32_t lines = 0;
    assert_int_equal(kmrig_link_irq_pending(crc, &lines), KMRIG_LINK_OK);
    assert_int_equal(lines, 1u << CRCSOC_CRC0_IRQ);
    uint64_t ts = 0;
    assert_int_equal(kmrig_link_irq_timestamp(crc, CRCSOC_CRC0_IRQ, &ts), KMRIG_LINK_OK);
    assert_true(ts > 0 && ts <= kmrig_link_now(crc));
    assert_int_equal(kmrig_link_irq_pending(ref, &lines), KMRIG_LINK_OK);
    assert_int_equal(lines, 0);
    kmrig_link_close(ref);
    kmrig_link_close(crc);
}

static void test_user_soc_unknown_model_is_refused_with_the_usage(void **state)
{
    struct kmrig_link *l = (struct kmrig_link *)0x1;
    char err[256];
    assert_int_equal(kmrig_link_open("sim:model=nosuch", &l, err, sizeof err), KMRIG_LINK_EINVAL);
    assert_null(l);
    assert_non_null(strstr(err, "model=NAME"));
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_user_soc_driver_finds_maps_and_interrupts),
    cmocka_unit_test(test_user_soc_and_reference_soc_in_one_process),
    cmocka_unit_test(test_user_soc_two_sim_links_at_once),
    cmocka_unit_test(test_user_soc_unknown_model_is_refused_with_the_usage),
};

KMTEST_MAIN(tests)

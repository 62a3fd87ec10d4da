/*
 * test_cli_list.c - `kmrig list` (host/cli/list.c) against a fake device set: this file replaces
 * list_usb.c (the libusb calls) with list_usb_enumerate() over g_fake, and $KMRIG_SYSFS points
 * at a fake sysfs tree (USB serials, vfio-pci devices). Checks the boards found, their stable
 * ids and URIs, JSON that parses, ids independent of the enumeration order, and a resource spec
 * that a real `ctest --resource-spec-file` run accepts, with the suites mapping the boards to
 * their URIs through $KMRIG_BOARDS_FILE (two loop instances standing in for two boards).
 */
#define _GNU_SOURCE
#include "kmtest.h"

#include "cli_run.h"

#include "cli.h"
#include "json_check.h"
#include "list.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- the fake libusb seam ---- */

static struct list_usb_device g_fake[16];
static int g_nfake;
static int g_fail; /* list_usb_enumerate fails */

int list_usb_enumerate(struct list_usb_device **out, char *err, size_t n)
{
    *out = NULL;
    if (g_fail) {
        snprintf(err, n, "libusb_init failed: fake failure");
        return LIST_USB_FAILED;
    }
    *out = calloc((size_t)g_nfake + 1, sizeof **out);
    assert_non_null(*out);
    memcpy(*out, g_fake, (size_t)g_nfake * sizeof **out);
    return g_nfake;
}

static void fake_usb(uint16_t vid, uint16_t pid, uint8_t bus, const char *ports, int serial_state,
                     const char *serial, const char *manufacturer, const char *product)
{
    struct list_usb_device *d = &g_fake[g_nfake++];
    memset(d, 0, sizeof *d);
    d->vid = vid;
    d->pid = pid;
    d->bus = bus;
    for (const char *p = ports; *p; p++)
        if (*p >= '0' && *p <= '9')
            d->ports[d->nports++] = (uint8_t)(*p - '0');
    d->serial_state = serial_state;
    snprintf(d->serial, sizeof d->serial, "%s", serial);
    snprintf(d->manufacturer, sizeof d->manufacturer, "%s", manufacturer);
    snprintf(d->product, sizeof d->product, "%s", product);
}

/* The bench: an iCEBreaker, an HX8K breakout without a serial, an FT232H module, an FT4232H
 * whose serial only sysfs gives (no access to the device), a mouse. */
static void fake_bench(void)
{
    g_nfake = 0;
    fake_usb(0x0403, 0x6010, 1, "1", 1, "FT4ABCDE", "1BitSquared", "iCEBreaker V1.0e");
    fake_usb(0x0403, 0x6010, 1, "2.3", 0, "", "Lattice", "Lattice FTUSB Interface Cable");
    fake_usb(0x0403, 0x6014, 2, "1", 1, "FT9XYZ", "FTDI", "UM232H");
    fake_usb(0x0403, 0x6011, 1, "4", -1, "", "", "");
    fake_usb(0x046d, 0xc077, 3, "2", 0, "", "Logitech", "USB Optical Mouse");
}

/* ---- a fake sysfs ---- */

static char g_sysfs[64];

static void put(const char *rel, const char *text)
{
    char path[512], dir[512];
    snprintf(path, sizeof path, "%s/%s", g_sysfs, rel);
    snprintf(dir, sizeof dir, "%s", path);
    for (char *p = dir + strlen(g_sysfs) + 1; (p = strchr(p, '/')); p++) {
        *p = 0;
        mkdir(dir, 0755);
        *p = '/';
    }
    if (text) {
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs(text, f);
        fclose(f);
    } else {
        mkdir(path, 0755);
    }
}

static void fake_sysfs(int with_pci)
{
    snprintf(g_sysfs, sizeof g_sysfs, "/tmp/kmrig-list-sysfs-XXXXXX");
    assert_non_null(mkdtemp(g_sysfs));
    setenv("KMRIG_SYSFS", g_sysfs, 1);
    put("bus/usb/devices/1-4/serial", "FTQQQ\n");
    put("bus/usb/devices/1-4/product", "Quad RS232-HS\n");
    put("bus/pci/drivers/vfio-pci/bind", "");
    if (with_pci) {
        put("bus/pci/drivers/vfio-pci/0000:03:00.0", NULL);
        put("bus/pci/devices/0000:03:00.0/vendor", "0x10ee\n");
        put("bus/pci/devices/0000:03:00.0/device", "0x7024\n");
        char link[512];
        snprintf(link, sizeof link, "%s/bus/pci/devices/0000:03:00.0/iommu_group", g_sysfs);
        assert_int_equal(symlink("../../../kernel/iommu_groups/12", link), 0);
    }
}

static void drop_sysfs(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_sysfs);
    assert_int_equal(system(cmd), 0);
    unsetenv("KMRIG_SYSFS");
}

/* ---- running `kmrig list` in this process, its stdout captured ---- */

static int list(const char *arg, ...)
{
    char *argv[16];
    int argc = 0;
    argv[argc++] = "list";
    va_list ap;
    va_start(ap, arg);
    for (const char *a = arg; a && argc < 15; a = va_arg(ap, const char *))
        argv[argc++] = (char *)a;
    va_end(ap);
    argv[argc] = NULL;
    char path[] = "/tmp/kmrig-list-out-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    fflush(stdout);
    int saved = dup(1);
    dup2(fd, 1);
    int rc = kmrig_cli_list(argc, argv);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    ssize_t got = pread(fd, g_out, sizeof g_out - 1, 0);
    g_out[got > 0 ? got : 0] = 0;
    close(fd);
    unlink(path);
    print_message("%s", g_out);
    return rc;
}

/* The JSON object of board `id` in g_out (from its "id" to the end of its object). */
static const char *board(const char *id)
{
    char key[128];
    snprintf(key, sizeof key, "{\"id\":\"%s\"", id);
    const char *b = strstr(g_out, key);
    if (!b)
        fail_msg("no board %s in the listing", id);
    return b;
}

static void expect_field(const char *id, const char *field)
{
    const char *b = board(id);
    const char *end = strchr(b, '}');
    const char *f = strstr(b, field);
    if (!f || f > end)
        fail_msg("board %s has no %s", id, field);
}

/* ---- the tests ---- */

static void test_cli_list_names_boards_by_serial_or_port(void **state)
{
    fake_bench();
    fake_sysfs(1);
    assert_int_equal(list("--json", NULL), KMRIG_CLI_OK);
    assert_true(json_valid(g_out));
    /* the iCEBreaker by its serial; its link is channel B as a UART */
    expect_field("ftdi_ft4abcde", "\"board\":\"iCEBreaker\"");
    expect_field("ftdi_ft4abcde", "\"uri\":\"ftdi://0403:6010,s=FT4ABCDE,i=B,mode=uart\"");
    expect_field("ftdi_ft4abcde", "\"known\":true");
    /* no serial: its bus and port path, never the device address */
    expect_field("ftdi_usb_1_2_3", "\"board\":\"iCE40-HX8K breakout\"");
    expect_field("ftdi_usb_1_2_3", "\"uri\":\"ftdi://0403:6010,path=1-2.3,i=B,mode=uart\"");
    expect_field("ftdi_usb_1_2_3", "\"serial\":null");
    expect_field("ftdi_ft9xyz", "\"uri\":\"ftdi://0403:6014,s=FT9XYZ,i=A\"");
    expect_field("ftdi_ft9xyz", "\"board\":\"FT232H module\"");
    /* the serial the device would not give, read from sysfs */
    expect_field("ftdi_ftqqq", "\"uri\":\"ftdi://0403:6011,s=FTQQQ,i=A,mode=uart\"");
    expect_field("pcie_0000_03_00_0", "\"uri\":\"pcie://0000:03:00.0\"");
    expect_field("pcie_0000_03_00_0", "\"chip\":\"10ee:7024\"");
    expect_field("pcie_0000_03_00_0", "/dev/vfio/12");
    assert_null(strstr(g_out, "046d")); /* the mouse: only with --all */
    assert_non_null(strstr(g_out, "\"usb_error\":null"));

    assert_int_equal(list("--json", "--all", NULL), KMRIG_CLI_OK);
    assert_true(json_valid(g_out));
    expect_field("usb_usb_3_2", "\"known\":false");
    expect_field("usb_usb_3_2", "\"chip\":\"046d:c077 Logitech USB Optical Mouse\"");

    assert_int_equal(list(NULL), KMRIG_CLI_OK); /* the table for a person */
    assert_non_null(strstr(g_out, "ftdi_ft4abcde"));
    assert_non_null(strstr(g_out, "channel A is the configuration flash"));
    assert_non_null(strstr(g_out, "kmrig list: 5 board(s)\n"));
    drop_sysfs();
}

static void test_cli_list_ids_do_not_depend_on_enumeration_order(void **state)
{
    fake_bench();
    fake_sysfs(1);
    char spec1[64], spec2[64];
    snprintf(spec1, sizeof spec1, "/tmp/kmrig-list-%d-1.json", (int)getpid());
    snprintf(spec2, sizeof spec2, "/tmp/kmrig-list-%d-2.json", (int)getpid());
    assert_int_equal(list("--json", "--ctest-resources", spec1, NULL), KMRIG_CLI_OK);
    char *first = strdup(g_out);
    assert_non_null(first);
    /* replugged: enumerated in the reverse order, at other device addresses */
    for (int i = 0; i < g_nfake / 2; i++) {
        struct list_usb_device t = g_fake[i];
        g_fake[i] = g_fake[g_nfake - 1 - i];
        g_fake[g_nfake - 1 - i] = t;
    }
    assert_int_equal(list("--json", "--ctest-resources", spec2, NULL), KMRIG_CLI_OK);
    assert_string_equal(first, g_out);
    char *a = slurp(spec1), *b = slurp(spec2);
    assert_string_equal(a, b);
    free(a);
    free(b);
    free(first);
    unlink(spec1);
    unlink(spec2);
    drop_sysfs();
}

/* Two boards with the same serial (a cloned EEPROM): each is named by its port instead. */
static void test_cli_list_duplicate_serials_fall_back_to_ports(void **state)
{
    g_nfake = 0;
    fake_usb(0x0403, 0x6014, 1, "1", 1, "FT0000", "", "");
    fake_usb(0x0403, 0x6014, 1, "2", 1, "FT0000", "", "");
    fake_sysfs(0);
    assert_int_equal(list("--json", NULL), KMRIG_CLI_OK);
    assert_true(json_valid(g_out));
    expect_field("ftdi_usb_1_1", "\"uri\":\"ftdi://0403:6014,path=1-1,i=A\"");
    expect_field("ftdi_usb_1_2", "\"uri\":\"ftdi://0403:6014,path=1-2,i=A\"");
    expect_field("ftdi_usb_1_2", "is not unique here");
    drop_sysfs();
}

static void test_cli_list_no_boards_says_so_and_exits_0(void **state)
{
    g_nfake = 0;
    fake_usb(0x046d, 0xc077, 3, "2", 0, "", "Logitech", "USB Optical Mouse");
    fake_sysfs(0);
    assert_int_equal(list(NULL), KMRIG_CLI_OK);
    assert_non_null(strstr(g_out, "kmrig list: no boards found (1 USB device(s), none a board"));
    assert_int_equal(list("--json", NULL), KMRIG_CLI_OK);
    assert_string_equal(g_out, "{\"boards\":[],\"usb_error\":null}\n");
    /* enumeration that fails: said, the PCIe devices still listed, exit 4 */
    drop_sysfs();
    fake_sysfs(1);
    g_fail = 1;
    assert_int_equal(list("--json", NULL), KMRIG_CLI_ERROR);
    assert_true(json_valid(g_out));
    expect_field("pcie_0000_03_00_0", "\"uri\":\"pcie://0000:03:00.0\"");
    assert_non_null(strstr(g_out, "\"usb_error\":\"libusb_init failed: fake failure\""));
    g_fail = 0;
    assert_int_equal(list("--bogus", NULL), KMRIG_CLI_USAGE);
    assert_int_equal(list("--ctest-resources", "/nonexistent/dir/spec.json", NULL),
                     KMRIG_CLI_ERROR);
    drop_sysfs();
}

/* text with `from` replaced by `to` (once); frees text. */
static char *replace(char *text, const char *from, const char *to)
{
    char *p = strstr(text, from);
    assert_non_null(p);
    char *out = malloc(strlen(text) + strlen(to) + 1);
    assert_non_null(out);
    sprintf(out, "%.*s%s%s", (int)(p - text), text, to, p + strlen(from));
    free(text);
    return out;
}

/* The spec kmrig list writes, run by a real ctest: the two suites that declare fpga_boards:1
 * each get one board, and find its URI in the file's kmrig_boards map ($KMRIG_BOARDS_FILE).
 * The two FT232H modules' URIs are replaced by loop instances standing in for them. */
static void test_cli_list_ctest_resources_run_by_ctest(void **state)
{
    g_nfake = 0;
    fake_usb(0x0403, 0x6014, 1, "1", 1, "FTAAA1", "", "");
    fake_usb(0x0403, 0x6014, 1, "2", 1, "FTBBB2", "", "");
    fake_sysfs(0);
    char spec[64];
    snprintf(spec, sizeof spec, "/tmp/kmrig-list-%d-spec.json", (int)getpid());
    assert_int_equal(list("--ctest-resources", spec, NULL), KMRIG_CLI_OK);
    assert_non_null(strstr(g_out, "CTest resource spec with 2 board(s)"));
    char *text = slurp(spec);
    assert_true(json_valid(text));
    assert_non_null(strstr(text, "\"version\":{\"major\":1,\"minor\":0}"));
    assert_non_null(strstr(text, "{\"fpga_boards\":[\n   {\"id\":\"ftdi_ftaaa1\",\"slots\":1},\n"
                                 "   {\"id\":\"ftdi_ftbbb2\",\"slots\":1}]}"));
    assert_non_null(strstr(text, "\"ftdi_ftaaa1\":\"ftdi://0403:6014,s=FTAAA1,i=A\""));
    /* stand-ins for the boards: loop instances in place of their URIs */
    text = replace(replace(text, "ftdi://0403:6014,s=FTAAA1,i=A", "loop:profile=uart"),
                   "ftdi://0403:6014,s=FTBBB2,i=A", "loop:profile=uart");
    FILE *f = fopen(spec, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    free(text);
    drop_sysfs();
    unsetenv("KMRIG_BOARD_FTDI_FTAAA1");
    unsetenv("KMRIG_BOARD_FTDI_FTBBB2");
    setenv("KMRIG_BOARDS_FILE", spec, 1);
    assert_int_equal(run(CTEST_EXE, "--test-dir", BUILD_DIR, "-R", "^cli_board_", "-j2",
                         "--resource-spec-file", spec, "-V", NULL),
                     0);
    unsetenv("KMRIG_BOARDS_FILE");
    unlink(spec);
    const char *a = strstr(g_out, "target=loop:profile=uart seed=1 board=id:ftdi_ft");
    assert_non_null(a);
    assert_non_null(strstr(a + 1, "target=loop:profile=uart seed=1 board=id:ftdi_ft"));
    assert_non_null(strstr(g_out, "board=id:ftdi_ftaaa1,slots:1"));
    assert_non_null(strstr(g_out, "board=id:ftdi_ftbbb2,slots:1"));
    assert_non_null(strstr(g_out, "100% tests passed, 0 tests failed out of 2"));
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_cli_list_names_boards_by_serial_or_port),
    cmocka_unit_test(test_cli_list_ids_do_not_depend_on_enumeration_order),
    cmocka_unit_test(test_cli_list_duplicate_serials_fall_back_to_ports),
    cmocka_unit_test(test_cli_list_no_boards_says_so_and_exits_0),
    cmocka_unit_test(test_cli_list_ctest_resources_run_by_ctest),
};
KMTEST_MAIN(tests)

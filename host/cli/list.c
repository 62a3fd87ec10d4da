/*
 * list.c - `kmrig list`: the boards attached to this machine, each with a stable identity and the
 * target URI to use, and `--ctest-resources` to write them as a CTest resource spec file
 * (docs/cli.md, "kmrig list"). USB devices come from list_usb.c (libusb; a fake in tests), PCIe
 * devices bound to vfio-pci from sysfs ($KMRIG_SYSFS, default /sys).
 *
 * Identity: the USB serial number; for a device without one (or two devices with the same one)
 * the bus and port path ("usb-1-2.3"), which stays while the cable stays in that port. Never the
 * enumeration order or the device address, which change on every replug.
 */
#define _GNU_SOURCE
#include "cli.h"
#include "list.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static const char list_help[] =
    "usage: kmrig list [--json] [--ctest-resources FILE] [--all]\n"
    "\n"
    "Lists the boards attached to this machine: FTDI FT2232H (iCEBreaker, iCE40-HX8K\n"
    "breakout), FT232H and FT4232H chips, USB devices that call themselves kmrig bridges, and\n"
    "PCIe devices bound to vfio-pci. Each has a stable ID (from its USB serial number, else its\n"
    "USB port path, or its PCI address) and the target URI to give --target.\n"
    "\n"
    "options:\n"
    "  --json                  print the list as JSON\n"
    "  --ctest-resources FILE  write a CTest resource spec (type fpga_boards, one board per\n"
    "                          entry) with the ID-to-URI map that suites read through\n"
    "                          $KMRIG_BOARDS_FILE:\n"
    "                            kmrig list --ctest-resources $PWD/boards.json &&\n"
    "                            KMRIG_BOARDS_FILE=$PWD/boards.json \\\n"
    "                              ctest -j4 --resource-spec-file $PWD/boards.json\n"
    "  --all                   also list every other USB device\n"
    "\n"
    "Serial numbers need access to the device (docs/boards-bringup.md: udev rules); without\n"
    "it kmrig reads them from sysfs.\n"
    "\n"
    "exit status: 0 listed (no boards is not an error), 2 usage error, 4 USB enumeration\n"
    "failed or FILE could not be written\n";

struct list_board {
    int known;          /* a board kmrig can talk to (else: --all only) */
    char id[320];       /* the CTest resource id: [a-z0-9_] */
    char identity[300]; /* the serial, "usb-1-2.3" or the PCI address */
    const char *kind;   /* "ftdi", "usb", "pcie" */
    char board[96];     /* what it is */
    char chip[300];     /* the chip / the device's own description */
    char serial[128];
    char where[300]; /* "usb-1-2.3", "0000:03:00.0" */
    char uri[700];
    char note[512];
};

static const char *list_sysfs(void)
{
    const char *s = getenv("KMRIG_SYSFS");
    return s && *s ? s : "/sys";
}

/* The first line of a small file, or "" */
static void list_read_line(const char *path, char *out, size_t n)
{
    out[0] = 0;
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    if (fgets(out, (int)n, f))
        out[strcspn(out, "\r\n")] = 0;
    fclose(f);
}

static void list_sanitise(const char *prefix, const char *identity, char *out, size_t n)
{
    snprintf(out, n, "%s_%s", prefix, identity);
    for (char *p = out; *p; p++)
        *p = isalnum((unsigned char)*p) ? (char)tolower((unsigned char)*p) : '_';
}

static int list_contains(const char *hay, const char *needle)
{
    return hay && strcasestr(hay, needle) != NULL;
}

/* The kernel's name of the device's port: "1-2.3" (bus 1, port 2, then port 3 of that hub). */
static void list_port_name(const struct list_usb_device *d, char *out, size_t n)
{
    size_t len = (size_t)snprintf(out, n, "%u", d->bus);
    for (int i = 0; i < d->nports && len + 4 < n; i++)
        len += (size_t)snprintf(out + len, n - len, "%c%u", i ? '.' : '-', d->ports[i]);
}

/* Strings the device would not give (no access to it): from sysfs, which everyone may read. */
static void list_fill_from_sysfs(struct list_usb_device *d)
{
    char port[64], path[PATH_MAX];
    if (!d->nports)
        return;
    list_port_name(d, port, sizeof port);
    if (!d->serial[0] && d->serial_state != 0) {
        snprintf(path, sizeof path, "%s/bus/usb/devices/%s/serial", list_sysfs(), port);
        list_read_line(path, d->serial, sizeof d->serial);
        if (d->serial[0])
            d->serial_state = 1;
    }
    if (!d->manufacturer[0]) {
        snprintf(path, sizeof path, "%s/bus/usb/devices/%s/manufacturer", list_sysfs(), port);
        list_read_line(path, d->manufacturer, sizeof d->manufacturer);
    }
    if (!d->product[0]) {
        snprintf(path, sizeof path, "%s/bus/usb/devices/%s/product", list_sysfs(), port);
        list_read_line(path, d->product, sizeof d->product);
    }
}

/* What a USB device is; returns 0 for a device that is not a known board. */
static int list_classify_usb(const struct list_usb_device *d, struct list_board *b, char *channel,
                             const char **mode)
{
    *channel = 0;
    *mode = NULL;
    b->kind = "usb";
    if (d->vid == 0x0403 && d->pid == 0x6010) {
        b->kind = "ftdi";
        if (list_contains(d->product, "icebreaker")) {
            snprintf(b->board, sizeof b->board, "iCEBreaker");
            *channel = 'B';
            *mode = "uart";
            snprintf(b->note, sizeof b->note,
                     "link: channel B (UART); channel A is the configuration flash");
        } else if (list_contains(d->product, "lattice") ||
                   list_contains(d->manufacturer, "lattice")) {
            snprintf(b->board, sizeof b->board, "iCE40-HX8K breakout");
            *channel = 'B';
            *mode = "uart";
            snprintf(b->note, sizeof b->note,
                     "link: channel B (UART); channel A is the configuration flash (a Lattice "
                     "iCE40 board: HX8K breakout or iCEstick)");
        } else {
            snprintf(b->board, sizeof b->board, "FT2232H board");
            *channel = 'A';
            snprintf(b->note, sizeof b->note,
                     "link: channel A (synchronous 245 FIFO is on A only); a board wired on "
                     "channel B: i=B");
        }
        snprintf(b->chip, sizeof b->chip, "FT2232H 0403:6010");
        return 1;
    }
    if (d->vid == 0x0403 && d->pid == 0x6014) {
        b->kind = "ftdi";
        snprintf(b->board, sizeof b->board, "FT232H module");
        snprintf(b->chip, sizeof b->chip, "FT232H 0403:6014");
        *channel = 'A';
        snprintf(b->note, sizeof b->note,
                 "link: its one channel, synchronous 245 FIFO (EEPROM set to 245 FIFO mode)");
        return 1;
    }
    if (d->vid == 0x0403 && d->pid == 0x6011) {
        b->kind = "ftdi";
        snprintf(b->board, sizeof b->board, "FT4232H board");
        snprintf(b->chip, sizeof b->chip, "FT4232H 0403:6011");
        *channel = 'A';
        *mode = "uart";
        snprintf(b->note, sizeof b->note,
                 "link: channel A (UART; the FT4232H has no FIFO mode); channels B-D: i=B..D");
        return 1;
    }
    snprintf(b->chip, sizeof b->chip, "%04x:%04x%s%s%s%s", d->vid, d->pid,
             d->manufacturer[0] || d->product[0] ? " " : "", d->manufacturer,
             d->manufacturer[0] && d->product[0] ? " " : "", d->product);
    if (list_contains(d->product, "kmrig")) {
        snprintf(b->board, sizeof b->board, "kmrig USB bridge");
        snprintf(b->note, sizeof b->note, "link: its bulk endpoints (usb://)");
        return 1;
    }
    snprintf(b->board, sizeof b->board, "USB device");
    snprintf(b->note, sizeof b->note, "not a board kmrig knows");
    return 0;
}

static int list_usb_boards(struct list_board **boards, size_t *nb, int all, char *err, size_t n)
{
    struct list_usb_device *devs = NULL;
    int count = list_usb_enumerate(&devs, err, n);
    if (count < 0)
        return count;
    for (int i = 0; i < count; i++)
        list_fill_from_sysfs(&devs[i]);
    struct list_board *out = realloc(*boards, (*nb + (size_t)count + 1) * sizeof *out);
    if (!out) {
        free(devs);
        snprintf(err, n, "out of memory");
        return LIST_USB_FAILED;
    }
    *boards = out;
    for (int i = 0; i < count; i++) {
        const struct list_usb_device *d = &devs[i];
        struct list_board *b = &out[*nb];
        memset(b, 0, sizeof *b);
        char channel, port[64];
        const char *mode;
        b->known = list_classify_usb(d, b, &channel, &mode);
        if (!b->known && !all)
            continue;
        list_port_name(d, port, sizeof port);
        snprintf(b->where, sizeof b->where, "usb-%s", port);
        snprintf(b->serial, sizeof b->serial, "%s", d->serial);
        /* the serial is the identity unless another device of the same kind has it too */
        int unique = d->serial[0] != 0;
        for (int k = 0; unique && k < count; k++)
            if (k != i && !strcmp(devs[k].serial, d->serial) && devs[k].vid == d->vid)
                unique = 0;
        snprintf(b->identity, sizeof b->identity, "%s", unique ? d->serial : b->where);
        list_sanitise(b->kind, b->identity, b->id, sizeof b->id);
        char sel[300];
        if (unique)
            snprintf(sel, sizeof sel, "%s=%s", !strcmp(b->kind, "ftdi") ? "s" : "serial",
                     d->serial);
        else
            snprintf(sel, sizeof sel, "path=%s", port);
        if (!strcmp(b->kind, "ftdi"))
            snprintf(b->uri, sizeof b->uri, "ftdi://%04x:%04x,%s,i=%c%s%s", d->vid, d->pid, sel,
                     channel, mode ? ",mode=" : "", mode ? mode : "");
        else
            snprintf(b->uri, sizeof b->uri, "usb://%04x:%04x,%s", d->vid, d->pid, sel);
        if (!unique && d->serial[0])
            snprintf(b->note + strlen(b->note), sizeof b->note - strlen(b->note),
                     "; serial %s is not unique here: identified by its port", d->serial);
        else if (!d->serial[0] && b->known)
            snprintf(b->note + strlen(b->note), sizeof b->note - strlen(b->note),
                     "; no serial number%s: identified by its port",
                     d->serial_state < 0 ? " readable" : "");
        (*nb)++;
    }
    free(devs);
    return count;
}

static int list_bdf(const char *name)
{
    unsigned a, b, c, d;
    char extra;
    return sscanf(name, "%x:%x:%x.%x%c", &a, &b, &c, &d, &extra) == 4;
}

/* PCIe devices bound to vfio-pci. Returns how many. */
static int list_pci_boards(struct list_board **boards, size_t *nb)
{
    char path[PATH_MAX], link[PATH_MAX];
    snprintf(path, sizeof path, "%s/bus/pci/drivers/vfio-pci", list_sysfs());
    DIR *dir = opendir(path);
    if (!dir)
        return 0;
    int found = 0;
    struct dirent *e;
    while ((e = readdir(dir))) {
        if (!list_bdf(e->d_name))
            continue;
        struct list_board *out = realloc(*boards, (*nb + 1) * sizeof *out);
        if (!out)
            break;
        *boards = out;
        struct list_board *b = &out[*nb];
        memset(b, 0, sizeof *b);
        b->known = 1;
        b->kind = "pcie";
        snprintf(b->where, sizeof b->where, "%s", e->d_name);
        snprintf(b->identity, sizeof b->identity, "%s", e->d_name);
        list_sanitise("pcie", e->d_name, b->id, sizeof b->id);
        char vendor[32], device[32];
        snprintf(path, sizeof path, "%s/bus/pci/devices/%s/vendor", list_sysfs(), e->d_name);
        list_read_line(path, vendor, sizeof vendor);
        snprintf(path, sizeof path, "%s/bus/pci/devices/%s/device", list_sysfs(), e->d_name);
        list_read_line(path, device, sizeof device);
        snprintf(b->board, sizeof b->board, "PCIe device (vfio-pci)");
        snprintf(b->chip, sizeof b->chip, "%s:%s",
                 vendor[0] ? vendor + 2 * !strncmp(vendor, "0x", 2) : "?",
                 device[0] ? device + 2 * !strncmp(device, "0x", 2) : "?");
        snprintf(b->uri, sizeof b->uri, "pcie://%s", e->d_name);
        snprintf(path, sizeof path, "%s/bus/pci/devices/%s/iommu_group", list_sysfs(), e->d_name);
        ssize_t n = readlink(path, link, sizeof link - 1);
        if (n > 0) {
            link[n] = 0;
            const char *g = strrchr(link, '/');
            snprintf(b->note, sizeof b->note, "IOMMU group %.32s: /dev/vfio/%.32s",
                     g ? g + 1 : link, g ? g + 1 : link);
        } else {
            snprintf(b->note, sizeof b->note, "no IOMMU group (is the IOMMU on?)");
        }
        (*nb)++;
        found++;
    }
    closedir(dir);
    return found;
}

static int list_compare(const void *x, const void *y)
{
    const struct list_board *a = x, *b = y;
    if (a->known != b->known)
        return b->known - a->known;
    return strcmp(a->id, b->id);
}

static void list_json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20 || c >= 0x7F)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static void list_json(FILE *f, const struct list_board *b, size_t n, const char *usb_error)
{
    fprintf(f, "{\"boards\":[");
    for (size_t i = 0; i < n; i++) {
        fprintf(f, "%s\n  {\"id\":", i ? "," : "");
        list_json_string(f, b[i].id);
        fprintf(f, ",\"known\":%s,\"kind\":", b[i].known ? "true" : "false");
        list_json_string(f, b[i].kind);
        fprintf(f, ",\"board\":");
        list_json_string(f, b[i].board);
        fprintf(f, ",\"chip\":");
        list_json_string(f, b[i].chip);
        fprintf(f, ",\"identity\":");
        list_json_string(f, b[i].identity);
        fprintf(f, ",\"serial\":");
        if (b[i].serial[0])
            list_json_string(f, b[i].serial);
        else
            fprintf(f, "null");
        fprintf(f, ",\"location\":");
        list_json_string(f, b[i].where);
        fprintf(f, ",\"uri\":");
        list_json_string(f, b[i].uri);
        fprintf(f, ",\"note\":");
        list_json_string(f, b[i].note);
        fprintf(f, "}");
    }
    fprintf(f, "%s],\"usb_error\":", n ? "\n" : "");
    if (usb_error)
        list_json_string(f, usb_error);
    else
        fprintf(f, "null");
    fprintf(f, "}\n");
}

/* The CTest resource spec (version 1.0): one fpga_boards entry per board, one slot each, plus
 * "kmrig_boards", the id -> URI map the suites read ($KMRIG_BOARDS_FILE; CTest ignores it). */
static int list_write_spec(const char *path, const struct list_board *b, size_t n)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f, "{\"version\":{\"major\":1,\"minor\":0},\n \"local\":[{\"fpga_boards\":[");
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (b[i].known) {
            fprintf(f, "%s\n   {\"id\":", k++ ? "," : "");
            list_json_string(f, b[i].id);
            fprintf(f, ",\"slots\":1}");
        }
    fprintf(f, "]}],\n \"kmrig_boards\":{");
    k = 0;
    for (size_t i = 0; i < n; i++)
        if (b[i].known) {
            fprintf(f, "%s\n   ", k++ ? "," : "");
            list_json_string(f, b[i].id);
            fputc(':', f);
            list_json_string(f, b[i].uri);
        }
    fprintf(f, "}}\n");
    int bad = ferror(f);
    bad |= fclose(f) != 0;
    return bad ? -1 : 0;
}

int kmrig_cli_list(int argc, char **argv)
{
    int json = 0, all = 0;
    const char *spec = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(list_help, stdout);
            return KMRIG_CLI_OK;
        } else if (!strcmp(argv[i], "--json")) {
            json = 1;
        } else if (!strcmp(argv[i], "--all")) {
            all = 1;
        } else if (!strcmp(argv[i], "--ctest-resources") && i + 1 < argc) {
            spec = argv[++i];
        } else {
            fprintf(stderr, "kmrig list: %s: unknown option, or its value is missing\n%s", argv[i],
                    list_help);
            return KMRIG_CLI_USAGE;
        }
    }
    struct list_board *boards = NULL;
    size_t n = 0;
    char usb_err[256] = "";
    int rc = KMRIG_CLI_OK;
    int usb = list_usb_boards(&boards, &n, all, usb_err, sizeof usb_err);
    if (usb == LIST_USB_FAILED) {
        fprintf(stderr, "kmrig list: %s\n", usb_err);
        rc = KMRIG_CLI_ERROR;
    }
    int pci = list_pci_boards(&boards, &n);
    if (n)
        qsort(boards, n, sizeof *boards, list_compare);
    size_t known = 0;
    for (size_t i = 0; i < n; i++)
        known += boards[i].known;

    if (json) {
        list_json(stdout, boards, n, usb < 0 ? usb_err : NULL);
    } else if (!n) {
        printf("kmrig list: no boards found (");
        if (usb >= 0)
            printf("%d USB device(s), none a board kmrig knows; --all lists them", usb);
        else
            printf("%s", usb_err);
        printf("; %s)\n", pci ? "" : "no PCIe device bound to vfio-pci");
    } else {
        printf("%-24s %-22s %s\n", "ID", "BOARD", "URI");
        for (size_t i = 0; i < n; i++) {
            const struct list_board *b = &boards[i];
            printf("%-24s %-22s %s\n", b->id, b->board, b->uri);
            printf("%-24s %s%s%s, %s; %s\n", "", b->chip, b->serial[0] ? ", serial " : "",
                   b->serial, b->where, b->note);
        }
        printf("kmrig list: %zu board(s)", known);
        if (n > known)
            printf(", %zu other USB device(s)", n - known);
        if (usb == LIST_USB_NOT_BUILT)
            printf(" (%s)", usb_err);
        printf("\n");
    }
    if (spec) {
        if (list_write_spec(spec, boards, n) < 0) {
            fprintf(stderr, "kmrig list: cannot write %s: %s\n", spec, strerror(errno));
            rc = KMRIG_CLI_ERROR;
        } else {
            char *abs = realpath(spec, NULL); /* ctest --test-dir changes directory */
            fprintf(json ? stderr : stdout,
                    "kmrig list: CTest resource spec with %zu board(s) in %s; run:\n"
                    "  KMRIG_BOARDS_FILE=%s ctest --resource-spec-file %s -j%zu\n",
                    known, spec, abs ? abs : spec, abs ? abs : spec, known ? known : 1);
            free(abs);
        }
    }
    free(boards);
    return rc;
}

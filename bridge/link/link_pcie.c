/* The "pcie" transport: a kmrig bridge behind a PCIe endpoint, reached through Linux VFIO
 * (docs/pcie.md has the endpoint's contract and the host setup).
 *
 *   pcie://DDDD:BB:DD.F[,bar=N][,io_bar=N|none][,msi|msix|intx][,unsafe_uio[=dma]]
 *
 * Memory space: BAR `bar` (default 0) is a window onto the bridge's Wishbone memory space (BAR
 * offset = bus address); every access is one volatile load or store of its width on the mmapped
 * BAR. I/O space: BAR `io_bar` (default 2 when the device has it, else none), offset = port
 * number; mmapped when VFIO allows it, else pread/pwrite of the region (an I/O-space BAR). The
 * sysid, intc and enumeration ROM sit at their documented bus addresses, so the runtime finds the
 * same things as on the model: clock_hz comes from sysid CLOCK_HZ, the number of interrupt lines
 * from intc NLINES.
 *
 * Interrupts: the endpoint signals (MSI, MSI-X or INTx) whenever a bit of the intc's ACTIVE
 * register rises; a reader thread waits on the eventfds VFIO triggers and reports
 * KMRIG_LINK_EV_IRQ; irq_pending reads ACTIVE over MMIO. INTx is level-triggered and the kernel
 * masks it when it fires: it is unmasked by the first irq_pending / irq_control that finds ACTIVE
 * empty (the driver's ISR made the device drop its line), so a line that stays up does not
 * storm the reader thread.
 *
 * DMA: dma_map / dma_unmap are VFIO_IOMMU_MAP_DMA / UNMAP_DMA with IOVA = the HAL's bus address,
 * so the IOMMU lets the device reach exactly the pages the HAL mapped, in the directions mapped.
 * Reset: VFIO_DEVICE_RESET, then wait for sysid to answer.
 *
 * Device gone: a read that returns all ones is checked against the config space's vendor ID; a
 * device that vanished reads 0xFFFF there (or the read fails): the access returns
 * KMRIG_LINK_EGONE and the reader thread reports KMRIG_LINK_EV_GONE. VFIO's "request" interrupt
 * (the kernel asking for the device back: hot unplug, unbind) is reported as gone too.
 *
 * unsafe_uio: without an IOMMU, through uio_pci_generic and sysfs (root): BARs mmapped from
 * /sys/bus/pci/devices/X/resourceN, INTx from /dev/uioN. Nothing confines the device's DMA there,
 * so bus mastering is switched off in the command register and dma_map refuses (KMRIG_LINK_EIO);
 * unsafe_uio=dma is refused at open as not implemented (the HAL's bus addresses are not physical
 * addresses; see docs/pcie.md).
 *
 * Threading: hooks run under the link's lock (kmrig/link.h). The reader thread shares only
 * atomics with them and calls kmrig_link_notify without any lock of ours. close() joins it: the
 * owner removes its event handler before kmrig_link_close (kmrig_link_set_event_handler(NULL)
 * waits for a handler that is running), so the thread never waits for the link's lock then.
 * All system calls go through vfio_sys.h.
 */
#define _GNU_SOURCE
#include <kmrig/link.h>

#include "../sim/gen/kmrig_soc_map.h" /* sysid, intc: the same blocks on every kmrig SoC */
#include "vfio_sys.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#define PCIE_MAX_VECTORS 32u
#define PCIE_CFG_VENDOR 0x00
#define PCIE_CFG_COMMAND 0x04
#define PCIE_CMD_IO 0x1u
#define PCIE_CMD_MEMORY 0x2u
#define PCIE_CMD_MASTER 0x4u
#define PCIE_RESET_WAIT_MS 1000

enum pcie_irq_mode { PCIE_IRQ_DEFAULT, PCIE_IRQ_MSI, PCIE_IRQ_MSIX, PCIE_IRQ_INTX };

/* A BAR: mmapped (map), or read and written through fd at off. */
struct pcie_region {
    int present;
    uint8_t *map;
    uint64_t size;
    int fd;
    int64_t off;
};

struct pcie {
    const struct kmrig_vfio_sys *sys;
    char bdf[16];
    int uio; /* unsafe_uio */
    int container, group, device, uio_fd;
    int cfg_fd; /* config space: the device fd (VFIO) or sysfs config (UIO) */
    int64_t cfg_off;
    struct pcie_region mem, io;
    int has_reset;
    enum pcie_irq_mode irq_mode;
    unsigned irq_index, nvec;
    int vec[PCIE_MAX_VECTORS]; /* eventfds the kernel triggers (UIO: vec[0] is /dev/uioN) */
    int req_fd;                /* VFIO's device request eventfd, or -1 */
    int wake_fd;               /* wakes the reader thread (stop, gone) */
    struct kmrig_link *link;
    pthread_t reader;
    int reader_started;
    atomic_int stop;
    atomic_int gone;
    atomic_int intx_masked; /* the kernel masked INTx and nobody unmasked it yet */
};

/* ---- arguments ------------------------------------------------------------------------------ */

struct pcie_args {
    char bdf[16];
    int bar, io_bar; /* io_bar -1: none, -2: default */
    enum pcie_irq_mode irq;
    int uio; /* 0, 1 (unsafe_uio), 2 (unsafe_uio=dma) */
};

static int parse_index(const char *v, int *out)
{
    if (v[0] < '0' || v[0] > '5' || v[1])
        return -1;
    *out = v[0] - '0';
    return 0;
}

static int parse_bdf(const char *t, char *out, size_t n)
{
    char full[16];
    if (strlen(t) == 7) /* BB:DD.F: domain 0 */
        snprintf(full, sizeof full, "0000:%s", t);
    else if (strlen(t) == 12)
        strcpy(full, t);
    else
        return -1;
    static const char pattern[] = "xxxx:xx:xx.x";
    for (size_t i = 0; pattern[i]; i++)
        if (pattern[i] == 'x' ? !isxdigit((unsigned char)full[i]) : full[i] != pattern[i])
            return -1;
    unsigned dom, bus, dev, fn;
    if (sscanf(full, "%4x:%2x:%2x.%1x", &dom, &bus, &dev, &fn) != 4 || dev > 0x1F || fn > 7)
        return -1;
    snprintf(out, n, "%04x:%02x:%02x.%x", dom, bus, dev, fn);
    return 0;
}

static int parse_args(struct kmrig_link *link, const char *args, struct pcie_args *a)
{
    char buf[256];
    if (strlen(args) >= sizeof buf) {
        kmrig_link_set_open_error(link, "pcie: arguments too long");
        return KMRIG_LINK_EINVAL;
    }
    strcpy(buf, args);
    memset(a, 0, sizeof *a);
    a->io_bar = -2;
    char *save = NULL;
    int first = 1;
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save), first = 0) {
        char *eq = strchr(t, '=');
        const char *v = eq ? eq + 1 : NULL;
        if (eq)
            *eq = 0;
        int ok = 1;
        if (first && !eq)
            ok = !parse_bdf(t, a->bdf, sizeof a->bdf);
        else if (!strcmp(t, "bar") && v)
            ok = !parse_index(v, &a->bar);
        else if (!strcmp(t, "io_bar") && v && !strcmp(v, "none"))
            a->io_bar = -1;
        else if (!strcmp(t, "io_bar") && v)
            ok = !parse_index(v, &a->io_bar);
        else if (!strcmp(t, "msi") && !v)
            a->irq = PCIE_IRQ_MSI;
        else if (!strcmp(t, "msix") && !v)
            a->irq = PCIE_IRQ_MSIX;
        else if (!strcmp(t, "intx") && !v)
            a->irq = PCIE_IRQ_INTX;
        else if (!strcmp(t, "unsafe_uio") && (!v || !strcmp(v, "dma")))
            a->uio = v ? 2 : 1;
        else
            ok = 0;
        if (!ok) {
            kmrig_link_set_open_error(link, "pcie: bad argument '%s%s%s'", t, v ? "=" : "",
                                      v ? v : "");
            return KMRIG_LINK_EINVAL;
        }
    }
    if (!a->bdf[0]) {
        kmrig_link_set_open_error(link,
                                  "pcie: no device: give its PCI address, as pcie://0000:01:00.0 "
                                  "(lspci -D lists them)");
        return KMRIG_LINK_EINVAL;
    }
    if (a->io_bar == a->bar) {
        kmrig_link_set_open_error(link,
                                  "pcie: io_bar=%d is the memory BAR; I/O space needs a BAR of "
                                  "its own (or io_bar=none)",
                                  a->bar);
        return KMRIG_LINK_EINVAL;
    }
    if (a->uio && (a->irq == PCIE_IRQ_MSI || a->irq == PCIE_IRQ_MSIX)) {
        kmrig_link_set_open_error(link, "pcie: unsafe_uio (uio_pci_generic) has INTx only");
        return KMRIG_LINK_EINVAL;
    }
    return KMRIG_LINK_OK;
}

/* ---- config space and regions ------------------------------------------------------------ */

static int cfg_read16(struct pcie *s, unsigned off, uint16_t *v)
{
    uint8_t b[2];
    if (s->sys->pread(s->cfg_fd, b, 2, s->cfg_off + off) != 2)
        return -1;
    *v = (uint16_t)(b[0] | b[1] << 8);
    return 0;
}

static int cfg_write16(struct pcie *s, unsigned off, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    return s->sys->pwrite(s->cfg_fd, b, 2, s->cfg_off + off) == 2 ? 0 : -1;
}

/* The device vanished: its config space reads all ones or cannot be read. */
static int device_vanished(struct pcie *s)
{
    uint16_t vendor;
    return cfg_read16(s, PCIE_CFG_VENDOR, &vendor) < 0 || vendor == 0xFFFF;
}

static void mark_gone(struct pcie *s)
{
    if (atomic_exchange(&s->gone, 1))
        return;
    uint64_t one = 1;
    s->sys->write(s->wake_fd, &one, sizeof one); /* the reader thread reports it */
}

static int region_read(struct pcie *s, struct pcie_region *r, uint64_t addr, unsigned size,
                       uint32_t *value)
{
    if (!r->present || addr + size > r->size)
        return KMRIG_LINK_EBUS;
    if (r->map) {
        volatile uint8_t *p = r->map + addr;
        switch (size) {
        case 1:
            *value = *p;
            break;
        case 2:
            *value = *(volatile uint16_t *)p;
            break;
        default:
            *value = *(volatile uint32_t *)p;
            break;
        }
        return KMRIG_LINK_OK;
    }
    uint8_t b[4] = {0};
    if (s->sys->pread(r->fd, b, size, r->off + (int64_t)addr) != (ssize_t)size)
        return device_vanished(s) ? (mark_gone(s), KMRIG_LINK_EGONE) : KMRIG_LINK_EIO;
    *value = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    return KMRIG_LINK_OK;
}

static int region_write(struct pcie *s, struct pcie_region *r, uint64_t addr, unsigned size,
                        uint32_t value)
{
    if (!r->present || addr + size > r->size)
        return KMRIG_LINK_EBUS;
    if (r->map) {
        volatile uint8_t *p = r->map + addr;
        switch (size) {
        case 1:
            *p = (uint8_t)value;
            break;
        case 2:
            *(volatile uint16_t *)p = (uint16_t)value;
            break;
        default:
            *(volatile uint32_t *)p = value;
            break;
        }
        return KMRIG_LINK_OK;
    }
    uint8_t b[4] = {(uint8_t)value, (uint8_t)(value >> 8), (uint8_t)(value >> 16),
                    (uint8_t)(value >> 24)};
    if (s->sys->pwrite(r->fd, b, size, r->off + (int64_t)addr) != (ssize_t)size)
        return device_vanished(s) ? (mark_gone(s), KMRIG_LINK_EGONE) : KMRIG_LINK_EIO;
    return KMRIG_LINK_OK;
}

/* A read whose all-ones value may mean the device is gone: checked against config space. */
static int checked_read(struct pcie *s, struct pcie_region *r, uint64_t addr, unsigned size,
                        uint32_t *value)
{
    if (atomic_load(&s->gone))
        return KMRIG_LINK_EGONE;
    int rc = region_read(s, r, addr, size, value);
    uint32_t ones = size == 4 ? 0xFFFFFFFFu : (1u << (8 * size)) - 1;
    if (rc == KMRIG_LINK_OK && *value == ones && device_vanished(s)) {
        mark_gone(s);
        return KMRIG_LINK_EGONE;
    }
    return rc;
}

static int mem_read32(struct pcie *s, uint64_t addr, uint32_t *value)
{
    return checked_read(s, &s->mem, addr, 4, value);
}

static int mem_write32(struct pcie *s, uint64_t addr, uint32_t value)
{
    if (atomic_load(&s->gone))
        return KMRIG_LINK_EGONE;
    return region_write(s, &s->mem, addr, 4, value);
}

/* ---- interrupts ------------------------------------------------------------------------------ */

static void *reader_main(void *arg)
{
    struct pcie *s = arg;
    struct pollfd p[PCIE_MAX_VECTORS + 2];
    unsigned n = 0;
    p[n++] = (struct pollfd){.fd = s->wake_fd, .events = POLLIN};
    for (unsigned i = 0; i < s->nvec; i++)
        p[n++] = (struct pollfd){.fd = s->vec[i], .events = POLLIN};
    if (s->req_fd >= 0)
        p[n++] = (struct pollfd){.fd = s->req_fd, .events = POLLIN};
    while (!atomic_load(&s->stop)) {
        if (poll(p, n, -1) < 0) {
            if (errno == EINTR)
                continue;
            atomic_store(&s->gone, 1); /* no way left to hear the device */
            break;
        }
        if (atomic_load(&s->stop))
            break;
        if (atomic_load(&s->gone))
            break;
        int irq = 0, gone = 0;
        for (unsigned i = 1; i < n; i++) {
            if (!(p[i].revents & (POLLIN | POLLERR | POLLHUP)))
                continue;
            uint64_t count = 0;
            /* An eventfd gives its 8-byte counter, /dev/uioN its 4-byte interrupt count. */
            ssize_t r = s->sys->read(p[i].fd, &count, s->uio ? 4 : 8);
            if (p[i].fd == s->req_fd || (r < 0 && r != -EAGAIN)) /* /dev/uioN: EIO when gone */
                gone = 1;
            else
                irq = 1;
        }
        if (gone) {
            atomic_store(&s->gone, 1);
            break;
        }
        if (irq) {
            if (s->irq_mode == PCIE_IRQ_INTX)
                atomic_store(&s->intx_masked, 1);
            kmrig_link_notify(s->link, KMRIG_LINK_EV_IRQ);
        }
    }
    if (atomic_load(&s->gone) && !atomic_load(&s->stop))
        kmrig_link_notify(s->link, KMRIG_LINK_EV_GONE);
    return NULL;
}

static int set_irqs(struct pcie *s, unsigned index, uint32_t flags, unsigned count, const int *fds)
{
    size_t sz = sizeof(struct vfio_irq_set) + count * sizeof(int32_t);
    struct vfio_irq_set *set = calloc(1, sz);
    if (!set)
        return -ENOMEM;
    set->argsz = (uint32_t)sz;
    set->flags = flags;
    set->index = index;
    set->start = 0;
    set->count = count;
    if (fds)
        memcpy(set->data, fds, count * sizeof(int32_t));
    int rc = s->sys->ioctl(s->device, VFIO_DEVICE_SET_IRQS, set);
    free(set);
    return rc;
}

/* INTx: the kernel masked it when it fired; unmask once the device's lines are quiet. */
static void intx_rearm(struct pcie *s, uint32_t active)
{
    if (s->irq_mode != PCIE_IRQ_INTX || active || !atomic_exchange(&s->intx_masked, 0))
        return;
    if (s->uio) {
        uint32_t one = 1;
        s->sys->write(s->uio_fd, &one, sizeof one);
    } else {
        set_irqs(s, VFIO_PCI_INTX_IRQ_INDEX, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_UNMASK, 1,
                 NULL);
    }
}

static int read_active(struct pcie *s, uint32_t *active)
{
    int rc = mem_read32(s, KMRIG_SOC_INTC_BASE + KMRIG_INTC_ACTIVE, active);
    return rc;
}

/* ---- open ------------------------------------------------------------------------------------ */

static int region_info(struct pcie *s, unsigned index, struct vfio_region_info *ri)
{
    memset(ri, 0, sizeof *ri);
    ri->argsz = sizeof *ri;
    ri->index = index;
    return s->sys->ioctl(s->device, VFIO_DEVICE_GET_REGION_INFO, ri);
}

static int map_region(struct kmrig_link *link, struct pcie *s, struct pcie_region *r, int bar,
                      int required, int want_mmap_only)
{
    struct vfio_region_info ri;
    int rc = region_info(s, (unsigned)bar, &ri);
    if (rc < 0 || !ri.size) {
        if (!required)
            return KMRIG_LINK_OK;
        kmrig_link_set_open_error(link, "pcie %s: BAR %d is not implemented by the device", s->bdf,
                                  bar);
        return KMRIG_LINK_EINVAL;
    }
    r->present = 1;
    r->size = ri.size;
    r->fd = s->device;
    r->off = (int64_t)ri.offset;
    if (ri.flags & VFIO_REGION_INFO_FLAG_MMAP) {
        void *p;
        rc = s->sys->mmap(&p, ri.size, PROT_READ | PROT_WRITE, s->device, (int64_t)ri.offset);
        if (rc < 0) {
            kmrig_link_set_open_error(link, "pcie %s: mmap of BAR %d failed: %s", s->bdf, bar,
                                      strerror(-rc));
            return KMRIG_LINK_EIO;
        }
        r->map = p;
    } else if (want_mmap_only) {
        kmrig_link_set_open_error(link,
                                  "pcie %s: BAR %d cannot be mmapped (VFIO does not allow it); "
                                  "the memory window must be a memory BAR",
                                  s->bdf, bar);
        return KMRIG_LINK_EINVAL;
    }
    return KMRIG_LINK_OK;
}

static int open_vfio(struct kmrig_link *link, struct pcie *s, const struct pcie_args *a)
{
    const struct kmrig_vfio_sys *sys = s->sys;
    char path[512], target[256];
    snprintf(path, sizeof path, "/sys/bus/pci/devices/%s/iommu_group", s->bdf);
    ssize_t n = sys->readlink(path, target, sizeof target);
    if (n < 0) {
        kmrig_link_set_open_error(link,
                                  "pcie %s: no IOMMU group: the IOMMU is off (enable VT-d/AMD-Vi, "
                                  "boot with intel_iommu=on or amd_iommu=on); without one only "
                                  "unsafe_uio is left, with DMA not confined (docs/pcie.md)",
                                  s->bdf);
        return KMRIG_LINK_ENOTSUP;
    }
    const char *slash = strrchr(target, '/');
    const char *group = slash ? slash + 1 : target;
    snprintf(path, sizeof path, "/dev/vfio/%s", group);
    int fd = sys->open(path, O_RDWR);
    if (fd == -EACCES || fd == -EPERM) {
        kmrig_link_set_open_error(
            link,
            "pcie %s: permission denied on %s: a udev rule SUBSYSTEM==\"vfio\", "
            "GROUP=\"kmrig\", MODE=\"0660\" and ulimit -l for DMA "
            "(docs/pcie.md)",
            s->bdf, path);
        return KMRIG_LINK_EIO;
    }
    if (fd == -EBUSY) {
        kmrig_link_set_open_error(
            link, "pcie %s: %s is in use (another process has the group open)", s->bdf, path);
        return KMRIG_LINK_EIO;
    }
    if (fd < 0) {
        kmrig_link_set_open_error(link,
                                  "pcie %s: no %s: not bound to vfio-pci (as root: echo vfio-pci > "
                                  "/sys/bus/pci/devices/%s/driver_override, unbind it, "
                                  "drivers_probe; docs/pcie.md)",
                                  s->bdf, path, s->bdf);
        return KMRIG_LINK_ENOTSUP;
    }
    s->group = fd;
    struct vfio_group_status st = {.argsz = sizeof st};
    if (sys->ioctl(s->group, VFIO_GROUP_GET_STATUS, &st) < 0 ||
        !(st.flags & VFIO_GROUP_FLAGS_VIABLE)) {
        kmrig_link_set_open_error(link,
                                  "pcie %s: IOMMU group %s is not viable: bind every device in "
                                  "/sys/kernel/iommu_groups/%s/devices to vfio-pci or to no driver "
                                  "(docs/pcie.md)",
                                  s->bdf, group, group);
        return KMRIG_LINK_ENOTSUP;
    }
    fd = sys->open("/dev/vfio/vfio", O_RDWR);
    if (fd < 0) {
        kmrig_link_set_open_error(link, "pcie %s: /dev/vfio/vfio: %s (modprobe vfio-pci)", s->bdf,
                                  strerror(-fd));
        return fd == -EACCES ? KMRIG_LINK_EIO : KMRIG_LINK_ENOTSUP;
    }
    s->container = fd;
    if (sys->ioctl(s->container, VFIO_GET_API_VERSION, NULL) != VFIO_API_VERSION) {
        kmrig_link_set_open_error(link, "pcie %s: unknown VFIO API version", s->bdf);
        return KMRIG_LINK_ENOTSUP;
    }
    unsigned long type = VFIO_TYPE1v2_IOMMU;
    if (sys->ioctl(s->container, VFIO_CHECK_EXTENSION, (void *)type) <= 0)
        type = VFIO_TYPE1_IOMMU;
    if (sys->ioctl(s->container, VFIO_CHECK_EXTENSION, (void *)type) <= 0) {
        kmrig_link_set_open_error(link, "pcie %s: the kernel's VFIO has no type 1 IOMMU", s->bdf);
        return KMRIG_LINK_ENOTSUP;
    }
    int rc = sys->ioctl(s->group, VFIO_GROUP_SET_CONTAINER, &s->container);
    if (rc >= 0)
        rc = sys->ioctl(s->container, VFIO_SET_IOMMU, (void *)type);
    if (rc < 0) {
        kmrig_link_set_open_error(link, "pcie %s: attaching IOMMU group %s failed: %s", s->bdf,
                                  group, strerror(-rc));
        return KMRIG_LINK_EIO;
    }
    fd = sys->ioctl(s->group, VFIO_GROUP_GET_DEVICE_FD, s->bdf);
    if (fd < 0) {
        kmrig_link_set_open_error(link, "pcie %s: VFIO_GROUP_GET_DEVICE_FD: %s", s->bdf,
                                  strerror(-fd));
        return fd == -ENODEV ? KMRIG_LINK_EGONE : KMRIG_LINK_EIO;
    }
    s->device = fd;
    struct vfio_device_info di = {.argsz = sizeof di};
    if (sys->ioctl(s->device, VFIO_DEVICE_GET_INFO, &di) < 0 ||
        !(di.flags & VFIO_DEVICE_FLAGS_PCI)) {
        kmrig_link_set_open_error(link, "pcie %s: not a VFIO PCI device", s->bdf);
        return KMRIG_LINK_EIO;
    }
    s->has_reset = (di.flags & VFIO_DEVICE_FLAGS_RESET) != 0;
    struct vfio_region_info ri;
    if (region_info(s, VFIO_PCI_CONFIG_REGION_INDEX, &ri) < 0 || ri.size < 64) {
        kmrig_link_set_open_error(link, "pcie %s: no config space region", s->bdf);
        return KMRIG_LINK_EIO;
    }
    s->cfg_fd = s->device;
    s->cfg_off = (int64_t)ri.offset;
    if ((rc = map_region(link, s, &s->mem, a->bar, 1, 1)) != KMRIG_LINK_OK)
        return rc;
    if (a->io_bar != -1 && (rc = map_region(link, s, &s->io, a->io_bar < 0 ? 2 : a->io_bar,
                                            a->io_bar >= 0, 0)) != KMRIG_LINK_OK)
        return rc;
    return KMRIG_LINK_OK;
}

/* unsafe_uio: sysfs BARs, /dev/uioN for INTx. */
static int uio_bar(struct kmrig_link *link, struct pcie *s, struct pcie_region *r, int bar,
                   int required)
{
    const struct kmrig_vfio_sys *sys = s->sys;
    char path[256], text[1024];
    snprintf(path, sizeof path, "/sys/bus/pci/devices/%s/resource", s->bdf);
    int fd = sys->open(path, O_RDONLY);
    ssize_t n = fd >= 0 ? sys->pread(fd, text, sizeof text - 1, 0) : fd;
    if (fd >= 0)
        sys->close(fd);
    text[n > 0 ? n : 0] = 0;
    /* Line `bar` of "start end flags". */
    const char *line = text;
    for (int i = 0; i < bar && line; i++)
        line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL;
    unsigned long long start = 0, end = 0, flags = 0;
    if (!line || sscanf(line, "%llx %llx %llx", &start, &end, &flags) != 3 || !end) {
        if (!required)
            return KMRIG_LINK_OK;
        kmrig_link_set_open_error(link, "pcie %s: BAR %d is not implemented by the device", s->bdf,
                                  bar);
        return KMRIG_LINK_EINVAL;
    }
    snprintf(path, sizeof path, "/sys/bus/pci/devices/%s/resource%d", s->bdf, bar);
    fd = sys->open(path, O_RDWR | O_SYNC);
    if (fd < 0) {
        kmrig_link_set_open_error(link, "pcie %s: %s: %s (unsafe_uio needs root)", s->bdf, path,
                                  strerror(-fd));
        return fd == -EACCES || fd == -EPERM ? KMRIG_LINK_EIO : KMRIG_LINK_EGONE;
    }
    r->present = 1;
    r->size = end - start + 1;
    r->fd = fd;
    r->off = 0;
    if (flags & 0x200) /* IORESOURCE_MEM: mmap; an I/O BAR is read and written */
        if (sys->mmap((void **)&r->map, r->size, PROT_READ | PROT_WRITE, fd, 0) < 0) {
            kmrig_link_set_open_error(link, "pcie %s: mmap of %s failed", s->bdf, path);
            return KMRIG_LINK_EIO;
        }
    return KMRIG_LINK_OK;
}

static int open_uio(struct kmrig_link *link, struct pcie *s, const struct pcie_args *a)
{
    const struct kmrig_vfio_sys *sys = s->sys;
    char path[256], name[64];
    snprintf(path, sizeof path, "/sys/bus/pci/devices/%s/uio", s->bdf);
    if (sys->first_entry(path, name, sizeof name) < 0) {
        kmrig_link_set_open_error(link,
                                  "pcie %s: unsafe_uio: the device is not bound to uio_pci_generic "
                                  "(modprobe uio_pci_generic; echo uio_pci_generic > "
                                  "/sys/bus/pci/devices/%s/driver_override; then bind it)",
                                  s->bdf, s->bdf);
        return KMRIG_LINK_ENOTSUP;
    }
    snprintf(path, sizeof path, "/dev/%s", name);
    int fd = sys->open(path, O_RDWR);
    if (fd < 0) {
        kmrig_link_set_open_error(link, "pcie %s: %s: %s (unsafe_uio needs root or a udev rule)",
                                  s->bdf, path, strerror(-fd));
        return KMRIG_LINK_EIO;
    }
    s->uio_fd = fd;
    snprintf(path, sizeof path, "/sys/bus/pci/devices/%s/config", s->bdf);
    if ((fd = sys->open(path, O_RDWR)) < 0) {
        kmrig_link_set_open_error(link, "pcie %s: %s: %s (unsafe_uio needs root)", s->bdf, path,
                                  strerror(-fd));
        return KMRIG_LINK_EIO;
    }
    s->cfg_fd = fd;
    s->cfg_off = 0;
    int rc = uio_bar(link, s, &s->mem, a->bar, 1);
    if (rc == KMRIG_LINK_OK && a->io_bar != -1)
        rc = uio_bar(link, s, &s->io, a->io_bar < 0 ? 2 : a->io_bar, a->io_bar >= 0);
    if (rc == KMRIG_LINK_OK && !s->mem.map) {
        kmrig_link_set_open_error(link, "pcie %s: BAR %d is not a memory BAR", s->bdf, a->bar);
        rc = KMRIG_LINK_EINVAL;
    }
    return rc;
}

static int setup_irqs(struct kmrig_link *link, struct pcie *s, enum pcie_irq_mode want)
{
    const struct kmrig_vfio_sys *sys = s->sys;
    if (s->uio) {
        s->irq_mode = PCIE_IRQ_INTX;
        s->vec[0] = s->uio_fd;
        s->nvec = 1;
        uint32_t one = 1; /* enable INTx */
        sys->write(s->uio_fd, &one, sizeof one);
        return KMRIG_LINK_OK;
    }
    struct vfio_irq_info ii;
    unsigned count[3] = {0};
    const unsigned index[3] = {VFIO_PCI_MSI_IRQ_INDEX, VFIO_PCI_MSIX_IRQ_INDEX,
                               VFIO_PCI_INTX_IRQ_INDEX};
    for (unsigned i = 0; i < 3; i++) {
        ii = (struct vfio_irq_info){.argsz = sizeof ii, .index = index[i]};
        if (sys->ioctl(s->device, VFIO_DEVICE_GET_IRQ_INFO, &ii) >= 0 &&
            (ii.flags & VFIO_IRQ_INFO_EVENTFD))
            count[i] = ii.count;
    }
    if (want == PCIE_IRQ_DEFAULT)
        want = count[0] ? PCIE_IRQ_MSI : count[1] ? PCIE_IRQ_MSIX : PCIE_IRQ_INTX;
    unsigned k = want == PCIE_IRQ_MSI ? 0 : want == PCIE_IRQ_MSIX ? 1 : 2;
    static const char *names[3] = {"MSI", "MSI-X", "INTx"};
    if (!count[k]) {
        kmrig_link_set_open_error(link, "pcie %s: the device has no %s interrupt%s", s->bdf,
                                  names[k], k == 2 ? " pin" : " capability");
        return KMRIG_LINK_ENOTSUP;
    }
    s->irq_mode = want;
    s->irq_index = index[k];
    /* MSI: one vector (a device with a vector per line folds them into what it was granted, as
     * PCI requires); MSI-X: every vector the device has, up to 32. */
    s->nvec = k == 1 ? (count[1] < PCIE_MAX_VECTORS ? count[1] : PCIE_MAX_VECTORS) : 1;
    for (unsigned i = 0; i < s->nvec; i++)
        if ((s->vec[i] = sys->eventfd()) < 0) {
            kmrig_link_set_open_error(link, "pcie %s: eventfd: %s", s->bdf, strerror(-s->vec[i]));
            return KMRIG_LINK_EIO;
        }
    int rc = set_irqs(s, s->irq_index, VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER,
                      s->nvec, s->vec);
    if (rc < 0) {
        kmrig_link_set_open_error(link, "pcie %s: enabling %s (VFIO_DEVICE_SET_IRQS) failed: %s",
                                  s->bdf, names[k], strerror(-rc));
        return KMRIG_LINK_EIO;
    }
    /* The kernel's request to give the device back (unplug, unbind): the link is gone. */
    ii = (struct vfio_irq_info){.argsz = sizeof ii, .index = VFIO_PCI_REQ_IRQ_INDEX};
    if (sys->ioctl(s->device, VFIO_DEVICE_GET_IRQ_INFO, &ii) >= 0 && ii.count &&
        (s->req_fd = sys->eventfd()) >= 0 &&
        set_irqs(s, VFIO_PCI_REQ_IRQ_INDEX, VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER,
                 1, &s->req_fd) < 0) {
        sys->close(s->req_fd);
        s->req_fd = -1;
    }
    return KMRIG_LINK_OK;
}

static void pcie_release(struct pcie *s)
{
    const struct kmrig_vfio_sys *sys = s->sys;
    if (s->reader_started) {
        atomic_store(&s->stop, 1);
        uint64_t one = 1;
        sys->write(s->wake_fd, &one, sizeof one);
        pthread_join(s->reader, NULL);
        s->reader_started = 0;
    }
    if (!s->uio && s->device >= 0 && s->nvec)
        set_irqs(s, s->irq_index, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER, 0, NULL);
    if (!s->uio && s->device >= 0 && s->req_fd >= 0)
        set_irqs(s, VFIO_PCI_REQ_IRQ_INDEX, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER, 0,
                 NULL);
    for (unsigned i = 0; i < s->nvec; i++)
        if (s->vec[i] >= 0 && s->vec[i] != s->uio_fd)
            sys->close(s->vec[i]);
    s->nvec = 0;
    struct pcie_region *regions[2] = {&s->mem, &s->io};
    for (unsigned i = 0; i < 2; i++) {
        struct pcie_region *r = regions[i];
        if (r->map)
            sys->munmap(r->map, r->size);
        if (s->uio && r->present)
            sys->close(r->fd);
        memset(r, 0, sizeof *r);
    }
    int *fds[] = {&s->req_fd, &s->wake_fd, &s->uio_fd, &s->device, &s->group, &s->container};
    for (unsigned i = 0; i < sizeof fds / sizeof fds[0]; i++)
        if (*fds[i] >= 0) {
            sys->close(*fds[i]);
            *fds[i] = -1;
        }
    if (s->uio && s->cfg_fd >= 0)
        sys->close(s->cfg_fd);
    s->cfg_fd = -1;
}

static int pcie_open(struct kmrig_link *link, const char *args, struct kmrig_link_info *info)
{
    struct pcie *s = kmrig_link_priv(link);
    struct pcie_args a;
    int rc = parse_args(link, args, &a);
    if (rc != KMRIG_LINK_OK)
        return rc;
    if (a.uio == 2) {
        kmrig_link_set_open_error(
            link,
            "pcie %s: unsafe_uio=dma is not implemented: without an IOMMU the "
            "device would need physical addresses, and kmrig hands out bus "
            "addresses of its own; use VFIO (docs/pcie.md)",
            a.bdf);
        return KMRIG_LINK_ENOTSUP;
    }
    s->sys = kmrig_vfio_sys();
    s->link = link;
    s->uio = a.uio;
    strcpy(s->bdf, a.bdf);
    s->container = s->group = s->device = s->uio_fd = s->cfg_fd = s->req_fd = s->wake_fd = -1;
    for (unsigned i = 0; i < PCIE_MAX_VECTORS; i++)
        s->vec[i] = -1;
    char path[128];
    snprintf(path, sizeof path, "/sys/bus/pci/devices/%s", s->bdf);
    if (s->sys->exists(path) < 0) {
        kmrig_link_set_open_error(link,
                                  "pcie %s: no such PCI device (is the board powered and "
                                  "enumerated? lspci -D lists the devices)",
                                  s->bdf);
        return KMRIG_LINK_EGONE;
    }
    rc = s->uio ? open_uio(link, s, &a) : open_vfio(link, s, &a);
    uint16_t cmd = 0;
    if (rc == KMRIG_LINK_OK && cfg_read16(s, PCIE_CFG_COMMAND, &cmd) < 0) {
        kmrig_link_set_open_error(link, "pcie %s: cannot read its config space", s->bdf);
        rc = KMRIG_LINK_EIO;
    }
    if (rc == KMRIG_LINK_OK) {
        /* Decode memory (and I/O) space; bus mastering only where an IOMMU confines it. */
        cmd |= PCIE_CMD_MEMORY | (s->io.present ? PCIE_CMD_IO : 0);
        cmd = s->uio ? (uint16_t)(cmd & ~PCIE_CMD_MASTER) : (uint16_t)(cmd | PCIE_CMD_MASTER);
        if (cfg_write16(s, PCIE_CFG_COMMAND, cmd) < 0) {
            kmrig_link_set_open_error(link, "pcie %s: cannot write its command register", s->bdf);
            rc = KMRIG_LINK_EIO;
        }
    }
    uint32_t id = 0, version = 0, hz = 0, lines = 0;
    if (rc == KMRIG_LINK_OK &&
        ((rc = mem_read32(s, KMRIG_SOC_SYSID_BASE + KMRIG_SYSID_ID, &id)) != KMRIG_LINK_OK ||
         id != KMRIG_SOC_ID)) {
        if (rc == KMRIG_LINK_OK || rc == KMRIG_LINK_EBUS) {
            kmrig_link_set_open_error(link,
                                      "pcie %s: BAR %d holds no kmrig bridge: sysid ID at bus 0x%x "
                                      "reads 0x%08x, not 0x%08x (wrong BAR, or not kmrig gateware: "
                                      "docs/pcie.md)",
                                      s->bdf, a.bar, KMRIG_SOC_SYSID_BASE + KMRIG_SYSID_ID, id,
                                      KMRIG_SOC_ID);
            rc = KMRIG_LINK_EMISMATCH;
        }
    }
    if (rc == KMRIG_LINK_OK)
        rc = mem_read32(s, KMRIG_SOC_SYSID_BASE + KMRIG_SYSID_VERSION, &version);
    if (rc == KMRIG_LINK_OK)
        rc = mem_read32(s, KMRIG_SOC_SYSID_BASE + KMRIG_SYSID_CLOCK_HZ, &hz);
    if (rc == KMRIG_LINK_OK)
        rc = mem_read32(s, KMRIG_SOC_INTC_BASE + KMRIG_INTC_NLINES, &lines);
    if (rc == KMRIG_LINK_OK && (!hz || lines > 32)) {
        kmrig_link_set_open_error(link, "pcie %s: sysid CLOCK_HZ %u or intc NLINES %u is not valid",
                                  s->bdf, hz, lines);
        rc = KMRIG_LINK_EMISMATCH;
    }
    if (rc == KMRIG_LINK_OK && (s->wake_fd = s->sys->eventfd()) < 0) {
        kmrig_link_set_open_error(link, "pcie %s: eventfd: %s", s->bdf, strerror(-s->wake_fd));
        rc = KMRIG_LINK_EIO;
    }
    if (rc == KMRIG_LINK_OK)
        rc = setup_irqs(link, s, a.irq);
    if (rc == KMRIG_LINK_OK && pthread_create(&s->reader, NULL, reader_main, s)) {
        kmrig_link_set_open_error(link, "pcie %s: cannot start the interrupt thread", s->bdf);
        rc = KMRIG_LINK_ENOMEM;
    }
    if (rc != KMRIG_LINK_OK) {
        pcie_release(s);
        return rc;
    }
    s->reader_started = 1;
    info->clock_hz = hz;
    info->irq_lines = lines;
    info->soc_id = id;
    info->soc_version = version;
    info->virtual_time = 0;
    static const char *irq_names[] = {"", "MSI", "MSI-X", "INTx"};
    snprintf(info->description, sizeof info->description, "%sPCIe %s %u.%u.%u @ %u MHz, %s%s",
             s->uio ? "UNSAFE (DMA not confined) " : "", s->bdf, version >> 24,
             (version >> 16) & 0xFF, version & 0xFFFF, hz / 1000000, irq_names[s->irq_mode],
             s->uio ? " uio" : " VFIO");
    if (s->uio)
        fprintf(stderr,
                "kmrig: WARNING: pcie %s opened with unsafe_uio: no IOMMU confines this device. "
                "Nothing stops it from writing any physical address of this machine. Bus "
                "mastering is switched off and kmrig refuses DMA mappings, but a device that "
                "ignores its command register is not stopped. Use VFIO when you can.\n",
                s->bdf);
    return KMRIG_LINK_OK;
}

static void pcie_close(struct kmrig_link *link)
{
    pcie_release(kmrig_link_priv(link));
}

/* ---- hooks ----------------------------------------------------------------------------------- */

static int pcie_read(struct kmrig_link *link, unsigned space, uint64_t addr, unsigned size,
                     uint32_t *value, uint64_t *ts)
{
    struct pcie *s = kmrig_link_priv(link);
    *ts = 0; /* wall time: accesses carry no device timestamp */
    return checked_read(s, space == KMRIG_SPACE_IO ? &s->io : &s->mem, addr, size, value);
}

static int pcie_write(struct kmrig_link *link, unsigned space, uint64_t addr, unsigned size,
                      uint32_t value, uint64_t *ts)
{
    struct pcie *s = kmrig_link_priv(link);
    *ts = 0;
    if (atomic_load(&s->gone))
        return KMRIG_LINK_EGONE;
    return region_write(s, space == KMRIG_SPACE_IO ? &s->io : &s->mem, addr, size, value);
}

static int pcie_irq_pending(struct kmrig_link *link, uint32_t *lines)
{
    struct pcie *s = kmrig_link_priv(link);
    uint32_t active = 0;
    int rc = read_active(s, &active);
    if (rc != KMRIG_LINK_OK)
        return rc;
    intx_rearm(s, active);
    const struct kmrig_link_info *info = kmrig_link_get_info(link);
    *lines = info->irq_lines >= 32 ? active : active & ((1u << info->irq_lines) - 1);
    return KMRIG_LINK_OK;
}

static int pcie_irq_control(struct kmrig_link *link, unsigned line, enum kmrig_irq_op op)
{
    struct pcie *s = kmrig_link_priv(link);
    uint32_t bit = 1u << line, v = 0;
    int rc;
    switch (op) {
    case KMRIG_IRQ_MASK:
    case KMRIG_IRQ_UNMASK:
        rc = mem_read32(s, KMRIG_SOC_INTC_BASE + KMRIG_INTC_MASK, &v);
        if (rc == KMRIG_LINK_OK)
            rc = mem_write32(s, KMRIG_SOC_INTC_BASE + KMRIG_INTC_MASK,
                             op == KMRIG_IRQ_MASK ? v | bit : v & ~bit);
        break;
    case KMRIG_IRQ_LEVEL:
    case KMRIG_IRQ_EDGE:
        rc = mem_read32(s, KMRIG_SOC_INTC_BASE + KMRIG_INTC_MODE, &v);
        if (rc == KMRIG_LINK_OK)
            rc = mem_write32(s, KMRIG_SOC_INTC_BASE + KMRIG_INTC_MODE,
                             op == KMRIG_IRQ_EDGE ? v | bit : v & ~bit);
        break;
    default:
        rc = mem_write32(s, KMRIG_SOC_INTC_BASE + KMRIG_INTC_EOI, bit);
        break;
    }
    if (rc == KMRIG_LINK_OK && s->irq_mode == PCIE_IRQ_INTX && read_active(s, &v) == KMRIG_LINK_OK)
        intx_rearm(s, v);
    return rc;
}

static int pcie_irq_timestamp(struct kmrig_link *link, unsigned line, uint64_t *ts)
{
    struct pcie *s = kmrig_link_priv(link);
    uint32_t hi = 0, lo = 0, hi2 = 0;
    uint64_t base = KMRIG_SOC_INTC_BASE + 8u * line;
    int rc = mem_read32(s, base + KMRIG_INTC_TS_HI0, &hi);
    if (rc == KMRIG_LINK_OK)
        rc = mem_read32(s, base + KMRIG_INTC_TS_LO0, &lo);
    if (rc == KMRIG_LINK_OK)
        rc = mem_read32(s, base + KMRIG_INTC_TS_HI0, &hi2);
    if (rc == KMRIG_LINK_OK && hi2 != hi) /* an edge between the reads: take the new one */
        rc = mem_read32(s, base + KMRIG_INTC_TS_LO0, &lo);
    *ts = (uint64_t)hi2 << 32 | lo;
    return rc;
}

static int pcie_dma_map(struct kmrig_link *link, void *va, size_t len, uint64_t bus, unsigned dir)
{
    struct pcie *s = kmrig_link_priv(link);
    if (s->uio)
        return KMRIG_LINK_EIO; /* no IOMMU: device DMA is refused (unsafe_uio) */
    struct vfio_iommu_type1_dma_map m = {
        .argsz = sizeof m,
        .flags = ((dir & KMRIG_DMA_TO_DEVICE) ? VFIO_DMA_MAP_FLAG_READ : 0) |
                 ((dir & KMRIG_DMA_FROM_DEVICE) ? VFIO_DMA_MAP_FLAG_WRITE : 0),
        .vaddr = (uintptr_t)va,
        .iova = bus,
        .size = len,
    };
    int rc = s->sys->ioctl(s->container, VFIO_IOMMU_MAP_DMA, &m);
    if (rc == -ENOMEM)
        return KMRIG_LINK_ENOMEM; /* the locked-memory limit (ulimit -l) */
    if (rc == -EEXIST || rc == -EINVAL)
        return KMRIG_LINK_EINVAL;
    return rc < 0 ? KMRIG_LINK_EIO : KMRIG_LINK_OK;
}

static int pcie_dma_unmap(struct kmrig_link *link, uint64_t bus, size_t len)
{
    struct pcie *s = kmrig_link_priv(link);
    if (s->uio)
        return KMRIG_LINK_EINVAL; /* nothing was ever mapped */
    struct vfio_iommu_type1_dma_unmap u = {.argsz = sizeof u, .iova = bus, .size = len};
    int rc = s->sys->ioctl(s->container, VFIO_IOMMU_UNMAP_DMA, &u);
    if (rc < 0)
        return KMRIG_LINK_EIO;
    return u.size == len ? KMRIG_LINK_OK : KMRIG_LINK_EINVAL; /* not what was mapped */
}

static int pcie_reset(struct kmrig_link *link)
{
    struct pcie *s = kmrig_link_priv(link);
    if (s->uio || !s->has_reset)
        return KMRIG_LINK_ENOTSUP;
    if (atomic_load(&s->gone))
        return KMRIG_LINK_EGONE;
    int rc = s->sys->ioctl(s->device, VFIO_DEVICE_RESET, NULL);
    if (rc < 0)
        return device_vanished(s) ? (mark_gone(s), KMRIG_LINK_EGONE) : KMRIG_LINK_EIO;
    /* It answers again when sysid reads its magic. */
    for (int ms = 0; ms < PCIE_RESET_WAIT_MS; ms++) {
        uint32_t id = 0;
        rc = mem_read32(s, KMRIG_SOC_SYSID_BASE + KMRIG_SYSID_ID, &id);
        if (rc == KMRIG_LINK_EGONE || (rc == KMRIG_LINK_OK && id == KMRIG_SOC_ID))
            return rc;
        nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
    }
    return KMRIG_LINK_ETIMEOUT;
}

const struct kmrig_link_ops kmrig_link_pcie_ops = {
    .name = "pcie",
    .summary = "PCIe endpoint through VFIO (BAR MMIO, MSI/INTx, IOMMU DMA)",
    .priv_size = sizeof(struct pcie),
    .usage = "DDDD:BB:DD.F[,bar=N][,io_bar=N|none][,msi|msix|intx][,unsafe_uio]",
    .open = pcie_open,
    .close = pcie_close,
    .read = pcie_read,
    .write = pcie_write,
    .irq_pending = pcie_irq_pending,
    .irq_control = pcie_irq_control,
    .irq_timestamp = pcie_irq_timestamp,
    .dma_map = pcie_dma_map,
    .dma_unmap = pcie_dma_unmap,
    .reset = pcie_reset,
};

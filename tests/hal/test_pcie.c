/* The pcie transport (bridge/link/link_pcie.c) on a fake kernel: every system call of the
 * transport goes through kmrig_vfio_sys(), which this program wraps (-Wl,--wrap=kmrig_vfio_sys)
 * to return the fake below. The fake implements the VFIO ioctls the transport uses, a PCI config
 * space, a memory BAR that is plain memory holding the reference SoC's enumeration ROM, sysid and
 * intc registers (so READ_REGISTER_* through MmMapIoSpace reaches it through the runtime), an I/O
 * BAR read and written with pread/pwrite, real eventfds for the interrupts, an IOMMU table that
 * records VFIO_IOMMU_MAP_DMA / UNMAP_DMA and lets the "device" DMA only through it, and the sysfs
 * files of the error cases and of uio_pci_generic.
 *
 * The device side runs on the test's thread (its registers are plain memory the transport reads);
 * the interrupt path is asynchronous: a real eventfd, the transport's reader thread, the link's
 * event handler. */
#define _GNU_SOURCE
#include "hal_test.h"

#include "../../bridge/link/vfio_sys.h"
#include "../../bridge/sim/gen/kmrig_soc_map.h"
#include <kmrig/link.h>

#include <errno.h>
#include <linux/vfio.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define BDF "0000:01:00.0"
#define URI "pcie://" BDF
#define BAR_SIZE 0x10000u
#define IO_SIZE 0x10000u
#define GROUP "7"
#define OFF_IO (2ull << 40)
#define OFF_CFG (7ull << 40)

enum { FD_CONTAINER = 1000, FD_GROUP, FD_DEVICE, FD_RESOURCE, FD_RES0, FD_CFG };

/* ---- the fake kernel ---------------------------------------------------------------------- */

struct fake_map {
    uint64_t iova, vaddr, size;
    uint32_t flags;
};

static struct {
    /* the machine */
    int no_device, no_iommu, group_errno, not_viable, uio_bound, map_errno;
    unsigned msi_count, intx_count;
    /* the device */
    uint8_t *bar;
    uint8_t io[IO_SIZE];
    uint8_t cfg[256];
    int vanished;
    /* what the transport did */
    int irq_index, irq_fd[32];
    unsigned nirq;
    int req_fd;
    atomic_uint unmasks, resets, uio_enables;
    struct fake_map maps[64];
    unsigned nmaps, map_calls, unmap_calls;
    struct fake_map last_unmap;
    int open_fds;
} fk;

static uint32_t *reg(uint32_t addr)
{
    return (uint32_t *)(fk.bar + addr);
}

static void fake_device_reset(void)
{
    memset(fk.bar, 0, BAR_SIZE);
    memcpy(fk.bar + KMRIG_SOC_ROM_BASE, kmrig_soc_rom_expected, sizeof kmrig_soc_rom_expected);
    *reg(KMRIG_SOC_SYSID_BASE + KMRIG_SYSID_ID) = KMRIG_SOC_ID;
    *reg(KMRIG_SOC_SYSID_BASE + KMRIG_SYSID_VERSION) = KMRIG_SOC_VERSION;
    *reg(KMRIG_SOC_SYSID_BASE + KMRIG_SYSID_CLOCK_HZ) = 125000000;
    *reg(KMRIG_SOC_INTC_BASE + KMRIG_INTC_NLINES) = KMRIG_SOC_IRQ_LINES;
    *reg(KMRIG_SOC_INTC_BASE + KMRIG_INTC_MASK) = 0xFF;
}

static void fake_init(void)
{
    memset(&fk, 0, sizeof fk);
    fk.bar = aligned_alloc(4096, BAR_SIZE);
    fk.msi_count = 1;
    fk.intx_count = 1;
    fk.irq_index = -1;
    fk.req_fd = -1;
    fake_device_reset();
    fk.cfg[0] = 0xEE; /* vendor 0x10EE */
    fk.cfg[1] = 0x10;
}

static int fake_open(const char *path, int flags)
{
    (void)flags;
    int fd = -ENOENT;
    if (!strcmp(path, "/dev/vfio/" GROUP))
        fd = fk.group_errno ? -fk.group_errno : FD_GROUP;
    else if (!strcmp(path, "/dev/vfio/vfio"))
        fd = FD_CONTAINER;
    else if (fk.uio_bound && !strcmp(path, "/dev/uio0"))
        fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); /* its interrupt count, as /dev/uioN */
    else if (fk.uio_bound && !strcmp(path, "/sys/bus/pci/devices/" BDF "/resource"))
        fd = FD_RESOURCE;
    else if (fk.uio_bound && !strcmp(path, "/sys/bus/pci/devices/" BDF "/resource0"))
        fd = FD_RES0;
    else if (fk.uio_bound && !strcmp(path, "/sys/bus/pci/devices/" BDF "/config"))
        fd = FD_CFG;
    if (fd >= 0)
        fk.open_fds++;
    if (fk.uio_bound && !strcmp(path, "/dev/uio0") && fd >= 0)
        fk.irq_fd[0] = fd;
    return fd;
}

static int fake_close(int fd)
{
    fk.open_fds--;
    if (fd < FD_CONTAINER)
        return close(fd) < 0 ? -errno : 0; /* a real eventfd */
    return 0;
}

static int fake_set_irqs(struct vfio_irq_set *set)
{
    uint32_t data = set->flags & VFIO_IRQ_SET_DATA_TYPE_MASK;
    uint32_t action = set->flags & VFIO_IRQ_SET_ACTION_TYPE_MASK;
    if (action == VFIO_IRQ_SET_ACTION_UNMASK) {
        if (set->index != VFIO_PCI_INTX_IRQ_INDEX || data != VFIO_IRQ_SET_DATA_NONE)
            return -EINVAL;
        atomic_fetch_add(&fk.unmasks, 1);
        return 0;
    }
    if (action != VFIO_IRQ_SET_ACTION_TRIGGER)
        return -EINVAL;
    if (set->index == VFIO_PCI_REQ_IRQ_INDEX) {
        fk.req_fd = set->count ? ((int32_t *)set->data)[0] : -1;
        return 0;
    }
    if (data == VFIO_IRQ_SET_DATA_NONE && !set->count) { /* disable */
        fk.irq_index = -1;
        fk.nirq = 0;
        return 0;
    }
    if (data != VFIO_IRQ_SET_DATA_EVENTFD || !set->count || set->count > 32 ||
        set->argsz < sizeof *set + set->count * sizeof(int32_t))
        return -EINVAL;
    fk.irq_index = (int)set->index;
    fk.nirq = set->count;
    memcpy(fk.irq_fd, set->data, set->count * sizeof(int32_t));
    return 0;
}

static int fake_ioctl(int fd, unsigned long request, void *arg)
{
    switch (request) {
    case VFIO_GET_API_VERSION:
        return fd == FD_CONTAINER ? VFIO_API_VERSION : -ENOTTY;
    case VFIO_CHECK_EXTENSION:
        return (uintptr_t)arg == VFIO_TYPE1v2_IOMMU || (uintptr_t)arg == VFIO_TYPE1_IOMMU;
    case VFIO_GROUP_GET_STATUS: {
        struct vfio_group_status *st = arg;
        st->flags = fk.not_viable ? 0 : VFIO_GROUP_FLAGS_VIABLE;
        return 0;
    }
    case VFIO_GROUP_SET_CONTAINER:
        return *(int *)arg == FD_CONTAINER ? 0 : -EINVAL;
    case VFIO_SET_IOMMU:
        return (uintptr_t)arg == VFIO_TYPE1v2_IOMMU ? 0 : -EINVAL;
    case VFIO_GROUP_GET_DEVICE_FD:
        if (strcmp(arg, BDF))
            return -ENODEV;
        fk.open_fds++;
        return FD_DEVICE;
    case VFIO_DEVICE_GET_INFO: {
        struct vfio_device_info *di = arg;
        di->flags = VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET;
        di->num_regions = VFIO_PCI_NUM_REGIONS;
        di->num_irqs = VFIO_PCI_NUM_IRQS;
        return 0;
    }
    case VFIO_DEVICE_GET_REGION_INFO: {
        struct vfio_region_info *ri = arg;
        ri->size = ri->offset = ri->flags = 0;
        if (ri->index == 0) {
            ri->size = BAR_SIZE;
            ri->flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE |
                        VFIO_REGION_INFO_FLAG_MMAP;
        } else if (ri->index == 2) { /* an I/O-space BAR: read and write only */
            ri->size = IO_SIZE;
            ri->offset = OFF_IO;
            ri->flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
        } else if (ri->index == VFIO_PCI_CONFIG_REGION_INDEX) {
            ri->size = sizeof fk.cfg;
            ri->offset = OFF_CFG;
            ri->flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
        }
        return 0;
    }
    case VFIO_DEVICE_GET_IRQ_INFO: {
        struct vfio_irq_info *ii = arg;
        ii->flags = VFIO_IRQ_INFO_EVENTFD;
        ii->count = ii->index == VFIO_PCI_MSI_IRQ_INDEX    ? fk.msi_count
                    : ii->index == VFIO_PCI_INTX_IRQ_INDEX ? fk.intx_count
                    : ii->index == VFIO_PCI_REQ_IRQ_INDEX  ? 1
                                                           : 0;
        return 0;
    }
    case VFIO_DEVICE_SET_IRQS:
        return fake_set_irqs(arg);
    case VFIO_IOMMU_MAP_DMA: {
        struct vfio_iommu_type1_dma_map *m = arg;
        fk.map_calls++;
        if (fk.map_errno)
            return -fk.map_errno;
        for (unsigned i = 0; i < fk.nmaps; i++)
            if (m->iova < fk.maps[i].iova + fk.maps[i].size && fk.maps[i].iova < m->iova + m->size)
                return -EEXIST;
        fk.maps[fk.nmaps++] = (struct fake_map){m->iova, m->vaddr, m->size, m->flags};
        return 0;
    }
    case VFIO_IOMMU_UNMAP_DMA: {
        struct vfio_iommu_type1_dma_unmap *u = arg;
        fk.unmap_calls++;
        fk.last_unmap = (struct fake_map){.iova = u->iova, .size = u->size};
        uint64_t done = 0;
        for (unsigned i = 0; i < fk.nmaps;) {
            if (fk.maps[i].iova >= u->iova &&
                fk.maps[i].iova + fk.maps[i].size <= u->iova + u->size) {
                done += fk.maps[i].size;
                fk.maps[i] = fk.maps[--fk.nmaps];
            } else {
                i++;
            }
        }
        u->size = done;
        return 0;
    }
    case VFIO_DEVICE_RESET:
        atomic_fetch_add(&fk.resets, 1);
        fake_device_reset();
        return 0;
    }
    return -ENOTTY;
}

static int fake_mmap(void **out, size_t len, int prot, int fd, int64_t offset)
{
    (void)prot;
    if ((fd != FD_DEVICE && fd != FD_RES0) || offset != 0 || len != BAR_SIZE)
        return -EINVAL;
    *out = fk.bar;
    return 0;
}

static int fake_munmap(void *addr, size_t len)
{
    return addr == fk.bar && len == BAR_SIZE ? 0 : -EINVAL;
}

/* Config space and the I/O BAR. */
static uint8_t *fake_region(int fd, int64_t offset, size_t n)
{
    if ((fd == FD_DEVICE && offset >= (int64_t)OFF_CFG) || fd == FD_CFG) {
        int64_t o = fd == FD_CFG ? offset : offset - (int64_t)OFF_CFG;
        return o + n <= sizeof fk.cfg ? fk.cfg + o : NULL;
    }
    if (fd == FD_DEVICE && offset >= (int64_t)OFF_IO)
        return offset - OFF_IO + n <= IO_SIZE ? fk.io + (offset - OFF_IO) : NULL;
    return NULL;
}

static ssize_t fake_pread(int fd, void *buf, size_t n, int64_t offset)
{
    if (fd == FD_RESOURCE) { /* sysfs "resource": start end flags per BAR */
        static const char text[] = "0x00000000f0000000 0x00000000f000ffff 0x0000000000040200\n"
                                   "0x0000000000000000 0x0000000000000000 0x0000000000000000\n";
        size_t len = strlen(text) < n ? strlen(text) : n;
        memcpy(buf, text, len);
        return (ssize_t)len;
    }
    uint8_t *p = fake_region(fd, offset, n);
    if (!p)
        return -EINVAL;
    if (fk.vanished && fd != FD_RESOURCE)
        memset(buf, 0xFF, n);
    else
        memcpy(buf, p, n);
    return (ssize_t)n;
}

static ssize_t fake_pwrite(int fd, const void *buf, size_t n, int64_t offset)
{
    uint8_t *p = fake_region(fd, offset, n);
    if (!p)
        return -EINVAL;
    memcpy(p, buf, n);
    return (ssize_t)n;
}

static ssize_t fake_read(int fd, void *buf, size_t n)
{
    ssize_t r = read(fd, buf, n < 8 ? 8 : n); /* eventfds give 8 bytes; /dev/uio0 gives 4 */
    return r < 0 ? -errno : (r > (ssize_t)n ? (ssize_t)n : r);
}

static ssize_t fake_write(int fd, const void *buf, size_t n)
{
    if (fk.uio_bound && fd == fk.irq_fd[0] && n == 4) { /* /dev/uioN: re-enable INTx */
        atomic_fetch_add(&fk.uio_enables, 1);
        return 4;
    }
    ssize_t r = write(fd, buf, n);
    return r < 0 ? -errno : r;
}

static ssize_t fake_readlink(const char *path, char *buf, size_t n)
{
    if (fk.no_iommu || strcmp(path, "/sys/bus/pci/devices/" BDF "/iommu_group"))
        return -ENOENT;
    return snprintf(buf, n, "../../../kernel/iommu_groups/" GROUP);
}

static int fake_exists(const char *path)
{
    return !fk.no_device && !strcmp(path, "/sys/bus/pci/devices/" BDF) ? 0 : -ENOENT;
}

static int fake_first_entry(const char *path, char *name, size_t n)
{
    if (!fk.uio_bound || strcmp(path, "/sys/bus/pci/devices/" BDF "/uio"))
        return -ENOENT;
    snprintf(name, n, "uio0");
    return 0;
}

static int fake_eventfd(void)
{
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd >= 0)
        fk.open_fds++;
    return fd < 0 ? -errno : fd;
}

static const struct kmrig_vfio_sys fake_sys = {
    .open = fake_open,
    .close = fake_close,
    .ioctl = fake_ioctl,
    .mmap = fake_mmap,
    .munmap = fake_munmap,
    .pread = fake_pread,
    .pwrite = fake_pwrite,
    .read = fake_read,
    .write = fake_write,
    .readlink = fake_readlink,
    .exists = fake_exists,
    .first_entry = fake_first_entry,
    .eventfd = fake_eventfd,
};

const struct kmrig_vfio_sys *__wrap_kmrig_vfio_sys(void);
const struct kmrig_vfio_sys *__wrap_kmrig_vfio_sys(void)
{
    return &fake_sys;
}

/* ---- the device side ---------------------------------------------------------------------- */

static void update_active(void)
{
    uint32_t pending = *reg(KMRIG_SOC_INTC_BASE + KMRIG_INTC_PENDING);
    uint32_t mask = *reg(KMRIG_SOC_INTC_BASE + KMRIG_INTC_MASK);
    *reg(KMRIG_SOC_INTC_BASE + KMRIG_INTC_ACTIVE) = pending & ~mask;
}

/* The device raises a line: ACTIVE rises, so the endpoint signals its interrupt (the eventfd
 * the transport gave VFIO). */
static void device_raise(unsigned line)
{
    *reg(KMRIG_SOC_INTC_BASE + KMRIG_INTC_PENDING) |= 1u << line;
    update_active();
    assert_true(fk.nirq > 0);
    uint64_t one = 1;
    assert_int_equal(write(fk.irq_fd[0], &one, sizeof one), sizeof one);
}

static void device_lower(unsigned line)
{
    *reg(KMRIG_SOC_INTC_BASE + KMRIG_INTC_PENDING) &= ~(1u << line);
    update_active();
}

/* A bus-master write of the device at an IOVA: only through the IOMMU's table. */
static int device_dma_write(uint64_t iova, const void *data, size_t n)
{
    for (unsigned i = 0; i < fk.nmaps; i++) {
        struct fake_map *m = &fk.maps[i];
        if (iova >= m->iova && iova + n <= m->iova + m->size) {
            if (!(m->flags & VFIO_DMA_MAP_FLAG_WRITE))
                return -1;
            memcpy((void *)(uintptr_t)(m->vaddr + (iova - m->iova)), data, n);
            return 0;
        }
    }
    return -1; /* an IOMMU fault */
}

static const struct fake_map *iommu_entry(uint64_t iova)
{
    for (unsigned i = 0; i < fk.nmaps; i++)
        if (fk.maps[i].iova == iova)
            return &fk.maps[i];
    return NULL;
}

/* ---- link-level helpers --------------------------------------------------------------------- */

struct events {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    unsigned irqs, gones;
    uint32_t lines; /* what irq_pending said inside the handler */
};

static void on_event(void *ctx, struct kmrig_link *link, enum kmrig_link_event ev)
{
    struct events *e = ctx;
    uint32_t lines = 0;
    if (ev == KMRIG_LINK_EV_IRQ)
        kmrig_link_irq_pending(link, &lines); /* the handler may call into the link */
    pthread_mutex_lock(&e->lock);
    if (ev == KMRIG_LINK_EV_IRQ) {
        e->irqs++;
        e->lines = lines;
    } else {
        e->gones++;
    }
    pthread_cond_broadcast(&e->cond);
    pthread_mutex_unlock(&e->lock);
}

/* Waits up to 2 s until *counter reaches n. */
static void wait_events(struct events *e, unsigned *counter, unsigned n)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 2;
    pthread_mutex_lock(&e->lock);
    while (*counter < n)
        if (pthread_cond_timedwait(&e->cond, &e->lock, &until)) {
            pthread_mutex_unlock(&e->lock);
            fail_msg("no event within 2 s");
        }
    pthread_mutex_unlock(&e->lock);
}

static struct kmrig_link *open_link(const char *uri, struct events *e)
{
    struct kmrig_link *link = NULL;
    char err[512];
    int rc = kmrig_link_open(uri, &link, err, sizeof err);
    if (rc != KMRIG_LINK_OK)
        fail_msg("%s: %s", uri, err);
    if (e) {
        pthread_mutex_init(&e->lock, NULL);
        pthread_cond_init(&e->cond, NULL);
        kmrig_link_set_event_handler(link, on_event, e);
    }
    return link;
}

static void close_link(struct kmrig_link *link)
{
    kmrig_link_set_event_handler(link, NULL, NULL); /* before close: no handler runs after it */
    kmrig_link_close(link);
}

/* Opens uri expecting failure: returns the code, err gets the sentence. */
static int open_fails(const char *uri, char *err, size_t n)
{
    struct kmrig_link *link = (struct kmrig_link *)(uintptr_t)1;
    int rc = kmrig_link_open(uri, &link, err, n);
    assert_int_not_equal(rc, KMRIG_LINK_OK);
    assert_null(link);
    /* The whole sentence fits the 256 bytes the HAL gives it (HalpOpenTarget). */
    if (strlen(err) >= 255)
        fail_msg("message cut at 256 bytes: %s", err);
    return rc;
}

/* ---- tests: opening ------------------------------------------------------------------------- */

static void test_pcie_open_reads_sysid_and_intc_and_enables_the_device(void **state)
{
    fake_init();
    struct kmrig_link *link = open_link(URI, NULL);
    const struct kmrig_link_info *info = kmrig_link_get_info(link);
    assert_int_equal(info->virtual_time, 0);
    assert_int_equal(info->clock_hz, 125000000); /* sysid CLOCK_HZ, not the model's */
    assert_int_equal(info->irq_lines, KMRIG_SOC_IRQ_LINES);
    assert_int_equal(info->soc_id, KMRIG_SOC_ID);
    assert_int_equal(info->soc_version, KMRIG_SOC_VERSION);
    assert_non_null(strstr(info->description, BDF));
    assert_non_null(strstr(info->description, "MSI"));
    /* Memory decoding, I/O decoding (the I/O BAR exists) and bus mastering are on. */
    assert_int_equal(fk.cfg[4] & 7, 7);
    /* One MSI vector on a real eventfd, and the request interrupt. */
    assert_int_equal(fk.irq_index, VFIO_PCI_MSI_IRQ_INDEX);
    assert_int_equal(fk.nirq, 1);
    assert_true(fk.req_fd >= 0);
    uint64_t one = 1;
    assert_int_equal(write(fk.irq_fd[0], &one, sizeof one), sizeof one);
    /* A wall-time target: no clock to advance. */
    assert_int_equal(kmrig_link_now(link), 0);
    assert_int_equal(kmrig_link_advance(link, 100, 0), 0);
    close_link(link);
    assert_int_equal(fk.irq_index, -1); /* interrupts disabled at close */
    assert_int_equal(fk.open_fds, 0);   /* every descriptor closed */
}

static void test_pcie_open_refuses_bad_arguments(void **state)
{
    fake_init();
    char err[512];
    static const char *bad[] = {
        "pcie",
        "pcie://",
        "pcie://01:00",
        "pcie://0000:01:00.8",
        "pcie://0000:01:20.0",
        "pcie://000g:01:00.0",
        URI ",bar=6",
        URI ",io_bar=0",
        URI ",bogus",
        URI ",msi=2",
        URI ",unsafe_uio=yes",
        URI ",unsafe_uio,msi",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(open_fails(bad[i], err, sizeof err), KMRIG_LINK_EINVAL);
        assert_non_null(strstr(err, "pcie"));
    }
    /* The short form (domain 0) is the same device. */
    struct kmrig_link *link = open_link("pcie://01:00.0,bar=0,io_bar=none,msi", NULL);
    assert_int_equal(fk.cfg[4] & 7, 6); /* no I/O BAR: I/O decoding stays off */
    uint32_t v;
    assert_int_equal(kmrig_link_read(link, KMRIG_SPACE_IO, 0x3F8, 1, &v, NULL), KMRIG_LINK_EBUS);
    close_link(link);
}

static void test_pcie_no_iommu_or_permission_are_clear_errors(void **state)
{
    char err[512];
    fake_init();
    fk.no_device = 1;
    assert_int_equal(open_fails(URI, err, sizeof err), KMRIG_LINK_EGONE);
    assert_non_null(strstr(err, "no such PCI device"));

    fake_init();
    fk.no_iommu = 1;
    assert_int_equal(open_fails(URI, err, sizeof err), KMRIG_LINK_ENOTSUP);
    assert_non_null(strstr(err, "IOMMU"));
    assert_non_null(strstr(err, "intel_iommu=on"));

    fake_init();
    fk.group_errno = ENOENT; /* no /dev/vfio/7: not bound to vfio-pci */
    assert_int_equal(open_fails(URI, err, sizeof err), KMRIG_LINK_ENOTSUP);
    assert_non_null(strstr(err, "vfio-pci"));
    assert_non_null(strstr(err, "driver_override"));

    fake_init();
    fk.group_errno = EACCES;
    assert_int_equal(open_fails(URI, err, sizeof err), KMRIG_LINK_EIO);
    assert_non_null(strstr(err, "permission denied"));
    assert_non_null(strstr(err, "udev"));

    fake_init();
    fk.not_viable = 1;
    assert_int_equal(open_fails(URI, err, sizeof err), KMRIG_LINK_ENOTSUP);
    assert_non_null(strstr(err, "not viable"));
    assert_non_null(strstr(err, "/sys/kernel/iommu_groups/" GROUP "/devices"));
    assert_int_equal(fk.open_fds, 0); /* what it opened before failing is closed */

    fake_init();
    *reg(KMRIG_SOC_SYSID_BASE + KMRIG_SYSID_ID) = 0x12345678; /* not kmrig gateware */
    assert_int_equal(open_fails(URI, err, sizeof err), KMRIG_LINK_EMISMATCH);
    assert_non_null(strstr(err, "0x12345678"));
    assert_int_equal(fk.open_fds, 0);

    fake_init();
    fk.msi_count = 0;
    assert_int_equal(open_fails(URI ",msi", err, sizeof err), KMRIG_LINK_ENOTSUP);
    assert_non_null(strstr(err, "no MSI"));
}

static void test_pcie_uio_only_with_the_unsafe_flag_and_without_dma(void **state)
{
    char err[512];
    fake_init();
    fk.no_iommu = 1;
    fk.uio_bound = 1;
    /* Without the flag, no IOMMU is an error that names the unsafe option, never a fallback. */
    assert_int_equal(open_fails(URI, err, sizeof err), KMRIG_LINK_ENOTSUP);
    assert_non_null(strstr(err, "unsafe_uio"));
    assert_int_equal(fk.open_fds, 0);
    /* DMA without an IOMMU is not implemented: refused at open. */
    assert_int_equal(open_fails(URI ",unsafe_uio=dma", err, sizeof err), KMRIG_LINK_ENOTSUP);
    assert_non_null(strstr(err, "not implemented"));

    fk.cfg[4] = 0x7; /* bus mastering was on */
    struct kmrig_link *link = open_link(URI ",unsafe_uio", NULL);
    const struct kmrig_link_info *info = kmrig_link_get_info(link);
    assert_non_null(strstr(info->description, "UNSAFE"));
    assert_int_equal(fk.cfg[4] & 4, 0); /* bus mastering off */
    assert_int_equal(fk.cfg[4] & 2, 2);
    assert_int_equal(atomic_load(&fk.uio_enables), 1); /* INTx enabled through /dev/uio0 */
    /* MMIO works; DMA mappings are refused, and no reset. */
    uint32_t v;
    assert_int_equal(kmrig_link_read(link, KMRIG_SPACE_MEM, KMRIG_SOC_SYSID_BASE, 4, &v, NULL),
                     KMRIG_LINK_OK);
    assert_int_equal(v, KMRIG_SOC_ID);
    void *buf = aligned_alloc(4096, 4096);
    assert_int_equal(kmrig_link_dma_map(link, buf, 4096, 0x10000000, KMRIG_DMA_FROM_DEVICE),
                     KMRIG_LINK_EIO);
    assert_int_equal(kmrig_link_reset(link), KMRIG_LINK_ENOTSUP);
    free(buf);
    close_link(link);
    assert_int_equal(fk.open_fds, 0);
}

/* ---- tests: accesses ------------------------------------------------------------------------ */

static void test_pcie_register_access_reaches_the_bar_through_the_runtime(void **state)
{
    fake_init();
    kmrig_runtime *rt = hal_runtime_on(URI, 1);
    PHYSICAL_ADDRESS pa = {.QuadPart = KMRIG_SOC_SYSID_BASE};
    volatile UCHAR *sysid = MmMapIoSpace(pa, 0x100, MmNonCached);
    assert_non_null((void *)sysid);
    assert_int_equal(READ_REGISTER_ULONG((volatile ULONG *)sysid), KMRIG_SOC_ID);
    /* A store of each width lands on its bytes only. */
    WRITE_REGISTER_ULONG((volatile ULONG *)(sysid + KMRIG_SYSID_SCRATCH), 0x11223344);
    assert_int_equal(*reg(KMRIG_SOC_SYSID_BASE + KMRIG_SYSID_SCRATCH), 0x11223344);
    WRITE_REGISTER_UCHAR(sysid + KMRIG_SYSID_SCRATCH + 1, 0xAB);
    assert_int_equal(*reg(KMRIG_SOC_SYSID_BASE + KMRIG_SYSID_SCRATCH), 0x1122AB44);
    WRITE_REGISTER_USHORT((volatile USHORT *)(sysid + KMRIG_SYSID_SCRATCH + 2), 0xCDEF);
    assert_int_equal(*reg(KMRIG_SOC_SYSID_BASE + KMRIG_SYSID_SCRATCH), 0xCDEFAB44);
    assert_int_equal(READ_REGISTER_UCHAR(sysid + KMRIG_SYSID_SCRATCH + 3), 0xCD);
    assert_int_equal(READ_REGISTER_USHORT((volatile USHORT *)(sysid + KMRIG_SYSID_SCRATCH)),
                     0xAB44);
    MmUnmapIoSpace((PVOID)sysid, 0x100);
    /* Ports go to the I/O BAR (pread/pwrite of the region), offset = port. */
    WRITE_PORT_UCHAR((PUCHAR)(ULONG_PTR)0x3FB, 0x83);
    assert_int_equal(fk.io[0x3FB], 0x83);
    fk.io[0x3FD] = 0x60;
    assert_int_equal(READ_PORT_UCHAR((PUCHAR)(ULONG_PTR)0x3FD), 0x60);
    WRITE_PORT_ULONG((PULONG)(ULONG_PTR)0x1000, 0xA5A55A5A);
    assert_int_equal(READ_PORT_ULONG((PULONG)(ULONG_PTR)0x1000), 0xA5A55A5A);
    /* Beyond the BAR: a bus error, the driver reads all ones. */
    pa.QuadPart = BAR_SIZE;
    volatile ULONG *past = MmMapIoSpace(pa, 4, MmNonCached);
    assert_int_equal(READ_REGISTER_ULONG(past), 0xFFFFFFFFu);
    MmUnmapIoSpace((PVOID)past, 4);
    kmrig_runtime_destroy(rt);
}

static void test_pcie_vanished_device_is_gone(void **state)
{
    fake_init();
    struct events e = {0};
    struct kmrig_link *link = open_link(URI, &e);
    uint32_t v;
    /* All ones from a device that is there is a value, not a loss. */
    assert_int_equal(kmrig_link_write(link, KMRIG_SPACE_MEM,
                                      KMRIG_SOC_SYSID_BASE + KMRIG_SYSID_SCRATCH, 4, 0xFFFFFFFF,
                                      NULL),
                     KMRIG_LINK_OK);
    assert_int_equal(kmrig_link_read(link, KMRIG_SPACE_MEM,
                                     KMRIG_SOC_SYSID_BASE + KMRIG_SYSID_SCRATCH, 4, &v, NULL),
                     KMRIG_LINK_OK);
    assert_int_equal(v, 0xFFFFFFFFu);
    assert_false(kmrig_link_gone(link));
    /* Surprise removal: the BAR and config space read all ones. */
    memset(fk.bar, 0xFF, BAR_SIZE);
    fk.vanished = 1;
    assert_int_equal(kmrig_link_read(link, KMRIG_SPACE_MEM, KMRIG_SOC_SYSID_BASE, 2, &v, NULL),
                     KMRIG_LINK_EGONE);
    wait_events(&e, &e.gones, 1);
    assert_true(kmrig_link_gone(link));
    assert_int_equal(kmrig_link_read(link, KMRIG_SPACE_MEM, KMRIG_SOC_SYSID_BASE, 4, &v, NULL),
                     KMRIG_LINK_EGONE);
    uint32_t lines;
    assert_int_equal(kmrig_link_irq_pending(link, &lines), KMRIG_LINK_EGONE);
    close_link(link);
    assert_int_equal(e.gones, 1);
}

static void test_pcie_kernel_request_is_gone(void **state)
{
    fake_init();
    struct events e = {0};
    struct kmrig_link *link = open_link(URI, &e);
    uint64_t one = 1; /* VFIO asks for the device back (hot unplug, unbind) */
    assert_int_equal(write(fk.req_fd, &one, sizeof one), sizeof one);
    wait_events(&e, &e.gones, 1);
    assert_true(kmrig_link_gone(link));
    uint32_t v;
    assert_int_equal(kmrig_link_write(link, KMRIG_SPACE_MEM, 0x1010, 4, 1, NULL), KMRIG_LINK_EGONE);
    assert_int_equal(kmrig_link_read(link, KMRIG_SPACE_MEM, 0x1000, 4, &v, NULL), KMRIG_LINK_EGONE);
    close_link(link);
}

static void test_pcie_reset_is_vfio_device_reset(void **state)
{
    fake_init();
    struct kmrig_link *link = open_link(URI, NULL);
    assert_int_equal(kmrig_link_irq_control(link, 2, KMRIG_IRQ_UNMASK), KMRIG_LINK_OK);
    assert_int_equal(*reg(KMRIG_SOC_INTC_BASE + KMRIG_INTC_MASK), 0xFB);
    assert_int_equal(kmrig_link_reset(link), KMRIG_LINK_OK);
    assert_int_equal(atomic_load(&fk.resets), 1);
    assert_int_equal(*reg(KMRIG_SOC_INTC_BASE + KMRIG_INTC_MASK), 0xFF); /* back to reset */
    close_link(link);
}

/* ---- tests: interrupts ---------------------------------------------------------------------- */

static void test_pcie_msi_eventfd_raises_the_irq_event(void **state)
{
    fake_init();
    struct events e = {0};
    struct kmrig_link *link = open_link(URI, &e);
    assert_int_equal(kmrig_link_irq_control(link, 3, KMRIG_IRQ_UNMASK), KMRIG_LINK_OK);
    assert_int_equal(kmrig_link_irq_control(link, 3, KMRIG_IRQ_EDGE), KMRIG_LINK_OK);
    assert_int_equal(*reg(KMRIG_SOC_INTC_BASE + KMRIG_INTC_MASK), 0xF7);
    assert_int_equal(*reg(KMRIG_SOC_INTC_BASE + KMRIG_INTC_MODE), 0x08);
    device_raise(3);
    /* Nobody polls: the reader thread reports it, and the handler sees the line. */
    wait_events(&e, &e.irqs, 1);
    pthread_mutex_lock(&e.lock);
    assert_int_equal(e.lines, 1u << 3);
    pthread_mutex_unlock(&e.lock);
    assert_int_equal(kmrig_link_irq_control(link, 3, KMRIG_IRQ_EOI), KMRIG_LINK_OK);
    assert_int_equal(*reg(KMRIG_SOC_INTC_BASE + KMRIG_INTC_EOI), 1u << 3);
    device_lower(3);
    device_raise(5); /* masked: pending, not active, but the vector still says "look" */
    wait_events(&e, &e.irqs, 2);
    pthread_mutex_lock(&e.lock);
    assert_int_equal(e.lines, 0);
    pthread_mutex_unlock(&e.lock);
    /* Timestamps come from the intc's registers of the line. */
    *reg(KMRIG_SOC_INTC_BASE + KMRIG_INTC_TS_LO0 + 8 * 3) = 0x89ABCDEF;
    *reg(KMRIG_SOC_INTC_BASE + KMRIG_INTC_TS_HI0 + 8 * 3) = 0x01234567;
    uint64_t ts;
    assert_int_equal(kmrig_link_irq_timestamp(link, 3, &ts), KMRIG_LINK_OK);
    assert_int_equal(ts, 0x0123456789ABCDEFull);
    close_link(link);
}

static void test_pcie_intx_stays_masked_until_the_lines_drop(void **state)
{
    fake_init();
    struct events e = {0};
    struct kmrig_link *link = open_link(URI ",intx", &e);
    assert_int_equal(fk.irq_index, VFIO_PCI_INTX_IRQ_INDEX);
    assert_int_equal(kmrig_link_irq_control(link, 1, KMRIG_IRQ_UNMASK), KMRIG_LINK_OK);
    device_raise(1);
    wait_events(&e, &e.irqs, 1); /* the handler's irq_pending found the line up */
    uint32_t lines;
    assert_int_equal(kmrig_link_irq_pending(link, &lines), KMRIG_LINK_OK);
    assert_int_equal(lines, 1u << 1);
    assert_int_equal(atomic_load(&fk.unmasks), 0); /* still up: INTx stays masked */
    device_lower(1);                               /* the ISR made the device drop it */
    assert_int_equal(kmrig_link_irq_pending(link, &lines), KMRIG_LINK_OK);
    assert_int_equal(lines, 0);
    assert_int_equal(atomic_load(&fk.unmasks), 1);
    assert_int_equal(kmrig_link_irq_pending(link, &lines), KMRIG_LINK_OK);
    assert_int_equal(atomic_load(&fk.unmasks), 1); /* once per interrupt */
    close_link(link);
}

typedef struct {
    atomic_uint Runs;
    KIRQL Irql;
    KDPC Dpc;
    KEVENT Done;
} isr_ctx;

static BOOLEAN NTAPI line_isr(PKINTERRUPT Interrupt, PVOID Context)
{
    isr_ctx *c = Context;
    c->Irql = KeGetCurrentIrql();
    atomic_fetch_add(&c->Runs, 1);
    device_lower(2); /* reading the device's status acknowledges it */
    KeInsertQueueDpc(&c->Dpc, NULL, NULL);
    return TRUE;
}

static VOID NTAPI line_dpc(PKDPC Dpc, PVOID Context, PVOID A1, PVOID A2)
{
    KeSetEvent(&((isr_ctx *)Context)->Done, IO_NO_INCREMENT, FALSE);
}

static void test_pcie_msi_runs_the_drivers_isr_without_polling(void **state)
{
    fake_init();
    kmrig_runtime *rt = hal_runtime_on(URI, 1);
    isr_ctx c = {0};
    KeInitializeDpc(&c.Dpc, line_dpc, &c);
    KeInitializeEvent(&c.Done, NotificationEvent, FALSE);
    KIRQL irql;
    KAFFINITY aff;
    ULONG v = HalGetInterruptVector(Internal, 0, 2, 2, &irql, &aff);
    assert_int_not_equal(v, 0);
    PKINTERRUPT i = NULL;
    assert_int_equal(IoConnectInterrupt(&i, line_isr, &c, NULL, v, irql, irql, LevelSensitive,
                                        FALSE, aff, FALSE),
                     STATUS_SUCCESS);
    /* Connecting unmasked the line in the intc, over MMIO. */
    assert_int_equal(*reg(KMRIG_SOC_INTC_BASE + KMRIG_INTC_MASK) & 4, 0);
    device_raise(2);
    /* The test thread only waits: the MSI's eventfd, the transport's thread and the HAL's
     * event handler bring the ISR, then its DPC. */
    LARGE_INTEGER timeout = kmtest_ms(2000);
    assert_int_equal(KeWaitForSingleObject(&c.Done, Executive, KernelMode, FALSE, &timeout),
                     STATUS_SUCCESS);
    assert_int_equal(atomic_load(&c.Runs), 1);
    assert_int_equal(c.Irql, irql);
    /* The device dropped the line in the ISR: an access now finds nothing more to run. */
    PHYSICAL_ADDRESS pa = {.QuadPart = KMRIG_SOC_SYSID_BASE};
    volatile ULONG *sysid = MmMapIoSpace(pa, 0x100, MmNonCached);
    assert_int_equal(READ_REGISTER_ULONG(sysid), KMRIG_SOC_ID);
    assert_int_equal(atomic_load(&c.Runs), 1);
    MmUnmapIoSpace((PVOID)sysid, 0x100);
    IoDisconnectInterrupt(i);
    assert_int_equal(*reg(KMRIG_SOC_INTC_BASE + KMRIG_INTC_MASK) & 4, 4);
    kmrig_runtime_destroy(rt);
}

/* ---- tests: DMA through the IOMMU ----------------------------------------------------------- */

static PDMA_ADAPTER get_adapter(ULONG max_length, PULONG n)
{
    DEVICE_DESCRIPTION d;
    memset(&d, 0, sizeof d);
    d.Version = DEVICE_DESCRIPTION_VERSION;
    d.Master = TRUE;
    d.ScatterGather = TRUE;
    d.Dma32BitAddresses = TRUE;
    d.InterfaceType = PCIBus;
    d.MaximumLength = max_length;
    PDMA_ADAPTER a = IoGetDmaAdapter(NULL, &d, n);
    assert_non_null(a);
    return a;
}

static void test_pcie_common_buffer_is_one_iommu_mapping_until_freed(void **state)
{
    fake_init();
    kmrig_runtime *rt = hal_runtime_on(URI, 1);
    ULONG n;
    PDMA_ADAPTER a = get_adapter(PAGE_SIZE, &n);
    assert_int_equal(fk.map_calls, 0); /* map registers are entered when a transfer is mapped */
    PHYSICAL_ADDRESS la;
    PUCHAR va = AllocateCommonBuffer(a, 2 * PAGE_SIZE + 100, &la, FALSE);
    assert_non_null(va);
    /* Exactly the buffer: IOVA = its logical address, whole pages, both directions. */
    assert_int_equal(fk.nmaps, 1);
    const struct fake_map *m = iommu_entry((uint64_t)la.QuadPart);
    assert_non_null(m);
    assert_int_equal(m->vaddr, (uintptr_t)va);
    assert_int_equal(m->size, 3 * PAGE_SIZE);
    assert_int_equal(m->flags, VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE);
    /* The device writes through the IOMMU; the driver sees it. */
    static const char msg[] = "written by the device";
    assert_int_equal(device_dma_write(la.QuadPart + 2 * PAGE_SIZE + 50, msg, sizeof msg), 0);
    assert_memory_equal(va + 2 * PAGE_SIZE + 50, msg, sizeof msg);
    /* Contiguous memory too, and MmGetPhysicalAddress gives its IOVA. */
    PHYSICAL_ADDRESS highest = {.QuadPart = 0xFFFFFFFFll};
    PUCHAR cm = MmAllocateContiguousMemory(PAGE_SIZE, highest);
    assert_non_null(cm);
    m = iommu_entry((uint64_t)MmGetPhysicalAddress(cm).QuadPart);
    assert_non_null(m);
    assert_int_equal(m->vaddr, (uintptr_t)cm);
    assert_int_equal(m->size, PAGE_SIZE);
    MmFreeContiguousMemory(cm);
    assert_int_equal(fk.nmaps, 1);
    FreeCommonBuffer(a, 2 * PAGE_SIZE + 100, la, va, FALSE);
    assert_int_equal(fk.nmaps, 0);
    assert_int_equal(fk.last_unmap.iova, (uint64_t)la.QuadPart);
    assert_int_equal(fk.last_unmap.size, 3 * PAGE_SIZE);
    assert_int_equal(device_dma_write(la.QuadPart, msg, sizeof msg), -1);
    /* An IOMMU that refuses (the locked-memory limit): AllocateCommonBuffer returns NULL. */
    fk.map_errno = ENOMEM;
    assert_null(AllocateCommonBuffer(a, PAGE_SIZE, &la, FALSE));
    fk.map_errno = 0;
    va = AllocateCommonBuffer(a, PAGE_SIZE, &la, FALSE); /* the bus range was given back */
    assert_non_null(va);
    FreeCommonBuffer(a, PAGE_SIZE, la, va, FALSE);
    PutDmaAdapter(a);
    assert_int_equal(fk.nmaps, 0);
    kmrig_runtime_destroy(rt);
}

typedef struct {
    PVOID Base;
} channel_ctx;

static IO_ALLOCATION_ACTION NTAPI on_channel(PDEVICE_OBJECT Device, PIRP Irp, PVOID Base,
                                             PVOID Context)
{
    ((channel_ctx *)Context)->Base = Base;
    return KeepObject;
}

static void test_pcie_map_transfer_maps_its_pages_for_its_direction(void **state)
{
    fake_init();
    kmrig_runtime *rt = hal_runtime_on(URI, 1);
    ULONG n;
    PDMA_ADAPTER a = get_adapter(3 * PAGE_SIZE, &n);
    PUCHAR buf = ExAllocatePoolWithTag(NonPagedPool, 5 * PAGE_SIZE, 'tsET');
    PUCHAR page = (PUCHAR)(((ULONG_PTR)buf + PAGE_SIZE - 1) & ~(ULONG_PTR)(PAGE_SIZE - 1));
    PUCHAR va = page + 0x123;
    ULONG len = 2 * PAGE_SIZE; /* spans 3 pages from offset 0x123 */
    PMDL mdl = IoAllocateMdl(va, len, FALSE, FALSE, NULL);
    MmBuildMdlForNonPagedPool(mdl);
    channel_ctx c = {0};
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    assert_int_equal(AllocateAdapterChannel(a, NULL, 4, on_channel, &c), STATUS_SUCCESS);
    PHYSICAL_ADDRESS la = MapTransfer(a, mdl, c.Base, va, &len, TRUE);
    KeLowerIrql(old);
    assert_int_equal(len, 2 * PAGE_SIZE);
    assert_int_equal(la.QuadPart & (PAGE_SIZE - 1), 0x123);
    /* Write to the device: the device may read those pages, not write them. */
    assert_int_equal(fk.nmaps, 1);
    const struct fake_map *m = iommu_entry((uint64_t)la.QuadPart & ~(uint64_t)(PAGE_SIZE - 1));
    assert_non_null(m);
    assert_int_equal(m->vaddr, (uintptr_t)page);
    assert_int_equal(m->size, 3 * PAGE_SIZE);
    assert_int_equal(m->flags, VFIO_DMA_MAP_FLAG_READ);
    assert_int_equal(device_dma_write(la.QuadPart, "x", 1), -1);
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    assert_true(FlushAdapterBuffers(a, mdl, c.Base, va, len, TRUE));
    KeLowerIrql(old);
    assert_int_equal(fk.nmaps, 0); /* the flush ends the mapping */
    assert_int_equal(fk.last_unmap.size, 3 * PAGE_SIZE);
    /* Read from the device, one page: the device may write it. */
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    len = 100;
    la = MapTransfer(a, mdl, c.Base, va, &len, FALSE);
    KeLowerIrql(old);
    m = iommu_entry((uint64_t)la.QuadPart & ~(uint64_t)(PAGE_SIZE - 1));
    assert_non_null(m);
    assert_int_equal(m->size, PAGE_SIZE);
    assert_int_equal(m->flags, VFIO_DMA_MAP_FLAG_WRITE);
    assert_int_equal(device_dma_write(la.QuadPart, "device", 7), 0);
    assert_memory_equal(va, "device", 7);
    /* Mapped again without a flush (the next piece): the old mapping is replaced, not doubled. */
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    len = PAGE_SIZE;
    la = MapTransfer(a, mdl, c.Base, va + PAGE_SIZE, &len, FALSE);
    KeLowerIrql(old);
    assert_int_equal(fk.nmaps, 1);
    m = iommu_entry((uint64_t)la.QuadPart & ~(uint64_t)(PAGE_SIZE - 1));
    assert_non_null(m);
    assert_int_equal(m->vaddr, (uintptr_t)page + PAGE_SIZE);
    assert_int_equal(m->size, 2 * PAGE_SIZE);
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    FlushAdapterBuffers(a, mdl, c.Base, va + PAGE_SIZE, len, FALSE);
    FreeAdapterChannel(a);
    KeLowerIrql(old);
    assert_int_equal(fk.nmaps, 0);
    IoFreeMdl(mdl);
    ExFreePoolWithTag(buf, 'tsET');
    PutDmaAdapter(a);
    kmrig_runtime_destroy(rt);
}

typedef struct {
    PSCATTER_GATHER_LIST List;
} sg_ctx;

static VOID NTAPI on_list(PDEVICE_OBJECT Device, PIRP Irp, PSCATTER_GATHER_LIST List, PVOID Context)
{
    ((sg_ctx *)Context)->List = List;
}

static void test_pcie_scatter_gather_list_is_mapped_until_put(void **state)
{
    fake_init();
    kmrig_runtime *rt = hal_runtime_on(URI, 1);
    ULONG n;
    PDMA_ADAPTER a = get_adapter(2 * PAGE_SIZE, &n);
    PUCHAR buf = ExAllocatePoolWithTag(NonPagedPool, 3 * PAGE_SIZE, 'tsET');
    PMDL mdl = IoAllocateMdl(buf, 2 * PAGE_SIZE, FALSE, FALSE, NULL);
    MmBuildMdlForNonPagedPool(mdl);
    sg_ctx c = {0};
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    assert_int_equal(GetScatterGatherList(a, NULL, mdl, buf, 2 * PAGE_SIZE, on_list, &c, FALSE),
                     STATUS_SUCCESS);
    KeLowerIrql(old);
    assert_non_null(c.List);
    /* Every element is reachable for the device to write, through the IOMMU. */
    for (ULONG i = 0; i < c.List->NumberOfElements; i++)
        assert_int_equal(device_dma_write(c.List->Elements[i].Address.QuadPart, "sg", 2), 0);
    assert_memory_equal(buf, "sg", 2);
    assert_int_equal(fk.nmaps, 1);
    assert_int_equal(fk.maps[0].flags, VFIO_DMA_MAP_FLAG_WRITE);
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    PutScatterGatherList(a, c.List, FALSE);
    KeLowerIrql(old);
    assert_int_equal(fk.nmaps, 0);
    IoFreeMdl(mdl);
    ExFreePoolWithTag(buf, 'tsET');
    PutDmaAdapter(a);
    kmrig_runtime_destroy(rt);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_pcie_open_reads_sysid_and_intc_and_enables_the_device),
    cmocka_unit_test(test_pcie_open_refuses_bad_arguments),
    cmocka_unit_test(test_pcie_no_iommu_or_permission_are_clear_errors),
    cmocka_unit_test(test_pcie_uio_only_with_the_unsafe_flag_and_without_dma),
    cmocka_unit_test(test_pcie_register_access_reaches_the_bar_through_the_runtime),
    cmocka_unit_test(test_pcie_vanished_device_is_gone),
    cmocka_unit_test(test_pcie_kernel_request_is_gone),
    cmocka_unit_test(test_pcie_reset_is_vfio_device_reset),
    cmocka_unit_test(test_pcie_msi_eventfd_raises_the_irq_event),
    cmocka_unit_test(test_pcie_intx_stays_masked_until_the_lines_drop),
    cmocka_unit_test(test_pcie_msi_runs_the_drivers_isr_without_polling),
    cmocka_unit_test(test_pcie_common_buffer_is_one_iommu_mapping_until_freed),
    cmocka_unit_test(test_pcie_map_transfer_maps_its_pages_for_its_direction),
    cmocka_unit_test(test_pcie_scatter_gather_list_is_mapped_until_put),
};

KMTEST_MAIN(tests)

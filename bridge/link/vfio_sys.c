/* The real system calls behind the pcie transport (vfio_sys.h). Nothing but the calls. */
#define _GNU_SOURCE
#include "vfio_sys.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static int sys_open(const char *path, int flags)
{
    int fd = open(path, flags | O_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

static int sys_close(int fd)
{
    return close(fd) < 0 ? -errno : 0;
}

static int sys_ioctl(int fd, unsigned long request, void *arg)
{
    int rc = ioctl(fd, request, arg);
    return rc < 0 ? -errno : rc;
}

static int sys_mmap(void **out, size_t len, int prot, int fd, int64_t offset)
{
    void *p = mmap(NULL, len, prot, MAP_SHARED, fd, (off_t)offset);
    if (p == MAP_FAILED)
        return -errno;
    *out = p;
    return 0;
}

static int sys_munmap(void *addr, size_t len)
{
    return munmap(addr, len) < 0 ? -errno : 0;
}

static ssize_t sys_pread(int fd, void *buf, size_t n, int64_t offset)
{
    ssize_t r = pread(fd, buf, n, (off_t)offset);
    return r < 0 ? -errno : r;
}

static ssize_t sys_pwrite(int fd, const void *buf, size_t n, int64_t offset)
{
    ssize_t r = pwrite(fd, buf, n, (off_t)offset);
    return r < 0 ? -errno : r;
}

static ssize_t sys_read(int fd, void *buf, size_t n)
{
    ssize_t r = read(fd, buf, n);
    return r < 0 ? -errno : r;
}

static ssize_t sys_write(int fd, const void *buf, size_t n)
{
    ssize_t r = write(fd, buf, n);
    return r < 0 ? -errno : r;
}

static ssize_t sys_readlink(const char *path, char *buf, size_t n)
{
    if (!n)
        return -EINVAL;
    ssize_t r = readlink(path, buf, n - 1);
    if (r < 0)
        return -errno;
    buf[r] = 0;
    return r;
}

static int sys_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) < 0 ? -errno : 0;
}

static int sys_first_entry(const char *path, char *name, size_t n)
{
    DIR *d = opendir(path);
    if (!d)
        return -errno;
    int rc = -ENOENT;
    for (struct dirent *e; (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(name, n, "%s", e->d_name);
        rc = 0;
        break;
    }
    closedir(d);
    return rc;
}

static int sys_eventfd(void)
{
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

static const struct kmrig_vfio_sys real_sys = {
    .open = sys_open,
    .close = sys_close,
    .ioctl = sys_ioctl,
    .mmap = sys_mmap,
    .munmap = sys_munmap,
    .pread = sys_pread,
    .pwrite = sys_pwrite,
    .read = sys_read,
    .write = sys_write,
    .readlink = sys_readlink,
    .exists = sys_exists,
    .first_entry = sys_first_entry,
    .eventfd = sys_eventfd,
};

const struct kmrig_vfio_sys *kmrig_vfio_sys(void)
{
    return &real_sys;
}

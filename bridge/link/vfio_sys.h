/* The system calls of the pcie transport (link_pcie.c), behind one ops struct so that the
 * transport's logic runs in tests against a fake kernel (tests/hal/test_pcie.c) and only this
 * thin layer (vfio_sys.c) goes untested without a board.
 *
 * Every hook is the plain system call of the same name; errors come back as -errno (never through
 * errno). The file descriptors a hook returns are only ever passed back to the same ops, except
 * those of eventfd() and of an open() of /dev/uioN: the transport poll()s those directly, so a
 * fake must return real pollable descriptors for them (an eventfd does).
 *
 * kmrig_vfio_sys() is the seam: it returns the real system calls; a test links with
 * -Wl,--wrap=kmrig_vfio_sys and returns its fake. Called once per open of a pcie target; the
 * struct must live as long as the link. */
#ifndef KMRIG_VFIO_SYS_H
#define KMRIG_VFIO_SYS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct kmrig_vfio_sys {
    int (*open)(const char *path, int flags); /* fd, or -errno */
    int (*close)(int fd);
    /* ioctl(2): its result (>= 0), or -errno. */
    int (*ioctl)(int fd, unsigned long request, void *arg);
    /* mmap(2) of a shared mapping: 0 and *out, or -errno. */
    int (*mmap)(void **out, size_t len, int prot, int fd, int64_t offset);
    int (*munmap)(void *addr, size_t len);
    ssize_t (*pread)(int fd, void *buf, size_t n, int64_t offset);
    ssize_t (*pwrite)(int fd, const void *buf, size_t n, int64_t offset);
    ssize_t (*read)(int fd, void *buf, size_t n);
    ssize_t (*write)(int fd, const void *buf, size_t n);
    /* readlink(2); the result is NUL-terminated (truncated to n - 1). */
    ssize_t (*readlink)(const char *path, char *buf, size_t n);
    /* 0 when path exists, else -errno (stat(2)). */
    int (*exists)(const char *path);
    /* The first entry of directory path other than "." and "..": 0, or -errno (-ENOENT when it
     * is empty). */
    int (*first_entry)(const char *path, char *name, size_t n);
    /* A non-blocking, close-on-exec eventfd (counter 0), or -errno. */
    int (*eventfd)(void);
};

const struct kmrig_vfio_sys *kmrig_vfio_sys(void);

#endif

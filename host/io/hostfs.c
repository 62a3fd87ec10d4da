/*
 * The host file system: a built-in file system driver (\Driver\KmrigHostFs) whose one volume,
 * \Device\KmrigHostVolume, is a host directory (kmrig_config.sandbox_root). \GLOBAL??\C: (so
 * \??\C: and \DosDevices\C:) and \SystemRoot (C:\Windows) link to it. It answers IRP_MJ_CREATE,
 * READ, WRITE, QUERY_INFORMATION, SET_INFORMATION, CLEANUP and CLOSE like an NT file system:
 * FsContext is the open file's FCB (one per host inode: share access, delete pending, its path),
 * FsContext2 the handle's CCB (a host descriptor and the access granted).
 *
 * Confinement: every name is parsed here, component by component: "." and "..", empty
 * components, ':' (alternate data streams), NUL and the other characters NT forbids in names are
 * refused (STATUS_OBJECT_NAME_INVALID). Directories are opened beneath the root with openat2
 * (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS) where the kernel has it, else one
 * component at a time with O_NOFOLLOW; the last component is opened O_NOFOLLOW relative to its
 * directory. A symbolic link anywhere in a path, and anything that is not a regular file or a
 * directory (FIFOs, devices, sockets), is refused with STATUS_ACCESS_DENIED and a log line.
 * Names are case sensitive, as the host file system is.
 *
 * Locking: one host mutex per volume guards the FCB list, held for a few instructions, never
 * across a call out of this file. Host system calls run on the calling thread at PASSIVE_LEVEL.
 */
#define _GNU_SOURCE
#include "io.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define HFS_NAME_MAX 255 /* UTF-16 units per component, as NTFS */
#define HFS_NT_EPOCH_OFFSET 116444736000000000LL

typedef struct _HFS_VOLUME {
    int RootFd; /* O_RDONLY|O_DIRECTORY descriptor of the sandbox root; -1: no sandbox */
    BOOLEAN UseOpenat2;
    pthread_mutex_t Lock;
    LIST_ENTRY Fcbs;
} HFS_VOLUME, *PHFS_VOLUME;

typedef struct _HFS_FCB {
    LIST_ENTRY Link; /* HFS_VOLUME.Fcbs while Linked */
    BOOLEAN Linked;
    BOOLEAN Directory;
    BOOLEAN DeletePending;
    dev_t Dev;
    ino_t Ino;
    ULONG References;   /* file objects (CCBs) on it */
    ULONG CleanupCount; /* of those, not yet cleaned up */
    SHARE_ACCESS Share;
    char *Path; /* relative to the root, '/'-separated; "" is the root */
} HFS_FCB, *PHFS_FCB;

typedef struct _HFS_CCB {
    int Fd;
    ACCESS_MASK Access;
    BOOLEAN DeleteOnClose;
} HFS_CCB, *PHFS_CCB;

static const WCHAR HfsDeviceName[] = L"\\Device\\KmrigHostVolume";

static PHFS_VOLUME HfsVolume(PDEVICE_OBJECT DeviceObject)
{
    return DeviceObject->DeviceExtension;
}

static NTSTATUS HfsComplete(PIRP Irp, NTSTATUS Status, ULONG_PTR Information)
{
    Irp->IoStatus.Status = Status;
    Irp->IoStatus.Information = Information;
    IoCompleteRequest(Irp, IO_DISK_INCREMENT);
    return Status;
}

static NTSTATUS HfsStatusOfErrno(int e)
{
    switch (e) {
    case ENOENT:
        return STATUS_OBJECT_NAME_NOT_FOUND;
    case ENOTDIR:
        return STATUS_OBJECT_PATH_NOT_FOUND;
    case EEXIST:
        return STATUS_OBJECT_NAME_COLLISION;
    case EACCES:
    case EPERM:
    case ELOOP:
    case EXDEV:
        return STATUS_ACCESS_DENIED;
    case EROFS:
        return STATUS_MEDIA_WRITE_PROTECTED;
    case ENOSPC:
    case EDQUOT:
    case EFBIG:
        return STATUS_DISK_FULL;
    case ENAMETOOLONG:
        return STATUS_NAME_TOO_LONG;
    case EISDIR:
        return STATUS_FILE_IS_A_DIRECTORY;
    case ENOTEMPTY:
        return STATUS_DIRECTORY_NOT_EMPTY;
    case EBUSY:
        return STATUS_SHARING_VIOLATION;
    case ENOMEM:
    case EMFILE:
    case ENFILE:
        return STATUS_INSUFFICIENT_RESOURCES;
    case EINVAL:
        return STATUS_INVALID_PARAMETER;
    case EIO:
        return STATUS_IO_DEVICE_ERROR;
    default:
        return STATUS_UNSUCCESSFUL;
    }
}

static NTSTATUS HfsUnsupportedClass(const char *What, FILE_INFORMATION_CLASS Class)
{
    KmLogError("hostfs: %s of information class %d is not implemented in kmrig", What, (int)Class);
    return STATUS_NOT_IMPLEMENTED;
}

static NTSTATUS HfsRefuseSymlink(const char *Path)
{
    KmLogWarn("hostfs: \"%s\": a symbolic link in the sandbox is refused", Path);
    return STATUS_ACCESS_DENIED;
}

/* ---- names ---- */

static BOOLEAN HfsValidChar(WCHAR c)
{
    return c >= 0x20 && c != L'"' && c != L'*' && c != L'/' && c != L':' && c != L'<' &&
           c != L'>' && c != L'?' && c != L'\\' && c != L'|';
}

/* Appends one NT name component to Out (at *Used) as UTF-8, after a '/' unless at the start. */
static NTSTATUS HfsAppendComponent(char *Out, size_t *Used, PCWCH Name, USHORT Chars)
{
    if (!Chars || Chars > HFS_NAME_MAX)
        return STATUS_OBJECT_NAME_INVALID;
    if ((Chars == 1 && Name[0] == L'.') || (Chars == 2 && Name[0] == L'.' && Name[1] == L'.'))
        return STATUS_OBJECT_NAME_INVALID;
    size_t n = *Used;
    if (n) {
        if (n + 1 >= PATH_MAX)
            return STATUS_NAME_TOO_LONG;
        Out[n++] = '/';
    }
    for (USHORT i = 0; i < Chars; i++) {
        ULONG c = Name[i];
        if (!HfsValidChar((WCHAR)c))
            return STATUS_OBJECT_NAME_INVALID;
        if (c >= 0xD800 && c <= 0xDBFF) {
            if (i + 1 >= Chars || Name[i + 1] < 0xDC00 || Name[i + 1] > 0xDFFF)
                return STATUS_OBJECT_NAME_INVALID;
            c = 0x10000 + ((c - 0xD800) << 10) + (Name[++i] - 0xDC00);
        } else if (c >= 0xDC00 && c <= 0xDFFF) {
            return STATUS_OBJECT_NAME_INVALID;
        }
        if (n + 4 >= PATH_MAX)
            return STATUS_NAME_TOO_LONG;
        if (c < 0x80) {
            Out[n++] = (char)c;
        } else if (c < 0x800) {
            Out[n++] = (char)(0xC0 | (c >> 6));
            Out[n++] = (char)(0x80 | (c & 0x3F));
        } else if (c < 0x10000) {
            Out[n++] = (char)(0xE0 | (c >> 12));
            Out[n++] = (char)(0x80 | ((c >> 6) & 0x3F));
            Out[n++] = (char)(0x80 | (c & 0x3F));
        } else {
            Out[n++] = (char)(0xF0 | (c >> 18));
            Out[n++] = (char)(0x80 | ((c >> 12) & 0x3F));
            Out[n++] = (char)(0x80 | ((c >> 6) & 0x3F));
            Out[n++] = (char)(0x80 | (c & 0x3F));
        }
    }
    Out[n] = 0;
    *Used = n;
    return STATUS_SUCCESS;
}

/* Builds the host path (relative to the root) of an NT name: from the root when it starts with a
 * backslash, else below Base. One trailing backslash is allowed (*Trailing). The result is
 * malloc'd. */
static NTSTATUS HfsBuildPath(const char *Base, PCWCH Name, USHORT Chars, char **Out,
                             BOOLEAN *Trailing)
{
    char *p = malloc(PATH_MAX);
    if (!p)
        return STATUS_INSUFFICIENT_RESOURCES;
    size_t used = 0;
    USHORT i = 0;
    *Trailing = FALSE;
    if (Chars && Name[0] == L'\\') {
        i = 1;
    } else if (Base) {
        used = strlen(Base);
        if (used >= PATH_MAX) {
            free(p);
            return STATUS_NAME_TOO_LONG;
        }
        memcpy(p, Base, used + 1);
    }
    p[used] = 0;
    while (i < Chars) {
        USHORT s = i;
        while (i < Chars && Name[i] != L'\\')
            i++;
        NTSTATUS st = HfsAppendComponent(p, &used, Name + s, (USHORT)(i - s));
        if (!NT_SUCCESS(st)) {
            free(p);
            return st;
        }
        if (i < Chars && ++i == Chars)
            *Trailing = TRUE;
    }
    *Out = p;
    return STATUS_SUCCESS;
}

/* Splits Path at its last '/': *Parent is a malloc'd copy of the directory part ("" for the
 * root), *Last points into Path. */
static NTSTATUS HfsSplit(const char *Path, char **Parent, const char **Last)
{
    const char *slash = strrchr(Path, '/');
    size_t n = slash ? (size_t)(slash - Path) : 0;
    *Parent = malloc(n + 1);
    if (!*Parent)
        return STATUS_INSUFFICIENT_RESOURCES;
    memcpy(*Parent, Path, n);
    (*Parent)[n] = 0;
    *Last = slash ? slash + 1 : Path;
    return STATUS_SUCCESS;
}

/* Opens a directory below the root (O_PATH), refusing symbolic links and escapes. */
static int HfsOpenDirectory(PHFS_VOLUME v, const char *Rel, NTSTATUS *Status)
{
    if (!*Rel) {
        int fd = fcntl(v->RootFd, F_DUPFD_CLOEXEC, 0);
        if (fd < 0)
            *Status = HfsStatusOfErrno(errno);
        return fd;
    }
    if (v->UseOpenat2) {
        struct open_how how = {.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
                               .resolve =
                                   RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
        int fd = (int)syscall(SYS_openat2, v->RootFd, Rel, &how, sizeof how);
        if (fd >= 0)
            return fd;
        int e = errno;
        if (e == ELOOP || e == EXDEV)
            *Status = HfsRefuseSymlink(Rel);
        else if (e == ENOENT || e == ENOTDIR)
            *Status = STATUS_OBJECT_PATH_NOT_FOUND;
        else
            *Status = HfsStatusOfErrno(e);
        return -1;
    }
    /* No openat2: one component at a time, never following a link. */
    char *copy = strdup(Rel);
    if (!copy) {
        *Status = STATUS_INSUFFICIENT_RESOURCES;
        return -1;
    }
    int fd = fcntl(v->RootFd, F_DUPFD_CLOEXEC, 0);
    char *save = NULL;
    for (char *c = strtok_r(copy, "/", &save); fd >= 0 && c; c = strtok_r(NULL, "/", &save)) {
        int next = openat(fd, c, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (next < 0) {
            int e = errno;
            struct stat st;
            if (fstatat(fd, c, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
                *Status = HfsRefuseSymlink(Rel);
            else if (e == ENOENT || e == ENOTDIR)
                *Status = STATUS_OBJECT_PATH_NOT_FOUND;
            else
                *Status = HfsStatusOfErrno(e);
        }
        close(fd);
        fd = next;
    }
    if (fd < 0 && NT_SUCCESS(*Status))
        *Status = HfsStatusOfErrno(errno);
    free(copy);
    return fd;
}

/* ---- FCBs ---- */

/* Finds or makes the FCB of an inode (volume lock held). */
static PHFS_FCB HfsFindFcb(PHFS_VOLUME v, const struct stat *St, const char *Path)
{
    for (PLIST_ENTRY e = v->Fcbs.Flink; e != &v->Fcbs; e = e->Flink) {
        PHFS_FCB f = CONTAINING_RECORD(e, HFS_FCB, Link);
        if (f->Dev == St->st_dev && f->Ino == St->st_ino)
            return f;
    }
    PHFS_FCB f = calloc(1, sizeof *f);
    if (!f || !(f->Path = strdup(Path))) {
        free(f);
        return NULL;
    }
    f->Dev = St->st_dev;
    f->Ino = St->st_ino;
    f->Directory = S_ISDIR(St->st_mode) != 0;
    f->Linked = TRUE;
    InsertTailList(&v->Fcbs, &f->Link);
    return f;
}

static VOID HfsReleaseFcb(PHFS_VOLUME v, PHFS_FCB f)
{
    if (--f->References)
        return;
    if (f->Linked)
        RemoveEntryList(&f->Link);
    free(f->Path);
    free(f);
}

static VOID HfsUnlinkFcb(PHFS_FCB f)
{
    if (f->Linked) {
        RemoveEntryList(&f->Link);
        f->Linked = FALSE;
    }
}

/* ---- IRP_MJ_CREATE ---- */

static BOOLEAN HfsWantsWrite(ACCESS_MASK Access)
{
    return (Access & (FILE_WRITE_DATA | FILE_APPEND_DATA)) != 0;
}

static NTSTATUS HfsCreateInner(PHFS_VOLUME v, PIRP Irp, PIO_STACK_LOCATION Sl, ULONG_PTR *Info)
{
    PFILE_OBJECT f = Sl->FileObject;
    ULONG disposition = Sl->Parameters.Create.Options >> 24;
    ULONG options = Sl->Parameters.Create.Options & 0x00FFFFFF;
    ACCESS_MASK access = Sl->Parameters.Create.SecurityContext->DesiredAccess;
    if (Sl->Parameters.Create.EaLength)
        return STATUS_EAS_NOT_SUPPORTED;
    if (options & FILE_OPEN_BY_FILE_ID) {
        KmLogError("hostfs: FILE_OPEN_BY_FILE_ID is not implemented in kmrig");
        return STATUS_NOT_IMPLEMENTED;
    }
    const char *base = "";
    if (f->RelatedFileObject) {
        PHFS_FCB rel = f->RelatedFileObject->FsContext;
        if (f->RelatedFileObject->DeviceObject != f->DeviceObject || !rel || !rel->Directory)
            return STATUS_INVALID_PARAMETER;
        base = rel->Path;
    } else if (!f->FileName.Length) {
        KmLogWarn("hostfs: opening the volume itself is not supported; open \\??\\C:\\ for its "
                  "root directory");
        return STATUS_ACCESS_DENIED;
    }
    char *path;
    BOOLEAN trailing;
    NTSTATUS s = HfsBuildPath(base, f->FileName.Buffer, f->FileName.Length / sizeof(WCHAR), &path,
                              &trailing);
    if (!NT_SUCCESS(s))
        return s;
    int fd = -1, dfd = -1;
    char *parent = NULL;
    const char *last = NULL;
    struct stat st;
    BOOLEAN exists, created = FALSE, truncate = FALSE;
    if (!*path) { /* the root directory */
        if (disposition != FILE_OPEN && disposition != FILE_OPEN_IF) {
            s = disposition == FILE_CREATE ? STATUS_OBJECT_NAME_COLLISION : STATUS_ACCESS_DENIED;
            goto out;
        }
        if (options & FILE_NON_DIRECTORY_FILE) {
            s = STATUS_FILE_IS_A_DIRECTORY;
            goto out;
        }
        if (options & FILE_DELETE_ON_CLOSE) {
            s = STATUS_CANNOT_DELETE;
            goto out;
        }
        fd = openat(v->RootFd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || fstat(fd, &st) < 0) {
            s = HfsStatusOfErrno(errno);
            goto out;
        }
        *Info = FILE_OPENED;
    } else {
        s = HfsSplit(path, &parent, &last);
        if (!NT_SUCCESS(s))
            goto out;
        dfd = HfsOpenDirectory(v, parent, &s);
        if (dfd < 0)
            goto out;
        exists = fstatat(dfd, last, &st, AT_SYMLINK_NOFOLLOW) == 0;
        if (!exists && errno != ENOENT) {
            s = HfsStatusOfErrno(errno);
            goto out;
        }
        if (exists && S_ISLNK(st.st_mode)) {
            s = HfsRefuseSymlink(path);
            goto out;
        }
        if (exists && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
            KmLogWarn("hostfs: \"%s\" is neither a file nor a directory; refused", path);
            s = STATUS_ACCESS_DENIED;
            goto out;
        }
        if (trailing && (exists ? !S_ISDIR(st.st_mode) : !(options & FILE_DIRECTORY_FILE))) {
            s = STATUS_OBJECT_NAME_INVALID;
            goto out;
        }
        if (exists) {
            BOOLEAN dir = S_ISDIR(st.st_mode) != 0;
            truncate = disposition == FILE_SUPERSEDE || disposition == FILE_OVERWRITE ||
                       disposition == FILE_OVERWRITE_IF;
            if (disposition == FILE_CREATE) {
                s = STATUS_OBJECT_NAME_COLLISION;
                *Info = FILE_EXISTS;
            } else if (dir && (options & FILE_NON_DIRECTORY_FILE))
                s = STATUS_FILE_IS_A_DIRECTORY;
            else if (!dir && (options & FILE_DIRECTORY_FILE))
                s = STATUS_NOT_A_DIRECTORY;
            else if (dir && truncate)
                s = STATUS_FILE_IS_A_DIRECTORY;
            else if (!(st.st_mode & S_IWUSR) && (options & FILE_DELETE_ON_CLOSE))
                s = STATUS_CANNOT_DELETE;
            else if (!(st.st_mode & S_IWUSR) && !dir && (HfsWantsWrite(access) || truncate))
                s = STATUS_ACCESS_DENIED; /* FILE_ATTRIBUTE_READONLY, whoever the host user is */
            if (!NT_SUCCESS(s))
                goto out;
            int flags = O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK;
            flags |= dir ? O_RDONLY | O_DIRECTORY
                         : (HfsWantsWrite(access) || truncate ? O_RDWR : O_RDONLY);
            fd = openat(dfd, last, flags);
            *Info = disposition == FILE_SUPERSEDE ? FILE_SUPERSEDED
                    : truncate                    ? FILE_OVERWRITTEN
                                                  : FILE_OPENED;
        } else {
            if (disposition == FILE_OPEN || disposition == FILE_OVERWRITE) {
                s = STATUS_OBJECT_NAME_NOT_FOUND;
                *Info = FILE_DOES_NOT_EXIST;
                goto out;
            }
            if (options & FILE_DIRECTORY_FILE) {
                if (mkdirat(dfd, last, 0777) == 0)
                    fd = openat(dfd, last, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            } else {
                mode_t mode =
                    (Sl->Parameters.Create.FileAttributes & FILE_ATTRIBUTE_READONLY) ? 0444 : 0666;
                fd = openat(dfd, last, O_CREAT | O_EXCL | O_RDWR | O_NOFOLLOW | O_CLOEXEC, mode);
            }
            created = fd >= 0;
            *Info = created ? FILE_CREATED : errno == EEXIST ? FILE_EXISTS : 0;
        }
        if (fd < 0) {
            s = errno == ELOOP ? HfsRefuseSymlink(path) : HfsStatusOfErrno(errno);
            goto out;
        }
        if (fstat(fd, &st) < 0 || (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))) {
            s = STATUS_ACCESS_DENIED; /* replaced under us by something else */
            goto out;
        }
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
        if (created && Irp->Overlay.AllocationSize.QuadPart > 0 && S_ISREG(st.st_mode))
            (void)fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, Irp->Overlay.AllocationSize.QuadPart);
    }

    PHFS_CCB ccb = calloc(1, sizeof *ccb);
    if (!ccb) {
        s = STATUS_INSUFFICIENT_RESOURCES;
        goto out;
    }
    pthread_mutex_lock(&v->Lock);
    PHFS_FCB fcb = HfsFindFcb(v, &st, path);
    if (!fcb)
        s = STATUS_INSUFFICIENT_RESOURCES;
    else if (fcb->DeletePending)
        s = STATUS_DELETE_PENDING;
    else
        s = IoCheckShareAccess(access, Sl->Parameters.Create.ShareAccess, f, &fcb->Share, TRUE);
    if (NT_SUCCESS(s)) {
        fcb->References++;
        fcb->CleanupCount++;
    } else if (fcb && !fcb->References) {
        HfsUnlinkFcb(fcb);
        free(fcb->Path);
        free(fcb);
    }
    pthread_mutex_unlock(&v->Lock);
    if (!NT_SUCCESS(s)) {
        free(ccb);
        goto out;
    }
    if (truncate && ftruncate(fd, 0) < 0) {
        s = HfsStatusOfErrno(errno);
        pthread_mutex_lock(&v->Lock);
        IoRemoveShareAccess(f, &fcb->Share);
        fcb->CleanupCount--;
        HfsReleaseFcb(v, fcb);
        pthread_mutex_unlock(&v->Lock);
        free(ccb);
        goto out;
    }
    ccb->Fd = fd;
    ccb->Access = access;
    ccb->DeleteOnClose = (options & FILE_DELETE_ON_CLOSE) != 0;
    fd = -1;
    f->FsContext = fcb;
    f->FsContext2 = ccb;
out:
    if (!NT_SUCCESS(s) && created && last) /* nobody saw it: take it back */
        unlinkat(dfd, last, (options & FILE_DIRECTORY_FILE) ? AT_REMOVEDIR : 0);
    if (fd >= 0)
        close(fd);
    if (dfd >= 0)
        close(dfd);
    free(parent);
    free(path);
    return s;
}

static NTSTATUS NTAPI HfsCreate(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PHFS_VOLUME v = HfsVolume(DeviceObject);
    if (v->RootFd < 0) {
        KmLogWarn("hostfs: host file access refused: no sandbox_root in the runtime configuration");
        return HfsComplete(Irp, STATUS_ACCESS_DENIED, 0);
    }
    ULONG_PTR info = 0;
    NTSTATUS s = HfsCreateInner(v, Irp, IoGetCurrentIrpStackLocation(Irp), &info);
    /* A failed create reports FILE_EXISTS or FILE_DOES_NOT_EXIST where that is why. */
    return HfsComplete(Irp, s,
                       NT_SUCCESS(s) || s == STATUS_OBJECT_NAME_COLLISION ||
                               s == STATUS_OBJECT_NAME_NOT_FOUND
                           ? info
                           : 0);
}

/* The CCB of a file object of this volume; NULL for anything else (a file object of another
 * device, or none, in an IRP a driver built). */
static PHFS_CCB HfsCcbOf(PDEVICE_OBJECT DeviceObject, PFILE_OBJECT FileObject)
{
    return FileObject && FileObject->DeviceObject == DeviceObject ? FileObject->FsContext2 : NULL;
}

/* ---- read, write ---- */

static PVOID HfsBuffer(PIRP Irp)
{
    if (Irp->MdlAddress)
        return MmGetSystemAddressForMdlSafe(Irp->MdlAddress, NormalPagePriority);
    if (Irp->Flags & IRP_BUFFERED_IO)
        return Irp->AssociatedIrp.SystemBuffer;
    return Irp->UserBuffer;
}

static NTSTATUS NTAPI HfsReadWrite(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(Irp);
    PFILE_OBJECT f = sl->FileObject;
    PHFS_CCB ccb = HfsCcbOf(DeviceObject, f);
    PHFS_FCB fcb = ccb ? f->FsContext : NULL;
    BOOLEAN read = sl->MajorFunction == IRP_MJ_READ;
    ULONG length = sl->Parameters.Read.Length;
    LARGE_INTEGER offset = sl->Parameters.Read.ByteOffset;
    if (!ccb)
        return HfsComplete(Irp, STATUS_INVALID_DEVICE_REQUEST, 0);
    if (fcb->Directory)
        return HfsComplete(Irp, STATUS_INVALID_DEVICE_REQUEST, 0);
    if (read ? !(ccb->Access & (FILE_READ_DATA | FILE_EXECUTE)) : !HfsWantsWrite(ccb->Access))
        return HfsComplete(Irp, STATUS_ACCESS_DENIED, 0);
    if (offset.HighPart == -1 && offset.LowPart == FILE_USE_FILE_POINTER_POSITION)
        offset = f->CurrentByteOffset;
    struct stat st;
    if (fstat(ccb->Fd, &st) < 0)
        return HfsComplete(Irp, HfsStatusOfErrno(errno), 0);
    BOOLEAN toEnd =
        !read && ((offset.HighPart == -1 && offset.LowPart == FILE_WRITE_TO_END_OF_FILE) ||
                  !(ccb->Access & FILE_WRITE_DATA));
    if (toEnd)
        offset.QuadPart = st.st_size;
    if (offset.QuadPart < 0 || offset.QuadPart > LLONG_MAX - length)
        return HfsComplete(Irp, STATUS_INVALID_PARAMETER, 0);
    if (!length)
        return HfsComplete(Irp, STATUS_SUCCESS, 0);
    if (read && offset.QuadPart >= st.st_size)
        return HfsComplete(Irp, STATUS_END_OF_FILE, 0);
    PUCHAR buf = HfsBuffer(Irp);
    if (!buf)
        return HfsComplete(Irp, STATUS_INSUFFICIENT_RESOURCES, 0);
    ULONG done = 0;
    while (done < length) {
        ssize_t n = read ? pread(ccb->Fd, buf + done, length - done, offset.QuadPart + done)
                         : pwrite(ccb->Fd, buf + done, length - done, offset.QuadPart + done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            if (!done)
                return HfsComplete(Irp, HfsStatusOfErrno(errno), 0);
            break;
        }
        if (n == 0)
            break;
        done += (ULONG)n;
    }
    if (toEnd && (f->Flags & FO_SYNCHRONOUS_IO))
        f->CurrentByteOffset.QuadPart = offset.QuadPart + done;
    return HfsComplete(Irp, STATUS_SUCCESS, done);
}

/* ---- query information ---- */

static LONGLONG HfsNtTime(struct statx_timestamp t)
{
    return t.tv_sec * 10000000LL + t.tv_nsec / 100 + HFS_NT_EPOCH_OFFSET;
}

static ULONG HfsAttributesOf(const struct statx *St)
{
    ULONG a = 0;
    if (S_ISDIR(St->stx_mode))
        a |= FILE_ATTRIBUTE_DIRECTORY;
    if (!(St->stx_mode & S_IWUSR))
        a |= FILE_ATTRIBUTE_READONLY;
    return a ? a : FILE_ATTRIBUTE_NORMAL;
}

/* The file's name from the volume root ("\dir\file.txt") into Buffer, as UTF-16; returns the
 * length in bytes of the whole name, copying at most Room bytes. */
static ULONG HfsNtName(const char *Path, PWCH Buffer, ULONG Room)
{
    ULONG n = 0;
    const unsigned char *p = (const unsigned char *)Path;
    WCHAR first = L'\\';
    if (n + 2 <= Room)
        Buffer[n / 2] = first;
    n += 2;
    while (*p) {
        ULONG c = *p++;
        if (c >= 0xF0) {
            c = (c & 0x07) << 18 | (p[0] & 0x3F) << 12 | (p[1] & 0x3F) << 6 | (p[2] & 0x3F);
            p += 3;
        } else if (c >= 0xE0) {
            c = (c & 0x0F) << 12 | (p[0] & 0x3F) << 6 | (p[1] & 0x3F);
            p += 2;
        } else if (c >= 0xC0) {
            c = (c & 0x1F) << 6 | (p[0] & 0x3F);
            p += 1;
        } else if (c == '/') {
            c = L'\\';
        }
        if (c >= 0x10000) {
            c -= 0x10000;
            if (n + 2 <= Room)
                Buffer[n / 2] = (WCHAR)(0xD800 + (c >> 10));
            n += 2;
            c = 0xDC00 + (c & 0x3FF);
        }
        if (n + 2 <= Room)
            Buffer[n / 2] = (WCHAR)c;
        n += 2;
    }
    return n;
}

static NTSTATUS NTAPI HfsQueryInformation(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PHFS_VOLUME v = HfsVolume(DeviceObject);
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(Irp);
    PFILE_OBJECT f = sl->FileObject;
    PHFS_CCB ccb = HfsCcbOf(DeviceObject, f);
    PHFS_FCB fcb = ccb ? f->FsContext : NULL;
    ULONG length = sl->Parameters.QueryFile.Length;
    PVOID buf = Irp->AssociatedIrp.SystemBuffer;
    if (!ccb)
        return HfsComplete(Irp, STATUS_INVALID_DEVICE_REQUEST, 0);
    struct statx st;
    if (statx(ccb->Fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS | STATX_BTIME, &st) < 0)
        return HfsComplete(Irp, HfsStatusOfErrno(errno), 0);
    switch (sl->Parameters.QueryFile.FileInformationClass) {
    case FileBasicInformation: {
        PFILE_BASIC_INFORMATION b = buf;
        b->CreationTime.QuadPart =
            HfsNtTime((st.stx_mask & STATX_BTIME) ? st.stx_btime : st.stx_mtime);
        b->LastAccessTime.QuadPart = HfsNtTime(st.stx_atime);
        b->LastWriteTime.QuadPart = HfsNtTime(st.stx_mtime);
        b->ChangeTime.QuadPart = HfsNtTime(st.stx_ctime);
        b->FileAttributes = HfsAttributesOf(&st);
        return HfsComplete(Irp, STATUS_SUCCESS, sizeof *b);
    }
    case FileStandardInformation: {
        PFILE_STANDARD_INFORMATION s = buf;
        BOOLEAN dir = S_ISDIR(st.stx_mode) != 0;
        s->AllocationSize.QuadPart = dir ? 0 : (LONGLONG)st.stx_blocks * 512;
        s->EndOfFile.QuadPart = dir ? 0 : (LONGLONG)st.stx_size;
        s->NumberOfLinks = st.stx_nlink;
        pthread_mutex_lock(&v->Lock);
        s->DeletePending = fcb->DeletePending;
        pthread_mutex_unlock(&v->Lock);
        s->Directory = dir;
        return HfsComplete(Irp, STATUS_SUCCESS, sizeof *s);
    }
    case FileInternalInformation:
        ((PFILE_INTERNAL_INFORMATION)buf)->IndexNumber.QuadPart = (LONGLONG)st.stx_ino;
        return HfsComplete(Irp, STATUS_SUCCESS, sizeof(FILE_INTERNAL_INFORMATION));
    case FileEaInformation:
        *(PULONG)buf = 0; /* no extended attributes */
        return HfsComplete(Irp, STATUS_SUCCESS, sizeof(ULONG));
    case FilePositionInformation:
        ((PFILE_POSITION_INFORMATION)buf)->CurrentByteOffset = f->CurrentByteOffset;
        return HfsComplete(Irp, STATUS_SUCCESS, sizeof(FILE_POSITION_INFORMATION));
    case FileNameInformation: {
        PFILE_NAME_INFORMATION n = buf;
        ULONG room = length - FIELD_OFFSET(FILE_NAME_INFORMATION, FileName);
        pthread_mutex_lock(&v->Lock);
        ULONG full = HfsNtName(fcb->Path, n->FileName, room);
        pthread_mutex_unlock(&v->Lock);
        n->FileNameLength = full;
        ULONG copied = full <= room ? full : room & ~1u;
        return HfsComplete(Irp, full <= room ? STATUS_SUCCESS : STATUS_BUFFER_OVERFLOW,
                           FIELD_OFFSET(FILE_NAME_INFORMATION, FileName) + copied);
    }
    default:
        return HfsComplete(
            Irp, HfsUnsupportedClass("query", sl->Parameters.QueryFile.FileInformationClass), 0);
    }
}

/* ---- set information ---- */

static BOOLEAN HfsDirectoryEmpty(int Fd)
{
    int dup = openat(Fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = dup >= 0 ? fdopendir(dup) : NULL;
    if (!d) {
        if (dup >= 0)
            close(dup);
        return FALSE;
    }
    BOOLEAN empty = TRUE;
    for (struct dirent *e; empty && (e = readdir(d));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            empty = FALSE;
    closedir(d);
    return empty;
}

static NTSTATUS HfsSetBasic(PHFS_CCB Ccb, PFILE_BASIC_INFORMATION B)
{
    if (!(Ccb->Access & FILE_WRITE_ATTRIBUTES))
        return STATUS_ACCESS_DENIED;
    if (B->FileAttributes & ~FILE_ATTRIBUTE_VALID_SET_FLAGS)
        return STATUS_INVALID_PARAMETER;
    struct timespec ts[2] = {{0, UTIME_OMIT}, {0, UTIME_OMIT}};
    LONGLONG t[2] = {B->LastAccessTime.QuadPart, B->LastWriteTime.QuadPart};
    for (int i = 0; i < 2; i++)
        if (t[i] > 0) {
            LONGLONG u = t[i] - HFS_NT_EPOCH_OFFSET;
            ts[i].tv_sec = u >= 0 ? u / 10000000 : -((-u + 9999999) / 10000000);
            ts[i].tv_nsec = (long)((u - ts[i].tv_sec * 10000000LL) * 100);
        }
    if (futimens(Ccb->Fd, ts) < 0)
        return HfsStatusOfErrno(errno);
    if (B->FileAttributes) {
        struct stat st;
        if (fstat(Ccb->Fd, &st) < 0)
            return HfsStatusOfErrno(errno);
        mode_t mode = st.st_mode & 07777;
        mode = (B->FileAttributes & FILE_ATTRIBUTE_READONLY) ? mode & ~0222 : mode | S_IWUSR;
        if (fchmod(Ccb->Fd, mode) < 0)
            return HfsStatusOfErrno(errno);
    }
    return STATUS_SUCCESS;
}

static NTSTATUS HfsSetDisposition(PHFS_VOLUME v, PFILE_OBJECT f, BOOLEAN Delete)
{
    PHFS_FCB fcb = f->FsContext;
    PHFS_CCB ccb = f->FsContext2;
    if (!(ccb->Access & DELETE))
        return STATUS_ACCESS_DENIED;
    if (Delete) {
        struct stat st;
        if (!*fcb->Path)
            return STATUS_CANNOT_DELETE;
        if (fstat(ccb->Fd, &st) < 0)
            return HfsStatusOfErrno(errno);
        if (!(st.st_mode & S_IWUSR))
            return STATUS_CANNOT_DELETE;
        if (fcb->Directory && !HfsDirectoryEmpty(ccb->Fd))
            return STATUS_DIRECTORY_NOT_EMPTY;
    }
    pthread_mutex_lock(&v->Lock);
    fcb->DeletePending = Delete;
    pthread_mutex_unlock(&v->Lock);
    f->DeletePending = Delete;
    return STATUS_SUCCESS;
}

static NTSTATUS HfsRename(PHFS_VOLUME v, PIO_STACK_LOCATION Sl, PFILE_RENAME_INFORMATION R)
{
    PFILE_OBJECT f = Sl->FileObject;
    PHFS_FCB fcb = f->FsContext;
    PHFS_CCB ccb = f->FsContext2;
    if (!(ccb->Access & DELETE) || !*fcb->Path)
        return STATUS_ACCESS_DENIED;
    USHORT chars = (USHORT)(R->FileNameLength / sizeof(WCHAR));
    PFILE_OBJECT root = Sl->Parameters.SetFile.FileObject;
    char *oldParent = NULL, *newParent = NULL, *target = NULL, *old = NULL;
    const char *oldLast, *newLast;
    BOOLEAN trailing;
    int ofd = -1, nfd = -1;
    NTSTATUS s;
    pthread_mutex_lock(&v->Lock);
    old = strdup(fcb->Path);
    pthread_mutex_unlock(&v->Lock);
    if (!old)
        return STATUS_INSUFFICIENT_RESOURCES;
    s = HfsSplit(old, &oldParent, &oldLast);
    if (!NT_SUCCESS(s))
        goto out;
    if (root) {
        PHFS_FCB r = root->DeviceObject == f->DeviceObject ? root->FsContext : NULL;
        if (!r || !r->Directory || (chars && R->FileName[0] == L'\\')) {
            s = STATUS_INVALID_PARAMETER;
            goto out;
        }
        s = HfsBuildPath(r->Path, R->FileName, chars, &target, &trailing);
    } else if (chars && R->FileName[0] == L'\\') {
        s = HfsBuildPath(NULL, R->FileName, chars, &target, &trailing);
    } else {
        for (USHORT i = 0; i < chars; i++)
            if (R->FileName[i] == L'\\') {
                s = STATUS_INVALID_PARAMETER; /* a relative path needs a RootDirectory */
                goto out;
            }
        s = HfsBuildPath(oldParent, R->FileName, chars, &target, &trailing);
    }
    if (!NT_SUCCESS(s))
        goto out;
    if (trailing || !*target) {
        s = STATUS_OBJECT_NAME_INVALID;
        goto out;
    }
    if (!strcmp(target, old)) {
        s = STATUS_SUCCESS;
        goto out;
    }
    size_t oldLen = strlen(old);
    if (fcb->Directory && !strncmp(target, old, oldLen) && target[oldLen] == '/') {
        s = STATUS_INVALID_PARAMETER; /* into itself */
        goto out;
    }
    s = HfsSplit(target, &newParent, &newLast);
    if (!NT_SUCCESS(s))
        goto out;
    ofd = HfsOpenDirectory(v, oldParent, &s);
    if (ofd >= 0)
        nfd = HfsOpenDirectory(v, newParent, &s);
    if (nfd < 0)
        goto out;
    struct stat st;
    if (fstatat(nfd, newLast, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        BOOLEAN busy = FALSE;
        pthread_mutex_lock(&v->Lock);
        for (PLIST_ENTRY e = v->Fcbs.Flink; e != &v->Fcbs; e = e->Flink) {
            PHFS_FCB o = CONTAINING_RECORD(e, HFS_FCB, Link);
            if (o->Dev == st.st_dev && o->Ino == st.st_ino && o->CleanupCount)
                busy = TRUE;
        }
        pthread_mutex_unlock(&v->Lock);
        if (!R->ReplaceIfExists)
            s = STATUS_OBJECT_NAME_COLLISION;
        else if (S_ISDIR(st.st_mode) || fcb->Directory || busy)
            s = STATUS_ACCESS_DENIED;
        if (!NT_SUCCESS(s))
            goto out;
    }
    pthread_mutex_lock(&v->Lock);
    BOOLEAN openBelow = FALSE;
    for (PLIST_ENTRY e = v->Fcbs.Flink; fcb->Directory && e != &v->Fcbs; e = e->Flink) {
        PHFS_FCB o = CONTAINING_RECORD(e, HFS_FCB, Link);
        if (o->CleanupCount && !strncmp(o->Path, old, oldLen) && o->Path[oldLen] == '/')
            openBelow = TRUE;
    }
    pthread_mutex_unlock(&v->Lock);
    if (openBelow) {
        s = STATUS_ACCESS_DENIED; /* files open below a directory being renamed */
        goto out;
    }
    if (renameat2(ofd, oldLast, nfd, newLast, R->ReplaceIfExists ? 0 : RENAME_NOREPLACE) < 0) {
        s = HfsStatusOfErrno(errno);
        goto out;
    }
    pthread_mutex_lock(&v->Lock);
    free(fcb->Path);
    fcb->Path = target;
    target = NULL;
    pthread_mutex_unlock(&v->Lock);
out:
    if (ofd >= 0)
        close(ofd);
    if (nfd >= 0)
        close(nfd);
    free(old);
    free(oldParent);
    free(newParent);
    free(target);
    return s;
}

static NTSTATUS NTAPI HfsSetInformation(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PHFS_VOLUME v = HfsVolume(DeviceObject);
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(Irp);
    PFILE_OBJECT f = sl->FileObject;
    PHFS_CCB ccb = HfsCcbOf(DeviceObject, f);
    PHFS_FCB fcb = ccb ? f->FsContext : NULL;
    PVOID buf = Irp->AssociatedIrp.SystemBuffer;
    if (!ccb)
        return HfsComplete(Irp, STATUS_INVALID_DEVICE_REQUEST, 0);
    NTSTATUS s;
    switch (sl->Parameters.SetFile.FileInformationClass) {
    case FileBasicInformation:
        s = HfsSetBasic(ccb, buf);
        break;
    case FilePositionInformation: {
        LARGE_INTEGER pos = ((PFILE_POSITION_INFORMATION)buf)->CurrentByteOffset;
        s = pos.QuadPart < 0 ? STATUS_INVALID_PARAMETER : STATUS_SUCCESS;
        if (NT_SUCCESS(s))
            f->CurrentByteOffset = pos;
        break;
    }
    case FileEndOfFileInformation:
    case FileAllocationInformation: {
        LONGLONG size = ((PLARGE_INTEGER)buf)->QuadPart;
        struct stat st;
        if (!(ccb->Access & FILE_WRITE_DATA))
            s = STATUS_ACCESS_DENIED;
        else if (fcb->Directory || size < 0)
            s = STATUS_INVALID_PARAMETER;
        else if (fstat(ccb->Fd, &st) < 0)
            s = HfsStatusOfErrno(errno);
        else if (sl->Parameters.SetFile.FileInformationClass == FileEndOfFileInformation ||
                 size < st.st_size)
            s = ftruncate(ccb->Fd, size) < 0 ? HfsStatusOfErrno(errno) : STATUS_SUCCESS;
        else /* more allocation than data: a hint the host may ignore */
            s = (fallocate(ccb->Fd, FALLOC_FL_KEEP_SIZE, 0, size) < 0 && errno == ENOSPC)
                    ? STATUS_DISK_FULL
                    : STATUS_SUCCESS;
        break;
    }
    case FileDispositionInformation:
        s = HfsSetDisposition(v, f, ((PFILE_DISPOSITION_INFORMATION)buf)->DeleteFile);
        break;
    case FileRenameInformation:
        s = HfsRename(v, sl, buf);
        break;
    default:
        s = HfsUnsupportedClass("set", sl->Parameters.SetFile.FileInformationClass);
        break;
    }
    return HfsComplete(Irp, s, 0);
}

/* ---- cleanup, close ---- */

static VOID HfsDelete(PHFS_VOLUME v, const char *Path, BOOLEAN Directory)
{
    char *parent;
    const char *last;
    NTSTATUS s = HfsSplit(Path, &parent, &last);
    if (!NT_SUCCESS(s))
        return;
    int dfd = HfsOpenDirectory(v, parent, &s);
    if (dfd >= 0) {
        if (unlinkat(dfd, last, Directory ? AT_REMOVEDIR : 0) < 0)
            KmLogWarn("hostfs: deleting \"%s\" on close failed: %s", Path, strerror(errno));
        close(dfd);
    }
    free(parent);
}

static NTSTATUS NTAPI HfsCleanup(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PHFS_VOLUME v = HfsVolume(DeviceObject);
    PFILE_OBJECT f = IoGetCurrentIrpStackLocation(Irp)->FileObject;
    PHFS_CCB ccb = HfsCcbOf(DeviceObject, f);
    PHFS_FCB fcb = ccb ? f->FsContext : NULL;
    if (!ccb)
        return HfsComplete(Irp, STATUS_SUCCESS, 0);
    char *doomed = NULL;
    pthread_mutex_lock(&v->Lock);
    IoRemoveShareAccess(f, &fcb->Share);
    if (ccb->DeleteOnClose)
        fcb->DeletePending = TRUE;
    if (!--fcb->CleanupCount && fcb->DeletePending && fcb->Linked) {
        doomed = strdup(fcb->Path);
        HfsUnlinkFcb(fcb); /* the inode may be reused: a later open gets a new FCB */
    }
    pthread_mutex_unlock(&v->Lock);
    if (doomed) {
        HfsDelete(v, doomed, fcb->Directory);
        free(doomed);
    }
    return HfsComplete(Irp, STATUS_SUCCESS, 0);
}

static NTSTATUS NTAPI HfsClose(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PHFS_VOLUME v = HfsVolume(DeviceObject);
    PFILE_OBJECT f = IoGetCurrentIrpStackLocation(Irp)->FileObject;
    PHFS_CCB ccb = HfsCcbOf(DeviceObject, f);
    PHFS_FCB fcb = ccb ? f->FsContext : NULL;
    if (ccb) {
        close(ccb->Fd);
        free(ccb);
        pthread_mutex_lock(&v->Lock);
        HfsReleaseFcb(v, fcb);
        pthread_mutex_unlock(&v->Lock);
        f->FsContext = f->FsContext2 = NULL;
    }
    return HfsComplete(Irp, STATUS_SUCCESS, 0);
}

/* ---- the driver ---- */

static UNICODE_STRING HfsString(PCWSTR s)
{
    UNICODE_STRING u;
    RtlInitUnicodeString(&u, s);
    return u;
}

static VOID NTAPI HfsUnload(PDRIVER_OBJECT DriverObject)
{
    UNICODE_STRING c = HfsString(L"\\GLOBAL??\\C:"), sr = HfsString(L"\\SystemRoot");
    IoDeleteSymbolicLink(&c);
    IoDeleteSymbolicLink(&sr);
    PDEVICE_OBJECT d = DriverObject->DeviceObject;
    if (!d)
        return;
    PHFS_VOLUME v = HfsVolume(d);
    pthread_mutex_lock(&v->Lock);
    BOOLEAN open = !IsListEmpty(&v->Fcbs);
    pthread_mutex_unlock(&v->Lock);
    if (open) /* their close IRPs still come here: keep the volume state */
        KmLogWarn("hostfs: host files are still open at unload");
    else
        pthread_mutex_destroy(&v->Lock);
    if (v->RootFd >= 0 && !open)
        close(v->RootFd);
    IoDeleteDevice(d);
}

static NTSTATUS NTAPI HfsDriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    struct kmrig_runtime *rt = IopRuntime();
    DriverObject->DriverUnload = HfsUnload;
    DriverObject->MajorFunction[IRP_MJ_CREATE] = HfsCreate;
    DriverObject->MajorFunction[IRP_MJ_READ] = HfsReadWrite;
    DriverObject->MajorFunction[IRP_MJ_WRITE] = HfsReadWrite;
    DriverObject->MajorFunction[IRP_MJ_QUERY_INFORMATION] = HfsQueryInformation;
    DriverObject->MajorFunction[IRP_MJ_SET_INFORMATION] = HfsSetInformation;
    DriverObject->MajorFunction[IRP_MJ_CLEANUP] = HfsCleanup;
    DriverObject->MajorFunction[IRP_MJ_CLOSE] = HfsClose;
    UNICODE_STRING name = HfsString(HfsDeviceName);
    PDEVICE_OBJECT d;
    NTSTATUS s = IoCreateDevice(DriverObject, sizeof(HFS_VOLUME), &name,
                                FILE_DEVICE_DISK_FILE_SYSTEM, 0, FALSE, &d);
    if (!NT_SUCCESS(s))
        return s;
    PHFS_VOLUME v = HfsVolume(d);
    v->RootFd = -1;
    pthread_mutex_init(&v->Lock, NULL);
    InitializeListHead(&v->Fcbs);
    const char *root = rt->Config.sandbox_root;
    if (root) {
        v->RootFd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (v->RootFd < 0) {
            KmLog(rt, KMRIG_LOG_ERROR,
                  "hostfs: sandbox_root \"%s\" cannot be opened (%s); host files are refused", root,
                  strerror(errno));
        } else {
            struct open_how how = {.flags = O_PATH | O_CLOEXEC,
                                   .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS};
            int probe = (int)syscall(SYS_openat2, v->RootFd, ".", &how, sizeof how);
            v->UseOpenat2 = probe >= 0;
            if (probe >= 0)
                close(probe);
            else
                KmLog(rt, KMRIG_LOG_INFO,
                      "hostfs: no openat2 (%s); paths are walked one component at a time",
                      strerror(errno));
        }
    }
    UNICODE_STRING c = HfsString(L"\\GLOBAL??\\C:"), sr = HfsString(L"\\SystemRoot"),
                   win = HfsString(L"\\Device\\KmrigHostVolume\\Windows");
    s = IoCreateSymbolicLink(&c, &name);
    if (NT_SUCCESS(s))
        s = IoCreateSymbolicLink(&sr, &win);
    if (!NT_SUCCESS(s))
        HfsUnload(DriverObject);
    return s;
}

NTSTATUS IopInitializeHostFileSystem(struct kmrig_runtime *rt)
{
    PDRIVER_OBJECT d;
    return IopLoadDriver(rt, L"KmrigHostFs", HfsDriverEntry, NULL, &d);
}

/*
 * Fuzz target for the file sandbox (docs/files.md, host/io/hostfs.c, host/io/file.c): every
 * input is a path given to ZwCreateFile, then (when the open succeeds) a write, a read, a rename
 * and a delete disposition on the handle. The sandbox is a fresh directory inside an "outside"
 * directory that holds sentinel files; after each input nothing out there may have changed, no
 * handle may reach an outside file, and every call must return one of the statuses its
 * documentation allows. A violation aborts with a message (the fuzzer's crash).
 *
 * Input layout (see also make_sandbox_corpus.py, which writes the seeds):
 *   byte 0  bits 0-2 disposition (6 and 7 are invalid on purpose), bit 3 open relative to a
 *           RootDirectory handle, bit 4 prepare the tree below, bit 5 FILE_DIRECTORY_FILE,
 *           bit 6 FILE_NON_DIRECTORY_FILE, bit 7 FILE_DELETE_ON_CLOSE
 *   byte 1  bit 0 write, bit 1 rename, bit 2 set delete disposition, bit 3 ReplaceIfExists,
 *           bit 4 rename relative to the RootDirectory handle, bit 5 the RootDirectory handle is
 *           "sub" rather than the root, bit 6 FILE_ATTRIBUTE_READONLY, bit 7 case sensitive
 *   byte 2  prefix put before an absolute name: 0 none, 1 \??\C:\, 2 \SystemRoot\,
 *           3 \DosDevices\C:\, 4 \Device\KmrigHostVolume\, 5 \GLOBAL??\C:\, 6 \??\C:
 *   byte 3  bits 0-1 access (read/write/delete, append only, read only, generic all), bit 2 an
 *           asynchronous handle (no FILE_SYNCHRONOUS_IO_NONALERT)
 *   rest    the name, UTF-16LE (an odd length is passed on as an odd byte count); the code unit
 *           0xFFFF ends it and what follows is the rename target (taken as given, no prefix).
 *
 * The prepared tree (inside the sandbox): sub/ (with sub/file.txt), Windows/, file.txt, ro.txt
 * (0444), a FIFO, a socket, and symbolic links pointing out (absolute and relative, to the
 * outside directory, to a sentinel, dangling links whose target is outside, a chain of links,
 * Windows/System32 out) and one pointing inside. Links to "/" are left out on purpose: an escape
 * through them could write anywhere, and the links into the outside directory catch the same
 * bug where it can be seen.
 *
 * Built as a libFuzzer target with clang (-fsanitize=fuzzer); with any compiler main() below
 * replays every file of the corpus directories given on the command line (a ctest).
 */
#define _GNU_SOURCE
#include <ntddk.h>
#include <kmrig/runtime.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* Built a second time as fuzz_sandbox_no_openat2_replay, linked with -Wl,--wrap=syscall: openat2
 * is then ENOSYS and the host file system walks paths one component at a time with O_NOFOLLOW
 * (its fallback for older kernels), so the corpus checks that walk too. */
#ifdef FUZZ_NO_OPENAT2
#include <sys/syscall.h>
long __real_syscall(long Number, ...);
long __wrap_syscall(long Number, ...);
long __wrap_syscall(long Number, ...)
{
    va_list ap;
    va_start(ap, Number);
    long a[6];
    for (int i = 0; i < 6; i++)
        a[i] = va_arg(ap, long);
    va_end(ap);
    if (Number == SYS_openat2) {
        errno = ENOSYS;
        return -1;
    }
    return __real_syscall(Number, a[0], a[1], a[2], a[3], a[4], a[5]);
}
#endif

#define SENTINEL_TEXT "KMRIG-OUTSIDE-SENTINEL"
#define MAX_ENTRIES 64

static kmrig_runtime *rt;
static char top[64];     /* the outside directory */
static char root[96];    /* top/sandbox: kmrig_config.sandbox_root */
static int root_fd = -1; /* to look inside the sandbox */
static const char *current_input = "(libFuzzer input)";
static unsigned opened, renamed, deleted; /* inputs that got that far (the replay reports them) */

/* What the outside looks like: every entry below top except the sandbox's contents. */
typedef struct {
    char name[64];
    mode_t mode;
    ino_t ino;
    off_t size;
    struct timespec mtime, ctime;
} ENTRY;
static ENTRY outside[MAX_ENTRIES];
static size_t outside_count;
static struct stat top_stat; /* top itself: an entry made and removed again changes its mtime */

static void quiet(void *ctx, enum kmrig_log_level level, const char *msg)
{
    (void)ctx, (void)level;
    if (getenv("KMRIG_FUZZ_LOG"))
        fprintf(stderr, "log: %s\n", msg);
}

static void violation(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void violation(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "fuzz_sandbox: %s: ", current_input);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}

static void must(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_sandbox: setup failed: %s: %s\n", what, strerror(errno));
        exit(2);
    }
}

static void write_file(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    must(fd >= 0, path);
    must(write(fd, text, strlen(text)) == (ssize_t)strlen(text), path);
    close(fd);
}

/* Lists the entries of one directory below top (Rel "" is top itself) into List. */
static void list_dir(const char *Rel, ENTRY *List, size_t *Count)
{
    char path[256];
    snprintf(path, sizeof path, "%s%s%s", top, *Rel ? "/" : "", Rel);
    DIR *d = opendir(path);
    if (!d)
        violation("outside directory \"%s\" cannot be read any more: %s", path, strerror(errno));
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (*Count == MAX_ENTRIES)
            violation("more than %d entries outside the sandbox", MAX_ENTRIES);
        ENTRY *x = &List[(*Count)++];
        memset(x, 0, sizeof *x);
        snprintf(x->name, sizeof x->name, "%s%s%s", Rel, *Rel ? "/" : "", e->d_name);
        struct stat st;
        if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            violation("outside entry \"%s\" vanished while listed", x->name);
        x->mode = st.st_mode;
        x->ino = st.st_ino;
        x->size = st.st_size;
        x->mtime = st.st_mtim;
        x->ctime = st.st_ctim;
        /* Go down, except into the sandbox itself (its contents are the inputs' to change). */
        if (S_ISDIR(st.st_mode) && strcmp(x->name, "sandbox"))
            list_dir(x->name, List, Count);
    }
    closedir(d);
}

static int entry_cmp(const void *a, const void *b)
{
    return strcmp(((const ENTRY *)a)->name, ((const ENTRY *)b)->name);
}

static size_t snapshot(ENTRY *List)
{
    size_t n = 0;
    list_dir("", List, &n);
    qsort(List, n, sizeof *List, entry_cmp);
    return n;
}

static int same_time(struct timespec a, struct timespec b)
{
    return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

/* Nothing outside the sandbox was made, removed, renamed, written or touched; the sandbox
 * directory is the same directory (the sandbox's own mtime changes with its contents: skipped). */
static void check_outside(void)
{
    static ENTRY now[MAX_ENTRIES];
    size_t n = snapshot(now);
    struct stat st;
    if (stat(top, &st) < 0)
        violation("the outside directory %s is gone", top);
    if (st.st_ino != top_stat.st_ino || !same_time(st.st_mtim, top_stat.st_mtim) ||
        !same_time(st.st_ctim, top_stat.st_ctim))
        violation("the outside directory %s was changed", top);
    for (size_t i = 0; i < n || i < outside_count; i++) {
        if (i >= n || i >= outside_count || strcmp(now[i].name, outside[i].name))
            violation("outside entries changed: \"%s\" where \"%s\" was",
                      i < n ? now[i].name : "(nothing)",
                      i < outside_count ? outside[i].name : "(nothing)");
        const ENTRY *a = &outside[i], *b = &now[i];
        BOOLEAN sandbox = !strcmp(a->name, "sandbox");
        if (a->mode != b->mode || a->ino != b->ino ||
            (!sandbox && (a->size != b->size || !same_time(a->mtime, b->mtime) ||
                          !same_time(a->ctime, b->ctime))))
            violation("outside entry \"%s\" changed (mode %o->%o, size %lld->%lld)", a->name,
                      (unsigned)a->mode, (unsigned)b->mode, (long long)a->size, (long long)b->size);
    }
}

static BOOLEAN is_outside_inode(ino_t Ino)
{
    for (size_t i = 0; i < outside_count; i++)
        if (outside[i].ino == Ino && strcmp(outside[i].name, "sandbox"))
            return TRUE;
    return FALSE;
}

/* Empties a directory (not following links), making directories writable first. */
static void empty_dir(int Dir)
{
    DIR *d = fdopendir(openat(Dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    must(d != NULL, "fdopendir");
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        struct stat st;
        if (fstatat(Dir, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
            fchmodat(Dir, e->d_name, 0700, 0);
            int sub = openat(Dir, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            must(sub >= 0, e->d_name);
            empty_dir(sub);
            close(sub);
            must(unlinkat(Dir, e->d_name, AT_REMOVEDIR) == 0, e->d_name);
        } else {
            must(unlinkat(Dir, e->d_name, 0) == 0 || errno == ENOENT, e->d_name);
        }
    }
    closedir(d);
}

static void at(char *Out, size_t Size, const char *Dir, const char *Rel)
{
    snprintf(Out, Size, "%s/%s", Dir, Rel);
}

static void prepare_tree(void)
{
    char p[256], t[256];
#define P_IN(rel) (at(p, sizeof p, root, rel), p)
#define P_OUT(rel) (at(t, sizeof t, top, rel), t)
    must(mkdir(P_IN("sub"), 0755) == 0, "sub");
    must(mkdir(P_IN("Windows"), 0755) == 0, "Windows");
    write_file(P_IN("sub/file.txt"), "inside sub", 0644);
    write_file(P_IN("file.txt"), "inside", 0644);
    write_file(P_IN("ro.txt"), "read-only", 0444);
    must(mkfifo(P_IN("fifo"), 0644) == 0, "fifo");
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", P_IN("sock"));
    must(s >= 0 && bind(s, (struct sockaddr *)&a, sizeof a) == 0, "sock");
    close(s);
    must(symlink(top, P_IN("outdir")) == 0, "outdir");
    must(symlink(P_OUT("sentinel.txt"), P_IN("outfile")) == 0, "outfile");
    must(symlink("..", P_IN("relout")) == 0, "relout");
    must(symlink("../sentinel.txt", P_IN("relfile")) == 0, "relfile");
    must(symlink("../created-outside.txt", P_IN("dangling")) == 0, "dangling");
    must(symlink(P_OUT("outsub/created-outside.txt"), P_IN("sub/dangling")) == 0, "sub/dangling");
    must(symlink("../..", P_IN("sub/up")) == 0, "sub/up");
    must(symlink("../../outsub", P_IN("sub/deep")) == 0, "sub/deep");
    must(symlink("chain2", P_IN("chain1")) == 0, "chain1");
    must(symlink("chain3", P_IN("chain2")) == 0, "chain2");
    must(symlink("..", P_IN("chain3")) == 0, "chain3");
    must(symlink(P_OUT("outsub"), P_IN("Windows/System32")) == 0, "System32");
    must(symlink("sub", P_IN("inlink")) == 0, "inlink");
#undef P_IN
#undef P_OUT
}

static void remove_top(void)
{
    if (!top[0])
        return;
    int fd = open(top, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fchmod(fd, 0700);
        empty_dir(fd);
        close(fd);
    }
    rmdir(top);
}

static void setup(void)
{
    if (rt)
        return;
    snprintf(top, sizeof top, "/tmp/kmrig-fuzz-sandbox-XXXXXX");
    must(mkdtemp(top) != NULL, "mkdtemp");
    atexit(remove_top);
    char p[256];
    at(p, sizeof p, top, "sentinel.txt");
    write_file(p, SENTINEL_TEXT " top", 0644);
    at(p, sizeof p, top, "secret.txt");
    write_file(p, SENTINEL_TEXT " secret", 0600);
    at(p, sizeof p, top, "outsub");
    must(mkdir(p, 0755) == 0, p);
    at(p, sizeof p, top, "outsub/sentinel.txt");
    write_file(p, SENTINEL_TEXT " outsub", 0644);
    at(root, sizeof root, top, "sandbox");
    must(mkdir(root, 0755) == 0, root);
    root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    must(root_fd >= 0, root);
    outside_count = snapshot(outside);
    must(stat(top, &top_stat) == 0, top);

    kmrig_config cfg;
    kmrig_config_init(&cfg);
    cfg.processors = 1;
    cfg.log_fn = quiet;
    cfg.sandbox_root = root;
    must(kmrig_runtime_create(&cfg, &rt) == 0, "kmrig_runtime_create");
}

/* ---- statuses the documentation allows (docs/files.md) ---- */

static const NTSTATUS CreateStatuses[] = {
    STATUS_SUCCESS,
    STATUS_OBJECT_NAME_INVALID,
    STATUS_OBJECT_NAME_NOT_FOUND,
    STATUS_OBJECT_PATH_NOT_FOUND,
    STATUS_OBJECT_PATH_SYNTAX_BAD,
    STATUS_OBJECT_TYPE_MISMATCH,
    STATUS_OBJECT_NAME_COLLISION,
    STATUS_ACCESS_DENIED,
    STATUS_NAME_TOO_LONG,
    STATUS_FILE_IS_A_DIRECTORY,
    STATUS_NOT_A_DIRECTORY,
    STATUS_INVALID_PARAMETER,
    STATUS_CANNOT_DELETE,
    STATUS_DELETE_PENDING,
    STATUS_SHARING_VIOLATION,
};
static const NTSTATUS WriteStatuses[] = {STATUS_SUCCESS, STATUS_ACCESS_DENIED,
                                         STATUS_INVALID_DEVICE_REQUEST, STATUS_DISK_FULL};
static const NTSTATUS ReadStatuses[] = {STATUS_SUCCESS, STATUS_END_OF_FILE, STATUS_ACCESS_DENIED,
                                        STATUS_INVALID_DEVICE_REQUEST};
static const NTSTATUS RenameStatuses[] = {
    STATUS_SUCCESS,
    STATUS_ACCESS_DENIED,
    STATUS_INVALID_PARAMETER,
    STATUS_OBJECT_NAME_INVALID,
    STATUS_OBJECT_NAME_NOT_FOUND,
    STATUS_OBJECT_PATH_NOT_FOUND,
    STATUS_OBJECT_PATH_SYNTAX_BAD,
    STATUS_OBJECT_TYPE_MISMATCH,
    STATUS_OBJECT_NAME_COLLISION,
    STATUS_NOT_SAME_DEVICE,
    STATUS_NAME_TOO_LONG,
};
static const NTSTATUS DeleteStatuses[] = {STATUS_SUCCESS, STATUS_ACCESS_DENIED,
                                          STATUS_CANNOT_DELETE, STATUS_DIRECTORY_NOT_EMPTY};

static void check_status(const char *Call, NTSTATUS s, const NTSTATUS *Allowed, size_t Count)
{
    for (size_t i = 0; i < Count; i++)
        if (s == Allowed[i])
            return;
    violation("%s returned 0x%08X, not a status it is documented to return", Call, (unsigned)s);
}
#define CHECK_STATUS(call, s, list) check_status(call, s, list, sizeof list / sizeof list[0])

/* ---- checks on an open handle ---- */

/* The handle's file is inside the sandbox: not an outside inode, found at the name the file
 * system reports for it (FileNameInformation, from the volume root), and its first bytes are
 * not a sentinel's. */
static void check_handle(HANDLE h, ACCESS_MASK Access, const char *When)
{
    IO_STATUS_BLOCK iosb;
    FILE_INTERNAL_INFORMATION id;
    NTSTATUS s = ZwQueryInformationFile(h, &iosb, &id, sizeof id, FileInternalInformation);
    if (s != STATUS_SUCCESS)
        violation("%s: FileInternalInformation failed: 0x%08X", When, (unsigned)s);
    if (is_outside_inode((ino_t)id.IndexNumber.QuadPart))
        violation("%s: the handle is on an outside file (inode %lld)", When,
                  (long long)id.IndexNumber.QuadPart);

    static struct {
        FILE_NAME_INFORMATION Info;
        WCHAR More[32768];
    } name;
    s = ZwQueryInformationFile(h, &iosb, &name, sizeof name, FileNameInformation);
    if (s != STATUS_SUCCESS)
        violation("%s: FileNameInformation failed: 0x%08X", When, (unsigned)s);
    ULONG chars = name.Info.FileNameLength / sizeof(WCHAR);
    const WCHAR *fn = name.Info.FileName; /* FileName[1] runs on into More */
    if (!chars || fn[0] != L'\\')
        violation("%s: FileNameInformation is not a name from the volume root", When);
    /* UTF-8 of the name after the leading backslash, '\' -> '/'. */
    static char rel[4 * 32768 + 2];
    size_t n = 0;
    for (ULONG i = 1; i < chars; i++) {
        uint32_t c = fn[i];
        if (c >= 0xD800 && c <= 0xDBFF && i + 1 < chars)
            c = 0x10000 + ((c - 0xD800) << 10) + (fn[++i] - 0xDC00);
        if (c == L'\\')
            c = '/';
        if (c < 0x80) {
            rel[n++] = (char)c;
        } else if (c < 0x800) {
            rel[n++] = (char)(0xC0 | (c >> 6));
            rel[n++] = (char)(0x80 | (c & 0x3F));
        } else if (c < 0x10000) {
            rel[n++] = (char)(0xE0 | (c >> 12));
            rel[n++] = (char)(0x80 | ((c >> 6) & 0x3F));
            rel[n++] = (char)(0x80 | (c & 0x3F));
        } else {
            rel[n++] = (char)(0xF0 | (c >> 18));
            rel[n++] = (char)(0x80 | ((c >> 12) & 0x3F));
            rel[n++] = (char)(0x80 | ((c >> 6) & 0x3F));
            rel[n++] = (char)(0x80 | (c & 0x3F));
        }
    }
    rel[n] = 0;
    struct stat st;
    if (fstatat(root_fd, n ? rel : ".", &st, AT_SYMLINK_NOFOLLOW) < 0)
        violation("%s: the handle's name \"%s\" is not in the sandbox: %s", When, rel,
                  strerror(errno));
    if ((long long)st.st_ino != id.IndexNumber.QuadPart)
        violation("%s: \"%s\" in the sandbox is not the handle's file", When, rel);
    if (S_ISLNK(st.st_mode) || (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)))
        violation("%s: the handle is on \"%s\", neither a file nor a directory", When, rel);

    if (!(Access & FILE_READ_DATA) || S_ISDIR(st.st_mode))
        return;
    char buf[64];
    LARGE_INTEGER zero = {.QuadPart = 0};
    memset(&iosb, 0, sizeof iosb);
    s = ZwReadFile(h, NULL, NULL, NULL, &iosb, buf, sizeof buf - 1, &zero, NULL);
    CHECK_STATUS("ZwReadFile", s, ReadStatuses);
    if (s == STATUS_SUCCESS) {
        if (iosb.Information > sizeof buf - 1)
            violation("%s: a read of %zu bytes reports %zu", When, sizeof buf - 1,
                      (size_t)iosb.Information);
        buf[iosb.Information] = 0;
        if (strstr(buf, SENTINEL_TEXT))
            violation("%s: read an outside sentinel through the handle", When);
    }
}

/* ---- one input ---- */

static const PCWSTR Prefixes[8] = {
    L"",
    L"\\??\\C:\\",
    L"\\SystemRoot\\",
    L"\\DosDevices\\C:\\",
    L"\\Device\\KmrigHostVolume\\",
    L"\\GLOBAL??\\C:\\",
    L"\\??\\C:",
    L"",
};

static const ACCESS_MASK Accesses[4] = {
    FILE_READ_DATA | FILE_WRITE_DATA | DELETE | FILE_READ_ATTRIBUTES | SYNCHRONIZE,
    FILE_APPEND_DATA | FILE_READ_ATTRIBUTES | SYNCHRONIZE,
    FILE_READ_DATA | FILE_READ_ATTRIBUTES | SYNCHRONIZE,
    GENERIC_ALL,
};

static HANDLE open_directory(PCWSTR Name)
{
    UNICODE_STRING n;
    RtlInitUnicodeString(&n, Name);
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, &n, OBJ_KERNEL_HANDLE | OBJ_CASE_INSENSITIVE, NULL, NULL);
    IO_STATUS_BLOCK iosb;
    HANDLE h = NULL;
    NTSTATUS s = ZwCreateFile(&h, FILE_LIST_DIRECTORY | SYNCHRONIZE, &oa, &iosb, NULL, 0,
                              FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, FILE_OPEN,
                              FILE_DIRECTORY_FILE | FILE_SYNCHRONOUS_IO_NONALERT, NULL, 0);
    return NT_SUCCESS(s) ? h : NULL;
}

static WCHAR name_buf[32768 + 64];
static WCHAR target_buf[32768];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    if (size < 4)
        return 0;
    const uint8_t mode = data[0], ops = data[1], prefix = data[2], how = data[3];
    data += 4;
    size -= 4;

    /* The name, and the rename target after a 0xFFFF code unit. */
    size_t split = size;
    for (size_t i = 0; i + 1 < size; i += 2)
        if (data[i] == 0xFF && data[i + 1] == 0xFF) {
            split = i;
            break;
        }
    const uint8_t *target = split < size ? data + split + 2 : NULL;
    size_t target_bytes = target ? size - split - 2 : 0;
    BOOLEAN relative = (mode & 0x08) != 0;
    PCWSTR pre = relative ? L"" : Prefixes[prefix & 7];
    size_t pre_chars = 0;
    while (pre[pre_chars])
        pre_chars++;
    size_t name_bytes = split;
    if (pre_chars * 2 + name_bytes > 65534)
        name_bytes = 65534 - pre_chars * 2;
    memcpy(name_buf, pre, pre_chars * 2);
    memcpy((uint8_t *)name_buf + pre_chars * 2, data, name_bytes);
    if (target_bytes > sizeof target_buf)
        target_bytes = sizeof target_buf;
    if (target)
        memcpy(target_buf, target, target_bytes);

    empty_dir(root_fd);
    if (mode & 0x10)
        prepare_tree();

    HANDLE dir = NULL;
    if (relative || (ops & 0x10)) {
        dir = open_directory((ops & 0x20) ? L"\\??\\C:\\sub" : L"\\??\\C:\\");
        if (!dir && !((ops & 0x20) && !(mode & 0x10)))
            violation("cannot open the sandbox directory for a relative open");
    }

    ULONG disposition = mode & 7;
    ULONG options = (how & 4) ? 0 : FILE_SYNCHRONOUS_IO_NONALERT;
    if (mode & 0x20)
        options |= FILE_DIRECTORY_FILE;
    if (mode & 0x40)
        options |= FILE_NON_DIRECTORY_FILE;
    if (mode & 0x80)
        options |= FILE_DELETE_ON_CLOSE;
    ACCESS_MASK access = Accesses[how & 3];
    UNICODE_STRING n = {(USHORT)(pre_chars * 2 + name_bytes), (USHORT)(pre_chars * 2 + name_bytes),
                        name_buf};
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, &n,
                               OBJ_KERNEL_HANDLE | ((ops & 0x80) ? 0 : OBJ_CASE_INSENSITIVE),
                               relative ? dir : NULL, NULL);
    IO_STATUS_BLOCK iosb;
    memset(&iosb, 0xA5, sizeof iosb);
    HANDLE h = (HANDLE)(ULONG_PTR)0x1234;
    NTSTATUS s = ZwCreateFile(&h, access, &oa, &iosb, NULL,
                              (ops & 0x40) ? FILE_ATTRIBUTE_READONLY : FILE_ATTRIBUTE_NORMAL,
                              FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, disposition,
                              options, NULL, 0);
    CHECK_STATUS("ZwCreateFile", s, CreateStatuses);
    if (!NT_SUCCESS(s)) {
        if (h)
            violation("ZwCreateFile failed (0x%08X) but returned a handle", (unsigned)s);
    } else {
        if (!h)
            violation("ZwCreateFile succeeded without a handle");
        if (iosb.Status != s)
            violation("ZwCreateFile returned 0x%08X, IoStatusBlock says 0x%08X", (unsigned)s,
                      (unsigned)iosb.Status);
        if (iosb.Information != FILE_SUPERSEDED && iosb.Information != FILE_OPENED &&
            iosb.Information != FILE_CREATED && iosb.Information != FILE_OVERWRITTEN)
            violation("ZwCreateFile succeeded with Information %zu", (size_t)iosb.Information);
        opened++;
        check_outside();
        check_handle(h, access, "after the open");
        if (ops & 0x01) {
            static const char text[] = "written by fuzz_sandbox";
            LARGE_INTEGER zero = {.QuadPart = 0};
            s = ZwWriteFile(h, NULL, NULL, NULL, &iosb, (PVOID)text, sizeof text - 1, &zero, NULL);
            CHECK_STATUS("ZwWriteFile", s, WriteStatuses);
        }
        if (ops & 0x02) {
            static struct {
                FILE_RENAME_INFORMATION Info;
                WCHAR More[32768];
            } r;
            memset(&r.Info, 0, sizeof r.Info);
            r.Info.ReplaceIfExists = (ops & 0x08) != 0;
            r.Info.RootDirectory = (ops & 0x10) ? dir : NULL;
            r.Info.FileNameLength = (ULONG)target_bytes;
            memcpy(r.Info.FileName, target_buf, target_bytes);
            ULONG length = (ULONG)(FIELD_OFFSET(FILE_RENAME_INFORMATION, FileName) + target_bytes);
            if (length < sizeof r.Info)
                length = sizeof r.Info;
            s = ZwSetInformationFile(h, &iosb, &r, length, FileRenameInformation);
            CHECK_STATUS("ZwSetInformationFile(FileRenameInformation)", s, RenameStatuses);
            renamed += s == STATUS_SUCCESS;
            check_outside();
            check_handle(h, access, "after the rename");
        }
        if (ops & 0x04) {
            FILE_DISPOSITION_INFORMATION d = {.DeleteFile = TRUE};
            s = ZwSetInformationFile(h, &iosb, &d, sizeof d, FileDispositionInformation);
            CHECK_STATUS("ZwSetInformationFile(FileDispositionInformation)", s, DeleteStatuses);
            deleted += s == STATUS_SUCCESS;
        }
        check_outside();
        check_handle(h, access, "before the close");
        s = ZwClose(h);
        if (s != STATUS_SUCCESS)
            violation("ZwClose of the file failed: 0x%08X", (unsigned)s);
    }
    if (dir && ZwClose(dir) != STATUS_SUCCESS)
        violation("ZwClose of the directory failed");
    check_outside();
    return 0;
}

#ifndef KMRIG_LIBFUZZER
#include "../support/fuzz_replay.h"

int main(int argc, char **argv)
{
    int files;
    int failed = kmrig_fuzz_replay(argc, argv, "fuzz_sandbox", 20, &current_input, &files);
    if (rt) {
        empty_dir(root_fd);
        kmrig_runtime_destroy(rt);
    }
    printf("fuzz_sandbox: replayed %d input(s): %u opened, %u renamed, %u deleted\n", files, opened,
           renamed, deleted);
    return failed || files == 0;
}
#endif

/* cli_run.h - what the tests of tests/cli share to run a program as a user would: its argument
 * vector, its stdout and stderr captured into g_out (also printed for the test log), its exit
 * status; and a whole file read into memory. Include it once per test file, after kmtest.h. */
#ifndef KMRIG_TESTS_CLI_RUN_H
#define KMRIG_TESTS_CLI_RUN_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

/* The last program's stdout and stderr, NUL-terminated (cut at its size). */
static char g_out[1 << 16];

/* Runs argv[0] with argv (NULL-terminated), stdout+stderr into g_out. Returns its exit status,
   or -1 when it did not exit (a signal): the caller asserts what it expects either way. */
static int run_argv(const char **argv)
{
    char path[] = "/tmp/kmrig-cli-out-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    fflush(NULL);
    pid_t parent = getpid();
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* dies with the test: a test killed by ctest's timeout leaves no kmrig behind */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        dup2(fd, 1);
        dup2(fd, 2);
        execv(argv[0], (char **)argv);
        _exit(127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    ssize_t got = pread(fd, g_out, sizeof g_out - 1, 0);
    g_out[got > 0 ? got : 0] = 0;
    close(fd);
    unlink(path);
    print_message("%s", g_out);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* prog with `first` and the arguments after it up to NULL (at most 46). */
static int run_va(const char *prog, const char *first, va_list ap)
{
    const char *argv[48];
    int n = 0;
    argv[n++] = prog;
    for (const char *a = first; a && n < 47; a = va_arg(ap, const char *))
        argv[n++] = a;
    argv[n] = NULL;
    return run_argv(argv);
}

/* run("/bin/prog", "arg", ..., NULL): any program. */
static inline int run(const char *prog, ...)
{
    va_list ap;
    va_start(ap, prog);
    int rc = run_va(prog, va_arg(ap, const char *), ap);
    va_end(ap);
    return rc;
}

#ifdef KMRIG_EXE
/* kmrig("run", "--target", "sim", ..., NULL): the kmrig command under test. */
static inline int kmrig(const char *arg0, ...)
{
    va_list ap;
    va_start(ap, arg0);
    int rc = run_va(KMRIG_EXE, arg0, ap);
    va_end(ap);
    return rc;
}
#endif

/* The whole file at path, NUL-terminated, its size in *len (if len); free() it. Fails the test
   if it cannot be read. */
static inline char *slurp_len(const char *path, size_t *len)
{
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = 0;
    fclose(f);
    if (len)
        *len = (size_t)n;
    return buf;
}

static inline char *slurp(const char *path)
{
    return slurp_len(path, NULL);
}

#endif

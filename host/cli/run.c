/*
 * run.c - `kmrig run`: runs every test of the given suites, each in its own process (docs/cli.md,
 * "kmrig run").
 *
 * A suite is a program built with kmrig_add_suite (kmrig/suite.h). kmrig asks it for its tests
 * (`suite --list`) and runs each as `suite --no-fork --target URI --seed N [--trace F] NAME` in a
 * child process whose stdout and stderr go to a file and whose bugcheck report goes to another
 * (KMRIG_BUGCHECK_REPORT). The child's end says what happened: exit 0 passed, 77 skipped, 1 an
 * assertion failed, 66 a bugcheck, a signal a crash, killed after --timeout a hang.
 */
#define _GNU_SOURCE
#include "cli.h"
#include "run.h"

#include <kmrig/link.h>
#include <kmrig/runtime.h>
#include <kmrig/trace.h>

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RUN_DEFAULT_SUITE "refsoc"
#define RUN_EXIT_SKIPPED 77

static const char run_help[] =
    "usage: kmrig run [options] [SUITE[:TEST]...]\n"
    "\n"
    "Runs every test of the given suites, each in its own process: a crash or a bugcheck fails\n"
    "that test with its report and the run goes on. Without SUITE, runs the bundled suite for\n"
    "the reference SoC (" RUN_DEFAULT_SUITE "). SUITE is a suite program's path, or its name,\n"
    "looked up in $KMRIG_SUITE_PATH (directories separated by ':'), ./kmrig-suites, the suites\n"
    "installed with kmrig and the build tree kmrig was built in. SUITE:TEST runs only the tests\n"
    "whose name matches TEST (a name or a glob, e.g. refsoc:'refsoc_dma*').\n"
    "\n"
    "options:\n"
    "  --target URI   where the tests run: sim (default; or $KMRIG_TARGET), sim:profile=ft245,\n"
    "                 loop, a board URI\n"
    "  --seed N       the seed tests draw their random inputs from (default: a new one, printed)\n"
    "  --jobs N       run N tests at once (on a model target; a board runs one at a time)\n"
    "  --retries N    rerun a failing test up to N times; one that then passes is reported\n"
    "                 flaky, not passed\n"
    "  --timeout S    kill a test that runs longer than S seconds of wall time (default 300)\n"
    "  --junit FILE   write a JUnit XML report (GitLab, Jenkins, GitHub reporters read it)\n"
    "  --trace FILE   write each test's Chrome trace JSON (open it in ui.perfetto.dev): FILE\n"
    "                 itself for a single test, else FILE's name with .SUITE.TEST before the\n"
    "                 extension\n"
    "  --waves FILE   write each test's FST waveform of the model (GTKWave opens it), named as\n"
    "                 for --trace (sim targets only)\n"
    "  --power-cmd CMD  run `CMD on` before the run and `CMD off` after it, whatever its end\n"
    "                 (failure, Ctrl-C); default $KMRIG_POWER_CMD\n"
    "  --reset-cmd CMD  run CMD between tests (the target URI in $KMRIG_TARGET); default\n"
    "                 $KMRIG_RESET_CMD; without one, a board the link can reset is reset\n"
    "  --list         list the tests that would run, and run nothing\n"
    "  --verbose      print every test's output, not only the failures'\n"
    "\n"
    "On a terminal a progress line shows the run; otherwise one line per test. For each failure\n"
    "kmrig prints its output and the one command (with the seed) that reproduces it.\n"
    "\n"
    "exit status: 0 every test passed (flaky ones included), 1 a test failed, 2 usage error,\n"
    "4 a suite could not be found or started, 5 a power or reset hook failed (the run\n"
    "stopped), 77 the target did not open or every test skipped, 128+N stopped by signal N\n"
    "(the running tests are killed first)\n";

struct run_opts {
    const char *target;
    const char *power_cmd, *reset_cmd; /* --power-cmd / --reset-cmd, or the environment */
    int no_link_reset;                 /* the target said it cannot reset (ENOTSUP) */
    const char *junit;
    const char *trace;
    const char *waves;
    uint64_t seed;
    unsigned jobs, retries, timeout;
    int list, verbose, tty;
};

struct run_job {
    pid_t pid;
    size_t test;
    struct timespec start;
    char out[256], report[256];
};

/* The run's state, freed at exit (whatever path the command leaves by). */
static struct run_report g_run;
static struct run_job *g_jobs;
static size_t *g_queue;
static char **g_specs;

static void run_free(void)
{
    for (size_t t = 0; t < g_run.ntests; t++) {
        for (unsigned a = 0; g_run.tests[t].tries && a < g_run.tests[t].attempts; a++) {
            struct run_attempt *x = &g_run.tests[t].tries[a];
            free(x->type);
            free(x->message);
            free(x->details);
            free(x->output);
        }
        free(g_run.tests[t].tries);
    }
    for (size_t s = 0; s < g_run.nsuites; s++) {
        free(g_run.suites[s].spec);
        free(g_run.suites[s].path);
        free(g_run.suites[s].name);
        free(g_run.suites[s].list);
    }
    free(g_run.suites);
    free(g_run.tests);
    free(g_jobs);
    free(g_queue);
    free(g_specs);
    memset(&g_run, 0, sizeof g_run);
}

static double run_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static char *run_strdup(const char *s)
{
    char *d = strdup(s ? s : "");
    if (!d) {
        fprintf(stderr, "kmrig run: out of memory\n");
        exit(KMRIG_CLI_ERROR);
    }
    return d;
}

static char *run_read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += got;
        if (cap - len < 2) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf)
        buf[len] = 0;
    return buf;
}

static int run_executable(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/* Finds a suite program by name (docs/cli.md, "Where kmrig finds suites"). */
static char *run_find_suite(const char *name)
{
    char path[2 * PATH_MAX + 64];
    if (strchr(name, '/'))
        return run_executable(name) ? realpath(name, NULL) : NULL;
    const char *env = getenv("KMRIG_SUITE_PATH");
    if (env && *env) {
        char *dirs = run_strdup(env), *save = NULL;
        for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
            snprintf(path, sizeof path, "%s/%s", d, name);
            if (run_executable(path)) {
                free(dirs);
                return realpath(path, NULL);
            }
        }
        free(dirs);
    }
    snprintf(path, sizeof path, "kmrig-suites/%s", name);
    if (run_executable(path))
        return realpath(path, NULL);
    char self[4096];
    snprintf(self, sizeof self, "%s", kmrig_cli_self());
    char *slash = strrchr(self, '/');
    if (slash) {
        *slash = 0;
        snprintf(path, sizeof path, "%s/%s/%s", self, KMRIG_INSTALL_SUITE_DIR, name);
        if (run_executable(path))
            return realpath(path, NULL);
    }
    snprintf(path, sizeof path, "%s/%s", KMRIG_BUILD_SUITE_DIR, name);
    if (run_executable(path))
        return realpath(path, NULL);
    return NULL;
}

/* Runs argv with stdout to a buffer; returns its exit status (or -1) and the output. */
static int run_capture(char *const argv[], char **output)
{
    int fds[2];
    *output = NULL;
    if (pipe(fds) < 0)
        return -1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(fds[1]);
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    ssize_t got;
    while (buf && (got = read(fds[0], buf + len, cap - len - 1)) != 0) {
        if (got < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        len += (size_t)got;
        if (cap - len < 2) {
            char *nb = realloc(buf, cap * 2);
            if (!nb)
                break;
            buf = nb;
            cap *= 2;
        }
    }
    close(fds[0]);
    if (buf)
        buf[len] = 0;
    *output = buf;
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* ---- the progress display ---- */

static struct {
    int tty, shown;
    size_t done, total;
    unsigned failed;
} g_progress;

static void run_progress_clear(void)
{
    if (g_progress.tty && g_progress.shown) {
        fputs("\r\033[K", stdout);
        g_progress.shown = 0;
    }
}

static void run_progress_show(const char *suite, const char *test)
{
    if (!g_progress.tty)
        return;
    printf("\r\033[K[%zu/%zu] %u failed  %s.%s", g_progress.done, g_progress.total,
           g_progress.failed, suite, test);
    fflush(stdout);
    g_progress.shown = 1;
}

/* Prints a line above the progress line. */
static void run_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void run_say(const char *fmt, ...)
{
    run_progress_clear();
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    fflush(stdout);
}

static void run_indent(const char *text)
{
    const char *p = text;
    while (p && *p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        printf("    | %.*s\n", (int)n, p);
        p = nl ? nl + 1 : p + n;
    }
}

/* ---- one attempt ---- */

/* The per-test file for --trace/--waves FILE: FILE itself for a single test, else FILE with
 * ".SUITE.TEST" before its extension. */
static void run_test_file(const char *file, const struct run_report *r, size_t t, char *out,
                          size_t n)
{
    if (r->ntests == 1) {
        snprintf(out, n, "%s", file);
        return;
    }
    const char *slash = strrchr(file, '/');
    const char *dot = strrchr(slash ? slash : file, '.');
    size_t stem = dot && dot != (slash ? slash + 1 : file) ? (size_t)(dot - file) : strlen(file);
    snprintf(out, n, "%.*s.%s.%s%s", (int)stem, file, r->suites[r->tests[t].suite].name,
             r->tests[t].name, file + stem);
}

static int run_spawn(const struct run_opts *o, const struct run_report *r, const char *tmpdir,
                     size_t t, unsigned seq, struct run_job *j)
{
    const struct run_test *test = &r->tests[t];
    char seed[32], trace[4096], waves[4096], target[8192];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)r->seed);
    snprintf(j->out, sizeof j->out, "%s/out-%u.txt", tmpdir, seq);
    snprintf(j->report, sizeof j->report, "%s/bugcheck-%u.txt", tmpdir, seq);
    unlink(j->report);
    char *argv[12];
    int a = 0;
    argv[a++] = r->suites[test->suite].path;
    argv[a++] = "--no-fork";
    argv[a++] = "--target";
    argv[a++] = (char *)r->target;
    if (o->waves) { /* the model's FST waveform: its URI argument waves=PATH */
        run_test_file(o->waves, r, t, waves, sizeof waves);
        snprintf(target, sizeof target, "%s%swaves=%s", r->target,
                 strchr(r->target, ':') ? "," : ":", waves);
        argv[a - 1] = target;
    }
    argv[a++] = "--seed";
    argv[a++] = seed;
    if (o->trace) {
        run_test_file(o->trace, r, t, trace, sizeof trace);
        argv[a++] = "--trace";
        argv[a++] = trace;
    }
    argv[a++] = (char *)test->name;
    argv[a] = NULL;
    fflush(NULL);
    j->test = t;
    clock_gettime(CLOCK_MONOTONIC, &j->start);
    j->pid = fork();
    if (j->pid < 0)
        return -1;
    if (j->pid == 0) {
        int fd = open(j->out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        int null = open("/dev/null", O_RDONLY);
        if (null >= 0) {
            dup2(null, 0);
            close(null);
        }
        setenv(KMRIG_BUGCHECK_REPORT_ENV, j->report, 1);
        setenv(KMRIG_HANG_REPORT_ENV, "1", 1);
        setpgid(0, 0); /* a hang is killed with everything it started */
        execv(argv[0], argv);
        fprintf(stderr, "kmrig run: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    setpgid(j->pid, j->pid); /* also here: a kill right after fork reaches the group */
    return 0;
}

/* A test at --timeout: asks it for its hang report (SIGUSR1: a kmrig suite writes the state of
 * its interrupt lines to its output and stops itself, suite.c) and waits for it up to 3 s. */
static void run_hang_report(pid_t pid)
{
    if (kill(pid, SIGUSR1) != 0)
        return;
    for (int i = 0; i < 300; i++) {
        int status;
        pid_t r = waitpid(pid, &status, WNOHANG | WUNTRACED);
        if (r == pid && WIFSTOPPED(status))
            return;
        if (r != 0) /* it ended (a program that is not a kmrig suite dies of SIGUSR1) */
            return;
        struct timespec nap = {0, 10000000};
        nanosleep(&nap, NULL);
    }
}

/* The text after "] --- " on the first line of out whose "[ ... ]" tag is `tag` (cmocka's
"[  ERROR   ] --- 0x1 != 0x2", "[   LINE   ] --- file.c:12: error: Failure!"; the padding
differs between cmocka versions), or NULL. */
static const char *run_cmocka_line(const char *out, const char *tag, size_t *len)
{
    for (const char *p = out; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        const char *close = memchr(p, ']', n);
        if (p[0] == '[' && close && close + 5 <= p + n && !strncmp(close, "] --- ", 6)) {
            const char *t = p + 1;
            while (*t == ' ')
                t++;
            if ((size_t)(close - t) >= strlen(tag) && !strncmp(t, tag, strlen(tag))) {
                *len = n - (size_t)(close + 6 - p);
                return close + 6;
            }
        }
        p = nl ? nl + 1 : NULL;
    }
    return NULL;
}

/* cmocka's failure message and its location: "0x1 != 0x2 (at file.c:12)". */
static char *run_failure_message(const char *out)
{
    size_t n = 0, m = 0;
    const char *err = run_cmocka_line(out, "ERROR", &n);
    if (!err)
        return run_strdup("the test failed (no assertion message; see the output)");
    const char *line = run_cmocka_line(err, "LINE", &m);
    if (err[0] == '[' || n == 0) {
        /* fail_msg(): cmocka prints "ERROR: message" on its own and an empty ERROR tag */
        const char *e = strstr(out, "ERROR: ");
        err = e ? e + strlen("ERROR: ") : "fail()";
        n = strcspn(err, "\n");
    }
    char buf[1024];
    if (line) {
        const char *e = strstr(line, ": error:");
        if (e && (size_t)(e - line) < m)
            m = (size_t)(e - line);
        snprintf(buf, sizeof buf, "%.*s (at %.*s)", (int)n, err, (int)m, line);
    } else {
        snprintf(buf, sizeof buf, "%.*s", (int)n, err);
    }
    return run_strdup(buf);
}

static void run_classify(struct run_attempt *a, int status, int timed_out, unsigned timeout,
                         const char *report)
{
    char buf[512];
    a->details = NULL;
    if (timed_out) {
        a->outcome = RUN_ERROR;
        a->type = run_strdup("timeout");
        snprintf(buf, sizeof buf, "hung: killed after %u s of wall time (--timeout)", timeout);
        a->message = run_strdup(buf);
    } else if (WIFSIGNALED(status)) {
        a->outcome = RUN_ERROR;
        a->type = run_strdup("crash");
        snprintf(buf, sizeof buf, "crashed with signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
        a->message = run_strdup(buf);
    } else if (WEXITSTATUS(status) == 0) {
        a->outcome = RUN_PASSED;
        a->type = run_strdup("");
        a->message = run_strdup("");
    } else if (WEXITSTATUS(status) == RUN_EXIT_SKIPPED) {
        a->outcome = RUN_SKIPPED;
        a->type = run_strdup("skipped");
        const char *s = a->output ? strstr(a->output, "SKIPPED: ") : NULL;
        if (s) {
            s += strlen("SKIPPED: ");
            snprintf(buf, sizeof buf, "%.*s", (int)strcspn(s, "\n"), s);
            a->message = run_strdup(buf);
        } else {
            a->message = run_strdup("skipped");
        }
    } else if (WEXITSTATUS(status) == KMRIG_EXIT_BUGCHECK) {
        a->outcome = RUN_ERROR;
        a->type = run_strdup("bugcheck");
        a->details = run_read_file(report);
        if (a->details && a->details[0]) {
            snprintf(buf, sizeof buf, "%.*s", (int)strcspn(a->details, "\n"), a->details);
            a->message = run_strdup(buf);
        } else {
            a->message = run_strdup("bugcheck (no report file; see the output)");
        }
    } else if (WEXITSTATUS(status) == 1) {
        a->outcome = RUN_FAILED;
        a->type = run_strdup("assertion");
        a->message = run_failure_message(a->output);
    } else {
        a->outcome = RUN_ERROR;
        a->type = run_strdup("exit");
        snprintf(buf, sizeof buf, "the suite program exited with status %d%s", WEXITSTATUS(status),
                 WEXITSTATUS(status) == 127 ? " (it could not be started)" : "");
        a->message = run_strdup(buf);
    }
    if (!a->details)
        a->details = run_strdup(a->output);
}

/* A test that ended before its rig was closed (an assertion, a crash, a bugcheck, a hang killed,
 * a skip after opening) left its trace as a stream: complete it, with the reason as its last
 * event (kmrig_trace_complete). A test that died before it opened a rig gets a trace with only
 * that event; a passing test that never traced gets none. */
static void run_complete_trace(const struct run_opts *o, const struct run_report *r, size_t t,
                               const struct run_attempt *a)
{
    char path[4096], marker[600];
    run_test_file(o->trace, r, t, path, sizeof path);
    if (a->outcome == RUN_PASSED) {
        if (access(path, F_OK) != 0)
            return;
        snprintf(marker, sizeof marker, "test ended without closing its rig");
    } else if (a->outcome == RUN_SKIPPED) {
        snprintf(marker, sizeof marker, "test skipped: %s", a->message);
    } else {
        snprintf(marker, sizeof marker, "test died: %s", a->message);
    }
    int rc = kmrig_trace_complete(path, marker);
    if (rc < 0)
        run_say("kmrig run: cannot complete the trace %s: %s\n", path, strerror(-rc));
}

static const char *run_word(enum run_outcome o)
{
    switch (o) {
    case RUN_PASSED:
        return "PASS ";
    case RUN_FAILED:
        return "FAIL ";
    case RUN_ERROR:
        return "ERROR";
    case RUN_SKIPPED:
        return "SKIP ";
    case RUN_FLAKY:
        return "FLAKY";
    }
    return "?";
}

/* ---- the run ---- */

static int run_parse_uint(const char *opt, const char *s, unsigned long long max,
                          unsigned long long *v)
{
    char *end;
    errno = 0;
    *v = strtoull(s ? s : "", &end, 0);
    if (!s || !*s || *end || errno || *v > max || s[0] == '-') {
        fprintf(stderr, "kmrig run: %s wants a number up to %llu, not '%s'\n", opt, max,
                s ? s : "");
        return -1;
    }
    return 0;
}

/* Ctrl-C or a CI job's SIGTERM: the tests run in process groups of their own (so that a hang is
 * killed whole), which the terminal's signal does not reach; kmrig kills them before it goes. */
static volatile sig_atomic_t g_stop;

static void run_on_signal(int sig)
{
    g_stop = sig;
}

static int run_is_model(const char *uri)
{
    return !strncmp(uri, "sim", 3) || !strncmp(uri, "loop", 4) || !strncmp(uri, "null", 4);
}

/* ---- power and reset hooks ---- */

/* Runs `CMD ARG` with /bin/sh, the target's URI in $KMRIG_TARGET, its output kmrig's. A hook
 * still running after --timeout is killed (with its process group). `stoppable`: Ctrl-C kills
 * it too (not for `off`, which must run). Returns 0, or -1 after saying why it failed. */
static int run_hook(const struct run_opts *o, const char *what, const char *cmd, const char *arg,
                    int stoppable)
{
    size_t n = strlen(cmd) + (arg ? strlen(arg) : 0) + 2;
    char *line = malloc(n);
    if (!line) {
        fprintf(stderr, "kmrig run: out of memory\n");
        return -1;
    }
    snprintf(line, n, "%s%s%s", cmd, arg ? " " : "", arg ? arg : "");
    run_progress_clear();
    fflush(NULL);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "kmrig run: %s hook: fork: %s\n", what, strerror(errno));
        free(line);
        return -1;
    }
    if (pid == 0) {
        setenv("KMRIG_TARGET", o->target, 1);
        setpgid(0, 0);
        execl("/bin/sh", "sh", "-c", line, (char *)NULL);
        _exit(127);
    }
    setpgid(pid, pid);
    int status = 0, killed = 0;
    for (;;) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid || (w < 0 && errno != EINTR))
            break;
        if (!killed && ((stoppable && g_stop) || run_since(&t0) > o->timeout)) {
            killed = g_stop && stoppable ? 2 : 1;
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
        }
        struct timespec nap = {0, 5000000};
        nanosleep(&nap, NULL);
    }
    int rc = 0;
    if (killed == 1) {
        fprintf(stderr, "kmrig run: %s hook `%s` did not end in %u s (--timeout): killed\n", what,
                line, o->timeout);
        rc = -1;
    } else if (killed == 2) {
        rc = -1; /* stopped by a signal: the caller says so */
    } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        char how[96];
        if (WIFSIGNALED(status))
            snprintf(how, sizeof how, "died of signal %d", WTERMSIG(status));
        else
            snprintf(how, sizeof how, "exit status %d%s", WEXITSTATUS(status),
                     WEXITSTATUS(status) == 127 ? ": not found?" : "");
        fprintf(stderr, "kmrig run: %s hook `%s` failed (%s)%s\n", what, line, how,
                strcmp(what, "power") || strcmp(arg, "off") ? "; the run stops" : "");
        rc = -1;
    }
    free(line);
    return rc;
}

/* Between two tests: the reset command, else a reset through the link where the target has one
 * (a model needs none: each test opens a fresh one). Returns 0, or -1 (said why). */
static int run_reset(struct run_opts *o)
{
    if (o->reset_cmd)
        return run_hook(o, "reset", o->reset_cmd, NULL, 1);
    if (o->no_link_reset || run_is_model(o->target))
        return 0;
    struct kmrig_link *link = NULL;
    char err[256] = "";
    int rc = kmrig_link_open(o->target, &link, err, sizeof err);
    if (rc == KMRIG_LINK_OK) {
        rc = kmrig_link_reset(link);
        kmrig_link_close(link);
        if (rc == KMRIG_LINK_ENOTSUP) {
            o->no_link_reset = 1; /* this target cannot: no reset between tests */
            return 0;
        }
        if (rc == KMRIG_LINK_OK)
            return 0;
        snprintf(err, sizeof err, "%s", kmrig_link_strerror(rc));
    }
    run_progress_clear();
    fprintf(stderr, "kmrig run: resetting the board between tests failed: %s; the run stops\n",
            err[0] ? err : kmrig_link_strerror(rc));
    return -1;
}

static int run_tests(struct run_opts o, struct run_report r);

int kmrig_cli_run(int argc, char **argv)
{
    struct run_opts o = {.jobs = 1, .timeout = 300};
    const char *seed_arg = getenv("KMRIG_SEED");
    char **specs = g_specs = calloc((size_t)argc + 1, sizeof *specs);
    size_t nspecs = 0;
    unsigned long long v;
    atexit(run_free);
    if (!specs)
        return KMRIG_CLI_ERROR;
    o.target = getenv("KMRIG_TARGET");
    o.power_cmd = getenv("KMRIG_POWER_CMD");
    o.reset_cmd = getenv("KMRIG_RESET_CMD");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(run_help, stdout);
            return KMRIG_CLI_OK;
        } else if (!strcmp(a, "--list")) {
            o.list = 1;
        } else if (!strcmp(a, "--verbose") || !strcmp(a, "-v")) {
            o.verbose = 1;
        } else if (a[0] == '-' && !val) {
            fprintf(stderr, "kmrig run: %s: unknown option, or its value is missing\n%s", a,
                    run_help);
            return KMRIG_CLI_USAGE;
        } else if (!strcmp(a, "--target")) {
            o.target = argv[++i];
        } else if (!strcmp(a, "--power-cmd")) {
            o.power_cmd = argv[++i];
        } else if (!strcmp(a, "--reset-cmd")) {
            o.reset_cmd = argv[++i];
        } else if (!strcmp(a, "--junit")) {
            o.junit = argv[++i];
        } else if (!strcmp(a, "--trace")) {
            o.trace = argv[++i];
        } else if (!strcmp(a, "--waves")) {
            o.waves = argv[++i];
        } else if (!strcmp(a, "--seed")) {
            seed_arg = argv[++i];
            if (run_parse_uint("--seed", seed_arg, UINT64_MAX, &v) < 0)
                return KMRIG_CLI_USAGE;
        } else if (!strcmp(a, "--jobs") || !strcmp(a, "-j")) {
            if (run_parse_uint("--jobs", argv[++i], 256, &v) < 0 || v == 0)
                return KMRIG_CLI_USAGE;
            o.jobs = (unsigned)v;
        } else if (!strcmp(a, "--retries")) {
            if (run_parse_uint("--retries", argv[++i], 100, &v) < 0)
                return KMRIG_CLI_USAGE;
            o.retries = (unsigned)v;
        } else if (!strcmp(a, "--timeout")) {
            if (run_parse_uint("--timeout", argv[++i], 86400, &v) < 0 || v == 0)
                return KMRIG_CLI_USAGE;
            o.timeout = (unsigned)v;
        } else if (a[0] == '-') {
            fprintf(stderr, "kmrig run: unknown option '%s'\n%s", a, run_help);
            return KMRIG_CLI_USAGE;
        } else {
            specs[nspecs++] = argv[i];
        }
    }
    if (!o.target || !*o.target)
        o.target = "sim";
    if (seed_arg) {
        if (run_parse_uint("KMRIG_SEED", seed_arg, UINT64_MAX, &v) < 0)
            return KMRIG_CLI_USAGE;
        o.seed = v;
    } else {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        o.seed = ((uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ (uint64_t)getpid()) %
                     1000000000ull +
                 1;
    }
    if (nspecs == 0)
        specs[nspecs++] = RUN_DEFAULT_SUITE;
    if (o.waves && strncmp(o.target, "sim", 3) != 0) {
        fprintf(stderr, "kmrig run: --waves needs the model (a sim target), not '%s'\n", o.target);
        return KMRIG_CLI_USAGE;
    }
    if (o.power_cmd && !*o.power_cmd)
        o.power_cmd = NULL;
    if (o.reset_cmd && !*o.reset_cmd)
        o.reset_cmd = NULL;
    if (o.jobs > 1 && !run_is_model(o.target)) {
        fprintf(stderr, "kmrig run: --jobs %u: a board runs one test at a time; using 1\n", o.jobs);
        o.jobs = 1;
    }
    if (o.jobs > 1 && o.reset_cmd) {
        fprintf(stderr,
                "kmrig run: --jobs %u: a reset between tests runs them one at a time; "
                "using 1\n",
                o.jobs);
        o.jobs = 1;
    }

    /* the suites and their tests */
    struct run_report r = {.target = o.target, .seed = o.seed};
    r.suites = g_run.suites = calloc(nspecs, sizeof *r.suites);
    if (!r.suites)
        return KMRIG_CLI_ERROR;
    size_t cap = 64;
    r.tests = g_run.tests = calloc(cap, sizeof *r.tests);
    if (!r.tests)
        return KMRIG_CLI_ERROR;
    for (size_t s = 0; s < nspecs; s++) {
        char *spec = run_strdup(specs[s]);
        const char *glob = NULL;
        char *colon = strrchr(spec, ':');
        if (colon && !strchr(colon, '/')) {
            *colon = 0;
            glob = colon + 1;
        }
        char *path = run_find_suite(spec);
        if (!path) {
            fprintf(stderr,
                    "kmrig run: no suite '%s': not a path to a program, and not found in "
                    "$KMRIG_SUITE_PATH, ./kmrig-suites, %s/ next to kmrig, or %s\n",
                    spec, KMRIG_INSTALL_SUITE_DIR, KMRIG_BUILD_SUITE_DIR);
            free(spec);
            return KMRIG_CLI_ERROR;
        }
        const char *base = strrchr(path, '/');
        r.suites[s].spec = spec;
        r.suites[s].path = path;
        r.suites[s].name = run_strdup(base ? base + 1 : path);
        g_run.nsuites = ++r.nsuites;
        char *largv[] = {path, "--list", NULL};
        char *list = NULL;
        int rc = run_capture(largv, &list);
        r.suites[s].list = list;
        if (rc != 0 || !list) {
            fprintf(stderr, "kmrig run: %s --list failed (status %d): is it a kmrig suite?\n", path,
                    rc);
            return KMRIG_CLI_ERROR;
        }
        size_t matched = 0;
        for (char *save = NULL, *name = strtok_r(list, "\n", &save); name;
             name = strtok_r(NULL, "\n", &save)) {
            if (!*name || (glob && fnmatch(glob, name, 0) != 0))
                continue;
            if (r.ntests == cap) {
                struct run_test *nt = realloc(r.tests, 2 * cap * sizeof *nt);
                if (!nt)
                    return KMRIG_CLI_ERROR;
                memset(nt + cap, 0, cap * sizeof *nt);
                r.tests = g_run.tests = nt;
                cap *= 2;
            }
            r.tests[r.ntests].suite = s;
            r.tests[r.ntests].name = name; /* points into list, kept for the run */
            g_run.ntests = ++r.ntests;
            matched++;
        }
        if (!matched) {
            fprintf(stderr, "kmrig run: suite '%s' has no test%s%s\n", spec,
                    glob ? " matching " : "", glob ? glob : "");
            return KMRIG_CLI_USAGE;
        }
    }
    if (o.list) {
        for (size_t t = 0; t < r.ntests; t++)
            printf("%s:%s\n", r.suites[r.tests[t].suite].name, r.tests[t].name);
        return KMRIG_CLI_OK;
    }
    struct sigaction sa = {.sa_handler = run_on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    /* the board's power: on before anything touches it, off after, whatever the run's end */
    if (o.power_cmd && run_hook(&o, "power", o.power_cmd, "on", 1) < 0) {
        run_hook(&o, "power", o.power_cmd, "off", 0);
        return g_stop ? 128 + (int)g_stop : KMRIG_CLI_HOOK;
    }
    int rc = run_tests(o, r);
    if (o.power_cmd && run_hook(&o, "power", o.power_cmd, "off", 0) < 0 && rc == KMRIG_CLI_OK)
        rc = KMRIG_CLI_HOOK;
    return rc;
}

/* The run proper, once the suites are known and the board is powered: probes the target, runs
 * every test (a reset between tests), prints the summary and writes the reports. */
static int run_tests(struct run_opts o, struct run_report r)
{
    int rc = kmrig_cli_probe_target(o.target);
    if (rc != KMRIG_CLI_OK) {
        if (rc == KMRIG_CLI_NO_TARGET)
            fprintf(stderr, "kmrig run: no target: nothing ran\n");
        return rc;
    }
    for (size_t t = 0; t < r.ntests; t++) {
        r.tests[t].tries = calloc(o.retries + 1, sizeof *r.tests[t].tries);
        if (!r.tests[t].tries)
            return KMRIG_CLI_ERROR;
    }

    char tmpdir[] = "/tmp/kmrig-run-XXXXXX";
    if (!mkdtemp(tmpdir)) {
        fprintf(stderr, "kmrig run: cannot make a temporary directory: %s\n", strerror(errno));
        return KMRIG_CLI_ERROR;
    }
    g_progress.tty = isatty(1);
    g_progress.total = r.ntests;
    printf("kmrig run: %zu test(s) from %zu suite(s) on %s, seed %llu%s\n", r.ntests, r.nsuites,
           o.target, (unsigned long long)o.seed, o.jobs > 1 ? "" : "");
    fflush(stdout);

    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct run_job *jobs = g_jobs = calloc(o.jobs, sizeof *jobs);
    size_t *queue = g_queue = calloc(r.ntests * (o.retries + 1) + 1, sizeof *queue);
    if (!jobs || !queue)
        return KMRIG_CLI_ERROR;
    size_t qhead = 0, qtail = 0;
    for (size_t t = 0; t < r.ntests; t++)
        queue[qtail++] = t;
    unsigned running = 0, seq = 0, passed = 0, failed = 0, errors = 0, skipped = 0, flaky = 0;

    while (qhead < qtail || running) {
        if (g_stop) {
            for (unsigned k = 0; k < o.jobs; k++)
                if (jobs[k].pid > 0) {
                    kill(-jobs[k].pid, SIGKILL);
                    kill(jobs[k].pid, SIGKILL);
                    while (waitpid(jobs[k].pid, NULL, 0) < 0 && errno == EINTR)
                        ;
                    unlink(jobs[k].out);
                    unlink(jobs[k].report);
                }
            rmdir(tmpdir);
            run_progress_clear();
            fprintf(stderr, "kmrig run: stopped by signal %d (%s); the running tests were killed\n",
                    (int)g_stop, strsignal((int)g_stop));
            return 128 + (int)g_stop;
        }
        /* start what fits */
        for (unsigned j = 0; j < o.jobs && qhead < qtail; j++) {
            if (jobs[j].pid > 0)
                continue;
            size_t t = queue[qhead];
            if (seq > 0 && run_reset(&o) < 0) {
                rmdir(tmpdir);
                run_progress_clear();
                return KMRIG_CLI_HOOK;
            }
            if (g_stop)
                break; /* stopped during the reset: handled at the top of the loop */
            qhead++;
            if (run_spawn(&o, &r, tmpdir, t, seq++, &jobs[j]) < 0) {
                fprintf(stderr, "kmrig run: fork: %s\n", strerror(errno));
                return KMRIG_CLI_ERROR;
            }
            running++;
            run_progress_show(r.suites[r.tests[t].suite].name, r.tests[t].name);
        }
        /* reap one, or time one out */
        int status = 0;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        struct run_job *j = NULL;
        int timed_out = 0;
        if (pid > 0) {
            for (unsigned k = 0; k < o.jobs; k++)
                if (jobs[k].pid == pid)
                    j = &jobs[k];
        } else {
            for (unsigned k = 0; k < o.jobs && !j; k++)
                if (jobs[k].pid > 0 && run_since(&jobs[k].start) > o.timeout) {
                    run_hang_report(jobs[k].pid);
                    kill(-jobs[k].pid, SIGKILL);
                    kill(jobs[k].pid, SIGKILL);
                    while (waitpid(jobs[k].pid, &status, 0) < 0 && errno == EINTR)
                        ;
                    j = &jobs[k];
                    timed_out = 1;
                }
            if (!j) {
                struct timespec nap = {0, 2000000};
                nanosleep(&nap, NULL);
                continue;
            }
        }
        if (!j)
            continue; /* not one of ours */
        running--;
        struct run_test *t = &r.tests[j->test];
        struct run_attempt *a = &t->tries[t->attempts++];
        a->seconds = run_since(&j->start);
        a->output = run_read_file(j->out);
        if (!a->output)
            a->output = run_strdup("");
        run_classify(a, status, timed_out, o.timeout, j->report);
        if (o.trace)
            run_complete_trace(&o, &r, j->test, a);
        unlink(j->out);
        unlink(j->report);
        j->pid = 0;
        t->seconds += a->seconds;
        const char *sname = r.suites[t->suite].name;

        if ((a->outcome == RUN_FAILED || a->outcome == RUN_ERROR) && t->attempts <= o.retries) {
            run_say("RETRY %s.%s: %s (attempt %u of %u)\n", sname, t->name, a->message, t->attempts,
                    o.retries + 1);
            queue[qtail++] = j->test;
            continue;
        }
        t->outcome = a->outcome == RUN_PASSED && t->attempts > 1 ? RUN_FLAKY : a->outcome;
        g_progress.done++;
        switch (t->outcome) {
        case RUN_PASSED:
            passed++;
            break;
        case RUN_FLAKY:
            flaky++;
            break;
        case RUN_SKIPPED:
            skipped++;
            break;
        case RUN_FAILED:
            failed++;
            break;
        case RUN_ERROR:
            errors++;
            break;
        }
        g_progress.failed = failed + errors;
        if (t->outcome == RUN_FAILED || t->outcome == RUN_ERROR) {
            run_say("%s %s.%s: %s (%.2fs)\n", run_word(t->outcome), sname, t->name, a->message,
                    a->seconds);
            run_progress_clear();
            run_indent(a->output);
            if (a->outcome == RUN_ERROR && !strcmp(a->type, "bugcheck") && a->details)
                run_indent(a->details);
            printf("    reproduce: kmrig run --target %s --seed %llu %s:%s\n", o.target,
                   (unsigned long long)o.seed, r.suites[t->suite].spec, t->name);
        } else if (t->outcome == RUN_SKIPPED) {
            run_say("SKIP  %s.%s: %s\n", sname, t->name, a->message);
        } else if (t->outcome == RUN_FLAKY) {
            run_say("FLAKY %s.%s: failed %u time(s), then passed (%.2fs)\n", sname, t->name,
                    t->attempts - 1, t->seconds);
        } else if (!g_progress.tty || o.verbose) {
            run_say("PASS  %s.%s (%.2fs)\n", sname, t->name, a->seconds);
        }
        if (o.verbose && t->outcome != RUN_FAILED && t->outcome != RUN_ERROR)
            run_indent(a->output);
        run_progress_show(sname, t->name);
    }
    run_progress_clear();
    r.seconds = run_since(&t0);
    rmdir(tmpdir);

    printf("kmrig run: %zu test(s): %u passed, %u failed, %u error(s), %u flaky, %u skipped in "
           "%.1fs (target %s, seed %llu)\n",
           r.ntests, passed, failed, errors, flaky, skipped, r.seconds, o.target,
           (unsigned long long)o.seed);
    if (o.junit) {
        if (run_write_junit(&r, o.junit) < 0) {
            fprintf(stderr, "kmrig run: cannot write %s: %s\n", o.junit, strerror(errno));
            return KMRIG_CLI_ERROR;
        }
        printf("kmrig run: JUnit report in %s\n", o.junit);
    }
    if (failed || errors)
        return KMRIG_CLI_FAILED;
    if (!passed && !flaky)
        return KMRIG_CLI_NO_TARGET; /* every test skipped */
    return KMRIG_CLI_OK;
}

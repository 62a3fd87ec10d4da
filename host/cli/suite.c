/*
 * suite.c - the main program of a regression suite (kmrig/suite.h): lists its tests, runs each in
 * its own process (or one in this process for `kmrig run`), and gives tests their target, seed
 * and trace file. Linux-facing code: snake_case, prints only what the suite's user asked for.
 */
#define _GNU_SOURCE
#include <kmrig/suite.h>
#include <kmrig/trace.h>

#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static struct {
    char target[512];
    uint64_t seed;
    uint64_t random;
    const char *trace;
    kmrig_config config;
    char **names; /* the test names given (argv entries), for the life of the process */
} g_suite;

static int suite_usage(const char *prog)
{
    fprintf(stderr,
            "usage: %s [--target URI] [--seed N] [--trace FILE] [--no-fork] [NAME...]\n"
            "       %s --list\n"
            "Runs the suite's tests (NAME: a test name or a glob), each in its own process.\n",
            prog, prog);
    return 2;
}

/* A JSON string at p (after its opening quote) into out; returns the text after its closing
 * quote, or NULL. Escapes: \" \\ \/ and \uXXXX below 0x80 (what kmrig list writes). */
static const char *suite_json_string(const char *p, char *out, size_t n)
{
    size_t k = 0;
    for (; *p && *p != '"'; p++) {
        char c = *p;
        if (c == '\\') {
            p++;
            if (*p == 'u') {
                unsigned v = 0;
                if (sscanf(p + 1, "%4x", &v) != 1 || v >= 0x80)
                    return NULL;
                c = (char)v;
                p += 4;
            } else if (*p == '"' || *p == '\\' || *p == '/') {
                c = *p;
            } else {
                return NULL;
            }
        }
        if (k + 1 < n)
            out[k++] = c;
    }
    out[k] = 0;
    return *p == '"' ? p + 1 : NULL;
}

/* The URI of board `id` in the "kmrig_boards" map of the file `kmrig list --ctest-resources`
 * wrote ($KMRIG_BOARDS_FILE). 1 found, 0 not in the map, -1 the file cannot be read. */
static int suite_board_from_file(const char *path, const char *id, char *out, size_t n)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    char chunk[4096];
    size_t got;
    while (mem && (got = fread(chunk, 1, sizeof chunk, f)) > 0)
        fwrite(chunk, 1, got, mem);
    fclose(f);
    if (!mem || fclose(mem) != 0) {
        free(text);
        return -1;
    }
    int found = 0;
    const char *p = strstr(text, "\"kmrig_boards\"");
    p = p ? strchr(p, '{') : NULL;
    char key[256], uri[512];
    while (p && !found) {
        p = strchr(p, '"');
        if (!p || !(p = suite_json_string(p + 1, key, sizeof key)))
            break;
        p = strchr(p, '"');
        if (!p || !(p = suite_json_string(p + 1, uri, sizeof uri)))
            break;
        if (!strcmp(key, id)) {
            snprintf(out, n, "%s", uri);
            found = 1;
        }
        while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
            p++;
        if (*p != ',')
            break;
    }
    free(text);
    return found;
}

/* The board CTest handed this test: group 0's first resource, "id:ID,slots:N". */
static int suite_target_from_ctest(char *out, size_t n)
{
    const char *count = getenv("CTEST_RESOURCE_GROUP_COUNT");
    const char *types = getenv("CTEST_RESOURCE_GROUP_0");
    if (!count || atoi(count) < 1 || !types || !*types)
        return 0;
    char type[64], var[128];
    size_t len = strcspn(types, ",");
    if (len >= sizeof type)
        return 0;
    for (size_t i = 0; i < len; i++)
        type[i] = (char)toupper((unsigned char)types[i]);
    type[len] = 0;
    snprintf(var, sizeof var, "CTEST_RESOURCE_GROUP_0_%s", type);
    const char *alloc = getenv(var);
    if (!alloc || strncmp(alloc, "id:", 3) != 0) {
        fprintf(stderr,
                "kmrig suite: %s is not set or not \"id:ID,slots:N\"; ignoring the "
                "resource group\n",
                var);
        return 0;
    }
    char id[128];
    len = strcspn(alloc + 3, ",");
    if (len == 0 || len >= sizeof id)
        return 0;
    memcpy(id, alloc + 3, len);
    id[len] = 0;
    snprintf(var, sizeof var, "KMRIG_BOARD_");
    size_t vl = strlen(var);
    for (size_t i = 0; id[i] && vl + 1 < sizeof var; i++)
        var[vl++] = isalnum((unsigned char)id[i]) ? (char)toupper((unsigned char)id[i]) : '_';
    var[vl] = 0;
    const char *uri = getenv(var), *file = getenv("KMRIG_BOARDS_FILE");
    int in_file = 0;
    if (!(uri && *uri) && file && *file) {
        in_file = suite_board_from_file(file, id, out, n);
        if (in_file < 0) {
            fprintf(stderr, "kmrig suite: cannot read $KMRIG_BOARDS_FILE %s: %s\n", file,
                    strerror(errno));
            return -1;
        }
    }
    if (uri && *uri)
        snprintf(out, n, "%s", uri);
    else if (in_file)
        ; /* out has the board's URI from the file */
    else if (strncmp(id, "sim", 3) == 0)
        snprintf(out, n, "sim"); /* a model instance standing in for a board */
    else {
        fprintf(stderr,
                "kmrig suite: CTest gave board '%s' but %s is not set (its target URI)%s%s\n", id,
                var, file && *file ? " and it is not in $KMRIG_BOARDS_FILE " : "",
                file && *file ? file : "");
        return -1;
    }
    return 1;
}

const char *kmrig_suite_target(void)
{
    if (g_suite.target[0])
        return g_suite.target;
    const char *fallback = getenv("KMRIG_DEFAULT_TARGET");
    return fallback && *fallback ? fallback : "sim";
}

uint64_t kmrig_suite_seed(void)
{
    return g_suite.seed;
}

uint64_t kmrig_suite_random(void)
{
    uint64_t x = g_suite.random;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    g_suite.random = x;
    return x * 0x2545F4914F6CDD1Dull;
}

const char *kmrig_suite_trace_path(void)
{
    return g_suite.trace;
}

void kmrig_suite_rig_options(struct kmrig_rig_options *o)
{
    kmrig_rig_options_init(o);
    kmrig_config_init(&g_suite.config);
    g_suite.config.trace_path = g_suite.trace;
    o->target = kmrig_suite_target();
    o->processors = 1;
    o->time_budget_ns = 600ull * 1000000000ull;
    o->config = &g_suite.config;
}

kmrig_rig *kmrig_suite_rig_open(void)
{
    struct kmrig_rig_options o;
    kmrig_suite_rig_options(&o);
    kmrig_rig *rig = NULL;
    NTSTATUS s = kmrig_rig_open(&o, &rig);
    if (!NT_SUCCESS(s))
        fail_msg("kmrig_rig_open(\"%s\") returned 0x%08x", o.target, (unsigned)s);
    return rig;
}

void kmrig_suite_skip(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("SKIPPED: ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(NULL);
    _exit(KMRIG_EXIT_SKIPPED);
}

static int suite_selected(const char *name, char **names, int count)
{
    if (count == 0)
        return 1;
    for (int i = 0; i < count; i++)
        if (fnmatch(names[i], name, 0) == 0)
            return 1;
    return 0;
}

/* `kmrig run` sends SIGUSR1 before it kills a test at --timeout: this thread answers with the
 * interrupt report of every open runtime on stderr (the test's output), then stops the process
 * (SIGSTOP), which tells kmrig the report is complete. */
static void *suite_hang_reporter(void *arg)
{
    sigset_t *set = arg;
    int sig;
    while (sigwait(set, &sig) == 0) {
        static const char head[] = "\n[ HANG     ] killed by kmrig run at --timeout; the "
                                   "interrupt lines at that moment:\n";
        fflush(NULL);
        ssize_t w = write(2, head, sizeof head - 1);
        (void)w;
        kmrig_runtime_report_all(2);
        raise(SIGSTOP);
    }
    return NULL;
}

/* Before anything starts a thread (they inherit the blocked SIGUSR1); only for kmrig run. */
static void suite_arm_hang_report(void)
{
    static sigset_t set;
    const char *on = getenv(KMRIG_HANG_REPORT_ENV);
    if (!on || strcmp(on, "1"))
        return;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
        return;
    pthread_t th;
    if (pthread_create(&th, NULL, suite_hang_reporter, &set) == 0)
        pthread_detach(th);
}

static int suite_run_one(const char *group, const struct CMUnitTest *test)
{
    cmocka_set_test_filter(test->name);
    g_suite.random = g_suite.seed ? g_suite.seed : 1;
    unsigned lost = kmrig_rig_links_lost(NULL, 0);
    int rc = _cmocka_run_group_tests(group, test, 1, NULL, NULL);
    char what[160];
    if (kmrig_rig_links_lost(what, sizeof what) != lost) {
        /* the driver saw failed accesses (all ones) and may have carried on: the test did not
         * run against the device, so it fails whatever it asserted */
        printf("[  ERROR   ] %s: the link to the target dropped during the test (%s)\n", test->name,
               what);
        rc = 1;
    }
    fflush(NULL);
    return rc == 0 ? 0 : 1;
}

int kmrig_suite_main(int argc, char **argv, const char *name, const struct CMUnitTest *tests,
                     size_t count)
{
    int fork_tests = 1, list = 0, nnames = 0;
    char **names = g_suite.names = calloc((size_t)argc + 1, sizeof *names);
    const char *seed = getenv("KMRIG_SEED"), *target = NULL;
    if (!names)
        return 2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--list"))
            list = 1;
        else if (!strcmp(a, "--no-fork"))
            fork_tests = 0;
        else if (!strcmp(a, "--target") && i + 1 < argc)
            target = argv[++i];
        else if (!strcmp(a, "--seed") && i + 1 < argc)
            seed = argv[++i];
        else if (!strcmp(a, "--trace") && i + 1 < argc)
            g_suite.trace = argv[++i];
        else if (!strcmp(a, "--help") || !strcmp(a, "-h"))
            return suite_usage(argv[0]) - 2;
        else if (a[0] == '-')
            return suite_usage(argv[0]);
        else
            names[nnames++] = argv[i];
    }
    if (list) {
        for (size_t i = 0; i < count; i++)
            printf("%s\n", tests[i].name);
        return 0;
    }
    if (seed) {
        char *end;
        errno = 0;
        g_suite.seed = strtoull(seed, &end, 0);
        if (errno || *end || !*seed) {
            fprintf(stderr, "%s: bad seed '%s' (a number)\n", argv[0], seed);
            return 2;
        }
    } else {
        g_suite.seed = 1;
    }
    if (target)
        snprintf(g_suite.target, sizeof g_suite.target, "%s", target);
    else if (getenv("KMRIG_TARGET") && *getenv("KMRIG_TARGET"))
        snprintf(g_suite.target, sizeof g_suite.target, "%s", getenv("KMRIG_TARGET"));
    else if (suite_target_from_ctest(g_suite.target, sizeof g_suite.target) < 0)
        return 2;

    const char *slash = strrchr(argv[0], '/');
    const char *group = name ? name : slash ? slash + 1 : argv[0];

    if (!fork_tests) {
        if (nnames != 1) {
            fprintf(stderr, "%s: --no-fork runs exactly one test (give its name)\n", argv[0]);
            return 2;
        }
        for (size_t i = 0; i < count; i++)
            if (!strcmp(tests[i].name, names[0])) {
                suite_arm_hang_report();
                return suite_run_one(group, &tests[i]);
            }
        fprintf(stderr, "%s: no test named '%s' (--list shows them)\n", argv[0], names[0]);
        return 2;
    }

    unsigned passed = 0, failed = 0, skipped = 0, selected = 0;
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (size_t i = 0; i < count; i++) {
        if (!suite_selected(tests[i].name, names, nnames))
            continue;
        selected++;
        fflush(NULL);
        pid_t pid = fork();
        if (pid < 0) {
            perror("fork");
            return 2;
        }
        if (pid == 0)
            _exit(suite_run_one(group, &tests[i]));
        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
            passed++;
        } else if (WIFEXITED(status) && WEXITSTATUS(status) == KMRIG_EXIT_SKIPPED) {
            skipped++;
            printf("[  SKIPPED ] %s\n", tests[i].name);
        } else {
            failed++;
            if (g_suite.trace) { /* the test's trace stream, completed (kmrig/trace.h) */
                char marker[160];
                if (WIFSIGNALED(status))
                    snprintf(marker, sizeof marker, "test died: crashed with signal %d (%s)",
                             WTERMSIG(status), strsignal(WTERMSIG(status)));
                else
                    snprintf(marker, sizeof marker, "test died: %s (exit status %d)",
                             WEXITSTATUS(status) == KMRIG_EXIT_BUGCHECK ? "bugcheck"
                                                                        : "assertion failed",
                             WEXITSTATUS(status));
                kmrig_trace_complete(g_suite.trace, marker);
            }
            if (WIFSIGNALED(status))
                printf("[  FAILED  ] %s: crashed with signal %d (%s)\n", tests[i].name,
                       WTERMSIG(status), strsignal(WTERMSIG(status)));
            else if (WEXITSTATUS(status) == KMRIG_EXIT_BUGCHECK)
                printf("[  FAILED  ] %s: bugcheck (report above)\n", tests[i].name);
            printf("    reproduce: %s --target %s --seed %llu %s\n", argv[0], kmrig_suite_target(),
                   (unsigned long long)g_suite.seed, tests[i].name);
        }
    }
    if (!selected) {
        fprintf(stderr, "%s: no test matches (--list shows them)\n", argv[0]);
        return 2;
    }
    printf("%s: %u passed, %u failed, %u skipped (target %s, seed %llu)\n", group, passed, failed,
           skipped, kmrig_suite_target(), (unsigned long long)g_suite.seed);
    if (failed)
        return 1;
    return passed ? 0 : KMRIG_EXIT_SKIPPED;
}

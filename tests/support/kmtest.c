#define _GNU_SOURCE
#include "kmtest.h"

#include <errno.h>
#include <fnmatch.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int kmtest_selected(const char *name, int argc, char **argv, int first)
{
    if (first >= argc)
        return 1;
    for (int i = first; i < argc; i++)
        if (fnmatch(argv[i], name, 0) == 0)
            return 1;
    return 0;
}

static double kmtest_elapsed(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static void kmtest_print_report(const char *path)
{
    FILE *f = fopen(path, "r");
    char line[512];
    if (!f)
        return;
    while (fgets(line, sizeof line, f))
        fprintf(stderr, "    | %s", line);
    fclose(f);
}

int kmtest_main(int argc, char **argv, const char *group, const struct CMUnitTest *tests,
                size_t count)
{
    int first = 1, fork_tests = 1;
    if (argc > 1 && strcmp(argv[1], "--list") == 0) {
        for (size_t i = 0; i < count; i++)
            printf("%s\n", tests[i].name);
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "--no-fork") == 0) {
        fork_tests = 0;
        first = 2;
    }
    const char *slash = strrchr(group, '/');
    group = slash ? slash + 1 : group;
    const char *tmo = getenv("KMTEST_TIMEOUT");
    unsigned timeout = tmo ? (unsigned)atoi(tmo) : 120;

    if (!fork_tests) {
        if (first < argc)
            cmocka_set_test_filter(argv[first]);
        return _cmocka_run_group_tests(group, tests, count, NULL, NULL);
    }

    unsigned passed = 0, failed = 0;
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (size_t i = 0; i < count; i++) {
        const char *name = tests[i].name;
        if (!kmtest_selected(name, argc, argv, first))
            continue;
        char report[128];
        snprintf(report, sizeof report, "/tmp/kmtest-%d-%zu.bugcheck", (int)getpid(), i);
        unlink(report);
        struct timespec t0;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        fflush(NULL);
        pid_t pid = fork();
        if (pid < 0) {
            perror("kmtest: fork");
            return 2;
        }
        if (pid == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL); /* a runner killed by ctest takes its test along */
            setenv(KMRIG_BUGCHECK_REPORT_ENV, report, 1);
            alarm(timeout);
            /* Only this test's output is of interest: silence cmocka's per-group banner lines. */
            cmocka_set_test_filter(name);
            int rc = _cmocka_run_group_tests(group, &tests[i], 1, NULL, NULL);
            fflush(NULL);
            _exit(rc == 0 ? 0 : 1);
        }
        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
        double secs = kmtest_elapsed(&t0);
        int ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        if (ok) {
            passed++;
            printf("[  PASSED  ] %s (%.2fs)\n", name, secs);
        } else {
            failed++;
            if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
                printf("[  FAILED  ] %s: hung, killed after %us (KMTEST_TIMEOUT)\n", name, timeout);
            else if (WIFSIGNALED(status))
                printf("[  FAILED  ] %s: crashed with signal %d (%s)\n", name, WTERMSIG(status),
                       strsignal(WTERMSIG(status)));
            else if (WEXITSTATUS(status) == KMRIG_EXIT_BUGCHECK)
                printf("[  FAILED  ] %s: bugcheck\n", name);
            else
                printf("[  FAILED  ] %s (exit %d)\n", name, WEXITSTATUS(status));
            kmtest_print_report(report);
            printf("    reproduce: %s %s\n", argv[0], name);
        }
        unlink(report);
    }
    printf("%s: %u passed, %u failed\n", group, passed, failed);
    return failed ? 1 : 0;
}

kmrig_runtime *kmtest_runtime_cfg(const kmrig_config *cfg)
{
    kmrig_runtime *rt = NULL;
    int rc = kmrig_runtime_create(cfg, &rt);
    assert_int_equal(rc, 0);
    assert_non_null(rt);
    return rt;
}

kmrig_runtime *kmtest_runtime(unsigned processors)
{
    kmrig_config cfg;
    kmrig_config_init(&cfg);
    cfg.processors = processors;
    cfg.time_budget_ns = 600ull * 1000000000ull; /* 10 simulated minutes */
    return kmtest_runtime_cfg(&cfg);
}

ULONG kmtest_bugcheck_of(void (*fn)(void *), void *arg, ULONG_PTR params[4])
{
    return kmtest_bugcheck_report_of(fn, arg, params, NULL, 0);
}

ULONG kmtest_bugcheck_report_of(void (*fn)(void *), void *arg, ULONG_PTR params[4], char *text,
                                size_t size)
{
    char report[128];
    static unsigned seq;
    snprintf(report, sizeof report, "/tmp/kmtest-%d-bc%u.txt", (int)getpid(), seq++);
    unlink(report);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        setenv(KMRIG_BUGCHECK_REPORT_ENV, report, 1);
        /* The child's bugcheck report is expected: keep it off the test's stderr. */
        if (!getenv("KMTEST_SHOW_EXPECTED"))
            (void)!freopen("/dev/null", "w", stderr);
        alarm(60);
        fn(arg);
        _exit(0);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    ULONG code = 0;
    FILE *f = fopen(report, "r");
    if (f) {
        unsigned long long p[4] = {0};
        unsigned c = 0;
        if (fscanf(f, "BUGCHECK 0x%x (0x%llx, 0x%llx, 0x%llx, 0x%llx)", &c, &p[0], &p[1], &p[2],
                   &p[3]) >= 1)
            code = c;
        if (params)
            for (int i = 0; i < 4; i++)
                params[i] = (ULONG_PTR)p[i];
        if (text && size) {
            rewind(f);
            size_t got = fread(text, 1, size - 1, f);
            text[got] = 0;
        }
        fclose(f);
        unlink(report);
    }
    if (code)
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == KMRIG_EXIT_BUGCHECK);
    return code;
}

void kmtest_junk(void *p, size_t n)
{
    memset(p, 0xA5, n);
}

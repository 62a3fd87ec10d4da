/*
 * test_cli.c - runs the kmrig command as a user would (docs/cli.md) and checks its exit codes, its
 * output, the JUnit XML it writes (parsed with expat) and the trace files (parsed as JSON).
 *
 * KMRIG_EXE, CLI_PASS_SUITE, CLI_FAIL_SUITE and (with the model) REFSOC_SUITE are the paths of
 * the programs, from CMake.
 */
#define _GNU_SOURCE
#include "kmtest.h"

#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifdef HAVE_EXPAT
#include <expat.h>
#endif

/* ---- running kmrig ---- */

static char g_out[1 << 16];

static int run_argv(const char **argv);

/* Runs kmrig with args (NULL-terminated), stdout+stderr into g_out; returns the exit status. */
static int kmrig(const char *arg0, ...)
{
    const char *argv[32];
    int n = 0;
    argv[n++] = KMRIG_EXE;
    va_list ap;
    va_start(ap, arg0);
    for (const char *a = arg0; a && n < 31; a = va_arg(ap, const char *))
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    return run_argv(argv);
}

/* The same for any program. */
static int run(const char *prog, ...)
{
    const char *argv[32];
    int n = 0;
    argv[n++] = prog;
    va_list ap;
    va_start(ap, prog);
    for (const char *a = va_arg(ap, const char *); a && n < 31; a = va_arg(ap, const char *))
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    return run_argv(argv);
}

static int run_argv(const char **argv)
{
    char path[] = "/tmp/kmrig-cli-out-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
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
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

static void tmp_path(char *out, size_t n, const char *what)
{
    snprintf(out, n, "/tmp/kmrig-cli-%d-%s", (int)getpid(), what);
    unlink(out);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = 0;
    fclose(f);
    return buf;
}

/* ---- JUnit XML, parsed ---- */

#ifdef HAVE_EXPAT
#define MAX_CASES 32
struct junit_case {
    char classname[128], name[128];
    char result[32]; /* "", "failure", "error", "skipped" */
    char message[512], type[64];
    unsigned flaky, reruns; /* flakyFailure/flakyError, rerunFailure/rerunError elements */
    char out[2048];         /* <system-out> */
};
struct junit {
    int root_ok, depth_err;
    unsigned tests, failures, errors, skipped, suites;
    struct junit_case cases[MAX_CASES];
    unsigned ncases;
    struct junit_case *cur;
    char *text;
    size_t text_cap;
    int in_out;
};

static const char *attr(const XML_Char **a, const char *name)
{
    for (; a && a[0]; a += 2)
        if (!strcmp(a[0], name))
            return a[1];
    return NULL;
}

static void XMLCALL j_start(void *ud, const XML_Char *el, const XML_Char **a)
{
    struct junit *j = ud;
    if (!strcmp(el, "testsuites")) {
        j->root_ok = 1;
        j->tests = (unsigned)atoi(attr(a, "tests") ? attr(a, "tests") : "-1");
        j->failures = (unsigned)atoi(attr(a, "failures") ? attr(a, "failures") : "-1");
        j->errors = (unsigned)atoi(attr(a, "errors") ? attr(a, "errors") : "-1");
        j->skipped = (unsigned)atoi(attr(a, "skipped") ? attr(a, "skipped") : "-1");
    } else if (!strcmp(el, "testsuite")) {
        j->suites++;
    } else if (!strcmp(el, "testcase") && j->ncases < MAX_CASES) {
        j->cur = &j->cases[j->ncases++];
        snprintf(j->cur->classname, sizeof j->cur->classname, "%s",
                 attr(a, "classname") ? attr(a, "classname") : "");
        snprintf(j->cur->name, sizeof j->cur->name, "%s", attr(a, "name") ? attr(a, "name") : "");
    } else if (j->cur &&
               (!strcmp(el, "failure") || !strcmp(el, "error") || !strcmp(el, "skipped"))) {
        snprintf(j->cur->result, sizeof j->cur->result, "%s", el);
        snprintf(j->cur->message, sizeof j->cur->message, "%s",
                 attr(a, "message") ? attr(a, "message") : "");
        snprintf(j->cur->type, sizeof j->cur->type, "%s", attr(a, "type") ? attr(a, "type") : "");
    } else if (j->cur && (!strcmp(el, "flakyFailure") || !strcmp(el, "flakyError"))) {
        j->cur->flaky++;
    } else if (j->cur && (!strcmp(el, "rerunFailure") || !strcmp(el, "rerunError"))) {
        j->cur->reruns++;
    } else if (j->cur && !strcmp(el, "system-out")) {
        j->in_out = 1;
    }
}

static void XMLCALL j_end(void *ud, const XML_Char *el)
{
    struct junit *j = ud;
    if (!strcmp(el, "testcase"))
        j->cur = NULL;
    else if (!strcmp(el, "system-out"))
        j->in_out = 0;
}

static void XMLCALL j_text(void *ud, const XML_Char *s, int len)
{
    struct junit *j = ud;
    if (j->cur && j->in_out) {
        size_t have = strlen(j->cur->out);
        size_t room = sizeof j->cur->out - have - 1;
        size_t n = (size_t)len < room ? (size_t)len : room;
        memcpy(j->cur->out + have, s, n);
        j->cur->out[have + n] = 0;
    }
}

static void junit_parse(const char *path, struct junit *j)
{
    memset(j, 0, sizeof *j);
    char *xml = slurp(path);
    XML_Parser p = XML_ParserCreate("UTF-8");
    XML_SetUserData(p, j);
    XML_SetElementHandler(p, j_start, j_end);
    XML_SetCharacterDataHandler(p, j_text);
    if (XML_Parse(p, xml, (int)strlen(xml), 1) != XML_STATUS_OK)
        fail_msg("%s is not well-formed XML: %s at line %lu", path,
                 XML_ErrorString(XML_GetErrorCode(p)), (unsigned long)XML_GetCurrentLineNumber(p));
    XML_ParserFree(p);
    free(xml);
    assert_true(j->root_ok);
}

static const struct junit_case *junit_case(const struct junit *j, const char *name)
{
    for (unsigned i = 0; i < j->ncases; i++)
        if (!strcmp(j->cases[i].name, name))
            return &j->cases[i];
    fail_msg("no testcase %s in the report", name);
    return NULL;
}
#define NEED_EXPAT()
#else
#define NEED_EXPAT() skip()
#endif

/* ---- JSON, validated (RFC 8259 grammar, enough to say a viewer can load it) ---- */

static const char *json_value(const char *p);

static const char *json_ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    return p;
}

static const char *json_string(const char *p)
{
    if (*p != '"')
        return NULL;
    for (p++; *p && *p != '"'; p++) {
        if ((unsigned char)*p < 0x20)
            return NULL;
        if (*p == '\\') {
            p++;
            if (*p == 'u') {
                for (int i = 1; i <= 4; i++)
                    if (!strchr("0123456789abcdefABCDEF", p[i]) || !p[i])
                        return NULL;
                p += 4;
            } else if (!*p || !strchr("\"\\/bfnrt", *p)) {
                return NULL;
            }
        }
    }
    return *p == '"' ? p + 1 : NULL;
}

static const char *json_number(const char *p)
{
    const char *s = p;
    if (*p == '-')
        p++;
    if (*p == '0')
        p++;
    else if (*p >= '1' && *p <= '9')
        while (*p >= '0' && *p <= '9')
            p++;
    else
        return NULL;
    if (*p == '.') {
        p++;
        if (!(*p >= '0' && *p <= '9'))
            return NULL;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!(*p >= '0' && *p <= '9'))
            return NULL;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    return p > s ? p : NULL;
}

static const char *json_value(const char *p)
{
    p = json_ws(p);
    if (*p == '{' || *p == '[') {
        char close = *p == '{' ? '}' : ']';
        int object = *p == '{';
        p = json_ws(p + 1);
        if (*p == close)
            return p + 1;
        for (;;) {
            if (object) {
                p = json_string(json_ws(p));
                if (!p)
                    return NULL;
                p = json_ws(p);
                if (*p++ != ':')
                    return NULL;
            }
            p = json_value(p);
            if (!p)
                return NULL;
            p = json_ws(p);
            if (*p == close)
                return p + 1;
            if (*p++ != ',')
                return NULL;
        }
    }
    if (*p == '"')
        return json_string(p);
    if (!strncmp(p, "true", 4))
        return p + 4;
    if (!strncmp(p, "false", 5))
        return p + 5;
    if (!strncmp(p, "null", 4))
        return p + 4;
    return json_number(p);
}

static int json_valid(const char *text)
{
    const char *end = json_value(text);
    return end && *json_ws(end) == 0;
}

/* ---- the tests ---- */

static void test_cli_help_and_usage_errors(void **state)
{
    assert_int_equal(kmrig("--help", NULL), 0);
    assert_non_null(strstr(g_out, "usage: kmrig <command>"));
    assert_int_equal(kmrig("run", "--help", NULL), 0);
    assert_non_null(strstr(g_out, "usage: kmrig run"));
    assert_int_equal(kmrig("help", "info", NULL), 0);
    assert_non_null(strstr(g_out, "usage: kmrig info"));
    assert_int_equal(kmrig(NULL), 2);
    assert_int_equal(kmrig("frobnicate", NULL), 2);
    assert_int_equal(kmrig("run", "--jobs", "0", CLI_PASS_SUITE, NULL), 2);
    assert_int_equal(kmrig("run", "--seed", "x", CLI_PASS_SUITE, NULL), 2);
    assert_int_equal(kmrig("run", "--target", "nosuchlink", CLI_PASS_SUITE, NULL), 2);
    assert_int_equal(kmrig("run", "--target", "loop", CLI_PASS_SUITE ":nosuchtest", NULL), 2);
    assert_int_equal(kmrig("run", "/nonexistent/suite", NULL), 4);
    assert_non_null(strstr(g_out, "no suite"));
}

static void test_cli_unwritten_subcommands_say_so(void **state)
{
    const char *cmds[] = {"bench", "serve", "list"};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        assert_int_equal(kmrig(cmds[i], NULL), 3);
        assert_non_null(strstr(g_out, "not implemented yet"));
    }
}

static void test_cli_run_passing_suite_exits_0_with_junit(void **state)
{
    NEED_EXPAT();
    char junit[128];
    tmp_path(junit, sizeof junit, "pass.xml");
    assert_int_equal(
        kmrig("run", "--target", "loop", "--seed", "42", "--junit", junit, CLI_PASS_SUITE, NULL),
        0);
    assert_non_null(strstr(g_out, "2 passed, 0 failed"));
#ifdef HAVE_EXPAT
    struct junit j;
    junit_parse(junit, &j);
    assert_int_equal(j.tests, 2);
    assert_int_equal(j.failures, 0);
    assert_int_equal(j.errors, 0);
    assert_int_equal(j.skipped, 0);
    assert_int_equal(j.suites, 1);
    assert_int_equal(j.ncases, 2);
    const struct junit_case *c = junit_case(&j, "cli_pass_rig_opens_on_the_target");
    assert_string_equal(c->classname, "cli_pass");
    assert_string_equal(c->result, "");
    /* the suite got the target and the seed kmrig was given */
    assert_non_null(strstr(c->out, "target=loop seed=42"));
#endif
    unlink(junit);
}

static void test_cli_run_same_seed_same_random_inputs(void **state)
{
    NEED_EXPAT();
#ifdef HAVE_EXPAT
    char a[128], b[128], c[128];
    tmp_path(a, sizeof a, "seed-a.xml");
    tmp_path(b, sizeof b, "seed-b.xml");
    tmp_path(c, sizeof c, "seed-c.xml");
    const char *t = CLI_PASS_SUITE ":cli_pass_random*";
    assert_int_equal(kmrig("run", "--target", "loop", "--seed", "7", "--junit", a, t, NULL), 0);
    assert_int_equal(kmrig("run", "--target", "loop", "--seed", "7", "--junit", b, t, NULL), 0);
    assert_int_equal(kmrig("run", "--target", "loop", "--seed", "8", "--junit", c, t, NULL), 0);
    struct junit ja, jb, jc;
    junit_parse(a, &ja);
    junit_parse(b, &jb);
    junit_parse(c, &jc);
    assert_int_equal(ja.ncases, 1);
    assert_non_null(strstr(ja.cases[0].out, "random="));
    assert_string_equal(ja.cases[0].out, jb.cases[0].out);
    assert_string_not_equal(ja.cases[0].out, jc.cases[0].out);
    unlink(a);
    unlink(b);
    unlink(c);
#endif
}

static void make_flaky_dir(char *dir, size_t n)
{
    snprintf(dir, n, "/tmp/kmrig-cli-flaky-XXXXXX");
    assert_non_null(mkdtemp(dir));
    setenv("KMRIG_CLI_FLAKY_DIR", dir, 1);
}

static void drop_flaky_dir(const char *dir)
{
    char p[512];
    snprintf(p, sizeof p, "%s/flaky-ran", dir);
    unlink(p);
    rmdir(dir);
}

/* A failing suite: exit 1; an assertion is a <failure> with cmocka's message, a bugcheck and a
 * crash are <error>s of their own type, a skip is <skipped> with its reason, and the test after
 * the crash and the bugcheck still passes (each test has its own process). */
static void test_cli_run_failing_suite_isolates_and_reports(void **state)
{
    NEED_EXPAT();
    char junit[128], dir[64];
    tmp_path(junit, sizeof junit, "fail.xml");
    make_flaky_dir(dir, sizeof dir);
    assert_int_equal(
        kmrig("run", "--target", "loop", "--seed", "5", "--junit", junit, CLI_FAIL_SUITE, NULL), 1);
    /* the one command that reproduces each failure, with its seed */
    assert_non_null(strstr(g_out, "reproduce: kmrig run --target loop --seed 5 " CLI_FAIL_SUITE
                                  ":cli_fail_asserts"));
    assert_non_null(strstr(g_out, "reproduce: kmrig run --target loop --seed 5 " CLI_FAIL_SUITE
                                  ":cli_fail_bugchecks"));
    assert_non_null(strstr(g_out, "about to fail")); /* a failure's output is shown */
#ifdef HAVE_EXPAT
    struct junit j;
    junit_parse(junit, &j);
    assert_int_equal(j.tests, 7);
    assert_int_equal(j.failures, 2); /* asserts, flaky (no retries) */
    assert_int_equal(j.errors, 2);   /* bugchecks, crashes */
    assert_int_equal(j.skipped, 2);  /* skips, hangs (KMRIG_CLI_HANG unset) */
    const struct junit_case *c = junit_case(&j, "cli_fail_asserts");
    assert_string_equal(c->result, "failure");
    assert_string_equal(c->type, "assertion");
    assert_non_null(strstr(c->message, "0x1 != 0x2"));
    assert_non_null(strstr(c->message, "cli_fail.c:"));
    assert_non_null(strstr(c->out, "about to fail"));
    c = junit_case(&j, "cli_fail_bugchecks");
    assert_string_equal(c->result, "error");
    assert_string_equal(c->type, "bugcheck");
    assert_non_null(strstr(c->message, "BUGCHECK 0x000000E2 (0x1, 0x2, 0x3, 0x4)"));
    c = junit_case(&j, "cli_fail_crashes");
    assert_string_equal(c->result, "error");
    assert_string_equal(c->type, "crash");
    assert_non_null(strstr(c->message, "signal 6"));
    c = junit_case(&j, "cli_fail_skips");
    assert_string_equal(c->result, "skipped");
    assert_string_equal(c->message, "no board here");
    c = junit_case(&j, "cli_fail_flaky");
    assert_string_equal(c->result, "failure");
    assert_int_equal(c->flaky, 0);
    assert_non_null(strstr(c->message, "first run: failing on purpose (at " CLI_FAIL_SOURCE ":"));
    c = junit_case(&j, "cli_fail_passes");
    assert_string_equal(c->result, "");
#endif
    unlink(junit);
    drop_flaky_dir(dir);
}

/* --retries: a test that fails, then passes, is reported flaky (not passed), and the run passes;
 * one that fails every attempt keeps its earlier attempts as reruns. */
static void test_cli_run_retries_report_flaky(void **state)
{
    NEED_EXPAT();
    char junit[128], dir[64];
    tmp_path(junit, sizeof junit, "flaky.xml");
    make_flaky_dir(dir, sizeof dir);
    assert_int_equal(kmrig("run", "--target", "loop", "--retries", "2", "--junit", junit,
                           CLI_FAIL_SUITE ":cli_fail_flaky", NULL),
                     0);
    assert_non_null(strstr(g_out, "FLAKY cli_fail.cli_fail_flaky: failed 1 time(s)"));
    assert_non_null(strstr(g_out, "0 passed, 0 failed, 0 error(s), 1 flaky"));
#ifdef HAVE_EXPAT
    struct junit j;
    junit_parse(junit, &j);
    assert_int_equal(j.tests, 1);
    assert_int_equal(j.failures, 0);
    const struct junit_case *c = junit_case(&j, "cli_fail_flaky");
    assert_string_equal(c->result, "");
    assert_int_equal(c->flaky, 1);
    assert_non_null(strstr(c->out, "flaky"));
#endif
    unlink(junit);
    assert_int_equal(kmrig("run", "--target", "loop", "--retries", "1", "--junit", junit,
                           CLI_FAIL_SUITE ":cli_fail_asserts", NULL),
                     1);
#ifdef HAVE_EXPAT
    junit_parse(junit, &j);
    c = junit_case(&j, "cli_fail_asserts");
    assert_string_equal(c->result, "failure");
    assert_int_equal(c->reruns, 1);
#endif
    unlink(junit);
    drop_flaky_dir(dir);
}

/* --timeout: a test still running is killed and reported as hung (an <error type="timeout">),
 * and the run goes on. */
static void test_cli_run_timeout_kills_a_hung_test(void **state)
{
    NEED_EXPAT();
    char junit[128];
    tmp_path(junit, sizeof junit, "hang.xml");
    setenv("KMRIG_CLI_HANG", "1", 1);
    assert_int_equal(kmrig("run", "--target", "loop", "--timeout", "1", "--junit", junit,
                           CLI_FAIL_SUITE ":cli_fail_hangs", CLI_FAIL_SUITE ":cli_fail_passes",
                           NULL),
                     1);
    unsetenv("KMRIG_CLI_HANG");
    assert_non_null(strstr(g_out, "ERROR cli_fail.cli_fail_hangs: hung: killed after 1 s"));
    assert_non_null(strstr(g_out, "1 passed, 0 failed, 1 error(s)"));
#ifdef HAVE_EXPAT
    struct junit j;
    junit_parse(junit, &j);
    const struct junit_case *c = junit_case(&j, "cli_fail_hangs");
    assert_string_equal(c->result, "error");
    assert_string_equal(c->type, "timeout");
#endif
    unlink(junit);
}

/* SIGTERM (a CI job cancelled) or Ctrl-C: kmrig kills the running tests, whose process groups
 * the signal does not reach, and exits 128 + the signal. */
static void test_cli_run_signal_kills_the_running_tests(void **state)
{
    char dir[64], pidfile[128];
    make_flaky_dir(dir, sizeof dir);
    snprintf(pidfile, sizeof pidfile, "%s/hang-pid", dir);
    setenv("KMRIG_CLI_HANG", "1", 1);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(null, 2);
        execl(KMRIG_EXE, KMRIG_EXE, "run", "--target", "loop", "--timeout", "60",
              CLI_FAIL_SUITE ":cli_fail_hangs", (char *)NULL);
        _exit(127);
    }
    unsetenv("KMRIG_CLI_HANG");
    int hung = 0;
    for (int i = 0; i < 1000 && !hung; i++) { /* up to 10 s for the test to start */
        FILE *f = fopen(pidfile, "r");
        if (f) {
            if (fscanf(f, "%d", &hung) != 1)
                hung = 0;
            fclose(f);
        }
        if (!hung)
            usleep(10000);
    }
    assert_true(hung > 0);
    assert_int_equal(kill(pid, SIGTERM), 0);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 128 + SIGTERM);
    assert_int_equal(kill(hung, 0), -1); /* reaped by kmrig: gone */
    assert_int_equal(errno, ESRCH);
    unlink(pidfile);
    drop_flaky_dir(dir);
}

static void test_cli_run_all_skipped_exits_77(void **state)
{
    assert_int_equal(kmrig("run", "--target", "loop", CLI_FAIL_SUITE ":cli_fail_skips", NULL), 77);
    assert_non_null(strstr(g_out, "SKIP  cli_fail.cli_fail_skips: no board here"));
}

static void test_cli_run_jobs_run_tests_in_parallel(void **state)
{
    char dir[64];
    make_flaky_dir(dir, sizeof dir);
    assert_int_equal(kmrig("run", "--target", "loop", "--jobs", "3", "--seed", "3", CLI_PASS_SUITE,
                           CLI_FAIL_SUITE ":cli_fail_passes", NULL),
                     0);
    assert_non_null(strstr(g_out, "3 test(s): 3 passed"));
    drop_flaky_dir(dir);
}

static void test_cli_run_list_runs_nothing(void **state)
{
    assert_int_equal(kmrig("run", "--list", CLI_FAIL_SUITE ":cli_fail_[af]*", NULL), 0);
    assert_non_null(strstr(g_out, "cli_fail:cli_fail_asserts\n"));
    assert_non_null(strstr(g_out, "cli_fail:cli_fail_flaky\n"));
    assert_null(strstr(g_out, "cli_fail_passes"));
    assert_null(strstr(g_out, "FAIL"));
}

/* A suite program on its own: the target from --target, KMRIG_TARGET, or the board CTest gave it
 * (CTEST_RESOURCE_GROUP_*, mapped to a URI by KMRIG_BOARD_<ID>). */
static void test_cli_suite_takes_its_target(void **state)
{
    unsetenv("KMRIG_TARGET");
    assert_int_equal(run(CLI_PASS_SUITE, "--target", "loop", "--seed", "9", NULL), 0);
    assert_non_null(strstr(g_out, "target=loop seed=9"));
    setenv("KMRIG_TARGET", "loop:profile=uart", 1);
    assert_int_equal(run(CLI_PASS_SUITE, NULL), 0);
    assert_non_null(strstr(g_out, "target=loop:profile=uart seed=1"));
    unsetenv("KMRIG_TARGET");
    setenv("CTEST_RESOURCE_GROUP_COUNT", "1", 1);
    setenv("CTEST_RESOURCE_GROUP_0", "fpga_boards", 1);
    setenv("CTEST_RESOURCE_GROUP_0_FPGA_BOARDS", "id:bench_2,slots:1", 1);
    setenv("KMRIG_BOARD_BENCH_2", "loop:profile=pcie", 1);
    assert_int_equal(run(CLI_PASS_SUITE, NULL), 0);
    assert_non_null(strstr(g_out, "target=loop:profile=pcie"));
    unsetenv("KMRIG_BOARD_BENCH_2");
    assert_int_equal(run(CLI_PASS_SUITE, NULL), 2); /* a board with no URI: said, not guessed */
    assert_non_null(strstr(g_out, "KMRIG_BOARD_BENCH_2 is not set"));
    unsetenv("CTEST_RESOURCE_GROUP_COUNT");
    unsetenv("CTEST_RESOURCE_GROUP_0");
    unsetenv("CTEST_RESOURCE_GROUP_0_FPGA_BOARDS");
    assert_int_equal(run(CLI_PASS_SUITE, "--list", NULL), 0);
    assert_string_equal(g_out,
                        "cli_pass_rig_opens_on_the_target\ncli_pass_random_follows_the_seed\n");
    assert_int_equal(run(CLI_PASS_SUITE, "--bogus", NULL), 2);
}

/* ctest over a resource spec with two fake boards: each suite that declares RESOURCE_GROUP
 * fpga_boards:1 gets one of them, and runs on the URI that board maps to. */
static void test_cli_ctest_hands_each_suite_a_board(void **state)
{
    char spec[128];
    tmp_path(spec, sizeof spec, "boards.json");
    FILE *f = fopen(spec, "w");
    assert_non_null(f);
    fputs("{\"version\":{\"major\":1,\"minor\":0},\"local\":[{\"fpga_boards\":"
          "[{\"id\":\"board0\",\"slots\":1},{\"id\":\"board1\",\"slots\":1}]}]}\n",
          f);
    fclose(f);
    setenv("KMRIG_BOARD_BOARD0", "loop:profile=uart", 1);
    setenv("KMRIG_BOARD_BOARD1", "loop:profile=uart", 1);
    assert_int_equal(run(CTEST_EXE, "--test-dir", BUILD_DIR, "-R", "^cli_board_", "-j2",
                         "--resource-spec-file", spec, "-V", NULL),
                     0);
    unsetenv("KMRIG_BOARD_BOARD0");
    unsetenv("KMRIG_BOARD_BOARD1");
    unlink(spec);
    /* both suites ran, on a board's URI (without the spec they run on loop) */
    const char *a = strstr(g_out, "target=loop:profile=uart seed=1 board=id:board");
    assert_non_null(a);
    assert_non_null(strstr(a + 1, "target=loop:profile=uart seed=1 board=id:board"));
    assert_non_null(strstr(g_out, "100% tests passed, 0 tests failed out of 2"));
}

#ifdef REFSOC_SUITE
/* --trace on the model: one Chrome trace per test, valid JSON, with the driver's dispatch
 * routine, its ISR and the device's DMA in it; --waves: an FST file per test. */
static void test_cli_run_trace_writes_chrome_json(void **state)
{
    char trace[128];
    tmp_path(trace, sizeof trace, "trace.json");
    assert_int_equal(kmrig("run", "--target", "sim", "--trace", trace,
                           REFSOC_SUITE ":refsoc_dma_copies_a_buffer", NULL),
                     0);
    char *json = slurp(trace);
    assert_true(json_valid(json));
    assert_non_null(strstr(json, "\"traceEvents\""));
    const char *ioctl = strstr(json, "\"IRP_MJ_DEVICE_CONTROL\"");
    const char *isr = strstr(json, "\"ISR\"");
    const char *dma = strstr(json, "\"DMA read\"");
    assert_non_null(ioctl);
    assert_non_null(isr);
    assert_non_null(dma);
    free(json);
    unlink(trace);
    /* --waves: the model's FST waveform per test, through the sim URI's waves= argument */
    char waves[128], w1[160], w2[160];
    tmp_path(waves, sizeof waves, "waves.fst");
    snprintf(w1, sizeof w1, "/tmp/kmrig-cli-%d-waves.refsoc.refsoc_rom_describes_the_soc.fst",
             (int)getpid());
    snprintf(w2, sizeof w2, "/tmp/kmrig-cli-%d-waves.refsoc.refsoc_dma_fifo_round_trip.fst",
             (int)getpid());
    assert_int_equal(kmrig("run", "--target", "sim:profile=pcie", "--waves", waves,
                           REFSOC_SUITE ":refsoc_rom_*", REFSOC_SUITE ":refsoc_dma_fifo_*", NULL),
                     0);
    struct stat st;
    assert_int_equal(stat(w1, &st), 0);
    assert_true(st.st_size > 0);
    assert_int_equal(stat(w2, &st), 0);
    assert_true(st.st_size > 0);
    assert_int_equal(stat(waves, &st), -1); /* two tests: no file under the bare name */
    unlink(w1);
    unlink(w2);
    assert_int_equal(kmrig("run", "--target", "loop", "--waves", waves, CLI_PASS_SUITE, NULL), 2);
    /* the checker itself refuses what is not JSON */
    assert_false(json_valid("{\"traceEvents\":[1,]}"));
    assert_false(json_valid("{\"a\":1"));
}

static void test_cli_info_lists_the_reference_soc(void **state)
{
    assert_int_equal(kmrig("info", "--target", "sim", NULL), 0);
    assert_non_null(strstr(g_out, "link        sim:"));
    assert_non_null(strstr(g_out, "profile     ideal"));
    const char *uart = strstr(g_out, "\n  uart0    *PNP0501       ROOT\\*PNP0501\\0, started\n");
    assert_non_null(uart);
    const char *raw = strstr(uart, "raw         port      0x3F8-0x3FF (8 bytes)");
    assert_non_null(raw);
    const char *next = strstr(uart + 1, "\n  dma0");
    assert_true(next && raw < next);
    assert_non_null(strstr(uart, "translated  port      0x3F8-0x3FF"));
    assert_non_null(strstr(g_out, "dma0     KMRIG\\SGDMA    KMRIG\\SGDMA\\0, started, DMA master"));
    assert_int_equal(kmrig("info", "--target", "sim:profile=ft245", NULL), 0);
    assert_non_null(strstr(g_out, "profile     ft245"));
    assert_int_equal(kmrig("info", "--target", "nosuchlink", NULL), 2);
}

static void test_cli_run_default_suite_passes_on_the_model(void **state)
{
    assert_int_equal(kmrig("run", "--target", "sim", REFSOC_SUITE, NULL), 0);
    assert_non_null(strstr(g_out, "5 passed, 0 failed"));
}
#endif

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_cli_help_and_usage_errors),
    cmocka_unit_test(test_cli_unwritten_subcommands_say_so),
    cmocka_unit_test(test_cli_run_passing_suite_exits_0_with_junit),
    cmocka_unit_test(test_cli_run_same_seed_same_random_inputs),
    cmocka_unit_test(test_cli_run_failing_suite_isolates_and_reports),
    cmocka_unit_test(test_cli_run_retries_report_flaky),
    cmocka_unit_test(test_cli_run_timeout_kills_a_hung_test),
    cmocka_unit_test(test_cli_run_signal_kills_the_running_tests),
    cmocka_unit_test(test_cli_run_all_skipped_exits_77),
    cmocka_unit_test(test_cli_run_jobs_run_tests_in_parallel),
    cmocka_unit_test(test_cli_run_list_runs_nothing),
    cmocka_unit_test(test_cli_suite_takes_its_target),
    cmocka_unit_test(test_cli_ctest_hands_each_suite_a_board),
#ifdef REFSOC_SUITE
    cmocka_unit_test(test_cli_run_trace_writes_chrome_json),
    cmocka_unit_test(test_cli_info_lists_the_reference_soc),
    cmocka_unit_test(test_cli_run_default_suite_passes_on_the_model),
#endif
};
KMTEST_MAIN(tests)

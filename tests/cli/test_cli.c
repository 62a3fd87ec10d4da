/*
 * test_cli.c - runs the kmrig command as a user would (docs/cli.md) and checks its exit codes, its
 * output, the JUnit XML it writes (parsed with expat) and the trace files (parsed as JSON).
 *
 * KMRIG_EXE, CLI_PASS_SUITE, CLI_FAIL_SUITE and (with the model) REFSOC_SUITE are the paths of
 * the programs, from CMake.
 */
#define _GNU_SOURCE
#include "kmtest.h"

#include "cli_run.h"

#include <kmrig/trace.h>

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

/* ---- running kmrig: cli_run.h ---- */

static void tmp_path(char *out, size_t n, const char *what)
{
    snprintf(out, n, "/tmp/kmrig-cli-%d-%s", (int)getpid(), what);
    unlink(out);
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

#include "json_check.h"

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
    /* asked before the kill, the test reported its interrupt lines (kmrig_runtime_report_all) */
    const char *hang = strstr(g_out, "[ HANG     ] killed by kmrig run at --timeout");
    assert_non_null(hang);
    const char *line = strstr(hang, "  line 2 (vector 0x42");
    assert_non_null(line);
    assert_non_null(strstr(line, "level-sensitive, 1 ISR(s), 0 service(s); host: idle"));
    assert_non_null(strstr(line, "diagnosis: the device does not assert it"));
    assert_non_null(strstr(hang, "(a host thread attached to the runtime): running on processor"));
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

/* ---- power and reset hooks ---- */

/* A hook script that appends "NAME ARGS target=$KMRIG_TARGET" to LOG and exits `rc`. */
static void make_hook(char *path, size_t n, const char *dir, const char *name, const char *log,
                      int rc)
{
    snprintf(path, n, "%s/%s.sh", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "#!/bin/sh\necho \"%s $* target=$KMRIG_TARGET\" >> '%s'\nexit %d\n", name, log, rc);
    fclose(f);
    assert_int_equal(chmod(path, 0755), 0);
}

static char *read_log(const char *log)
{
    struct stat st;
    if (stat(log, &st) != 0)
        return strdup("");
    return slurp(log);
}

/* --power-cmd: `CMD on` before the run, `CMD off` after; --reset-cmd between tests (a retry
 * included), with the target in $KMRIG_TARGET; the same from the environment. */
static void test_cli_run_power_and_reset_hooks_run_in_order(void **state)
{
    char dir[64], log[128], power[160], reset[160];
    make_flaky_dir(dir, sizeof dir);
    snprintf(log, sizeof log, "%s/hooks.log", dir);
    make_hook(power, sizeof power, dir, "power", log, 0);
    make_hook(reset, sizeof reset, dir, "reset", log, 0);
    assert_int_equal(kmrig("run", "--target", "loop", "--power-cmd", power, "--reset-cmd", reset,
                           CLI_PASS_SUITE, NULL),
                     0);
    char *got = read_log(log);
    assert_string_equal(got, "power on target=loop\n"
                             "reset  target=loop\n"
                             "power off target=loop\n");
    free(got);
    unlink(log);
    /* from the environment; a failing test's retry is reset too */
    setenv("KMRIG_POWER_CMD", power, 1);
    setenv("KMRIG_RESET_CMD", reset, 1);
    assert_int_equal(kmrig("run", "--target", "loop:profile=uart", "--retries", "1",
                           CLI_FAIL_SUITE ":cli_fail_flaky", NULL),
                     0);
    unsetenv("KMRIG_POWER_CMD");
    unsetenv("KMRIG_RESET_CMD");
    got = read_log(log);
    assert_string_equal(got, "power on target=loop:profile=uart\n"
                             "reset  target=loop:profile=uart\n"
                             "power off target=loop:profile=uart\n");
    free(got);
    unlink(log);
    unlink(power);
    unlink(reset);
    drop_flaky_dir(dir);
}

/* A hook that fails stops the run with exit 5, says which, and the power still goes off. */
static void test_cli_run_failing_hook_stops_the_run(void **state)
{
    char dir[64], log[128], power[160], reset[160], bad[160];
    make_flaky_dir(dir, sizeof dir);
    snprintf(log, sizeof log, "%s/hooks.log", dir);
    make_hook(power, sizeof power, dir, "power", log, 0);
    make_hook(reset, sizeof reset, dir, "reset", log, 3);
    assert_int_equal(kmrig("run", "--target", "loop", "--power-cmd", power, "--reset-cmd", reset,
                           CLI_PASS_SUITE, CLI_FAIL_SUITE ":cli_fail_passes", NULL),
                     5);
    assert_non_null(strstr(g_out, "reset hook `"));
    assert_non_null(strstr(g_out, "failed (exit status 3); the run stops"));
    assert_null(strstr(g_out, "3 test(s): ")); /* stopped: no summary of a whole run */
    char *got = read_log(log);
    assert_string_equal(got, "power on target=loop\n"
                             "reset  target=loop\n"
                             "power off target=loop\n");
    free(got);
    unlink(log);
    /* power on fails: nothing runs, off is still tried */
    make_hook(bad, sizeof bad, dir, "badpower", log, 1);
    assert_int_equal(kmrig("run", "--target", "loop", "--power-cmd", bad, CLI_PASS_SUITE, NULL), 5);
    assert_non_null(strstr(g_out, "power hook `"));
    assert_null(strstr(g_out, "PASS"));
    got = read_log(log);
    assert_string_equal(got, "badpower on target=loop\nbadpower off target=loop\n");
    free(got);
    unlink(log);
    unlink(power);
    unlink(reset);
    unlink(bad);
    drop_flaky_dir(dir);
}

/* SIGTERM in the middle of a run: the running test is killed, and the power goes off. */
static void test_cli_run_signal_still_powers_off(void **state)
{
    char dir[64], log[128], power[160], pidfile[128];
    make_flaky_dir(dir, sizeof dir);
    snprintf(log, sizeof log, "%s/hooks.log", dir);
    snprintf(pidfile, sizeof pidfile, "%s/hang-pid", dir);
    make_hook(power, sizeof power, dir, "power", log, 0);
    setenv("KMRIG_CLI_HANG", "1", 1);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(null, 2);
        execl(KMRIG_EXE, KMRIG_EXE, "run", "--target", "loop", "--power-cmd", power,
              CLI_FAIL_SUITE ":cli_fail_hangs", (char *)NULL);
        _exit(127);
    }
    unsetenv("KMRIG_CLI_HANG");
    struct stat st;
    for (int i = 0; i < 1000 && stat(pidfile, &st) != 0; i++)
        usleep(10000);
    assert_int_equal(stat(pidfile, &st), 0);
    assert_int_equal(kill(pid, SIGTERM), 0);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 128 + SIGTERM);
    char *got = read_log(log);
    assert_string_equal(got, "power on target=loop\npower off target=loop\n");
    free(got);
    unlink(log);
    unlink(pidfile);
    unlink(power);
    drop_flaky_dir(dir);
}

/* Without a reset command a model target is not reset between tests (each test opens a fresh
 * one) and the run says nothing of resets. (The link reset of a board, kmrig_link_reset, has no
 * transport here that implements it; run_reset() skips ENOTSUP silently.) */
static void test_cli_run_without_reset_cmd_skips_what_cannot_reset(void **state)
{
    assert_int_equal(kmrig("run", "--target", "loop", CLI_PASS_SUITE, NULL), 0);
    assert_null(strstr(g_out, "reset"));
    assert_non_null(strstr(g_out, "2 passed, 0 failed"));
}

/* ---- traces of tests that die ---- */

/* The trace at path is valid JSON; the three register writes appear in order, then the death
 * marker with `reason` in it, and the file says it is not complete. */
static void check_died_trace(const char *path, const char *reason)
{
    char *json = slurp(path);
    assert_true(json_valid(json));
    const char *w1 = strstr(json, "\"name\":\"write bus\",\"args\":{\"addr\":\"0x1000\",\"size\":4,"
                                  "\"value\":\"0x11\"");
    assert_non_null(w1);
    const char *w2 = strstr(w1, "\"value\":\"0x22\"");
    assert_non_null(w2);
    const char *w3 = strstr(w2, "\"value\":\"0x33\"");
    assert_non_null(w3);
    const char *died = strstr(w3, "\"s\":\"g\"");
    assert_non_null(died);
    const char *name = strstr(died, "\"name\":\"test died: ");
    assert_non_null(name);
    assert_non_null(strstr(name, reason));
    assert_null(strstr(name + 1, "\"ph\":")); /* the marker is the last event */
    assert_non_null(strstr(name, "\"otherData\":{\"complete\":false,\"events\":"));
    free(json);
}

/* --trace on tests that fail an assertion or take a SIGSEGV with their rig open: each leaves a
 * trace that parses, with its events in order and the death marker last; a test that closes its
 * rig has the runtime's complete file, untouched. */
static void test_cli_run_trace_of_a_dying_test_is_completed(void **state)
{
    char trace[128], t1[192], t2[192], t3[192];
    tmp_path(trace, sizeof trace, "die.json");
    snprintf(t1, sizeof t1, "/tmp/kmrig-cli-%d-die.cli_die.cli_die_asserts_mid_test.json",
             (int)getpid());
    snprintf(t2, sizeof t2, "/tmp/kmrig-cli-%d-die.cli_die.cli_die_segfaults_mid_test.json",
             (int)getpid());
    snprintf(t3, sizeof t3, "/tmp/kmrig-cli-%d-die.cli_die.cli_die_closes_its_rig.json",
             (int)getpid());
    assert_int_equal(kmrig("run", "--target", "loop", "--trace", trace, CLI_DIE_SUITE, NULL), 1);
    assert_non_null(strstr(g_out, "1 passed, 1 failed, 1 error(s)"));
    check_died_trace(t1, "0x33 != 0x44");
    check_died_trace(t2, "crashed with signal 11");
    char *json = slurp(t3);
    assert_true(json_valid(json));
    assert_non_null(strstr(json, "\"value\":\"0x33\""));
    assert_null(strstr(json, "test died"));
    assert_non_null(strstr(json, "\"otherData\":{\"hash\":"));
    free(json);
    unlink(t1);
    unlink(t2);
    unlink(t3);
    /* the suite program on its own (as ctest runs it) completes its test's trace too */
    assert_int_equal(run(CLI_DIE_SUITE, "--target", "loop", "--trace", trace,
                         "cli_die_segfaults_mid_test", NULL),
                     1);
    check_died_trace(trace, "crashed with signal 11");
    unlink(trace);
}

/* A link that drops mid-test (the cable of a wall-time target pulled) fails that test with a
 * clear message, even though the test asserted nothing about it; the next test runs and passes;
 * nothing hangs. */
static void test_cli_run_link_drop_fails_that_test(void **state)
{
#ifdef CLI_DROP_SUITE
    assert_int_equal(kmrig("run", "--target", "sim", CLI_DROP_SUITE, NULL), 1);
    assert_non_null(strstr(g_out, "2 test(s): 1 passed, 1 failed"));
    assert_non_null(strstr(g_out, "the link to the target dropped during the test"));
    assert_non_null(strstr(g_out, "cli_drop_link_drops_mid_test"));
#else
    skip();
#endif
}

/* kmrig_trace_complete on what a dead process can leave: a stream cut in the middle of an event
 * (a torn write), nothing at all, a file that is not a stream, and a complete file. */
static void test_cli_trace_complete_cuts_to_whole_events(void **state)
{
    char path[128];
    tmp_path(path, sizeof path, "torn.json");
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n"
          "{\"ph\":\"M\",\"pid\":1,\"name\":\"process_name\",\"args\":{\"name\":\"kmrig\"}},\n"
          "{\"ph\":\"X\",\"pid\":1,\"tid\":0,\"ts\":5.000,\"dur\":2.500,\"name\":\"ISR\","
          "\"args\":{}},\n"
          "{\"ph\":\"i\",\"s\":\"t\",\"pid\":1,\"tid\":1000,\"ts\":6.000,\"name\":\"read bus\","
          "\"args\":{}},\n"
          "{\"ph\":\"i\",\"s\":\"t\",\"pid\":1,\"tid\":1000,\"ts\":9.0",
          f);
    fclose(f);
    assert_int_equal(kmrig_trace_complete(path, "test died: \"quoted\"\n"), 1);
    char *json = slurp(path);
    assert_true(json_valid(json));
    assert_null(strstr(json, "9.0")); /* the torn event is gone */
    /* the marker at the end of the last whole event (the ISR: 5 + 2.5 us), escaped */
    assert_non_null(strstr(json, "\"ts\":7.500,\"name\":\"test died: \\\"quoted\\\"\\u000a\""));
    assert_non_null(strstr(json, "\"events\":2,"));
    free(json);
    assert_int_equal(kmrig_trace_complete(path, "again"), 0); /* complete now: left alone */
    unlink(path);
    assert_int_equal(kmrig_trace_complete(path, "test died: before its rig"), 1);
    json = slurp(path);
    assert_true(json_valid(json));
    assert_non_null(strstr(json, "\"name\":\"test died: before its rig\""));
    free(json);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("garbage", f);
    fclose(f);
    assert_int_equal(kmrig_trace_complete(path, "x"), 1);
    json = slurp(path);
    assert_true(json_valid(json));
    free(json);
    unlink(path);
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
    /* the interrupt unit's own state where the target can tell it (not the transaction-level
     * model: reading its intc would move its time) */
    assert_int_equal(kmrig("info", "--target", "sim", NULL), 0);
    assert_null(strstr(g_out, "irq state"));
    assert_int_equal(kmrig("info", "--target", "loop", NULL), 4); /* (no ROM) */
    assert_non_null(
        strstr(g_out, "irq state   inputs high 0x0, pending 0x0, masked 0xFF, edge 0x0\n"));
}

static void test_cli_run_default_suite_passes_on_the_model(void **state)
{
    assert_int_equal(kmrig("run", "--target", "sim", REFSOC_SUITE, NULL), 0);
    assert_non_null(strstr(g_out, "5 passed, 0 failed"));
}
#endif

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_cli_help_and_usage_errors),
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
    cmocka_unit_test(test_cli_run_power_and_reset_hooks_run_in_order),
    cmocka_unit_test(test_cli_run_failing_hook_stops_the_run),
    cmocka_unit_test(test_cli_run_signal_still_powers_off),
    cmocka_unit_test(test_cli_run_without_reset_cmd_skips_what_cannot_reset),
    cmocka_unit_test(test_cli_run_trace_of_a_dying_test_is_completed),
    cmocka_unit_test(test_cli_run_link_drop_fails_that_test),
    cmocka_unit_test(test_cli_trace_complete_cuts_to_whole_events),
#ifdef REFSOC_SUITE
    cmocka_unit_test(test_cli_run_trace_writes_chrome_json),
    cmocka_unit_test(test_cli_info_lists_the_reference_soc),
    cmocka_unit_test(test_cli_run_default_suite_passes_on_the_model),
#endif
};
KMTEST_MAIN(tests)

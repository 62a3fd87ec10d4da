/*
 * run.h - `kmrig run`'s results, shared by the runner (run.c) and the JUnit writer (junit.c).
 */
#ifndef KMRIG_CLI_RUN_H
#define KMRIG_CLI_RUN_H

#include <stddef.h>
#include <stdint.h>

enum run_outcome {
    RUN_PASSED = 0,
    RUN_FAILED,  /* an assertion failed (JUnit <failure>) */
    RUN_ERROR,   /* a crash, a bugcheck, a hang, a suite that would not run (JUnit <error>) */
    RUN_SKIPPED, /* kmrig_suite_skip (JUnit <skipped>) */
    RUN_FLAKY,   /* failed, then passed on a retry */
};

struct run_attempt {
    enum run_outcome outcome; /* RUN_PASSED, RUN_FAILED, RUN_ERROR or RUN_SKIPPED */
    char *type;               /* "assertion", "bugcheck", "crash", "timeout", "exit" */
    char *message;            /* one line */
    char *details;            /* the bugcheck report, or the failure's lines */
    char *output;             /* what the test printed (stdout and stderr) */
    double seconds;
};

struct run_test {
    size_t suite;     /* index into run_suites */
    const char *name; /* the test's name */
    enum run_outcome outcome;
    unsigned attempts;
    struct run_attempt *tries; /* attempts entries, in order */
    double seconds;            /* all attempts */
};

struct run_suite {
    char *spec; /* as given on the command line (for the reproduce command) */
    char *list; /* its --list output; the tests' names point into it */
    char *path; /* the executable */
    char *name; /* its file name: the JUnit testsuite name and classname */
};

struct run_report {
    const char *target;
    uint64_t seed;
    struct run_suite *suites;
    size_t nsuites;
    struct run_test *tests;
    size_t ntests;
    double seconds;
};

/* Writes the JUnit XML report (docs/cli.md, "JUnit"). Returns 0 or -1 with errno. */
int run_write_junit(const struct run_report *r, const char *path);

#endif

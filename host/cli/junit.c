/*
 * junit.c - `kmrig run --junit FILE`: the JUnit XML that GitLab, Jenkins and GitHub reporters
 * read (docs/cli.md, "JUnit report"). One <testsuite> per suite program; classname is the suite,
 * name the test, so classname+name pairs are unique. An assertion is a <failure>, a crash, a
 * bugcheck or a hang an <error>, both with the details in the element text; a skipped test has
 * <skipped message=reason>; what the test printed goes to <system-out>. A test that passed on a
 * retry keeps its failed attempts as <flakyFailure>/<flakyError> (Maven Surefire's rerun
 * elements, which Jenkins shows as flaky); one that failed every attempt keeps the earlier ones
 * as <rerunFailure>/<rerunError>.
 */
#define _GNU_SOURCE
#include "cli.h"
#include "run.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Length of a valid UTF-8 sequence at s (n bytes left), or 0. */
static size_t junit_utf8(const unsigned char *s, size_t n)
{
    size_t len = s[0] >= 0xF0 && s[0] <= 0xF4 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC2 ? 2 : 0;
    if (!len || s[0] >= 0xF8 || len > n)
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    return len;
}

void kmrig_cli_xml_text(FILE *f, const char *s)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    size_t n = strlen((const char *)p);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = p[i];
        switch (c) {
        case '&':
            fputs("&amp;", f);
            break;
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        case '\t':
        case '\n':
        case '\r':
            fputc(c, f);
            break;
        default:
            if (c < 0x20 || c == 0x7F) {
                fputc('?', f);
            } else if (c < 0x80) {
                fputc(c, f);
            } else {
                size_t len = junit_utf8(p + i, n - i);
                if (len) {
                    fwrite(p + i, 1, len, f);
                    i += len - 1;
                } else {
                    fputc('?', f);
                }
            }
        }
    }
}

static void junit_attempt(FILE *f, const char *element, const struct run_attempt *a, int nested)
{
    fprintf(f, "      <%s message=\"", element);
    kmrig_cli_xml_text(f, a->message);
    fprintf(f, "\" type=\"");
    kmrig_cli_xml_text(f, a->type);
    fprintf(f, "\">");
    if (nested) {
        fputs("<stackTrace>", f);
        kmrig_cli_xml_text(f, a->details);
        fputs("</stackTrace><system-out>", f);
        kmrig_cli_xml_text(f, a->output);
        fputs("</system-out>", f);
    } else {
        kmrig_cli_xml_text(f, a->details);
    }
    fprintf(f, "</%s>\n", element);
}

int run_write_junit(const struct run_report *r, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    unsigned tests = 0, failures = 0, errors = 0, skipped = 0;
    for (size_t i = 0; i < r->ntests; i++) {
        tests++;
        failures += r->tests[i].outcome == RUN_FAILED;
        errors += r->tests[i].outcome == RUN_ERROR;
        skipped += r->tests[i].outcome == RUN_SKIPPED;
    }
    char host[256] = "localhost", stamp[32];
    gethostname(host, sizeof host - 1);
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);

    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    fprintf(f,
            "<testsuites name=\"kmrig run\" tests=\"%u\" failures=\"%u\" errors=\"%u\" "
            "skipped=\"%u\" time=\"%.3f\">\n",
            tests, failures, errors, skipped, r->seconds);
    for (size_t s = 0; s < r->nsuites; s++) {
        unsigned st = 0, sf = 0, se = 0, ss = 0;
        double secs = 0;
        for (size_t i = 0; i < r->ntests; i++) {
            if (r->tests[i].suite != s)
                continue;
            st++;
            sf += r->tests[i].outcome == RUN_FAILED;
            se += r->tests[i].outcome == RUN_ERROR;
            ss += r->tests[i].outcome == RUN_SKIPPED;
            secs += r->tests[i].seconds;
        }
        fprintf(f, "  <testsuite name=\"");
        kmrig_cli_xml_text(f, r->suites[s].name);
        fprintf(f,
                "\" tests=\"%u\" failures=\"%u\" errors=\"%u\" skipped=\"%u\" time=\"%.3f\" "
                "timestamp=\"%s\" hostname=\"",
                st, sf, se, ss, secs, stamp);
        kmrig_cli_xml_text(f, host);
        fprintf(f, "\">\n    <properties>\n      <property name=\"target\" value=\"");
        kmrig_cli_xml_text(f, r->target);
        fprintf(f, "\"/>\n      <property name=\"seed\" value=\"%llu\"/>\n",
                (unsigned long long)r->seed);
        fprintf(f, "      <property name=\"suite\" value=\"");
        kmrig_cli_xml_text(f, r->suites[s].path);
        fprintf(f, "\"/>\n    </properties>\n");
        for (size_t i = 0; i < r->ntests; i++) {
            const struct run_test *t = &r->tests[i];
            if (t->suite != s)
                continue;
            const struct run_attempt *last = &t->tries[t->attempts - 1];
            fprintf(f, "    <testcase classname=\"");
            kmrig_cli_xml_text(f, r->suites[s].name);
            fprintf(f, "\" name=\"");
            kmrig_cli_xml_text(f, t->name);
            fprintf(f, "\" time=\"%.3f\">\n", t->seconds);
            /* earlier attempts: flaky (then passed) or reruns (failed every time) */
            for (unsigned a = 0; a + 1 < t->attempts; a++) {
                const struct run_attempt *p = &t->tries[a];
                int err = p->outcome == RUN_ERROR;
                const char *el = t->outcome == RUN_FLAKY ? (err ? "flakyError" : "flakyFailure")
                                                         : (err ? "rerunError" : "rerunFailure");
                junit_attempt(f, el, p, 1);
            }
            if (t->outcome == RUN_FAILED)
                junit_attempt(f, "failure", last, 0);
            else if (t->outcome == RUN_ERROR)
                junit_attempt(f, "error", last, 0);
            else if (t->outcome == RUN_SKIPPED) {
                fprintf(f, "      <skipped message=\"");
                kmrig_cli_xml_text(f, last->message);
                fprintf(f, "\"/>\n");
            }
            fprintf(f, "      <system-out>");
            if (t->outcome == RUN_FLAKY)
                fprintf(f, "kmrig: flaky: failed %u time(s), then passed on attempt %u\n",
                        t->attempts - 1, t->attempts);
            kmrig_cli_xml_text(f, last->output);
            fprintf(f, "</system-out>\n    </testcase>\n");
        }
        fprintf(f, "  </testsuite>\n");
    }
    fprintf(f, "</testsuites>\n");
    if (ferror(f)) {
        int e = errno;
        fclose(f);
        errno = e ? e : EIO;
        return -1;
    }
    return fclose(f) == 0 ? 0 : -1;
}

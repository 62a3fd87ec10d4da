/*
 * cli.h - the kmrig command's subcommands (docs/cli.md). Linux-facing code: snake_case; each
 * subcommand parses its own options and returns the process exit status.
 */
#ifndef KMRIG_CLI_H
#define KMRIG_CLI_H

#include <stdio.h>

/* Exit statuses (docs/cli.md, "Exit status"). */
#define KMRIG_CLI_OK 0
#define KMRIG_CLI_FAILED 1          /* a test failed (run) */
#define KMRIG_CLI_USAGE 2           /* bad command line */
#define KMRIG_CLI_NOT_IMPLEMENTED 3 /* a subcommand this version does not have yet */
#define KMRIG_CLI_ERROR 4           /* the command could not do its job (a suite would not start) */
#define KMRIG_CLI_HOOK 5            /* run: a power or reset hook failed; the run stopped */
#define KMRIG_CLI_NO_TARGET 77      /* the target did not open, or every test skipped */

int kmrig_cli_info(int argc, char **argv);
int kmrig_cli_run(int argc, char **argv);
int kmrig_cli_list(int argc, char **argv);
int kmrig_cli_bench(int argc, char **argv);
int kmrig_cli_serve(int argc, char **argv);
int kmrig_cli_program(int argc, char **argv);

/* The path of the running kmrig executable (for finding suites next to it). */
const char *kmrig_cli_self(void);

/* Checks that a target URI opens (and closes it). 0, or KMRIG_CLI_USAGE (unknown transport, bad
 * arguments) / KMRIG_CLI_NO_TARGET (not built, not there), with the reason on stderr. */
int kmrig_cli_probe_target(const char *uri);

/* Writes s as XML text or attribute value (JUnit, SVG): & < > " escaped; bytes XML 1.0 cannot
 * carry (control characters, invalid UTF-8) become '?'. junit.c. */
void kmrig_cli_xml_text(FILE *f, const char *s);

#endif

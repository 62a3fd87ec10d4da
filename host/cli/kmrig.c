/*
 * kmrig.c - the kmrig command: subcommand dispatch and the top-level help (docs/cli.md).
 */
#define _GNU_SOURCE
#include "cli.h"

#include <kmrig/link.h>

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char kmrig_help[] =
    "kmrig - run Windows kernel-mode drivers against RTL: a Verilator model or an FPGA board\n"
    "\n"
    "usage: kmrig <command> [options]\n"
    "\n"
    "commands:\n"
    "  info    what is on a target: its link, its profile, the devices of its enumeration ROM\n"
    "          and the resources a driver would get for each\n"
    "  run     run regression suites (the bundled reference-SoC suite by default), each test in\n"
    "          its own process; JUnit XML for CI, a trace per test, retries for flaky tests\n"
    "  bench   DMA throughput, register and ISR latency, the sustainable interrupt rate, on the\n"
    "          device's clock: a table, JSON and an SVG plot\n"
    "  serve   export a target over TCP (loopback and a token by default) for tcp:// clients\n"
    "  list    the boards attached to this machine, their stable IDs and target URIs; a CTest\n"
    "          resource spec for a pool of boards\n"
    "  program write an iCE40 bitstream to a board (iceprog): flash, or --sram\n"
    "  help    this text, or `kmrig help <command>`\n"
    "\n"
    "Targets are URIs: sim (the reference SoC's model, in this process, on its own clock),\n"
    "sim:profile=ft245 (with the timing of a USB 2.0 FT245 link; also ideal, pcie, uart),\n"
    "sim:waves=run.fst (an FST waveform), loop (a plain-C stand-in). `kmrig <command> --help`\n"
    "says more; docs/cli.md is the reference.\n"
    "\n"
    "exit status: 0 success, 1 a test failed, 2 usage error, 3 not possible on this target\n"
    "(bench on a board), 4 the command could not do its job, 5 a power/reset hook failed,\n"
    "77 no target / every test skipped\n";

static char g_self[PATH_MAX];

const char *kmrig_cli_self(void)
{
    return g_self;
}

int kmrig_cli_probe_target(const char *uri)
{
    struct kmrig_link *link = NULL;
    char err[256] = "";
    int rc = kmrig_link_open(uri, &link, err, sizeof err);
    if (rc == KMRIG_LINK_OK) {
        kmrig_link_close(link);
        return KMRIG_CLI_OK;
    }
    if (err[0])
        fprintf(stderr, "kmrig: %s\n", err);
    else
        fprintf(stderr, "kmrig: target '%s': %s\n", uri, kmrig_link_strerror(rc));
    if (rc == KMRIG_LINK_ENOENT || rc == KMRIG_LINK_EINVAL)
        return KMRIG_CLI_USAGE;
    return KMRIG_CLI_NO_TARGET;
}

int main(int argc, char **argv)
{
    ssize_t n = readlink("/proc/self/exe", g_self, sizeof g_self - 1);
    if (n > 0)
        g_self[n] = 0;
    else
        snprintf(g_self, sizeof g_self, "%s", argv[0]);

    if (argc < 2) {
        fputs(kmrig_help, stderr);
        return KMRIG_CLI_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        fputs(kmrig_help, stdout);
        return KMRIG_CLI_OK;
    }
    if (!strcmp(cmd, "help")) {
        if (argc < 3) {
            fputs(kmrig_help, stdout);
            return KMRIG_CLI_OK;
        }
        static char help_arg[] = "--help";
        static char *sub[3];
        sub[0] = argv[2];
        sub[1] = help_arg;
        cmd = argv[2];
        argv = sub;
        argc = 2;
        if (!strcmp(cmd, "info"))
            return kmrig_cli_info(argc, argv);
        if (!strcmp(cmd, "run"))
            return kmrig_cli_run(argc, argv);
        if (!strcmp(cmd, "list"))
            return kmrig_cli_list(argc, argv);
        if (!strcmp(cmd, "bench"))
            return kmrig_cli_bench(argc, argv);
        if (!strcmp(cmd, "serve"))
            return kmrig_cli_serve(argc, argv);
        if (!strcmp(cmd, "program"))
            return kmrig_cli_program(argc, argv);
    } else {
        argv++;
        argc--;
    }
    if (!strcmp(cmd, "info"))
        return kmrig_cli_info(argc, argv);
    if (!strcmp(cmd, "run"))
        return kmrig_cli_run(argc, argv);
    if (!strcmp(cmd, "list"))
        return kmrig_cli_list(argc, argv);
    if (!strcmp(cmd, "bench"))
        return kmrig_cli_bench(argc, argv);
    if (!strcmp(cmd, "serve"))
        return kmrig_cli_serve(argc, argv);
    if (!strcmp(cmd, "program"))
        return kmrig_cli_program(argc, argv);
    if (!strcmp(cmd, "--version")) {
        printf("kmrig %s\n", KMRIG_VERSION);
        return KMRIG_CLI_OK;
    }
    fprintf(stderr, "kmrig: unknown command '%s' (kmrig --help lists them)\n", cmd);
    return KMRIG_CLI_USAGE;
}

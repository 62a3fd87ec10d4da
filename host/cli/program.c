/*
 * program.c - `kmrig program`: writes an iCE40 bitstream to a board with iceprog (docs/cli.md,
 * "kmrig program"; the bitstreams come from gateware/build.py, docs/boards.md).
 *
 *   kmrig program [--board icebreaker|hx8k] [--sram] [--device DEV] FILE.bin
 *
 * By default the bitstream goes to the board's configuration flash (iceprog FILE: erase, write,
 * verify; the FPGA loads it at every power-up); --sram loads it into the FPGA only (iceprog -S,
 * lost at power-off). --board checks that the file is a bitstream for that board's part (by its
 * size) before anything is written; --device is iceprog's -d (which FTDI chip). The iceprog used
 * is $KMRIG_ICEPROG if set, else the first `iceprog` on PATH.
 *
 * Exit status: 0 written; 2 usage (bad option, unknown board, a file that is not an iCE40
 * bitstream or not one for --board); 4 iceprog missing, not runnable, or it failed (its own
 * output says why: no board found, flash ID wrong, verify failed).
 */
#define _GNU_SOURCE
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* The boards `kmrig program` knows: the part's bitstream size (icepack output, no comment
 * block beyond icepack's own) and how to make the board take an SRAM image. */
struct kmrig_program_board {
    const char *name;
    const char *part;
    long bin_size;
    const char *note;
};

static const struct kmrig_program_board kmrig_program_boards[] = {
    {"hx8k", "iCE40HX8K", 135100,
     "the HX8K breakout's jumpers J6 and J7 choose flash or SRAM programming: set them for the "
     "one you asked for (the board's user guide)"},
    {"icebreaker", "iCE40UP5K", 104090, "the iCEBreaker takes both without jumper changes"},
};

static const char kmrig_program_help[] =
    "usage: kmrig program [--board icebreaker|hx8k] [--sram] [--device DEV] FILE.bin\n"
    "\n"
    "Writes an iCE40 bitstream (gateware/build.py makes them) to a board with iceprog:\n"
    "to its configuration flash by default, into the FPGA only with --sram (iceprog -S).\n"
    "  --board NAME   check that FILE is a bitstream for that board's part first\n"
    "  --sram         load the FPGA's SRAM, not the flash (lost at power-off)\n"
    "  --device DEV   iceprog -d DEV: which FTDI device (d:BUS/DEV, i:VID:PID[:N], "
    "s:VID:PID:SERIAL)\n"
    "The iceprog used is $KMRIG_ICEPROG, else `iceprog` on PATH (package fpga-icestorm).\n"
    "Exit status: 0 written, 2 usage or not a bitstream for the board, 4 iceprog missing or "
    "failed.\n";

/* Finds prog on PATH (or takes it as a path when it has a slash); 0 and the path in out. */
static int kmrig_program_find(const char *prog, char *out, size_t cap)
{
    if (strchr(prog, '/')) {
        if (access(prog, X_OK) != 0)
            return -1;
        snprintf(out, cap, "%s", prog);
        return 0;
    }
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/usr/local/bin:/usr/bin:/bin";
    const char *p = path;
    while (*p) {
        const char *end = strchr(p, ':');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len > 0 && (size_t)snprintf(out, cap, "%.*s/%s", (int)len, p, prog) < cap &&
            access(out, X_OK) == 0)
            return 0;
        p += len;
        if (*p == ':')
            p++;
    }
    return -1;
}

/* An iCE40 bitstream has the sync word 7E AA 99 7E near its start (after an optional comment
 * block); 0 if it is there, with the file's size in *size. */
static int kmrig_program_check_file(const char *file, long *size)
{
    FILE *f = fopen(file, "rb");
    if (!f) {
        fprintf(stderr, "kmrig program: %s: %s\n", file, strerror(errno));
        return -1;
    }
    unsigned char buf[4096];
    size_t n = fread(buf, 1, sizeof buf, f);
    struct stat st;
    int ok = fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode);
    fclose(f);
    if (!ok) {
        fprintf(stderr, "kmrig program: %s: not a regular file\n", file);
        return -1;
    }
    *size = (long)st.st_size;
    for (size_t i = 0; i + 4 <= n; i++)
        if (buf[i] == 0x7E && buf[i + 1] == 0xAA && buf[i + 2] == 0x99 && buf[i + 3] == 0x7E)
            return 0;
    fprintf(stderr,
            "kmrig program: %s is not an iCE40 bitstream (no sync word 7E AA 99 7E in its first "
            "%zu bytes; icepack's .bin is, its .asc is not)\n",
            file, n);
    return -1;
}

int kmrig_cli_program(int argc, char **argv)
{
    const char *board = NULL, *device = NULL, *file = NULL;
    int sram = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(kmrig_program_help, stdout);
            return KMRIG_CLI_OK;
        } else if (!strcmp(a, "--sram")) {
            sram = 1;
        } else if (!strcmp(a, "--board") || !strcmp(a, "--device")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "kmrig program: %s needs a value\n%s", a, kmrig_program_help);
                return KMRIG_CLI_USAGE;
            }
            if (!strcmp(a, "--board"))
                board = argv[++i];
            else
                device = argv[++i];
        } else if (a[0] == '-' && a[1] != 0) {
            fprintf(stderr, "kmrig program: unknown option %s\n%s", a, kmrig_program_help);
            return KMRIG_CLI_USAGE;
        } else if (file) {
            fprintf(stderr, "kmrig program: one bitstream at a time (%s and %s)\n", file, a);
            return KMRIG_CLI_USAGE;
        } else {
            file = a;
        }
    }
    if (!file) {
        fprintf(stderr, "kmrig program: no bitstream given\n%s", kmrig_program_help);
        return KMRIG_CLI_USAGE;
    }
    const struct kmrig_program_board *b = NULL;
    if (board) {
        for (size_t i = 0; i < sizeof kmrig_program_boards / sizeof kmrig_program_boards[0]; i++)
            if (!strcmp(board, kmrig_program_boards[i].name))
                b = &kmrig_program_boards[i];
        if (!b) {
            fprintf(stderr, "kmrig program: unknown board '%s' (icebreaker, hx8k)\n", board);
            return KMRIG_CLI_USAGE;
        }
    }
    long size = 0;
    if (kmrig_program_check_file(file, &size) != 0)
        return KMRIG_CLI_USAGE;
    if (b && size != b->bin_size) {
        fprintf(stderr,
                "kmrig program: %s is %ld bytes, but a bitstream for the %s (%s) is %ld: built "
                "for another part? (gateware/build.py writes <build>/gateware/%s/%s.bin)\n",
                file, size, b->name, b->part, b->bin_size, b->name, b->name);
        return KMRIG_CLI_USAGE;
    }

    const char *prog = getenv("KMRIG_ICEPROG");
    if (!prog || !*prog)
        prog = "iceprog";
    char path[4096];
    if (kmrig_program_find(prog, path, sizeof path) != 0) {
        fprintf(stderr,
                "kmrig program: %s not found%s (it is in Debian's fpga-icestorm package: apt-get "
                "install fpga-icestorm; or set KMRIG_ICEPROG)\n",
                prog, strchr(prog, '/') ? " or not executable" : " on PATH");
        return KMRIG_CLI_ERROR;
    }

    const char *args[8];
    int n = 0;
    args[n++] = path;
    if (device) {
        args[n++] = "-d";
        args[n++] = device;
    }
    if (sram)
        args[n++] = "-S";
    args[n++] = file;
    args[n] = NULL;
    fprintf(stderr, "kmrig program: %s %s%s%s%s%s (%s)\n", path, device ? "-d " : "",
            device ? device : "", device ? " " : "", sram ? "-S " : "", file,
            sram ? "FPGA SRAM: lost at power-off" : "configuration flash");
    if (b)
        fprintf(stderr, "kmrig program: %s\n", b->note);
    fflush(NULL);

    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "kmrig program: fork: %s\n", strerror(errno));
        return KMRIG_CLI_ERROR;
    }
    if (pid == 0) {
        execv(path, (char **)args);
        fprintf(stderr, "kmrig program: cannot run %s: %s\n", path, strerror(errno));
        _exit(127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            fprintf(stderr, "kmrig program: waitpid: %s\n", strerror(errno));
            return KMRIG_CLI_ERROR;
        }
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        fprintf(stderr, "kmrig program: %s written to the %s\n", file,
                sram ? "FPGA (SRAM)" : "configuration flash");
        return KMRIG_CLI_OK;
    }
    if (WIFSIGNALED(status))
        fprintf(stderr, "kmrig program: %s was killed by signal %d\n", path, WTERMSIG(status));
    else
        fprintf(stderr,
                "kmrig program: %s failed (exit %d): see its output above (board not connected, "
                "in use by another program, or no permission on the USB device: docs/boards.md, "
                "udev)\n",
                path, WEXITSTATUS(status));
    return KMRIG_CLI_ERROR;
}

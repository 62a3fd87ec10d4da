/*
 * test_cli_program.c - `kmrig program` (docs/cli.md) run as a user runs it, against a fake
 * iceprog put first on PATH: a shell script that records its arguments to a file and exits with
 * the status in $FAKE_ICEPROG_EXIT. Checks the arguments iceprog gets (flash by default, -S for
 * --sram, -d for --device), the exit statuses (0, 2 usage or wrong file, 4 iceprog missing or
 * failed) and that nothing runs iceprog when the file is refused.
 *
 * KMRIG_EXE is the kmrig executable, from CMake.
 */
#define _GNU_SOURCE
#include "kmtest.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define UP5K_BIN_SIZE 104090 /* what icepack writes for an iCE40UP5K */

static char g_dir[64];
static char g_args[512];    /* the fake iceprog's record */
static char g_out[1 << 14]; /* kmrig's stdout + stderr */

/* A scratch directory with the fake iceprog in bin/ and an UP5K-sized bitstream. */
static void setup_dir(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/kmrig-program-XXXXXX");
    assert_non_null(mkdtemp(g_dir));
    char path[256];
    snprintf(path, sizeof path, "%s/bin", g_dir);
    assert_int_equal(mkdir(path, 0755), 0);
    snprintf(path, sizeof path, "%s/bin/iceprog", g_dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f,
            "#!/bin/sh\n"
            "printf '%%s\\n' \"$@\" > '%s/args'\n"
            "echo 'fake iceprog: done'\n"
            "exit ${FAKE_ICEPROG_EXIT:-0}\n",
            g_dir);
    fclose(f);
    assert_int_equal(chmod(path, 0755), 0);
}

/* A file of size bytes: a comment block, then the sync word when sync is set. */
static void write_bitstream(const char *name, long size, int sync)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    static const unsigned char head[] = {0xFF, 0x00, 'k',  'm',  'r',  'i',  'g',  0x00,
                                         0xFF, 0x7E, 0xAA, 0x99, 0x7E, 0x51, 0x00, 0x01};
    for (long i = 0; i < size; i++) {
        int c = i < (long)sizeof head ? head[i] : (int)(i * 7 & 0xFF);
        if (!sync && i >= 9 && i < 13)
            c = 0x11;
        fputc(c, f);
    }
    fclose(f);
}

/* Runs kmrig program with args, PATH = the fake's directory first (or nothing else with
 * only_fake = 0 and no fake), FAKE_ICEPROG_EXIT = fake_exit. Returns the exit status. */
static int program(const char *path_env, int fake_exit, const char *const *args)
{
    char argsfile[128];
    snprintf(argsfile, sizeof argsfile, "%s/args", g_dir);
    unlink(argsfile);
    g_args[0] = 0;
    char outpath[128];
    snprintf(outpath, sizeof outpath, "%s/out", g_dir);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        FILE *o = freopen(outpath, "w", stdout);
        if (!o)
            _exit(126);
        dup2(1, 2);
        const char *argv[16];
        int n = 0;
        argv[n++] = KMRIG_EXE;
        argv[n++] = "program";
        for (int i = 0; args[i] && n < 15; i++)
            argv[n++] = args[i];
        argv[n] = NULL;
        char exitv[16];
        snprintf(exitv, sizeof exitv, "%d", fake_exit);
        setenv("PATH", path_env, 1);
        setenv("FAKE_ICEPROG_EXIT", exitv, 1);
        unsetenv("KMRIG_ICEPROG");
        execv(KMRIG_EXE, (char **)argv);
        _exit(127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    FILE *f = fopen(outpath, "r");
    size_t got = f ? fread(g_out, 1, sizeof g_out - 1, f) : 0;
    g_out[got] = 0;
    if (f)
        fclose(f);
    f = fopen(argsfile, "r");
    if (f) {
        got = fread(g_args, 1, sizeof g_args - 1, f);
        g_args[got] = 0;
        fclose(f);
    }
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

/* Removes the scratch directory (its files are the fake, the bitstreams, args and out). */
static int remove_dir(void **state)
{
    (void)state;
    static const char *const names[] = {"bin/iceprog", "bin",  "ib.bin",
                                        "nosync.bin",  "args", "out"};
    char path[128];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", g_dir, names[i]);
        if (remove(path) != 0 && errno != ENOENT)
            return -1;
    }
    return rmdir(g_dir);
}

static char g_path[256];
static const char *fake_path(void)
{
    snprintf(g_path, sizeof g_path, "%s/bin:/usr/bin:/bin", g_dir);
    return g_path;
}

static char g_file[128];
static const char *file(const char *name)
{
    snprintf(g_file, sizeof g_file, "%s/%s", g_dir, name);
    return g_file;
}

static void test_cli_program_writes_the_flash_by_default(void **state)
{
    (void)state;
    setup_dir();
    write_bitstream("ib.bin", UP5K_BIN_SIZE, 1);
    const char *f = file("ib.bin");
    const char *args[] = {"--board", "icebreaker", f, NULL};
    assert_int_equal(program(fake_path(), 0, args), 0);
    char want[160];
    snprintf(want, sizeof want, "%s\n", f); /* iceprog FILE: erase, write, verify the flash */
    assert_string_equal(g_args, want);
    assert_non_null(strstr(g_out, "fake iceprog: done"));
}

static void test_cli_program_sram_passes_dash_S_and_device(void **state)
{
    (void)state;
    setup_dir();
    write_bitstream("ib.bin", UP5K_BIN_SIZE, 1);
    const char *f = file("ib.bin");
    const char *args[] = {"--sram", "--device", "i:0x0403:0x6010:1", f, NULL};
    assert_int_equal(program(fake_path(), 0, args), 0);
    char want[200];
    snprintf(want, sizeof want, "-d\ni:0x0403:0x6010:1\n-S\n%s\n", f);
    assert_string_equal(g_args, want);
}

static void test_cli_program_reports_iceprog_failure(void **state)
{
    (void)state;
    setup_dir();
    write_bitstream("ib.bin", UP5K_BIN_SIZE, 1);
    const char *args[] = {file("ib.bin"), NULL};
    assert_int_equal(program(fake_path(), 1, args), 4);
    assert_non_null(strstr(g_out, "failed (exit 1)"));
    assert_true(g_args[0] != 0); /* it did run */
}

static void test_cli_program_says_when_iceprog_is_missing(void **state)
{
    (void)state;
    setup_dir();
    write_bitstream("ib.bin", UP5K_BIN_SIZE, 1);
    const char *args[] = {file("ib.bin"), NULL};
    char empty[128];
    snprintf(empty, sizeof empty, "%s/nothing-here", g_dir);
    assert_int_equal(program(empty, 0, args), 4);
    assert_non_null(strstr(g_out, "iceprog not found"));
    assert_non_null(strstr(g_out, "fpga-icestorm"));
}

static void test_cli_program_refuses_a_file_for_another_board(void **state)
{
    (void)state;
    setup_dir();
    write_bitstream("ib.bin", UP5K_BIN_SIZE, 1);
    const char *args[] = {"--board", "hx8k", file("ib.bin"), NULL};
    assert_int_equal(program(fake_path(), 0, args), 2);
    assert_non_null(strstr(g_out, "built for another part"));
    assert_string_equal(g_args, ""); /* iceprog never ran */
}

static void test_cli_program_refuses_what_is_not_a_bitstream(void **state)
{
    (void)state;
    setup_dir();
    write_bitstream("nosync.bin", UP5K_BIN_SIZE, 0);
    const char *args[] = {file("nosync.bin"), NULL};
    assert_int_equal(program(fake_path(), 0, args), 2);
    assert_non_null(strstr(g_out, "not an iCE40 bitstream"));
    assert_string_equal(g_args, "");
    const char *missing[] = {file("missing.bin"), NULL};
    assert_int_equal(program(fake_path(), 0, missing), 2);
    assert_string_equal(g_args, "");
}

static void test_cli_program_usage_errors(void **state)
{
    (void)state;
    setup_dir();
    write_bitstream("ib.bin", UP5K_BIN_SIZE, 1);
    const char *none[] = {NULL};
    assert_int_equal(program(fake_path(), 0, none), 2);
    const char *unknown_board[] = {"--board", "arty", file("ib.bin"), NULL};
    assert_int_equal(program(fake_path(), 0, unknown_board), 2);
    assert_non_null(strstr(g_out, "unknown board 'arty'"));
    const char *unknown_opt[] = {"--flash-twice", file("ib.bin"), NULL};
    assert_int_equal(program(fake_path(), 0, unknown_opt), 2);
    const char *no_value[] = {file("ib.bin"), "--board", NULL};
    assert_int_equal(program(fake_path(), 0, no_value), 2);
    assert_string_equal(g_args, "");
    const char *help[] = {"--help", NULL};
    assert_int_equal(program(fake_path(), 0, help), 0);
    assert_non_null(strstr(g_out, "usage: kmrig program"));
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_teardown(test_cli_program_writes_the_flash_by_default, remove_dir),
    cmocka_unit_test_teardown(test_cli_program_sram_passes_dash_S_and_device, remove_dir),
    cmocka_unit_test_teardown(test_cli_program_reports_iceprog_failure, remove_dir),
    cmocka_unit_test_teardown(test_cli_program_says_when_iceprog_is_missing, remove_dir),
    cmocka_unit_test_teardown(test_cli_program_refuses_a_file_for_another_board, remove_dir),
    cmocka_unit_test_teardown(test_cli_program_refuses_what_is_not_a_bitstream, remove_dir),
    cmocka_unit_test_teardown(test_cli_program_usage_errors, remove_dir),
};
KMTEST_MAIN(tests)

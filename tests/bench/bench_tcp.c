/*
 * bench_tcp.c - the tcp:// transport against the same target in this process: register read
 * round trips per second over loopback against the local model (a ratio, in one run), and what
 * batching posted writes saves.
 *
 *   bench_tcp [KMRIG_EXE]    (default: the kmrig built with this tree)
 *
 * Starts `kmrig serve --target sim` on 127.0.0.1 (port 0) with a token of its own, measures,
 * and stops it. Prints one line per figure.
 */
#define _GNU_SOURCE
#include "bench_common.h"

#include <kmrig/link.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define SYSID_ID 0x1000u /* the reference SoC's sysid: a read-only register */
#define RAM_ADDR 0x4008u /* dma0's address register: read/write, word aligned values */

static struct kmrig_link *open_or_die(const char *uri)
{
    struct kmrig_link *l = NULL;
    char err[256];
    if (kmrig_link_open(uri, &l, err, sizeof err) != KMRIG_LINK_OK) {
        fprintf(stderr, "bench_tcp: %s\n", err);
        exit(1);
    }
    return l;
}

/* Reads per second for n reads. */
static double reads_per_s(struct kmrig_link *l, unsigned n)
{
    uint32_t v;
    uint64_t t0 = bench_now_ns();
    for (unsigned i = 0; i < n; i++)
        kmrig_link_read(l, KMRIG_SPACE_MEM, SYSID_ID, 4, &v, NULL);
    return n / ((bench_now_ns() - t0) / 1e9);
}

/* ns per write for n writes followed by one read (which pushes them). */
static double ns_per_write(struct kmrig_link *l, unsigned n)
{
    uint32_t v;
    uint64_t t0 = bench_now_ns();
    for (unsigned i = 0; i < n; i++)
        kmrig_link_write(l, KMRIG_SPACE_MEM, RAM_ADDR, 4, 4 * i, NULL);
    kmrig_link_read(l, KMRIG_SPACE_MEM, RAM_ADDR, 4, &v, NULL);
    if (v != 4 * (n - 1))
        fprintf(stderr, "bench_tcp: the last write did not land (0x%x)\n", v);
    return (double)(bench_now_ns() - t0) / n;
}

int main(int argc, char **argv)
{
    const char *exe = argc > 1 ? argv[1] : KMRIG_EXE;
    char token[] = "/tmp/bench-tcp-XXXXXX";
    int tf = mkstemp(token);
    if (tf < 0 || write(tf, "bench-tcp-token\n", 16) != 16)
        return 1;
    close(tf);
    int fds[2];
    if (pipe(fds) < 0)
        return 1;
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        dup2(fds[1], 1);
        close(fds[0]);
        execl(exe, exe, "serve", "--target", "sim", "--token-file", token, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    FILE *f = fdopen(fds[0], "r");
    char line[512], uri[300] = "";
    while (!uri[0] && fgets(line, sizeof line, f)) {
        const char *p = strstr(line, "clients use --target ");
        if (p)
            snprintf(uri, sizeof uri, "%.*s", (int)strcspn(p + 21, "\n"), p + 21);
    }
    if (!uri[0]) {
        fprintf(stderr, "bench_tcp: kmrig serve did not start (%s)\n", exe);
        return 1;
    }
    const unsigned n = 20000;
    struct kmrig_link *local = open_or_die("sim");
    reads_per_s(local, 1000);
    double rl = reads_per_s(local, n);
    kmrig_link_close(local);
    struct kmrig_link *tcp = open_or_die(uri);
    reads_per_s(tcp, 1000);
    double rt = reads_per_s(tcp, n);
    printf("register reads, local sim:      %10.0f /s\n", rl);
    printf("register reads, tcp:// loopback: %10.0f /s  (%.1fx slower than local)\n", rt, rl / rt);
    kmrig_link_close(tcp);

    char u0[320], u1[320];
    snprintf(u0, sizeof u0, "%s,batch=0", uri);
    snprintf(u1, sizeof u1, "%s,batch=1", uri);
    struct kmrig_link *l0 = open_or_die(u0);
    double w0 = ns_per_write(l0, n);
    kmrig_link_close(l0);
    struct kmrig_link *l1 = open_or_die(u1);
    double w1 = ns_per_write(l1, n);
    kmrig_link_close(l1);
    printf("writes, every one answered:      %10.0f ns each\n", w0);
    printf("writes, posted in batches:       %10.0f ns each  (%.1fx faster)\n", w1, w0 / w1);

    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    fclose(f);
    unlink(token);
    return 0;
}

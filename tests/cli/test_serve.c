/*
 * test_serve.c - `kmrig serve` and the tcp:// transport (docs/cli.md, "kmrig serve";
 * docs/protocol.md, "Remote targets (kmrig serve)"), each test in its own process.
 *
 * Each test starts `kmrig serve` on loopback, port 0, and reads the address it prints; then it
 * uses the target as a user does (`kmrig run --target tcp://...`) or through the link API in
 * this process. KMRIG_EXE and (with the model) REFSOC_SUITE come from CMake.
 */
#define _GNU_SOURCE
#include "kmtest.h"

#include "cli_run.h"

#include <kmrig/link.h>
#include <kmrig/link_tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define TOKEN "kmrig-test-token-0123456789abcdef"

struct server {
    pid_t pid;
    char uri[256];  /* tcp://127.0.0.1:PORT,token_file=... */
    char addr[64];  /* 127.0.0.1:PORT */
    char log[64];   /* its stderr */
    char token[64]; /* the token file */
};

static void write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static char *read_file(const char *path)
{
    static char buf[1 << 24];
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return strcpy(buf, "");
    ssize_t n = read(fd, buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    close(fd);
    return buf;
}

/* Starts `kmrig serve --target target [extra]` with the test token. */
static void server_start(struct server *s, const char *target, const char *extra1,
                         const char *extra2)
{
    memset(s, 0, sizeof *s);
    snprintf(s->token, sizeof s->token, "/tmp/kmrig-serve-test-%d.token", (int)getpid());
    snprintf(s->log, sizeof s->log, "/tmp/kmrig-serve-test-%d.log", (int)getpid());
    write_file(s->token, TOKEN "\n");
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    fflush(NULL);
    s->pid = fork();
    assert_true(s->pid >= 0);
    if (s->pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM); /* a failed test does not leave its server behind */
        int lf = open(s->log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(fds[1], 1);
        dup2(lf, 2);
        close(fds[0]);
        unsetenv("KMRIG_TOKEN");
        const char *argv[] = {KMRIG_EXE, "serve", "--target", target, "--token-file",
                              s->token,  extra1,  extra2,     NULL};
        execv(argv[0], (char **)argv);
        _exit(127);
    }
    close(fds[1]);
    FILE *f = fdopen(fds[0], "r");
    char line[512];
    while (fgets(line, sizeof line, f)) {
        const char *p = strstr(line, "clients use --target ");
        if (p) {
            snprintf(s->uri, sizeof s->uri, "%s", p + 21);
            s->uri[strcspn(s->uri, "\n")] = 0;
            break;
        }
    }
    fclose(f);
    if (!s->uri[0])
        fail_msg("kmrig serve did not start: %s", read_file(s->log));
    const char *a = s->uri + 6;
    snprintf(s->addr, sizeof s->addr, "%.*s", (int)strcspn(a, ","), a);
}

/* Stops it with SIGTERM: it must exit 0 (a clean stop). */
static void server_stop(struct server *s)
{
    int status = 0;
    kill(s->pid, SIGTERM);
    while (waitpid(s->pid, &status, 0) < 0 && errno == EINTR)
        ;
    unlink(s->token);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static struct kmrig_link *open_link(const char *uri)
{
    struct kmrig_link *l = NULL;
    char err[256];
    int rc = kmrig_link_open(uri, &l, err, sizeof err);
    if (rc != KMRIG_LINK_OK)
        fail_msg("open %s: %s", uri, err);
    return l;
}

/* ---- the whole suite, and what is refused ---------------------------------------------- */

#ifdef REFSOC_SUITE
static void test_serve_runs_the_bundled_suite_over_tcp(void **state)
{
    struct server s;
    server_start(&s, "sim", NULL, NULL);
    assert_int_equal(kmrig("run", "--list", REFSOC_SUITE, NULL), 0);
    unsigned tests = 0;
    for (const char *p = g_out; (p = strstr(p, "refsoc:")); p++)
        tests++;
    assert_true(tests >= 5);
    int rc = kmrig("run", "--target", s.uri, "--seed", "3", REFSOC_SUITE, NULL);
    if (rc != 0)
        fail_msg("kmrig run over tcp exited %d:\n%s\nserver:\n%s", rc, g_out, read_file(s.log));
    char want[64];
    snprintf(want, sizeof want, "%u test(s): %u passed, 0 failed, 0 error(s)", tests, tests);
    assert_non_null(strstr(g_out, want));
    server_stop(&s);
}

/* The same test traces the same events over tcp:// as on the local model (the hash of its
 * stream): an interrupt, the UART, and device DMA (the engine copies between two buffers whose
 * place in memory is the same on every run: docs/architecture.md, "Event trace"). */
static void test_serve_trace_hash_matches_the_local_model(void **state)
{
    struct server s;
    server_start(&s, "sim", NULL, NULL);
    /* the DMA test twice: answered writes (the default for a virtual-time target) and posted
     * ones (batch=1) */
    const char *tests[] = {"refsoc:refsoc_timer_interrupt_arrives_on_time",
                           "refsoc:refsoc_serial_loops_back_through_the_uart",
                           "refsoc:refsoc_dma_copies_a_buffer",
                           "refsoc:refsoc_dma_copies_a_buffer"};
    char batched[300];
    snprintf(batched, sizeof batched, "%s,batch=1", s.uri);
    for (unsigned i = 0; i < sizeof tests / sizeof tests[0]; i++) {
        const char *uri = i == 3 ? batched : s.uri;
        char spec[256], a[64], b[64], ha[32] = "", hb[32] = "";
        snprintf(spec, sizeof spec, "%s:%s", REFSOC_SUITE, strchr(tests[i], ':') + 1);
        snprintf(a, sizeof a, "/tmp/kmrig-serve-%d-local.json", (int)getpid());
        snprintf(b, sizeof b, "/tmp/kmrig-serve-%d-tcp.json", (int)getpid());
        assert_int_equal(kmrig("run", "--target", "sim", "--seed", "11", "--trace", a, spec, NULL),
                         0);
        assert_int_equal(kmrig("run", "--target", uri, "--seed", "11", "--trace", b, spec, NULL),
                         0);
        const char *h = strstr(read_file(a), "\"hash\":\"");
        assert_non_null(h);
        snprintf(ha, sizeof ha, "%.16s", h + 8);
        h = strstr(read_file(b), "\"hash\":\"");
        assert_non_null(h);
        snprintf(hb, sizeof hb, "%.16s", h + 8);
        print_message("%s: local %s, %s %s\n", tests[i], ha, i == 3 ? "tcp batch=1" : "tcp", hb);
        assert_string_equal(ha, hb);
        unlink(a);
        unlink(b);
    }
    server_stop(&s);
}

/* A connection that drops in the middle of a test fails that test (it reports it and the run
 * goes on, no hang); the server logs it and serves the next client on a fresh model. */
static void test_serve_drop_fails_that_test_and_serves_the_next_client(void **state)
{
    struct server s;
    server_start(&s, "sim", "--fault-drop-after", "500");
    char spec[256];
    snprintf(spec, sizeof spec, "%s:refsoc_dma_copies_a_buffer", REFSOC_SUITE);
    int rc = kmrig("run", "--target", s.uri, "--seed", "5", "--timeout", "120", spec, NULL);
    print_message("%s", g_out);
    assert_int_equal(rc, 1);
    assert_null(strstr(g_out, "PASS"));
    assert_null(strstr(g_out, "timeout"));
    assert_non_null(strstr(read_file(s.log), "dropped by --fault-drop-after after 500 requests"));
    rc = kmrig("run", "--target", s.uri, "--seed", "5", spec, NULL);
    if (rc != 0)
        fail_msg("the next client failed (%d):\n%s", rc, g_out);
    server_stop(&s);
}
#endif

static void test_serve_refuses_a_wrong_token_and_nothing_runs(void **state)
{
    struct server s;
    server_start(&s, "loop", NULL, NULL);
    char bad[64], uri[256];
    snprintf(bad, sizeof bad, "/tmp/kmrig-serve-bad-%d.token", (int)getpid());
    write_file(bad, "not-the-token\n");
    snprintf(uri, sizeof uri, "tcp://%s,token_file=%s", s.addr, bad);
    int rc = kmrig("run", "--target", uri, "--seed", "1", KMRIG_PASS_SUITE, NULL);
    print_message("%s", g_out);
    assert_int_equal(rc, 2); /* refused: invalid argument (the token) */
    assert_non_null(strstr(g_out, "wrong token"));
    assert_null(strstr(g_out, "PASS"));
    /* without any token */
    snprintf(uri, sizeof uri, "tcp://%s", s.addr);
    unsetenv("KMRIG_TOKEN");
    struct kmrig_link *l = NULL;
    char err[256];
    assert_int_equal(kmrig_link_open(uri, &l, err, sizeof err), KMRIG_LINK_EINVAL);
    assert_non_null(strstr(err, "token"));
    /* $KMRIG_TOKEN works */
    setenv("KMRIG_TOKEN", TOKEN, 1);
    l = open_link(uri);
    kmrig_link_close(l);
    const char *log = read_file(s.log);
    assert_non_null(strstr(log, "refused: wrong token"));
    assert_null(strstr(log, TOKEN)); /* the token is never logged */
    assert_null(strstr(log, "not-the-token"));
    unlink(bad);
    server_stop(&s);
}

static void test_serve_refuses_a_second_client_while_one_is_connected(void **state)
{
    struct server s;
    server_start(&s, "loop", NULL, NULL);
    struct kmrig_link *a = open_link(s.uri), *b = NULL;
    char err[256];
    assert_int_not_equal(kmrig_link_open(s.uri, &b, err, sizeof err), KMRIG_LINK_OK);
    assert_non_null(strstr(err, "busy"));
    kmrig_link_close(a);
    b = open_link(s.uri); /* the next one, after the first left */
    kmrig_link_close(b);
    server_stop(&s);
}

static void test_tcp_refuses_a_link_profile(void **state)
{
    struct kmrig_link *l = NULL;
    char err[256];
    assert_int_equal(kmrig_link_open("tcp://127.0.0.1:1,profile=ft245", &l, err, sizeof err),
                     KMRIG_LINK_EINVAL);
    assert_non_null(strstr(err, "profile"));
    /* nobody listening: a clear error */
    assert_int_equal(kmrig_link_open("tcp://127.0.0.1:1", &l, err, sizeof err), KMRIG_LINK_EIO);
    assert_non_null(strstr(err, "cannot connect"));
    assert_int_equal(kmrig_link_open("tcp://nohostport", &l, err, sizeof err), KMRIG_LINK_EINVAL);
}

/* Random bytes after a good hello close that connection only. */
static void test_serve_malformed_input_closes_only_that_connection(void **state)
{
    struct server s;
    server_start(&s, "loop", NULL, NULL);
    srand(1234);
    for (int round = 0; round < 4; round++) {
        char host[64], *port;
        snprintf(host, sizeof host, "%s", s.addr);
        port = strrchr(host, ':');
        *port++ = 0;
        struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *res;
        assert_int_equal(getaddrinfo(host, port, &hints, &res), 0);
        int fd = socket(res->ai_family, res->ai_socktype, 0);
        assert_int_equal(connect(fd, res->ai_addr, res->ai_addrlen), 0);
        freeaddrinfo(res);
        uint8_t m[64];
        size_t tl = strlen(TOKEN);
        size_t at = kmrig_tcp_header(m, KMRIG_TCP_HELLO, 12 + tl);
        memcpy(m + at, KMRIG_TCP_MAGIC, 8);
        kmrig_tcp_put16(m + at + 8, KMRIG_TCP_VERSION);
        kmrig_tcp_put16(m + at + 10, (uint16_t)tl);
        memcpy(m + at + 12, TOKEN, tl);
        assert_int_equal(send(fd, m, at + 12 + tl, MSG_NOSIGNAL), (ssize_t)(at + 12 + tl));
        uint8_t w[5 + KMRIG_TCP_WELCOME_LEN];
        assert_int_equal(recv(fd, w, sizeof w, MSG_WAITALL), (ssize_t)sizeof w);
        assert_int_equal(w[4], KMRIG_TCP_WELCOME);
        uint8_t junk[512];
        for (size_t i = 0; i < sizeof junk; i++)
            junk[i] = (uint8_t)rand();
        if (round == 1)
            memcpy(junk, "\x05\x00\x00\x00\x10", 5); /* a READ with a short body */
        if (round == 2)
            memcpy(junk, "\xff\xff\xff\x7f", 4); /* a length out of range */
        send(fd, junk, sizeof junk, MSG_NOSIGNAL);
        /* the server closes (after an ERROR message when it could frame one) */
        uint8_t sink[4096];
        ssize_t got, total = 0;
        while ((got = recv(fd, sink, sizeof sink, 0)) > 0)
            total += got;
        assert_true(got == 0 || (got < 0 && errno == ECONNRESET));
        close(fd);
        /* and serves the next client */
        struct kmrig_link *l = open_link(s.uri);
        uint32_t v = 0;
        assert_int_equal(kmrig_link_write(l, KMRIG_SPACE_MEM, 0x40, 4, 0xA5A5F00Du, NULL), 0);
        assert_int_equal(kmrig_link_read(l, KMRIG_SPACE_MEM, 0x40, 4, &v, NULL), 0);
        assert_int_equal(v, 0xA5A5F00Du);
        kmrig_link_close(l);
    }
    assert_non_null(strstr(read_file(s.log), "malformed message"));
    server_stop(&s);
}

/* ---- the link over tcp against the same target locally -------------------------------- */

static uint8_t g_host[2][256];

/* The host memory the loop target's DMA engine reaches: bus 0x1000 and 0x2000 (256 bytes). */
static int host_dma(void *ctx, int write, uint64_t bus, void *data, size_t size)
{
    unsigned *count = ctx;
    (*count)++;
    for (unsigned i = 0; i < 2; i++) {
        uint64_t base = 0x1000u * (i + 1);
        if (bus >= base && bus + size <= base + sizeof g_host[i]) {
            if (write)
                memcpy(g_host[i] + (bus - base), data, size);
            else
                memcpy(data, g_host[i] + (bus - base), size);
            return KMRIG_LINK_OK;
        }
    }
    return KMRIG_LINK_EBUS;
}

/* A fixed sequence of every operation on the loop target; returns a digest of every result. */
static uint64_t exercise(struct kmrig_link *l)
{
    uint64_t h = 1469598103934665603ull;
#define MIX(x) (h = (h ^ (uint64_t)(x)) * 1099511628211ull)
    unsigned dmas = 0;
    uint32_t v;
    uint64_t ts;
    kmrig_link_set_dma_handler(l, host_dma, &dmas);
    for (unsigned i = 0; i < 256; i++) {
        g_host[0][i] = (uint8_t)(i * 7 + 1);
        g_host[1][i] = 0;
    }
    /* reads and writes, memory and I/O, sizes 1/2/4 */
    assert_int_equal(kmrig_link_write(l, KMRIG_SPACE_MEM, 0x100, 4, 0x11223344, &ts), 0);
    MIX(ts);
    assert_int_equal(kmrig_link_write(l, KMRIG_SPACE_IO, 0x3F8, 1, 0x5A, NULL), 0);
    assert_int_equal(kmrig_link_read(l, KMRIG_SPACE_MEM, 0x102, 2, &v, &ts), 0);
    assert_int_equal(v, 0x1122);
    MIX(v), MIX(ts);
    assert_int_equal(kmrig_link_read(l, KMRIG_SPACE_IO, 0x3F8, 1, &v, NULL), 0);
    assert_int_equal(v, 0x5A);
    assert_int_equal(kmrig_link_rmw(l, KMRIG_SPACE_MEM, 0x100, 4, 0xFF, 0x99, &v, NULL), 0);
    assert_int_equal(v, 0x11223344);
    assert_int_equal(kmrig_link_read(l, KMRIG_SPACE_MEM, 0x100, 4, &v, NULL), 0);
    assert_int_equal(v, 0x11223399);
    /* errors come back 1:1 */
    assert_int_equal(kmrig_link_read(l, KMRIG_SPACE_MEM, 0x10014, 4, &v, NULL), KMRIG_LINK_EBUS);
    assert_int_equal(kmrig_link_read(l, KMRIG_SPACE_MEM, 0x10001, 4, &v, NULL), KMRIG_LINK_EINVAL);
    assert_int_equal(kmrig_link_irq_control(l, 9, KMRIG_IRQ_UNMASK), KMRIG_LINK_EINVAL);
    /* interrupts: the timer raises line 3 after 500 cycles */
    assert_int_equal(kmrig_link_irq_control(l, 3, KMRIG_IRQ_EDGE), 0);
    assert_int_equal(kmrig_link_irq_control(l, 3, KMRIG_IRQ_UNMASK), 0);
    assert_int_equal(kmrig_link_write(l, KMRIG_SPACE_MEM, 0x1000C, 4, 3, NULL), 0);
    assert_int_equal(kmrig_link_write(l, KMRIG_SPACE_MEM, 0x10008, 4, 500, NULL), 0);
    uint64_t t0 = kmrig_link_now(l);
    MIX(t0);
    MIX(kmrig_link_next_event(l));
    uint64_t done = kmrig_link_advance(l, 10000, 1);
    MIX(done);
    assert_true(done <= 500);
    assert_int_equal(kmrig_link_irq_pending(l, &v), 0);
    assert_int_equal(v, 1u << 3);
    assert_int_equal(kmrig_link_irq_timestamp(l, 3, &ts), 0);
    assert_int_equal(ts, kmrig_link_now(l));
    MIX(ts);
    assert_int_equal(kmrig_link_irq_control(l, 3, KMRIG_IRQ_EOI), 0);
    assert_int_equal(kmrig_link_irq_pending(l, &v), 0);
    assert_int_equal(v, 0);
    /* DMA both ways: host 0x1000 -> host 0x2000 (a device read, then a device write) */
    assert_int_equal(kmrig_link_write(l, KMRIG_SPACE_MEM, 0x10020, 4, 0x1000, NULL), 0);
    assert_int_equal(kmrig_link_write(l, KMRIG_SPACE_MEM, 0x10024, 4, 0x2000, NULL), 0);
    assert_int_equal(kmrig_link_write(l, KMRIG_SPACE_MEM, 0x10028, 4, 256, NULL), 0);
    assert_int_equal(kmrig_link_write(l, KMRIG_SPACE_MEM, 0x1002C, 4, 1, NULL), 0);
    assert_int_equal(kmrig_link_read(l, KMRIG_SPACE_MEM, 0x10030, 4, &v, NULL), 0);
    assert_int_equal(v, 0); /* done, no fault */
    assert_memory_equal(g_host[0], g_host[1], 256);
    assert_int_equal(dmas, 2);
    /* a DMA outside host memory: a fault for the device, nothing touched */
    assert_int_equal(kmrig_link_write(l, KMRIG_SPACE_MEM, 0x10020, 4, 0x8000, NULL), 0);
    assert_int_equal(kmrig_link_write(l, KMRIG_SPACE_MEM, 0x1002C, 4, 1, NULL), 0);
    assert_int_equal(kmrig_link_read(l, KMRIG_SPACE_MEM, 0x10030, 4, &v, NULL), 0);
    assert_int_equal(v, 1);
    /* RAM -> host */
    assert_int_equal(kmrig_link_write(l, KMRIG_SPACE_MEM, 0x10020, 4, 0x100, NULL), 0);
    assert_int_equal(kmrig_link_write(l, KMRIG_SPACE_MEM, 0x10024, 4, 0x2000, NULL), 0);
    assert_int_equal(kmrig_link_write(l, KMRIG_SPACE_MEM, 0x10028, 4, 4, NULL), 0);
    assert_int_equal(kmrig_link_write(l, KMRIG_SPACE_MEM, 0x1002C, 4, 3, NULL), 0);
    assert_int_equal(kmrig_link_read(l, KMRIG_SPACE_MEM, 0x10030, 4, &v, NULL), 0);
    assert_int_equal(v, 0);
    assert_int_equal(g_host[1][0], 0x99);
    assert_int_equal(g_host[1][3], 0x11);
    MIX(kmrig_link_now(l));
    struct kmrig_link_stats st;
    kmrig_link_get_stats(l, &st);
    MIX(st.dma_reads), MIX(st.dma_writes), MIX(st.dma_faults);
    return h;
#undef MIX
}

static void test_tcp_link_matches_the_local_target(void **state)
{
    struct server s;
    server_start(&s, "loop", NULL, NULL);
    struct kmrig_link *local = open_link("loop");
    uint64_t want = exercise(local);
    kmrig_link_close(local);
    for (int batch = 0; batch < 2; batch++) {
        char uri[300];
        snprintf(uri, sizeof uri, "%s,batch=%d", s.uri, batch);
        struct kmrig_link *l = open_link(uri);
        const struct kmrig_link_info *li = kmrig_link_get_info(l);
        assert_int_equal(li->virtual_time, 1);
        assert_int_equal(li->irq_lines, 8);
        assert_int_equal(li->soc_id, 0x4C4F4F50);
        assert_string_equal(kmrig_link_name(l), "tcp");
        uint64_t got = exercise(l);
        /* posted writes report the last known time, not their own: only batch=0 is exact */
        if (!batch)
            assert_int_equal(got, want);
        kmrig_link_close(l);
    }
    server_stop(&s);
}

/* The server going away: the call fails with EGONE and the link reports it. */
static void gone_event(void *ctx, struct kmrig_link *link, enum kmrig_link_event ev)
{
    if (ev == KMRIG_LINK_EV_GONE)
        __atomic_store_n((int *)ctx, 1, __ATOMIC_SEQ_CST);
}

static void test_tcp_link_reports_a_server_that_goes_away(void **state)
{
    struct server s;
    server_start(&s, "loop", NULL, NULL);
    struct kmrig_link *l = open_link(s.uri);
    int gone = 0;
    kmrig_link_set_event_handler(l, gone_event, &gone);
    uint32_t v;
    assert_int_equal(kmrig_link_read(l, KMRIG_SPACE_MEM, 0, 4, &v, NULL), 0);
    server_stop(&s);
    int rc = kmrig_link_read(l, KMRIG_SPACE_MEM, 0, 4, &v, NULL);
    assert_int_equal(rc, KMRIG_LINK_EGONE);
    for (int i = 0; i < 100 && !__atomic_load_n(&gone, __ATOMIC_SEQ_CST); i++)
        usleep(10000);
    assert_true(__atomic_load_n(&gone, __ATOMIC_SEQ_CST));
    assert_true(kmrig_link_gone(l));
    kmrig_link_set_event_handler(l, NULL, NULL);
    kmrig_link_close(l);
}

static void test_serve_usage_errors(void **state)
{
    assert_int_equal(kmrig("serve", "--help", NULL), 0);
    assert_non_null(strstr(g_out, "--listen"));
    assert_int_equal(kmrig("serve", "--bogus", NULL), 2);
    assert_int_equal(kmrig("serve", "--target", "nosuch", NULL), 2);
    assert_int_equal(kmrig("serve", "--target", "loop:profile=ft245", NULL), 2);
    assert_non_null(strstr(g_out, "profile"));
    assert_int_equal(kmrig("serve", "--target", "loop", "--listen", "127.0.0.1:notaport", NULL), 2);
}

static const struct CMUnitTest tests[] = {
#ifdef REFSOC_SUITE
    cmocka_unit_test(test_serve_runs_the_bundled_suite_over_tcp),
    cmocka_unit_test(test_serve_trace_hash_matches_the_local_model),
    cmocka_unit_test(test_serve_drop_fails_that_test_and_serves_the_next_client),
#endif
    cmocka_unit_test(test_serve_refuses_a_wrong_token_and_nothing_runs),
    cmocka_unit_test(test_serve_refuses_a_second_client_while_one_is_connected),
    cmocka_unit_test(test_tcp_refuses_a_link_profile),
    cmocka_unit_test(test_serve_malformed_input_closes_only_that_connection),
    cmocka_unit_test(test_tcp_link_matches_the_local_target),
    cmocka_unit_test(test_tcp_link_reports_a_server_that_goes_away),
    cmocka_unit_test(test_serve_usage_errors),
};

KMTEST_MAIN(tests)

/*
 * test_cli_bench.c - `kmrig bench` run as a user runs it (docs/cli.md, "kmrig bench"): its JSON
 * parsed and checked field by field against what the documentation promises (every field filled,
 * min <= p50 <= p99 <= max, throughput within the link's rate, the sizes asked for), the SVG parsed
 * with expat, two runs compared byte for byte, and its usage errors.
 *
 * KMRIG_EXE is the kmrig executable, from CMake. Every run uses --quick.
 */
#define _GNU_SOURCE
#include "kmtest.h"

#include "cli_run.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#ifdef HAVE_EXPAT
#include <expat.h>
#endif

/* ---- running kmrig: cli_run.h ---- */

static void tmp_path(char *out, size_t n, const char *what)
{
    snprintf(out, n, "/tmp/kmrig-bench-%d-%s", (int)getpid(), what);
    unlink(out);
}

/* ---- a small JSON reader (RFC 8259; enough for bench's file) ---- */

enum jt { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };
struct jv {
    enum jt t;
    double num;
    char *str;
    struct jv **items; /* array elements or object values */
    char **keys;       /* object keys */
    size_t n;
};

static const char *jp_value(const char *p, struct jv **out);

static const char *jp_ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    return p;
}

static const char *jp_string(const char *p, char **out)
{
    if (*p != '"')
        return NULL;
    p++;
    size_t cap = 64, n = 0;
    char *s = malloc(cap);
    for (; *p && *p != '"'; p++) {
        char ch = *p;
        if ((unsigned char)ch < 0x20)
            return NULL;
        if (ch == '\\') {
            p++;
            switch (*p) {
            case '"':
            case '\\':
            case '/':
                ch = *p;
                break;
            case 'n':
                ch = '\n';
                break;
            case 't':
                ch = '\t';
                break;
            case 'r':
                ch = '\r';
                break;
            case 'b':
                ch = '\b';
                break;
            case 'f':
                ch = '\f';
                break;
            case 'u':
                for (int i = 1; i <= 4; i++)
                    if (!strchr("0123456789abcdefABCDEF", p[i]) || !p[i])
                        return NULL;
                ch = '?';
                p += 4;
                break;
            default:
                return NULL;
            }
        }
        if (n + 2 > cap)
            s = realloc(s, cap *= 2);
        s[n++] = ch;
    }
    if (*p != '"')
        return NULL;
    s[n] = 0;
    *out = s;
    return p + 1;
}

static const char *jp_value(const char *p, struct jv **out)
{
    struct jv *v = calloc(1, sizeof *v);
    *out = v;
    p = jp_ws(p);
    if (*p == '{' || *p == '[') {
        int obj = *p == '{';
        v->t = obj ? J_OBJ : J_ARR;
        p = jp_ws(p + 1);
        if (*p == (obj ? '}' : ']'))
            return p + 1;
        for (;;) {
            v->items = realloc(v->items, (v->n + 1) * sizeof *v->items);
            v->keys = realloc(v->keys, (v->n + 1) * sizeof *v->keys);
            v->keys[v->n] = NULL;
            if (obj) {
                p = jp_string(jp_ws(p), &v->keys[v->n]);
                if (!p || *(p = jp_ws(p)) != ':')
                    return NULL;
                p++;
            }
            p = jp_value(p, &v->items[v->n++]);
            if (!p)
                return NULL;
            p = jp_ws(p);
            if (*p == ',') {
                p++;
                continue;
            }
            if (*p != (obj ? '}' : ']'))
                return NULL;
            return p + 1;
        }
    }
    if (*p == '"') {
        v->t = J_STR;
        return jp_string(p, &v->str);
    }
    if (!strncmp(p, "true", 4) || !strncmp(p, "false", 5)) {
        v->t = J_BOOL;
        v->num = *p == 't';
        return p + (*p == 't' ? 4 : 5);
    }
    if (!strncmp(p, "null", 4)) {
        v->t = J_NULL;
        return p + 4;
    }
    char *end;
    v->t = J_NUM;
    v->num = strtod(p, &end);
    return end == p ? NULL : end;
}

static struct jv *json_parse(const char *text)
{
    struct jv *root = NULL;
    const char *end = jp_value(text, &root);
    assert_non_null(end);
    assert_int_equal(*jp_ws(end), 0);
    return root;
}

/* The member at a dotted path ("dma.directions.copy"); fails the test when it is missing. */
static struct jv *jget(struct jv *v, const char *path)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *k = strtok(buf, "."); k; k = strtok(NULL, ".")) {
        assert_int_equal(v->t, J_OBJ);
        size_t i = 0;
        while (i < v->n && strcmp(v->keys[i], k))
            i++;
        if (i == v->n)
            fail_msg("JSON has no '%s' (in %s)", k, path);
        v = v->items[i];
    }
    return v;
}

/* Nonzero when the object v has a member named key. */
static int jhas(struct jv *v, const char *key)
{
    assert_int_equal(v->t, J_OBJ);
    for (size_t i = 0; i < v->n; i++)
        if (!strcmp(v->keys[i], key))
            return 1;
    return 0;
}

static double jnum(struct jv *v, const char *path)
{
    struct jv *x = jget(v, path);
    assert_int_equal(x->t, J_NUM);
    return x->num;
}

static const char *jstr(struct jv *v, const char *path)
{
    struct jv *x = jget(v, path);
    assert_int_equal(x->t, J_STR);
    return x->str;
}

/* Every field filled: no null, no empty string, no empty array or object anywhere. */
static void assert_filled(struct jv *v, const char *where)
{
    if (v->t == J_NULL)
        fail_msg("null at %s", where);
    if (v->t == J_STR && !v->str[0])
        fail_msg("empty string at %s", where);
    if ((v->t == J_ARR || v->t == J_OBJ) && !v->n)
        fail_msg("empty %s at %s", v->t == J_ARR ? "array" : "object", where);
    for (size_t i = 0; (v->t == J_ARR || v->t == J_OBJ) && i < v->n; i++)
        assert_filled(v->items[i], v->keys[i] ? v->keys[i] : where);
}

/* min <= p50 <= p99 <= max, mean within [min, max], count as expected. */
static void assert_dist(struct jv *d, unsigned count)
{
    double mn = jnum(d, "min_ns"), p50 = jnum(d, "p50_ns"), p99 = jnum(d, "p99_ns"),
           mx = jnum(d, "max_ns"), mean = jnum(d, "mean_ns");
    assert_int_equal((unsigned)jnum(d, "count"), count);
    assert_true(mn >= 0);
    assert_true(mn <= p50);
    assert_true(p50 <= p99);
    assert_true(p99 <= mx);
    assert_true(mean >= mn - 0.05 && mean <= mx + 0.05);
}

/* ---- the JSON file ---- */

static const unsigned sizes[] = {64, 256, 1024, 4096};
#define SIZES "64,256,1K,4K"
#define ITER 16

/* Runs bench on sim with a profile; checks the whole file against docs/cli.md. */
static void check_profile(const char *profile, double rate, int half_duplex)
{
    char json[128];
    tmp_path(json, sizeof json, "bench.json");
    assert_int_equal(kmrig("bench", "--quick", "--link-profile", profile, "--sizes", SIZES,
                           "--iterations", "16", "--json", json, NULL),
                     0);
    assert_non_null(strstr(g_out, "json: "));
    char *text = slurp(json);
    struct jv *j = json_parse(text);
    assert_filled(j, "root");

    char target[64];
    snprintf(target, sizeof target, "sim:profile=%s", profile);
    assert_string_equal(jstr(j, "schema"), "kmrig-bench-1");
    assert_true(strlen(jstr(j, "kmrig_version")) > 0);
    assert_string_equal(jstr(j, "target"), target);
    assert_string_equal(jstr(j, "transport"), "sim");
    assert_string_equal(jstr(j, "profile"), profile);
    assert_string_equal(jstr(j, "time_base"), "virtual");
    assert_false(jhas(j, "device_clock"));    /* the model's clock is the time base: no check */
    assert_true(jnum(j, "clock_hz") == 50e6); /* the reference SoC's clock */
    assert_true(jnum(j, "link.h2d_bytes_per_s") == rate);
    assert_true(jnum(j, "link.d2h_bytes_per_s") == rate);
    assert_int_equal(jget(j, "link.half_duplex")->num, half_duplex);
    assert_int_equal((unsigned)jnum(j, "options.iterations"), ITER);

    struct jv *req = jget(j, "options.sizes_bytes");
    assert_int_equal(req->n, 4);
    for (size_t i = 0; i < 4; i++)
        assert_int_equal((unsigned)req->items[i]->num, sizes[i]);

    /* DMA: copy at every size asked for, h2d/d2h at those up to the FIFO */
    double fifo = jnum(j, "dma.fifo_bytes");
    assert_true(fifo == 1024); /* 256 words (docs/rtl.md, dma0) */
    assert_true(jnum(j, "dma.chunk_bytes") >= 4096);
    static const char *const dirs[] = {"h2d", "d2h", "copy"};
    for (int d = 0; d < 3; d++) {
        char path[64];
        snprintf(path, sizeof path, "dma.directions.%s", dirs[d]);
        struct jv *s = jget(j, path);
        assert_int_equal(s->t, J_ARR);
        size_t want = 0;
        for (size_t i = 0; i < 4; i++)
            want += d == 2 || sizes[i] <= fifo;
        assert_int_equal(s->n, want);
        for (size_t i = 0; i < s->n; i++) {
            struct jv *p = s->items[i];
            unsigned bytes = (unsigned)jnum(p, "bytes");
            assert_int_equal(bytes, sizes[i]);
            unsigned n = (unsigned)jnum(p, "requests");
            assert_true(n >= 1 && n <= ITER);
            double total = jnum(p, "total_ns"), tp = jnum(p, "throughput_bytes_per_s");
            assert_true(total > 0);
            assert_true(tp > 0);
            /* throughput is bytes moved over the time the requests took */
            assert_true(fabs(tp - (double)bytes * n * 1e9 / total) <= tp * 1e-6 + 0.1);
            /* and the link carries at most its rate each way (a copy crosses both ways) */
            assert_true(tp < rate);
            if (half_duplex && d == 2)
                assert_true(tp < rate / 2);
            assert_dist(jget(p, "request"), n);
            assert_true(jnum(p, "request.min_ns") * n <= total + 0.5);
            assert_true(jnum(p, "request.max_ns") * n >= total - 0.5);
        }
    }

    /* registers: a read waits for its answer, so it takes at least the link's round trip */
    assert_dist(jget(j, "registers.read"), ITER);
    assert_dist(jget(j, "registers.write"), ITER);
    assert_true(jnum(j, "registers.read.min_ns") > 0);
    if (!strcmp(profile, "ft245"))
        assert_true(jnum(j, "registers.read.min_ns") >= 125000); /* one microframe at least */
    if (!strcmp(profile, "uart"))
        assert_true(jnum(j, "registers.read.min_ns") >= 150000); /* ~48 bytes at 3.33 us */

    /* ISR latency: one run, nothing lost (virtual time) */
    assert_dist(jget(j, "isr.latency"), ITER);
    assert_true(jnum(j, "isr.runs") == 1);
    assert_true(jnum(j, "isr.lost") == 0);
    assert_true(jnum(j, "isr.latency.min_ns") > 0);
    struct jv *counts = jget(j, "isr.histogram.counts");
    double sum = 0;
    for (size_t i = 0; i < counts->n; i++)
        sum += counts->items[i]->num;
    assert_true(sum == ITER);
    assert_true(jnum(j, "isr.histogram.first_bin_ns") == jnum(j, "isr.latency.min_ns"));

    /* the rate: the shortest lossless period, above the longest lossy one, and the ISR run at
     * a period of at least 4 times it */
    assert_int_equal(jget(j, "interrupt_rate.measured")->t, J_BOOL);
    assert_true(jget(j, "interrupt_rate.measured")->num == 1);
    double hz = jnum(j, "interrupt_rate.max_hz"), minp = jnum(j, "interrupt_rate.min_period_ns");
    assert_true(hz > 0 && minp > 0);
    assert_true(fabs(hz - 1e9 / minp) <= hz * 1e-3);
    assert_true(jnum(j, "interrupt_rate.runs") > jnum(j, "interrupt_rate.probes"));
    assert_true(jnum(j, "interrupt_rate.slow_clock_runs") == 0);
    assert_int_equal(jget(j, "interrupt_rate.search_floor_reached")->num, 0);
    assert_true(jnum(j, "interrupt_rate.first_lossy_period_ns") > 0);
    assert_true(jnum(j, "interrupt_rate.first_lossy_period_ns") < minp);
    assert_true(jnum(j, "interrupt_rate.probes") >= 2);
    assert_true(jnum(j, "interrupt_rate.confirm_interrupts") == ITER);
    assert_true(jnum(j, "isr.period_ns") >= 4 * minp);
    /* an interrupt cannot come back faster than its ISR is entered */
    assert_true(minp >= jnum(j, "isr.latency.min_ns"));
    free(text);
    unlink(json);
}

static void test_cli_bench_json_pcie(void **state)
{
    check_profile("pcie", 500e6, 0);
}

static void test_cli_bench_json_ft245(void **state)
{
    check_profile("ft245", 40.96e6, 1); /* 10 packets of 512 bytes per 125 us microframe */
}

static void test_cli_bench_json_uart(void **state)
{
    check_profile("uart", 300e3, 0);
}

/* Two runs on the model give the same file, byte for byte (virtual time, one processor). */
static void test_cli_bench_is_deterministic(void **state)
{
    char a[128], b[128];
    tmp_path(a, sizeof a, "det-a.json");
    tmp_path(b, sizeof b, "det-b.json");
    assert_int_equal(kmrig("bench", "--quick", "--link-profile", "ft245", "--json", a, NULL), 0);
    assert_int_equal(kmrig("bench", "--quick", "--link-profile", "ft245", "--json", b, NULL), 0);
    size_t na, nb;
    char *ta = slurp_len(a, &na), *tb = slurp_len(b, &nb);
    assert_true(na > 1000);
    assert_int_equal(na, nb);
    assert_memory_equal(ta, tb, na);
    free(ta);
    free(tb);
    unlink(a);
    unlink(b);
}

/* A faster link gives more throughput: the profile really is applied. */
static void test_cli_bench_profile_changes_the_figures(void **state)
{
    char a[128], b[128];
    tmp_path(a, sizeof a, "ideal.json");
    tmp_path(b, sizeof b, "uart.json");
    assert_int_equal(kmrig("bench", "--quick", "--sizes", "4K", "--json", a, NULL), 0);
    assert_int_equal(
        kmrig("bench", "--quick", "--sizes", "4K", "--link-profile", "uart", "--json", b, NULL), 0);
    char *ta = slurp(a), *tb = slurp(b);
    struct jv *ideal = json_parse(ta), *uart = json_parse(tb);
    assert_string_equal(jstr(ideal, "profile"), "ideal");
    assert_true(jnum(ideal, "link.h2d_bytes_per_s") == 0); /* no limit */
    double ti = jnum(jget(ideal, "dma.directions.copy")->items[0], "throughput_bytes_per_s");
    double tu = jnum(jget(uart, "dma.directions.copy")->items[0], "throughput_bytes_per_s");
    assert_true(ti > 100 * tu);
    assert_true(jnum(ideal, "interrupt_rate.max_hz") > 100 * jnum(uart, "interrupt_rate.max_hz"));
    free(ta);
    free(tb);
    unlink(a);
    unlink(b);
}

/* ---- the SVG ---- */

#ifdef HAVE_EXPAT
struct svg {
    int root_svg, depth, max_depth;
    unsigned polylines, circles, texts;
    int has_cdf, has_p50, has_p99, has_copy, has_h2d, has_d2h;
    int in_title;
    char title[256];
};

static void XMLCALL s_start(void *ud, const XML_Char *el, const XML_Char **a)
{
    struct svg *s = ud;
    if (s->depth++ == 0)
        s->root_svg = !strcmp(el, "svg");
    const char *id = NULL;
    for (; a && a[0]; a += 2)
        if (!strcmp(a[0], "id"))
            id = a[1];
    s->polylines += !strcmp(el, "polyline");
    s->circles += !strcmp(el, "circle");
    s->texts += !strcmp(el, "text");
    if (id) {
        s->has_cdf |= !strcmp(id, "isr-cdf") && !strcmp(el, "polyline");
        s->has_p50 |= !strcmp(id, "isr-p50") && !strcmp(el, "line");
        s->has_p99 |= !strcmp(id, "isr-p99") && !strcmp(el, "line");
        s->has_copy |= !strcmp(id, "dma-copy");
        s->has_h2d |= !strcmp(id, "dma-h2d");
        s->has_d2h |= !strcmp(id, "dma-d2h");
        s->in_title = !strcmp(id, "title");
    }
}

static void XMLCALL s_end(void *ud, const XML_Char *el)
{
    struct svg *s = ud;
    s->depth--;
    s->in_title = 0;
}

static void XMLCALL s_text(void *ud, const XML_Char *t, int len)
{
    struct svg *s = ud;
    size_t n = strlen(s->title);
    if (s->in_title && n + (size_t)len < sizeof s->title)
        memcpy(s->title + n, t, (size_t)len), s->title[n + (size_t)len] = 0;
}
#endif

static void test_cli_bench_plot_is_well_formed_svg(void **state)
{
#ifndef HAVE_EXPAT
    skip();
#else
    char svg[128];
    tmp_path(svg, sizeof svg, "plot.svg");
    assert_int_equal(kmrig("bench", "--quick", "--link-profile", "pcie", "--plot", svg, NULL), 0);
    assert_non_null(strstr(g_out, "plot: "));
    size_t n;
    char *text = slurp_len(svg, &n);
    struct svg s;
    memset(&s, 0, sizeof s);
    XML_Parser p = XML_ParserCreate(NULL);
    XML_SetUserData(p, &s);
    XML_SetElementHandler(p, s_start, s_end);
    XML_SetCharacterDataHandler(p, s_text);
    if (XML_Parse(p, text, (int)n, 1) != XML_STATUS_OK)
        fail_msg("SVG is not well-formed XML: %s at line %lu", XML_ErrorString(XML_GetErrorCode(p)),
                 (unsigned long)XML_GetCurrentLineNumber(p));
    XML_ParserFree(p);
    assert_true(s.root_svg);
    assert_true(s.has_h2d && s.has_d2h && s.has_copy); /* throughput per direction */
    assert_true(s.has_cdf && s.has_p50 && s.has_p99);  /* the ISR CDF with p50/p99 marked */
    assert_true(s.polylines >= 4);
    assert_true(s.circles >= 5 + 3 + 3); /* one marker per measured point (quick: 5 sizes) */
    assert_non_null(strstr(s.title, "sim:profile=pcie"));
    assert_non_null(strstr(s.title, "profile pcie"));
    assert_non_null(strstr(text, "transfer size (bytes, log scale)"));
    assert_non_null(strstr(text, "throughput (MB/s, log scale)"));
    free(text);
    unlink(svg);
#endif
}

/* ---- a wall-time target ---- */

#ifdef HAVE_EXPAT
/* Parses an SVG file with expat; fails the test when it is not well-formed. */
static void parse_svg(const char *path, struct svg *s)
{
    size_t n;
    char *text = slurp_len(path, &n);
    memset(s, 0, sizeof *s);
    XML_Parser p = XML_ParserCreate(NULL);
    XML_SetUserData(p, s);
    XML_SetElementHandler(p, s_start, s_end);
    XML_SetCharacterDataHandler(p, s_text);
    if (XML_Parse(p, text, (int)n, 1) != XML_STATUS_OK)
        fail_msg("SVG is not well-formed XML: %s at line %lu", XML_ErrorString(XML_GetErrorCode(p)),
                 (unsigned long)XML_GetCurrentLineNumber(p));
    XML_ParserFree(p);
    free(text);
}
#endif

/* The samples of a distribution a wall-time run may have cut short: at least one, at most
 * `most`, ordered. Returns the count. */
static unsigned assert_dist_upto(struct jv *d, unsigned most)
{
    unsigned n = (unsigned)jnum(d, "count");
    assert_true(n >= 1 && n <= most);
    assert_dist(d, n);
    return n;
}

/* sim:fidelity=stream is the model driven as a board is (wall time, the stream engine, the
 * model's clock paced to the host's): every figure comes from the device's timestamps, varies
 * from run to run (and with the machine's load), and must still be consistent. */
static void test_cli_bench_wall_time_target_uses_device_timestamps(void **state)
{
    char json[128], svg[128];
    tmp_path(json, sizeof json, "wall.json");
    tmp_path(svg, sizeof svg, "wall.svg");
    assert_int_equal(kmrig("bench", "--quick", "--target", "sim:fidelity=stream", "--sizes", SIZES,
                           "--iterations", "16", "--json", json, "--plot", svg, NULL),
                     0);
    assert_non_null(strstr(g_out, "the device's timestamp counter"));
    assert_non_null(strstr(g_out, "device time / host time"));
    char *text = slurp(json);
    struct jv *j = json_parse(text);
    assert_filled(j, "root");
    assert_string_equal(jstr(j, "time_base"), "device-timestamps");
    assert_string_equal(jstr(j, "target"), "sim:fidelity=stream");
    assert_true(jnum(j, "clock_hz") == 50e6);
    assert_false(jhas(j, "isr_entry_correction_ns"));
    /* the clock query is a register read over the link: a round trip, more than nothing */
    double overhead = jnum(j, "clock_query_overhead_ns");
    assert_true(overhead > 0);

    /* the device's clock against the host's, per phase: the stand-in's model is paced to wall
     * time, so over a phase long enough for the jitter of two reads not to matter it never runs
     * ahead of the host's clock (a free-running model raced far ahead of it); it may run slower
     * when the host cannot run it in real time (a loaded machine, device DMA) */
    static const char *const phases[] = {"dma", "registers", "interrupts"};
    for (int ph = 0; ph < 3; ph++) {
        char path[64];
        snprintf(path, sizeof path, "device_clock.%s", phases[ph]);
        struct jv *k = jget(j, path);
        double dev = jnum(k, "device_ns"), host = jnum(k, "host_ns"), q = jnum(k, "ratio");
        assert_true(dev > 0 && host > 0);
        assert_true(fabs(q - dev / host) <= 1e-3);
        if (host >= 100e6)
            assert_true(q > 0 && q < 1.25);
    }

    double fifo = jnum(j, "dma.fifo_bytes");
    assert_true(fifo == 1024);
    static const char *const dirs[] = {"h2d", "d2h", "copy"};
    for (int d = 0; d < 3; d++) {
        char path[64];
        snprintf(path, sizeof path, "dma.directions.%s", dirs[d]);
        struct jv *s = jget(j, path);
        size_t want = 0;
        for (size_t i = 0; i < 4; i++)
            want += d == 2 || sizes[i] <= fifo;
        assert_int_equal(s->n, want); /* 4 KiB copies take well under the 1 s bound */
        for (size_t i = 0; i < s->n; i++) {
            struct jv *p = s->items[i];
            unsigned bytes = (unsigned)jnum(p, "bytes");
            assert_int_equal(bytes, sizes[i]);
            unsigned n = (unsigned)jnum(p, "requests");
            assert_true(n >= 1 && n <= ITER);
            double total = jnum(p, "total_ns"), tp = jnum(p, "throughput_bytes_per_s");
            assert_true(total > 0);
            assert_true(tp > 0);
            assert_true(fabs(tp - (double)bytes * n * 1e9 / total) <= tp * 1e-6 + 0.1);
            assert_dist(jget(p, "request"), n);
            /* a request waits for the engine's interrupt: more than one clock query */
            assert_true(jnum(p, "request.min_ns") > 0);
        }
    }
    assert_false(jhas(jget(j, "dma"), "skipped"));

    unsigned nr = assert_dist_upto(jget(j, "registers.read"), ITER);
    assert_int_equal(assert_dist_upto(jget(j, "registers.write"), ITER), nr);
    assert_true(jnum(j, "registers.read.min_ns") > 0); /* a read waits for its answer */

    /* ISR: edge to the ISR's first read at the device, never before the edge */
    unsigned ni = assert_dist_upto(jget(j, "isr.latency"), ITER);
    assert_true(jnum(j, "isr.latency.min_ns") >= 0);
    assert_true(jnum(j, "isr.runs") >= 1);
    struct jv *counts = jget(j, "isr.histogram.counts");
    double sum = 0;
    for (size_t i = 0; i < counts->n; i++)
        sum += counts->items[i]->num;
    assert_true(sum == ni);

    /* the rate: a figure consistent with its own bounds, or a reason; never both */
    struct jv *rate = jget(j, "interrupt_rate");
    assert_int_equal(jget(rate, "measured")->t, J_BOOL);
    assert_true(jnum(rate, "probes") >= 1);
    assert_true(jnum(rate, "runs") >= jnum(rate, "probes"));
    if (jget(rate, "measured")->num) {
        assert_false(jhas(rate, "not_measured"));
        double hz = jnum(rate, "max_hz"), minp = jnum(rate, "min_period_ns");
        assert_true(hz > 0 && minp > 0);
        assert_true(fabs(hz - 1e9 / minp) <= hz * 1e-3);
        if (!jget(rate, "search_floor_reached")->num)
            assert_true(jnum(rate, "first_lossy_period_ns") < minp);
        assert_true(jnum(rate, "confirm_interrupts") == ITER);
        assert_true(jnum(j, "isr.period_ns") >= 4 * minp);
        assert_int_equal(jget(rate, "search_cut_short")->t, J_BOOL);
    } else {
        assert_false(jhas(rate, "max_hz"));
        assert_true(strlen(jstr(rate, "not_measured")) > 10);
        assert_non_null(strstr(g_out, "not measured: "));
    }
    free(text);
    unlink(json);

#ifdef HAVE_EXPAT
    struct svg sv;
    parse_svg(svg, &sv);
    assert_true(sv.root_svg);
    assert_true(sv.has_h2d && sv.has_d2h && sv.has_copy);
    assert_true(sv.has_cdf && sv.has_p50 && sv.has_p99);
    assert_non_null(strstr(sv.title, "sim:fidelity=stream"));
#endif
    unlink(svg);
}

/* A board whose link drops mid-run: no figures, exit 4, and the reason; never a hang. */
static void test_cli_bench_wall_time_link_drop_exits_4(void **state)
{
    char json[128];
    tmp_path(json, sizeof json, "drop.json");
    assert_int_equal(kmrig("bench", "--quick", "--timeout", "5", "--target",
                           "sim:fidelity=stream,fault_cut=20000", "--json", json, NULL),
                     4);
    assert_non_null(strstr(g_out, "link dropped"));
    assert_int_equal(access(json, F_OK), -1); /* no figures written */
}

/* ---- usage errors ---- */

static void test_cli_bench_bad_option_is_a_usage_error(void **state)
{
    assert_int_equal(kmrig("bench", "--frobnicate", NULL), 2);
    assert_non_null(strstr(g_out, "unknown argument '--frobnicate'"));
    assert_int_equal(kmrig("bench", "--sizes", "63", NULL), 2);
    assert_non_null(strstr(g_out, "multiple of 4"));
    assert_int_equal(kmrig("bench", "--sizes", "64,,1K", NULL), 2);
    assert_int_equal(kmrig("bench", "--sizes", "32M", NULL), 2);
    assert_int_equal(kmrig("bench", "--iterations", "0", NULL), 2);
    assert_int_equal(kmrig("bench", "--iterations", NULL), 2);
    assert_non_null(strstr(g_out, "needs a value"));
    assert_int_equal(kmrig("bench", "--timeout", "0", NULL), 2);
    assert_non_null(strstr(g_out, "--timeout"));
    assert_int_equal(kmrig("bench", "--plot", "/tmp/kmrig-bench.png", NULL), 2);
    assert_non_null(strstr(g_out, "SVG"));
    assert_int_equal(kmrig("bench", "--plot", "/tmp/kmrig-bench.pdf", NULL), 2);
    assert_int_equal(kmrig("bench", "--json", "/nonexistent-dir/x.json", NULL), 2);
    assert_int_equal(access("/tmp/kmrig-bench.png", F_OK), -1); /* nothing ran, nothing written */
}

static void test_cli_bench_unknown_profile_is_a_usage_error(void **state)
{
    assert_int_equal(kmrig("bench", "--link-profile", "usb3", NULL), 2);
    assert_non_null(strstr(g_out, "unknown profile 'usb3'"));
    assert_non_null(strstr(g_out, "ft245"));
    /* a board's link is what it is */
    assert_int_equal(kmrig("bench", "--target", "ftdi://serial=X", "--link-profile", "ft245", NULL),
                     2);
    assert_non_null(strstr(g_out, "board"));
    /* two profiles */
    assert_int_equal(
        kmrig("bench", "--target", "sim:profile=pcie", "--link-profile", "ft245", NULL), 2);
}

static void test_cli_bench_no_target_exits_77(void **state)
{
    assert_int_equal(kmrig("bench", "--quick", "--target", "tcp://127.0.0.1:1", NULL), 77);
}

static void test_cli_bench_help(void **state)
{
    assert_int_equal(kmrig("bench", "--help", NULL), 0);
    static const char *const opts[] = {"--target", "--link-profile", "--sizes",   "--iterations",
                                       "--json",   "--plot",         "--timeout", "--quick"};
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++)
        assert_non_null(strstr(g_out, opts[i]));
    assert_int_equal(kmrig("help", "bench", NULL), 0);
    assert_non_null(strstr(g_out, "usage: kmrig bench"));
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_cli_bench_json_pcie),
    cmocka_unit_test(test_cli_bench_json_ft245),
    cmocka_unit_test(test_cli_bench_json_uart),
    cmocka_unit_test(test_cli_bench_is_deterministic),
    cmocka_unit_test(test_cli_bench_profile_changes_the_figures),
    cmocka_unit_test(test_cli_bench_plot_is_well_formed_svg),
    cmocka_unit_test(test_cli_bench_wall_time_target_uses_device_timestamps),
    cmocka_unit_test(test_cli_bench_wall_time_link_drop_exits_4),
    cmocka_unit_test(test_cli_bench_bad_option_is_a_usage_error),
    cmocka_unit_test(test_cli_bench_unknown_profile_is_a_usage_error),
    cmocka_unit_test(test_cli_bench_no_target_exits_77),
    cmocka_unit_test(test_cli_bench_help),
};
KMTEST_MAIN(tests)

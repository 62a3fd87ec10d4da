/*
 * bench.c - `kmrig bench`: DMA throughput, register and ISR latency and the sustainable interrupt
 * rate of a target, on the device's clock (docs/cli.md, "kmrig bench"). Options here; the
 * measurements in bench_measure.c, the table, JSON and SVG in bench_report.c.
 */
#define _GNU_SOURCE
#include "bench.h"
#include "cli.h"

#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static const char bench_help[] =
    "usage: kmrig bench [--target URI] [--link-profile P] [--sizes LIST] [--iterations N]\n"
    "                   [--json FILE] [--plot FILE.svg] [--timeout S] [--quick]\n"
    "\n"
    "Measures what a driver gets from the target, through the runtime and real drivers (the\n"
    "dmaeng driver on the DMA engine, a timer driver's ISR), every time on the device's clock:\n"
    "\n"
    "  DMA throughput   per transfer size and direction: h2d (host memory into the engine's\n"
    "                   FIFO), d2h (the FIFO into host memory), copy (host memory to host memory\n"
    "                   through the engine); one request at a time, from the IRP sent to the IRP\n"
    "                   completed. h2d and d2h stop at the FIFO's depth (1 KiB on the reference "
    "SoC).\n"
    "  register access  READ_REGISTER_ULONG and WRITE_REGISTER_ULONG latency: min/p50/p99/max\n"
    "  ISR latency      from the interrupt controller's timestamp of the timer's edge to the\n"
    "                   ISR's first instruction, over N interrupts: min/p50/p99/max\n"
    "  interrupt rate   the highest periodic timer rate at which no interrupt is lost or merged\n"
    "                   with the next, found by binary search over the timer's period\n"
    "\n"
    "On the model (sim) time is the model's virtual clock, so the same command gives the same\n"
    "figures on every run; a link profile predicts what a board on that link would show. On a\n"
    "board (a wall-time target; sim:fidelity=stream is the model driven as one) every figure is\n"
    "timed with the device's own timestamp counter, read over the link (docs/cli.md says what\n"
    "each figure then includes); the figures vary from run to run.\n"
    "\n"
    "  --target URI        sim (default; or $KMRIG_TARGET), sim:profile=ft245, ...\n"
    "  --link-profile P    give a model target the timing of a link: ideal, pcie, ft245, uart\n"
    "                      (adds profile=P to the URI; refused for a board)\n"
    "  --sizes LIST        DMA transfer sizes in bytes, comma-separated, multiples of 4, K and M\n"
    "                      suffixes (KiB, MiB) allowed, at most 16 MiB and 16 sizes\n"
    "                      (default 64,256,1K,4K,16K,64K,256K,1M; --quick: 64,256,1K,4K,16K)\n"
    "  --iterations N      samples per latency figure and interrupts per ISR run (default 200,\n"
    "                      --quick 32); DMA requests per size are at most N and at most 4 MiB\n"
    "                      (--quick 256 KiB) of data per size\n"
    "  --json FILE         write every figure as JSON (schema in docs/cli.md)\n"
    "  --plot FILE.svg     write a plot: throughput against size per direction, and the ISR\n"
    "                      latency distribution with p50 and p99 marked (SVG only)\n"
    "  --timeout S         on a board: end with exit 4 when it does not answer for S seconds\n"
    "                      (default 30)\n"
    "  --quick             fewer sizes and samples: a few seconds on the model\n"
    "\n"
    "exit status: 0 measured, 2 usage error (an unknown option or profile, a bad size), 4 a\n"
    "measurement failed, the board stopped answering or a file could not be written, 77 the\n"
    "target did not open\n";

static const char *const bench_profiles[] = {"ideal", "pcie", "ft245", "uart"};

static int bench_usage(const char *fmt, const char *arg)
{
    fprintf(stderr, "kmrig bench: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(kmrig bench --help lists the options)\n");
    return KMRIG_CLI_USAGE;
}

static int bench_cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* "64,1K,4k,1M" -> sizes, sorted, without duplicates. 0, or a usage error printed. */
static int bench_parse_sizes(const char *list, struct bench_options *o)
{
    o->nsizes = 0;
    const char *p = list;
    while (*p) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(p, &end, 10);
        if (end == p || errno)
            return bench_usage("--sizes: '%s' is not a list of sizes (64,1K,1M)", list);
        if (*end == 'K' || *end == 'k')
            v <<= 10, end++;
        else if (*end == 'M' || *end == 'm')
            v <<= 20, end++;
        if (*end && *end != ',')
            return bench_usage("--sizes: '%s' is not a list of sizes (64,1K,1M)", list);
        if (v < 4 || v % 4 || v > (16u << 20))
            return bench_usage("--sizes: each size must be a multiple of 4 between 4 bytes and "
                               "16M (the engine moves 32-bit words): '%s'",
                               list);
        if (o->nsizes == BENCH_MAX_SIZES)
            return bench_usage("--sizes: at most 16 sizes: '%s'", list);
        o->sizes[o->nsizes++] = (uint32_t)v;
        p = *end ? end + 1 : end;
        if (*end == ',' && !*p)
            return bench_usage("--sizes: '%s' ends with a comma", list);
    }
    if (!o->nsizes)
        return bench_usage("--sizes: '%s' is empty", list);
    qsort(o->sizes, o->nsizes, sizeof o->sizes[0], bench_cmp_u32);
    unsigned k = 1;
    for (unsigned i = 1; i < o->nsizes; i++)
        if (o->sizes[i] != o->sizes[k - 1])
            o->sizes[k++] = o->sizes[i];
    o->nsizes = k;
    return 0;
}

/* The target with profile=P added; NULL (and a usage error printed) when that is refused. */
static char *bench_with_profile(const char *target, const char *profile, int *rc)
{
    size_t np = sizeof bench_profiles / sizeof bench_profiles[0], i;
    for (i = 0; i < np && strcmp(profile, bench_profiles[i]); i++)
        ;
    if (i == np) {
        *rc =
            bench_usage("--link-profile: unknown profile '%s' (ideal, pcie, ft245, uart)", profile);
        return NULL;
    }
    const char *colon = strchr(target, ':');
    size_t scheme = colon ? (size_t)(colon - target) : strlen(target);
    if (!((scheme == 3 && !strncmp(target, "sim", 3)) ||
          (scheme == 4 && !strncmp(target, "loop", 4)))) {
        *rc = bench_usage("--link-profile applies to a model (sim), whose link has no timing of "
                          "its own; '%s' is a board, measured with the link it has",
                          target);
        return NULL;
    }
    if (colon && strstr(colon, "profile=")) {
        *rc = bench_usage("--link-profile: '%s' has a profile already", target);
        return NULL;
    }
    char *uri = NULL;
    int n = asprintf(&uri, "%s%sprofile=%s", target, !colon ? ":" : colon[1] ? "," : "", profile);
    if (n < 0) {
        *rc = KMRIG_CLI_ERROR;
        return NULL;
    }
    return uri;
}

/* A file we will write at the end: its directory must exist and be writable now, so that a long
 * measurement does not end in "cannot write". */
static int bench_check_out(const char *opt, const char *path)
{
    char *copy = strdup(path);
    int ok = copy && access(dirname(copy), W_OK) == 0;
    free(copy);
    if (!ok)
        return bench_usage("%s: the directory of that file does not exist or is not writable", opt);
    return 0;
}

static const char *bench_ext(const char *path)
{
    const char *dot = strrchr(path, '.');
    const char *slash = strrchr(path, '/');
    return dot && (!slash || dot > slash) ? dot : "";
}

int kmrig_cli_bench(int argc, char **argv)
{
    const char *target = getenv("KMRIG_TARGET");
    const char *profile = NULL, *json = NULL, *plot = NULL, *sizes = NULL;
    long iterations = 0, timeout = 30;
    int quick = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = NULL;
        static const char *const with_value[] = {"--target",     "--link-profile", "--sizes",
                                                 "--iterations", "--json",         "--plot",
                                                 "--timeout"};
        for (size_t k = 0; k < sizeof with_value / sizeof with_value[0]; k++) {
            size_t n = strlen(with_value[k]);
            if (!strncmp(a, with_value[k], n) && (a[n] == '=' || !a[n])) {
                if (a[n] == '=') {
                    v = a + n + 1;
                } else if (i + 1 < argc) {
                    v = argv[++i];
                } else {
                    return bench_usage("%s needs a value", with_value[k]);
                }
                a = with_value[k];
                break;
            }
        }
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(bench_help, stdout);
            return KMRIG_CLI_OK;
        } else if (!strcmp(a, "--quick")) {
            quick = 1;
        } else if (!v) {
            return bench_usage("unknown argument '%s'", a);
        } else if (!strcmp(a, "--target")) {
            target = v;
        } else if (!strcmp(a, "--link-profile")) {
            profile = v;
        } else if (!strcmp(a, "--sizes")) {
            sizes = v;
        } else if (!strcmp(a, "--json")) {
            json = v;
        } else if (!strcmp(a, "--plot")) {
            plot = v;
        } else if (!strcmp(a, "--timeout")) {
            char *end;
            errno = 0;
            timeout = strtol(v, &end, 10);
            if (end == v || *end || errno || timeout < 1 || timeout > 86400)
                return bench_usage("--timeout: '%s' is not a number of seconds from 1 to 86400", v);
        } else { /* --iterations */
            char *end;
            errno = 0;
            iterations = strtol(v, &end, 10);
            if (end == v || *end || errno || iterations < 1 || iterations > 1000000)
                return bench_usage("--iterations: '%s' is not a number from 1 to 1000000", v);
        }
    }

    struct bench_options o;
    memset(&o, 0, sizeof o);
    o.quick = quick;
    o.iterations = iterations ? (unsigned)iterations : quick ? 32 : 200;
    o.probe_interrupts = quick ? 16 : 64;
    o.dma_bytes_per_size = quick ? 256u << 10 : 4u << 20;
    o.timeout_s = (unsigned)timeout;
    o.rate_search_wall_ns = (quick ? 3ull : 15ull) * 1000000000ull;
    o.step_wall_ns = (quick ? 1ull : 5ull) * 1000000000ull;
    int rc;
    if (sizes) {
        if ((rc = bench_parse_sizes(sizes, &o)))
            return rc;
    } else {
        bench_parse_sizes(quick ? "64,256,1K,4K,16K" : "64,256,1K,4K,16K,64K,256K,1M", &o);
    }
    if (plot) {
        const char *ext = bench_ext(plot);
        if (!strcasecmp(ext, ".png"))
            return bench_usage("--plot %s: PNG would need an image library this build does not "
                               "use; write an SVG (--plot bench.svg) and convert it if you need "
                               "a PNG (rsvg-convert -o bench.png bench.svg)",
                               plot);
        if (strcasecmp(ext, ".svg"))
            return bench_usage("--plot %s: the plot is SVG: give a file name ending in .svg", plot);
        if ((rc = bench_check_out("--plot", plot)))
            return rc;
    }
    if (json && (rc = bench_check_out("--json", json)))
        return rc;
    if (!target || !*target)
        target = "sim";
    char *uri = NULL;
    if (profile) {
        rc = KMRIG_CLI_OK;
        uri = bench_with_profile(target, profile, &rc);
        if (!uri)
            return rc;
        target = uri;
    }
    o.target = target;
    o.profile = profile;

    struct timespec w0, w1;
    clock_gettime(CLOCK_MONOTONIC, &w0);
    struct bench_results r;
    rc = bench_measure(&o, &r);
    clock_gettime(CLOCK_MONOTONIC, &w1);
    if (rc == KMRIG_CLI_OK) {
        bench_print_table(stdout, &o, &r);
        printf("(%.1f s of wall time)\n",
               (double)(w1.tv_sec - w0.tv_sec) + (double)(w1.tv_nsec - w0.tv_nsec) / 1e9);
        if (json) {
            if (bench_write_json(json, &o, &r)) {
                fprintf(stderr, "kmrig bench: cannot write %s: %s\n", json, strerror(errno));
                rc = KMRIG_CLI_ERROR;
            } else {
                printf("json: %s\n", json);
            }
        }
        if (plot) {
            if (bench_write_svg(plot, &o, &r)) {
                fprintf(stderr, "kmrig bench: cannot write %s: %s\n", plot, strerror(errno));
                rc = KMRIG_CLI_ERROR;
            } else {
                printf("plot: %s\n", plot);
            }
        }
    }
    bench_results_free(&r);
    free(uri);
    return rc;
}

/*
 * bench_report.c - what `kmrig bench` writes: the table on the terminal, the JSON file (schema in
 * docs/cli.md, "kmrig bench") and the SVG plot, written directly (no plotting library).
 *
 * Nothing here depends on the host: the same results give the same bytes, so two runs on the
 * model give identical files.
 */
#define _GNU_SOURCE
#include "bench.h"
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- formatting ---- */

static const char *fmt_ns(char *buf, size_t n, double ns)
{
    if (ns < 1000)
        snprintf(buf, n, "%.0f ns", ns);
    else if (ns < 1e6)
        snprintf(buf, n, "%.2f us", ns / 1e3);
    else if (ns < 1e9)
        snprintf(buf, n, "%.2f ms", ns / 1e6);
    else
        snprintf(buf, n, "%.2f s", ns / 1e9);
    return buf;
}

static const char *fmt_size(char *buf, size_t n, uint32_t b)
{
    if (b >= (1u << 20) && !(b & ((1u << 20) - 1)))
        snprintf(buf, n, "%u MiB", b >> 20);
    else if (b >= 1024 && !(b & 1023))
        snprintf(buf, n, "%u KiB", b >> 10);
    else
        snprintf(buf, n, "%u B", b);
    return buf;
}

static const struct bench_dma_point *point_of(const struct bench_dma_series *s, uint32_t bytes)
{
    for (unsigned i = 0; i < s->npoints; i++)
        if (s->points[i].bytes == bytes)
            return &s->points[i];
    return NULL;
}

/* ---- the table ---- */

static void print_dist(FILE *out, const char *name, const struct bench_dist *d)
{
    char a[32], b[32], c[32], e[32];
    fprintf(out, "  %-8s %12s %12s %12s %12s\n", name, fmt_ns(a, sizeof a, (double)d->min_ns),
            fmt_ns(b, sizeof b, (double)d->p50_ns), fmt_ns(c, sizeof c, (double)d->p99_ns),
            fmt_ns(e, sizeof e, (double)d->max_ns));
}

/* Device time over host time for one phase (0 when not measured). */
static double clock_ratio(const struct bench_clock_check *k)
{
    return k->host_ns ? (double)k->device_ns / (double)k->host_ns : 0.0;
}

void bench_print_table(FILE *out, const struct bench_options *o, const struct bench_results *r)
{
    char a[32], b[32];
    fprintf(out, "kmrig bench on %s\n", o->target);
    fprintf(out, "  link     %s, profile %s", r->transport, r->profile);
    if (r->link_h2d_bytes_per_s)
        fprintf(out, " (%.4g MB/s each way, %s duplex)", r->link_h2d_bytes_per_s / 1e6,
                r->half_duplex ? "half" : "full");
    else
        fprintf(out, " (no link timing)");
    fprintf(out, "\n  device   %s\n", r->device);
    if (r->wall_time) {
        fprintf(out,
                "  time     the device's timestamp counter (%llu Hz, read over the link); each "
                "sample less %llu ns, one read round trip as the device sees it\n",
                (unsigned long long)r->clock_hz, (unsigned long long)r->timer_overhead_ns);
        fprintf(out, "  clock    device time / host time:");
        static const char *const phases[] = {"DMA", "registers", "interrupts"};
        int slow = 0;
        for (int ph = 0; ph < BENCH_PHASES; ph++) {
            double q = clock_ratio(&r->clock[ph]);
            fprintf(out, " %s %.3f%s", phases[ph], q, ph + 1 < BENCH_PHASES ? "," : "\n");
            slow |= q < 0.95 || q > 1.05;
        }
        if (slow)
            fprintf(out, "  NOTE     the device's clock did not keep its nominal rate against the "
                         "host's: on a model driven as a board (sim:fidelity=stream) the host "
                         "could not run it in real time; device-time figures there are shorter "
                         "than a board's\n");
        fputc('\n', out);
    } else
        fprintf(out,
                "  time     the model's clock (%llu Hz, virtual); each sample less %llu ns, the "
                "cost of reading the clock\n\n",
                (unsigned long long)r->clock_hz, (unsigned long long)r->timer_overhead_ns);

    fprintf(out, "DMA throughput, one request at a time (dmaeng on the SGDMA engine; MB/s = 10^6 "
                 "bytes/s)\n");
    fprintf(out, "  %9s %10s %10s %10s %15s\n", "size", "h2d MB/s", "d2h MB/s", "copy MB/s",
            "copy request");
    for (unsigned i = 0; i < o->nsizes; i++) {
        fprintf(out, "  %9s", fmt_size(a, sizeof a, o->sizes[i]));
        for (int d = 0; d < BENCH_DIRS; d++) {
            const struct bench_dma_point *p = point_of(&r->dma[d], o->sizes[i]);
            if (p)
                fprintf(out, " %10.2f", p->throughput_bytes_per_s / 1e6);
            else
                fprintf(out, " %10s", "-");
        }
        const struct bench_dma_point *p = point_of(&r->dma[BENCH_COPY], o->sizes[i]);
        fprintf(out, " %15s\n", p ? fmt_ns(b, sizeof b, (double)p->request.p50_ns) : "-");
    }
    fprintf(out,
            "  (h2d/d2h: into/out of the engine's %u-byte FIFO, so sizes up to that; copy: host "
            "memory to host memory, chunks of %u bytes)\n",
            (unsigned)r->fifo_bytes, (unsigned)r->chunk_bytes);
    for (unsigned i = 0; i < r->dma_nskipped; i++)
        fprintf(out, "  %s: %s\n", fmt_size(a, sizeof a, r->dma_skipped[i].bytes),
                r->dma_skipped[i].reason);
    fputc('\n', out);

    fprintf(out, "Latency %14s %12s %12s %12s\n", "min", "p50", "p99", "max");
    print_dist(out, "read", &r->reg_read);
    print_dist(out, "write", &r->reg_write);
    print_dist(out, "ISR", &r->isr);
    fprintf(out,
            "  (read/write: READ_/WRITE_REGISTER_ULONG on sysid SCRATCH, %u each; ISR: timer edge "
            "(interrupt controller timestamp) to %s, %u interrupts %s apart",
            r->reg_read.count,
            r->wall_time ? "the ISR's first read reaching the device" : "ISR entry", r->isr.count,
            fmt_ns(a, sizeof a, (double)r->isr_period_ns));
    if (r->wall_time)
        fprintf(out, ", %u run%s, %u lost", r->isr_runs, r->isr_runs == 1 ? "" : "s", r->isr_lost);
    fprintf(out, ")\n\n");

    if (!r->rate_measured) {
        fprintf(out,
                "Sustainable interrupt rate: not measured: %s\n  (%u probes, %u timer runs, %u "
                "of them with the device's clock slow)\n",
                r->rate_not_measured, r->rate_probes, r->rate_runs, r->rate_slow_runs);
        return;
    }
    fprintf(out, "Sustainable interrupt rate: %.0f Hz (one every %s)", r->rate_max_hz,
            fmt_ns(a, sizeof a, (double)r->rate_min_period_ns));
    if (r->rate_at_search_floor)
        fprintf(out, ", the shortest period searched: the target may do better\n");
    else
        fprintf(out, "; %s apart loses interrupts\n",
                fmt_ns(b, sizeof b, (double)r->rate_first_lossy_period_ns));
    fprintf(out,
            "  (binary search over the timer's period, %u probes of %u interrupts, confirmed by "
            "a run of %u; %u timer runs in all%s",
            r->rate_probes, o->probe_interrupts, r->rate_verify_interrupts, r->rate_runs,
            r->rate_slow_runs ? ", some refused: the device's clock ran slow" : "");
    fprintf(out, "%s)\n",
            r->rate_search_cut ? "; the search hit its wall-time bound, so the bounds are wider "
                                 "than 0.5%"
                               : "");
}

/* ---- JSON ---- */

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(f, "\\u%04x", ch);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}

static void json_dist(FILE *f, const struct bench_dist *d)
{
    fprintf(f,
            "{\"count\": %u, \"min_ns\": %llu, \"p50_ns\": %llu, \"p99_ns\": %llu, \"max_ns\": "
            "%llu, \"mean_ns\": %.1f}",
            d->count, (unsigned long long)d->min_ns, (unsigned long long)d->p50_ns,
            (unsigned long long)d->p99_ns, (unsigned long long)d->max_ns, d->mean_ns);
}

#define HIST_BINS 20

/* Equal-width bins from min to max (one bin when they are equal). */
static unsigned histogram(const struct bench_results *r, unsigned counts[HIST_BINS],
                          uint64_t *width)
{
    memset(counts, 0, sizeof(unsigned) * HIST_BINS);
    uint64_t span = r->isr.max_ns - r->isr.min_ns;
    unsigned bins = span ? HIST_BINS : 1;
    *width = span ? span / HIST_BINS + 1 : 1;
    for (unsigned i = 0; i < r->isr.count; i++)
        counts[(r->isr_samples[i] - r->isr.min_ns) / *width]++;
    return bins;
}

int bench_write_json(const char *path, const struct bench_options *o, const struct bench_results *r)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f, "{\n  \"schema\": \"kmrig-bench-1\",\n  \"kmrig_version\": ");
    json_str(f, KMRIG_VERSION);
    fprintf(f, ",\n  \"target\": ");
    json_str(f, o->target);
    fprintf(f, ",\n  \"transport\": ");
    json_str(f, r->transport);
    fprintf(f, ",\n  \"profile\": ");
    json_str(f, r->profile);
    fprintf(f, ",\n  \"device\": ");
    json_str(f, r->device);
    fprintf(f,
            ",\n  \"soc_id\": %u,\n  \"soc_version\": %u,\n  \"clock_hz\": %llu,\n"
            "  \"time_base\": \"%s\",\n  \"clock_query_overhead_ns\": %llu,\n",
            (unsigned)r->soc_id, (unsigned)r->soc_version, (unsigned long long)r->clock_hz,
            r->wall_time ? "device-timestamps" : "virtual",
            (unsigned long long)r->timer_overhead_ns);
    if (r->wall_time) {
        static const char *const phases[] = {"dma", "registers", "interrupts"};
        fprintf(f, "  \"device_clock\": {");
        for (int ph = 0; ph < BENCH_PHASES; ph++)
            fprintf(f, "%s\"%s\": {\"device_ns\": %llu, \"host_ns\": %llu, \"ratio\": %.4f}",
                    ph ? ", " : "", phases[ph], (unsigned long long)r->clock[ph].device_ns,
                    (unsigned long long)r->clock[ph].host_ns, clock_ratio(&r->clock[ph]));
        fprintf(f, "},\n");
    }
    fprintf(f,
            "  \"link\": {\"h2d_bytes_per_s\": %llu, \"d2h_bytes_per_s\": %llu, \"half_duplex\": "
            "%s},\n",
            (unsigned long long)r->link_h2d_bytes_per_s,
            (unsigned long long)r->link_d2h_bytes_per_s, r->half_duplex ? "true" : "false");
    fprintf(f, "  \"options\": {\"sizes_bytes\": [");
    for (unsigned i = 0; i < o->nsizes; i++)
        fprintf(f, "%s%u", i ? ", " : "", (unsigned)o->sizes[i]);
    fprintf(f,
            "], \"iterations\": %u, \"probe_interrupts\": %u, \"dma_max_bytes_per_size\": %llu, "
            "\"quick\": %s},\n",
            o->iterations, o->probe_interrupts, (unsigned long long)o->dma_bytes_per_size,
            o->quick ? "true" : "false");

    fprintf(f,
            "  \"dma\": {\n    \"driver\": \"dmaeng\",\n    \"hardware_id\": \"KMRIG\\\\SGDMA\",\n"
            "    \"fifo_bytes\": %u,\n    \"chunk_bytes\": %u,\n    \"directions\": {\n",
            (unsigned)r->fifo_bytes, (unsigned)r->chunk_bytes);
    for (int d = 0; d < BENCH_DIRS; d++) {
        fprintf(f, "      \"%s\": [", bench_dir_name(d));
        for (unsigned i = 0; i < r->dma[d].npoints; i++) {
            const struct bench_dma_point *p = &r->dma[d].points[i];
            fprintf(f,
                    "%s\n        {\"bytes\": %u, \"requests\": %u, \"total_ns\": %llu, "
                    "\"throughput_bytes_per_s\": %.1f, \"request\": ",
                    i ? "," : "", (unsigned)p->bytes, p->requests, (unsigned long long)p->total_ns,
                    p->throughput_bytes_per_s);
            json_dist(f, &p->request);
            fputc('}', f);
        }
        fprintf(f, "\n      ]%s\n", d + 1 < BENCH_DIRS ? "," : "");
    }
    fprintf(f, "    }");
    if (r->dma_nskipped) {
        fprintf(f, ",\n    \"skipped\": [");
        for (unsigned i = 0; i < r->dma_nskipped; i++) {
            fprintf(f, "%s{\"bytes\": %u, \"reason\": ", i ? ", " : "",
                    (unsigned)r->dma_skipped[i].bytes);
            json_str(f, r->dma_skipped[i].reason);
            fputc('}', f);
        }
        fputc(']', f);
    }
    fprintf(f, "\n  },\n");

    fprintf(f, "  \"registers\": {\"register\": \"sysid SCRATCH\", \"address\": %llu, \"read\": ",
            (unsigned long long)r->register_address);
    json_dist(f, &r->reg_read);
    fprintf(f, ", \"write\": ");
    json_dist(f, &r->reg_write);
    fprintf(f, "},\n");

    unsigned counts[HIST_BINS];
    uint64_t width;
    unsigned bins = histogram(r, counts, &width);
    fprintf(f,
            "  \"isr\": {\"timer_line\": %u, \"period_ns\": %llu, \"runs\": %u, \"lost\": %u, "
            "\"latency\": ",
            r->timer_line, (unsigned long long)r->isr_period_ns, r->isr_runs, r->isr_lost);
    json_dist(f, &r->isr);
    fprintf(f,
            ",\n    \"histogram\": {\"first_bin_ns\": %llu, \"bin_width_ns\": %llu, \"counts\": [",
            (unsigned long long)r->isr.min_ns, (unsigned long long)width);
    for (unsigned i = 0; i < bins; i++)
        fprintf(f, "%s%u", i ? ", " : "", counts[i]);
    fprintf(f, "]}},\n");

    if (!r->rate_measured) {
        fprintf(f, "  \"interrupt_rate\": {\"measured\": false, \"not_measured\": ");
        json_str(f, r->rate_not_measured);
        fprintf(f, ", \"probes\": %u, \"runs\": %u, \"slow_clock_runs\": %u}\n}\n", r->rate_probes,
                r->rate_runs, r->rate_slow_runs);
    } else {
        fprintf(f,
                "  \"interrupt_rate\": {\"measured\": true, \"max_hz\": %.6g, "
                "\"min_period_ns\": %llu, \"first_lossy_period_ns\": %llu, "
                "\"search_floor_reached\": %s, \"search_cut_short\": %s,\n"
                "    \"method\": \"binary search over the timer period; a period is sustainable "
                "when every expiry reaches the ISR with its edge timestamp one period after the "
                "last\",\n"
                "    \"probes\": %u, \"probe_interrupts\": %u, \"confirm_interrupts\": %u, "
                "\"runs\": %u, \"slow_clock_runs\": %u}\n}\n",
                r->rate_max_hz, (unsigned long long)r->rate_min_period_ns,
                (unsigned long long)r->rate_first_lossy_period_ns,
                r->rate_at_search_floor ? "true" : "false", r->rate_search_cut ? "true" : "false",
                r->rate_probes, o->probe_interrupts, r->rate_verify_interrupts, r->rate_runs,
                r->rate_slow_runs);
    }
    int err = ferror(f);
    if (fclose(f) || err) {
        if (!errno)
            errno = EIO;
        return -1;
    }
    return 0;
}

/* ---- SVG ---- */

/* A plot area in the picture. */
struct panel {
    double x0, y0, w, h;           /* pixels: left, top, width, height */
    double xmin, xmax, ymin, ymax; /* data range (already log10 where the axis is log) */
};

static double px(const struct panel *p, double x)
{
    return p->x0 + (x - p->xmin) / (p->xmax - p->xmin) * p->w;
}

static double py(const struct panel *p, double y)
{
    return p->y0 + p->h - (y - p->ymin) / (p->ymax - p->ymin) * p->h;
}

static void svg_frame(FILE *f, const struct panel *p, const char *title, const char *xlabel,
                      const char *ylabel)
{
    fprintf(f, "<rect class=\"frame\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/>\n",
            p->x0, p->y0, p->w, p->h);
    fprintf(f, "<text class=\"panel-title\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">",
            p->x0 + p->w / 2, p->y0 - 10);
    kmrig_cli_xml_text(f, title);
    fprintf(f, "</text>\n<text class=\"axis-label\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">",
            p->x0 + p->w / 2, p->y0 + p->h + 38);
    kmrig_cli_xml_text(f, xlabel);
    fprintf(f,
            "</text>\n<text class=\"axis-label\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
            "transform=\"rotate(-90 %.1f %.1f)\">",
            p->x0 - 48, p->y0 + p->h / 2, p->x0 - 48, p->y0 + p->h / 2);
    kmrig_cli_xml_text(f, ylabel);
    fprintf(f, "</text>\n");
}

static void svg_xtick(FILE *f, const struct panel *p, double x, const char *label)
{
    double X = px(p, x);
    fprintf(f,
            "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n"
            "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n",
            X, p->y0, X, p->y0 + p->h, X, p->y0 + p->h + 16, label);
}

static void svg_ytick(FILE *f, const struct panel *p, double y, const char *label)
{
    double Y = py(p, y);
    fprintf(f,
            "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n"
            "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n",
            p->x0, Y, p->x0 + p->w, Y, p->x0 - 6, Y + 4, label);
}

static const char *const dir_color[BENCH_DIRS] = {"#1f77b4", "#d62728", "#2ca02c"};
static const char *const dir_label[BENCH_DIRS] = {"h2d: host memory to the device's FIFO",
                                                  "d2h: the device's FIFO to host memory",
                                                  "copy: host memory to host memory"};

static void svg_throughput(FILE *f, const struct bench_options *o, const struct bench_results *r)
{
    double lo = INFINITY, hi = 0;
    for (int d = 0; d < BENCH_DIRS; d++)
        for (unsigned i = 0; i < r->dma[d].npoints; i++) {
            double v = r->dma[d].points[i].throughput_bytes_per_s / 1e6;
            lo = v > 0 && v < lo ? v : lo;
            hi = v > hi ? v : hi;
        }
    if (!(hi > 0)) {
        lo = 0.1;
        hi = 1;
    }
    struct panel p = {80, 90, 400, 300, 0, 1, floor(log10(lo)), ceil(log10(hi))};
    if (p.ymax <= p.ymin)
        p.ymax = p.ymin + 1;
    double smin = log2((double)o->sizes[0]), smax = log2((double)o->sizes[o->nsizes - 1]);
    p.xmin = smin - 0.5;
    p.xmax = (smax > smin ? smax : smin + 1) + 0.5;
    svg_frame(f, &p, "DMA throughput per request (one at a time)",
              "transfer size (bytes, log scale)", "throughput (MB/s, log scale)");
    char lab[32];
    for (unsigned i = 0; i < o->nsizes; i++) {
        uint32_t b = o->sizes[i];
        if (b >= (1u << 20) && !(b & ((1u << 20) - 1)))
            snprintf(lab, sizeof lab, "%uM", b >> 20);
        else if (b >= 1024 && !(b & 1023))
            snprintf(lab, sizeof lab, "%uK", b >> 10);
        else
            snprintf(lab, sizeof lab, "%u", b);
        svg_xtick(f, &p, log2((double)b), lab);
    }
    for (double e = p.ymin; e <= p.ymax + 1e-9; e += 1) {
        snprintf(lab, sizeof lab, "%g", pow(10, e));
        svg_ytick(f, &p, e, lab);
    }
    for (int d = 0; d < BENCH_DIRS; d++) {
        const struct bench_dma_series *s = &r->dma[d];
        if (!s->npoints)
            continue;
        /* copy dashed: where it runs with h2d, both stay visible */
        fprintf(f,
                "<g class=\"series\" id=\"dma-%s\">\n<polyline fill=\"none\" stroke=\"%s\" "
                "stroke-width=\"2\"%s points=\"",
                bench_dir_name(d), dir_color[d],
                d == BENCH_COPY ? " stroke-dasharray=\"6,3\"" : "");
        for (unsigned i = 0; i < s->npoints; i++) {
            double v = s->points[i].throughput_bytes_per_s / 1e6;
            fprintf(f, "%s%.1f,%.1f", i ? " " : "", px(&p, log2((double)s->points[i].bytes)),
                    py(&p, log10(v > 0 ? v : pow(10, p.ymin))));
        }
        fprintf(f, "\"/>\n");
        for (unsigned i = 0; i < s->npoints; i++) {
            double v = s->points[i].throughput_bytes_per_s / 1e6;
            fprintf(f,
                    "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" fill=\"%s\"><title>%s %u bytes: "
                    "%.2f MB/s</title></circle>\n",
                    px(&p, log2((double)s->points[i].bytes)),
                    py(&p, log10(v > 0 ? v : pow(10, p.ymin))), dir_color[d], bench_dir_name(d),
                    (unsigned)s->points[i].bytes, v);
        }
        fprintf(f, "</g>\n");
    }
    /* legend, top left inside the frame */
    for (int d = 0, k = 0; d < BENCH_DIRS; d++) {
        if (!r->dma[d].npoints)
            continue;
        double y = p.y0 + 16 + 16 * k++;
        fprintf(f,
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                "stroke-width=\"3\"/>\n<text class=\"legend\" x=\"%.1f\" y=\"%.1f\">%s</text>\n",
                p.x0 + 10, y - 4, p.x0 + 30, y - 4, dir_color[d], p.x0 + 36, y, dir_label[d]);
    }
}

static void svg_isr(FILE *f, const struct bench_results *r)
{
    int us = r->isr.max_ns >= 2000;
    double unit = us ? 1000.0 : 1.0;
    double xmax = (double)r->isr.max_ns * 1.05 / unit;
    if (xmax <= 0)
        xmax = 1;
    struct panel p = {570, 90, 400, 300, 0, xmax, 0, 1};
    char title[96];
    snprintf(title, sizeof title, "ISR latency, %u interrupts: share at or below", r->isr.count);
    svg_frame(f, &p, title,
              us ? "timer edge to ISR entry (us, device clock)"
                 : "timer edge to ISR entry (ns, device clock)",
              "share of interrupts (CDF)");
    char lab[32];
    double step = pow(10, floor(log10(xmax)));
    if (xmax / step < 2.5)
        step /= 5;
    else if (xmax / step < 5)
        step /= 2;
    for (double x = 0; x <= xmax + 1e-9; x += step) {
        snprintf(lab, sizeof lab, "%g", x);
        svg_xtick(f, &p, x, lab);
    }
    for (int i = 0; i <= 4; i++) {
        snprintf(lab, sizeof lab, "%d%%", i * 25);
        svg_ytick(f, &p, i / 4.0, lab);
    }
    /* the empirical CDF as a step line */
    fprintf(f,
            "<polyline id=\"isr-cdf\" fill=\"none\" stroke=\"#9467bd\" stroke-width=\"2\" "
            "points=\"%.1f,%.1f",
            px(&p, 0), py(&p, 0));
    unsigned n = r->isr.count;
    double prev = 0; /* the share below the current value */
    for (unsigned i = 0; i < n; i++) {
        if (i + 1 < n && r->isr_samples[i + 1] == r->isr_samples[i])
            continue;
        double x = px(&p, (double)r->isr_samples[i] / unit);
        fprintf(f, " %.1f,%.1f %.1f,%.1f", x, py(&p, prev), x, py(&p, (double)(i + 1) / n));
        prev = (double)(i + 1) / n;
    }
    fprintf(f, " %.1f,%.1f\"/>\n", px(&p, xmax), py(&p, 1));
    static const struct {
        const char *name, *color;
        int pct;
    } marks[] = {{"p50", "#ff7f0e", 50}, {"p99", "#d62728", 99}};
    for (int m = 0; m < 2; m++) {
        uint64_t v = marks[m].pct == 50 ? r->isr.p50_ns : r->isr.p99_ns;
        double X = px(&p, (double)v / unit);
        char t[32];
        fmt_ns(t, sizeof t, (double)v);
        fprintf(
            f,
            "<line class=\"mark\" id=\"isr-%s\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
            "stroke=\"%s\" stroke-dasharray=\"5,3\" stroke-width=\"1.5\"/>\n"
            "<text class=\"legend\" x=\"%.1f\" y=\"%.1f\" fill=\"%s\" text-anchor=\"end\">%s "
            "%s</text>\n",
            marks[m].name, X, p.y0, X, p.y0 + p.h, marks[m].color, X - 4, p.y0 + p.h - 12 - 16 * m,
            marks[m].color, marks[m].name, t);
    }
}

int bench_write_svg(const char *path, const struct bench_options *o, const struct bench_results *r)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    char a[32], b[32], c[32];
    fprintf(f,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"1000\" height=\"470\" "
            "viewBox=\"0 0 1000 470\" font-family=\"sans-serif\">\n"
            "<style>.frame{fill:none;stroke:#333}.grid{stroke:#ddd}.tick{font-size:11px;fill:#333}"
            ".axis-label{font-size:12px;fill:#333}.panel-title{font-size:13px;font-weight:bold}"
            ".legend{font-size:11px}</style>\n"
            "<rect width=\"1000\" height=\"470\" fill=\"white\"/>\n<title>kmrig bench: ");
    kmrig_cli_xml_text(f, o->target);
    fprintf(f, "</title>\n<text id=\"title\" x=\"500\" y=\"26\" text-anchor=\"middle\" "
               "font-size=\"16\" font-weight=\"bold\">kmrig bench on ");
    kmrig_cli_xml_text(f, o->target);
    fprintf(f, " (profile ");
    kmrig_cli_xml_text(f, r->profile);
    fprintf(f, ", %.0f MHz device clock)</text>\n", r->clock_hz / 1e6);
    fprintf(f,
            "<text id=\"subtitle\" x=\"500\" y=\"48\" text-anchor=\"middle\" font-size=\"12\">"
            "register read p50 %s, write p50 %s; ",
            fmt_ns(a, sizeof a, (double)r->reg_read.p50_ns),
            fmt_ns(b, sizeof b, (double)r->reg_write.p50_ns));
    if (r->rate_measured)
        fprintf(f, "sustainable interrupt rate %.0f Hz (one every %s)", r->rate_max_hz,
                fmt_ns(c, sizeof c, (double)r->rate_min_period_ns));
    else
        fprintf(f, "interrupt rate not measured");
    fprintf(f, "; times on the device's %s</text>\n",
            r->wall_time ? "timestamps" : "clock (virtual)");
    svg_throughput(f, o, r);
    svg_isr(f, r);
    fprintf(f, "</svg>\n");
    int err = ferror(f);
    if (fclose(f) || err) {
        if (!errno)
            errno = EIO;
        return -1;
    }
    return 0;
}

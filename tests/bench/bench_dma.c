/* bench_dma: device DMA throughput and payload efficiency per link profile on the Verilator
 * model (sim target, transaction level; docs/protocol.md, section 12, "DMA on the sim target").
 *
 * Part 1, one request: the bytes a single 4 KiB DMA read (DMA_RD_REQ + DMA_RD_RSP) and write
 * (DMA_WR_REQ + DMA_WR_RSP) take on each profile's link, and payload / link bytes.
 * Part 2, dma0 copies of 256 B .. 64 KiB (one descriptor, page-aligned buffers): the virtual
 * time from the start to dma0's interrupt, the payload throughput (bytes copied / time), and per
 * link direction (h2d carries the read data, d2h the written data) payload / link bytes and the
 * direction's payload throughput / the link's byte rate. A copy moves its payload both ways, so
 * each direction carries `size` payload bytes.
 * Part 3, streams: STREAM_N requests of 4 KiB issued at once through kmrig_link_dma_at (reads,
 * then writes), paced by the profile's 8 DMA tags (the stream engine's ST_DMA_TAGS). Payload
 * MB/s for reads is the steady pace of the requests' done cycles after the first 16 (a read is
 * done when its data arrives). A posted write is done when it gets a tag (when DMA_WR_RSP of
 * the write 8 before it arrives), so writes are timed from write 16's done to the done of a
 * DMA read issued after the last write (the fence: the host handles it only after storing the
 * writes' data, docs/protocol.md section 6), counting writes 16.. only: a lower bound.
 *
 * The link's byte rate (parts 2 and 3), per direction: ft245 40.96 MB/s = 8 microframes/ms x
 * 1000 ms/s x 10 packets x 512 bytes (the FT232H's rate per direction; the USB 2.0 bus carries
 * at most 13 packets a microframe in all); pcie 500 MB/s; uart 300 kB/s.
 *
 * Usage: bench_dma [--profile NAME]... [--check PCT]   (default: ideal pcie ft245 uart)
 * Prints a table on stdout. With --check, exits 1 when a stream of part 3 moves its payload at
 * less than PCT % of the link's byte rate (ctest bench_dma_ft245: --profile ft245 --check 95,
 * issue 5). */
#include <kmrig/link.h>
#include <kmrig/protocol.h>
#include <kmrig_soc_map.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BASE 0x10000000ull
#define HOST_BYTES (256u << 10)
#define SRC 0x1000u
#define DST 0x20000u
#define LINE KMRIG_SOC_DMA0_IRQ

struct prof {
    const char *name;
    double rate; /* link byte rate per direction, bytes/s (0: none) */
};

static const struct prof profs[] = {
    {"ideal", 0}, {"pcie", 500e6}, {"ft245", 8 * 1000 * 10 * 512.0}, {"uart", 300e3}};
#define STREAM_N 1024u
#define STREAM_SKIP 16u

static uint8_t *mem;

static int serve(void *ctx, int write, uint64_t addr, void *data, size_t size)
{
    (void)ctx;
    if (addr < BASE || addr + size > BASE + HOST_BYTES)
        return KMRIG_LINK_EBUS;
    if (write)
        memcpy(mem + (addr - BASE), data, size);
    else
        memcpy(data, mem + (addr - BASE), size);
    return KMRIG_LINK_OK;
}

static struct kmrig_link *open_sim(const char *profile)
{
    char uri[64], err[256];
    snprintf(uri, sizeof uri, "sim:profile=%s", profile);
    struct kmrig_link *l = NULL;
    if (kmrig_link_open(uri, &l, err, sizeof err) != KMRIG_LINK_OK) {
        fprintf(stderr, "bench_dma: %s: %s\n", uri, err);
        return NULL;
    }
    kmrig_link_set_dma_handler(l, serve, NULL);
    return l;
}

static void put32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

/* One dma0 copy; returns the cycles from the start to the interrupt edge, 0 on failure. */
static uint64_t copy(struct kmrig_link *l, uint32_t len)
{
    memset(mem, 0, 32);
    for (uint32_t i = 0; i < len; i++)
        mem[SRC + i] = (uint8_t)(i * 7 + 3);
    put32(mem + KMRIG_DMADESC_SRC_LO, (uint32_t)(BASE + SRC));
    put32(mem + KMRIG_DMADESC_DST_LO, (uint32_t)(BASE + DST));
    put32(mem + KMRIG_DMADESC_CTRL, len | KMRIG_DMADESC_CTRL_LAST | KMRIG_DMADESC_CTRL_OWN);
    uint64_t t0 = 0, edge = 0;
    const uint32_t r = KMRIG_SOC_DMA0_BASE;
    if (kmrig_link_irq_control(l, LINE, KMRIG_IRQ_UNMASK) ||
        kmrig_link_write(l, KMRIG_SPACE_MEM, r + KMRIG_DMA_DESC_LO, 4, (uint32_t)BASE, &t0) ||
        kmrig_link_write(l, KMRIG_SPACE_MEM, r + KMRIG_DMA_DESC_HI, 4, 0, &t0) ||
        kmrig_link_write(l, KMRIG_SPACE_MEM, r + KMRIG_DMA_CTRL, 4,
                         KMRIG_DMA_CTRL_RUN | KMRIG_DMA_CTRL_IRQ_EN, &t0))
        return 0;
    uint32_t lines = 0;
    for (int i = 0; i < 100000 && !(lines >> LINE & 1); i++) {
        kmrig_link_advance(l, 1u << 24, 1);
        kmrig_link_irq_pending(l, &lines);
    }
    uint32_t st = 0;
    if (!(lines >> LINE & 1) || kmrig_link_irq_timestamp(l, LINE, &edge) ||
        kmrig_link_read(l, KMRIG_SPACE_MEM, r + KMRIG_DMA_STATUS, 4, &st, NULL) ||
        (st & KMRIG_DMA_STATUS_ERROR) || memcmp(mem + DST, mem + SRC, len))
        return 0;
    return edge - t0;
}

int main(int argc, char **argv)
{
    const char *want[8];
    int nwant = 0;
    double check = 0; /* --check PCT: the least % of the link's byte rate a stream may reach */
    for (int i = 1; i < argc; i++) {
        char *end = NULL;
        if (!strcmp(argv[i], "--profile") && i + 1 < argc && nwant < 8) {
            want[nwant++] = argv[++i];
        } else if (!strcmp(argv[i], "--check") && i + 1 < argc &&
                   (check = strtod(argv[i + 1], &end)) > 0 && check <= 100 && end && !*end) {
            i++;
        } else {
            fprintf(stderr, "usage: bench_dma [--profile ideal|pcie|ft245|uart]... "
                            "[--check PCT (0 < PCT <= 100)]\n");
            return 2;
        }
    }
    mem = calloc(1, HOST_BYTES);
    if (!mem)
        return 1;
    int failed = 0;

    printf("One 4 KiB DMA request: payload bytes / link bytes (both directions, all frames)\n");
    printf("%-6s %8s %8s %8s %8s\n", "link", "rd link", "rd eff", "wr link", "wr eff");
    for (unsigned p = 1; p < sizeof profs / sizeof profs[0]; p++) {
        int skip = nwant > 0;
        for (int w = 0; w < nwant; w++)
            skip &= strcmp(want[w], profs[p].name) != 0;
        if (skip)
            continue;
        uint64_t bytes[2];
        for (int write = 0; write < 2; write++) {
            struct kmrig_link *l = open_sim(profs[p].name);
            if (!l)
                return 1;
            /* single-threaded: nothing else uses the link (kmrig_link_dma_time is for hooks) */
            kmrig_link_dma_time(l, write, KMRIG_PROTO_MAX_BURST, kmrig_link_now(l));
            struct kmrig_link_stats s;
            kmrig_link_get_stats(l, &s);
            bytes[write] = s.dma_link_bytes[0] + s.dma_link_bytes[1];
            kmrig_link_close(l);
        }
        printf("%-6s %8llu %7.2f%% %8llu %7.2f%%\n", profs[p].name, (unsigned long long)bytes[0],
               100.0 * KMRIG_PROTO_MAX_BURST / (double)bytes[0], (unsigned long long)bytes[1],
               100.0 * KMRIG_PROTO_MAX_BURST / (double)bytes[1]);
    }

    printf("\ndma0 copies (one descriptor): time to the interrupt, payload throughput, and per "
           "direction payload/link bytes and payload rate/link rate\n");
    printf("%-6s %7s %11s %10s | %9s %8s %8s | %9s %8s %8s\n", "link", "bytes", "time us", "MB/s",
           "h2d link", "h2d eff", "h2d/rate", "d2h link", "d2h eff", "d2h/rate");
    static const uint32_t sizes[] = {256, 1024, 4096, 16384, 65536};
    for (unsigned p = 0; p < sizeof profs / sizeof profs[0]; p++) {
        int skip = nwant > 0;
        for (int w = 0; w < nwant; w++)
            skip &= strcmp(want[w], profs[p].name) != 0;
        if (skip)
            continue;
        for (unsigned z = 0; z < sizeof sizes / sizeof sizes[0]; z++) {
            struct kmrig_link *l = open_sim(profs[p].name);
            if (!l)
                return 1;
            uint64_t cyc = copy(l, sizes[z]);
            if (!cyc) {
                printf("%-6s %7u  copy failed\n", profs[p].name, sizes[z]);
                failed = 1;
                kmrig_link_close(l);
                continue;
            }
            double secs = (double)cyc / (double)kmrig_link_get_info(l)->clock_hz;
            double mbs = sizes[z] / secs / 1e6;
            struct kmrig_link_stats s;
            kmrig_link_get_stats(l, &s);
            printf("%-6s %7u %11.1f %10.2f |", profs[p].name, sizes[z], secs * 1e6, mbs);
            for (int d = 0; d < 2; d++) {
                if (!profs[p].rate) {
                    printf(" %9s %8s %8s %s", "-", "-", "-", d ? "" : "|");
                    continue;
                }
                printf(" %9llu %7.1f%% %7.1f%% %s", (unsigned long long)s.dma_link_bytes[d],
                       100.0 * sizes[z] / (double)s.dma_link_bytes[d],
                       100.0 * mbs * 1e6 / profs[p].rate, d ? "" : "|");
            }
            printf("\n");
            kmrig_link_close(l);
        }
    }
    printf("\n4 KiB DMA streams: %u requests issued at once, 8 tags; payload MB/s (from the done "
           "of request %u; writes to a trailing read's done) and %% of the link's byte rate\n",
           STREAM_N, STREAM_SKIP);
    printf("%-6s %12s %10s %12s %10s %14s\n", "link", "read MB/s", "read %", "write MB/s",
           "write %", "byte rate MB/s");
    for (unsigned p = 1; p < sizeof profs / sizeof profs[0]; p++) {
        int skip = nwant > 0;
        for (int w = 0; w < nwant; w++)
            skip &= strcmp(want[w], profs[p].name) != 0;
        if (skip)
            continue;
        double mbs[2] = {0, 0};
        for (int write = 0; write < 2; write++) {
            struct kmrig_link *l = open_sim(profs[p].name);
            if (!l)
                return 1;
            uint64_t t0 = kmrig_link_now(l), first = 0, last = 0;
            for (unsigned j = 0; j < STREAM_N; j++) {
                uint64_t d = 0;
                if (kmrig_link_dma_at(l, write, BASE + SRC, mem + DST, KMRIG_PROTO_MAX_BURST, t0,
                                      &d) != KMRIG_LINK_OK)
                    failed = 1;
                if (j == STREAM_SKIP)
                    first = d;
                last = d;
            }
            unsigned counted = STREAM_N - 1 - STREAM_SKIP;
            if (write) { /* the fence: every write has landed when this read is done */
                if (kmrig_link_dma_at(l, 0, BASE + SRC, mem + DST, 4, t0, &last) != KMRIG_LINK_OK)
                    failed = 1;
                counted = STREAM_N - STREAM_SKIP;
            }
            double secs = (double)(last - first) / (double)kmrig_link_get_info(l)->clock_hz;
            mbs[write] = counted * (double)KMRIG_PROTO_MAX_BURST / secs / 1e6;
            kmrig_link_close(l);
        }
        double rate = profs[p].rate / 1e6;
        printf("%-6s %12.2f %9.1f%% %12.2f %9.1f%% %14.2f\n", profs[p].name, mbs[0],
               100 * mbs[0] / rate, mbs[1], 100 * mbs[1] / rate, rate);
        for (int write = 0; write < 2; write++)
            if (check && 100 * mbs[write] / rate < check) {
                printf("FAIL: %s 4 KiB %s stream at %.1f%% of %.2f MB/s, below %.1f%%\n",
                       profs[p].name, write ? "write" : "read", 100 * mbs[write] / rate, rate,
                       check);
                failed = 1;
            }
    }
    free(mem);
    return failed;
}

/*
 * Fuzz target for the wire-protocol decoder (kmrig_proto_decoder_feed, kmrig_proto_parse).
 *
 * The first input byte chooses the decoder options and a chunk-size seed; the rest is fed in
 * chunks of varying size, as a link delivers it. Checks, aborting on any violation:
 *   - feed never consumes more than it was given and accounts for every byte
 *     (bytes_in = frame_bytes + dropped_bytes + pending);
 *   - an emitted frame is sound: len within the limits, wire_len = header + len (+ CRC);
 *   - a frame that parses re-encodes to a frame that decodes and parses to the same message.
 *
 * Built as a libFuzzer target with clang (-fsanitize=fuzzer); with any other compiler main()
 * below replays every file of the corpus directories given on the command line (a ctest).
 */
#include <kmrig/protocol.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct kmrig_proto_decoder dec, redec;
static uint8_t reenc[KMRIG_PROTO_MAX_FRAME];

static void check_frame(const struct kmrig_proto_frame *f)
{
    size_t want = KMRIG_PROTO_HDR_BYTES + f->len +
                  ((f->flags & KMRIG_PROTO_FLAG_PCRC) ? KMRIG_PROTO_CRC32_BYTES : 0);
    if (f->len > KMRIG_PROTO_MAX_PAYLOAD || f->wire_len != want || (f->type & 0x80))
        abort();
    if ((dec.options & KMRIG_PROTO_DEC_REQUIRE_CRC) && !(f->flags & KMRIG_PROTO_FLAG_PCRC))
        abort();
    struct kmrig_proto_msg m, m2;
    if (kmrig_proto_parse(f, &m) != 0)
        return;
    /* Only senders must use known codes: a parsed message may carry unknown ones. */
    int len = kmrig_proto_encode(&m, reenc, sizeof reenc);
    if (len == KMRIG_PROTO_EINVAL)
        return;
    if (len < 0)
        abort();
    kmrig_proto_decoder_init(&redec, 0);
    size_t used;
    struct kmrig_proto_frame f2;
    if (kmrig_proto_decoder_feed(&redec, reenc, (size_t)len, &used, &f2) != 1 ||
        used != (size_t)len || kmrig_proto_parse(&f2, &m2) != 0)
        abort();
    if (m2.type != m.type || m2.tag != m.tag || m2.flags != m.flags || m2.data_len != m.data_len ||
        (m.data_len && memcmp(m2.data, m.data, m.data_len)))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    unsigned seed = data[0];
    kmrig_proto_decoder_init(&dec, (seed & 1) ? KMRIG_PROTO_DEC_REQUIRE_CRC : 0);
    data++, size--;
    size_t off = 0;
    while (off < size) {
        size_t chunk = 1 + (seed >> 1) * 13 % 97;
        seed = seed * 1103515245u + 12345u;
        if (chunk > size - off)
            chunk = size - off;
        const uint8_t *p = data + off;
        size_t left = chunk;
        off += chunk;
        while (left) {
            size_t used = (size_t)-1;
            struct kmrig_proto_frame f;
            int r = kmrig_proto_decoder_feed(&dec, p, left, &used, &f);
            if (used > left || (r != 0 && r != 1) || (r == 0 && used != left))
                abort();
            p += used;
            left -= used;
            if (r == 1)
                check_frame(&f);
        }
    }
    const struct kmrig_proto_decoder_stats *s = &dec.stats;
    if (s->bytes_in != size ||
        s->bytes_in != s->frame_bytes + s->dropped_bytes + kmrig_proto_decoder_pending(&dec))
        abort();
    return 0;
}

#ifndef KMRIG_LIBFUZZER
#include "../support/fuzz_replay.h"

int main(int argc, char **argv)
{
    int files;
    int failed = kmrig_fuzz_replay(argc, argv, "fuzz_frame", 60, NULL, &files);
    printf("fuzz_frame: replayed %d inputs\n", files);
    return failed || files == 0;
}
#endif

/*
 * Fuzz target for the enumeration ROM parser (kmrig_rom_parse): any bytes, read as little-endian
 * 32-bit words (a partial last word is zero-padded). What it accepts must make sense: every
 * entry it returns has a printable, non-empty hardware ID, one window, an interrupt line below
 * the interrupt unit's lines, at most three resources.
 *
 * Built as a libFuzzer target with clang (-fsanitize=fuzzer); with any other compiler main()
 * below replays every file of the corpus directories given on the command line (a ctest).
 */
#include <kmrig/rig.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t nwords = (size + 3) / 4;
    uint32_t *words = calloc(nwords ? nwords : 1, sizeof *words);
    if (!words)
        return 0;
    for (size_t i = 0; i < size; i++)
        words[i / 4] |= (uint32_t)data[i] << (8 * (i % 4));
    struct kmrig_device_desc d[8];
    struct kmrig_rom_strings s[8];
    size_t count = 0;
    NTSTATUS st = kmrig_rom_parse(words, nwords, d, s, 8, &count);
    if (NT_SUCCESS(st)) {
        unsigned lines = words[1] >> 24;
        for (size_t i = 0; i < count && i < 8; i++) {
            size_t len = strlen(d[i].hardware_ids[0]);
            if (!len || len > 16 || d[i].resource_count < 1 || d[i].resource_count > 3)
                abort();
            for (size_t k = 0; k < len; k++)
                if (d[i].hardware_ids[0][k] < 0x20 || d[i].hardware_ids[0][k] > 0x7E)
                    abort();
            for (unsigned r = 0; r < d[i].resource_count; r++)
                if (d[i].resources[r].kind == KMRIG_RES_INTERRUPT &&
                    d[i].resources[r].line >= lines)
                    abort();
        }
    } else if (st != STATUS_DEVICE_CONFIGURATION_ERROR || count != 0) {
        abort(); /* the one error a bad ROM gives, and nothing counted */
    }
    free(words);
    return 0;
}

#ifndef KMRIG_LIBFUZZER
#include "../support/fuzz_replay.h"

int main(int argc, char **argv)
{
    int files;
    int failed = kmrig_fuzz_replay(argc, argv, "fuzz_rom", 60, NULL, &files);
    printf("fuzz_rom: replayed %d input(s)\n", files);
    return failed || files == 0;
}
#endif

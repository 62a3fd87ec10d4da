/*
 * Fuzz target for the .reg parser (kmrig_registry_load_buffer): any bytes, any encoding. Each
 * input is loaded into one runtime instance (so later inputs also exercise deletion of what
 * earlier ones created) and, when it loads, the hive is saved and reloaded to check that the
 * writer's output always parses.
 *
 * Built as a libFuzzer target with clang (-fsanitize=fuzzer); with any other compiler main()
 * below replays every file of the corpus directories given on the command line (a ctest).
 */
#include <kmrig/registry.h>
#include <kmrig/runtime.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static kmrig_runtime *rt;
static char save_path[64];

static void quiet(void *ctx, enum kmrig_log_level level, const char *msg)
{
    (void)ctx, (void)level, (void)msg;
}

static void setup(void)
{
    if (rt)
        return;
    kmrig_config cfg;
    kmrig_config_init(&cfg);
    cfg.processors = 1;
    cfg.log_fn = quiet;
    if (kmrig_runtime_create(&cfg, &rt) != 0)
        abort();
    snprintf(save_path, sizeof save_path, "/tmp/kmrig-fuzz-reg-%d.reg", (int)getpid());
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    if (kmrig_registry_load_buffer(rt, data, size, "fuzz.reg", "HKEY_LOCAL_MACHINE\\SOFTWARE") ==
        0) {
        if (kmrig_registry_save(rt, save_path, "HKEY_LOCAL_MACHINE\\SOFTWARE") != 0)
            abort();
        if (kmrig_registry_load(rt, save_path, NULL) != 0)
            abort(); /* what we write must always read back */
        unlink(save_path);
    }
    return 0;
}

#ifndef KMRIG_LIBFUZZER
#include "../support/fuzz_replay.h"

int main(int argc, char **argv)
{
    int files;
    int failed = kmrig_fuzz_replay(argc, argv, "fuzz_reg", 60, NULL, &files);
    if (rt)
        kmrig_runtime_destroy(rt);
    printf("fuzz_reg: replayed %d input(s)\n", files);
    return failed || files == 0;
}
#endif

/* fuzz_replay.h - the replay driver of a fuzz target built without libFuzzer (the ctest of its
 * checked-in corpus): runs LLVMFuzzerTestOneInput on every file named on the command line and on
 * every file of a named directory, each under an alarm so that a hang fails the test too.
 * Include it once, at the end of the target, under #ifndef KMRIG_LIBFUZZER. */
#ifndef KMRIG_FUZZ_REPLAY_H
#define KMRIG_FUZZ_REPLAY_H

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int kmrig_fuzz_replay_file(const char *name, const char *path, unsigned timeout_s,
                                  const char **current)
{
    static uint8_t buf[1 << 20];
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "%s: cannot open %s\n", name, path);
        return 1;
    }
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    if (current)
        *current = path;
    alarm(timeout_s);
    LLVMFuzzerTestOneInput(buf, n);
    alarm(0);
    return 0;
}

/* Replays argv[1..]; stores how many inputs ran in *files and returns how many could not be
 * read. name prefixes messages; *current (if given) names the input being run, for a target's
 * own failure messages; timeout_s of 0 means no alarm. */
static int kmrig_fuzz_replay(int argc, char **argv, const char *name, unsigned timeout_s,
                             const char **current, int *files)
{
    int failed = 0;
    *files = 0;
    for (int i = 1; i < argc; i++) {
        DIR *d = opendir(argv[i]);
        if (!d) {
            failed += kmrig_fuzz_replay_file(name, argv[i], timeout_s, current);
            ++*files;
            continue;
        }
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.')
                continue;
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", argv[i], e->d_name);
            failed += kmrig_fuzz_replay_file(name, path, timeout_s, current);
            ++*files;
        }
        closedir(d);
    }
    if (*files == 0)
        fprintf(stderr, "%s: no corpus files given\n", name);
    return failed;
}

#endif

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * replay.c - the `make check` side of a fuzz target: feed it every file
 * of corpus/NAME/ (the seeds) and regress/NAME/ (inputs that once crashed
 * it), built with the normal compiler and sanitizers, no libFuzzer.
 *
 * FUZZ_DIR and FUZZ_NAME come from the Makefile. A crash or a broken
 * invariant aborts, which fails the test; so does an empty corpus (a
 * wrong path must not pass as "nothing to do").
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

#define REPLAY_MAX (1024 * 1024)         /* libFuzzer's default -max_len is far below */

/* replay_dir - every regular file of dir through the target; the count, or -1 */
static long
replay_dir(const char *dir, int must_exist)
{
    DIR    *d = opendir(dir);
    struct dirent *e;
    long    n = 0;

    if (d == NULL) {
        if (!must_exist && errno == ENOENT)
            return 0;
        fprintf(stderr, "replay %s: %s: %s\n", FUZZ_NAME, dir, strerror(errno));
        return -1;
    }
    while ((e = readdir(d)) != NULL) {
        char    path[4096];
        struct stat st;
        unsigned char *buf;
        size_t  len;
        FILE   *fp;

        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > REPLAY_MAX)
            continue;
        if ((fp = fopen(path, "rb")) == NULL || (buf = malloc((size_t) st.st_size + 1)) == NULL) {
            fprintf(stderr, "replay %s: %s: cannot read\n", FUZZ_NAME, path);
            closedir(d);
            return -1;
        }
        len = fread(buf, 1, (size_t) st.st_size, fp);
        fclose(fp);
        LLVMFuzzerTestOneInput(buf, len);
        free(buf);
        n++;
    }
    closedir(d);
    return n;
}

int
main(void)
{
    long    seeds = replay_dir(FUZZ_DIR "/corpus/" FUZZ_NAME, 1);
    long    regress = seeds < 0 ? -1 : replay_dir(FUZZ_DIR "/regress/" FUZZ_NAME, 0);

    if (seeds < 0 || regress < 0)
        return EXIT_FAILURE;
    printf("replay %s: %ld corpus and %ld regression inputs, no crash\n", FUZZ_NAME, seeds,
           regress);
    if (seeds == 0) {
        fprintf(stderr, "replay %s: no corpus files in %s/corpus/%s\n", FUZZ_NAME, FUZZ_DIR,
                FUZZ_NAME);
        return EXIT_FAILURE;
    }
    return EXIT_SUCCESS;
}

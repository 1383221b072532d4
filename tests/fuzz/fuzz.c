/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz.c - memory files and strings for the fuzz targets (fuzz.h).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"

#define FUZZ_SLOTS 4

static int slot_fd[FUZZ_SLOTS] = {-1, -1, -1, -1};
static char slot_path[FUZZ_SLOTS][64];

/* fuzz_fail - report a broken invariant and abort (libFuzzer keeps the input) */
void
fuzz_fail(const char *what, const char *file, int line)
{
    fprintf(stderr, "%s:%d: invariant failed: %s\n", file, line, what);
    abort();
}

/* fuzz_file - rewrite slot's memory file with data; its /proc path */
const char *
fuzz_file(int slot, const uint8_t *data, size_t size)
{
    fuzz_check(slot >= 0 && slot < FUZZ_SLOTS);
    if (slot_fd[slot] < 0) {
        slot_fd[slot] = memfd_create("redgrey-fuzz", 0);
        fuzz_check(slot_fd[slot] >= 0);
        snprintf(slot_path[slot], sizeof(slot_path[slot]), "/proc/self/fd/%d", slot_fd[slot]);
    }
    fuzz_check(ftruncate(slot_fd[slot], 0) == 0);
    fuzz_check(size == 0 || pwrite(slot_fd[slot], data, size, 0) == (ssize_t) size);
    return slot_path[slot];
}

/* fuzz_str - a NUL-terminated copy */
char   *
fuzz_str(const uint8_t *data, size_t size)
{
    char   *s = malloc(size + 1);

    fuzz_check(s != NULL);
    if (size > 0)
        memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

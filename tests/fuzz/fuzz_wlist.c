/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_wlist.c - whitelist files (wlist.c): the input is loaded as a list
 * of each of the four kinds, from a memory file; the lookups then run on
 * the input's own lines.
 *
 * Invariants: a refused file has a reason; a loaded client list matches
 * the first address of each of its lines that parse as a block.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "netblock.h"
#include "wlist.h"

#define LINES_MAX 32

/* lookups - every lookup on each line of s, and the client-list invariant */
static void
lookups(const struct wlist *w, enum wlist_kind kind, char *s)
{
    char   *line, *next;
    int     n = 0;

    for (line = s; line != NULL && n < LINES_MAX; line = next, n++) {
        struct netblock nb;
        char    err[128];

        if ((next = strchr(line, '\n')) != NULL)
            *next++ = '\0';
        if (kind == WLIST_CLIENTS && netblock_parse(line, &nb, err, sizeof(err)) >= 0)
            fuzz_check(wlist_client_addr(w, &nb.addr));
        wlist_client_name(w, line, 1);
        wlist_client_name(w, line, 0);
        wlist_recipient(w, line);
        wlist_sender_domain(w, line, 1);
        if (next != NULL)
            next[-1] = '\n';
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_file(0, data, size);
    char   *s = fuzz_str(data, size);

    for (int kind = 0; kind < WLIST_NKINDS; kind++) {
        struct wlist *w = wlist_new();
        char    err[512] = "";

        fuzz_check(w != NULL);
        if (wlist_load_file(w, (enum wlist_kind) kind, path, err, sizeof(err)) < 0) {
            fuzz_check(err[0] != '\0');
            wlist_unref(w);
            continue;
        }
        wlist_finish(w);
        (void) wlist_size(w, (enum wlist_kind) kind);
        if (memchr(data, '\0', size) == NULL)
            lookups(w, (enum wlist_kind) kind, s);
        wlist_unref(w);
    }
    free(s);
    return 0;
}

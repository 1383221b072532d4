/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cfg_check.c - the rules between keys, checked once the whole file is
 * read (a single key's rules are its setter's, in cfg_set.c). The error
 * names the line of the key the rule is about.
 *
 * The one rule today: retry_window must be longer than delay, or no
 * retry could ever pass.
 */
#include "config.h"

#include <stdio.h>

#include "cfg_priv.h"

/*
 * cfg_check_cross - rules between keys, once the whole file is read.
 * seen[] holds the line of each key in the file (0 = not set there).
 */
int
cfg_check_cross(const struct cfg *cfg, const char *path, const unsigned *seen,
                char *err, size_t errlen)
{
    const struct cfg_key *rw = cfg_keys_find("retry_window"), *dl = cfg_keys_find("delay");
    unsigned line = seen[rw - cfg_keys] ? seen[rw - cfg_keys] : seen[dl - cfg_keys];
    char    a[32], b[32];

    if (cfg->retry_window > cfg->delay)
        return 0;
    snprintf(err, errlen, "%s:%u: retry_window (%s) must be longer than delay (%s)",
             path, line, cfg_format_secs(cfg->retry_window, a, sizeof(a)),
             cfg_format_secs(cfg->delay, b, sizeof(b)));
    return -1;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cfg_check.c - the rules between keys, checked once the whole file is
 * read (a single key's rules are its setter's, in cfg_set.c). The error
 * names the line of the key the rule is about.
 *
 * retry_window must be longer than delay (and delay_listed), or no
 * retry could ever pass; dnswl_threshold must be below dnsbl_threshold.
 */
#include "config.h"

#include <stdio.h>

#include "cfg_priv.h"
#include "dnsbl_sites.h"

/* cfg_check_line - the line of key in the file, else of other (0: neither set) */
static unsigned
cfg_check_line(const unsigned *seen, const char *key, const char *other)
{
    const struct cfg_key *a = cfg_keys_find(key), *b = cfg_keys_find(other);

    return seen[a - cfg_keys] ? seen[a - cfg_keys] : seen[b - cfg_keys];
}

/*
 * cfg_check_dnsbl - the DNS-list rules: dnswl_threshold below
 * dnsbl_threshold (else one score would be both), delay_listed shorter
 * than retry_window (else a listed client could never pass).
 */
static int
cfg_check_dnsbl(const struct cfg *cfg, const char *path, const unsigned *seen,
                char *err, size_t errlen)
{
    char    why[200], a[32], b[32];

    if (dnsbl_thresholds_check(cfg->dnsbl_threshold, cfg->dnswl_threshold, why,
                               sizeof(why)) != 0) {
        snprintf(err, errlen, "%s:%u: %s", path,
                 cfg_check_line(seen, "dnswl_threshold", "dnsbl_threshold"), why);
        return -1;
    }
    if (cfg->retry_window > cfg->delay_listed)
        return 0;
    snprintf(err, errlen, "%s:%u: retry_window (%s) must be longer than delay_listed (%s)",
             path, cfg_check_line(seen, "delay_listed", "retry_window"),
             cfg_format_secs(cfg->retry_window, a, sizeof(a)),
             cfg_format_secs(cfg->delay_listed, b, sizeof(b)));
    return -1;
}

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

    if (cfg_check_dnsbl(cfg, path, seen, err, errlen) != 0)
        return -1;
    if (cfg->retry_window > cfg->delay)
        return 0;
    snprintf(err, errlen, "%s:%u: retry_window (%s) must be longer than delay (%s)",
             path, line, cfg_format_secs(cfg->retry_window, a, sizeof(a)),
             cfg_format_secs(cfg->delay, b, sizeof(b)));
    return -1;
}

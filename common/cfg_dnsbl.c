/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cfg_dnsbl.c - the dnsbl_sites setter (see cfg_dnsbl.h): the list is
 * parsed whole when the configuration is read, so that a bad item stops
 * redgrey -t and a reload, not the first DNS check.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "cfg_dnsbl.h"
#include "dnsbl_sites.h"
#include "xalloc.h"

/* cfg_set_dnsbl_sites - see the header */
int
cfg_set_dnsbl_sites(struct cfg *cfg, const struct cfg_key *k, const char *value, char *err,
                    size_t errlen)
{
    struct dnsbl_sites *sites = xmalloc(sizeof(*sites));     /* ~14 KB: not on the stack */
    char    why[256];
    int     rc = dnsbl_sites_parse(value, sites, why, sizeof(why));

    free(sites);
    if (rc != 0) {
        snprintf(err, errlen, "%s: %s", k->name, why);
        return -1;
    }
    return cfg_set_string(cfg, k, value, err, errlen);
}

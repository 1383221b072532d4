/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * bigsender.h - the big-sender whitelist as the daemon uses it.
 *
 * The SPF records of a list of big sending domains are expanded (see
 * spf_expand.h) into a netset that is kept in the store, so every node of
 * a cluster uses the same list. Each daemon holds the current set in
 * memory and swaps in a new one atomically when the store has a newer
 * version; lookups take no lock and do not allocate.
 *
 * In the store the set is the blob BIGSENDER_BLOB, as text that a human
 * can read (redgreyctl spf-show prints it):
 *
 *   redgrey-bigsenders 1
 *   expanded 1718000000        unix time of the expansion
 *   status complete            or partial (see spf_expand.h)
 *   blocks 2                   the number of CIDR lines that follow
 *   192.0.2.0/25
 *   2001:db8:77::/48
 *   end
 *
 * Thread-safety: bigsender_contains() and bigsender_count() from any
 * thread at any time; bigsender_install() and bigsender_reset() from any
 * thread (they serialise among themselves, and are meant for the
 * refresher, main and tests); format and parse are pure.
 */
#ifndef REDGREY_BIGSENDER_H
#define REDGREY_BIGSENDER_H

#include <stddef.h>
#include <stdint.h>

#include "ipaddr.h"
#include "netblock.h"

#define BIGSENDER_BLOB  "bigsenders"     /* the store blob holding the set */
#define BIGSENDER_MAGIC "redgrey-bigsenders 1" /* first line of the text */

/* bigsender_contains - 1 if ip is in the current big-sender set, else 0 */
int     bigsender_contains(const struct ipaddr *ip);

/*
 * bigsender_install - make set (finished; ownership passes here) the
 * current set. The previous set is freed only once no lookup can still
 * be reading it.
 */
void    bigsender_install(struct netset *set);

/* bigsender_count - ranges in the current set (0: none loaded) */
size_t  bigsender_count(void);

/* bigsender_count_family - ranges of family (AF_INET, AF_INET6) in the current set */
size_t  bigsender_count_family(int family);

/* bigsender_reset - drop the current set; idempotent; for tests and exit */
void    bigsender_reset(void);

/* What the text says besides its blocks. */
struct bigsender_info {
    int64_t expanded;                    /* unix time of the expansion */
    int     partial;                     /* 1: from a partial expansion */
    size_t  blocks;                      /* CIDR lines */
};

/*
 * bigsender_format - the set as text (see above): a new NUL-terminated
 * buffer the caller frees, its length (without the NUL) in *len. The
 * blocks are the shortest CIDR cover of the set (netset_blocks).
 */
char   *bigsender_format(const struct netset *set, int64_t expanded, int partial, size_t *len);

/*
 * bigsender_parse - text[0..len) back into a new finished set (*out,
 * caller owns) and *info (may be NULL). Anything but the exact shape is
 * refused: a wrong first line, a missing or bad field, a block that is
 * not "address/prefix" or has host bits set, fewer or more blocks than
 * announced, a missing "end", anything after it, a NUL byte, or more than
 * STORE_BLOB_MAX bytes. Returns 0, or -1 with "line N: reason" in err and
 * *out NULL.
 */
int     bigsender_parse(const char *text, size_t len, struct netset **out,
                        struct bigsender_info *info, char *err, size_t errlen);

#endif

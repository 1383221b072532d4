/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * netblock.h - network blocks (address/prefix) and read-only sets of them.
 *
 * A netblock is what redgrey keys a client on (its /24 or /64) and what a
 * whitelist holds. A netset is built once (netset_add, netset_finish) and
 * is read-only afterwards: lookups are a binary search over sorted,
 * merged ranges, IPv4 and IPv6 kept apart, and need no lock.
 *
 * Thread-safety: netblock_* are pure. A netset may be read by any number
 * of threads once netset_finish() returned; building is single-threaded.
 */
#ifndef REDGREY_NETBLOCK_H
#define REDGREY_NETBLOCK_H

#include <stddef.h>

#include "ipaddr.h"

#define NETBLOCK_STRLEN (IPADDR_STRLEN + 4)

struct netblock {
    struct ipaddr addr;                  /* host bits always clear */
    unsigned prefix;                     /* 0..32 or 0..128 */
};

/*
 * netblock_mask - the block of the given prefix that holds ip. A prefix
 * larger than the family's width is clamped to it.
 */
void    netblock_mask(const struct ipaddr *ip, unsigned prefix, struct netblock *out);

/*
 * netblock_parse - parse "a.b.c.d/n", "x:y::/n" or a bare address (a host
 * block). Host bits are cleared. Returns 0, 1 if host bits had to be
 * cleared (callers may warn), or -1 on bad syntax or prefix; on -1 a reason
 * goes into err.
 */
int     netblock_parse(const char *text, struct netblock *out, char *err, size_t errlen);

/* netblock_contains - 1 if ip lies in nb (same family), else 0 */
int     netblock_contains(const struct netblock *nb, const struct ipaddr *ip);

/* netblock_format - "203.0.113.0/24", "2001:db8::/64"; returns buf */
char   *netblock_format(const struct netblock *nb, char *buf, size_t len);

struct netset;

/* netset_new - an empty set; the caller owns it (netset_free) */
struct netset *netset_new(void);

/* netset_add - add a block; only before netset_finish() */
void    netset_add(struct netset *set, const struct netblock *nb);

/* netset_finish - sort and merge; the set is read-only from here on */
void    netset_finish(struct netset *set);

/* netset_contains - 1 if some block of the set holds ip; NULL set: 0 */
int     netset_contains(const struct netset *set, const struct ipaddr *ip);

/* netset_count - number of merged ranges (after finish) */
size_t  netset_count(const struct netset *set);

/* netset_count_family - merged ranges of family (AF_INET, AF_INET6); NULL set: 0 */
size_t  netset_count_family(const struct netset *set, int family);

/*
 * netset_blocks - call fn(nb, arg) for each CIDR block of the shortest
 * list that covers exactly the set's ranges: IPv4 first, then IPv6, in
 * address order. A merged range that is not one CIDR block yields several.
 * For a finished set (an unfinished one yields its unmerged blocks in
 * insertion order). Returns the number of blocks; fn may be NULL to count.
 */
size_t  netset_blocks(const struct netset *set,
                      void (*fn)(const struct netblock *nb, void *arg), void *arg);

/* netset_free - release; NULL is a no-op */
void    netset_free(struct netset *set);

#endif

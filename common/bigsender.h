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
 * Thread-safety: bigsender_contains() from any thread at any time;
 * bigsender_install() from one thread (the refresher) at a time.
 */
#ifndef REDGREY_BIGSENDER_H
#define REDGREY_BIGSENDER_H

#include "ipaddr.h"
#include "netblock.h"

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

/* bigsender_reset - drop the current set; idempotent; for tests and exit */
void    bigsender_reset(void);

#endif

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * bigsender.c - PLACEHOLDER for the big-sender set, so that the milter
 * links before the real module lands: the set is always empty. It keeps
 * the contract of bigsender.h (install takes ownership, reset is
 * idempotent) but holds nothing.
 */
#include "config.h"

#include "bigsender.h"

/* bigsender_contains - the placeholder set holds nothing */
int
bigsender_contains(const struct ipaddr *ip)
{
    (void) ip;
    return 0;
}

/* bigsender_install - take ownership of set and drop it */
void
bigsender_install(struct netset *set)
{
    netset_free(set);
}

/* bigsender_count - always empty */
size_t
bigsender_count(void)
{
    return 0;
}

/* bigsender_reset - nothing to drop */
void
bigsender_reset(void)
{
}

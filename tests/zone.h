/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * zone.h - DNS for the SPF unit tests without a network: libspf2's zone
 * layer filled from a table, and a "slow" layer stacked on another that
 * makes every lookup take a while, to spend a DNS budget.
 *
 * Thread-safety: build the layers in the test's main thread; lookups
 * may then come from any thread, as libspf2's zone layer allows.
 */
#ifndef REDGREY_TEST_ZONE_H
#define REDGREY_TEST_ZONE_H

#include <stddef.h>

#include <netinet/in.h>
#include <spf2/spf.h>
#include <spf2/spf_dns.h>
#include <spf2/spf_dns_zone.h>   /* after spf.h, which it needs */

/* One zone entry; herrno != 0 makes a failing name (data NULL). */
struct zone_rec {
    const char *name;                    /* NULL ends a table early */
    ns_type type;
    int     herrno;
    const char *data;
};

/*
 * zone_new - a zone layer holding the first n recs (fewer if a name is
 * NULL); fails the test if libspf2 refuses one
 */
SPF_dns_server_t *zone_new(const struct zone_rec *recs, size_t n);

/*
 * zone_slow_new - a layer over below that sleeps ms before each lookup;
 * freeing it (SPF_dns_free) frees below too
 */
SPF_dns_server_t *zone_slow_new(SPF_dns_server_t *below, long ms);

#endif

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dnsfront.h - real DNS for the DNS-list tests: an nsd serving test zones
 * on a free loopback port, and "the resolver" in front of it.
 *
 * nsd (Debian's authoritative server) answers the lists' zones. The
 * checker under test is a stub resolver that asks one server for every
 * zone, as production asks the recursive resolver of /etc/resolv.conf;
 * so the test plays that resolver: a UDP socket served by a thread of
 * the test process that forwards each query to nsd and relays its
 * answer, except for names under a "drop" zone (read and never answered:
 * a list that times out) or a "servfail" zone (answered SERVFAIL at once,
 * as a resolver does when a list's servers are broken). The front counts
 * every query it receives, by zone, so a test can see that a cache hit
 * sent none.
 *
 * Thread-safety: nsd_start/nsd_stop in the test's main process (before
 * check forks); dnsfront_start/stop in the forked test; dnsfront_count
 * from any thread.
 */
#ifndef REDGREY_TEST_DNSFRONT_H
#define REDGREY_TEST_DNSFRONT_H

#include <stddef.h>

#include "daemon.h"

/* One zone for nsd: its name and the text of its zone file. */
struct dnsfront_zone {
    const char *name;
    const char *text;
};

/*
 * nsd_start - write nsd.conf and the zone files into a fresh directory,
 * start nsd -d on a free loopback port (UDP and TCP) and wait until it
 * answers. Returns 0 or -1 (its log printed).
 */
int     nsd_start(struct daemon *d, const struct dnsfront_zone *zones, size_t n);

/* nsd_stop - stop nsd and remove its directory; 0 or -1 */
int     nsd_stop(struct daemon *d);

struct dnsfront;

/*
 * dnsfront_start - the front on a free loopback UDP port, forwarding to
 * 127.0.0.1:nsd_port; drop and servfail are NULL-ended zone lists (or
 * NULL). Fails the test if it cannot start.
 */
struct dnsfront *dnsfront_start(int nsd_port, const char *const *drop,
                                const char *const *servfail);

/* dnsfront_port - the UDP port the front listens on */
int     dnsfront_port(const struct dnsfront *f);

/* dnsfront_count - queries received so far for names in zone (NULL: all) */
unsigned dnsfront_count(struct dnsfront *f, const char *zone);

/* dnsfront_distinct - distinct query names received so far in zone */
unsigned dnsfront_distinct(struct dnsfront *f, const char *zone);

/* dnsfront_stop - stop the thread and free f */
void    dnsfront_stop(struct dnsfront *f);

#endif

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dnsbl.h - the DNS list checker: a client's score over the dnsbl_sites
 * zones (dnsbl_sites.h), asked in parallel with c-ares under one deadline,
 * and a bounded per-address cache of the results.
 *
 * One checker per process. dnsbl_check sends the A queries of every zone
 * at once on a c-ares channel taken from a small pool (no lock is held
 * while it waits), processes answers until all are in or the deadline
 * (timeout_ms) passes, then cancels the rest. A zone that gives no answer
 * by the deadline is "timed out"; one that answers SERVFAIL (or REFUSED,
 * or anything but an answer, NXDOMAIN or NODATA) is "failed". Both count
 * as not listed, are reported in the result and counted in the stats.
 *
 * Cache, per client address, of the whole result. Its lifetime: the
 * smallest TTL of the zones' answers -- an A answer's smallest record TTL;
 * a negative answer's SOA per RFC 2308 (min of the SOA record's TTL and
 * its MINIMUM field), or neg_ttl without an SOA -- clamped to
 * [min_ttl, max_ttl], and at most fail_ttl when a zone timed out or
 * failed (0: such results are not cached). At most cache_max entries; when
 * full the least recently used entry goes. Zero cache_max: no cache.
 *
 * Thread-safety: dnsbl_check and dnsbl_stats from any thread at once;
 * dnsbl_new and dnsbl_free from one thread with no check running.
 */
#ifndef REDGREY_DNSBL_H
#define REDGREY_DNSBL_H

#include <stddef.h>
#include <stdint.h>

#include "dnsbl_sites.h"
#include "ipaddr.h"

#define DNSBL_TIMEOUT_MS_DEFAULT 2000
#define DNSBL_CACHE_MAX_DEFAULT  10000
#define DNSBL_MIN_TTL_DEFAULT    60      /* seconds, as postscreen_dnsbl_min_ttl */
#define DNSBL_MAX_TTL_DEFAULT    3600    /* as postscreen_dnsbl_max_ttl */
#define DNSBL_NEG_TTL_DEFAULT    60      /* a negative answer without an SOA */
#define DNSBL_FAIL_TTL_DEFAULT   10      /* a result with a timed-out or failed zone */

struct dnsbl_params {
    const struct dnsbl_sites *sites;     /* copied by dnsbl_new */
    int     timeout_ms;                  /* one deadline for all zones; <= 0: default */
    const char *servers;                 /* NULL/"": /etc/resolv.conf; else
                                          * "127.0.0.1:5353,[::1]:53" */
    size_t  cache_max;                   /* entries (at most 2^24); 0: no cache */
    unsigned min_ttl, max_ttl, neg_ttl, fail_ttl;   /* seconds, see above */
    int64_t (*now_ms)(void);             /* cache clock; NULL: clock_mono_ms */
};

/* The outcome for one client; zone bits index dnsbl_sites.zones. */
struct dnsbl_result {
    int     score;                       /* sum of the weights of the matching sites */
    uint32_t sites;                      /* bit i: site[i] matched */
    uint32_t listed;                     /* bit z: zone z listed the client */
    uint32_t timed_out;                  /* bit z: no answer by the deadline */
    uint32_t failed;                     /* bit z: SERVFAIL or another error */
    long    elapsed_ms;                  /* time spent; 0 for a cache hit */
    int     cached;                      /* 1: from the cache, no query sent */
};

/* Counters since dnsbl_new; each read atomically, not as a set. */
struct dnsbl_stats {
    uint64_t checks, cache_hits, queries, timeouts, failures, evictions;
};

struct dnsbl;

/* dnsbl_params_init - the defaults, no sites, resolv.conf */
void    dnsbl_params_init(struct dnsbl_params *p);

/*
 * dnsbl_new - a checker for p (sites must be set). Returns it, or NULL
 * with the reason in err (c-ares could not start, bad servers list).
 */
struct dnsbl *dnsbl_new(const struct dnsbl_params *p, char *err, size_t errlen);

/* dnsbl_free - stop and free d (NULL is fine); no check may be running */
void    dnsbl_free(struct dnsbl *d);

/*
 * dnsbl_check - the result for ip into out, from the cache or the DNS,
 * within the deadline. Returns 0, or -1 if no query could be sent (out
 * then has every zone failed and score 0: not listed).
 */
int     dnsbl_check(struct dnsbl *d, const struct ipaddr *ip, struct dnsbl_result *out);

/* dnsbl_stats - the counters into out */
void    dnsbl_stats(struct dnsbl *d, struct dnsbl_stats *out);

/* dnsbl_cache_size - entries in the cache now */
size_t  dnsbl_cache_size(struct dnsbl *d);

/*
 * dnsbl_result_format - "score=N listed=z1,z2 timeout=z3 failed=z4 ms=T
 * cached=0|1" for the log line (zone names are checked DNS names, safe as
 * is); "none" for an empty set. Returns buf (cut to len).
 */
char   *dnsbl_result_format(const struct dnsbl *d, const struct dnsbl_result *r, char *buf,
                            size_t len);

/*
 * dnsbl_answer - what the DNS message abuf[0..alen) says for zone of d
 * (a zone index of d's sites; another index gives an empty result): with
 * negative 0 an answer to score (its A records against the zone's sites,
 * a message that does not parse is a failure), else a negative answer
 * whose TTL to take. The result (score, sites, listed, failed) into *out,
 * the TTL in seconds into *ttl (-1: none). The checker's own answer code,
 * public for tests/fuzz/fuzz_dns_answer.c; reads only abuf[0..alen).
 */
void    dnsbl_answer(const struct dnsbl *d, unsigned zone, int negative,
                     const unsigned char *abuf, int alen, struct dnsbl_result *out,
                     int64_t *ttl);

#endif

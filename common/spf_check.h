/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * spf_check.h - per-message SPF check of the client, for SPF-keyed
 * triplets.
 *
 * The question answered is not only "does SPF pass?" but "may this
 * message be keyed on spf:<domain>?": that needs a pass for the MAIL FROM
 * domain (or the HELO name when the sender is <>), and a record that is
 * not over-broad. A record is over-broad when it also passes a probe
 * address no real sender uses (192.0.2.1, 2001:db8::1, plus an optional
 * configured probe such as our own MX), or when it holds a range wider
 * than /8 (IPv4) or /24 (IPv6). That verdict is cached per domain.
 *
 * All DNS of one call shares one time budget (dns_timeout), so a slow or
 * dead resolver costs at most about that long; an exhausted budget shows
 * up as temperror, which never keys.
 *
 * Thread-safety: one struct spf_check is shared by all threads (see
 * spf_check.c for why libspf2 1.2.10 allows it). Calls never hold a lock
 * across DNS.
 */
#ifndef REDGREY_SPF_CHECK_H
#define REDGREY_SPF_CHECK_H

#include <stddef.h>
#include <time.h>

#include <netinet/in.h>
#include <spf2/spf.h>
#include <spf2/spf_dns.h>

#include "ipaddr.h"

#define SPF_CHECK_DOMAIN_MAX 253
#define SPF_CHECK_DNS_TIMEOUT_MS 5000
#define SPF_CHECK_CACHE_SIZE 4096        /* over-broad verdicts kept */
#define SPF_CHECK_CACHE_TTL 3600         /* seconds a verdict is kept */

enum spf_check_result {
    SPF_CHECK_NONE,                      /* no record, no usable identity */
    SPF_CHECK_NEUTRAL,
    SPF_CHECK_PASS,
    SPF_CHECK_FAIL,
    SPF_CHECK_SOFTFAIL,
    SPF_CHECK_TEMPERROR,                 /* DNS failure or budget exhausted */
    SPF_CHECK_PERMERROR,                 /* broken record */
};

struct spf_check_opts {
    int     dns_timeout_ms;              /* whole call; 0 = 5000 */
    const char *dns_servers;             /* NULL = resolv.conf (see spf_resolver.h) */
    const struct ipaddr *probe;          /* extra probe (our MX); NULL = none */
    unsigned cache_size;                 /* 0 = SPF_CHECK_CACHE_SIZE */
    unsigned cache_ttl;                  /* seconds; 0 = SPF_CHECK_CACHE_TTL */
    time_t  (*clock)(void);              /* NULL = time(NULL); tests inject */
};

struct spf_result {
    enum spf_check_result result;        /* libspf2's answer for the identity */
    int     keyable;                     /* pass and not over-broad: key on spf:domain */
    int     overbroad;                   /* pass, but the record is over-broad */
    int     cached;                      /* the over-broad verdict came from the cache */
    int     helo;                        /* 1: the identity is the HELO name (sender <>) */
    char    domain[SPF_CHECK_DOMAIN_MAX + 1];    /* identity checked, lowercase; "" if none */
};

struct spf_check;

/*
 * spf_check_new - a checker. dns is the libspf2 layer to use, and the
 * checker owns it from here on (tests pass a zone layer); NULL means the
 * system resolver, bounded by dns_timeout_ms. Returns NULL with a reason
 * in err. Call before starting threads: it also silences libspf2's
 * warning/info/debug output (process-wide) so that the library never
 * writes to stdout/stderr of the daemon.
 */
struct spf_check *spf_check_new(const struct spf_check_opts *opts, SPF_dns_server_t *dns,
                                char *err, size_t errlen);

/*
 * spf_check_client - check ip against the SPF record of sender_domain, or
 * of helo when sender_domain is NULL or "" (the null sender). Junk input
 * (no identity, malformed names, address literals, a non-IP client) gives
 * SPF_CHECK_NONE without any DNS. A loopback client also gives NONE:
 * libspf2 would pass it for every domain. Returns 0, or -1 only on no
 * memory (out then says TEMPERROR). Never blocks much longer than
 * dns_timeout.
 */
int     spf_check_client(struct spf_check *chk, const struct ipaddr *ip, const char *helo,
                         const char *sender_domain, struct spf_result *out);

/* spf_check_result_name - "pass", "fail", ... for logs */
const char *spf_check_result_name(enum spf_check_result result);

/* spf_check_free - release; NULL is a no-op */
void    spf_check_free(struct spf_check *chk);

#endif

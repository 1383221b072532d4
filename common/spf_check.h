/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * spf_check.h - per-message SPF check of the client, for SPF-keyed
 * triplets.
 *
 * The question answered is not only "does SPF pass?" but "may this
 * message be keyed on spf:<domain>?": that needs a pass for the MAIL FROM
 * sender (or the HELO name when the sender is <>), with the client inside
 * the static set of the domain's record and that set within the caps
 * (spf_guard.h). A static set that holds a probe address no real sender
 * uses (192.0.2.1, 2001:db8::1, plus an optional configured probe such as
 * our own MX) is not keyable either. libspf2 is handed the real envelope
 * sender, local part included, so %{l} and %{s} evaluate as they should.
 * Static sets are cached per domain and results per what the record
 * depends on (spf_guard.h).
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
#include "spf_guard.h"

#define SPF_CHECK_DOMAIN_MAX 253
#define SPF_CHECK_DNS_TIMEOUT_MS 5000
#define SPF_CHECK_CACHE_TTL SPF_GUARD_TTL_MAX    /* seconds a static set is kept at most */

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
    unsigned cache_size;                 /* static sets kept; 0 = SPF_GUARD_SETS_SIZE */
    unsigned results_size;               /* results kept; 0 = SPF_GUARD_RESULTS_SIZE */
    unsigned cache_ttl;                  /* seconds at most; 0 = SPF_CHECK_CACHE_TTL */
    unsigned max_v4_prefix;              /* spf_key_max_v4; 0 = SPF_GUARD_MAX_V4_PREFIX */
    unsigned max_v6_prefix;              /* spf_key_max_v6; 0 = SPF_GUARD_MAX_V6_PREFIX */
    time_t  (*clock)(void);              /* NULL = time(NULL); tests inject */
};

struct spf_result {
    enum spf_check_result result;        /* libspf2's answer for the identity */
    int     keyable;                     /* pass and guard.keyable: key on spf:domain */
    int     cached;                      /* pass: the static set came from the cache */
    int     result_cached;               /* result came from the result cache */
    struct spf_guard_verdict guard;      /* pass: the guard's verdict */
    int     helo;                        /* 1: the identity is the HELO name (sender <>) */
    char    domain[SPF_CHECK_DOMAIN_MAX + 1];    /* identity checked, lowercase; "" if none */
};

/* spf_result_overbroad - 1 if r passed but is not keyable (guard.why says why) */
static inline int
spf_result_overbroad(const struct spf_result *r)
{
    return r->result == SPF_CHECK_PASS && !r->keyable;
}

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
 * spf_check_client - check ip against the SPF record of sender's domain,
 * or of helo when sender is NULL or "" (the null sender). sender is the
 * normalised envelope sender, local@domain (libspf2 sees it whole), or a
 * bare domain (libspf2 then sees postmaster@domain). Junk input
 * (no identity, malformed names, address literals, a non-IP client) gives
 * SPF_CHECK_NONE without any DNS. A loopback client also gives NONE:
 * libspf2 would pass it for every domain. Returns 0, or -1 only on no
 * memory (out then says TEMPERROR). Never blocks much longer than
 * dns_timeout.
 */
int     spf_check_client(struct spf_check *chk, const struct ipaddr *ip, const char *helo,
                         const char *sender, struct spf_result *out);

/* spf_check_guard - the checker's guard (for spf_guard_explain); NULL for NULL */
struct spf_guard *spf_check_guard(struct spf_check *chk);

/* spf_check_result_name - "pass", "fail", ... for logs */
const char *spf_check_result_name(enum spf_check_result result);

/* spf_check_free - release; NULL is a no-op */
void    spf_check_free(struct spf_check *chk);

#endif

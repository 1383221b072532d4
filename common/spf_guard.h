/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * spf_guard.h - may an SPF pass for a domain key the message on
 * spf:DOMAIN? The verdict is made from what the domain's record provably
 * authorises, not from probes.
 *
 * A domain's STATIC SET is every range its record tree authorises with
 * pass terms only: ip4:, ip6:, a and mx (resolved), through include: and
 * redirect= (spf_expand_walk in guard mode, within RFC 7208's limits of
 * 10 DNS-querying terms and 2 void lookups). A pass keys on the domain
 * only when the client lies inside that set and the set's size is within
 * the caps: at most 2^(32 - max_v4_prefix) IPv4 addresses and at most
 * 2^(64 - max_v6_prefix) IPv6 /64s, each family on its own (see
 * redgrey.conf(5), spf_key_max_v4/v6, for the defaults and the big-sender
 * records they come from). Anything else (a pass through +all, exists:,
 * ptr, a target with a macro; a set too wide; a tree past the RFC
 * limits or with a DNS failure; a set that holds a probe address) is
 * still an SPF pass, but netblock-keyed.
 *
 * Two caches, both of fixed size (set-associative, a mutex per set held
 * only to read or write an entry, never across DNS):
 *  - the static set and facts of a domain, for the smallest TTL of the
 *    answers read (at least SPF_GUARD_TTL_MIN, at most ttl_max; ttl_max
 *    when the DNS layer gives no TTL);
 *  - SPF results per (domain, client netblock /24 or /64), or per what
 *    the record depends on instead: the full client address when it has
 *    ptr, a range finer than the netblock (ip4:x/32, a, mx) or an %{i}
 *    macro; the sender when it uses %{l}, %{s} or %{o}; the HELO name
 *    when it uses %{h}. Records with %{p} (or %{c} %{r} %{t}) and trees
 *    the walk did not fully see are not cached; temperror never is.
 *
 * Thread-safety: any thread, one struct spf_guard shared by all.
 */
#ifndef REDGREY_SPF_GUARD_H
#define REDGREY_SPF_GUARD_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <spf2/spf.h>
#include <spf2/spf_dns.h>

#include "ipaddr.h"

#define SPF_GUARD_MAX_V4_PREFIX 10       /* IPv4 set at most one /10: 4194304 addresses */
#define SPF_GUARD_MAX_V6_PREFIX 30       /* IPv6 set at most one /30: 2^34 /64s */
#define SPF_GUARD_SETS_SIZE 1024         /* domains whose static set is kept */
#define SPF_GUARD_RESULTS_SIZE 8192      /* SPF results kept */
#define SPF_GUARD_TTL_MIN 60             /* seconds; a shorter DNS TTL is raised */
#define SPF_GUARD_TTL_MAX 3600           /* seconds; default ttl_max */
#define SPF_GUARD_SENDER_MAX 320         /* bytes of a sender kept in a result key */

/* Why a pass keys as it does: SPF_GUARD_DOMAIN keys on the domain. */
enum spf_guard_why {
    SPF_GUARD_DOMAIN,                    /* inside the static set, set within the caps */
    SPF_GUARD_UNBOUNDED,                 /* outside; the tree has a pass "+all" */
    SPF_GUARD_EXISTS,                    /* outside; a pass exists: */
    SPF_GUARD_MACRO,                     /* outside; a pass term whose target has a macro */
    SPF_GUARD_PTR,                       /* outside; a pass ptr */
    SPF_GUARD_OUTSIDE,                   /* outside, and no term to blame */
    SPF_GUARD_TOO_WIDE,                  /* inside, but a family's set is over its cap */
    SPF_GUARD_LIMIT,                     /* the tree passes RFC 7208's lookup limits */
    SPF_GUARD_DNS,                       /* the walk missed answers (temporary) */
    SPF_GUARD_PROBE,                     /* the static set holds a probe address */
};

struct spf_guard_opts {
    unsigned max_v4_prefix;              /* 1..32; 0 = SPF_GUARD_MAX_V4_PREFIX */
    unsigned max_v6_prefix;              /* 1..64; 0 = SPF_GUARD_MAX_V6_PREFIX */
    unsigned sets_size;                  /* 0 = SPF_GUARD_SETS_SIZE */
    unsigned results_size;               /* 0 = SPF_GUARD_RESULTS_SIZE */
    unsigned ttl_max;                    /* seconds; 0 = SPF_GUARD_TTL_MAX */
    const struct ipaddr *probes;         /* addresses no sender should list */
    int     nprobes;                     /* at most 3 */
    time_t  (*clock)(void);              /* NULL = time(NULL); tests inject */
};

/* The verdict for one client of one domain. */
struct spf_guard_verdict {
    enum spf_guard_why why;
    int     keyable;                     /* why == SPF_GUARD_DOMAIN */
    int     wide_family;                 /* TOO_WIDE: AF_INET or AF_INET6 */
    unsigned wide_prefix;                /* TOO_WIDE: the set is as large as one /N */
    int     cached;                      /* the static set came from the cache */
    uint64_t v4_addrs;                   /* the set's IPv4 addresses (saturates) */
    uint64_t v6_nets;                    /* the set's IPv6 /64s (saturates) */
};

/* What the SPF result of a domain depends on (spf_guard_judge). */
struct spf_guard_deps {
    int     cacheable;                   /* 0: never cache its results */
    int     by_ip;                       /* key by the full client address */
    int     by_sender;                   /* key by the sender too */
    int     by_helo;                     /* key by the HELO name too */
    unsigned ttl;                        /* seconds a result may be kept */
};

struct spf_guard;

/*
 * spf_guard_new - a guard reading DNS through dns (borrowed: it must
 * outlive the guard and have spf_resolver_guard_new() on top). NULL on no
 * memory.
 */
struct spf_guard *spf_guard_new(const struct spf_guard_opts *opts, SPF_dns_server_t *dns);

/*
 * spf_guard_judge - the verdict for ip under domain (lowercase, no
 * trailing dot), and what domain's results depend on. Walks the record
 * (DNS, within the calling thread's deadline) unless its static set is
 * cached. Meant for a pass, but any client may be asked. Returns 0, or
 * -1 on no memory (out then says SPF_GUARD_DNS, deps not cacheable).
 */
int     spf_guard_judge(struct spf_guard *g, const char *domain, const struct ipaddr *ip,
                        struct spf_guard_verdict *out, struct spf_guard_deps *deps);

/*
 * spf_guard_result_get - 1 and *result (an enum spf_check_result) if a
 * live result for this key is cached, else 0. sender and helo may be NULL.
 */
int     spf_guard_result_get(struct spf_guard *g, const struct spf_guard_deps *deps,
                             const char *domain, const struct ipaddr *ip,
                             const char *sender, const char *helo, int *result);

/* spf_guard_result_put - cache result under this key, if deps allow it */
void    spf_guard_result_put(struct spf_guard *g, const struct spf_guard_deps *deps,
                             const char *domain, const struct ipaddr *ip,
                             const char *sender, const char *helo, int result);

/*
 * spf_guard_why_text - the log form: "domain", "unbounded(+all)",
 * "exists", "macro", "ptr", "outside", "too-wide(ip4/5)", "limit",
 * "dns", "probe", into buf (at least 24 bytes); returns buf
 */
char   *spf_guard_why_text(const struct spf_guard_verdict *v, char *buf, size_t len);

/*
 * spf_guard_explain - what `redgreyctl spf-verdict` prints for domain and
 * ip: the static set (walked afresh, the cache left alone), its sizes
 * against the caps, the facts behind the verdict, and the verdict for ip
 * should its SPF check pass. Returns 0 if such a pass keys on the domain,
 * 1 if not.
 */
int     spf_guard_explain(struct spf_guard *g, const char *domain, const struct ipaddr *ip,
                          FILE *out);

/* spf_guard_free - release both caches; NULL is a no-op */
void    spf_guard_free(struct spf_guard *g);

#endif

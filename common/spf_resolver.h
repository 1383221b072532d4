/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * spf_resolver.h - libspf2 DNS layers with a bounded time budget.
 *
 * libspf2 resolves through a stack of SPF_dns_server_t "layers". Its own
 * resolver layer keeps a per-thread res_state behind a private pthread key,
 * so nobody can set that state's timeout: a dead name server costs the
 * glibc default (5 s x 2 attempts per server) per query, and an SPF check
 * makes up to a dozen queries. This module replaces that layer with one of
 * its own that calls the same system resolver (res_nquery on a per-thread
 * res_state that we own), and adds a thin guard layer that can sit on top
 * of any layer (the resolver, or libspf2's zone layer in tests).
 *
 * The time budget is per thread: spf_resolver_deadline_begin() starts it,
 * every lookup of that thread is sized to the time left, and once it has
 * run out lookups answer TRY_AGAIN at once (libspf2 turns that into
 * temperror). No DNS protocol code lives here: queries, retries and
 * parsing are the C library's (res_nquery, ns_initparse, ns_parserr).
 *
 * Thread-safety: any thread. Layers are read-only after creation; the
 * resolver keeps one res_state per thread (pthread key); deadlines are
 * thread-local.
 */
#ifndef REDGREY_SPF_RESOLVER_H
#define REDGREY_SPF_RESOLVER_H

#include <stddef.h>
#include <time.h>

#include <netinet/in.h>
#include <spf2/spf.h>
#include <spf2/spf_dns.h>

#define SPF_RESOLVER_MAX_SERVERS 3       /* MAXNS in resolv.h */

struct spf_resolver_opts {
    int     timeout_ms;                  /* per-query ceiling; 0 = 5000 */
    const char *servers;                 /* NULL/"" = /etc/resolv.conf; else
                                          * "127.0.0.1:5353 192.0.2.53",
                                          * IPv4 only, port optional */
};

/*
 * spf_resolver_new - a layer that queries the system resolver with the
 * time left on the calling thread's deadline (or timeout_ms if less, or if
 * no deadline is running). NO_RECOVERY answers (REFUSED, FORMERR...) are
 * reported as TRY_AGAIN, as RFC 7208 4.4 asks. Returns NULL with a reason
 * in err on a bad servers string. Free with SPF_dns_free() (or let
 * SPF_server_free() do it).
 */
SPF_dns_server_t *spf_resolver_new(const struct spf_resolver_opts *opts,
                                   char *err, size_t errlen);

/*
 * spf_resolver_guard_new - a layer on top of below that (1) answers the
 * obsolete SPF RR type 99 with NO_DATA without asking anyone (upstream
 * libspf2 after 1.2.10 asks for it before TXT; Debian's 1.2.10 asks for
 * TXT only, checked), (2) answers TRY_AGAIN once the
 * calling thread's deadline has passed, and (3) counts lookups for
 * spf_resolver_counters(). Takes ownership of below. NULL on no memory.
 */
SPF_dns_server_t *spf_resolver_guard_new(SPF_dns_server_t *below);

/* Saved deadline state, so that budgets nest (an outer one always wins). */
struct spf_resolver_deadline {
    int     active;                      /* a deadline is running */
    struct timespec until;               /* CLOCK_MONOTONIC */
};

/*
 * spf_resolver_deadline_begin - give this thread's lookups at most
 * budget_ms from now, or less if an outer deadline ends sooner. The
 * previous state goes into saved, for spf_resolver_deadline_end().
 */
void    spf_resolver_deadline_begin(int budget_ms, struct spf_resolver_deadline *saved);

/* spf_resolver_deadline_end - restore the state saved by _begin */
void    spf_resolver_deadline_end(const struct spf_resolver_deadline *saved);

/*
 * spf_resolver_remaining_ms - time left on this thread's deadline: -1 if
 * none is running, 0 if it has passed.
 */
long    spf_resolver_remaining_ms(void);

/*
 * spf_resolver_counters - lookups that went through a guard layer on this
 * thread, and how many of them were cut by the deadline. Counters only
 * grow; callers take differences.
 */
void    spf_resolver_counters(unsigned long *lookups, unsigned long *expired);

#endif

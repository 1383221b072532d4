/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * spf_resolver.h - libspf2 DNS layers with a bounded time budget.
 *
 * libspf2 resolves through a stack of SPF_dns_server_t "layers". Its own
 * resolver layer keeps a per-thread res_state behind a private pthread key,
 * so nobody can set that state's timeout: a dead name server costs the
 * glibc default (5 s x 2 attempts per server) per query, and an SPF check
 * makes up to a dozen queries. This module replaces that layer with one of
 * its own that calls the same system resolver (res_nquery on res_states
 * that we own, from a small pool), and adds a thin guard layer that can
 * sit on top of any layer (the resolver, or libspf2's zone layer in tests).
 *
 * The time budget is per thread: spf_resolver_deadline_begin() starts it,
 * every lookup of that thread is sized to the time left, and once it has
 * run out lookups answer TRY_AGAIN at once (libspf2 turns that into
 * temperror). No DNS protocol code lives here: queries, retries and
 * parsing are the C library's (res_nquery, ns_initparse, ns_parserr).
 *
 * The resolver's states live in a pool, not one per thread: libmilter
 * runs a thread per SMTP connection, and a state per thread would cost an
 * allocation and a read of resolv.conf per connection. A lookup checks a
 * state out for the one query and returns it; the pool grows on demand up
 * to pool_max (a lookup that finds every state busy waits, within its
 * deadline), and frees states idle for pool_idle_ms down to pool_min
 * (looked at as states are returned, so a quiet pool keeps its states).
 *
 * Thread-safety: any thread. Layers are read-only after creation except
 * for the resolver's pool, which has its own mutex (held only to take or
 * return a state, never across DNS); deadlines are thread-local.
 */
#ifndef REDGREY_SPF_RESOLVER_H
#define REDGREY_SPF_RESOLVER_H

#include <stddef.h>
#include <time.h>

#include <netinet/in.h>
#include <spf2/spf.h>
#include <spf2/spf_dns.h>

#include "spf_limits.h"                  /* spf_limits_query_mailfrom: a check the guard limits */

#define SPF_RESOLVER_MAX_SERVERS 3       /* MAXNS in resolv.h */
#define SPF_RESOLVER_POOL_MAX 64         /* default cap on resolver states */
#define SPF_RESOLVER_POOL_MIN 4          /* default floor the pool never shrinks below */
#define SPF_RESOLVER_POOL_IDLE_MS 60000  /* default idle time before a state is freed */

struct spf_resolver_opts {
    int     timeout_ms;                  /* per-query ceiling; 0 = 5000 */
    const char *servers;                 /* NULL/"" = /etc/resolv.conf; else
                                          * "127.0.0.1:5353 192.0.2.53",
                                          * IPv4 only, port optional */
    unsigned pool_max;                   /* states at most; 0 = SPF_RESOLVER_POOL_MAX */
    unsigned pool_min;                   /* never freed below; 0 = SPF_RESOLVER_POOL_MIN
                                          * (capped at pool_max) */
    int     pool_idle_ms;                /* 0 = SPF_RESOLVER_POOL_IDLE_MS; < 0 = free
                                          * idle states above pool_min at once (tests) */
    const char *resolv_conf;             /* file whose change (mtime, inode, size)
                                          * makes states res_ninit() again; NULL =
                                          * _PATH_RESCONF. Tests point it elsewhere;
                                          * res_ninit() itself always reads
                                          * _PATH_RESCONF. */
};

/* What a resolver layer's pool has done (spf_resolver_stats). */
struct spf_resolver_stats {
    unsigned long created;               /* states allocated, ever */
    unsigned long freed;                 /* idle states freed above pool_min */
    unsigned long inits;                 /* res_ninit() calls (first ones and reloads) */
    unsigned long grown;                 /* answer buffers grown to 64 KB */
    unsigned long waits;                 /* lookups that found every state busy */
    unsigned long wait_timeouts;         /* ... and ran out of time waiting */
    unsigned live;                       /* states that exist now */
    unsigned idle;                       /* ... of which not checked out */
    unsigned peak;                       /* most states that existed at once */
};

/*
 * spf_resolver_new - a layer that queries the system resolver with the
 * time left on the calling thread's deadline (or timeout_ms if less, or if
 * no deadline is running). NO_RECOVERY answers (REFUSED, FORMERR...) are
 * reported as TRY_AGAIN, as RFC 7208 4.4 asks, and so is a lookup that
 * finds all pool_max states busy until its time runs out. Answers larger
 * than the state's buffer (8 KB) are asked again with 64 KB. Returns NULL
 * with a reason in err on a bad servers string. Free with SPF_dns_free()
 * (or let SPF_server_free() do it), when no lookup is running.
 */
SPF_dns_server_t *spf_resolver_new(const struct spf_resolver_opts *opts,
                                   char *err, size_t errlen);

/*
 * spf_resolver_stats - the pool counters of the first resolver layer in
 * the stack that starts at layer (guard layers are looked through), for
 * tests and diagnostics. Returns 0, or -1 when the stack has no resolver
 * layer (a zone layer, NULL).
 */
int     spf_resolver_stats(const SPF_dns_server_t *layer, struct spf_resolver_stats *out);

/*
 * spf_resolver_guard_new - a layer on top of below that (1) answers the
 * obsolete SPF RR type 99 with NO_DATA without asking anyone (upstream
 * libspf2 after 1.2.10 asks for it before TXT; Debian's 1.2.10 asks for
 * TXT only, checked), (2) answers TRY_AGAIN once the
 * calling thread's deadline has passed, (3) counts lookups for
 * spf_resolver_counters(), (3b) keeps RFC 7208's lookup and void
 * limits on each check run by spf_limits_query_mailfrom() (spf_limits.h),
 * (4) replaces every SPF record of a TXT answer
 * that fails spf_record_check() by a stand-in libspf2 refuses
 * (permerror), and (5) answers libspf2's explanation requests with a
 * fixed text, so that no remote TXT is ever compiled as an explanation
 * (spf_screen.h says why: CVE-2023-42118). Every stack that libspf2 or
 * spf_expand reads must have a guard on top. Takes ownership of below.
 * NULL on no memory.
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
 * spf_resolver_budget_begin - one time budget for all of a message's SPF
 * work: an outer deadline of budget_ms from now (tightened by an outer
 * one already running) that every check's own deadline (dns_timeout)
 * lies within, so the checks of one message draw from it in turn and a
 * check that finds it spent gives temperror at once. Not nested: one per
 * message, closed by spf_resolver_budget_end() in the same thread.
 */
void    spf_resolver_budget_begin(int budget_ms);

/* spf_resolver_budget_end - end the message's budget (no-op without one) */
void    spf_resolver_budget_end(void);

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

/*
 * spf_resolver_parse - the records of type in the answer section of the
 * DNS message msg[0..len), appended to rr (A, AAAA: the address bytes; MX,
 * PTR: the name; TXT: the character-strings joined). Whatever the bytes,
 * it reads only msg[0..len) and keeps what parses. Returns rr->num_rr.
 * (The resolver layer's parser, public for tests/fuzz/fuzz_dns_answer.c.)
 */
int     spf_resolver_parse(const unsigned char *msg, int len, ns_type type, SPF_dns_rr_t *rr);

#endif

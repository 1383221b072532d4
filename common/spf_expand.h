/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * spf_expand.h - turn a list of big-sender domains into a netset by
 * walking their SPF records (the "postwhite" idea).
 *
 * The walk follows include: and redirect=, adds ip4:/ip6: ranges (host bits
 * cleared and reported), and resolves a, a:dom, a/24, mx, mx:dom/24//64
 * through a libspf2 DNS layer (never a DNS client of our own). What cannot
 * be expanded into fixed ranges - exists:, ptr, macros, non-pass
 * qualifiers - is skipped and reported; malformed terms too. Every problem
 * becomes a counter and, for the first few, a note a human can read.
 *
 * The walk is off the hot path (refresh command, background refresh), with
 * one exception: spf_guard walks a sender's record with opts.guard set, to
 * learn what it provably authorises (its static set) and how its result
 * depends on the client (struct spf_expand_facts). In guard mode the walk
 * follows RFC 7208 4.6.4 (at most SPF_EXPAND_RFC_TERMS DNS-querying terms
 * and SPF_EXPAND_RFC_VOIDS void lookups; beyond, the walk stops and
 * over_limit is set), keeps ranges of any width (the guard measures
 * them), adds a range only when every term on its way is a pass ("+")
 * term, and still reads the records behind non-pass include: terms for
 * their facts (a "-include:" can change the result for a client).
 *
 * Thread-safety: reentrant; a run uses only its own state and the DNS layer
 * it is given (wrap it with spf_resolver_guard_new() for the time budget).
 */
#ifndef REDGREY_SPF_EXPAND_H
#define REDGREY_SPF_EXPAND_H

#include <stddef.h>

#include <netinet/in.h>
#include <spf2/spf.h>
#include <spf2/spf_dns.h>

#include "netblock.h"

#define SPF_EXPAND_NAME_MAX 253          /* a domain name, without the root dot */
#define SPF_EXPAND_NOTES_MAX 64          /* notes kept per run */
#define SPF_EXPAND_NOTE_LEN 200          /* "domain: term: reason" */

/*
 * Defaults. The lookup cap is per listed domain and counts every query
 * (TXT, A, AAAA, MX). RFC 7208's 10 limits *mechanisms* during an
 * evaluation that a stranger triggers; here the list is ours and the walk
 * resolves both address families and every MX host, so an RFC-valid
 * record can need 10 mechanisms x (1 MX + 10 hosts x 2) + 11 TXT = 221
 * queries. 250 allows that and still stops a broken or hostile tree from
 * costing thousands of queries per refresh.
 */
#define SPF_EXPAND_MAX_LOOKUPS 250
#define SPF_EXPAND_MAX_DEPTH 20          /* include/redirect nesting */
#define SPF_EXPAND_MAX_MX 10             /* MX hosts per mx mechanism (RFC 7208 4.6.4) */
#define SPF_EXPAND_TIMEOUT_MS 30000      /* DNS time per listed domain */
#define SPF_EXPAND_MIN_PREFIX_V4 8       /* a wider IPv4 range is "too broad" */
#define SPF_EXPAND_MIN_PREFIX_V6 24      /* a wider IPv6 range is "too broad" */
#define SPF_EXPAND_RFC_TERMS 10          /* RFC 7208 4.6.4: DNS-querying terms */
#define SPF_EXPAND_RFC_VOIDS 2           /* RFC 7208 4.6.4: void lookups */

enum spf_expand_status {
    SPF_EXPAND_COMPLETE,                 /* every answer came; ranges found */
    SPF_EXPAND_PARTIAL,                  /* some DNS failed or a cap hit; ranges found */
    SPF_EXPAND_FAILED,                   /* no range at all */
};

enum spf_expand_note_kind {
    SPF_EXPAND_NOTE_SKIPPED,             /* exists, ptr, macro, non-pass qualifier */
    SPF_EXPAND_NOTE_MALFORMED,           /* bad term, bad record, bad name */
    SPF_EXPAND_NOTE_TOO_BROAD,           /* range wider than min_prefix: dropped */
    SPF_EXPAND_NOTE_HOST_BITS,           /* CIDR had host bits: cleared */
    SPF_EXPAND_NOTE_LOOP,                /* include/redirect back to an ancestor */
    SPF_EXPAND_NOTE_CAP,                 /* lookup cap or depth cap reached */
    SPF_EXPAND_NOTE_DNS,                 /* temporary DNS failure or deadline */
    SPF_EXPAND_NOTE_NO_RECORD,           /* no SPF record (or no such domain) */
};

struct spf_expand_note {
    enum spf_expand_note_kind kind;
    char    text[SPF_EXPAND_NOTE_LEN];   /* "example.com: ptr: not expandable" */
};

struct spf_expand_opts {
    unsigned max_lookups;                /* per listed domain; 0 = default */
    unsigned max_depth;                  /* 0 = default */
    int     timeout_ms;                  /* per listed domain; 0 = default */
    unsigned min_prefix_v4;              /* 0 = default; 1..32 */
    unsigned min_prefix_v6;              /* 0 = default; 1..128 */
    int     no_hosts;                    /* 1: check a/mx CIDRs, resolve nothing */
    int     guard;                       /* 1: guard mode (see the top of this file) */
};

/*
 * What a walk learnt about a record tree beyond its ranges: which pass
 * terms authorise addresses no flat set can hold, and what the result of
 * an evaluation may depend on. "pass_*" count terms reached through pass
 * terms only (they can make a pass); the rest count terms of any
 * qualifier.
 */
struct spf_expand_facts {
    unsigned pass_all;                   /* "+all" (or "all") */
    unsigned pass_exists;                /* "exists:" */
    unsigned pass_ptr;                   /* "ptr" */
    unsigned pass_macro;                 /* include/a/mx/redirect whose target has a macro */
    unsigned macros;                     /* macro letters used anywhere: bit (c - 'a') */
    unsigned ptr;                        /* ptr terms of any qualifier */
    unsigned finest_v4;                  /* longest IPv4 prefix of any range or a/mx CIDR */
    unsigned finest_v6;                  /* ... IPv6 */
    unsigned dns_terms;                  /* include, a, mx, ptr, exists, redirect counted */
    unsigned void_lookups;               /* answers with no data (guard mode) */
    int     over_limit;                  /* guard mode: an RFC limit was passed, walk stopped */
    unsigned min_ttl;                    /* smallest TTL seen in answers; 0 = none given */
};

/* SPF_EXPAND_MACRO - the facts' bit for macro letter c ('a'..'z') */
#define SPF_EXPAND_MACRO(c) (1u << ((c) - 'a'))

struct spf_expand_report {
    unsigned domains;                    /* listed domains walked */
    unsigned domains_empty;              /* ... that gave no range */
    unsigned records;                    /* SPF records read */
    unsigned lookups;                    /* DNS queries made */
    unsigned blocks;                     /* ranges added (before merging) */
    unsigned host_bits;                  /* ranges whose host bits were cleared */
    unsigned skipped;                    /* terms that cannot be expanded */
    unsigned malformed;                  /* bad terms, names, records */
    unsigned too_broad;                  /* ranges dropped for being too wide */
    unsigned loops;                      /* includes back to an ancestor */
    unsigned capped;                     /* walks stopped by a cap */
    unsigned dns_failures;               /* temporary failures, deadline */
    unsigned no_record;                  /* names without an SPF record */
    unsigned nnotes;                     /* notes[] used */
    unsigned notes_dropped;              /* notes beyond SPF_EXPAND_NOTES_MAX */
    struct spf_expand_note notes[SPF_EXPAND_NOTES_MAX];
};

struct spf_expand_result {
    enum spf_expand_status status;
    struct netset *set;                  /* finished, owned; NULL when FAILED */
    struct spf_expand_report report;
};

/*
 * spf_expand_run - walk every domain of the list through dns (borrowed)
 * and fill out: a finished netset (NULL when FAILED), a status and a
 * report. Each listed domain gets opts' lookup cap and DNS time budget.
 * Returns 0, or -1 on bad arguments (NULL dns, domains or out).
 * Release out with spf_expand_result_fini().
 */
int     spf_expand_run(SPF_dns_server_t *dns, const struct spf_expand_opts *opts,
                       const char *const *domains, size_t ndomains,
                       struct spf_expand_result *out);

/* spf_expand_result_fini - free the set; out may be reused; NULL is a no-op */
void    spf_expand_result_fini(struct spf_expand_result *out);

/*
 * spf_expand_walk - walk one domain, adding its ranges to set (which may
 * be NULL: only the report is wanted) and its counts and notes to report.
 * Returns the number of DNS failures and cap hits (0 = the walk saw every
 * answer it asked for; an RFC limit in guard mode counts as a cap hit).
 */
unsigned spf_expand_walk(SPF_dns_server_t *dns, const struct spf_expand_opts *opts,
                         const char *domain, struct netset *set,
                         struct spf_expand_report *report);

/* spf_expand_walk_facts - spf_expand_walk, and what it learnt into *facts (may be NULL) */
unsigned spf_expand_walk_facts(SPF_dns_server_t *dns, const struct spf_expand_opts *opts,
                               const char *domain, struct netset *set,
                               struct spf_expand_report *report, struct spf_expand_facts *facts);

/*
 * spf_expand_name_norm - a lowercase copy of in[0..inlen) without its
 * trailing dot, if it is a host name (hostname_ok); 0, or -1 if bad.
 */
int     spf_expand_name_norm(const char *in, size_t inlen, char out[SPF_EXPAND_NAME_MAX + 2]);

enum spf_expand_decision {
    SPF_EXPAND_KEEP,                     /* keep the old set (or stay without one) */
    SPF_EXPAND_REPLACE,                  /* install the new set */
};

/*
 * spf_expand_decide - PURE: should a new expansion replace the set in use?
 * COMPLETE with ranges replaces; PARTIAL replaces only when there is no
 * old set (something beats nothing); FAILED never replaces, so a DNS
 * outage can never empty a good list.
 */
enum spf_expand_decision spf_expand_decide(enum spf_expand_status status,
                                           size_t new_ranges, int have_old);

/* spf_expand_status_name - "complete", "partial", "failed" */
const char *spf_expand_status_name(enum spf_expand_status status);

/* spf_expand_note_kind_name - "skipped", "malformed", ... */
const char *spf_expand_note_kind_name(enum spf_expand_note_kind kind);

/* A domain list file, loaded. */
struct spf_expand_list {
    char  **domains;                     /* lowercase, no duplicates */
    size_t  count;
};

/*
 * spf_expand_list_load - read a list file: one domain per line, '#'
 * comments, blank lines. A bad line is an error "path:line: reason".
 * Returns 0, or -1 with err set (out is then empty).
 */
int     spf_expand_list_load(const char *path, struct spf_expand_list *out,
                             char *err, size_t errlen);

/* spf_expand_list_fini - free the list; NULL is a no-op */
void    spf_expand_list_fini(struct spf_expand_list *list);

#endif

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * spf_limits.h - RFC 7208 4.6.4's limits on one SPF evaluation, kept in
 * the project's DNS layer (the guard, spf_resolver_guard_new) instead of
 * late by libspf2.
 *
 * libspf2 1.2.10 counts DNS mechanisms per record chain, not per check
 * (an include: starts a new count), checks the count before the next
 * mechanism (so the 11th lookup is still evaluated: a match there is a
 * pass), and has no void-lookup limit at all. Here, within one check:
 *
 *  - a term that queries DNS (include, a, mx, ptr, exists, redirect) is
 *    one DNS query that is not the check's first TXT query (the record
 *    itself) and not an address lookup of a name the previous MX or PTR
 *    answer gave (those are part of their mx/ptr term). The 11th fails.
 *  - a void lookup is such a term whose answer is NXDOMAIN or empty. The
 *    3rd fails.
 *
 * "Fails" means the guard answers without asking anyone: a TXT query
 * (include:, redirect=) with NXDOMAIN, which libspf2 itself turns into
 * permerror (include of a domain without a record, RFC 7208 5.2); any
 * other query with TRY_AGAIN, on which libspf2 stops evaluating at once
 * with temperror, because no answer to an a/exists lookup makes it give
 * permerror. spf_limits_query_mailfrom() then sets the result to
 * permerror (SPF_E_BIG_DNS), and every later lookup of that check fails
 * too. A check whose lookups were cut by the time budget (spf_resolver.h)
 * comes out temperror, even if libspf2 got to a result without them.
 *
 * Known overcount: libspf2 resolves the %{p} macro with a PTR query of
 * its own, which counts here as a term.
 *
 * Thread-safety: the state is thread-local; one check at a time per
 * thread (a check nested in another saves and restores the outer one).
 */
#ifndef REDGREY_SPF_LIMITS_H
#define REDGREY_SPF_LIMITS_H

#include <netinet/in.h>
#include <spf2/spf.h>
#include <spf2/spf_dns.h>

#define SPF_LIMITS_TERMS 10              /* DNS-querying terms per check (RFC 7208 4.6.4) */
#define SPF_LIMITS_VOIDS 2               /* void lookups per check (ditto, SHOULD) */
#define SPF_LIMITS_NAMES 10              /* address lookups of one mx/ptr answer */

/* What one check did (spf_limits_last). */
struct spf_limits_report {
    unsigned terms;                      /* DNS-querying terms asked */
    unsigned voids;                      /* ... of which void */
    int     over_terms;                  /* 1: the term limit failed the check */
    int     over_voids;                  /* 1: the void limit failed the check */
    int     cut;                         /* 1: the time budget cut a lookup */
};

/*
 * spf_limits_query_mailfrom - SPF_request_query_mailfrom(req, resp) as
 * one check under the limits above: permerror in *resp when a limit was
 * reached, temperror when the time budget cut a lookup. Returns what
 * libspf2 returned, or SPF_E_BIG_DNS / SPF_E_DNS_ERROR after such a change.
 */
SPF_errcode_t spf_limits_query_mailfrom(SPF_request_t *req, SPF_response_t **resp);

/* spf_limits_last - the report of this thread's last finished check */
void    spf_limits_last(struct spf_limits_report *out);

/*
 * spf_limits_before - for the guard, before it asks the layer below for
 * (domain, type): 0 to ask, or the herrno to answer at once (a limit has
 * been reached). Outside a check, always 0.
 */
int     spf_limits_before(const char *domain, ns_type type);

/*
 * spf_limits_after - for the guard, with the answer rr to the lookup it
 * just asked: counts a void answer, and turns rr into the failure when
 * it is one void too many; notes the names of an MX or PTR answer.
 */
void    spf_limits_after(SPF_dns_rr_t *rr, ns_type type);

#endif

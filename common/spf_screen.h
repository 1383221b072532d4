/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * spf_screen.h - what the guard layer (spf_resolver_guard_new) does so
 * that no remote text reaches a libspf2 compiler unchecked.
 *
 * libspf2 1.2.10 compiles two kinds of text it gets from DNS: the SPF
 * record of each domain it evaluates (SPF_record_compile), and, after a
 * fail, the TXT record that exp= names (SPF_record_compile_macro). Both
 * overflow a stack buffer on a macro-heavy input (CVE-2023-42118).
 *
 *  - Every TXT answer that passes the guard is screened: a string that is
 *    an SPF record (spf_record_is_spf) but fails spf_record_check() is
 *    replaced by SPF_SCREEN_STANDIN, a record with an unknown mechanism.
 *    libspf2 then refuses to compile it, so the domain's result is
 *    permerror (through include: and redirect= too), as RFC 7208 4.6
 *    asks for a syntax error; spf_expand reports the term as malformed.
 *    The count of SPF records in the answer is unchanged, so "two
 *    records" still gives permerror. Other TXT strings are left alone:
 *    libspf2 only compiles those as explanations, which the next point
 *    takes away.
 *  - Explanations are never fetched: the guard answers libspf2's
 *    get_exp with a fixed text and no lookup. redgrey never shows an
 *    explanation (it never rejects on SPF), and RFC 7208 6.2 makes
 *    fetching it optional.
 *
 * A rejection is logged at warning level, the domain and the text
 * quoted with anything unprintable escaped, at most once every
 * SPF_SCREEN_LOG_INTERVAL seconds; the next line says how many were not
 * logged in between.
 *
 * Thread-safety: any thread (the log limiter has its own lock).
 */
#ifndef REDGREY_SPF_SCREEN_H
#define REDGREY_SPF_SCREEN_H

#include <stddef.h>

#include <netinet/in.h>
#include <spf2/spf.h>
#include <spf2/spf_dns.h>

#define SPF_SCREEN_STANDIN      "v=spf1 redgrey-invalid-record"
#define SPF_SCREEN_EXPLANATION  "explanation not fetched"
#define SPF_SCREEN_LOG_INTERVAL 10       /* seconds between rejection lines */

/*
 * spf_screen_answer - screen rr, the TXT answer for domain, in place (see
 * above). Returns the number of records replaced. Should a stand-in not
 * fit (no memory), the answer becomes TRY_AGAIN with no records.
 */
int     spf_screen_answer(SPF_dns_rr_t *rr, const char *domain);

/* spf_screen_rejected - records replaced so far, in this process */
unsigned long spf_screen_rejected(void);

/*
 * spf_screen_get_exp - SPF_dns_server_t.get_exp: SPF_SCREEN_EXPLANATION
 * into *buf (grown as needed), no lookup. SPF_E_SUCCESS or SPF_E_NO_MEMORY.
 */
SPF_errcode_t spf_screen_get_exp(SPF_server_t *server, const char *domain, char **buf,
                                 size_t *buflen);

#endif

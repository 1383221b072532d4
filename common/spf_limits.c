/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * spf_limits.c - RFC 7208's lookup and void-lookup limits on one SPF
 * check, counted per thread by the guard layer (spf_limits.h says what
 * counts and how a check fails).
 *
 * How libspf2 1.2.10 turns an answer into a result (spf_interpret.c,
 * spf_server.c; tests/check_spf_limits.c checks each): TRY_AGAIN on any
 * lookup of a mechanism is temperror at once; on the domain's own record
 * it is "(invalid)" with SPF_E_DNS_ERROR. NXDOMAIN or no data on an
 * include:/redirect= target is permerror, on an a/mx/exists lookup it is
 * no match and evaluation goes on. Nothing a DNS layer can answer to an
 * a or exists lookup gives permerror, hence the rewrite of the response
 * in spf_limits_query_mailfrom().
 */
#include "config.h"

#include <string.h>

#include <arpa/nameser.h>
#include <netdb.h>

#include "ascii.h"
#include "spf_limits.h"
#include "spf_resolver.h"

#define NAME_MAX_LEN 255                 /* longest host name kept */

/* One check's state. */
struct check {
    int     active;                      /* a check runs on this thread */
    int     top_seen;                    /* the record's own TXT query was asked */
    int     in_term;                     /* the lookup in flight is a term */
    struct spf_limits_report rep;
    unsigned npending, next;             /* names of the last MX/PTR answer, next expected */
    char    pending[SPF_LIMITS_NAMES][NAME_MAX_LEN + 1];
};

static _Thread_local struct check tl_check;
static _Thread_local struct spf_limits_report tl_last;

/* name_eq - 1 if host names a and b are the same (case, one trailing dot aside) */
static int
name_eq(const char *a, const char *b)
{
    size_t  la = strlen(a), lb = strlen(b);

    if (la > 0 && a[la - 1] == '.')
        la--;
    if (lb > 0 && b[lb - 1] == '.')
        lb--;
    return la == lb && ascii_ncasecmp(a, b, la) == 0;
}

/* fail_herrno - how a lookup of type fails past a limit (see the header) */
static int
fail_herrno(ns_type type)
{
    return type == ns_t_txt ? HOST_NOT_FOUND : TRY_AGAIN;
}

/* spf_limits_before - 0 to ask, or the herrno to answer at once */
int
spf_limits_before(const char *domain, ns_type type)
{
    struct check *c = &tl_check;

    if (!c->active)
        return 0;
    c->in_term = 0;
    if (c->rep.over_terms || c->rep.over_voids)
        return fail_herrno(type);
    if ((type == ns_t_a || type == ns_t_aaaa) && c->next < c->npending
        && name_eq(domain, c->pending[c->next])) {
        c->next++;                       /* an address of the last mx/ptr term */
        return 0;
    }
    c->npending = c->next = 0;
    if (type == ns_t_txt && !c->top_seen) {
        c->top_seen = 1;                 /* the record itself is no term */
        return 0;
    }
    c->in_term = 1;
    if (++c->rep.terms > SPF_LIMITS_TERMS) {
        c->rep.over_terms = 1;
        return fail_herrno(type);
    }
    return 0;
}

/* spf_limits_after - count a void term; keep an MX/PTR answer's names */
void
spf_limits_after(SPF_dns_rr_t *rr, ns_type type)
{
    struct check *c = &tl_check;
    int     i;

    if (!c->active || rr == NULL)
        return;
    if (c->in_term
        && (rr->herrno == HOST_NOT_FOUND || rr->herrno == NO_DATA
            || (rr->herrno == NETDB_SUCCESS && rr->num_rr == 0))
        && ++c->rep.voids > SPF_LIMITS_VOIDS) {
        c->rep.over_voids = 1;
        rr->herrno = fail_herrno(type);
        rr->num_rr = 0;
        return;
    }
    if ((type != ns_t_mx && type != ns_t_ptr) || rr->herrno != NETDB_SUCCESS)
        return;
    for (i = 0; i < rr->num_rr && c->npending < SPF_LIMITS_NAMES; i++) {
        const char *name = type == ns_t_mx ? rr->rr[i]->mx : rr->rr[i]->ptr;
        size_t  len = strlen(name);

        if (len > NAME_MAX_LEN)
            continue;                    /* no such host; its lookup counts as a term */
        memcpy(c->pending[c->npending++], name, len + 1);
    }
}

/* spf_limits_query_mailfrom - one libspf2 check under the limits */
SPF_errcode_t
spf_limits_query_mailfrom(SPF_request_t *req, SPF_response_t **resp)
{
    struct check saved = tl_check;
    unsigned long expired0, expired1;
    SPF_errcode_t err;
    SPF_response_t *r;

    memset(&tl_check, 0, sizeof(tl_check));
    tl_check.active = 1;
    spf_resolver_counters(NULL, &expired0);
    err = SPF_request_query_mailfrom(req, resp);
    spf_resolver_counters(NULL, &expired1);
    tl_last = tl_check.rep;
    tl_last.cut = expired1 > expired0;
    tl_check = saved;

    if ((r = *resp) == NULL)
        return err;
    if (tl_last.over_terms || tl_last.over_voids) {
        r->result = SPF_RESULT_PERMERROR;
        r->reason = SPF_REASON_FAILURE;
        r->err = SPF_E_BIG_DNS;
        SPF_response_add_error(r, SPF_E_BIG_DNS, "more than %d %s", tl_last.over_terms
                               ? SPF_LIMITS_TERMS : SPF_LIMITS_VOIDS, tl_last.over_terms
                               ? "DNS-querying terms" : "void lookups");
        return SPF_E_BIG_DNS;
    }
    if (tl_last.cut && r->result != SPF_RESULT_TEMPERROR) {
        r->result = SPF_RESULT_TEMPERROR;
        r->reason = SPF_REASON_FAILURE;
        r->err = SPF_E_DNS_ERROR;
        SPF_response_add_error(r, SPF_E_DNS_ERROR, "SPF time budget spent");
        return SPF_E_DNS_ERROR;
    }
    return err;
}

/* spf_limits_last - the last check's report */
void
spf_limits_last(struct spf_limits_report *out)
{
    *out = tl_last;
}

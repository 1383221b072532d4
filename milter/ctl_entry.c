/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ctl_entry.c - redgreyctl's commands on one triplet: lookup, pass and
 * delete IP SENDER RECIPIENT.
 *
 * The triplet is made as the milter makes it, with the milter's own
 * code: session.c normalises the addresses and masks the client into
 * its netblock, the configured SPF checker (with the configured
 * resolver) keys an SPF pass on spf:DOMAIN when spf_keying is on, and
 * the whitelist files are loaded by lists.c. lookup then asks
 * decision.c what the milter would answer, with the store's records as
 * they are (policy_decide on a copy; nothing is written). The client's
 * verified name is the MTA's, so the name whitelist cannot be checked
 * here: lookup says so.
 */
#include "config.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bigsender.h"
#include "ctl.h"
#include "ctl_entry.h"
#include "ctl_json.h"
#include "decision.h"
#include "lists.h"
#include "session.h"
#include "spf_shared.h"
#include "store.h"

/* What a command on one triplet works with. */
struct ctl_triplet {
    struct session *s;                   /* the milter's view: facts and triplet */
    const char *ip_text;                 /* as given */
    const char *sender;                  /* as given, for JSON (text shows the escaped form) */
    const char *rcpt;
    int     big_checked;                 /* 1: the big-sender set was consulted */
};

/* ctl_sockaddr - ip as a socket address for session_set_client */
static void
ctl_sockaddr(const struct ipaddr *ip, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    if (ip->family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *) ss;

        in->sin_family = AF_INET;
        memcpy(&in->sin_addr, ip->b, 4);
    } else {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) ss;

        in6->sin6_family = AF_INET6;
        memcpy(&in6->sin6_addr, ip->b, 16);
    }
}

/*
 * ctl_bigsender - 1 if ip is in the stored big-sender set; never with
 * spf_domains = "" (then there is no set, whatever is stored)
 */
static int
ctl_bigsender(const struct ctl *x, const struct ipaddr *ip, int *checked)
{
    struct store_blob_meta meta;
    struct netset *set = NULL;
    char    err[STORE_ERRLEN] = "", *data = NULL;
    size_t  len = 0;
    int     in = 0;

    *checked = 0;
    if (x->c->spf_domains == NULL || x->c->spf_domains[0] == '\0')
        return 0;
    if (store_blob_get(x->st, BIGSENDER_BLOB, &data, &len, &meta, err, sizeof(err))
        != STORE_BLOB_FOUND)
        return 0;
    if (bigsender_parse(data, len, &set, NULL, err, sizeof(err)) == 0) {
        *checked = 1;
        in = netset_contains(set, ip);
        netset_free(set);
    }
    free(data);
    return in;
}

/*
 * ctl_spf - the message's SPF check as the milter makes it (callbacks.c
 * cb_spf): for keying, or for the sender-domain whitelist
 */
static void
ctl_spf(const struct cfg *c, struct session *s, enum mailaddr_kind kind)
{
    const char *identity = kind == MAILADDR_NULL ? s->helo : s->from_domain;
    struct decision_msg *m = &s->facts.msg;

    if (kind == MAILADDR_JUNK || identity[0] == '\0')
        return;
    if (!c->spf_keying && !wlist_sender_domain(s->wl, identity, 1))
        return;
    (void) spf_check_client(spf_shared_get(), &s->ip, s->helo,
                            kind == MAILADDR_NULL ? NULL : s->from_domain, &m->spf);
    m->spf_checked = 1;
    if (m->spf.keyable && c->spf_keying)
        session_set_spf_key(s, m->spf.domain);
    m->wl_sender = wlist_sender_domain(s->wl, m->spf.domain, 1);
}

/*
 * ctl_triplet_make - the milter's triplet and facts for ip, sender,
 * recipient (helo may be NULL). 0, or CTL_TROUBLE after printing why.
 */
static int
ctl_triplet_make(const struct ctl *x, const char *ip_text, const char *sender,
                 const char *rcpt, const char *helo, struct ctl_triplet *out)
{
    struct sockaddr_storage ss;
    struct ipaddr ip;
    struct wlist *wl;
    char    err[CFG_ERRLEN] = "";
    enum mailaddr_kind kind;
    struct session *s;

    memset(out, 0, sizeof(*out));
    out->ip_text = ip_text;
    out->sender = sender;
    out->rcpt = rcpt;
    if (ipaddr_parse(ip_text, &ip) < 0) {
        fprintf(stderr, "redgreyctl: \"%.64s\" is not an IP address\n", ip_text);
        return CTL_TROUBLE;
    }
    if ((wl = lists_load(x->c, err, sizeof(err))) == NULL) {
        fprintf(stderr, "redgreyctl: whitelists: %s\n", err);
        return CTL_TROUBLE;
    }
    if ((s = session_new()) == NULL) {
        wlist_unref(wl);
        fprintf(stderr, "redgreyctl: out of memory\n");
        return CTL_TROUBLE;
    }
    if (spf_shared_get() == NULL && spf_shared_init(x->c, err, sizeof(err)) < 0) {
        session_free(s);
        wlist_unref(wl);
        fprintf(stderr, "redgreyctl: SPF: %s\n", err);
        return CTL_TROUBLE;
    }
    session_use_wlist(s, wl);
    ctl_sockaddr(&ip, &ss);
    session_set_client(s, (const struct sockaddr *) &ss, x->c->netmask_v4, x->c->netmask_v6,
                       x->c->trusted_networks);
    session_set_helo(s, helo);
    s->facts.conn.wl_client = wlist_client_addr(s->wl, &s->ip);
    s->facts.conn.bigsender = ctl_bigsender(x, &s->ip, &out->big_checked);
    session_reset_message(s);
    kind = session_set_sender(s, sender);
    if (decision_skip(&s->facts) == DECISION_REASON_NONE)
        ctl_spf(x->c, s, kind);
    session_set_rcpt(s, rcpt);
    s->facts.wl_rcpt = wlist_recipient(s->wl, s->t.rcpt);
    out->s = s;
    return CTL_OK;
}

/* ctl_triplet_free - release what ctl_triplet_make made */
static void
ctl_triplet_free(struct ctl_triplet *t)
{
    session_free(t->s);
    t->s = NULL;
}

/* ctl_state_name - the grey state as lookup prints it */
static const char *
ctl_state_name(enum store_grey_state state)
{
    switch (state) {
    case STORE_GREY_PENDING:
        return "pending";
    case STORE_GREY_PASSED:
        return "passed";
    case STORE_GREY_ABSENT:
        break;
    }
    return "unknown";
}

/* ctl_lookup_text - lookup's report for a human */
static void
ctl_lookup_text(const struct ctl *x, const struct ctl_triplet *t, const struct store_entry *e,
                const struct policy_params *p, const struct decision_verdict *v)
{
    const struct session *s = t->s;
    const struct decision_msg *m = &s->facts.msg;
    char    a[64], b[64], c[64];

    printf("client %s key %s\n", t->ip_text, s->t.client_key);
    if (m->spf_checked)
        printf("spf %s%s%s%s\n", spf_check_result_name(m->spf.result),
               m->spf.domain[0] ? " domain " : "", m->spf.domain,
               spf_result_overbroad(&m->spf) ? " (over-broad record: not keyed)" : "");
    else
        printf("spf not checked\n");
    printf("sender <%s> recipient <%s>\n", s->from_log, s->to_log);
    switch (e->state) {
    case STORE_GREY_PENDING:
        printf("state pending since %s, passes after %s, forgotten at %s\n",
               ctl_time(e->grey.first_seen, a, sizeof(a)),
               ctl_time(e->grey.first_seen + p->delay, b, sizeof(b)),
               ctl_time(e->grey.expires, c, sizeof(c)));
        break;
    case STORE_GREY_PASSED:
        printf("state passed until %s\n", ctl_time(e->grey.expires, a, sizeof(a)));
        break;
    case STORE_GREY_ABSENT:
        printf("state unknown\n");
        break;
    }
    if (e->has_awl)
        printf("awl count %" PRId64 " of %" PRId64 ", until %s\n", e->awl.count,
               p->awl_threshold, ctl_time(e->awl.expires, a, sizeof(a)));
    else
        printf("awl none%s\n", p->awl_threshold > 0 ? "" : " (awl_threshold = 0)");
    printf("lists trusted %s, whitelist-client %s, whitelist-name not checked (needs the"
           " MTA's verified name), bigsender %s, whitelist-sender %s, whitelist-rcpt %s\n",
           s->facts.conn.trusted ? "yes" : "no", s->facts.conn.wl_client ? "yes" : "no",
           s->facts.conn.bigsender ? "yes" : t->big_checked ? "no" : "no set",
           m->wl_sender ? "yes" : "no", s->facts.wl_rcpt ? "yes" : "no");
    printf("decision %s reason %s%s\n", v->log_action, decision_reason_name(v->reason),
           x->c->mode == CFG_MODE_LEARN ? " (mode learn)" : "");
}

/* ctl_lookup_json - lookup's report as one JSON object */
static void
ctl_lookup_json(const struct ctl *x, const struct ctl_triplet *t, const struct store_entry *e,
                const struct policy_params *p, const struct decision_verdict *v, int rc)
{
    const struct session *s = t->s;
    const struct decision_msg *m = &s->facts.msg;

    printf("{");
    ctl_json_key(stdout, "client");
    ctl_json_str(stdout, t->ip_text);
    printf(",");
    ctl_json_key(stdout, "key");
    ctl_json_str(stdout, s->t.client_key);
    printf(",\"spf\":");
    if (m->spf_checked) {
        printf("{\"result\":");
        ctl_json_str(stdout, spf_check_result_name(m->spf.result));
        printf(",\"domain\":");
        ctl_json_str(stdout, m->spf.domain);
        printf(",\"keyable\":%s}", m->spf.keyable ? "true" : "false");
    } else
        printf("null");
    printf(",\"sender\":");
    ctl_json_str(stdout, t->sender);
    printf(",\"recipient\":");
    ctl_json_str(stdout, t->rcpt);
    printf(",\"state\":");
    ctl_json_str(stdout, ctl_state_name(e->state));
    printf(",\"now\":%" PRId64 ",\"first_seen\":", e->now);
    ctl_json_time(stdout, e->state == STORE_GREY_PENDING ? e->grey.first_seen : 0);
    printf(",\"passes_after\":");
    ctl_json_time(stdout, e->state == STORE_GREY_PENDING ? e->grey.first_seen + p->delay : 0);
    printf(",\"expires\":");
    ctl_json_time(stdout, e->state != STORE_GREY_ABSENT ? e->grey.expires : 0);
    if (e->has_awl)
        printf(",\"awl\":{\"count\":%" PRId64 ",\"threshold\":%" PRId64 ",\"expires\":%" PRId64
               "}", e->awl.count, p->awl_threshold, e->awl.expires);
    else
        printf(",\"awl\":null");
    printf(",\"lists\":{\"trusted\":%s,\"whitelist_client\":%s,\"whitelist_name\":null,"
           "\"bigsender\":%s,\"whitelist_sender\":%s,\"whitelist_rcpt\":%s}",
           s->facts.conn.trusted ? "true" : "false", s->facts.conn.wl_client ? "true" : "false",
           s->facts.conn.bigsender ? "true" : t->big_checked ? "false" : "null",
           m->wl_sender ? "true" : "false", s->facts.wl_rcpt ? "true" : "false");
    printf(",\"mode\":");
    ctl_json_str(stdout, x->c->mode == CFG_MODE_LEARN ? "learn" : "enforce");
    printf(",\"decision\":{\"action\":");
    ctl_json_str(stdout, v->log_action);
    printf(",\"reason\":");
    ctl_json_str(stdout, decision_reason_name(v->reason));
    printf("},\"exit\":%d}\n", rc);
}

/* ctl_entry_lookup - see ctl_entry.h */
int
ctl_entry_lookup(const struct ctl *x, const char *ip, const char *sender, const char *rcpt,
                 const char *helo)
{
    struct ctl_triplet t;
    struct store_entry e;
    struct policy_params p;
    struct decision_config dc;
    struct decision_facts f;
    struct decision_verdict v;
    char    err[STORE_ERRLEN] = "";
    int     rc;

    if ((rc = ctl_triplet_make(x, ip, sender, rcpt, helo, &t)) != CTL_OK)
        return rc;
    if (store_entry_get(x->st, &t.s->t, &e, err, sizeof(err)) < 0) {
        fprintf(stderr, "redgreyctl: lookup: %s\n", err);
        ctl_triplet_free(&t);
        return CTL_TROUBLE;
    }
    /* The milter's decision, on a copy of the records: nothing is written. */
    store_params_get(x->st, &p);
    decision_config_init(&dc, x->c);
    f = t.s->facts;
    decision_make(&dc, &f, &v);
    if (v.action == DECISION_ASK_STORE) {
        policy_decide(&p, e.now, e.state != STORE_GREY_ABSENT ? &e.grey : NULL,
                      e.has_awl ? &e.awl : NULL, &f.policy);
        f.store = DECISION_STORE_ANSWERED;
        decision_make(&dc, &f, &v);
    }
    rc = v.action == DECISION_CONTINUE ? CTL_OK : CTL_NO;
    if (x->json)
        ctl_lookup_json(x, &t, &e, &p, &v, rc);
    else
        ctl_lookup_text(x, &t, &e, &p, &v);
    ctl_triplet_free(&t);
    return rc;
}

/* ctl_entry_change - see ctl_entry.h */
int
ctl_entry_change(const struct ctl *x, int delete, const char *ip, const char *sender,
                 const char *rcpt, const char *helo)
{
    struct ctl_triplet t;
    char    err[STORE_ERRLEN] = "";
    int     rc, existed = 1;

    if ((rc = ctl_triplet_make(x, ip, sender, rcpt, helo, &t)) != CTL_OK)
        return rc;
    if (delete)
        rc = store_entry_delete(x->st, &t.s->t, &existed, err, sizeof(err));
    else
        rc = store_entry_pass(x->st, &t.s->t, err, sizeof(err));
    if (rc < 0) {
        fprintf(stderr, "redgreyctl: %s: %s\n", delete ? "delete" : "pass", err);
        ctl_triplet_free(&t);
        return CTL_TROUBLE;
    }
    if (x->json) {
        printf("{\"key\":");
        ctl_json_str(stdout, t.s->t.client_key);
        printf(",\"sender\":");
        ctl_json_str(stdout, t.sender);
        printf(",\"recipient\":");
        ctl_json_str(stdout, t.rcpt);
        printf(",\"%s\":%s}\n", delete ? "deleted" : "passed", existed ? "true" : "false");
    } else if (delete)
        printf("%s: key %s <%s> <%s>\n", existed ? "deleted" : "not stored",
               t.s->t.client_key, t.s->from_log, t.s->to_log);
    else
        printf("passed: key %s <%s> <%s>: the next attempt passes\n", t.s->t.client_key,
               t.s->from_log, t.s->to_log);
    ctl_triplet_free(&t);
    return existed ? CTL_OK : CTL_NO;
}

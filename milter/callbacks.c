/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * callbacks.c - redgrey's libmilter callbacks: thin glue between the MTA
 * and the store.
 *
 * The callbacks gather facts (client address and verified name, list and
 * big-sender hits, HELO, SASL login, envelope addresses, one SPF result
 * per message, the store's answer) into the session's decision_facts,
 * and apply what decision_make() (common/decision.c, where the whole
 * decision lives) says: the milter answer and its reply, one log line
 * per recipient, the X-Greylist header at eom. This is the only place
 * that logs decisions, and the one summary line per message at its end
 * (eom or abort). Nothing here ever rejects: the worst answer is a
 * tempfail, so a bug or an outage can delay mail but never bounce it.
 *
 * Negotiation asks the MTA for as little as possible: no headers or body,
 * no DATA unless the null sender is greylisted there, no replies to
 * CONNECT, HELO and MAIL (always "continue"), and only the macros the
 * decision and its log lines use.
 *
 * The null sender with null_sender_stage = data: each recipient is still
 * decided (and logged) at RCPT, but a tempfail is only remembered and
 * RCPT answers "continue"; the DATA step then answers with the reply, so
 * a sender-verification callout that quits after RCPT sees no failure
 * (the decision knows to do so only on an MTA with the DATA step).
 *
 * What was negotiated is kept in the session of that connection and
 * nowhere else. A session made after negotiation -- a new connection on
 * an old context (SMFIC_QUIT_NC), or one that had no memory then -- knows
 * nothing of it and takes the safe side: it answers every step (libmilter
 * drops an answer the MTA was told not to expect, never the reverse),
 * adds no header and decides the null sender at RCPT.
 *
 * The session cap (max_sessions_per_client): at CONNECT a client with
 * an IP that greylisting would not skip enters its session in the store,
 * which answers how many it has open across the cluster; over the cap the
 * connection is told 421 and Postfix disconnects it. Every session that
 * entered leaves at close, which libmilter calls once at the end of every
 * connection whatever happened before (abort, tempfail, lost client,
 * QUIT_NC). A store error lets the session in: the cap never refuses
 * mail because of an outage. NR_CONN is not asked for while the cap is
 * on, since the MTA must then wait for the answer to CONNECT.
 *
 * Stopping: once callbacks_stop() has been called no new session is
 * made, so a connection that comes (or comes back) late gets a plain
 * "continue" without touching the store, the whitelists or the
 * configuration; main frees those only when no session is left.
 */
#include "config.h"

#include <libmilter/mfapi.h>
#include <libmilter/mfdef.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/random.h>
#include <unistd.h>

#include "bigsender.h"
#include "callbacks.h"
#include "decision.h"
#include "dnsbl_shared.h"
#include "lists.h"
#include "log.h"
#include "logesc.h"
#include "metrics.h"
#include "reload.h"
#include "sendernorm.h"
#include "session.h"
#include "spf_resolver.h"
#include "spf_shared.h"
#include "suspicious.h"

/*
 * What the callbacks share, set by callbacks_init() before smfi_main().
 * The configuration is not here: each session pins the snapshot current
 * at its start (milter/reload.h) and reads only that one.
 */
static struct store *cb_store;
static char cb_hostname[SESSION_HOST_MAX] = "localhost";
static atomic_int cb_active;             /* sessions attached, not closed */
static atomic_int cb_stopping;           /* set by callbacks_stop(): no new sessions */

/* A store outage is logged once, then at most every 10 s with a count. */
static struct log_limit cb_store_limit = LOG_LIMIT_INIT("store", 10);

/* The session cap: its own rate limit, ids unique across the cluster, its reply. */
static struct log_limit cb_cap_limit = LOG_LIMIT_INIT("session-cap store", 10);
static uint64_t cb_cap_nonce;            /* random, once per process */
static atomic_ullong cb_cap_seq;         /* sessions counted by this process */
static const struct decision_reply cb_cap_reply = {
    "421", "4.7.0", "Too many concurrent connections from your address, try again later",
};

/* The protocol steps whose answer is always "continue". */
#define CB_NR_WANTED (SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_MAIL)

/* The steps redgrey does not need the MTA to send at all. */
#define CB_STEPS_UNWANTED (SMFIP_NODATA | SMFIP_NOHDRS | SMFIP_NOEOH | \
                           SMFIP_NOBODY | SMFIP_NOUNKNOWN)

static sfsistat cb_tempfail(SMFICTX *ctx, const struct decision_reply *r);

/* cb_store_notify - store_notify_fn: an outage's start and end, once each */
static void
cb_store_notify(const char *line)
{
    log_warn("%s", line);
}

/* callbacks_init - the store the callbacks use */
void
callbacks_init(struct store *store)
{
    cb_store = store;
    store_set_notify(store, cb_store_notify);
    if (gethostname(cb_hostname, sizeof(cb_hostname)) != 0 || cb_hostname[0] == '\0')
        strcpy(cb_hostname, "localhost");
    cb_hostname[sizeof(cb_hostname) - 1] = '\0';
    if (getrandom(&cb_cap_nonce, sizeof(cb_cap_nonce), 0) != (ssize_t) sizeof(cb_cap_nonce))
        cb_cap_nonce = (uint64_t) time(NULL) << 20 ^ (uint64_t) getpid();
}

/* callbacks_active - sessions still open */
int
callbacks_active(void)
{
    return atomic_load(&cb_active);
}

/*
 * callbacks_stop - refuse new sessions. Together with cb_session_attach
 * this is the Dekker pattern, in sequentially consistent atomics: the
 * attach counts itself in before it reads the flag, the stop sets the
 * flag before the caller reads the count. So either the attach sees the
 * flag and backs out, or the caller sees the session and waits for it;
 * once callbacks_active() has read 0 after this call, it stays 0.
 */
void
callbacks_stop(void)
{
    atomic_store(&cb_stopping, 1);
}

/* cb_cap_leave - a session that entered the count leaves it; an error is logged, rate-limited */
static void
cb_cap_leave(struct session *s)
{
    char    err[STORE_ERRLEN] = "";

    if (!s->cap_entered)
        return;
    s->cap_entered = 0;
    if (store_session_leave(cb_store, &s->ip, s->cap_id, err, sizeof(err)) != 0)
        log_limit_fail(&cb_cap_limit, err[0] != '\0' ? err : "unknown error");
}

/* cb_session_free - free s, unpin its configuration, count it out */
static void
cb_session_free(struct session *s)
{
    cb_cap_leave(s);
    reload_put(s->snap);
    session_free(s);                     /* and its whitelist reference */
    atomic_fetch_sub(&cb_active, 1);     /* last: main may free everything now */
}

/*
 * cb_session_attach - allocate and attach a session; NULL when stopping
 * or out of memory (the connection is then answered "continue" without
 * greylisting)
 */
static struct session *
cb_session_attach(SMFICTX *ctx)
{
    struct session *s;

    atomic_fetch_add(&cb_active, 1);
    if (atomic_load(&cb_stopping)) {
        atomic_fetch_sub(&cb_active, 1);
        return NULL;
    }
    if ((s = session_new()) == NULL) {
        atomic_fetch_sub(&cb_active, 1);
        log_warn("out of memory for a session: not greylisting this connection");
        return NULL;
    }
    /* The configuration of the whole connection: a reload does not change it. */
    s->snap = reload_get();
    if (s->snap == NULL || smfi_setpriv(ctx, s) != MI_SUCCESS) {
        cb_session_free(s);
        return NULL;
    }
    return s;
}

/*
 * cb_continue - "continue" for a step, or no reply at all when this
 * connection's negotiation told the MTA (SMFIP_NR_*) not to wait for one.
 * libmilter sends nothing for SMFIS_NOREPLY, so a wrong NOREPLY hangs the
 * MTA until its timeout; a "continue" for a no-reply step is turned into
 * no reply by libmilter (which logs it). So NOREPLY only when the session
 * saw the flag granted, "continue" otherwise (no session, or a session
 * made after negotiation).
 */
static sfsistat
cb_continue(const struct session *s, unsigned long nr_bit)
{
    if (s != NULL && (s->nr_flags & nr_bit) != 0)
        return SMFIS_NOREPLY;
    return SMFIS_CONTINUE;
}

/*
 * mlfi_negotiate - choose actions, protocol steps and macros.
 * Parameters: f0/f1 the actions and steps the MTA offers (libmilter adds
 * the NR_* flags it can emulate); pf0..pf3 what redgrey asks for.
 * Return value: SMFIS_CONTINUE (use what pf0 and pf1 point to).
 */
static sfsistat
mlfi_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
               unsigned long f2, unsigned long f3,
               unsigned long *pf0, unsigned long *pf1,
               unsigned long *pf2, unsigned long *pf3)
{
    struct session *s = smfi_getpriv(ctx);
    unsigned long actions = f0 & (SMFIF_ADDHDRS | SMFIF_SETSYMLIST);
    unsigned long steps = f1 & CB_STEPS_UNWANTED;

    (void) f2;
    (void) f3;
    if (s == NULL)
        s = cb_session_attach(ctx);

    /*
     * Without a session (stopping, or no memory) the callbacks cannot
     * remember what was granted, so they answer every step: no NR flag is
     * requested. Nor is the configuration read, which a stopping daemon
     * may be about to free.
     */
    if (s != NULL) {
        s->nr_flags = f1 & CB_NR_WANTED;
        s->facts.mta.can_addheader = (actions & SMFIF_ADDHDRS) != 0;
        /* An MTA that can skip DATA knows the DATA step. */
        s->facts.mta.data_step = (f1 & SMFIP_NODATA) != 0;
        /* The session cap answers CONNECT: the MTA must wait for it. */
        if (s->snap->cfg->max_sessions_per_client > 0)
            s->nr_flags &= ~(unsigned long) SMFIP_NR_CONN;
        steps |= s->nr_flags;
        /* A null-sender tempfail deferred to DATA needs the DATA step. */
        if (s->snap->cfg->null_sender_stage == CFG_NULL_STAGE_DATA)
            steps &= ~(unsigned long) SMFIP_NODATA;
    }

    /* Postfix sends no macros it was not asked for (see smfi_setsymlist). */
    if ((actions & SMFIF_SETSYMLIST) != 0) {
        if (smfi_setsymlist(ctx, SMFIM_CONNECT,
                            "{client_addr} {client_name} {client_resolve} j") != MI_SUCCESS
            || smfi_setsymlist(ctx, SMFIM_ENVFROM, "{auth_authen} i") != MI_SUCCESS
            || smfi_setsymlist(ctx, SMFIM_ENVRCPT, "i") != MI_SUCCESS
            || smfi_setsymlist(ctx, SMFIM_EOM, "i") != MI_SUCCESS)
            log_warn("smfi_setsymlist failed: the MTA may not send the macros redgrey uses");
    }
    *pf0 = actions;
    *pf1 = steps;
    *pf2 = 0;
    *pf3 = 0;
    return SMFIS_CONTINUE;
}

/*
 * cb_client_lists - the list facts of a client with an IP: its address
 * whitelisted, its name whitelisted and verified by the MTA, its address
 * in the big-sender set. Postfix's {client_name} is verified
 * (forward-confirmed) or "unknown"; Sendmail also says {client_resolve},
 * which must then be OK.
 */
static void
cb_client_lists(SMFICTX *ctx, struct session *s)
{
    const char *name = smfi_getsymval(ctx, "{client_name}");
    const char *resolve = smfi_getsymval(ctx, "{client_resolve}");
    int     verified = name != NULL && (resolve == NULL || strcmp(resolve, "OK") == 0);

    s->facts.conn.wl_client = wlist_client_addr(s->wl, &s->ip);
    s->facts.conn.wl_name = wlist_client_name(s->wl, name, verified);
    s->facts.conn.bigsender = bigsender_contains(&s->ip);
}

/*
 * cb_cap_over - count the session of a client greylisting does not skip
 * (the cap on); 1 if it is over max_sessions_per_client (logged, and left
 * at close like any other), 0 to let it in, also on a store error
 */
static int
cb_cap_over(struct session *s)
{
    const struct cfg *cfg = s->snap->cfg;
    char    err[STORE_ERRLEN] = "";
    int     n;

    if (cfg->max_sessions_per_client <= 0 || cb_store == NULL)
        return 0;
    snprintf(s->cap_id, sizeof(s->cap_id), "%016" PRIx64 "-%llx", cb_cap_nonce,
             (unsigned long long) atomic_fetch_add(&cb_cap_seq, 1));
    if ((n = store_session_enter(cb_store, &s->ip, s->cap_id, cfg->session_ttl, err,
                                 sizeof(err))) < 0) {
        log_limit_fail(&cb_cap_limit, err[0] != '\0' ? err : "unknown error");
        metrics_session_cap(-1);
        return 0;
    }
    log_limit_ok(&cb_cap_limit);
    s->cap_entered = 1;
    if (n <= cfg->max_sessions_per_client) {
        metrics_session_cap(0);
        return 0;
    }
    metrics_session_cap(1);
    log_info("NOQUEUE: session-cap client=%s count=%d max=%d action=%s", s->client, n,
             cfg->max_sessions_per_client, cfg->mode == CFG_MODE_LEARN ? "learn" : "tempfail");
    return cfg->mode != CFG_MODE_LEARN;
}

/*
 * cb_client_name - what the client's name says: no verified
 * reverse name ({client_name} unknown, or {client_resolve} not OK), or a
 * verified name that looks dynamic (looked at only with greylist =
 * suspicious and suspicious_dynamic, the one use of it). The DNS lists
 * are not asked here but at the first recipient that reaches the store
 * (cb_dnsbl).
 */
static void
cb_client_name(SMFICTX *ctx, struct session *s)
{
    const char *name = smfi_getsymval(ctx, "{client_name}");
    const char *resolve = smfi_getsymval(ctx, "{client_resolve}");
    const struct cfg *c = s->snap->cfg;
    const char *verified = suspicious_verified_name(name, resolve);

    s->facts.conn.no_rdns = suspicious_no_rdns(name, resolve);
    if (c->greylist == CFG_GREYLIST_SUSPICIOUS && c->suspicious_dynamic && verified != NULL)
        s->facts.conn.dynamic_name = dnsbl_shared_dynamic(verified, &s->ip);
}

/*
 * mlfi_connect - note the client: its address, client key, and the
 * connection's facts (IP or not, trusted network, whitelisted address or
 * verified name, big sender).
 * Parameters: hostname (unused), hostaddr (NULL when the MTA has none).
 * Return value: continue, or no reply when NR_CONN was granted.
 */
static sfsistat
mlfi_connect(SMFICTX *ctx, char *hostname, _SOCK_ADDR *hostaddr)
{
    struct session *s = smfi_getpriv(ctx);

    (void) hostname;

    /*
     * A new connection on an old context (SMFIC_QUIT_NC) comes without a
     * new negotiation, and mlfi_close freed the session that knew what
     * was granted: the new one knows nothing (nr_flags 0) and answers
     * every step, which is always safe.
     */
    if (s == NULL && (s = cb_session_attach(ctx)) == NULL)
        return SMFIS_CONTINUE;
    cb_cap_leave(s);                     /* a second CONNECT on one session: count it once */
    session_set_client(s, hostaddr, s->snap->cfg->netmask_v4, s->snap->cfg->netmask_v6,
                       s->snap->cfg->trusted_networks);
    session_set_host(s, smfi_getsymval(ctx, "j"));
    {
        const char *name = smfi_getsymval(ctx, "{client_name}");

        snprintf(s->client_name, sizeof(s->client_name), "%s", name != NULL ? name : "");
    }
    session_set_helo(s, NULL);
    session_reset_message(s);
    session_use_wlist(s, lists_wlist());
    s->dnsbl_asked = 0;
    s->dnsbl_ms = 0;
    s->dnsbl_zones[0] = '\0';
    /* Without an IP there is nothing to look up; trusted skips anyway. */
    if (decision_skip(&s->facts) == DECISION_REASON_NONE) {
        cb_client_lists(ctx, s);
        cb_client_name(ctx, s);
        /* The same skip rules as greylisting's connection rows. */
        if (decision_skip(&s->facts) == DECISION_REASON_NONE && cb_cap_over(s))
            return cb_tempfail(ctx, &cb_cap_reply);
    }
    return cb_continue(s, SMFIP_NR_CONN);
}

/*
 * mlfi_helo - note the name, the SPF identity of the null sender (the
 * last HELO/EHLO counts); answered only when NR_HELO was not granted.
 * Return value: continue, or no reply.
 */
static sfsistat
mlfi_helo(SMFICTX *ctx, char *helohost)
{
    struct session *s = smfi_getpriv(ctx);

    if (s != NULL)
        session_set_helo(s, helohost);
    return cb_continue(s, SMFIP_NR_HELO);
}

/*
 * cb_spf - the message's one SPF check, when it matters: for keying
 * (spf_keying) or because the sender domain (the HELO name for <>) is on
 * the sender-domain whitelist (which the decision only honours with a
 * keyable pass). A keyable pass (the client inside the static set of a
 * record within the caps, spf_guard.h) keys the message on spf:DOMAIN.
 * libspf2 sees the real sender, local part included. A junk sender is not checked (it is not <>, so
 * the HELO name is not its identity). Takes at most about dns_timeout.
 */
static void
cb_spf(struct session *s, enum mailaddr_kind kind)
{
    const char *identity = kind == MAILADDR_NULL ? s->helo : s->from_domain;
    struct decision_msg *m = &s->facts.msg;

    if (kind == MAILADDR_JUNK || identity[0] == '\0')
        return;
    if (!s->snap->cfg->spf_keying && !wlist_sender_domain(s->wl, identity, 1)
        && !(s->snap->cfg->greylist == CFG_GREYLIST_SUSPICIOUS && s->snap->cfg->suspicious_spf))
        return;
    (void) spf_shared_check_client(&s->ip, s->helo, kind == MAILADDR_NULL ? NULL : s->from_spf,
                                   &m->spf);
    metrics_spf_result(m->spf.result);
    m->spf_checked = 1;
    if (m->spf.keyable && s->snap->cfg->spf_keying)
        session_set_spf_key(s, m->spf.domain);
    m->wl_sender = wlist_sender_domain(s->wl, m->spf.domain, 1);
}

/*
 * mlfi_envfrom - start a message: normalise the sender, note a SASL
 * login, take the current whitelists, check SPF once for all recipients
 * unless the connection or the login already skips greylisting.
 * Parameters: argv[0] the sender as given (with <>), argv[1..] ESMTP args.
 * Return value: continue, or no reply when NR_MAIL was granted.
 */
static sfsistat
mlfi_envfrom(SMFICTX *ctx, char **argv)
{
    struct session *s = smfi_getpriv(ctx);
    enum mailaddr_kind kind;
    const char *auth;

    if (s == NULL)
        return SMFIS_CONTINUE;
    session_reset_message(s);
    session_use_wlist(s, lists_wlist());
    kind = session_set_sender(s, argv != NULL ? argv[0] : NULL);
    s->msg_open = 1;
    metrics_message();
    auth = smfi_getsymval(ctx, "{auth_authen}");
    s->facts.msg.auth = auth != NULL && auth[0] != '\0';
    if (decision_skip(&s->facts) == DECISION_REASON_NONE) {
        spf_resolver_budget_begin(s->snap->cfg->spf_budget_ms);  /* all of its SPF work */
        cb_spf(s, kind);
        spf_resolver_budget_end();
    }
    return cb_continue(s, SMFIP_NR_MAIL);
}

/* cb_tempfail - set the reply r and return a tempfail */
static sfsistat
cb_tempfail(SMFICTX *ctx, const struct decision_reply *r)
{
    /* If the MTA refuses the text, a bare tempfail still delays the mail. */
    (void) smfi_setreply(ctx, (char *) r->code, (char *) r->xcode, (char *) r->text);
    return SMFIS_TEMPFAIL;
}

/*
 * cb_log - the one decision line per recipient, Postfix style:
 * QUEUEID: action=A reason=R client=[IP] key=K from=<S> to=<R>
 * [spf=RESULT] [spf_key=domain|netblock [why=WHY]] [stage=data] [delay=N]
 * [dnsbl_score=N dnsbl=ZONES|- dnsbl_ms=N] [suspicious=dnsbl,no-rdns,...];
 * spf= when the message was checked, spf_key= (and why=) for a pass,
 * stage=data and delay= when the verdict says so, the dnsbl fields when
 * the lists were asked, suspicious= when the verdict names reasons.
 */
static void
cb_log(SMFICTX *ctx, const struct session *s, const struct decision_verdict *v)
{
    const char *qid;
    char    qbuf[64];
    char    dbuf[32] = "";
    char    sbuf[96] = "";
    char    why[40];
    char    lbuf[SESSION_DNSBL_ZONES_MAX + 96] = "", susp[48];

    /* Below log_level info nothing is written: do not build the line. */
    if (!log_wants(LOG_INFO))
        return;
    qid = smfi_getsymval(ctx, "i");

    /* The queue id is unset up to the first accepted RCPT (Postfix). */
    if (qid == NULL || qid[0] == '\0')
        qid = "NOQUEUE";
    else
        qid = logesc_str(qid, qbuf, sizeof(qbuf));
    if (v->delay >= 0)
        snprintf(dbuf, sizeof(dbuf), " delay=%lld", (long long) v->delay);
    if (s->facts.msg.spf_checked && s->facts.msg.spf.result == SPF_CHECK_PASS)
        snprintf(sbuf, sizeof(sbuf), " spf=pass spf_key=%s%s%s",
                 s->facts.msg.spf.keyable ? "domain" : "netblock",
                 s->facts.msg.spf.keyable ? "" : " why=",
                 s->facts.msg.spf.keyable ? "" : spf_guard_why_text(&s->facts.msg.spf.guard, why,
                                                                   sizeof(why)));
    else if (s->facts.msg.spf_checked)
        snprintf(sbuf, sizeof(sbuf), " spf=%s", spf_check_result_name(s->facts.msg.spf.result));
    /* DNS lists: zone names are checked DNS names, safe as they are. */
    if (s->facts.conn.dnsbl_checked)
        snprintf(lbuf, sizeof(lbuf), " dnsbl_score=%d dnsbl=%s dnsbl_ms=%ld",
                 s->facts.conn.dnsbl_score, s->dnsbl_zones[0] != '\0' ? s->dnsbl_zones : "-",
                 s->dnsbl_ms);
    if (v->suspicious != 0) {
        size_t  n = strlen(lbuf);

        snprintf(lbuf + n, sizeof(lbuf) - n, " suspicious=%s",
                 decision_suspicious_format(v->suspicious, susp, sizeof(susp)));
    }
    log_info("%s: action=%s reason=%s client=%s key=%s from=<%s> to=<%s>%s%s%s%s",
             qid, v->log_action, decision_reason_name(v->reason), s->client,
             s->t.client_key[0] != '\0' ? s->t.client_key : "-",
             s->from_log, s->to_log, sbuf, v->log_stage_data ? " stage=data" : "", dbuf, lbuf);
}

/* cb_count - one recipient's verdict into the message's summary counts */
static void
cb_count(struct session *s, const struct decision_verdict *v)
{
    s->rcpts++;
    if (strcmp(v->log_action, "greylist") == 0)
        s->n_greylist++;
    else if (strcmp(v->log_action, "pass") == 0)
        s->n_pass++;
    else
        s->n_accept++;
    if (v->delay > s->largest_delay)
        s->largest_delay = v->delay;
}

/*
 * cb_summary - the one line per message, at its end (eom or abort):
 * QUEUEID: summary client=NAME[IP] helo=HELO from=<S> rcpts=N greylist=N
 * pass=N accept=N key=K delay=N|- end=eom|abort. Every field from the
 * network goes through logesc. Only once per message: the reset after it
 * clears msg_open (Postfix may abort twice).
 */
static void
cb_summary(SMFICTX *ctx, const struct session *s, const char *end)
{
    const char *qid;
    char    qbuf[LOGESC_SIZE(64)], nbuf[LOGESC_SIZE(SESSION_HOST_MAX)];
    char    hbuf[LOGESC_SIZE(SPF_CHECK_DOMAIN_MAX + 1)];
    char    dbuf[32] = "-";

    if (!s->msg_open || !log_wants(LOG_INFO))
        return;
    qid = smfi_getsymval(ctx, "i");
    if (s->largest_delay >= 0)
        snprintf(dbuf, sizeof(dbuf), "%lld", (long long) s->largest_delay);
    log_info("%s: summary client=%s%s helo=%s from=<%s> rcpts=%u greylist=%u pass=%u "
             "accept=%u key=%s delay=%s end=%s",
             qid != NULL && qid[0] != '\0' ? logesc_str(qid, qbuf, sizeof(qbuf)) : "NOQUEUE",
             s->client_name[0] != '\0' ? logesc_str(s->client_name, nbuf, sizeof(nbuf))
             : "unknown", s->client,
             s->helo[0] != '\0' ? logesc_str(s->helo, hbuf, sizeof(hbuf)) : "-",
             s->from_log, s->rcpts, s->n_greylist, s->n_pass, s->n_accept,
             s->t.client_key[0] != '\0' ? s->t.client_key : "-", dbuf, end);
}

/* ---- abuse: greytraps and outbound pairs ---- */

/* cb_qid - the queue id for a log line, escaped into buf, or NOQUEUE */
static const char *
cb_qid(SMFICTX *ctx, char *buf, size_t len)
{
    const char *qid = smfi_getsymval(ctx, "i");

    return qid == NULL || qid[0] == '\0' ? "NOQUEUE" : logesc_str(qid, buf, len);
}

/*
 * cb_outbound - for an authenticated or trusted message, record the
 * recipient (raw, as given) as a correspondent of the sender: the pair
 * its reply's triplet will have (sender and recipient normalised as
 * session.c does for inbound mail). A failure is logged, never fatal.
 */
static void
cb_outbound(SMFICTX *ctx, const struct session *s, const char *raw)
{
    struct triplet pair;
    char    err[STORE_ERRLEN], qbuf[64];

    if (raw == NULL || s->from_spf[0] == '\0'
        || (!s->facts.msg.auth && !s->facts.conn.trusted))
        return;
    memset(&pair, 0, sizeof(pair));
    if (mailaddr_normalize(raw, strlen(raw), MAILADDR_SENDER, pair.sender,
                           sizeof(pair.sender)) != MAILADDR_OK
        || mailaddr_normalize(s->from_spf, strlen(s->from_spf), MAILADDR_RCPT, pair.rcpt,
                              sizeof(pair.rcpt)) != MAILADDR_OK)
        return;
    (void) sendernorm_key(pair.sender, pair.sender, sizeof(pair.sender));
    err[0] = '\0';
    if (store_outbound_put(cb_store, &pair, err, sizeof(err)) != 0)
        log_warn("%s: outbound pair not recorded: %s", cb_qid(ctx, qbuf, sizeof(qbuf)), err);
}

/*
 * cb_trap_skipped - a greytrap recipient of a client that skips
 * greylisting (reason r): logged, not trapped
 */
static void
cb_trap_skipped(SMFICTX *ctx, const struct session *s, enum decision_reason r)
{
    char    qbuf[64];

    log_info("%s: greytrap hit not trapped: reason=%s client=%s key=%s to=<%s>",
               cb_qid(ctx, qbuf, sizeof(qbuf)),
               decision_reason_name(r), s->client,
               s->t.client_key[0] != '\0' ? s->t.client_key : "-", s->to_log);
}

/*
 * cb_store_ask - ask the store about the triplet, with the delay the
 * verdict v asks for (delay_listed for a listed client), and put the
 * outcome into the facts; an outage is logged here, rate-limited. trap:
 * the recipient is a greytrap (the store traps the client key in the
 * same call).
 */
static void
cb_store_ask(struct session *s, const struct decision_verdict *v, int trap)
{
    char    err[STORE_ERRLEN];
    struct store_decide_opts o;

    memset(&o, 0, sizeof(o));
    o.delay = v->store_delay;
    o.trap = trap;
    err[0] = '\0';
    if (store_decide_with(cb_store, &s->t, &o, &s->facts.policy, err, sizeof(err)) != 0) {
        log_limit_fail(&cb_store_limit, err[0] != '\0' ? err : "unknown error");
        s->facts.store = DECISION_STORE_FAILED;
        return;
    }
    log_limit_ok(&cb_store_limit);
    s->facts.store = DECISION_STORE_ANSWERED;
}

/*
 * cb_dnsbl - ask the DNS lists about the client, once per connection, at
 * the first recipient nothing skips: not at CONNECT, so that trusted,
 * whitelisted, authenticated clients, whitelisted recipients and
 * connections that never get to RCPT cost no query, and the SMTP client
 * waits at RCPT as it would for the store. At most dnsbl_timeout; with
 * no lists (dnsbl_sites empty) nothing is asked and no fact set.
 */
static void
cb_dnsbl(struct session *s)
{
    struct dnsbl_result r;

    s->dnsbl_asked = 1;
    if (dnsbl_shared_check(&s->ip, &r, s->dnsbl_zones, sizeof(s->dnsbl_zones)) != 0)
        return;
    s->facts.conn.dnsbl_checked = 1;
    s->facts.conn.dnsbl_score = r.score;
    s->dnsbl_ms = r.elapsed_ms;
}

/*
 * mlfi_envrcpt - decide on one recipient, on its own: at most one store
 * call, one log line, one answer. Skipped clients and messages, and
 * whitelisted recipients, never reach the store.
 * Parameters: argv[0] the recipient as given (with <>), argv[1..] args.
 * Return value: continue (pass, skipped, store error with accept, or a
 * null-sender tempfail deferred to DATA) or tempfail with the configured
 * reply. Never reject.
 */
static sfsistat
mlfi_envrcpt(SMFICTX *ctx, char **argv)
{
    struct session *s = smfi_getpriv(ctx);
    struct decision_verdict v;
    int     trap;

    if (s == NULL)
        return SMFIS_CONTINUE;
    session_set_rcpt(s, argv != NULL ? argv[0] : NULL);
    s->facts.wl_rcpt = wlist_recipient(s->wl, s->t.rcpt);
    trap = wlist_greytrap(s->wl, s->t.rcpt);
    s->facts.store = DECISION_STORE_NOT_ASKED;
    if (!s->dnsbl_asked && decision_skip(&s->facts) == DECISION_REASON_NONE)
        cb_dnsbl(s);
    decision_make(&s->snap->decision, &s->facts, &v);
    if (v.action == DECISION_ASK_STORE) {
        cb_store_ask(s, &v, trap);
        decision_make(&s->snap->decision, &s->facts, &v);
    } else if (trap)
        cb_trap_skipped(ctx, s, v.reason);
    if (v.action == DECISION_CONTINUE && !trap)
        cb_outbound(ctx, s, argv != NULL ? argv[0] : NULL);

    cb_log(ctx, s, &v);
    metrics_recipient(v.log_action, v.reason);
    cb_count(s, &v);
    if (v.header && v.delay > s->max_delay)
        s->max_delay = v.delay;
    switch (v.action) {
    case DECISION_TEMPFAIL:
        return cb_tempfail(ctx, &v.reply);
    case DECISION_TEMPFAIL_AT_DATA:
        s->facts.msg.rcpt_deferred = 1;
        return SMFIS_CONTINUE;
    case DECISION_CONTINUE:
        s->facts.msg.rcpt_accepted = 1;
        break;
    case DECISION_ASK_STORE:             /* cannot happen once the store answered */
        break;
    }
    return SMFIS_CONTINUE;
}

/*
 * mlfi_data - the DATA command, only seen with null_sender_stage = data:
 * the deferred tempfail of a greylisted null-sender message, unless a
 * recipient of it was let through (decision_data; logged as mixed-rcpt).
 * Return value: tempfail with the configured reply, or continue.
 */
static sfsistat
mlfi_data(SMFICTX *ctx)
{
    struct session *s = smfi_getpriv(ctx);
    struct decision_verdict v;

    if (s == NULL)
        return SMFIS_CONTINUE;
    decision_data(&s->snap->decision, &s->facts, &v);
    if (v.reason != DECISION_REASON_NONE)
        cb_log(ctx, s, &v);
    metrics_recipient(v.log_action, v.reason);
    if (v.action == DECISION_TEMPFAIL)
        return cb_tempfail(ctx, &v.reply);
    return SMFIS_CONTINUE;
}

/*
 * cb_add_header - X-Greylist: delayed N seconds by redgrey-VERSION at
 * HOST; DATE (RFC 5322 date, local time). HOST is the MTA's j macro or
 * this machine's name.
 */
static void
cb_add_header(SMFICTX *ctx, const struct session *s)
{
    char    date[64];
    char    value[512];
    time_t  now = time(NULL);
    struct tm tm;

    if (localtime_r(&now, &tm) == NULL
        || strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm) == 0)
        strcpy(date, "unknown date");
    snprintf(value, sizeof(value), "delayed %lld seconds by %s-%s at %s; %s",
             (long long) s->max_delay, PACKAGE_NAME, PACKAGE_VERSION,
             s->mta_host[0] != '\0' ? s->mta_host : cb_hostname, date);
    if (smfi_addheader(ctx, "X-Greylist", value) != MI_SUCCESS)
        log_warn("could not add the X-Greylist header");
}

/*
 * mlfi_eom - end of message: add X-Greylist if the verdict of some
 * recipient said so (it passed after a delay, the header is wanted and
 * was granted).
 * Return value: continue.
 */
static sfsistat
mlfi_eom(SMFICTX *ctx)
{
    struct session *s = smfi_getpriv(ctx);

    if (s == NULL)
        return SMFIS_CONTINUE;
    if (s->max_delay >= 0)
        cb_add_header(ctx, s);
    cb_summary(ctx, s, "eom");
    session_reset_message(s);
    return SMFIS_CONTINUE;
}

/*
 * mlfi_abort - the MTA gave up on the message (RSET, a refused recipient,
 * a lost client); Postfix may send it twice in a row.
 * Return value: continue (ignored by libmilter).
 */
static sfsistat
mlfi_abort(SMFICTX *ctx)
{
    struct session *s = smfi_getpriv(ctx);

    if (s != NULL) {
        cb_summary(ctx, s, "abort");
        session_reset_message(s);
    }
    return SMFIS_CONTINUE;
}

/*
 * mlfi_close - end of the connection: free the session.
 * Return value: continue (ignored by libmilter).
 */
static sfsistat
mlfi_close(SMFICTX *ctx)
{
    struct session *s = smfi_getpriv(ctx);

    if (s != NULL) {
        smfi_setpriv(ctx, NULL);
        cb_session_free(s);
    }
    return SMFIS_CONTINUE;
}

/* The filter: one comment per slot; NULL slots are steps redgrey skips. */
static struct smfiDesc callbacks_desc = {
    PACKAGE_NAME,                        /* xxfi_name: filter name in the MTA's logs */
    SMFI_VERSION,                        /* xxfi_version: the libmilter we build with */
    SMFIF_ADDHDRS | SMFIF_SETSYMLIST,    /* xxfi_flags: actions; narrowed by negotiate */
    mlfi_connect,                        /* xxfi_connect: client, key, trusted/no-ip */
    mlfi_helo,                           /* xxfi_helo: no reply (NR_HELO) */
    mlfi_envfrom,                        /* xxfi_envfrom: sender, SASL login */
    mlfi_envrcpt,                        /* xxfi_envrcpt: the decision */
    NULL,                                /* xxfi_header: not needed (SMFIP_NOHDRS) */
    NULL,                                /* xxfi_eoh: not needed (SMFIP_NOEOH) */
    NULL,                                /* xxfi_body: not needed (SMFIP_NOBODY) */
    mlfi_eom,                            /* xxfi_eom: X-Greylist header */
    mlfi_abort,                          /* xxfi_abort: reset the message */
    mlfi_close,                          /* xxfi_close: free the session */
    NULL,                                /* xxfi_unknown: not needed (SMFIP_NOUNKNOWN) */
    mlfi_data,                           /* xxfi_data: null sender deferred to DATA */
    mlfi_negotiate,                      /* xxfi_negotiate: ask for the minimum */
};

/* callbacks_register - register the filter with libmilter */
int
callbacks_register(void)
{
    return smfi_register(callbacks_desc) == MI_SUCCESS ? 0 : -1;
}

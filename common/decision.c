/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * decision.c - the verdict for one recipient from the gathered facts.
 *
 * The whole decision is the table in decision.h: the skips in their
 * order of precedence (connection before message before recipient),
 * then the store's outcome, then how a tempfail is delivered (now, or at
 * DATA for the null sender) and whether a pass puts X-Greylist on the
 * message. Only a pass after a delay (retry) does: a known or AWL pass
 * was not delayed this time, so it gets no header.
 *
 * No I/O, no clock, no logging, no libmilter: the milter callbacks gather
 * the facts and apply the verdict.
 */
#include "config.h"

#include <string.h>

#include "decision.h"

/* decision_config_init - copy the relevant keys; xcode "" becomes NULL */
void
decision_config_init(struct decision_config *out, const struct cfg *c)
{
    out->on_store_error = c->on_store_error;
    out->null_sender_stage = c->null_sender_stage;
    out->header = c->header;
    out->reply.code = c->reply_code;
    out->reply.xcode = c->reply_xcode[0] != '\0' ? c->reply_xcode : NULL;
    out->reply.text = c->reply_text;
    out->learn = c->mode == CFG_MODE_LEARN;
    out->greylist_suspicious = c->greylist == CFG_GREYLIST_SUSPICIOUS;
    out->dnsbl_threshold = c->dnsbl_threshold;
    out->dnswl_threshold = c->dnswl_threshold;
    out->delay_listed = c->delay_listed;
    out->suspicious_no_rdns = c->suspicious_no_rdns;
    out->suspicious_dynamic = c->suspicious_dynamic;
    out->suspicious_spf = c->suspicious_spf;
}

/* decision_suspicious - the signals that hold, each but DNSBL under its key */
unsigned
decision_suspicious(const struct decision_config *c, const struct decision_facts *f)
{
    unsigned bits = 0;

    if (f->conn.dnsbl_checked && f->conn.dnsbl_score >= c->dnsbl_threshold)
        bits |= DECISION_SUSPICIOUS_DNSBL;
    if (c->suspicious_no_rdns && f->conn.no_rdns)
        bits |= DECISION_SUSPICIOUS_NO_RDNS;
    if (c->suspicious_dynamic && f->conn.dynamic_name)
        bits |= DECISION_SUSPICIOUS_DYNAMIC;
    if (c->suspicious_spf && f->msg.spf_checked
        && (f->msg.spf.result == SPF_CHECK_FAIL || f->msg.spf.result == SPF_CHECK_SOFTFAIL))
        bits |= DECISION_SUSPICIOUS_SPF;
    return bits;
}

/* decision_suspicious_format - the set bits' names, comma separated */
char   *
decision_suspicious_format(unsigned bits, char *buf, size_t len)
{
    static const char *const names[] = {"dnsbl", "no-rdns", "dynamic", "spf"};
    size_t  n = 0;

    if (len == 0)
        return buf;
    buf[0] = '\0';
    for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if ((bits & (1u << i)) == 0)
            continue;
        int     w = snprintf(buf + n, len - n, "%s%s", n > 0 ? "," : "", names[i]);

        if (w < 0 || (size_t) w >= len - n) {
            buf[n] = '\0';                /* cut at a whole name */
            break;
        }
        n += (size_t) w;
    }
    return buf;
}

/*
 * decision_lists - the DNS-list and selective-greylisting rows, after
 * every skip: the reason to accept (dnswl, not-suspicious) or NONE; the
 * suspicious bits to log into out
 */
static enum decision_reason
decision_lists(const struct decision_config *c, const struct decision_facts *f,
               struct decision_verdict *out)
{
    unsigned bits = decision_suspicious(c, f);

    out->suspicious = c->greylist_suspicious ? bits : bits & DECISION_SUSPICIOUS_DNSBL;
    if (f->conn.dnsbl_checked && f->conn.dnsbl_score <= c->dnswl_threshold)
        return DECISION_REASON_DNSWL;
    if (c->greylist_suspicious && bits == 0)
        return DECISION_REASON_NOT_SUSPICIOUS;
    return DECISION_REASON_NONE;
}

/* decision_conn_skip - why the whole connection skips, or NONE */
static enum decision_reason
decision_conn_skip(const struct decision_conn *conn)
{
    if (!conn->has_ip)
        return DECISION_REASON_NO_IP;
    if (conn->trusted)
        return DECISION_REASON_TRUSTED;
    if (conn->wl_client)
        return DECISION_REASON_WL_CLIENT;
    if (conn->wl_name)
        return DECISION_REASON_WL_NAME;
    if (conn->bigsender)
        return DECISION_REASON_BIGSENDER;
    return DECISION_REASON_NONE;
}

/*
 * decision_msg_skip - why the whole message skips, or NONE. A sender
 * domain on the whitelist only counts with an SPF pass whose record is
 * not over-broad (keyable): anyone can write the domain in MAIL FROM.
 */
static enum decision_reason
decision_msg_skip(const struct decision_msg *msg)
{
    if (msg->auth)
        return DECISION_REASON_AUTH;
    if (msg->wl_sender && msg->spf_checked && msg->spf.result == SPF_CHECK_PASS
        && msg->spf.keyable)
        return DECISION_REASON_WL_SENDER;
    return DECISION_REASON_NONE;
}

/* decision_skip - the first skip of connection, message, recipient */
enum decision_reason
decision_skip(const struct decision_facts *f)
{
    enum decision_reason r;

    if ((r = decision_conn_skip(&f->conn)) != DECISION_REASON_NONE)
        return r;
    if ((r = decision_msg_skip(&f->msg)) != DECISION_REASON_NONE)
        return r;
    if (f->wl_rcpt)
        return DECISION_REASON_WL_RCPT;
    return DECISION_REASON_NONE;
}

/* decision_store_reason - the store's reason in the decision's terms */
static enum decision_reason
decision_store_reason(enum policy_reason reason)
{
    switch (reason) {
    case POLICY_REASON_NEW:
        return DECISION_REASON_NEW;
    case POLICY_REASON_EARLY:
        return DECISION_REASON_EARLY;
    case POLICY_REASON_RETRY:
        return DECISION_REASON_RETRY;
    case POLICY_REASON_KNOWN:
        return DECISION_REASON_KNOWN;
    case POLICY_REASON_AWL:
        return DECISION_REASON_AWL;
    case POLICY_REASON_LEARN:
        return DECISION_REASON_LEARN;
    case POLICY_REASON_GREYTRAP:
        return DECISION_REASON_GREYTRAP;
    case POLICY_REASON_RATE:
        return DECISION_REASON_RATE;
    case POLICY_REASON_OUTBOUND:
        return DECISION_REASON_OUTBOUND;
    }
    return DECISION_REASON_NEW;
}

/* decision_accept - let the recipient through with a log action and reason */
static void
decision_accept(const char *log_action, enum decision_reason r,
                struct decision_verdict *out)
{
    out->action = DECISION_CONTINUE;
    out->reason = r;
    out->log_action = log_action;
}

/*
 * decision_greylist - a tempfail for reason r: at DATA for the null
 * sender with null_sender_stage = data if the MTA knows the DATA step
 * (else the tempfail would be lost) and no recipient of the message was
 * let through (DATA would defer that one too), at RCPT otherwise.
 */
static void
decision_greylist(const struct decision_config *c, const struct decision_facts *f,
                  enum decision_reason r, struct decision_verdict *out)
{
    int     at_data = f->msg.sender_kind == MAILADDR_NULL && f->mta.data_step
        && c->null_sender_stage == CFG_NULL_STAGE_DATA && !f->msg.rcpt_accepted;

    out->action = at_data ? DECISION_TEMPFAIL_AT_DATA : DECISION_TEMPFAIL;
    out->reason = r;
    out->reply = c->reply;
    out->log_action = "greylist";
    out->log_stage_data = at_data;
}

/* decision_make - see the table in decision.h */
void
decision_make(const struct decision_config *c, const struct decision_facts *f,
              struct decision_verdict *out)
{
    enum decision_reason r;

    memset(out, 0, sizeof(*out));
    out->delay = -1;

    if ((r = decision_skip(f)) != DECISION_REASON_NONE
        || (r = decision_lists(c, f, out)) != DECISION_REASON_NONE) {
        decision_accept("accept", r, out);
        return;
    }

    switch (f->store) {
    case DECISION_STORE_NOT_ASKED:
        out->action = DECISION_ASK_STORE;
        if (out->suspicious & DECISION_SUSPICIOUS_DNSBL)
            out->store_delay = c->delay_listed;
        out->reason = DECISION_REASON_NONE;
        out->log_action = "";
        return;
    case DECISION_STORE_FAILED:
        if (c->on_store_error == CFG_ON_ERROR_TEMPFAIL && !c->learn)
            decision_greylist(c, f, DECISION_REASON_STORE_ERROR, out);
        else
            decision_accept("accept", DECISION_REASON_STORE_ERROR, out);
        return;
    case DECISION_STORE_ANSWERED:
        break;
    }

    r = decision_store_reason(f->policy.reason);
    if (f->policy.action == POLICY_TEMPFAIL && c->learn)
        r = DECISION_REASON_LEARN;       /* the store does not learn yet: learn mode wins */
    else if (f->policy.action == POLICY_TEMPFAIL) {
        decision_greylist(c, f, r, out);
        return;
    }
    decision_accept("pass", r, out);

    /* Only a retry was delayed; known and AWL passes get no header. */
    if (r == DECISION_REASON_RETRY) {
        out->delay = f->policy.delayed;
        out->header = c->header && f->mta.can_addheader;
    }
}

/* decision_data - the DATA step's verdict; see decision.h */
void
decision_data(const struct decision_config *c, const struct decision_facts *f,
              struct decision_verdict *out)
{
    memset(out, 0, sizeof(*out));
    out->delay = -1;
    out->action = DECISION_CONTINUE;
    out->reason = DECISION_REASON_NONE;
    out->log_action = "";
    if (!f->msg.rcpt_deferred)
        return;
    out->log_stage_data = 1;
    if (f->msg.rcpt_accepted) {
        out->reason = DECISION_REASON_MIXED_RCPT;
        out->log_action = "pass";
        return;
    }
    out->action = DECISION_TEMPFAIL;
    out->reason = DECISION_REASON_NONE;
    out->reply = c->reply;
}

/* The log word of each reason, indexed by enum decision_reason. */
static const char *const decision_reason_names[] = {
    [DECISION_REASON_NONE] = "",
    [DECISION_REASON_NEW] = "new",
    [DECISION_REASON_EARLY] = "early",
    [DECISION_REASON_RETRY] = "retry",
    [DECISION_REASON_KNOWN] = "known",
    [DECISION_REASON_AWL] = "awl",
    [DECISION_REASON_TRUSTED] = "trusted",
    [DECISION_REASON_AUTH] = "auth",
    [DECISION_REASON_NO_IP] = "no-ip",
    [DECISION_REASON_WL_CLIENT] = "whitelist-client",
    [DECISION_REASON_WL_NAME] = "whitelist-name",
    [DECISION_REASON_BIGSENDER] = "bigsender",
    [DECISION_REASON_WL_RCPT] = "whitelist-rcpt",
    [DECISION_REASON_WL_SENDER] = "whitelist-sender",
    [DECISION_REASON_STORE_ERROR] = "store-error",
    [DECISION_REASON_MIXED_RCPT] = "mixed-rcpt",
    [DECISION_REASON_LEARN] = "learn",
    [DECISION_REASON_DNSWL] = "dnswl",
    [DECISION_REASON_NOT_SUSPICIOUS] = "not-suspicious",
    [DECISION_REASON_GREYTRAP] = "greytrap",
    [DECISION_REASON_RATE] = "rate-limit",
    [DECISION_REASON_OUTBOUND] = "outbound",
};

/* decision_reason_name - the reason as it appears in the log line */
const char *
decision_reason_name(enum decision_reason reason)
{
    if ((unsigned) reason >= sizeof(decision_reason_names) / sizeof(decision_reason_names[0])
        || decision_reason_names[reason] == NULL)
        return "unknown";
    return decision_reason_names[reason];
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * decision.h - what redgrey answers for one recipient, as a pure function
 * of the facts the milter gathered.
 *
 * The callbacks fill a struct decision_facts (the MTA's capabilities, the
 * connection, the message, the recipient, the store's outcome) and call
 * decision_make(). While the store has not been asked and nothing skips
 * greylisting, the verdict is DECISION_ASK_STORE: the caller asks the
 * store, puts the outcome into the facts and calls decision_make() again.
 * The verdict then says everything the caller applies: the milter answer
 * and its SMTP reply, the log line's action, reason, stage=data and
 * delay, and whether the message gets the X-Greylist header.
 *
 * Checked top to bottom; the first row that matches decides:
 *
 *   no IP                          accept   no-ip
 *   trusted network                accept   trusted
 *   whitelisted client address     accept   whitelist-client
 *   whitelisted verified name      accept   whitelist-name
 *   big-sender set                 accept   bigsender
 *   SASL-authenticated message     accept   auth
 *   whitelisted sender domain,     accept   whitelist-sender
 *     with a keyable SPF pass
 *   whitelisted recipient          accept   whitelist-rcpt
 *   DNS list score <= dnswl_threshold  accept   dnswl
 *   greylist = suspicious and      accept   not-suspicious
 *     nothing suspicious
 *   store not asked                (ask the store; with delay_listed when
 *                                   the score >= dnsbl_threshold)
 *   store failed, accept           accept   store-error
 *   store failed, tempfail         greylist store-error
 *   store: tempfail                greylist new, early, greytrap,
 *                                           rate-limit
 *   store: pass after a delay      pass     retry     delay=N, X-Greylist
 *   store: pass                    pass     known, awl  (never delayed:
 *                                                       no header)
 *   store: learn                   pass     learn
 *   store: outbound pair           pass     outbound
 *
 * Suspicious (decision_suspicious, each but the first on its own key):
 * a DNS list score at or above dnsbl_threshold (dnsbl), no verified
 * reverse name (no-rdns), a dynamic-looking name (dynamic), SPF fail or
 * softfail (spf). A listed client waits delay_listed in either greylist
 * mode; the verdict's suspicious bits name the reasons for the log.
 *
 * In learn mode (mode = learn) nothing is a tempfail: the store's new
 * and early pass with reason learn (the store itself answers learn when
 * it runs in learn mode), a store error is an accept store-error.
 *
 * A "greylist" answers RCPT with the reply, except for the null sender
 * with null_sender_stage = data on an MTA that knows the DATA step: RCPT
 * then continues and DATA gets the reply (logged with stage=data). The
 * header needs header = yes and an MTA that granted the header action.
 *
 * A tempfail at DATA defers every recipient of the message, so it is
 * only used while no recipient of the message has been let through: once
 * one has (a whitelisted recipient, a pass), the null sender's later
 * greylisted recipients are answered at RCPT, and at DATA
 * (decision_data) a message with both kinds continues -- the recipients
 * deferred before the accepted one go through ungreylisted, logged with
 * reason mixed-rcpt, rather than the accepted one being delayed.
 * Nothing here rejects: the worst verdict is a tempfail.
 *
 * No I/O, no clock, no logging, no libmilter.
 *
 * Thread-safety: pure, any thread.
 */
#ifndef REDGREY_DECISION_H
#define REDGREY_DECISION_H

#include <stddef.h>
#include <stdint.h>

#include "cfg.h"
#include "mailaddr.h"
#include "policy.h"
#include "spf_check.h"

/* The MTA's side of the negotiation; all 0 when it is not known. */
struct decision_mta {
    int     data_step;                   /* the MTA knows the DATA step */
    int     can_addheader;               /* the header action was granted */
};

/* The connection, as known at CONNECT. */
struct decision_conn {
    int     has_ip;                      /* an IPv4 or IPv6 client (not unix, not unknown) */
    int     trusted;                     /* client in trusted_networks */
    int     wl_client;                   /* client address in whitelist_clients */
    int     wl_name;                     /* verified client name in whitelist_client_names */
    int     bigsender;                   /* client in the big-sender set */
    /* DNS lists and the client's name. */
    int     dnsbl_checked;               /* the lists were asked: dnsbl_score holds */
    int     dnsbl_score;                 /* sum of the weights of the listing sites */
    int     no_rdns;                     /* the MTA verified no reverse name */
    int     dynamic_name;                /* the verified name looks dynamic */
};

/* The message, as known after MAIL. */
struct decision_msg {
    int     auth;                        /* SASL-authenticated */
    enum mailaddr_kind sender_kind;      /* MAILADDR_NULL: the null sender <> */
    int     spf_checked;                 /* spf holds the message's SPF result */
    struct spf_result spf;               /* of the sender domain (HELO name for <>) */
    int     wl_sender;                   /* spf.domain in whitelist_sender_domains */
    int     rcpt_accepted;               /* a recipient of it was let through */
    int     rcpt_deferred;               /* a recipient's tempfail waits for DATA */
};

/* What the store said about the triplet of this recipient. */
enum decision_store {
    DECISION_STORE_NOT_ASKED,            /* not asked yet */
    DECISION_STORE_ANSWERED,             /* policy holds the store's verdict */
    DECISION_STORE_FAILED,               /* error or timeout */
};

struct decision_facts {
    struct decision_mta mta;             /* from negotiation */
    struct decision_conn conn;           /* from CONNECT */
    struct decision_msg msg;             /* from MAIL */
    int     wl_rcpt;                     /* recipient in whitelist_recipients */
    enum decision_store store;           /* the store's outcome for this recipient */
    struct policy_verdict policy;        /* DECISION_STORE_ANSWERED: its verdict */
};

/* An SMTP reply for smfi_setreply(). */
struct decision_reply {
    const char *code;                    /* "451" */
    const char *xcode;                   /* "4.7.1", or NULL for none */
    const char *text;                    /* "Greylisted, please try again later" */
};

/* The configuration the decision reads. */
struct decision_config {
    enum cfg_on_error on_store_error;    /* a failed store accepts or tempfails */
    enum cfg_null_stage null_sender_stage; /* where <> is greylisted */
    int     header;                      /* X-Greylist wanted */
    struct decision_reply reply;         /* the greylisting reply */
    int     learn;                       /* mode = learn: never a tempfail */
    /* DNS lists and selective greylisting. */
    int     greylist_suspicious;         /* greylist = suspicious */
    int     dnsbl_threshold;             /* score >= it: suspicious, delay_listed */
    int     dnswl_threshold;             /* score <= it: accept dnswl */
    int64_t delay_listed;                /* seconds */
    int     suspicious_no_rdns;          /* each signal on by its own key */
    int     suspicious_dynamic;
    int     suspicious_spf;
};

/* The reasons a client is suspicious, as bits (decision_suspicious). */
#define DECISION_SUSPICIOUS_DNSBL   0x1u /* score >= dnsbl_threshold */
#define DECISION_SUSPICIOUS_NO_RDNS 0x2u /* no verified reverse name */
#define DECISION_SUSPICIOUS_DYNAMIC 0x4u /* the name looks dynamic */
#define DECISION_SUSPICIOUS_SPF     0x8u /* SPF fail or softfail */

enum decision_action {
    DECISION_ASK_STORE,                  /* ask the store, add its outcome, decide again */
    DECISION_CONTINUE,                   /* let this recipient through */
    DECISION_TEMPFAIL,                   /* answer this RCPT with the reply */
    DECISION_TEMPFAIL_AT_DATA,           /* RCPT continues; answer DATA with the reply */
};

/* Why; decision_reason_name() gives the word of the log line. */
enum decision_reason {
    DECISION_REASON_NONE,                /* DECISION_ASK_STORE: not decided yet */
    DECISION_REASON_NEW,                 /* store: first sighting */
    DECISION_REASON_EARLY,               /* store: retried before the delay */
    DECISION_REASON_RETRY,               /* store: retried after the delay */
    DECISION_REASON_KNOWN,               /* store: passed before */
    DECISION_REASON_AWL,                 /* store: auto-whitelisted */
    DECISION_REASON_TRUSTED,             /* client in trusted_networks */
    DECISION_REASON_AUTH,                /* SASL-authenticated message */
    DECISION_REASON_NO_IP,               /* unix socket or unknown peer */
    DECISION_REASON_WL_CLIENT,           /* client in whitelist_clients */
    DECISION_REASON_WL_NAME,             /* verified name in whitelist_client_names */
    DECISION_REASON_BIGSENDER,           /* client in the big-sender set */
    DECISION_REASON_WL_RCPT,             /* recipient in whitelist_recipients */
    DECISION_REASON_WL_SENDER,           /* SPF-passing domain in whitelist_sender_domains */
    DECISION_REASON_STORE_ERROR,         /* the store failed */
    DECISION_REASON_MIXED_RCPT,          /* DATA: deferred and accepted recipients */
    DECISION_REASON_LEARN,               /* learn mode: would be greylisted, passes */
    DECISION_REASON_DNSWL,               /* DNS list score <= dnswl_threshold */
    DECISION_REASON_NOT_SUSPICIOUS,      /* greylist = suspicious, nothing suspicious */
    /* abuse limits and outbound pairs (store) */
    DECISION_REASON_GREYTRAP,            /* store: client key trapped */
    DECISION_REASON_RATE,                /* store: new-triplet cap reached */
    DECISION_REASON_OUTBOUND,            /* store: a local user wrote to this sender */
};

struct decision_verdict {
    enum decision_action action;
    enum decision_reason reason;
    struct decision_reply reply;         /* the TEMPFAIL* reply; all NULL otherwise */
    const char *log_action;              /* "greylist", "pass", "accept"; "" to ask */
    int     log_stage_data;              /* log " stage=data" (TEMPFAIL_AT_DATA) */
    int64_t delay;                       /* RETRY: seconds delayed (log, header); else -1 */
    int     header;                      /* this recipient gives the message X-Greylist */
    int64_t store_delay;                 /* ASK_STORE: > 0 ask with this delay (delay_listed) */
    unsigned suspicious;                 /* DECISION_SUSPICIOUS_* to log: all that held
                                          * with greylist = suspicious, else only DNSBL */
};

/*
 * decision_config_init - the decision's part of c; the reply strings
 * point into c, which must outlive out.
 */
void    decision_config_init(struct decision_config *out, const struct cfg *c);

/*
 * decision_skip - the reason greylisting is skipped without the store
 * (connection, then message, then recipient), or DECISION_REASON_NONE.
 * Called before any RCPT it tells whether the message as a whole skips.
 */
enum decision_reason decision_skip(const struct decision_facts *f);

/* decision_make - the verdict for one recipient; see the table above */
void    decision_make(const struct decision_config *c, const struct decision_facts *f,
                      struct decision_verdict *out);

/*
 * decision_data - the verdict at DATA for the message the facts describe:
 * TEMPFAIL with the reply when recipients were deferred to DATA and none
 * was let through; CONTINUE with reason MIXED_RCPT (logged, action pass)
 * when both happened; CONTINUE with reason NONE (nothing to log) when no
 * recipient was deferred.
 */
void    decision_data(const struct decision_config *c, const struct decision_facts *f,
                      struct decision_verdict *out);

/*
 * decision_suspicious - the DECISION_SUSPICIOUS_* bits that hold for the
 * client and message of f, each signal but DNSBL only when its key is on
 */
unsigned decision_suspicious(const struct decision_config *c, const struct decision_facts *f);

/*
 * decision_suspicious_format - the bits as "dnsbl,no-rdns,dynamic,spf"
 * (those set, in that order; "" for none) into buf. Returns buf.
 */
char   *decision_suspicious_format(unsigned bits, char *buf, size_t len);

/* decision_reason_name - "new", "trusted", "store-error" ...; "" for NONE */
const char *decision_reason_name(enum decision_reason reason);

#endif

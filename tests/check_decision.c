/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_decision.c - the recipient decision without a milter session:
 * every reason, every action, the order of the skips, the store's
 * verdicts and its failure under both on_store_error values, the null
 * sender at RCPT or DATA, and when X-Greylist is (not) added.
 *
 * One table gives the configuration and the facts in and the whole
 * verdict out; the reason names and the configuration copy have their
 * own small tests.
 */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "decision.h"

enum { C_DEFAULT, C_ERR_TEMPFAIL, C_STAGE_RCPT, C_NO_HEADER, C_LEARN, C_LISTS, C_SUSP,
       C_SUSP_OFF };

/* The defaults (accept on store error, <> at DATA, header) and one change each. */
static const struct decision_config configs[] = {
    [C_DEFAULT] = {CFG_ON_ERROR_ACCEPT, CFG_NULL_STAGE_DATA, 1,
                   {"451", "4.7.1", "Greylisted, please try again later"}},
    [C_ERR_TEMPFAIL] = {CFG_ON_ERROR_TEMPFAIL, CFG_NULL_STAGE_DATA, 1,
                        {"451", "4.7.1", "Greylisted, please try again later"}},
    [C_STAGE_RCPT] = {CFG_ON_ERROR_ACCEPT, CFG_NULL_STAGE_RCPT, 1,
                      {"450", "4.2.0", "Try later"}},
    [C_NO_HEADER] = {CFG_ON_ERROR_ACCEPT, CFG_NULL_STAGE_DATA, 0,
                     {"451", NULL, "No extended code"}},
    [C_LEARN] = {CFG_ON_ERROR_TEMPFAIL, CFG_NULL_STAGE_DATA, 1,
                 {"451", "4.7.1", "Greylisted, please try again later"}, 1},
    /* DNS lists (issue 14): greylist all, suspicious, suspicious with the signals off. */
    [C_LISTS] = {CFG_ON_ERROR_ACCEPT, CFG_NULL_STAGE_DATA, 1,
                 {"451", "4.7.1", "Greylisted, please try again later"}, 0,
                 .greylist_suspicious = 0, .dnsbl_threshold = 1, .dnswl_threshold = -1,
                 .delay_listed = 900, .suspicious_no_rdns = 1, .suspicious_dynamic = 1,
                 .suspicious_spf = 1},
    [C_SUSP] = {CFG_ON_ERROR_ACCEPT, CFG_NULL_STAGE_DATA, 1,
                {"451", "4.7.1", "Greylisted, please try again later"}, 0,
                .greylist_suspicious = 1, .dnsbl_threshold = 2, .dnswl_threshold = -1,
                .delay_listed = 900, .suspicious_no_rdns = 1, .suspicious_dynamic = 1,
                .suspicious_spf = 1},
    [C_SUSP_OFF] = {CFG_ON_ERROR_ACCEPT, CFG_NULL_STAGE_DATA, 1,
                    {"451", "4.7.1", "Greylisted, please try again later"}, 0,
                    .greylist_suspicious = 1, .dnsbl_threshold = 1, .dnswl_threshold = -1,
                    .delay_listed = 900},
};

/* Facts, piece by piece. */
#define MTA_ALL      .mta = {.data_step = 1, .can_addheader = 1}
#define MTA_NO_DATA  .mta = {.data_step = 0, .can_addheader = 1}
#define MTA_NO_HDR   .mta = {.data_step = 1, .can_addheader = 0}
#define MTA_UNKNOWN  .mta = {0, 0}       /* a session made after negotiation */
#define IP           .has_ip = 1
#define NULL_SENDER  .sender_kind = MAILADDR_NULL
#define SPF(r, k)    .spf_checked = 1, .spf = {.result = (r), .keyable = (k), \
                                                .domain = "example.org"}
#define ANSWER(a, r, d) .store = DECISION_STORE_ANSWERED, \
                        .policy = {.action = (a), .reason = (r), .delayed = (d)}
#define FAILED       .store = DECISION_STORE_FAILED
#define DNSBL(n)     .dnsbl_checked = 1, .dnsbl_score = (n)

/* Verdicts: action, reason, log action, stage=data, delay, header. */
#define ASK          DECISION_ASK_STORE, DECISION_REASON_NONE, "", 0, -1, 0
#define ACCEPT(r)    DECISION_CONTINUE, (r), "accept", 0, -1, 0
#define PASS(r)      DECISION_CONTINUE, (r), "pass", 0, -1, 0
#define RETRY(d, h)  DECISION_CONTINUE, DECISION_REASON_RETRY, "pass", 0, (d), (h)
#define GREY(r)      DECISION_TEMPFAIL, (r), "greylist", 0, -1, 0
#define GREY_DATA(r) DECISION_TEMPFAIL_AT_DATA, (r), "greylist", 1, -1, 0

static const struct decision_case {
    const char *label;
    int     config;
    struct decision_facts f;
    enum decision_action action;
    enum decision_reason reason;
    const char *log_action;
    int     log_stage_data;
    int64_t delay;
    int     header;
} cases[] = {
    /* Connection skips, in their order of precedence. */
    {"no-ip: unix socket", C_DEFAULT, {MTA_ALL, .conn = {0}},
     ACCEPT(DECISION_REASON_NO_IP)},
    {"no-ip beats trusted and every list", C_DEFAULT,
     {MTA_ALL, .conn = {.trusted = 1, .wl_client = 1, .wl_name = 1, .bigsender = 1}},
     ACCEPT(DECISION_REASON_NO_IP)},
    {"trusted", C_DEFAULT, {MTA_ALL, .conn = {IP, .trusted = 1}},
     ACCEPT(DECISION_REASON_TRUSTED)},
    {"trusted beats whitelist-client, whitelist-name, bigsender", C_DEFAULT,
     {MTA_ALL, .conn = {IP, .trusted = 1, .wl_client = 1, .wl_name = 1, .bigsender = 1}},
     ACCEPT(DECISION_REASON_TRUSTED)},
    {"whitelist-client", C_DEFAULT, {MTA_ALL, .conn = {IP, .wl_client = 1}},
     ACCEPT(DECISION_REASON_WL_CLIENT)},
    {"whitelist-client beats whitelist-name and bigsender", C_DEFAULT,
     {MTA_ALL, .conn = {IP, .wl_client = 1, .wl_name = 1, .bigsender = 1}},
     ACCEPT(DECISION_REASON_WL_CLIENT)},
    {"whitelist-name", C_DEFAULT, {MTA_ALL, .conn = {IP, .wl_name = 1}},
     ACCEPT(DECISION_REASON_WL_NAME)},
    {"whitelist-name beats bigsender", C_DEFAULT,
     {MTA_ALL, .conn = {IP, .wl_name = 1, .bigsender = 1}},
     ACCEPT(DECISION_REASON_WL_NAME)},
    {"bigsender", C_DEFAULT, {MTA_ALL, .conn = {IP, .bigsender = 1}},
     ACCEPT(DECISION_REASON_BIGSENDER)},

    /* Message skips; a connection skip beats them. */
    {"auth", C_DEFAULT, {MTA_ALL, .conn = {IP}, .msg = {.auth = 1}},
     ACCEPT(DECISION_REASON_AUTH)},
    {"conn skip beats message skip: bigsender over auth", C_DEFAULT,
     {MTA_ALL, .conn = {IP, .bigsender = 1}, .msg = {.auth = 1}},
     ACCEPT(DECISION_REASON_BIGSENDER)},
    {"conn skip beats message skip: no-ip over auth", C_DEFAULT,
     {MTA_ALL, .conn = {0}, .msg = {.auth = 1}},
     ACCEPT(DECISION_REASON_NO_IP)},
    {"whitelist-sender: keyable SPF pass", C_DEFAULT,
     {MTA_ALL, .conn = {IP}, .msg = {SPF(SPF_CHECK_PASS, 1), .wl_sender = 1}},
     ACCEPT(DECISION_REASON_WL_SENDER)},
    {"conn skip beats message skip: trusted over whitelist-sender", C_DEFAULT,
     {MTA_ALL, .conn = {IP, .trusted = 1}, .msg = {SPF(SPF_CHECK_PASS, 1), .wl_sender = 1}},
     ACCEPT(DECISION_REASON_TRUSTED)},
    {"auth beats whitelist-sender", C_DEFAULT,
     {MTA_ALL, .conn = {IP}, .msg = {.auth = 1, SPF(SPF_CHECK_PASS, 1), .wl_sender = 1}},
     ACCEPT(DECISION_REASON_AUTH)},
    {"whitelist-sender of the null sender (HELO name)", C_DEFAULT,
     {MTA_ALL, .conn = {IP}, .msg = {NULL_SENDER, SPF(SPF_CHECK_PASS, 1), .wl_sender = 1}},
     ACCEPT(DECISION_REASON_WL_SENDER)},
    {"listed sender domain, SPF not checked: ask", C_DEFAULT,
     {MTA_ALL, .conn = {IP}, .msg = {.wl_sender = 1}}, ASK},
    {"listed sender domain, over-broad pass: ask", C_DEFAULT,
     {MTA_ALL, .conn = {IP}, .msg = {SPF(SPF_CHECK_PASS, 0), .wl_sender = 1}}, ASK},
    {"listed sender domain, SPF fail (even if keyable): ask", C_DEFAULT,
     {MTA_ALL, .conn = {IP}, .msg = {SPF(SPF_CHECK_FAIL, 1), .wl_sender = 1}}, ASK},
    {"keyable pass, domain not listed: ask", C_DEFAULT,
     {MTA_ALL, .conn = {IP}, .msg = {SPF(SPF_CHECK_PASS, 1)}}, ASK},

    /* The recipient; connection and message skips beat it. */
    {"whitelist-rcpt", C_DEFAULT, {MTA_ALL, .conn = {IP}, .wl_rcpt = 1},
     ACCEPT(DECISION_REASON_WL_RCPT)},
    {"message skip beats whitelist-rcpt", C_DEFAULT,
     {MTA_ALL, .conn = {IP}, .msg = {.auth = 1}, .wl_rcpt = 1},
     ACCEPT(DECISION_REASON_AUTH)},
    {"conn skip beats whitelist-rcpt", C_DEFAULT,
     {MTA_ALL, .conn = {IP, .wl_client = 1}, .wl_rcpt = 1},
     ACCEPT(DECISION_REASON_WL_CLIENT)},

    /* A skip never looks at the store, whatever it said. */
    {"trusted ignores a failed store (tempfail)", C_ERR_TEMPFAIL,
     {MTA_ALL, .conn = {IP, .trusted = 1}, FAILED},
     ACCEPT(DECISION_REASON_TRUSTED)},
    {"whitelist-rcpt ignores a store tempfail", C_DEFAULT,
     {MTA_ALL, .conn = {IP}, .wl_rcpt = 1, ANSWER(POLICY_TEMPFAIL, POLICY_REASON_NEW, 0)},
     ACCEPT(DECISION_REASON_WL_RCPT)},

    /* Nothing skips and the store was not asked: ask it. */
    {"no skip: ask the store", C_DEFAULT, {MTA_ALL, .conn = {IP}}, ASK},
    {"no skip, null sender: ask the store", C_DEFAULT,
     {MTA_ALL, .conn = {IP}, .msg = {NULL_SENDER}}, ASK},
    {"no skip, error tempfail: still ask", C_ERR_TEMPFAIL, {MTA_ALL, .conn = {IP}}, ASK},

    /* The store's verdicts. */
    {"store new: greylist at RCPT", C_DEFAULT,
     {MTA_ALL, .conn = {IP}, ANSWER(POLICY_TEMPFAIL, POLICY_REASON_NEW, 0)},
     GREY(DECISION_REASON_NEW)},
    {"store early: greylist at RCPT", C_DEFAULT,
     {MTA_ALL, .conn = {IP}, ANSWER(POLICY_TEMPFAIL, POLICY_REASON_EARLY, 0)},
     GREY(DECISION_REASON_EARLY)},
    {"store retry: pass, delay, header", C_DEFAULT,
     {MTA_ALL, .conn = {IP}, ANSWER(POLICY_PASS, POLICY_REASON_RETRY, 312)},
     RETRY(312, 1)},
    {"store retry after 0 s: delay 0, header", C_DEFAULT,
     {MTA_ALL, .conn = {IP}, ANSWER(POLICY_PASS, POLICY_REASON_RETRY, 0)},
     RETRY(0, 1)},
    {"store retry, header = no: no header", C_NO_HEADER,
     {MTA_ALL, .conn = {IP}, ANSWER(POLICY_PASS, POLICY_REASON_RETRY, 312)},
     RETRY(312, 0)},
    {"store retry, header action not granted: no header", C_DEFAULT,
     {MTA_NO_HDR, .conn = {IP}, ANSWER(POLICY_PASS, POLICY_REASON_RETRY, 312)},
     RETRY(312, 0)},
    {"store retry, MTA unknown: no header", C_DEFAULT,
     {MTA_UNKNOWN, .conn = {IP}, ANSWER(POLICY_PASS, POLICY_REASON_RETRY, 312)},
     RETRY(312, 0)},
    {"store known: pass, not delayed, no header", C_DEFAULT,
     {MTA_ALL, .conn = {IP}, ANSWER(POLICY_PASS, POLICY_REASON_KNOWN, 0)},
     PASS(DECISION_REASON_KNOWN)},
    {"store awl: pass, not delayed, no header", C_DEFAULT,
     {MTA_ALL, .conn = {IP}, ANSWER(POLICY_PASS, POLICY_REASON_AWL, 0)},
     PASS(DECISION_REASON_AWL)},

    /* The store failed. */
    {"store error, on_store_error accept", C_DEFAULT, {MTA_ALL, .conn = {IP}, FAILED},
     ACCEPT(DECISION_REASON_STORE_ERROR)},
    {"store error, on_store_error tempfail", C_ERR_TEMPFAIL, {MTA_ALL, .conn = {IP}, FAILED},
     GREY(DECISION_REASON_STORE_ERROR)},
    {"store error tempfail, null sender, stage data: at DATA", C_ERR_TEMPFAIL,
     {MTA_ALL, .conn = {IP}, .msg = {NULL_SENDER}, FAILED},
     GREY_DATA(DECISION_REASON_STORE_ERROR)},
    {"store error accept, null sender, stage data: accept", C_DEFAULT,
     {MTA_ALL, .conn = {IP}, .msg = {NULL_SENDER}, FAILED},
     ACCEPT(DECISION_REASON_STORE_ERROR)},

    /* The null sender: at DATA only with stage data and a DATA step. */
    {"null sender new, stage data, DATA step: at DATA", C_DEFAULT,
     {MTA_ALL, .conn = {IP}, .msg = {NULL_SENDER},
      ANSWER(POLICY_TEMPFAIL, POLICY_REASON_NEW, 0)},
     GREY_DATA(DECISION_REASON_NEW)},
    {"null sender early, stage data, DATA step: at DATA", C_DEFAULT,
     {MTA_ALL, .conn = {IP}, .msg = {NULL_SENDER},
      ANSWER(POLICY_TEMPFAIL, POLICY_REASON_EARLY, 0)},
     GREY_DATA(DECISION_REASON_EARLY)},
    {"null sender new, stage data, a recipient already let through: at RCPT", C_DEFAULT,
     {MTA_ALL, .conn = {IP}, .msg = {NULL_SENDER, .rcpt_accepted = 1},
      ANSWER(POLICY_TEMPFAIL, POLICY_REASON_NEW, 0)},
     GREY(DECISION_REASON_NEW)},
    {"store error tempfail, null sender, recipient let through: at RCPT", C_ERR_TEMPFAIL,
     {MTA_ALL, .conn = {IP}, .msg = {NULL_SENDER, .rcpt_accepted = 1}, FAILED},
     GREY(DECISION_REASON_STORE_ERROR)},
    {"null sender new, stage data, no DATA step: at RCPT", C_DEFAULT,
     {MTA_NO_DATA, .conn = {IP}, .msg = {NULL_SENDER},
      ANSWER(POLICY_TEMPFAIL, POLICY_REASON_NEW, 0)},
     GREY(DECISION_REASON_NEW)},
    {"null sender new, stage data, MTA unknown: at RCPT", C_DEFAULT,
     {MTA_UNKNOWN, .conn = {IP}, .msg = {NULL_SENDER},
      ANSWER(POLICY_TEMPFAIL, POLICY_REASON_NEW, 0)},
     GREY(DECISION_REASON_NEW)},
    {"null sender new, stage rcpt, DATA step: at RCPT", C_STAGE_RCPT,
     {MTA_ALL, .conn = {IP}, .msg = {NULL_SENDER},
      ANSWER(POLICY_TEMPFAIL, POLICY_REASON_NEW, 0)},
     GREY(DECISION_REASON_NEW)},
    {"null sender new, stage rcpt, no DATA step: at RCPT", C_STAGE_RCPT,
     {MTA_NO_DATA, .conn = {IP}, .msg = {NULL_SENDER},
      ANSWER(POLICY_TEMPFAIL, POLICY_REASON_NEW, 0)},
     GREY(DECISION_REASON_NEW)},
    {"null sender retry, stage data: pass with header", C_DEFAULT,
     {MTA_ALL, .conn = {IP}, .msg = {NULL_SENDER},
      ANSWER(POLICY_PASS, POLICY_REASON_RETRY, 600)},
     RETRY(600, 1)},
    {"junk sender new, stage data: at RCPT", C_DEFAULT,
     {MTA_ALL, .conn = {IP}, .msg = {.sender_kind = MAILADDR_JUNK},
      ANSWER(POLICY_TEMPFAIL, POLICY_REASON_NEW, 0)},
     GREY(DECISION_REASON_NEW)},
    {"stage rcpt reply is the configured one", C_STAGE_RCPT,
     {MTA_ALL, .conn = {IP}, ANSWER(POLICY_TEMPFAIL, POLICY_REASON_EARLY, 0)},
     GREY(DECISION_REASON_EARLY)},
    {"no xcode: the reply has none", C_NO_HEADER,
     {MTA_ALL, .conn = {IP}, ANSWER(POLICY_TEMPFAIL, POLICY_REASON_NEW, 0)},
     GREY(DECISION_REASON_NEW)},

    /* Learn mode: never a tempfail. */
    {"learn: the store learnt", C_LEARN,
     {MTA_ALL, .conn = {IP}, ANSWER(POLICY_PASS, POLICY_REASON_LEARN, 0)},
     PASS(DECISION_REASON_LEARN)},
    {"learn: a store not yet learning says new", C_LEARN,
     {MTA_ALL, .conn = {IP}, ANSWER(POLICY_TEMPFAIL, POLICY_REASON_NEW, 0)},
     PASS(DECISION_REASON_LEARN)},
    {"learn: early", C_LEARN,
     {MTA_ALL, .conn = {IP}, ANSWER(POLICY_TEMPFAIL, POLICY_REASON_EARLY, 0)},
     PASS(DECISION_REASON_LEARN)},
    {"learn: null sender new, stage data: not deferred to DATA", C_LEARN,
     {MTA_ALL, .conn = {IP}, .msg = {NULL_SENDER},
      ANSWER(POLICY_TEMPFAIL, POLICY_REASON_NEW, 0)},
     PASS(DECISION_REASON_LEARN)},
    {"learn: store error with on_store_error tempfail accepts", C_LEARN,
     {MTA_ALL, .conn = {IP}, FAILED},
     ACCEPT(DECISION_REASON_STORE_ERROR)},
    {"learn: a retry is still a retry", C_LEARN,
     {MTA_ALL, .conn = {IP}, ANSWER(POLICY_PASS, POLICY_REASON_RETRY, 400)},
     RETRY(400, 1)},
    {"learn: skips as usual", C_LEARN,
     {MTA_ALL, .conn = {IP, .trusted = 1}},
     ACCEPT(DECISION_REASON_TRUSTED)},

    /* DNS lists and selective greylisting (issue 14). */
    {"dnswl: score at the threshold", C_LISTS,
     {MTA_ALL, .conn = {IP, DNSBL(-1)}}, ACCEPT(DECISION_REASON_DNSWL)},
    {"dnswl: also in greylist suspicious, before not-suspicious", C_SUSP,
     {MTA_ALL, .conn = {IP, DNSBL(-3), .no_rdns = 1}}, ACCEPT(DECISION_REASON_DNSWL)},
    {"dnswl: whitelist-rcpt first", C_LISTS,
     {MTA_ALL, .conn = {IP, DNSBL(-3)}, .wl_rcpt = 1}, ACCEPT(DECISION_REASON_WL_RCPT)},
    {"dnswl: trusted first", C_LISTS,
     {MTA_ALL, .conn = {IP, .trusted = 1, DNSBL(-3)}}, ACCEPT(DECISION_REASON_TRUSTED)},
    {"dnswl: a score without a check counts for nothing", C_LISTS,
     {MTA_ALL, .conn = {IP, .dnsbl_score = -5}}, ASK},
    {"score 0, greylist all: asks", C_LISTS,
     {MTA_ALL, .conn = {IP, DNSBL(0), .no_rdns = 1}}, ASK},
    {"listed, greylist all: the store says new", C_LISTS,
     {MTA_ALL, .conn = {IP, DNSBL(2)}, ANSWER(POLICY_TEMPFAIL, POLICY_REASON_NEW, 0)},
     GREY(DECISION_REASON_NEW)},
    {"not-suspicious: clean client with rDNS", C_SUSP,
     {MTA_ALL, .conn = {IP, DNSBL(1)}}, ACCEPT(DECISION_REASON_NOT_SUSPICIOUS)},
    {"not-suspicious: no lists asked", C_SUSP,
     {MTA_ALL, .conn = {IP}}, ACCEPT(DECISION_REASON_NOT_SUSPICIOUS)},
    {"not-suspicious: SPF pass", C_SUSP,
     {MTA_ALL, .conn = {IP}, .msg = {SPF(SPF_CHECK_PASS, 0)}},
     ACCEPT(DECISION_REASON_NOT_SUSPICIOUS)},
    {"not-suspicious: every signal off", C_SUSP_OFF,
     {MTA_ALL, .conn = {IP, .no_rdns = 1, .dynamic_name = 1},
      .msg = {SPF(SPF_CHECK_FAIL, 0)}}, ACCEPT(DECISION_REASON_NOT_SUSPICIOUS)},
    {"suspicious: no rDNS asks", C_SUSP,
     {MTA_ALL, .conn = {IP, .no_rdns = 1}}, ASK},
    {"suspicious: dynamic asks", C_SUSP,
     {MTA_ALL, .conn = {IP, .dynamic_name = 1}}, ASK},
    {"suspicious: SPF softfail asks", C_SUSP,
     {MTA_ALL, .conn = {IP}, .msg = {SPF(SPF_CHECK_SOFTFAIL, 0)}}, ASK},
    {"suspicious: listed asks", C_SUSP,
     {MTA_ALL, .conn = {IP, DNSBL(2)}}, ASK},
    {"suspicious: the store's verdict as usual", C_SUSP,
     {MTA_ALL, .conn = {IP, .no_rdns = 1}, ANSWER(POLICY_PASS, POLICY_REASON_RETRY, 70)},
     RETRY(70, 1)},
    {"suspicious: auth still skips", C_SUSP,
     {MTA_ALL, .conn = {IP, .no_rdns = 1}, .msg = {.auth = 1}}, ACCEPT(DECISION_REASON_AUTH)},

    /* Abuse limits and outbound pairs (issue 14): the store's reasons. */
    {"store greytrap: greylist at RCPT", C_DEFAULT,
     {MTA_ALL, .conn = {IP}, ANSWER(POLICY_TEMPFAIL, POLICY_REASON_GREYTRAP, 0)},
     GREY(DECISION_REASON_GREYTRAP)},
    {"store rate-limit: greylist at RCPT", C_DEFAULT,
     {MTA_ALL, .conn = {IP}, ANSWER(POLICY_TEMPFAIL, POLICY_REASON_RATE, 0)},
     GREY(DECISION_REASON_RATE)},
    {"store outbound: pass, not delayed, no header", C_DEFAULT,
     {MTA_ALL, .conn = {IP}, ANSWER(POLICY_PASS, POLICY_REASON_OUTBOUND, 0)},
     PASS(DECISION_REASON_OUTBOUND)},
    {"greytrap, null sender, stage data: at DATA", C_DEFAULT,
     {MTA_ALL, .conn = {IP}, .msg = {NULL_SENDER},
      ANSWER(POLICY_TEMPFAIL, POLICY_REASON_GREYTRAP, 0)},
     GREY_DATA(DECISION_REASON_GREYTRAP)},
    {"rate-limit, stage rcpt: the configured reply", C_STAGE_RCPT,
     {MTA_ALL, .conn = {IP}, .msg = {NULL_SENDER}, ANSWER(POLICY_TEMPFAIL, POLICY_REASON_RATE, 0)},
     GREY(DECISION_REASON_RATE)},
    {"learn: a store not yet learning says greytrap", C_LEARN,
     {MTA_ALL, .conn = {IP}, ANSWER(POLICY_TEMPFAIL, POLICY_REASON_GREYTRAP, 0)},
     PASS(DECISION_REASON_LEARN)},
    {"learn: a store not yet learning says rate-limit", C_LEARN,
     {MTA_ALL, .conn = {IP}, ANSWER(POLICY_TEMPFAIL, POLICY_REASON_RATE, 0)},
     PASS(DECISION_REASON_LEARN)},
    {"learn: outbound is outbound", C_LEARN,
     {MTA_ALL, .conn = {IP}, ANSWER(POLICY_PASS, POLICY_REASON_OUTBOUND, 0)},
     PASS(DECISION_REASON_OUTBOUND)},
    /* Skips come first: a skipped client is never trapped or limited. */
    {"whitelist-client beats a greytrap answer", C_DEFAULT,
     {MTA_ALL, .conn = {IP, .wl_client = 1}, ANSWER(POLICY_TEMPFAIL, POLICY_REASON_GREYTRAP, 0)},
     ACCEPT(DECISION_REASON_WL_CLIENT)},
    {"bigsender beats a greytrap answer", C_DEFAULT,
     {MTA_ALL, .conn = {IP, .bigsender = 1}, ANSWER(POLICY_TEMPFAIL, POLICY_REASON_GREYTRAP, 0)},
     ACCEPT(DECISION_REASON_BIGSENDER)},
    {"trusted beats a rate-limit answer", C_DEFAULT,
     {MTA_ALL, .conn = {IP, .trusted = 1}, ANSWER(POLICY_TEMPFAIL, POLICY_REASON_RATE, 0)},
     ACCEPT(DECISION_REASON_TRUSTED)},
    {"whitelist-rcpt beats a greytrap answer", C_DEFAULT,
     {MTA_ALL, .conn = {IP}, .wl_rcpt = 1, ANSWER(POLICY_TEMPFAIL, POLICY_REASON_GREYTRAP, 0)},
     ACCEPT(DECISION_REASON_WL_RCPT)},
    {"dnswl beats a greytrap answer", C_LISTS,
     {MTA_ALL, .conn = {IP, DNSBL(-3)}, ANSWER(POLICY_TEMPFAIL, POLICY_REASON_GREYTRAP, 0)},
     ACCEPT(DECISION_REASON_DNSWL)},
    {"not-suspicious beats a rate-limit answer", C_SUSP,
     {MTA_ALL, .conn = {IP}, ANSWER(POLICY_TEMPFAIL, POLICY_REASON_RATE, 0)},
     ACCEPT(DECISION_REASON_NOT_SUSPICIOUS)},
    {"not-suspicious beats an outbound answer (accept, not pass)", C_SUSP,
     {MTA_ALL, .conn = {IP}, ANSWER(POLICY_PASS, POLICY_REASON_OUTBOUND, 0)},
     ACCEPT(DECISION_REASON_NOT_SUSPICIOUS)},
    {"listed, greylist all: greytrap", C_LISTS,
     {MTA_ALL, .conn = {IP, DNSBL(2)}, ANSWER(POLICY_TEMPFAIL, POLICY_REASON_GREYTRAP, 0)},
     GREY(DECISION_REASON_GREYTRAP)},
    {"listed, greylist all: outbound passes", C_LISTS,
     {MTA_ALL, .conn = {IP, DNSBL(2)}, ANSWER(POLICY_PASS, POLICY_REASON_OUTBOUND, 0)},
     PASS(DECISION_REASON_OUTBOUND)},
    {"suspicious: rate-limit", C_SUSP,
     {MTA_ALL, .conn = {IP, .no_rdns = 1}, ANSWER(POLICY_TEMPFAIL, POLICY_REASON_RATE, 0)},
     GREY(DECISION_REASON_RATE)},
    {"suspicious: outbound passes", C_SUSP,
     {MTA_ALL, .conn = {IP, .dynamic_name = 1}, ANSWER(POLICY_PASS, POLICY_REASON_OUTBOUND, 0)},
     PASS(DECISION_REASON_OUTBOUND)},
};

/* reply_eq - two replies with the same pointers (NULL equals NULL) */
static int
reply_eq(const struct decision_reply *a, const struct decision_reply *b)
{
    return a->code == b->code && a->xcode == b->xcode && a->text == b->text;
}

START_TEST(test_make)
{
    /* Prepare inputs. */
    const struct decision_case *c = &cases[_i];
    const struct decision_config *cfg = &configs[c->config];
    static const struct decision_reply none;
    struct decision_verdict v;
    int     tempfail;

    memset(&v, 0xa5, sizeof(v));         /* every field must be set */

    /* Exercise the function under test. */
    decision_make(cfg, &c->f, &v);

    /* Verify the results. */
    ck_assert_msg(v.action == c->action, "%s: got action %d, want %d", c->label, v.action,
                  c->action);
    ck_assert_msg(v.reason == c->reason, "%s: got reason %s, want %s", c->label,
                  decision_reason_name(v.reason), decision_reason_name(c->reason));
    ck_assert_msg(v.log_action != NULL && strcmp(v.log_action, c->log_action) == 0,
                  "%s: got log action \"%s\", want \"%s\"", c->label,
                  v.log_action != NULL ? v.log_action : "(null)", c->log_action);
    ck_assert_msg(v.log_stage_data == c->log_stage_data, "%s: got stage=data %d, want %d",
                  c->label, v.log_stage_data, c->log_stage_data);
    ck_assert_msg(v.delay == c->delay, "%s: got delay %lld, want %lld", c->label,
                  (long long) v.delay, (long long) c->delay);
    ck_assert_msg(v.header == c->header, "%s: got header %d, want %d", c->label, v.header,
                  c->header);
    tempfail = c->action == DECISION_TEMPFAIL || c->action == DECISION_TEMPFAIL_AT_DATA;
    ck_assert_msg(reply_eq(&v.reply, tempfail ? &cfg->reply : &none),
                  "%s: got reply %s %s %s, want %s", c->label,
                  v.reply.code != NULL ? v.reply.code : "(null)",
                  v.reply.xcode != NULL ? v.reply.xcode : "(null)",
                  v.reply.text != NULL ? v.reply.text : "(null)",
                  tempfail ? "the configured one" : "none");
}
END_TEST

/*
 * The two-call shape the callbacks use: ask, put the store's outcome into
 * the same facts, decide again. The second verdict never asks again.
 */
START_TEST(test_ask_then_decide)
{
    static const enum decision_store outcomes[] = {
        DECISION_STORE_ANSWERED, DECISION_STORE_FAILED,
    };
    const struct decision_config *cfg = &configs[C_ERR_TEMPFAIL];
    struct decision_facts f = {MTA_ALL, .conn = {IP}};
    struct decision_verdict v;

    decision_make(cfg, &f, &v);
    ck_assert_msg(v.action == DECISION_ASK_STORE, "first call: got action %d, want ask",
                  v.action);
    for (size_t i = 0; i < sizeof(outcomes) / sizeof(outcomes[0]); i++) {
        f.store = outcomes[i];
        f.policy.action = POLICY_PASS;
        f.policy.reason = POLICY_REASON_KNOWN;
        decision_make(cfg, &f, &v);
        ck_assert_msg(v.action != DECISION_ASK_STORE, "outcome %d: asked again", outcomes[i]);
        ck_assert_msg(v.reason == (outcomes[i] == DECISION_STORE_FAILED
                                   ? DECISION_REASON_STORE_ERROR : DECISION_REASON_KNOWN),
                      "outcome %d: got reason %s", outcomes[i], decision_reason_name(v.reason));
    }
}
END_TEST

/* The DATA step: what was deferred, what was let through. */
static const struct data_case {
    const char *label;
    int     deferred, accepted;
    enum decision_action action;
    enum decision_reason reason;
    const char *log_action;
} data_cases[] = {
    {"nothing deferred", 0, 0, DECISION_CONTINUE, DECISION_REASON_NONE, ""},
    {"nothing deferred, recipients accepted", 0, 1, DECISION_CONTINUE, DECISION_REASON_NONE, ""},
    {"deferred only: tempfail", 1, 0, DECISION_TEMPFAIL, DECISION_REASON_NONE, ""},
    {"deferred and accepted: continue, mixed-rcpt", 1, 1, DECISION_CONTINUE,
     DECISION_REASON_MIXED_RCPT, "pass"},
};

START_TEST(test_data)
{
    const struct data_case *c = &data_cases[_i];
    const struct decision_config *cfg = &configs[C_DEFAULT];
    struct decision_facts f = {MTA_ALL, .conn = {IP}, .msg = {NULL_SENDER}};
    struct decision_verdict v;

    f.msg.rcpt_deferred = c->deferred;
    f.msg.rcpt_accepted = c->accepted;
    decision_data(cfg, &f, &v);
    ck_assert_msg(v.action == c->action, "%s: got action %d, want %d", c->label, v.action,
                  c->action);
    ck_assert_msg(v.reason == c->reason, "%s: got reason %s, want %s", c->label,
                  decision_reason_name(v.reason), decision_reason_name(c->reason));
    ck_assert_msg(strcmp(v.log_action, c->log_action) == 0, "%s: got log action %s, want %s",
                  c->label, v.log_action, c->log_action);
    ck_assert_msg(v.log_stage_data == c->deferred, "%s: got stage=data %d", c->label,
                  v.log_stage_data);
    if (c->action == DECISION_TEMPFAIL)
        ck_assert_msg(v.reply.code != NULL && strcmp(v.reply.code, cfg->reply.code) == 0,
                      "%s: no reply", c->label);
    else
        ck_assert_msg(v.reply.code == NULL, "%s: a reply for continue", c->label);
    ck_assert_int_eq(v.header, 0);
}
END_TEST

/* The skip alone, as the callbacks ask it before the SPF check. */
START_TEST(test_skip)
{
    struct decision_facts f = {MTA_ALL, .conn = {IP}};

    ck_assert_int_eq(decision_skip(&f), DECISION_REASON_NONE);
    f.msg.auth = 1;
    ck_assert_msg(decision_skip(&f) == DECISION_REASON_AUTH, "got %s, want auth",
                  decision_reason_name(decision_skip(&f)));
    f.conn.trusted = 1;
    ck_assert_msg(decision_skip(&f) == DECISION_REASON_TRUSTED, "got %s, want trusted",
                  decision_reason_name(decision_skip(&f)));
}
END_TEST

/* The log names, exactly as the log line has always written them. */
static const struct name_case {
    enum decision_reason reason;
    const char *name;
} name_cases[] = {
    {DECISION_REASON_NONE, ""},
    {DECISION_REASON_NEW, "new"},
    {DECISION_REASON_EARLY, "early"},
    {DECISION_REASON_RETRY, "retry"},
    {DECISION_REASON_KNOWN, "known"},
    {DECISION_REASON_AWL, "awl"},
    {DECISION_REASON_TRUSTED, "trusted"},
    {DECISION_REASON_AUTH, "auth"},
    {DECISION_REASON_NO_IP, "no-ip"},
    {DECISION_REASON_WL_CLIENT, "whitelist-client"},
    {DECISION_REASON_WL_NAME, "whitelist-name"},
    {DECISION_REASON_BIGSENDER, "bigsender"},
    {DECISION_REASON_WL_RCPT, "whitelist-rcpt"},
    {DECISION_REASON_WL_SENDER, "whitelist-sender"},
    {DECISION_REASON_STORE_ERROR, "store-error"},
    {DECISION_REASON_MIXED_RCPT, "mixed-rcpt"},
    {DECISION_REASON_LEARN, "learn"},
    {DECISION_REASON_DNSWL, "dnswl"},
    {DECISION_REASON_NOT_SUSPICIOUS, "not-suspicious"},
    {DECISION_REASON_GREYTRAP, "greytrap"},
    {DECISION_REASON_RATE, "rate-limit"},
    {DECISION_REASON_OUTBOUND, "outbound"},
    {(enum decision_reason) 99, "unknown"},
};

START_TEST(test_reason_name)
{
    const struct name_case *c = &name_cases[_i];
    const char *got = decision_reason_name(c->reason);

    ck_assert_msg(strcmp(got, c->name) == 0, "reason %d: got \"%s\", want \"%s\"",
                  (int) c->reason, got, c->name);
}
END_TEST

/* The delay the store is asked with, and the suspicious bits of the verdict. */
static const struct lists_case {
    const char *label;
    int     config;
    struct decision_facts f;
    int64_t store_delay;
    unsigned suspicious;
    const char *text;                    /* decision_suspicious_format */
} lists_cases[] = {
    {"greylist all, listed: delay_listed", C_LISTS, {MTA_ALL, .conn = {IP, DNSBL(1)}},
     900, DECISION_SUSPICIOUS_DNSBL, "dnsbl"},
    {"greylist all, not listed: the configured delay, no rDNS not logged", C_LISTS,
     {MTA_ALL, .conn = {IP, DNSBL(0), .no_rdns = 1}}, 0, 0, ""},
    {"greylist all, listed, no rDNS: only dnsbl logged", C_LISTS,
     {MTA_ALL, .conn = {IP, DNSBL(5), .no_rdns = 1}}, 900, DECISION_SUSPICIOUS_DNSBL, "dnsbl"},
    {"suspicious, below its threshold 2: no delay_listed", C_SUSP,
     {MTA_ALL, .conn = {IP, DNSBL(1), .no_rdns = 1}}, 0, DECISION_SUSPICIOUS_NO_RDNS, "no-rdns"},
    {"suspicious, every signal", C_SUSP,
     {MTA_ALL, .conn = {IP, DNSBL(2), .no_rdns = 1, .dynamic_name = 1},
      .msg = {SPF(SPF_CHECK_FAIL, 0)}}, 900,
     DECISION_SUSPICIOUS_DNSBL | DECISION_SUSPICIOUS_NO_RDNS | DECISION_SUSPICIOUS_DYNAMIC
     | DECISION_SUSPICIOUS_SPF, "dnsbl,no-rdns,dynamic,spf"},
    {"suspicious, dynamic and spf", C_SUSP,
     {MTA_ALL, .conn = {IP, .dynamic_name = 1}, .msg = {SPF(SPF_CHECK_SOFTFAIL, 0)}}, 0,
     DECISION_SUSPICIOUS_DYNAMIC | DECISION_SUSPICIOUS_SPF, "dynamic,spf"},
    {"signals off: listed still counts", C_SUSP_OFF,
     {MTA_ALL, .conn = {IP, DNSBL(1), .no_rdns = 1, .dynamic_name = 1}}, 900,
     DECISION_SUSPICIOUS_DNSBL, "dnsbl"},
};

START_TEST(test_lists)
{
    const struct lists_case *c = &lists_cases[_i];
    struct decision_verdict v;
    char    buf[64];

    memset(&v, 0xa5, sizeof(v));
    decision_make(&configs[c->config], &c->f, &v);
    ck_assert_msg(v.action == DECISION_ASK_STORE, "%s: got action %d, want ask", c->label,
                  v.action);
    ck_assert_msg(v.store_delay == c->store_delay, "%s: got store delay %lld, want %lld",
                  c->label, (long long) v.store_delay, (long long) c->store_delay);
    ck_assert_msg(v.suspicious == c->suspicious, "%s: got suspicious 0x%x, want 0x%x",
                  c->label, v.suspicious, c->suspicious);
    ck_assert_str_eq(decision_suspicious_format(v.suspicious, buf, sizeof(buf)), c->text);
    /* The store's answer keeps the bits; only ASK carries the delay. */
    {
        struct decision_facts f = c->f;

        f.store = DECISION_STORE_ANSWERED;
        f.policy.action = POLICY_TEMPFAIL;
        f.policy.reason = POLICY_REASON_NEW;
        decision_make(&configs[c->config], &f, &v);
        ck_assert_msg(v.action == DECISION_TEMPFAIL && v.suspicious == c->suspicious
                      && v.store_delay == 0, "%s: after the store: action %d, bits 0x%x",
                      c->label, v.action, v.suspicious);
    }
}
END_TEST

/* A short buffer cuts at a whole name. */
START_TEST(test_suspicious_format)
{
    char    buf[12];

    ck_assert_str_eq(decision_suspicious_format(0xf, buf, sizeof(buf)), "dnsbl");
    ck_assert_str_eq(decision_suspicious_format(0x6, buf, sizeof(buf)), "no-rdns");
    ck_assert_str_eq(decision_suspicious_format(0, buf, sizeof(buf)), "");
}
END_TEST

/* decision_config_init copies the keys and turns an empty xcode into NULL. */
START_TEST(test_config_init)
{
    struct cfg *c = cfg_defaults();
    struct decision_config dc;
    char    err[CFG_ERRLEN];

    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(cfg_set(c, "on_store_error", "tempfail", err, sizeof(err)), 0);
    ck_assert_int_eq(cfg_set(c, "null_sender_stage", "rcpt", err, sizeof(err)), 0);
    ck_assert_int_eq(cfg_set(c, "header", "no", err, sizeof(err)), 0);
    ck_assert_int_eq(cfg_set(c, "reply", "450 4.2.0 Come back", err, sizeof(err)), 0);
    decision_config_init(&dc, c);
    ck_assert_int_eq(dc.learn, 0);
    ck_assert_int_eq(cfg_set(c, "mode", "learn", err, sizeof(err)), 0);
    decision_config_init(&dc, c);
    ck_assert_int_eq(dc.learn, 1);
    ck_assert_int_eq(dc.on_store_error, CFG_ON_ERROR_TEMPFAIL);
    ck_assert_int_eq(dc.null_sender_stage, CFG_NULL_STAGE_RCPT);
    ck_assert_int_eq(dc.header, 0);
    ck_assert_str_eq(dc.reply.code, "450");
    ck_assert_str_eq(dc.reply.xcode, "4.2.0");
    ck_assert_str_eq(dc.reply.text, "Come back");
    ck_assert_int_eq(dc.greylist_suspicious, 0);
    ck_assert_int_eq(dc.dnsbl_threshold, 1);
    ck_assert_int_eq(dc.dnswl_threshold, -1);
    ck_assert_int_eq(dc.delay_listed, 900);
    ck_assert_int_eq(dc.suspicious_no_rdns && dc.suspicious_dynamic && dc.suspicious_spf, 1);
    ck_assert_int_eq(cfg_set(c, "greylist", "suspicious", err, sizeof(err)), 0);
    ck_assert_int_eq(cfg_set(c, "suspicious_spf", "no", err, sizeof(err)), 0);
    decision_config_init(&dc, c);
    ck_assert_int_eq(dc.greylist_suspicious, 1);
    ck_assert_int_eq(dc.suspicious_spf, 0);

    c->reply_xcode[0] = '\0';
    decision_config_init(&dc, c);
    ck_assert_msg(dc.reply.xcode == NULL, "empty xcode: got \"%s\", want NULL", dc.reply.xcode);
    cfg_free(c);
}
END_TEST

/* decision_suite - every test of this file */
static Suite *
decision_suite(void)
{
    Suite  *s = suite_create("decision");
    TCase  *tc = tcase_create("decision");

    tcase_add_loop_test(tc, test_make, 0, sizeof(cases) / sizeof(cases[0]));
    tcase_add_test(tc, test_ask_then_decide);
    tcase_add_loop_test(tc, test_data, 0, sizeof(data_cases) / sizeof(data_cases[0]));
    tcase_add_test(tc, test_skip);
    tcase_add_loop_test(tc, test_reason_name, 0, sizeof(name_cases) / sizeof(name_cases[0]));
    tcase_add_test(tc, test_config_init);
    tcase_add_loop_test(tc, test_lists, 0, sizeof(lists_cases) / sizeof(lists_cases[0]));
    tcase_add_test(tc, test_suspicious_format);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return daemon_run_suites(decision_suite(), NULL) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_policy.c - the pure decision: every row of the table in policy.h,
 * its boundaries, the AWL's one-count-per-hour rule, and clock skew; the
 * abuse rows of policy_decide_facts (greytrap, outbound, the new-triplet
 * cap) and their order against the table, learn mode and delay_listed.
 *
 * One table gives stored records in and the verdict and records out; a
 * scenario test then runs the decision against an in-memory "store" of
 * one sender domain over several hours, as a real backend would apply it.
 */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "policy.h"

#define T   INT64_C(1700000000)          /* an arbitrary "now" */
#define D   300                          /* delay */
#define RW  (48 * 3600)                  /* retry_window */
#define PT  (36 * 86400)                 /* pass_ttl */
#define AT  (36 * 86400)                 /* awl_ttl */

enum { P_DEFAULT, P_NO_AWL, P_NO_DELAY, P_NEG_DELAY, P_HUGE_TTL, P_LEARN, P_LEARN_NO_AWL };

static const struct policy_params params[] = {
    [P_DEFAULT] = {D, RW, PT, 3, AT},
    [P_NO_AWL] = {D, RW, PT, 0, AT},
    [P_NO_DELAY] = {0, RW, PT, 3, AT},
    [P_NEG_DELAY] = {-60, RW, PT, 3, AT},  /* nonsense, but defined */
    [P_HUGE_TTL] = {D, INT64_MAX, INT64_MAX, 3, INT64_MAX},
    [P_LEARN] = {D, RW, PT, 3, AT, 1},
    [P_LEARN_NO_AWL] = {D, RW, PT, 0, AT, 1},
};

#define NONE 0, {0, 0, 0}
#define GREY(f, p, e) 1, {(f), (p), (e)}
#define AWL(c, l, e) 1, {(c), (l), (e)}
#define PASS POLICY_PASS
#define TEMPFAIL POLICY_TEMPFAIL

static const struct decide_case {
    const char *label;
    int     params;
    int64_t now;
    int     has_grey;
    struct grey_record grey;
    int     has_awl;
    struct awl_record awl;
    enum policy_action action;
    enum policy_reason reason;
    int64_t delayed;
    int     grey_write;
    struct grey_record want_grey;
    int     awl_write;
    struct awl_record want_awl;
} cases[] = {
    /* New: nothing stored, or only expired records. */
    {"new: nothing stored", P_DEFAULT, T, NONE, NONE,
     TEMPFAIL, POLICY_REASON_NEW, 0, GREY(T, 0, T + RW), NONE},
    {"new: expired pending grey", P_DEFAULT, T, GREY(T - RW - 10, 0, T - 10), NONE,
     TEMPFAIL, POLICY_REASON_NEW, 0, GREY(T, 0, T + RW), NONE},
    {"new: grey expiring exactly now", P_DEFAULT, T, GREY(T - 1000, 0, T), NONE,
     TEMPFAIL, POLICY_REASON_NEW, 0, GREY(T, 0, T + RW), NONE},
    {"new: expired passed grey", P_DEFAULT, T, GREY(T - PT - 99, T - PT - 9, T), NONE,
     TEMPFAIL, POLICY_REASON_NEW, 0, GREY(T, 0, T + RW), NONE},

    /* Early: pending and less than delay elapsed; nothing written. */
    {"early: delay - 1", P_DEFAULT, T, GREY(T - D + 1, 0, T + 1000), NONE,
     TEMPFAIL, POLICY_REASON_EARLY, 0, NONE, NONE},
    {"early: same second", P_DEFAULT, T, GREY(T, 0, T + RW), NONE,
     TEMPFAIL, POLICY_REASON_EARLY, 0, NONE, NONE},
    {"early: clock skew", P_DEFAULT, T, GREY(T + 100, 0, T + RW), NONE,
     TEMPFAIL, POLICY_REASON_EARLY, 0, NONE, NONE},
    {"early: clock skew, delay 0", P_NO_DELAY, T, GREY(T + 1, 0, T + RW), NONE,
     TEMPFAIL, POLICY_REASON_EARLY, 0, NONE, NONE},
    {"early: clock skew, negative delay", P_NEG_DELAY, T, GREY(T + 1, 0, T + RW), NONE,
     TEMPFAIL, POLICY_REASON_EARLY, 0, NONE, NONE},
    {"early: AWL below threshold untouched", P_DEFAULT, T, GREY(T - 10, 0, T + RW),
     AWL(2, T - 7200, T + 100),
     TEMPFAIL, POLICY_REASON_EARLY, 0, NONE, NONE},

    /* Retry: pending and at least delay elapsed. */
    {"retry: exactly delay", P_DEFAULT, T, GREY(T - D, 0, T + 1000), NONE,
     PASS, POLICY_REASON_RETRY, D, GREY(T - D, T, T + PT), AWL(1, T, T + AT)},
    {"retry: delay 0, same second", P_NO_DELAY, T, GREY(T, 0, T + RW), NONE,
     PASS, POLICY_REASON_RETRY, 0, GREY(T, T, T + PT), AWL(1, T, T + AT)},
    {"retry: an hour later", P_DEFAULT, T, GREY(T - 3600, 0, T + 1), NONE,
     PASS, POLICY_REASON_RETRY, 3600, GREY(T - 3600, T, T + PT), AWL(1, T, T + AT)},
    {"retry: AWL counted after 3600 s", P_DEFAULT, T, GREY(T - D, 0, T + 1),
     AWL(1, T - 3600, T + 100),
     PASS, POLICY_REASON_RETRY, D, GREY(T - D, T, T + PT), AWL(2, T, T + AT)},
    {"retry: AWL not counted after 3599 s", P_DEFAULT, T, GREY(T - D, 0, T + 1),
     AWL(1, T - 3599, T + 100),
     PASS, POLICY_REASON_RETRY, D, GREY(T - D, T, T + PT), AWL(1, T - 3599, T + AT)},
    {"retry: AWL reaches threshold", P_DEFAULT, T, GREY(T - D, 0, T + 1),
     AWL(2, T - 7200, T + 100),
     PASS, POLICY_REASON_RETRY, D, GREY(T - D, T, T + PT), AWL(3, T, T + AT)},
    {"retry: AWL last count in the future", P_DEFAULT, T, GREY(T - D, 0, T + 1),
     AWL(1, T + 50, T + 100),
     PASS, POLICY_REASON_RETRY, D, GREY(T - D, T, T + PT), AWL(1, T + 50, T + AT)},
    {"retry: expired AWL restarts at 1", P_DEFAULT, T, GREY(T - D, 0, T + 1),
     AWL(2, T - 100000, T),
     PASS, POLICY_REASON_RETRY, D, GREY(T - D, T, T + PT), AWL(1, T, T + AT)},
    {"retry: threshold 0 writes no AWL", P_NO_AWL, T, GREY(T - D, 0, T + 1), NONE,
     PASS, POLICY_REASON_RETRY, D, GREY(T - D, T, T + PT), NONE},
    {"retry: threshold 0 ignores stored AWL", P_NO_AWL, T, GREY(T - D, 0, T + 1),
     AWL(1, T - 7200, T + 100),
     PASS, POLICY_REASON_RETRY, D, GREY(T - D, T, T + PT), NONE},

    /* Known: passed before; renewed, AWL untouched. */
    {"known", P_DEFAULT, T, GREY(T - 5000, T - 4000, T + 10), NONE,
     PASS, POLICY_REASON_KNOWN, 0, GREY(T - 5000, T - 4000, T + PT), NONE},
    {"known: AWL below threshold untouched", P_DEFAULT, T, GREY(T - 5000, T - 4000, T + 10),
     AWL(2, T - 7200, T + 100),
     PASS, POLICY_REASON_KNOWN, 0, GREY(T - 5000, T - 4000, T + PT), NONE},
    {"known: threshold 0", P_NO_AWL, T, GREY(T - 5000, T - 4000, T + 10),
     AWL(9, T - 7200, T + 100),
     PASS, POLICY_REASON_KNOWN, 0, GREY(T - 5000, T - 4000, T + PT), NONE},

    /* AWL: at or over threshold and live; grey untouched whatever it is. */
    {"awl: at threshold, no grey", P_DEFAULT, T, NONE, AWL(3, T - 100, T + 100),
     PASS, POLICY_REASON_AWL, 0, NONE, AWL(3, T - 100, T + AT)},
    {"awl: over threshold, pending grey", P_DEFAULT, T, GREY(T, 0, T + RW),
     AWL(7, T - 100, T + 1),
     PASS, POLICY_REASON_AWL, 0, NONE, AWL(7, T - 100, T + AT)},
    {"awl: passed grey not renewed", P_DEFAULT, T, GREY(T - 5000, T - 4000, T + 10),
     AWL(3, T - 100, T + 100),
     PASS, POLICY_REASON_AWL, 0, NONE, AWL(3, T - 100, T + AT)},
    {"awl: below threshold is new", P_DEFAULT, T, NONE, AWL(2, T - 100, T + 100),
     TEMPFAIL, POLICY_REASON_NEW, 0, GREY(T, 0, T + RW), NONE},
    {"awl: expired is ignored", P_DEFAULT, T, NONE, AWL(3, T - 100, T),
     TEMPFAIL, POLICY_REASON_NEW, 0, GREY(T, 0, T + RW), NONE},
    {"awl: threshold 0 disables", P_NO_AWL, T, NONE, AWL(100, T - 100, T + 100),
     TEMPFAIL, POLICY_REASON_NEW, 0, GREY(T, 0, T + RW), NONE},

    /* Corrupt or extreme records: saturated, never undefined. */
    {"huge ttl saturates", P_HUGE_TTL, T, NONE, NONE,
     TEMPFAIL, POLICY_REASON_NEW, 0, GREY(T, 0, INT64_MAX), NONE},
    {"first_seen INT64_MIN", P_DEFAULT, T, GREY(INT64_MIN, 0, INT64_MAX), NONE,
     PASS, POLICY_REASON_RETRY, INT64_MAX, GREY(INT64_MIN, T, T + PT), AWL(1, T, T + AT)},
    {"first_seen INT64_MAX", P_DEFAULT, T, GREY(INT64_MAX, 0, INT64_MAX), NONE,
     TEMPFAIL, POLICY_REASON_EARLY, 0, NONE, NONE},
    {"last_count INT64_MIN", P_DEFAULT, T, GREY(T - D, 0, T + 1),
     AWL(0, INT64_MIN, T + 1),
     PASS, POLICY_REASON_RETRY, D, GREY(T - D, T, T + PT), AWL(1, T, T + AT)},

    /* Learn mode: what would be a tempfail passes and is stored as passed. */
    {"learn: nothing stored", P_LEARN, T, NONE, NONE,
     PASS, POLICY_REASON_LEARN, 0, GREY(T, T, T + PT), AWL(1, T, T + AT)},
    {"learn: nothing stored, AWL off", P_LEARN_NO_AWL, T, NONE, NONE,
     PASS, POLICY_REASON_LEARN, 0, GREY(T, T, T + PT), NONE},
    {"learn: early keeps first_seen", P_LEARN, T, GREY(T - 10, 0, T + RW),
     AWL(1, T - 7200, T + 100),
     PASS, POLICY_REASON_LEARN, 0, GREY(T - 10, T, T + PT), AWL(2, T, T + AT)},
    {"learn: retry is a retry", P_LEARN, T, GREY(T - D, 0, T + 1000), NONE,
     PASS, POLICY_REASON_RETRY, D, GREY(T - D, T, T + PT), AWL(1, T, T + AT)},
    {"learn: known is known", P_LEARN, T, GREY(T - 5000, T - 4000, T + 10), NONE,
     PASS, POLICY_REASON_KNOWN, 0, GREY(T - 5000, T - 4000, T + PT), NONE},
    {"learn: AWL hit is awl", P_LEARN, T, NONE, AWL(3, T - 100, T + 100),
     PASS, POLICY_REASON_AWL, 0, NONE, AWL(3, T - 100, T + AT)},
};

START_TEST(test_decide)
{
    const struct decide_case *c = &cases[_i];
    struct policy_verdict v;

    memset(&v, 0xa5, sizeof(v));         /* every field must be set */
    policy_decide(&params[c->params], c->now, c->has_grey ? &c->grey : NULL,
                  c->has_awl ? &c->awl : NULL, &v);

    ck_assert_msg(v.action == c->action, "%s: got action %d, want %d", c->label, v.action,
                  c->action);
    ck_assert_msg(v.reason == c->reason, "%s: got reason %s, want %s", c->label,
                  policy_reason_name(v.reason), policy_reason_name(c->reason));
    ck_assert_msg(v.now == c->now, "%s: got now %lld, want %lld", c->label,
                  (long long) v.now, (long long) c->now);
    ck_assert_msg(v.delayed == c->delayed, "%s: got delayed %lld, want %lld", c->label,
                  (long long) v.delayed, (long long) c->delayed);
    ck_assert_msg(v.grey_write == c->grey_write, "%s: got grey_write %d, want %d", c->label,
                  v.grey_write, c->grey_write);
    if (c->grey_write)
        ck_assert_msg(v.grey.first_seen == c->want_grey.first_seen
                      && v.grey.passed == c->want_grey.passed
                      && v.grey.expires == c->want_grey.expires,
                      "%s: got grey {%lld, %lld, %lld}, want {%lld, %lld, %lld}", c->label,
                      (long long) v.grey.first_seen, (long long) v.grey.passed,
                      (long long) v.grey.expires, (long long) c->want_grey.first_seen,
                      (long long) c->want_grey.passed, (long long) c->want_grey.expires);
    ck_assert_msg(v.awl_write == c->awl_write, "%s: got awl_write %d, want %d", c->label,
                  v.awl_write, c->awl_write);
    if (c->awl_write)
        ck_assert_msg(v.awl.count == c->want_awl.count
                      && v.awl.last_count == c->want_awl.last_count
                      && v.awl.expires == c->want_awl.expires,
                      "%s: got awl {%lld, %lld, %lld}, want {%lld, %lld, %lld}", c->label,
                      (long long) v.awl.count, (long long) v.awl.last_count,
                      (long long) v.awl.expires, (long long) c->want_awl.count,
                      (long long) c->want_awl.last_count, (long long) c->want_awl.expires);
}
END_TEST

/*
 * The abuse rows (policy_decide_facts): cap 2, traps for GT, outbound
 * pairs on; the same with the delay a listed client gets (delay_listed,
 * as the stores pass it in params.delay), in learn mode, and all off.
 */
#define GT  86400                        /* greytrap_ttl */
#define OT  (90 * 86400)                 /* outbound_ttl */
#define DL  900                          /* delay_listed */
#define RWIN POLICY_RATE_WINDOW

enum { A_ON, A_LISTED, A_LEARN, A_OFF };

static const struct policy_params abuse_params[] = {
    [A_ON] = {D, RW, PT, 3, AT, 0, 2, GT, OT},
    [A_LISTED] = {DL, RW, PT, 3, AT, 0, 2, GT, OT},
    [A_LEARN] = {D, RW, PT, 3, AT, 1, 2, GT, OT},
    [A_OFF] = {D, RW, PT, 3, AT, 0, 0, 0, 0},
};

#define RATE(c, e) 1, {(c), (e)}
#define NORATE 0, {0, 0}
#define F_TRAP_HIT  1, 0, 0                /* trap_hit, trapped_until, outbound */
#define F_TRAPPED(u) 0, (u), 0
#define F_OUTBOUND  0, 0, 1
#define F_NONE      0, 0, 0
#define NOWRITE     0, {0, 0}
#define RWRITE(c, e) 1, {(c), (e)}

static const struct facts_case {
    const char *label;
    int     params;
    int     has_grey;
    struct grey_record grey;
    int     has_awl;
    struct awl_record awl;
    int     has_rate;
    struct rate_record rate;
    int     trap_hit;
    int64_t trapped_until;
    int     outbound;
    enum policy_action action;
    enum policy_reason reason;
    int     grey_write;                  /* want grey_write (records as in cases[]) */
    int     awl_write;
    int     rate_write;
    struct rate_record want_rate;
    int64_t trap_expires;                /* want trap_write with it; 0: no trap write */
} facts_cases[] = {
    /* A greytrap hit traps the client key and beats every pass. */
    {"trap hit: nothing stored", A_ON, NONE, NONE, NORATE, F_TRAP_HIT,
     TEMPFAIL, POLICY_REASON_GREYTRAP, 0, 0, NOWRITE, T + GT},
    {"trap hit beats the AWL", A_ON, NONE, AWL(9, T - 100, T + 100), NORATE, F_TRAP_HIT,
     TEMPFAIL, POLICY_REASON_GREYTRAP, 0, 0, NOWRITE, T + GT},
    {"trap hit beats a passed triplet", A_ON, GREY(T - 5000, T - 4000, T + 10), NONE, NORATE,
     F_TRAP_HIT, TEMPFAIL, POLICY_REASON_GREYTRAP, 0, 0, NOWRITE, T + GT},
    {"trap hit beats an outbound pair", A_ON, NONE, NONE, NORATE, 1, 0, 1,
     TEMPFAIL, POLICY_REASON_GREYTRAP, 0, 0, NOWRITE, T + GT},
    {"trap hit of a trapped key renews the trap", A_ON, NONE, NONE, NORATE, 1, T + 5, 0,
     TEMPFAIL, POLICY_REASON_GREYTRAP, 0, 0, NOWRITE, T + GT},
    {"trap hit with the cap reached: greytrap, not rate-limit", A_ON, NONE, NONE,
     RATE(2, T + 100), F_TRAP_HIT, TEMPFAIL, POLICY_REASON_GREYTRAP, 0, 0, NOWRITE, T + GT},
    {"trap hit, listed client: greytrap", A_LISTED, NONE, NONE, NORATE, F_TRAP_HIT,
     TEMPFAIL, POLICY_REASON_GREYTRAP, 0, 0, NOWRITE, T + GT},
    {"trapped key: a due retry is tempfailed, nothing written", A_ON,
     GREY(T - D, 0, T + 1000), NONE, NORATE, F_TRAPPED(T + 1),
     TEMPFAIL, POLICY_REASON_GREYTRAP, 0, 0, NOWRITE, 0},
    {"trapped key: the AWL does not pass", A_ON, NONE, AWL(9, T - 100, T + 100), NORATE,
     F_TRAPPED(T + 1), TEMPFAIL, POLICY_REASON_GREYTRAP, 0, 0, NOWRITE, 0},
    {"trapped key: an outbound pair does not pass", A_ON, NONE, NONE, NORATE, 0, T + 1, 1,
     TEMPFAIL, POLICY_REASON_GREYTRAP, 0, 0, NOWRITE, 0},
    {"trap expiring exactly now: the table again (retry)", A_ON,
     GREY(T - D, 0, T + 1000), NONE, NORATE, F_TRAPPED(T),
     PASS, POLICY_REASON_RETRY, 1, 1, NOWRITE, 0},
    {"traps off: a hit is a new triplet", A_OFF, NONE, NONE, NORATE, F_TRAP_HIT,
     TEMPFAIL, POLICY_REASON_NEW, 1, 0, NOWRITE, 0},
    {"traps off: a stored trap is ignored", A_OFF, GREY(T - 5000, T - 4000, T + 10), NONE,
     NORATE, F_TRAPPED(T + 100), PASS, POLICY_REASON_KNOWN, 1, 0, NOWRITE, 0},
    {"learn: a trap hit is learnt, not trapped", A_LEARN, NONE, NONE, NORATE, F_TRAP_HIT,
     PASS, POLICY_REASON_LEARN, 1, 1, NOWRITE, 0},
    {"learn: a trapped key is learnt", A_LEARN, NONE, NONE, NORATE, F_TRAPPED(T + 100),
     PASS, POLICY_REASON_LEARN, 1, 1, NOWRITE, 0},

    /* An outbound pair passes before the table and the cap, writing nothing. */
    {"outbound: nothing stored", A_ON, NONE, NONE, NORATE, F_OUTBOUND,
     PASS, POLICY_REASON_OUTBOUND, 0, 0, NOWRITE, 0},
    {"outbound: a pending triplet, early", A_ON, GREY(T - 10, 0, T + RW), NONE, NORATE,
     F_OUTBOUND, PASS, POLICY_REASON_OUTBOUND, 0, 0, NOWRITE, 0},
    {"outbound beats the cap", A_ON, NONE, NONE, RATE(2, T + 100), F_OUTBOUND,
     PASS, POLICY_REASON_OUTBOUND, 0, 0, NOWRITE, 0},
    {"outbound beats the AWL", A_ON, NONE, AWL(9, T - 100, T + 100), NORATE, F_OUTBOUND,
     PASS, POLICY_REASON_OUTBOUND, 0, 0, NOWRITE, 0},
    {"outbound, listed client: passes at once", A_LISTED, NONE, NONE, NORATE, F_OUTBOUND,
     PASS, POLICY_REASON_OUTBOUND, 0, 0, NOWRITE, 0},
    {"outbound in learn mode: outbound", A_LEARN, NONE, NONE, NORATE, F_OUTBOUND,
     PASS, POLICY_REASON_OUTBOUND, 0, 0, NOWRITE, 0},
    {"outbound off: a recorded pair is ignored", A_OFF, NONE, NONE, NORATE, F_OUTBOUND,
     TEMPFAIL, POLICY_REASON_NEW, 1, 0, NOWRITE, 0},

    /* The cap counts first sightings only; beyond it nothing is stored. */
    {"cap: first new triplet starts a window", A_ON, NONE, NONE, NORATE, F_NONE,
     TEMPFAIL, POLICY_REASON_NEW, 1, 0, RWRITE(1, T + RWIN), 0},
    {"cap: second keeps the window's end", A_ON, NONE, NONE, RATE(1, T + 100), F_NONE,
     TEMPFAIL, POLICY_REASON_NEW, 1, 0, RWRITE(2, T + 100), 0},
    {"cap: reached, rate-limit, nothing written", A_ON, NONE, NONE, RATE(2, T + 100),
     F_NONE, TEMPFAIL, POLICY_REASON_RATE, 0, 0, NOWRITE, 0},
    {"cap: a corrupt count over it is still the cap", A_ON, NONE, NONE,
     RATE(INT64_MAX, T + 100), F_NONE, TEMPFAIL, POLICY_REASON_RATE, 0, 0, NOWRITE, 0},
    {"cap: an expired pending grey is a first sighting", A_ON, GREY(T - RW - 1, 0, T - 1),
     NONE, RATE(2, T + 100), F_NONE, TEMPFAIL, POLICY_REASON_RATE, 0, 0, NOWRITE, 0},
    {"cap: window ending exactly now restarts", A_ON, NONE, NONE, RATE(2, T), F_NONE,
     TEMPFAIL, POLICY_REASON_NEW, 1, 0, RWRITE(1, T + RWIN), 0},
    {"cap reached: an early retry stays early", A_ON, GREY(T - 10, 0, T + RW), NONE,
     RATE(2, T + 100), F_NONE, TEMPFAIL, POLICY_REASON_EARLY, 0, 0, NOWRITE, 0},
    {"cap reached: a due retry passes", A_ON, GREY(T - D, 0, T + RW), NONE,
     RATE(2, T + 100), F_NONE, PASS, POLICY_REASON_RETRY, 1, 1, NOWRITE, 0},
    {"cap reached: a known triplet passes", A_ON, GREY(T - 5000, T - 4000, T + 10), NONE,
     RATE(2, T + 100), F_NONE, PASS, POLICY_REASON_KNOWN, 1, 0, NOWRITE, 0},
    {"cap reached: the AWL passes", A_ON, NONE, AWL(3, T - 100, T + 100),
     RATE(2, T + 100), F_NONE, PASS, POLICY_REASON_AWL, 0, 1, NOWRITE, 0},
    {"cap reached, listed client: rate-limit", A_LISTED, NONE, NONE, RATE(2, T + 100),
     F_NONE, TEMPFAIL, POLICY_REASON_RATE, 0, 0, NOWRITE, 0},
    {"cap, listed client: a retry after delay but before delay_listed is early", A_LISTED,
     GREY(T - D, 0, T + RW), NONE, RATE(2, T + 100), F_NONE,
     TEMPFAIL, POLICY_REASON_EARLY, 0, 0, NOWRITE, 0},
    {"cap, listed client: counted as any new triplet", A_LISTED, NONE, NONE,
     RATE(1, T + 100), F_NONE, TEMPFAIL, POLICY_REASON_NEW, 1, 0, RWRITE(2, T + 100), 0},
    {"cap in learn mode: learnt, not counted", A_LEARN, NONE, NONE, RATE(2, T + 100),
     F_NONE, PASS, POLICY_REASON_LEARN, 1, 1, NOWRITE, 0},
    {"cap off: a full counter is ignored and not written", A_OFF, NONE, NONE,
     RATE(100, T + 100), F_NONE, TEMPFAIL, POLICY_REASON_NEW, 1, 0, NOWRITE, 0},
};

START_TEST(test_decide_facts)
{
    const struct facts_case *c = &facts_cases[_i];
    struct policy_facts f;
    struct policy_verdict v;

    memset(&f, 0, sizeof(f));
    f.grey = c->has_grey ? &c->grey : NULL;
    f.awl = c->has_awl ? &c->awl : NULL;
    f.rate = c->has_rate ? &c->rate : NULL;
    f.trap_hit = c->trap_hit;
    f.trapped_until = c->trapped_until;
    f.outbound = c->outbound;
    memset(&v, 0xa5, sizeof(v));
    policy_decide_facts(&abuse_params[c->params], T, &f, &v);

    ck_assert_msg(v.action == c->action && v.reason == c->reason,
                  "%s: got %d %s, want %d %s", c->label, v.action,
                  policy_reason_name(v.reason), c->action, policy_reason_name(c->reason));
    ck_assert_msg(v.now == T, "%s: now %lld", c->label, (long long) v.now);
    ck_assert_msg(v.grey_write == c->grey_write, "%s: grey_write %d, want %d", c->label,
                  v.grey_write, c->grey_write);
    ck_assert_msg(v.awl_write == c->awl_write, "%s: awl_write %d, want %d", c->label,
                  v.awl_write, c->awl_write);
    ck_assert_msg(v.rate_write == c->rate_write, "%s: rate_write %d, want %d", c->label,
                  v.rate_write, c->rate_write);
    if (c->rate_write)
        ck_assert_msg(v.rate.count == c->want_rate.count
                      && v.rate.expires == c->want_rate.expires,
                      "%s: rate {%lld, %lld}, want {%lld, %lld}", c->label,
                      (long long) v.rate.count, (long long) v.rate.expires,
                      (long long) c->want_rate.count, (long long) c->want_rate.expires);
    ck_assert_msg(v.trap_write == (c->trap_expires != 0), "%s: trap_write %d", c->label,
                  v.trap_write);
    if (c->trap_expires != 0)
        ck_assert_msg(v.trap_expires == c->trap_expires, "%s: trap_expires %lld, want %lld",
                      c->label, (long long) v.trap_expires, (long long) c->trap_expires);
}
END_TEST

/* Eight clients' worth of new triplets under one key: the cap holds, the window reopens. */
START_TEST(test_cap_scenario)
{
    const struct policy_params *p = &abuse_params[A_ON];
    struct policy_facts f;
    struct policy_verdict v;
    struct rate_record rate;
    int     has_rate = 0, tempfails = 0, limited = 0;

    for (int i = 0; i < 8; i++) {
        memset(&f, 0, sizeof(f));
        f.rate = has_rate ? &rate : NULL;
        policy_decide_facts(p, T + i, &f, &v);
        ck_assert(v.action == POLICY_TEMPFAIL);
        if (v.reason == POLICY_REASON_NEW)
            tempfails++;
        else if (v.reason == POLICY_REASON_RATE) {
            limited++;
            ck_assert_int_eq(v.grey_write, 0);
        }
        if (v.rate_write) {
            has_rate = 1;
            rate = v.rate;
        }
    }
    ck_assert_int_eq(tempfails, 2);
    ck_assert_int_eq(limited, 6);
    ck_assert_int_eq(rate.count, 2);
    ck_assert_int_eq(rate.expires, T + RWIN);

    memset(&f, 0, sizeof(f));
    f.rate = &rate;
    policy_decide_facts(p, rate.expires, &f, &v);
    ck_assert_msg(v.reason == POLICY_REASON_NEW, "window over: %s", policy_reason_name(v.reason));
    ck_assert_int_eq(v.rate.count, 1);
}
END_TEST

/*
 * A tiny store: one AWL record for the (client, domain) pair and a grey
 * record per recipient, updated from each verdict as a backend would.
 */
struct mem_store {
    int     has_grey[8];
    struct grey_record grey[8];
    int     has_awl;
    struct awl_record awl;
};

/* mem_decide - decide for recipient r at now and apply the writes */
static struct policy_verdict
mem_decide(struct mem_store *st, const struct policy_params *p, int r, int64_t now)
{
    struct policy_verdict v;

    policy_decide(p, now, st->has_grey[r] ? &st->grey[r] : NULL,
                  st->has_awl ? &st->awl : NULL, &v);
    if (v.grey_write) {
        st->has_grey[r] = 1;
        st->grey[r] = v.grey;
    }
    if (v.awl_write) {
        st->has_awl = 1;
        st->awl = v.awl;
    }
    return v;
}

#define EXPECT(v, act, rsn, label) \
    ck_assert_msg((v).action == (act) && (v).reason == (rsn), "%s: got %s, want %s", \
                  (label), policy_reason_name((v).reason), policy_reason_name(rsn))

/* One sender domain, five recipients over three hours: counts once per hour. */
START_TEST(test_awl_scenario)
{
    const struct policy_params *p = &params[P_DEFAULT];
    struct mem_store st;
    struct policy_verdict v;

    memset(&st, 0, sizeof(st));

    v = mem_decide(&st, p, 0, T);
    EXPECT(v, TEMPFAIL, POLICY_REASON_NEW, "rcpt 0 first");
    v = mem_decide(&st, p, 0, T + 60);
    EXPECT(v, TEMPFAIL, POLICY_REASON_EARLY, "rcpt 0 early");
    v = mem_decide(&st, p, 0, T + D);
    EXPECT(v, PASS, POLICY_REASON_RETRY, "rcpt 0 retry");
    ck_assert_int_eq(v.delayed, D);
    ck_assert_int_eq(st.awl.count, 1);

    /* A second pass within the hour does not count. */
    mem_decide(&st, p, 1, T + 400);
    v = mem_decide(&st, p, 1, T + 400 + D);
    EXPECT(v, PASS, POLICY_REASON_RETRY, "rcpt 1 retry");
    ck_assert_int_eq(st.awl.count, 1);
    ck_assert_int_eq(st.awl.last_count, T + D);

    /* A known triplet passing does not count either. */
    v = mem_decide(&st, p, 0, T + D + 3600);
    EXPECT(v, PASS, POLICY_REASON_KNOWN, "rcpt 0 known");
    ck_assert_int_eq(st.awl.count, 1);

    /* A third pass 3600 s after the counted one counts. */
    mem_decide(&st, p, 2, T + 3600);
    v = mem_decide(&st, p, 2, T + D + 3600);
    EXPECT(v, PASS, POLICY_REASON_RETRY, "rcpt 2 retry");
    ck_assert_int_eq(st.awl.count, 2);

    /* Another hour on: threshold reached by this retry (not yet whitelisted). */
    mem_decide(&st, p, 3, T + 7200);
    v = mem_decide(&st, p, 3, T + D + 7200);
    EXPECT(v, PASS, POLICY_REASON_RETRY, "rcpt 3 retry");
    ck_assert_int_eq(st.awl.count, 3);

    /* Now a new recipient passes at once, and nothing grey is stored for it. */
    v = mem_decide(&st, p, 4, T + D + 7201);
    EXPECT(v, PASS, POLICY_REASON_AWL, "rcpt 4 awl");
    ck_assert_int_eq(st.has_grey[4], 0);
    ck_assert_int_eq(st.awl.expires, T + D + 7201 + AT);

    /* Once the AWL entry expires, greylisting resumes. */
    v = mem_decide(&st, p, 5, st.awl.expires);
    EXPECT(v, TEMPFAIL, POLICY_REASON_NEW, "rcpt 5 after AWL expiry");
}
END_TEST

/* With awl_threshold = 0 no verdict ever asks to write an AWL record. */
START_TEST(test_awl_off_scenario)
{
    const struct policy_params *p = &params[P_NO_AWL];
    struct mem_store st;
    struct policy_verdict v;

    memset(&st, 0, sizeof(st));
    for (int r = 0; r < 8; r++) {
        int64_t t0 = T + r * 7200;

        v = mem_decide(&st, p, r, t0);
        EXPECT(v, TEMPFAIL, POLICY_REASON_NEW, "off: first");
        ck_assert_int_eq(v.awl_write, 0);
        v = mem_decide(&st, p, r, t0 + D);
        EXPECT(v, PASS, POLICY_REASON_RETRY, "off: retry");
        ck_assert_int_eq(v.awl_write, 0);
        v = mem_decide(&st, p, r, t0 + D + 1);
        EXPECT(v, PASS, POLICY_REASON_KNOWN, "off: known");
        ck_assert_int_eq(v.awl_write, 0);
    }
    ck_assert_int_eq(st.has_awl, 0);
}
END_TEST

static const struct name_case {
    enum policy_reason reason;
    const char *want;
} name_cases[] = {
    {POLICY_REASON_NEW, "new"},
    {POLICY_REASON_EARLY, "early"},
    {POLICY_REASON_RETRY, "retry"},
    {POLICY_REASON_KNOWN, "known"},
    {POLICY_REASON_AWL, "awl"},
    {POLICY_REASON_LEARN, "learn"},
    {POLICY_REASON_GREYTRAP, "greytrap"},
    {POLICY_REASON_RATE, "rate-limit"},
    {POLICY_REASON_OUTBOUND, "outbound"},
    {(enum policy_reason) 99, "unknown"},
};

START_TEST(test_reason_name)
{
    const char *got = policy_reason_name(name_cases[_i].reason);

    ck_assert_msg(strcmp(got, name_cases[_i].want) == 0, "reason %d: got %s, want %s",
                  (int) name_cases[_i].reason, got, name_cases[_i].want);
}
END_TEST

#define N(a) (int) (sizeof(a) / sizeof((a)[0]))

static Suite *
policy_suite(void)
{
    Suite  *s = suite_create("policy");
    TCase  *tc;

    tc = tcase_create("decide");
    tcase_add_loop_test(tc, test_decide, 0, N(cases));
    suite_add_tcase(s, tc);
    tc = tcase_create("abuse");
    tcase_add_loop_test(tc, test_decide_facts, 0, N(facts_cases));
    tcase_add_test(tc, test_cap_scenario);
    suite_add_tcase(s, tc);
    tc = tcase_create("awl");
    tcase_add_test(tc, test_awl_scenario);
    tcase_add_test(tc, test_awl_off_scenario);
    suite_add_tcase(s, tc);
    tc = tcase_create("names");
    tcase_add_loop_test(tc, test_reason_name, 0, N(name_cases));
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return daemon_run_suites(policy_suite(), NULL) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

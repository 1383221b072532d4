/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_policy.c - the pure decision: every row of the table in policy.h,
 * its boundaries, the AWL's one-count-per-hour rule, and clock skew.
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

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_milter_abuse.c - the abuse limits and outbound pairs (issue 14)
 * through milter sessions: two redgrey daemons share one redis-server
 * (with-redis.sh) and one key prefix, as two MXes of a cluster.
 *
 * The new-triplet cap holds across them (rate-limit beyond
 * max_new_per_client, and the store holds no key more than at the cap);
 * a greytrap hit on one traps the client key on both (greytrap, logged),
 * while a whitelisted or trusted client writing to a trap is logged and
 * not trapped (nothing stored); an authenticated or trusted local user's
 * recipient is recorded, and that address's mail to that user passes
 * with reason outbound at its first attempt, on the other daemon too.
 */
#include "config.h"

#include <check.h>
#include <libmilter/mfapi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "miltc.h"
#include "mta.h"
#include "redisfix.h"

#define CAP 3                            /* max_new_per_client of the daemons */

static struct daemon mx[2];              /* the two "MXes" */
static char prefix[64];                  /* their shared key prefix */
static redisContext *rc;                 /* the test's own look at the store */

/* start_pair - both daemons on the test Redis, one prefix per tag, the cap, traps, outbound */
static void
start_pair(const char *tag)
{
    char    traps[512], wl[512], extra[2048];
    struct daemon_redgrey_opts o = {NULL, NULL, extra, NULL, prefix};

    rc = redisfix_connect();
    snprintf(prefix, sizeof(prefix), "rgab%ld%s:", (long) getpid(), tag);
    ck_assert_int_eq(daemon_write_file(daemon_scratch_path(traps, sizeof(traps), "traps"),
                                       "# no one uses these\ntrap@rcpt.example\n"), 0);
    ck_assert_int_eq(daemon_write_file(daemon_scratch_path(wl, sizeof(wl), "wlclients"),
                                       "198.51.100.0/24\n"), 0);
    snprintf(extra, sizeof(extra),
             "max_new_per_client = %d\n"
             "greytrap_recipients = %s\n"
             "greytrap_ttl = 1h\n"
             "outbound_ttl = 1d\n"
             "whitelist_clients = %s\n"
             "whitelist_recipients = \"\"\n"
             "dynamic_patterns = \"\"\n"
             "trusted_networks = 127.0.0.0/8, 100.64.0.0/24\n", CAP, traps, wl);
    ck_assert_msg(daemon_start_redgrey_with(&mx[0], "mx-a", &o) == 0, "mx-a did not start");
    ck_assert_msg(daemon_start_redgrey_with(&mx[1], "mx-b", &o) == 0, "mx-b did not start");
}

/* stop_pair - stop both daemons (the daemon's own stop budget, as check_milter_sessions) */
static void
stop_pair(void)
{
    for (int i = 0; i < 2; i++)
        if (mx[i].pid > 0)
            ck_assert_msg(daemon_stop(&mx[i], 5000 + 3000 + 2000) == 0, "%s did not stop",
                          mx[i].name);
    redisFree(rc);
    rc = NULL;
}

/* store_keys - how many keys the daemons' prefix has in the store */
static long
store_keys(void)
{
    redisReply *r = redisCommand(rc, "KEYS %s*", prefix);
    long    n;

    ck_assert_msg(r != NULL && r->type == REDIS_REPLY_ARRAY, "KEYS failed");
    n = (long) r->elements;
    freeReplyObject(r);
    return n;
}

/* rcpt - one SMTP session on d from client addr; the RCPT answer, the reply in reply */
static int
rcpt(const struct daemon *d, const char *addr, const char *from, const char *to,
     const char *auth, char *reply, size_t len)
{
    struct mta_conn m = {'4', addr, NULL, "client.example", NULL, 0};

    return mta_one_rcpt(d, &m, from, to, auth, reply, len, NULL);
}

/* want_451 - one session on d from addr is tempfailed at RCPT with a 451 */
static void
want_451(const struct daemon *d, const char *addr, const char *from, const char *to,
         const char *what)
{
    char    reply[MILTC_REPLY_MAX];
    int     r = rcpt(d, addr, from, to, NULL, reply, sizeof(reply));

    ck_assert_msg(r == SMFIR_REPLYCODE && strncmp(reply, "451 ", 4) == 0,
                  "%s: got %s \"%s\", want a 451", what, mta_answer_name(r), reply);
}

/* want_log - d logged needle exactly n times */
static void
want_log(const struct daemon *d, const char *needle, int n)
{
    int     got = daemon_log_count(d, needle);

    ck_assert_msg(got == n, "%s: \"%s\" logged %d times, want %d", d->name, needle, got, n);
}

/* cap_across_daemons - CAP new triplets of one client key in all, then rate-limit on both */
START_TEST(cap_across_daemons)
{
    char    to[64], line[256];
    long    at_cap;

    start_pair("cap");
    ck_assert_int_eq(store_keys(), 0);
    for (int i = 0; i < CAP; i++) {
        snprintf(to, sizeof(to), "<u%d@rcpt.example>", i);
        want_451(&mx[i % 2], "192.0.2.50", "<bot@spam.example>", to, "a new triplet");
    }
    want_log(&mx[0], "action=greylist reason=new client=[192.0.2.50] key=192.0.2.0/24", 2);
    want_log(&mx[1], "action=greylist reason=new client=[192.0.2.50] key=192.0.2.0/24", 1);
    /* CAP grey keys and the counter. */
    at_cap = store_keys();
    ck_assert_int_eq(at_cap, CAP + 1);

    /* Beyond the cap, on either daemon and from another address of the block. */
    for (int i = CAP; i < CAP + 6; i++) {
        snprintf(to, sizeof(to), "<u%d@rcpt.example>", i);
        want_451(&mx[i % 2], i % 3 == 0 ? "192.0.2.51" : "192.0.2.50", "<bot@spam.example>",
                 to, "a triplet over the cap");
    }
    snprintf(line, sizeof(line), "action=greylist reason=rate-limit client=[192.0.2.5");
    ck_assert_int_eq(daemon_log_count(&mx[0], line) + daemon_log_count(&mx[1], line), 6);
    ck_assert_int_ge(daemon_log_count(&mx[0], line), 1);
    ck_assert_int_ge(daemon_log_count(&mx[1], line), 1);
    ck_assert_msg(store_keys() == at_cap, "the store grew past the cap: %ld keys, want %ld",
                  store_keys(), at_cap);

    /* A retry of a triplet stored before the cap is not a new one: early, not limited. */
    want_451(&mx[1], "192.0.2.50", "<bot@spam.example>", "<u0@rcpt.example>", "a retry");
    want_log(&mx[1], "action=greylist reason=early client=[192.0.2.50]", 1);
    /* Another client key has a cap of its own. */
    want_451(&mx[0], "203.0.113.50", "<bot@spam.example>", "<u0@rcpt.example>",
             "another client key");
    want_log(&mx[0], "action=greylist reason=new client=[203.0.113.50]", 1);
    ck_assert_int_eq(store_keys(), at_cap + 2);
    stop_pair();
}
END_TEST

/* greytrap_traps - a trap hit on mx-a tempfails the client key's other triplets on mx-b */
START_TEST(greytrap_traps)
{
    start_pair("trap");
    want_451(&mx[0], "192.0.2.60", "<bot@spam.example>", "<trap@rcpt.example>", "trap hit");
    want_log(&mx[0], "action=greylist reason=greytrap client=[192.0.2.60] key=192.0.2.0/24"
             " from=<bot@spam.example> to=<trap@rcpt.example>", 1);
    /* Trapped: another sender, recipient and address of the block, on the other MX. */
    want_451(&mx[1], "192.0.2.61", "<other@spam.example>", "<bob@rcpt.example>",
             "trapped client");
    want_log(&mx[1], "action=greylist reason=greytrap client=[192.0.2.61] key=192.0.2.0/24"
             " from=<other@spam.example> to=<bob@rcpt.example>", 1);
    want_log(&mx[1], "reason=new client=[192.0.2.61]", 0);
    /* Trapping stores the trap only: no grey key for either triplet. */
    ck_assert_int_eq(store_keys(), 1);
    /* Another client key is not trapped. */
    want_451(&mx[1], "203.0.113.60", "<other@spam.example>", "<bob@rcpt.example>",
             "another client");
    want_log(&mx[1], "action=greylist reason=new client=[203.0.113.60]", 1);
    stop_pair();
}
END_TEST

/* greytrap_skipped - whitelisted and trusted clients writing to a trap: logged, not trapped */
START_TEST(greytrap_skipped)
{
    char    reply[MILTC_REPLY_MAX];
    int     r;

    start_pair("skip");
    r = rcpt(&mx[0], "198.51.100.7", "<news@big.example>", "<trap@rcpt.example>", NULL, reply,
             sizeof(reply));
    ck_assert_msg(r == SMFIR_CONTINUE, "whitelisted: got %s \"%s\"", mta_answer_name(r), reply);
    want_log(&mx[0], "greytrap hit not trapped: reason=whitelist-client client=[198.51.100.7]"
             " key=198.51.100.0/24 to=<trap@rcpt.example>", 1);
    want_log(&mx[0], "action=accept reason=whitelist-client client=[198.51.100.7]", 1);
    r = rcpt(&mx[1], "100.64.0.9", "<relay@local.example>", "<trap@rcpt.example>", NULL, reply,
             sizeof(reply));
    ck_assert_msg(r == SMFIR_CONTINUE, "trusted: got %s \"%s\"", mta_answer_name(r), reply);
    want_log(&mx[1], "greytrap hit not trapped: reason=trusted client=[100.64.0.9]", 1);
    /* Nothing stored: no trap, and the trusted sender's trap recipient is no outbound pair. */
    ck_assert_int_eq(store_keys(), 0);
    stop_pair();
}
END_TEST

/* outbound_pairs - a local user's recipients may reply at once, on either MX */
START_TEST(outbound_pairs)
{
    char    reply[MILTC_REPLY_MAX];
    int     r;

    start_pair("out");
    /* SASL-authenticated alice writes to carol (from an untrusted address). */
    r = rcpt(&mx[0], "192.0.2.70", "<alice@local.example>", "<carol@remote.example>", "alice",
             reply, sizeof(reply));
    ck_assert_msg(r == SMFIR_CONTINUE, "auth: got %s \"%s\"", mta_answer_name(r), reply);
    want_log(&mx[0], "action=accept reason=auth client=[192.0.2.70]", 1);
    ck_assert_int_eq(store_keys(), 1);
    /* carol's reply to alice passes at its first attempt, on the other MX. */
    r = rcpt(&mx[1], "203.0.113.70", "<carol@remote.example>", "<alice@local.example>", NULL,
             reply, sizeof(reply));
    ck_assert_msg(r == SMFIR_CONTINUE, "reply: got %s \"%s\", want continue",
                  mta_answer_name(r), reply);
    want_log(&mx[1], "action=pass reason=outbound client=[203.0.113.70] key=203.0.113.0/24"
             " from=<carol@remote.example> to=<alice@local.example>", 1);
    /* Only that pair: carol to bob, and dave to alice, are greylisted. */
    want_451(&mx[1], "203.0.113.70", "<carol@remote.example>", "<bob@local.example>",
             "carol to bob");
    want_451(&mx[1], "203.0.113.70", "<dave@remote.example>", "<alice@local.example>",
             "dave to alice");
    want_log(&mx[1], "action=greylist reason=new client=[203.0.113.70]", 2);

    /* A trusted_networks client: erin's mail to erik is recorded, erik's reply passes. */
    r = rcpt(&mx[1], "100.64.0.10", "<erin@local.example>", "<erik@far.example>", NULL, reply,
             sizeof(reply));
    ck_assert_msg(r == SMFIR_CONTINUE, "trusted: got %s \"%s\"", mta_answer_name(r), reply);
    r = rcpt(&mx[0], "192.0.2.80", "<erik@far.example>", "<erin@local.example>", NULL, reply,
             sizeof(reply));
    ck_assert_msg(r == SMFIR_CONTINUE, "trusted reply: got %s \"%s\"", mta_answer_name(r),
                  reply);
    want_log(&mx[0], "action=pass reason=outbound client=[192.0.2.80]", 1);
    stop_pair();
}
END_TEST

/* abuse_suite - one TCase: each test starts and stops its own pair */
static Suite *
abuse_suite(void)
{
    Suite  *s = suite_create("milter_abuse");
    TCase  *tc = tcase_create("abuse");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, cap_across_daemons);
    tcase_add_test(tc, greytrap_traps);
    tcase_add_test(tc, greytrap_skipped);
    tcase_add_test(tc, outbound_pairs);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return daemon_run_suites(abuse_suite(), NULL) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

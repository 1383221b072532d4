/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * store_contract_abuse.c - the store contract's abuse limits and outbound
 * pairs (store_contract.h): the new-triplet cap, greytraps and the outbound
 * auto-whitelist, the same on every backend. No sleeping: every window and
 * ttl is far longer than a test.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_contract.h"

#define ABUSE_BACKENDS_MAX 8

static struct {
    const char *name;
    struct store *(*open_fn)(const struct policy_params *, char *, size_t);
} abuse_backends[ABUSE_BACKENDS_MAX];
static int abuse_nbackends;

/* abuse_done - one line in the test log per test and backend, so that a run shows it ran */
static void
abuse_done(int i, const char *test)
{
    printf("store_contract_abuse: %s: %s passed\n", abuse_backends[i].name, test);
    fflush(stdout);
}

/* abuse_open - a fresh store of backend i with p */
static struct store *
abuse_open(int i, const struct policy_params *p)
{
    char    err[STORE_ERRLEN] = "";
    struct store *st = abuse_backends[i].open_fn(p, err, sizeof(err));

    ck_assert_msg(st != NULL, "%s: open: %s", abuse_backends[i].name, err);
    return st;
}

/* abuse_expect - decide on t with trap and assert the reason and its action */
static void
abuse_expect(int i, struct store *st, const struct triplet *t, int trap,
             enum policy_reason want, const char *step)
{
    struct store_decide_opts opts;
    struct policy_verdict v;
    char    err[STORE_ERRLEN] = "";
    int     tempfail = want == POLICY_REASON_NEW || want == POLICY_REASON_EARLY
        || want == POLICY_REASON_GREYTRAP || want == POLICY_REASON_RATE;

    memset(&opts, 0, sizeof(opts));
    opts.trap = trap;
    ck_assert_msg(store_decide_with(st, t, &opts, &v, err, sizeof(err)) == 0,
                  "%s: %s: decide failed: %s", abuse_backends[i].name, step, err);
    ck_assert_msg(v.reason == want, "%s: %s: got %s, want %s", abuse_backends[i].name, step,
                  policy_reason_name(v.reason), policy_reason_name(want));
    ck_assert_msg(v.action == (tempfail ? POLICY_TEMPFAIL : POLICY_PASS),
                  "%s: %s: wrong action", abuse_backends[i].name, step);
}

/* Beyond max_new_per_client new triplets: rate-limit, and nothing stored. */
START_TEST(test_cap)
{
    struct policy_params p = {.delay = 60, .retry_window = 600, .pass_ttl = 600,
                              .awl_ttl = 3600, .max_new_per_client = 3};
    struct store *st = abuse_open(_i, &p);
    struct triplet t[4], other;
    char    rcpt[32];

    for (int k = 0; k < 4; k++) {
        snprintf(rcpt, sizeof(rcpt), "r%d@example.net", k);
        store_contract_triplet(&t[k], "198.51.100.0/24", "alice@example.org", rcpt);
    }
    for (int k = 0; k < 3; k++)
        abuse_expect(_i, st, &t[k], 0, POLICY_REASON_NEW, "under the cap");
    abuse_expect(_i, st, &t[3], 0, POLICY_REASON_RATE, "the fourth");
    abuse_expect(_i, st, &t[3], 0, POLICY_REASON_RATE, "again: nothing was stored");
    abuse_expect(_i, st, &t[0], 0, POLICY_REASON_EARLY, "a pending one is unaffected");
    store_contract_triplet(&other, "203.0.113.0/24", "alice@example.org", "r3@example.net");
    abuse_expect(_i, st, &other, 0, POLICY_REASON_NEW, "another client has its own cap");
    p.max_new_per_client = 0;
    ck_assert(store_set_params(st, &p, NULL, 0) == 0);
    abuse_expect(_i, st, &t[3], 0, POLICY_REASON_NEW, "cap off");
    store_free(st);
    abuse_done(_i, "cap");
}
END_TEST

/* A trap hit traps the client key: even its passed triplets tempfail. */
START_TEST(test_greytrap)
{
    struct policy_params p = {.delay = 0, .retry_window = 600, .pass_ttl = 600,
                              .awl_ttl = 3600, .greytrap_ttl = 3600};
    struct store *st = abuse_open(_i, &p);
    struct triplet a, trap, other;

    store_contract_triplet(&a, "198.51.100.0/24", "alice@example.org", "bob@example.net");
    store_contract_triplet(&trap, "198.51.100.0/24", "alice@example.org", "trap@example.net");
    store_contract_triplet(&other, "203.0.113.0/24", "alice@example.org", "bob@example.net");
    abuse_expect(_i, st, &a, 0, POLICY_REASON_NEW, "first sighting");
    abuse_expect(_i, st, &a, 0, POLICY_REASON_RETRY, "retry passes");
    abuse_expect(_i, st, &trap, 1, POLICY_REASON_GREYTRAP, "the trap hit");
    abuse_expect(_i, st, &a, 0, POLICY_REASON_GREYTRAP, "trapped: a passed triplet");
    abuse_expect(_i, st, &other, 0, POLICY_REASON_NEW, "another client is not trapped");
    p.greytrap_ttl = 0;
    ck_assert(store_set_params(st, &p, NULL, 0) == 0);
    abuse_expect(_i, st, &a, 0, POLICY_REASON_KNOWN, "traps off: known again");
    store_free(st);
    abuse_done(_i, "greytrap");
}
END_TEST

/* A recorded outbound pair passes its reply, from any client, nothing stored. */
START_TEST(test_outbound)
{
    struct policy_params p = {.delay = 60, .retry_window = 600, .pass_ttl = 600,
                              .awl_ttl = 3600, .outbound_ttl = 3600};
    struct store *st = abuse_open(_i, &p);
    struct triplet pair, reply, stranger;
    char    err[STORE_ERRLEN] = "";

    store_contract_triplet(&pair, "", "carol@remote.example", "dave@local.example");
    ck_assert_msg(store_outbound_put(st, &pair, err, sizeof(err)) == 0, "%s: put: %s",
                  abuse_backends[_i].name, err);
    store_contract_triplet(&reply, "198.51.100.0/24", "carol@remote.example",
                           "dave@local.example");
    store_contract_triplet(&stranger, "198.51.100.0/24", "carol@remote.example",
                           "erin@local.example");
    abuse_expect(_i, st, &reply, 0, POLICY_REASON_OUTBOUND, "the reply");
    abuse_expect(_i, st, &reply, 0, POLICY_REASON_OUTBOUND, "again");
    abuse_expect(_i, st, &stranger, 0, POLICY_REASON_NEW, "to another user");
    p.outbound_ttl = 0;
    ck_assert(store_set_params(st, &p, NULL, 0) == 0);
    abuse_expect(_i, st, &reply, 0, POLICY_REASON_NEW, "off: greylisted, nothing was stored");
    store_free(st);
    abuse_done(_i, "outbound");
}
END_TEST

/* store_contract_abuse - add the abuse TCase of backend_name to s */
void
store_contract_abuse(Suite *s, const char *backend_name,
                     struct store *(*open_fn)(const struct policy_params *p, char *err,
                                              size_t errlen))
{
    int     k = abuse_nbackends++;
    TCase  *tc = tcase_create("abuse");

    if (k >= ABUSE_BACKENDS_MAX) {
        fprintf(stderr, "store_contract_abuse: over %d backends\n", ABUSE_BACKENDS_MAX);
        abort();
    }
    abuse_backends[k].name = backend_name;
    abuse_backends[k].open_fn = open_fn;
    tcase_set_timeout(tc, 30);
    tcase_add_loop_test(tc, test_cap, k, k + 1);
    tcase_add_loop_test(tc, test_greytrap, k, k + 1);
    tcase_add_loop_test(tc, test_outbound, k, k + 1);
    suite_add_tcase(s, tc);
}

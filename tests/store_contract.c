/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * store_contract.c - the store contract: what policy.h's table looks like
 * through store_decide(), the same for every backend.
 *
 * Each test opens a fresh store with the parameters it needs. Where time
 * must pass (the "lifecycle", "renewal" and "expiry" TCases), the test
 * sleeps for as little as the table allows (delay 0 makes a retry pass at
 * once; TTLs of 1-2 s) and asserts the times the store reports, so that a
 * wrong clock or a slow machine fails loudly instead of passing by luck:
 * about 9 s per backend. A backend whose decisions over time another test
 * covers with an injected clock registers without those TCases
 * (store_contract_suite_untimed; Redis: check_policy_lua.c).
 * The "blobs" TCase covers the named blobs: versions, whole reads and
 * writes, the size limit, bad names, and concurrent writers.
 *
 * check's loop tests carry the backend: a backend registered as number k
 * runs each test as the loop iteration _i = k.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon.h"
#include "store_contract.h"

#define CONTRACT_BACKENDS_MAX 8
#define CONTRACT_THREADS      16

static struct {
    const char *name;
    struct store *(*open_fn)(const struct policy_params *, char *, size_t);
} contract_backends[CONTRACT_BACKENDS_MAX];
static int contract_nbackends;

/* contract_open - a fresh store of backend i with these parameters */
static struct store *
contract_open(int i, int64_t delay, int64_t window, int64_t pass_ttl, int64_t threshold)
{
    struct policy_params p = {
        .delay = delay, .retry_window = window, .pass_ttl = pass_ttl,
        .awl_threshold = threshold, .awl_ttl = 3600,
    };
    char    err[STORE_ERRLEN] = "";
    struct store *st = contract_backends[i].open_fn(&p, err, sizeof(err));

    ck_assert_msg(st != NULL, "%s: open: %s", contract_backends[i].name, err);
    return st;
}

/* store_contract_triplet - fill t from normalised parts */
void
store_contract_triplet(struct triplet *t, const char *client_key, const char *sender,
                       const char *rcpt)
{
    memset(t, 0, sizeof(*t));
    snprintf(t->client_key, sizeof(t->client_key), "%s", client_key);
    snprintf(t->sender, sizeof(t->sender), "%s", sender);
    snprintf(t->rcpt, sizeof(t->rcpt), "%s", rcpt);
}

/* contract_expect - decide on t and assert the reason (and the matching action) */
static struct policy_verdict
contract_expect(int i, struct store *st, const struct triplet *t,
                enum policy_reason want, const char *step)
{
    struct policy_verdict v;
    char    err[STORE_ERRLEN] = "";
    enum policy_action want_action;

    ck_assert_msg(store_decide(st, t, &v, err, sizeof(err)) == 0,
                  "%s: %s: store_decide failed: %s", contract_backends[i].name, step, err);
    ck_assert_msg(v.reason == want, "%s: %s: got reason %s, want %s",
                  contract_backends[i].name, step, policy_reason_name(v.reason),
                  policy_reason_name(want));
    want_action = want == POLICY_REASON_NEW || want == POLICY_REASON_EARLY
        ? POLICY_TEMPFAIL : POLICY_PASS;
    ck_assert_msg(v.action == want_action, "%s: %s: got action %d, want %d",
                  contract_backends[i].name, step, (int) v.action, (int) want_action);
    return v;
}

/*
 * contract_align - wait (under 1 s) until the wall clock is 50-500 ms past
 * a second, so that "one second later" is the next second for the store
 * too (stores count whole seconds of the same host's clock).
 */
static void
contract_align(void)
{
    struct timespec ts;
    long    ms;

    clock_gettime(CLOCK_REALTIME, &ts);
    ms = ts.tv_nsec / 1000000;
    if (ms < 50)
        daemon_sleep_ms(50 - ms);
    else if (ms >= 500)
        daemon_sleep_ms(1050 - ms);
}

START_TEST(test_first_sighting)
{
    struct store *st = contract_open(_i, 60, 600, 600, 0);
    struct triplet t;
    struct policy_verdict v;
    int64_t wall = (int64_t) time(NULL);

    store_contract_triplet(&t, "192.0.2.0/24", "alice@example.org", "bob@example.net");
    v = contract_expect(_i, st, &t, POLICY_REASON_NEW, "first sighting");
    ck_assert_msg(v.now >= wall - 5 && v.now <= wall + 5, "%s: now: got %" PRId64
                  ", want about %" PRId64, contract_backends[_i].name, v.now, wall);
    ck_assert_msg(v.delayed == 0, "%s: delayed: got %" PRId64 ", want 0",
                  contract_backends[_i].name, v.delayed);

    /* The null sender is a sender like any other. */
    store_contract_triplet(&t, "192.0.2.0/24", "", "bob@example.net");
    contract_expect(_i, st, &t, POLICY_REASON_NEW, "null sender");
    contract_expect(_i, st, &t, POLICY_REASON_EARLY, "null sender again");
    store_free(st);
}
END_TEST

START_TEST(test_lifecycle)
{
    struct store *st = contract_open(_i, 2, 60, 600, 0);
    const char *name = contract_backends[_i].name;
    struct triplet t;
    struct policy_verdict v1, v2, v3;

    store_contract_triplet(&t, "192.0.2.0/24", "alice@example.org", "bob@example.net");
    contract_align();
    v1 = contract_expect(_i, st, &t, POLICY_REASON_NEW, "first sighting");

    /* One second later: early, and the store must not move first_seen. */
    daemon_sleep_ms(1000);
    v2 = contract_expect(_i, st, &t, POLICY_REASON_EARLY, "retry after 1 s");
    ck_assert_msg(v2.now - v1.now == 1, "%s: timing: early retry at +%" PRId64
                  " s, want +1 s (machine too slow?)", name, v2.now - v1.now);

    /* Two seconds after the first sighting: passes, delayed from the first. */
    daemon_sleep_ms(1050);
    v3 = contract_expect(_i, st, &t, POLICY_REASON_RETRY, "retry after 2 s");
    ck_assert_msg(v3.delayed == v3.now - v1.now, "%s: delayed: got %" PRId64
                  ", want %" PRId64 " (since the first sighting)", name, v3.delayed,
                  v3.now - v1.now);
    ck_assert_msg(v3.delayed >= 2 && v3.delayed <= 3, "%s: delayed: got %" PRId64
                  ", want 2..3", name, v3.delayed);

    contract_expect(_i, st, &t, POLICY_REASON_KNOWN, "after the pass");
    contract_expect(_i, st, &t, POLICY_REASON_KNOWN, "and again");
    store_free(st);
}
END_TEST

START_TEST(test_renewal)
{
    /*
     * retry_window 1 s, pass_ttl 3 s. At +1.5 s the entry has outlived its
     * retry_window; at +3.1 s it has outlived the pass_ttl the retry gave it,
     * and lives only because the pass at +1.5 s renewed it. The second wait
     * stays under 2 s so that stores counting whole seconds agree.
     */
    struct store *st = contract_open(_i, 0, 1, 3, 0);
    struct triplet t;

    store_contract_triplet(&t, "192.0.2.0/24", "alice@example.org", "bob@example.net");
    contract_expect(_i, st, &t, POLICY_REASON_NEW, "first sighting");
    contract_expect(_i, st, &t, POLICY_REASON_RETRY, "retry (delay 0)");
    daemon_sleep_ms(1500);
    contract_expect(_i, st, &t, POLICY_REASON_KNOWN, "+1.5 s, retry_window 1 s");
    daemon_sleep_ms(1600);
    contract_expect(_i, st, &t, POLICY_REASON_KNOWN, "+3.1 s, pass_ttl 3 s renewed at +1.5 s");
    store_free(st);
}
END_TEST

START_TEST(test_expiry)
{
    struct store *st = contract_open(_i, 60, 1, 10, 0);
    struct triplet t;

    store_contract_triplet(&t, "192.0.2.0/24", "alice@example.org", "bob@example.net");
    contract_expect(_i, st, &t, POLICY_REASON_NEW, "first sighting");
    contract_expect(_i, st, &t, POLICY_REASON_EARLY, "at once");
    daemon_sleep_ms(1300);
    contract_expect(_i, st, &t, POLICY_REASON_NEW, "1.3 s after, retry_window 1 s");
    store_free(st);
}
END_TEST

/* contract_wait_past - sleep until the wall clock is ms (0..999) past a second */
static void
contract_wait_past(long ms)
{
    struct timespec ts;
    long    now_ms;

    clock_gettime(CLOCK_REALTIME, &ts);
    now_ms = ts.tv_nsec / 1000000;
    daemon_sleep_ms(now_ms < ms ? ms - now_ms : 1000 - now_ms + ms);
}

/*
 * The end of a pending entry, to the second: with retry_window 1 s, a
 * retry in the very next second finds the entry gone (policy.h: expires
 * <= now is absent), although the store may hold it a little longer (a
 * Redis key set with EX lives up to a second past it). The first sighting
 * is made late in a second and the retry early in the next, the case
 * where the two differ; a slow retry that misses that second is tried
 * again, at most 3 times.
 */
START_TEST(test_expiry_edge)
{
    struct store *st = contract_open(_i, 0, 1, 10, 0);
    struct policy_verdict v1, v2;
    char    rcpt[64], err[STORE_ERRLEN] = "";
    struct triplet t;
    int     tries;

    for (tries = 0; tries < 3; tries++) {
        snprintf(rcpt, sizeof(rcpt), "bob%d@example.net", tries);
        store_contract_triplet(&t, "192.0.2.0/24", "alice@example.org", rcpt);
        contract_wait_past(550);
        v1 = contract_expect(_i, st, &t, POLICY_REASON_NEW, "first sighting");
        contract_wait_past(30);
        ck_assert_msg(store_decide(st, &t, &v2, err, sizeof(err)) == 0, "%s: retry: %s",
                      contract_backends[_i].name, err);
        if (v2.now == v1.now + 1)
            break;
    }
    ck_assert_msg(tries < 3, "%s: no retry within the next second in 3 tries",
                  contract_backends[_i].name);
    ck_assert_msg(v2.reason == POLICY_REASON_NEW, "%s: retry at first_seen + retry_window:"
                  " got %s, want new", contract_backends[_i].name,
                  policy_reason_name(v2.reason));
    store_free(st);
}
END_TEST

START_TEST(test_awl)
{
    struct store *st = contract_open(_i, 0, 60, 600, 1);
    struct triplet a, b, c, d;

    store_contract_triplet(&a, "192.0.2.0/24", "alice@example.org", "bob@example.net");
    store_contract_triplet(&b, "192.0.2.0/24", "carol@example.org", "dave@example.net");
    store_contract_triplet(&c, "192.0.2.0/24", "erin@other.example", "dave@example.net");
    store_contract_triplet(&d, "198.51.100.0/24", "carol@example.org", "dave@example.net");

    /* Before any pass, the pair is not whitelisted. */
    contract_expect(_i, st, &b, POLICY_REASON_NEW, "B before A passed");
    contract_expect(_i, st, &a, POLICY_REASON_NEW, "A first sighting");
    contract_expect(_i, st, &a, POLICY_REASON_RETRY, "A retry");

    /* Threshold 1: one counted pass whitelists (client key, sender domain). */
    contract_expect(_i, st, &b, POLICY_REASON_AWL, "B, same client and domain");
    contract_expect(_i, st, &b, POLICY_REASON_AWL, "B again");
    contract_expect(_i, st, &c, POLICY_REASON_NEW, "C, other sender domain");
    contract_expect(_i, st, &d, POLICY_REASON_NEW, "D, other client key");
    store_free(st);
}
END_TEST

START_TEST(test_awl_off)
{
    struct store *st = contract_open(_i, 0, 60, 600, 0);
    struct triplet a, b;

    store_contract_triplet(&a, "192.0.2.0/24", "alice@example.org", "bob@example.net");
    store_contract_triplet(&b, "192.0.2.0/24", "carol@example.org", "dave@example.net");
    contract_expect(_i, st, &a, POLICY_REASON_NEW, "A first sighting");
    contract_expect(_i, st, &a, POLICY_REASON_RETRY, "A retry");
    contract_expect(_i, st, &b, POLICY_REASON_NEW, "B, threshold 0");
    contract_expect(_i, st, &b, POLICY_REASON_RETRY, "B retry");
    contract_expect(_i, st, &b, POLICY_REASON_KNOWN, "B known");
    store_free(st);
}
END_TEST

START_TEST(test_rcpt_independent)
{
    struct store *st = contract_open(_i, 0, 60, 600, 3);
    struct triplet a, b;

    store_contract_triplet(&a, "192.0.2.0/24", "alice@example.org", "bob@example.net");
    store_contract_triplet(&b, "192.0.2.0/24", "alice@example.org", "carol@example.net");
    contract_expect(_i, st, &a, POLICY_REASON_NEW, "rcpt A first sighting");
    contract_expect(_i, st, &a, POLICY_REASON_RETRY, "rcpt A retry");
    contract_expect(_i, st, &b, POLICY_REASON_NEW, "rcpt B after A passed");
    contract_expect(_i, st, &a, POLICY_REASON_KNOWN, "rcpt A still known");
    store_free(st);
}
END_TEST

START_TEST(test_client_independent)
{
    struct store *st = contract_open(_i, 0, 60, 600, 3);
    struct triplet a, b, c;

    store_contract_triplet(&a, "192.0.2.0/24", "alice@example.org", "bob@example.net");
    store_contract_triplet(&b, "198.51.100.0/24", "alice@example.org", "bob@example.net");
    store_contract_triplet(&c, "2001:db8:1:2::/64", "alice@example.org", "bob@example.net");
    contract_expect(_i, st, &a, POLICY_REASON_NEW, "client A first sighting");
    contract_expect(_i, st, &a, POLICY_REASON_RETRY, "client A retry");
    contract_expect(_i, st, &b, POLICY_REASON_NEW, "client B after A passed");
    contract_expect(_i, st, &c, POLICY_REASON_NEW, "client C (IPv6) after A passed");
    store_free(st);
}
END_TEST

struct contract_thread {
    struct store *st;                    /* shared store */
    pthread_barrier_t *start;            /* all threads decide at once */
    struct triplet t;                    /* what this thread decides on */
    int     rc;                          /* store_decide's result */
    struct policy_verdict v;             /* its verdict */
    char    err[STORE_ERRLEN];           /* its error */
};

/* contract_thread_run - wait at the barrier, then decide once */
static void *
contract_thread_run(void *arg)
{
    struct contract_thread *ct = arg;

    pthread_barrier_wait(ct->start);
    ct->rc = store_decide(ct->st, &ct->t, &ct->v, ct->err, sizeof(ct->err));
    return NULL;
}

/* contract_race - CONTRACT_THREADS threads decide at once; distinct: one triplet each */
static void
contract_race(int i, int distinct, int *nnew, int *nearly)
{
    struct store *st = contract_open(i, 60, 600, 600, 0);
    static struct contract_thread ct[CONTRACT_THREADS];
    pthread_t tid[CONTRACT_THREADS];
    pthread_barrier_t start;
    char    rcpt[64];

    pthread_barrier_init(&start, NULL, CONTRACT_THREADS);
    for (int k = 0; k < CONTRACT_THREADS; k++) {
        memset(&ct[k], 0, sizeof(ct[k]));
        ct[k].st = st;
        ct[k].start = &start;
        snprintf(rcpt, sizeof(rcpt), "rcpt%d@example.net", distinct ? k : 0);
        store_contract_triplet(&ct[k].t, "192.0.2.0/24", "alice@example.org", rcpt);
        ck_assert_int_eq(pthread_create(&tid[k], NULL, contract_thread_run, &ct[k]), 0);
    }
    *nnew = *nearly = 0;
    for (int k = 0; k < CONTRACT_THREADS; k++) {
        pthread_join(tid[k], NULL);
        ck_assert_msg(ct[k].rc == 0, "%s: thread %d: store_decide failed: %s",
                      contract_backends[i].name, k, ct[k].err);
        if (ct[k].v.reason == POLICY_REASON_NEW)
            (*nnew)++;
        else if (ct[k].v.reason == POLICY_REASON_EARLY)
            (*nearly)++;
    }
    pthread_barrier_destroy(&start);
    store_free(st);
}

START_TEST(test_concurrent_same)
{
    int     nnew, nearly;

    contract_race(_i, 0, &nnew, &nearly);
    ck_assert_msg(nnew == 1 && nearly == CONTRACT_THREADS - 1,
                  "%s: same triplet from %d threads: got %d new and %d early, want 1 and %d",
                  contract_backends[_i].name, CONTRACT_THREADS, nnew, nearly,
                  CONTRACT_THREADS - 1);
}
END_TEST

START_TEST(test_concurrent_distinct)
{
    int     nnew, nearly;

    contract_race(_i, 1, &nnew, &nearly);
    ck_assert_msg(nnew == CONTRACT_THREADS, "%s: %d distinct triplets: got %d new, want %d",
                  contract_backends[_i].name, CONTRACT_THREADS, nnew, CONTRACT_THREADS);
}
END_TEST

/* ------------------------------------------------------------- blobs */

/* contract_blob_put - put that must succeed; returns the meta */
static struct store_blob_meta
contract_blob_put(int i, struct store *st, const char *name, const void *data, size_t len)
{
    struct store_blob_meta m;
    char    err[STORE_ERRLEN] = "";

    ck_assert_msg(store_blob_put(st, name, data, len, &m, err, sizeof(err)) == 0,
                  "%s: put %s (%zu bytes): %s", contract_backends[i].name, name, len, err);
    return m;
}

/*
 * contract_blob_expect - get name whole and meta-only; assert found with
 * data[0..len) and version, or absent when data is NULL
 */
static void
contract_blob_expect(int i, struct store *st, const char *name, const void *data, size_t len,
                     uint64_t version, const char *step)
{
    const char *bn = contract_backends[i].name;
    enum store_blob_result want = data != NULL ? STORE_BLOB_FOUND : STORE_BLOB_ABSENT;
    enum store_blob_result r;
    struct store_blob_meta m, m2;
    char    err[STORE_ERRLEN] = "";
    char   *got = NULL;
    size_t  glen = 0;

    r = store_blob_get(st, name, NULL, NULL, &m, err, sizeof(err));
    ck_assert_msg(r == want, "%s: %s: meta-only get %s: got %d, want %d (%s)", bn, step, name,
                  (int) r, (int) want, err);
    r = store_blob_get(st, name, &got, &glen, &m2, err, sizeof(err));
    ck_assert_msg(r == want, "%s: %s: get %s: got %d, want %d (%s)", bn, step, name,
                  (int) r, (int) want, err);
    if (data == NULL) {
        ck_assert_msg(got == NULL && glen == 0, "%s: %s: absent blob returned data", bn, step);
        return;
    }
    ck_assert_msg(m.version == version && m2.version == version,
                  "%s: %s: version: got %" PRIu64 " and %" PRIu64 ", want %" PRIu64,
                  bn, step, m.version, m2.version, version);
    ck_assert_msg(m.stamp == m2.stamp, "%s: %s: stamps differ", bn, step);
    ck_assert_msg(got != NULL && glen == len && memcmp(got, data, len) == 0 && got[len] == 0,
                  "%s: %s: data: got %zu bytes, want %zu (or content/NUL differs)", bn, step,
                  glen, len);
    free(got);
}

/* test_blob_roundtrip - absent, then versions 1 and 2, binary data, a second name, empty data */
START_TEST(test_blob_roundtrip)
{
    struct store *st = contract_open(_i, 60, 600, 600, 0);
    const char *bn = contract_backends[_i].name;
    static const char bin[] = "v=1\n\0binary\xff\x80 zero inside";
    struct store_blob_meta m;
    int64_t wall = (int64_t) time(NULL);

    contract_blob_expect(_i, st, "bigsenders", NULL, 0, 0, "never written");
    m = contract_blob_put(_i, st, "bigsenders", "first", 5);
    ck_assert_msg(m.version == 1, "%s: first put: got version %" PRIu64 ", want 1", bn, m.version);
    ck_assert_msg(m.stamp >= wall - 5 && m.stamp <= wall + 5, "%s: stamp: got %" PRId64
                  ", want about %" PRId64, bn, m.stamp, wall);
    contract_blob_expect(_i, st, "bigsenders", "first", 5, 1, "after one put");

    m = contract_blob_put(_i, st, "bigsenders", bin, sizeof(bin));
    ck_assert_msg(m.version == 2, "%s: second put: got version %" PRIu64 ", want 2", bn,
                  m.version);
    contract_blob_expect(_i, st, "bigsenders", bin, sizeof(bin), 2, "binary data");

    /* Another name is another blob; an empty blob is still a blob. */
    contract_blob_expect(_i, st, "other", NULL, 0, 0, "other name, unwritten");
    contract_blob_put(_i, st, "other", "", 0);
    contract_blob_expect(_i, st, "other", "", 0, 1, "empty blob");
    contract_blob_expect(_i, st, "bigsenders", bin, sizeof(bin), 2, "first name untouched");
    store_free(st);
}
END_TEST

/* test_blob_limits - STORE_BLOB_MAX bytes round-trip; one more is refused and changes nothing */
START_TEST(test_blob_limits)
{
    struct store *st = contract_open(_i, 60, 600, 600, 0);
    const char *bn = contract_backends[_i].name;
    char   *big = malloc(STORE_BLOB_MAX + 1);
    char    err[STORE_ERRLEN] = "";
    struct store_blob_meta m;

    ck_assert_ptr_nonnull(big);
    for (size_t k = 0; k <= STORE_BLOB_MAX; k++)
        big[k] = (char) ('a' + k % 26);
    contract_blob_put(_i, st, "big", big, STORE_BLOB_MAX);
    contract_blob_expect(_i, st, "big", big, STORE_BLOB_MAX, 1, "STORE_BLOB_MAX bytes");

    /* One byte over: refused, and the old blob is intact. */
    ck_assert_msg(store_blob_put(st, "big", big, STORE_BLOB_MAX + 1, &m, err, sizeof(err)) == -1,
                  "%s: put of STORE_BLOB_MAX + 1 bytes: got 0, want -1", bn);
    ck_assert_msg(strstr(err, "limit") != NULL, "%s: over the limit: got error \"%s\"", bn, err);
    contract_blob_expect(_i, st, "big", big, STORE_BLOB_MAX, 1, "after a refused put");
    free(big);
    store_free(st);
}
END_TEST

/* Names the blob calls must refuse, with no store access. */
static const struct blob_name_case {
    const char *label;
    const char *name;
} blob_name_cases[] = {
    {"NULL", NULL},
    {"empty", ""},
    {"upper case", "BigSenders"},
    {"slash", "a/b"},
    {"colon", "a:b"},
    {"brace", "{tag}"},
    {"blank", "big senders"},
    {"33 bytes", "abcdefghijklmnopqrstuvwxyz0123456"},
    {"control", "big\x01"},
};

#define NBLOBNAMES (sizeof(blob_name_cases) / sizeof(blob_name_cases[0]))

/* test_blob_bad_names - every row is refused by get, put and store_blob_name_ok */
START_TEST(test_blob_bad_names)
{
    struct store *st = contract_open(_i, 60, 600, 600, 0);
    const char *bn = contract_backends[_i].name;
    struct store_blob_meta m;
    char    err[STORE_ERRLEN];
    char   *data;
    size_t  len;

    for (size_t k = 0; k < NBLOBNAMES; k++) {
        const struct blob_name_case *c = &blob_name_cases[k];
        enum store_blob_result r;

        err[0] = 0;
        r = store_blob_get(st, c->name, &data, &len, &m, err, sizeof(err));
        ck_assert_msg(r == STORE_BLOB_ERROR && data == NULL && err[0] != 0,
                      "%s: %s: get: got %d, want STORE_BLOB_ERROR with a reason", bn, c->label,
                      (int) r);
        err[0] = 0;
        ck_assert_msg(store_blob_put(st, c->name, "x", 1, &m, err, sizeof(err)) == -1
                      && err[0] != 0, "%s: %s: put: got 0, want -1 with a reason", bn, c->label);
        ck_assert_msg(store_blob_name_ok(c->name) == 0, "%s: store_blob_name_ok: got 1, want 0",
                      c->label);
    }
    ck_assert_msg(store_blob_name_ok("abcdefghijklmnopqrstuvwxyz012345") == 1,
                  "32-byte name: got 0, want 1");
    store_free(st);
}
END_TEST

struct blob_thread {
    struct store *st;                    /* shared store */
    pthread_barrier_t *start;            /* all threads write at once */
    int     n;                           /* thread number, written as data */
    int     rc;                          /* store_blob_put's result */
    struct store_blob_meta m;            /* the version it got */
    char    err[STORE_ERRLEN];
};

/* blob_thread_run - wait at the barrier, then put once */
static void *
blob_thread_run(void *arg)
{
    struct blob_thread *bt = arg;
    char    data[32];

    snprintf(data, sizeof(data), "writer %d", bt->n);
    pthread_barrier_wait(bt->start);
    bt->rc = store_blob_put(bt->st, "race", data, strlen(data), &bt->m, bt->err,
                            sizeof(bt->err));
    return NULL;
}

/* test_blob_concurrent - N writers at once get the versions 1..N, each once */
START_TEST(test_blob_concurrent)
{
    struct store *st = contract_open(_i, 60, 600, 600, 0);
    const char *bn = contract_backends[_i].name;
    static struct blob_thread bt[CONTRACT_THREADS];
    pthread_t tid[CONTRACT_THREADS];
    pthread_barrier_t start;
    int     seen[CONTRACT_THREADS + 1] = {0}, last = -1;
    char    want[32];

    pthread_barrier_init(&start, NULL, CONTRACT_THREADS);
    for (int k = 0; k < CONTRACT_THREADS; k++) {
        memset(&bt[k], 0, sizeof(bt[k]));
        bt[k].st = st;
        bt[k].start = &start;
        bt[k].n = k;
        ck_assert_int_eq(pthread_create(&tid[k], NULL, blob_thread_run, &bt[k]), 0);
    }
    for (int k = 0; k < CONTRACT_THREADS; k++)
        pthread_join(tid[k], NULL);
    pthread_barrier_destroy(&start);
    for (int k = 0; k < CONTRACT_THREADS; k++) {
        ck_assert_msg(bt[k].rc == 0, "%s: writer %d: %s", bn, k, bt[k].err);
        ck_assert_msg(bt[k].m.version >= 1 && bt[k].m.version <= CONTRACT_THREADS
                      && seen[bt[k].m.version]++ == 0, "%s: writer %d: got version %" PRIu64
                      ", want a version of 1..%d no other writer got", bn, k, bt[k].m.version,
                      CONTRACT_THREADS);
        if (bt[k].m.version == CONTRACT_THREADS)
            last = k;
    }

    /* The blob is the last writer's, whole. */
    snprintf(want, sizeof(want), "writer %d", last);
    contract_blob_expect(_i, st, "race", want, strlen(want), CONTRACT_THREADS, "after the race");
    store_free(st);
}
END_TEST

/* A decision after store_set_params uses the new parameters; bad ones are refused. */
START_TEST(test_set_params)
{
    struct store *st = contract_open(_i, 3600, 7200, 600, 0);
    struct policy_params p = {.delay = 0, .retry_window = 7200, .pass_ttl = 600,
                              .awl_threshold = 0, .awl_ttl = 3600};
    struct policy_params bad = p;
    struct triplet t;
    struct policy_verdict v;
    char    err[STORE_ERRLEN] = "";

    store_contract_triplet(&t, "192.0.2.0/24", "alice@example.org", "bob@example.net");
    contract_expect(_i, st, &t, POLICY_REASON_NEW, "first sighting");
    contract_expect(_i, st, &t, POLICY_REASON_EARLY, "delay 3600: early");
    bad.pass_ttl = 0;
    ck_assert_msg(store_set_params(st, &bad, err, sizeof(err)) == -1 && err[0] != 0,
                  "%s: pass_ttl 0 accepted", contract_backends[_i].name);
    contract_expect(_i, st, &t, POLICY_REASON_EARLY, "after a refused change: still early");
    ck_assert_msg(store_set_params(st, &p, err, sizeof(err)) == 0, "%s: set_params: %s",
                  contract_backends[_i].name, err);
    v = contract_expect(_i, st, &t, POLICY_REASON_RETRY, "delay 0: the retry passes");
    ck_assert_msg(v.delayed >= 0 && v.delayed < 3600, "%s: delayed %" PRId64,
                  contract_backends[_i].name, v.delayed);
    store_free(st);
}
END_TEST

/* Learn mode passes and stores as passed; back in enforce the triplet is known. */
START_TEST(test_learn)
{
    struct policy_params p = {.delay = 3600, .retry_window = 7200, .pass_ttl = 600,
                              .awl_threshold = 0, .awl_ttl = 3600, .learn = 1};
    char    err[STORE_ERRLEN] = "";
    struct store *st = contract_backends[_i].open_fn(&p, err, sizeof(err));
    struct triplet t, u;

    ck_assert_msg(st != NULL, "%s: open: %s", contract_backends[_i].name, err);
    store_contract_triplet(&t, "192.0.2.0/24", "alice@example.org", "bob@example.net");
    store_contract_triplet(&u, "192.0.2.0/24", "carol@example.org", "bob@example.net");
    contract_expect(_i, st, &t, POLICY_REASON_LEARN, "learn: first sighting passes");
    contract_expect(_i, st, &t, POLICY_REASON_KNOWN, "learn: then it is known");
    p.learn = 0;
    ck_assert_int_eq(store_set_params(st, &p, err, sizeof(err)), 0);
    contract_expect(_i, st, &t, POLICY_REASON_KNOWN, "enforce: the learnt triplet is known");
    contract_expect(_i, st, &u, POLICY_REASON_NEW, "enforce: a new one is greylisted");
    p.learn = 1;
    ck_assert_int_eq(store_set_params(st, &p, err, sizeof(err)), 0);
    contract_expect(_i, st, &u, POLICY_REASON_LEARN, "learn again: the pending one passes");
    contract_expect(_i, st, &u, POLICY_REASON_KNOWN, "learn again: then it is known");
    store_free(st);
}
END_TEST

/* A call's own delay (store_decide_opts.delay, delay_listed) replaces the configured one. */
START_TEST(test_opts_delay)
{
    struct store *st = contract_open(_i, 0, 7200, 600, 0);
    struct store_decide_opts o = {.delay = 3600};
    struct triplet t;
    struct policy_verdict v;
    char    err[STORE_ERRLEN] = "";

    store_contract_triplet(&t, "192.0.2.0/24", "alice@example.org", "bob@example.net");
    ck_assert_msg(store_decide_with(st, &t, &o, &v, err, sizeof(err)) == 0, "%s: %s",
                  contract_backends[_i].name, err);
    ck_assert_msg(v.reason == POLICY_REASON_NEW, "%s: first: got %s, want new",
                  contract_backends[_i].name, policy_reason_name(v.reason));
    ck_assert_msg(store_decide_with(st, &t, &o, &v, err, sizeof(err)) == 0, "%s: %s",
                  contract_backends[_i].name, err);
    ck_assert_msg(v.reason == POLICY_REASON_EARLY, "%s: delay 3600 by opts: got %s, want early",
                  contract_backends[_i].name, policy_reason_name(v.reason));
    /* Without it, the configured delay 0 lets the same retry pass. */
    contract_expect(_i, st, &t, POLICY_REASON_RETRY, "configured delay 0: passes");
    store_free(st);
}
END_TEST

/* contract_walk - count the whole store in steps; the number of steps into *steps */
static struct store_counts
contract_walk(int i, struct store *st, int *steps)
{
    struct store_walk w;
    char    err[STORE_ERRLEN] = "";

    memset(&w, 0, sizeof(w));
    *steps = 0;
    while (!w.done) {
        ck_assert_msg(store_count_step(st, &w, err, sizeof(err)) == 0, "%s: count: %s",
                      contract_backends[i].name, err);
        ck_assert_msg(++*steps < 100000, "%s: the walk does not end", contract_backends[i].name);
    }
    return w.counts;
}

/* contract_counts - assert the counts of a walk */
static void
contract_counts(int i, struct store *st, uint64_t pending, uint64_t passed, uint64_t awl,
                const char *step)
{
    int     steps;
    struct store_counts c = contract_walk(i, st, &steps);

    ck_assert_msg(c.pending == pending && c.passed == passed && c.awl == awl,
                  "%s: %s: counted %" PRIu64 " pending, %" PRIu64 " passed, %" PRIu64
                  " awl; want %" PRIu64 ", %" PRIu64 ", %" PRIu64, contract_backends[i].name,
                  step, c.pending, c.passed, c.awl, pending, passed, awl);
}

/* The admin calls: read, pass, delete, count, and a blob's delete. */
START_TEST(test_admin)
{
    struct store *st = contract_open(_i, 3600, 7200, 600, 1);
    const char *name = contract_backends[_i].name;
    struct store_entry e;
    struct triplet t;
    char    err[STORE_ERRLEN] = "";
    int64_t wall = (int64_t) time(NULL);
    int     existed;

    store_contract_triplet(&t, "192.0.2.0/24", "alice@example.org", "bob@example.net");
    ck_assert_msg(store_entry_get(st, &t, &e, err, sizeof(err)) == 0, "%s: get: %s", name, err);
    ck_assert_msg(e.state == STORE_GREY_ABSENT && !e.has_awl, "%s: unknown: state %d awl %d",
                  name, (int) e.state, e.has_awl);
    contract_counts(_i, st, 0, 0, 0, "empty");

    contract_expect(_i, st, &t, POLICY_REASON_NEW, "first sighting");
    ck_assert_int_eq(store_entry_get(st, &t, &e, err, sizeof(err)), 0);
    ck_assert_msg(e.state == STORE_GREY_PENDING, "%s: pending: state %d", name, (int) e.state);
    ck_assert_msg(e.grey.first_seen >= wall - 2 && e.grey.first_seen <= wall + 2
                  && e.grey.expires == e.grey.first_seen + 7200 && e.now >= e.grey.first_seen,
                  "%s: pending: first_seen %" PRId64 " expires %" PRId64 " (wall %" PRId64 ")",
                  name, e.grey.first_seen, e.grey.expires, wall);
    contract_counts(_i, st, 1, 0, 0, "one pending");

    /* Release: the next attempt passes, and it is counted as passed. */
    ck_assert_msg(store_entry_pass(st, &t, err, sizeof(err)) == 0, "%s: pass: %s", name, err);
    ck_assert_int_eq(store_entry_get(st, &t, &e, err, sizeof(err)), 0);
    ck_assert_msg(e.state == STORE_GREY_PASSED && e.grey.expires >= wall + 598
                  && e.grey.expires <= wall + 602, "%s: passed: state %d expires %" PRId64,
                  name, (int) e.state, e.grey.expires);
    contract_counts(_i, st, 0, 1, 0, "one passed");
    contract_expect(_i, st, &t, POLICY_REASON_KNOWN, "after pass");

    /* Delete: gone, once. */
    ck_assert_int_eq(store_entry_delete(st, &t, &existed, err, sizeof(err)), 0);
    ck_assert_msg(existed == 1, "%s: delete: existed %d", name, existed);
    ck_assert_int_eq(store_entry_delete(st, &t, &existed, err, sizeof(err)), 0);
    ck_assert_msg(existed == 0, "%s: delete again: existed %d", name, existed);
    ck_assert_int_eq(store_entry_get(st, &t, &e, err, sizeof(err)), 0);
    ck_assert_msg(e.state == STORE_GREY_ABSENT, "%s: deleted: state %d", name, (int) e.state);
    contract_expect(_i, st, &t, POLICY_REASON_NEW, "after delete");

    /* A blob deleted is absent. */
    contract_blob_put(_i, st, "gone", "x", 1);
    ck_assert_int_eq(store_blob_delete(st, "gone", &existed, err, sizeof(err)), 0);
    ck_assert_msg(existed == 1, "%s: blob delete: existed %d", name, existed);
    ck_assert_int_eq(store_blob_delete(st, "gone", &existed, err, sizeof(err)), 0);
    ck_assert_msg(existed == 0, "%s: blob delete again: existed %d", name, existed);
    {
        struct store_blob_meta meta;

        ck_assert(store_blob_get(st, "gone", NULL, NULL, &meta, err, sizeof(err))
                  == STORE_BLOB_ABSENT);
    }
    store_free(st);
}
END_TEST

/* A walk over more entries than one step takes counts each exactly once. */
START_TEST(test_admin_walk)
{
    struct store *st = contract_open(_i, 0, 7200, 600, 1);
    struct store_counts c;
    struct triplet t;
    char    rcpt[64];
    int     steps, n = 4500;

    for (int k = 0; k < n; k++) {
        snprintf(rcpt, sizeof(rcpt), "r%d@example.net", k);
        store_contract_triplet(&t, "192.0.2.0/24", "alice@example.org", rcpt);
        contract_expect(_i, st, &t, POLICY_REASON_NEW, "fill");
    }
    /* delay 0: the first retry passes and counts the AWL (one key for all). */
    contract_expect(_i, st, &t, POLICY_REASON_RETRY, "retry");
    c = contract_walk(_i, st, &steps);
    ck_assert_msg(c.pending == (uint64_t) n - 1 && c.passed == 1 && c.awl == 1,
                  "%s: counted %" PRIu64 " pending, %" PRIu64 " passed, %" PRIu64 " awl",
                  contract_backends[_i].name, c.pending, c.passed, c.awl);
    ck_assert_msg(steps > 1, "%s: %d entries in %d step", contract_backends[_i].name, n + 1,
                  steps);
    store_free(st);
}
END_TEST

/* contract_tcase - a TCase of s with room for the sleeps under sanitizers */
static TCase *
contract_tcase(Suite *s, const char *name)
{
    TCase  *tc = tcase_create(name);

    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);
    return tc;
}

/* contract_suite - register the backend and build its suite; timed: with the sleeping TCases */
static Suite *
contract_suite(const char *backend_name,
               struct store *(*open_fn)(const struct policy_params *p, char *err, size_t errlen),
               int timed)
{
    int     k = contract_nbackends;
    Suite  *s = suite_create(backend_name);
    TCase  *tc;

    if (k >= CONTRACT_BACKENDS_MAX) {
        fprintf(stderr, "store_contract_suite: over %d backends\n", CONTRACT_BACKENDS_MAX);
        abort();
    }
    contract_backends[k].name = backend_name;
    contract_backends[k].open_fn = open_fn;
    contract_nbackends++;

    tc = contract_tcase(s, "first sighting");
    tcase_add_loop_test(tc, test_first_sighting, k, k + 1);
    if (timed) {
        tc = contract_tcase(s, "lifecycle");
        tcase_add_loop_test(tc, test_lifecycle, k, k + 1);
        tc = contract_tcase(s, "renewal");
        tcase_add_loop_test(tc, test_renewal, k, k + 1);
        tc = contract_tcase(s, "expiry");
        tcase_add_loop_test(tc, test_expiry, k, k + 1);
        tcase_add_loop_test(tc, test_expiry_edge, k, k + 1);
    }
    tc = contract_tcase(s, "awl");
    tcase_add_loop_test(tc, test_awl, k, k + 1);
    tcase_add_loop_test(tc, test_awl_off, k, k + 1);
    tc = contract_tcase(s, "independence");
    tcase_add_loop_test(tc, test_rcpt_independent, k, k + 1);
    tcase_add_loop_test(tc, test_client_independent, k, k + 1);
    tc = contract_tcase(s, "concurrency");
    tcase_add_loop_test(tc, test_concurrent_same, k, k + 1);
    tcase_add_loop_test(tc, test_concurrent_distinct, k, k + 1);
    tc = contract_tcase(s, "blobs");
    tcase_add_loop_test(tc, test_blob_roundtrip, k, k + 1);
    tcase_add_loop_test(tc, test_blob_limits, k, k + 1);
    tcase_add_loop_test(tc, test_blob_bad_names, k, k + 1);
    tcase_add_loop_test(tc, test_blob_concurrent, k, k + 1);
    tc = contract_tcase(s, "parameters");
    tcase_add_loop_test(tc, test_set_params, k, k + 1);
    tcase_add_loop_test(tc, test_learn, k, k + 1);
    tcase_add_loop_test(tc, test_opts_delay, k, k + 1);
    tc = contract_tcase(s, "admin");
    tcase_add_loop_test(tc, test_admin, k, k + 1);
    tcase_add_loop_test(tc, test_admin_walk, k, k + 1);
    store_contract_abuse(s, backend_name, open_fn);
    return s;
}

/* store_contract_suite - every TCase of the contract for backend_name */
Suite  *
store_contract_suite(const char *backend_name,
                     struct store *(*open_fn)(const struct policy_params *p,
                                              char *err, size_t errlen))
{
    return contract_suite(backend_name, open_fn, 1);
}

/* store_contract_suite_untimed - the contract without the TCases that sleep */
Suite  *
store_contract_suite_untimed(const char *backend_name,
                             struct store *(*open_fn)(const struct policy_params *p,
                                                      char *err, size_t errlen))
{
    return contract_suite(backend_name, open_fn, 0);
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_store_lmdb_stall.c - every wait of a caller on the LMDB writer is
 * bounded by the store's timeout, also while the writer runs the request
 * (store_lmdb_writer.c): with the writer stalled inside its transaction
 * (lmdb_writer_test_stall), a decision, a blob read and eight decisions
 * at once each come back with a store error within the timeout; the
 * writer then finishes the requests it was running (their callers gone)
 * without touching their memory (ASan watches), and the store answers
 * again. Every test gets a fresh directory.
 */
#include "config.h"

#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "daemon.h"
#include "policy.h"
#include "store.h"
#include "store_lmdb.h"
#include "store_lmdb_writer.h"
#include "triplet.h"

#define TIMEOUT_MS 250                   /* the store's store_timeout */
#define STALL_US 1500000                 /* the writer's stall: six timeouts */
#define BOUND_MS 900                     /* a caller's wait, want under this (load slack) */
#define RECOVER_MS 10000                 /* the store answers again within this */
#define NTHREADS 8

static char test_dir[1024];

static void
setup(void)
{
    daemon_dir_new(test_dir, sizeof(test_dir), "lmdbstall");
}

static void
teardown(void)
{
    lmdb_writer_test_stall(0);
    daemon_dir_remove(test_dir);
    test_dir[0] = '\0';
}

/* open_ok - the store in test_dir with TIMEOUT_MS, delay 60 s */
static struct store *
open_ok(void)
{
    char    url[1100], err[STORE_ERRLEN] = "";
    struct store_config conf;
    struct store *st;

    memset(&conf, 0, sizeof(conf));
    snprintf(url, sizeof(url), "lmdb:%s", test_dir);
    conf.url = url;
    conf.key_prefix = "rg:";
    conf.params.delay = 60;
    conf.params.retry_window = 3600;
    conf.params.pass_ttl = 3600;
    conf.params.awl_ttl = 3600;
    conf.timeout_ms = TIMEOUT_MS;
    conf.lmdb_mapsize = 16u << 20;
    st = store_lmdb_open(&conf, err, sizeof(err));
    ck_assert_msg(st != NULL, "open %s: %s", test_dir, err);
    return st;
}

/* trip - triplet n */
static void
trip(struct triplet *t, int n)
{
    memset(t, 0, sizeof(*t));
    snprintf(t->client_key, sizeof(t->client_key), "10.0.%d.0/24", n % 250);
    snprintf(t->sender, sizeof(t->sender), "sender%d@example.org", n);
    snprintf(t->rcpt, sizeof(t->rcpt), "rcpt%d@example.net", n);
}

/*
 * decide_until_ok - decide on t until the store answers (the writer has
 * finished its stalled transaction), at most RECOVER_MS; the reason
 */
static enum policy_reason
decide_until_ok(struct store *st, const struct triplet *t)
{
    int64_t until = clock_mono_ms() + RECOVER_MS;
    struct policy_verdict v;
    char    err[STORE_ERRLEN] = "";

    while (store_decide(st, t, &v, err, sizeof(err)) != 0)
        ck_assert_msg(clock_mono_ms() < until, "the store never answered again: %s", err);
    return v.reason;
}

/*
 * test_decide_running - a decision whose transaction stalls comes back
 * within the timeout with a store error that says so; the writer still
 * completes it (its caller gone), so that the retry finds the triplet
 */
START_TEST(test_decide_running)
{
    struct store *st = open_ok();
    struct policy_verdict v;
    struct triplet t;
    char    err[STORE_ERRLEN] = "";
    int64_t t0, took;
    int     rc;

    trip(&t, 1);
    lmdb_writer_test_stall(STALL_US);
    t0 = clock_mono_ms();
    rc = store_decide(st, &t, &v, err, sizeof(err));
    took = clock_mono_ms() - t0;
    lmdb_writer_test_stall(0);
    ck_assert_msg(rc == -1, "a stalled writer: store_decide returned %d, want -1", rc);
    ck_assert_msg(strstr(err, "timeout") != NULL && strstr(err, "may still be written") != NULL,
                  "error \"%s\", want a timeout while the writer ran it", err);
    ck_assert_msg(took >= TIMEOUT_MS - 20 && took < BOUND_MS, "store_decide took %lld ms, want"
                  " about the timeout (%d ms), not the stall (%d ms)", (long long) took,
                  TIMEOUT_MS, STALL_US / 1000);
    ck_assert_msg(decide_until_ok(st, &t) == POLICY_REASON_EARLY,
                  "the stalled decision was not written: the retry saw a new triplet");
    store_free(st);
}
END_TEST

/*
 * test_blob_running - a blob read whose transaction stalls: an error
 * within the timeout, and the copy the writer made for the caller that
 * left is freed (LeakSanitizer would say); the next read gets the blob
 */
START_TEST(test_blob_running)
{
    struct store *st = open_ok();
    struct store_blob_meta meta;
    char    err[STORE_ERRLEN] = "", *data = NULL;
    size_t  len = 0;
    struct triplet t;
    int64_t t0, took, until;
    enum store_blob_result r;

    ck_assert_msg(store_blob_put(st, "set", "0123456789", 10, &meta, err, sizeof(err)) == 0,
                  "blob put: %s", err);
    lmdb_writer_test_stall(STALL_US);
    t0 = clock_mono_ms();
    r = store_blob_get(st, "set", &data, &len, &meta, err, sizeof(err));
    took = clock_mono_ms() - t0;
    lmdb_writer_test_stall(0);
    ck_assert_msg(r == STORE_BLOB_ERROR && data == NULL, "a stalled writer: blob get gave %d"
                  " (data %p), want an error and no data", (int) r, (void *) data);
    ck_assert_msg(took < BOUND_MS, "blob get took %lld ms, want about %d", (long long) took,
                  TIMEOUT_MS);
    trip(&t, 2);
    decide_until_ok(st, &t);             /* the writer is back */
    until = clock_mono_ms() + RECOVER_MS;
    while ((r = store_blob_get(st, "set", &data, &len, &meta, err, sizeof(err))) != STORE_BLOB_FOUND)
        ck_assert_msg(clock_mono_ms() < until, "blob get never answered again: %s", err);
    ck_assert_msg(len == 10 && memcmp(data, "0123456789", 10) == 0, "blob read back wrong");
    free(data);
    store_free(st);
}
END_TEST

/* One caller of test_many. */
struct caller {
    struct store *st;
    int     n;
    int     rc;
    int64_t took;
    char    err[STORE_ERRLEN];
};

/* caller_main - one decision, timed */
static void *
caller_main(void *arg)
{
    struct caller *c = arg;
    struct policy_verdict v;
    struct triplet t;
    int64_t t0 = clock_mono_ms();

    trip(&t, c->n);
    c->rc = store_decide(c->st, &t, &v, c->err, sizeof(c->err));
    c->took = clock_mono_ms() - t0;
    return NULL;
}

/*
 * test_many - eight decisions at once on a stalled writer (some run in
 * its batch, others wait on the queue): every one returns an error
 * within the bound, and the store then answers each triplet
 */
START_TEST(test_many)
{
    struct store *st = open_ok();
    struct caller c[NTHREADS];
    pthread_t tid[NTHREADS];
    struct triplet t;
    int     i;

    lmdb_writer_test_stall(STALL_US);
    for (i = 0; i < NTHREADS; i++) {
        memset(&c[i], 0, sizeof(c[i]));
        c[i].st = st;
        c[i].n = 10 + i;
        ck_assert_int_eq(pthread_create(&tid[i], NULL, caller_main, &c[i]), 0);
    }
    for (i = 0; i < NTHREADS; i++)
        pthread_join(tid[i], NULL);
    lmdb_writer_test_stall(0);
    for (i = 0; i < NTHREADS; i++)
        ck_assert_msg(c[i].rc == -1 && c[i].took < BOUND_MS && strstr(c[i].err, "timeout"),
                      "caller %d: rc %d after %lld ms (%s), want a timeout within %d ms", i,
                      c[i].rc, (long long) c[i].took, c[i].err, BOUND_MS);
    for (i = 0; i < NTHREADS; i++) {
        trip(&t, 10 + i);
        decide_until_ok(st, &t);
    }
    store_free(st);
}
END_TEST

static Suite *
store_lmdb_stall_suite(void)
{
    Suite  *s = suite_create("store_lmdb_stall");
    TCase  *tc = tcase_create("stall");

    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_decide_running);
    tcase_add_test(tc, test_blob_running);
    tcase_add_test(tc, test_many);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return daemon_run_suites(store_lmdb_stall_suite(), NULL) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

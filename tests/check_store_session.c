/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_store_session.c - the concurrent-session count of the store
 * (store_session_enter/leave) on both backends: a real redis-server (run
 * under with-redis.sh) and an LMDB environment in a scratch directory.
 * The same cases run on each: counting per address, renewing, leaving,
 * expiry by the ttl (polled with a bound), bad arguments; then what only
 * one backend shows: the Redis key's type and TTL, and the LMDB database
 * swept of the sessions of addresses that never come back.
 */
#include "config.h"

#include <check.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "daemon.h"
#include "ipaddr.h"
#include "store.h"

#define TIMEOUT_MS 2000
#define EXPIRY_BOUND_MS 8000             /* a 1 s ttl must have run out well before */

static char test_lmdb_dir[512];          /* the LMDB case's directory, for its own checks */

/* test_params - parameters every backend accepts */
static struct policy_params
test_params(void)
{
    struct policy_params p = {
        .delay = 300, .retry_window = 3600, .pass_ttl = 3600, .awl_threshold = 0,
        .awl_ttl = 3600,
    };

    return p;
}

/* test_open - open backend (0 Redis, 1 LMDB) with a prefix of this process */
static struct store *
test_open(int lmdb)
{
    char    url[600], prefix[32], err[STORE_ERRLEN] = "";
    const char *redis = getenv("REDGREY_TEST_REDIS");
    struct store_config conf = {
        .url = url, .key_prefix = prefix, .params = test_params(),
        .timeout_ms = TIMEOUT_MS, .pool = 4, .lmdb_mapsize = 16 * 1024 * 1024,
    };
    struct store *st;

    snprintf(prefix, sizeof(prefix), "s%ld:", (long) getpid());
    if (lmdb) {
        daemon_dir_new(test_lmdb_dir, sizeof(test_lmdb_dir), "session-lmdb");
        snprintf(url, sizeof(url), "lmdb:%s", test_lmdb_dir);
    } else {
        ck_assert_msg(redis != NULL && *redis != 0,
                      "REDGREY_TEST_REDIS is not set: run under tests/with-redis.sh");
        snprintf(url, sizeof(url), "redis://%s", redis);
    }
    st = store_open(&conf, err, sizeof(err));
    ck_assert_msg(st != NULL && err[0] == 0, "open %s: %s", url, err);
    return st;
}

/* enter_ok - store_session_enter that must succeed; the count */
static int
enter_ok(struct store *st, const char *ip, const char *id, int64_t ttl)
{
    struct ipaddr a = daemon_must_ip(ip);
    char    err[STORE_ERRLEN] = "";
    int     n = store_session_enter(st, &a, id, ttl, err, sizeof(err));

    ck_assert_msg(n >= 1, "enter %s %s: %d (%s)", ip, id, n, err);
    return n;
}

/* leave_ok - store_session_leave that must succeed */
static void
leave_ok(struct store *st, const char *ip, const char *id)
{
    struct ipaddr a = daemon_must_ip(ip);
    char    err[STORE_ERRLEN] = "";

    ck_assert_msg(store_session_leave(st, &a, id, err, sizeof(err)) == 0, "leave %s %s: %s",
                  ip, id, err);
}

/* count_per_address - each address counts its own sessions; entering again renews */
START_TEST(count_per_address)
{
    struct store *st = test_open(_i);

    ck_assert_int_eq(enter_ok(st, "192.0.2.1", "a", 60), 1);
    ck_assert_int_eq(enter_ok(st, "192.0.2.1", "b", 60), 2);
    ck_assert_int_eq(enter_ok(st, "192.0.2.1", "c", 60), 3);
    /* The neighbour of the same /24 is another client: sessions are per address. */
    ck_assert_int_eq(enter_ok(st, "192.0.2.2", "a", 60), 1);
    ck_assert_int_eq(enter_ok(st, "2001:db8::1", "a", 60), 1);
    ck_assert_int_eq(enter_ok(st, "2001:db8::2", "a", 60), 1);
    /* The same id again is the same session. */
    ck_assert_int_eq(enter_ok(st, "192.0.2.1", "b", 60), 3);
    store_free(st);
}
END_TEST

/* leave_frees - a left session no longer counts; leaving twice is fine */
START_TEST(leave_frees)
{
    struct store *st = test_open(_i);

    ck_assert_int_eq(enter_ok(st, "198.51.100.7", "a", 60), 1);
    ck_assert_int_eq(enter_ok(st, "198.51.100.7", "b", 60), 2);
    leave_ok(st, "198.51.100.7", "a");
    leave_ok(st, "198.51.100.7", "a");
    leave_ok(st, "198.51.100.7", "never-entered");
    ck_assert_int_eq(enter_ok(st, "198.51.100.7", "c", 60), 2);
    leave_ok(st, "198.51.100.7", "b");
    leave_ok(st, "198.51.100.7", "c");
    ck_assert_int_eq(enter_ok(st, "198.51.100.7", "d", 60), 1);
    store_free(st);
}
END_TEST

/*
 * expiry - sessions never left stop counting once their ttl is over; a
 * fresh enter of another id is polled (it renews itself) within a bound
 */
START_TEST(expiry)
{
    struct store *st = test_open(_i);
    long long t0 = daemon_now_ms();
    int     n;

    ck_assert_int_eq(enter_ok(st, "203.0.113.9", "crashed-1", 1), 1);
    ck_assert_int_eq(enter_ok(st, "203.0.113.9", "crashed-2", 1), 2);
    ck_assert_int_eq(enter_ok(st, "203.0.113.9", "long", 600), 3);
    while ((n = enter_ok(st, "203.0.113.9", "probe", 600)) != 2
           && daemon_now_ms() - t0 < EXPIRY_BOUND_MS) {
        ck_assert_int_eq(n, 4);          /* both still live, or both gone */
        daemon_sleep_ms(100);
    }
    ck_assert_msg(n == 2, "the 1 s sessions still count after %d ms",
                  (int) (daemon_now_ms() - t0));
    ck_assert_int_ge(daemon_now_ms() - t0, 900);
    store_free(st);
}
END_TEST

/* bad_arguments - ids with spaces, empty or too long, ttl 0, no address */
START_TEST(bad_arguments)
{
    struct store *st = test_open(_i);
    struct ipaddr a = daemon_must_ip("192.0.2.50"), none;
    char    err[STORE_ERRLEN], longid[STORE_SESSION_ID_MAX + 2];

    memset(longid, 'x', sizeof(longid) - 1);
    longid[sizeof(longid) - 1] = 0;
    memset(&none, 0, sizeof(none));
    ck_assert_int_eq(store_session_enter(st, &a, "a b", 60, err, sizeof(err)), -1);
    ck_assert_int_eq(store_session_enter(st, &a, "", 60, err, sizeof(err)), -1);
    ck_assert_int_eq(store_session_enter(st, &a, longid, 60, err, sizeof(err)), -1);
    ck_assert_int_eq(store_session_enter(st, &a, "ok", 0, err, sizeof(err)), -1);
    ck_assert_int_eq(store_session_enter(st, &none, "ok", 60, err, sizeof(err)), -1);
    ck_assert_int_eq(store_session_leave(st, &a, NULL, err, sizeof(err)), -1);
    longid[STORE_SESSION_ID_MAX] = 0;
    ck_assert_int_eq(enter_ok(st, "192.0.2.50", longid, 60), 1);
    store_free(st);
}
END_TEST

/* key_format - PREFIX{TAG}s with the compact tag of the host block */
START_TEST(key_format)
{
    struct ipaddr a = daemon_must_ip("203.0.113.7"), b = daemon_must_ip("2001:db8::1");
    char    buf[STORE_SESSION_KEY_MAX];

    ck_assert_uint_eq(store_session_key("rg:", &a, buf, sizeof(buf)), strlen("rg:{4ywBxBw}s"));
    ck_assert_str_eq(buf, "rg:{4ywBxBw}s");
    ck_assert_uint_gt(store_session_key("", &b, buf, sizeof(buf)), 0);
    ck_assert_str_eq(buf, "{6IAENuAAAAAAAAAAAAAAAAQ}s");
    ck_assert_uint_eq(store_session_key("rg:", &a, buf, 8), 0);
    ck_assert_uint_eq(store_session_key("r{g", &a, buf, sizeof(buf)), 0);
}
END_TEST

/* redis_key - a sorted set that expires with its last member and goes with it */
START_TEST(redis_key)
{
    struct store *st = test_open(0);
    struct ipaddr a = daemon_must_ip("192.0.2.77");
    char    key[STORE_SESSION_KEY_MAX], host[256], *colon;
    redisContext *rc;
    redisReply *r;

    snprintf(host, sizeof(host), "%s", getenv("REDGREY_TEST_REDIS"));
    ck_assert_ptr_nonnull(colon = strrchr(host, ':'));
    *colon = 0;
    rc = redisConnect(host, atoi(colon + 1));
    ck_assert_msg(rc != NULL && rc->err == 0, "connect to the test redis");
    ck_assert_uint_gt(store_session_key(st->key_prefix, &a, key, sizeof(key)), 0);
    ck_assert_int_eq(enter_ok(st, "192.0.2.77", "a", 30), 1);
    ck_assert_int_eq(enter_ok(st, "192.0.2.77", "b", 60), 2);
    r = redisCommand(rc, "TYPE %s", key);
    ck_assert_str_eq(r->str, "zset");
    freeReplyObject(r);
    r = redisCommand(rc, "PTTL %s", key);
    ck_assert_int_gt(r->integer, 50000);
    ck_assert_int_le(r->integer, 60000);
    freeReplyObject(r);
    leave_ok(st, "192.0.2.77", "a");
    leave_ok(st, "192.0.2.77", "b");
    r = redisCommand(rc, "EXISTS %s", key);
    ck_assert_int_eq(r->integer, 0);
    freeReplyObject(r);
    redisFree(rc);
    store_free(st);
}
END_TEST

/* lmdb_sessions_entries - the number of entries of the "sessions" database of dir */
static size_t
lmdb_sessions_entries(const char *dir)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_stat stat;

    ck_assert_int_eq(mdb_env_create(&env), 0);
    ck_assert_int_eq(mdb_env_set_maxdbs(env, 4), 0);
    ck_assert_int_eq(mdb_env_open(env, dir, MDB_RDONLY | MDB_NOTLS, 0600), 0);
    ck_assert_int_eq(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
    ck_assert_int_eq(mdb_dbi_open(txn, "sessions", 0, &dbi), 0);
    ck_assert_int_eq(mdb_stat(txn, dbi, &stat), 0);
    mdb_txn_abort(txn);
    mdb_env_close(env);
    return stat.ms_entries;
}

/*
 * lmdb_sweep - sessions of addresses that never come back are deleted
 * once expired, by the enters of other addresses
 */
START_TEST(lmdb_sweep)
{
    struct store *st = test_open(1);
    long long t0;
    char    id[16];

    for (int i = 0; i < 20; i++) {
        snprintf(id, sizeof(id), "gone-%d", i);
        ck_assert_int_eq(enter_ok(st, "192.0.2.200", id, 1), i + 1);
    }
    /* Only time must pass for them to expire: nothing is asserted on the wait. */
    t0 = daemon_now_ms();
    while (daemon_now_ms() - t0 < 1200)
        daemon_sleep_ms(100);
    /* Each enter looks at a few entries: 20 stale ones take a few enters. */
    for (int i = 0; i < 10; i++) {
        snprintf(id, sizeof(id), "other-%d", i);
        ck_assert_int_eq(enter_ok(st, "198.51.100.1", id, 600), i + 1);
    }
    store_free(st);
    ck_assert_uint_eq(lmdb_sessions_entries(test_lmdb_dir), 10);
    daemon_dir_remove(test_lmdb_dir);
}
END_TEST

/* session_suite - the shared cases on both backends, then each one's own */
static Suite *
session_suite(void)
{
    Suite  *s = suite_create("store_session");
    TCase  *tc = tcase_create("both");

    tcase_set_timeout(tc, 30);
    tcase_add_loop_test(tc, count_per_address, 0, 2);
    tcase_add_loop_test(tc, leave_frees, 0, 2);
    tcase_add_loop_test(tc, expiry, 0, 2);
    tcase_add_loop_test(tc, bad_arguments, 0, 2);
    tcase_add_test(tc, key_format);
    suite_add_tcase(s, tc);
    tc = tcase_create("own");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, redis_key);
    tcase_add_test(tc, lmdb_sweep);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return daemon_run_suites(session_suite(), NULL) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

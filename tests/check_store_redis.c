/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_store_redis.c - the Redis store: the store contract over TCP and
 * over the unix socket, then what only Redis has: key layout, values and
 * TTLs, logging in, NOSCRIPT recovery, the server stopped or killed under
 * a live store, and memory per greylisted triplet. (URL parsing:
 * check_store_url.c. Decisions over time, against policy.c:
 * check_policy_lua.c, so the contract runs here without its sleeping
 * TCases.)
 *
 * Runs under with-redis.sh against a private redis-server; without one the
 * program fails. The outage tests stop, kill and restart that server; an
 * unchecked fixture (run by the parent process even when a test fails)
 * brings it back, and they run last.
 */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "clock.h"
#include "daemon.h"
#include "store.h"
#include "store_contract.h"
#include "store_redis.h"

#define TEST_PASSWORD "s3cret-pw"

/* test_env - an environment variable with-redis.sh sets; fails the test without it */
static const char *
test_env(const char *name)
{
    const char *v = getenv(name);

    ck_assert_msg(v != NULL && *v != 0, "%s is not set: run under tests/with-redis.sh", name);
    return v;
}

/* test_url - the fixture's URL: TCP or unix, with a suffix ("/3", "?db=3") */
static void
test_url(int unix_socket, const char *auth, const char *suffix, char *buf, size_t len)
{
    if (unix_socket)
        snprintf(buf, len, "redis+unix://%s%s", test_env("REDGREY_TEST_REDIS_SOCK"), suffix);
    else
        snprintf(buf, len, "redis://%s%s%s", auth, test_env("REDGREY_TEST_REDIS"), suffix);
}

/* test_params - policy parameters in seconds; awl_ttl 3600 unless given */
static struct policy_params
test_params(int64_t delay, int64_t window, int64_t pass_ttl, int64_t threshold, int64_t awl_ttl)
{
    struct policy_params p = {
        .delay = delay, .retry_window = window, .pass_ttl = pass_ttl,
        .awl_threshold = threshold, .awl_ttl = awl_ttl,
    };

    return p;
}

/* test_open - store_open with a key prefix no other test uses */
static struct store *
test_open(const char *url, const struct policy_params *p, int pool, int timeout_ms,
          char *err, size_t errlen)
{
    static int n;
    char    prefix[32];
    struct store_config conf = {
        .url = url, .key_prefix = prefix, .params = *p,
        .timeout_ms = timeout_ms, .pool = pool,
    };

    snprintf(prefix, sizeof(prefix), "t%ld-%d:", (long) getpid(), n++);
    return store_open(&conf, err, errlen);
}

/* test_open_ok - test_open that must succeed */
static struct store *
test_open_ok(const char *url, const struct policy_params *p, int pool, int timeout_ms)
{
    char    err[STORE_ERRLEN] = "";
    struct store *st = test_open(url, p, pool, timeout_ms, err, sizeof(err));

    ck_assert_msg(st != NULL, "open %s: %s", url, err);
    return st;
}

/* redis_open_tcp - the contract fixture over TCP */
static struct store *
redis_open_tcp(const struct policy_params *p, char *err, size_t errlen)
{
    char    url[256];

    test_url(0, "", "", url, sizeof(url));
    return test_open(url, p, 8, 2000, err, errlen);
}

/* redis_open_unix - the contract fixture over the unix socket */
static struct store *
redis_open_unix(const struct policy_params *p, char *err, size_t errlen)
{
    char    url[256];

    test_url(1, "", "", url, sizeof(url));
    return test_open(url, p, 8, 2000, err, errlen);
}

/*
 * test_open_down - test_open of a server that cannot serve: the store
 * opens all the same, with a warning holding want; its decisions fail at
 * once with that reason
 */
static void
test_open_down(const char *url, const struct policy_params *p, const char *want)
{
    char    err[STORE_ERRLEN] = "", derr[STORE_ERRLEN] = "";
    struct policy_verdict v;
    int64_t start;
    struct triplet t;
    struct store *st = test_open(url, p, 1, 2000, err, sizeof(err));

    ck_assert_msg(st != NULL, "%s: open failed: %s", url, err);
    ck_assert_msg(strstr(err, want) != NULL, "%s: warning \"%s\", want it to say %s", url,
                  err, want);
    memset(&t, 0, sizeof(t));
    snprintf(t.client_key, sizeof(t.client_key), "203.0.113.0/24");
    start = clock_mono_ms();
    ck_assert_msg(store_decide(st, &t, &v, derr, sizeof(derr)) == -1, "%s: decided", url);
    ck_assert_msg((long) (clock_mono_ms() - start) < 50, "%s: refusal took %ld ms", url,
                  (long) (clock_mono_ms() - start));
    ck_assert_msg(strstr(derr, "unavailable") != NULL && strstr(derr, want) != NULL,
                  "%s: decision error \"%s\", want unavailable and %s", url, derr, want);
    store_free(st);
}

/* test_decide - store_decide that must succeed with reason want */
static struct policy_verdict
test_decide(struct store *st, const struct triplet *t, enum policy_reason want, const char *step)
{
    struct policy_verdict v;
    char    err[STORE_ERRLEN] = "";

    ck_assert_msg(store_decide(st, t, &v, err, sizeof(err)) == 0, "%s: store_decide: %s",
                  step, err);
    ck_assert_msg(v.reason == want, "%s: got %s, want %s", step,
                  policy_reason_name(v.reason), policy_reason_name(want));
    return v;
}

/* ---- our own connection, to look at what the store wrote ---- */

/* test_redis_try - connect to the fixture over TCP within ms; NULL if it does not answer */
static redisContext *
test_redis_try(int ms)
{
    char    host[64];
    const char *hp = test_env("REDGREY_TEST_REDIS");
    const char *colon = strrchr(hp, ':');
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    redisContext *c;
    redisReply *r;

    ck_assert_msg(colon != NULL && (size_t) (colon - hp) < sizeof(host), "bad %s", hp);
    snprintf(host, sizeof(host), "%.*s", (int) (colon - hp), hp);
    c = redisConnectWithTimeout(host, atoi(colon + 1), tv);
    if (c == NULL || c->err || redisSetTimeout(c, tv) != REDIS_OK) {
        redisFree(c);
        return NULL;
    }
    r = redisCommand(c, "PING");
    if (r == NULL || r->type == REDIS_REPLY_ERROR) {
        freeReplyObject(r);
        redisFree(c);
        return NULL;
    }
    freeReplyObject(r);
    return c;
}

/* test_redis - our connection, which must work */
static redisContext *
test_redis(void)
{
    redisContext *c = test_redis_try(2000);

    ck_assert_msg(c != NULL, "cannot reach redis at %s", test_env("REDGREY_TEST_REDIS"));
    return c;
}

/* test_cmd - run a NULL-terminated argument list; the reply must arrive */
static redisReply *
test_cmd(redisContext *c, const char *arg0, ...)
{
    const char *argv[16];
    size_t  lens[16];
    int     n = 0;
    va_list ap;
    redisReply *r;

    va_start(ap, arg0);
    for (const char *a = arg0; a != NULL && n < 16; a = va_arg(ap, const char *)) {
        argv[n] = a;
        lens[n++] = strlen(a);
    }
    va_end(ap);
    r = redisCommandArgv(c, n, argv, lens);
    ck_assert_msg(r != NULL, "redis %s: %s", arg0, c->errstr);
    return r;
}

/* test_cmd_int - a command whose reply must be an integer */
static long long
test_cmd_int(redisContext *c, const char *cmd, const char *key)
{
    redisReply *r = test_cmd(c, cmd, key, NULL);
    long long v;

    ck_assert_msg(r->type == REDIS_REPLY_INTEGER, "%s %s: not an integer reply", cmd, key);
    v = r->integer;
    freeReplyObject(r);
    return v;
}

/* test_get - GET key into buf ("(nil)" when absent) */
static void
test_get(redisContext *c, const char *key, char *buf, size_t len)
{
    redisReply *r = test_cmd(c, "GET", key, NULL);

    snprintf(buf, len, "%s", r->type == REDIS_REPLY_STRING ? r->str : "(nil)");
    freeReplyObject(r);
}

/* ---- configuration ---- */

static const struct config_case {
    const char *label;
    const char *prefix;
    int     pool;
    int     timeout_ms;
    struct policy_params p;
} config_cases[] = {
    {"pool 0", "rg:", 0, 250, {300, 172800, 3110400, 3, 3110400, 0}},
    {"timeout 0", "rg:", 8, 0, {300, 172800, 3110400, 3, 3110400, 0}},
    {"brace in prefix", "rg{", 8, 250, {300, 172800, 3110400, 3, 3110400, 0}},
    {"retry_window 0", "rg:", 8, 250, {300, 0, 3110400, 3, 3110400, 0}},
    {"pass_ttl 0", "rg:", 8, 250, {300, 172800, 0, 3, 3110400, 0}},
    {"negative delay", "rg:", 8, 250, {-1, 172800, 3110400, 3, 3110400, 0}},
    {"threshold too big", "rg:", 8, 250, {300, 172800, 3110400, 70000, 3110400, 0}},
    {"awl_ttl 0 with awl", "rg:", 8, 250, {300, 172800, 3110400, 3, 0, 0}},
};

START_TEST(test_open_config)
{
    const struct config_case *c = &config_cases[_i];
    char    url[256], err[STORE_ERRLEN] = "";
    struct store_config conf = {
        .url = url, .key_prefix = c->prefix, .params = c->p,
        .timeout_ms = c->timeout_ms, .pool = c->pool,
    };
    struct store *st;

    test_url(0, "", "", url, sizeof(url));
    st = store_open(&conf, err, sizeof(err));
    ck_assert_msg(st == NULL, "%s: got a store, want NULL", c->label);
    ck_assert_msg(err[0] != 0, "%s: no reason given", c->label);
}
END_TEST

/* ---- key layout, values and TTLs ---- */

START_TEST(test_keys)
{
    struct policy_params p = test_params(0, 100, 1000, 1, 5000);
    char    url[256], gkey[TRIPLET_KEY_MAX], akey[TRIPLET_KEY_MAX], val[64], want[64];
    char    pattern[TRIPLET_PREFIX_MAX + 2], cursor[32] = "0";
    redisContext *c = test_redis();
    struct store *st;
    struct triplet t;
    struct policy_verdict v;
    int     seen_g = 0, seen_a = 0, nkeys = 0;

    test_url(0, "", "", url, sizeof(url));
    st = test_open_ok(url, &p, 2, 2000);
    store_contract_triplet(&t, "203.0.113.0/24", "alice@example.org", "bob@example.net");
    ck_assert(triplet_grey_key(st->key_prefix, &t, gkey, sizeof(gkey)) > 0);
    ck_assert(triplet_awl_key(st->key_prefix, &t, akey, sizeof(akey)) > 0);

    /* Pending: the value is first_seen, the TTL retry_window, no AWL yet. */
    v = test_decide(st, &t, POLICY_REASON_NEW, "first sighting");
    test_get(c, gkey, val, sizeof(val));
    snprintf(want, sizeof(want), "%lld", (long long) v.now);
    ck_assert_msg(strcmp(val, want) == 0, "pending value: got %s, want %s", val, want);
    ck_assert_msg(test_cmd_int(c, "TTL", gkey) >= 99 && test_cmd_int(c, "TTL", gkey) <= 100,
                  "pending TTL: got %lld, want 99..100", test_cmd_int(c, "TTL", gkey));
    ck_assert_msg(test_cmd_int(c, "EXISTS", akey) == 0, "AWL key before any pass");

    /* Passed: the value is 0, the TTL pass_ttl; the AWL counts one pass. */
    v = test_decide(st, &t, POLICY_REASON_RETRY, "retry");
    test_get(c, gkey, val, sizeof(val));
    ck_assert_msg(strcmp(val, "0") == 0, "passed value: got %s, want 0", val);
    ck_assert_msg(test_cmd_int(c, "TTL", gkey) >= 999 && test_cmd_int(c, "TTL", gkey) <= 1000,
                  "passed TTL: got %lld, want 999..1000", test_cmd_int(c, "TTL", gkey));
    test_get(c, akey, val, sizeof(val));
    snprintf(want, sizeof(want), "%lld", (long long) v.now * 65536 + 1);
    ck_assert_msg(strcmp(val, want) == 0, "AWL value: got %s, want %s", val, want);
    ck_assert_msg(test_cmd_int(c, "TTL", akey) >= 4999 && test_cmd_int(c, "TTL", akey) <= 5000,
                  "AWL TTL: got %lld, want 4999..5000", test_cmd_int(c, "TTL", akey));

    /* Exactly these two keys, with the prefix and the client key as hash tag. */
    snprintf(pattern, sizeof(pattern), "%s*", st->key_prefix);
    do {
        redisReply *r = test_cmd(c, "SCAN", cursor, "MATCH", pattern, "COUNT", "1000", NULL);

        ck_assert(r->type == REDIS_REPLY_ARRAY && r->elements == 2);
        snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
        for (size_t k = 0; k < r->element[1]->elements; k++) {
            const char *key = r->element[1]->element[k]->str;
            size_t  plen = strlen(st->key_prefix);

            nkeys++;
            seen_g += strcmp(key, gkey) == 0;
            seen_a += strcmp(key, akey) == 0;
            ck_assert_msg(strncmp(key + plen, "{4ywBx}", 7) == 0,
                          "key %s: want the prefix then {4ywBx} (203.0.113.0/24)", key);
            ck_assert_msg(strchr(key, '{') == key + plen, "key %s: one hash tag", key);
        }
        freeReplyObject(r);
    } while (strcmp(cursor, "0") != 0);
    ck_assert_msg(nkeys == 2 && seen_g == 1 && seen_a == 1,
                  "keys: got %d (grey %d, awl %d), want the grey and the AWL key", nkeys,
                  seen_g, seen_a);

    /* A pass renews the TTL of a passed entry; an AWL pass the AWL's. */
    freeReplyObject(test_cmd(c, "EXPIRE", gkey, "50", NULL));
    freeReplyObject(test_cmd(c, "EXPIRE", akey, "50", NULL));
    test_decide(st, &t, POLICY_REASON_AWL, "whitelisted");
    ck_assert_msg(test_cmd_int(c, "TTL", akey) >= 4999, "AWL TTL not renewed by an AWL pass");
    ck_assert_msg(test_cmd_int(c, "TTL", gkey) <= 50, "grey TTL touched by an AWL pass");

    store_free(st);
    redisFree(c);
}
END_TEST

START_TEST(test_compact_pending)
{
    struct policy_params p = test_params(60, 120, 1000, 0, 5000);
    char    url[256], gkey[TRIPLET_KEY_MAX], val[64];
    redisContext *c = test_redis();
    struct store_config conf = {
        .url = url, .params = p, .timeout_ms = 2000, .pool = 1,
    };
    struct policy_verdict v1, v2;
    struct store *st, *st2;
    struct triplet t;
    long long pttl;

    /* retry_window in whole minutes: the value is the minutes, a shared integer. */
    test_url(0, "", "", url, sizeof(url));
    st = test_open_ok(url, &p, 1, 2000);
    store_contract_triplet(&t, "203.0.113.0/24", "alice@example.org", "bob@example.net");
    ck_assert(triplet_grey_key(st->key_prefix, &t, gkey, sizeof(gkey)) > 0);
    v1 = test_decide(st, &t, POLICY_REASON_NEW, "first sighting");
    test_get(c, gkey, val, sizeof(val));
    ck_assert_msg(strcmp(val, "2") == 0, "pending value: got %s, want 2 (minutes)", val);
    pttl = test_cmd_int(c, "PTTL", gkey);
    ck_assert_msg(pttl > 119000 && pttl <= 120500, "PTTL: got %lld, want 119000..120500", pttl);
    test_decide(st, &t, POLICY_REASON_EARLY, "at once");

    /* Another config (delay 0, retry_window 3 min) reads first_seen right. */
    conf.key_prefix = st->key_prefix;
    conf.params.delay = 0;
    conf.params.retry_window = 180;
    st2 = store_open(&conf, val, sizeof(val));
    ck_assert_msg(st2 != NULL, "open: %s", val);
    v2 = test_decide(st2, &t, POLICY_REASON_RETRY, "retry under the new config");
    ck_assert_msg(v2.delayed == v2.now - v1.now, "delayed: got %lld, want %lld",
                  (long long) v2.delayed, (long long) (v2.now - v1.now));
    store_free(st2);
    store_free(st);
    redisFree(c);
}
END_TEST

/* awl_seed - store an AWL record of count passes, the last one `ago` seconds back */
static void
awl_seed(redisContext *c, const char *akey, long long count, long long ago)
{
    char    val[32];

    snprintf(val, sizeof(val), "%lld", ((long long) time(NULL) - ago) * 65536 + count);
    freeReplyObject(test_cmd(c, "SET", akey, val, "EX", "3600", NULL));
}

START_TEST(test_awl_hourly)
{
    struct policy_params p = test_params(0, 100, 1000, 2, 5000);
    char    url[256], akey[TRIPLET_KEY_MAX], val[64], want[64];
    redisContext *c = test_redis();
    struct policy_verdict v;
    struct store *st;
    struct triplet a, b, d, e;

    test_url(0, "", "", url, sizeof(url));
    st = test_open_ok(url, &p, 1, 2000);
    store_contract_triplet(&a, "203.0.113.0/24", "alice@example.org", "r1@example.net");
    store_contract_triplet(&b, "203.0.113.0/24", "bob@example.org", "r2@example.net");
    store_contract_triplet(&d, "203.0.113.0/24", "dave@example.org", "r4@example.net");
    store_contract_triplet(&e, "203.0.113.0/24", "erin@example.org", "r5@example.net");
    ck_assert(triplet_awl_key(st->key_prefix, &a, akey, sizeof(akey)) > 0);

    /* Counted 10 s ago: this pass does not count, but renews the TTL. */
    awl_seed(c, akey, 1, 10);
    test_get(c, akey, want, sizeof(want));
    test_decide(st, &a, POLICY_REASON_NEW, "A first sighting");
    test_decide(st, &a, POLICY_REASON_RETRY, "A retry, last count 10 s ago");
    test_get(c, akey, val, sizeof(val));
    ck_assert_msg(strcmp(val, want) == 0, "AWL after an uncounted pass: got %s, want %s",
                  val, want);
    ck_assert_msg(test_cmd_int(c, "TTL", akey) >= 4999, "AWL TTL not renewed");
    test_decide(st, &b, POLICY_REASON_NEW, "B, count still 1 of 2");

    /* Counted an hour and a second ago: this pass counts and reaches 2. */
    awl_seed(c, akey, 1, 3601);
    test_decide(st, &d, POLICY_REASON_NEW, "D first sighting");
    v = test_decide(st, &d, POLICY_REASON_RETRY, "D retry, last count 3601 s ago");
    test_get(c, akey, val, sizeof(val));
    snprintf(want, sizeof(want), "%lld", (long long) v.now * 65536 + 2);
    ck_assert_msg(strcmp(val, want) == 0, "AWL after a counted pass: got %s, want %s", val,
                  want);
    test_decide(st, &e, POLICY_REASON_AWL, "E, count 2 of 2");
    store_free(st);
    redisFree(c);
}
END_TEST

START_TEST(test_junk_values)
{
    struct policy_params p = test_params(60, 100, 1000, 1, 5000);
    char    url[256], gkey[TRIPLET_KEY_MAX], akey[TRIPLET_KEY_MAX];
    redisContext *c = test_redis();
    struct store *st;
    struct triplet t;

    test_url(0, "", "", url, sizeof(url));
    st = test_open_ok(url, &p, 1, 2000);
    store_contract_triplet(&t, "203.0.113.0/24", "alice@example.org", "bob@example.net");
    ck_assert(triplet_grey_key(st->key_prefix, &t, gkey, sizeof(gkey)) > 0);
    ck_assert(triplet_awl_key(st->key_prefix, &t, akey, sizeof(akey)) > 0);

    /* Values the store did not write count as absent and are replaced. */
    freeReplyObject(test_cmd(c, "SET", gkey, "junk", NULL));
    freeReplyObject(test_cmd(c, "SET", akey, "nan", NULL));
    test_decide(st, &t, POLICY_REASON_NEW, "junk grey, junk AWL");
    test_decide(st, &t, POLICY_REASON_EARLY, "after the junk was replaced");
    freeReplyObject(test_cmd(c, "SET", gkey, "-5", NULL));
    freeReplyObject(test_cmd(c, "SET", akey, "1e400", NULL));
    test_decide(st, &t, POLICY_REASON_NEW, "negative grey, infinite AWL");

    /* A key of another type is an error, not a crash and not a pass. */
    freeReplyObject(test_cmd(c, "DEL", gkey, NULL));
    freeReplyObject(test_cmd(c, "HSET", gkey, "f", "v", NULL));
    {
        struct policy_verdict v;
        char    err[STORE_ERRLEN] = "";

        ck_assert_msg(store_decide(st, &t, &v, err, sizeof(err)) == -1, "wrong type decided");
        ck_assert_msg(strstr(err, "script") != NULL, "wrong type: %s", err);
    }
    store_free(st);
    redisFree(c);
}
END_TEST

/* ---- the end of a pending entry ---- */

/* test_server_ms - the server's TIME in milliseconds */
static long long
test_server_ms(redisContext *c)
{
    redisReply *r = test_cmd(c, "TIME", NULL);
    long long ms;

    ck_assert_msg(r->type == REDIS_REPLY_ARRAY && r->elements == 2, "TIME: bad reply");
    ms = atoll(r->element[0]->str) * 1000 + atoll(r->element[1]->str) / 1000;
    freeReplyObject(r);
    return ms;
}

/*
 * Pending entries crafted to end exactly now, or a second from now. The
 * plain form's value is first_seen; the compact form's is the window in
 * minutes, and first_seen is read back from the key's PTTL. policy.c
 * counts a record with expires <= now as absent, so an entry at
 * first_seen + window is a new sighting even while its key still lives.
 */
static const struct boundary_case {
    const char *label;
    int     compact;                     /* 1: value "1" (minutes), else first_seen */
    int64_t window;                      /* retry_window of the store */
    int     ends_in;                     /* seconds from now to first_seen + window */
    enum policy_reason want;
    int64_t want_delayed;                /* RETRY only */
} boundary_cases[] = {
    {"plain, at first_seen + window", 0, 100, 0, POLICY_REASON_NEW, 0},
    {"plain, a second before", 0, 100, 1, POLICY_REASON_RETRY, 99},
    {"compact, at first_seen + window", 1, 60, 0, POLICY_REASON_NEW, 0},
    {"compact, a second before", 1, 60, 1, POLICY_REASON_RETRY, 59},
};

START_TEST(test_window_end)
{
    const struct boundary_case *bc = &boundary_cases[_i];
    struct policy_params p = test_params(10, bc->window, 1000, 0, 5000);
    char    url[256], gkey[TRIPLET_KEY_MAX], val[32], px[32], err[STORE_ERRLEN];
    redisContext *c = test_redis();
    struct policy_verdict v;
    struct store *st;
    struct triplet t;
    long long at, now, skew = 0;
    int     tries;

    test_url(0, "", "", url, sizeof(url));
    st = test_open_ok(url, &p, 1, 2000);
    store_contract_triplet(&t, "203.0.113.0/24", "alice@example.org", "bob@example.net");
    ck_assert(triplet_grey_key(st->key_prefix, &t, gkey, sizeof(gkey)) > 0);

    /*
     * Craft the key and decide within one second, without waiting for one:
     * the decision's clock is skewed to 500 ms into the next second of the
     * server's, and the key's PX counts from that clock. Only a stall of
     * 500 ms between the two commands misses the second; then try again.
     */
    for (tries = 0; tries < 3; tries++) {
        at = test_server_ms(c);
        skew = 1500 - at % 1000;
        now = (at + skew) / 1000;
        if (bc->compact) {
            /* expires within second now + ends_in: first_seen = that - 60 */
            snprintf(val, sizeof(val), "1");
            snprintf(px, sizeof(px), "%lld", (now + bc->ends_in) * 1000 + 900 - (at + skew));
        } else {
            snprintf(val, sizeof(val), "%lld", now + bc->ends_in - bc->window);
            snprintf(px, sizeof(px), "%d", 5000);
        }
        freeReplyObject(test_cmd(c, "SET", gkey, val, "PX", px, NULL));
        ck_assert_msg(store_redis_decide_skewed(st, &t, skew, &v, err, sizeof(err)) == 0,
                      "%s: %s", bc->label, err);
        if (v.now == now)
            break;
    }
    ck_assert_msg(tries < 3, "%s: could not decide within one second", bc->label);
    ck_assert_msg(v.reason == bc->want, "%s: got %s, want %s", bc->label,
                  policy_reason_name(v.reason), policy_reason_name(bc->want));
    if (bc->want == POLICY_REASON_RETRY)
        ck_assert_msg(v.delayed == bc->want_delayed, "%s: delayed: got %lld, want %lld",
                      bc->label, (long long) v.delayed, (long long) bc->want_delayed);
    store_free(st);
    redisFree(c);
}
END_TEST

/*
 * Passed and AWL entries end where policy.c ends them: at the last ms of
 * the second before now + pass_ttl (awl_ttl), not up to a second later as
 * an EX ttl would (a regression: a retry at now + ttl passed as known, or
 * by the AWL, where policy.c sees the entry expired).
 */
START_TEST(test_expiry_exact)
{
    struct policy_params p = test_params(0, 100, 1000, 2, 5000);
    char    url[256], gkey[TRIPLET_KEY_MAX], akey[TRIPLET_KEY_MAX];
    redisContext *c = test_redis();
    struct policy_verdict v;
    struct store *st;
    struct triplet a, b;

    test_url(0, "", "", url, sizeof(url));
    st = test_open_ok(url, &p, 1, 2000);
    store_contract_triplet(&a, "203.0.113.0/24", "alice@example.org", "r1@example.net");
    store_contract_triplet(&b, "203.0.113.0/24", "bob@example.org", "r2@example.net");
    ck_assert(triplet_grey_key(st->key_prefix, &a, gkey, sizeof(gkey)) > 0);
    ck_assert(triplet_awl_key(st->key_prefix, &a, akey, sizeof(akey)) > 0);

    test_decide(st, &a, POLICY_REASON_NEW, "first sighting");
    v = test_decide(st, &a, POLICY_REASON_RETRY, "retry");
    ck_assert_int_eq(test_cmd_int(c, "PEXPIRETIME", gkey), (v.now + 1000) * 1000 - 1);
    ck_assert_int_eq(test_cmd_int(c, "PEXPIRETIME", akey), (v.now + 5000) * 1000 - 1);

    /* Renewals end on the same boundary, counted from their own now. */
    freeReplyObject(test_cmd(c, "PEXPIRE", gkey, "50000", NULL));
    freeReplyObject(test_cmd(c, "PEXPIRE", akey, "50000", NULL));
    v = test_decide(st, &a, POLICY_REASON_KNOWN, "known");
    ck_assert_int_eq(test_cmd_int(c, "PEXPIRETIME", gkey), (v.now + 1000) * 1000 - 1);
    awl_seed(c, akey, 2, 10);
    v = test_decide(st, &b, POLICY_REASON_AWL, "whitelisted");
    ck_assert_int_eq(test_cmd_int(c, "PEXPIRETIME", akey), (v.now + 5000) * 1000 - 1);

    /* The test entry writes the same instants on the server's clock. */
    freeReplyObject(test_cmd(c, "DEL", gkey, akey, NULL));
    test_decide(st, &a, POLICY_REASON_NEW, "first sighting again");
    {
        char    err[STORE_ERRLEN] = "";

        ck_assert_msg(store_redis_decide_skewed(st, &a, 7000, &v, err, sizeof(err)) == 0,
                      "skewed retry: %s", err);
        ck_assert_msg(v.reason == POLICY_REASON_RETRY, "skewed retry: got %s",
                      policy_reason_name(v.reason));
    }
    ck_assert_int_eq(test_cmd_int(c, "PEXPIRETIME", gkey), (v.now + 1000) * 1000 - 1 - 7000);
    ck_assert_int_eq(test_cmd_int(c, "PEXPIRETIME", akey), (v.now + 5000) * 1000 - 1 - 7000);
    store_free(st);
    redisFree(c);
}
END_TEST

/* Blob hashes the store did not write: every read is an error, never a wrong blob. */
static const struct blob_junk_case {
    const char *label;
    const char *f1, *v1, *f2, *v2, *f3, *v3; /* HSET field value ... */
    int     put_ok;                      /* a put over it succeeds */
} blob_junk_cases[] = {
    {"version not a number", "version", "abc", "stamp", "1", "data", "x", 0},
    {"version zero", "version", "0", "stamp", "1", "data", "x", 1},
    {"negative stamp", "version", "3", "stamp", "-1", "data", "x", 1},
    {"no stamp", "version", "3", "data", "x", NULL, NULL, 1},
    {"no data", "version", "3", "stamp", "1", NULL, NULL, 1},
    {"huge version", "version", "99999999999999999999", "stamp", "1", "data", "x", 0},
};

/* test_blob_junk - a damaged blob hash reads as STORE_BLOB_ERROR with the key named */
START_TEST(test_blob_junk)
{
    const struct blob_junk_case *k = &blob_junk_cases[_i];
    struct policy_params p = test_params(60, 100, 1000, 0, 5000);
    char    url[256], key[128], err[STORE_ERRLEN] = "";
    redisContext *c = test_redis();
    struct store_blob_meta m;
    struct store *st;
    char   *data = NULL;
    size_t  len;
    enum store_blob_result r;

    test_url(0, "", "", url, sizeof(url));
    st = test_open_ok(url, &p, 1, 2000);
    ck_assert_uint_gt(store_blob_key(st->key_prefix, "bigsenders", key, sizeof(key)), 0);
    freeReplyObject(test_cmd(c, "HSET", key, k->f1, k->v1, k->f2, k->v2, k->f3, k->v3, NULL));
    r = store_blob_get(st, "bigsenders", &data, &len, &m, err, sizeof(err));
    ck_assert_msg(r == STORE_BLOB_ERROR && data == NULL, "%s: get: got %d, want STORE_BLOB_ERROR",
                  k->label, (int) r);
    ck_assert_msg(strstr(err, "malformed") != NULL && strstr(err, key) != NULL,
                  "%s: get: got error \"%s\", want \"malformed\" and the key", k->label, err);
    ck_assert_msg(store_blob_put(st, "bigsenders", "new", 3, &m, err, sizeof(err))
                  == (k->put_ok ? 0 : -1), "%s: put over it: got the other result (%s)",
                  k->label, err);

    /* A key of another type is an error too. */
    freeReplyObject(test_cmd(c, "DEL", key, NULL));
    freeReplyObject(test_cmd(c, "SET", key, "a string", NULL));
    r = store_blob_get(st, "bigsenders", NULL, NULL, &m, err, sizeof(err));
    ck_assert_msg(r == STORE_BLOB_ERROR && strstr(err, "WRONGTYPE") != NULL,
                  "%s: string key: got %d (%s), want STORE_BLOB_ERROR with WRONGTYPE", k->label,
                  (int) r, err);
    store_free(st);
    redisFree(c);
}
END_TEST

START_TEST(test_select_db)
{
    struct policy_params p = test_params(60, 100, 1000, 0, 5000);
    char    url[256], gkey[TRIPLET_KEY_MAX];
    redisContext *c = test_redis();
    struct store *st;
    struct triplet t;

    store_contract_triplet(&t, "203.0.113.0/24", "alice@example.org", "bob@example.net");
    for (int unix_socket = 0; unix_socket <= 1; unix_socket++) {
        const char *db = unix_socket ? "5" : "3";

        test_url(unix_socket, "", unix_socket ? "?db=5" : "/3", url, sizeof(url));
        st = test_open_ok(url, &p, 1, 2000);
        ck_assert(triplet_grey_key(st->key_prefix, &t, gkey, sizeof(gkey)) > 0);
        test_decide(st, &t, POLICY_REASON_NEW, url);
        freeReplyObject(test_cmd(c, "SELECT", db, NULL));
        ck_assert_msg(test_cmd_int(c, "EXISTS", gkey) == 1, "%s: key not in db %s", url, db);
        freeReplyObject(test_cmd(c, "SELECT", "0", NULL));
        ck_assert_msg(test_cmd_int(c, "EXISTS", gkey) == 0, "%s: key in db 0", url);
        store_free(st);
    }
    redisFree(c);
}
END_TEST

START_TEST(test_noscript)
{
    struct policy_params p = test_params(60, 100, 1000, 0, 5000);
    char    url[256];
    redisContext *c = test_redis();
    redisReply *r;
    struct store *st;
    struct triplet t;

    /* One connection, so the flushed script is the one it loaded. */
    test_url(0, "", "", url, sizeof(url));
    st = test_open_ok(url, &p, 1, 2000);
    store_contract_triplet(&t, "203.0.113.0/24", "alice@example.org", "bob@example.net");
    test_decide(st, &t, POLICY_REASON_NEW, "before SCRIPT FLUSH");
    r = test_cmd(c, "SCRIPT", "FLUSH", NULL);
    ck_assert_msg(r->type == REDIS_REPLY_STATUS, "SCRIPT FLUSH failed");
    freeReplyObject(r);
    test_decide(st, &t, POLICY_REASON_EARLY, "after SCRIPT FLUSH");
    test_decide(st, &t, POLICY_REASON_EARLY, "and again");

    /* The test entry: loaded on first use, and again after a flush. */
    for (int k = 0; k < 2; k++) {
        struct policy_verdict v;
        char    err[STORE_ERRLEN] = "";

        ck_assert_msg(store_redis_decide_skewed(st, &t, 1000, &v, err, sizeof(err)) == 0,
                      "skewed entry, round %d: %s", k, err);
        ck_assert_msg(v.reason == POLICY_REASON_EARLY, "skewed entry: got %s",
                      policy_reason_name(v.reason));
        freeReplyObject(test_cmd(c, "SCRIPT", "FLUSH", NULL));
    }
    test_decide(st, &t, POLICY_REASON_EARLY, "production entry after both flushes");
    {
        struct policy_verdict v;
        char    err[STORE_ERRLEN] = "";

        ck_assert_msg(store_redis_decide_skewed(st, &t, STORE_REDIS_SKEW_MAX + 1, &v, err,
                                                sizeof(err)) == -1, "skew out of range decided");
    }
    store_free(st);
    redisFree(c);
}
END_TEST

/*
 * A host name: resolved at open; a reconnect (the server cut the
 * connection) goes to the address found then and works.
 */
START_TEST(test_host_name)
{
    struct policy_params p = test_params(60, 100, 1000, 0, 5000);
    const char *hp = test_env("REDGREY_TEST_REDIS");
    char    url[256];
    redisContext *c = test_redis();
    redisReply *r;
    struct store *st;
    struct triplet t;

    snprintf(url, sizeof(url), "redis://localhost%s", strrchr(hp, ':'));
    st = test_open_ok(url, &p, 1, 2000);
    store_contract_triplet(&t, "203.0.113.0/24", "alice@example.org", "bob@example.net");
    test_decide(st, &t, POLICY_REASON_NEW, "via localhost");
    r = test_cmd(c, "CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes", NULL);
    ck_assert_msg(r->type == REDIS_REPLY_INTEGER && r->integer >= 1,
                  "CLIENT KILL: no connection of the store killed");
    freeReplyObject(r);
    test_decide(st, &t, POLICY_REASON_EARLY, "after the server cut the connection");
    store_free(st);
    redisFree(c);
}
END_TEST

/* ---- logging in ---- */

/* auth_reset - unchecked teardown: take the password off again */
static void
auth_reset(void)
{
    redisContext *c = test_redis_try(2000);
    redisReply *r;

    if (c == NULL) {
        /* PING fails with NOAUTH: log in first. */
        const char *hp = getenv("REDGREY_TEST_REDIS");
        struct timeval tv = {2, 0};

        if (hp == NULL || (c = redisConnectWithTimeout("127.0.0.1", atoi(strrchr(hp, ':') + 1),
                                                       tv)) == NULL)
            return;
        redisSetTimeout(c, tv);
        freeReplyObject(redisCommand(c, "AUTH %s", TEST_PASSWORD));
    }
    r = redisCommand(c, "CONFIG SET requirepass %s", "");
    freeReplyObject(r);
    redisFree(c);
}

START_TEST(test_auth)
{
    struct policy_params p = test_params(60, 100, 1000, 0, 5000);
    char    url[256], err[STORE_ERRLEN];
    redisContext *c = test_redis();
    redisReply *r;
    struct store *st;
    struct triplet t;

    store_contract_triplet(&t, "203.0.113.0/24", "alice@example.org", "bob@example.net");

    /*
     * Logging in is part of being usable: a store that cannot log in opens
     * with a warning and fails its calls (test_open_down). No password
     * configured: sending one is an error, and says so.
     */
    test_url(0, ":" TEST_PASSWORD "@", "", url, sizeof(url));
    test_open_down(url, &p, "AUTH");

    r = test_cmd(c, "CONFIG", "SET", "requirepass", TEST_PASSWORD, NULL);
    ck_assert_msg(r->type == REDIS_REPLY_STATUS, "CONFIG SET requirepass failed");
    freeReplyObject(r);

    test_url(0, "", "", url, sizeof(url));
    test_open_down(url, &p, "NOAUTH");

    test_url(0, ":wrong-pw@", "", url, sizeof(url));
    st = test_open(url, &p, 1, 2000, err, sizeof(err));
    ck_assert_msg(st != NULL && strstr(err, "AUTH") != NULL, "wrong password: %s",
                  st ? err : "open failed");
    ck_assert_msg(strstr(err, "wrong-pw") == NULL, "password in %s", err);
    store_free(st);

    test_url(0, ":" TEST_PASSWORD "@", "", url, sizeof(url));
    st = test_open_ok(url, &p, 1, 2000);
    test_decide(st, &t, POLICY_REASON_NEW, "logged in over TCP");
    store_free(st);

    test_url(1, "", "?password=" TEST_PASSWORD, url, sizeof(url));
    st = test_open_ok(url, &p, 1, 2000);
    test_decide(st, &t, POLICY_REASON_NEW, "logged in over unix");
    store_free(st);

    r = test_cmd(c, "CONFIG", "SET", "requirepass", "", NULL);
    freeReplyObject(r);
    redisFree(c);
}
END_TEST

START_TEST(test_unreachable)
{
    struct policy_params p = test_params(60, 100, 1000, 0, 5000);
    struct sockaddr_in sin = {.sin_family = AF_INET};
    socklen_t slen = sizeof(sin);
    char    url[256], err[STORE_ERRLEN];
    int64_t start;
    struct store *st;
    int     fd;

    /* A port that was free a moment ago: nothing listens there. */
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert(fd >= 0 && bind(fd, (struct sockaddr *) &sin, sizeof(sin)) == 0);
    ck_assert(getsockname(fd, (struct sockaddr *) &sin, &slen) == 0);
    close(fd);
    snprintf(url, sizeof(url), "redis://127.0.0.1:%d", ntohs(sin.sin_port));

    /* Nobody there: the store opens at once with a warning, and fails fast. */
    start = clock_mono_ms();
    st = test_open(url, &p, 2, 200, err, sizeof(err));
    ck_assert_msg(st != NULL && strstr(err, "refused") != NULL, "%s: %s", url,
                  st ? err : "open failed");
    ck_assert_msg((long) (clock_mono_ms() - start) < 1000, "refused after %ld ms", (long) (clock_mono_ms() - start));
    store_free(st);
    test_open_down(url, &p, "refused");

    snprintf(url, sizeof(url), "redis+unix://%s/nonexistent.sock",
             test_env("REDGREY_TEST_TMP"));
    test_open_down(url, &p, "nonexistent.sock");

    /* What a restart cannot fix still fails the open. */
    st = test_open("redis://127.0.0.1:0", &p, 2, 200, err, sizeof(err));
    ck_assert_msg(st == NULL && strstr(err, "port") != NULL, "bad URL: %s",
                  st ? "opened" : err);
}
END_TEST

/* ---- the server stopped, killed, restarted ---- */

/* redis_pid - the fixture server's pid, from its pidfile */
static pid_t
redis_pid(void)
{
    long    pid;

    (void) test_env("REDGREY_TEST_REDIS_PIDFILE");
    pid = daemon_redis_pid();
    ck_assert_msg(pid != -1, "cannot read the redis pidfile");
    ck_assert_msg(pid > 1, "bad pid in the redis pidfile");
    return (pid_t) pid;
}

/* redis_wait_up - wait until the server answers PING, at most ms; 1 if it does */
static int
redis_wait_up(int ms)
{
    int64_t start;

    start = clock_mono_ms();
    while ((long) (clock_mono_ms() - start) < ms) {
        redisContext *c = test_redis_try(200);

        if (c != NULL) {
            redisFree(c);
            return 1;
        }
        usleep(20000);
    }
    return 0;
}

/* redis_refused - 1 once a connect to the server's port is refused */
static int
redis_wait_refused(int ms)
{
    int64_t start;
    const char *hp = test_env("REDGREY_TEST_REDIS");
    struct sockaddr_in sin = {.sin_family = AF_INET};

    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sin.sin_port = htons((uint16_t) atoi(strrchr(hp, ':') + 1));
    start = clock_mono_ms();
    while ((long) (clock_mono_ms() - start) < ms) {
        int     fd = socket(AF_INET, SOCK_STREAM, 0);
        int     rc = connect(fd, (struct sockaddr *) &sin, sizeof(sin));
        int     e = errno;

        close(fd);
        if (rc < 0 && e == ECONNREFUSED)
            return 1;
        usleep(20000);
    }
    return 0;
}

/*
 * test_wait_decide - decide on t until it works, at most ms (a bounded
 * poll: the store's probe runs in its own time); the ms it took, or -1
 */
static long
test_wait_decide(struct store *st, const struct triplet *t, int ms)
{
    struct policy_verdict v;
    int64_t start;
    char    err[STORE_ERRLEN];

    start = clock_mono_ms();
    do {
        if (store_decide(st, t, &v, err, sizeof(err)) == 0)
            return (long) (clock_mono_ms() - start);
        usleep(5000);
    } while ((long) (clock_mono_ms() - start) < ms);
    return -1;
}

/* outage_restore - unchecked teardown: continue or restart the server */
static void
outage_restore(void)
{
    const char *start = getenv("REDGREY_TEST_REDIS_START");
    long    pid = daemon_redis_pid();

    if (pid > 1)
        kill((pid_t) pid, SIGCONT);
    if (!redis_wait_up(2000) && start != NULL) {
        if (system(start) != 0)
            fprintf(stderr, "outage_restore: %s failed\n", start);
        redis_wait_up(5000);
    }
}

START_TEST(test_outage_stop)
{
    struct policy_params p = test_params(60, 100, 1000, 0, 5000);
    char    url[256], err[STORE_ERRLEN];
    struct policy_verdict v;
    int64_t start;
    struct store *st;
    struct triplet t;
    pid_t   pid = redis_pid();
    long    ms;

    test_url(0, "", "", url, sizeof(url));
    st = test_open_ok(url, &p, 2, 200);
    store_contract_triplet(&t, "203.0.113.0/24", "alice@example.org", "bob@example.net");
    test_decide(st, &t, POLICY_REASON_NEW, "before SIGSTOP");

    ck_assert(kill(pid, SIGSTOP) == 0);
    /* The first call waits out its timeout, which opens the breaker ... */
    start = clock_mono_ms();
    ck_assert_msg(store_decide(st, &t, &v, err, sizeof(err)) == -1,
                  "decided with the server stopped");
    ms = (long) (clock_mono_ms() - start);
    ck_assert_msg(ms >= 150 && ms < 1000, "failed after %ld ms, want 150..1000 "
                  "(timeout 200 ms)", ms);
    ck_assert_msg(strstr(err, "timeout") != NULL, "first call: %s", err);
    /* ... so the next one fails at once, and says why. */
    start = clock_mono_ms();
    ck_assert_msg(store_decide(st, &t, &v, err, sizeof(err)) == -1, "decided, breaker open");
    ms = (long) (clock_mono_ms() - start);
    ck_assert_msg(ms < 50, "second call failed after %ld ms, want < 50 (breaker open)", ms);
    ck_assert_msg(strstr(err, "unavailable") != NULL && strstr(err, "timeout") != NULL,
                  "second call: %s", err);
    ck_assert(kill(pid, SIGCONT) == 0);
    ms = test_wait_decide(st, &t, 1000);
    ck_assert_msg(ms >= 0, "no decision within 1 s of SIGCONT");
    test_decide(st, &t, POLICY_REASON_EARLY, "after SIGCONT");
    store_free(st);
}
END_TEST

#define POOL_CALLERS 6                 /* threads, more than the pool */
#define POOL_SIZE    2
#define POOL_TIMEOUT 200                 /* ms */
#define POOL_MARGIN  100                 /* ms of scheduling slack allowed */
#define POOL_LATE    50                  /* ms after the first callers, the others start */

struct pool_caller {
    struct store *st;                    /* shared store */
    pthread_barrier_t *go;               /* released together */
    int     late;                        /* 1: start POOL_LATE ms after the barrier */
    int     rc;                          /* store_decide's result */
    long    ms;                          /* how long it took */
    char    err[STORE_ERRLEN];           /* its reason */
};

/* pool_caller_run - one decision, timed, after the barrier */
static void *
pool_caller_run(void *arg)
{
    struct pool_caller *pc = arg;
    struct policy_verdict v;
    int64_t start;
    struct triplet t;

    store_contract_triplet(&t, "203.0.113.0/24", "alice@example.org", "bob@example.net");
    pthread_barrier_wait(pc->go);
    if (pc->late)
        usleep(POOL_LATE * 1000);
    start = clock_mono_ms();
    pc->rc = store_decide(pc->st, &t, &v, pc->err, sizeof(pc->err));
    pc->ms = (long) (clock_mono_ms() - start);
    return NULL;
}

/*
 * The server stopped and more callers than connections: POOL_SIZE callers
 * take the slots and time out; the others start POOL_LATE ms later, wait
 * for a slot, get one with time left, and must not start a (re)connect
 * with a fresh timeout: a call has one deadline for the wait, the connect
 * and the command, so every call fails within one store_timeout. That
 * round opens the breaker: in the second, every call fails at once.
 */
START_TEST(test_outage_pool)
{
    struct policy_params p = test_params(60, 100, 1000, 0, 5000);
    struct pool_caller pc[POOL_CALLERS];
    pthread_t tid[POOL_CALLERS];
    pthread_barrier_t go;
    char    url[256];
    struct store *st;
    struct triplet t;
    pid_t   pid = redis_pid();
    long    max[2] = {0, 0}, ms;
    int     failed[2] = {0, 0};
    const char *want[2] = {"timeout", "unavailable"};

    test_url(0, "", "", url, sizeof(url));
    st = test_open_ok(url, &p, POOL_SIZE, POOL_TIMEOUT);
    store_contract_triplet(&t, "203.0.113.0/24", "alice@example.org", "bob@example.net");
    test_decide(st, &t, POLICY_REASON_NEW, "before SIGSTOP");

    ck_assert(kill(pid, SIGSTOP) == 0);
    for (int round = 0; round < 2; round++) {
        ck_assert_int_eq(pthread_barrier_init(&go, NULL, POOL_CALLERS), 0);
        for (int k = 0; k < POOL_CALLERS; k++) {
            memset(&pc[k], 0, sizeof(pc[k]));
            pc[k].st = st;
            pc[k].go = &go;
            pc[k].late = k >= POOL_SIZE;
            ck_assert_int_eq(pthread_create(&tid[k], NULL, pool_caller_run, &pc[k]), 0);
        }
        for (int k = 0; k < POOL_CALLERS; k++) {
            pthread_join(tid[k], NULL);
            if (pc[k].rc != -1 || strstr(pc[k].err, want[round]) == NULL) {
                fprintf(stderr, "outage_pool: round %d: caller %d: rc %d: %s\n", round, k,
                        pc[k].rc, pc[k].err);
                failed[round]++;
            }
            if (pc[k].ms > max[round])
                max[round] = pc[k].ms;
        }
        pthread_barrier_destroy(&go);
        fprintf(stderr, "outage_pool: round %d: %d callers, pool %d, timeout %d ms:"
                " slowest failed after %ld ms\n", round, POOL_CALLERS, POOL_SIZE,
                POOL_TIMEOUT, max[round]);
    }
    /* Let the server go on before asserting, so that a failure here leaves it usable. */
    ck_assert(kill(pid, SIGCONT) == 0);
    for (int round = 0; round < 2; round++)
        ck_assert_msg(failed[round] == 0, "round %d: %d calls did not fail with %s",
                      round, failed[round], want[round]);
    ck_assert_msg(max[0] < POOL_TIMEOUT + POOL_MARGIN, "round 0: slowest call took"
                  " %ld ms, want < %d", max[0], POOL_TIMEOUT + POOL_MARGIN);
    ck_assert_msg(max[1] < POOL_TIMEOUT / 4, "round 1 (breaker open): slowest call took"
                  " %ld ms, want < %d", max[1], POOL_TIMEOUT / 4);
    ms = test_wait_decide(st, &t, 1000);
    ck_assert_msg(ms >= 0, "no decision within 1 s of SIGCONT");
    test_decide(st, &t, POLICY_REASON_EARLY, "after SIGCONT");
    store_free(st);
}
END_TEST

START_TEST(test_outage_kill)
{
    struct policy_params p = test_params(60, 100, 1000, 0, 5000);
    char    url[256], err[STORE_ERRLEN];
    struct policy_verdict v;
    int64_t start;
    struct store *st;
    struct triplet t;
    long    ms;

    test_url(0, "", "", url, sizeof(url));
    st = test_open_ok(url, &p, 2, 200);
    store_contract_triplet(&t, "203.0.113.0/24", "alice@example.org", "bob@example.net");
    test_decide(st, &t, POLICY_REASON_NEW, "before SIGKILL");

    ck_assert(kill(redis_pid(), SIGKILL) == 0);
    ck_assert_msg(redis_wait_refused(2000), "redis still accepts 2 s after SIGKILL");
    start = clock_mono_ms();
    ck_assert_msg(store_decide(st, &t, &v, err, sizeof(err)) == -1, "decided without a server");
    ms = (long) (clock_mono_ms() - start);
    ck_assert_msg(ms < 1000, "failed after %ld ms, want < 1000", ms);
    ck_assert_msg(strstr(err, "refused") != NULL, "after SIGKILL: %s", err);

    /* The same store reconnects once the server is back (empty: no save). */
    ck_assert_msg(system(test_env("REDGREY_TEST_REDIS_START")) == 0, "restart failed");
    ck_assert_msg(redis_wait_up(5000), "redis not answering 5 s after restart");
    test_decide(st, &t, POLICY_REASON_NEW, "after restart");
    test_decide(st, &t, POLICY_REASON_EARLY, "and again");
    store_free(st);
}
END_TEST

/* ---- memory ---- */

#define MEM_TRIPLETS 100000
#define MEM_THREADS  4

struct mem_thread {
    struct store *st;                    /* shared store */
    int     first;                       /* first triplet number */
    int     v6;                          /* IPv6 /64 client keys, not IPv4 /24 */
    int     failed;                      /* decisions that were not NEW */
    char    err[STORE_ERRLEN];           /* the last error */
};

/* mem_thread_run - first sightings of this thread's share of the triplets */
static void *
mem_thread_run(void *arg)
{
    struct mem_thread *mt = arg;
    struct triplet t;
    struct policy_verdict v;

    for (int n = mt->first; n < mt->first + MEM_TRIPLETS / MEM_THREADS; n++) {
        char    ck[32], rcpt[64];

        if (mt->v6)
            snprintf(ck, sizeof(ck), "2001:db8:%x:%x::/64", n % 256, n % 7);
        else
            snprintf(ck, sizeof(ck), "203.0.%d.0/24", n % 256);
        snprintf(rcpt, sizeof(rcpt), "user%d@example.net", n);
        store_contract_triplet(&t, ck, "sender@example.org", rcpt);
        if (store_decide(mt->st, &t, &v, mt->err, sizeof(mt->err)) < 0
            || v.reason != POLICY_REASON_NEW)
            mt->failed++;
    }
    return NULL;
}

/* mem_used - INFO memory's used_memory */
static long long
mem_used(redisContext *c)
{
    redisReply *r = test_cmd(c, "INFO", "memory", NULL);
    const char *p = r->type == REDIS_REPLY_STRING ? strstr(r->str, "used_memory:") : NULL;
    long long v;

    ck_assert_msg(p != NULL, "INFO memory: no used_memory");
    v = atoll(p + strlen("used_memory:"));
    freeReplyObject(r);
    return v;
}

START_TEST(test_memory)
{
    /* The defaults, the default prefix, a database of its own. */
    struct policy_params p = test_params(300, 172800, 3110400, 3, 3110400);
    char    url[256];
    redisContext *c = test_redis();
    struct store_config conf = {
        .url = url, .key_prefix = "rg:", .params = p, .timeout_ms = 2000, .pool = MEM_THREADS,
    };
    struct mem_thread mt[MEM_THREADS];
    pthread_t tid[MEM_THREADS];
    char    err[STORE_ERRLEN] = "";
    struct store *st;
    long long before, after, per;

    test_url(0, "", "/9", url, sizeof(url));
    st = store_open(&conf, err, sizeof(err));
    ck_assert_msg(st != NULL, "open: %s", err);
    freeReplyObject(test_cmd(c, "SELECT", "9", NULL));
    freeReplyObject(test_cmd(c, "FLUSHDB", NULL));
    before = mem_used(c);
    for (int k = 0; k < MEM_THREADS; k++) {
        memset(&mt[k], 0, sizeof(mt[k]));
        mt[k].st = st;
        mt[k].first = k * (MEM_TRIPLETS / MEM_THREADS);
        mt[k].v6 = _i;
        ck_assert_int_eq(pthread_create(&tid[k], NULL, mem_thread_run, &mt[k]), 0);
    }
    for (int k = 0; k < MEM_THREADS; k++) {
        pthread_join(tid[k], NULL);
        ck_assert_msg(mt[k].failed == 0, "thread %d: %d decisions not new (%s)", k,
                      mt[k].failed, mt[k].err);
    }
    after = mem_used(c);
    ck_assert_int_eq(test_cmd_int(c, "DBSIZE", NULL), MEM_TRIPLETS);
    per = (after - before) / MEM_TRIPLETS;
    printf("redis memory: %lld bytes per pending triplet (%d first sightings, IPv%d, "
           "INFO used_memory %lld -> %lld)\n", per, MEM_TRIPLETS, _i ? 6 : 4, before, after);

    /* A regression guard, not the target: see store_redis.c for the breakdown. */
    ck_assert_msg(per <= 120, "memory per pending triplet (IPv%d): got %lld bytes, want <= 120",
                  _i ? 6 : 4, per);
    freeReplyObject(test_cmd(c, "FLUSHDB", NULL));
    store_free(st);
    redisFree(c);
}
END_TEST

static Suite *
store_redis_suite(void)
{
    Suite  *s = suite_create("redis");
    TCase  *tc;

    tc = tcase_create("config");
    tcase_add_loop_test(tc, test_open_config, 0,
                        sizeof(config_cases) / sizeof(config_cases[0]));
    suite_add_tcase(s, tc);

    tc = tcase_create("keys");
    tcase_add_test(tc, test_keys);
    tcase_add_test(tc, test_compact_pending);
    tcase_add_test(tc, test_awl_hourly);
    tcase_add_test(tc, test_junk_values);
    tcase_add_loop_test(tc, test_window_end, 0, sizeof(boundary_cases) / sizeof(boundary_cases[0]));
    tcase_add_test(tc, test_expiry_exact);
    tcase_add_loop_test(tc, test_blob_junk, 0, sizeof(blob_junk_cases) / sizeof(blob_junk_cases[0]));
    tcase_add_test(tc, test_select_db);
    tcase_add_test(tc, test_noscript);
    tcase_add_test(tc, test_host_name);
    suite_add_tcase(s, tc);

    tc = tcase_create("auth");
    tcase_add_unchecked_fixture(tc, NULL, auth_reset);
    tcase_add_test(tc, test_auth);
    tcase_add_test(tc, test_unreachable);
    suite_add_tcase(s, tc);

    tc = tcase_create("memory");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_memory, 0, 2);      /* IPv4 /24, IPv6 /64 clients */
    suite_add_tcase(s, tc);

    /* Last: these stop and kill the server. */
    tc = tcase_create("outage");
    tcase_set_timeout(tc, 30);
    tcase_add_unchecked_fixture(tc, NULL, outage_restore);
    tcase_add_test(tc, test_outage_stop);
    tcase_add_test(tc, test_outage_pool);
    tcase_add_test(tc, test_outage_kill);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    Suite  *tcp, *unix_socket;
    int     failed;

    if (getenv("REDGREY_TEST_REDIS") == NULL) {
        fprintf(stderr, "check_store_redis: REDGREY_TEST_REDIS is not set:"
                " run under tests/with-redis.sh\n");
        return EXIT_FAILURE;
    }
    /* Decisions over time: check_policy_lua.c, with an injected clock instead of sleeps. */
    tcp = store_contract_suite_untimed("redis tcp", redis_open_tcp);
    unix_socket = store_contract_suite_untimed("redis unix", redis_open_unix);
    failed = daemon_run_suites(tcp, unix_socket, store_redis_suite(), NULL);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

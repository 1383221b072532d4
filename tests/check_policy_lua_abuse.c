/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_policy_lua_abuse.c - policy_decide_facts() and the Redis Lua
 * script held to one table on the abuse rows (issue 14): the client key's
 * new-triplet counter (KEYS[3]), its greytrap (KEYS[4]) and the outbound
 * pairs (KEYS[5], written by store_outbound_put), against the real
 * redis-server of with-redis.sh, under clock skew as check_policy_lua.c
 * does for the grey and AWL keys.
 *
 * Each batch has random parameters (the cap 0..3, greytrap_ttl and
 * outbound_ttl off or on, learn mode sometimes) and sequences of one
 * client key with four triplets; the fourth's recipient is a greytrap
 * (opts.trap). Before a decision a sequence may record the outbound pair
 * of one of its triplets, and may tell the store the pair's state itself
 * (opts.outbound 1 or -1, as redis-cluster:// does). Both sides decide;
 * the verdicts must agree, and after each round one EVAL reads back every
 * key (value, PEXPIRETIME), checks the counter and the trap against the
 * model, learns each outbound pair's expiry (SET EX runs on the real
 * clock) and moves the keys of the sequences whose clocks jump, exactly
 * as check_policy_lua.c explains: key expiry + skew is the expiry on the
 * sequence's virtual clock. An outbound pair ending within the second of
 * a decision may be seen either way (the script asks at a ms the test
 * does not know); anything else must agree exactly.
 */
#include "config.h"

#include <check.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "daemon.h"
#include "policy.h"
#include "redisfix.h"
#include "store.h"
#include "store_redis.h"

#define AB_BATCHES 60
#define AB_SEQ     12                    /* sequences per batch */
#define AB_TRIP    4                     /* triplets per sequence; the last is a trap */
#define AB_KEYS    (AB_TRIP * 2 + 3)     /* grey x4, AWL, counter, trap, outbound x4 */
#define AB_ROUNDS  14
#define K_AWL      AB_TRIP
#define K_RATE     (AB_TRIP + 1)
#define K_TRAP     (AB_TRIP + 2)
#define K_OUT      (AB_TRIP + 3)

struct ab_seq {
    struct triplet t[AB_TRIP];
    char    key[AB_KEYS][TRIPLET_KEY_MAX];
    int     has_grey[AB_TRIP];
    struct grey_record grey[AB_TRIP];
    int     has_awl;
    struct awl_record awl;
    int     has_rate;
    struct rate_record rate;
    int64_t trapped_until;               /* 0: no trap */
    int64_t out_ms[AB_TRIP];             /* outbound pair's virtual expiry; 0 none, -1 unread */
    int64_t skew, target;
};

/* What the batches went through: each must happen. */
enum { E_TRAP_HIT, E_TRAPPED, E_TRAP_ENDED, E_RATE, E_RATE_REOPENED, E_OUT_READ, E_OUT_KNOWN,
       E_OUT_ENDED, E_COUNTED, E_N };
static const char *const ab_event_names[E_N] = {
    "trap hit", "trapped", "trap ended", "rate-limit", "window reopened", "outbound read",
    "outbound known", "outbound ended", "counted",
};
static long ab_events[E_N];
static uint64_t ab_rng;
static redisContext *ab_redis;

/* ab_below - uniform in 0..n-1 (splitmix64) */
static int64_t
ab_below(int64_t n)
{
    uint64_t z = (ab_rng += UINT64_C(0x9e3779b97f4a7c15));

    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    z ^= z >> 31;
    return n <= 1 ? 0 : (int64_t) (z % (uint64_t) n);
}

#define AB_PICK(a) ((a)[ab_below((int64_t) (sizeof(a) / sizeof((a)[0])))])

/* ab_params - random parameters with the abuse rows on or off */
static void
ab_params(struct policy_params *p)
{
    static const int64_t delays[] = {0, 60, 300};
    static const int64_t windows[] = {7201, 172801};
    static const int64_t caps[] = {0, 1, 2, 3, 3};
    static const int64_t traps[] = {0, 60, 3600, 3600};
    static const int64_t outs[] = {0, 120, 86400, 86400};

    memset(p, 0, sizeof(*p));
    p->delay = AB_PICK(delays);
    p->retry_window = AB_PICK(windows);
    p->pass_ttl = 86400;
    p->awl_threshold = ab_below(2) * 2;
    p->awl_ttl = 86400;
    p->learn = ab_below(6) == 0;
    p->max_new_per_client = AB_PICK(caps);
    p->greytrap_ttl = AB_PICK(traps);
    p->outbound_ttl = AB_PICK(outs);
}

/* ab_sequence - sequence k: one client key, four triplets (the last to a trap), keys */
static void
ab_sequence(const struct store *st, struct ab_seq *q, int n, int k)
{
    memset(q, 0, sizeof(*q));
    for (int i = 0; i < AB_TRIP; i++) {
        struct triplet *t = &q->t[i];

        snprintf(t->client_key, sizeof(t->client_key), "10.%d.%d.0/24", n, k);
        /* The outbound key has no client key: senders of their own per sequence. */
        snprintf(t->sender, sizeof(t->sender), "s%d-%d@d.example", k, i);
        snprintf(t->rcpt, sizeof(t->rcpt), i == AB_TRIP - 1 ? "trap@example.net"
                 : "r%d@example.net", i);
        ck_assert(triplet_grey_key(st->key_prefix, t, q->key[i], TRIPLET_KEY_MAX) > 0);
        ck_assert(triplet_outbound_key(st->key_prefix, t, q->key[K_OUT + i],
                                       TRIPLET_KEY_MAX) > 0);
    }
    ck_assert(triplet_awl_key(st->key_prefix, &q->t[0], q->key[K_AWL], TRIPLET_KEY_MAX) > 0);
    ck_assert(triplet_rate_key(st->key_prefix, &q->t[0], q->key[K_RATE], TRIPLET_KEY_MAX) > 0);
    ck_assert(triplet_trap_key(st->key_prefix, &q->t[0], q->key[K_TRAP], TRIPLET_KEY_MAX) > 0);
}

/* ab_same - the verdicts agree: action, reason, now, delayed */
static int
ab_same(const struct policy_verdict *a, const struct policy_verdict *b)
{
    return a->action == b->action && a->reason == b->reason && a->now == b->now
        && a->delayed == b->delayed;
}

/* ab_model - policy_decide_facts on q's records for triplet i at now, outbound as given */
static void
ab_model(const struct policy_params *p, const struct ab_seq *q, int i, int64_t now,
         int outbound, struct policy_verdict *v)
{
    struct policy_facts f;

    memset(&f, 0, sizeof(f));
    f.grey = q->has_grey[i] ? &q->grey[i] : NULL;
    f.awl = q->has_awl ? &q->awl : NULL;
    f.rate = q->has_rate ? &q->rate : NULL;
    f.trapped_until = q->trapped_until;
    f.trap_hit = i == AB_TRIP - 1;
    f.outbound = outbound;
    policy_decide_facts(p, now, &f, v);
}

/* ab_step - q maybe records a pair, then decides on a random triplet both ways */
static void
ab_step(struct store *st, const struct policy_params *p, struct ab_seq *q, int64_t r_prev)
{
    int     i = (int) ab_below(AB_TRIP), put = (int) ab_below(AB_TRIP + 3);
    struct store_decide_opts o;
    struct policy_verdict got, want, alt;
    char    err[STORE_ERRLEN] = "";
    int64_t lower = (r_prev + q->skew) / 1000, e;
    int     live, maybe;

    if (put < AB_TRIP) {
        ck_assert_msg(store_outbound_put(st, &q->t[put], err, sizeof(err)) == 0, "put: %s",
                      err);
        if (p->outbound_ttl > 0)
            q->out_ms[put] = -1;         /* live for minutes; its ms is read at the sync */
    }
    memset(&o, 0, sizeof(o));
    o.trap = i == AB_TRIP - 1;
    o.outbound = ab_below(4) == 0 ? (int) ab_below(2) * 2 - 1 : 0;
    if (q->skew == 0 && ab_below(2))
        ck_assert_msg(store_decide_with(st, &q->t[i], &o, &got, err, sizeof(err)) == 0,
                      "decide: %s", err);
    else
        ck_assert_msg(store_redis_decide_skewed_with(st, &q->t[i], &o, q->skew, &got, err,
                                                     sizeof(err)) == 0, "decide: %s", err);
    ck_assert_msg(got.now >= lower, "now %" PRId64 " before %" PRId64, got.now, lower);

    e = q->out_ms[i];
    live = e == -1 || e > got.now * 1000 + 999;
    maybe = e > got.now * 1000 && e <= got.now * 1000 + 999;
    if (o.outbound != 0)
        live = o.outbound > 0, maybe = 0;
    ab_model(p, q, i, got.now, live, &want);
    if (!ab_same(&got, &want) && maybe) {
        ab_model(p, q, i, got.now, 1, &alt);
        if (ab_same(&got, &alt))
            want = alt;
    }
    ck_assert_msg(ab_same(&got, &want), "params cap %" PRId64 " trap %" PRId64 " out %"
                  PRId64 " learn %" PRId64 " delay %" PRId64 ": triplet %d at %" PRId64
                  " (skew %" PRId64 ", opts.outbound %d, pair ends %" PRId64 " ms, trap %"
                  PRId64 ", counter %" PRId64 "/%" PRId64 "): script %s, policy.c %s",
                  p->max_new_per_client, p->greytrap_ttl, p->outbound_ttl, p->learn,
                  p->delay, i, got.now, q->skew, o.outbound, e, q->trapped_until,
                  q->has_rate ? q->rate.count : -1, q->has_rate ? q->rate.expires : -1,
                  policy_reason_name(got.reason), policy_reason_name(want.reason));

    ab_events[E_TRAP_HIT] += want.trap_write;
    ab_events[E_TRAPPED] += want.reason == POLICY_REASON_GREYTRAP && !want.trap_write;
    ab_events[E_RATE] += want.reason == POLICY_REASON_RATE;
    ab_events[E_RATE_REOPENED] += want.rate_write && want.rate.count == 1 && q->has_rate;
    ab_events[E_COUNTED] += want.rate_write && want.rate.count > 1;
    ab_events[E_OUT_READ] += want.reason == POLICY_REASON_OUTBOUND && o.outbound == 0;
    ab_events[E_OUT_KNOWN] += want.reason == POLICY_REASON_OUTBOUND && o.outbound != 0;
    ab_events[E_OUT_ENDED] += e > 0 && !live && o.outbound == 0 && p->outbound_ttl > 0;
    ab_events[E_TRAP_ENDED] += q->trapped_until != 0 && q->trapped_until <= got.now
        && p->greytrap_ttl > 0 && want.reason != POLICY_REASON_GREYTRAP;
    if (want.grey_write) {
        q->has_grey[i] = 1;
        q->grey[i] = want.grey;
    }
    if (want.awl_write) {
        q->has_awl = 1;
        q->awl = want.awl;
    }
    if (want.rate_write) {
        q->has_rate = 1;
        q->rate = want.rate;
    }
    if (want.trap_write)
        q->trapped_until = want.trap_expires;
}

/* ab_choose - q's next virtual time: now, a little later, or a boundary of its records */
static void
ab_choose(const struct policy_params *p, struct ab_seq *q, int64_t r_prev)
{
    int64_t est = r_prev + q->skew + 1, cur = est / 1000, cand[16], sec, at;
    int     n = 0;

    if (q->has_rate) {
        cand[n++] = q->rate.expires - 1;
        cand[n++] = q->rate.expires;
    }
    if (q->trapped_until != 0) {
        cand[n++] = q->trapped_until - 1;
        cand[n++] = q->trapped_until;
    }
    for (int i = 0; i < AB_TRIP; i++)
        if (q->out_ms[i] > 0) {
            cand[n++] = q->out_ms[i] / 1000;
            cand[n++] = q->out_ms[i] / 1000 + 1;
        }
    if (q->has_grey[0] && q->grey[0].passed == 0)
        cand[n++] = q->grey[0].first_seen + p->delay;
    switch (ab_below(6)) {
    case 0:
        q->target = 0;
        return;
    case 1:
        sec = cur + 1 + ab_below(5);
        break;
    case 2:
        sec = cur + ab_below(2 * POLICY_RATE_WINDOW);
        break;
    default:
        sec = n > 0 ? cand[ab_below(n)] : cur + ab_below(3);
        break;
    }
    at = sec * 1000 + 20 + ab_below(931);
    q->target = at > est ? at : 0;
}

/* ab_check - q's counter, trap and outbound keys as read (v, x virtual ms) at vr */
static void
ab_check(struct ab_seq *q, int j, const redisReply *v, int64_t x, int64_t vr)
{
    int     nil = v->type == REDIS_REPLY_NIL;
    long long val = nil ? 0 : strtoll(v->str, NULL, 10);

    if (j == K_RATE && q->has_rate && q->rate.expires * 1000 - 1 >= vr)
        ck_assert_msg(!nil && val == q->rate.count && x == q->rate.expires * 1000 - 1,
                      "counter %s expiring %" PRId64 ", model %" PRId64 " until %" PRId64,
                      nil ? "gone" : v->str, x, q->rate.count, q->rate.expires);
    else if (j == K_RATE)
        ck_assert_msg(nil, "counter %s, model none", v->str);
    if (j == K_TRAP && q->trapped_until != 0 && q->trapped_until * 1000 - 1 >= vr)
        ck_assert_msg(!nil && x == q->trapped_until * 1000 - 1, "trap %s expiring %" PRId64
                      ", model until %" PRId64, nil ? "gone" : v->str, x, q->trapped_until);
    else if (j == K_TRAP)
        ck_assert_msg(nil, "trap %s expiring %" PRId64 ", model none", v->str, x);
    if (j >= K_OUT) {
        int64_t *e = &q->out_ms[j - K_OUT];

        if (*e == -1)
            ck_assert_msg(!nil && x > vr, "a recorded pair is missing");
        if (*e == -1 || (*e > 0 && !nil))
            *e = x;                      /* the pair's end on the virtual clock */
        if (nil && *e > 0)
            ck_assert_msg(*e <= vr, "pair gone at %" PRId64 ", ends %" PRId64, vr, *e);
        if (nil)
            *e = 0;
    }
}

/* ab_sync - one EVAL for the batch (redisfix_sync): read back, check, move the clocks */
static void
ab_sync(struct ab_seq *seq, int nseq, int64_t *r)
{
    const char *keys[AB_SEQ * AB_KEYS];
    int64_t move[AB_SEQ * AB_KEYS];
    redisReply *rep;
    long long now;

    for (int s = 0; s < nseq; s++)
        for (int j = 0; j < AB_KEYS; j++) {
            keys[s * AB_KEYS + j] = seq[s].key[j];
            move[s * AB_KEYS + j] = seq[s].target ? seq[s].target - seq[s].skew : 0;
        }
    rep = redisfix_sync(ab_redis, nseq * AB_KEYS, keys, move);
    now = strtoll(rep->element[0]->str, NULL, 10);
    for (int s = 0; s < nseq; s++) {
        struct ab_seq *q = &seq[s];

        for (int j = K_RATE; j < AB_KEYS; j++)
            ab_check(q, j, rep->element[1 + 2 * (s * AB_KEYS + j)],
                     rep->element[2 + 2 * (s * AB_KEYS + j)]->integer + q->skew, now + q->skew);
        if (q->target != 0 && q->target - now > q->skew)
            q->skew = q->target - now;
    }
    *r = now;
    freeReplyObject(rep);
}

START_TEST(test_abuse_differential)
{
    static struct ab_seq seq[AB_SEQ];
    char    url[256], prefix[32], err[STORE_ERRLEN];
    long    steps = 0;

    ab_redis = redisfix_connect();
    for (int b = 0; b < AB_BATCHES; b++) {
        struct store_config conf = {.url = url, .key_prefix = prefix, .timeout_ms = 5000,
                                    .pool = 1};
        struct store *st;
        int64_t r;

        ab_rng = UINT64_C(0xab05e) + (uint64_t) b * UINT64_C(0x2545f4914f6cdd1d);
        ab_params(&conf.params);
        snprintf(url, sizeof(url), "redis://%s", getenv("REDGREY_TEST_REDIS"));
        snprintf(prefix, sizeof(prefix), "a%ld-%d:", (long) getpid(), b);
        err[0] = '\0';
        ck_assert_msg((st = store_open(&conf, err, sizeof(err))) != NULL, "open: %s", err);
        for (int k = 0; k < AB_SEQ; k++)
            ab_sequence(st, &seq[k], b, k);
        ab_sync(seq, AB_SEQ, &r);
        for (int round = 0; round < AB_ROUNDS; round++) {
            for (int k = 0; k < AB_SEQ; k++, steps++)
                ab_step(st, &conf.params, &seq[k], r);
            for (int k = 0; k < AB_SEQ; k++)
                ab_choose(&conf.params, &seq[k], r);
            ab_sync(seq, AB_SEQ, &r);
        }
        store_free(st);
    }
    for (int e = 0; e < E_N; e++) {
        printf("  %-16s %ld\n", ab_event_names[e], ab_events[e]);
        ck_assert_msg(ab_events[e] > 0, "no step exercised \"%s\"", ab_event_names[e]);
    }
    printf("check_policy_lua_abuse: %d batches, %ld decisions: script and policy.c agree\n",
           AB_BATCHES, steps);
    redisFree(ab_redis);
}
END_TEST

int
main(void)
{
    Suite  *s = suite_create("policy_lua_abuse");
    TCase  *tc = tcase_create("differential");

    if (getenv("REDGREY_TEST_REDIS") == NULL) {
        fprintf(stderr, "check_policy_lua_abuse: run under tests/with-redis.sh\n");
        return EXIT_FAILURE;
    }
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_abuse_differential);
    suite_add_tcase(s, tc);
    return daemon_run_suites(s, NULL) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_policy_lua.c - policy.c and the Redis store's Lua script held to
 * one table: a differential test against the real redis-server of
 * with-redis.sh. Random event sequences run through policy_decide() (on
 * records this test keeps) and through the script; after every step the
 * verdicts (action, reason, now, delayed) and the stored state must agree.
 *
 * Work: batches, each with random parameters (delay, retry_window in
 * whole minutes -- the compact pending form -- or not, pass_ttl,
 * awl_threshold including 0, awl_ttl) and one store. A batch runs its
 * sequences in rounds: each round, every sequence makes one decision on
 * one of its triplets (several share one AWL key, some have a second
 * sender domain), then one EVAL of our own connection reads back every
 * key (GET, PEXPIRETIME) and moves the clocks for the next round. Some
 * AWL keys start with a seeded record (counts up to 65535).
 *
 * Time, without sleeping. Each sequence has its own virtual clock, a
 * whole number of ms `skew` ahead of the server's real TIME; its
 * decisions go through store_redis_decide_skewed(), which runs the
 * script's body with now = TIME + skew. The script keeps real Redis TTLs
 * (and reads one back: the compact pending form), so a jump of the
 * virtual clock by d ms must look to Redis as if d ms had passed: in the
 * same EVAL that reads the keys, every key of a sequence that jumps has
 * its absolute expiry (PEXPIRETIME) moved d ms earlier (PEXPIREAT), and a
 * key whose new expiry is already past is deleted, as Redis would have
 * expired it. With this, key expiry + skew is the key's expiry on the
 * virtual clock, exactly, whatever the real time; between jumps the
 * virtual clock runs with the real one. The jump is computed inside that
 * EVAL from its own TIME (skew = target - TIME), so no real time is lost
 * between measuring and moving, and a target already passed is no jump.
 * The decision comes a little later (microseconds, or more under load):
 * the test never predicts `now` -- it checks that the script's `now` lies
 * between the virtual times of the EVAL before and the EVAL after, and
 * runs policy_decide() with it. Targets fall 20..950 ms into a second, so
 * that no key ends (expiry at a second's last ms, see below) exactly at a
 * target, where Redis's "expired when now > expiry" and the deletion on
 * PEXPIREAT in the past would differ by one ms. A sequence whose clock
 * never jumped (skew 0) decides through store_decide(), the production
 * entry, so that one is compared too.
 *
 * Stored state: the grey key decodes as the script's header describes:
 * "0" passed, expiring at the last ms before expires; minutes W (compact,
 * first_seen = floor(expiry / 1000) - 60 W) expiring expires + 500 ms;
 * first_seen itself (plain) expiring within the second after expires.
 * The AWL key is last_count * 65536 + count, expiring at the last ms
 * before expires. Documented differences are modelled: the AWL count
 * saturates at 65535, the passed form forgets first_seen and passed, and
 * an entry given a ttl of 1 s in the last ms of a second may be gone in
 * that same ms. A key that is gone must belong to a record expired by
 * the time of the read.
 *
 * REDGREY_TEST_SEED overrides the fixed seed (printed on failure, with
 * the failing sequence's last steps); the seed fixes the parameters, the
 * triplets and the targets, the real clock only where in a second a
 * decision lands. REDGREY_TEST_BATCHES overrides the number of batches,
 * REDGREY_TEST_FIRST_BATCH skips to a failing one (each batch seeds its
 * own generator from the seed and its number).
 */
#include "config.h"

#include <check.h>
#include <inttypes.h>
#include <stdarg.h>
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

#define DIFF_SEED_DEFAULT UINT64_C(0x5eedc0ffee)
#define DIFF_BATCHES      125            /* about 2000 sequences, 23000 decisions */
#define DIFF_SEQ_MAX      24             /* sequences per batch */
#define DIFF_TRIPLETS     4              /* triplets per sequence */
#define DIFF_DOMAINS      2              /* sender domains, so AWL keys, per sequence */
#define DIFF_KEYS         (DIFF_TRIPLETS + DIFF_DOMAINS)
#define DIFF_TRACE        10             /* steps kept for a failure message */
#define DIFF_AWL_MAX      65535          /* the script's saturating count */
#define DIFF_SLACK_MS     250            /* compact form: expiry within 500 ms +- this */

struct diff_seq {
    struct triplet t[DIFF_TRIPLETS];     /* client key shared by all four */
    int     ntrip;                       /* triplets in use */
    int     dom[DIFF_TRIPLETS];          /* the triplet's sender domain: its AWL key */
    char    key[DIFF_KEYS][TRIPLET_KEY_MAX]; /* grey keys, then AWL keys */
    int     has_grey[DIFF_TRIPLETS];     /* policy.c's records, as a store keeps them */
    struct grey_record grey[DIFF_TRIPLETS];
    int     has_awl[DIFF_DOMAINS];
    struct awl_record awl[DIFF_DOMAINS];
    int64_t skew;                        /* virtual clock minus the server's, ms */
    int64_t target;                      /* virtual ms of the next decision; 0: no jump */
    int     next;                        /* triplet of the next decision */
    int     nsteps;                      /* decisions so far */
    int64_t last_now;                    /* the script's now in the last one */
    char    trace[DIFF_TRACE][200];      /* the last steps, for a failure */
};

struct diff_batch {
    int     n;                           /* batch number */
    struct policy_params p;
    int     compact;                     /* retry_window takes the compact form */
    struct store *st;
    int     nseq;
    struct diff_seq seq[DIFF_SEQ_MAX];
};

/* What the sequences went through: each must happen, or the generator lost coverage. */
enum diff_event {
    DIFF_NEW, DIFF_EARLY, DIFF_RETRY, DIFF_KNOWN, DIFF_AWL, /* the reasons, in their order */
    DIFF_LEARN,                          /* ... the last one: learn mode's pass */
    DIFF_PRODUCTION,                     /* decided by the production entry */
    DIFF_AT_DELAY,                       /* a retry exactly delay after first_seen */
    DIFF_PENDING_ENDED,                  /* new: the pending record ended, exactly now */
    DIFF_PASS_ENDED,                     /* new: the passed record ended */
    DIFF_AWL_REACHED,                    /* a counted pass reached the threshold */
    DIFF_AWL_PAST,                       /* an AWL pass with count above the threshold */
    DIFF_AWL_ENDED,                      /* the AWL record had ended */
    DIFF_AWL_SHARED,                     /* an AWL pass of a triplet never passed itself */
    DIFF_COMPACT, DIFF_PLAIN,            /* pending keys read back in either form */
    DIFF_GONE,                           /* a grey key gone by expiry */
    DIFF_EVENTS
};

static const char *const diff_event_names[DIFF_EVENTS] = {
    "new", "early", "retry", "known", "awl", "learn", "production entry", "retry at delay",
    "pending ended now", "passed ended", "AWL reached", "AWL past threshold", "AWL ended",
    "AWL shared", "compact read", "plain read", "grey key expired",
};

static long diff_events[DIFF_EVENTS];
static uint64_t diff_seed;
static uint64_t diff_rng;
static redisContext *diff_redis;

/* diff_next - splitmix64 */
static uint64_t
diff_next(void)
{
    uint64_t z = (diff_rng += UINT64_C(0x9e3779b97f4a7c15));

    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* diff_below - uniform in 0..n-1 (0 if n <= 1) */
static int64_t
diff_below(int64_t n)
{
    return n <= 1 ? 0 : (int64_t) (diff_next() % (uint64_t) n);
}

/* diff_pick - one of n values */
static int64_t
diff_pick(const int64_t *v, size_t n)
{
    return v[diff_below((int64_t) n)];
}

#define DIFF_PICK(a) diff_pick((a), sizeof(a) / sizeof((a)[0]))

/* diff_fail - fail with the seed, where, what, and the sequence's last steps */
static void
diff_fail(const struct diff_batch *b, const struct diff_seq *q, const char *fmt, ...)
{
    char    msg[4096];
    size_t  n;
    va_list ap;

    n = (size_t) snprintf(msg, sizeof(msg), "seed %#" PRIx64 " batch %d (delay %" PRId64
                          " retry_window %" PRId64 " pass_ttl %" PRId64 " awl_threshold %"
                          PRId64 " awl_ttl %" PRId64 ") sequence %d, step %d: ", diff_seed,
                          b->n, b->p.delay, b->p.retry_window, b->p.pass_ttl,
                          b->p.awl_threshold, b->p.awl_ttl, (int) (q - b->seq), q->nsteps);
    va_start(ap, fmt);
    if (n < sizeof(msg))
        n += (size_t) vsnprintf(msg + n, sizeof(msg) - n, fmt, ap);
    va_end(ap);
    for (int k = q->nsteps > DIFF_TRACE ? q->nsteps - DIFF_TRACE : 0; k < q->nsteps; k++)
        if (n < sizeof(msg))
            n += (size_t) snprintf(msg + n, sizeof(msg) - n, "\n  %s",
                                   q->trace[k % DIFF_TRACE]);
    ck_abort_msg("%s", msg);
}

/* diff_env - an environment variable with-redis.sh sets; fails the test without it */
static const char *
diff_env(const char *name)
{
    const char *v = getenv(name);

    ck_assert_msg(v != NULL && *v != 0, "%s is not set: run under tests/with-redis.sh", name);
    return v;
}

/* diff_int - a reply that is an integer, or a string holding one */
static int
diff_int(const redisReply *r, int64_t *out)
{
    char   *end;

    if (r->type == REDIS_REPLY_INTEGER) {
        *out = r->integer;
        return 0;
    }
    if (r->type != REDIS_REPLY_STRING || r->len == 0)
        return -1;
    *out = strtoll(r->str, &end, 10);
    return *end == 0 ? 0 : -1;
}

/* diff_server_ms - the server's TIME in ms */
static int64_t
diff_server_ms(void)
{
    redisReply *r = redisCommand(diff_redis, "TIME");
    int64_t s, us;

    ck_assert_msg(r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 2
                  && diff_int(r->element[0], &s) == 0 && diff_int(r->element[1], &us) == 0,
                  "TIME failed");
    freeReplyObject(r);
    return s * 1000 + us / 1000;
}

/* ---- the batch: parameters, store, sequences ---- */

/* diff_params - random parameters the store accepts */
static void
diff_params(struct diff_batch *b)
{
    static const int64_t delays[] = {0, 0, 1, 2, 30, 59, 60, 61, 300, 3600};
    static const int64_t compact[] = {60, 120, 300, 3600, 14400, 172800, 599940};
    static const int64_t plain[] = {1, 2, 5, 59, 61, 90, 100, 3599, 172801, 600000, 2592000};
    static const int64_t pass_ttls[] = {1, 2, 10, 600, 3600, 86400, 3110400, 31536000};
    static const int64_t thresholds[] = {0, 0, 1, 2, 3, 5, 65535};
    static const int64_t awl_ttls[] = {1, 60, 3599, 3600, 3601, 7200, 86400, 3110400};

    b->p.delay = diff_below(4) == 0 ? diff_below(900) : DIFF_PICK(delays);
    b->p.retry_window = diff_below(2) ? DIFF_PICK(compact) : DIFF_PICK(plain);
    b->p.pass_ttl = DIFF_PICK(pass_ttls);
    b->p.awl_threshold = DIFF_PICK(thresholds);
    b->p.awl_ttl = DIFF_PICK(awl_ttls);
    b->p.learn = diff_below(4) == 0;     /* a quarter of the batches in learn mode */
    b->compact = b->p.retry_window % 60 == 0 && b->p.retry_window / 60 < 10000;
}

/* diff_open - the batch's store, with a key prefix of its own */
static void
diff_open(struct diff_batch *b)
{
    char    url[256], prefix[32], err[STORE_ERRLEN] = "";
    struct store_config conf = {
        .url = url, .key_prefix = prefix, .params = b->p, .timeout_ms = 5000, .pool = 1,
    };

    snprintf(url, sizeof(url), "redis://%s", diff_env("REDGREY_TEST_REDIS"));
    snprintf(prefix, sizeof(prefix), "d%ld-%d:", (long) getpid(), b->n);
    b->st = store_open(&conf, err, sizeof(err));
    ck_assert_msg(b->st != NULL, "batch %d: open: %s", b->n, err);
}

/*
 * diff_seed_awl - start AWL key d of q with a record of our own (count up
 * to 65535, last counted up to two hours ago), as the script encodes it
 */
static void
diff_seed_awl(struct diff_batch *b, struct diff_seq *q, int d, int64_t now_ms)
{
    static const int64_t counts[] = {0, 1, 2, 4, 65534, 65535};
    int64_t now = now_ms / 1000, count, value;
    struct awl_record *a = &q->awl[d];
    char    val[32], at[32];
    redisReply *r;

    count = diff_below(2) ? DIFF_PICK(counts) : b->p.awl_threshold - 1 + diff_below(2);
    a->count = count < 0 ? 0 : count;
    a->last_count = now - diff_below(7200);
    a->expires = now + 2 + diff_below(b->p.awl_ttl);
    value = a->last_count * 65536 + a->count;
    snprintf(val, sizeof(val), "%" PRId64, value);
    snprintf(at, sizeof(at), "%" PRId64, a->expires * 1000 - 1);
    r = redisCommand(diff_redis, "SET %s %s PXAT %s", q->key[DIFF_TRIPLETS + d], val, at);
    ck_assert_msg(r != NULL && r->type == REDIS_REPLY_STATUS, "seeding an AWL key failed");
    freeReplyObject(r);
    q->has_awl[d] = 1;
}

/* diff_sequence - sequence k of b: its triplets, keys, and maybe seeded AWL records */
static void
diff_sequence(struct diff_batch *b, int k, int64_t now_ms)
{
    struct diff_seq *q = &b->seq[k];
    char    ck[64];

    memset(q, 0, sizeof(*q));
    q->ntrip = 1 + (int) diff_below(DIFF_TRIPLETS);
    if (diff_below(4) == 0)
        snprintf(ck, sizeof(ck), "spf:s%d.example", k);
    else
        snprintf(ck, sizeof(ck), "10.%d.%d.0/24", k / 256, k % 256);
    for (int i = 0; i < DIFF_TRIPLETS; i++) {
        struct triplet *t = &q->t[i];

        q->dom[i] = i > 0 && diff_below(4) == 0;
        snprintf(t->client_key, sizeof(t->client_key), "%s", ck);
        snprintf(t->sender, sizeof(t->sender), "u%d@d%d.example", i, q->dom[i]);
        snprintf(t->rcpt, sizeof(t->rcpt), "r%d@example.net", i);
        ck_assert(triplet_grey_key(b->st->key_prefix, t, q->key[i], TRIPLET_KEY_MAX) > 0);
        ck_assert(triplet_awl_key(b->st->key_prefix, t,
                                  q->key[DIFF_TRIPLETS + q->dom[i]], TRIPLET_KEY_MAX) > 0);
    }
    /* Unused domain slots still get a key: it stays absent. */
    for (int d = 0; d < DIFF_DOMAINS; d++)
        if (q->key[DIFF_TRIPLETS + d][0] == 0)
            snprintf(q->key[DIFF_TRIPLETS + d], TRIPLET_KEY_MAX, "%sunused%d-%d",
                     b->st->key_prefix, k, d);
    for (int d = 0; d < DIFF_DOMAINS; d++)
        if (b->p.awl_threshold > 0 && diff_below(4) == 0)
            diff_seed_awl(b, q, d, now_ms);
    q->next = (int) diff_below(q->ntrip);
}

/* ---- one step: decide both ways, compare verdicts ---- */

/* diff_count - count what the step of q on triplet i (verdict v, records before) exercised */
static void
diff_count(const struct diff_batch *b, const struct diff_seq *q, int i,
           const struct policy_verdict *v)
{
    const struct grey_record *g = q->has_grey[i] ? &q->grey[i] : NULL;
    const struct awl_record *a = q->has_awl[q->dom[i]] ? &q->awl[q->dom[i]] : NULL;

    diff_events[v->reason]++;
    diff_events[DIFF_PRODUCTION] += q->skew == 0;
    if (v->reason == POLICY_REASON_RETRY && v->delayed == b->p.delay)
        diff_events[DIFF_AT_DELAY]++;
    if (v->reason == POLICY_REASON_NEW && g != NULL && g->passed == 0 && g->expires == v->now)
        diff_events[DIFF_PENDING_ENDED]++;
    if (v->reason == POLICY_REASON_NEW && g != NULL && g->passed != 0 && g->expires <= v->now)
        diff_events[DIFF_PASS_ENDED]++;
    if (v->reason == POLICY_REASON_RETRY && v->awl_write && v->awl.count == b->p.awl_threshold
        && (a == NULL || a->count < v->awl.count))
        diff_events[DIFF_AWL_REACHED]++;
    if (v->reason == POLICY_REASON_AWL && v->awl.count > b->p.awl_threshold)
        diff_events[DIFF_AWL_PAST]++;
    if (v->reason == POLICY_REASON_AWL && g == NULL)
        diff_events[DIFF_AWL_SHARED]++;
    if (b->p.awl_threshold > 0 && a != NULL && a->expires <= v->now)
        diff_events[DIFF_AWL_ENDED]++;
}

/*
 * diff_last_ms - 1 if a record written with a ttl of 1 s may be gone at
 * virtual ms `at` although policy.c keeps it: made in the last ms of a
 * second, its key ends in that same ms, and PEXPIREAT of the current ms
 * deletes at once (store_redis.c documents this edge).
 */
static int
diff_last_ms(int64_t ttl, int64_t expires, int64_t at)
{
    return ttl == 1 && at / 1000 == expires - 1 && at % 1000 == 999;
}

/* diff_same - the verdicts agree: action, reason, now, delayed */
static int
diff_same(const struct policy_verdict *a, const struct policy_verdict *b)
{
    return a->action == b->action && a->reason == b->reason && a->now == b->now
        && a->delayed == b->delayed;
}

/*
 * diff_edge - the script's verdict got, where policy.c's differs, if it
 * is policy.c's without a record that diff_last_ms() allows to be gone
 * (the decision came in that last ms). 1 with *want and q's records
 * updated to match, else 0.
 */
static int
diff_edge(const struct diff_batch *b, struct diff_seq *q, int i,
          const struct policy_verdict *got, struct policy_verdict *want)
{
    const struct grey_record *g = q->has_grey[i] ? &q->grey[i] : NULL;
    const struct awl_record *a = q->has_awl[q->dom[i]] ? &q->awl[q->dom[i]] : NULL;
    int     g_edge = g != NULL && g->passed != 0
        && diff_last_ms(b->p.pass_ttl, g->expires, got->now * 1000 + 999);
    int     a_edge = a != NULL && diff_last_ms(b->p.awl_ttl, a->expires, got->now * 1000 + 999);
    struct policy_verdict alt;

    for (int mask = 1; mask < 4; mask++) {
        if (((mask & 1) && !g_edge) || ((mask & 2) && !a_edge))
            continue;
        policy_decide(&b->p, got->now, (mask & 1) ? NULL : g, (mask & 2) ? NULL : a, &alt);
        if (diff_same(got, &alt)) {
            *want = alt;
            q->has_grey[i] &= !(mask & 1);
            q->has_awl[q->dom[i]] &= !(mask & 2);
            return 1;
        }
    }
    return 0;
}

/*
 * diff_decide - sequence q decides on its next triplet through the script
 * (production entry while its clock never jumped) and through policy.c;
 * the verdicts must agree. r_prev: server ms of the last EVAL.
 */
static void
diff_decide(struct diff_batch *b, struct diff_seq *q, int64_t r_prev)
{
    int     i = q->next, d = q->dom[i], rc;
    struct policy_verdict got, want;
    char    err[STORE_ERRLEN] = "";
    int64_t lower = (r_prev + q->skew) / 1000;

    if (q->skew == 0)
        rc = store_decide(b->st, &q->t[i], &got, err, sizeof(err));
    else
        rc = store_redis_decide_skewed(b->st, &q->t[i], q->skew, &got, err, sizeof(err));
    if (rc != 0)
        diff_fail(b, q, "triplet %d: decide: %s", i, err);
    policy_decide(&b->p, got.now, q->has_grey[i] ? &q->grey[i] : NULL,
                  q->has_awl[d] ? &q->awl[d] : NULL, &want);
    snprintf(q->trace[q->nsteps % DIFF_TRACE], sizeof(q->trace[0]), "step %d: triplet %d"
             " (awl %d) at %" PRId64 " (skew %" PRId64 " ms%s): script %s/%s delayed %" PRId64
             ", policy.c %s/%s delayed %" PRId64, q->nsteps, i, d, got.now, q->skew,
             q->skew == 0 ? ", production entry" : "", got.action == POLICY_PASS ? "pass"
             : "tempfail", policy_reason_name(got.reason), got.delayed,
             want.action == POLICY_PASS ? "pass" : "tempfail", policy_reason_name(want.reason),
             want.delayed);
    q->nsteps++;
    q->last_now = got.now;
    if (got.now < lower)
        diff_fail(b, q, "now %" PRId64 " before the virtual clock's %" PRId64, got.now, lower);
    if (!diff_same(&got, &want) && !diff_edge(b, q, i, &got, &want)) {
        redisReply *r = redisCommand(diff_redis, "EVAL %s 2 %s %s", "local t = redis.call("
                                     "'TIME') return {t[1], t[2], redis.call('GET', KEYS[1]),"
                                     " redis.call('PEXPIRETIME', KEYS[1]), redis.call('GET',"
                                     " KEYS[2]), redis.call('PEXPIRETIME', KEYS[2])}",
                                     q->key[i], q->key[DIFF_TRIPLETS + d]);
        int     ok = r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 6;

        diff_fail(b, q, "verdicts differ; now the server's TIME is %s.%s, the grey key holds"
                  " %s expiring at %lld, the AWL key %s expiring at %lld (server ms)",
                  ok ? r->element[0]->str : "?", ok ? r->element[1]->str : "?",
                  ok && r->element[2]->type == REDIS_REPLY_STRING ? r->element[2]->str : "nil",
                  ok ? r->element[3]->integer : 0,
                  ok && r->element[4]->type == REDIS_REPLY_STRING ? r->element[4]->str : "nil",
                  ok ? r->element[5]->integer : 0);
    }
    diff_count(b, q, i, &want);
    if (want.grey_write) {
        q->has_grey[i] = 1;
        q->grey[i] = want.grey;
    }
    if (want.awl_write) {
        q->has_awl[d] = 1;
        q->awl[d] = want.awl;
    }
}

/* ---- the next step's triplet and time ---- */

/* diff_boundary - a second where the record of triplet i (or its AWL) changes meaning */
static int64_t
diff_boundary(const struct diff_batch *b, const struct diff_seq *q, int i, int64_t cur)
{
    int64_t cand[8];
    int     n = 0, d = q->dom[i];

    if (q->has_grey[i]) {
        const struct grey_record *g = &q->grey[i];

        if (g->passed == 0) {
            cand[n++] = g->first_seen + b->p.delay - 1;
            cand[n++] = g->first_seen + b->p.delay;
        }
        cand[n++] = g->expires - 1;
        cand[n++] = g->expires;
    }
    if (q->has_awl[d]) {
        const struct awl_record *a = &q->awl[d];

        cand[n++] = a->expires - 1;
        cand[n++] = a->expires;
        cand[n++] = a->last_count + POLICY_AWL_COUNT_INTERVAL - 1;
        cand[n++] = a->last_count + POLICY_AWL_COUNT_INTERVAL;
    }
    return n > 0 ? diff_pick(cand, (size_t) n) : cur + diff_below(3);
}

/*
 * diff_choose - q's next triplet and target time (virtual ms; 0: no
 * jump, the clock runs on with the server's). r_prev: server ms of the
 * last EVAL, so r_prev + skew is about the virtual time now.
 */
static void
diff_choose(const struct diff_batch *b, struct diff_seq *q, int64_t r_prev)
{
    int64_t est = r_prev + q->skew + 1, cur = est / 1000, sec, at, span;

    q->next = (int) diff_below(q->ntrip);
    span = b->p.retry_window > b->p.pass_ttl ? b->p.retry_window : b->p.pass_ttl;
    if (b->p.awl_threshold > 0 && b->p.awl_ttl > span)
        span = b->p.awl_ttl;
    switch (diff_below(10)) {
    case 0:
    case 1:
        q->target = 0;                   /* now: early retries, production entry */
        return;
    case 2:
        sec = cur;
        break;
    case 3:
        sec = cur + 1 + diff_below(5);
        break;
    case 4:
        sec = cur + POLICY_AWL_COUNT_INTERVAL - 30 + diff_below(60);
        break;
    case 5:
        sec = cur + diff_below(span + span / 4 + 2);
        break;
    default:
        sec = diff_boundary(b, q, q->next, cur);
        break;
    }
    at = sec * 1000 + 20 + diff_below(931);
    q->target = at > est ? at : 0;
}

/* ---- read back, compare, move the clocks ---- */

/*
 * The read-back (redisfix_sync): every key of a sequence that jumps moves
 * by that sequence's target minus its skew, so that its clock moves by
 * that minus TIME ms; nothing moves when that is not positive.
 */

/* diff_check_grey - q's grey key i as read (v, x virtual ms) against policy.c's record */
static void
diff_check_grey(const struct diff_batch *b, const struct diff_seq *q, int i,
                const redisReply *v, int64_t x, int64_t vr)
{
    const struct grey_record *g = &q->grey[i];
    int64_t val, e = g->expires * 1000;

    if (v->type == REDIS_REPLY_NIL) {
        diff_events[DIFF_GONE] += q->has_grey[i];
        /* Gone: policy.c's record must have ended before the read. */
        if (q->has_grey[i] && (g->passed != 0 ? e - 1 : e) >= vr
            && !(g->passed != 0 && diff_last_ms(b->p.pass_ttl, g->expires, vr)))
            diff_fail(b, q, "grey key %d gone at %" PRId64 " ms, policy.c's expires %" PRId64,
                      i, vr, g->expires);
        return;
    }
    if (!q->has_grey[i] || diff_int(v, &val) < 0)
        diff_fail(b, q, "grey key %d holds %s, policy.c has %s", i,
                  v->type == REDIS_REPLY_STRING ? v->str : "?", q->has_grey[i] ? "a record"
                  : "none");
    if (val == 0) {
        if (g->passed == 0 || x != e - 1)
            diff_fail(b, q, "grey key %d: passed, expiring at %" PRId64 " ms; policy.c: "
                      "passed %" PRId64 ", expires %" PRId64 " (want %" PRId64 " ms)", i, x,
                      g->passed, g->expires, e - 1);
    } else if (val > 0 && val < 10000) {
        diff_events[DIFF_COMPACT]++;
        if (!b->compact || val * 60 != b->p.retry_window || g->passed != 0
            || x / 1000 - val * 60 != g->first_seen || x < e + 500 - DIFF_SLACK_MS
            || x > e + 500 + DIFF_SLACK_MS)
            diff_fail(b, q, "grey key %d: compact %" PRId64 " min expiring at %" PRId64
                      " ms; policy.c: first_seen %" PRId64 " passed %" PRId64 " expires %"
                      PRId64 " (want %" PRId64 " ms)", i, val, x, g->first_seen, g->passed,
                      g->expires, e + 500);
    } else if ((diff_events[DIFF_PLAIN]++, b->compact) || val != g->first_seen || g->passed != 0 || x < e
               || x >= e + 1000 + DIFF_SLACK_MS) {
        diff_fail(b, q, "grey key %d: first_seen %" PRId64 " expiring at %" PRId64 " ms;"
                  " policy.c: first_seen %" PRId64 " passed %" PRId64 " expires %" PRId64, i,
                  val, x, g->first_seen, g->passed, g->expires);
    }
}

/* diff_check_awl - q's AWL key d as read against policy.c's record */
static void
diff_check_awl(const struct diff_batch *b, const struct diff_seq *q, int d,
               const redisReply *v, int64_t x, int64_t vr)
{
    const struct awl_record *a = &q->awl[d];
    int64_t val, count;

    if (v->type == REDIS_REPLY_NIL) {
        if (q->has_awl[d] && a->expires * 1000 - 1 >= vr
            && !diff_last_ms(b->p.awl_ttl, a->expires, vr))
            diff_fail(b, q, "AWL key %d gone at %" PRId64 " ms, policy.c's expires %" PRId64,
                      d, vr, a->expires);
        return;
    }
    count = a->count > DIFF_AWL_MAX ? DIFF_AWL_MAX : a->count;
    if (!q->has_awl[d] || diff_int(v, &val) < 0 || val % 65536 != count
        || val / 65536 != a->last_count || x != a->expires * 1000 - 1)
        diff_fail(b, q, "AWL key %d holds %s expiring at %" PRId64 " ms; policy.c: %s count %"
                  PRId64 " last_count %" PRId64 " expires %" PRId64, d,
                  v->type == REDIS_REPLY_STRING ? v->str : "?", x,
                  q->has_awl[d] ? "" : "(none)", a->count, a->last_count, a->expires);
}

/*
 * diff_sync - one EVAL: read back every key of the batch, compare with
 * policy.c's records, move the clocks to the next targets. *r: the server
 * ms of the previous EVAL in, of this one out.
 */
static void
diff_sync(struct diff_batch *b, int64_t *r)
{
    int     nkeys = b->nseq * DIFF_KEYS;
    const char **keys = calloc((size_t) nkeys, sizeof(*keys));
    int64_t *move = calloc((size_t) nkeys, sizeof(*move));
    redisReply *rep;
    int64_t now;

    ck_assert(keys != NULL && move != NULL);
    for (int s = 0; s < b->nseq; s++) {
        const struct diff_seq *q = &b->seq[s];

        for (int j = 0; j < DIFF_KEYS; j++) {
            keys[s * DIFF_KEYS + j] = q->key[j];
            move[s * DIFF_KEYS + j] = q->target ? q->target - q->skew : 0;
        }
    }
    rep = redisfix_sync(diff_redis, nkeys, keys, move);
    ck_assert(diff_int(rep->element[0], &now) == 0);

    for (int s = 0; s < b->nseq; s++) {
        struct diff_seq *q = &b->seq[s];
        int64_t vr = now + q->skew;

        /* The last decision happened between the two EVALs. */
        if (q->nsteps > 0 && q->last_now > vr / 1000)
            diff_fail(b, q, "now %" PRId64 " after the virtual clock's %" PRId64, q->last_now,
                      vr / 1000);
        for (int j = 0; j < DIFF_KEYS; j++) {
            const redisReply *v = rep->element[1 + 2 * (s * DIFF_KEYS + j)];
            const redisReply *x = rep->element[2 + 2 * (s * DIFF_KEYS + j)];

            ck_assert(x->type == REDIS_REPLY_INTEGER);
            if (j < DIFF_TRIPLETS)
                diff_check_grey(b, q, j, v, x->integer + q->skew, vr);
            else
                diff_check_awl(b, q, j - DIFF_TRIPLETS, v, x->integer + q->skew, vr);
        }
        if (q->target != 0 && q->target - now > q->skew)
            q->skew = q->target - now;
    }
    *r = now;
    freeReplyObject(rep);
    free(move);
    free(keys);
}

/* diff_batch_run - batch n: parameters, sequences, rounds, and the store closed */
static void
diff_batch_run(struct diff_batch *b, int n)
{
    int64_t r;
    int     rounds;

    memset(b, 0, sizeof(*b));
    b->n = n;
    diff_rng = diff_seed + (uint64_t) n * UINT64_C(0x2545f4914f6cdd1d);
    diff_params(b);
    diff_open(b);
    b->nseq = 8 + (int) diff_below(DIFF_SEQ_MAX - 7);
    rounds = diff_below(8) == 0 ? 20 + (int) diff_below(20) : 3 + (int) diff_below(10);
    r = diff_server_ms();
    for (int k = 0; k < b->nseq; k++)
        diff_sequence(b, k, r);
    for (int round = 0; round < rounds; round++) {
        for (int k = 0; k < b->nseq; k++)
            diff_decide(b, &b->seq[k], r);
        for (int k = 0; k < b->nseq; k++)
            diff_choose(b, &b->seq[k], r);
        diff_sync(b, &r);
    }
    store_free(b->st);
}

START_TEST(test_differential)
{
    static struct diff_batch b;
    const char *env = getenv("REDGREY_TEST_SEED");
    const char *nb = getenv("REDGREY_TEST_BATCHES");
    const char *fb = getenv("REDGREY_TEST_FIRST_BATCH");
    int     batches = nb != NULL && atoi(nb) > 0 ? atoi(nb) : DIFF_BATCHES;
    int     first = fb != NULL && atoi(fb) > 0 ? atoi(fb) : 0;
    long    seqs = 0, steps = 0;

    diff_seed = env != NULL && *env != 0 ? strtoull(env, NULL, 0) : DIFF_SEED_DEFAULT;
    diff_redis = redisfix_connect();
    for (int n = first; n < first + batches; n++) {
        diff_batch_run(&b, n);
        seqs += b.nseq;
        for (int k = 0; k < b.nseq; k++)
            steps += b.seq[k].nsteps;
    }
    for (int e = 0; e < DIFF_EVENTS; e++) {
        printf("  %-20s %ld\n", diff_event_names[e], diff_events[e]);
        ck_assert_msg(diff_events[e] > 0 || first > 0 || batches < DIFF_BATCHES, "seed %#" PRIx64 ": no step exercised \"%s\"",
                      diff_seed, diff_event_names[e]);
    }
    printf("check_policy_lua: seed %#" PRIx64 ": %d batches, %ld sequences, %ld decisions:"
           " script and policy.c agree\n", diff_seed, batches, seqs, steps);
    redisFree(diff_redis);
}
END_TEST

int
main(void)
{
    Suite  *s = suite_create("policy_lua");
    TCase  *tc = tcase_create("differential");

    if (getenv("REDGREY_TEST_REDIS") == NULL) {
        fprintf(stderr, "check_policy_lua: REDGREY_TEST_REDIS is not set:"
                " run under tests/with-redis.sh\n");
        return EXIT_FAILURE;
    }
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_differential);
    suite_add_tcase(s, tc);
    return daemon_run_suites(s, NULL) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

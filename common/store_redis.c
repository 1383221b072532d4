/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * store_redis.c - greylisting state in Redis, shared by every MTA of a cluster.
 *
 * One decision is one round trip: EVALSHA of a short Lua script that reads
 * the triplet's grey key and the (client key, sender domain) AWL key,
 * applies the table of policy.h with the time of the Redis server (TIME),
 * and writes back, atomically. Both keys come from triplet.c and share the
 * client key as Redis Cluster hash tag. Expiry is by TTL only. The script
 * is store_redis_lua.c: one decision body, two entries (production reads
 * TIME; the test entry of store_redis_decide_skewed moves that clock).
 *
 * Values are single integers, to keep memory per key small. Redis keeps
 * the integers 0..9999 as shared objects, so such a value costs nothing
 * beyond the key, 16 bytes less than any other value (unless
 * maxmemory-policy is an LRU or LFU one, which disables sharing):
 *   grey, passed    0; expires (PEXPIREAT) at the last ms before
 *                   now + pass_ttl, where policy.c ends it, renewed by
 *                   every pass.
 *   grey, pending   when retry_window is whole minutes under 10000, the
 *                   number of minutes W, and the key expires at exactly
 *                   (first_seen + retry_window) s + 500 ms: first_seen is
 *                   read back as floor((now_ms + PTTL) / 1000) - 60 W, exact
 *                   to the second with 499 ms to spare, and right even after
 *                   retry_window changes in the config. Otherwise the value
 *                   is first_seen itself (>= 10000) with TTL retry_window.
 *   AWL             last_count * 65536 + count (count saturates at 65535),
 *                   expires at the last ms before now + awl_ttl, renewed
 *                   by every pass the AWL sees.
 * (One edge: a ttl of 1 s set in the last ms of a second ends in that same
 * ms, and PEXPIREAT of the current ms deletes the key at once, where
 * policy.c keeps the entry to the end of that ms.)
 * A value that is none of these counts as absent and is overwritten.
 * A pending entry counts as absent from first_seen + its window on, as in
 * policy.c (expires <= now), although its key lives up to a second longer:
 * the compact form knows its window (W minutes); the plain one does not
 * record it, and the configured retry_window is used.
 *
 * Memory (INFO used_memory over 100k first sightings with the defaults and
 * the "rg:" prefix, IPv4 /24 or IPv6 /64 client keys; the test "memory"
 * prints it and fails above 120): 117 bytes per pending triplet, of which
 * 64 are Redis's two dict entries (keyspace and expires, 24 bytes in
 * jemalloc's 32-byte class each), 32 the key's sds (that class holds keys
 * of up to 30 bytes: 23 for IPv4, 30 for an IPv6 /64, with the grey key's
 * 12-character hash, see triplet.c), ~21 the hash tables' buckets (2 x 8
 * bytes x 131072 for 100k keys); the value is a shared integer.
 *
 * Connections, the time bound of a call, the circuit breaker and the
 * following of a host name are store_redis_conn.c's: every command below
 * goes through it, within one store_timeout and past the breaker.
 *
 * Routing: every command goes through redis_exec(), which knows the key
 * it is about. On one server (redis://, redis+unix://) that is the one
 * pool. On a Redis Cluster (redis-cluster://) it is the pool of the
 * primary of the key's slot (store_redis_cluster.c), and redis_exec
 * follows MOVED, ASK and TRYAGAIN within the same store_timeout. A
 * decision routes by its grey key, whose hash tag its AWL key shares.
 *
 * Opening: store_redis_open() fails only for a bad URL or limits. A server
 * that cannot be resolved, reached or used at open gives a store whose
 * breaker starts open, with the reason as a warning, so that the daemon
 * serves under on_store_error and connects when the server appears.
 *
 * Named blobs (store_blob_get/put) are one hash each, PREFIX "blob:" NAME,
 * with the fields version, stamp and data; no triplet key can collide,
 * since those continue the prefix with '{'. A read of the version alone is
 * an HMGET of two small fields; a read of the whole blob is one HMGET, so
 * data and version always match; a write is a short script that bumps the
 * version and stamps it with the server's TIME, atomically.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "clock.h"
#include "store.h"
#include "store_redis.h"
#include "store_redis_admin.h"
#include "store_redis_cluster.h"
#include "store_redis_conn.h"
#include "store_redis_lua.h"
#include "store_redis_session.h"
#include "xalloc.h"

#define REDIS_POOL_MAX     1024          /* connections per store */
#define REDIS_TIMEOUT_MAX  60000         /* ms */
#define REDIS_HOPS_MAX     32            /* MOVED, ASK, TRYAGAIN followed per call */
#define REDIS_TRYAGAIN_MS  10            /* longest pause before a TRYAGAIN's retry */

struct store_redis {
    struct store base;                   /* first: what store.h sees */
    struct redis_conn conn;              /* the pool, the breaker, the prober (one server) */
    struct redis_cluster *cluster;       /* redis-cluster://: a pool per node; else NULL */
    char    sha_skewed[41];              /* the test entry's SHA1, once loaded (sha_lock) */
    pthread_mutex_t sha_lock;            /* guards sha_skewed */
};

/* ---- the decision ---- */

/* redis_verdict - map the script's reply into out; 0, or -1 with err */
static int
redis_verdict(const struct redis_conn *by, const redisReply *r,
              struct policy_verdict *out, char *err, size_t errlen)
{
    static const enum policy_reason reasons[] = {
        POLICY_REASON_NEW, POLICY_REASON_EARLY, POLICY_REASON_RETRY,
        POLICY_REASON_KNOWN, POLICY_REASON_AWL, POLICY_REASON_LEARN,
        POLICY_REASON_GREYTRAP, POLICY_REASON_RATE, POLICY_REASON_OUTBOUND,
    };
    long long v[4];

    if (r->type == REDIS_REPLY_ERROR) {
        snprintf(err, errlen, "%s: script: %s", by->name, r->str);
        return -1;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 4)
        goto bad;
    for (int i = 0; i < 4; i++) {
        if (r->element[i]->type != REDIS_REPLY_INTEGER)
            goto bad;
        v[i] = r->element[i]->integer;
    }
    /* new, early, greytrap and rate-limit are the tempfails; else inconsistent. */
    if (v[1] < 0 || v[1] > 8 || v[0] != (v[1] <= 1 || v[1] == 6 || v[1] == 7 ? 1 : 0))
        goto bad;
    memset(out, 0, sizeof(*out));
    out->action = v[0] == 1 ? POLICY_TEMPFAIL : POLICY_PASS;
    out->reason = reasons[v[1]];
    out->now = v[2];
    out->delayed = v[3];
    return 0;
bad:
    snprintf(err, errlen, "%s: script: unexpected reply", by->name);
    return -1;
}

/*
 * redis_load - SCRIPT LOAD script on slot idx of c before deadline; its
 * SHA1 into sha (41 bytes). 0, or -1 with err.
 */
static int
redis_load(struct redis_conn *c, int idx, int64_t deadline,
           const char *script, size_t script_len, char *sha, char *err, size_t errlen)
{
    const char *argv[3] = {"SCRIPT", "LOAD", script};
    size_t  lens[3] = {6, 4, script_len};
    redisReply *r;

    if ((r = redis_conn_run(c, idx, deadline, 3, argv, lens, err, errlen)) == NULL)
        return -1;
    if (r->type != REDIS_REPLY_STRING || r->len != 40) {
        snprintf(err, errlen, "%s: SCRIPT LOAD failed: %s", c->name, redis_conn_reply_text(r));
        freeReplyObject(r);
        return -1;
    }
    memcpy(sha, r->str, 41);
    freeReplyObject(r);
    return 0;
}

/* The script a command runs by SHA1 (argv[1]), so that NOSCRIPT can load it. */
struct redis_script {
    const char *text;
    size_t  len;
    const char *sha;                     /* the SHA1 to run; NULL: the node's (c->sha) */
    char    learnt[41];                  /* the SHA1 a NOSCRIPT's load gave; "" if none */
};

/*
 * redis_send - argv on slot idx of c before deadline, after ASKING if
 * asking. With sc, argv[1] is the script's SHA1: NOSCRIPT (that server's
 * cache was flushed) loads it and retries once. The reply, or NULL with err.
 */
static redisReply *
redis_send(struct redis_conn *c, int idx, int64_t deadline, int asking,
           struct redis_script *sc, int argc, const char **argv, const size_t *lens,
           char *err, size_t errlen)
{
    static const char *ask_argv[1] = {"ASKING"};
    static const size_t ask_lens[1] = {6};
    redisReply *r = NULL;

    for (int attempt = 0; attempt < 2; attempt++) {
        if (asking) {
            if ((r = redis_conn_run(c, idx, deadline, 1, ask_argv, ask_lens, err,
                                    errlen)) == NULL)
                return NULL;
            freeReplyObject(r);
        }
        if (sc != NULL && attempt == 0)
            argv[1] = sc->sha != NULL ? sc->sha : c->sha;
        if ((r = redis_conn_run(c, idx, deadline, argc, argv, lens, err, errlen)) == NULL)
            return NULL;
        if (sc == NULL || attempt > 0 || r->type != REDIS_REPLY_ERROR
            || store_redis_reply_kind(r->str, NULL) != STORE_REDIS_REPLY_NOSCRIPT)
            return r;
        freeReplyObject(r);
        if (redis_load(c, idx, deadline, sc->text, sc->len, sc->learnt, err, errlen) < 0)
            return NULL;
        argv[1] = sc->learnt;
    }
    return r;
}

/* redis_pause - wait ms (a cluster moving a slot's keys), or less if deadline is nearer */
static void
redis_pause(int ms, int64_t deadline)
{
    int64_t us = deadline - clock_mono_us();
    struct timespec ts;

    if (us > (int64_t) ms * 1000)
        us = (int64_t) ms * 1000;
    if (us <= 0)
        return;
    ts.tv_sec = (time_t) (us / 1000000);
    ts.tv_nsec = (long) (us % 1000000) * 1000;
    nanosleep(&ts, NULL);
}

/*
 * redis_exec - run argv, whose key is key[0..keylen), on the server that
 * holds that key: the one server, or the primary of the key's slot in a
 * cluster. It passes that server's breaker (count 1: a decision) and
 * takes one store_timeout in all. In a cluster, MOVED goes to the named
 * node (and the map follows), ASK sends ASKING and the command there, and
 * TRYAGAIN (the slot's keys half moved) is tried again a moment later
 * while the deadline allows, at most REDIS_HOPS_MAX steps in all;
 * CLUSTERDOWN fails the call. The reply (not a redirection; caller frees)
 * with *by the server that gave it, or NULL with err.
 */
static redisReply *
redis_exec(struct store_redis *rs, const char *key, size_t keylen, int count,
           struct redis_script *sc, int argc, const char **argv, const size_t *lens,
           struct redis_conn **by, char *err, size_t errlen)
{
    unsigned slot = rs->cluster != NULL ? redis_cluster_keyslot(key, keylen) : 0;
    struct redis_conn *c = rs->cluster != NULL ? redis_cluster_route(rs->cluster, slot)
        : &rs->conn;
    int64_t deadline = 0, d;
    int     asking = 0, tries = 0;
    const char *label;
    redisReply *r;

    for (int hop = 0;; hop++) {
        struct redis_conn *next;
        int     idx = redis_conn_begin(c, hop == 0 ? count : 0, &d, err, errlen);

        if (idx >= 0) {
            deadline = hop == 0 || d < deadline ? d : deadline;
            r = redis_send(c, idx, deadline, asking, sc, argc, argv, lens, err, errlen);
            redis_conn_end(c, idx, err);
        } else
            r = NULL;
        if (rs->cluster == NULL)
            break;
        if (r != NULL && r->type == REDIS_REPLY_ERROR
            && store_redis_reply_kind(r->str, &label) == STORE_REDIS_REPLY_CLUSTERDOWN) {
            snprintf(err, errlen, "%s: %s", c->name, label);
            freeReplyObject(r);
            r = NULL;
        }
        redis_cluster_outcome(rs->cluster, r != NULL ? NULL : err);
        if (r == NULL || r->type != REDIS_REPLY_ERROR || hop + 1 == REDIS_HOPS_MAX)
            break;
        if ((next = redis_cluster_redirect(rs->cluster, r->str, &asking)) == NULL) {
            int     ms = tries < 4 ? 1 << tries : REDIS_TRYAGAIN_MS;

            /* Only while time is left: running out must not look like a timeout. */
            if (store_redis_reply_kind(r->str, NULL) != STORE_REDIS_REPLY_TRYAGAIN
                || deadline - clock_mono_us() < (int64_t) (ms + 5) * 1000)
                break;
            redis_pause(ms, deadline);
            tries++;
            next = redis_cluster_route(rs->cluster, slot);
            asking = 0;
        }
        freeReplyObject(r);
        c = next;
    }
    *by = c;
    return r;
}

/*
 * redis_outbound_get - on a cluster, whether the outbound pair okey is
 * recorded: 1, or -1 when it is not or cannot be read (the triplet is then
 * greylisted as usual: a missed reply-pass delays, never loses, mail)
 */
static int
redis_outbound_get(struct store_redis *rs, const char *okey, size_t olen)
{
    const char *argv[2] = {"EXISTS", okey};
    size_t  lens[2] = {6, olen};
    char    err[STORE_ERRLEN];
    struct redis_conn *by;
    redisReply *r;
    int     found;

    if ((r = redis_exec(rs, okey, olen, 0, NULL, 2, argv, lens, &by, err, sizeof(err))) == NULL)
        return -1;
    found = r->type == REDIS_REPLY_INTEGER && r->integer == 1;
    freeReplyObject(r);
    return found ? 1 : -1;
}

/*
 * redis_outbound_put - store_ops.outbound_put: one SET with EX outbound_ttl
 * of the pair's own key (its slot in a cluster)
 */
static int
redis_outbound_put(struct store *st, const struct triplet *pair, char *err, size_t errlen)
{
    struct store_redis *rs = (struct store_redis *) st;
    char    okey[TRIPLET_KEY_MAX], ttl[24];
    const char *argv[5] = {"SET", okey, "1", "EX", ttl};
    size_t  lens[5] = {3, 0, 1, 2, 0};
    struct policy_params p;
    struct redis_conn *by;
    redisReply *r;
    int     rc = 0;

    store_params_get(st, &p);
    if ((lens[1] = triplet_outbound_key(st->key_prefix, pair, okey, sizeof(okey))) == 0) {
        snprintf(err, errlen, "%s: cannot build the outbound key", rs->conn.name);
        return -1;
    }
    lens[4] = (size_t) snprintf(ttl, sizeof(ttl), "%" PRId64, p.outbound_ttl);
    if ((r = redis_exec(rs, okey, lens[1], 0, NULL, 5, argv, lens, &by, err, errlen)) == NULL)
        return -1;
    if (r->type == REDIS_REPLY_ERROR) {
        snprintf(err, errlen, "%s: outbound: %s", by->name, r->str);
        rc = -1;
    }
    freeReplyObject(r);
    return rc;
}

/*
 * redis_decide_call - one decision on t, through the breaker: EVALSHA of
 * the production entry (skew NULL), or of the test entry with skew (ms,
 * as decimal text) as the last ARGV. The test entry's SHA1 is learnt by the
 * NOSCRIPT of its first use, so that production never loads it. 0, or
 * -1 with err.
 */
static int
redis_decide_call(struct store_redis *rs, const struct triplet *t,
                  const struct store_decide_opts *opts, const char *skew,
                  struct policy_verdict *out, char *err, size_t errlen)
{
    char    gkey[TRIPLET_KEY_MAX], akey[TRIPLET_KEY_MAX], nkey[TRIPLET_KEY_MAX];
    char    tkey[TRIPLET_KEY_MAX], okey[TRIPLET_KEY_MAX], sha[41];
    struct redis_script sc = {store_redis_lua_decide, store_redis_lua_decide_len, NULL, ""};
    const char *argv[9 + STORE_REDIS_LUA_NARGS] = {"EVALSHA", rs->conn.sha, "4", gkey, akey,
                                                   nkey, tkey, okey};
    size_t  lens[9 + STORE_REDIS_LUA_NARGS] = {7, 40, 1};
    struct store_redis_lua_args args;
    struct store_decide_opts o = *opts;
    struct policy_params p;
    int     nkeys = 4, argc;
    struct redis_conn *by;
    redisReply *r;
    int     rc;

    lens[3] = triplet_grey_key(rs->base.key_prefix, t, gkey, sizeof(gkey));
    lens[4] = triplet_awl_key(rs->base.key_prefix, t, akey, sizeof(akey));
    lens[5] = triplet_rate_key(rs->base.key_prefix, t, nkey, sizeof(nkey));
    lens[6] = triplet_trap_key(rs->base.key_prefix, t, tkey, sizeof(tkey));
    lens[7] = triplet_outbound_key(rs->base.key_prefix, t, okey, sizeof(okey));
    if (lens[3] == 0 || lens[4] == 0 || lens[5] == 0 || lens[6] == 0 || lens[7] == 0) {
        snprintf(err, errlen, "%s: cannot build the keys of this triplet", rs->conn.name);
        return -1;
    }
    /* The outbound pair has a tag of its own: in a cluster, one GET first. */
    store_params_get(&rs->base, &p);
    if (rs->cluster != NULL && store_redis_lua_outbound_mode(&p, &o) == 1)
        o.outbound = redis_outbound_get(rs, okey, lens[7]);
    if (store_redis_lua_outbound_mode(&p, &o) == 1)
        nkeys = 5;
    argv[2] = nkeys == 5 ? "5" : "4";
    store_redis_lua_args(&rs->base, &o, &args, argv + 3 + nkeys, lens + 3 + nkeys);
    argc = 3 + nkeys + STORE_REDIS_LUA_NARGS;
    if (skew != NULL) {
        argv[argc] = skew;
        lens[argc++] = strlen(skew);
        sc.text = store_redis_lua_decide_skewed;
        sc.len = store_redis_lua_decide_skewed_len;
        pthread_mutex_lock(&rs->sha_lock);
        memcpy(sha, rs->sha_skewed, sizeof(sha));
        pthread_mutex_unlock(&rs->sha_lock);
        sc.sha = sha[0] != 0 ? sha : "0000000000000000000000000000000000000000";
    }
    /* Keys 1-4 share the client key's hash tag: the grey key routes the call. */
    if ((r = redis_exec(rs, gkey, lens[3], 1, &sc, argc, argv, lens, &by, err,
                        errlen)) == NULL)
        return -1;
    rc = redis_verdict(by, r, out, err, errlen);
    freeReplyObject(r);
    if (skew != NULL && sc.learnt[0] != 0) {
        pthread_mutex_lock(&rs->sha_lock);
        memcpy(rs->sha_skewed, sc.learnt, sizeof(sc.learnt));
        pthread_mutex_unlock(&rs->sha_lock);
    }
    return rc;
}

/* redis_decide - store_ops.decide: one EVALSHA round trip */
static int
redis_decide(struct store *st, const struct triplet *t, const struct store_decide_opts *opts,
             struct policy_verdict *out, char *err, size_t errlen)
{
    return redis_decide_call((struct store_redis *) st, t, opts, NULL, out, err, errlen);
}

/* ---- named blobs ---- */

/* The write: KEYS[1] the blob's hash, ARGV[1] the data. Returns {version, stamp}. */
static const char redis_blob_script[] =
    "local t = redis.call('TIME')\n"
    "local v = redis.call('HINCRBY', KEYS[1], 'version', 1)\n"
    "redis.call('HSET', KEYS[1], 'data', ARGV[1], 'stamp', t[1])\n"
    "return {v, tonumber(t[1])}\n";

/* redis_blob_number - a reply element holding a decimal integer >= 0 (>= 1 if positive) */
static int
redis_blob_number(const redisReply *e, int positive, uint64_t *out)
{
    char   *end;
    unsigned long long v;

    if (e->type == REDIS_REPLY_INTEGER) {
        if (e->integer < (positive ? 1 : 0))
            return -1;
        *out = (uint64_t) e->integer;
        return 0;
    }
    if (e->type != REDIS_REPLY_STRING || e->len == 0 || e->len > 20
        || !isdigit((unsigned char) e->str[0]))
        return -1;
    errno = 0;
    v = strtoull(e->str, &end, 10);
    if (errno != 0 || *end != 0 || (positive && v == 0) || v > INT64_MAX)
        return -1;
    *out = (uint64_t) v;
    return 0;
}

/* redis_blob_get - store_ops.blob_get: one HMGET of version, stamp [, data] */
static enum store_blob_result
redis_blob_get(struct store *st, const char *name, char **data, size_t *len,
               struct store_blob_meta *meta, char *err, size_t errlen)
{
    struct store_redis *rs = (struct store_redis *) st;
    char    key[STORE_BLOB_KEY_MAX];
    const char *argv[5] = {"HMGET", key, "version", "stamp", "data"};
    size_t  lens[5] = {5, 0, 7, 5, 4};
    int     argc = data != NULL ? 5 : 4;
    enum store_blob_result res = STORE_BLOB_ERROR;
    uint64_t version, stamp;
    struct redis_conn *by;
    redisReply *r;

    lens[1] = store_blob_key(rs->base.key_prefix, name, key, sizeof(key));
    if ((r = redis_exec(rs, key, lens[1], 0, NULL, argc, argv, lens, &by, err,
                        errlen)) == NULL)
        return STORE_BLOB_ERROR;
    if (r->type == REDIS_REPLY_ERROR) {
        snprintf(err, errlen, "%s: blob %s: %s", by->name, name, r->str);
        goto out;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != (size_t) argc - 2)
        goto bad;
    if (r->element[0]->type == REDIS_REPLY_NIL) {
        res = STORE_BLOB_ABSENT;
        goto out;
    }
    if (redis_blob_number(r->element[0], 1, &version) < 0
        || redis_blob_number(r->element[1], 0, &stamp) < 0)
        goto bad;
    if (data != NULL) {
        const redisReply *d = r->element[2];

        if (d->type != REDIS_REPLY_STRING || d->len > STORE_BLOB_MAX)
            goto bad;
        *data = xmalloc(d->len + 1);
        memcpy(*data, d->str, d->len);
        (*data)[d->len] = 0;
        *len = d->len;
    }
    meta->version = version;
    meta->stamp = (int64_t) stamp;
    res = STORE_BLOB_FOUND;
    goto out;
bad:
    snprintf(err, errlen, "%s: blob %s (key %s): malformed", by->name, name, key);
out:
    freeReplyObject(r);
    return res;
}

/* redis_blob_put - store_ops.blob_put: one EVAL that bumps the version */
static int
redis_blob_put(struct store *st, const char *name, const void *data, size_t len,
               struct store_blob_meta *meta, char *err, size_t errlen)
{
    struct store_redis *rs = (struct store_redis *) st;
    char    key[STORE_BLOB_KEY_MAX];
    const char *argv[5] = {"EVAL", redis_blob_script, "1", key, data};
    size_t  lens[5] = {4, sizeof(redis_blob_script) - 1, 1, 0, len};
    uint64_t version, stamp;
    struct redis_conn *by;
    redisReply *r;
    int     rc = -1;

    lens[3] = store_blob_key(rs->base.key_prefix, name, key, sizeof(key));
    if ((r = redis_exec(rs, key, lens[3], 0, NULL, 5, argv, lens, &by, err, errlen)) == NULL)
        return -1;
    if (r->type == REDIS_REPLY_ERROR)
        snprintf(err, errlen, "%s: blob %s: %s", by->name, name, r->str);
    else if (r->type != REDIS_REPLY_ARRAY || r->elements != 2
             || redis_blob_number(r->element[0], 1, &version) < 0
             || redis_blob_number(r->element[1], 0, &stamp) < 0)
        snprintf(err, errlen, "%s: blob %s: unexpected reply to the write", by->name,
                 name);
    else {
        if (meta != NULL) {
            meta->version = version;
            meta->stamp = (int64_t) stamp;
        }
        rc = 0;
    }
    freeReplyObject(r);
    return rc;
}

/* redis_free - store_ops.free: close every connection */
static void
redis_free(struct store *st)
{
    struct store_redis *rs = (struct store_redis *) st;

    if (rs->cluster != NULL) {
        redis_cluster_free(rs->cluster);
        free(rs->cluster);
    } else
        redis_conn_free(&rs->conn);
    pthread_mutex_destroy(&rs->sha_lock);
    free(rs);
}

static const struct store_ops redis_ops = {
    .name = "redis",
    .decide = redis_decide,
    .blob_get = redis_blob_get,
    .blob_put = redis_blob_put,
    .free = redis_free,
    .entry_get = store_redis_admin_entry_get,
    .entry_pass = store_redis_admin_entry_pass,
    .entry_delete = store_redis_admin_entry_delete,
    .count_step = store_redis_admin_count_step,
    .blob_delete = store_redis_admin_blob_delete,
    .outbound_put = redis_outbound_put,
    .session_enter = store_redis_session_enter,
    .session_leave = store_redis_session_leave,
};

/*
 * On a Redis Cluster: the same decisions and blobs; the admin operations
 * (store_redis_admin.c) use the one connection layer of a single server,
 * so a cluster has none yet (store.c says so).
 */
static const struct store_ops redis_cluster_ops = {
    .name = "redis-cluster",
    .decide = redis_decide,
    .blob_get = redis_blob_get,
    .blob_put = redis_blob_put,
    .free = redis_free,
    .outbound_put = redis_outbound_put,
    .session_enter = store_redis_session_enter,
    .session_leave = store_redis_session_leave,
};

/*
 * store_redis_session_exec - store_redis_session.h's hook: redis_exec
 * of argv about key (routed by it on a cluster), not counted as a
 * decision by the breaker; *by_name names the server that answered
 */
redisReply *
store_redis_session_exec(struct store *st, const char *key, size_t key_len, int argc,
                         const char **argv, const size_t *lens, const char **by_name,
                         char *err, size_t errlen)
{
    struct redis_conn *by = NULL;
    redisReply *r = redis_exec((struct store_redis *) st, key, key_len, 0, NULL, argc, argv,
                               lens, &by, err, errlen);

    *by_name = by != NULL ? by->name : ((struct store_redis *) st)->conn.name;
    return r;
}

/* store_redis_admin_conn - store_redis_admin.h's hook: the store's connection layer */
struct redis_conn *
store_redis_admin_conn(struct store *st)
{
    return &((struct store_redis *) st)->conn;
}

/* redis_check_config - the limits store_redis_open enforces; 0, or -1 with err */
static int
redis_check_config(const struct store_config *conf, char *err, size_t errlen)
{
    const char *prefix = conf->key_prefix ? conf->key_prefix : "";

    if (conf->pool < 1 || conf->pool > REDIS_POOL_MAX) {
        snprintf(err, errlen, "redis: pool must be 1..%d", REDIS_POOL_MAX);
        return -1;
    }
    if (conf->timeout_ms < 1 || conf->timeout_ms > REDIS_TIMEOUT_MAX) {
        snprintf(err, errlen, "redis: timeout must be 1..%d ms", REDIS_TIMEOUT_MAX);
        return -1;
    }
    if (strlen(prefix) > TRIPLET_PREFIX_MAX || strpbrk(prefix, "{}") != NULL) {
        snprintf(err, errlen, "redis: key prefix must be at most %d bytes without braces",
                 TRIPLET_PREFIX_MAX);
        return -1;
    }
    return store_params_check(&conf->params, err, errlen);
}

/*
 * store_redis_open - check the limits, parse the URL, set up the pool
 * and start it (redis_conn_start): a server unusable at open is a
 * warning in err and an open breaker, not a failed open
 */
struct store *
store_redis_open(const struct store_config *conf, char *err, size_t errlen)
{
    struct store_redis *rs;
    struct store_redis_url url;

    if (redis_check_config(conf, err, errlen) < 0
        || store_redis_url_parse(conf->url, &url, err, errlen) < 0)
        return NULL;

    rs = xcalloc(1, sizeof(*rs));
    rs->base.ops = &redis_ops;
    store_params_init(&rs->base, &conf->params);
    snprintf(rs->base.key_prefix, sizeof(rs->base.key_prefix), "%s",
             conf->key_prefix ? conf->key_prefix : "");
    pthread_mutex_init(&rs->sha_lock, NULL);
    if (url.cluster) {
        /* A cluster: a pool per node; of conn only the name serves, in errors. */
        snprintf(rs->conn.name, sizeof(rs->conn.name), "redis-cluster %s:%d%s", url.host,
                 url.port, url.nseeds > 1 ? ",..." : "");
        rs->base.ops = &redis_cluster_ops;
        rs->cluster = xcalloc(1, sizeof(*rs->cluster));
        if (redis_cluster_open(rs->cluster, &rs->base, &url, conf->pool, conf->timeout_ms,
                               store_redis_lua_decide, store_redis_lua_decide_len,
                               err, errlen) < 0) {
            free(rs->cluster);
            pthread_mutex_destroy(&rs->sha_lock);
            free(rs);
            return NULL;
        }
        return &rs->base;
    }
    redis_conn_init(&rs->conn, &rs->base, &url, conf->pool, conf->timeout_ms,
                    store_redis_lua_decide, store_redis_lua_decide_len,
                    conf->sentinel_password);

    if (redis_conn_start(&rs->conn, err, errlen) < 0) {
        redis_free(&rs->base);
        return NULL;
    }
    return &rs->base;
}

/* store_redis_decide_skewed - store_redis.h's test hook: the test entry */
int
store_redis_decide_skewed(struct store *st, const struct triplet *t, int64_t skew_ms,
                          struct policy_verdict *out, char *err, size_t errlen)
{
    return store_redis_decide_skewed_with(st, t, NULL, skew_ms, out, err, errlen);
}

/* store_redis_decide_skewed_with - TEST HOOK: store_decide_with() at a skewed time */
int
store_redis_decide_skewed_with(struct store *st, const struct triplet *t,
                               const struct store_decide_opts *opts, int64_t skew_ms,
                               struct policy_verdict *out, char *err, size_t errlen)
{
    static const struct store_decide_opts none;
    char    skew[24];

    if (st == NULL || (st->ops != &redis_ops && st->ops != &redis_cluster_ops)) {
        snprintf(err, errlen, "store_redis_decide_skewed: not a redis store");
        return -1;
    }
    if (skew_ms > STORE_REDIS_SKEW_MAX || skew_ms < -STORE_REDIS_SKEW_MAX) {
        snprintf(err, errlen, "store_redis_decide_skewed: skew out of range");
        return -1;
    }
    snprintf(skew, sizeof(skew), "%" PRId64, skew_ms);
    return redis_decide_call((struct store_redis *) st, t, opts != NULL ? opts : &none, skew, out,
                             err, errlen);
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * store_redis_session.c - the live sessions of a client address in Redis.
 *
 * One sorted set per address (store_session_key), each member a session
 * id scored by the ms (server's TIME) at which it stops counting. An
 * enter is one EVAL that drops the expired members, adds or renews its
 * own, sets the key to expire with its last member and returns the
 * count; a leave is one ZREM (Redis deletes the set with its last
 * member). Both go through store_redis.c's routing, so on a Redis
 * Cluster they reach the primary of the key's slot, and through its
 * breaker and store_timeout. A set stays small: a member lives at most
 * ttl, and an address has as many as it has sessions at once.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "store.h"
#include "store_redis_session.h"

/* The enter: KEYS[1] the set, ARGV[1] the id, ARGV[2] the ttl in ms. Returns the count. */
static const char session_enter_script[] =
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%d', now))\n"
    "redis.call('ZADD', KEYS[1], string.format('%d', now + tonumber(ARGV[2])), ARGV[1])\n"
    "local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')\n"
    "redis.call('PEXPIREAT', KEYS[1], last[2])\n"
    "return redis.call('ZCARD', KEYS[1])\n";

/* session_integer - r's integer (>= 0) into *n; 0, or -1 with err naming what and by */
static int
session_integer(const redisReply *r, const char *by, const char *what, long long *n,
                char *err, size_t errlen)
{
    if (r->type == REDIS_REPLY_INTEGER && r->integer >= 0) {
        *n = r->integer;
        return 0;
    }
    if (r->type == REDIS_REPLY_ERROR)
        snprintf(err, errlen, "%s: session %s: %s", by, what, r->str);
    else
        snprintf(err, errlen, "%s: session %s: unexpected reply", by, what);
    return -1;
}

/* store_redis_session_enter - store_ops.session_enter: one EVAL */
int
store_redis_session_enter(struct store *st, const char *key, size_t key_len, const char *id,
                          int64_t ttl_ms, char *err, size_t errlen)
{
    char    ttl[24];
    const char *argv[6] = {"EVAL", session_enter_script, "1", key, id, ttl};
    size_t  lens[6] = {4, sizeof(session_enter_script) - 1, 1, key_len, strlen(id), 0};
    const char *by;
    redisReply *r;
    long long n = 0;
    int     rc;

    lens[5] = (size_t) snprintf(ttl, sizeof(ttl), "%" PRId64, ttl_ms);
    if ((r = store_redis_session_exec(st, key, key_len, 6, argv, lens, &by, err,
                                      errlen)) == NULL)
        return -1;
    rc = session_integer(r, by, "enter", &n, err, errlen);
    freeReplyObject(r);
    if (rc == 0 && n > INT32_MAX)
        n = INT32_MAX;
    return rc < 0 ? -1 : (int) n;
}

/* store_redis_session_leave - store_ops.session_leave: one ZREM */
int
store_redis_session_leave(struct store *st, const char *key, size_t key_len, const char *id,
                          char *err, size_t errlen)
{
    const char *argv[3] = {"ZREM", key, id};
    size_t  lens[3] = {4, key_len, strlen(id)};
    const char *by;
    redisReply *r;
    long long n;
    int     rc;

    if ((r = store_redis_session_exec(st, key, key_len, 3, argv, lens, &by, err,
                                      errlen)) == NULL)
        return -1;
    rc = session_integer(r, by, "leave", &n, err, errlen);
    freeReplyObject(r);
    return rc;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * store_redis_lua.c - the Redis store's decision script: policy.h's table
 * in Lua, over the key values store_redis.c's header describes.
 *
 * ONE body, LUA_DECIDE_BODY, is pasted by string literal concatenation
 * into two entries, so that they cannot drift apart: the production one
 * takes the time from the server's TIME; the test one moves that clock by
 * its last ARGV in ms (store_redis_decide_skewed), so that tests/check_policy_lua.c
 * can hold the body to policy.c at any time without sleeping.
 *
 * KEYS[1] grey key, KEYS[2] AWL key, KEYS[3] the client key's new-triplet
 * counter, KEYS[4] its greytrap, KEYS[5] (only when ARGV[10] is "1") the
 * outbound pair; ARGV delay, retry_window, pass_ttl, awl_threshold,
 * awl_ttl (seconds), learn ("1": learn mode, where what would be a
 * tempfail is a pass that stores the triplet as passed),
 * max_new_per_client, greytrap_ttl, trap ("1": this recipient is a
 * greytrap), outbound ("0" off or known absent, "1" read KEYS[5], "2"
 * known recorded).
 * Returns {action, reason, now, delayed}: action 0 pass, 1 tempfail;
 * reason 0 new, 1 early, 2 retry, 3 known, 4 awl, 5 learn, 6 greytrap,
 * 7 rate-limit, 8 outbound.
 *
 * The counter is "1".."n" with the TTL of its fixed window, set when it
 * is created (POLICY_RATE_WINDOW) and kept by later counts (KEEPTTL); the
 * trap is "1" expiring at the last ms before now + greytrap_ttl.
 */
#include "config.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "policy.h"
#include "store.h"
#include "store_redis_lua.h"

#define LUA_STR(x)  #x
#define LUA_XSTR(x) LUA_STR(x)

/*
 * The body reads the time from three variables its entry sets: now (unix
 * seconds), now_ms (the same instant in milliseconds) and skew (now_ms
 * minus the server's TIME, in ms; 0 in production), the last one to turn
 * an absolute expiry into the server's clock for PEXPIREAT. Numbers are
 * written with %d: Lua would print large ones in exponent notation.
 */
#define LUA_DECIDE_BODY \
    "local delay, window = tonumber(ARGV[1]), tonumber(ARGV[2])\n" \
    "local pass_ttl, threshold, awl_ttl = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])\n" \
    "local learn, learning = ARGV[6] == '1', false\n" \
    "local count, last, first, expires\n" \
    "local function expire_at(key, s)\n" \
    "  redis.call('PEXPIREAT', key, string.format('%d', s * 1000 - 1 - skew))\n" \
    "end\n" \
    "local max_new, trap_ttl = tonumber(ARGV[7]), tonumber(ARGV[8])\n" \
    "if not learn and trap_ttl > 0 and ARGV[9] == '1' then\n" \
    "  redis.call('SET', KEYS[4], '1')\n" \
    "  expire_at(KEYS[4], now + trap_ttl)\n" \
    "  return {1, 6, now, 0}\n" \
    "elseif not learn and trap_ttl > 0 and redis.call('EXISTS', KEYS[4]) == 1 then\n" \
    "  return {1, 6, now, 0}\n" \
    "end\n" \
    "if ARGV[10] == '2' or (ARGV[10] == '1' and redis.call('EXISTS', KEYS[5]) == 1) then\n" \
    "  return {0, 8, now, 0}\n" \
    "end\n" \
    "if threshold > 0 then\n" \
    "  local a = tonumber(redis.call('GET', KEYS[2]))\n" \
    "  if a and a >= 0 and a < 2^53 and a == math.floor(a) then\n" \
    "    count = a % 65536\n" \
    "    last = (a - count) / 65536\n" \
    "    if count >= threshold then\n" \
    "      expire_at(KEYS[2], now + awl_ttl)\n" \
    "      return {0, 4, now, 0}\n" \
    "    end\n" \
    "  end\n" \
    "end\n" \
    "local g = tonumber(redis.call('GET', KEYS[1]))\n" \
    "if g == 0 then\n" \
    "  expire_at(KEYS[1], now + pass_ttl)\n" \
    "  return {0, 3, now, 0}\n" \
    "end\n" \
    "if g and g == math.floor(g) and g >= " LUA_XSTR(STORE_REDIS_LUA_SHARED_MAX) " then\n" \
    "  first, expires = g, g + window\n" \
    "elseif g and g == math.floor(g) and g > 0 then\n" \
    "  local ttl = redis.call('PTTL', KEYS[1])\n" \
    "  if ttl > 0 then\n" \
    "    first = math.floor((now_ms + ttl) / 1000) - g * 60\n" \
    "    expires = first + g * 60\n" \
    "  end\n" \
    "end\n" \
    "if first and now >= expires then\n" \
    "  first = nil\n" \
    "end\n" \
    "if not first and learn then\n" \
    "  first, learning = now, true\n" \
    "elseif not first then\n" \
    "  if max_new > 0 then\n" \
    "    local c = tonumber(redis.call('GET', KEYS[3]))\n" \
    "    if c and c >= 0 and c < 2^53 and c == math.floor(c)\n" \
    "       and redis.call('PTTL', KEYS[3]) > 0 then\n" \
    "      if c >= max_new then\n" \
    "        return {1, 7, now, 0}\n" \
    "      end\n" \
    "      redis.call('SET', KEYS[3], string.format('%d', c + 1), 'KEEPTTL')\n" \
    "    else\n" \
    "      redis.call('SET', KEYS[3], '1')\n" \
    "      expire_at(KEYS[3], now + " LUA_XSTR(POLICY_RATE_WINDOW) ")\n" \
    "    end\n" \
    "  end\n" \
    "  if window % 60 == 0 and window / 60 < " LUA_XSTR(STORE_REDIS_LUA_SHARED_MAX) " then\n" \
    "    redis.call('SET', KEYS[1], string.format('%d', window / 60), 'PX',\n" \
    "               (now + window) * 1000 + 500 - now_ms)\n" \
    "  else\n" \
    "    redis.call('SET', KEYS[1], string.format('%d', now), 'EX', window)\n" \
    "  end\n" \
    "  return {1, 0, now, 0}\n" \
    "elseif now - first < delay and learn then\n" \
    "  learning = true\n" \
    "elseif now - first < delay then\n" \
    "  return {1, 1, now, 0}\n" \
    "end\n" \
    "redis.call('SET', KEYS[1], '0')\n" \
    "expire_at(KEYS[1], now + pass_ttl)\n" \
    "if threshold > 0 then\n" \
    "  if not count then\n" \
    "    count, last = 1, now\n" \
    "  elseif now - last >= " LUA_XSTR(POLICY_AWL_COUNT_INTERVAL) " then\n" \
    "    count, last = math.min(count + 1, " LUA_XSTR(STORE_REDIS_LUA_AWL_COUNT_MAX) "), now\n" \
    "  end\n" \
    "  redis.call('SET', KEYS[2], string.format('%d', last * 65536 + count))\n" \
    "  expire_at(KEYS[2], now + awl_ttl)\n" \
    "end\n" \
    "if learning then\n" \
    "  return {0, 5, now, 0}\n" \
    "end\n" \
    "return {0, 2, now, now - first}\n"

/* Production: the server's clock, one TIME call. */
const char store_redis_lua_decide[] =
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1])\n"
    "local now_ms = now * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local skew = 0\n"
    LUA_DECIDE_BODY;

const size_t store_redis_lua_decide_len = sizeof(store_redis_lua_decide) - 1;

/*
 * Tests only (store_redis_decide_skewed): the server's clock moved skew ms
 * by the last ARGV, so that a test can run the body at any time it likes.
 */
const char store_redis_lua_decide_skewed[] =
    "local t = redis.call('TIME')\n"
    "local skew = tonumber(ARGV[#ARGV])\n"
    "if not skew or skew ~= math.floor(skew) then\n"
    "  return redis.error_reply('skew: not an integer')\n"
    "end\n"
    "local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + skew\n"
    "local now = math.floor(now_ms / 1000)\n"
    LUA_DECIDE_BODY;

const size_t store_redis_lua_decide_skewed_len = sizeof(store_redis_lua_decide_skewed) - 1;

/* store_redis_lua_outbound_mode - ARGV[10]: 0 off or known absent, 1 read KEYS[5], 2 recorded */
int
store_redis_lua_outbound_mode(const struct policy_params *p, const struct store_decide_opts *opts)
{
    if (p->outbound_ttl <= 0 || opts->outbound < 0)
        return 0;
    return opts->outbound > 0 ? 2 : 1;
}

/* store_redis_lua_args - the parameters' ARGV, read once per decision */
void
store_redis_lua_args(struct store *st, const struct store_decide_opts *opts,
                     struct store_redis_lua_args *a, const char **argv, size_t *lens)
{
    struct policy_params p;
    int64_t v[STORE_REDIS_LUA_NARGS];

    store_params_get(st, &p);
    v[0] = opts != NULL && opts->delay > 0 ? opts->delay : p.delay;
    v[1] = p.retry_window;
    v[2] = p.pass_ttl;
    v[3] = p.awl_threshold;
    v[4] = p.awl_ttl;
    v[5] = p.learn ? 1 : 0;
    v[6] = p.max_new_per_client;
    v[7] = p.greytrap_ttl;
    v[8] = opts->trap ? 1 : 0;
    v[9] = store_redis_lua_outbound_mode(&p, opts);
    for (int i = 0; i < STORE_REDIS_LUA_NARGS; i++) {
        snprintf(a->text[i], sizeof(a->text[i]), "%" PRId64, v[i]);
        argv[i] = a->text[i];
        lens[i] = strlen(a->text[i]);
    }
}

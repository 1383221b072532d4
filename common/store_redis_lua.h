/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * store_redis_lua.h - the text of the Redis store's decision script
 * (store_redis_lua.c), for store_redis.c only: its production entry and
 * its test entry, which share one decision body.
 *
 * Thread-safety: constants.
 */
#ifndef REDGREY_STORE_REDIS_LUA_H
#define REDGREY_STORE_REDIS_LUA_H

#include <stddef.h>

struct store;
struct store_decide_opts;
struct policy_params;

#define STORE_REDIS_LUA_AWL_COUNT_MAX 65535 /* the count's bits in the AWL value */
#define STORE_REDIS_LUA_SHARED_MAX    10000 /* Redis shares the integers below this */

/*
 * The script's ARGV from the parameters and the call: delay, retry_window,
 * pass_ttl, awl_threshold, awl_ttl, learn, max_new_per_client,
 * greytrap_ttl, trap, outbound mode.
 */
#define STORE_REDIS_LUA_NARGS 10

/* Their text, on the caller's stack. */
struct store_redis_lua_args {
    char    text[STORE_REDIS_LUA_NARGS][24];
};

/*
 * store_redis_lua_args - the ARGV of one decision from st's current
 * parameters (store_params_get, so that store_set_params applies to the
 * next decision): text into *a, pointers and lengths into argv and lens
 * (STORE_REDIS_LUA_NARGS each)
 */
void    store_redis_lua_args(struct store *st, const struct store_decide_opts *opts,
                             struct store_redis_lua_args *a, const char **argv, size_t *lens);

/*
 * store_redis_lua_outbound_mode - the script's outbound ARGV for p and
 * opts: 0 (off, or known absent), 1 (the script reads KEYS[5], the pair's
 * key: the caller passes five KEYS), 2 (known recorded)
 */
int     store_redis_lua_outbound_mode(const struct policy_params *p,
                                      const struct store_decide_opts *opts);

/* The production entry: now from the server's TIME. */
extern const char store_redis_lua_decide[];
extern const size_t store_redis_lua_decide_len;

/* The test entry: now from TIME + its last ARGV in ms (an integer, may be negative). */
extern const char store_redis_lua_decide_skewed[];
extern const size_t store_redis_lua_decide_skewed_len;

#endif

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

#define STORE_REDIS_LUA_AWL_COUNT_MAX 65535 /* the count's bits in the AWL value */
#define STORE_REDIS_LUA_SHARED_MAX    10000 /* Redis shares the integers below this */

/* The production entry: now from the server's TIME. */
extern const char store_redis_lua_decide[];
extern const size_t store_redis_lua_decide_len;

/* The test entry: now from TIME + ARGV[6] ms (an integer, may be negative). */
extern const char store_redis_lua_decide_skewed[];
extern const size_t store_redis_lua_decide_skewed_len;

#endif

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * redisfix.h - a test's own look at the redis-server of with-redis.sh:
 * a connection to it, and the one EVAL of the clock-skew differential
 * tests (check_policy_lua.c, check_policy_lua_abuse.c) that reads keys
 * back and moves their expiry along with a sequence's virtual clock.
 *
 * Both fail the running check test on any error.
 * Thread-safety: one connection per thread.
 */
#ifndef REDGREY_TEST_REDISFIX_H
#define REDGREY_TEST_REDISFIX_H

#include <stdint.h>

#include <hiredis/hiredis.h>

/* redisfix_connect - a connection to REDGREY_TEST_REDIS (5 s timeouts) */
redisContext *redisfix_connect(void);

/*
 * redisfix_sync - at the server's TIME r (ms), read every key (GET,
 * PEXPIRETIME), then for each key whose move[i] - r is positive bring
 * its expiry that many ms earlier (deleting it if that is already past),
 * as if that much time had passed for it. Returns the reply {r, value1,
 * expiry1, value2, expiry2, ...} (nkeys pairs), to freeReplyObject().
 */
redisReply *redisfix_sync(redisContext *c, int nkeys, const char *const *keys,
                          const int64_t *move);

#endif

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * store_redis_session.h - the Redis backend's concurrent-session count
 * (store_redis_session.c): the store_ops entries store_redis.c puts in
 * its tables, and the one hook they need from store_redis.c, its routed
 * command. Private to the backend; callers use store.h.
 *
 * Thread-safety: as store_decide().
 */
#ifndef REDGREY_STORE_REDIS_SESSION_H
#define REDGREY_STORE_REDIS_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "store.h"

/*
 * store_redis_session_exec - run argv about key on the server that holds
 * key, within one store_timeout, past the breaker (store_redis.c). The
 * reply (caller frees), or NULL with err; *by_name names the server.
 */
redisReply *store_redis_session_exec(struct store *st, const char *key, size_t key_len,
                                     int argc, const char **argv, const size_t *lens,
                                     const char **by_name, char *err, size_t errlen);

/* store_redis_session_enter - store_ops.session_enter: one EVAL */
int     store_redis_session_enter(struct store *st, const char *key, size_t key_len,
                                  const char *id, int64_t ttl_ms, char *err, size_t errlen);

/* store_redis_session_leave - store_ops.session_leave: one ZREM */
int     store_redis_session_leave(struct store *st, const char *key, size_t key_len,
                                  const char *id, char *err, size_t errlen);

#endif

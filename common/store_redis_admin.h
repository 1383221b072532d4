/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * store_redis_admin.h - the Redis backend's admin operations
 * (store_redis_admin.c), the store_ops entries store_redis.c puts in its
 * table, and the one hook they need from store_redis.c: the store's
 * connection layer. Private to the backend; callers use store.h.
 *
 * Thread-safety: as store_decide().
 */
#ifndef REDGREY_STORE_REDIS_ADMIN_H
#define REDGREY_STORE_REDIS_ADMIN_H

#include <stddef.h>

#include "store.h"

struct redis_conn;

/* store_redis_admin_conn - the connection layer of Redis store st (store_redis.c) */
struct redis_conn *store_redis_admin_conn(struct store *st);

/* store_redis_admin_entry_get - store_ops.entry_get */
int     store_redis_admin_entry_get(struct store *st, const struct triplet *t,
                                    struct store_entry *out, char *err, size_t errlen);

/* store_redis_admin_entry_pass - store_ops.entry_pass */
int     store_redis_admin_entry_pass(struct store *st, const struct triplet *t,
                                     char *err, size_t errlen);

/* store_redis_admin_entry_delete - store_ops.entry_delete */
int     store_redis_admin_entry_delete(struct store *st, const struct triplet *t, int *existed,
                                       char *err, size_t errlen);

/* store_redis_admin_count_step - store_ops.count_step */
int     store_redis_admin_count_step(struct store *st, struct store_walk *w,
                                     char *err, size_t errlen);

/* store_redis_admin_blob_delete - store_ops.blob_delete */
int     store_redis_admin_blob_delete(struct store *st, const char *name, int *existed,
                                      char *err, size_t errlen);

#endif

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * store_lmdb_session.h - the LMDB backend's concurrent-session count
 * (store_lmdb_session.c), the store_ops entries store_lmdb.c puts in its
 * table. Private to the backend; callers use store.h.
 *
 * Thread-safety: as store_decide(); each is a request to the writer.
 */
#ifndef REDGREY_STORE_LMDB_SESSION_H
#define REDGREY_STORE_LMDB_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* store_lmdb_session_enter - store_ops.session_enter */
int     store_lmdb_session_enter(struct store *st, const char *key, size_t key_len,
                                 const char *id, int64_t ttl_ms, char *err, size_t errlen);

/* store_lmdb_session_leave - store_ops.session_leave */
int     store_lmdb_session_leave(struct store *st, const char *key, size_t key_len,
                                 const char *id, char *err, size_t errlen);

#endif

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * store_lmdb_admin.h - the LMDB backend's admin operations
 * (store_lmdb_admin.c), the store_ops entries store_lmdb.c puts in its
 * table. Private to the backend; callers use store.h's store_entry_get
 * and the others.
 *
 * Thread-safety: as store_decide(); each is a request to the writer.
 */
#ifndef REDGREY_STORE_LMDB_ADMIN_H
#define REDGREY_STORE_LMDB_ADMIN_H

#include <stddef.h>

#include "store.h"

/* store_lmdb_admin_entry_get - store_ops.entry_get */
int     store_lmdb_admin_entry_get(struct store *st, const struct triplet *t,
                                   struct store_entry *out, char *err, size_t errlen);

/* store_lmdb_admin_entry_pass - store_ops.entry_pass */
int     store_lmdb_admin_entry_pass(struct store *st, const struct triplet *t,
                                    char *err, size_t errlen);

/* store_lmdb_admin_entry_delete - store_ops.entry_delete */
int     store_lmdb_admin_entry_delete(struct store *st, const struct triplet *t, int *existed,
                                      char *err, size_t errlen);

/* store_lmdb_admin_count_step - store_ops.count_step */
int     store_lmdb_admin_count_step(struct store *st, struct store_walk *w,
                                    char *err, size_t errlen);

/* store_lmdb_admin_blob_delete - store_ops.blob_delete */
int     store_lmdb_admin_blob_delete(struct store *st, const char *name, int *existed,
                                     char *err, size_t errlen);

#endif

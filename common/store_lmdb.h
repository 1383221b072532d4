/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * store_lmdb.h - the LMDB backend's private hooks, for tests and the
 * admin tool. The daemon never needs this header: it reaches the backend
 * through store.h only.
 *
 * The hooks take a struct store that store_lmdb_open() returned; passing
 * a store of another backend is a broken invariant (they return -1).
 *
 * Thread-safety: any thread, concurrently with store_decide(); each hook
 * runs its own transactions.
 */
#ifndef REDGREY_STORE_LMDB_H
#define REDGREY_STORE_LMDB_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define STORE_LMDB_MAPSIZE_DEFAULT ((size_t)4 << 30) /* used when lmdb_mapsize is 0 */
#define STORE_LMDB_SWEEP_INTERVAL  60    /* seconds between two full sweeps */
#define STORE_LMDB_SYNC_INTERVAL   1     /* seconds between two mdb_env_sync() */

/* What one sweep pass did; filled by store_lmdb_sweep_once(). */
struct store_lmdb_sweep_stats {
    size_t  visited;                     /* entries looked at */
    size_t  deleted;                     /* expired or malformed entries deleted */
    size_t  batches;                     /* write transactions used */
    int64_t max_hold_us;                 /* longest batch, begin to commit */
};

/*
 * store_lmdb_sweep_once - run one full sweep pass now, as the background
 * sweeper does (bounded batches, a pause between them), deleting entries
 * whose expiry is <= now. Returns 0 with *out filled (out may be NULL),
 * or -1 with a reason in err.
 */
int     store_lmdb_sweep_once(struct store *st, int64_t now,
                              struct store_lmdb_sweep_stats *out,
                              char *err, size_t errlen);

/* store_lmdb_count - number of grey and AWL entries; 0, or -1 with err */
int     store_lmdb_count(struct store *st, size_t *entries, char *err, size_t errlen);

/*
 * store_lmdb_set_sweep_interval - run the background sweeper's full pass
 * every `seconds` (>= 1) from now on, instead of STORE_LMDB_SWEEP_INTERVAL.
 */
void    store_lmdb_set_sweep_interval(struct store *st, int seconds);

/*
 * Named blobs (the expanded big-sender set, so that a restart does not
 * wait for DNS) are reached through store_blob_get/put in store.h; this
 * backend keeps them in the environment's "blobs" database.
 */

#endif

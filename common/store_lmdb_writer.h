/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * store_lmdb_writer.h - the middle layer of the LMDB backend: the writer
 * thread that runs every transaction of a store, and the queue callers
 * hand it their requests through (see store_lmdb_txn.h for the layers).
 * Private to the backend.
 *
 * Thread-safety: lmdb_writer_start and lmdb_writer_stop from the thread
 * that opens and frees the store; the others from any thread.
 */
#ifndef REDGREY_STORE_LMDB_WRITER_H
#define REDGREY_STORE_LMDB_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "store_lmdb.h"
#include "store_lmdb_txn.h"

/* lmdb_writer_start - start the writer and syncer threads; 0, or -1 with err */
int     lmdb_writer_start(struct lmdb_store *st, char *err, size_t errlen);

/* lmdb_writer_stop - stop both threads and wait for them; idempotent */
void    lmdb_writer_stop(struct lmdb_store *st);

/*
 * lmdb_writer_submit - hand a copy of req to the writer and wait for it,
 * at most the store's timeout (for the operations it knows; see
 * store_lmdb_writer.c). Returns req->rc with the outputs filled, or -1
 * with a reason in req->err: a timeout before the writer started on it
 * (no effect), or while it ran (it may still have been written).
 */
int     lmdb_writer_submit(struct lmdb_store *st, struct lmdb_req *req);

/*
 * lmdb_writer_test_stall - for tests: every write transaction that runs
 * requests stalls us microseconds once they are RUNNING (0: none)
 */
void    lmdb_writer_test_stall(int64_t us);

/*
 * lmdb_writer_sweep_ask - have the writer run one full pass with clock
 * now and wait for it (bounded); 0 with *stats filled, or -1 with err.
 */
int     lmdb_writer_sweep_ask(struct lmdb_store *st, int64_t now,
                              struct store_lmdb_sweep_stats *stats, char *err, size_t errlen);

#endif

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * store_lmdb_txn.h - the bottom layer of the LMDB backend: its types and
 * what one transaction does. Private to the backend's three files, which
 * are layered, each using only the ones below it:
 *   store_lmdb.c         open, close, and the store_ops entry points
 *   store_lmdb_writer.c  the writer thread: every transaction of the process
 *                        (store_lmdb_writer.h)
 *   store_lmdb_txn.c     what one transaction does: records, blobs, sweeping
 *                        (this header)
 *
 * The rule that holds it together: only the writer thread begins LMDB
 * transactions (after open), so that a process never waits on LMDB's
 * writer lock in a caller's thread, and so that mdb_env_set_mapsize() may
 * run when another process grew the map (it needs no transaction active).
 *
 * struct lmdb_store is defined here because every layer reads it; the
 * fields under "mu" (the queue, the batch, the sweep schedule) are the
 * writer's, and store_lmdb_txn.c never touches them.
 *
 * Thread-safety: the fields of struct lmdb_store under "mu" are guarded by
 * mu; the rest is set at open and read-only afterwards. The functions
 * below run on the writer thread, but for lmdb_txn_error (any thread)
 * and lmdb_txn_begin at open, before the writer starts.
 */
#ifndef REDGREY_STORE_LMDB_TXN_H
#define REDGREY_STORE_LMDB_TXN_H

#include <limits.h>
#include <lmdb.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "policy.h"
#include "store.h"
#include "store_lmdb.h"

#define LMDB_BATCH_MAX  64               /* requests in one group commit */
#define LMDB_TIMEOUT_DEFAULT_MS 250      /* when store_config.timeout_ms is 0 */
#define LMDB_KEY_SLOT   512              /* > LMDB's largest key (511 bytes) */
#define LMDB_SWEEP_BATCH 256             /* deletions per sweep transaction */

/* What a request asks the writer to do. */
enum lmdb_op {
    LMDB_OP_DECIDE,                      /* store_decide */
    LMDB_OP_BLOB_GET,                    /* store_blob_get */
    LMDB_OP_BLOB_PUT,                    /* store_blob_put */
    LMDB_OP_COUNT,                       /* store_lmdb_count */
    LMDB_OP_ADMIN,                       /* store_lmdb_admin.c: req->admin does it */
};

/* Records of the entries database (store_lmdb_txn.c describes the layout). */
#define REC_SIZE        32
#define REC_VERSION     1
#define REC_GREY        'g'
#define REC_AWL         'a'
#define REC_RATE        'n'              /* new-triplet counter: count, window end */
#define REC_TRAP        't'              /* greytrap of a client key: its expiry */
#define REC_OUTBOUND    'o'              /* outbound pair: its expiry */

struct lmdb_store;
struct lmdb_req;

/*
 * An admin operation (store_lmdb_admin.c), run in the writer's
 * transaction like lmdb_txn_run: 0 with req->rc set, or the LMDB error
 * that broke txn. It may be run again after an undo, so it must only
 * fill its results, never accumulate into them.
 */
typedef int (*lmdb_admin_fn)(struct lmdb_store *st, MDB_txn *txn, struct lmdb_req *req);

/* Where a request is; changes only under mu. */
enum lmdb_req_state {
    LMDB_REQ_QUEUED,                     /* on the queue; the caller may unlink it */
    LMDB_REQ_TAKEN,                      /* in the writer's batch, not yet in a txn */
    LMDB_REQ_RUNNING,                    /* in a txn: the writer uses it; caller waits */
    LMDB_REQ_DONE,                       /* results filled; the writer forgot it */
};

/*
 * One request, on the caller's stack; the writer runs a heap copy of it
 * (store_lmdb_writer.c), which it reads and writes only under mu or while
 * it is RUNNING; a QUEUED or TAKEN request the caller gives up on is
 * unlinked under mu first, so the writer never sees it again.
 */
struct lmdb_req {
    struct lmdb_req *prev, *next;        /* the queue (under mu) */
    enum lmdb_req_state state;           /* under mu */
    int     slot;                        /* TAKEN: index in the writer's batch */
    pthread_cond_t wake;                 /* signalled under mu when DONE */
    enum lmdb_op op;                     /* what to do */
    const char *key;                     /* DECIDE: grey key; BLOB_*: blob key */
    size_t  key_len;
    const char *akey;                    /* DECIDE: AWL key */
    size_t  akey_len;
    const struct store_decide_opts *opts; /* DECIDE: this call's inputs (never NULL) */
    const struct triplet *triplet;       /* DECIDE: the triplet (the abuse keys) */
    const char *name;                    /* BLOB_*: the blob's name, for messages */
    const void *data;                    /* BLOB_PUT: the new data */
    size_t  len;                         /* BLOB_PUT: its length */
    struct policy_verdict *verdict;      /* DECIDE: out */
    char  **data_out;                    /* BLOB_GET: out, NULL for the meta only */
    size_t *len_out;                     /* BLOB_GET: out */
    struct store_blob_meta *meta;        /* BLOB_*: out (BLOB_PUT: may be NULL) */
    size_t *entries;                     /* COUNT: out */
    lmdb_admin_fn admin;                 /* ADMIN: what to do */
    void   *admin_arg;                   /* ADMIN: its arguments and results */
    int     rc;                          /* out: 0, or -1 with err */
    enum store_blob_result blob;         /* BLOB_GET: out */
    char   *err;                         /* out: the reason of rc -1 */
    size_t  errlen;
};

/* Where a sweep pass resumes, and the keys one batch deletes. */
struct lmdb_sweep_work {
    unsigned char pos[LMDB_KEY_SLOT];    /* first key not yet visited */
    size_t  pos_len;                     /* 0: the start of the database */
    int     done;                        /* 1: the pass reached the end */
    size_t  limit;                       /* deletions per batch, <= LMDB_SWEEP_BATCH */
    unsigned char next[LMDB_KEY_SLOT];   /* the batch's successor of pos */
    unsigned char keys[LMDB_SWEEP_BATCH][LMDB_KEY_SLOT]; /* expired keys of this batch */
    size_t  lens[LMDB_SWEEP_BATCH];      /* their lengths */
};

struct lmdb_store {
    struct store base;                   /* first: the store interface */
    MDB_env *env;                        /* the process's environment */
    MDB_dbi dbi;                         /* "entries" */
    MDB_dbi blobs;                       /* "blobs" */
    MDB_dbi sessions;                    /* "sessions": store_lmdb_session.c */
    unsigned char session_pos[LMDB_KEY_SLOT]; /* its cleanup resumes here (writer only) */
    size_t  session_pos_len;             /* 0: at the start */
    int     sweep_grown;                 /* 1 once the sweep grew a full map (writer only) */
    char    path[PATH_MAX];              /* the directory, for messages */
    dev_t   dev;                         /* identity of the directory ... */
    ino_t   ino;                         /* ... for the one-env rule */
    int     timeout_ms;                  /* bound on one call's wait */
    struct lmdb_store *next_open;        /* the process's open environments */
    int     env_opened;                  /* 1 once mdb_env_open succeeded */
    int     registered;                  /* 1 while in the open list */
    pthread_t writer;                    /* the writer thread */
    pthread_t syncer;                    /* the mdb_env_sync() thread */
    int     writer_started;              /* 1 once pthread_create succeeded */
    int     syncer_started;              /* 1 once pthread_create succeeded */
    struct lmdb_sweep_work *sweep;       /* the writer's sweep pass */

    pthread_mutex_t mu;                  /* guards the fields below */
    pthread_cond_t work;                 /* wakes the writer */
    pthread_cond_t tick;                 /* wakes the syncer (to stop) */
    pthread_cond_t done;                 /* wakes store_lmdb_sweep_once() */
    pthread_condattr_t cattr;            /* CLOCK_MONOTONIC, for each request's wake */
    int     stop;                        /* 1: the threads must exit */
    struct lmdb_req *head, *tail;        /* the queue, oldest first */
    struct lmdb_req *batch[LMDB_BATCH_MAX]; /* TAKEN requests; NULL: given up */
    int     sweep_interval;              /* seconds between full passes */
    int64_t next_sweep;                  /* monotonic us of the next pass */
    int     sweep_asked;                 /* store_lmdb_sweep_once() waits for a pass */
    int64_t sweep_asked_now;             /* ... with this clock */
    unsigned sweep_gen;                  /* passes finished for sweep_once */
    int     sweep_rc;                    /* the last asked pass: 0 or -1 */
    char    sweep_err[STORE_ERRLEN];     /* ... its reason */
    struct store_lmdb_sweep_stats sweep_stats; /* ... and what it did */
};

/*
 * lmdb_txn_error - the message for LMDB error rc during `what` into err;
 * returns -1
 */
int     lmdb_txn_error(struct lmdb_store *st, const char *what, int rc, char *err, size_t errlen);

/*
 * lmdb_txn_begin - mdb_txn_begin for the writer thread; on MDB_MAP_RESIZED
 * (another process grew the map) adopt the new size and try once more.
 */
int     lmdb_txn_begin(struct lmdb_store *st, unsigned int flags, MDB_txn **txn);

/*
 * lmdb_txn_run - do req in txn (writer thread). Returns 0 when txn is
 * still good (req->rc says how req went, err filled on -1), or the LMDB
 * error that broke txn, with req->rc -1 and err filled: txn must then be
 * aborted.
 */
int     lmdb_txn_run(struct lmdb_store *st, MDB_txn *txn, struct lmdb_req *req);

/* lmdb_txn_undo - forget what lmdb_txn_run put in req, before running it again */
void    lmdb_txn_undo(struct lmdb_req *req);

/* Record helpers, for the admin operations (store_lmdb_admin.c). */

/* lmdb_txn_get_le64 - the little-endian int64 at p */
int64_t lmdb_txn_get_le64(const unsigned char *p);

/* lmdb_txn_rec_encode - the REC_SIZE-byte record of kind with fields a, b and expires */
void    lmdb_txn_rec_encode(unsigned char *buf, int kind, int64_t expires, int64_t a, int64_t b);

/*
 * lmdb_txn_rec_valid - 1 if val is a well-formed record of kind (kind 0:
 * a grey or AWL record, what the admin walk lists)
 */
int     lmdb_txn_rec_valid(const MDB_val *val, int kind);

/* lmdb_txn_outbound_put - LMDB_OP_ADMIN's fn for store_outbound_put: req->key, admin_arg the ttl */
int     lmdb_txn_outbound_put(struct lmdb_store *st, MDB_txn *txn, struct lmdb_req *req);

/* lmdb_txn_rec_expires - the expiry of a valid record */
int64_t lmdb_txn_rec_expires(const MDB_val *val);

/*
 * lmdb_txn_rec_get - the record of kind under key: 1 found and valid
 * (*val set), 0 absent, 2 malformed, -1 LMDB error in *rc
 */
int     lmdb_txn_rec_get(struct lmdb_store *st, MDB_txn *txn, const char *key, size_t len,
                         int kind, MDB_val *val, int *rc);

/* lmdb_txn_rec_put - write a record under key; 0 or an LMDB error code */
int     lmdb_txn_rec_put(struct lmdb_store *st, MDB_txn *txn, const char *key, size_t len,
                         const unsigned char *rec);

/* lmdb_txn_fail - record LMDB error rc during `what` in req (lmdb_txn_error); returns rc */
int     lmdb_txn_fail(struct lmdb_store *st, struct lmdb_req *req, const char *what, int rc);

/* lmdb_txn_rec_del - delete key; 0 (also if absent) or an LMDB error code */
int     lmdb_txn_rec_del(struct lmdb_store *st, MDB_txn *txn, const void *key, size_t len);

/* lmdb_txn_sweep_start - a fresh pass from the start of the database */
void    lmdb_txn_sweep_start(struct lmdb_sweep_work *w);

/*
 * lmdb_txn_sweep_batch - one write transaction of a sweep pass (writer
 * thread): from w->pos, visit at most a few thousand entries and delete
 * at most w->limit of them (expired at now, or malformed). On commit,
 * w->pos moves to the first entry not visited (w->done at the end) and
 * stats (may be NULL) counts the visits, deletions and the batch; on
 * failure nothing moves. Returns 0, or an LMDB error code with err filled.
 */
int     lmdb_txn_sweep_batch(struct lmdb_store *st, int64_t now, struct lmdb_sweep_work *w,
                             struct store_lmdb_sweep_stats *stats, char *err, size_t errlen);

#endif

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * store_lmdb.c - the embedded store: greylisting state in an LMDB
 * environment on the local disk, the default for a single host.
 *
 * One MDB_env per process. Every decision is one write transaction: read
 * the grey and AWL records, run policy_decide() with the local clock,
 * write back what the verdict says, commit. LMDB serialises writers across
 * threads and processes (its mutex lives in lock.mdb), so a second redgrey
 * or the admin tool on the same directory sees the same atomic decisions.
 * Keys are the Redis backend's (triplet.h); values are fixed 32-byte
 * little-endian records that carry their own expiry, because LMDB has no
 * TTL: a background thread deletes expired entries in small batches and
 * flushes the environment to disk once a second.
 *
 * It never grows the map on its own: a full map is a store error, which
 * the caller turns into on_store_error.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <lmdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "policy.h"
#include "store.h"
#include "store_lmdb.h"
#include "triplet.h"
#include "xalloc.h"

/*
 * Durability. The environment is opened with MDB_NOSYNC and without
 * MDB_WRITEMAP, and the sweeper thread calls mdb_env_sync(env, 1) once a
 * second (STORE_LMDB_SYNC_INTERVAL) and at store_free().
 *
 * - A crash of redgrey (kill -9, abort) cannot corrupt the database with
 *   any sync flag: a commit hands its data pages to the kernel with
 *   pwrite(2) and then writes the meta page, so a dead process leaves the
 *   last committed transaction intact in the page cache, and a robust
 *   mutex in lock.mdb frees the writer lock it held. Without MDB_WRITEMAP
 *   the map is read-only in our address space, so a stray pointer write
 *   in redgrey cannot reach the file either. The crash test in
 *   check_store_lmdb.c kills a writer mid-stream and reopens.
 * - A per-commit flush is too slow for a milter: the default (fsync per
 *   commit) and MDB_NOMETASYNC (fdatasync per commit, which lmdb.h says
 *   "maintains database integrity" on a system crash) cost one disk flush
 *   per decision, and writers are serialised, so the whole MTA is capped
 *   at one decision per flush. Measured on the development host (a VM on
 *   ext4, fresh triplets, one thread): 4,400 decisions/s by default,
 *   7,000/s with MDB_NOMETASYNC, 143,000/s with MDB_NOSYNC; a disk
 *   without a write cache does far fewer flushes per second.
 * - The price of MDB_NOSYNC, in lmdb.h's words: "a system crash can
 *   corrupt the database or lose the last transactions if buffers are not
 *   yet flushed to disk", but "if the filesystem preserves write order and
 *   the MDB_WRITEMAP flag is not used, ... database integrity is
 *   maintained, but a system crash may undo the final transactions". The
 *   one-second sync bounds that loss to about the last second. Most
 *   filesystems do not promise write order for a file's pages (ext4 and
 *   xfs write dirty pages back in any order), so a power loss or kernel
 *   crash within that second can also leave data.mdb damaged (LMDB then
 *   reports MDB_CORRUPTED, or worse). Greylisting state is soft: the
 *   remedy is to delete the directory's files, and the cost is that known
 *   senders are greylisted once more. redgrey.conf(5) says so.
 *
 * MDB_NOTLS ties reader slots to transactions, not to threads: libmilter
 * threads come and go, and a slot must not outlive the read in it.
 */
#define LMDB_ENV_FLAGS  (MDB_NOSYNC | MDB_NOTLS)
#define LMDB_ENV_MODE   0660             /* the redgrey user and group */

/*
 * Databases. "entries" holds the grey and AWL records under the keys
 * triplet.h makes (prefix included), so a key means the same here as in
 * Redis. Named blobs (store_blob_get/put: the expanded big-sender set)
 * live in their own database, "blobs", keyed by prefix and name, so the
 * sweeper never sees them. A blob's value is a 24-byte little-endian
 * header and the data:
 *   0  format (1)   1..7  zero   8  version   16  stamp (unix time)   24  data
 */
#define LMDB_DB_ENTRIES "entries"
#define LMDB_DB_BLOBS   "blobs"
#define LMDB_MAXDBS     4
#define BLOB_HEADER     24
#define BLOB_FORMAT     1

/*
 * Records: 32 bytes, little-endian, the expiry at a fixed offset so that
 * the sweeper reads it without knowing the kind.
 *   0  version (1)      1  kind ('g' grey, 'a' AWL)   2..7  zero
 *   8  expires          16 first_seen | count         24 passed | last_count
 * A value of another size, version or kind is malformed: a decision
 * treats it as absent and the sweeper deletes it.
 */
#define REC_SIZE        32
#define REC_VERSION     1
#define REC_GREY        'g'
#define REC_AWL         'a'

/*
 * Sweeping. A batch is one write transaction that visits at most
 * SWEEP_VISIT_MAX entries and deletes at most SWEEP_BATCH of them; then
 * the sweeper sleeps SWEEP_PAUSE_US so that decisions waiting for the
 * writer lock get it (LMDB's mutex is not fair). A decision therefore
 * waits for at most one batch. Measured on the development host with
 * 200k expired entries among 29k live ones: a batch holds the lock at most
 * 0.4 ms (-O2), 2 ms under ASan+UBSan, 9 ms under ASan with both cores
 * oversubscribed; check_store_lmdb.c asserts that no decision made during
 * such a sweep takes 50 ms or more.
 */
#define SWEEP_BATCH     256              /* deletions per write transaction */
#define SWEEP_VISIT_MAX 4096             /* entries visited per write transaction */
#define SWEEP_PAUSE_US  2000             /* between two batches */
#define KEY_SLOT        512              /* > LMDB's largest key (511 bytes) */

struct lmdb_store {
    struct store base;                   /* first: the store interface */
    MDB_env *env;                        /* the process's environment */
    MDB_dbi dbi;                         /* LMDB_DB_ENTRIES */
    MDB_dbi blobs;                       /* LMDB_DB_BLOBS */
    char    path[PATH_MAX];              /* the directory, for messages */
    dev_t   dev;                         /* identity of the directory ... */
    ino_t   ino;                         /* ... for the one-env rule */
    struct lmdb_store *next_open;        /* the process's open environments */
    pthread_t sweeper;                   /* expiry and sync thread */
    int     sweeper_started;             /* 1 once pthread_create succeeded */
    int     env_opened;                  /* 1 once mdb_env_open succeeded */
    int     registered;                  /* 1 while in lmdb_open_list */
    pthread_mutex_t mu;                  /* guards the fields below */
    pthread_cond_t cond;                 /* wakes the sweeper */
    int     stop;                        /* 1: the sweeper must exit */
    int     sweep_interval;              /* seconds between full passes */
    int64_t next_sweep;                  /* monotonic us of the next pass */
};

/* Where a sweep pass resumes, and the keys one batch deletes. */
struct sweep_work {
    unsigned char pos[KEY_SLOT];         /* first key not yet visited */
    size_t  pos_len;                     /* 0: the start of the database */
    int     done;                        /* 1: the pass reached the end */
    size_t  limit;                       /* deletions per batch, <= SWEEP_BATCH */
    unsigned char next[KEY_SLOT];        /* the batch's successor of pos */
    unsigned char keys[SWEEP_BATCH][KEY_SLOT]; /* expired keys of this batch */
    size_t  lens[SWEEP_BATCH];           /* their lengths */
};

/* The environments this process has open: LMDB forbids opening one twice. */
static pthread_mutex_t lmdb_open_lock = PTHREAD_MUTEX_INITIALIZER;
static struct lmdb_store *lmdb_open_list;

static const struct store_ops lmdb_ops;

/* mono_us - monotonic clock in microseconds */
static int64_t
mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* put_le64 - store v at p, little-endian */
static void
put_le64(unsigned char *p, int64_t v)
{
    uint64_t u = (uint64_t) v;

    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char) (u >> (8 * i));
}

/* get_le64 - load a little-endian int64 from p */
static int64_t
get_le64(const unsigned char *p)
{
    uint64_t u = 0;

    for (int i = 0; i < 8; i++)
        u |= (uint64_t) p[i] << (8 * i);
    return (int64_t) u;
}

/* rec_encode - the 32-byte record of kind with fields a, b and expires */
static void
rec_encode(unsigned char *buf, int kind, int64_t expires, int64_t a, int64_t b)
{
    memset(buf, 0, REC_SIZE);
    buf[0] = REC_VERSION;
    buf[1] = (unsigned char) kind;
    put_le64(buf + 8, expires);
    put_le64(buf + 16, a);
    put_le64(buf + 24, b);
}

/* rec_valid - 1 if val is a well-formed record (of kind, unless kind is 0) */
static int
rec_valid(const MDB_val *val, int kind)
{
    const unsigned char *p = val->mv_data;

    return val->mv_size == REC_SIZE && p[0] == REC_VERSION
        && (p[1] == REC_GREY || p[1] == REC_AWL) && (kind == 0 || p[1] == kind);
}

/* rec_expires - the expiry of a valid record */
static int64_t
rec_expires(const MDB_val *val)
{
    return get_le64((const unsigned char *) val->mv_data + 8);
}

/*
 * lmdb_error - the message for LMDB error rc during `what`. A full map
 * gets the wording the caller's log line relies on.
 */
static int
lmdb_error(struct lmdb_store *st, const char *what, int rc, char *err, size_t errlen)
{
    MDB_envinfo info;

    if (rc == MDB_MAP_FULL) {
        if (mdb_env_info(st->env, &info) != 0)
            info.me_mapsize = 0;
        snprintf(err, errlen, "lmdb %s: map full (lmdb_mapsize %zu bytes)",
                 st->path, info.me_mapsize);
    } else if (rc == MDB_MAP_RESIZED) {
        snprintf(err, errlen, "lmdb %s: %s: the map was grown by another process;"
                 " restart redgrey with a matching lmdb_mapsize", st->path, what);
    } else {
        snprintf(err, errlen, "lmdb %s: %s: %s", st->path, what, mdb_strerror(rc));
    }
    return -1;
}

/*
 * lmdb_get - look key up in txn. Returns 1 with *val set if a well-formed
 * record of kind is there, 0 if nothing is, 2 if a malformed value is
 * (to be overwritten or deleted), or -1 with the LMDB error code in *rc.
 */
static int
lmdb_get(struct lmdb_store *st, MDB_txn *txn, const char *key, size_t len,
         int kind, MDB_val *val, int *rc)
{
    MDB_val k = {len, (void *) key};

    *rc = mdb_get(txn, st->dbi, &k, val);
    if (*rc == MDB_NOTFOUND) {
        *rc = 0;
        return 0;
    }
    if (*rc != 0)
        return -1;
    return rec_valid(val, kind) ? 1 : 2;
}

/* lmdb_put - write a record under key in txn; 0 or an LMDB error code */
static int
lmdb_put(struct lmdb_store *st, MDB_txn *txn, const char *key, size_t len,
         const unsigned char *rec)
{
    MDB_val k = {len, (void *) key};
    MDB_val v = {REC_SIZE, (void *) rec};

    return mdb_put(txn, st->dbi, &k, &v, 0);
}

/* lmdb_del - delete key in txn; 0 (also if absent) or an LMDB error code */
static int
lmdb_del(struct lmdb_store *st, MDB_txn *txn, const void *key, size_t len)
{
    MDB_val k = {len, (void *) key};
    int     rc = mdb_del(txn, st->dbi, &k, NULL);

    return rc == MDB_NOTFOUND ? 0 : rc;
}

/*
 * lmdb_decide - the store_decide of this backend: one write transaction.
 * The writer lock is held only for two lookups, policy_decide() and at
 * most two writes; nothing in it allocates or sleeps.
 */
static int
lmdb_decide(struct store *base, const struct triplet *t, struct policy_verdict *out,
            char *err, size_t errlen)
{
    struct lmdb_store *st = (struct lmdb_store *) base;
    char    gkey[TRIPLET_KEY_MAX], akey[TRIPLET_KEY_MAX];
    size_t  glen, alen;
    struct grey_record grey = {0, 0, 0};
    struct awl_record awl = {0, 0, 0};
    unsigned char rec[REC_SIZE];
    MDB_txn *txn;
    MDB_val v;
    int     gstate, astate, rc;
    int64_t now;
    const char *what;

    glen = triplet_grey_key(base->key_prefix, t, gkey, sizeof(gkey));
    alen = triplet_awl_key(base->key_prefix, t, akey, sizeof(akey));
    if (glen == 0 || alen == 0) {
        snprintf(err, errlen, "lmdb %s: store key too long for client key \"%.64s\"",
                 st->path, t->client_key);
        return -1;
    }
    if ((rc = mdb_txn_begin(st->env, NULL, 0, &txn)) != 0)
        return lmdb_error(st, "begin", rc, err, errlen);

    /* Read both records; the pointers into the map die with txn. */
    what = "get";
    if ((gstate = lmdb_get(st, txn, gkey, glen, REC_GREY, &v, &rc)) < 0)
        goto fail;
    if (gstate == 1) {
        grey.expires = rec_expires(&v);
        grey.first_seen = get_le64((const unsigned char *) v.mv_data + 16);
        grey.passed = get_le64((const unsigned char *) v.mv_data + 24);
    }
    if ((astate = lmdb_get(st, txn, akey, alen, REC_AWL, &v, &rc)) < 0)
        goto fail;
    if (astate == 1) {
        awl.expires = rec_expires(&v);
        awl.count = get_le64((const unsigned char *) v.mv_data + 16);
        awl.last_count = get_le64((const unsigned char *) v.mv_data + 24);
    }

    now = (int64_t) time(NULL);
    policy_decide(&base->params, now, gstate == 1 ? &grey : NULL,
                  astate == 1 ? &awl : NULL, out);

    /*
     * Write what the verdict says. A record the verdict leaves alone but
     * that is expired or malformed is deleted now rather than by the
     * sweeper: we hold the lock and the page anyway.
     */
    what = "put";
    if (out->grey_write) {
        rec_encode(rec, REC_GREY, out->grey.expires, out->grey.first_seen, out->grey.passed);
        if ((rc = lmdb_put(st, txn, gkey, glen, rec)) != 0)
            goto fail;
    } else if (gstate == 2 || (gstate == 1 && grey.expires <= now)) {
        if ((rc = lmdb_del(st, txn, gkey, glen)) != 0)
            goto fail;
    }
    if (out->awl_write) {
        rec_encode(rec, REC_AWL, out->awl.expires, out->awl.count, out->awl.last_count);
        if ((rc = lmdb_put(st, txn, akey, alen, rec)) != 0)
            goto fail;
    } else if (astate == 2 || (astate == 1 && awl.expires <= now)) {
        if ((rc = lmdb_del(st, txn, akey, alen)) != 0)
            goto fail;
    }
    if ((rc = mdb_txn_commit(txn)) != 0)
        return lmdb_error(st, "commit", rc, err, errlen);
    return 0;

fail:
    mdb_txn_abort(txn);
    return lmdb_error(st, what, rc, err, errlen);
}

/*
 * sweep_batch - one write transaction of a sweep pass: from w->pos, visit
 * at most SWEEP_VISIT_MAX entries and delete at most w->limit of them
 * (expired at now, or malformed). On commit, w->pos moves to the first
 * entry not visited (w->done at the end); on failure it stays. Returns 0,
 * or an LMDB error code with err filled.
 */
static int
sweep_batch(struct lmdb_store *st, int64_t now, struct sweep_work *w,
            struct store_lmdb_sweep_stats *stats, char *err, size_t errlen)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_val k, v;
    size_t  visited = 0, ndel = 0, next_len = 0;
    int64_t t0 = mono_us(), held;
    int     rc, done = 0;
    const char *what = "sweep cursor";

    if ((rc = mdb_txn_begin(st->env, NULL, 0, &txn)) != 0) {
        lmdb_error(st, "sweep begin", rc, err, errlen);
        return rc;
    }
    if ((rc = mdb_cursor_open(txn, st->dbi, &cur)) != 0)
        goto fail;

    /* Collect the keys first: deleting under a cursor would move it. */
    k.mv_size = w->pos_len;
    k.mv_data = w->pos;
    rc = mdb_cursor_get(cur, &k, &v, w->pos_len ? MDB_SET_RANGE : MDB_FIRST);
    while (rc == 0 && visited < SWEEP_VISIT_MAX && ndel < w->limit) {
        visited++;
        if ((!rec_valid(&v, 0) || rec_expires(&v) <= now) && k.mv_size <= KEY_SLOT) {
            memcpy(w->keys[ndel], k.mv_data, k.mv_size);
            w->lens[ndel++] = k.mv_size;
        }
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    if (rc == MDB_NOTFOUND) {
        done = 1;
    } else if (rc != 0) {
        mdb_cursor_close(cur);
        goto fail;
    } else {
        memcpy(w->next, k.mv_data, k.mv_size);
        next_len = k.mv_size;
    }
    mdb_cursor_close(cur);

    what = "sweep delete";
    for (size_t i = 0; i < ndel; i++)
        if ((rc = lmdb_del(st, txn, w->keys[i], w->lens[i])) != 0)
            goto fail;
    what = "sweep commit";
    if ((rc = mdb_txn_commit(txn)) != 0) {
        lmdb_error(st, what, rc, err, errlen);
        return rc;
    }

    w->done = done;
    memcpy(w->pos, w->next, next_len);
    w->pos_len = next_len;
    held = mono_us() - t0;
    if (stats != NULL) {
        stats->visited += visited;
        stats->deleted += ndel;
        stats->batches++;
        if (held > stats->max_hold_us)
            stats->max_hold_us = held;
    }
    return 0;

fail:
    mdb_txn_abort(txn);
    lmdb_error(st, what, rc, err, errlen);
    return rc;
}

/*
 * sweep_step - one batch, shrinking it when the map is full. Deleting
 * copies pages too, so a batch of 256 deletions may not fit in a map that
 * decisions have filled, while a few single deletions do and free whole
 * pages as leaves merge; the batch grows back after each success. At most
 * log2(SWEEP_BATCH) + 1 attempts. Returns 0, or -1 with err.
 */
static int
sweep_step(struct lmdb_store *st, int64_t now, struct sweep_work *w,
           struct store_lmdb_sweep_stats *stats, char *err, size_t errlen)
{
    int     rc;

    while ((rc = sweep_batch(st, now, w, stats, err, errlen)) == MDB_MAP_FULL && w->limit > 1)
        w->limit /= 2;
    if (rc != 0)
        return -1;
    if (w->limit < SWEEP_BATCH)
        w->limit *= 2;
    return 0;
}

/* sweep_work_start - a fresh pass from the start of the database */
static void
sweep_work_start(struct sweep_work *w)
{
    w->pos_len = 0;
    w->done = 0;
    w->limit = SWEEP_BATCH;
}

/* store_lmdb_sweep_once - one full pass now, batch by batch */
int
store_lmdb_sweep_once(struct store *base, int64_t now, struct store_lmdb_sweep_stats *out,
                      char *err, size_t errlen)
{
    struct lmdb_store *st = (struct lmdb_store *) base;
    struct store_lmdb_sweep_stats stats = {0, 0, 0, 0};
    struct sweep_work *w;
    struct timespec pause = {0, SWEEP_PAUSE_US * 1000L};
    int     rc = 0;

    if (base == NULL || base->ops != &lmdb_ops) {
        snprintf(err, errlen, "store_lmdb_sweep_once: not an lmdb store");
        return -1;
    }
    w = xmalloc(sizeof(*w));
    sweep_work_start(w);
    while (!w->done && rc == 0) {
        rc = sweep_step(st, now, w, &stats, err, errlen);
        if (rc == 0 && !w->done)
            nanosleep(&pause, NULL);
    }
    free(w);
    if (out != NULL)
        *out = stats;
    return rc;
}

/* store_lmdb_count - entries in the entries database */
int
store_lmdb_count(struct store *base, size_t *entries, char *err, size_t errlen)
{
    struct lmdb_store *st = (struct lmdb_store *) base;
    MDB_txn *txn;
    MDB_stat ms;
    int     rc;

    if (base == NULL || base->ops != &lmdb_ops) {
        snprintf(err, errlen, "store_lmdb_count: not an lmdb store");
        return -1;
    }
    if ((rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn)) != 0)
        return lmdb_error(st, "begin", rc, err, errlen);
    rc = mdb_stat(txn, st->dbi, &ms);
    mdb_txn_abort(txn);
    if (rc != 0)
        return lmdb_error(st, "stat", rc, err, errlen);
    *entries = ms.ms_entries;
    return 0;
}

/* store_lmdb_set_sweep_interval - change the full-pass period, from now */
void
store_lmdb_set_sweep_interval(struct store *base, int seconds)
{
    struct lmdb_store *st = (struct lmdb_store *) base;

    if (base == NULL || base->ops != &lmdb_ops || seconds < 1)
        return;
    pthread_mutex_lock(&st->mu);
    st->sweep_interval = seconds;
    st->next_sweep = mono_us() + (int64_t) seconds * 1000000;
    pthread_cond_signal(&st->cond);
    pthread_mutex_unlock(&st->mu);
}

/*
 * sweeper_wait - sleep until the monotonic deadline or a signal of cond.
 * Must be called with st->mu held.
 */
static void
sweeper_wait(struct lmdb_store *st, int64_t deadline)
{
    struct timespec ts;

    ts.tv_sec = (time_t) (deadline / 1000000);
    ts.tv_nsec = (long) (deadline % 1000000) * 1000;
    pthread_cond_timedwait(&st->cond, &st->mu, &ts);
}

/*
 * sweeper_main - the background thread: mdb_env_sync() every
 * STORE_LMDB_SYNC_INTERVAL, and a full sweep pass every sweep_interval,
 * one batch at a time with a pause between batches. Errors are logged
 * (this is not the hot path) and retried at the next tick or pass.
 */
static void *
sweeper_main(void *arg)
{
    struct lmdb_store *st = arg;
    struct sweep_work *w = xmalloc(sizeof(*w));
    int64_t next_sync = mono_us() + STORE_LMDB_SYNC_INTERVAL * 1000000;
    int64_t now, deadline;
    int     passing = 0, rc;
    char    err[STORE_ERRLEN];

    pthread_mutex_lock(&st->mu);
    while (!st->stop) {
        now = mono_us();
        if (now >= next_sync) {
            pthread_mutex_unlock(&st->mu);
            if ((rc = mdb_env_sync(st->env, 1)) != 0)
                log_warn("lmdb %s: sync: %s", st->path, mdb_strerror(rc));
            pthread_mutex_lock(&st->mu);
            next_sync = now + STORE_LMDB_SYNC_INTERVAL * 1000000;
            continue;
        }
        if (passing || now >= st->next_sweep) {
            if (!passing)
                sweep_work_start(w);
            passing = 1;
            pthread_mutex_unlock(&st->mu);
            rc = sweep_step(st, (int64_t) time(NULL), w, NULL, err, sizeof(err));
            pthread_mutex_lock(&st->mu);
            if (rc != 0)
                log_warn("%s (the sweep resumes in %d s)", err, st->sweep_interval);
            if (rc != 0 || w->done) {
                passing = 0;
                st->next_sweep = mono_us() + (int64_t) st->sweep_interval * 1000000;
            }
        }
        deadline = passing ? mono_us() + SWEEP_PAUSE_US : st->next_sweep;
        if (deadline > next_sync)
            deadline = next_sync;
        sweeper_wait(st, deadline);
    }
    pthread_mutex_unlock(&st->mu);
    free(w);
    return NULL;
}

/*
 * lmdb_check_dir - the directory exists, is a directory we may write, and
 * any data.mdb in it is a regular file. Fills *sb. 0, or -1 with err.
 */
static int
lmdb_check_dir(const char *path, struct stat *sb, char *err, size_t errlen)
{
    char    data[PATH_MAX];
    struct stat ds;

    if (stat(path, sb) != 0) {
        snprintf(err, errlen, "lmdb %s: %s", path, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(sb->st_mode)) {
        snprintf(err, errlen, "lmdb %s: not a directory", path);
        return -1;
    }
    /* Effective ids: the daemon opens the store after dropping privileges. */
    if (faccessat(AT_FDCWD, path, W_OK | X_OK, AT_EACCESS) != 0) {
        snprintf(err, errlen, "lmdb %s: directory not writable: %s", path, strerror(errno));
        return -1;
    }
    if ((size_t) snprintf(data, sizeof(data), "%s/data.mdb", path) >= sizeof(data)) {
        snprintf(err, errlen, "lmdb %.64s...: path too long", path);
        return -1;
    }
    if (lstat(data, &ds) == 0 && !S_ISREG(ds.st_mode)) {
        snprintf(err, errlen, "lmdb %s: data.mdb is not a regular file", path);
        return -1;
    }
    return 0;
}

/* lmdb_open_error - the startup message for mdb_env_open's rc */
static void
lmdb_open_error(const char *path, int rc, char *err, size_t errlen)
{
    switch (rc) {
    case MDB_INVALID:
        snprintf(err, errlen, "lmdb %s: data.mdb is not an LMDB environment (%s)",
                 path, mdb_strerror(rc));
        break;
    case MDB_VERSION_MISMATCH:
        snprintf(err, errlen, "lmdb %s: made by an incompatible LMDB version (%s)",
                 path, mdb_strerror(rc));
        break;
    case EACCES:
    case EPERM:
    case EROFS:
        snprintf(err, errlen, "lmdb %s: not writable: %s", path, mdb_strerror(rc));
        break;
    default:
        snprintf(err, errlen, "lmdb %s: cannot open the environment: %s",
                 path, mdb_strerror(rc));
        break;
    }
}

/*
 * lmdb_register - claim (dev, ino) for this process; -1 if an environment
 * on that directory is already open here (LMDB's locks would break).
 */
static int
lmdb_register(struct lmdb_store *st)
{
    struct lmdb_store *o;

    pthread_mutex_lock(&lmdb_open_lock);
    for (o = lmdb_open_list; o != NULL; o = o->next_open) {
        if (o->dev == st->dev && o->ino == st->ino) {
            pthread_mutex_unlock(&lmdb_open_lock);
            return -1;
        }
    }
    st->next_open = lmdb_open_list;
    lmdb_open_list = st;
    st->registered = 1;
    pthread_mutex_unlock(&lmdb_open_lock);
    return 0;
}

/* lmdb_unregister - release the claim of lmdb_register() */
static void
lmdb_unregister(struct lmdb_store *st)
{
    struct lmdb_store **pp;

    pthread_mutex_lock(&lmdb_open_lock);
    for (pp = &lmdb_open_list; *pp != NULL; pp = &(*pp)->next_open) {
        if (*pp == st) {
            *pp = st->next_open;
            break;
        }
    }
    pthread_mutex_unlock(&lmdb_open_lock);
}

/*
 * lmdb_env_open - create and open the environment and the entries
 * database, clearing reader slots that dead processes left. 0, or -1.
 */
static int
lmdb_env_open(struct lmdb_store *st, size_t mapsize, char *err, size_t errlen)
{
    MDB_txn *txn;
    int     rc, dead;

    if ((rc = mdb_env_create(&st->env)) != 0) {
        snprintf(err, errlen, "lmdb %s: %s", st->path, mdb_strerror(rc));
        return -1;
    }
    if ((rc = mdb_env_set_maxdbs(st->env, LMDB_MAXDBS)) != 0
        || (rc = mdb_env_set_mapsize(st->env, mapsize)) != 0) {
        snprintf(err, errlen, "lmdb %s: lmdb_mapsize %zu: %s", st->path, mapsize,
                 mdb_strerror(rc));
        return -1;
    }
    if ((rc = mdb_env_open(st->env, st->path, LMDB_ENV_FLAGS, LMDB_ENV_MODE)) != 0) {
        lmdb_open_error(st->path, rc, err, errlen);
        return -1;
    }
    st->env_opened = 1;
    if ((rc = mdb_reader_check(st->env, &dead)) != 0) {
        snprintf(err, errlen, "lmdb %s: reader check: %s", st->path, mdb_strerror(rc));
        return -1;
    }
    if ((rc = mdb_txn_begin(st->env, NULL, 0, &txn)) != 0)
        return lmdb_error(st, "begin", rc, err, errlen);
    if ((rc = mdb_dbi_open(txn, LMDB_DB_ENTRIES, MDB_CREATE, &st->dbi)) != 0
        || (rc = mdb_dbi_open(txn, LMDB_DB_BLOBS, MDB_CREATE, &st->blobs)) != 0) {
        mdb_txn_abort(txn);
        if (rc == MDB_INCOMPATIBLE) {
            snprintf(err, errlen, "lmdb %s: not a redgrey environment (%s)",
                     st->path, mdb_strerror(rc));
            return -1;
        }
        return lmdb_error(st, "open database", rc, err, errlen);
    }
    if ((rc = mdb_txn_commit(txn)) != 0)
        return lmdb_error(st, "commit", rc, err, errlen);
    return 0;
}

/*
 * sweeper_start - start the background thread with every signal blocked,
 * so that the daemon's signal handling never lands in it. 0, or -1.
 */
static int
sweeper_start(struct lmdb_store *st, char *err, size_t errlen)
{
    sigset_t all, old;
    int     rc;

    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(&st->sweeper, NULL, sweeper_main, st);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        snprintf(err, errlen, "lmdb %s: cannot start the sweeper: %s", st->path, strerror(rc));
        return -1;
    }
    st->sweeper_started = 1;
    return 0;
}

/* blob_key - prefix and name into buf (KEY_SLOT bytes) as an MDB_val */
static MDB_val
blob_key(const struct lmdb_store *st, const char *name, char *buf)
{
    int     n = snprintf(buf, KEY_SLOT, "%s%s", st->base.key_prefix, name);
    MDB_val k = {(size_t) n, buf};

    return k;
}

/* blob_valid - 1 if v is a blob value of our format, else 0 */
static int
blob_valid(const MDB_val *v)
{
    const unsigned char *p = v->mv_data;

    return v->mv_size >= BLOB_HEADER && v->mv_size - BLOB_HEADER <= STORE_BLOB_MAX
        && p[0] == BLOB_FORMAT && get_le64(p + 8) >= 1 && get_le64(p + 16) >= 0;
}

/* lmdb_blob_get - store_ops.blob_get: one read-only transaction */
static enum store_blob_result
lmdb_blob_get(struct store *base, const char *name, char **data, size_t *len,
              struct store_blob_meta *meta, char *err, size_t errlen)
{
    struct lmdb_store *st = (struct lmdb_store *) base;
    char    kbuf[KEY_SLOT];
    MDB_val k = blob_key(st, name, kbuf), v;
    enum store_blob_result res = STORE_BLOB_FOUND;
    MDB_txn *txn;
    int     rc;

    if ((rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn)) != 0) {
        lmdb_error(st, "begin", rc, err, errlen);
        return STORE_BLOB_ERROR;
    }
    /* The value points into the map: copy what we need before the abort. */
    rc = mdb_get(txn, st->blobs, &k, &v);
    if (rc == MDB_NOTFOUND) {
        res = STORE_BLOB_ABSENT;
    } else if (rc != 0) {
        lmdb_error(st, "blob get", rc, err, errlen);
        res = STORE_BLOB_ERROR;
    } else if (!blob_valid(&v)) {
        snprintf(err, errlen, "lmdb %s: blob %s: malformed", st->path, name);
        res = STORE_BLOB_ERROR;
    } else {
        meta->version = (uint64_t) get_le64((const unsigned char *) v.mv_data + 8);
        meta->stamp = get_le64((const unsigned char *) v.mv_data + 16);
        if (data != NULL) {
            *len = v.mv_size - BLOB_HEADER;
            *data = xmalloc(*len + 1);
            memcpy(*data, (const unsigned char *) v.mv_data + BLOB_HEADER, *len);
            (*data)[*len] = 0;
        }
    }
    mdb_txn_abort(txn);
    return res;
}

/*
 * lmdb_blob_put - store_ops.blob_put: one write transaction that reads
 * the old version and writes the next. A malformed old value is replaced
 * and the numbering starts again at 1.
 */
static int
lmdb_blob_put(struct store *base, const char *name, const void *data, size_t len,
              struct store_blob_meta *meta, char *err, size_t errlen)
{
    struct lmdb_store *st = (struct lmdb_store *) base;
    char    kbuf[KEY_SLOT];
    MDB_val k = blob_key(st, name, kbuf), v;
    uint64_t version = 1;
    int64_t stamp = (int64_t) time(NULL);
    MDB_txn *txn;
    const char *what = "blob get";
    int     rc;

    if ((rc = mdb_txn_begin(st->env, NULL, 0, &txn)) != 0)
        return lmdb_error(st, "begin", rc, err, errlen);
    rc = mdb_get(txn, st->blobs, &k, &v);
    if (rc == 0 && blob_valid(&v))
        version = (uint64_t) get_le64((const unsigned char *) v.mv_data + 8) + 1;
    else if (rc != 0 && rc != MDB_NOTFOUND)
        goto fail;

    /* MDB_RESERVE: LMDB gives us the space, we fill it; no second copy. */
    what = "blob put";
    v.mv_size = BLOB_HEADER + len;
    v.mv_data = NULL;
    if ((rc = mdb_put(txn, st->blobs, &k, &v, MDB_RESERVE)) != 0)
        goto fail;
    memset(v.mv_data, 0, BLOB_HEADER);
    ((unsigned char *) v.mv_data)[0] = BLOB_FORMAT;
    put_le64((unsigned char *) v.mv_data + 8, (int64_t) version);
    put_le64((unsigned char *) v.mv_data + 16, stamp);
    if (len > 0)
        memcpy((unsigned char *) v.mv_data + BLOB_HEADER, data, len);
    if ((rc = mdb_txn_commit(txn)) != 0)
        return lmdb_error(st, "blob commit", rc, err, errlen);
    if (meta != NULL) {
        meta->version = version;
        meta->stamp = stamp;
    }
    return 0;

fail:
    mdb_txn_abort(txn);
    return lmdb_error(st, what, rc, err, errlen);
}

/* lmdb_free - stop the sweeper, flush, close */
static void
lmdb_free(struct store *base)
{
    struct lmdb_store *st = (struct lmdb_store *) base;

    if (st->sweeper_started) {
        pthread_mutex_lock(&st->mu);
        st->stop = 1;
        pthread_cond_signal(&st->cond);
        pthread_mutex_unlock(&st->mu);
        pthread_join(st->sweeper, NULL);
    }
    if (st->env_opened)
        mdb_env_sync(st->env, 1);
    if (st->env != NULL)
        mdb_env_close(st->env);
    if (st->registered)
        lmdb_unregister(st);
    pthread_cond_destroy(&st->cond);
    pthread_mutex_destroy(&st->mu);
    free(st);
}

static const struct store_ops lmdb_ops = {
    .name = "lmdb",
    .decide = lmdb_decide,
    .blob_get = lmdb_blob_get,
    .blob_put = lmdb_blob_put,
    .free = lmdb_free,
};

/* lmdb_url_path - the directory of an "lmdb:/path" URL into buf; 0 or -1 */
static int
lmdb_url_path(const char *url, char *buf, size_t len, char *err, size_t errlen)
{
    const char *path;

    if (url == NULL || strncmp(url, "lmdb:", 5) != 0) {
        snprintf(err, errlen, "store %.200s: not an lmdb: URL", url ? url : "(none)");
        return -1;
    }
    path = url + 5;
    if (*path != '/') {
        snprintf(err, errlen, "lmdb %.200s: the directory must be an absolute path", path);
        return -1;
    }
    if (strlen(path) >= len - sizeof("/data.mdb")) {
        snprintf(err, errlen, "lmdb %.64s...: path too long", path);
        return -1;
    }
    strcpy(buf, path);
    return 0;
}

/* store_lmdb_open - open (creating if needed) the environment the URL names */
struct store *
store_lmdb_open(const struct store_config *conf, char *err, size_t errlen)
{
    struct lmdb_store *st;
    struct stat sb;
    pthread_condattr_t ca;
    size_t  mapsize = conf->lmdb_mapsize ? conf->lmdb_mapsize : STORE_LMDB_MAPSIZE_DEFAULT;
    const char *prefix = conf->key_prefix ? conf->key_prefix : "";

    st = xcalloc(1, sizeof(*st));
    st->base.ops = &lmdb_ops;
    st->base.params = conf->params;
    pthread_mutex_init(&st->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&st->cond, &ca);
    pthread_condattr_destroy(&ca);
    st->sweep_interval = STORE_LMDB_SWEEP_INTERVAL;
    st->next_sweep = mono_us() + (int64_t) st->sweep_interval * 1000000;

    if (strlen(prefix) > TRIPLET_PREFIX_MAX) {
        snprintf(err, errlen, "lmdb: key_prefix longer than %d bytes", TRIPLET_PREFIX_MAX);
        goto fail;
    }
    strcpy(st->base.key_prefix, prefix);
    if (lmdb_url_path(conf->url, st->path, sizeof(st->path), err, errlen) != 0
        || lmdb_check_dir(st->path, &sb, err, errlen) != 0)
        goto fail;
    st->dev = sb.st_dev;
    st->ino = sb.st_ino;
    if (lmdb_register(st) != 0) {
        snprintf(err, errlen, "lmdb %s: already open in this process", st->path);
        goto fail;
    }
    if (lmdb_env_open(st, mapsize, err, errlen) != 0
        || sweeper_start(st, err, errlen) != 0)
        goto fail;
    return &st->base;

fail:
    lmdb_free(&st->base);
    return NULL;
}

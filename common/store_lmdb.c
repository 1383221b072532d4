/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * store_lmdb.c - the embedded store: greylisting state in an LMDB
 * environment on the local disk, the default for a single host.
 *
 * One MDB_env per process, and one thread that does all of its
 * transactions (store_lmdb_writer.c): a decision is a request to that
 * thread, which reads the grey and AWL records, runs policy_decide() with
 * the local clock and writes back what the verdict says, many decisions to
 * a commit. LMDB serialises writers across processes (its mutex lives in
 * lock.mdb), so a second redgrey or the admin tool on the same directory
 * sees the same atomic decisions; a caller waits for at most
 * store_timeout, however long another process holds that mutex.
 * Keys are the Redis backend's (triplet.h); values are fixed 32-byte
 * little-endian records that carry their own expiry, because LMDB has no
 * TTL: the writer deletes expired entries in small batches, and another
 * thread flushes the environment to disk once a second. This file opens
 * and closes the store and turns store.h's calls into requests; the
 * formats and what a transaction does are in store_lmdb_txn.c. It is the
 * top layer of the backend, over the writer and the transactions (see
 * store_lmdb_txn.h).
 *
 * It never grows the map on its own: a full map is a store error, which
 * the caller turns into on_store_error. When another process grew it, the
 * writer adopts the new size.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "store.h"
#include "store_lmdb.h"
#include "store_lmdb_admin.h"
#include "store_lmdb_session.h"
#include "store_lmdb_writer.h"
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

#define LMDB_DB_ENTRIES "entries"        /* grey and AWL records, triplet.h keys */
#define LMDB_DB_BLOBS   "blobs"          /* named blobs, store_blob_key keys */
#define LMDB_DB_SESSIONS "sessions"      /* live sessions, store_lmdb_session.c */
#define LMDB_MAXDBS     4

/* The environments this process has open: LMDB forbids opening one twice. */
static pthread_mutex_t lmdb_open_lock = PTHREAD_MUTEX_INITIALIZER;
static struct lmdb_store *lmdb_open_list;

static const struct store_ops lmdb_ops;

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
    if ((rc = lmdb_txn_begin(st, 0, &txn)) != 0)
        return lmdb_txn_error(st, "begin", rc, err, errlen);
    if ((rc = mdb_dbi_open(txn, LMDB_DB_ENTRIES, MDB_CREATE, &st->dbi)) != 0
        || (rc = mdb_dbi_open(txn, LMDB_DB_BLOBS, MDB_CREATE, &st->blobs)) != 0
        || (rc = mdb_dbi_open(txn, LMDB_DB_SESSIONS, MDB_CREATE, &st->sessions)) != 0) {
        mdb_txn_abort(txn);
        if (rc == MDB_INCOMPATIBLE) {
            snprintf(err, errlen, "lmdb %s: not a redgrey environment (%s)",
                     st->path, mdb_strerror(rc));
            return -1;
        }
        return lmdb_txn_error(st, "open database", rc, err, errlen);
    }
    if ((rc = mdb_txn_commit(txn)) != 0)
        return lmdb_txn_error(st, "commit", rc, err, errlen);
    return 0;
}


/*
 * lmdb_decide - store_ops.decide: build the keys here, hand the decision
 * to the writer, wait for it at most the store's timeout.
 */
static int
lmdb_decide(struct store *base, const struct triplet *t, const struct store_decide_opts *opts,
            struct policy_verdict *out, char *err, size_t errlen)
{
    struct lmdb_store *st = (struct lmdb_store *) base;
    char    gkey[TRIPLET_KEY_MAX], akey[TRIPLET_KEY_MAX];
    struct lmdb_req req;

    memset(&req, 0, sizeof(req));
    req.key_len = triplet_grey_key(base->key_prefix, t, gkey, sizeof(gkey));
    req.akey_len = triplet_awl_key(base->key_prefix, t, akey, sizeof(akey));
    if (req.key_len == 0 || req.akey_len == 0) {
        snprintf(err, errlen, "lmdb %s: store key too long for client key \"%.64s\"",
                 st->path, t->client_key);
        return -1;
    }
    req.op = LMDB_OP_DECIDE;
    req.key = gkey;
    req.akey = akey;
    req.opts = opts;
    req.triplet = t;
    req.verdict = out;
    req.err = err;
    req.errlen = errlen;
    return lmdb_writer_submit(st, &req);
}

/*
 * lmdb_blob_req - a request for blob name, its key (store_blob_key) in
 * kbuf of STORE_BLOB_KEY_MAX bytes: always room, since the prefix was
 * checked at open and the name by store.c.
 */
static void
lmdb_blob_req(struct lmdb_store *st, enum lmdb_op op, const char *name, char *kbuf,
              struct lmdb_req *req, char *err, size_t errlen)
{
    memset(req, 0, sizeof(*req));
    req->op = op;
    req->key = kbuf;
    req->key_len = store_blob_key(st->base.key_prefix, name, kbuf, STORE_BLOB_KEY_MAX);
    req->name = name;
    req->err = err;
    req->errlen = errlen;
}

/* lmdb_blob_get - store_ops.blob_get: a request to the writer */
static enum store_blob_result
lmdb_blob_get(struct store *base, const char *name, char **data, size_t *len,
              struct store_blob_meta *meta, char *err, size_t errlen)
{
    struct lmdb_store *st = (struct lmdb_store *) base;
    char    kbuf[STORE_BLOB_KEY_MAX];
    struct lmdb_req req;

    lmdb_blob_req(st, LMDB_OP_BLOB_GET, name, kbuf, &req, err, errlen);
    req.data_out = data;
    req.len_out = len;
    req.meta = meta;
    return lmdb_writer_submit(st, &req) == 0 ? req.blob : STORE_BLOB_ERROR;
}

/* lmdb_blob_put - store_ops.blob_put: a request to the writer */
static int
lmdb_blob_put(struct store *base, const char *name, const void *data, size_t len,
              struct store_blob_meta *meta, char *err, size_t errlen)
{
    struct lmdb_store *st = (struct lmdb_store *) base;
    char    kbuf[STORE_BLOB_KEY_MAX];
    struct lmdb_req req;

    lmdb_blob_req(st, LMDB_OP_BLOB_PUT, name, kbuf, &req, err, errlen);
    req.data = data;
    req.len = len;
    req.meta = meta;
    return lmdb_writer_submit(st, &req);
}

/* store_lmdb_count - entries in the entries database, counted by the writer */
int
store_lmdb_count(struct store *base, size_t *entries, char *err, size_t errlen)
{
    struct lmdb_store *st = (struct lmdb_store *) base;
    struct lmdb_req req;

    if (base == NULL || base->ops != &lmdb_ops) {
        snprintf(err, errlen, "store_lmdb_count: not an lmdb store");
        return -1;
    }
    memset(&req, 0, sizeof(req));
    req.op = LMDB_OP_COUNT;
    req.entries = entries;
    req.err = err;
    req.errlen = errlen;
    return lmdb_writer_submit(st, &req);
}

/* store_lmdb_sweep_once - one full pass now, by the writer */
int
store_lmdb_sweep_once(struct store *base, int64_t now, struct store_lmdb_sweep_stats *out,
                      char *err, size_t errlen)
{
    if (base == NULL || base->ops != &lmdb_ops) {
        snprintf(err, errlen, "store_lmdb_sweep_once: not an lmdb store");
        return -1;
    }
    return lmdb_writer_sweep_ask((struct lmdb_store *) base, now, out, err, errlen);
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
    st->next_sweep = clock_mono_us() + (int64_t) seconds * 1000000;
    pthread_cond_signal(&st->work);
    pthread_mutex_unlock(&st->mu);
}

/* lmdb_free - stop the threads, flush, close */
static void
lmdb_free(struct store *base)
{
    struct lmdb_store *st = (struct lmdb_store *) base;

    lmdb_writer_stop(st);
    if (st->env_opened)
        mdb_env_sync(st->env, 1);
    if (st->env != NULL)
        mdb_env_close(st->env);
    if (st->registered)
        lmdb_unregister(st);
    pthread_cond_destroy(&st->done);
    pthread_cond_destroy(&st->tick);
    pthread_cond_destroy(&st->work);
    pthread_condattr_destroy(&st->cattr);
    pthread_mutex_destroy(&st->mu);
    free(st->sweep);
    free(st);
}

/* lmdb_outbound_put - store_ops.outbound_put: one write of the pair's record */
static int
lmdb_outbound_put(struct store *base, const struct triplet *pair, char *err, size_t errlen)
{
    struct lmdb_store *st = (struct lmdb_store *) base;
    char    okey[TRIPLET_KEY_MAX];
    struct policy_params p;
    struct lmdb_req req;

    store_params_get(base, &p);
    memset(&req, 0, sizeof(req));
    if ((req.key_len = triplet_outbound_key(base->key_prefix, pair, okey, sizeof(okey))) == 0) {
        snprintf(err, errlen, "lmdb %s: cannot build the outbound key", st->path);
        return -1;
    }
    req.op = LMDB_OP_ADMIN;
    req.admin = lmdb_txn_outbound_put;
    req.admin_arg = &p.outbound_ttl;
    req.key = okey;
    req.err = err;
    req.errlen = errlen;
    return lmdb_writer_submit(st, &req);
}

static const struct store_ops lmdb_ops = {
    .name = "lmdb",
    .decide = lmdb_decide,
    .blob_get = lmdb_blob_get,
    .blob_put = lmdb_blob_put,
    .free = lmdb_free,
    .entry_get = store_lmdb_admin_entry_get,
    .entry_pass = store_lmdb_admin_entry_pass,
    .entry_delete = store_lmdb_admin_entry_delete,
    .count_step = store_lmdb_admin_count_step,
    .blob_delete = store_lmdb_admin_blob_delete,
    .outbound_put = lmdb_outbound_put,
    .session_enter = store_lmdb_session_enter,
    .session_leave = store_lmdb_session_leave,
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
    size_t  mapsize = conf->lmdb_mapsize ? conf->lmdb_mapsize : STORE_LMDB_MAPSIZE_DEFAULT;
    const char *prefix = conf->key_prefix ? conf->key_prefix : "";

    st = xcalloc(1, sizeof(*st));
    st->base.ops = &lmdb_ops;
    store_params_init(&st->base, &conf->params);
    st->timeout_ms = conf->timeout_ms > 0 ? conf->timeout_ms : LMDB_TIMEOUT_DEFAULT_MS;
    st->sweep = xmalloc(sizeof(*st->sweep));
    pthread_mutex_init(&st->mu, NULL);
    pthread_condattr_init(&st->cattr);
    pthread_condattr_setclock(&st->cattr, CLOCK_MONOTONIC);
    pthread_cond_init(&st->work, &st->cattr);
    pthread_cond_init(&st->tick, &st->cattr);
    pthread_cond_init(&st->done, &st->cattr);
    st->sweep_interval = STORE_LMDB_SWEEP_INTERVAL;
    st->next_sweep = clock_mono_us() + (int64_t) st->sweep_interval * 1000000;

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
        || lmdb_writer_start(st, err, errlen) != 0)
        goto fail;
    return &st->base;

fail:
    lmdb_free(&st->base);
    return NULL;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * store_lmdb_writer.c - the one thread that writes an LMDB store, and the
 * queue that feeds it.
 *
 * LMDB has one writer lock per environment, shared by every process that
 * opens it (a second redgrey, redgreyctl, the mdb_* tools), and
 * mdb_txn_begin() waits for it without a time limit. So no caller thread
 * ever begins a transaction: store_decide() and the blob calls put a
 * request on this store's queue and wait on a condition variable for at
 * most the store's timeout. The writer thread takes up to LMDB_BATCH_MAX
 * queued requests and does them all in ONE write transaction (group
 * commit): each request sees what the ones before it wrote, exactly as
 * with a transaction each, but the commit is paid once per batch.
 *
 * Requests live on their callers' stacks, but the writer never runs one
 * there: lmdb_writer_submit() hands it a stand-in (a "shadow", one heap
 * block holding a copy of the request, of its inputs and room for its
 * outputs), and copies the outputs back once it is DONE. So every wait of
 * a caller is bounded by the store's timeout, whatever the writer does
 * (a slow disk under a commit, page faults in a huge map): a caller whose
 * time is up while its request is QUEUED or TAKEN unlinks it under mu and
 * returns -1, and the request had no effect; one whose time is up while
 * it is RUNNING marks the shadow abandoned and returns -1 too, and the
 * writer frees the shadow when it is done with it (the request may then
 * still have been written: a store error either way, and the policy
 * follows on_store_error). An operation the shadow does not know (added
 * later) is run on a plain copy whose output pointers still point at the
 * caller, so that caller waits for it without a bound while it runs.
 *
 * The writer also runs the sweeper's batches (between batches of
 * requests, with a pause so that other processes get the lock) and, on
 * MDB_MAP_RESIZED, adopts the map size another process set: that needs no
 * transaction active in the process, which holds because this thread
 * begins them all. A second thread calls mdb_env_sync() once a second; it
 * takes no lock and no transaction, so a slow disk never delays decisions.
 *
 * The middle layer of the backend (see store_lmdb_txn.h): it runs the
 * transactions of store_lmdb_txn.c and knows nothing of store_lmdb.c.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "log.h"
#include "store_lmdb_writer.h"

/*
 * Sweeping. A batch is one write transaction that visits at most 4096
 * entries and deletes at most LMDB_SWEEP_BATCH of them (store_lmdb_txn.c);
 * then the writer serves its queue and waits LMDB_WRITER_PAUSE_US before
 * the next batch, so that other processes waiting for the writer lock get
 * it (LMDB's mutex is not fair). A decision therefore waits for at most one
 * batch. Measured on the development host with 200k expired entries among
 * 29k live ones: a batch holds the lock at most 0.4 ms (-O2), 2 ms under
 * ASan+UBSan; check_store_lmdb.c asserts that no decision made during
 * such a sweep takes 50 ms or more.
 */
#define LMDB_WRITER_PAUSE_US  2000       /* between two batches */
#define LMDB_WRITER_ASK_MAX_S 600        /* store_lmdb_sweep_once waits at most this */
#define LMDB_GROW_PAGES       64         /* a full map grows by this and 1/64, once */

/* lmdb_writer_unlink - take req off the queue. Must be called with st->mu held. */
static void
lmdb_writer_unlink(struct lmdb_store *st, struct lmdb_req *req)
{
    if (req->prev != NULL)
        req->prev->next = req->next;
    else
        st->head = req->next;
    if (req->next != NULL)
        req->next->prev = req->prev;
    else
        st->tail = req->prev;
    req->prev = req->next = NULL;
}

/* The writer's stand-in for a caller's request (see the top of the file). */
struct lmdb_shadow {
    struct lmdb_req req;                 /* first: what the writer runs */
    int     own;                         /* 1: outputs point into this block */
    int     abandoned;                   /* under mu: the caller has given up */
    struct policy_verdict verdict;       /* DECIDE */
    struct store_decide_opts opts;       /* DECIDE: a copy of the caller's inputs */
    struct triplet triplet;              /* DECIDE: a copy of the caller's triplet */
    char   *data_out;                    /* BLOB_GET */
    size_t  len_out;
    struct store_blob_meta meta;         /* BLOB_* */
    size_t  entries;                     /* COUNT */
    char    err[STORE_ERRLEN];
    char    bytes[];                     /* copies of key, akey, name, data */
};

/* Test hook: microseconds the writer stalls in each transaction (lmdb_writer_test_stall). */
static atomic_llong lmdb_writer_stall_us;

/* lmdb_writer_test_stall - make every write transaction take us longer (tests only) */
void
lmdb_writer_test_stall(int64_t us)
{
    atomic_store(&lmdb_writer_stall_us, (long long) us);
}

/* lmdb_writer_copy - bytes[0..len) of src at *pos in sh->bytes; the copy */
static const void *
lmdb_writer_copy(struct lmdb_shadow *sh, size_t *pos, const void *src, size_t len)
{
    void   *dst = sh->bytes + *pos;

    if (len > 0)
        memcpy(dst, src, len);
    *pos += len;
    return dst;
}

/*
 * lmdb_writer_shadow - the stand-in for req: its own copy of the inputs
 * and outputs for the operations we know, a plain copy for others.
 * NULL on no memory.
 */
static struct lmdb_shadow *
lmdb_writer_shadow(const struct lmdb_req *req)
{
    int     own = req->op == LMDB_OP_DECIDE || req->op == LMDB_OP_BLOB_GET
        || req->op == LMDB_OP_BLOB_PUT || req->op == LMDB_OP_COUNT;
    size_t  nlen = req->name != NULL ? strlen(req->name) + 1 : 0;
    size_t  need = own ? req->key_len + req->akey_len + nlen + req->len : 0, pos = 0;
    struct lmdb_shadow *sh = calloc(1, sizeof(*sh) + need);

    if (sh == NULL)
        return NULL;
    sh->req = *req;
    sh->own = own;
    if (!own)
        return sh;
    sh->req.key = lmdb_writer_copy(sh, &pos, req->key, req->key_len);
    sh->req.akey = lmdb_writer_copy(sh, &pos, req->akey, req->akey_len);
    sh->req.name = req->name != NULL ? lmdb_writer_copy(sh, &pos, req->name, nlen) : NULL;
    sh->req.data = lmdb_writer_copy(sh, &pos, req->data, req->len);
    sh->req.verdict = &sh->verdict;
    if (req->opts != NULL) {             /* the caller's may be gone when the writer runs */
        sh->opts = *req->opts;
        sh->req.opts = &sh->opts;
    }
    if (req->triplet != NULL) {          /* the same: the abuse keys are made from it */
        sh->triplet = *req->triplet;
        sh->req.triplet = &sh->triplet;
    }
    sh->req.data_out = req->data_out != NULL ? &sh->data_out : NULL;
    sh->req.len_out = &sh->len_out;
    sh->req.meta = req->op == LMDB_OP_BLOB_GET || req->meta != NULL ? &sh->meta : NULL;
    sh->req.entries = &sh->entries;
    sh->req.err = sh->err;
    sh->req.errlen = sizeof(sh->err);
    return sh;
}

/* lmdb_writer_unshadow - the outputs of a DONE sh into the caller's req; frees sh */
static int
lmdb_writer_unshadow(struct lmdb_shadow *sh, struct lmdb_req *req)
{
    if (!sh->own) {
        req->rc = sh->req.rc;
        req->blob = sh->req.blob;
        free(sh);
        return req->rc;
    }
    req->rc = sh->req.rc;
    req->blob = sh->req.blob;
    if (sh->err[0] != '\0')
        snprintf(req->err, req->errlen, "%s", sh->err);
    if (req->op == LMDB_OP_DECIDE && req->rc == 0)
        *req->verdict = sh->verdict;
    if (req->meta != NULL && sh->req.meta != NULL)
        *req->meta = sh->meta;
    if (req->data_out != NULL) {
        *req->data_out = sh->data_out;
        *req->len_out = sh->len_out;
    }
    if (req->op == LMDB_OP_COUNT && req->rc == 0)
        *req->entries = sh->entries;
    free(sh);
    return req->rc;
}

/* lmdb_writer_forget - free an abandoned shadow and what the writer made for it. Under mu. */
static void
lmdb_writer_forget(struct lmdb_shadow *sh)
{
    free(sh->data_out);
    free(sh);
}

/*
 * lmdb_writer_submit - queue a shadow of req, wait for it until the
 * store's timeout (see the top of the file)
 */
int
lmdb_writer_submit(struct lmdb_store *st, struct lmdb_req *caller)
{
    struct timespec ts = clock_ts(clock_mono_us() + (int64_t) st->timeout_ms * 1000);
    struct lmdb_shadow *sh = lmdb_writer_shadow(caller);
    struct lmdb_req *req;
    int     late = 0;

    if (sh == NULL) {
        snprintf(caller->err, caller->errlen, "lmdb %s: out of memory", st->path);
        return -1;
    }
    req = &sh->req;

    /* A condition variable of its own: the writer wakes exactly its callers. */
    pthread_cond_init(&req->wake, &st->cattr);
    req->state = LMDB_REQ_QUEUED;
    req->rc = -1;
    req->next = NULL;
    pthread_mutex_lock(&st->mu);
    req->prev = st->tail;
    if (st->tail != NULL)
        st->tail->next = req;
    else
        st->head = req;
    st->tail = req;
    pthread_cond_signal(&st->work);

    while (req->state != LMDB_REQ_DONE) {
        if (req->state == LMDB_REQ_RUNNING && (!sh->own || !late)) {
            /* The writer holds the lock and uses req: one transaction's work. */
            if (!sh->own)
                pthread_cond_wait(&req->wake, &st->mu);
            else
                late = pthread_cond_timedwait(&req->wake, &st->mu, &ts) == ETIMEDOUT;
            continue;
        }
        if (late && req->state == LMDB_REQ_RUNNING) {
            /* Out of time while it runs: leave the shadow to the writer. */
            sh->abandoned = 1;
            pthread_mutex_unlock(&st->mu);
            snprintf(caller->err, caller->errlen, "lmdb %s: timeout: the writer took more than"
                     " %d ms over the request (it may still be written)", st->path,
                     st->timeout_ms);
            return -1;
        }
        if (late) {
            /* Out of time before the writer started: take req back. */
            if (req->state == LMDB_REQ_QUEUED)
                lmdb_writer_unlink(st, req);
            else
                st->batch[req->slot] = NULL;
            pthread_mutex_unlock(&st->mu);
            pthread_cond_destroy(&req->wake);
            free(sh);
            snprintf(caller->err, caller->errlen, "lmdb %s: timeout waiting for the writer lock"
                     " (another process holds it?)", st->path);
            return -1;
        }
        late = pthread_cond_timedwait(&req->wake, &st->mu, &ts) == ETIMEDOUT;
    }
    /* DONE was set, and wake signalled, under mu: nobody touches req now. */
    pthread_mutex_unlock(&st->mu);
    pthread_cond_destroy(&req->wake);
    return lmdb_writer_unshadow(sh, caller);
}

/* lmdb_writer_take - move up to LMDB_BATCH_MAX requests from the queue into the batch. Under mu. */
static int
lmdb_writer_take(struct lmdb_store *st)
{
    struct lmdb_req *req;
    int     n = 0;

    while ((req = st->head) != NULL && n < LMDB_BATCH_MAX) {
        lmdb_writer_unlink(st, req);
        req->state = LMDB_REQ_TAKEN;
        req->slot = n;
        st->batch[n++] = req;
    }
    return n;
}

/* lmdb_writer_done - mark run[0..m) DONE and wake their callers */
static void
lmdb_writer_done(struct lmdb_store *st, struct lmdb_req **run, int m)
{
    pthread_mutex_lock(&st->mu);
    for (int j = 0; j < m; j++) {
        struct lmdb_shadow *sh = (struct lmdb_shadow *) run[j];

        if (sh->abandoned) {
            pthread_cond_destroy(&run[j]->wake);
            lmdb_writer_forget(sh);
            continue;
        }
        run[j]->state = LMDB_REQ_DONE;
        pthread_cond_signal(&run[j]->wake);
    }
    pthread_mutex_unlock(&st->mu);
}

/*
 * lmdb_writer_run - do the TAKEN requests in batch[first..first+count) in one
 * write transaction. The wait for the lock comes first, with the requests
 * still TAKEN (their callers may give up); then those still there become
 * RUNNING. If one request breaks the transaction (a full map, say), it is
 * aborted and each request is done again alone, so that each gets the
 * outcome it would have had without group commit.
 */
static void
lmdb_writer_run(struct lmdb_store *st, int first, int count)
{
    struct lmdb_req *run[LMDB_BATCH_MAX];
    int     slots[LMDB_BATCH_MAX];
    MDB_txn *txn = NULL;
    int     rc, m = 0;

    rc = lmdb_txn_begin(st, 0, &txn);
    pthread_mutex_lock(&st->mu);
    for (int i = first; i < first + count; i++) {
        if (st->batch[i] != NULL) {
            run[m] = st->batch[i];
            slots[m++] = i;
            st->batch[i]->state = LMDB_REQ_RUNNING;
            st->batch[i] = NULL;
        }
    }
    pthread_mutex_unlock(&st->mu);
    if (m > 0 && atomic_load(&lmdb_writer_stall_us) > 0) {
        int64_t us = atomic_load(&lmdb_writer_stall_us);
        struct timespec d = {(time_t) (us / 1000000), (long) (us % 1000000) * 1000};

        nanosleep(&d, NULL);             /* tests: a writer slow while requests run */
    }

    if (rc != 0) {
        for (int j = 0; j < m; j++)
            run[j]->rc = lmdb_txn_error(st, "begin", rc, run[j]->err, run[j]->errlen);
        lmdb_writer_done(st, run, m);
        return;
    }
    if (m == 0) {
        mdb_txn_abort(txn);
        return;
    }
    for (int j = 0; j < m && rc == 0; j++)
        rc = lmdb_txn_run(st, txn, run[j]);
    if (rc != 0) {
        mdb_txn_abort(txn);
    } else if ((rc = mdb_txn_commit(txn)) != 0) {
        for (int j = 0; j < m; j++)
            run[j]->rc = lmdb_txn_error(st, "commit", rc, run[j]->err, run[j]->errlen);
    }
    if (rc == 0 || m == 1) {
        lmdb_writer_done(st, run, m);
        return;
    }

    /*
     * Nothing of the batch was written: back to TAKEN, then one by one
     * (an abandoned shadow is freed instead). Wake the callers so that
     * they see TAKEN, where giving up has no effect.
     */
    for (int j = 0; j < m; j++)
        lmdb_txn_undo(run[j]);
    pthread_mutex_lock(&st->mu);
    for (int j = 0; j < m; j++) {
        struct lmdb_shadow *sh = (struct lmdb_shadow *) run[j];

        if (sh->abandoned) {             /* its caller is gone: it had no effect */
            pthread_cond_destroy(&run[j]->wake);
            lmdb_writer_forget(sh);
            continue;
        }
        run[j]->state = LMDB_REQ_TAKEN;
        st->batch[slots[j]] = run[j];
        pthread_cond_signal(&run[j]->wake);
    }
    pthread_mutex_unlock(&st->mu);
    for (int j = 0; j < m; j++)
        lmdb_writer_run(st, slots[j], 1);
}

/*
 * lmdb_writer_grow - grow a full map by LMDB_GROW_PAGES pages and 1/64 of
 * its size, once per open, so that a sweep can delete: a deletion copies
 * its leaf and branch pages first, and decisions can fill a map to the
 * last page, when even one deletion no longer fits. Only the writer runs
 * transactions, so none is active here, as mdb_env_set_mapsize() needs.
 * Logged once. Returns 0, or -1 (logged).
 */
static int
lmdb_writer_grow(struct lmdb_store *st)
{
    MDB_envinfo info;
    MDB_stat ms;
    size_t  size;
    int     rc;

    if ((rc = mdb_env_info(st->env, &info)) != 0 || (rc = mdb_env_stat(st->env, &ms)) != 0
        || (rc = mdb_env_set_mapsize(st->env, size = info.me_mapsize
                                     + LMDB_GROW_PAGES * (size_t) ms.ms_psize
                                     + info.me_mapsize / 64)) != 0) {
        log_warn("lmdb %s: map full and it could not grow: %s", st->path, mdb_strerror(rc));
        return -1;
    }
    log_warn("lmdb %s: map full: grown from %zu to %zu bytes, once, so that the sweep can"
             " delete; raise lmdb_mapsize", st->path, info.me_mapsize, size);
    return 0;
}

/* The writer's sweep pass in progress. */
struct lmdb_writer_pass {
    int     active;                      /* 1: a pass is under way */
    int     asked;                       /* 1: for store_lmdb_sweep_once */
    int64_t now;                         /* asked: the clock to use */
    int64_t next_batch;                  /* monotonic us of the next batch */
    struct store_lmdb_sweep_stats stats; /* what it did so far */
};

/*
 * lmdb_writer_sweep_step - one sweep batch, shrunk while the map is full,
 * its time (begin to commit) in stats->max_hold_us. Deleting copies pages
 * too, so a batch of 256 deletions may not fit in a map that decisions
 * have filled, while a few single deletions do and free whole pages as
 * leaves merge; the batch grows back after each success. At most
 * log2(LMDB_SWEEP_BATCH) + 1 attempts. Returns 0 (w moved on; w->done at
 * the end), or -1 with err.
 */
static int
lmdb_writer_sweep_step(struct lmdb_store *st, int64_t now, struct lmdb_sweep_work *w,
                       struct store_lmdb_sweep_stats *stats, char *err, size_t errlen)
{
    int64_t t0 = clock_mono_us(), held;
    int     rc;

    while ((rc = lmdb_txn_sweep_batch(st, now, w, stats, err, errlen)) == MDB_MAP_FULL
           && w->limit > 1) {
        w->limit /= 2;
        t0 = clock_mono_us();
    }
    if (rc == MDB_MAP_FULL && !st->sweep_grown && lmdb_writer_grow(st) == 0) {
        st->sweep_grown = 1;
        t0 = clock_mono_us();
        rc = lmdb_txn_sweep_batch(st, now, w, stats, err, errlen);
    }
    if (rc != 0)
        return -1;
    held = clock_mono_us() - t0;
    if (held > stats->max_hold_us)
        stats->max_hold_us = held;
    if (w->limit < LMDB_SWEEP_BATCH)
        w->limit *= 2;
    return 0;
}

/*
 * lmdb_writer_sweep - run one batch of the pass, starting a pass first if one
 * is due or asked for. Returns 1 if it ran a batch (mu dropped meanwhile),
 * else 0. Must be called with st->mu held.
 */
static int
lmdb_writer_sweep(struct lmdb_store *st, struct lmdb_writer_pass *sp)
{
    char    err[STORE_ERRLEN];
    int64_t now = clock_mono_us();
    int     rc;

    if (!sp->active && (st->sweep_asked || now >= st->next_sweep)) {
        memset(sp, 0, sizeof(*sp));
        sp->active = 1;
        sp->asked = st->sweep_asked;
        sp->now = st->sweep_asked_now;
        st->sweep_asked = 0;
        lmdb_txn_sweep_start(st->sweep);
        sp->next_batch = now;
    }
    if (!sp->active || now < sp->next_batch)
        return 0;

    pthread_mutex_unlock(&st->mu);
    rc = lmdb_writer_sweep_step(st, sp->asked ? sp->now : (int64_t) time(NULL), st->sweep,
                                &sp->stats, err, sizeof(err));
    pthread_mutex_lock(&st->mu);
    if (rc != 0 && !sp->asked)
        log_warn("%s (the sweep resumes in %d s)", err, st->sweep_interval);
    if (rc == 0 && !st->sweep->done) {
        sp->next_batch = clock_mono_us() + LMDB_WRITER_PAUSE_US;
        return 1;
    }
    sp->active = 0;
    st->next_sweep = clock_mono_us() + (int64_t) st->sweep_interval * 1000000;
    if (sp->asked) {
        st->sweep_rc = rc;
        snprintf(st->sweep_err, sizeof(st->sweep_err), "%s", rc != 0 ? err : "");
        st->sweep_stats = sp->stats;
        st->sweep_gen++;
        pthread_cond_broadcast(&st->done);
    }
    return 1;
}

/*
 * lmdb_writer_main - the writer thread: batches of requests first, sweep
 * batches when the queue is empty, sleep until the next of: a request,
 * the next sweep batch or pass, the stop. Queued requests are served even
 * after the stop, so that no caller is left waiting.
 */
static void *
lmdb_writer_main(void *arg)
{
    struct lmdb_store *st = arg;
    struct lmdb_writer_pass sp;
    struct timespec ts;
    int     n;

    memset(&sp, 0, sizeof(sp));
    pthread_mutex_lock(&st->mu);
    for (;;) {
        if (st->head != NULL) {
            n = lmdb_writer_take(st);
            pthread_mutex_unlock(&st->mu);
            lmdb_writer_run(st, 0, n);
            pthread_mutex_lock(&st->mu);
            continue;
        }
        if (st->stop)
            break;
        if (lmdb_writer_sweep(st, &sp))
            continue;
        ts = clock_ts(sp.active ? sp.next_batch : st->next_sweep);
        pthread_cond_timedwait(&st->work, &st->mu, &ts);
    }
    pthread_mutex_unlock(&st->mu);
    return NULL;
}

/* lmdb_writer_syncer - mdb_env_sync() every STORE_LMDB_SYNC_INTERVAL until the stop */
static void *
lmdb_writer_syncer(void *arg)
{
    struct lmdb_store *st = arg;
    struct timespec ts;
    int     rc;

    pthread_mutex_lock(&st->mu);
    while (!st->stop) {
        ts = clock_ts(clock_mono_us() + (int64_t) STORE_LMDB_SYNC_INTERVAL * 1000000);
        while (!st->stop && pthread_cond_timedwait(&st->tick, &st->mu, &ts) != ETIMEDOUT)
            continue;
        if (st->stop)
            break;
        pthread_mutex_unlock(&st->mu);
        if ((rc = mdb_env_sync(st->env, 1)) != 0)
            log_warn("lmdb %s: sync: %s", st->path, mdb_strerror(rc));
        pthread_mutex_lock(&st->mu);
    }
    pthread_mutex_unlock(&st->mu);
    return NULL;
}

/*
 * lmdb_writer_start - both threads, with every signal blocked so that the
 * daemon's signal handling never lands in them.
 */
int
lmdb_writer_start(struct lmdb_store *st, char *err, size_t errlen)
{
    sigset_t all, old;
    int     rc;

    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(&st->writer, NULL, lmdb_writer_main, st);
    if (rc == 0) {
        st->writer_started = 1;
        rc = pthread_create(&st->syncer, NULL, lmdb_writer_syncer, st);
        st->syncer_started = rc == 0;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        snprintf(err, errlen, "lmdb %s: cannot start a thread: %s", st->path, strerror(rc));
        return -1;
    }
    return 0;
}

/*
 * lmdb_writer_stop - stop and join both threads. The writer finishes the
 * transaction it is in, which may wait for another process's lock.
 */
void
lmdb_writer_stop(struct lmdb_store *st)
{
    pthread_mutex_lock(&st->mu);
    st->stop = 1;
    pthread_cond_broadcast(&st->work);
    pthread_cond_broadcast(&st->tick);
    pthread_mutex_unlock(&st->mu);
    if (st->writer_started)
        pthread_join(st->writer, NULL);
    if (st->syncer_started)
        pthread_join(st->syncer, NULL);
    st->writer_started = st->syncer_started = 0;
}

/*
 * lmdb_writer_sweep_ask - have the writer run a full pass now and wait for it.
 * For one caller at a time (tests, the admin tool).
 */
int
lmdb_writer_sweep_ask(struct lmdb_store *st, int64_t now, struct store_lmdb_sweep_stats *stats,
                      char *err, size_t errlen)
{
    struct timespec ts = clock_ts(clock_mono_us() + (int64_t) LMDB_WRITER_ASK_MAX_S * 1000000);
    unsigned gen;
    int     rc = -1;

    pthread_mutex_lock(&st->mu);
    gen = st->sweep_gen;
    st->sweep_asked = 1;
    st->sweep_asked_now = now;
    pthread_cond_signal(&st->work);
    while (st->sweep_gen == gen)
        if (pthread_cond_timedwait(&st->done, &st->mu, &ts) == ETIMEDOUT)
            break;
    if (st->sweep_gen == gen) {
        snprintf(err, errlen, "lmdb %s: sweep: not done within %d s", st->path,
                 LMDB_WRITER_ASK_MAX_S);
    } else {
        rc = st->sweep_rc;
        if (rc != 0)
            snprintf(err, errlen, "%s", st->sweep_err);
        if (stats != NULL)
            *stats = st->sweep_stats;
    }
    pthread_mutex_unlock(&st->mu);
    return rc;
}

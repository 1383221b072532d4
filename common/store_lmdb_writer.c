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
 * Requests live on their callers' stacks. The writer touches one only
 * under mu or while it is RUNNING, and a caller does not return while its
 * request is RUNNING (that lasts one transaction's work, never a wait for
 * the lock: the writer marks requests RUNNING only once it holds it). A
 * caller whose time is up while its request is QUEUED or TAKEN unlinks it
 * under mu and returns -1; the writer never sees it again, so a timeout
 * means the request had no effect.
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
#include <stdio.h>
#include <string.h>
#include <time.h>

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

/* lmdb_writer_mono_us - monotonic clock in microseconds */
int64_t
lmdb_writer_mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* lmdb_writer_mono_ts - a monotonic time in us as a timespec for pthread_cond_timedwait */
static struct timespec
lmdb_writer_mono_ts(int64_t us)
{
    struct timespec ts;

    ts.tv_sec = (time_t) (us / 1000000);
    ts.tv_nsec = (long) (us % 1000000) * 1000;
    return ts;
}

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

/* lmdb_writer_submit - queue req, wait for it until the store's timeout */
int
lmdb_writer_submit(struct lmdb_store *st, struct lmdb_req *req)
{
    struct timespec ts =
        lmdb_writer_mono_ts(lmdb_writer_mono_us() + (int64_t) st->timeout_ms * 1000);
    int     late = 0;

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
        if (req->state == LMDB_REQ_RUNNING) {
            /* The writer holds the lock and uses req: one transaction's work. */
            pthread_cond_wait(&req->wake, &st->mu);
            continue;
        }
        if (late) {
            /* Out of time before the writer started: take req back. */
            if (req->state == LMDB_REQ_QUEUED)
                lmdb_writer_unlink(st, req);
            else
                st->batch[req->slot] = NULL;
            pthread_mutex_unlock(&st->mu);
            pthread_cond_destroy(&req->wake);
            snprintf(req->err, req->errlen, "lmdb %s: timeout waiting for the writer lock"
                     " (another process holds it?)", st->path);
            return -1;
        }
        late = pthread_cond_timedwait(&req->wake, &st->mu, &ts) == ETIMEDOUT;
    }
    /* DONE was set, and wake signalled, under mu: nobody touches req now. */
    pthread_mutex_unlock(&st->mu);
    pthread_cond_destroy(&req->wake);
    return req->rc;
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
     * Nothing of the batch was written: back to TAKEN, then one by one.
     * The callers wait without a deadline while RUNNING; wake them so
     * that they watch their deadline again while we wait for the lock.
     */
    for (int j = 0; j < m; j++)
        lmdb_txn_undo(run[j]);
    pthread_mutex_lock(&st->mu);
    for (int j = 0; j < m; j++) {
        run[j]->state = LMDB_REQ_TAKEN;
        st->batch[slots[j]] = run[j];
        pthread_cond_signal(&run[j]->wake);
    }
    pthread_mutex_unlock(&st->mu);
    for (int j = 0; j < m; j++)
        lmdb_writer_run(st, slots[j], 1);
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
    int64_t t0 = lmdb_writer_mono_us(), held;
    int     rc;

    while ((rc = lmdb_txn_sweep_batch(st, now, w, stats, err, errlen)) == MDB_MAP_FULL
           && w->limit > 1) {
        w->limit /= 2;
        t0 = lmdb_writer_mono_us();
    }
    if (rc != 0)
        return -1;
    held = lmdb_writer_mono_us() - t0;
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
    int64_t now = lmdb_writer_mono_us();
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
        sp->next_batch = lmdb_writer_mono_us() + LMDB_WRITER_PAUSE_US;
        return 1;
    }
    sp->active = 0;
    st->next_sweep = lmdb_writer_mono_us() + (int64_t) st->sweep_interval * 1000000;
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
        ts = lmdb_writer_mono_ts(sp.active ? sp.next_batch : st->next_sweep);
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
        ts = lmdb_writer_mono_ts(lmdb_writer_mono_us()
                                 + (int64_t) STORE_LMDB_SYNC_INTERVAL * 1000000);
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
    struct timespec ts =
        lmdb_writer_mono_ts(lmdb_writer_mono_us() + (int64_t) LMDB_WRITER_ASK_MAX_S * 1000000);
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

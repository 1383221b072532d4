/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_store_lmdb.c - the LMDB backend: what only an embedded store has
 * to prove. Decisions from two processes on one environment, state that
 * survives a restart and a kill -9, the sweeper (expired entries go, live
 * ones stay, a large sweep does not stall decisions), a full map, another
 * process holding the writer lock or growing the map, and bad directories
 * at open. Every test gets a fresh directory under
 * REDGREY_TEST_TMP (with-redis.sh removes it) or under TMPDIR.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <lmdb.h>
#include <poll.h>
#include <stdatomic.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "daemon.h"
#include "policy.h"
#include "store.h"
#include "store_contract.h"
#include "store_lmdb.h"
#include "triplet.h"

#define DIR_MAX 4096
#define LOCK_TIMEOUT_MS 250              /* every store's store_timeout */
#define REC_BAD_LEN 32

/* The per-test directory; removed by teardown. */
static char test_dir[1024];

static void
setup(void)
{
    daemon_dir_new(test_dir, sizeof(test_dir), "lmdb");
}

static void
teardown(void)
{
    daemon_dir_remove(test_dir);
    test_dir[0] = '\0';
}

/* params - the usual test parameters with the given delay and retry window */
static struct policy_params
params(int64_t delay, int64_t retry_window)
{
    struct policy_params p = {
        .delay = delay,
        .retry_window = retry_window,
        .pass_ttl = 3600,
        .awl_threshold = 0,
        .awl_ttl = 3600,
    };

    return p;
}

/* open_dir - open the store in dir; NULL with err on failure */
static struct store *
open_dir(const char *dir, const struct policy_params *p, size_t mapsize,
         char *err, size_t errlen)
{
    char    url[DIR_MAX + 8];
    struct store_config conf;

    memset(&conf, 0, sizeof(conf));
    snprintf(url, sizeof(url), "lmdb:%s", dir);
    conf.url = url;
    conf.key_prefix = "rg:";
    conf.params = *p;
    conf.timeout_ms = LOCK_TIMEOUT_MS;
    conf.lmdb_mapsize = mapsize;
    return store_lmdb_open(&conf, err, errlen);
}

/* open_ok - open the store in dir or fail the test */
static struct store *
open_ok(const char *dir, const struct policy_params *p, size_t mapsize)
{
    char    err[STORE_ERRLEN] = "";
    struct store *st = open_dir(dir, p, mapsize, err, sizeof(err));

    ck_assert_msg(st != NULL, "open %s: %s", dir, err);
    return st;
}

/* trip - triplet number n of family fam (distinct client blocks) */
static void
trip(struct triplet *t, int fam, int n)
{
    memset(t, 0, sizeof(*t));
    snprintf(t->client_key, sizeof(t->client_key), "10.%d.%d.0/24", fam % 250, n % 250);
    snprintf(t->sender, sizeof(t->sender), "sender%d@example.org", n);
    snprintf(t->rcpt, sizeof(t->rcpt), "rcpt%d@example.net", n);
}

/* decide_ok - decide on t or fail the test; returns the reason */
static enum policy_reason
decide_ok(struct store *st, const struct triplet *t)
{
    struct policy_verdict v;
    char    err[STORE_ERRLEN] = "";

    ck_assert_msg(store_decide(st, t, &v, err, sizeof(err)) == 0, "decide: %s", err);
    return v.reason;
}

/* count_ok - entries in the store, or fail the test */
static size_t
count_ok(struct store *st)
{
    size_t  n = 0;
    char    err[STORE_ERRLEN] = "";

    ck_assert_msg(store_lmdb_count(st, &n, err, sizeof(err)) == 0, "count: %s", err);
    return n;
}

/* Directories contract_open() made in this process, removed at exit. */
static char contract_dirs[16][1024];
static int contract_ndirs;

/* contract_cleanup - remove the contract fixture's directories */
static void
contract_cleanup(void)
{
    for (int i = 0; i < contract_ndirs; i++)
        daemon_dir_remove(contract_dirs[i]);
    contract_ndirs = 0;
}

/*
 * contract_open - the store contract suite's fixture: a fresh, empty
 * environment in a new directory on every call.
 */
static struct store *
contract_open(const struct policy_params *p, char *err, size_t errlen)
{
    char    dir[1024];

    daemon_dir_new(dir, sizeof(dir), "lmdb");
    if (contract_ndirs == 0)
        atexit(contract_cleanup);
    if (contract_ndirs < 16)
        snprintf(contract_dirs[contract_ndirs++], sizeof(contract_dirs[0]), "%s", dir);
    return open_dir(dir, p, 0, err, errlen);
}

/* The basics this backend must get right before the contract suite. */
START_TEST(test_decide_basic)
{
    struct policy_params p = params(300, 3600);
    struct store *st = open_ok(test_dir, &p, 0);
    struct triplet a, b;

    trip(&a, 1, 1);
    trip(&b, 1, 2);
    ck_assert_int_eq(decide_ok(st, &a), POLICY_REASON_NEW);
    ck_assert_int_eq(decide_ok(st, &a), POLICY_REASON_EARLY);
    ck_assert_int_eq(decide_ok(st, &b), POLICY_REASON_NEW);
    ck_assert_uint_eq(count_ok(st), 2);
    store_free(st);
}
END_TEST

/*
 * Restart: greylisted before store_free(), the same triplet passes after
 * reopening once the delay has elapsed -- the state is on disk.
 */
START_TEST(test_restart)
{
    struct policy_params p = params(1, 3600);
    struct store *st = open_ok(test_dir, &p, 0);
    struct triplet t;
    enum policy_reason r;
    int64_t deadline;

    trip(&t, 2, 1);
    ck_assert_int_eq(decide_ok(st, &t), POLICY_REASON_NEW);
    store_free(st);

    st = open_ok(test_dir, &p, 0);
    /* Wait out the 1 s delay: at most 3 s, then the retry must pass. */
    deadline = daemon_now_ms() + 3000;
    daemon_sleep_ms(1100);
    while ((r = decide_ok(st, &t)) == POLICY_REASON_EARLY && daemon_now_ms() < deadline)
        daemon_sleep_ms(100);
    ck_assert_msg(r == POLICY_REASON_RETRY, "restart: got %s, want retry",
                  policy_reason_name(r));
    ck_assert_int_eq(decide_ok(st, &t), POLICY_REASON_KNOWN);
    store_free(st);
}
END_TEST

/* raw_env - open the test directory's environment with plain LMDB */
static MDB_env *
raw_env(MDB_dbi *dbi, MDB_txn **txn)
{
    MDB_env *env;

    ck_assert_int_eq(mdb_env_create(&env), 0);
    ck_assert_int_eq(mdb_env_set_maxdbs(env, 4), 0);
    ck_assert_int_eq(mdb_env_open(env, test_dir, 0, 0600), 0);
    ck_assert_int_eq(mdb_txn_begin(env, NULL, 0, txn), 0);
    ck_assert_int_eq(mdb_dbi_open(*txn, "entries", 0, dbi), 0);
    return env;
}

/* le64 - the little-endian int64 at p */
static int64_t
le64(const unsigned char *p)
{
    uint64_t u = 0;

    for (int i = 0; i < 8; i++)
        u |= (uint64_t) p[i] << (8 * i);
    return (int64_t) u;
}

/*
 * The on-disk format: the key is triplet_grey_key() with the prefix, as
 * in Redis; the value is the 32-byte record of store_lmdb.c. Malformed
 * values (wrong size, unknown version) count as absent for a decision and
 * are deleted by the sweeper.
 */
START_TEST(test_record_format)
{
    struct policy_params p = params(300, 3600);
    struct store_lmdb_sweep_stats ss;
    char    key[TRIPLET_KEY_MAX], err[STORE_ERRLEN] = "";
    unsigned char bad[REC_BAD_LEN];
    struct store *st = open_ok(test_dir, &p, 0);
    struct triplet t, u, w;
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_val k, v;
    const unsigned char *r;
    int64_t before = (int64_t) time(NULL);

    trip(&t, 13, 1);
    trip(&u, 13, 2);
    trip(&w, 13, 3);
    ck_assert_int_eq(decide_ok(st, &t), POLICY_REASON_NEW);
    store_free(st);

    env = raw_env(&dbi, &txn);
    k.mv_data = key;
    k.mv_size = triplet_grey_key("rg:", &t, key, sizeof(key));
    ck_assert_uint_gt(k.mv_size, 0);
    ck_assert_msg(mdb_get(txn, dbi, &k, &v) == 0, "no record under %.*s",
                  (int) k.mv_size, key);
    ck_assert_uint_eq(v.mv_size, 32);
    r = v.mv_data;
    ck_assert_int_eq(r[0], 1);
    ck_assert_int_eq(r[1], 'g');
    ck_assert_int_ge(le64(r + 16), before);                         /* first_seen */
    ck_assert_int_eq(le64(r + 8), le64(r + 16) + 3600);            /* expires */
    ck_assert_int_eq(le64(r + 24), 0);                              /* pending */

    /* u: a value of the wrong size; w: a record of an unknown version. */
    memset(bad, 0x55, sizeof(bad));
    k.mv_size = triplet_grey_key("rg:", &u, key, sizeof(key));
    v.mv_size = 5;
    v.mv_data = bad;
    ck_assert_int_eq(mdb_put(txn, dbi, &k, &v, 0), 0);
    k.mv_size = triplet_grey_key("rg:", &w, key, sizeof(key));
    bad[0] = 9;
    bad[1] = 'g';
    v.mv_size = 32;
    ck_assert_int_eq(mdb_put(txn, dbi, &k, &v, 0), 0);
    ck_assert_int_eq(mdb_txn_commit(txn), 0);
    mdb_env_close(env);

    st = open_ok(test_dir, &p, 0);
    ck_assert_int_eq(decide_ok(st, &u), POLICY_REASON_NEW);
    /* now = 0: nothing expires; only w's malformed record goes. */
    ck_assert_msg(store_lmdb_sweep_once(st, 0, &ss, err, sizeof(err)) == 0, "sweep: %s", err);
    ck_assert_msg(ss.deleted == 1, "malformed: got %zu deleted, want 1", ss.deleted);
    ck_assert_int_eq(decide_ok(st, &w), POLICY_REASON_NEW);
    ck_assert_int_eq(decide_ok(st, &t), POLICY_REASON_EARLY);
    ck_assert_uint_eq(count_ok(st), 3);
    store_free(st);
}
END_TEST

/*
 * test_blob_format - a blob is under store_blob_key's key in the "blobs"
 * database, the Redis backend's key: a 24-byte header (format 1, version,
 * stamp) and the data; nothing under the bare PREFIX NAME.
 */
START_TEST(test_blob_format)
{
    struct policy_params p = params(300, 3600);
    struct store *st = open_ok(test_dir, &p, 0);
    char    key[STORE_BLOB_KEY_MAX], err[STORE_ERRLEN] = "";
    struct store_blob_meta m;
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi, blobs;
    MDB_val k, v;
    const unsigned char *r;

    ck_assert_msg(store_blob_put(st, "bigsenders", "data", 4, &m, err, sizeof(err)) == 0,
                  "put: %s", err);
    ck_assert_msg(store_blob_put(st, "bigsenders", "data2", 5, &m, err, sizeof(err)) == 0,
                  "put: %s", err);
    store_free(st);

    env = raw_env(&dbi, &txn);
    ck_assert_int_eq(mdb_dbi_open(txn, "blobs", 0, &blobs), 0);
    k.mv_data = key;
    k.mv_size = store_blob_key("rg:", "bigsenders", key, sizeof(key));
    ck_assert_str_eq(key, "rg:blob:bigsenders");
    ck_assert_msg(mdb_get(txn, blobs, &k, &v) == 0, "no blob under %s", key);
    ck_assert_uint_eq(v.mv_size, 24 + 5);
    r = v.mv_data;
    ck_assert_int_eq(r[0], 1);
    ck_assert_int_eq(le64(r + 8), 2);
    ck_assert_int_eq(le64(r + 16), m.stamp);
    ck_assert_int_eq(memcmp(r + 24, "data2", 5), 0);
    k.mv_data = (void *) "rg:bigsenders";
    k.mv_size = strlen("rg:bigsenders");
    ck_assert_int_eq(mdb_get(txn, blobs, &k, &v), MDB_NOTFOUND);
    mdb_txn_abort(txn);
    mdb_env_close(env);
}
END_TEST

#define PROC_TRIPLETS 400

/*
 * proc_child - open the store in dir, wait for the go byte on gofd, decide
 * on PROC_TRIPLETS triplets and write one reason byte each to outfd.
 */
static void
proc_child(const char *dir, int gofd, int outfd)
{
    struct policy_params p = params(300, 3600);
    char    err[STORE_ERRLEN];
    unsigned char reasons[PROC_TRIPLETS];
    struct policy_verdict v;
    struct triplet t;
    struct store *st;
    char    go;

    alarm(30);
    if ((st = open_dir(dir, &p, 0, err, sizeof(err))) == NULL) {
        fprintf(stderr, "child: %s\n", err);
        _exit(2);
    }
    if (read(gofd, &go, 1) != 1)
        _exit(3);
    for (int i = 0; i < PROC_TRIPLETS; i++) {
        trip(&t, 3, i);
        if (store_decide(st, &t, &v, err, sizeof(err)) != 0) {
            fprintf(stderr, "child: %s\n", err);
            _exit(4);
        }
        reasons[i] = (unsigned char) v.reason;
    }
    store_free(st);
    if (write(outfd, reasons, sizeof(reasons)) != (ssize_t) sizeof(reasons))
        _exit(5);
    _exit(0);
}

/*
 * Two processes, one environment: both decide on the same fresh triplets
 * at the same time; across both, each triplet is NEW exactly once.
 */
START_TEST(test_two_processes)
{
    int     go[2], out[2][2], status;
    pid_t   pid[2];
    unsigned char reasons[2][PROC_TRIPLETS];

    ck_assert_int_eq(pipe(go), 0);
    for (int c = 0; c < 2; c++) {
        ck_assert_int_eq(pipe(out[c]), 0);
        pid[c] = fork();
        ck_assert_int_ge(pid[c], 0);
        if (pid[c] == 0) {
            close(go[1]);
            close(out[c][0]);
            proc_child(test_dir, go[0], out[c][1]);
        }
        close(out[c][1]);
    }
    close(go[0]);
    /* Both children are past open (or will be soon); release them together. */
    ck_assert_int_eq(write(go[1], "gg", 2), 2);
    close(go[1]);
    for (int c = 0; c < 2; c++) {
        ck_assert_msg(daemon_read_full(out[c][0], reasons[c], PROC_TRIPLETS, 20000) == 0,
                      "child %d: no results", c);
        close(out[c][0]);
        ck_assert_int_eq(waitpid(pid[c], &status, 0), pid[c]);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                      "child %d: status %d", c, status);
    }
    for (int i = 0; i < PROC_TRIPLETS; i++) {
        int     nnew = (reasons[0][i] == POLICY_REASON_NEW) + (reasons[1][i] == POLICY_REASON_NEW);
        int     nearly = (reasons[0][i] == POLICY_REASON_EARLY)
            + (reasons[1][i] == POLICY_REASON_EARLY);

        ck_assert_msg(nnew == 1 && nearly == 1, "triplet %d: got %d new and %d early,"
                      " want 1 and 1", i, nnew, nearly);
    }
}
END_TEST

/*
 * kill -9 in the middle of a stream of decisions: the environment opens,
 * every record is well-formed, what was committed is there, and the
 * writer lock the dead process may have held is usable.
 */
START_TEST(test_kill9)
{
    struct policy_params p = params(300, 3600);
    struct store_lmdb_sweep_stats ss;
    char    err[STORE_ERRLEN] = "";
    int     prog[2], status;
    unsigned char buf[64];
    size_t  seen = 0;
    pid_t   pid;
    struct store *st;
    struct triplet t;

    ck_assert_int_eq(pipe(prog), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        struct policy_verdict v;

        alarm(30);
        close(prog[0]);
        if ((st = open_dir(test_dir, &p, 0, err, sizeof(err))) == NULL)
            _exit(2);
        for (int i = 0;; i++) {
            trip(&t, 4, i);
            if (store_decide(st, &t, &v, err, sizeof(err)) != 0)
                _exit(3);
            if (i % 50 == 49 && write(prog[1], "x", 1) != 1)
                _exit(4);
        }
    }
    close(prog[1]);
    /* Let it commit at least 20 x 50 decisions, then kill it mid-stream. */
    while (seen < 20) {
        ck_assert_msg(daemon_read_full(prog[0], buf, 1, 10000) == 0, "writer made no progress");
        seen++;
    }
    kill(pid, SIGKILL);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    close(prog[0]);

    st = open_ok(test_dir, &p, 0);
    ck_assert_uint_ge(count_ok(st), 1000);
    /* now = 0: nothing is expired, so only a malformed record is deleted. */
    ck_assert_msg(store_lmdb_sweep_once(st, 0, &ss, err, sizeof(err)) == 0, "sweep: %s", err);
    ck_assert_msg(ss.deleted == 0, "kill9: got %zu malformed records, want 0", ss.deleted);
    ck_assert_uint_ge(ss.visited, 1000);
    trip(&t, 4, 0);
    ck_assert_int_eq(decide_ok(st, &t), POLICY_REASON_EARLY);
    trip(&t, 5, 0);
    ck_assert_int_eq(decide_ok(st, &t), POLICY_REASON_NEW);
    store_free(st);
}
END_TEST

/*
 * other_process - fork a child that waits for a byte on the returned
 * go pipe (*gofd), then opens the test environment with plain LMDB and
 * does `what` to it: 'h' holds a write transaction for HOLD_MS and
 * commits; 'g' grows the map to GROW_MAPSIZE and fills it past 1 MiB. The
 * child writes one byte to *readyfd once it holds the lock or is done.
 * Forking before the parent opens its store keeps the child free of the
 * parent's threads and environment.
 */
#define HOLD_MS      2000
#define GROW_MAPSIZE ((size_t) 16 << 20)
#define GROW_VALUES  600                 /* of 4 KiB: 2.4 MB */

static pid_t
other_process(int what, int *gofd, int *readyfd)
{
    int     go[2], ready[2];
    pid_t   pid;

    ck_assert_int_eq(pipe(go), 0);
    ck_assert_int_eq(pipe(ready), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        static char value[4096];
        MDB_env *env;
        MDB_txn *txn;
        MDB_dbi dbi;
        char    c, key[16];

        alarm(20);
        close(go[1]);
        close(ready[0]);
        if (read(go[0], &c, 1) != 1)
            _exit(2);
        if (mdb_env_create(&env) != 0 || mdb_env_set_maxdbs(env, 4) != 0
            || (what == 'g' && mdb_env_set_mapsize(env, GROW_MAPSIZE) != 0)
            || mdb_env_open(env, test_dir, 0, 0600) != 0
            || mdb_txn_begin(env, NULL, 0, &txn) != 0)
            _exit(3);
        if (what == 'h') {
            if (write(ready[1], "h", 1) != 1)
                _exit(4);
            daemon_sleep_ms(HOLD_MS);
        } else {
            if (mdb_dbi_open(txn, "pad", MDB_CREATE, &dbi) != 0)
                _exit(5);
            for (int i = 0; i < GROW_VALUES; i++) {
                MDB_val k = {(size_t) snprintf(key, sizeof(key), "pad%d", i), key};
                MDB_val v = {sizeof(value), value};

                if (mdb_put(txn, dbi, &k, &v, 0) != 0)
                    _exit(6);
            }
        }
        if (mdb_txn_commit(txn) != 0)
            _exit(7);
        mdb_env_close(env);
        if (what == 'g' && write(ready[1], "g", 1) != 1)
            _exit(8);
        _exit(0);
    }
    close(go[0]);
    close(ready[1]);
    *gofd = go[1];
    *readyfd = ready[0];
    return pid;
}

/* child_ok - wait (bounded) for the child to exit, successfully */
static void
child_ok(pid_t pid)
{
    int64_t deadline = daemon_now_ms() + 10000;
    int     status = 0;
    pid_t   r;

    while ((r = waitpid(pid, &status, WNOHANG)) == 0 && daemon_now_ms() < deadline)
        daemon_sleep_ms(10);
    ck_assert_msg(r == pid, "child %ld: still running after 10 s", (long) pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child: status %d", status);
}

#define LOCK_MARGIN_MS  150
#define LOCK_CALLS      3

/*
 * Another process holds LMDB's writer lock for HOLD_MS: every decision
 * fails within store_timeout + a margin, saying why, and has no effect;
 * once the other process commits, decisions work again, and the triplet
 * that timed out is still new.
 */
START_TEST(test_lock_timeout)
{
    struct policy_params p = params(300, 3600);
    struct policy_verdict v;
    char    err[STORE_ERRLEN];
    unsigned char c;
    struct store *st;
    struct triplet t;
    int64_t t0, ms, worst = 0;
    int     gofd, readyfd;
    pid_t   pid = other_process('h', &gofd, &readyfd);

    st = open_ok(test_dir, &p, 0);
    trip(&t, 14, 1);
    ck_assert_int_eq(write(gofd, "g", 1), 1);
    ck_assert_msg(daemon_read_full(readyfd, &c, 1, 5000) == 0, "the child never took the lock");
    for (int i = 0; i < LOCK_CALLS; i++) {
        err[0] = '\0';
        t0 = daemon_now_ms();
        ck_assert_msg(store_decide(st, &t, &v, err, sizeof(err)) == -1,
                      "call %d: decided while another process holds the lock", i);
        ms = daemon_now_ms() - t0;
        if (ms > worst)
            worst = ms;
        ck_assert_msg(strstr(err, "timeout waiting for the writer lock") != NULL
                      && strstr(err, test_dir) != NULL, "call %d: got \"%s\"", i, err);
    }
    fprintf(stderr, "lock_timeout: %d calls with the lock held elsewhere, store_timeout %d ms:"
            " slowest failed after %lld ms\n", LOCK_CALLS, LOCK_TIMEOUT_MS, (long long) worst);
    ck_assert_msg(worst < LOCK_TIMEOUT_MS + LOCK_MARGIN_MS, "slowest call: got %lld ms,"
                  " want < %d", (long long) worst, LOCK_TIMEOUT_MS + LOCK_MARGIN_MS);
    child_ok(pid);
    close(gofd);
    close(readyfd);
    ck_assert_int_eq(decide_ok(st, &t), POLICY_REASON_NEW);
    ck_assert_int_eq(decide_ok(st, &t), POLICY_REASON_EARLY);
    store_free(st);
}
END_TEST

/*
 * Another process grows the map past ours (a bigger lmdb_mapsize) and
 * fills it: the store adopts the new size and goes on deciding, instead
 * of failing until a restart.
 */
START_TEST(test_map_resized)
{
    struct policy_params p = params(300, 3600);
    struct store_blob_meta meta;
    char    err[STORE_ERRLEN] = "";
    unsigned char c;
    struct store *st;
    struct triplet t, u;
    int     gofd, readyfd;
    pid_t   pid = other_process('g', &gofd, &readyfd);

    st = open_ok(test_dir, &p, (size_t) 1 << 20);
    trip(&t, 15, 1);
    trip(&u, 15, 2);
    ck_assert_int_eq(decide_ok(st, &t), POLICY_REASON_NEW);
    ck_assert_int_eq(write(gofd, "g", 1), 1);
    ck_assert_msg(daemon_read_full(readyfd, &c, 1, 10000) == 0, "the child did not grow the map");
    child_ok(pid);
    close(gofd);
    close(readyfd);
    ck_assert_int_eq(decide_ok(st, &t), POLICY_REASON_EARLY);
    ck_assert_int_eq(decide_ok(st, &u), POLICY_REASON_NEW);
    ck_assert_msg(store_blob_put(st, "after-resize", "x", 1, &meta, err, sizeof(err)) == 0,
                  "blob put: %s", err);
    store_free(st);
}
END_TEST

#define SWEEP_PENDING 500
#define SWEEP_PASSED  300

/*
 * The sweep: pending entries with a 5 s retry window expire, passed ones
 * (pass_ttl 3600 s) stay. The sweep runs with its clock 10 s ahead rather
 * than sleeping; the decisions after it use the real clock.
 */
START_TEST(test_sweep_expired)
{
    struct policy_params p = params(0, 5);
    struct store_lmdb_sweep_stats ss;
    char    err[STORE_ERRLEN] = "";
    struct store *st = open_ok(test_dir, &p, 0);
    struct triplet t;
    size_t  before;

    for (int i = 0; i < SWEEP_PENDING; i++) {
        trip(&t, 6, i);
        ck_assert_int_eq(decide_ok(st, &t), POLICY_REASON_NEW);
    }
    for (int i = 0; i < SWEEP_PASSED; i++) {
        trip(&t, 7, i);
        ck_assert_int_eq(decide_ok(st, &t), POLICY_REASON_NEW);
        ck_assert_int_eq(decide_ok(st, &t), POLICY_REASON_RETRY);
    }
    before = count_ok(st);
    ck_assert_uint_ge(before, SWEEP_PENDING + SWEEP_PASSED);

    /* A sweep at the real time deletes nothing: nothing has expired yet. */
    ck_assert_msg(store_lmdb_sweep_once(st, (int64_t) time(NULL) - 1, &ss, err,
                                        sizeof(err)) == 0, "sweep: %s", err);
    ck_assert_msg(ss.deleted == 0, "early sweep: got %zu deleted, want 0", ss.deleted);

    ck_assert_msg(store_lmdb_sweep_once(st, (int64_t) time(NULL) + 10, &ss, err,
                                        sizeof(err)) == 0, "sweep: %s", err);
    ck_assert_msg(ss.deleted == SWEEP_PENDING, "sweep: got %zu deleted, want %d",
                  ss.deleted, SWEEP_PENDING);
    ck_assert_uint_eq(count_ok(st), before - SWEEP_PENDING);
    /* Several batches: the visit bound (4096) is not reached, the delete one is. */
    ck_assert_uint_ge(ss.batches, 2);

    trip(&t, 6, 17);
    ck_assert_int_eq(decide_ok(st, &t), POLICY_REASON_NEW);
    trip(&t, 7, 17);
    ck_assert_int_eq(decide_ok(st, &t), POLICY_REASON_KNOWN);
    store_free(st);
}
END_TEST

/*
 * The background sweeper, on a 1 s interval: entries with a 2 s retry
 * window disappear by themselves within a bounded wait; passed ones stay.
 * (2 s, not 1: an immediate retry must never see its entry expired.)
 */
START_TEST(test_sweeper_thread)
{
    struct policy_params p = params(0, 2);
    struct store *st = open_ok(test_dir, &p, 0);
    struct triplet t;
    size_t  live, n;
    int64_t deadline;

    for (int i = 0; i < 50; i++) {
        trip(&t, 8, i);
        ck_assert_int_eq(decide_ok(st, &t), POLICY_REASON_NEW);
        ck_assert_int_eq(decide_ok(st, &t), POLICY_REASON_RETRY);
    }
    live = count_ok(st);
    for (int i = 0; i < 100; i++) {
        trip(&t, 9, i);
        ck_assert_int_eq(decide_ok(st, &t), POLICY_REASON_NEW);
    }
    ck_assert_uint_eq(count_ok(st), live + 100);
    store_lmdb_set_sweep_interval(st, 1);
    deadline = daemon_now_ms() + 8000;
    while ((n = count_ok(st)) > live && daemon_now_ms() < deadline)
        daemon_sleep_ms(100);
    ck_assert_msg(n == live, "sweeper: got %zu entries, want %zu", n, live);
    store_free(st);
}
END_TEST

#define BIG_EXPIRED 200000
#define BIG_LIVE_EVERY 8                 /* one live entry per 8 (LATENCY_MIX) */
#define LATENCY_BOUND_MS 50

struct lat_arg {
    struct store *st;                    /* the store under test */
    atomic_int stop;                     /* set by the main thread */
    int64_t max_us;                      /* worst decision seen */
    long    decisions;                   /* decisions made */
    int     errors;                      /* decisions that failed */
};

/* lat_main - decide on fresh triplets until told to stop; track the worst */
static void *
lat_main(void *arg)
{
    struct lat_arg *la = arg;
    struct policy_verdict v;
    char    err[STORE_ERRLEN];
    struct triplet t;
    int64_t a, us;

    for (int i = 0; !atomic_load(&la->stop); i++) {
        trip(&t, 11, i);
        a = clock_mono_us();
        if (store_decide(la->st, &t, &v, err, sizeof(err)) != 0)
            la->errors++;
        us = clock_mono_us() - a;
        if (us > la->max_us)
            la->max_us = us;
        la->decisions++;
        daemon_sleep_ms(1);
    }
    return NULL;
}

/*
 * A sweep of 200k expired entries among live ones while another thread
 * decides: every decision finishes within LATENCY_BOUND_MS. The bound
 * holds because a batch holds the writer lock for a few ms (measured: see
 * the line printed on stderr); 50 ms leaves room for a loaded CI host.
 */
START_TEST(test_sweep_latency)
{
    struct policy_params p = params(0, 5);
    struct store_lmdb_sweep_stats ss;
    struct lat_arg la;
    char    err[STORE_ERRLEN] = "";
    struct store *st = open_ok(test_dir, &p, 0);
    struct triplet t;
    pthread_t th;
    int64_t t0;

    t0 = daemon_now_ms();
    /* Pending entries (5 s) expire; every 8th triplet passes and lives. */
    for (int i = 0, expired = 0; expired < BIG_EXPIRED; i++) {
        trip(&t, 10 + i / 62500, i);
        snprintf(t.rcpt, sizeof(t.rcpt), "r%d@example.net", i);
        ck_assert_int_eq(decide_ok(st, &t), POLICY_REASON_NEW);
        if (i % BIG_LIVE_EVERY == 0)
            ck_assert_int_eq(decide_ok(st, &t), POLICY_REASON_RETRY);
        else
            expired++;
    }
    fprintf(stderr, "sweep_latency: filled %zu entries in %lld ms\n", count_ok(st),
            (long long) (daemon_now_ms() - t0));

    memset(&la, 0, sizeof(la));
    atomic_init(&la.stop, 0);
    la.st = st;
    ck_assert_int_eq(pthread_create(&th, NULL, lat_main, &la), 0);
    daemon_sleep_ms(50);
    t0 = daemon_now_ms();
    ck_assert_msg(store_lmdb_sweep_once(st, (int64_t) time(NULL) + 10, &ss, err,
                                        sizeof(err)) == 0, "sweep: %s", err);
    atomic_store(&la.stop, 1);
    pthread_join(th, NULL);
    fprintf(stderr, "sweep_latency: swept %zu of %zu in %zu batches, %lld ms;"
            " longest batch %lld us; %ld decisions, worst %lld us\n",
            ss.deleted, ss.visited, ss.batches, (long long) (daemon_now_ms() - t0),
            (long long) ss.max_hold_us, la.decisions, (long long) la.max_us);
    ck_assert_uint_ge(ss.deleted, BIG_EXPIRED);
    ck_assert_uint_ge(ss.visited, BIG_EXPIRED + BIG_EXPIRED / (BIG_LIVE_EVERY - 1));
    ck_assert_int_eq(la.errors, 0);
    ck_assert_int_gt(la.decisions, 10);
    ck_assert_msg(la.max_us < LATENCY_BOUND_MS * 1000, "worst decision %lld us, want < %d ms",
                  (long long) la.max_us, LATENCY_BOUND_MS);
    store_free(st);
}
END_TEST

/*
 * A full map: decisions fail with "map full" and the configured size, the
 * process survives, and once the entries expired and were swept the
 * store answers again.
 */
START_TEST(test_map_full)
{
    struct policy_params p = params(300, 1);
    struct store_lmdb_sweep_stats ss;
    struct policy_verdict v;
    char    err[STORE_ERRLEN] = "";
    struct store *st = open_ok(test_dir, &p, 256 * 1024);
    struct triplet t;
    int     i, rc = 0;

    for (i = 0; i < 100000 && rc == 0; i++) {
        trip(&t, 12 + i / 62500, i);
        snprintf(t.rcpt, sizeof(t.rcpt), "r%d@example.net", i);
        rc = store_decide(st, &t, &v, err, sizeof(err));
    }
    ck_assert_msg(rc == -1, "map full: no error after %d decisions", i);
    ck_assert_msg(strstr(err, "map full (lmdb_mapsize 262144 bytes)") != NULL
                  && strstr(err, test_dir) != NULL, "map full: got \"%s\"", err);
    /* The next decision fails the same way, cleanly. */
    ck_assert_int_eq(store_decide(st, &t, &v, err, sizeof(err)), -1);

    ck_assert_msg(store_lmdb_sweep_once(st, (int64_t) time(NULL) + 10, &ss, err,
                                        sizeof(err)) == 0, "sweep of a full map: %s", err);
    ck_assert_uint_ge(ss.deleted, 100);
    trip(&t, 99, 1);
    ck_assert_int_eq(decide_ok(st, &t), POLICY_REASON_NEW);
    store_free(st);
}
END_TEST

enum bad_kind {
    BAD_URL,                             /* the url as given */
    BAD_MISSING,                         /* a directory that does not exist */
    BAD_FILE,                            /* a regular file */
    BAD_GARBAGE,                         /* data.mdb full of junk */
    BAD_SHORT,                           /* data.mdb of a few junk bytes */
    BAD_DATADIR,                         /* data.mdb is a directory */
    BAD_UNWRITABLE,                      /* a directory we may not write */
    BAD_TWICE,                           /* already open in this process */
};

static const struct bad_case {
    const char *label;
    enum bad_kind kind;
    const char *url;                     /* BAD_URL only */
    const char *want;                    /* substring of the error */
} bad_cases[] = {
    {"not lmdb", BAD_URL, "redis://127.0.0.1", "not an lmdb: URL"},
    {"empty path", BAD_URL, "lmdb:", "absolute path"},
    {"relative path", BAD_URL, "lmdb:var/lib/redgrey", "absolute path"},
    {"missing dir", BAD_MISSING, NULL, "No such file or directory"},
    {"regular file", BAD_FILE, NULL, "not a directory"},
    {"garbage data.mdb", BAD_GARBAGE, NULL, "not an LMDB environment"},
    {"short data.mdb", BAD_SHORT, NULL, "not an LMDB environment"},
    {"data.mdb dir", BAD_DATADIR, NULL, "data.mdb is not a regular file"},
    {"unwritable dir", BAD_UNWRITABLE, NULL, "not writable"},
    {"opened twice", BAD_TWICE, NULL, "already open in this process"},
};

/* write_file - create path with len bytes of junk */
static void
write_file(const char *path, size_t len)
{
    FILE   *f = fopen(path, "w");

    ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
    for (size_t i = 0; i < len; i++)
        fputc("not an lmdb file\n"[i % 17], f);
    ck_assert_int_eq(fclose(f), 0);
}

/*
 * open_unwritable - open a directory this process may not write. Root may
 * write anything (CI runs as root), so as root the open runs in a child
 * that first drops to nobody (65534); the directory stays root's, 0755.
 * Writes the child's error to err. Returns 1 if the open failed.
 */
static int
open_unwritable(const char *dir, char *err, size_t errlen)
{
    struct policy_params p = params(300, 3600);
    int     fds[2], status;
    unsigned char buf[STORE_ERRLEN];
    struct store *st;
    pid_t   pid;

    ck_assert_int_eq(chmod(test_dir, 0755), 0);
    ck_assert_int_eq(chmod(dir, geteuid() == 0 ? 0755 : 0555), 0);
    ck_assert_int_eq(pipe(fds), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(fds[0]);
        alarm(10);
        if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
            _exit(2);
        memset(buf, 0, sizeof(buf));
        st = open_dir(dir, &p, 0, (char *) buf, sizeof(buf));
        if (write(fds[1], buf, sizeof(buf)) != (ssize_t) sizeof(buf))
            _exit(3);
        _exit(st == NULL ? 1 : 0);
    }
    close(fds[1]);
    ck_assert_int_eq(daemon_read_full(fds[0], buf, sizeof(buf), 10000), 0);
    close(fds[0]);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    chmod(dir, 0700);
    buf[sizeof(buf) - 1] = '\0';
    snprintf(err, errlen, "%s", (char *) buf);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) <= 1, "child status %d", status);
    return WEXITSTATUS(status) == 1;
}

START_TEST(test_bad_open)
{
    const struct bad_case *c = &bad_cases[_i];
    struct policy_params p = params(300, 3600);
    char    path[1100], url[DIR_MAX + 8], err[STORE_ERRLEN] = "";
    struct store_config conf;
    struct store *st = NULL, *first = NULL;
    int     failed;

    snprintf(path, sizeof(path), "%s/sub", test_dir);
    switch (c->kind) {
    case BAD_URL:
        break;
    case BAD_MISSING:
        break;
    case BAD_FILE:
        write_file(path, 10);
        break;
    case BAD_GARBAGE:
    case BAD_SHORT:
    case BAD_DATADIR:
        ck_assert_int_eq(mkdir(path, 0700), 0);
        snprintf(url, sizeof(url), "%s/data.mdb", path);
        if (c->kind == BAD_DATADIR)
            ck_assert_int_eq(mkdir(url, 0700), 0);
        else
            write_file(url, c->kind == BAD_GARBAGE ? 65536 : 10);
        break;
    case BAD_UNWRITABLE:
    case BAD_TWICE:
        ck_assert_int_eq(mkdir(path, 0700), 0);
        break;
    }

    if (c->kind == BAD_UNWRITABLE) {
        failed = open_unwritable(path, err, sizeof(err));
    } else {
        if (c->kind == BAD_TWICE)
            first = open_ok(path, &p, 0);
        memset(&conf, 0, sizeof(conf));
        snprintf(url, sizeof(url), "lmdb:%s", path);
        conf.url = c->kind == BAD_URL ? c->url : url;
        conf.key_prefix = "rg:";
        conf.params = p;
        st = store_lmdb_open(&conf, err, sizeof(err));
        failed = st == NULL;
        store_free(st);
        store_free(first);
    }
    ck_assert_msg(failed, "%s: got a store, want an error", c->label);
    ck_assert_msg(strstr(err, c->want) != NULL, "%s: got \"%s\", want \"%s\"",
                  c->label, err, c->want);
    if (c->kind != BAD_URL)
        ck_assert_msg(strstr(err, path) != NULL, "%s: got \"%s\", want the path %s",
                      c->label, err, path);
}
END_TEST

static Suite *
store_lmdb_suite(void)
{
    Suite  *s = suite_create("store_lmdb");
    TCase  *tc;

    tc = tcase_create("decide");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_decide_basic);
    tcase_add_test(tc, test_restart);
    tcase_add_test(tc, test_record_format);
    tcase_add_test(tc, test_blob_format);
    tcase_set_timeout(tc, 10);
    suite_add_tcase(s, tc);

    tc = tcase_create("processes");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_two_processes);
    tcase_add_test(tc, test_kill9);
    tcase_add_test(tc, test_lock_timeout);
    tcase_add_test(tc, test_map_resized);
    tcase_set_timeout(tc, 40);
    suite_add_tcase(s, tc);

    tc = tcase_create("sweep");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_sweep_expired);
    tcase_add_test(tc, test_sweeper_thread);
    tcase_add_test(tc, test_sweep_latency);
    tcase_add_test(tc, test_map_full);
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);

    tc = tcase_create("bad input");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, test_bad_open, 0, sizeof(bad_cases) / sizeof(bad_cases[0]));
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    Suite  *own = store_lmdb_suite();

    return daemon_run_suites(own, store_contract_suite("lmdb", contract_open), NULL) == 0
        ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_store_sentinel.c - the Redis store on a redis-sentinel:// URL,
 * against real processes this program starts on free loopback ports: one
 * primary, one replica, three redis-sentinel (down-after-milliseconds
 * 1000, quorum 2). Cases: decisions through the sentinels, a sentinel
 * that is down skipped; SENTINEL FAILOVER and, separately, SIGKILL of the
 * primary, both under steady load from a few threads: decisions resume on
 * the new primary within RESUME_MS of the sentinels' switch, every
 * decision is a verdict or a store error, errors only during the switch
 * and none after, the move is logged once with both addresses, and a
 * triplet greylisted before the failover (replicated: WAIT 1) passes
 * after it. Then the URL itself: the parser's good and bad rows, the
 * password masked, and what redgrey -t says, TLS included. (A demoted
 * primary without Sentinel is check_store_redis_ha.c's test_demoted.)
 *
 * The measured times are printed (for BENCHMARKS.md). Nothing is mocked
 * and nothing sleeps to let time pass: every wait is a bounded poll for
 * a condition. Processes started here are killed at exit, also when a
 * test fails.
 */
#include "config.h"

#include <check.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "daemon.h"
#include "store.h"
#include "store_redis.h"
#include "triplet.h"

#define MASTER        "rgmaster"
#define SN_PASS       "sn-t0psecret"     /* the sentinels' requirepass */
#define STORE_TIMEOUT 200                /* ms: the stores opened here */
#define RESUME_MS     5000               /* decisions resume within this of the switch */
#define SETTLE_MS     15000              /* bound on the harness coming up */
#define SWITCH_MS     15000              /* bound on the sentinels' switch */
#define AFTER_MS      1000               /* load kept up after the recovery */
#define LOAD_THREADS  4
#define LOAD_MAX      100000             /* decisions per thread at most */
#define PROCS_MAX     8

/* ------------------------------------------------ the processes */

struct sn_proc {
    pid_t   pid;                         /* 0: not running */
    int     port;
};

struct sn_ha {
    struct sn_proc primary, replica, sentinel[3];
};

static struct sn_proc *sn_procs[PROCS_MAX]; /* killed at exit */

/* sn_cleanup - atexit: kill what a failed test left running */
static void
sn_cleanup(void)
{
    for (int i = 0; i < PROCS_MAX; i++)
        if (sn_procs[i] != NULL && sn_procs[i]->pid > 0) {
            kill(sn_procs[i]->pid, SIGKILL);
            waitpid(sn_procs[i]->pid, NULL, 0);
            sn_procs[i]->pid = 0;
        }
}

/* sn_kill - SIGKILL p and reap it */
static void
sn_kill(struct sn_proc *p)
{
    if (p->pid > 0) {
        kill(p->pid, SIGKILL);
        waitpid(p->pid, NULL, 0);
        p->pid = 0;
    }
    for (int i = 0; i < PROCS_MAX; i++)
        if (sn_procs[i] == p)
            sn_procs[i] = NULL;
}

/* sn_redis - a connection to 127.0.0.1:port within ms, or NULL */
static redisContext *
sn_redis(int port, int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);

    if (c == NULL || c->err != 0 || redisSetTimeout(c, tv) != REDIS_OK) {
        redisFree(c);
        return NULL;
    }
    return c;
}

/*
 * sn_vreply - the reply to a command on a new connection to port, after
 * AUTH pass if not NULL (caller frees), or NULL
 */
static redisReply *
sn_vreply(int port, const char *pass, const char *fmt, va_list ap)
{
    redisContext *c = sn_redis(port, 1000);
    redisReply *r = NULL;

    if (c == NULL)
        return NULL;
    if (pass != NULL)
        freeReplyObject(redisCommand(c, "AUTH %s", pass));
    r = redisvCommand(c, fmt, ap);
    redisFree(c);
    return r;
}

/* sn_reply - sn_vreply to a server, without AUTH */
static redisReply *
sn_reply(int port, const char *fmt, ...)
{
    redisReply *r;
    va_list ap;

    va_start(ap, fmt);
    r = sn_vreply(port, NULL, fmt, ap);
    va_end(ap);
    return r;
}

/* sn_sreply - sn_vreply to a sentinel, which wants SN_PASS */
static redisReply *
sn_sreply(const struct sn_proc *s, const char *fmt, ...)
{
    redisReply *r;
    va_list ap;

    va_start(ap, fmt);
    r = sn_vreply(s->port, SN_PASS, fmt, ap);
    va_end(ap);
    return r;
}

/*
 * sn_spawn - start argv (argv[0] looked up in PATH) as p on port and wait
 * until it answers PING; 0, or -1 if it exited or did not answer in 5 s
 */
static int
sn_spawn(struct sn_proc *p, int port, const char *const *argv)
{
    long long t0 = daemon_now_ms();
    int     slot = 0;

    while (slot < PROCS_MAX && sn_procs[slot] != NULL)
        slot++;
    ck_assert_msg(slot < PROCS_MAX, "too many processes");
    p->port = port;
    if ((p->pid = fork()) < 0)
        return -1;
    if (p->pid == 0) {
        execvp(argv[0], (char *const *) argv);
        _exit(127);
    }
    sn_procs[slot] = p;
    while (daemon_now_ms() - t0 < 5000) {
        redisReply *r = sn_reply(port, "PING");
        int     up = r != NULL;          /* PONG, or NOAUTH from a sentinel */

        freeReplyObject(r);
        if (up)
            return 0;
        if (waitpid(p->pid, NULL, WNOHANG) == p->pid) {
            p->pid = 0;
            sn_procs[slot] = NULL;
            return -1;
        }
        daemon_sleep_ms(20);
    }
    sn_kill(p);
    return -1;
}

/* sn_server - redis-server as p on a free port, a replica of replicaof if > 0 */
static void
sn_server(struct sn_proc *p, int replicaof)
{
    char    port[16], dir[600], log[620], master[16];

    for (int tries = 0; tries < 5; tries++) {
        int     n = daemon_free_port();
        const char *argv[] = {"redis-server", "--bind", "127.0.0.1", "--port", port,
                              "--save", "", "--appendonly", "no", "--dir", dir,
                              "--logfile", log, replicaof > 0 ? "--replicaof" : NULL,
                              "127.0.0.1", master, NULL};

        snprintf(port, sizeof(port), "%d", n);
        snprintf(master, sizeof(master), "%d", replicaof);
        snprintf(dir, sizeof(dir), "%s/sn-%d", daemon_tmp(), n);
        snprintf(log, sizeof(log), "%s/redis.log", dir);
        mkdir(dir, 0755);
        if (n > 0 && sn_spawn(p, n, argv) == 0)
            return;
    }
    ck_abort_msg("cannot start redis-server on a free loopback port");
}

/*
 * sn_sentinel - redis-sentinel as p on a free port, watching MASTER at
 * primary, with the password SN_PASS (which the sentinels also use with
 * each other)
 */
static void
sn_sentinel(struct sn_proc *p, int primary)
{
    char    conf[600], text[600];

    for (int tries = 0; tries < 5; tries++) {
        int     n = daemon_free_port();
        const char *argv[] = {"redis-sentinel", conf, NULL};

        /* The sentinel rewrites its file: one each, in our scratch directory. */
        snprintf(conf, sizeof(conf), "%s/sentinel-%d.conf", daemon_tmp(), n);
        snprintf(text, sizeof(text),
                 "port %d\nbind 127.0.0.1\ndir %s\nlogfile %s/sentinel-%d.log\n"
                 "requirepass " SN_PASS "\n"
                 "sentinel monitor " MASTER " 127.0.0.1 %d 2\n"
                 "sentinel down-after-milliseconds " MASTER " 1000\n"
                 "sentinel failover-timeout " MASTER " 5000\n",
                 n, daemon_tmp(), daemon_tmp(), n, primary);
        ck_assert_int_eq(daemon_write_file(conf, text), 0);
        if (n > 0 && sn_spawn(p, n, argv) == 0)
            return;
    }
    ck_abort_msg("cannot start redis-sentinel on a free loopback port");
}

/* sn_field - the integer field name of a flat [name, value, ...] reply, or -1 */
static long long
sn_field(const redisReply *r, const char *name)
{
    for (size_t i = 0; r != NULL && r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements; i += 2)
        if (r->element[i]->type == REDIS_REPLY_STRING && strcmp(r->element[i]->str, name) == 0
            && r->element[i + 1]->type == REDIS_REPLY_STRING)
            return atoll(r->element[i + 1]->str);
    return -1;
}

/* sn_master_port - the port sentinel s names for MASTER, or -1 */
static int
sn_master_port(const struct sn_proc *s)
{
    redisReply *r = sn_sreply(s, "SENTINEL get-master-addr-by-name " MASTER);
    int     port = -1;

    if (r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 2
        && r->element[1]->type == REDIS_REPLY_STRING)
        port = atoi(r->element[1]->str);
    freeReplyObject(r);
    return port;
}

/*
 * sn_ha_start - primary, replica (its link up), three sentinels that know the
 * replica and each other (which a failover's quorum and election need)
 */
static void
sn_ha_start(struct sn_ha *h)
{
    long long t0;

    memset(h, 0, sizeof(*h));
    sn_server(&h->primary, 0);
    sn_server(&h->replica, h->primary.port);
    for (int i = 0; i < 3; i++)
        sn_sentinel(&h->sentinel[i], h->primary.port);
    for (t0 = daemon_now_ms(); daemon_now_ms() - t0 < SETTLE_MS; daemon_sleep_ms(50)) {
        redisReply *info = sn_reply(h->replica.port, "INFO replication");
        int     ready = info != NULL && info->type == REDIS_REPLY_STRING
            && strstr(info->str, "master_link_status:up") != NULL;

        freeReplyObject(info);

        for (int i = 0; i < 3; i++) {
            redisReply *r = sn_sreply(&h->sentinel[i], "SENTINEL master " MASTER);

            ready += sn_field(r, "num-slaves") == 1 && sn_field(r, "num-other-sentinels") == 2;
            freeReplyObject(r);
        }
        if (ready == 4) {
            printf("sentinel: harness ready in %lld ms\n", daemon_now_ms() - t0);
            return;
        }
    }
    ck_abort_msg("sentinels did not see the replica and each other within %d ms", SETTLE_MS);
}

/* sn_ha_stop - kill everything */
static void
sn_ha_stop(struct sn_ha *h)
{
    for (int i = 0; i < 3; i++)
        sn_kill(&h->sentinel[i]);
    sn_kill(&h->replica);
    sn_kill(&h->primary);
}

/* sn_url - the redis-sentinel:// URL of h's running sentinels */
static const char *
sn_url(const struct sn_ha *h, char *buf, size_t len)
{
    int     n = snprintf(buf, len, "redis-sentinel://");

    for (int i = 0; i < 3; i++)
        n += snprintf(buf + n, len - (size_t) n, "%s127.0.0.1:%d", n > 17 ? "," : "",
                      h->sentinel[i].port);
    snprintf(buf + n, len - (size_t) n, "/" MASTER);
    return buf;
}

/* ------------------------------------------------ the store, observed */

/* What the store's notify function heard of moves (each test runs in its own process). */
static pthread_mutex_t sn_moves_lock = PTHREAD_MUTEX_INITIALIZER;
static int sn_moves;                     /* "primary moved" lines */
static char sn_move_line[STORE_ERRLEN * 2]; /* the first of them */
static long long sn_move_ms;             /* when it came */

/* sn_notify - store_notify_fn: count the moves, keep the first line */
static void
sn_notify(const char *line)
{
    pthread_mutex_lock(&sn_moves_lock);
    if (strstr(line, "primary moved") != NULL && sn_moves++ == 0) {
        snprintf(sn_move_line, sizeof(sn_move_line), "%s", line);
        sn_move_ms = daemon_now_ms();
    }
    pthread_mutex_unlock(&sn_moves_lock);
}

/* sn_moved - how many moves were reported; when the first was, into *ms (may be NULL) */
static int
sn_moved(long long *ms)
{
    int     n;

    pthread_mutex_lock(&sn_moves_lock);
    n = sn_moves;
    if (ms != NULL)
        *ms = sn_move_ms;
    pthread_mutex_unlock(&sn_moves_lock);
    return n;
}

static char sn_prefix[32];

/*
 * sn_open_with - a store on url (delay 1 s) with the sentinels' password
 * pass, sn_notify as notify; the open's warning into err
 */
static struct store *
sn_open_with(const char *url, const char *pass, char *err, size_t errlen)
{
    struct store_config conf = {
        .url = url, .key_prefix = sn_prefix, .timeout_ms = STORE_TIMEOUT, .pool = 8,
        .params = {.delay = 1, .retry_window = 600, .pass_ttl = 3600, .awl_threshold = 0,
                   .awl_ttl = 3600},
        .sentinel_password = pass,
    };
    struct store *st;

    snprintf(sn_prefix, sizeof(sn_prefix), "sn%ld:", (long) getpid());
    err[0] = 0;
    st = store_open(&conf, err, errlen);
    ck_assert_msg(st != NULL, "open %s: %s", url, err);
    store_set_notify(st, sn_notify);
    return st;
}

/* sn_open - sn_open_with the right password, which must give no warning */
static struct store *
sn_open(const char *url)
{
    char    err[STORE_ERRLEN];
    struct store *st = sn_open_with(url, SN_PASS, err, sizeof(err));

    ck_assert_msg(err[0] == 0, "open %s: warning %s", url, err);
    return st;
}

/* sn_triplet - triplet n of thread k (k < 0: the test's own) */
static void
sn_triplet(struct triplet *t, int k, int n)
{
    memset(t, 0, sizeof(*t));
    snprintf(t->client_key, sizeof(t->client_key), "198.51.%d.0/24", k < 0 ? 200 : k);
    snprintf(t->sender, sizeof(t->sender), "sender@example.org");
    snprintf(t->rcpt, sizeof(t->rcpt), "rcpt%d@example.net", n);
}

/* sn_decide - one decision on triplet (k, n): its action, or -1 with err */
static int
sn_decide(struct store *st, int k, int n, char *err, size_t errlen)
{
    struct policy_verdict v;
    struct triplet t;

    sn_triplet(&t, k, n);
    err[0] = 0;
    return store_decide(st, &t, &v, err, errlen) == 0 ? (int) v.action : -1;
}

/* Steady load: LOAD_THREADS threads deciding new triplets, 1 ms apart. */
struct sn_load {
    struct store *st;
    pthread_t thread[LOAD_THREADS];
    atomic_int stop;
    atomic_long ok, errors, bad;         /* verdicts, store errors, anything else */
    atomic_llong mark;                   /* ms: the switch; 0 = not yet */
    atomic_llong resumed;                /* ms: end of the first success begun after mark */
    atomic_llong recovered;              /* ms: from here on no error is allowed */
    atomic_long errors_after;            /* store errors of calls begun after recovered */
    atomic_llong longest;                /* ms: the slowest decision */
    char    first_err[STORE_ERRLEN];     /* the first store error, for the report */
    pthread_mutex_t lock;                /* guards first_err */
};

struct sn_worker {
    struct sn_load *load;
    int     k;
};

/* sn_load_run - one load thread */
static void *
sn_load_run(void *arg)
{
    struct sn_worker *w = arg;
    struct sn_load *l = w->load;
    char    err[STORE_ERRLEN];

    for (int n = 0; n < LOAD_MAX && !atomic_load(&l->stop); n++) {
        long long t0 = daemon_now_ms(), t1, mark, rec;
        int     a = sn_decide(l->st, w->k, n, err, sizeof(err));

        t1 = daemon_now_ms();
        if (t1 - t0 > atomic_load(&l->longest))
            atomic_store(&l->longest, t1 - t0);
        mark = atomic_load(&l->mark);
        rec = atomic_load(&l->recovered);
        if (a == POLICY_PASS || a == POLICY_TEMPFAIL) {
            long long none = 0;

            atomic_fetch_add(&l->ok, 1);
            if (mark != 0 && t0 >= mark)
                atomic_compare_exchange_strong(&l->resumed, &none, t1);
        } else if (a == -1 && err[0] != 0) {
            atomic_fetch_add(&l->errors, 1);
            if (rec != 0 && t0 >= rec)
                atomic_fetch_add(&l->errors_after, 1);
            pthread_mutex_lock(&l->lock);
            if (l->first_err[0] == 0)
                snprintf(l->first_err, sizeof(l->first_err), "%s", err);
            pthread_mutex_unlock(&l->lock);
        } else
            atomic_fetch_add(&l->bad, 1);
        daemon_sleep_ms(1);
    }
    return NULL;
}

static struct sn_worker sn_workers[LOAD_THREADS];

/* sn_load_start - start the threads, and wait until 50 decisions went through */
static void
sn_load_start(struct sn_load *l, struct store *st)
{
    long long t0 = daemon_now_ms();

    memset(l, 0, sizeof(*l));
    l->st = st;
    pthread_mutex_init(&l->lock, NULL);
    for (int i = 0; i < LOAD_THREADS; i++) {
        sn_workers[i] = (struct sn_worker) {l, i};
        ck_assert_int_eq(pthread_create(&l->thread[i], NULL, sn_load_run, &sn_workers[i]), 0);
    }
    while (atomic_load(&l->ok) < 50 && daemon_now_ms() - t0 < 5000)
        daemon_sleep_ms(5);
    ck_assert_msg(atomic_load(&l->ok) >= 50 && atomic_load(&l->errors) == 0,
                  "load: %ld verdicts, %ld errors before the failover (%s)",
                  atomic_load(&l->ok), atomic_load(&l->errors), l->first_err);
}

/* sn_load_stop - stop and join the threads */
static void
sn_load_stop(struct sn_load *l)
{
    atomic_store(&l->stop, 1);
    for (int i = 0; i < LOAD_THREADS; i++)
        pthread_join(l->thread[i], NULL);
    pthread_mutex_destroy(&l->lock);
}

/*
 * sn_greylist_replicated - decide the test's triplet 1 (new: tempfail),
 * then make sure the replica has it: a write of our own after it and
 * WAIT 1, which covers everything the primary wrote before
 */
static void
sn_greylist_replicated(struct store *st, const struct sn_ha *h)
{
    char    err[STORE_ERRLEN];
    redisContext *c = sn_redis(h->primary.port, 2000);
    redisReply *r;

    ck_assert_msg(sn_decide(st, -1, 1, err, sizeof(err)) == POLICY_TEMPFAIL,
                  "before the failover: want a tempfail (%s)", err);
    ck_assert_ptr_nonnull(c);
    freeReplyObject(redisCommand(c, "SET %sfence 1", sn_prefix));
    r = redisCommand(c, "WAIT 1 2000");
    ck_assert_msg(r != NULL && r->type == REDIS_REPLY_INTEGER && r->integer == 1,
                  "WAIT 1: the replica did not acknowledge");
    freeReplyObject(r);
    redisFree(c);
}

/*
 * sn_follow - with the load running and the primary being replaced (by
 * the caller, at t_cause): wait for the sentinels' switch to the replica,
 * then for the load to succeed again; AFTER_MS more of load without a
 * single error; the greylisted triplet passes, new keys land on the new
 * primary, and the move was logged once, with both addresses
 */
static void
sn_follow(struct store *st, struct sn_load *l, const struct sn_ha *h, long long t_cause,
          const char *what)
{
    char    err[STORE_ERRLEN], from[32], to[32], key[TRIPLET_KEY_MAX];
    long long t_switch = 0, t_moved = 0, t_end;
    struct triplet t;
    redisReply *r;

    while (daemon_now_ms() - t_cause < SWITCH_MS && t_switch == 0) {
        if (sn_master_port(&h->sentinel[1]) == h->replica.port)
            t_switch = daemon_now_ms();
        else
            daemon_sleep_ms(10);
    }
    ck_assert_msg(t_switch != 0, "%s: no switch to the replica within %d ms", what, SWITCH_MS);
    /* Resumed: the first success of a decision begun after the store moved. */
    while (sn_moved(&t_moved) == 0 && daemon_now_ms() - t_switch < RESUME_MS)
        daemon_sleep_ms(5);
    ck_assert_msg(t_moved != 0, "%s: the store did not move within %d ms of the switch"
                  " (%ld errors, first: %s)", what, RESUME_MS, atomic_load(&l->errors),
                  l->first_err);
    atomic_store(&l->mark, t_moved);
    while (atomic_load(&l->resumed) == 0 && daemon_now_ms() - t_switch < RESUME_MS)
        daemon_sleep_ms(5);
    ck_assert_msg(atomic_load(&l->resumed) != 0, "%s: no decision within %d ms of the switch"
                  " (%ld errors, first: %s)", what, RESUME_MS, atomic_load(&l->errors),
                  l->first_err);
    atomic_store(&l->recovered, atomic_load(&l->resumed));
    t_end = daemon_now_ms() + AFTER_MS;
    while (daemon_now_ms() < t_end)
        daemon_sleep_ms(10);
    sn_load_stop(l);

    printf("sentinel %s: the sentinels switched %lld ms after it; the store moved %+lld ms"
           " and decided on the new primary %+lld ms from the switch; %ld verdicts, %ld"
           " store errors during the switch (first: %s), slowest decision %lld ms\n", what,
           t_switch - t_cause, t_moved - t_switch, atomic_load(&l->resumed) - t_switch,
           atomic_load(&l->ok), atomic_load(&l->errors),
           l->first_err[0] ? l->first_err : "none", atomic_load(&l->longest));
    ck_assert_msg(atomic_load(&l->bad) == 0, "%s: %ld decisions neither verdict nor error",
                  what, atomic_load(&l->bad));
    ck_assert_msg(atomic_load(&l->errors_after) == 0, "%s: %ld errors after the recovery",
                  what, atomic_load(&l->errors_after));
    ck_assert_msg(atomic_load(&l->longest) <= 2 * STORE_TIMEOUT + 100,
                  "%s: a decision took %lld ms", what, atomic_load(&l->longest));

    /* The move, logged once with the old and the new address. */
    snprintf(from, sizeof(from), "from 127.0.0.1:%d", h->primary.port);
    snprintf(to, sizeof(to), "to 127.0.0.1:%d", h->replica.port);
    ck_assert_msg(sn_moved(NULL) == 1 && strstr(sn_move_line, from) != NULL
                  && strstr(sn_move_line, to) != NULL, "%s: %d moves, the first \"%s\":"
                  " want one, %s %s", what, sn_moved(NULL), sn_move_line, from, to);

    /* Greylisted before, replicated: passes on the new primary (delay 1 s). */
    ck_assert_msg(sn_decide(st, -1, 1, err, sizeof(err)) == POLICY_PASS,
                  "%s: the triplet greylisted before does not pass (%s)", what, err);
    ck_assert_msg(sn_decide(st, -1, 2, err, sizeof(err)) == POLICY_TEMPFAIL,
                  "%s: a new triplet: %s", what, err);
    sn_triplet(&t, -1, 2);
    triplet_grey_key(sn_prefix, &t, key, sizeof(key));
    r = sn_reply(h->replica.port, "EXISTS %s", key);
    ck_assert_msg(r != NULL && r->type == REDIS_REPLY_INTEGER && r->integer == 1,
                  "%s: the new triplet's key is not on the new primary", what);
    freeReplyObject(r);
}

/* ------------------------------------------------ the cases */

/*
 * Decisions through the sentinels, with the first one of the URL down:
 * it is skipped, open gives no warning, redgrey -t is content (given
 * sentinel_password). Without the sentinels' password the store warns
 * and decides nothing.
 */
START_TEST(test_down_sentinel)
{
    struct sn_ha h;
    char    url[256], err[STORE_ERRLEN], path[700], conf[400], out[4096];
    char   *argv[] = {(char *) DAEMON_REDGREY_BIN, (char *) "-t", (char *) "-c", path, NULL};
    struct store *st;
    long long t0;
    int     rc;

    sn_ha_start(&h);
    sn_url(&h, url, sizeof(url));
    sn_kill(&h.sentinel[0]);
    t0 = daemon_now_ms();
    st = sn_open(url);
    ck_assert_msg(daemon_now_ms() - t0 < 2 * STORE_TIMEOUT, "open took %lld ms",
                  daemon_now_ms() - t0);
    ck_assert_msg(sn_decide(st, -1, 1, err, sizeof(err)) == POLICY_TEMPFAIL, "new: %s", err);
    ck_assert_msg(sn_decide(st, -1, 1, err, sizeof(err)) == POLICY_TEMPFAIL, "early: %s", err);
    store_free(st);

    /* Without the sentinels' password: a warning saying so, and no decisions. */
    st = sn_open_with(url, NULL, err, sizeof(err));
    ck_assert_msg(strstr(err, "NOAUTH") != NULL, "no sentinel password: warning \"%s\"", err);
    ck_assert_msg(sn_decide(st, -1, 2, err, sizeof(err)) == -1, "decided without the sentinels");
    store_free(st);

    snprintf(path, sizeof(path), "%s/sn-check.conf", daemon_tmp());
    snprintf(conf, sizeof(conf), "store = %s\nuser = \"\"\nwhitelist_recipients = \"\"\n"
                 "dynamic_patterns = \"\"\n"
                 "sentinel_password = " SN_PASS "\n",
             url);
    ck_assert_int_eq(daemon_write_file(path, conf), 0);
    rc = daemon_capture((const char *const *) argv, out, sizeof(out), 10000);
    ck_assert_msg(rc == 0 && strstr(out, "warning") == NULL
                  && strstr(out, "configuration OK") != NULL,
                  "redgrey -t, one sentinel down: exit %d, \"%s\"", rc, out);
    ck_assert_msg(strstr(out, SN_PASS) == NULL, "redgrey -t shows the password: %s", out);
    sn_ha_stop(&h);
}
END_TEST

/*
 * sn_replace - the harness, a store on it, a triplet greylisted and
 * replicated, the load; then the primary replaced: by SENTINEL FAILOVER,
 * or by SIGKILL (kill) and the sentinels' promotion; then sn_follow
 */
static void
sn_replace(int kill, const char *what)
{
    struct sn_ha h;
    struct sn_load l;
    char    url[256];
    struct store *st;
    redisReply *r;
    long long t0;

    sn_ha_start(&h);
    st = sn_open(sn_url(&h, url, sizeof(url)));
    sn_greylist_replicated(st, &h);
    sn_load_start(&l, st);
    t0 = daemon_now_ms();
    if (kill)
        sn_kill(&h.primary);
    else {
        r = sn_sreply(&h.sentinel[0], "SENTINEL FAILOVER " MASTER);
        ck_assert_msg(r != NULL && r->type == REDIS_REPLY_STATUS, "SENTINEL FAILOVER: %s",
                      r != NULL && r->str != NULL ? r->str : "no reply");
        freeReplyObject(r);
    }
    sn_follow(st, &l, &h, t0, what);
    store_free(st);
    sn_ha_stop(&h);
}

/* SENTINEL FAILOVER under load */
START_TEST(test_failover)
{
    sn_replace(0, "FAILOVER");
}
END_TEST

/* SIGKILL of the primary under load: the sentinels promote the replica */
START_TEST(test_kill_primary)
{
    sn_replace(1, "SIGKILL");
}
END_TEST

/* ------------------------------------------------ the URL */

static const struct sn_url_case {
    const char *url;
    int     ok;
    int     nsentinels;
    const char *last_host;               /* of the last sentinel */
    int     last_port;
    const char *password;
    int     db;
} sn_url_cases[] = {
    {"redis-sentinel://127.0.0.1:26379/mymaster", 1, 1, "127.0.0.1", 26379, "", 0},
    {"redis-sentinel://s1.example,s2.example:26380,[::1]:26381/m-1.x_y/3", 1, 3, "::1",
     26381, "", 3},
    {"redis-sentinel://:s3cret@10.0.0.1/mymaster/", 1, 1, "10.0.0.1", 26379, "s3cret", 0},
    {"redis-sentinel://h1,h2,h3,h4,h5,h6,h7,h8/m", 1, 8, "h8", 26379, "", 0},
    {.url = "redis-sentinel://h1,h2,h3,h4,h5,h6,h7,h8,h9/m"},
    {.url = "redis-sentinel://127.0.0.1:26379"},
    {.url = "redis-sentinel://127.0.0.1:26379/"},
    {.url = "redis-sentinel://127.0.0.1:26379//0"},
    {.url = "redis-sentinel://:s3cret@127.0.0.1:0/m"},
    {.url = "redis-sentinel://:s3cret@h1,,h2/m"},
    {.url = "redis-sentinel://:s3cret@h1,/m"},
    {.url = "redis-sentinel://h1/bad$name"},
    {.url = "redis-sentinel://h1/m/x"},
    {.url = "redis-sentinel://h1/m/1/2"},
    {.url = "redis-sentinel://h1/m?x=1"},
    {.url = "redis-sentinel:///m"},
    {.url = "redis-sentinel://:@h1/m"},
    {.url = "redis-sentinel://h1/"
            "a123456789b123456789c123456789d123456789e123456789f123456789g12345"},
    {.url = "rediss://:s3cret@127.0.0.1:6379"},
};

START_TEST(test_url_parse)
{
    const struct sn_url_case *c = &sn_url_cases[_i];
    struct store_redis_url u;
    char    err[STORE_ERRLEN] = "", shown[STORE_ERRLEN];
    int     rc = store_redis_url_parse(c->url, &u, err, sizeof(err));

    store_url_redact(c->url, shown, sizeof(shown));
    ck_assert_msg(strstr(shown, "s3cret") == NULL, "%s: redacted as %s", c->url, shown);
    if (!c->ok) {
        ck_assert_msg(rc == -1 && err[0] != 0, "%s: got %d (%s), want -1 and a reason",
                      c->url, rc, err);
        ck_assert_msg(strstr(err, "s3cret") == NULL, "%s: password in %s", c->url, err);
        ck_assert_msg(store_url_check(c->url, err, sizeof(err)) == -1
                      && strstr(err, "s3cret") == NULL, "%s: store_url_check: %s", c->url, err);
        return;
    }
    ck_assert_msg(rc == 0, "%s: %s", c->url, err);
    ck_assert_int_eq(u.nsentinels, c->nsentinels);
    ck_assert_str_eq(u.sentinels[u.nsentinels - 1].host, c->last_host);
    ck_assert_int_eq(u.sentinels[u.nsentinels - 1].port, c->last_port);
    ck_assert_str_eq(u.password, c->password);
    ck_assert_int_eq(u.db, c->db);
    ck_assert_msg(store_url_check(c->url, err, sizeof(err)) == 0, "%s: %s", c->url, err);
}
END_TEST

/* redgrey -t: what it accepts and refuses; no password in what it says */
static const struct sn_cli_case {
    const char *store;
    const char *extra;
    int     ok;
    const char *want;                    /* in the output */
} sn_cli_cases[] = {
#ifndef HAVE_HIREDIS_SSL
    {"rediss://127.0.0.1:6379", "", 0,
     "this build has no TLS support (hiredis 0.14 without hiredis_ssl)"},
#endif
    {"redis-sentinel://127.0.0.1:1/", "", 0, "want /MASTERNAME"},
    {"redis-sentinel://:s3cret@127.0.0.1:1,127.0.0.1:2/bad$name", "", 0, "master name"},
    {"redis-sentinel://:s3cret@127.0.0.1:1,127.0.0.1:2/mymaster",
     "sentinel_password = t0psecret\n", 1, "no sentinel of mymaster answered"},
};

START_TEST(test_check)
{
    const struct sn_cli_case *c = &sn_cli_cases[_i];
    char    path[700], conf[600], out[4096];
    char   *argv[] = {(char *) DAEMON_REDGREY_BIN, (char *) "-t", (char *) "-c", path, NULL};
    int     rc;

    snprintf(path, sizeof(path), "%s/sn-cli-%d.conf", daemon_tmp(), _i);
    snprintf(conf, sizeof(conf), "store = %s\nuser = \"\"\n%s", c->store, c->extra);
    ck_assert_int_eq(daemon_write_file(path, conf), 0);
    rc = daemon_capture((const char *const *) argv, out, sizeof(out), 10000);
    ck_assert_msg((rc == 0) == c->ok && strstr(out, c->want) != NULL,
                  "%s: exit %d, \"%s\": want %s and \"%s\"", c->store, rc, out,
                  c->ok ? "OK" : "a failure", c->want);
    ck_assert_msg(!c->ok || (strstr(out, "redgrey: warning: ") != NULL
                             && strstr(out, "configuration OK") != NULL),
                  "%s: \"%s\": want a warning and OK", c->store, out);
    ck_assert_msg(strstr(out, "s3cret") == NULL && strstr(out, "t0psecret") == NULL,
                  "%s: a password in \"%s\"", c->store, out);
}
END_TEST

static Suite *
sn_suite(void)
{
    Suite  *s = suite_create("sentinel");
    TCase  *tc;

    tc = tcase_create("failover");
    tcase_set_timeout(tc, 40);
    tcase_add_test(tc, test_down_sentinel);
    tcase_add_test(tc, test_failover);
    tcase_add_test(tc, test_kill_primary);
    suite_add_tcase(s, tc);

    tc = tcase_create("url");
    tcase_add_loop_test(tc, test_url_parse, 0, sizeof(sn_url_cases) / sizeof(sn_url_cases[0]));
    tcase_add_loop_test(tc, test_check, 0, sizeof(sn_cli_cases) / sizeof(sn_cli_cases[0]));
    suite_add_tcase(s, tc);
    return s;
}

/* main - run the suite (under with-redis.sh, for its scratch directory) */
int
main(void)
{
    if (daemon_tmp() == NULL) {
        fprintf(stderr, "check_store_sentinel: run under tests/with-redis.sh\n");
        return EXIT_FAILURE;
    }
    if (atexit(sn_cleanup) != 0)
        return EXIT_FAILURE;
    return daemon_run_suites(sn_suite(), NULL) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

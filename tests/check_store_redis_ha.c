/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_store_redis_ha.c - the Redis store when the server goes away
 * (check_breaker.c tests the breaker and the table of error replies on
 * their own): real servers that this program starts on free loopback
 * ports and mistreats: demoted to a replica of
 * another one (REPLICAOF), reloading its data (LOADING), asking for a
 * password (NOAUTH), frozen under load (SIGSTOP), absent at startup. The
 * last cases run the daemon itself: a 1000-recipient message while Redis
 * is frozen, a daemon started without its Redis, redgrey -t.
 *
 * Nothing is mocked and nothing sleeps to let time pass: every wait is a
 * bounded poll for a condition. Servers and daemons started here are
 * killed at exit, also when a test fails.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <libmilter/mfapi.h>
#include <libmilter/mfdef.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "daemon.h"
#include "miltc.h"
#include "mta.h"
#include "store.h"
#include "store_redis.h"

#define STORE_TIMEOUT   200              /* ms: the stores opened here */
#define DAEMON_TIMEOUT  250              /* ms: the daemons' store_timeout (daemon.c) */
#define RECOVER_MS      1000             /* back within this of the server serving again */
#define HA_SERVERS_MAX  8

/* ------------------------------------------------ servers of our own */

struct ha_redis {
    pid_t   pid;                         /* 0: not running */
    char    addr[16];                    /* the loopback address it listens on */
    int     port;
    char    log[600];
};

static struct ha_redis *ha_servers[HA_SERVERS_MAX]; /* killed at exit */
static struct daemon *ha_daemons[HA_SERVERS_MAX];

/* ha_cleanup - atexit: whatever a failed test left running */
static void
ha_cleanup(void)
{
    for (int i = 0; i < HA_SERVERS_MAX; i++) {
        if (ha_servers[i] != NULL && ha_servers[i]->pid > 0) {
            kill(ha_servers[i]->pid, SIGKILL);
            waitpid(ha_servers[i]->pid, NULL, 0);
            ha_servers[i]->pid = 0;
        }
        if (ha_daemons[i] != NULL && ha_daemons[i]->pid > 0)
            daemon_wait(ha_daemons[i], 0);
    }
}

/* ha_track - remember p (a server or a daemon) for ha_cleanup */
static void
ha_track(void **table, void *p)
{
    static int registered;

    if (!registered && atexit(ha_cleanup) == 0)
        registered = 1;
    for (int i = 0; i < HA_SERVERS_MAX; i++)
        if (table[i] == NULL || table[i] == p) {
            table[i] = p;
            return;
        }
    ck_abort_msg("too many servers");
}

/* ha_connect_at - our own connection to addr:port, within ms; NULL if nobody answers PING */
static redisContext *
ha_connect_at(const char *addr, int port, int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    redisContext *c = redisConnectWithTimeout(addr, port, tv);
    redisReply *r;

    if (c == NULL || c->err || redisSetTimeout(c, tv) != REDIS_OK) {
        redisFree(c);
        return NULL;
    }
    r = redisCommand(c, "PING");
    if (r == NULL || r->type != REDIS_REPLY_STATUS) {
        freeReplyObject(r);
        redisFree(c);
        return NULL;
    }
    freeReplyObject(r);
    return c;
}

/* ha_connect - ha_connect_at on 127.0.0.1 */
static redisContext *
ha_connect(int port, int ms)
{
    return ha_connect_at("127.0.0.1", port, ms);
}

/*
 * ha_start_at - redis-server on addr:port (not daemonized, so that
 * we hold its pid), with extra "--name value" pairs; 0 once it answers
 * PING, -1 if it did not within 5 s
 */
static int
ha_start_at(struct ha_redis *s, const char *addr, int port, const char *const *extra)
{
    const char *tmp = daemon_tmp();
    char    portarg[16], dir[600];
    const char *argv[40];
    int     n = 0;
    long long t0;

    memset(s, 0, sizeof(*s));
    snprintf(s->addr, sizeof(s->addr), "%s", addr);
    s->port = port;
    snprintf(portarg, sizeof(portarg), "%d", port);
    snprintf(dir, sizeof(dir), "%s/ha-%s-%d", tmp, addr, port);
    snprintf(s->log, sizeof(s->log), "%s/ha-%s-%d.log", tmp, addr, port);
    mkdir(dir, 0755);
    argv[n++] = "redis-server";
    argv[n++] = "--bind";
    argv[n++] = s->addr;
    argv[n++] = "--port";
    argv[n++] = portarg;
    argv[n++] = "--save";
    argv[n++] = "";
    argv[n++] = "--appendonly";
    argv[n++] = "no";
    argv[n++] = "--dir";
    argv[n++] = dir;
    argv[n++] = "--logfile";
    argv[n++] = s->log;
    for (int i = 0; extra != NULL && extra[i] != NULL && n < 38; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    ha_track((void **) ha_servers, s);
    if ((s->pid = fork()) < 0)
        return -1;
    if (s->pid == 0) {
        execvp("redis-server", (char *const *) argv);
        _exit(127);
    }
    t0 = daemon_now_ms();
    while (daemon_now_ms() - t0 < 5000) {
        redisContext *c = ha_connect_at(s->addr, port, 200);

        if (c != NULL) {
            redisFree(c);
            return 0;
        }
        if (waitpid(s->pid, NULL, WNOHANG) == s->pid) {
            s->pid = 0;
            return -1;
        }
        daemon_sleep_ms(20);
    }
    return -1;
}

/* ha_start_on - ha_start_at on 127.0.0.1 */
static int
ha_start_on(struct ha_redis *s, int port, const char *const *extra)
{
    return ha_start_at(s, "127.0.0.1", port, extra);
}

/* ha_start - ha_start_on a free port (another one if it was taken meanwhile) */
static void
ha_start(struct ha_redis *s, const char *const *extra)
{
    for (int tries = 0; tries < 5; tries++) {
        int     port = daemon_free_port();

        if (port > 0 && ha_start_on(s, port, extra) == 0)
            return;
    }
    ck_abort_msg("cannot start redis-server on a free loopback port");
}

/* ha_untrack - forget p (stopped) */
static void
ha_untrack(void **table, void *p)
{
    for (int i = 0; i < HA_SERVERS_MAX; i++)
        if (table[i] == p)
            table[i] = NULL;
}

/* ha_stop - SIGKILL (a stopped server too) and reap */
static void
ha_stop(struct ha_redis *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGKILL);
        waitpid(s->pid, NULL, 0);
        s->pid = 0;
    }
    ha_untrack((void **) ha_servers, s);
}

/* ha_conn - our connection to s, which must work */
static redisContext *
ha_conn(const struct ha_redis *s)
{
    redisContext *c = ha_connect_at(s->addr, s->port, 2000);

    ck_assert_msg(c != NULL, "redis-server on %s:%d does not answer", s->addr, s->port);
    return c;
}

/* ha_cmd - a command (redisCommand format) whose reply must arrive and not be an error */
static void
ha_cmd(redisContext *c, const char *fmt, ...)
{
    redisReply *r;
    va_list ap;

    va_start(ap, fmt);
    r = redisvCommand(c, fmt, ap);
    va_end(ap);
    ck_assert_msg(r != NULL, "redis %s: %s", fmt, c->errstr);
    ck_assert_msg(r->type != REDIS_REPLY_ERROR, "redis %s: %s", fmt, r->str);
    freeReplyObject(r);
}

/* ha_info - a numeric field of INFO section */
static long long
ha_info(redisContext *c, const char *section, const char *field)
{
    redisReply *r = redisCommand(c, "INFO %s", section);
    char    want[64];
    const char *p;
    long long v;

    ck_assert_msg(r != NULL && r->type == REDIS_REPLY_STRING, "INFO %s failed", section);
    snprintf(want, sizeof(want), "\r\n%s:", field);
    p = strstr(r->str, want);
    ck_assert_msg(p != NULL, "INFO %s: no %s", section, field);
    v = atoll(p + strlen(want));
    freeReplyObject(r);
    return v;
}

/* ha_store_url - redis://127.0.0.1:PORT into buf */
static const char *
ha_store_url(const struct ha_redis *s, char *buf, size_t len)
{
    snprintf(buf, len, "redis://127.0.0.1:%d", s->port);
    return buf;
}

/* ------------------------------------------------ the store, observed */

/* What the store's notify function received (per test: each runs in its own process). */
static pthread_mutex_t notes_lock = PTHREAD_MUTEX_INITIALIZER;
static char notes[8192];

/* notes_add - store_notify_fn */
static void
notes_add(const char *line)
{
    pthread_mutex_lock(&notes_lock);
    snprintf(notes + strlen(notes), sizeof(notes) - strlen(notes), "%s\n", line);
    pthread_mutex_unlock(&notes_lock);
}

/* notes_count - lines holding needle */
static int
notes_count(const char *needle)
{
    int     n = 0;

    pthread_mutex_lock(&notes_lock);
    for (const char *p = notes; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    pthread_mutex_unlock(&notes_lock);
    return n;
}

/* ha_open - a store on url, pool connections, STORE_TIMEOUT, notes_add as notify */
static struct store *
ha_open(const char *url, int pool, char *err, size_t errlen)
{
    static int n;
    char    prefix[32];
    struct store_config conf = {
        .url = url, .key_prefix = prefix, .timeout_ms = STORE_TIMEOUT, .pool = pool,
        .params = {.delay = 60, .retry_window = 600, .pass_ttl = 3600, .awl_threshold = 0,
                   .awl_ttl = 3600},
    };
    struct store *st;

    snprintf(prefix, sizeof(prefix), "ha%ld-%d:", (long) getpid(), n++);
    err[0] = 0;
    st = store_open(&conf, err, errlen);
    ck_assert_msg(st != NULL, "open %s: %s", url, err);
    store_set_notify(st, notes_add);
    return st;
}

/* ha_triplet - a triplet numbered n */
static void
ha_triplet(struct triplet *t, int n)
{
    memset(t, 0, sizeof(*t));
    snprintf(t->client_key, sizeof(t->client_key), "198.51.100.0/24");
    snprintf(t->sender, sizeof(t->sender), "sender@example.org");
    snprintf(t->rcpt, sizeof(t->rcpt), "rcpt%d@example.net", n);
}

/* ha_decide - one decision: 0 or -1 with err, its time in *ms */
static int
ha_decide(struct store *st, int n, long long *ms, char *err, size_t errlen)
{
    struct policy_verdict v;
    struct triplet t;
    long long t0 = daemon_now_ms();
    int     rc;

    ha_triplet(&t, n);
    err[0] = 0;
    rc = store_decide(st, &t, &v, err, errlen);
    if (ms != NULL)
        *ms = daemon_now_ms() - t0;
    return rc;
}

/*
 * ha_wait_decide - decide until it works, at most ms (failures counted
 * into *failed, may be NULL); how long it took, or -1
 */
static long long
ha_wait_decide(struct store *st, int ms, long long *failed)
{
    long long t0 = daemon_now_ms();
    char    err[STORE_ERRLEN];

    do {
        if (ha_decide(st, 1, NULL, err, sizeof(err)) == 0)
            return daemon_now_ms() - t0;
        if (failed != NULL)
            (*failed)++;
        daemon_sleep_ms(5);
    } while (daemon_now_ms() - t0 < ms);
    return -1;
}

/*
 * ha_fail_until_open - decide until the breaker is open (an "unavailable"
 * error), at most 20 calls; each error before that must hold want. The
 * number of calls that went to the server.
 */
static int
ha_fail_until_open(struct store *st, const char *want, const char *name)
{
    char    err[STORE_ERRLEN];

    for (int i = 0; i < 20; i++) {
        /* New triplets: a decision that writes nothing works on a replica too. */
        ck_assert_msg(ha_decide(st, 1000 + i, NULL, err, sizeof(err)) == -1, "call %d decided",
                      i);
        if (strstr(err, "unavailable") != NULL)
            return i;
        ck_assert_msg(strstr(err, want) != NULL && strstr(err, name) != NULL,
                      "call %d: \"%s\", want \"%s\" and \"%s\"", i, err, want, name);
    }
    ck_abort_msg("breaker not open after 20 failures (%s)", want);
    return -1;
}

/*
 * A demoted primary: every call that reaches it says READONLY with the
 * address, drops its connection; three of them open the breaker, and the
 * calls then fail at once while one probe at a time looks at the server
 * (a handful of connections, not one per call). Made primary again, it
 * serves within a second, and the outage is reported once each way.
 */
START_TEST(test_demoted)
{
    struct ha_redis p, q;
    char    url[64], name[64], err[STORE_ERRLEN];
    redisContext *c;
    struct store *st;
    long long conns, ms, back, refused = 1;  /* the call that found it open */
    int     fast = 0, maxms = 0;
    unsigned long long reported;
    const char *line;

    ha_start(&p, NULL);
    ha_start(&q, NULL);
    c = ha_conn(&p);
    st = ha_open(ha_store_url(&p, url, sizeof(url)), 2, err, sizeof(err));
    snprintf(name, sizeof(name), "redis 127.0.0.1:%d", p.port);
    ck_assert_msg(ha_decide(st, 1, NULL, err, sizeof(err)) == 0, "as primary: %s", err);

    ha_cmd(c, "REPLICAOF 127.0.0.1 %d", q.port);
    ck_assert_msg(ha_fail_until_open(st, "READONLY (demoted primary?): reconnecting", name) == 3,
                  "want the breaker open after 3 READONLY calls");
    ck_assert_msg(notes_count("unavailable (READONLY (demoted primary?)") == 1,
                  "want one opening report, got: %s", notes);

    /* One second open: the calls fail at once, the probes come one by one. */
    conns = ha_info(c, "stats", "total_connections_received");
    for (long long t0 = daemon_now_ms(); daemon_now_ms() - t0 < 1000; fast++) {
        ck_assert_msg(ha_decide(st, fast, &ms, err, sizeof(err)) == -1, "decided, demoted");
        ck_assert_msg(strstr(err, "unavailable") != NULL && strstr(err, name) != NULL,
                      "open: \"%s\"", err);
        if (ms > maxms)
            maxms = (int) ms;
        refused++;
        if (fast % 64 == 0)
            daemon_sleep_ms(1);
    }
    conns = ha_info(c, "stats", "total_connections_received") - conns;
    ck_assert_msg(maxms < STORE_TIMEOUT / 4, "a refused call took %d ms, want < %d", maxms,
                  STORE_TIMEOUT / 4);
    ck_assert_msg(conns >= 1 && conns <= 4, "%d calls in 1 s open: %lld connections, want"
                  " 1..4 (probes at 250, 750, 1750 ms)", fast, conns);

    ha_cmd(c, "REPLICAOF NO ONE");
    back = ha_wait_decide(st, RECOVER_MS, &refused);
    ck_assert_msg(back >= 0, "not back within %d ms of REPLICAOF NO ONE", RECOVER_MS);
    ck_assert_msg(notes_count("available again") == 1, "want one closing report: %s", notes);
    line = strstr(notes, "available again");
    ck_assert_msg(sscanf(strstr(line, "; ") + 2, "%llu decisions made", &reported) == 1
                  && reported == (unsigned long long) refused, "closing report \"%.200s\":"
                  " want %lld decisions made without it", line, refused);
    store_free(st);
    redisFree(c);
    ha_stop(&p);
    ha_stop(&q);
}
END_TEST

/* A password set while the store is connected: NOAUTH on its new connections, then back. */
START_TEST(test_noauth)
{
    struct ha_redis s;
    char    url[64], name[64], err[STORE_ERRLEN];
    redisContext *c;
    struct store *st;

    ha_start(&s, NULL);
    c = ha_conn(&s);
    st = ha_open(ha_store_url(&s, url, sizeof(url)), 1, err, sizeof(err));
    snprintf(name, sizeof(name), "redis 127.0.0.1:%d", s.port);
    ck_assert_msg(ha_decide(st, 1, NULL, err, sizeof(err)) == 0, "before: %s", err);
    ha_cmd(c, "CONFIG SET requirepass pw-ha");
    ha_cmd(c, "CLIENT KILL TYPE normal SKIPME yes");
    ck_assert_msg(ha_fail_until_open(st, "NOAUTH", name) == 3, "want open after 3 NOAUTH");
    ha_cmd(c, "CONFIG SET requirepass %s", "");
    ck_assert_msg(ha_wait_decide(st, RECOVER_MS, NULL) >= 0, "not back within %d ms",
                  RECOVER_MS);
    store_free(st);
    redisFree(c);
    ha_stop(&s);
}
END_TEST

/* reload_run - DEBUG RELOAD on a connection of its own: the server loads for a while */
static void *
reload_run(void *arg)
{
    const struct ha_redis *s = arg;
    redisContext *c = ha_connect(s->port, 10000);
    redisReply *r = c != NULL ? redisCommand(c, "DEBUG RELOAD") : NULL;

    freeReplyObject(r);
    redisFree(c);
    return NULL;
}

/*
 * A server loading its data answers LOADING on the store's live
 * connection: classified, the connection dropped, the breaker open; back
 * within a second once the load is done.
 */
START_TEST(test_loading)
{
    static const char *const extra[] = {"--enable-debug-command", "yes", NULL};
    struct ha_redis s;
    char    url[64], err[STORE_ERRLEN], seen[STORE_ERRLEN] = "";
    redisContext *c;
    struct store *st;
    pthread_t tid;
    long long t0;

    ha_start(&s, extra);
    c = ha_conn(&s);
    /* 20000 keys at 50 us each: a load of about a second, serving clients every 1 KB. */
    ha_cmd(c, "DEBUG POPULATE 20000");
    ha_cmd(c, "CONFIG SET key-load-delay 50");
    ha_cmd(c, "CONFIG SET loading-process-events-interval-bytes 1024");
    st = ha_open(ha_store_url(&s, url, sizeof(url)), 1, err, sizeof(err));
    ck_assert_msg(ha_decide(st, 1, NULL, err, sizeof(err)) == 0, "before: %s", err);

    ck_assert_int_eq(pthread_create(&tid, NULL, reload_run, &s), 0);
    for (t0 = daemon_now_ms(); daemon_now_ms() - t0 < 5000 && seen[0] == 0;) {
        if (ha_decide(st, 2, NULL, err, sizeof(err)) != 0 && strstr(err, "LOADING") != NULL)
            snprintf(seen, sizeof(seen), "%s", err);
        daemon_sleep_ms(2);
    }
    pthread_join(tid, NULL);
    ck_assert_msg(strstr(seen, "LOADING (server loading its data)") != NULL,
                  "no LOADING error while the server reloaded (last: %s)", err);
    ck_assert_msg(ha_wait_decide(st, RECOVER_MS, NULL) >= 0, "not back within %d ms of the load",
                  RECOVER_MS);
    store_free(st);
    redisFree(c);
    ha_stop(&s);
}
END_TEST

/* ------------------------------------------------ frozen under load */

#define LOAD_THREADS 6
#define LOAD_POOL    4

/* What the load threads share; times are daemon_now_ms(). */
static struct {
    struct store *st;
    atomic_int stop;                     /* 1: the threads finish */
    atomic_llong opened;                 /* first "unavailable" seen at; 0: not yet */
    atomic_llong cont;                   /* SIGCONT sent at; 0: not yet */
    atomic_llong back;                   /* first success after cont; 0: not yet */
    atomic_llong slowest;                /* longest call started while open */
    atomic_int refused;                  /* calls refused by the breaker */
} load;

/* load_run - decide in a loop; time the calls started while the breaker is open */
static void *
load_run(void *arg)
{
    int     n = (int) (intptr_t) arg * 100000;
    char    err[STORE_ERRLEN];

    while (!atomic_load(&load.stop)) {
        long long t0 = daemon_now_ms(), ms, opened, cont, zero = 0, prev;
        int     rc = ha_decide(load.st, n++, &ms, err, sizeof(err));

        opened = atomic_load(&load.opened);
        cont = atomic_load(&load.cont);
        if (rc != 0 && strstr(err, "unavailable") != NULL) {
            atomic_fetch_add(&load.refused, 1);
            if (opened == 0)
                atomic_compare_exchange_strong(&load.opened, &zero, t0);
        }
        if (opened != 0 && t0 > opened && (cont == 0 || t0 < cont))
            for (prev = atomic_load(&load.slowest); ms > prev;)
                if (atomic_compare_exchange_weak(&load.slowest, &prev, ms))
                    break;
        zero = 0;
        if (rc == 0 && cont != 0 && t0 >= cont)
            atomic_compare_exchange_strong(&load.back, &zero, daemon_now_ms());
        daemon_sleep_ms(1);              /* a load, not a busy loop on two cores */
    }
    return NULL;
}

/* tcp_clients - connections to 127.0.0.1:port established from this host's client side */
static int
tcp_clients(int port)
{
    FILE   *f = fopen("/proc/net/tcp", "r");
    char    line[512];
    int     n = 0;

    ck_assert_msg(f != NULL, "cannot read /proc/net/tcp");
    while (fgets(line, sizeof(line), f) != NULL) {
        unsigned rport;
        char    st[8];

        if (sscanf(line, " %*d: %*x:%*x %*x:%x %7s", &rport, st) == 2 && (int) rport == port
            && strcmp(st, "01") == 0)
            n++;
    }
    fclose(f);
    return n;
}

/*
 * Redis frozen (SIGSTOP) under load from several threads: once the
 * breaker is open every call fails within STORE_TIMEOUT / 4; one probe
 * connection at a time (the client side of the kernel's table, while the
 * server cannot be asked); after SIGCONT the calls succeed within a
 * second, and the server saw a handful of connections, not one per call.
 */
START_TEST(test_frozen_load)
{
    struct ha_redis s;
    pthread_t tid[LOAD_THREADS];
    char    url[64], err[STORE_ERRLEN];
    redisContext *c;
    long long conns, t0, stopped_ms;
    int     most = 0, samples = 0;

    ha_start(&s, NULL);
    c = ha_conn(&s);
    conns = ha_info(c, "stats", "total_connections_received");
    redisFree(c);
    load.st = ha_open(ha_store_url(&s, url, sizeof(url)), LOAD_POOL, err, sizeof(err));
    for (int i = 0; i < LOAD_THREADS; i++)
        ck_assert_int_eq(pthread_create(&tid[i], NULL, load_run, (void *) (intptr_t) i), 0);
    daemon_sleep_ms(100);                /* the load runs against a live server first */

    ck_assert_int_eq(kill(s.pid, SIGSTOP), 0);
    t0 = daemon_now_ms();
    while (atomic_load(&load.opened) == 0 && daemon_now_ms() - t0 < 2000)
        daemon_sleep_ms(2);
    /* Calls under way at the opening end within their timeout; then only probes connect. */
    while (daemon_now_ms() - t0 < 2 * STORE_TIMEOUT + 100)
        daemon_sleep_ms(2);
    for (; daemon_now_ms() - t0 < 1500; samples++) {
        int     n = tcp_clients(s.port);

        if (n > most)
            most = n;
        daemon_sleep_ms(3);
    }
    stopped_ms = daemon_now_ms() - t0;
    atomic_store(&load.cont, daemon_now_ms());
    kill(s.pid, SIGCONT);
    t0 = daemon_now_ms();
    while (atomic_load(&load.back) == 0 && daemon_now_ms() - t0 < 2000)
        daemon_sleep_ms(2);
    atomic_store(&load.stop, 1);
    for (int i = 0; i < LOAD_THREADS; i++)
        pthread_join(tid[i], NULL);

    c = ha_conn(&s);
    conns = ha_info(c, "stats", "total_connections_received") - conns;
    redisFree(c);
    fprintf(stderr, "frozen_load: %d threads, pool %d: %d calls refused in %lld ms frozen,"
            " slowest %lld ms; %lld connections; at most %d at once (%d samples);"
            " back %lld ms after SIGCONT\n", LOAD_THREADS, LOAD_POOL, atomic_load(&load.refused),
            stopped_ms, atomic_load(&load.slowest), conns, most, samples,
            atomic_load(&load.back) - atomic_load(&load.cont));
    ck_assert_msg(atomic_load(&load.opened) != 0, "the breaker never opened");
    ck_assert_msg(atomic_load(&load.slowest) < STORE_TIMEOUT / 4, "a call while open took"
                  " %lld ms, want < %d", atomic_load(&load.slowest), STORE_TIMEOUT / 4);
    ck_assert_msg(atomic_load(&load.refused) >= 100, "only %d calls refused",
                  atomic_load(&load.refused));
    ck_assert_msg(most <= 1, "%d connections at once to the frozen server, want one probe",
                  most);
    ck_assert_msg(atomic_load(&load.back) != 0
                  && atomic_load(&load.back) - atomic_load(&load.cont) <= RECOVER_MS,
                  "not back within %d ms of SIGCONT", RECOVER_MS);
    /* The pool's first connections, its reconnects at the freeze and after, the probes. */
    ck_assert_msg(conns <= 3 * LOAD_POOL + stopped_ms / 250 + 2, "%lld connections for %d"
                  " calls, want <= %lld", conns, atomic_load(&load.refused),
                  3 * LOAD_POOL + stopped_ms / 250 + 2);
    store_free(load.st);
    ha_stop(&s);
}
END_TEST

/* ------------------------------------------------ the daemon */

/*
 * ha_session - one SMTP session through d: client addr, MAIL, n
 * recipients rcpt<first..first+n>@<tag>, QUIT. Returns how many RCPTs
 * were answered want; its duration in *ms (may be NULL), the first
 * other answer in why.
 */
static int
ha_session(const struct daemon *d, const char *addr, const char *tag, int first, int n,
           int want, long long *ms, char *why, size_t whylen)
{
    struct miltc *c = malloc(sizeof(*c));
    struct mta_conn m = {.family = '4', .addr = addr};
    long long t0 = daemon_now_ms();
    int     got = 0, r;

    ck_assert_ptr_nonnull(c);
    why[0] = 0;
    if (mta_connect(c, d, &m, why, whylen) != 0) {
        free(c);
        return -1;
    }
    if (miltc_mail(c, "<alice@sender.example>") == MILTC_ERROR) {
        snprintf(why, whylen, "session: %s", c->err);
        miltc_close(c);
        free(c);
        return -1;
    }
    for (int i = first; i < first + n; i++) {
        char    to[96];

        snprintf(to, sizeof(to), "<rcpt%d@%s>", i, tag);
        r = miltc_rcpt(c, to);
        if (r == want)
            got++;
        else if (why[0] == 0)
            snprintf(why, whylen, "%s: answer %d (%.100s)", to, r,
                     r == MILTC_ERROR ? c->err : "");
        if (r == MILTC_ERROR)
            break;
    }
    if (ms != NULL)
        *ms = daemon_now_ms() - t0;
    (void) miltc_quit(c);
    free(c);
    return got;
}

/* ha_daemon - redgrey on store url, tracked for cleanup */
static void
ha_daemon(struct daemon *d, const char *name, const char *url)
{
    struct daemon_redgrey_opts o = {url, NULL, NULL, NULL};

    ha_track((void **) ha_daemons, d);
    ck_assert_msg(daemon_start_redgrey_with(d, name, &o) == 0, "%s did not start (log %s)",
                  name, d->log);
}

/* ha_daemon_stop - stop d, which must exit 0 in time */
static void
ha_daemon_stop(struct daemon *d)
{
    ha_untrack((void **) ha_daemons, d);
    ck_assert_msg(daemon_stop(d, 8000) == 0, "%s did not stop cleanly", d->name);
}

/* ha_wait_greylisted - new triplets until one is greylisted ('y'), at most ms; ms or -1 */
static long long
ha_wait_greylisted(const struct daemon *d, const char *tag, int ms)
{
    long long t0 = daemon_now_ms();
    char    why[300];

    for (int i = 0; daemon_now_ms() - t0 < ms; i++) {
        if (ha_session(d, "198.51.100.9", tag, 5000 + i, 1, SMFIR_REPLYCODE, NULL, why,
                       sizeof(why)) == 1)
            return daemon_now_ms() - t0;
        daemon_sleep_ms(20);
    }
    return -1;
}

/*
 * A 1000-recipient message while Redis is frozen: the first recipient
 * waits out store_timeout and opens the breaker, the 999 others are
 * accepted at once, the whole message within 2 x store_timeout.
 */
START_TEST(test_daemon_many_rcpt)
{
    struct ha_redis s;
    struct daemon d;
    char    url[64], why[300];
    long long ms;
    int     got;

    ha_start(&s, NULL);
    ha_daemon(&d, "ha-many", ha_store_url(&s, url, sizeof(url)));
    ck_assert_msg(ha_session(&d, "198.51.100.7", "before.example", 0, 1, SMFIR_REPLYCODE, NULL,
                             why, sizeof(why)) == 1, "live store: want greylisted: %s", why);
    ck_assert_int_eq(kill(s.pid, SIGSTOP), 0);
    got = ha_session(&d, "198.51.100.7", "frozen.example", 0, 1000, SMFIR_CONTINUE, &ms,
                     why, sizeof(why));
    kill(s.pid, SIGCONT);
    fprintf(stderr, "many_rcpt: 1000 recipients, Redis frozen: %lld ms\n", ms);
    ck_assert_msg(got == 1000, "%d of 1000 recipients accepted: %s", got, why);
    ck_assert_msg(ms <= 2 * DAEMON_TIMEOUT, "1000 recipients took %lld ms, want <= %d"
                  " (2 x store_timeout)", ms, 2 * DAEMON_TIMEOUT);
    ck_assert_msg(daemon_log_count(&d, "store: outage") == 1, "want one outage line");
    ck_assert_msg(daemon_log_count(&d, ": unavailable (timeout)") == 1,
                  "want one breaker-open line");
    ck_assert_msg(ha_wait_greylisted(&d, "after.example", RECOVER_MS + 500) >= 0,
                  "not greylisting within %d ms of SIGCONT", RECOVER_MS + 500);
    ck_assert_msg(daemon_log_wait(&d, "available again", 1, 2000) == 1,
                  "want one breaker-closed line");
    ha_daemon_stop(&d);
    ha_stop(&s);
}
END_TEST

/*
 * The demoted primary, end to end: redgrey logs READONLY with the address
 * once (not per recipient), accepts mail (on_store_error = accept), and
 * greylists again once the server is primary again.
 */
START_TEST(test_daemon_demoted)
{
    struct ha_redis p, q;
    struct daemon d;
    char    url[64], why[300], want[128];
    redisContext *c;
    int     got;

    ha_start(&p, NULL);
    ha_start(&q, NULL);
    c = ha_conn(&p);
    ha_daemon(&d, "ha-demoted", ha_store_url(&p, url, sizeof(url)));
    ck_assert_msg(ha_session(&d, "198.51.100.8", "before.example", 0, 1, SMFIR_REPLYCODE, NULL,
                             why, sizeof(why)) == 1, "primary: want greylisted: %s", why);
    ha_cmd(c, "REPLICAOF 127.0.0.1 %d", q.port);
    got = ha_session(&d, "198.51.100.8", "demoted.example", 0, 50, SMFIR_CONTINUE, NULL,
                     why, sizeof(why));
    ck_assert_msg(got == 50, "%d of 50 recipients accepted: %s", got, why);
    snprintf(want, sizeof(want), "redis 127.0.0.1:%d: READONLY (demoted primary?): reconnecting",
             p.port);
    ck_assert_msg(daemon_log_count(&d, want) == 1, "log: want \"%s\" once, got %d", want,
                  daemon_log_count(&d, want));
    ck_assert_msg(daemon_log_count(&d, ": unavailable (READONLY (demoted primary?)") == 1,
                  "log: want one breaker-open line");
    ck_assert_msg(daemon_log_count(&d, "reason=store-error") == 50, "want 50 store-error lines");
    ha_cmd(c, "REPLICAOF NO ONE");
    ck_assert_msg(ha_wait_greylisted(&d, "promoted.example", RECOVER_MS + 500) >= 0,
                  "not greylisting within %d ms of REPLICAOF NO ONE", RECOVER_MS + 500);
    ck_assert_msg(daemon_log_wait(&d, "available again", 1, 2000) == 1,
                  "want one breaker-closed line");
    ha_daemon_stop(&d);
    redisFree(c);
    ha_stop(&p);
    ha_stop(&q);
}
END_TEST

/*
 * Started without its Redis: redgrey starts, warns, accepts mail at once
 * (on_store_error = accept), and greylists once Redis is started.
 */
START_TEST(test_daemon_start_down)
{
    struct ha_redis s;
    struct daemon d;
    char    url[64], why[300];
    long long ms;
    int     port = daemon_free_port();

    ck_assert_int_gt(port, 0);
    snprintf(url, sizeof(url), "redis://127.0.0.1:%d", port);
    ha_daemon(&d, "ha-down", url);
    ck_assert_msg(daemon_log_count(&d, "serving under on_store_error") == 1,
                  "want the startup warning");
    ck_assert_msg(ha_session(&d, "198.51.100.10", "down.example", 0, 20, SMFIR_CONTINUE, &ms,
                             why, sizeof(why)) == 20, "store down: want accepted: %s", why);
    ck_assert_msg(ms < DAEMON_TIMEOUT, "20 recipients took %lld ms with the store down", ms);
    ck_assert_msg(ha_start_on(&s, port, NULL) == 0, "cannot start redis on port %d", port);
    ck_assert_msg(ha_wait_greylisted(&d, "up.example", RECOVER_MS + 500) >= 0,
                  "not greylisting within %d ms of Redis starting", RECOVER_MS + 500);
    ck_assert_msg(daemon_log_wait(&d, "available again", 1, 2000) == 1,
                  "want one breaker-closed line");
    ha_daemon_stop(&d);
    ha_stop(&s);
}
END_TEST

/*
 * redgrey -t: a store that cannot be reached is a warning, not an error.
 * redgreyctl, an admin's tool, fails with the reason.
 */
START_TEST(test_check_reach)
{
    struct ha_redis s;
    char    path[700], conf[256], out[4096];
    char   *argv[] = {(char *) DAEMON_REDGREY_BIN, (char *) "-t", (char *) "-c", path, NULL};
    char   *ctl[] = {(char *) TEST_BUILDDIR "/../milter/redgreyctl", (char *) "-c", path,
                     (char *) "spf-show", NULL};
    int     port = daemon_free_port(), rc;

    snprintf(path, sizeof(path), "%s/ha-check.conf", daemon_tmp());
    snprintf(conf, sizeof(conf), "store = redis://127.0.0.1:%d\nuser = \"\"\n"
             "whitelist_recipients = \"\"\ndynamic_patterns = \"\"\n", port);
    ck_assert_int_eq(daemon_write_file(path, conf), 0);
    rc = daemon_capture((const char *const *) argv, out, sizeof(out), 10000);
    ck_assert_msg(rc == 0 && strstr(out, "redgrey: warning: ") != NULL
                  && strstr(out, "refused") != NULL && strstr(out, "configuration OK") != NULL,
                  "store down: exit %d, output \"%s\": want 0, a warning and OK", rc, out);
    rc = daemon_capture((const char *const *) ctl, out, sizeof(out), 10000);
    ck_assert_msg(rc != 0 && strstr(out, "redgreyctl: ") != NULL && strstr(out, "refused") != NULL,
                  "redgreyctl, store down: exit %d, output \"%s\": want a failure saying"
                  " refused", rc, out);

    ck_assert_msg(ha_start_on(&s, port, NULL) == 0, "cannot start redis on port %d", port);
    rc = daemon_capture((const char *const *) argv, out, sizeof(out), 10000);
    ck_assert_msg(rc == 0 && strstr(out, "warning") == NULL
                  && strstr(out, "configuration OK") != NULL,
                  "store up: exit %d, output \"%s\": want 0, OK, no warning", rc, out);
    ha_stop(&s);
}
END_TEST

/* ------------------------------------------------ a host name that moves */

#define HA_MOVED_NAME "redis-moved.test"

/* ha_dbsize - the number of keys of c's database */
static long long
ha_dbsize(redisContext *c)
{
    redisReply *r = redisCommand(c, "DBSIZE");
    long long n;

    ck_assert_msg(r != NULL && r->type == REDIS_REPLY_INTEGER, "DBSIZE: %s",
                  r == NULL ? c->errstr : "not an integer");
    n = r->integer;
    freeReplyObject(r);
    return n;
}

/* ha_hosts_write - path (the private /etc/hosts) says name is at addr; same inode */
static void
ha_hosts_write(const char *path, const char *addr)
{
    FILE   *f = fopen(path, "w");           /* truncates in place: the bind mount follows */

    ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
    fprintf(f, "127.0.0.1 localhost\n::1 localhost\n%s %s\n", addr, HA_MOVED_NAME);
    ck_assert_int_eq(fclose(f), 0);
}

/* ha_id_map - write line into /proc/self/FILE (a user namespace's maps) */
static void
ha_id_map(const char *file, const char *line)
{
    char    path[64];
    FILE   *f;

    snprintf(path, sizeof(path), "/proc/self/%s", file);
    f = fopen(path, "w");
    ck_assert_msg(f != NULL && fputs(line, f) >= 0 && fclose(f) == 0, "%s: %s", path,
                  strerror(errno));
}

/*
 * ha_private_hosts - this test process (and the servers it starts) read
 * /etc/hosts from path: a mount namespace of its own, where path is bound
 * over /etc/hosts. As root (CI) a mount namespace; otherwise a user
 * namespace too, mapping us to its root.
 */
static void
ha_private_hosts(const char *path)
{
    if (unshare(CLONE_NEWNS) != 0) {
        char    map[64];
        uid_t   uid = getuid();
        gid_t   gid = getgid();

        ck_assert_msg(unshare(CLONE_NEWUSER | CLONE_NEWNS) == 0,
                      "no mount namespace, not even in a user namespace: %s", strerror(errno));
        ha_id_map("setgroups", "deny");
        snprintf(map, sizeof(map), "0 %ld 1", (long) uid);
        ha_id_map("uid_map", map);
        snprintf(map, sizeof(map), "0 %ld 1", (long) gid);
        ha_id_map("gid_map", map);
    }
    ck_assert_msg(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0,
                  "mount --make-rprivate /: %s", strerror(errno));
    ck_assert_msg(mount(path, "/etc/hosts", NULL, MS_BIND, NULL) == 0,
                  "mount --bind %s /etc/hosts: %s", path, strerror(errno));
}

/*
 * A primary found by its host name, then moved: the name now resolves to
 * another server (127.0.0.2 -> 127.0.0.3, same port) and the old one is
 * demoted. The store fails open on READONLY, its probe resolves the name
 * again, and decisions go to the new address; the move is logged once
 * with both addresses. Two loopback addresses and an /etc/hosts of the
 * test's own (a private mount namespace), so nothing outside changes.
 */
START_TEST(test_moved_by_dns)
{
    struct ha_redis a, b;
    char    hosts[600], url[96], want[200], err[STORE_ERRLEN];
    redisContext *ca, *cb;
    struct store *st;
    long long back = -1, failed = 0;
    int     port = 0;

    snprintf(hosts, sizeof(hosts), "%s/hosts-%ld", daemon_tmp(), (long) getpid());
    ha_hosts_write(hosts, "127.0.0.2");
    ha_private_hosts(hosts);
    for (int tries = 0; tries < 5 && port == 0; tries++) {
        port = daemon_free_port();
        if (port <= 0 || ha_start_at(&a, "127.0.0.2", port, NULL) != 0) {
            port = 0;
            continue;
        }
        if (ha_start_at(&b, "127.0.0.3", port, NULL) != 0) {
            ha_stop(&a);
            port = 0;
        }
    }
    ck_assert_msg(port > 0, "cannot start redis-server on 127.0.0.2 and 127.0.0.3");
    ca = ha_conn(&a);
    cb = ha_conn(&b);
    snprintf(url, sizeof(url), "redis://" HA_MOVED_NAME ":%d", port);
    st = ha_open(url, 2, err, sizeof(err));
    ck_assert_msg(ha_decide(st, 1, NULL, err, sizeof(err)) == 0, "at 127.0.0.2: %s", err);
    ck_assert_msg(ha_dbsize(ca) == 1 && ha_dbsize(cb) == 0,
                  "first decision: %lld keys at 127.0.0.2, %lld at 127.0.0.3, want 1 and 0",
                  ha_dbsize(ca), ha_dbsize(cb));

    /* The move: the name first, then the old primary demoted under it. */
    ha_hosts_write(hosts, "127.0.0.3");
    ha_cmd(ca, "REPLICAOF 127.0.0.3 %d", port);
    /* New triplets only: a decision that writes nothing works on the replica too. */
    for (long long t0 = daemon_now_ms(); back < 0 && daemon_now_ms() - t0 < 3 * RECOVER_MS;) {
        if (ha_decide(st, 100 + (int) failed, NULL, err, sizeof(err)) == 0)
            back = daemon_now_ms() - t0;
        else
            failed++;
        daemon_sleep_ms(5);
    }
    ck_assert_msg(back >= 0, "no decision at 127.0.0.3 within %d ms of the move (%lld failed)",
                  3 * RECOVER_MS, failed);

    /* It is the new server that decided: the grey keys since the move are there. */
    ck_assert_msg(ha_decide(st, 2, NULL, err, sizeof(err)) == 0, "at 127.0.0.3: %s", err);
    ck_assert_msg(ha_dbsize(cb) == 2, "127.0.0.3 holds %lld keys, want the 2 decisions since"
                  " the move", ha_dbsize(cb));
    snprintf(want, sizeof(want), "host " HA_MOVED_NAME " moved from 127.0.0.2:%d to 127.0.0.3:%d",
             port, port);
    ck_assert_msg(notes_count(want) == 1, "want one \"%s\" in: %s", want, notes);
    store_free(st);
    redisFree(ca);
    redisFree(cb);
    ha_stop(&a);
    ha_stop(&b);
}
END_TEST

static Suite *
ha_suite(void)
{
    Suite  *s = suite_create("redis-ha");
    TCase  *tc;

    tc = tcase_create("store");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_demoted);
    tcase_add_test(tc, test_noauth);
    tcase_add_test(tc, test_loading);
    tcase_add_test(tc, test_frozen_load);
    tcase_add_test(tc, test_moved_by_dns);
    suite_add_tcase(s, tc);

    tc = tcase_create("daemon");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_daemon_many_rcpt);
    tcase_add_test(tc, test_daemon_demoted);
    tcase_add_test(tc, test_daemon_start_down);
    tcase_add_test(tc, test_check_reach);
    suite_add_tcase(s, tc);
    return s;
}

/* main - run the suite (under with-redis.sh, for its scratch directory) */
int
main(void)
{
    if (daemon_tmp() == NULL) {
        fprintf(stderr, "check_store_redis_ha: run under tests/with-redis.sh\n");
        return EXIT_FAILURE;
    }
    return daemon_run_suites(ha_suite(), NULL) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * store_redis_conn.c - the Redis store's connections: the pool, the time
 * bound of a call, the circuit breaker in front of the server and the
 * probing thread behind it, and where a host name points. store_redis.c
 * (the store_ops backend) runs its commands through these.
 *
 * Connections: a pool of `pool` hiredis contexts, each used by one thread at
 * a time. The mutex guards only the stack of free slots, never I/O. A
 * slot connects on first use (slot 0 at open, to warn early), logs in
 * (AUTH, SELECT) and loads the store's script in one pipelined round
 * trip. A context that errored is freed at once and re-made by the next
 * call that takes the slot.
 * So is one that got an error reply saying that this server cannot serve
 * us now (READONLY, LOADING, MASTERDOWN, NOAUTH, WRONGPASS: the table in
 * store_redis_reply.c): the call fails with that reason, and the next one
 * connects again. (CLUSTERDOWN and TRYAGAIN are replies: the cluster's
 * state, not this server's; store_redis.c acts on them.)
 *
 * Time bound: a call has ONE deadline, timeout_ms after it starts, for
 * everything it does: waiting for a slot, (re)connecting, logging in and
 * running its command. Every socket operation is armed with what is left,
 * so no call takes longer than timeout_ms (plus scheduling). A stale
 * connection (the server restarted) fails fast and is retried once on a
 * new one, within the same deadline.
 *
 * Outages: a circuit breaker (breaker.h) sits in front of every call.
 * Three consecutive failures, or one timeout, open it; from then on every
 * call fails at once with the reason (the caller applies on_store_error
 * without waiting), and a thread of the store's own (prober.h) probes the
 * server 250 ms after the opening, then at intervals doubling up to 1 s:
 * it resolves the host, connects, logs in, loads the script and asks ROLE
 * (a replica cannot take our writes). The first success closes the
 * breaker. Opening and closing are reported once each, through the
 * caller's notify function (store.h), with the duration and the number
 * of calls refused. A command's own error (a script error) is an answer:
 * it counts as a success for the breaker. So a server that is down costs
 * one store_timeout per outage, not one per call, and comes back within
 * about a second of serving again. Waiting for a free slot in time is not
 * a failure of the server, and does not count.
 *
 * Names: a host name is resolved at open and again by every probe, and
 * the address of the last successful probe is where every connect goes;
 * when it changed, the pool's contexts to the old one are dropped. So a
 * name that moves (a failover by DNS) is followed within one outage. The
 * calls themselves never resolve: getaddrinfo() has no deadline we can
 * impose, and a call has one; only the probing thread waits for it, which
 * delays a recovery but no call (and store_free, by as long as one lookup
 * can take). A numeric host is never looked up.
 *
 * Sentinel (a redis-sentinel:// URL): the address and port are not the
 * URL's but what the sentinels say (store_redis_sentinel.c), asked for at
 * open and by every probe instead of a name lookup, and verified with
 * ROLE like any probe. A watcher thread hears of a failover from the
 * sentinels (+switch-master, or asking every second) and so do the calls:
 * any that fails on the primary (READONLY, a reset, a timeout) kicks the
 * watcher. When the sentinels name another server and it answers ROLE as
 * a primary, it becomes the address (logged once, old and new); the
 * pool's contexts to the old one are dropped, and the breaker, if it
 * opened during the switch, closes on that success. NOSCRIPT on the new
 * primary is store_redis.c's: it loads the script and retries once.
 *
 * Writing to a socket the server closed raises SIGPIPE: redis_conn_start()
 * sets SIGPIPE to SIG_IGN if it is still at its default.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "breaker.h"
#include "clock.h"
#include "metrics.h"
#include "prober.h"
#include "store.h"
#include "store_redis.h"
#include "store_redis_addr.h"
#include "store_redis_conn.h"
#include "store_redis_sentinel.h"
#include "xalloc.h"

#define REDIS_BREAK_FAILS  3             /* consecutive failures that open the breaker */
#define REDIS_PROBE_MIN_US 250000        /* first probe after an opening */
#define REDIS_PROBE_MAX_US 1000000       /* probe interval cap */

/* How one command failed, so that the caller knows whether to retry. */
enum redis_fail {
    REDIS_FAIL_NONE,                     /* a reply arrived */
    REDIS_FAIL_TIMEOUT,                  /* out of time: never retried */
    REDIS_FAIL_IO,                       /* connection lost: context dropped */
    REDIS_FAIL_MOVED,                    /* server cannot serve (READONLY...): dropped */
};

struct redis_slot {
    redisContext *ctx;                   /* NULL: connect on next use */
    unsigned gen;                        /* the address generation it connected to */
    enum redis_fail last;                /* how its last connect or command ended */
};

/* ---- connections ---- */

/* redis_left - time left before deadline as a timeval; -1 if under 1 ms */
static int
redis_left(int64_t deadline, struct timeval *tv)
{
    int64_t left = deadline - clock_mono_us();

    if (left < 1000)
        return -1;
    tv->tv_sec = (time_t) (left / 1000000);
    tv->tv_usec = (suseconds_t) (left % 1000000);
    return 0;
}

/* redis_ctx_error - what went wrong with c, in words; errno as hiredis left it */
static const char *
redis_ctx_error(const redisContext *c, int saved_errno)
{
    /* hiredis reports a socket timeout as EAGAIN, a connect timeout as ETIMEDOUT. */
    if (c->err == REDIS_ERR_IO
        && (saved_errno == EAGAIN || saved_errno == EWOULDBLOCK || saved_errno == ETIMEDOUT
            || strcmp(c->errstr, strerror(EAGAIN)) == 0))
        return "timeout";
    if (c->err == REDIS_ERR_EOF)
        return "connection closed by the server";
    return c->errstr[0] ? c->errstr : "unknown error";
}

/* redis_drop - free the slot's context after an error */
static void
redis_drop(struct redis_slot *slot)
{
    if (slot->ctx != NULL) {
        redisFree(slot->ctx);
        slot->ctx = NULL;
    }
}

/*
 * redis_call - run one command on slot within deadline. Returns the reply
 * (caller frees), or NULL with err set, *fail (and slot->last) saying
 * why, and the context dropped. An error reply about the command is a
 * reply, not a failure; one saying that the server cannot serve us now
 * (store_redis_reply_kind) is a failure, REDIS_FAIL_MOVED.
 */
static redisReply *
redis_call(struct redis_conn *rs, struct redis_slot *slot, int64_t deadline,
           int argc, const char **argv, const size_t *argvlen,
           enum redis_fail *fail, char *err, size_t errlen)
{
    struct timeval tv;
    redisReply *r;
    const char *label;
    int     saved_errno;

    if (redis_left(deadline, &tv) < 0) {
        snprintf(err, errlen, "%s: timeout", rs->name);
        *fail = slot->last = REDIS_FAIL_TIMEOUT;
        return NULL;
    }
    if (redisSetTimeout(slot->ctx, tv) != REDIS_OK) {
        snprintf(err, errlen, "%s: setting the timeout: %s", rs->name, slot->ctx->errstr);
        *fail = slot->last = REDIS_FAIL_IO;
        redis_drop(slot);
        return NULL;
    }
    errno = 0;
    r = redisCommandArgv(slot->ctx, argc, argv, argvlen);
    saved_errno = errno;
    if (r == NULL) {
        const char *why = redis_ctx_error(slot->ctx, saved_errno);

        snprintf(err, errlen, "%s: %s", rs->name, why);
        *fail = slot->last = strcmp(why, "timeout") == 0 ? REDIS_FAIL_TIMEOUT : REDIS_FAIL_IO;
        redis_drop(slot);
        return NULL;
    }
    if (r->type == REDIS_REPLY_ERROR
        && store_redis_reply_kind(r->str, &label) == STORE_REDIS_REPLY_RECONNECT) {
        snprintf(err, errlen, "%s: %s: reconnecting", rs->name, label);
        freeReplyObject(r);
        *fail = slot->last = REDIS_FAIL_MOVED;
        redis_drop(slot);
        return NULL;
    }
    *fail = slot->last = REDIS_FAIL_NONE;
    return r;
}

/* redis_reply_ok - 1 if r is a status reply equal to want */
static int
redis_reply_ok(const redisReply *r, const char *want)
{
    return r != NULL && r->type == REDIS_REPLY_STATUS && strcmp(r->str, want) == 0;
}

/* redis_conn_reply_text - r's text for an error message */
const char *
redis_conn_reply_text(const redisReply *r)
{
    if (r->type == REDIS_REPLY_ERROR || r->type == REDIS_REPLY_STATUS
        || r->type == REDIS_REPLY_STRING)
        return r->str;
    return "unexpected reply";
}

/*
 * redis_setup - log in and load the script on a fresh context, in one
 * pipelined round trip: [AUTH] [SELECT] PING SCRIPT LOAD. 0, or -1 with err.
 */
static int
redis_setup(struct redis_conn *rs, redisContext *c, char *err, size_t errlen)
{
    const struct store_redis_url *u = &rs->url;
    char    db[16];
    const char *what[4];
    int     n = 0;

    if (u->password[0] != 0) {
        const char *argv[3] = {"AUTH", u->user, u->password};
        size_t  lens[3] = {4, strlen(u->user), strlen(u->password)};

        if (u->user[0] != 0)
            redisAppendCommandArgv(c, 3, argv, lens);
        else
            redisAppendCommandArgv(c, 2, (const char *[]) {"AUTH", u->password},
                                   (const size_t[]) {4, lens[2]});
        what[n++] = "AUTH";
    }
    if (u->db != 0) {
        snprintf(db, sizeof(db), "%d", u->db);
        redisAppendCommandArgv(c, 2, (const char *[]) {"SELECT", db},
                               (const size_t[]) {6, strlen(db)});
        what[n++] = "SELECT";
    }
    redisAppendCommandArgv(c, 1, (const char *[]) {"PING"}, (const size_t[]) {4});
    what[n++] = "PING";
    redisAppendCommandArgv(c, 3, (const char *[]) {"SCRIPT", "LOAD", rs->script},
                           (const size_t[]) {6, 4, rs->script_len});
    what[n++] = "SCRIPT LOAD";

    /* Read every reply, so that the first failure is the one reported. */
    for (int i = 0; i < n; i++) {
        redisReply *r = NULL;
        int     ok;

        errno = 0;
        if (redisGetReply(c, (void **) &r) != REDIS_OK) {
            int     saved_errno = errno;

            if (err[0] == 0)
                snprintf(err, errlen, "%s: %s: %s", rs->name, what[i],
                         redis_ctx_error(c, saved_errno));
            return -1;
        }
        if (strcmp(what[i], "PING") == 0)
            ok = redis_reply_ok(r, "PONG");
        else if (strcmp(what[i], "SCRIPT LOAD") == 0)
            ok = r->type == REDIS_REPLY_STRING && r->len == 40
                && (rs->sha[0] == 0 || strcmp(r->str, rs->sha) == 0);
        else
            ok = redis_reply_ok(r, "OK");
        if (!ok && err[0] == 0)
            snprintf(err, errlen, "%s: %s: %s", rs->name, what[i], redis_conn_reply_text(r));
        if (ok && strcmp(what[i], "SCRIPT LOAD") == 0 && rs->sha[0] == 0)
            memcpy(rs->sha, r->str, 41);
        freeReplyObject(r);
    }
    return err[0] == 0 ? 0 : -1;
}

/*
 * redis_set_addr - make addr, port where connects go; a change drops the
 * pool's old contexts, and a move (between two primaries a sentinel named,
 * or of a host name to a new address) is logged through the notify
 * function with both
 */
static void
redis_set_addr(struct redis_conn *rs, const char *addr, int port)
{
    char    from[REDIS_ADDR_MAX + 8], to[REDIS_ADDR_MAX + 8];
    int     moved = 0;

    pthread_mutex_lock(&rs->addr_lock);
    if (strcmp(rs->addr, addr) != 0 || rs->port != port) {
        moved = rs->addr[0] != 0;
        store_redis_addr_format(rs->addr, rs->port, from, sizeof(from));
        snprintf(rs->addr, sizeof(rs->addr), "%s", addr);
        rs->port = port;
        atomic_fetch_add(&rs->addr_gen, 1);
    }
    pthread_mutex_unlock(&rs->addr_lock);
    if (moved && rs->url.nsentinels > 0)
        store_notify(rs->owner, "%s: primary moved from %s to %s (Sentinel failover)",
                     rs->name, from, store_redis_addr_format(addr, port, to, sizeof(to)));
    else if (moved)
        store_notify(rs->owner, "%s: host %s moved from %s to %s (resolved again)",
                     rs->name, rs->url.host, from,
                     store_redis_addr_format(addr, port, to, sizeof(to)));
}

/*
 * redis_connect - make slot's context within deadline, to the address of
 * the last successful probe (or given in addr and port, for a probe). 0,
 * or -1 with err and slot->last saying whether time ran out.
 */
static int
redis_connect(struct redis_conn *rs, struct redis_slot *slot, int64_t deadline,
              const char *addr, int port, char *err, size_t errlen)
{
    char    to[REDIS_ADDR_MAX];
    struct timeval tv;
    redisContext *c;
    unsigned gen;
    int     saved_errno;

    slot->last = REDIS_FAIL_TIMEOUT;
    if (redis_left(deadline, &tv) < 0) {
        snprintf(err, errlen, "%s: timeout", rs->name);
        return -1;
    }
    pthread_mutex_lock(&rs->addr_lock);
    snprintf(to, sizeof(to), "%s", addr != NULL ? addr : rs->addr);
    if (addr == NULL)
        port = rs->port;
    gen = atomic_load(&rs->addr_gen);
    pthread_mutex_unlock(&rs->addr_lock);

    /* A numeric address: hiredis's getaddrinfo() cannot block on DNS here. */
    slot->last = REDIS_FAIL_IO;
    errno = 0;
    if (rs->url.is_unix)
        c = redisConnectUnixWithTimeout(rs->url.path, tv);
    else if (to[0] != 0)
        c = redisConnectWithTimeout(to, port, tv);
    else {
        snprintf(err, errlen, "%s: %s not resolved yet", rs->name,
                 rs->url.nsentinels > 0 ? "the primary" : rs->url.host);
        return -1;
    }
    saved_errno = errno;
    if (c == NULL) {
        snprintf(err, errlen, "%s: connect: out of memory", rs->name);
        return -1;
    }
    if (c->err != 0) {
        const char *why = redis_ctx_error(c, saved_errno);

        if (strcmp(why, "timeout") == 0)
            slot->last = REDIS_FAIL_TIMEOUT;
        snprintf(err, errlen, "%s: connect: %s", rs->name, why);
        redisFree(c);
        return -1;
    }

    /* The setup round trip gets what is left of the call's deadline. */
    err[0] = 0;
    if (redis_left(deadline, &tv) < 0) {
        snprintf(err, errlen, "%s: timeout", rs->name);
        slot->last = REDIS_FAIL_TIMEOUT;
        redisFree(c);
        return -1;
    }
    if (redisSetTimeout(c, tv) != REDIS_OK || redis_setup(rs, c, err, errlen) < 0) {
        if (err[0] == 0)
            snprintf(err, errlen, "%s: setting the timeout: %s", rs->name, c->errstr);
        if (c->err != 0 && strcmp(redis_ctx_error(c, 0), "timeout") == 0)
            slot->last = REDIS_FAIL_TIMEOUT;
        redisFree(c);
        return -1;
    }
    slot->ctx = c;
    slot->gen = gen;
    slot->last = REDIS_FAIL_NONE;
    return 0;
}

/* redis_checkout - take a free slot, waiting until deadline; index or -1 */
static int
redis_checkout(struct redis_conn *rs, int64_t deadline, char *err, size_t errlen)
{
    struct timespec ts;
    int     idx = -1;

    ts.tv_sec = (time_t) (deadline / 1000000);
    ts.tv_nsec = (long) (deadline % 1000000) * 1000;
    pthread_mutex_lock(&rs->lock);
    while (rs->nfree == 0)
        if (pthread_cond_timedwait(&rs->cond, &rs->lock, &ts) == ETIMEDOUT)
            break;
    if (rs->nfree > 0)
        idx = rs->free_slots[--rs->nfree];
    pthread_mutex_unlock(&rs->lock);
    if (idx < 0)
        snprintf(err, errlen, "%s: timeout: no free connection of %d within %d ms",
                 rs->name, rs->nslots, rs->timeout_ms);
    return idx;
}

/* redis_checkin - give a slot back and wake one waiter */
static void
redis_checkin(struct redis_conn *rs, int idx)
{
    pthread_mutex_lock(&rs->lock);
    rs->free_slots[rs->nfree++] = idx;
    pthread_cond_signal(&rs->cond);
    pthread_mutex_unlock(&rs->lock);
}

/*
 * redis_run - run one command on slot before deadline. A slot without a
 * context is connected first; a context that was already open and fails
 * without timing out (the server restarted, an idle connection was cut)
 * is dropped and the command retried once on a new one. Connect, login
 * and command all share the caller's deadline. Returns the reply (caller
 * frees; an error reply is a reply), or NULL with err set.
 */
static redisReply *
redis_run(struct redis_conn *rs, struct redis_slot *slot, int64_t deadline,
          int argc, const char **argv, const size_t *lens, char *err, size_t errlen)
{
    enum redis_fail fail;
    redisReply *r;
    int     fresh;

    /* A context to an address the host name no longer has is dropped first. */
    if (slot->ctx != NULL && slot->gen != atomic_load(&rs->addr_gen))
        redis_drop(slot);
    for (int attempt = 0; attempt < 2; attempt++) {
        fresh = slot->ctx == NULL;
        if (fresh && redis_connect(rs, slot, deadline, NULL, 0, err, errlen) < 0)
            return NULL;
        r = redis_call(rs, slot, deadline, argc, argv, lens, &fail, err, errlen);
        if (r != NULL || fail != REDIS_FAIL_IO || fresh)
            return r;
    }
    return NULL;                         /* err says why the new one failed */
}

/* ---- outages: the breaker's hooks and the probe ---- */

/* redis_why - err without the leading store name, for a line that names it already */
static const char *
redis_why(const struct redis_conn *rs, const char *err)
{
    size_t  n = strlen(rs->name);

    if (strncmp(err, rs->name, n) == 0 && strncmp(err + n, ": ", 2) == 0)
        err += n + 2;
    return err[0] != 0 ? err : "unknown error";
}

/* redis_why_set - remember why the breaker is open */
static void
redis_why_set(struct redis_conn *rs, const char *err)
{
    pthread_mutex_lock(&rs->addr_lock);
    snprintf(rs->why, sizeof(rs->why), "%s", redis_why(rs, err));
    pthread_mutex_unlock(&rs->addr_lock);
}

/*
 * redis_gate - 0 if a call may go to the server now; -1 with err if the
 * breaker is open. A decision (count 1) that is refused is counted.
 */
static int
redis_gate(struct redis_conn *rs, int count, char *err, size_t errlen)
{
    int64_t now = clock_mono_us(), since = 0;
    char    why[STORE_ERRLEN];

    if (count ? breaker_allow(&rs->breaker, now) : !breaker_is_open(&rs->breaker, NULL))
        return 0;
    breaker_is_open(&rs->breaker, &since);
    pthread_mutex_lock(&rs->addr_lock);
    snprintf(why, sizeof(why), "%s", rs->why);
    pthread_mutex_unlock(&rs->addr_lock);
    snprintf(err, errlen, "%s: unavailable for %.1f s (%s): failing fast", rs->name,
             since > 0 && since < now ? (double) (now - since) / 1e6 : 0.0, why);
    return -1;
}

/*
 * redis_report - prober_report_fn, and the calls' own: the one report of
 * an opening (remember why, start probing) or of a closing
 */
static void
redis_report(void *arg, enum breaker_change change, const struct breaker_outage *o,
             const char *err)
{
    struct redis_conn *rs = arg;

    metrics_store_breaker(change);
    if (change == BREAKER_OPENED) {
        redis_why_set(rs, err);
        prober_wake(&rs->prober);
        store_notify(rs->owner, "%s: unavailable (%s): failing fast, probing every %d ms"
                     " to %d ms", rs->name, redis_why(rs, err), REDIS_PROBE_MIN_US / 1000,
                     REDIS_PROBE_MAX_US / 1000);
    } else if (change == BREAKER_CLOSED) {
        store_notify(rs->owner, "%s: available again after %.1f s unavailable;"
                     " %" PRIu64 " decisions made without it, %" PRIu64 " failed probes",
                     rs->name, (double) o->duration_us / 1e6, o->refused, o->probes);
    }
}

/* redis_account - tell the breaker how a call ended (its slot's last); report a change */
static void
redis_account(struct redis_conn *rs, enum redis_fail last, const char *err)
{
    struct breaker_outage o;
    enum breaker_result r = last == REDIS_FAIL_NONE ? BREAKER_OK
        : last == REDIS_FAIL_TIMEOUT ? BREAKER_TIMEOUT : BREAKER_FAILED;

    if (last != REDIS_FAIL_NONE && rs->url.nsentinels > 0)
        redis_sentinel_kick(&rs->sentinel);
    redis_report(rs, breaker_record(&rs->breaker, r, clock_mono_us(), &o), &o, err);
}

/*
 * redis_where - where the server is now, as a numeric address and port
 * ("" for a unix socket): the URL's host, looked up again if it is a
 * name, or what the sentinels say (within timeout_ms). 0, or -1 with err.
 */
static int
redis_where(struct redis_conn *rs, char *addr, size_t addrlen, int *port,
            char *err, size_t errlen)
{
    char    host[STORE_REDIS_HOST_MAX + 1], why[STORE_ERRLEN];

    addr[0] = 0;
    *port = rs->url.port;
    if (rs->url.is_unix)
        return 0;
    if (rs->url.nsentinels == 0 && rs->numeric) {
        snprintf(addr, addrlen, "%.*s", (int) addrlen - 1, rs->url.host);
        return 0;
    }
    if (rs->url.nsentinels == 0)
        return store_redis_addr_resolve(rs->name, rs->url.host, addr, addrlen, err, errlen);
    if (redis_sentinel_ask(&rs->sentinel, clock_mono_us() + (int64_t) rs->timeout_ms * 1000,
                           host, sizeof(host), port, why, sizeof(why)) < 0) {
        snprintf(err, errlen, "%s: %s", rs->name, why);
        return -1;
    }
    if (store_redis_addr_numeric(host)) {
        snprintf(addr, addrlen, "%.*s", (int) addrlen - 1, host);
        return 0;
    }
    return store_redis_addr_resolve(rs->name, host, addr, addrlen, err, errlen);
}

/*
 * redis_probe_at - probe the server at addr, port into slot within
 * timeout_ms: connect, log in, load the script, and ask ROLE, since a
 * replica takes no writes. On success the address is the store's (see
 * "Names" and "Sentinel"). 0, or -1 with err.
 */
static int
redis_probe_at(struct redis_conn *rs, struct redis_slot *slot, const char *addr, int port,
               char *err, size_t errlen)
{
    const char *argv[1] = {"ROLE"};
    const size_t lens[1] = {4};
    enum redis_fail fail;
    redisReply *r;
    int64_t deadline = clock_mono_us() + (int64_t) rs->timeout_ms * 1000;
    int     rc = 0;

    if (redis_connect(rs, slot, deadline, addr, port, err, errlen) < 0
        || (r = redis_call(rs, slot, deadline, 1, argv, lens, &fail, err, errlen)) == NULL)
        return -1;
    /* A server without ROLE (some proxies) answers an error: taken as it is. */
    if (r->type == REDIS_REPLY_ARRAY && r->elements > 0
        && r->element[0]->type == REDIS_REPLY_STRING
        && strcmp(r->element[0]->str, "master") != 0) {
        snprintf(err, errlen, "%s: ROLE %s: a replica, not a primary (demoted?)", rs->name,
                 r->element[0]->str);
        redis_drop(slot);
        rc = -1;
    }
    freeReplyObject(r);
    if (rc == 0 && !rs->url.is_unix) {
        redis_set_addr(rs, addr, port);
        slot->gen = atomic_load(&rs->addr_gen);
    }
    return rc;
}

/* redis_probe_slot - one probe into slot: find the server (redis_where), redis_probe_at it */
static int
redis_probe_slot(struct redis_conn *rs, struct redis_slot *slot, char *err, size_t errlen)
{
    char    addr[REDIS_ADDR_MAX];
    int     port;

    if (redis_where(rs, addr, sizeof(addr), &port, err, errlen) < 0)
        return -1;
    return redis_probe_at(rs, slot, addr, port, err, errlen);
}

/*
 * redis_follow - redis_sentinel_follow_fn: if the sentinels name another
 * server than the current one, probe it (ROLE); a primary becomes the
 * address, and the breaker, if open, closes on that success
 */
static void
redis_follow(void *arg)
{
    struct redis_conn *rs = arg;
    struct redis_slot probe = {.ctx = NULL};
    char    addr[REDIS_ADDR_MAX], err[STORE_ERRLEN];
    int     port, same;

    if (redis_where(rs, addr, sizeof(addr), &port, err, sizeof(err)) < 0)
        return;                          /* the calls and the prober find out themselves */
    pthread_mutex_lock(&rs->addr_lock);
    same = strcmp(rs->addr, addr) == 0 && rs->port == port;
    pthread_mutex_unlock(&rs->addr_lock);
    if (same)
        return;
    if (redis_probe_at(rs, &probe, addr, port, err, sizeof(err)) == 0)
        redis_account(rs, REDIS_FAIL_NONE, "");
    redis_drop(&probe);
}

/* redis_probe - prober_probe_fn: a probe on a connection of its own, closed after */
static int
redis_probe(void *arg, char *err, size_t errlen)
{
    struct redis_conn *rs = arg;
    struct redis_slot probe = {.ctx = NULL};
    int     rc = redis_probe_slot(rs, &probe, err, errlen);

    redis_drop(&probe);
    if (rc < 0)
        redis_why_set(rs, err);
    return rc;
}

/*
 * redis_conn_command - run one command on a pooled connection: pass the
 * breaker, take a slot, redis_run() it, give the slot back, all within
 * one timeout_ms; tell the breaker how it went.
 */
redisReply *
redis_conn_command(struct redis_conn *rs, int argc, const char **argv, const size_t *lens,
              char *err, size_t errlen)
{
    int64_t deadline = clock_mono_us() + (int64_t) rs->timeout_ms * 1000;
    enum redis_fail last;
    redisReply *r;
    int     idx;

    if (redis_gate(rs, 0, err, errlen) < 0)
        return NULL;
    if ((idx = redis_checkout(rs, deadline, err, errlen)) < 0)
        return NULL;
    r = redis_run(rs, &rs->slots[idx], deadline, argc, argv, lens, err, errlen);
    last = rs->slots[idx].last;
    redis_checkin(rs, idx);
    redis_account(rs, last, err);
    return r;
}

/* ---- for the backend: a call of its own, opening and closing ---- */

/*
 * redis_conn_begin - start a call of the backend's own: pass the breaker
 * (a decision, count 1, that is refused is counted), set *deadline to
 * timeout_ms from now and take a slot within it. The slot's index, or -1
 * with err.
 */
int
redis_conn_begin(struct redis_conn *rs, int count, int64_t *deadline, char *err, size_t errlen)
{
    int     idx;

    if (redis_gate(rs, count, err, errlen) < 0)
        return -1;
    *deadline = clock_mono_us() + (int64_t) rs->timeout_ms * 1000;
    if ((idx = redis_checkout(rs, *deadline, err, errlen)) < 0)
        return -1;
    rs->slots[idx].last = REDIS_FAIL_NONE;
    return idx;
}

/* redis_conn_run - redis_run() on slot idx of a call begun by redis_conn_begin */
redisReply *
redis_conn_run(struct redis_conn *rs, int idx, int64_t deadline, int argc,
               const char **argv, const size_t *lens, char *err, size_t errlen)
{
    return redis_run(rs, &rs->slots[idx], deadline, argc, argv, lens, err, errlen);
}

/* redis_conn_end - end the call on slot idx: give the slot back, tell the breaker */
void
redis_conn_end(struct redis_conn *rs, int idx, const char *err)
{
    enum redis_fail last = rs->slots[idx].last;

    redis_checkin(rs, idx);
    redis_account(rs, last, err);
}

/*
 * redis_conn_init - set up rs for url: a pool of pool slots, none
 * connected, calls of timeout_ms, script loaded by every new connection,
 * outages reported through owner's notify function. No I/O.
 */
void
redis_conn_init(struct redis_conn *rs, struct store *owner, const struct store_redis_url *url,
                int pool, int timeout_ms, const char *script, size_t script_len,
                const char *sentinel_password)
{
    static const struct breaker_config bc = {
        REDIS_BREAK_FAILS, REDIS_PROBE_MIN_US, REDIS_PROBE_MAX_US,
    };
    pthread_condattr_t ca;

    rs->owner = owner;
    rs->url = *url;
    rs->port = url->port;
    if (url->nsentinels > 0)
        snprintf(rs->name, sizeof(rs->name), "redis %s (sentinel)", url->master);
    else if (url->is_unix)
        snprintf(rs->name, sizeof(rs->name), "redis unix:%s", url->path);
    else if (strchr(url->host, ':') != NULL)
        snprintf(rs->name, sizeof(rs->name), "redis [%s]:%d", url->host, url->port);
    else
        snprintf(rs->name, sizeof(rs->name), "redis %s:%d", url->host, url->port);
    rs->timeout_ms = timeout_ms;
    rs->script = script;
    rs->script_len = script_len;

    pthread_mutex_init(&rs->lock, NULL);
    pthread_mutex_init(&rs->addr_lock, NULL);
    atomic_init(&rs->addr_gen, 0);
    breaker_init(&rs->breaker, &bc);
    rs->numeric = !url->is_unix && store_redis_addr_numeric(url->host);
    if (rs->numeric)
        snprintf(rs->addr, sizeof(rs->addr), "%.*s", (int) sizeof(rs->addr) - 1, url->host);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&rs->cond, &ca);
    pthread_condattr_destroy(&ca);
    snprintf(rs->sentinel_password, sizeof(rs->sentinel_password), "%s",
             sentinel_password != NULL ? sentinel_password : "");
    redis_sentinel_init(&rs->sentinel, &rs->url, rs->sentinel_password, timeout_ms);
    rs->nslots = pool;
    rs->slots = xcalloc((size_t) pool, sizeof(*rs->slots));
    rs->free_slots = xcalloc((size_t) pool, sizeof(*rs->free_slots));

    /* A stack: slot 0 comes first, so idle slots stay unconnected. */
    for (int i = 0; i < pool; i++)
        rs->free_slots[rs->nfree++] = pool - 1 - i;
}

/*
 * redis_conn_start - start the prober (and the sentinel watcher), probe
 * into slot 0 (resolve or ask the sentinels, connect, log in, load the
 * script): a failure there is a warning in err and an open breaker, and
 * still 0. -1 with err only if a thread cannot be made.
 */
int
redis_conn_start(struct redis_conn *rs, char *err, size_t errlen)
{
    struct sigaction sa;

    /* A server that closed the connection must give EPIPE, not kill us. */
    if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL)
        signal(SIGPIPE, SIG_IGN);

    if (prober_start(&rs->prober, &rs->breaker, redis_probe, redis_report, rs,
                     err, errlen) < 0)
        return -1;
    if (redis_probe_slot(rs, &rs->slots[0], err, errlen) < 0) {
        redis_drop(&rs->slots[0]);
        redis_why_set(rs, err);
        if (breaker_trip(&rs->breaker, clock_mono_us()) == BREAKER_OPENED)
            prober_wake(&rs->prober);
    } else if (errlen > 0) {
        err[0] = 0;
    }
    /* After the first probe, so that the watcher finds the address set. */
    if (rs->url.nsentinels > 0) {
        char    why[STORE_ERRLEN];

        if (redis_sentinel_start(&rs->sentinel, redis_follow, rs, why, sizeof(why)) < 0) {
            snprintf(err, errlen, "%s: %s", rs->name, why);
            return -1;
        }
    }
    return 0;
}

/* redis_conn_free - stop the watcher and the prober, close every connection, free the pool */
void
redis_conn_free(struct redis_conn *rs)
{
    redis_sentinel_stop(&rs->sentinel);
    prober_stop(&rs->prober);
    for (int i = 0; i < rs->nslots; i++)
        redis_drop(&rs->slots[i]);
    pthread_cond_destroy(&rs->cond);
    pthread_mutex_destroy(&rs->lock);
    pthread_mutex_destroy(&rs->addr_lock);
    free(rs->slots);
    free(rs->free_slots);
}

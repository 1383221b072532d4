/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * store_redis.c - greylisting state in Redis, shared by every MTA of a cluster.
 *
 * One decision is one round trip: EVALSHA of a short Lua script that reads
 * the triplet's grey key and the (client key, sender domain) AWL key,
 * applies the table of policy.h with the time of the Redis server (TIME),
 * and writes back, atomically. Both keys come from triplet.c and share the
 * client key as Redis Cluster hash tag. Expiry is by TTL only. The script
 * is store_redis_lua.c: one decision body, two entries (production reads
 * TIME; the test entry of store_redis_decide_skewed moves that clock).
 *
 * Values are single integers, to keep memory per key small. Redis keeps
 * the integers 0..9999 as shared objects, so such a value costs nothing
 * beyond the key, 16 bytes less than any other value (unless
 * maxmemory-policy is an LRU or LFU one, which disables sharing):
 *   grey, passed    0; expires (PEXPIREAT) at the last ms before
 *                   now + pass_ttl, where policy.c ends it, renewed by
 *                   every pass.
 *   grey, pending   when retry_window is whole minutes under 10000, the
 *                   number of minutes W, and the key expires at exactly
 *                   (first_seen + retry_window) s + 500 ms: first_seen is
 *                   read back as floor((now_ms + PTTL) / 1000) - 60 W, exact
 *                   to the second with 499 ms to spare, and right even after
 *                   retry_window changes in the config. Otherwise the value
 *                   is first_seen itself (>= 10000) with TTL retry_window.
 *   AWL             last_count * 65536 + count (count saturates at 65535),
 *                   expires at the last ms before now + awl_ttl, renewed
 *                   by every pass the AWL sees.
 * (One edge: a ttl of 1 s set in the last ms of a second ends in that same
 * ms, and PEXPIREAT of the current ms deletes the key at once, where
 * policy.c keeps the entry to the end of that ms.)
 * A value that is none of these counts as absent and is overwritten.
 * A pending entry counts as absent from first_seen + its window on, as in
 * policy.c (expires <= now), although its key lives up to a second longer:
 * the compact form knows its window (W minutes); the plain one does not
 * record it, and the configured retry_window is used.
 *
 * Memory (INFO used_memory over 100k first sightings with the defaults and
 * the "rg:" prefix, IPv4 /24 client keys; the test "memory" prints it and
 * fails above 120): 117 bytes per pending triplet, of which 64 are Redis's
 * two dict entries (keyspace and expires, 24 bytes in jemalloc's 32-byte
 * class each), 32 the 27-byte key's sds (that class holds keys of up to
 * 28 bytes), ~21 the hash tables' buckets (2 x 8 bytes x 131072 for 100k
 * keys); the value is a shared integer. An IPv6 /64 client key makes the
 * key 34 bytes and its sds 48, so 16 bytes more.
 *
 * Connections: a pool of `pool` hiredis contexts, each used by one thread at
 * a time. The mutex guards only the stack of free slots (and the test
 * entry's SHA1), never I/O. A slot connects on first use (slot 0 at open,
 * to warn early), logs in (AUTH, SELECT) and loads the script in one
 * pipelined round trip. A context that errored is freed at once and
 * re-made by the next call that takes the slot.
 * So is one that got an error reply saying that this server cannot serve
 * us now (READONLY, LOADING, MASTERDOWN, NOAUTH, WRONGPASS, CLUSTERDOWN,
 * TRYAGAIN: the table in store_redis_reply.c): the call fails with that
 * reason, and the next one connects again.
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
 * Opening: store_redis_open() fails only for a bad URL or limits. A server
 * that cannot be resolved, reached or used at open gives a store whose
 * breaker starts open, with the reason as a warning, so that the daemon
 * serves under on_store_error and connects when the server appears.
 *
 * Named blobs (store_blob_get/put) are one hash each, PREFIX "blob:" NAME,
 * with the fields version, stamp and data; no triplet key can collide,
 * since those continue the prefix with '{'. A read of the version alone is
 * an HMGET of two small fields; a read of the whole blob is one HMGET, so
 * data and version always match; a write is a short script that bumps the
 * version and stamps it with the server's TIME, atomically.
 *
 * Writing to a socket the server closed raises SIGPIPE: store_redis_open()
 * sets SIGPIPE to SIG_IGN if it is still at its default.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "breaker.h"
#include "clock.h"
#include "prober.h"
#include "store.h"
#include "store_redis.h"
#include "store_redis_lua.h"
#include "xalloc.h"

#define REDIS_POOL_MAX     1024          /* connections per store */
#define REDIS_TIMEOUT_MAX  60000         /* ms */
#define REDIS_NAME_MAX     (STORE_REDIS_HOST_MAX + 32)
#define REDIS_ADDR_MAX     64            /* a numeric IPv4 or IPv6 address */
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

struct store_redis {
    struct store base;                   /* first: what store.h sees */
    struct store_redis_url url;          /* where, and how to log in */
    char    name[REDIS_NAME_MAX];        /* "redis HOST:PORT", for errors */
    char    addr[REDIS_ADDR_MAX];        /* url.host as last resolved (TCP only); addr_lock */
    pthread_mutex_t addr_lock;           /* guards addr, why */
    atomic_uint addr_gen;                /* +1 whenever addr changes */
    int     numeric;                     /* url.host is an address: never resolved */
    char    why[STORE_ERRLEN];           /* why the breaker is open; addr_lock */
    struct breaker breaker;              /* every call passes it */
    struct prober prober;                /* probes while the breaker is open */
    int     timeout_ms;                  /* budget of one whole call */
    char    sha[41];                     /* the script's SHA1, set at open */
    char    sha_skewed[41];              /* the test entry's, once loaded (lock) */
    char    args[5][24];                 /* the script's ARGV, as text */
    size_t  args_len[5];                 /* and their lengths */
    pthread_mutex_t lock;                /* guards free_slots, nfree, sha_skewed */
    pthread_cond_t cond;                 /* a slot was returned */
    int     nslots;                      /* pool size */
    struct redis_slot *slots;            /* nslots connections */
    int    *free_slots;                  /* stack of idle slot indexes */
    int     nfree;                       /* entries on that stack */
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
redis_call(struct store_redis *rs, struct redis_slot *slot, int64_t deadline,
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

/* redis_reply_text - r's text for an error message */
static const char *
redis_reply_text(const redisReply *r)
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
redis_setup(struct store_redis *rs, redisContext *c, char *err, size_t errlen)
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
    redisAppendCommandArgv(c, 3, (const char *[]) {"SCRIPT", "LOAD", store_redis_lua_decide},
                           (const size_t[]) {6, 4, store_redis_lua_decide_len});
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
            snprintf(err, errlen, "%s: %s: %s", rs->name, what[i], redis_reply_text(r));
        if (ok && strcmp(what[i], "SCRIPT LOAD") == 0 && rs->sha[0] == 0)
            memcpy(rs->sha, r->str, 41);
        freeReplyObject(r);
    }
    return err[0] == 0 ? 0 : -1;
}

/*
 * redis_resolve - the URL's host as a numeric address into addr[addrlen].
 * IPv4 is preferred when the name has both, as hiredis itself does. No
 * deadline (getaddrinfo has none): at open and in the probing thread
 * only, never in a call (see "Names" above). 0, or -1 with err.
 */
static int
redis_resolve(const struct store_redis *rs, char *addr, size_t addrlen,
              char *err, size_t errlen)
{
    struct addrinfo hints, *res = NULL, *pick = NULL;
    int     rc;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if ((rc = getaddrinfo(rs->url.host, NULL, &hints, &res)) != 0) {
        snprintf(err, errlen, "%s: cannot resolve %s: %s", rs->name, rs->url.host,
                 rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
        return -1;
    }
    for (struct addrinfo *ai = res; ai != NULL && pick == NULL; ai = ai->ai_next)
        if (ai->ai_family == AF_INET)
            pick = ai;
    for (struct addrinfo *ai = res; ai != NULL && pick == NULL; ai = ai->ai_next)
        if (ai->ai_family == AF_INET6)
            pick = ai;
    rc = pick == NULL ? EAI_FAMILY
        : getnameinfo(pick->ai_addr, pick->ai_addrlen, addr, (socklen_t) addrlen,
                      NULL, 0, NI_NUMERICHOST);
    freeaddrinfo(res);
    if (rc != 0) {
        snprintf(err, errlen, "%s: no usable address for %s: %s", rs->name, rs->url.host,
                 gai_strerror(rc));
        return -1;
    }
    return 0;
}

/* redis_set_addr - make addr where connects go; a change drops the pool's old contexts */
static void
redis_set_addr(struct store_redis *rs, const char *addr)
{
    pthread_mutex_lock(&rs->addr_lock);
    if (strcmp(rs->addr, addr) != 0) {
        snprintf(rs->addr, sizeof(rs->addr), "%s", addr);
        atomic_fetch_add(&rs->addr_gen, 1);
    }
    pthread_mutex_unlock(&rs->addr_lock);
}

/*
 * redis_connect - make slot's context within deadline, to the address of
 * the last successful probe (or given in addr, for a probe). 0, or -1
 * with err and slot->last saying whether time ran out.
 */
static int
redis_connect(struct store_redis *rs, struct redis_slot *slot, int64_t deadline,
              const char *addr, char *err, size_t errlen)
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
    gen = atomic_load(&rs->addr_gen);
    pthread_mutex_unlock(&rs->addr_lock);

    /* A numeric address: hiredis's getaddrinfo() cannot block on DNS here. */
    slot->last = REDIS_FAIL_IO;
    errno = 0;
    if (rs->url.is_unix)
        c = redisConnectUnixWithTimeout(rs->url.path, tv);
    else if (to[0] != 0)
        c = redisConnectWithTimeout(to, rs->url.port, tv);
    else {
        snprintf(err, errlen, "%s: %s not resolved yet", rs->name, rs->url.host);
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
redis_checkout(struct store_redis *rs, int64_t deadline, char *err, size_t errlen)
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
redis_checkin(struct store_redis *rs, int idx)
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
redis_run(struct store_redis *rs, struct redis_slot *slot, int64_t deadline,
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
        if (fresh && redis_connect(rs, slot, deadline, NULL, err, errlen) < 0)
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
redis_why(const struct store_redis *rs, const char *err)
{
    size_t  n = strlen(rs->name);

    if (strncmp(err, rs->name, n) == 0 && strncmp(err + n, ": ", 2) == 0)
        err += n + 2;
    return err[0] != 0 ? err : "unknown error";
}

/* redis_why_set - remember why the breaker is open */
static void
redis_why_set(struct store_redis *rs, const char *err)
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
redis_gate(struct store_redis *rs, int count, char *err, size_t errlen)
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
    struct store_redis *rs = arg;

    if (change == BREAKER_OPENED) {
        redis_why_set(rs, err);
        prober_wake(&rs->prober);
        store_notify(&rs->base, "%s: unavailable (%s): failing fast, probing every %d ms"
                     " to %d ms", rs->name, redis_why(rs, err), REDIS_PROBE_MIN_US / 1000,
                     REDIS_PROBE_MAX_US / 1000);
    } else if (change == BREAKER_CLOSED) {
        store_notify(&rs->base, "%s: available again after %.1f s unavailable;"
                     " %" PRIu64 " decisions made without it, %" PRIu64 " failed probes",
                     rs->name, (double) o->duration_us / 1e6, o->refused, o->probes);
    }
}

/* redis_account - tell the breaker how a call ended (its slot's last); report a change */
static void
redis_account(struct store_redis *rs, enum redis_fail last, const char *err)
{
    struct breaker_outage o;
    enum breaker_result r = last == REDIS_FAIL_NONE ? BREAKER_OK
        : last == REDIS_FAIL_TIMEOUT ? BREAKER_TIMEOUT : BREAKER_FAILED;

    redis_report(rs, breaker_record(&rs->breaker, r, clock_mono_us(), &o), &o, err);
}

/*
 * redis_probe_slot - one probe into slot, within timeout_ms once the name
 * is resolved: resolve the host name again (names only), connect, log
 * in, load the script, and ask ROLE, since a replica takes no writes. On
 * success the address is the store's (see "Names"). 0, or -1 with err.
 */
static int
redis_probe_slot(struct store_redis *rs, struct redis_slot *slot, char *err, size_t errlen)
{
    char    addr[REDIS_ADDR_MAX] = "";
    const char *argv[1] = {"ROLE"};
    const size_t lens[1] = {4};
    enum redis_fail fail;
    redisReply *r;
    int64_t deadline;
    int     rc = 0;

    if (!rs->url.is_unix && rs->numeric)
        snprintf(addr, sizeof(addr), "%.*s", (int) sizeof(addr) - 1, rs->url.host);
    else if (!rs->url.is_unix && redis_resolve(rs, addr, sizeof(addr), err, errlen) < 0)
        return -1;
    deadline = clock_mono_us() + (int64_t) rs->timeout_ms * 1000;
    if (redis_connect(rs, slot, deadline, addr, err, errlen) < 0
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
        redis_set_addr(rs, addr);
        slot->gen = atomic_load(&rs->addr_gen);
    }
    return rc;
}

/* redis_probe - prober_probe_fn: a probe on a connection of its own, closed after */
static int
redis_probe(void *arg, char *err, size_t errlen)
{
    struct store_redis *rs = arg;
    struct redis_slot probe = {.ctx = NULL};
    int     rc = redis_probe_slot(rs, &probe, err, errlen);

    redis_drop(&probe);
    if (rc < 0)
        redis_why_set(rs, err);
    return rc;
}

/*
 * redis_command - run one command on a pooled connection: pass the
 * breaker, take a slot, redis_run() it, give the slot back, all within
 * one timeout_ms; tell the breaker how it went.
 */
static redisReply *
redis_command(struct store_redis *rs, int argc, const char **argv, const size_t *lens,
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

/* ---- the decision ---- */

/* redis_verdict - map the script's reply into out; 0, or -1 with err */
static int
redis_verdict(struct store_redis *rs, const redisReply *r,
              struct policy_verdict *out, char *err, size_t errlen)
{
    static const enum policy_reason reasons[] = {
        POLICY_REASON_NEW, POLICY_REASON_EARLY, POLICY_REASON_RETRY,
        POLICY_REASON_KNOWN, POLICY_REASON_AWL,
    };
    long long v[4];

    if (r->type == REDIS_REPLY_ERROR) {
        snprintf(err, errlen, "%s: script: %s", rs->name, r->str);
        return -1;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 4)
        goto bad;
    for (int i = 0; i < 4; i++) {
        if (r->element[i]->type != REDIS_REPLY_INTEGER)
            goto bad;
        v[i] = r->element[i]->integer;
    }
    /* new and early are the tempfails; anything else is inconsistent. */
    if (v[1] < 0 || v[1] > 4 || v[0] != (v[1] <= 1 ? 1 : 0))
        goto bad;
    memset(out, 0, sizeof(*out));
    out->action = v[0] == 1 ? POLICY_TEMPFAIL : POLICY_PASS;
    out->reason = reasons[v[1]];
    out->now = v[2];
    out->delayed = v[3];
    return 0;
bad:
    snprintf(err, errlen, "%s: script: unexpected reply", rs->name);
    return -1;
}

/*
 * redis_load - SCRIPT LOAD script on slot before deadline; its SHA1 into
 * sha (41 bytes). 0, or -1 with err.
 */
static int
redis_load(struct store_redis *rs, struct redis_slot *slot, int64_t deadline,
           const char *script, size_t script_len, char *sha, char *err, size_t errlen)
{
    const char *argv[3] = {"SCRIPT", "LOAD", script};
    size_t  lens[3] = {6, 4, script_len};
    redisReply *r;

    if ((r = redis_run(rs, slot, deadline, 3, argv, lens, err, errlen)) == NULL)
        return -1;
    if (r->type != REDIS_REPLY_STRING || r->len != 40) {
        snprintf(err, errlen, "%s: SCRIPT LOAD failed: %s", rs->name, redis_reply_text(r));
        freeReplyObject(r);
        return -1;
    }
    memcpy(sha, r->str, 41);
    freeReplyObject(r);
    return 0;
}

/*
 * redis_eval - EVALSHA argv (argv[1] the SHA1 of script) on slot before
 * deadline (redis_run: connect, one retry on a stale connection).
 * NOSCRIPT (the server's script cache was flushed) loads the script and
 * retries once. 0 with *out filled, or -1 with err.
 */
static int
redis_eval(struct store_redis *rs, struct redis_slot *slot, int64_t deadline,
           const char *script, size_t script_len, int argc, const char **argv,
           const size_t *lens, struct policy_verdict *out, char *err, size_t errlen)
{
    char    sha[41];
    redisReply *r;
    int     rc;

    if ((r = redis_run(rs, slot, deadline, argc, argv, lens, err, errlen)) == NULL)
        return -1;
    if (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0) {
        freeReplyObject(r);
        if (redis_load(rs, slot, deadline, script, script_len, sha, err, errlen) < 0)
            return -1;
        if ((r = redis_run(rs, slot, deadline, argc, argv, lens, err, errlen)) == NULL)
            return -1;
    }
    rc = redis_verdict(rs, r, out, err, errlen);
    freeReplyObject(r);
    return rc;
}

/*
 * redis_decide_with - one decision on t, through the breaker: EVALSHA of
 * the production entry (skew NULL), or of the test entry with skew (ms,
 * as decimal text) as ARGV[6]. The test entry's SHA1 is learnt by a
 * SCRIPT LOAD on its first use, so that production never loads it. 0, or
 * -1 with err.
 */
static int
redis_decide_with(struct store_redis *rs, const struct triplet *t, const char *skew,
                  struct policy_verdict *out, char *err, size_t errlen)
{
    char    gkey[TRIPLET_KEY_MAX], akey[TRIPLET_KEY_MAX], sha[41];
    const char *script = skew ? store_redis_lua_decide_skewed : store_redis_lua_decide;
    size_t  script_len = skew ? store_redis_lua_decide_skewed_len : store_redis_lua_decide_len;
    const char *argv[11] = {"EVALSHA", rs->sha, "2", gkey, akey};
    size_t  lens[11] = {7, 40, 1};
    int     argc = skew ? 11 : 10;
    enum redis_fail last;
    int64_t deadline;
    int     idx, rc = 0;

    lens[3] = triplet_grey_key(rs->base.key_prefix, t, gkey, sizeof(gkey));
    lens[4] = triplet_awl_key(rs->base.key_prefix, t, akey, sizeof(akey));
    if (lens[3] == 0 || lens[4] == 0) {
        snprintf(err, errlen, "%s: cannot build the keys of this triplet", rs->name);
        return -1;
    }
    for (int i = 0; i < 5; i++) {
        argv[5 + i] = rs->args[i];
        lens[5 + i] = rs->args_len[i];
    }
    if (redis_gate(rs, 1, err, errlen) < 0)
        return -1;
    deadline = clock_mono_us() + (int64_t) rs->timeout_ms * 1000;
    if ((idx = redis_checkout(rs, deadline, err, errlen)) < 0)
        return -1;
    rs->slots[idx].last = REDIS_FAIL_NONE;
    if (skew != NULL) {
        argv[10] = skew;
        lens[10] = strlen(skew);
        pthread_mutex_lock(&rs->lock);
        memcpy(sha, rs->sha_skewed, sizeof(sha));
        pthread_mutex_unlock(&rs->lock);
        if (sha[0] == 0) {
            rc = redis_load(rs, &rs->slots[idx], deadline, script, script_len, sha, err, errlen);
            pthread_mutex_lock(&rs->lock);
            if (rc == 0)
                memcpy(rs->sha_skewed, sha, sizeof(sha));
            pthread_mutex_unlock(&rs->lock);
        }
        argv[1] = sha;
    }
    if (rc == 0)
        rc = redis_eval(rs, &rs->slots[idx], deadline, script, script_len, argc, argv, lens,
                        out, err, errlen);
    last = rs->slots[idx].last;
    redis_checkin(rs, idx);
    redis_account(rs, last, err);
    return rc;
}

/* redis_decide - store_ops.decide: one EVALSHA round trip */
static int
redis_decide(struct store *st, const struct triplet *t,
             struct policy_verdict *out, char *err, size_t errlen)
{
    return redis_decide_with((struct store_redis *) st, t, NULL, out, err, errlen);
}

/* ---- named blobs ---- */

/* The write: KEYS[1] the blob's hash, ARGV[1] the data. Returns {version, stamp}. */
static const char redis_blob_script[] =
    "local t = redis.call('TIME')\n"
    "local v = redis.call('HINCRBY', KEYS[1], 'version', 1)\n"
    "redis.call('HSET', KEYS[1], 'data', ARGV[1], 'stamp', t[1])\n"
    "return {v, tonumber(t[1])}\n";

/* redis_blob_number - a reply element holding a decimal integer >= 0 (>= 1 if positive) */
static int
redis_blob_number(const redisReply *e, int positive, uint64_t *out)
{
    char   *end;
    unsigned long long v;

    if (e->type == REDIS_REPLY_INTEGER) {
        if (e->integer < (positive ? 1 : 0))
            return -1;
        *out = (uint64_t) e->integer;
        return 0;
    }
    if (e->type != REDIS_REPLY_STRING || e->len == 0 || e->len > 20
        || !isdigit((unsigned char) e->str[0]))
        return -1;
    errno = 0;
    v = strtoull(e->str, &end, 10);
    if (errno != 0 || *end != 0 || (positive && v == 0) || v > INT64_MAX)
        return -1;
    *out = (uint64_t) v;
    return 0;
}

/* redis_blob_get - store_ops.blob_get: one HMGET of version, stamp [, data] */
static enum store_blob_result
redis_blob_get(struct store *st, const char *name, char **data, size_t *len,
               struct store_blob_meta *meta, char *err, size_t errlen)
{
    struct store_redis *rs = (struct store_redis *) st;
    char    key[STORE_BLOB_KEY_MAX];
    const char *argv[5] = {"HMGET", key, "version", "stamp", "data"};
    size_t  lens[5] = {5, 0, 7, 5, 4};
    int     argc = data != NULL ? 5 : 4;
    enum store_blob_result res = STORE_BLOB_ERROR;
    uint64_t version, stamp;
    redisReply *r;

    lens[1] = store_blob_key(rs->base.key_prefix, name, key, sizeof(key));
    if ((r = redis_command(rs, argc, argv, lens, err, errlen)) == NULL)
        return STORE_BLOB_ERROR;
    if (r->type == REDIS_REPLY_ERROR) {
        snprintf(err, errlen, "%s: blob %s: %s", rs->name, name, r->str);
        goto out;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != (size_t) argc - 2)
        goto bad;
    if (r->element[0]->type == REDIS_REPLY_NIL) {
        res = STORE_BLOB_ABSENT;
        goto out;
    }
    if (redis_blob_number(r->element[0], 1, &version) < 0
        || redis_blob_number(r->element[1], 0, &stamp) < 0)
        goto bad;
    if (data != NULL) {
        const redisReply *d = r->element[2];

        if (d->type != REDIS_REPLY_STRING || d->len > STORE_BLOB_MAX)
            goto bad;
        *data = xmalloc(d->len + 1);
        memcpy(*data, d->str, d->len);
        (*data)[d->len] = 0;
        *len = d->len;
    }
    meta->version = version;
    meta->stamp = (int64_t) stamp;
    res = STORE_BLOB_FOUND;
    goto out;
bad:
    snprintf(err, errlen, "%s: blob %s (key %s): malformed", rs->name, name, key);
out:
    freeReplyObject(r);
    return res;
}

/* redis_blob_put - store_ops.blob_put: one EVAL that bumps the version */
static int
redis_blob_put(struct store *st, const char *name, const void *data, size_t len,
               struct store_blob_meta *meta, char *err, size_t errlen)
{
    struct store_redis *rs = (struct store_redis *) st;
    char    key[STORE_BLOB_KEY_MAX];
    const char *argv[5] = {"EVAL", redis_blob_script, "1", key, data};
    size_t  lens[5] = {4, sizeof(redis_blob_script) - 1, 1, 0, len};
    uint64_t version, stamp;
    redisReply *r;
    int     rc = -1;

    lens[3] = store_blob_key(rs->base.key_prefix, name, key, sizeof(key));
    if ((r = redis_command(rs, 5, argv, lens, err, errlen)) == NULL)
        return -1;
    if (r->type == REDIS_REPLY_ERROR)
        snprintf(err, errlen, "%s: blob %s: %s", rs->name, name, r->str);
    else if (r->type != REDIS_REPLY_ARRAY || r->elements != 2
             || redis_blob_number(r->element[0], 1, &version) < 0
             || redis_blob_number(r->element[1], 0, &stamp) < 0)
        snprintf(err, errlen, "%s: blob %s: unexpected reply to the write", rs->name, name);
    else {
        if (meta != NULL) {
            meta->version = version;
            meta->stamp = (int64_t) stamp;
        }
        rc = 0;
    }
    freeReplyObject(r);
    return rc;
}

/* redis_free - store_ops.free: close every connection */
static void
redis_free(struct store *st)
{
    struct store_redis *rs = (struct store_redis *) st;

    prober_stop(&rs->prober);
    for (int i = 0; i < rs->nslots; i++)
        redis_drop(&rs->slots[i]);
    pthread_cond_destroy(&rs->cond);
    pthread_mutex_destroy(&rs->lock);
    pthread_mutex_destroy(&rs->addr_lock);
    free(rs->slots);
    free(rs->free_slots);
    free(rs);
}

static const struct store_ops redis_ops = {
    .name = "redis",
    .decide = redis_decide,
    .blob_get = redis_blob_get,
    .blob_put = redis_blob_put,
    .free = redis_free,
};

/* redis_check_config - the limits store_redis_open enforces; 0, or -1 with err */
static int
redis_check_config(const struct store_config *conf, char *err, size_t errlen)
{
    const struct policy_params *p = &conf->params;
    const char *prefix = conf->key_prefix ? conf->key_prefix : "";

    if (conf->pool < 1 || conf->pool > REDIS_POOL_MAX) {
        snprintf(err, errlen, "redis: pool must be 1..%d", REDIS_POOL_MAX);
        return -1;
    }
    if (conf->timeout_ms < 1 || conf->timeout_ms > REDIS_TIMEOUT_MAX) {
        snprintf(err, errlen, "redis: timeout must be 1..%d ms", REDIS_TIMEOUT_MAX);
        return -1;
    }
    if (strlen(prefix) > TRIPLET_PREFIX_MAX || strpbrk(prefix, "{}") != NULL) {
        snprintf(err, errlen, "redis: key prefix must be at most %d bytes without braces",
                 TRIPLET_PREFIX_MAX);
        return -1;
    }
    /* Redis refuses EX 0; an unbounded delay would never pass. */
    if (p->delay < 0 || p->retry_window < 1 || p->pass_ttl < 1
        || p->awl_threshold < 0 || p->awl_threshold > STORE_REDIS_LUA_AWL_COUNT_MAX
        || (p->awl_threshold > 0 && p->awl_ttl < 1)) {
        snprintf(err, errlen, "redis: want delay >= 0, retry_window, pass_ttl and awl_ttl"
                 " >= 1 s, awl_threshold 0..%d", STORE_REDIS_LUA_AWL_COUNT_MAX);
        return -1;
    }
    return 0;
}

/* redis_numeric - 1 if host is an IPv4 or IPv6 address, so never looked up */
static int
redis_numeric(const char *host)
{
    unsigned char buf[sizeof(struct in6_addr)];

    return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

/*
 * store_redis_open - parse, start the prober, probe into slot 0 (resolve,
 * connect, log in, load the script): a failure there is a warning in err
 * and an open breaker, not a failed open
 */
struct store *
store_redis_open(const struct store_config *conf, char *err, size_t errlen)
{
    static const struct breaker_config bc = {
        REDIS_BREAK_FAILS, REDIS_PROBE_MIN_US, REDIS_PROBE_MAX_US,
    };
    struct store_redis *rs;
    struct store_redis_url url;
    pthread_condattr_t ca;
    struct sigaction sa;

    if (redis_check_config(conf, err, errlen) < 0
        || store_redis_url_parse(conf->url, &url, err, errlen) < 0)
        return NULL;

    rs = xcalloc(1, sizeof(*rs));
    rs->base.ops = &redis_ops;
    rs->base.params = conf->params;
    snprintf(rs->base.key_prefix, sizeof(rs->base.key_prefix), "%s",
             conf->key_prefix ? conf->key_prefix : "");
    rs->url = url;
    if (url.is_unix)
        snprintf(rs->name, sizeof(rs->name), "redis unix:%s", url.path);
    else if (strchr(url.host, ':') != NULL)
        snprintf(rs->name, sizeof(rs->name), "redis [%s]:%d", url.host, url.port);
    else
        snprintf(rs->name, sizeof(rs->name), "redis %s:%d", url.host, url.port);
    rs->timeout_ms = conf->timeout_ms;
    snprintf(rs->args[0], sizeof(rs->args[0]), "%" PRId64, conf->params.delay);
    snprintf(rs->args[1], sizeof(rs->args[1]), "%" PRId64, conf->params.retry_window);
    snprintf(rs->args[2], sizeof(rs->args[2]), "%" PRId64, conf->params.pass_ttl);
    snprintf(rs->args[3], sizeof(rs->args[3]), "%" PRId64, conf->params.awl_threshold);
    snprintf(rs->args[4], sizeof(rs->args[4]), "%" PRId64, conf->params.awl_ttl);
    for (int i = 0; i < 5; i++)
        rs->args_len[i] = strlen(rs->args[i]);

    pthread_mutex_init(&rs->lock, NULL);
    pthread_mutex_init(&rs->addr_lock, NULL);
    atomic_init(&rs->addr_gen, 0);
    breaker_init(&rs->breaker, &bc);
    rs->numeric = !url.is_unix && redis_numeric(url.host);
    if (rs->numeric)
        snprintf(rs->addr, sizeof(rs->addr), "%.*s", (int) sizeof(rs->addr) - 1, url.host);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&rs->cond, &ca);
    pthread_condattr_destroy(&ca);
    rs->nslots = conf->pool;
    rs->slots = xcalloc((size_t) conf->pool, sizeof(*rs->slots));
    rs->free_slots = xcalloc((size_t) conf->pool, sizeof(*rs->free_slots));

    /* A stack: slot 0 comes first, so idle slots stay unconnected. */
    for (int i = 0; i < conf->pool; i++)
        rs->free_slots[rs->nfree++] = conf->pool - 1 - i;

    /* A server that closed the connection must give EPIPE, not kill us. */
    if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL)
        signal(SIGPIPE, SIG_IGN);

    if (prober_start(&rs->prober, &rs->breaker, redis_probe, redis_report, rs,
                     err, errlen) < 0) {
        redis_free(&rs->base);
        return NULL;
    }
    if (redis_probe_slot(rs, &rs->slots[0], err, errlen) < 0) {
        redis_drop(&rs->slots[0]);
        redis_why_set(rs, err);
        if (breaker_trip(&rs->breaker, clock_mono_us()) == BREAKER_OPENED)
            prober_wake(&rs->prober);
    } else if (errlen > 0) {
        err[0] = 0;
    }
    return &rs->base;
}

/* store_redis_decide_skewed - store_redis.h's test hook: the test entry */
int
store_redis_decide_skewed(struct store *st, const struct triplet *t, int64_t skew_ms,
                          struct policy_verdict *out, char *err, size_t errlen)
{
    char    skew[24];

    if (st == NULL || st->ops != &redis_ops) {
        snprintf(err, errlen, "store_redis_decide_skewed: not a redis store");
        return -1;
    }
    if (skew_ms > STORE_REDIS_SKEW_MAX || skew_ms < -STORE_REDIS_SKEW_MAX) {
        snprintf(err, errlen, "store_redis_decide_skewed: skew out of range");
        return -1;
    }
    snprintf(skew, sizeof(skew), "%" PRId64, skew_ms);
    return redis_decide_with((struct store_redis *) st, t, skew, out, err, errlen);
}

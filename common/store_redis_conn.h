/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * store_redis_conn.h - the Redis store's connection layer
 * (store_redis_conn.c), private to store_redis.c: a pool of hiredis
 * contexts with one deadline per call, the circuit breaker in front of
 * the server and its prober, and the address a host name resolved to or
 * the sentinels named (store_redis_sentinel.h).
 * The layering is one way: store_redis.c includes this header; the
 * connection layer knows nothing of decisions or blobs, only the script
 * text it is given to load on every new connection.
 *
 * struct redis_conn is defined here so that the backend can embed it and
 * name the store in its errors (name) and EVALSHA the script (sha); its
 * other fields are the connection layer's. struct redis_slot is private.
 *
 * Thread-safety: after redis_conn_start and until redis_conn_free (one
 * thread, at open and at free), every function is for any thread; sha,
 * name and timeout_ms are read-only after redis_conn_start.
 */
#ifndef REDGREY_STORE_REDIS_CONN_H
#define REDGREY_STORE_REDIS_CONN_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "breaker.h"
#include "prober.h"
#include "store.h"
#include "store_redis.h"
#include "store_redis_sentinel.h"

#define REDIS_NAME_MAX     (STORE_REDIS_HOST_MAX + 32)
#define REDIS_ADDR_MAX     64            /* a numeric IPv4 or IPv6 address */

struct redis_slot;

struct redis_conn {
    struct store *owner;                 /* whose notify function hears of outages */
    struct store_redis_url url;          /* where, and how to log in */
    char    name[REDIS_NAME_MAX];        /* "redis HOST:PORT", for errors */
    char    addr[REDIS_ADDR_MAX];        /* url.host as last resolved (TCP only); addr_lock */
    int     port;                        /* where addr listens; addr_lock */
    pthread_mutex_t addr_lock;           /* guards addr, port, why */
    atomic_uint addr_gen;                /* +1 whenever addr changes */
    int     numeric;                     /* url.host is an address: never resolved */
    char    why[STORE_ERRLEN];           /* why the breaker is open; addr_lock */
    struct breaker breaker;              /* every call passes it */
    struct prober prober;                /* probes while the breaker is open */
    int     timeout_ms;                  /* budget of one whole call */
    const char *script;                  /* loaded by every new connection */
    size_t  script_len;                  /* its length */
    char    sha[41];                     /* the script's SHA1, set at open */
    pthread_mutex_t lock;                /* guards free_slots, nfree */
    pthread_cond_t cond;                 /* a slot was returned */
    int     nslots;                      /* pool size */
    struct redis_slot *slots;            /* nslots connections */
    int    *free_slots;                  /* stack of idle slot indexes */
    int     nfree;                       /* entries on that stack */
    /* redis-sentinel:// (url.nsentinels > 0): addr and port come from them */
    char    sentinel_password[STORE_REDIS_AUTH_MAX + 1]; /* AUTH to the sentinels */
    struct redis_sentinel sentinel;      /* the question and the watcher */
};

/*
 * redis_conn_init - set up rs for url: a pool of pool slots, none
 * connected, calls of timeout_ms, script (which must outlive rs) loaded
 * by every new connection, outages reported through owner's notify
 * function; sentinel_password (NULL: none) for a redis-sentinel:// url.
 * No I/O; redis_conn_free undoes it.
 */
void    redis_conn_init(struct redis_conn *rs, struct store *owner,
                        const struct store_redis_url *url, int pool, int timeout_ms,
                        const char *script, size_t script_len,
                        const char *sentinel_password);

/*
 * redis_conn_start - start the prober (and for Sentinel the watcher) and
 * probe into slot 0. A server that cannot be resolved, reached or used is
 * a warning in err and an open breaker, and still 0; -1 with err only if
 * a thread cannot start.
 */
int     redis_conn_start(struct redis_conn *rs, char *err, size_t errlen);

/* redis_conn_free - stop the threads, close every connection, free the pool (not rs) */
void    redis_conn_free(struct redis_conn *rs);

/*
 * redis_conn_command - run one command on a pooled connection through
 * the breaker, within one timeout_ms. The reply (caller frees; an error
 * reply about the command is a reply), or NULL with err.
 */
redisReply *redis_conn_command(struct redis_conn *rs, int argc, const char **argv,
                               const size_t *lens, char *err, size_t errlen);

/*
 * A call of several commands on one connection: redis_conn_begin (the
 * breaker, count 1 for a decision, which is counted if refused; the
 * deadline; a slot), any number of redis_conn_run on its slot before
 * *deadline, then redis_conn_end with the last err, always.
 */
int     redis_conn_begin(struct redis_conn *rs, int count, int64_t *deadline,
                         char *err, size_t errlen);

/*
 * redis_conn_run - one command on slot idx before deadline: connects
 * first if needed, retries once on a stale connection. The reply (caller
 * frees; an error reply is a reply), or NULL with err.
 */
redisReply *redis_conn_run(struct redis_conn *rs, int idx, int64_t deadline, int argc,
                           const char **argv, const size_t *lens, char *err, size_t errlen);

/* redis_conn_end - give slot idx back and tell the breaker how the call ended */
void    redis_conn_end(struct redis_conn *rs, int idx, const char *err);

/* redis_conn_reply_text - r's text for an error message */
const char *redis_conn_reply_text(const redisReply *r);

#endif

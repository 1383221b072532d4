/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * store_redis_cluster.h - the Redis store on a Redis Cluster
 * (store_redis_cluster.c), private to store_redis.c: the key slot of a
 * key (CRC16 of its hash tag), the map from slots to primaries, one
 * connection pool (struct redis_conn, with its breaker and prober) per
 * primary, and what MOVED and ASK replies mean for the map.
 *
 * The backend asks for the pool of a key's slot (redis_cluster_route),
 * runs its command there, hands an error reply to redis_cluster_redirect
 * and tells redis_cluster_outcome how each call ended; the module keeps
 * the map current behind it.
 *
 * Thread-safety: between redis_cluster_open and redis_cluster_free (one
 * thread, at open and at free), every function is for any thread; the
 * slot map is read without a lock.
 */
#ifndef REDGREY_STORE_REDIS_CLUSTER_H
#define REDGREY_STORE_REDIS_CLUSTER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"
#include "store_redis.h"
#include "store_redis_conn.h"

#define REDIS_CLUSTER_SLOTS     16384
#define REDIS_CLUSTER_NODES_MAX 256      /* primaries ever known to one store */

struct redis_cluster_node;

struct redis_cluster {
    struct store *owner;                 /* whose notify function hears of changes */
    struct store_redis_url url;          /* the login and the seeds */
    int     pool;                        /* connections per node */
    int     timeout_ms;                  /* one call's budget, per node */
    const char *script;                  /* loaded by every new connection */
    size_t  script_len;
    char    sha[41];                     /* the script's SHA1 once a node told it; add_lock */
    pthread_mutex_t add_lock;            /* guards adding nodes (held while one starts), sha */
    pthread_mutex_t lock;                /* guards the refresher's state, never held for I/O */
    pthread_cond_t cond;                 /* wakes the refresher */
    struct redis_cluster_node *nodes[REDIS_CLUSTER_NODES_MAX]; /* published, never removed */
    atomic_int nnodes;                   /* entries of nodes in use */
    atomic_ushort owner_of[REDIS_CLUSTER_SLOTS]; /* node index + 1 per slot; 0: unknown */
    uint16_t next_map[REDIS_CLUSTER_SLOTS]; /* the refresher's scratch */
    atomic_int want;                     /* 1: a refresh is wanted */
    int     stop;                        /* 1: the refresher must end; lock */
    int     started;                     /* 1: the refresher runs */
    pthread_t refresher;                 /* the one thread that loads the map */
    int64_t last_us;                     /* when the last refresh started; lock */
    atomic_int down;                     /* 1: in a CLUSTERDOWN episode */
    atomic_uint refreshes;               /* maps loaded so far */
};

/* redis_cluster_crc16 - CRC16-XMODEM (poly 0x1021, init 0) of buf[0..len) */
uint16_t redis_cluster_crc16(const void *buf, size_t len);

/*
 * redis_cluster_keyslot - the slot of key[0..len) as Redis computes it:
 * CRC16 mod 16384 of the text between the first '{' and the first '}'
 * after it if that text is not empty, else of the whole key
 */
unsigned redis_cluster_keyslot(const char *key, size_t len);

/*
 * redis_cluster_open - set up cl for url (a redis-cluster:// URL): a pool
 * per seed, the slot map from the first seed that gives it (CLUSTER
 * SLOTS), pools for its primaries, and the refreshing thread. Nothing
 * reachable is a warning in err and still 0; -1 with err only if a
 * thread cannot start (then cl is freed already).
 */
int     redis_cluster_open(struct redis_cluster *cl, struct store *owner,
                           const struct store_redis_url *url, int pool, int timeout_ms,
                           const char *script, size_t script_len, char *err, size_t errlen);

/* redis_cluster_free - stop the refresher and free every node's pool (not cl) */
void    redis_cluster_free(struct redis_cluster *cl);

/*
 * redis_cluster_route - the pool of the primary that serves slot; for a
 * slot the map does not know yet, a node with a closed breaker (which
 * will redirect), and a refresh is asked for
 */
struct redis_conn *redis_cluster_route(struct redis_cluster *cl, unsigned slot);

/*
 * redis_cluster_redirect - if text is "MOVED SLOT HOST:PORT" or "ASK SLOT
 * HOST:PORT", the pool of that node (made if new) and *asking 1 for ASK;
 * MOVED also moves the slot in the map and asks for a refresh. NULL for
 * any other text or a node that cannot be made.
 */
struct redis_conn *redis_cluster_redirect(struct redis_cluster *cl, const char *text,
                                          int *asking);

/*
 * redis_cluster_outcome - how a routed call ended (err NULL: served):
 * a failure asks for a refresh; CLUSTERDOWN starts an episode, reported
 * once, and the next success ends it, reported once
 */
void    redis_cluster_outcome(struct redis_cluster *cl, const char *err);

#endif

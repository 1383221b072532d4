/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * store_redis_cluster.c - the Redis store on a Redis Cluster: key slots,
 * the slot map, one pool per primary, and MOVED/ASK.
 *
 * Slots: a key's slot is CRC16-XMODEM mod 16384 of its hash tag (the text
 * inside the first "{...}", if not empty) or of the whole key, as the
 * Redis Cluster specification defines it. Both keys of one decision share
 * the client key as hash tag (triplet.h), so a decision is one EVALSHA on
 * one node: the one round trip of a single server.
 *
 * Nodes: every primary the store has heard of (a seed, an entry of the
 * slot map, the target of a MOVED or ASK) gets a struct redis_conn of its
 * own -- a pool made lazily, a circuit breaker and a prober -- so a node
 * that is down fails its own slots fast and no other. Nodes are added,
 * never removed: an array of pointers published before their index is,
 * so readers need no lock. A node is at most REDIS_CLUSTER_NODES_MAX.
 *
 * The map: slot -> node index, atomics read without a lock. It is loaded
 * with CLUSTER SLOTS from the first node that answers, at open and then
 * by one thread of the module's own whenever a call asks for it (a MOVED,
 * a failed call, a slot not known), at most every REFRESH_MIN_US: one
 * refresh in flight, however many calls want one. A MOVED moves its slot
 * at once, before any refresh, so the retry and later calls go right.
 * After a failover the dead primary's calls fail fast on its breaker and
 * ask for a refresh; the first map that names the promoted replica sends
 * them there.
 *
 * CLUSTERDOWN is a store error for the call, but not the node's fault:
 * its connection stays and its breaker counts an answer; the map is
 * reloaded, and this module reports the episode once when it starts and
 * once when the first call is served again, not once per call.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "breaker.h"
#include "clock.h"
#include "store.h"
#include "store_redis.h"
#include "store_redis_cluster.h"
#include "store_redis_conn.h"
#include "xalloc.h"

#define REFRESH_MIN_US 100000            /* at most one map load per 100 ms */

struct redis_cluster_node {
    struct redis_conn conn;              /* the pool, breaker and prober of this primary */
    struct store_redis_node where;       /* its address as the cluster announces it */
};

/* ---- slots ---- */

/* redis_cluster_crc16 - CRC16-XMODEM of buf, bit by bit (keys are short) */
uint16_t
redis_cluster_crc16(const void *buf, size_t len)
{
    const unsigned char *p = buf;
    uint16_t crc = 0;

    for (size_t i = 0; i < len; i++) {
        crc ^= (uint16_t) (p[i] << 8);
        for (int b = 0; b < 8; b++)
            crc = (uint16_t) (crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1);
    }
    return crc;
}

/* redis_cluster_keyslot - the slot of key, honouring a non-empty {tag} */
unsigned
redis_cluster_keyslot(const char *key, size_t len)
{
    const char *open = memchr(key, '{', len), *close;

    if (open != NULL) {
        size_t  rest = len - (size_t) (open + 1 - key);

        close = memchr(open + 1, '}', rest);
        if (close != NULL && close > open + 1)
            return redis_cluster_crc16(open + 1, (size_t) (close - open - 1))
                % REDIS_CLUSTER_SLOTS;
    }
    return redis_cluster_crc16(key, len) % REDIS_CLUSTER_SLOTS;
}

/* ---- nodes ---- */

/* redis_cluster_find - the index of the node at host:port, or -1; no lock */
static int
redis_cluster_find(struct redis_cluster *cl, const char *host, int port)
{
    int     n = atomic_load(&cl->nnodes);

    for (int i = 0; i < n; i++)
        if (cl->nodes[i]->where.port == port && strcmp(cl->nodes[i]->where.host, host) == 0)
            return i;
    return -1;
}

/*
 * redis_cluster_node_at - the index of the node at host:port, made and
 * started (a probe: connect, log in, ROLE) if new. A node that cannot be
 * reached is made all the same, its breaker open; its warning is notified
 * (warn NULL) or put in warn. -1 only when the table is full.
 */
static int
redis_cluster_node_at(struct redis_cluster *cl, const char *host, int port,
                      char *warn, size_t warnlen)
{
    struct redis_cluster_node *n;
    struct store_redis_url u;
    char    err[STORE_ERRLEN] = "";
    int     idx;

    if ((idx = redis_cluster_find(cl, host, port)) >= 0)
        return idx;
    pthread_mutex_lock(&cl->add_lock);
    if ((idx = redis_cluster_find(cl, host, port)) >= 0
        || atomic_load(&cl->nnodes) == REDIS_CLUSTER_NODES_MAX) {
        pthread_mutex_unlock(&cl->add_lock);
        return idx;
    }
    n = xcalloc(1, sizeof(*n));
    snprintf(n->where.host, sizeof(n->where.host), "%s", host);
    n->where.port = port;
    memset(&u, 0, sizeof(u));
    memcpy(u.host, n->where.host, sizeof(u.host));
    u.port = port;
    memcpy(u.user, cl->url.user, sizeof(u.user));
    memcpy(u.password, cl->url.password, sizeof(u.password));
    redis_conn_init(&n->conn, cl->owner, &u, cl->pool, cl->timeout_ms, cl->script,
                    cl->script_len, NULL);
    memcpy(n->conn.sha, cl->sha, sizeof(cl->sha));
    if (redis_conn_start(&n->conn, err, sizeof(err)) < 0) {
        /* No prober thread: the node is not usable; say so and leave it out. */
        redis_conn_free(&n->conn);
        free(n);
        pthread_mutex_unlock(&cl->add_lock);
        store_notify(cl->owner, "redis-cluster: node %s:%d: %s", host, port, err);
        return -1;
    }
    if (cl->sha[0] == 0 && n->conn.sha[0] != 0)
        memcpy(cl->sha, n->conn.sha, sizeof(cl->sha));
    idx = atomic_load(&cl->nnodes);
    cl->nodes[idx] = n;
    atomic_store(&cl->nnodes, idx + 1);
    pthread_mutex_unlock(&cl->add_lock);
    if (err[0] != 0 && warn != NULL && warn[0] == 0)
        snprintf(warn, warnlen, "%s", err);
    else if (err[0] != 0 && warn == NULL)
        store_notify(cl->owner, "%s", err);
    return idx;
}

/* redis_cluster_hostport - "HOST:PORT" (the last ':' ends HOST) into host and *port; 0 or -1 */
static int
redis_cluster_hostport(const char *s, size_t len, char *host, size_t hostlen, int *port)
{
    const char *colon = NULL;
    long    v = 0;

    for (size_t i = 0; i < len; i++)
        if (s[i] == ':')
            colon = s + i;
    if (colon == NULL || colon == s || (size_t) (colon - s) >= hostlen
        || colon + 1 == s + len || s + len - colon > 6)
        return -1;
    for (const char *p = colon + 1; p < s + len; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        v = v * 10 + (*p - '0');
    }
    if (v < 1 || v > 65535)
        return -1;
    memcpy(host, s, (size_t) (colon - s));
    host[colon - s] = 0;
    *port = (int) v;
    return 0;
}

/* ---- the map ---- */

/* redis_cluster_int - a reply element as an integer in lo..hi into *out; 0 or -1 */
static int
redis_cluster_int(const redisReply *e, long long lo, long long hi, long long *out)
{
    if (e->type != REDIS_REPLY_INTEGER || e->integer < lo || e->integer > hi)
        return -1;
    *out = e->integer;
    return 0;
}

/*
 * redis_cluster_parse - CLUSTER SLOTS reply r (from node asked) into
 * cl->next_map, making the primaries' nodes; 0, or -1 with err
 */
static int
redis_cluster_parse(struct redis_cluster *cl, int asked, const redisReply *r,
                    char *err, size_t errlen)
{
    const char *name = cl->nodes[asked]->conn.name;

    if (r->type != REDIS_REPLY_ARRAY) {
        snprintf(err, errlen, "%.200s: CLUSTER SLOTS: %s", name, redis_conn_reply_text(r));
        return -1;
    }
    memset(cl->next_map, 0, sizeof(cl->next_map));
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *e = r->element[i], *p;
        char    host[STORE_REDIS_HOST_MAX + 1];
        long long lo, hi, port;
        int     idx;

        if (e->type != REDIS_REPLY_ARRAY || e->elements < 3
            || redis_cluster_int(e->element[0], 0, REDIS_CLUSTER_SLOTS - 1, &lo) < 0
            || redis_cluster_int(e->element[1], lo, REDIS_CLUSTER_SLOTS - 1, &hi) < 0
            || (p = e->element[2])->type != REDIS_REPLY_ARRAY || p->elements < 2
            || p->element[0]->type != REDIS_REPLY_STRING
            || p->element[0]->len > STORE_REDIS_HOST_MAX
            || redis_cluster_int(p->element[1], 1, 65535, &port) < 0) {
            snprintf(err, errlen, "%.200s: CLUSTER SLOTS: unexpected reply", name);
            return -1;
        }
        /* An empty or "?" address is the node that answered. */
        if (p->element[0]->len == 0 || strcmp(p->element[0]->str, "?") == 0)
            snprintf(host, sizeof(host), "%s", cl->nodes[asked]->where.host);
        else
            memcpy(host, p->element[0]->str, p->element[0]->len + 1);
        if ((idx = redis_cluster_node_at(cl, host, (int) port, NULL, 0)) < 0) {
            snprintf(err, errlen, "%.200s: CLUSTER SLOTS: more than %d primaries", name,
                     REDIS_CLUSTER_NODES_MAX);
            return -1;
        }
        for (long long s = lo; s <= hi; s++)
            cl->next_map[s] = (uint16_t) (idx + 1);
    }
    return 0;
}

/*
 * redis_cluster_load - CLUSTER SLOTS from the first node that answers
 * (those with an open breaker fail at once), into the map; 0, or -1 with
 * the last node's reason in err. One caller at a time: at open, then the
 * refresher only.
 */
static int
redis_cluster_load(struct redis_cluster *cl, char *err, size_t errlen)
{
    static const char *argv[2] = {"CLUSTER", "SLOTS"};
    static const size_t lens[2] = {7, 5};
    int     n = atomic_load(&cl->nnodes);

    snprintf(err, errlen, "redis-cluster: no node known");
    for (int i = 0; i < n; i++) {
        redisReply *r = redis_conn_command(&cl->nodes[i]->conn, 2, argv, lens, err, errlen);
        int     rc;

        if (r == NULL)
            continue;
        rc = redis_cluster_parse(cl, i, r, err, errlen);
        freeReplyObject(r);
        if (rc < 0)
            continue;
        for (int s = 0; s < REDIS_CLUSTER_SLOTS; s++)
            atomic_store(&cl->owner_of[s], cl->next_map[s]);
        atomic_fetch_add(&cl->refreshes, 1);
        return 0;
    }
    return -1;
}

/* redis_cluster_refresher - the thread: load the map when asked, at most every REFRESH_MIN_US */
static void *
redis_cluster_refresher(void *arg)
{
    struct redis_cluster *cl = arg;
    char    err[STORE_ERRLEN];

    pthread_mutex_lock(&cl->lock);
    while (!cl->stop) {
        int64_t now = clock_mono_us();

        if (!atomic_load(&cl->want)) {
            pthread_cond_wait(&cl->cond, &cl->lock);
            continue;
        }
        if (now < cl->last_us + REFRESH_MIN_US) {
            struct timespec ts = clock_ts(cl->last_us + REFRESH_MIN_US);

            pthread_cond_timedwait(&cl->cond, &cl->lock, &ts);
            continue;
        }
        atomic_store(&cl->want, 0);
        cl->last_us = now;
        pthread_mutex_unlock(&cl->lock);
        redis_cluster_load(cl, err, sizeof(err));   /* a failure: the next call asks again */
        pthread_mutex_lock(&cl->lock);
    }
    pthread_mutex_unlock(&cl->lock);
    return NULL;
}

/* redis_cluster_want - ask the refresher for a refresh (one lock only on the first ask) */
static void
redis_cluster_want(struct redis_cluster *cl)
{
    if (atomic_exchange(&cl->want, 1) != 0)
        return;
    pthread_mutex_lock(&cl->lock);
    pthread_cond_signal(&cl->cond);
    pthread_mutex_unlock(&cl->lock);
}

/* ---- for the backend ---- */

/* redis_cluster_route - the pool serving slot; an unknown slot goes to a live node */
struct redis_conn *
redis_cluster_route(struct redis_cluster *cl, unsigned slot)
{
    unsigned idx = atomic_load(&cl->owner_of[slot % REDIS_CLUSTER_SLOTS]);
    int     n;

    if (idx > 0)
        return &cl->nodes[idx - 1]->conn;
    redis_cluster_want(cl);
    n = atomic_load(&cl->nnodes);
    for (int i = 0; i < n; i++)
        if (!breaker_is_open(&cl->nodes[i]->conn.breaker, NULL))
            return &cl->nodes[i]->conn;
    return &cl->nodes[0]->conn;
}

/* redis_cluster_redirect - the node a MOVED or ASK names; MOVED also moves the slot */
struct redis_conn *
redis_cluster_redirect(struct redis_cluster *cl, const char *text, int *asking)
{
    char    host[STORE_REDIS_HOST_MAX + 1];
    const char *p, *sp;
    long    slot = 0;
    int     moved, port, idx;

    if (strncmp(text, "MOVED ", 6) == 0)
        moved = 1, p = text + 6;
    else if (strncmp(text, "ASK ", 4) == 0)
        moved = 0, p = text + 4;
    else
        return NULL;
    for (sp = p; *sp >= '0' && *sp <= '9' && slot < REDIS_CLUSTER_SLOTS; sp++)
        slot = slot * 10 + (*sp - '0');
    if (sp == p || *sp != ' ' || slot >= REDIS_CLUSTER_SLOTS
        || redis_cluster_hostport(sp + 1, strlen(sp + 1), host, sizeof(host), &port) < 0
        || (idx = redis_cluster_node_at(cl, host, port, NULL, 0)) < 0)
        return NULL;
    if (moved) {
        atomic_store(&cl->owner_of[slot], (unsigned short) (idx + 1));
        redis_cluster_want(cl);
    }
    *asking = !moved;
    return &cl->nodes[idx]->conn;
}

/* redis_cluster_outcome - a failure asks for a refresh; CLUSTERDOWN episodes, reported once */
void
redis_cluster_outcome(struct redis_cluster *cl, const char *err)
{
    if (err == NULL) {
        if (atomic_load(&cl->down) && atomic_exchange(&cl->down, 0))
            store_notify(cl->owner, "redis-cluster: serving again after CLUSTERDOWN");
        return;
    }
    redis_cluster_want(cl);
    if (strstr(err, "CLUSTERDOWN") != NULL && !atomic_exchange(&cl->down, 1))
        store_notify(cl->owner, "%s; decisions follow on_store_error until the cluster"
                     " serves again", err);
}

/* redis_cluster_open - seeds, a first map, the refresher; see the header */
int
redis_cluster_open(struct redis_cluster *cl, struct store *owner,
                   const struct store_redis_url *url, int pool, int timeout_ms,
                   const char *script, size_t script_len, char *err, size_t errlen)
{
    char    warn[STORE_ERRLEN] = "", why[STORE_ERRLEN];
    int     rc;

    cl->owner = owner;
    cl->url = *url;
    cl->pool = pool;
    cl->timeout_ms = timeout_ms;
    cl->script = script;
    cl->script_len = script_len;
    pthread_mutex_init(&cl->lock, NULL);
    pthread_mutex_init(&cl->add_lock, NULL);
    clock_cond_init(&cl->cond);
    atomic_init(&cl->nnodes, 0);
    for (int s = 0; s < REDIS_CLUSTER_SLOTS; s++)
        atomic_init(&cl->owner_of[s], 0);
    for (int i = 0; i < url->nseeds; i++)
        redis_cluster_node_at(cl, url->seeds[i].host, url->seeds[i].port, warn, sizeof(warn));
    if (atomic_load(&cl->nnodes) == 0) {
        snprintf(err, errlen, "redis-cluster: cannot start a prober");
        redis_cluster_free(cl);
        return -1;
    }
    if (redis_cluster_load(cl, why, sizeof(why)) < 0 && warn[0] == 0)
        snprintf(warn, sizeof(warn), "%s", why);
    else if (atomic_load(&cl->refreshes) > 0)
        warn[0] = 0;                     /* a map: a seed that is down is the breaker's */
    if ((rc = pthread_create(&cl->refresher, NULL, redis_cluster_refresher, cl)) != 0) {
        snprintf(err, errlen, "redis-cluster: cannot start a thread: %s", strerror(rc));
        redis_cluster_free(cl);
        return -1;
    }
    cl->started = 1;
    if (errlen > 0)
        snprintf(err, errlen, "%s", warn);
    return 0;
}

/* redis_cluster_free - stop the refresher, free every node */
void
redis_cluster_free(struct redis_cluster *cl)
{
    int     n = atomic_load(&cl->nnodes);

    if (cl->started) {
        pthread_mutex_lock(&cl->lock);
        cl->stop = 1;
        pthread_cond_signal(&cl->cond);
        pthread_mutex_unlock(&cl->lock);
        pthread_join(cl->refresher, NULL);
        cl->started = 0;
    }
    for (int i = 0; i < n; i++) {
        redis_conn_free(&cl->nodes[i]->conn);
        free(cl->nodes[i]);
    }
    atomic_store(&cl->nnodes, 0);
    pthread_cond_destroy(&cl->cond);
    pthread_mutex_destroy(&cl->lock);
    pthread_mutex_destroy(&cl->add_lock);
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * store.h - where greylisting state lives: one interface, several backends.
 *
 * A store applies policy_decide() to a triplet atomically, in one round
 * trip: it reads the grey and AWL records, decides, and writes back what
 * the verdict says, so that concurrent first sightings of one triplet --
 * from threads, processes or MTAs of a cluster -- create exactly one entry.
 *
 * Backends (chosen by the store URL):
 *   lmdb:/path/dir                            embedded, the default
 *   redis://[:password@]host[:port][/db]      shared by a cluster
 *   redis+unix:///path/redis.sock[?db=N]
 *
 * Errors are returned, never logged here: the caller logs them once with
 * its context (queue id, client). A failed call takes at most the
 * configured store_timeout and leaves the store usable for the next call
 * (a broken connection is dropped and re-made).
 *
 * Thread-safety: store_decide() may be called from any number of threads
 * at once. store_open() and store_free() are for one thread at startup
 * and shutdown.
 */
#ifndef REDGREY_STORE_H
#define REDGREY_STORE_H

#include <stddef.h>

#include "policy.h"
#include "triplet.h"

#define STORE_ERRLEN 256

struct store_config {
    const char *url;                     /* as in the config file */
    const char *key_prefix;              /* prepended to every key */
    struct policy_params params;         /* the decision's parameters */
    int     timeout_ms;                  /* connect and command timeout */
    int     pool;                        /* Redis connections */
    size_t  lmdb_mapsize;                /* LMDB map size in bytes */
};

struct store;

/* The backend table; each backend's struct embeds struct store first. */
struct store_ops {
    const char *name;                    /* "redis", "lmdb" */
    int     (*decide)(struct store *st, const struct triplet *t,
                      struct policy_verdict *out, char *err, size_t errlen);
    void    (*free)(struct store *st);
};

struct store {
    const struct store_ops *ops;         /* backend */
    struct policy_params params;         /* copied at open */
    char    key_prefix[TRIPLET_PREFIX_MAX + 1]; /* copied at open */
};

/*
 * store_open - open the backend the URL names. Returns a store the caller
 * owns (store_free), or NULL with a reason naming the URL in err.
 * Verifies that the store can be used (Redis answers, the LMDB directory
 * is an environment we can write) so that startup fails early and clearly.
 */
struct store *store_open(const struct store_config *conf, char *err, size_t errlen);

/*
 * store_url_check - check the URL's syntax without opening anything (for
 * redgrey -t): a known scheme, an absolute LMDB directory, a Redis URL
 * the backend parses. Returns 0, or -1 with a reason naming the URL (its
 * password masked) in err.
 */
int     store_url_check(const char *url, char *err, size_t errlen);

/* store_url_redact - url into out with any password replaced by "***" */
void    store_url_redact(const char *url, char *out, size_t outlen);

/*
 * store_decide - decide on t atomically. Returns 0 with *out filled, or -1
 * with a reason in err (timeout, connection lost, map full ...); on -1 the
 * caller applies on_store_error. Never takes longer than the timeout
 * (plus one reconnect attempt bounded by the same timeout).
 */
int     store_decide(struct store *st, const struct triplet *t,
                     struct policy_verdict *out, char *err, size_t errlen);

/* store_free - close connections and release; NULL is a no-op */
void    store_free(struct store *st);

/* Backends, for store.c only. */
struct store *store_redis_open(const struct store_config *conf, char *err, size_t errlen);
struct store *store_lmdb_open(const struct store_config *conf, char *err, size_t errlen);

#endif

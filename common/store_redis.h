/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * store_redis.h - the Redis backend's URL parser (store_redis_url.c), its
 * table of error replies (store_redis_reply.c) and its test hook
 * (store_redis.c), for store_redis.c, store.c and the tests. The daemon
 * reaches the backend through store.h only.
 *
 *   redis://[[user]:password@]host[:port][/db]   host may be [IPv6]
 *   redis+unix:///path/redis.sock[?db=N][&password=P]
 *   redis-sentinel://[[user]:password@]host[:port][,host[:port]...]/master[/db]
 *       the sentinels (port 26379 by default) and the name of the primary
 *       they watch; the password is the data servers' (the sentinels'
 *       is the sentinel_password key)
 *   rediss://...  refused: this build has no TLS (see redgrey.conf(5))
 *   redis-cluster://[[user]:password@]host[:port][,host[:port]...][/0]
 *       seed nodes of a Redis Cluster (store_redis_cluster.c); host and
 *       port are the first seed's
 *
 * The password is taken literally (no percent-decoding); it may hold '@'
 * and '/', since the host part starts after the last '@'.
 *
 * Thread-safety: the parser is pure, any thread, no allocation; the test
 * hook is as thread-safe as store_decide().
 */
#ifndef REDGREY_STORE_REDIS_H
#define REDGREY_STORE_REDIS_H

#include <stddef.h>
#include <stdint.h>

struct policy_verdict;
struct store;
struct store_decide_opts;
struct triplet;

#define STORE_REDIS_PORT_DEFAULT 6379
#define STORE_REDIS_HOST_MAX     255
#define STORE_REDIS_PATH_MAX     107     /* sun_path minus its NUL */
#define STORE_REDIS_AUTH_MAX     255     /* user name, password */
#define STORE_REDIS_DB_MAX       1000000 /* SELECT accepts at most this */
#define STORE_REDIS_SEEDS_MAX   16      /* seed nodes of a redis-cluster:// URL */
#define STORE_REDIS_SKEW_MAX     ((int64_t) 1 << 50) /* ms; Lua numbers stay exact */

/* redis-sentinel:// */
#define STORE_REDIS_SENTINEL_PORT_DEFAULT 26379
#define STORE_REDIS_SENTINELS_MAX 8      /* sentinels in one URL */
#define STORE_REDIS_MASTER_MAX    64     /* the master name's bytes */

/* One HOST:PORT of a URL that names several. */
struct store_redis_node {
    char    host[STORE_REDIS_HOST_MAX + 1]; /* no brackets around IPv6 */
    int     port;                        /* 1..65535 */
};

struct store_redis_url {
    int     is_unix;                     /* 1: path, else host and port */
    char    host[STORE_REDIS_HOST_MAX + 1]; /* no brackets around IPv6 */
    int     port;                        /* 1..65535 */
    char    path[STORE_REDIS_PATH_MAX + 1]; /* absolute socket path */
    char    user[STORE_REDIS_AUTH_MAX + 1]; /* "" : AUTH password only */
    char    password[STORE_REDIS_AUTH_MAX + 1]; /* "" : no AUTH */
    int     db;                          /* 0 : no SELECT */

    /* redis-sentinel://: host and port are found by asking these */
    int     nsentinels;                  /* 0: not a sentinel URL */
    struct store_redis_node sentinels[STORE_REDIS_SENTINELS_MAX];
    char    master[STORE_REDIS_MASTER_MAX + 1]; /* the name the sentinels know it by */

    /* redis-cluster:// */
    int     cluster;                     /* 1: a Redis Cluster, seeds below (db 0) */
    int     nseeds;                      /* 1..STORE_REDIS_SEEDS_MAX */
    struct store_redis_node seeds[STORE_REDIS_SEEDS_MAX];
};

/*
 * store_redis_url_parse - parse url into *out. Returns 0, or -1 with the
 * reason in err (which never repeats the password).
 */
int     store_redis_url_parse(const char *url, struct store_redis_url *out,
                              char *err, size_t errlen);

/*
 * store_redis_url_scheme - 1 if url starts with a scheme that
 * store_redis_url_parse takes (or refuses with a reason of its own:
 * rediss://), else 0
 */
int     store_redis_url_scheme(const char *url);

/* What an error reply from Redis means for the connection it came on. */
enum store_redis_reply_kind {
    STORE_REDIS_REPLY_OTHER,             /* about the command: the connection is fine */
    STORE_REDIS_REPLY_RECONNECT,         /* this server cannot serve now: drop the connection */
    STORE_REDIS_REPLY_NOSCRIPT,          /* script cache flushed: load it, retry once */
    STORE_REDIS_REPLY_TRYAGAIN,          /* cluster moving this slot's keys: retry shortly */
    STORE_REDIS_REPLY_CLUSTERDOWN,       /* the cluster cannot serve: fail, refresh the map */
};

/*
 * store_redis_reply_kind - classify an error reply's text by its code
 * (the first word, case-sensitive); *label (may be NULL) receives the
 * name the log gives it, e.g. "READONLY (demoted primary?)", or NULL for
 * STORE_REDIS_REPLY_OTHER.
 */
enum store_redis_reply_kind store_redis_reply_kind(const char *text, const char **label);

/*
 * store_redis_decide_skewed - TEST HOOK, not for the daemon: store_decide()
 * on a Redis store st, but with the server's clock read skew_ms later
 * (negative: earlier). It runs the same decision body as store_decide(),
 * through a second entry of the script that adds its last ARGV
 * (ARGV[#ARGV], after the decision's own) to TIME; nothing
 * in the configuration reaches it. Only the decision's clock moves: keys
 * still expire by the server's real clock, which a test must allow for
 * (tests/check_policy_lua.c moves the keys' expiry times along). Returns
 * 0 with *out filled, or -1 with a reason in err; -1 also if st is not a
 * Redis store or |skew_ms| > STORE_REDIS_SKEW_MAX.
 */
int     store_redis_decide_skewed(struct store *st, const struct triplet *t, int64_t skew_ms,
                                  struct policy_verdict *out, char *err, size_t errlen);

/* store_redis_decide_skewed_with - TEST HOOK: the same with this call's inputs (opts may be NULL) */
int     store_redis_decide_skewed_with(struct store *st, const struct triplet *t,
                                       const struct store_decide_opts *opts, int64_t skew_ms,
                                       struct policy_verdict *out, char *err, size_t errlen);

#endif

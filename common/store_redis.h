/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * store_redis.h - the Redis backend's URL parser (store_redis_url.c) and
 * its table of error replies (store_redis_reply.c), for store_redis.c,
 * store.c and the tests. The daemon reaches the backend through store.h
 * only.
 *
 *   redis://[[user]:password@]host[:port][/db]   host may be [IPv6]
 *   redis+unix:///path/redis.sock[?db=N][&password=P]
 *
 * The password is taken literally (no percent-decoding); it may hold '@'
 * and '/', since the host part starts after the last '@'.
 *
 * Thread-safety: pure, any thread. No allocation.
 */
#ifndef REDGREY_STORE_REDIS_H
#define REDGREY_STORE_REDIS_H

#include <stddef.h>

#define STORE_REDIS_PORT_DEFAULT 6379
#define STORE_REDIS_HOST_MAX     255
#define STORE_REDIS_PATH_MAX     107     /* sun_path minus its NUL */
#define STORE_REDIS_AUTH_MAX     255     /* user name, password */
#define STORE_REDIS_DB_MAX       1000000 /* SELECT accepts at most this */

struct store_redis_url {
    int     is_unix;                     /* 1: path, else host and port */
    char    host[STORE_REDIS_HOST_MAX + 1]; /* no brackets around IPv6 */
    int     port;                        /* 1..65535 */
    char    path[STORE_REDIS_PATH_MAX + 1]; /* absolute socket path */
    char    user[STORE_REDIS_AUTH_MAX + 1]; /* "" : AUTH password only */
    char    password[STORE_REDIS_AUTH_MAX + 1]; /* "" : no AUTH */
    int     db;                          /* 0 : no SELECT */
};

/*
 * store_redis_url_parse - parse url into *out. Returns 0, or -1 with the
 * reason in err (which never repeats the password).
 */
int     store_redis_url_parse(const char *url, struct store_redis_url *out,
                              char *err, size_t errlen);

/* What an error reply from Redis means for the connection it came on. */
enum store_redis_reply_kind {
    STORE_REDIS_REPLY_OTHER,             /* about the command: the connection is fine */
    STORE_REDIS_REPLY_RECONNECT,         /* this server cannot serve now: drop the connection */
    STORE_REDIS_REPLY_NOSCRIPT,          /* script cache flushed: load it, retry once */
};

/*
 * store_redis_reply_kind - classify an error reply's text by its code
 * (the first word, case-sensitive); *label (may be NULL) receives the
 * name the log gives it, e.g. "READONLY (demoted primary?)", or NULL for
 * STORE_REDIS_REPLY_OTHER.
 */
enum store_redis_reply_kind store_redis_reply_kind(const char *text, const char **label);

#endif

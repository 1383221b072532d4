/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * store_session.c - the backend-neutral half of the concurrent-session
 * count (store.h): the key of an address's sessions, the checks of the
 * arguments, and the forwarding to the backend's session_enter and
 * session_leave (store_redis_session.c, store_lmdb_session.c).
 *
 * The key is PREFIX "{" TAG "}s": TAG is triplet_client_tag() of the
 * host block (IP/32, IP/128), so it is as compact as a triplet's and is
 * the Redis Cluster hash tag; the 's' after the brace keeps it apart from
 * grey ('g') and AWL ('a') keys, and a blob key never has a brace.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "clock.h"
#include "ipaddr.h"
#include "metrics.h"
#include "store.h"
#include "triplet.h"

/* store_session_key - PREFIX{TAG}s of ip's host block; its length, or 0 */
size_t
store_session_key(const char *prefix, const struct ipaddr *ip, char *buf, size_t len)
{
    char    text[IPADDR_STRLEN + 8], tag[TRIPLET_CLIENTKEY_MAX + 1];
    size_t  plen, tlen;
    int     n;

    if (prefix == NULL)
        prefix = "";
    plen = strnlen(prefix, TRIPLET_PREFIX_MAX + 1);
    if (plen > TRIPLET_PREFIX_MAX || strpbrk(prefix, "{}") != NULL || ip == NULL
        || (ip->family != AF_INET && ip->family != AF_INET6))
        return 0;
    ipaddr_format(ip, text, sizeof(text));
    strcat(text, ip->family == AF_INET ? "/32" : "/128");
    if ((tlen = triplet_client_tag(text, tag, sizeof(tag))) == 0)
        return 0;
    n = snprintf(buf, len, "%s{%s}s", prefix, tag);
    return n > 0 && (size_t) n < len ? (size_t) n : 0;
}

/* session_id_ok - 1 if id is 1..STORE_SESSION_ID_MAX printable bytes without space */
static int
session_id_ok(const char *id)
{
    size_t  n = 0;

    if (id == NULL)
        return 0;
    for (; id[n] != 0; n++)
        if (n >= STORE_SESSION_ID_MAX || id[n] <= ' ' || id[n] > '~')
            return 0;
    return n > 0;
}

/* session_args - the key of ip into key; 0, or -1 with err for a bad argument */
static int
session_args(struct store *st, const struct ipaddr *ip, const char *id, char *key,
             size_t *key_len, char *err, size_t errlen)
{
    if (st == NULL || !session_id_ok(id)) {
        snprintf(err, errlen, "store: bad session arguments");
        return -1;
    }
    if ((*key_len = store_session_key(st->key_prefix, ip, key, STORE_SESSION_KEY_MAX)) == 0) {
        snprintf(err, errlen, "store: no session key for this client");
        return -1;
    }
    if (st->ops->session_enter == NULL || st->ops->session_leave == NULL) {
        snprintf(err, errlen, "store %s: counting sessions is not supported by this backend",
                 st->ops->name);
        return -1;
    }
    return 0;
}

/* store_session_enter - check, then forward to the backend, timed for the metrics */
int
store_session_enter(struct store *st, const struct ipaddr *ip, const char *id, int64_t ttl,
                    char *err, size_t errlen)
{
    char    key[STORE_SESSION_KEY_MAX];
    size_t  key_len;
    int64_t start;
    int     n;

    if (session_args(st, ip, id, key, &key_len, err, errlen) < 0)
        return -1;
    if (ttl < 1 || ttl > INT32_MAX) {
        snprintf(err, errlen, "store: session ttl out of range");
        return -1;
    }
    start = clock_mono_us();
    n = st->ops->session_enter(st, key, key_len, id, ttl * 1000, err, errlen);
    metrics_store_request(start, n >= 0 ? NULL : err);
    return n;
}

/* store_session_leave - check, then forward to the backend, timed for the metrics */
int
store_session_leave(struct store *st, const struct ipaddr *ip, const char *id, char *err,
                    size_t errlen)
{
    char    key[STORE_SESSION_KEY_MAX];
    size_t  key_len;
    int64_t start;
    int     rc;

    if (session_args(st, ip, id, key, &key_len, err, errlen) < 0)
        return -1;
    start = clock_mono_us();
    rc = st->ops->session_leave(st, key, key_len, id, err, errlen);
    metrics_store_request(start, rc == 0 ? NULL : err);
    return rc;
}

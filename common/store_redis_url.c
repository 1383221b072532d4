/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * store_redis_url.c - the Redis backend's URL parser: redis://,
 * redis+unix:// and redis-cluster:// into a struct store_redis_url.
 *
 * Pure text work: no allocation, no I/O, no name resolution (the backend
 * resolves the host once, at open). Every reason it gives names the part
 * of the URL that is wrong and never repeats the password.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "ascii.h"
#include "hostname.h"
#include "store_redis.h"

/* redis_url_number - decimal s[0..len) into *out if in 0..max; 0 or -1 */
static int
redis_url_number(const char *s, size_t len, long max, long *out)
{
    long    v = 0;

    if (len == 0 || len > 9)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (!ascii_isdigit((unsigned char) s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    if (v > max)
        return -1;
    *out = v;
    return 0;
}

/* redis_url_copy - copy s[0..len) into out[outlen] as a string; 0 or -1 if too long */
static int
redis_url_copy(const char *s, size_t len, char *out, size_t outlen)
{
    if (len >= outlen)
        return -1;
    memcpy(out, s, len);
    out[len] = 0;
    return 0;
}

/* redis_url_tcp - parse what follows "redis://" */
static int
redis_url_tcp(const char *s, struct store_redis_url *out, char *err, size_t errlen)
{
    const char *at = strrchr(s, '@');
    const char *p, *host, *colon;
    size_t  hlen;
    long    v;

    /* [[user]:password@]: the host part starts after the last '@'. */
    if (at != NULL) {
        colon = memchr(s, ':', (size_t) (at - s));
        if (colon == NULL) {
            snprintf(err, errlen, "redis URL: want [user]:password@ before the host");
            return -1;
        }
        if (colon + 1 == at) {
            snprintf(err, errlen, "redis URL: empty password");
            return -1;
        }
        if (redis_url_copy(s, (size_t) (colon - s), out->user, sizeof(out->user)) < 0
            || redis_url_copy(colon + 1, (size_t) (at - colon - 1),
                              out->password, sizeof(out->password)) < 0) {
            snprintf(err, errlen, "redis URL: user or password over %d bytes",
                     STORE_REDIS_AUTH_MAX);
            return -1;
        }
        s = at + 1;
    }

    /* host, or [IPv6] */
    if (*s == '[') {
        host = s + 1;
        if ((p = strchr(host, ']')) == NULL) {
            snprintf(err, errlen, "redis URL: '[' without ']'");
            return -1;
        }
        hlen = (size_t) (p - host);
        for (size_t i = 0; i < hlen; i++)
            if (!ascii_isxdigit((unsigned char) host[i]) && host[i] != ':' && host[i] != '.') {
                snprintf(err, errlen, "redis URL: bad IPv6 address");
                return -1;
            }
        p++;
    } else {
        const char *why;

        host = s;
        hlen = strcspn(s, ":/?#");
        if (hlen > 0 && (why = hostname_check(host, hlen)) != NULL) {
            snprintf(err, errlen, "redis URL: bad host name (%s)", why);
            return -1;
        }
        p = s + hlen;
    }
    if (hlen == 0) {
        snprintf(err, errlen, "redis URL: missing host");
        return -1;
    }
    if (redis_url_copy(host, hlen, out->host, sizeof(out->host)) < 0) {
        snprintf(err, errlen, "redis URL: host over %d bytes", STORE_REDIS_HOST_MAX);
        return -1;
    }

    /* [:port] */
    out->port = STORE_REDIS_PORT_DEFAULT;
    if (*p == ':') {
        size_t  n = strcspn(p + 1, "/");

        if (redis_url_number(p + 1, n, 65535, &v) < 0 || v == 0) {
            snprintf(err, errlen, "redis URL: port must be 1..65535");
            return -1;
        }
        out->port = (int) v;
        p += 1 + n;
    }

    /* [/db]; "/" alone is database 0 */
    if (*p == '/') {
        p++;
        if (*p != 0) {
            if (redis_url_number(p, strlen(p), STORE_REDIS_DB_MAX, &v) < 0) {
                snprintf(err, errlen, "redis URL: database must be a number 0..%d",
                         STORE_REDIS_DB_MAX);
                return -1;
            }
            out->db = (int) v;
        }
        return 0;
    }
    if (*p != 0) {
        snprintf(err, errlen, "redis URL: unexpected '%c' after the host", *p);
        return -1;
    }
    return 0;
}

/* redis_url_unix - parse what follows "redis+unix://" */
static int
redis_url_unix(const char *s, struct store_redis_url *out, char *err, size_t errlen)
{
    size_t  plen = strcspn(s, "?");
    const char *q;
    long    v;

    out->is_unix = 1;
    if (*s != '/') {
        snprintf(err, errlen, "redis URL: want redis+unix:///absolute/path");
        return -1;
    }
    if (plen < 2 || redis_url_copy(s, plen, out->path, sizeof(out->path)) < 0) {
        snprintf(err, errlen, "redis URL: socket path must be 1..%d bytes",
                 STORE_REDIS_PATH_MAX);
        return -1;
    }

    /* ?db=N&password=P, in any order */
    for (q = s + plen; *q != 0;) {
        size_t  n;

        q++;                             /* '?' or '&' */
        n = strcspn(q, "&");
        if (n > 3 && strncmp(q, "db=", 3) == 0) {
            if (redis_url_number(q + 3, n - 3, STORE_REDIS_DB_MAX, &v) < 0) {
                snprintf(err, errlen, "redis URL: db must be a number 0..%d",
                         STORE_REDIS_DB_MAX);
                return -1;
            }
            out->db = (int) v;
        } else if (n > 9 && strncmp(q, "password=", 9) == 0) {
            if (redis_url_copy(q + 9, n - 9, out->password, sizeof(out->password)) < 0) {
                snprintf(err, errlen, "redis URL: password over %d bytes",
                         STORE_REDIS_AUTH_MAX);
                return -1;
            }
        } else {
            snprintf(err, errlen, "redis URL: unknown or empty parameter "
                     "(want db=N or password=P)");
            return -1;
        }
        q += n;
    }
    return 0;
}

/*
 * redis_url_cluster - parse what follows "redis-cluster://": the login as
 * for redis://, then seeds "host[:port]" separated by commas, each parsed
 * as a redis:// host; "/0" or "/" may end it (a cluster has database 0 only)
 */
static int
redis_url_cluster(const char *s, struct store_redis_url *out, char *err, size_t errlen)
{
    const char *at = strrchr(s, '@');
    const char *q = at != NULL ? at + 1 : s;
    const char *end = q + strcspn(q, "/");
    char    seed[STORE_REDIS_HOST_MAX + 16], login[2 * STORE_REDIS_AUTH_MAX + 4];
    struct store_redis_url one;

    out->cluster = 1;
    if (*end == '/' && end[1] != 0 && strcmp(end + 1, "0") != 0) {
        snprintf(err, errlen, "redis-cluster URL: a Redis Cluster has database 0 only");
        return -1;
    }
    for (;;) {
        size_t  len = strcspn(q, ",/");

        if (out->nseeds == STORE_REDIS_SEEDS_MAX) {
            snprintf(err, errlen, "redis-cluster URL: more than %d seed nodes",
                     STORE_REDIS_SEEDS_MAX);
            return -1;
        }
        if (len == 0 || len >= sizeof(seed)) {
            snprintf(err, errlen, "redis-cluster URL: %s seed node",
                     len == 0 ? "empty" : "overlong");
            return -1;
        }
        memcpy(seed, q, len);
        seed[len] = 0;
        memset(&one, 0, sizeof(one));
        if (redis_url_tcp(seed, &one, err, errlen) < 0)
            return -1;
        memcpy(out->seeds[out->nseeds].host, one.host, sizeof(one.host));
        out->seeds[out->nseeds++].port = one.port;
        if ((q += len) == end)
            break;
        q++;                             /* ',' */
    }

    /* [[user]:password@], parsed as redis:// parses it */
    if (at != NULL) {
        if ((size_t) (at - s) + 3 > sizeof(login)) {
            snprintf(err, errlen, "redis URL: user or password over %d bytes",
                     STORE_REDIS_AUTH_MAX);
            return -1;
        }
        snprintf(login, sizeof(login), "%.*s@h", (int) (at - s), s);
        memset(&one, 0, sizeof(one));
        if (redis_url_tcp(login, &one, err, errlen) < 0)
            return -1;
        memcpy(out->user, one.user, sizeof(out->user));
        memcpy(out->password, one.password, sizeof(out->password));
    }
    memcpy(out->host, out->seeds[0].host, sizeof(out->host));
    out->port = out->seeds[0].port;
    return 0;
}

/* store_redis_url_parse - parse a redis://, redis+unix:// or redis-cluster:// URL */
int
store_redis_url_parse(const char *url, struct store_redis_url *out,
                      char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    if (url == NULL || *url == 0) {
        snprintf(err, errlen, "redis URL: empty");
        return -1;
    }
    for (const char *p = url; *p; p++)
        if ((unsigned char) *p <= ' ' || *p == 0x7f) {
            snprintf(err, errlen, "redis URL: blank or control character");
            return -1;
        }
    if (strncmp(url, "redis://", 8) == 0)
        return redis_url_tcp(url + 8, out, err, errlen);
    if (strncmp(url, "redis+unix://", 13) == 0)
        return redis_url_unix(url + 13, out, err, errlen);
    if (strncmp(url, "redis-cluster://", 16) == 0)
        return redis_url_cluster(url + 16, out, err, errlen);
    snprintf(err, errlen, "redis URL: want redis://, redis+unix:// or redis-cluster://");
    return -1;
}

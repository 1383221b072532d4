/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * store_redis_url.c - the Redis backend's URL parser: redis://,
 * redis+unix:// and redis-sentinel:// into a struct store_redis_url, and
 * the refusal of rediss:// (no TLS in this build, or not yet).
 *
 * Pure text work: no allocation, no I/O, no name resolution (the backend
 * resolves the host once, at open). Every reason it gives names the part
 * of the URL that is wrong and never repeats the password.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <hiredis/hiredis.h>         /* HIREDIS_MAJOR, for the TLS refusal */

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

/*
 * redis_url_auth - "[[user]:password@]" at the start of s, up to the last
 * '@' (a password may hold '@' and '/'): into out; *rest past it. 0 or -1.
 */
static int
redis_url_auth(const char *s, struct store_redis_url *out, const char **rest,
               char *err, size_t errlen)
{
    const char *at = strrchr(s, '@');
    const char *colon;

    *rest = s;
    if (at == NULL)
        return 0;
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
    *rest = at + 1;
    return 0;
}

/*
 * redis_url_hostport - "host[:port]" or "[IPv6][:port]" at s, ending at
 * one of stop (or the end): host into host[STORE_REDIS_HOST_MAX + 1],
 * port into *port (defport if absent); *rest at the stop character. 0 or -1.
 */
static int
redis_url_hostport(const char *s, const char *stop, int defport, char *host, int *port,
                   const char **rest, char *err, size_t errlen)
{
    const char *p, *h;
    size_t  hlen;
    long    v;

    if (*s == '[') {
        h = s + 1;
        if ((p = strchr(h, ']')) == NULL) {
            snprintf(err, errlen, "redis URL: '[' without ']'");
            return -1;
        }
        hlen = (size_t) (p - h);
        for (size_t i = 0; i < hlen; i++)
            if (!ascii_isxdigit((unsigned char) h[i]) && h[i] != ':' && h[i] != '.') {
                snprintf(err, errlen, "redis URL: bad IPv6 address");
                return -1;
            }
        p++;
    } else {
        char    stops[16];
        const char *why;

        snprintf(stops, sizeof(stops), ":%s", stop);
        h = s;
        hlen = strcspn(s, stops);
        if (hlen > 0 && (why = hostname_check(h, hlen)) != NULL) {
            snprintf(err, errlen, "redis URL: bad host name (%s)", why);
            return -1;
        }
        p = s + hlen;
    }
    if (hlen == 0) {
        snprintf(err, errlen, "redis URL: missing host");
        return -1;
    }
    if (redis_url_copy(h, hlen, host, STORE_REDIS_HOST_MAX + 1) < 0) {
        snprintf(err, errlen, "redis URL: host over %d bytes", STORE_REDIS_HOST_MAX);
        return -1;
    }
    *port = defport;
    if (*p == ':') {
        size_t  n = strcspn(p + 1, stop);

        if (redis_url_number(p + 1, n, 65535, &v) < 0 || v == 0) {
            snprintf(err, errlen, "redis URL: port must be 1..65535");
            return -1;
        }
        *port = (int) v;
        p += 1 + n;
    }
    *rest = p;
    return 0;
}

/* redis_url_db - "/db" or "/" (database 0) at p, or nothing; into out. 0 or -1. */
static int
redis_url_db(const char *p, struct store_redis_url *out, char *err, size_t errlen)
{
    long    v;

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

/* redis_url_tcp - parse what follows "redis://" */
static int
redis_url_tcp(const char *s, struct store_redis_url *out, char *err, size_t errlen)
{
    const char *p;

    if (redis_url_auth(s, out, &s, err, errlen) < 0
        || redis_url_hostport(s, "/?#", STORE_REDIS_PORT_DEFAULT, out->host, &out->port, &p,
                              err, errlen) < 0)
        return -1;
    return redis_url_db(p, out, err, errlen);
}

/*
 * redis_url_sentinel - parse what follows "redis-sentinel://":
 * [[user]:password@]HOST[:PORT][,HOST[:PORT]...]/MASTERNAME[/DB]. The
 * password is the data servers'; the sentinels' is sentinel_password.
 */
static int
redis_url_sentinel(const char *s, struct store_redis_url *out, char *err, size_t errlen)
{
    const char *p, *name;
    size_t  nlen;

    if (redis_url_auth(s, out, &s, err, errlen) < 0)
        return -1;
    for (p = s;; p++) {
        struct store_redis_node *n = &out->sentinels[out->nsentinels];

        if (out->nsentinels == STORE_REDIS_SENTINELS_MAX) {
            snprintf(err, errlen, "redis-sentinel URL: more than %d sentinels",
                     STORE_REDIS_SENTINELS_MAX);
            return -1;
        }
        if (redis_url_hostport(p, ",/?#", STORE_REDIS_SENTINEL_PORT_DEFAULT, n->host,
                               &n->port, &p, err, errlen) < 0)
            return -1;
        out->nsentinels++;
        if (*p != ',')
            break;
    }
    if (*p != '/' || p[1] == 0 || p[1] == '/') {
        snprintf(err, errlen, "redis-sentinel URL: want /MASTERNAME after the sentinels");
        return -1;
    }
    name = p + 1;
    nlen = strcspn(name, "/");
    for (size_t i = 0; i < nlen; i++)
        if (!ascii_isalnum((unsigned char) name[i]) && strchr("._-", name[i]) == NULL) {
            snprintf(err, errlen, "redis-sentinel URL: master name may hold only"
                     " letters, digits, '.', '_' and '-'");
            return -1;
        }
    if (redis_url_copy(name, nlen, out->master, sizeof(out->master)) < 0) {
        snprintf(err, errlen, "redis-sentinel URL: master name over %d bytes",
                 STORE_REDIS_MASTER_MAX);
        return -1;
    }
    return redis_url_db(name + nlen, out, err, errlen);
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

/* store_redis_url_scheme - 1 if url starts with a scheme this parser takes */
int
store_redis_url_scheme(const char *url)
{
    static const char *const schemes[] = {
        "redis://", "redis+unix://", "redis-sentinel://", "rediss://",
    };

    for (size_t i = 0; url != NULL && i < sizeof(schemes) / sizeof(schemes[0]); i++)
        if (strncmp(url, schemes[i], strlen(schemes[i])) == 0)
            return 1;
    return 0;
}

/* store_redis_url_parse - parse a redis://, redis+unix:// or redis-sentinel:// URL */
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
    if (strncmp(url, "redis-sentinel://", 17) == 0)
        return redis_url_sentinel(url + 17, out, err, errlen);
    if (strncmp(url, "rediss://", 9) == 0) {
#ifdef HAVE_HIREDIS_SSL
        snprintf(err, errlen, "rediss URL: TLS to Redis is not implemented yet; use a local"
                 " TLS tunnel (redgrey.conf(5), TLS)");
#else
        snprintf(err, errlen, "rediss URL: this build has no TLS support (hiredis %d.%d"
                 " without hiredis_ssl); use a local TLS tunnel (redgrey.conf(5), TLS)",
                 HIREDIS_MAJOR, HIREDIS_MINOR);
#endif
        return -1;
    }
    snprintf(err, errlen, "redis URL: want redis://, redis+unix:// or redis-sentinel://");
    return -1;
}

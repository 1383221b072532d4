/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * store.c - pick the backend a store URL names, and forward to it.
 *
 * This file knows the URL schemes and the blob key format, and nothing
 * else: every backend sits behind struct store_ops, so the daemon and the
 * tests see one interface, and every backend names a blob the same way.
 * An open failure is reported with the URL (its password masked) and the
 * backend's reason, because that is what an operator has to fix.
 */
#include "config.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "metrics.h"
#include "store.h"
#include "store_redis.h"
#include "store_redis_lua.h"

/* Serialises store_set_params(): a slot is written by one caller at a time. */
static pthread_mutex_t store_params_lock = PTHREAD_MUTEX_INITIALIZER;

/*
 * store_url_redact_query - in the NUL-terminated s (a buffer of size
 * bytes), from s + from on, replace the value of every "password=" query
 * parameter by "***", cutting the end of s if it no longer fits
 */
static void
store_url_redact_query(char *s, size_t size, size_t from)
{
    char   *q = strchr(s + from, '?');

    while (q != NULL) {
        char   *v = q + 1, *end = v + strcspn(v, "&");

        if (strncmp(v, "password=", 9) == 0) {
            size_t  room, mask, tail;

            v += 9;
            end = v + strcspn(v, "&");
            room = size - (size_t) (v - s) - 1;  /* bytes from v to the last before the NUL */
            mask = room < 3 ? room : 3;
            tail = strlen(end);
            if (mask + tail > room)
                tail = room - mask;
            memmove(v + mask, end, tail);
            memcpy(v, "***", mask);
            v[mask + tail] = '\0';
            end = v + mask;
        }
        q = *end == '&' ? end : NULL;
    }
}

/*
 * store_url_redact - copy url into out with any password replaced by
 * "***": the one of "scheme://[user]:password@..." and the value of a
 * "?password=" or "&password=" parameter
 */
void
store_url_redact(const char *url, char *out, size_t outlen)
{
    const char *auth = strstr(url, "://");
    const char *at, *colon;
    size_t  from = 0;

    if (outlen == 0)
        return;
    if (auth == NULL || (at = strrchr(auth + 3, '@')) == NULL
        || (colon = memchr(auth + 3, ':', (size_t) (at - (auth + 3)))) == NULL) {
        snprintf(out, outlen, "%s", url);
    } else {
        snprintf(out, outlen, "%.*s:***%s", (int) (colon - url), url, at);
        /*
         * In SCHEME://USER:PASSWORD@HOST the query starts after the user
         * part: a '?' inside a user name is not one. (redis+unix:// has no
         * user part: what looks like one is the path, searched whole.)
         */
        if (strncmp(url, "redis+unix://", 13) != 0)
            from = (size_t) (colon - url) + 4;
    }
    if (from < strlen(out))
        store_url_redact_query(out, outlen, from);
}

/* store_url_check - the URL's syntax, as the backend will parse it */
int
store_url_check(const char *url, char *err, size_t errlen)
{
    struct store_redis_url u;
    char    reason[STORE_ERRLEN];
    char    shown[STORE_ERRLEN];

    if (url == NULL || url[0] == 0) {
        snprintf(err, errlen, "store: no URL configured");
        return -1;
    }
    store_url_redact(url, shown, sizeof(shown));
    if (strncmp(url, "lmdb:", 5) == 0) {
        if (url[5] == '/')
            return 0;
        snprintf(err, errlen, "store \"%s\": the directory must be an absolute path", shown);
        return -1;
    }
    if (store_redis_url_scheme(url)) {
        reason[0] = 0;
        if (store_redis_url_parse(url, &u, reason, sizeof(reason)) == 0)
            return 0;
        snprintf(err, errlen, "store \"%s\": %s", shown, reason[0] ? reason : "bad URL");
        return -1;
    }
    snprintf(err, errlen, "store \"%s\": unknown scheme (want lmdb:, redis:// or redis+unix://)",
             shown);
    return -1;
}

/* store_open - open the backend the URL's scheme names */
struct store *
store_open(const struct store_config *conf, char *err, size_t errlen)
{
    struct store *(*open_fn)(const struct store_config *, char *, size_t);
    struct store *st;
    char    reason[STORE_ERRLEN];
    char    shown[STORE_ERRLEN];

    if (conf == NULL || conf->url == NULL || conf->url[0] == 0) {
        snprintf(err, errlen, "store: no URL configured");
        return NULL;
    }
    if (strncmp(conf->url, "lmdb:", 5) == 0)
        open_fn = store_lmdb_open;
    else if (store_redis_url_scheme(conf->url))
        open_fn = store_redis_open;
    else
        open_fn = NULL;

    store_url_redact(conf->url, shown, sizeof(shown));
    if (open_fn == NULL) {
        snprintf(err, errlen, "store \"%s\": unknown scheme"
                 " (want lmdb:, redis:// or redis+unix://)", shown);
        return NULL;
    }
    reason[0] = 0;
    if ((st = open_fn(conf, reason, sizeof(reason))) == NULL)
        snprintf(err, errlen, "store \"%s\": %s", shown,
                 reason[0] ? reason : "cannot open");
    else if (reason[0] != 0)             /* opened, but not usable yet: a warning */
        snprintf(err, errlen, "store \"%s\": %s", shown, reason);
    else if (errlen > 0)
        err[0] = 0;
    if (st != NULL)
        metrics_store_opened(st->ops->name, reason[0] == 0);
    return st;
}

/* store_check_reach - open, look at the warning, close; LMDB is not touched */
int
store_check_reach(const struct store_config *conf, char *err, size_t errlen)
{
    struct store *st;

    if (conf != NULL && conf->url != NULL && strncmp(conf->url, "lmdb:", 5) == 0)
        return 0;
    if ((st = store_open(conf, err, errlen)) == NULL)
        return -1;
    store_free(st);
    return err[0] != 0 ? -1 : 0;
}

/* store_set_notify - where availability changes go */
void
store_set_notify(struct store *st, store_notify_fn fn)
{
    atomic_store(&st->notify, fn);
}

/* store_notify - one formatted line to the notify function, if there is one */
void
store_notify(struct store *st, const char *fmt, ...)
{
    store_notify_fn fn = atomic_load(&st->notify);
    char    line[2 * STORE_ERRLEN];
    va_list ap;

    if (fn == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    fn(line);
}

/* store_decide - store_decide_with() without inputs of its own */
int
store_decide(struct store *st, const struct triplet *t,
             struct policy_verdict *out, char *err, size_t errlen)
{
    return store_decide_with(st, t, NULL, out, err, errlen);
}

/* store_decide_with - forward to the backend, timed for the metrics */
int
store_decide_with(struct store *st, const struct triplet *t,
                  const struct store_decide_opts *opts, struct policy_verdict *out,
                  char *err, size_t errlen)
{
    static const struct store_decide_opts none;
    int64_t start = clock_mono_us();
    int     rc = st->ops->decide(st, t, opts != NULL ? opts : &none, out, err, errlen);

    metrics_store_request(start, rc == 0 ? NULL : err);
    return rc;
}

/* store_blob_name_ok - [a-z0-9_-], 1..STORE_BLOB_NAME_MAX bytes */
int
store_blob_name_ok(const char *name)
{
    size_t  n;

    if (name == NULL || (n = strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_-")) == 0)
        return 0;
    return name[n] == 0 && n <= STORE_BLOB_NAME_MAX;
}

/* store_blob_key - PREFIX "blob:" NAME into buf; its length, or 0 */
size_t
store_blob_key(const char *prefix, const char *name, char *buf, size_t len)
{
    int     n = snprintf(buf, len, "%s%s%s", prefix, STORE_BLOB_KEY_TAG, name);

    return n > 0 && (size_t) n < len ? (size_t) n : 0;
}

/* store_blob_get - check the arguments, then forward to the backend */
enum store_blob_result
store_blob_get(struct store *st, const char *name, char **data, size_t *len,
               struct store_blob_meta *meta, char *err, size_t errlen)
{
    if (data != NULL)
        *data = NULL;
    if (len != NULL)
        *len = 0;
    if (meta != NULL)
        memset(meta, 0, sizeof(*meta));
    if (st == NULL || meta == NULL || (data != NULL && len == NULL)) {
        snprintf(err, errlen, "store_blob_get: bad arguments");
        return STORE_BLOB_ERROR;
    }
    if (!store_blob_name_ok(name)) {
        snprintf(err, errlen, "store: bad blob name (want [a-z0-9_-], 1..%d bytes)",
                 STORE_BLOB_NAME_MAX);
        return STORE_BLOB_ERROR;
    }
    return st->ops->blob_get(st, name, data, len, meta, err, errlen);
}

/* store_blob_put - check the arguments, then forward to the backend */
int
store_blob_put(struct store *st, const char *name, const void *data, size_t len,
               struct store_blob_meta *meta, char *err, size_t errlen)
{
    if (meta != NULL)
        memset(meta, 0, sizeof(*meta));
    if (st == NULL || (data == NULL && len > 0)) {
        snprintf(err, errlen, "store_blob_put: bad arguments");
        return -1;
    }
    if (!store_blob_name_ok(name)) {
        snprintf(err, errlen, "store: bad blob name (want [a-z0-9_-], 1..%d bytes)",
                 STORE_BLOB_NAME_MAX);
        return -1;
    }
    if (len > STORE_BLOB_MAX) {
        snprintf(err, errlen, "store: blob %s: %zu bytes, over the limit of %d",
                 name, len, STORE_BLOB_MAX);
        return -1;
    }
    return st->ops->blob_put(st, name, data == NULL ? "" : data, len, meta, err, errlen);
}

/* store_params_check - the limits every backend accepts */
int
store_params_check(const struct policy_params *p, char *err, size_t errlen)
{
    /* Redis refuses EX 0; an unbounded delay would never pass. */
    if (p->delay < 0 || p->retry_window < 1 || p->pass_ttl < 1
        || p->awl_threshold < 0 || p->awl_threshold > STORE_REDIS_LUA_AWL_COUNT_MAX
        || (p->awl_threshold > 0 && p->awl_ttl < 1)) {
        snprintf(err, errlen, "store: want delay >= 0, retry_window, pass_ttl and awl_ttl"
                 " >= 1 s, awl_threshold 0..%d", STORE_REDIS_LUA_AWL_COUNT_MAX);
        return -1;
    }
    if (p->max_new_per_client < 0 || p->greytrap_ttl < 0 || p->outbound_ttl < 0) {
        snprintf(err, errlen, "store: want max_new_per_client, greytrap_ttl and"
                 " outbound_ttl >= 0");
        return -1;
    }
    return 0;
}

/* store_params_init - slot 0 holds p, readers use it */
void
store_params_init(struct store *st, const struct policy_params *p)
{
    st->params_slot[0] = *p;
    st->params_slot[1] = *p;
    atomic_init(&st->params_idx, 0);
    grace_init(&st->params_grace);
}

/*
 * store_params_get - copy the slot params_idx names, inside a grace
 * bracket: store_set_params never rewrites a slot a reader may be in
 */
void
store_params_get(struct store *st, struct policy_params *out)
{
    unsigned token = grace_enter(&st->params_grace);

    *out = st->params_slot[atomic_load(&st->params_idx) & 1];
    grace_leave(&st->params_grace, token);
}

/*
 * store_set_params - write the slot readers do not use, switch to it,
 * and wait out the readers of the old one, so that the next call may
 * write that one
 */
int
store_set_params(struct store *st, const struct policy_params *p, char *err, size_t errlen)
{
    unsigned idx;

    if (st == NULL || p == NULL) {
        snprintf(err, errlen, "store_set_params: bad arguments");
        return -1;
    }
    if (store_params_check(p, err, errlen) < 0)
        return -1;
    pthread_mutex_lock(&store_params_lock);
    idx = atomic_load(&st->params_idx) & 1;
    st->params_slot[idx ^ 1] = *p;
    atomic_store(&st->params_idx, idx ^ 1);
    grace_wait(&st->params_grace);
    pthread_mutex_unlock(&store_params_lock);
    return 0;
}

/* store_admin_none - the message for an admin call the backend lacks; -1 */
static int
store_admin_none(struct store *st, const char *what, char *err, size_t errlen)
{
    snprintf(err, errlen, "store %s: %s is not supported by this backend",
             st->ops->name, what);
    return -1;
}

/* store_entry_get - forward to the backend */
int
store_entry_get(struct store *st, const struct triplet *t, struct store_entry *out,
                char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    if (st->ops->entry_get == NULL)
        return store_admin_none(st, "reading an entry", err, errlen);
    return st->ops->entry_get(st, t, out, err, errlen);
}

/* store_entry_pass - forward to the backend */
int
store_entry_pass(struct store *st, const struct triplet *t, char *err, size_t errlen)
{
    if (st->ops->entry_pass == NULL)
        return store_admin_none(st, "passing an entry", err, errlen);
    return st->ops->entry_pass(st, t, err, errlen);
}

/* store_entry_delete - forward to the backend */
int
store_entry_delete(struct store *st, const struct triplet *t, int *existed,
                   char *err, size_t errlen)
{
    *existed = 0;
    if (st->ops->entry_delete == NULL)
        return store_admin_none(st, "deleting an entry", err, errlen);
    return st->ops->entry_delete(st, t, existed, err, errlen);
}

/* store_count_step - forward to the backend; a finished walk stays finished */
int
store_count_step(struct store *st, struct store_walk *w, char *err, size_t errlen)
{
    if (w->done)
        return 0;
    if (st->ops->count_step == NULL)
        return store_admin_none(st, "counting", err, errlen);
    return st->ops->count_step(st, w, err, errlen);
}

/* store_outbound_put - forward to the backend when outbound pairs are on */
int
store_outbound_put(struct store *st, const struct triplet *pair, char *err, size_t errlen)
{
    struct policy_params p;

    store_params_get(st, &p);
    if (p.outbound_ttl <= 0)
        return 0;
    if (st->ops->outbound_put == NULL) {
        snprintf(err, errlen, "store %s: cannot record outbound pairs", st->ops->name);
        return -1;
    }
    return st->ops->outbound_put(st, pair, err, errlen);
}

/* store_blob_delete - check the name, then forward to the backend */
int
store_blob_delete(struct store *st, const char *name, int *existed, char *err, size_t errlen)
{
    *existed = 0;
    if (!store_blob_name_ok(name)) {
        snprintf(err, errlen, "store: bad blob name (want [a-z0-9_-], 1..%d bytes)",
                 STORE_BLOB_NAME_MAX);
        return -1;
    }
    if (st->ops->blob_delete == NULL)
        return store_admin_none(st, "deleting a blob", err, errlen);
    return st->ops->blob_delete(st, name, existed, err, errlen);
}

/* store_free - forward to the backend; NULL is a no-op */
void
store_free(struct store *st)
{
    if (st != NULL)
        st->ops->free(st);
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * store_redis_admin.c - the Redis backend's admin operations, for
 * redgreyctl: read a triplet's records, pass or delete its grey entry,
 * count the entries in bounded steps, delete a blob.
 *
 * Every command goes through the connection layer (store_redis_conn.h:
 * one store_timeout, past the breaker). A read is one EVAL that returns
 * the values, their PTTL and the server's TIME together, so that the
 * times it reports are the server's, as the decision's are; the values
 * are read back as store_redis.c's header describes them. Counting is a
 * SCAN with MATCH on PREFIX "{*" and a COUNT per step (never KEYS): one
 * step is one EVAL that scans once and reads what it found, so it holds
 * the server for one bounded SCAN.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "store.h"
#include "store_redis_admin.h"
#include "store_redis_conn.h"
#include "store_redis_lua.h"
#include "triplet.h"

#define ADMIN_SCAN_COUNT "1000"          /* SCAN's COUNT hint per step */

/* The read: KEYS grey, AWL. Returns {TIME s, TIME us, grey, grey PTTL, AWL, AWL PTTL}. */
static const char admin_get_script[] =
    "local t = redis.call('TIME')\n"
    "return {t[1], t[2], redis.call('GET', KEYS[1]), redis.call('PTTL', KEYS[1]),\n"
    "        redis.call('GET', KEYS[2]), redis.call('PTTL', KEYS[2])}\n";

/*
 * One count step: ARGV cursor, pattern, count. Returns {next cursor,
 * TIME s, TIME us, then key, value (nil if not a string), PTTL for each
 * key SCAN returned}.
 */
static const char admin_scan_script[] =
    "local r = redis.call('SCAN', ARGV[1], 'MATCH', ARGV[2], 'COUNT', ARGV[3])\n"
    "local t = redis.call('TIME')\n"
    "local out = {r[1], t[1], t[2]}\n"
    "for _, k in ipairs(r[2]) do\n"
    "  local v = redis.pcall('GET', k)\n"
    "  if type(v) ~= 'string' then v = false end\n"
    "  out[#out + 1] = k\n"
    "  out[#out + 1] = v\n"
    "  out[#out + 1] = redis.call('PTTL', k)\n"
    "end\n"
    "return out\n";

/* admin_int - a reply element holding an integer (or its decimal text) into *v; 0 or -1 */
static int
admin_int(const redisReply *e, long long *v)
{
    char   *end;

    if (e->type == REDIS_REPLY_INTEGER) {
        *v = e->integer;
        return 0;
    }
    if (e->type != REDIS_REPLY_STRING || e->len == 0 || e->len > 20)
        return -1;
    *v = strtoll(e->str, &end, 10);
    return *end == 0 ? 0 : -1;
}

/* admin_now_ms - the server's time in ms from the TIME elements at r[i], r[i + 1] */
static int
admin_now_ms(const redisReply *r, size_t i, int64_t *now_ms)
{
    long long s, us;

    if (admin_int(r->element[i], &s) < 0 || admin_int(r->element[i + 1], &us) < 0)
        return -1;
    *now_ms = (int64_t) s * 1000 + us / 1000;
    return 0;
}

/*
 * admin_grey - decode a grey value v (NULL: none) with its PTTL at
 * now_ms, as the decision script reads it, into e's grey state
 */
static void
admin_grey(const redisReply *v, long long pttl, int64_t now_ms,
           const struct policy_params *p, struct store_entry *e)
{
    int64_t now = now_ms / 1000, first = 0, expires = 0;
    long long g;

    e->state = STORE_GREY_ABSENT;
    memset(&e->grey, 0, sizeof(e->grey));
    if (v == NULL || v->type != REDIS_REPLY_STRING || admin_int(v, &g) < 0 || g < 0)
        return;
    if (g == 0) {
        if (pttl <= 0)
            return;
        e->state = STORE_GREY_PASSED;
        e->grey.expires = (now_ms + pttl + 1) / 1000;
        e->grey.passed = e->grey.expires - p->pass_ttl; /* its last use: Redis keeps no times */
        return;
    }
    if (g >= STORE_REDIS_LUA_SHARED_MAX) {
        first = g;
        expires = g + p->retry_window;
    } else if (pttl > 0) {
        first = (now_ms + pttl) / 1000 - g * 60;
        expires = first + g * 60;
    }
    if (first == 0 || now >= expires)
        return;
    e->state = STORE_GREY_PENDING;
    e->grey.first_seen = first;
    e->grey.expires = expires;
}

/* admin_awl - decode an AWL value v (NULL: none) with its PTTL into e */
static void
admin_awl(const redisReply *v, long long pttl, int64_t now_ms, struct store_entry *e)
{
    long long a;

    e->has_awl = 0;
    memset(&e->awl, 0, sizeof(e->awl));
    if (v == NULL || v->type != REDIS_REPLY_STRING || admin_int(v, &a) < 0 || a < 0
        || pttl <= 0)
        return;
    e->has_awl = 1;
    e->awl.count = a % 65536;
    e->awl.last_count = a / 65536;
    e->awl.expires = (now_ms + pttl + 1) / 1000;
}

/* admin_keys - the triplet's grey and AWL keys; 0, or -1 with err */
static int
admin_keys(struct store *st, const struct triplet *t, char *gkey, size_t *glen, char *akey,
           size_t *alen, char *err, size_t errlen)
{
    *glen = triplet_grey_key(st->key_prefix, t, gkey, TRIPLET_KEY_MAX);
    *alen = triplet_awl_key(st->key_prefix, t, akey, TRIPLET_KEY_MAX);
    if (*glen == 0 || *alen == 0) {
        snprintf(err, errlen, "%s: cannot build the keys of this triplet",
                 store_redis_admin_conn(st)->name);
        return -1;
    }
    return 0;
}

/* admin_reply_error - 1 (err filled) if r is an error reply, else 0 */
static int
admin_reply_error(struct redis_conn *c, const char *what, const redisReply *r,
                  char *err, size_t errlen)
{
    if (r->type != REDIS_REPLY_ERROR)
        return 0;
    snprintf(err, errlen, "%s: %s: %s", c->name, what, r->str);
    return 1;
}

/* store_redis_admin_entry_get - store_ops.entry_get: one EVAL */
int
store_redis_admin_entry_get(struct store *st, const struct triplet *t,
                            struct store_entry *out, char *err, size_t errlen)
{
    struct redis_conn *c = store_redis_admin_conn(st);
    char    gkey[TRIPLET_KEY_MAX], akey[TRIPLET_KEY_MAX];
    const char *argv[5] = {"EVAL", admin_get_script, "2", gkey, akey};
    size_t  lens[5] = {4, sizeof(admin_get_script) - 1, 1};
    struct policy_params p;
    long long gttl, attl;
    int64_t now_ms;
    redisReply *r;
    int     rc = -1;

    if (admin_keys(st, t, gkey, &lens[3], akey, &lens[4], err, errlen) < 0)
        return -1;
    if ((r = redis_conn_command(c, 5, argv, lens, err, errlen)) == NULL)
        return -1;
    if (admin_reply_error(c, "read", r, err, errlen))
        goto out;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 6 || admin_now_ms(r, 0, &now_ms) < 0
        || admin_int(r->element[3], &gttl) < 0 || admin_int(r->element[5], &attl) < 0) {
        snprintf(err, errlen, "%s: read: unexpected reply", c->name);
        goto out;
    }
    store_params_get(st, &p);
    out->now = now_ms / 1000;
    admin_grey(r->element[2], gttl, now_ms, &p, out);
    admin_awl(r->element[4], attl, now_ms, out);
    rc = 0;
out:
    freeReplyObject(r);
    return rc;
}

/* admin_simple - one command whose reply is an integer or OK; *n the integer; 0 or -1 */
static int
admin_simple(struct redis_conn *c, const char *what, int argc, const char **argv,
             const size_t *lens, long long *n, char *err, size_t errlen)
{
    redisReply *r;
    int     rc = -1;

    if ((r = redis_conn_command(c, argc, argv, lens, err, errlen)) == NULL)
        return -1;
    if (admin_reply_error(c, what, r, err, errlen))
        ;
    else if (r->type == REDIS_REPLY_INTEGER) {
        *n = r->integer;
        rc = 0;
    } else if (r->type == REDIS_REPLY_STATUS) {
        *n = 0;
        rc = 0;
    } else
        snprintf(err, errlen, "%s: %s: unexpected reply", c->name, what);
    freeReplyObject(r);
    return rc;
}

/* store_redis_admin_entry_pass - store_ops.entry_pass: SET grey 0 PX pass_ttl */
int
store_redis_admin_entry_pass(struct store *st, const struct triplet *t, char *err,
                             size_t errlen)
{
    char    gkey[TRIPLET_KEY_MAX], akey[TRIPLET_KEY_MAX], ms[24];
    const char *argv[5] = {"SET", gkey, "0", "PX", ms};
    size_t  lens[5] = {3, 0, 1, 2, 0};
    struct policy_params p;
    size_t  alen;
    long long n;

    if (admin_keys(st, t, gkey, &lens[1], akey, &alen, err, errlen) < 0)
        return -1;
    store_params_get(st, &p);
    lens[4] = (size_t) snprintf(ms, sizeof(ms), "%" PRId64, p.pass_ttl * 1000);
    return admin_simple(store_redis_admin_conn(st), "pass", 5, argv, lens, &n, err, errlen);
}

/* store_redis_admin_entry_delete - store_ops.entry_delete: DEL grey */
int
store_redis_admin_entry_delete(struct store *st, const struct triplet *t, int *existed,
                               char *err, size_t errlen)
{
    char    gkey[TRIPLET_KEY_MAX], akey[TRIPLET_KEY_MAX];
    const char *argv[2] = {"DEL", gkey};
    size_t  lens[2] = {3, 0};
    size_t  alen;
    long long n = 0;
    int     rc;

    if (admin_keys(st, t, gkey, &lens[1], akey, &alen, err, errlen) < 0)
        return -1;
    rc = admin_simple(store_redis_admin_conn(st), "delete", 2, argv, lens, &n, err, errlen);
    *existed = rc == 0 && n > 0;
    return rc;
}

/* store_redis_admin_blob_delete - store_ops.blob_delete: DEL PREFIX "blob:" NAME */
int
store_redis_admin_blob_delete(struct store *st, const char *name, int *existed,
                              char *err, size_t errlen)
{
    char    key[STORE_BLOB_KEY_MAX];
    const char *argv[2] = {"DEL", key};
    size_t  lens[2] = {3, 0};
    long long n = 0;
    int     rc;

    lens[1] = store_blob_key(st->key_prefix, name, key, sizeof(key));
    rc = admin_simple(store_redis_admin_conn(st), "blob delete", 2, argv, lens, &n, err,
                      errlen);
    *existed = rc == 0 && n > 0;
    return rc;
}

/* admin_pattern - the SCAN pattern PREFIX "{*", glob characters of the prefix escaped */
static size_t
admin_pattern(const char *prefix, char *buf, size_t len)
{
    size_t  n = 0;

    for (; *prefix != 0 && n + 4 < len; prefix++) {
        if (strchr("*?[]\\", *prefix) != NULL)
            buf[n++] = '\\';
        buf[n++] = *prefix;
    }
    memcpy(buf + n, "{*", 3);
    return n + 2;
}

/*
 * admin_count_key - count key k (the part after "}" says grey or AWL)
 * with value v and PTTL pttl at now_ms
 */
static void
admin_count_key(const redisReply *k, const redisReply *v, long long pttl, int64_t now_ms,
                const struct policy_params *p, struct store_walk *w)
{
    const char *close = k->type == REDIS_REPLY_STRING ? memchr(k->str, '}', k->len) : NULL;
    struct store_counts *c = &w->counts;
    struct store_walk_item it;
    struct store_entry e;
    char    kind = close != NULL && close + 1 < k->str + k->len ? close[1] : 0;

    memset(&e, 0, sizeof(e));
    memset(&it, 0, sizeof(it));
    if (kind == 'g') {
        admin_grey(v, pttl, now_ms, p, &e);
        if (e.state == STORE_GREY_PENDING)
            c->pending++;
        else if (e.state == STORE_GREY_PASSED)
            c->passed++;
        else {
            c->other++;
            return;
        }
        it.state = e.state;
        it.grey = e.grey;
    } else if (kind == 'a') {
        admin_awl(v, pttl, now_ms, &e);
        if (!e.has_awl) {
            c->other++;
            return;
        }
        c->awl++;
        it.is_awl = 1;
        it.awl = e.awl;
    } else {
        c->other++;
        return;
    }
    if (w->visit != NULL) {
        it.key = k->str;
        it.key_len = k->len;
        w->visit(w->visit_arg, &it);
    }
}

/* store_redis_admin_count_step - store_ops.count_step: one SCAN, in one EVAL */
int
store_redis_admin_count_step(struct store *st, struct store_walk *w, char *err,
                             size_t errlen)
{
    struct redis_conn *c = store_redis_admin_conn(st);
    char    pattern[2 * TRIPLET_PREFIX_MAX + 3];
    const char *argv[6] = {"EVAL", admin_scan_script, "0", w->pos_len ? w->pos : "0", pattern,
        ADMIN_SCAN_COUNT};
    size_t  lens[6] = {4, sizeof(admin_scan_script) - 1, 1, w->pos_len ? w->pos_len : 1, 0,
        strlen(ADMIN_SCAN_COUNT)};
    struct store_walk step = *w;
    struct policy_params p;
    const redisReply *cur;
    int64_t now_ms;
    long long pttl;
    redisReply *r;
    int     rc = -1;

    lens[4] = admin_pattern(st->key_prefix, pattern, sizeof(pattern));
    if ((r = redis_conn_command(c, 6, argv, lens, err, errlen)) == NULL)
        return -1;
    if (admin_reply_error(c, "scan", r, err, errlen))
        goto out;
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 3 || (r->elements - 3) % 3 != 0
        || (cur = r->element[0])->type != REDIS_REPLY_STRING || cur->len == 0
        || cur->len >= sizeof(w->pos) || admin_now_ms(r, 1, &now_ms) < 0)
        goto bad;
    store_params_get(st, &p);
    for (size_t i = 3; i < r->elements; i += 3) {
        if (admin_int(r->element[i + 2], &pttl) < 0)
            goto bad;
        admin_count_key(r->element[i], r->element[i + 1], pttl, now_ms, &p, &step);
    }
    w->counts = step.counts;
    w->now = now_ms / 1000;
    memcpy(w->pos, cur->str, cur->len + 1);
    w->pos_len = cur->len;
    w->done = cur->len == 1 && cur->str[0] == '0';
    rc = 0;
    goto out;
bad:
    snprintf(err, errlen, "%s: scan: unexpected reply", c->name);
out:
    freeReplyObject(r);
    return rc;
}

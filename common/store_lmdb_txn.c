/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * store_lmdb_txn.c - what one LMDB transaction of the store does: a
 * decision, a blob read or write, a count, a sweep batch; and the formats
 * of the values it reads and writes.
 *
 * Every function here runs on the writer thread (store_lmdb_writer.c),
 * inside a write transaction it was given, or one it begins itself with
 * lmdb_txn_begin() (a sweep batch). Nothing here waits for anything but LMDB
 * itself, and nothing allocates except a blob read's copy.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "policy.h"
#include "store_lmdb_txn.h"
#include "xalloc.h"

/*
 * Records: 32 bytes, little-endian, the expiry at a fixed offset so that
 * the sweeper reads it without knowing the kind.
 *   0  version (1)      1  kind ('g' grey, 'a' AWL, 'n' counter, 't' trap,
 *                          'o' outbound pair)          2..7  zero
 *   8  expires          16 first_seen | count         24 passed | last_count
 * (the counter keeps its count at 16; trap and outbound pair only expire)
 * A value of another size, version or kind is malformed: a decision
 * treats it as absent and the sweeper deletes it.
 */
/* REC_SIZE, REC_VERSION, REC_GREY and REC_AWL are in store_lmdb_txn.h. */

/*
 * Blobs live in the "blobs" database, under the key every backend gives
 * them (store_blob_key: PREFIX "blob:" NAME), so the sweeper never sees
 * them. A blob's value is a 24-byte little-endian
 * header and the data:
 *   0  format (1)   1..7  zero   8  version   16  stamp (unix time)   24  data
 */
#define BLOB_HEADER     24
#define BLOB_FORMAT     1

/* Sweeping: entries visited per batch, at most (see store_lmdb_writer.c). */
#define SWEEP_VISIT_MAX 4096

/*
 * lmdb_txn_error - the message for LMDB error rc during `what`. A full map
 * gets the wording the caller's log line relies on; a map another process
 * grew is adopted by lmdb_txn_begin(), so MDB_MAP_RESIZED here means that
 * failed.
 */
int
lmdb_txn_error(struct lmdb_store *st, const char *what, int rc, char *err, size_t errlen)
{
    MDB_envinfo info;

    if (rc == MDB_MAP_FULL) {
        if (mdb_env_info(st->env, &info) != 0)
            info.me_mapsize = 0;
        snprintf(err, errlen, "lmdb %s: map full (lmdb_mapsize %zu bytes)",
                 st->path, info.me_mapsize);
    } else if (rc == MDB_MAP_RESIZED) {
        snprintf(err, errlen, "lmdb %s: %s: the map was grown by another process;"
                 " restart redgrey with a matching lmdb_mapsize", st->path, what);
    } else {
        snprintf(err, errlen, "lmdb %s: %s: %s", st->path, what, mdb_strerror(rc));
    }
    return -1;
}

/* lmdb_txn_begin - mdb_txn_begin; on MDB_MAP_RESIZED adopt the new size, once */
int
lmdb_txn_begin(struct lmdb_store *st, unsigned int flags, MDB_txn **txn)
{
    int     rc = mdb_txn_begin(st->env, NULL, flags, txn);

    /* Size 0: take the size another process wrote in the meta page. */
    if (rc == MDB_MAP_RESIZED && mdb_env_set_mapsize(st->env, 0) == 0)
        rc = mdb_txn_begin(st->env, NULL, flags, txn);
    return rc;
}

/* lmdb_txn_put_le64 - store v at p, little-endian */
static void
lmdb_txn_put_le64(unsigned char *p, int64_t v)
{
    uint64_t u = (uint64_t) v;

    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char) (u >> (8 * i));
}

/* lmdb_txn_get_le64 - load a little-endian int64 from p */
int64_t
lmdb_txn_get_le64(const unsigned char *p)
{
    uint64_t u = 0;

    for (int i = 0; i < 8; i++)
        u |= (uint64_t) p[i] << (8 * i);
    return (int64_t) u;
}

/* lmdb_txn_rec_encode - the 32-byte record of kind with fields a, b and expires */
void
lmdb_txn_rec_encode(unsigned char *buf, int kind, int64_t expires, int64_t a, int64_t b)
{
    memset(buf, 0, REC_SIZE);
    buf[0] = REC_VERSION;
    buf[1] = (unsigned char) kind;
    lmdb_txn_put_le64(buf + 8, expires);
    lmdb_txn_put_le64(buf + 16, a);
    lmdb_txn_put_le64(buf + 24, b);
}

/* lmdb_txn_rec_valid - 1 if val is a well-formed record of kind (0: grey or AWL) */
int
lmdb_txn_rec_valid(const MDB_val *val, int kind)
{
    const unsigned char *p = val->mv_data;

    if (val->mv_size != REC_SIZE || p[0] != REC_VERSION)
        return 0;
    return kind == 0 ? p[1] == REC_GREY || p[1] == REC_AWL : p[1] == kind;
}

/* lmdb_txn_rec_any - 1 if val is a well-formed record of any kind (the sweeper's test) */
static int
lmdb_txn_rec_any(const MDB_val *val)
{
    static const char kinds[] = {REC_GREY, REC_AWL, REC_RATE, REC_TRAP, REC_OUTBOUND};

    for (size_t i = 0; i < sizeof(kinds); i++)
        if (lmdb_txn_rec_valid(val, kinds[i]))
            return 1;
    return 0;
}

/* lmdb_txn_rec_expires - the expiry of a valid record */
int64_t
lmdb_txn_rec_expires(const MDB_val *val)
{
    return lmdb_txn_get_le64((const unsigned char *) val->mv_data + 8);
}

/*
 * lmdb_txn_rec_get - look key up in txn. Returns 1 with *val set if a well-formed
 * record of kind is there, 0 if nothing is, 2 if a malformed value is
 * (to be overwritten or deleted), or -1 with the LMDB error code in *rc.
 */
int
lmdb_txn_rec_get(struct lmdb_store *st, MDB_txn *txn, const char *key, size_t len,
                 int kind, MDB_val *val, int *rc)
{
    MDB_val k = {len, (void *) key};

    *rc = mdb_get(txn, st->dbi, &k, val);
    if (*rc == MDB_NOTFOUND) {
        *rc = 0;
        return 0;
    }
    if (*rc != 0)
        return -1;
    return lmdb_txn_rec_valid(val, kind) ? 1 : 2;
}

/* lmdb_txn_rec_put - write a record under key in txn; 0 or an LMDB error code */
int
lmdb_txn_rec_put(struct lmdb_store *st, MDB_txn *txn, const char *key, size_t len,
                 const unsigned char *rec)
{
    MDB_val k = {len, (void *) key};
    MDB_val v = {REC_SIZE, (void *) rec};

    return mdb_put(txn, st->dbi, &k, &v, 0);
}

/* lmdb_txn_rec_del - delete key in txn; 0 (also if absent) or an LMDB error code */
int
lmdb_txn_rec_del(struct lmdb_store *st, MDB_txn *txn, const void *key, size_t len)
{
    MDB_val k = {len, (void *) key};
    int     rc = mdb_del(txn, st->dbi, &k, NULL);

    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* lmdb_txn_fail - record LMDB error rc during `what` in req; returns rc */
int
lmdb_txn_fail(struct lmdb_store *st, struct lmdb_req *req, const char *what, int rc)
{
    req->rc = lmdb_txn_error(st, what, rc, req->err, req->errlen);
    return rc;
}

/*
 * lmdb_txn_live - the expiry of the live record of kind under key, 0 if
 * none (absent, expired, malformed); *count its field at 16. 0, or the
 * LMDB error.
 */
static int
lmdb_txn_live(struct lmdb_store *st, MDB_txn *txn, struct lmdb_req *req, const char *key,
              size_t len, int kind, int64_t now, int64_t *expires, int64_t *count)
{
    MDB_val v;
    int     found, rc;

    *expires = 0;
    if ((found = lmdb_txn_rec_get(st, txn, key, len, kind, &v, &rc)) < 0)
        return lmdb_txn_fail(st, req, "get", rc);
    if (found == 1 && lmdb_txn_rec_expires(&v) > now) {
        *expires = lmdb_txn_rec_expires(&v);
        *count = lmdb_txn_get_le64((const unsigned char *) v.mv_data + 16);
    }
    return 0;
}

/* The abuse keys of one decision (triplet.h), built in the writer. */
struct lmdb_abuse_keys {
    char    n[TRIPLET_KEY_MAX], t[TRIPLET_KEY_MAX], o[TRIPLET_KEY_MAX];
    size_t  nlen, tlen, olen;
};

/*
 * lmdb_txn_abuse_read - the counter, trap and outbound facts of req into
 * *f and *rate (only those the parameters use). 0, or the LMDB error;
 * req->rc -1 when the keys cannot be built (they are no longer than the
 * grey key the caller built, so never in practice).
 */
static int
lmdb_txn_abuse_read(struct lmdb_store *st, MDB_txn *txn, struct lmdb_req *req,
                    const struct policy_params *p, int64_t now, struct lmdb_abuse_keys *k,
                    struct policy_facts *f, struct rate_record *rate)
{
    const char *prefix = st->base.key_prefix;
    int64_t exp, unused;
    int     rc;

    k->nlen = triplet_rate_key(prefix, req->triplet, k->n, sizeof(k->n));
    k->tlen = triplet_trap_key(prefix, req->triplet, k->t, sizeof(k->t));
    k->olen = triplet_outbound_key(prefix, req->triplet, k->o, sizeof(k->o));
    if (k->nlen == 0 || k->tlen == 0 || k->olen == 0) {
        snprintf(req->err, req->errlen, "lmdb %s: cannot build the keys of this triplet",
                 st->path);
        req->rc = -1;
        return 0;
    }
    f->trap_hit = req->opts->trap;
    if (p->greytrap_ttl > 0
        && (rc = lmdb_txn_live(st, txn, req, k->t, k->tlen, REC_TRAP, now, &f->trapped_until,
                               &unused)) != 0)
        return rc;
    if (p->outbound_ttl > 0 && req->opts->outbound != 0)
        f->outbound = req->opts->outbound > 0;
    else if (p->outbound_ttl > 0) {
        if ((rc = lmdb_txn_live(st, txn, req, k->o, k->olen, REC_OUTBOUND, now, &exp,
                                &unused)) != 0)
            return rc;
        f->outbound = exp != 0;
    }
    if (p->max_new_per_client > 0) {
        if ((rc = lmdb_txn_live(st, txn, req, k->n, k->nlen, REC_RATE, now, &rate->expires,
                                &rate->count)) != 0)
            return rc;
        f->rate = rate->expires != 0 ? rate : NULL;
    }
    return 0;
}

/* lmdb_txn_abuse_write - write the counter and trap the verdict asks for; 0 or the error */
static int
lmdb_txn_abuse_write(struct lmdb_store *st, MDB_txn *txn, struct lmdb_req *req,
                     const struct lmdb_abuse_keys *k, const struct policy_verdict *out)
{
    unsigned char rec[REC_SIZE];
    int     rc;

    if (out->rate_write) {
        lmdb_txn_rec_encode(rec, REC_RATE, out->rate.expires, out->rate.count, 0);
        if ((rc = lmdb_txn_rec_put(st, txn, k->n, k->nlen, rec)) != 0)
            return lmdb_txn_fail(st, req, "put", rc);
    }
    if (out->trap_write) {
        lmdb_txn_rec_encode(rec, REC_TRAP, out->trap_expires, 0, 0);
        if ((rc = lmdb_txn_rec_put(st, txn, k->t, k->tlen, rec)) != 0)
            return lmdb_txn_fail(st, req, "put", rc);
    }
    return 0;
}

/*
 * lmdb_txn_decide - the decision: read the records, policy_decide_facts()
 * with the local clock, write back what the verdict says. Earlier requests
 * of the same transaction are visible, so a group commit decides as one
 * transaction per decision would. 0, or the LMDB error.
 */
static int
lmdb_txn_decide(struct lmdb_store *st, MDB_txn *txn, struct lmdb_req *req)
{
    struct grey_record grey = {0, 0, 0};
    struct awl_record awl = {0, 0, 0};
    struct rate_record rate = {0, 0};
    struct policy_verdict *out = req->verdict;
    struct policy_params params;
    struct policy_facts facts;
    struct lmdb_abuse_keys keys;
    unsigned char rec[REC_SIZE];
    MDB_val v;
    int     gstate, astate, rc;
    int64_t now;

    /* Read both records; the pointers into the map die with txn. */
    if ((gstate = lmdb_txn_rec_get(st, txn, req->key, req->key_len, REC_GREY, &v, &rc)) < 0)
        return lmdb_txn_fail(st, req, "get", rc);
    if (gstate == 1) {
        grey.expires = lmdb_txn_rec_expires(&v);
        grey.first_seen = lmdb_txn_get_le64((const unsigned char *) v.mv_data + 16);
        grey.passed = lmdb_txn_get_le64((const unsigned char *) v.mv_data + 24);
    }
    if ((astate = lmdb_txn_rec_get(st, txn, req->akey, req->akey_len, REC_AWL, &v, &rc)) < 0)
        return lmdb_txn_fail(st, req, "get", rc);
    if (astate == 1) {
        awl.expires = lmdb_txn_rec_expires(&v);
        awl.count = lmdb_txn_get_le64((const unsigned char *) v.mv_data + 16);
        awl.last_count = lmdb_txn_get_le64((const unsigned char *) v.mv_data + 24);
    }

    now = (int64_t) time(NULL);
    store_params_get(&st->base, &params);
    if (req->opts != NULL && req->opts->delay > 0)
        params.delay = req->opts->delay; /* this call's own delay (delay_listed) */
    memset(&facts, 0, sizeof(facts));
    req->rc = 0;
    if ((rc = lmdb_txn_abuse_read(st, txn, req, &params, now, &keys, &facts, &rate)) != 0
        || req->rc != 0)
        return rc;
    facts.grey = gstate == 1 ? &grey : NULL;
    facts.awl = astate == 1 ? &awl : NULL;
    policy_decide_facts(&params, now, &facts, out);
    if ((rc = lmdb_txn_abuse_write(st, txn, req, &keys, out)) != 0)
        return rc;

    /*
     * Write what the verdict says. A record the verdict leaves alone but
     * that is expired or malformed is deleted now rather than by the
     * sweeper: we hold the lock and the page anyway.
     */
    if (out->grey_write) {
        lmdb_txn_rec_encode(rec, REC_GREY, out->grey.expires, out->grey.first_seen,
                            out->grey.passed);
        if ((rc = lmdb_txn_rec_put(st, txn, req->key, req->key_len, rec)) != 0)
            return lmdb_txn_fail(st, req, "put", rc);
    } else if (gstate == 2 || (gstate == 1 && grey.expires <= now)) {
        if ((rc = lmdb_txn_rec_del(st, txn, req->key, req->key_len)) != 0)
            return lmdb_txn_fail(st, req, "put", rc);
    }
    if (out->awl_write) {
        lmdb_txn_rec_encode(rec, REC_AWL, out->awl.expires, out->awl.count, out->awl.last_count);
        if ((rc = lmdb_txn_rec_put(st, txn, req->akey, req->akey_len, rec)) != 0)
            return lmdb_txn_fail(st, req, "put", rc);
    } else if (astate == 2 || (astate == 1 && awl.expires <= now)) {
        if ((rc = lmdb_txn_rec_del(st, txn, req->akey, req->akey_len)) != 0)
            return lmdb_txn_fail(st, req, "put", rc);
    }
    req->rc = 0;
    return 0;
}

/* lmdb_txn_outbound_put - the outbound pair under req->key, for *(int64_t *) admin_arg s */
int
lmdb_txn_outbound_put(struct lmdb_store *st, MDB_txn *txn, struct lmdb_req *req)
{
    unsigned char rec[REC_SIZE];
    int64_t ttl = *(const int64_t *) req->admin_arg;
    int     rc;

    lmdb_txn_rec_encode(rec, REC_OUTBOUND, (int64_t) time(NULL) + ttl, 0, 0);
    if ((rc = lmdb_txn_rec_put(st, txn, req->key, req->key_len, rec)) != 0)
        return lmdb_txn_fail(st, req, "put", rc);
    req->rc = 0;
    return 0;
}

/* lmdb_txn_blob_valid - 1 if v is a blob value of our format, else 0 */
static int
lmdb_txn_blob_valid(const MDB_val *v)
{
    const unsigned char *p = v->mv_data;

    return v->mv_size >= BLOB_HEADER && v->mv_size - BLOB_HEADER <= STORE_BLOB_MAX
        && p[0] == BLOB_FORMAT && lmdb_txn_get_le64(p + 8) >= 1 && lmdb_txn_get_le64(p + 16) >= 0;
}

/* lmdb_txn_blob_get - read a blob's meta and, if asked, a copy of its data */
static int
lmdb_txn_blob_get(struct lmdb_store *st, MDB_txn *txn, struct lmdb_req *req)
{
    MDB_val k = {req->key_len, (void *) req->key}, v;
    int     rc;

    /* The value points into the map: copy what we need now. */
    rc = mdb_get(txn, st->blobs, &k, &v);
    req->rc = 0;
    if (rc == MDB_NOTFOUND) {
        req->blob = STORE_BLOB_ABSENT;
        return 0;
    }
    if (rc != 0) {
        req->blob = STORE_BLOB_ERROR;
        return lmdb_txn_fail(st, req, "blob get", rc);
    }
    if (!lmdb_txn_blob_valid(&v)) {
        snprintf(req->err, req->errlen, "lmdb %s: blob %s: malformed", st->path, req->name);
        req->blob = STORE_BLOB_ERROR;
        req->rc = -1;
        return 0;
    }
    req->meta->version = (uint64_t) lmdb_txn_get_le64((const unsigned char *) v.mv_data + 8);
    req->meta->stamp = lmdb_txn_get_le64((const unsigned char *) v.mv_data + 16);
    if (req->data_out != NULL) {
        *req->len_out = v.mv_size - BLOB_HEADER;
        *req->data_out = xmalloc(*req->len_out + 1);
        memcpy(*req->data_out, (const unsigned char *) v.mv_data + BLOB_HEADER, *req->len_out);
        (*req->data_out)[*req->len_out] = 0;
    }
    req->blob = STORE_BLOB_FOUND;
    return 0;
}

/*
 * lmdb_txn_blob_put - read the old version and write the next. A malformed old
 * value is replaced and the numbering starts again at 1.
 */
static int
lmdb_txn_blob_put(struct lmdb_store *st, MDB_txn *txn, struct lmdb_req *req)
{
    MDB_val k = {req->key_len, (void *) req->key}, v;
    uint64_t version = 1;
    int64_t stamp = (int64_t) time(NULL);
    int     rc;

    rc = mdb_get(txn, st->blobs, &k, &v);
    if (rc == 0 && lmdb_txn_blob_valid(&v))
        version = (uint64_t) lmdb_txn_get_le64((const unsigned char *) v.mv_data + 8) + 1;
    else if (rc != 0 && rc != MDB_NOTFOUND)
        return lmdb_txn_fail(st, req, "blob get", rc);

    /* MDB_RESERVE: LMDB gives us the space, we fill it; no second copy. */
    v.mv_size = BLOB_HEADER + req->len;
    v.mv_data = NULL;
    if ((rc = mdb_put(txn, st->blobs, &k, &v, MDB_RESERVE)) != 0)
        return lmdb_txn_fail(st, req, "blob put", rc);
    memset(v.mv_data, 0, BLOB_HEADER);
    ((unsigned char *) v.mv_data)[0] = BLOB_FORMAT;
    lmdb_txn_put_le64((unsigned char *) v.mv_data + 8, (int64_t) version);
    lmdb_txn_put_le64((unsigned char *) v.mv_data + 16, stamp);
    if (req->len > 0)
        memcpy((unsigned char *) v.mv_data + BLOB_HEADER, req->data, req->len);
    if (req->meta != NULL) {
        req->meta->version = version;
        req->meta->stamp = stamp;
    }
    req->rc = 0;
    return 0;
}

/* lmdb_txn_count - the number of entries */
static int
lmdb_txn_count(struct lmdb_store *st, MDB_txn *txn, struct lmdb_req *req)
{
    MDB_stat ms;
    int     rc;

    if ((rc = mdb_stat(txn, st->dbi, &ms)) != 0)
        return lmdb_txn_fail(st, req, "stat", rc);
    *req->entries = ms.ms_entries;
    req->rc = 0;
    return 0;
}

/* lmdb_txn_run - dispatch req to its operation */
int
lmdb_txn_run(struct lmdb_store *st, MDB_txn *txn, struct lmdb_req *req)
{
    switch (req->op) {
    case LMDB_OP_DECIDE:
        return lmdb_txn_decide(st, txn, req);
    case LMDB_OP_BLOB_GET:
        return lmdb_txn_blob_get(st, txn, req);
    case LMDB_OP_BLOB_PUT:
        return lmdb_txn_blob_put(st, txn, req);
    case LMDB_OP_COUNT:
        return lmdb_txn_count(st, txn, req);
    case LMDB_OP_ADMIN:
        return req->admin(st, txn, req);
    }
    snprintf(req->err, req->errlen, "lmdb %s: unknown request %d", st->path, (int) req->op);
    req->rc = -1;
    return 0;
}

/* lmdb_txn_undo - free a blob read's copy made by a transaction that failed */
void
lmdb_txn_undo(struct lmdb_req *req)
{
    if (req->op == LMDB_OP_BLOB_GET && req->data_out != NULL && *req->data_out != NULL) {
        free(*req->data_out);
        *req->data_out = NULL;
        *req->len_out = 0;
    }
}

/*
 * lmdb_txn_sweep_batch - one write transaction of a sweep pass: from
 * w->pos, visit at most SWEEP_VISIT_MAX entries and delete at most
 * w->limit of them (expired at now, or malformed). On commit, w->pos
 * moves to the first entry not visited (w->done at the end); on failure
 * it stays. Returns 0, or an LMDB error code with err filled.
 */
int
lmdb_txn_sweep_batch(struct lmdb_store *st, int64_t now, struct lmdb_sweep_work *w,
                     struct store_lmdb_sweep_stats *stats, char *err, size_t errlen)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_val k, v;
    size_t  visited = 0, ndel = 0, next_len = 0;
    int     rc, done = 0;
    const char *what = "sweep cursor";

    if ((rc = lmdb_txn_begin(st, 0, &txn)) != 0) {
        lmdb_txn_error(st, "sweep begin", rc, err, errlen);
        return rc;
    }
    if ((rc = mdb_cursor_open(txn, st->dbi, &cur)) != 0)
        goto fail;

    /* Collect the keys first: deleting under a cursor would move it. */
    k.mv_size = w->pos_len;
    k.mv_data = w->pos;
    rc = mdb_cursor_get(cur, &k, &v, w->pos_len ? MDB_SET_RANGE : MDB_FIRST);
    while (rc == 0 && visited < SWEEP_VISIT_MAX && ndel < w->limit) {
        visited++;
        if ((!lmdb_txn_rec_any(&v) || lmdb_txn_rec_expires(&v) <= now)
            && k.mv_size <= LMDB_KEY_SLOT) {
            memcpy(w->keys[ndel], k.mv_data, k.mv_size);
            w->lens[ndel++] = k.mv_size;
        }
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    if (rc == MDB_NOTFOUND) {
        done = 1;
    } else if (rc != 0) {
        mdb_cursor_close(cur);
        goto fail;
    } else {
        memcpy(w->next, k.mv_data, k.mv_size);
        next_len = k.mv_size;
    }
    mdb_cursor_close(cur);

    what = "sweep delete";
    for (size_t i = 0; i < ndel; i++)
        if ((rc = lmdb_txn_rec_del(st, txn, w->keys[i], w->lens[i])) != 0)
            goto fail;
    what = "sweep commit";
    if ((rc = mdb_txn_commit(txn)) != 0) {
        lmdb_txn_error(st, what, rc, err, errlen);
        return rc;
    }

    w->done = done;
    memcpy(w->pos, w->next, next_len);
    w->pos_len = next_len;
    if (stats != NULL) {
        stats->visited += visited;
        stats->deleted += ndel;
        stats->batches++;
    }
    return 0;

fail:
    mdb_txn_abort(txn);
    lmdb_txn_error(st, what, rc, err, errlen);
    return rc;
}

/* lmdb_txn_sweep_start - a fresh pass from the start of the database */
void
lmdb_txn_sweep_start(struct lmdb_sweep_work *w)
{
    w->pos_len = 0;
    w->done = 0;
    w->limit = LMDB_SWEEP_BATCH;
}

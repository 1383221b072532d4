/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * store_lmdb_admin.c - the LMDB backend's admin operations, for
 * redgreyctl: read a triplet's records, pass or delete its grey entry,
 * count the entries in bounded steps, delete a blob.
 *
 * Each is a request to the writer thread (LMDB_OP_ADMIN), run in the
 * writer's transaction like a decision, so the rule of store_lmdb_txn.h
 * holds: only the writer begins transactions. A count step visits at
 * most ADMIN_STEP_MAX entries, so that it never holds the writer lock
 * long, and resumes at the first key it did not visit.
 */
#include "config.h"

#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store.h"
#include "store_lmdb_admin.h"
#include "store_lmdb_txn.h"
#include "store_lmdb_writer.h"
#include "triplet.h"
#include "xalloc.h"

#define ADMIN_STEP_MAX 4096              /* entries one count step visits */

/* The arguments and results of one admin request. */
struct admin_arg {
    char    gkey[TRIPLET_KEY_MAX];       /* the triplet's grey key */
    size_t  glen;
    char    akey[TRIPLET_KEY_MAX];       /* its AWL key */
    size_t  alen;
    struct store_entry *entry;           /* entry_get: out */
    int     existed;                     /* delete: out */
    struct store_walk *walk;             /* count: in and out */
    struct store_walk step;              /* count: the step's result, copied on success */
    struct store_walk_item *items;       /* count with visit: the step's live entries */
    char   *keys;                        /* ... their keys, LMDB_KEY_SLOT bytes each */
    size_t  nitems;
};

/* admin_submit - run fn with arg in the writer; 0, or -1 with err */
static int
admin_submit(struct store *base, lmdb_admin_fn fn, struct admin_arg *arg,
             char *err, size_t errlen)
{
    struct lmdb_req req;

    memset(&req, 0, sizeof(req));
    req.op = LMDB_OP_ADMIN;
    req.admin = fn;
    req.admin_arg = arg;
    req.err = err;
    req.errlen = errlen;
    return lmdb_writer_submit((struct lmdb_store *) base, &req);
}

/* admin_keys - the triplet's keys into arg; 0, or -1 with err */
static int
admin_keys(struct store *base, const struct triplet *t, struct admin_arg *arg,
           char *err, size_t errlen)
{
    memset(arg, 0, sizeof(*arg));
    arg->glen = triplet_grey_key(base->key_prefix, t, arg->gkey, sizeof(arg->gkey));
    arg->alen = triplet_awl_key(base->key_prefix, t, arg->akey, sizeof(arg->akey));
    if (arg->glen == 0 || arg->alen == 0) {
        snprintf(err, errlen, "lmdb %s: store key too long for client key \"%.64s\"",
                 ((struct lmdb_store *) base)->path, t->client_key);
        return -1;
    }
    return 0;
}

/* admin_decode - a valid record v into grey (kind 'g') or awl; 1 if it is live at now */
static int
admin_decode(const MDB_val *v, int64_t now, struct grey_record *grey, struct awl_record *awl)
{
    const unsigned char *p = v->mv_data;
    int64_t expires = lmdb_txn_rec_expires(v);

    if (p[1] == REC_AWL) {
        awl->expires = expires;
        awl->count = lmdb_txn_get_le64(p + 16);
        awl->last_count = lmdb_txn_get_le64(p + 24);
    } else {
        grey->expires = expires;
        grey->first_seen = lmdb_txn_get_le64(p + 16);
        grey->passed = lmdb_txn_get_le64(p + 24);
    }
    return expires > now;
}

/* admin_get_txn - read both records, live ones only */
static int
admin_get_txn(struct lmdb_store *st, MDB_txn *txn, struct lmdb_req *req)
{
    struct admin_arg *a = req->admin_arg;
    struct store_entry *e = a->entry;
    MDB_val v;
    int     rc, found;

    memset(e, 0, sizeof(*e));
    e->now = (int64_t) time(NULL);
    if ((found = lmdb_txn_rec_get(st, txn, a->gkey, a->glen, REC_GREY, &v, &rc)) < 0)
        return lmdb_txn_fail(st, req, "get", rc);
    if (found == 1 && admin_decode(&v, e->now, &e->grey, &e->awl))
        e->state = e->grey.passed != 0 ? STORE_GREY_PASSED : STORE_GREY_PENDING;
    if ((found = lmdb_txn_rec_get(st, txn, a->akey, a->alen, REC_AWL, &v, &rc)) < 0)
        return lmdb_txn_fail(st, req, "get", rc);
    e->has_awl = found == 1 && admin_decode(&v, e->now, &e->grey, &e->awl);
    if (e->state == STORE_GREY_ABSENT)
        memset(&e->grey, 0, sizeof(e->grey));
    if (!e->has_awl)
        memset(&e->awl, 0, sizeof(e->awl));
    req->rc = 0;
    return 0;
}

/* admin_pass_txn - write the grey record as passed now, keeping a pending first_seen */
static int
admin_pass_txn(struct lmdb_store *st, MDB_txn *txn, struct lmdb_req *req)
{
    struct admin_arg *a = req->admin_arg;
    struct policy_params p;
    unsigned char rec[REC_SIZE];
    int64_t now = (int64_t) time(NULL), first = now;
    MDB_val v;
    int     rc, found;

    store_params_get(&st->base, &p);
    if ((found = lmdb_txn_rec_get(st, txn, a->gkey, a->glen, REC_GREY, &v, &rc)) < 0)
        return lmdb_txn_fail(st, req, "get", rc);
    if (found == 1 && lmdb_txn_rec_expires(&v) > now)
        first = lmdb_txn_get_le64((const unsigned char *) v.mv_data + 16);
    lmdb_txn_rec_encode(rec, REC_GREY, now + p.pass_ttl, first, now);
    if ((rc = lmdb_txn_rec_put(st, txn, a->gkey, a->glen, rec)) != 0)
        return lmdb_txn_fail(st, req, "put", rc);
    req->rc = 0;
    return 0;
}

/* admin_delete_txn - delete the grey record; note whether a live one was there */
static int
admin_delete_txn(struct lmdb_store *st, MDB_txn *txn, struct lmdb_req *req)
{
    struct admin_arg *a = req->admin_arg;
    MDB_val v;
    int     rc, found;

    if ((found = lmdb_txn_rec_get(st, txn, a->gkey, a->glen, REC_GREY, &v, &rc)) < 0)
        return lmdb_txn_fail(st, req, "get", rc);
    a->existed = found == 1 && lmdb_txn_rec_expires(&v) > (int64_t) time(NULL);
    if (found != 0 && (rc = lmdb_txn_rec_del(st, txn, a->gkey, a->glen)) != 0)
        return lmdb_txn_fail(st, req, "delete", rc);
    req->rc = 0;
    return 0;
}

/*
 * admin_classify - count one entry (key k, value v) of the walk and, when
 * the walk visits, keep a live one in a->items
 */
static void
admin_classify(struct admin_arg *a, const MDB_val *k, const MDB_val *v, int64_t now,
               struct store_counts *c)
{
    const unsigned char *p = v->mv_data;
    struct store_walk_item *it;

    if (!lmdb_txn_rec_valid(v, 0) || lmdb_txn_rec_expires(v) <= now) {
        c->other++;
        return;
    }
    if (p[1] == REC_AWL)
        c->awl++;
    else if (lmdb_txn_get_le64(p + 24) != 0)
        c->passed++;
    else
        c->pending++;
    if (a->items == NULL || k->mv_size > LMDB_KEY_SLOT)
        return;
    it = &a->items[a->nitems];
    memset(it, 0, sizeof(*it));
    memcpy(a->keys + a->nitems * LMDB_KEY_SLOT, k->mv_data, k->mv_size);
    it->key_len = k->mv_size;
    it->is_awl = p[1] == REC_AWL;
    (void) admin_decode(v, now, &it->grey, &it->awl);
    if (!it->is_awl)
        it->state = it->grey.passed != 0 ? STORE_GREY_PASSED : STORE_GREY_PENDING;
    a->nitems++;
}

/*
 * admin_count_txn - from the walk's position (or the prefix's first key),
 * count at most ADMIN_STEP_MAX entries whose key starts with PREFIX "{",
 * into a copy of the walk that the caller takes on success
 */
static int
admin_count_txn(struct lmdb_store *st, MDB_txn *txn, struct lmdb_req *req)
{
    struct admin_arg *a = req->admin_arg;
    struct store_walk *w = &a->step;
    char    start[TRIPLET_PREFIX_MAX + 2];
    size_t  plen = (size_t) snprintf(start, sizeof(start), "%s{", st->base.key_prefix);
    MDB_cursor *cur;
    MDB_val k, v;
    int     rc, n = 0;

    *w = *a->walk;
    w->now = (int64_t) time(NULL);
    a->nitems = 0;                       /* a transaction run again starts over */
    if (w->pos_len == 0) {
        memcpy(w->pos, start, plen);
        w->pos_len = plen;
    }
    if ((rc = mdb_cursor_open(txn, st->dbi, &cur)) != 0)
        return lmdb_txn_fail(st, req, "cursor", rc);
    k.mv_size = w->pos_len;
    k.mv_data = w->pos;
    rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    while (rc == 0 && k.mv_size >= plen && memcmp(k.mv_data, start, plen) == 0) {
        if (n == ADMIN_STEP_MAX) {
            /* Resume here: LMDB keys are at most 511 bytes, pos holds 512. */
            memcpy(w->pos, k.mv_data, k.mv_size);
            w->pos_len = k.mv_size;
            break;
        }
        admin_classify(a, &k, &v, w->now, &w->counts);
        n++;
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return lmdb_txn_fail(st, req, "cursor", rc);
    if (n < ADMIN_STEP_MAX || rc != 0)
        w->done = 1;
    req->rc = 0;
    return 0;
}

/* admin_blob_delete_txn - delete the blob whose key is in gkey */
static int
admin_blob_delete_txn(struct lmdb_store *st, MDB_txn *txn, struct lmdb_req *req)
{
    struct admin_arg *a = req->admin_arg;
    MDB_val k = {a->glen, a->gkey};
    int     rc = mdb_del(txn, st->blobs, &k, NULL);

    if (rc != 0 && rc != MDB_NOTFOUND)
        return lmdb_txn_fail(st, req, "delete", rc);
    a->existed = rc == 0;
    req->rc = 0;
    return 0;
}

/* store_lmdb_admin_entry_get - store_ops.entry_get */
int
store_lmdb_admin_entry_get(struct store *base, const struct triplet *t,
                           struct store_entry *out, char *err, size_t errlen)
{
    struct admin_arg a;

    if (admin_keys(base, t, &a, err, errlen) < 0)
        return -1;
    a.entry = out;
    return admin_submit(base, admin_get_txn, &a, err, errlen);
}

/* store_lmdb_admin_entry_pass - store_ops.entry_pass */
int
store_lmdb_admin_entry_pass(struct store *base, const struct triplet *t, char *err,
                            size_t errlen)
{
    struct admin_arg a;

    if (admin_keys(base, t, &a, err, errlen) < 0)
        return -1;
    return admin_submit(base, admin_pass_txn, &a, err, errlen);
}

/* store_lmdb_admin_entry_delete - store_ops.entry_delete */
int
store_lmdb_admin_entry_delete(struct store *base, const struct triplet *t, int *existed,
                              char *err, size_t errlen)
{
    struct admin_arg a;
    int     rc;

    if (admin_keys(base, t, &a, err, errlen) < 0)
        return -1;
    rc = admin_submit(base, admin_delete_txn, &a, err, errlen);
    *existed = rc == 0 && a.existed;
    return rc;
}

/* store_lmdb_admin_count_step - store_ops.count_step */
int
store_lmdb_admin_count_step(struct store *base, struct store_walk *w, char *err,
                            size_t errlen)
{
    struct admin_arg a;
    int     rc;

    memset(&a, 0, sizeof(a));
    a.walk = w;
    if (w->visit != NULL) {
        a.items = xcalloc(ADMIN_STEP_MAX, sizeof(*a.items));
        a.keys = xmalloc((size_t) ADMIN_STEP_MAX * LMDB_KEY_SLOT);
    }
    if ((rc = admin_submit(base, admin_count_txn, &a, err, errlen)) == 0) {
        *w = a.step;
        /* Visited here, in the caller's thread, once the step is done. */
        for (size_t i = 0; i < a.nitems; i++) {
            a.items[i].key = a.keys + i * LMDB_KEY_SLOT;
            w->visit(w->visit_arg, &a.items[i]);
        }
    }
    free(a.items);
    free(a.keys);
    return rc;
}

/* store_lmdb_admin_blob_delete - store_ops.blob_delete */
int
store_lmdb_admin_blob_delete(struct store *base, const char *name, int *existed,
                             char *err, size_t errlen)
{
    struct admin_arg a;
    int     rc;

    memset(&a, 0, sizeof(a));
    a.glen = store_blob_key(base->key_prefix, name, a.gkey, sizeof(a.gkey));
    rc = admin_submit(base, admin_blob_delete_txn, &a, err, errlen);
    *existed = rc == 0 && a.existed;
    return rc;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * store_lmdb_session.c - the live sessions of a client address in LMDB.
 *
 * The "sessions" database holds one entry per session: the key is the
 * address's key (store_session_key) followed by the session id, the value
 * the 8-byte little-endian wall-clock ms at which it stops counting. So
 * an address's sessions are one key range: an enter writes its entry,
 * then walks the range, deleting the expired entries and counting the
 * others; a leave deletes its entry. Both are requests to the writer
 * thread (LMDB_OP_ADMIN), like the admin operations, so that only the
 * writer begins transactions (store_lmdb_txn.h).
 *
 * Addresses that never come back would keep the entries of sessions that
 * were never left (a crash); so each enter also looks at a few entries of
 * the whole database from where the last one stopped, and deletes the
 * expired ones among them: the database is swept at the pace of the
 * sessions. The main sweeper never sees this database.
 */
#include "config.h"

#include <lmdb.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "store.h"
#include "store_lmdb_session.h"
#include "store_lmdb_txn.h"
#include "store_lmdb_writer.h"

#define SESSION_VALUE   8                /* bytes: the expiry in ms */
#define SESSION_SWEEP   8                /* entries of the whole database per enter */

/* One request's arguments and result. */
struct session_arg {
    unsigned char key[LMDB_KEY_SLOT];    /* the address's key, then the id */
    size_t  set_len;                     /* the address's key alone */
    size_t  key_len;                     /* with the id */
    int64_t ttl_ms;                      /* enter: how long it counts */
    int     count;                       /* enter: out */
};

/* session_now_ms - the wall clock in ms */
static int64_t
session_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* session_expired - 1 if value v is malformed or expired at now */
static int
session_expired(const MDB_val *v, int64_t now)
{
    return v->mv_size != SESSION_VALUE
        || lmdb_txn_get_le64(v->mv_data) <= now;
}

/*
 * session_sweep - look at SESSION_SWEEP entries from st->session_pos
 * (wrapping at the end), deleting the expired ones; 0 or an LMDB error
 */
static int
session_sweep(struct lmdb_store *st, MDB_txn *txn, int64_t now)
{
    MDB_cursor *cur;
    MDB_val k = {st->session_pos_len, st->session_pos}, v;
    int     rc, end = 0, op = st->session_pos_len > 0 ? MDB_SET_RANGE : MDB_FIRST;

    if ((rc = mdb_cursor_open(txn, st->sessions, &cur)) != 0)
        return rc;
    for (int i = 0; i < SESSION_SWEEP && !end; i++, op = MDB_NEXT) {
        if ((rc = mdb_cursor_get(cur, &k, &v, op)) == MDB_NOTFOUND)
            end = 1;
        else if (rc != 0 || (session_expired(&v, now) && (rc = mdb_cursor_del(cur, 0)) != 0))
            break;
    }
    if (rc == 0 || rc == MDB_NOTFOUND) {
        /* Resume at the key after the last one seen; at the end, start over. */
        if (!end && (rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) == 0
            && k.mv_size <= sizeof(st->session_pos)) {
            memcpy(st->session_pos, k.mv_data, k.mv_size);
            st->session_pos_len = k.mv_size;
        } else
            st->session_pos_len = 0;
        rc = rc == MDB_NOTFOUND ? 0 : rc;
    }
    mdb_cursor_close(cur);
    return rc;
}

/* session_enter_txn - write this session, then count the address's live ones */
static int
session_enter_txn(struct lmdb_store *st, MDB_txn *txn, struct lmdb_req *req)
{
    struct session_arg *a = req->admin_arg;
    int64_t now = session_now_ms(), expires = now + a->ttl_ms;
    unsigned char buf[SESSION_VALUE];
    MDB_val k = {a->key_len, a->key}, v = {sizeof(buf), buf};
    MDB_cursor *cur;
    int     rc, n = 0;

    for (int i = 0; i < SESSION_VALUE; i++)
        buf[i] = (unsigned char) ((uint64_t) expires >> (8 * i));
    if ((rc = mdb_put(txn, st->sessions, &k, &v, 0)) != 0)
        return lmdb_txn_fail(st, req, "session put", rc);
    if ((rc = mdb_cursor_open(txn, st->sessions, &cur)) != 0)
        return lmdb_txn_fail(st, req, "session cursor", rc);
    k.mv_size = a->set_len;
    k.mv_data = a->key;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size < a->set_len || memcmp(k.mv_data, a->key, a->set_len) != 0)
            break;
        if (!session_expired(&v, now))
            n++;
        else if ((rc = mdb_cursor_del(cur, 0)) != 0)
            break;
    }
    mdb_cursor_close(cur);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return lmdb_txn_fail(st, req, "session count", rc);
    if ((rc = session_sweep(st, txn, now)) != 0)
        return lmdb_txn_fail(st, req, "session sweep", rc);
    a->count = n;
    req->rc = 0;
    return 0;
}

/* session_leave_txn - delete this session's entry, if it is there */
static int
session_leave_txn(struct lmdb_store *st, MDB_txn *txn, struct lmdb_req *req)
{
    struct session_arg *a = req->admin_arg;
    MDB_val k = {a->key_len, a->key};
    int     rc = mdb_del(txn, st->sessions, &k, NULL);

    if (rc != 0 && rc != MDB_NOTFOUND)
        return lmdb_txn_fail(st, req, "session delete", rc);
    req->rc = 0;
    return 0;
}

/* session_submit - the address's key and id into a, then fn in the writer; 0 or -1 */
static int
session_submit(struct store *base, lmdb_admin_fn fn, struct session_arg *a, const char *key,
               size_t key_len, const char *id, char *err, size_t errlen)
{
    size_t  id_len = strlen(id);
    struct lmdb_req req;

    if (key_len + id_len > 511) {
        snprintf(err, errlen, "lmdb %s: session key too long",
                 ((struct lmdb_store *) base)->path);
        return -1;
    }
    memcpy(a->key, key, key_len);
    memcpy(a->key + key_len, id, id_len);
    a->set_len = key_len;
    a->key_len = key_len + id_len;
    memset(&req, 0, sizeof(req));
    req.op = LMDB_OP_ADMIN;
    req.admin = fn;
    req.admin_arg = a;
    req.err = err;
    req.errlen = errlen;
    return lmdb_writer_submit((struct lmdb_store *) base, &req);
}

/* store_lmdb_session_enter - store_ops.session_enter: a request to the writer */
int
store_lmdb_session_enter(struct store *st, const char *key, size_t key_len, const char *id,
                         int64_t ttl_ms, char *err, size_t errlen)
{
    struct session_arg a;

    memset(&a, 0, sizeof(a));
    a.ttl_ms = ttl_ms;
    if (session_submit(st, session_enter_txn, &a, key, key_len, id, err, errlen) < 0)
        return -1;
    return a.count;
}

/* store_lmdb_session_leave - store_ops.session_leave: a request to the writer */
int
store_lmdb_session_leave(struct store *st, const char *key, size_t key_len, const char *id,
                         char *err, size_t errlen)
{
    struct session_arg a;

    memset(&a, 0, sizeof(a));
    return session_submit(st, session_leave_txn, &a, key, key_len, id, err, errlen);
}

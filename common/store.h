/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * store.h - where greylisting state lives: one interface, several backends.
 *
 * A store applies policy_decide() to a triplet atomically, in one round
 * trip: it reads the grey and AWL records, decides, and writes back what
 * the verdict says, so that concurrent first sightings of one triplet --
 * from threads, processes or MTAs of a cluster -- create exactly one entry.
 *
 * Backends (chosen by the store URL):
 *   lmdb:/path/dir                            embedded, the default
 *   redis://[:password@]host[:port][/db]      shared by a cluster
 *   redis+unix:///path/redis.sock[?db=N]
 *   redis-sentinel://[[user]:pw@]sentinels/master[/db]  follows failovers
 *   redis-cluster://[[user]:pw@]host:port[,host:port...]  routed by slot
 *
 * Errors are returned, never logged here: the caller logs them once with
 * its context (queue id, client). A failed call takes at most the
 * configured store_timeout and leaves the store usable for the next call
 * (a broken connection is dropped and re-made). Changes of a store's
 * availability -- an outage begins, an outage ends -- are not tied to a
 * call: the store reports them through the caller's notify function
 * (store_set_notify), once per change.
 *
 * Besides triplets, a store keeps a few named blobs: small values (at most
 * STORE_BLOB_MAX bytes) written and read whole, such as the expanded
 * big-sender set, so that every node of a cluster and every restart sees
 * the same copy. The store numbers the versions of a blob and stamps each
 * write with its own clock, so that a reader can poll the version alone.
 * Every backend keeps blob NAME under the same key, PREFIX "blob:" NAME
 * (store_blob_key); no triplet key can be one, since those continue the
 * prefix with '{' (triplet.h).
 *
 * Thread-safety: store_decide() and the blob calls may be called from any
 * number of threads at once. store_open() and store_free() are for one
 * thread at startup and shutdown.
 */
#ifndef REDGREY_STORE_H
#define REDGREY_STORE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "grace.h"
#include "ipaddr.h"
#include "policy.h"
#include "triplet.h"

#define STORE_ERRLEN 256
#define STORE_BLOB_MAX (1024 * 1024)     /* bytes of one blob's data */
#define STORE_BLOB_NAME_MAX 32           /* [a-z0-9_-], 1..32 bytes */
#define STORE_BLOB_KEY_TAG "blob:"       /* between the prefix and a blob's name */
#define STORE_BLOB_KEY_MAX (TRIPLET_PREFIX_MAX + sizeof(STORE_BLOB_KEY_TAG) + STORE_BLOB_NAME_MAX)

struct store_config {
    const char *url;                     /* as in the config file */
    const char *key_prefix;              /* prepended to every key */
    struct policy_params params;         /* the decision's parameters */
    int     timeout_ms;                  /* bound on one call, waits included */
    int     pool;                        /* Redis connections */
    size_t  lmdb_mapsize;                /* LMDB map size in bytes */
    const char *sentinel_password;       /* redis-sentinel://: AUTH to the sentinels; NULL, "" = none */
};

struct store;

/* store_notify_fn - called with one line (naming the store) per change of availability */
typedef void (*store_notify_fn)(const char *line);

/* What a blob read finds. */
enum store_blob_result {
    STORE_BLOB_FOUND,                    /* the blob exists; meta (and data) filled */
    STORE_BLOB_ABSENT,                   /* no blob of that name */
    STORE_BLOB_ERROR,                    /* store failure or malformed blob; err says */
};

/* A blob's version and time, both set by the store at each write. */
struct store_blob_meta {
    uint64_t version;                    /* 1 for the first write, then +1 each */
    int64_t stamp;                       /* unix time of that write (store's clock) */
};

/* What the store holds for a triplet's grey entry (store_entry_get). */
enum store_grey_state {
    STORE_GREY_ABSENT,                   /* none, expired or malformed */
    STORE_GREY_PENDING,                  /* greylisted, waiting for its retry */
    STORE_GREY_PASSED,                   /* passed: its mail passes until it expires */
};

/*
 * A triplet's records, read without changing them. grey.first_seen is 0
 * when the backend does not keep it (Redis keeps no times of a passed
 * entry); grey.passed of a passed entry is then its last use (expires -
 * pass_ttl), so that policy_decide() reads it as passed all the same.
 */
struct store_entry {
    int64_t now;                         /* the store's clock at the read */
    enum store_grey_state state;
    struct grey_record grey;             /* PENDING, PASSED */
    int     has_awl;                     /* 1: the (client, sender domain) AWL record */
    struct awl_record awl;
};

/* What a walk over the store counted (store_count). */
struct store_counts {
    uint64_t pending;                    /* grey entries waiting for a retry */
    uint64_t passed;                     /* grey entries that passed */
    uint64_t awl;                        /* auto-whitelist entries */
    uint64_t other;                      /* expired, malformed or unknown under the prefix */
};

/*
 * One live entry a walk visits. grey.first_seen is 0 and grey.passed the
 * last use where the backend keeps no times of a passed entry (Redis).
 */
struct store_walk_item {
    const char *key;                     /* the store key (triplet.h), not NUL-terminated */
    size_t  key_len;
    int     is_awl;                      /* 1: an AWL entry (awl), else grey (state, grey) */
    enum store_grey_state state;         /* PENDING or PASSED */
    struct grey_record grey;
    struct awl_record awl;
};

/* store_walk_fn - called once per live entry of a walk, in the caller's thread */
typedef void (*store_walk_fn)(void *arg, const struct store_walk_item *it);

/*
 * A bounded walk over the store's entries under its prefix, one step at
 * a time (store_count_step): a Redis SCAN cursor or an LMDB key to resume
 * at, so that no step holds the store for long. Zero it to start; set
 * visit to see every live entry too.
 */
struct store_walk {
    char    pos[512];                    /* the backend's place; "" at the start */
    size_t  pos_len;
    int     done;                        /* 1: the walk is over */
    struct store_counts counts;          /* so far */
    int64_t now;                         /* the store's clock at the last step */
    store_walk_fn visit;                 /* NULL: count only */
    void   *visit_arg;
};

/*
 * What one decision knows beyond the triplet and the store's parameters
 * (facts of this client or recipient); zero means "as configured".
 */
struct store_decide_opts {
    int64_t delay;                       /* > 0: this delay (seconds) instead of the
                                          * configured one (delay_listed) */
    /* abuse: greytraps and outbound pairs */
    int     trap;                        /* 1: the recipient is a greytrap: trap the client key */
    int     outbound;                    /* 0: the store reads the outbound pair itself;
                                          * 1 / -1: known to be recorded / not (redis-cluster) */
};

/* The backend table; each backend's struct embeds struct store first. */
struct store_ops {
    const char *name;                    /* "redis", "lmdb" */
    int     (*decide)(struct store *st, const struct triplet *t,
                      const struct store_decide_opts *opts, struct policy_verdict *out,
                      char *err, size_t errlen);
    enum store_blob_result (*blob_get)(struct store *st, const char *name, char **data,
                                       size_t *len, struct store_blob_meta *meta,
                                       char *err, size_t errlen);
    int     (*blob_put)(struct store *st, const char *name, const void *data, size_t len,
                        struct store_blob_meta *meta, char *err, size_t errlen);
    void    (*free)(struct store *st);
    /* Admin (redgreyctl); NULL: the backend cannot. */
    int     (*entry_get)(struct store *st, const struct triplet *t, struct store_entry *out,
                         char *err, size_t errlen);
    int     (*entry_pass)(struct store *st, const struct triplet *t, char *err, size_t errlen);
    int     (*entry_delete)(struct store *st, const struct triplet *t, int *existed,
                            char *err, size_t errlen);
    int     (*count_step)(struct store *st, struct store_walk *w, char *err, size_t errlen);
    int     (*blob_delete)(struct store *st, const char *name, int *existed,
                           char *err, size_t errlen);
    /* store_outbound_put; NULL: the backend cannot */
    int     (*outbound_put)(struct store *st, const struct triplet *pair, char *err,
                            size_t errlen);
    /* Concurrent sessions (store_session.c); NULL: the backend cannot. */
    int     (*session_enter)(struct store *st, const char *key, size_t key_len, const char *id,
                             int64_t ttl_ms, char *err, size_t errlen);
    int     (*session_leave)(struct store *st, const char *key, size_t key_len, const char *id,
                             char *err, size_t errlen);
};

struct store {
    const struct store_ops *ops;         /* backend */
    struct policy_params params_slot[2]; /* the decision's parameters; store_params_get */
    atomic_uint params_idx;              /* the slot readers use */
    struct grace params_grace;           /* readers of a slot, for store_set_params */
    char    key_prefix[TRIPLET_PREFIX_MAX + 1]; /* copied at open */
    _Atomic(store_notify_fn) notify;     /* store_set_notify; NULL: none */
};

/*
 * store_open - open the backend the URL names. Returns a store the caller
 * owns (store_free), or NULL with a reason naming the URL in err. LMDB:
 * verifies that the directory is an environment we can write, so that
 * startup fails early and clearly. Redis: fails only for what a restart
 * cannot fix (the URL, the limits); a server that cannot be reached or
 * used right now gives a store all the same, whose calls fail at once
 * until the server serves, with the reason in err as a warning. err is
 * "" when the store is ready.
 */
struct store *store_open(const struct store_config *conf, char *err, size_t errlen);

/*
 * store_set_notify - report availability changes to fn (NULL: to
 * nobody). fn may be called from any thread that uses the store, and from
 * the store's own probing thread; it must not call the store.
 */
void    store_set_notify(struct store *st, store_notify_fn fn);

/*
 * store_check_reach - for redgrey -t: can the store the URL names be used
 * now? LMDB: 0 without touching anything. Redis: one connection, login
 * and probe within conf->timeout_ms; 0, or -1 with the reason in err.
 */
int     store_check_reach(const struct store_config *conf, char *err, size_t errlen);

/*
 * store_url_check - check the URL's syntax without opening anything (for
 * redgrey -t): a known scheme, an absolute LMDB directory, a Redis URL
 * the backend parses. Returns 0, or -1 with a reason naming the URL (its
 * password masked) in err.
 */
int     store_url_check(const char *url, char *err, size_t errlen);

/* store_url_redact - url into out with any password replaced by "***" */
void    store_url_redact(const char *url, char *out, size_t outlen);

/*
 * store_decide - decide on t atomically. Returns 0 with *out filled, or -1
 * with a reason in err (timeout, connection lost, map full ...); on -1 the
 * caller applies on_store_error. Never takes longer than the timeout,
 * waiting for a connection or for the writer included.
 */
int     store_decide(struct store *st, const struct triplet *t,
                     struct policy_verdict *out, char *err, size_t errlen);

/*
 * store_decide_with - store_decide() with this call's own inputs; opts
 * NULL or all zero is store_decide(). Still one round trip.
 */
int     store_decide_with(struct store *st, const struct triplet *t,
                          const struct store_decide_opts *opts, struct policy_verdict *out,
                          char *err, size_t errlen);

/*
 * store_blob_get - read blob name into *meta (required). With data NULL,
 * only the meta is read (one small round trip: the way to poll for a new
 * version). Otherwise *data receives a new NUL-terminated copy of the
 * blob that the caller frees, and *len its length without the NUL; data
 * and meta come from one atomic read. Returns FOUND, ABSENT (*data NULL),
 * or ERROR with a reason in err (bad name, store failure, malformed blob).
 */
enum store_blob_result store_blob_get(struct store *st, const char *name, char **data,
                                      size_t *len, struct store_blob_meta *meta,
                                      char *err, size_t errlen);

/*
 * store_blob_put - replace blob name with data[0..len) (len <=
 * STORE_BLOB_MAX; data is copied) in one atomic write, as the next
 * version. *meta (may be NULL) receives that version and its stamp.
 * Returns 0, or -1 with a reason in err; on -1 the old blob is intact.
 */
int     store_blob_put(struct store *st, const char *name, const void *data, size_t len,
                       struct store_blob_meta *meta, char *err, size_t errlen);

/* store_blob_name_ok - 1 if name is a valid blob name ([a-z0-9_-]{1,32}), else 0 */
int     store_blob_name_ok(const char *name);

/*
 * store_blob_key - the store key of blob name under prefix, PREFIX
 * "blob:" NAME, into buf (STORE_BLOB_KEY_MAX bytes are enough for a
 * prefix of at most TRIPLET_PREFIX_MAX bytes and a valid name). Returns
 * its length without the NUL, or 0 if it does not fit in len.
 */
size_t  store_blob_key(const char *prefix, const char *name, char *buf, size_t len);

/*
 * store_params_check - 0 if p is a set of parameters every backend
 * accepts (delay >= 0; retry_window, pass_ttl >= 1 s; awl_threshold
 * 0..65535 and awl_ttl >= 1 s when it is on), else -1 with err
 */
int     store_params_check(const struct policy_params *p, char *err, size_t errlen);

/*
 * store_set_params - the parameters later decisions use (live reload):
 * published with one atomic store, no lock on the decision's path; a
 * decision in flight finishes with the ones it read. Returns 0, or -1
 * with err (store_params_check) and the old ones kept. Any thread;
 * concurrent calls are serialised.
 */
int     store_set_params(struct store *st, const struct policy_params *p,
                         char *err, size_t errlen);

/* store_params_get - for backends: a copy of the current parameters into *out, lock-free */
void    store_params_get(struct store *st, struct policy_params *out);

/* store_params_init - for backends, at open: the first parameters, p */
void    store_params_init(struct store *st, const struct policy_params *p);

/*
 * Admin calls, for redgreyctl: slower than decisions, never on the
 * daemon's path. Each returns 0, or -1 with a reason in err (also when
 * the backend cannot do it).
 */

/* store_entry_get - t's grey and AWL records into *out, changing nothing */
int     store_entry_get(struct store *st, const struct triplet *t, struct store_entry *out,
                        char *err, size_t errlen);

/* store_entry_pass - store t as passed now (lives pass_ttl): its next attempt passes */
int     store_entry_pass(struct store *st, const struct triplet *t, char *err, size_t errlen);

/* store_entry_delete - forget t's grey entry (not the AWL); *existed 1 if there was one */
int     store_entry_delete(struct store *st, const struct triplet *t, int *existed,
                           char *err, size_t errlen);

/*
 * store_count_step - one bounded step of the walk w (a few thousand
 * entries at most), adding to w->counts; w->done once the walk is over
 */
int     store_count_step(struct store *st, struct store_walk *w, char *err, size_t errlen);

/* store_blob_delete - remove blob name; *existed 1 if it was there */
int     store_blob_delete(struct store *st, const char *name, int *existed,
                          char *err, size_t errlen);

/*
 * store_outbound_put - record that a local user (pair->rcpt) wrote to
 * pair->sender, for outbound_ttl (one write, renewing it): decisions on
 * that sender's mail to that user then pass (reason outbound). The
 * client key of pair is not used. 0, or -1 with err; 0 without a write
 * when outbound_ttl is 0.
 */
int     store_outbound_put(struct store *st, const struct triplet *pair, char *err,
                           size_t errlen);

/*
 * Concurrent sessions per client IP (store_session.c): the live SMTP
 * sessions of one address, counted in the store so that every node of a
 * cluster sees them all. Each session is one member of its address's set,
 * PREFIX "{" TAG "}s" (store_session_key), that lives ttl from its
 * enter by the store's clock: a crashed MTA or daemon never leaves a
 * count behind for longer. Both calls are one round trip and as
 * thread-safe as store_decide().
 */
#define STORE_SESSION_ID_MAX 64          /* bytes of a session id, [!-~] */
#define STORE_SESSION_KEY_MAX (TRIPLET_PREFIX_MAX + 32)

/*
 * store_session_enter - count session id (unique across the cluster) of
 * client ip as live for ttl seconds (>= 1) from now, dropping the
 * address's expired sessions. Returns the live sessions of ip, this one
 * included (entering again renews it), or -1 with err.
 */
int     store_session_enter(struct store *st, const struct ipaddr *ip, const char *id,
                            int64_t ttl, char *err, size_t errlen);

/* store_session_leave - forget session id of ip: 0 (also if it was gone), or -1 with err */
int     store_session_leave(struct store *st, const struct ipaddr *ip, const char *id,
                            char *err, size_t errlen);

/*
 * store_session_key - the key of ip's sessions under prefix into buf
 * (STORE_SESSION_KEY_MAX bytes are enough): PREFIX "{" TAG "}s", TAG the
 * compact form of the host block (triplet_client_tag of IP/32 or IP/128),
 * which is its Redis Cluster hash tag. Its length, or 0 if it does not fit.
 */
size_t  store_session_key(const char *prefix, const struct ipaddr *ip, char *buf, size_t len);

/* store_free - close connections and release; NULL is a no-op */
void    store_free(struct store *st);

/* Backends, for store.c only. */
struct store *store_redis_open(const struct store_config *conf, char *err, size_t errlen);

/* store_notify - for backends: format one line and pass it to the notify function, if any */
void    store_notify(struct store *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
struct store *store_lmdb_open(const struct store_config *conf, char *err, size_t errlen);

#endif

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * reload.c - the configuration snapshot the sessions pin, and the
 * reload that replaces it.
 *
 * The current snapshot is one atomic pointer holding a reference of its
 * own. reload_get() brackets the load and the reference increment with a
 * grace period; reload_now() builds a complete new snapshot, swaps the
 * pointer, waits out the brackets in flight (a few instructions each) and
 * drops the old snapshot's reference; the last session that pinned it
 * frees it. So the hot path (once per connection) never waits and never
 * takes a lock.
 *
 * The startup configuration is kept to the end (reload_fini): the store,
 * the SPF checker and the refresh thread were built from it and borrow
 * it, and it is the reference for the keys that need a restart.
 */
#include "config.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "cfg_store.h"
#include "dnsbl_shared.h"
#include "grace.h"
#include "lists.h"
#include "log.h"
#include "metrics.h"
#include "reload.h"
#include "runenv.h"
#include "spf_shared.h"
#include "store.h"
#include "xalloc.h"

/* A snapshot with its count of references. */
struct reload_ref {
    struct reload_snap snap;             /* first: the public view */
    atomic_long refs;                    /* pins, plus one while current */
    struct cfg *owned;                   /* freed with the snapshot; NULL for the startup one */
};

static _Atomic(struct reload_ref *) reload_cur; /* current snapshot */
static struct grace reload_grace;       /* reload_get brackets in flight */
static struct cfg *reload_start_cfg;     /* the startup configuration */
static atomic_ulong reload_failed;       /* failed reloads */
static struct store *reload_store;       /* gets the new delay parameters; NULL: none */

/* reload_ref_new - a snapshot of c with one reference (the current one's) */
static struct reload_ref *
reload_ref_new(const struct cfg *c, struct cfg *owned)
{
    struct reload_ref *r = xcalloc(1, sizeof(*r));

    r->snap.cfg = c;
    decision_config_init(&r->snap.decision, c);
    atomic_init(&r->refs, 1);
    r->owned = owned;
    return r;
}

/* reload_unref - drop one reference; the last one frees */
static void
reload_unref(struct reload_ref *r)
{
    if (r == NULL || atomic_fetch_sub(&r->refs, 1) != 1)
        return;
    cfg_free(r->owned);
    free(r);
}

/* reload_install - make r current; the old one loses the reference it had as current */
static void
reload_install(struct reload_ref *r)
{
    struct reload_ref *old = atomic_exchange(&reload_cur, r);

    if (old != NULL)
        grace_wait(&reload_grace);
    reload_unref(old);
}

/* reload_init - the startup configuration becomes the first snapshot */
void
reload_init(struct cfg *c)
{
    reload_start_cfg = c;
    reload_install(reload_ref_new(c, NULL));
}

/* reload_set_store - the store whose parameters reload_now sets */
void
reload_set_store(struct store *st)
{
    reload_store = st;
}

/* reload_get - load and pin inside one grace bracket */
const struct reload_snap *
reload_get(void)
{
    unsigned e = grace_enter(&reload_grace);
    struct reload_ref *r = atomic_load(&reload_cur);

    if (r != NULL)
        atomic_fetch_add(&r->refs, 1);
    grace_leave(&reload_grace, e);
    return r != NULL ? &r->snap : NULL;
}

/* reload_put - unpin */
void
reload_put(const struct reload_snap *s)
{
    /* snap is the first member: the snapshot is the reload_ref itself. */
    reload_unref((struct reload_ref *) (uintptr_t) s);
}

/* reload_str_differs - 1 if two optional strings differ ("" and NULL alike) */
static int
reload_str_differs(const char *a, const char *b)
{
    return strcmp(a != NULL ? a : "", b != NULL ? b : "") != 0;
}

/*
 * reload_restart_keys - log every key that differs between the running
 * (startup) configuration and n but only takes effect at a restart
 */
static void
reload_restart_keys(const struct cfg *o, const struct cfg *n)
{
#define RELOAD_KEY(k, differs) \
    if (differs) log_warn("reload: %s changed: needs a restart", k)
#define RELOAD_STR(k) RELOAD_KEY(#k, reload_str_differs(o->k, n->k))
#define RELOAD_NUM(k) RELOAD_KEY(#k, o->k != n->k)
    RELOAD_STR(socket);
    RELOAD_STR(user);
    RELOAD_STR(group);
    RELOAD_STR(pidfile);
    RELOAD_STR(store);
    RELOAD_STR(key_prefix);
    RELOAD_KEY("store_timeout", o->store_timeout_ms != n->store_timeout_ms);
    RELOAD_NUM(store_pool);
    RELOAD_NUM(lmdb_mapsize);
    RELOAD_STR(spf_domains);
    RELOAD_NUM(spf_refresh);
    RELOAD_NUM(log_level);
    RELOAD_NUM(log_facility);
    RELOAD_STR(log_target);
    RELOAD_STR(socket_group);
    RELOAD_STR(metrics_listen);
#undef RELOAD_STR
#undef RELOAD_KEY
#undef RELOAD_NUM
}

/* reload_fail - count a failed reload and say that the running configuration stays */
static int
reload_fail(const char *why, const char *err)
{
    unsigned long n = atomic_fetch_add(&reload_failed, 1) + 1;

    metrics_reload(0);
    log_err("%s: configuration not reloaded (%lu failed reloads), keeping the running "
            "configuration%s%s", why, n, err != NULL ? ": " : "", err != NULL ? err : "");
    return -1;
}

/* reload_now - read the file again; swap in a snapshot of it, or keep the old one */
int
reload_now(const char *why)
{
    char    err[CFG_ERRLEN + 64];
    struct store_config sc;
    struct cfg *n;

    if (reload_start_cfg == NULL)
        return -1;
    /* logrotate moved the file: the new one gets this reload's lines, good or bad. */
    if (log_reopen(err, sizeof(err)) < 0)
        log_err("%s: %s", why, err);
    if ((n = cfg_load(reload_start_cfg->path, err, sizeof(err))) == NULL)
        return reload_fail(why, err);
    if (runenv_default_lists(n, err, sizeof(err)))
        log_warn("%s: %s", why, err);
    if (runenv_default_patterns(n, err, sizeof(err)))
        log_warn("%s: %s", why, err);
    /* lists_reconfigure logs a bad list itself, with its file:line. */
    if (lists_reconfigure(n, why, err, sizeof(err)) != 0) {
        cfg_free(n);
        return reload_fail(why, NULL);
    }
    reload_restart_keys(reload_start_cfg, n);
    /*
     * Check what can fail before changing anything: the store's new
     * parameters, then the SPF checker (built and swapped in only if one
     * of its settings changed); the parameters are set last, and their
     * setting cannot fail once checked.
     */
    cfg_store_config(n, &sc);
    if (reload_store != NULL && store_params_check(&sc.params, err, sizeof(err)) != 0) {
        cfg_free(n);
        return reload_fail(why, err);
    }
    if (spf_shared_reconfigure(n, err, sizeof(err)) != 0) {
        cfg_free(n);
        return reload_fail(why, err);
    }
    /* The DNS lists and the dynamic-name patterns. */
    if (dnsbl_shared_reconfigure(n, err, sizeof(err)) != 0) {
        cfg_free(n);
        return reload_fail(why, err);
    }
    /* The delay parameters and mode apply to the next decision. */
    if (reload_store != NULL && store_set_params(reload_store, &sc.params, err, sizeof(err)) != 0) {
        cfg_free(n);
        return reload_fail(why, err);
    }
    reload_install(reload_ref_new(n, n));
    log_info("%s: configuration reloaded from %s", why, n->path);
    metrics_reload(1);
    return 0;
}

/* reload_failures - the counter */
unsigned long
reload_failures(void)
{
    return atomic_load(&reload_failed);
}

/* reload_fini - drop the current snapshot, then the startup configuration */
void
reload_fini(void)
{
    reload_install(NULL);
    cfg_free(reload_start_cfg);
    reload_start_cfg = NULL;
}

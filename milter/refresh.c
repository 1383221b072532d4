/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * refresh.c - the big-sender set's life outside the hot path: expansion
 * into the store, and a background thread that keeps memory in step with
 * the store.
 *
 * The store is the one source of truth. A node never installs a set it
 * did not read from, or write to, the store, so every node of a cluster
 * converges on the same version: each polls the blob's meta (one small
 * read) and loads it whole only when it changed. "Changed" means the
 * version or the stamp differs: after a FLUSHDB or a new store the
 * versions start again at 1, and a node still holding an old version 1
 * must not take the new version 1 for it. (A wipe and a rewrite within the
 * same second of the store's clock, at the same version, is not seen.) Expansion is rare (every
 * spf_refresh, default 24 h) and any node may do it: a node expands when
 * the stored set is older than spf_refresh plus a random delay of its own
 * (up to a tenth of spf_refresh, at most an hour), so that the nodes of a
 * cluster do not all query DNS at once, and the first one to store wins
 * the round (the others see a fresh stamp at their next poll).
 *
 * A failed or partial expansion keeps the stored set (spf_expand_decide)
 * and is retried after min(spf_refresh, REFRESH_RETRY_MAX), jittered.
 *
 * The domains are walked one by one (spf_expand_walk, which is what
 * spf_expand_run does too), so that refresh_stop() is honoured between
 * two domains: a shutdown waits for at most one domain's DNS budget.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bigsender.h"
#include "clock.h"
#include "log.h"
#include "metrics.h"
#include "refresh.h"
#include "spf_resolver.h"
#include "xalloc.h"

#define REFRESH_JITTER_MAX  3600         /* seconds: cap of the expansion jitter */

/* The refresh thread's state; the fields below `mu` are the thread's own. */
static struct {
    const struct cfg *cfg;               /* borrowed, outlives the thread */
    struct store *st;                    /* borrowed, outlives the thread */
    pthread_t tid;                       /* the thread */
    int     started;                     /* 1 while the thread runs */
    pthread_mutex_t mu;                  /* guards the sleep and stop's wake-up */
    pthread_cond_t cond;                 /* signalled by refresh_stop */
    atomic_int stop;                     /* 1: finish now */
    int     done;                        /* 1: the thread has finished (under mu) */
    struct store_blob_meta installed;    /* version and stamp in memory; version 0: none */
    unsigned seed;                       /* rand_r state for jitter */
    long    poll_ms;                     /* poll interval before jitter */
    int64_t jitter;                      /* this node's extra expansion delay, s */
    int64_t retry_at;                    /* wall time before which no expansion; 0 */
} rf = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* rf_random - a number in [0, n) from the thread's seed (n > 0) */
static long
rf_random(long n)
{
    return (long) (((double) rand_r(&rf.seed) / ((double) RAND_MAX + 1)) * (double) n);
}

/* ------------------------------------------------------------ expansion */

/* refresh_read_old - the stored set's meta and size into out; 0 or -1 with err */
static int
refresh_read_old(struct store *st, struct refresh_outcome *out, char *err, size_t errlen)
{
    struct netset *old = NULL;
    char    why[STORE_ERRLEN] = "";
    char   *data = NULL;
    size_t  len = 0;

    switch (store_blob_get(st, BIGSENDER_BLOB, &data, &len, &out->old, why, sizeof(why))) {
    case STORE_BLOB_ABSENT:
        return 0;
    case STORE_BLOB_ERROR:
        snprintf(err, errlen, "reading the stored set: %s", why);
        return -1;
    case STORE_BLOB_FOUND:
        break;
    }

    /* A damaged set is no set to keep: anything that parses beats it. */
    if (bigsender_parse(data, len, &old, NULL, why, sizeof(why)) < 0)
        log_warn("bigsenders: the stored set (version %" PRIu64 ") is damaged: %s",
                 out->old.version, why);
    else {
        out->have_old = 1;
        out->old_ranges = netset_count(old);
    }
    netset_free(old);
    free(data);
    return 0;
}

/* refresh_check - the domain list loads, or there is none */
int
refresh_check(const struct cfg *cfg, char *err, size_t errlen)
{
    struct spf_expand_list list;

    if (cfg->spf_domains == NULL || cfg->spf_domains[0] == '\0')
        return 0;
    if (spf_expand_list_load(cfg->spf_domains, &list, err, errlen) < 0)
        return -1;
    spf_expand_list_fini(&list);
    return 0;
}

/*
 * refresh_walk - expand every listed domain through dns into out->result,
 * as spf_expand_run() would, stopping early when refresh_stop() asks
 */
static void
refresh_walk(SPF_dns_server_t *dns, const struct spf_expand_list *list,
             struct refresh_outcome *out)
{
    struct spf_expand_opts opts;
    unsigned failures = 0;

    memset(&opts, 0, sizeof(opts));
    out->result.set = netset_new();
    for (size_t i = 0; i < list->count; i++) {
        if (atomic_load(&rf.stop)) {
            out->stopped = 1;
            break;
        }
        failures += spf_expand_walk(dns, &opts, list->domains[i], out->result.set,
                                    &out->result.report);
    }
    netset_finish(out->result.set);
    if (out->result.report.blocks == 0 || netset_count(out->result.set) == 0) {
        netset_free(out->result.set);
        out->result.set = NULL;
        out->result.status = SPF_EXPAND_FAILED;
    } else {
        out->result.status = failures || out->stopped ? SPF_EXPAND_PARTIAL : SPF_EXPAND_COMPLETE;
    }
}

/* refresh_expand - expand, decide against the stored set, store */
int
refresh_expand(const struct cfg *cfg, struct store *st, struct refresh_outcome *out,
               char *err, size_t errlen)
{
    struct spf_resolver_opts ro;
    struct spf_expand_list list = {NULL, 0};
    SPF_dns_server_t *dns, *guard;
    char    why[CFG_ERRLEN] = "";
    char   *text;
    size_t  len;
    int     rc;

    memset(out, 0, sizeof(*out));
    out->result.status = SPF_EXPAND_FAILED;
    out->decision = SPF_EXPAND_KEEP;
    if (cfg->spf_domains == NULL || cfg->spf_domains[0] == 0) {
        snprintf(err, errlen, "spf_domains is not set: no list of domains to expand");
        return -1;
    }
    if (spf_expand_list_load(cfg->spf_domains, &list, why, sizeof(why)) < 0) {
        snprintf(err, errlen, "spf_domains: %s", why);
        return -1;
    }
    out->ndomains = list.count;
    memset(&ro, 0, sizeof(ro));
    ro.timeout_ms = cfg->dns_timeout_ms;
    ro.servers = cfg->dns_servers;
    if ((dns = spf_resolver_new(&ro, why, sizeof(why))) == NULL) {
        snprintf(err, errlen, "dns_servers: %s", why);
        spf_expand_list_fini(&list);
        return -1;
    }
    if ((guard = spf_resolver_guard_new(dns)) == NULL) {
        snprintf(err, errlen, "out of memory for the DNS layer");
        SPF_dns_free(dns);
        spf_expand_list_fini(&list);
        return -1;
    }
    refresh_walk(guard, &list, out);
    SPF_dns_free(guard);                 /* frees dns, the layer below, too */
    spf_expand_list_fini(&list);

    /* Decide against what the store holds now, not what it held before DNS. */
    if (refresh_read_old(st, out, err, errlen) < 0)
        return -1;
    out->ranges = netset_count(out->result.set);
    if (out->stopped)
        return 0;
    out->decision = spf_expand_decide(out->result.status, out->ranges, out->have_old);
    if (out->decision != SPF_EXPAND_REPLACE)
        return 0;

    text = bigsender_format(out->result.set, (int64_t) time(NULL),
                            out->result.status == SPF_EXPAND_PARTIAL, &len);
    rc = store_blob_put(st, BIGSENDER_BLOB, text, len, &out->meta, why, sizeof(why));
    free(text);
    if (rc < 0) {
        snprintf(err, errlen, "storing the new set: %s", why);
        return -1;
    }
    out->stored = 1;
    out->set = out->result.set;
    out->result.set = NULL;
    return 0;
}

/* refresh_outcome_fini - free the sets out holds */
void
refresh_outcome_fini(struct refresh_outcome *out)
{
    if (out == NULL)
        return;
    spf_expand_result_fini(&out->result);
    netset_free(out->set);
    out->set = NULL;
}

/* refresh_log_outcome - the daemon's log lines for one expansion */
static void
refresh_log_outcome(const struct refresh_outcome *out)
{
    const struct spf_expand_report *r = &out->result.report;

    log_info("bigsenders: expansion %s: %zu domains (%u without ranges), %u records,"
             " %u DNS lookups, %zu ranges; %u skipped, %u malformed, %u too broad,"
             " %u loops, %u capped, %u DNS failures, %u without a record",
             spf_expand_status_name(out->result.status), out->ndomains, r->domains_empty,
             r->records, r->lookups, out->ranges, r->skipped, r->malformed, r->too_broad,
             r->loops, r->capped, r->dns_failures, r->no_record);
    for (unsigned i = 0; i < r->nnotes; i++)
        log_msg(r->notes[i].kind == SPF_EXPAND_NOTE_DNS || r->notes[i].kind == SPF_EXPAND_NOTE_CAP
                ? LOG_WARNING : LOG_INFO, "bigsenders: %s: %s",
                spf_expand_note_kind_name(r->notes[i].kind), r->notes[i].text);
    if (r->notes_dropped > 0)
        log_info("bigsenders: %u more notes not kept", r->notes_dropped);
    if (out->stored)
        log_info("bigsenders: stored version %" PRIu64 " (%zu ranges)", out->meta.version,
                 out->ranges);
    else if (out->stopped)
        log_info("bigsenders: expansion stopped by shutdown; nothing stored");
    else if (out->have_old)
        log_warn("bigsenders: expansion %s: keeping the stored set (version %" PRIu64
                 ", %zu ranges)", spf_expand_status_name(out->result.status), out->old.version,
                 out->old_ranges);
    else
        log_warn("bigsenders: expansion %s: no ranges, and no set stored",
                 spf_expand_status_name(out->result.status));
}

/* ---------------------------------------------------------------- thread */

/* refresh_same - 1 if a and b name the same write of the blob (version and stamp) */
static int
refresh_same(const struct store_blob_meta *a, const struct store_blob_meta *b)
{
    return a->version == b->version && a->stamp == b->stamp;
}

/*
 * refresh_load - poll the stored meta; load, parse and install the set if
 * it is not the one in memory (newer, or another store's after a wipe:
 * the same version with another stamp).
 * *meta receives the stored meta; returns what the poll found.
 */
static enum store_blob_result
refresh_load(struct store_blob_meta *meta)
{
    struct netset *set = NULL;
    char    err[STORE_ERRLEN] = "";
    char   *data = NULL;
    size_t  len = 0;
    enum store_blob_result r;

    /* spf_domains = "": no big-sender set, not even a stored one. */
    if (rf.cfg->spf_domains == NULL || rf.cfg->spf_domains[0] == 0) {
        memset(meta, 0, sizeof(*meta));
        return STORE_BLOB_ABSENT;
    }
    r = store_blob_get(rf.st, BIGSENDER_BLOB, NULL, NULL, meta, err, sizeof(err));
    if (r == STORE_BLOB_ERROR)
        log_warn("bigsenders: polling the store: %s", err);
    if (r != STORE_BLOB_FOUND || refresh_same(meta, &rf.installed))
        return r;

    r = store_blob_get(rf.st, BIGSENDER_BLOB, &data, &len, meta, err, sizeof(err));
    if (r == STORE_BLOB_ERROR)
        log_warn("bigsenders: reading the stored set: %s", err);
    if (r != STORE_BLOB_FOUND)
        return r;
    if (bigsender_parse(data, len, &set, NULL, err, sizeof(err)) < 0) {
        log_warn("bigsenders: stored set version %" PRIu64 " is damaged (%s); keeping %s",
                 meta->version, err, rf.installed.version ? "the set in memory" : "none");
        rf.installed = *meta;            /* do not re-read it every poll */
    } else {
        bigsender_install(set);
        metrics_bigsender_stamp(meta->stamp);
        rf.installed = *meta;
        log_info("bigsenders: loaded %zu ranges version %" PRIu64 " (stamp %" PRId64 ")",
                 bigsender_count(), meta->version, meta->stamp);
    }
    free(data);
    return r;
}

/* refresh_jitter - a new random extra delay before this node's next expansion */
static void
refresh_jitter(void)
{
    int64_t cap = rf.cfg->spf_refresh / 10;

    if (cap > REFRESH_JITTER_MAX)
        cap = REFRESH_JITTER_MAX;
    rf.jitter = cap > 0 ? rf_random((long) cap) : 0;
}

/*
 * refresh_maybe_expand - expand if the stored set (found: its meta) is
 * older than spf_refresh plus this node's jitter, or absent; install what
 * was stored; back off after a failure
 */
static void
refresh_maybe_expand(enum store_blob_result found, const struct store_blob_meta *meta)
{
    struct refresh_outcome out;
    char    err[CFG_ERRLEN] = "";
    int64_t now = (int64_t) time(NULL), backoff;

    if (rf.cfg->spf_domains == NULL || rf.cfg->spf_domains[0] == 0
        || found == STORE_BLOB_ERROR || now < rf.retry_at)
        return;
    if (found == STORE_BLOB_FOUND && now - meta->stamp < rf.cfg->spf_refresh + rf.jitter)
        return;

    log_info("bigsenders: expanding the SPF records of %s", rf.cfg->spf_domains);
    if (refresh_expand(rf.cfg, rf.st, &out, err, sizeof(err)) < 0) {
        log_warn("bigsenders: expansion: %s", err);
    } else {
        refresh_log_outcome(&out);
        if (out.stored) {
            bigsender_install(out.set);
            metrics_bigsender_stamp(out.meta.stamp);
            out.set = NULL;
            rf.installed = out.meta;
            log_info("bigsenders: loaded %zu ranges version %" PRIu64 " (stamp %" PRId64 ")",
                     out.ranges, out.meta.version, out.meta.stamp);
        }
    }
    if (!out.stored) {
        backoff = rf.cfg->spf_refresh < REFRESH_RETRY_MAX ? rf.cfg->spf_refresh
            : REFRESH_RETRY_MAX;
        rf.retry_at = now + backoff + rf_random((long) backoff / 10 + 1);
    }
    refresh_jitter();
    refresh_outcome_fini(&out);
}

/* refresh_sleep - wait ms or until refresh_stop(); 1 if stopping */
static int
refresh_sleep(long ms)
{
    struct timespec ts = clock_ts_after_ms(ms);

    pthread_mutex_lock(&rf.mu);
    while (!atomic_load(&rf.stop))
        if (pthread_cond_timedwait(&rf.cond, &rf.mu, &ts) == ETIMEDOUT)
            break;
    pthread_mutex_unlock(&rf.mu);
    return atomic_load(&rf.stop);
}

/* refresh_main - the thread: poll, maybe expand, sleep a jittered interval */
static void *
refresh_main(void *arg)
{
    struct store_blob_meta meta;
    enum store_blob_result found;

    (void) arg;
    do {
        found = refresh_load(&meta);
        refresh_maybe_expand(found, &meta);
    } while (!refresh_sleep(rf.poll_ms - rf.poll_ms / 10 + rf_random(rf.poll_ms / 5 + 1)));
    pthread_mutex_lock(&rf.mu);
    rf.done = 1;
    pthread_cond_broadcast(&rf.cond);   /* refresh_stop_within may be waiting */
    pthread_mutex_unlock(&rf.mu);
    return NULL;
}

/* refresh_poll_ms - REFRESH_POLL_MS, or the test knob REDGREY_REFRESH_POLL_MS */
static long
refresh_poll_ms(void)
{
    const char *knob = getenv("REDGREY_REFRESH_POLL_MS");
    char   *end;
    long    v;

    if (knob == NULL || *knob == 0)
        return REFRESH_POLL_MS;
    errno = 0;
    v = strtol(knob, &end, 10);
    if (errno != 0 || *end != 0 || v < 10 || v > 3600000) {
        log_warn("REDGREY_REFRESH_POLL_MS=%.20s: want 10..3600000; using %d", knob,
                 REFRESH_POLL_MS);
        return REFRESH_POLL_MS;
    }
    return v;
}

/* refresh_start - first load now, then the thread */
int
refresh_start(const struct cfg *cfg, struct store *st, char *err, size_t errlen)
{
    struct store_blob_meta meta;
    sigset_t all, old;
    int     rc;

    if (rf.started) {
        snprintf(err, errlen, "refresh: already started");
        return -1;
    }
    rf.cfg = cfg;
    rf.st = st;
    memset(&rf.installed, 0, sizeof(rf.installed));
    rf.retry_at = 0;
    rf.seed = (unsigned) getpid() ^ (unsigned) time(NULL);
    rf.poll_ms = refresh_poll_ms();
    atomic_store(&rf.stop, 0);
    rf.done = 0;
    refresh_jitter();

    /* Before serving: the stored set, so that a restart does not wait for DNS. */
    if (cfg->spf_domains == NULL || cfg->spf_domains[0] == 0)
        log_info("bigsenders: spf_domains is not set: no big-sender set (a stored one is"
                 " not used)");
    else if (refresh_load(&meta) == STORE_BLOB_ABSENT)
        log_info("bigsenders: no set in the store; expanding spf_domains in the background");

    clock_cond_init(&rf.cond);

    /* Every signal blocked, so that the daemon's signal handling never lands here. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(&rf.tid, NULL, refresh_main, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        pthread_cond_destroy(&rf.cond);
        snprintf(err, errlen, "refresh: cannot start the thread: %s", strerror(rc));
        return -1;
    }
    rf.started = 1;
    return 0;
}

/* refresh_stop - wake, join, drop the set */
void
refresh_stop(void)
{
    if (!rf.started)
        return;
    pthread_mutex_lock(&rf.mu);
    atomic_store(&rf.stop, 1);
    pthread_cond_broadcast(&rf.cond);
    pthread_mutex_unlock(&rf.mu);
    pthread_join(rf.tid, NULL);
    pthread_cond_destroy(&rf.cond);
    rf.started = 0;
    bigsender_reset();
}

/* refresh_stop_within - ask the thread to stop; refresh_stop once it has, or -1 after ms */
int
refresh_stop_within(long ms)
{
    struct timespec ts = clock_ts_after_ms(ms);
    int     done;

    if (!rf.started)
        return 0;
    pthread_mutex_lock(&rf.mu);
    atomic_store(&rf.stop, 1);
    pthread_cond_broadcast(&rf.cond);
    while (!rf.done)
        if (pthread_cond_timedwait(&rf.cond, &rf.mu, &ts) == ETIMEDOUT)
            break;
    done = rf.done;
    pthread_mutex_unlock(&rf.mu);
    if (!done)
        return -1;
    refresh_stop();
    return 0;
}

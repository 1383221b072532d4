/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * lists.c - the static whitelists the callbacks share, and the thread
 * that keeps them current.
 *
 * The current whitelists are one atomic pointer, and readers take no
 * lock: a reader (once per connection and per message) loads it and takes
 * a reference. The reload thread builds a complete new object, swaps the
 * pointer, and drops the list's reference to the old one, which the last
 * reader then frees. So a lookup never waits, not for a reload nor for
 * another reader, and a reload never publishes half a list.
 *
 * The one hard part is a reader that has loaded the old pointer but not
 * yet taken its reference when the reload drops the list's: the object
 * could be freed in between. So the reload waits, before it drops that
 * reference, until every reader that may have loaded the old pointer is
 * done: a grace period (common/grace.h) whose reader bracket is the load
 * and the wlist_ref(). The wait lasts as long as the longest
 * load-and-ref in flight: a few instructions.
 *
 * The reload thread sleeps on a condition variable: a timeout means
 * "reload if a file changed". A forced reload (SIGHUP or SIGUSR1, through
 * milter/reload.c) calls lists_reconfigure() from the daemon's main
 * thread, with the file names of the new configuration. One mutex
 * (lists_lock) serialises the two and guards the file names; readers
 * never take it.
 *
 * A bad file at reload is logged once: the state of the files at that
 * failure is remembered, and they are not tried again (nor the failure
 * logged again) until they change once more or SIGUSR1 asks.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "clock.h"
#include "grace.h"
#include "lists.h"
#include "log.h"
#include "xalloc.h"

/*
 * Hidden test knob: the reload poll interval in milliseconds, so that
 * tests/check_milter_spf.c need not wait 10 s. Not documented for users.
 */
#define LISTS_TEST_INTERVAL_ENV "REDGREY_TEST_RELOAD_MS"

/* What one whitelist file looked like at a failed reload. */
struct lists_stamp {
    int     err;                         /* stat() errno, or 0 */
    dev_t   dev;
    ino_t   ino;
    off_t   size;
    struct timespec mtime;
    struct timespec ctime;
};

static _Atomic(struct wlist *) lists_cur; /* current whitelists, one reference ours */
static struct grace lists_grace;         /* lists_wlist calls in flight */
static pthread_mutex_t lists_writer = PTHREAD_MUTEX_INITIALIZER; /* serialises installs */
static char *lists_paths[WLIST_NKINDS];  /* the configured files (copies); NULL = none */
static pthread_mutex_t lists_lock = PTHREAD_MUTEX_INITIALIZER; /* paths, stamps, reloads */
static pthread_cond_t lists_wake;      /* lists_fini wakes the thread (monotonic waits) */
static pthread_t lists_thread;           /* the reload thread */
static int lists_thread_running;         /* lists_thread was started, not joined */
static atomic_int lists_stopping;        /* set by lists_fini */
static long lists_interval_ms = LISTS_RELOAD_SECONDS * 1000L;
static struct lists_stamp lists_failed[WLIST_NKINDS]; /* files at the last failed reload */
static int lists_failed_valid;           /* lists_failed describes a failure */

/* lists_files - the wlist_files view of lists_paths */
static void
lists_files(struct wlist_files *f)
{
    f->clients = lists_paths[WLIST_CLIENTS];
    f->client_names = lists_paths[WLIST_CLIENT_NAMES];
    f->recipients = lists_paths[WLIST_RECIPIENTS];
    f->sender_domains = lists_paths[WLIST_SENDER_DOMAINS];
    f->greytraps = lists_paths[WLIST_GREYTRAPS];
}

/* lists_paths_set - copy the file names of c ("" stays NULL) */
static void
lists_paths_set(const struct cfg *c)
{
    const char *p[WLIST_NKINDS] = {c->whitelist_clients, c->whitelist_client_names,
        c->whitelist_recipients, c->whitelist_sender_domains, c->greytrap_recipients};

    for (int k = 0; k < WLIST_NKINDS; k++) {
        free(lists_paths[k]);
        lists_paths[k] = p[k] != NULL && p[k][0] != '\0' ? xstrdup(p[k]) : NULL;
    }
}

/* lists_paths_clear - forget the file names */
static void
lists_paths_clear(void)
{
    for (int k = 0; k < WLIST_NKINDS; k++) {
        free(lists_paths[k]);
        lists_paths[k] = NULL;
    }
}

/* lists_describe - "N clients, N names, ..." of w into buf */
static const char *
lists_describe(const struct wlist *w, char *buf, size_t len)
{
    snprintf(buf, len, "%zu client blocks, %zu client names, %zu recipients, %zu sender domains,"
             " %zu greytraps",
             wlist_size(w, WLIST_CLIENTS), wlist_size(w, WLIST_CLIENT_NAMES),
             wlist_size(w, WLIST_RECIPIENTS), wlist_size(w, WLIST_SENDER_DOMAINS),
             wlist_size(w, WLIST_GREYTRAPS));
    return buf;
}

/* lists_stamp_files - what the configured files look like now */
static void
lists_stamp_files(struct lists_stamp st[WLIST_NKINDS])
{
    struct stat sb;

    memset(st, 0, sizeof(*st) * WLIST_NKINDS);
    for (int k = 0; k < WLIST_NKINDS; k++) {
        if (lists_paths[k] == NULL)
            continue;
        if (stat(lists_paths[k], &sb) != 0) {
            st[k].err = errno != 0 ? errno : -1;
            continue;
        }
        st[k].dev = sb.st_dev;
        st[k].ino = sb.st_ino;
        st[k].size = sb.st_size;
        st[k].mtime = sb.st_mtim;
        st[k].ctime = sb.st_ctim;
    }
}

/* lists_stamp_same - 1 if two stamp sets describe the same files */
static int
lists_stamp_same(const struct lists_stamp *a, const struct lists_stamp *b)
{
    for (int k = 0; k < WLIST_NKINDS; k++)
        if (a[k].err != b[k].err || a[k].dev != b[k].dev || a[k].ino != b[k].ino
            || a[k].size != b[k].size || a[k].mtime.tv_sec != b[k].mtime.tv_sec
            || a[k].mtime.tv_nsec != b[k].mtime.tv_nsec || a[k].ctime.tv_sec != b[k].ctime.tv_sec
            || a[k].ctime.tv_nsec != b[k].ctime.tv_nsec)
            return 0;
    return 1;
}

/*
 * lists_install - make w current; the list's reference to the old object
 * is dropped once no reader can be between loading it and referencing it,
 * and the object goes with its last reference
 */
static void
lists_install(struct wlist *w)
{
    struct wlist *old;

    pthread_mutex_lock(&lists_writer);
    old = atomic_exchange(&lists_cur, w);
    if (old != NULL)
        grace_wait(&lists_grace);
    pthread_mutex_unlock(&lists_writer);
    wlist_unref(old);
}

/*
 * lists_reload - reload when forced (why names the cause, else NULL) or
 * when a file changed and is not in the state that already failed.
 * Called with lists_lock held. Returns 0, or -1 when a file is bad (logged
 * here, with err set to it).
 */
static int
lists_reload(const char *why, char *err, size_t errlen)
{
    int     forced = why != NULL;
    struct wlist_files files;
    struct lists_stamp now[WLIST_NKINDS];
    struct wlist *cur, *w;
    char    desc[160];
    int     changed;

    cur = lists_wlist();
    changed = wlist_changed(cur);
    wlist_unref(cur);
    if (!forced && !changed)
        return 0;
    lists_stamp_files(now);
    if (!forced && lists_failed_valid && lists_stamp_same(now, lists_failed))
        return 0;

    lists_files(&files);
    err[0] = '\0';
    if ((w = wlist_load(&files, err, errlen)) == NULL) {
        log_warn("whitelists not reloaded, keeping the lists in use: %s", err);
        memcpy(lists_failed, now, sizeof(lists_failed));
        lists_failed_valid = 1;
        return -1;
    }
    lists_failed_valid = 0;
    lists_install(w);
    log_info("whitelists reloaded (%s): %s", forced ? why : "a file changed",
             lists_describe(w, desc, sizeof(desc)));
    return 0;
}

/* lists_reload_main - the reload thread: every interval, reload what changed */
static void *
lists_reload_main(void *arg)
{
    char    err[CFG_ERRLEN];

    (void) arg;
    pthread_mutex_lock(&lists_lock);
    while (!atomic_load(&lists_stopping)) {
        struct timespec ts = clock_ts_after_ms(lists_interval_ms);
        int     rc = 0;

        while (!atomic_load(&lists_stopping) && rc != ETIMEDOUT)
            rc = pthread_cond_timedwait(&lists_wake, &lists_lock, &ts);
        if (atomic_load(&lists_stopping))
            break;
        (void) lists_reload(NULL, err, sizeof(err));
    }
    pthread_mutex_unlock(&lists_lock);
    return NULL;
}

/* lists_reconfigure - take c's file names and reload now; the old names stay on failure */
int
lists_reconfigure(const struct cfg *c, const char *why, char *err, size_t errlen)
{
    char   *old[WLIST_NKINDS];
    int     rc;

    pthread_mutex_lock(&lists_lock);
    for (int k = 0; k < WLIST_NKINDS; k++)
        old[k] = lists_paths[k] != NULL ? xstrdup(lists_paths[k]) : NULL;
    lists_paths_set(c);
    rc = lists_reload(why, err, errlen);
    for (int k = 0; k < WLIST_NKINDS; k++) {
        if (rc != 0) {
            free(lists_paths[k]);
            lists_paths[k] = old[k];
        } else {
            free(old[k]);
        }
    }
    pthread_mutex_unlock(&lists_lock);
    return rc;
}

/* lists_load - the whitelists lists_init would load, without the reload thread */
struct wlist *
lists_load(const struct cfg *c, char *err, size_t errlen)
{
    struct wlist_files files;
    struct wlist *w;

    lists_paths_set(c);
    lists_files(&files);
    w = wlist_load(&files, err, errlen);
    lists_paths_clear();
    return w;
}

/* lists_check - load and drop the whitelists lists_init would load */
int
lists_check(const struct cfg *c, char *err, size_t errlen)
{
    struct wlist *w = lists_load(c, err, errlen);

    if (w == NULL)
        return -1;
    wlist_unref(w);
    return 0;
}

/* lists_interval_from_env - the test knob, if set to 10..60000 ms */
static void
lists_interval_from_env(void)
{
    const char *v = getenv(LISTS_TEST_INTERVAL_ENV);
    char   *end;
    long    ms;

    if (v == NULL || v[0] == '\0')
        return;
    errno = 0;
    ms = strtol(v, &end, 10);
    if (errno == 0 && *end == '\0' && ms >= 10 && ms <= 60000)
        lists_interval_ms = ms;
}

/* lists_init - whitelists, reload thread */
int
lists_init(const struct cfg *c, char *err, size_t errlen)
{
    struct wlist_files files;
    struct wlist *w;
    sigset_t set, all;
    char    desc[160];
    int     rc;

    lists_paths_set(c);
    lists_files(&files);
    if ((w = wlist_load(&files, err, errlen)) == NULL) {
        lists_paths_clear();
        return -1;
    }
    lists_install(w);
    log_info("whitelists loaded: %s", lists_describe(w, desc, sizeof(desc)));

    /* The reload thread takes no signal: those are for the main thread and libmilter. */
    lists_interval_from_env();
    atomic_store(&lists_stopping, 0);
    if ((rc = clock_cond_init(&lists_wake)) != 0) {
        snprintf(err, errlen, "cannot start the whitelist reload thread: %s", strerror(rc));
        lists_fini();
        return -1;
    }
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &set);
    rc = pthread_create(&lists_thread, NULL, lists_reload_main, NULL);
    pthread_sigmask(SIG_SETMASK, &set, NULL);
    if (rc != 0) {
        pthread_cond_destroy(&lists_wake);
        snprintf(err, errlen, "cannot start the whitelist reload thread: %s", strerror(rc));
        lists_fini();
        return -1;
    }
    lists_thread_running = 1;
    return 0;
}

/*
 * lists_wlist - a reference to the current whitelists: a grace bracket
 * around the load and the reference. No lock; never waits.
 */
struct wlist *
lists_wlist(void)
{
    unsigned e = grace_enter(&lists_grace);
    struct wlist *w = wlist_ref(atomic_load(&lists_cur));

    grace_leave(&lists_grace, e);
    return w;
}

/* lists_fini - stop the thread, drop the lists */
void
lists_fini(void)
{
    if (lists_thread_running) {
        pthread_mutex_lock(&lists_lock);
        atomic_store(&lists_stopping, 1);
        pthread_cond_signal(&lists_wake);
        pthread_mutex_unlock(&lists_lock);
        pthread_join(lists_thread, NULL);
        pthread_cond_destroy(&lists_wake);
        lists_thread_running = 0;
    }
    lists_install(NULL);
    lists_paths_clear();
    lists_failed_valid = 0;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * lists.c - the whitelists and the SPF checker the callbacks share, and
 * the thread that keeps the whitelists current.
 *
 * The current whitelists are one pointer. Readers copy it and take a
 * reference under lists_lock, which is held for nothing else; the reload
 * thread builds a complete new object outside the lock, swaps the pointer
 * under it and drops its reference to the old one, which is freed by the
 * last reader. So a lookup never waits for a reload, and a reload never
 * publishes half a list.
 *
 * The reload thread sleeps in sigtimedwait() on SIGUSR1: a signal means
 * "reload now", a timeout means "reload if a file changed". SIGUSR1 is
 * blocked in every thread (lists_init blocks it before libmilter starts
 * its threads, which inherit the mask), so it is only ever taken there;
 * libmilter's own signal thread waits for SIGHUP, SIGTERM and SIGINT and
 * never sees it. The reload thread itself blocks every signal, so that
 * those three still go to libmilter. Stopping sends SIGUSR1 to the
 * thread itself.
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

#include "ipaddr.h"
#include "lists.h"
#include "log.h"
#include "spf_expand.h"
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

static pthread_mutex_t lists_lock = PTHREAD_MUTEX_INITIALIZER; /* guards lists_cur only */
static struct wlist *lists_cur;          /* current whitelists, one reference ours */
static struct spf_check *lists_chk;      /* shared SPF checker */
static char *lists_paths[WLIST_NKINDS];  /* the configured files (copies); NULL = none */
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
}

/* lists_paths_set - copy the file names of c ("" stays NULL) */
static void
lists_paths_set(const struct cfg *c)
{
    const char *p[WLIST_NKINDS] = {c->whitelist_clients, c->whitelist_client_names,
        c->whitelist_recipients, c->whitelist_sender_domains};

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

/* lists_spf_new - an SPF checker for c's DNS settings; NULL with err */
static struct spf_check *
lists_spf_new(const struct cfg *c, char *err, size_t errlen)
{
    struct spf_check_opts o;
    struct ipaddr probe;
    char    why[256];
    struct spf_check *chk;

    memset(&o, 0, sizeof(o));
    o.dns_timeout_ms = c->dns_timeout_ms;
    o.dns_servers = c->dns_servers != NULL && c->dns_servers[0] != '\0' ? c->dns_servers : NULL;
    if (c->spf_probe != NULL && c->spf_probe[0] != '\0') {
        if (ipaddr_parse(c->spf_probe, &probe) != 0) {
            snprintf(err, errlen, "spf_probe: bad address \"%s\"", c->spf_probe);
            return NULL;
        }
        o.probe = &probe;
    }
    why[0] = '\0';
    if ((chk = spf_check_new(&o, NULL, why, sizeof(why))) == NULL)
        snprintf(err, errlen, "SPF checker: %s", why[0] != '\0' ? why : "cannot create");
    return chk;
}

/* lists_describe - "N clients, N names, ..." of w into buf */
static const char *
lists_describe(const struct wlist *w, char *buf, size_t len)
{
    snprintf(buf, len, "%zu client blocks, %zu client names, %zu recipients, %zu sender domains",
             wlist_size(w, WLIST_CLIENTS), wlist_size(w, WLIST_CLIENT_NAMES),
             wlist_size(w, WLIST_RECIPIENTS), wlist_size(w, WLIST_SENDER_DOMAINS));
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

/* lists_install - make w current; the old object goes with its last reader */
static void
lists_install(struct wlist *w)
{
    struct wlist *old;

    pthread_mutex_lock(&lists_lock);
    old = lists_cur;
    lists_cur = w;
    pthread_mutex_unlock(&lists_lock);
    wlist_unref(old);
}

/*
 * lists_reload - reload when forced (SIGUSR1) or when a file changed and
 * is not in the state that already failed. Runs in the reload thread.
 */
static void
lists_reload(int forced)
{
    struct wlist_files files;
    struct lists_stamp now[WLIST_NKINDS];
    struct wlist *cur, *w;
    char    err[CFG_ERRLEN], desc[160];
    int     changed;

    cur = lists_wlist();
    changed = wlist_changed(cur);
    wlist_unref(cur);
    if (!forced && !changed)
        return;
    lists_stamp_files(now);
    if (!forced && lists_failed_valid && lists_stamp_same(now, lists_failed))
        return;

    lists_files(&files);
    err[0] = '\0';
    if ((w = wlist_load(&files, err, sizeof(err))) == NULL) {
        log_warn("whitelists not reloaded, keeping the lists in use: %s", err);
        memcpy(lists_failed, now, sizeof(lists_failed));
        lists_failed_valid = 1;
        return;
    }
    lists_failed_valid = 0;
    lists_install(w);
    log_info("whitelists reloaded (%s): %s", forced ? "SIGUSR1" : "a file changed",
             lists_describe(w, desc, sizeof(desc)));
}

/* lists_reload_main - the reload thread: wait for SIGUSR1 or the interval */
static void *
lists_reload_main(void *arg)
{
    sigset_t set;
    struct timespec ts = {lists_interval_ms / 1000, (lists_interval_ms % 1000) * 1000000L};
    int     sig;

    (void) arg;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    while (!atomic_load(&lists_stopping)) {
        sig = sigtimedwait(&set, NULL, &ts);
        if (atomic_load(&lists_stopping))
            break;
        if (sig == SIGUSR1)
            lists_reload(1);
        else if (sig < 0 && errno == EAGAIN)
            lists_reload(0);
        /* EINTR (another signal's handler ran): wait again. */
    }
    return NULL;
}

/* lists_check - load and drop everything lists_init would build */
/*
 * lists_check_domains - the big-sender domain list must load now, or the
 * refresh would only find out hours later. "" (no list) is fine.
 */
static int
lists_check_domains(const struct cfg *c, char *err, size_t errlen)
{
    struct spf_expand_list list;

    if (c->spf_domains == NULL || c->spf_domains[0] == '\0')
        return 0;
    if (spf_expand_list_load(c->spf_domains, &list, err, errlen) < 0)
        return -1;
    spf_expand_list_fini(&list);
    return 0;
}

int
lists_check(const struct cfg *c, char *err, size_t errlen)
{
    struct wlist_files files;
    struct wlist *w;
    struct spf_check *chk;

    if (lists_check_domains(c, err, errlen) != 0)
        return -1;
    lists_paths_set(c);
    lists_files(&files);
    w = wlist_load(&files, err, errlen);
    lists_paths_clear();
    if (w == NULL)
        return -1;
    wlist_unref(w);
    if ((chk = lists_spf_new(c, err, errlen)) == NULL)
        return -1;
    spf_check_free(chk);
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

/* lists_init - whitelists, SPF checker, SIGUSR1 blocked, reload thread */
int
lists_init(const struct cfg *c, char *err, size_t errlen)
{
    struct wlist_files files;
    struct wlist *w;
    sigset_t set, all;
    char    desc[160];
    int     rc;

    if (lists_check_domains(c, err, errlen) != 0)
        return -1;
    lists_paths_set(c);
    lists_files(&files);
    if ((w = wlist_load(&files, err, errlen)) == NULL) {
        lists_paths_clear();
        return -1;
    }
    if ((lists_chk = lists_spf_new(c, err, errlen)) == NULL) {
        wlist_unref(w);
        lists_paths_clear();
        return -1;
    }
    lists_install(w);
    log_info("whitelists loaded: %s", lists_describe(w, desc, sizeof(desc)));

    /*
     * SIGUSR1 is blocked here, before libmilter's threads exist, so it is
     * blocked in all of them. The reload thread starts with every signal
     * blocked: SIGTERM and the like must reach libmilter's sigwait, and
     * SIGUSR1 reaches the thread through sigtimedwait only.
     */
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    lists_interval_from_env();
    atomic_store(&lists_stopping, 0);
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &set);
    rc = pthread_create(&lists_thread, NULL, lists_reload_main, NULL);
    pthread_sigmask(SIG_SETMASK, &set, NULL);
    if (rc != 0) {
        snprintf(err, errlen, "cannot start the whitelist reload thread: %s", strerror(rc));
        lists_fini();
        return -1;
    }
    lists_thread_running = 1;
    return 0;
}

/* lists_wlist - a reference to the current whitelists */
struct wlist *
lists_wlist(void)
{
    struct wlist *w;

    pthread_mutex_lock(&lists_lock);
    w = wlist_ref(lists_cur);
    pthread_mutex_unlock(&lists_lock);
    return w;
}

/* lists_spf - the shared checker */
struct spf_check *
lists_spf(void)
{
    return lists_chk;
}

/* lists_fini - stop the thread, drop the lists, free the checker */
void
lists_fini(void)
{
    if (lists_thread_running) {
        atomic_store(&lists_stopping, 1);
        pthread_kill(lists_thread, SIGUSR1);
        pthread_join(lists_thread, NULL);
        lists_thread_running = 0;
    }
    lists_install(NULL);
    spf_check_free(lists_chk);
    lists_chk = NULL;
    lists_paths_clear();
    lists_failed_valid = 0;
}

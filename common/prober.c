/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * prober.c - the probing thread of one breaker (prober.h).
 *
 * The loop asks the breaker how long until a probe is due and sleeps that
 * long (or until woken), so it wakes only to probe: never while the
 * breaker is closed, and at most once per probe interval while open.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "prober.h"

#define PROBER_ERRLEN 256                /* a probe's reason, as a store error */

/* prober_now_us - monotonic microseconds, the breaker's clock */
static int64_t
prober_now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* prober_sleep - wait until woken, stopped, or wait_us passed (-1: no bound); lock held */
static void
prober_sleep(struct prober *p, int64_t wait_us)
{
    struct timespec ts;
    int64_t until;

    if (p->woken || p->stop)
        return;
    if (wait_us < 0) {
        pthread_cond_wait(&p->cond, &p->lock);
        return;
    }
    until = prober_now_us() + wait_us;
    ts.tv_sec = (time_t) (until / 1000000);
    ts.tv_nsec = (long) (until % 1000000) * 1000;
    pthread_cond_timedwait(&p->cond, &p->lock, &ts);
}

/* prober_main - the thread: sleep until a probe is due, probe, report */
static void *
prober_main(void *arg)
{
    struct prober *p = arg;
    char    err[PROBER_ERRLEN];

    pthread_mutex_lock(&p->lock);
    while (!p->stop) {
        struct breaker_outage outage;
        enum breaker_change change;
        int64_t now = prober_now_us();
        int64_t wait = breaker_probe_wait(p->breaker, now);
        int     ok;

        p->woken = 0;
        if (wait != 0 || !breaker_probe_begin(p->breaker, now)) {
            prober_sleep(p, wait);
            continue;
        }
        pthread_mutex_unlock(&p->lock);
        err[0] = 0;
        ok = p->probe(p->arg, err, sizeof(err)) == 0;
        change = breaker_probe_end(p->breaker, ok, prober_now_us(), &outage);
        if (change != BREAKER_SAME && p->report != NULL)
            p->report(p->arg, change, &outage, ok ? "" : err);
        pthread_mutex_lock(&p->lock);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

/* prober_start - the thread, with every signal blocked */
int
prober_start(struct prober *p, struct breaker *b, prober_probe_fn probe,
             prober_report_fn report, void *arg, char *err, size_t errlen)
{
    pthread_condattr_t ca;
    sigset_t all, old;
    int     rc;

    memset(p, 0, sizeof(*p));
    p->breaker = b;
    p->probe = probe;
    p->report = report;
    p->arg = arg;
    pthread_mutex_init(&p->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->cond, &ca);
    pthread_condattr_destroy(&ca);

    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(&p->tid, NULL, prober_main, p);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        pthread_cond_destroy(&p->cond);
        pthread_mutex_destroy(&p->lock);
        snprintf(err, errlen, "cannot start the probing thread: %s", strerror(rc));
        return -1;
    }
    p->started = 1;
    return 0;
}

/* prober_wake - let the thread look at the breaker again */
void
prober_wake(struct prober *p)
{
    pthread_mutex_lock(&p->lock);
    p->woken = 1;
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->lock);
}

/* prober_stop - stop, join, release */
void
prober_stop(struct prober *p)
{
    if (!p->started)
        return;
    pthread_mutex_lock(&p->lock);
    p->stop = 1;
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->lock);
    pthread_join(p->tid, NULL);
    pthread_cond_destroy(&p->cond);
    pthread_mutex_destroy(&p->lock);
    p->started = 0;
}

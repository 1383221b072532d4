/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * prober.h - a thread that probes an endpoint whose breaker is open, so
 * that no caller ever waits for a probe.
 *
 * The thread sleeps while the breaker is closed. Once woken
 * (prober_wake, by whoever opened the breaker) it takes the breaker's
 * probe ticket whenever a probe is due (breaker.h: 250 ms .. 1 s apart
 * for the Redis store), runs the probe function, and hands the result
 * back to the breaker. When the result changes the breaker (the
 * endpoint is back), the report function says so. Probes are one at a
 * time by construction: one thread, one ticket.
 *
 * The thread blocks every signal, so that the daemon's signal handling
 * (libmilter's signal thread) never lands on it.
 *
 * Thread-safety: prober_wake from any thread; prober_start and
 * prober_stop from one thread, at open and at free.
 */
#ifndef REDGREY_PROBER_H
#define REDGREY_PROBER_H

#include <pthread.h>
#include <stddef.h>

#include "breaker.h"

/* prober_probe_fn - one probe of the endpoint: 0 if it serves, else -1 with err */
typedef int (*prober_probe_fn)(void *arg, char *err, size_t errlen);

/* prober_report_fn - the probe at hand changed the breaker (err: its failure, or "") */
typedef void (*prober_report_fn)(void *arg, enum breaker_change change,
                                 const struct breaker_outage *outage, const char *err);

struct prober {
    struct breaker *breaker;             /* borrowed: outlives the thread */
    prober_probe_fn probe;               /* runs in the thread */
    prober_report_fn report;             /* runs in the thread; may be NULL */
    void   *arg;                         /* for both */
    pthread_t tid;                       /* the thread */
    int     started;                     /* 1 while it runs */
    pthread_mutex_t lock;                /* guards stop and the sleep */
    pthread_cond_t cond;                 /* prober_wake, prober_stop */
    int     stop;                        /* 1: exit now */
    int     woken;                       /* a wake-up not yet seen */
};

/*
 * prober_start - start the thread for breaker b. Returns 0, or -1 with
 * err (the thread could not be made).
 */
int     prober_start(struct prober *p, struct breaker *b, prober_probe_fn probe,
                     prober_report_fn report, void *arg, char *err, size_t errlen);

/* prober_wake - the breaker has opened: start probing */
void    prober_wake(struct prober *p);

/*
 * prober_stop - stop and join the thread (waits for a probe in progress,
 * which its own deadline bounds); a prober never started is a no-op
 */
void    prober_stop(struct prober *p);

#endif

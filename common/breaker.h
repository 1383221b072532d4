/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * breaker.h - a circuit breaker for one store endpoint: fail at once
 * while the endpoint is down, and let one probe at a time find out when
 * it is back.
 *
 *   closed   every call goes to the endpoint. Each failure adds to a count
 *            of consecutive failures, each success clears it; at
 *            threshold failures it opens. A timeout opens it at once: it
 *            has already cost a whole store_timeout, and the next one
 *            would cost as much again.
 *   open     every call is refused at once (breaker_allow() 0) and
 *            counted. One probe at a time may run (breaker_probe_begin):
 *            the first probe_min after the opening, the next ones 2, 4 ...
 *            times probe_min up to probe_max after the start of the
 *            previous one (a probe that takes longer than its interval
 *            is followed at once by the next). The first success
 *            -- a probe's, or that of a call that was already under way
 *            when the breaker opened -- closes it.
 *
 * Who runs the probes is the caller's business (prober.h runs them in a
 * thread); the breaker only hands out one probe ticket at a time.
 *
 * Times are microseconds of a monotonic clock, passed in by the caller,
 * which is how the tests drive it. The breaker never reads a clock,
 * sleeps, locks or allocates.
 *
 * Thread-safety: lock-free (C11 atomics); every function may be called
 * from any number of threads at once, except breaker_init. When calls
 * race a transition the counts are exact up to those calls: a call
 * refused just as the breaker closes may be counted in the next outage.
 */
#ifndef REDGREY_BREAKER_H
#define REDGREY_BREAKER_H

#include <stdatomic.h>
#include <stdint.h>

struct breaker_config {
    int     threshold;                   /* consecutive failures that open it, >= 1 */
    int64_t probe_min_us;                /* the first probe interval, > 0 */
    int64_t probe_max_us;                /* the longest, >= probe_min_us */
};

/* The outcome of one call (or probe) on the endpoint. */
enum breaker_result {
    BREAKER_OK,                          /* the endpoint answered as it should */
    BREAKER_FAILED,                      /* it failed: counts one */
    BREAKER_TIMEOUT,                     /* it did not answer in time: opens at once */
};

/* What a call to breaker_record or breaker_probe_end changed. */
enum breaker_change {
    BREAKER_SAME,                        /* nothing */
    BREAKER_OPENED,                      /* this call opened the breaker */
    BREAKER_CLOSED,                      /* this call closed it; see the outage */
};

/* An outage, as breaker_record or breaker_probe_end report its end. */
struct breaker_outage {
    int64_t duration_us;                 /* from the opening to the closing */
    uint64_t refused;                    /* calls refused at once meanwhile */
    uint64_t probes;                     /* probes that failed meanwhile */
};

struct breaker {
    struct breaker_config conf;          /* set by breaker_init */
    _Atomic int64_t opened_at;           /* 0 closed, else when it opened (never 0) */
    atomic_int fails;                    /* closed: consecutive failures */
    atomic_int probing;                  /* 1 while a probe ticket is out */
    _Atomic int64_t probe_start;         /* when the running probe began */
    _Atomic int64_t probe_at;            /* open: the next probe not before this */
    _Atomic int64_t interval;            /* open: the last interval used */
    atomic_uint_fast64_t refused;        /* calls refused in this outage */
    atomic_uint_fast64_t probes;         /* failed probes in this outage */
};

/* breaker_init - a closed breaker with conf (clamped to the limits above) */
void    breaker_init(struct breaker *b, const struct breaker_config *conf);

/*
 * breaker_allow - may a call go to the endpoint at now? 1 when closed; 0
 * when open, and the refusal is counted. One atomic load when closed.
 */
int     breaker_allow(struct breaker *b, int64_t now);

/* breaker_is_open - 1 while open; the time it opened into *since (may be NULL) */
int     breaker_is_open(const struct breaker *b, int64_t *since);

/*
 * breaker_record - the outcome r of a call at now (a call that was
 * allowed, or that was under way when the breaker opened). Returns what
 * it changed; on BREAKER_CLOSED *out (required) describes the outage.
 * Failures while open change nothing: only probes reschedule.
 */
enum breaker_change breaker_record(struct breaker *b, enum breaker_result r, int64_t now,
                                   struct breaker_outage *out);

/*
 * breaker_trip - open the breaker at now whatever the count (the endpoint
 * is known to be down, e.g. at startup). BREAKER_OPENED or BREAKER_SAME.
 */
enum breaker_change breaker_trip(struct breaker *b, int64_t now);

/*
 * breaker_probe_wait - microseconds until a probe is due at now: 0 due
 * now, > 0 that long, -1 none (closed, or a probe is running).
 */
int64_t breaker_probe_wait(const struct breaker *b, int64_t now);

/*
 * breaker_probe_begin - take the probe ticket at now: 1 if a probe is due
 * and no other runs (the caller then probes, and must call
 * breaker_probe_end), else 0.
 */
int     breaker_probe_begin(struct breaker *b, int64_t now);

/*
 * breaker_probe_end - the ticket holder's result at now: a success closes
 * the breaker (BREAKER_CLOSED, *out filled), a failure doubles the
 * interval (up to probe_max) and schedules the next probe that long after
 * this one began. Gives the ticket back.
 */
enum breaker_change breaker_probe_end(struct breaker *b, int ok, int64_t now,
                                      struct breaker_outage *out);

#endif

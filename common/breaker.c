/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * breaker.c - the circuit breaker of one store endpoint (breaker.h).
 *
 * The whole state is opened_at: 0 closed, else the time it opened. Every
 * transition is one compare-and-swap or exchange on it, so exactly one
 * caller opens an outage and exactly one closes it, and that caller alone
 * reports it. The other fields are the outage's schedule and counts,
 * written by the caller that won the transition or holds the probe
 * ticket; a reader that sees them stale only probes a little early or
 * late, never twice at once (the ticket is its own compare-and-swap).
 */
#include "config.h"

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "breaker.h"

/* breaker_init - closed, with the configuration clamped to its limits */
void
breaker_init(struct breaker *b, const struct breaker_config *conf)
{
    memset(b, 0, sizeof(*b));
    b->conf = *conf;
    if (b->conf.threshold < 1)
        b->conf.threshold = 1;
    if (b->conf.probe_min_us < 1)
        b->conf.probe_min_us = 1;
    if (b->conf.probe_max_us < b->conf.probe_min_us)
        b->conf.probe_max_us = b->conf.probe_min_us;
    atomic_init(&b->opened_at, 0);
    atomic_init(&b->fails, 0);
    atomic_init(&b->probing, 0);
    atomic_init(&b->probe_start, 0);
    atomic_init(&b->probe_at, 0);
    atomic_init(&b->interval, b->conf.probe_min_us);
    atomic_init(&b->refused, 0);
    atomic_init(&b->probes, 0);
}

/* breaker_allow - closed: go; open: refuse, and count it */
int
breaker_allow(struct breaker *b, int64_t now)
{
    (void) now;
    if (atomic_load_explicit(&b->opened_at, memory_order_acquire) == 0)
        return 1;
    atomic_fetch_add_explicit(&b->refused, 1, memory_order_relaxed);
    return 0;
}

/* breaker_is_open - 1 while open, with the time it opened */
int
breaker_is_open(const struct breaker *b, int64_t *since)
{
    int64_t t = atomic_load_explicit(&b->opened_at, memory_order_acquire);

    if (since != NULL)
        *since = t;
    return t != 0;
}

/* breaker_open - open at now if closed; BREAKER_OPENED for the one caller that did */
static enum breaker_change
breaker_open(struct breaker *b, int64_t now)
{
    int64_t expected = 0;
    int64_t t = now > 0 ? now : 1;       /* 0 means closed */

    if (!atomic_compare_exchange_strong(&b->opened_at, &expected, t))
        return BREAKER_SAME;
    atomic_store(&b->fails, 0);
    atomic_store(&b->refused, 0);
    atomic_store(&b->probes, 0);
    atomic_store(&b->interval, b->conf.probe_min_us);
    atomic_store(&b->probe_at, t + b->conf.probe_min_us);
    return BREAKER_OPENED;
}

/* breaker_close - close at now if open; BREAKER_CLOSED with *out for the one caller that did */
static enum breaker_change
breaker_close(struct breaker *b, int64_t now, struct breaker_outage *out)
{
    int64_t t = atomic_exchange(&b->opened_at, 0);

    if (t == 0)
        return BREAKER_SAME;
    atomic_store(&b->fails, 0);
    out->duration_us = now > t ? now - t : 0;
    out->refused = atomic_exchange(&b->refused, 0);
    out->probes = atomic_exchange(&b->probes, 0);
    return BREAKER_CLOSED;
}

/* breaker_record - count one outcome; open at threshold (or a timeout), close on success */
enum breaker_change
breaker_record(struct breaker *b, enum breaker_result r, int64_t now,
               struct breaker_outage *out)
{
    int     open = breaker_is_open(b, NULL);

    if (r == BREAKER_OK) {
        if (open)
            return breaker_close(b, now, out);
        /* A load first: the common case writes nothing to the shared line. */
        if (atomic_load_explicit(&b->fails, memory_order_relaxed) != 0)
            atomic_store_explicit(&b->fails, 0, memory_order_relaxed);
        return BREAKER_SAME;
    }
    if (open)
        return BREAKER_SAME;
    if (r == BREAKER_TIMEOUT
        || atomic_fetch_add(&b->fails, 1) + 1 >= b->conf.threshold)
        return breaker_open(b, now);
    return BREAKER_SAME;
}

/* breaker_trip - open now, whatever the count */
enum breaker_change
breaker_trip(struct breaker *b, int64_t now)
{
    return breaker_open(b, now);
}

/* breaker_probe_wait - time until the next probe is due; -1 if none can be */
int64_t
breaker_probe_wait(const struct breaker *b, int64_t now)
{
    int64_t t = atomic_load(&b->opened_at);
    int64_t due;

    if (t == 0 || atomic_load(&b->probing))
        return -1;
    /* The opener writes probe_at after its swap: never probe before t + probe_min. */
    due = atomic_load(&b->probe_at);
    if (due < t + b->conf.probe_min_us)
        due = t + b->conf.probe_min_us;
    return due <= now ? 0 : due - now;
}

/* breaker_probe_begin - the probe ticket, if a probe is due and none runs */
int
breaker_probe_begin(struct breaker *b, int64_t now)
{
    int     expected = 0;

    if (breaker_probe_wait(b, now) != 0
        || !atomic_compare_exchange_strong(&b->probing, &expected, 1))
        return 0;
    if (!breaker_is_open(b, NULL)) {     /* closed while we took the ticket */
        atomic_store(&b->probing, 0);
        return 0;
    }
    atomic_store(&b->probe_start, now);
    return 1;
}

/* breaker_probe_end - close on success; else the next probe one interval later */
enum breaker_change
breaker_probe_end(struct breaker *b, int ok, int64_t now, struct breaker_outage *out)
{
    enum breaker_change change = BREAKER_SAME;

    if (ok) {
        change = breaker_close(b, now, out);
    } else if (breaker_is_open(b, NULL)) {
        int64_t iv = atomic_load(&b->interval);

        iv = iv > b->conf.probe_max_us / 2 ? b->conf.probe_max_us : 2 * iv;
        atomic_store(&b->interval, iv);
        atomic_store(&b->probe_at, atomic_load(&b->probe_start) + iv);
        atomic_fetch_add(&b->probes, 1);
    }
    atomic_store_explicit(&b->probing, 0, memory_order_release);
    return change;
}

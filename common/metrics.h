/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * metrics.h - the daemon's counters, gauges and histograms, and their
 * Prometheus text exposition (format 0.0.4).
 *
 * Every count is per process and cheap where it is made: one relaxed
 * atomic add (a histogram: two more), no lock, no allocation, no clock
 * unless the caller times something. The counts are C11 atomics in this
 * file; a scrape (metrics_format) reads each one once and sums nothing
 * under a lock, so a scrape never holds up an SMTP session, and a
 * session never holds up a scrape. A scrape that races an increment may
 * see it or not; every counter is monotonic either way, and a
 * histogram's +Inf bucket and _count are always the sum of its buckets.
 *
 * The label values are the words of the log: the action and reason of a
 * decision line (decision_reason_name), the SPF result
 * (spf_check_result_name), the store backend (its ops name). A label
 * series that was never counted is left out, except the histograms,
 * which are written whole once a store is open.
 *
 * The HTTP endpoint that serves the text is milter/metrics_http.c; this
 * file has no I/O, so that common/ code (store.c, spf_resolver.c) and the
 * tests count without it.
 *
 * Thread-safety: every function, from any thread, at any time.
 */
#ifndef REDGREY_METRICS_H
#define REDGREY_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "breaker.h"
#include "decision.h"
#include "spf_check.h"

#define METRICS_LISTEN_MAX 64            /* "[IPv6]:PORT" of metrics_listen */

/* What a scrape needs from outside common/: the milter's own gauges. */
struct metrics_gauges {
    long    sessions_active;             /* SMTP sessions open now */
};

/*
 * metrics_recipient - one decision line: log_action "greylist", "pass"
 * or "accept" (anything else is not counted), reason its reason
 */
void    metrics_recipient(const char *log_action, enum decision_reason reason);

/* metrics_session_cap - one counted connection's outcome: 1 refused, 0 let in, -1 store error */
void    metrics_session_cap(int outcome);

/* metrics_message - one message begun (MAIL FROM) */
void    metrics_message(void);

/*
 * metrics_store_opened - a store of backend (its ops name, a static
 * string) is open; up: 1 if it can serve now, 0 if not yet
 */
void    metrics_store_opened(const char *backend, int up);

/*
 * metrics_store_request - one store decision that started at start_us
 * (clock_mono_us) ended now: err NULL for success, else its reason,
 * which is counted under its kind (metrics_store_error_kind) and, unless
 * the kind is "other", marks the store down
 */
void    metrics_store_request(int64_t start_us, const char *err);

/* metrics_store_up - the store's availability changed: 1 up, 0 down */
void    metrics_store_up(int up);

/* metrics_store_breaker - a breaker change: OPENED is down, CLOSED up, SAME nothing */
void    metrics_store_breaker(enum breaker_change change);

/*
 * metrics_store_error_kind - the kind a store error's text counts under:
 * "unavailable" (the breaker is open: failing fast), "timeout",
 * "reconnect" (a Redis error reply that store_redis_reply_kind says
 * needs another connection: READONLY, LOADING ...), "connection" (lost,
 * refused, not resolved), "lmdb" (an LMDB error) or "other"
 */
const char *metrics_store_error_kind(const char *err);

/* metrics_spf_result - one SPF check of a message ended with result */
void    metrics_spf_result(enum spf_check_result result);

/* metrics_dns - one DNS lookup of an SPF check, started at start_us, ended now */
void    metrics_dns(int64_t start_us);

/*
 * metrics_bigsender_stamp - a big-sender set written to the store at
 * stamp (unix time) is installed; its age is counted from there
 */
void    metrics_bigsender_stamp(int64_t stamp);

/*
 * metrics_dnsbl - one DNS-list check of a client: elapsed_ms
 * its time (a cache hit: cached 1, not timed), timeouts and failures the
 * zones that gave no answer by the deadline or answered SERVFAIL (or
 * another error)
 */
void    metrics_dnsbl(long elapsed_ms, int cached, unsigned timeouts, unsigned failures);

/* metrics_reload - one configuration reload: ok 1 if it was applied, 0 if refused */
void    metrics_reload(int ok);

/*
 * metrics_format - every metric as Prometheus text (0.0.4), with g the
 * gauges from outside: a new NUL-terminated buffer the caller frees, its
 * length without the NUL in *len
 */
char   *metrics_format(const struct metrics_gauges *g, size_t *len);

/*
 * metrics_listen_parse - "IPv4:PORT" or "[IPv6]:PORT" (numeric, port
 * 1..65535) into *ss and *sslen; *loopback (may be NULL) is 1 for
 * 127.0.0.0/8 and ::1, else 0. Returns 0, or -1 with a reason in err.
 */
int     metrics_listen_parse(const char *text, struct sockaddr_storage *ss, socklen_t *sslen,
                             int *loopback, char *err, size_t errlen);

#endif

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * metrics_http.h - the HTTP endpoint of metrics_listen: GET /metrics with
 * the counters of common/metrics.h, served by libmicrohttpd in a thread
 * of its own.
 *
 * Thread-safety: start and stop from the main thread (once each, start
 * after the daemon has forked and before it serves, stop at the end);
 * metrics_http_warn from any thread.
 */
#ifndef REDGREY_METRICS_HTTP_H
#define REDGREY_METRICS_HTTP_H

#include "cfg.h"

/*
 * metrics_http_start - listen on c->metrics_listen and serve from a
 * thread of libmicrohttpd's; nothing when it is "". A failure (the
 * address is taken, libmicrohttpd cannot start) is logged here and
 * returns -1: the milter serves mail all the same, without metrics.
 */
int     metrics_http_start(const struct cfg *c);

/* metrics_http_stop - stop serving and close the socket; idempotent */
void    metrics_http_stop(void);

/*
 * metrics_http_warn - warn (to stderr, for -t, or to the log) if
 * metrics_listen is not a loopback address; returns the number of
 * warnings (0 or 1)
 */
int     metrics_http_warn(const struct cfg *c, int to_stderr);

#endif

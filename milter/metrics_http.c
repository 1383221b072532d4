/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * metrics_http.c - GET /metrics over HTTP, for Prometheus.
 *
 * The server is libmicrohttpd (Debian's libmicrohttpd12), a small
 * embedded HTTP library: redgrey binds the socket itself (so that a bad
 * or taken address is reported with its errno) and hands it to one
 * libmicrohttpd daemon with an internal polling thread. That thread does
 * all the HTTP work, event-driven: a slow or stalled client holds one of
 * at most METRICS_HTTP_CONNS connections for at most METRICS_HTTP_IDLE_S
 * seconds, never the thread, and never an SMTP session, which share
 * nothing with a scrape but relaxed atomics (common/metrics.h).
 *
 *   GET or HEAD /metrics   200, text/plain; version=0.0.4
 *   GET or HEAD elsewhere  404
 *   any other method       405, Allow: GET, HEAD
 *
 * There is no authentication: the address should be loopback (or a
 * network only the Prometheus server can reach); anything else is
 * warned about at start and by redgrey -t.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "callbacks.h"
#include "clock.h"
#include "log.h"
#include "metrics.h"
#include "metrics_http.h"

#define METRICS_HTTP_CONNS   8           /* connections served at once */
#define METRICS_HTTP_IDLE_S  5           /* a connection idle this long is closed */
#define METRICS_HTTP_BACKLOG 16          /* listen(2) queue */
#define METRICS_HTTP_LOG_S   10          /* at most one libmicrohttpd message per this long */
#define METRICS_HTTP_TYPE    "text/plain; version=0.0.4"

static struct MHD_Daemon *mh_daemon;     /* NULL: not serving */

/*
 * mh_log - MHD_LogCallback: libmicrohttpd's own errors (a refused
 * connection over the limit, a malformed request), into the log, at most
 * one line per METRICS_HTTP_LOG_S seconds: HTTP clients must not be able
 * to flood it
 */
static void
mh_log(void *cls, const char *fmt, va_list ap)
{
    static atomic_llong last = -METRICS_HTTP_LOG_S;
    static atomic_ulong quiet;
    long long now = (long long) clock_mono_s(), was = atomic_load(&last);
    char    line[512];
    size_t  n;

    (void) cls;
    if (now - was < METRICS_HTTP_LOG_S || !atomic_compare_exchange_strong(&last, &was, now)) {
        atomic_fetch_add(&quiet, 1);
        return;
    }
    vsnprintf(line, sizeof(line), fmt, ap);
    n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    log_warn("metrics: %s (%lu more messages not logged)", line, atomic_exchange(&quiet, 0));
}

/* mh_reply - queue a response of status with body (copied) and its type */
static enum MHD_Result
mh_reply(struct MHD_Connection *conn, unsigned status, const char *body, const char *type)
{
    struct MHD_Response *r;
    enum MHD_Result ret;

    r = MHD_create_response_from_buffer(strlen(body), (void *) body, MHD_RESPMEM_MUST_COPY);
    if (r == NULL)
        return MHD_NO;
    (void) MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        (void) MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

/* mh_metrics - 200 with the exposition (the buffer passes to libmicrohttpd) */
static enum MHD_Result
mh_metrics(struct MHD_Connection *conn)
{
    struct metrics_gauges g = {.sessions_active = callbacks_active()};
    struct MHD_Response *r;
    enum MHD_Result ret;
    size_t  len;
    char   *text = metrics_format(&g, &len);

    r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (r == NULL) {
        free(text);
        return MHD_NO;
    }
    (void) MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, METRICS_HTTP_TYPE);
    ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

/*
 * mh_request - MHD_AccessHandlerCallback: answer at the first call, by
 * method and path (the query string is not part of url)
 */
static enum MHD_Result
mh_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
           const char *version, const char *upload_data, size_t *upload_data_size,
           void **con_cls)
{
    (void) cls;
    (void) version;
    (void) upload_data;
    (void) con_cls;
    *upload_data_size = 0;               /* a body is ignored */
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return mh_reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n",
                        "text/plain");
    if (strcmp(url, "/metrics") != 0)
        return mh_reply(conn, MHD_HTTP_NOT_FOUND, "not found: try /metrics\n", "text/plain");
    return mh_metrics(conn);
}

/*
 * mh_listen - a non-blocking listening socket on ss; the descriptor, or
 * -1 with the reason in err
 */
static int
mh_listen(const struct sockaddr_storage *ss, socklen_t len, char *err, size_t errlen)
{
    int     fd, one = 1;
    const char *what;

    if ((fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return -1;
    }
    (void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (ss->ss_family == AF_INET6)
        (void) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (bind(fd, (const struct sockaddr *) ss, len) != 0)
        what = "bind";
    else if (listen(fd, METRICS_HTTP_BACKLOG) != 0)
        what = "listen";
    else
        return fd;
    snprintf(err, errlen, "%s: %s", what, strerror(errno));
    close(fd);
    return -1;
}

/* metrics_http_start - bind metrics_listen, start libmicrohttpd's thread */
int
metrics_http_start(const struct cfg *c)
{
    struct sockaddr_storage ss;
    socklen_t len;
    char    err[256];
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ERROR_LOG;
    int     fd;

    if (c->metrics_listen == NULL || c->metrics_listen[0] == '\0' || mh_daemon != NULL)
        return 0;
    if (metrics_listen_parse(c->metrics_listen, &ss, &len, NULL, err, sizeof(err)) != 0
        || (fd = mh_listen(&ss, len, err, sizeof(err))) < 0) {
        log_err("metrics_listen %s: %s: serving without metrics", c->metrics_listen, err);
        return -1;
    }
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    mh_daemon = MHD_start_daemon(flags, 0, NULL, NULL, mh_request, NULL,
                                 MHD_OPTION_EXTERNAL_LOGGER, mh_log, NULL,
                                 MHD_OPTION_LISTEN_SOCKET, fd,
                                 MHD_OPTION_CONNECTION_LIMIT, (unsigned) METRICS_HTTP_CONNS,
                                 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned) METRICS_HTTP_IDLE_S,
                                 MHD_OPTION_END);
    if (mh_daemon == NULL) {
        /* Whether libmicrohttpd closed mh_fd is not said: leave it, never close twice. */
        log_err("metrics_listen %s: libmicrohttpd did not start: serving without metrics",
                c->metrics_listen);
        return -1;
    }
    log_info("metrics: serving GET /metrics on %s", c->metrics_listen);
    return 0;
}

/* metrics_http_stop - stop the thread; libmicrohttpd closes the socket it was given */
void
metrics_http_stop(void)
{
    if (mh_daemon == NULL)
        return;
    MHD_stop_daemon(mh_daemon);
    mh_daemon = NULL;
}

/* metrics_http_warn - one warning for a metrics_listen that is not loopback */
int
metrics_http_warn(const struct cfg *c, int to_stderr)
{
    struct sockaddr_storage ss;
    socklen_t len;
    char    err[128];
    int     loopback = 1;

    if (c->metrics_listen == NULL || c->metrics_listen[0] == '\0'
        || metrics_listen_parse(c->metrics_listen, &ss, &len, &loopback, err,
                                sizeof(err)) != 0 || loopback)
        return 0;
    if (to_stderr)
        fprintf(stderr, "redgrey: warning: metrics_listen %s is not a loopback address: "
                "anyone who can reach it reads the metrics, without authentication\n",
                c->metrics_listen);
    else
        log_warn("metrics_listen %s is not a loopback address: anyone who can reach it "
                 "reads the metrics, without authentication", c->metrics_listen);
    return 1;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * metrics.c - the counters behind GET /metrics, and their text.
 *
 * Each count is a relaxed C11 atomic of its own: an increment is one
 * lock-free add that orders nothing, which is all a counter needs, and
 * contention is limited to threads counting the same thing at the same
 * instant. A histogram is an array of per-bucket (not cumulative)
 * counts plus a sum in microseconds; the scrape makes the buckets
 * cumulative and derives _count from them, so the three always agree.
 *
 * The text follows the Prometheus exposition format 0.0.4: a # HELP and
 * a # TYPE line per metric, then its samples; label values are fixed
 * words from the code (never text from the network), so nothing needs
 * escaping. Gauges that other modules own (the big-sender set) are read
 * at scrape time; those of the milter come in struct metrics_gauges.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bigsender.h"
#include "clock.h"
#include "ipaddr.h"
#include "metrics.h"
#include "store_redis.h"
#include "strbuf.h"

#define METRICS_REASONS  32              /* room for enum decision_reason */
#define METRICS_SPF      8               /* room for enum spf_check_result */
#define METRICS_BUCKETS  14              /* the longest bucket list, +Inf excluded */

/* The actions of the log line, in the order they are written. */
static const char *const metrics_actions[] = {"greylist", "pass", "accept"};
#define METRICS_ACTIONS (sizeof(metrics_actions) / sizeof(metrics_actions[0]))

/* The kinds of store error (metrics_store_error_kind), in the order written. */
static const char *const metrics_error_kinds[] = {
    "unavailable", "timeout", "reconnect", "connection", "lmdb", "other",
};
#define METRICS_KINDS (sizeof(metrics_error_kinds) / sizeof(metrics_error_kinds[0]))

/* A histogram: bounds in microseconds, per-bucket counts, sum. */
struct metrics_hist {
    const int64_t *bounds_us;            /* ascending, n of them */
    size_t  n;                           /* buckets besides +Inf */
    atomic_ullong bucket[METRICS_BUCKETS + 1]; /* [n] is above the last bound */
    atomic_ullong sum_us;                /* of every observation */
};

static const int64_t metrics_store_bounds[] = {
    100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
    1000000, 2500000,
};
static const int64_t metrics_dns_bounds[] = {
    1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000,
    5000000, 10000000, 20000000,
};

/* A DNS-list check waits at most dnsbl_timeout (100 ms .. 20 s). */
static const int64_t metrics_dnsbl_bounds[] = {
    1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2000000,
    5000000, 10000000, 20000000,
};

_Static_assert(sizeof(metrics_dnsbl_bounds) / sizeof(int64_t) <= METRICS_BUCKETS,
               "metrics: raise METRICS_BUCKETS");
_Static_assert(sizeof(metrics_store_bounds) / sizeof(int64_t) <= METRICS_BUCKETS,
               "metrics: raise METRICS_BUCKETS");
_Static_assert(sizeof(metrics_dns_bounds) / sizeof(int64_t) <= METRICS_BUCKETS,
               "metrics: raise METRICS_BUCKETS");

static atomic_ullong m_rcpt[METRICS_ACTIONS][METRICS_REASONS];
static atomic_ullong m_messages;
static atomic_ullong m_store_errors[METRICS_KINDS];
static _Atomic(const char *) m_store_backend; /* NULL until a store is open */
static atomic_int m_store_up;
static atomic_ullong m_spf[METRICS_SPF];
static atomic_llong m_bigsender_stamp;   /* 0: no set installed */
static atomic_ullong m_reloads[2];       /* [0] failed, [1] ok */
static atomic_ullong m_session_cap[3];   /* [0] store error, [1] let in, [2] refused */
static struct metrics_hist m_store_hist = {
    metrics_store_bounds, sizeof(metrics_store_bounds) / sizeof(int64_t), {0}, 0,
};
static struct metrics_hist m_dns_hist = {
    metrics_dns_bounds, sizeof(metrics_dns_bounds) / sizeof(int64_t), {0}, 0,
};
/* DNS lists. */
static struct metrics_hist m_dnsbl_hist = {
    metrics_dnsbl_bounds, sizeof(metrics_dnsbl_bounds) / sizeof(int64_t), {0}, 0,
};
static atomic_ullong m_dnsbl_checks[2];  /* [0] asked the DNS, [1] from the cache */
static atomic_ullong m_dnsbl_timeouts, m_dnsbl_failures;   /* zones */

/* metrics_add - one relaxed increment */
static void
metrics_add(atomic_ullong *c)
{
    atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

/* metrics_load - one relaxed read */
static unsigned long long
metrics_load(atomic_ullong *c)
{
    return atomic_load_explicit(c, memory_order_relaxed);
}

/* metrics_observe - one observation of us microseconds into h */
static void
metrics_observe(struct metrics_hist *h, int64_t us)
{
    size_t  i = 0;

    if (us < 0)
        us = 0;
    while (i < h->n && us > h->bounds_us[i])
        i++;
    metrics_add(&h->bucket[i]);
    atomic_fetch_add_explicit(&h->sum_us, (unsigned long long) us, memory_order_relaxed);
}

/* metrics_recipient - count one decision line by its action and reason */
void
metrics_recipient(const char *log_action, enum decision_reason reason)
{
    if (log_action == NULL || (unsigned) reason >= METRICS_REASONS)
        return;
    for (size_t a = 0; a < METRICS_ACTIONS; a++)
        if (strcmp(log_action, metrics_actions[a]) == 0) {
            metrics_add(&m_rcpt[a][reason]);
            return;
        }
}

/* metrics_session_cap - count one counted connection by its outcome */
void
metrics_session_cap(int outcome)
{
    metrics_add(&m_session_cap[outcome > 0 ? 2 : outcome == 0 ? 1 : 0]);
}

/* metrics_message - count one message */
void
metrics_message(void)
{
    metrics_add(&m_messages);
}

/* metrics_store_opened - note the backend's name and whether it serves */
void
metrics_store_opened(const char *backend, int up)
{
    atomic_store(&m_store_backend, backend);
    atomic_store(&m_store_up, up ? 1 : 0);
}

/* metrics_store_up - the store came back (1) or went away (0) */
void
metrics_store_up(int up)
{
    atomic_store_explicit(&m_store_up, up ? 1 : 0, memory_order_relaxed);
}

/* metrics_store_breaker - the breaker opened (down) or closed (up) */
void
metrics_store_breaker(enum breaker_change change)
{
    if (change != BREAKER_SAME)
        metrics_store_up(change == BREAKER_CLOSED);
}

/* metrics_store_error_kind - classify a store error by its text; see metrics.h */
const char *
metrics_store_error_kind(const char *err)
{
    if (err == NULL || err[0] == '\0')
        return "other";
    /* The breaker's refusal names the reason it opened: test it first. */
    if (strstr(err, "failing fast") != NULL)
        return "unavailable";
    if (strstr(err, "timeout") != NULL)
        return "timeout";
    for (const char *w = err; *w != '\0'; w += strcspn(w, " "), w += strspn(w, " "))
        if (store_redis_reply_kind(w, NULL) == STORE_REDIS_REPLY_RECONNECT)
            return "reconnect";
    if (strncmp(err, "lmdb", 4) == 0)
        return "lmdb";
    if (strstr(err, "connect") != NULL || strstr(err, "resolve") != NULL
        || strstr(err, "no usable address") != NULL || strstr(err, "closed") != NULL)
        return "connection";
    return "other";
}

/* metrics_store_request - time one decision; count and classify a failure */
void
metrics_store_request(int64_t start_us, const char *err)
{
    const char *kind;

    metrics_observe(&m_store_hist, clock_mono_us() - start_us);
    if (err == NULL) {
        metrics_store_up(1);
        return;
    }
    kind = metrics_store_error_kind(err);
    for (size_t k = 0; k < METRICS_KINDS; k++)
        if (strcmp(kind, metrics_error_kinds[k]) == 0)
            metrics_add(&m_store_errors[k]);
    /* A command's own error is an answer: the store is there. */
    if (strcmp(kind, "other") != 0)
        metrics_store_up(0);
}

/* metrics_spf_result - count one SPF result */
void
metrics_spf_result(enum spf_check_result result)
{
    if ((unsigned) result < METRICS_SPF)
        metrics_add(&m_spf[result]);
}

/* metrics_dns - time one DNS lookup */
void
metrics_dns(int64_t start_us)
{
    metrics_observe(&m_dns_hist, clock_mono_us() - start_us);
}

/* metrics_bigsender_stamp - when the installed big-sender set was written */
void
metrics_bigsender_stamp(int64_t stamp)
{
    atomic_store_explicit(&m_bigsender_stamp, stamp, memory_order_relaxed);
}

/* metrics_dnsbl - count one DNS-list check; time it unless it came from the cache */
void
metrics_dnsbl(long elapsed_ms, int cached, unsigned timeouts, unsigned failures)
{
    metrics_add(&m_dnsbl_checks[cached ? 1 : 0]);
    if (!cached)
        metrics_observe(&m_dnsbl_hist, (int64_t) elapsed_ms * 1000);
    if (timeouts > 0)
        atomic_fetch_add_explicit(&m_dnsbl_timeouts, timeouts, memory_order_relaxed);
    if (failures > 0)
        atomic_fetch_add_explicit(&m_dnsbl_failures, failures, memory_order_relaxed);
}

/* metrics_reload - count one reload by its outcome */
void
metrics_reload(int ok)
{
    metrics_add(&m_reloads[ok ? 1 : 0]);
}

/* ------------------------------------------------------------- the text */

/* mb_head - the # HELP and # TYPE lines of one metric */
static void
mb_head(struct strbuf *b, const char *name, const char *type, const char *help)
{
    strbuf_add(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* mb_hist - one histogram's samples; label "backend=\"redis\"" or "" */
static void
mb_hist(struct strbuf *b, const char *name, const char *label, struct metrics_hist *h)
{
    unsigned long long cum = 0;
    const char *sep = label[0] != '\0' ? "," : "";

    for (size_t i = 0; i < h->n; i++) {
        cum += metrics_load(&h->bucket[i]);
        strbuf_add(b, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, label, sep,
                   (double) h->bounds_us[i] / 1e6, cum);
    }
    cum += metrics_load(&h->bucket[h->n]);
    strbuf_add(b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, label, sep, cum);
    strbuf_add(b, "%s_sum%s%s%s %.6f\n", name, label[0] != '\0' ? "{" : "", label,
               label[0] != '\0' ? "}" : "", (double) metrics_load(&h->sum_us) / 1e6);
    strbuf_add(b, "%s_count%s%s%s %llu\n", name, label[0] != '\0' ? "{" : "", label,
               label[0] != '\0' ? "}" : "", cum);
}

/* mb_recipients - redgrey_recipients_total, the series counted so far */
static void
mb_recipients(struct strbuf *b)
{
    mb_head(b, "redgrey_recipients_total", "counter",
            "Recipient decisions, one per decision line of the log, by its action and reason.");
    for (size_t a = 0; a < METRICS_ACTIONS; a++)
        for (unsigned r = 0; r < METRICS_REASONS; r++) {
            unsigned long long n = metrics_load(&m_rcpt[a][r]);

            if (n > 0)
                strbuf_add(b, "redgrey_recipients_total{action=\"%s\",reason=\"%s\"} %llu\n",
                           metrics_actions[a], decision_reason_name((enum decision_reason) r), n);
        }
}

/*
 * mb_counted - the series name{label="value_of(i)"} of the counts[i]
 * (i < n) that have counted something
 */
static void
mb_counted(struct strbuf *b, const char *name, const char *label,
           const char *(*value_of)(unsigned), atomic_ullong *counts, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        unsigned long long v = metrics_load(&counts[i]);

        if (v > 0)
            strbuf_add(b, "%s{%s=\"%s\"} %llu\n", name, label, value_of(i), v);
    }
}

/* mb_kind_name - the label value of store error kind i */
static const char *
mb_kind_name(unsigned i)
{
    return metrics_error_kinds[i];
}

/* mb_spf_name - the label value of SPF result i */
static const char *
mb_spf_name(unsigned i)
{
    return spf_check_result_name((enum spf_check_result) i);
}

/* mb_store - the store's request histogram, errors and availability */
static void
mb_store(struct strbuf *b)
{
    const char *backend = atomic_load(&m_store_backend);
    char    label[64];

    mb_head(b, "redgrey_store_request_duration_seconds", "histogram",
            "Time of one store decision, successful or not, by store backend.");
    if (backend != NULL) {
        snprintf(label, sizeof(label), "backend=\"%s\"", backend);
        mb_hist(b, "redgrey_store_request_duration_seconds", label, &m_store_hist);
    }
    mb_head(b, "redgrey_store_errors_total", "counter",
            "Store decisions that failed, by kind of error.");
    mb_counted(b, "redgrey_store_errors_total", "kind", mb_kind_name, m_store_errors,
               METRICS_KINDS);
    mb_head(b, "redgrey_store_up", "gauge",
            "1 if the store answered the last request or probe, 0 if it is unavailable.");
    if (backend != NULL)
        strbuf_add(b, "redgrey_store_up %d\n", atomic_load(&m_store_up));
}

/* mb_spf - SPF results, DNS lookup times and the big-sender set */
static void
mb_spf(struct strbuf *b)
{
    int64_t stamp = atomic_load_explicit(&m_bigsender_stamp, memory_order_relaxed);

    mb_head(b, "redgrey_spf_results_total", "counter",
            "SPF checks of messages, by result.");
    mb_counted(b, "redgrey_spf_results_total", "result", mb_spf_name, m_spf, METRICS_SPF);
    mb_head(b, "redgrey_dns_duration_seconds", "histogram",
            "Time of one DNS lookup made for SPF (messages and the big-sender expansion).");
    mb_hist(b, "redgrey_dns_duration_seconds", "", &m_dns_hist);
    mb_head(b, "redgrey_bigsender_ranges", "gauge",
            "Address ranges in the big-sender set in memory, by address family.");
    strbuf_add(b, "redgrey_bigsender_ranges{family=\"ipv4\"} %zu\n",
               bigsender_count_family(AF_INET));
    strbuf_add(b, "redgrey_bigsender_ranges{family=\"ipv6\"} %zu\n",
               bigsender_count_family(AF_INET6));
    mb_head(b, "redgrey_bigsender_age_seconds", "gauge",
            "Seconds since the big-sender set in memory was written to the store;"
            " absent without a set.");
    if (stamp > 0 && bigsender_count() > 0)
        strbuf_add(b, "redgrey_bigsender_age_seconds %lld\n", (long long) (time(NULL) - stamp));
}

/* mb_dnsbl - the DNS-list checks, their times, the zones that failed them */
static void
mb_dnsbl(struct strbuf *b)
{
    mb_head(b, "redgrey_dnsbl_checks_total", "counter",
            "DNS-list checks of clients, by source: dns (queries sent) or cache.");
    strbuf_add(b, "redgrey_dnsbl_checks_total{source=\"dns\"} %llu\n",
               metrics_load(&m_dnsbl_checks[0]));
    strbuf_add(b, "redgrey_dnsbl_checks_total{source=\"cache\"} %llu\n",
               metrics_load(&m_dnsbl_checks[1]));
    mb_head(b, "redgrey_dnsbl_duration_seconds", "histogram",
            "Time of one DNS-list check that asked the DNS, all zones together.");
    mb_hist(b, "redgrey_dnsbl_duration_seconds", "", &m_dnsbl_hist);
    mb_head(b, "redgrey_dnsbl_zone_timeouts_total", "counter",
            "DNS-list zones that gave no answer by dnsbl_timeout (counted as not listed).");
    strbuf_add(b, "redgrey_dnsbl_zone_timeouts_total %llu\n", metrics_load(&m_dnsbl_timeouts));
    mb_head(b, "redgrey_dnsbl_zone_failures_total", "counter",
            "DNS-list zones that answered SERVFAIL or another error (counted as not listed).");
    strbuf_add(b, "redgrey_dnsbl_zone_failures_total %llu\n", metrics_load(&m_dnsbl_failures));
}

/* metrics_format - the whole exposition; see metrics.h */
char   *
metrics_format(const struct metrics_gauges *g, size_t *len)
{
    struct strbuf b;

    strbuf_init(&b, 4096);
    mb_head(&b, "redgrey_build_info", "gauge", "Always 1; the version of redgrey running.");
    strbuf_add(&b, "redgrey_build_info{version=\"%s\"} 1\n", PACKAGE_VERSION);
    mb_recipients(&b);
    mb_head(&b, "redgrey_messages_total", "counter", "Messages begun (MAIL FROM commands).");
    strbuf_add(&b, "redgrey_messages_total %llu\n", metrics_load(&m_messages));
    mb_head(&b, "redgrey_sessions_active", "gauge", "SMTP sessions open now.");
    strbuf_add(&b, "redgrey_sessions_active %ld\n", g != NULL ? g->sessions_active : 0L);
    mb_head(&b, "redgrey_session_cap_total", "counter",
            "Connections counted against max_sessions_per_client, by result.");
    strbuf_add(&b, "redgrey_session_cap_total{result=\"allowed\"} %llu\n",
               metrics_load(&m_session_cap[1]));
    strbuf_add(&b, "redgrey_session_cap_total{result=\"refused\"} %llu\n",
               metrics_load(&m_session_cap[2]));
    strbuf_add(&b, "redgrey_session_cap_total{result=\"store-error\"} %llu\n",
               metrics_load(&m_session_cap[0]));
    mb_store(&b);
    mb_spf(&b);
    mb_dnsbl(&b);
    mb_head(&b, "redgrey_config_reloads_total", "counter",
            "Configuration reloads (SIGHUP, SIGUSR1), by result.");
    strbuf_add(&b, "redgrey_config_reloads_total{result=\"success\"} %llu\n",
               metrics_load(&m_reloads[1]));
    strbuf_add(&b, "redgrey_config_reloads_total{result=\"failure\"} %llu\n",
               metrics_load(&m_reloads[0]));
    *len = b.len;
    return b.p;
}

/* ---------------------------------------------------------- metrics_listen */

/* metrics_listen_parse - "IPv4:PORT" or "[IPv6]:PORT"; see metrics.h */
int
metrics_listen_parse(const char *text, struct sockaddr_storage *ss, socklen_t *sslen,
                     int *loopback, char *err, size_t errlen)
{
    char    host[METRICS_LISTEN_MAX];
    const char *colon, *h = text;
    size_t  hlen;
    struct ipaddr ip;
    char   *end;
    long    port;

    colon = strrchr(text, ':');
    if (colon == NULL || colon == text) {
        snprintf(err, errlen, "want IPv4:PORT or [IPv6]:PORT");
        return -1;
    }
    hlen = (size_t) (colon - text);
    if (text[0] == '[') {
        if (hlen < 3 || text[hlen - 1] != ']') {
            snprintf(err, errlen, "want [IPv6]:PORT, with the brackets");
            return -1;
        }
        h++;
        hlen -= 2;
    }
    if (hlen >= sizeof(host)) {
        snprintf(err, errlen, "address too long");
        return -1;
    }
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    if (ipaddr_parse(host, &ip) < 0 || (ip.family == AF_INET6) != (text[0] == '[')) {
        snprintf(err, errlen, "want a numeric address: IPv4:PORT or [IPv6]:PORT");
        return -1;
    }
    errno = 0;
    port = strtol(colon + 1, &end, 10);
    if (colon[1] < '0' || colon[1] > '9' || *end != '\0' || errno != 0 || port < 1
        || port > 65535) {
        snprintf(err, errlen, "want a port 1..65535 after the last ':'");
        return -1;
    }
    memset(ss, 0, sizeof(*ss));
    if (ip.family == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *) ss;

        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t) port);
        memcpy(&sin->sin_addr, ip.b, 4);
        *sslen = sizeof(*sin);
    } else {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *) ss;

        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t) port);
        memcpy(&sin6->sin6_addr, ip.b, 16);
        *sslen = sizeof(*sin6);
    }
    if (loopback != NULL)
        *loopback = ip.family == AF_INET ? ip.b[0] == 127
            : memcmp(ip.b, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1", 16) == 0;
    return 0;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_metrics.c - the Prometheus metrics: their text parsed by a real
 * parser, their values against the decisions made, and the endpoint
 * never in the way of an SMTP session.
 *
 * "unit" runs in this process against common/metrics.c: the kinds of
 * real store error texts, metrics_listen parsing, the big-sender gauges,
 * and the whole exposition with every series present through
 * `promtool check metrics` (Debian's prometheus package), which must
 * exit 0 and print nothing: no lint problem is accepted.
 *
 * "daemon" starts the real redgrey (tests/daemon.c) on the Redis of
 * with-redis.sh with metrics_listen on a free loopback port, dnsmasq as
 * its SPF resolver, and a recipient whitelist; it plays Postfix with
 * tests/mta.c, scrapes GET /metrics over a plain TCP socket, and checks
 * the counters moved exactly as the decisions say (3 greylists, 1 retry
 * pass, 1 whitelist accept ...), the store's errors and availability
 * across a stopped Redis, the reload counters, the HTTP answers (404,
 * 405), and that stalled HTTP clients and scrapes in a loop leave the
 * SMTP sessions' answers within their bound.
 *
 * Timing: delay is 2 s; the retry waits 2.1 s once. The outage test
 * waits for the store's prober (at most about 1 s once Redis is back).
 */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <libmilter/mfapi.h>
#include <libmilter/mfdef.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bigsender.h"
#include "clock.h"
#include "daemon.h"
#include "metrics.h"
#include "mta.h"
#include "netblock.h"

#define HTTP_MS       3000               /* bound on one HTTP exchange */
#define HTTP_MAX      (256 * 1024)       /* largest answer read */
#define STOP_MS       8000               /* libmilter's 5 s poll + 3 s */
#define SESSION_MS    3000               /* an SMTP answer while HTTP is busy; HTTP idles 5 s */
#define HTTP_CONNS    8                  /* METRICS_HTTP_CONNS of milter/metrics_http.c */
#define PROMTOOL      "/usr/bin/promtool"

static struct daemon mil;                /* redgrey with metrics */
static struct daemon dns;                /* dnsmasq for SPF */
static int metrics_port;                 /* its metrics_listen port */
static int metrics_family = AF_INET;     /* on 127.0.0.1, or AF_INET6: on ::1 */

/* The zone: every record is TXT. */
static const char *const dns_records[] = {
    "--txt-record=pass.spf.test,v=spf1 ip4:203.0.113.0/24 -all",
    NULL,
};

/* ---------------------------------------------------------------- helpers */

/* One HTTP answer. */
struct http_answer {
    int     status;                      /* 200 ...; -1: no answer */
    char    head[4096];                  /* status line and headers */
    char   *body;                        /* malloc'ed, NUL-terminated; NULL: none */
};

/* http_connect - a TCP connection to the metrics port; the descriptor, or -1 */
static int
http_connect(void)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t) metrics_port)};
    struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6,
                                .sin6_port = htons((uint16_t) metrics_port)};
    int     v6 = metrics_family == AF_INET6;
    int     fd = socket(metrics_family, SOCK_STREAM, 0);

    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sin6.sin6_addr = in6addr_loopback;
    if (fd >= 0 && connect(fd, v6 ? (struct sockaddr *) &sin6 : (struct sockaddr *) &sin,
                           v6 ? sizeof(sin6) : sizeof(sin)) != 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/*
 * http_ask - send method path over a new connection, read the answer to
 * the end within HTTP_MS; a->status -1 if none came whole
 */
static void
http_ask(const char *method, const char *path, struct http_answer *a)
{
    char    req[256], *buf = malloc(HTTP_MAX + 1), *sep;
    size_t  len = 0;
    long long until = daemon_now_ms() + HTTP_MS;
    int     fd = http_connect(), n;

    ck_assert_ptr_nonnull(buf);
    memset(a, 0, sizeof(*a));
    a->status = -1;
    n = snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                 "Content-Length: 0\r\n\r\n", method, path);
    if (fd < 0 || write(fd, req, (size_t) n) != n) {
        if (fd >= 0)
            close(fd);
        free(buf);
        return;
    }
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        long long left = until - daemon_now_ms();
        ssize_t r;

        if (left <= 0 || poll(&p, 1, (int) left) <= 0)
            goto out;                    /* out of time: no answer */
        if ((r = read(fd, buf + len, HTTP_MAX - len)) < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        len += (size_t) r;
        if (len == HTTP_MAX)
            goto out;
    }
    buf[len] = '\0';
    if ((sep = strstr(buf, "\r\n\r\n")) == NULL || sscanf(buf, "HTTP/1.%*d %d", &a->status) != 1)
        goto out;
    snprintf(a->head, sizeof(a->head), "%.*s", (int) (sep - buf), buf);
    a->body = strdup(sep + 4);
out:
    close(fd);
    free(buf);
}

/* scrape - GET /metrics, which must answer 200; the body (caller frees) */
static char *
scrape(void)
{
    struct http_answer a;

    http_ask("GET", "/metrics", &a);
    ck_assert_msg(a.status == 200, "GET /metrics: status %d", a.status);
    ck_assert_ptr_nonnull(a.body);
    return a.body;
}

/*
 * value - the value of the sample series (name{labels}, exactly as
 * written) in text; absent if not there (a counter never counted)
 */
static double
value(const char *text, const char *series, double absent)
{
    size_t  n = strlen(series);

    for (const char *p = text; p != NULL && *p != '\0'; p = strchr(p, '\n'), p = p ? p + 1 : p)
        if (strncmp(p, series, n) == 0 && p[n] == ' ')
            return strtod(p + n + 1, NULL);
    return absent;
}

/* counter - value of a counter series that may not have been written yet */
static double
counter(const char *text, const char *series)
{
    return value(text, series, 0);
}

/* promtool_ok - run promtool check metrics on text; fails the test unless clean */
static void
promtool_ok(const char *text)
{
    char    path[512], cmd[700], out[4096];
    const char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    int     rc;

    daemon_scratch_path(path, sizeof(path), "metrics.txt");
    ck_assert_int_eq(daemon_write_file(path, text), 0);
    snprintf(cmd, sizeof(cmd), "%s check metrics < %s", PROMTOOL, path);
    rc = daemon_capture(argv, out, sizeof(out), 20000);
    ck_assert_msg(rc == 0, "promtool check metrics: exit %d: %s\n%s", rc, out, text);
    ck_assert_msg(out[0] == '\0', "promtool check metrics: lint: %s", out);
    unlink(path);
}

/* documented_ok - every metric of text has its entry in METRICS of redgrey(8) */
static void
documented_ok(const char *text)
{
    char   *man = daemon_read_file_ok(TEST_SRCDIR "/../milter/redgrey.8");
    const char *sec = strstr(man, "\n.SH METRICS\n"), *end;
    int     n = 0;

    ck_assert_msg(sec != NULL, "redgrey.8 has no METRICS section");
    end = strstr(sec + 1, "\n.SH ");
    for (const char *p = strstr(text, "# TYPE "); p != NULL; p = strstr(p + 1, "# TYPE ")) {
        char    name[128], entry[160];
        const char *hit;

        ck_assert_int_eq(sscanf(p, "# TYPE %127s", name), 1);
        snprintf(entry, sizeof(entry), "\n.B %s", name);
        hit = strstr(sec, entry);
        ck_assert_msg(hit != NULL && (end == NULL || hit < end),
                      "%s is not listed under METRICS in redgrey.8", name);
        n++;
    }
    ck_assert_int_ge(n, 12);
    free(man);
}

/* rcpt - one SMTP session from addr: MAIL from, RCPT to; the RCPT answer */
static int
rcpt(const char *addr, const char *from, const char *to, long long *took)
{
    struct mta_conn m = {.family = '4', .addr = addr};

    return mta_one_rcpt(&mil, &m, from, to, NULL, NULL, 0, took);
}

/* redis_signal - send sig to the test Redis; 0 or -1 */
static int
redis_signal(int sig)
{
    long    pid = daemon_redis_pid();

    return pid > 0 ? kill((pid_t) pid, sig) : -1;
}

/* ------------------------------------------------------------------ unit */

/* The store errors the backends write, and the kind each counts under. */
START_TEST(test_error_kinds)
{
    static const struct {
        const char *err, *kind;
    } cases[] = {
        {"redis 127.0.0.1:6379: timeout", "timeout"},
        {"redis 127.0.0.1:6379: timeout: no free connection of 8 within 250 ms", "timeout"},
        {"lmdb /var/lib/redgrey: timeout waiting for the writer lock", "timeout"},
        {"redis 127.0.0.1:6379: unavailable for 1.2 s (timeout): failing fast", "unavailable"},
        {"redis 127.0.0.1:6379: READONLY (demoted primary?): reconnecting", "reconnect"},
        {"redis 127.0.0.1:6379: LOADING (server loading its data): reconnecting", "reconnect"},
        {"redis 127.0.0.1:6379: connect: Connection refused", "connection"},
        {"redis 127.0.0.1:6379: connection closed by the server", "connection"},
        {"redis r.test:6379: cannot resolve r.test: Name or service not known", "connection"},
        {"lmdb /var/lib/redgrey: map full (lmdb_mapsize 1048576 bytes)", "lmdb"},
        {"redis 127.0.0.1:6379: script: ERR boom", "other"},
        {"", "other"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        ck_assert_msg(strcmp(metrics_store_error_kind(cases[i].err), cases[i].kind) == 0,
                      "\"%s\": got %s, want %s", cases[i].err,
                      metrics_store_error_kind(cases[i].err), cases[i].kind);
}
END_TEST

/* metrics_listen: numeric IPv4:PORT and [IPv6]:PORT, and whether it is loopback. */
START_TEST(test_listen_parse)
{
    static const struct {
        const char *text;
        int     ok, loopback, family;
    } cases[] = {
        {"127.0.0.1:10030", 1, 1, AF_INET},
        {"127.8.9.10:1", 1, 1, AF_INET},
        {"[::1]:65535", 1, 1, AF_INET6},
        {"0.0.0.0:10030", 1, 0, AF_INET},
        {"192.0.2.1:80", 1, 0, AF_INET},
        {"[::]:10030", 1, 0, AF_INET6},
        {"[2001:db8::1]:10030", 1, 0, AF_INET6},
        {"::1:10030", 0, 0, 0},          /* IPv6 needs brackets */
        {"[127.0.0.1]:10030", 0, 0, 0},
        {"localhost:10030", 0, 0, 0},    /* numeric only */
        {"127.0.0.1", 0, 0, 0},
        {"127.0.0.1:", 0, 0, 0},
        {"127.0.0.1:0", 0, 0, 0},
        {"127.0.0.1:65536", 0, 0, 0},
        {"127.0.0.1:80x", 0, 0, 0},
        {"127.0.0.1:-1", 0, 0, 0},
        {":10030", 0, 0, 0},
        {"[::1:10030", 0, 0, 0},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct sockaddr_storage ss;
        socklen_t len = 0;
        char    err[128] = "";
        int     loop = -1;
        int     rc = metrics_listen_parse(cases[i].text, &ss, &len, &loop, err, sizeof(err));

        ck_assert_msg((rc == 0) == cases[i].ok, "%s: rc %d (%s)", cases[i].text, rc, err);
        if (!cases[i].ok) {
            ck_assert_msg(err[0] != '\0', "%s: refused without a reason", cases[i].text);
            continue;
        }
        ck_assert_int_eq(loop, cases[i].loopback);
        ck_assert_int_eq(ss.ss_family, cases[i].family);
        ck_assert_uint_eq(len, cases[i].family == AF_INET ? sizeof(struct sockaddr_in)
                          : sizeof(struct sockaddr_in6));
    }
}
END_TEST

/* netset_of - a finished set of the blocks (NULL ended) */
static struct netset *
netset_of(const char *const *blocks)
{
    struct netset *set = netset_new();

    for (; *blocks != NULL; blocks++) {
        struct netblock nb;
        char    err[128];

        ck_assert_int_ge(netblock_parse(*blocks, &nb, err, sizeof(err)), 0);
        netset_add(set, &nb);
    }
    netset_finish(set);
    return set;
}

/*
 * Every series written once, the whole text through promtool: every
 * reason of the log, the histograms' buckets, the store's error kinds,
 * the big-sender gauges from the set in memory.
 */
START_TEST(test_format_promtool)
{
    static const char *const blocks[] = {
        "192.0.2.0/25", "198.51.100.0/24", "2001:db8:77::/48", NULL,
    };
    struct metrics_gauges g = {.sessions_active = 3};
    char   *text;
    size_t  len;

    metrics_store_opened("redis", 1);
    for (int r = DECISION_REASON_NEW; r <= DECISION_REASON_MIXED_RCPT; r++) {
        metrics_recipient("greylist", (enum decision_reason) r);
        metrics_recipient("pass", (enum decision_reason) r);
        metrics_recipient("accept", (enum decision_reason) r);
    }
    metrics_recipient("greylist", DECISION_REASON_NEW);
    metrics_recipient("", DECISION_REASON_NEW);  /* not a decision line: not counted */
    metrics_message();
    for (int r = SPF_CHECK_NONE; r <= SPF_CHECK_PERMERROR; r++)
        metrics_spf_result((enum spf_check_result) r);
    metrics_dns(clock_mono_us());
    metrics_store_request(clock_mono_us(), NULL);
    metrics_store_request(clock_mono_us() - 3000000, "redis x:1: timeout");
    metrics_store_request(clock_mono_us(), "lmdb /x: map full");
    metrics_reload(1);
    metrics_reload(0);
    metrics_reload(0);
    bigsender_install(netset_of(blocks));
    metrics_bigsender_stamp((int64_t) time(NULL) - 60);

    text = metrics_format(&g, &len);
    ck_assert_uint_eq(strlen(text), len);
    ck_assert_double_eq(counter(text, "redgrey_recipients_total{action=\"greylist\","
                                "reason=\"new\"}"), 2);
    ck_assert_double_eq(counter(text, "redgrey_recipients_total{action=\"accept\","
                                "reason=\"whitelist-rcpt\"}"), 1);
    ck_assert_double_eq(counter(text, "redgrey_recipients_total{action=\"pass\","
                                "reason=\"mixed-rcpt\"}"), 1);
    ck_assert_double_eq(value(text, "redgrey_sessions_active", -1), 3);
    ck_assert_double_eq(value(text, "redgrey_bigsender_ranges{family=\"ipv4\"}", -1), 2);
    ck_assert_double_eq(value(text, "redgrey_bigsender_ranges{family=\"ipv6\"}", -1), 1);
    ck_assert(value(text, "redgrey_bigsender_age_seconds", -1) >= 60);
    ck_assert_double_eq(counter(text, "redgrey_store_errors_total{kind=\"timeout\"}"), 1);
    ck_assert_double_eq(counter(text, "redgrey_store_errors_total{kind=\"lmdb\"}"), 1);
    ck_assert_double_eq(value(text, "redgrey_store_up", -1), 0);
    ck_assert_double_eq(counter(text, "redgrey_store_request_duration_seconds_count"
                                "{backend=\"redis\"}"), 3);
    /* The 3 s request is above every bound but +Inf. */
    ck_assert_double_eq(counter(text, "redgrey_store_request_duration_seconds_bucket"
                                "{backend=\"redis\",le=\"2.5\"}"), 2);
    ck_assert_double_eq(counter(text, "redgrey_store_request_duration_seconds_bucket"
                                "{backend=\"redis\",le=\"+Inf\"}"), 3);
    ck_assert(value(text, "redgrey_store_request_duration_seconds_sum{backend=\"redis\"}", 0)
              >= 3.0);
    ck_assert_double_eq(counter(text, "redgrey_spf_results_total{result=\"permerror\"}"), 1);
    ck_assert_double_eq(counter(text, "redgrey_dns_duration_seconds_count"), 1);
    ck_assert_double_eq(counter(text, "redgrey_config_reloads_total{result=\"failure\"}"), 2);
    ck_assert_double_eq(value(text, "redgrey_build_info{version=\"" PACKAGE_VERSION "\"}", -1),
                        1);
    promtool_ok(text);
    documented_ok(text);
    free(text);
    bigsender_reset();
}
END_TEST

/*
 * redgrey -t: a loopback metrics_listen passes quietly, any other address
 * passes with a warning, a bad one is a configuration error.
 */
START_TEST(test_check_listen)
{
    static const struct {
        const char *listen;
        int     exit, warns;
    } cases[] = {
        {"127.0.0.1:10030", 0, 0},
        {"[::1]:10030", 0, 0},
        {"0.0.0.0:10030", 0, 1},
        {"[2001:db8::1]:10030", 0, 1},
        {"localhost:10030", 1, 0},
        {"127.0.0.1:0", 1, 0},
    };
    char    path[512], text[256], out[4096];
    const char *argv[] = {DAEMON_REDGREY_BIN, "-t", "-c", path, NULL};

    daemon_scratch_path(path, sizeof(path), "metrics-t.conf");
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int     rc;

        snprintf(text, sizeof(text), "store = lmdb:/nonexistent\nuser = \"\"\n"
                 "pidfile = \"\"\nmetrics_listen = %s\n", cases[i].listen);
        ck_assert_int_eq(daemon_write_file(path, text), 0);
        rc = daemon_capture(argv, out, sizeof(out), 10000);
        ck_assert_msg(rc == cases[i].exit, "%s: exit %d: %s", cases[i].listen, rc, out);
        ck_assert_msg((strstr(out, "is not a loopback address") != NULL) == cases[i].warns,
                      "%s: %s", cases[i].listen, out);
        if (rc != 0)
            ck_assert_msg(strstr(out, "metrics_listen") != NULL, "%s: %s", cases[i].listen,
                          out);
    }
    unlink(path);
}
END_TEST

/*
 * contrib/grafana/redgrey.json: valid JSON (Perl's core JSON::PP, which
 * CI has with perl), every query parsed by promtool, and every metric it
 * names one that redgrey writes.
 */
START_TEST(test_dashboard)
{
    char    path[512], cmd[1400], out[4096], *rules, *text;
    const char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    struct metrics_gauges g = {0};
    size_t  len;
    int     rc;

    daemon_scratch_path(path, sizeof(path), "dashboard-rules.yml");
    snprintf(cmd, sizeof(cmd), "perl %s/dashboard_rules.pl %s/../contrib/grafana/redgrey.json"
             " > %s && %s check rules %s", TEST_SRCDIR, TEST_SRCDIR, path, PROMTOOL, path);
    rc = daemon_capture(argv, out, sizeof(out), 20000);
    ck_assert_msg(rc == 0, "dashboard: exit %d: %s", rc, out);
    ck_assert_msg(strstr(out, "SUCCESS") != NULL, "dashboard: %s", out);
    rules = daemon_read_file_ok(path);
    metrics_store_opened("lmdb", 1);
    text = metrics_format(&g, &len);
    for (const char *p = strstr(rules, "redgrey_"); p != NULL; p = strstr(p + 1, "redgrey_")) {
        char    name[128], type[160];

        ck_assert_int_eq(sscanf(p, "%127[a-z_]", name), 1);
        /* A histogram's series are NAME_bucket ...: its # TYPE line names NAME. */
        if (strlen(name) > 7 && strcmp(name + strlen(name) - 7, "_bucket") == 0)
            name[strlen(name) - 7] = '\0';
        snprintf(type, sizeof(type), "# TYPE %s ", name);
        ck_assert_msg(strstr(text, type) != NULL, "the dashboard uses %s, which is not written",
                      name);
    }
    unlink(path);
    free(rules);
    free(text);
}
END_TEST

/* ---------------------------------------------------------------- daemon */

/*
 * The decisions of five sessions, counted: 3 greylists (new), 1 accept
 * (whitelisted recipient), then 1 pass (retry) after the delay; 5
 * messages, 4 store decisions (the whitelist does not ask), SPF pass for
 * the pass.spf.test sender (twice) and none for the others (NXDOMAIN).
 */
START_TEST(test_decisions_counted)
{
    char   *before = scrape(), *after;
    static const char *const series[] = {
        "redgrey_recipients_total{action=\"greylist\",reason=\"new\"}",
        "redgrey_recipients_total{action=\"pass\",reason=\"retry\"}",
        "redgrey_recipients_total{action=\"accept\",reason=\"whitelist-rcpt\"}",
        "redgrey_messages_total",
        "redgrey_store_request_duration_seconds_count{backend=\"redis\"}",
        "redgrey_spf_results_total{result=\"pass\"}",
        "redgrey_spf_results_total{result=\"none\"}",
        "redgrey_recipients_total{action=\"pass\",reason=\"known\"}",
    };
    static const double want[] = {3, 1, 1, 5, 4, 2, 3, 0};

    ck_assert_int_eq(rcpt("203.0.113.7", "<g1@pass.spf.test>", "<u1@rcpt.test>", NULL),
                     SMFIR_REPLYCODE);
    ck_assert_int_eq(rcpt("198.51.100.7", "<g2@nx.spf.test>", "<u2@rcpt.test>", NULL),
                     SMFIR_REPLYCODE);
    ck_assert_int_eq(rcpt("198.51.100.8", "<g3@nx.spf.test>", "<u3@rcpt.test>", NULL),
                     SMFIR_REPLYCODE);
    ck_assert_int_eq(rcpt("198.51.100.9", "<g4@nx.spf.test>", "<postmaster@rcpt.test>", NULL),
                     SMFIR_CONTINUE);
    daemon_sleep_ms(2100);
    ck_assert_int_eq(rcpt("203.0.113.7", "<g1@pass.spf.test>", "<u1@rcpt.test>", NULL),
                     SMFIR_CONTINUE);
    after = scrape();
    for (size_t i = 0; i < sizeof(series) / sizeof(series[0]); i++)
        ck_assert_msg(counter(after, series[i]) - counter(before, series[i]) == want[i],
                      "%s: from %g to %g, want +%g", series[i], counter(before, series[i]),
                      counter(after, series[i]), want[i]);
    ck_assert(counter(after, "redgrey_dns_duration_seconds_count")
              >= counter(before, "redgrey_dns_duration_seconds_count") + 5);
    ck_assert_double_eq(value(after, "redgrey_store_up", -1), 1);
    ck_assert_double_eq(value(after, "redgrey_build_info{version=\"" PACKAGE_VERSION "\"}", -1),
                        1);
    promtool_ok(after);
    free(before);
    free(after);
}
END_TEST

/* Only GET and HEAD of /metrics: 404 elsewhere, 405 for other methods. */
START_TEST(test_http_answers)
{
    static const struct {
        const char *method, *path;
        int     status;
        const char *head, *body;         /* in the headers, at the start of the body */
    } cases[] = {
        {"GET", "/metrics", 200, "\r\nContent-Type: text/plain; version=0.0.4",
         "# HELP redgrey_build_info "},
        {"HEAD", "/metrics", 200, "\r\nContent-Type: text/plain; version=0.0.4", ""},
        {"GET", "/metrics?x=1", 200, "", "# HELP redgrey_build_info "},
        {"GET", "/", 404, "", ""},
        {"GET", "/metricsx", 404, "", ""},
        {"POST", "/metrics", 405, "\r\nAllow: GET, HEAD", ""},
        {"DELETE", "/x", 405, "\r\nAllow: GET, HEAD", ""},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct http_answer a;

        http_ask(cases[i].method, cases[i].path, &a);
        ck_assert_msg(a.status == cases[i].status, "%s %s: status %d, want %d",
                      cases[i].method, cases[i].path, a.status, cases[i].status);
        ck_assert_msg(strstr(a.head, cases[i].head) != NULL, "%s %s: headers: %s",
                      cases[i].method, cases[i].path, a.head);
        ck_assert_msg(strncmp(a.body, cases[i].body, strlen(cases[i].body)) == 0,
                      "%s %s: body: %.200s", cases[i].method, cases[i].path, a.body);
        if (strcmp(cases[i].method, "HEAD") == 0)
            ck_assert_str_eq(a.body, "");
        free(a.body);
    }
}
END_TEST

/* What the scraping thread saw. */
struct scraper {
    atomic_int stop;                     /* set by the test */
    atomic_int scrapes, failed;          /* 200s, and anything else */
};

/* scraper_main - scrape in a loop until told to stop */
static void *
scraper_main(void *arg)
{
    struct scraper *s = arg;

    while (!atomic_load(&s->stop)) {
        struct http_answer a;

        http_ask("GET", "/metrics", &a);
        atomic_fetch_add(a.status == 200 ? &s->scrapes : &s->failed, 1);
        free(a.body);
    }
    return NULL;
}

/*
 * The endpoint is never in the way of mail: with every HTTP connection
 * taken by clients that send half a request and stall, a further client
 * is turned away (the connections are bounded) and SMTP sessions are
 * answered within their bound; once the stalled clients leave, scrapes
 * in a loop run alongside sessions that are still answered in time.
 */
START_TEST(test_scrape_never_blocks)
{
    int     idle[HTTP_CONNS];
    struct http_answer a;
    struct scraper s = {0};
    pthread_t tid;
    char    to[64];
    long long took;
    int     first, during;

    for (int i = 0; i < HTTP_CONNS; i++) {
        idle[i] = http_connect();
        ck_assert_int_ge(idle[i], 0);
        ck_assert_int_eq(write(idle[i], "GET /metr", 9), 9);
    }
    daemon_sleep_ms(200);                /* let the server take them all */
    http_ask("GET", "/metrics", &a);
    ck_assert_msg(a.status == -1, "connection %d was served: status %d", HTTP_CONNS + 1,
                  a.status);
    free(a.body);
    for (int i = 0; i < 3; i++) {
        snprintf(to, sizeof(to), "<stall%d@rcpt.test>", i);
        ck_assert_int_eq(rcpt("198.51.100.20", "<s@nx.spf.test>", to, &took), SMFIR_REPLYCODE);
        ck_assert_msg(took < SESSION_MS, "session answered after %lld ms", took);
    }
    for (int i = 0; i < HTTP_CONNS; i++)
        close(idle[i]);
    daemon_sleep_ms(200);

    ck_assert_int_eq(pthread_create(&tid, NULL, scraper_main, &s), 0);
    for (long long until = daemon_now_ms() + HTTP_MS; atomic_load(&s.scrapes) == 0
         && atomic_load(&s.failed) == 0 && daemon_now_ms() < until;)
        daemon_sleep_ms(10);
    first = atomic_load(&s.scrapes);
    for (int i = 0; i < 10; i++) {
        snprintf(to, sizeof(to), "<busy%d@rcpt.test>", i);
        ck_assert_int_eq(rcpt("198.51.100.21", "<b@nx.spf.test>", to, &took), SMFIR_REPLYCODE);
        ck_assert_msg(took < SESSION_MS, "session answered after %lld ms", took);
    }
    during = atomic_load(&s.scrapes) - first;
    atomic_store(&s.stop, 1);
    pthread_join(tid, NULL);
    ck_assert_msg(first > 0 && during > 0 && atomic_load(&s.failed) == 0,
                  "scrapes: %d before the sessions, %d during, %d failed", first, during,
                  atomic_load(&s.failed));
}
END_TEST

/* An open SMTP session is counted while it lasts. */
START_TEST(test_sessions_active)
{
    struct miltc *c = malloc(sizeof(*c));
    struct mta_conn m = {.family = '4', .addr = "198.51.100.30"};
    char    why[300], *text;

    ck_assert_ptr_nonnull(c);
    ck_assert_msg(mta_connect(c, &mil, &m, why, sizeof(why)) == 0, "%s", why);
    text = scrape();
    ck_assert(value(text, "redgrey_sessions_active", -1) >= 1);
    free(text);
    (void) miltc_quit(c);
    free(c);
}
END_TEST

/*
 * A stopped Redis: the first decision times out, the next fails fast
 * (the breaker), both accepted as store-error, and redgrey_store_up is 0;
 * once Redis runs again the prober closes the breaker and store_up is 1
 * without any mail.
 */
START_TEST(test_store_down)
{
    const char *tmo = "redgrey_store_errors_total{kind=\"timeout\"}";
    const char *fast = "redgrey_store_errors_total{kind=\"unavailable\"}";
    const char *acc = "redgrey_recipients_total{action=\"accept\",reason=\"store-error\"}";
    char   *before = scrape(), *during, *text = NULL;
    long long until;

    ck_assert_int_eq(redis_signal(SIGSTOP), 0);
    ck_assert_int_eq(rcpt("198.51.100.40", "<d1@nx.spf.test>", "<d1@rcpt.test>", NULL),
                     SMFIR_CONTINUE);
    ck_assert_int_eq(rcpt("198.51.100.41", "<d2@nx.spf.test>", "<d2@rcpt.test>", NULL),
                     SMFIR_CONTINUE);
    during = scrape();
    ck_assert_int_eq(redis_signal(SIGCONT), 0);
    /*
     * The first decision times out and opens the breaker, the second is
     * refused by it -- unless the big-sender poll hit the stopped Redis
     * first, when both are refused.
     */
    ck_assert_double_eq(counter(during, tmo) - counter(before, tmo)
                        + counter(during, fast) - counter(before, fast), 2);
    ck_assert(counter(during, fast) - counter(before, fast) >= 1);
    ck_assert_double_eq(counter(during, acc) - counter(before, acc), 2);
    ck_assert_double_eq(value(during, "redgrey_store_up", -1), 0);
    for (until = daemon_now_ms() + 3000; daemon_now_ms() < until; daemon_sleep_ms(100)) {
        free(text);
        text = scrape();
        if (value(text, "redgrey_store_up", -1) == 1)
            break;
    }
    ck_assert_msg(value(text, "redgrey_store_up", -1) == 1, "store_up still 0 after 3 s");
    free(before);
    free(during);
    free(text);
}
END_TEST

/* Reloads, by result: SIGHUP with a good file, then with a bad one. */
START_TEST(test_reloads_counted)
{
    const char *ok = "redgrey_config_reloads_total{result=\"success\"}";
    const char *bad = "redgrey_config_reloads_total{result=\"failure\"}";
    char   *conf = daemon_read_file_ok(mil.conf), *broken, *before = scrape(), *after;
    int     good = daemon_log_count(&mil, "configuration reloaded from");
    int     refused = daemon_log_count(&mil, "configuration not reloaded");

    ck_assert_int_eq(daemon_signal(&mil, SIGHUP), 0);
    ck_assert_int_eq(daemon_log_wait(&mil, "configuration reloaded from", good + 1, 5000),
                     good + 1);
    ck_assert_int_ge(asprintf(&broken, "%sdelay = banana\n", conf), 0);
    ck_assert_int_eq(daemon_write_file(mil.conf, broken), 0);
    ck_assert_int_eq(daemon_signal(&mil, SIGHUP), 0);
    ck_assert_int_eq(daemon_log_wait(&mil, "configuration not reloaded", refused + 1, 5000),
                     refused + 1);
    ck_assert_int_eq(daemon_write_file(mil.conf, conf), 0);
    after = scrape();
    ck_assert_double_eq(counter(after, ok) - counter(before, ok), 1);
    ck_assert_double_eq(counter(after, bad) - counter(before, bad), 1);
    free(conf);
    free(broken);
    free(before);
    free(after);
}
END_TEST

/*
 * metrics_listen = [::1]:PORT, on a daemon of its own (LMDB store): the
 * endpoint answers over IPv6 loopback, and a port taken is logged and
 * retried with another.
 */
START_TEST(test_ipv6_listen)
{
    struct daemon d6;
    char    dir[512], store[600], extra[256], *text = NULL;
    struct daemon_redgrey_opts o = {store, NULL, extra, NULL};

    daemon_dir_new(dir, sizeof(dir), "metrics6");
    snprintf(store, sizeof(store), "lmdb:%s", dir);
    metrics_family = AF_INET6;
    for (int tries = 0; tries < 5 && text == NULL; tries++) {
        int     taken = tries == 0 ? 0 : daemon_log_count(&d6, "serving without metrics");

        ck_assert_int_gt(metrics_port = daemon_free_port(), 0);
        snprintf(extra, sizeof(extra), "metrics_listen = [::1]:%d\n", metrics_port);
        ck_assert_int_eq(daemon_start_redgrey_with(&d6, "metrics6", &o), 0);
        if (daemon_log_count(&d6, "serving without metrics") == taken)
            text = scrape();
        ck_assert_int_eq(daemon_stop(&d6, STOP_MS), 0);
    }
    ck_assert_ptr_nonnull(text);
    ck_assert_double_eq(value(text, "redgrey_build_info{version=\"" PACKAGE_VERSION "\"}", -1),
                        1);
    ck_assert_ptr_nonnull(strstr(text, "redgrey_store_request_duration_seconds_count"
                                 "{backend=\"lmdb\"} 0\n"));
    ck_assert_int_eq(daemon_log_count(&d6, "not a loopback address"), 0);
    free(text);
    daemon_dir_remove(dir);
}
END_TEST

/* ------------------------------------------------------------------ main */

static Suite *
metrics_suite(void)
{
    Suite  *s = suite_create("metrics");
    TCase  *unit = tcase_create("unit");
    TCase  *d = tcase_create("daemon");

    tcase_set_timeout(unit, 60);            /* promtool, perl and redgrey -t run here */
    tcase_add_test(unit, test_error_kinds);
    tcase_add_test(unit, test_listen_parse);
    tcase_add_test(unit, test_format_promtool);
    tcase_add_test(unit, test_check_listen);
    tcase_add_test(unit, test_dashboard);
    suite_add_tcase(s, unit);
    tcase_set_timeout(d, 60);
    tcase_add_test(d, test_decisions_counted);
    tcase_add_test(d, test_http_answers);
    tcase_add_test(d, test_scrape_never_blocks);
    tcase_add_test(d, test_sessions_active);
    tcase_add_test(d, test_store_down);
    tcase_add_test(d, test_reloads_counted);
    tcase_add_test(d, test_ipv6_listen);
    suite_add_tcase(s, d);
    return s;
}

/*
 * start_all - dnsmasq, the whitelist, then redgrey with metrics_listen on
 * a free port: a port taken before redgrey binds it is logged, and
 * retried with another. 0 or -1.
 */
static int
start_all(void)
{
    char    wl[512], extra[2048];

    if (daemon_start_dnsmasq(&dns, "spf.test", dns_records) != 0) {
        fprintf(stderr, "check_metrics: dnsmasq did not start\n");
        return -1;
    }
    daemon_scratch_path(wl, sizeof(wl), "metrics-wl-rcpts");
    if (daemon_write_file(wl, "postmaster@\n") != 0)
        return -1;
    for (int tries = 0; tries < 5; tries++) {
        int     taken = daemon_log_count(&mil, "serving without metrics");

        if ((metrics_port = daemon_free_port()) < 0)
            return -1;
        snprintf(extra, sizeof(extra),
                 "metrics_listen = 127.0.0.1:%d\n"
                 "dns_servers = 127.0.0.1:%d\n"
                 "dns_timeout = 2s\n"
                 "whitelist_recipients = %s\n"
                 "null_sender_stage = rcpt\n", metrics_port, dns.port, wl);
        if (daemon_start_redgrey(&mil, "metrics", extra, NULL) != 0)
            return -1;
        /* The listener starts before "starting" is logged, which the start waited for. */
        if (daemon_log_count(&mil, "serving without metrics") == taken)
            return 0;
        if (daemon_stop(&mil, STOP_MS) != 0)
            return -1;
    }
    return -1;
}

/* own_cleanup - never leave the test Redis stopped */
static void
own_cleanup(void)
{
    (void) redis_signal(SIGCONT);
}

int
main(void)
{
    int     failed, stop;

    signal(SIGPIPE, SIG_IGN);            /* a refused HTTP connection is a failed write */
    if (access(PROMTOOL, X_OK) != 0) {
        fprintf(stderr, "check_metrics: %s missing: install the Debian package prometheus\n",
                PROMTOOL);
        return EXIT_FAILURE;
    }
    if (start_all() != 0) {
        fprintf(stderr, "check_metrics: redgrey with metrics did not start\n");
        daemon_log_print(&mil);
        return EXIT_FAILURE;
    }
    atexit(own_cleanup);
    failed = daemon_run_suites(metrics_suite(), NULL);
    own_cleanup();
    stop = daemon_stop(&mil, STOP_MS);
    (void) daemon_stop(&dns, STOP_MS);
    if (failed != 0 || stop != 0)
        daemon_log_print(&mil);
    return failed == 0 && stop == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

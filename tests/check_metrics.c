/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_metrics.c - the Prometheus metrics of the running daemon: their
 * values against the decisions made, and the endpoint never in the way
 * of an SMTP session. check_metrics_text.c tests the text itself (every
 * series through promtool), metrics_listen parsing and the dashboard.
 *
 * main() starts the real redgrey (tests/daemon.c) on the Redis of
 * with-redis.sh with metrics_listen on a free loopback port, dnsmasq as
 * its SPF resolver, and a recipient whitelist; the tests play Postfix
 * with tests/mta.c, scrape GET /metrics over a plain TCP socket, have
 * promtool parse what they got, and check the counters moved exactly as
 * the decisions say (3 greylists, 1 retry pass, 1 whitelist accept ...),
 * the store's errors and availability across a stopped Redis, the reload
 * counters, the HTTP answers (404, 405), metrics_listen on [::1], and
 * that stalled HTTP clients and scrapes in a loop leave the SMTP
 * sessions' answers within their bound.
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

#include "daemon.h"
#include "mta.h"
#include "promtext.h"

#define HTTP_MS       3000               /* bound on one HTTP exchange */
#define HTTP_MAX      (256 * 1024)       /* largest answer read */
#define STOP_MS       8000               /* libmilter's 5 s poll + 3 s */
#define SESSION_MS    3000               /* an SMTP answer while HTTP is busy; HTTP idles 5 s */
#define HTTP_CONNS    8                  /* METRICS_HTTP_CONNS of milter/metrics_http.c */

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

/* ---------------------------------------------------------------- daemon */

/*
 * The decisions of five sessions, counted: 3 greylists (new), 1 accept
 * (whitelisted recipient), then 1 pass (retry) after the delay; 5
 * messages, 4 store decisions (the whitelist does not ask), SPF pass for
 * the pass.spf.test sender (twice) and none for the others (NXDOMAIN).
 * At least 4 DNS lookups are timed: the guard's walk and libspf2's query
 * of each domain once; the SPF result cache answers the repeats.
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
        ck_assert_msg(promtext_counter(after, series[i]) - promtext_counter(before, series[i]) == want[i],
                      "%s: from %g to %g, want +%g", series[i], promtext_counter(before, series[i]),
                      promtext_counter(after, series[i]), want[i]);
    ck_assert_msg(promtext_counter(after, "redgrey_dns_duration_seconds_count")
                  >= promtext_counter(before, "redgrey_dns_duration_seconds_count") + 4,
                  "DNS lookups: from %g to %g, want at least +4",
                  promtext_counter(before, "redgrey_dns_duration_seconds_count"),
                  promtext_counter(after, "redgrey_dns_duration_seconds_count"));
    ck_assert_double_eq(promtext_value(after, "redgrey_store_up", -1), 1);
    ck_assert_double_eq(promtext_value(after, "redgrey_build_info{version=\"" PACKAGE_VERSION "\"}", -1),
                        1);
    promtext_check(after);
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
    ck_assert(promtext_value(text, "redgrey_sessions_active", -1) >= 1);
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
    ck_assert_double_eq(promtext_counter(during, tmo) - promtext_counter(before, tmo)
                        + promtext_counter(during, fast) - promtext_counter(before, fast), 2);
    ck_assert(promtext_counter(during, fast) - promtext_counter(before, fast) >= 1);
    ck_assert_double_eq(promtext_counter(during, acc) - promtext_counter(before, acc), 2);
    ck_assert_double_eq(promtext_value(during, "redgrey_store_up", -1), 0);
    for (until = daemon_now_ms() + 3000; daemon_now_ms() < until; daemon_sleep_ms(100)) {
        free(text);
        text = scrape();
        if (promtext_value(text, "redgrey_store_up", -1) == 1)
            break;
    }
    ck_assert_msg(promtext_value(text, "redgrey_store_up", -1) == 1, "store_up still 0 after 3 s");
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
    ck_assert_double_eq(promtext_counter(after, ok) - promtext_counter(before, ok), 1);
    ck_assert_double_eq(promtext_counter(after, bad) - promtext_counter(before, bad), 1);
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
    ck_assert_double_eq(promtext_value(text, "redgrey_build_info{version=\"" PACKAGE_VERSION "\"}", -1),
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
    TCase  *d = tcase_create("daemon");

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

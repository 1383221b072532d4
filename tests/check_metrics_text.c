/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_metrics_text.c - common/metrics.c in this process: the kinds of
 * the store's real error texts, metrics_listen parsing, the big-sender
 * gauges, and the whole exposition with every series present through
 * `promtool check metrics` (Debian's prometheus package), which must exit
 * 0 and print nothing: no lint problem is accepted. Also redgrey -t on
 * metrics_listen, and contrib/grafana/redgrey.json: valid JSON, every
 * query parsed by promtool, every metric it names written by redgrey.
 * check_metrics.c tests the metrics of the running daemon.
 */
#include "config.h"

#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bigsender.h"
#include "clock.h"
#include "daemon.h"
#include "metrics.h"
#include "netblock.h"
#include "promtext.h"

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
    ck_assert_double_eq(promtext_counter(text, "redgrey_recipients_total{action=\"greylist\","
                                "reason=\"new\"}"), 2);
    ck_assert_double_eq(promtext_counter(text, "redgrey_recipients_total{action=\"accept\","
                                "reason=\"whitelist-rcpt\"}"), 1);
    ck_assert_double_eq(promtext_counter(text, "redgrey_recipients_total{action=\"pass\","
                                "reason=\"mixed-rcpt\"}"), 1);
    ck_assert_double_eq(promtext_value(text, "redgrey_sessions_active", -1), 3);
    ck_assert_double_eq(promtext_value(text, "redgrey_bigsender_ranges{family=\"ipv4\"}", -1), 2);
    ck_assert_double_eq(promtext_value(text, "redgrey_bigsender_ranges{family=\"ipv6\"}", -1), 1);
    ck_assert(promtext_value(text, "redgrey_bigsender_age_seconds", -1) >= 60);
    ck_assert_double_eq(promtext_counter(text, "redgrey_store_errors_total{kind=\"timeout\"}"), 1);
    ck_assert_double_eq(promtext_counter(text, "redgrey_store_errors_total{kind=\"lmdb\"}"), 1);
    ck_assert_double_eq(promtext_value(text, "redgrey_store_up", -1), 0);
    ck_assert_double_eq(promtext_counter(text, "redgrey_store_request_duration_seconds_count"
                                "{backend=\"redis\"}"), 3);
    /* The 3 s request is above every bound but +Inf. */
    ck_assert_double_eq(promtext_counter(text, "redgrey_store_request_duration_seconds_bucket"
                                "{backend=\"redis\",le=\"2.5\"}"), 2);
    ck_assert_double_eq(promtext_counter(text, "redgrey_store_request_duration_seconds_bucket"
                                "{backend=\"redis\",le=\"+Inf\"}"), 3);
    ck_assert(promtext_value(text, "redgrey_store_request_duration_seconds_sum{backend=\"redis\"}", 0)
              >= 3.0);
    ck_assert_double_eq(promtext_counter(text, "redgrey_spf_results_total{result=\"permerror\"}"), 1);
    ck_assert_double_eq(promtext_counter(text, "redgrey_dns_duration_seconds_count"), 1);
    ck_assert_double_eq(promtext_counter(text, "redgrey_config_reloads_total{result=\"failure\"}"), 2);
    ck_assert_double_eq(promtext_value(text, "redgrey_build_info{version=\"" PACKAGE_VERSION "\"}", -1),
                        1);
    promtext_check(text);
    promtext_documented(text);
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

static Suite *
metrics_text_suite(void)
{
    Suite  *s = suite_create("metrics_text");
    TCase  *unit = tcase_create("unit");

    tcase_set_timeout(unit, 60);            /* promtool, perl and redgrey -t run here */
    tcase_add_test(unit, test_error_kinds);
    tcase_add_test(unit, test_listen_parse);
    tcase_add_test(unit, test_format_promtool);
    tcase_add_test(unit, test_check_listen);
    tcase_add_test(unit, test_dashboard);
    suite_add_tcase(s, unit);
    return s;
}

int
main(void)
{
    if (access(PROMTOOL, X_OK) != 0) {
        fprintf(stderr, "check_metrics_text: %s missing: install the Debian package prometheus\n",
                PROMTOOL);
        return EXIT_FAILURE;
    }
    return daemon_run_suites(metrics_text_suite(), NULL) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

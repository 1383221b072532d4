/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_dnsbl.c - the DNS list checker (common/dnsbl.c) against real DNS:
 * nsd serving a blocklist, a second blocklist and a dnswl-like allowlist,
 * behind the test's forwarding resolver (tests/dnsfront.h), which also
 * plays three lists that never answer and one that answers SERVFAIL.
 *
 * Asserted: scores and filters (IPv4, IPv6, IPv4-mapped); three slow
 * zones cost one deadline, not three (elapsed measured, bounded above by
 * 1.5 x the deadline); SERVFAIL and timeouts count as not listed and are
 * reported and counted; a cache hit sends no query (the front counts
 * them), entries live for the answers' TTLs (an injected cache clock, no
 * sleeping) and the cache stays within its bound (LRU eviction); checks
 * from several threads at once.
 */
#include "config.h"

#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "dnsbl.h"
#include "dnsfront.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

#define SOA "@ IN SOA ns.test. hostmaster.test. 1 3600 600 86400 30\n@ IN NS ns.test.\n"
#define V6_10 "0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2"

/* Negative answers: min(SOA TTL 300, MINIMUM 30) = 30 s. */
static const struct dnsfront_zone zones[] = {
    {"bl.test", "$ORIGIN bl.test.\n$TTL 300\n" SOA
     "10.2.0.192 IN A 127.0.0.2\n"
     "11.2.0.192 7 IN A 127.0.0.2\n"
     "23.2.0.192 IN A 127.0.0.3\n"
     "50.2.0.192 IN A 127.0.0.2\n"
     V6_10 " IN A 127.0.0.2\n"},
    {"bl2.test", "$ORIGIN bl2.test.\n$TTL 300\n" SOA
     "10.2.0.192 IN A 127.0.0.4\n"},
    {"wl.test", "$ORIGIN wl.test.\n$TTL 300\n" SOA
     "20.2.0.192 IN A 127.0.5.2\n"
     "21.2.0.192 IN A 127.0.10.1\n"
     "22.2.0.192 IN A 127.0.10.4\n"
     "23.2.0.192 IN A 127.0.15.3\n"
     "23.2.0.192 IN A 127.0.10.1\n"},
};

static const char *const drop_zones[] = {"slow1.test", "slow2.test", "slow3.test", NULL};
static const char *const servfail_zones[] = {"sf.test", NULL};

static struct daemon nsd;
static struct dnsfront *front;
static struct dnsbl_sites sites;
static _Atomic int64_t fake_ms = 1000000;

/* fake_now - the cache clock of the TTL tests */
static int64_t
fake_now(void)
{
    return atomic_load(&fake_ms);
}

/* advance - move the cache clock on by s seconds */
static void
advance(int64_t s)
{
    atomic_fetch_add(&fake_ms, s * 1000);
}

static void
nsd_setup(void)
{
    ck_assert_msg(nsd_start(&nsd, zones, NELEM(zones)) == 0, "nsd did not start");
}

static void
nsd_teardown(void)
{
    nsd_stop(&nsd);
}

static void
front_setup(void)
{
    front = dnsfront_start(nsd.port, drop_zones, servfail_zones);
}

static void
front_teardown(void)
{
    dnsfront_stop(front);
    front = NULL;
}

/*
 * checker - a checker over list, asking the front; timeout_ms, cache_max
 * and the TTL bounds (min 0, max 3600, fail_ttl) as given
 */
static struct dnsbl *
checker(const char *list, int timeout_ms, size_t cache_max, unsigned fail_ttl)
{
    struct dnsbl_params p;
    struct dnsbl *d;
    char    servers[64], err[256];

    ck_assert_msg(dnsbl_sites_parse(list, &sites, err, sizeof(err)) == 0, "%s: %s", list, err);
    snprintf(servers, sizeof(servers), "127.0.0.1:%d", dnsfront_port(front));
    dnsbl_params_init(&p);
    p.sites = &sites;
    p.timeout_ms = timeout_ms;
    p.servers = servers;
    p.cache_max = cache_max;
    p.min_ttl = 0;
    p.fail_ttl = fail_ttl;
    p.now_ms = fake_now;
    d = dnsbl_new(&p, err, sizeof(err));
    ck_assert_msg(d != NULL, "dnsbl_new: %s", err);
    return d;
}

/* check_ip - dnsbl_check of text, which must succeed */
static struct dnsbl_result
check_ip(struct dnsbl *d, const char *text)
{
    struct ipaddr ip = daemon_must_ip(text);
    struct dnsbl_result r;

    ck_assert_msg(dnsbl_check(d, &ip, &r) == 0, "%s: dnsbl_check failed", text);
    return r;
}

/* zone_bit - the bit of zone name in the current sites */
static uint32_t
zone_bit(const char *name)
{
    for (size_t z = 0; z < sites.nzones; z++)
        if (strcmp(sites.zones[z], name) == 0)
            return 1u << z;
    ck_abort_msg("no zone %s", name);
    return 0;
}

#define SCORING "bl.test*2, bl2.test, wl.test=127.0.[0..255].[2..3]*-3, wl.test=127.0.10.1*-1"

static const struct score_case {
    const char *ip;
    int     score;
    const char *listed;                  /* as dnsbl_result_format prints it */
} score_cases[] = {
    {"192.0.2.10", 3, "listed=bl.test,bl2.test "},
    {"::ffff:192.0.2.10", 3, "listed=bl.test,bl2.test "},
    {"192.0.2.20", -3, "listed=wl.test "},            /* 127.0.5.2: [2..3] */
    {"192.0.2.21", -1, "listed=wl.test "},            /* 127.0.10.1 only */
    {"192.0.2.22", 0, "listed=none "},                /* 127.0.10.4: no filter */
    {"192.0.2.23", -2, "listed=bl.test,wl.test "},    /* 2 - 3 - 1 */
    {"192.0.2.99", 0, "listed=none "},
    {"2001:db8::10", 2, "listed=bl.test "},
    {"2001:db8::11", 0, "listed=none "},
};

START_TEST(test_scores_and_filters)
{
    const struct score_case *c = &score_cases[_i];
    struct dnsbl *d = checker(SCORING, 2000, 0, 10);
    struct dnsbl_result r = check_ip(d, c->ip);
    char    line[512];

    dnsbl_result_format(d, &r, line, sizeof(line));
    ck_assert_msg(r.score == c->score, "%s: score %d, want %d (%s)", c->ip, r.score, c->score,
                  line);
    ck_assert_msg(strstr(line, c->listed) != NULL, "%s: %s, want %s", c->ip, line, c->listed);
    ck_assert_msg(r.timed_out == 0 && r.failed == 0 && r.cached == 0, "%s: %s", c->ip, line);
    ck_assert_msg(strstr(line, "timeout=none failed=none ") != NULL, "%s", line);
    ck_assert_uint_eq(dnsfront_count(front, NULL), 3);  /* one query per zone */
    dnsbl_free(d);
}
END_TEST

START_TEST(test_filter_on_blocklist)
{
    struct dnsbl *d = checker("bl.test=127.0.0.2*5", 2000, 0, 10);

    ck_assert_int_eq(check_ip(d, "192.0.2.10").score, 5);       /* 127.0.0.2 */
    ck_assert_int_eq(check_ip(d, "192.0.2.23").score, 0);       /* 127.0.0.3 */
    ck_assert_uint_eq(check_ip(d, "192.0.2.23").listed, 0);
    dnsbl_free(d);
}
END_TEST

START_TEST(test_three_slow_zones_one_deadline)
{
    const int deadline = 600;
    struct dnsbl *d = checker("bl.test, slow1.test, slow2.test, slow3.test", deadline, 0, 10);
    struct dnsbl_stats st;
    struct dnsbl_result r;
    char    line[512];

    r = check_ip(d, "192.0.2.10");
    dnsbl_result_format(d, &r, line, sizeof(line));
    ck_assert_msg(r.elapsed_ms >= deadline - 10 && r.elapsed_ms <= deadline * 3 / 2,
                  "elapsed %ld ms for a %d ms deadline (%s)", r.elapsed_ms, deadline, line);
    ck_assert_msg(r.score == 1 && r.listed == zone_bit("bl.test"), "%s", line);
    ck_assert_uint_eq(r.timed_out, zone_bit("slow1.test") | zone_bit("slow2.test")
                      | zone_bit("slow3.test"));
    ck_assert_uint_eq(r.failed, 0);
    ck_assert_msg(strstr(line, "timeout=slow1.test,slow2.test,slow3.test ") != NULL, "%s", line);
    /* all three went out, each under its own name */
    ck_assert_uint_eq(dnsfront_distinct(front, "slow1.test"), 1);
    ck_assert_uint_eq(dnsfront_distinct(front, "slow2.test"), 1);
    ck_assert_uint_eq(dnsfront_distinct(front, "slow3.test"), 1);
    dnsbl_stats(d, &st);
    ck_assert_uint_eq(st.timeouts, 3);
    ck_assert_uint_eq(st.failures, 0);
    ck_assert_uint_eq(st.queries, 4);
    dnsbl_free(d);
}
END_TEST

START_TEST(test_servfail_not_listed)
{
    struct dnsbl *d = checker("bl.test*2, sf.test*5", 2000, 0, 10);
    struct dnsbl_stats st;
    struct dnsbl_result r = check_ip(d, "192.0.2.10");
    char    line[512];

    dnsbl_result_format(d, &r, line, sizeof(line));
    ck_assert_msg(r.score == 2 && r.listed == zone_bit("bl.test"), "%s", line);
    ck_assert_uint_eq(r.failed, zone_bit("sf.test"));
    ck_assert_uint_eq(r.timed_out, 0);
    ck_assert_msg(strstr(line, "failed=sf.test ") != NULL, "%s", line);
    /* SERVFAIL is final: no waiting for the deadline */
    ck_assert_msg(r.elapsed_ms < 1000, "SERVFAIL took %ld ms", r.elapsed_ms);
    dnsbl_stats(d, &st);
    ck_assert_uint_eq(st.failures, 1);
    ck_assert_uint_eq(st.timeouts, 0);
    dnsbl_free(d);
}
END_TEST

START_TEST(test_cache_hit_sends_nothing)
{
    struct dnsbl *d = checker(SCORING, 2000, 100, 10);
    struct dnsbl_result r1 = check_ip(d, "192.0.2.23"), r2;
    struct dnsbl_stats st;
    unsigned sent = dnsfront_count(front, NULL);

    ck_assert_int_eq(r1.cached, 0);
    ck_assert_uint_eq(sent, 3);
    r2 = check_ip(d, "192.0.2.23");
    ck_assert_int_eq(r2.cached, 1);
    ck_assert_int_eq(r2.elapsed_ms, 0);
    ck_assert_int_eq(r2.score, r1.score);
    ck_assert_uint_eq(r2.listed, r1.listed);
    ck_assert_uint_eq(r2.sites, r1.sites);
    ck_assert_uint_eq(dnsfront_count(front, NULL), sent);
    /* the same client on an IPv4-mapped address is the same entry */
    ck_assert_int_eq(check_ip(d, "::ffff:192.0.2.23").cached, 1);
    ck_assert_uint_eq(dnsfront_count(front, NULL), sent);
    dnsbl_stats(d, &st);
    ck_assert_uint_eq(st.cache_hits, 2);
    ck_assert_uint_eq(st.checks, 3);
    dnsbl_free(d);
}
END_TEST

/* ttl_case - ip is cached for exactly ttl seconds (hit before, miss after) */
static void
ttl_case(struct dnsbl *d, const char *ip, int64_t ttl)
{
    unsigned before;

    ck_assert_int_eq(check_ip(d, ip).cached, 0);
    advance(ttl - 1);
    ck_assert_msg(check_ip(d, ip).cached == 1, "%s: not cached after %lld s", ip,
                  (long long) (ttl - 1));
    before = dnsfront_count(front, NULL);
    advance(2);
    ck_assert_msg(check_ip(d, ip).cached == 0, "%s: still cached after %lld s", ip,
                  (long long) (ttl + 1));
    ck_assert_uint_gt(dnsfront_count(front, NULL), before);
}

START_TEST(test_cache_ttls)
{
    struct dnsbl *d = checker("bl.test", 2000, 100, 10);

    ttl_case(d, "192.0.2.10", 300);      /* the A record's TTL */
    ttl_case(d, "192.0.2.11", 7);        /* a shorter one */
    ttl_case(d, "192.0.2.99", 30);       /* NXDOMAIN: min(SOA TTL, MINIMUM) */
    dnsbl_free(d);
    /* the smallest TTL over the zones: bl.test's 300, wl.test's negative 30 */
    d = checker("bl.test, wl.test", 2000, 100, 10);
    ttl_case(d, "192.0.2.50", 30);
    dnsbl_free(d);
    /* a result with a failed zone lives fail_ttl; with 0 it is not kept */
    d = checker("bl.test, sf.test", 2000, 100, 10);
    ttl_case(d, "192.0.2.10", 10);
    dnsbl_free(d);
    d = checker("bl.test, sf.test", 2000, 100, 0);
    ck_assert_int_eq(check_ip(d, "192.0.2.10").cached, 0);
    ck_assert_int_eq(check_ip(d, "192.0.2.10").cached, 0);
    ck_assert_uint_eq(dnsbl_cache_size(d), 0);
    dnsbl_free(d);
}
END_TEST

START_TEST(test_cache_min_ttl_clamp)
{
    struct dnsbl_params p;
    struct dnsbl *d;
    char    servers[64], err[256];

    ck_assert_int_eq(dnsbl_sites_parse("bl.test", &sites, err, sizeof(err)), 0);
    snprintf(servers, sizeof(servers), "127.0.0.1:%d", dnsfront_port(front));
    dnsbl_params_init(&p);
    p.sites = &sites;
    p.servers = servers;
    p.now_ms = fake_now;
    p.max_ttl = 100;                     /* min_ttl stays the default 60 */
    ck_assert_ptr_nonnull(d = dnsbl_new(&p, err, sizeof(err)));
    ttl_case(d, "192.0.2.11", 60);       /* 7 s raised to 60 */
    ttl_case(d, "192.0.2.10", 100);      /* 300 s cut to 100 */
    dnsbl_free(d);
}
END_TEST

START_TEST(test_cache_bounded_lru)
{
    static const char *const ips[] = {"192.0.2.40", "192.0.2.41", "192.0.2.42", "192.0.2.43"};
    struct dnsbl *d = checker("bl.test", 2000, 4, 10);
    struct dnsbl_stats st;
    unsigned sent;

    for (size_t i = 0; i < NELEM(ips); i++)
        check_ip(d, ips[i]);
    ck_assert_uint_eq(dnsbl_cache_size(d), 4);
    ck_assert_int_eq(check_ip(d, "192.0.2.40").cached, 1);  /* now the most recent */
    check_ip(d, "192.0.2.44");                             /* evicts .41, the oldest */
    ck_assert_uint_eq(dnsbl_cache_size(d), 4);
    dnsbl_stats(d, &st);
    ck_assert_uint_eq(st.evictions, 1);
    sent = dnsfront_count(front, NULL);
    ck_assert_int_eq(check_ip(d, "192.0.2.40").cached, 1);
    ck_assert_int_eq(check_ip(d, "192.0.2.44").cached, 1);
    ck_assert_uint_eq(dnsfront_count(front, NULL), sent);
    ck_assert_int_eq(check_ip(d, "192.0.2.41").cached, 0);  /* was evicted: asked again */
    ck_assert_uint_eq(dnsfront_count(front, NULL), sent + 1);
    ck_assert_uint_eq(dnsbl_cache_size(d), 4);
    for (int i = 0; i < 50; i++) {
        char    ip[32];

        snprintf(ip, sizeof(ip), "198.51.100.%d", i);
        check_ip(d, ip);
    }
    ck_assert_uint_eq(dnsbl_cache_size(d), 4);
    dnsbl_stats(d, &st);
    ck_assert_uint_eq(st.evictions, 52);
    dnsbl_free(d);
}
END_TEST

struct worker {
    struct dnsbl *d;
    int     base;
    int     bad;
};

/* worker_main - checks of listed and unlisted clients; counts wrong scores */
static void *
worker_main(void *arg)
{
    struct worker *w = arg;

    for (int i = 0; i < 12; i++) {
        const struct score_case *c = &score_cases[(w->base + i) % NELEM(score_cases)];
        struct ipaddr ip = daemon_must_ip(c->ip);
        struct dnsbl_result r;

        if (dnsbl_check(w->d, &ip, &r) != 0 || r.score != c->score)
            w->bad++;
    }
    return NULL;
}

START_TEST(test_threads)
{
    struct dnsbl *d = checker(SCORING, 2000, 3, 10);    /* a small cache: hits and misses */
    struct worker w[4];
    pthread_t t[4];

    for (int i = 0; i < 4; i++) {
        w[i] = (struct worker) {d, i * 2, 0};
        ck_assert_int_eq(pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        ck_assert_msg(w[i].bad == 0, "thread %d: %d wrong results", i, w[i].bad);
    }
    ck_assert_uint_le(dnsbl_cache_size(d), 3);
    dnsbl_free(d);
}
END_TEST

START_TEST(test_bad_servers)
{
    struct dnsbl_params p;
    struct dnsbl *d;
    char    err[256] = "";

    ck_assert_int_eq(dnsbl_sites_parse("bl.test", &sites, err, sizeof(err)), 0);
    dnsbl_params_init(&p);
    p.sites = &sites;
    p.servers = "not an address";
    ck_assert_ptr_null(dnsbl_new(&p, err, sizeof(err)));
    ck_assert_msg(strstr(err, "not an address") != NULL, "%s", err);
    /* production: the resolver of /etc/resolv.conf (no query is sent here) */
    p.servers = NULL;
    d = dnsbl_new(&p, err, sizeof(err));
    ck_assert_msg(d != NULL, "resolv.conf: %s", err);
    dnsbl_free(d);
}
END_TEST

static Suite *
dnsbl_suite(void)
{
    Suite  *s = suite_create("dnsbl");
    TCase  *tc = tcase_create("nsd");

    tcase_add_unchecked_fixture(tc, nsd_setup, nsd_teardown);
    tcase_add_checked_fixture(tc, front_setup, front_teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_loop_test(tc, test_scores_and_filters, 0, NELEM(score_cases));
    tcase_add_test(tc, test_filter_on_blocklist);
    tcase_add_test(tc, test_three_slow_zones_one_deadline);
    tcase_add_test(tc, test_servfail_not_listed);
    tcase_add_test(tc, test_cache_hit_sends_nothing);
    tcase_add_test(tc, test_cache_ttls);
    tcase_add_test(tc, test_cache_min_ttl_clamp);
    tcase_add_test(tc, test_cache_bounded_lru);
    tcase_add_test(tc, test_threads);
    tcase_add_test(tc, test_bad_servers);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return daemon_run_suites(dnsbl_suite(), NULL) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

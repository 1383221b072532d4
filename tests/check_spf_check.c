/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_spf_check.c - the per-message SPF check: results, the identity
 * (MAIL FROM domain or HELO for <>), IPv4 and IPv6, the over-broad guard
 * and its cache, junk input, many threads on one checker, and the DNS time
 * bound both through a slow test layer and through the real resolver
 * pointed at a loopback UDP socket that never answers.
 *
 * Records come from libspf2's zone layer; nothing touches a real network.
 */
#include "config.h"

#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "clock.h"
#include "daemon.h"
#include "ipaddr.h"
#include "spf_check.h"
#include "spf_resolver.h"
#include "zone.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

#define TXT(n, d) {n, ns_t_txt, 0, d}

/* The test zone. Clients are documentation or private addresses. */
static const struct zone_rec zone_recs[] = {
    TXT("pass.example", "v=spf1 ip4:198.51.100.0/24 ip6:2001:db8:5::/48 -all"),
    TXT("soft.example", "v=spf1 ip4:203.0.113.0/24 ~all"),
    TXT("fail.example", "v=spf1 ip4:203.0.113.0/24 -all"),
    TXT("neutral.example", "v=spf1 ?all"),
    TXT("text.example", "google-site-verification=abc"),
    TXT("helo.example", "v=spf1 ip4:203.0.113.0/24 ip6:2001:db8:7::/48 -all"),
    TXT("all.example", "v=spf1 +all"),
    TXT("half.example", "v=spf1 ip4:0.0.0.0/1 -all"),
    TXT("wild.example", "v=spf1 exists:%{i}.ok.wild.example -all"),
    {"*.ok.wild.example", ns_t_a, 0, "127.0.0.2"},
    TXT("mx.example", "v=spf1 ip4:198.51.100.0/24 -all"),
    TXT("incl.example", "v=spf1 include:pass.example -all"),
    {"temp.example", ns_t_txt, TRY_AGAIN, NULL},
    TXT("tempincl.example", "v=spf1 include:temp.example -all"),
    TXT("permincl.example", "v=spf1 include:nx.example -all"),
    TXT("permsyntax.example", "v=spf1 ip4:198.51.100.0/24 ip4:999.1.1.1 -all"),
    TXT("two.example", "v=spf1 -all"),
    TXT("two.example", "v=spf1 +all"),
    TXT("mxmech.example", "v=spf1 mx -all"),
    {"mxmech.example", ns_t_mx, 0, "10 mail.mxmech.example"},
    {"mail.mxmech.example", ns_t_aaaa, 0, "2001:db8:9::25"},
};

/* An injectable clock. */
static time_t fake_now = 1000000;

static time_t
fake_clock(void)
{
    return fake_now;
}

/* checker - a checker over the test zone, optional extra probe */
static struct spf_check *
checker(const char *probe)
{
    static struct ipaddr probe_ip;
    struct spf_check_opts o;
    struct spf_check *chk;
    char    err[256] = "";

    memset(&o, 0, sizeof(o));
    o.clock = fake_clock;
    o.cache_ttl = 600;
    if (probe) {
        ck_assert_int_eq(ipaddr_parse(probe, &probe_ip), 0);
        o.probe = &probe_ip;
    }
    chk = spf_check_new(&o, zone_new(zone_recs, NELEM(zone_recs)), err, sizeof(err));
    ck_assert_msg(chk != NULL, "spf_check_new: %s", err);
    return chk;
}

static const struct ccase {
    const char *label;
    const char *client;                  /* NULL: no address */
    const char *helo;
    const char *sender;                  /* the MAIL FROM domain */
    enum spf_check_result want;
    int     keyable;
    int     overbroad;
    int     helo_used;
    const char *domain;                  /* identity reported */
} ccases[] = {
    {"pass v4", "198.51.100.7", "mx.sender.example", "pass.example", SPF_CHECK_PASS, 1, 0, 0, "pass.example"},
    {"pass v6", "2001:db8:5::25", "mx.sender.example", "pass.example", SPF_CHECK_PASS, 1, 0, 0, "pass.example"},
    {"pass via include", "198.51.100.8", NULL, "incl.example", SPF_CHECK_PASS, 1, 0, 0, "incl.example"},
    {"pass via mx, v6", "2001:db8:9::25", NULL, "mxmech.example", SPF_CHECK_PASS, 1, 0, 0, "mxmech.example"},
    {"case and trailing dot", "198.51.100.7", NULL, "PASS.Example.", SPF_CHECK_PASS, 1, 0, 0, "pass.example"},
    {"fail", "198.51.100.7", NULL, "fail.example", SPF_CHECK_FAIL, 0, 0, 0, "fail.example"},
    {"softfail", "198.51.100.7", NULL, "soft.example", SPF_CHECK_SOFTFAIL, 0, 0, 0, "soft.example"},
    {"neutral", "198.51.100.7", NULL, "neutral.example", SPF_CHECK_NEUTRAL, 0, 0, 0, "neutral.example"},
    {"none: no such domain", "198.51.100.7", NULL, "nx.example", SPF_CHECK_NONE, 0, 0, 0, "nx.example"},
    {"none: TXT but no SPF", "198.51.100.7", NULL, "text.example", SPF_CHECK_NONE, 0, 0, 0, "text.example"},
    {"null sender: HELO pass", "203.0.113.9", "helo.example", "", SPF_CHECK_PASS, 1, 0, 1, "helo.example"},
    {"null sender NULL: HELO pass v6", "2001:db8:7::1", "helo.example", NULL, SPF_CHECK_PASS, 1, 0, 1, "helo.example"},
    {"null sender: HELO fail", "198.51.100.7", "helo.example", "", SPF_CHECK_FAIL, 0, 0, 1, "helo.example"},
    {"sender wins over HELO", "203.0.113.9", "helo.example", "pass.example", SPF_CHECK_FAIL, 0, 0, 0, "pass.example"},
    {"over-broad: +all", "198.51.100.7", NULL, "all.example", SPF_CHECK_PASS, 0, 1, 0, "all.example"},
    {"over-broad: ip4:0.0.0.0/1", "10.9.8.7", NULL, "half.example", SPF_CHECK_PASS, 0, 1, 0, "half.example"},
    {"over-broad: exists wildcard", "198.51.100.7", NULL, "wild.example", SPF_CHECK_PASS, 0, 1, 0, "wild.example"},
    {"temperror: own record SERVFAIL", "198.51.100.7", NULL, "temp.example", SPF_CHECK_TEMPERROR, 0, 0, 0, "temp.example"},
    {"temperror: include SERVFAIL", "198.51.100.7", NULL, "tempincl.example", SPF_CHECK_TEMPERROR, 0, 0, 0, "tempincl.example"},
    {"permerror: include of none", "198.51.100.7", NULL, "permincl.example", SPF_CHECK_PERMERROR, 0, 0, 0, "permincl.example"},
    {"permerror: bad syntax", "198.51.100.7", NULL, "permsyntax.example", SPF_CHECK_PERMERROR, 0, 0, 0, "permsyntax.example"},
    {"permerror: two records", "198.51.100.7", NULL, "two.example", SPF_CHECK_PERMERROR, 0, 0, 0, "two.example"},
    /* Junk and edge input: no DNS, result none, nothing keyable. */
    {"no client address", NULL, "helo.example", "pass.example", SPF_CHECK_NONE, 0, 0, 0, ""},
    {"loopback client", "127.0.0.1", NULL, "pass.example", SPF_CHECK_NONE, 0, 0, 0, ""},
    {"loopback v6 client", "::1", NULL, "pass.example", SPF_CHECK_NONE, 0, 0, 0, ""},
    {"no identity at all", "198.51.100.7", NULL, NULL, SPF_CHECK_NONE, 0, 0, 0, ""},
    {"empty HELO and sender", "198.51.100.7", "", "", SPF_CHECK_NONE, 0, 0, 0, ""},
    {"address-literal HELO", "198.51.100.7", "[198.51.100.7]", "", SPF_CHECK_NONE, 0, 0, 0, ""},
    {"single-label sender", "198.51.100.7", NULL, "localhost", SPF_CHECK_NONE, 0, 0, 0, ""},
    {"sender with space", "198.51.100.7", NULL, "pass example", SPF_CHECK_NONE, 0, 0, 0, ""},
    {"sender with macro", "198.51.100.7", NULL, "%{i}.pass.example", SPF_CHECK_NONE, 0, 0, 0, ""},
    {"sender with empty label", "198.51.100.7", NULL, "pass..example", SPF_CHECK_NONE, 0, 0, 0, ""},
    {"sender label starts with '-'", "198.51.100.7", NULL, "-pass.example", SPF_CHECK_NONE, 0, 0, 0, ""},
    {"sender label ends with '-'", "198.51.100.7", NULL, "pass-.example", SPF_CHECK_NONE, 0, 0, 0, ""},
    {"sender too long", "198.51.100.7", NULL,
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example",
     SPF_CHECK_NONE, 0, 0, 0, ""},
    {"junk HELO, good sender", "198.51.100.7", "bad helo!", "pass.example", SPF_CHECK_PASS, 1, 0, 0, "pass.example"},
};

/* test_check - one table row */
START_TEST(test_check)
{
    const struct ccase *c = &ccases[_i];
    struct spf_check *chk = checker(NULL);
    struct spf_result r;
    struct ipaddr ip;

    if (c->client)
        ck_assert_int_eq(ipaddr_parse(c->client, &ip), 0);
    ck_assert_int_eq(spf_check_client(chk, c->client ? &ip : NULL, c->helo, c->sender, &r), 0);
    ck_assert_msg(r.result == c->want, "%s: got %s, want %s", c->label,
                  spf_check_result_name(r.result), spf_check_result_name(c->want));
    ck_assert_msg(r.keyable == c->keyable, "%s: keyable got %d, want %d", c->label, r.keyable, c->keyable);
    ck_assert_msg(spf_result_overbroad(&r) == c->overbroad, "%s: overbroad got %d, want %d", c->label,
                  spf_result_overbroad(&r), c->overbroad);
    ck_assert_msg(r.helo == c->helo_used, "%s: helo got %d, want %d", c->label, r.helo, c->helo_used);
    ck_assert_msg(strcmp(r.domain, c->domain) == 0, "%s: domain got \"%s\", want \"%s\"", c->label,
                  r.domain, c->domain);
    ck_assert_int_eq(r.cached, 0);
    spf_check_free(chk);
}
END_TEST

/* test_bad_family - an address of no family is refused without a crash */
START_TEST(test_bad_family)
{
    struct spf_check *chk = checker(NULL);
    struct spf_result r;
    struct ipaddr ip;

    memset(&ip, 0, sizeof(ip));
    ip.family = AF_UNIX;
    ck_assert_int_eq(spf_check_client(chk, &ip, "helo.example", "pass.example", &r), 0);
    ck_assert_int_eq(r.result, SPF_CHECK_NONE);
    ck_assert_int_eq(spf_check_client(NULL, &ip, "helo.example", "pass.example", &r), 0);
    ck_assert_int_eq(r.result, SPF_CHECK_NONE);
    spf_check_free(chk);
    spf_check_free(NULL);
}
END_TEST

/* test_probe_our_mx - a record that authorises our own MX is not keyable */
START_TEST(test_probe_our_mx)
{
    struct spf_check *chk = checker("198.51.100.25");
    struct spf_result r;
    struct ipaddr ip;

    ck_assert_int_eq(ipaddr_parse("198.51.100.7", &ip), 0);
    spf_check_client(chk, &ip, NULL, "mx.example", &r);
    ck_assert_int_eq(r.result, SPF_CHECK_PASS);
    ck_assert_int_eq(spf_result_overbroad(&r), 1);
    ck_assert_int_eq(r.keyable, 0);

    /* pass.example does not include 198.51.100.25? It does (/24): also over-broad. */
    spf_check_client(chk, &ip, NULL, "pass.example", &r);
    ck_assert_int_eq(r.keyable, 0);

    /* helo.example (203.0.113.0/24) does not: keyable. */
    ck_assert_int_eq(ipaddr_parse("203.0.113.9", &ip), 0);
    spf_check_client(chk, &ip, NULL, "helo.example", &r);
    ck_assert_int_eq(r.keyable, 1);
    spf_check_free(chk);
}
END_TEST

/* test_cache - verdicts are cached per domain, for cache_ttl */
START_TEST(test_cache)
{
    struct spf_check *chk = checker(NULL);
    struct spf_result r;
    struct ipaddr ip, ip6;

    ck_assert_int_eq(ipaddr_parse("198.51.100.7", &ip), 0);
    ck_assert_int_eq(ipaddr_parse("2001:db8:5::9", &ip6), 0);

    /* First sighting computes, the second (any client) reads the cache. */
    spf_check_client(chk, &ip, NULL, "all.example", &r);
    ck_assert(spf_result_overbroad(&r) && !r.cached);
    spf_check_client(chk, &ip6, NULL, "all.example", &r);
    ck_assert_msg(spf_result_overbroad(&r) && r.cached, "over-broad second: overbroad %d cached %d", spf_result_overbroad(&r), r.cached);

    spf_check_client(chk, &ip, NULL, "pass.example", &r);
    ck_assert(r.keyable && !r.cached);
    spf_check_client(chk, &ip6, NULL, "PASS.example", &r);
    ck_assert_msg(r.keyable && r.cached, "narrow second: keyable %d cached %d", r.keyable, r.cached);

    /* Failing results are never cached or keyed. */
    spf_check_client(chk, &ip, NULL, "fail.example", &r);
    ck_assert(!r.keyable && !r.cached);

    /* After the TTL the verdict is computed again. */
    fake_now += 601;
    spf_check_client(chk, &ip, NULL, "all.example", &r);
    ck_assert_msg(spf_result_overbroad(&r) && !r.cached, "after ttl: overbroad %d cached %d", spf_result_overbroad(&r), r.cached);
    spf_check_free(chk);
}
END_TEST

/* test_cache_bounded - a tiny cache evicts, and still answers right */
START_TEST(test_cache_bounded)
{
    struct spf_check_opts o;
    struct spf_check *chk;
    struct spf_result r;
    struct ipaddr ip;
    char    err[256];
    int     round, hits = 0;

    memset(&o, 0, sizeof(o));
    o.cache_size = 1;                    /* one set of 4 ways */
    o.clock = fake_clock;
    chk = spf_check_new(&o, zone_new(zone_recs, NELEM(zone_recs)), err, sizeof(err));
    ck_assert_ptr_nonnull(chk);
    ck_assert_int_eq(ipaddr_parse("198.51.100.7", &ip), 0);
    for (round = 0; round < 3; round++) {
        static const char *const doms[] = {"pass.example", "all.example", "incl.example",
            "mx.example", "wild.example", "PASS.EXAMPLE"};
        size_t  i;

        for (i = 0; i < NELEM(doms); i++) {
            spf_check_client(chk, &ip, NULL, doms[i], &r);
            ck_assert_int_eq(r.result, SPF_CHECK_PASS);
            ck_assert_int_eq(r.keyable, strcasecmp(doms[i], "pass.example") == 0
                             || strcmp(doms[i], "incl.example") == 0 || strcmp(doms[i], "mx.example") == 0);
            hits += r.cached;
        }
    }
    ck_assert_int_lt(hits, 3 * 6);       /* 5 domains cannot all stay in 4 ways */
    spf_check_free(chk);
}
END_TEST

struct thread_arg {
    struct spf_check *chk;
    int     id;
    int     errors;
};

/* worker - many checks on the shared checker; count wrong answers */
static void *
worker(void *p)
{
    struct thread_arg *a = p;
    static const size_t picks[] = {0, 1, 2, 5, 6, 10, 14, 15, 17, 19};
    int     i;

    for (i = 0; i < 150; i++) {
        const struct ccase *c = &ccases[picks[(size_t) (i + a->id) % NELEM(picks)]];
        struct spf_result r;
        struct ipaddr ip;

        if (ipaddr_parse(c->client, &ip) != 0
            || spf_check_client(a->chk, &ip, c->helo, c->sender, &r) != 0
            || r.result != c->want || r.keyable != c->keyable || strcmp(r.domain, c->domain) != 0)
            a->errors++;
    }
    return NULL;
}

/* test_threads - eight threads share one checker (and one SPF_server_t) */
START_TEST(test_threads)
{
    struct spf_check *chk = checker(NULL);
    pthread_t tid[8];
    struct thread_arg args[8];
    int     i, errors = 0;

    for (i = 0; i < 8; i++) {
        args[i] = (struct thread_arg) {chk, i, 0};
        ck_assert_int_eq(pthread_create(&tid[i], NULL, worker, &args[i]), 0);
    }
    for (i = 0; i < 8; i++) {
        pthread_join(tid[i], NULL);
        errors += args[i].errors;
    }
    ck_assert_msg(errors == 0, "threads: got %d wrong answers, want 0", errors);
    spf_check_free(chk);
}
END_TEST

/*
 * test_timeout_slow_layer - a record needing 12 slow lookups against a
 * 600 ms budget: temperror (never keyable) within the budget plus one lookup.
 */
START_TEST(test_timeout_slow_layer)
{
    static const struct zone_rec recs[] = {
        TXT("chain.example", "v=spf1 include:c1.example include:c2.example include:c3.example"
            " include:c4.example include:c5.example include:c6.example include:pass.example -all"),
        TXT("c1.example", "v=spf1 -all"), TXT("c2.example", "v=spf1 -all"),
        TXT("c3.example", "v=spf1 -all"), TXT("c4.example", "v=spf1 -all"),
        TXT("c5.example", "v=spf1 -all"), TXT("c6.example", "v=spf1 -all"),
        TXT("pass.example", "v=spf1 ip4:198.51.100.0/24 -all"),
    };
    struct spf_check_opts o;
    struct spf_check *chk;
    struct spf_result r;
    struct ipaddr ip;
    int64_t t0;
    char    err[256];
    long    took;

    memset(&o, 0, sizeof(o));
    o.dns_timeout_ms = 600;
    chk = spf_check_new(&o, zone_slow_new(zone_new(recs, NELEM(recs)), 150), err, sizeof(err));
    ck_assert_ptr_nonnull(chk);
    ck_assert_int_eq(ipaddr_parse("198.51.100.7", &ip), 0);

    t0 = clock_mono_ms();
    spf_check_client(chk, &ip, NULL, "chain.example", &r);
    took = (long) (clock_mono_ms() - t0);
    ck_assert_msg(r.result == SPF_CHECK_TEMPERROR, "slow: got %s, want temperror",
                  spf_check_result_name(r.result));
    ck_assert_int_eq(r.keyable, 0);
    ck_assert_msg(took < 600 + 150 + 400, "slow: took %ld ms, want < 1150", took);
    ck_assert_int_eq(spf_resolver_remaining_ms(), -1);
    spf_check_free(chk);
}
END_TEST

/*
 * test_timeout_probes - the guard's walk runs out of budget (the third
 * lookup comes too late): not keyable, and neither the incomplete static
 * set nor the temperror is cached, so the next message asks again.
 */
START_TEST(test_timeout_probes)
{
    static const struct zone_rec recs[] = {
        TXT("pass.example", "v=spf1 ip4:198.51.100.0/24 include:i1.example include:i2.example -all"),
        TXT("i1.example", "v=spf1 ip4:203.0.113.0/24 -all"),
        TXT("i2.example", "v=spf1 ip4:203.0.114.0/24 -all"),
    };
    struct spf_check_opts o;
    struct spf_check *chk;
    struct spf_result r;
    struct ipaddr ip;
    char    err[256];

    memset(&o, 0, sizeof(o));
    o.dns_timeout_ms = 300;
    chk = spf_check_new(&o, zone_slow_new(zone_new(recs, NELEM(recs)), 200), err, sizeof(err));
    ck_assert_ptr_nonnull(chk);
    ck_assert_int_eq(ipaddr_parse("198.51.100.7", &ip), 0);
    for (int i = 0; i < 2; i++) {
        spf_check_client(chk, &ip, NULL, "pass.example", &r);
        ck_assert_msg(r.result == SPF_CHECK_TEMPERROR, "try %d: got %s", i,
                      spf_check_result_name(r.result));
        ck_assert_int_eq(r.keyable, 0);
        ck_assert_int_eq(r.result_cached, 0);
    }
    spf_check_free(chk);
}
END_TEST

/*
 * test_timeout_resolver - the real resolver layer, pointed at a loopback
 * UDP socket that reads queries and never answers: temperror after about
 * dns_timeout (2 s), and the socket did get the query. This exercises the
 * res_state timeout setting; no namespace or resolv.conf trick is needed
 * because the layer takes its server list from the options.
 */
START_TEST(test_timeout_resolver)
{
    struct sockaddr_in sin;
    socklen_t slen = sizeof(sin);
    struct spf_check_opts o;
    struct spf_check *chk;
    struct spf_result r;
    struct ipaddr ip;
    int64_t t0;
    char    servers[64], err[256] = "", buf[512];
    long    took;
    int     fd, got = 0;

    fd = socket(AF_INET, SOCK_DGRAM, 0);
    ck_assert_int_ge(fd, 0);
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(fd, (struct sockaddr *) &sin, sizeof(sin)), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *) &sin, &slen), 0);
    snprintf(servers, sizeof(servers), "127.0.0.1:%u", ntohs(sin.sin_port));

    memset(&o, 0, sizeof(o));
    o.dns_timeout_ms = 2000;
    o.dns_servers = servers;
    chk = spf_check_new(&o, NULL, err, sizeof(err));
    ck_assert_msg(chk != NULL, "spf_check_new: %s", err);
    ck_assert_int_eq(ipaddr_parse("198.51.100.7", &ip), 0);

    t0 = clock_mono_ms();
    spf_check_client(chk, &ip, "mx.sender.example", "silent.example", &r);
    took = (long) (clock_mono_ms() - t0);
    ck_assert_msg(r.result == SPF_CHECK_TEMPERROR, "silent server: got %s, want temperror",
                  spf_check_result_name(r.result));
    ck_assert_int_eq(r.keyable, 0);
    ck_assert_msg(took >= 1500 && took < 3500, "silent server: took %ld ms, want about 2000", took);
    while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
        got++;
    ck_assert_msg(got >= 1, "silent server: got %d queries, want >= 1", got);
    spf_check_free(chk);
    close(fd);
}
END_TEST

static const struct scase {
    const char *label;
    const char *servers;
    int     ok;
} scases[] = {
    {"one server", "127.0.0.1", 1},
    {"ports and separators", "127.0.0.1:5353, 127.0.0.2 127.0.0.3:53", 1},
    {"empty is resolv.conf", "", 1},
    {"four servers", "127.0.0.1 127.0.0.2 127.0.0.3 127.0.0.4", 0},
    {"ipv6 server", "::1", 0},
    {"port zero", "127.0.0.1:0", 0},
    {"port too big", "127.0.0.1:65536", 0},
    {"port junk", "127.0.0.1:53x", 0},
    {"name", "localhost", 0},
    {"long word", "127.000000000000000000000000000000000000000000000000000000000000000.0.0.1", 0},
};

/* test_servers - the servers option */
START_TEST(test_servers)
{
    const struct scase *c = &scases[_i];
    struct spf_resolver_opts o = {.timeout_ms = 1000, .servers = c->servers};
    char    err[256] = "";
    SPF_dns_server_t *d = spf_resolver_new(&o, err, sizeof(err));

    ck_assert_msg((d != NULL) == c->ok, "%s: got %s (%s), want %s", c->label,
                  d ? "ok" : "error", err, c->ok ? "ok" : "error");
    if (d)
        SPF_dns_free(d);
    else
        ck_assert_msg(err[0] != '\0', "%s: no reason given", c->label);
}
END_TEST

/* test_deadline_nesting - an inner budget never extends an outer one */
START_TEST(test_deadline_nesting)
{
    struct spf_resolver_deadline outer, inner;
    long    left;

    ck_assert_int_eq(spf_resolver_remaining_ms(), -1);
    spf_resolver_deadline_begin(1000, &outer);
    spf_resolver_deadline_begin(60000, &inner);
    left = spf_resolver_remaining_ms();
    ck_assert_msg(left > 0 && left <= 1000, "nested: got %ld ms left, want <= 1000", left);
    spf_resolver_deadline_end(&inner);
    spf_resolver_deadline_begin(0, &inner);
    ck_assert_int_eq(spf_resolver_remaining_ms(), 0);
    spf_resolver_deadline_end(&inner);
    ck_assert_int_gt(spf_resolver_remaining_ms(), 0);
    spf_resolver_deadline_end(&outer);
    ck_assert_int_eq(spf_resolver_remaining_ms(), -1);
}
END_TEST

static Suite *
spf_check_suite(void)
{
    Suite  *s = suite_create("spf_check");
    TCase  *tc;

    tc = tcase_create("results");
    tcase_add_loop_test(tc, test_check, 0, NELEM(ccases));
    tcase_add_test(tc, test_bad_family);
    suite_add_tcase(s, tc);

    tc = tcase_create("over-broad");
    tcase_add_test(tc, test_probe_our_mx);
    tcase_add_test(tc, test_cache);
    tcase_add_test(tc, test_cache_bounded);
    suite_add_tcase(s, tc);

    tc = tcase_create("threads");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_threads);
    suite_add_tcase(s, tc);

    tc = tcase_create("time bound");
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_timeout_slow_layer);
    tcase_add_test(tc, test_timeout_probes);
    tcase_add_test(tc, test_timeout_resolver);
    tcase_add_loop_test(tc, test_servers, 0, NELEM(scases));
    tcase_add_test(tc, test_deadline_nesting);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return daemon_run_suites(spf_check_suite(), NULL) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_spf_guard.c - the SPF keying guard (spf_guard.c) through the
 * per-message check (spf_check_client): every evasion of issue 11 is an
 * SPF pass that does not key on the domain, the big-sender-shaped
 * records (Microsoft's, Google's, Amazon SES's, as published) still do,
 * the real local part reaches libspf2, and the two caches keep what they
 * may and nothing else. The end-to-end half (dnsmasq, the daemon, the
 * store, the auto-whitelist) is in check_milter_spf.c.
 *
 * Records come from libspf2's zone layer; nothing touches a network.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <netdb.h>

#include "daemon.h"
#include "ipaddr.h"
#include "spf_check.h"
#include "spf_guard.h"
#include "zone.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define TXT(n, d) {n, ns_t_txt, 0, d}
#define A(n, d) {n, ns_t_a, 0, d}

/* The fixed part of the zone. */
static const struct zone_rec fixed_recs[] = {
    /* Evasions. */
    TXT("plusall.example", "v=spf1 -ip4:192.0.2.1 -ip6:2001:db8::1 +all"),
    TXT("eight.example", "v=spf1 ip4:10.0.0.0/8 ip4:11.0.0.0/8 ip4:12.0.0.0/8 ip4:13.0.0.0/8 "
        "ip4:14.0.0.0/8 ip4:15.0.0.0/8 ip4:16.0.0.0/8 ip4:17.0.0.0/8 -all"),
    TXT("eighty.example", "v=spf1 include:e1.eighty.example include:e2.eighty.example -all"),
    TXT("existsir.example", "v=spf1 -ip4:192.0.2.1 exists:%{ir}.x.example -all"),
    A("*.x.example", "127.0.0.2"),
    TXT("mixed.example", "v=spf1 include:qall.example include:pall.example -all"),
    TXT("qall.example", "v=spf1 ip4:198.51.100.0/24 ?all"),
    TXT("pall.example", "v=spf1 +all"),
    TXT("a0.example", "v=spf1 a/0 -all"),
    A("a0.example", "198.51.100.1"),
    TXT("a1.example", "v=spf1 a/1 -all"),
    A("a1.example", "10.0.0.1"),
    TXT("half.example", "v=spf1 ip4:0.0.0.0/1 -all"),
    TXT("hundred.example", "v=spf1 include:h0.hundred.example include:h1.hundred.example "
        "include:h2.hundred.example include:h3.hundred.example include:h4.hundred.example "
        "include:h5.hundred.example include:h6.hundred.example include:h7.hundred.example "
        "include:h8.hundred.example include:h9.hundred.example -all"),
    TXT("v6half.example", "v=spf1 ip6:::/1 -all"),
    TXT("local.example", "v=spf1 exists:%{l}.u.example -all"),
    A("alice.u.example", "127.0.0.2"),
    TXT("heloall.example", "v=spf1 +all"),
    TXT("helook.example", "v=spf1 ip4:198.51.100.0/24 -all"),

    /* Big senders, shaped as published (see redgrey.conf(5), spf_key_max_v4). */
    TXT("ms.example", "v=spf1 ip4:40.92.0.0/15 ip4:40.107.0.0/16 ip4:52.100.0.0/14 "
        "ip4:104.47.0.0/17 ip6:2a01:111:f400::/48 ip6:2a01:111:f403::/48 "
        "include:spfd.ms.example -all"),
    TXT("spfd.ms.example", "v=spf1 ip4:51.4.72.0/24 ip4:51.5.72.0/24 ip4:51.5.80.0/27 "
        "ip4:51.4.80.0/27 ip6:2a01:4180:4051:0800::/64 ip6:2a01:4180:4050:0800::/64 "
        "ip6:2a01:4180:4051:0400::/64 ip6:2a01:4180:4050:0400::/64 -all"),
    TXT("google.example", "v=spf1 include:_netblocks.google.example "
        "include:_netblocks2.google.example include:_netblocks3.google.example ~all"),
    TXT("_netblocks.google.example", "v=spf1 ip4:35.190.247.0/24 ip4:64.233.160.0/19 "
        "ip4:66.102.0.0/20 ip4:66.249.80.0/20 ip4:72.14.192.0/18 ip4:74.125.0.0/16 "
        "ip4:108.177.8.0/21 ip4:173.194.0.0/16 ip4:209.85.128.0/17 ip4:216.58.192.0/19 "
        "ip4:216.239.32.0/19 ~all"),
    TXT("_netblocks2.google.example", "v=spf1 ip6:2001:4860:4000::/36 ip6:2404:6800:4000::/36 "
        "ip6:2607:f8b0:4000::/36 ip6:2800:3f0:4000::/36 ip6:2a00:1450:4000::/36 "
        "ip6:2c0f:fb50:4000::/36 ~all"),
    TXT("_netblocks3.google.example", "v=spf1 ip4:172.217.0.0/19 ip4:172.217.32.0/20 "
        "ip4:172.217.128.0/19 ip4:172.217.160.0/20 ip4:172.217.192.0/19 ip4:172.253.56.0/21 "
        "ip4:172.253.112.0/20 ip4:108.177.96.0/19 ip4:35.191.0.0/16 ip4:130.211.0.0/22 ~all"),
    TXT("ses.example", "v=spf1 ip4:199.255.192.0/22 ip4:199.127.232.0/22 ip4:54.240.0.0/18 "
        "ip4:69.169.224.0/20 ip4:23.249.208.0/20 ip4:23.251.224.0/19 ip4:76.223.176.0/20 "
        "ip4:54.240.64.0/19 ip4:54.240.96.0/19 ip4:76.223.128.0/19 ip4:216.221.160.0/19 "
        "ip4:206.55.144.0/20 -all"),

    /* Caches. */
    TXT("net24.example", "v=spf1 ip4:198.51.100.0/24 -all"),
    TXT("host.example", "v=spf1 ip4:198.51.100.7 -all"),
};

/* Generated records: eighty's two halves and hundred's 10 + 100 includes. */
#define GEN_RECS (2 + 10 + 100)
static char gen_names[GEN_RECS][64];
static char gen_data[GEN_RECS][2048];
static struct zone_rec all_recs[NELEM(fixed_recs) + GEN_RECS];

/* fake clock */
static time_t fake_now = 1000000;

static time_t
fake_clock(void)
{
    return fake_now;
}

/* gen_add - one generated TXT record */
static void
gen_add(size_t *n, const char *name, const char *data)
{
    size_t  i = *n - NELEM(fixed_recs);

    snprintf(gen_names[i], sizeof(gen_names[i]), "%s", name);
    snprintf(gen_data[i], sizeof(gen_data[i]), "%s", data);
    all_recs[*n].name = gen_names[i];
    all_recs[*n].type = ns_t_txt;
    all_recs[*n].herrno = 0;
    all_recs[*n].data = gen_data[i];
    (*n)++;
}

/* zone_build - the whole zone into all_recs; the number of records */
static size_t
zone_build(void)
{
    char    name[64], data[2048];
    size_t  n = NELEM(fixed_recs), len;

    memcpy(all_recs, fixed_recs, sizeof(fixed_recs));
    for (int part = 0; part < 2; part++) {           /* 40 /8s each */
        len = (size_t) snprintf(data, sizeof(data), "v=spf1");
        for (int i = 0; i < 40; i++)
            len += (size_t) snprintf(data + len, sizeof(data) - len, " ip4:%d.0.0.0/8",
                                     1 + part * 40 + i);
        snprintf(data + len, sizeof(data) - len, " -all");
        snprintf(name, sizeof(name), "e%d.eighty.example", part + 1);
        gen_add(&n, name, data);
    }
    for (int sub = 0; sub < 10; sub++) {             /* 10 x 10 includes of a /12 */
        len = (size_t) snprintf(data, sizeof(data), "v=spf1");
        for (int j = 0; j < 10; j++)
            len += (size_t) snprintf(data + len, sizeof(data) - len,
                                     " include:l%d.h%d.hundred.example", j, sub);
        snprintf(data + len, sizeof(data) - len, " -all");
        snprintf(name, sizeof(name), "h%d.hundred.example", sub);
        gen_add(&n, name, data);
        for (int j = 0; j < 10; j++) {
            int     i = sub * 10 + j;

            snprintf(name, sizeof(name), "l%d.h%d.hundred.example", j, sub);
            snprintf(data, sizeof(data), "v=spf1 ip4:%d.%d.0.0/12 -all", 1 + i / 16, (i % 16) * 16);
            gen_add(&n, name, data);
        }
    }
    return n;
}

/* checker - a checker over the test zone with the fake clock */
static struct spf_check *
checker(void)
{
    struct spf_check_opts o;
    struct spf_check *chk;
    char    err[256];

    memset(&o, 0, sizeof(o));
    o.dns_timeout_ms = 3000;
    o.cache_ttl = 600;
    o.clock = fake_clock;
    chk = spf_check_new(&o, zone_new(all_recs, zone_build()), err, sizeof(err));
    ck_assert_msg(chk != NULL, "spf_check_new: %s", err);
    return chk;
}

/* One case: a client and sender (or HELO), the result, keyable and why. */
static const struct gcase {
    const char *label;
    const char *client;
    const char *helo;
    const char *sender;                  /* NULL: the null sender, HELO identity */
    enum spf_check_result result;
    int     keyable;
    const char *why;                     /* spf_guard_why_text; NULL: not a pass */
} gcases[] = {
    {"+all after excluding the probes", "198.18.5.5", NULL, "a@plusall.example",
     SPF_CHECK_PASS, 0, "unbounded(+all)"},
    {"+all, ipv6", "2001:db8:77::5", NULL, "a@plusall.example", SPF_CHECK_PASS, 0,
     "unbounded(+all)"},
    {"eight /8s", "10.1.2.3", NULL, "a@eight.example", SPF_CHECK_PASS, 0, "too-wide(ip4/5)"},
    {"eighty /8s", "20.1.2.3", NULL, "a@eighty.example", SPF_CHECK_PASS, 0, "too-wide(ip4/1)"},
    {"exists:%{ir} over a wildcard", "198.18.5.5", NULL, "a@existsir.example", SPF_CHECK_PASS, 0,
     "exists"},
    {"?all and +all in includes, outsider", "198.18.5.5", NULL, "a@mixed.example",
     SPF_CHECK_PASS, 0, "unbounded(+all)"},
    {"?all and +all in includes, inside the static /24", "198.51.100.9", NULL, "a@mixed.example",
     SPF_CHECK_PASS, 1, "domain"},
    {"a/0", "203.0.113.5", NULL, "a@a0.example", SPF_CHECK_PERMERROR, 0, NULL},
    {"a/1", "10.9.9.9", NULL, "a@a1.example", SPF_CHECK_PASS, 0, "too-wide(ip4/1)"},
    {"ip4:0.0.0.0/1", "10.1.2.3", NULL, "a@half.example", SPF_CHECK_PASS, 0, "too-wide(ip4/1)"},
    {"100 includes of a /12, in the first", "1.0.0.5", NULL, "a@hundred.example",
     SPF_CHECK_PASS, 0, "limit"},
    {"ip6:::/1", "2001:db8:1::5", NULL, "a@v6half.example", SPF_CHECK_PASS, 0,
     "too-wide(ip6/1)"},
    {"exists:%{l}, the real local part", "198.18.5.5", NULL, "alice@local.example",
     SPF_CHECK_PASS, 0, "exists"},
    {"exists:%{l}, a forged local part", "198.18.5.5", NULL, "mallory@local.example",
     SPF_CHECK_FAIL, 0, NULL},
    {"exists:%{l}, bare domain (postmaster)", "198.18.5.5", NULL, "local.example",
     SPF_CHECK_FAIL, 0, NULL},
    {"null sender, HELO +all", "198.18.5.5", "heloall.example", NULL, SPF_CHECK_PASS, 0,
     "unbounded(+all)"},
    {"null sender, narrow HELO", "198.51.100.5", "helook.example", NULL, SPF_CHECK_PASS, 1,
     "domain"},
    {"microsoft, 40.92/15", "40.92.1.1", NULL, "a@ms.example", SPF_CHECK_PASS, 1, "domain"},
    {"microsoft, 52.101 (the /14)", "52.101.3.3", NULL, "a@ms.example", SPF_CHECK_PASS, 1,
     "domain"},
    {"microsoft, ipv6", "2a01:111:f403::25", NULL, "a@ms.example", SPF_CHECK_PASS, 1, "domain"},
    {"microsoft, a /27 of the include", "51.4.80.9", NULL, "a@ms.example", SPF_CHECK_PASS, 1,
     "domain"},
    {"google, 74.125/16", "74.125.1.1", NULL, "a@google.example", SPF_CHECK_PASS, 1, "domain"},
    {"google, 173.194/16", "173.194.2.2", NULL, "a@google.example", SPF_CHECK_PASS, 1, "domain"},
    {"google, ipv6", "2a00:1450:4000::1", NULL, "a@google.example", SPF_CHECK_PASS, 1, "domain"},
    {"google, stranger", "198.18.5.5", NULL, "a@google.example", SPF_CHECK_SOFTFAIL, 0, NULL},
    {"ses, 54.240/18", "54.240.1.1", NULL, "a@ses.example", SPF_CHECK_PASS, 1, "domain"},
    {"ses, 23.251/19", "23.251.230.1", NULL, "a@ses.example", SPF_CHECK_PASS, 1, "domain"},
};

/* test_cases - each row, on a fresh checker (no cache) and then again (cached) */
START_TEST(test_cases)
{
    const struct gcase *c = &gcases[_i];
    struct spf_check *chk = checker();
    struct spf_result r;
    struct ipaddr ip;
    char    why[40];

    ck_assert_int_eq(ipaddr_parse(c->client, &ip), 0);
    for (int round = 0; round < 2; round++) {
        ck_assert_int_eq(spf_check_client(chk, &ip, c->helo, c->sender, &r), 0);
        ck_assert_msg(r.result == c->result, "%s (round %d): result %s, want %s", c->label, round,
                      spf_check_result_name(r.result), spf_check_result_name(c->result));
        ck_assert_msg(r.keyable == c->keyable, "%s (round %d): keyable %d, want %d", c->label,
                      round, r.keyable, c->keyable);
        ck_assert_int_eq(r.overbroad, c->result == SPF_CHECK_PASS && !c->keyable);
        if (c->why != NULL)
            ck_assert_msg(strcmp(spf_guard_why_text(&r.guard, why, sizeof(why)), c->why) == 0,
                          "%s (round %d): why=%s, want %s (v4 %llu v6 %llu)", c->label, round, why, c->why, (unsigned long long) r.guard.v4_addrs, (unsigned long long) r.guard.v6_nets);
        if (c->result == SPF_CHECK_PASS && strcmp(c->why, "dns") != 0)
            ck_assert_msg(r.cached == round, "%s: round %d static set cached %d", c->label,
                          round, r.cached);
    }
    spf_check_free(chk);
}
END_TEST

/* One static set's size, as published. */
static const struct scase {
    const char *domain;
    unsigned long long v4, v6;
} scases[] = {
    {"ms.example", 492096, 131076},
    {"google.example", 328960, 1610612736ULL},
    {"ses.example", 75776, 0},
    {"eight.example", 134217728, 0},
};

/* test_sizes - the numbers behind the cap defaults (redgrey.conf(5)) */
START_TEST(test_sizes)
{
    const struct scase *c = &scases[_i];
    struct spf_check *chk = checker();
    struct spf_result r;
    struct ipaddr ip;

    /* Any client will do: the sizes do not depend on it. */
    ck_assert_int_eq(ipaddr_parse("198.18.5.5", &ip), 0);
    ck_assert_int_eq(spf_guard_judge(spf_check_guard(chk), c->domain, &ip, &r.guard,
                                     &(struct spf_guard_deps) {0}), 0);
    ck_assert_msg(r.guard.v4_addrs == c->v4, "%s: %llu IPv4 addresses, want %llu", c->domain,
                  (unsigned long long) r.guard.v4_addrs, c->v4);
    ck_assert_msg(r.guard.v6_nets == c->v6, "%s: %llu IPv6 /64s, want %llu", c->domain,
                  (unsigned long long) r.guard.v6_nets, c->v6);
    spf_check_free(chk);
}
END_TEST

/*
 * test_result_cache - results are reused within a /24 only when the
 * record's ranges are /24 or wider; a /32 record is asked per address;
 * a %{l} record per sender; and everything expires after the TTL.
 */
START_TEST(test_result_cache)
{
    struct spf_check *chk = checker();
    struct spf_result r;
    struct ipaddr a7, a8;

    ck_assert_int_eq(ipaddr_parse("198.51.100.7", &a7), 0);
    ck_assert_int_eq(ipaddr_parse("198.51.100.8", &a8), 0);

    spf_check_client(chk, &a7, NULL, "x@net24.example", &r);
    ck_assert(r.result == SPF_CHECK_PASS && !r.result_cached);
    spf_check_client(chk, &a8, NULL, "y@net24.example", &r);
    ck_assert_msg(r.result == SPF_CHECK_PASS && r.result_cached, "same /24: cached %d",
                  r.result_cached);

    spf_check_client(chk, &a7, NULL, "x@host.example", &r);
    ck_assert(r.result == SPF_CHECK_PASS && !r.result_cached && r.keyable);
    spf_check_client(chk, &a8, NULL, "x@host.example", &r);
    ck_assert_msg(r.result == SPF_CHECK_FAIL && !r.result_cached, "/32 record, other address: "
                  "%s cached %d", spf_check_result_name(r.result), r.result_cached);
    spf_check_client(chk, &a7, NULL, "x@host.example", &r);
    ck_assert(r.result == SPF_CHECK_PASS && r.result_cached);

    spf_check_client(chk, &a7, NULL, "alice@local.example", &r);
    ck_assert(r.result == SPF_CHECK_PASS && !r.result_cached);
    spf_check_client(chk, &a7, NULL, "mallory@local.example", &r);
    ck_assert_msg(r.result == SPF_CHECK_FAIL && !r.result_cached, "%%{l}: other sender %s "
                  "cached %d", spf_check_result_name(r.result), r.result_cached);
    spf_check_client(chk, &a7, NULL, "alice@local.example", &r);
    ck_assert(r.result == SPF_CHECK_PASS && r.result_cached);

    fake_now += 601;                     /* past cache_ttl: both caches miss */
    spf_check_client(chk, &a7, NULL, "x@net24.example", &r);
    ck_assert_msg(r.result == SPF_CHECK_PASS && !r.result_cached && !r.cached,
                  "after the ttl: result cached %d, set cached %d", r.result_cached, r.cached);
    spf_check_free(chk);
}
END_TEST

/* test_explain - the admin view of a verdict */
START_TEST(test_explain)
{
    struct spf_check *chk = checker();
    struct ipaddr ip;
    char   *text = NULL;
    size_t  len = 0;
    FILE   *fp = open_memstream(&text, &len);

    ck_assert_ptr_nonnull(fp);
    ck_assert_int_eq(ipaddr_parse("10.1.2.3", &ip), 0);
    ck_assert_int_eq(spf_guard_explain(spf_check_guard(chk), "eight.example", &ip, fp), 1);
    ck_assert_int_eq(ipaddr_parse("40.92.1.1", &ip), 0);
    ck_assert_int_eq(spf_guard_explain(spf_check_guard(chk), "ms.example", &ip, fp), 0);
    fclose(fp);
    ck_assert_msg(strstr(text, "ipv4 addresses: 134217728 (cap 4194304") != NULL, "%s", text);
    ck_assert_msg(strstr(text, "a pass keys on: netblock why=too-wide(ip4/5)") != NULL, "%s", text);
    ck_assert_msg(strstr(text, "  52.100.0.0/14\n") != NULL, "%s", text);
    ck_assert_msg(strstr(text, "a pass keys on: domain why=domain") != NULL, "%s", text);
    free(text);
    spf_check_free(chk);
}
END_TEST

/* spf_guard_suite - the cases, the sizes, the caches, the admin view */
static Suite *
spf_guard_suite(void)
{
    Suite  *s = suite_create("spf_guard");
    TCase  *tc = tcase_create("guard");

    tcase_add_loop_test(tc, test_cases, 0, NELEM(gcases));
    tcase_add_loop_test(tc, test_sizes, 0, NELEM(scases));
    tcase_add_test(tc, test_result_cache);
    tcase_add_test(tc, test_explain);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);
    return s;
}

/* main - run the suite */
int
main(void)
{
    return daemon_run_suites(spf_guard_suite(), NULL) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

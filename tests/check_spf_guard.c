/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_spf_guard.c - the SPF keying guard (spf_guard.c) through the
 * per-message check (spf_check_client): every known evasion of SPF keying is an
 * SPF pass that does not key on the domain, the big-sender-shaped
 * records (Microsoft's, Google's, Amazon SES's, as published) still do,
 * the real local part reaches libspf2, and the two caches keep what they
 * may and nothing else. End to end (dnsmasq on a loopback port, the
 * daemon on the test Redis with awl_threshold = 1): the evasions earn an
 * auto-whitelist for their netblock only, the big-sender shapes for
 * spf:DOMAIN; %{l} sees the real local part; redgreyctl spf-verdict; and
 * the shared checker (milter/spf_shared.c) swapped under readers.
 *
 * Records come from libspf2's zone layer; nothing touches a network.
 */
#include "config.h"

#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <netdb.h>

#include <libmilter/mfapi.h>
#include <libmilter/mfdef.h>

#include "daemon.h"
#include "ipaddr.h"
#include "miltc.h"
#include "mta.h"
#include "spf_shared.h"
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
        ck_assert_int_eq(spf_result_overbroad(&r), c->result == SPF_CHECK_PASS && !c->keyable);
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

/* ------------------------------------------------------------ end to end */

static struct daemon dns;                /* dnsmasq */
static struct daemon awl;                /* redgrey, awl_threshold = 1 */

/* The zone under e2e.test for dnsmasq; every record is TXT unless said. */
static const char *const dns_records[] = {
    "--txt-record=evall.e2e.test,v=spf1 -ip4:192.0.2.1 -ip6:2001:db8::1 +all",
    "--txt-record=ev8.e2e.test,v=spf1 ip4:10.0.0.0/8 ip4:11.0.0.0/8 ip4:12.0.0.0/8 "
    "ip4:13.0.0.0/8 ip4:14.0.0.0/8 ip4:15.0.0.0/8 ip4:16.0.0.0/8 ip4:17.0.0.0/8 -all",
    "--txt-record=evex.e2e.test,v=spf1 -ip4:192.0.2.1 exists:%{ir}.x.e2e.test -all",
    "--address=/x.e2e.test/127.0.0.2",
    "--txt-record=evl.e2e.test,v=spf1 exists:%{l}.u.e2e.test -all",
    "--host-record=alice.u.e2e.test,127.0.0.2",
    "--txt-record=ev6.e2e.test,v=spf1 ip6:::/1 -all",
    "--txt-record=ms.e2e.test,v=spf1 ip4:40.92.0.0/15 ip4:40.107.0.0/16 ip4:52.100.0.0/14 "
    "ip4:104.47.0.0/17 ip6:2a01:111:f400::/48 ip6:2a01:111:f403::/48 include:spfd.ms.e2e.test -all",
    "--txt-record=spfd.ms.e2e.test,v=spf1 ip4:51.4.72.0/24 ip4:51.5.72.0/24 ip4:51.5.80.0/27 "
    "ip4:51.4.80.0/27 -all",
    "--txt-record=google.e2e.test,v=spf1 include:_netblocks.google.e2e.test "
    "include:_netblocks2.google.e2e.test ~all",
    "--txt-record=_netblocks.google.e2e.test,v=spf1 ip4:64.233.160.0/19 ip4:72.14.192.0/18 "
    "ip4:74.125.0.0/16 ip4:173.194.0.0/16 ip4:209.85.128.0/17 ~all",
    "--txt-record=_netblocks2.google.e2e.test,v=spf1 ip6:2001:4860:4000::/36 "
    "ip6:2a00:1450:4000::/36 ~all",
    "--txt-record=ses.e2e.test,v=spf1 ip4:199.255.192.0/22 ip4:54.240.0.0/18 "
    "ip4:23.251.224.0/19 ip4:76.223.128.0/19 -all",
    NULL,
};

/*
 * One sender pool: the first client seeds and retries (one passed
 * triplet: with awl_threshold = 1 that is an auto-whitelist entry for
 * its key and the domain), then other clients of the domain send to a
 * new recipient: pooled (reason=awl on spf:DOMAIN) or not (reason=new on
 * their own netblock).
 */
static const struct pool_case {
    const char *domain;
    const char *sender;                  /* local part */
    char    fam1;
    const char *c1, *net1;
    char    fam2;
    const char *c2, *net2;
    char    fam3;                        /* 0: no third client */
    const char *c3;
    const char *spf;                     /* the seed's SPF fields */
} pool_cases[] = {
    {"evall.e2e.test", "a", '4', "198.18.10.1", "198.18.10.0/24", '4', "198.19.20.2",
     "198.19.20.0/24", '6', "2001:db8:20::2", "spf=pass spf_key=netblock why=unbounded(+all)"},
    {"ev8.e2e.test", "a", '4', "10.1.2.3", "10.1.2.0/24", '4', "11.2.3.4", "11.2.3.0/24", 0, NULL,
     "spf=pass spf_key=netblock why=too-wide(ip4/5)"},
    {"evex.e2e.test", "a", '4', "198.18.11.1", "198.18.11.0/24", '4', "198.19.21.2",
     "198.19.21.0/24", 0, NULL, "spf=pass spf_key=netblock why=exists"},
    {"evl.e2e.test", "alice", '4', "198.18.12.1", "198.18.12.0/24", '4', "198.19.22.2",
     "198.19.22.0/24", 0, NULL, "spf=pass spf_key=netblock why=exists"},
    {"ev6.e2e.test", "a", '6', "2001:db8:1::5", "2001:db8:1::/64", '6', "2001:db9::5",
     "2001:db9::/64", 0, NULL, "spf=pass spf_key=netblock why=too-wide(ip6/1)"},
    {"ms.e2e.test", "a", '4', "40.92.1.1", NULL, '4', "52.101.3.3", NULL, '6',
     "2a01:111:f403::25", "spf=pass spf_key=domain"},
    {"google.e2e.test", "a", '4', "74.125.1.1", NULL, '4', "173.194.2.2", NULL, '6',
     "2a00:1450:4000::1", "spf=pass spf_key=domain"},
    {"ses.e2e.test", "a", '4', "54.240.1.1", NULL, '4', "23.251.230.1", NULL, 0, NULL,
     "spf=pass spf_key=domain"},
};

/* pool_send - one RCPT of the row's sender to TAG-DOMAIN@pool.test (into to, bare); the answer */
static int
pool_send(const struct pool_case *c, char fam, const char *addr, const char *tag, char *to,
          size_t tolen)
{
    struct mta_conn m = {fam, addr, NULL, NULL, NULL, 0};
    char    from[128], rcpt[200], reply[MILTC_REPLY_MAX];

    snprintf(from, sizeof(from), "<%s@%s>", c->sender, c->domain);
    snprintf(to, tolen, "%s-%s@pool.test", tag, c->domain);
    snprintf(rcpt, sizeof(rcpt), "<%s>", to);
    return mta_one_rcpt(&awl, &m, from, rcpt, NULL, reply, sizeof(reply), NULL);
}

/* assert_line - the daemon logged needle exactly once */
#define assert_line(needle) \
    ck_assert_msg(daemon_log_count(&awl, (needle)) == 1, "log of %s: want one \"%s\", got %d", \
                  awl.name, (needle), daemon_log_count(&awl, (needle)))

/*
 * test_pools - the evasions earn an auto-whitelist entry for their own
 * netblock only (a new client of the domain is greylisted as new, on its
 * netblock; the seeding client is not); the big-sender-shaped pools earn
 * one for spf:DOMAIN, which a client in another /16 and one over IPv6 use.
 */
START_TEST(test_pools)
{
    char    to[160], needle[512];
    size_t  i;
    int     r;

    for (i = 0; i < NELEM(pool_cases); i++) {
        const struct pool_case *c = &pool_cases[i];

        r = pool_send(c, c->fam1, c->c1, "seed", to, sizeof(to));
        ck_assert_msg(r == SMFIR_REPLYCODE, "%s: seed not greylisted (%c)", c->domain, r);
        snprintf(needle, sizeof(needle), "action=greylist reason=new client=[%s] key=%s%s "
                 "from=<%s@%s> to=<%s> %s\n", c->c1, c->net1 ? "" : "spf:",
                 c->net1 ? c->net1 : c->domain, c->sender, c->domain, to, c->spf);
        assert_line(needle);
    }
    daemon_sleep_ms(2100);
    for (i = 0; i < NELEM(pool_cases); i++) {
        const struct pool_case *c = &pool_cases[i];

        r = pool_send(c, c->fam1, c->c1, "seed", to, sizeof(to));
        ck_assert_msg(r == SMFIR_CONTINUE, "%s: retry not passed (%c)", c->domain, r);
    }
    for (i = 0; i < NELEM(pool_cases); i++) {
        const struct pool_case *c = &pool_cases[i];

        r = pool_send(c, c->fam2, c->c2, "other", to, sizeof(to));
        if (c->net2 != NULL) {
            ck_assert_msg(r == SMFIR_REPLYCODE, "%s: pooled with another client", c->domain);
            snprintf(needle, sizeof(needle), "action=greylist reason=new client=[%s] key=%s "
                     "from=<%s@%s> to=<%s>", c->c2, c->net2, c->sender, c->domain, to);
            assert_line(needle);
            /* The netblock's own auto-whitelist entry works. */
            r = pool_send(c, c->fam1, c->c1, "same", to, sizeof(to));
            ck_assert_msg(r == SMFIR_CONTINUE, "%s: no netblock AWL", c->domain);
            snprintf(needle, sizeof(needle), "action=pass reason=awl client=[%s] key=%s ",
                     c->c1, c->net1);
            assert_line(needle);
        } else {
            ck_assert_msg(r == SMFIR_CONTINUE, "%s: not pooled across /16s", c->domain);
            snprintf(needle, sizeof(needle), "action=pass reason=awl client=[%s] key=spf:%s "
                     "from=<%s@%s> to=<%s> spf=pass spf_key=domain\n", c->c2, c->domain,
                     c->sender, c->domain, to);
            assert_line(needle);
        }
        if (c->fam3 == 0)
            continue;
        r = pool_send(c, c->fam3, c->c3, "third", to, sizeof(to));
        ck_assert_msg((r == SMFIR_CONTINUE) == (c->net2 == NULL), "%s: third client %c",
                      c->domain, r);
    }
}
END_TEST

/*
 * test_local_part - libspf2 gets the real local part: %{l} passes alice
 * and fails mallory from the same address, one right after the other
 * (the result cache keys this record by sender).
 */
START_TEST(test_local_part)
{
    struct mta_conn m = {'4', "198.18.13.1", NULL, NULL, NULL, 0};
    char    reply[MILTC_REPLY_MAX];

    mta_one_rcpt(&awl, &m, "<alice@evl.e2e.test>", "<lp1@pool.test>", NULL, reply,
                 sizeof(reply), NULL);
    mta_one_rcpt(&awl, &m, "<mallory@evl.e2e.test>", "<lp2@pool.test>", NULL, reply,
                 sizeof(reply), NULL);
    mta_one_rcpt(&awl, &m, "<alice@evl.e2e.test>", "<lp3@pool.test>", NULL, reply,
                 sizeof(reply), NULL);
    assert_line("from=<alice@evl.e2e.test> to=<lp1@pool.test> spf=pass spf_key=netblock why=exists");
    assert_line("from=<mallory@evl.e2e.test> to=<lp2@pool.test> spf=fail");
    assert_line("from=<alice@evl.e2e.test> to=<lp3@pool.test> spf=pass spf_key=netblock why=exists");
}
END_TEST

/* test_verdict_cmd - redgreyctl spf-verdict, with the daemon's configuration */
START_TEST(test_verdict_cmd)
{
    const char *const narrow[] = {TEST_BUILDDIR "/../milter/redgreyctl", "-c", awl.conf,
                                  "spf-verdict", "ms.e2e.test", "52.101.3.3", NULL};
    const char *const wide[] = {TEST_BUILDDIR "/../milter/redgreyctl", "-c", awl.conf,
                                "spf-verdict", "ev8.e2e.test", "10.1.2.3", NULL};
    char    out[8192];

    ck_assert_int_eq(daemon_capture(narrow, out, sizeof(out), 10000), 0);
    ck_assert_msg(strstr(out, "spf result for ms.e2e.test from 52.101.3.3: pass") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "ipv4 addresses: 492096 (cap 4194304") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "a pass keys on: domain") != NULL, "%s", out);
    ck_assert_int_eq(daemon_capture(wide, out, sizeof(out), 10000), 1);
    ck_assert_msg(strstr(out, "why=too-wide(ip4/5)") != NULL, "%s", out);
}
END_TEST

/* Readers of the shared checker while it is swapped. */
static atomic_int swap_stop;
static atomic_int swap_passes;

/* swap_reader - check ms.e2e.test through the shared checker until told to stop */
static void *
swap_reader(void *arg)
{
    struct ipaddr ip;
    struct spf_result r;

    (void) arg;
    ipaddr_parse("40.92.1.1", &ip);
    while (!atomic_load(&swap_stop)) {
        spf_shared_check_client(&ip, NULL, "a@ms.e2e.test", &r);
        if (r.result == SPF_CHECK_PASS && r.keyable)
            atomic_fetch_add(&swap_passes, 1);
    }
    return NULL;
}

/*
 * test_reconfigure - spf_shared_reconfigure keeps the checker when no SPF
 * setting changed, swaps it when one did, keeps it on a bad one, and
 * swaps under readers without a use after free (the sanitizers watch)
 */
START_TEST(test_reconfigure)
{
    struct cfg *c = cfg_defaults();
    struct spf_check *first;
    pthread_t th[3];
    char    err[256], port[64];

    ck_assert_ptr_nonnull(c);
    snprintf(port, sizeof(port), "127.0.0.1:%d", dns.port);
    ck_assert_int_eq(cfg_set(c, "dns_servers", port, err, sizeof(err)), 0);
    ck_assert_msg(spf_shared_init(c, err, sizeof(err)) == 0, "%s", err);
    first = spf_shared_get();
    ck_assert_int_eq(spf_shared_reconfigure(c, err, sizeof(err)), 0);
    ck_assert_ptr_eq(spf_shared_get(), first);
    ck_assert_int_ne(cfg_set(c, "spf_probe", "not-an-ip", err, sizeof(err)), 0);

    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, swap_reader, NULL), 0);
    for (int i = 0; i < 20; i++) {
        ck_assert_int_eq(cfg_set(c, "spf_key_max_v4", i % 2 ? "10" : "9", err, sizeof(err)), 0);
        ck_assert_msg(spf_shared_reconfigure(c, err, sizeof(err)) == 0, "%s", err);
        daemon_sleep_ms(20);
    }
    atomic_store(&swap_stop, 1);
    for (int i = 0; i < 3; i++)
        pthread_join(th[i], NULL);
    ck_assert_ptr_ne(spf_shared_get(), first);
    ck_assert_msg(atomic_load(&swap_passes) > 0, "no keyable pass seen while swapping");

    /* A bad setting: -1, the running checker stays. */
    first = spf_shared_get();
    free(c->spf_probe);
    c->spf_probe = strdup("not-an-ip");
    ck_assert_int_eq(spf_shared_reconfigure(c, err, sizeof(err)), -1);
    ck_assert_ptr_eq(spf_shared_get(), first);
    spf_shared_fini();
    ck_assert_ptr_null(spf_shared_get());
    cfg_free(c);
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

    tc = tcase_create("end to end");
    tcase_add_test(tc, test_pools);
    tcase_add_test(tc, test_local_part);
    tcase_add_test(tc, test_verdict_cmd);
    tcase_add_test(tc, test_reconfigure);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return s;
}

/* setup - dnsmasq and the daemon; 0 or -1 */
static int
setup(void)
{
    char    extra[512];

    if (daemon_tmp() == NULL) {
        fprintf(stderr, "check_spf_guard: REDGREY_TEST_TMP unset: run under with-redis.sh\n");
        return -1;
    }
    if (daemon_start_dnsmasq(&dns, "e2e.test", dns_records) != 0) {
        fprintf(stderr, "check_spf_guard: dnsmasq did not start\n");
        return -1;
    }
    snprintf(extra, sizeof(extra), "dns_servers = 127.0.0.1:%d\ndns_timeout = 3s\n"
             "awl_threshold = 1\n", dns.port);
    return daemon_start_redgrey(&awl, "awl", extra, NULL) == 0 ? 0 : -1;
}

/* main - start dnsmasq and the daemon, run the suite, stop both: all must pass */
int
main(void)
{
    int     failed = 1, stop = -1;

    if (setup() == 0)
        failed = daemon_run_suites(spf_guard_suite(), NULL);
    if (awl.pid > 0)
        stop = daemon_stop(&awl, 6500);
    if (dns.pid > 0)
        daemon_stop(&dns, 2000);
    if (failed != 0 || stop != 0) {
        daemon_log_print(&awl);
        daemon_log_print(&dns);
    }
    return failed == 0 && stop == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

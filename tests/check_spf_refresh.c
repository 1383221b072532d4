/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_spf_refresh.c - the big-sender whitelist end to end: a loopback
 * DNS server (dnsmasq) serves an SPF tree, redgreyctl expands it into the
 * test Redis, redgrey loads it and lets a client inside it through on its
 * first attempt, a DNS outage keeps the last good set, a new version in
 * the store reaches the running daemon within its poll interval, so does
 * a new version 1 after the blob was deleted (a store reset), a daemon
 * with an empty store expands the list itself, and a daemon without
 * spf_domains uses no set, although one is stored.
 *
 * The zone: big.test -> "v=spf1 include:_spf.big.test ip6:2001:db8:77::/48
 * -all", _spf.big.test -> "v=spf1 ip4:192.0.2.0/25 ~all". Only loopback
 * is used; the client addresses travel inside the milter protocol.
 *
 * The steps depend on each other (a stored set, a running daemon), so the
 * runner does not fork: main() starts dnsmasq, runs the steps in order and
 * stops every process it started, by PID (daemon.c). The daemons poll the
 * store every 200 ms (REDGREY_REFRESH_POLL_MS, see redgrey(8)).
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <libmilter/mfapi.h>
#include <libmilter/mfdef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bigsender.h"
#include "daemon.h"
#include "miltc.h"
#include "mta.h"
#include "store.h"

#define REDGREYCTL_BIN  TEST_BUILDDIR "/../milter/redgreyctl"
#define TIMEOUT_MS      5000             /* bound on every protocol step and command */
#define NDAEMONS        2

static const char *const poll_env[] = {"REDGREY_REFRESH_POLL_MS=200", NULL};

/* The zone, as dnsmasq options. */
static const char *const zone[] = {
    "--txt-record=big.test,v=spf1 include:_spf.big.test ip6:2001:db8:77::/48 -all",
    "--txt-record=_spf.big.test,v=spf1 ip4:192.0.2.0/25 ~all",
    NULL,
};

/* Everything main() sets up; the steps share it (the runner does not fork). */
static struct {
    const char *redis;                   /* REDGREY_TEST_REDIS */
    struct daemon dns;                   /* dnsmasq */
    char    list[600];                   /* the spf_domains file */
    char    conf[600];                   /* redgreyctl's configuration */
    char    out[600];                    /* redgreyctl's output */
    char    prefix[64];                  /* key prefix of redgreyctl and daemon 0 */
    char    prefix1[64];                 /* key prefix of daemon 1 */
    struct daemon rg[NDAEMONS];          /* 0: cron-style; 1: expands itself */
    int     loaded0;                     /* "loaded" lines of daemon 0's first run */
} t;

/* ------------------------------------------------------------ processes */

/*
 * rg_start - start daemon k (named bigsetK, so that its key prefix is
 * rgt<pid>bigsetK:) with spf_domains only if with_domains, its DNS the
 * zone's server if dns, else a port nobody serves (so that it never
 * expands on its own, as when cron runs redgreyctl spf-refresh). 0 or -1.
 */
static int
rg_start(int k, int with_domains, int dns)
{
    char    name[16], extra[1024];

    snprintf(name, sizeof(name), "bigset%d", k);
    snprintf(extra, sizeof(extra), "spf_domains = %s\n"
             "dns_servers = 127.0.0.1:%d\ndns_timeout = 1s\nspf_refresh = 1h\n",
             with_domains ? t.list : "\"\"", dns ? t.dns.port : 9);
    return daemon_start_redgrey(&t.rg[k], name, extra, poll_env);
}

/* ctl - run redgreyctl -c CONF with up to three arguments (NULL ends); its exit code */
static int
ctl(const char *a1, const char *a2, const char *a3)
{
    const char *argv[] = {REDGREYCTL_BIN, "-c", t.conf, a1, a2, a3, NULL};

    return daemon_run(argv, t.out, 3 * TIMEOUT_MS);
}

/* ctl_output - what the last ctl() printed (static buffer) */
static const char *
ctl_output(void)
{
    static char buf[8192];
    char   *text = daemon_read_file(t.out);

    snprintf(buf, sizeof(buf), "%s", text != NULL ? text : "");
    free(text);
    return buf;
}

/* ------------------------------------------------------------- the store */

/* stored_text - the blob as stored under prefix: FOUND with *text (caller frees) and *meta */
static enum store_blob_result
stored_text(const char *prefix, char **text, size_t *len, struct store_blob_meta *meta)
{
    char    url[128], err[STORE_ERRLEN] = "";
    struct store_config sc = {
        .url = url, .key_prefix = prefix, .timeout_ms = 2000, .pool = 1,
        .params = {.delay = 60, .retry_window = 3600, .pass_ttl = 3600, .awl_ttl = 3600},
    };
    struct store *st;
    enum store_blob_result r;

    snprintf(url, sizeof(url), "redis://%s", t.redis);
    st = store_open(&sc, err, sizeof(err));
    ck_assert_msg(st != NULL, "open the test store: %s", err);
    r = store_blob_get(st, BIGSENDER_BLOB, text, len, meta, err, sizeof(err));
    ck_assert_msg(r != STORE_BLOB_ERROR, "read the stored set: %s", err);
    store_free(st);
    return r;
}

/* store_set - write a set of one block as the next version; its version and stamp into *meta */
static void
store_set(const char *prefix, const char *block, struct store_blob_meta *meta)
{
    char    url[128], err[STORE_ERRLEN] = "";
    struct store_config sc = {
        .url = url, .key_prefix = prefix, .timeout_ms = 2000, .pool = 1,
        .params = {.delay = 60, .retry_window = 3600, .pass_ttl = 3600, .awl_threshold = 0,
                   .awl_ttl = 3600},
    };
    struct netset *set = netset_new();
    struct netblock nb;
    struct store *st;
    char   *text;
    size_t  len;

    ck_assert_int_eq(netblock_parse(block, &nb, err, sizeof(err)), 0);
    netset_add(set, &nb);
    netset_finish(set);
    text = bigsender_format(set, 1718000000, 0, &len);
    snprintf(url, sizeof(url), "redis://%s", t.redis);
    ck_assert_msg((st = store_open(&sc, err, sizeof(err))) != NULL, "open: %s", err);
    ck_assert_msg(store_blob_put(st, BIGSENDER_BLOB, text, len, meta, err, sizeof(err)) == 0,
                  "put: %s", err);
    store_free(st);
    free(text);
    netset_free(set);
}

/*
 * store_delete - DEL the blob's key under prefix (store_blob_key), as a
 * FLUSHDB would. Returns the keys deleted.
 */
static long long
store_delete(const char *prefix)
{
    struct timeval tv = {2, 0};
    char    host[64], key[128];
    const char *colon = strrchr(t.redis, ':');
    redisContext *c;
    redisReply *r;
    long long n;

    ck_assert_ptr_nonnull(colon);
    snprintf(host, sizeof(host), "%.*s", (int) (colon - t.redis), t.redis);
    ck_assert_uint_gt(store_blob_key(prefix, BIGSENDER_BLOB, key, sizeof(key)), 0);
    c = redisConnectWithTimeout(host, atoi(colon + 1), tv);
    ck_assert_msg(c != NULL && c->err == 0, "connect to %s: %s", t.redis, c ? c->errstr : "");
    redisSetTimeout(c, tv);
    r = redisCommand(c, "DEL %s", key);
    ck_assert_msg(r != NULL && r->type == REDIS_REPLY_INTEGER, "DEL %s: %s", key,
                  r == NULL ? c->errstr : "unexpected reply");
    n = r->integer;
    freeReplyObject(r);
    redisFree(c);
    return n;
}

/* ----------------------------------------------------------- the client */

/*
 * rcpt - one SMTP session to daemon k, as Postfix: connect from addr
 * (family '4' or '6'), MAIL, RCPT; returns the RCPT answer
 */
static int
rcpt(int k, char family, const char *addr, const char *to, char *reply, size_t replylen)
{
    struct mta_conn m = {.family = family, .addr = addr};

    return mta_one_rcpt(&t.rg[k], &m, "<news@big.test>", to, NULL, reply, replylen, NULL);
}

/* assert_rcpt - the RCPT answer of one session is want ('c' or 'y') */
static void
assert_rcpt(const char *label, int k, char family, const char *addr, const char *to, int want)
{
    char    reply[MILTC_REPLY_MAX];
    int     r = rcpt(k, family, addr, to, reply, sizeof(reply));

    ck_assert_msg(r == want, "%s: %s: got %d ('%c', \"%s\"), want '%c'", label, addr, r,
                  r > 0 ? r : '?', reply, want);
    if (want == SMFIR_REPLYCODE)
        ck_assert_msg(strncmp(reply, "451 ", 4) == 0, "%s: %s: got \"%s\", want a 451", label,
                      addr, reply);
}

/* ---------------------------------------------------------------- steps */

/* test_refresh - spf-refresh expands the zone and stores version 1 */
START_TEST(test_refresh)
{
    static const char want[] = BIGSENDER_MAGIC "\nexpanded ";
    struct store_blob_meta meta;
    struct netset *set = NULL;
    char    err[256] = "";
    char   *text = NULL;
    size_t  len = 0;
    int     rc = ctl("spf-refresh", NULL, NULL);
    const char *out = ctl_output();
    struct ipaddr in4, in6, out4;

    ck_assert_msg(rc == 0, "spf-refresh: got exit %d, want 0; output:\n%s", rc, out);
    ck_assert_msg(strstr(out, "expansion complete: 1 domains (0 without ranges), 2 records")
                  != NULL && strstr(out, " 2 ranges\n") != NULL,
                  "spf-refresh: want a complete expansion of 2 records into 2 ranges:\n%s", out);
    ck_assert_msg(strstr(out, "stored: version 1, 2 ranges") != NULL,
                  "spf-refresh: want \"stored: version 1, 2 ranges\":\n%s", out);

    /* The store holds exactly the zone's ranges. */
    ck_assert_msg(stored_text(t.prefix, &text, &len, &meta) == STORE_BLOB_FOUND,
                  "no set stored under %s", t.prefix);
    ck_assert_msg(meta.version == 1, "stored version: got %" PRIu64 ", want 1", meta.version);
    ck_assert_msg(strncmp(text, want, sizeof(want) - 1) == 0
                  && strstr(text, "\nstatus complete\nblocks 2\n192.0.2.0/25\n"
                            "2001:db8:77::/48\nend\n") != NULL, "stored text:\n%s", text);
    ck_assert_msg(bigsender_parse(text, len, &set, NULL, err, sizeof(err)) == 0, "parse: %s", err);
    ipaddr_parse("192.0.2.77", &in4);
    ipaddr_parse("2001:db8:77:1::5", &in6);
    ipaddr_parse("192.0.2.128", &out4);
    ck_assert_msg(netset_contains(set, &in4) && netset_contains(set, &in6)
                  && !netset_contains(set, &out4), "stored set: wrong membership");
    netset_free(set);
    free(text);
}
END_TEST

/* spf-show and spf-test on the stored set; exit codes as grep(1) */
static const struct test_case {
    const char *label;
    const char *ip;
    int     want;                        /* exit code */
    const char *out;                     /* in the output */
} test_cases[] = {
    {"v4 inside", "192.0.2.77", 0, "192.0.2.77: in the big-sender set (version 1)"},
    {"v6 inside", "2001:db8:77:ffff::1", 0, "2001:db8:77:ffff::1: in the big-sender set"},
    {"v4 just outside", "192.0.2.128", 1, "192.0.2.128: not in the big-sender set"},
    {"v4 elsewhere", "198.51.100.7", 1, "not in the big-sender set"},
    {"v4-mapped inside", "::ffff:192.0.2.1", 0, "192.0.2.1: in the big-sender set"},
    {"not an address", "big.test", 2, "is not an IP address"},
    {"empty", "", 2, "is not an IP address"},
};

/* test_show - spf-show -v lists the blocks; spf-test answers every row */
START_TEST(test_show)
{
    int     rc = ctl("-v", "spf-show", NULL);
    const char *out = ctl_output();

    ck_assert_msg(rc == 0, "spf-show: got exit %d, want 0:\n%s", rc, out);
    ck_assert_msg(strncmp(out, "version 1\nstored ", 17) == 0
                  && strstr(out, "\nstatus complete\nblocks 2\nranges 2\n192.0.2.0/25\n"
                            "2001:db8:77::/48\n") != NULL, "spf-show -v:\n%s", out);
    for (size_t i = 0; i < sizeof(test_cases) / sizeof(test_cases[0]); i++) {
        const struct test_case *c = &test_cases[i];

        rc = ctl("spf-test", c->ip, NULL);
        out = ctl_output();
        ck_assert_msg(rc == c->want && strstr(out, c->out) != NULL,
                      "%s: spf-test %s: got exit %d, want %d, and \"%s\" in:\n%s", c->label,
                      c->ip, rc, c->want, c->out, out);
    }
}
END_TEST

/* test_first_attempt - redgrey loaded the set before serving; big senders pass at once */
START_TEST(test_first_attempt)
{
    ck_assert_msg(t.rg[0].pid > 0, "daemon 0 is not running");
    ck_assert_msg(daemon_log_count(&t.rg[0], "bigsenders: loaded 2 ranges version 1") == 1,
                  "daemon 0: want \"bigsenders: loaded 2 ranges version 1\" once in its log");
    assert_rcpt("big sender v4, first attempt", 0, '4', "192.0.2.77", "<a@rcpt.example>",
                SMFIR_CONTINUE);
    assert_rcpt("big sender v6, first attempt", 0, '6', "2001:db8:77::25", "<a@rcpt.example>",
                SMFIR_CONTINUE);
    assert_rcpt("outside the set", 0, '4', "198.51.100.7", "<a@rcpt.example>", SMFIR_REPLYCODE);
    assert_rcpt("next to the set", 0, '4', "192.0.2.200", "<a@rcpt.example>", SMFIR_REPLYCODE);
}
END_TEST

/* test_dns_down - with DNS gone, spf-refresh stores nothing and the set stays */
START_TEST(test_dns_down)
{
    struct store_blob_meta before, after;
    char   *text_before = NULL, *text_after = NULL;
    size_t  len_before, len_after;
    const char *out;
    int     rc;

    ck_assert_msg(stored_text(t.prefix, &text_before, &len_before, &before) == STORE_BLOB_FOUND,
                  "no set stored before the outage");
    daemon_signal(&t.dns, SIGTERM);
    ck_assert_msg(daemon_wait(&t.dns, 3000) != -1, "dnsmasq did not stop within 3 s");
    rc = ctl("spf-refresh", NULL, NULL);
    out = ctl_output();
    ck_assert_msg(rc == 1, "spf-refresh without DNS: got exit %d, want 1:\n%s", rc, out);
    ck_assert_msg(strstr(out, "expansion failed") != NULL && strstr(out, "dns: big.test") != NULL
                  && strstr(out, "is kept") != NULL,
                  "spf-refresh without DNS: want the failure, the DNS note and the kept set:\n%s",
                  out);
    ck_assert_msg(stored_text(t.prefix, &text_after, &len_after, &after) == STORE_BLOB_FOUND,
                  "the set is gone after a failed refresh");
    ck_assert_msg(after.version == before.version && after.stamp == before.stamp
                  && len_after == len_before && memcmp(text_after, text_before, len_after) == 0,
                  "the stored set changed: version %" PRIu64 " -> %" PRIu64, before.version,
                  after.version);
    free(text_before);
    free(text_after);

    /* The daemon keeps using it. */
    assert_rcpt("big sender during the DNS outage", 0, '4', "192.0.2.9", "<b@rcpt.example>",
                SMFIR_CONTINUE);
}
END_TEST

/* test_pickup - a new version in the store reaches the running daemon */
START_TEST(test_pickup)
{
    struct store_blob_meta meta;
    uint64_t v;
    char    line[128];

    store_set(t.prefix, "198.51.100.0/24", &meta);
    v = meta.version;
    ck_assert_msg(v == 2, "new version: got %" PRIu64 ", want 2", v);
    snprintf(line, sizeof(line), "bigsenders: loaded 1 ranges version %" PRIu64, v);
    ck_assert_msg(daemon_log_wait(&t.rg[0], line, 1, 5000) == 1, "daemon 0: no \"%s\" within 5 s (poll 200 ms)",
                  line);
    assert_rcpt("in the new set", 0, '4', "198.51.100.8", "<c@rcpt.example>", SMFIR_CONTINUE);
    assert_rcpt("only in the old set", 0, '4', "192.0.2.77", "<c@rcpt.example>",
                SMFIR_REPLYCODE);
}
END_TEST

/*
 * test_reset - the blob is deleted and written again, so its versions
 * start over at 1. The daemon loads that version 1 (set A); then the same
 * again with set B and a later stamp: a daemon that compared versions
 * alone would keep A for ever.
 */
START_TEST(test_reset)
{
    struct store_blob_meta a, b;
    char    line[128];
    int     tries;

    ck_assert_msg(store_delete(t.prefix) == 1, "the blob key was not there to delete");
    store_set(t.prefix, "203.0.113.0/24", &a);
    ck_assert_msg(a.version == 1, "set A after the reset: got version %" PRIu64 ", want 1",
                  a.version);
    snprintf(line, sizeof(line), "bigsenders: loaded 1 ranges version 1 (stamp %" PRId64 ")",
             a.stamp);
    ck_assert_msg(daemon_log_wait(&t.rg[0], line, 1, 5000) == 1,
                  "daemon 0: no \"%s\" within 5 s (poll 200 ms)", line);
    assert_rcpt("in set A", 0, '4', "203.0.113.5", "<e@rcpt.example>", SMFIR_CONTINUE);

    /* Set B, also version 1; the store's clock is in seconds, so B waits for the next one. */
    for (tries = 0; tries < 30; tries++) {
        ck_assert_int_eq(store_delete(t.prefix), 1);
        store_set(t.prefix, "192.0.2.128/25", &b);
        if (b.stamp != a.stamp)
            break;
        daemon_sleep_ms(100);
    }
    ck_assert_msg(b.version == 1 && b.stamp != a.stamp,
                  "set B: got version %" PRIu64 " stamp %" PRId64 ", want version 1, stamp not %"
                  PRId64, b.version, b.stamp, a.stamp);
    snprintf(line, sizeof(line), "bigsenders: loaded 1 ranges version 1 (stamp %" PRId64 ")",
             b.stamp);
    ck_assert_msg(daemon_log_wait(&t.rg[0], line, 1, 5000) == 1,
                  "daemon 0: no \"%s\" within 5 s: a new version 1 was not picked up", line);
    assert_rcpt("in set B", 0, '4', "192.0.2.130", "<f@rcpt.example>", SMFIR_CONTINUE);
    assert_rcpt("only in set A", 0, '4', "203.0.113.6", "<f@rcpt.example>", SMFIR_REPLYCODE);
}
END_TEST

/* test_no_domains - spf_domains = "": no big-sender set, although one is stored */
START_TEST(test_no_domains)
{
    ck_assert_msg(t.rg[0].pid > 0, "daemon 0 is not running");
    ck_assert_msg(daemon_log_wait(&t.rg[0], "bigsenders: spf_domains is not set: no big-sender"
                                  " set", 1, 5000) == 1,
                  "daemon 0: no \"spf_domains is not set\" at its start");
    assert_rcpt("in the stored set B, without spf_domains", 0, '4', "192.0.2.131",
                "<g@rcpt.example>", SMFIR_REPLYCODE);
    ck_assert_msg(daemon_log_count(&t.rg[0], "bigsenders: loaded") == t.loaded0,
                  "daemon 0 without spf_domains loaded the stored set");
}
END_TEST

/* test_daemon_expands - an empty store and spf_domains: the daemon expands by itself */
START_TEST(test_daemon_expands)
{
    ck_assert_msg(t.rg[1].pid > 0, "daemon 1 is not running");
    ck_assert_msg(daemon_log_wait(&t.rg[1], "bigsenders: loaded 2 ranges version 1", 1, 10000)
                  == 1,
                  "daemon 1: no \"loaded 2 ranges version 1\" within 10 s");
    ck_assert_msg(daemon_log_count(&t.rg[1], "bigsenders: no set in the store") == 1
                  && daemon_log_count(&t.rg[1], "bigsenders: expansion complete") == 1
                  && daemon_log_count(&t.rg[1], "bigsenders: stored version 1 (2 ranges)") == 1,
                  "daemon 1: want the empty store, the expansion and the stored version logged");
    assert_rcpt("expanded by the daemon", 1, '4', "192.0.2.1", "<d@rcpt.example>",
                SMFIR_CONTINUE);
}
END_TEST

/* -------------------------------------------------------------- harness */

/* setup_all - dnsmasq, the list, redgreyctl's configuration; 0 or -1 */
static int
setup_all(void)
{
    const char *tmp = daemon_tmp();
    char    conf[1024];

    t.redis = getenv("REDGREY_TEST_REDIS");
    if (t.redis == NULL || tmp == NULL) {
        fprintf(stderr, "check_spf_refresh: REDGREY_TEST_REDIS unset: run under with-redis.sh\n");
        return -1;
    }
    snprintf(t.list, sizeof(t.list), "%s/bigsenders.txt", tmp);
    snprintf(t.conf, sizeof(t.conf), "%s/redgreyctl.conf", tmp);
    snprintf(t.out, sizeof(t.out), "%s/redgreyctl.out", tmp);

    /* daemon_start_redgrey's key prefix for the names bigset0 and bigset1. */
    snprintf(t.prefix, sizeof(t.prefix), "rgt%ldbigset0:", (long) getpid());
    snprintf(t.prefix1, sizeof(t.prefix1), "rgt%ldbigset1:", (long) getpid());
    if (daemon_start_dnsmasq(&t.dns, "test", zone) != 0) {
        fprintf(stderr, "check_spf_refresh: dnsmasq did not start (install the Debian package"
                " dnsmasq-base)\n");
        daemon_log_print(&t.dns);
        return -1;
    }
    snprintf(conf, sizeof(conf),
             "# check_spf_refresh: redgreyctl\n"
             "socket = inet:1@127.0.0.1\nstore = redis://%s\nkey_prefix = %s\n"
             "spf_domains = %s\ndns_servers = 127.0.0.1:%d\ndns_timeout = 1s\n"
             "log_level = info\n", t.redis, t.prefix, t.list, t.dns.port);
    if (daemon_write_file(t.list, "# the test zone\nbig.test\n") != 0
        || daemon_write_file(t.conf, conf) != 0) {
        fprintf(stderr, "check_spf_refresh: %s: %s\n", tmp, strerror(errno));
        return -1;
    }
    return 0;
}

/* run_suite - one suite, in this process (the steps share state); its failures */
static int
run_suite(const char *name, const TTest *const *tests, size_t n)
{
    Suite  *s = suite_create(name);
    TCase  *tc = tcase_create(name);
    SRunner *sr;
    int     failed;

    for (size_t i = 0; i < n; i++)
        tcase_add_test(tc, tests[i]);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed;
}

/* main - dnsmasq, the ctl steps, two daemons, the daemon steps; stop everything */
int
main(void)
{
    const TTest *const ctl_tests[] = {test_refresh, test_show};
    const TTest *const daemon_tests[] = {
        test_daemon_expands, test_first_attempt, test_dns_down, test_pickup, test_reset,
    };
    const TTest *const no_domains_tests[] = {test_no_domains};
    int     failed = 0, clean = 1;

    if (setup_all() != 0) {
        daemon_signal(&t.dns, SIGTERM);
        daemon_wait(&t.dns, 3000);
        return EXIT_FAILURE;
    }
    failed += run_suite("ctl", ctl_tests, 2);

    /* Daemon 0 reads the set ctl stored; daemon 1 starts on an empty prefix and expands. */
    if (rg_start(0, 1, 0) != 0 || rg_start(1, 1, 1) != 0)
        fprintf(stderr, "check_spf_refresh: a daemon did not start\n");
    failed += run_suite("daemons", daemon_tests, sizeof(daemon_tests) / sizeof(daemon_tests[0]));

    /* Daemon 0 again, without spf_domains: the stored set must not be used. */
    t.loaded0 = daemon_log_count(&t.rg[0], "bigsenders: loaded");
    daemon_signal(&t.rg[0], SIGTERM);
    if (daemon_wait(&t.rg[0], 7000) == -1 || rg_start(0, 0, 0) != 0)
        fprintf(stderr, "check_spf_refresh: daemon 0 did not restart\n");
    failed += run_suite("no domains", no_domains_tests, 1);

    /* Stop both daemons at once (libmilter takes up to ~5 s), then DNS. */
    for (int k = 0; k < NDAEMONS; k++)
        daemon_signal(&t.rg[k], SIGTERM);
    for (int k = 0; k < NDAEMONS; k++) {
        int     status;

        if (t.rg[k].pid <= 0)
            continue;
        status = daemon_wait(&t.rg[k], 7000);
        if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "check_spf_refresh: daemon %d stopped with status 0x%x\n", k, status);
            clean = 0;
        }
    }
    daemon_signal(&t.dns, SIGTERM);
    daemon_wait(&t.dns, 3000);
    if (failed != 0 || !clean) {
        for (int k = 0; k < NDAEMONS; k++)
            daemon_log_print(&t.rg[k]);
    }
    return failed == 0 && clean ? EXIT_SUCCESS : EXIT_FAILURE;
}

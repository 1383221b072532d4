/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_spf_refresh.c - the big-sender whitelist end to end: a loopback
 * DNS server (dnsmasq) serves an SPF tree, redgreyctl expands it into the
 * test Redis, redgrey loads it and lets a client inside it through on its
 * first attempt, a DNS outage keeps the last good set, a new version in
 * the store reaches the running daemon within its poll interval, and a
 * daemon with an empty store expands the list itself.
 *
 * The zone: big.test -> "v=spf1 include:_spf.big.test ip6:2001:db8:77::/48
 * -all", _spf.big.test -> "v=spf1 ip4:192.0.2.0/25 ~all". Only loopback
 * is used; the client addresses travel inside the milter protocol.
 *
 * The steps depend on each other (a stored set, a running daemon), so the
 * runner does not fork: main() starts dnsmasq, runs the steps in order and
 * stops every process it started, by PID. The daemons poll the store every
 * 200 ms (REDGREY_REFRESH_POLL_MS, see redgrey(8)).
 */
#include "config.h"

#include <check.h>
#include <errno.h>
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
#include "proc.h"
#include "miltc.h"
#include "store.h"

#define REDGREY_BIN     TEST_BUILDDIR "/../milter/redgrey"
#define REDGREYCTL_BIN  TEST_BUILDDIR "/../milter/redgreyctl"
#define TIMEOUT_MS      5000             /* bound on every protocol step and command */
#define POLL_KNOB       "REDGREY_REFRESH_POLL_MS=200"
#define NDAEMONS        2

/* One redgrey under test. */
struct rg {
    pid_t   pid;                         /* 0 when not running */
    int     port;                        /* its milter port */
    char    spec[64];                    /* inet:PORT@127.0.0.1 */
    char    conf[600];                   /* its configuration */
    char    log[600];                    /* its stderr */
};

static char test_dir[512];               /* REDGREY_TEST_TMP */

/* Everything main() sets up; the steps share it (the runner does not fork). */
static struct {
    const char *redis;                   /* REDGREY_TEST_REDIS */
    pid_t   dns_pid;                     /* dnsmasq, or 0 */
    int     dns_port;                    /* its port */
    char    dns_log[600];
    char    list[600];                   /* the spf_domains file */
    char    conf[600];                   /* redgreyctl's configuration */
    char    out[600];                    /* redgreyctl's output */
    char    prefix[64];                  /* the key prefix of the ctl and daemon 0 */
    struct rg rg[NDAEMONS];              /* 0: cron-style; 1: expands itself */
} t;

/* ------------------------------------------------------------ processes */

/* dns_start - dnsmasq on a free loopback port serving the zone; 0 or -1 */
static int
dns_start(void)
{
    char    port[16], txt1[128], txt2[128];
    const char *argv[] = {"dnsmasq", "-k", "-p", port, "--listen-address=127.0.0.1",
        "--bind-interfaces", "--no-resolv", "--no-hosts", "--local=/test/", txt1, txt2,
        "--pid-file=", "-u", "root", NULL};
    static char path[4096];              /* putenv keeps it */
    const char *old = getenv("PATH");
    int     rc = -1;

    /* dnsmasq lives in /usr/sbin, which a user's PATH may lack. */
    if (path[0] == 0) {
        snprintf(path, sizeof(path), "PATH=%s:/usr/sbin:/sbin", old != NULL ? old : "/usr/bin:/bin");
        putenv(path);
    }
    snprintf(txt1, sizeof(txt1), "--txt-record=big.test,v=spf1 include:_spf.big.test "
             "ip6:2001:db8:77::/48 -all");
    snprintf(txt2, sizeof(txt2), "--txt-record=_spf.big.test,v=spf1 ip4:192.0.2.0/25 ~all");
    for (int tries = 0; tries < 3 && rc != 0; tries++) {
        if ((t.dns_port = proc_free_port()) < 0)
            return -1;
        snprintf(port, sizeof(port), "%d", t.dns_port);
        if ((t.dns_pid = proc_spawn(argv, t.dns_log, NULL)) < 0)
            return -1;
        if ((rc = proc_wait_listening(t.dns_pid, t.dns_port, 1, 5000)) != 0) {
            if (rc != PROC_EXITED)
                proc_stop(t.dns_pid, SIGKILL, 1000);
            t.dns_pid = 0;
        }
    }
    if (rc != 0) {
        char   *text = proc_read_file(t.dns_log);

        fprintf(stderr, "check_spf_refresh: dnsmasq did not start (install the Debian package"
                " dnsmasq-base):\n%s\n", text ? text : "");
        free(text);
    }
    return rc;
}

/* dns_stop - stop dnsmasq; 1 if it stopped and let go of its port */
static int
dns_stop(void)
{
    int     status;

    if (t.dns_pid <= 0)
        return 1;
    status = proc_stop(t.dns_pid, SIGTERM, 3000);
    t.dns_pid = 0;
    return status != -1 && !proc_listening(t.dns_port, 1);
}

/*
 * rg_start - write daemon k's configuration (spf_domains only if
 * with_domains) with key prefix, start it, wait until it listens. 0 or -1.
 */
static int
rg_start(int k, const char *prefix, int with_domains)
{
    struct rg *r = &t.rg[k];
    const char *argv[] = {REDGREY_BIN, "-f", "-c", r->conf, NULL};
    char    conf[2048];
    int     rc = -1;

    snprintf(r->conf, sizeof(r->conf), "%s/redgrey%d.conf", test_dir, k);
    snprintf(r->log, sizeof(r->log), "%s/redgrey%d.log", test_dir, k);
    for (int tries = 0; tries < 3 && rc != 0; tries++) {
        if ((r->port = proc_free_port()) < 0)
            return -1;
        snprintf(r->spec, sizeof(r->spec), "inet:%d@127.0.0.1", r->port);
        snprintf(conf, sizeof(conf),
                 "# check_spf_refresh: daemon %d\n"
                 "socket = %s\nstore = redis://%s\nkey_prefix = %s\ndelay = 60s\n"
                 "user = \"\"\npidfile = \"\"\nlog_level = info\n"
                 "spf_domains = %s\ndns_servers = 127.0.0.1:%d\ndns_timeout = 1s\n"
                 "spf_refresh = 1h\n",
                 k, r->spec, t.redis, prefix, with_domains ? t.list : "\"\"", t.dns_port);
        if (proc_write_file(r->conf, conf) != 0
            || (r->pid = proc_spawn(argv, r->log, POLL_KNOB)) < 0)
            return -1;
        if ((rc = proc_wait_listening(r->pid, r->port, 0, 15000)) != 0) {
            if (rc != PROC_EXITED)
                proc_stop(r->pid, SIGKILL, 1000);
            r->pid = 0;
        }
    }
    return rc;
}

/* rg_wait_log - wait up to ms for needle in daemon k's log; 1 if it came */
static int
rg_wait_log(int k, const char *needle, long ms)
{
    for (long waited = 0; waited < ms; waited += 50) {
        if (proc_count(t.rg[k].log, needle) > 0)
            return 1;
        proc_sleep_ms(50);
    }
    return proc_count(t.rg[k].log, needle) > 0;
}

/* ctl - run redgreyctl -c CONF with up to three arguments (NULL ends); its exit code */
static int
ctl(const char *a1, const char *a2, const char *a3)
{
    const char *argv[] = {REDGREYCTL_BIN, "-c", t.conf, a1, a2, a3, NULL};

    return proc_run(argv, t.out, 3 * TIMEOUT_MS);
}

/* ctl_output - what the last ctl() printed (static buffer) */
static const char *
ctl_output(void)
{
    static char buf[8192];
    char   *text = proc_read_file(t.out);

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

/* store_set - write a set of the given blocks as the next version; returns it */
static uint64_t
store_set(const char *prefix, const char *block)
{
    char    url[128], err[STORE_ERRLEN] = "";
    struct store_config sc = {
        .url = url, .key_prefix = prefix, .timeout_ms = 2000, .pool = 1,
        .params = {.delay = 60, .retry_window = 3600, .pass_ttl = 3600, .awl_threshold = 0,
                   .awl_ttl = 3600},
    };
    struct store_blob_meta meta;
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
    ck_assert_msg(store_blob_put(st, BIGSENDER_BLOB, text, len, &meta, err, sizeof(err)) == 0,
                  "put: %s", err);
    store_free(st);
    free(text);
    netset_free(set);
    return meta.version;
}

/* ----------------------------------------------------------- the client */

/*
 * rcpt - one SMTP session to daemon k, as Postfix: connect from addr
 * (family '4' or '6'), MAIL, RCPT; returns the RCPT answer
 */
static int
rcpt(int k, char family, const char *addr, const char *to, char *reply, size_t replylen)
{
    struct miltc *c = malloc(sizeof(*c));
    char    client_addr[80];
    const char *mac[] = {"j", "mx.test", "{client_addr}", client_addr, "{client_name}", "unknown"};
    int     r = MILTC_ERROR;

    ck_assert_ptr_nonnull(c);
    miltc_init(c);
    snprintf(client_addr, sizeof(client_addr), "%s%s", family == '6' ? "IPv6:" : "", addr);
    if (miltc_open(c, t.rg[k].spec, TIMEOUT_MS) == 0 && miltc_negotiate(c, 0, 0) == 0
        && miltc_macro(c, SMFIC_CONNECT, mac, 6) == 0) {
        r = miltc_connect(c, addr, family, 25, addr);
        if (r == MILTC_NOREPLY || r == SMFIR_CONTINUE)
            r = miltc_helo(c, "client.example");
        if (r == MILTC_NOREPLY || r == SMFIR_CONTINUE)
            r = miltc_mail(c, "<news@big.test>");
        if (r == MILTC_NOREPLY || r == SMFIR_CONTINUE)
            r = miltc_rcpt(c, to);
    }
    snprintf(reply, replylen, "%s", r == MILTC_ERROR ? c->err : c->reply);
    if (r != MILTC_ERROR) {
        (void) miltc_abort(c);
        (void) miltc_quit(c);
    }
    miltc_close(c);
    free(c);
    return r;
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
    ck_assert_msg(proc_count(t.rg[0].log, "bigsenders: loaded 2 ranges version 1") == 1,
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
    ck_assert_msg(dns_stop(), "dnsmasq did not stop");
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
    uint64_t v = store_set(t.prefix, "198.51.100.0/24");
    char    line[128];

    ck_assert_msg(v == 2, "new version: got %" PRIu64 ", want 2", v);
    snprintf(line, sizeof(line), "bigsenders: loaded 1 ranges version %" PRIu64, v);
    ck_assert_msg(rg_wait_log(0, line, 5000), "daemon 0: no \"%s\" within 5 s (poll 200 ms)",
                  line);
    assert_rcpt("in the new set", 0, '4', "198.51.100.8", "<c@rcpt.example>", SMFIR_CONTINUE);
    assert_rcpt("only in the old set", 0, '4', "192.0.2.77", "<c@rcpt.example>",
                SMFIR_REPLYCODE);
}
END_TEST

/* test_daemon_expands - an empty store and spf_domains: the daemon expands by itself */
START_TEST(test_daemon_expands)
{
    ck_assert_msg(t.rg[1].pid > 0, "daemon 1 is not running");
    ck_assert_msg(rg_wait_log(1, "bigsenders: loaded 2 ranges version 1", 10000),
                  "daemon 1: no \"loaded 2 ranges version 1\" within 10 s");
    ck_assert_msg(proc_count(t.rg[1].log, "bigsenders: no set in the store") == 1
                  && proc_count(t.rg[1].log, "bigsenders: expansion complete") == 1
                  && proc_count(t.rg[1].log, "bigsenders: stored version 1 (2 ranges)") == 1,
                  "daemon 1: want the empty store, the expansion and the stored version logged");
    assert_rcpt("expanded by the daemon", 1, '4', "192.0.2.1", "<d@rcpt.example>",
                SMFIR_CONTINUE);
}
END_TEST

/* -------------------------------------------------------------- harness */

/* setup_all - dnsmasq, the list, the ctl configuration; daemons come later */
static int
setup_all(void)
{
    const char *tmp = getenv("REDGREY_TEST_TMP");
    char    conf[1024];

    t.redis = getenv("REDGREY_TEST_REDIS");
    if (t.redis == NULL || tmp == NULL) {
        fprintf(stderr, "check_spf_refresh: REDGREY_TEST_REDIS unset: run under with-redis.sh\n");
        return -1;
    }
    snprintf(test_dir, sizeof(test_dir), "%s", tmp);
    snprintf(t.dns_log, sizeof(t.dns_log), "%s/dnsmasq.log", test_dir);
    snprintf(t.list, sizeof(t.list), "%s/bigsenders.txt", test_dir);
    snprintf(t.conf, sizeof(t.conf), "%s/redgreyctl.conf", test_dir);
    snprintf(t.out, sizeof(t.out), "%s/redgreyctl.out", test_dir);
    snprintf(t.prefix, sizeof(t.prefix), "bs%ld:", (long) getpid());
    if (dns_start() != 0)
        return -1;
    snprintf(conf, sizeof(conf),
             "# check_spf_refresh: redgreyctl\n"
             "socket = inet:1@127.0.0.1\nstore = redis://%s\nkey_prefix = %s\n"
             "spf_domains = %s\ndns_servers = 127.0.0.1:%d\ndns_timeout = 1s\n"
             "log_level = info\n", t.redis, t.prefix, t.list, t.dns_port);
    if (proc_write_file(t.list, "# the test zone\nbig.test\n") != 0
        || proc_write_file(t.conf, conf) != 0) {
        fprintf(stderr, "check_spf_refresh: %s: %s\n", test_dir, strerror(errno));
        return -1;
    }
    return 0;
}

/* main - dnsmasq, the ctl steps, two daemons, the daemon steps; stop everything */
int
main(void)
{
    SRunner *sr;
    Suite  *s;
    TCase  *tc;
    int     failed = 0, clean = 1;

    if (setup_all() != 0) {
        dns_stop();
        return EXIT_FAILURE;
    }
    s = suite_create("spf_refresh");
    tc = tcase_create("ctl");
    tcase_add_test(tc, test_refresh);
    tcase_add_test(tc, test_show);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    failed += srunner_ntests_failed(sr);
    srunner_free(sr);

    /* Daemon 0 on the set ctl stored; daemon 1 on an empty prefix, expanding. */
    {
        char    prefix1[64];

        snprintf(prefix1, sizeof(prefix1), "bs%ld-1:", (long) getpid());
        if (rg_start(0, t.prefix, 0) != 0)
            fprintf(stderr, "check_spf_refresh: daemon 0 did not start\n");
        if (rg_start(1, prefix1, 1) != 0)
            fprintf(stderr, "check_spf_refresh: daemon 1 did not start\n");
    }
    s = suite_create("spf_refresh daemons");
    tc = tcase_create("daemon");
    tcase_add_test(tc, test_daemon_expands);
    tcase_add_test(tc, test_first_attempt);
    tcase_add_test(tc, test_dns_down);
    tcase_add_test(tc, test_pickup);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    failed += srunner_ntests_failed(sr);
    srunner_free(sr);

    /* Stop both daemons at once (libmilter takes up to ~5 s), then DNS. */
    for (int k = 0; k < NDAEMONS; k++)
        if (t.rg[k].pid > 0)
            kill(t.rg[k].pid, SIGTERM);
    for (int k = 0; k < NDAEMONS; k++) {
        int     status;

        if (t.rg[k].pid <= 0)
            continue;
        status = proc_stop(t.rg[k].pid, SIGTERM, 7000);
        if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "check_spf_refresh: daemon %d stopped with status 0x%x\n", k, status);
            clean = 0;
        }
    }
    dns_stop();
    if (failed != 0 || !clean) {
        for (int k = 0; k < NDAEMONS; k++) {
            char   *text = proc_read_file(t.rg[k].log);

            fprintf(stderr, "---- redgrey %d log ----\n%s\n", k, text != NULL ? text : "(none)");
            free(text);
        }
    }
    return failed == 0 && clean ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_milter_dnsbl.c - DNS lists and selective greylisting end to end,
 * through the milter protocol (issue 14).
 *
 * main() starts nsd serving a blocklist (bl.test), an allowlist (wl.test)
 * and SPF records (spf.test), behind the test's forwarding resolver
 * (tests/dnsfront.h), which also plays three zones that never answer.
 * Three redgrey daemons on the private Redis of with-redis.sh, each with
 * dns_servers = the front:
 *   "all"   greylist = all, bl.test*2 and wl.test*-3, delay_listed = 1h;
 *   "susp"  greylist = suspicious, the same lists, a dynamic_patterns file;
 *   "slow"  bl.test*2 and the three silent zones, dnsbl_timeout = 1s.
 * Asserted: a listed client waits delay_listed while a clean one passes
 * after delay (one 2.1 s wait); a DNSWL client passes at once; with
 * greylist = suspicious a clean client with rDNS passes and an unknown,
 * dynamic, SPF-failing or listed one is greylisted, each with its
 * reason in the log line; three silent zones cost one dnsbl_timeout; a
 * SIGHUP applies new lists, greylist mode and pattern file.
 */
#include "config.h"

#include <check.h>
#include <libmilter/mfapi.h>
#include <libmilter/mfdef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "daemon.h"
#include "dnsfront.h"
#include "miltc.h"
#include "mta.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define GREY_REPLY "451 4.7.1 Greylisted, please try again later"
#define SOA "@ IN SOA ns.test. hostmaster.test. 1 3600 600 86400 30\n@ IN NS ns.test.\n"

static const struct dnsfront_zone zones[] = {
    {"bl.test", "$ORIGIN bl.test.\n$TTL 300\n" SOA
     "10.2.0.192 IN A 127.0.0.2\n"},
    {"wl.test", "$ORIGIN wl.test.\n$TTL 300\n" SOA
     "20.2.0.192 IN A 127.0.10.1\n"},
    {"spf.test", "$ORIGIN spf.test.\n$TTL 300\n" SOA
     "pass IN TXT \"v=spf1 ip4:192.0.2.0/24 -all\"\n"
     "fail IN TXT \"v=spf1 -all\"\n"},
};

static const char *const drop_zones[] = {"slow1.test", "slow2.test", "slow3.test", NULL};
static const char *const servfail_zones[] = {NULL};

static struct daemon nsd;
static struct dnsfront *front;
static struct daemon all, susp, slow;

/* assert_logged - d logged needle exactly n times */
#define assert_logged(label, d, needle, n) do { \
    int     got_ = daemon_log_count((d), (needle)); \
    ck_assert_msg(got_ == (n), "%s: log of %s: got %d lines with \"%s\", want %d", (label), \
                  (d)->name, got_, (needle), (n)); \
} while (0)

/* rcpt - one session for one recipient; the RCPT answer, its time into took */
static int
rcpt(const struct daemon *d, const char *addr, const char *name, const char *from,
     const char *to, long long *took)
{
    struct mta_conn m = {'4', addr, NULL, name, NULL, 0};
    char    reply[300] = "";
    int     r = mta_one_rcpt(d, &m, from, to, NULL, reply, sizeof(reply), took);

    if (r == SMFIR_REPLYCODE)
        ck_assert_msg(strcmp(reply, GREY_REPLY) == 0, "%s: reply \"%s\"", to, reply);
    return r;
}

/* expect - rcpt() must answer want, and d must have logged needle once since */
static void
expect(const struct daemon *d, const char *addr, const char *name, const char *from,
       const char *to, int want, const char *needle)
{
    int     r = rcpt(d, addr, name, from, to, NULL);

    ck_assert_msg(r == want, "%s on %s: got %s, want %s", to, d->name, mta_answer_name(r),
                  mta_answer_name(want));
    ck_assert_msg(daemon_log_wait(d, needle, 1, 3000) >= 1, "%s: no log line with \"%s\"", to,
                  needle);
    assert_logged(to, d, needle, 1);
}

/*
 * assert_line_has - the last line of d's log with key (one recipient's
 * "to=<...>") holds want
 */
static void
assert_line_has(const struct daemon *d, const char *key, const char *want)
{
    char   *log = daemon_read_file_ok(d->log), *line = NULL, *p = log, *end;

    while ((p = strstr(p, key)) != NULL) {
        line = p;
        p += strlen(key);
    }
    ck_assert_msg(line != NULL, "%s: no line with %s", d->name, key);
    if ((end = strchr(line, '\n')) != NULL)
        *end = '\0';
    ck_assert_msg(strstr(line, want) != NULL, "%s: the line of %s lacks \"%s\": ...%s", d->name,
                  key, want, line);
    free(log);
}

/*
 * xasprintf_conf - conf with the old_len bytes at "at" replaced by the
 * new lists, the empty dynamic_patterns by pat, and greylist = suspicious
 * added: a new string
 */
static char *
xasprintf_conf(const char *conf, const char *at, size_t old_len, const char *pat)
{
    const char *dyn = "dynamic_patterns = \"\"\n";
    size_t  len = strlen(conf) + strlen(pat) + 200;
    char   *out = malloc(len), *tmp = malloc(len), *d;

    ck_assert_ptr_nonnull(out);
    ck_assert_ptr_nonnull(tmp);
    snprintf(tmp, len, "%.*sdnsbl_sites = bl.test*7\ngreylist = suspicious\n%s",
             (int) (at - conf), conf, at + old_len);
    d = strstr(tmp, dyn);
    ck_assert_ptr_nonnull(d);
    snprintf(out, len, "%.*sdynamic_patterns = %s\n%s", (int) (d - tmp), tmp, pat,
             d + strlen(dyn));
    free(tmp);
    return out;
}

/* A listed client waits delay_listed; a clean one passes after delay; DNSWL passes at once. */
START_TEST(test_delay_listed)
{
    expect(&all, "192.0.2.10", "mx.listed.test", "<a@x.test>", "<l1@rcpt.test>",
           SMFIR_REPLYCODE, "action=greylist reason=new client=[192.0.2.10] key=192.0.2.0/24 "
           "from=<a@x.test> to=<l1@rcpt.test> spf=temperror dnsbl_score=2 dnsbl=bl.test "
           "dnsbl_ms=");
    assert_logged("listed", &all, "suspicious=dnsbl\n", 1);
    expect(&all, "198.51.100.30", "mx.clean.test", "<a@x.test>", "<c1@rcpt.test>",
           SMFIR_REPLYCODE, "to=<c1@rcpt.test> spf=temperror dnsbl_score=0 dnsbl=- dnsbl_ms=");
    expect(&all, "192.0.2.20", "mx.wl.test", "<a@x.test>", "<w1@rcpt.test>", SMFIR_CONTINUE,
           "action=accept reason=dnswl client=[192.0.2.20]");
    daemon_sleep_ms(2100);               /* delay = 2s, delay_listed = 1h */
    expect(&all, "192.0.2.10", "mx.listed.test", "<a@x.test>", "<l1@rcpt.test>",
           SMFIR_REPLYCODE, "action=greylist reason=early client=[192.0.2.10]");
    expect(&all, "198.51.100.30", "mx.clean.test", "<a@x.test>", "<c1@rcpt.test>",
           SMFIR_CONTINUE, "action=pass reason=retry client=[198.51.100.30]");
}
END_TEST

/* greylist = suspicious: each signal alone, and a clean client. */
static const struct susp_case {
    const char *label, *addr, *name, *from, *to;
    int     want;
    const char *needle;
    const char *word;                    /* the line's suspicious= field, or "" */
} susp_cases[] = {
    {"clean, rDNS, SPF pass", "192.0.2.40", "mx.clean.test", "<a@pass.spf.test>",
     "<s1@rcpt.test>", SMFIR_CONTINUE, "action=accept reason=not-suspicious client=[192.0.2.40]",
     "dnsbl_score=0 dnsbl=- dnsbl_ms="},
    {"no rDNS", "192.0.2.41", NULL, "<a@pass.spf.test>", "<s2@rcpt.test>", SMFIR_REPLYCODE,
     "reason=new client=[192.0.2.41] key=192.0.2.0/24 from=<a@pass.spf.test> "
     "to=<s2@rcpt.test> spf=pass", " suspicious=no-rdns"},
    {"dynamic by the IP digits", "192.0.2.42", "192-0-2-42.isp.test", "<a@pass.spf.test>",
     "<s3@rcpt.test>", SMFIR_REPLYCODE, "client=[192.0.2.42]", " suspicious=dynamic"},
    {"dynamic by a pattern", "192.0.2.43", "host43.dynamic.isp.test", "<a@pass.spf.test>",
     "<s4@rcpt.test>", SMFIR_REPLYCODE, "client=[192.0.2.43]", " suspicious=dynamic"},
    {"SPF fail", "192.0.2.44", "mx.clean.test", "<a@fail.spf.test>", "<s5@rcpt.test>",
     SMFIR_REPLYCODE, "to=<s5@rcpt.test> spf=fail dnsbl_score=0 dnsbl=- dnsbl_ms=",
     " suspicious=spf"},
    {"listed", "192.0.2.10", "mx.listed.test", "<a@pass.spf.test>", "<s6@rcpt.test>",
     SMFIR_REPLYCODE, "dnsbl_score=2 dnsbl=bl.test dnsbl_ms=", " suspicious=dnsbl"},
    {"DNSWL without rDNS", "192.0.2.20", NULL, "<a@fail.spf.test>", "<s7@rcpt.test>",
     SMFIR_CONTINUE, "action=accept reason=dnswl client=[192.0.2.20]", "dnsbl_score=-3 dnsbl=wl.test"},
};

START_TEST(test_suspicious)
{
    const struct susp_case *c = &susp_cases[_i];

    char    key[64];

    expect(&susp, c->addr, c->name, c->from, c->to, c->want, c->needle);
    snprintf(key, sizeof(key), "to=%s", c->to);
    assert_line_has(&susp, key, c->word);
}
END_TEST

/* The reasons' words in the line: no-rdns, spf, and listed with no rDNS. */
START_TEST(test_suspicious_words)
{
    expect(&susp, "192.0.2.45", NULL, "<a@x.test>", "<w1@rcpt.test>", SMFIR_REPLYCODE,
           "to=<w1@rcpt.test> spf=temperror dnsbl_score=0 dnsbl=- dnsbl_ms=");
    assert_line_has(&susp, "to=<w1@rcpt.test>", " suspicious=no-rdns");
    expect(&susp, "192.0.2.46", "mx.clean.test", "<a@fail.spf.test>", "<w2@rcpt.test>",
           SMFIR_REPLYCODE, "to=<w2@rcpt.test> spf=fail");
    assert_line_has(&susp, "to=<w2@rcpt.test>", " suspicious=spf");
    expect(&susp, "192.0.2.10", NULL, "<a@x.test>", "<w3@rcpt.test>", SMFIR_REPLYCODE,
           "to=<w3@rcpt.test> spf=temperror dnsbl_score=2 dnsbl=bl.test");
    assert_line_has(&susp, "to=<w3@rcpt.test>", " suspicious=dnsbl,no-rdns");
}
END_TEST

/* Three zones that never answer cost one dnsbl_timeout (1 s), and the listing zone counts. */
START_TEST(test_silent_zones)
{
    long long took = 0;
    int     r = rcpt(&slow, "192.0.2.10", "mx.listed.test", "<a@x.test>", "<t1@rcpt.test>",
                     &took);

    ck_assert_msg(r == SMFIR_REPLYCODE, "got %s", mta_answer_name(r));
    ck_assert_msg(took >= 900 && took < 1800, "three silent zones: RCPT took %lld ms, want about "
                  "one dnsbl_timeout of 1000 ms", took);
    ck_assert_msg(daemon_log_wait(&slow, "to=<t1@rcpt.test> spf=temperror dnsbl_score=2 dnsbl=bl.test dnsbl_ms=",
                                  1, 3000) >= 1, "no dnsbl fields in the line");
    /* The same client again: the cached result, no wait. */
    r = rcpt(&slow, "192.0.2.10", "mx.listed.test", "<a@x.test>", "<t2@rcpt.test>", &took);
    ck_assert_msg(r == SMFIR_REPLYCODE, "got %s", mta_answer_name(r));
    ck_assert_msg(took < 500, "cached: RCPT took %lld ms", took);
    ck_assert_msg(daemon_log_wait(&slow, "to=<t2@rcpt.test> spf=temperror dnsbl_score=2 dnsbl=bl.test dnsbl_ms=0 ",
                                  1, 3000) >= 1, "cached result not logged");
}
END_TEST

/*
 * SIGHUP applies the keys of issue 14: "slow" gets other lists (the
 * checker is rebuilt: a new score), greylist = suspicious and a pattern
 * file it did not have.
 */
START_TEST(test_reload)
{
    char   *conf = daemon_read_file_ok(slow.conf), *at, pat[600], *next;
    const char *old = "dnsbl_sites = bl.test*2 slow1.test slow2.test slow3.test\n";
    const char *tmp = daemon_tmp();

    snprintf(pat, sizeof(pat), "%s/dynamic_patterns2", tmp);
    ck_assert_int_eq(daemon_write_file(pat, "*.reloaded.*\n"), 0);
    at = strstr(conf, old);
    ck_assert_msg(at != NULL && strstr(conf, "dynamic_patterns = \"\"\n") != NULL,
                  "conf of slow: %s", conf);
    next = xasprintf_conf(conf, at, strlen(old), pat);
    ck_assert_int_eq(daemon_write_file(slow.conf, next), 0);
    ck_assert_int_eq(daemon_signal(&slow, SIGHUP), 0);
    ck_assert_msg(daemon_log_wait(&slow, "SIGHUP: configuration reloaded", 1, 5000) == 1,
                  "no reload");
    assert_logged("rebuilt", &slow, "dnsbl: checker rebuilt", 1);
    expect(&slow, "192.0.2.10", "mx.listed.test", "<a@x.test>", "<r1@rcpt.test>",
           SMFIR_REPLYCODE, "to=<r1@rcpt.test> spf=temperror dnsbl_score=7 dnsbl=bl.test");
    expect(&slow, "192.0.2.50", "h1.reloaded.test", "<a@x.test>", "<r2@rcpt.test>",
           SMFIR_REPLYCODE, "client=[192.0.2.50]");
    assert_line_has(&slow, "to=<r2@rcpt.test>", " suspicious=dynamic");
    expect(&slow, "192.0.2.51", "mx.ok.test", "<a@x.test>", "<r3@rcpt.test>", SMFIR_CONTINUE,
           "action=accept reason=not-suspicious client=[192.0.2.51]");
    free(next);
    free(conf);
}
END_TEST

/* setup_all - nsd, the front, the three daemons; 0 or -1 */
static int
setup_all(void)
{
    char    extra[2048], pat[600];
    const char *tmp = daemon_tmp();

    if (tmp == NULL || nsd_start(&nsd, zones, NELEM(zones)) != 0) {
        fprintf(stderr, "check_milter_dnsbl: nsd did not start (or no REDGREY_TEST_TMP)\n");
        return -1;
    }
    if ((front = dnsfront_start(nsd.port, drop_zones, servfail_zones)) == NULL)
        return -1;
    snprintf(pat, sizeof(pat), "%s/dynamic_patterns", tmp);
    if (daemon_write_file(pat, "# test\n*.dynamic.*\n") != 0)
        return -1;
    snprintf(extra, sizeof(extra),
             "dns_servers = 127.0.0.1:%d\n"
             "dnsbl_sites = bl.test*2, wl.test=127.0.10.[1..255]*-3\n"
             "delay_listed = 1h\n"
             "dynamic_patterns = %s\n", dnsfront_port(front), pat);
    if (daemon_start_redgrey(&all, "all", extra, NULL) != 0)
        return -1;
    snprintf(extra, sizeof(extra),
             "dns_servers = 127.0.0.1:%d\n"
             "dnsbl_sites = bl.test*2, wl.test=127.0.10.[1..255]*-3\n"
             "greylist = suspicious\n"
             "dynamic_patterns = %s\n", dnsfront_port(front), pat);
    if (daemon_start_redgrey(&susp, "susp", extra, NULL) != 0)
        return -1;
    snprintf(extra, sizeof(extra),
             "dns_servers = 127.0.0.1:%d\n"
             "dnsbl_sites = bl.test*2 slow1.test slow2.test slow3.test\n"
             "dnsbl_timeout = 1s\n"
             "dynamic_patterns = \"\"\n", dnsfront_port(front));
    return daemon_start_redgrey(&slow, "slow", extra, NULL) == 0 ? 0 : -1;
}

/* teardown_all - stop everything; 0, or -1 if a daemon did not exit cleanly */
static int
teardown_all(void)
{
    struct daemon *ds[] = {&all, &susp, &slow};
    int     rc = 0, status;

    for (size_t i = 0; i < NELEM(ds); i++)
        if (ds[i]->pid > 0)
            daemon_signal(ds[i], SIGTERM);
    for (size_t i = 0; i < NELEM(ds); i++) {
        if (ds[i]->pid <= 0) {
            rc = -1;
            continue;
        }
        status = daemon_wait(ds[i], 6500);
        if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "check_milter_dnsbl: %s stopped with status 0x%x\n", ds[i]->name,
                    status);
            rc = -1;
        }
    }
    if (front != NULL)
        dnsfront_stop(front);
    if (nsd.pid > 0)
        nsd_stop(&nsd);
    return rc;
}

static int setup_failed, stop_failed;

/* fixture_setup - setup_all as an unchecked fixture (dnsfront and nsd assert) */
static void
fixture_setup(void)
{
    setup_failed = setup_all() != 0;
    ck_assert_msg(!setup_failed, "setup failed");
}

/* fixture_teardown - teardown_all, its result kept for main */
static void
fixture_teardown(void)
{
    stop_failed = teardown_all() != 0;
}

static Suite *
milter_dnsbl_suite(void)
{
    Suite  *s = suite_create("milter_dnsbl");
    TCase  *tc = tcase_create("dns lists");

    tcase_set_timeout(tc, 30);
    tcase_add_unchecked_fixture(tc, fixture_setup, fixture_teardown);
    tcase_add_test(tc, test_delay_listed);
    tcase_add_loop_test(tc, test_suspicious, 0, NELEM(susp_cases));
    tcase_add_test(tc, test_suspicious_words);
    tcase_add_test(tc, test_silent_zones);
    tcase_add_test(tc, test_reload);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    int     failed = daemon_run_suites(milter_dnsbl_suite(), NULL), stop = stop_failed;

    if (failed != 0 || stop != 0 || setup_failed) {
        struct daemon *ds[] = {&all, &susp, &slow};

        for (size_t i = 0; i < NELEM(ds); i++)
            daemon_log_print(ds[i]);
    }
    return failed == 0 && stop == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_redgreyctl.c - the admin tool's commands on both backends (an
 * LMDB directory, and the real redis-server of with-redis.sh): stats,
 * lookup, pass, delete, spf-clear and report, in text and with --json;
 * their exit codes; that lookup changes nothing; the whitelists and the
 * big-sender set it reports (none with spf_domains = ""); and, run as
 * root, that the LMDB files it creates belong to the store's owner.
 *
 * Every --json output is checked by a small JSON parser below (RFC 8259
 * syntax: objects, arrays, strings with their escapes, numbers,
 * literals), so that a string the tool forgot to escape fails the test.
 * The test makes store entries through the store API, as the daemon
 * would, and runs the built redgreyctl on the same store.
 */
#include "config.h"

#include <check.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bigsender.h"
#include "cfg.h"
#include "cfg_store.h"
#include "daemon.h"
#include "netblock.h"
#include "store.h"

#define CTL_BIN    TEST_BUILDDIR "/../milter/redgreyctl"
#define CTL_MS     20000                 /* bound on one run */
#define OUT_MAX    16384

enum { B_LMDB, B_REDIS, B_COUNT };

static const char *const backend_names[B_COUNT] = {"lmdb", "redis"};

/* One backend's fixture: its configuration files and the store the test uses. */
struct fixture {
    char    dir[512];                    /* scratch directory of this test */
    char    conf[600];                   /* redgreyctl's configuration */
    char    conf_big[600];               /* the same with spf_domains set */
    char    conf_fast[600];              /* the same with delay = 1s */
    struct store *st;                    /* the same store, for the test's own entries */
    char    out[OUT_MAX];                /* the last run's output */
};

/* ---- a small JSON syntax checker ---- */

static int json_value(const char **p, int depth);

/* json_ws - skip blanks */
static void
json_ws(const char **p)
{
    while (**p == ' ' || **p == '\t' || **p == '\n' || **p == '\r')
        (*p)++;
}

/* json_string - a string with valid escapes and no raw control bytes; 0 or -1 */
static int
json_string(const char **p)
{
    if (**p != '"')
        return -1;
    for ((*p)++; **p != '"'; (*p)++) {
        unsigned char c = (unsigned char) **p;

        if (c < 0x20)
            return -1;
        if (c != '\\')
            continue;
        (*p)++;
        if (**p == 'u') {
            for (int i = 1; i <= 4; i++)
                if (!isxdigit((unsigned char) (*p)[i]))
                    return -1;
            *p += 4;
        } else if (strchr("\"\\/bfnrt", **p) == NULL || **p == 0)
            return -1;
    }
    (*p)++;
    return 0;
}

/* json_number - -?digits(.digits)?([eE][+-]?digits)?; 0 or -1 */
static int
json_number(const char **p)
{
    const char *s = *p;

    if (**p == '-')
        (*p)++;
    if (!isdigit((unsigned char) **p))
        return -1;
    if (**p == '0' && isdigit((unsigned char) (*p)[1]))
        return -1;
    while (isdigit((unsigned char) **p))
        (*p)++;
    if (**p == '.') {
        (*p)++;
        if (!isdigit((unsigned char) **p))
            return -1;
        while (isdigit((unsigned char) **p))
            (*p)++;
    }
    if (**p == 'e' || **p == 'E') {
        (*p)++;
        if (**p == '+' || **p == '-')
            (*p)++;
        if (!isdigit((unsigned char) **p))
            return -1;
        while (isdigit((unsigned char) **p))
            (*p)++;
    }
    return *p > s ? 0 : -1;
}

/* json_members - the inside of an object (obj) or array, after its opening bracket */
static int
json_members(const char **p, int obj, int depth)
{
    char    close = obj ? '}' : ']';

    json_ws(p);
    if (**p == close) {
        (*p)++;
        return 0;
    }
    for (;;) {
        json_ws(p);
        if (obj) {
            if (json_string(p) < 0)
                return -1;
            json_ws(p);
            if (*(*p)++ != ':')
                return -1;
        }
        if (json_value(p, depth + 1) < 0)
            return -1;
        json_ws(p);
        if (**p == close) {
            (*p)++;
            return 0;
        }
        if (*(*p)++ != ',')
            return -1;
    }
}

/* json_value - one value; 0 or -1 */
static int
json_value(const char **p, int depth)
{
    json_ws(p);
    if (depth > 64)
        return -1;
    switch (**p) {
    case '{':
        (*p)++;
        return json_members(p, 1, depth);
    case '[':
        (*p)++;
        return json_members(p, 0, depth);
    case '"':
        return json_string(p);
    case 't':
        return strncmp(*p, "true", 4) == 0 ? (*p += 4, 0) : -1;
    case 'f':
        return strncmp(*p, "false", 5) == 0 ? (*p += 5, 0) : -1;
    case 'n':
        return strncmp(*p, "null", 4) == 0 ? (*p += 4, 0) : -1;
    default:
        return json_number(p);
    }
}

/* json_ok - 1 if text is exactly one JSON value (blanks around it allowed) */
static int
json_ok(const char *text)
{
    const char *p = text;

    if (json_value(&p, 0) < 0)
        return 0;
    json_ws(&p);
    return *p == 0;
}

/* The checker itself must refuse what is not JSON. */
START_TEST(test_json_checker)
{
    static const char *const good[] = {
        "{}", "[]", "{\"a\":[1,-2.5e3,true,false,null,\"\\u00e9\\\"\\\\\"]}\n", "0",
    };
    static const char *const bad[] = {
        "{", "{\"a\":}", "{\"a\" 1}", "[1,]", "\"\x01\"", "\"\\x41\"", "01", "{} {}",
        "\"abc", "{\"a\":1,}", "nul", "\"\\u00g0\"",
    };

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        ck_assert_msg(json_ok(good[i]), "refused good JSON %s", good[i]);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(!json_ok(bad[i]), "accepted bad JSON %s", bad[i]);
}
END_TEST

/* ---- the fixture ---- */

/* fx_write_conf - a configuration for backend b into path, spf_domains as given */
static void
fx_write_conf(struct fixture *f, int b, const char *path, const char *spf_domains,
              const char *delay)
{
    char    text[4096], store[700];

    if (b == B_LMDB)
        snprintf(store, sizeof(store), "lmdb:%s/db", f->dir);
    else
        snprintf(store, sizeof(store), "redis://%s", getenv("REDGREY_TEST_REDIS"));
    snprintf(text, sizeof(text),
             "store = %s\nkey_prefix = ctl%ld:\nuser = \"\"\nspf_keying = no\n"
             "delay = %s\nretry_window = 2h\nawl_threshold = 3\n"
             "whitelist_recipients = %s/rcpts\nwhitelist_clients = %s/clients\n"
             "spf_domains = %s\nstore_timeout = 5s\n",
             store, (long) getpid(), delay, f->dir, f->dir, spf_domains);
    ck_assert_int_eq(daemon_write_file(path, text), 0);
}

/* fx_setup - a fresh fixture for backend b (its own directory and key prefix) */
static void
fx_setup(struct fixture *f, int b, const char *name)
{
    char    path[700], err[CFG_ERRLEN] = "";
    struct store_config sc;
    struct cfg *c;

    memset(f, 0, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "%s/ctl-%s-%s-%ld", daemon_tmp(), name,
             backend_names[b], (long) getpid());
    ck_assert_int_eq(mkdir(f->dir, 0755), 0);
    snprintf(path, sizeof(path), "%s/db", f->dir);
    ck_assert_int_eq(mkdir(path, 0755), 0);
    snprintf(path, sizeof(path), "%s/rcpts", f->dir);
    ck_assert_int_eq(daemon_write_file(path, "postmaster@\n"), 0);
    snprintf(path, sizeof(path), "%s/clients", f->dir);
    ck_assert_int_eq(daemon_write_file(path, "198.51.100.0/24\n"), 0);
    snprintf(path, sizeof(path), "%s/domains", f->dir);
    ck_assert_int_eq(daemon_write_file(path, "big.test\n"), 0);
    snprintf(f->conf, sizeof(f->conf), "%s/redgrey.conf", f->dir);
    fx_write_conf(f, b, f->conf, "\"\"", "5m");
    snprintf(f->conf_fast, sizeof(f->conf_fast), "%s/redgrey-fast.conf", f->dir);
    fx_write_conf(f, b, f->conf_fast, "\"\"", "1s");
    snprintf(f->conf_big, sizeof(f->conf_big), "%s/redgrey-big.conf", f->dir);
    fx_write_conf(f, b, f->conf_big, path, "5m");

    c = cfg_load(f->conf, err, sizeof(err));
    ck_assert_msg(c != NULL, "%s", err);
    cfg_store_config(c, &sc);
    f->st = store_open(&sc, err, sizeof(err));
    ck_assert_msg(f->st != NULL && err[0] == 0, "%s: open: %s", backend_names[b], err);
    cfg_free(c);
}

/* fx_teardown - close the test's store */
static void
fx_teardown(struct fixture *f)
{
    store_free(f->st);
    f->st = NULL;
}

/* ctl - run redgreyctl with conf and up to six arguments (NULL ends); its exit code */
static int
ctl(struct fixture *f, const char *conf, const char *a1, const char *a2, const char *a3,
    const char *a4, const char *a5, const char *a6)
{
    const char *argv[] = {CTL_BIN, "-c", conf, a1, a2, a3, a4, a5, a6, NULL};

    return daemon_capture(argv, f->out, sizeof(f->out), CTL_MS);
}

/* expect - run redgreyctl, assert its exit code and that out has want (NULL: anything) */
#define expect(f, want_rc, want, ...) do { \
        int rc_ = ctl((f), __VA_ARGS__); \
        ck_assert_msg(rc_ == (want_rc), "%s: got exit %d, want %d; output:\n%s", \
                      #__VA_ARGS__, rc_, (want_rc), (f)->out); \
        ck_assert_msg((want) == NULL || strstr((f)->out, (want)) != NULL, \
                      "%s: want \"%s\" in:\n%s", #__VA_ARGS__, (const char *) (want), \
                      (f)->out); \
    } while (0)

/* expect_json - as expect, and the output must be one JSON document */
#define expect_json(f, want_rc, want, ...) do { \
        expect((f), (want_rc), (want), __VA_ARGS__); \
        ck_assert_msg(json_ok((f)->out), "%s: not JSON:\n%s", #__VA_ARGS__, (f)->out); \
    } while (0)

/* fx_decide - a decision on (ip's /24, sender, rcpt) through the test's store */
static enum policy_reason
fx_decide(struct fixture *f, const char *key, const char *sender, const char *rcpt)
{
    struct triplet t;
    struct policy_verdict v;
    char    err[STORE_ERRLEN] = "";

    memset(&t, 0, sizeof(t));
    snprintf(t.client_key, sizeof(t.client_key), "%s", key);
    snprintf(t.sender, sizeof(t.sender), "%s", sender);
    snprintf(t.rcpt, sizeof(t.rcpt), "%s", rcpt);
    ck_assert_msg(store_decide(f->st, &t, &v, err, sizeof(err)) == 0, "decide: %s", err);
    return v.reason;
}

/* ---- the commands ---- */

/* stats, lookup, pass, delete on one triplet, in text and JSON */
START_TEST(test_triplet_commands)
{
    struct fixture f;
    const char *ip = "192.0.2.7", *from = "alice@example.org", *to = "bob@example.net";

    fx_setup(&f, _i, "triplet");
    expect(&f, 0, "pending 0\npassed 0\nawl 0\n", f.conf, "stats", NULL, NULL, NULL, NULL,
           NULL);
    expect_json(&f, 0, "\"pending\":0,\"passed\":0,\"awl\":0", f.conf, "--json", "stats",
                NULL, NULL, NULL, NULL);

    /* Unknown: would greylist as new; the lookup writes nothing. */
    expect(&f, 1, "client 192.0.2.7 key 192.0.2.0/24\n", f.conf, "lookup", ip, from, to,
           NULL, NULL);
    ck_assert_msg(strstr(f.out, "state unknown\n") != NULL
                  && strstr(f.out, "decision greylist reason new\n") != NULL, "%s", f.out);
    expect_json(&f, 1, "\"state\":\"unknown\"", f.conf, "--json", "lookup", ip, from, to,
                NULL);
    ck_assert_msg(strstr(f.out, "\"decision\":{\"action\":\"greylist\",\"reason\":\"new\"}")
                  != NULL, "%s", f.out);
    expect(&f, 0, "pending 0\n", f.conf, "stats", NULL, NULL, NULL, NULL, NULL);

    /* Pending (made as the daemon makes it): early, with its times. */
    ck_assert_int_eq(fx_decide(&f, "192.0.2.0/24", from, to), POLICY_REASON_NEW);
    expect(&f, 1, "state pending since ", f.conf, "lookup", ip, from, to, NULL, NULL);
    ck_assert_msg(strstr(f.out, "passes after ") != NULL
                  && strstr(f.out, "decision greylist reason early\n") != NULL, "%s", f.out);
    expect_json(&f, 1, "\"state\":\"pending\"", f.conf, "--json", "lookup", ip, from, to,
                NULL);
    expect_json(&f, 0, "\"pending\":1,\"passed\":0", f.conf, "--json", "stats", NULL, NULL,
                NULL, NULL);
    ck_assert_int_eq(fx_decide(&f, "192.0.2.0/24", from, to), POLICY_REASON_EARLY);

    /* Released: the next attempt passes. */
    expect(&f, 0, "passed: key 192.0.2.0/24", f.conf, "pass", ip, from, to, NULL, NULL);
    expect(&f, 0, "state passed until ", f.conf, "lookup", ip, from, to, NULL, NULL);
    ck_assert_msg(strstr(f.out, "decision pass reason known\n") != NULL, "%s", f.out);
    expect_json(&f, 0, "\"pending\":0,\"passed\":1", f.conf, "--json", "stats", NULL, NULL,
                NULL, NULL);
    ck_assert_int_eq(fx_decide(&f, "192.0.2.0/24", from, to), POLICY_REASON_KNOWN);

    /* Deleted: once; then unknown, and the daemon sees it new. */
    expect_json(&f, 0, "\"deleted\":true", f.conf, "--json", "delete", ip, from, to, NULL);
    expect(&f, 1, "not stored", f.conf, "delete", ip, from, to, NULL, NULL);
    expect(&f, 1, "state unknown\n", f.conf, "lookup", ip, from, to, NULL, NULL);
    ck_assert_int_eq(fx_decide(&f, "192.0.2.0/24", from, to), POLICY_REASON_NEW);

    /* Pass of a triplet never seen creates it passed. */
    expect_json(&f, 0, "\"passed\":true", f.conf, "--json", "pass", "192.0.2.8", "carol@example.org",
                to, NULL);
    ck_assert_int_eq(fx_decide(&f, "192.0.2.0/24", "carol@example.org", to),
                     POLICY_REASON_KNOWN);
    fx_teardown(&f);
}
END_TEST

/* lookup reports the skips it knows: trusted, whitelisted client and recipient */
START_TEST(test_lookup_lists)
{
    struct fixture f;
    const char *from = "alice@example.org";

    fx_setup(&f, _i, "lists");
    expect(&f, 0, "decision accept reason trusted\n", f.conf, "lookup", "127.0.0.1", from,
           "bob@example.net", NULL, NULL);
    expect(&f, 0, "decision accept reason whitelist-client\n", f.conf, "lookup",
           "198.51.100.9", from, "bob@example.net", NULL, NULL);
    expect_json(&f, 0, "\"whitelist_rcpt\":true", f.conf, "--json", "lookup", "192.0.2.7",
                from, "postmaster@example.net", NULL);
    ck_assert_msg(strstr(f.out, "\"reason\":\"whitelist-rcpt\"") != NULL, "%s", f.out);
    expect(&f, 1, "key 2001:db8:1::/64", f.conf, "lookup", "2001:db8:1::5", from,
           "bob@example.net", NULL, NULL);
    /* None of it was stored. */
    expect(&f, 0, "pending 0\npassed 0\n", f.conf, "stats", NULL, NULL, NULL, NULL, NULL);
    fx_teardown(&f);
}
END_TEST

/* Strings from the command line are escaped in JSON, whatever their bytes. */
START_TEST(test_json_escaping)
{
    struct fixture f;

    fx_setup(&f, _i, "escape");
    expect_json(&f, 1, "\"recipient\":\"jos\\u00c3\\u00a9@example.net\"", f.conf, "--json",
                "lookup", "192.0.2.7", "a\"b@example.org", "jos\xc3\xa9@example.net", NULL);
    expect_json(&f, 1, "\"sender\":\"a\\\"b\\\\c\\u0001@example.org\"", f.conf, "--json",
                "lookup", "192.0.2.7", "a\"b\\c\x01@example.org", "x@example.net", NULL);
    fx_teardown(&f);
}
END_TEST

/* spf-clear, and spf_domains = "": the stored set is neither reported used nor applied */
START_TEST(test_bigsenders)
{
    struct fixture f;
    struct netset *set = netset_new();
    struct netblock nb;
    char    err[STORE_ERRLEN] = "", *text;
    size_t  len;

    fx_setup(&f, _i, "big");
    expect(&f, 1, "no big-sender set", f.conf, "spf-clear", NULL, NULL, NULL, NULL, NULL);
    ck_assert_int_eq(netblock_parse("203.0.113.0/24", &nb, err, sizeof(err)), 0);
    netset_add(set, &nb);
    netset_finish(set);
    text = bigsender_format(set, (int64_t) time(NULL), 0, &len);
    ck_assert_int_eq(store_blob_put(f.st, BIGSENDER_BLOB, text, len, NULL, err, sizeof(err)), 0);
    free(text);
    netset_free(set);

    /* Configured: reported, and a client in it is let through. */
    expect_json(&f, 0, "\"bigsenders_used\":true", f.conf_big, "--json", "stats", NULL, NULL,
                NULL, NULL);
    ck_assert_msg(strstr(f.out, "\"version\":1,") != NULL && strstr(f.out, "\"ranges\":1")
                  != NULL, "%s", f.out);
    expect(&f, 0, "decision accept reason bigsender\n", f.conf_big, "lookup", "203.0.113.9",
           "a@example.org", "b@example.net", NULL, NULL);
    expect_json(&f, 0, "\"list\":[\"203.0.113.0/24\"]", f.conf_big, "--json", "-v", "spf-show",
                NULL, NULL, NULL);
    expect_json(&f, 0, "{\"ip\":\"203.0.113.9\",\"in\":true,\"version\":1}", f.conf_big,
                "--json", "spf-test", "203.0.113.9", NULL, NULL, NULL);
    expect_json(&f, 1, "\"in\":false", f.conf_big, "--json", "spf-test", "192.0.2.1", NULL,
                NULL, NULL);

    /* spf_domains = "": no set, although one is stored. */
    expect(&f, 0, "not used: spf_domains is not set", f.conf, "stats", NULL, NULL, NULL, NULL,
           NULL);
    expect_json(&f, 0, "\"bigsenders_used\":false", f.conf, "--json", "stats", NULL, NULL,
                NULL, NULL);
    expect(&f, 1, "decision greylist reason new\n", f.conf, "lookup", "203.0.113.9",
           "a@example.org", "b@example.net", NULL, NULL);

    /* Cleared once. */
    expect_json(&f, 0, "\"deleted\":true", f.conf, "--json", "spf-clear", NULL, NULL, NULL,
                NULL);
    expect(&f, 1, "no big-sender set", f.conf, "spf-clear", NULL, NULL, NULL, NULL, NULL);
    expect(&f, 1, "no big-sender set", f.conf, "spf-show", NULL, NULL, NULL, NULL, NULL);
    expect_json(&f, 1, "{\"bigsenders\":null}", f.conf, "--json", "spf-show", NULL, NULL, NULL,
                NULL);
    fx_teardown(&f);
}
END_TEST

/*
 * report: pending entries are "waiting" until delay has gone by, then
 * "never retried", grouped by client key; passed ones with their delays
 * where the backend keeps them (LMDB), none where it does not (Redis)
 */
START_TEST(test_report)
{
    struct fixture f;

    fx_setup(&f, _i, "report");
    expect(&f, 0, "greylisted, never retried: 0 triplets", f.conf, "report", NULL, NULL, NULL,
           NULL, NULL);
    ck_assert_int_eq(fx_decide(&f, "192.0.2.0/24", "a@x.example", "r1@y.example"),
                     POLICY_REASON_NEW);
    ck_assert_int_eq(fx_decide(&f, "192.0.2.0/24", "a@x.example", "r2@y.example"),
                     POLICY_REASON_NEW);
    ck_assert_int_eq(fx_decide(&f, "spf:example.org", "b@example.org", "r1@y.example"),
                     POLICY_REASON_NEW);
    ck_assert_int_eq(fx_decide(&f, "2001:db8:5::/64", "c@z.example", "r1@y.example"),
                     POLICY_REASON_NEW);
    expect(&f, 0, "still waiting for their first retry (less than delay): 4\n", f.conf,
           "report", NULL, NULL, NULL, NULL, NULL);
    expect(&f, 0, "passed", f.conf, "pass", "192.0.2.9", "a@x.example", "r3@y.example", NULL,
           NULL);

    /* With delay 1s, one second on they were never retried. */
    daemon_sleep_ms(1100);
    expect_json(&f, 0, "\"never_retried\":{\"triplets\":4,\"groups\":[{\"key\":\"192.0.2.0/24\","
                "\"triplets\":2,", f.conf_fast, "--json", "report", NULL, NULL, NULL, NULL);
    ck_assert_msg(strstr(f.out, "{\"key\":\"spf:example.org\",\"triplets\":1,") != NULL
                  && strstr(f.out, "{\"key\":\"2001:db8:5::/64\",\"triplets\":1,") != NULL
                  && strstr(f.out, "\"waiting\":0}") != NULL, "%s", f.out);
    ck_assert_msg(strstr(f.out, "\"passed\":{\"triplets\":1,\"groups\":[{\"key\":"
                         "\"192.0.2.0/24\",\"triplets\":1,") != NULL, "%s", f.out);
    if (_i == B_LMDB)
        ck_assert_msg(strstr(f.out, "\"delay_min\":0,") != NULL, "%s", f.out);
    else
        ck_assert_msg(strstr(f.out, "\"delay_min\":null,") != NULL, "%s", f.out);
    expect(&f, 0, "greylisted, never retried: 4 triplets from 3 client keys\n", f.conf_fast,
           "--since", "1h", "report", NULL, NULL, NULL);
    ck_assert_msg(strstr(f.out, "passed: 1 triplets from 1 client keys\n") != NULL, "%s",
                  f.out);
    fx_teardown(&f);
}
END_TEST

/*
 * log-report: the decision lines of a log, in every shape the log takes
 * (syslog's stamp, ours, a queue id or NOQUEUE), among lines that are not
 * decisions (junk, NUL bytes, an over-long field, a field without its
 * brackets): never-retried triplets and passes by sender domain and
 * client key. A triplet greylisted twice (new, early) is one triplet.
 */
START_TEST(test_log_report)
{
    static char out[OUT_MAX];
    char    path[600], junk[1100];
    const char *text =
        "Dec  7 10:00:00 mx redgrey[9]: info: NOQUEUE: action=greylist reason=new "
        "client=a.example[192.0.2.7] key=192.0.2.0/24 from=<x@Spam.Example> to=<u@local.test>\n"
        "Dec  7 10:01:00 mx redgrey[9]: info: NOQUEUE: action=greylist reason=early "
        "client=a.example[192.0.2.7] key=192.0.2.0/24 from=<x@Spam.Example> to=<u@local.test>\n"
        "Dec  7 10:00:01 mx redgrey[9]: info: NOQUEUE: action=greylist reason=new "
        "client=b.example[192.0.2.8] key=192.0.2.0/24 from=<y@spam.example> to=<v@local.test>\n"
        "2026-12-07T10:00:00.000+00:00 redgrey[9]: info: NOQUEUE: action=greylist reason=new "
        "client=unknown[2001:db8::1] key=2001:db8::/64 from=<> to=<u@local.test> stage=data\n"
        "2026-12-07T10:00:00.000+00:00 redgrey[9]: info: NOQUEUE: action=greylist reason=new "
        "client=m[198.51.100.1] key=spf:good.example from=<a@good.example> to=<u@local.test>\n"
        "2026-12-07T10:05:00.000+00:00 redgrey[9]: info: 4Xyz1: action=pass reason=retry "
        "client=m[198.51.100.1] key=spf:good.example from=<a@good.example> to=<u@local.test> "
        "spf=pass spf_key=domain delay=300\n"
        "2026-12-07T10:06:00.000+00:00 redgrey[9]: info: 4Xyz2: action=pass reason=retry "
        "client=m[198.51.100.2] key=spf:good.example from=<b@good.example> to=<w@local.test> "
        "delay=100\n"
        "2026-12-07T10:06:00.000+00:00 redgrey[9]: info: 4Xyz3: action=accept "
        "reason=whitelist-rcpt client=m[198.51.100.2] key=- from=<b@good.example> "
        "to=<postmaster@local.test>\n"
        "Dec  7 10:00:02 mx redgrey[9]: info: NOQUEUE: action=greylist reason=new "
        "client=c[192.0.2.9] key=192.0.2.0/24 from=nobrackets@spam.example to=<u@local.test>\n"
        "Dec  7 10:00:02 mx redgrey[9]: info: NOQUEUE: action=greylist reason=new "
        "client=c[192.0.2.9] key=192.0.2.0/24 from=<q\\x20r@odd.example> to=<u@local.test>\n"
        "garbage without any decision\n";
    FILE   *f;
    int     rc;

    snprintf(path, sizeof(path), "%s/decisions.log", daemon_tmp());
    f = fopen(path, "w");
    ck_assert(f != NULL);
    fputs(text, f);
    /* A NUL in a line, and a field longer than any address. */
    fwrite("Dec  7 10:00:03 mx redgrey[9]: info: NOQUEUE: action=greylist\0 reason=new\n", 1,
           75, f);
    memset(junk, 'j', sizeof(junk) - 1);
    junk[sizeof(junk) - 1] = '\0';
    fprintf(f, "x: action=greylist reason=new client=c key=%s from=<a@b.example> to=<c@d>\n",
            junk);
    ck_assert_int_eq(fclose(f), 0);

    {
        const char *argv[] = {CTL_BIN, "log-report", path, NULL};

        rc = daemon_capture(argv, out, sizeof(out), CTL_MS);
    }
    ck_assert_msg(rc == 0, "exit %d: %s", rc, out);
    ck_assert_msg(strstr(out, "greylisted, never retried: 4 triplets from 3 sender domain and"
                         " client key pairs\n"
                         "         2  spam.example  192.0.2.0/24\n"
                         "         1  <>  2001:db8::/64\n"
                         "         1  odd.example  192.0.2.0/24\n") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "passed after a delay: 2 triplets from 1 sender domain and client"
                         " key pairs\n"
                         "         2  good.example  spf:good.example  delay min 100s avg 200s"
                         " max 300s\n") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "lines read: 13, decisions used: 8, other lines: 5\n") != NULL,
                  "%s", out);

    {
        const char *argv[] = {CTL_BIN, "--json", "log-report", path, NULL};

        rc = daemon_capture(argv, out, sizeof(out), CTL_MS);
    }
    ck_assert_msg(rc == 0 && json_ok(out), "exit %d, not JSON: %s", rc, out);
    ck_assert_msg(strstr(out, "{\"never_retried\":{\"triplets\":4,\"groups\":[{\"domain\":"
                         "\"spam.example\",\"key\":\"192.0.2.0/24\",\"triplets\":2}") != NULL
                  && strstr(out, "\"passed\":{\"triplets\":2,\"groups\":[{\"domain\":"
                            "\"good.example\",\"key\":\"spf:good.example\",\"triplets\":2,"
                            "\"delay_min\":100,\"delay_avg\":200,\"delay_max\":300}]}") != NULL,
                  "%s", out);

    {
        const char *argv[] = {CTL_BIN, "log-report", "/nonexistent/redgrey.log", NULL};

        rc = daemon_capture(argv, out, sizeof(out), CTL_MS);
    }
    ck_assert_msg(rc == 2 && strstr(out, "/nonexistent/redgrey.log: No such file") != NULL,
                  "exit %d: %s", rc, out);
}
END_TEST

/* Bad command lines are trouble (2), before anything is opened. */
START_TEST(test_usage)
{
    struct fixture f;

    fx_setup(&f, _i, "usage");
    expect(&f, 2, "unknown command", f.conf, "lookup", "192.0.2.7", "a@example.org", NULL,
           NULL, NULL);
    expect(&f, 2, "unknown command", f.conf, "--since", "1d", "stats", NULL, NULL, NULL);
    expect(&f, 2, "--since", f.conf, "--since", "soon", "report", NULL, NULL, NULL);
    expect(&f, 2, "is not an IP address", f.conf, "lookup", "300.1.2.3", "a@example.org",
           "b@example.net", NULL, NULL);
    fx_teardown(&f);
}
END_TEST

/*
 * As root, on an LMDB directory owned by another user, the files LMDB
 * creates are that user's (not root's), so the daemon can still open
 * them. As another user, they are that user's.
 */
START_TEST(test_lmdb_owner)
{
    struct fixture f;
    char    path[700];
    struct stat sb;
    uid_t   want = geteuid() == 0 ? 65534 : geteuid();

    fx_setup(&f, B_LMDB, "owner");
    fx_teardown(&f);                     /* the test's own store would create the files */
    snprintf(path, sizeof(path), "%s/db2", f.dir);
    ck_assert_int_eq(mkdir(path, 0755), 0);
    ck_assert_int_eq(chown(path, want, want), 0);
    {
        char    text[1024];

        snprintf(text, sizeof(text), "store = lmdb:%s\nuser = \"\"\n", path);
        snprintf(f.conf, sizeof(f.conf), "%s/owner.conf", f.dir);
        ck_assert_int_eq(daemon_write_file(f.conf, text), 0);
        ck_assert_int_eq(chmod(f.conf, 0644), 0);
    }
    expect(&f, 0, "pending 0", f.conf, "stats", NULL, NULL, NULL, NULL, NULL);
    snprintf(path, sizeof(path), "%s/db2/data.mdb", f.dir);
    ck_assert_int_eq(stat(path, &sb), 0);
    ck_assert_msg(sb.st_uid == want, "data.mdb: owner %ld, want %ld", (long) sb.st_uid,
                  (long) want);
    snprintf(path, sizeof(path), "%s/db2/lock.mdb", f.dir);
    ck_assert_int_eq(stat(path, &sb), 0);
    ck_assert_msg(sb.st_uid == want, "lock.mdb: owner %ld, want %ld", (long) sb.st_uid,
                  (long) want);
}
END_TEST

int
main(void)
{
    Suite  *s = suite_create("redgreyctl");
    TCase  *tc = tcase_create("json");

    if (getenv("REDGREY_TEST_REDIS") == NULL || daemon_tmp() == NULL) {
        fprintf(stderr, "check_redgreyctl: run under tests/with-redis.sh\n");
        return EXIT_FAILURE;
    }
    tcase_add_test(tc, test_json_checker);
    suite_add_tcase(s, tc);
    tc = tcase_create("commands");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_triplet_commands, 0, B_COUNT);
    tcase_add_loop_test(tc, test_lookup_lists, 0, B_COUNT);
    tcase_add_loop_test(tc, test_json_escaping, 0, B_COUNT);
    tcase_add_loop_test(tc, test_bigsenders, 0, B_COUNT);
    tcase_add_loop_test(tc, test_report, 0, B_COUNT);
    tcase_add_loop_test(tc, test_usage, 0, B_COUNT);
    tcase_add_test(tc, test_lmdb_owner);
    tcase_add_test(tc, test_log_report);
    suite_add_tcase(s, tc);
    return daemon_run_suites(s, NULL) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_hostile.c - redgrey against hostile or broken peers and
 * configurations: a milter peer that goes silent in the middle of a
 * packet is dropped within milter_timeout (libmilter's read timeout; a
 * peer silent between packets holds no thread in Debian's worker-pool
 * libmilter and is swept only every 600 s, too slow to test here); redgrey -t warns about timeouts the MTA would
 * not wait for; no store password shows in any output, for every URL
 * form, right, wrong or with the store down. Starts its own daemons (tests/daemon.h).
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "daemon.h"
#include "miltc.h"
#include "mta.h"

#define STOP_MS      8000                /* bound on a daemon's stop */
#define SILENT_S     2                   /* milter_timeout of the silent-peer test */
#define SLACK_MS     4000                /* scheduling slack above it, under load */

/*
 * wait_dropped - wait at most ms for the daemon to close fd; returns the
 * milliseconds it took, or -1 if it did not (or sent data instead)
 */
static long
wait_dropped(int fd, int ms)
{
    long long t0 = daemon_now_ms();
    char    c;

    for (;;) {
        long    left = ms - (long) (daemon_now_ms() - t0);
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int     n;

        if (left <= 0)
            return -1;
        n = poll(&p, 1, (int) left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        n = (int) read(fd, &c, 1);
        if (n == 0 || (n < 0 && errno == ECONNRESET))
            return (long) (daemon_now_ms() - t0);
        return -1;
    }
}

/* test_silent_peer - half a packet, then silence (before and after negotiation) */
START_TEST(test_silent_peer)
{
    char    extra[64];
    struct daemon d;
    struct miltc c;
    long    took;

    snprintf(extra, sizeof(extra), "milter_timeout = %ds\n", SILENT_S);
    ck_assert_int_eq(daemon_start_redgrey(&d, "silent", extra, NULL), 0);
    miltc_init(&c);
    ck_assert_int_eq(miltc_open(&c, d.spec, 5000), 0);
    if (_i == 1)
        ck_assert_msg(miltc_negotiate(&c, 0, 0) == 0, "negotiate: %s", c.err);
    /* A length of 16 and the command 'C', then nothing of the 15 bytes promised. */
    ck_assert_int_eq(write(c.fd, "\0\0\0\x10" "C", 5), 5);
    took = wait_dropped(c.fd, SILENT_S * 1000 + SLACK_MS);
    miltc_close(&c);
    ck_assert_msg(took >= SILENT_S * 1000 - 500,
                  "%s: dropped after %ld ms, before milter_timeout (%d s)",
                  _i ? "negotiated" : "connected", took, SILENT_S);
    /* And the daemon still serves: the drop ended one session, not the daemon. */
    ck_assert_int_eq(miltc_open(&c, d.spec, 5000), 0);
    ck_assert_msg(miltc_negotiate(&c, 0, 0) == 0, "negotiate after drop: %s", c.err);
    miltc_close(&c);
    ck_assert_int_eq(daemon_stop(&d, STOP_MS), 0);
    ck_assert_msg(took >= 0, "a silent peer was not dropped within %d ms",
                  SILENT_S * 1000 + SLACK_MS);
}
END_TEST

/* Configurations for redgrey -t: exit 0 always, and which warnings. */
static const struct warn_case {
    const char *label;
    const char *text;
    const char *want;                    /* in the output, or NULL: no warning at all */
    const char *never;                   /* not in the output, or NULL */
} warn_cases[] = {
    {"defaults", "socket = inet:10029@127.0.0.1\n", NULL, NULL},
    {"over 10 s", "dns_timeout = 9s\nspf_budget = 9s\nstore_timeout = 1500ms\n",
     "warning: dns_timeout + store_timeout is 10500 ms, more than the 10 s", "milter_timeout ("},
    {"exactly 10 s", "dns_timeout = 9s\nspf_budget = 9s\nstore_timeout = 1s\n", NULL, NULL},
    {"spf_budget cuts", "dns_timeout = 9s\nstore_timeout = 1500ms\n",
     "warning: dns_timeout (9000 ms) is longer than spf_budget (5000 ms)", "the 10 s"},
    {"spf_budget over 10 s", "dns_timeout = 20s\nspf_budget = 9500ms\nstore_timeout = 1s\n",
     "warning: spf_budget + store_timeout is 10500 ms, more than the 10 s", NULL},
    {"over milter_timeout", "milter_timeout = 5s\ndns_timeout = 5s\nstore_timeout = 250ms\n",
     "more than milter_timeout (5 s)", "the 10 s"},
    {"any address", "socket = inet:10029\n", "listens on a non-loopback address", NULL},
    {"0.0.0.0", "socket = inet:10029@0.0.0.0\n", "listens on a non-loopback address", NULL},
    {"inet6 any", "socket = inet6:10029@::\n", "listens on a non-loopback address", NULL},
    {"inet6 loopback", "socket = inet6:10029@[::1]\n", NULL, NULL},
    {"localhost", "socket = inet:10029@localhost\n", NULL, NULL},
    {"127.0.0.2", "socket = inet:10029@127.0.0.2\n", NULL, NULL},
    {"unix", "socket = unix:/run/redgrey/milter.sock\n", NULL, NULL},
};

/* test_t_warnings - redgrey -t says what is risky, and exits 0 */
START_TEST(test_t_warnings)
{
    const struct warn_case *k = &warn_cases[_i];
    char    path[700], text[1024], out[4096];
    const char *argv[] = {DAEMON_REDGREY_BIN, "-t", "-c", path, NULL};
    int     rc;

    daemon_scratch_path(path, sizeof(path), "warn.conf");
    /* No default whitelist file here: its warning is not what these cases are about. */
    snprintf(text, sizeof(text), "store = lmdb:/var/lib/redgrey\nuser = \"\"\n"
             "whitelist_recipients = \"\"\ndynamic_patterns = \"\"\n%s", k->text);
    ck_assert_int_eq(daemon_write_file(path, text), 0);
    rc = daemon_capture(argv, out, sizeof(out), 10000);
    ck_assert_msg(rc == 0 && strstr(out, "configuration OK") != NULL, "%s: exit %d: %s",
                  k->label, rc, out);
    if (k->want != NULL)
        ck_assert_msg(strstr(out, k->want) != NULL, "%s: got \"%s\", want \"%s\" in it",
                      k->label, out, k->want);
    else
        ck_assert_msg(strstr(out, "warning") == NULL, "%s: got a warning: %s", k->label, out);
    if (k->never != NULL)
        ck_assert_msg(strstr(out, k->never) == NULL, "%s: got \"%s\", which has \"%s\"",
                      k->label, out, k->never);
}
END_TEST

/* ---- secrets ------------------------------------------------------------ */

#define PW_RIGHT "Right5ecretPw"         /* requirepass of the test Redis */
#define PW_WRONG "Wr0ngSecretPw"         /* a password it refuses */

/* One store URL form: %s host:port (or the unix socket), then the password. */
static const struct secret_case {
    const char *label;
    const char *fmt;                     /* "redis://:%s@%s" style: password, then where */
    int     unix_sock;                   /* where is the unix socket, not host:port */
    int     down;                        /* point at a port nobody listens on */
    const char *pw;
} secret_cases[] = {
    {"right password", "redis://:%s@%s/0", 0, 0, PW_RIGHT},
    {"wrong password", "redis://:%s@%s/0", 0, 0, PW_WRONG},
    {"user, right password", "redis://default:%s@%s", 0, 0, PW_RIGHT},
    {"user, wrong password", "redis://default:%s@%s", 0, 0, PW_WRONG},
    {"unix, right password", "redis+unix://%2$s?password=%1$s", 1, 0, PW_RIGHT},
    {"unix, wrong password", "redis+unix://%2$s?db=1&password=%1$s", 1, 0, PW_WRONG},
    {"store down", "redis://:%s@%s/0", 0, 1, PW_RIGHT},
};

/* redis_requirepass - set the test Redis's password (with AUTH if one is set already) */
static void
redis_requirepass(void)
{
    const char *where = getenv("REDGREY_TEST_REDIS"), *colon;
    redisContext *r;
    redisReply *rep;

    ck_assert_msg(where != NULL && (colon = strrchr(where, ':')) != NULL, "no test Redis");
    {
        char    host[64];

        snprintf(host, sizeof(host), "%.*s", (int) (colon - where), where);
        r = redisConnect(host, atoi(colon + 1));
    }
    ck_assert_msg(r != NULL && r->err == 0, "connect to the test Redis");
    rep = redisCommand(r, "AUTH %s", PW_RIGHT);
    freeReplyObject(rep);                /* an error before requirepass is set: fine */
    rep = redisCommand(r, "CONFIG SET requirepass %s", PW_RIGHT);
    ck_assert_msg(rep != NULL && rep->type == REDIS_REPLY_STATUS, "CONFIG SET requirepass");
    freeReplyObject(rep);
    redisFree(r);
}

/* test_no_secret - -t, the daemon's start and one recipient: no password anywhere */
START_TEST(test_no_secret)
{
    const struct secret_case *k = &secret_cases[_i];
    char    where[600], url[800], path[700], out[8192], reply[512];
    const char *argv[] = {DAEMON_REDGREY_BIN, "-t", "-c", path, NULL};
    struct daemon_redgrey_opts o = {0};
    struct mta_conn m = {.family = '4', .addr = "192.0.2.7"};
    struct daemon d;
    char   *log, text[1024];
    int     rc;

    redis_requirepass();
    if (k->unix_sock)
        snprintf(where, sizeof(where), "%s", getenv("REDGREY_TEST_REDIS_SOCK"));
    else if (k->down)
        snprintf(where, sizeof(where), "127.0.0.1:%d", daemon_free_port());
    else
        snprintf(where, sizeof(where), "%s", getenv("REDGREY_TEST_REDIS"));
    /* k->fmt is one of the table's own literals, each "%s...%s". */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    snprintf(url, sizeof(url), k->fmt, k->pw, where);
#pragma GCC diagnostic pop

    /* redgrey -t, which contacts the store once */
    daemon_scratch_path(path, sizeof(path), "secret.conf");
    snprintf(text, sizeof(text), "store = %s\nuser = \"\"\n", url);
    ck_assert_int_eq(daemon_write_file(path, text), 0);
    rc = daemon_capture(argv, out, sizeof(out), 10000);
    ck_assert_msg(rc == 0, "%s: -t exit %d: %s", k->label, rc, out);
    ck_assert_msg(strstr(out, k->pw) == NULL, "%s: -t shows the password: %s", k->label, out);
    if (k->down || k->pw == (const char *) PW_WRONG)
        ck_assert_msg(strstr(out, "warning") != NULL, "%s: -t did not warn: %s", k->label, out);

    /* the daemon: start, one recipient (greylisted or accepted), stop */
    o.store = url;
    snprintf(text, sizeof(text), "secret%d", _i);
    ck_assert_int_eq(daemon_start_redgrey_with(&d, text, &o), 0);
    (void) mta_one_rcpt(&d, &m, "<a@example.org>", "<b@example.net>", NULL, reply,
                        sizeof(reply), NULL);
    ck_assert_int_eq(daemon_stop(&d, STOP_MS), 0);
    log = daemon_read_file_ok(d.log);
    ck_assert_msg(strstr(log, "starting") != NULL, "%s: no start in the log", k->label);
    ck_assert_msg(strstr(log, k->pw) == NULL, "%s: the log shows the password:\n%s", k->label, log);
    ck_assert_msg(strstr(reply, k->pw) == NULL, "%s: the MTA is shown the password", k->label);
    free(log);
}
END_TEST

static Suite *
hostile_suite(void)
{
    Suite  *s = suite_create("hostile");
    TCase  *tc = tcase_create("milter");

    tcase_add_loop_test(tc, test_silent_peer, 0, 2);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);

    tc = tcase_create("secrets");
    tcase_add_loop_test(tc, test_no_secret, 0, sizeof(secret_cases) / sizeof(secret_cases[0]));
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);

    tc = tcase_create("check");
    tcase_add_loop_test(tc, test_t_warnings, 0, sizeof(warn_cases) / sizeof(warn_cases[0]));
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return s;
}

/* main - run the suite; every test starts and stops its own daemon */
int
main(void)
{
    return daemon_run_suites(hostile_suite(), NULL) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

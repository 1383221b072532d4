/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_hostile.c - redgrey against hostile or broken peers and
 * configurations: a milter peer that goes silent in the middle of a
 * packet is dropped within milter_timeout (libmilter's read timeout; a
 * peer silent between packets holds no thread in Debian's worker-pool
 * libmilter and is swept only every 600 s, too slow to test here); redgrey -t warns about timeouts the MTA would
 * not wait for. Starts its own daemons (tests/daemon.h).
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "miltc.h"

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
    {"over 10 s", "dns_timeout = 9s\nstore_timeout = 1500ms\n",
     "warning: dns_timeout + store_timeout is 10500 ms, more than the 10 s", "milter_timeout ("},
    {"exactly 10 s", "dns_timeout = 9s\nstore_timeout = 1s\n", NULL, NULL},
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
    snprintf(text, sizeof(text), "store = lmdb:/var/lib/redgrey\nuser = \"\"\n%s", k->text);
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

static Suite *
hostile_suite(void)
{
    Suite  *s = suite_create("hostile");
    TCase  *tc = tcase_create("milter");

    tcase_add_loop_test(tc, test_silent_peer, 0, 2);
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

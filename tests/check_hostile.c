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

static Suite *
hostile_suite(void)
{
    Suite  *s = suite_create("hostile");
    TCase  *tc = tcase_create("milter");

    tcase_add_loop_test(tc, test_silent_peer, 0, 2);
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

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_milter_sessions.c - max_sessions_per_client through the milter:
 * two redgrey daemons share one redis-server (with-redis.sh) and one key
 * prefix, as two MXes of a cluster. The cap holds across them (421 4.7.0
 * at CONNECT, logged as session-cap), closing sessions frees their slots,
 * trusted clients are never counted, and the sessions of a SIGKILLed
 * daemon stop counting once session_ttl is over (polled with a bound).
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
#include <unistd.h>

#include "daemon.h"
#include "miltc.h"
#include "mta.h"

#define CAP_EXTRA "max_sessions_per_client = 2\nsession_ttl = 3s\n"
#define CAP_REPLY "421 4.7.0 Too many concurrent connections from your address, try again later"
#define FREE_BOUND_MS 5000               /* a closed session's slot is free by then */
#define EXPIRY_BOUND_MS 12000            /* a killed daemon's sessions are gone by then */
#define NCONN 8

static struct daemon mx[2];              /* the two "MXes" */
static struct miltc *conn[NCONN];        /* the test's connections, closed at its end */

/* start_pair - both daemons on the test Redis with one shared key prefix */
static void
start_pair(void)
{
    char    prefix[64];
    struct daemon_redgrey_opts o = {NULL, NULL, CAP_EXTRA, NULL, prefix};

    snprintf(prefix, sizeof(prefix), "rgcap%ld:", (long) getpid());
    ck_assert_msg(daemon_start_redgrey_with(&mx[0], "mx-a", &o) == 0, "mx-a did not start");
    ck_assert_msg(daemon_start_redgrey_with(&mx[1], "mx-b", &o) == 0, "mx-b did not start");
    for (int i = 0; i < NCONN; i++) {
        conn[i] = malloc(sizeof(*conn[i]));
        ck_assert_ptr_nonnull(conn[i]);
        miltc_init(conn[i]);
    }
}

/* stop_pair - close what is open, stop the daemons still running */
static void
stop_pair(void)
{
    for (int i = 0; i < NCONN; i++) {
        miltc_close(conn[i]);
        free(conn[i]);
    }
    /*
     * The daemon's own stop budget (main.c): libmilter's listener notices
     * SIGTERM within 5 s, then open sessions get 3 s. A session whose EOF
     * libmilter had not handed to a worker before it stopped is one of
     * those (seen about once in ten runs), so the bound is that budget.
     */
    for (int i = 0; i < 2; i++)
        if (mx[i].pid > 0)
            ck_assert_msg(daemon_stop(&mx[i], 5000 + 3000 + 2000) == 0, "%s did not stop",
                          mx[i].name);
}

/*
 * cap_open - a new SMTP client addr on d over c, to the end of CONNECT:
 * 1 let in, 0 refused with the cap's 421; anything else fails the test
 */
static int
cap_open(struct miltc *c, const struct daemon *d, const char *addr)
{
    const char *mac[] = {"j", MTA_HOST, "{client_addr}", addr, "{client_name}", "unknown"};
    int     r;

    miltc_close(c);
    miltc_init(c);
    ck_assert_msg(miltc_open(c, d->spec, MTA_TIMEOUT_MS) == 0, "open %s: %s", d->name, c->err);
    ck_assert_msg(miltc_negotiate(c, 0, 0) == 0, "negotiate: %s", c->err);
    /* The cap answers CONNECT: redgrey must not ask for no reply there. */
    ck_assert_msg((c->protocol & SMFIP_NR_CONN) == 0, "NR_CONN asked with the cap on");
    ck_assert_int_eq(miltc_macro(c, SMFIC_CONNECT, mac, 6), 0);
    r = miltc_connect(c, addr, '4', 25, addr);
    if (r == SMFIR_CONTINUE)
        return 1;
    ck_assert_msg(r == SMFIR_REPLYCODE && strcmp(c->reply, CAP_REPLY) == 0,
                  "CONNECT %s on %s: got %s \"%s\"", addr, d->name, mta_answer_name(r),
                  r == MILTC_ERROR ? c->err : c->reply);
    return 0;
}

/* cap_quit - end the client on c as Postfix does (QUIT: libmilter's close) */
static void
cap_quit(struct miltc *c)
{
    (void) miltc_quit(c);
    miltc_close(c);
}

/* cap_wait_open - cap_open on d until it lets addr in, at most ms; the ms it took, or -1 */
static long long
cap_wait_open(struct miltc *c, const struct daemon *d, const char *addr, int ms)
{
    long long t0 = daemon_now_ms();

    for (;;) {
        if (cap_open(c, d, addr))
            return daemon_now_ms() - t0;
        cap_quit(c);
        if (daemon_now_ms() - t0 > ms)
            return -1;
        daemon_sleep_ms(100);
    }
}

/* across_daemons - the cap counts the sessions of both; closing frees slots */
START_TEST(across_daemons)
{
    const char *ip = "192.0.2.10";

    start_pair();
    ck_assert_int_eq(cap_open(conn[0], &mx[0], ip), 1);
    ck_assert_int_eq(cap_open(conn[1], &mx[1], ip), 1);
    ck_assert_int_eq(cap_open(conn[2], &mx[0], ip), 0);
    ck_assert_int_eq(cap_open(conn[3], &mx[1], ip), 0);
    ck_assert_int_ge(daemon_log_wait(&mx[0], "session-cap client=[192.0.2.10] count=3 max=2"
                                     " action=tempfail", 1, 2000), 1);
    /* The refused one on mx-a still counts until it closes. */
    ck_assert_int_ge(daemon_log_wait(&mx[1], "session-cap client=[192.0.2.10] count=4 max=2",
                                     1, 2000), 1);
    /* Another address has slots of its own. */
    ck_assert_int_eq(cap_open(conn[4], &mx[1], "192.0.2.11"), 1);
    /* Refused sessions leave at close too; then one open session ends. */
    cap_quit(conn[2]);
    cap_quit(conn[3]);
    cap_quit(conn[0]);
    ck_assert_msg(cap_wait_open(conn[5], &mx[1], ip, FREE_BOUND_MS) >= 0,
                  "the slot of a closed session was not freed");
    /* Both slots taken again (conn[1] on mx-b, conn[5] on mx-b): mx-a refuses. */
    ck_assert_int_eq(cap_open(conn[6], &mx[0], ip), 0);
    stop_pair();
}
END_TEST

/* trusted_uncounted - trusted_networks (127.0.0.0/8 by default) never reach the cap */
START_TEST(trusted_uncounted)
{
    start_pair();
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(cap_open(conn[i], &mx[i % 2], "127.0.0.1"), 1);
    ck_assert_int_eq(daemon_log_count(&mx[0], "session-cap client=[127.0.0.1]"), 0);
    ck_assert_int_eq(daemon_log_count(&mx[1], "session-cap client=[127.0.0.1]"), 0);
    stop_pair();
}
END_TEST

/* killed_daemon - a SIGKILLed daemon never leaves; its sessions expire after session_ttl */
START_TEST(killed_daemon)
{
    const char *ip = "192.0.2.20";
    long long took;
    int     status;

    start_pair();
    ck_assert_int_eq(cap_open(conn[0], &mx[1], ip), 1);
    ck_assert_int_eq(cap_open(conn[1], &mx[1], ip), 1);
    ck_assert_int_eq(daemon_signal(&mx[1], SIGKILL), 0);
    status = daemon_wait(&mx[1], 5000);
    ck_assert_msg(status != -1 && WIFSIGNALED(status), "mx-b did not die of SIGKILL");
    miltc_close(conn[0]);
    miltc_close(conn[1]);
    /* Its two sessions still count on mx-a ... */
    ck_assert_int_eq(cap_open(conn[2], &mx[0], ip), 0);
    cap_quit(conn[2]);
    /* ... until session_ttl (3 s) after they entered. */
    took = cap_wait_open(conn[3], &mx[0], ip, EXPIRY_BOUND_MS);
    ck_assert_msg(took >= 0, "the killed daemon's sessions still count after %d ms",
                  EXPIRY_BOUND_MS);
    ck_assert_msg(took >= 1000, "let in after %lld ms: the sessions did not count", took);
    stop_pair();
}
END_TEST

/* sessions_suite - one TCase: each test starts and stops its own pair */
static Suite *
sessions_suite(void)
{
    Suite  *s = suite_create("milter_sessions");
    TCase  *tc = tcase_create("cap");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, across_daemons);
    tcase_add_test(tc, trusted_uncounted);
    tcase_add_test(tc, killed_daemon);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return daemon_run_suites(sessions_suite(), NULL) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

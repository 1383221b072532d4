/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_reload.c - SIGHUP and SIGUSR1 against a running redgrey: the
 * daemon keeps serving, reloads its whole configuration for new
 * sessions, keeps the old one for sessions in flight, and keeps the
 * running configuration when the file is bad.
 *
 * One daemon per test, on the test Redis, with a reply text of its own
 * ("Old text"); a test edits its configuration file in place and signals
 * it. A greylisted first sighting always answers 451 with the reply of
 * the session's configuration, so the reply text tells which one it used.
 */
#include "config.h"

#include <check.h>
#include <libmilter/mfapi.h>
#include <libmilter/mfdef.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "miltc.h"
#include "mta.h"

#define STOP_MS    8000                  /* libmilter's 5 s poll + 3 s for sessions */
#define WAIT_MS    5000                  /* bound on a reload to be logged */
#define NCLIENTS   4                     /* client threads of the load test */
#define LOAD_HUPS  10                    /* reloads under load */
#define OLD_REPLY  "451 4.7.1 Old text"
#define NEW_REPLY  "451 4.7.1 New text"
#define RELOADED   "SIGHUP: configuration reloaded"
#define NOT_RELOADED "SIGHUP: configuration not reloaded"

static struct daemon rd;                 /* the daemon of the running test */
static atomic_uint next_client;          /* for distinct client addresses */

/* start - a daemon answering with OLD_REPLY; fails the test if it does not start */
static void
start(const char *name)
{
    if (daemon_start_redgrey(&rd, name, "reply = " OLD_REPLY "\nspf_keying = no\n", NULL) != 0) {
        daemon_log_print(&rd);
        ck_abort_msg("%s: redgrey did not start", name);
    }
}

/* stop - SIGTERM; the daemon must exit 0 in time */
static void
stop(void)
{
    int     rc = daemon_stop(&rd, STOP_MS);

    if (rc != 0)
        daemon_log_print(&rd);
    ck_assert_msg(rc == 0, "the daemon did not exit 0 within %d ms", STOP_MS);
}

/* conf_replace - replace the first from in the daemon's configuration file by to */
static void
conf_replace(const char *from, const char *to)
{
    char   *text = daemon_read_file_ok(rd.conf), *p = strstr(text, from);
    char    buf[4096];

    ck_assert_msg(p != NULL, "\"%s\" not in %s", from, rd.conf);
    snprintf(buf, sizeof(buf), "%.*s%s%s", (int) (p - text), text, to, p + strlen(from));
    ck_assert_int_eq(daemon_write_file(rd.conf, buf), 0);
    free(text);
}

/* hup - SIGHUP, then wait until needle has been logged once more */
static void
hup(const char *needle)
{
    int     n = daemon_log_count(&rd, needle);

    ck_assert_int_eq(daemon_signal(&rd, SIGHUP), 0);
    ck_assert_msg(daemon_log_wait(&rd, needle, n + 1, WAIT_MS) == n + 1,
                  "SIGHUP: no new \"%s\" within %d ms", needle, WAIT_MS);
}

/* new_addr - a client address in a netblock no session used before */
static void
new_addr(char *buf, size_t len)
{
    unsigned n = atomic_fetch_add(&next_client, 1);

    /* One /24 each (the netmask of the key): every session is a first sighting. */
    snprintf(buf, len, "10.%u.%u.1", (n / 250) % 250, n % 250);
}

/* greylisted_reply - one whole session from a new client; its 451 reply into reply */
static void
greylisted_reply(char *reply, size_t len)
{
    char    addr[32];
    struct mta_conn m = {'4', addr, NULL, NULL, NULL, 0};
    int     r;

    new_addr(addr, sizeof(addr));
    r = mta_one_rcpt(&rd, &m, "<a@sender.example>", "<b@rcpt.example>", NULL, reply, len, NULL);
    ck_assert_msg(r == SMFIR_REPLYCODE, "%s: got %s, want 'y'", addr, mta_answer_name(r));
}

/* test_hup_keeps_serving - three SIGHUPs: each reloads, the daemon still answers */
START_TEST(test_hup_keeps_serving)
{
    char    reply[MILTC_REPLY_MAX];

    start("hup3");
    for (int i = 0; i < 3; i++) {
        hup(RELOADED);
        ck_assert_msg(daemon_signal(&rd, 0) == 0, "the daemon died of SIGHUP %d", i + 1);
        greylisted_reply(reply, sizeof(reply));
        ck_assert_str_eq(reply, OLD_REPLY);
    }
    /* SIGUSR1 reloads the same way. */
    {
        int     n = daemon_log_count(&rd, "SIGUSR1: configuration reloaded");

        ck_assert_int_eq(daemon_signal(&rd, SIGUSR1), 0);
        ck_assert_int_eq(daemon_log_wait(&rd, "SIGUSR1: configuration reloaded", n + 1, WAIT_MS),
                         n + 1);
    }
    ck_assert_int_eq(daemon_log_count(&rd, "stopping"), 0);
    stop();
}
END_TEST

/*
 * test_hup_at_start - a SIGHUP right after the daemon listens, while its
 * main thread has not yet taken SIGHUP over (held back by the test knob):
 * it must reload, never reach libmilter's sigwait (which would stop the
 * daemon)
 */
START_TEST(test_hup_at_start)
{
    const char *env[] = {"REDGREY_TEST_SIGNAL_DELAY_MS=1500", NULL};
    char    reply[MILTC_REPLY_MAX];

    if (daemon_start_redgrey(&rd, "hupstart", "reply = " OLD_REPLY "\nspf_keying = no\n",
                             env) != 0) {
        daemon_log_print(&rd);
        ck_abort_msg("hupstart: redgrey did not start");
    }
    hup(RELOADED);
    ck_assert_msg(daemon_signal(&rd, 0) == 0, "the daemon died of an early SIGHUP");
    ck_assert_int_eq(daemon_log_count(&rd, "stopping"), 0);
    greylisted_reply(reply, sizeof(reply));
    ck_assert_str_eq(reply, OLD_REPLY);
    stop();
}
END_TEST

/*
 * test_reload_reply - a new reply applies to sessions opened after the
 * reload; a session opened before it keeps the old reply, even for a
 * message it starts after the reload; a new delay applies to the next
 * decision (store_set_params), not logged as needing a restart.
 */
START_TEST(test_reload_reply)
{
    struct miltc *c = malloc(sizeof(*c));
    char    reply[MILTC_REPLY_MAX], addr[32], why[300];
    struct mta_conn m = {'4', addr, NULL, NULL, NULL, 0};
    int     r;

    ck_assert_ptr_nonnull(c);
    start("reply");
    new_addr(addr, sizeof(addr));
    ck_assert_msg(mta_connect(c, &rd, &m, why, sizeof(why)) == 0, "%s", why);

    conf_replace("Old text", "New text");
    conf_replace("delay = 2s", "delay = 5s");
    /* The SPF checker is rebuilt by the reload (spf_shared_reconfigure): no restart. */
    conf_replace("spf_keying = no", "spf_keying = no\ndns_timeout = 3s");
    hup(RELOADED);
    ck_assert_msg(daemon_log_count(&rd, "reload: delay changed: needs a restart") == 0,
                  "delay applies at a reload (store_set_params): not logged as needing a restart");
    ck_assert_msg(daemon_log_count(&rd, "dns_timeout changed") == 0,
                  "dns_timeout is applied by the reload, not logged as needing a restart");
    greylisted_reply(reply, sizeof(reply));
    ck_assert_str_eq(reply, NEW_REPLY);

    /* The new delay: a retry 2 s after the first attempt, which the old 2 s would pass. */
    {
        char    raddr[32];
        struct mta_conn rm = {'4', raddr, NULL, NULL, NULL, 0};

        new_addr(raddr, sizeof(raddr));
        r = mta_one_rcpt(&rd, &rm, "<d@sender.example>", "<e@rcpt.example>", NULL, reply,
                         sizeof(reply), NULL);
        ck_assert_msg(r == SMFIR_REPLYCODE, "first attempt: got %s", mta_answer_name(r));
        daemon_sleep_ms(2100);
        r = mta_one_rcpt(&rd, &rm, "<d@sender.example>", "<e@rcpt.example>", NULL, reply,
                         sizeof(reply), NULL);
        ck_assert_msg(r == SMFIR_REPLYCODE, "retry after 2 s with delay 5s: got %s, want"
                      " still greylisted", mta_answer_name(r));
    }

    /* The session opened before the reload: the old reply. */
    ck_assert_int_eq(mta_mail(c, "<a@sender.example>", NULL), SMFIR_CONTINUE);
    r = miltc_rcpt(c, "<b@rcpt.example>");
    ck_assert_msg(r == SMFIR_REPLYCODE, "old session: got %s, want 'y'", mta_answer_name(r));
    ck_assert_str_eq(c->reply, OLD_REPLY);
    miltc_abort(c);
    miltc_quit(c);
    free(c);

    stop();
}
END_TEST

/*
 * test_reload_bad - a bad line: logged once with file:line, counted, the
 * running configuration stays; a good file afterwards reloads.
 */
START_TEST(test_reload_bad)
{
    char    reply[MILTC_REPLY_MAX], want[800];
    char   *text;
    int     line = 1;

    start("bad");
    conf_replace("Old text", "New text\nretry_window = banana");
    text = daemon_read_file_ok(rd.conf);
    for (const char *p = text; p < strstr(text, "retry_window = banana"); p++)
        line += *p == '\n';
    free(text);
    hup(NOT_RELOADED);
    snprintf(want, sizeof(want), NOT_RELOADED " (1 failed reloads), keeping the running "
             "configuration: %s:%d: ", rd.conf, line);
    ck_assert_msg(daemon_log_count(&rd, want) == 1, "want \"%s\" once in the log", want);
    greylisted_reply(reply, sizeof(reply));
    ck_assert_str_eq(reply, OLD_REPLY);

    conf_replace("\nretry_window = banana", "");
    hup(RELOADED);
    ck_assert_int_eq(daemon_log_count(&rd, want), 1);
    greylisted_reply(reply, sizeof(reply));
    ck_assert_str_eq(reply, NEW_REPLY);
    stop();
}
END_TEST

/* What one client thread of the load test did. */
struct client {
    pthread_t tid;
    atomic_int *stop;
    unsigned long sessions;
    char    fail[400];
};

/* client_run - whole sessions until told to stop; every one must get a 451 */
static void *
client_run(void *arg)
{
    struct client *w = arg;
    char    addr[32], reply[MILTC_REPLY_MAX];
    struct mta_conn m = {'4', addr, NULL, NULL, NULL, 0};

    while (!atomic_load(w->stop) && w->fail[0] == '\0') {
        int     r;

        new_addr(addr, sizeof(addr));
        r = mta_one_rcpt(&rd, &m, "<a@sender.example>", "<b@rcpt.example>", NULL, reply,
                         sizeof(reply), NULL);
        if (r != SMFIR_REPLYCODE
            || (strcmp(reply, OLD_REPLY) != 0 && strcmp(reply, NEW_REPLY) != 0))
            snprintf(w->fail, sizeof(w->fail), "%s: got %s (%.200s), want 'y' with a configured "
                     "reply", addr, mta_answer_name(r), reply);
        w->sessions++;
    }
    return NULL;
}

/* test_reload_load - reloads while clients run sessions: none dropped or wrong */
START_TEST(test_reload_load)
{
    struct client w[NCLIENTS];
    atomic_int stopping = 0;
    char    reply[MILTC_REPLY_MAX];

    start("load");
    memset(w, 0, sizeof(w));
    for (int i = 0; i < NCLIENTS; i++) {
        w[i].stop = &stopping;
        ck_assert_int_eq(pthread_create(&w[i].tid, NULL, client_run, &w[i]), 0);
    }
    for (int k = 0; k < LOAD_HUPS; k++) {
        conf_replace(k % 2 == 0 ? "Old text" : "New text", k % 2 == 0 ? "New text" : "Old text");
        hup(RELOADED);
        daemon_sleep_ms(50);
    }
    atomic_store(&stopping, 1);
    for (int i = 0; i < NCLIENTS; i++)
        pthread_join(w[i].tid, NULL);
    for (int i = 0; i < NCLIENTS; i++) {
        if (w[i].fail[0] != '\0')
            daemon_log_print(&rd);
        ck_assert_msg(w[i].fail[0] == '\0', "client %d: %s", i, w[i].fail);
        ck_assert_msg(w[i].sessions > 0, "client %d ran no session", i);
    }
    /* LOAD_HUPS is even: back to the old text. */
    greylisted_reply(reply, sizeof(reply));
    ck_assert_str_eq(reply, OLD_REPLY);
    stop();
}
END_TEST

/*
 * test_term_drains - SIGTERM while a session is in flight and a
 * big-sender expansion hangs on a DNS server that never answers: the
 * session still gets its answer, and the daemon exits 0 within the
 * bound (libmilter's 5 s poll, 3 s for sessions, 2 s for the expansion:
 * under the unit's TimeoutStopSec of 15 s), long before the expansion's
 * DNS timeout.
 */
START_TEST(test_term_drains)
{
    struct miltc *c = malloc(sizeof(*c));
    char    list[600], extra[1400], addr[32], why[300];
    struct mta_conn m = {'4', addr, NULL, NULL, NULL, 0};
    struct timespec t0;
    int     port, fd, r, status;
    long    took;

    ck_assert_ptr_nonnull(c);
    /* A UDP port that is bound but never read: every query times out. */
    ck_assert_int_ge(fd = daemon_bind_loopback(SOCK_DGRAM, &port), 0);
    daemon_scratch_path(list, sizeof(list), "drain-domains");
    ck_assert_int_eq(daemon_write_file(list, "slow.example\n"), 0);
    snprintf(extra, sizeof(extra), "reply = " OLD_REPLY "\nspf_keying = no\n"
             "spf_domains = %s\ndns_servers = 127.0.0.1:%d\ndns_timeout = 20s\n", list, port);
    if (daemon_start_redgrey(&rd, "drain", extra, NULL) != 0) {
        daemon_log_print(&rd);
        ck_abort_msg("drain: redgrey did not start");
    }
    ck_assert_msg(daemon_log_wait(&rd, "bigsenders: expanding", 1, WAIT_MS) == 1,
                  "no expansion started");
    new_addr(addr, sizeof(addr));
    ck_assert_msg(mta_connect(c, &rd, &m, why, sizeof(why)) == 0, "%s", why);
    ck_assert_int_eq(mta_mail(c, "<a@sender.example>", NULL), SMFIR_CONTINUE);

    clock_gettime(CLOCK_MONOTONIC, &t0);
    ck_assert_int_eq(daemon_signal(&rd, SIGTERM), 0);
    r = miltc_rcpt(c, "<b@rcpt.example>");
    ck_assert_msg(r == SMFIR_REPLYCODE, "in flight after SIGTERM: got %s, want 'y'",
                  mta_answer_name(r));
    ck_assert_str_eq(c->reply, OLD_REPLY);
    miltc_abort(c);
    miltc_quit(c);
    free(c);

    status = daemon_wait(&rd, STOP_MS + 4000);
    took = daemon_ms_since(&t0);
    close(fd);
    if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        daemon_log_print(&rd);
    ck_assert_msg(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "exit: got status 0x%x after %ld ms, want exit 0", status, took);
    ck_assert_msg(took < 12000, "the stop took %ld ms, want under 12 s", took);
    /*
     * The exit skips closing the store either for the expansion or, when
     * libmilter had not yet closed the test's session after its stop, for
     * that session (the earlier of the two bounded waits); one of the two
     * must say so.
     */
    if (daemon_log_count(&rd, "big-sender expansion still running")
        + daemon_log_count(&rd, "sessions still open after") != 1)
        daemon_log_print(&rd);
    ck_assert_msg(daemon_log_count(&rd, "big-sender expansion still running")
                  + daemon_log_count(&rd, "sessions still open after") == 1,
                  "want one line saying why the store was left open");
}
END_TEST

/* reload_suite - the tests */
static Suite *
reload_suite(void)
{
    Suite  *s = suite_create("reload");
    TCase  *tc = tcase_create("signals");

    tcase_add_test(tc, test_hup_keeps_serving);
    tcase_add_test(tc, test_hup_at_start);
    tcase_add_test(tc, test_reload_reply);
    tcase_add_test(tc, test_reload_bad);
    tcase_add_test(tc, test_reload_load);
    tcase_add_test(tc, test_term_drains);
    tcase_set_timeout(tc, 90);
    suite_add_tcase(s, tc);
    return s;
}

/* main - run the suite */
int
main(void)
{
    return daemon_run_suites(reload_suite(), NULL) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_milter_fuzz.c - a short, bounded smoke run of the milter-session
 * fuzzer (tests/fuzz/milter_session.c) against a started redgrey: five
 * seconds of generated hostile sessions with a fixed seed, leaving out the
 * odd-MACRO shape that crashes libmilter 8.17 itself (redgrey(8), BUGS).
 * The fuzzer must find nothing (no crash, no hang, no reject), run a fair
 * number of sessions, and the daemon must still stop cleanly with no
 * sanitizer report in its log. Longer runs are by hand (README.md,
 * "Fuzzing the milter socket").
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"

#define FUZZ_BIN TEST_BUILDDIR "/milter_session"
#define FUZZ_SECONDS "5"
#define RUN_MS 60000                     /* bound on the fuzzer's whole run */
#define MIN_SESSIONS 10                  /* under load a session and its probe take < 0.5 s */

/*
 * test_smoke - the fuzzer for FUZZ_SECONDS with seed 1: exit 0, its
 * summary line says nothing was found, and the daemon is unharmed
 */
START_TEST(test_smoke)
{
    struct daemon d;
    struct daemon_redgrey_opts o = {NULL, NULL, "spf_keying = no\n", NULL};
    char    pidfile[600], out[600], pidtext[32], *text, *sum;
    unsigned long sessions = 0, crashes = 1, hangs = 1, rejects = 1;
    int     rc;

    ck_assert_int_eq(daemon_start_redgrey_with(&d, "fuzz", &o), 0);
    daemon_scratch_path(pidfile, sizeof(pidfile), "fuzz.pid");
    snprintf(pidtext, sizeof(pidtext), "%ld\n", (long) d.pid);
    ck_assert_int_eq(daemon_write_file(pidfile, pidtext), 0);
    daemon_scratch_path(out, sizeof(out), "fuzz.out");
    {
        const char *argv[] = {FUZZ_BIN, "-s", d.spec, "-t", FUZZ_SECONDS, "-S", "1", "-p",
            pidfile, NULL};

        rc = daemon_run(argv, out, RUN_MS);
    }
    text = daemon_read_file_ok(out);
    sum = strstr(text, "sessions ");
    ck_assert_msg(sum != NULL && sscanf(sum, "sessions %lu (hostile steps %*lu) probes %*lu "
                  "crashes %lu (odd-macro %*lu) hangs %lu rejects %lu", &sessions, &crashes,
                  &hangs, &rejects) == 4, "no summary line in the fuzzer's output:\n%s", text);
    ck_assert_msg(rc == 0 && crashes == 0 && hangs == 0 && rejects == 0,
                  "the fuzzer found something (exit %d):\n%s", rc, text);
    ck_assert_msg(sessions >= MIN_SESSIONS, "only %lu sessions in %s s:\n%s", sessions,
                  FUZZ_SECONDS, text);
    free(text);
    ck_assert_msg(daemon_log_count(&d, "AddressSanitizer") == 0
                  && daemon_log_count(&d, "runtime error") == 0, "a sanitizer report in the log");
    if (daemon_stop(&d, 10000) != 0) {
        daemon_log_print(&d);
        ck_abort_msg("redgrey did not stop cleanly after the fuzzer");
    }
}
END_TEST

static Suite *
milter_fuzz_suite(void)
{
    Suite  *s = suite_create("milter_fuzz");
    TCase  *tc = tcase_create("smoke");

    tcase_set_timeout(tc, 90);
    tcase_add_test(tc, test_smoke);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return daemon_run_suites(milter_fuzz_suite(), NULL) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

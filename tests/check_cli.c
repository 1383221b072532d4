/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_cli.c - redgrey's command line: -t with good and bad
 * configurations (exit code, the file:line of the error, no password in
 * the message), -V and -h. Runs the built binary; no daemon is started.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"

#define REDGREY_BIN TEST_BUILDDIR "/../milter/redgrey"

/* Configurations for -t: the exit code and a piece of the message. */
static const struct check_case {
    const char *label;
    const char *text;                    /* NULL: the file does not exist */
    int     want_exit;
    const char *before;                  /* the message has before, the path, after */
    const char *after;
    const char *never;                   /* must not be in the message (a password) */
} check_cases[] = {
    {"good", "# test\nstore = redis://127.0.0.1:6379/0\ndelay = 2s\nuser = \"\"\n", 0,
     "redgrey: ", ": configuration OK", NULL},
    {"unknown key", "delay = 2s\nbogus_key = 1\n", 1, "redgrey: ", ":2: ", NULL},
    {"bad duration", "\n\ndelay = soon\n", 1, "redgrey: ", ":3: ", NULL},
    {"bad store scheme", "store = ftp://example\n", 1, "redgrey: ", ":1: ", NULL},
    {"store without host", "store = redis://:secret@\n", 1, "redgrey: ", ": store \"redis://:***@\": ",
     "secret"},
    {"store bad port", "store = redis://:pw@127.0.0.1:99999\n", 1, "redgrey: ", ": store \"", "pw@"},
    {"relative lmdb dir", "store = lmdb:var/lib/redgrey\n", 1, "redgrey: ", ": store \"lmdb:var/lib/redgrey\": ",
     NULL},
    {"store with a blank", "store = \"redis://:s3cret@127.0.0.1 x\"\n", 1, "redgrey: ",
     ":1: store: bad value \"redis://:***@127.0.0.1 x\"", "s3cret"},
    {"unix store with a blank", "store = \"redis+unix:///r.sock?password=s3cret x\"\n", 1,
     "redgrey: ", ":1: store: bad value", "s3cret"},
    {"missing file", NULL, 1, "redgrey: ", "", NULL},
};

/* test_check_config - redgrey -t: exit code and the file:line of the error */
START_TEST(test_check_config)
{
    const struct check_case *k = &check_cases[_i];
    char    path[700], want[800], out[4096];
    char   *argv[] = {(char *) REDGREY_BIN, (char *) "-t", (char *) "-c", path, NULL};
    int     rc;

    snprintf(path, sizeof(path), "%s/check-%d.conf", daemon_tmp(), _i);
    if (k->text != NULL)
        ck_assert_int_eq(daemon_write_file(path, k->text), 0);
    snprintf(want, sizeof(want), "%s%s%s", k->before, path, k->after);
    rc = daemon_capture((const char *const *) argv, out, sizeof(out), 10000);
    ck_assert_msg(rc == k->want_exit, "%s: exit: got %d, want %d (output: %s)", k->label, rc,
                  k->want_exit, out);
    ck_assert_msg(strstr(out, want) != NULL, "%s: output: got \"%s\", want it to contain \"%s\"",
                  k->label, out, want);
    if (k->never != NULL)
        ck_assert_msg(strstr(out, k->never) == NULL, "%s: output: got \"%s\", which shows \"%s\"",
                      k->label, out, k->never);
}
END_TEST

/* test_version_help - -V, -h, and a bad option */
START_TEST(test_version_help)
{
    char    out[4096];
    char   *v[] = {(char *) REDGREY_BIN, (char *) "-V", NULL};
    char   *h[] = {(char *) REDGREY_BIN, (char *) "-h", NULL};
    char   *bad[] = {(char *) REDGREY_BIN, (char *) "-x", NULL};
    int     rc;

    rc = daemon_capture((const char *const *) v, out, sizeof(out), 10000);
    ck_assert_msg(rc == 0 && strcmp(out, PACKAGE_NAME " " PACKAGE_VERSION "\n") == 0,
                  "-V: got %d \"%s\", want 0 \"%s %s\"", rc, out, PACKAGE_NAME, PACKAGE_VERSION);
    rc = daemon_capture((const char *const *) h, out, sizeof(out), 10000);
    ck_assert_msg(rc == 0 && strstr(out, "usage: redgrey") != NULL, "-h: got %d \"%s\"", rc, out);
    rc = daemon_capture((const char *const *) bad, out, sizeof(out), 10000);
    ck_assert_msg(rc == 1 && strstr(out, "usage: redgrey") != NULL, "-x: got %d \"%s\"", rc, out);
}
END_TEST

static Suite *
cli_suite(void)
{
    Suite  *s = suite_create("cli");
    TCase  *tc = tcase_create("options");

    tcase_add_loop_test(tc, test_check_config, 0, sizeof(check_cases) / sizeof(check_cases[0]));
    tcase_add_test(tc, test_version_help);
    tcase_set_timeout(tc, 20);
    suite_add_tcase(s, tc);
    return s;
}

/* main - run the suite */
int
main(void)
{
    return daemon_run_suites(cli_suite(), NULL) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

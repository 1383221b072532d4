/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_log.c - level and facility names; the outage limiter's counting.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <syslog.h>
#include <time.h>

#include "daemon.h"
#include "log.h"

static const struct {
    const char *label;
    const char *name;
    int     want;
} level_cases[] = {
    {"debug", "debug", LOG_DEBUG},
    {"info upper", "INFO", LOG_INFO},
    {"warning", "warning", LOG_WARNING},
    {"err alias", "error", LOG_ERR},
    {"unknown", "chatty", -1},
    {"empty", "", -1},
};

START_TEST(test_level_parse)
{
    int     got = log_level_parse(level_cases[_i].name);

    ck_assert_msg(got == level_cases[_i].want, "%s: got %d, want %d",
                  level_cases[_i].label, got, level_cases[_i].want);
}
END_TEST

START_TEST(test_facility_parse)
{
    ck_assert_int_eq(log_facility_parse("mail"), LOG_MAIL);
    ck_assert_int_eq(log_facility_parse("local7"), LOG_LOCAL7);
    ck_assert_int_eq(log_facility_parse("kern"), -1);
}
END_TEST

/*
 * The limiter as a script of failures ('f') and successes ('o') at given
 * seconds, each with whether it must write a line. Interval 10 s.
 */
#define LIMIT_STEPS_MAX 16

static const struct limit_case {
    const char *label;
    struct {
        char    op;                      /* 'f' fail, 'o' ok, 0 end */
        time_t  at;                      /* limiter clock, seconds */
        int     logged;                  /* want a line (1) or none (0) */
    } steps[LIMIT_STEPS_MAX];
    int     failing;                     /* want an outage open at the end */
} limit_cases[] = {
    {"no outage, no lines", {{'o', 0, 0}, {'o', 100, 0}, {'o', 100000, 0}}, 0},
    {"recovery waits for a quiet interval",
     {{'f', 0, 1}, {'o', 1, 0}, {'o', 9, 0}, {'o', 10, 1}, {'o', 11, 0}}, 0},
    {"intermittent failures: one line per interval",
     {{'f', 0, 1}, {'o', 1, 0}, {'f', 2, 0}, {'o', 3, 0}, {'f', 5, 0}, {'o', 6, 0},
      {'f', 10, 1}, {'o', 10, 0}, {'f', 11, 0}, {'o', 12, 0}, {'f', 19, 0}, {'o', 28, 0},
      {'f', 20, 1}, {'o', 29, 0}, {'o', 30, 1}}, 0},
    {"still failing, never recovered",
     {{'f', 0, 1}, {'f', 5, 0}, {'f', 10, 1}, {'f', 15, 0}, {'o', 16, 0}, {'f', 20, 1}}, 1},
    {"a new outage after recovery",
     {{'f', 0, 1}, {'o', 10, 1}, {'f', 11, 1}, {'o', 12, 0}, {'o', 21, 1}}, 0},
    {"a success timed before the failure is no quiet time",
     {{'f', 50, 1}, {'o', 5, 0}, {'o', 59, 0}, {'o', 60, 1}}, 0},
};

/* test_limit_script - each step logs (or not) as the row says */
START_TEST(test_limit_script)
{
    const struct limit_case *k = &limit_cases[_i];
    struct log_limit lim = LOG_LIMIT_INIT("store", 10);

    for (int i = 0; i < LIMIT_STEPS_MAX && k->steps[i].op != 0; i++) {
        int     got = k->steps[i].op == 'f'
            ? log_limit_fail_at(&lim, "connection refused", k->steps[i].at)
            : log_limit_ok_at(&lim, k->steps[i].at);

        ck_assert_msg(got == k->steps[i].logged, "%s: step %d ('%c' at %lds): got %s, want %s",
                      k->label, i, k->steps[i].op, (long) k->steps[i].at,
                      got ? "a line" : "no line", k->steps[i].logged ? "a line" : "no line");
    }
    ck_assert_msg(lim.failing == k->failing, "%s: failing: got %d, want %d", k->label,
                  lim.failing, k->failing);
}
END_TEST

/* test_limit_counts - the counts behind the lines, and the reset at recovery */
START_TEST(test_limit_counts)
{
    struct log_limit lim = LOG_LIMIT_INIT("store", 3600);

    /* First failure opens the outage; later ones are counted, not logged. */
    ck_assert_int_eq(log_limit_fail_at(&lim, "connection refused", 100), 1);
    ck_assert_int_eq(lim.failing, 1);
    ck_assert_int_eq(log_limit_fail_at(&lim, "connection refused", 101), 0);
    ck_assert_int_eq(log_limit_fail_at(&lim, "connection refused", 102), 0);
    ck_assert_uint_eq(lim.count, 2);
    ck_assert_uint_eq(lim.total, 3);

    /* Successes inside the outage are counted and end nothing. */
    ck_assert_int_eq(log_limit_ok_at(&lim, 103), 0);
    ck_assert_int_eq(log_limit_ok_at(&lim, 104), 0);
    ck_assert_uint_eq(lim.ok, 2);
    ck_assert_int_eq(lim.failing, 1);

    /* A quiet interval ends it and resets the counts. */
    ck_assert_int_eq(log_limit_ok_at(&lim, 102 + 3600), 1);
    ck_assert_int_eq(lim.failing, 0);
    ck_assert_uint_eq(lim.total, 0);
    ck_assert_uint_eq(lim.ok, 0);

    /* The real-clock forms: an outage starts, and one success does not end it. */
    ck_assert_int_eq(log_limit_fail(&lim, "timeout"), 1);
    ck_assert_int_eq(log_limit_ok(&lim), 0);
    ck_assert_int_eq(lim.failing, 1);
}
END_TEST

static Suite *
log_suite(void)
{
    Suite  *s = suite_create("log");
    TCase  *tc = tcase_create("names");

    tcase_add_loop_test(tc, test_level_parse, 0, sizeof(level_cases) / sizeof(level_cases[0]));
    tcase_add_test(tc, test_facility_parse);
    suite_add_tcase(s, tc);
    tc = tcase_create("limit");
    tcase_add_loop_test(tc, test_limit_script, 0, sizeof(limit_cases) / sizeof(limit_cases[0]));
    tcase_add_test(tc, test_limit_counts);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    log_init("check_log", LOG_MAIL, LOG_ERR, 1);
    return daemon_run_suites(log_suite(), NULL) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_log.c - level and facility names; the outage limiter's counting.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <syslog.h>

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

START_TEST(test_limit_counts)
{
    struct log_limit lim = LOG_LIMIT_INIT("store", 3600);

    /* First failure opens the outage; later ones are counted, not logged. */
    log_limit_fail(&lim, "connection refused");
    ck_assert_int_eq(lim.failing, 1);
    log_limit_fail(&lim, "connection refused");
    log_limit_fail(&lim, "connection refused");
    ck_assert_uint_eq(lim.count, 2);
    ck_assert_uint_eq(lim.total, 3);

    /* A success ends the outage and resets the counts. */
    log_limit_ok(&lim);
    ck_assert_int_eq(lim.failing, 0);
    ck_assert_uint_eq(lim.total, 0);
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
    tcase_add_test(tc, test_limit_counts);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(log_suite());
    int     failed;

    log_init("check_log", LOG_MAIL, LOG_ERR, 1);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

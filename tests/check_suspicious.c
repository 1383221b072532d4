/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_suspicious.c - the client-name signals of selective greylisting
 * (common/suspicious.h): globs, the built-in IP-digits rule, the pattern
 * file (parse errors with their line, the shipped contrib/dynamic_patterns),
 * and what {client_name} / {client_resolve} say about a verified name.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "suspicious.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const struct glob_case {
    const char *pattern, *name;
    int     want;
} glob_cases[] = {
    {"*.dsl.*", "a.dsl.example.net", 1},
    {"*.dsl.*", "dsl.example.net", 0},
    {"*.DSL.*", "a.dsl.Example.net", 1},
    {"host-?.example", "host-7.example", 1},
    {"host-?.example", "host-77.example", 0},
    {"*", "", 1},
    {"*", "anything", 1},
    {"a*b*c", "aXbYc", 1},
    {"a*b*c", "aXbYcZ", 0},
    {"*pool*", "ippool7.isp", 1},
    {"exact.example", "exact.example", 1},
    {"exact.example", "exact.example.org", 0},
    {"**x", "abx", 1},
    {"?", "", 0},
};

START_TEST(test_glob)
{
    const struct glob_case *c = &glob_cases[_i];

    ck_assert_msg(suspicious_glob(c->pattern, c->name) == c->want, "glob \"%s\" on \"%s\": want %d",
                  c->pattern, c->name, c->want);
}
END_TEST

static const struct ip_case {
    const char *ip, *name;
    int     want;
} ip_cases[] = {
    {"203.0.113.7", "203-0-113-7.pool.example.net", 1},
    {"203.0.113.7", "7.113.0.203.dsl.example", 1},
    {"203.0.113.7", "host203.0.113.7x.example", 1},
    {"203.0.113.7", "h-203-000-113-007.example", 1},
    {"203.0.113.7", "ip203000113007.example", 1},
    {"203.0.113.7", "CB007107.EXAMPLE", 1},
    {"203.0.113.7", "203-0-113-8.example.net", 0},
    {"203.0.113.7", "mail.example.net", 0},
    {"203.0.113.7", "113-7.example.net", 0},          /* two octets are not the address */
    {"203.0.113.7", "2030-113-7.example", 0},
    {"203.0.113.7", "mx203.example", 0},
    {"2001:db8::7", "2001-db8-0-7.example", 0},       /* IPv6: patterns only */
};

START_TEST(test_name_has_ip)
{
    const struct ip_case *c = &ip_cases[_i];
    struct ipaddr ip = daemon_must_ip(c->ip);

    ck_assert_msg(suspicious_name_has_ip(c->name, &ip) == c->want, "%s in \"%s\": want %d",
                  c->ip, c->name, c->want);
}
END_TEST

/* A set's patterns: substrings anywhere, globs over the whole name, case ignored. */
START_TEST(test_patterns)
{
    char    err[256] = "";
    struct suspicious_patterns *p =
        suspicious_patterns_parse("\xef\xbb\xbf# comment\n\n  dyn  \r\nDHCP # trailing\r\n"
                                  "*.res.*\n", "t", err, sizeof(err));
    struct ipaddr ip = daemon_must_ip("198.51.100.9");

    ck_assert_msg(p != NULL, "%s", err);
    ck_assert_uint_eq(suspicious_patterns_count(p), 3);
    ck_assert_int_eq(suspicious_name_dynamic(p, "a.DYNamic.example.", &ip), 1);
    ck_assert_int_eq(suspicious_name_dynamic(p, "x.dhcp.example", &ip), 1);
    ck_assert_int_eq(suspicious_name_dynamic(p, "h1.res.example", &ip), 1);
    ck_assert_int_eq(suspicious_name_dynamic(p, "res.example", &ip), 0);
    ck_assert_int_eq(suspicious_name_dynamic(p, "mail.example.org", &ip), 0);
    ck_assert_int_eq(suspicious_name_dynamic(p, "198-51-100-9.example.org", &ip), 1);
    ck_assert_int_eq(suspicious_name_dynamic(p, "198-51-100-9.example.org", NULL), 0);
    ck_assert_int_eq(suspicious_name_dynamic(p, "", &ip), 0);
    ck_assert_int_eq(suspicious_name_dynamic(p, NULL, &ip), 0);
    ck_assert_int_eq(suspicious_name_dynamic(NULL, "x.dhcp.example", &ip), 0);
    suspicious_patterns_free(p);

    p = suspicious_patterns_parse(NULL, "t", err, sizeof(err));
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(suspicious_patterns_count(p), 0);
    suspicious_patterns_free(p);
}
END_TEST

static const struct bad_case {
    const char *text, *err;
} bad_cases[] = {
    {"ok\ntwo words\n", "f:2: a pattern is one word of visible ASCII characters"},
    {"ok\n\nnon\xc3\xa9\n", "f:3: a pattern is one word of visible ASCII characters"},
};

START_TEST(test_bad)
{
    char    err[256] = "";

    ck_assert_ptr_null(suspicious_patterns_parse(bad_cases[_i].text, "f", err, sizeof(err)));
    ck_assert_str_eq(err, bad_cases[_i].err);
}
END_TEST

/* A pattern over the bound, and the file that is missing. */
START_TEST(test_limits)
{
    char    text[SUSPICIOUS_PATTERN_MAX + 3], err[256] = "";
    struct suspicious_patterns *p;

    memset(text, 'a', SUSPICIOUS_PATTERN_MAX);
    text[SUSPICIOUS_PATTERN_MAX] = '\0';
    p = suspicious_patterns_parse(text, "f", err, sizeof(err));
    ck_assert_msg(p != NULL, "a pattern of the largest size: %s", err);
    suspicious_patterns_free(p);
    strcat(text, "a");
    ck_assert_ptr_null(suspicious_patterns_parse(text, "f", err, sizeof(err)));
    ck_assert_str_eq(err, "f:1: pattern too long");
    ck_assert_ptr_null(suspicious_patterns_load("/nonexistent/dynamic_patterns", err,
                                                sizeof(err)));
    ck_assert_msg(strstr(err, "/nonexistent/dynamic_patterns: cannot open") != NULL, "%s", err);
    p = suspicious_patterns_load("", err, sizeof(err));
    ck_assert_ptr_nonnull(p);
    suspicious_patterns_free(p);
}
END_TEST

/* The shipped file loads and catches the names it is for, not a plain MX. */
START_TEST(test_shipped)
{
    char    err[256] = "";
    struct suspicious_patterns *p =
        suspicious_patterns_load(TEST_SRCDIR "/../contrib/dynamic_patterns", err, sizeof(err));
    struct ipaddr ip = daemon_must_ip("192.0.2.44");

    ck_assert_msg(p != NULL, "%s", err);
    ck_assert_uint_ge(suspicious_patterns_count(p), 10);
    ck_assert_int_eq(suspicious_name_dynamic(p, "c-44.hsd1.ma.comcast-dyn.example", &ip), 1);
    ck_assert_int_eq(suspicious_name_dynamic(p, "ppp-44.isp.example", &ip), 1);
    ck_assert_int_eq(suspicious_name_dynamic(p, "host.dhcp.example.net", &ip), 1);
    ck_assert_int_eq(suspicious_name_dynamic(p, "a1.b2.dsl.example.net", &ip), 1);
    ck_assert_int_eq(suspicious_name_dynamic(p, "mail-out.example.com", &ip), 0);
    ck_assert_int_eq(suspicious_name_dynamic(p, "mx1.example.org", &ip), 0);
    suspicious_patterns_free(p);
}
END_TEST

static const struct rdns_case {
    const char *name, *resolve;
    int     no_rdns;
} rdns_cases[] = {
    {"mail.example.org", NULL, 0},
    {"unknown", NULL, 1},
    {"UNKNOWN", NULL, 1},
    {"[192.0.2.1]", NULL, 1},
    {"", NULL, 1},
    {"mail.example.org", "OK", 0},
    {"mail.example.org", "FORGED", 1},
    {"mail.example.org", "FAIL", 1},
    {"mail.example.org", "TEMP", 1},
    {NULL, NULL, 0},                     /* the MTA did not say: no claim */
};

START_TEST(test_no_rdns)
{
    const struct rdns_case *c = &rdns_cases[_i];
    const char *v = suspicious_verified_name(c->name, c->resolve);

    ck_assert_msg(suspicious_no_rdns(c->name, c->resolve) == c->no_rdns, "%s/%s: want %d",
                  c->name ? c->name : "(null)", c->resolve ? c->resolve : "(null)", c->no_rdns);
    if (c->name != NULL && !c->no_rdns)
        ck_assert_ptr_eq(v, c->name);
    else
        ck_assert_ptr_null(v);
}
END_TEST

static Suite *
suspicious_suite(void)
{
    Suite  *s = suite_create("suspicious");
    TCase  *tc = tcase_create("names");

    tcase_add_loop_test(tc, test_glob, 0, NELEM(glob_cases));
    tcase_add_loop_test(tc, test_name_has_ip, 0, NELEM(ip_cases));
    tcase_add_test(tc, test_patterns);
    tcase_add_loop_test(tc, test_bad, 0, NELEM(bad_cases));
    tcase_add_test(tc, test_limits);
    tcase_add_test(tc, test_shipped);
    tcase_add_loop_test(tc, test_no_rdns, 0, NELEM(rdns_cases));
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return daemon_run_suites(suspicious_suite(), NULL) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

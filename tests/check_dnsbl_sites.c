/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_dnsbl_sites.c - the dnsbl_sites list (postscreen syntax): items,
 * filters, weights and their bounds, the errors that name the bad item,
 * the canonical print, the filter matcher, the query names (IPv4 octets,
 * IPv6 nibbles, IPv4-mapped as IPv4) and the verdict of a score.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg_dnsbl.h"
#include "daemon.h"
#include "dnsbl_sites.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static struct dnsbl_sites sites;         /* too big for a test's stack frame */

START_TEST(test_parse_issue_example)
{
    char    err[256], buf[1024];

    ck_assert_int_eq(dnsbl_sites_parse("zen.spamhaus.org*2, bl.spamcop.net*1, "
                                       "list.dnswl.org=127.0.[0..255].[1..3]*-3",
                                       &sites, err, sizeof(err)), 0);
    ck_assert_uint_eq(sites.nsites, 3);
    ck_assert_uint_eq(sites.nzones, 3);
    ck_assert_str_eq(sites.zones[sites.site[0].zone], "zen.spamhaus.org");
    ck_assert_int_eq(sites.site[0].weight, 2);
    ck_assert_int_eq(sites.site[0].has_filter, 0);
    ck_assert_int_eq(sites.site[1].weight, 1);
    ck_assert_str_eq(sites.zones[sites.site[2].zone], "list.dnswl.org");
    ck_assert_int_eq(sites.site[2].weight, -3);
    ck_assert_int_eq(sites.site[2].has_filter, 1);
    ck_assert_int_eq(dnsbl_sites_format(&sites, buf, sizeof(buf)), (int) strlen(buf));
    ck_assert_str_eq(buf, "zen.spamhaus.org*2, bl.spamcop.net, "
                     "list.dnswl.org=127.0.[0..255].[1..3]*-3");
}
END_TEST

START_TEST(test_parse_shapes)
{
    char    err[256], buf[1024];

    /* blanks and commas mixed, case and final dot folded, "+", one zone twice */
    ck_assert_int_eq(dnsbl_sites_parse("  A.Example.=127.0.0.2*+4\t,,a.example=127.0.0.[3;5]\n"
                                       " b_1-x.example*0 ", &sites, err, sizeof(err)), 0);
    ck_assert_uint_eq(sites.nsites, 3);
    ck_assert_uint_eq(sites.nzones, 2);
    ck_assert_uint_eq(sites.site[0].zone, sites.site[1].zone);
    ck_assert_str_eq(sites.zones[0], "a.example");
    ck_assert_int_eq(sites.site[0].weight, 4);
    ck_assert_int_eq(sites.site[2].weight, 0);
    dnsbl_sites_format(&sites, buf, sizeof(buf));
    ck_assert_str_eq(buf, "a.example=127.0.0.2*4, a.example=127.0.0.[3;5], b_1-x.example*0");
    /* empty and blank lists are empty, not errors */
    ck_assert_int_eq(dnsbl_sites_parse("", &sites, err, sizeof(err)), 0);
    ck_assert_uint_eq(sites.nsites, 0);
    ck_assert_int_eq(dnsbl_sites_parse(" , ", &sites, err, sizeof(err)), 0);
    ck_assert_int_eq(dnsbl_sites_parse(NULL, &sites, err, sizeof(err)), 0);
    ck_assert_int_eq(dnsbl_sites_format(&sites, buf, sizeof(buf)), 0);
}
END_TEST

static const struct bad_case {
    const char *text;
    const char *want;                    /* a substring of the error */
} bad_cases[] = {
    {"a.example*x", "item 1 \"a.example*x\": the weight is not a signed integer"},
    {"a.example, b.example*", "item 2 \"b.example*\": the weight after '*' is empty"},
    {"a.example*-", "the weight after '*' is empty"},
    {"a.example*10001", "out of range"},
    {"a.example*-10001", "out of range"},
    {"a.example*99999999999999999999", "out of range"},
    {"a.example*1*2", "more than one '*'"},
    {"a.example*1=127.0.0.2", "must come before"},
    {"a.example=127.0.0.2=3", "more than one '='"},
    {"=127.0.0.2", "the zone name is empty"},
    {"*3", "the zone name is empty"},
    {".", "the zone name is empty"},
    {"a..example", "empty label"},
    {".a.example", "empty label"},
    {"a.example..", "empty label"},
    {"27..", "empty label"},
    {"a.ex ample*x", "item 2 \"ample*x\""},
    {"a.exam!ple", "a byte other than"},
    {"a.example=", "the filter after '=' is empty"},
    {"a.example=127.0.0", "four octets"},
    {"a.example=127.0.0.2.1", "more than four octets"},
    {"a.example=127.0.0.256", "not a number 0..255"},
    {"a.example=127.0.0.1234", "not a number 0..255"},
    {"a.example=127.0.0.[]", "element is not a number"},
    {"a.example=127.0.0.[1", "closing ']'"},
    {"a.example=127.0.0.[1,2]", "closing ']'"},
    {"a.example=127.0.0.[5..2]", "ends below its start"},
    {"a.example=127.0.0.[2..]", "range end is not a number"},
    {"a.example=127.0.0.[2..300]", "range end is not a number"},
    {"a.example=127.0.0.-1", "not a number 0..255"},
    {"a.example=127.0.0.x", "not a number"},
};

START_TEST(test_parse_bad)
{
    const struct bad_case *c = &bad_cases[_i];
    char    err[256] = "";

    sites.nsites = 99;
    ck_assert_msg(dnsbl_sites_parse(c->text, &sites, err, sizeof(err)) == -1,
                  "%s: parsed", c->text);
    ck_assert_msg(strstr(err, c->want) != NULL, "%s: error \"%s\", want \"%s\"", c->text, err,
                  c->want);
    ck_assert_uint_eq(sites.nsites, 0);
}
END_TEST

START_TEST(test_parse_bounds)
{
    char    text[DNSBL_SITES_TEXT_MAX + 2], label[64], zone[DNSBL_ZONE_MAX + 2], err[256];
    size_t  used = 0;

    /* 32 items are fine, the 33rd is named */
    for (int i = 0; i < DNSBL_SITES_MAX; i++)
        used += (size_t) snprintf(text + used, sizeof(text) - used, "z%d.example ", i);
    ck_assert_int_eq(dnsbl_sites_parse(text, &sites, err, sizeof(err)), 0);
    ck_assert_uint_eq(sites.nzones, DNSBL_ZONES_MAX);
    snprintf(text + used, sizeof(text) - used, "extra.example");
    ck_assert_int_eq(dnsbl_sites_parse(text, &sites, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "item 33 \"extra.example\": too many items") != NULL, "%s", err);
    /* labels of 63 bytes, zones of DNSBL_ZONE_MAX bytes; one more is refused */
    memset(label, 'a', 63);
    label[63] = '\0';
    snprintf(text, sizeof(text), "%s.example", label);
    ck_assert_int_eq(dnsbl_sites_parse(text, &sites, err, sizeof(err)), 0);
    snprintf(text, sizeof(text), "%sb.example", label);
    ck_assert_int_eq(dnsbl_sites_parse(text, &sites, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "longer than 63") != NULL, "%s", err);
    for (size_t i = 0; i < sizeof(zone) - 1; i++)
        zone[i] = i % 10 == 9 ? '.' : 'z';
    zone[DNSBL_ZONE_MAX] = '\0';
    zone[DNSBL_ZONE_MAX - 1] = 'z';
    ck_assert_int_eq(dnsbl_sites_parse(zone, &sites, err, sizeof(err)), 0);
    zone[DNSBL_ZONE_MAX] = 'z';
    zone[DNSBL_ZONE_MAX + 1] = '\0';
    ck_assert_int_eq(dnsbl_sites_parse(zone, &sites, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "too long") != NULL, "%s", err);
    /* a filter longer than DNSBL_FILTER_MAX; a list longer than the text bound */
    snprintf(text, sizeof(text), "a.example=127.0.0.[1;2;3;4;5;6;7;8;9;10;11;12;13;14;15;16;"
             "17;18;19;20;21;22;23;24;25;26;27;28;29;30;31;32;33;34;35]");
    ck_assert_int_eq(dnsbl_sites_parse(text, &sites, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "the filter is too long") != NULL, "%s", err);
    memset(text, ' ', sizeof(text) - 1);
    text[sizeof(text) - 1] = '\0';
    ck_assert_int_eq(dnsbl_sites_parse(text, &sites, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "too long") != NULL, "%s", err);
    /* weights at the bound */
    ck_assert_int_eq(dnsbl_sites_parse("a.example*10000 b.example*-10000", &sites, err,
                                       sizeof(err)), 0);
    ck_assert_int_eq(sites.site[1].weight, -DNSBL_WEIGHT_MAX);
}
END_TEST

START_TEST(test_error_quotes_hostile_item)
{
    char    err[256];

    ck_assert_int_eq(dnsbl_sites_parse("a\"b\x01.example", &sites, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "item 1 \"a\\x22b\\x01.example\"") != NULL, "%s", err);
    ck_assert_int_eq(dnsbl_sites_parse("a.example*aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                                       "aaaaaaaaaaaaaaaaaaaaaaaaaaa", &sites, err, sizeof(err)),
                     -1);
    ck_assert_msg(strstr(err, "\"...: the weight") != NULL, "%s", err);
}
END_TEST

static const struct match_case {
    const char *filter;
    const char *value;
    int     want;
} match_cases[] = {
    {"127.0.0.2", "127.0.0.2", 1},
    {"127.0.0.2", "127.0.0.3", 0},
    {"127.0.0.2", "128.0.0.2", 0},
    {"127.0.[0..255].[1..3]", "127.0.15.1", 1},
    {"127.0.[0..255].[1..3]", "127.0.255.3", 1},
    {"127.0.[0..255].[1..3]", "127.0.15.0", 0},
    {"127.0.[0..255].[1..3]", "127.0.15.4", 0},
    {"127.0.0.[1;3..5]", "127.0.0.1", 1},
    {"127.0.0.[1;3..5]", "127.0.0.2", 0},
    {"127.0.0.[1;3..5]", "127.0.0.4", 1},
    {"127.0.0.[1;3..5]", "127.0.0.5", 1},
    {"127.0.0.[1;3..5]", "127.0.0.6", 0},
    {"127.0.0.[17;18]", "127.0.0.18", 1},
    {"[0..255].[0..255].[0..255].[0..255]", "10.20.30.40", 1},
    {"[127].0.0.[2..2]", "127.0.0.2", 1},
    {"0.0.0.0", "0.0.0.0", 1},
    {"255.255.255.[255]", "255.255.255.254", 0},
};

START_TEST(test_filter_match)
{
    const struct match_case *c = &match_cases[_i];
    struct dnsbl_filter f;
    struct ipaddr v = daemon_must_ip(c->value);
    char    err[256];

    ck_assert_msg(dnsbl_filter_parse(c->filter, &f, err, sizeof(err)) == 0, "%s: %s",
                  c->filter, err);
    ck_assert_msg(dnsbl_filter_match(&f, v.b) == c->want, "%s on %s: want %d", c->filter,
                  c->value, c->want);
}
END_TEST

START_TEST(test_site_without_filter_matches_any)
{
    char    err[256];
    uint8_t any[4] = {10, 1, 2, 3};

    ck_assert_int_eq(dnsbl_sites_parse("a.example b.example=127.0.0.2", &sites, err,
                                       sizeof(err)), 0);
    ck_assert_int_eq(dnsbl_site_match(&sites.site[0], any), 1);
    ck_assert_int_eq(dnsbl_site_match(&sites.site[1], any), 0);
}
END_TEST

static const struct qname_case {
    const char *ip;
    const char *want;
} qname_cases[] = {
    {"192.0.2.1", "1.2.0.192.bl.example"},
    {"127.0.0.2", "2.0.0.127.bl.example"},
    {"::ffff:192.0.2.99", "99.2.0.192.bl.example"},
    {"2001:db8::1", "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.bl.example"},
    {"2001:DB8:abcd:12::f0", "0.f.0.0.0.0.0.0.0.0.0.0.0.0.0.0.2.1.0.0.d.c.b.a.8.b.d.0.1.0.0.2"
     ".bl.example"},
};

START_TEST(test_qname)
{
    const struct qname_case *c = &qname_cases[_i];
    struct ipaddr ip = daemon_must_ip(c->ip);
    char    buf[DNSBL_QNAME_SIZE];

    ck_assert_int_eq(dnsbl_qname(&ip, "bl.example", buf, sizeof(buf)), (int) strlen(c->want));
    ck_assert_str_eq(buf, c->want);
}
END_TEST

START_TEST(test_qname_edges)
{
    struct ipaddr ip = daemon_must_ip("2001:db8::1"), mapped;
    char    zone[DNSBL_ZONE_MAX + 1], buf[DNSBL_QNAME_SIZE];

    /* the longest zone still fits with an IPv6 prefix: 253 bytes */
    memset(zone, 'z', sizeof(zone) - 1);
    zone[sizeof(zone) - 1] = '\0';
    ck_assert_int_eq(dnsbl_qname(&ip, zone, buf, sizeof(buf)), 253);
    ck_assert_int_eq(dnsbl_qname(&ip, zone, buf, 253), -1);
    ck_assert_str_eq(buf, "");
    /* an IPv4-mapped address built by hand (not through ipaddr_parse) */
    memset(&mapped, 0, sizeof(mapped));
    mapped.family = AF_INET6;
    mapped.b[10] = mapped.b[11] = 0xff;
    mapped.b[12] = 198;
    mapped.b[13] = 51;
    mapped.b[14] = 100;
    mapped.b[15] = 7;
    ck_assert_int_gt(dnsbl_qname(&mapped, "bl.example", buf, sizeof(buf)), 0);
    ck_assert_str_eq(buf, "7.100.51.198.bl.example");
    mapped.family = AF_UNIX;
    ck_assert_int_eq(dnsbl_qname(&mapped, "bl.example", buf, sizeof(buf)), -1);
}
END_TEST

START_TEST(test_verdict)
{
    char    err[256];

    ck_assert_int_eq(dnsbl_verdict(0, 1, -1), DNSBL_NEUTRAL);
    ck_assert_int_eq(dnsbl_verdict(1, 1, -1), DNSBL_SUSPICIOUS);
    ck_assert_int_eq(dnsbl_verdict(5, 3, -1), DNSBL_SUSPICIOUS);
    ck_assert_int_eq(dnsbl_verdict(-1, 1, -1), DNSBL_TRUSTED);
    ck_assert_int_eq(dnsbl_verdict(-3, 3, -2), DNSBL_TRUSTED);
    ck_assert_int_eq(dnsbl_verdict(-1, 3, -2), DNSBL_NEUTRAL);
    ck_assert_int_eq(dnsbl_thresholds_check(1, -1, err, sizeof(err)), 0);
    ck_assert_int_eq(dnsbl_thresholds_check(1, 1, err, sizeof(err)), -1);
    ck_assert_str_eq(err, "dnswl_threshold (1) must be below dnsbl_threshold (1)");
}
END_TEST

START_TEST(test_cfg_setter)
{
    /* a row as cfg_keys.c will hold it, over a lone char * for the field */
    static const struct cfg_key row = {"dnsbl_sites", CFG_TYPE_STRING, "", 0,
                                       DNSBL_SITES_TEXT_MAX, 0, cfg_set_dnsbl_sites, NULL,
                                       NULL, "DNS lists"};
    char   *field = NULL, err[512] = "";

    ck_assert_int_eq(cfg_set_dnsbl_sites((struct cfg *) (void *) &field, &row,
                                         "zen.spamhaus.org*2, list.dnswl.org=127.0.[0..255]"
                                         ".[1..3]*-3", err, sizeof(err)), 0);
    ck_assert_str_eq(field, "zen.spamhaus.org*2, list.dnswl.org=127.0.[0..255].[1..3]*-3");
    ck_assert_int_eq(cfg_set_dnsbl_sites((struct cfg *) (void *) &field, &row,
                                         "a.example, b.example=127.0.0", err, sizeof(err)), -1);
    ck_assert_str_eq(err, "dnsbl_sites: item 2 \"b.example\\x3d127.0.0\": the filter needs four "
                     "octets d.d.d.d");
    ck_assert_str_eq(field, "zen.spamhaus.org*2, list.dnswl.org=127.0.[0..255].[1..3]*-3");
    ck_assert_int_eq(cfg_set_dnsbl_sites((struct cfg *) (void *) &field, &row, "", err,
                                         sizeof(err)), 0);
    ck_assert_str_eq(field, "");
    free(field);
}
END_TEST

static Suite *
dnsbl_sites_suite(void)
{
    Suite  *s = suite_create("dnsbl_sites");
    TCase  *tc = tcase_create("parse");

    tcase_add_test(tc, test_parse_issue_example);
    tcase_add_test(tc, test_parse_shapes);
    tcase_add_loop_test(tc, test_parse_bad, 0, NELEM(bad_cases));
    tcase_add_test(tc, test_parse_bounds);
    tcase_add_test(tc, test_error_quotes_hostile_item);
    tcase_add_test(tc, test_cfg_setter);
    suite_add_tcase(s, tc);
    tc = tcase_create("match");
    tcase_add_loop_test(tc, test_filter_match, 0, NELEM(match_cases));
    tcase_add_test(tc, test_site_without_filter_matches_any);
    tcase_add_test(tc, test_verdict);
    suite_add_tcase(s, tc);
    tc = tcase_create("qname");
    tcase_add_loop_test(tc, test_qname, 0, NELEM(qname_cases));
    tcase_add_test(tc, test_qname_edges);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return daemon_run_suites(dnsbl_sites_suite(), NULL) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

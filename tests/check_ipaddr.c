/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_ipaddr.c - parsing client addresses from text and sockets.
 *
 * The tables hold the shapes an address arrives in (plain, bracketed,
 * Postfix's "IPv6:" literal, IPv4-mapped) and the junk that must be
 * refused (zone ids, trailing garbage, overlong strings, unix sockets).
 */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "daemon.h"
#include "ipaddr.h"

static const struct parse_case {
    const char *label;
    const char *text;
    int     want_rc;
    int     want_family;                 /* when want_rc == 0 */
    const char *want_text;               /* ipaddr_format, when want_rc == 0 */
} parse_cases[] = {
    {"v4", "192.0.2.1", 0, AF_INET, "192.0.2.1"},
    {"v4 zero", "0.0.0.0", 0, AF_INET, "0.0.0.0"},
    {"v4 all ones", "255.255.255.255", 0, AF_INET, "255.255.255.255"},
    {"v4 loopback", "127.0.0.1", 0, AF_INET, "127.0.0.1"},
    {"v6", "2001:db8::1", 0, AF_INET6, "2001:db8::1"},
    {"v6 long form", "2001:0db8:0000:0000:0000:0000:0000:0001", 0, AF_INET6, "2001:db8::1"},
    {"v6 upper case", "2001:DB8::A", 0, AF_INET6, "2001:db8::a"},
    {"v6 loopback", "::1", 0, AF_INET6, "::1"},
    {"v6 unspecified", "::", 0, AF_INET6, "::"},
    {"v6 link-local", "fe80::1", 0, AF_INET6, "fe80::1"},
    {"v4-compatible stays v6", "::192.0.2.1", 0, AF_INET6, "::192.0.2.1"},
    {"mapped", "::ffff:192.0.2.1", 0, AF_INET, "192.0.2.1"},
    {"mapped upper", "::FFFF:192.0.2.1", 0, AF_INET, "192.0.2.1"},
    {"mapped hex", "::ffff:c000:201", 0, AF_INET, "192.0.2.1"},
    {"mapped long form", "0:0:0:0:0:ffff:192.0.2.1", 0, AF_INET, "192.0.2.1"},
    {"near-mapped stays v6", "::fffe:192.0.2.1", 0, AF_INET6, "::fffe:c000:201"},
    {"IPv6: prefix", "IPv6:2001:db8::1", 0, AF_INET6, "2001:db8::1"},
    {"ipv6: prefix lower", "ipv6:2001:db8::1", 0, AF_INET6, "2001:db8::1"},
    {"IPv6: mapped", "IPv6:::ffff:192.0.2.1", 0, AF_INET, "192.0.2.1"},
    {"brackets v4", "[192.0.2.1]", 0, AF_INET, "192.0.2.1"},
    {"brackets v6", "[2001:db8::1]", 0, AF_INET6, "2001:db8::1"},
    {"brackets IPv6:", "[IPv6:2001:db8::1]", 0, AF_INET6, "2001:db8::1"},
    {"brackets mapped", "[::ffff:192.0.2.1]", 0, AF_INET, "192.0.2.1"},
    {"embedded NUL ends the string", "192.0.2.1\0junk", 0, AF_INET, "192.0.2.1"},

    {"empty", "", -1, 0, NULL},
    {"junk", "localhost", -1, 0, NULL},
    {"postfix unknown", "unknown", -1, 0, NULL},
    {"IPv6: with v4", "IPv6:192.0.2.1", -1, 0, NULL},
    {"IPv6: alone", "IPv6:", -1, 0, NULL},
    {"IPv6: twice", "IPv6:IPv6:::1", -1, 0, NULL},
    {"brackets empty", "[]", -1, 0, NULL},
    {"bracket alone", "[", -1, 0, NULL},
    {"bracket unclosed", "[192.0.2.1", -1, 0, NULL},
    {"bracket unopened", "192.0.2.1]", -1, 0, NULL},
    {"brackets doubled", "[[192.0.2.1]]", -1, 0, NULL},
    {"v4 octet 256", "192.0.2.256", -1, 0, NULL},
    {"v4 short form", "10.1", -1, 0, NULL},
    {"v4 five parts", "1.2.3.4.5", -1, 0, NULL},
    {"v4 leading zero", "192.0.02.1", -1, 0, NULL},
    {"v4 hex", "0xc0.0.2.1", -1, 0, NULL},
    {"v4 trailing garbage", "192.0.2.1x", -1, 0, NULL},
    {"v4 trailing space", "192.0.2.1 ", -1, 0, NULL},
    {"v4 leading space", " 192.0.2.1", -1, 0, NULL},
    {"v4 embedded space", "192.0. 2.1", -1, 0, NULL},
    {"v4 with prefix", "192.0.2.0/24", -1, 0, NULL},
    {"v4 with port", "192.0.2.1:25", -1, 0, NULL},
    {"v6 triple colon", "2001:db8:::1", -1, 0, NULL},
    {"v6 two ::", "2001::db8::1", -1, 0, NULL},
    {"v6 long group", "12345::1", -1, 0, NULL},
    {"v6 bad hex", "2001:db8::g", -1, 0, NULL},
    {"v6 with prefix", "2001:db8::/32", -1, 0, NULL},
    {"v6 control char", "2001:db8::1\n", -1, 0, NULL},
    {"zone id", "fe80::1%eth0", -1, 0, NULL},
    {"zone id bracketed", "[fe80::1%25eth0]", -1, 0, NULL},
    {"zone id numeric", "fe80::1%2", -1, 0, NULL},
    {"high bytes", "192.0.2.1\xc3\xa9", -1, 0, NULL},
};

START_TEST(test_parse)
{
    const struct parse_case *c = &parse_cases[_i];
    struct ipaddr ip;
    char    buf[IPADDR_STRLEN];
    int     rc;

    memset(&ip, 0xa5, sizeof(ip));
    rc = ipaddr_parse(c->text, &ip);
    ck_assert_msg(rc == c->want_rc, "%s: got rc %d, want %d", c->label, rc, c->want_rc);
    if (rc != 0) {
        /* A failed parse leaves the output as it was. */
        ck_assert_msg(ip.b[0] == 0xa5 && ip.b[15] == 0xa5, "%s: got output written, want untouched",
                      c->label);
        return;
    }
    ck_assert_msg(ip.family == c->want_family, "%s: got family %d, want %d",
                  c->label, ip.family, c->want_family);
    ipaddr_format(&ip, buf, sizeof(buf));
    ck_assert_msg(strcmp(buf, c->want_text) == 0, "%s: got %s, want %s",
                  c->label, buf, c->want_text);
    if (ip.family == AF_INET)
        for (int i = 4; i < 16; i++)
            ck_assert_msg(ip.b[i] == 0, "%s: got b[%d] = %d, want 0", c->label, i, ip.b[i]);
}
END_TEST

START_TEST(test_parse_null)
{
    struct ipaddr ip;

    ck_assert_int_eq(ipaddr_parse(NULL, &ip), -1);
    ck_assert_int_eq(ipaddr_parse("192.0.2.1", NULL), -1);
}
END_TEST

/*
 * Overlong input: a 1000-byte string of junk, a 1000-byte string that
 * starts like an address, and a buffer with no terminator at all (ASan
 * reports any read past its end).
 */
START_TEST(test_parse_long)
{
    char    junk[1001];
    char   *raw;
    struct ipaddr ip;

    memset(junk, 'x', 1000);
    junk[1000] = '\0';
    ck_assert_msg(ipaddr_parse(junk, &ip) == -1, "1000 x: got 0, want -1");

    memcpy(junk, "192.0.2.1", 9);
    memset(junk + 9, ' ', 991);
    ck_assert_msg(ipaddr_parse(junk, &ip) == -1, "address + 991 spaces: got 0, want -1");

    for (int i = 0; i < 1000; i++)
        junk[i] = "0123456789:."[i % 12];
    ck_assert_msg(ipaddr_parse(junk, &ip) == -1, "1000 digits: got 0, want -1");

    raw = malloc(80);
    ck_assert_ptr_nonnull(raw);
    memset(raw, '1', 80);
    ck_assert_msg(ipaddr_parse(raw, &ip) == -1, "unterminated: got 0, want -1");
    free(raw);

    /* Exactly at the bound (64 bytes): read whole, still refused as junk. */
    memset(junk, '1', 64);
    junk[64] = '\0';
    ck_assert_msg(ipaddr_parse(junk, &ip) == -1, "64 digits: got 0, want -1");
}
END_TEST

static const struct sockaddr_case {
    const char *label;
    int     family;                      /* AF_INET, AF_INET6, AF_UNIX, AF_UNSPEC */
    const char *addr;                    /* inet_pton text for INET/INET6 */
    int     want_rc;
    int     want_family;
    const char *want_text;
} sockaddr_cases[] = {
    {"v4", AF_INET, "192.0.2.1", 0, AF_INET, "192.0.2.1"},
    {"v4 loopback", AF_INET, "127.0.0.1", 0, AF_INET, "127.0.0.1"},
    {"v6", AF_INET6, "2001:db8::1", 0, AF_INET6, "2001:db8::1"},
    {"v6 loopback", AF_INET6, "::1", 0, AF_INET6, "::1"},
    {"mapped v6", AF_INET6, "::ffff:192.0.2.1", 0, AF_INET, "192.0.2.1"},
    {"unix socket", AF_UNIX, NULL, -1, 0, NULL},
    {"unspec", AF_UNSPEC, NULL, -1, 0, NULL},
};

START_TEST(test_sockaddr)
{
    const struct sockaddr_case *c = &sockaddr_cases[_i];
    struct sockaddr_storage ss;
    struct sockaddr_in *sin = (struct sockaddr_in *) &ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *) &ss;
    struct sockaddr_un *su = (struct sockaddr_un *) &ss;
    struct ipaddr ip;
    char    buf[IPADDR_STRLEN];
    int     rc;

    memset(&ss, 0, sizeof(ss));
    switch (c->family) {
    case AF_INET:
        sin->sin_family = AF_INET;
        sin->sin_port = htons(25);
        ck_assert_int_eq(inet_pton(AF_INET, c->addr, &sin->sin_addr), 1);
        break;
    case AF_INET6:
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(25);
        ck_assert_int_eq(inet_pton(AF_INET6, c->addr, &sin6->sin6_addr), 1);
        break;
    case AF_UNIX:
        su->sun_family = AF_UNIX;
        strcpy(su->sun_path, "/run/redgrey/redgrey.sock");
        break;
    default:
        ss.ss_family = (sa_family_t) c->family;
        break;
    }

    rc = ipaddr_from_sockaddr((struct sockaddr *) &ss, &ip);
    ck_assert_msg(rc == c->want_rc, "%s: got rc %d, want %d", c->label, rc, c->want_rc);
    if (rc != 0)
        return;
    ck_assert_msg(ip.family == c->want_family, "%s: got family %d, want %d",
                  c->label, ip.family, c->want_family);
    ipaddr_format(&ip, buf, sizeof(buf));
    ck_assert_msg(strcmp(buf, c->want_text) == 0, "%s: got %s, want %s",
                  c->label, buf, c->want_text);
}
END_TEST

START_TEST(test_sockaddr_null)
{
    struct ipaddr ip;
    struct sockaddr_in sin;

    ck_assert_int_eq(ipaddr_from_sockaddr(NULL, &ip), -1);
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    ck_assert_int_eq(ipaddr_from_sockaddr((struct sockaddr *) &sin, NULL), -1);
}
END_TEST

START_TEST(test_format_edges)
{
    struct ipaddr ip;
    char    buf[IPADDR_STRLEN];
    char    small[8];

    /* The longest IPv6 text fits IPADDR_STRLEN. */
    ck_assert_int_eq(ipaddr_parse("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", &ip), 0);
    ck_assert_str_eq(ipaddr_format(&ip, buf, sizeof(buf)),
                     "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe");

    /* A buffer too small gives "", never a truncated address. */
    memset(small, 'z', sizeof(small));
    ck_assert_str_eq(ipaddr_format(&ip, small, sizeof(small)), "");
    ck_assert_int_eq(ipaddr_parse("192.0.2.1", &ip), 0);
    ck_assert_str_eq(ipaddr_format(&ip, small, sizeof(small)), "");
    ck_assert_str_eq(ipaddr_format(&ip, buf, 10), "192.0.2.1");

    /* An unknown family formats as "". */
    ip.family = AF_UNIX;
    ck_assert_str_eq(ipaddr_format(&ip, buf, sizeof(buf)), "");
    ck_assert_ptr_null(ipaddr_format(&ip, NULL, 0));
}
END_TEST

START_TEST(test_bits_equal)
{
    struct ipaddr a;
    struct ipaddr b;

    ck_assert_int_eq(ipaddr_parse("192.0.2.1", &a), 0);
    ck_assert_uint_eq(ipaddr_bits(&a), 32);
    ck_assert_int_eq(ipaddr_parse("::ffff:192.0.2.1", &b), 0);
    ck_assert_msg(ipaddr_equal(&a, &b), "v4 vs mapped: got unequal, want equal");
    ck_assert_int_eq(ipaddr_parse("192.0.2.2", &b), 0);
    ck_assert_msg(!ipaddr_equal(&a, &b), "192.0.2.1 vs .2: got equal, want unequal");

    ck_assert_int_eq(ipaddr_parse("::c000:201", &b), 0);
    ck_assert_uint_eq(ipaddr_bits(&b), 128);
    ck_assert_msg(!ipaddr_equal(&a, &b), "v4 vs v4-compatible: got equal, want unequal");
    ck_assert_int_eq(ipaddr_parse("[IPv6:0::c000:201]", &a), 0);
    ck_assert_msg(ipaddr_equal(&a, &b), "same v6 two spellings: got unequal, want equal");
    ck_assert_int_eq(ipaddr_parse("::c000:202", &b), 0);
    ck_assert_msg(!ipaddr_equal(&a, &b), "v6 last byte: got equal, want unequal");

    a.family = AF_UNIX;
    ck_assert_uint_eq(ipaddr_bits(&a), 0);
    ck_assert_uint_eq(ipaddr_bits(NULL), 0);
}
END_TEST

static Suite *
ipaddr_suite(void)
{
    Suite  *s = suite_create("ipaddr");
    TCase  *tc = tcase_create("parse");

    tcase_add_loop_test(tc, test_parse, 0, sizeof(parse_cases) / sizeof(parse_cases[0]));
    tcase_add_test(tc, test_parse_null);
    tcase_add_test(tc, test_parse_long);
    suite_add_tcase(s, tc);
    tc = tcase_create("sockaddr");
    tcase_add_loop_test(tc, test_sockaddr, 0, sizeof(sockaddr_cases) / sizeof(sockaddr_cases[0]));
    tcase_add_test(tc, test_sockaddr_null);
    suite_add_tcase(s, tc);
    tc = tcase_create("format");
    tcase_add_test(tc, test_format_edges);
    tcase_add_test(tc, test_bits_equal);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return daemon_run_suites(ipaddr_suite(), NULL) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

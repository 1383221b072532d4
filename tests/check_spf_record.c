/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_spf_record.c - the strict SPF record check: real-world records
 * and RFC 7208's macro examples pass (and libspf2 compiles them), and
 * every kind of bad record fails with its reason: the shapes behind
 * CVE-2023-42118 (too many macros in a term, a term too long), unknown
 * macro letters, digit overflows, unterminated %{, bad delimiters and
 * escapes, bad networks and CIDR lengths, oversize records, too many
 * terms.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>
#include <spf2/spf.h>

#include "spf_record.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const struct good_case {
    const char *label;
    const char *record;
    int     compiles;                    /* 1: libspf2 compiles it too */
} good_cases[] = {
    {"google", "v=spf1 include:_netblocks.google.com include:_netblocks2.google.com "
     "include:_netblocks3.google.com ~all", 1},
    {"google netblocks", "v=spf1 ip4:35.190.247.0/24 ip4:64.233.160.0/19 ip4:66.102.0.0/20 "
     "ip4:66.249.80.0/20 ip4:72.14.192.0/18 ip4:74.125.0.0/16 ip4:108.177.8.0/21 "
     "ip4:173.194.0.0/16 ip4:209.85.128.0/17 ip4:216.58.192.0/19 ip4:216.239.32.0/19 ~all", 1},
    {"google netblocks2", "v=spf1 ip6:2001:4860:4000::/36 ip6:2404:6800:4000::/36 "
     "ip6:2607:f8b0:4000::/36 ip6:2800:3f0:4000::/36 ip6:2a00:1450:4000::/36 "
     "ip6:2c0f:fb50:4000::/36 ~all", 1},
    {"microsoft", "v=spf1 include:spf.protection.outlook.com -all", 1},
    {"outlook", "v=spf1 ip4:40.92.0.0/15 ip4:40.107.0.0/16 ip4:52.100.0.0/15 "
     "ip4:52.102.0.0/16 ip4:52.103.0.0/17 ip4:104.47.0.0/17 ip6:2a01:111:f400::/48 "
     "ip6:2a01:111:f403::/49 ip6:2a01:111:f403:8000::/51 ip6:2a01:111:f403:c000::/51 "
     "ip6:2a01:111:f403:f000::/52 -all", 1},
    {"ses customer", "v=spf1 include:amazonses.com ~all", 1},
    {"amazonses", "v=spf1 ip4:199.255.192.0/22 ip4:199.127.232.0/22 ip4:54.240.0.0/18 "
     "ip4:69.169.224.0/20 ip4:23.249.208.0/20 ip4:23.251.224.0/19 ip4:76.223.176.0/20 "
     "ip4:54.240.64.0/19 ip4:54.240.96.0/19 ip4:76.223.128.0/19 ip4:216.221.160.0/19 "
     "ip4:206.55.144.0/20 -all", 1},
    {"salesforce exists", "v=spf1 exists:%{i}._spf.mta.salesforce.com -all", 1},
    {"proofpoint include", "v=spf1 include:%{ir}.%{v}.%{d}.spf.has.pphosted.com ~all", 1},
    {"valimail", "v=spf1 include:%{i}._ip.%{h}._ehlo.%{d}._spf.vali.email ~all", 1},
    {"rfc exp", "v=spf1 mx -all exp=explain._spf.%{d}", 1},
    {"rfc macros", "v=spf1 exists:%{ir}.%{l1r+-}._spf.%{d} "
     "include:%{d2}.trusted-domains.example.net -all", 1},
    {"rfc lp", "v=spf1 exists:%{lr-}.lp.%{ir}.%{v}._spf.%{d2} ?all", 1},
    {"url-escaped letters", "v=spf1 exists:%{I}.%{S}.%{L}.%{O}.x.example -all", 1},
    {"c r t in exp=", "v=spf1 -all exp=%{c}.%{r}.%{t}.exp.example.com", 1},
    {"escapes", "v=spf1 exists:a%%b%_c%-d.example.com foo=bar%%baz%_x%-y -all", 1},
    {"domain ends in a macro", "v=spf1 a:%{d} mx:%{d}%% -all", 1},
    {"128 parts", "v=spf1 exists:%{d128r}.example.com -all", 1},
    {"cidrs", "v=spf1 a/24 mx/24//64 a:mail.example.com/28//64 mx//48 -all", 1},
    {"trailing dot", "v=spf1 a:example.com. include:_spf.example.com. -all", 1},
    {"hyphen top label", "v=spf1 a:mail.1-2 -all", 1},
    {"ptr and redirect", "v=spf1 ptr ptr:example.com redirect=_spf.example.com", 1},
    {"ip6 forms", "v=spf1 ip6:::1 ip6:::ffff:192.0.2.1/128 ip6:2001:db8::/32 -all", 1},
    {"version only", "v=spf1", 1},
    {"upper case", "V=SPF1 -ALL", 1},
    {"spaces", "v=spf1   mx   -all   ", 1},
    {"unknown modifier", "v=spf1 -all moo-cow_far=%{l}.%{d}", 1},
    {"empty unknown modifier", "v=spf1 -all foo=", 1},
    {"16 macros", "v=spf1 exists:%{i}%{i}%{i}%{i}%{i}%{i}%{i}%{i}%{i}%{i}%{i}%{i}%{i}%{i}%{i}%{d}"
     " -all", 1},
    /* RFC-valid, which libspf2 itself refuses: permerror either way. */
    {"cidr /0", "v=spf1 ip4:0.0.0.0/0 -all", 0},
    {"rfc delimiters , and /", "v=spf1 exists:%{l,/}.example.com -all", 0},
    {"transformer R", "v=spf1 exists:%{dR}.example.com -all", 0},
    {"modifier name with a dot", "v=spf1 -all moo.cow=x", 0},
};

static const struct bad_case {
    const char *label;
    const char *record;
    size_t  len;                         /* 0: strlen(record) */
    const char *reason;                  /* a part of the reason */
    size_t  offset;                      /* SIZE_MAX: not checked */
} bad_cases[] = {
    {"empty", "", 0, "not an SPF record", 0},
    {"spf10", "v=spf10 -all", 0, "not an SPF record", 0},
    {"no version", "spf1 -all", 0, "not an SPF record", 0},
    {"tab after version", "v=spf1\t-all", 0, "not an SPF record", 0},
    {"tab between terms", "v=spf1 mx\t-all", 0, "character not allowed", 9},
    {"nul inside", "v=spf1 mx\0-all", 14, "character not allowed", 9},
    {"8-bit byte", "v=spf1 a:ex\xe4mple.com", 0, "character not allowed", 11},
    {"unknown macro letter x", "v=spf1 exists:%{x}.example.com", 0, "unknown macro letter", 16},
    {"unknown macro letter q", "v=spf1 exists:%{q1r}.example.com", 0, "unknown macro letter", 16},
    {"c in a mechanism", "v=spf1 exists:%{c}.example.com", 0, "c, r or t", 16},
    {"t in a mechanism", "v=spf1 a:%{t}.example.com", 0, "c, r or t", 11},
    {"r in redirect=", "v=spf1 redirect=%{r}.example.com", 0, "c, r or t", 18},
    {"c in unknown modifier", "v=spf1 foo=%{c}", 0, "c, r or t", 13},
    {"four digits", "v=spf1 exists:%{d1234}.example.com", 0, "more than 3 digits", 20},
    {"digit overflow", "v=spf1 exists:%{d99999999999999999999}.example.com", 0,
     "more than 3 digits", 20},
    {"129 parts", "v=spf1 exists:%{d129}.example.com", 0, "1..128", 17},
    {"zero parts", "v=spf1 exists:%{d0}.example.com", 0, "1..128", 17},
    {"zero parts 000", "v=spf1 exists:%{d000}.example.com", 0, "1..128", 17},
    {"unterminated %{d", "v=spf1 exists:%{d", 0, "unterminated macro", 14},
    {"unterminated %{", "v=spf1 exists:%{", 0, "unterminated macro", 14},
    {"unterminated delimiters", "v=spf1 exists:%{d.-", 0, "unterminated macro", 14},
    {"unterminated before a space", "v=spf1 exists:%{d}.%{i -all", 0, "unterminated macro", 19},
    {"delimiter |", "v=spf1 exists:%{d|}.example.com", 0, "bad macro delimiter", 17},
    {"delimiter ;", "v=spf1 exists:%{d;}.example.com", 0, "bad macro delimiter", 17},
    {"digits after r", "v=spf1 exists:%{dr1}.example.com", 0, "bad macro delimiter", 18},
    {"bad escape", "v=spf1 exists:%x.example.com", 0, "'%' not followed", 14},
    {"percent at the end", "v=spf1 a:example.com%", 0, "'%' at the end", 20},
    {"qualified modifier", "v=spf1 -redirect=_spf.example.com", 0, "modifier with a qualifier", 7},
    {"two redirects", "v=spf1 redirect=a.example.com redirect=b.example.com", 0,
     "second redirect=", 30},
    {"two exps", "v=spf1 exp=a.example.com -all exp=b.example.com", 0, "second exp=", 30},
    {"empty exp", "v=spf1 -all exp=", 0, "empty domain-spec", 16},
    {"modifier name digit", "v=spf1 1foo=bar", 0, "must start with a letter", 7},
    {"no name", "v=spf1 +", 0, "does not start with a name", 8},
    {"equals first", "v=spf1 =foo", 0, "does not start with a name", 7},
    {"unknown mechanism", "v=spf1 foo:bar.example.com", 0, "unknown mechanism", 7},
    {"ip5", "v=spf1 ip5:192.0.2.1", 0, "unknown mechanism", 7},
    {"the stand-in", "v=spf1 redgrey-invalid-record", 0, "unknown mechanism", 7},
    {"all with argument", "v=spf1 all:example.com", 0, "takes no argument", 10},
    {"include alone", "v=spf1 include", 0, "needs \":\"", 14},
    {"include empty", "v=spf1 include:", 0, "empty domain-spec", 15},
    {"exists cidr", "v=spf1 exists:example.com/24", 0, "top-level label", 14},
    {"mx colon only", "v=spf1 mx:", 0, "empty domain-spec", 10},
    {"ptr junk", "v=spf1 ptr/24", 0, "unexpected text", 10},
    {"no dot", "v=spf1 include:example", 0, "top-level label", 15},
    {"numeric top label", "v=spf1 a:192.0.2.1", 0, "top-level label", 9},
    {"top label starts with -", "v=spf1 a:example.-com", 0, "top-level label", 9},
    {"macro then dot", "v=spf1 a:%{d}.", 0, "top-level label", 9},
    {"ip4 cidr 33", "v=spf1 a/33", 0, "bad IPv4 CIDR length", 8},
    {"ip6 cidr 129", "v=spf1 a//129", 0, "bad IPv6 CIDR length", 8},
    {"cidr leading zero", "v=spf1 a/024", 0, "bad IPv4 CIDR length", 8},
    {"a empty domain", "v=spf1 a:/24", 0, "empty domain-spec", 9},
    {"ip4 /33", "v=spf1 ip4:192.0.2.0/33", 0, "bad IPv4 CIDR length", 20},
    {"ip6 /129", "v=spf1 ip6:2001:db8::/129", 0, "bad IPv6 CIDR length", 21},
    {"ip4 dual cidr", "v=spf1 ip4:192.0.2.0//24", 0, "bad IPv4 network", 11},
    {"ip4 256", "v=spf1 ip4:256.0.0.1", 0, "bad IPv4 network", 11},
    {"ip4 leading zero", "v=spf1 ip4:01.2.3.4", 0, "bad IPv4 network", 11},
    {"ip4 three parts", "v=spf1 ip4:1.2.3", 0, "bad IPv4 network", 11},
    {"ip4 five parts", "v=spf1 ip4:1.2.3.4.5", 0, "bad IPv4 network", 11},
    {"ip4 alone", "v=spf1 ip4", 0, "needs \":\" and a network", 10},
    {"ip6 bad hex", "v=spf1 ip6:2001:db8::g", 0, "bad IPv6 network", 11},
    {"ip6 v4 text", "v=spf1 ip6:192.0.2.1", 0, "bad IPv6 network", 11},
};

/* test_good - every good record passes, and compiles in libspf2 if marked */
START_TEST(test_good)
{
    const struct good_case *c = &good_cases[_i];
    struct spf_record_error e = {0, NULL};
    int     r = spf_record_check(c->record, strlen(c->record), &e);

    ck_assert_msg(r == 0, "%s: got -1 (%s at %zu), want 0", c->label,
                  e.reason ? e.reason : "?", e.offset);
    ck_assert_msg(spf_record_is_spf(c->record, strlen(c->record)), "%s: got not SPF, want SPF",
                  c->label);
    if (c->compiles) {
        SPF_server_t *srv = SPF_server_new(SPF_DNS_ZONE, 0);
        SPF_response_t *resp = SPF_response_new(NULL);
        SPF_record_t *rec = NULL;
        SPF_errcode_t err;

        ck_assert_ptr_nonnull(srv);
        err = SPF_record_compile(srv, resp, &rec, c->record);
        ck_assert_msg(err == SPF_E_SUCCESS, "%s: libspf2 got %d (%s), want success", c->label,
                      (int) err, SPF_strerror(err));
        SPF_record_free(rec);
        SPF_response_free(resp);
        SPF_server_free(srv);
    }
}
END_TEST

/* test_bad - every bad record fails, with its reason and offset */
START_TEST(test_bad)
{
    const struct bad_case *c = &bad_cases[_i];
    size_t  len = c->len ? c->len : strlen(c->record);
    struct spf_record_error e = {12345, NULL};
    int     r = spf_record_check(c->record, len, &e);

    ck_assert_msg(r == -1, "%s: got %d, want -1", c->label, r);
    ck_assert_msg(e.reason != NULL && strstr(e.reason, c->reason) != NULL,
                  "%s: got reason \"%s\", want \"%s\"", c->label, e.reason ? e.reason : "(none)",
                  c->reason);
    ck_assert_msg(e.offset == c->offset, "%s: got offset %zu, want %zu", c->label, e.offset,
                  c->offset);
    ck_assert_msg(spf_record_check(c->record, len, NULL) == -1, "%s: got pass without err",
                  c->label);
}
END_TEST

/* repeat - n copies of s appended at out (which has room); returns the new end */
static char *
repeat(char *out, const char *s, int n)
{
    size_t  len = strlen(s);

    for (int i = 0; i < n; i++, out += len)
        memcpy(out, s, len);
    *out = '\0';
    return out;
}

/* A record built by the test: the shapes that are too long to write out. */
struct built {
    const char *label;
    const char *reason;                  /* NULL: must pass */
};

/* build - the record of built case i into buf (8 KB) */
static void
build(int i, char *buf)
{
    char   *p = buf + sprintf(buf, "v=spf1 ");

    switch (i) {
    case 0:                              /* CVE-2023-42118: 127 macros fill 508 bytes, then a literal */
        p = repeat(p + sprintf(p, "exists:"), "%{d}", 127);
        repeat(p, "A", 1500);
        break;
    case 11:                             /* the same with the 4000-byte literal that smashes the stack */
        p = repeat(p + sprintf(p, "exists:"), "%{d}", 127);
        repeat(p, "A", 4000);
        break;
    case 1:                              /* the same in exp= */
        p = repeat(p + sprintf(p, "-all exp="), "%{d}", 127);
        repeat(p, "A", 10);
        break;
    case 2:                              /* two macros and long literals reach 508 too */
        p = repeat(p + sprintf(p, "exists:"), "a", 252);
        p = repeat(p + sprintf(p, "%%{d}"), "b", 240);
        p = repeat(p + sprintf(p, "%%{d}"), "c", 10);
        sprintf(p, ".example.com");
        break;
    case 3:                              /* 17 macros in a short term */
        p = repeat(p + sprintf(p, "exists:"), "%{d}", 17);
        sprintf(p, ".example.com");
        break;
    case 4:                              /* 16 macros: fine */
        p = repeat(p + sprintf(p, "exists:"), "%{d}", 16);
        sprintf(p, ".example.com");
        break;
    case 5:                              /* a 253-byte domain-spec: fine */
        p = repeat(p + sprintf(p, "include:"), "a", 253 - 4);
        sprintf(p, ".com");
        break;
    case 6:                              /* 254 bytes */
        p = repeat(p + sprintf(p, "include:"), "a", 254 - 4);
        sprintf(p, ".com");
        break;
    case 7:                              /* a 254-byte modifier value */
        p = repeat(p + sprintf(p, "foo="), "a", 254);
        break;
    case 8:                              /* longer than 2048 bytes */
        repeat(p, " ip4:192.0.2.1", 150);
        break;
    case 9:                              /* 64 terms: fine */
        repeat(p, " a", 64);
        break;
    case 10:                             /* 65 terms */
        repeat(p, " a", 65);
        break;
    }
}

static const struct built built_cases[] = {
    {"cve shape: 127 macros", "longer than 253"},
    {"cve shape in exp=", "longer than 253"},
    {"cve shape: 2 macros, long literals", "longer than 253"},
    {"17 macros", "more than 16 macros"},
    {"16 macros", NULL},
    {"253-byte domain", NULL},
    {"254-byte domain", "longer than 253"},
    {"254-byte modifier", "longer than 253"},
    {"2100-byte record", "longer than 2048"},
    {"64 terms", NULL},
    {"65 terms", "more than 64 terms"},
    {"cve shape: 127 macros, 4000-byte literal", "longer than 2048"},
};

/* test_built - the long shapes */
START_TEST(test_built)
{
    const struct built *c = &built_cases[_i];
    char   *buf = malloc(8192);
    struct spf_record_error e = {0, NULL};
    int     r;

    ck_assert_ptr_nonnull(buf);
    build(_i, buf);
    r = spf_record_check(buf, strlen(buf), &e);
    if (c->reason == NULL)
        ck_assert_msg(r == 0, "%s: got -1 (%s at %zu), want 0", c->label, e.reason, e.offset);
    else
        ck_assert_msg(r == -1 && strstr(e.reason, c->reason) != NULL,
                      "%s: got %d (%s), want -1 (%s)", c->label, r, r ? e.reason : "pass",
                      c->reason);
    free(buf);
}
END_TEST

/* test_null - NULL text is not a record */
START_TEST(test_null)
{
    ck_assert_int_eq(spf_record_is_spf(NULL, 0), 0);
    ck_assert_int_eq(spf_record_check(NULL, 0, NULL), -1);
}
END_TEST

static Suite *
spf_record_suite(void)
{
    Suite  *s = suite_create("spf_record");
    TCase  *tc = tcase_create("check");

    tcase_add_loop_test(tc, test_good, 0, NELEM(good_cases));
    tcase_add_loop_test(tc, test_bad, 0, NELEM(bad_cases));
    tcase_add_loop_test(tc, test_built, 0, NELEM(built_cases));
    tcase_add_test(tc, test_null);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(spf_record_suite());
    int     failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

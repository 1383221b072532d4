/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_mailaddr.c - envelope address normalisation, every bad-input row.
 *
 * One table of raw arguments with the kind and text each must give, as
 * sender or recipient; lengths around MAILADDR_MAX built at run time; the
 * junk digest's stability; the domain helper. (The log escaper is
 * logesc_str: check_logesc.c.)
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "mailaddr.h"

#define S MAILADDR_SENDER
#define R MAILADDR_RCPT
#define OK MAILADDR_OK
#define NUL_ MAILADDR_NULL
#define JUNK MAILADDR_JUNK
#define JUNK_GOLDEN "junk:116243e85763a95c"    /* hash of "<postmaster>" */

/* kind_name - the kind as text for failure messages */
static const char *
kind_name(enum mailaddr_kind k)
{
    return k == MAILADDR_OK ? "ok" : k == MAILADDR_NULL ? "null" : k == MAILADDR_JUNK ? "junk" : "?";
}

/* is_junk_text - "junk:" and exactly 16 lower-case hex digits */
static int
is_junk_text(const char *s)
{
    if (strncmp(s, "junk:", 5) != 0 || strlen(s) != 21)
        return 0;
    return strspn(s + 5, "0123456789abcdef") == 16;
}

static const struct norm_case {
    const char *label;
    const char *raw;
    size_t  rawlen;                      /* 0: strlen(raw) */
    int     flags;
    enum mailaddr_kind want;
    const char *want_out;                /* NULL for junk: checked by shape */
} norm_cases[] = {
    /* Plain addresses. */
    {"plain", "<a@example.org>", 0, S, OK, "a@example.org"},
    {"plain rcpt", "<a@example.org>", 0, R, OK, "a@example.org"},
    {"no brackets", "a@example.org", 0, S, OK, "a@example.org"},
    {"mixed-case domain", "<John.Doe@Example.ORG>", 0, S, OK, "John.Doe@example.org"},
    {"mixed-case domain rcpt", "<Info@MAIL.Example.Org>", 0, R, OK, "Info@mail.example.org"},
    {"domain literal", "<a@[IPv6:2001:DB8::1]>", 0, S, OK, "a@[ipv6:2001:db8::1]"},
    {"8-bit kept, ASCII lowered", "<j\xc3\xb6rg@\xc3\x96RG.example>", 0, S, OK,
     "j\xc3\xb6rg@\xc3\x96rg.example"},
    {"unquoted @ in local part", "<a@b@X.org>", 0, S, OK, "a@b@x.org"},
    {"space in local part kept", "<a b@x.org>", 0, S, OK, "a b@x.org"},

    /* The null sender and empty arguments. */
    {"null sender", "<>", 0, S, NUL_, ""},
    {"empty sender", "", 0, S, NUL_, ""},
    {"blank sender", "   ", 0, S, NUL_, ""},
    {"spaces inside <>", "< >", 0, S, NUL_, ""},
    {"<> as rcpt", "<>", 0, R, JUNK, NULL},
    {"empty rcpt", "", 0, R, JUNK, NULL},
    {"blank rcpt", "  ", 0, R, JUNK, NULL},
    {"NULL raw sender", NULL, 0, S, NUL_, ""},

    /* Quoted local parts: kept as is, domain after the last '@' outside quotes. */
    {"quoted with space", "<\"a b\"@X.org>", 0, S, OK, "\"a b\"@x.org"},
    {"quoted with @", "<\"a@b\"@X.Org>", 0, S, OK, "\"a@b\"@x.org"},
    {"quoted with @ rcpt", "\"a@b\"@x.org", 0, R, OK, "\"a@b\"@x.org"},
    {"quoted escaped quote", "<\"a\\\"@\"@X.org>", 0, S, OK, "\"a\\\"@\"@x.org"},
    {"quoted empty local part", "<\"\"@x.org>", 0, S, OK, "\"\"@x.org"},
    {"quoted <> inside", "<\"<x>\"@x.org>", 0, S, OK, "\"<x>\"@x.org"},
    {"quoted, no domain, rcpt", "<\"a@B\">", 0, R, OK, "\"a@B\""},
    {"quoted, no domain, sender", "<\"a@B\">", 0, S, JUNK, NULL},
    {"unclosed quote", "<\"abc@x.org>", 0, S, JUNK, NULL},
    {"quote closed by escape only", "<\"a\\\"@x.org>", 0, R, JUNK, NULL},

    /* Source routes are dropped. */
    {"source route", "<@a.example,@b.example:u@D.example>", 0, S, OK, "u@d.example"},
    {"source route rcpt", "<@relay.example:Postmaster@X.example>", 0, R, OK,
     "Postmaster@x.example"},
    {"source route, no colon", "<@a.example>", 0, S, JUNK, NULL},
    {"source route, no mailbox", "<@a,@b:>", 0, S, JUNK, NULL},
    {"source route, spaces only after it", "<@a: >", 0, S, JUNK, NULL},
    {"source route, space after it", "<@a: u@X.org>", 0, S, OK, "u@x.org"},
    {"two source routes", "<@a:@b:u@x.org>", 0, S, JUNK, NULL},
    {"source route, then an empty local part", "<@a,:@x.org>", 0, R, JUNK, NULL},
    {"empty local part", "@x.org", 0, R, JUNK, NULL},

    /* Control characters and NUL bytes anywhere. */
    {"tab inside", "<a\tb@x.org>", 0, S, JUNK, NULL},
    {"CRLF at end", "<a@x.org>\r\n", 0, S, JUNK, NULL},
    {"DEL", "<a\x7f@x.org>", 0, R, JUNK, NULL},
    {"escape sequence", "<\x1b[31m@x.org>", 0, S, JUNK, NULL},
    {"NUL in the middle", "<a@x\0.org>", 10, S, JUNK, NULL},
    {"NUL at the end", "<a@x.org>\0", 10, R, JUNK, NULL},
    {"only NUL", "\0", 1, S, JUNK, NULL},

    /* '@' required for a sender, optional for a recipient. */
    {"sender without @", "<postmaster>", 0, S, JUNK, NULL},
    {"rcpt postmaster", "<postmaster>", 0, R, OK, "postmaster"},
    {"rcpt Postmaster case kept", "<Postmaster>", 0, R, OK, "Postmaster"},
    {"rcpt bare word", "abuse", 0, R, OK, "abuse"},
    {"empty domain", "<user@>", 0, S, JUNK, NULL},
    {"empty domain rcpt", "user@", 0, R, JUNK, NULL},
    {"only @", "<@>", 0, R, JUNK, NULL},

    /* Unbalanced brackets: the lone bracket goes, the rest is the address. */
    {"open only", "<a@X.org", 0, S, OK, "a@x.org"},
    {"close only", "a@X.org>", 0, S, OK, "a@x.org"},
    {"open only rcpt", "<postmaster", 0, R, OK, "postmaster"},
    {"lone <", "<", 0, S, JUNK, NULL},
    {"lone >", ">", 0, S, JUNK, NULL},
    {"doubled brackets", "<<a@x.org>>", 0, S, JUNK, NULL},
    {"<<>", "<<>", 0, S, JUNK, NULL},
    {"bracket in local part", "<a<b@x.org>", 0, R, JUNK, NULL},

    /* Blanks around and inside the brackets. */
    {"blanks around", "  <a@X.org>  ", 0, S, OK, "a@x.org"},
    {"blanks inside", "< a@X.org >", 0, R, OK, "a@x.org"},
    {"blanks, no brackets", " a@x.org ", 0, S, OK, "a@x.org"},
};

START_TEST(test_normalize)
{
    const struct norm_case *c = &norm_cases[_i];
    size_t  len = c->rawlen ? c->rawlen : (c->raw ? strlen(c->raw) : 0);
    char    out[MAILADDR_MAX + 1];
    enum mailaddr_kind got;

    memset(out, 'X', sizeof(out));
    got = mailaddr_normalize(c->raw, len, c->flags, out, sizeof(out));
    ck_assert_msg(got == c->want, "%s: got %s, want %s", c->label, kind_name(got),
                  kind_name(c->want));
    if (c->want_out != NULL)
        ck_assert_msg(strcmp(out, c->want_out) == 0, "%s: got \"%s\", want \"%s\"",
                      c->label, out, c->want_out);
    else
        ck_assert_msg(is_junk_text(out), "%s: got \"%s\", want junk:HASH", c->label, out);
}
END_TEST

/* Lengths: the normalised address (brackets excluded) may be MAILADDR_MAX bytes. */
static const struct len_case {
    const char *label;
    size_t  addrlen;                     /* length of local@example.org */
    int     brackets;
    int     flags;
    enum mailaddr_kind want;
} len_cases[] = {
    {"319 bytes", 319, 1, S, OK},
    {"exactly 320", 320, 1, S, OK},
    {"exactly 320, no brackets", 320, 0, S, OK},
    {"exactly 320 rcpt", 320, 1, R, OK},
    {"321 bytes", 321, 1, S, JUNK},
    {"321 bytes, no brackets", 321, 0, R, JUNK},
    {"1000 bytes", 1000, 1, S, JUNK},
    {"100000 bytes", 100000, 0, R, JUNK},
};

START_TEST(test_length)
{
    const struct len_case *c = &len_cases[_i];
    static const char domain[] = "@example.org";
    size_t  rawlen = c->addrlen + (c->brackets ? 2 : 0);
    char   *raw = malloc(rawlen);
    char   *p = raw;
    char    out[MAILADDR_MAX + 64];      /* room to spare: the limit is MAILADDR_MAX */
    enum mailaddr_kind got;

    ck_assert_ptr_nonnull(raw);
    if (c->brackets)
        *p++ = '<';
    memset(p, 'a', c->addrlen - strlen(domain));
    memcpy(p + c->addrlen - strlen(domain), domain, strlen(domain));
    if (c->brackets)
        raw[rawlen - 1] = '>';

    got = mailaddr_normalize(raw, rawlen, c->flags, out, sizeof(out));
    ck_assert_msg(got == c->want, "%s: got %s, want %s", c->label, kind_name(got),
                  kind_name(c->want));
    if (c->want == OK)
        ck_assert_msg(strlen(out) == c->addrlen && memcmp(out, p, c->addrlen) == 0,
                      "%s: got %zu bytes, want the %zu-byte address", c->label,
                      strlen(out), c->addrlen);
    else
        ck_assert_msg(is_junk_text(out), "%s: got \"%.40s\", want junk:HASH", c->label, out);
    free(raw);
}
END_TEST

/* 1000 bytes of binary junk (every byte value) stay bounded and printable. */
START_TEST(test_binary_junk)
{
    char    raw[1000];
    char    out[MAILADDR_MAX + 1];

    for (size_t i = 0; i < sizeof(raw); i++)
        raw[i] = (char) (i * 7 + 3);
    ck_assert_int_eq(mailaddr_normalize(raw, sizeof(raw), S, out, sizeof(out)), JUNK);
    ck_assert_msg(is_junk_text(out), "binary junk: got \"%.40s\", want junk:HASH", out);
    ck_assert_int_eq(mailaddr_normalize(raw, sizeof(raw), R, out, sizeof(out)), JUNK);
    ck_assert_msg(is_junk_text(out), "binary junk rcpt: got \"%.40s\", want junk:HASH", out);
}
END_TEST

/* Junk digests: same bytes same text, as sender or rcpt; different bytes differ. */
START_TEST(test_junk_stable)
{
    static const char a[] = "<a\tb@x.org>", b[] = "<a\tc@x.org>";
    char    o1[MAILADDR_MAX + 1], o2[MAILADDR_MAX + 1], o3[MAILADDR_MAX + 1];
    char    o4[MAILADDR_MAX + 1], o5[MAILADDR_MAX + 1];

    mailaddr_normalize(a, strlen(a), S, o1, sizeof(o1));
    mailaddr_normalize(a, strlen(a), S, o2, sizeof(o2));
    mailaddr_normalize(a, strlen(a), R, o3, sizeof(o3));
    mailaddr_normalize(b, strlen(b), S, o4, sizeof(o4));
    ck_assert_str_eq(o1, o2);
    ck_assert_str_eq(o1, o3);
    ck_assert_msg(strcmp(o1, o4) != 0, "different junk: got %s twice", o1);

    /* The raw bytes are hashed: NUL-split inputs of one prefix differ. */
    mailaddr_normalize("a@x\0y", 5, S, o4, sizeof(o4));
    mailaddr_normalize("a@x\0z", 5, S, o5, sizeof(o5));
    ck_assert_msg(strcmp(o4, o5) != 0, "NUL junk: got %s twice", o4);

    /*
     * Keys persist in the store across upgrades: the digest of a fixed
     * input must never change (a change would greylist all junk anew).
     */
    mailaddr_normalize("<postmaster>", 12, S, o5, sizeof(o5));
    ck_assert_str_eq(o5, JUNK_GOLDEN);
}
END_TEST

/* Output buffers smaller than MAILADDR_MAX + 1: bounded, never overrun. */
START_TEST(test_small_out)
{
    char    buf[40];
    enum mailaddr_kind got;

    /* Exactly enough room. */
    memset(buf, 'X', sizeof(buf));
    got = mailaddr_normalize("<a@x.org>", 9, S, buf, 8);
    ck_assert_int_eq(got, OK);
    ck_assert_str_eq(buf, "a@x.org");

    /* One byte short: junk, and junk itself does not fit 7 bytes. */
    memset(buf, 'X', sizeof(buf));
    got = mailaddr_normalize("<a@x.org>", 9, S, buf, 7);
    ck_assert_int_eq(got, JUNK);
    ck_assert_str_eq(buf, "");
    ck_assert_int_eq(buf[7], 'X');

    /* Room for junk but not the address. */
    memset(buf, 'X', sizeof(buf));
    got = mailaddr_normalize("<abcdefghijklmnopqrstuvwxyz@x.org>", 34, R, buf, 22);
    ck_assert_int_eq(got, JUNK);
    ck_assert_msg(is_junk_text(buf), "small out: got \"%s\", want junk:HASH", buf);
    ck_assert_int_eq(buf[22], 'X');

    /* outlen 0: nothing written, the kind still returned. */
    memset(buf, 'X', sizeof(buf));
    ck_assert_int_eq(mailaddr_normalize("<>", 2, S, buf, 0), NUL_);
    ck_assert_int_eq(mailaddr_normalize("<a@x.org>", 9, S, buf, 0), JUNK);
    ck_assert_int_eq(buf[0], 'X');
}
END_TEST

static const struct domain_case {
    const char *label;
    const char *norm;
    const char *want;
} domain_cases[] = {
    {"plain", "a@example.org", "example.org"},
    {"quoted @", "\"a@b\"@x.org", "x.org"},
    {"unquoted @@", "a@b@x.org", "x.org"},
    {"no domain", "postmaster", ""},
    {"quoted, no domain", "\"a@b\"", ""},
    {"null sender", "", ""},
    {"junk", "junk:0123456789abcdef", ""},
    {"NULL", NULL, ""},
};

START_TEST(test_domain)
{
    const struct domain_case *c = &domain_cases[_i];
    const char *got = mailaddr_domain(c->norm);

    ck_assert_msg(strcmp(got, c->want) == 0, "%s: got \"%s\", want \"%s\"", c->label, got,
                  c->want);
}
END_TEST

#define N(a) (int) (sizeof(a) / sizeof((a)[0]))

static Suite *
mailaddr_suite(void)
{
    Suite  *s = suite_create("mailaddr");
    TCase  *tc;

    tc = tcase_create("normalize");
    tcase_add_loop_test(tc, test_normalize, 0, N(norm_cases));
    suite_add_tcase(s, tc);
    tc = tcase_create("bad input");
    tcase_add_loop_test(tc, test_length, 0, N(len_cases));
    tcase_add_test(tc, test_binary_junk);
    tcase_add_test(tc, test_junk_stable);
    tcase_add_test(tc, test_small_out);
    suite_add_tcase(s, tc);
    tc = tcase_create("domain");
    tcase_add_loop_test(tc, test_domain, 0, N(domain_cases));
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return daemon_run_suites(mailaddr_suite(), NULL) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_logesc.c - the escaper of untrusted log fields (logesc.h): a
 * table of hostile inputs with their exact output, every byte value,
 * 1000 bytes of junk, and truncation at every output size checked
 * against the rule (a prefix of whole units, then "...", never past
 * outlen, always NUL-terminated, never a byte that could end a field).
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logesc.h"
#include "mailaddr.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const struct esc_case {
    const char *label;
    const char *in;
    size_t  len;                         /* bytes of in (NULs included) */
    size_t  outlen;
    const char *want;
} esc_cases[] = {
#define S(s) s, sizeof(s) - 1
    {"plain", S("alice@example.org"), 64, "alice@example.org"},
    {"space", S("a b"), 64, "a\\x20b"},
    {"forged field", S("x action=accept to=<y>"), 64,
     "x\\x20action\\x3daccept\\x20to\\x3d\\x3cy\\x3e"},
    {"equals", S("k=v"), 64, "k\\x3dv"},
    {"angle brackets", S("<a@b>"), 64, "\\x3ca@b\\x3e"},
    {"double quote", S("\"q\""), 64, "\\x22q\\x22"},
    {"single quote", S("o'brien"), 64, "o\\x27brien"},
    {"backslash", S("a\\b"), 64, "a\\x5cb"},
    {"backslash x lookalike", S("\\x41"), 64, "\\x5cx41"},
    {"CRLF", S("a\r\nb"), 64, "a\\x0d\\x0ab"},
    {"new log line", S("a\nJan  1 00:00:00 host redgrey: x"), 80,
     "a\\x0aJan\\x20\\x201\\x2000:00:00\\x20host\\x20redgrey:\\x20x"},
    {"tab", S("a\tb"), 64, "a\\x09b"},
    {"NUL with length", S("a\0b"), 64, "a\\x00b"},
    {"only NUL", S("\0"), 64, "\\x00"},
    {"DEL", S("\x7f"), 64, "\\x7f"},
    {"8-bit UTF-8", S("\xc3\xa9"), 64, "\\xc3\\xa9"},
    {"0x80 and 0xff", S("\x80\xff"), 64, "\\x80\\xff"},
    {"ESC sequence", S("\x1b[31mred"), 64, "\\x1b[31mred"},
    {"kept punctuation", S("!#$%&()*+,-./:;?@[]^_`{|}~"), 64, "!#$%&()*+,-./:;?@[]^_`{|}~"},
    {"empty", S(""), 8, ""},
    {"exact fit", S("abcdefg"), 8, "abcdefg"},
    {"one over", S("abcdefgh"), 8, "abcd..."},
    {"escape fits exactly", S("ab\x01"), 7, "ab\\x01"},
    {"escape never split", S("ab\x01" "cdef"), 8, "ab..."},
    {"escape before dots", S("abc\x01" "defghij"), 11, "abc\\x01..."},
    {"outlen 1", S("abc"), 1, ""},
    {"outlen 2", S("abc"), 2, "."},
    {"outlen 3", S("abcdef"), 3, ".."},
    {"outlen 4", S("abcdef"), 4, "..."},
    {"outlen 4 fits", S("abc"), 4, "abc"},
#undef S
};

START_TEST(test_table)
{
    const struct esc_case *c = &esc_cases[_i];
    char    buf[160];
    char   *got;

    memset(buf, 'X', sizeof(buf));
    got = logesc(c->in, c->len, buf, c->outlen);
    ck_assert_ptr_eq(got, buf);
    ck_assert_msg(strcmp(buf, c->want) == 0, "%s: got \"%s\", want \"%s\"", c->label, buf,
                  c->want);
    ck_assert_msg(buf[c->outlen] == 'X', "%s: wrote past outlen", c->label);

    /* The string form agrees where the input has no NUL. */
    if (memchr(c->in, 0, c->len) == NULL) {
        memset(buf, 'X', sizeof(buf));
        logesc_str(c->in, buf, c->outlen);
        ck_assert_msg(strcmp(buf, c->want) == 0, "%s (str): got \"%s\"", c->label, buf);
    }
}
END_TEST

/* Every byte value alone: plain exactly for 0x21..0x7e outside = < > " ' \, else \xHH. */
START_TEST(test_every_byte)
{
    for (int b = 0; b < 256; b++) {
        char    in = (char) b, buf[8], want[8];
        int     plain = b > 0x20 && b < 0x7f && strchr("=<>\"'\\", b) == NULL;

        if (plain)
            snprintf(want, sizeof(want), "%c", b);
        else
            snprintf(want, sizeof(want), "\\x%02x", b);
        logesc(&in, 1, buf, sizeof(buf));
        ck_assert_msg(strcmp(buf, want) == 0, "byte 0x%02x: got \"%s\", want \"%s\"", b, buf,
                      want);
    }
}
END_TEST

/* out_safe - 1 if s has only bytes an escaped field may contain */
static int
out_safe(const char *s)
{
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char) *s;

        if (c <= 0x20 || c >= 0x7f || strchr("=<>\"'", c) != NULL)
            return 0;
    }
    return 1;
}

/* unescape - decode an escaped prefix (no "..."), into out; its length, or -1 if an escape is broken */
static long
unescape(const char *s, size_t n, char *out)
{
    size_t  o = 0;

    /* No ck_assert in here: each one costs a write to check's pipe. */
    for (size_t i = 0; i < n; i++) {
        unsigned v;

        if (s[i] != '\\') {
            out[o++] = s[i];
            continue;
        }
        if (i + 3 >= n || s[i + 1] != 'x' || sscanf(s + i + 2, "%2x", &v) != 1)
            return -1;
        out[o++] = (char) v;
        i += 3;
    }
    return (long) o;
}

/*
 * cut_problem - NULL if buf is what logesc must give for an output size
 * of outlen, full being the whole escaped text; else what is wrong. The
 * checks are plain ifs: a ck_assert per check costs a write to check's pipe.
 */
static const char *
cut_problem(const char *buf, size_t outlen, const char *full, size_t full_len)
{
    size_t  n = strnlen(buf, outlen), dots, body, next;
    char    dec[1000];

    if (n >= outlen)
        return "not terminated";
    if (buf[outlen] != 'X')
        return "wrote past outlen";
    if (!out_safe(buf))
        return "unsafe byte";
    if (outlen > full_len)
        return strcmp(buf, full) == 0 ? NULL : "fits but differs";

    /* Cut: a prefix of whole units of the full text, then the dots that fit. */
    dots = outlen - 1 < 3 ? outlen - 1 : 3;
    if (n < dots)
        return "shorter than its dots";
    body = n - dots;
    if (strcmp(buf + body, "..." + 3 - dots) != 0)
        return "not marked";
    if (strncmp(buf, full, body) != 0)
        return "not a prefix";
    if (unescape(buf, body, dec) < 0)
        return "split escape";
    /* As long as possible: one more unit would not have left room for the dots. */
    next = full[body] == '\\' ? 4 : 1;
    if (outlen > 4 && body + next + 3 <= outlen - 1)
        return "cut too early";
    return NULL;
}

/*
 * 1000 bytes of junk (every byte value, NULs included) at every output
 * size from 1 to past the whole: bounded, terminated, safe, a prefix of
 * the input, cut exactly when it has to be and then marked.
 */
START_TEST(test_junk_every_size)
{
    char    junk[1000], full[4001], buf[4100], dec[1000];
    size_t  full_len, cuts = 0;
    const char *why;

    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (char) (i * 37 + 11);
    logesc(junk, sizeof(junk), full, sizeof(full));
    full_len = strlen(full);
    ck_assert_msg(out_safe(full), "whole output has an unsafe byte");
    ck_assert_int_eq(unescape(full, full_len, dec), (long) sizeof(junk));
    ck_assert_msg(memcmp(dec, junk, sizeof(junk)) == 0, "whole output does not decode back");

    for (size_t outlen = 1; outlen <= full_len + 2; outlen++) {
        memset(buf, 'X', sizeof(buf));
        logesc(junk, sizeof(junk), buf, outlen);
        if ((why = cut_problem(buf, outlen, full, full_len)) != NULL)
            ck_abort_msg("outlen %zu: %s: \"%s\"", outlen, why, buf);
        cuts += outlen <= full_len;
    }
    ck_assert_uint_eq(cuts, full_len);
}
END_TEST

/* NULL input, NULL or empty output. */
START_TEST(test_null)
{
    char    buf[8] = "XXXXXXX";

    ck_assert_ptr_eq(logesc(NULL, 5, buf, sizeof(buf)), buf);
    ck_assert_str_eq(buf, "");
    ck_assert_ptr_eq(logesc_str(NULL, buf, sizeof(buf)), buf);
    ck_assert_str_eq(buf, "");
    ck_assert_ptr_null(logesc("abc", 3, NULL, 8));
    memcpy(buf, "XXXXXXX", 8);
    logesc("abc", 3, buf, 0);
    ck_assert_str_eq(buf, "XXXXXXX");
    logesc_quote("abc", 10, buf, 0);
    ck_assert_str_eq(buf, "XXXXXXX");
}
END_TEST

static const struct quote_case {
    const char *label;
    const char *in;
    size_t  max;
    size_t  outlen;
    const char *want;
} quote_cases[] = {
    {"plain", "mx.example", 64, 64, "\"mx.example\""},
    {"quote inside", "a\"b", 64, 64, "\"a\\x22b\""},
    {"control, space kept", "a\x01 b", 64, 64, "\"a\\x01 b\""},
    {"forged field", "x\" action=accept to=<y>", 64, 64,
     "\"x\\x22 action\\x3daccept to\\x3d\\x3cy\\x3e\""},
    {"CRLF", "a\r\nb", 64, 64, "\"a\\x0d\\x0ab\""},
    {"cut by max", "abcdefgh", 4, 64, "\"abcd\"..."},
    {"exactly max", "abcd", 4, 64, "\"abcd\""},
    {"cut by outlen", "abcdefgh", 64, 10, "\"abcd\"..."},
    {"fits outlen", "abcdefg", 64, 10, "\"abcdefg\""},
    {"escape fits outlen", "ab\x01z", 64, 10, "\"ab\\x01z\""},
    {"escape not split by outlen", "ab\x01z", 64, 9, "\"ab\"..."},
    {"empty", "", 64, 8, "\"\""},
    {"NULL", NULL, 64, 8, "\"\""},
    {"outlen 6", "abc", 64, 6, "\"abc\""},
    {"outlen 6 cut", "abcd", 64, 6, "\"\"..."},
    {"outlen 5", "a", 64, 5, ""},
};

START_TEST(test_quote)
{
    const struct quote_case *c = &quote_cases[_i];
    char    buf[128];

    memset(buf, 'X', sizeof(buf));
    ck_assert_ptr_eq(logesc_quote(c->in, c->max, buf, c->outlen), buf);
    ck_assert_msg(strcmp(buf, c->want) == 0, "%s: got \"%s\", want \"%s\"", c->label, buf,
                  c->want);
    ck_assert_msg(buf[c->outlen] == 'X', "%s: wrote past outlen", c->label);
}
END_TEST

/* logesc_quote of junk at every size: bounded, terminated, one pair of quotes, no blank but ' '. */
START_TEST(test_quote_every_size)
{
    char    junk[201], buf[1000];

    for (size_t i = 0; i < 200; i++)
        junk[i] = (char) (i * 53 + 1);
    junk[200] = '\0';
    for (size_t outlen = 1; outlen < sizeof(buf) - 1; outlen++) {
        size_t  n;

        memset(buf, 'X', sizeof(buf));
        logesc_quote(junk, 100, buf, outlen);
        n = strnlen(buf, outlen);
        ck_assert_msg(n < outlen && buf[outlen] == 'X', "outlen %zu: overrun", outlen);
        if (outlen < 6) {
            ck_assert_uint_eq(n, 0);
            continue;
        }
        ck_assert_msg(buf[0] == '"' && n >= 5 && strcmp(buf + n - 4, "\"...") == 0,
                      "outlen %zu: \"%s\"", outlen, buf);
        if (strchr(buf + 1, '"') != buf + n - 4 || strpbrk(buf, "\t\r\n=<>'\x7f") != NULL)
            ck_abort_msg("outlen %zu: stray quote or unsafe byte: %s", outlen, buf);
    }
}
END_TEST

static Suite *
logesc_suite(void)
{
    Suite  *s = suite_create("logesc");
    TCase  *tc = tcase_create("escape");

    tcase_add_loop_test(tc, test_table, 0, NELEM(esc_cases));
    tcase_add_test(tc, test_every_byte);
    tcase_add_test(tc, test_junk_every_size);
    tcase_add_test(tc, test_null);
    suite_add_tcase(s, tc);
    tc = tcase_create("quote");
    tcase_add_loop_test(tc, test_quote, 0, NELEM(quote_cases));
    tcase_add_test(tc, test_quote_every_size);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(logesc_suite());
    int     failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

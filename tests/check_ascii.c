/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_ascii.c - the locale-free character classes (ascii.h), checked
 * for every byte value against their definitions, under the locale of
 * the environment (setlocale(LC_ALL, "")), which they must ignore.
 */
#include "config.h"

#include <check.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>

#include "ascii.h"

/* Every class, every byte (and EOF and a negative char): ASCII definitions only. */
START_TEST(test_classes)
{
    for (int c = -128; c < 256; c++) {
        int     up = c >= 'A' && c <= 'Z', lo = c >= 'a' && c <= 'z';
        int     dig = c >= '0' && c <= '9';

        ck_assert_int_eq(ascii_isdigit(c), dig);
        ck_assert_int_eq(ascii_isupper(c), up);
        ck_assert_int_eq(ascii_isalpha(c), up || lo);
        ck_assert_int_eq(ascii_isalnum(c), up || lo || dig);
        ck_assert_int_eq(ascii_isxdigit(c), dig || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'));
        ck_assert_int_eq(ascii_isgraph(c), c >= '!' && c <= '~');
        ck_assert_int_eq(ascii_isspace(c), c == ' ' || c == '\t' || c == '\n' || c == '\v'
                         || c == '\f' || c == '\r');
        ck_assert_int_eq(ascii_tolower(c), up ? c + 32 : c);
        ck_assert_int_eq(ascii_toupper(c), lo ? c - 32 : c);
    }
}
END_TEST

/* Folding strings: only A..Z change; 8-bit bytes pass through. */
START_TEST(test_fold)
{
    char    s[] = "MiXeD-\xc3\x89\xff.ORG";
    char    n[] = "ABCDEF";

    ck_assert_ptr_eq(ascii_lower(s), s);
    ck_assert_str_eq(s, "mixed-\xc3\x89\xff.org");
    ascii_lower_n(n, 3);
    ck_assert_str_eq(n, "abcDEF");
    ck_assert_int_eq(ascii_casecmp("Redirect", "rEDIRECT"), 0);
    ck_assert_int_lt(ascii_casecmp("abc", "abd"), 0);
    ck_assert_int_gt(ascii_casecmp("abc", "ab"), 0);
    ck_assert_int_lt(ascii_casecmp("ab", "abc"), 0);
    ck_assert_int_ne(ascii_casecmp("\xc9", "\xe9"), 0);    /* Latin-1 E acute: not folded */
    ck_assert_int_eq(ascii_ncasecmp("V=SPF1 a", "v=spf1", 6), 0);
    ck_assert_int_ne(ascii_ncasecmp("v=spf", "v=spf1", 6), 0);
    ck_assert_int_eq(ascii_ncasecmp("x", "y", 0), 0);
}
END_TEST

static Suite *
ascii_suite(void)
{
    Suite  *s = suite_create("ascii");
    TCase  *tc = tcase_create("ascii");

    tcase_add_test(tc, test_classes);
    tcase_add_test(tc, test_fold);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(ascii_suite());
    int     failed;

    /* Whatever the environment's locale is: ascii.h must not care. */
    (void) setlocale(LC_ALL, "");
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

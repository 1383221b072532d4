/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_hostname.c - the one host/domain name rule (hostname.h): a table
 * of names at and around every limit, each with the verdict and reason.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostname.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

#define L63 "a23456789012345678901234567890123456789012345678901234567890123"

static const struct name_case {
    const char *label;
    const char *name;
    const char *why;                     /* NULL: a name */
} name_cases[] = {
    {"plain", "mail.example.com", NULL},
    {"one label", "localhost", NULL},
    {"final dot", "mail.example.", NULL},
    {"upper case", "MX.Example.COM", NULL},
    {"digit first", "3com.example", NULL},
    {"all digits", "192.0.2.1", NULL},
    {"underscore", "_spf.example.com", NULL},
    {"underscore inside", "mx_1.example", NULL},
    {"hyphen inside", "mail-out.example", NULL},
    {"a-label", "xn--bcher-kva.example", NULL},
    {"label of 63", L63 ".example", NULL},
    {"empty", "", "empty name"},
    {"root only", ".", "empty name"},
    {"two dots", "..", "empty label"},
    {"leading dot", ".example.com", "empty label"},
    {"empty label", "a..b", "empty label"},
    {"two final dots", "a.b..", "empty label"},
    {"label of 64", L63 "4.example", "label longer than 63 characters"},
    {"hyphen first", "-mx.example", "label starts with '-'"},
    {"hyphen first inner", "mx.-a.example", "label starts with '-'"},
    {"hyphen last", "mx-.example", "label ends with '-'"},
    {"hyphen last of name", "mx.example-", "label ends with '-'"},
    {"hyphen last before final dot", "mx.example-.", "label ends with '-'"},
    {"hyphen alone", "-", "label starts with '-'"},
    {"space", "mx example", "bad character in name"},
    {"slash", "mx/24", "bad character in name"},
    {"colon", "mx:25", "bad character in name"},
    {"at", "user@example", "bad character in name"},
    {"percent (SPF macro)", "%{d}.example", "bad character in name"},
    {"bracket", "[192.0.2.1]", "bad character in name"},
    {"CR", "mx\r.example", "bad character in name"},
    {"8-bit", "b\xc3\xbc" "cher.example", "bad character in name"},
    {"DEL", "mx\x7f.example", "bad character in name"},
};

START_TEST(test_name)
{
    const struct name_case *c = &name_cases[_i];
    const char *why = hostname_check(c->name, strlen(c->name));

    if (c->why == NULL)
        ck_assert_msg(why == NULL, "%s: got \"%s\", want a name", c->label, why);
    else
        ck_assert_msg(why != NULL && strcmp(why, c->why) == 0, "%s: got \"%s\", want \"%s\"",
                      c->label, why ? why : "(name)", c->why);
    ck_assert_int_eq(hostname_ok(c->name), c->why == NULL);
}
END_TEST

/* The total length: 253 bytes is a name (with or without a final dot), 254 is not. */
START_TEST(test_lengths)
{
    char    name[300];

    /* Four labels of 63 and a dot each: 4 * 64 = 256; cut to the length wanted. */
    snprintf(name, sizeof(name), "%s.%s.%s.%s", L63, L63, L63, L63);
    name[253] = '\0';
    ck_assert_uint_eq(strlen(name), 253);
    ck_assert_ptr_null(hostname_check(name, 253));
    name[253] = '.';
    name[254] = '\0';
    ck_assert_ptr_null(hostname_check(name, 254));
    name[253] = 'x';
    ck_assert_str_eq(hostname_check(name, 254), "name longer than 253 characters");
    name[254] = '.';
    name[255] = '\0';
    ck_assert_str_eq(hostname_check(name, 255), "name longer than 253 characters");
}
END_TEST

/* A length, not a terminator: a NUL inside is a bad byte, bytes after len are not read. */
START_TEST(test_counted)
{
    ck_assert_str_eq(hostname_check("mx\0evil.example", 15), "bad character in name");
    ck_assert_ptr_null(hostname_check("mx.example=junk", 10));
    ck_assert_ptr_null(hostname_check("mx.example.=junk", 11));
    ck_assert_str_eq(hostname_check("mx.example", 0), "empty name");
    ck_assert_str_eq(hostname_check(NULL, 0), "empty name");
    ck_assert_int_eq(hostname_ok(NULL), 0);
}
END_TEST

/* The alphabet is exactly letters, digits, '-', '_' and '.', for every byte value. */
START_TEST(test_alphabet)
{
    for (int c = -1; c < 256; c++) {
        int     want = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
            || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';

        ck_assert_msg(hostname_char(c) == want, "byte %d: got %d, want %d", c,
                      hostname_char(c), want);
    }
}
END_TEST

static Suite *
hostname_suite(void)
{
    Suite  *s = suite_create("hostname");
    TCase  *tc = tcase_create("rule");

    tcase_add_loop_test(tc, test_name, 0, NELEM(name_cases));
    tcase_add_test(tc, test_lengths);
    tcase_add_test(tc, test_counted);
    tcase_add_test(tc, test_alphabet);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(hostname_suite());
    int     failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

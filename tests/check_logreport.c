/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_logreport.c - redgreyctl log-report's bounded tables when they
 * fill up: milter/ctl_logreport.c included whole with its smallest limits
 * (4096 triplets, 512 groups), so that the full-table paths run on a few
 * thousand lines instead of millions. check_redgreyctl tests the command
 * itself on real log text.
 */
#define LR_TRIPLETS_MAX 4096u
#define LR_GROUPS_MAX   512u
#include "../milter/ctl_json.c"
#include "../milter/ctl_logreport.c"

#include <check.h>
#include <stdio.h>
#include <unistd.h>

/* lr_feed - the decision line of one greylisted triplet (or its pass) into r */
static void
lr_feed(struct lr *r, int pass, const char *domain, int key, int rcpt)
{
    char    line[512];

    snprintf(line, sizeof(line),
             "Dec  7 10:00:00 mx redgrey[9]: info: NOQUEUE: action=%s reason=%s "
             "client=c[192.0.2.7] key=10.%d.0.0/24 from=<s@%s> to=<u%d@local.test>%s",
             pass ? "pass" : "greylist", pass ? "retry" : "new", key, domain, rcpt,
             pass ? " delay=300" : "");
    lr_line(r, line);
}

/*
 * groups_full - past LR_GROUPS_MAX groups a new group is not counted,
 * while the groups made so far still count their triplets
 */
START_TEST(groups_full)
{
    struct lr r;

    memset(&r, 0, sizeof(r));
    for (int k = 0; k < (int) LR_GROUPS_MAX + 10; k++)
        lr_feed(&r, 0, "g.example", k, 0);
    ck_assert_uint_eq(r.gn, LR_GROUPS_MAX);
    ck_assert_uint_eq(r.used, LR_GROUPS_MAX);
    ck_assert_uint_eq(r.full, 10);
    /* An existing group, a new triplet in it, and its pass: all counted. */
    lr_feed(&r, 0, "g.example", 0, 1);
    lr_feed(&r, 1, "g.example", 0, 1);
    ck_assert_uint_eq(r.used, LR_GROUPS_MAX + 2);
    ck_assert_uint_eq(r.full, 10);
    lr_finish(&r);
    ck_assert_uint_eq(r.g[0].never, 1);
    ck_assert_uint_eq(r.g[0].passed, 1);
    ck_assert_int_eq(r.g[0].delay_max, 300);
    ck_assert_uint_eq(r.lines, r.used + r.skipped + r.full);
    lr_free(&r);
}
END_TEST

/*
 * triplets_full - past LR_TRIPLETS_MAX triplets a new one is not counted,
 * a pass of a counted one still is, and the report says how many were not
 */
START_TEST(triplets_full)
{
    struct lr r;
    char    path[] = "/tmp/check_logreport.XXXXXX", buf[4096];
    size_t  n;
    FILE   *f;
    int     fd, saved;

    memset(&r, 0, sizeof(r));
    for (int i = 0; i < (int) LR_TRIPLETS_MAX + 7; i++)
        lr_feed(&r, 0, i % 2 ? "odd.example" : "even.example", 1, i);
    ck_assert_uint_eq(r.tn, LR_TRIPLETS_MAX);
    ck_assert_uint_eq(r.used, LR_TRIPLETS_MAX);
    ck_assert_uint_eq(r.full, 7);
    lr_feed(&r, 1, "even.example", 1, 0);
    ck_assert_uint_eq(r.full, 7);
    lr_finish(&r);
    ck_assert_uint_eq(r.gn, 2);
    ck_assert_uint_eq(r.g[0].never + r.g[1].never, LR_TRIPLETS_MAX - 1);
    ck_assert_uint_eq(r.g[0].passed, 1);

    /* The text report names what it could not count. */
    fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    fflush(stdout);
    saved = dup(STDOUT_FILENO);
    ck_assert_int_ge(dup2(fd, STDOUT_FILENO), 0);
    lr_print_text(&r, 0);
    fflush(stdout);
    ck_assert_int_ge(dup2(saved, STDOUT_FILENO), 0);
    close(saved);
    f = fdopen(fd, "r");
    ck_assert(f != NULL);
    rewind(f);
    n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    unlink(path);
    ck_assert_msg(strstr(buf, "not counted (more than 4096 triplets or 512 groups): 7\n") != NULL,
                  "report:\n%s", buf);
    lr_free(&r);
}
END_TEST

int
main(void)
{
    Suite  *s = suite_create("logreport");
    TCase  *tc = tcase_create("full");
    SRunner *sr;
    int     failed;

    tcase_add_test(tc, groups_full);
    tcase_add_test(tc, triplets_full);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

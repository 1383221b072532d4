/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_log.c - level and facility names; the outage limiter's counting;
 * the log targets: ISO-8601 stamps, whole lines from many threads, the
 * file reopened after a rotation (also under writers), and a real daemon
 * logging to a file that is rotated and reopened on SIGHUP.
 */
#include "config.h"

#include <check.h>
#include <fcntl.h>
#include <pthread.h>
#include <regex.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"

#define STAMP_RE "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[.][0-9]{3}[+-][0-9]{2}:[0-9]{2}"
#define NTHREADS 4                       /* writers in the thread tests */
#define NLINES   500                     /* lines per writer */
#define NROTATE  20                      /* rotations under the writers */
#define PAD      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
#define STOP_MS  8000                    /* libmilter's 5 s poll + 3 s for sessions */
#define WAIT_MS  5000                    /* bound on a reload to be logged */

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

/*
 * The limiter as a script of failures ('f') and successes ('o') at given
 * seconds, each with whether it must write a line. Interval 10 s.
 */
#define LIMIT_STEPS_MAX 16

static const struct limit_case {
    const char *label;
    struct {
        char    op;                      /* 'f' fail, 'o' ok, 0 end */
        time_t  at;                      /* limiter clock, seconds */
        int     logged;                  /* want a line (1) or none (0) */
    } steps[LIMIT_STEPS_MAX];
    int     failing;                     /* want an outage open at the end */
} limit_cases[] = {
    {"no outage, no lines", {{'o', 0, 0}, {'o', 100, 0}, {'o', 100000, 0}}, 0},
    {"recovery waits for a quiet interval",
     {{'f', 0, 1}, {'o', 1, 0}, {'o', 9, 0}, {'o', 10, 1}, {'o', 11, 0}}, 0},
    {"intermittent failures: one line per interval",
     {{'f', 0, 1}, {'o', 1, 0}, {'f', 2, 0}, {'o', 3, 0}, {'f', 5, 0}, {'o', 6, 0},
      {'f', 10, 1}, {'o', 10, 0}, {'f', 11, 0}, {'o', 12, 0}, {'f', 19, 0}, {'o', 28, 0},
      {'f', 20, 1}, {'o', 29, 0}, {'o', 30, 1}}, 0},
    {"still failing, never recovered",
     {{'f', 0, 1}, {'f', 5, 0}, {'f', 10, 1}, {'f', 15, 0}, {'o', 16, 0}, {'f', 20, 1}}, 1},
    {"a new outage after recovery",
     {{'f', 0, 1}, {'o', 10, 1}, {'f', 11, 1}, {'o', 12, 0}, {'o', 21, 1}}, 0},
    {"a success timed before the failure is no quiet time",
     {{'f', 50, 1}, {'o', 5, 0}, {'o', 59, 0}, {'o', 60, 1}}, 0},
};

/* test_limit_script - each step logs (or not) as the row says */
START_TEST(test_limit_script)
{
    const struct limit_case *k = &limit_cases[_i];
    struct log_limit lim = LOG_LIMIT_INIT("store", 10);

    for (int i = 0; i < LIMIT_STEPS_MAX && k->steps[i].op != 0; i++) {
        int     got = k->steps[i].op == 'f'
            ? log_limit_fail_at(&lim, "connection refused", k->steps[i].at)
            : log_limit_ok_at(&lim, k->steps[i].at);

        ck_assert_msg(got == k->steps[i].logged, "%s: step %d ('%c' at %lds): got %s, want %s",
                      k->label, i, k->steps[i].op, (long) k->steps[i].at,
                      got ? "a line" : "no line", k->steps[i].logged ? "a line" : "no line");
    }
    ck_assert_msg(lim.failing == k->failing, "%s: failing: got %d, want %d", k->label,
                  lim.failing, k->failing);
}
END_TEST

/* test_limit_counts - the counts behind the lines, and the reset at recovery */
START_TEST(test_limit_counts)
{
    struct log_limit lim = LOG_LIMIT_INIT("store", 3600);

    /* First failure opens the outage; later ones are counted, not logged. */
    ck_assert_int_eq(log_limit_fail_at(&lim, "connection refused", 100), 1);
    ck_assert_int_eq(lim.failing, 1);
    ck_assert_int_eq(log_limit_fail_at(&lim, "connection refused", 101), 0);
    ck_assert_int_eq(log_limit_fail_at(&lim, "connection refused", 102), 0);
    ck_assert_uint_eq(lim.count, 2);
    ck_assert_uint_eq(lim.total, 3);

    /* Successes inside the outage are counted and end nothing. */
    ck_assert_int_eq(log_limit_ok_at(&lim, 103), 0);
    ck_assert_int_eq(log_limit_ok_at(&lim, 104), 0);
    ck_assert_uint_eq(lim.ok, 2);
    ck_assert_int_eq(lim.failing, 1);

    /* A quiet interval ends it and resets the counts. */
    ck_assert_int_eq(log_limit_ok_at(&lim, 102 + 3600), 1);
    ck_assert_int_eq(lim.failing, 0);
    ck_assert_uint_eq(lim.total, 0);
    ck_assert_uint_eq(lim.ok, 0);

    /* The real-clock forms: an outage starts, and one success does not end it. */
    ck_assert_int_eq(log_limit_fail(&lim, "timeout"), 1);
    ck_assert_int_eq(log_limit_ok(&lim), 0);
    ck_assert_int_eq(lim.failing, 1);
}
END_TEST

/* ---- targets -------------------------------------------------------------- */

static const struct {
    const char *tz;
    time_t  sec;
    long    nsec;
    const char *want;
} stamp_cases[] = {
    {"UTC0", 0, 0, "1970-01-01T00:00:00.000+00:00"},
    {"CET-1", 0, 999999999, "1970-01-01T01:00:00.999+01:00"},
    {"EST5", 86400, 5000000, "1970-01-01T19:00:00.005-05:00"},
    {"IST-5:30", 1796644800, 120000000, "2026-12-07T17:30:00.120+05:30"},
};

/* test_iso_time - local time, milliseconds, the offset with a colon */
START_TEST(test_iso_time)
{
    struct timespec ts = {stamp_cases[_i].sec, stamp_cases[_i].nsec};
    char    buf[64];
    size_t  n;

    setenv("TZ", stamp_cases[_i].tz, 1);
    tzset();
    n = log_iso_time(&ts, buf, sizeof(buf));
    ck_assert_msg(strcmp(buf, stamp_cases[_i].want) == 0, "TZ=%s: got \"%s\", want \"%s\"",
                  stamp_cases[_i].tz, buf, stamp_cases[_i].want);
    ck_assert_uint_eq(n, strlen(stamp_cases[_i].want));
}
END_TEST

static const struct {
    const char *spec;
    int     rc;
    const char *why;                     /* in err when refused */
} target_cases[] = {
    {"syslog", 0, NULL},
    {"stderr", 0, NULL},
    {"file:/var/log/redgrey.log", 0, NULL},
    {"file:", -1, "absolute"},
    {"file:log", -1, "absolute"},
    {"file:/var/log/", -1, "absolute"},
    {"journal", -1, "want syslog, stderr or file:/PATH"},
    {"/var/log/redgrey.log", -1, "want syslog"},
    {"Syslog", -1, "want syslog"},
};

/* test_target_check - the three forms, nothing else */
START_TEST(test_target_check)
{
    char    err[128] = "";
    int     rc = log_target_check(target_cases[_i].spec, err, sizeof(err));

    ck_assert_msg(rc == target_cases[_i].rc, "%s: got %d, want %d", target_cases[_i].spec, rc,
                  target_cases[_i].rc);
    if (target_cases[_i].why != NULL)
        ck_assert_msg(strstr(err, target_cases[_i].why) != NULL, "%s: err \"%s\"",
                      target_cases[_i].spec, err);
}
END_TEST

/*
 * lines_check - every line of text is a stamped "check_log[PID]: info:
 * thread T line L PAD" line; counts each (T, L) in seen. Returns the
 * number of lines.
 */
static int
lines_check(const char *text, int seen[NTHREADS][NLINES])
{
    regex_t re;
    int     n = 0;
    char   *copy = strdup(text), *save = NULL;

    ck_assert_int_eq(regcomp(&re, "^" STAMP_RE " check_log\\[[0-9]+\\]: info: thread ([0-9]+) "
                             "line ([0-9]+) " PAD "$", REG_EXTENDED), 0);
    for (char *l = strtok_r(copy, "\n", &save); l != NULL; l = strtok_r(NULL, "\n", &save)) {
        regmatch_t m[3];
        int     t, i;

        ck_assert_msg(regexec(&re, l, 3, m, 0) == 0, "malformed line: \"%s\"", l);
        t = atoi(l + m[1].rm_so);
        i = atoi(l + m[2].rm_so);
        ck_assert(t >= 0 && t < NTHREADS && i >= 0 && i < NLINES);
        seen[t][i]++;
        n++;
    }
    regfree(&re);
    free(copy);
    return n;
}

/* writer - NLINES lines tagged with its number */
static void *
writer(void *arg)
{
    int     t = (int) (intptr_t) arg;

    for (int i = 0; i < NLINES; i++)
        log_info("thread %d line %d %s", t, i, PAD);
    return NULL;
}

static atomic_int writers_done;

/* writer_counted - writer, then count itself done */
static void *
writer_counted(void *arg)
{
    writer(arg);
    atomic_fetch_add(&writers_done, 1);
    return NULL;
}

/* open_file_target - log_open on file:path; fails the test if it cannot */
static void
open_file_target(const char *path)
{
    char    target[700], err[256] = "";

    snprintf(target, sizeof(target), "file:%s", path);
    ck_assert_msg(log_open("check_log", LOG_MAIL, LOG_INFO, target, 0, err, sizeof(err)) == 0,
                  "log_open %s: %s", target, err);
    ck_assert_str_eq(log_file_path(), path);
}

/* test_file_threads - lines of many threads arrive whole, each once, stamped */
START_TEST(test_file_threads)
{
    static int seen[NTHREADS][NLINES];
    char    path[600];
    pthread_t tid[NTHREADS];
    struct stat st;
    char   *text;

    daemon_scratch_path(path, sizeof(path), "threads.log");
    unlink(path);
    open_file_target(path);
    for (int t = 0; t < NTHREADS; t++)
        ck_assert_int_eq(pthread_create(&tid[t], NULL, writer, (void *) (intptr_t) t), 0);
    for (int t = 0; t < NTHREADS; t++)
        pthread_join(tid[t], NULL);
    text = daemon_read_file_ok(path);
    ck_assert_int_eq(lines_check(text, seen), NTHREADS * NLINES);
    for (int t = 0; t < NTHREADS; t++)
        for (int i = 0; i < NLINES; i++)
            ck_assert_msg(seen[t][i] == 1, "thread %d line %d: seen %d times", t, i, seen[t][i]);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_msg((st.st_mode & 0777) == 0640, "mode %o, want 0640", st.st_mode & 0777);
    free(text);
}
END_TEST

/* test_reopen - after a rename, lines go on to the old file until the reopen */
START_TEST(test_reopen)
{
    char    path[600], moved[640], err[256] = "";
    char   *old, *cur;

    daemon_scratch_path(path, sizeof(path), "reopen.log");
    snprintf(moved, sizeof(moved), "%s.1", path);
    unlink(path);
    open_file_target(path);
    log_info("before the rotation");
    ck_assert_int_eq(rename(path, moved), 0);
    log_info("between rename and reopen");
    ck_assert_int_eq(log_reopen(err, sizeof(err)), 0);
    log_info("after the reopen");
    old = daemon_read_file_ok(moved);
    cur = daemon_read_file_ok(path);
    ck_assert_msg(strstr(old, "before the rotation") && strstr(old, "between rename and reopen")
                  && !strstr(old, "after the reopen"), "old file: \"%s\"", old);
    ck_assert_msg(strstr(cur, "after the reopen") && !strstr(cur, "before"), "new file: \"%s\"",
                  cur);
    free(old);
    free(cur);
}
END_TEST

/* test_reopen_fails - a path that cannot be opened keeps the old file */
START_TEST(test_reopen_fails)
{
    char    dir[600], path[700], moved[700], err[256] = "";
    char   *old;

    daemon_dir_new(dir, sizeof(dir), "reopenfail");
    snprintf(path, sizeof(path), "%s/r.log", dir);
    snprintf(moved, sizeof(moved), "%s.r.log", dir);
    open_file_target(path);
    ck_assert_int_eq(rename(path, moved), 0);
    ck_assert_int_eq(rmdir(dir), 0);
    ck_assert_int_eq(log_reopen(err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "cannot reopen") != NULL, "err \"%s\"", err);
    log_info("still logging");
    old = daemon_read_file_ok(moved);
    ck_assert_msg(strstr(old, "still logging") != NULL, "old file: \"%s\"", old);
    free(old);
    unlink(moved);
}
END_TEST

/* test_reopen_writers - rotations under writers lose no line and split none */
START_TEST(test_reopen_writers)
{
    static int seen[NTHREADS][NLINES];
    char    path[600], moved[640], err[256];
    pthread_t tid[NTHREADS];
    int     total = 0, rotations = 0;

    daemon_scratch_path(path, sizeof(path), "writers.log");
    for (int r = 0; r <= NROTATE; r++) {
        snprintf(moved, sizeof(moved), "%s.%d", path, r);
        unlink(moved);
    }
    unlink(path);
    open_file_target(path);
    atomic_store(&writers_done, 0);
    for (int t = 0; t < NTHREADS; t++)
        ck_assert_int_eq(pthread_create(&tid[t], NULL, writer_counted, (void *) (intptr_t) t), 0);
    while (rotations < NROTATE && atomic_load(&writers_done) < NTHREADS) {
        snprintf(moved, sizeof(moved), "%s.%d", path, rotations++);
        ck_assert_int_eq(rename(path, moved), 0);
        ck_assert_msg(log_reopen(err, sizeof(err)) == 0, "reopen: %s", err);
        daemon_sleep_ms(2);
    }
    for (int t = 0; t < NTHREADS; t++)
        pthread_join(tid[t], NULL);
    for (int r = 0; r <= rotations; r++) {
        char   *text;

        if (r < rotations)
            snprintf(moved, sizeof(moved), "%s.%d", path, r);
        else
            snprintf(moved, sizeof(moved), "%s", path);
        text = daemon_read_file_ok(moved);
        total += lines_check(text, seen);
        free(text);
    }
    ck_assert_msg(rotations >= 2, "only %d rotations happened while the threads wrote", rotations);
    ck_assert_int_eq(total, NTHREADS * NLINES);
    for (int t = 0; t < NTHREADS; t++)
        for (int i = 0; i < NLINES; i++)
            ck_assert_msg(seen[t][i] == 1, "thread %d line %d: seen %d times", t, i, seen[t][i]);
}
END_TEST

/* stderr_line - log one line with target (foreground fg); what fd 2 received */
static char *
stderr_line(const char *target, int fg, const char *name)
{
    char    path[600], err[256] = "";
    int     fd, saved = dup(STDERR_FILENO);

    daemon_scratch_path(path, sizeof(path), name);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ck_assert_int_ge(fd, 0);
    dup2(fd, STDERR_FILENO);
    close(fd);
    ck_assert_int_eq(log_open("check_log", LOG_MAIL, LOG_INFO, target, fg, err, sizeof(err)), 0);
    ck_assert_int_eq(log_reopen(err, sizeof(err)), 1);
    log_warn("to %s", target);
    dup2(saved, STDERR_FILENO);
    close(saved);
    return daemon_read_file_ok(path);
}

/* test_stderr_targets - stderr, and syslog in the foreground: stamped lines on fd 2 */
START_TEST(test_stderr_targets)
{
    regex_t re;
    char   *a = stderr_line("stderr", 0, "stderr-a.out");
    char   *b = stderr_line("syslog", 1, "stderr-b.out");

    ck_assert_int_eq(regcomp(&re, "^" STAMP_RE " check_log\\[[0-9]+\\]: warning: to (stderr|syslog)\n$",
                             REG_EXTENDED), 0);
    ck_assert_msg(regexec(&re, a, 0, NULL, 0) == 0, "stderr: \"%s\"", a);
    ck_assert_msg(regexec(&re, b, 0, NULL, 0) == 0, "syslog -f: \"%s\"", b);
    ck_assert_ptr_null(log_file_path());
    regfree(&re);
    free(a);
    free(b);
}
END_TEST

/* ---- a daemon logging to a file ---------------------------------------- */

/*
 * test_daemon_rotate - redgrey with log_target = file: writes stamped lines
 * there; after logrotate's rename and SIGHUP the new file gets the lines
 * and the old one keeps the earlier ones; a changed log_target needs a
 * restart and is kept.
 */
START_TEST(test_daemon_rotate)
{
    struct daemon d;
    char    log[700], moved[720], extra[800];
    char   *old, *cur, *conf, *p;
    regex_t re;

    ck_assert_ptr_nonnull(daemon_tmp());
    snprintf(log, sizeof(log), "%s/rotating.log", daemon_tmp());
    snprintf(moved, sizeof(moved), "%s.1", log);
    snprintf(extra, sizeof(extra), "log_target = file:%s\nspf_keying = no\n", log);
    if (daemon_start_redgrey(&d, "rotating", extra, NULL) != 0) {
        daemon_log_print(&d);
        ck_abort_msg("redgrey with a file target did not start");
    }
    ck_assert_int_eq(regcomp(&re, "^" STAMP_RE " redgrey\\[[0-9]+\\]: info: starting redgrey",
                             REG_EXTENDED | REG_NEWLINE), 0);
    old = daemon_read_file_ok(log);
    ck_assert_msg(regexec(&re, old, 0, NULL, 0) == 0, "no stamped starting line: \"%s\"", old);
    free(old);

    ck_assert_int_eq(rename(log, moved), 0);
    ck_assert_int_eq(daemon_signal(&d, SIGHUP), 0);
    ck_assert_msg(daemon_log_wait(&d, "SIGHUP: configuration reloaded", 1, WAIT_MS) == 1,
                  "the new file got no reload line");

    /* log_target changed: logged as needing a restart; the old file stays in use. */
    conf = daemon_read_file_ok(d.conf);
    ck_assert_ptr_nonnull(p = strstr(conf, "rotating.log"));
    memcpy(p, "rotatinG", 8);
    ck_assert_int_eq(daemon_write_file(d.conf, conf), 0);
    free(conf);
    ck_assert_int_eq(daemon_signal(&d, SIGUSR1), 0);
    ck_assert_msg(daemon_log_wait(&d, "SIGUSR1: configuration reloaded", 1, WAIT_MS) == 1,
                  "no second reload line");
    ck_assert_int_eq(daemon_log_count(&d, "reload: log_target changed: needs a restart"), 1);
    ck_assert_int_eq(daemon_stop(&d, STOP_MS), 0);

    old = daemon_read_file_ok(moved);
    cur = daemon_read_file_ok(log);
    ck_assert_msg(strstr(old, "starting redgrey") && !strstr(old, "reloaded"),
                  "rotated file: \"%s\"", old);
    ck_assert_msg(strstr(cur, "SIGHUP: configuration reloaded") && strstr(cur, "stopping")
                  && !strstr(cur, "starting redgrey"), "new file: \"%s\"", cur);
    ck_assert_msg(regexec(&re, cur, 0, NULL, 0) != 0, "new file has a starting line");
    regfree(&re);
    free(old);
    free(cur);
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
    tcase_add_loop_test(tc, test_limit_script, 0, sizeof(limit_cases) / sizeof(limit_cases[0]));
    tcase_add_test(tc, test_limit_counts);
    suite_add_tcase(s, tc);
    tc = tcase_create("targets");
    tcase_add_loop_test(tc, test_iso_time, 0, sizeof(stamp_cases) / sizeof(stamp_cases[0]));
    tcase_add_loop_test(tc, test_target_check, 0,
                        sizeof(target_cases) / sizeof(target_cases[0]));
    tcase_add_test(tc, test_file_threads);
    tcase_add_test(tc, test_reopen);
    tcase_add_test(tc, test_reopen_fails);
    tcase_add_test(tc, test_reopen_writers);
    tcase_add_test(tc, test_stderr_targets);
    suite_add_tcase(s, tc);
    tc = tcase_create("daemon");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_daemon_rotate);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    log_init("check_log", LOG_MAIL, LOG_ERR, 1);
    return daemon_run_suites(log_suite(), NULL) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_breaker.c - the circuit breaker on its own: scripts of calls and
 * probes at injected times, then threads racing every transition; and
 * the Redis backend's table of error replies. No server, no clock, no
 * sleeping. (check_store_redis_ha.c puts both in front of real servers.)
 */
#include "config.h"

#include <check.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "breaker.h"
#include "daemon.h"
#include "store_redis.h"

#define MS 1000                          /* microseconds per ms: the breaker's unit */

/* One step of a breaker script: an operation at a time, and what it must give. */
struct breaker_step {
    char    op;                          /* see breaker_run_step */
    int64_t at;                          /* ms */
    int64_t want;                        /* result; 'w': ms, -1 none */
    int64_t refused;                     /* a closing's refused count, or -1 */
};

#define BREAKER_STEPS_MAX 16

static const struct breaker_case {
    const char *label;
    struct breaker_step steps[BREAKER_STEPS_MAX];
} breaker_cases[] = {
    {"a success clears the count", {
        {'f', 0, BREAKER_SAME, -1}, {'f', 1, BREAKER_SAME, -1}, {'o', 2, BREAKER_SAME, -1},
        {'f', 3, BREAKER_SAME, -1}, {'f', 4, BREAKER_SAME, -1}, {'a', 5, 1, -1}}},
    {"three failures open it", {
        {'f', 0, BREAKER_SAME, -1}, {'f', 1, BREAKER_SAME, -1}, {'f', 2, BREAKER_OPENED, -1},
        {'a', 3, 0, -1}, {'w', 100, 152, -1}, {'b', 100, 0, -1}}},
    {"a timeout opens it at once", {
        {'t', 1000, BREAKER_OPENED, -1}, {'a', 1000, 0, -1}, {'w', 1000, 250, -1}}},
    {"probes one at a time, the interval doubling to the cap", {
        {'t', 0, BREAKER_OPENED, -1}, {'b', 249, 0, -1}, {'b', 250, 1, -1},
        {'w', 260, -1, -1}, {'b', 260, 0, -1}, {'e', 450, BREAKER_SAME, -1},
        {'w', 450, 300, -1}, {'b', 750, 1, -1}, {'e', 800, BREAKER_SAME, -1},
        {'w', 800, 950, -1}, {'b', 1750, 1, -1}, {'e', 1760, BREAKER_SAME, -1},
        {'w', 1760, 990, -1}, {'a', 1800, 0, -1}}},
    {"a probe slower than its interval is followed at once", {
        {'t', 0, BREAKER_OPENED, -1}, {'b', 250, 1, -1}, {'e', 900, BREAKER_SAME, -1},
        {'w', 900, 0, -1}, {'b', 900, 1, -1}}},
    {"a probe's success closes it, with the refusals", {
        {'t', 0, BREAKER_OPENED, -1}, {'a', 1, 0, -1}, {'a', 2, 0, -1}, {'a', 3, 0, -1},
        {'b', 250, 1, -1}, {'E', 260, BREAKER_CLOSED, 3}, {'a', 261, 1, -1},
        {'w', 261, -1, -1}, {'f', 262, BREAKER_SAME, -1}, {'f', 263, BREAKER_SAME, -1},
        {'f', 264, BREAKER_OPENED, -1}}},
    {"the late success of a call under way closes it", {
        {'f', 0, BREAKER_SAME, -1}, {'f', 1, BREAKER_SAME, -1}, {'f', 10, BREAKER_OPENED, -1},
        {'a', 11, 0, -1}, {'o', 500, BREAKER_CLOSED, 1}, {'o', 501, BREAKER_SAME, -1}}},
    {"failures while open change nothing", {
        {'t', 0, BREAKER_OPENED, -1}, {'f', 10, BREAKER_SAME, -1},
        {'t', 20, BREAKER_SAME, -1}, {'w', 20, 230, -1}}},
    {"trip opens it once", {
        {'T', 5, BREAKER_OPENED, -1}, {'T', 6, BREAKER_SAME, -1}, {'a', 7, 0, -1},
        {'w', 7, 248, -1}}},
};

/* breaker_test_init - the Redis store's settings: 3 failures, 250 ms .. 1 s */
static void
breaker_test_init(struct breaker *b)
{
    struct breaker_config bc = {3, 250 * MS, 1000 * MS};

    breaker_init(b, &bc);
}

/* breaker_run_step - one step: the operation's result, outage into *o */
static int64_t
breaker_run_step(struct breaker *b, const struct breaker_step *s, struct breaker_outage *o)
{
    int64_t now = (s->at + 1000) * MS, w;   /* an epoch of our own: the clock is never 0 */

    switch (s->op) {
    case 'a':                            /* allow */
        return breaker_allow(b, now);
    case 'o':                            /* a call succeeded */
        return breaker_record(b, BREAKER_OK, now, o);
    case 'f':                            /* a call failed */
        return breaker_record(b, BREAKER_FAILED, now, o);
    case 't':                            /* a call timed out */
        return breaker_record(b, BREAKER_TIMEOUT, now, o);
    case 'T':                            /* trip */
        return breaker_trip(b, now);
    case 'w':                            /* probe wait, in ms */
        w = breaker_probe_wait(b, now);
        return w < 0 ? -1 : w / MS;
    case 'b':                            /* take the probe ticket */
        return breaker_probe_begin(b, now);
    case 'e':                            /* the probe failed */
        return breaker_probe_end(b, 0, now, o);
    case 'E':                            /* the probe succeeded */
        return breaker_probe_end(b, 1, now, o);
    }
    ck_abort_msg("bad op %c", s->op);
    return 0;
}

START_TEST(test_breaker_script)
{
    const struct breaker_case *k = &breaker_cases[_i];
    struct breaker b;

    breaker_test_init(&b);
    for (int i = 0; i < BREAKER_STEPS_MAX && k->steps[i].op != 0; i++) {
        const struct breaker_step *s = &k->steps[i];
        struct breaker_outage o = {0, 0, 0};
        int64_t got = breaker_run_step(&b, s, &o);

        ck_assert_msg(got == s->want, "%s: step %d ('%c' at %" PRId64 " ms): got %" PRId64
                      ", want %" PRId64, k->label, i, s->op, s->at, got, s->want);
        if (s->refused >= 0)
            ck_assert_msg(o.refused == (uint64_t) s->refused, "%s: step %d: refused: got %"
                          PRIu64 ", want %" PRId64, k->label, i, o.refused, s->refused);
    }
}
END_TEST

#define RACE_THREADS 8
#define RACE_ROUNDS  300

struct race {
    struct breaker *b;
    pthread_barrier_t *go;
    int     opened, tickets, closed;     /* what this thread won */
};

/* race_run - every round: all time out, all try the ticket, all succeed */
static void *
race_run(void *arg)
{
    struct race *r = arg;
    struct breaker_outage o;

    for (int round = 0; round < RACE_ROUNDS; round++) {
        int64_t t = (int64_t) (round + 1) * 10000 * MS;

        pthread_barrier_wait(r->go);
        r->opened += breaker_record(r->b, BREAKER_TIMEOUT, t, &o) == BREAKER_OPENED;
        pthread_barrier_wait(r->go);
        r->tickets += breaker_probe_begin(r->b, t + 5000 * MS);
        pthread_barrier_wait(r->go);
        r->closed += breaker_record(r->b, BREAKER_OK, t + 5001 * MS, &o) == BREAKER_CLOSED;
        pthread_barrier_wait(r->go);
        if (r->tickets > 0 && breaker_probe_wait(r->b, 0) == -1)
            (void) breaker_probe_end(r->b, 0, t + 5002 * MS, &o);   /* give the ticket back */
    }
    return NULL;
}

/* Threads racing every transition: each is won by exactly one of them. */
START_TEST(test_breaker_race)
{
    struct breaker b;
    struct race r[RACE_THREADS];
    pthread_t tid[RACE_THREADS];
    pthread_barrier_t go;
    int     opened = 0, tickets = 0, closed = 0;

    breaker_test_init(&b);
    ck_assert_int_eq(pthread_barrier_init(&go, NULL, RACE_THREADS), 0);
    for (int i = 0; i < RACE_THREADS; i++) {
        r[i] = (struct race) {&b, &go, 0, 0, 0};
        ck_assert_int_eq(pthread_create(&tid[i], NULL, race_run, &r[i]), 0);
    }
    for (int i = 0; i < RACE_THREADS; i++) {
        pthread_join(tid[i], NULL);
        opened += r[i].opened;
        tickets += r[i].tickets;
        closed += r[i].closed;
    }
    pthread_barrier_destroy(&go);
    ck_assert_msg(opened == RACE_ROUNDS && tickets == RACE_ROUNDS && closed == RACE_ROUNDS,
                  "%d rounds of %d threads: %d openings, %d probe tickets, %d closings;"
                  " want one each per round", RACE_ROUNDS, RACE_THREADS, opened, tickets, closed);
}
END_TEST

/* ---------------------------------------------------------- error replies */

static const struct reply_case {
    const char *text;
    enum store_redis_reply_kind want;
    const char *label;                   /* want this in the label; NULL: no label */
} reply_cases[] = {
    {"READONLY You can't write against a read only replica.", STORE_REDIS_REPLY_RECONNECT,
     "READONLY (demoted primary?)"},
    {"LOADING Redis is loading the dataset in memory", STORE_REDIS_REPLY_RECONNECT, "LOADING"},
    {"MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
     STORE_REDIS_REPLY_RECONNECT, "MASTERDOWN"},
    {"NOAUTH Authentication required.", STORE_REDIS_REPLY_RECONNECT, "NOAUTH"},
    {"WRONGPASS invalid username-password pair or user is disabled.",
     STORE_REDIS_REPLY_RECONNECT, "WRONGPASS"},
    {"CLUSTERDOWN The cluster is down", STORE_REDIS_REPLY_CLUSTERDOWN, "CLUSTERDOWN"},
    {"TRYAGAIN Multiple keys request during rehashing of slot", STORE_REDIS_REPLY_TRYAGAIN,
     "TRYAGAIN"},
    {"NOSCRIPT No matching script. Please use EVAL.", STORE_REDIS_REPLY_NOSCRIPT, "NOSCRIPT"},
    {"READONLY", STORE_REDIS_REPLY_RECONNECT, "READONLY"},
    {"ERR Error running script (call to f_...): @user_script:1: oops", STORE_REDIS_REPLY_OTHER,
     NULL},
    {"OOM command not allowed when used memory > 'maxmemory'.", STORE_REDIS_REPLY_OTHER, NULL},
    {"MOVED 3999 127.0.0.1:6381", STORE_REDIS_REPLY_OTHER, NULL},
    {"READONLYISH no such code", STORE_REDIS_REPLY_OTHER, NULL},
    {"readonly in lower case", STORE_REDIS_REPLY_OTHER, NULL},
    {" READONLY after a blank", STORE_REDIS_REPLY_OTHER, NULL},
    {"", STORE_REDIS_REPLY_OTHER, NULL},
};

START_TEST(test_reply_kind)
{
    const struct reply_case *k = &reply_cases[_i];
    const char *label = "unset";
    enum store_redis_reply_kind got = store_redis_reply_kind(k->text, &label);

    ck_assert_msg(got == k->want, "\"%s\": got kind %d, want %d", k->text, got, k->want);
    if (k->label == NULL)
        ck_assert_msg(label == NULL, "\"%s\": got label \"%s\", want none", k->text, label);
    else
        ck_assert_msg(label != NULL && strstr(label, k->label) != NULL,
                      "\"%s\": got label \"%s\", want \"%s\" in it", k->text,
                      label ? label : "(null)", k->label);
    ck_assert(store_redis_reply_kind(NULL, NULL) == STORE_REDIS_REPLY_OTHER);
}
END_TEST

static Suite *
breaker_suite(void)
{
    Suite  *s = suite_create("breaker");
    TCase  *tc = tcase_create("breaker");

    tcase_add_loop_test(tc, test_breaker_script, 0,
                        sizeof(breaker_cases) / sizeof(breaker_cases[0]));
    tcase_add_test(tc, test_breaker_race);
    tcase_add_loop_test(tc, test_reply_kind, 0, sizeof(reply_cases) / sizeof(reply_cases[0]));
    suite_add_tcase(s, tc);
    return s;
}

/* main - run the suite */
int
main(void)
{
    return daemon_run_suites(breaker_suite(), NULL) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

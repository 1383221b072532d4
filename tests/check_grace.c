/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_grace.c - common/grace.c: readers inside grace brackets while a
 * writer swaps the pointer they load and frees the old object.
 *
 * NREADERS threads load the current object in a bracket and read it
 * again and again; the main thread swaps in NSWAPS new objects (fewer,
 * but at least SWAPS_MIN, if SWAP_SECS run out on a loaded host), waits
 * out each grace period, poisons the old one and frees it. A freed object
 * read by a reader is a use after free that the suite's ASan build
 * reports; without ASan the poison still shows it. The readers also check
 * that each object is whole and that the generations they see never go
 * back. Another test shows that grace_wait() really waits for a bracket
 * that was open when it began.
 */
#include "config.h"

#include <check.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "daemon.h"
#include "grace.h"

#define NREADERS    4                    /* reader threads */
#define NSWAPS      5000                 /* objects the writer installs and frees ... */
#define SWAP_SECS   15                   /* ... unless this is up first (a loaded host) */
#define SWAPS_MIN   200                  /* swaps the test needs to mean something */
#define NREADS      16                   /* reads of one object per bracket */
#define OBJ_LIVE    0x4c495645UL         /* "LIVE": installed, not yet retired */
#define OBJ_DEAD    0x44454144UL         /* "DEAD": the writer is about to free it */

/* What the pointer points to: gen and its complement, and a state mark. */
struct obj {
    unsigned long magic;                 /* OBJ_LIVE until retired */
    unsigned long gen;                   /* the writer's counter */
    unsigned long check;                 /* ~gen */
};

/* What one reader found. */
struct reader {
    pthread_t tid;
    unsigned long rounds;                /* brackets done */
    unsigned long dead;                  /* objects read after they were retired */
    unsigned long torn;                  /* objects whose check did not match */
    unsigned long back;                  /* generations older than one seen before */
};

static struct grace g;                   /* the brackets around cur */
static _Atomic(struct obj *) cur;        /* the shared pointer */
static atomic_int stop;                  /* 1: the readers finish */

/* obj_new - a live object of generation gen */
static struct obj *
obj_new(unsigned long gen)
{
    struct obj *o = malloc(sizeof(*o));

    ck_assert_ptr_nonnull(o);
    o->magic = OBJ_LIVE;
    o->gen = gen;
    o->check = ~gen;
    return o;
}

/* reader_run - brackets without pause until stop; counts what is wrong */
static void *
reader_run(void *arg)
{
    struct reader *r = arg;
    unsigned long last = 0;

    while (!atomic_load(&stop)) {
        unsigned e = grace_enter(&g);
        struct obj *o = atomic_load(&cur);

        for (int i = 0; i < NREADS; i++) {
            /* volatile: read the memory each time, do not keep it in registers */
            const volatile struct obj *v = o;

            if (v->magic != OBJ_LIVE)
                r->dead++;
            if (v->check != ~v->gen)
                r->torn++;
        }
        if (o->gen < last)
            r->back++;
        last = o->gen;
        grace_leave(&g, e);
        r->rounds++;
    }
    return NULL;
}

/* test_swap_under_readers - NSWAPS swap, wait, poison, free while NREADERS read */
START_TEST(test_swap_under_readers)
{
    struct reader rd[NREADERS] = {0};
    unsigned long total = 0, swaps = 0;
    time_t  end = time(NULL) + SWAP_SECS;

    grace_init(&g);
    atomic_store(&cur, obj_new(0));
    atomic_store(&stop, 0);
    for (int i = 0; i < NREADERS; i++)
        ck_assert_int_eq(pthread_create(&rd[i].tid, NULL, reader_run, &rd[i]), 0);

    while (swaps < NSWAPS && (swaps < SWAPS_MIN || time(NULL) < end)) {
        struct obj *old = atomic_exchange(&cur, obj_new(++swaps));

        grace_wait(&g);
        old->magic = OBJ_DEAD;
        free(old);
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < NREADERS; i++)
        pthread_join(rd[i].tid, NULL);
    free(atomic_exchange(&cur, NULL));

    for (int i = 0; i < NREADERS; i++) {
        ck_assert_msg(rd[i].dead == 0 && rd[i].torn == 0 && rd[i].back == 0,
                      "reader %d: %lu reads of retired objects, %lu torn, %lu going back;"
                      " want none", i, rd[i].dead, rd[i].torn, rd[i].back);
        total += rd[i].rounds;
    }
    ck_assert_msg(total >= swaps / 10, "readers: %lu brackets in all for %lu swaps, want them busy",
                  total, swaps);
    ck_assert_uint_eq(atomic_load(&g.readers[0]) + atomic_load(&g.readers[1]), 0);
}
END_TEST

static atomic_int held;                  /* 1: the holder is inside its bracket */
static atomic_int release;               /* 1: the holder may leave */
static atomic_int waited;                /* 1: grace_wait returned */

/* holder_run - one bracket, open until release */
static void *
holder_run(void *arg)
{
    unsigned e = grace_enter(&g);

    (void) arg;
    atomic_store(&held, 1);
    while (!atomic_load(&release))
        sched_yield();
    grace_leave(&g, e);
    return NULL;
}

/* waiter_run - one grace period */
static void *
waiter_run(void *arg)
{
    (void) arg;
    grace_wait(&g);
    atomic_store(&waited, 1);
    return NULL;
}

/* test_wait_waits - grace_wait does not return while a bracket it saw is open */
START_TEST(test_wait_waits)
{
    struct timespec ms50 = {0, 50 * 1000 * 1000};
    pthread_t holder, waiter;

    grace_init(&g);
    atomic_store(&held, 0);
    atomic_store(&release, 0);
    atomic_store(&waited, 0);
    ck_assert_int_eq(pthread_create(&holder, NULL, holder_run, NULL), 0);
    while (!atomic_load(&held))
        sched_yield();
    ck_assert_int_eq(pthread_create(&waiter, NULL, waiter_run, NULL), 0);
    nanosleep(&ms50, NULL);
    ck_assert_msg(atomic_load(&waited) == 0, "grace_wait returned with a bracket open");
    atomic_store(&release, 1);
    pthread_join(holder, NULL);
    pthread_join(waiter, NULL);
    ck_assert_int_eq(atomic_load(&waited), 1);
}
END_TEST

/* test_idle - with no reader, grace_wait returns and moves the epoch by two */
START_TEST(test_idle)
{
    unsigned e;

    grace_init(&g);
    grace_wait(&g);
    ck_assert_uint_eq(atomic_load(&g.epoch), 2);
    e = grace_enter(&g);
    ck_assert_uint_eq(e, 0);
    ck_assert_uint_eq(atomic_load(&g.readers[0]), 1);
    grace_leave(&g, e);
    ck_assert_uint_eq(atomic_load(&g.readers[0]), 0);
}
END_TEST

static Suite *
grace_suite(void)
{
    Suite  *s = suite_create("grace");
    TCase  *tc = tcase_create("grace");

    tcase_add_test(tc, test_idle);
    tcase_add_test(tc, test_wait_waits);
    tcase_add_test(tc, test_swap_under_readers);
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return daemon_run_suites(grace_suite(), NULL) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

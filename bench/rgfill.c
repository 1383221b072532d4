/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * rgfill.c - fill a store with greylisting entries, fast, for the
 * benchmark's store-size sweep and its memory-per-triplet figure.
 *
 * It reads redgrey's own configuration file, opens the store exactly as
 * the daemon does (store_open with the same URL, key prefix and policy
 * parameters) and calls store_decide() on synthetic first sightings from
 * several threads: every call creates one pending grey entry, written by
 * the backend's own code. No milter, no libmilter, no sockets but the
 * store's. The triplets come from their own namespace (-s), so they never
 * collide with the load driver's.
 *
 * usage: rgfill -f CONF -n COUNT [-c THREADS] [-s SEED] [-6 PERCENT] [-d SECONDS]
 * Prints one key=value line: filled, errors, seconds, per_s.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cfg.h"
#include "cfg_store.h"
#include "clock.h"
#include "store.h"
#include "triplet.h"

#define FILL_THREADS_MAX 64
#define FILL_ERRORS_SHOWN 3

/* One filling thread. */
struct fill_worker {
    pthread_t tid;                       /* the thread */
    uint64_t first;                      /* first triplet number */
    uint64_t count;                      /* triplets to create */
    uint64_t done;                       /* created */
    uint64_t errors;                     /* store_decide failures */
};

static struct store *fill_store;         /* shared; store_decide is thread-safe */
static uint64_t fill_seed;               /* namespace of the triplets */
static unsigned fill_v6 = 20;            /* share of IPv6 client nets, percent */
static int64_t fill_deadline;            /* cap on the whole fill (clock_mono_us) */

/* fill_mix - the SplitMix64 finaliser */
static uint64_t
fill_mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/*
 * fill_triplet - triplet number i: a client net among 2^16 /24s of
 * 10.0.0.0/8 or, for fill_v6 percent of them, a /64 of 2001:db8::/32; a
 * sender and a recipient, normalised as redgrey would store them.
 */
static void
fill_triplet(uint64_t i, struct triplet *t)
{
    uint64_t h = fill_mix(fill_mix(fill_seed) ^ i);

    if ((h >> 40) % 100 < fill_v6)
        snprintf(t->client_key, sizeof(t->client_key), "2001:db8:%x:%x::/64",
                 (unsigned) ((h >> 8) & 0xffff), (unsigned) ((h >> 24) & 0xffff));
    else
        snprintf(t->client_key, sizeof(t->client_key), "10.%u.%u.0/24",
                 (unsigned) ((h >> 8) & 0xff), (unsigned) ((h >> 16) & 0xff));
    snprintf(t->sender, sizeof(t->sender), "f%012" PRIx64 "@d%08" PRIx32 ".example.org",
             h >> 16, (uint32_t) fill_mix(h));
    snprintf(t->rcpt, sizeof(t->rcpt), "r%016" PRIx64 "@example.net", fill_mix(h ^ 1));
}

/* fill_past - whether the deadline has passed */
static int
fill_past(void)
{
    return clock_mono_us() >= fill_deadline;
}

/* fill_worker_main - create this thread's share of the triplets */
static void *
fill_worker_main(void *arg)
{
    struct fill_worker *w = arg;
    struct triplet t;
    struct policy_verdict v;
    char    err[STORE_ERRLEN];

    for (uint64_t i = 0; i < w->count; i++) {
        if ((i & 255) == 0 && fill_past())
            break;
        fill_triplet(w->first + i, &t);
        if (store_decide(fill_store, &t, &v, err, sizeof(err)) != 0) {
            if (w->errors++ < FILL_ERRORS_SHOWN)
                fprintf(stderr, "rgfill: %s\n", err);
            continue;
        }
        w->done++;
    }
    return NULL;
}

/* fill_number - a bounded unsigned option; exits on junk */
static unsigned long long
fill_number(const char *opt, const char *s, unsigned long long lo, unsigned long long hi)
{
    char   *end;
    unsigned long long v;

    errno = 0;
    v = strtoull(s, &end, 10);
    if (s[0] == '-' || end == s || *end != '\0' || errno != 0 || v < lo || v > hi) {
        fprintf(stderr, "rgfill: -%s: want a number from %llu to %llu, got \"%s\"\n",
                opt, lo, hi, s);
        exit(2);
    }
    return v;
}

int
main(int argc, char **argv)
{
    struct fill_worker workers[FILL_THREADS_MAX];
    struct store_config sc;
    int64_t t0, t1;
    const char *conf = NULL;
    uint64_t count = 0, done = 0, errors = 0;
    int     threads = 4, seconds = 300, ch, started;
    char    err[CFG_ERRLEN];
    struct cfg *c;
    double  secs;

    while ((ch = getopt(argc, argv, "6:c:d:f:n:s:")) != -1) {
        switch (ch) {
        case '6':
            fill_v6 = (unsigned) fill_number("6", optarg, 0, 100);
            break;
        case 'c':
            threads = (int) fill_number("c", optarg, 1, FILL_THREADS_MAX);
            break;
        case 'd':
            seconds = (int) fill_number("d", optarg, 1, 3600);
            break;
        case 'f':
            conf = optarg;
            break;
        case 'n':
            count = fill_number("n", optarg, 0, 100000000ULL);
            break;
        case 's':
            fill_seed = fill_number("s", optarg, 0, ULLONG_MAX);
            break;
        default:
            conf = NULL;
            optind = argc + 1;
            break;
        }
    }
    if (conf == NULL || optind != argc) {
        fprintf(stderr, "usage: rgfill -f CONF -n COUNT [-c THREADS] [-s SEED] [-6 PERCENT] [-d SECONDS]\n");
        return 2;
    }
    if ((c = cfg_load(conf, err, sizeof(err))) == NULL) {
        fprintf(stderr, "rgfill: %s\n", err);
        return 1;
    }

    /* The store's view of the configuration, as the daemon's, with a connection per thread. */
    cfg_store_config(c, &sc);
    if (threads > sc.pool)
        sc.pool = threads;
    if ((fill_store = store_open(&sc, err, sizeof(err))) == NULL) {
        fprintf(stderr, "rgfill: %s\n", err);
        cfg_free(c);
        return 1;
    }

    t0 = clock_mono_us();
    fill_deadline = t0 + (int64_t) seconds * 1000000;
    memset(workers, 0, sizeof(workers));
    for (started = 0; started < threads; started++) {
        struct fill_worker *w = &workers[started];

        w->count = count / (uint64_t) threads + ((uint64_t) started < count % (uint64_t) threads);
        w->first = started == 0 ? 0 : workers[started - 1].first + workers[started - 1].count;
        if (pthread_create(&w->tid, NULL, fill_worker_main, w) != 0) {
            fprintf(stderr, "rgfill: cannot start thread %d\n", started);
            break;
        }
    }
    for (int i = 0; i < started; i++) {
        pthread_join(workers[i].tid, NULL);
        done += workers[i].done;
        errors += workers[i].errors;
    }
    t1 = clock_mono_us();
    secs = (double) (t1 - t0) / 1e6;
    printf("filled=%" PRIu64 " errors=%" PRIu64 " seconds=%.2f per_s=%.0f\n",
           done, errors, secs, secs > 0 ? (double) done / secs : 0);
    store_free(fill_store);
    cfg_free(c);
    return errors == 0 && done == count ? 0 : 1;
}

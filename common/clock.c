/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * clock.c - the one place that reads CLOCK_MONOTONIC (clock.h).
 *
 * clock_gettime(CLOCK_MONOTONIC) cannot fail on the systems redgrey runs
 * on (Linux, the BSDs: the clock id is valid and the pointer ours), so
 * its result is not checked.
 */
#include "config.h"

#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "clock.h"

/* clock_mono_us - monotonic microseconds */
int64_t
clock_mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* clock_mono_ms - monotonic milliseconds */
int64_t
clock_mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* clock_mono_s - monotonic seconds */
time_t
clock_mono_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
}

/* clock_mono_ts - monotonic now as a timespec */
struct timespec
clock_mono_ts(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts;
}

/* clock_ts - microseconds of the monotonic clock as a timespec */
struct timespec
clock_ts(int64_t mono_us)
{
    struct timespec ts;

    if (mono_us < 0)
        mono_us = 0;
    ts.tv_sec = (time_t) (mono_us / 1000000);
    ts.tv_nsec = (long) (mono_us % 1000000) * 1000;
    return ts;
}

/* clock_ts_after_ms - now + ms as a timespec */
struct timespec
clock_ts_after_ms(int64_t ms)
{
    struct timespec ts = clock_mono_ts();

    if (ms < 0)
        ms = 0;
    ts.tv_sec += (time_t) (ms / 1000);
    ts.tv_nsec += (long) (ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

/* clock_cond_init - a condition variable timed on CLOCK_MONOTONIC */
int
clock_cond_init(pthread_cond_t *cond)
{
    pthread_condattr_t ca;
    int     rc;

    if ((rc = pthread_condattr_init(&ca)) != 0)
        return rc;
    if ((rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC)) == 0)
        rc = pthread_cond_init(cond, &ca);
    pthread_condattr_destroy(&ca);
    return rc;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * clock.h - the monotonic clock, in the units its users want.
 *
 * Every timeout, deadline and duration in redgrey is measured on
 * CLOCK_MONOTONIC, which never steps when the wall clock is set. A
 * deadline is a clock_mono_us() value; clock_ts() turns it into the
 * struct timespec that pthread_cond_timedwait() wants, for a condition
 * variable made by clock_cond_init() (the default clock of a condition
 * variable is CLOCK_REALTIME, and the two must agree).
 *
 * Thread-safety: every function may be called from any thread.
 */
#ifndef REDGREY_CLOCK_H
#define REDGREY_CLOCK_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

/* clock_mono_us - monotonic microseconds */
int64_t clock_mono_us(void);

/* clock_mono_ms - monotonic milliseconds */
int64_t clock_mono_ms(void);

/* clock_mono_s - monotonic seconds */
time_t  clock_mono_s(void);

/* clock_mono_ts - the monotonic clock now, as a struct timespec */
struct timespec clock_mono_ts(void);

/* clock_ts - a clock_mono_us() time (a deadline) as a struct timespec */
struct timespec clock_ts(int64_t mono_us);

/* clock_ts_after_ms - now plus ms milliseconds (ms < 0 counts as 0), as a timespec */
struct timespec clock_ts_after_ms(int64_t ms);

/*
 * clock_cond_init - pthread_cond_init of a condition variable whose timed
 * waits take CLOCK_MONOTONIC times (clock_ts, clock_ts_after_ms).
 * Returns 0 or an error number, as pthread_cond_init.
 */
int     clock_cond_init(pthread_cond_t *cond);

#endif

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * log.h - logging for the daemon, the admin tool and the library.
 *
 * Messages go to syslog(3), to stderr, or to a file that log_reopen()
 * opens again after logrotate moved it (the daemon's log_target; tools use
 * log_init and stderr). Lines of the daemon on stderr or in a file start
 * with an ISO-8601 time with its UTC offset. Levels follow syslog. Startup and configuration errors use log_fatal(), which exits;
 * nothing on the hot path ever exits. log_limit rate-limits a recurring
 * runtime error (a store outage) to one line per interval, with a count.
 *
 * Thread-safety: every function may be called from any thread after
 * log_init().
 */
#ifndef REDGREY_LOG_H
#define REDGREY_LOG_H

#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

/* log_init - set identity, facility, threshold and destination (plain stderr lines) */
void log_init(const char *ident, int facility, int level, int to_stderr);

/*
 * log_target_check - 0 if spec is "syslog", "stderr" or "file:/PATH" (an
 * absolute file name), else -1 with a reason in err
 */
int     log_target_check(const char *spec, char *err, size_t errlen);

/*
 * log_open - log_init for the daemon: target as log_target_check takes it;
 * "syslog" means stderr when foreground is set; a file is opened (created
 * 0640) and appended to. Stderr and file lines carry an ISO-8601 time.
 * Returns 0, or -1 with a reason in err (nothing changed).
 */
int     log_open(const char *ident, int facility, int level, const char *target,
                 int foreground, char *err, size_t errlen);

/*
 * log_reopen - open the file target's path again (logrotate moved the
 * file) and write there from now on. Returns 0, 1 when the target is no
 * file, -1 with a reason in err (the old file stays in use).
 */
int     log_reopen(char *err, size_t errlen);

/* log_file_chown - give the open log file to uid:gid; 0, 1 without a file target, -1 with err */
int     log_file_chown(uid_t uid, gid_t gid, char *err, size_t errlen);

/* log_file_path - the path of the file target, or NULL */
const char *log_file_path(void);

/*
 * log_iso_time - ts as "2026-12-07T13:04:05.123+01:00" (local time,
 * milliseconds, UTC offset) into buf; returns the length written
 */
size_t  log_iso_time(const struct timespec *ts, char *buf, size_t len);

/* log_set_level - change the threshold (a syslog LOG_* level) */
void log_set_level(int level);

/* log_level_parse - "debug".."err" to a LOG_* level; -1 if unknown */
int log_level_parse(const char *name);

/* log_facility_parse - "mail", "daemon", "local0".."local7"; -1 if unknown */
int log_facility_parse(const char *name);

/* log_wants - 1 if a message at level would be written (to skip building it) */
int log_wants(int level);

void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_vmsg(int level, const char *fmt, va_list ap);
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARNING, __VA_ARGS__)
#define log_err(...)   log_msg(LOG_ERR, __VA_ARGS__)

/* log_fatal - log at LOG_ERR (and to stderr) and exit(1); startup only */
void log_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/*
 * A rate limiter for one recurring condition ("the store is down").
 * log_limit_fail() logs the first failure of an outage at once, then at
 * most one line per interval carrying the number of failures (and of
 * successes) since the previous line. log_limit_ok() records a success;
 * the outage is over, and its end logged once, only when no failure has
 * happened for a whole interval, so intermittent failures under load
 * cost at most one line per interval, never one per failure.
 *
 * Times are seconds of the monotonic clock (clock_mono_s(): time() could
 * step back and stall a recovery); the *_at forms take the time from the
 * caller, which is how tests drive them.
 * When no outage is in progress, log_limit_ok() is a single atomic load.
 */
struct log_limit {
    pthread_mutex_t lock;            /* guards the fields below */
    const char *what;                /* "store", used in the lines */
    int     interval;                /* seconds between lines; quiet time for recovery */
    int     failing;                 /* 1 while in an outage; also read atomically */
    unsigned long count;             /* failures since the last line */
    unsigned long total;             /* failures in this outage */
    unsigned long ok;                /* successes since the last line (atomic add) */
    unsigned long ok_total;          /* successes in this outage before the last line */
    time_t  last_logged;             /* when the last line was written */
    time_t  since;                   /* when the outage started */
    time_t  last_failure;            /* the latest failure; also read atomically */
};

#define LOG_LIMIT_INIT(what_, interval_) \
    { PTHREAD_MUTEX_INITIALIZER, (what_), (interval_), 0, 0, 0, 0, 0, 0, 0, 0 }

/*
 * log_limit_fail_at - record one failure with its reason at time now;
 * logs the start of an outage, or a "still failing" line when the last
 * line is an interval old. Returns 1 if a line was written, else 0.
 */
int     log_limit_fail_at(struct log_limit *lim, const char *reason, time_t now);

/*
 * log_limit_ok_at - record one success at time now; ends the outage (and
 * logs it) once now is an interval past the latest failure. Returns 1 if
 * the recovery was logged, else 0. A time before the latest failure
 * counts as no quiet time at all.
 */
int     log_limit_ok_at(struct log_limit *lim, time_t now);

/* log_limit_fail - log_limit_fail_at(lim, reason, clock_mono_s()) */
int     log_limit_fail(struct log_limit *lim, const char *reason);

/* log_limit_ok - log_limit_ok_at at clock_mono_s(); one atomic load outside outages */
int     log_limit_ok(struct log_limit *lim);

#include <syslog.h>

#endif

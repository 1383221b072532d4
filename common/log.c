/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * log.c - syslog or stderr logging, and a limiter for recurring errors.
 *
 * One line per call, never split across writes, so lines from different
 * threads never interleave. The limiter follows Postfix's dict_cache idea:
 * an outage under load must not flood the log.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "ascii.h"
#include "clock.h"
#include "log.h"

static int log_to_stderr = 1;
static int log_threshold = LOG_INFO;
static const char *log_ident = "redgrey";

/* log_init - set identity, facility, threshold and destination */
void
log_init(const char *ident, int facility, int level, int to_stderr)
{
    log_ident = ident;
    log_threshold = level;
    log_to_stderr = to_stderr;
    if (!to_stderr)
        openlog(ident, LOG_PID | LOG_NDELAY, facility);
}

/* log_set_level - change the threshold */
void
log_set_level(int level)
{
    log_threshold = level;
}

static const struct {
    const char *name;
    int     value;
} log_levels[] = {
    {"debug", LOG_DEBUG}, {"info", LOG_INFO}, {"notice", LOG_NOTICE},
    {"warning", LOG_WARNING}, {"err", LOG_ERR}, {"error", LOG_ERR},
}, log_facilities[] = {
    {"mail", LOG_MAIL}, {"daemon", LOG_DAEMON}, {"user", LOG_USER},
    {"local0", LOG_LOCAL0}, {"local1", LOG_LOCAL1}, {"local2", LOG_LOCAL2},
    {"local3", LOG_LOCAL3}, {"local4", LOG_LOCAL4}, {"local5", LOG_LOCAL5},
    {"local6", LOG_LOCAL6}, {"local7", LOG_LOCAL7},
};

/* log_level_parse - level name to LOG_* value */
int
log_level_parse(const char *name)
{
    for (size_t i = 0; i < sizeof(log_levels) / sizeof(log_levels[0]); i++)
        if (ascii_casecmp(name, log_levels[i].name) == 0)
            return log_levels[i].value;
    return -1;
}

/* log_facility_parse - facility name to LOG_* value */
int
log_facility_parse(const char *name)
{
    for (size_t i = 0; i < sizeof(log_facilities) / sizeof(log_facilities[0]); i++)
        if (ascii_casecmp(name, log_facilities[i].name) == 0)
            return log_facilities[i].value;
    return -1;
}

/* log_vmsg - format once, write once */
void
log_vmsg(int level, const char *fmt, va_list ap)
{
    char    line[2048];

    if (level > log_threshold)
        return;
    vsnprintf(line, sizeof(line), fmt, ap);
    if (log_to_stderr) {
        static const char *names[] = {"emerg", "alert", "crit", "error",
                                      "warning", "notice", "info", "debug"};
        fprintf(stderr, "%s[%ld]: %s: %s\n", log_ident, (long) getpid(),
                names[level & 7], line);
    } else {
        syslog(level, "%s", line);
    }
}

/* log_msg - log one line at a level */
void
log_msg(int level, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_vmsg(level, fmt, ap);
    va_end(ap);
}

/* log_wants - whether level passes the threshold */
int
log_wants(int level)
{
    return level <= log_threshold;
}

/* log_fatal - log, also on stderr when logging to syslog, and exit */
void
log_fatal(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_vmsg(LOG_ERR, fmt, ap);
    va_end(ap);
    if (!log_to_stderr) {
        va_start(ap, fmt);
        fprintf(stderr, "%s: fatal: ", log_ident);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        va_end(ap);
    }
    exit(1);
}

/* log_limit_fail_at - count a failure; log the first and then one per interval */
int
log_limit_fail_at(struct log_limit *lim, const char *reason, time_t now)
{
    unsigned long n, ok;

    pthread_mutex_lock(&lim->lock);
    lim->count++;
    lim->total++;
    __atomic_store_n(&lim->last_failure, now, __ATOMIC_RELAXED);
    if (!lim->failing) {
        lim->since = now;
        lim->last_logged = now;
        lim->count = 0;
        lim->ok_total = 0;
        __atomic_store_n(&lim->ok, 0, __ATOMIC_RELAXED);
        /* Release: a reader that sees failing also sees last_failure. */
        __atomic_store_n(&lim->failing, 1, __ATOMIC_RELEASE);
        pthread_mutex_unlock(&lim->lock);
        log_warn("%s: outage: %s", lim->what, reason);
        return 1;
    }
    if (now - lim->last_logged < lim->interval) {
        pthread_mutex_unlock(&lim->lock);
        return 0;
    }
    n = lim->count;
    ok = __atomic_exchange_n(&lim->ok, 0, __ATOMIC_RELAXED);
    lim->ok_total += ok;
    lim->count = 0;
    lim->last_logged = now;
    pthread_mutex_unlock(&lim->lock);
    log_warn("%s: still failing: %s (%lu more failures and %lu successes in the last %lds)",
             lim->what, reason, n, ok, (long) lim->interval);
    return 1;
}

/*
 * log_limit_ok_at - note a success; log once when an outage has been
 * quiet for an interval. Outside an outage it is one atomic load; inside
 * one, an atomic add and a load, and the lock only when recovery is due.
 */
int
log_limit_ok_at(struct log_limit *lim, time_t now)
{
    unsigned long total, ok;
    time_t  since, last;

    if (!__atomic_load_n(&lim->failing, __ATOMIC_ACQUIRE))
        return 0;
    __atomic_add_fetch(&lim->ok, 1, __ATOMIC_RELAXED);
    last = __atomic_load_n(&lim->last_failure, __ATOMIC_RELAXED);
    if (now < last || now - last < lim->interval)
        return 0;

    /* The unlocked reads were a hint; the locked check decides. */
    pthread_mutex_lock(&lim->lock);
    last = lim->last_failure;
    if (!lim->failing || now < last || now - last < lim->interval) {
        pthread_mutex_unlock(&lim->lock);
        return 0;
    }
    total = lim->total;
    ok = lim->ok_total + __atomic_exchange_n(&lim->ok, 0, __ATOMIC_RELAXED);
    since = lim->since;
    lim->total = lim->count = lim->ok_total = 0;
    __atomic_store_n(&lim->failing, 0, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&lim->lock);
    log_warn("%s: recovered: no failure for %lds (outage of %lds: %lu failures, %lu successes)",
             lim->what, (long) (now - last), (long) (last - since), total, ok);
    return 1;
}

/* log_limit_fail - log_limit_fail_at now */
int
log_limit_fail(struct log_limit *lim, const char *reason)
{
    return log_limit_fail_at(lim, reason, clock_mono_s());
}

/* log_limit_ok - the cheap check first: no clock read outside an outage */
int
log_limit_ok(struct log_limit *lim)
{
    if (!__atomic_load_n(&lim->failing, __ATOMIC_ACQUIRE))
        return 0;
    return log_limit_ok_at(lim, clock_mono_s());
}

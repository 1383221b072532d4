/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * log.c - the log target (syslog, stderr or a file reopened for
 * logrotate), and a limiter for recurring errors.
 *
 * One line per call, formatted whole and written with one write(2) on an
 * O_APPEND descriptor, so lines from different threads never interleave.
 * The daemon's stderr and file lines start with an ISO-8601 local time
 * with its UTC offset. A reopen opens the path again and dup2()s the new
 * file over the old descriptor: writers never see a closed descriptor
 * and take no lock. The limiter follows Postfix's dict_cache idea: an
 * outage under load must not flood the log.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "ascii.h"
#include "clock.h"
#include "log.h"

#define LOG_FILE_PREFIX "file:"
#define LOG_PATH_MAX 1024

static int log_to_stderr = 1;            /* 0: syslog; 1: log_fd */
static int log_threshold = LOG_INFO;
static const char *log_ident = "redgrey";
static int log_fd = STDERR_FILENO;       /* where non-syslog lines go */
static int log_stamped;                  /* lines start with an ISO-8601 time */
static char log_path[LOG_PATH_MAX];      /* the file target, or "" */

/* log_init - set identity, facility, threshold and destination */
void
log_init(const char *ident, int facility, int level, int to_stderr)
{
    log_ident = ident;
    log_threshold = level;
    log_to_stderr = to_stderr;
    log_fd = STDERR_FILENO;
    log_stamped = 0;
    log_path[0] = '\0';
    if (!to_stderr)
        openlog(ident, LOG_PID | LOG_NDELAY, facility);
}

/* log_target_check - syslog, stderr or file:/ABSOLUTE/PATH */
int
log_target_check(const char *spec, char *err, size_t errlen)
{
    const char *path = spec + strlen(LOG_FILE_PREFIX);

    if (strcmp(spec, "syslog") == 0 || strcmp(spec, "stderr") == 0)
        return 0;
    if (strncmp(spec, LOG_FILE_PREFIX, strlen(LOG_FILE_PREFIX)) != 0) {
        snprintf(err, errlen, "want syslog, stderr or file:/PATH");
        return -1;
    }
    if (path[0] != '/' || path[strlen(path) - 1] == '/') {
        snprintf(err, errlen, "want file: and an absolute file name");
        return -1;
    }
    if (strlen(path) >= LOG_PATH_MAX) {
        snprintf(err, errlen, "file name longer than %d bytes", LOG_PATH_MAX - 1);
        return -1;
    }
    return 0;
}

/* log_file_open - path opened for appending, on a descriptor above stderr; -1 */
static int
log_file_open(const char *path)
{
    int     fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOCTTY | O_CLOEXEC, 0640);
    int     high;

    if (fd < 0 || fd > STDERR_FILENO)
        return fd;
    /* Never 0..2: a detaching daemon points those at /dev/null. */
    high = fcntl(fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
    close(fd);
    return high;
}

/* log_open - the daemon's target; stamped lines on stderr and files */
int
log_open(const char *ident, int facility, int level, const char *target, int foreground,
         char *err, size_t errlen)
{
    int     fd;

    if (log_target_check(target, err, errlen) != 0)
        return -1;
    if (strncmp(target, LOG_FILE_PREFIX, strlen(LOG_FILE_PREFIX)) == 0) {
        const char *path = target + strlen(LOG_FILE_PREFIX);

        if ((fd = log_file_open(path)) < 0) {
            snprintf(err, errlen, "log file %s: %s", path, strerror(errno));
            return -1;
        }
        log_init(ident, facility, level, 1);
        snprintf(log_path, sizeof(log_path), "%s", path);
        log_fd = fd;
    } else {
        log_init(ident, facility, level, foreground || strcmp(target, "stderr") == 0);
    }
    log_stamped = 1;
    return 0;
}

/* log_reopen - open the file target's path again, over the same descriptor */
int
log_reopen(char *err, size_t errlen)
{
    int     fd;

    if (log_path[0] == '\0')
        return 1;
    if ((fd = log_file_open(log_path)) < 0) {
        snprintf(err, errlen, "log file %s: cannot reopen, still writing to the old one: %s",
                 log_path, strerror(errno));
        return -1;
    }
    /* dup2 swaps the file under log_fd atomically: a writer gets the old or the new one. */
    if (dup2(fd, log_fd) < 0) {
        snprintf(err, errlen, "log file %s: dup2: %s", log_path, strerror(errno));
        close(fd);
        return -1;
    }
    close(fd);
    return 0;
}

/* log_file_chown - the open log file to uid:gid; 0, 1 without a file target, -1 */
int
log_file_chown(uid_t uid, gid_t gid, char *err, size_t errlen)
{
    if (log_path[0] == '\0')
        return 1;
    if (fchown(log_fd, uid, gid) != 0) {
        snprintf(err, errlen, "log file %s: chown: %s", log_path, strerror(errno));
        return -1;
    }
    return 0;
}

/* log_file_path - the file target's path, or NULL */
const char *
log_file_path(void)
{
    return log_path[0] != '\0' ? log_path : NULL;
}

/* log_iso_time - ts as local ISO-8601 time with milliseconds and UTC offset */
size_t
log_iso_time(const struct timespec *ts, char *buf, size_t len)
{
    struct tm tm;
    char    date[32];
    long    off;
    int     n;

    if (localtime_r(&ts->tv_sec, &tm) == NULL || strftime(date, sizeof(date),
                                                          "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
        tm.tm_gmtoff = 0;
        snprintf(date, sizeof(date), "%lld", (long long) ts->tv_sec);
    }
    off = tm.tm_gmtoff / 60;
    n = snprintf(buf, len, "%s.%03ld%c%02ld:%02ld", date, (long) (ts->tv_nsec / 1000000),
                 off < 0 ? '-' : '+', labs(off) / 60, labs(off) % 60);
    return n < 0 ? 0 : (size_t) n < len ? (size_t) n : len - 1;
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
    static const char *names[] = {"emerg", "alert", "crit", "error",
                                  "warning", "notice", "info", "debug"};
    char    msg[2048], line[2200], stamp[48] = "";
    struct timespec now;
    int     n;

    if (level > log_threshold)
        return;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    if (!log_to_stderr) {
        syslog(level, "%s", msg);
        return;
    }
    if (log_stamped && clock_gettime(CLOCK_REALTIME, &now) == 0) {
        log_iso_time(&now, stamp, sizeof(stamp) - 1);
        strcat(stamp, " ");
    }
    n = snprintf(line, sizeof(line), "%s%s[%ld]: %s: %s\n", stamp, log_ident, (long) getpid(),
                 names[level & 7], msg);
    if (n >= (int) sizeof(line)) {
        n = sizeof(line) - 1;
        line[n - 1] = '\n';
    }
    /* One write: a line is never split between threads. A failure has nowhere to go. */
    while (write(log_fd, line, (size_t) n) < 0 && errno == EINTR)
        continue;
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

/* log_fatal - log, also on stderr when logging to syslog or a file, and exit */
void
log_fatal(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_vmsg(LOG_ERR, fmt, ap);
    va_end(ap);
    if (!log_to_stderr || log_fd != STDERR_FILENO) {
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

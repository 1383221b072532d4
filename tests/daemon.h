/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * daemon.h - the tests' one support module: the helpers every check
 * program shares, and the processes the end-to-end tests start and stop.
 *
 * Shared helpers: running the suites, the clock, scratch files and
 * directories, reading and writing whole files, reading a descriptor
 * within a bound, a free loopback port, parsing a test's own address, the
 * pid of the test Redis. Where a helper says "_ok" or "fails the test",
 * it asserts with check(3); the others return an error.
 *
 * Processes: the redgrey daemon under test, dnsmasq as a loopback DNS
 * server for SPF, and one-shot commands. Every process listens on a free
 * loopback port, writes its output to a log in the test's scratch
 * directory, is waited for with a bound, and is stopped by its PID.
 * (tests/mta.h plays the MTA against a started redgrey.)
 *
 * Thread-safety: start and stop from the test's main thread; the log,
 * clock and file helpers from any thread.
 */
#ifndef REDGREY_TEST_DAEMON_H
#define REDGREY_TEST_DAEMON_H

#include <check.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "ipaddr.h"

struct cfg;

#define DAEMON_REDGREY_BIN TEST_BUILDDIR "/../milter/redgrey"
#define DAEMON_EXITED      (-2)          /* the process exited during startup */

struct daemon {
    pid_t   pid;                         /* running process, or 0 */
    int     port;                        /* its loopback port */
    char    name[32];                    /* for messages and file names */
    char    spec[64];                    /* redgrey: inet:PORT@127.0.0.1 */
    char    conf[600];                   /* redgrey: its configuration */
    char    log[600];                    /* its stdout and stderr */
    int     starts_before;               /* redgrey: "starting" lines logged before this start */
};

/* What daemon_start_redgrey_with sets besides the usual test settings. */
struct daemon_redgrey_opts {
    const char *store;                   /* store URL; NULL: the Redis of with-redis.sh */
    const char *user;                    /* user = ...; NULL: "" (no privilege drop) */
    const char *extra;                   /* more configuration lines (new keys), or NULL */
    const char *const *env;              /* "NAME=VALUE" added to the environment, NULL
                                          * ended; or NULL */
    const char *key_prefix;              /* NULL: "rgtPIDNAME:", one of its own */
};

/* ---- shared helpers ---------------------------------------------------- */

/*
 * daemon_run_suites - run the suites (NULL ended) in one runner, forking
 * per test (CK_NORMAL output); returns the number of failed tests
 */
int     daemon_run_suites(Suite *first, ...);

/* daemon_now_ms - monotonic milliseconds */
long long daemon_now_ms(void);

/* daemon_ms_since - milliseconds on the monotonic clock since t0 (taken with it) */
long    daemon_ms_since(const struct timespec *t0);

/* daemon_sleep_ms - sleep ms milliseconds, resuming after signals */
void    daemon_sleep_ms(long ms);

/* daemon_tmp - the scratch directory of with-redis.sh, or NULL outside it */
const char *daemon_tmp(void);

/*
 * daemon_write_file - replace path with text: written to a temporary
 * file and renamed, so a reader sees the old or the new file, never half.
 * 0 or -1.
 */
int     daemon_write_file(const char *path, const char *text);

/* daemon_read_file - the whole of path in a malloc'ed string, or NULL */
char   *daemon_read_file(const char *path);

/* daemon_read_file_ok - daemon_read_file that fails the test if path cannot be read */
char   *daemon_read_file_ok(const char *path);

/*
 * daemon_scratch_path - buf = "DIR/PID-name", DIR the scratch directory
 * of with-redis.sh (else TMPDIR, else /tmp); returns buf
 */
const char *daemon_scratch_path(char *buf, size_t len, const char *name);

/*
 * daemon_dir_new - a fresh empty directory "DIR/prefix.XXXXXX" (DIR as
 * for daemon_scratch_path) into buf; fails the test if it cannot
 */
void    daemon_dir_new(char *buf, size_t len, const char *prefix);

/* daemon_dir_remove - remove path and everything under it; "" is a no-op */
void    daemon_dir_remove(const char *path);

/*
 * daemon_read_full - read exactly len bytes from fd within ms in all;
 * 0, or -1 on end of file, an error or the bound
 */
int     daemon_read_full(int fd, void *buf, size_t len, int ms);

/* daemon_must_ip - parse an address the test itself wrote; fails the test if it is bad */
struct ipaddr daemon_must_ip(const char *text);

/*
 * daemon_cfg_dump_text - cfg_dump's output without its first line (which
 * names the file), malloc'ed, or NULL; for use outside a test too
 */
char   *daemon_cfg_dump_text(const struct cfg *cfg);

/* daemon_cfg_dump_body - daemon_cfg_dump_text that fails the test if it cannot */
char   *daemon_cfg_dump_body(const struct cfg *cfg);

/*
 * daemon_redis_pid - the pid of the test Redis, from the pidfile
 * with-redis.sh names: the pid (> 1), 0 if the file holds none, -1 if it
 * cannot be read
 */
long    daemon_redis_pid(void);

/*
 * daemon_bind_loopback - a socket of type (SOCK_STREAM, SOCK_DGRAM) bound
 * to a free port of 127.0.0.1: the descriptor and *port, or -1
 */
int     daemon_bind_loopback(int type, int *port);

/*
 * daemon_free_port - a loopback TCP port nobody listens on right now, or
 * -1. Someone may take it before the caller binds it: the start functions
 * below bind in the daemon and try another port if it says the address
 * is in use, and so must any other caller.
 */
int     daemon_free_port(void);

/* ---- processes ---------------------------------------------------------- */

/*
 * daemon_start_redgrey_with - write a configuration (socket on a free
 * loopback port, o->store, key prefix, o->user and the usual test
 * settings, then o->extra, which may override nothing but adds keys),
 * start redgrey -f with o->env added to its environment, and wait until
 * it listens and has logged "starting". A port taken before redgrey
 * binds it is retried with another. The same name may be started again
 * (a restart): the log is appended to, and only new lines count.
 * Returns 0, DAEMON_EXITED (log kept in d->log) or -1.
 */
int     daemon_start_redgrey_with(struct daemon *d, const char *name,
                                  const struct daemon_redgrey_opts *o);

/* daemon_start_redgrey - daemon_start_redgrey_with on the test Redis, no user */
int     daemon_start_redgrey(struct daemon *d, const char *name, const char *extra,
                             const char *const *env);

/*
 * daemon_start_dnsmasq - start dnsmasq on a free loopback UDP/TCP port,
 * answering only from args (its --txt-record=... options, NULL ended) and
 * NXDOMAIN for other names under local_domain. Waits until it listens.
 * Returns 0 or -1.
 */
int     daemon_start_dnsmasq(struct daemon *d, const char *local_domain,
                             const char *const *args);

/*
 * daemon_stop - SIGTERM, then wait at most ms for the exit. Returns 0 for
 * a clean exit 0 in time, else -1 with the reason on stderr (a process
 * that outlives the bound is SIGKILLed and reaped).
 */
int     daemon_stop(struct daemon *d, int ms);

/* daemon_signal - send sig to the process; 0 or -1 */
int     daemon_signal(const struct daemon *d, int sig);

/*
 * daemon_wait - wait at most ms for the process to exit; returns its
 * wait status, or -1 if it did not exit in time (it is then SIGKILLed
 * and reaped). pid becomes 0 either way.
 */
int     daemon_wait(struct daemon *d, int ms);

/* daemon_log_print - d's log on stderr, framed by a line with its name */
void    daemon_log_print(const struct daemon *d);

/* daemon_log_count - how many times needle occurs in d's log */
int     daemon_log_count(const struct daemon *d, const char *needle);

/*
 * daemon_log_wait - wait at most ms until needle occurs at least n times
 * in d's log; returns the count seen last.
 */
int     daemon_log_wait(const struct daemon *d, const char *needle, int n, int ms);

/*
 * daemon_run - run argv (argv[0] a path) to completion within ms, its
 * stdout and stderr into outpath (truncated first): for one-shot
 * commands such as redgreyctl. Returns the exit code (0..255), or -1 if
 * it did not exit normally in time (it is then killed and reaped).
 */
int     daemon_run(const char *const *argv, const char *outpath, int ms);

/*
 * daemon_capture - daemon_run into a scratch file, then its output into
 * out (NUL-terminated, truncated to outlen). Same return as daemon_run.
 */
int     daemon_capture(const char *const *argv, char *out, size_t outlen, int ms);

#endif

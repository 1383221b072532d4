/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * proc.h - helpers for end-to-end tests that start real programs
 * (redgrey, redgreyctl, dnsmasq) on loopback: free ports, spawning with
 * the output in a file, readiness by the kernel's socket tables, bounded
 * stops, and reading the files they write.
 *
 * Every wait is bounded; every process is stopped by its PID.
 *
 * Thread-safety: for a test's main thread.
 */
#ifndef REDGREY_TESTS_PROC_H
#define REDGREY_TESTS_PROC_H

#include <stddef.h>
#include <sys/types.h>

#define PROC_EXITED (-2)               /* the program exited while we waited */

/* proc_now_ms - monotonic milliseconds */
long long proc_now_ms(void);

/* proc_sleep_ms - sleep ms, resuming after signals */
void    proc_sleep_ms(long ms);

/* proc_write_file - create path holding text; 0 or -1 */
int     proc_write_file(const char *path, const char *text);

/* proc_read_file - the whole of path as a malloc'ed string (caller frees), or NULL */
char   *proc_read_file(const char *path);

/* proc_count - how many times needle occurs in the file path (0 if unreadable) */
int     proc_count(const char *path, const char *needle);

/* proc_free_port - a 127.0.0.1 port free right now for both TCP and UDP, or -1 */
int     proc_free_port(void);

/* proc_listening - 1 if 127.0.0.1:port is a listening TCP (udp 0) or bound UDP (udp 1) socket */
int     proc_listening(int port, int udp);

/*
 * proc_spawn - fork and exec argv[0] (searched in PATH) with argv, its
 * stdout and stderr appended to logpath, env ("NAME=VALUE", or NULL) added
 * to its environment. Returns the PID, or -1.
 */
pid_t   proc_spawn(const char *const *argv, const char *logpath, const char *env);

/*
 * proc_wait_listening - wait up to ms for pid to listen on port (TCP,
 * or UDP if udp). 0, PROC_EXITED (reaped), or -1 on timeout.
 */
int     proc_wait_listening(pid_t pid, int port, int udp, long ms);

/*
 * proc_stop - send sig to pid, wait up to ms for it to exit, then
 * SIGKILL. Returns its wait status, or -1 if it had to be killed.
 */
int     proc_stop(pid_t pid, int sig, long ms);

/*
 * proc_run - run argv to completion within ms, stdout and stderr into
 * outpath (truncated first). Returns the exit code (0..255), or -1 if it
 * did not exit normally in time (it is then killed).
 */
int     proc_run(const char *const *argv, const char *outpath, long ms);

#endif

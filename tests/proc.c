/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * proc.c - starting, watching and stopping real programs in end-to-end
 * tests (see proc.h).
 *
 * Readiness is read from /proc/net/tcp and /proc/net/udp rather than
 * probed: a TCP probe of a milter would be a session, and a DNS probe
 * would need a DNS client.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "proc.h"

/* proc_now_ms - monotonic milliseconds */
long long
proc_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* proc_sleep_ms - nanosleep, resumed after signals */
void
proc_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        continue;
}

/* proc_write_file - create path with text */
int
proc_write_file(const char *path, const char *text)
{
    FILE   *fp = fopen(path, "w");

    if (fp == NULL)
        return -1;
    fputs(text, fp);
    return fclose(fp) == 0 ? 0 : -1;
}

/* proc_read_file - the whole file as a string */
char   *
proc_read_file(const char *path)
{
    FILE   *fp = fopen(path, "r");
    char   *buf = NULL, *nbuf;
    size_t  len = 0, cap = 0, n;

    if (fp == NULL)
        return NULL;
    for (;;) {
        if (cap - len < 4096) {
            cap = cap * 2 + 8192;
            if ((nbuf = realloc(buf, cap)) == NULL) {
                free(buf);
                fclose(fp);
                return NULL;
            }
            buf = nbuf;
        }
        if ((n = fread(buf + len, 1, cap - len - 1, fp)) == 0)
            break;
        len += n;
    }
    fclose(fp);
    buf[len] = '\0';
    return buf;
}

/* proc_count - occurrences of needle in the file */
int
proc_count(const char *path, const char *needle)
{
    char   *text = proc_read_file(path);
    int     n = 0;

    for (const char *p = text; p != NULL && (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    free(text);
    return n;
}

/* proc_bind - bind a socket of type to 127.0.0.1:port (0: any); its fd and port, or -1 */
static int
proc_bind(int type, int *port)
{
    struct sockaddr_in sin;
    socklen_t len = sizeof(sin);
    int     fd = socket(AF_INET, type, 0);

    if (fd < 0)
        return -1;
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sin.sin_port = htons((uint16_t) *port);
    if (bind(fd, (struct sockaddr *) &sin, sizeof(sin)) != 0
        || getsockname(fd, (struct sockaddr *) &sin, &len) != 0) {
        close(fd);
        return -1;
    }
    *port = ntohs(sin.sin_port);
    return fd;
}

/* proc_free_port - a port the kernel gave for TCP that UDP can bind too */
int
proc_free_port(void)
{
    for (int tries = 0; tries < 20; tries++) {
        int     port = 0, tcp, udp;

        if ((tcp = proc_bind(SOCK_STREAM, &port)) < 0)
            return -1;
        udp = proc_bind(SOCK_DGRAM, &port);
        close(tcp);
        if (udp >= 0) {
            close(udp);
            return port;
        }
    }
    return -1;
}

/* proc_listening - look for 0100007F:PORT in /proc/net/tcp (state LISTEN) or udp */
int
proc_listening(int port, int udp)
{
    char    line[512], want[32];
    FILE   *fp = fopen(udp ? "/proc/net/udp" : "/proc/net/tcp", "r");
    int     found = 0;

    if (fp == NULL)
        return 0;
    snprintf(want, sizeof(want), "0100007F:%04X", port);
    while (!found && fgets(line, sizeof(line), fp) != NULL) {
        char    local[64], remote[64], state[8];

        if (sscanf(line, "%*s %63s %63s %7s", local, remote, state) == 3
            && strcmp(local, want) == 0 && strcmp(state, udp ? "07" : "0A") == 0)
            found = 1;
    }
    fclose(fp);
    return found;
}

/* proc_spawn - fork, redirect, exec */
pid_t
proc_spawn(const char *const *argv, const char *logpath, const char *env)
{
    pid_t   pid = fork();
    int     fd;

    if (pid != 0)
        return pid;
    fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        if (fd > STDERR_FILENO)
            close(fd);
    }
    if (env != NULL)
        putenv((char *) env);
    execvp(argv[0], (char *const *) argv);
    fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
    _exit(127);
}

/* proc_wait_listening - poll the socket table every 20 ms */
int
proc_wait_listening(pid_t pid, int port, int udp, long ms)
{
    int     status;

    for (long waited = 0; waited < ms; waited += 20) {
        if (proc_listening(port, udp))
            return 0;
        if (waitpid(pid, &status, WNOHANG) == pid)
            return PROC_EXITED;
        proc_sleep_ms(20);
    }
    return -1;
}

/* proc_stop - signal, bounded wait, SIGKILL */
int
proc_stop(pid_t pid, int sig, long ms)
{
    int     status = 0;

    if (pid <= 0)
        return -1;
    kill(pid, sig);
    for (long waited = 0; waited < ms; waited += 20) {
        if (waitpid(pid, &status, WNOHANG) == pid)
            return status;
        proc_sleep_ms(20);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -1;
}

/* proc_run - spawn into a truncated file, wait for the exit code */
int
proc_run(const char *const *argv, const char *outpath, long ms)
{
    pid_t   pid;
    int     status;

    if (truncate(outpath, 0) != 0 && errno != ENOENT)
        return -1;
    if ((pid = proc_spawn(argv, outpath, NULL)) < 0)
        return -1;
    for (long waited = 0; waited < ms; waited += 10) {
        if (waitpid(pid, &status, WNOHANG) == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        proc_sleep_ms(10);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -1;
}

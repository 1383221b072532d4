/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * daemon.c - the tests' one support module (see daemon.h): the small
 * helpers every check program shares, then the processes of the
 * end-to-end tests: redgrey itself and dnsmasq, each on a free loopback
 * port, and one-shot commands.
 *
 * Readiness is read from the kernel's listen tables (/proc/net/tcp and
 * /proc/net/udp) rather than probed: a TCP probe of redgrey would be a
 * milter session, and a DNS probe would need a client. A free port can be
 * taken by someone else before the process binds it, so starting tries a
 * few ports. Every wait is bounded.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cfg.h"
#include "clock.h"
#include "daemon.h"

#define DAEMON_START_MS 15000            /* bound on a start */
#define DAEMON_TRIES    3                /* ports tried */

/* daemon_run_suites - one runner for all the suites; its failures */
int
daemon_run_suites(Suite *first, ...)
{
    SRunner *sr = srunner_create(first);
    Suite  *s;
    va_list ap;
    int     failed;

    va_start(ap, first);
    while ((s = va_arg(ap, Suite *)) != NULL)
        srunner_add_suite(sr, s);
    va_end(ap);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed;
}

/* daemon_now_ms - monotonic milliseconds */
long long
daemon_now_ms(void)
{
    return (long long) clock_mono_ms();
}

/* daemon_ms_since - CLOCK_MONOTONIC now minus t0, in ms */
long
daemon_ms_since(const struct timespec *t0)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long) ((t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000L);
}

/* daemon_sleep_ms - sleep, resuming after signals */
void
daemon_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        continue;
}

/* daemon_tmp - REDGREY_TEST_TMP */
const char *
daemon_tmp(void)
{
    return getenv("REDGREY_TEST_TMP");
}

/* daemon_write_file - write a sibling temporary file, then rename it */
int
daemon_write_file(const char *path, const char *text)
{
    char    tmp[1024];
    FILE   *fp;

    if (snprintf(tmp, sizeof(tmp), "%s.new", path) >= (int) sizeof(tmp)
        || (fp = fopen(tmp, "w")) == NULL)
        return -1;
    fputs(text, fp);
    if (fclose(fp) != 0)
        return -1;
    return rename(tmp, path) == 0 ? 0 : -1;
}

/* daemon_read_file - the whole file, NUL-terminated */
char   *
daemon_read_file(const char *path)
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

/* daemon_read_file_ok - daemon_read_file or fail the test */
char   *
daemon_read_file_ok(const char *path)
{
    char   *text = daemon_read_file(path);

    ck_assert_msg(text != NULL, "cannot open %s", path);
    return text;
}

/* daemon_scratch_dir - REDGREY_TEST_TMP, else TMPDIR, else /tmp */
static const char *
daemon_scratch_dir(void)
{
    const char *dir = daemon_tmp();

    if (dir == NULL || dir[0] == '\0')
        dir = getenv("TMPDIR");
    if (dir == NULL || dir[0] == '\0')
        dir = "/tmp";
    return dir;
}

/* daemon_scratch_path - DIR/PID-name */
const char *
daemon_scratch_path(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s/%ld-%s", daemon_scratch_dir(), (long) getpid(), name);
    return buf;
}

/* daemon_dir_new - mkdtemp under the scratch directory, or fail the test */
void
daemon_dir_new(char *buf, size_t len, const char *prefix)
{
    ck_assert_int_lt(snprintf(buf, len, "%s/%s.XXXXXX", daemon_scratch_dir(), prefix), (int) len);
    ck_assert_msg(mkdtemp(buf) != NULL, "mkdtemp %s: %s", buf, strerror(errno));
}

/* daemon_rm_entry - nftw callback removing one entry */
static int
daemon_rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void) sb;
    (void) flag;
    (void) ftw;
    return remove(path);
}

/* daemon_dir_remove - depth first, without following links */
void
daemon_dir_remove(const char *path)
{
    if (path[0] != '\0')
        nftw(path, daemon_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* daemon_read_full - poll and read until len bytes or the deadline */
int
daemon_read_full(int fd, void *buf, size_t len, int ms)
{
    long long deadline = daemon_now_ms() + ms;
    struct pollfd pfd = {fd, POLLIN, 0};
    size_t  got = 0;
    ssize_t n;

    while (got < len) {
        long long left = deadline - daemon_now_ms();
        int     rc;

        if (left <= 0)
            return -1;
        if ((rc = poll(&pfd, 1, (int) left)) < 0 && errno == EINTR)
            continue;
        if (rc <= 0)
            return -1;
        if ((n = read(fd, (char *) buf + got, len - got)) < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        got += (size_t) n;
    }
    return 0;
}

/* daemon_must_ip - ipaddr_parse or fail the test */
struct ipaddr
daemon_must_ip(const char *text)
{
    struct ipaddr ip;

    ck_assert_msg(ipaddr_parse(text, &ip) == 0, "test address %s does not parse", text);
    return ip;
}

/* daemon_cfg_dump_text - cfg_dump into memory, first line dropped */
char   *
daemon_cfg_dump_text(const struct cfg *cfg)
{
    char   *buf = NULL, *nl;
    size_t  len = 0;
    FILE   *fp = open_memstream(&buf, &len);

    if (fp == NULL)
        return NULL;
    cfg_dump(cfg, fp);
    fclose(fp);
    if ((nl = strchr(buf, '\n')) == NULL) {
        free(buf);
        return NULL;
    }
    memmove(buf, nl + 1, strlen(nl + 1) + 1);
    return buf;
}

/* daemon_cfg_dump_body - daemon_cfg_dump_text or fail the test */
char   *
daemon_cfg_dump_body(const struct cfg *cfg)
{
    char   *text = daemon_cfg_dump_text(cfg);

    ck_assert_msg(text != NULL, "cfg_dump into memory failed");
    return text;
}

/* daemon_redis_pid - the first number in REDGREY_TEST_REDIS_PIDFILE */
long
daemon_redis_pid(void)
{
    const char *pidfile = getenv("REDGREY_TEST_REDIS_PIDFILE");
    FILE   *f = pidfile != NULL ? fopen(pidfile, "r") : NULL;
    long    pid = 0;

    if (f == NULL)
        return -1;
    if (fscanf(f, "%ld", &pid) != 1 || pid <= 1)
        pid = 0;
    fclose(f);
    return pid;
}

/* daemon_bind_loopback - bind port 0 on loopback and see what we got */
int
daemon_bind_loopback(int type, int *port)
{
    struct sockaddr_in sin;
    socklen_t len = sizeof(sin);
    int     fd = socket(AF_INET, type, 0);

    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *) &sin, sizeof(sin)) != 0
        || getsockname(fd, (struct sockaddr *) &sin, &len) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    *port = ntohs(sin.sin_port);
    return fd;
}

/* daemon_free_port - a bound TCP port, closed again */
int
daemon_free_port(void)
{
    int     port = -1, fd = daemon_bind_loopback(SOCK_STREAM, &port);

    if (fd >= 0)
        close(fd);
    return fd >= 0 ? port : -1;
}

/*
 * daemon_listening - 1 if table (/proc/net/tcp or /proc/net/udp) has
 * 127.0.0.1:port in state (0A LISTEN for TCP, 07 for a bound UDP socket)
 */
static int
daemon_listening(const char *table, int port, const char *state_want)
{
    char    line[512], want[32];
    FILE   *fp = fopen(table, "r");
    int     found = 0;

    if (fp == NULL)
        return 0;
    snprintf(want, sizeof(want), "0100007F:%04X", port);
    while (!found && fgets(line, sizeof(line), fp) != NULL) {
        char    local[64], remote[64], state[8];

        if (sscanf(line, "%*s %63s %63s %7s", local, remote, state) == 3
            && strcmp(local, want) == 0 && strcmp(state, state_want) == 0)
            found = 1;
    }
    fclose(fp);
    return found;
}

/* daemon_spawn - fork and exec argv with output to d->log and env added */
static int
daemon_spawn(struct daemon *d, char *const argv[], const char *const *env)
{
    int     fd;

    if ((d->pid = fork()) < 0) {
        d->pid = 0;
        return -1;
    }
    if (d->pid == 0) {
        fd = open(d->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
        }
        for (size_t i = 0; env != NULL && env[i] != NULL; i++)
            putenv((char *) env[i]);
        execv(argv[0], argv);
        _exit(127);
    }
    return 0;
}

/*
 * daemon_wait_ready - until ready(d) says 1 (0 back), the process exits
 * (DAEMON_EXITED) or the bound passes (-1, process killed)
 */
static int
daemon_wait_ready(struct daemon *d, int (*ready)(const struct daemon *))
{
    int     status;

    for (int waited = 0; waited < DAEMON_START_MS; waited += 20) {
        if (ready(d))
            return 0;
        if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
            d->pid = 0;
            return DAEMON_EXITED;
        }
        daemon_sleep_ms(20);
    }
    fprintf(stderr, "%s: not ready within %d ms\n", d->name, DAEMON_START_MS);
    daemon_wait(d, 0);
    return -1;
}

/* redgrey_ready - listening, and past startup (lists loaded, store open) this time */
static int
redgrey_ready(const struct daemon *d)
{
    return daemon_listening("/proc/net/tcp", d->port, "0A")
        && daemon_log_count(d, "starting " PACKAGE_NAME) > d->starts_before;
}

/* daemon_start_redgrey_with - see the header */
int
daemon_start_redgrey_with(struct daemon *d, const char *name, const struct daemon_redgrey_opts *o)
{
    const char *redis = getenv("REDGREY_TEST_REDIS");
    const char *tmp = daemon_tmp();
    char    conf[8192], store[700], prefix[80];
    char   *argv[] = {(char *) DAEMON_REDGREY_BIN, (char *) "-f", (char *) "-c", d->conf, NULL};
    int     rc = -1, busy;

    if (redis == NULL || tmp == NULL) {
        fprintf(stderr, "%s: REDGREY_TEST_REDIS unset: run under with-redis.sh\n", name);
        return -1;
    }
    memset(d, 0, sizeof(*d));
    snprintf(d->name, sizeof(d->name), "%s", name);
    snprintf(d->conf, sizeof(d->conf), "%s/%s.conf", tmp, name);
    snprintf(d->log, sizeof(d->log), "%s/%s.log", tmp, name);
    if (o->key_prefix != NULL)
        snprintf(prefix, sizeof(prefix), "%s", o->key_prefix);
    else
        snprintf(prefix, sizeof(prefix), "rgt%ld%s:", (long) getpid(), name);
    if (o->store != NULL)
        snprintf(store, sizeof(store), "%s", o->store);
    else
        snprintf(store, sizeof(store), "redis://%s", redis);
    for (int tries = 0; tries < DAEMON_TRIES; tries++) {
        if ((d->port = daemon_free_port()) < 0)
            return -1;
        snprintf(d->spec, sizeof(d->spec), "inet:%d@127.0.0.1", d->port);
        snprintf(conf, sizeof(conf),
                 "# %s: a daemon under test\n"
                 "socket = %s\n"
                 "store = %s\n"
                 "key_prefix = %s\n"
                 "delay = 2s\n"
                 "on_store_error = accept\n"
                 "store_timeout = 250ms\n"
                 "user = \"%s\"\n"
                 "pidfile = \"\"\n"
                 "log_level = info\n"
                 "%s",
                 name, d->spec, store, prefix,
                 o->user != NULL ? o->user : "", o->extra != NULL ? o->extra : "");
        if (daemon_write_file(d->conf, conf) != 0) {
            fprintf(stderr, "%s: %s: %s\n", name, d->conf, strerror(errno));
            return -1;
        }
        d->starts_before = daemon_log_count(d, "starting " PACKAGE_NAME);
        busy = daemon_log_count(d, "cannot listen");
        if (daemon_spawn(d, argv, o->env) != 0)
            return -1;
        rc = daemon_wait_ready(d, redgrey_ready);

        /* A port taken under our feet: the log says so; try another. */
        if (rc != DAEMON_EXITED || daemon_log_count(d, "cannot listen") == busy)
            break;
    }
    return rc;
}

/* daemon_start_redgrey - the test Redis, no user */
int
daemon_start_redgrey(struct daemon *d, const char *name, const char *extra,
                     const char *const *env)
{
    struct daemon_redgrey_opts o = {NULL, NULL, extra, env};

    return daemon_start_redgrey_with(d, name, &o);
}

/* dnsmasq_ready - the UDP port is bound */
static int
dnsmasq_ready(const struct daemon *d)
{
    return daemon_listening("/proc/net/udp", d->port, "07");
}

/* daemon_start_dnsmasq - see the header */
int
daemon_start_dnsmasq(struct daemon *d, const char *local_domain, const char *const *args)
{
    const char *tmp = daemon_tmp();
    char    port[32], local[300];
    char   *argv[64];
    size_t  n = 0;
    int     rc = -1;

    if (tmp == NULL)
        return -1;
    memset(d, 0, sizeof(*d));
    snprintf(d->name, sizeof(d->name), "dnsmasq");
    snprintf(d->log, sizeof(d->log), "%s/dnsmasq.log", tmp);
    snprintf(local, sizeof(local), "--local=/%s/", local_domain);
    for (int tries = 0; tries < DAEMON_TRIES; tries++) {
        if ((d->port = daemon_free_port()) < 0)
            return -1;
        snprintf(port, sizeof(port), "--port=%d", d->port);
        n = 0;
        argv[n++] = (char *) "/usr/sbin/dnsmasq";
        argv[n++] = (char *) "--keep-in-foreground";
        argv[n++] = port;
        argv[n++] = (char *) "--listen-address=127.0.0.1";
        argv[n++] = (char *) "--bind-interfaces";
        argv[n++] = (char *) "--no-resolv";
        argv[n++] = (char *) "--no-hosts";
        argv[n++] = (char *) "--conf-file=/dev/null";
        argv[n++] = (char *) "--pid-file=";
        argv[n++] = (char *) "--log-facility=-";
        argv[n++] = (char *) "--cache-size=0";
        argv[n++] = local;
        if (geteuid() == 0)
            argv[n++] = (char *) "--user=root";
        for (size_t i = 0; args[i] != NULL && n < sizeof(argv) / sizeof(argv[0]) - 1; i++)
            argv[n++] = (char *) args[i];
        argv[n] = NULL;
        if (daemon_spawn(d, argv, NULL) != 0)
            return -1;
        if ((rc = daemon_wait_ready(d, dnsmasq_ready)) != DAEMON_EXITED)
            break;
    }
    return rc;
}

/* daemon_stop - SIGTERM, bounded wait, exit status 0 or a reason on stderr */
int
daemon_stop(struct daemon *d, int ms)
{
    int     status;

    if (d->pid <= 0 || kill(d->pid, SIGTERM) != 0) {
        fprintf(stderr, "%s: not running\n", d->name);
        return -1;
    }
    if ((status = daemon_wait(d, ms)) == -1) {
        fprintf(stderr, "%s: ignored SIGTERM for %d ms\n", d->name, ms);
        return -1;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "%s: stopped with status 0x%x\n", d->name, status);
        return -1;
    }
    return 0;
}

/* daemon_signal - kill(pid, sig) */
int
daemon_signal(const struct daemon *d, int sig)
{
    return d->pid > 0 ? kill(d->pid, sig) : -1;
}

/* daemon_wait - reap within ms, or SIGKILL */
int
daemon_wait(struct daemon *d, int ms)
{
    int     status = 0;

    if (d->pid <= 0)
        return -1;
    for (int waited = 0; waited <= ms; waited += 20) {
        if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
            d->pid = 0;
            return status;
        }
        daemon_sleep_ms(20);
    }
    kill(d->pid, SIGKILL);
    waitpid(d->pid, &status, 0);
    d->pid = 0;
    return -1;
}

/* daemon_log_print - "---- NAME log ----", then the log or "(none)" */
void
daemon_log_print(const struct daemon *d)
{
    char   *text = daemon_read_file(d->log);

    fprintf(stderr, "---- %s log ----\n%s\n", d->name, text != NULL ? text : "(none)");
    free(text);
}

/* daemon_log_count - occurrences of needle in the log */
int
daemon_log_count(const struct daemon *d, const char *needle)
{
    char   *text = daemon_read_file(d->log);
    int     n = 0;

    for (const char *p = text; p != NULL && (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    free(text);
    return n;
}

/* daemon_log_wait - poll the log every 20 ms */
int
daemon_log_wait(const struct daemon *d, const char *needle, int n, int ms)
{
    int     seen = daemon_log_count(d, needle);

    for (int waited = 0; seen < n && waited < ms; waited += 20) {
        daemon_sleep_ms(20);
        seen = daemon_log_count(d, needle);
    }
    return seen;
}

/* daemon_run - fork, exec with output to outpath, bounded wait for the exit code */
int
daemon_run(const char *const *argv, const char *outpath, int ms)
{
    pid_t   pid;
    int     fd, status;

    if ((pid = fork()) < 0)
        return -1;
    if (pid == 0) {
        fd = open(outpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
        }
        execv(argv[0], (char *const *) argv);
        _exit(127);
    }
    for (int waited = 0; waited <= ms; waited += 10) {
        if (waitpid(pid, &status, WNOHANG) == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        daemon_sleep_ms(10);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -1;
}

/* daemon_capture - run argv with a bounded wait and read back its output */
int
daemon_capture(const char *const *argv, char *out, size_t outlen, int ms)
{
    static int seq;
    char    path[1024], name[32];
    char   *text;
    int     rc;

    snprintf(name, sizeof(name), "capture-%d.out", seq++);
    daemon_scratch_path(path, sizeof(path), name);
    rc = daemon_run(argv, path, ms);
    text = daemon_read_file(path);
    snprintf(out, outlen, "%s", text != NULL ? text : "");
    free(text);
    unlink(path);
    return rc;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * main.c - the redgrey daemon: command line, startup, privileges, shutdown.
 *
 * Startup runs in a fixed order, and every step that can fail does so
 * loudly before the MTA is served: load the configuration; register with
 * libmilter and open the socket (as root, so that privileged ports and
 * directories work); drop to the configured user and group, failing
 * closed; detach from the terminal; then, in the process that will serve,
 * open the store (LMDB must not cross a fork) and write the pidfile. A
 * detaching parent waits on a pipe and exits 0 only once the daemon said
 * "ready", or prints the daemon's error and exits 1, so that init systems
 * and admins see startup failures.
 *
 * Signals. libmilter's own signal thread sigwait()s for SIGHUP, SIGTERM
 * and SIGINT and stops smfi_main() on any of them. SIGHUP must reload
 * instead, so smfi_main() runs in a thread of its own and the main
 * thread keeps SIGHUP and SIGUSR1 unblocked, with handlers that write
 * to a pipe the main thread polls: Linux hands a process-directed signal
 * to the main thread whenever that thread does not block it, so
 * libmilter's sigwait is never woken for them. Every other thread
 * blocks all four (the mask is set before the first thread starts), and
 * smfi_main() starts only once the main thread has unblocked its two.
 * The main thread then runs each reload (milter/reload.c) itself.
 *
 * Stopping is libmilter's business: its signal thread turns SIGTERM and
 * SIGINT into a stop, smfi_main() returns (within about 5 s, its poll
 * interval), and redgrey frees the store and removes its pidfile. Open
 * sessions get 3 s to finish, a big-sender expansion in progress 2 s
 * more; whatever is still running then ends with the exit (0). Session
 * threads outlive smfi_main(), so the callbacks are told to make no new
 * session first (callbacks_stop), and the shared state is freed only once
 * the count of sessions has reached 0, where it then stays.
 */
#include "config.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <getopt.h>
#include <libmilter/mfapi.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "callbacks.h"
#include "cfg.h"
#include "cfg_store.h"
#include "ipaddr.h"
#include "lists.h"
#include "log.h"
#include "dnsbl_shared.h"
#include "metrics_http.h"
#include "refresh.h"
#include "reload.h"
#include "runenv.h"
#include "spf_shared.h"
#include "store.h"

#define MAIN_STOP_WAIT_MS 3000           /* wait for open sessions at exit */
#define MAIN_REFRESH_WAIT_MS 2000        /* then for a big-sender expansion in progress */

static int main_ready_fd = -1;           /* pipe to the waiting parent, or -1 */
static int main_sig_pipe[2] = {-1, -1};  /* signal handlers -> main loop */

/* What the main loop reads from main_sig_pipe. */
#define MAIN_EV_HUP  'H'                 /* SIGHUP: reload */
#define MAIN_EV_USR1 'U'                 /* SIGUSR1: reload */
#define MAIN_EV_DONE 'Q'                 /* smfi_main() returned */

/* main_usage - the synopsis and options */
static void
main_usage(FILE *fp)
{
    fprintf(fp,
            "usage: redgrey [-c FILE] [-f] [-t] [-V] [-h]\n"
            "  -c FILE  configuration file (default %s)\n"
            "  -f       stay in the foreground and log to stderr\n"
            "  -t       check the configuration and exit\n"
            "  -V       print the version and exit\n"
            "  -h       print this help and exit\n",
            CFG_DEFAULT_PATH);
}

/*
 * main_fatal - a startup error: logged, sent to the waiting parent when
 * detached (so that it prints it), then exit(1).
 */
static void __attribute__((format(printf, 1, 2), noreturn))
main_fatal(const char *fmt, ...)
{
    char    msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (main_ready_fd >= 0) {
        ssize_t n = write(main_ready_fd, msg, strlen(msg));

        (void) n;                        /* the parent may be gone; nothing to add */
        log_err("%s", msg);
        exit(1);
    }
    log_fatal("%s", msg);
}

/*
 * main_drop_privileges - become user/group when running as root (stay
 * when user is ""), giving the unix socket to the run user and
 * socket_group and the log file to the run user. Fails closed: any
 * error, or being able to regain root afterwards, is fatal.
 */
static void
main_drop_privileges(const struct cfg *c)
{
    const char *user = c->user != NULL ? c->user : "";
    const char *sock = runenv_unix_path(c->socket);
    char    err[CFG_ERRLEN];
    struct stat st;
    uid_t   uid;
    gid_t   gid, sgid;

    if (runenv_account(c, &uid, &gid, err, sizeof(err)) != 0) {
        if (geteuid() == 0)
            main_fatal("%s", err);
        log_warn("not running as root: %s; staying uid %ld", err, (long) geteuid());
        uid = geteuid();
        gid = getegid();
    }
    if (sock != NULL && runenv_socket_gid(c, gid, &sgid, err, sizeof(err)) != 0)
        main_fatal("%s", err);
    if (geteuid() != 0) {
        if (user[0] != '\0' && uid != geteuid())
            log_warn("not running as root: cannot switch to user %s; staying uid %ld",
                     user, (long) geteuid());
        /* Our own socket may change to a group of ours (or is in a setgid directory). */
        if (sock != NULL && stat(sock, &st) == 0 && st.st_gid != sgid
            && chown(sock, (uid_t) -1, sgid) != 0)
            main_fatal("socket %s: chgrp to socket_group %s: %s (add the run user to the "
                       "group, make the directory setgid, or set socket_group = \"\")",
                       sock, c->socket_group, strerror(errno));
        return;
    }
    if (user[0] == '\0') {
        log_warn("running as root: set user in the configuration to drop privileges");
        if (sock != NULL && chown(sock, 0, sgid) != 0)
            main_fatal("socket %s: chown to root:%ld: %s", sock, (long) sgid, strerror(errno));
        return;
    }

    /* The socket was made by root; the MTA and redgrey's exit need it to be ours. */
    if (sock != NULL && chown(sock, uid, sgid) != 0)
        main_fatal("socket %s: chown to %s: %s", sock, user, strerror(errno));
    if (log_file_chown(uid, gid, err, sizeof(err)) < 0)
        main_fatal("%s", err);
    if (runenv_become(user, uid, gid, err, sizeof(err)) != 0)
        main_fatal("%s", err);
    log_info("running as user %s (uid %ld, gid %ld)", user, (long) uid, (long) gid);
}

/*
 * main_detach - fork; the parent waits on a pipe for "ready" or an error
 * text and exits 0 or 1 accordingly; the child starts a new session and
 * keeps the pipe's write end in main_ready_fd.
 */
static void
main_detach(void)
{
    int     pfd[2];
    pid_t   pid;
    char    msg[1024];
    size_t  got = 0;
    ssize_t n;

    if (pipe(pfd) != 0)
        log_fatal("pipe: %s", strerror(errno));
    if ((pid = fork()) < 0)
        log_fatal("fork: %s", strerror(errno));
    if (pid > 0) {
        close(pfd[1]);
        while (got < sizeof(msg) - 1
               && ((n = read(pfd[0], msg + got, sizeof(msg) - 1 - got)) > 0
                   || (n < 0 && errno == EINTR)))
            if (n > 0)
                got += (size_t) n;
        msg[got] = '\0';
        if (strcmp(msg, "ready") == 0)
            _exit(0);
        fprintf(stderr, "redgrey: %s\n",
                got > 0 ? msg : "the daemon exited during startup (see the mail log)");
        _exit(1);
    }
    close(pfd[0]);
    main_ready_fd = pfd[1];
    if (setsid() < 0)
        main_fatal("setsid: %s", strerror(errno));
}

/*
 * main_ready - tell the waiting parent, then let go of the terminal; with
 * keep_stderr (log_target = stderr) fd 2 stays, for a supervisor's journal
 */
static void
main_ready(int keep_stderr)
{
    int     fd;

    if (main_ready_fd < 0)
        return;
    if (write(main_ready_fd, "ready", 5) != 5)
        log_warn("could not tell the parent process that startup is done");
    close(main_ready_fd);
    main_ready_fd = -1;
    if ((fd = open("/dev/null", O_RDWR)) >= 0) {
        dup2(fd, STDIN_FILENO);
        dup2(fd, STDOUT_FILENO);
        if (!keep_stderr)
            dup2(fd, STDERR_FILENO);
        if (fd > STDERR_FILENO)
            close(fd);
    }
}

/*
 * main_pidfile_write - write our PID to path, refusing if it names a
 * process that is still alive. Returns 0, or -1 with a reason in err.
 */
static int
main_pidfile_write(const char *path, char *err, size_t errlen)
{
    char    buf[32];
    FILE   *fp;
    long    old = 0;
    int     fd;

    if ((fp = fopen(path, "r")) != NULL) {
        if (fgets(buf, sizeof(buf), fp) != NULL)
            old = strtol(buf, NULL, 10);
        fclose(fp);
        if (old > 0 && old != (long) getpid() && (kill((pid_t) old, 0) == 0 || errno == EPERM)) {
            snprintf(err, errlen, "pidfile %s: redgrey already running as pid %ld", path, old);
            return -1;
        }
    }
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(err, errlen, "pidfile %s: %s", path, strerror(errno));
        return -1;
    }
    snprintf(buf, sizeof(buf), "%ld\n", (long) getpid());
    if (write(fd, buf, strlen(buf)) != (ssize_t) strlen(buf)) {
        snprintf(err, errlen, "pidfile %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    close(fd);
    return 0;
}

/*
 * main_wait_sessions - refuse new sessions, give open ones a bounded time
 * to finish; returns how many are left (0: nothing uses the shared state)
 */
static int
main_wait_sessions(void)
{
    struct timespec ts = {0, 20 * 1000 * 1000};

    /*
     * Without this, a connection that quits with SMFIC_QUIT_NC brings the
     * count to 0 for an instant and then makes a new session on the same
     * thread: the store could be freed under it.
     */
    callbacks_stop();
    for (int waited = 0; callbacks_active() > 0 && waited < MAIN_STOP_WAIT_MS; waited += 20)
        nanosleep(&ts, NULL);
    return callbacks_active();
}

/*
 * main_nodelay - set TCP_NODELAY on the TCP listening socket; accepted
 * sockets inherit it on Linux. Without it, the two packets of an end of
 * message that adds a header meet Nagle here and the MTA's delayed ACK:
 * about 40 ms per passing message (measured in BENCHMARKS.md). libmilter
 * does not hand out its descriptor, so look for the listening socket among
 * the few descriptors open this early in startup.
 */
static void
main_nodelay(void)
{
    for (int fd = 0; fd < 256; fd++) {
        int     listening = 0, domain = 0, one = 1;
        socklen_t len = sizeof(listening);

        if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || !listening)
            continue;
        len = sizeof(domain);
        if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) == 0
            && (domain == AF_INET || domain == AF_INET6))
            (void) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
}

/* main_sig_handler - SIGHUP, SIGUSR1: one byte to the main loop (async-signal-safe) */
static void
main_sig_handler(int sig)
{
    int     saved = errno;
    char    ev = sig == SIGHUP ? MAIN_EV_HUP : MAIN_EV_USR1;
    ssize_t n = write(main_sig_pipe[1], &ev, 1);

    (void) n;                            /* a full pipe has a reload queued already */
    errno = saved;
}

/* main_sig_mask - the four signals only the main loop and libmilter take */
static void
main_sig_mask(sigset_t *set, int with_stop)
{
    sigemptyset(set);
    sigaddset(set, SIGHUP);
    sigaddset(set, SIGUSR1);
    if (with_stop) {
        sigaddset(set, SIGTERM);
        sigaddset(set, SIGINT);
    }
}

/*
 * main_signals_setup - the pipe, the handlers, and SIGHUP, SIGUSR1,
 * SIGTERM and SIGINT blocked in the calling thread, so that every thread
 * started later inherits the block. Before the first thread exists.
 */
static void
main_signals_setup(void)
{
    struct sigaction sa;
    sigset_t set;

    if (pipe(main_sig_pipe) != 0)
        log_fatal("pipe: %s", strerror(errno));
    for (int i = 0; i < 2; i++) {
        (void) fcntl(main_sig_pipe[i], F_SETFD, FD_CLOEXEC);
        (void) fcntl(main_sig_pipe[i], F_SETFL, O_NONBLOCK);
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = main_sig_handler;
    sa.sa_flags = SA_RESTART;
    sigfillset(&sa.sa_mask);
    if (sigaction(SIGHUP, &sa, NULL) != 0 || sigaction(SIGUSR1, &sa, NULL) != 0)
        log_fatal("sigaction: %s", strerror(errno));
    main_sig_mask(&set, 1);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
}

/*
 * The milter thread starts smfi_main() (and with it libmilter's signal
 * thread, which sigwait()s for SIGHUP) only once the main thread has
 * unblocked SIGHUP and SIGUSR1: a SIGHUP that arrived before then is
 * pending for the process, and a sigwait() already running would take
 * it and stop the daemon.
 */
static pthread_mutex_t main_gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t main_gate_cond = PTHREAD_COND_INITIALIZER;
static int main_gate_open;               /* the main thread takes SIGHUP now */

/*
 * main_signal_delay - the test knob REDGREY_TEST_SIGNAL_DELAY_MS (0..5000):
 * wait that long before the main thread takes SIGHUP, so that a test can
 * send one while only libmilter could take it (tests/check_reload.c)
 */
static void
main_signal_delay(void)
{
    const char *knob = getenv("REDGREY_TEST_SIGNAL_DELAY_MS");
    char   *end;
    long    ms;

    if (knob == NULL || *knob == 0)
        return;
    errno = 0;
    ms = strtol(knob, &end, 10);
    if (errno == 0 && *end == 0 && ms > 0 && ms <= 5000)
        (void) nanosleep(&(struct timespec) {ms / 1000, (ms % 1000) * 1000000L}, NULL);
}

/* main_milter - the libmilter thread: smfi_main(), then tell the main loop */
static void *
main_milter(void *arg)
{
    int    *rc = arg;
    char    ev = MAIN_EV_DONE;

    pthread_mutex_lock(&main_gate_lock);
    while (!main_gate_open)
        pthread_cond_wait(&main_gate_cond, &main_gate_lock);
    pthread_mutex_unlock(&main_gate_lock);
    *rc = smfi_main();
    while (write(main_sig_pipe[1], &ev, 1) < 0 && errno == EINTR)
        continue;
    return NULL;
}

/*
 * main_loop - run smfi_main() in its own thread and serve reloads until
 * it returns; returns smfi_main()'s value
 */
static int
main_loop(void)
{
    struct pollfd pfd = {main_sig_pipe[0], POLLIN, 0};
    pthread_t tid;
    sigset_t set;
    int     rc = MI_FAILURE, done = 0, e;
    char    ev;

    if ((e = pthread_create(&tid, NULL, main_milter, &rc)) != 0)
        main_fatal("cannot start the milter thread: %s", strerror(e));
    main_signal_delay();
    main_sig_mask(&set, 0);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    pthread_mutex_lock(&main_gate_lock);
    main_gate_open = 1;
    pthread_cond_signal(&main_gate_cond);
    pthread_mutex_unlock(&main_gate_lock);
    while (!done) {
        if (poll(&pfd, 1, -1) < 0)
            continue;                    /* EINTR: a handler ran; read its byte */
        while (read(main_sig_pipe[0], &ev, 1) == 1) {
            if (ev == MAIN_EV_DONE)
                done = 1;
            else if (!done)
                (void) reload_now(ev == MAIN_EV_HUP ? "SIGHUP" : "SIGUSR1");
        }
    }
    pthread_join(tid, NULL);
    return rc;
}

/*
 * main_serve - from an open socket to a stopped daemon: open the store,
 * write the pidfile, report ready, run libmilter, clean up. Returns the
 * exit code.
 */
static int
main_serve(struct cfg *c)
{
    struct store_config sc;
    struct store *st;
    char    err[STORE_ERRLEN + 128];
    char    url[512];
    const char *pidfile = c->pidfile != NULL && c->pidfile[0] != '\0' ? c->pidfile : NULL;
    const char *sock = runenv_unix_path(c->socket);
    int     rc, left;

    /* The signal mask of main_signals_setup is inherited by every thread started here. */
    if (refresh_check(c, err, sizeof(err)) != 0 || lists_init(c, err, sizeof(err)) != 0
        || spf_shared_init(c, err, sizeof(err)) != 0
        || dnsbl_shared_init(c, err, sizeof(err)) != 0)
        main_fatal("%s", err);
    cfg_store_config(c, &sc);
    err[0] = '\0';
    if ((st = store_open(&sc, err, sizeof(err))) == NULL)
        main_fatal("%s", err);
    /* A Redis that cannot serve yet: start anyway, it is probed until it does. */
    if (err[0] != '\0')
        log_warn("%s: serving under on_store_error until it answers", err);
    /* The pidfile is an absolute path (cfg checks), so chdir is safe. */
    if (pidfile != NULL && main_pidfile_write(pidfile, err, sizeof(err)) != 0) {
        store_free(st);
        main_fatal("%s", err);
    }
    if (main_ready_fd >= 0 && chdir("/") != 0)
        log_warn("chdir /: %s", strerror(errno));
    reload_init(c);                      /* from here on, the snapshot owns c */
    reload_set_store(st);
    callbacks_init(st);
    (void) metrics_http_start(c);
    if (refresh_start(c, st, err, sizeof(err)) != 0) {
        store_free(st);
        main_fatal("%s", err);
    }

    store_url_redact(c->store, url, sizeof(url));
    log_info("starting %s %s socket=%s store=%s", PACKAGE_NAME, PACKAGE_VERSION, c->socket, url);
    main_ready(strcmp(c->log_target, "stderr") == 0);
    rc = main_loop();
    log_info("stopping");

    rc = rc == MI_SUCCESS ? 0 : 1;
    if (pidfile != NULL && unlink(pidfile) != 0 && errno != ENOENT)
        log_warn("remove pidfile %s: %s", pidfile, strerror(errno));
    /* libmilter leaves its unix socket behind; nothing listens on it any more. */
    if (sock != NULL && unlink(sock) != 0 && errno != ENOENT)
        log_warn("remove socket %s: %s", sock, strerror(errno));

    /*
     * smfi_main() returns without waiting for session threads. The store
     * and the configuration are freed only once no session can use them;
     * otherwise the exit ends those sessions (the MTA applies its
     * milter_default_action to them).
     */
    if ((left = main_wait_sessions()) != 0) {
        log_warn("%d sessions still open after %d ms: exiting without closing the store",
                 left, MAIN_STOP_WAIT_MS);
        exit(rc);
    }
    /* A stop stays within about 5 + 3 + 2 s: under the unit's TimeoutStopSec. */
    if (refresh_stop_within(MAIN_REFRESH_WAIT_MS) != 0) {
        log_warn("big-sender expansion still running after %d ms: exiting without closing "
                 "the store", MAIN_REFRESH_WAIT_MS);
        exit(rc);
    }
    reload_set_store(NULL);
    metrics_http_stop();
    store_free(st);
    spf_shared_fini();
    dnsbl_shared_fini();
    lists_fini();
    reload_fini();
    return rc;
}

/*
 * main_loopback_host - 1 if the host of an inet/inet6 socket spec is only
 * loopback addresses; 0 for anything else (no host is every address)
 */
static int
main_loopback_host(const char *host)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res, *ai;
    char    buf[256];
    size_t  len = strlen(host);
    int     loop = 1;

    /* libmilter takes inet6:PORT@[::1] as well as inet6:PORT@::1 */
    if (len >= 2 && host[0] == '[' && host[len - 1] == ']' && len - 2 < sizeof(buf)) {
        memcpy(buf, host + 1, len - 2);
        buf[len - 2] = '\0';
        host = buf;
    }
    if (*host == '\0' || getaddrinfo(host, NULL, &hints, &res) != 0)
        return 0;
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        struct ipaddr ip;

        if (ipaddr_from_sockaddr(ai->ai_addr, &ip) != 0
            || !(ip.family == AF_INET ? ip.b[0] == 127
                 : memcmp(ip.b, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1", 16) == 0))
            loop = 0;
    }
    freeaddrinfo(res);
    return loop;
}

/*
 * main_warnings - configurations that work but are risky: each warning
 * goes to stderr (-t) or to the log (start). A default list file that is
 * not installed is dropped from c. Returns how many.
 */
static int
main_warnings(struct cfg *c, int to_stderr)
{
    char    msg[6][1200];
    const char *at;
    long    spf_ms = c->spf_budget_ms < c->dns_timeout_ms ? c->spf_budget_ms : c->dns_timeout_ms;
    long    budget = spf_ms + c->store_timeout_ms;
    const char *spf_name = c->spf_budget_ms < c->dns_timeout_ms ? "spf_budget" : "dns_timeout";
    int     n = 0;

    /*
     * A reply to RCPT may wait for the message's SPF work (MAIL is answered
     * first) and then the store: the MTA must wait longer. The SPF work
     * takes at most one check's dns_timeout, cut short by spf_budget.
     */
    if (budget > 10000)
        snprintf(msg[n++], sizeof(msg[0]),
                 "%s + store_timeout is %ld ms, more than the 10 s Sendmail waits "
                 "for a milter by default: the MTA may give up on redgrey first", spf_name, budget);
    if (budget > (long) c->milter_timeout * 1000)
        snprintf(msg[n++], sizeof(msg[0]),
                 "%s + store_timeout is %ld ms, more than milter_timeout (%lld s)",
                 spf_name, budget, (long long) c->milter_timeout);
    if (c->dns_timeout_ms > c->spf_budget_ms)
        snprintf(msg[n++], sizeof(msg[0]),
                 "dns_timeout (%d ms) is longer than spf_budget (%d ms): no SPF check of a "
                 "message gets more than spf_budget", c->dns_timeout_ms, c->spf_budget_ms);
    /* libmilter trusts its peer: see SECURITY in redgrey(8). */
    if ((strncmp(c->socket, "inet:", 5) == 0 || strncmp(c->socket, "inet6:", 6) == 0)
        && ((at = strchr(c->socket, '@')) == NULL || !main_loopback_host(at + 1)))
        snprintf(msg[n++], sizeof(msg[0]),
                 "socket %s listens on a non-loopback address: libmilter trusts every "
                 "peer, and a malformed packet can crash redgrey (see SECURITY in redgrey(8))",
                 c->socket);
    n += runenv_config_exposed(c, c->path, msg[n], sizeof(msg[0]));
    n += runenv_default_lists(c, msg[n], sizeof(msg[0]));
    n += runenv_default_patterns(c, msg[n], sizeof(msg[0]));
    for (int i = 0; i < n; i++) {
        if (to_stderr)
            fprintf(stderr, "redgrey: warning: %s\n", msg[i]);
        else
            log_warn("%s", msg[i]);
    }
    n += metrics_http_warn(c, to_stderr);
    return n;
}

/* main_check_as_user - the checks that read files, as the run user (in runenv_check's child) */
static int
main_check_as_user(const struct cfg *c)
{
    struct store_config sc;
    char    err[STORE_ERRLEN + CFG_ERRLEN];

    if (refresh_check(c, err, sizeof(err)) != 0 || lists_check(c, err, sizeof(err)) != 0
        || spf_shared_check(c, err, sizeof(err)) != 0
        || dnsbl_shared_check_cfg(c, err, sizeof(err)) != 0) {
        fprintf(stderr, "redgrey: %s\n", err);
        return -1;
    }
    /* A store that is down now is no configuration error: the daemon would wait for it. */
    cfg_store_config(c, &sc);
    if (store_check_reach(&sc, err, sizeof(err)) != 0)
        fprintf(stderr, "redgrey: warning: %s\n", err);
    return 0;
}

/*
 * main_check - redgrey -t: the warnings, then the list files, the store
 * and the run environment as the run user. Frees c; returns the exit code.
 */
static int
main_check(struct cfg *c, const char *path)
{
    int     rc;

    (void) main_warnings(c, 1);
    rc = runenv_check(c, main_check_as_user);
    if (rc == 0)
        printf("redgrey: %s: configuration OK\n", path);
    cfg_free(c);
    return rc == 0 ? 0 : 1;
}

/* main - options, configuration, socket, privileges, then serve */
int
main(int argc, char **argv)
{
    const char *path = CFG_DEFAULT_PATH;
    const char *sock;
    int     foreground = 0, check = 0, ch;
    char    err[CFG_ERRLEN];
    struct cfg *c;

    while ((ch = getopt(argc, argv, "c:fthV")) != -1) {
        switch (ch) {
        case 'c':
            path = optarg;
            break;
        case 'f':
            foreground = 1;
            break;
        case 't':
            check = 1;
            break;
        case 'V':
            printf("%s %s\n", PACKAGE_NAME, PACKAGE_VERSION);
            return 0;
        case 'h':
            main_usage(stdout);
            return 0;
        default:
            main_usage(stderr);
            return 1;
        }
    }
    if (optind != argc) {
        main_usage(stderr);
        return 1;
    }

    if ((c = cfg_load(path, err, sizeof(err))) == NULL) {
        fprintf(stderr, "redgrey: %s\n", err);
        return 1;
    }
    if (store_url_check(c->store, err, sizeof(err)) != 0) {
        fprintf(stderr, "redgrey: %s: %s\n", path, err);
        cfg_free(c);
        return 1;
    }
    if (check)
        return main_check(c, path);

    if (log_open(PACKAGE_NAME, c->log_facility, c->log_level, c->log_target, foreground,
                 err, sizeof(err)) != 0) {
        fprintf(stderr, "redgrey: %s: log_target: %s\n", path, err);
        cfg_free(c);
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    (void) main_warnings(c, 0);
    main_signals_setup();

    /* libmilter would unlink a unix socket in use and take it over. */
    if ((sock = runenv_unix_path(c->socket)) != NULL && runenv_socket_live(c->socket))
        log_fatal("socket %s is served by a running process (another redgrey?): "
                  "refusing to take it over", sock);
    /* Open the socket as root, before anything can lose privileges. */
    if (callbacks_register() != 0)
        log_fatal("smfi_register failed");
    if (smfi_setconn(c->socket) != MI_SUCCESS)
        log_fatal("socket %s: smfi_setconn failed", c->socket);
    /* libmilter's own default is 7210 s: a stalled peer would hold a thread that long. */
    (void) smfi_settimeout((int) c->milter_timeout);
    errno = 0;
    if (smfi_opensocket(true) != MI_SUCCESS)
        log_fatal("socket %s: cannot listen (address in use, bad address or no permission%s%s)",
                  c->socket, errno != 0 ? ": " : "", errno != 0 ? strerror(errno) : "");
    main_nodelay();

    /*
     * A unix socket is for the MTA: readable and writable by owner and
     * group (socket_group, the MTA's group), nobody else.
     */
    if (sock != NULL && chmod(sock, 0660) != 0)
        log_fatal("socket %s: chmod 0660: %s", sock, strerror(errno));
    main_drop_privileges(c);
    if (!foreground)
        main_detach();
    return main_serve(c);                /* which frees c */
}

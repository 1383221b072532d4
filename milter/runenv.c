/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * runenv.c - the account the daemon runs as, its unix socket, the
 * default files it may do without, and redgrey -t's checks of them as
 * the run user (see runenv.h).
 *
 * The -t checks run in a forked child so that switching to the run user
 * leaves the caller as it was. A directory that does not exist yet is a
 * note, not an error: systemd (RuntimeDirectory) and tmpfiles.d create
 * /run/redgrey and the socket directory at start, and a stopped service
 * has no /run/redgrey. A directory that exists but that the run user
 * cannot write, or a socket some live process serves, would stop the
 * daemon: those are errors.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "runenv.h"
#include "store.h"
#include "xalloc.h"

#define RUNENV_CONNECT_MS 500            /* bound on probing an inet socket */

/* runenv_unix_path - the path of a unix socket spec */
const char *
runenv_unix_path(const char *spec)
{
    if (strncmp(spec, "unix:", 5) == 0)
        return spec + 5;
    if (strncmp(spec, "local:", 6) == 0)
        return spec + 6;
    if (spec[0] == '/')
        return spec;
    return NULL;
}

/* runenv_account - user and group to ids */
int
runenv_account(const struct cfg *c, uid_t *uid, gid_t *gid, char *err, size_t errlen)
{
    const char *user = c->user != NULL ? c->user : "";
    const char *group = c->group != NULL ? c->group : "";
    struct passwd *pw;
    struct group *gr;

    *uid = geteuid();
    *gid = getegid();
    if (user[0] != '\0') {
        if ((pw = getpwnam(user)) == NULL) {
            snprintf(err, errlen, "user %s: no such user", user);
            return -1;
        }
        *uid = pw->pw_uid;
        *gid = pw->pw_gid;
    }
    if (group[0] != '\0') {
        if ((gr = getgrnam(group)) == NULL) {
            snprintf(err, errlen, "group %s: no such group", group);
            return -1;
        }
        *gid = gr->gr_gid;
    }
    return 0;
}

/* runenv_socket_gid - socket_group, or the run group */
int
runenv_socket_gid(const struct cfg *c, gid_t run_gid, gid_t *gid, char *err, size_t errlen)
{
    struct group *gr;

    *gid = run_gid;
    if (c->socket_group == NULL || c->socket_group[0] == '\0')
        return 0;
    if ((gr = getgrnam(c->socket_group)) == NULL) {
        snprintf(err, errlen, "socket_group %s: no such group", c->socket_group);
        return -1;
    }
    *gid = gr->gr_gid;
    return 0;
}

/* runenv_become - initgroups, setgid, setuid; fail closed */
int
runenv_become(const char *user, uid_t uid, gid_t gid, char *err, size_t errlen)
{
    if (initgroups(user, gid) != 0) {
        snprintf(err, errlen, "initgroups(%s): %s", user, strerror(errno));
        return -1;
    }
    if (setgid(gid) != 0) {
        snprintf(err, errlen, "setgid(%ld): %s", (long) gid, strerror(errno));
        return -1;
    }
    if (setuid(uid) != 0) {
        snprintf(err, errlen, "setuid(%ld): %s", (long) uid, strerror(errno));
        return -1;
    }
    if (uid != 0) {
        if (setuid(0) == 0 || seteuid(0) == 0) {
            snprintf(err, errlen, "could regain root after switching to user %s: refusing to run",
                     user);
            return -1;
        }
        if (getuid() != uid || geteuid() != uid || getgid() != gid || getegid() != gid) {
            snprintf(err, errlen, "switching to user %s did not take: refusing to run", user);
            return -1;
        }
    }
    return 0;
}

/* runenv_connect_within - connect fd to sa within RUNENV_CONNECT_MS; 0 connected, -1 not */
static int
runenv_connect_within(int fd, const struct sockaddr *sa, socklen_t len)
{
    struct pollfd pfd = {fd, POLLOUT, 0};
    int     e = 0;
    socklen_t elen = sizeof(e);

    (void) fcntl(fd, F_SETFL, O_NONBLOCK);
    if (connect(fd, sa, len) == 0)
        return 0;
    if (errno != EINPROGRESS || poll(&pfd, 1, RUNENV_CONNECT_MS) != 1
        || getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &elen) != 0 || e != 0)
        return -1;
    return 0;
}

/* runenv_inet_live - inet:PORT@HOST / inet6:PORT@HOST: does anything listen there */
static int
runenv_inet_live(const char *spec)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res, *ai;
    const char *rest = strchr(spec, ':') + 1, *at = strchr(rest, '@');
    char    port[16], host[256];
    size_t  hl;
    int     live = 0;

    if (at == NULL || (size_t) (at - rest) >= sizeof(port))
        return 0;                        /* every address: nothing to probe */
    snprintf(port, sizeof(port), "%.*s", (int) (at - rest), rest);
    snprintf(host, sizeof(host), "%s", at + 1);
    hl = strlen(host);
    if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
        memmove(host, host + 1, hl - 2);
        host[hl - 2] = '\0';
    }
    if (getaddrinfo(host, port, &hints, &res) != 0)
        return 0;
    for (ai = res; ai != NULL && !live; ai = ai->ai_next) {
        int     fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

        if (fd >= 0) {
            live = runenv_connect_within(fd, ai->ai_addr, ai->ai_addrlen) == 0;
            close(fd);
        }
    }
    freeaddrinfo(res);
    return live;
}

/* runenv_socket_live - connect to it: only a live process accepts */
int
runenv_socket_live(const char *spec)
{
    const char *path = runenv_unix_path(spec);
    struct sockaddr_un su = {.sun_family = AF_UNIX};
    int     fd, live;

    if (path == NULL)
        return strncmp(spec, "inet", 4) == 0 ? runenv_inet_live(spec) : 0;
    if (strlen(path) >= sizeof(su.sun_path)
        || (fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
        return 0;
    memcpy(su.sun_path, path, strlen(path) + 1);
    live = connect(fd, (struct sockaddr *) &su, sizeof(su)) == 0;
    close(fd);
    return live;
}

/*
 * runenv_default_file - *field, if it is the default def and that file
 * does not exist, becomes "" with the warning "KEY DEF (the default) does
 * not exist: CONSEQUENCE (install it, or set KEY = "")". Returns 1 then, else 0.
 */
static int
runenv_default_file(char **field, const char *def, const char *key, const char *consequence,
                    char *warn, size_t warnlen)
{
    const char *p = *field;

    if (p == NULL || strcmp(p, def) != 0 || access(p, F_OK) == 0 || errno != ENOENT)
        return 0;
    snprintf(warn, warnlen, "%s %s (the default) does not exist: %s (install it, or set "
             "%s = \"\")", key, p, consequence, key);
    free(*field);
    *field = xstrdup("");
    return 1;
}

/* runenv_default_lists - drop the default recipient list when it is not installed */
int
runenv_default_lists(struct cfg *c, char *warn, size_t warnlen)
{
    return runenv_default_file(&c->whitelist_recipients, CFG_DEFAULT_WHITELIST_RECIPIENTS,
                               "whitelist_recipients", "no recipient is whitelisted, "
                               "postmaster@ and abuse@ are greylisted", warn, warnlen);
}

/* runenv_default_patterns - drop the default dynamic-name patterns when not installed */
int
runenv_default_patterns(struct cfg *c, char *warn, size_t warnlen)
{
    return runenv_default_file(&c->dynamic_patterns, CFG_DEFAULT_DYNAMIC_PATTERNS,
                               "dynamic_patterns", "only the built-in rule (the address's "
                               "digits in the name) finds dynamic client names", warn, warnlen);
}

/* runenv_config_exposed - world-readable while holding a store password */
int
runenv_config_exposed(const struct cfg *c, const char *path, char *warn, size_t warnlen)
{
    char    shown[1100];
    struct stat st;

    store_url_redact(c->store, shown, sizeof(shown));
    if (strcmp(shown, c->store) == 0 || stat(path, &st) != 0 || (st.st_mode & S_IROTH) == 0)
        return 0;
    snprintf(warn, warnlen, "%s holds the store password and every user can read it "
             "(mode %04o): chmod 0640 it, owned by root and the daemon's group", path,
             (unsigned) (st.st_mode & 07777));
    return 1;
}

/* runenv_say - one finding on stderr: kind "" (an error), "warning" or "note" */
static void __attribute__((format(printf, 2, 3)))
runenv_say(const char *kind, const char *fmt, ...)
{
    char    msg[1200];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fprintf(stderr, "redgrey: %s%s%s\n", kind, kind[0] != '\0' ? ": " : "", msg);
}

/*
 * runenv_dir_check - the directory of file (what names it) as the daemon
 * needs it: missing is a note, not writable is an error. 0 or -1.
 */
static int
runenv_dir_check(const char *what, const char *file)
{
    char    dir[1100];
    char   *slash;
    struct stat st;

    snprintf(dir, sizeof(dir), "%s", file);
    if ((slash = strrchr(dir, '/')) == NULL)
        return 0;
    *(slash == dir ? slash + 1 : slash) = '\0';
    if (stat(dir, &st) != 0) {
        if (errno == ENOENT) {
            runenv_say("note", "%s directory %s does not exist now: it must when the daemon "
                       "starts (systemd and tmpfiles.d create it)", what, dir);
            return 0;
        }
        runenv_say("", "%s directory %s: %s", what, dir, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        runenv_say("", "%s directory %s: not a directory", what, dir);
        return -1;
    }
    if (access(dir, W_OK | X_OK) != 0) {
        runenv_say("", "%s directory %s: the run user (uid %ld) cannot write it: %s", what, dir,
                   (long) geteuid(), strerror(errno));
        return -1;
    }
    return 0;
}

/* runenv_log_check - a file target can be appended to (or created) by the run user */
static int
runenv_log_check(const struct cfg *c)
{
    const char *path;

    if (c->log_target == NULL || strncmp(c->log_target, "file:", 5) != 0)
        return 0;
    path = c->log_target + 5;
    if (access(path, F_OK) != 0)
        return runenv_dir_check("log_target", path);
    if (access(path, W_OK) != 0) {
        runenv_say("", "log file %s: the run user (uid %ld) cannot write it: %s", path,
                   (long) geteuid(), strerror(errno));
        return -1;
    }
    return 0;
}

/*
 * runenv_live_check - nobody serves the socket yet, or it is this
 * configuration's running daemon (its pidfile names a live process)
 */
static int
runenv_live_check(const struct cfg *c)
{
    FILE   *fp;
    long    pid = 0;

    if (!runenv_socket_live(c->socket))
        return 0;
    if (c->pidfile != NULL && c->pidfile[0] != '\0' && (fp = fopen(c->pidfile, "r")) != NULL) {
        if (fscanf(fp, "%ld", &pid) != 1)
            pid = 0;
        fclose(fp);
    }
    if (pid > 0 && (kill((pid_t) pid, 0) == 0 || errno == EPERM)) {
        runenv_say("note", "socket %s is served by the running redgrey (pid %ld in %s): "
                   "SIGHUP reloads it; a second daemon would refuse to start", c->socket, pid,
                   c->pidfile);
        return 0;
    }
    runenv_say("", "socket %s is served by a running process that is not this configuration's "
               "daemon: redgrey would refuse to start", c->socket);
    return -1;
}

/* runenv_child - the checks, as whoever the child now is; the exit code */
static int
runenv_child(const struct cfg *c, int (*more)(const struct cfg *c))
{
    const char *sock = runenv_unix_path(c->socket);
    int     bad = 0;

    if (c->pidfile != NULL && c->pidfile[0] != '\0')
        bad |= runenv_dir_check("pidfile", c->pidfile) != 0;
    if (sock != NULL)
        bad |= runenv_dir_check("socket", sock) != 0;
    bad |= runenv_log_check(c) != 0;
    bad |= runenv_live_check(c) != 0;
    if (more != NULL)
        bad |= more(c) != 0;
    fflush(stdout);
    fflush(stderr);
    return bad ? 1 : 0;
}

/* runenv_check - the run user's view, from a child */
int
runenv_check(const struct cfg *c, int (*more)(const struct cfg *c))
{
    const char *user = c->user != NULL ? c->user : "";
    char    err[CFG_ERRLEN];
    uid_t   uid;
    gid_t   gid, sgid;
    int     status, drop = 0;
    pid_t   pid;

    if (runenv_account(c, &uid, &gid, err, sizeof(err)) != 0)
        runenv_say("warning", "%s: the daemon, started as root, would refuse to run; "
                   "checking as uid %ld instead", err, (long) geteuid());
    else if (geteuid() == 0 && user[0] != '\0')
        drop = 1;
    else if (user[0] != '\0' && uid != geteuid())
        runenv_say("note", "not running as root: cannot switch to user %s, checking as uid %ld",
                   user, (long) geteuid());
    if (runenv_unix_path(c->socket) != NULL
        && runenv_socket_gid(c, gid, &sgid, err, sizeof(err)) != 0)
        runenv_say("warning", "%s: the daemon would refuse to start", err);

    fflush(stdout);
    fflush(stderr);
    if ((pid = fork()) < 0) {
        runenv_say("", "fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        if (drop && runenv_become(user, uid, gid, err, sizeof(err)) != 0) {
            runenv_say("", "%s", err);
            _exit(1);
        }
        if (drop)
            runenv_say("note", "checking as user %s (uid %ld, gid %ld), as the daemon runs",
                       user, (long) uid, (long) gid);
        _exit(runenv_child(c, more));
    }
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

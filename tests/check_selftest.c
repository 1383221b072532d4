/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_selftest.c - redgrey -t checks the run environment as the run
 * user: directories it must write, the log file, list files it must
 * read, a live process on the socket, the accounts; warnings (store down,
 * an exposed password, the default whitelist missing) leave the exit 0.
 * And the daemon itself refuses to take over a unix socket that a live
 * process serves.
 *
 * Each case writes a configuration into a fresh directory under /tmp
 * (mode 0755, so that user nobody can reach it) and runs the real
 * binary. The cases about switching users need root, as the daemon does;
 * run as another user, they assert that -t says it checks as that user.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon.h"

#define RUN_MS   15000                   /* bound on one redgrey -t */
#define NOBODY   65534                   /* Debian's nobody and nogroup */

static char dir[256];                    /* this test's directory */

/* setup - a fresh directory everybody may enter */
static void
setup(void)
{
    snprintf(dir, sizeof(dir), "/tmp/rg-selftest.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    ck_assert_int_eq(chmod(dir, 0755), 0);
}

/* teardown - remove it */
static void
teardown(void)
{
    daemon_dir_remove(dir);
}

/* in_dir - dir/name into buf */
static const char *
in_dir(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s/%s", dir, name);
    return buf;
}

/* expand - text with every "@D" replaced by dir, into buf */
static const char *
expand(const char *text, char *buf, size_t len)
{
    size_t  n = 0;

    for (const char *p = text; *p != '\0' && n + sizeof(dir) + 1 < len; p++) {
        if (p[0] == '@' && p[1] == 'D') {
            n += (size_t) snprintf(buf + n, len - n, "%s", dir);
            p++;
        } else {
            buf[n++] = *p;
        }
    }
    buf[n] = '\0';
    return buf;
}

/* Every case's configuration, but for the keys the case sets itself. */
static const char *const base_lines[] = {
    "store = lmdb:@D\n", "socket = inet:10029@127.0.0.1\n", "pidfile = \"\"\n",
    "whitelist_recipients = \"\"\n", "user = \"\"\n",
    "dynamic_patterns = \"\"\n",
};

/* has_key - 1 if conf sets the key line starts with */
static int
has_key(const char *conf, const char *line)
{
    char    key[64];
    size_t  k = strcspn(line, " ");

    snprintf(key, sizeof(key), "\n%.*s =", (int) k, line);
    return strncmp(conf, key + 1, k + 2) == 0 || strstr(conf, key) != NULL;
}

/*
 * run_t - the base lines, then conf (each "@D" is dir), as dir/t.conf
 * mode 0644; run redgrey -t on it as uid (-1: as we are). The exit code;
 * the output in out.
 */
static int
run_t(const char *conf, uid_t uid, char *out, size_t outlen)
{
    char    path[300], text[4096], raw[4096] = "", log[300];
    pid_t   pid;
    int     status, fd;

    for (size_t i = 0; i < sizeof(base_lines) / sizeof(base_lines[0]); i++)
        if (!has_key(conf, base_lines[i]))
            strncat(raw, base_lines[i], sizeof(raw) - strlen(raw) - 1);
    strncat(raw, conf, sizeof(raw) - strlen(raw) - 1);
    expand(raw, text, sizeof(text));
    in_dir(path, sizeof(path), "t.conf");
    ck_assert_int_eq(daemon_write_file(path, text), 0);
    ck_assert_int_eq(chmod(path, 0644), 0);
    in_dir(log, sizeof(log), "t.out");
    ck_assert_int_ge(pid = fork(), 0);
    if (pid == 0) {
        fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        if (uid != (uid_t) -1 && (setgid(NOBODY) != 0 || setuid(uid) != 0))
            _exit(126);
        execl(DAEMON_REDGREY_BIN, DAEMON_REDGREY_BIN, "-t", "-c", path, (char *) NULL);
        _exit(127);
    }
    for (int waited = 0; waitpid(pid, &status, WNOHANG) != pid; waited += 10) {
        if (waited > RUN_MS) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            ck_abort_msg("redgrey -t did not finish within %d ms", RUN_MS);
        }
        daemon_sleep_ms(10);
    }
    {
        char   *o = daemon_read_file_ok(log);

        snprintf(out, outlen, "%s", o);
        free(o);
    }
    ck_assert_msg(WIFEXITED(status), "redgrey -t did not exit");
    return WEXITSTATUS(status);
}

/* One case: a configuration, who runs -t, the exit and what the output holds. */
static const struct selftest_case {
    const char *label;
    const char *conf;                    /* over base_lines; "@D" is dir */
    int     as_nobody;                   /* run -t as nobody, not as root */
    int     root_only;                   /* the case is about switching users */
    int     want_exit;
    const char *want;                    /* in the output */
    const char *never;                   /* not in the output, or NULL */
} cases[] = {
    {"pidfile dir the run user cannot write",
     "user = nobody\npidfile = @D/rootonly/r.pid\n", 0, 1, 1,
     "pidfile directory @D/rootonly: the run user (uid 65534) cannot write it", NULL},
    {"pidfile dir of the run user",
     "user = nobody\npidfile = @D/nobodys/r.pid\n", 0, 1, 0,
     "checking as user nobody (uid 65534, gid 65534)", "cannot write"},
    {"pidfile dir missing: a note",
     "user = \"\"\npidfile = @D/missing/r.pid\n", 0, 0, 0,
     "note: pidfile directory @D/missing does not exist now", "warning"},
    {"socket dir the run user cannot write",
     "user = nobody\nsocket = unix:@D/rootonly/s.sock\nsocket_group = nogroup\n", 0, 1, 1,
     "socket directory @D/rootonly: the run user (uid 65534) cannot write it", NULL},
    {"list file only root can read",
     "user = nobody\nwhitelist_clients = @D/rootonly/clients\n", 0, 1, 1,
     "@D/rootonly/clients", "configuration OK"},
    {"log file only root can write",
     "user = nobody\nlog_target = file:@D/root.log\n", 0, 1, 1,
     "log file @D/root.log: the run user (uid 65534) cannot write it", NULL},
    {"no such user: a warning",
     "user = rg-no-such-user\n", 0, 0, 0,
     "warning: user rg-no-such-user: no such user", NULL},
    {"no such socket_group: a warning",
     "user = \"\"\nsocket = unix:@D/s.sock\nsocket_group = rg-no-such-group\n", 0, 0, 0,
     "warning: socket_group rg-no-such-group: no such group: the daemon would refuse to start", NULL},
    {"store down: a warning", "store = redis://127.0.0.1:1/0\n", 0, 0, 0, "warning: store", NULL},
    {"password in a world-readable file", "store = redis://:s3cret@127.0.0.1:1/0\n", 0, 0, 0,
     "holds the store password and every user can read it (mode 0644)", "s3cret"},
    {"reply 421", "user = \"\"\nreply = 421 4.7.1 Go away\n", 0, 0, 1,
     "421 closes the SMTP session", NULL},
    {"not root: checks as the current user",
     "user = daemon\npidfile = @D/nobodys/r.pid\n", 1, 0, 0,
     "note: not running as root: cannot switch to user daemon, checking as uid 65534", NULL},
    {"not root: a directory it cannot write",
     "user = \"\"\npidfile = @D/rootonly/r.pid\n", 1, 0, 1,
     "pidfile directory @D/rootonly: the run user (uid 65534) cannot write it", NULL},
};

/* test_selftest - one case of the table */
START_TEST(test_selftest)
{
    const struct selftest_case *k = &cases[_i];
    char    out[8192], want[600], p[300];
    int     rc;

    /* Fixtures every case may name: a root-only directory and nobody's. */
    ck_assert_int_eq(mkdir(in_dir(p, sizeof(p), "rootonly"), 0755), 0);
    ck_assert_int_eq(daemon_write_file(in_dir(p, sizeof(p), "rootonly/clients"), "192.0.2.0/24\n"), 0);
    ck_assert_int_eq(chmod(p, 0600), 0);
    ck_assert_int_eq(daemon_write_file(in_dir(p, sizeof(p), "root.log"), ""), 0);
    ck_assert_int_eq(chmod(p, 0644), 0);
    ck_assert_int_eq(mkdir(in_dir(p, sizeof(p), "nobodys"), 0755), 0);
    if (geteuid() == 0)
        ck_assert_int_eq(chown(p, NOBODY, NOBODY), 0);

    if (k->as_nobody && geteuid() != 0) {
        /* Cannot become nobody: the same check as ourselves must still say who it is. */
        rc = run_t(k->conf, (uid_t) -1, out, sizeof(out));
        ck_assert_msg(rc == 0 || rc == 1, "%s: exit %d: %s", k->label, rc, out);
        return;
    }
    rc = run_t(k->conf, k->as_nobody ? NOBODY : (uid_t) -1, out, sizeof(out));
    if (k->root_only && geteuid() != 0) {
        ck_assert_msg(strstr(out, "not running as root") != NULL,
                      "%s: not root, and -t does not say so: %s", k->label, out);
        return;
    }
    expand(k->want, want, sizeof(want));
    ck_assert_msg(rc == k->want_exit, "%s: exit %d, want %d: %s", k->label, rc, k->want_exit, out);
    ck_assert_msg(strstr(out, want) != NULL, "%s: want \"%s\" in: %s", k->label, want, out);
    if (k->never != NULL)
        ck_assert_msg(strstr(out, k->never) == NULL, "%s: \"%s\" in: %s", k->label, k->never, out);
    if (k->want_exit == 0)
        ck_assert_msg(strstr(out, "configuration OK") != NULL, "%s: no OK: %s", k->label, out);
}
END_TEST

/* listen_unix - a listening unix socket at path; the descriptor */
static int
listen_unix(const char *path)
{
    struct sockaddr_un su = {.sun_family = AF_UNIX};
    int     fd = socket(AF_UNIX, SOCK_STREAM, 0);

    ck_assert_int_ge(fd, 0);
    ck_assert_uint_lt(strlen(path), sizeof(su.sun_path));
    strcpy(su.sun_path, path);
    ck_assert_int_eq(bind(fd, (struct sockaddr *) &su, sizeof(su)), 0);
    ck_assert_int_eq(listen(fd, 4), 0);
    return fd;
}

/*
 * test_socket_live - a socket some live process serves: an error for -t,
 * unless the pidfile names a live process (the running daemon: a note);
 * the daemon refuses to start on it and leaves it in place
 */
START_TEST(test_socket_live)
{
    char    sock[300], pid[300], conf[1024], out[8192], path[300];
    const char *argv[] = {DAEMON_REDGREY_BIN, "-f", "-c", path, NULL};
    struct stat st;
    int     fd, rc;

    in_dir(sock, sizeof(sock), "live.sock");
    in_dir(pid, sizeof(pid), "live.pid");
    fd = listen_unix(sock);
    rc = run_t("socket = unix:@D/live.sock\nsocket_group = \"\"\n", (uid_t) -1, out, sizeof(out));
    ck_assert_msg(rc == 1 && strstr(out, "is served by a running process that is not this "
                                    "configuration's daemon") != NULL, "no pidfile: %d %s", rc, out);

    /* Our own pid in the pidfile: the running daemon of this configuration. */
    snprintf(conf, sizeof(conf), "%ld\n", (long) getpid());
    ck_assert_int_eq(daemon_write_file(pid, conf), 0);
    rc = run_t("socket = unix:@D/live.sock\nsocket_group = \"\"\npidfile = @D/live.pid\n", (uid_t) -1, out, sizeof(out));
    ck_assert_msg(rc == 0 && strstr(out, "note: socket unix:") != NULL
                  && strstr(out, "is served by the running redgrey (pid") != NULL,
                  "pidfile of a live process: %d %s", rc, out);

    /* The daemon: refuses, and the socket is still the test's. */
    in_dir(path, sizeof(path), "t.conf");
    rc = daemon_capture(argv, out, sizeof(out), RUN_MS);
    ck_assert_msg(rc == 1 && strstr(out, "refusing to take it over") != NULL,
                  "daemon on a live socket: exit %d: %s", rc, out);
    ck_assert_int_eq(stat(sock, &st), 0);
    ck_assert_msg(S_ISSOCK(st.st_mode), "the socket was replaced");
    close(fd);
}
END_TEST

/* test_default_whitelist - the default recipient list: loaded if installed, else a warning */
START_TEST(test_default_whitelist)
{
    char    out[8192];
    int     installed = access("/etc/redgrey/whitelist_recipients", F_OK) == 0;
    int     rc;

    /* No whitelist_recipients line: the base one would set it; write the default by hand. */
    rc = run_t("whitelist_recipients = /etc/redgrey/whitelist_recipients\n", (uid_t) -1, out,
               sizeof(out));

    ck_assert_msg(rc == 0 && strstr(out, "configuration OK") != NULL, "exit %d: %s", rc, out);
    if (installed)
        ck_assert_msg(strstr(out, "whitelist_recipients") == NULL, "installed list: %s", out);
    else
        ck_assert_msg(strstr(out, "warning: whitelist_recipients /etc/redgrey/whitelist_recipients "
                             "(the default) does not exist") != NULL, "no warning: %s", out);
}
END_TEST

/* test_missing_list - a list file named in the file (not the default) missing is an error */
START_TEST(test_missing_list)
{
    char    out[8192];
    int     rc = run_t("user = \"\"\nwhitelist_recipients = @D/none\n", (uid_t) -1, out,
                       sizeof(out));

    ck_assert_msg(rc == 1 && strstr(out, "/none") != NULL, "exit %d: %s", rc, out);
}
END_TEST

static Suite *
selftest_suite(void)
{
    Suite  *s = suite_create("selftest");
    TCase  *tc = tcase_create("checks");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_loop_test(tc, test_selftest, 0, sizeof(cases) / sizeof(cases[0]));
    tcase_add_test(tc, test_socket_live);
    tcase_add_test(tc, test_default_whitelist);
    tcase_add_test(tc, test_missing_list);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return daemon_run_suites(selftest_suite(), NULL) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

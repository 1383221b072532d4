/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * runenv.h - the daemon's run environment: the account it runs as, its
 * unix socket, the default files it may do without, and redgrey -t's
 * checks of all that as the run user.
 *
 * The daemon (milter/main.c) and redgrey -t use the same account lookup
 * and the same privilege switch, so that -t finds what the daemon would
 * meet: -t forks a child that becomes the run user (when started as
 * root) and checks there the pidfile and socket directories, the log
 * file, a live process on the socket, and whatever else the caller asks
 * (list files, the store). Without root it checks as the current user
 * and says so.
 *
 * Thread-safety: startup only (one thread, before libmilter starts).
 */
#ifndef REDGREY_RUNENV_H
#define REDGREY_RUNENV_H

#include <stddef.h>
#include <sys/types.h>

#include "cfg.h"

/* runenv_unix_path - the file of a unix:PATH / local:PATH / bare path socket, or NULL */
const char *runenv_unix_path(const char *spec);

/*
 * runenv_account - the uid and gid of c's user and group (group "" = the
 * user's primary group). Returns 0, or -1 with a reason in err.
 */
int     runenv_account(const struct cfg *c, uid_t *uid, gid_t *gid, char *err, size_t errlen);

/*
 * runenv_socket_gid - the group a unix socket gets: socket_group's gid, or
 * run_gid when socket_group is "". Returns 0, or -1 with a reason in err.
 */
int     runenv_socket_gid(const struct cfg *c, gid_t run_gid, gid_t *gid, char *err,
                          size_t errlen);

/*
 * runenv_become - switch (as root) to user uid/gid with its supplementary
 * groups, failing closed: -1 with a reason in err when a step fails or
 * root could be regained afterwards. 0 on success.
 */
int     runenv_become(const char *user, uid_t uid, gid_t gid, char *err, size_t errlen);

/*
 * runenv_socket_live - 1 if a process accepts connections on the socket
 * of spec (unix path, or inet host and port), 0 if none does
 */
int     runenv_socket_live(const char *spec);

/*
 * runenv_default_lists - a default list file that does not exist is no
 * list: set its key in c to "" and put a warning in warn. Returns 1 if
 * so, 0 if nothing changed.
 */
int     runenv_default_lists(struct cfg *c, char *warn, size_t warnlen);

/*
 * runenv_default_patterns - the same for dynamic_patterns: the
 * default file, when not installed, is a warning and becomes ""
 */
int     runenv_default_patterns(struct cfg *c, char *warn, size_t warnlen);

/*
 * runenv_config_exposed - 1 (with a warning in warn) if the file at path
 * can be read by every user while it holds a secret (a store password)
 */
int     runenv_config_exposed(const struct cfg *c, const char *path, char *warn,
                              size_t warnlen);

/*
 * runenv_check - redgrey -t's environment checks, run in a child process
 * as the run user (see the top of this file); more(c) runs there last and
 * returns 0 or -1 (it prints its own errors). Findings go to stderr as
 * "redgrey: ...", "redgrey: warning: ..." or "redgrey: note: ...".
 * Returns 0, or -1 when something would stop the daemon.
 */
int     runenv_check(const struct cfg *c, int (*more)(const struct cfg *c));

#endif

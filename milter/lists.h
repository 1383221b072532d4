/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * lists.h - the daemon's static whitelists, shared by every session, and
 * the thread that reloads them.
 *
 * They are loaded at startup, before smfi_main(); a bad whitelist line is
 * a startup error. Afterwards the whitelists are replaced as a whole when
 * a file changes (checked every 10 s) or when lists_reconfigure() asks
 * (SIGHUP, SIGUSR1); a reload that meets a bad file logs it once and
 * keeps the lists in use.
 *
 * Thread-safety: lists_init(), lists_check() and lists_fini() run in the
 * main thread; lists_wlist() and lists_reconfigure() from any thread.
 */
#ifndef REDGREY_LISTS_H
#define REDGREY_LISTS_H

#include <stddef.h>

#include "cfg.h"
#include "wlist.h"

#define LISTS_RELOAD_SECONDS 10          /* how often the files are stat()ed */

/*
 * lists_check - load the whitelist files named in c, then drop them: what
 * redgrey -t checks. Returns 0, or -1 with "FILE:LINE: reason" in err.
 */
int     lists_check(const struct cfg *c, char *err, size_t errlen);

/*
 * lists_load - load the whitelist files named in c once, as lists_init
 * would, without the reload thread (redgreyctl lookup): a reference the
 * caller drops with wlist_unref, or NULL with "FILE:LINE: reason" in err.
 * Main thread, not while lists_init's lists are in use.
 */
struct wlist *lists_load(const struct cfg *c, char *err, size_t errlen);

/*
 * lists_init - load the whitelists and start the reload thread (which
 * blocks every signal). Call after the last fork. Returns 0, or -1 with a
 * reason in err.
 */
int     lists_init(const struct cfg *c, char *err, size_t errlen);

/*
 * lists_reconfigure - use the whitelist files c names from now on and
 * reload them at once, logged with why ("SIGHUP"). A bad file is logged
 * here; the lists and file names in use stay. Returns 0, or -1 with
 * "FILE:LINE: reason" in err. From any thread after lists_init.
 */
int     lists_reconfigure(const struct cfg *c, const char *why, char *err, size_t errlen);

/*
 * lists_wlist - a reference to the current whitelists (the caller drops
 * it with wlist_unref), or NULL before lists_init. Takes no lock, never
 * waits, never allocates.
 */
struct wlist *lists_wlist(void);

/*
 * lists_fini - stop and join the reload thread and drop the whitelists.
 * Only once no session uses them; idempotent.
 */
void    lists_fini(void);

#endif

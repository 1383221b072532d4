/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * reload.h - the daemon's current configuration as a refcounted
 * snapshot, and the reload that replaces it (SIGHUP, SIGUSR1).
 *
 * A session pins the snapshot current at its start (reload_get) and
 * drops it at its end (reload_put): a reload never changes the settings
 * under a session in flight, and new sessions see the new ones. Readers
 * take no lock: one atomic pointer, a grace bracket around the load and
 * the reference (common/grace.h), as milter/lists.c does for the lists.
 *
 * reload_now() reads the file again. A file with an error keeps the
 * running configuration (logged once, "FILE:LINE: reason", and counted).
 * Keys only a restart can apply (socket, socket_group, user, group,
 * pidfile, the store's connection, the big-sender refresh, logging)
 * keep their running values; each changed one is logged as "needs a
 * restart".
 *
 * Thread-safety: reload_init(), reload_now() and reload_fini() from one
 * thread (the daemon's main thread); reload_get(), reload_put() and
 * reload_failures() from any thread.
 */
#ifndef REDGREY_RELOAD_H
#define REDGREY_RELOAD_H

#include "cfg.h"
#include "decision.h"

/* One configuration as the sessions see it. */
struct reload_snap {
    const struct cfg *cfg;               /* the whole configuration, read-only */
    struct decision_config decision;     /* the part of cfg the decision reads */
};

/*
 * reload_init - make c (which the module now owns and frees at
 * reload_fini) the first snapshot; it also stays the reference for the
 * keys that need a restart.
 */
void    reload_init(struct cfg *c);

struct store;

/*
 * reload_set_store - from now on, reload_now also gives st the new delay
 * parameters and mode (store_set_params); NULL: no store
 */
void    reload_set_store(struct store *st);

/* reload_get - the current snapshot, pinned until reload_put; NULL outside init..fini */
const struct reload_snap *reload_get(void);

/* reload_put - drop a pin taken by reload_get; NULL is a no-op */
void    reload_put(const struct reload_snap *s);

/*
 * reload_now - load the configuration file again (and the whitelists it
 * names) and make it current, why naming the cause in the log ("SIGHUP").
 * Returns 0, or -1 when the file or a list is bad (logged, counted; the
 * running configuration stays).
 */
int     reload_now(const char *why);

/* reload_failures - failed reloads since the start */
unsigned long reload_failures(void);

/* reload_fini - drop the current snapshot; only once no session pins one */
void    reload_fini(void);

#endif

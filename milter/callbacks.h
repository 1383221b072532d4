/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * callbacks.h - the libmilter glue: registration and the store the
 * callbacks share, set once before smfi_main(). Each session reads the
 * configuration snapshot it pinned at its start (milter/reload.h).
 *
 * Thread-safety: callbacks_register() and callbacks_init() run in the
 * main thread before smfi_main(); callbacks_stop() and callbacks_active()
 * from any thread.
 */
#ifndef REDGREY_CALLBACKS_H
#define REDGREY_CALLBACKS_H

#include "cfg.h"
#include "store.h"

/* callbacks_register - smfi_register() redgrey's filter; 0 or -1 */
int     callbacks_register(void);

/*
 * callbacks_init - give the callbacks the store; it must outlive
 * smfi_main() and every session still open after it. The configuration
 * comes from reload_get(), so reload_init() must have run.
 */
void    callbacks_init(struct store *store);

/* callbacks_active - number of sessions not closed yet */
int     callbacks_active(void);

/*
 * callbacks_stop - make no new session from now on: a connection without
 * one is answered "continue" and never touches the store, the lists or
 * the configuration. Once callbacks_active() has returned 0 after this
 * call, no callback uses them any more and they may be freed.
 */
void    callbacks_stop(void);

#endif

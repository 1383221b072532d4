/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * callbacks.h - the libmilter glue: registration and the shared state the
 * callbacks read (configuration and store), set once before smfi_main().
 *
 * Thread-safety: callbacks_register() and callbacks_init() run in the
 * main thread before smfi_main(); callbacks_active() may be read from any
 * thread.
 */
#ifndef REDGREY_CALLBACKS_H
#define REDGREY_CALLBACKS_H

#include "cfg.h"
#include "store.h"

/* callbacks_register - smfi_register() redgrey's filter; 0 or -1 */
int     callbacks_register(void);

/*
 * callbacks_init - give the callbacks the configuration and the store;
 * both must outlive smfi_main() and every session still open after it.
 */
void    callbacks_init(const struct cfg *cfg, struct store *store);

/* callbacks_active - number of sessions not closed yet */
int     callbacks_active(void);

#endif

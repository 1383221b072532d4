/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cfg_store.h - the store's view of a configuration.
 *
 * The daemon, redgreyctl and the benchmark's filler must open the store
 * exactly alike (same keys, same policy parameters, same limits), so
 * the mapping from struct cfg to struct store_config is written once,
 * here: the one file that includes both cfg.h and store.h, neither of
 * which includes the other.
 *
 * Thread-safety: a pure function.
 */
#ifndef REDGREY_CFG_STORE_H
#define REDGREY_CFG_STORE_H

#include "cfg.h"
#include "store.h"

/*
 * cfg_store_config - fill sc from c: URL, key prefix, policy parameters,
 * timeout, pool and LMDB map size. sc points into c (url, key_prefix),
 * so c must outlive the store opened with it. A caller that needs
 * another pool size (redgreyctl, rgfill) sets sc->pool afterwards.
 */
void    cfg_store_config(const struct cfg *c, struct store_config *sc);

#endif

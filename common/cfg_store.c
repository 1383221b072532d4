/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cfg_store.c - struct cfg to struct store_config, for every program
 * that opens the store (cfg_store.h).
 */
#include "config.h"

#include <string.h>

#include "cfg.h"
#include "cfg_store.h"
#include "store.h"

/* cfg_store_config - the store's view of the configuration */
void
cfg_store_config(const struct cfg *c, struct store_config *sc)
{
    memset(sc, 0, sizeof(*sc));
    sc->url = c->store;
    sc->key_prefix = c->key_prefix;
    sc->params.delay = c->delay;
    sc->params.retry_window = c->retry_window;
    sc->params.pass_ttl = c->pass_ttl;
    sc->params.awl_threshold = c->awl_threshold;
    sc->params.awl_ttl = c->awl_ttl;
    sc->params.learn = c->mode == CFG_MODE_LEARN;
    sc->params.max_new_per_client = c->max_new_per_client;
    sc->params.greytrap_ttl = c->greytrap_ttl;
    sc->params.outbound_ttl = c->outbound_ttl;
    sc->timeout_ms = c->store_timeout_ms;
    sc->pool = c->store_pool;
    sc->lmdb_mapsize = c->lmdb_mapsize;
    sc->sentinel_password = c->sentinel_password;
}

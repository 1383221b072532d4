/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * store_lmdb.c - PLACEHOLDER on the redis branch only, so that store.c links;
 * the lmdb branch provides the real backend and replaces this file.
 */
#include "config.h"

#include <stdio.h>

#include "store.h"

/* store_lmdb_open - not built on this branch: always NULL */
struct store *
store_lmdb_open(const struct store_config *conf, char *err, size_t errlen)
{
    (void) conf;
    snprintf(err, errlen, "lmdb not built");
    return NULL;
}

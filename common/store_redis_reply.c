/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * store_redis_reply.c - what a Redis error reply means for the connection
 * it came on: the one table of error codes the backend acts on.
 *
 * Redis starts every error with a code in capitals. Most codes are about
 * the command (a script error, OOM, NOPERM): the server answered, the
 * connection is fine. The codes below say that this server cannot serve
 * us now -- it was demoted, is loading, lost its primary, wants another
 * password -- so the connection must move: the backend drops it and the
 * next call connects again (to the address the host name has then).
 * NOSCRIPT is a code that a retry on the same connection fixes; TRYAGAIN
 * (a Redis Cluster slot half migrated) one that a retry a moment later
 * fixes (store_redis.c does both). CLUSTERDOWN says that the cluster, not
 * this node, cannot serve: the call fails, the connection stays, and
 * store_redis_cluster.c reloads the map and reports the episode once. Pure text work:
 * no I/O, no allocation.
 */
#include "config.h"

#include <string.h>

#include "store_redis.h"

static const struct {
    const char *code;                    /* the error's first word */
    enum store_redis_reply_kind kind;    /* what to do */
    const char *label;                   /* how the log names it */
} redis_reply_table[] = {
    {"READONLY", STORE_REDIS_REPLY_RECONNECT, "READONLY (demoted primary?)"},
    {"LOADING", STORE_REDIS_REPLY_RECONNECT, "LOADING (server loading its data)"},
    {"MASTERDOWN", STORE_REDIS_REPLY_RECONNECT, "MASTERDOWN (replica without its primary)"},
    {"NOAUTH", STORE_REDIS_REPLY_RECONNECT, "NOAUTH (server wants a password)"},
    {"WRONGPASS", STORE_REDIS_REPLY_RECONNECT, "WRONGPASS (password refused)"},
    {"CLUSTERDOWN", STORE_REDIS_REPLY_CLUSTERDOWN, "CLUSTERDOWN (cluster cannot serve)"},
    {"TRYAGAIN", STORE_REDIS_REPLY_TRYAGAIN, "TRYAGAIN (cluster busy moving keys)"},
    {"NOSCRIPT", STORE_REDIS_REPLY_NOSCRIPT, "NOSCRIPT (script cache flushed)"},
};

/* store_redis_reply_kind - look the error's first word up in the table */
enum store_redis_reply_kind
store_redis_reply_kind(const char *text, const char **label)
{
    size_t  n = text != NULL ? strcspn(text, " ") : 0;

    for (size_t i = 0; n > 0 && i < sizeof(redis_reply_table) / sizeof(redis_reply_table[0]);
         i++)
        if (strlen(redis_reply_table[i].code) == n
            && memcmp(text, redis_reply_table[i].code, n) == 0) {
            if (label != NULL)
                *label = redis_reply_table[i].label;
            return redis_reply_table[i].kind;
        }
    if (label != NULL)
        *label = NULL;
    return STORE_REDIS_REPLY_OTHER;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * store.c - pick the backend a store URL names, and forward to it.
 *
 * This file knows the URL schemes and nothing else: every backend sits
 * behind struct store_ops, so the daemon and the tests see one interface.
 * An open failure is reported with the URL (its password masked) and the
 * backend's reason, because that is what an operator has to fix.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "store.h"

/* store_url_redact - copy url into out with any password replaced by "***" */
static void
store_url_redact(const char *url, char *out, size_t outlen)
{
    const char *auth = strstr(url, "://");
    const char *at, *colon;

    /* Only "scheme://user:password@..." carries a secret; keep the rest. */
    if (auth == NULL || (at = strrchr(auth + 3, '@')) == NULL) {
        snprintf(out, outlen, "%s", url);
        return;
    }
    auth += 3;
    colon = memchr(auth, ':', (size_t) (at - auth));
    if (colon == NULL) {
        snprintf(out, outlen, "%s", url);
        return;
    }
    snprintf(out, outlen, "%.*s:***%s", (int) (colon - url), url, at);
}

/* store_open - open the backend the URL's scheme names */
struct store *
store_open(const struct store_config *conf, char *err, size_t errlen)
{
    struct store *(*open_fn)(const struct store_config *, char *, size_t);
    struct store *st;
    char    reason[STORE_ERRLEN];
    char    shown[STORE_ERRLEN];

    if (conf == NULL || conf->url == NULL || conf->url[0] == 0) {
        snprintf(err, errlen, "store: no URL configured");
        return NULL;
    }
    if (strncmp(conf->url, "lmdb:", 5) == 0)
        open_fn = store_lmdb_open;
    else if (strncmp(conf->url, "redis://", 8) == 0
             || strncmp(conf->url, "redis+unix://", 13) == 0)
        open_fn = store_redis_open;
    else
        open_fn = NULL;

    store_url_redact(conf->url, shown, sizeof(shown));
    if (open_fn == NULL) {
        snprintf(err, errlen, "store \"%s\": unknown scheme"
                 " (want lmdb:, redis:// or redis+unix://)", shown);
        return NULL;
    }
    reason[0] = 0;
    if ((st = open_fn(conf, reason, sizeof(reason))) == NULL)
        snprintf(err, errlen, "store \"%s\": %s", shown,
                 reason[0] ? reason : "cannot open");
    return st;
}

/* store_decide - forward to the backend */
int
store_decide(struct store *st, const struct triplet *t,
             struct policy_verdict *out, char *err, size_t errlen)
{
    return st->ops->decide(st, t, out, err, errlen);
}

/* store_free - forward to the backend; NULL is a no-op */
void
store_free(struct store *st)
{
    if (st != NULL)
        st->ops->free(st);
}

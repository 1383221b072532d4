/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_store_url.c - the store URL parsers: store_url_check() (store.c),
 * store_redis_url_parse() (store_redis_url.c) and store_url_redact().
 *
 * Invariants: both parsers agree on redis URLs; a parsed URL has its
 * fields in range and NUL-terminated; a refusal has a reason; the
 * redacted form of a URL with a password parses as the same URL with
 * "***" for the password. A redis-sentinel URL has its sentinels' ports
 * in range instead of its own (the primary's is learnt at run time).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "store.h"
#include "store_redis.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char   *url = fuzz_str(data, size);
    char    err[STORE_ERRLEN] = "", shown[512], tiny[6];
    struct store_redis_url u;
    int     checked = store_url_check(url, err, sizeof(err));
    int     is_redis = strncmp(url, "redis://", 8) == 0 || strncmp(url, "redis+unix://", 13) == 0;

    fuzz_check(checked == 0 || err[0] != '\0');
    memset(&u, 0x5a, sizeof(u));
    err[0] = '\0';
    if (store_redis_url_parse(url, &u, err, sizeof(err)) == 0) {
        fuzz_check(!is_redis || checked == 0);
        fuzz_check(memchr(u.host, '\0', sizeof(u.host)) && memchr(u.path, '\0', sizeof(u.path)));
        fuzz_check(memchr(u.user, '\0', sizeof(u.user))
                   && memchr(u.password, '\0', sizeof(u.password)));
        fuzz_check(u.db >= 0 && u.db <= STORE_REDIS_DB_MAX);
        if (u.nsentinels > 0) {
            /* The primary is learnt from the sentinels: their addresses are the URL's. */
            fuzz_check(u.nsentinels <= STORE_REDIS_SENTINELS_MAX && u.master[0] != '\0');
            for (int i = 0; i < u.nsentinels; i++)
                fuzz_check(memchr(u.sentinels[i].host, '\0', sizeof(u.sentinels[i].host))
                           && u.sentinels[i].port >= 1 && u.sentinels[i].port <= 65535);
        } else {
            fuzz_check(u.is_unix ? u.path[0] == '/' : (u.port >= 1 && u.port <= 65535));
        }
        store_url_redact(url, shown, sizeof(shown));
        if (u.password[0] != '\0' && !u.is_unix && strlen(url) + 3 < sizeof(shown)) {
            struct store_redis_url r;

            /* The redacted URL (which fits: "***" is at most 3 bytes longer) is the same
             * URL with "***" for its password. */
            fuzz_check(store_redis_url_parse(shown, &r, err, sizeof(err)) == 0);
            fuzz_check(strcmp(r.password, "***") == 0 && strcmp(r.user, u.user) == 0);
            fuzz_check(strcmp(r.host, u.host) == 0 && r.port == u.port && r.db == u.db);
            fuzz_check(r.nsentinels == u.nsentinels && strcmp(r.master, u.master) == 0);
        }
    } else {
        fuzz_check(!is_redis || checked != 0);
    }
    store_url_redact(url, tiny, sizeof(tiny));
    fuzz_check(strlen(tiny) < sizeof(tiny));
    free(url);
    return 0;
}

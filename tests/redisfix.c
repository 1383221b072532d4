/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * redisfix.c - the test's connection to with-redis.sh's server and the
 * read-back and clock-move EVAL of the skew differential tests
 * (redisfix.h).
 */
#include "config.h"

#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redisfix.h"

/*
 * Read every key (value, absolute expiry in ms) at the server's TIME, then
 * move the expiry of keys whose ARGV[i] - TIME is positive that many ms
 * earlier; a key whose new expiry is past is deleted, as Redis would
 * have expired it. Returns {TIME ms, value1, expiry1, ...}.
 */
static const char redisfix_lua[] =
    "local t = redis.call('TIME')\n"
    "local r = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local out = {string.format('%d', r)}\n"
    "for i = 1, #KEYS do\n"
    "  out[2 * i] = redis.call('GET', KEYS[i])\n"
    "  out[2 * i + 1] = redis.call('PEXPIRETIME', KEYS[i])\n"
    "end\n"
    "for i = 1, #KEYS do\n"
    "  local d, x = tonumber(ARGV[i]) - r, out[2 * i + 1]\n"
    "  if d > 0 and x > 0 then\n"
    "    if x - d <= r then\n"
    "      redis.call('DEL', KEYS[i])\n"
    "    else\n"
    "      redis.call('PEXPIREAT', KEYS[i], string.format('%d', x - d))\n"
    "    end\n"
    "  end\n"
    "end\n"
    "return out\n";

/* redisfix_connect - see redisfix.h */
redisContext *
redisfix_connect(void)
{
    const char *hp = getenv("REDGREY_TEST_REDIS");
    const char *colon = hp != NULL ? strrchr(hp, ':') : NULL;
    struct timeval tv = {5, 0};
    char    host[64];
    redisContext *c;

    ck_assert_msg(colon != NULL && (size_t) (colon - hp) < sizeof(host),
                  "REDGREY_TEST_REDIS is not set: run under tests/with-redis.sh");
    snprintf(host, sizeof(host), "%.*s", (int) (colon - hp), hp);
    c = redisConnectWithTimeout(host, atoi(colon + 1), tv);
    ck_assert_msg(c != NULL && c->err == 0 && redisSetTimeout(c, tv) == REDIS_OK,
                  "cannot reach redis at %s", hp);
    return c;
}

/* redisfix_sync - see redisfix.h */
redisReply *
redisfix_sync(redisContext *c, int nkeys, const char *const *keys, const int64_t *move)
{
    int     argc = 3 + 2 * nkeys;
    const char **argv = calloc((size_t) argc, sizeof(*argv));
    size_t *lens = calloc((size_t) argc, sizeof(*lens));
    char  (*arg)[24] = calloc((size_t) nkeys + 1, sizeof(*arg));
    redisReply *rep;

    ck_assert(argv != NULL && lens != NULL && arg != NULL);
    snprintf(arg[nkeys], sizeof(arg[nkeys]), "%d", nkeys);
    argv[0] = "EVAL";
    argv[1] = redisfix_lua;
    argv[2] = arg[nkeys];
    for (int k = 0; k < nkeys; k++) {
        snprintf(arg[k], sizeof(arg[k]), "%" PRId64, move[k]);
        argv[3 + k] = keys[k];
        argv[3 + nkeys + k] = arg[k];
    }
    for (int k = 0; k < argc; k++)
        lens[k] = strlen(argv[k]);
    rep = redisCommandArgv(c, argc, argv, lens);
    ck_assert_msg(rep != NULL && rep->type == REDIS_REPLY_ARRAY
                  && rep->elements == (size_t) (1 + 2 * nkeys)
                  && rep->element[0]->type == REDIS_REPLY_STRING, "read-back EVAL failed: %s",
                  rep == NULL ? c->errstr : rep->type == REDIS_REPLY_ERROR ? rep->str
                  : "unexpected reply");
    free(arg);
    free(lens);
    free(argv);
    return rep;
}

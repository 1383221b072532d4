/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_store_url.c - store URLs: store_open's choice of backend and its
 * errors (the URL named, the password masked), and the Redis URL parser,
 * good and bad rows; and the blob key format both backends use. Nothing
 * here needs a server.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "store.h"
#include "store_redis.h"

/* test_open - store_open of url with the default parameters */
static struct store *
test_open(const char *url, char *err, size_t errlen)
{
    struct store_config conf = {
        .url = url, .key_prefix = "rg:", .timeout_ms = 250, .pool = 1,
        .params = {.delay = 300, .retry_window = 172800, .pass_ttl = 3110400,
                   .awl_threshold = 3, .awl_ttl = 3110400},
    };

    err[0] = 0;
    return store_open(&conf, err, errlen);
}

static const struct url_case {
    const char *label;
    const char *url;
    int     ok;                          /* 1: parses, want the fields below */
    int     is_unix;
    const char *host;
    int     port;
    const char *path;
    const char *user;
    const char *password;
    int     db;
} url_cases[] = {
    {"host", "redis://127.0.0.1", 1, 0, "127.0.0.1", 6379, "", "", "", 0},
    {"host port db", "redis://127.0.0.1:6380/2", 1, 0, "127.0.0.1", 6380, "", "", "", 2},
    {"name, slash", "redis://redis.example/", 1, 0, "redis.example", 6379, "", "", "", 0},
    {"password", "redis://:s3cret@redis-1.example:7000/15", 1, 0, "redis-1.example", 7000,
     "", "", "s3cret", 15},
    {"password with @ and /", "redis://:p@ss/w@127.0.0.1", 1, 0, "127.0.0.1", 6379, "", "",
     "p@ss/w", 0},
    {"acl user", "redis://grey:pw@127.0.0.1:6379", 1, 0, "127.0.0.1", 6379, "", "grey", "pw", 0},
    {"ipv6", "redis://[::1]:6390/1", 1, 0, "::1", 6390, "", "", "", 1},
    {"unix", "redis+unix:///run/redis/redis.sock", 1, 1, "", 0, "/run/redis/redis.sock", "",
     "", 0},
    {"unix db", "redis+unix:///tmp/r.sock?db=3", 1, 1, "", 0, "/tmp/r.sock", "", "", 3},
    {"unix db password", "redis+unix:///tmp/r.sock?db=4&password=s3cret", 1, 1, "", 0,
     "/tmp/r.sock", "", "s3cret", 4},
    {.label = "empty", .url = ""},
    {.label = "other scheme", .url = "http://127.0.0.1"},
    {.label = "no scheme", .url = "127.0.0.1:6379"},
    {.label = "no host", .url = "redis://"},
    {.label = "port without host", .url = "redis://:6379"},
    {.label = "port 0", .url = "redis://h:0"},
    {.label = "port too big", .url = "redis://h:65536"},
    {.label = "port junk", .url = "redis://h:63a9"},
    {.label = "empty port", .url = "redis://h:"},
    {.label = "db junk", .url = "redis://h/x"},
    {.label = "db negative", .url = "redis://h/-1"},
    {.label = "db huge", .url = "redis://h/99999999999"},
    {.label = "db too big", .url = "redis://h/1000001"},
    {.label = "user, no colon", .url = "redis://s3cret@h"},
    {.label = "empty password", .url = "redis://:@h"},
    {.label = "bad port, password kept out", .url = "redis://:s3cret@h:0"},
    {.label = "blank", .url = "redis://h ost"},
    {.label = "control", .url = "redis://h\x01st"},
    {.label = "bad host character", .url = "redis://h$st"},
    {.label = "unclosed ipv6", .url = "redis://[::1"},
    {.label = "junk in ipv6", .url = "redis://[::g]"},
    {.label = "junk after ipv6", .url = "redis://[::1]x"},
    {.label = "query on tcp", .url = "redis://h?db=1"},
    {.label = "unix relative", .url = "redis+unix://tmp/r.sock"},
    {.label = "unix empty", .url = "redis+unix://"},
    {.label = "unix root", .url = "redis+unix:///"},
    {.label = "unix empty db", .url = "redis+unix:///tmp/r.sock?db="},
    {.label = "unix db junk", .url = "redis+unix:///tmp/r.sock?db=x"},
    {.label = "unix unknown parameter", .url = "redis+unix:///tmp/r.sock?timeout=1"},
    {.label = "unix empty parameter", .url = "redis+unix:///tmp/r.sock?"},
};

START_TEST(test_url_parse)
{
    const struct url_case *c = &url_cases[_i];
    struct store_redis_url u;
    char    err[STORE_ERRLEN] = "";
    int     rc = store_redis_url_parse(c->url, &u, err, sizeof(err));

    if (!c->ok) {
        ck_assert_msg(rc == -1, "%s: got 0, want -1", c->label);
        ck_assert_msg(err[0] != 0, "%s: no reason given", c->label);
        ck_assert_msg(strstr(err, "s3cret") == NULL, "%s: password in %s", c->label, err);
        return;
    }
    ck_assert_msg(rc == 0, "%s: got -1 (%s), want 0", c->label, err);
    ck_assert_msg(u.is_unix == c->is_unix, "%s: is_unix: got %d, want %d", c->label,
                  u.is_unix, c->is_unix);
    if (!c->is_unix) {
        ck_assert_msg(strcmp(u.host, c->host) == 0, "%s: host: got %s, want %s", c->label,
                      u.host, c->host);
        ck_assert_msg(u.port == c->port, "%s: port: got %d, want %d", c->label, u.port,
                      c->port);
    } else
        ck_assert_msg(strcmp(u.path, c->path) == 0, "%s: path: got %s, want %s", c->label,
                      u.path, c->path);
    ck_assert_msg(strcmp(u.user, c->user) == 0, "%s: user: got %s, want %s", c->label,
                  u.user, c->user);
    ck_assert_msg(strcmp(u.password, c->password) == 0, "%s: password: got %s, want %s",
                  c->label, u.password, c->password);
    ck_assert_msg(u.db == c->db, "%s: db: got %d, want %d", c->label, u.db, c->db);
}
END_TEST

START_TEST(test_url_lengths)
{
    char    url[1024], err[STORE_ERRLEN];
    struct store_redis_url u;

    /* The limits are inclusive; one byte more is an error, never a truncation. */
    snprintf(url, sizeof(url), "redis+unix:///%.*s", STORE_REDIS_PATH_MAX - 1,
             "sssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssss"
             "sssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssss");
    ck_assert_msg(store_redis_url_parse(url, &u, err, sizeof(err)) == 0, "path max: %s", err);
    ck_assert_uint_eq(strlen(u.path), STORE_REDIS_PATH_MAX);
    strcat(url, "s");
    ck_assert_msg(store_redis_url_parse(url, &u, err, sizeof(err)) == -1, "path max + 1");

    memset(url, 0, sizeof(url));
    strcpy(url, "redis://");
    memset(url + 8, 'h', STORE_REDIS_HOST_MAX + 1);
    ck_assert_msg(store_redis_url_parse(url, &u, err, sizeof(err)) == -1, "host max + 1");

    memset(url, 0, sizeof(url));
    strcpy(url, "redis://:");
    memset(url + 9, 'p', STORE_REDIS_AUTH_MAX + 1);
    strcat(url, "@h");
    ck_assert_msg(store_redis_url_parse(url, &u, err, sizeof(err)) == -1, "password max + 1");
}
END_TEST

START_TEST(test_open_dispatch)
{
    char    err[STORE_ERRLEN];
    struct store *st;

    st = test_open("http://127.0.0.1:6379", err, sizeof(err));
    ck_assert_msg(st == NULL && strstr(err, "\"http://127.0.0.1:6379\"") != NULL
                  && strstr(err, "unknown scheme") != NULL, "unknown scheme: %s", err);

    /* A bad redis URL is named, with its password masked. */
    st = test_open("redis://:s3cret@127.0.0.1:0", err, sizeof(err));
    ck_assert_msg(st == NULL && strstr(err, "\"redis://:***@127.0.0.1:0\"") != NULL
                  && strstr(err, "port") != NULL, "bad port: %s", err);
    ck_assert_msg(strstr(err, "s3cret") == NULL, "password in %s", err);

    st = test_open("", err, sizeof(err));
    ck_assert_msg(st == NULL && err[0] != 0, "empty URL: %s", err);
}
END_TEST

/* store_url_check rows: syntax only, nothing is opened or contacted. */
static const struct check_case {
    const char *label;
    const char *url;
    int     ok;
    const char *want;                    /* in the error */
} check_cases[] = {
    {"lmdb", "lmdb:/var/lib/redgrey", 1, NULL},
    {"lmdb relative", "lmdb:var/lib/redgrey", 0, "absolute"},
    {"lmdb empty", "lmdb:", 0, "absolute"},
    {"redis", "redis://127.0.0.1:6379/2", 1, NULL},
    {"redis unreachable is fine", "redis://127.0.0.1:1", 1, NULL},
    {"redis unix", "redis+unix:///run/redis/redis.sock?db=1", 1, NULL},
    {"redis bad port", "redis://:s3cret@127.0.0.1:0", 0, "\"redis://:***@127.0.0.1:0\""},
    {"redis no host", "redis://", 0, "\"redis://\""},
    {"unknown scheme", "memcached://127.0.0.1", 0, "unknown scheme"},
    {"empty", "", 0, "no URL"},
    {"null", NULL, 0, "no URL"},
};

START_TEST(test_url_check)
{
    const struct check_case *k = &check_cases[_i];
    char    err[STORE_ERRLEN] = "";
    int     rc = store_url_check(k->url, err, sizeof(err));

    ck_assert_msg(rc == (k->ok ? 0 : -1), "%s: got %d (%s), want %d", k->label, rc, err,
                  k->ok ? 0 : -1);
    if (!k->ok)
        ck_assert_msg(strstr(err, k->want) != NULL && strstr(err, "s3cret") == NULL,
                      "%s: got \"%s\", want \"%s\" and no password", k->label, err, k->want);
}
END_TEST

/* test_blob_key - PREFIX "blob:" NAME; the longest fits STORE_BLOB_KEY_MAX; too small gives 0 */
/* store_url_redact: every form of password becomes "***"; len is the buffer */
static const struct {
    const char *url;
    size_t  len;
    const char *want;
} redact_cases[] = {
    {"redis://:pw@127.0.0.1:6379/0", 128, "redis://:***@127.0.0.1:6379/0"},
    {"redis://user:pw@127.0.0.1", 128, "redis://user:***@127.0.0.1"},
    {"redis://127.0.0.1:6379/2", 128, "redis://127.0.0.1:6379/2"},
    {"redis+unix:///run/r.sock?password=hunter2", 128, "redis+unix:///run/r.sock?password=***"},
    {"redis+unix:///run/r.sock?db=2&password=hunter2&x=1", 128,
     "redis+unix:///run/r.sock?db=2&password=***&x=1"},
    {"redis+unix:///run/r.sock?password=a&db=1", 128, "redis+unix:///run/r.sock?password=***&db=1"},
    {"redis+unix:///r?password=ab&password=cd", 128, "redis+unix:///r?password=***&password=***"},
    {"redis+unix:///r?password=a", 20, "redis+unix:///r?pas"},
    {"redis+unix:///r?password=a&db=1", 28, "redis+unix:///r?password=**"},
    {"redis+unix:///r?password=abcdef", 30, "redis+unix:///r?password=***"},
    {"lmdb:/var/lib/redgrey", 128, "lmdb:/var/lib/redgrey"},
    /* A '?' inside the user name of any scheme with a user part is not a query. */
    {"redis-sentinel://u?x&password=y:pw@h:1/m", 128, "redis-sentinel://u?x&password=y:***@h:1/m"},
};

START_TEST(test_url_redact)
{
    char    out[128];

    memset(out, 'x', sizeof(out));
    store_url_redact(redact_cases[_i].url, out, redact_cases[_i].len);
    ck_assert_msg(strcmp(out, redact_cases[_i].want) == 0, "%s (%zu): got \"%s\", want \"%s\"",
                  redact_cases[_i].url, redact_cases[_i].len, out, redact_cases[_i].want);
}
END_TEST

START_TEST(test_blob_key)
{
    char    prefix[TRIPLET_PREFIX_MAX + 1], name[STORE_BLOB_NAME_MAX + 1];
    char    key[STORE_BLOB_KEY_MAX];

    ck_assert_uint_eq(store_blob_key("rg:", "bigsenders", key, sizeof(key)), 18);
    ck_assert_str_eq(key, "rg:blob:bigsenders");
    ck_assert_uint_eq(store_blob_key("", "x", key, sizeof(key)), 6);
    ck_assert_str_eq(key, "blob:x");

    memset(prefix, 'p', TRIPLET_PREFIX_MAX);
    prefix[TRIPLET_PREFIX_MAX] = 0;
    memset(name, 'n', STORE_BLOB_NAME_MAX);
    name[STORE_BLOB_NAME_MAX] = 0;
    ck_assert_uint_eq(store_blob_key(prefix, name, key, sizeof(key)), sizeof(key) - 1);
    ck_assert_uint_eq(store_blob_key("rg:", "bigsenders", key, 18), 0);
}
END_TEST

static Suite *
store_url_suite(void)
{
    Suite  *s = suite_create("store url");
    TCase  *tc = tcase_create("redis url");

    tcase_add_loop_test(tc, test_url_parse, 0, sizeof(url_cases) / sizeof(url_cases[0]));
    tcase_add_test(tc, test_url_lengths);
    suite_add_tcase(s, tc);
    tc = tcase_create("dispatch");
    tcase_add_test(tc, test_open_dispatch);
    tcase_add_loop_test(tc, test_url_check, 0, sizeof(check_cases) / sizeof(check_cases[0]));
    suite_add_tcase(s, tc);
    tc = tcase_create("blob key");
    tcase_add_test(tc, test_blob_key);
    tcase_add_loop_test(tc, test_url_redact, 0, sizeof(redact_cases) / sizeof(redact_cases[0]));
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return daemon_run_suites(store_url_suite(), NULL) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

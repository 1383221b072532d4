/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_bigsender.c - the big-sender set: its text form (round trips,
 * golden texts, junk), the CIDR cover netset_blocks() produces, and the
 * in-memory set, including lookups from many threads while another thread
 * keeps installing new sets (run under ASan: a lookup that touched a freed
 * set would crash the test).
 */
#include "config.h"

#include <check.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bigsender.h"
#include "daemon.h"
#include "store.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define MAXBLOCKS 8

/* set_of - a finished set of the given blocks (NULL-terminated) */
static struct netset *
set_of(const char *const *blocks)
{
    struct netset *set = netset_new();
    struct netblock nb;
    char    err[128];

    for (; *blocks != NULL; blocks++) {
        ck_assert_msg(netblock_parse(*blocks, &nb, err, sizeof(err)) >= 0, "block %s: %s",
                      *blocks, err);
        netset_add(set, &nb);
    }
    netset_finish(set);
    return set;
}

/* ------------------------------------------------------------ round trip */

static const struct text_case {
    const char *label;
    const char *blocks[MAXBLOCKS];       /* added to the set */
    int     partial;
    const char *want;                    /* bigsender_format's text */
} text_cases[] = {
    {"empty set", {NULL}, 0,
     BIGSENDER_MAGIC "\nexpanded 1718000000\nstatus complete\nblocks 0\nend\n"},
    {"the e2e zone", {"2001:db8:77::/48", "192.0.2.0/25", NULL}, 0,
     BIGSENDER_MAGIC "\nexpanded 1718000000\nstatus complete\nblocks 2\n"
     "192.0.2.0/25\n2001:db8:77::/48\nend\n"},
    {"adjacent halves merge", {"192.0.2.128/25", "192.0.2.0/25", NULL}, 1,
     BIGSENDER_MAGIC "\nexpanded 1718000000\nstatus partial\nblocks 1\n192.0.2.0/24\nend\n"},
    {"a range that is no CIDR", {"10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/24", NULL}, 0,
     BIGSENDER_MAGIC "\nexpanded 1718000000\nstatus complete\nblocks 2\n"
     "10.0.0.0/23\n10.0.2.0/24\nend\n"},
    {"unaligned start", {"10.0.1.0/24", "10.0.2.0/23", "10.0.4.0/24", NULL}, 0,
     BIGSENDER_MAGIC "\nexpanded 1718000000\nstatus complete\nblocks 3\n"
     "10.0.1.0/24\n10.0.2.0/23\n10.0.4.0/24\nend\n"},
    {"contained block vanishes", {"198.51.100.0/24", "198.51.100.77", NULL}, 0,
     BIGSENDER_MAGIC "\nexpanded 1718000000\nstatus complete\nblocks 1\n198.51.100.0/24\nend\n"},
    {"hosts and everything", {"0.0.0.0/0", "::/0", "2001:db8::1", NULL}, 0,
     BIGSENDER_MAGIC "\nexpanded 1718000000\nstatus complete\nblocks 2\n0.0.0.0/0\n::/0\nend\n"},
    {"top of both spaces", {"255.255.255.255", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127",
                            "255.255.255.254", NULL}, 0,
     BIGSENDER_MAGIC "\nexpanded 1718000000\nstatus complete\nblocks 2\n"
     "255.255.255.254/31\nffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127\nend\n"},
};

/* test_text - format gives the golden text, and parse gives the set back */
START_TEST(test_text)
{
    const struct text_case *c = &text_cases[_i];
    struct netset *set = set_of(c->blocks), *back = NULL;
    struct bigsender_info info;
    char    err[256] = "";
    char   *text, *again;
    size_t  len, len2;

    text = bigsender_format(set, 1718000000, c->partial, &len);
    ck_assert_msg(len == strlen(text) && strcmp(text, c->want) == 0,
                  "%s: format: got\n%s\nwant\n%s", c->label, text, c->want);
    ck_assert_msg(bigsender_parse(text, len, &back, &info, err, sizeof(err)) == 0,
                  "%s: parse: %s", c->label, err);
    ck_assert_msg(info.expanded == 1718000000 && info.partial == c->partial,
                  "%s: info: got expanded %" PRId64 " partial %d", c->label, info.expanded,
                  info.partial);
    ck_assert_msg(info.blocks == netset_blocks(set, NULL, NULL), "%s: blocks: got %zu, want %zu",
                  c->label, info.blocks, netset_blocks(set, NULL, NULL));
    ck_assert_msg(netset_count(back) == netset_count(set), "%s: ranges: got %zu, want %zu",
                  c->label, netset_count(back), netset_count(set));
    again = bigsender_format(back, 1718000000, c->partial, &len2);
    ck_assert_msg(strcmp(again, text) == 0, "%s: parse then format: got\n%s", c->label, again);
    free(again);
    free(text);
    netset_free(back);
    netset_free(set);
}
END_TEST

/* test_blocks_random - the CIDR cover of random sets matches the set exactly */
START_TEST(test_blocks_random)
{
    unsigned seed = 4242;

    for (int round = 0; round < 50; round++) {
        struct netset *set = netset_new(), *back;
        struct bigsender_info info;
        struct netblock nb;
        char    err[256] = "";
        char   *text;
        size_t  len;

        /* Blocks clustered in two small spaces, so that merges and odd ranges happen. */
        for (int k = 0; k < 60; k++) {
            memset(&nb, 0, sizeof(nb));
            if (rand_r(&seed) % 2) {
                nb.addr.family = AF_INET;
                nb.addr.b[0] = 10;
                nb.addr.b[2] = (uint8_t) (rand_r(&seed) % 8);
                nb.addr.b[3] = (uint8_t) rand_r(&seed);
                nb.prefix = 22 + (unsigned) rand_r(&seed) % 11;
            } else {
                nb.addr.family = AF_INET6;
                nb.addr.b[0] = 0x20;
                nb.addr.b[1] = 0x01;
                nb.addr.b[15] = (uint8_t) rand_r(&seed);
                nb.addr.b[14] = (uint8_t) (rand_r(&seed) % 4);
                nb.prefix = 118 + (unsigned) rand_r(&seed) % 11;
            }
            netset_add(set, &nb);
        }
        netset_finish(set);
        text = bigsender_format(set, 1, 0, &len);
        ck_assert_msg(bigsender_parse(text, len, &back, &info, err, sizeof(err)) == 0,
                      "round %d: parse: %s", round, err);
        ck_assert_msg(netset_count(back) == netset_count(set), "round %d: ranges: got %zu, want %zu",
                      round, netset_count(back), netset_count(set));

        /* Every address of both spaces gets the same answer. */
        for (unsigned a = 0; a < 8 * 256; a++) {
            struct ipaddr ip4 = {AF_INET, {10, 0, (uint8_t) (a >> 8), (uint8_t) a}};
            struct ipaddr ip6 = {AF_INET6, {0x20, 0x01}};

            ip6.b[14] = (uint8_t) ((a >> 8) % 4);
            ip6.b[15] = (uint8_t) a;
            ck_assert_msg(netset_contains(back, &ip4) == netset_contains(set, &ip4),
                          "round %d: 10.0.%u.%u differs", round, a >> 8, a & 255);
            ck_assert_msg(netset_contains(back, &ip6) == netset_contains(set, &ip6),
                          "round %d: v6 address %u differs", round, a);
        }
        free(text);
        netset_free(back);
        netset_free(set);
    }
}
END_TEST

/* ------------------------------------------------------------------ junk */

#define HDR BIGSENDER_MAGIC "\nexpanded 1718000000\nstatus complete\n"

static const struct junk_case {
    const char *label;
    const char *text;
    size_t  len;                         /* 0: strlen(text) */
    const char *want;                    /* in the error */
} junk_cases[] = {
    {"empty", "", 0, "line 1: not a big-sender set"},
    {"other magic", "redgrey-bigsenders 2\n", 0, "line 1: not a big-sender set"},
    {"magic without newline", BIGSENDER_MAGIC, 0, "line 1: no newline"},
    {"no expanded", BIGSENDER_MAGIC "\n", 0, "line 2: the text ends before \"expanded\""},
    {"expanded negative", BIGSENDER_MAGIC "\nexpanded -1\n", 0, "line 2: expanded"},
    {"expanded huge", BIGSENDER_MAGIC "\nexpanded 99999999999999999999\n", 0, "line 2: expanded"},
    {"expanded junk", BIGSENDER_MAGIC "\nexpanded 12x\n", 0, "line 2: expanded"},
    {"expanded empty", BIGSENDER_MAGIC "\nexpanded \n", 0, "line 2: want \"expanded VALUE\""},
    {"field renamed", BIGSENDER_MAGIC "\nexpandedx 1\n", 0, "line 2: want \"expanded VALUE\""},
    {"bad status", BIGSENDER_MAGIC "\nexpanded 1\nstatus failed\n", 0, "line 3: status"},
    {"blocks missing", HDR, 0, "line 4: the text ends before \"blocks\""},
    {"blocks too many", HDR "blocks 999999999\n", 0, "line 4: blocks"},
    {"fewer blocks", HDR "blocks 2\n192.0.2.0/24\n", 0, "line 6: the text ends after 1 of 2"},
    {"more blocks", HDR "blocks 1\n192.0.2.0/24\n198.51.100.0/24\nend\n", 0,
     "line 6: want \"end\""},
    {"no end", HDR "blocks 0\n", 0, "line 5: want \"end\""},
    {"end without newline", HDR "blocks 0\nend", 0, "line 5: no newline"},
    {"text after end", HDR "blocks 0\nend\nmore\n", 0, "line 6: text after"},
    {"blank after end", HDR "blocks 0\nend\n\n", 0, "line 6: text after"},
    {"host bits", HDR "blocks 1\n192.0.2.1/24\nend\n", 0, "line 5: host bits"},
    {"bare address", HDR "blocks 1\n192.0.2.1\nend\n", 0, "line 5: want address/prefix"},
    {"bad prefix", HDR "blocks 1\n192.0.2.0/33\nend\n", 0, "line 5:"},
    {"not an address", HDR "blocks 1\nexample.com/24\nend\n", 0, "line 5:"},
    {"blank in block", HDR "blocks 1\n192.0.2.0/24 \nend\n", 0, "line 5:"},
    {"crlf", BIGSENDER_MAGIC "\r\nexpanded 1\r\n", 0, "line 1: not a big-sender set"},
    {"long line", HDR "blocks 1\n2001:0db8:0000:0000:0000:0000:0000:0000:0000:0000:0000/128\nend\n",
     0, "line 5: longer than"},
    {"NUL byte", HDR "blocks 0\nend\n\0", sizeof(HDR "blocks 0\nend\n"), "NUL byte"},
};

/* test_junk - every malformed text is refused with the line and reason */
START_TEST(test_junk)
{
    const struct junk_case *c = &junk_cases[_i];
    struct netset *set = (struct netset *) &set;    /* must become NULL */
    char    err[256] = "";
    size_t  len = c->len ? c->len : strlen(c->text);

    ck_assert_msg(bigsender_parse(c->text, len, &set, NULL, err, sizeof(err)) == -1,
                  "%s: got 0, want -1", c->label);
    ck_assert_msg(set == NULL, "%s: *out not NULL after a failure", c->label);
    ck_assert_msg(strstr(err, c->want) != NULL, "%s: got error \"%s\", want \"%s\" in it",
                  c->label, err, c->want);
}
END_TEST

/* test_junk_size - over STORE_BLOB_MAX bytes is refused before reading */
START_TEST(test_junk_size)
{
    char   *big = malloc(STORE_BLOB_MAX + 2);
    struct netset *set;
    char    err[256] = "";

    ck_assert_ptr_nonnull(big);
    memset(big, '\n', STORE_BLOB_MAX + 1);
    big[STORE_BLOB_MAX + 1] = 0;
    ck_assert_int_eq(bigsender_parse(big, STORE_BLOB_MAX + 1, &set, NULL, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "size limit") != NULL, "got \"%s\", want the size limit", err);
    ck_assert_int_eq(bigsender_parse(NULL, 0, &set, NULL, err, sizeof(err)), -1);
    free(big);
}
END_TEST

/* -------------------------------------------------------------- the set */

/* reset - idempotent global reset, for setup and teardown */
static void
reset(void)
{
    bigsender_reset();
}

/* test_install - nothing, a set, a replacement, reset */
START_TEST(test_install)
{
    static const char *const a[] = {"192.0.2.0/25", "2001:db8:77::/48", NULL};
    static const char *const b[] = {"198.51.100.0/24", NULL};
    struct ipaddr in_a = daemon_must_ip("192.0.2.77"), in_a6 = daemon_must_ip("2001:db8:77:1::5");
    struct ipaddr in_b = daemon_must_ip("198.51.100.7"), out = daemon_must_ip("192.0.2.200");

    ck_assert_msg(bigsender_count() == 0 && !bigsender_contains(&in_a),
                  "no set: got count %zu, want 0 and no match", bigsender_count());
    bigsender_install(set_of(a));
    ck_assert_msg(bigsender_count() == 2, "set a: count: got %zu, want 2", bigsender_count());
    ck_assert_msg(bigsender_contains(&in_a) && bigsender_contains(&in_a6),
                  "set a: 192.0.2.77 and 2001:db8:77:1::5 must match");
    ck_assert_msg(!bigsender_contains(&out) && !bigsender_contains(&in_b),
                  "set a: 192.0.2.200 and 198.51.100.7 must not match");
    bigsender_install(set_of(b));
    ck_assert_msg(bigsender_count() == 1, "set b: count: got %zu, want 1", bigsender_count());
    ck_assert_msg(bigsender_contains(&in_b) && !bigsender_contains(&in_a),
                  "set b: only 198.51.100.7 must match");
    bigsender_reset();
    bigsender_reset();
    ck_assert_msg(bigsender_count() == 0 && !bigsender_contains(&in_b),
                  "after reset: got count %zu, want 0 and no match", bigsender_count());
}
END_TEST

#define READERS 4
#define INSTALLS 400

struct reader {
    atomic_int *stop;                    /* set by the installer when done */
    unsigned long lookups;               /* done */
    char    fail[256];                   /* "" while every answer was right */
};

/*
 * The installer alternates two sets of 1000 ranges each that share
 * 192.0.2.0/24 and both leave out 203.0.113.0/24, and differ everywhere
 * else (10.x vs 172.16.x). Any whole set answers yes for the first, no
 * for the second, and a count of 1001; a reader that saw a half-built or
 * freed set would answer otherwise (or crash under ASan).
 */
static struct netset *
alternating_set(int which)
{
    struct netset *set = netset_new();
    struct netblock nb;

    memset(&nb, 0, sizeof(nb));
    nb.addr.family = AF_INET;
    nb.prefix = 24;
    for (int k = 0; k < 1000; k++) {
        nb.addr.b[0] = which ? 172 : 10;
        nb.addr.b[1] = (uint8_t) (16 + k / 128);
        nb.addr.b[2] = (uint8_t) (2 * (k % 128));
        netset_add(set, &nb);
    }
    nb.addr.b[0] = 192;
    nb.addr.b[1] = 0;
    nb.addr.b[2] = 2;
    netset_add(set, &nb);
    netset_finish(set);
    return set;
}

/* reader_run - look up until told to stop; record the first wrong answer */
static void *
reader_run(void *arg)
{
    struct reader *r = arg;
    struct ipaddr yes = daemon_must_ip("192.0.2.9"), no = daemon_must_ip("203.0.113.9");
    size_t  n;

    while (!atomic_load(r->stop) && r->fail[0] == 0) {
        if (!bigsender_contains(&yes))
            snprintf(r->fail, sizeof(r->fail), "192.0.2.9 not found");
        else if (bigsender_contains(&no))
            snprintf(r->fail, sizeof(r->fail), "203.0.113.9 found");
        else if ((n = bigsender_count()) != 1001)
            snprintf(r->fail, sizeof(r->fail), "count %zu, want 1001", n);
        r->lookups += 3;
    }
    return NULL;
}

/* test_concurrent - READERS threads look up while INSTALLS sets replace each other */
START_TEST(test_concurrent)
{
    pthread_t tid[READERS];
    struct reader r[READERS];
    atomic_int stop = 0;
    unsigned long total = 0;

    bigsender_install(alternating_set(0));
    for (int k = 0; k < READERS; k++) {
        memset(&r[k], 0, sizeof(r[k]));
        r[k].stop = &stop;
        ck_assert_int_eq(pthread_create(&tid[k], NULL, reader_run, &r[k]), 0);
    }
    for (int k = 0; k < INSTALLS; k++)
        bigsender_install(alternating_set(k % 2));
    atomic_store(&stop, 1);
    for (int k = 0; k < READERS; k++) {
        pthread_join(tid[k], NULL);
        total += r[k].lookups;
    }
    for (int k = 0; k < READERS; k++)
        ck_assert_msg(r[k].fail[0] == 0, "reader %d: %s", k, r[k].fail);
    ck_assert_msg(total > INSTALLS, "only %lu lookups during %d installs: no overlap tested",
                  total, INSTALLS);
}
END_TEST

/* bigsender_suite - text, bad input, and the in-memory set */
static Suite *
bigsender_suite(void)
{
    Suite  *s = suite_create("bigsender");
    TCase  *tc;

    tc = tcase_create("text");
    tcase_add_loop_test(tc, test_text, 0, NELEM(text_cases));
    tcase_add_test(tc, test_blocks_random);
    suite_add_tcase(s, tc);

    tc = tcase_create("bad input");
    tcase_add_loop_test(tc, test_junk, 0, NELEM(junk_cases));
    tcase_add_test(tc, test_junk_size);
    suite_add_tcase(s, tc);

    tc = tcase_create("set");
    tcase_add_checked_fixture(tc, reset, reset);
    tcase_add_test(tc, test_install);
    tcase_add_test(tc, test_concurrent);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return s;
}

/* main - run the suite */
int
main(void)
{
    return daemon_run_suites(bigsender_suite(), NULL) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

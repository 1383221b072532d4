/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_triplet.c - store key format, hash tag, bounds; SipHash vectors.
 *
 * The keys are what every backend stores, so their shape and their exact
 * digests are part of the on-disk format: a golden key guards against a
 * change that would silently greylist every known triplet again.
 */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "siphash.h"
#include "triplet.h"

#define B64URL "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
/* The grey hash is the first 12 characters of the 16 the AWL would have. */
#define GOLDEN_GREY "rg:{4ywBx}g2y3yMBDQTWGj"
#define GOLDEN_AWL "rg:{4ywBx}ap4iOL2lZgbJ5jlrY"

/* set - fill a triplet from C strings (tests pass short ones only) */
static void
set(struct triplet *t, const char *ck, const char *sender, const char *rcpt)
{
    memset(t, 0, sizeof(*t));
    strcpy(t->client_key, ck);
    strcpy(t->sender, sender);
    strcpy(t->rcpt, rcpt);
}

/* hash_tag - the Redis Cluster hash tag of key into tag ("" if none) */
static void
hash_tag(const char *key, char *tag, size_t taglen)
{
    const char *open = strchr(key, '{');
    const char *close = open ? strchr(open + 1, '}') : NULL;

    tag[0] = 0;
    if (close != NULL && close > open + 1 && (size_t) (close - open - 1) < taglen) {
        memcpy(tag, open + 1, (size_t) (close - open - 1));
        tag[close - open - 1] = 0;
    }
}

static const struct shape_case {
    const char *label;
    const char *prefix;
    const char *client_key;
    const char *tag;                     /* the compact hash tag */
    const char *sender;
    const char *rcpt;
} shape_cases[] = {
    {"v4 netblock", "rg:", "203.0.113.0/24", "4ywBx", "a@example.org", "b@example.net"},
    {"v6 netblock", "rg:", "2001:db8:1:2::/64", "6IAENuAABAAI", "a@example.org", "b@example.net"},
    {"v4 /25", "rg:", "192.0.2.128/25", "4wAACgA", "a@example.org", "b@example.net"},
    {"v4 /32", "rg:", "10.1.2.3/32", "4CgECAw", "a@example.org", "b@example.net"},
    {"v4 /0", "rg:", "0.0.0.0/0", "4", "a@example.org", "b@example.net"},
    {"v6 /32", "rg:", "2001:db8::/32", "6IAENuA", "a@example.org", "b@example.net"},
    {"spf client key", "rg:", "spf:example.org", "spf:example.org", "a@example.org", "b@example.net"},
    {"not a netblock", "rg:", "203.0.113.0", "203.0.113.0", "a@example.org", "b@example.net"},
    {"null sender", "rg:", "203.0.113.0/24", "4ywBx", "", "b@example.net"},
    {"junk sender", "rg:", "203.0.113.0/24", "4ywBx", "junk:0123456789abcdef", "postmaster"},
    {"empty prefix", "", "198.51.100.0/24", "4xjNk", "a@example.org", "b@example.net"},
    {"NULL prefix", NULL, "198.51.100.0/24", "4xjNk", "a@example.org", "b@example.net"},
    {"long prefix", "greylisting:production:cluster-a:", "198.51.100.0/24", "4xjNk", "x@y.z", "q@r.s"},
};

/*
 * check_shape - key is PREFIX{TAG}TYPEHASH with a base64url hash of 12
 * characters (grey) or 16 (AWL)
 */
static void
check_shape(const struct shape_case *c, const char *key, size_t n, char type)
{
    const char *prefix = c->prefix ? c->prefix : "";
    size_t  plen = strlen(prefix), clen = strlen(c->tag), hlen = type == 'g' ? 12 : 16;
    char    tag[TRIPLET_CLIENTKEY_MAX + 1];

    ck_assert_msg(n == plen + clen + 3 + hlen, "%s: got length %zu, want %zu", c->label, n,
                  plen + clen + 3 + hlen);
    ck_assert_msg(strlen(key) == n, "%s: got strlen %zu, want %zu", c->label, strlen(key), n);
    ck_assert_msg(n <= TRIPLET_KEY_MAX, "%s: got length %zu, want <= %d", c->label, n,
                  TRIPLET_KEY_MAX);
    ck_assert_msg(strncmp(key, prefix, plen) == 0, "%s: got %s, want prefix %s", c->label,
                  key, prefix);
    ck_assert_msg(key[plen] == '{' && strncmp(key + plen + 1, c->tag, clen) == 0
                  && key[plen + 1 + clen] == '}', "%s: got %s, want {%s}", c->label, key,
                  c->tag);
    ck_assert_msg(key[plen + 2 + clen] == type, "%s: got %s, want type %c", c->label, key, type);
    ck_assert_msg(strspn(key + plen + 3 + clen, B64URL) == hlen,
                  "%s: got hash %s, want %zu base64url characters", c->label,
                  key + plen + 3 + clen, hlen);
    hash_tag(key, tag, sizeof(tag));
    ck_assert_msg(strcmp(tag, c->tag) == 0, "%s: got hash tag \"%s\", want \"%s\"",
                  c->label, tag, c->tag);
}

START_TEST(test_shape)
{
    const struct shape_case *c = &shape_cases[_i];
    struct triplet t;
    char    key[TRIPLET_KEY_MAX];
    size_t  n;

    set(&t, c->client_key, c->sender, c->rcpt);
    n = triplet_grey_key(c->prefix, &t, key, sizeof(key));
    check_shape(c, key, n, 'g');
    n = triplet_awl_key(c->prefix, &t, key, sizeof(key));
    check_shape(c, key, n, 'a');
}
END_TEST

/* Same inputs give the same key; any one part changed gives another. */
START_TEST(test_distinct)
{
    struct triplet t;
    char    base[TRIPLET_KEY_MAX], key[TRIPLET_KEY_MAX], awl[TRIPLET_KEY_MAX];
    static const struct {
        const char *label;
        const char *ck, *sender, *rcpt;
    } other[] = {
        {"other rcpt", "203.0.113.0/24", "a@example.org", "c@example.net"},
        {"other sender", "203.0.113.0/24", "z@example.org", "b@example.net"},
        {"other client", "203.0.114.0/24", "a@example.org", "b@example.net"},
        {"swapped", "203.0.113.0/24", "b@example.net", "a@example.org"},
        {"null sender", "203.0.113.0/24", "", "b@example.net"},
        {"rcpt case", "203.0.113.0/24", "a@example.org", "B@example.net"},
    };

    set(&t, "203.0.113.0/24", "a@example.org", "b@example.net");
    ck_assert_uint_gt(triplet_grey_key("rg:", &t, base, sizeof(base)), 0);
    set(&t, "203.0.113.0/24", "a@example.org", "b@example.net");
    ck_assert_uint_gt(triplet_grey_key("rg:", &t, key, sizeof(key)), 0);
    ck_assert_str_eq(key, base);
    ck_assert_uint_gt(triplet_awl_key("rg:", &t, awl, sizeof(awl)), 0);
    ck_assert_msg(strcmp(awl, base) != 0, "awl vs grey: got %s twice", awl);

    for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
        set(&t, other[i].ck, other[i].sender, other[i].rcpt);
        ck_assert_uint_gt(triplet_grey_key("rg:", &t, key, sizeof(key)), 0);
        ck_assert_msg(strcmp(key, base) != 0, "%s: got %s, want a different key",
                      other[i].label, key);
    }

    /* The separator keeps ("ab", "c") and ("a", "bc") apart. */
    set(&t, "203.0.113.0/24", "ab@x", "c@y");
    triplet_grey_key("rg:", &t, base, sizeof(base));
    set(&t, "203.0.113.0/24", "ab@xc", "@y");
    triplet_grey_key("rg:", &t, key, sizeof(key));
    ck_assert_msg(strcmp(key, base) != 0, "separator: got %s twice", key);
}
END_TEST

/* The AWL key depends on the sender's domain only. */
START_TEST(test_awl_domain)
{
    struct triplet t;
    char    k1[TRIPLET_KEY_MAX], k2[TRIPLET_KEY_MAX], k3[TRIPLET_KEY_MAX];

    set(&t, "203.0.113.0/24", "alice@example.org", "b@example.net");
    ck_assert_uint_gt(triplet_awl_key("rg:", &t, k1, sizeof(k1)), 0);
    set(&t, "203.0.113.0/24", "\"bob smith\"@example.org", "other@example.com");
    ck_assert_uint_gt(triplet_awl_key("rg:", &t, k2, sizeof(k2)), 0);
    ck_assert_str_eq(k1, k2);
    set(&t, "203.0.113.0/24", "alice@example.com", "b@example.net");
    ck_assert_uint_gt(triplet_awl_key("rg:", &t, k3, sizeof(k3)), 0);
    ck_assert_msg(strcmp(k1, k3) != 0, "other domain: got %s twice", k3);
    set(&t, "203.0.114.0/24", "alice@example.org", "b@example.net");
    ck_assert_uint_gt(triplet_awl_key("rg:", &t, k3, sizeof(k3)), 0);
    ck_assert_msg(strcmp(k1, k3) != 0, "other client: got %s twice", k3);
}
END_TEST

/*
 * Golden keys: the format and digests are persistent state. If this fails,
 * the change invalidates every stored entry; make it deliberately or not at all.
 */
START_TEST(test_golden)
{
    struct triplet t;
    char    key[TRIPLET_KEY_MAX];

    set(&t, "203.0.113.0/24", "a@example.org", "b@example.net");
    triplet_grey_key("rg:", &t, key, sizeof(key));
    ck_assert_str_eq(key, GOLDEN_GREY);
    triplet_awl_key("rg:", &t, key, sizeof(key));
    ck_assert_str_eq(key, GOLDEN_AWL);
}
END_TEST

/*
 * With the default prefix, the grey key of an IPv4 /24 and of an IPv6 /64
 * client is at most 30 bytes: Redis 7 keeps such a key in jemalloc's
 * 32-byte class (see triplet.c). Its hash is the first 12 characters of
 * the pair's 16, which the outbound key carries whole.
 */
START_TEST(test_grey_size)
{
    static const char *const cks[] = {"203.0.113.0/24", "2001:db8:1:2::/64",
                                      "ffff:ffff:ffff:ffff::/64"};
    struct triplet t;
    char    key[TRIPLET_KEY_MAX], out[TRIPLET_KEY_MAX];
    const char *brace;
    size_t  n;

    for (size_t i = 0; i < sizeof(cks) / sizeof(cks[0]); i++) {
        set(&t, cks[i], "a@example.org", "b@example.net");
        n = triplet_grey_key("rg:", &t, key, sizeof(key));
        ck_assert_msg(n > 0 && n <= 30, "%s: got grey key %s (%zu bytes), want <= 30",
                      cks[i], key, n);
        ck_assert_uint_gt(triplet_outbound_key("rg:", &t, out, sizeof(out)), 0);
        brace = strchr(key, '}');
        ck_assert_msg(strlen(out) == strlen("rg:{o:}o") + 16
                      && strncmp(out + strlen("rg:{o:"), brace + 2, 12) == 0,
                      "%s: grey %s, outbound %s: want the first 12 of its 16", cks[i], key, out);
    }
}
END_TEST

static const struct trip_case {
    const char *client_key;              /* built from */
    unsigned v4, v6;                     /* the netmasks parse is given */
    const char *want;                    /* parsed back */
} trip_cases[] = {
    {"203.0.113.0/24", 24, 64, "203.0.113.0/24"},
    {"192.0.2.128/25", 25, 64, "192.0.2.128/25"},
    {"10.1.2.3/32", 32, 64, "10.1.2.3/32"},
    {"2001:db8:1:2::/64", 24, 64, "2001:db8:1:2::/64"},
    {"2001:db8:ab00::/40", 24, 40, "2001:db8:ab00::/40"},
    {"spf:example.org", 24, 64, "spf:example.org"},
};

/* parse(build(key)): the client key and the type come back from grey and AWL keys. */
START_TEST(test_roundtrip)
{
    const struct trip_case *c = &trip_cases[_i];
    static const char *const prefixes[] = {"rg:", "", "a:b*c?:"};
    struct triplet t;
    char    key[TRIPLET_KEY_MAX], got[TRIPLET_CLIENTKEY_MAX + 1], type;
    size_t  n, g;

    set(&t, c->client_key, "a@example.org", "b@example.net");
    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
        for (int awl = 0; awl < 2; awl++) {
            n = awl ? triplet_awl_key(prefixes[i], &t, key, sizeof(key))
                : triplet_grey_key(prefixes[i], &t, key, sizeof(key));
            ck_assert_uint_gt(n, 0);
            type = 0;
            g = triplet_key_client(prefixes[i], key, n, c->v4, c->v6, &type, got, sizeof(got));
            ck_assert_msg(g == strlen(c->want) && strcmp(got, c->want) == 0,
                          "%s (%s): got \"%s\" (%zu), want \"%s\"", key, c->client_key,
                          g > 0 ? got : "", g, c->want);
            ck_assert_int_eq(type, awl ? 'a' : 'g');
            /* Another prefix, or the key cut before its type, is not such a key. */
            ck_assert_uint_eq(triplet_key_client("zz:", key, n, c->v4, c->v6, &type, got,
                                                 sizeof(got)), 0);
            ck_assert_uint_eq(triplet_key_client(prefixes[i], key,
                                                 (size_t) (strchr(key, '}') - key + 1),
                                                 c->v4, c->v6, &type, got, sizeof(got)), 0);
        }
    }
}
END_TEST

static const struct bad_case {
    const char *label;
    size_t  prefixlen;                   /* prefix of 'p' repeated; 0: use prefix */
    const char *prefix;
    const char *client_key;
    size_t  want_nonzero;
} bad_cases[] = {
    {"prefix at max", TRIPLET_PREFIX_MAX, NULL, "203.0.113.0/24", 1},
    {"prefix too long", TRIPLET_PREFIX_MAX + 1, NULL, "203.0.113.0/24", 0},
    {"prefix much too long", 4096, NULL, "203.0.113.0/24", 0},
    {"prefix with {", 0, "rg{x:", "203.0.113.0/24", 0},
    {"prefix with }", 0, "rg}:", "203.0.113.0/24", 0},
    {"client key with {", 0, "rg:", "{203.0.113.0/24", 0},
    {"client key with }", 0, "rg:", "203.0.113.0}/24", 0},
    {"client key {}", 0, "rg:", "{}", 0},
    {"empty client key", 0, "rg:", "", 0},
};

START_TEST(test_bad)
{
    const struct bad_case *c = &bad_cases[_i];
    struct triplet t;
    char    key[TRIPLET_KEY_MAX];
    char   *prefix = NULL;
    size_t  g, a;

    if (c->prefixlen > 0) {
        prefix = malloc(c->prefixlen + 1);
        ck_assert_ptr_nonnull(prefix);
        memset(prefix, 'p', c->prefixlen);
        prefix[c->prefixlen] = 0;
    }
    set(&t, c->client_key, "a@example.org", "b@example.net");
    g = triplet_grey_key(prefix ? prefix : c->prefix, &t, key, sizeof(key));
    a = triplet_awl_key(prefix ? prefix : c->prefix, &t, key, sizeof(key));
    ck_assert_msg((g != 0) == c->want_nonzero && (a != 0) == c->want_nonzero,
                  "%s: got grey %zu awl %zu, want %s", c->label, g, a,
                  c->want_nonzero ? "keys" : "0");
    free(prefix);
}
END_TEST

/* Longest parts: the key still fits TRIPLET_KEY_MAX; short buffers give 0. */
START_TEST(test_bounds)
{
    struct triplet t;
    char    prefix[TRIPLET_PREFIX_MAX + 1];
    char    key[TRIPLET_KEY_MAX + 8];
    size_t  n, a;

    memset(&t, 'x', sizeof(t));
    t.client_key[TRIPLET_CLIENTKEY_MAX] = 0;
    memset(t.sender, 'a', MAILADDR_MAX);
    t.sender[MAILADDR_MAX - 12] = '@';
    t.sender[MAILADDR_MAX] = 0;
    memset(t.rcpt, 'b', MAILADDR_MAX);
    t.rcpt[MAILADDR_MAX] = 0;
    memset(prefix, 'p', TRIPLET_PREFIX_MAX);
    prefix[TRIPLET_PREFIX_MAX] = 0;

    memset(key, 'X', sizeof(key));
    n = triplet_grey_key(prefix, &t, key, TRIPLET_KEY_MAX);
    ck_assert_uint_eq(n, TRIPLET_PREFIX_MAX + TRIPLET_CLIENTKEY_MAX + 3 + 12);
    ck_assert_uint_lt(n, TRIPLET_KEY_MAX);
    ck_assert_int_eq(key[TRIPLET_KEY_MAX], 'X');
    a = triplet_awl_key(prefix, &t, key, TRIPLET_KEY_MAX);
    ck_assert_uint_eq(a, n + 4);
    ck_assert_uint_lt(a, TRIPLET_KEY_MAX);
    ck_assert_int_eq(key[TRIPLET_KEY_MAX], 'X');
    ck_assert_uint_eq(triplet_awl_key(prefix, &t, key, a + 1), a);
    ck_assert_uint_eq(triplet_awl_key(prefix, &t, key, a), 0);

    /* Exactly n + 1 bytes fit; n bytes (no room for the NUL) do not. */
    ck_assert_uint_eq(triplet_grey_key(prefix, &t, key, n + 1), n);
    ck_assert_uint_eq(triplet_grey_key(prefix, &t, key, n), 0);
    ck_assert_uint_eq(triplet_awl_key(prefix, &t, key, n), 0);
    ck_assert_uint_eq(triplet_grey_key(prefix, &t, NULL, 0), 0);
    ck_assert_uint_eq(triplet_grey_key(prefix, NULL, key, sizeof(key)), 0);

    /* Unterminated fields are not normalised addresses: refused. */
    memset(t.client_key, 'c', sizeof(t.client_key));
    ck_assert_uint_eq(triplet_grey_key("rg:", &t, key, sizeof(key)), 0);
    set(&t, "203.0.113.0/24", "a@example.org", "b@example.net");
    memset(t.rcpt, 'r', sizeof(t.rcpt));
    ck_assert_uint_eq(triplet_grey_key("rg:", &t, key, sizeof(key)), 0);
    memset(t.sender, 's', sizeof(t.sender));
    ck_assert_uint_eq(triplet_awl_key("rg:", &t, key, sizeof(key)), 0);
}
END_TEST

/* SipHash-2-4 reference vectors: key 00..0f, message 00..(len-1). */
static const struct sip_case {
    const char *label;
    size_t  len;
    uint64_t want;
} sip_cases[] = {
    {"empty", 0, UINT64_C(0x726fdb47dd0e0e31)},
    {"1 byte", 1, UINT64_C(0x74f839c593dc67fd)},
    {"7 bytes", 7, UINT64_C(0xab0200f58b01d137)},
    {"8 bytes", 8, UINT64_C(0x93f5f5799a932462)},
    {"15 bytes (paper)", 15, UINT64_C(0xa129ca6149be45e5)},
};

START_TEST(test_siphash)
{
    const struct sip_case *c = &sip_cases[_i];
    uint8_t key[16], msg[64];
    uint64_t got;

    for (int i = 0; i < 16; i++)
        key[i] = (uint8_t) i;
    for (int i = 0; i < 64; i++)
        msg[i] = (uint8_t) i;
    got = siphash24(key, msg, c->len);
    ck_assert_msg(got == c->want, "%s: got %016llx, want %016llx", c->label,
                  (unsigned long long) got, (unsigned long long) c->want);
}
END_TEST

#define N(a) (int) (sizeof(a) / sizeof((a)[0]))

static Suite *
triplet_suite(void)
{
    Suite  *s = suite_create("triplet");
    TCase  *tc;

    tc = tcase_create("key format");
    tcase_add_loop_test(tc, test_shape, 0, N(shape_cases));
    tcase_add_test(tc, test_distinct);
    tcase_add_test(tc, test_awl_domain);
    tcase_add_test(tc, test_golden);
    tcase_add_test(tc, test_grey_size);
    tcase_add_loop_test(tc, test_roundtrip, 0, N(trip_cases));
    suite_add_tcase(s, tc);
    tc = tcase_create("bad input");
    tcase_add_loop_test(tc, test_bad, 0, N(bad_cases));
    tcase_add_test(tc, test_bounds);
    suite_add_tcase(s, tc);
    tc = tcase_create("siphash");
    tcase_add_loop_test(tc, test_siphash, 0, N(sip_cases));
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return daemon_run_suites(triplet_suite(), NULL) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_netblock.c - masking, parsing and membership of network blocks,
 * and netsets checked against a brute-force scan.
 *
 * The randomized test builds a set of 2000 mixed IPv4/IPv6 blocks from a
 * fixed seed and asks both the set and a plain loop over the blocks about
 * 10000 random addresses plus every block's edges; the answers must agree.
 */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "netblock.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* must_parse - an address the test itself wrote; fail loudly if it is bad */
static struct ipaddr
must_parse(const char *label, const char *text)
{
    struct ipaddr ip;

    ck_assert_msg(ipaddr_parse(text, &ip) == 0, "%s: test address %s does not parse",
                  label, text);
    return ip;
}

static const struct mask_case {
    const char *label;
    const char *addr;
    unsigned prefix;
    const char *want;                    /* netblock_format of the result */
} mask_cases[] = {
    {"v4 /0", "192.0.2.77", 0, "0.0.0.0/0"},
    {"v4 /1", "192.0.2.77", 1, "128.0.0.0/1"},
    {"v4 /1 low half", "127.255.255.255", 1, "0.0.0.0/1"},
    {"v4 /8", "192.0.2.77", 8, "192.0.0.0/8"},
    {"v4 /23", "192.0.3.77", 23, "192.0.2.0/23"},
    {"v4 /24", "192.0.2.77", 24, "192.0.2.0/24"},
    {"v4 /31", "192.0.2.77", 31, "192.0.2.76/31"},
    {"v4 /32", "192.0.2.77", 32, "192.0.2.77/32"},
    {"v4 /33 clamps", "192.0.2.77", 33, "192.0.2.77/32"},
    {"v4 /1000 clamps", "192.0.2.77", 1000, "192.0.2.77/32"},
    {"v4 mapped /24", "::ffff:192.0.2.77", 24, "192.0.2.0/24"},
    {"v6 /0", "2001:db8:1:2:3:4:5:7", 0, "::/0"},
    {"v6 /1", "ffff::1", 1, "8000::/1"},
    {"v6 /48", "2001:db8:1:2:3:4:5:7", 48, "2001:db8:1::/48"},
    {"v6 /63", "2001:db8:1:3::1", 63, "2001:db8:1:2::/63"},
    {"v6 /64", "2001:db8:1:2:3:4:5:7", 64, "2001:db8:1:2::/64"},
    {"v6 /127", "2001:db8:1:2:3:4:5:7", 127, "2001:db8:1:2:3:4:5:6/127"},
    {"v6 /128", "2001:db8:1:2:3:4:5:7", 128, "2001:db8:1:2:3:4:5:7/128"},
    {"v6 /129 clamps", "2001:db8:1:2:3:4:5:7", 129, "2001:db8:1:2:3:4:5:7/128"},
    {"v6 /4096 clamps", "2001:db8::1", 4096, "2001:db8::1/128"},
};

START_TEST(test_mask)
{
    const struct mask_case *c = &mask_cases[_i];
    struct ipaddr ip = must_parse(c->label, c->addr);
    struct netblock nb;
    char    buf[NETBLOCK_STRLEN];

    memset(&nb, 0xa5, sizeof(nb));
    netblock_mask(&ip, c->prefix, &nb);
    netblock_format(&nb, buf, sizeof(buf));
    ck_assert_msg(strcmp(buf, c->want) == 0, "%s: got %s, want %s", c->label, buf, c->want);

    /* Host bits are clear down to the last byte, even past the family's width. */
    for (unsigned i = nb.prefix; i < 128; i++)
        ck_assert_msg((nb.addr.b[i / 8] & (0x80 >> (i % 8))) == 0,
                      "%s: got host bit %u set, want clear", c->label, i);
    ck_assert_msg(netblock_contains(&nb, &ip), "%s: got block without its address, want it",
                  c->label);
}
END_TEST

START_TEST(test_mask_in_place)
{
    struct netblock nb;

    /* out->addr may be the input itself. */
    nb.addr = must_parse("in place", "192.0.2.77");
    netblock_mask(&nb.addr, 24, &nb);
    ck_assert_uint_eq(nb.prefix, 24);
    ck_assert_uint_eq(nb.addr.b[3], 0);
    ck_assert_uint_eq(nb.addr.b[2], 2);
}
END_TEST

static const struct parse_case {
    const char *label;
    const char *text;
    int     want_rc;
    const char *want;                    /* formatted block, or a substring of err */
} parse_cases[] = {
    {"v4 block", "192.0.2.0/24", 0, "192.0.2.0/24"},
    {"v4 host bits", "192.0.2.1/24", 1, "192.0.2.0/24"},
    {"v4 bare", "192.0.2.1", 0, "192.0.2.1/32"},
    {"v4 /32", "192.0.2.1/32", 0, "192.0.2.1/32"},
    {"v4 /31 host bit", "192.0.2.1/31", 1, "192.0.2.0/31"},
    {"v4 /0", "0.0.0.0/0", 0, "0.0.0.0/0"},
    {"v4 /0 host bits", "192.0.2.1/0", 1, "0.0.0.0/0"},
    {"v4 prefix leading zero", "192.0.2.0/024", 0, "192.0.2.0/24"},
    {"v6 block", "2001:db8::/32", 0, "2001:db8::/32"},
    {"v6 host bits", "2001:db8::1/32", 1, "2001:db8::/32"},
    {"v6 bare", "2001:db8::1", 0, "2001:db8::1/128"},
    {"v6 /64", "2001:db8:0:1::/64", 0, "2001:db8:0:1::/64"},
    {"v6 /127 host bit", "2001:db8::1/127", 1, "2001:db8::/127"},
    {"v6 /128", "2001:db8::1/128", 0, "2001:db8::1/128"},
    {"v6 /0", "::/0", 0, "::/0"},
    {"v6 bracketed", "[2001:db8::]/48", 0, "2001:db8::/48"},
    {"mapped bare", "::ffff:192.0.2.1", 0, "192.0.2.1/32"},
    {"mapped /120", "::ffff:192.0.2.0/120", 0, "192.0.2.0/24"},
    {"mapped /120 host bits", "::ffff:192.0.2.9/120", 1, "192.0.2.0/24"},
    {"mapped /96", "::ffff:192.0.2.9/96", 1, "0.0.0.0/0"},

    {"NULL", NULL, -1, "no netblock"},
    {"empty", "", -1, "empty netblock"},
    {"v4 /33", "192.0.2.0/33", -1, "bad prefix length in \"192.0.2.0/33\""},
    {"v6 /129", "2001:db8::/129", -1, "bad prefix length in \"2001:db8::/129\""},
    {"mapped /64", "::ffff:192.0.2.0/64", -1, "bad prefix length"},
    {"mapped /129", "::ffff:192.0.2.0/129", -1, "bad prefix length"},
    {"prefix empty", "192.0.2.0/", -1, "bad prefix length"},
    {"prefix negative", "192.0.2.0/-1", -1, "bad prefix length"},
    {"prefix plus", "192.0.2.0/+24", -1, "bad prefix length"},
    {"prefix space", "192.0.2.0/ 24", -1, "bad prefix length"},
    {"prefix trailing space", "192.0.2.0/24 ", -1, "bad prefix length"},
    {"prefix hex", "192.0.2.0/0x18", -1, "bad prefix length"},
    {"prefix letters", "192.0.2.0/2a", -1, "bad prefix length"},
    {"prefix four digits", "192.0.2.0/0024", -1, "bad prefix length"},
    {"prefix huge", "192.0.2.0/4294967320", -1, "bad prefix length"},
    {"two prefixes", "192.0.2.0/24/24", -1, "bad prefix length"},
    {"no address", "/24", -1, "bad address in \"/24\""},
    {"short v4", "192.0.2/24", -1, "bad address"},
    {"junk", "localhost/24", -1, "bad address"},
    {"zone id", "fe80::%eth0/64", -1, "bad address"},
    {"space before slash", "192.0.2.0 /24", -1, "bad address"},
    {"dot mask", "192.0.2.0/255.255.255.0", -1, "bad prefix length"},
};

START_TEST(test_parse)
{
    const struct parse_case *c = &parse_cases[_i];
    struct netblock nb;
    struct netblock before;
    char    buf[NETBLOCK_STRLEN];
    char    err[256] = "";
    int     rc;

    memset(&nb, 0xa5, sizeof(nb));
    before = nb;
    rc = netblock_parse(c->text, &nb, err, sizeof(err));
    ck_assert_msg(rc == c->want_rc, "%s: got rc %d (%s), want %d", c->label, rc, err, c->want_rc);
    if (rc < 0) {
        ck_assert_msg(strstr(err, c->want) != NULL, "%s: got err \"%s\", want it to hold \"%s\"",
                      c->label, err, c->want);
        ck_assert_msg(memcmp(&nb, &before, sizeof(nb)) == 0,
                      "%s: got output written, want untouched", c->label);
        return;
    }
    netblock_format(&nb, buf, sizeof(buf));
    ck_assert_msg(strcmp(buf, c->want) == 0, "%s: got %s, want %s", c->label, buf, c->want);
}
END_TEST

START_TEST(test_parse_junk)
{
    char    junk[1001];
    char    err[128];
    struct netblock nb;

    /* 1000 bytes: refused by length, and the message stays bounded. */
    memset(junk, '1', 1000);
    junk[1000] = '\0';
    ck_assert_int_eq(netblock_parse(junk, &nb, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "too long") != NULL, "1000 bytes: got \"%s\", want too long", err);
    ck_assert_msg(strlen(err) < 100, "1000 bytes: got err of %zu chars, want < 100", strlen(err));

    /* Control characters never reach the message. */
    ck_assert_int_eq(netblock_parse("192.0.2.0/2\n4\x1b[0m", &nb, err, sizeof(err)), -1);
    for (const char *p = err; *p != '\0'; p++)
        ck_assert_msg(*p >= 0x20 && *p < 0x7f, "control: got byte %d in err, want printable",
                      (unsigned char) *p);

    /* No err buffer, or an empty one, is allowed. */
    ck_assert_int_eq(netblock_parse("junk", &nb, NULL, 0), -1);
    err[0] = 'z';
    ck_assert_int_eq(netblock_parse("junk", &nb, err, 0), -1);
    ck_assert_int_eq(err[0], 'z');

    /* A short err buffer is truncated, still terminated. */
    ck_assert_int_eq(netblock_parse("junk", &nb, err, 5), -1);
    ck_assert_str_eq(err, "bad ");
    ck_assert_int_eq(netblock_parse("192.0.2.0/24", NULL, err, sizeof(err)), -1);
}
END_TEST

static const struct contains_case {
    const char *label;
    const char *block;
    const char *addr;
    int     want;
} contains_cases[] = {
    {"v4 inside", "192.0.2.0/24", "192.0.2.77", 1},
    {"v4 first", "192.0.2.0/24", "192.0.2.0", 1},
    {"v4 last", "192.0.2.0/24", "192.0.2.255", 1},
    {"v4 below", "192.0.2.0/24", "192.0.1.255", 0},
    {"v4 above", "192.0.2.0/24", "192.0.3.0", 0},
    {"v4 /25 upper half", "192.0.2.0/25", "192.0.2.128", 0},
    {"v4 /32 same", "192.0.2.1/32", "192.0.2.1", 1},
    {"v4 /32 next", "192.0.2.1/32", "192.0.2.2", 0},
    {"v4 /0 all", "0.0.0.0/0", "255.255.255.255", 1},
    {"v4 mapped address", "192.0.2.0/24", "::ffff:192.0.2.9", 1},
    {"v6 inside", "2001:db8::/32", "2001:db8:ffff:ffff::1", 1},
    {"v6 above", "2001:db8::/32", "2001:db9::", 0},
    {"v6 /127", "2001:db8::/127", "2001:db8::1", 1},
    {"v6 /127 out", "2001:db8::/127", "2001:db8::2", 0},
    {"v6 /128", "2001:db8::1", "2001:db8::1", 1},
    {"v6 /0 all", "::/0", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 1},
    {"v4 block, v6 addr", "0.0.0.0/0", "::1", 0},
    {"v6 block, v4 addr", "::/0", "127.0.0.1", 0},
    {"v4-compatible is not v4", "192.0.2.0/24", "::192.0.2.9", 0},
};

START_TEST(test_contains)
{
    const struct contains_case *c = &contains_cases[_i];
    struct netblock nb;
    struct ipaddr ip = must_parse(c->label, c->addr);
    int     got;

    ck_assert_msg(netblock_parse(c->block, &nb, NULL, 0) >= 0, "%s: bad test block", c->label);
    got = netblock_contains(&nb, &ip);
    ck_assert_msg(got == c->want, "%s: got %d, want %d", c->label, got, c->want);
}
END_TEST

START_TEST(test_contains_null)
{
    struct netblock nb;
    struct ipaddr ip = must_parse("null", "192.0.2.1");

    netblock_mask(&ip, 24, &nb);
    ck_assert_int_eq(netblock_contains(NULL, &ip), 0);
    ck_assert_int_eq(netblock_contains(&nb, NULL), 0);
}
END_TEST

START_TEST(test_format_edges)
{
    struct netblock nb;
    char    buf[NETBLOCK_STRLEN];
    char    small[12];

    ck_assert_int_eq(netblock_parse("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/128", &nb, NULL, 0), 0);
    ck_assert_str_eq(netblock_format(&nb, buf, sizeof(buf)),
                     "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/128");
    ck_assert_int_eq(netblock_parse("192.0.2.0/24", &nb, NULL, 0), 0);
    ck_assert_str_eq(netblock_format(&nb, small, sizeof(small)), "");
    ck_assert_str_eq(netblock_format(&nb, buf, 13), "192.0.2.0/24");
    nb.addr.family = AF_UNIX;
    ck_assert_str_eq(netblock_format(&nb, buf, sizeof(buf)), "");
    ck_assert_str_eq(netblock_format(NULL, buf, sizeof(buf)), "");
}
END_TEST

/*
 * Hand-made sets: each row lists blocks to add, the merged count wanted,
 * addresses that must be in and addresses that must not.
 */
static const struct set_case {
    const char *label;
    const char *blocks[6];
    size_t  want_count;
    const char *in[5];
    const char *out[5];
} set_cases[] = {
    {"empty", {NULL}, 0, {NULL}, {"192.0.2.1", "::1", "0.0.0.0", "::"}},
    {"one v4", {"192.0.2.0/24"}, 1, {"192.0.2.0", "192.0.2.255"}, {"192.0.1.255", "192.0.3.0"}},
    {"overlap", {"10.0.0.0/8", "10.1.0.0/16", "10.255.255.255"}, 1,
     {"10.0.0.0", "10.1.2.3", "10.255.255.255"}, {"9.255.255.255", "11.0.0.0"}},
    {"overlap added small first", {"10.1.0.0/16", "10.0.0.0/8"}, 1,
     {"10.0.0.1", "10.200.0.1"}, {"11.0.0.0"}},
    {"adjacent v4", {"192.0.2.128/25", "192.0.2.0/25"}, 1,
     {"192.0.2.127", "192.0.2.128"}, {"192.0.3.0"}},
    {"adjacent chain", {"192.0.2.2/31", "192.0.2.0/31", "192.0.2.4/30", "192.0.2.8/29"}, 1,
     {"192.0.2.0", "192.0.2.15"}, {"192.0.2.16", "192.0.1.255"}},
    {"gap of one", {"192.0.2.0/32", "192.0.2.2/32"}, 2,
     {"192.0.2.0", "192.0.2.2"}, {"192.0.2.1", "192.0.2.3"}},
    {"disjoint", {"198.51.100.0/24", "192.0.2.0/25", "203.0.113.0/24"}, 3,
     {"192.0.2.1", "198.51.100.200", "203.0.113.255"},
     {"192.0.2.200", "198.51.101.0", "203.0.112.255"}},
    {"duplicates", {"192.0.2.0/24", "192.0.2.0/24", "192.0.2.0/24"}, 1,
     {"192.0.2.9"}, {"192.0.3.9"}},
    {"adjacent v6", {"2001:db8:8000::/33", "2001:db8::/33"}, 1,
     {"2001:db8:7fff:ffff:ffff:ffff:ffff:ffff", "2001:db8:8000::"}, {"2001:db9::", "2001:db7::"}},
    {"v6 across the 64-bit halves", {"2001:db8::/64", "2001:db8:0:1::/64"}, 1,
     {"2001:db8::ffff:ffff:ffff:ffff", "2001:db8:0:1::"}, {"2001:db8:0:2::"}},
    {"v4 and v6 kept apart", {"0.0.0.0/0", "2001:db8::/32"}, 2,
     {"1.2.3.4", "2001:db8::1"}, {"::1", "::", "2001:db9::"}},
    {"v6 all does not hold v4", {"::/0"}, 1, {"::", "ffff::"}, {"127.0.0.1", "0.0.0.0"}},
    {"v4 top edge", {"0.0.0.0/0", "255.255.255.255"}, 1, {"255.255.255.255", "0.0.0.0"}, {"::"}},
    {"v6 top edge", {"ffff:ffff::/32", "ffff::/16", "::/0"}, 1,
     {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "::"}, {"0.0.0.0"}},
    {"v6 ends at top", {"ffff:ffff::/32", "ffff::/16"}, 1,
     {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff::"}, {"fffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff"}},
    {"mapped block is v4", {"::ffff:192.0.2.0/120"}, 1, {"192.0.2.1"}, {"::192.0.2.1"}},
};

/* set_check - the row's in/out addresses against set */
static void
set_check(const struct set_case *c, const struct netset *set, const char *when)
{
    for (size_t i = 0; i < NELEM(c->in) && c->in[i] != NULL; i++) {
        struct ipaddr ip = must_parse(c->label, c->in[i]);

        ck_assert_msg(netset_contains(set, &ip) == 1, "%s (%s) %s: got 0, want 1",
                      c->label, when, c->in[i]);
    }
    for (size_t i = 0; i < NELEM(c->out) && c->out[i] != NULL; i++) {
        struct ipaddr ip = must_parse(c->label, c->out[i]);

        ck_assert_msg(netset_contains(set, &ip) == 0, "%s (%s) %s: got 1, want 0",
                      c->label, when, c->out[i]);
    }
}

START_TEST(test_set)
{
    const struct set_case *c = &set_cases[_i];
    struct netset *set = netset_new();
    struct netblock nb;
    size_t  got;

    for (size_t i = 0; i < NELEM(c->blocks) && c->blocks[i] != NULL; i++) {
        ck_assert_msg(netblock_parse(c->blocks[i], &nb, NULL, 0) >= 0, "%s: bad test block %s",
                      c->label, c->blocks[i]);
        netset_add(set, &nb);
    }
    /* Lookups are right before finish too (slowly), and after it. */
    set_check(c, set, "unfinished");
    netset_finish(set);
    got = netset_count(set);
    ck_assert_msg(got == c->want_count, "%s: got %zu ranges, want %zu", c->label, got,
                  c->want_count);
    set_check(c, set, "finished");
    netset_finish(set);
    ck_assert_msg(netset_count(set) == c->want_count, "%s: got %zu after 2nd finish, want %zu",
                  c->label, netset_count(set), c->want_count);
    set_check(c, set, "finished twice");
    netset_free(set);
}
END_TEST

START_TEST(test_set_null_and_odd)
{
    struct netset *set;
    struct netblock nb;
    struct ipaddr ip = must_parse("odd", "192.0.2.1");

    /* NULL set: every call is harmless, lookups say no. */
    ck_assert_int_eq(netset_contains(NULL, &ip), 0);
    ck_assert_uint_eq(netset_count(NULL), 0);
    netset_add(NULL, &nb);
    netset_finish(NULL);
    netset_free(NULL);

    set = netset_new();
    netset_add(set, NULL);

    /* A block of unknown family is ignored. */
    netblock_mask(&ip, 24, &nb);
    nb.addr.family = AF_UNIX;
    netset_add(set, &nb);

    /* Host bits left set by a caller who built the struct by hand. */
    nb.addr = must_parse("odd", "198.51.100.77");
    nb.prefix = 24;
    netset_add(set, &nb);

    /* A prefix past the width is clamped. */
    nb.addr = must_parse("odd", "2001:db8::5");
    nb.prefix = 300;
    netset_add(set, &nb);
    netset_finish(set);

    ck_assert_uint_eq(netset_count(set), 2);
    ck_assert_int_eq(netset_contains(set, &ip), 0);
    ip = must_parse("odd", "198.51.100.1");
    ck_assert_int_eq(netset_contains(set, &ip), 1);
    ip = must_parse("odd", "2001:db8::5");
    ck_assert_int_eq(netset_contains(set, &ip), 1);
    ip = must_parse("odd", "2001:db8::4");
    ck_assert_int_eq(netset_contains(set, &ip), 0);
    ck_assert_int_eq(netset_contains(set, NULL), 0);
    ip.family = AF_UNIX;
    ck_assert_int_eq(netset_contains(set, &ip), 0);

    /* Adding after finish reopens the set; finishing again merges. */
    nb.addr = must_parse("odd", "198.51.101.0");
    nb.prefix = 24;
    netset_add(set, &nb);
    ip = must_parse("odd", "198.51.101.9");
    ck_assert_int_eq(netset_contains(set, &ip), 1);
    netset_finish(set);
    ck_assert_uint_eq(netset_count(set), 2);
    ck_assert_int_eq(netset_contains(set, &ip), 1);
    netset_free(set);
}
END_TEST

static uint64_t rng_state;              /* fixed seed set by the test */

/* rng_next - xorshift64*: a small PRNG whose sequence is the same everywhere */
static uint64_t
rng_next(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1DULL;
}

/* rng_below - a number in [0, n) */
static unsigned
rng_below(unsigned n)
{
    return (unsigned) (rng_next() % n);
}

/* rng_addr - a random address of the family, in a few dense regions for v6 */
static void
rng_addr(struct ipaddr *ip, int family)
{
    static const uint8_t v6_top[4][2] = {{0x20, 0x01}, {0x26, 0x00}, {0xfe, 0x80}, {0xff, 0xff}};

    memset(ip, 0, sizeof(*ip));
    ip->family = family;
    for (unsigned i = 0; i < 16; i++)
        ip->b[i] = (uint8_t) rng_next();
    if (family == AF_INET) {
        memset(ip->b + 4, 0, 12);
    } else {
        /* Few distinct tops, so random v6 addresses do land in blocks. */
        memcpy(ip->b, v6_top[rng_below(4)], 2);
        if (rng_below(2))
            memset(ip->b + 2, 0, 2 + rng_below(4));
    }
}

/* flip_bit - toggle bit n (0 = most significant) of the address */
static void
flip_bit(struct ipaddr *ip, unsigned n)
{
    ip->b[n / 8] ^= (uint8_t) (0x80 >> (n % 8));
}

/* step - add or subtract one within the family's width; 0 if it wrapped */
static int
step(struct ipaddr *ip, int up)
{
    int     i = (int) ipaddr_bits(ip) / 8 - 1;

    for (; i >= 0; i--) {
        if (up ? ++ip->b[i] != 0 : ip->b[i]-- != 0)
            return 1;
    }
    return 0;
}

/* last_of - the highest address of a block */
static struct ipaddr
last_of(const struct netblock *nb)
{
    struct ipaddr ip = nb->addr;

    for (unsigned i = nb->prefix; i < ipaddr_bits(&ip); i++)
        ip.b[i / 8] |= (uint8_t) (0x80 >> (i % 8));
    return ip;
}

#define RAND_BLOCKS 2000
#define RAND_ADDRS  10000

static struct netblock rand_blocks[RAND_BLOCKS];

/* brute - the slow, obvious answer */
static int
brute(const struct ipaddr *ip)
{
    for (size_t i = 0; i < RAND_BLOCKS; i++)
        if (netblock_contains(&rand_blocks[i], ip))
            return 1;
    return 0;
}

START_TEST(test_set_random)
{
    struct netset *set = netset_new();
    struct ipaddr ip;
    struct ipaddr edge;
    char    buf[IPADDR_STRLEN];
    unsigned hits = 0;
    unsigned misses = 0;
    unsigned checked = 0;

    rng_state = 0x9e3779b97f4a7c15ULL;

    /*
     * Mixed families and prefixes. Prefixes stay mostly long enough that
     * the set does not collapse into "everything"; every tenth block is
     * the sibling of an earlier one, so adjacent ranges must merge.
     */
    for (size_t i = 0; i < RAND_BLOCKS; i++) {
        int     family = rng_below(2) ? AF_INET : AF_INET6;
        unsigned width = family == AF_INET ? 32 : 128;
        unsigned prefix = family == AF_INET ? 12 + rng_below(21) : 20 + rng_below(109);

        if (i > 0 && rng_below(10) == 0) {
            struct netblock sib = rand_blocks[rng_below((unsigned) i)];

            if (sib.prefix > 0)
                flip_bit(&sib.addr, sib.prefix - 1);
            rand_blocks[i] = sib;
        } else {
            if (rng_below(200) == 0)
                prefix = width / 8 + rng_below(width / 8);
            rng_addr(&ip, family);
            netblock_mask(&ip, prefix, &rand_blocks[i]);
        }
        netset_add(set, &rand_blocks[i]);
    }
    netset_finish(set);
    ck_assert_msg(netset_count(set) < RAND_BLOCKS, "random: got %zu ranges, want merging",
                  netset_count(set));

    /* Random addresses, half near a block (its bits, fuzzed from near the prefix). */
    for (unsigned n = 0; n < RAND_ADDRS; n++) {
        if (rng_below(2)) {
            const struct netblock *nb = &rand_blocks[rng_below(RAND_BLOCKS)];
            unsigned from = nb->prefix > 4 ? nb->prefix - rng_below(5) : 0;

            ip = nb->addr;
            for (unsigned b = from; b < ipaddr_bits(&ip); b++)
                if (rng_below(2))
                    flip_bit(&ip, b);
        } else {
            rng_addr(&ip, rng_below(2) ? AF_INET : AF_INET6);
        }
        int     want = brute(&ip);
        int     got = netset_contains(set, &ip);

        ck_assert_msg(got == want, "random %s: got %d, want %d",
                      ipaddr_format(&ip, buf, sizeof(buf)), got, want);
        if (want)
            hits++;
        else
            misses++;
        checked++;
    }

    /* Every block's edges: first, last, and one step outside each. */
    for (size_t i = 0; i < RAND_BLOCKS; i++) {
        struct ipaddr probes[4];
        unsigned np = 0;

        probes[np++] = rand_blocks[i].addr;
        probes[np++] = last_of(&rand_blocks[i]);
        edge = rand_blocks[i].addr;
        if (step(&edge, 0))
            probes[np++] = edge;
        edge = last_of(&rand_blocks[i]);
        if (step(&edge, 1))
            probes[np++] = edge;
        for (unsigned p = 0; p < np; p++) {
            int     want = brute(&probes[p]);
            int     got = netset_contains(set, &probes[p]);

            ck_assert_msg(got == want, "edge of block %zu, %s: got %d, want %d", i,
                          ipaddr_format(&probes[p], buf, sizeof(buf)), got, want);
            if (want)
                hits++;
            else
                misses++;
            checked++;
        }
    }

    /* The test means something only if both answers were common. */
    ck_assert_msg(hits > checked / 10 && misses > checked / 10,
                  "random: got %u hits, %u misses of %u, want both > 10%%", hits, misses, checked);
    netset_free(set);
}
END_TEST

static Suite *
netblock_suite(void)
{
    Suite  *s = suite_create("netblock");
    TCase  *tc = tcase_create("mask");

    tcase_add_loop_test(tc, test_mask, 0, NELEM(mask_cases));
    tcase_add_test(tc, test_mask_in_place);
    suite_add_tcase(s, tc);
    tc = tcase_create("parse");
    tcase_add_loop_test(tc, test_parse, 0, NELEM(parse_cases));
    tcase_add_test(tc, test_parse_junk);
    suite_add_tcase(s, tc);
    tc = tcase_create("contains");
    tcase_add_loop_test(tc, test_contains, 0, NELEM(contains_cases));
    tcase_add_test(tc, test_contains_null);
    tcase_add_test(tc, test_format_edges);
    suite_add_tcase(s, tc);
    tc = tcase_create("netset");
    tcase_add_loop_test(tc, test_set, 0, NELEM(set_cases));
    tcase_add_test(tc, test_set_null_and_odd);
    suite_add_tcase(s, tc);
    tc = tcase_create("netset random");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_set_random);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return daemon_run_suites(netblock_suite(), NULL) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * netblock.c - IPv4/IPv6 network blocks: parse, mask, test membership.
 *
 * Addresses are kept as 16 bytes in network order plus a family, so IPv4
 * and IPv6 share one code path; masking never looks past the family's
 * width. Sets (netset_*) are built once at startup or reload and are
 * read-only afterwards: each block becomes a [lo, hi] range of integers,
 * the ranges are sorted and merged, and a lookup is one binary search
 * with no allocation and no lock.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logesc.h"
#include "netblock.h"
#include "xalloc.h"

/* The longest netblock text: the longest address we parse, then "/128". */
#define NETBLOCK_TEXT_MAX (64 + 4)

/* How much of a bad input an error message quotes. */
#define NETBLOCK_ERR_QUOTE 64

/* netblock_mask - the block of prefix bits (clamped to the width) around ip */
void
netblock_mask(const struct ipaddr *ip, unsigned prefix, struct netblock *out)
{
    struct netblock nb;
    unsigned bits = ipaddr_bits(ip);

    /*
     * Build into a local first: out->addr may be ip itself. Bytes past
     * the prefix stay zero, which is what makes host bits "clear".
     */
    memset(&nb, 0, sizeof(nb));
    nb.addr.family = ip->family;
    if (prefix > bits)
        prefix = bits;
    nb.prefix = prefix;
    memcpy(nb.addr.b, ip->b, prefix / 8);
    if (prefix % 8 != 0)
        nb.addr.b[prefix / 8] = ip->b[prefix / 8] & (uint8_t) (0xff << (8 - prefix % 8));
    *out = nb;
}

/*
 * netblock_err - "what in "text"", text quoted by logesc_quote and cut to
 * fit err, so that a small err never splits an escape.
 */
static void
netblock_err(char *err, size_t errlen, const char *what, const char *text)
{
    char    shown[LOGESC_QUOTE_SIZE(NETBLOCK_ERR_QUOTE)];
    size_t  room = sizeof(shown), used = strlen(what) + 4;    /* what, " in " */

    if (err == NULL || errlen == 0)
        return;
    if (text == NULL) {
        snprintf(err, errlen, "%s", what);
        return;
    }
    /* The text is whatever a config file or a DNS record held. */
    if (errlen < used + room)
        room = errlen > used ? errlen - used : 1;
    snprintf(err, errlen, "%s in %s", what, logesc_quote(text, NETBLOCK_ERR_QUOTE, shown, room));
}

/* netblock_parse_prefix - 1 to 3 decimal digits to a number; -1 if not */
static int
netblock_parse_prefix(const char *s)
{
    int     n = 0;
    size_t  i;

    for (i = 0; s[i] != '\0'; i++) {
        if (i >= 3 || s[i] < '0' || s[i] > '9')
            return -1;
        n = n * 10 + (s[i] - '0');
    }
    return i == 0 ? -1 : n;
}

/* netblock_parse - "addr/n" or a bare address; 0, 1 (host bits cleared) or -1 */
int
netblock_parse(const char *text, struct netblock *out, char *err, size_t errlen)
{
    char    buf[NETBLOCK_TEXT_MAX + 1];
    char   *slash;
    struct ipaddr addr;
    struct netblock nb;
    size_t  len;
    int     prefix = -1;
    unsigned bits;

    if (text == NULL || out == NULL) {
        netblock_err(err, errlen, "no netblock given", NULL);
        return -1;
    }
    len = strnlen(text, NETBLOCK_TEXT_MAX + 1);
    if (len == 0) {
        netblock_err(err, errlen, "empty netblock", NULL);
        return -1;
    }
    if (len > NETBLOCK_TEXT_MAX) {
        netblock_err(err, errlen, "netblock too long", text);
        return -1;
    }
    memcpy(buf, text, len);
    buf[len] = '\0';

    if ((slash = strchr(buf, '/')) != NULL) {
        *slash = '\0';
        if ((prefix = netblock_parse_prefix(slash + 1)) < 0) {
            netblock_err(err, errlen, "bad prefix length", text);
            return -1;
        }
    }
    if (ipaddr_parse(buf, &addr) < 0) {
        netblock_err(err, errlen, "bad address", text);
        return -1;
    }

    /*
     * ipaddr_parse folds ::ffff:a.b.c.d into IPv4, so a prefix written
     * for the mapped IPv6 form counts 96 bits that IPv4 does not have.
     * A colon in a text that parsed as IPv4 can only mean that form.
     */
    bits = ipaddr_bits(&addr);
    if (prefix >= 0 && addr.family == AF_INET && strchr(buf, ':') != NULL) {
        if (prefix < 96) {
            netblock_err(err, errlen, "bad prefix length (under /96 on a v4-mapped address)",
                         text);
            return -1;
        }
        prefix -= 96;
    }
    if (prefix < 0)
        prefix = (int) bits;
    if ((unsigned) prefix > bits) {
        netblock_err(err, errlen, "bad prefix length", text);
        return -1;
    }

    netblock_mask(&addr, (unsigned) prefix, &nb);
    *out = nb;
    return ipaddr_equal(&nb.addr, &addr) ? 0 : 1;
}

/* netblock_contains - 1 if ip has nb's family and nb's first prefix bits */
int
netblock_contains(const struct netblock *nb, const struct ipaddr *ip)
{
    unsigned bits;
    unsigned prefix;
    unsigned full;

    if (nb == NULL || ip == NULL || nb->addr.family != ip->family)
        return 0;
    if ((bits = ipaddr_bits(ip)) == 0)
        return 0;
    prefix = nb->prefix > bits ? bits : nb->prefix;
    full = prefix / 8;
    if (memcmp(nb->addr.b, ip->b, full) != 0)
        return 0;
    if (prefix % 8 != 0) {
        uint8_t mask = (uint8_t) (0xff << (8 - prefix % 8));

        if (((nb->addr.b[full] ^ ip->b[full]) & mask) != 0)
            return 0;
    }
    return 1;
}

/* netblock_format - "addr/prefix" into buf; "" for a bad family or short buf */
char   *
netblock_format(const struct netblock *nb, char *buf, size_t len)
{
    char    addr[IPADDR_STRLEN];
    int     n;

    if (buf == NULL || len == 0)
        return buf;
    if (nb == NULL || ipaddr_format(&nb->addr, addr, sizeof(addr))[0] == '\0') {
        buf[0] = '\0';
        return buf;
    }
    n = snprintf(buf, len, "%s/%u", addr, nb->prefix);
    if (n < 0 || (size_t) n >= len)
        buf[0] = '\0';
    return buf;
}

/*
 * Sets. Each block is stored as the inclusive range [lo, hi] of the
 * integers its addresses spell. To stay portable C11 (no __int128), a
 * 128-bit value is two uint64_t halves, most significant first; an IPv4
 * address is the same type with hi = 0 and the address in the low 32 bits
 * of lo. IPv4 and IPv6 ranges live in separate arrays, so the two families
 * never meet in a comparison.
 */
struct netset_u128 {
    uint64_t hi;                         /* bits 127..64 */
    uint64_t lo;                         /* bits 63..0 */
};

struct netset_range {
    struct netset_u128 lo;               /* first address of the range */
    struct netset_u128 hi;               /* last address, inclusive */
};

struct netset_list {
    struct netset_range *r;              /* sorted and disjoint once finished */
    size_t  n;                           /* ranges in use */
    size_t  cap;                         /* ranges allocated */
};

struct netset {
    struct netset_list v4;               /* AF_INET ranges */
    struct netset_list v6;               /* AF_INET6 ranges */
    int     finished;                    /* 1 after netset_finish() */
};

/* netset_u128_cmp - -1, 0 or 1 as a is below, equal to or above b */
static int
netset_u128_cmp(const struct netset_u128 *a, const struct netset_u128 *b)
{
    if (a->hi != b->hi)
        return a->hi < b->hi ? -1 : 1;
    if (a->lo != b->lo)
        return a->lo < b->lo ? -1 : 1;
    return 0;
}

/* netset_u128_from - the address as an integer (IPv4 in the low 32 bits) */
static struct netset_u128
netset_u128_from(const struct ipaddr *ip)
{
    struct netset_u128 v = {0, 0};
    int     i;

    if (ip->family == AF_INET) {
        for (i = 0; i < 4; i++)
            v.lo = (v.lo << 8) | ip->b[i];
    } else {
        for (i = 0; i < 8; i++)
            v.hi = (v.hi << 8) | ip->b[i];
        for (i = 8; i < 16; i++)
            v.lo = (v.lo << 8) | ip->b[i];
    }
    return v;
}

/* netset_u128_ones - the value with the low n bits set (n <= 128) */
static struct netset_u128
netset_u128_ones(unsigned n)
{
    struct netset_u128 v = {0, 0};

    /* Shifting a uint64_t by 64 is undefined: handle the whole words apart. */
    if (n >= 128) {
        v.hi = v.lo = UINT64_MAX;
    } else if (n >= 64) {
        v.lo = UINT64_MAX;
        v.hi = n == 64 ? 0 : UINT64_MAX >> (128 - n);
    } else if (n > 0) {
        v.lo = UINT64_MAX >> (64 - n);
    }
    return v;
}

/* netset_list_for - the list holding ranges of ip's family, or NULL */
static struct netset_list *
netset_list_for(struct netset *set, int family)
{
    if (family == AF_INET)
        return &set->v4;
    if (family == AF_INET6)
        return &set->v6;
    return NULL;
}

/* netset_new - an empty, unfinished set */
struct netset *
netset_new(void)
{
    return xcalloc(1, sizeof(struct netset));
}

/*
 * netset_add - append nb as a range; ignores NULLs and unknown families.
 * The range is computed from nb's address and prefix, so host bits left
 * set by a careless caller do no harm. Adding after netset_finish() puts
 * the set back into the unfinished state (see netset_contains).
 */
void
netset_add(struct netset *set, const struct netblock *nb)
{
    struct netset_list *list;
    struct netset_range range;
    struct netset_u128 host;
    unsigned bits;
    unsigned prefix;

    if (set == NULL || nb == NULL)
        return;
    if ((list = netset_list_for(set, nb->addr.family)) == NULL)
        return;
    bits = ipaddr_bits(&nb->addr);
    prefix = nb->prefix > bits ? bits : nb->prefix;
    host = netset_u128_ones(bits - prefix);
    range.lo = netset_u128_from(&nb->addr);
    range.lo.hi &= ~host.hi;
    range.lo.lo &= ~host.lo;
    range.hi.hi = range.lo.hi | host.hi;
    range.hi.lo = range.lo.lo | host.lo;

    if (list->n == list->cap) {
        list->cap = list->cap ? list->cap * 2 : 16;
        list->r = xreallocarray(list->r, list->cap, sizeof(*list->r));
    }
    list->r[list->n++] = range;
    set->finished = 0;
}

/* netset_range_cmp - qsort order: by first address, then by last */
static int
netset_range_cmp(const void *va, const void *vb)
{
    const struct netset_range *a = va;
    const struct netset_range *b = vb;
    int     c = netset_u128_cmp(&a->lo, &b->lo);

    return c != 0 ? c : netset_u128_cmp(&a->hi, &b->hi);
}

/* netset_list_merge - sort the ranges, then fuse overlapping and adjacent ones */
static void
netset_list_merge(struct netset_list *list)
{
    struct netset_range *r = list->r;
    struct netset_u128 next;
    size_t  i;
    size_t  w = 0;

    if (list->n == 0)
        return;
    qsort(r, list->n, sizeof(*r), netset_range_cmp);

    /*
     * After sorting, range i can only touch the last kept range w-1. It
     * touches when it starts at or before that range's end + 1. The + 1
     * wraps only at the all-ones address, and a range ending there already
     * covers everything after it, so the overlap test catches that case.
     */
    for (i = 0; i < list->n; i++) {
        if (w > 0) {
            next = r[w - 1].hi;
            next.lo++;
            if (next.lo == 0)
                next.hi++;
            if (netset_u128_cmp(&r[i].lo, &r[w - 1].hi) <= 0
                || netset_u128_cmp(&r[i].lo, &next) == 0) {
                if (netset_u128_cmp(&r[i].hi, &r[w - 1].hi) > 0)
                    r[w - 1].hi = r[i].hi;
                continue;
            }
        }
        r[w++] = r[i];
    }
    list->n = w;
}

/* netset_finish - sort and merge both families; read-only from here on */
void
netset_finish(struct netset *set)
{
    if (set == NULL)
        return;
    netset_list_merge(&set->v4);
    netset_list_merge(&set->v6);
    set->finished = 1;
}

/*
 * netset_contains - 1 if ip lies in a range of the set. On a finished set
 * this is a binary search: at most log2(n) + 1 steps, no allocation, no
 * lock. An unfinished set is scanned linearly, so the answer is right in
 * either state; only the finished state is fast and safe to share.
 */
int
netset_contains(const struct netset *set, const struct ipaddr *ip)
{
    const struct netset_list *list;
    struct netset_u128 x;
    size_t  lo;
    size_t  hi;
    size_t  mid;

    if (set == NULL || ip == NULL)
        return 0;
    if (ip->family == AF_INET)
        list = &set->v4;
    else if (ip->family == AF_INET6)
        list = &set->v6;
    else
        return 0;
    x = netset_u128_from(ip);

    if (!set->finished) {
        for (lo = 0; lo < list->n; lo++)
            if (netset_u128_cmp(&list->r[lo].lo, &x) <= 0
                && netset_u128_cmp(&x, &list->r[lo].hi) <= 0)
                return 1;
        return 0;
    }

    /* Find the first range starting above x; the one before it may hold x. */
    lo = 0;
    hi = list->n;
    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        if (netset_u128_cmp(&list->r[mid].lo, &x) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo > 0 && netset_u128_cmp(&x, &list->r[lo - 1].hi) <= 0;
}

/* netset_count - merged ranges after finish (ranges added, before it) */
size_t
netset_count(const struct netset *set)
{
    if (set == NULL)
        return 0;
    return set->v4.n + set->v6.n;
}

/* netset_count_family - the merged ranges of one family */
size_t
netset_count_family(const struct netset *set, int family)
{
    if (set == NULL)
        return 0;
    return family == AF_INET ? set->v4.n : family == AF_INET6 ? set->v6.n : 0;
}

/* netset_u128_ctz - trailing zero bits of v; 128 for zero */
static unsigned
netset_u128_ctz(const struct netset_u128 *v)
{
    unsigned n = 0;
    uint64_t w;

    if (v->lo != 0) {
        for (w = v->lo; (w & 1) == 0; w >>= 1)
            n++;
        return n;
    }
    if (v->hi == 0)
        return 128;
    for (w = v->hi; (w & 1) == 0; w >>= 1)
        n++;
    return 64 + n;
}

/* netset_u128_to - the integer back into an address of family */
static void
netset_u128_to(const struct netset_u128 *v, int family, struct ipaddr *ip)
{
    int     i;

    memset(ip, 0, sizeof(*ip));
    ip->family = family;
    if (family == AF_INET) {
        for (i = 0; i < 4; i++)
            ip->b[i] = (uint8_t) (v->lo >> (8 * (3 - i)));
        return;
    }
    for (i = 0; i < 8; i++) {
        ip->b[i] = (uint8_t) (v->hi >> (8 * (7 - i)));
        ip->b[8 + i] = (uint8_t) (v->lo >> (8 * (7 - i)));
    }
}

/*
 * netset_list_blocks - the CIDR blocks of each range of list. A range
 * [lo, hi] is cut greedily: from lo, the largest block that lo is aligned
 * to and that ends at or before hi; then on from the end of that block.
 * This is the shortest cover (at most 2 x bits blocks per range).
 */
static size_t
netset_list_blocks(const struct netset_list *list, int family, unsigned bits,
                   void (*fn)(const struct netblock *, void *), void *arg)
{
    struct netblock nb;
    struct netset_u128 lo, end, ones;
    unsigned k;
    size_t  n = 0;

    for (size_t i = 0; i < list->n; i++) {
        lo = list->r[i].lo;
        for (;;) {
            k = netset_u128_ctz(&lo);
            if (k > bits)
                k = bits;
            for (;;) {
                ones = netset_u128_ones(k);
                end.hi = lo.hi | ones.hi;
                end.lo = lo.lo | ones.lo;
                if (netset_u128_cmp(&end, &list->r[i].hi) <= 0)
                    break;
                k--;
            }
            n++;
            if (fn != NULL) {
                netset_u128_to(&lo, family, &nb.addr);
                nb.prefix = bits - k;
                fn(&nb, arg);
            }
            if (netset_u128_cmp(&end, &list->r[i].hi) == 0)
                break;
            lo = end;
            if (++lo.lo == 0)
                lo.hi++;
        }
    }
    return n;
}

/* netset_blocks - the set as CIDR blocks, IPv4 then IPv6 */
size_t
netset_blocks(const struct netset *set, void (*fn)(const struct netblock *, void *), void *arg)
{
    if (set == NULL)
        return 0;
    return netset_list_blocks(&set->v4, AF_INET, 32, fn, arg)
        + netset_list_blocks(&set->v6, AF_INET6, 128, fn, arg);
}

/* netset_free - release the set and its ranges; NULL is a no-op */
void
netset_free(struct netset *set)
{
    if (set == NULL)
        return;
    free(set->v4.r);
    free(set->v6.r);
    free(set);
}

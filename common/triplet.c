/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * triplet.c - the store keys of a triplet: the one place the format lives.
 *
 *   grey entry:  PREFIX{TAG}gHASH12(sender NUL recipient)
 *   AWL entry:   PREFIX{TAG}aHASH(sender domain)
 *   new-triplet counter of the client key:  PREFIX{TAG}n
 *   greytrap of the client key:             PREFIX{TAG}t
 *   outbound pair:  PREFIX{o:HASH(sender NUL recipient)}o
 *
 * The outbound pair is written when a local user sends, before any client
 * that may use it is known, so its tag is its own hash: on one Redis
 * server the decision script reads it all the same; on a Redis Cluster it
 * lives in another slot (store_redis.c reads it with one more GET).
 *
 * TAG is the client key in compact form: a netblock is '4' or '6' and the
 * base64url of its network bytes (203.0.113.0/24 -> "4ywBx"), anything
 * else (spf:example.org) is kept as it is. Compactness is the point: Redis
 * spends its memory per key on the key string, and a 23-byte key fits
 * jemalloc's 32-byte class where the textual "203.0.113.0/24" would not.
 * The prefix length is not in the tag: two netmasks whose network bytes
 * coincide (x.y.z.0/25 and /26) share entries, which only matters while a
 * cluster changes netmask_v4, and then only merges neighbours.
 *
 * HASH is 96 bits -- 64 from one SipHash-2-4 run and 32 from a second run
 * under another fixed key -- written as 16 base64url characters, so every
 * key is short and bounded whatever the addresses. The NUL between sender
 * and recipient cannot occur in either, so no two pairs hash the same input.
 *
 * The grey entry's HASH12 is shorter: the first 12 of those characters, 72
 * bits (the first run and the low 8 bits of the second). It is the key
 * Redis holds millions of, and Redis 7 keeps a key of up to 30 bytes in
 * jemalloc's 32-byte class, one of 31-44 in the 48-byte class: with 16
 * characters an IPv6 /64 key ("rg:{" 4 + tag 12 + "}g" 2 + 16) is 34 bytes
 * and costs 132 bytes a triplet against 117 for IPv4; with 12 it is 30.
 * 72 bits are enough: to gain anything from a collision, an attacker needs
 * a pair that hashes like one that already passed from the same client
 * key, a second preimage of 2^72 work; a birthday collision between two
 * pairs he chooses himself gains him nothing, since he could simply retry
 * the first one. The AWL and outbound keys keep 16 characters: there are
 * few of them, and entries written before the change stay valid. Grey
 * entries written with 16 characters are not found any more: those
 * triplets are greylisted once again (NEWS, redgrey.conf(5)).
 *
 * The tag sits alone inside the braces: it is the Redis Cluster hash
 * tag, so a decision's two keys always share one slot. Keys are built into
 * the caller's buffer; nothing is allocated.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "netblock.h"
#include "siphash.h"
#include "triplet.h"

static const char triplet_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* triplet_b64_encode - n bytes as unpadded base64url into out; returns length */
static size_t
triplet_b64_encode(const uint8_t *in, size_t n, char *out)
{
    size_t  o = 0;

    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t) in[i] << 16;
        size_t  left = n - i;

        if (left > 1)
            v |= (uint32_t) in[i + 1] << 8;
        if (left > 2)
            v |= in[i + 2];
        out[o++] = triplet_b64[(v >> 18) & 63];
        out[o++] = triplet_b64[(v >> 12) & 63];
        if (left > 1)
            out[o++] = triplet_b64[(v >> 6) & 63];
        if (left > 2)
            out[o++] = triplet_b64[v & 63];
    }
    return o;
}

/* Two fixed, distinct SipHash keys, "triplet-hash-k-1" and "-2": not secrets. */
static const uint8_t triplet_key1[16] = {
    0x74, 0x72, 0x69, 0x70, 0x6c, 0x65, 0x74, 0x2d,
    0x68, 0x61, 0x73, 0x68, 0x2d, 0x6b, 0x2d, 0x31,
};
static const uint8_t triplet_key2[16] = {
    0x74, 0x72, 0x69, 0x70, 0x6c, 0x65, 0x74, 0x2d,
    0x68, 0x61, 0x73, 0x68, 0x2d, 0x6b, 0x2d, 0x32,
};

#define TRIPLET_HASH_LEN 16              /* base64url characters of 96 bits */
#define TRIPLET_GREY_HASH_LEN 12         /* the grey entry's: 72 bits, see the top */

/*
 * triplet_hash - 96-bit digest of data[0..len) as 16 base64url characters
 * (no NUL). The 12 bytes are the first run little-endian, then the low 32
 * bits of the second, so the text is the same on every platform; each
 * 3 bytes are 4 characters, so the first 12 characters are the first 9
 * bytes, the grey entry's 72 bits.
 */
static void
triplet_hash(const void *data, size_t len, char out[TRIPLET_HASH_LEN])
{
    uint64_t h1 = siphash24(triplet_key1, data, len);
    uint64_t h2 = siphash24(triplet_key2, data, len);
    uint8_t bytes[12];

    for (int i = 0; i < 8; i++)
        bytes[i] = (uint8_t) (h1 >> (8 * i));
    for (int i = 0; i < 4; i++)
        bytes[8 + i] = (uint8_t) (h2 >> (8 * i));

    /* 12 bytes are four 3-byte groups, four characters each: no padding. */
    triplet_b64_encode(bytes, sizeof(bytes), out);
}

/* triplet_client_tag - the compact hash tag of a client key; see the top */
size_t
triplet_client_tag(const char *client_key, char *buf, size_t len)
{
    struct netblock nb;
    char    tag[TRIPLET_CLIENTKEY_MAX + 1];
    size_t  n;

    if (client_key == NULL)
        return 0;
    n = strnlen(client_key, TRIPLET_CLIENTKEY_MAX + 1);
    if (n == 0 || n > TRIPLET_CLIENTKEY_MAX || strpbrk(client_key, "{}") != NULL)
        return 0;
    if (strchr(client_key, '/') != NULL && netblock_parse(client_key, &nb, NULL, 0) >= 0) {
        tag[0] = nb.addr.family == AF_INET ? '4' : '6';
        n = 1 + triplet_b64_encode(nb.addr.b, (nb.prefix + 7) / 8, tag + 1);
    } else {
        memcpy(tag, client_key, n);
    }
    if (buf == NULL || n + 1 > len)
        return 0;
    memcpy(buf, tag, n);
    buf[n] = 0;
    return n;
}

/*
 * triplet_key_raw - PREFIX{TAG}TYPE and a hash of hlen characters (0:
 * none); client_key is made a tag, or is one already (client_tag 1)
 */
static size_t
triplet_key_raw(const char *prefix, const char *client_key, int client_tag, char type,
                const char *hash, size_t hlen, char *buf, size_t len)
{
    char    tag[TRIPLET_CLIENTKEY_MAX + 1];
    size_t  plen, clen, klen;

    if (prefix == NULL)
        prefix = "";
    plen = strnlen(prefix, TRIPLET_PREFIX_MAX + 1);
    if (plen > TRIPLET_PREFIX_MAX || strpbrk(prefix, "{}") != NULL)
        return 0;
    if (client_tag) {
        clen = strlen(client_key);
        memcpy(tag, client_key, clen + 1);
    } else if ((clen = triplet_client_tag(client_key, tag, sizeof(tag))) == 0)
        return 0;

    klen = plen + 1 + clen + 1 + 1 + hlen;
    if (buf == NULL || klen + 1 > len)
        return 0;
    memcpy(buf, prefix, plen);
    buf[plen] = '{';
    memcpy(buf + plen + 1, tag, clen);
    buf[plen + 1 + clen] = '}';
    buf[plen + 2 + clen] = type;
    memcpy(buf + plen + 3 + clen, hash, hlen);
    buf[klen] = 0;
    return klen;
}

/* triplet_key_n - PREFIX{TAG}TYPE and a hash of hlen characters */
static size_t
triplet_key_n(const char *prefix, const char *client_key, char type, const char *hash,
              size_t hlen, char *buf, size_t len)
{
    return triplet_key_raw(prefix, client_key, 0, type, hash, hlen, buf, len);
}

/*
 * triplet_key - write PREFIX{TAG}TYPEHASH into buf. Returns the
 * length, or 0 when the parts are invalid (prefix over TRIPLET_PREFIX_MAX
 * or holding a brace, client key empty, unterminated or holding a brace,
 * which would move the hash tag) or the key does not fit len with its NUL.
 */
static size_t
triplet_key(const char *prefix, const char *client_key, char type,
            const char hash[TRIPLET_HASH_LEN], char *buf, size_t len)
{
    return triplet_key_n(prefix, client_key, type, hash, TRIPLET_HASH_LEN, buf, len);
}

/*
 * triplet_pair_hash - the hash of (sender NUL rcpt) into hash; 0, or -1
 * if either is unterminated (not normalised)
 */
static int
triplet_pair_hash(const struct triplet *t, char hash[TRIPLET_HASH_LEN])
{
    char    in[sizeof(t->sender) + sizeof(t->rcpt)];
    size_t  slen, rlen;

    slen = strnlen(t->sender, sizeof(t->sender));
    rlen = strnlen(t->rcpt, sizeof(t->rcpt));
    if (slen == sizeof(t->sender) || rlen == sizeof(t->rcpt))
        return -1;

    /* sender NUL rcpt: the NUL cannot occur in either, so pairs stay distinct. */
    memcpy(in, t->sender, slen);
    in[slen] = 0;
    memcpy(in + slen + 1, t->rcpt, rlen);
    triplet_hash(in, slen + 1 + rlen, hash);
    return 0;
}

/*
 * triplet_grey_key - the grey entry key of (client key, sender, recipient):
 * the pair's hash cut to its first TRIPLET_GREY_HASH_LEN characters
 */
size_t
triplet_grey_key(const char *prefix, const struct triplet *t, char *buf, size_t len)
{
    char    hash[TRIPLET_HASH_LEN];

    if (t == NULL || triplet_pair_hash(t, hash) < 0)
        return 0;
    return triplet_key_n(prefix, t->client_key, 'g', hash, TRIPLET_GREY_HASH_LEN, buf, len);
}

/* triplet_awl_key - the AWL key of (client key, sender domain) */
size_t
triplet_awl_key(const char *prefix, const struct triplet *t, char *buf, size_t len)
{
    char    hash[TRIPLET_HASH_LEN];
    const char *domain;

    if (t == NULL || strnlen(t->sender, sizeof(t->sender)) == sizeof(t->sender))
        return 0;
    domain = mailaddr_domain(t->sender);
    triplet_hash(domain, strlen(domain), hash);
    return triplet_key(prefix, t->client_key, 'a', hash, buf, len);
}

/* triplet_rate_key - the new-triplet counter key of t's client key */
size_t
triplet_rate_key(const char *prefix, const struct triplet *t, char *buf, size_t len)
{
    return t != NULL ? triplet_key_n(prefix, t->client_key, 'n', "", 0, buf, len) : 0;
}

/* triplet_trap_key - the greytrap key of t's client key */
size_t
triplet_trap_key(const char *prefix, const struct triplet *t, char *buf, size_t len)
{
    return t != NULL ? triplet_key_n(prefix, t->client_key, 't', "", 0, buf, len) : 0;
}

/* triplet_outbound_key - the outbound pair key of (t->sender, t->rcpt) */
size_t
triplet_outbound_key(const char *prefix, const struct triplet *t, char *buf, size_t len)
{
    char    tag[2 + TRIPLET_HASH_LEN + 1] = "o:";

    if (t == NULL || triplet_pair_hash(t, tag + 2) < 0)
        return 0;
    tag[2 + TRIPLET_HASH_LEN] = 0;
    return triplet_key_raw(prefix, tag, 1, 'o', "", 0, buf, len);
}

/* triplet_b64_value - the 6-bit value of base64url character c, or -1 */
static int
triplet_b64_value(char c)
{
    const char *p = c != 0 ? strchr(triplet_b64, c) : NULL;

    return p != NULL ? (int) (p - triplet_b64) : -1;
}

/* triplet_key_client - the client key of a grey or AWL key; see triplet.h */
size_t
triplet_key_client(const char *prefix, const char *key, size_t keylen, unsigned netmask_v4,
                   unsigned netmask_v6, char *type, char *buf, size_t len)
{
    size_t  plen = prefix != NULL ? strlen(prefix) : 0;
    const char *tag, *close;
    size_t  taglen, nbytes = 0;
    struct netblock nb;
    uint32_t acc = 0;
    int     bits = 0;

    if (keylen < plen + 3 || memcmp(key, prefix, plen) != 0 || key[plen] != '{'
        || (close = memchr(key + plen + 1, '}', keylen - plen - 1)) == NULL
        || close + 1 >= key + keylen)
        return 0;
    tag = key + plen + 1;
    taglen = (size_t) (close - tag);
    *type = close[1];
    if (taglen == 0 || taglen >= len)
        return 0;
    if (tag[0] != '4' && tag[0] != '6') {
        memcpy(buf, tag, taglen);        /* spf:domain, kept as is */
        buf[taglen] = 0;
        return taglen;
    }
    /* '4' or '6', then the network bytes in base64url: decode, mask, format. */
    memset(&nb, 0, sizeof(nb));
    nb.addr.family = tag[0] == '4' ? AF_INET : AF_INET6;
    for (size_t i = 1; i < taglen; i++) {
        int     v = triplet_b64_value(tag[i]);

        if (v < 0)
            return 0;
        acc = (acc << 6) | (uint32_t) v;
        if ((bits += 6) >= 8) {
            bits -= 8;
            if (nbytes == (nb.addr.family == AF_INET ? 4u : 16u))
                return 0;
            nb.addr.b[nbytes++] = (uint8_t) (acc >> bits);
        }
    }
    netblock_mask(&nb.addr, nb.addr.family == AF_INET ? netmask_v4 : netmask_v6, &nb);
    if (netblock_format(&nb, buf, len) == NULL)
        return 0;
    return strlen(buf);
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * siphash.c - SipHash-2-4, written from the specification.
 *
 * The state is four 64-bit words seeded from the key; each 8-byte message
 * word goes through two SipRounds, the last word carries the message length
 * in its top byte, and four more rounds finalise. Words are assembled
 * byte by byte (little-endian), so there are no unaligned loads and the
 * value does not depend on the host's byte order.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>

#include "siphash.h"

#define SIPHASH_ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

/* siphash_load64 - read 8 bytes as a little-endian word */
static uint64_t
siphash_load64(const uint8_t *p)
{
    uint64_t w = 0;

    for (int i = 7; i >= 0; i--)
        w = (w << 8) | p[i];
    return w;
}

/* siphash_round - one SipRound over the state */
static void
siphash_round(uint64_t v[4])
{
    v[0] += v[1];
    v[1] = SIPHASH_ROTL(v[1], 13);
    v[1] ^= v[0];
    v[0] = SIPHASH_ROTL(v[0], 32);
    v[2] += v[3];
    v[3] = SIPHASH_ROTL(v[3], 16);
    v[3] ^= v[2];
    v[0] += v[3];
    v[3] = SIPHASH_ROTL(v[3], 21);
    v[3] ^= v[0];
    v[2] += v[1];
    v[1] = SIPHASH_ROTL(v[1], 17);
    v[1] ^= v[2];
    v[2] = SIPHASH_ROTL(v[2], 32);
}

/* siphash24 - SipHash-2-4 of data[0..len) under key */
uint64_t
siphash24(const uint8_t key[16], const void *data, size_t len)
{
    const uint8_t *in = data;
    uint64_t k0 = siphash_load64(key);
    uint64_t k1 = siphash_load64(key + 8);
    uint64_t v[4];
    uint64_t m;
    size_t  full = len - len % 8;
    size_t  i;

    /* The constants are "somepseudorandomlygeneratedbytes" in ASCII. */
    v[0] = k0 ^ UINT64_C(0x736f6d6570736575);
    v[1] = k1 ^ UINT64_C(0x646f72616e646f6d);
    v[2] = k0 ^ UINT64_C(0x6c7967656e657261);
    v[3] = k1 ^ UINT64_C(0x7465646279746573);

    for (i = 0; i < full; i += 8) {
        m = siphash_load64(in + i);
        v[3] ^= m;
        siphash_round(v);
        siphash_round(v);
        v[0] ^= m;
    }

    /*
     * The last word: the 0-7 remaining bytes, zero padded, with the low
     * byte of the total length on top. A message whose length is a
     * multiple of 8 still gets this word (length byte only).
     */
    m = (uint64_t) (len & 0xff) << 56;
    for (size_t j = 0; i + j < len; j++)
        m |= (uint64_t) in[i + j] << (8 * j);
    v[3] ^= m;
    siphash_round(v);
    siphash_round(v);
    v[0] ^= m;

    v[2] ^= 0xff;
    for (int r = 0; r < 4; r++)
        siphash_round(v);
    return v[0] ^ v[1] ^ v[2] ^ v[3];
}

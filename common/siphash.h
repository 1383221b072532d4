/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * siphash.h - SipHash-2-4, a keyed 64-bit hash (Aumasson and Bernstein).
 *
 * Used where redgrey needs short, stable digests of untrusted bytes: junk
 * addresses and the store keys of triplets. With a fixed key it is a good
 * spreading hash, not a secret; nothing here relies on the key being
 * unknown to senders.
 *
 * Thread-safety: pure, any thread. No allocation.
 */
#ifndef REDGREY_SIPHASH_H
#define REDGREY_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

/*
 * siphash24 - the SipHash-2-4 value of data[0..len) under the 16-byte key,
 * with key and message words read little-endian as in the specification,
 * so the result is the same on every platform. data may be NULL if len is 0.
 */
uint64_t siphash24(const uint8_t key[16], const void *data, size_t len);

#endif

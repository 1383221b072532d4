/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * triplet.h - the greylisting triplet and its store keys.
 *
 * A triplet is (client key, sender, recipient), all already normalised.
 * The client key is the masked netblock ("203.0.113.0/24") or, for mail
 * that passed SPF, "spf:example.com". This is the ONLY module that knows
 * the triplet key format, shared by every backend (the only other keys, of
 * the named blobs, are store_blob_key's in store.h):
 *
 *   grey entry:  PREFIX{TAG}gHASH12(sender, recipient)
 *   AWL entry:   PREFIX{TAG}aHASH(sender domain)
 *   new-triplet counter:  PREFIX{TAG}n    greytrap:  PREFIX{TAG}t
 *   outbound pair:        PREFIX{o:HASH(sender, recipient)}o  (its own tag)
 *
 * TAG is the client key in compact form (203.0.113.0/24 -> "4ywBx", see
 * triplet_client_tag) and is the Redis Cluster hash tag, so both keys of
 * one decision live in one slot. Sender and recipient are hashed (SipHash-2-4,
 * 96 bits, 16 base64url characters; HASH12, the grey entry's, is the first
 * 12 of them, 72 bits, so that an IPv6 /64 grey key with the default prefix
 * fits in 30 bytes, see triplet.c): keys stay short and bounded whatever
 * the addresses, and the store holds no plain addresses.
 *
 * Thread-safety: pure functions, any thread. No allocation.
 */
#ifndef REDGREY_TRIPLET_H
#define REDGREY_TRIPLET_H

#include <stddef.h>

#include "mailaddr.h"

#define TRIPLET_CLIENTKEY_MAX 263        /* "spf:" + 255-byte domain + NUL */
#define TRIPLET_PREFIX_MAX    64
#define TRIPLET_KEY_MAX       (TRIPLET_PREFIX_MAX + TRIPLET_CLIENTKEY_MAX + 24)

struct triplet {
    char    client_key[TRIPLET_CLIENTKEY_MAX + 1]; /* netblock or spf:domain */
    char    sender[MAILADDR_MAX + 1];    /* normalised; "" for <> */
    char    rcpt[MAILADDR_MAX + 1];      /* normalised */
};

/*
 * triplet_grey_key - write the grey entry key into buf (TRIPLET_KEY_MAX
 * bytes); returns its length (no NUL counted), or 0 if it does not fit.
 */
size_t  triplet_grey_key(const char *prefix, const struct triplet *t, char *buf, size_t len);

/*
 * triplet_client_tag - the compact form of a client key: a netblock
 * "a.b.c.d/n" or "x::/n" becomes '4' or '6' and the base64url of its
 * ceil(n/8) network bytes; any other key (spf:domain) is kept. Returns its
 * length, or 0 if the key is empty, holds a brace, or does not fit len.
 */
size_t  triplet_client_tag(const char *client_key, char *buf, size_t len);

/* triplet_awl_key - the AWL key of (client key, sender domain); as above */
size_t  triplet_awl_key(const char *prefix, const struct triplet *t, char *buf, size_t len);

/* triplet_rate_key - the new-triplet counter key of t's client key; as above */
size_t  triplet_rate_key(const char *prefix, const struct triplet *t, char *buf, size_t len);

/* triplet_trap_key - the greytrap key of t's client key; as above */
size_t  triplet_trap_key(const char *prefix, const struct triplet *t, char *buf, size_t len);

/*
 * triplet_outbound_key - the key of the outbound pair (t->sender,
 * t->rcpt), the client key unused: recorded with the local user's remote
 * correspondent as sender and the local user as rcpt, it is the key the
 * correspondent's reply looks up. As above.
 */
size_t  triplet_outbound_key(const char *prefix, const struct triplet *t, char *buf, size_t len);

/*
 * triplet_key_client - the client key a grey or AWL key under prefix
 * was made from, into buf: "spf:domain" as is, a netblock from the
 * network bytes of its tag with the prefix length netmask_v4 or
 * netmask_v6 (the tag keeps whole bytes only: give the configured
 * ones). *type receives the key's type ('g' grey, 'a' AWL). Returns the
 * length, or 0 if key is not such a key or buf is too small.
 */
size_t  triplet_key_client(const char *prefix, const char *key, size_t keylen,
                           unsigned netmask_v4, unsigned netmask_v6, char *type,
                           char *buf, size_t len);

#endif

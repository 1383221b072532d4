/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ipaddr.h - one representation for IPv4 and IPv6 client addresses.
 *
 * An address is a family and 16 bytes in network order; IPv4 uses the
 * first 4 bytes. IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are turned
 * into plain IPv4 on the way in, so that a client is the same client
 * whichever socket family the MTA saw it on.
 *
 * Thread-safety: pure functions, any thread.
 */
#ifndef REDGREY_IPADDR_H
#define REDGREY_IPADDR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define IPADDR_STRLEN 46                 /* INET6_ADDRSTRLEN */

struct ipaddr {
    int     family;                      /* AF_INET or AF_INET6 */
    uint8_t b[16];                       /* network order; v4 in b[0..3] */
};

/*
 * ipaddr_parse - parse "192.0.2.1", "2001:db8::1", "::ffff:192.0.2.1" or
 * Postfix's "IPv6:2001:db8::1"; also "[...]" brackets. Returns 0, or -1 on
 * anything else (including a NULL or empty string).
 */
int     ipaddr_parse(const char *text, struct ipaddr *out);

/*
 * ipaddr_from_sockaddr - take the address of an AF_INET/AF_INET6 sockaddr.
 * Returns 0, or -1 for NULL or any other family (unix sockets).
 */
int     ipaddr_from_sockaddr(const struct sockaddr *sa, struct ipaddr *out);

/* ipaddr_format - canonical text (inet_ntop) into buf; returns buf */
char   *ipaddr_format(const struct ipaddr *ip, char *buf, size_t len);

/* ipaddr_bits - 32 for IPv4, 128 for IPv6 */
unsigned ipaddr_bits(const struct ipaddr *ip);

/* ipaddr_equal - same family and bytes */
int     ipaddr_equal(const struct ipaddr *a, const struct ipaddr *b);

#endif

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * store_redis_addr.h - where a Redis server is, as text
 * (store_redis_addr.c), for store_redis_conn.c: whether a host is a
 * numeric address, a host name looked up to one, and HOST:PORT for the
 * log.
 *
 * Thread-safety: any thread; store_redis_addr_resolve blocks in
 * getaddrinfo() for as long as the resolver takes (no deadline), so it is
 * for the probing and watching threads, never for a decision.
 */
#ifndef REDGREY_STORE_REDIS_ADDR_H
#define REDGREY_STORE_REDIS_ADDR_H

#include <stddef.h>

/* store_redis_addr_numeric - 1 if host is an IPv4 or IPv6 address, so never looked up */
int     store_redis_addr_numeric(const char *host);

/*
 * store_redis_addr_resolve - host as a numeric address into
 * addr[addrlen], IPv4 preferred when the name has both, as hiredis itself
 * does. 0, or -1 with err starting with name.
 */
int     store_redis_addr_resolve(const char *name, const char *host, char *addr,
                                 size_t addrlen, char *err, size_t errlen);

/* store_redis_addr_format - addr and port as HOST:PORT, or [IPv6]:PORT, in buf; buf */
const char *store_redis_addr_format(const char *addr, int port, char *buf, size_t len);

#endif

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * store_redis_addr.c - where a Redis server is, as text: numeric or not,
 * a host name looked up (the URL's host, or a name a sentinel gave), and
 * HOST:PORT for the log. No state.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "store_redis_addr.h"

/* store_redis_addr_numeric - inet_pton says it is an IPv4 or IPv6 address */
int
store_redis_addr_numeric(const char *host)
{
    unsigned char buf[sizeof(struct in6_addr)];

    return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

/* store_redis_addr_resolve - getaddrinfo, the first IPv4 address, else the first IPv6 */
int
store_redis_addr_resolve(const char *name, const char *host, char *addr, size_t addrlen,
                         char *err, size_t errlen)
{
    struct addrinfo hints, *res = NULL, *pick = NULL;
    int     rc;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if ((rc = getaddrinfo(host, NULL, &hints, &res)) != 0) {
        snprintf(err, errlen, "%s: cannot resolve %s: %s", name, host,
                 rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
        return -1;
    }
    for (struct addrinfo *ai = res; ai != NULL && pick == NULL; ai = ai->ai_next)
        if (ai->ai_family == AF_INET)
            pick = ai;
    for (struct addrinfo *ai = res; ai != NULL && pick == NULL; ai = ai->ai_next)
        if (ai->ai_family == AF_INET6)
            pick = ai;
    rc = pick == NULL ? EAI_FAMILY
        : getnameinfo(pick->ai_addr, pick->ai_addrlen, addr, (socklen_t) addrlen,
                      NULL, 0, NI_NUMERICHOST);
    freeaddrinfo(res);
    if (rc != 0) {
        snprintf(err, errlen, "%s: no usable address for %s: %s", name, host,
                 gai_strerror(rc));
        return -1;
    }
    return 0;
}

/* store_redis_addr_format - brackets around an IPv6 address */
const char *
store_redis_addr_format(const char *addr, int port, char *buf, size_t len)
{
    snprintf(buf, len, strchr(addr, ':') != NULL ? "[%s]:%d" : "%s:%d", addr, port);
    return buf;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ipaddr.c - client addresses from text and from sockets, in one shape.
 *
 * Every way an address reaches us (a milter sockaddr, Postfix's macros,
 * a whitelist line) ends in the same struct ipaddr, with IPv4-mapped IPv6
 * folded into IPv4 and all unused bytes zero, so that two addresses can be
 * compared byte for byte. Parsing is inet_pton's strict grammar only: no
 * zone ids, no shorthand like "10.1", no surrounding space.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stddef.h>
#include <string.h>

#include "ascii.h"
#include "ipaddr.h"

/*
 * The longest text we accept: "[IPv6:" + the longest IPv6 form
 * ("ffff:...:255.255.255.255", 45 chars) + "]" is 52; 64 leaves room
 * and bounds how far we ever read into a hostile string.
 */
#define IPADDR_TEXT_MAX 64

#define IPV6_PREFIX     "IPv6:"
#define IPV6_PREFIX_LEN (sizeof(IPV6_PREFIX) - 1)

static const uint8_t ipaddr_v4mapped[12] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff,
};

/* ipaddr_set_v6 - store 16 bytes, folding ::ffff:a.b.c.d into IPv4 */
static void
ipaddr_set_v6(struct ipaddr *out, const uint8_t b[16])
{
    memset(out, 0, sizeof(*out));
    if (memcmp(b, ipaddr_v4mapped, sizeof(ipaddr_v4mapped)) == 0) {
        out->family = AF_INET;
        memcpy(out->b, b + 12, 4);
    } else {
        out->family = AF_INET6;
        memcpy(out->b, b, 16);
    }
}

/* ipaddr_parse - text to address; 0, or -1 with *out untouched */
int
ipaddr_parse(const char *text, struct ipaddr *out)
{
    char    buf[IPADDR_TEXT_MAX + 1];
    char   *p;
    size_t  len;
    int     v6_only = 0;
    uint8_t b[16];

    if (text == NULL || out == NULL)
        return -1;

    /*
     * strnlen stops at the bound, so a long or unterminated-looking input
     * is never read past IPADDR_TEXT_MAX + 1 bytes.
     */
    len = strnlen(text, IPADDR_TEXT_MAX + 1);
    if (len == 0 || len > IPADDR_TEXT_MAX)
        return -1;
    memcpy(buf, text, len);
    buf[len] = '\0';
    p = buf;

    /* "[...]": an SMTP address literal, or Postfix's bracketed form. */
    if (p[0] == '[') {
        if (len < 2 || p[len - 1] != ']')
            return -1;
        p[len - 1] = '\0';
        p++;
    }

    /* "IPv6:" marks an IPv6 literal (RFC 5321); the rest must be IPv6. */
    if (ascii_ncasecmp(p, IPV6_PREFIX, IPV6_PREFIX_LEN) == 0) {
        p += IPV6_PREFIX_LEN;
        v6_only = 1;
    }

    if (!v6_only && inet_pton(AF_INET, p, b) == 1) {
        memset(out, 0, sizeof(*out));
        out->family = AF_INET;
        memcpy(out->b, b, 4);
        return 0;
    }
    if (inet_pton(AF_INET6, p, b) == 1) {
        ipaddr_set_v6(out, b);
        return 0;
    }
    return -1;
}

/* ipaddr_from_sockaddr - address of an AF_INET/AF_INET6 peer; else -1 */
int
ipaddr_from_sockaddr(const struct sockaddr *sa, struct ipaddr *out)
{
    uint8_t b[16];

    if (sa == NULL || out == NULL)
        return -1;

    /*
     * memcpy from the member offsets rather than casting, so that a
     * sockaddr buffer of any alignment is read safely.
     */
    switch (sa->sa_family) {
    case AF_INET:
        memset(out, 0, sizeof(*out));
        out->family = AF_INET;
        memcpy(out->b, (const char *) sa + offsetof(struct sockaddr_in, sin_addr), 4);
        return 0;
    case AF_INET6:
        memcpy(b, (const char *) sa + offsetof(struct sockaddr_in6, sin6_addr), 16);
        ipaddr_set_v6(out, b);
        return 0;
    default:
        return -1;
    }
}

/* ipaddr_format - inet_ntop text into buf; "" for a bad family or short buf */
char   *
ipaddr_format(const struct ipaddr *ip, char *buf, size_t len)
{
    socklen_t n;

    if (buf == NULL || len == 0)
        return buf;
    /* inet_ntop never needs more than IPADDR_STRLEN; cap before the cast. */
    n = (socklen_t) (len > IPADDR_STRLEN ? IPADDR_STRLEN : len);
    if (ip == NULL || (ip->family != AF_INET && ip->family != AF_INET6)
        || inet_ntop(ip->family, ip->b, buf, n) == NULL)
        buf[0] = '\0';
    return buf;
}

/* ipaddr_bits - 32 for IPv4, 128 for IPv6, 0 for anything else */
unsigned
ipaddr_bits(const struct ipaddr *ip)
{
    if (ip == NULL)
        return 0;
    switch (ip->family) {
    case AF_INET:
        return 32;
    case AF_INET6:
        return 128;
    default:
        return 0;
    }
}

/* ipaddr_equal - same family and the same address bytes */
int
ipaddr_equal(const struct ipaddr *a, const struct ipaddr *b)
{
    if (a->family != b->family)
        return 0;
    return memcmp(a->b, b->b, ipaddr_bits(a) / 8) == 0;
}

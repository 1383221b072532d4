/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * miltc.c - the MTA side of the milter protocol, for tests and benchmarks.
 *
 * A packet is a 4-byte big-endian length, a command byte and its data.
 * Outgoing packets are built in c->out and written with one send();
 * incoming bytes are read into c->in as they come (several packets may
 * arrive in one read, e.g. a header addition and the final answer at
 * end of message) and parsed in place. Sockets are non-blocking and every
 * wait goes through poll() with the client's timeout, so a hung filter
 * costs at most that long per step.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libmilter/mfdef.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "miltc.h"

/* miltc_fail - record an error; returns MILTC_ERROR */
static int __attribute__((format(printf, 2, 3)))
miltc_fail(struct miltc *c, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(c->err, sizeof(c->err), fmt, ap);
    va_end(ap);
    return MILTC_ERROR;
}

/* miltc_init - an unconnected client */
void
miltc_init(struct miltc *c)
{
    c->fd = -1;
    c->timeout_ms = 5000;
    c->version = c->actions = c->protocol = 0;
    memset(c->macros, 0, sizeof(c->macros));
    c->reply[0] = '\0';
    c->nheaders = c->nmods = 0;
    c->err[0] = '\0';
    c->in_start = c->in_end = 0;
}

/* miltc_wait - poll fd for events within the timeout; 0 or MILTC_ERROR */
static int
miltc_wait(struct miltc *c, short events, const char *what)
{
    struct pollfd pfd = {c->fd, events, 0};
    int     n;

    while ((n = poll(&pfd, 1, c->timeout_ms)) < 0 && errno == EINTR)
        continue;
    if (n == 0)
        return miltc_fail(c, "%s: timed out after %d ms", what, c->timeout_ms);
    if (n < 0)
        return miltc_fail(c, "%s: poll: %s", what, strerror(errno));
    return 0;
}

/*
 * miltc_parse_spec - fill ss from a socket spec. Returns the address
 * length, or 0 with an error.
 */
static socklen_t
miltc_parse_spec(struct miltc *c, const char *spec, struct sockaddr_storage *ss)
{
    char    host[256];
    const char *port;
    const char *at;
    const char *rest;
    size_t  hlen;
    int     v6 = 0;
    long    pnum;
    char   *end;

    memset(ss, 0, sizeof(*ss));
    if (strncmp(spec, "unix:", 5) == 0 || strncmp(spec, "local:", 6) == 0) {
        struct sockaddr_un *sun = (struct sockaddr_un *) ss;
        const char *path = strchr(spec, ':') + 1;

        if (strlen(path) == 0 || strlen(path) >= sizeof(sun->sun_path)) {
            miltc_fail(c, "%s: bad unix socket path", spec);
            return 0;
        }
        sun->sun_family = AF_UNIX;
        strcpy(sun->sun_path, path);
        return (socklen_t) sizeof(*sun);
    }
    if (strncmp(spec, "inet6:", 6) == 0) {
        v6 = 1;
        rest = spec + 6;
    } else if (strncmp(spec, "inet:", 5) == 0) {
        rest = spec + 5;
    } else {
        miltc_fail(c, "%s: want inet:PORT@HOST, inet6:PORT@HOST or unix:PATH", spec);
        return 0;
    }

    /* libmilter's PORT@HOST, or Postfix's HOST:PORT (last colon). */
    if ((at = strchr(rest, '@')) != NULL) {
        port = rest;
        hlen = strlen(at + 1);
        if (hlen >= sizeof(host))
            hlen = sizeof(host) - 1;
        memcpy(host, at + 1, hlen);
    } else if ((port = strrchr(rest, ':')) != NULL) {
        hlen = (size_t) (port - rest);
        if (hlen >= sizeof(host))
            hlen = sizeof(host) - 1;
        memcpy(host, rest, hlen);
        port++;
    } else {
        port = rest;
        hlen = 0;
    }
    host[hlen] = '\0';
    if (hlen >= 2 && host[0] == '[' && host[hlen - 1] == ']') {
        memmove(host, host + 1, hlen - 2);
        host[hlen - 2] = '\0';
    }
    if (host[0] == '\0')
        strcpy(host, v6 ? "::1" : "127.0.0.1");
    pnum = strtol(port, &end, 10);
    if (end == port || (*end != '\0' && *end != '@') || pnum <= 0 || pnum > 65535) {
        miltc_fail(c, "%s: bad port", spec);
        return 0;
    }
    /* Literal addresses never go near the resolver; a bad one is an error. */
    if (strchr(host, ':') != NULL) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *) ss;

        if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1) {
            miltc_fail(c, "%s: bad IPv6 address", spec);
            return 0;
        }
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t) pnum);
        return (socklen_t) sizeof(*s6);
    }
    if (!v6) {
        struct sockaddr_in *s4 = (struct sockaddr_in *) ss;

        if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
            s4->sin_family = AF_INET;
            s4->sin_port = htons((uint16_t) pnum);
            return (socklen_t) sizeof(*s4);
        }
    }

    /* A host name: resolved once per connection, never per step. */
    {
        struct addrinfo hints, *res;
        socklen_t len;
        int     rc;

        memset(&hints, 0, sizeof(hints));
        hints.ai_family = v6 ? AF_INET6 : AF_INET;
        hints.ai_socktype = SOCK_STREAM;
        if ((rc = getaddrinfo(host, NULL, &hints, &res)) != 0) {
            miltc_fail(c, "%s: %s", host, gai_strerror(rc));
            return 0;
        }
        len = res->ai_addrlen;
        memcpy(ss, res->ai_addr, len);
        freeaddrinfo(res);
        if (ss->ss_family == AF_INET6)
            ((struct sockaddr_in6 *) ss)->sin6_port = htons((uint16_t) pnum);
        else
            ((struct sockaddr_in *) ss)->sin_port = htons((uint16_t) pnum);
        return len;
    }
}

/* miltc_open - connect within the timeout */
int
miltc_open(struct miltc *c, const char *spec, int timeout_ms)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int     soerr = 0;
    socklen_t errlen = sizeof(soerr);
    int     one = 1;

    miltc_close(c);
    miltc_init(c);
    c->timeout_ms = timeout_ms > 0 ? timeout_ms : 5000;
    if ((len = miltc_parse_spec(c, spec, &ss)) == 0)
        return MILTC_ERROR;
    c->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return miltc_fail(c, "socket: %s", strerror(errno));
    if (ss.ss_family != AF_UNIX)
        (void) setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(c->fd, (struct sockaddr *) &ss, len) != 0) {
        if (errno != EINPROGRESS && errno != EAGAIN) {
            miltc_fail(c, "connect %s: %s", spec, strerror(errno));
            miltc_close(c);
            return MILTC_ERROR;
        }
        if (miltc_wait(c, POLLOUT, "connect") != 0
            || getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &errlen) != 0 || soerr != 0) {
            if (soerr != 0)
                miltc_fail(c, "connect %s: %s", spec, strerror(soerr));
            miltc_close(c);
            return MILTC_ERROR;
        }
    }
    return 0;
}

/* miltc_close - close the connection */
void
miltc_close(struct miltc *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->in_start = c->in_end = 0;
}

/* miltc_write - write buf[0..total) within the timeout per wait; 0 or MILTC_ERROR */
static int
miltc_write(struct miltc *c, const unsigned char *buf, size_t total, char cmd)
{
    size_t  done = 0;
    ssize_t n;

    if (c->fd < 0)
        return miltc_fail(c, "not connected");
    while (done < total) {
        n = send(c->fd, buf + done, total - done, MSG_NOSIGNAL);
        if (n > 0) {
            done += (size_t) n;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (miltc_wait(c, POLLOUT, "send") != 0)
                return MILTC_ERROR;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else {
            return miltc_fail(c, "send '%c': %s", cmd, n == 0 ? "nothing written" : strerror(errno));
        }
    }
    return 0;
}

/* miltc_send - write one packet (cmd and len data bytes); 0 or MILTC_ERROR */
static int
miltc_send(struct miltc *c, char cmd, const void *data, size_t len)
{
    uint32_t nlen;
    size_t  total = len + 5;

    if (c->fd < 0)
        return miltc_fail(c, "not connected");
    if (total > sizeof(c->out))
        return miltc_fail(c, "command '%c': %zu bytes is too long", cmd, len);
    nlen = htonl((uint32_t) (len + 1));
    memcpy(c->out, &nlen, 4);
    c->out[4] = (unsigned char) cmd;
    if (len > 0 && data != c->out + 5)
        memmove(c->out + 5, data, len);
    return miltc_write(c, c->out, total, cmd);
}

/* miltc_packet - one packet, no answer read */
int
miltc_packet(struct miltc *c, char cmd, const void *data, size_t len)
{
    return miltc_send(c, cmd, data, len);
}

/* miltc_raw - bytes as they are */
int
miltc_raw(struct miltc *c, const void *bytes, size_t len)
{
    return miltc_write(c, bytes, len, '?');
}

/*
 * miltc_recv - the next packet: its command in *cmd, its data at *data
 * (inside c->in, valid until the next receive) and *len bytes long.
 */
static int
miltc_recv(struct miltc *c, char *cmd, const unsigned char **data, size_t *len)
{
    uint32_t nlen;
    size_t  plen;
    ssize_t n;

    for (;;) {
        size_t  avail = c->in_end - c->in_start;

        if (avail >= 4) {
            memcpy(&nlen, c->in + c->in_start, 4);
            plen = ntohl(nlen);
            if (plen == 0 || plen > sizeof(c->in) - 4)
                return miltc_fail(c, "bad packet length %zu", plen);
            if (avail >= plen + 4) {
                *cmd = (char) c->in[c->in_start + 4];
                *data = c->in + c->in_start + 5;
                *len = plen - 1;
                c->in_start += plen + 4;
                return 0;
            }
        }

        /* Make room at the end: move the partial packet to the front. */
        if (c->in_start > 0) {
            memmove(c->in, c->in + c->in_start, avail);
            c->in_start = 0;
            c->in_end = avail;
        }
        n = recv(c->fd, c->in + c->in_end, sizeof(c->in) - c->in_end, 0);
        if (n > 0) {
            c->in_end += (size_t) n;
        } else if (n == 0) {
            return miltc_fail(c, "the filter closed the connection");
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            if (miltc_wait(c, POLLIN, "receive") != 0)
                return MILTC_ERROR;
        } else if (errno != EINTR) {
            return miltc_fail(c, "recv: %s", strerror(errno));
        }
    }
}

/* miltc_copy_str - a NUL-terminated string at data[0..len) into out; bytes used or -1 */
static long
miltc_copy_str(const unsigned char *data, size_t len, char *out, size_t outlen)
{
    const unsigned char *nul = memchr(data, '\0', len);
    size_t  slen;

    if (nul == NULL)
        return -1;
    slen = (size_t) (nul - data);
    if (outlen > 0) {
        size_t  n = slen < outlen - 1 ? slen : outlen - 1;

        memcpy(out, data, n);
        out[n] = '\0';
    }
    return (long) slen + 1;
}

/*
 * miltc_answer - read packets up to the final answer of a step. At end
 * of message (eom != 0) header additions and other changes come first.
 */
static int
miltc_answer(struct miltc *c, int eom)
{
    const unsigned char *data;
    size_t  len;
    char    cmd;

    for (;;) {
        if (miltc_recv(c, &cmd, &data, &len) != 0)
            return MILTC_ERROR;
        switch (cmd) {
        case SMFIR_CONTINUE:
        case SMFIR_TEMPFAIL:
        case SMFIR_REJECT:
        case SMFIR_ACCEPT:
        case SMFIR_DISCARD:
        case SMFIR_SKIP:
        case SMFIR_CONN_FAIL:
        case SMFIR_SHUTDOWN:
            return (unsigned char) cmd;
        case SMFIR_REPLYCODE:
            if (miltc_copy_str(data, len, c->reply, sizeof(c->reply)) < 0)
                return miltc_fail(c, "reply code without a terminating NUL");
            return (unsigned char) cmd;
        case SMFIR_PROGRESS:
            continue;
        case SMFIR_ADDHEADER:
            if (!eom)
                return miltc_fail(c, "header addition outside end of message");
            if (c->nheaders < MILTC_HEADERS_MAX) {
                struct miltc_header *h = &c->headers[c->nheaders];
                long    used = miltc_copy_str(data, len, h->name, sizeof(h->name));

                if (used < 0 || miltc_copy_str(data + used, len - (size_t) used,
                                               h->value, sizeof(h->value)) < 0)
                    return miltc_fail(c, "malformed header addition");
                c->nheaders++;
            } else {
                c->nmods++;
            }
            continue;
        default:
            if (!eom)
                return miltc_fail(c, "unexpected answer '%c' (0x%02x)", cmd, (unsigned char) cmd);
            c->nmods++;                  /* a change we do not interpret */
            continue;
        }
    }
}

/*
 * miltc_step - send one command of a step and read its answer, honouring
 * what the filter negotiated: a step it asked not to get (no_bit) is not
 * sent, a step it answers with nothing (nr_bit) is not waited for.
 */
static int
miltc_step(struct miltc *c, char cmd, size_t len, uint32_t no_bit, uint32_t nr_bit)
{
    if (no_bit != 0 && (c->protocol & no_bit) != 0)
        return MILTC_NOREPLY;
    if (miltc_send(c, cmd, c->out + 5, len) != 0)
        return MILTC_ERROR;
    if (nr_bit != 0 && (c->protocol & nr_bit) != 0)
        return MILTC_NOREPLY;
    return miltc_answer(c, 0);
}

/* miltc_put - append a NUL-terminated string to the packet body at *off */
static int
miltc_put(struct miltc *c, size_t *off, const char *s)
{
    size_t  n = strlen(s) + 1;

    if (5 + *off + n > sizeof(c->out))
        return miltc_fail(c, "packet too long");
    memcpy(c->out + 5 + *off, s, n);
    *off += n;
    return 0;
}

/* miltc_negotiate - exchange SMFIC_OPTNEG */
int
miltc_negotiate(struct miltc *c, uint32_t actions, uint32_t protocol)
{
    uint32_t v[3];
    const unsigned char *data;
    size_t  len, off;
    char    cmd;

    v[0] = htonl(MILTC_VERSION);
    v[1] = htonl(actions != 0 ? actions : (uint32_t) MILTC_ACTIONS);
    v[2] = htonl(protocol != 0 ? protocol : (uint32_t) MILTC_PROTOCOL);
    memcpy(c->out + 5, v, sizeof(v));
    if (miltc_send(c, SMFIC_OPTNEG, c->out + 5, sizeof(v)) != 0)
        return MILTC_ERROR;
    if (miltc_recv(c, &cmd, &data, &len) != 0)
        return MILTC_ERROR;
    if (cmd != SMFIC_OPTNEG || len < 12)
        return miltc_fail(c, "negotiation: got '%c' with %zu bytes", cmd, len);
    memcpy(v, data, sizeof(v));
    c->version = ntohl(v[0]);
    c->actions = ntohl(v[1]);
    c->protocol = ntohl(v[2]);

    /* Then the macro lists the filter asked for: stage index, names. */
    for (off = 12; off + 4 < len;) {
        uint32_t stage;
        long    used;
        char    skip[1];

        memcpy(&stage, data + off, 4);
        stage = ntohl(stage);
        off += 4;
        if (stage < MILTC_STAGES)
            used = miltc_copy_str(data + off, len - off, c->macros[stage], sizeof(c->macros[0]));
        else
            used = miltc_copy_str(data + off, len - off, skip, sizeof(skip));
        if (used < 0)
            return miltc_fail(c, "negotiation: malformed macro list");
        off += (size_t) used;
    }
    return 0;
}

/* miltc_macro - SMFIC_MACRO for one stage */
int
miltc_macro(struct miltc *c, char cmd, const char *const *nv, size_t n)
{
    size_t  off = 1;

    c->out[5] = (unsigned char) cmd;
    for (size_t i = 0; i < n; i++)
        if (miltc_put(c, &off, nv[i] != NULL ? nv[i] : "") != 0)
            return MILTC_ERROR;
    return miltc_send(c, SMFIC_MACRO, c->out + 5, off);
}

/* miltc_connect - SMFIC_CONNECT */
int
miltc_connect(struct miltc *c, const char *host, char family, uint16_t port, const char *addr)
{
    size_t  off = 0;
    uint16_t nport = htons(port);

    if (miltc_put(c, &off, host) != 0)
        return MILTC_ERROR;
    c->out[5 + off++] = (unsigned char) family;
    if (family != SMFIA_UNKNOWN) {
        memcpy(c->out + 5 + off, &nport, 2);
        off += 2;
        if (miltc_put(c, &off, addr != NULL ? addr : "") != 0)
            return MILTC_ERROR;
    }
    return miltc_step(c, SMFIC_CONNECT, off, SMFIP_NOCONNECT, SMFIP_NR_CONN);
}

/* miltc_client_fail - prefix c->err with the step and its answer; MILTC_ERROR */
static int
miltc_client_fail(struct miltc *c, const char *step, int r)
{
    char    why[sizeof(c->err)];

    memcpy(why, c->err, sizeof(why));
    if (r == MILTC_ERROR)
        return miltc_fail(c, "%s: %.200s", step, why);
    return miltc_fail(c, "%s: got %d", step, r);
}

/* miltc_client - connect macros, connect info, HELO, as Postfix sends them */
int
miltc_client(struct miltc *c, const struct miltc_client_info *ci)
{
    char    client_addr[80];
    const char *mac[] = {"j", ci->mta_host, "{client_addr}", client_addr, "{client_name}",
        ci->client_name != NULL ? ci->client_name : "unknown", "{client_resolve}",
        ci->client_resolve};
    int     ip = ci->family == '4' || ci->family == '6';
    int     r;

    snprintf(client_addr, sizeof(client_addr), "%s%s", ci->family == '6' ? "IPv6:" : "",
             ci->addr != NULL ? ci->addr : "");
    if (miltc_macro(c, SMFIC_CONNECT, mac, ci->client_resolve != NULL ? 8 : 6) != 0)
        return miltc_client_fail(c, "macros", MILTC_ERROR);
    r = miltc_connect(c, ip ? ci->addr : "localhost", ci->family, 25,
                      ci->family == 'L' ? "/run/smtpd.sock" : ci->addr);
    if (r != MILTC_NOREPLY && r != SMFIR_CONTINUE)
        return miltc_client_fail(c, "connect", r);
    r = miltc_helo(c, ci->helo != NULL ? ci->helo : "client.example");
    if (r != MILTC_NOREPLY && r != SMFIR_CONTINUE)
        return miltc_client_fail(c, "helo", r);
    return 0;
}

/* miltc_helo - SMFIC_HELO */
int
miltc_helo(struct miltc *c, const char *name)
{
    size_t  off = 0;

    if (miltc_put(c, &off, name) != 0)
        return MILTC_ERROR;
    return miltc_step(c, SMFIC_HELO, off, SMFIP_NOHELO, SMFIP_NR_HELO);
}

/* miltc_mail - SMFIC_MAIL */
int
miltc_mail(struct miltc *c, const char *sender)
{
    size_t  off = 0;

    c->reply[0] = '\0';
    if (miltc_put(c, &off, sender) != 0)
        return MILTC_ERROR;
    return miltc_step(c, SMFIC_MAIL, off, SMFIP_NOMAIL, SMFIP_NR_MAIL);
}

/* miltc_rcpt - SMFIC_RCPT */
int
miltc_rcpt(struct miltc *c, const char *rcpt)
{
    size_t  off = 0;

    c->reply[0] = '\0';
    if (miltc_put(c, &off, rcpt) != 0)
        return MILTC_ERROR;
    return miltc_step(c, SMFIC_RCPT, off, SMFIP_NORCPT, SMFIP_NR_RCPT);
}

/* miltc_data - SMFIC_DATA */
int
miltc_data(struct miltc *c)
{
    return miltc_step(c, SMFIC_DATA, 0, SMFIP_NODATA, SMFIP_NR_DATA);
}

/* miltc_eom - SMFIC_BODYEOB and everything the filter sends back */
int
miltc_eom(struct miltc *c)
{
    c->nheaders = c->nmods = 0;
    c->reply[0] = '\0';
    if (miltc_send(c, SMFIC_BODYEOB, NULL, 0) != 0)
        return MILTC_ERROR;
    return miltc_answer(c, 1);
}

/* miltc_header_find - an added header's value by name (case-insensitive) */
const char *
miltc_header_find(const struct miltc *c, const char *name)
{
    for (int i = 0; i < c->nheaders; i++)
        if (strcasecmp(c->headers[i].name, name) == 0)
            return c->headers[i].value;
    return NULL;
}

/* miltc_abort - SMFIC_ABORT (never answered) */
int
miltc_abort(struct miltc *c)
{
    return miltc_send(c, SMFIC_ABORT, NULL, 0);
}

/* miltc_quit - SMFIC_QUIT and close */
int
miltc_quit(struct miltc *c)
{
    int     rc = miltc_send(c, SMFIC_QUIT, NULL, 0);

    miltc_close(c);
    return rc;
}

/* miltc_header - SMFIC_HEADER: one header field */
int
miltc_header(struct miltc *c, const char *name, const char *value)
{
    size_t  off = 0;

    if (miltc_put(c, &off, name) != 0 || miltc_put(c, &off, value) != 0)
        return MILTC_ERROR;
    return miltc_step(c, SMFIC_HEADER, off, SMFIP_NOHDRS, SMFIP_NR_HDR);
}

/* miltc_eoh - SMFIC_EOH */
int
miltc_eoh(struct miltc *c)
{
    return miltc_step(c, SMFIC_EOH, 0, SMFIP_NOEOH, SMFIP_NR_EOH);
}

/* miltc_body - SMFIC_BODY: one chunk of at most MILTC_BUFSIZE - 5 bytes */
int
miltc_body(struct miltc *c, const void *data, size_t len)
{
    if (len > sizeof(c->out) - 5)
        return miltc_fail(c, "body chunk of %zu bytes is too long", len);
    if (len > 0)
        memcpy(c->out + 5, data, len);
    return miltc_step(c, SMFIC_BODY, len, SMFIP_NOBODY, SMFIP_NR_BODY);
}

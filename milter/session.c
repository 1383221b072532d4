/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * session.c - per-connection and per-message state of the milter.
 *
 * Everything a recipient decision needs is copied into fixed buffers of
 * the session: the allocation happens once per connection, never per
 * message or recipient. Input from the MTA is treated as junk-prone: the
 * addresses go through mailaddr_normalize (bounded, never fails) and
 * anything that ends up in a log line or a header is escaped or checked.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "session.h"

/* session_new - a zeroed session; NULL if out of memory (never exits) */
struct session *
session_new(void)
{
    struct session *s = calloc(1, sizeof(*s));

    if (s == NULL)
        return NULL;
    s->conn_skip = SESSION_SKIP_NO_IP;
    strcpy(s->client, "local");
    session_reset_message(s);
    return s;
}

/* session_free - release the session */
void
session_free(struct session *s)
{
    free(s);
}

/* session_set_client - the peer address, its client key, its skip reason */
void
session_set_client(struct session *s, const struct sockaddr *sa,
                   int netmask_v4, int netmask_v6, const struct netset *trusted)
{
    struct netblock nb;
    char    text[IPADDR_STRLEN];

    s->t.client_key[0] = '\0';
    if (ipaddr_from_sockaddr(sa, &s->ip) != 0) {
        /* Unix socket, or the MTA did not know (family 'U'). */
        s->conn_skip = SESSION_SKIP_NO_IP;
        strcpy(s->client, "local");
        return;
    }
    ipaddr_format(&s->ip, text, sizeof(text));
    /* Both sizes are fixed: "[" + at most IPADDR_STRLEN - 1 + "]" fits. */
    s->client[0] = '[';
    memcpy(s->client + 1, text, strlen(text));
    s->client[strlen(text) + 1] = ']';
    s->client[strlen(text) + 2] = '\0';

    netblock_mask(&s->ip, (unsigned) (s->ip.family == AF_INET ? netmask_v4 : netmask_v6), &nb);
    netblock_format(&nb, s->t.client_key, sizeof(s->t.client_key));
    s->conn_skip = netset_contains(trusted, &s->ip) ? SESSION_SKIP_TRUSTED : SESSION_SKIP_NONE;
}

/*
 * session_set_host - keep the j macro if it looks like a host name.
 * It goes into the X-Greylist header, so anything outside the host name
 * alphabet (CR, LF, blanks ...) discards it rather than being escaped.
 */
void
session_set_host(struct session *s, const char *host)
{
    size_t  len;

    s->mta_host[0] = '\0';
    if (host == NULL)
        return;
    len = strlen(host);
    if (len == 0 || len >= sizeof(s->mta_host))
        return;
    if (strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
               "0123456789.-_:[]") != len)
        return;
    memcpy(s->mta_host, host, len + 1);
}

/* session_reset_message - forget sender, recipient and delays */
void
session_reset_message(struct session *s)
{
    s->msg_skip = SESSION_SKIP_NONE;
    s->in_message = 0;
    s->max_delay = -1;
    s->from_log[0] = '\0';
    s->to_log[0] = '\0';
    s->t.sender[0] = '\0';
    s->t.rcpt[0] = '\0';
}

/* session_loggable - escaped raw address without its outer <> */
char   *
session_loggable(const char *raw, char *out, size_t outlen)
{
    size_t  len;

    if (outlen == 0)
        return out;
    if (raw == NULL) {
        out[0] = '\0';
        return out;
    }
    mailaddr_loggable(raw, out, outlen);

    /*
     * Escaping leaves '<' and '>' alone. A truncated address has lost its
     * '>' (it ends in "..."), so each side is trimmed on its own.
     */
    len = strlen(out);
    if (len > 0 && out[len - 1] == '>')
        out[--len] = '\0';
    if (out[0] == '<')
        memmove(out, out + 1, len);
    return out;
}

/* session_set_sender - normalise MAIL FROM into the triplet */
enum mailaddr_kind
session_set_sender(struct session *s, const char *raw)
{
    if (raw == NULL)
        raw = "";
    session_loggable(raw, s->from_log, sizeof(s->from_log));
    s->in_message = 1;
    return mailaddr_normalize(raw, strlen(raw), MAILADDR_SENDER,
                              s->t.sender, sizeof(s->t.sender));
}

/* session_set_rcpt - normalise RCPT TO into the triplet */
enum mailaddr_kind
session_set_rcpt(struct session *s, const char *raw)
{
    if (raw == NULL)
        raw = "";
    session_loggable(raw, s->to_log, sizeof(s->to_log));
    return mailaddr_normalize(raw, strlen(raw), MAILADDR_RCPT,
                              s->t.rcpt, sizeof(s->t.rcpt));
}

/* session_skip_name - the reason word of a log line */
const char *
session_skip_name(enum session_skip skip)
{
    switch (skip) {
    case SESSION_SKIP_NO_IP:
        return "no-ip";
    case SESSION_SKIP_TRUSTED:
        return "trusted";
    case SESSION_SKIP_AUTH:
        return "auth";
    case SESSION_SKIP_NONE:
        break;
    }
    return "";
}

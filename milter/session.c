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

#include "hostname.h"
#include "logesc.h"
#include "sendernorm.h"
#include "session.h"

/* session_new - a zeroed session; NULL if out of memory (never exits) */
struct session *
session_new(void)
{
    struct session *s = calloc(1, sizeof(*s));

    if (s == NULL)
        return NULL;
    strcpy(s->client, "local");          /* facts.conn.has_ip 0: no IP */
    session_reset_message(s);
    return s;
}

/* session_free - release the session and its whitelist reference */
void
session_free(struct session *s)
{
    if (s == NULL)
        return;
    wlist_unref(s->wl);
    free(s);
}

/* session_use_wlist - swap in w (a reference, now the session's) */
void
session_use_wlist(struct session *s, struct wlist *w)
{
    struct wlist *old = s->wl;

    s->wl = w;
    wlist_unref(old);
}

/* session_set_client - the peer address, its client key, has_ip and trusted */
void
session_set_client(struct session *s, const struct sockaddr *sa,
                   int netmask_v4, int netmask_v6, const struct netset *trusted)
{
    struct netblock nb;
    char    text[IPADDR_STRLEN];

    memset(&s->facts.conn, 0, sizeof(s->facts.conn));
    s->t.client_key[0] = '\0';
    s->netkey[0] = '\0';
    if (ipaddr_from_sockaddr(sa, &s->ip) != 0) {
        /* Unix socket, or the MTA did not know (family 'U'). */
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
    netblock_format(&nb, s->netkey, sizeof(s->netkey));
    memcpy(s->t.client_key, s->netkey, sizeof(s->netkey));
    s->facts.conn.has_ip = 1;
    s->facts.conn.trusted = netset_contains(trusted, &s->ip);
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

/*
 * session_set_helo - keep the HELO name for the SPF check of <>. It is
 * only ever a DNS name to look up, so anything too long or not a host
 * name by hostname.h's one rule is dropped, not escaped.
 */
void
session_set_helo(struct session *s, const char *name)
{
    size_t  len;

    s->helo[0] = '\0';
    if (name == NULL)
        return;
    len = strlen(name);
    if (len == 0 || len >= sizeof(s->helo))
        return;
    if (hostname_check(name, len) != NULL)
        return;
    memcpy(s->helo, name, len + 1);
}

/*
 * session_reset_message - forget the message and recipient facts, sender,
 * recipient, the DATA reply, delays and the summary's counts; netblock
 * key back
 */
void
session_reset_message(struct session *s)
{
    memset(&s->facts.msg, 0, sizeof(s->facts.msg));
    s->facts.msg.sender_kind = MAILADDR_OK;
    s->facts.msg.spf.result = SPF_CHECK_NONE;
    s->facts.wl_rcpt = 0;
    s->facts.store = DECISION_STORE_NOT_ASKED;
    s->max_delay = -1;
    s->msg_open = 0;
    s->rcpts = s->n_greylist = s->n_pass = s->n_accept = 0;
    s->largest_delay = -1;
    s->from_log[0] = '\0';
    s->from_domain[0] = '\0';
    s->from_spf[0] = '\0';
    s->to_log[0] = '\0';
    memcpy(s->t.client_key, s->netkey, sizeof(s->netkey));
    s->t.sender[0] = '\0';
    s->t.rcpt[0] = '\0';
}

/* session_loggable - escaped raw address without its outer <> */
char   *
session_loggable(const char *raw, char *out, size_t outlen)
{
    size_t  len;

    if (raw == NULL)
        raw = "";

    /* The caller writes its own <>: one of each side goes before escaping. */
    len = strlen(raw);
    if (len > 0 && raw[len - 1] == '>')
        len--;
    if (len > 0 && raw[0] == '<') {
        raw++;
        len--;
    }
    return logesc(raw, len, out, outlen);
}

/*
 * session_set_sender - normalise MAIL FROM into the triplet. The domain
 * is taken before sendernorm_key, which may change it (SRS): SPF is about
 * the domain the client used, the key about the original sender.
 */
enum mailaddr_kind
session_set_sender(struct session *s, const char *raw)
{
    enum mailaddr_kind kind;

    if (raw == NULL)
        raw = "";
    session_loggable(raw, s->from_log, sizeof(s->from_log));
    s->from_domain[0] = '\0';
    s->from_spf[0] = '\0';
    kind = mailaddr_normalize(raw, strlen(raw), MAILADDR_SENDER, s->t.sender, sizeof(s->t.sender));
    s->facts.msg.sender_kind = kind;
    if (kind != MAILADDR_OK)
        return kind;
    /* Both buffers are MAILADDR_MAX + 1 bytes, and the domain is a suffix. */
    strcpy(s->from_domain, mailaddr_domain(s->t.sender));
    strcpy(s->from_spf, s->t.sender);
    /* The key only ever shortens, in place, so it always fits. */
    (void) sendernorm_key(s->t.sender, s->t.sender, sizeof(s->t.sender));
    return kind;
}

/* session_set_spf_key - "spf:" domain as this message's client key */
void
session_set_spf_key(struct session *s, const char *domain)
{
    size_t  len = domain != NULL ? strlen(domain) : 0;

    if (len == 0 || len + 4 >= sizeof(s->t.client_key))
        return;
    memcpy(s->t.client_key, "spf:", 4);
    memcpy(s->t.client_key + 4, domain, len + 1);
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

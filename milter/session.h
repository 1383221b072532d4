/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * session.h - what redgrey remembers about one SMTP connection and the
 * message in progress on it.
 *
 * A session is allocated once per milter connection and holds every
 * per-message and per-recipient field in fixed buffers, so deciding on a
 * recipient never allocates. The triplet lives inside the session: its
 * client key is set at connect, its sender at MAIL, its recipient at each
 * RCPT. Message fields are reset at MAIL and at abort (libmilter may call
 * abort twice in a row; the reset is idempotent).
 *
 * Thread-safety: a session belongs to the one libmilter thread that serves
 * its connection; nothing here locks.
 */
#ifndef REDGREY_SESSION_H
#define REDGREY_SESSION_H

#include <stdint.h>

#include "ipaddr.h"
#include "mailaddr.h"
#include "netblock.h"
#include "triplet.h"

#define SESSION_LOGADDR_MAX 256          /* escaped address in a log line */
#define SESSION_HOST_MAX    256          /* the MTA's host name (j macro) */

/* Why greylisting is skipped (for the connection or the message). */
enum session_skip {
    SESSION_SKIP_NONE,                   /* greylist */
    SESSION_SKIP_NO_IP,                  /* unix socket or unknown peer */
    SESSION_SKIP_TRUSTED,                /* client in trusted_networks */
    SESSION_SKIP_AUTH,                   /* SASL-authenticated message */
};

struct session {
    /* Set at negotiation, for the life of the connection. */
    unsigned long nr_flags;              /* SMFIP_NR_* granted: those steps do not reply */
    int     can_addheader;               /* SMFIF_ADDHDRS granted */

    /* Set at connect. */
    enum session_skip conn_skip;         /* NONE, NO_IP or TRUSTED */
    struct ipaddr ip;                    /* the client, v4-mapped folded to v4 */
    char    client[IPADDR_STRLEN + 2];   /* "[203.0.113.7]" or "local", for logs */
    char    mta_host[SESSION_HOST_MAX];  /* the j macro, or "" */

    /* Set at MAIL, reset at MAIL and abort. */
    enum session_skip msg_skip;          /* NONE or AUTH */
    int     in_message;                  /* 1 between MAIL and eom/abort */
    int64_t max_delay;                   /* largest delay of a retry pass; -1 none */
    char    from_log[SESSION_LOGADDR_MAX]; /* sender as logged, without <> */

    /* Set at each RCPT. */
    char    to_log[SESSION_LOGADDR_MAX]; /* recipient as logged, without <> */

    struct triplet t;                    /* client key, sender, recipient */
};

/* session_new - a zeroed session with no client; NULL if out of memory */
struct session *session_new(void);

/* session_free - release; NULL is a no-op */
void    session_free(struct session *s);

/*
 * session_set_client - record the peer. sa NULL or not AF_INET/AF_INET6
 * means no IP (skip greylisting for the connection); an address inside
 * trusted is skipped too. Otherwise the client key is the address masked
 * to netmask_v4 or netmask_v6.
 */
void    session_set_client(struct session *s, const struct sockaddr *sa,
                           int netmask_v4, int netmask_v6, const struct netset *trusted);

/* session_set_host - remember the MTA host name (NULL or junk: "") */
void    session_set_host(struct session *s, const char *host);

/* session_reset_message - forget the message in progress; idempotent */
void    session_reset_message(struct session *s);

/*
 * session_set_sender - start a message from raw MAIL FROM argument (may be
 * NULL): normalised into the triplet, escaped into from_log. Returns the
 * kind of address.
 */
enum mailaddr_kind session_set_sender(struct session *s, const char *raw);

/* session_set_rcpt - as session_set_sender, for one RCPT TO argument */
enum mailaddr_kind session_set_rcpt(struct session *s, const char *raw);

/* session_skip_name - "trusted", "auth", "no-ip"; "" for NONE */
const char *session_skip_name(enum session_skip skip);

/*
 * session_loggable - raw address for a log line: escaped by
 * mailaddr_loggable, one pair of outer <> removed (the caller writes its
 * own), into out. NULL raw gives "". Returns out.
 */
char   *session_loggable(const char *raw, char *out, size_t outlen);

#endif

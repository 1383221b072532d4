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
 * abort twice in a row; the reset is idempotent). The client key is the
 * netblock, replaced by spf:DOMAIN for one message when its SPF result
 * allows; the reset puts the netblock back.
 *
 * Thread-safety: a session belongs to the one libmilter thread that serves
 * its connection; nothing here locks.
 */
#ifndef REDGREY_SESSION_H
#define REDGREY_SESSION_H

#include <stdint.h>

#include "decision.h"
#include "ipaddr.h"
#include "mailaddr.h"
#include "netblock.h"
#include "spf_check.h"
#include "store.h"
#include "triplet.h"
#include "wlist.h"

struct reload_snap;

#define SESSION_LOGADDR_MAX 256          /* escaped address in a log line */
#define SESSION_HOST_MAX    256          /* the MTA's host name (j macro) */
#define SESSION_DNSBL_ZONES_MAX 512      /* listing zones in a log line (cut at a zone) */

struct session {
    /*
     * What the decision needs (decision.h), gathered as the steps come:
     * facts.mta at negotiation, for the life of the connection (all 0 --
     * answer every step, no header, no DATA stage -- in a session made
     * after it); facts.conn at connect; facts.msg at MAIL, reset at MAIL
     * and abort; the recipient's facts at each RCPT.
     */
    struct decision_facts facts;
    unsigned long nr_flags;              /* SMFIP_NR_* granted: those steps do not reply */
    const struct reload_snap *snap;      /* configuration pinned at the start (reload.h) */

    /* Set at connect (helo at HELO); wl renewed at each MAIL. */
    struct ipaddr ip;                    /* the client, v4-mapped folded to v4 */
    char    client[IPADDR_STRLEN + 2];   /* "[203.0.113.7]" or "local", for logs */
    char    netkey[TRIPLET_CLIENTKEY_MAX + 1]; /* the masked netblock, or "" without IP */
    char    mta_host[SESSION_HOST_MAX];  /* the j macro, or "" */
    char    helo[SPF_CHECK_DOMAIN_MAX + 1]; /* HELO/EHLO argument, or "" (junk, too long) */
    struct wlist *wl;                    /* whitelists in use: a reference, or NULL */
    char    client_name[SESSION_HOST_MAX]; /* the MTA's {client_name} (raw), or "" */

    /* DNS lists: asked at most once per connection, reset at connect. */
    int     dnsbl_asked;                 /* the lists were asked (or are off) */
    long    dnsbl_ms;                    /* the check's time; 0 from the cache */
    char    dnsbl_zones[SESSION_DNSBL_ZONES_MAX]; /* listing zones "z1,z2", or "" */

    /* Set at MAIL, reset at MAIL and abort. */
    int64_t max_delay;                   /* largest delay of a header-giving pass; -1 none */
    char    from_log[SESSION_LOGADDR_MAX]; /* sender as logged, without <> */
    char    from_domain[MAILADDR_MAX + 1]; /* domain of the sender as given, or "" */
    char    from_spf[MAILADDR_MAX + 1];  /* sender as normalised, before sendernorm: SPF's */
    int     msg_open;                    /* a MAIL started the message: a summary is due */
    unsigned rcpts;                      /* recipients decided, then per action: */
    unsigned n_greylist, n_pass, n_accept;
    int64_t largest_delay;               /* largest delay= of any recipient; -1 none */

    /* Set at each RCPT. */
    char    to_log[SESSION_LOGADDR_MAX]; /* recipient as logged, without <> */

    struct triplet t;                    /* client key, sender, recipient */

    /* The concurrent-session count (callbacks.c): set at connect, left at close. */
    int     cap_entered;                 /* 1: this session counts in the store */
    char    cap_id[STORE_SESSION_ID_MAX + 1]; /* its id there */
};

/* session_new - a zeroed session with no client; NULL if out of memory */
struct session *session_new(void);

/* session_free - release, with the session's whitelist reference; NULL is a no-op */
void    session_free(struct session *s);

/*
 * session_use_wlist - make w (a reference the session now owns; NULL
 * allowed) the whitelists of the session, dropping the previous one.
 */
void    session_use_wlist(struct session *s, struct wlist *w);

/*
 * session_set_client - record the peer and start facts.conn afresh. sa
 * NULL or not AF_INET/AF_INET6 means no IP (facts.conn.has_ip 0);
 * facts.conn.trusted says whether the address is inside trusted. With an
 * IP the client key is the address masked to netmask_v4 or netmask_v6.
 */
void    session_set_client(struct session *s, const struct sockaddr *sa,
                           int netmask_v4, int netmask_v6, const struct netset *trusted);

/* session_set_host - remember the MTA host name (NULL or junk: "") */
void    session_set_host(struct session *s, const char *host);

/* session_reset_message - forget the message in progress; idempotent */
void    session_reset_message(struct session *s);

/* session_set_helo - remember the HELO name (NULL, junk or too long: "") */
void    session_set_helo(struct session *s, const char *name);

/*
 * session_set_sender - start a message from raw MAIL FROM argument (may be
 * NULL): escaped into from_log, its domain (before any rewriting) into
 * from_domain, and its keying form (mailaddr_normalize, then
 * sendernorm_key: SRS, BATV, +ext and VERP tokens undone) into the
 * triplet. Returns the kind of address, also kept in facts.msg.
 */
enum mailaddr_kind session_set_sender(struct session *s, const char *raw);

/*
 * session_set_spf_key - key this message on "spf:" domain instead of the
 * netblock; a domain too long for the key (or "") leaves the netblock.
 */
void    session_set_spf_key(struct session *s, const char *domain);

/* session_set_rcpt - as session_set_sender, for one RCPT TO argument */
enum mailaddr_kind session_set_rcpt(struct session *s, const char *raw);

/*
 * session_loggable - raw address for a log line: escaped by
 * logesc_str, one pair of outer <> removed (the caller writes its
 * own), into out. NULL raw gives "". Returns out.
 */
char   *session_loggable(const char *raw, char *out, size_t outlen);

#endif

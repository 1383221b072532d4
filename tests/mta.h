/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mta.h - the MTA side of the end-to-end tests: SMTP sessions played
 * against a started redgrey (tests/daemon.h) with miltc, the way Postfix
 * would, and names for the answers in failure messages.
 *
 * A session connects to the daemon's socket, negotiates, sends the
 * connect macros ("j", {client_addr}, {client_name}, optionally
 * {client_resolve}), the connect information and HELO. Every step is
 * bounded by MTA_TIMEOUT_MS.
 *
 * Thread-safety: any thread, one struct miltc per thread.
 */
#ifndef REDGREY_TEST_MTA_H
#define REDGREY_TEST_MTA_H

#include <stddef.h>
#include <stdint.h>

#include "daemon.h"
#include "miltc.h"

#define MTA_HOST       "mx.test"         /* the MTA's own name, macro j */
#define MTA_TIMEOUT_MS 5000              /* bound on every protocol step */

/* How an MTA session starts: the client as Postfix would describe it. */
struct mta_conn {
    char    family;                      /* '4' or '6' with addr; 'U' or 'L': no IP */
    const char *addr;                    /* the client's address, or NULL */
    const char *helo;                    /* NULL: client.example */
    const char *client_name;             /* NULL: "unknown" */
    const char *client_resolve;          /* NULL: not sent */
    uint32_t protocol;                   /* steps offered; 0: what Postfix offers */
};

/*
 * mta_client - a new SMTP client m on an open, negotiated connection: the
 * connect macros and information, HELO. Returns 0, or -1 with the reason
 * in why (the connection is then closed).
 */
int     mta_client(struct miltc *c, const struct mta_conn *m, char *why, size_t whylen);

/*
 * mta_connect_as - connect to d's milter, negotiate offering actions (0:
 * what Postfix offers) and m->protocol, then mta_client. Returns 0, or -1
 * with the reason in why (the connection is then closed).
 */
int     mta_connect_as(struct miltc *c, const struct daemon *d, uint32_t actions,
                       const struct mta_conn *m, char *why, size_t whylen);

/* mta_connect - mta_connect_as offering the actions Postfix offers */
int     mta_connect(struct miltc *c, const struct daemon *d, const struct mta_conn *m,
                    char *why, size_t whylen);

/*
 * mta_mail - MAIL FROM, with the {auth_authen} macro when auth is set.
 * Postfix asks for no reply at MAIL (NR_MAIL), so "no reply" comes back
 * as SMFIR_CONTINUE.
 */
int     mta_mail(struct miltc *c, const char *from, const char *auth);

/*
 * mta_one_rcpt - a whole SMTP session with d for one recipient: open (a
 * failure fails the test), MAIL, RCPT, abort after anything but
 * "continue" (as Postfix does), QUIT. Returns the RCPT answer (or MAIL's,
 * if MAIL did not continue); its reply text, or the error, into reply if
 * not NULL; took, if not NULL, gets the milliseconds from MAIL to the
 * answer.
 */
int     mta_one_rcpt(const struct daemon *d, const struct mta_conn *m, const char *from,
                     const char *to, const char *auth, char *reply, size_t replylen,
                     long long *took);

/*
 * mta_answer_name - a miltc answer for a failure message: "error", "no
 * reply" or the command letter in quotes. The text lives in a small ring
 * of per-thread buffers: use it in one message, do not keep it.
 */
const char *mta_answer_name(int r);

#endif

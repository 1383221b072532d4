/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mta.c - SMTP sessions against redgrey as Postfix plays them, over
 * miltc (see mta.h): open, MAIL, one recipient, and answer names.
 */
#include "config.h"

#include <check.h>
#include <libmilter/mfapi.h>
#include <libmilter/mfdef.h>
#include <stdio.h>
#include <stdlib.h>

#include "mta.h"

/* mta_client - connect macros, connect info, HELO (miltc_client) */
int
mta_client(struct miltc *c, const struct mta_conn *m, char *why, size_t whylen)
{
    struct miltc_client_info ci = {MTA_HOST, m->family, m->addr, m->helo, m->client_name,
        m->client_resolve};

    if (miltc_client(c, &ci) != 0) {
        snprintf(why, whylen, "%s", c->err);
        miltc_close(c);
        return -1;
    }
    return 0;
}

/* mta_connect_as - open, negotiate, mta_client */
int
mta_connect_as(struct miltc *c, const struct daemon *d, uint32_t actions,
               const struct mta_conn *m, char *why, size_t whylen)
{
    miltc_init(c);
    if (miltc_open(c, d->spec, MTA_TIMEOUT_MS) != 0
        || miltc_negotiate(c, actions, m->protocol) != 0) {
        snprintf(why, whylen, "open: %s", c->err);
        miltc_close(c);
        return -1;
    }
    return mta_client(c, m, why, whylen);
}

/* mta_connect - as Postfix offers actions */
int
mta_connect(struct miltc *c, const struct daemon *d, const struct mta_conn *m,
            char *why, size_t whylen)
{
    return mta_connect_as(c, d, 0, m, why, whylen);
}

/* mta_mail - the MAIL macros when auth is set, then MAIL FROM */
int
mta_mail(struct miltc *c, const char *from, const char *auth)
{
    const char *mac[] = {"{auth_authen}", auth};
    int     r;

    if (auth != NULL && miltc_macro(c, SMFIC_MAIL, mac, 2) != 0)
        return MILTC_ERROR;
    r = miltc_mail(c, from);
    return r == MILTC_NOREPLY ? SMFIR_CONTINUE : r;
}

/* mta_one_rcpt - open, MAIL, RCPT, abort unless continued, QUIT */
int
mta_one_rcpt(const struct daemon *d, const struct mta_conn *m, const char *from,
             const char *to, const char *auth, char *reply, size_t replylen, long long *took)
{
    struct miltc *c = malloc(sizeof(*c));
    char    why[300];
    long long t0;
    int     r;

    ck_assert_ptr_nonnull(c);
    if (mta_connect(c, d, m, why, sizeof(why)) != 0) {
        free(c);
        ck_abort_msg("%s %s: %s", m->addr != NULL ? m->addr : "local", to, why);
    }
    t0 = daemon_now_ms();
    r = mta_mail(c, from, auth);
    if (r == SMFIR_CONTINUE)
        r = miltc_rcpt(c, to);
    if (took != NULL)
        *took = daemon_now_ms() - t0;
    if (reply != NULL)
        snprintf(reply, replylen, "%s", r == MILTC_ERROR ? c->err : c->reply);
    if (r != SMFIR_CONTINUE && r != MILTC_ERROR)
        (void) miltc_abort(c);
    (void) miltc_quit(c);
    free(c);
    return r;
}

/* mta_answer_name - "error", "no reply" or 'X', from a per-thread ring */
const char *
mta_answer_name(int r)
{
    static __thread char buf[8][16];
    static __thread int next;
    char   *b = buf[next++ % 8];

    if (r == MILTC_ERROR)
        return "error";
    if (r == MILTC_NOREPLY)
        return "no reply";
    snprintf(b, 16, "'%c'", r);
    return b;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * nullmilter.c - the benchmark's floor: a libmilter filter that does nothing.
 *
 * It answers "continue" to every step, so whatever it costs is libmilter's
 * and the transport's cost. With -m it negotiates like redgrey (no body,
 * no headers, no replies for the steps whose answer is always "continue");
 * without it, it is the naive filter that takes every step. Every benchmark
 * run reports redgrey as a ratio to this, measured in the same run.
 *
 * usage: nullmilter -p SOCKETSPEC [-m]
 */
#include "config.h"

#include <libmilter/mfapi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int null_minimal;                 /* -m: negotiate like redgrey */

/* null_negotiate - with -m, drop every step redgrey does not use */
static sfsistat
null_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2,
               unsigned long f3, unsigned long *pf0, unsigned long *pf1,
               unsigned long *pf2, unsigned long *pf3)
{
    unsigned long want = SMFIP_NOBODY | SMFIP_NOHDRS | SMFIP_NOEOH | SMFIP_NOUNKNOWN
        | SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_MAIL;

    *pf0 = f0 & SMFIF_ADDHDRS;
    *pf1 = null_minimal ? (f1 & want) : 0;
    *pf2 = 0;
    *pf3 = 0;
    return SMFIS_CONTINUE;
}

/* null_continue_* - every step just continues */
static sfsistat
null_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *sa)
{
    return SMFIS_CONTINUE;
}

static sfsistat
null_helo(SMFICTX *ctx, char *helo)
{
    return SMFIS_CONTINUE;
}

static sfsistat
null_envfrom(SMFICTX *ctx, char **argv)
{
    return SMFIS_CONTINUE;
}

static sfsistat
null_envrcpt(SMFICTX *ctx, char **argv)
{
    return SMFIS_CONTINUE;
}

static sfsistat
null_eom(SMFICTX *ctx)
{
    return SMFIS_CONTINUE;
}

static struct smfiDesc null_desc = {
    "nullmilter",                        /* filter name */
    SMFI_VERSION,                        /* version code */
    SMFIF_ADDHDRS,                       /* flags */
    null_connect,                        /* connection info */
    null_helo,                           /* SMTP HELO */
    null_envfrom,                        /* envelope sender */
    null_envrcpt,                        /* envelope recipient */
    NULL,                                /* header */
    NULL,                                /* end of header */
    NULL,                                /* body block */
    null_eom,                            /* end of message */
    NULL,                                /* message aborted */
    NULL,                                /* connection cleanup */
    NULL,                                /* unknown SMTP command */
    NULL,                                /* DATA */
    null_negotiate,                      /* negotiate */
};

int
main(int argc, char **argv)
{
    const char *spec = NULL;
    int     ch;

    while ((ch = getopt(argc, argv, "mp:")) != -1) {
        switch (ch) {
        case 'm':
            null_minimal = 1;
            break;
        case 'p':
            spec = optarg;
            break;
        default:
            fprintf(stderr, "usage: nullmilter -p SOCKETSPEC [-m]\n");
            return 2;
        }
    }
    if (spec == NULL) {
        fprintf(stderr, "usage: nullmilter -p SOCKETSPEC [-m]\n");
        return 2;
    }
    if (smfi_setconn((char *) spec) == MI_FAILURE
        || smfi_register(null_desc) == MI_FAILURE
        || smfi_opensocket(1) == MI_FAILURE) {
        fprintf(stderr, "nullmilter: cannot listen on %s\n", spec);
        return 1;
    }
    return smfi_main() == MI_SUCCESS ? 0 : 1;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * nullmilter.c - the benchmark's floor: a libmilter filter that does nothing.
 *
 * It answers "continue" to every step, so whatever it costs is libmilter's
 * and the transport's cost. With -m it negotiates exactly as redgrey does
 * with its default null_sender_stage = data (no headers or body, no
 * replies to CONNECT, HELO and MAIL, the same macro lists: keep NULL_*
 * and the lists below in step with milter/callbacks.c);
 * without it, it is the naive filter that takes every
 * step and every macro. With -H it adds one header at end of message, as
 * redgrey does for a message that passed after a delay, so that the two
 * packets of that answer can be timed over TCP against a unix socket; -N
 * sets TCP_NODELAY on the listening socket (accepted sockets inherit it on
 * Linux), the cure for the Nagle / delayed-ACK stall those two packets
 * otherwise meet.
 * Every benchmark run reports redgrey as a ratio to this, measured in the
 * same run.
 *
 * usage: nullmilter -p SOCKETSPEC [-m] [-H] [-N]
 */
#include "config.h"

#include <libmilter/mfapi.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int null_minimal;                 /* -m: negotiate like redgrey */
static int null_header;                  /* -H: add a header at end of message */
static unsigned long null_nr;            /* NR flags granted (the same for every MTA here) */

/* What redgrey asks for (milter/callbacks.c): steps it skips, steps it does not answer. */
#define NULL_STEPS_UNWANTED (SMFIP_NOHDRS | SMFIP_NOEOH | SMFIP_NOBODY | SMFIP_NOUNKNOWN)
#define NULL_NR_WANTED (SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_MAIL)

/* null_negotiate - with -m, ask for exactly what redgrey asks for */
static sfsistat
null_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2,
               unsigned long f3, unsigned long *pf0, unsigned long *pf1,
               unsigned long *pf2, unsigned long *pf3)
{
    *pf0 = f0 & SMFIF_ADDHDRS;
    *pf1 = 0;
    if (null_minimal) {
        *pf0 = f0 & (SMFIF_ADDHDRS | SMFIF_SETSYMLIST);
        *pf1 = f1 & (NULL_STEPS_UNWANTED | NULL_NR_WANTED);
        __atomic_store_n(&null_nr, f1 & NULL_NR_WANTED, __ATOMIC_RELAXED);
        if ((*pf0 & SMFIF_SETSYMLIST) != 0) {
            (void) smfi_setsymlist(ctx, SMFIM_CONNECT,
                                   "{client_addr} {client_name} {client_resolve} j");
            (void) smfi_setsymlist(ctx, SMFIM_ENVFROM, "{auth_authen} i");
            (void) smfi_setsymlist(ctx, SMFIM_ENVRCPT, "i");
            (void) smfi_setsymlist(ctx, SMFIM_EOM, "i");
        }
    }
    *pf2 = 0;
    *pf3 = 0;
    return SMFIS_CONTINUE;
}

/*
 * null_step - the answer to a step: "continue", or nothing when the MTA
 * was told not to wait for one (libmilter sends nothing for NOREPLY, so
 * it must be returned exactly when the flag was granted, as redgrey does).
 */
static sfsistat
null_step(unsigned long nr_bit)
{
    if (null_minimal && (__atomic_load_n(&null_nr, __ATOMIC_RELAXED) & nr_bit) != 0)
        return SMFIS_NOREPLY;
    return SMFIS_CONTINUE;
}

/* null_connect - connection info: continue */
static sfsistat
null_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *sa)
{
    return null_step(SMFIP_NR_CONN);
}

/* null_helo - HELO: continue */
static sfsistat
null_helo(SMFICTX *ctx, char *helo)
{
    return null_step(SMFIP_NR_HELO);
}

/* null_envfrom - MAIL: continue */
static sfsistat
null_envfrom(SMFICTX *ctx, char **argv)
{
    return null_step(SMFIP_NR_MAIL);
}

/* null_envrcpt - RCPT: continue (the step every benchmark times) */
static sfsistat
null_envrcpt(SMFICTX *ctx, char **argv)
{
    return SMFIS_CONTINUE;
}

/* null_eom - end of message: with -H add a header first, then continue */
static sfsistat
null_eom(SMFICTX *ctx)
{
    if (null_header)
        (void) smfi_addheader(ctx, "X-Null", "added by the null milter");
    return SMFIS_CONTINUE;
}

static struct smfiDesc null_desc = {
    "nullmilter",                        /* filter name */
    SMFI_VERSION,                        /* version code */
    SMFIF_ADDHDRS | SMFIF_SETSYMLIST,    /* flags; narrowed by negotiate */
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

/*
 * null_nodelay - set TCP_NODELAY on the TCP listening sockets among the
 * first fds (libmilter does not tell which fd it listens on); returns how
 * many were set.
 */
static int
null_nodelay(void)
{
    int     set = 0;

    for (int fd = 0; fd < 64; fd++) {
        int     listening = 0, domain = 0, one = 1;
        socklen_t len = sizeof(listening);

        if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || !listening)
            continue;
        len = sizeof(domain);
        if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0
            || (domain != AF_INET && domain != AF_INET6))
            continue;
        if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == 0)
            set++;
    }
    return set;
}

int
main(int argc, char **argv)
{
    const char *spec = NULL;
    int     nodelay = 0;
    int     ch;

    while ((ch = getopt(argc, argv, "HmNp:")) != -1) {
        switch (ch) {
        case 'N':
            nodelay = 1;
            break;
        case 'H':
            null_header = 1;
            break;
        case 'm':
            null_minimal = 1;
            break;
        case 'p':
            spec = optarg;
            break;
        default:
            fprintf(stderr, "usage: nullmilter -p SOCKETSPEC [-m] [-H] [-N]\n");
            return 2;
        }
    }
    if (spec == NULL) {
        fprintf(stderr, "usage: nullmilter -p SOCKETSPEC [-m] [-H] [-N]\n");
        return 2;
    }
    if (smfi_setconn((char *) spec) == MI_FAILURE
        || smfi_register(null_desc) == MI_FAILURE
        || smfi_opensocket(1) == MI_FAILURE) {
        fprintf(stderr, "nullmilter: cannot listen on %s\n", spec);
        return 1;
    }
    if (nodelay && null_nodelay() == 0)
        fprintf(stderr, "nullmilter: -N: no TCP listening socket found\n");
    return smfi_main() == MI_SUCCESS ? 0 : 1;
}

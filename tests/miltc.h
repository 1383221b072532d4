/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * miltc.h - a small client of the milter protocol (version 6): the MTA's
 * side, as Postfix speaks it, for end-to-end tests and the benchmark.
 *
 * One struct miltc is one milter connection. It holds fixed buffers for
 * one packet each way, so no call allocates; a caller that drives many
 * connections allocates one struct per connection, once. Every wait is
 * bounded by the timeout given to miltc_open().
 *
 * The steps return the filter's answer as its reply character -- 'c'
 * continue, 't' tempfail, 'y' reply code (text in c->reply), 'a' accept,
 * 'r' reject, 'd' discard ... -- or MILTC_NOREPLY when no answer was
 * expected (the filter negotiated SMFIP_NR_* for that step) or the step
 * was not sent at all (the filter negotiated SMFIP_NO* for it), or
 * MILTC_ERROR with a reason in c->err (timeout, connection lost,
 * malformed packet). After an error the connection is unusable: close it.
 *
 * Thread-safety: one struct miltc per thread at a time.
 */
#ifndef REDGREY_MILTC_H
#define REDGREY_MILTC_H

#include <stddef.h>
#include <stdint.h>

#define MILTC_VERSION      6             /* protocol version we speak */
#define MILTC_ACTIONS      0x1ffUL       /* what Postfix offers: every action */
#define MILTC_PROTOCOL     0x1fffffUL    /* what Postfix offers: every step flag */
#define MILTC_BUFSIZE      (65535 + 8)   /* one packet: length, command, data */
#define MILTC_REPLY_MAX    512           /* text of a 'y' reply */
#define MILTC_HEADERS_MAX  8             /* headers added at one eom */
#define MILTC_NAME_MAX     64
#define MILTC_VALUE_MAX    512
#define MILTC_MACROS_MAX   256           /* one stage's requested macro list */
#define MILTC_STAGES       7             /* SMFIM_CONNECT .. SMFIM_EOH */

#define MILTC_NOREPLY      0             /* nothing expected, nothing read */
#define MILTC_ERROR        (-1)          /* c->err says why */

struct miltc_header {
    char    name[MILTC_NAME_MAX];
    char    value[MILTC_VALUE_MAX];
};

struct miltc {
    int     fd;                          /* the connection, or -1 */
    int     timeout_ms;                  /* bound on every wait */
    uint32_t version;                    /* filter's protocol version */
    uint32_t actions;                    /* filter's actions (SMFIF_*) */
    uint32_t protocol;                   /* filter's step flags (SMFIP_*) */
    char    macros[MILTC_STAGES][MILTC_MACROS_MAX]; /* smfi_setsymlist lists */
    char    reply[MILTC_REPLY_MAX];      /* text of the last 'y' reply */
    struct miltc_header headers[MILTC_HEADERS_MAX]; /* 'h' at the last eom */
    int     nheaders;                    /* entries in headers */
    int     nmods;                       /* other changes at the last eom */
    char    err[256];                    /* the last error */
    size_t  in_start;                    /* unparsed input: in[in_start..in_end) */
    size_t  in_end;
    unsigned char out[MILTC_BUFSIZE];    /* the packet being sent */
    unsigned char in[MILTC_BUFSIZE];     /* received bytes */
};

/* miltc_init - an unconnected client (fd -1); call before anything else */
void    miltc_init(struct miltc *c);

/*
 * miltc_open - connect to a libmilter socket spec: inet:PORT@HOST,
 * inet6:PORT@HOST (HOST may be [bracketed]), unix:PATH or local:PATH;
 * Postfix's inet:HOST:PORT is accepted too. Returns 0 or MILTC_ERROR.
 */
int     miltc_open(struct miltc *c, const char *spec, int timeout_ms);

/*
 * miltc_negotiate - option negotiation; actions/protocol 0 offer what
 * Postfix offers (MILTC_ACTIONS, MILTC_PROTOCOL). Fills version, actions,
 * protocol and macros from the filter's answer. Returns 0 or MILTC_ERROR.
 */
int     miltc_negotiate(struct miltc *c, uint32_t actions, uint32_t protocol);

/*
 * miltc_macro - define macros for a stage (cmd 'C', 'H', 'M', 'R', 'T',
 * 'E', 'N'): nv holds n names and values alternately ("{auth_authen}",
 * "user", "i", "4ABC"). No reply. Returns 0 or MILTC_ERROR.
 */
int     miltc_macro(struct miltc *c, char cmd, const char *const *nv, size_t n);

/*
 * miltc_connect - connection info: family '4', '6', 'L' (unix) or 'U'
 * (unknown; port and addr are not sent).
 */
int     miltc_connect(struct miltc *c, const char *host, char family,
                      uint16_t port, const char *addr);

/* How an SMTP client's session starts (miltc_client). */
struct miltc_client_info {
    const char *mta_host;                /* macro j */
    char    family;                      /* '4' or '6' with addr; 'U' or 'L': no IP */
    const char *addr;                    /* the client's address, or NULL */
    const char *helo;                    /* HELO argument */
    const char *client_name;             /* {client_name} */
    const char *client_resolve;          /* {client_resolve}, or NULL: not sent */
};

/*
 * miltc_client - on an open, negotiated connection, start an SMTP client
 * as Postfix does: the connect macros (j, {client_addr}, {client_name},
 * {client_resolve}), the connect information, HELO. Returns 0, or
 * MILTC_ERROR with the failed step and its answer in c->err.
 */
int     miltc_client(struct miltc *c, const struct miltc_client_info *ci);

/*
 * miltc_packet - send one packet (cmd and len bytes of data) and read
 * nothing; for malformed sessions. 0 or MILTC_ERROR.
 */
int     miltc_packet(struct miltc *c, char cmd, const void *data, size_t len);

/*
 * miltc_raw - write len bytes as they are (a lying length, half a
 * packet); read nothing. 0 or MILTC_ERROR.
 */
int     miltc_raw(struct miltc *c, const void *bytes, size_t len);

/* miltc_helo - HELO/EHLO argument */
int     miltc_helo(struct miltc *c, const char *name);

/* miltc_mail - MAIL FROM, argv[0] as given (usually with <>) */
int     miltc_mail(struct miltc *c, const char *sender);

/* miltc_rcpt - RCPT TO, argv[0] as given */
int     miltc_rcpt(struct miltc *c, const char *rcpt);

/* miltc_data - the DATA command */
int     miltc_data(struct miltc *c);

/*
 * miltc_header - one header field (name, and value without the colon);
 * not sent if the filter negotiated SMFIP_NOHDRS, no answer read with
 * SMFIP_NR_HDR
 */
int     miltc_header(struct miltc *c, const char *name, const char *value);

/* miltc_eoh - end of headers; not sent with SMFIP_NOEOH */
int     miltc_eoh(struct miltc *c);

/*
 * miltc_body - one body chunk of at most MILTC_BUFSIZE - 5 bytes; not sent
 * with SMFIP_NOBODY
 */
int     miltc_body(struct miltc *c, const void *data, size_t len);

/*
 * miltc_eom - end of message (no body is sent). Header additions are
 * collected into headers/nheaders, other changes counted in nmods; the
 * return value is the final answer.
 */
int     miltc_eom(struct miltc *c);

/* miltc_header_find - the value of an added header, or NULL */
const char *miltc_header_find(const struct miltc *c, const char *name);

/* miltc_abort - abort the message (no reply); 0 or MILTC_ERROR */
int     miltc_abort(struct miltc *c);

/* miltc_quit - say QUIT and close; 0 or MILTC_ERROR (closed either way) */
int     miltc_quit(struct miltc *c);

/* miltc_close - close without QUIT; idempotent */
void    miltc_close(struct miltc *c);

#endif

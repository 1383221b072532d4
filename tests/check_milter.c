/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_milter.c - redgrey end to end, through the milter protocol.
 *
 * main() starts the real daemon (../milter/redgrey -f) on a free loopback
 * port with a temporary configuration whose store is the private Redis of
 * with-redis.sh, waits until it listens, runs the suites, and stops it
 * with SIGTERM: a daemon that does not exit 0 within the bound fails the
 * run. The tests drive it with miltc, our own milter client, playing
 * Postfix: client addresses (203.0.113.7, 2001:db8:1:2::5 ...) travel only
 * inside the protocol, no packet goes anywhere but loopback. Besides the
 * answers, the tests read the daemon's log (its stderr) for the decision
 * lines. check_cli.c tests the command line (-t, -V, -h).
 *
 * Timing: delay is 2s; the tests that need a triplet to age seed all of
 * their triplets first and wait 2.1 s once.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <libmilter/mfapi.h>
#include <libmilter/mfdef.h>
#include <netinet/in.h>
#include <pthread.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "miltc.h"

#define REDGREY_BIN     TEST_BUILDDIR "/../milter/redgrey"
#define TIMEOUT_MS      5000             /* bound on every protocol step */
#define NTHREADS        32
#define MTA_HOST        "mx.test"

/* The daemon under test, set up by main() before the suites run. */
static struct {
    pid_t   pid;                         /* redgrey -f, or 0 */
    int     port;                        /* its loopback port */
    char    spec[64];                    /* inet:PORT@127.0.0.1 */
    char    dir[512];                    /* scratch directory */
    char    conf[600];                   /* its configuration */
    char    log[600];                    /* its stderr */
    char    prefix[64];                  /* Redis key prefix of this run */
} d;

/* now_ms - monotonic milliseconds */
static long long
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* sleep_ms - sleep, resuming after signals */
static void
sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        continue;
}

/* write_file - create path with text; 0 or -1 */
static int
write_file(const char *path, const char *text)
{
    FILE   *fp = fopen(path, "w");

    if (fp == NULL)
        return -1;
    fputs(text, fp);
    return fclose(fp) == 0 ? 0 : -1;
}

/* read_file - the whole of path into a malloc'ed string, or NULL */
static char *
read_file(const char *path)
{
    FILE   *fp = fopen(path, "r");
    char   *buf = NULL;
    size_t  len = 0, cap = 0, n;

    if (fp == NULL)
        return NULL;
    for (;;) {
        if (cap - len < 4096) {
            cap = cap * 2 + 8192;
            buf = realloc(buf, cap);
            if (buf == NULL)
                break;
        }
        if ((n = fread(buf + len, 1, cap - len - 1, fp)) == 0)
            break;
        len += n;
    }
    fclose(fp);
    if (buf != NULL)
        buf[len] = '\0';
    return buf;
}

/* log_count - how many times needle occurs in the daemon's log */
static int
log_count(const char *needle)
{
    char   *text = read_file(d.log);
    int     n = 0;

    for (const char *p = text; p != NULL && (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    free(text);
    return n;
}

/* ---------------------------------------------------------------- client */

/*
 * mta_open_as - what an MTA does for a new SMTP client: connect to the
 * milter, negotiate offering actions and protocol (0: what Postfix
 * offers), send the connect macros and the connect info. family '4' or
 * '6' with addr, or 'U'/'L' (no IP). Returns 0, or -1 with the reason in
 * why.
 */
static int
mta_open_as(struct miltc *c, uint32_t actions, uint32_t protocol, char family, const char *addr,
            char *why, size_t whylen)
{
    char    client_addr[80];
    const char *mac[] = {"j", MTA_HOST, "{client_addr}", client_addr, "{client_name}", "unknown"};
    int     r;

    miltc_init(c);
    snprintf(client_addr, sizeof(client_addr), "%s%s", family == '6' ? "IPv6:" : "",
             addr != NULL ? addr : "");
    if (miltc_open(c, d.spec, TIMEOUT_MS) != 0 || miltc_negotiate(c, actions, protocol) != 0
        || miltc_macro(c, SMFIC_CONNECT, mac, 6) != 0) {
        snprintf(why, whylen, "open: %s", c->err);
        miltc_close(c);
        return -1;
    }
    r = miltc_connect(c, family == '4' || family == '6' ? addr : "localhost", family, 25,
                      family == 'L' ? "/run/smtpd.sock" : addr);
    if (r != MILTC_NOREPLY && r != SMFIR_CONTINUE) {
        snprintf(why, whylen, "connect: got %d (%s)", r, c->err);
        miltc_close(c);
        return -1;
    }
    r = miltc_helo(c, "client.example");
    if (r != MILTC_NOREPLY && r != SMFIR_CONTINUE) {
        snprintf(why, whylen, "helo: got %d (%s)", r, c->err);
        miltc_close(c);
        return -1;
    }
    return 0;
}

/* mta_open - mta_open_as for Postfix */
static int
mta_open(struct miltc *c, char family, const char *addr, char *why, size_t whylen)
{
    return mta_open_as(c, 0, 0, family, addr, why, whylen);
}

/*
 * mta_mail - MAIL FROM with the MAIL macros (auth may be NULL). Postfix
 * asks for no reply at MAIL (NR_MAIL), so anything but "no reply" or
 * "continue" is a failure.
 */
static int
mta_mail(struct miltc *c, const char *from, const char *auth)
{
    const char *mac[] = {"{auth_authen}", auth};
    int     r;

    if (auth != NULL && miltc_macro(c, SMFIC_MAIL, mac, 2) != 0)
        return MILTC_ERROR;
    r = miltc_mail(c, from);
    return r == MILTC_NOREPLY ? SMFIR_CONTINUE : r;
}

/* mta_rcpt - RCPT TO, with the queue id macro when qid is set */
static int
mta_rcpt(struct miltc *c, const char *to, const char *qid)
{
    const char *mac[] = {"i", qid};

    if (qid != NULL && miltc_macro(c, SMFIC_RCPT, mac, 2) != 0)
        return MILTC_ERROR;
    return miltc_rcpt(c, to);
}

/*
 * one_rcpt - a whole SMTP session for one recipient: connect, MAIL, RCPT,
 * abort after a tempfail (as Postfix does), QUIT. Returns the RCPT answer,
 * the reply text in reply.
 */
static int
one_rcpt(char family, const char *addr, const char *from, const char *to, const char *auth,
         char *reply, size_t replylen)
{
    struct miltc *c = malloc(sizeof(*c));
    char    why[300];
    int     r;

    ck_assert_ptr_nonnull(c);
    if (mta_open(c, family, addr, why, sizeof(why)) != 0) {
        free(c);
        ck_abort_msg("%s %s: %s", addr != NULL ? addr : "local", to, why);
    }
    r = mta_mail(c, from, auth);
    if (r == SMFIR_CONTINUE)
        r = mta_rcpt(c, to, NULL);
    if (reply != NULL)
        snprintf(reply, replylen, "%s", r == MILTC_ERROR ? c->err : c->reply);
    if (r != SMFIR_CONTINUE && r != MILTC_ERROR)
        (void) miltc_abort(c);
    (void) miltc_quit(c);
    free(c);
    return r;
}

/* answer_name - an answer for a failure message */
static const char *
answer_name(int r)
{
    static char buf[8][16];
    static int next;
    char   *b = buf[next++ % 8];

    if (r == MILTC_ERROR)
        return "error";
    if (r == MILTC_NOREPLY)
        return "no reply";
    snprintf(b, 16, "'%c'", r);
    return b;
}

/* assert_greylisted - a 451 4.7.1 reply with the configured text */
#define assert_greylisted(label, r, reply) do { \
    ck_assert_msg((r) == SMFIR_REPLYCODE, "%s: got %s, want 'y' (451)", (label), answer_name(r)); \
    ck_assert_msg(strcmp((reply), "451 4.7.1 Greylisted, please try again later") == 0, \
                  "%s: got reply \"%s\", want the configured 451 text", (label), (reply)); \
} while (0)

/* ------------------------------------------------------------ negotiation */

/* test_negotiation - what redgrey asks of Postfix: steps, actions, macros */
START_TEST(test_negotiation)
{
    struct miltc *c = malloc(sizeof(*c));
    char    why[300];

    ck_assert_ptr_nonnull(c);
    ck_assert_msg(mta_open(c, '4', "203.0.113.200", why, sizeof(why)) == 0, "%s", why);

    /* Only the actions and steps redgrey needs. */
    ck_assert_msg(c->version == 6, "version: got %u, want 6", c->version);
    ck_assert_msg(c->actions == (SMFIF_ADDHDRS | SMFIF_SETSYMLIST),
                  "actions: got 0x%x, want ADDHDRS|SETSYMLIST", c->actions);
    ck_assert_msg((c->protocol & (SMFIP_NOBODY | SMFIP_NOHDRS | SMFIP_NOEOH | SMFIP_NOUNKNOWN))
                  == (SMFIP_NOBODY | SMFIP_NOHDRS | SMFIP_NOEOH | SMFIP_NOUNKNOWN),
                  "protocol 0x%x: body, headers, eoh or unknown not turned off", c->protocol);
    ck_assert_msg((c->protocol & (SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_MAIL))
                  == (SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_MAIL),
                  "protocol 0x%x: want no replies at CONNECT, HELO and MAIL", c->protocol);
    ck_assert_msg((c->protocol & SMFIP_NODATA) != 0, "protocol 0x%x: DATA not turned off",
                  c->protocol);
    ck_assert_msg((c->protocol & (SMFIP_NR_RCPT | SMFIP_NORCPT | SMFIP_NOMAIL | SMFIP_NOCONNECT)) == 0,
                  "protocol 0x%x: RCPT, MAIL and CONNECT must be sent and RCPT answered", c->protocol);

    /* The macros the decision and its log line use, per stage. */
    ck_assert_msg(strcmp(c->macros[SMFIM_CONNECT], "{client_addr} {client_name} {client_resolve} j") == 0,
                  "connect macros: got \"%s\"", c->macros[SMFIM_CONNECT]);
    ck_assert_msg(strcmp(c->macros[SMFIM_ENVFROM], "{auth_authen} i") == 0,
                  "envfrom macros: got \"%s\"", c->macros[SMFIM_ENVFROM]);
    ck_assert_msg(strcmp(c->macros[SMFIM_ENVRCPT], "i") == 0,
                  "envrcpt macros: got \"%s\"", c->macros[SMFIM_ENVRCPT]);
    ck_assert_msg(strcmp(c->macros[SMFIM_EOM], "i") == 0,
                  "eom macros: got \"%s\"", c->macros[SMFIM_EOM]);
    miltc_quit(c);
    free(c);
}
END_TEST

/*
 * test_negotiation_old_mta - an MTA that offers no NR_* steps and no
 * SETSYMLIST: redgrey must not ask for them, and every step it asked not
 * to answer is still answered (libmilter stands in), so nothing hangs.
 */
START_TEST(test_negotiation_old_mta)
{
    struct miltc *c = malloc(sizeof(*c));
    uint32_t nr = SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_MAIL | SMFIP_NR_RCPT | SMFIP_NR_DATA
        | SMFIP_NR_UNKN | SMFIP_NR_HDR | SMFIP_NR_EOH | SMFIP_NR_BODY;
    char    why[300];
    int     r;

    ck_assert_ptr_nonnull(c);
    ck_assert_msg(mta_open_as(c, SMFI_V2_ACTS, SMFI_CURR_PROT & ~nr, '4', "203.0.113.201",
                              why, sizeof(why)) == 0, "%s", why);
    ck_assert_msg(c->actions == SMFIF_ADDHDRS, "actions: got 0x%x, want ADDHDRS only", c->actions);
    ck_assert_msg((c->protocol & nr) == 0, "protocol 0x%x: NR flags the MTA did not offer",
                  c->protocol);
    ck_assert_msg(c->macros[SMFIM_CONNECT][0] == '\0', "macros requested without SETSYMLIST");
    r = miltc_mail(c, "<old@sender.example>");
    ck_assert_msg(r == SMFIR_CONTINUE, "MAIL: got %s, want 'c'", answer_name(r));
    r = miltc_rcpt(c, "<bob@rcpt.example>");
    ck_assert_msg(r == SMFIR_REPLYCODE && strncmp(c->reply, "451 4.7.1 ", 10) == 0,
                  "RCPT: got %s \"%s\", want 'y' 451", answer_name(r), c->reply);
    miltc_abort(c);
    miltc_quit(c);
    free(c);
}
END_TEST

/* ------------------------------------------------------------------ delay */

/*
 * test_delay - the greylisting cycle, once for every kind of client key:
 * first attempt and early retry tempfailed, the retry after the delay
 * passes (with X-Greylist), a neighbour in the same network passes, a
 * client of another network is greylisted. One wait serves all rows.
 */
static const struct delay_case {
    const char *label;
    char    family;                      /* of the first attempt */
    const char *first;                   /* first attempt from */
    char    retry_family;
    const char *retry;                   /* retry after the delay from */
    const char *key;                     /* the client key in the log */
} delay_cases[] = {
    {"ipv4 /24", '4', "203.0.113.7", '4', "203.0.113.7", "203.0.113.0/24"},
    {"ipv6 /64", '6', "2001:db8:1:2::5", '6', "2001:db8:1:2::99", "2001:db8:1:2::/64"},
    {"v4-mapped as ipv4", '6', "::ffff:192.0.2.7", '4', "192.0.2.9", "192.0.2.0/24"},
};

#define NDELAY (sizeof(delay_cases) / sizeof(delay_cases[0]))

START_TEST(test_delay)
{
    char    reply[MILTC_REPLY_MAX], label[128], line[512];
    regex_t re;
    int     r;

    /* Seed: every first attempt and early retry is tempfailed. */
    for (size_t i = 0; i < NDELAY; i++) {
        const struct delay_case *k = &delay_cases[i];

        snprintf(label, sizeof(label), "%s: first attempt", k->label);
        r = one_rcpt(k->family, k->first, "<alice@sender.example>", "<bob@rcpt.example>", NULL,
                     reply, sizeof(reply));
        assert_greylisted(label, r, reply);
        snprintf(label, sizeof(label), "%s: early retry", k->label);
        r = one_rcpt(k->retry_family, k->retry, "<alice@sender.example>", "<bob@rcpt.example>",
                     NULL, reply, sizeof(reply));
        assert_greylisted(label, r, reply);
    }

    /* The decision lines name the client and the key it was folded into. */
    snprintf(line, sizeof(line), "NOQUEUE: action=greylist reason=new client=[203.0.113.7] "
             "key=203.0.113.0/24 from=<alice@sender.example> to=<bob@rcpt.example>");
    ck_assert_msg(log_count(line) == 1, "log: want one line \"%s\"", line);
    ck_assert_msg(log_count("action=greylist reason=new client=[192.0.2.7] key=192.0.2.0/24") == 1,
                  "v4-mapped: want the client logged and keyed as ipv4");
    ck_assert_msg(log_count("action=greylist reason=early client=[2001:db8:1:2::99] "
                            "key=2001:db8:1:2::/64") == 1, "ipv6: want the early retry keyed on /64");

    sleep_ms(2100);

    /* The retry passes, and the message gets X-Greylist with the delay. */
    ck_assert_int_eq(regcomp(&re, "^delayed ([0-9]+) seconds by " PACKAGE_NAME "-" PACKAGE_VERSION
                             " at " MTA_HOST "; [A-Z][a-z][a-z], [0-9][0-9] [A-Z][a-z][a-z] "
                             "[0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} [-+][0-9]{4}$", REG_EXTENDED), 0);
    for (size_t i = 0; i < NDELAY; i++) {
        const struct delay_case *k = &delay_cases[i];
        struct miltc *c = malloc(sizeof(*c));
        char    why[300];
        const char *hdr;
        regmatch_t m[2];
        long    delayed;

        ck_assert_ptr_nonnull(c);
        ck_assert_msg(mta_open(c, k->retry_family, k->retry, why, sizeof(why)) == 0,
                      "%s: %s", k->label, why);
        r = mta_mail(c, "<alice@sender.example>", NULL);
        ck_assert_msg(r == SMFIR_CONTINUE, "%s: MAIL: got %s", k->label, answer_name(r));
        r = mta_rcpt(c, "<bob@rcpt.example>", NULL);
        ck_assert_msg(r == SMFIR_CONTINUE, "%s: retry after 2.1 s: got %s (%s), want 'c'",
                      k->label, answer_name(r), c->reply);
        r = miltc_data(c);
        ck_assert_msg(r == MILTC_NOREPLY, "%s: DATA: got %s, want not sent", k->label, answer_name(r));
        r = miltc_eom(c);
        ck_assert_msg(r == SMFIR_CONTINUE, "%s: eom: got %s, want 'c'", k->label, answer_name(r));
        hdr = miltc_header_find(c, "X-Greylist");
        ck_assert_msg(hdr != NULL, "%s: no X-Greylist header at eom (%d headers)", k->label,
                      c->nheaders);
        ck_assert_msg(regexec(&re, hdr, 2, m, 0) == 0, "%s: X-Greylist: bad shape: \"%s\"",
                      k->label, hdr);
        delayed = strtol(hdr + m[1].rm_so, NULL, 10);
        ck_assert_msg(delayed >= 2 && delayed <= 10, "%s: X-Greylist: got %ld seconds, want 2..10",
                      k->label, delayed);

        /* The next message on the connection passes as known: no header. */
        ck_assert_int_eq(mta_mail(c, "<alice@sender.example>", NULL), SMFIR_CONTINUE);
        r = mta_rcpt(c, "<bob@rcpt.example>", NULL);
        ck_assert_msg(r == SMFIR_CONTINUE, "%s: second message: got %s", k->label, answer_name(r));
        r = miltc_eom(c);
        ck_assert_msg(r == SMFIR_CONTINUE && c->nheaders == 0,
                      "%s: second message: got %s with %d headers, want 'c' and none", k->label,
                      answer_name(r), c->nheaders);
        miltc_quit(c);
        free(c);
        snprintf(line, sizeof(line), "action=pass reason=retry client=[%s] key=%s "
                 "from=<alice@sender.example> to=<bob@rcpt.example> delay=", k->retry, k->key);
        ck_assert_msg(log_count(line) == 1, "%s: log: want one line \"%s\"", k->label, line);
    }
    regfree(&re);

    /* Neighbours share the key; other networks do not. */
    r = one_rcpt('4', "203.0.113.99", "<alice@sender.example>", "<bob@rcpt.example>", NULL,
                 reply, sizeof(reply));
    ck_assert_msg(r == SMFIR_CONTINUE, "same /24: got %s (%s), want 'c'", answer_name(r), reply);
    ck_assert_msg(log_count("action=pass reason=known client=[203.0.113.99] key=203.0.113.0/24") == 1,
                  "same /24: want reason=known in the log");
    r = one_rcpt('4', "198.51.100.7", "<alice@sender.example>", "<bob@rcpt.example>", NULL,
                 reply, sizeof(reply));
    assert_greylisted("other /24", r, reply);
    r = one_rcpt('6', "2001:db8:1:2:ffff::1", "<alice@sender.example>", "<bob@rcpt.example>", NULL,
                 reply, sizeof(reply));
    ck_assert_msg(r == SMFIR_CONTINUE, "same /64: got %s (%s), want 'c'", answer_name(r), reply);
    r = one_rcpt('6', "2001:db8:1:3::5", "<alice@sender.example>", "<bob@rcpt.example>", NULL,
                 reply, sizeof(reply));
    assert_greylisted("other /64", r, reply);
}
END_TEST

/*
 * test_multi_rcpt - one transaction, one known and one new recipient:
 * each is decided on its own (continue, then 451), the queue id macro
 * shows in the log, and a known pass adds no X-Greylist. Then, on the
 * same connection, a message aborted twice (as Postfix does after a
 * tempfail) leaves nothing behind for the next one.
 */
START_TEST(test_multi_rcpt)
{
    struct miltc *c = malloc(sizeof(*c));
    char    why[300];
    int     r;

    ck_assert_ptr_nonnull(c);
    ck_assert_msg(mta_open(c, '4', "203.0.113.7", why, sizeof(why)) == 0, "%s", why);
    ck_assert_int_eq(mta_mail(c, "<alice@sender.example>", NULL), SMFIR_CONTINUE);
    r = mta_rcpt(c, "<bob@rcpt.example>", NULL);
    ck_assert_msg(r == SMFIR_CONTINUE, "known rcpt: got %s (%s), want 'c'", answer_name(r), c->reply);
    r = mta_rcpt(c, "<newbie@rcpt.example>", "4QID7MULTI");
    ck_assert_msg(r == SMFIR_REPLYCODE, "new rcpt: got %s, want 'y'", answer_name(r));
    ck_assert_msg(strncmp(c->reply, "451 4.7.1 ", 10) == 0, "new rcpt: got \"%s\"", c->reply);
    r = miltc_eom(c);
    ck_assert_msg(r == SMFIR_CONTINUE, "eom: got %s", answer_name(r));
    ck_assert_msg(c->nheaders == 0, "eom: a known pass must not add X-Greylist (got %d headers)",
                  c->nheaders);

    ck_assert_int_eq(mta_mail(c, "<alice@sender.example>", NULL), SMFIR_CONTINUE);
    r = mta_rcpt(c, "<newbie2@rcpt.example>", NULL);
    ck_assert_msg(r == SMFIR_REPLYCODE, "aborted message: got %s, want 'y'", answer_name(r));
    ck_assert_int_eq(miltc_abort(c), 0);
    ck_assert_int_eq(miltc_abort(c), 0);
    ck_assert_int_eq(mta_mail(c, "<alice@sender.example>", NULL), SMFIR_CONTINUE);
    r = mta_rcpt(c, "<bob@rcpt.example>", "4QID7AFTER");
    ck_assert_msg(r == SMFIR_CONTINUE, "after two aborts: got %s (%s), want 'c'", answer_name(r),
                  c->reply);
    r = miltc_eom(c);
    ck_assert_msg(r == SMFIR_CONTINUE && c->nheaders == 0,
                  "after two aborts: eom got %s with %d headers", answer_name(r), c->nheaders);
    miltc_quit(c);
    free(c);
    ck_assert_msg(log_count("4QID7MULTI: action=greylist reason=new client=[203.0.113.7] "
                            "key=203.0.113.0/24 from=<alice@sender.example> "
                            "to=<newbie@rcpt.example>") == 1,
                  "log: want the queue id of the i macro on the new recipient's line");
    ck_assert_msg(log_count("4QID7AFTER: action=pass reason=known client=[203.0.113.7] "
                            "key=203.0.113.0/24 from=<alice@sender.example> "
                            "to=<bob@rcpt.example>") == 1,
                  "log: after two aborts, want the known pass with the sender of the new message");
}
END_TEST

/* ------------------------------------------------------------------ skips */

/* Clients and sessions that are never greylisted, with the logged reason. */
static const struct skip_case {
    const char *label;
    char    family;
    const char *addr;
    const char *auth;                    /* {auth_authen}, or NULL */
    const char *log;                     /* in the decision line */
} skip_cases[] = {
    {"sasl login", '4', "198.18.200.1", "alice", "reason=auth client=[198.18.200.1] key=198.18.200.0/24"},
    {"trusted network", '4', "100.64.0.9", NULL, "reason=trusted client=[100.64.0.9] key=100.64.0.0/24"},
    {"unknown family", 'U', NULL, NULL, "reason=no-ip client=local key=- from=<skip-U@sender.example>"},
    {"unix socket", 'L', NULL, NULL, "reason=no-ip client=local key=- from=<skip-L@sender.example>"},
    {"empty sasl login", '4', "198.18.203.2", "", "action=greylist reason=new client=[198.18.203.2]"},
};

/* test_skip - each row is accepted (or not) without the store, and logged so */
START_TEST(test_skip)
{
    const struct skip_case *k = &skip_cases[_i];
    char    from[64], reply[MILTC_REPLY_MAX];
    int     r, want = strstr(k->log, "greylist") != NULL ? SMFIR_REPLYCODE : SMFIR_CONTINUE;

    snprintf(from, sizeof(from), "<skip-%c@sender.example>", k->family);
    r = one_rcpt(k->family, k->addr, from, "<bob@rcpt.example>", k->auth, reply, sizeof(reply));
    ck_assert_msg(r == want, "%s: got %s (%s), want %s", k->label, answer_name(r), reply,
                  answer_name(want));
    ck_assert_msg(log_count(k->log) == 1, "%s: log: want one line with \"%s\"", k->label, k->log);
}
END_TEST

/* ------------------------------------------------------------------- junk */

/* Envelope junk: every row gets a defined answer, and the daemon lives on. */
static char junk_1000[1001];
static char junk_ctl[] = "<a\x01\x02\x1b[31m@x\x7f.example>";

static const struct junk_case {
    const char *label;
    const char *from;
    const char *to;
    int     want;                        /* RCPT answer */
} junk_cases[] = {
    {"null sender", "<>", "<bob@rcpt.example>", SMFIR_REPLYCODE},
    {"bare null sender", "", "<bob@rcpt.example>", SMFIR_REPLYCODE},
    {"1000-byte sender", junk_1000, "<bob@rcpt.example>", SMFIR_REPLYCODE},
    {"1000-byte rcpt", "<alice@sender.example>", junk_1000, SMFIR_REPLYCODE},
    {"control chars sender", junk_ctl, "<bob@rcpt.example>", SMFIR_REPLYCODE},
    {"control chars rcpt", "<alice@sender.example>", junk_ctl, SMFIR_REPLYCODE},
    {"null rcpt", "<alice@sender.example>", "<>", SMFIR_REPLYCODE},
    {"quoted local part", "<\"john doe\"@Sender.Example>", "<\"x@y\"@rcpt.example>", SMFIR_REPLYCODE},
    {"no at sign", "<nobody>", "<postmaster>", SMFIR_REPLYCODE},
    {"brackets only", "<<<>>>", "<<>", SMFIR_REPLYCODE},
    {"source route", "<@relay.example:alice@sender.example>", "<@a,@b:bob@rcpt.example>", SMFIR_REPLYCODE},
    {"unbalanced", "<alice@sender.example", "bob@rcpt.example>", SMFIR_REPLYCODE},
};

/* test_junk - one session per row; a 451 for every first sighting, no crash */
START_TEST(test_junk)
{
    const struct junk_case *k = &junk_cases[_i];
    char    reply[MILTC_REPLY_MAX];
    int     r;

    memset(junk_1000, 'j', 1000);
    junk_1000[0] = '<';
    junk_1000[500] = '@';
    junk_1000[999] = '>';
    r = one_rcpt('4', "198.18.201.1", k->from, k->to, NULL, reply, sizeof(reply));
    ck_assert_msg(r == k->want, "%s: got %s (%s), want %s", k->label, answer_name(r), reply,
                  answer_name(k->want));
    if (r == SMFIR_REPLYCODE)
        ck_assert_msg(strncmp(reply, "451 ", 4) == 0, "%s: got \"%s\", want a 451", k->label, reply);
    ck_assert_msg(kill(d.pid, 0) == 0, "%s: the daemon is gone", k->label);
}
END_TEST

/* ---------------------------------------------------------- store outage */

/* redis_signal - send sig to the test Redis; 0 or -1 */
static int
redis_signal(int sig)
{
    const char *pidfile = getenv("REDGREY_TEST_REDIS_PIDFILE");
    char   *text;
    long    pid;

    if (pidfile == NULL || (text = read_file(pidfile)) == NULL)
        return -1;
    pid = strtol(text, NULL, 10);
    free(text);
    return pid > 0 ? kill((pid_t) pid, sig) : -1;
}

/*
 * test_store_down - Redis frozen (SIGSTOP): on_store_error = accept lets
 * a new triplet through within the store timeout, and the outage is
 * logged; once Redis runs again, greylisting works and recovery is logged.
 */
START_TEST(test_store_down)
{
    char    reply[MILTC_REPLY_MAX];
    long long t0, took;
    int     r, stopped, after = MILTC_ERROR;

    stopped = redis_signal(SIGSTOP);
    t0 = now_ms();
    r = one_rcpt('4', "198.18.202.1", "<alice@sender.example>", "<down@rcpt.example>", NULL,
                 reply, sizeof(reply));
    took = now_ms() - t0;
    redis_signal(SIGCONT);               /* before any assertion can end the test */
    ck_assert_msg(stopped == 0, "could not SIGSTOP redis-server: %s", strerror(errno));
    ck_assert_msg(r == SMFIR_CONTINUE, "store down: got %s (%s), want 'c' (on_store_error = accept)",
                  answer_name(r), reply);
    ck_assert_msg(took < 2000, "store down: the answer took %lld ms, want < 2000 (timeout 250 ms)", took);
    ck_assert_msg(log_count("action=accept reason=store-error client=[198.18.202.1]") == 1,
                  "log: want the store-error decision line");
    ck_assert_msg(log_count("store: outage") == 1, "log: want one outage line");

    /* Redis is back: a new triplet is greylisted again (reconnects may take a try). */
    for (int i = 0; i < 10 && after != SMFIR_REPLYCODE; i++) {
        char    to[64];

        if (i > 0)
            sleep_ms(200);
        snprintf(to, sizeof(to), "<back%d@rcpt.example>", i);
        after = one_rcpt('4', "198.18.202.1", "<alice@sender.example>", to, NULL, reply,
                         sizeof(reply));
    }
    assert_greylisted("store back", after, reply);
    ck_assert_msg(log_count("store: recovered") == 1, "log: want one recovery line");
}
END_TEST

/* ------------------------------------------------------------ concurrency */

struct worker {
    pthread_barrier_t *start;
    int     n;                           /* thread number: client 198.18.N.1 */
    char    fail[1200];                  /* "" when every answer was right */
};

/* worker_run - one client: new triplet, then an early retry; both 451 */
static void *
worker_run(void *arg)
{
    struct worker *w = arg;
    struct miltc *c = malloc(sizeof(*c));
    char    addr[32], from[64], why[300];
    int     r1, r2;

    snprintf(addr, sizeof(addr), "198.18.%d.1", w->n);
    snprintf(from, sizeof(from), "<t%d@sender.example>", w->n);
    pthread_barrier_wait(w->start);
    if (c == NULL) {
        snprintf(w->fail, sizeof(w->fail), "%s: out of memory", addr);
        return NULL;
    }
    if (mta_open(c, '4', addr, why, sizeof(why)) != 0) {
        snprintf(w->fail, sizeof(w->fail), "%s: %s", addr, why);
        free(c);
        return NULL;
    }
    r1 = mta_mail(c, from, NULL);
    r1 = r1 == SMFIR_CONTINUE ? mta_rcpt(c, "<bob@rcpt.example>", NULL) : r1;
    r2 = r1 == SMFIR_REPLYCODE ? mta_rcpt(c, "<bob@rcpt.example>", NULL) : MILTC_ERROR;
    if (r1 != SMFIR_REPLYCODE || r2 != SMFIR_REPLYCODE || strncmp(c->reply, "451 ", 4) != 0)
        snprintf(w->fail, sizeof(w->fail), "%s: got %s then %s (%s), want 'y' 451 twice",
                 addr, answer_name(r1), answer_name(r2), r1 == MILTC_ERROR || r2 == MILTC_ERROR
                 ? c->err : c->reply);
    miltc_abort(c);
    miltc_quit(c);
    free(c);
    return NULL;
}

/* test_concurrent - NTHREADS clients at once, each with its own triplet */
START_TEST(test_concurrent)
{
    pthread_t tid[NTHREADS];
    struct worker w[NTHREADS];
    pthread_barrier_t start;
    char    line[128];

    pthread_barrier_init(&start, NULL, NTHREADS);
    for (int i = 0; i < NTHREADS; i++) {
        w[i].start = &start;
        w[i].n = i;
        w[i].fail[0] = '\0';
        ck_assert_int_eq(pthread_create(&tid[i], NULL, worker_run, &w[i]), 0);
    }
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(tid[i], NULL);
    pthread_barrier_destroy(&start);
    for (int i = 0; i < NTHREADS; i++)
        ck_assert_msg(w[i].fail[0] == '\0', "thread %d: %s", i, w[i].fail);

    /* Exactly one first sighting and one early retry per client: no lost or doubled decision. */
    for (int i = 0; i < NTHREADS; i++) {
        snprintf(line, sizeof(line), "reason=new client=[198.18.%d.1] key=198.18.%d.0/24 ", i, i);
        ck_assert_msg(log_count(line) == 1, "thread %d: want one \"%s\" line, got %d", i, line,
                      log_count(line));
        snprintf(line, sizeof(line), "reason=early client=[198.18.%d.1] key=198.18.%d.0/24 ", i, i);
        ck_assert_msg(log_count(line) == 1, "thread %d: want one \"%s\" line, got %d", i, line,
                      log_count(line));
    }
}
END_TEST

/* ----------------------------------------------------------------- daemon */

/* port_listening - 1 if /proc/net/tcp shows a LISTEN socket on 127.0.0.1:port */
static int
port_listening(int port)
{
    char    line[512], want[32];
    FILE   *fp = fopen("/proc/net/tcp", "r");
    int     found = 0;

    if (fp == NULL)
        return 0;
    snprintf(want, sizeof(want), "0100007F:%04X", port);
    while (!found && fgets(line, sizeof(line), fp) != NULL) {
        char    local[64], remote[64], state[8];

        if (sscanf(line, "%*s %63s %63s %7s", local, remote, state) == 3
            && strcmp(local, want) == 0 && strcmp(state, "0A") == 0)
            found = 1;
    }
    fclose(fp);
    return found;
}

/* free_port - a loopback port nobody listens on right now */
static int
free_port(void)
{
    struct sockaddr_in sin;
    socklen_t len = sizeof(sin);
    int     fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *) &sin, sizeof(sin)) == 0
        && getsockname(fd, (struct sockaddr *) &sin, &len) == 0)
        port = ntohs(sin.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

#define DAEMON_EXITED (-2)               /* redgrey exited during startup */

/*
 * daemon_start - write the configuration, start redgrey -f, wait until it
 * listens. Returns 0, DAEMON_EXITED, or -1 for anything else.
 */
static int
daemon_start(void)
{
    const char *redis = getenv("REDGREY_TEST_REDIS");
    const char *tmp = getenv("REDGREY_TEST_TMP");
    char    conf[2048];
    int     fd, status;

    if (redis == NULL || tmp == NULL) {
        fprintf(stderr, "check_milter: REDGREY_TEST_REDIS unset: run under with-redis.sh\n");
        return -1;
    }
    snprintf(d.dir, sizeof(d.dir), "%s", tmp);
    snprintf(d.conf, sizeof(d.conf), "%s/redgrey.conf", d.dir);
    snprintf(d.log, sizeof(d.log), "%s/redgrey.log", d.dir);
    snprintf(d.prefix, sizeof(d.prefix), "rgt%ld:", (long) getpid());
    if ((d.port = free_port()) < 0) {
        fprintf(stderr, "check_milter: no free loopback port\n");
        return -1;
    }
    snprintf(d.spec, sizeof(d.spec), "inet:%d@127.0.0.1", d.port);
    snprintf(conf, sizeof(conf),
             "# check_milter: the daemon under test\n"
             "socket = %s\n"
             "store = redis://%s\n"
             "key_prefix = %s\n"
             "delay = 2s\n"
             "trusted_networks = 100.64.0.0/24\n"
             "on_store_error = accept\n"
             "store_timeout = 250ms\n"
             "header = yes\n"
             "user = \"\"\n"
             "pidfile = \"\"\n"
             "log_level = info\n"
             "spf_keying = no\n"                 /* no DNS: check_milter_spf.c tests SPF */
             "null_sender_stage = rcpt\n",       /* the DATA stage: check_milter_spf.c */
             d.spec, redis, d.prefix);
    if (write_file(d.conf, conf) != 0) {
        fprintf(stderr, "check_milter: %s: %s\n", d.conf, strerror(errno));
        return -1;
    }
    if ((d.pid = fork()) < 0)
        return -1;
    if (d.pid == 0) {
        fd = open(d.log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
        }
        execl(REDGREY_BIN, "redgrey", "-f", "-c", d.conf, (char *) NULL);
        _exit(127);
    }

    /* A TCP probe would be a milter session: watch the listen table instead. */
    for (int waited = 0; waited < 15000; waited += 20) {
        if (port_listening(d.port))
            return 0;
        if (waitpid(d.pid, &status, WNOHANG) == d.pid) {
            char   *text = read_file(d.log);

            fprintf(stderr, "check_milter: redgrey exited during startup:\n%s\n", text ? text : "");
            free(text);
            d.pid = 0;
            return DAEMON_EXITED;
        }
        sleep_ms(20);
    }
    fprintf(stderr, "check_milter: redgrey did not listen on %s within 15 s\n", d.spec);
    return -1;
}

/*
 * daemon_stop - SIGTERM, wait (libmilter notices within ~5 s), SIGKILL
 * if it must. Returns 0 only for a clean exit 0 in time.
 */
static int
daemon_stop(void)
{
    int     status = 0, done = 0;

    if (d.pid <= 0)
        return -1;
    redis_signal(SIGCONT);
    kill(d.pid, SIGTERM);
    for (int waited = 0; waited < 6500 && !done; waited += 20) {
        if (waitpid(d.pid, &status, WNOHANG) == d.pid)
            done = 1;
        else
            sleep_ms(20);
    }
    if (!done) {
        kill(d.pid, SIGKILL);
        waitpid(d.pid, &status, 0);
        fprintf(stderr, "check_milter: redgrey ignored SIGTERM for 6.5 s\n");
        return -1;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "check_milter: redgrey stopped with status 0x%x\n", status);
        return -1;
    }
    if (log_count("stopping") != 1) {
        fprintf(stderr, "check_milter: no \"stopping\" line in the log\n");
        return -1;
    }
    return 0;
}

static Suite *
milter_suite(void)
{
    Suite  *s = suite_create("milter");
    TCase  *tc;

    /* In order: later tests rely on triplets the delay test made pass. */
    tc = tcase_create("protocol");
    tcase_add_test(tc, test_negotiation);
    tcase_add_test(tc, test_negotiation_old_mta);
    tcase_add_test(tc, test_delay);
    tcase_add_test(tc, test_multi_rcpt);
    tcase_add_loop_test(tc, test_skip, 0, sizeof(skip_cases) / sizeof(skip_cases[0]));
    tcase_add_loop_test(tc, test_junk, 0, sizeof(junk_cases) / sizeof(junk_cases[0]));
    tcase_add_test(tc, test_store_down);
    tcase_add_test(tc, test_concurrent);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);
    return s;
}

/* main - start the daemon, run the suites, stop the daemon: all must pass */
int
main(void)
{
    SRunner *sr;
    int     failed, stop, rc;

    /* The free port may be taken before redgrey binds it: try a few. */
    for (int tries = 0; (rc = daemon_start()) != 0; tries++) {
        if (d.pid > 0)
            daemon_stop();
        if (rc != DAEMON_EXITED || tries == 2)
            return EXIT_FAILURE;
    }
    sr = srunner_create(milter_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    stop = daemon_stop();
    if (failed != 0 || stop != 0) {
        char   *text = read_file(d.log);

        fprintf(stderr, "---- redgrey log ----\n%s\n", text != NULL ? text : "(none)");
        free(text);
    }
    return failed == 0 && stop == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

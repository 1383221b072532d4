/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_milter.c - redgrey end to end, through the milter protocol.
 *
 * main() starts the real daemon (../milter/redgrey -f, through
 * tests/daemon.c: a free loopback port, retried if taken before redgrey
 * binds it) with the private Redis of with-redis.sh as its store, runs
 * the suites, and stops it with SIGTERM: a daemon that does not exit 0
 * within the bound fails the run. The tests drive it with miltc, our own
 * milter client, playing Postfix: client addresses (203.0.113.7,
 * 2001:db8:1:2::5 ...) travel only inside the protocol, no packet goes
 * anywhere but loopback. Besides the answers, the tests read the daemon's
 * log (its stderr) for the decision lines. check_cli.c tests the command
 * line (-t, -V, -h).
 *
 * The "lmdb" cases start daemons of their own on the default store, LMDB
 * in a scratch directory, once as the current user and once dropping
 * privileges to nobody (when run as root), and restart them on the same
 * directory; the "stop" case stops a daemon while sessions are open.
 *
 * Timing: delay is 2s; the tests that need a triplet to age seed all of
 * their triplets first and wait 2.1 s once. The outage test waits out the
 * 10 s quiet interval after which a recovery is logged. A stop waits for
 * libmilter's poll (up to 5 s).
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <libmilter/mfapi.h>
#include <libmilter/mfdef.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon.h"
#include "miltc.h"
#include "mta.h"

#define TIMEOUT_MS      MTA_TIMEOUT_MS   /* bound on every protocol step */
#define STOP_MS         8000             /* bound on a stop: libmilter's 5 s poll + 3 s */
#define NTHREADS        32
#define STORE_TIMEOUT_MS 250             /* store_timeout of the test daemons */
#define STORE_POOL      8                /* store_pool (the default) */

/* What the store promises for a failed call, with slack for the test's own way. */
#define STORE_DOWN_MAX_MS (2 * STORE_TIMEOUT_MS + 300)

/* The configuration of the shared daemon, beyond daemon.c's test settings. */
#define MILTER_EXTRA \
    "trusted_networks = 100.64.0.0/24\n" \
    "header = yes\n" \
    "store_pool = 8\n" \
    "spf_keying = no\n"                 /* no DNS: check_milter_spf.c tests SPF */ \
    "null_sender_stage = rcpt\n"        /* the DATA stage: check_milter_spf.c */

static struct daemon mil;                /* the shared daemon, on Redis */

/* log_count - how many times needle occurs in the shared daemon's log */
static int
log_count(const char *needle)
{
    return daemon_log_count(&mil, needle);
}

/* ---------------------------------------------------------------- client */

/*
 * mta_start - mta_client for a client of family '4' or '6' with addr, or
 * 'U'/'L' (no IP), on an open, negotiated connection. 0 or -1 with why.
 */
static int
mta_start(struct miltc *c, char family, const char *addr, char *why, size_t whylen)
{
    struct mta_conn m = {.family = family, .addr = addr};

    return mta_client(c, &m, why, whylen);
}

/*
 * mta_open_as - mta_connect_as on d for a client as in mta_start, offering
 * actions and protocol (0: what Postfix offers). 0 or -1 with why.
 */
static int
mta_open_as(struct miltc *c, const struct daemon *d, uint32_t actions, uint32_t protocol,
            char family, const char *addr, char *why, size_t whylen)
{
    struct mta_conn m = {.family = family, .addr = addr, .protocol = protocol};

    return mta_connect_as(c, d, actions, &m, why, whylen);
}

/* mta_open - mta_open_as on the shared daemon, as Postfix */
static int
mta_open(struct miltc *c, char family, const char *addr, char *why, size_t whylen)
{
    return mta_open_as(c, &mil, 0, 0, family, addr, why, whylen);
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

/* one_rcpt_on - mta_one_rcpt with d for a client of family and addr */
static int
one_rcpt_on(const struct daemon *d, char family, const char *addr, const char *from,
            const char *to, const char *auth, char *reply, size_t replylen)
{
    struct mta_conn m = {.family = family, .addr = addr};

    return mta_one_rcpt(d, &m, from, to, auth, reply, replylen, NULL);
}

/* one_rcpt - one_rcpt_on the shared daemon */
static int
one_rcpt(char family, const char *addr, const char *from, const char *to, const char *auth,
         char *reply, size_t replylen)
{
    return one_rcpt_on(&mil, family, addr, from, to, auth, reply, replylen);
}

/* answer_name - an answer for a failure message (any thread) */
#define answer_name(r) mta_answer_name(r)

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
    ck_assert_msg(mta_open_as(c, &mil, SMFI_V2_ACTS, SMFI_CURR_PROT & ~nr, '4', "203.0.113.201",
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

    daemon_sleep_ms(2100);

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
    ck_assert_msg(daemon_signal(&mil, 0) == 0, "%s: the daemon is gone", k->label);
}
END_TEST

/* ---------------------------------------------------------- store outage */

/* redis_signal - send sig to the test Redis; 0 or -1 */
static int
redis_signal(int sig)
{
    long    pid = daemon_redis_pid();

    return pid > 0 ? kill((pid_t) pid, sig) : -1;
}

/* One client of the outage burst. */
struct outage_worker {
    pthread_barrier_t *start;
    int     n;                           /* thread number: client 198.19.N.1 */
    int     answer;                      /* the RCPT answer */
    long long took;                      /* ms from RCPT to its answer */
    char    fail[400];                   /* "" when the session itself worked */
};

/* outage_worker_run - connect, wait for the others, then one timed RCPT */
static void *
outage_worker_run(void *arg)
{
    struct outage_worker *w = arg;
    struct miltc *c = malloc(sizeof(*c));
    char    addr[32], to[64], why[300];
    int     opened = 0;
    long long t0;

    snprintf(addr, sizeof(addr), "198.19.%d.1", w->n);
    snprintf(to, sizeof(to), "<burst%d@rcpt.example>", w->n);
    w->answer = MILTC_ERROR;
    if (c == NULL)
        snprintf(w->fail, sizeof(w->fail), "%s: out of memory", addr);
    else if (mta_open(c, '4', addr, why, sizeof(why)) != 0)
        snprintf(w->fail, sizeof(w->fail), "%s: %s", addr, why);
    else if (mta_mail(c, "<alice@sender.example>", NULL) != SMFIR_CONTINUE)
        snprintf(w->fail, sizeof(w->fail), "%s: MAIL: %s", addr, c->err);
    else
        opened = 1;

    /* Every thread reaches the barrier, or the others would wait forever. */
    pthread_barrier_wait(w->start);
    if (opened) {
        t0 = daemon_now_ms();
        w->answer = mta_rcpt(c, to, NULL);
        w->took = daemon_now_ms() - t0;
        if (w->answer == MILTC_ERROR)
            snprintf(w->fail, sizeof(w->fail), "%s: RCPT: %s", addr, c->err);
        (void) miltc_quit(c);
    }
    free(c);
    return NULL;
}

/*
 * test_store_down - Redis frozen (SIGSTOP): with on_store_error = accept
 * a new triplet is let through within what the store promises (one
 * store_timeout, plus one more for a reconnect, plus slack), also for
 * NTHREADS sessions at once, more than the store has connections. The
 * outage is logged once. Once Redis runs again greylisting works at once,
 * but the recovery is logged only after 10 s without a failure.
 */
START_TEST(test_store_down)
{
    pthread_t tid[NTHREADS];
    struct outage_worker w[NTHREADS];
    pthread_barrier_t start;
    char    reply[MILTC_REPLY_MAX];
    long long t0, took, burst;
    int     r, stopped, after = MILTC_ERROR, recovered = 0;

    stopped = redis_signal(SIGSTOP);
    t0 = daemon_now_ms();
    r = one_rcpt('4', "198.18.202.1", "<alice@sender.example>", "<down@rcpt.example>", NULL,
                 reply, sizeof(reply));
    took = daemon_now_ms() - t0;

    /* NTHREADS sessions at once, each answered within the same bound. */
    pthread_barrier_init(&start, NULL, NTHREADS);
    for (int i = 0; i < NTHREADS; i++) {
        memset(&w[i], 0, sizeof(w[i]));
        w[i].start = &start;
        w[i].n = i;
        if (pthread_create(&tid[i], NULL, outage_worker_run, &w[i]) != 0) {
            redis_signal(SIGCONT);
            ck_abort_msg("pthread_create failed");
        }
    }
    burst = daemon_now_ms();
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(tid[i], NULL);
    pthread_barrier_destroy(&start);
    redis_signal(SIGCONT);               /* before any assertion can end the test */

    ck_assert_msg(stopped == 0, "could not SIGSTOP redis-server: %s", strerror(errno));
    ck_assert_msg(r == SMFIR_CONTINUE, "store down: got %s (%s), want 'c' (on_store_error = accept)",
                  answer_name(r), reply);
    ck_assert_msg(took <= STORE_DOWN_MAX_MS, "store down: the answer took %lld ms, want <= %d "
                  "(2 x store_timeout %d ms + 300)", took, STORE_DOWN_MAX_MS, STORE_TIMEOUT_MS);
    for (int i = 0; i < NTHREADS; i++) {
        ck_assert_msg(w[i].fail[0] == '\0', "burst thread %d: %s", i, w[i].fail);
        ck_assert_msg(w[i].answer == SMFIR_CONTINUE, "burst thread %d: got %s, want 'c'", i,
                      answer_name(w[i].answer));
        ck_assert_msg(w[i].took <= STORE_DOWN_MAX_MS, "burst thread %d of %d (pool %d): the answer "
                      "took %lld ms, want <= %d", i, NTHREADS, STORE_POOL, w[i].took,
                      STORE_DOWN_MAX_MS);
    }
    ck_assert_msg(log_count("action=accept reason=store-error client=[198.18.202.1]") == 1,
                  "log: want the store-error decision line");
    ck_assert_msg(log_count("action=accept reason=store-error client=[198.19.") == NTHREADS,
                  "log: want %d store-error lines of the burst, got %d", NTHREADS,
                  log_count("action=accept reason=store-error client=[198.19."));
    ck_assert_msg(log_count("store: outage") == 1, "log: want one outage line for %d failures, "
                  "got %d", NTHREADS + 1, log_count("store: outage"));

    /* Redis is back: a new triplet is greylisted again (reconnects may take a try). */
    for (int i = 0; i < 10 && after != SMFIR_REPLYCODE; i++) {
        char    to[64];

        if (i > 0)
            daemon_sleep_ms(200);
        snprintf(to, sizeof(to), "<back%d@rcpt.example>", i);
        after = one_rcpt('4', "198.18.202.1", "<alice@sender.example>", to, NULL, reply,
                         sizeof(reply));
    }
    assert_greylisted("store back", after, reply);
    ck_assert_msg(log_count("store: recovered") == 0,
                  "log: a recovery line %lld ms after the last failure, want none before 10 s",
                  daemon_now_ms() - burst);

    /* Successes every 500 ms: the recovery comes once 10 s passed without failure. */
    for (int i = 0; !recovered && daemon_now_ms() - burst < 14000; i++) {
        char    to[64];

        daemon_sleep_ms(500);
        snprintf(to, sizeof(to), "<quiet%d@rcpt.example>", i);
        r = one_rcpt('4', "198.18.202.1", "<alice@sender.example>", to, NULL, reply,
                     sizeof(reply));
        assert_greylisted("quiet interval", r, reply);
        recovered = log_count("store: recovered") > 0;
    }
    took = daemon_now_ms() - burst;
    ck_assert_msg(recovered, "log: no recovery line %lld ms after the last failure", took);
    ck_assert_msg(took > 9000, "log: recovery after %lld ms, want a quiet interval of 10 s", took);
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

/* ------------------------------------------------------------ QUIT_NC */

/* mta_quit_nc - SMFIC_QUIT_NC: the connection ends, a new one follows on the same socket */
static int
mta_quit_nc(struct miltc *c)
{
    static const unsigned char pkt[] = {0, 0, 0, 1, SMFIC_QUIT_NC};

    return write(c->fd, pkt, sizeof(pkt)) == (ssize_t) sizeof(pkt) ? 0 : -1;
}

/*
 * test_quit_nc - a second SMTP connection on one milter connection
 * (SMFIC_QUIT_NC, no new negotiation): the new connection is greylisted
 * as usual, and the steps negotiated without a reply stay without one,
 * so the RCPT answers are the RCPT answers (a stray CONNECT or HELO reply
 * would be read in their place).
 */
START_TEST(test_quit_nc)
{
    struct miltc *c = malloc(sizeof(*c));
    char    why[300];
    int     r;

    ck_assert_ptr_nonnull(c);
    ck_assert_msg(mta_open(c, '4', "198.18.204.1", why, sizeof(why)) == 0, "%s", why);
    ck_assert_msg((c->protocol & (SMFIP_NR_CONN | SMFIP_NR_HELO)) == (SMFIP_NR_CONN | SMFIP_NR_HELO),
                  "protocol 0x%x: want no replies at CONNECT and HELO", c->protocol);
    ck_assert_int_eq(mta_mail(c, "<alice@sender.example>", NULL), SMFIR_CONTINUE);
    r = mta_rcpt(c, "<qnc1@rcpt.example>", NULL);
    ck_assert_msg(r == SMFIR_REPLYCODE, "first connection: got %s, want 'y'", answer_name(r));
    ck_assert_int_eq(miltc_abort(c), 0);

    ck_assert_msg(mta_quit_nc(c) == 0, "QUIT_NC: %s", strerror(errno));
    ck_assert_msg(mta_start(c, '4', "198.18.205.1", why, sizeof(why)) == 0, "%s", why);
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(mta_mail(c, "<alice@sender.example>", NULL), SMFIR_CONTINUE);
        r = mta_rcpt(c, "<qnc2@rcpt.example>", NULL);
        ck_assert_msg(r == SMFIR_REPLYCODE && strncmp(c->reply, "451 4.7.1 ", 10) == 0,
                      "second connection, message %d: got %s \"%s\", want 'y' 451", i + 1,
                      answer_name(r), r == MILTC_ERROR ? c->err : c->reply);
        ck_assert_int_eq(miltc_abort(c), 0);
    }
    miltc_quit(c);
    free(c);
    ck_assert_msg(log_count("action=greylist reason=new client=[198.18.205.1] key=198.18.205.0/24 "
                            "from=<alice@sender.example> to=<qnc2@rcpt.example>") == 1
                  && log_count("action=greylist reason=early client=[198.18.205.1]") == 1,
                  "log: want the second connection's new and early lines");
}
END_TEST

/* ------------------------------------------------------------------ LMDB */

/*
 * Daemons a test starts itself. They live in static storage so that
 * main's exit handler can kill what a failed test left running (a failed
 * assertion exits the test's process).
 */
static struct daemon own[2];

/* own_cleanup - kill and reap the test's own daemons still running */
static void
own_cleanup(void)
{
    for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
        if (own[i].pid > 0) {
            daemon_signal(&own[i], SIGKILL);
            daemon_wait(&own[i], 2000);
        }
}

/* own_dir - a fresh LMDB directory TMP/name.db, chowned to pw (NULL: stays ours); its path */
static const char *
own_dir(const char *name, const struct passwd *pw, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%s.db", daemon_tmp(), name);
    ck_assert_msg(mkdir(buf, 0700) == 0, "mkdir %s: %s", buf, strerror(errno));
    if (pw != NULL)
        ck_assert_msg(chown(buf, pw->pw_uid, pw->pw_gid) == 0, "chown %s: %s", buf,
                      strerror(errno));
    return buf;
}

/* The default store, as the current user and as nobody. */
static const struct lmdb_case {
    const char *label;
    const char *name;                    /* daemon name and directory */
    const char *user;                    /* user = ... */
    const char *client;                  /* the client of the triplet */
} lmdb_cases[] = {
    {"lmdb", "lmdb", "", "192.0.2.77"},
    {"lmdb as nobody", "lmdbnobody", "nobody", "192.0.2.78"},
};

/*
 * test_lmdb_restart - greylist on LMDB, stop the daemon (SIGTERM, wait by
 * pid), start it again on the same directory, retry after the delay: the
 * entry survived and the retry passes. As root the "nobody" row drops
 * privileges, its directory chowned to nobody; as another user it must
 * say it cannot switch, and still work.
 */
START_TEST(test_lmdb_restart)
{
    const struct lmdb_case *k = &lmdb_cases[_i];
    struct daemon *d = &own[0];
    const struct passwd *pw = NULL;
    struct daemon_redgrey_opts o;
    char    dir[700], store[720], file[760], reply[MILTC_REPLY_MAX], line[256];
    int     drop = 0, r, rc;
    long long t0;
    struct stat sb;

    if (k->user[0] != '\0') {
        pw = getpwnam(k->user);
        ck_assert_msg(pw != NULL, "%s: no user %s", k->label, k->user);
        drop = geteuid() == 0;
    }
    snprintf(store, sizeof(store), "lmdb:%s", own_dir(k->name, drop ? pw : NULL, dir, sizeof(dir)));
    memset(&o, 0, sizeof(o));
    o.store = store;
    o.user = k->user;

    /* First run: the first attempt and an early retry are greylisted. */
    rc = daemon_start_redgrey_with(d, k->name, &o);
    ck_assert_msg(rc == 0, "%s: start: got %d, want 0 (see %s)", k->label, rc, d->log);
    t0 = daemon_now_ms();
    r = one_rcpt_on(d, '4', k->client, "<lmdb@sender.example>", "<bob@rcpt.example>", NULL,
                    reply, sizeof(reply));
    assert_greylisted(k->label, r, reply);
    r = one_rcpt_on(d, '4', k->client, "<lmdb@sender.example>", "<bob@rcpt.example>", NULL,
                    reply, sizeof(reply));
    assert_greylisted(k->label, r, reply);
    ck_assert_msg(daemon_stop(d, STOP_MS) == 0, "%s: first run did not stop cleanly", k->label);

    /* Who the daemon ran as, and who owns what it wrote. */
    if (drop) {
        ck_assert_msg(daemon_log_count(d, "running as user nobody") == 1,
                      "%s: want \"running as user nobody\" in the log", k->label);
        snprintf(file, sizeof(file), "%s/data.mdb", dir);
        ck_assert_msg(stat(file, &sb) == 0 && sb.st_uid == pw->pw_uid,
                      "%s: %s: want it owned by uid %ld", k->label, file, (long) pw->pw_uid);
    } else if (pw != NULL) {
        ck_assert_msg(daemon_log_count(d, "cannot switch to user nobody") == 1,
                      "%s: not root: want the warning that it stays itself", k->label);
    }

    /* Second run on the same directory: the retry after the delay passes. */
    rc = daemon_start_redgrey_with(d, k->name, &o);
    ck_assert_msg(rc == 0, "%s: restart: got %d, want 0 (see %s)", k->label, rc, d->log);
    if (daemon_now_ms() - t0 < 2100)
        daemon_sleep_ms((long) (2100 - (daemon_now_ms() - t0)));
    r = one_rcpt_on(d, '4', k->client, "<lmdb@sender.example>", "<bob@rcpt.example>", NULL,
                    reply, sizeof(reply));
    ck_assert_msg(r == SMFIR_CONTINUE, "%s: retry after the restart: got %s (%s), want 'c'",
                  k->label, answer_name(r), reply);
    ck_assert_msg(daemon_stop(d, STOP_MS) == 0, "%s: second run did not stop cleanly", k->label);

    snprintf(line, sizeof(line), "action=greylist reason=new client=[%s]", k->client);
    ck_assert_msg(daemon_log_count(d, line) == 1, "%s: want one \"%s\"", k->label, line);
    snprintf(line, sizeof(line), "action=greylist reason=early client=[%s]", k->client);
    ck_assert_msg(daemon_log_count(d, line) == 1, "%s: want one \"%s\"", k->label, line);
    snprintf(line, sizeof(line), "action=pass reason=retry client=[%s]", k->client);
    ck_assert_msg(daemon_log_count(d, line) == 1, "%s: want one \"%s\" after the restart",
                  k->label, line);
    ck_assert_msg(daemon_log_count(d, "stopping") == 2, "%s: want two \"stopping\" lines",
                  k->label);
}
END_TEST

/* ------------------------------------------------------------------- stop */

/* pkt_add - append one milter packet (length, cmd, data) to buf at *len; 0 or -1 */
static int
pkt_add(unsigned char *buf, size_t size, size_t *len, char cmd, const void *data, size_t n)
{
    uint32_t nl = htonl((uint32_t) (n + 1));

    if (*len + 5 + n > size)
        return -1;
    memcpy(buf + *len, &nl, 4);
    buf[*len + 4] = (unsigned char) cmd;
    if (n > 0)
        memcpy(buf + *len + 5, data, n);
    *len += 5 + n;
    return 0;
}

/* raw_answer - the command byte of the next packet on fd within ms, or -1 */
static int
raw_answer(int fd, int ms)
{
    unsigned char hdr[5];

    return daemon_read_full(fd, hdr, sizeof(hdr), ms) == 0 ? hdr[4] : -1;
}

/*
 * test_stop - stopping (SIGTERM) while a connection is being served: no
 * new session is made after the stop, so a new SMTP connection on a kept
 * milter connection (SMFIC_QUIT_NC) gets a plain "continue" without the
 * store, which is about to be closed.
 *
 * libmilter's worker pool (Debian builds it so) serves nothing new once
 * stopped, except what a worker already inside its command loop finds
 * ready on its socket. So connection a holds a worker by sending half a
 * packet before the SIGTERM, and the rest -- the end of QUIT_NC, then
 * CONNECT, HELO, MAIL and RCPT -- in one write after it. Connection b
 * stays open and idle, so that the daemon keeps waiting (and the store
 * open) until a's answer is read; it then gives up on b and exits 0.
 */
START_TEST(test_stop)
{
    static const char mac[] = "Cj\0" MTA_HOST "\0{client_addr}\0" "198.18.206.3";
    static const char conn[] = "client.example\0" "4\0\031" "198.18.206.3";
    static const char helo[] = "client.example";
    static const char mail[] = "<stop@sender.example>";
    static const char rcpt[] = "<stop-a@rcpt.example>";
    struct daemon *d = &own[1];
    struct daemon_redgrey_opts o;
    struct miltc *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
    unsigned char pkt[1024];
    size_t  len = 0;
    char    dir[700], store[720], why[300];
    int     r, status;

    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    snprintf(store, sizeof(store), "lmdb:%s", own_dir("stop", NULL, dir, sizeof(dir)));
    memset(&o, 0, sizeof(o));
    o.store = store;
    ck_assert_int_eq(daemon_start_redgrey_with(d, "stop", &o), 0);
    ck_assert_msg(mta_open_as(a, d, 0, 0, '4', "198.18.206.1", why, sizeof(why)) == 0, "a: %s", why);
    ck_assert_msg(mta_open_as(b, d, 0, 0, '4', "198.18.206.2", why, sizeof(why)) == 0, "b: %s", why);
    ck_assert_int_eq(mta_mail(a, "<stop@sender.example>", NULL), SMFIR_CONTINUE);
    r = mta_rcpt(a, "<stop-first@rcpt.example>", NULL);
    ck_assert_msg(r == SMFIR_REPLYCODE, "before the stop: got %s, want 'y'", answer_name(r));
    ck_assert_int_eq(miltc_abort(a), 0);

    /* Half of QUIT_NC: a worker waits inside a's command loop for the rest. */
    ck_assert_int_eq(pkt_add(pkt, sizeof(pkt), &len, SMFIC_QUIT_NC, NULL, 0), 0);
    ck_assert_int_eq(write(a->fd, pkt, 2), 2);
    daemon_sleep_ms(300);
    ck_assert_int_eq(daemon_signal(d, SIGTERM), 0);
    ck_assert_msg(daemon_log_wait(d, "stopping", 1, STOP_MS) == 1, "no \"stopping\" within %d ms",
                  STOP_MS);

    /* The rest, and a whole new SMTP connection up to RCPT, at once. */
    ck_assert_int_eq(pkt_add(pkt, sizeof(pkt), &len, SMFIC_MACRO, mac, sizeof(mac)), 0);
    ck_assert_int_eq(pkt_add(pkt, sizeof(pkt), &len, SMFIC_CONNECT, conn, sizeof(conn)), 0);
    ck_assert_int_eq(pkt_add(pkt, sizeof(pkt), &len, SMFIC_HELO, helo, sizeof(helo)), 0);
    ck_assert_int_eq(pkt_add(pkt, sizeof(pkt), &len, SMFIC_MAIL, mail, sizeof(mail)), 0);
    ck_assert_int_eq(pkt_add(pkt, sizeof(pkt), &len, SMFIC_RCPT, rcpt, sizeof(rcpt)), 0);
    ck_assert_int_eq(write(a->fd, pkt + 2, len - 2), (ssize_t) (len - 2));
    r = raw_answer(a->fd, TIMEOUT_MS);
    ck_assert_msg(r == SMFIR_CONTINUE, "new connection after the stop: got %s, want 'c'",
                  r < 0 ? "no answer" : answer_name(r));
    miltc_close(a);
    free(a);

    status = daemon_wait(d, STOP_MS);
    miltc_close(b);
    free(b);
    ck_assert_msg(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "exit: got status 0x%x, want exit 0", status);
    ck_assert_msg(daemon_log_count(d, "to=<stop-first@rcpt.example>") == 1,
                  "log: want the decision before the stop");
    ck_assert_msg(daemon_log_count(d, "to=<stop-a@rcpt.example>") == 0,
                  "log: the connection after the stop reached the store");
    ck_assert_msg(daemon_log_count(d, "1 sessions still open") == 1,
                  "log: want the daemon to give up on b alone");
}
END_TEST

/* -------------------------------------------------------- log escaping */

/*
 * test_log_escaping - a sender, a recipient and a queue id made to forge
 * log fields and lines (blanks, '=', '<', '>', '"', CR/LF, a fake
 * syslog prefix, 8-bit bytes): the decision line has exactly the
 * daemon's own key=value fields, with every hostile byte as \xHH, and
 * no second line.
 */
START_TEST(test_log_escaping)
{
    static const char from[] = "<zzforge1 x=\"1\" action=accept to=<v@x>\r\n"
        "redgrey[1]: info: Q: action=pass \xc3\xa9@sender.example>";
    static const char to[] = "<zzforge2\">\" key=k\n\xff@rcpt.example>";
    static const char want[] = "Q7\\x20action\\x3daccept: action=greylist reason=new "
        "client=[198.18.210.1] key=198.18.210.0/24 "
        "from=<zzforge1\\x20x\\x3d\\x221\\x22\\x20action\\x3daccept\\x20to\\x3d\\x3cv@x\\x3e"
        "\\x0d\\x0aredgrey[1]:\\x20info:\\x20Q:\\x20action\\x3dpass\\x20\\xc3\\xa9@sender.example> "
        "to=<zzforge2\\x22\\x3e\\x22\\x20key\\x3dk\\x0a\\xff@rcpt.example>";
    static const char *const keys[] = {"action", "reason", "client", "key", "from", "to"};
    struct miltc *c = malloc(sizeof(*c));
    char    why[300], *text, *line, *end, *tok, *save;
    size_t  nkeys = 0;
    int     r;

    ck_assert_ptr_nonnull(c);
    ck_assert_msg(mta_open(c, '4', "198.18.210.1", why, sizeof(why)) == 0, "%s", why);
    ck_assert_int_eq(mta_mail(c, from, NULL), SMFIR_CONTINUE);
    r = mta_rcpt(c, to, "Q7 action=accept");
    ck_assert_msg(r == SMFIR_REPLYCODE, "rcpt: got %s, want 'y'", answer_name(r));
    (void) miltc_abort(c);
    (void) miltc_quit(c);
    free(c);
    /* The sender is on the decision line and on the message's summary line. */
    ck_assert_msg(daemon_log_wait(&mil, "zzforge1", 2, TIMEOUT_MS) == 2,
                  "want the decision and the summary line");

    /*
     * One decision line has the markers (the summary line, tested by
     * test_summary, has the sender too), and after "info: " it is
     * exactly the expected line.
     */
    ck_assert_int_eq(log_count("zzforge2"), 1);
    ck_assert_int_eq(log_count("redgrey[1]"), 2);
    text = daemon_read_file(mil.log);
    ck_assert_ptr_nonnull(text);
    line = strstr(text, "zzforge1");
    while (line > text && line[-1] != '\n')
        line--;
    end = strchr(line, '\n');
    ck_assert_ptr_nonnull(end);
    *end = '\0';
    ck_assert_msg(strchr(line, '\r') == NULL, "a CR in the line: %s", line);
    ck_assert_msg(strstr(line, "zzforge2") != NULL, "rcpt not on the sender's line: %s", line);
    line = strstr(line, ": info: ");
    ck_assert_ptr_nonnull(line);
    line += 8;
    ck_assert_msg(strcmp(line, want) == 0, "got  %s\nwant %s", line, want);

    /* Field by field: after the queue id, the six keys of the daemon, in order, once each. */
    line = strchr(line, ' ') + 1;
    for (tok = strtok_r(line, " ", &save); tok != NULL; tok = strtok_r(NULL, " ", &save)) {
        char   *eq = strchr(tok, '=');

        ck_assert_msg(eq != NULL && nkeys < 6, "field %zu \"%s\": not one of the six", nkeys, tok);
        *eq = '\0';
        ck_assert_msg(strcmp(tok, keys[nkeys]) == 0, "field %zu: got %s, want %s", nkeys, tok,
                      keys[nkeys]);
        ck_assert_msg(strchr(eq + 1, '=') == NULL, "field %s: a second '='", tok);
        nkeys++;
    }
    ck_assert_uint_eq(nkeys, 6);
    free(text);
}
END_TEST

/* ---------------------------------------------------------------- summary */

/*
 * test_summary - one summary line per message, at abort and at eom: the
 * queue id, client name[IP], HELO, sender, counts per action, key and
 * largest delay, every field from the network escaped; a second abort
 * (Postfix sends two) adds no line.
 */
START_TEST(test_summary)
{
    static const char want_abort[] = "Q8\\x3dx: summary client=mx\\x20a\\x3db.example"
        "[198.18.211.1] helo=helo.example from=<zzsum1@sender.example> rcpts=2 greylist=2 "
        "pass=0 accept=0 key=198.18.211.0/24 delay=- end=abort";
    static const char want_eom[] = "Q9: summary client=unknown[100.64.0.9] helo=client.example "
        "from=<zzsum2@sender.example> rcpts=1 greylist=0 pass=0 accept=1 key=100.64.0.0/24 "
        "delay=- end=eom";
    static const char *const eom_qid[] = {"i", "Q9"};
    struct mta_conn m = {'4', "198.18.211.1", "helo.example", "mx a=b.example", NULL, 0};
    struct miltc *c = malloc(sizeof(*c));
    char    why[300];
    int     r;

    ck_assert_ptr_nonnull(c);
    ck_assert_msg(mta_connect(c, &mil, &m, why, sizeof(why)) == 0, "%s", why);
    ck_assert_int_eq(mta_mail(c, "<zzsum1@sender.example>", NULL), SMFIR_CONTINUE);
    r = mta_rcpt(c, "<a@rcpt.example>", "Q8=x");
    ck_assert_msg(r == SMFIR_REPLYCODE, "rcpt a: got %s, want 'y'", answer_name(r));
    r = mta_rcpt(c, "<b@rcpt.example>", "Q8=x");
    ck_assert_msg(r == SMFIR_REPLYCODE, "rcpt b: got %s, want 'y'", answer_name(r));
    ck_assert_int_eq(miltc_abort(c), 0);
    ck_assert_int_eq(miltc_abort(c), 0);
    (void) miltc_quit(c);

    /* A trusted client: accepted, the message ends with eom. */
    ck_assert_msg(mta_open(c, '4', "100.64.0.9", why, sizeof(why)) == 0, "%s", why);
    ck_assert_int_eq(mta_mail(c, "<zzsum2@sender.example>", NULL), SMFIR_CONTINUE);
    r = mta_rcpt(c, "<c@rcpt.example>", "Q9");
    ck_assert_msg(r == SMFIR_CONTINUE, "trusted rcpt: got %s, want 'c'", answer_name(r));
    ck_assert_int_eq(miltc_macro(c, SMFIC_BODYEOB, eom_qid, 2), 0);
    r = miltc_eom(c);
    ck_assert_msg(r == SMFIR_CONTINUE, "eom: got %s, want 'c'", answer_name(r));
    (void) miltc_quit(c);
    free(c);

    ck_assert_msg(daemon_log_wait(&mil, want_eom, 1, TIMEOUT_MS) == 1, "want \"%s\"", want_eom);
    ck_assert_msg(log_count(want_abort) == 1, "want \"%s\" once, got %d", want_abort,
                  log_count(want_abort));
    ck_assert_int_eq(log_count("summary client=mx"), 1);
    ck_assert_int_eq(log_count("from=<zzsum2@sender.example> rcpts="), 1);
}
END_TEST

/* ----------------------------------------------------------------- suite */

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
    tcase_add_test(tc, test_quit_nc);
    tcase_add_test(tc, test_store_down);
    tcase_add_test(tc, test_concurrent);
    tcase_add_test(tc, test_log_escaping);
    tcase_add_test(tc, test_summary);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);

    tc = tcase_create("lmdb");
    tcase_add_loop_test(tc, test_lmdb_restart, 0, sizeof(lmdb_cases) / sizeof(lmdb_cases[0]));
    tcase_add_test(tc, test_stop);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return s;
}

/* main - start the daemon, run the suites, stop the daemon: all must pass */
int
main(void)
{
    int     failed, stop;

    if (daemon_start_redgrey(&mil, "milter", MILTER_EXTRA, NULL) != 0) {
        fprintf(stderr, "check_milter: redgrey did not start\n");
        daemon_log_print(&mil);
        return EXIT_FAILURE;
    }
    atexit(own_cleanup);
    failed = daemon_run_suites(milter_suite(), NULL);
    redis_signal(SIGCONT);
    stop = daemon_stop(&mil, STOP_MS);
    if (stop == 0 && log_count("stopping") != 1) {
        fprintf(stderr, "check_milter: no \"stopping\" line in the log\n");
        stop = -1;
    }
    if (failed != 0 || stop != 0)
        daemon_log_print(&mil);
    return failed == 0 && stop == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

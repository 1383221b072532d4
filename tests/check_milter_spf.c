/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_milter_spf.c - sender pools end to end, through the milter
 * protocol: SPF-keyed triplets, the static whitelists and their reload,
 * sender normalisation, and the null sender at DATA or RCPT.
 *
 * main() starts dnsmasq on a free loopback port as the only DNS server,
 * serving the SPF records of the table below (every other name under
 * spf.test is NXDOMAIN, and nothing is forwarded anywhere), and two
 * redgrey daemons on the private Redis of with-redis.sh:
 *   "spf"  dns_servers = the dnsmasq, null_sender_stage = data, all four
 *          whitelist files;
 *   "slow" dns_servers = a loopback UDP port this program holds open and
 *          never reads (every query times out), dns_timeout = 1s,
 *          null_sender_stage = rcpt.
 * Client addresses travel only inside the protocol.
 *
 * Timing: delay is 2s; the retry tests seed first and wait 2.1 s once.
 * The whitelist reload poll would take 10 s; the daemons get the hidden
 * knob REDGREY_TEST_RELOAD_MS=200 in their environment (read by
 * milter/lists.c), so a changed file is picked up within a fraction of a
 * second. Stopping waits for libmilter's 5 s poll, once for both daemons.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <libmilter/mfapi.h>
#include <libmilter/mfdef.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon.h"
#include "miltc.h"
#include "mta.h"

#define RELOAD_MS    200                 /* the reload poll of the test daemons */
#define GREY_REPLY   "451 4.7.1 Greylisted, please try again later"

static struct daemon dns;                /* dnsmasq */
static struct daemon spf;                /* redgrey, SPF and whitelists */
static struct daemon slow;               /* redgrey, dead DNS, stage rcpt */
static int dead_fd = -1;                 /* the UDP socket nobody reads */
static char wl_clients[600];             /* whitelist files of "spf" */
static char wl_names[600];
static char wl_rcpts[600];
static char wl_senders[600];

/*
 * Records written to crash libspf2 1.2.10 (CVE-2023-42118): 127 macros,
 * then a literal that its compiler copies past a stack buffer. setup_all()
 * fills them in.
 */
#define HOSTILE_MACROS 127
static char hostile_record[64 + HOSTILE_MACROS * 4 + 4000];  /* an SPF record */
static char hostile_exp[64 + HOSTILE_MACROS * 4 + 10];       /* an explanation */

/* The zone: dnsmasq options; every record is TXT. */
static const char *const dns_records[] = {
    "--txt-record=pass.spf.test,v=spf1 ip4:198.51.100.0/24 ip4:203.0.113.0/24 "
    "ip6:2001:db8:5::/48 -all",
    "--txt-record=softfail.spf.test,v=spf1 ~all",
    "--txt-record=fail.spf.test,v=spf1 -all",
    "--txt-record=neutral.spf.test,v=spf1 ?all",
    "--txt-record=broad.spf.test,v=spf1 +all",
    "--txt-record=half.spf.test,v=spf1 ip4:0.0.0.0/1 -all",
    "--txt-record=helo.spf.test,v=spf1 ip4:198.51.100.0/24 -all",
    "--txt-record=wl.spf.test,v=spf1 ip4:198.51.100.0/24 -all",
    "--txt-record=wlbroad.spf.test,v=spf1 +all",
    "--txt-record=expboom.spf.test,v=spf1 -all exp=boom.spf.test",
    hostile_record,
    hostile_exp,
    NULL,
};

/* hostile_fill - out = prefix, HOSTILE_MACROS x "%{d}", nlit x 'A' (out has room) */
static void
hostile_fill(char *out, const char *prefix, size_t nlit)
{
    char   *p = out + sprintf(out, "%s", prefix);

    for (int i = 0; i < HOSTILE_MACROS; i++)
        p += sprintf(p, "%%{d}");
    memset(p, 'A', nlit);
    p[nlit] = '\0';
}

#define WL_CLIENTS_TEXT "# clients\n198.18.100.0/24\n2001:db8:77::/48\n"

/* ---------------------------------------------------------------- client */

/* answer_name - an answer for a failure message */
#define answer_name(r) mta_answer_name(r)

/* one_rcpt - mta_one_rcpt without SASL */
static int
one_rcpt(const struct daemon *d, const struct mta_conn *m, const char *from, const char *to,
         char *reply, size_t replylen, long long *took)
{
    return mta_one_rcpt(d, m, from, to, NULL, reply, replylen, took);
}

/* assert_answer - r is want ('y' means the 451 greylisting reply) */
#define assert_answer(label, r, reply, want) do { \
    ck_assert_msg((r) == (want), "%s: got %s (%s), want %s", (label), answer_name(r), (reply), \
                  answer_name(want)); \
    if ((want) == SMFIR_REPLYCODE) \
        ck_assert_msg(strcmp((reply), GREY_REPLY) == 0, "%s: got reply \"%s\", want \"%s\"", \
                      (label), (reply), GREY_REPLY); \
} while (0)

/* assert_logged - the daemon logged needle exactly n times */
#define assert_logged(label, d, needle, n) do { \
    int     got_ = daemon_log_count((d), (needle)); \
    ck_assert_msg(got_ == (n), "%s: log of %s: got %d lines with \"%s\", want %d", (label), \
                  (d)->name, got_, (needle), (n)); \
} while (0)

/* ------------------------------------------------------------ negotiation */

/*
 * test_negotiation - with null_sender_stage = data, DATA is not turned
 * off; with rcpt it is; {client_resolve} is asked for at CONNECT.
 */
START_TEST(test_negotiation)
{
    struct miltc *c = malloc(sizeof(*c));
    struct mta_conn m = {'4', "198.18.1.1", NULL, NULL, NULL, 0};
    char    why[300];

    ck_assert_ptr_nonnull(c);
    ck_assert_msg(mta_connect(c, &spf, &m, why, sizeof(why)) == 0, "%s", why);
    ck_assert_msg((c->protocol & SMFIP_NODATA) == 0,
                  "stage data: protocol 0x%x turns DATA off", c->protocol);
    ck_assert_msg((c->protocol & SMFIP_NR_DATA) == 0,
                  "stage data: protocol 0x%x asks for no reply at DATA", c->protocol);
    ck_assert_msg(strcmp(c->macros[SMFIM_CONNECT], "{client_addr} {client_name} {client_resolve} j")
                  == 0, "connect macros: got \"%s\"", c->macros[SMFIM_CONNECT]);
    miltc_quit(c);

    ck_assert_msg(mta_connect(c, &slow, &m, why, sizeof(why)) == 0, "%s", why);
    ck_assert_msg((c->protocol & SMFIP_NODATA) != 0,
                  "stage rcpt: protocol 0x%x does not turn DATA off", c->protocol);
    miltc_quit(c);
    free(c);
}
END_TEST

/* -------------------------------------------------------------- SPF keys */

/* One first attempt per row: the answer, the key and the SPF result logged. */
static const struct key_case {
    const char *label;
    char    family;
    const char *addr;
    const char *helo;
    const char *from;
    const char *to;
    int     want;                        /* RCPT answer */
    const char *log;                     /* in the decision line */
} key_cases[] = {
    {"pass", '4', "198.51.100.10", NULL, "<a@pass.spf.test>", "<k1@rcpt.test>", SMFIR_REPLYCODE,
     "reason=new client=[198.51.100.10] key=spf:pass.spf.test from=<a@pass.spf.test> "
     "to=<k1@rcpt.test> spf=pass spf_key=domain\n"},
    {"pass, uppercase domain", '4', "198.51.100.10", NULL, "<a@PASS.spf.test>", "<k2@rcpt.test>",
     SMFIR_REPLYCODE, "key=spf:pass.spf.test from=<a@PASS.spf.test> to=<k2@rcpt.test> spf=pass"},
    {"pass, ipv6 client", '6', "2001:db8:5::10", NULL, "<a@pass.spf.test>", "<k3@rcpt.test>",
     SMFIR_REPLYCODE, "key=spf:pass.spf.test from=<a@pass.spf.test> to=<k3@rcpt.test> spf=pass"},
    {"pass, client not in the record", '4', "198.18.2.2", NULL, "<a@pass.spf.test>",
     "<k4@rcpt.test>", SMFIR_REPLYCODE, "key=198.18.2.0/24 from=<a@pass.spf.test> "
     "to=<k4@rcpt.test> spf=fail"},
    {"softfail", '4', "198.51.100.11", NULL, "<a@softfail.spf.test>", "<k5@rcpt.test>",
     SMFIR_REPLYCODE, "key=198.51.100.0/24 from=<a@softfail.spf.test> to=<k5@rcpt.test> spf=softfail"},
    {"fail", '4', "198.51.100.11", NULL, "<a@fail.spf.test>", "<k6@rcpt.test>", SMFIR_REPLYCODE,
     "key=198.51.100.0/24 from=<a@fail.spf.test> to=<k6@rcpt.test> spf=fail"},
    {"neutral", '4', "198.51.100.11", NULL, "<a@neutral.spf.test>", "<k7@rcpt.test>",
     SMFIR_REPLYCODE, "key=198.51.100.0/24 from=<a@neutral.spf.test> to=<k7@rcpt.test> spf=neutral"},
    {"none (NXDOMAIN)", '4', "198.51.100.11", NULL, "<a@none.spf.test>", "<k8@rcpt.test>",
     SMFIR_REPLYCODE, "key=198.51.100.0/24 from=<a@none.spf.test> to=<k8@rcpt.test> spf=none"},
    {"over-broad +all", '4', "203.0.113.9", NULL, "<a@broad.spf.test>", "<k9@rcpt.test>",
     SMFIR_REPLYCODE, "key=203.0.113.0/24 from=<a@broad.spf.test> to=<k9@rcpt.test> spf=pass "
     "spf_key=netblock why=unbounded(+all)\n"},
    {"over-broad ip4:0.0.0.0/1", '4', "10.1.2.3", NULL, "<a@half.spf.test>", "<k10@rcpt.test>",
     SMFIR_REPLYCODE, "key=10.1.2.0/24 from=<a@half.spf.test> to=<k10@rcpt.test> spf=pass "
     "spf_key=netblock why=too-wide(ip4/1)\n"},
    {"null sender, HELO passes", '4', "198.51.100.12", "helo.spf.test", "<>", "<k11@rcpt.test>",
     SMFIR_CONTINUE, "reason=new client=[198.51.100.12] key=spf:helo.spf.test from=<> "
     "to=<k11@rcpt.test> spf=pass spf_key=domain stage=data"},
    {"null sender, HELO an address literal", '4', "198.51.100.12", "[198.51.100.12]", "<>",
     "<k12@rcpt.test>", SMFIR_CONTINUE, "key=198.51.100.0/24 from=<> to=<k12@rcpt.test> stage=data"},
    {"junk sender, HELO not used", '4', "198.51.100.12", "helo.spf.test", "<nobody>",
     "<k13@rcpt.test>", SMFIR_REPLYCODE, "key=198.51.100.0/24 from=<nobody> to=<k13@rcpt.test>\n"},
    {"sender domain not a name", '4', "198.51.100.12", NULL, "<a@[198.51.100.12]>",
     "<k14@rcpt.test>", SMFIR_REPLYCODE, "key=198.51.100.0/24 from=<a@[198.51.100.12]> "
     "to=<k14@rcpt.test> spf=none"},
};

/* test_keys - each row's answer and decision line */
START_TEST(test_keys)
{
    const struct key_case *k = &key_cases[_i];
    struct mta_conn m = {k->family, k->addr, k->helo, NULL, NULL, 0};
    char    reply[MILTC_REPLY_MAX];
    int     r;

    r = one_rcpt(&spf, &m, k->from, k->to, reply, sizeof(reply), NULL);
    assert_answer(k->label, r, reply, k->want);
    assert_logged(k->label, &spf, k->log, 1);
}
END_TEST

/*
 * test_hostile - answers written to crash libspf2: the record is
 * permerror (keyed on the netblock), the explanation is never fetched
 * (fail), the daemon lives on, and the rejection is logged once however
 * often the record is seen within the interval.
 */
START_TEST(test_hostile)
{
    struct mta_conn m = {'4', "198.51.100.13", NULL, NULL, NULL, 0};
    char    reply[MILTC_REPLY_MAX];
    int     r;

    r = one_rcpt(&spf, &m, "<a@cve.spf.test>", "<h1@rcpt.test>", reply, sizeof(reply), NULL);
    assert_answer("hostile record", r, reply, SMFIR_REPLYCODE);
    assert_logged("hostile record", &spf, "key=198.51.100.0/24 from=<a@cve.spf.test> "
                  "to=<h1@rcpt.test> spf=permerror", 1);
    r = one_rcpt(&spf, &m, "<a@expboom.spf.test>", "<h2@rcpt.test>", reply, sizeof(reply), NULL);
    assert_answer("hostile explanation", r, reply, SMFIR_REPLYCODE);
    assert_logged("hostile explanation", &spf, "key=198.51.100.0/24 from=<a@expboom.spf.test> "
                  "to=<h2@rcpt.test> spf=fail", 1);
    r = one_rcpt(&spf, &m, "<b@cve.spf.test>", "<h3@rcpt.test>", reply, sizeof(reply), NULL);
    assert_answer("hostile record again", r, reply, SMFIR_REPLYCODE);
    assert_logged("hostile record again", &spf, "from=<b@cve.spf.test> to=<h3@rcpt.test> "
                  "spf=permerror", 1);
    assert_logged("one rejection line", &spf, "spf: rejected the SPF record of \"cve.spf.test\": "
                  "record longer than 2048 bytes at byte 2048", 1);
    ck_assert_msg(daemon_signal(&spf, 0) == 0, "redgrey is gone");
}
END_TEST

/* --------------------------------------------------------------- retries */

/*
 * test_retry - the point of SPF keying and sender normalisation: after
 * the delay, a retry from another /16 and from IPv6 (both authorised by
 * the domain) passes, and so does a VERP sender whose token changed.
 * Netblock-keyed mail from another /16 does not.
 */
START_TEST(test_retry)
{
    struct mta_conn first = {'4', "198.51.100.20", NULL, NULL, NULL, 0};
    struct mta_conn other16 = {'4', "203.0.113.77", NULL, NULL, NULL, 0};
    struct mta_conn v6 = {'6', "2001:db8:5::7", NULL, NULL, NULL, 0};
    struct mta_conn verp = {'4', "198.18.3.3", NULL, NULL, NULL, 0};
    char    reply[MILTC_REPLY_MAX];
    int     r;

    /* Seed. */
    r = one_rcpt(&spf, &first, "<news@pass.spf.test>", "<r1@rcpt.test>", reply, sizeof(reply), NULL);
    assert_answer("pass: first attempt", r, reply, SMFIR_REPLYCODE);
    r = one_rcpt(&spf, &first, "<news@softfail.spf.test>", "<r1@rcpt.test>", reply, sizeof(reply),
                 NULL);
    assert_answer("softfail: first attempt", r, reply, SMFIR_REPLYCODE);
    r = one_rcpt(&spf, &verp, "<bounce-20260001@lists.spf.test>", "<r1@rcpt.test>", reply,
                 sizeof(reply), NULL);
    assert_answer("verp: first attempt", r, reply, SMFIR_REPLYCODE);

    daemon_sleep_ms(2100);

    r = one_rcpt(&spf, &other16, "<news@pass.spf.test>", "<r1@rcpt.test>", reply, sizeof(reply),
                 NULL);
    assert_answer("pass: retry from another /16", r, reply, SMFIR_CONTINUE);
    assert_logged("pass: retry from another /16", &spf, "action=pass reason=retry "
                  "client=[203.0.113.77] key=spf:pass.spf.test from=<news@pass.spf.test> "
                  "to=<r1@rcpt.test> spf=pass spf_key=domain delay=", 1);
    r = one_rcpt(&spf, &v6, "<news@pass.spf.test>", "<r1@rcpt.test>", reply, sizeof(reply), NULL);
    assert_answer("pass: retry from ipv6", r, reply, SMFIR_CONTINUE);
    assert_logged("pass: retry from ipv6", &spf, "client=[2001:db8:5::7] key=spf:pass.spf.test "
                  "from=<news@pass.spf.test> to=<r1@rcpt.test> spf=pass", 1);

    /* The same move without an SPF pass is a new triplet. */
    r = one_rcpt(&spf, &other16, "<news@softfail.spf.test>", "<r1@rcpt.test>", reply,
                 sizeof(reply), NULL);
    assert_answer("softfail: retry from another /16", r, reply, SMFIR_REPLYCODE);

    /* VERP: another token, the same stream; the log keeps the raw address. */
    r = one_rcpt(&spf, &verp, "<bounce-20260002@lists.spf.test>", "<r1@rcpt.test>", reply,
                 sizeof(reply), NULL);
    assert_answer("verp: retry with a new token", r, reply, SMFIR_CONTINUE);
    assert_logged("verp: retry with a new token", &spf, "action=pass reason=retry "
                  "client=[198.18.3.3] key=198.18.3.0/24 from=<bounce-20260002@lists.spf.test> "
                  "to=<r1@rcpt.test> spf=none delay=", 1);
}
END_TEST

/* --------------------------------------------------------- DNS timeout */

/*
 * test_dns_timeout - a resolver that never answers: the netblock key,
 * spf=temperror, and the RCPT answer within dns_timeout (1 s) plus slack.
 */
START_TEST(test_dns_timeout)
{
    struct mta_conn m = {'4', "198.51.100.40", NULL, NULL, NULL, 0};
    char    reply[MILTC_REPLY_MAX];
    long long took;
    int     r;

    r = one_rcpt(&slow, &m, "<a@pass.spf.test>", "<t1@rcpt.test>", reply, sizeof(reply), &took);
    assert_answer("dns timeout", r, reply, SMFIR_REPLYCODE);
    ck_assert_msg(took < 2500, "dns timeout: the RCPT answer took %lld ms, want < 2500 "
                  "(dns_timeout = 1s)", took);
    assert_logged("dns timeout", &slow, "action=greylist reason=new client=[198.51.100.40] "
                  "key=198.51.100.0/24 from=<a@pass.spf.test> to=<t1@rcpt.test> spf=temperror", 1);
}
END_TEST

/* ------------------------------------------------------------ whitelists */

/* Sender domains are whitelisted only with SPF pass from a narrow record. */
static const struct sender_case {
    const char *label;
    const char *addr;
    const char *from;
    const char *to;
    int     want;
    const char *log;
} sender_cases[] = {
    {"forged (spf fail)", "198.18.4.4", "<ceo@wl.spf.test>", "<s1@rcpt.test>", SMFIR_REPLYCODE,
     "action=greylist reason=new client=[198.18.4.4] key=198.18.4.0/24 from=<ceo@wl.spf.test> "
     "to=<s1@rcpt.test> spf=fail"},
    {"spf pass", "198.51.100.30", "<ceo@wl.spf.test>", "<s2@rcpt.test>", SMFIR_CONTINUE,
     "action=accept reason=whitelist-sender client=[198.51.100.30] key=spf:wl.spf.test "
     "from=<ceo@wl.spf.test> to=<s2@rcpt.test> spf=pass"},
    {"over-broad record", "198.18.4.5", "<ceo@wlbroad.spf.test>", "<s3@rcpt.test>",
     SMFIR_REPLYCODE, "action=greylist reason=new client=[198.18.4.5] key=198.18.4.0/24 "
     "from=<ceo@wlbroad.spf.test> to=<s3@rcpt.test> spf=pass"},
};

/* test_sender_domain - a whitelisted sender domain needs SPF */
START_TEST(test_sender_domain)
{
    const struct sender_case *k = &sender_cases[_i];
    struct mta_conn m = {'4', k->addr, NULL, NULL, NULL, 0};
    char    reply[MILTC_REPLY_MAX];
    int     r;

    r = one_rcpt(&spf, &m, k->from, k->to, reply, sizeof(reply), NULL);
    assert_answer(k->label, r, reply, k->want);
    assert_logged(k->label, &spf, k->log, 1);
}
END_TEST

/*
 * test_rcpt_whitelist - in one transaction, whitelisted recipients are
 * accepted at once while another recipient is greylisted.
 */
START_TEST(test_rcpt_whitelist)
{
    struct miltc *c = malloc(sizeof(*c));
    struct mta_conn m = {'4', "198.18.5.5", NULL, NULL, NULL, 0};
    char    why[300];
    int     r;

    ck_assert_ptr_nonnull(c);
    ck_assert_msg(mta_connect(c, &spf, &m, why, sizeof(why)) == 0, "%s", why);
    ck_assert_int_eq(mta_mail(c, "<x@none.spf.test>", NULL), SMFIR_CONTINUE);
    r = miltc_rcpt(c, "<Postmaster@any.test>");
    ck_assert_msg(r == SMFIR_CONTINUE, "postmaster@: got %s (%s), want 'c'", answer_name(r), c->reply);
    r = miltc_rcpt(c, "<bob@rcpt.test>");
    ck_assert_msg(r == SMFIR_REPLYCODE && strcmp(c->reply, GREY_REPLY) == 0,
                  "other recipient: got %s (%s), want 'y' 451", answer_name(r), c->reply);
    r = miltc_rcpt(c, "<anyone@wlrcpt.test>");
    ck_assert_msg(r == SMFIR_CONTINUE, "@domain: got %s (%s), want 'c'", answer_name(r), c->reply);
    r = miltc_rcpt(c, "<anyone@sub.wlrcpt.test>");
    ck_assert_msg(r == SMFIR_REPLYCODE, "@domain does not cover subdomains: got %s", answer_name(r));
    miltc_abort(c);
    miltc_quit(c);
    free(c);
    assert_logged("postmaster@", &spf, "action=accept reason=whitelist-rcpt client=[198.18.5.5] "
                  "key=198.18.5.0/24 from=<x@none.spf.test> to=<Postmaster@any.test> spf=none", 1);
    assert_logged("other recipient", &spf, "action=greylist reason=new client=[198.18.5.5] "
                  "key=198.18.5.0/24 from=<x@none.spf.test> to=<bob@rcpt.test>", 1);
    assert_logged("@domain", &spf, "action=accept reason=whitelist-rcpt client=[198.18.5.5] "
                  "key=198.18.5.0/24 from=<x@none.spf.test> to=<anyone@wlrcpt.test>", 1);
}
END_TEST

/* Client whitelists: address blocks and verified names. */
static const struct client_case {
    const char *label;
    char    family;
    const char *addr;
    const char *name;                    /* {client_name}; NULL: unknown */
    const char *resolve;                 /* {client_resolve}; NULL: not sent */
    int     want;
    const char *log;
} client_cases[] = {
    {"ipv4 block", '4', "198.18.100.5", NULL, NULL, SMFIR_CONTINUE,
     "action=accept reason=whitelist-client client=[198.18.100.5] key=198.18.100.0/24 "
     "from=<c1@none.spf.test> to=<c@rcpt.test>\n"},
    {"ipv6 block", '6', "2001:db8:77::1", NULL, NULL, SMFIR_CONTINUE,
     "action=accept reason=whitelist-client client=[2001:db8:77::1]"},
    {"verified name", '4', "198.18.6.1", "mx1.friendly.test", NULL, SMFIR_CONTINUE,
     "action=accept reason=whitelist-name client=[198.18.6.1]"},
    {"verified name, resolve OK", '4', "198.18.6.2", "MX1.Friendly.Test", "OK", SMFIR_CONTINUE,
     "action=accept reason=whitelist-name client=[198.18.6.2]"},
    {"verified name under a suffix", '4', "198.18.6.3", "out.trusted-relay.test", NULL,
     SMFIR_CONTINUE, "action=accept reason=whitelist-name client=[198.18.6.3]"},
    {"unverified name (unknown)", '4', "198.18.6.4", "unknown", NULL, SMFIR_REPLYCODE,
     "action=greylist reason=new client=[198.18.6.4]"},
    {"forged name (resolve FORGED)", '4', "198.18.6.5", "mx1.friendly.test", "FORGED",
     SMFIR_REPLYCODE, "action=greylist reason=new client=[198.18.6.5]"},
    {"name not listed", '4', "198.18.6.6", "mx2.friendly.test", NULL, SMFIR_REPLYCODE,
     "action=greylist reason=new client=[198.18.6.6]"},
    {"suffix is not the domain itself", '4', "198.18.6.7", "trusted-relay.test", NULL,
     SMFIR_REPLYCODE, "action=greylist reason=new client=[198.18.6.7]"},
};

/* test_client_whitelist - skipped for the connection, or not */
START_TEST(test_client_whitelist)
{
    const struct client_case *k = &client_cases[_i];
    struct mta_conn m = {k->family, k->addr, NULL, k->name, k->resolve, 0};
    char    reply[MILTC_REPLY_MAX], from[64];
    int     r;

    snprintf(from, sizeof(from), "<c%d@none.spf.test>", _i + 1);
    r = one_rcpt(&spf, &m, from, "<c@rcpt.test>", reply, sizeof(reply), NULL);
    assert_answer(k->label, r, reply, k->want);
    assert_logged(k->label, &spf, k->log, 1);
}
END_TEST

/* ----------------------------------------------------------- null sender */

/*
 * test_null_data - stage data: every RCPT of <> gets "continue" (a
 * callout that quits here sees no failure), the DATA step gets the 451.
 * A recipient that is let through (postmaster@, whitelisted) is never
 * deferred with the others: before it, the deferred recipients go through
 * with it at DATA (mixed-rcpt); after it, greylisted recipients get the
 * 451 at RCPT. An MTA without the DATA step gets the 451 at RCPT.
 */
START_TEST(test_null_data)
{
    struct miltc *c = malloc(sizeof(*c));
    struct mta_conn m = {'4', "198.18.7.7", "mail.none.spf.test", NULL, NULL, 0};
    struct mta_conn old = {'4', "198.18.7.8", "mail.none.spf.test", NULL, NULL,
        SMFI_CURR_PROT & ~(SMFIP_NODATA | SMFIP_NR_DATA)};
    char    why[300], reply[MILTC_REPLY_MAX];
    int     r;

    ck_assert_ptr_nonnull(c);
    ck_assert_msg(mta_connect(c, &spf, &m, why, sizeof(why)) == 0, "%s", why);

    /* Greylisted recipients only: DATA gets the 451. */
    ck_assert_int_eq(mta_mail(c, "<>", NULL), SMFIR_CONTINUE);
    r = miltc_rcpt(c, "<n1@rcpt.test>");
    ck_assert_msg(r == SMFIR_CONTINUE, "RCPT: got %s (%s), want 'c'", answer_name(r), c->reply);
    r = miltc_rcpt(c, "<n1b@rcpt.test>");
    ck_assert_msg(r == SMFIR_CONTINUE, "RCPT 2: got %s (%s), want 'c'", answer_name(r), c->reply);
    r = miltc_data(c);
    ck_assert_msg(r == SMFIR_REPLYCODE && strcmp(c->reply, GREY_REPLY) == 0,
                  "DATA: got %s (%s), want 'y' 451", answer_name(r), c->reply);
    miltc_abort(c);

    /* Deferred, then a whitelisted recipient: DATA lets both through. */
    ck_assert_int_eq(mta_mail(c, "<>", NULL), SMFIR_CONTINUE);
    r = miltc_rcpt(c, "<n1c@rcpt.test>");
    ck_assert_msg(r == SMFIR_CONTINUE, "mixed: RCPT got %s (%s), want 'c'", answer_name(r),
                  c->reply);
    r = miltc_rcpt(c, "<postmaster@rcpt.test>");
    ck_assert_msg(r == SMFIR_CONTINUE, "mixed: RCPT postmaster got %s, want 'c'", answer_name(r));
    r = miltc_data(c);
    ck_assert_msg(r == SMFIR_CONTINUE, "mixed: DATA got %s (%s), want 'c'", answer_name(r),
                  c->reply);
    miltc_abort(c);

    /* A whitelisted recipient first: the greylisted one gets 451 at RCPT. */
    ck_assert_int_eq(mta_mail(c, "<>", NULL), SMFIR_CONTINUE);
    r = miltc_rcpt(c, "<postmaster@rcpt.test>");
    ck_assert_msg(r == SMFIR_CONTINUE, "accepted first: RCPT postmaster got %s", answer_name(r));
    r = miltc_rcpt(c, "<n1d@rcpt.test>");
    ck_assert_msg(r == SMFIR_REPLYCODE && strcmp(c->reply, GREY_REPLY) == 0,
                  "accepted first: RCPT got %s (%s), want 'y' 451", answer_name(r), c->reply);
    r = miltc_data(c);
    ck_assert_msg(r == SMFIR_CONTINUE, "accepted first: DATA got %s (%s), want 'c'",
                  answer_name(r), c->reply);
    miltc_abort(c);

    /* The next message on the connection starts clean. */
    ck_assert_int_eq(mta_mail(c, "<x@none.spf.test>", NULL), SMFIR_CONTINUE);
    r = miltc_rcpt(c, "<postmaster@rcpt.test>");
    ck_assert_msg(r == SMFIR_CONTINUE, "next message: RCPT got %s", answer_name(r));
    r = miltc_data(c);
    ck_assert_msg(r == SMFIR_CONTINUE, "next message: DATA got %s (%s), want 'c'", answer_name(r),
                  c->reply);
    miltc_quit(c);
    free(c);
    assert_logged("stage data", &spf, "action=greylist reason=new client=[198.18.7.7] "
                  "key=198.18.7.0/24 from=<> to=<n1@rcpt.test> spf=none stage=data", 1);
    assert_logged("mixed at DATA", &spf, "action=pass reason=mixed-rcpt client=[198.18.7.7] "
                  "key=198.18.7.0/24 from=<> to=<postmaster@rcpt.test> spf=none stage=data", 1);
    assert_logged("accepted first", &spf, "action=greylist reason=new client=[198.18.7.7] "
                  "key=198.18.7.0/24 from=<> to=<n1d@rcpt.test> spf=none\n", 1);

    r = one_rcpt(&spf, &old, "<>", "<n2@rcpt.test>", reply, sizeof(reply), NULL);
    assert_answer("MTA without DATA step", r, reply, SMFIR_REPLYCODE);
}
END_TEST

/* test_null_rcpt - stage rcpt: <> is greylisted at RCPT like any sender */
START_TEST(test_null_rcpt)
{
    struct mta_conn m = {'4', "198.18.7.9", "localhost", NULL, NULL, 0};
    char    reply[MILTC_REPLY_MAX];
    int     r;

    r = one_rcpt(&slow, &m, "<>", "<n3@rcpt.test>", reply, sizeof(reply), NULL);
    assert_answer("stage rcpt", r, reply, SMFIR_REPLYCODE);
    assert_logged("stage rcpt", &slow, "action=greylist reason=new client=[198.18.7.9] "
                  "key=198.18.7.0/24 from=<> to=<n3@rcpt.test> spf=none\n", 1);
}
END_TEST

/* ---------------------------------------------------------------- reload */

/*
 * test_reload - a changed whitelist file is picked up; a bad one is
 * logged once and the lists in use stay; SIGUSR1 reloads at once and
 * does not kill the daemon.
 */
START_TEST(test_reload)
{
    struct mta_conn m = {'4', "198.18.11.1", NULL, NULL, NULL, 0};
    char    reply[MILTC_REPLY_MAX], bad[700];
    int     r, n;

    r = one_rcpt(&spf, &m, "<x@none.spf.test>", "<w1@rcpt.test>", reply, sizeof(reply), NULL);
    assert_answer("before the change", r, reply, SMFIR_REPLYCODE);

    /* A changed file. */
    n = daemon_log_count(&spf, "whitelists reloaded (a file changed)");
    ck_assert_int_eq(daemon_write_file(wl_clients, WL_CLIENTS_TEXT "198.18.11.0/24\n"), 0);
    ck_assert_msg(daemon_log_wait(&spf, "whitelists reloaded (a file changed)", n + 1, 3000) == n + 1,
                  "changed file: no reload logged within 3 s");
    r = one_rcpt(&spf, &m, "<x@none.spf.test>", "<w2@rcpt.test>", reply, sizeof(reply), NULL);
    assert_answer("after the change", r, reply, SMFIR_CONTINUE);
    assert_logged("after the change", &spf, "action=accept reason=whitelist-client "
                  "client=[198.18.11.1]", 1);

    /* A bad file: logged once with file:line, the old lists stay. */
    snprintf(bad, sizeof(bad), "whitelists not reloaded, keeping the lists in use: %s:3: ",
             wl_clients);
    ck_assert_int_eq(daemon_write_file(wl_clients, "# clients\n198.18.11.0/24\n198.18.300.0/24\n"),
                     0);
    ck_assert_msg(daemon_log_wait(&spf, bad, 1, 3000) == 1, "bad file: want \"%s\" in the log", bad);
    daemon_sleep_ms(5 * RELOAD_MS);
    assert_logged("bad file, later polls", &spf, bad, 1);
    r = one_rcpt(&spf, &m, "<x@none.spf.test>", "<w3@rcpt.test>", reply, sizeof(reply), NULL);
    assert_answer("bad file: old lists kept", r, reply, SMFIR_CONTINUE);

    /* SIGUSR1 retries (and logs) at once; the daemon lives on. */
    ck_assert_int_eq(daemon_signal(&spf, SIGUSR1), 0);
    ck_assert_msg(daemon_log_wait(&spf, bad, 2, 3000) == 2, "SIGUSR1: want a second \"%s\"", bad);
    ck_assert_int_eq(daemon_write_file(wl_clients, WL_CLIENTS_TEXT), 0);
    ck_assert_msg(daemon_log_wait(&spf, "whitelists reloaded (a file changed)", n + 2, 3000) == n + 2,
                  "fixed file: no reload logged within 3 s");
    n = daemon_log_count(&spf, "whitelists reloaded (SIGUSR1)");
    ck_assert_int_eq(daemon_signal(&spf, SIGUSR1), 0);
    ck_assert_msg(daemon_log_wait(&spf, "whitelists reloaded (SIGUSR1)", n + 1, 3000) == n + 1,
                  "SIGUSR1 with good files: no reload logged");
    ck_assert_msg(daemon_signal(&spf, 0) == 0, "the daemon died of SIGUSR1");
    r = one_rcpt(&spf, &m, "<x@none.spf.test>", "<w4@rcpt.test>", reply, sizeof(reply), NULL);
    assert_answer("back to the first list", r, reply, SMFIR_REPLYCODE);
}
END_TEST

/* ----------------------------------------------------------- bad files */

/* Whitelist files for redgrey -t: each kind, good and bad. */
static const struct file_case {
    const char *label;
    const char *key;
    const char *text;                    /* NULL: the file does not exist */
    int     want_exit;
    const char *after;                   /* the output has FILE then this */
} file_cases[] = {
    {"good clients", "whitelist_clients", "# x\n192.0.2.0/24\n2001:db8::/32\n", 0, NULL},
    {"bad client block", "whitelist_clients", "# x\n192.0.2.0/24\nbogus/33\n", 1, ":3: "},
    {"bad client name", "whitelist_client_names", "mx.example.com\n*.example.com\n", 1, ":2: "},
    {"unknown is no name", "whitelist_client_names", "unknown\n", 1, ":1: "},
    {"bad recipient", "whitelist_recipients", "postmaster@\nnot an address\n", 1, ":2: "},
    {"bad sender domain", "whitelist_sender_domains", "\n\n\nexample..com\n", 1, ":4: "},
    {"missing file", "whitelist_recipients", NULL, 1, ": "},
    {"good big senders", "spf_domains", "# big\ngoogle.com\noutlook.com\n", 0, NULL},
    {"bad big sender", "spf_domains", "google.com\nnot a domain\n", 1, ":2: "},
    {"missing big senders", "spf_domains", NULL, 1, ": "},
};

/* test_check_files - redgrey -t loads the whitelist files */
START_TEST(test_check_files)
{
    const struct file_case *k = &file_cases[_i];
    char    conf[700], list[700], text[1600], want[800], out[4096];
    char   *argv[] = {(char *) DAEMON_REDGREY_BIN, (char *) "-t", (char *) "-c", conf, NULL};
    int     rc;

    snprintf(conf, sizeof(conf), "%s/check-wl-%d.conf", daemon_tmp(), _i);
    snprintf(list, sizeof(list), "%s/check-wl-%d.list", daemon_tmp(), _i);
    snprintf(text, sizeof(text), "store = redis://127.0.0.1:6379/0\nuser = \"\"\n%s = %s\n",
             k->key, list);
    ck_assert_int_eq(daemon_write_file(conf, text), 0);
    if (k->text != NULL)
        ck_assert_int_eq(daemon_write_file(list, k->text), 0);
    rc = daemon_capture((const char *const *) argv, out, sizeof(out), 10000);
    ck_assert_msg(rc == k->want_exit, "%s: exit: got %d, want %d (output: %s)", k->label, rc,
                  k->want_exit, out);
    if (k->after != NULL) {
        snprintf(want, sizeof(want), "redgrey: %s%s", list, k->after);
        ck_assert_msg(strstr(out, want) != NULL, "%s: output: got \"%s\", want \"%s\"", k->label,
                      out, want);
    } else {
        ck_assert_msg(strstr(out, "configuration OK") != NULL, "%s: output: got \"%s\"", k->label,
                      out);
    }
}
END_TEST

/* test_start_bad_file - the daemon refuses to start on a bad line */
START_TEST(test_start_bad_file)
{
    struct daemon bad;
    char    list[700], extra[800], want[800];
    int     rc;

    snprintf(list, sizeof(list), "%s/start-bad.list", daemon_tmp());
    ck_assert_int_eq(daemon_write_file(list, "example.com\nexa mple.com\n"), 0);
    snprintf(extra, sizeof(extra), "whitelist_sender_domains = %s\n", list);
    rc = daemon_start_redgrey(&bad, "badstart", extra, NULL);
    if (rc == 0) {
        daemon_signal(&bad, SIGKILL);
        daemon_wait(&bad, 1000);
    }
    ck_assert_msg(rc == DAEMON_EXITED, "bad whitelist: got %d, want the daemon to exit", rc);
    snprintf(want, sizeof(want), "%s:2: ", list);
    ck_assert_msg(daemon_log_count(&bad, want) >= 1, "bad whitelist: want \"%s\" in the log", want);
}
END_TEST

/* ----------------------------------------------------------------- setup */

/* dead_dns_port - bind a loopback UDP port and never read it; the port or -1 */
static int
dead_dns_port(void)
{
    int     port = -1;

    dead_fd = daemon_bind_loopback(SOCK_DGRAM, &port);
    return dead_fd >= 0 ? port : -1;
}

/* setup_all - dnsmasq, the whitelist files, both daemons; 0 or -1 */
static int
setup_all(void)
{
    static const char *const env[] = {"REDGREY_TEST_RELOAD_MS=200", NULL};
    const char *tmp = daemon_tmp();
    char    extra[4096];
    int     port;

    if (tmp == NULL) {
        fprintf(stderr, "check_milter_spf: REDGREY_TEST_TMP unset: run under with-redis.sh\n");
        return -1;
    }
    hostile_fill(hostile_record, "--txt-record=cve.spf.test,v=spf1 exists:", 4000);
    hostile_fill(hostile_exp, "--txt-record=boom.spf.test,", 10);
    if (daemon_start_dnsmasq(&dns, "spf.test", dns_records) != 0) {
        fprintf(stderr, "check_milter_spf: dnsmasq did not start (is dnsmasq-base installed?)\n");
        return -1;
    }
    snprintf(wl_clients, sizeof(wl_clients), "%s/wl-clients", tmp);
    snprintf(wl_names, sizeof(wl_names), "%s/wl-names", tmp);
    snprintf(wl_rcpts, sizeof(wl_rcpts), "%s/wl-rcpts", tmp);
    snprintf(wl_senders, sizeof(wl_senders), "%s/wl-senders", tmp);
    if (daemon_write_file(wl_clients, WL_CLIENTS_TEXT) != 0
        || daemon_write_file(wl_names, "mx1.friendly.test\n.trusted-relay.test\n") != 0
        || daemon_write_file(wl_rcpts, "postmaster@\n@wlrcpt.test\n") != 0
        || daemon_write_file(wl_senders, "wl.spf.test\nwlbroad.spf.test\n") != 0)
        return -1;
    snprintf(extra, sizeof(extra),
             "dns_servers = 127.0.0.1:%d\n"
             "dns_timeout = 3s\n"
             "whitelist_clients = %s\n"
             "whitelist_client_names = %s\n"
             "whitelist_recipients = %s\n"
             "whitelist_sender_domains = %s\n",
             dns.port, wl_clients, wl_names, wl_rcpts, wl_senders);
    if (daemon_start_redgrey(&spf, "spf", extra, env) != 0)
        return -1;
    if ((port = dead_dns_port()) < 0)
        return -1;
    snprintf(extra, sizeof(extra),
             "dns_servers = 127.0.0.1:%d\n"
             "dns_timeout = 1s\n"
             "null_sender_stage = rcpt\n", port);
    return daemon_start_redgrey(&slow, "slow", extra, env) == 0 ? 0 : -1;
}

/*
 * teardown_all - stop everything; 0 only if both daemons exited 0 in
 * time. SIGTERM goes to both first: each takes up to libmilter's 5 s.
 */
static int
teardown_all(void)
{
    struct daemon *ds[] = {&spf, &slow};
    int     rc = 0, status;

    for (size_t i = 0; i < 2; i++)
        if (ds[i]->pid > 0)
            daemon_signal(ds[i], SIGTERM);
    for (size_t i = 0; i < 2; i++) {
        if (ds[i]->pid <= 0) {
            rc = -1;
            continue;
        }
        status = daemon_wait(ds[i], 6500);
        if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "check_milter_spf: %s stopped with status 0x%x\n", ds[i]->name, status);
            rc = -1;
        }
    }
    if (dns.pid > 0) {
        daemon_signal(&dns, SIGTERM);
        daemon_wait(&dns, 2000);
    }
    if (dead_fd >= 0)
        close(dead_fd);
    return rc;
}

/* milter_spf_suite - the two daemons' cases, then the bad whitelist files */
static Suite *
milter_spf_suite(void)
{
    Suite  *s = suite_create("milter_spf");
    TCase  *tc;

    tc = tcase_create("sender pools");
    tcase_add_test(tc, test_negotiation);
    tcase_add_loop_test(tc, test_keys, 0, sizeof(key_cases) / sizeof(key_cases[0]));
    tcase_add_test(tc, test_hostile);
    tcase_add_test(tc, test_retry);
    tcase_add_test(tc, test_dns_timeout);
    tcase_add_loop_test(tc, test_sender_domain, 0, sizeof(sender_cases) / sizeof(sender_cases[0]));
    tcase_add_test(tc, test_rcpt_whitelist);
    tcase_add_loop_test(tc, test_client_whitelist, 0, sizeof(client_cases) / sizeof(client_cases[0]));
    tcase_add_test(tc, test_null_data);
    tcase_add_test(tc, test_null_rcpt);
    tcase_add_test(tc, test_reload);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);

    tc = tcase_create("bad files");
    tcase_add_loop_test(tc, test_check_files, 0, sizeof(file_cases) / sizeof(file_cases[0]));
    tcase_add_test(tc, test_start_bad_file);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);
    return s;
}

/* main - start dnsmasq and the daemons, run the suite, stop them: all must pass */
int
main(void)
{
    int     failed = 1, stop;

    if (setup_all() == 0)
        failed = daemon_run_suites(milter_spf_suite(), NULL);
    stop = teardown_all();
    if (failed != 0 || stop != 0) {
        struct daemon *ds[] = {&spf, &slow, &dns};

        for (size_t i = 0; i < 3; i++)
            daemon_log_print(ds[i]);
    }
    return failed == 0 && stop == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_sendernorm.c - the keying form of envelope senders.
 *
 * One table of real-world shapes (SES, Mailchimp, Mandrill, SendGrid,
 * SparkPost, ExactTarget, Microsoft 365, mailing lists, GitHub, SRS, BATV)
 * with the exact key each must give; one table of address pairs that must
 * key alike (two messages of one stream) or apart (two senders); and the
 * bounds: short output buffers, aliasing, junk of every kind.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "mailaddr.h"
#include "sendernorm.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const struct key_case {
    const char *label;
    const char *in;                      /* as mailaddr_normalize leaves it */
    const char *want;
} key_cases[] = {
    /* Plain addresses: only the local part's case changes. */
    {"plain", "john.doe@example.com", "john.doe@example.com"},
    {"plain upper local", "John.Doe@example.com", "john.doe@example.com"},
    {"plain short", "x@y.example", "x@y.example"},
    {"plain dashes", "a.b-c_d@example.org", "a.b-c_d@example.org"},
    {"plain subdomain", "user@sub.example.co.uk", "user@sub.example.co.uk"},
    {"plain letters-only hex", "deadbeef.cafe@example.com", "deadbeef.cafe@example.com"},
    {"plain short digits", "jane.doe84@example.com", "jane.doe84@example.com"},
    {"plain owner-list", "owner-announce@lists.example", "owner-announce@lists.example"},
    {"plain list-request", "dev-request@lists.example", "dev-request@lists.example"},
    {"plain noreply github", "noreply@github.com", "noreply@github.com"},
    {"plain notifications github", "notifications@github.com", "notifications@github.com"},
    {"plain lone numeric mailbox", "1234567890@qq.com", "1234567890@qq.com"},
    {"plain lone alnum", "jane1984@example.com", "jane1984@example.com"},
    {"plain MicrosoftExchange", "MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@example.com",
     "microsoftexchange329e71ec88ae4615bbc36ab6ce41109e@example.com"},
    {"plain utf8 local", "j\xc3\xb6rg@example.de", "j\xc3\xb6rg@example.de"},
    {"plain plus first", "+tag@example.com", "+tag@example.com"},

    /* Null sender, junk, and things that are not addresses. */
    {"null sender", "", ""},
    {"junk passes", "junk:0123456789abcdef", "junk:0123456789abcdef"},
    {"junk upper passes", "JUNK:ABC", "JUNK:ABC"},
    {"no at sign", "Postmaster", "postmaster"},
    {"empty local", "@example.com", "@example.com"},
    {"empty domain", "user@", "user@"},
    {"only at", "@", "@"},
    {"quoted local kept", "\"Bounce 12345678\"@example.com", "\"bounce 12345678\"@example.com"},
    {"quoted local with at", "\"A@b+1234\"@x.example", "\"a@b+1234\"@x.example"},

    /* +extension. */
    {"plus", "user+tag@example.com", "user@example.com"},
    {"plus twice", "user+a+b@example.com", "user@example.com"},
    {"list bounces", "list-bounces+user=example.com@lists.example", "list-bounces@lists.example"},
    {"gnu list bounces", "qemu-devel-bounces+lists+qemu-devel=lfdr.de@nongnu.org",
     "qemu-devel-bounces@nongnu.org"},
    {"sendgrid", "bounces+1234567-ab12-user=example.com@em1234.example.com",
     "bounces@em1234.example.com"},
    {"github via sendgrid", "bounces+848413-e0e3-user=example.com@sgmail.github.com",
     "bounces@sgmail.github.com"},
    {"github noreply user", "12345678+octocat@users.noreply.github.com",
     "12345678@users.noreply.github.com"},
    {"mailgun", "bounce+1a2b3c.4d5e6f-user=example.com@mg.example.com", "bounce@mg.example.com"},
    {"facebook", "notification+zrdohvri=vd1@facebookmail.com", "notification@facebookmail.com"},

    /* VERP tokens. */
    {"verp digits", "bounce-12345-678@list.example", "bounce-#-678@list.example"},
    {"verp four digits", "bounce-1234@list.example", "bounce-#@list.example"},
    {"verp three digits kept", "bounce-123@list.example", "bounce-123@list.example"},
    {"verp hex8", "bounce-5fa1b2c3@list.example", "bounce-#@list.example"},
    {"verp hex7 kept", "bounce-5fa1b2c@list.example", "bounce-5fa1b2c@list.example"},
    {"verp digit run in token", "mail123456abc.x@example.com", "mail#abc.x@example.com"},
    {"ses", "0100018c5e1f2a3b-1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d-000000@amazonses.com",
     "#@amazonses.com"},
    {"ses regional", "0102018d7ab1c2d3-e4f5a6b7-c8d9-4e0f-a1b2-c3d4e5f6a7b8-000000"
     "@eu-west-1.amazonses.com", "#@eu-west-1.amazonses.com"},
    {"ses custom mail from", "010f018c5e1f2a3b-abcdefab-cdef-abcd-efab-cdefabcdefab-000000"
     "@bounce.example.com", "#@bounce.example.com"},
    {"mailchimp", "bounce-mc.us5_1234.5678-user=example.com@mail123.mcsv.net",
     "bounce-mc.us5_#.#-user=example.com@mail123.mcsv.net"},
    {"mailchimp long ids", "bounce-mc.us17_78285003.1234567-ab12cd34ef@mail229.atl11.rsgsv.net",
     "bounce-mc.us17_#.#@mail229.atl11.rsgsv.net"},
    {"mandrill", "bounce-md_30850198.5fa1b2c3.v1-0123456789abcdef0123456789abcdef@mandrillapp.com",
     "bounce-md_#.#.v1-#@mandrillapp.com"},
    {"exacttarget microsoft", "bounce-1234_HTML-567890123-45678-7000000-123"
     "@bounce.email.microsoft.com", "bounce-#_html-#@bounce.email.microsoft.com"},
    {"linkedin base32", "s-2hmfa8qh3m7k1pq3arkwzt2ux3c93hh1a3f0hqhpjd8dq9cq8wfqx7z"
     "@bounce.linkedin.com", "s-#@bounce.linkedin.com"},
    {"base64 token", "bounce-AQHZ7w2xYzAbCdEf@example.com", "bounce-#@example.com"},
    {"long letters kept", "bounce-abcdefghijklmnopqrst@example.com",
     "bounce-abcdefghijklmnopqrst@example.com"},
    {"uuid", "reply-550e8400-e29b-41d4-a716-446655440000@example.com", "reply-#@example.com"},
    {"date parts", "news-2024-01-15@example.com", "news-#-01-15@example.com"},

    /* SRS. */
    {"srs0", "SRS0=HHH=TT=orig.example=local@forwarder.example", "local@orig.example"},
    {"srs0 lower prefix", "srs0=HHH=TT=orig.example=local@forwarder.example",
     "local@orig.example"},
    {"srs0 real", "SRS0=Kjsf=5O=citrix.com=Andrew.Cooper3@srs-se1.protection.inumbo.net",
     "andrew.cooper3@citrix.com"},
    {"srs0 plus separator", "SRS0+xGx2=Z4=example.org=bob@fwd.example", "bob@example.org"},
    {"srs0 upper domain", "SRS0=abcd=7Q=Example.ORG=Bob@fwd.example", "bob@example.org"},
    {"srs0 local with equals", "SRS0=abcd=7Q=example.org=a=b@fwd.example", "a=b@example.org"},
    {"srs0 then plus", "SRS0=abcd=7Q=example.org=bob+tag@fwd.example", "bob@example.org"},
    {"srs0 then verp", "SRS0=abcd=7Q=lists.example=dev-bounces-12345-x@fwd.example",
     "dev-bounces-#-x@lists.example"},
    {"srs1", "SRS1=HHH=fwd.domain==HHH=TT=orig.example=local@fwd2.example",
     "local@orig.example"},
    {"srs1 real", "SRS1=x7Lm=first.example==Kjsf=5O=example.com=alice@second.example",
     "alice@example.com"},
    {"srs1 plus", "SRS1+x7Lm=first.example=+Kjsf=5O=example.com=alice@second.example",
     "alice@example.com"},
    {"microsoft 365 srs", "bounces+SRS=KtrAS=7Q=contoso.com=john@fabrikam.onmicrosoft.com",
     "john@contoso.com"},
    {"srs0 bad timestamp kept", "SRS0=abcd=7QX=example.org=bob@fwd.example",
     "srs0=abcd=7qx=example.org=bob@fwd.example"},
    {"srs0 no domain dot kept", "SRS0=abcd=7Q=localhost=bob@fwd.example",
     "srs0=abcd=7q=localhost=bob@fwd.example"},
    {"srs0 empty label kept", "SRS0=abcd=7Q=example..org=bob@fwd.example",
     "srs0=abcd=7q=example..org=bob@fwd.example"},
    {"srs0 label ends with hyphen kept", "SRS0=abcd=7Q=example-.org=bob@fwd.example",
     "srs0=abcd=7q=example-.org=bob@fwd.example"},
    {"srs0 underscore domain", "SRS0=abcd=7Q=mx_1.example.org=bob@fwd.example",
     "bob@mx_1.example.org"},
    {"srs0 empty local kept", "SRS0=abcd=7Q=example.org=@fwd.example",
     "srs0=abcd=7q=example.org=@fwd.example"},
    {"srs0 truncated kept", "SRS0=abcd@fwd.example", "srs0=abcd@fwd.example"},
    {"srs0 bare kept", "SRS0@fwd.example", "srs0@fwd.example"},
    {"srs0 no hash kept", "SRS0==7Q=example.org=bob@fwd.example",
     "srs0==7q=example.org=bob@fwd.example"},
    {"srs1 broken kept", "SRS1=x7Lm=first.example=@second.example",
     "srs1=x7lm=first.example=@second.example"},
    {"srs1 no srs0 part kept", "SRS1=x7Lm=first.example==@second.example",
     "srs1=x7lm=first.example==@second.example"},

    /* BATV. */
    {"prvs draft", "prvs=0327d3cff4=john@example.com", "john@example.com"},
    {"prvs upper", "PRVS=0327D3CFF4=John@example.com", "john@example.com"},
    {"prvs cisco", "prvs=374a1453b=Andrew.Cooper3@citrix.com", "andrew.cooper3@citrix.com"},
    {"prvs reversed", "prvs=john=0327d3cff4@example.com", "john@example.com"},
    {"prvs reversed alnum tag", "prvs=john.smith=a1b2c3d4e5f6@example.com",
     "john.smith@example.com"},
    {"prvs both tag-shaped", "prvs=0327d3cff4=user2024x@example.com", "user2024x@example.com"},
    {"prvs stronger right", "prvs=abc123=0327d3cff4@example.com", "abc123@example.com"},
    {"prvs no tag kept", "prvs=john=smith@example.com", "prvs=john=smith@example.com"},
    {"prvs one part kept", "prvs=john@example.com", "prvs=john@example.com"},
    {"prvs empty tag kept", "prvs==john@example.com", "prvs==john@example.com"},
    {"prvs empty rest not batv", "prvs=0327d3cff4=@example.com", "prvs=#=@example.com"},
    {"msprvs1", "msprvs1=18009O2Ts0PKX=bounces-123456-1@spmailtechnol.com",
     "bounces-#-1@spmailtechnol.com"},
    {"btv1", "btv1==0937bfdc0d4==user@example.com", "user@example.com"},
    {"btv1 one equals not batv", "btv1==0937bfdc0d4=user@example.com", "btv1==#=user@example.com"},
    {"btv1 empty tag kept", "btv1====user@example.com", "btv1====user@example.com"},
    {"srs0 around prvs", "SRS0=Kjsf=5O=citrix.com=prvs=374a1453b=Andrew.Cooper3"
     "@srs-se1.protection.inumbo.net", "andrew.cooper3@citrix.com"},
    {"srs0 around prvs 2", "SRS0=7T3K=TS=amazon.de=prvs=058ff0969=doebel"
     "@srs-se1.protection.inumbo.net", "doebel@amazon.de"},
};

START_TEST(test_key)
{
    const struct key_case *c = &key_cases[_i];
    char    out[MAILADDR_MAX + 1];
    int     rc;

    /* Prepare inputs: a poisoned buffer, so a missing NUL shows. */
    memset(out, 'Z', sizeof(out));

    /* Exercise the function under test. */
    rc = sendernorm_key(c->in, out, sizeof(out));

    /* Verify the results. */
    ck_assert_msg(strcmp(out, c->want) == 0, "%s: got \"%s\", want \"%s\"", c->label, out,
                  c->want);
    ck_assert_msg(rc == (int) strlen(c->want), "%s: got rc %d, want %zu", c->label, rc,
                  strlen(c->want));
    ck_assert_msg(strlen(out) <= strlen(c->in), "%s: got %zu bytes from %zu, want no growth",
                  c->label, strlen(out), strlen(c->in));
}
END_TEST

START_TEST(test_key_idempotent)
{
    const struct key_case *c = &key_cases[_i];
    char    once[MAILADDR_MAX + 1];
    char    twice[MAILADDR_MAX + 1];

    /*
     * A key fed back in must not move again: callers never key a key, but
     * a rule that changes its own output would mean rules fight each other.
     */
    sendernorm_key(c->in, once, sizeof(once));
    sendernorm_key(once, twice, sizeof(twice));
    ck_assert_msg(strcmp(once, twice) == 0, "%s: got \"%s\" then \"%s\", want stable",
                  c->label, once, twice);
}
END_TEST

static const struct pair_case {
    const char *label;
    const char *a;
    const char *b;
    int     same;                        /* 1: must key alike, 0: must differ */
} pair_cases[] = {
    {"verp brief example", "bounce-12345-678@list.example", "bounce-99999-678@list.example", 1},
    {"ses two messages",
     "0100018c5e1f2a3b-1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d-000000@amazonses.com",
     "0100018d9f8e7d6c-abcdef01-2345-6789-abcd-ef0123456789-000000@amazonses.com", 1},
    {"ses two regions differ",
     "0100018c5e1f2a3b-1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d-000000@eu-west-1.amazonses.com",
     "0100018c5e1f2a3b-1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d-000000@us-east-1.amazonses.com", 0},
    {"mailchimp two campaigns", "bounce-mc.us5_1234.5678-user=example.com@mail123.mcsv.net",
     "bounce-mc.us5_99887766.4321-user=example.com@mail123.mcsv.net", 1},
    {"mailchimp two accounts differ", "bounce-mc.us5_1234.5678-a=example.com@mail123.mcsv.net",
     "bounce-mc.us5_1234.5678-b=example.com@mail123.mcsv.net", 0},
    {"mandrill", "bounce-md_30850198.5fa1b2c3.v1-0123456789abcdef0123456789abcdef@mandrillapp.com",
     "bounce-md_30850198.61c0ffee.v1-fedcba9876543210fedcba9876543210@mandrillapp.com", 1},
    {"exacttarget", "bounce-1234_HTML-567890123-45678-7000000-123@bounce.email.microsoft.com",
     "bounce-1234_HTML-567999999-45999-7000001-9@bounce.email.microsoft.com", 1},
    {"list bounces", "list-bounces+alice=example.com@lists.example",
     "list-bounces+bob=example.org@lists.example", 1},
    {"srs vs original", "SRS0=Kjsf=5O=citrix.com=Andrew.Cooper3@srs-se1.protection.inumbo.net",
     "Andrew.Cooper3@citrix.com", 1},
    {"srs two hashes", "SRS0=Kjsf=5O=example.com=bob@fwd.example",
     "SRS0=OGRT=72=example.com=bob@other-fwd.example", 1},
    {"prvs two days", "prvs=0327d3cff4=john@example.com", "prvs=0328a1b2c3=john@example.com", 1},
    {"prvs both orders", "prvs=0327d3cff4=john@example.com", "prvs=john=0328a1b2c3@example.com", 1},
    {"btv1 two tags", "btv1==0937bfdc0d4==user@example.com",
     "btv1==1a2b3c4d5e6==user@example.com", 1},
    {"plus vs none", "user+tag@example.com", "user@example.com", 1},
    {"two people differ", "alice@example.com", "bob@example.com", 0},
    {"two domains differ", "alice@example.com", "alice@example.org", 0},
    {"local case", "Alice@example.com", "alice@example.com", 1},
    {"null vs postmaster differ", "", "postmaster@example.com", 0},
};

START_TEST(test_pair)
{
    const struct pair_case *c = &pair_cases[_i];
    char    ka[MAILADDR_MAX + 1];
    char    kb[MAILADDR_MAX + 1];
    int     same;

    ck_assert_msg(sendernorm_key(c->a, ka, sizeof(ka)) >= 0, "%s: key of a failed", c->label);
    ck_assert_msg(sendernorm_key(c->b, kb, sizeof(kb)) >= 0, "%s: key of b failed", c->label);
    same = strcmp(ka, kb) == 0;
    ck_assert_msg(same == c->same, "%s: got \"%s\" %s \"%s\", want %s", c->label, ka,
                  same ? "==" : "!=", kb, c->same ? "alike" : "different");
}
END_TEST

static const struct raw_case {
    const char *label;
    const char *raw;                     /* as the MTA passes MAIL FROM */
    const char *want;
} raw_cases[] = {
    {"srs in brackets", "<SRS0=abcd=7Q=Example.org=Bob+x@FWD.Example>", "bob@example.org"},
    {"null sender", "<>", ""},
    {"ses upper domain", "<0100018c5e1f2a3b-1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d-000000"
     "@EU-WEST-1.AmazonSES.com>", "#@eu-west-1.amazonses.com"},
    {"list bounces", "<List-Bounces+User=Example.com@Lists.Example>", "list-bounces@lists.example"},
    {"quoted", "<\"Jo Doe\"@Example.com>", "\"jo doe\"@example.com"},
};

START_TEST(test_from_raw)
{
    const struct raw_case *c = &raw_cases[_i];
    char    norm[MAILADDR_MAX + 1];
    char    out[MAILADDR_MAX + 1];
    int     rc;

    /* The pipeline the milter runs: normalise, then key. */
    mailaddr_normalize(c->raw, strlen(c->raw), MAILADDR_SENDER, norm, sizeof(norm));
    rc = sendernorm_key(norm, out, sizeof(out));
    ck_assert_msg(rc >= 0 && strcmp(out, c->want) == 0, "%s: got \"%s\" (rc %d), want \"%s\"",
                  c->label, out, rc, c->want);
}
END_TEST

START_TEST(test_junk_from_raw)
{
    char    norm[MAILADDR_MAX + 1];
    char    out[MAILADDR_MAX + 1];

    /* Junk keeps its junk:HASH form, so retries of the same junk still match. */
    ck_assert_int_eq(mailaddr_normalize("a\x01b@x", 5, MAILADDR_SENDER, norm, sizeof(norm)),
                     MAILADDR_JUNK);
    ck_assert_int_eq(sendernorm_key(norm, out, sizeof(out)), (int) strlen(norm));
    ck_assert_msg(strcmp(out, norm) == 0, "junk: got \"%s\", want \"%s\"", out, norm);
}
END_TEST

START_TEST(test_short_output)
{
    char    out[8];
    int     rc;

    /* Too small: -1, and as much as fits, NUL-terminated. */
    memset(out, 'Z', sizeof(out));
    rc = sendernorm_key("user+tag@example.com", out, sizeof(out));
    ck_assert_msg(rc == -1, "short: got rc %d, want -1", rc);
    ck_assert_msg(strcmp(out, "user@ex") == 0, "short: got \"%s\", want \"user@ex\"", out);

    /* One byte: only the NUL. */
    out[0] = 'Z';
    rc = sendernorm_key("user@example.com", out, 1);
    ck_assert_msg(rc == -1 && out[0] == '\0', "one byte: got rc %d, out[0] %d", rc, out[0]);

    /* Zero bytes: nothing written at all. */
    out[0] = 'Z';
    rc = sendernorm_key("user@example.com", out, 0);
    ck_assert_msg(rc == -1 && out[0] == 'Z', "zero: got rc %d, out[0] %d", rc, out[0]);

    /* The null sender fits in one byte. */
    rc = sendernorm_key("", out, 1);
    ck_assert_msg(rc == 0 && out[0] == '\0', "null in one: got rc %d", rc);
}
END_TEST

START_TEST(test_exact_fit)
{
    char    out[9];
    int     rc;

    /* "user@a.b" is 8 bytes: it fits in 9 and not in 8. */
    rc = sendernorm_key("User+tag@a.b", out, 9);
    ck_assert_msg(rc == 8 && strcmp(out, "user@a.b") == 0, "fit: got rc %d \"%s\"", rc, out);
    rc = sendernorm_key("User+tag@a.b", out, 8);
    ck_assert_msg(rc == -1 && strcmp(out, "user@a.") == 0, "one short: got rc %d \"%s\"", rc,
                  out);
}
END_TEST

START_TEST(test_in_place)
{
    char    buf[MAILADDR_MAX + 1] = "SRS0=abcd=7Q=Example.org=Bob+x@fwd.example";
    int     rc;

    rc = sendernorm_key(buf, buf, sizeof(buf));
    ck_assert_msg(rc >= 0 && strcmp(buf, "bob@example.org") == 0, "in place: got rc %d \"%s\"",
                  rc, buf);
}
END_TEST

START_TEST(test_junk)
{
    char    in[2 * MAILADDR_MAX];
    char    out[MAILADDR_MAX + 1];
    char    big[2 * MAILADDR_MAX];
    int     rc;

    /* NULL is the null sender. */
    rc = sendernorm_key(NULL, out, sizeof(out));
    ck_assert_msg(rc == 0 && out[0] == '\0', "NULL: got rc %d \"%s\"", rc, out);

    /* Longer than any normalised address: copied, not parsed. */
    memset(in, 'A', sizeof(in) - 1);
    in[sizeof(in) - 1] = '\0';
    in[10] = '@';
    rc = sendernorm_key(in, big, sizeof(big));
    ck_assert_msg(rc == (int) strlen(in) && strcmp(big, in) == 0, "over-long: got rc %d", rc);
    rc = sendernorm_key(in, out, sizeof(out));
    ck_assert_msg(rc == -1 && strlen(out) == sizeof(out) - 1, "over-long short: got rc %d", rc);

    /* Exactly MAILADDR_MAX: parsed, and the key fits. */
    memset(in, '1', MAILADDR_MAX);
    in[MAILADDR_MAX] = '\0';
    memcpy(in, "x-", 2);
    memcpy(in + MAILADDR_MAX - 12, "@example.com", 12);
    rc = sendernorm_key(in, out, sizeof(out));
    ck_assert_msg(rc >= 0 && strcmp(out, "x-#@example.com") == 0, "max: got rc %d \"%s\"", rc,
                  out);

    /* Odd bytes, separators only, many '@' and '=': defined, no crash. */
    static const char *const odd[] = {
        "=", "==@==", "@@@", "SRS0=", "SRS0====@x", "SRS1====@x", "SRS1=a=b.c=", "prvs=",
        "prvs==", "btv1==", "btv1====", "msprvs1=", "bounces+SRS=", "+", "+@", "-@-",
        "\x80\xff@\xfe", "a@b@c", "SRS0=a=bb=c.d=e@f@g", "#####@x", "----1234----@x",
        "\"\"@x", "\"", "junk:", "1-2-3-4-5-6-7-8-9-0-a-b-c-d-e-f-0-1-2-3@x",
    };
    for (size_t i = 0; i < NELEM(odd); i++) {
        memset(out, 'Z', sizeof(out));
        rc = sendernorm_key(odd[i], out, sizeof(out));
        ck_assert_msg(rc >= 0 && memchr(out, '\0', sizeof(out)) != NULL
                      && strlen(out) <= strlen(odd[i]), "odd %zu: got rc %d", i, rc);
    }
}
END_TEST

/* sendernorm_suite - the cases above, one TCase per behaviour */
static Suite *
sendernorm_suite(void)
{
    Suite  *s = suite_create("sendernorm");
    TCase  *tc;

    tc = tcase_create("key");
    tcase_add_loop_test(tc, test_key, 0, NELEM(key_cases));
    tcase_add_loop_test(tc, test_key_idempotent, 0, NELEM(key_cases));
    suite_add_tcase(s, tc);

    tc = tcase_create("pairs");
    tcase_add_loop_test(tc, test_pair, 0, NELEM(pair_cases));
    suite_add_tcase(s, tc);

    tc = tcase_create("from raw");
    tcase_add_loop_test(tc, test_from_raw, 0, NELEM(raw_cases));
    tcase_add_test(tc, test_junk_from_raw);
    suite_add_tcase(s, tc);

    tc = tcase_create("bounds");
    tcase_add_test(tc, test_short_output);
    tcase_add_test(tc, test_exact_fit);
    tcase_add_test(tc, test_in_place);
    tcase_add_test(tc, test_junk);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return daemon_run_suites(sendernorm_suite(), NULL) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

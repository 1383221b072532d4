/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_spf_expand.c - walking SPF records into a netset: includes,
 * redirects, loops, caps, malformed and unexpandable terms, DNS failures,
 * the keep-or-replace decision, the list file, and a 2000-range lookup
 * checked against a brute-force scan.
 *
 * Records come from libspf2's zone layer (no network); a "slow" layer
 * stacked on it makes every lookup take a while for the deadline test.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netdb.h>

#include "clock.h"
#include "daemon.h"
#include "netblock.h"
#include "spf_expand.h"
#include "spf_resolver.h"
#include "zone.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

#define TXT(n, d) {n, ns_t_txt, 0, d}
#define FAILTXT(n) {n, ns_t_txt, TRY_AGAIN, NULL}

static const struct xcase {
    const char *label;
    struct zone_rec recs[24];
    const char *domains[4];
    unsigned max_lookups;                /* 0 = default */
    enum spf_expand_status status;
    int     blocks;                      /* -1 = not checked */
    unsigned malformed, skipped, loops, capped, host_bits, too_broad, dns_failures, no_record;
    const char *in[6];                   /* must be in the set */
    const char *out[6];                  /* must not be */
} xcases[] = {
    {"ip4 and ip6",
     {TXT("plain.example", "v=spf1 ip4:198.51.100.0/24 ip6:2001:db8:5::/48 -all")},
     {"plain.example"}, 0, SPF_EXPAND_COMPLETE, 2, 0, 0, 0, 0, 0, 0, 0, 0,
     {"198.51.100.7", "2001:db8:5::1"}, {"198.51.101.1", "2001:db8:6::1"}},
    {"upper case and trailing dot",
     {TXT("case.example", "V=SPF1 IP4:198.51.100.1 Include:Sub.Case.Example. -ALL"),
      TXT("sub.case.example", "v=spf1 ip4:198.51.100.2")},
     {"CASE.example."}, 0, SPF_EXPAND_COMPLETE, 2, 0, 0, 0, 0, 0, 0, 0, 0,
     {"198.51.100.1", "198.51.100.2"}, {"198.51.100.3"}},
    {"nested includes",
     {TXT("a.example", "v=spf1 ip4:198.51.100.1 include:b.example ~all"),
      TXT("b.example", "v=spf1 include:c.example ip6:2001:db8:b::/64"),
      TXT("c.example", "v=spf1 ip4:203.0.113.0/25 -all")},
     {"a.example"}, 0, SPF_EXPAND_COMPLETE, 3, 0, 0, 0, 0, 0, 0, 0, 0,
     {"198.51.100.1", "203.0.113.5", "2001:db8:b::9"}, {"198.51.100.2", "203.0.113.200"}},
    {"diamond includes walk once",
     {TXT("d.example", "v=spf1 include:l.example include:r.example"),
      TXT("l.example", "v=spf1 include:shared.example"),
      TXT("r.example", "v=spf1 include:shared.example"),
      TXT("shared.example", "v=spf1 ip4:198.51.100.9")},
     {"d.example"}, 0, SPF_EXPAND_COMPLETE, 1, 0, 0, 0, 0, 0, 0, 0, 0,
     {"198.51.100.9"}, {NULL}},
    {"redirect",
     {TXT("red.example", "v=spf1 redirect=target.example"),
      TXT("target.example", "v=spf1 ip4:192.0.2.128/25 -all")},
     {"red.example"}, 0, SPF_EXPAND_COMPLETE, 1, 0, 0, 0, 0, 0, 0, 0, 0,
     {"192.0.2.200"}, {"192.0.2.1"}},
    {"redirect ignored after all",
     {TXT("redall.example", "v=spf1 ip4:198.51.100.1 redirect=target.example -all"),
      TXT("target.example", "v=spf1 ip4:192.0.2.128/25 -all")},
     {"redall.example"}, 0, SPF_EXPAND_COMPLETE, 1, 0, 0, 0, 0, 0, 0, 0, 0,
     {"198.51.100.1"}, {"192.0.2.200"}},
    {"self include loop",
     {TXT("loop.example", "v=spf1 include:loop.example ip4:198.51.100.9")},
     {"loop.example"}, 0, SPF_EXPAND_COMPLETE, 1, 0, 0, 1, 0, 0, 0, 0, 0,
     {"198.51.100.9"}, {NULL}},
    {"indirect loop through redirect",
     {TXT("l1.example", "v=spf1 include:l2.example ip4:198.51.100.1"),
      TXT("l2.example", "v=spf1 ip4:198.51.100.2 redirect=l1.example")},
     {"l1.example"}, 0, SPF_EXPAND_COMPLETE, 2, 0, 0, 1, 0, 0, 0, 0, 0,
     {"198.51.100.1", "198.51.100.2"}, {NULL}},
    {"more than 10 lookups is fine for a trusted list",
     {TXT("n0.example", "v=spf1 ip4:198.51.100.0 include:n1.example"),
      TXT("n1.example", "v=spf1 ip4:198.51.100.1 include:n2.example"),
      TXT("n2.example", "v=spf1 ip4:198.51.100.2 include:n3.example"),
      TXT("n3.example", "v=spf1 ip4:198.51.100.3 include:n4.example"),
      TXT("n4.example", "v=spf1 ip4:198.51.100.4 include:n5.example"),
      TXT("n5.example", "v=spf1 ip4:198.51.100.5 include:n6.example"),
      TXT("n6.example", "v=spf1 ip4:198.51.100.6 include:n7.example"),
      TXT("n7.example", "v=spf1 ip4:198.51.100.7 include:n8.example"),
      TXT("n8.example", "v=spf1 ip4:198.51.100.8 include:n9.example"),
      TXT("n9.example", "v=spf1 ip4:198.51.100.9 include:n10.example"),
      TXT("n10.example", "v=spf1 ip4:198.51.100.10 include:n11.example"),
      TXT("n11.example", "v=spf1 ip4:198.51.100.11 include:n12.example"),
      TXT("n12.example", "v=spf1 ip4:198.51.100.12")},
     {"n0.example"}, 0, SPF_EXPAND_COMPLETE, 13, 0, 0, 0, 0, 0, 0, 0, 0,
     {"198.51.100.0", "198.51.100.12"}, {"198.51.100.13"}},
    {"lookup cap stops the walk",
     {TXT("n0.example", "v=spf1 ip4:198.51.100.0 include:n1.example"),
      TXT("n1.example", "v=spf1 ip4:198.51.100.1 include:n2.example"),
      TXT("n2.example", "v=spf1 ip4:198.51.100.2 include:n3.example"),
      TXT("n3.example", "v=spf1 ip4:198.51.100.3 include:n4.example"),
      TXT("n4.example", "v=spf1 ip4:198.51.100.4 include:n5.example"),
      TXT("n5.example", "v=spf1 ip4:198.51.100.5")},
     {"n0.example"}, 3, SPF_EXPAND_PARTIAL, 3, 0, 0, 0, 1, 0, 0, 0, 0,
     {"198.51.100.0", "198.51.100.2"}, {"198.51.100.3", "198.51.100.5"}},
    {"malformed terms are skipped, good ones kept",
     {TXT("bad.example", "v=spf1 ip4:300.1.2.3 ip4:198.51.100.0/33 ip6:zz:: ip4 foo:bar include:"
          " a:/24 mx:bad..name ip4:198.51.100.64/26 ip4:1.2.3.4/ a/99 =x redirect=r1.example"
          " redirect=r2.example"),
      TXT("r1.example", "v=spf1 ip4:203.0.113.1")},
     {"bad.example"}, 0, SPF_EXPAND_COMPLETE, 2, 12, 0, 0, 0, 0, 0, 0, 0,
     {"198.51.100.70", "203.0.113.1"}, {"198.51.100.1"}},
    {"host bits cleared, v4 and v6",
     {TXT("hb.example", "v=spf1 ip6:2001:db8:5::1/48 ip4:198.51.100.77/24 ip4:203.0.113.9/32")},
     {"hb.example"}, 0, SPF_EXPAND_COMPLETE, 3, 0, 0, 0, 0, 2, 0, 0, 0,
     {"2001:db8:5:ffff::1", "198.51.100.1", "203.0.113.9"}, {"2001:db8:6::1", "203.0.113.8"}},
    {"a and mx, with CIDRs",
     {TXT("hosts.example", "v=spf1 a a:web.hosts.example/28 mx mx:other.example/24//64 -all"),
      {"hosts.example", ns_t_a, 0, "198.51.100.10"},
      {"hosts.example", ns_t_aaaa, 0, "2001:db8:a::10"},
      {"web.hosts.example", ns_t_a, 0, "198.51.100.77"},
      {"hosts.example", ns_t_mx, 0, "10 mx1.hosts.example"},
      {"mx1.hosts.example", ns_t_a, 0, "203.0.113.25"},
      {"other.example", ns_t_mx, 0, "10 mx.other.example"},
      {"other.example", ns_t_mx, 0, "20 mx2.other.example"},
      {"mx.other.example", ns_t_a, 0, "192.0.2.77"},
      {"mx.other.example", ns_t_aaaa, 0, "2001:db8:c:1::25"},
      {"mx2.other.example", ns_t_aaaa, 0, "2001:db8:d::25"}},
     {"hosts.example"}, 0, SPF_EXPAND_COMPLETE, 7, 0, 0, 0, 0, 0, 0, 0, 0,
     {"198.51.100.10", "2001:db8:a::10", "198.51.100.66", "203.0.113.25", "192.0.2.1",
      "2001:db8:c:1:ffff::1"},
     {"198.51.100.11", "198.51.100.80", "203.0.113.26", "2001:db8:c:2::1", "2001:db8:a::11"}},
    {"exists, ptr, macros and non-pass qualifiers are skipped",
     {TXT("skip.example", "v=spf1 exists:%{i}._spf.skip.example ptr ptr:skip.example"
          " include:%{d}.x.example a:%{h}.example ~ip4:198.51.100.0/24 -ip4:198.51.101.0/24"
          " ?include:other.example redirect=%{d}.example ip4:203.0.113.1 ?all")},
     {"skip.example"}, 0, SPF_EXPAND_COMPLETE, 1, 0, 8, 0, 0, 0, 0, 0, 0,
     {"203.0.113.1"}, {"198.51.100.1", "198.51.101.1"}},
    {"too broad ranges are dropped",
     {TXT("wide.example", "v=spf1 +all ip4:0.0.0.0/1 ip6:::/0 a/0 ip4:10.0.0.0/8"
          " ip6:2001:db8::/23 ip4:198.51.100.0/24")},
     {"wide.example"}, 0, SPF_EXPAND_COMPLETE, 2, 0, 0, 0, 0, 0, 4, 0, 0,
     {"198.51.100.1", "10.1.2.3"}, {"11.0.0.1", "1.2.3.4", "2001:db8::1"}},
    {"DNS failure on one listed domain: partial",
     {TXT("ok.example", "v=spf1 ip4:198.51.100.0/24"), FAILTXT("down.example")},
     {"ok.example", "down.example"}, 0, SPF_EXPAND_PARTIAL, 1, 0, 0, 0, 0, 0, 0, 1, 0,
     {"198.51.100.1"}, {NULL}},
    {"DNS failure inside an include: partial",
     {TXT("top.example", "v=spf1 ip4:198.51.100.0/24 include:down.example"),
      FAILTXT("down.example")},
     {"top.example"}, 0, SPF_EXPAND_PARTIAL, 1, 0, 0, 0, 0, 0, 0, 1, 0,
     {"198.51.100.1"}, {NULL}},
    {"DNS failure on an MX host: partial",
     {TXT("mxf.example", "v=spf1 mx ip4:198.51.100.1"),
      {"mxf.example", ns_t_mx, 0, "10 mx.mxf.example"},
      {"mx.mxf.example", ns_t_a, TRY_AGAIN, NULL}},
     {"mxf.example"}, 0, SPF_EXPAND_PARTIAL, 1, 0, 0, 0, 0, 0, 0, 1, 0,
     {"198.51.100.1"}, {NULL}},
    {"all DNS failed: failed",
     {FAILTXT("down.example")},
     {"down.example"}, 0, SPF_EXPAND_FAILED, 0, 0, 0, 0, 0, 0, 0, 1, 0,
     {NULL}, {NULL}},
    {"no record is reported, not a failure",
     {TXT("ok.example", "v=spf1 ip4:198.51.100.0/24"), TXT("text.example", "hello")},
     {"ok.example", "nx.example", "text.example"}, 0, SPF_EXPAND_COMPLETE, 1, 0, 0, 0, 0, 0, 0, 0, 2,
     {"198.51.100.1"}, {NULL}},
    {"only records without ranges: failed",
     {TXT("ptronly.example", "v=spf1 ptr:ptronly.example ?all")},
     {"ptronly.example", "nx.example"}, 0, SPF_EXPAND_FAILED, 0, 0, 1, 0, 0, 0, 0, 0, 1,
     {NULL}, {NULL}},
    {"two SPF records is malformed",
     {TXT("two.example", "v=spf1 ip4:198.51.100.1"), TXT("two.example", "v=spf1 ip4:198.51.100.2"),
      TXT("ok.example", "v=spf1 ip4:203.0.113.1")},
     {"two.example", "ok.example"}, 0, SPF_EXPAND_COMPLETE, 1, 1, 0, 0, 0, 0, 0, 0, 0,
     {"203.0.113.1"}, {"198.51.100.1"}},
    {"junk listed names",
     {TXT("ok.example", "v=spf1 ip4:203.0.113.1")},
     {"ok.example", "bad name", "", "%{d}.example"}, 0, SPF_EXPAND_COMPLETE, 1, 3, 0, 0, 0, 0, 0, 0, 0,
     {"203.0.113.1"}, {NULL}},
};

/* test_expand - one table row through spf_expand_run */
START_TEST(test_expand)
{
    const struct xcase *c = &xcases[_i];
    SPF_dns_server_t *z = zone_new(c->recs, NELEM(c->recs));
    struct spf_expand_opts o = {.max_lookups = c->max_lookups};
    struct spf_expand_result *r = calloc(1, sizeof(*r));
    const struct spf_expand_report *rep = &r->report;
    size_t  nd, i;

    for (nd = 0; nd < NELEM(c->domains) && c->domains[nd]; nd++)
        ;
    ck_assert_int_eq(spf_expand_run(z, &o, c->domains, nd, r), 0);

    ck_assert_msg(r->status == c->status, "%s: status got %s, want %s", c->label,
                  spf_expand_status_name(r->status), spf_expand_status_name(c->status));
    if (c->blocks >= 0)
        ck_assert_msg(rep->blocks == (unsigned) c->blocks, "%s: blocks got %u, want %d",
                      c->label, rep->blocks, c->blocks);
#define EQ(f) ck_assert_msg(rep->f == c->f, "%s: " #f " got %u, want %u", c->label, rep->f, c->f)
    EQ(malformed);
    EQ(skipped);
    EQ(loops);
    EQ(capped);
    EQ(host_bits);
    EQ(too_broad);
    EQ(dns_failures);
    EQ(no_record);
#undef EQ
    ck_assert_msg((r->set == NULL) == (c->status == SPF_EXPAND_FAILED), "%s: set presence", c->label);
    ck_assert_msg(rep->nnotes + rep->notes_dropped >= rep->malformed + rep->skipped + rep->loops
                  + rep->capped + rep->host_bits + rep->too_broad + rep->dns_failures
                  + rep->no_record, "%s: %u notes for more problems", c->label, rep->nnotes);
    for (i = 0; i < NELEM(c->in) && c->in[i]; i++) {
        struct ipaddr ip = daemon_must_ip(c->in[i]);

        ck_assert_msg(netset_contains(r->set, &ip), "%s: %s got out, want in", c->label, c->in[i]);
    }
    for (i = 0; i < NELEM(c->out) && c->out[i]; i++) {
        struct ipaddr ip = daemon_must_ip(c->out[i]);

        ck_assert_msg(!netset_contains(r->set, &ip), "%s: %s got in, want out", c->label, c->out[i]);
    }
    spf_expand_result_fini(r);
    spf_expand_result_fini(r);           /* idempotent */
    free(r);
    SPF_dns_free(z);
}
END_TEST

/* test_notes_readable - notes name the domain and the term */
START_TEST(test_notes_readable)
{
    static const struct zone_rec recs[] = {
        TXT("n.example", "v=spf1 exists:%{i}.n.example ip4:198.51.100.7/24 include:n.example"),
    };
    SPF_dns_server_t *z = zone_new(recs, NELEM(recs));
    struct spf_expand_result *r = calloc(1, sizeof(*r));
    const char *dom[] = {"n.example"};
    unsigned i;
    int     saw_exists = 0, saw_hb = 0, saw_loop = 0;

    ck_assert_int_eq(spf_expand_run(z, NULL, dom, 1, r), 0);
    for (i = 0; i < r->report.nnotes; i++) {
        const struct spf_expand_note *n = &r->report.notes[i];

        if (n->kind == SPF_EXPAND_NOTE_SKIPPED && strstr(n->text, "n.example: exists:%{i}.n.example"))
            saw_exists = 1;
        if (n->kind == SPF_EXPAND_NOTE_HOST_BITS && strstr(n->text, "ip4:198.51.100.7/24"))
            saw_hb = 1;
        if (n->kind == SPF_EXPAND_NOTE_LOOP && strstr(n->text, "loops"))
            saw_loop = 1;
    }
    ck_assert_msg(saw_exists && saw_hb && saw_loop, "notes: exists %d, host bits %d, loop %d",
                  saw_exists, saw_hb, saw_loop);
    ck_assert_str_eq(spf_expand_note_kind_name(SPF_EXPAND_NOTE_TOO_BROAD), "too-broad");
    spf_expand_result_fini(r);
    free(r);
    SPF_dns_free(z);
}
END_TEST

/* test_notes_escaped - DNS text in a note is escaped (logesc): it cannot forge a log line */
START_TEST(test_notes_escaped)
{
    static const struct zone_rec recs[] = {
        TXT("evil.example", "v=spf1 ip4:192.0.2.1/33\"x=<y>\xff include:bad\"name\r\n.example"
            " ip4:198.51.100.1"),
    };
    SPF_dns_server_t *z = zone_new(recs, NELEM(recs));
    struct spf_expand_result *r = calloc(1, sizeof(*r));
    const char *dom[] = {"evil.example"};
    int     saw_term = 0, saw_name = 0;

    ck_assert_int_eq(spf_expand_run(z, NULL, dom, 1, r), 0);
    ck_assert_uint_eq(r->report.malformed, 2);
    for (unsigned i = 0; i < r->report.nnotes; i++) {
        const char *t = r->report.notes[i].text;

        for (const char *p = t; *p != '\0'; p++)
            ck_assert_msg((unsigned char) *p >= 0x20 && (unsigned char) *p < 0x7f,
                          "note %u has byte 0x%02x: %s", i, (unsigned char) *p, t);
        saw_term += strcmp(t, "evil.example: ip4:192.0.2.1/33\\x22x\\x3d\\x3cy\\x3e\\xff: "
                           "bad address or prefix") == 0;
        saw_name += strcmp(t, "evil.example: bad domain name "
                           "\"bad\\x22name\\x0d\\x0a.example\"") == 0;
    }
    ck_assert_msg(saw_term == 1 && saw_name == 1, "term note %d, name note %d (first: %s)",
                  saw_term, saw_name, r->report.nnotes ? r->report.notes[0].text : "none");
    spf_expand_result_fini(r);
    free(r);
    SPF_dns_free(z);
}
END_TEST

/* test_notes_bounded - more problems than note slots: counted, not kept */
START_TEST(test_notes_bounded)
{
    char    rec[8192];
    struct zone_rec recs[1];
    SPF_dns_server_t *z;
    struct spf_expand_result *r = calloc(1, sizeof(*r));
    const char *dom[] = {"many.example"};
    size_t  off;
    int     i;

    off = (size_t) snprintf(rec, sizeof(rec), "v=spf1");
    for (i = 0; i < 100; i++)
        off += (size_t) snprintf(rec + off, sizeof(rec) - off, " ptr:h%d.example", i);
    snprintf(rec + off, sizeof(rec) - off, " ip4:198.51.100.1");
    recs[0] = (struct zone_rec) TXT("many.example", rec);
    z = zone_new(recs, 1);
    ck_assert_int_eq(spf_expand_run(z, NULL, dom, 1, r), 0);
    ck_assert_uint_eq(r->report.skipped, 100);
    ck_assert_uint_eq(r->report.nnotes, SPF_EXPAND_NOTES_MAX);
    ck_assert_uint_eq(r->report.notes_dropped, 100 - SPF_EXPAND_NOTES_MAX);
    ck_assert_int_eq(r->status, SPF_EXPAND_COMPLETE);
    spf_expand_result_fini(r);
    free(r);
    SPF_dns_free(z);
}
END_TEST

static const struct dcase {
    const char *label;
    enum spf_expand_status status;
    size_t  ranges;
    int     have_old;
    enum spf_expand_decision want;
} dcases[] = {
    {"complete, first set", SPF_EXPAND_COMPLETE, 120, 0, SPF_EXPAND_REPLACE},
    {"complete replaces old", SPF_EXPAND_COMPLETE, 120, 1, SPF_EXPAND_REPLACE},
    {"complete but empty keeps old", SPF_EXPAND_COMPLETE, 0, 1, SPF_EXPAND_KEEP},
    {"partial keeps old", SPF_EXPAND_PARTIAL, 100, 1, SPF_EXPAND_KEEP},
    {"partial beats nothing", SPF_EXPAND_PARTIAL, 100, 0, SPF_EXPAND_REPLACE},
    {"failed keeps old", SPF_EXPAND_FAILED, 0, 1, SPF_EXPAND_KEEP},
    {"failed with no old set installs nothing", SPF_EXPAND_FAILED, 0, 0, SPF_EXPAND_KEEP},
    {"failed with ranges still keeps", SPF_EXPAND_FAILED, 5, 1, SPF_EXPAND_KEEP},
    {"junk status keeps", (enum spf_expand_status) 77, 5, 1, SPF_EXPAND_KEEP},
};

/* test_decide - the pure keep-or-replace rule */
START_TEST(test_decide)
{
    const struct dcase *c = &dcases[_i];
    enum spf_expand_decision got = spf_expand_decide(c->status, c->ranges, c->have_old);

    ck_assert_msg(got == c->want, "%s: got %d, want %d", c->label, got, c->want);
}
END_TEST

/* test_keep_old_on_dns_failure - a failed refresh leaves the old set in place */
START_TEST(test_keep_old_on_dns_failure)
{
    static const struct zone_rec good[] = {TXT("big.example", "v=spf1 ip4:198.51.100.0/24")};
    static const struct zone_rec down[] = {FAILTXT("big.example")};
    const char *dom[] = {"big.example"};
    struct spf_expand_result *r = calloc(1, sizeof(*r));
    struct netset *in_use = NULL;
    SPF_dns_server_t *z;
    struct ipaddr ip = daemon_must_ip("198.51.100.9");

    /* Prepare: a good first expansion is installed. */
    z = zone_new(good, NELEM(good));
    spf_expand_run(z, NULL, dom, 1, r);
    SPF_dns_free(z);
    ck_assert_int_eq(spf_expand_decide(r->status, netset_count(r->set), in_use != NULL), SPF_EXPAND_REPLACE);
    in_use = r->set;
    r->set = NULL;

    /* Exercise: the refresh hits a DNS outage. */
    z = zone_new(down, NELEM(down));
    spf_expand_run(z, NULL, dom, 1, r);
    SPF_dns_free(z);

    /* Verify: failed, keep, and the old set still answers. */
    ck_assert_int_eq(r->status, SPF_EXPAND_FAILED);
    ck_assert_int_eq(spf_expand_decide(r->status, netset_count(r->set), in_use != NULL), SPF_EXPAND_KEEP);
    ck_assert(netset_contains(in_use, &ip));
    spf_expand_result_fini(r);
    netset_free(in_use);
    free(r);
}
END_TEST

/* test_deadline - a listed domain's walk stops when its DNS budget is spent */
START_TEST(test_deadline)
{
    struct zone_rec recs[30];
    char    names[30][32], txts[30][96];
    SPF_dns_server_t *dns;
    struct spf_expand_opts o = {.timeout_ms = 500};
    struct spf_expand_result *r = calloc(1, sizeof(*r));
    const char *dom[] = {"d0.example"};
    int64_t t0;
    long    took;
    int     i;

    for (i = 0; i < 30; i++) {
        snprintf(names[i], sizeof(names[i]), "d%d.example", i);
        snprintf(txts[i], sizeof(txts[i]), "v=spf1 ip4:198.51.100.%d include:d%d.example", i, i + 1);
        recs[i] = (struct zone_rec) TXT(names[i], txts[i]);
    }
    dns = spf_resolver_guard_new(zone_slow_new(zone_new(recs, NELEM(recs)), 100));
    t0 = clock_mono_ms();
    spf_expand_run(dns, &o, dom, 1, r);
    took = (long) (clock_mono_ms() - t0);

    ck_assert_msg(took < 500 + 100 + 400, "deadline: took %ld ms, want < 1000", took);
    ck_assert_int_eq(r->status, SPF_EXPAND_PARTIAL);
    ck_assert_uint_ge(r->report.dns_failures, 1);
    ck_assert_uint_ge(r->report.blocks, 3);
    ck_assert_uint_lt(r->report.blocks, 30);
    ck_assert_int_eq(spf_resolver_remaining_ms(), -1);  /* budget ended with the walk */
    spf_expand_result_fini(r);
    free(r);
    SPF_dns_free(dns);
}
END_TEST

/* xorshift64 - fixed-seed randomness */
static uint64_t
xrand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

#define NRANGES 2000
#define NPROBES 10000
#define PER_RECORD 20

/*
 * test_lookup_vs_bruteforce - 2000 ranges served as ip4:/ip6: terms over
 * 100 included records; the expanded set must answer 10000 addresses
 * exactly as a scan of the original ranges does, and quickly.
 */
START_TEST(test_lookup_vs_bruteforce)
{
    static struct netblock blocks[NRANGES];
    static char txt[NRANGES / PER_RECORD][PER_RECORD * 64];
    static char names[NRANGES / PER_RECORD][32];
    static struct zone_rec recs[NRANGES / PER_RECORD + 1];
    static char top[NRANGES / PER_RECORD * 32 + 16];
    char    text[NETBLOCK_STRLEN];
    struct spf_expand_result *r = calloc(1, sizeof(*r));
    const char *dom[] = {"top.example"};
    SPF_dns_server_t *z;
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    int64_t t0;
    size_t  off = 0, toff;
    long    took;
    int     i, j, hits = 0;

    /* Prepare: random blocks, v4 /12../32 and v6 /32../128, as records. */
    toff = (size_t) snprintf(top, sizeof(top), "v=spf1");
    for (i = 0; i < NRANGES / PER_RECORD; i++) {
        snprintf(names[i], sizeof(names[i]), "r%d.example", i);
        off = (size_t) snprintf(txt[i], sizeof(txt[i]), "v=spf1");
        for (j = 0; j < PER_RECORD; j++) {
            struct netblock *nb = &blocks[i * PER_RECORD + j];
            struct ipaddr ip;
            uint64_t v = xrand(&seed);
            unsigned k;

            memset(&ip, 0, sizeof(ip));
            if (v & 1) {
                ip.family = AF_INET;
                for (k = 0; k < 4; k++)
                    ip.b[k] = (uint8_t) (xrand(&seed) >> 24);
                netblock_mask(&ip, 12 + (unsigned) (xrand(&seed) % 21), nb);
            } else {
                ip.family = AF_INET6;
                ip.b[0] = 0x20;
                ip.b[1] = 0x01;
                for (k = 2; k < 16; k++)
                    ip.b[k] = (uint8_t) (xrand(&seed) >> 24);
                netblock_mask(&ip, 32 + (unsigned) (xrand(&seed) % 97), nb);
            }
            netblock_format(nb, text, sizeof(text));
            off += (size_t) snprintf(txt[i] + off, sizeof(txt[i]) - off, " ip%c:%s",
                                     nb->addr.family == AF_INET ? '4' : '6', text);
        }
        recs[i] = (struct zone_rec) TXT(names[i], txt[i]);
        toff += (size_t) snprintf(top + toff, sizeof(top) - toff, " include:%s", names[i]);
    }
    recs[NRANGES / PER_RECORD] = (struct zone_rec) TXT("top.example", top);
    z = zone_new(recs, NELEM(recs));
    ck_assert_int_eq(spf_expand_run(z, NULL, dom, 1, r), 0);
    ck_assert_int_eq(r->status, SPF_EXPAND_COMPLETE);
    ck_assert_uint_eq(r->report.blocks, NRANGES);
    ck_assert_uint_eq(r->report.malformed, 0);

    /* Exercise and verify: half the addresses inside a random block. */
    t0 = clock_mono_ms();
    for (i = 0; i < NPROBES; i++) {
        struct ipaddr ip;
        int     want = 0, got, k;

        if (i % 2 == 0) {
            const struct netblock *nb = &blocks[xrand(&seed) % NRANGES];

            ip = nb->addr;
            for (k = (int) nb->prefix / 8; k < 16; k++)
                ip.b[k] |= (uint8_t) (xrand(&seed) >> 24) & (k == (int) nb->prefix / 8
                                                           ? (uint8_t) (0xff >> (nb->prefix % 8)) : 0xff);
            if (ip.family == AF_INET)
                memset(ip.b + 4, 0, 12);
        } else {
            memset(&ip, 0, sizeof(ip));
            ip.family = (xrand(&seed) & 1) ? AF_INET : AF_INET6;
            for (k = 0; k < (ip.family == AF_INET ? 4 : 16); k++)
                ip.b[k] = (uint8_t) (xrand(&seed) >> 24);
            if (ip.family == AF_INET6) {
                ip.b[0] = 0x20;
                ip.b[1] = 0x01;
            }
        }
        for (j = 0; j < NRANGES && !want; j++)
            want = netblock_contains(&blocks[j], &ip);
        got = netset_contains(r->set, &ip);
        if (got != want) {
            char    buf[IPADDR_STRLEN];

            ck_abort_msg("probe %d %s: got %d, want %d", i, ipaddr_format(&ip, buf, sizeof(buf)), got, want);
        }
        hits += got;
    }
    took = (long) (clock_mono_ms() - t0);
    ck_assert_int_ge(hits, NPROBES / 2);         /* the inside half all hit */

    /* Fast: the set alone answers 10000 lookups in well under a second. */
    t0 = clock_mono_ms();
    for (i = 0; i < NPROBES; i++) {
        struct ipaddr ip = blocks[i % NRANGES].addr;

        hits += netset_contains(r->set, &ip);
    }
    took = (long) (clock_mono_ms() - t0);
    ck_assert_msg(took < 500, "10000 set lookups took %ld ms", took);
    spf_expand_result_fini(r);
    free(r);
    SPF_dns_free(z);
}
END_TEST

/* test_list_shipped - contrib/bigsenders.txt loads */
START_TEST(test_list_shipped)
{
    struct spf_expand_list l;
    char    err[256] = "";
    size_t  i;
    int     google = 0;

    ck_assert_msg(spf_expand_list_load(TEST_SRCDIR "/../contrib/bigsenders.txt", &l, err, sizeof(err)) == 0,
                  "shipped list: %s", err);
    ck_assert_uint_ge(l.count, 15);
    for (i = 0; i < l.count; i++)
        google |= strcmp(l.domains[i], "google.com") == 0;
    ck_assert(google);
    spf_expand_list_fini(&l);
    spf_expand_list_fini(&l);
}
END_TEST

static const struct lcase {
    const char *label;
    const char *text;
    int     rc;
    size_t  count;                       /* when rc == 0 */
    const char *err;                     /* substring, when rc == -1 */
} lcases[] = {
    {"comments, blanks, case, dots, duplicates",
     "# list\n\n  Google.COM  # trailing\nexample.org.\ngoogle.com\n\t\n", 0, 2, NULL},
    {"empty file", "", 0, 0, NULL},
    {"two words", "a.example b.example\n", -1, 0, ":1: bad domain"},
    {"macro", "ok.example\n%{d}.example\n", -1, 0, ":2: bad domain"},
    {"address", "ok.example\n\n192.0.2.1/24\n", -1, 0, ":3: bad domain"},
    {"long label", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example\n", -1, 0,
     ":1: bad domain"},
    {"embedded NUL", "ok.example\nbad\0name.example\n", -1, 0, ":2: NUL byte"},
};

/* test_list_parse - table of list files */
START_TEST(test_list_parse)
{
    const struct lcase *c = &lcases[_i];
    char    path[] = "/tmp/redgrey-list-XXXXXX";
    struct spf_expand_list l;
    char    err[256] = "";
    size_t  len = strlen(c->text);
    int     fd = mkstemp(path), rc;

    ck_assert_int_ge(fd, 0);
    if (strcmp(c->label, "embedded NUL") == 0)
        len = strlen(c->text) + 1 + strlen(c->text + strlen(c->text) + 1);
    ck_assert_int_eq(write(fd, c->text, len), (ssize_t) len);
    close(fd);
    rc = spf_expand_list_load(path, &l, err, sizeof(err));
    unlink(path);
    ck_assert_msg(rc == c->rc, "%s: got %d (%s), want %d", c->label, rc, err, c->rc);
    if (rc == 0)
        ck_assert_msg(l.count == c->count, "%s: got %zu domains, want %zu", c->label, l.count, c->count);
    else
        ck_assert_msg(strstr(err, c->err) != NULL, "%s: got \"%s\", want \"%s\"", c->label, err, c->err);
    spf_expand_list_fini(&l);
}
END_TEST

/* test_list_missing - an unreadable file is an error naming it */
START_TEST(test_list_missing)
{
    struct spf_expand_list l;
    char    err[256] = "";

    ck_assert_int_eq(spf_expand_list_load("/nonexistent/bigsenders.txt", &l, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent/bigsenders.txt"));
    ck_assert_uint_eq(l.count, 0);
}
END_TEST

/* test_bad_args - NULLs are refused, not crashed on */
START_TEST(test_bad_args)
{
    struct spf_expand_result r;
    struct spf_expand_report rep;
    const char *dom[] = {"x.example"};

    memset(&rep, 0, sizeof(rep));
    ck_assert_int_eq(spf_expand_run(NULL, NULL, dom, 1, &r), -1);
    ck_assert_int_eq(r.status, SPF_EXPAND_FAILED);
    ck_assert_ptr_null(r.set);
    ck_assert_int_eq(spf_expand_run(NULL, NULL, dom, 1, NULL), -1);
    ck_assert_uint_eq(spf_expand_walk(NULL, NULL, "x.example", NULL, &rep), 1);
    ck_assert_str_eq(spf_expand_status_name(SPF_EXPAND_PARTIAL), "partial");
    spf_expand_result_fini(NULL);
}
END_TEST

static Suite *
spf_expand_suite(void)
{
    Suite  *s = suite_create("spf_expand");
    TCase  *tc;

    tc = tcase_create("expand");
    tcase_add_loop_test(tc, test_expand, 0, NELEM(xcases));
    tcase_add_test(tc, test_notes_readable);
    tcase_add_test(tc, test_notes_escaped);
    tcase_add_test(tc, test_notes_bounded);
    tcase_add_test(tc, test_deadline);
    suite_add_tcase(s, tc);

    tc = tcase_create("decide");
    tcase_add_loop_test(tc, test_decide, 0, NELEM(dcases));
    tcase_add_test(tc, test_keep_old_on_dns_failure);
    suite_add_tcase(s, tc);

    tc = tcase_create("lookup");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_lookup_vs_bruteforce);
    suite_add_tcase(s, tc);

    tc = tcase_create("list");
    tcase_add_test(tc, test_list_shipped);
    tcase_add_loop_test(tc, test_list_parse, 0, NELEM(lcases));
    tcase_add_test(tc, test_list_missing);
    suite_add_tcase(s, tc);

    tc = tcase_create("bad input");
    tcase_add_test(tc, test_bad_args);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return daemon_run_suites(spf_expand_suite(), NULL) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_spf_limits.c - RFC 7208's limits kept by the guard layer
 * (spf_limits.c) and the per-message time budget (spf_resolver.c), with
 * libspf2 evaluating the records so that its result is what is asserted:
 *
 *  - how libspf2 1.2.10 turns a layer's answer into a result (the premise
 *    of how spf_limits fails a check);
 *  - the 10-term and 2-void limits, at and one past the limit, through
 *    include:, redirect=, a, mx (whose address lookups are not terms) and
 *    exists, with libspf2 alone as the control (it passes a match in the
 *    11th term, and in an include chain counts each include apart);
 *  - one budget for a message: three checks against a server that never
 *    answers cost one budget, not three timeouts.
 *
 * The limits run over libspf2's zone layer (tests/zone.c) under the
 * guard; the budget over the real resolver layer and a loopback UDP
 * socket that never answers.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "clock.h"
#include "daemon.h"
#include "ipaddr.h"
#include "spf_check.h"
#include "spf_resolver.h"
#include "zone.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define CLIENT "198.51.100.7"
#define MISS "v=spf1 ip4:192.0.2.1 -all"          /* an include that does not match */
#define HIT  "v=spf1 ip4:198.51.100.0/24 -all"    /* one that does */

static const struct zone_rec recs[] = {
    /* How libspf2 maps answers. */
    {"inc-nx.example", ns_t_txt, 0, "v=spf1 include:nx.example " HIT},
    {"a-again.example", ns_t_txt, 0, "v=spf1 a:again.example ip4:198.51.100.0/24 -all"},
    {"again.example", ns_t_a, TRY_AGAIN, NULL},
    {"a-nx.example", ns_t_txt, 0, "v=spf1 a:nx.example ip4:198.51.100.0/24 -all"},

    /* Terms. */
    {"inc10.example", ns_t_txt, 0, "v=spf1 include:n1.example include:n2.example "
     "include:n3.example include:n4.example include:n5.example include:n6.example "
     "include:n7.example include:n8.example include:n9.example include:m.example -all"},
    {"inc11.example", ns_t_txt, 0, "v=spf1 include:n1.example include:n2.example "
     "include:n3.example include:n4.example include:n5.example include:n6.example "
     "include:n7.example include:n8.example include:n9.example include:n10.example "
     "include:m.example -all"},
    {"deep11.example", ns_t_txt, 0, "v=spf1 include:d1.example -all"},
    {"d1.example", ns_t_txt, 0, "v=spf1 include:n1.example include:d2.example -all"},
    {"d2.example", ns_t_txt, 0, "v=spf1 include:n2.example include:n3.example "
     "include:n4.example include:n5.example include:n6.example include:n7.example "
     "include:n8.example include:m.example -all"},
    {"a10.example", ns_t_txt, 0, "v=spf1 a:h1.example a:h2.example a:h3.example a:h4.example "
     "a:h5.example a:h6.example a:h7.example a:h8.example a:h9.example a:hm.example -all"},
    {"a11.example", ns_t_txt, 0, "v=spf1 a:h1.example a:h2.example a:h3.example a:h4.example "
     "a:h5.example a:h6.example a:h7.example a:h8.example a:h9.example a:h10.example "
     "a:hm.example -all"},
    {"ex11.example", ns_t_txt, 0, "v=spf1 a:h1.example a:h2.example a:h3.example "
     "a:h4.example a:h5.example a:h6.example a:h7.example a:h8.example a:h9.example "
     "a:h10.example exists:hm.example -all"},
    {"mx10.example", ns_t_txt, 0, "v=spf1 mx:mx.example a:h1.example a:h2.example "
     "a:h3.example a:h4.example a:h5.example a:h6.example a:h7.example a:h8.example "
     "a:hm.example -all"},
    {"static11.example", ns_t_txt, 0, "v=spf1 a:h1.example a:h2.example a:h3.example "
     "a:h4.example a:h5.example a:h6.example a:h7.example a:h8.example a:h9.example "
     "a:h10.example a:h11.example ip4:198.51.100.0/24 -all"},
    {"rd10.example", ns_t_txt, 0, "v=spf1 redirect=r2.example"},
    {"rd11.example", ns_t_txt, 0, "v=spf1 redirect=r1.example"},
    {"r1.example", ns_t_txt, 0, "v=spf1 redirect=r2.example"},
    {"r2.example", ns_t_txt, 0, "v=spf1 redirect=r3.example"},
    {"r3.example", ns_t_txt, 0, "v=spf1 redirect=r4.example"},
    {"r4.example", ns_t_txt, 0, "v=spf1 redirect=r5.example"},
    {"r5.example", ns_t_txt, 0, "v=spf1 redirect=r6.example"},
    {"r6.example", ns_t_txt, 0, "v=spf1 redirect=r7.example"},
    {"r7.example", ns_t_txt, 0, "v=spf1 redirect=r8.example"},
    {"r8.example", ns_t_txt, 0, "v=spf1 redirect=r9.example"},
    {"r9.example", ns_t_txt, 0, "v=spf1 redirect=r10.example"},
    {"r10.example", ns_t_txt, 0, "v=spf1 redirect=r11.example"},
    {"r11.example", ns_t_txt, 0, HIT},

    /* Voids: nx*.example do not exist, empty*.example have no A. */
    {"void2.example", ns_t_txt, 0, "v=spf1 a:nx1.example exists:empty1.example " HIT},
    {"void3.example", ns_t_txt, 0, "v=spf1 a:nx1.example exists:empty1.example "
     "mx:nx2.example " HIT},
    {"void3inc.example", ns_t_txt, 0, "v=spf1 a:nx1.example include:v.example " HIT},
    {"v.example", ns_t_txt, 0, "v=spf1 a:empty1.example a:nx3.example -all"},
    {"mxvoid.example", ns_t_txt, 0, "v=spf1 mx:mx.example a:nx1.example " HIT},
    {"empty1.example", ns_t_a, NO_DATA, NULL},

    {"n1.example", ns_t_txt, 0, MISS}, {"n2.example", ns_t_txt, 0, MISS},
    {"n3.example", ns_t_txt, 0, MISS}, {"n4.example", ns_t_txt, 0, MISS},
    {"n5.example", ns_t_txt, 0, MISS}, {"n6.example", ns_t_txt, 0, MISS},
    {"n7.example", ns_t_txt, 0, MISS}, {"n8.example", ns_t_txt, 0, MISS},
    {"n9.example", ns_t_txt, 0, MISS}, {"n10.example", ns_t_txt, 0, MISS},
    {"m.example", ns_t_txt, 0, HIT},
    {"h1.example", ns_t_a, 0, "192.0.2.1"}, {"h2.example", ns_t_a, 0, "192.0.2.2"},
    {"h3.example", ns_t_a, 0, "192.0.2.3"}, {"h4.example", ns_t_a, 0, "192.0.2.4"},
    {"h5.example", ns_t_a, 0, "192.0.2.5"}, {"h6.example", ns_t_a, 0, "192.0.2.6"},
    {"h7.example", ns_t_a, 0, "192.0.2.7"}, {"h8.example", ns_t_a, 0, "192.0.2.8"},
    {"h9.example", ns_t_a, 0, "192.0.2.9"}, {"h10.example", ns_t_a, 0, "192.0.2.10"},
    {"h11.example", ns_t_a, 0, "192.0.2.11"},
    {"hm.example", ns_t_a, 0, CLIENT},
    /* mx.example: five hosts; host 5 has no address (not a void: not a term). */
    {"mx.example", ns_t_mx, 0, "mx1.example"}, {"mx.example", ns_t_mx, 0, "mx2.example"},
    {"mx.example", ns_t_mx, 0, "mx3.example"}, {"mx.example", ns_t_mx, 0, "mx4.example"},
    {"mx.example", ns_t_mx, 0, "mx5.example"},
    {"mx1.example", ns_t_a, 0, "192.0.2.21"}, {"mx2.example", ns_t_a, 0, "192.0.2.22"},
    {"mx3.example", ns_t_a, 0, "192.0.2.23"}, {"mx4.example", ns_t_a, 0, "192.0.2.24"},
};

/* A libspf2 server over a guard over the zone, and one client request. */
struct rig {
    SPF_server_t *srv;
    SPF_dns_server_t *guard;
};

/* rig_new - the server (checked) */
static struct rig
rig_new(void)
{
    struct rig r;

    r.guard = spf_resolver_guard_new(zone_new(recs, NELEM(recs)));
    ck_assert_ptr_nonnull(r.guard);
    r.srv = SPF_server_new_dns(r.guard, 0);
    ck_assert_ptr_nonnull(r.srv);
    return r;
}

/* rig_free - the server and, since 1.2.10's server does not, its layers */
static void
rig_free(struct rig *r)
{
    SPF_server_free(r->srv);
    SPF_dns_free(r->guard);
}

/*
 * run - libspf2's result for CLIENT and domain: through
 * spf_limits_query_mailfrom when limited, else libspf2 alone
 */
static SPF_result_t
run(struct rig *r, const char *domain, int limited)
{
    SPF_request_t *req = SPF_request_new(r->srv);
    SPF_response_t *resp = NULL;
    SPF_result_t res;
    struct in_addr a;

    ck_assert_ptr_nonnull(req);
    inet_pton(AF_INET, CLIENT, &a);
    ck_assert_int_eq(SPF_request_set_ipv4(req, a), SPF_E_SUCCESS);
    ck_assert_int_eq(SPF_request_set_env_from(req, domain), SPF_E_SUCCESS);
    if (limited)
        spf_limits_query_mailfrom(req, &resp);
    else
        SPF_request_query_mailfrom(req, &resp);
    ck_assert_ptr_nonnull(resp);
    res = SPF_response_result(resp);
    SPF_response_free(resp);
    SPF_request_free(req);
    return res;
}

/* ------------------------------------------------- libspf2's own mapping */

static const struct mcase {
    const char *domain;
    SPF_result_t want;
} mcases[] = {
    {"inc-nx.example", SPF_RESULT_PERMERROR},   /* NXDOMAIN on an include: target */
    {"a-again.example", SPF_RESULT_TEMPERROR},  /* TRY_AGAIN on an a lookup */
    {"a-nx.example", SPF_RESULT_PASS},          /* NXDOMAIN on a: no match, goes on */
};

/*
 * test_libspf2_mapping - the answers spf_limits fails a check with do
 * what it assumes, in libspf2 alone: NXDOMAIN for include: is permerror,
 * TRY_AGAIN stops at once with temperror, NXDOMAIN for a: goes on
 */
START_TEST(test_libspf2_mapping)
{
    const struct mcase *c = &mcases[_i];
    struct rig r = rig_new();
    SPF_result_t got = run(&r, c->domain, 0);

    ck_assert_msg(got == c->want, "%s: libspf2 gave %s, want %s", c->domain,
                  SPF_strresult(got), SPF_strresult(c->want));
    rig_free(&r);
}
END_TEST

/* ------------------------------------------------------------ the limits */

static const struct lcase {
    const char *domain;
    SPF_result_t want;                   /* through spf_limits */
    SPF_result_t alone;                  /* libspf2 alone: the control */
    unsigned terms, voids;               /* the report, want */
    int     over_terms, over_voids;
} lcases[] = {
    {"inc10.example", SPF_RESULT_PASS, SPF_RESULT_PASS, 10, 0, 0, 0},
    {"inc11.example", SPF_RESULT_PERMERROR, SPF_RESULT_PASS, 11, 0, 1, 0},
    {"deep11.example", SPF_RESULT_PERMERROR, SPF_RESULT_PASS, 11, 0, 1, 0},
    {"a10.example", SPF_RESULT_PASS, SPF_RESULT_PASS, 10, 0, 0, 0},
    {"a11.example", SPF_RESULT_PERMERROR, SPF_RESULT_PASS, 11, 0, 1, 0},
    {"ex11.example", SPF_RESULT_PERMERROR, SPF_RESULT_PASS, 11, 0, 1, 0},
    {"static11.example", SPF_RESULT_PERMERROR, SPF_RESULT_PERMERROR, 11, 0, 1, 0},
    {"mx10.example", SPF_RESULT_PASS, SPF_RESULT_PASS, 10, 0, 0, 0},
    {"rd10.example", SPF_RESULT_PASS, SPF_RESULT_PASS, 10, 0, 0, 0},
    {"rd11.example", SPF_RESULT_PERMERROR, SPF_RESULT_PERMERROR, 11, 0, 1, 0},
    {"void2.example", SPF_RESULT_PASS, SPF_RESULT_PASS, 2, 2, 0, 0},
    {"void3.example", SPF_RESULT_PERMERROR, SPF_RESULT_PASS, 3, 3, 0, 1},
    {"void3inc.example", SPF_RESULT_PERMERROR, SPF_RESULT_PASS, 4, 3, 0, 1},
    {"mxvoid.example", SPF_RESULT_PASS, SPF_RESULT_PASS, 2, 1, 0, 0},
};

/*
 * test_limits - each record at or one past a limit: pass at it, permerror
 * past it (libspf2 alone passes a match in the 11th term, and fails only
 * from the 12th mechanism of one response on), and the report counts the
 * terms and voids of RFC 7208 4.6.4 (an mx term's address lookups are not
 * terms, and not voids)
 */
START_TEST(test_limits)
{
    const struct lcase *c = &lcases[_i];
    struct rig r = rig_new();
    struct spf_limits_report rep;
    SPF_result_t got, alone;

    got = run(&r, c->domain, 1);
    spf_limits_last(&rep);
    alone = run(&r, c->domain, 0);
    ck_assert_msg(got == c->want, "%s: got %s, want %s", c->domain, SPF_strresult(got),
                  SPF_strresult(c->want));
    ck_assert_msg(rep.terms == c->terms && rep.voids == c->voids
                  && rep.over_terms == c->over_terms && rep.over_voids == c->over_voids
                  && !rep.cut, "%s: got %u terms, %u voids, over %d/%d, cut %d; want %u, %u,"
                  " %d/%d, 0", c->domain, rep.terms, rep.voids, rep.over_terms, rep.over_voids,
                  rep.cut, c->terms, c->voids, c->over_terms, c->over_voids);
    ck_assert_msg(alone == c->alone, "%s: libspf2 alone gave %s, want %s (the control)",
                  c->domain, SPF_strresult(alone), SPF_strresult(c->alone));
    rig_free(&r);
}
END_TEST

/*
 * test_spf_check - spf_check_client() runs its check under the limits:
 * one past them is permerror, not a keyable pass
 */
START_TEST(test_spf_check)
{
    struct spf_check_opts o;
    struct spf_check *chk;
    struct spf_result res;
    struct ipaddr ip;
    char    err[256] = "";

    memset(&o, 0, sizeof(o));
    o.dns_timeout_ms = 2000;
    chk = spf_check_new(&o, zone_new(recs, NELEM(recs)), err, sizeof(err));
    ck_assert_msg(chk != NULL, "spf_check_new: %s", err);
    ck_assert_int_eq(ipaddr_parse(CLIENT, &ip), 0);
    spf_check_client(chk, &ip, NULL, "inc11.example", &res);
    ck_assert_msg(res.result == SPF_CHECK_PERMERROR && !res.keyable,
                  "inc11: got %s (keyable %d), want permerror", spf_check_result_name(res.result),
                  res.keyable);
    spf_check_client(chk, &ip, NULL, "void3.example", &res);
    ck_assert_msg(res.result == SPF_CHECK_PERMERROR && !res.keyable,
                  "void3: got %s (keyable %d), want permerror", spf_check_result_name(res.result),
                  res.keyable);
    spf_check_free(chk);
}
END_TEST

/* ------------------------------------------------------------ the budget */

/*
 * test_budget - three checks of one message, each against a server that
 * never answers, with dns_timeout 1 s each and a 1 s message budget:
 * together they take one budget (about 1 s), not three timeouts (3 s);
 * the first spends it, the other two find it spent and give temperror at
 * once. After the budget ends, no deadline is left running.
 */
START_TEST(test_budget)
{
    static const char *const doms[] = {"one.example", "two.example", "three.example"};
    struct spf_check_opts o;
    struct spf_check *chk;
    struct spf_result res;
    struct ipaddr ip;
    char    err[256] = "", servers[64];
    int64_t t0, t1, took[3];
    int     fd, i, port;

    fd = daemon_bind_loopback(SOCK_DGRAM, &port);      /* bound, never read: a dead server */
    ck_assert_int_ge(fd, 0);
    snprintf(servers, sizeof(servers), "127.0.0.1:%d", port);

    memset(&o, 0, sizeof(o));
    o.dns_timeout_ms = 1000;
    o.dns_servers = servers;
    chk = spf_check_new(&o, NULL, err, sizeof(err));
    ck_assert_msg(chk != NULL, "spf_check_new: %s", err);
    ck_assert_int_eq(ipaddr_parse(CLIENT, &ip), 0);

    t0 = clock_mono_ms();
    spf_resolver_budget_begin(1000);
    for (i = 0; i < 3; i++) {
        t1 = clock_mono_ms();
        spf_check_client(chk, &ip, NULL, doms[i], &res);
        took[i] = clock_mono_ms() - t1;
        ck_assert_msg(res.result == SPF_CHECK_TEMPERROR, "%s: got %s, want temperror", doms[i],
                      spf_check_result_name(res.result));
    }
    spf_resolver_budget_end();
    t1 = clock_mono_ms() - t0;
    ck_assert_int_eq(spf_resolver_remaining_ms(), -1);
    ck_assert_msg(took[0] >= 900, "the first check took %lld ms: the server answered?",
                  (long long) took[0]);
    ck_assert_msg(took[1] < 400 && took[2] < 400, "checks 2 and 3 took %lld and %lld ms, want"
                  " the budget spent at once", (long long) took[1], (long long) took[2]);
    ck_assert_msg(t1 < 1800, "three checks took %lld ms, want one budget (1 s), not three"
                  " timeouts (3 s)", (long long) t1);
    spf_check_free(chk);
    close(fd);
}
END_TEST

static Suite *
spf_limits_suite(void)
{
    Suite  *s = suite_create("spf_limits");
    TCase  *tc;

    tc = tcase_create("limits");
    tcase_add_loop_test(tc, test_libspf2_mapping, 0, NELEM(mcases));
    tcase_add_loop_test(tc, test_limits, 0, NELEM(lcases));
    tcase_add_test(tc, test_spf_check);
    suite_add_tcase(s, tc);

    tc = tcase_create("budget");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_budget);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return daemon_run_suites(spf_limits_suite(), NULL) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

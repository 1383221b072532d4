/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_spf_hostile.c - DNS answers written to crash libspf2 1.2.10
 * (CVE-2023-42118), served by a real DNS server (dnsmasq on loopback),
 * read by the real resolver layer and evaluated by libspf2.
 *
 *  - Control: without the guard layer the same answers kill the process
 *    (a forked child dies in libspf2's compiler: "stack smashing
 *    detected", or AddressSanitizer's report of the same out-of-bounds
 *    memcpy), for an SPF record and for an exp= explanation. If this
 *    ever passes without a crash, the premise is gone (a fixed libspf2)
 *    and the test says so.
 *  - Through spf_check (resolver + guard + libspf2): a hostile record
 *    gives permerror, directly, through include: and next to a good
 *    record; a hostile explanation is never fetched (fail, no crash);
 *    real-world shapes (include chains, ip6, exists: with macros) still
 *    give their result.
 *  - spf_expand reads the stand-in, not the record; the rejection is
 *    logged once per interval, the domain escaped.
 */
#include "config.h"

#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "daemon.h"
#include "ipaddr.h"
#include "log.h"
#include "spf_check.h"
#include "spf_expand.h"
#include "spf_resolver.h"
#include "spf_screen.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define ZONE "hostile.test"
#define REJECT_LINE "spf: rejected the SPF record of"

static struct daemon dnsmasq;                /* dnsmasq */
static char servers[64];                 /* "127.0.0.1:PORT" */

/* --------------------------------------------------------------- the zone */

/* 127 macros fill 508 of libspf2's 511 bytes; what follows is copied unchecked. */
#define CVE_MACROS 127

/* cve_text - prefix, CVE_MACROS x "%{d}", then nlit x 'A', into a malloc'ed string */
static char *
cve_text(const char *prefix, int nlit)
{
    size_t  plen = strlen(prefix);
    char   *s = malloc(plen + CVE_MACROS * 4 + (size_t) nlit + 1), *p;

    if (s == NULL)
        abort();
    memcpy(s, prefix, plen);
    p = s + plen;
    for (int i = 0; i < CVE_MACROS; i++, p += 4)
        memcpy(p, "%{d}", 4);
    memset(p, 'A', (size_t) nlit);
    p[nlit] = '\0';
    return s;
}

/* The fixed records; the hostile ones are built in main(). */
static const char *const fixed_records[] = {
    "--txt-record=google." ZONE ",v=spf1 include:_netblocks." ZONE " include:_netblocks2." ZONE
    " ~all",
    "--txt-record=_netblocks." ZONE ",v=spf1 ip4:198.51.100.0/24 ip4:64.233.160.0/19 ~all",
    "--txt-record=_netblocks2." ZONE ",v=spf1 ip6:2001:4860:4000::/36 ip6:2a00:1450:4000::/36"
    " ~all",
    "--txt-record=ses." ZONE ",v=spf1 include:amazonses." ZONE " ~all",
    "--txt-record=amazonses." ZONE ",v=spf1 ip4:203.0.113.0/24 ip4:54.240.0.0/18 -all",
    "--txt-record=macro." ZONE ",v=spf1 exists:%{i}._spf." ZONE " -all",
    "--host-record=198.51.100.7._spf." ZONE ",127.0.0.2",
    "--txt-record=expok." ZONE ",v=spf1 -all exp=why." ZONE,
    "--txt-record=why." ZONE ",You are not %{i}",
    "--txt-record=expfail." ZONE ",v=spf1 -all exp=boom." ZONE,
    "--txt-record=cveinc." ZONE ",v=spf1 include:cve." ZONE " ip4:198.51.100.0/24 -all",
    "--txt-record=badmacro." ZONE ",v=spf1 exists:%{x}._spf." ZONE " -all",
    "--txt-record=two." ZONE ",v=spf1 ip4:198.51.100.0/24 -all",
    "--txt-record=two." ZONE ",v=spf1 exists:%{d0}." ZONE " -all",
    "--txt-record=other." ZONE ",google-site-verification=abc%zz",
    "--txt-record=other." ZONE ",v=spf1 ip4:198.51.100.0/24 -all",
};

/* ------------------------------------------------------------- helpers */

/* checker - spf_check on the real resolver layer, pointed at dnsmasq */
static struct spf_check *
checker(void)
{
    struct spf_check_opts o;
    struct spf_check *chk;
    char    err[256] = "";

    memset(&o, 0, sizeof(o));
    o.dns_timeout_ms = 3000;
    o.dns_servers = servers;
    chk = spf_check_new(&o, NULL, err, sizeof(err));
    ck_assert_msg(chk != NULL, "spf_check_new: %s", err);
    return chk;
}

/* stderr_to - send fd 2 to path (truncated); returns the saved fd */
static int
stderr_to(const char *path)
{
    int     saved, fd;

    fflush(stderr);
    saved = dup(2);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ck_assert_int_ge(saved, 0);
    ck_assert_int_ge(fd, 0);
    dup2(fd, 2);
    close(fd);
    return saved;
}

/* stderr_back - undo stderr_to */
static void
stderr_back(int saved)
{
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
}

/* count_in - occurrences of needle in the file at path */
static int
count_in(const char *path, const char *needle)
{
    char   *text = daemon_read_file(path), *p;
    int     n = 0;

    ck_assert_ptr_nonnull(text);
    for (p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    free(text);
    return n;
}

/* --------------------------------------------------------------- control */

/*
 * unguarded_query - in this (child) process: libspf2 on the bare resolver
 * layer, no guard, asked about domain for 198.51.100.7; exit 0 if it
 * returns at all
 */
static void
unguarded_query(const char *domain)
{
    struct spf_resolver_opts ro;
    SPF_dns_server_t *dns;
    SPF_server_t *srv;
    SPF_request_t *req;
    SPF_response_t *resp = NULL;
    struct in_addr a;
    char    err[256];

    memset(&ro, 0, sizeof(ro));
    ro.servers = servers;
    ro.timeout_ms = 3000;
    if ((dns = spf_resolver_new(&ro, err, sizeof(err))) == NULL
        || (srv = SPF_server_new_dns(dns, 0)) == NULL || (req = SPF_request_new(srv)) == NULL)
        _exit(3);
    inet_pton(AF_INET, "198.51.100.7", &a);
    SPF_request_set_ipv4(req, a);
    SPF_request_set_env_from(req, domain);
    SPF_request_query_mailfrom(req, &resp);
    _exit(0);
}

static const char *const control_domains[] = {"cve." ZONE, "expfail." ZONE};

/* test_control - without the guard, libspf2 dies on these answers */
START_TEST(test_control)
{
    const char *domain = control_domains[_i];
    int     status;
    pid_t   pid;

    fflush(NULL);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        /* The crash is expected: no core file, and keep its report out of the log. */
        struct rlimit none = {0, 0};
        int     devnull = open("/dev/null", O_WRONLY);

        setrlimit(RLIMIT_CORE, &none);
        dup2(devnull, 2);
        unguarded_query(domain);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(!(WIFEXITED(status) && WEXITSTATUS(status) == 3), "%s: child setup failed",
                  domain);
    ck_assert_msg(!(WIFEXITED(status) && WEXITSTATUS(status) == 0),
                  "%s: libspf2 without the guard survived this answer: the premise of the"
                  " screen (CVE-2023-42118 in libspf2 1.2.10) no longer holds here", domain);
}
END_TEST

/* ------------------------------------------------------------ spf_check */

static const struct rcase {
    const char *label;
    const char *domain;
    const char *client;
    enum spf_check_result want;
    unsigned long rejected;              /* records the screen replaced */
} rcases[] = {
    {"google include chain", "google." ZONE, "198.51.100.7", SPF_CHECK_PASS, 0},
    {"google include chain, ip6", "google." ZONE, "2a00:1450:4000::5", SPF_CHECK_PASS, 0},
    {"google, stranger", "google." ZONE, "192.0.2.99", SPF_CHECK_SOFTFAIL, 0},
    {"ses include chain", "ses." ZONE, "203.0.113.9", SPF_CHECK_PASS, 0},
    {"exists with a macro", "macro." ZONE, "198.51.100.7", SPF_CHECK_PASS, 0},
    {"exists with a macro, stranger", "macro." ZONE, "192.0.2.99", SPF_CHECK_FAIL, 0},
    {"exp=, harmless explanation", "expok." ZONE, "198.51.100.7", SPF_CHECK_FAIL, 0},
    {"exp=, hostile explanation", "expfail." ZONE, "198.51.100.7", SPF_CHECK_FAIL, 0},
    {"hostile record", "cve." ZONE, "198.51.100.7", SPF_CHECK_PERMERROR, 1},
    {"hostile record by include", "cveinc." ZONE, "198.51.100.7", SPF_CHECK_PERMERROR, 1},
    {"unknown macro letter", "badmacro." ZONE, "198.51.100.7", SPF_CHECK_PERMERROR, 1},
    {"good and bad record", "two." ZONE, "198.51.100.7", SPF_CHECK_PERMERROR, 1},
    {"non-SPF TXT left alone", "other." ZONE, "198.51.100.7", SPF_CHECK_PASS, 0},
};

/* test_check - each case's result and how many records were replaced */
START_TEST(test_check)
{
    const struct rcase *c = &rcases[_i];
    struct spf_check *chk = checker();
    struct ipaddr ip;
    struct spf_result r;
    unsigned long before = spf_screen_rejected();

    ck_assert_int_eq(ipaddr_parse(c->client, &ip), 0);
    ck_assert_int_eq(spf_check_client(chk, &ip, "mx.client.example", c->domain, &r), 0);
    ck_assert_msg(r.result == c->want, "%s: got %s, want %s", c->label,
                  spf_check_result_name(r.result), spf_check_result_name(c->want));
    /* The guard's walk reads the record too: each reader sees the stand-in. */
    ck_assert_msg((spf_screen_rejected() - before > 0) == (c->rejected > 0), "%s: got %lu "
                  "records replaced, want %s", c->label, spf_screen_rejected() - before,
                  c->rejected > 0 ? "some" : "none");
    spf_check_free(chk);
}
END_TEST

/* test_expand - the walk sees the stand-in, and goes on with the rest */
START_TEST(test_expand)
{
    struct spf_expand_report *rep = calloc(1, sizeof(*rep));
    struct spf_resolver_opts ro;
    struct netset *set = netset_new();
    SPF_dns_server_t *dns;
    struct ipaddr ip = {AF_INET, {198, 51, 100, 7}};
    char    err[256];
    int     found = 0;

    ck_assert_ptr_nonnull(rep);
    memset(&ro, 0, sizeof(ro));
    ro.servers = servers;
    dns = spf_resolver_new(&ro, err, sizeof(err));
    ck_assert_msg(dns != NULL, "spf_resolver_new: %s", err);
    dns = spf_resolver_guard_new(dns);
    ck_assert_ptr_nonnull(dns);
    spf_expand_walk(dns, NULL, "cveinc." ZONE, set, rep);
    netset_finish(set);
    for (unsigned i = 0; i < rep->nnotes; i++)
        if (strstr(rep->notes[i].text, "cve." ZONE ": redgrey-invalid-record: unknown mechanism"))
            found = 1;
    ck_assert_msg(found, "got %u notes without the stand-in's, first \"%s\"", rep->nnotes,
                  rep->nnotes ? rep->notes[0].text : "");
    ck_assert_msg(netset_contains(set, &ip), "got the include's sibling range lost, want kept");
    netset_free(set);
    SPF_dns_free(dns);
    free(rep);
}
END_TEST

/* test_log_once - two rejections in a row: one line */
START_TEST(test_log_once)
{
    struct spf_check *chk = checker();
    struct ipaddr ip = {AF_INET, {198, 51, 100, 7}};
    struct spf_result r;
    char    path[600];
    int     saved;

    snprintf(path, sizeof(path), "%s/hostile-log-once.txt", daemon_tmp());
    log_init("check_spf_hostile", 0, LOG_INFO, 1);
    saved = stderr_to(path);
    spf_check_client(chk, &ip, NULL, "badmacro." ZONE, &r);
    spf_check_client(chk, &ip, NULL, "cve." ZONE, &r);
    stderr_back(saved);
    ck_assert_int_eq(r.result, SPF_CHECK_PERMERROR);
    ck_assert_msg(count_in(path, REJECT_LINE) == 1, "got %d lines, want 1",
                  count_in(path, REJECT_LINE));
    ck_assert_msg(count_in(path, REJECT_LINE " \"badmacro." ZONE "\": unknown macro letter at byte"
                           " 16, near \"x}._spf." ZONE " -all\"") == 1, "got another first line");
    spf_check_free(chk);
}
END_TEST

/* test_log_escaped - the domain and the text are quoted with odd bytes escaped */
START_TEST(test_log_escaped)
{
    SPF_dns_rr_t *rr = SPF_dns_rr_new_init(NULL, "x", ns_t_txt, 0, NETDB_SUCCESS);
    static const char bad[] = "v=spf1 a:\"\x01\\";
    char    path[600];
    int     saved;

    ck_assert_ptr_nonnull(rr);
    ck_assert_int_eq(SPF_dns_rr_buf_realloc(rr, 0, sizeof(bad)), SPF_E_SUCCESS);
    memcpy(rr->rr[0]->txt, bad, sizeof(bad));
    rr->num_rr = 1;
    snprintf(path, sizeof(path), "%s/hostile-log-escaped.txt", daemon_tmp());
    log_init("check_spf_hostile", 0, LOG_INFO, 1);
    saved = stderr_to(path);
    ck_assert_int_eq(spf_screen_answer(rr, "evil\n.exa\"mple\\"), 1);
    stderr_back(saved);
    ck_assert_str_eq(rr->rr[0]->txt, SPF_SCREEN_STANDIN);
    ck_assert_msg(count_in(path, REJECT_LINE " \"evil\\x0a.exa\\x22mple\\x5c\": character not"
                           " allowed in a term at byte 10, near \"\\x01\\x5c\"") == 1,
                  "got no escaped line");
    SPF_dns_rr_free(rr);
}
END_TEST

/* test_get_exp - the fixed explanation, in a buffer that grows */
START_TEST(test_get_exp)
{
    char   *buf = NULL;
    size_t  len = 0;

    ck_assert_int_eq(spf_screen_get_exp(NULL, "boom." ZONE, &buf, &len), SPF_E_SUCCESS);
    ck_assert_str_eq(buf, SPF_SCREEN_EXPLANATION);
    ck_assert_uint_ge(len, sizeof(SPF_SCREEN_EXPLANATION));
    free(buf);
}
END_TEST

static Suite *
hostile_suite(void)
{
    Suite  *s = suite_create("spf_hostile");
    TCase  *tc = tcase_create("control");

    tcase_set_timeout(tc, 30);
    tcase_add_loop_test(tc, test_control, 0, NELEM(control_domains));
    suite_add_tcase(s, tc);
    tc = tcase_create("guarded");
    tcase_set_timeout(tc, 30);
    tcase_add_loop_test(tc, test_check, 0, NELEM(rcases));
    tcase_add_test(tc, test_expand);
    tcase_add_test(tc, test_log_once);
    tcase_add_test(tc, test_log_escaped);
    tcase_add_test(tc, test_get_exp);
    suite_add_tcase(s, tc);
    return s;
}

/* main - dnsmasq with the zone, the suite, stop dnsmasq */
int
main(void)
{
    const char *args[NELEM(fixed_records) + 4];
    char   *cve = cve_text("--txt-record=cve." ZONE ",v=spf1 exists:", 4000);
    char   *boom = cve_text("--txt-record=boom." ZONE ",", 10);
    SRunner *sr;
    size_t  n = 0;
    int     failed;

    for (size_t i = 0; i < NELEM(fixed_records); i++)
        args[n++] = fixed_records[i];
    args[n++] = cve;
    args[n++] = boom;
    args[n] = NULL;
    if (daemon_start_dnsmasq(&dnsmasq, ZONE, args) != 0) {
        char   *text = daemon_read_file(dnsmasq.log);

        fprintf(stderr, "check_spf_hostile: dnsmasq did not start:\n%s\n", text ? text : "");
        return EXIT_FAILURE;
    }
    snprintf(servers, sizeof(servers), "127.0.0.1:%d", dnsmasq.port);
    sr = srunner_create(hostile_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    daemon_signal(&dnsmasq, SIGTERM);
    daemon_wait(&dnsmasq, 3000);
    free(cve);
    free(boom);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

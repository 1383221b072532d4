/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_spf_expand.c - the SPF expansion walk (spf_expand.c) and the
 * per-message check (spf_check.c) over a DNS zone written by the input,
 * through the guard layer, so the record screen (spf_screen.c) and
 * libspf2's evaluation of what passes it are exercised too. No network:
 * the zone is libspf2's in-memory zone layer.
 *
 * Input: lines "NAME TYPE DATA", TYPE one of TXT, A, AAAA, MX (DATA as
 * for SPF_dns_zone_add_str), NX (the name does not exist) or TEMP (its
 * TXT lookup fails temporarily). The walk starts at fuzz.test; the check
 * asks about senders at fuzz.test from 198.51.100.7 and 2001:db8::7.
 *
 * The guard's walk (guard mode, spf_guard.c) runs on the same zone.
 *
 * Invariants: the report's notes stay within their array; a keyable
 * result is a pass, from a static set within the caps; the guard's walk
 * keeps RFC 7208's limits unless it says it stopped on them; the results
 * are known values.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <spf2/spf.h>
#include <spf2/spf_dns_zone.h>

#include "fuzz.h"
#include "ipaddr.h"
#include "netblock.h"
#include "spf_check.h"
#include "spf_expand.h"
#include "spf_resolver.h"

#define ZONE_MAX 24                      /* records (libspf2's zone starts at 32) */
#define NAME_MAX_LEN 253

/* What has gone into the zone, so that libspf2's asserts are never hit. */
struct added {
    char    name[NAME_MAX_LEN + 1];
    ns_type type;
    int     error;                       /* added as a DNS error, without data */
};

/* find - the earlier entry for name and type, or NULL */
static struct added *
find(struct added *a, int n, const char *name, ns_type type)
{
    for (int i = 0; i < n; i++)
        if (a[i].type == type && strcasecmp(a[i].name, name) == 0)
            return &a[i];
    return NULL;
}

/* add_line - one "NAME TYPE DATA" line into zone; updates the bookkeeping */
static void
add_line(SPF_dns_server_t *zone, char *line, struct added *a, int *n)
{
    char   *name = line, *type, *data, probe[16];
    ns_type t;
    int     herr = NETDB_SUCCESS;
    struct added *prev;

    if ((type = strchr(name, ' ')) == NULL || type == name || type - name > NAME_MAX_LEN)
        return;
    *type++ = '\0';
    if ((data = strchr(type, ' ')) != NULL)
        *data++ = '\0';
    if (strcmp(type, "TXT") == 0)
        t = ns_t_txt;
    else if (strcmp(type, "A") == 0)
        t = ns_t_a;
    else if (strcmp(type, "AAAA") == 0)
        t = ns_t_aaaa;
    else if (strcmp(type, "MX") == 0)
        t = ns_t_mx;
    else if (strcmp(type, "NX") == 0)
        t = ns_t_any, herr = HOST_NOT_FOUND;
    else if (strcmp(type, "TEMP") == 0)
        t = ns_t_txt, herr = TRY_AGAIN;
    else
        return;
    if (herr == NETDB_SUCCESS && (data == NULL
                                  || (t == ns_t_a && inet_pton(AF_INET, data, probe) != 1)
                                  || (t == ns_t_aaaa && inet_pton(AF_INET6, data, probe) != 1)))
        return;
    prev = find(a, *n, name, t);
    if (prev != NULL && (prev->error || herr != NETDB_SUCCESS))
        return;                          /* libspf2 asserts on data next to an error */
    if (prev == NULL) {
        if (*n == ZONE_MAX)
            return;
        snprintf(a[*n].name, sizeof(a[*n].name), "%s", name);
        a[*n].type = t;
        a[*n].error = herr != NETDB_SUCCESS;
        (*n)++;
    }
    SPF_dns_zone_add_str(zone, name, t, herr, herr == NETDB_SUCCESS ? data : NULL);
}

/* zone_from - a zone layer holding the records of text */
static SPF_dns_server_t *
zone_from(const char *text)
{
    SPF_dns_server_t *zone = SPF_dns_zone_new(NULL, "fuzz", 0);
    char   *copy = strdup(text), *line, *next;
    struct added a[ZONE_MAX];
    int     n = 0;

    fuzz_check(zone != NULL && copy != NULL);
    for (line = copy; line != NULL; line = next) {
        if ((next = strchr(line, '\n')) != NULL)
            *next++ = '\0';
        add_line(zone, line, a, &n);
    }
    free(copy);
    return zone;
}

/*
 * walk_guard - the guard's walk of fuzz.test (spf_expand guard mode): the
 * RFC limits hold unless the walk says it stopped on them, and the static
 * set the guard measures is what the walk added
 */
static void
walk_guard(const char *text)
{
    SPF_dns_server_t *dns = spf_resolver_guard_new(zone_from(text));
    struct spf_expand_report *rep = calloc(1, sizeof(*rep));
    struct spf_expand_facts f;
    struct spf_expand_opts o;
    struct netset *set = netset_new();

    fuzz_check(dns != NULL && rep != NULL && set != NULL);
    memset(&o, 0, sizeof(o));
    o.guard = 1;
    o.timeout_ms = 2000;
    spf_expand_walk_facts(dns, &o, "fuzz.test", set, rep, &f);
    netset_finish(set);
    fuzz_check(f.over_limit || (f.dns_terms <= SPF_EXPAND_RFC_TERMS
                                && f.void_lookups <= SPF_EXPAND_RFC_VOIDS));
    fuzz_check(f.dns_terms <= SPF_EXPAND_RFC_TERMS + 1);
    fuzz_check(f.finest_v4 <= 32 && f.finest_v6 <= 128);
    fuzz_check(netset_count(set) <= rep->blocks);
    fuzz_check(rep->nnotes <= SPF_EXPAND_NOTES_MAX);
    netset_free(set);
    free(rep);
    SPF_dns_free(dns);
}

/* walk - spf_expand_walk of fuzz.test, with and without host lookups */
static void
walk(const char *text, int no_hosts)
{
    SPF_dns_server_t *dns = spf_resolver_guard_new(zone_from(text));
    struct spf_expand_report *rep = calloc(1, sizeof(*rep));
    struct spf_expand_opts o;
    struct netset *set = netset_new();

    fuzz_check(dns != NULL && rep != NULL);
    memset(&o, 0, sizeof(o));
    o.max_lookups = 60;
    o.timeout_ms = 2000;
    o.no_hosts = no_hosts;
    spf_expand_walk(dns, &o, "fuzz.test", set, rep);
    netset_finish(set);
    fuzz_check(rep->nnotes <= SPF_EXPAND_NOTES_MAX);
    fuzz_check(rep->lookups <= o.max_lookups);
    for (unsigned i = 0; i < rep->nnotes; i++)
        fuzz_check(memchr(rep->notes[i].text, '\0', SPF_EXPAND_NOTE_LEN) != NULL);
    netset_free(set);
    free(rep);
    SPF_dns_free(dns);
}

/* check - spf_check_client of fuzz.test for an IPv4 and an IPv6 client */
static void
check(const char *text)
{
    static const char *const clients[] = {"198.51.100.7", "2001:db8::7"};
    struct spf_check_opts o;
    struct spf_check *chk;
    char    err[256];

    memset(&o, 0, sizeof(o));
    o.dns_timeout_ms = 2000;
    o.cache_size = 1;
    o.results_size = 1;
    chk = spf_check_new(&o, zone_from(text), err, sizeof(err));
    fuzz_check(chk != NULL);
    for (size_t i = 0; i < sizeof(clients) / sizeof(clients[0]); i++) {
        struct ipaddr ip;
        struct spf_result r;

        fuzz_check(ipaddr_parse(clients[i], &ip) == 0);
        spf_check_client(chk, &ip, "helo.fuzz.test", "fuzz.test", &r);
        fuzz_check(r.result >= SPF_CHECK_NONE && r.result <= SPF_CHECK_PERMERROR);
        fuzz_check(!r.keyable || r.result == SPF_CHECK_PASS);
        fuzz_check(!r.keyable || (r.guard.keyable && r.guard.why == SPF_GUARD_DOMAIN
                                  && r.guard.v4_addrs <= (1u << (32 - SPF_GUARD_MAX_V4_PREFIX))
                                  && r.guard.v6_nets <= (1ull << (64 - SPF_GUARD_MAX_V6_PREFIX))));
        spf_check_client(chk, &ip, "helo.fuzz.test", "l.ocal@fuzz.test", &r);
        fuzz_check(!r.keyable || r.result == SPF_CHECK_PASS);
    }
    spf_check_free(chk);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char   *text;

    if (size > 8192 || memchr(data, '\0', size) != NULL)
        return 0;
    text = fuzz_str(data, size);
    walk(text, 0);
    walk(text, 1);
    walk_guard(text);
    check(text);
    free(text);
    return 0;
}

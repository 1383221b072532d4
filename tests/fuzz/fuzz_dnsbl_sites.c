/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_dnsbl_sites.c - the dnsbl_sites parser, printer, filter matcher
 * and query-name builder (common/dnsbl_sites.c) on hostile text.
 *
 * Invariants: a list that parses prints (dnsbl_sites_format) to text that
 * parses to the same list and prints the same; a refused list has an
 * error message and leaves an empty list; every zone name is bounded, so
 * the query name of any address in any zone fits in 253 bytes and ends in
 * the zone; a filter that parses matches the same values as the filter of
 * the item that carried it; each line is also tried as a lone filter.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "dnsbl_sites.h"
#include "fuzz.h"

#define LINES_MAX 16

/* same_sites - a and b hold the same items and zones */
static int
same_sites(const struct dnsbl_sites *a, const struct dnsbl_sites *b)
{
    if (a->nsites != b->nsites || a->nzones != b->nzones)
        return 0;
    for (size_t i = 0; i < a->nzones; i++)
        if (strcmp(a->zones[i], b->zones[i]) != 0)
            return 0;
    for (size_t i = 0; i < a->nsites; i++) {
        const struct dnsbl_site *x = &a->site[i], *y = &b->site[i];

        if (x->zone != y->zone || x->weight != y->weight || x->has_filter != y->has_filter
            || memcmp(&x->filter, &y->filter, sizeof(x->filter)) != 0)
            return 0;
    }
    return 1;
}

/* check_qnames - every zone's query names fit and end in the zone */
static void
check_qnames(const struct dnsbl_sites *s, const uint8_t *data, size_t size)
{
    struct ipaddr ip4 = {AF_INET, {0}}, ip6 = {AF_INET6, {0}};
    char    name[DNSBL_QNAME_SIZE];

    for (size_t i = 0; i < 16 && i < size; i++)
        ip6.b[i] = ip4.b[i % 4] = data[i];
    ip6.b[0] = 0x20;                     /* never IPv4-mapped: always 32 nibbles */
    for (size_t z = 0; z < s->nzones; z++) {
        size_t  zl = strlen(s->zones[z]);
        int     n;

        fuzz_check(zl > 0 && zl <= DNSBL_ZONE_MAX);
        n = dnsbl_qname(&ip4, s->zones[z], name, sizeof(name));
        fuzz_check(n > 0 && n <= 253 && strcmp(name + n - zl, s->zones[z]) == 0);
        n = dnsbl_qname(&ip6, s->zones[z], name, sizeof(name));
        fuzz_check(n == 64 + (int) zl && strcmp(name + n - zl, s->zones[z]) == 0);
    }
}

/* check_filters - each item's filter, parsed alone, matches as the item does */
static void
check_filters(const struct dnsbl_sites *s, const uint8_t *data, size_t size)
{
    struct dnsbl_filter f;
    uint8_t a[4] = {127, 0, 0, 2};

    for (size_t i = 0; i < 4 && i < size; i++)
        a[i] = data[size - 1 - i];
    for (size_t i = 0; i < s->nsites; i++) {
        const struct dnsbl_site *site = &s->site[i];

        fuzz_check(site->weight >= -DNSBL_WEIGHT_MAX && site->weight <= DNSBL_WEIGHT_MAX);
        if (!site->has_filter) {
            fuzz_check(dnsbl_site_match(site, a));
            continue;
        }
        fuzz_check(dnsbl_filter_parse(site->filter_text, &f, NULL, 0) == 0);
        fuzz_check(memcmp(&f, &site->filter, sizeof(f)) == 0);
        fuzz_check(dnsbl_filter_match(&f, a) == dnsbl_site_match(site, a));
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct dnsbl_sites s, s2;
    static char buf[DNSBL_SITES_MAX * 320], buf2[sizeof(buf)];
    char   *text = fuzz_str(data, size), *line, *next, err[256];
    struct dnsbl_filter f;
    size_t  nlines = 0;
    int     n;

    err[0] = '\0';
    if (dnsbl_sites_parse(text, &s, err, sizeof(err)) != 0) {
        fuzz_check(err[0] != '\0' && s.nsites == 0 && s.nzones == 0);
    } else {
        fuzz_check(s.nsites <= DNSBL_SITES_MAX && s.nzones <= s.nsites);
        n = dnsbl_sites_format(&s, buf, sizeof(buf));
        fuzz_check(n >= 0 && (size_t) n == strlen(buf));
        fuzz_check(dnsbl_sites_parse(buf, &s2, err, sizeof(err)) == 0);
        fuzz_check(same_sites(&s, &s2));
        fuzz_check(dnsbl_sites_format(&s2, buf2, sizeof(buf2)) == n && strcmp(buf, buf2) == 0);
        check_qnames(&s, data, size);
        check_filters(&s, data, size);
    }
    for (line = text; line != NULL && nlines < LINES_MAX; line = next, nlines++) {
        if ((next = strchr(line, '\n')) != NULL)
            *next++ = '\0';
        err[0] = '\0';
        if (dnsbl_filter_parse(line, &f, err, sizeof(err)) != 0)
            fuzz_check(err[0] != '\0');
    }
    free(text);
    return 0;
}

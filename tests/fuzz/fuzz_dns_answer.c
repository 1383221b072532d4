/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_dns_answer.c - the project's own readers of raw DNS messages on
 * hostile bytes: the SPF resolver layer's answer parser
 * (spf_resolver_parse), the SPF screen that then sees every TXT answer
 * before libspf2 (spf_screen_answer), and the DNS list checker's scoring
 * of A answers and TTLs of negative ones (dnsbl_answer).
 *
 * Input: byte 0 chooses the record type (A, AAAA, MX, PTR, TXT), the
 * zone (a list of three) and whether the message is read as a negative
 * answer; the rest is the DNS message.
 *
 * Invariants: every record kept has the size its type says (4 and 16
 * bytes, NUL-terminated names and texts no longer than the message); the
 * screen keeps the number of records and leaves only SPF records that
 * spf_record_check accepts, or its stand-in; a score is a sum
 * of the zone's own sites' weights, the sites and zones it names are the
 * zone's, and a TTL is never below -1 nor above 2^32 - 1.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/nameser.h>

#include "dnsbl.h"
#include "dnsbl_sites.h"
#include "fuzz.h"
#include "spf_record.h"
#include "spf_resolver.h"
#include "spf_screen.h"

/* Three zones, one with filters, one allowlist: every path of the scorer. */
#define FUZZ_SITES "bl.fuzz.test*2, bl.fuzz.test=127.0.0.[2..4]*3, " \
                   "wl.fuzz.test=127.0.[0..255].[1;3]*-5, other.fuzz.test"

static const ns_type fuzz_types[] = {ns_t_a, ns_t_aaaa, ns_t_mx, ns_t_ptr, ns_t_txt};

/* fuzz_dnsbl - the checker, made once (no query is ever sent) */
static struct dnsbl *
fuzz_dnsbl(void)
{
    static struct dnsbl *d;
    static struct dnsbl_sites sites;
    struct dnsbl_params p;
    char    err[256];

    if (d != NULL)
        return d;
    if (dnsbl_sites_parse(FUZZ_SITES, &sites, err, sizeof(err)) != 0)
        fuzz_fail(err, __FILE__, __LINE__);
    dnsbl_params_init(&p);
    p.sites = &sites;
    p.servers = "127.0.0.1:9";
    if ((d = dnsbl_new(&p, err, sizeof(err))) == NULL)
        fuzz_fail(err, __FILE__, __LINE__);
    return d;
}

/* check_rr - the records spf_resolver_parse kept from a len-byte message */
static void
check_rr(const SPF_dns_rr_t *rr, ns_type type, int kept, size_t len)
{
    fuzz_check(kept == rr->num_rr && kept >= 0);
    for (int i = 0; i < rr->num_rr; i++) {
        size_t  n;

        switch (type) {
        case ns_t_a:
        case ns_t_aaaa:
            fuzz_check(rr->rr_buf_len[i] >= (type == ns_t_a ? 4u : 16u));
            break;
        default:
            n = strnlen((const char *) rr->rr[i], rr->rr_buf_len[i]);
            fuzz_check(n < rr->rr_buf_len[i]);                  /* NUL-terminated */
            fuzz_check(type != ns_t_txt || n <= len);
            fuzz_check(type == ns_t_txt || n < NS_MAXDNAME);
            break;
        }
    }
}

/*
 * check_screened - the screen keeps the count of records; every SPF
 * record left passes spf_record_check or is the stand-in
 */
static void
check_screened(SPF_dns_rr_t *rr)
{
    int     before = rr->num_rr;

    (void) spf_screen_answer(rr, "fuzz.test");
    fuzz_check(rr->num_rr == before);
    for (int i = 0; i < rr->num_rr; i++) {
        const char *t = (const char *) rr->rr[i];
        size_t  n = strnlen(t, rr->rr_buf_len[i]);
        struct spf_record_error e;

        fuzz_check(n < rr->rr_buf_len[i]);
        if (spf_record_is_spf(t, n))
            fuzz_check(strcmp(t, SPF_SCREEN_STANDIN) == 0 || spf_record_check(t, n, &e) == 0);
    }
}

/* check_dnsbl - the scorer's result for zone z of d */
static void
check_dnsbl(const struct dnsbl *d, unsigned z, int negative, const uint8_t *msg, size_t len)
{
    static struct dnsbl_sites sites;
    struct dnsbl_result r;
    char    err[256];
    int64_t ttl;
    int     most = 0, least = 0;

    if (sites.nsites == 0 && dnsbl_sites_parse(FUZZ_SITES, &sites, err, sizeof(err)) != 0)
        fuzz_fail(err, __FILE__, __LINE__);
    dnsbl_answer(d, z, negative, msg, (int) len, &r, &ttl);
    fuzz_check(ttl >= -1 && ttl <= (int64_t) UINT32_MAX);
    fuzz_check((r.listed & ~(1u << z)) == 0 && (r.failed & ~(1u << z)) == 0);
    fuzz_check(r.timed_out == 0);
    for (size_t k = 0; k < sites.nsites; k++) {
        if (r.sites & (1u << k))
            fuzz_check(sites.site[k].zone == z);
        if (sites.site[k].zone == z && sites.site[k].weight > 0)
            most += sites.site[k].weight;
        if (sites.site[k].zone == z && sites.site[k].weight < 0)
            least += sites.site[k].weight;
    }
    fuzz_check(r.score >= least && r.score <= most);
    fuzz_check(!negative || (r.score == 0 && r.sites == 0 && r.listed == 0));
    fuzz_check((r.listed != 0) == (r.sites != 0));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct dnsbl *d = fuzz_dnsbl();
    SPF_dns_rr_t *rr;
    ns_type type;
    unsigned zone;
    int     negative, kept;

    if (size < 1)
        return 0;
    type = fuzz_types[(data[0] & 7) % 5];
    zone = (unsigned) (data[0] >> 3 & 3);         /* 3: not a zone of the list */
    negative = data[0] >> 5 & 1;
    data++;
    size--;
    if (size > 65535)
        return 0;                                 /* no DNS message is longer */

    rr = SPF_dns_rr_new_init(NULL, "fuzz.test", type, 0, NETDB_SUCCESS);
    fuzz_check(rr != NULL);
    kept = spf_resolver_parse(data, (int) size, type, rr);
    check_rr(rr, type, kept, size);
    if (type == ns_t_txt)
        check_screened(rr);
    SPF_dns_rr_free(rr);
    check_dnsbl(d, zone, negative, data, size);
    return 0;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * spf_check.c - SPF check of the client for SPF-keyed triplets, with an
 * over-broad-record guard and a per-domain cache of its verdict.
 *
 * THREADS. One SPF_server_t serves every thread. What libspf2 1.2.10 does
 * (read in shevek/libspf2 src/libspf2, and checked against Debian 12's
 * libspf2.so.2.1.0, whose only writable globals are the four log-handler
 * pointers and the resolver's pthread key/once in .data/.bss):
 *  - spf_server.c: after SPF_server_new_dns() the server (resolver,
 *    local_policy, explanation, rec_dom, limits) is only read by queries;
 *    only the SPF_server_set_*() setters write it, and we call them
 *    before any thread exists (we call none, in fact).
 *  - spf_request.c, spf_interpret.c: SPF_request_query_mailfrom() keeps
 *    all its state in the request and response objects (cur_dom, the
 *    compiled record, the counters); records are compiled per request and
 *    freed with it. No static buffers.
 *  - spf_dns_zone.c: lookups only read the zone and return a copy
 *    (SPF_dns_rr_dup); adding records is done before threads start.
 *  - spf_dns_cache.c holds a mutex around its table, and does not hold it
 *    across the lower layer's lookup; we do not use it (see below).
 *  - spf_dns_resolv.c is thread-safe (a res_state per thread via a
 *    pthread key) but cannot be given a timeout, so we use our own layer
 *    (spf_resolver.c), which takes a res_state from a mutex-guarded pool
 *    for each query instead.
 *  - spf_log.c: the handlers are plain global pointers, read on every
 *    message; we set them once in spf_check_new(), before threads.
 * So sharing is safe as long as nothing calls a setter after startup.
 * The libspf2 cache layer is left out: the system's caching resolver
 * already caches, and libspf2's cache never evicts unvisited buckets.
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>

#include <arpa/inet.h>

#include "ascii.h"
#include "hostname.h"
#include "spf_check.h"
#include "spf_expand.h"
#include "spf_resolver.h"

#define VC_WAYS 4                        /* entries per cache set */
#define CHECK_MAX_PROBES 3
#define BREADTH_MAX_LOOKUPS 40           /* TXT lookups when looking for wide ranges */

/* One cached over-broad verdict. */
struct vc_entry {
    time_t  expires;                     /* 0 = empty */
    unsigned char overbroad;             /* 1 = not keyable */
    char    domain[SPF_CHECK_DOMAIN_MAX + 1];
};

/* A set of the set-associative cache, with its own lock. */
struct vc_set {
    pthread_mutex_t lock;                /* held only to read or write e[] */
    struct vc_entry e[VC_WAYS];
};

struct spf_check {
    SPF_server_t *server;                /* shared by all threads */
    SPF_dns_server_t *dns;               /* the top layer (guard); we own the stack */
    int     dns_timeout_ms;              /* budget per call */
    struct ipaddr probes[CHECK_MAX_PROBES];      /* addresses no sender uses */
    int     nprobes;
    unsigned cache_ttl;                  /* seconds */
    time_t  (*clock)(void);              /* NULL = time(NULL) */
    struct vc_set *sets;                 /* nsets, a power of two */
    unsigned nsets;
};

static pthread_once_t silence_once = PTHREAD_ONCE_INIT;

/* silence_libspf2 - drop libspf2's stdio chatter; errors still abort */
static void
silence_libspf2(void)
{
    SPF_warning_handler = NULL;
    SPF_info_handler = NULL;
    SPF_debug_handler = NULL;
}

/* check_now - the injected clock, or time() */
static time_t
check_now(const struct spf_check *chk)
{
    return chk->clock ? chk->clock() : time(NULL);
}

/* vc_hash - FNV-1a of a (lowercase) domain */
static unsigned
vc_hash(const char *s)
{
    unsigned h = 2166136261u;

    while (*s) {
        h ^= (unsigned char) *s++;
        h *= 16777619u;
    }
    return h;
}

/* vc_get - 1 and *overbroad if a live verdict for domain is cached */
static int
vc_get(struct spf_check *chk, const char *domain, time_t now, int *overbroad)
{
    struct vc_set *set = &chk->sets[vc_hash(domain) & (chk->nsets - 1)];
    int     i, found = 0;

    pthread_mutex_lock(&set->lock);
    for (i = 0; i < VC_WAYS; i++) {
        if (set->e[i].expires > now && strcmp(set->e[i].domain, domain) == 0) {
            *overbroad = set->e[i].overbroad;
            found = 1;
            break;
        }
    }
    pthread_mutex_unlock(&set->lock);
    return found;
}

/* vc_put - store a verdict, evicting the entry closest to expiry */
static void
vc_put(struct spf_check *chk, const char *domain, time_t now, int overbroad)
{
    struct vc_set *set = &chk->sets[vc_hash(domain) & (chk->nsets - 1)];
    int     i, victim = 0;

    pthread_mutex_lock(&set->lock);
    for (i = 0; i < VC_WAYS; i++) {
        if (strcmp(set->e[i].domain, domain) == 0) {
            victim = i;
            break;
        }
        if (set->e[i].expires < set->e[victim].expires)
            victim = i;
    }
    set->e[victim].expires = now + (time_t) chk->cache_ttl;
    set->e[victim].overbroad = (unsigned char) (overbroad != 0);
    snprintf(set->e[victim].domain, sizeof(set->e[victim].domain), "%s", domain);
    pthread_mutex_unlock(&set->lock);
}

/*
 * map_response - libspf2's result as ours. libspf2 leaves the result at
 * "(invalid)" when it never got to evaluate: a DNS error on the domain's
 * own record (temperror for us), no v=spf1 record among the TXTs (none),
 * or a record that does not compile (permerror).
 */
static enum spf_check_result
map_response(SPF_response_t *resp)
{
    int     i, n, dns = 0, syntax = 0;

    switch (SPF_response_result(resp)) {
    case SPF_RESULT_PASS:
        return SPF_CHECK_PASS;
    case SPF_RESULT_FAIL:
        return SPF_CHECK_FAIL;
    case SPF_RESULT_SOFTFAIL:
        return SPF_CHECK_SOFTFAIL;
    case SPF_RESULT_NEUTRAL:
        return SPF_CHECK_NEUTRAL;
    case SPF_RESULT_NONE:
        return SPF_CHECK_NONE;
    case SPF_RESULT_TEMPERROR:
        return SPF_CHECK_TEMPERROR;
    case SPF_RESULT_PERMERROR:
        return SPF_CHECK_PERMERROR;
    default:
        break;
    }
    if (SPF_response_errcode(resp) == SPF_E_DNS_ERROR)
        dns = 1;
    n = SPF_response_messages(resp);
    for (i = 0; i < n; i++) {
        SPF_errcode_t code = SPF_error_code(SPF_response_message(resp, i));

        if (code == SPF_E_DNS_ERROR)
            dns = 1;
        else if (code != SPF_E_SUCCESS && code != SPF_E_NOT_SPF)
            syntax = 1;
    }
    if (dns)
        return SPF_CHECK_TEMPERROR;
    return syntax ? SPF_CHECK_PERMERROR : SPF_CHECK_NONE;
}

/* set_client - put ip into the request; 0, or -1 for a family libspf2 lacks */
static int
set_client(SPF_request_t *req, const struct ipaddr *ip)
{
    if (ip->family == AF_INET) {
        struct in_addr a;

        memcpy(&a, ip->b, 4);
        return SPF_request_set_ipv4(req, a) == SPF_E_SUCCESS ? 0 : -1;
    }
    if (ip->family == AF_INET6) {
        struct in6_addr a;

        memcpy(&a, ip->b, 16);
        return SPF_request_set_ipv6(req, a) == SPF_E_SUCCESS ? 0 : -1;
    }
    return -1;
}

/* query - run the request once; the mapped result */
static enum spf_check_result
query(SPF_request_t *req)
{
    SPF_response_t *resp = NULL;
    enum spf_check_result res;

    spf_limits_query_mailfrom(req, &resp);     /* RFC 7208 lookup limits (spf_limits.h) */
    if (resp == NULL)
        return SPF_CHECK_TEMPERROR;
    res = map_response(resp);
    SPF_response_free(resp);
    return res;
}

/*
 * judge_breadth - 1 over-broad, 0 not, -1 undetermined (DNS trouble):
 * does the record tree hold a range wider than /8 or /24, or an a/mx
 * with such a CIDR? Reads TXT records only; a tree too big to read within
 * the cap counts as over-broad, since that is a property of the record.
 */
static int
judge_breadth(struct spf_check *chk, const char *domain)
{
    struct spf_expand_opts eo;
    struct spf_expand_report *rep;
    long    left = spf_resolver_remaining_ms();
    int     verdict;

    if ((rep = calloc(1, sizeof(*rep))) == NULL)
        return -1;
    memset(&eo, 0, sizeof(eo));
    eo.no_hosts = 1;
    eo.max_lookups = BREADTH_MAX_LOOKUPS;
    eo.timeout_ms = left > 0 ? (int) left : 1;
    spf_expand_walk(chk->dns, &eo, domain, NULL, rep);
    if (rep->too_broad > 0)
        verdict = 1;
    else if (rep->dns_failures > 0)
        verdict = -1;
    else
        verdict = rep->capped > 0;
    free(rep);
    return verdict;
}

/*
 * judge_overbroad - 1 over-broad, 0 not, -1 undetermined. The probes go
 * through libspf2 itself, so +all, a/0, exists: with macros and the like
 * are caught however they are written; the breadth walk catches wide
 * ranges the probes miss (ip4:0.0.0.0/1 does not hold 192.0.2.1).
 */
static int
judge_overbroad(struct spf_check *chk, SPF_request_t *req, const char *domain)
{
    int     i, undetermined = 0, b;

    for (i = 0; i < chk->nprobes; i++) {
        if (set_client(req, &chk->probes[i]) < 0)
            continue;
        switch (query(req)) {
        case SPF_CHECK_PASS:
            return 1;
        case SPF_CHECK_TEMPERROR:
            undetermined = 1;
            break;
        default:
            break;
        }
    }
    if ((b = judge_breadth(chk, domain)) != 0)
        return b;
    return undetermined ? -1 : 0;
}

/*
 * identity - normalise a name into out (lowercase, no trailing dot):
 * 0, or -1 if it is not a multi-label domain name (RFC 7208 4.3: none).
 */
static int
identity(const char *name, char out[SPF_CHECK_DOMAIN_MAX + 1])
{
    size_t  len, i;

    if (name == NULL || !hostname_ok(name))
        return -1;
    len = strlen(name);
    if (name[len - 1] == '.')
        len--;
    for (i = 0; i < len; i++)
        out[i] = (char) ascii_tolower((unsigned char) name[i]);
    out[len] = '\0';
    if (strchr(out, '.') == NULL) {
        out[0] = '\0';
        return -1;
    }
    return 0;
}

/* is_loopback - 127.0.0.0/8 or ::1 */
static int
is_loopback(const struct ipaddr *ip)
{
    static const uint8_t v6lo[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

    if (ip->family == AF_INET)
        return ip->b[0] == 127;
    return memcmp(ip->b, v6lo, 16) == 0;
}

/* spf_check_client - see the header */
int
spf_check_client(struct spf_check *chk, const struct ipaddr *ip, const char *helo,
                 const char *sender_domain, struct spf_result *out)
{
    char    helo_dom[SPF_CHECK_DOMAIN_MAX + 1];
    struct spf_resolver_deadline saved;
    SPF_request_t *req;
    int     have_helo, overbroad, rc = 0;

    memset(out, 0, sizeof(*out));
    out->result = SPF_CHECK_NONE;
    if (chk == NULL || ip == NULL || (ip->family != AF_INET && ip->family != AF_INET6)
        || is_loopback(ip))
        return 0;

    /* The identity: MAIL FROM's domain, or the HELO name for <>. */
    have_helo = identity(helo, helo_dom) == 0;
    if (sender_domain != NULL && *sender_domain != '\0') {
        if (identity(sender_domain, out->domain) < 0)
            return 0;
    } else if (have_helo) {
        memcpy(out->domain, helo_dom, sizeof(helo_dom));
        out->helo = 1;
    } else {
        return 0;
    }

    if ((req = SPF_request_new(chk->server)) == NULL) {
        out->result = SPF_CHECK_TEMPERROR;
        return -1;
    }
    spf_resolver_deadline_begin(chk->dns_timeout_ms, &saved);
    if (set_client(req, ip) < 0
        || (have_helo && SPF_request_set_helo_dom(req, helo_dom) != SPF_E_SUCCESS)
        || SPF_request_set_env_from(req, out->domain) != SPF_E_SUCCESS) {
        out->result = SPF_CHECK_TEMPERROR;
        rc = -1;
        goto done;
    }
    out->result = query(req);
    if (out->result != SPF_CHECK_PASS)
        goto done;

    /* A pass: is the record narrow enough to key on? */
    if (vc_get(chk, out->domain, check_now(chk), &overbroad)) {
        out->cached = 1;
    } else {
        overbroad = judge_overbroad(chk, req, out->domain);
        if (overbroad >= 0)
            vc_put(chk, out->domain, check_now(chk), overbroad);
    }
    out->overbroad = overbroad == 1;
    out->keyable = overbroad == 0;

done:
    spf_resolver_deadline_end(&saved);
    SPF_request_free(req);
    return rc;
}

/* dns_free - SPF_dns_free() that accepts NULL (libspf2 aborts on it) */
static void
dns_free(SPF_dns_server_t *dns)
{
    if (dns)
        SPF_dns_free(dns);
}

/* spf_check_new - see the header */
struct spf_check *
spf_check_new(const struct spf_check_opts *opts, SPF_dns_server_t *dns, char *err, size_t errlen)
{
    struct spf_resolver_opts ro;
    struct spf_check *chk;
    SPF_dns_server_t *guard;
    unsigned want, i;

    pthread_once(&silence_once, silence_libspf2);
    if ((chk = calloc(1, sizeof(*chk))) == NULL) {
        snprintf(err, errlen, "out of memory");
        dns_free(dns);
        return NULL;
    }
    chk->dns_timeout_ms = opts && opts->dns_timeout_ms > 0 ? opts->dns_timeout_ms
        : SPF_CHECK_DNS_TIMEOUT_MS;
    chk->cache_ttl = opts && opts->cache_ttl > 0 ? opts->cache_ttl : SPF_CHECK_CACHE_TTL;
    chk->clock = opts ? opts->clock : NULL;

    /* Probes: TEST-NET-1 and the IPv6 documentation prefix (RFC 5737, 3849). */
    chk->probes[0].family = AF_INET;
    inet_pton(AF_INET, "192.0.2.1", chk->probes[0].b);
    chk->probes[1].family = AF_INET6;
    inet_pton(AF_INET6, "2001:db8::1", chk->probes[1].b);
    chk->nprobes = 2;
    if (opts && opts->probe && (opts->probe->family == AF_INET || opts->probe->family == AF_INET6))
        chk->probes[chk->nprobes++] = *opts->probe;

    want = opts && opts->cache_size > 0 ? opts->cache_size : SPF_CHECK_CACHE_SIZE;
    for (chk->nsets = 1; chk->nsets * VC_WAYS < want && chk->nsets < (1u << 20);)
        chk->nsets <<= 1;
    if ((chk->sets = calloc(chk->nsets, sizeof(*chk->sets))) == NULL) {
        snprintf(err, errlen, "out of memory");
        dns_free(dns);
        free(chk);
        return NULL;
    }
    for (i = 0; i < chk->nsets; i++)
        pthread_mutex_init(&chk->sets[i].lock, NULL);

    if (dns == NULL) {
        memset(&ro, 0, sizeof(ro));
        ro.timeout_ms = chk->dns_timeout_ms;
        ro.servers = opts ? opts->dns_servers : NULL;
        if ((dns = spf_resolver_new(&ro, err, errlen)) == NULL) {
            spf_check_free(chk);
            return NULL;
        }
    }
    if ((guard = spf_resolver_guard_new(dns)) == NULL) {
        snprintf(err, errlen, "out of memory");
        SPF_dns_free(dns);
        spf_check_free(chk);
        return NULL;
    }
    if ((chk->server = SPF_server_new_dns(guard, 0)) == NULL) {
        snprintf(err, errlen, "SPF_server_new_dns failed");
        SPF_dns_free(guard);
        spf_check_free(chk);
        return NULL;
    }
    chk->dns = guard;
    return chk;
}

/* spf_check_free - release the server, its DNS layers and the cache */
void
spf_check_free(struct spf_check *chk)
{
    unsigned i;

    if (chk == NULL)
        return;
    /*
     * SPF_server_new_dns() leaves destroy_resolver unset in 1.2.10, so
     * freeing the server does not free the layers: we own them.
     */
    if (chk->server)
        SPF_server_free(chk->server);
    dns_free(chk->dns);
    if (chk->sets) {
        for (i = 0; i < chk->nsets; i++)
            pthread_mutex_destroy(&chk->sets[i].lock);
        free(chk->sets);
    }
    free(chk);
}

/* spf_check_result_name - text for logs */
const char *
spf_check_result_name(enum spf_check_result result)
{
    static const char *const names[] = {
        "none", "neutral", "pass", "fail", "softfail", "temperror", "permerror",
    };

    if ((unsigned) result < sizeof(names) / sizeof(names[0]))
        return names[result];
    return "unknown";
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * spf_check.c - SPF check of the client for SPF-keyed triplets: libspf2's
 * result for the real envelope sender, and spf_guard's verdict on whether
 * a pass may key on the domain (with its caches of static sets and of
 * results).
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
#include "spf_guard.h"
#include "spf_resolver.h"

#define CHECK_MAX_PROBES 3

struct spf_check {
    SPF_server_t *server;                /* shared by all threads */
    SPF_dns_server_t *dns;               /* the top layer (guard); we own the stack */
    int     dns_timeout_ms;              /* budget per call */
    struct ipaddr probes[CHECK_MAX_PROBES];      /* addresses no sender uses */
    int     nprobes;
    struct spf_guard *guard;             /* static sets, verdicts, result cache */
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

/*
 * evaluate - libspf2's result for the request, or the cached one: the
 * guard says what it depends on (its walk runs first, within the same
 * deadline). Fills out's result, result_cached and, for a pass, the
 * verdict.
 */
static void
evaluate(struct spf_check *chk, SPF_request_t *req, const struct ipaddr *ip, const char *env_from,
         const char *helo, struct spf_result *out)
{
    struct spf_guard_verdict v;
    struct spf_guard_deps deps;
    int     cached;

    if (spf_guard_judge(chk->guard, out->domain, ip, &v, &deps) != 0)
        deps.cacheable = 0;
    if (spf_guard_result_get(chk->guard, &deps, out->domain, ip, env_from, helo, &cached)) {
        out->result = (enum spf_check_result) cached;
        out->result_cached = 1;
    } else {
        out->result = query(req);
        if (out->result != SPF_CHECK_TEMPERROR)
            spf_guard_result_put(chk->guard, &deps, out->domain, ip, env_from, helo, out->result);
    }
    if (out->result != SPF_CHECK_PASS)
        return;
    out->guard = v;
    out->keyable = v.keyable;
    out->cached = v.cached;
}

/* spf_check_client - see the header */
int
spf_check_client(struct spf_check *chk, const struct ipaddr *ip, const char *helo,
                 const char *sender, struct spf_result *out)
{
    char    helo_dom[SPF_CHECK_DOMAIN_MAX + 1];
    struct spf_resolver_deadline saved;
    const char *at, *env_from;
    SPF_request_t *req;
    int     have_helo, rc = 0;

    memset(out, 0, sizeof(*out));
    out->result = SPF_CHECK_NONE;
    if (chk == NULL || ip == NULL || (ip->family != AF_INET && ip->family != AF_INET6)
        || is_loopback(ip))
        return 0;

    /* The identity: MAIL FROM's domain, or the HELO name for <>. */
    have_helo = identity(helo, helo_dom) == 0;
    if (sender != NULL && *sender != '\0') {
        at = strrchr(sender, '@');
        if (identity(at != NULL ? at + 1 : sender, out->domain) < 0
            || (at != NULL && (at == sender || strlen(sender) > SPF_GUARD_SENDER_MAX)))
            return 0;
        env_from = at != NULL ? sender : out->domain;
    } else if (have_helo) {
        memcpy(out->domain, helo_dom, sizeof(helo_dom));
        out->helo = 1;
        env_from = out->domain;
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
        || SPF_request_set_env_from(req, env_from) != SPF_E_SUCCESS) {
        out->result = SPF_CHECK_TEMPERROR;
        rc = -1;
    } else {
        evaluate(chk, req, ip, env_from, have_helo ? helo_dom : NULL, out);
    }
    spf_resolver_deadline_end(&saved);
    SPF_request_free(req);
    return rc;
}

/* spf_check_guard - the checker's guard, for spf_guard_explain() */
struct spf_guard *
spf_check_guard(struct spf_check *chk)
{
    return chk ? chk->guard : NULL;
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
    struct spf_guard_opts go;
    struct spf_check *chk;
    SPF_dns_server_t *guard;

    pthread_once(&silence_once, silence_libspf2);
    if ((chk = calloc(1, sizeof(*chk))) == NULL) {
        snprintf(err, errlen, "out of memory");
        dns_free(dns);
        return NULL;
    }
    chk->dns_timeout_ms = opts && opts->dns_timeout_ms > 0 ? opts->dns_timeout_ms
        : SPF_CHECK_DNS_TIMEOUT_MS;

    /* Probes: TEST-NET-1 and the IPv6 documentation prefix (RFC 5737, 3849). */
    chk->probes[0].family = AF_INET;
    inet_pton(AF_INET, "192.0.2.1", chk->probes[0].b);
    chk->probes[1].family = AF_INET6;
    inet_pton(AF_INET6, "2001:db8::1", chk->probes[1].b);
    chk->nprobes = 2;
    if (opts && opts->probe && (opts->probe->family == AF_INET || opts->probe->family == AF_INET6))
        chk->probes[chk->nprobes++] = *opts->probe;

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
    memset(&go, 0, sizeof(go));
    go.max_v4_prefix = opts ? opts->max_v4_prefix : 0;
    go.max_v6_prefix = opts ? opts->max_v6_prefix : 0;
    go.sets_size = opts ? opts->cache_size : 0;
    go.results_size = opts ? opts->results_size : 0;
    go.ttl_max = opts && opts->cache_ttl > 0 ? opts->cache_ttl : SPF_CHECK_CACHE_TTL;
    go.probes = chk->probes;
    go.nprobes = chk->nprobes;
    go.clock = opts ? opts->clock : NULL;
    if ((chk->guard = spf_guard_new(&go, guard)) == NULL) {
        snprintf(err, errlen, "out of memory");
        spf_check_free(chk);
        return NULL;
    }
    return chk;
}

/* spf_check_free - release the server, its DNS layers and the cache */
void
spf_check_free(struct spf_check *chk)
{
    if (chk == NULL)
        return;
    /*
     * SPF_server_new_dns() leaves destroy_resolver unset in 1.2.10, so
     * freeing the server does not free the layers: we own them.
     */
    spf_guard_free(chk->guard);
    if (chk->server)
        SPF_server_free(chk->server);
    dns_free(chk->dns);
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

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * spf_guard.c - the static-set verdict on SPF keying, the per-domain
 * cache of static sets and the SPF result cache (see spf_guard.h).
 *
 * The walk is spf_expand's, in guard mode: one walker for the big-sender
 * expansion and for this. Both caches are set-associative with
 * GUARD_WAYS entries a set and a mutex a set; a lookup or an insert
 * holds the set's mutex for a few comparisons (and a binary search of a
 * static set, or the free of an evicted one), never across DNS: a miss
 * walks unlocked and inserts afterwards, and two threads that miss the
 * same domain at once both walk it (the later insert wins).
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <arpa/inet.h>

#include "netblock.h"
#include "siphash.h"
#include "spf_expand.h"
#include "spf_guard.h"
#include "spf_resolver.h"

#define GUARD_WAYS 4                     /* entries per cache set */
#define GUARD_MAX_PROBES 3
#define GUARD_WALK_MS 5000               /* walk budget when no deadline runs */
#define GUARD_NET_V4 24                  /* result-cache netblocks */
#define GUARD_NET_V6 64

/* Macro letters whose value no result key holds: never cached. */
#define GUARD_UNCACHEABLE (SPF_EXPAND_MACRO('p') | SPF_EXPAND_MACRO('c') \
                           | SPF_EXPAND_MACRO('r') | SPF_EXPAND_MACRO('t'))

/* A domain's static set and what the walk learnt. */
struct gs_entry {
    time_t  expires;                     /* 0 = empty */
    struct netset *set;                  /* finished; owned */
    struct spf_expand_facts facts;
    enum spf_guard_why status;           /* DOMAIN (walk complete), LIMIT or DNS */
    int     probe;                       /* the set holds a probe */
    uint64_t v4, v6;                     /* addresses, /64s */
    char    domain[SPF_EXPAND_NAME_MAX + 1];
};

struct gs_set {
    pthread_mutex_t lock;
    struct gs_entry e[GUARD_WAYS];
};

/* A cached SPF result. */
struct gr_entry {
    time_t  expires;                     /* 0 = empty */
    uint64_t h;                          /* siphash of the key */
    int     result;
};

struct gr_set {
    pthread_mutex_t lock;
    struct gr_entry e[GUARD_WAYS];
};

struct spf_guard {
    SPF_dns_server_t *dns;               /* borrowed */
    unsigned max_v4, max_v6;             /* prefixes */
    unsigned ttl_max;
    struct ipaddr probes[GUARD_MAX_PROBES];
    int     nprobes;
    time_t  (*clock)(void);
    struct gs_set *sets;                 /* nsets, a power of two */
    unsigned nsets;
    struct gr_set *rsets;                /* nrsets, a power of two */
    unsigned nrsets;
    uint8_t key[16];                     /* siphash key, random */
};

/* guard_now - the injected clock, or time() */
static time_t
guard_now(const struct spf_guard *g)
{
    return g->clock ? g->clock() : time(NULL);
}

/* pow2_sets - the number of sets (a power of two) for want entries */
static unsigned
pow2_sets(unsigned want)
{
    unsigned n = 1;

    while (n * GUARD_WAYS < want && n < (1u << 20))
        n <<= 1;
    return n;
}

/* spf_guard_new - see the header */
struct spf_guard *
spf_guard_new(const struct spf_guard_opts *opts, SPF_dns_server_t *dns)
{
    struct spf_guard *g;
    unsigned i;

    if (dns == NULL || (g = calloc(1, sizeof(*g))) == NULL)
        return NULL;
    g->dns = dns;
    g->max_v4 = opts && opts->max_v4_prefix >= 1 && opts->max_v4_prefix <= 32
        ? opts->max_v4_prefix : SPF_GUARD_MAX_V4_PREFIX;
    g->max_v6 = opts && opts->max_v6_prefix >= 1 && opts->max_v6_prefix <= 64
        ? opts->max_v6_prefix : SPF_GUARD_MAX_V6_PREFIX;
    g->ttl_max = opts && opts->ttl_max > 0 ? opts->ttl_max : SPF_GUARD_TTL_MAX;
    g->clock = opts ? opts->clock : NULL;
    for (i = 0; opts && (int) i < opts->nprobes && i < GUARD_MAX_PROBES; i++)
        g->probes[g->nprobes++] = opts->probes[i];
    g->nsets = pow2_sets(opts && opts->sets_size ? opts->sets_size : SPF_GUARD_SETS_SIZE);
    g->nrsets = pow2_sets(opts && opts->results_size ? opts->results_size
                          : SPF_GUARD_RESULTS_SIZE);
    g->sets = calloc(g->nsets, sizeof(*g->sets));
    g->rsets = calloc(g->nrsets, sizeof(*g->rsets));
    if (g->sets == NULL || g->rsets == NULL) {
        free(g->sets);
        free(g->rsets);
        free(g);
        return NULL;
    }
    for (i = 0; i < g->nsets; i++)
        pthread_mutex_init(&g->sets[i].lock, NULL);
    for (i = 0; i < g->nrsets; i++)
        pthread_mutex_init(&g->rsets[i].lock, NULL);
    /* Without randomness the key stays fixed: collisions get guessable, not wrong. */
    if (getrandom(g->key, sizeof(g->key), GRND_NONBLOCK) != (ssize_t) sizeof(g->key))
        memset(g->key, 0x5a, sizeof(g->key));
    return g;
}

/* spf_guard_free - see the header */
void
spf_guard_free(struct spf_guard *g)
{
    unsigned i, j;

    if (g == NULL)
        return;
    for (i = 0; i < g->nsets; i++) {
        for (j = 0; j < GUARD_WAYS; j++)
            netset_free(g->sets[i].e[j].set);
        pthread_mutex_destroy(&g->sets[i].lock);
    }
    for (i = 0; i < g->nrsets; i++)
        pthread_mutex_destroy(&g->rsets[i].lock);
    free(g->sets);
    free(g->rsets);
    free(g);
}

/* sat_add - a + b, saturating */
static uint64_t
sat_add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* add_size - one block's size into sizes[0] (IPv4 addresses) or sizes[1] (/64s) */
static void
add_size(const struct netblock *nb, void *arg)
{
    uint64_t *sizes = arg;

    if (nb->addr.family == AF_INET)
        sizes[0] = sat_add(sizes[0], (uint64_t) 1 << (32 - nb->prefix));
    else if (nb->prefix >= 64)
        sizes[1] = sat_add(sizes[1], 1);
    else
        sizes[1] = sat_add(sizes[1], nb->prefix == 0 ? UINT64_MAX : (uint64_t) 1 << (64 - nb->prefix));
}

/* log2_ceil - the smallest k with 2^k >= n (n >= 1) */
static unsigned
log2_ceil(uint64_t n)
{
    unsigned k = 0;

    while (k < 64 && ((uint64_t) 1 << k) < n)
        k++;
    return k;
}

/*
 * entry_build - walk domain in guard mode into e (unlocked, DNS). e->set
 * is NULL only on no memory.
 */
static void
entry_build(struct spf_guard *g, const char *domain, struct gs_entry *e)
{
    struct spf_expand_report *rep = calloc(1, sizeof(*rep));
    struct spf_expand_opts o;
    long    left = spf_resolver_remaining_ms();
    uint64_t sizes[2] = {0, 0};
    unsigned failures;
    int     i;

    memset(e, 0, sizeof(*e));
    snprintf(e->domain, sizeof(e->domain), "%s", domain);
    e->status = SPF_GUARD_DNS;
    if (rep == NULL || (e->set = netset_new()) == NULL) {
        free(rep);
        return;
    }
    memset(&o, 0, sizeof(o));
    o.guard = 1;
    o.timeout_ms = left > 0 ? (int) left : left == 0 ? 1 : GUARD_WALK_MS;
    failures = spf_expand_walk_facts(g->dns, &o, domain, e->set, rep, &e->facts);
    netset_finish(e->set);
    netset_blocks(e->set, add_size, sizes);
    e->v4 = sizes[0];
    e->v6 = sizes[1];
    if (e->facts.over_limit || (failures > 0 && rep->dns_failures == 0))
        e->status = SPF_GUARD_LIMIT;     /* RFC limits, or the walk's own caps */
    else if (failures > 0)
        e->status = SPF_GUARD_DNS;
    else
        e->status = SPF_GUARD_DOMAIN;
    for (i = 0; i < g->nprobes; i++)
        if (netset_contains(e->set, &g->probes[i]))
            e->probe = 1;
    free(rep);
}

/* entry_ttl - seconds the entry is good for */
static unsigned
entry_ttl(const struct spf_guard *g, const struct gs_entry *e)
{
    unsigned ttl = e->facts.min_ttl;

    if (ttl == 0 || ttl > g->ttl_max)
        return g->ttl_max;
    return ttl < SPF_GUARD_TTL_MIN && g->ttl_max >= SPF_GUARD_TTL_MIN ? SPF_GUARD_TTL_MIN : ttl;
}

/* entry_verdict - the verdict for ip from e (pure) */
static void
entry_verdict(const struct spf_guard *g, const struct gs_entry *e, const struct ipaddr *ip,
              struct spf_guard_verdict *v)
{
    const struct spf_expand_facts *f = &e->facts;

    v->v4_addrs = e->v4;
    v->v6_nets = e->v6;
    if (e->status != SPF_GUARD_DOMAIN)
        v->why = e->status;
    else if (!netset_contains(e->set, ip))
        v->why = f->pass_all ? SPF_GUARD_UNBOUNDED : f->pass_exists ? SPF_GUARD_EXISTS
            : f->pass_macro ? SPF_GUARD_MACRO : f->pass_ptr ? SPF_GUARD_PTR : SPF_GUARD_OUTSIDE;
    else if (e->v4 > ((uint64_t) 1 << (32 - g->max_v4))) {
        v->why = SPF_GUARD_TOO_WIDE;
        v->wide_family = AF_INET;
        v->wide_prefix = 32 - log2_ceil(e->v4);
    } else if (e->v6 > ((uint64_t) 1 << (64 - g->max_v6))) {
        v->why = SPF_GUARD_TOO_WIDE;
        v->wide_family = AF_INET6;
        v->wide_prefix = 64 - log2_ceil(e->v6);
    } else {
        v->why = e->probe ? SPF_GUARD_PROBE : SPF_GUARD_DOMAIN;
    }
    v->keyable = v->why == SPF_GUARD_DOMAIN;
}

/* entry_deps - what results under e depend on (pure) */
static void
entry_deps(const struct spf_guard *g, const struct gs_entry *e, struct spf_guard_deps *d)
{
    const struct spf_expand_facts *f = &e->facts;

    memset(d, 0, sizeof(*d));
    d->cacheable = e->status != SPF_GUARD_DNS && (f->macros & GUARD_UNCACHEABLE) == 0;
    d->by_ip = f->ptr > 0 || (f->macros & SPF_EXPAND_MACRO('i')) != 0
        || f->finest_v4 > GUARD_NET_V4 || f->finest_v6 > GUARD_NET_V6;
    d->by_sender = (f->macros & (SPF_EXPAND_MACRO('l') | SPF_EXPAND_MACRO('s')
                                 | SPF_EXPAND_MACRO('o'))) != 0;
    d->by_helo = (f->macros & SPF_EXPAND_MACRO('h')) != 0;
    d->ttl = entry_ttl(g, e);
}

/* name_hash - FNV-1a of a domain */
static unsigned
name_hash(const char *s)
{
    unsigned h = 2166136261u;

    while (*s) {
        h ^= (unsigned char) *s++;
        h *= 16777619u;
    }
    return h;
}

/* spf_guard_judge - see the header */
int
spf_guard_judge(struct spf_guard *g, const char *domain, const struct ipaddr *ip,
                struct spf_guard_verdict *out, struct spf_guard_deps *deps)
{
    struct gs_set *set = &g->sets[name_hash(domain) & (g->nsets - 1)];
    struct gs_entry fresh;
    time_t  now = guard_now(g);
    int     i, victim = 0;

    memset(out, 0, sizeof(*out));
    memset(deps, 0, sizeof(*deps));
    pthread_mutex_lock(&set->lock);
    for (i = 0; i < GUARD_WAYS; i++) {
        struct gs_entry *e = &set->e[i];

        if (e->expires > now && strcmp(e->domain, domain) == 0) {
            entry_verdict(g, e, ip, out);
            entry_deps(g, e, deps);
            out->cached = 1;
            pthread_mutex_unlock(&set->lock);
            return 0;
        }
    }
    pthread_mutex_unlock(&set->lock);

    entry_build(g, domain, &fresh);
    if (fresh.set == NULL) {
        out->why = SPF_GUARD_DNS;
        return -1;
    }
    entry_verdict(g, &fresh, ip, out);
    entry_deps(g, &fresh, deps);
    if (fresh.status == SPF_GUARD_DNS) {     /* a passing outage: ask again next time */
        netset_free(fresh.set);
        return 0;
    }
    fresh.expires = now + (time_t) deps->ttl;

    pthread_mutex_lock(&set->lock);
    for (i = 0; i < GUARD_WAYS; i++) {
        if (strcmp(set->e[i].domain, domain) == 0) {
            victim = i;
            break;
        }
        if (set->e[i].expires < set->e[victim].expires)
            victim = i;
    }
    netset_free(set->e[victim].set);
    set->e[victim] = fresh;
    pthread_mutex_unlock(&set->lock);
    return 0;
}

/* result_key - the siphash of what a result depends on */
static uint64_t
result_key(const struct spf_guard *g, const struct spf_guard_deps *deps, const char *domain,
           const struct ipaddr *ip, const char *sender, const char *helo)
{
    char    buf[SPF_EXPAND_NAME_MAX + 1 + 18 + SPF_GUARD_SENDER_MAX + 1 + SPF_EXPAND_NAME_MAX + 1];
    struct netblock nb;
    size_t  n = 0, len;

    netblock_mask(ip, deps->by_ip ? (ip->family == AF_INET ? 32 : 128)
                  : (ip->family == AF_INET ? GUARD_NET_V4 : GUARD_NET_V6), &nb);
    len = strnlen(domain, SPF_EXPAND_NAME_MAX);
    memcpy(buf, domain, len);
    n = len;
    buf[n++] = '\0';
    buf[n++] = (char) (ip->family == AF_INET ? 4 : 6);
    memcpy(buf + n, nb.addr.b, 16);
    n += 16;
    buf[n++] = (char) deps->by_ip;
    if (deps->by_sender && sender != NULL) {
        len = strnlen(sender, SPF_GUARD_SENDER_MAX);
        memcpy(buf + n, sender, len);
        n += len;
    }
    buf[n++] = '\0';
    if (deps->by_helo && helo != NULL) {
        len = strnlen(helo, SPF_EXPAND_NAME_MAX);
        memcpy(buf + n, helo, len);
        n += len;
    }
    buf[n++] = '\0';
    return siphash24(g->key, buf, n);
}

/* spf_guard_result_get - see the header */
int
spf_guard_result_get(struct spf_guard *g, const struct spf_guard_deps *deps, const char *domain,
                     const struct ipaddr *ip, const char *sender, const char *helo, int *result)
{
    uint64_t h;
    struct gr_set *set;
    time_t  now;
    int     i, found = 0;

    if (!deps->cacheable)
        return 0;
    h = result_key(g, deps, domain, ip, sender, helo);
    set = &g->rsets[h & (g->nrsets - 1)];
    now = guard_now(g);
    pthread_mutex_lock(&set->lock);
    for (i = 0; i < GUARD_WAYS; i++) {
        if (set->e[i].expires > now && set->e[i].h == h) {
            *result = set->e[i].result;
            found = 1;
            break;
        }
    }
    pthread_mutex_unlock(&set->lock);
    return found;
}

/* spf_guard_result_put - see the header */
void
spf_guard_result_put(struct spf_guard *g, const struct spf_guard_deps *deps, const char *domain,
                     const struct ipaddr *ip, const char *sender, const char *helo, int result)
{
    uint64_t h;
    struct gr_set *set;
    int     i, victim = 0;

    if (!deps->cacheable)
        return;
    h = result_key(g, deps, domain, ip, sender, helo);
    set = &g->rsets[h & (g->nrsets - 1)];
    pthread_mutex_lock(&set->lock);
    for (i = 0; i < GUARD_WAYS; i++) {
        if (set->e[i].h == h) {
            victim = i;
            break;
        }
        if (set->e[i].expires < set->e[victim].expires)
            victim = i;
    }
    set->e[victim].h = h;
    set->e[victim].result = result;
    set->e[victim].expires = guard_now(g) + (time_t) deps->ttl;
    pthread_mutex_unlock(&set->lock);
}

/* spf_guard_why_text - see the header */
char   *
spf_guard_why_text(const struct spf_guard_verdict *v, char *buf, size_t len)
{
    static const char *const names[] = {
        "domain", "unbounded(+all)", "exists", "macro", "ptr", "outside", "too-wide",
        "limit", "dns", "probe",
    };

    if (v->why == SPF_GUARD_TOO_WIDE)
        snprintf(buf, len, "too-wide(%s/%u)", v->wide_family == AF_INET ? "ip4" : "ip6",
                 v->wide_prefix);
    else if ((unsigned) v->why < sizeof(names) / sizeof(names[0]))
        snprintf(buf, len, "%s", names[v->why]);
    else
        snprintf(buf, len, "unknown");
    return buf;
}

/* print_block - one block of a static set, indented */
static void
print_block(const struct netblock *nb, void *arg)
{
    char    text[INET6_ADDRSTRLEN + 8];

    fprintf(arg, "  %s\n", netblock_format(nb, text, sizeof(text)));
}

/* spf_guard_explain - see the header */
int
spf_guard_explain(struct spf_guard *g, const char *domain, const struct ipaddr *ip, FILE *out)
{
    struct gs_entry e;
    struct spf_guard_verdict v;
    struct spf_guard_deps d;
    char    why[40];

    memset(&v, 0, sizeof(v));
    entry_build(g, domain, &e);
    if (e.set == NULL) {
        fprintf(out, "%s: out of memory\n", domain);
        return 1;
    }
    entry_verdict(g, &e, ip, &v);
    entry_deps(g, &e, &d);
    fprintf(out, "static set of %s (%zu blocks):\n", domain, netset_blocks(e.set, NULL, NULL));
    netset_blocks(e.set, print_block, out);
    fprintf(out, "ipv4 addresses: %llu (cap %llu, spf_key_max_v4 = %u)\n",
            (unsigned long long) e.v4, (unsigned long long) 1 << (32 - g->max_v4), g->max_v4);
    fprintf(out, "ipv6 /64s: %llu (cap %llu, spf_key_max_v6 = %u)\n",
            (unsigned long long) e.v6, (unsigned long long) 1 << (64 - g->max_v6), g->max_v6);
    fprintf(out, "dns terms: %u, void lookups: %u%s%s\n", e.facts.dns_terms,
            e.facts.void_lookups, e.facts.over_limit ? ", past RFC 7208's limits" : "",
            e.status == SPF_GUARD_DNS ? ", DNS failed" : "");
    fprintf(out, "pass terms outside the set: all %u, exists %u, ptr %u, macro targets %u\n",
            e.facts.pass_all, e.facts.pass_exists, e.facts.pass_ptr, e.facts.pass_macro);
    fprintf(out, "results cached: %s%s%s%s, ttl %us\n", d.cacheable ? "yes" : "no",
            d.by_ip ? ", per client address" : ", per /24 or /64", d.by_sender ? ", per sender" : "",
            d.by_helo ? ", per HELO name" : "", d.ttl);
    fprintf(out, "a pass keys on: %s why=%s\n", v.keyable ? "domain" : "netblock",
            spf_guard_why_text(&v, why, sizeof(why)));
    netset_free(e.set);
    return v.keyable ? 0 : 1;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dnsbl.c - the DNS list checker (see dnsbl.h): parallel A queries on a
 * pooled c-ares channel under one deadline, scoring of the answers by the
 * sites' filters, and the bounded per-address LRU cache.
 *
 * Locks: pool_lock guards the stack of idle channels, cache_lock the
 * cache; each is held for a few instructions, never across a DNS wait.
 * Answers are parsed with libresolv's ns_initparse (as spf_resolver.c).
 */
#include "config.h"

#include <arpa/nameser.h>
#include <ares.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <resolv.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>

#include "clock.h"
#include "dnsbl.h"
#include "siphash.h"
#include "xalloc.h"

#define DNSBL_POOL_MAX 16                /* idle channels kept */
#define DNSBL_NONE     (-1)              /* end of a cache list */
#define DNSBL_CACHE_LIMIT (1u << 24)     /* entries, whatever asked: int32_t indices */

/* One cache entry; lists are indices into dnsbl.entries. */
struct dnsbl_entry {
    struct ipaddr ip;
    int64_t expires_ms;
    struct dnsbl_result r;
    int32_t hnext;                       /* bucket chain, or the free list */
    int32_t prev, next;                  /* LRU list, most recent first */
};

struct dnsbl {
    struct dnsbl_sites sites;
    int     timeout_ms;
    char   *servers;                     /* NULL: resolv.conf */
    unsigned min_ttl, max_ttl, neg_ttl, fail_ttl;
    int64_t (*now_ms)(void);

    pthread_mutex_t pool_lock;
    ares_channel pool[DNSBL_POOL_MAX];
    size_t  npool;

    pthread_mutex_t cache_lock;
    size_t  cache_max, cache_used, nbuckets;
    struct dnsbl_entry *entries;
    int32_t *buckets;
    int32_t lru_head, lru_tail, free_head;
    uint8_t hash_key[16];

    _Atomic uint64_t checks, cache_hits, queries, timeouts, failures, evictions;
};

/* The state of one dnsbl_check: what the callbacks fill. */
struct dnsbl_call {
    const struct dnsbl *d;
    struct dnsbl_result r;
    size_t  pending;
    int64_t ttl;                         /* smallest TTL so far, seconds; -1 none */
};

struct dnsbl_query {
    struct dnsbl_call *call;
    unsigned zone;
};

static pthread_once_t dnsbl_once = PTHREAD_ONCE_INIT;
static int dnsbl_lib_status = ARES_SUCCESS;

/* dnsbl_lib_init - ares_library_init, once per process */
static void
dnsbl_lib_init(void)
{
    dnsbl_lib_status = ares_library_init(ARES_LIB_INIT_ALL);
}

/* dnsbl_params_init - see the header */
void
dnsbl_params_init(struct dnsbl_params *p)
{
    memset(p, 0, sizeof(*p));
    p->timeout_ms = DNSBL_TIMEOUT_MS_DEFAULT;
    p->cache_max = DNSBL_CACHE_MAX_DEFAULT;
    p->min_ttl = DNSBL_MIN_TTL_DEFAULT;
    p->max_ttl = DNSBL_MAX_TTL_DEFAULT;
    p->neg_ttl = DNSBL_NEG_TTL_DEFAULT;
    p->fail_ttl = DNSBL_FAIL_TTL_DEFAULT;
}

/* ------------------------------------------------------------ channels */

/*
 * channel_new - a c-ares channel for d: answers of any rcode come back to
 * the callback (so SERVFAIL is final, not a retry), retries fit in the
 * deadline. Returns 0 or a c-ares status.
 */
static int
channel_new(const struct dnsbl *d, ares_channel *out)
{
    struct ares_options o;
    int     st, timeout = d->timeout_ms / 3;

    memset(&o, 0, sizeof(o));
    o.flags = ARES_FLAG_NOCHECKRESP | ARES_FLAG_NOSEARCH;
    o.timeout = timeout > 0 ? timeout : 1;
    o.tries = 2;
    st = ares_init_options(out, &o, ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES);
    if (st != ARES_SUCCESS)
        return st;
    if (d->servers != NULL && (st = ares_set_servers_ports_csv(*out, d->servers)) != ARES_SUCCESS) {
        ares_destroy(*out);
        return st;
    }
    return ARES_SUCCESS;
}

/* channel_take - an idle channel from the pool, or a new one; status as channel_new */
static int
channel_take(struct dnsbl *d, ares_channel *out)
{
    pthread_mutex_lock(&d->pool_lock);
    if (d->npool > 0) {
        *out = d->pool[--d->npool];
        pthread_mutex_unlock(&d->pool_lock);
        return ARES_SUCCESS;
    }
    pthread_mutex_unlock(&d->pool_lock);
    return channel_new(d, out);
}

/* channel_give - back to the pool, or destroyed when the pool is full */
static void
channel_give(struct dnsbl *d, ares_channel ch)
{
    pthread_mutex_lock(&d->pool_lock);
    if (d->npool < DNSBL_POOL_MAX) {
        d->pool[d->npool++] = ch;
        ch = NULL;
    }
    pthread_mutex_unlock(&d->pool_lock);
    if (ch != NULL)
        ares_destroy(ch);
}

/* ------------------------------------------------------------ answers */

/* ttl_take - lower call->ttl to ttl seconds */
static void
ttl_take(struct dnsbl_call *call, int64_t ttl)
{
    if (call->ttl < 0 || ttl < call->ttl)
        call->ttl = ttl;
}

/*
 * answer_negative - the TTL of a negative answer: min(SOA TTL, SOA MINIMUM)
 * of the authority section's SOA (RFC 2308 section 5), else neg_ttl
 */
static int64_t
answer_negative(const struct dnsbl *d, const unsigned char *abuf, int alen)
{
    ns_msg  msg;
    ns_rr   rr;

    if (abuf == NULL || alen <= 0 || ns_initparse(abuf, alen, &msg) != 0)
        return d->neg_ttl;
    for (int i = 0; i < ns_msg_count(msg, ns_s_ns); i++) {
        if (ns_parserr(&msg, ns_s_ns, i, &rr) != 0)
            break;
        if (ns_rr_type(rr) == ns_t_soa && ns_rr_rdlen(rr) >= 20) {
            const unsigned char *m = ns_rr_rdata(rr) + ns_rr_rdlen(rr) - 4;
            uint32_t minimum = (uint32_t) m[0] << 24 | (uint32_t) m[1] << 16
                | (uint32_t) m[2] << 8 | m[3];

            return minimum < ns_rr_ttl(rr) ? minimum : ns_rr_ttl(rr);
        }
    }
    return d->neg_ttl;
}

/*
 * answer_positive - score the A records of an answer for zone z; their
 * smallest TTL into call. A message that does not parse is a failure.
 */
static void
answer_positive(struct dnsbl_call *call, unsigned z, const unsigned char *abuf, int alen)
{
    const struct dnsbl_sites *s = &call->d->sites;
    uint32_t matched = 0;
    ns_msg  msg;
    ns_rr   rr;
    int     nrec = 0;

    if (ns_initparse(abuf, alen, &msg) != 0) {
        call->r.failed |= 1u << z;
        return;
    }
    for (int i = 0; i < ns_msg_count(msg, ns_s_an); i++) {
        if (ns_parserr(&msg, ns_s_an, i, &rr) != 0)
            break;
        if (ns_rr_type(rr) != ns_t_a || ns_rr_class(rr) != ns_c_in || ns_rr_rdlen(rr) != 4)
            continue;                    /* a CNAME on the way, say */
        nrec++;
        ttl_take(call, ns_rr_ttl(rr));
        for (size_t k = 0; k < s->nsites; k++)
            if (s->site[k].zone == z && dnsbl_site_match(&s->site[k], ns_rr_rdata(rr)))
                matched |= 1u << k;
    }
    if (nrec == 0) {
        ttl_take(call, answer_negative(call->d, abuf, alen));
        return;
    }
    for (size_t k = 0; k < s->nsites; k++)
        if (matched & (1u << k)) {
            call->r.sites |= 1u << k;
            call->r.score += s->site[k].weight;
            call->r.listed |= 1u << z;
        }
}

/* dnsbl_answer - see the header */
void
dnsbl_answer(const struct dnsbl *d, unsigned zone, int negative, const unsigned char *abuf,
             int alen, struct dnsbl_result *out, int64_t *ttl)
{
    struct dnsbl_call call;

    memset(&call, 0, sizeof(call));
    call.d = d;
    call.ttl = -1;
    if (zone < d->sites.nzones) {
        if (negative)
            ttl_take(&call, answer_negative(d, abuf, alen));
        else
            answer_positive(&call, zone, abuf, alen);
    }
    *out = call.r;
    *ttl = call.ttl;
}

/* query_done - c-ares callback: one zone's answer (or its failure) */
static void
query_done(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
    struct dnsbl_query *q = arg;
    struct dnsbl_call *call = q->call;

    (void) timeouts;
    switch (status) {
    case ARES_SUCCESS:
        answer_positive(call, q->zone, abuf, alen);
        break;
    case ARES_ENOTFOUND:                 /* NXDOMAIN */
    case ARES_ENODATA:                   /* NOERROR, no A record */
        ttl_take(call, answer_negative(call->d, abuf, alen));
        break;
    case ARES_ETIMEOUT:
    case ARES_ECANCELLED:                /* our deadline */
    case ARES_EDESTRUCTION:
        call->r.timed_out |= 1u << q->zone;
        break;
    default:                             /* SERVFAIL, REFUSED, unreachable... */
        call->r.failed |= 1u << q->zone;
        break;
    }
    call->pending--;
}

/* run_until - drive ch until nothing is pending or deadline_us passes */
static void
run_until(ares_channel ch, struct dnsbl_call *call, int64_t deadline_us)
{
    ares_socket_t socks[ARES_GETSOCK_MAXNUM];
    struct pollfd pfd[ARES_GETSOCK_MAXNUM];

    while (call->pending > 0) {
        int64_t left = deadline_us - clock_mono_us();
        struct timeval max, tv, *tvp;
        unsigned bits;
        int     n = 0, ms;

        if (left <= 0)
            return;
        /* ARES_GETSOCK_READABLE/WRITABLE shift a signed 1 into bit 31 */
        bits = (unsigned) ares_getsock(ch, socks, ARES_GETSOCK_MAXNUM);
        for (int i = 0; i < ARES_GETSOCK_MAXNUM; i++) {
            unsigned rd = bits & (1u << i), wr = bits & (1u << (i + ARES_GETSOCK_MAXNUM));

            if (!rd && !wr)
                continue;
            pfd[n].fd = socks[i];
            pfd[n].events = (short) ((rd ? POLLIN : 0) | (wr ? POLLOUT : 0));
            pfd[n++].revents = 0;
        }
        max.tv_sec = (time_t) (left / 1000000);
        max.tv_usec = (suseconds_t) (left % 1000000);
        tvp = ares_timeout(ch, &max, &tv);
        ms = (int) ((tvp->tv_sec * 1000000LL + tvp->tv_usec + 999) / 1000);
        if (poll(pfd, (nfds_t) n, ms) <= 0) {
            ares_process_fd(ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);   /* timers */
            continue;
        }
        for (int i = 0; i < n; i++)
            ares_process_fd(ch, pfd[i].revents & (POLLIN | POLLERR | POLLHUP) ? pfd[i].fd
                            : ARES_SOCKET_BAD,
                            pfd[i].revents & POLLOUT ? pfd[i].fd : ARES_SOCKET_BAD);
    }
}

/* ------------------------------------------------------------ cache */

/* cache_key - ip with an IPv4-mapped IPv6 address made IPv4: one client, one entry */
static struct ipaddr
cache_key(const struct ipaddr *ip)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    struct ipaddr k = *ip;

    if (k.family == AF_INET6 && memcmp(k.b, mapped, sizeof(mapped)) == 0) {
        memset(&k, 0, sizeof(k));
        k.family = AF_INET;
        memcpy(k.b, ip->b + 12, 4);
    }
    return k;
}

/* cache_bucket - the bucket of ip */
static size_t
cache_bucket(const struct dnsbl *d, const struct ipaddr *ip)
{
    uint8_t key[17];

    key[0] = (uint8_t) ip->family;
    memcpy(key + 1, ip->b, 16);
    return (size_t) (siphash24(d->hash_key, key, sizeof(key)) & (d->nbuckets - 1));
}

/* lru_unlink - take entry i off the LRU list */
static void
lru_unlink(struct dnsbl *d, int32_t i)
{
    struct dnsbl_entry *e = &d->entries[i];

    if (e->prev != DNSBL_NONE)
        d->entries[e->prev].next = e->next;
    else
        d->lru_head = e->next;
    if (e->next != DNSBL_NONE)
        d->entries[e->next].prev = e->prev;
    else
        d->lru_tail = e->prev;
}

/* lru_front - put entry i at the head of the LRU list */
static void
lru_front(struct dnsbl *d, int32_t i)
{
    struct dnsbl_entry *e = &d->entries[i];

    e->prev = DNSBL_NONE;
    e->next = d->lru_head;
    if (d->lru_head != DNSBL_NONE)
        d->entries[d->lru_head].prev = i;
    d->lru_head = i;
    if (d->lru_tail == DNSBL_NONE)
        d->lru_tail = i;
}

/* cache_remove - unchain entry i and put it on the free list */
static void
cache_remove(struct dnsbl *d, int32_t i)
{
    int32_t *link = &d->buckets[cache_bucket(d, &d->entries[i].ip)];

    while (*link != i)
        link = &d->entries[*link].hnext;
    *link = d->entries[i].hnext;
    lru_unlink(d, i);
    d->entries[i].hnext = d->free_head;
    d->free_head = i;
    d->cache_used--;
}

/* cache_find - the entry of ip, or DNSBL_NONE; caller holds the lock */
static int32_t
cache_find(const struct dnsbl *d, const struct ipaddr *ip)
{
    int32_t i = d->buckets[cache_bucket(d, ip)];

    while (i != DNSBL_NONE && !ipaddr_equal(&d->entries[i].ip, ip))
        i = d->entries[i].hnext;
    return i;
}

/* cache_get - a live entry for ip into out (1), or 0; caller holds the lock */
static int
cache_get(struct dnsbl *d, const struct ipaddr *ip, int64_t now, struct dnsbl_result *out)
{
    int32_t i = cache_find(d, ip);

    if (i == DNSBL_NONE)
        return 0;
    if (d->entries[i].expires_ms <= now) {
        cache_remove(d, i);
        return 0;
    }
    *out = d->entries[i].r;
    lru_unlink(d, i);
    lru_front(d, i);
    return 1;
}

/* cache_put - store r for ip until expires; evicts the LRU entry when full */
static void
cache_put(struct dnsbl *d, const struct ipaddr *ip, int64_t expires, const struct dnsbl_result *r)
{
    size_t  b;
    int32_t i;

    pthread_mutex_lock(&d->cache_lock);
    if ((i = cache_find(d, ip)) != DNSBL_NONE)      /* another thread's, replaced */
        cache_remove(d, i);
    if (d->free_head == DNSBL_NONE) {
        cache_remove(d, d->lru_tail);
        atomic_fetch_add(&d->evictions, 1);
    }
    i = d->free_head;
    d->free_head = d->entries[i].hnext;
    d->entries[i].ip = *ip;
    d->entries[i].expires_ms = expires;
    d->entries[i].r = *r;
    b = cache_bucket(d, ip);
    d->entries[i].hnext = d->buckets[b];
    d->buckets[b] = i;
    lru_front(d, i);
    d->cache_used++;
    pthread_mutex_unlock(&d->cache_lock);
}

/* cache_ttl - how long (seconds) to keep the result of call; 0: not at all */
static int64_t
cache_ttl(const struct dnsbl *d, const struct dnsbl_call *call)
{
    int64_t ttl = call->ttl >= 0 ? call->ttl : d->neg_ttl;

    if (ttl < d->min_ttl)
        ttl = d->min_ttl;
    if (ttl > d->max_ttl)
        ttl = d->max_ttl;
    if ((call->r.timed_out | call->r.failed) != 0 && ttl > d->fail_ttl)
        ttl = d->fail_ttl;
    return ttl;
}

/* ------------------------------------------------------------ checker */

/* dnsbl_new - see the header */
struct dnsbl *
dnsbl_new(const struct dnsbl_params *p, char *err, size_t errlen)
{
    struct dnsbl *d;
    ares_channel ch;
    int     st;

    pthread_once(&dnsbl_once, dnsbl_lib_init);
    if (dnsbl_lib_status != ARES_SUCCESS) {
        snprintf(err, errlen, "c-ares: %s", ares_strerror(dnsbl_lib_status));
        return NULL;
    }
    d = xcalloc(1, sizeof(*d));
    d->sites = *p->sites;
    d->timeout_ms = p->timeout_ms > 0 ? p->timeout_ms : DNSBL_TIMEOUT_MS_DEFAULT;
    d->servers = p->servers != NULL && p->servers[0] != '\0' ? xstrdup(p->servers) : NULL;
    d->min_ttl = p->min_ttl;
    d->max_ttl = p->max_ttl;
    d->neg_ttl = p->neg_ttl;
    d->fail_ttl = p->fail_ttl;
    d->now_ms = p->now_ms != NULL ? p->now_ms : clock_mono_ms;
    pthread_mutex_init(&d->pool_lock, NULL);
    pthread_mutex_init(&d->cache_lock, NULL);
    d->cache_max = p->cache_max < DNSBL_CACHE_LIMIT ? p->cache_max : DNSBL_CACHE_LIMIT;
    for (d->nbuckets = 1; d->nbuckets < d->cache_max; d->nbuckets *= 2)
        ;
    d->buckets = xmalloc(d->nbuckets * sizeof(*d->buckets));
    for (size_t i = 0; i < d->nbuckets; i++)
        d->buckets[i] = DNSBL_NONE;
    d->entries = xcalloc(d->cache_max > 0 ? d->cache_max : 1, sizeof(*d->entries));
    d->lru_head = d->lru_tail = DNSBL_NONE;
    d->free_head = d->cache_max > 0 ? 0 : DNSBL_NONE;
    for (size_t i = 0; i < d->cache_max; i++)
        d->entries[i].hnext = i + 1 < d->cache_max ? (int32_t) (i + 1) : DNSBL_NONE;
    if (getrandom(d->hash_key, sizeof(d->hash_key), 0) != (ssize_t) sizeof(d->hash_key))
        memset(d->hash_key, 0x5a, sizeof(d->hash_key));   /* no worse than a fixed seed */
    /* One channel now: a bad servers list or resolv.conf shows at startup. */
    if ((st = channel_new(d, &ch)) != ARES_SUCCESS) {
        snprintf(err, errlen, "c-ares channel (servers %s): %s",
                 d->servers != NULL ? d->servers : "from /etc/resolv.conf", ares_strerror(st));
        dnsbl_free(d);
        return NULL;
    }
    channel_give(d, ch);
    return d;
}

/* dnsbl_free - see the header */
void
dnsbl_free(struct dnsbl *d)
{
    if (d == NULL)
        return;
    for (size_t i = 0; i < d->npool; i++)
        ares_destroy(d->pool[i]);
    pthread_mutex_destroy(&d->pool_lock);
    pthread_mutex_destroy(&d->cache_lock);
    free(d->entries);
    free(d->buckets);
    free(d->servers);
    free(d);
}

/* dnsbl_check - see the header */
int
dnsbl_check(struct dnsbl *d, const struct ipaddr *ip, struct dnsbl_result *out)
{
    struct dnsbl_query q[DNSBL_ZONES_MAX];
    struct ipaddr key = cache_key(ip);
    struct dnsbl_call call;
    char    name[DNSBL_QNAME_SIZE];
    int64_t t0 = clock_mono_us(), ttl;
    ares_channel ch;
    int     hit = 0;

    atomic_fetch_add(&d->checks, 1);
    memset(&call, 0, sizeof(call));
    call.d = d;
    call.ttl = -1;
    if (d->cache_max > 0) {
        pthread_mutex_lock(&d->cache_lock);
        hit = cache_get(d, &key, d->now_ms(), out);
        pthread_mutex_unlock(&d->cache_lock);
    }
    if (hit) {
        atomic_fetch_add(&d->cache_hits, 1);
        out->cached = 1;
        out->elapsed_ms = 0;
        return 0;
    }
    if (d->sites.nzones == 0) {
        *out = call.r;
        return 0;
    }
    if (channel_take(d, &ch) != ARES_SUCCESS) {
        call.r.failed = (uint32_t) ((1ull << d->sites.nzones) - 1);
        atomic_fetch_add(&d->failures, d->sites.nzones);
        *out = call.r;
        return -1;
    }
    for (unsigned z = 0; z < d->sites.nzones; z++) {
        q[z].call = &call;
        q[z].zone = z;
        if (dnsbl_qname(ip, d->sites.zones[z], name, sizeof(name)) < 0) {
            call.r.failed |= 1u << z;    /* cannot happen: zone names are bounded */
            continue;
        }
        call.pending++;
        atomic_fetch_add(&d->queries, 1);
        ares_query(ch, name, ns_c_in, ns_t_a, query_done, &q[z]);
    }
    run_until(ch, &call, t0 + (int64_t) d->timeout_ms * 1000);
    if (call.pending > 0)
        ares_cancel(ch);                 /* each callback runs now: timed out */
    channel_give(d, ch);
    atomic_fetch_add(&d->timeouts, (uint64_t) __builtin_popcount(call.r.timed_out));
    atomic_fetch_add(&d->failures, (uint64_t) __builtin_popcount(call.r.failed));
    call.r.elapsed_ms = (long) ((clock_mono_us() - t0) / 1000);
    if (d->cache_max > 0 && (ttl = cache_ttl(d, &call)) > 0)
        cache_put(d, &key, d->now_ms() + ttl * 1000, &call.r);
    *out = call.r;
    return 0;
}

/* dnsbl_stats - see the header */
void
dnsbl_stats(struct dnsbl *d, struct dnsbl_stats *out)
{
    out->checks = atomic_load(&d->checks);
    out->cache_hits = atomic_load(&d->cache_hits);
    out->queries = atomic_load(&d->queries);
    out->timeouts = atomic_load(&d->timeouts);
    out->failures = atomic_load(&d->failures);
    out->evictions = atomic_load(&d->evictions);
}

/* dnsbl_cache_size - see the header */
size_t
dnsbl_cache_size(struct dnsbl *d)
{
    size_t  n;

    pthread_mutex_lock(&d->cache_lock);
    n = d->cache_used;
    pthread_mutex_unlock(&d->cache_lock);
    return n;
}

/* zones_format - the names of the zones in mask, comma-separated, or "none" */
static void
zones_format(const struct dnsbl *d, uint32_t mask, char *buf, size_t len)
{
    size_t  used = 0;

    snprintf(buf, len, "none");
    for (unsigned z = 0; z < d->sites.nzones && used < len; z++) {
        int     n;

        if ((mask & (1u << z)) == 0)
            continue;
        n = snprintf(buf + used, len - used, "%s%s", used > 0 ? "," : "", d->sites.zones[z]);
        used += n > 0 ? (size_t) n : 0;
    }
}

/* dnsbl_result_format - see the header */
char   *
dnsbl_result_format(const struct dnsbl *d, const struct dnsbl_result *r, char *buf, size_t len)
{
    char    listed[512], tout[512], failed[512];

    zones_format(d, r->listed, listed, sizeof(listed));
    zones_format(d, r->timed_out, tout, sizeof(tout));
    zones_format(d, r->failed, failed, sizeof(failed));
    snprintf(buf, len, "score=%d listed=%s timeout=%s failed=%s ms=%ld cached=%d", r->score,
             listed, tout, failed, r->elapsed_ms, r->cached);
    return buf;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * spf_resolver.c - libspf2 DNS layers: the system resolver with a time
 * budget, and a guard layer that enforces the budget on any layer.
 *
 * Why not libspf2's own resolver layer (spf_dns_resolv.c, 1.2.10)? It
 * res_ninit()s one res_state per thread behind a static pthread key and
 * never exposes it, so its timeout and attempts are glibc's defaults,
 * and a stalled name server holds a milter session for many seconds per
 * query. Our layer does the same thing with a state we own, and sets
 * retrans/retry/nscount from the thread's deadline before every query.
 *
 * glibc bounds one res_nquery() at about nscount * retrans seconds with
 * retry = 1 (server i waits (retrans << i) / nscount seconds, i > 0), and
 * retrans is whole seconds. So we use floor(left / nscount) seconds per
 * server (at least 1), and fewer servers when less than nscount seconds
 * are left and the server list is ours: one query overshoots the deadline
 * by less than a second per server it asks, and once the deadline has
 * passed no query is sent at all. (A UDP answer with TC set makes glibc
 * retry over TCP, which may not be bounded by retrans; that needs a
 * server that answers UDP and then stalls on TCP.)
 */
#include "config.h"

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netinet/in.h>
#include <resolv.h>

#include "spf_resolver.h"

#define RESOLVER_ANSWER_MAX 65536        /* largest DNS message */
#define RESOLVER_DEFAULT_MS 5000

/* The resolver layer's private data (SPF_dns_server_t.hook). */
struct resolver {
    int     timeout_ms;                  /* per-query ceiling */
    int     nservers;                    /* 0 = keep resolv.conf's */
    struct sockaddr_in servers[SPF_RESOLVER_MAX_SERVERS];
    pthread_key_t key;                   /* -> struct resolver_thread */
};

/* One thread's resolver state, created on its first lookup. */
struct resolver_thread {
    struct __res_state res;              /* res_ninit()ed */
    int     nscount;                     /* servers configured */
    unsigned char answer[RESOLVER_ANSWER_MAX];
    char    txt[RESOLVER_ANSWER_MAX];    /* a TXT record's joined strings */
};

/* This thread's deadline and counters (see spf_resolver.h). */
static _Thread_local struct spf_resolver_deadline tl_deadline;
static _Thread_local unsigned long tl_lookups;
static _Thread_local unsigned long tl_expired;

/* now_mono - CLOCK_MONOTONIC now */
static struct timespec
now_mono(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts;
}

/* ts_add_ms - ts plus ms milliseconds */
static struct timespec
ts_add_ms(struct timespec ts, long ms)
{
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

/* ts_before - 1 if a is earlier than b */
static int
ts_before(struct timespec a, struct timespec b)
{
    return a.tv_sec < b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec < b.tv_nsec);
}

/* spf_resolver_deadline_begin - start (or tighten) this thread's budget */
void
spf_resolver_deadline_begin(int budget_ms, struct spf_resolver_deadline *saved)
{
    struct timespec until = ts_add_ms(now_mono(), budget_ms < 0 ? 0 : budget_ms);

    *saved = tl_deadline;
    if (!tl_deadline.active || ts_before(until, tl_deadline.until))
        tl_deadline.until = until;
    tl_deadline.active = 1;
}

/* spf_resolver_deadline_end - put back the saved budget */
void
spf_resolver_deadline_end(const struct spf_resolver_deadline *saved)
{
    tl_deadline = *saved;
}

/* spf_resolver_remaining_ms - -1 without a deadline, else ms left (>= 0) */
long
spf_resolver_remaining_ms(void)
{
    struct timespec now;
    long    ms;

    if (!tl_deadline.active)
        return -1;
    now = now_mono();
    if (!ts_before(now, tl_deadline.until))
        return 0;
    ms = (long) (tl_deadline.until.tv_sec - now.tv_sec) * 1000
        + (tl_deadline.until.tv_nsec - now.tv_nsec) / 1000000L;
    return ms < 0 ? 0 : ms;
}

/* spf_resolver_counters - this thread's guard counters */
void
spf_resolver_counters(unsigned long *lookups, unsigned long *expired)
{
    if (lookups)
        *lookups = tl_lookups;
    if (expired)
        *expired = tl_expired;
}

/* resolver_thread_free - pthread key destructor */
static void
resolver_thread_free(void *arg)
{
    struct resolver_thread *rt = arg;

    if (rt) {
        res_nclose(&rt->res);
        free(rt);
    }
}

/*
 * resolver_thread_get - this thread's state for r, created on first use.
 * NULL when memory or res_ninit() fails (the lookup then answers TRY_AGAIN).
 */
static struct resolver_thread *
resolver_thread_get(struct resolver *r)
{
    struct resolver_thread *rt = pthread_getspecific(r->key);
    int     i;

    if (rt)
        return rt;
    if ((rt = calloc(1, sizeof(*rt))) == NULL)
        return NULL;
    if (res_ninit(&rt->res) != 0) {
        res_nclose(&rt->res);
        free(rt);
        return NULL;
    }

    /*
     * A configured server list replaces resolv.conf's. glibc uses the
     * caller's nsaddr_list when it no longer matches the file it read.
     */
    if (r->nservers > 0) {
        for (i = 0; i < r->nservers; i++)
            rt->res.nsaddr_list[i] = r->servers[i];
        rt->res.nscount = r->nservers;
    }
    rt->nscount = rt->res.nscount > 0 ? rt->res.nscount : 1;
    if (pthread_setspecific(r->key, rt) != 0) {
        resolver_thread_free(rt);
        return NULL;
    }
    return rt;
}

/*
 * resolver_budget - size this query: per-server seconds and server count
 * from min(time left, timeout_ms). Returns 0, or -1 if no time is left.
 */
static int
resolver_budget(const struct resolver *r, struct resolver_thread *rt)
{
    long    left = spf_resolver_remaining_ms();
    long    secs;
    int     n;

    if (left == 0)
        return -1;
    if (left < 0 || left > r->timeout_ms)
        left = r->timeout_ms;
    secs = left / 1000;
    if (secs < 1)
        secs = 1;
    n = rt->nscount;

    /*
     * Ask fewer servers when time is short, but only in a server list of
     * our own (IPv4, in nsaddr_list): resolv.conf's may hold IPv6 servers,
     * which glibc keeps elsewhere, and cutting nscount there is not ours
     * to do. With resolv.conf's N servers the overshoot is then < N s.
     */
    if (r->nservers > 0 && n > secs) {
        n = (int) secs;
        rt->res.nscount = n;
    }
    rt->res.retrans = (int) (secs / n) > 0 ? (int) (secs / n) : 1;
    rt->res.retry = 1;
    return 0;
}

/* rr_add - append one datum of len bytes to rr; 0 or -1 (no memory) */
static int
rr_add(SPF_dns_rr_t *rr, const void *data, size_t len, int nul)
{
    int     idx = rr->num_rr;

    if (SPF_dns_rr_buf_realloc(rr, idx, len + (nul ? 1 : 0)) != SPF_E_SUCCESS)
        return -1;
    memcpy(rr->rr[idx], data, len);
    if (nul)
        ((char *) rr->rr[idx])[len] = '\0';
    rr->num_rr = idx + 1;
    return 0;
}

/*
 * resolver_parse - turn the answer section into rr's list; records of
 * other types (the CNAMEs of a chain) are skipped. TXT character-strings
 * are joined as RFC 7208 3.3 says; a datum that does not parse is
 * dropped. Returns the number of records kept.
 */
static int
resolver_parse(struct resolver_thread *rt, int len, ns_type type, SPF_dns_rr_t *rr)
{
    const unsigned char *msg = rt->answer;
    char   *txt = rt->txt;
    ns_msg  handle;
    ns_rr   one;
    char    name[NS_MAXDNAME];
    int     i, n;

    if (ns_initparse(msg, len, &handle) < 0)
        return 0;
    n = ns_msg_count(handle, ns_s_an);
    for (i = 0; i < n; i++) {
        const unsigned char *rd;
        size_t  rdlen, pos, out;

        if (ns_parserr(&handle, ns_s_an, i, &one) < 0)
            break;
        if (ns_rr_type(one) != type || ns_rr_class(one) != ns_c_in)
            continue;
        rd = ns_rr_rdata(one);
        rdlen = ns_rr_rdlen(one);
        switch (type) {
        case ns_t_a:
            if (rdlen == 4 && rr_add(rr, rd, 4, 0) < 0)
                return rr->num_rr;
            break;
        case ns_t_aaaa:
            if (rdlen == 16 && rr_add(rr, rd, 16, 0) < 0)
                return rr->num_rr;
            break;
        case ns_t_mx:
        case ns_t_ptr:
            pos = type == ns_t_mx ? 2 : 0;
            if (rdlen <= pos || ns_name_uncompress(msg, msg + len, rd + pos, name, sizeof(name)) < 0)
                break;
            if (rr_add(rr, name, strlen(name), 1) < 0)
                return rr->num_rr;
            break;
        case ns_t_txt:
            for (pos = 0, out = 0; pos < rdlen;) {
                size_t  slen = rd[pos++];

                if (slen > rdlen - pos)
                    slen = rdlen - pos;
                memcpy(txt + out, rd + pos, slen);
                out += slen;
                pos += slen;
            }
            if (rr_add(rr, txt, out, 1) < 0)
                return rr->num_rr;
            break;
        default:
            break;
        }
    }
    return rr->num_rr;
}

/* resolver_lookup - SPF_dns_server_t.lookup for the resolver layer */
static SPF_dns_rr_t *
resolver_lookup(SPF_dns_server_t *srv, const char *domain, ns_type type, int should_cache)
{
    struct resolver *r = srv->hook;
    struct resolver_thread *rt;
    SPF_dns_rr_t *rr;
    int     len, herr;

    (void) should_cache;
    if (type == ns_t_spf)
        return SPF_dns_rr_new_init(srv, domain, type, 0, NO_DATA);
    if ((rt = resolver_thread_get(r)) == NULL || resolver_budget(r, rt) < 0)
        return SPF_dns_rr_new_init(srv, domain, type, 0, TRY_AGAIN);

    len = res_nquery(&rt->res, domain, ns_c_in, type, rt->answer, sizeof(rt->answer));
    if (len < 0) {
        herr = rt->res.res_h_errno;
        if (herr != HOST_NOT_FOUND && herr != NO_DATA)
            herr = TRY_AGAIN;                    /* SERVFAIL, timeout, REFUSED... */
        return SPF_dns_rr_new_init(srv, domain, type, 0, herr);
    }
    if (len > (int) sizeof(rt->answer))
        len = sizeof(rt->answer);
    if ((rr = SPF_dns_rr_new_init(srv, domain, type, 0, NETDB_SUCCESS)) == NULL)
        return NULL;
    if (resolver_parse(rt, len, type, rr) == 0)
        rr->herrno = NO_DATA;
    return rr;
}

/* resolver_destroy - SPF_dns_server_t.destroy for the resolver layer */
static void
resolver_destroy(SPF_dns_server_t *srv)
{
    struct resolver *r = srv->hook;

    /*
     * Other threads' states are freed when those threads exit only while
     * the key lives; the daemon frees the resolver at exit, so the only
     * state worth freeing here is the calling thread's.
     */
    resolver_thread_free(pthread_getspecific(r->key));
    pthread_setspecific(r->key, NULL);
    pthread_key_delete(r->key);
    free(r);
    free(srv);
}

/*
 * resolver_parse_servers - "a.b.c.d[:port]" words into r->servers.
 * Returns 0, or -1 with a reason in err.
 */
static int
resolver_parse_servers(struct resolver *r, const char *text, char *err, size_t errlen)
{
    char    word[64];
    const char *p = text;

    while (*p) {
        size_t  n = strcspn(p, " \t,");
        char   *colon;
        unsigned long port = 53;
        struct sockaddr_in *sin;

        if (n == 0) {
            p++;
            continue;
        }
        if (n >= sizeof(word)) {
            snprintf(err, errlen, "DNS server too long: \"%.*s...\"", 20, p);
            return -1;
        }
        memcpy(word, p, n);
        word[n] = '\0';
        p += n;
        if (r->nservers == SPF_RESOLVER_MAX_SERVERS) {
            snprintf(err, errlen, "more than %d DNS servers", SPF_RESOLVER_MAX_SERVERS);
            return -1;
        }
        if ((colon = strchr(word, ':')) != NULL) {
            char   *end;

            *colon = '\0';
            errno = 0;
            port = strtoul(colon + 1, &end, 10);
            if (errno || *end || end == colon + 1 || port == 0 || port > 65535) {
                snprintf(err, errlen, "bad DNS server port in \"%s:%s\"", word, colon + 1);
                return -1;
            }
        }
        sin = &r->servers[r->nservers];
        memset(sin, 0, sizeof(*sin));
        sin->sin_family = AF_INET;
        sin->sin_port = htons((unsigned short) port);
        if (inet_pton(AF_INET, word, &sin->sin_addr) != 1) {
            snprintf(err, errlen, "bad DNS server address \"%s\" (IPv4 only)", word);
            return -1;
        }
        r->nservers++;
    }
    return 0;
}

/* spf_resolver_new - the system resolver as a libspf2 layer */
SPF_dns_server_t *
spf_resolver_new(const struct spf_resolver_opts *opts, char *err, size_t errlen)
{
    SPF_dns_server_t *srv;
    struct resolver *r;

    if ((r = calloc(1, sizeof(*r))) == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    r->timeout_ms = opts && opts->timeout_ms > 0 ? opts->timeout_ms : RESOLVER_DEFAULT_MS;
    if (opts && opts->servers && resolver_parse_servers(r, opts->servers, err, errlen) < 0) {
        free(r);
        return NULL;
    }
    if (pthread_key_create(&r->key, resolver_thread_free) != 0) {
        snprintf(err, errlen, "pthread_key_create failed");
        free(r);
        return NULL;
    }
    if ((srv = calloc(1, sizeof(*srv))) == NULL) {
        pthread_key_delete(r->key);
        free(r);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    srv->destroy = resolver_destroy;
    srv->lookup = resolver_lookup;
    srv->name = "redgrey-resolver";
    srv->hook = r;
    return srv;
}

/* guard_lookup - SPF_dns_server_t.lookup for the guard layer */
static SPF_dns_rr_t *
guard_lookup(SPF_dns_server_t *srv, const char *domain, ns_type type, int should_cache)
{
    tl_lookups++;
    if (type == ns_t_spf)
        return SPF_dns_rr_new_init(srv, domain, type, 0, NO_DATA);
    if (spf_resolver_remaining_ms() == 0) {
        tl_expired++;
        return SPF_dns_rr_new_init(srv, domain, type, 0, TRY_AGAIN);
    }
    return srv->layer_below->lookup(srv->layer_below, domain, type, should_cache);
}

/* guard_destroy - SPF_dns_server_t.destroy; SPF_dns_free frees below */
static void
guard_destroy(SPF_dns_server_t *srv)
{
    free(srv);
}

/* spf_resolver_guard_new - deadline/type-99 guard over below */
SPF_dns_server_t *
spf_resolver_guard_new(SPF_dns_server_t *below)
{
    SPF_dns_server_t *srv;

    if (below == NULL || (srv = calloc(1, sizeof(*srv))) == NULL)
        return NULL;
    srv->destroy = guard_destroy;
    srv->lookup = guard_lookup;
    srv->layer_below = below;
    srv->name = "redgrey-guard";
    return srv;
}

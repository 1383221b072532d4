/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * spf_resolver.c - libspf2 DNS layers: the system resolver with a time
 * budget, and a guard layer that enforces the budget on any layer and
 * screens TXT answers before libspf2 compiles them (spf_screen.c).
 *
 * Why not libspf2's own resolver layer (spf_dns_resolv.c, 1.2.10)? It
 * res_ninit()s one res_state per thread behind a static pthread key and
 * never exposes it, so its timeout and attempts are glibc's defaults,
 * and a stalled name server holds a milter session for many seconds per
 * query. Our layer does the same thing with states we own, and sets
 * retrans/retry/nscount from the thread's deadline before every query.
 *
 * glibc bounds one res_nquery() at about nscount * retrans seconds with
 * retry = 1 (server i waits (retrans << i) / nscount seconds, i > 0), and
 * retrans is whole seconds. So we use round(left) / nscount seconds per
 * server (at least 1), and fewer servers when less than nscount seconds
 * are left and the server list is ours: one query overshoots the deadline
 * by less than a second per server it asks, and once the deadline has
 * passed no query is sent at all. (A UDP answer with TC set makes glibc
 * retry over TCP, which may not be bounded by retrans; that needs a
 * server that answers UDP and then stalls on TCP.)
 *
 * THE POOL. libmilter runs one thread per SMTP connection, so a state per
 * thread meant a 130 KB calloc and a read of resolv.conf per connection.
 * States now live in a pool: a LIFO free list under a mutex, taken for one
 * query and put back right after. Nothing in a state outlives a query
 * that the next query needs from the same thread (the deadline is
 * thread-local and the budget is set before every query), so holding one
 * for a whole SPF check would only raise the number in use. The lock is
 * held to pop or push a state, never across DNS, res_ninit() or free().
 *
 * A state is res_ninit()ed once, when it is made, and again only when
 * resolv.conf has changed since (its mtime, inode or size, read with one
 * stat() per lookup, as glibc itself does for _res). Its answer buffer
 * starts at 8 KB, enough for any UDP answer glibc asks for (it offers at
 * most 1200 bytes with EDNS); a longer TCP answer is asked again with
 * 64 KB, which the state then keeps.
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
#include <sys/stat.h>

#include "clock.h"
#include "metrics.h"
#include "spf_resolver.h"
#include "spf_screen.h"

#define RESOLVER_ANSWER_MIN 8192         /* a new state's answer buffer */
#define RESOLVER_ANSWER_MAX 65536        /* largest DNS message */
#define RESOLVER_DEFAULT_MS 5000

/* One pooled resolver state. */
struct resolver_state {
    struct resolver_state *next;         /* in the idle list */
    struct __res_state res;              /* res_ninit()ed when inited */
    int     inited;                      /* res holds a res_ninit() */
    unsigned gen;                        /* resolv.conf generation res was read in */
    int     nscount;                     /* servers configured */
    unsigned char *answer;               /* answer_size bytes */
    size_t  answer_size;                 /* RESOLVER_ANSWER_MIN or _MAX */
    struct timespec idle_since;          /* when it was last put back */
    unsigned inits, grown;               /* not yet added to the pool's stats */
};

/* What identifies one version of resolv.conf. */
struct conf_id {
    int     found;                       /* stat() succeeded */
    dev_t   dev;
    ino_t   ino;
    off_t   size;
    struct timespec mtime;
};

/* The resolver layer's private data (SPF_dns_server_t.hook). */
struct resolver {
    int     timeout_ms;                  /* per-query ceiling */
    int     nservers;                    /* 0 = keep resolv.conf's */
    struct sockaddr_in servers[SPF_RESOLVER_MAX_SERVERS];
    unsigned pool_max;                   /* states at most */
    unsigned pool_min;                   /* states never freed below */
    long    idle_ms;                     /* idle time before freeing; < 0 = at once */
    char    conf_path[256];              /* the resolv.conf watched */
    pthread_mutex_t lock;                /* guards everything below */
    pthread_cond_t returned;             /* a state was put back (CLOCK_MONOTONIC) */
    struct resolver_state *idle;         /* free list, most recently used first */
    struct conf_id conf;                 /* resolv.conf as last seen */
    unsigned gen;                        /* +1 each time conf changes */
    struct spf_resolver_stats stats;     /* live, idle, counters */
};

/* This thread's deadline and counters (see spf_resolver.h). */
static _Thread_local struct spf_resolver_deadline tl_deadline;
static _Thread_local unsigned long tl_lookups;
static _Thread_local unsigned long tl_expired;
static _Thread_local struct spf_resolver_deadline tl_budget_saved;  /* under the message budget */
static _Thread_local int tl_budget_on;   /* a message budget runs */

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
    struct timespec until = ts_add_ms(clock_mono_ts(), budget_ms < 0 ? 0 : budget_ms);

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

/* spf_resolver_budget_begin - the message's budget: an outer deadline, saved aside */
void
spf_resolver_budget_begin(int budget_ms)
{
    if (tl_budget_on)
        spf_resolver_deadline_end(&tl_budget_saved);   /* a second begin replaces the first */
    spf_resolver_deadline_begin(budget_ms, &tl_budget_saved);
    tl_budget_on = 1;
}

/* spf_resolver_budget_end - end the message's budget */
void
spf_resolver_budget_end(void)
{
    if (!tl_budget_on)
        return;
    spf_resolver_deadline_end(&tl_budget_saved);
    tl_budget_on = 0;
}

/* spf_resolver_remaining_ms - -1 without a deadline, else ms left (>= 0) */
long
spf_resolver_remaining_ms(void)
{
    struct timespec now;
    long    ms;

    if (!tl_deadline.active)
        return -1;
    now = clock_mono_ts();
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

/* ms_between - milliseconds from a to b (b later) */
static long
ms_between(struct timespec a, struct timespec b)
{
    return (long) (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000L;
}

/* conf_read - stat() path into id; id->found 0 when it is missing */
static void
conf_read(const char *path, struct conf_id *id)
{
    struct stat sb;

    memset(id, 0, sizeof(*id));
    if (stat(path, &sb) != 0)
        return;
    id->found = 1;
    id->dev = sb.st_dev;
    id->ino = sb.st_ino;
    id->size = sb.st_size;
    id->mtime = sb.st_mtim;
}

/* conf_same - 1 if a and b are the same version of the file */
static int
conf_same(const struct conf_id *a, const struct conf_id *b)
{
    return a->found == b->found && a->dev == b->dev && a->ino == b->ino && a->size == b->size
        && a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec;
}

/* state_free - close and free one state; NULL is a no-op */
static void
state_free(struct resolver_state *s)
{
    if (s == NULL)
        return;
    if (s->inited)
        res_nclose(&s->res);
    free(s->answer);
    free(s);
}

/* state_new - a state with a small answer buffer, not yet res_ninit()ed; NULL on no memory */
static struct resolver_state *
state_new(void)
{
    struct resolver_state *s = calloc(1, sizeof(*s));

    if (s == NULL)
        return NULL;
    if ((s->answer = malloc(RESOLVER_ANSWER_MIN)) == NULL) {
        free(s);
        return NULL;
    }
    s->answer_size = RESOLVER_ANSWER_MIN;
    return s;
}

/*
 * state_init - res_ninit() s (again, if it was read in an older
 * generation of resolv.conf) and put our server list in. 0, or -1.
 */
static int
state_init(const struct resolver *r, struct resolver_state *s, unsigned gen)
{
    int     i;

    if (s->inited && s->gen == gen)
        return 0;
    if (s->inited)
        res_nclose(&s->res);
    memset(&s->res, 0, sizeof(s->res));
    s->inited = 0;
    s->inits++;
    if (res_ninit(&s->res) != 0) {
        res_nclose(&s->res);
        return -1;
    }
    s->inited = 1;
    s->gen = gen;

    /*
     * A configured server list replaces resolv.conf's. glibc uses the
     * caller's nsaddr_list when it no longer matches the file it read.
     */
    if (r->nservers > 0) {
        for (i = 0; i < r->nservers; i++)
            s->res.nsaddr_list[i] = r->servers[i];
        s->res.nscount = r->nservers;
    }
    s->nscount = s->res.nscount > 0 ? s->res.nscount : 1;
    return 0;
}

/*
 * pool_put - return s to r's pool and wake one waiter. Above pool_min,
 * the state idle longest is freed once it has been idle idle_ms (one per
 * call, so that the extra states of a burst go gradually).
 */
static void
pool_put(struct resolver *r, struct resolver_state *s)
{
    struct resolver_state **pp, *drop = NULL;
    struct timespec now = clock_mono_ts();

    s->idle_since = now;
    pthread_mutex_lock(&r->lock);
    r->stats.inits += s->inits;
    r->stats.grown += s->grown;
    s->inits = s->grown = 0;
    s->next = r->idle;
    r->idle = s;
    r->stats.idle++;
    if (r->stats.live > r->pool_min) {
        for (pp = &r->idle; (*pp)->next != NULL; pp = &(*pp)->next)
            ;
        if (r->idle_ms < 0 || ms_between((*pp)->idle_since, now) >= r->idle_ms) {
            drop = *pp;
            *pp = NULL;
            r->stats.idle--;
            r->stats.live--;
            r->stats.freed++;
        }
    }
    pthread_cond_signal(&r->returned);
    pthread_mutex_unlock(&r->lock);
    state_free(drop);                    /* res_nclose() and free() outside the lock */
}

/*
 * pool_get - check a state out of r's pool for one query: an idle one,
 * or a new one while fewer than pool_max exist, or else wait for one to
 * come back, at most until wait_until. Returns a state ready for
 * res_nquery(), or NULL (no memory, res_ninit() failed, or no state came
 * back in time).
 */
static struct resolver_state *
pool_get(struct resolver *r, struct timespec wait_until)
{
    struct resolver_state *s = NULL;
    struct conf_id now_conf;
    unsigned gen;
    int     create = 0, waited = 0;

    conf_read(r->conf_path, &now_conf);  /* outside the lock: it is a syscall */
    pthread_mutex_lock(&r->lock);
    if (!conf_same(&now_conf, &r->conf)) {
        r->conf = now_conf;
        r->gen++;
    }
    for (;;) {
        if (r->idle != NULL) {
            s = r->idle;
            r->idle = s->next;
            r->stats.idle--;
            break;
        }
        if (r->stats.live < r->pool_max) {
            r->stats.live++;
            r->stats.created++;
            if (r->stats.live > r->stats.peak)
                r->stats.peak = r->stats.live;
            create = 1;
            break;
        }
        if (!waited) {
            r->stats.waits++;
            waited = 1;
        }
        if (pthread_cond_timedwait(&r->returned, &r->lock, &wait_until) == ETIMEDOUT
            && r->idle == NULL) {
            r->stats.wait_timeouts++;
            break;
        }
    }
    gen = r->gen;
    pthread_mutex_unlock(&r->lock);

    if (create && (s = state_new()) == NULL) {
        pthread_mutex_lock(&r->lock);
        r->stats.live--;
        pthread_cond_signal(&r->returned);       /* room for someone else to try */
        pthread_mutex_unlock(&r->lock);
        return NULL;
    }
    if (s != NULL && state_init(r, s, gen) < 0) {
        pool_put(r, s);
        return NULL;
    }
    return s;
}

/* state_grow - give s the largest answer buffer; 0, or -1 (no memory: s unchanged) */
static int
state_grow(struct resolver_state *s)
{
    unsigned char *big = malloc(RESOLVER_ANSWER_MAX);

    if (big == NULL)
        return -1;
    free(s->answer);
    s->answer = big;
    s->answer_size = RESOLVER_ANSWER_MAX;
    s->grown++;
    return 0;
}

/*
 * resolver_budget - size this query: per-server seconds and server count
 * from min(time left, timeout_ms). Returns 0, or -1 if no time is left.
 */
static int
resolver_budget(const struct resolver *r, struct resolver_state *s)
{
    long    left = spf_resolver_remaining_ms();
    long    secs;
    int     n;

    if (left == 0)
        return -1;
    if (left < 0 || left > r->timeout_ms)
        left = r->timeout_ms;
    /*
     * Whole seconds, rounded to the nearest: a deadline a few ms short of
     * 2 s (time spent before the first query) must still give a 2 s
     * query, not a 1 s one that gives up at half the budget.
     */
    secs = (left + 500) / 1000;
    if (secs < 1)
        secs = 1;
    n = s->nscount;

    /*
     * Ask fewer servers when time is short, but only in a server list of
     * our own (IPv4, in nsaddr_list): resolv.conf's may hold IPv6 servers,
     * which glibc keeps elsewhere, and cutting nscount there is not ours
     * to do. With resolv.conf's N servers the overshoot is then < N s.
     * The count is set on every query: a state serves many threads, and
     * one query's cut must not stick to the next.
     */
    if (r->nservers > 0) {
        if (n > secs)
            n = (int) secs;
        s->res.nscount = n;
    }
    s->res.retrans = (int) (secs / n) > 0 ? (int) (secs / n) : 1;
    s->res.retry = 1;
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
 * spf_resolver_parse - turn the answer section of msg[0..len) into rr's list;
 * records of other types (the CNAMEs of a chain) are skipped. TXT
 * character-strings are joined as RFC 7208 3.3 says, straight into rr's
 * buffer; a datum that does not parse is dropped. Returns the number of
 * records kept.
 */
int
spf_resolver_parse(const unsigned char *msg, int len, ns_type type, SPF_dns_rr_t *rr)
{
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
        char   *txt;

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
            if (rdlen <= pos
                || ns_name_uncompress(msg, msg + len, rd + pos, name, sizeof(name)) < 0)
                break;
            if (rr_add(rr, name, strlen(name), 1) < 0)
                return rr->num_rr;
            break;
        case ns_t_txt:
            /* The joined text is never longer than the rdata. */
            if (SPF_dns_rr_buf_realloc(rr, rr->num_rr, rdlen + 1) != SPF_E_SUCCESS)
                return rr->num_rr;
            txt = (char *) rr->rr[rr->num_rr];
            for (pos = 0, out = 0; pos < rdlen;) {
                size_t  slen = rd[pos++];

                if (slen > rdlen - pos)
                    slen = rdlen - pos;
                memcpy(txt + out, rd + pos, slen);
                out += slen;
                pos += slen;
            }
            txt[out] = '\0';
            rr->num_rr++;
            break;
        default:
            break;
        }
    }
    return rr->num_rr;
}

/*
 * resolver_lookup - SPF_dns_server_t.lookup for the resolver layer: take
 * a state from the pool (waiting at most the time the query has), ask,
 * parse, put the state back
 */
static SPF_dns_rr_t *
resolver_lookup(SPF_dns_server_t *srv, const char *domain, ns_type type, int should_cache)
{
    struct resolver *r = srv->hook;
    struct resolver_state *s;
    SPF_dns_rr_t *rr = NULL;
    long    left = spf_resolver_remaining_ms();
    int     len, herr;

    (void) should_cache;
    if (type == ns_t_spf)
        return SPF_dns_rr_new_init(srv, domain, type, 0, NO_DATA);
    if (left == 0)
        return SPF_dns_rr_new_init(srv, domain, type, 0, TRY_AGAIN);
    if (left < 0 || left > r->timeout_ms)
        left = r->timeout_ms;
    if ((s = pool_get(r, ts_add_ms(clock_mono_ts(), left))) == NULL)
        return SPF_dns_rr_new_init(srv, domain, type, 0, TRY_AGAIN);

    /*
     * An answer that does not fit comes back with its full length (TCP)
     * or fills the buffer: ask again with the largest buffer, if time is
     * left. The budget is sized again for the second query.
     */
    for (;;) {
        if (resolver_budget(r, s) < 0) {
            rr = SPF_dns_rr_new_init(srv, domain, type, 0, TRY_AGAIN);
            goto out;
        }
        len = res_nquery(&s->res, domain, ns_c_in, type, s->answer, (int) s->answer_size);
        if (len < (int) s->answer_size || s->answer_size >= RESOLVER_ANSWER_MAX)
            break;
        if (state_grow(s) < 0) {
            rr = SPF_dns_rr_new_init(srv, domain, type, 0, TRY_AGAIN);
            goto out;
        }
    }
    if (len < 0) {
        herr = s->res.res_h_errno;
        if (herr != HOST_NOT_FOUND && herr != NO_DATA)
            herr = TRY_AGAIN;                    /* SERVFAIL, timeout, REFUSED... */
        rr = SPF_dns_rr_new_init(srv, domain, type, 0, herr);
        goto out;
    }
    if (len > (int) s->answer_size)
        len = (int) s->answer_size;
    if ((rr = SPF_dns_rr_new_init(srv, domain, type, 0, NETDB_SUCCESS)) == NULL)
        goto out;
    if (spf_resolver_parse(s->answer, len, type, rr) == 0)
        rr->herrno = NO_DATA;

out:
    pool_put(r, s);
    return rr;
}

/* resolver_destroy - SPF_dns_server_t.destroy for the resolver layer */
static void
resolver_destroy(SPF_dns_server_t *srv)
{
    struct resolver *r = srv->hook;
    struct resolver_state *s;

    /* No lookup runs any more (see the header), so every state is idle. */
    while ((s = r->idle) != NULL) {
        r->idle = s->next;
        state_free(s);
    }
    pthread_cond_destroy(&r->returned);
    pthread_mutex_destroy(&r->lock);
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
    pthread_condattr_t ca;
    const char *conf;

    if ((r = calloc(1, sizeof(*r))) == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    r->timeout_ms = opts && opts->timeout_ms > 0 ? opts->timeout_ms : RESOLVER_DEFAULT_MS;
    if (opts && opts->servers && resolver_parse_servers(r, opts->servers, err, errlen) < 0) {
        free(r);
        return NULL;
    }
    r->pool_max = opts && opts->pool_max > 0 ? opts->pool_max : SPF_RESOLVER_POOL_MAX;
    r->pool_min = opts && opts->pool_min > 0 ? opts->pool_min : SPF_RESOLVER_POOL_MIN;
    if (r->pool_min > r->pool_max)
        r->pool_min = r->pool_max;
    r->idle_ms = opts && opts->pool_idle_ms != 0 ? opts->pool_idle_ms : SPF_RESOLVER_POOL_IDLE_MS;
    conf = opts && opts->resolv_conf ? opts->resolv_conf : _PATH_RESCONF;
    if (strlen(conf) >= sizeof(r->conf_path)) {
        snprintf(err, errlen, "resolv.conf path too long: \"%.20s...\"", conf);
        free(r);
        return NULL;
    }
    memcpy(r->conf_path, conf, strlen(conf) + 1);
    conf_read(r->conf_path, &r->conf);
    if ((srv = calloc(1, sizeof(*srv))) == NULL) {
        free(r);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }

    /* The wait for a state is bounded by the deadline, a CLOCK_MONOTONIC time. */
    pthread_mutex_init(&r->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&r->returned, &ca);
    pthread_condattr_destroy(&ca);
    srv->destroy = resolver_destroy;
    srv->lookup = resolver_lookup;
    srv->name = "redgrey-resolver";
    srv->hook = r;
    return srv;
}

/* spf_resolver_stats - the pool counters of the first resolver layer in the stack */
int
spf_resolver_stats(const SPF_dns_server_t *layer, struct spf_resolver_stats *out)
{
    struct resolver *r;

    while (layer != NULL && layer->lookup != resolver_lookup)
        layer = layer->layer_below;
    if (layer == NULL)
        return -1;
    r = layer->hook;
    pthread_mutex_lock(&r->lock);
    *out = r->stats;
    pthread_mutex_unlock(&r->lock);
    return 0;
}

/* guard_lookup - SPF_dns_server_t.lookup for the guard layer */
static SPF_dns_rr_t *
guard_lookup(SPF_dns_server_t *srv, const char *domain, ns_type type, int should_cache)
{
    SPF_dns_rr_t *rr;
    int     herr;
    int64_t start = clock_mono_us();

    tl_lookups++;
    if (type == ns_t_spf)
        return SPF_dns_rr_new_init(srv, domain, type, 0, NO_DATA);
    if ((herr = spf_limits_before(domain, type)) != 0)
        return SPF_dns_rr_new_init(srv, domain, type, 0, herr);
    if (spf_resolver_remaining_ms() == 0) {
        tl_expired++;
        return SPF_dns_rr_new_init(srv, domain, type, 0, TRY_AGAIN);
    }
    rr = srv->layer_below->lookup(srv->layer_below, domain, type, should_cache);
    metrics_dns(start);
    if (type == ns_t_txt && rr != NULL && rr->herrno == NETDB_SUCCESS)
        spf_screen_answer(rr, domain);   /* before libspf2 compiles anything */
    spf_limits_after(rr, type);
    return rr;
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
    srv->get_exp = spf_screen_get_exp;   /* no remote explanation is ever compiled */
    srv->layer_below = below;
    srv->name = "redgrey-guard";
    return srv;
}

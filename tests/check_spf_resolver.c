/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_spf_resolver.c - the system-resolver layer and its pool of
 * resolver states: answers of every type the SPF code asks for, junk and
 * errors, an answer too big for the small buffer, the pool's bound under
 * many short-lived threads (one libmilter thread per SMTP connection),
 * the wait for a state within the deadline, freeing idle states down to
 * the floor, and res_ninit() again only when resolv.conf changes.
 *
 * The layer talks to a tiny DNS responder on a loopback port (UDP and TCP
 * on the same port number) that this file runs in a thread: it answers
 * from a fixed table, sets TC on UDP answers over 512 bytes, and delays
 * the names marked slow, so that lookups overlap for sure. It serves the
 * tests only; the module under test has no DNS code of its own.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "clock.h"
#include "daemon.h"
#include "ipaddr.h"
#include "spf_check.h"
#include "spf_resolver.h"

#include <spf2/spf_dns_zone.h>   /* after spf.h, which it needs */

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define SLOW_MS 150                      /* the responder's delay for slow names */
#define BIG_STRINGS 40                   /* big.example: 40 strings of 250 bytes */
#define BIG_STRLEN 250
#define IO_MS 2000                       /* bound on one TCP read or write */

/* ----------------------------------------------------- the test responder */

enum fkind { F_A, F_AAAA, F_MX, F_TXT, F_BIG, F_JUNK, F_REFUSED };

/* One record of the responder's table. */
struct frec {
    const char *name;
    int     type;                        /* ns_t_* it answers */
    enum fkind kind;
    const char *data;                    /* address, "pref host", or strings split by '|' */
    int     slow;                        /* 1: answer after SLOW_MS */
};

static const struct frec frecs[] = {
    {"txt.example", ns_t_txt, F_TXT, "v=spf1 ip4:198.51.100.0/24 -all", 0},
    {"split.example", ns_t_txt, F_TXT, "v=spf1 ip4:198.51.100.0/24| -all", 0},
    {"two.example", ns_t_txt, F_TXT, "first", 0},
    {"two.example", ns_t_txt, F_TXT, "second", 0},
    {"empty.example", ns_t_txt, F_TXT, "", 0},
    {"a.example", ns_t_a, F_A, "192.0.2.10", 0},
    {"a.example", ns_t_a, F_A, "192.0.2.11", 0},
    {"aaaa.example", ns_t_aaaa, F_AAAA, "2001:db8::10", 0},
    {"mx.example", ns_t_mx, F_MX, "10 mail.example", 0},
    {"big.example", ns_t_txt, F_BIG, NULL, 0},
    {"junk.example", ns_t_txt, F_JUNK, NULL, 0},
    {"refused.example", ns_t_txt, F_REFUSED, NULL, 0},
    {"slow.example", ns_t_txt, F_TXT, "v=spf1 -all", 1},
    {"pass.example", ns_t_txt, F_TXT, "v=spf1 ip4:198.51.100.0/24 -all", 0},
};

/* The responder: one thread, one UDP and one TCP socket on the same port. */
static struct {
    int     udp, tcp;
    int     port;
    pthread_t tid;
    atomic_int stop;
    char    servers[64];                 /* "127.0.0.1:PORT" */
} fk = {-1, -1, 0, 0, 0, ""};

/* put16 - a 16-bit big-endian number at p */
static void
put16(unsigned char *p, unsigned v)
{
    p[0] = (unsigned char) (v >> 8);
    p[1] = (unsigned char) v;
}

/* fake_rdata - the rdata of r into rd (room for 16 KB); its length */
static size_t
fake_rdata(const struct frec *r, unsigned char *rd)
{
    const char *p, *bar;
    size_t  n = 0, len;
    unsigned pref;
    char    host[256], *dot, *lab;

    switch (r->kind) {
    case F_A:
        inet_pton(AF_INET, r->data, rd);
        return 4;
    case F_AAAA:
        inet_pton(AF_INET6, r->data, rd);
        return 16;
    case F_MX:
        sscanf(r->data, "%u %255s", &pref, host);
        put16(rd, pref);
        n = 2;
        for (lab = host; lab && *lab; lab = dot ? dot + 1 : NULL) {
            dot = strchr(lab, '.');
            len = dot ? (size_t) (dot - lab) : strlen(lab);
            rd[n++] = (unsigned char) len;
            memcpy(rd + n, lab, len);
            n += len;
        }
        rd[n++] = 0;
        return n;
    case F_TXT:
        for (p = r->data;; p = bar + 1) {
            bar = strchr(p, '|');
            len = bar ? (size_t) (bar - p) : strlen(p);
            rd[n++] = (unsigned char) len;
            memcpy(rd + n, p, len);
            n += len;
            if (bar == NULL)
                return n;
        }
    case F_BIG:
        for (int i = 0; i < BIG_STRINGS; i++) {
            rd[n++] = BIG_STRLEN;
            memset(rd + n, 'a' + i % 26, BIG_STRLEN);
            n += BIG_STRLEN;
        }
        return n;
    default:
        return 0;
    }
}

/*
 * fake_answer - the reply to the query q[0..qlen) into out (room for
 * 64 KB): the question copied, then the table's records for it; NXDOMAIN
 * for an unknown name. Over UDP an answer over 512 bytes becomes an empty
 * one with TC set. Returns its length, or -1 to drop the query. *slow is
 * set when the name is one to answer late.
 */
static int
fake_answer(const unsigned char *q, int qlen, unsigned char *out, int udp, int *slow)
{
    char    name[300];
    unsigned char rd[16384];
    size_t  pos = 12, nlen = 0, n, rdlen;
    unsigned qtype, ancount = 0, rcode = 3;     /* NXDOMAIN unless a name matches */
    int     junk = 0;

    *slow = 0;
    if (qlen < 12 || q[4] != 0 || q[5] != 1)
        return -1;
    while (pos < (size_t) qlen && q[pos] != 0) {
        size_t  l = q[pos++];

        if (l > 63 || pos + l > (size_t) qlen || nlen + l + 1 >= sizeof(name))
            return -1;
        if (nlen)
            name[nlen++] = '.';
        memcpy(name + nlen, q + pos, l);
        nlen += l;
        pos += l;
    }
    name[nlen] = '\0';
    if (pos + 5 > (size_t) qlen)
        return -1;
    qtype = (unsigned) q[pos + 1] << 8 | q[pos + 2];
    pos += 5;                            /* the root label, qtype, qclass */

    memcpy(out, q, pos);
    n = pos;
    for (size_t i = 0; i < NELEM(frecs); i++) {
        const struct frec *r = &frecs[i];

        if (strcasecmp(r->name, name) != 0)
            continue;
        *slow |= r->slow;
        if (r->kind == F_REFUSED) {
            rcode = 5;
            break;
        }
        rcode = 0;
        if ((unsigned) r->type != qtype)
            continue;
        if (r->kind == F_JUNK)
            junk = 1;
        rdlen = fake_rdata(r, rd);
        put16(out + n, 0xc00c);          /* the name: a pointer to the question */
        put16(out + n + 2, qtype);
        put16(out + n + 4, ns_c_in);
        put16(out + n + 6, 0);
        put16(out + n + 8, 60);          /* TTL */
        put16(out + n + 10, junk ? 100 : (unsigned) rdlen);
        memcpy(out + n + 12, rd, junk ? 3 : rdlen);
        n += 12 + (junk ? 3 : rdlen);
        ancount++;
    }
    out[2] = (unsigned char) (0x80 | (q[2] & 0x79));    /* QR, opcode, RD */
    out[3] = (unsigned char) (0x80 | rcode);            /* RA, rcode */
    put16(out + 6, ancount);
    put16(out + 8, 0);
    put16(out + 10, 0);
    if (udp && n > 512) {
        out[2] |= 0x02;                  /* TC: ask again over TCP */
        put16(out + 6, 0);
        n = pos;
    }
    return (int) n;
}

/* io_full - read (rd) or write len bytes of buf on fd within IO_MS each; 0 or -1 */
static int
io_full(int fd, unsigned char *buf, size_t len, int rd)
{
    struct pollfd pfd = {fd, rd ? POLLIN : POLLOUT, 0};
    size_t  done = 0;

    while (done < len) {
        ssize_t k;

        if (poll(&pfd, 1, IO_MS) != 1)
            return -1;
        k = rd ? read(fd, buf + done, len - done) : write(fd, buf + done, len - done);
        if (k <= 0)
            return -1;
        done += (size_t) k;
    }
    return 0;
}

/* fake_tcp - serve one TCP connection until the client closes it */
static void
fake_tcp(int fd)
{
    static unsigned char q[65536], out[65536 + 2];
    unsigned char lenbuf[2];
    int     n, slow;

    while (io_full(fd, lenbuf, 2, 1) == 0) {
        size_t  qlen = (size_t) lenbuf[0] << 8 | lenbuf[1];

        if (io_full(fd, q, qlen, 1) < 0 || (n = fake_answer(q, (int) qlen, out + 2, 0, &slow)) < 0)
            break;
        put16(out, (unsigned) n);
        if (io_full(fd, out, (size_t) n + 2, 0) < 0)
            break;
    }
    close(fd);
}

/* fake_main - the responder's loop: poll both sockets until stop */
static void *
fake_main(void *arg)
{
    static unsigned char q[4096], out[65536];
    struct pollfd pfd[2];

    (void) arg;
    while (!atomic_load(&fk.stop)) {
        pfd[0] = (struct pollfd) {fk.udp, POLLIN, 0};
        pfd[1] = (struct pollfd) {fk.tcp, POLLIN, 0};
        if (poll(pfd, 2, 100) <= 0)
            continue;
        if (pfd[0].revents & POLLIN) {
            struct sockaddr_in from;
            socklen_t flen = sizeof(from);
            ssize_t qlen = recvfrom(fk.udp, q, sizeof(q), 0, (struct sockaddr *) &from, &flen);
            int     n, slow;

            if (qlen > 0 && (n = fake_answer(q, (int) qlen, out, 1, &slow)) > 0) {
                if (slow)
                    usleep(SLOW_MS * 1000);
                sendto(fk.udp, out, (size_t) n, 0, (struct sockaddr *) &from, flen);
            }
        }
        if (pfd[1].revents & POLLIN) {
            int     fd = accept(fk.tcp, NULL, NULL);

            if (fd >= 0)
                fake_tcp(fd);
        }
    }
    return NULL;
}

/* fake_start - the responder on 127.0.0.1, UDP and TCP on one free port (checked fixture) */
static void
fake_start(void)
{
    struct sockaddr_in sin;
    socklen_t slen = sizeof(sin);
    int     one = 1, tries;

    for (tries = 0; tries < 10; tries++) {
        fk.udp = socket(AF_INET, SOCK_DGRAM, 0);
        fk.tcp = socket(AF_INET, SOCK_STREAM, 0);
        ck_assert(fk.udp >= 0 && fk.tcp >= 0);
        memset(&sin, 0, sizeof(sin));
        sin.sin_family = AF_INET;
        sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ck_assert_int_eq(bind(fk.udp, (struct sockaddr *) &sin, sizeof(sin)), 0);
        ck_assert_int_eq(getsockname(fk.udp, (struct sockaddr *) &sin, &slen), 0);
        setsockopt(fk.tcp, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fk.tcp, (struct sockaddr *) &sin, sizeof(sin)) == 0 && listen(fk.tcp, 16) == 0)
            break;
        close(fk.udp);
        close(fk.tcp);
    }
    ck_assert_msg(tries < 10, "no loopback port free for UDP and TCP at once");
    fk.port = ntohs(sin.sin_port);
    snprintf(fk.servers, sizeof(fk.servers), "127.0.0.1:%d", fk.port);
    atomic_store(&fk.stop, 0);
    ck_assert_int_eq(pthread_create(&fk.tid, NULL, fake_main, NULL), 0);
}

/* fake_stop - stop and join the responder (checked fixture) */
static void
fake_stop(void)
{
    atomic_store(&fk.stop, 1);
    pthread_join(fk.tid, NULL);
    close(fk.udp);
    close(fk.tcp);
}

/* ------------------------------------------------------------- helpers */

/* resolver - a resolver layer over the responder with the given pool options */
static SPF_dns_server_t *
resolver(unsigned pool_max, unsigned pool_min, int idle_ms, const char *resolv_conf)
{
    struct spf_resolver_opts o;
    SPF_dns_server_t *d;
    char    err[256] = "";

    memset(&o, 0, sizeof(o));
    o.timeout_ms = 3000;
    o.servers = fk.servers;
    o.pool_max = pool_max;
    o.pool_min = pool_min;
    o.pool_idle_ms = idle_ms;
    o.resolv_conf = resolv_conf;
    d = spf_resolver_new(&o, err, sizeof(err));
    ck_assert_msg(d != NULL, "spf_resolver_new: %s", err);
    return d;
}

/* stats - the pool counters of d */
static struct spf_resolver_stats
stats(const SPF_dns_server_t *d)
{
    struct spf_resolver_stats st;

    ck_assert_int_eq(spf_resolver_stats(d, &st), 0);
    return st;
}

/* ------------------------------------------------------------- answers */

static const struct acase {
    const char *label;
    const char *name;
    ns_type type;
    int     herrno;                      /* want */
    int     n;                           /* records wanted */
    const char *first;                   /* the first, as text; NULL: not checked */
} acases[] = {
    {"txt", "txt.example", ns_t_txt, NETDB_SUCCESS, 1, "v=spf1 ip4:198.51.100.0/24 -all"},
    {"txt strings joined", "split.example", ns_t_txt, NETDB_SUCCESS, 1,
     "v=spf1 ip4:198.51.100.0/24 -all"},
    {"two txt", "two.example", ns_t_txt, NETDB_SUCCESS, 2, "first"},
    {"empty txt", "empty.example", ns_t_txt, NETDB_SUCCESS, 1, ""},
    {"case-insensitive name", "TXT.Example", ns_t_txt, NETDB_SUCCESS, 1, NULL},
    {"two a", "a.example", ns_t_a, NETDB_SUCCESS, 2, "192.0.2.10"},
    {"aaaa", "aaaa.example", ns_t_aaaa, NETDB_SUCCESS, 1, "2001:db8::10"},
    {"mx", "mx.example", ns_t_mx, NETDB_SUCCESS, 1, "mail.example"},
    {"no data", "a.example", ns_t_txt, NO_DATA, 0, NULL},
    {"no such name", "nx.example", ns_t_txt, HOST_NOT_FOUND, 0, NULL},
    {"refused is try again", "refused.example", ns_t_txt, TRY_AGAIN, 0, NULL},
    {"junk answer", "junk.example", ns_t_txt, NO_DATA, 0, NULL},
    {"type 99 not asked", "txt.example", ns_t_spf, NO_DATA, 0, NULL},
    {"name too long", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example",
     ns_t_txt, TRY_AGAIN, 0, NULL},
};

/* rr_text - record i of rr as text (type-dependent) into buf */
static const char *
rr_text(const SPF_dns_rr_t *rr, int i, char *buf, size_t len)
{
    switch (rr->rr_type) {
    case ns_t_a:
        return inet_ntop(AF_INET, &rr->rr[i]->a, buf, (socklen_t) len);
    case ns_t_aaaa:
        return inet_ntop(AF_INET6, &rr->rr[i]->aaaa, buf, (socklen_t) len);
    default:
        snprintf(buf, len, "%s", rr->rr[i]->txt);
        return buf;
    }
}

/* test_answers - every row through the real resolver layer and the responder */
START_TEST(test_answers)
{
    const struct acase *c = &acases[_i];
    SPF_dns_server_t *d = resolver(0, 0, 0, NULL);
    SPF_dns_rr_t *rr = SPF_dns_lookup(d, c->name, c->type, 0);
    char    buf[300];

    ck_assert_msg(rr != NULL, "%s: got NULL, want an answer", c->label);
    ck_assert_msg((int) rr->herrno == c->herrno, "%s: got herrno %d, want %d", c->label,
                  (int) rr->herrno, c->herrno);
    ck_assert_msg(rr->num_rr == c->n, "%s: got %d records, want %d", c->label, rr->num_rr, c->n);
    if (c->first)
        ck_assert_msg(strcmp(rr_text(rr, 0, buf, sizeof(buf)), c->first) == 0,
                      "%s: got \"%s\", want \"%s\"", c->label, buf, c->first);
    SPF_dns_rr_free(rr);
    SPF_dns_free(d);
}
END_TEST

/*
 * test_big_answer - a 10 KB TXT record: UDP says TC, glibc asks over TCP,
 * the 8 KB buffer is too small, the layer asks again with 64 KB and keeps
 * it: one growth for two lookups, and the text is whole both times.
 */
START_TEST(test_big_answer)
{
    SPF_dns_server_t *d = resolver(0, 0, 0, NULL);
    struct spf_resolver_stats st;

    for (int round = 0; round < 2; round++) {
        SPF_dns_rr_t *rr = SPF_dns_lookup(d, "big.example", ns_t_txt, 0);
        size_t  len;

        ck_assert_ptr_nonnull(rr);
        ck_assert_msg(rr->herrno == NETDB_SUCCESS && rr->num_rr == 1,
                      "round %d: got herrno %d, %d records, want 0, 1", round, (int) rr->herrno,
                      rr->num_rr);
        len = strlen(rr->rr[0]->txt);
        ck_assert_msg(len == BIG_STRINGS * BIG_STRLEN, "round %d: got %zu bytes, want %d", round,
                      len, BIG_STRINGS * BIG_STRLEN);
        for (int i = 0; i < BIG_STRINGS; i++)
            ck_assert_msg(rr->rr[0]->txt[i * BIG_STRLEN] == 'a' + i % 26
                          && rr->rr[0]->txt[i * BIG_STRLEN + BIG_STRLEN - 1] == 'a' + i % 26,
                          "round %d: string %d not joined in order", round, i);
        SPF_dns_rr_free(rr);
    }
    st = stats(d);
    ck_assert_msg(st.grown == 1 && st.created == 1, "got %lu growths, %lu states, want 1, 1",
                  st.grown, st.created);
    SPF_dns_free(d);
}
END_TEST

/* test_stats_junk - stats of a stack without a resolver layer, and of NULL */
START_TEST(test_stats_junk)
{
    struct spf_resolver_stats st;
    SPF_dns_server_t *z = SPF_dns_zone_new(NULL, "test", 0);
    SPF_dns_server_t *g = spf_resolver_guard_new(z);

    ck_assert_ptr_nonnull(g);
    ck_assert_int_eq(spf_resolver_stats(NULL, &st), -1);
    ck_assert_int_eq(spf_resolver_stats(g, &st), -1);
    SPF_dns_free(g);

    g = spf_resolver_guard_new(resolver(0, 0, 0, NULL));
    ck_assert_int_eq(spf_resolver_stats(g, &st), 0);    /* found under the guard */
    ck_assert_int_eq(st.created, 0);
    SPF_dns_free(g);
}
END_TEST

/* ---------------------------------------------------------------- pool */

/* What one pool row's threads share. */
struct pool_run {
    SPF_dns_server_t *dns;               /* the resolver layer */
    struct spf_check *chk;               /* checks go through it; NULL: plain lookups */
    pthread_barrier_t *start;            /* NULL: no common start */
    atomic_int ok;                       /* threads that got the right answer */
};

/* pool_thread - one short-lived thread: one SPF check, or one slow lookup */
static void *
pool_thread(void *arg)
{
    struct pool_run *run = arg;

    if (run->start)
        pthread_barrier_wait(run->start);
    if (run->chk) {
        struct spf_result r;
        struct ipaddr ip;

        ipaddr_parse("198.51.100.7", &ip);
        if (spf_check_client(run->chk, &ip, NULL, "pass.example", &r) == 0
            && r.result == SPF_CHECK_PASS && r.keyable)
            atomic_fetch_add(&run->ok, 1);
    } else {
        struct spf_resolver_deadline saved;
        SPF_dns_rr_t *rr;

        spf_resolver_deadline_begin(5000, &saved);
        rr = SPF_dns_lookup(run->dns, "slow.example", ns_t_txt, 0);
        spf_resolver_deadline_end(&saved);
        if (rr && rr->herrno == NETDB_SUCCESS && rr->num_rr == 1)
            atomic_fetch_add(&run->ok, 1);
        SPF_dns_rr_free(rr);
    }
    return NULL;
}

static const struct pcase {
    const char *label;
    unsigned pool_max;                   /* 0: default (64) */
    int     nthreads;
    int     at_once;                     /* 1: all start together; 0: one after another */
    int     check;                       /* 1: SPF checks; 0: slow lookups */
    unsigned long created_min, created_max;     /* states made, want */
    unsigned long waits_min;             /* lookups that waited, want at least */
} pcases[] = {
    {"64 checks one after another", 0, 64, 0, 1, 1, 1, 0},
    {"64 checks at once, cap 4", 4, 64, 1, 1, 1, 4, 0},
    {"8 slow lookups at once grow the pool", 8, 8, 1, 0, 4, 8, 0},
    {"8 slow lookups at once, cap 2", 2, 8, 1, 0, 2, 2, 1},
};

/*
 * test_pool - short-lived threads, as libmilter's one per connection:
 * every thread gets its answer, and the states made stay within the cap
 * and the concurrency (one, when the threads come one after another).
 */
START_TEST(test_pool)
{
    const struct pcase *c = &pcases[_i];
    pthread_t tid[64];
    pthread_barrier_t start;
    struct pool_run run;
    struct spf_resolver_stats st;
    char    err[256] = "";
    int     i;

    memset(&run, 0, sizeof(run));
    run.dns = resolver(c->pool_max, 0, 0, NULL);
    if (c->check) {
        struct spf_check_opts o;

        memset(&o, 0, sizeof(o));
        o.dns_timeout_ms = 5000;
        run.chk = spf_check_new(&o, run.dns, err, sizeof(err));   /* owns dns now */
        ck_assert_msg(run.chk != NULL, "%s: spf_check_new: %s", c->label, err);
    }
    if (c->at_once) {
        pthread_barrier_init(&start, NULL, (unsigned) c->nthreads);
        run.start = &start;
    }
    for (i = 0; i < c->nthreads; i++) {
        ck_assert_int_eq(pthread_create(&tid[i], NULL, pool_thread, &run), 0);
        if (!c->at_once)
            pthread_join(tid[i], NULL);
    }
    if (c->at_once)
        for (i = 0; i < c->nthreads; i++)
            pthread_join(tid[i], NULL);

    st = stats(run.dns);
    ck_assert_msg(atomic_load(&run.ok) == c->nthreads, "%s: got %d right answers, want %d",
                  c->label, atomic_load(&run.ok), c->nthreads);
    ck_assert_msg(st.created >= c->created_min && st.created <= c->created_max,
                  "%s: got %lu states made, want %lu..%lu", c->label, st.created,
                  c->created_min, c->created_max);
    ck_assert_msg(st.peak <= c->created_max && st.live == st.created && st.idle == st.live,
                  "%s: got peak %u, live %u, idle %u, want peak <= %lu, all %lu alive and idle",
                  c->label, st.peak, st.live, st.idle, c->created_max, st.created);
    ck_assert_msg(st.waits >= c->waits_min && st.wait_timeouts == 0,
                  "%s: got %lu waits (%lu timed out), want >= %lu (0)", c->label, st.waits,
                  st.wait_timeouts, c->waits_min);
    ck_assert_msg(st.inits == st.created, "%s: got %lu res_ninit() calls, want one per state (%lu)",
                  c->label, st.inits, st.created);
    if (c->at_once)
        pthread_barrier_destroy(&start);
    if (run.chk)
        spf_check_free(run.chk);
    else
        SPF_dns_free(run.dns);
}
END_TEST

/*
 * test_wait_deadline - with the one state busy (for SLOW_MS), a lookup
 * with 50 ms left waits for it at most that long and answers TRY_AGAIN
 * (had it waited longer, it would have got the state and an answer); the
 * lookup that held the state still gets its answer.
 */
START_TEST(test_wait_deadline)
{
    struct spf_resolver_deadline saved;
    struct spf_resolver_stats st;
    struct pool_run run;
    int64_t t0;
    SPF_dns_rr_t *rr;
    pthread_t tid;
    long    took;
    int     i;

    memset(&run, 0, sizeof(run));
    run.dns = resolver(1, 1, 0, NULL);
    ck_assert_int_eq(pthread_create(&tid, NULL, pool_thread, &run), 0);
    for (i = 0; i < 200; i++) {          /* until the state is checked out, at most 1 s */
        st = stats(run.dns);
        if (st.live == 1 && st.idle == 0)
            break;
        usleep(5000);
    }
    ck_assert_msg(st.live == 1 && st.idle == 0, "the slow lookup never took the state");

    t0 = clock_mono_ms();
    spf_resolver_deadline_begin(50, &saved);
    rr = SPF_dns_lookup(run.dns, "txt.example", ns_t_txt, 0);
    spf_resolver_deadline_end(&saved);
    took = (long) (clock_mono_ms() - t0);
    ck_assert_ptr_nonnull(rr);
    ck_assert_msg(rr->herrno == TRY_AGAIN, "busy pool: got herrno %d, want TRY_AGAIN",
                  (int) rr->herrno);
    ck_assert_msg(took >= 40 && took < 1000, "busy pool: took %ld ms, want about 50", took);
    SPF_dns_rr_free(rr);

    pthread_join(tid, NULL);
    st = stats(run.dns);
    ck_assert_msg(atomic_load(&run.ok) == 1, "the slow lookup failed");
    ck_assert_msg(st.created == 1 && st.waits == 1 && st.wait_timeouts == 1,
                  "got %lu states, %lu waits, %lu timeouts, want 1, 1, 1", st.created, st.waits,
                  st.wait_timeouts);
    SPF_dns_free(run.dns);
}
END_TEST

static const struct tcase {
    const char *label;
    int     idle_ms;                     /* pool_idle_ms */
    int     trimmed;                     /* 1: want the pool back at its floor */
} tcases[] = {
    {"idle states freed at once", -1, 1},
    {"idle states kept for a minute", 0, 0},
};

/*
 * test_trim - after 8 overlapping slow lookups, idle states above the
 * floor (1) are freed when idle long enough, never below it, and the pool
 * grows again for the next burst
 */
START_TEST(test_trim)
{
    const struct tcase *c = &tcases[_i];
    pthread_t tid[8];
    pthread_barrier_t start;
    struct pool_run run;
    struct spf_resolver_stats st;
    int     round, i;

    memset(&run, 0, sizeof(run));
    run.dns = resolver(8, 1, c->idle_ms, NULL);
    pthread_barrier_init(&start, NULL, 8);
    run.start = &start;
    for (round = 0; round < 2; round++) {
        for (i = 0; i < 8; i++)
            ck_assert_int_eq(pthread_create(&tid[i], NULL, pool_thread, &run), 0);
        for (i = 0; i < 8; i++)
            pthread_join(tid[i], NULL);
        st = stats(run.dns);
        ck_assert_msg(st.peak >= 2, "%s: got peak %u, want the lookups to overlap", c->label,
                      st.peak);
        if (c->trimmed)
            ck_assert_msg(st.live == 1 && st.idle == 1 && st.freed == st.created - 1,
                          "%s: round %d: got %u live, %u idle, %lu freed of %lu, want 1, 1, "
                          "all but one", c->label, round, st.live, st.idle, st.freed, st.created);
        else
            ck_assert_msg(st.live == st.created && st.freed == 0,
                          "%s: round %d: got %u live, %lu freed of %lu, want none freed",
                          c->label, round, st.live, st.freed, st.created);
    }
    ck_assert_int_eq(atomic_load(&run.ok), 16);
    if (c->trimmed)
        ck_assert_msg(st.created > st.peak, "%s: got %lu made, peak %u: the pool did not grow"
                      " again", c->label, st.created, st.peak);
    pthread_barrier_destroy(&start);
    SPF_dns_free(run.dns);
}
END_TEST

/* ------------------------------------------------------------ reload */

enum raction { R_NONE, R_TOUCH, R_REMOVE, R_CREATE };

static const struct rcase {
    const char *label;
    enum raction action;                 /* done to the watched file before the lookup */
    unsigned long inits;                 /* res_ninit() calls so far, want */
} rcases[] = {
    {"first lookup", R_NONE, 1},
    {"unchanged", R_NONE, 1},
    {"unchanged again", R_NONE, 1},
    {"mtime changed", R_TOUCH, 2},
    {"unchanged after the change", R_NONE, 2},
    {"file removed", R_REMOVE, 3},
    {"still missing", R_NONE, 3},
    {"file back", R_CREATE, 4},
};

/*
 * test_reload - one state, steps in order: res_ninit() once, and again
 * only when the watched resolv.conf changes (mtime, or it goes or comes)
 */
START_TEST(test_reload)
{
    const char *tmp = getenv("REDGREY_TEST_TMP");
    char    path[600];
    SPF_dns_server_t *d;
    struct timespec times[2] = {{1000000000, 0}, {1000000000, 0}};
    size_t  i;
    int     fd;

    snprintf(path, sizeof(path), "%s/resolv.XXXXXX", tmp ? tmp : "/tmp");
    ck_assert_int_ge(fd = mkstemp(path), 0);
    ck_assert_int_eq(write(fd, "nameserver 127.0.0.1\n", 21), 21);
    close(fd);
    d = resolver(0, 0, 0, path);
    for (i = 0; i < NELEM(rcases); i++) {
        const struct rcase *c = &rcases[i];
        SPF_dns_rr_t *rr;
        struct spf_resolver_stats st;

        if (c->action == R_TOUCH)
            ck_assert_int_eq(utimensat(AT_FDCWD, path, times, 0), 0);
        else if (c->action == R_REMOVE)
            ck_assert_int_eq(unlink(path), 0);
        else if (c->action == R_CREATE) {
            ck_assert_int_ge(fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600), 0);
            close(fd);
        }
        rr = SPF_dns_lookup(d, "txt.example", ns_t_txt, 0);
        ck_assert_msg(rr && rr->num_rr == 1, "%s: the lookup failed", c->label);
        SPF_dns_rr_free(rr);
        st = stats(d);
        ck_assert_msg(st.inits == c->inits && st.created == 1,
                      "%s: got %lu res_ninit() calls (%lu states), want %lu (1)", c->label,
                      st.inits, st.created, c->inits);
    }
    SPF_dns_free(d);
    unlink(path);
}
END_TEST

static Suite *
spf_resolver_suite(void)
{
    Suite  *s = suite_create("spf_resolver");
    TCase  *tc;

    tc = tcase_create("answers");
    tcase_add_checked_fixture(tc, fake_start, fake_stop);
    tcase_add_loop_test(tc, test_answers, 0, NELEM(acases));
    tcase_add_test(tc, test_big_answer);
    tcase_add_test(tc, test_stats_junk);
    suite_add_tcase(s, tc);

    tc = tcase_create("pool");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, fake_start, fake_stop);
    tcase_add_loop_test(tc, test_pool, 0, NELEM(pcases));
    tcase_add_test(tc, test_wait_deadline);
    tcase_add_loop_test(tc, test_trim, 0, NELEM(tcases));
    suite_add_tcase(s, tc);

    tc = tcase_create("resolv.conf");
    tcase_add_checked_fixture(tc, fake_start, fake_stop);
    tcase_add_test(tc, test_reload);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return daemon_run_suites(spf_resolver_suite(), NULL) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

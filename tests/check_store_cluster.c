/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_store_cluster.c - the Redis store on a real Redis Cluster
 * (redis-cluster://): key slots as Redis computes them, decisions and
 * blobs on every primary (the keys checked on the node Redis says owns
 * them), a reshard of a few hundred slots under load, and a primary
 * killed under load until its replica takes over.
 *
 * main() starts one cluster for all the tests: six redis-server processes
 * on free loopback ports (three primaries, a replica each), joined by
 * redis-cli --cluster create. The tests run in that order; the last one
 * kills a primary. Nothing is mocked and nothing sleeps to let time pass:
 * every wait is a bounded poll for a condition. The servers are killed at
 * exit, also when a test fails.
 */
#include "config.h"

#include <check.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "daemon.h"
#include "store.h"
#include "store_redis.h"
#include "store_redis_cluster.h"
#include "store_contract.h"
#include "triplet.h"

#define TC_NODES        6                /* three primaries and their replicas */
#define TC_TIMEOUT      300              /* ms: store_timeout of the stores opened here */
#define TC_SKEW         301000           /* ms: past the delay, so a retry passes */
#define TC_THREADS      4                /* load threads */
#define TC_RESHARD      300              /* slots moved under load */

struct tc_node {
    pid_t   pid;                         /* 0: not running */
    int     port;
};

static struct tc_node tc_nodes[TC_NODES];
static pid_t tc_parent;                  /* only it kills the servers at exit */
static char tc_url[128];                 /* redis-cluster:// with one seed */
static const char *tc_cli;               /* redis-cli's path */

/* ------------------------------------------------ the cluster */

/* tc_cleanup - atexit in the process that started the servers: kill them */
static void
tc_cleanup(void)
{
    if (getpid() != tc_parent)
        return;
    for (int i = 0; i < TC_NODES; i++)
        if (tc_nodes[i].pid > 0) {
            kill(tc_nodes[i].pid, SIGKILL);
            waitpid(tc_nodes[i].pid, NULL, 0);
            tc_nodes[i].pid = 0;
        }
}

/* tc_connect - a connection of the test's own to port; NULL if it does not answer */
static redisContext *
tc_connect(int port)
{
    struct timeval tv = {1, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);

    if (c == NULL || c->err || redisSetTimeout(c, tv) != REDIS_OK) {
        redisFree(c);
        return NULL;
    }
    return c;
}

/* tc_command - one command (redisCommand format) on a connection of its own to port */
static redisReply *
tc_command(int port, const char *fmt, ...)
{
    redisContext *c = tc_connect(port);
    redisReply *r = NULL;
    va_list ap;

    if (c == NULL)
        return NULL;
    va_start(ap, fmt);
    r = redisvCommand(c, fmt, ap);
    va_end(ap);
    redisFree(c);
    return r;
}

/* tc_live - the port of a node that runs (the first one) */
static int
tc_live(void)
{
    for (int i = 0; i < TC_NODES; i++)
        if (tc_nodes[i].pid > 0)
            return tc_nodes[i].port;
    ck_abort_msg("no node runs");
    return -1;
}

/* tc_info_has - 1 if INFO section on port holds needle */
static int
tc_info_has(int port, const char *cmd, const char *needle)
{
    redisReply *r = tc_command(port, cmd);
    int     has = r != NULL && r->type == REDIS_REPLY_STRING && strstr(r->str, needle) != NULL;

    freeReplyObject(r);
    return has;
}

/* tc_start_node - redis-server in cluster mode on port; 0 once it answers, else -1 */
static int
tc_start_node(struct tc_node *n, int port)
{
    char    portarg[16], dir[600], log[700];
    long long t0;

    n->port = port;
    snprintf(portarg, sizeof(portarg), "%d", port);
    snprintf(dir, sizeof(dir), "%s/cluster-%d", daemon_tmp(), port);
    snprintf(log, sizeof(log), "%s/redis.log", dir);
    mkdir(dir, 0755);
    if ((n->pid = fork()) < 0)
        return -1;
    if (n->pid == 0) {
        execlp("redis-server", "redis-server", "--bind", "127.0.0.1", "--port", portarg,
               "--save", "", "--appendonly", "no", "--dir", dir, "--logfile", log,
               "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
               "--cluster-node-timeout", "1000", (char *) NULL);
        _exit(127);
    }
    t0 = daemon_now_ms();
    while (daemon_now_ms() - t0 < 5000) {
        redisContext *c = tc_connect(port);

        if (c != NULL) {
            redisFree(c);
            return 0;
        }
        if (waitpid(n->pid, NULL, WNOHANG) == n->pid) {
            n->pid = 0;
            return -1;
        }
        daemon_sleep_ms(20);
    }
    return -1;
}

/* tc_port_free - 1 if nobody listens on loopback port p (a bind to it works) */
static int
tc_port_free(int p)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t) p)};
    int     fd = socket(AF_INET, SOCK_STREAM, 0), ok;

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok = fd >= 0 && bind(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

/*
 * tc_port - a free port whose cluster bus port (+10000) is free too and
 * exists, as a cluster node needs; -1 if none was found
 */
static int
tc_port(void)
{
    for (int tries = 0; tries < 500; tries++) {
        int     p = daemon_free_port();

        if (p > 0 && p + 10000 <= 65535 && tc_port_free(p + 10000))
            return p;
    }
    return -1;
}

/* tc_which - the path of program in PATH (static storage), or NULL */
static const char *
tc_which(const char *program)
{
    static char path[1024];
    const char *dirs = getenv("PATH");

    for (const char *d = dirs != NULL ? dirs : "/usr/bin:/bin"; *d != 0;) {
        size_t  n = strcspn(d, ":");

        snprintf(path, sizeof(path), "%.*s/%s", (int) n, d, program);
        if (n > 0 && access(path, X_OK) == 0)
            return path;
        d += n + (d[n] == ':');
    }
    return NULL;
}

/* tc_cluster_start - six nodes, joined with --cluster-replicas 1; 0 once all say ok */
static int
tc_cluster_start(void)
{
    const char *argv[TC_NODES + 8];
    char    addr[TC_NODES][32], out[700];
    long long t0;
    int     n = 0, ok = 0;

    if ((tc_cli = tc_which("redis-cli")) == NULL) {
        fprintf(stderr, "redis-cli not found in PATH\n");
        return -1;
    }
    for (int i = 0; i < TC_NODES; i++) {
        int     started = -1;

        for (int tries = 0; tries < 5 && started < 0; tries++)
            started = tc_start_node(&tc_nodes[i], tc_port());
        if (started < 0) {
            fprintf(stderr, "cannot start a cluster node\n");
            return -1;
        }
        snprintf(addr[i], sizeof(addr[i]), "127.0.0.1:%d", tc_nodes[i].port);
    }
    argv[n++] = tc_cli;
    argv[n++] = "--cluster";
    argv[n++] = "create";
    for (int i = 0; i < TC_NODES; i++)
        argv[n++] = addr[i];
    argv[n++] = "--cluster-replicas";
    argv[n++] = "1";
    argv[n++] = "--cluster-yes";
    argv[n] = NULL;
    daemon_scratch_path(out, sizeof(out), "cluster-create.out");
    if (daemon_run(argv, out, 20000) != 0) {
        char   *text = daemon_read_file(out);

        fprintf(stderr, "redis-cli --cluster create failed:\n%s\n", text ? text : "");
        free(text);
        return -1;
    }
    for (t0 = daemon_now_ms(); daemon_now_ms() - t0 < 10000 && ok < TC_NODES;) {
        ok = 0;
        for (int i = 0; i < TC_NODES; i++)
            ok += tc_info_has(tc_nodes[i].port, "CLUSTER INFO", "cluster_state:ok");
        if (ok < TC_NODES)
            daemon_sleep_ms(50);
    }
    snprintf(tc_url, sizeof(tc_url), "redis-cluster://127.0.0.1:%d", tc_nodes[0].port);
    return ok == TC_NODES ? 0 : -1;
}

static int tc_map[REDIS_CLUSTER_SLOTS];  /* slot -> primary's port, by tc_map_load */

/* tc_map_load - tc_map as the cluster says now (CLUSTER SLOTS); -1 for a slot nobody serves */
static void
tc_map_load(void)
{
    redisReply *r = tc_command(tc_live(), "CLUSTER SLOTS");

    ck_assert_msg(r != NULL && r->type == REDIS_REPLY_ARRAY, "CLUSTER SLOTS failed");
    for (int s = 0; s < REDIS_CLUSTER_SLOTS; s++)
        tc_map[s] = -1;
    for (size_t i = 0; i < r->elements; i++) {
        redisReply *e = r->element[i];

        for (long long s = e->element[0]->integer; s <= e->element[1]->integer; s++)
            tc_map[s] = (int) e->element[2]->element[1]->integer;
    }
    freeReplyObject(r);
}

/* tc_owner - the port of the primary that serves slot now */
static int
tc_owner(unsigned slot)
{
    tc_map_load();
    return tc_map[slot];
}

/* tc_keyslot - CLUSTER KEYSLOT key, from the server */
static unsigned
tc_keyslot(const char *key, size_t len)
{
    redisReply *r = tc_command(tc_live(), "CLUSTER KEYSLOT %b", key, len);
    unsigned slot;

    ck_assert_msg(r != NULL && r->type == REDIS_REPLY_INTEGER, "CLUSTER KEYSLOT failed");
    slot = (unsigned) r->integer;
    freeReplyObject(r);
    return slot;
}

/* tc_exists - EXISTS key on the node at port itself (no redirection followed) */
static int
tc_exists(int port, const char *key)
{
    redisReply *r = tc_command(port, "EXISTS %s", key);
    int     v = r != NULL && r->type == REDIS_REPLY_INTEGER ? (int) r->integer : -1;

    freeReplyObject(r);
    return v;
}

/* tc_primaries - the ports of the primaries now, into ports[3]; how many */
static int
tc_primaries(int *ports)
{
    int     n = 0;

    for (int i = 0; i < TC_NODES && n < 3; i++)
        if (tc_nodes[i].pid > 0 && tc_info_has(tc_nodes[i].port, "INFO replication",
                                                "role:master"))
            ports[n++] = tc_nodes[i].port;
    return n;
}

/* ------------------------------------------------ stores and triplets */

static const struct policy_params tc_params = {
    .delay = 300, .retry_window = 172800, .pass_ttl = 3110400,
    .awl_threshold = 3, .awl_ttl = 3110400,
};

/* tc_open - a store on the cluster with a key prefix no other test uses */
static struct store *
tc_open(const char *url)
{
    static int n;
    char    prefix[32], err[STORE_ERRLEN] = "";
    struct store_config conf = {
        .url = url, .key_prefix = prefix, .params = tc_params,
        .timeout_ms = TC_TIMEOUT, .pool = 8,
    };
    struct store *st;

    snprintf(prefix, sizeof(prefix), "c%ld-%d:", (long) getpid(), n++);
    st = store_open(&conf, err, sizeof(err));
    ck_assert_msg(st != NULL, "store_open %s: %s", url, err);
    ck_assert_msg(err[0] == 0, "store_open %s warned: %s", url, err);
    return st;
}

/* tc_triplet - triplet i: a /24 netblock, an IPv6 /64 or spf: client key by i % 3 */
static void
tc_triplet(struct triplet *t, int i, const char *who)
{
    memset(t, 0, sizeof(*t));
    if (i % 3 == 0)
        snprintf(t->client_key, sizeof(t->client_key), "10.%d.%d.0/24", (i / 256) % 256,
                 i % 256);
    else if (i % 3 == 1)
        snprintf(t->client_key, sizeof(t->client_key), "2001:db8:%x:%x::/64", i / 65536,
                 i % 65536);
    else
        snprintf(t->client_key, sizeof(t->client_key), "spf:d%d.example", i);
    snprintf(t->sender, sizeof(t->sender), "%s%d@sender.example", who, i);
    snprintf(t->rcpt, sizeof(t->rcpt), "rcpt@dest.example");
}

/* tc_slot - the slot of t's grey key under st's prefix; its key into gkey */
static unsigned
tc_slot(const struct store *st, const struct triplet *t, char *gkey)
{
    size_t  n = triplet_grey_key(st->key_prefix, t, gkey, TRIPLET_KEY_MAX);

    ck_assert_uint_gt(n, 0);
    return redis_cluster_keyslot(gkey, n);
}

/* tc_decide - store_decide (skew 0) or the skewed test entry; fails the test on an error */
static struct policy_verdict
tc_decide(struct store *st, const struct triplet *t, int64_t skew)
{
    struct policy_verdict v;
    char    err[STORE_ERRLEN] = "";
    int     rc = skew ? store_redis_decide_skewed(st, t, skew, &v, err, sizeof(err))
        : store_decide(st, t, &v, err, sizeof(err));

    ck_assert_msg(rc == 0, "decision on %s: %s", t->client_key, err);
    return v;
}

/*
 * tc_age - make t's pending grey entry ms older: its key's expiry, which
 * holds first_seen (store_redis.c), moved ms earlier, on the node that owns
 * it (tc_map current)
 */
static void
tc_age(const struct store *st, const struct triplet *t, long long ms)
{
    char    gkey[TRIPLET_KEY_MAX];
    int     port = tc_map[tc_slot(st, t, gkey)];
    redisReply *r = tc_command(port, "PTTL %s", gkey);
    long long pttl;

    ck_assert_msg(r != NULL && r->type == REDIS_REPLY_INTEGER && r->integer > ms,
                  "%s: PTTL on node %d", t->client_key, port);
    pttl = r->integer;
    freeReplyObject(r);
    r = tc_command(port, "PEXPIRE %s %lld", gkey, pttl - ms);
    ck_assert_msg(r != NULL && r->type == REDIS_REPLY_INTEGER && r->integer == 1,
                  "%s: PEXPIRE on node %d", t->client_key, port);
    freeReplyObject(r);
}

/* tc_pass - make t pass: first sighting, then a retry past the delay (tc_map current) */
static void
tc_pass(struct store *st, const struct triplet *t)
{
    struct policy_verdict v = tc_decide(st, t, 0);

    ck_assert_int_eq(v.action, POLICY_TEMPFAIL);
    tc_age(st, t, TC_SKEW);
    v = tc_decide(st, t, 0);
    ck_assert_msg(v.action == POLICY_PASS && v.reason == POLICY_REASON_RETRY,
                  "%s: the retry did not pass (action %d reason %d)", t->client_key,
                  (int) v.action, (int) v.reason);
}

/* ------------------------------------------------ slots */

START_TEST(test_crc16_keyslot)
{
    static const struct {
        const char *key;
        unsigned crc;
    } crcs[] = {
        {"123456789", 0x31C3}, {"", 0}, {"a", 0x7C87}, {"foo", 0xAF96},
        {"user1000", 0x4D73}, {"Hello, World!", 0x4FD6},
    };
    static const char *const keys[] = {
        "{user1000}.following", "{user1000}.followers", "foo{}{bar}", "foo{{bar}}zap",
        "foo{bar}{zap}", "{}", "{", "}", "}{x}", "a{b", "rg:{4ywBx}gAAAA", "x{}",
        "{a}{b}", "prefix{tag", "blob:bigsender",
    };
    char    key[64];

    for (size_t i = 0; i < sizeof(crcs) / sizeof(crcs[0]); i++)
        ck_assert_msg(redis_cluster_crc16(crcs[i].key, strlen(crcs[i].key)) == crcs[i].crc,
                      "crc16(%s) = %#x, want %#x", crcs[i].key,
                      redis_cluster_crc16(crcs[i].key, strlen(crcs[i].key)), crcs[i].crc);
    ck_assert_uint_eq(redis_cluster_keyslot("{user1000}.following", 20),
                      redis_cluster_keyslot("user1000", 8));
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        ck_assert_msg(redis_cluster_keyslot(keys[i], strlen(keys[i]))
                      == tc_keyslot(keys[i], strlen(keys[i])), "slot of %s differs from"
                      " Redis's", keys[i]);
    for (int i = 0; i < 300; i++) {
        int     n = snprintf(key, sizeof(key), i % 2 ? "k%d{t%d}" : "{%d}x{%d}", i * 7919,
                             i % 13);

        ck_assert_msg(redis_cluster_keyslot(key, (size_t) n) == tc_keyslot(key, (size_t) n),
                      "slot of %s differs from Redis's", key);
    }
}
END_TEST

/* Both keys of one decision in one slot, for netblock and spf: client keys. */
START_TEST(test_decision_keys_one_slot)
{
    char    gkey[TRIPLET_KEY_MAX], akey[TRIPLET_KEY_MAX];
    struct triplet t;

    for (int i = 0; i < 300; i++) {
        size_t  gn, an;
        unsigned gs;

        tc_triplet(&t, i, "s");
        gn = triplet_grey_key("rg:", &t, gkey, sizeof(gkey));
        an = triplet_awl_key("rg:", &t, akey, sizeof(akey));
        ck_assert_msg(gn > 0 && an > 0, "keys of %s", t.client_key);
        gs = redis_cluster_keyslot(gkey, gn);
        ck_assert_msg(gs == redis_cluster_keyslot(akey, an), "%s: grey and AWL keys in"
                      " different slots", t.client_key);
        if (i < 30)
            ck_assert_msg(tc_keyslot(gkey, gn) == gs && tc_keyslot(akey, an) == gs,
                          "%s: Redis puts its keys elsewhere", t.client_key);
    }
}
END_TEST

/* ------------------------------------------------ decisions and blobs */

START_TEST(test_decisions_every_node)
{
    struct store *st = tc_open(tc_url);
    char    gkey[TRIPLET_KEY_MAX], akey[TRIPLET_KEY_MAX];
    int     prim[3], hits[3] = {0, 0, 0}, np = tc_primaries(prim);
    struct triplet t;

    ck_assert_int_eq(np, 3);
    tc_map_load();
    for (int i = 0; i < 60; i++) {
        struct policy_verdict v;
        unsigned slot;
        int     owner, k;

        tc_triplet(&t, i, "e");
        slot = tc_slot(st, &t, gkey);
        triplet_awl_key(st->key_prefix, &t, akey, sizeof(akey));
        owner = tc_map[slot];
        for (k = 0; k < 3 && prim[k] != owner; k++)
            ;
        ck_assert_msg(k < 3, "slot %u: owner %d is no primary", slot, owner);
        hits[k]++;
        ck_assert_uint_eq(tc_keyslot(gkey, strlen(gkey)), slot);

        v = tc_decide(st, &t, 0);
        ck_assert_msg(v.action == POLICY_TEMPFAIL && v.reason == POLICY_REASON_NEW,
                      "%s: first sighting not new", t.client_key);
        ck_assert_msg(tc_exists(owner, gkey) == 1, "%s: grey key not on node %d",
                      t.client_key, owner);
        for (int j = 0; j < 3; j++)
            if (j != k)
                ck_assert_msg(tc_exists(prim[j], gkey) != 1, "%s: key on node %d",
                              t.client_key, prim[j]);
        v = tc_decide(st, &t, 0);
        ck_assert_int_eq(v.reason, POLICY_REASON_EARLY);
        /* The test entry too (a script each node learns on its NOSCRIPT). */
        v = tc_decide(st, &t, 1000);
        ck_assert_int_eq(v.reason, POLICY_REASON_EARLY);
        tc_age(st, &t, TC_SKEW);
        v = tc_decide(st, &t, 0);
        ck_assert_msg(v.action == POLICY_PASS && v.reason == POLICY_REASON_RETRY,
                      "%s: retry did not pass", t.client_key);
        ck_assert_msg(tc_exists(owner, akey) == 1, "%s: AWL key not on node %d",
                      t.client_key, owner);
        v = tc_decide(st, &t, 0);
        ck_assert_msg(v.action == POLICY_PASS, "%s: passed triplet tempfailed", t.client_key);
    }
    for (int k = 0; k < 3; k++)
        ck_assert_msg(hits[k] > 0, "no decision landed on node %d", prim[k]);

    /* Scripts are per node: every node's cache flushed, each loads it again. */
    for (int k = 0; k < 3; k++) {
        redisReply *r = tc_command(prim[k], "SCRIPT FLUSH");

        ck_assert_msg(r != NULL && r->type == REDIS_REPLY_STATUS, "SCRIPT FLUSH");
        freeReplyObject(r);
    }
    for (int i = 0; i < 60; i++) {
        tc_triplet(&t, i, "e");
        ck_assert_int_eq(tc_decide(st, &t, 0).action, POLICY_PASS);
    }
    store_free(st);
}
END_TEST

START_TEST(test_blobs)
{
    /* A seed list whose first entry is down: the next seed gives the map. */
    char    url[160], key[STORE_BLOB_KEY_MAX], err[STORE_ERRLEN] = "";
    char   *data = NULL;
    size_t  len = 0;
    struct store_blob_meta m1, m2, m3;
    struct store *st;
    int     port = daemon_free_port();
    size_t  n;

    snprintf(url, sizeof(url), "redis-cluster://127.0.0.1:%d,127.0.0.1:%d", port,
             tc_nodes[1].port);
    st = tc_open(url);
    n = store_blob_key(st->key_prefix, "bigsender", key, sizeof(key));
    ck_assert_int_eq(store_blob_put(st, "bigsender", "one", 3, &m1, err, sizeof(err)), 0);
    ck_assert_int_eq(store_blob_put(st, "bigsender", "two!", 4, &m2, err, sizeof(err)), 0);
    ck_assert_uint_eq(m2.version, m1.version + 1);
    ck_assert_int_eq(store_blob_get(st, "bigsender", &data, &len, &m3, err, sizeof(err)),
                     STORE_BLOB_FOUND);
    ck_assert_msg(len == 4 && memcmp(data, "two!", 4) == 0 && m3.version == m2.version,
                  "blob read back wrong");
    free(data);
    ck_assert_int_eq(store_blob_get(st, "none", NULL, NULL, &m3, err, sizeof(err)),
                     STORE_BLOB_ABSENT);
    ck_assert_msg(tc_exists(tc_owner(tc_keyslot(key, n)), key) == 1,
                  "blob not on the node that owns its slot");

    /* Admin operations are a single server's: refused, not misrouted. */
    {
        int     existed = 1;

        ck_assert_int_eq(store_blob_delete(st, "bigsender", &existed, err, sizeof(err)), -1);
        ck_assert_msg(strstr(err, "redis-cluster") != NULL
                      && strstr(err, "not supported") != NULL, "blob delete: %s", err);
        ck_assert_msg(tc_exists(tc_owner(tc_keyslot(key, n)), key) == 1, "blob deleted");
    }
    store_free(st);
}
END_TEST

/* ------------------------------------------------ reshard under load */

struct tc_load {
    struct store *st;
    const struct triplet *passed;        /* these must keep passing */
    int     npassed;
    int     id;                          /* thread number, for fresh triplets; -1: none */
    atomic_int *stop;
    atomic_int *phase;                   /* what the main thread is doing, for the record */
    long    decisions, errors, wrong;    /* this thread's counts */
    long    errors_late;                 /* errors while *phase is 2 */
    char    first_err[STORE_ERRLEN];
};

/* tc_load_run - thread: passed triplets must pass, fresh ones be new, until *stop */
static void *
tc_load_run(void *arg)
{
    struct tc_load *l = arg;

    for (long i = 0; !atomic_load(l->stop); i++) {
        struct policy_verdict v;
        struct triplet t;
        char    err[STORE_ERRLEN] = "";
        int     fresh = l->id >= 0 && i % 4 == 3;
        int     rc;

        /* A fresh triplet shares a passed one's slot; its keys are both new. */
        t = l->passed[i % l->npassed];
        if (fresh)
            snprintf(t.sender, sizeof(t.sender), "f@t%d-%ld.example", l->id, i);
        rc = store_decide(l->st, &t, &v, err, sizeof(err));
        l->decisions++;
        if (rc != 0) {
            l->errors++;
            if (atomic_load(l->phase) == 2)
                l->errors_late++;
            if (l->first_err[0] == 0)
                snprintf(l->first_err, sizeof(l->first_err), "%s", err);
        } else if (fresh ? v.reason != POLICY_REASON_NEW : v.action != POLICY_PASS)
            l->wrong++;
    }
    return NULL;
}

/* tc_redis_id - CLUSTER MYID of port */
static void
tc_redis_id(int port, char *id, size_t len)
{
    redisReply *r = tc_command(port, "CLUSTER MYID");

    ck_assert_msg(r != NULL && r->type == REDIS_REPLY_STRING, "CLUSTER MYID");
    snprintf(id, len, "%s", r->str);
    freeReplyObject(r);
}

/* tc_first_slots - the lowest n slots port serves, into first..last; how many it has */
static int
tc_first_slots(int port, int n, int *first, int *last)
{
    int     have = 0;

    *first = *last = -1;
    tc_map_load();
    for (int s = 0; s < REDIS_CLUSTER_SLOTS && have < n; s++)
        if (tc_map[s] == port) {
            if (*first < 0)
                *first = s;
            *last = s;
            have++;
        }
    return have;
}

START_TEST(test_reshard_under_load)
{
    struct store *st = tc_open(tc_url);
    struct triplet *passed = calloc(400, sizeof(*passed));
    struct tc_load load[TC_THREADS];
    pthread_t tid[TC_THREADS];
    atomic_int stop = 0, phase = 1;
    char    gkey[TRIPLET_KEY_MAX], from[64], to[64], fromarg[80], toarg[80], seed[32];
    char    out[700];
    int     prim[3], np = tc_primaries(prim), npassed = 0, first, last;
    long    total = 0, errors = 0, wrong = 0, late = 0;
    long long t_setup = daemon_now_ms(), t0;
    const char *argv[16];
    int     n = 0;

    ck_assert_int_eq(np, 3);
    /* redis-cli moves the source's lowest slots: the load's triplets live there. */
    ck_assert_int_eq(tc_first_slots(prim[0], TC_RESHARD, &first, &last), TC_RESHARD);
    for (int i = 0; npassed < 400 && i < 2000000; i++) {
        struct triplet t;
        unsigned slot;

        tc_triplet(&t, i, "rs");
        slot = tc_slot(st, &t, gkey);
        if ((int) slot >= first && (int) slot <= last && tc_map[slot] == prim[0])
            passed[npassed++] = t;
    }
    ck_assert_int_eq(npassed, 400);
    tc_map_load();
    for (int i = 0; i < npassed; i++)
        tc_pass(st, &passed[i]);

    for (int i = 0; i < TC_THREADS; i++) {
        load[i] = (struct tc_load) {.st = st, .passed = passed, .npassed = npassed, .id = i,
                                    .stop = &stop, .phase = &phase};
        ck_assert_int_eq(pthread_create(&tid[i], NULL, tc_load_run, &load[i]), 0);
    }
    tc_redis_id(prim[0], from, sizeof(from));
    tc_redis_id(prim[1], to, sizeof(to));
    snprintf(seed, sizeof(seed), "127.0.0.1:%d", prim[0]);
    snprintf(fromarg, sizeof(fromarg), "%s", from);
    snprintf(toarg, sizeof(toarg), "%s", to);
    argv[n++] = tc_cli;
    argv[n++] = "--cluster";
    argv[n++] = "reshard";
    argv[n++] = seed;
    argv[n++] = "--cluster-from";
    argv[n++] = fromarg;
    argv[n++] = "--cluster-to";
    argv[n++] = toarg;
    argv[n++] = "--cluster-slots";
    argv[n++] = "300";
    argv[n++] = "--cluster-yes";
    argv[n] = NULL;
    daemon_scratch_path(out, sizeof(out), "cluster-reshard.out");
    t0 = daemon_now_ms();
    ck_assert_msg(daemon_run(argv, out, 20000) == 0, "reshard failed, see %s", out);
    fprintf(stderr, "reshard: set up in %lld ms, moved in %lld ms\n", t0 - t_setup,
            daemon_now_ms() - t0);

    /* Every moved slot is the target's now, and the load goes on there. */
    ck_assert_int_eq(tc_owner((unsigned) first), prim[1]);
    ck_assert_int_eq(tc_owner((unsigned) last), prim[1]);
    atomic_store(&phase, 2);
    for (int i = 0; i < npassed; i++) {
        struct policy_verdict v = tc_decide(st, &passed[i], 0);

        ck_assert_msg(v.action == POLICY_PASS, "%s: passed before the reshard, not after",
                      passed[i].client_key);
    }
    tc_slot(st, &passed[0], gkey);
    ck_assert_msg(tc_exists(prim[1], gkey) == 1, "%s: key not moved to node %d",
                  passed[0].client_key, prim[1]);
    atomic_store(&stop, 1);
    for (int i = 0; i < TC_THREADS; i++) {
        pthread_join(tid[i], NULL);
        total += load[i].decisions;
        errors += load[i].errors;
        wrong += load[i].wrong;
        late += load[i].errors_late;
        if (load[i].errors > 0)
            fprintf(stderr, "reshard: thread %d: %s\n", i, load[i].first_err);
    }
    fprintf(stderr, "reshard of %d slots under load: %ld decisions, %ld errors, %ld wrong\n",
            TC_RESHARD, total, errors, wrong);
    ck_assert_msg(total > 4 * TC_THREADS, "the load did not run (%ld decisions)", total);
    ck_assert_msg(errors == 0 && wrong == 0, "%ld errors (%ld after), %ld wrong verdicts",
                  errors, late, wrong);
    store_free(st);
    free(passed);
}
END_TEST

/* ------------------------------------------------ a primary dies */

/* tc_replica_of - the index of a running node that replicates port and is linked, or -1 */
static int
tc_replica_of(int port)
{
    char    want[64];

    snprintf(want, sizeof(want), "master_port:%d\r\nmaster_link_status:up", port);
    for (int i = 0; i < TC_NODES; i++)
        if (tc_nodes[i].pid > 0 && tc_info_has(tc_nodes[i].port, "INFO replication", want))
            return i;
    return -1;
}

/* tc_wait1 - a write of the test's own on port's slots, then WAIT 1: replication caught up */
static void
tc_wait1(int port)
{
    char    key[32];
    redisContext *c = tc_connect(port);
    redisReply *r;
    int     i;

    ck_assert_ptr_nonnull(c);
    tc_map_load();
    for (i = 0; i < 100000; i++) {
        snprintf(key, sizeof(key), "wait1-%d", i);
        if (tc_map[redis_cluster_keyslot(key, strlen(key))] == port)
            break;
    }
    r = redisCommand(c, "SET %s 1", key);
    ck_assert_msg(r != NULL && r->type == REDIS_REPLY_STATUS, "SET on the primary");
    freeReplyObject(r);
    r = redisCommand(c, "WAIT 1 2000");
    ck_assert_msg(r != NULL && r->type == REDIS_REPLY_INTEGER && r->integer >= 1,
                  "WAIT 1: the replica did not catch up");
    freeReplyObject(r);
    redisFree(c);
}

static atomic_int tc_down_lines;         /* notified lines about CLUSTERDOWN */
static atomic_int tc_unavailable_lines;  /* notified breaker openings */

/* tc_notify - store_notify_fn: count the lines the failover test expects */
static void
tc_notify(const char *line)
{
    fprintf(stderr, "notify: %s\n", line);
    if (strstr(line, "CLUSTERDOWN") != NULL)
        atomic_fetch_add(&tc_down_lines, 1);
    if (strstr(line, "unavailable") != NULL)
        atomic_fetch_add(&tc_unavailable_lines, 1);
}

START_TEST(test_failover)
{
    struct store *st = tc_open(tc_url);
    struct triplet passed[30], probe, *other = NULL;
    int     downs;
    char    gkey[TRIPLET_KEY_MAX];
    int     prim[3], np = tc_primaries(prim), victim = -1, replica = -1, npassed = 0;
    long    errors = 0, ok_after = 0, t_back = -1;
    long long t0;

    ck_assert_int_eq(np, 3);
    for (int k = 0; k < 3 && replica < 0; k++) {
        t0 = daemon_now_ms();
        while ((replica = tc_replica_of(prim[k])) < 0 && daemon_now_ms() - t0 < 5000)
            daemon_sleep_ms(50);
        victim = prim[k];
    }
    ck_assert_msg(replica >= 0, "no primary has a linked replica");
    tc_map_load();
    for (int i = 0; npassed < 30 && i < 100000; i++) {
        tc_triplet(&passed[npassed], i, "fo");
        if (tc_map[tc_slot(st, &passed[npassed], gkey)] == victim) {
            tc_pass(st, &passed[npassed]);
            npassed++;
        }
    }
    ck_assert_int_eq(npassed, 30);
    tc_wait1(victim);

    for (int i = 0; i < TC_NODES; i++)
        if (tc_nodes[i].port == victim) {
            kill(tc_nodes[i].pid, SIGKILL);
            waitpid(tc_nodes[i].pid, NULL, 0);
            tc_nodes[i].pid = 0;
        }
    t0 = daemon_now_ms();
    /* Decisions until 200 in a row succeed after the first success, at most 15 s. */
    for (int i = 0; ok_after < 200 && daemon_now_ms() - t0 < 15000; i++) {
        struct policy_verdict v;
        char    err[STORE_ERRLEN] = "";
        const struct triplet *t = &passed[i % npassed];

        if (store_decide(st, t, &v, err, sizeof(err)) != 0) {
            ck_assert_msg(t_back < 0, "error after recovery (%ld ms after the kill): %s",
                          (long) (daemon_now_ms() - t0), err);
            errors++;
            daemon_sleep_ms(5);          /* a pace for the outage, not a wait for it */
            continue;
        }
        ck_assert_msg(v.action == POLICY_PASS, "%s: passed before the failover, not after",
                      t->client_key);
        if (t_back < 0)
            t_back = (long) (daemon_now_ms() - t0);
        ok_after++;
    }
    fprintf(stderr, "failover: decisions back %ld ms after the kill, %ld errors before\n",
            t_back, errors);
    ck_assert_msg(t_back >= 0 && ok_after == 200, "decisions did not resume within 15 s");
    ck_assert_msg(tc_owner(tc_slot(st, &passed[0], gkey)) == tc_nodes[replica].port,
                  "the replica did not take the slots over");

    /*
     * The promoted replica dies too, with no replica of its own: its slots
     * are lost and the cluster stops serving (CLUSTERDOWN) on every node.
     * The episode is reported once however many decisions fail, and no
     * node's breaker opens for it: those nodes are fine.
     */
    store_set_notify(st, tc_notify);
    kill(tc_nodes[replica].pid, SIGKILL);
    waitpid(tc_nodes[replica].pid, NULL, 0);
    tc_nodes[replica].pid = 0;
    tc_map_load();
    for (int i = 0; other == NULL && i < 100000; i++) {
        tc_triplet(&probe, i, "cd");
        if (tc_map[tc_slot(st, &probe, gkey)] != victim
            && tc_map[tc_slot(st, &probe, gkey)] != tc_nodes[replica].port)
            other = &probe;
    }
    ck_assert_ptr_nonnull(other);
    t0 = daemon_now_ms();
    for (downs = 0; downs < 200 && daemon_now_ms() - t0 < 10000;) {
        struct policy_verdict v;
        char    err[STORE_ERRLEN] = "";

        if (store_decide(st, other, &v, err, sizeof(err)) == 0) {
            ck_assert_msg(downs == 0, "served again within the episode");
            daemon_sleep_ms(5);          /* a pace until the cluster notices, not a wait */
            continue;
        }
        ck_assert_msg(strstr(err, "CLUSTERDOWN") != NULL, "not CLUSTERDOWN: %s", err);
        downs++;
    }
    ck_assert_msg(downs == 200, "no CLUSTERDOWN within 10 s of losing a shard");
    ck_assert_int_eq(atomic_load(&tc_down_lines), 1);
    ck_assert_int_eq(atomic_load(&tc_unavailable_lines), 0);
    store_free(st);
}
END_TEST

/* ------------------------------------------------ URL */

START_TEST(test_url)
{
    static const char *const bad[] = {
        "redis-cluster://", "redis-cluster://h:1,", "redis-cluster://h:1,,h:2",
        "redis-cluster://h:1/2", "redis-cluster://:s3cret@h:0", "redis-cluster://h:1?db=0",
        "redis-cluster://:@h:1",
    };
    struct store_redis_url u;
    char    err[STORE_ERRLEN], shown[STORE_ERRLEN];

    ck_assert_int_eq(store_redis_url_parse("redis-cluster://:p,w@d@10.0.0.1:7000,[::1]:7001,"
                                           "redis-3.example/0", &u, err, sizeof(err)), 0);
    ck_assert_int_eq(u.cluster, 1);
    ck_assert_int_eq(u.nseeds, 3);
    ck_assert_str_eq(u.password, "p,w@d");
    ck_assert_str_eq(u.seeds[1].host, "::1");
    ck_assert_int_eq(u.seeds[1].port, 7001);
    ck_assert_str_eq(u.seeds[2].host, "redis-3.example");
    ck_assert_int_eq(u.seeds[2].port, 6379);
    ck_assert_str_eq(u.host, "10.0.0.1");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = 0;
        ck_assert_msg(store_redis_url_parse(bad[i], &u, err, sizeof(err)) == -1,
                      "%s parsed", bad[i]);
        ck_assert_msg(err[0] != 0 && strstr(err, "s3cret") == NULL, "%s: %s", bad[i], err);
    }
    ck_assert_int_eq(store_redis_url_parse("redis-cluster://h:1/3", &u, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "database 0") != NULL, "db: %s", err);
    store_url_redact("redis-cluster://:s3cret@h1:1,h2:2", shown, sizeof(shown));
    ck_assert_str_eq(shown, "redis-cluster://:***@h1:1,h2:2");
    ck_assert_int_eq(store_url_check("redis-cluster://h1:1,h2:2", err, sizeof(err)), 0);
    ck_assert_int_eq(store_url_check("redis-cluster://:s3cret@h1:1/1", err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "database 0") != NULL && strstr(err, "s3cret") == NULL
                  && strstr(err, "redis-cluster://:***@h1:1/1") != NULL, "check: %s", err);
}
END_TEST

/* tc_contract_open - the store contract's opener: a store on the cluster with p */
static struct store *
tc_contract_open(const struct policy_params *p, char *err, size_t errlen)
{
    static int n;
    char    prefix[32];
    struct store_config conf = {
        .url = tc_url, .key_prefix = prefix, .params = *p,
        .timeout_ms = TC_TIMEOUT, .pool = 2,
    };

    snprintf(prefix, sizeof(prefix), "ca%ld-%d:", (long) getpid(), n++);
    return store_open(&conf, err, errlen);
}

/* abuse_suite - the contract's abuse limits on the cluster (the outbound pair's own slot) */
static Suite *
abuse_suite(void)
{
    Suite  *s = suite_create("store_cluster_abuse");

    store_contract_abuse(s, "redis-cluster", tc_contract_open);
    return s;
}

static Suite *
cluster_suite(void)
{
    Suite  *s = suite_create("store_cluster");
    TCase  *tc = tcase_create("cluster");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_url);
    tcase_add_test(tc, test_crc16_keyslot);
    tcase_add_test(tc, test_decision_keys_one_slot);
    tcase_add_test(tc, test_decisions_every_node);
    tcase_add_test(tc, test_blobs);
    tcase_add_test(tc, test_reshard_under_load);
    tcase_add_test(tc, test_failover);   /* last: it kills a primary */
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    if (daemon_tmp() == NULL) {
        fprintf(stderr, "check_store_cluster: run under tests/with-redis.sh\n");
        return EXIT_FAILURE;
    }
    tc_parent = getpid();
    atexit(tc_cleanup);
    if (tc_cluster_start() < 0) {
        fprintf(stderr, "check_store_cluster: cannot start the cluster\n");
        return EXIT_FAILURE;
    }
    return daemon_run_suites(abuse_suite(), cluster_suite(), NULL) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

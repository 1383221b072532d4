/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dnsfront.c - nsd on a free loopback port with generated zones, and the
 * test's forwarding "resolver" in front of it (see dnsfront.h).
 */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dnsfront.h"

#define NSD_BIN        "/usr/sbin/nsd"
#define NSD_TRIES      5                 /* ports tried when one is taken */
#define NSD_START_MS   10000
#define FRONT_NAMES    1024              /* query names remembered */
#define FRONT_NAME_MAX 256

struct dnsfront {
    int     fd;                          /* clients' queries */
    int     up;                          /* connected to nsd */
    int     port;
    const char *const *drop, *const *servfail;
    pthread_t thread;
    atomic_int stop;
    pthread_mutex_t lock;
    size_t  nnames;
    char  (*names)[FRONT_NAME_MAX];
};

static char nsd_dir[400];

/* nsd_conf - nsd.conf for zones in dir on port into buf */
static void
nsd_conf(char *buf, size_t len, const char *dir, int port, const struct dnsfront_zone *zones,
         size_t n)
{
    size_t  used;

    used = (size_t) snprintf(buf, len,
                             "server:\n"
                             "    ip-address: 127.0.0.1\n"
                             "    port: %d\n"
                             "    do-ip6: no\n"
                             "    server-count: 1\n"
                             "    username: \"\"\n"
                             "    chroot: \"\"\n"
                             "    zonesdir: \"%s\"\n"
                             "    database: \"\"\n"
                             "    zonelistfile: \"%s/zone.list\"\n"
                             "    pidfile: \"%s/nsd.pid\"\n"
                             "    xfrdfile: \"%s/xfrd.state\"\n"
                             "    xfrdir: \"%s\"\n"
                             "    verbosity: 1\n"
                             "    hide-version: yes\n"
                             "remote-control:\n"
                             "    control-enable: no\n",
                             port, dir, dir, dir, dir, dir);
    for (size_t i = 0; i < n && used < len; i++)
        used += (size_t) snprintf(buf + used, len - used,
                                  "zone:\n    name: %s\n    zonefile: \"%s.zone\"\n",
                                  zones[i].name, zones[i].name);
    ck_assert_msg(used < len, "nsd.conf does not fit");
}

/* dns_query - a query for name type SOA with id into buf; its length */
static size_t
dns_query(unsigned char *buf, size_t len, const char *name, unsigned id)
{
    size_t  n = 12;
    const char *p = name;

    memset(buf, 0, 12);
    buf[0] = (unsigned char) (id >> 8);
    buf[1] = (unsigned char) id;
    buf[5] = 1;                          /* QDCOUNT */
    while (*p != '\0' && n + 2 + strlen(p) + 5 < len) {
        size_t  l = strcspn(p, ".");

        buf[n++] = (unsigned char) l;
        memcpy(buf + n, p, l);
        n += l;
        p += l;
        if (*p == '.')
            p++;
    }
    buf[n++] = 0;
    buf[n++] = 0;
    buf[n++] = 6;                        /* SOA */
    buf[n++] = 0;
    buf[n++] = 1;                        /* IN */
    return n;
}

/* nsd_answers - 1 if something on port answers a query for zone within ms */
static int
nsd_answers(int port, const char *zone, int ms)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t) port)};
    unsigned char q[300], a[1500];
    struct pollfd pfd;
    size_t  n = dns_query(q, sizeof(q), zone, 0x4242);
    int     fd = socket(AF_INET, SOCK_DGRAM, 0), ok = 0;

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0)
        return 0;
    if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0 && send(fd, q, n, 0) == (ssize_t) n) {
        pfd.fd = fd;
        pfd.events = POLLIN;
        ok = poll(&pfd, 1, ms) == 1 && recv(fd, a, sizeof(a), 0) >= 12 && a[0] == 0x42;
    }
    close(fd);
    return ok;
}

/* nsd_spawn - fork and exec nsd -d -c conf with output to d->log */
static int
nsd_spawn(struct daemon *d, const char *conf)
{
    if ((d->pid = fork()) < 0) {
        d->pid = 0;
        return -1;
    }
    if (d->pid == 0) {
        int     fd = open(d->log, O_WRONLY | O_CREAT | O_APPEND, 0644);

        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
        }
        execl(NSD_BIN, NSD_BIN, "-d", "-c", conf, (char *) NULL);
        _exit(127);
    }
    return 0;
}

/* nsd_start - see the header */
int
nsd_start(struct daemon *d, const struct dnsfront_zone *zones, size_t n)
{
    char    path[700], conf[8192];
    int     status;

    memset(d, 0, sizeof(*d));
    snprintf(d->name, sizeof(d->name), "nsd");
    daemon_dir_new(nsd_dir, sizeof(nsd_dir), "nsd");
    snprintf(d->log, sizeof(d->log), "%s/nsd.log", nsd_dir);
    snprintf(d->conf, sizeof(d->conf), "%s/nsd.conf", nsd_dir);
    for (size_t i = 0; i < n; i++) {
        snprintf(path, sizeof(path), "%s/%s.zone", nsd_dir, zones[i].name);
        ck_assert_msg(daemon_write_file(path, zones[i].text) == 0, "cannot write %s", path);
    }
    for (int tries = 0; tries < NSD_TRIES; tries++) {
        if ((d->port = daemon_free_port()) < 0)
            return -1;
        nsd_conf(conf, sizeof(conf), nsd_dir, d->port, zones, n);
        ck_assert_msg(daemon_write_file(d->conf, conf) == 0, "cannot write %s", d->conf);
        if (nsd_spawn(d, d->conf) != 0)
            return -1;
        for (int waited = 0; waited < NSD_START_MS; waited += 50) {
            if (nsd_answers(d->port, zones[0].name, 50))
                return 0;
            daemon_sleep_ms(20);        /* refused at once: not listening yet */
            if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
                d->pid = 0;
                break;                   /* the port was taken, say: another */
            }
        }
        if (d->pid != 0)
            break;
    }
    daemon_log_print(d);
    if (d->pid != 0)
        daemon_wait(d, 0);
    return -1;
}

/* nsd_stop - see the header */
int
nsd_stop(struct daemon *d)
{
    int     rc = d->pid > 0 ? daemon_stop(d, 5000) : -1;

    if (rc != 0)
        daemon_log_print(d);
    daemon_dir_remove(nsd_dir);
    return rc;
}

/* qname_text - the question name of msg as lower-case dotted text; 0 or -1 */
static int
qname_text(const unsigned char *msg, size_t len, char *out, size_t outlen)
{
    size_t  p = 12, o = 0;

    while (p < len && msg[p] != 0) {
        size_t  l = msg[p++];

        if (l > 63 || p + l > len || o + l + 2 > outlen)
            return -1;
        if (o > 0)
            out[o++] = '.';
        for (size_t i = 0; i < l; i++) {
            unsigned char c = msg[p + i];

            out[o++] = (char) (c >= 'A' && c <= 'Z' ? c + 32 : c);
        }
        p += l;
    }
    out[o] = '\0';
    return p < len ? 0 : -1;
}

/* in_zone - name is zone or below it */
static int
in_zone(const char *name, const char *zone)
{
    size_t  n = strlen(name), z = strlen(zone);

    return n == z ? strcmp(name, zone) == 0
        : n > z && name[n - z - 1] == '.' && strcmp(name + n - z, zone) == 0;
}

/* in_list - name is in one of the zones of list (NULL-ended, or NULL) */
static int
in_list(const char *name, const char *const *list)
{
    for (size_t i = 0; list != NULL && list[i] != NULL; i++)
        if (in_zone(name, list[i]))
            return 1;
    return 0;
}

/* forward - send msg to nsd and relay its answer to the client at sa */
static void
forward(struct dnsfront *f, const unsigned char *msg, size_t len, const struct sockaddr *sa,
        socklen_t salen)
{
    unsigned char a[4096];
    struct pollfd pfd = {.fd = f->up, .events = POLLIN};
    ssize_t n;

    if (send(f->up, msg, len, 0) != (ssize_t) len)
        return;
    while (poll(&pfd, 1, 2000) == 1 && (n = recv(f->up, a, sizeof(a), 0)) >= 12) {
        if (a[0] == msg[0] && a[1] == msg[1]) {
            sendto(f->fd, a, (size_t) n, 0, sa, salen);
            return;
        }
    }
}

/* front_main - the front's thread: read, count, then drop, fail or forward */
static void *
front_main(void *arg)
{
    struct dnsfront *f = arg;
    struct pollfd pfd = {.fd = f->fd, .events = POLLIN};
    unsigned char msg[4096];
    char    name[FRONT_NAME_MAX];
    struct sockaddr_storage sa;
    socklen_t salen;
    ssize_t n;

    while (!atomic_load(&f->stop)) {
        if (poll(&pfd, 1, 50) != 1)
            continue;
        salen = sizeof(sa);
        n = recvfrom(f->fd, msg, sizeof(msg), 0, (struct sockaddr *) &sa, &salen);
        if (n < 12 || qname_text(msg, (size_t) n, name, sizeof(name)) != 0)
            continue;
        pthread_mutex_lock(&f->lock);
        if (f->nnames < FRONT_NAMES)
            memcpy(f->names[f->nnames++], name, sizeof(name));
        pthread_mutex_unlock(&f->lock);
        if (in_list(name, f->drop))
            continue;
        if (in_list(name, f->servfail)) {
            msg[2] = (unsigned char) (0x80 | (msg[2] & 0x79));      /* QR, opcode, RD */
            msg[3] = 0x80 | 2;                                     /* RA, SERVFAIL */
            memset(msg + 6, 0, 6);                                 /* no records */
            sendto(f->fd, msg, (size_t) n, 0, (struct sockaddr *) &sa, salen);
            continue;
        }
        forward(f, msg, (size_t) n, (struct sockaddr *) &sa, salen);
    }
    return NULL;
}

/* dnsfront_start - see the header */
struct dnsfront *
dnsfront_start(int nsd_port, const char *const *drop, const char *const *servfail)
{
    struct dnsfront *f = calloc(1, sizeof(*f));
    struct sockaddr_in up = {.sin_family = AF_INET, .sin_port = htons((uint16_t) nsd_port)};

    ck_assert_ptr_nonnull(f);
    f->names = calloc(FRONT_NAMES, sizeof(*f->names));
    ck_assert_ptr_nonnull(f->names);
    f->drop = drop;
    f->servfail = servfail;
    pthread_mutex_init(&f->lock, NULL);
    f->fd = daemon_bind_loopback(SOCK_DGRAM, &f->port);
    ck_assert_msg(f->fd >= 0, "front: no loopback UDP port");
    up.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    f->up = socket(AF_INET, SOCK_DGRAM, 0);
    ck_assert_msg(f->up >= 0 && connect(f->up, (struct sockaddr *) &up, sizeof(up)) == 0,
                  "front: cannot reach nsd: %s", strerror(errno));
    ck_assert_int_eq(pthread_create(&f->thread, NULL, front_main, f), 0);
    return f;
}

/* dnsfront_port - see the header */
int
dnsfront_port(const struct dnsfront *f)
{
    return f->port;
}

/* dnsfront_count - see the header */
unsigned
dnsfront_count(struct dnsfront *f, const char *zone)
{
    unsigned n = 0;

    pthread_mutex_lock(&f->lock);
    for (size_t i = 0; i < f->nnames; i++)
        n += zone == NULL || in_zone(f->names[i], zone);
    pthread_mutex_unlock(&f->lock);
    return n;
}

/* dnsfront_distinct - see the header */
unsigned
dnsfront_distinct(struct dnsfront *f, const char *zone)
{
    unsigned n = 0;

    pthread_mutex_lock(&f->lock);
    for (size_t i = 0; i < f->nnames; i++) {
        size_t  j;

        if (zone != NULL && !in_zone(f->names[i], zone))
            continue;
        for (j = 0; j < i && strcmp(f->names[j], f->names[i]) != 0; j++)
            ;
        n += j == i;
    }
    pthread_mutex_unlock(&f->lock);
    return n;
}

/* dnsfront_stop - see the header */
void
dnsfront_stop(struct dnsfront *f)
{
    if (f == NULL)
        return;
    atomic_store(&f->stop, 1);
    pthread_join(f->thread, NULL);
    close(f->fd);
    close(f->up);
    pthread_mutex_destroy(&f->lock);
    free(f->names);
    free(f);
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * store_redis_sentinel.c - Redis Sentinel for the Redis store's
 * connection layer: where the primary of a master name is, and a thread
 * that watches for it moving.
 *
 * The question: SENTINEL get-master-addr-by-name to each sentinel in
 * turn, starting with the one that answered last, each on a connection
 * of its own made for the question (AUTH first when the sentinels have a
 * password), within a share of the caller's deadline, so that one
 * sentinel that hangs cannot take all of it. A sentinel that refuses the
 * connection, errs or does not know the name is skipped.
 *
 * The watcher: one thread subscribes to +switch-master on one sentinel
 * (the next one when that connection fails) and calls the follow function
 * at once when a message names our master; it also calls it every
 * REDIS_SENTINEL_POLL_US (a switch it missed while reconnecting), and
 * soon after redis_sentinel_kick (a call failed on the primary: READONLY,
 * a reset). Kicks are folded into at most one follow per
 * REDIS_SENTINEL_KICK_US, so a failing primary under load costs a few
 * questions a second, not one per call. The subscription is read with
 * poll(2) and hiredis's reader, never with a socket timeout, which would
 * leave the context unusable; the same poll waits on a self-pipe, which
 * kicks and the stop write to.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "clock.h"
#include "store_redis.h"
#include "store_redis_sentinel.h"

#define REDIS_SENTINEL_SHARE_MIN_US 50000 /* the least time one sentinel gets */
#define REDIS_SENTINEL_RETRY_US     250000 /* a failed subscription is retried this late */

/* redis_sentinel_init - remember where the sentinels are; no I/O */
void
redis_sentinel_init(struct redis_sentinel *s, const struct store_redis_url *url,
                    const char *password, int timeout_ms)
{
    memset(s, 0, sizeof(*s));
    s->url = url;
    s->password = password != NULL ? password : "";
    s->timeout_ms = timeout_ms;
    atomic_init(&s->first, 0);
    atomic_init(&s->stop, 0);
    s->wake[0] = s->wake[1] = -1;
}

/* redis_sentinel_tv - us microseconds as a timeval */
static struct timeval
redis_sentinel_tv(int64_t us)
{
    struct timeval tv = {(time_t) (us / 1000000), (suseconds_t) (us % 1000000)};

    return tv;
}

/*
 * redis_sentinel_connect - a connection to sentinel k within us
 * microseconds, logged in if the sentinels have a password; NULL with err
 */
static redisContext *
redis_sentinel_connect(struct redis_sentinel *s, int k, int64_t us, char *err, size_t errlen)
{
    const struct store_redis_node *n = &s->url->sentinels[k];
    redisContext *c = redisConnectWithTimeout(n->host, n->port, redis_sentinel_tv(us));
    redisReply *r;

    if (c == NULL || c->err != 0) {
        snprintf(err, errlen, "sentinel %s:%d: %s", n->host, n->port,
                 c != NULL ? c->errstr : "out of memory");
        redisFree(c);
        return NULL;
    }
    if (redisSetTimeout(c, redis_sentinel_tv(us)) != REDIS_OK)
        goto fail;
    if (s->password[0] != 0) {
        r = redisCommand(c, "AUTH %s", s->password);
        if (r == NULL)
            goto fail;
        if (r->type == REDIS_REPLY_ERROR) {
            /* The reply names no password; it is the server's text. */
            snprintf(err, errlen, "sentinel %s:%d: AUTH: %s", n->host, n->port, r->str);
            freeReplyObject(r);
            redisFree(c);
            return NULL;
        }
        freeReplyObject(r);
    }
    return c;
fail:
    snprintf(err, errlen, "sentinel %s:%d: %s", n->host, n->port,
             c->errstr[0] ? c->errstr : "timeout");
    redisFree(c);
    return NULL;
}

/* redis_sentinel_ask_one - the question to sentinel k within us; 0 or -1 with err */
static int
redis_sentinel_ask_one(struct redis_sentinel *s, int k, int64_t us, char *addr,
                       size_t addrlen, int *port, char *err, size_t errlen)
{
    const struct store_redis_node *n = &s->url->sentinels[k];
    redisContext *c = redis_sentinel_connect(s, k, us, err, errlen);
    redisReply *r;
    int     rc = -1;
    long    v;
    char   *end;

    if (c == NULL)
        return -1;
    r = redisCommand(c, "SENTINEL get-master-addr-by-name %s", s->url->master);
    if (r == NULL)
        snprintf(err, errlen, "sentinel %s:%d: %s", n->host, n->port,
                 c->errstr[0] ? c->errstr : "timeout");
    else if (r->type == REDIS_REPLY_NIL)
        snprintf(err, errlen, "sentinel %s:%d: does not know master %s", n->host, n->port,
                 s->url->master);
    else if (r->type == REDIS_REPLY_ERROR)
        snprintf(err, errlen, "sentinel %s:%d: %s", n->host, n->port, r->str);
    else if (r->type != REDIS_REPLY_ARRAY || r->elements != 2
             || r->element[0]->type != REDIS_REPLY_STRING
             || r->element[1]->type != REDIS_REPLY_STRING
             || r->element[0]->len == 0 || r->element[0]->len >= addrlen
             || (errno = 0, v = strtol(r->element[1]->str, &end, 10), *end != 0)
             || errno != 0 || v < 1 || v > 65535)
        snprintf(err, errlen, "sentinel %s:%d: unexpected answer for master %s", n->host,
                 n->port, s->url->master);
    else {
        memcpy(addr, r->element[0]->str, r->element[0]->len + 1);
        *port = (int) v;
        rc = 0;
    }
    freeReplyObject(r);
    redisFree(c);
    return rc;
}

/* redis_sentinel_ask - each sentinel in turn, from the last that answered */
int
redis_sentinel_ask(struct redis_sentinel *s, int64_t deadline, char *addr, size_t addrlen,
                   int *port, char *err, size_t errlen)
{
    int     n = s->url->nsentinels, first = atomic_load(&s->first);
    char    why[STORE_REDIS_HOST_MAX + 128] = "no sentinel";

    for (int i = 0; i < n; i++) {
        int     k = (first + i) % n;
        int64_t left = deadline - clock_mono_us(), share = left / (n - i);

        if (left < 1000) {
            snprintf(err, errlen, "sentinels of %s: timeout (last: %s)", s->url->master, why);
            return -1;
        }
        if (share < REDIS_SENTINEL_SHARE_MIN_US)
            share = left < REDIS_SENTINEL_SHARE_MIN_US ? left : REDIS_SENTINEL_SHARE_MIN_US;
        if (redis_sentinel_ask_one(s, k, share, addr, addrlen, port, why, sizeof(why)) == 0) {
            atomic_store(&s->first, k);
            return 0;
        }
    }
    snprintf(err, errlen, "no sentinel of %s answered (last: %s)", s->url->master, why);
    return -1;
}

/* ---- the watcher ---- */

/* redis_sentinel_subscribe - SUBSCRIBE +switch-master on the next sentinel that takes it */
static redisContext *
redis_sentinel_subscribe(struct redis_sentinel *s)
{
    int     n = s->url->nsentinels, first = atomic_load(&s->first);
    int64_t us = (int64_t) s->timeout_ms * 1000;
    char    err[STORE_REDIS_HOST_MAX + 128];

    for (int i = 0; i < n; i++) {
        redisContext *c = redis_sentinel_connect(s, (first + i) % n, us, err, sizeof(err));
        redisReply *r;

        if (c == NULL)
            continue;
        r = redisCommand(c, "SUBSCRIBE +switch-master");
        if (r != NULL && r->type == REDIS_REPLY_ARRAY) {
            freeReplyObject(r);
            return c;
        }
        freeReplyObject(r);
        redisFree(c);
    }
    return NULL;
}

/*
 * redis_sentinel_news - read what arrived on the subscription: 1 if a
 * +switch-master message names our master, 0 if none, -1 if the
 * connection failed
 */
static int
redis_sentinel_news(struct redis_sentinel *s, redisContext *c)
{
    size_t  mlen = strlen(s->url->master);
    void   *p;
    int     news = 0;

    if (redisBufferRead(c) != REDIS_OK)
        return -1;
    for (;;) {
        redisReply *r;

        p = NULL;
        if (redisGetReplyFromReader(c, &p) != REDIS_OK)
            return -1;
        if ((r = p) == NULL)
            return news;
        /* ["message", "+switch-master", "NAME OLDIP OLDPORT NEWIP NEWPORT"] */
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 3
            && r->element[2]->type == REDIS_REPLY_STRING
            && r->element[2]->len > mlen && r->element[2]->str[mlen] == ' '
            && memcmp(r->element[2]->str, s->url->master, mlen) == 0)
            news = 1;
        freeReplyObject(r);
    }
}

/* redis_sentinel_drain - empty the self-pipe */
static void
redis_sentinel_drain(int fd)
{
    char    buf[64];

    while (read(fd, buf, sizeof(buf)) > 0)
        continue;
}

/* redis_sentinel_run - the watcher: subscribe, follow on news, every second, on kicks */
static void *
redis_sentinel_run(void *arg)
{
    struct redis_sentinel *s = arg;
    redisContext *sub = NULL;
    int64_t now = clock_mono_us(), next_sub = now, next_poll = now, next_kick = now;
    int     kicked = 0;

    while (!atomic_load(&s->stop)) {
        struct pollfd fds[2] = {{s->wake[0], POLLIN, 0}, {-1, POLLIN, 0}};
        int64_t due;

        now = clock_mono_us();
        if (sub == NULL && now >= next_sub) {
            if ((sub = redis_sentinel_subscribe(s)) == NULL)
                next_sub = now + REDIS_SENTINEL_RETRY_US;
            next_poll = now;             /* a switch may have gone by unheard */
        }
        now = clock_mono_us();
        if (kicked && now >= next_kick) {
            s->follow(s->arg);
            kicked = 0;
            next_kick = clock_mono_us() + REDIS_SENTINEL_KICK_US;
            next_poll = clock_mono_us() + REDIS_SENTINEL_POLL_US;
        } else if (now >= next_poll) {
            s->follow(s->arg);
            next_poll = clock_mono_us() + REDIS_SENTINEL_POLL_US;
        }

        due = next_poll;
        if (kicked && next_kick < due)
            due = next_kick;
        if (sub == NULL && next_sub < due)
            due = next_sub;
        if (sub != NULL)
            fds[1].fd = sub->fd;
        now = clock_mono_us();
        if (poll(fds, 2, due > now ? (int) ((due - now + 999) / 1000) : 0) < 0
            && errno != EINTR)
            break;
        if (fds[0].revents & POLLIN) {
            redis_sentinel_drain(s->wake[0]);
            kicked = 1;
        }
        if (sub != NULL && (fds[1].revents & (POLLIN | POLLERR | POLLHUP))) {
            int     news = redis_sentinel_news(s, sub);

            if (news < 0) {
                redisFree(sub);
                sub = NULL;
                atomic_store(&s->first, (atomic_load(&s->first) + 1) % s->url->nsentinels);
            } else if (news > 0) {
                kicked = 1;
                next_kick = 0;           /* the sentinels say so: at once */
            }
        }
    }
    redisFree(sub);
    return NULL;
}

/* redis_sentinel_start - the self-pipe, then the watcher with every signal blocked */
int
redis_sentinel_start(struct redis_sentinel *s, redis_sentinel_follow_fn follow, void *arg,
                     char *err, size_t errlen)
{
    sigset_t all, old;
    int     rc;

    s->follow = follow;
    s->arg = arg;
    if (pipe(s->wake) < 0) {
        snprintf(err, errlen, "sentinel watcher: pipe: %s", strerror(errno));
        s->wake[0] = s->wake[1] = -1;
        return -1;
    }
    for (int i = 0; i < 2; i++) {
        fcntl(s->wake[i], F_SETFL, fcntl(s->wake[i], F_GETFL) | O_NONBLOCK);
        fcntl(s->wake[i], F_SETFD, FD_CLOEXEC);
    }
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(&s->thread, NULL, redis_sentinel_run, s);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        snprintf(err, errlen, "sentinel watcher: %s", strerror(rc));
        return -1;
    }
    s->started = 1;
    return 0;
}

/* redis_sentinel_kick - one byte into the self-pipe; a full pipe already says it */
void
redis_sentinel_kick(struct redis_sentinel *s)
{
    if (s->wake[1] >= 0 && write(s->wake[1], "k", 1) < 0) {
        /* EAGAIN: the watcher has kicks enough to read */
    }
}

/* redis_sentinel_stop - set stop, wake the watcher, join it, close the pipe */
void
redis_sentinel_stop(struct redis_sentinel *s)
{
    if (s->started) {
        atomic_store(&s->stop, 1);
        redis_sentinel_kick(s);
        pthread_join(s->thread, NULL);
        s->started = 0;
    }
    for (int i = 0; i < 2; i++)
        if (s->wake[i] >= 0) {
            close(s->wake[i]);
            s->wake[i] = -1;
        }
}

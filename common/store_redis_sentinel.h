/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * store_redis_sentinel.h - where Redis Sentinel says a primary is
 * (store_redis_sentinel.c), private to store_redis_conn.c: one question
 * to the sentinels in turn, and a watching thread that hears of a
 * failover (+switch-master) or notices it by asking every second, and
 * then calls the connection layer's follow function. It knows nothing of
 * the pool or the breaker; verifying the answer (ROLE) is the caller's.
 *
 * Thread-safety: redis_sentinel_ask and redis_sentinel_kick from any
 * thread; start and stop from one thread, at open and at free.
 */
#ifndef REDGREY_STORE_REDIS_SENTINEL_H
#define REDGREY_STORE_REDIS_SENTINEL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "store_redis.h"

#define REDIS_SENTINEL_POLL_US  1000000  /* asked this often even without news */
#define REDIS_SENTINEL_KICK_US  100000   /* forced follows at most this often */

/*
 * redis_sentinel_follow_fn - ask the sentinels and move to the primary
 * they name, if that is another server and a primary. Runs on the
 * watching thread.
 */
typedef void (*redis_sentinel_follow_fn)(void *arg);

struct redis_sentinel {
    const struct store_redis_url *url;   /* the sentinels, the master name; outlives us */
    const char *password;                /* AUTH to the sentinels, "" = none; outlives us */
    int     timeout_ms;                  /* budget of one question to all of them */
    atomic_int first;                    /* the sentinel asked first: the last that answered */
    redis_sentinel_follow_fn follow;     /* the watcher's callback */
    void   *arg;                         /* its argument */
    pthread_t thread;                    /* the watcher */
    int     started;                     /* thread is running */
    int     wake[2];                     /* self-pipe: kick (a byte) and stop */
    atomic_int stop;                     /* the watcher must return */
};

/*
 * redis_sentinel_init - set up s for url's sentinels (password "" or
 * NULL: none); no I/O, no thread. url and password must outlive s.
 */
void    redis_sentinel_init(struct redis_sentinel *s, const struct store_redis_url *url,
                            const char *password, int timeout_ms);

/*
 * redis_sentinel_ask - ask the sentinels in turn, before deadline, for
 * the primary of url->master: 0 with its address as they give it (an IP
 * address, or a name if they announce names) in addr[addrlen] and its
 * port in *port, or -1 with err (every sentinel down, or none knows the
 * name). A sentinel that fails is skipped; each gets a share of the time
 * left. A sentinel's host name is looked up by hiredis, without a
 * deadline: for the prober and the watcher, never for a decision.
 */
int     redis_sentinel_ask(struct redis_sentinel *s, int64_t deadline, char *addr,
                           size_t addrlen, int *port, char *err, size_t errlen);

/*
 * redis_sentinel_start - start the watcher, which calls follow(arg, ...)
 * as redis_sentinel_follow_fn says. 0, or -1 with err.
 */
int     redis_sentinel_start(struct redis_sentinel *s, redis_sentinel_follow_fn follow,
                             void *arg, char *err, size_t errlen);

/* redis_sentinel_kick - a call failed on the primary: follow soon; never blocks */
void    redis_sentinel_kick(struct redis_sentinel *s);

/* redis_sentinel_stop - stop and join the watcher; one never started is a no-op */
void    redis_sentinel_stop(struct redis_sentinel *s);

#endif

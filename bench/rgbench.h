/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * rgbench.h - the load driver's internal interface: options, the
 * workload generator (rgbench_workload.c) and the statistics and report
 * (rgbench_stats.c). rgbench.c owns the threads and the sessions.
 *
 * Thread-safety: the generator is pure (any thread); the counters and
 * latency arrays belong to one thread each until the threads are joined,
 * then rgb_stats_merge() reads them all from the main thread.
 */
#ifndef REDGREY_RGBENCH_H
#define REDGREY_RGBENCH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define RGB_RCPTS_MAX  100
#define RGB_ADDR_MAX   96                /* generated addresses are short */

enum rgb_workload {
    RGB_WORKLOAD_NEW,
    RGB_WORKLOAD_RETRY,
    RGB_WORKLOAD_AWL,
    RGB_WORKLOAD_MIXED,
};

/* What one message is, in the measured phase. */
enum rgb_category {
    RGB_CAT_NEW,                         /* unknown triplets */
    RGB_CAT_RETRY,                       /* preloaded, replayed after the delay */
    RGB_CAT_AWL,                         /* new triplets of a whitelisted pair */
    RGB_CAT_MAX,
};

/* Which form of a message: as preloaded, or as measured (awl differs). */
enum rgb_variant {
    RGB_VARIANT_PRELOAD,
    RGB_VARIANT_MEASURE,
};

/* The answer the workload expects at RCPT. */
enum rgb_expect {
    RGB_EXPECT_NOTHING,                  /* null milter: anything goes */
    RGB_EXPECT_GREYLIST,                 /* tempfail or a 4xx reply */
    RGB_EXPECT_PASS,                     /* continue */
};

/* RCPT answers other than 'y' replies (those are counted by code). */
enum rgb_reply {
    RGB_REPLY_CONTINUE,
    RGB_REPLY_TEMPFAIL,
    RGB_REPLY_REJECT,
    RGB_REPLY_ACCEPT,
    RGB_REPLY_DISCARD,
    RGB_REPLY_NOREPLY,
    RGB_REPLY_OTHER,
    RGB_REPLY_MAX,
};

struct rgb_options {
    const char *spec;                    /* the filter's socket */
    enum rgb_workload workload;
    int     conns;                       /* concurrent connections (threads) */
    uint64_t msgs;                       /* measured messages, in all */
    int     seconds;                     /* cap on each phase */
    double  rate;                        /* -L: msgs/s in all; 0 = closed loop */
    int     rcpts;                       /* recipients per message */
    int     v6_percent;                  /* share of IPv6 clients */
    uint64_t seed;                       /* every identity derives from it */
    int     delay;                       /* the filter's delay, seconds */
    size_t  body_bytes;                  /* body chunk, if the filter wants it */
    int     timeout_ms;                  /* bound on every protocol wait */
    pid_t   milter_pid;                  /* sampled in /proc, or 0 */
    pid_t   aux_pid;                     /* e.g. redis-server, or 0 */
    const char *label;                   /* copied into the report */
    int     floor;                       /* -X: null milter, nothing expected */
    char  **domains;                     /* -S: sender domains, or NULL */
    size_t  ndomains;
    uint64_t clients;                    /* -I: distinct client addresses; 0 = many */
    int     kv;                          /* -k: one key=value line */
};

/* One generated message: everything the dialogue sends. */
struct rgb_message {
    enum rgb_category category;
    enum rgb_expect expect;
    char    family;                      /* '4' or '6' */
    uint16_t port;                       /* client port */
    char    addr[64];                    /* client address, text */
    char    host[RGB_ADDR_MAX];          /* client name, also the HELO */
    char    queue_id[32];                /* macro i */
    char    sender[RGB_ADDR_MAX + 2];    /* <local@domain> */
    char    sender_addr[RGB_ADDR_MAX];   /* local@domain */
    int     nrcpts;
    char    rcpt[RGB_RCPTS_MAX][RGB_ADDR_MAX + 2];  /* <local@domain> */
    char    rcpt_addr[RGB_RCPTS_MAX][RGB_ADDR_MAX]; /* local@domain */
};

/* Counters of one thread (or, merged, of the run). */
struct rgb_counts {
    uint64_t msgs;                       /* sessions completed */
    uint64_t decisions;                  /* RCPT answers read */
    uint64_t eoms;                       /* messages taken to end of message */
    uint64_t headers;                    /* headers the filter added */
    uint64_t unexpected;                 /* RCPT answers the workload did not expect */
    uint64_t errors;                     /* sessions ended by a protocol error */
    uint64_t reply[RGB_REPLY_MAX];       /* RCPT answers by kind */
    uint64_t code[1000];                 /* RCPT 'y' replies by SMTP code */
    uint64_t cat[RGB_CAT_MAX];           /* measured messages by category */
};

/* What one thread leaves for the merge. */
struct rgb_tally {
    struct rgb_counts counts;            /* measured phase */
    struct rgb_counts preload;           /* preload phases */
    uint32_t *rcpt_ns;                   /* latency per measured decision */
    size_t  nrcpt_ns;
    uint32_t *eom_ns;                    /* latency per measured end of message */
    size_t  neom_ns;
};

/* A process as /proc shows it at one moment. */
struct rgb_proc {
    double  cpu;                         /* utime + stime, seconds, all threads */
    long    rss_kb;                      /* VmRSS, mapped files included */
    long    hwm_kb;                      /* VmHWM, the peak of VmRSS */
    long    anon_kb;                     /* RssAnon: the process's own memory */
};

/* The run's clocks and samples. */
struct rgb_result {
    double  seconds;                     /* measured phase, wall clock */
    double  preload_seconds;             /* preload phases, without the wait */
    double  driver_cpu;                  /* this process during the measured phase */
    struct rgb_proc milter_before, milter_after;
    struct rgb_proc aux_before, aux_after;
};

/* A latency distribution, nanoseconds. */
struct rgb_latency {
    size_t  n;
    uint32_t p50, p99, max;
};

struct rgb_stats {
    struct rgb_counts measured;
    struct rgb_counts preload;
    struct rgb_latency rcpt;
    struct rgb_latency eom;
};

/*
 * rgb_domains_load - the sender domains of -S (one per line, # comments)
 * into o; 0, or -1 with a message on stderr
 */
int     rgb_domains_load(struct rgb_options *o, const char *path);

/* rgb_workload_parse - "new", "retry", "awl", "mixed"; 0, or -1 for junk */
int     rgb_workload_parse(const char *name, enum rgb_workload *out);

/* rgb_workload_name - the name of a workload */
const char *rgb_workload_name(enum rgb_workload w);

/* rgb_category - the category of message k of thread t under the workload */
enum rgb_category rgb_category(const struct rgb_options *o, int t, uint64_t k);

/*
 * rgb_message_make - message k of thread t, in the given variant: the same
 * arguments always give the same message. Sets expect from the category.
 */
void    rgb_message_make(const struct rgb_options *o, int t, uint64_t k,
                         enum rgb_category cat, enum rgb_variant v,
                         struct rgb_message *out);

/* rgb_proc_sample - read pid's CPU and memory from /proc; 0, or -1 if gone */
int     rgb_proc_sample(pid_t pid, struct rgb_proc *out);

/*
 * rgb_stats_merge - add up n threads' counters, merge and sort their
 * latency arrays (sorting them in place). 0, or -1 out of memory.
 */
int     rgb_stats_merge(struct rgb_tally *const *tallies, int n, struct rgb_stats *out);

/* rgb_report - the human report, or with o->kv one key=value line */
void    rgb_report(const struct rgb_options *o, const struct rgb_result *res,
                   const struct rgb_stats *st, FILE *fp);

#endif

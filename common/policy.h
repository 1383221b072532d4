/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * policy.h - the greylisting decision for one triplet, as a pure function.
 *
 * Inputs: the parameters, the current time, the triplet's grey record and
 * the (client key, sender domain) AWL record as the store holds them (NULL
 * when absent). Output: the verdict, and the records as the store must
 * write them back. No I/O, no clock, no logging: backends run it inside
 * their atomic section (the LMDB write transaction); the Redis Lua script
 * implements the same table and the store contract tests hold both to it.
 *
 *   AWL present, count >= threshold (> 0)  PASS  awl      AWL ttl renewed
 *   grey absent or expired                 TEMPFAIL new  first_seen = now,
 *                                                        lives retry_window
 *   pending, now - first_seen < delay      TEMPFAIL early   unchanged
 *   pending, now - first_seen >= delay     PASS  retry    passed = now, lives
 *                                                        pass_ttl; AWL +1 if
 *                                                        last count >= 1h ago
 *   passed                                 PASS  known    lives pass_ttl again
 *
 * In learn mode (params.learn) what would be a tempfail (new, early) is
 * PASS learn instead, and the triplet is stored as passed (passed = now,
 * lives pass_ttl, the AWL counts as after a retry), so that switching to
 * enforce does not delay the correspondents seen while learning.
 *
 * Abuse limits and the outbound pairs (policy_decide_facts) come first,
 * before the table above, and are off with their parameters at 0:
 *
 *   trap_hit (greytrap_ttl > 0)            TEMPFAIL greytrap  trap lives
 *                                                        greytrap_ttl
 *   client key trapped (greytrap_ttl > 0)  TEMPFAIL greytrap  nothing written
 *   outbound pair recorded                 PASS  outbound  nothing written
 *   (the table above; at "grey absent", with max_new_per_client > 0:)
 *   counter live, count >= max             TEMPFAIL rate-limit  nothing written
 *   else                                   TEMPFAIL new, counter + 1 (a new
 *                                          counter starts a fixed window of
 *                                          POLICY_RATE_WINDOW s)
 *
 * A trap beats everything, the AWL and passed triplets included: while a
 * client key is trapped none of its triplets pass. Learn mode ignores
 * traps and the cap (it never tempfails); it counts nothing.
 *
 * Thread-safety: pure, any thread.
 */
#ifndef REDGREY_POLICY_H
#define REDGREY_POLICY_H

#include <stdint.h>

#define POLICY_AWL_COUNT_INTERVAL 3600   /* at most one AWL count per hour */
#define POLICY_RATE_WINDOW 3600          /* the new-triplet cap's fixed window */

struct policy_params {
    int64_t delay;                       /* seconds before a retry passes */
    int64_t retry_window;                /* lifetime of a pending entry */
    int64_t pass_ttl;                    /* lifetime of a passed entry, from last use */
    int64_t awl_threshold;               /* passes for the AWL; 0 = off */
    int64_t awl_ttl;                     /* lifetime of an AWL entry, from last use */
    int64_t learn;                       /* 1: learn mode, never a tempfail */
    int64_t max_new_per_client;          /* new triplets per client key per window; 0 = off */
    int64_t greytrap_ttl;                /* lifetime of a trap; 0 = traps off */
    int64_t outbound_ttl;                /* lifetime of an outbound pair; 0 = off */
};

struct grey_record {
    int64_t first_seen;                  /* time of the first attempt */
    int64_t passed;                      /* time of the first pass; 0 = pending */
    int64_t expires;                     /* absolute expiry time */
};

struct awl_record {
    int64_t count;                       /* counted passes */
    int64_t last_count;                  /* time of the last counted pass */
    int64_t expires;                     /* absolute expiry time */
};

/* A client key's new-triplet counter (max_new_per_client). */
struct rate_record {
    int64_t count;                       /* new triplets in this window */
    int64_t expires;                     /* end of the window */
};

/* What policy_decide_facts() knows: the stored records and this call's facts. */
struct policy_facts {
    const struct grey_record *grey;      /* NULL: absent */
    const struct awl_record *awl;        /* NULL: absent */
    const struct rate_record *rate;      /* NULL: absent */
    int64_t trapped_until;               /* the client key's trap expiry; 0: none */
    int     outbound;                    /* 1: a local user wrote to this sender */
    int     trap_hit;                    /* 1: this recipient is a greytrap */
};

enum policy_action {
    POLICY_PASS,
    POLICY_TEMPFAIL,
};

enum policy_reason {
    POLICY_REASON_NEW,                   /* first sighting */
    POLICY_REASON_EARLY,                 /* retried before delay */
    POLICY_REASON_RETRY,                 /* retried after delay: passes now */
    POLICY_REASON_KNOWN,                 /* passed before */
    POLICY_REASON_AWL,                   /* auto-whitelisted pair */
    POLICY_REASON_LEARN,                 /* learn mode: would be new or early, passes */
    POLICY_REASON_GREYTRAP,              /* client key trapped (or trapping now) */
    POLICY_REASON_RATE,                  /* new-triplet cap reached: nothing stored */
    POLICY_REASON_OUTBOUND,              /* a local user wrote to this sender */
};

struct policy_verdict {
    enum policy_action action;
    enum policy_reason reason;
    int64_t now;                         /* the time the decision used */
    int64_t delayed;                     /* RETRY: seconds since first_seen */
    int     grey_write;                  /* 1: store grey (else leave as is) */
    struct grey_record grey;             /* new grey record when grey_write */
    int     awl_write;                   /* 1: store awl */
    struct awl_record awl;               /* new AWL record when awl_write */
    int     rate_write;                  /* 1: store rate */
    struct rate_record rate;             /* new counter when rate_write */
    int     trap_write;                  /* 1: trap the client key until trap_expires */
    int64_t trap_expires;
};

/*
 * policy_decide - decide on one triplet. grey/awl are the stored records,
 * or NULL when absent; a record whose expires <= now counts as absent.
 */
void    policy_decide(const struct policy_params *p, int64_t now,
                      const struct grey_record *grey, const struct awl_record *awl,
                      struct policy_verdict *out);

/*
 * policy_decide_facts - decide with the abuse limits and outbound pairs
 * too (the rows above the table); records as for policy_decide()
 */
void    policy_decide_facts(const struct policy_params *p, int64_t now,
                            const struct policy_facts *f, struct policy_verdict *out);

/* policy_reason_name - "new", "early", "retry", "known", "awl", "learn",
 * "greytrap", "rate-limit", "outbound" */
const char *policy_reason_name(enum policy_reason reason);

#endif

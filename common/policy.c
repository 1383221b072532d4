/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * policy.c - the greylisting decision for one triplet, as a pure function.
 *
 * The whole decision is this table, checked top to bottom (policy.h):
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
 * Learn mode turns the two tempfails (new, early) into PASS learn, which
 * writes the triplet as passed and counts the AWL as a retry does.
 *
 * policy_decide_facts() puts the abuse limits and the outbound pairs in
 * front of it (policy.h): a greytrap hit or a live trap tempfails
 * (greytrap), a recorded outbound pair passes (outbound), and a first
 * sighting beyond max_new_per_client in the counter's window tempfails
 * (rate-limit) without storing anything.
 *
 * A record with expires <= now counts as absent. A first_seen in the
 * future (clock skew between MTAs) counts as early, never as a negative
 * delay. With awl_threshold = 0 the AWL is neither read nor written. The
 * records come from the store and may be anything, so all arithmetic
 * saturates instead of overflowing.
 *
 * No I/O, no clock, no logging: the store runs this inside its atomic
 * section, and the Redis Lua script implements the same table.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "policy.h"

/* policy_add - a + b, saturated to the int64_t range */
static int64_t
policy_add(int64_t a, int64_t b)
{
    if (b > 0 && a > INT64_MAX - b)
        return INT64_MAX;
    if (b < 0 && a < INT64_MIN - b)
        return INT64_MIN;
    return a + b;
}

/* policy_sub - a - b, saturated to the int64_t range */
static int64_t
policy_sub(int64_t a, int64_t b)
{
    if (b < 0 && a > INT64_MAX + b)
        return INT64_MAX;
    if (b > 0 && a < INT64_MIN + b)
        return INT64_MIN;
    return a - b;
}

/* policy_awl_count - the AWL record after a pass by retry */
static void
policy_awl_count(const struct policy_params *p, int64_t now,
                 const struct awl_record *awl, struct awl_record *out)
{
    /* At most one count per POLICY_AWL_COUNT_INTERVAL; skew never counts. */
    if (awl == NULL) {
        out->count = 1;
        out->last_count = now;
    } else if (policy_sub(now, awl->last_count) >= POLICY_AWL_COUNT_INTERVAL) {
        out->count = policy_add(awl->count, 1);
        out->last_count = now;
    } else {
        out->count = awl->count;
        out->last_count = awl->last_count;
    }
    out->expires = policy_add(now, p->awl_ttl);
}

/*
 * policy_learn - learn mode's verdict for a triplet that would be
 * tempfailed: PASS learn, stored as passed now, the AWL counted
 */
static void
policy_learn(const struct policy_params *p, int64_t now, int64_t first_seen,
             const struct awl_record *awl, struct policy_verdict *out)
{
    out->action = POLICY_PASS;
    out->reason = POLICY_REASON_LEARN;
    out->grey_write = 1;
    out->grey.first_seen = first_seen;
    out->grey.passed = now;
    out->grey.expires = policy_add(now, p->pass_ttl);
    if (p->awl_threshold > 0) {
        out->awl_write = 1;
        policy_awl_count(p, now, awl, &out->awl);
    }
}

/*
 * policy_abuse - the rows before the table: 1 with *out decided (trap,
 * outbound), else 0
 */
static int
policy_abuse(const struct policy_params *p, int64_t now, const struct policy_facts *f,
             struct policy_verdict *out)
{
    if (!p->learn && p->greytrap_ttl > 0 && (f->trap_hit || f->trapped_until > now)) {
        out->action = POLICY_TEMPFAIL;
        out->reason = POLICY_REASON_GREYTRAP;
        if (f->trap_hit) {
            out->trap_write = 1;
            out->trap_expires = policy_add(now, p->greytrap_ttl);
        }
        return 1;
    }
    if (p->outbound_ttl > 0 && f->outbound) {
        out->action = POLICY_PASS;
        out->reason = POLICY_REASON_OUTBOUND;
        return 1;
    }
    return 0;
}

/*
 * policy_cap - at a first sighting (not in learn mode): 1 if the cap is
 * reached (*out a tempfail rate-limit, nothing written), else 0 with the
 * counter's new value in *out
 */
static int
policy_cap(const struct policy_params *p, int64_t now, const struct rate_record *rate,
           struct policy_verdict *out)
{
    if (p->max_new_per_client <= 0)
        return 0;
    if (rate != NULL && rate->expires <= now)
        rate = NULL;
    if (rate != NULL && rate->count >= p->max_new_per_client) {
        out->action = POLICY_TEMPFAIL;
        out->reason = POLICY_REASON_RATE;
        return 1;
    }
    out->rate_write = 1;
    out->rate.count = rate != NULL ? policy_add(rate->count, 1) : 1;
    out->rate.expires = rate != NULL ? rate->expires : policy_add(now, POLICY_RATE_WINDOW);
    return 0;
}

/* policy_decide - one decision for one triplet; see the table above */
void
policy_decide(const struct policy_params *p, int64_t now,
              const struct grey_record *grey, const struct awl_record *awl,
              struct policy_verdict *out)
{
    struct policy_facts f;

    memset(&f, 0, sizeof(f));
    f.grey = grey;
    f.awl = awl;
    policy_decide_facts(p, now, &f, out);
}

/* policy_decide_facts - the abuse rows, then the table; see policy.h */
void
policy_decide_facts(const struct policy_params *p, int64_t now,
                    const struct policy_facts *f, struct policy_verdict *out)
{
    const struct grey_record *grey = f->grey;
    const struct awl_record *awl = f->awl;
    int64_t elapsed;

    memset(out, 0, sizeof(*out));
    out->now = now;
    if (policy_abuse(p, now, f, out))
        return;

    /* Expired records are absent; a disabled AWL is never looked at. */
    if (grey != NULL && grey->expires <= now)
        grey = NULL;
    if (p->awl_threshold <= 0 || (awl != NULL && awl->expires <= now))
        awl = NULL;

    if (awl != NULL && awl->count >= p->awl_threshold) {
        out->action = POLICY_PASS;
        out->reason = POLICY_REASON_AWL;
        out->awl_write = 1;
        out->awl = *awl;
        out->awl.expires = policy_add(now, p->awl_ttl);
        return;
    }

    if (grey == NULL && p->learn) {
        policy_learn(p, now, now, awl, out);
        return;
    }
    if (grey == NULL && policy_cap(p, now, f->rate, out))
        return;
    if (grey == NULL) {
        out->action = POLICY_TEMPFAIL;
        out->reason = POLICY_REASON_NEW;
        out->grey_write = 1;
        out->grey.first_seen = now;
        out->grey.passed = 0;
        out->grey.expires = policy_add(now, p->retry_window);
        return;
    }

    if (grey->passed != 0) {
        out->action = POLICY_PASS;
        out->reason = POLICY_REASON_KNOWN;
        out->grey_write = 1;
        out->grey = *grey;
        out->grey.expires = policy_add(now, p->pass_ttl);
        return;
    }

    /* Pending. A first_seen in the future gives elapsed < 0: early. */
    elapsed = policy_sub(now, grey->first_seen);
    if ((elapsed < 0 || elapsed < p->delay) && p->learn) {
        policy_learn(p, now, grey->first_seen, awl, out);
        return;
    }
    if (elapsed < 0 || elapsed < p->delay) {
        out->action = POLICY_TEMPFAIL;
        out->reason = POLICY_REASON_EARLY;
        return;
    }

    out->action = POLICY_PASS;
    out->reason = POLICY_REASON_RETRY;
    out->delayed = elapsed;
    out->grey_write = 1;
    out->grey.first_seen = grey->first_seen;
    out->grey.passed = now;
    out->grey.expires = policy_add(now, p->pass_ttl);
    if (p->awl_threshold > 0) {
        out->awl_write = 1;
        policy_awl_count(p, now, awl, &out->awl);
    }
}

/* policy_reason_name - the reason as it appears in the log line */
const char *
policy_reason_name(enum policy_reason reason)
{
    switch (reason) {
    case POLICY_REASON_NEW:
        return "new";
    case POLICY_REASON_EARLY:
        return "early";
    case POLICY_REASON_RETRY:
        return "retry";
    case POLICY_REASON_KNOWN:
        return "known";
    case POLICY_REASON_AWL:
        return "awl";
    case POLICY_REASON_LEARN:
        return "learn";
    case POLICY_REASON_GREYTRAP:
        return "greytrap";
    case POLICY_REASON_RATE:
        return "rate-limit";
    case POLICY_REASON_OUTBOUND:
        return "outbound";
    }
    return "unknown";
}

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

/* policy_decide - one decision for one triplet; see the table above */
void
policy_decide(const struct policy_params *p, int64_t now,
              const struct grey_record *grey, const struct awl_record *awl,
              struct policy_verdict *out)
{
    int64_t elapsed;

    memset(out, 0, sizeof(*out));
    out->now = now;

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
    }
    return "unknown";
}

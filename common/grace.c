/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * grace.c - grace periods by two reader counters: the userspace-RCU idea
 * in its simplest form, shared by the big-sender set (bigsender.c) and
 * the daemon's whitelists (milter/lists.c).
 *
 * A reader adds itself to readers[epoch & 1] BEFORE it loads the shared
 * pointer and removes itself from the same counter AFTER its last use of
 * what it loaded. The writer swaps the pointer first, then, twice: moves
 * the epoch on and waits until the counter of the old parity has been
 * seen at zero. So each counter is seen at zero at some moment after the
 * swap.
 *
 * Why that is enough. Every access is sequentially consistent (the C11
 * default), so all of them fall in one total order. A reader that holds
 * the old value loaded it before the swap, so its increment, which comes
 * before its load, is before the swap too, and its decrement is after
 * its last use. A counter is the number of increments minus the number of
 * decrements before a moment, and a reader only decrements the counter it
 * incremented; so a counter seen at zero after the swap means every
 * reader counted there before the swap has also left. Both counters seen
 * at zero after the swap: no reader of the old value is left, whichever
 * counter it picked (the epoch it read may be stale; that does not
 * matter). Nothing here depends on the epoch for safety.
 *
 * The epoch is for progress. Readers that start after a flip count in
 * the other counter, so the counter being waited for only drains: it
 * holds the brackets open at the flip, plus those that read the epoch
 * just before the flip and had not yet incremented -- a bounded number.
 * A steady stream of new readers therefore never starves the writer; the
 * wait is as long as the longest bracket in flight. Two writers waiting
 * at once only flip the epoch more often, which changes none of this.
 *
 * The counters are unsigned long: there cannot be more brackets in flight
 * than threads, so they never wrap.
 */
#include "config.h"

#include <sched.h>
#include <time.h>

#include "grace.h"

#define GRACE_SPINS 1000                 /* yields before the writer sleeps */

/* grace_init - epoch 0, no reader */
void
grace_init(struct grace *g)
{
    atomic_init(&g->epoch, 0);
    atomic_init(&g->readers[0], 0);
    atomic_init(&g->readers[1], 0);
}

/* grace_enter - count in under the current epoch's parity */
unsigned
grace_enter(struct grace *g)
{
    unsigned e = atomic_load(&g->epoch) & 1;

    atomic_fetch_add(&g->readers[e], 1);
    return e;
}

/* grace_leave - count out of the counter grace_enter picked */
void
grace_leave(struct grace *g, unsigned token)
{
    atomic_fetch_sub(&g->readers[token & 1], 1);
}

/* grace_wait_zero - until counter c has been seen at zero */
static void
grace_wait_zero(atomic_ulong *c)
{
    struct timespec ts = {0, 100 * 1000};

    for (unsigned i = 0; atomic_load(c) != 0; i++) {
        if (i < GRACE_SPINS)
            sched_yield();
        else
            nanosleep(&ts, NULL);
    }
}

/* grace_wait - flip the epoch and drain the old parity's counter, twice */
void
grace_wait(struct grace *g)
{
    for (int phase = 0; phase < 2; phase++) {
        unsigned old = atomic_fetch_add(&g->epoch, 1) & 1;

        grace_wait_zero(&g->readers[old]);
    }
}

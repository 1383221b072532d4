/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * grace.h - grace periods for one atomic pointer that lock-free readers
 * load while a writer swaps and frees it (an RCU-like scheme, see grace.c).
 *
 * A reader brackets its use of the pointer with grace_enter() and
 * grace_leave(); the writer swaps the pointer with atomic_exchange() and
 * then calls grace_wait(): once it returns, no reader still holds the old
 * value, which the writer may free. Readers never wait and never
 * allocate; the writer waits as long as the longest bracket in flight.
 *
 * A struct grace is zero at rest: static storage needs no initializer,
 * and other storage is set with grace_init().
 *
 * Thread-safety: grace_enter() and grace_leave() from any number of
 * threads at once; grace_wait() from any thread (callers that swap the
 * same pointer usually serialise their installs; grace_wait needs no
 * lock of its own). A bracket must not contain grace_wait() on the same
 * struct (it would wait for itself), and must not block.
 */
#ifndef REDGREY_GRACE_H
#define REDGREY_GRACE_H

#include <stdatomic.h>

/* The readers of one pointer: an epoch and a counter per epoch parity. */
struct grace {
    atomic_uint epoch;                   /* its parity picks the readers' counter */
    atomic_ulong readers[2];             /* brackets in flight, per parity */
};

/* grace_init - set g to rest (no reader, epoch 0); not while g is in use */
void    grace_init(struct grace *g);

/*
 * grace_enter - count a reader in, BEFORE it loads the pointer. Returns
 * the token to hand to grace_leave().
 */
unsigned grace_enter(struct grace *g);

/* grace_leave - count the reader of token out, AFTER its last use of what it loaded */
void    grace_leave(struct grace *g, unsigned token);

/*
 * grace_wait - return once every bracket that was open when the call
 * began is closed. Call it after swapping the pointer: then nobody holds
 * the old value. Yields at first, then sleeps 100 us per try.
 */
void    grace_wait(struct grace *g);

#endif

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sendernorm.h - the form of an envelope sender that greylisting keys on.
 *
 * Many senders put a per-message token in their envelope sender (VERP,
 * BATV, SRS), so every message, and with some senders every attempt, would
 * be a new triplet. sendernorm_key() maps such addresses to one stable key
 * per sender stream. It only ever shortens: the key is never longer than
 * the normalised address it came from. The raw address stays the caller's,
 * for logs; the key is for keying only.
 *
 * Thread-safety: pure function, any thread. No allocation.
 */
#ifndef REDGREY_SENDERNORM_H
#define REDGREY_SENDERNORM_H

#include <stddef.h>

/*
 * sendernorm_key - the keying form of norm_sender, an address already
 * passed through mailaddr_normalize() (domain lower-cased, <> stripped).
 * In this order, on the local part unless said otherwise:
 *   1. SRS collapses to the original sender: SRS0=HHH=TT=dom=local@fwd and
 *      SRS1=HHH=fwd==HHH=TT=dom=local@fwd2 (separator '=', '+' or '-'),
 *      and Microsoft 365's bounces+SRS=HHH=TT=dom=local@fwd, become
 *      local@dom (the domain changes too).
 *   2. BATV tags go: prvs=TAG=local, prvs=local=TAG (which side is the tag
 *      is decided by its shape), msprvs1=TAG=local, btv1==TAG==local.
 *      Steps 1 and 2 repeat (at most 4 times) for nested forms.
 *   3. "+extension" is dropped (a '+' in first position is kept).
 *   4. VERP tokens become '#', when the local part has more than one
 *      alphanumeric token: a run of hex tokens joined by '-' with at least
 *      16 hex digits and a digit (SES ids, UUIDs, ExactTarget job ids); a
 *      token of only digits of length >= 4; an all-hex token of length >= 8
 *      with a digit; an alphanumeric token of length >= 16 with a digit and
 *      a letter (base-32/64 ids); inside other tokens, digit runs >= 4.
 *   5. The local part is lower-cased.
 * A quoted local part only gets step 5. "" (the null sender), "junk:..."
 * and input longer than MAILADDR_MAX are copied unchanged; input without
 * '@' is only lower-cased. NULL is taken as "".
 * Returns the key's length, or -1 if out (outlen bytes) is too small; out
 * then holds as much as fits, NUL-terminated (nothing if outlen is 0).
 * out may be norm_sender itself.
 */
int     sendernorm_key(const char *norm_sender, char *out, size_t outlen);

#endif

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mailaddr.h - envelope addresses as the milter receives them, normalised.
 *
 * Input is whatever the MTA passed (with or without <>, any bytes); output
 * is a bounded, NUL-terminated string safe to log and to key on:
 *   - surrounding spaces, one pair of surrounding <> and the spaces inside
 *     them removed, and an RFC 5321 source route (<@a,@b:user@dom>) dropped;
 *     an unbalanced bracket ("<x", "x>") is dropped alone, the rest is the
 *     address;
 *   - the domain (after the last '@' outside a quoted local part, so
 *     "a@b"@x.org is in x.org) lower-cased (ASCII), the local part kept;
 *   - "<>" (or an empty or all-space argument) is the null sender:
 *     MAILADDR_NULL, ""; for a recipient it is junk;
 *   - junk -- a normalised address longer than MAILADDR_MAX, a control
 *     character (< 0x20, 0x7f) or NUL byte anywhere in raw, no '@' where
 *     one is required, an empty local part or domain ("@x", "user@"), an
 *     unclosed quote, a stray unquoted '<' or '>', a lone bracket, a
 *     source route with no mailbox or a second route after it ("@a:@b:x@y")
 *     -- is MAILADDR_JUNK, and the output is
 *     "junk:" followed by 16 hex digits of a hash of the raw bytes:
 *     bounded, stable across retries, never a crash.
 *
 * Thread-safety: pure functions, any thread. No allocation.
 */
#ifndef REDGREY_MAILADDR_H
#define REDGREY_MAILADDR_H

#include <stddef.h>

#define MAILADDR_MAX 320                 /* RFC 5321: 64 + 1 + 255 */

enum mailaddr_kind {
    MAILADDR_OK,                         /* a usable address */
    MAILADDR_NULL,                       /* the null sender <> */
    MAILADDR_JUNK,                       /* replaced by junk:HASH */
};

/* Flags for mailaddr_normalize. */
#define MAILADDR_SENDER   (1 << 0)       /* '@' required, <> allowed */
#define MAILADDR_RCPT     (1 << 1)       /* '@' optional (<postmaster>), <> is junk */

/*
 * mailaddr_normalize - normalise raw[0..rawlen) into out (at least
 * MAILADDR_MAX + 1 bytes). Returns the kind; out is always set. Sender
 * rules apply when flags has MAILADDR_SENDER, recipient rules otherwise.
 * An address that does not fit a smaller outlen is junk; below 22 bytes
 * even junk does not fit and out is "" (nothing written if outlen is 0).
 */
enum mailaddr_kind mailaddr_normalize(const char *raw, size_t rawlen, int flags,
                                      char *out, size_t outlen);

/* mailaddr_domain - the part after the last '@' of a normalised address, or "" */
const char *mailaddr_domain(const char *norm);

#endif

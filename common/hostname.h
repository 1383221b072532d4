/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * hostname.h - the one rule for a host or domain name.
 *
 * A name is one or more labels joined by '.', with at most one final '.'
 * (the root of a fully qualified name), where (RFC 1035 2.3.1, RFC 1123 2.1):
 *   - a label is 1..63 bytes of ASCII letters, digits, '-' and '_';
 *   - a label neither starts nor ends with '-' (a digit may start one,
 *     RFC 1123, so "3com.example" is a name and so is "192.0.2.1": a
 *     caller that must tell an address apart parses it first);
 *   - the name, without its final dot, is 1..253 bytes (255 on the wire).
 * Both cases are accepted; callers that key or compare fold with
 * ascii_lower. No IDNA: a byte >= 0x80 is never accepted (an A-label,
 * "xn--...", is an ordinary label). Nothing else is checked: callers that
 * need two labels (SPF identities) or a letter somewhere say so.
 *
 * Underscore is accepted. It is not in the host name grammar, but every
 * name redgrey checks is one it looks up or compares, not one it
 * registers: SPF walks include "_spf.example.com" style targets (RFC 8552
 * underscored names) as a matter of course, and misconfigured but real
 * MTAs announce HELO names with '_'. '_' is no metacharacter of a log
 * line, a header or a key, so accepting it costs nothing.
 *
 * Thread-safety: pure functions.
 */
#ifndef REDGREY_HOSTNAME_H
#define REDGREY_HOSTNAME_H

#include <stddef.h>

#define HOSTNAME_MAX       253           /* bytes, without the final dot */
#define HOSTNAME_LABEL_MAX 63            /* bytes in one label */

/* hostname_char - 1 if c may appear in a name (letter, digit, '-', '_', '.'), else 0 */
int     hostname_char(int c);

/*
 * hostname_check - NULL if name[0..len) is a name by the rule above,
 * else a short reason ("empty label", "label ends with '-'" ...) for a
 * message. name need not be NUL-terminated; a NUL inside is a bad
 * character.
 */
const char *hostname_check(const char *name, size_t len);

/* hostname_ok - 1 if the NUL-terminated name is a name, else 0 (NULL is not) */
int     hostname_ok(const char *name);

#endif

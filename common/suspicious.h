/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * suspicious.h - what makes a client look suspicious by its name
 * (greylist = suspicious): no verified reverse name, or a name
 * that looks like a dynamic address pool.
 *
 * A name is dynamic when it matches one of the patterns of a pattern set
 * (the dynamic_patterns file), or by the built-in rule: the name holds
 * the digits of the client's IPv4 address -- its four octets as four
 * consecutive numbers of the name, in either order ("203-0-113-7.pool",
 * "7.113.0.203.dsl"), or as twelve zero-padded digits ("203000113007")
 * or eight hex digits ("cb007107.example").
 *
 * The pattern file: one pattern per line, '#' starts a comment, blank
 * lines, a UTF-8 byte order mark and CRLF line ends are ignored. A
 * pattern with '*' (any run of characters) or '?' (one character) is a
 * glob against the whole name; any other pattern matches anywhere in it.
 * Matching ignores ASCII case and a final dot of the name. A pattern is
 * at most SUSPICIOUS_PATTERN_MAX visible ASCII characters; a set holds
 * at most SUSPICIOUS_PATTERNS_MAX. A bad line fails the load with
 * "FILE:LINE: reason".
 *
 * Thread-safety: a loaded set is read-only, for any number of threads;
 * the functions on names are pure.
 */
#ifndef REDGREY_SUSPICIOUS_H
#define REDGREY_SUSPICIOUS_H

#include <stddef.h>

#include "ipaddr.h"

#define SUSPICIOUS_PATTERN_MAX  255
#define SUSPICIOUS_PATTERNS_MAX 10000

struct suspicious_patterns;

/*
 * suspicious_patterns_parse - a set from text (NULL: empty), named name
 * in errors. Returns it, or NULL with "NAME:LINE: reason" in err.
 */
struct suspicious_patterns *suspicious_patterns_parse(const char *text, const char *name,
                                                      char *err, size_t errlen);

/*
 * suspicious_patterns_load - a set from the file at path (NULL or "": an
 * empty set). Returns it, or NULL with the reason in err.
 */
struct suspicious_patterns *suspicious_patterns_load(const char *path, char *err,
                                                     size_t errlen);

/* suspicious_patterns_free - release p; NULL is fine */
void    suspicious_patterns_free(struct suspicious_patterns *p);

/* suspicious_patterns_count - patterns in p (0 for NULL) */
size_t  suspicious_patterns_count(const struct suspicious_patterns *p);

/* suspicious_glob - 1 if name matches pattern (* and ?, ASCII case ignored), else 0 */
int     suspicious_glob(const char *pattern, const char *name);

/* suspicious_name_has_ip - 1 if name holds ip's digits (the built-in rule), else 0 */
int     suspicious_name_has_ip(const char *name, const struct ipaddr *ip);

/*
 * suspicious_name_dynamic - 1 if name looks dynamic: a pattern of p
 * (NULL: none) or the built-in rule on ip (NULL: not applied); 0 for a
 * NULL or empty name
 */
int     suspicious_name_dynamic(const struct suspicious_patterns *p, const char *name,
                                const struct ipaddr *ip);

/*
 * suspicious_no_rdns - 1 if the MTA says the client has no verified
 * reverse name: Postfix's {client_name} is "unknown" (or an address in
 * brackets, as Sendmail writes it), or Sendmail's {client_resolve} is
 * set and not "OK". 0 if name is NULL (the MTA did not say: no claim).
 */
int     suspicious_no_rdns(const char *name, const char *resolve);

/*
 * suspicious_verified_name - name if the MTA verified it (as
 * suspicious_no_rdns says it did, and not empty), else NULL
 */
const char *suspicious_verified_name(const char *name, const char *resolve);

#endif

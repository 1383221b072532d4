/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * spf_record.h - a strict RFC 7208 syntax check of one SPF record, made
 * before libspf2 is allowed to compile it.
 *
 * Why: Debian 12's libspf2 1.2.10-7.2 has the macro-parsing integer
 * underflow of ZDI-23-1472 / CVE-2023-42118 (fixed upstream in pull
 * request #44, never released). SPF_c_parse_macro() starts a string
 * fragment after each %{...} with "room left minus the 4-byte fragment
 * header"; once a term's compiled data has grown to 508..511 of its 511
 * bytes, that subtraction wraps, the room check no longer holds, and the
 * literal that follows is copied past the compile buffer on the stack
 * ("*** stack smashing detected ***", checked on this machine with 127
 * copies of %{d} and a literal). Anyone who publishes a TXT record can
 * send that through redgrey.
 *
 * The check stops every such record, by bounding what one term can
 * compile to. In libspf2 a term's data is: an optional 4-byte CIDR block,
 * 4 bytes per %{...} (which takes at least 4 bytes of source), and one
 * string fragment (4 + length, rounded up to 4) before, between and after
 * them, whose text is at most 1.5 times its source ("%-" becomes "%20").
 * For a term value of n bytes with v macros that is at most
 * 1.5 (n - 4v) + 7 (v + 1) + 4v + 4 = 1.5 n + 5 v + 11 bytes; with
 * n <= SPF_RECORD_MAX_SPEC (253) and v <= SPF_RECORD_MAX_MACROS (16) it
 * is at most 471, well below the 508 where the wrap starts.
 *
 * Beyond that bound the check is RFC 7208 section 12, strictly: the
 * version, terms separated by spaces, the eight mechanisms with their
 * arguments (ip4/ip6 networks, CIDR lengths, domain-specs ending in a
 * top label or a macro), modifiers (redirect= and exp= at most once),
 * macro-strings (letters s l o d i p h v everywhere, c r t only in exp=;
 * 1 to 3 digits with a value of 1..128; the r transformer; delimiters
 * . - + , / _ =; the escapes %% %_ %-). Records and term counts are
 * bounded too. Anything else is rejected, which for SPF means permerror.
 * libspf2 then still applies its own, narrower rules (it refuses CIDR /0
 * and the ',' and '/' delimiters, for instance): that only ever turns a
 * record we pass into a permerror, never the other way round.
 *
 * Pure: no I/O, no allocation, no global state. Thread-safety: any thread.
 */
#ifndef REDGREY_SPF_RECORD_H
#define REDGREY_SPF_RECORD_H

#include <stddef.h>

#define SPF_RECORD_MAX_LEN    2048       /* bytes of a whole record */
#define SPF_RECORD_MAX_TERMS  64         /* directives and modifiers; libspf2's
                                          * 511 bytes hold at most 63 ip4: */
#define SPF_RECORD_MAX_SPEC   253        /* bytes after "name:" or "name=" */
#define SPF_RECORD_MAX_MACROS 16         /* %{...} in one term */
#define SPF_RECORD_MAX_DIGITS 3          /* digits of a macro transformer */
#define SPF_RECORD_MAX_RHS    128        /* largest transformer value */

/* Where and why a record failed. */
struct spf_record_error {
    size_t  offset;                      /* byte of the record at fault */
    const char *reason;                  /* static text, "unknown macro letter" */
};

/*
 * spf_record_is_spf - 1 if text[0..len) is an SPF record by RFC 7208
 * 4.5: "v=spf1" in any case, then a space or the end; else 0.
 */
int     spf_record_is_spf(const char *text, size_t len);

/*
 * spf_record_check - 0 if text[0..len) is an SPF record that passes every
 * rule above, else -1 with the first problem in *err (err may be NULL).
 * Any byte is allowed in text (a NUL is simply an invalid character).
 */
int     spf_record_check(const char *text, size_t len, struct spf_record_error *err);

#endif

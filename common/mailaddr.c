/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mailaddr.c - normalise envelope addresses before they are keyed or logged.
 *
 * The MTA hands us bytes, not addresses: anything may arrive, and the same
 * sender must map to the same string on every retry. So each input gets
 * exactly one of three outcomes -- a normalised address, the null sender,
 * or "junk:HASH" -- by the fixed sequence of steps in mailaddr_normalize().
 * Junk is never an error: it is keyed like any address, so a broken client
 * is greylisted like everyone else, and its output is short and printable.
 *
 * This is not an RFC 5321 validator: unusual but harmless bytes (spaces in
 * a local part, 8-bit UTF-8) are kept; only what would make a key unbounded
 * or a log line unsafe, or what leaves no address at all, becomes junk.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "ascii.h"
#include "mailaddr.h"
#include "siphash.h"

/* The fixed SipHash key of junk digests, "mailaddr-junk-v1": not a secret. */
static const uint8_t mailaddr_junk_key[16] = {
    0x6d, 0x61, 0x69, 0x6c, 0x61, 0x64, 0x64, 0x72,
    0x2d, 0x6a, 0x75, 0x6e, 0x6b, 0x2d, 0x76, 0x31,
};

/* mailaddr_junk - write "junk:" and 16 hex digits of the raw bytes' hash */
static enum mailaddr_kind
mailaddr_junk(const char *raw, size_t rawlen, char *out, size_t outlen)
{
    uint64_t h = siphash24(mailaddr_junk_key, raw, rawlen);

    /* "junk:" + 16 + NUL; a buffer too small for that gets "" (if any). */
    if (outlen >= 22)
        snprintf(out, outlen, "junk:%016" PRIx64, h);
    else if (outlen > 0)
        out[0] = 0;
    return MAILADDR_JUNK;
}

/*
 * mailaddr_find_at - the last '@' in [p, e) that is outside a quoted
 * string, or NULL. *bad is set when a quoted string is left unclosed or
 * an unquoted '<' or '>' remains (no address contains one). Inside quotes
 * a backslash escapes the next byte (RFC 5321 quoted-pair).
 */
static const char *
mailaddr_find_at(const char *p, const char *e, int *bad)
{
    const char *at = NULL;
    int     quoted = 0;

    *bad = 0;
    for (; p < e; p++) {
        if (quoted && *p == '\\' && p + 1 < e)
            p++;
        else if (*p == '"')
            quoted = !quoted;
        else if (!quoted && *p == '@')
            at = p;
        else if (!quoted && (*p == '<' || *p == '>'))
            *bad = 1;
    }
    if (quoted)
        *bad = 1;
    return at;
}

/* mailaddr_trim - drop leading and trailing spaces from [*p, *e) */
static void
mailaddr_trim(const char **p, const char **e)
{
    while (*p < *e && **p == ' ')
        (*p)++;
    while (*e > *p && (*e)[-1] == ' ')
        (*e)--;
}

/* mailaddr_normalize - raw envelope argument to normalised address */
enum mailaddr_kind
mailaddr_normalize(const char *raw, size_t rawlen, int flags,
                   char *out, size_t outlen)
{
    int     sender = (flags & MAILADDR_SENDER) != 0;
    const char *p, *e, *at;
    int     open_l, close_r, bad;
    size_t  len;

    if (raw == NULL) {
        raw = "";
        rawlen = 0;
    }

    /*
     * A control byte or NUL anywhere makes the whole argument junk: it
     * cannot be logged as is and no real address contains one. Checking
     * the raw bytes first means no later step ever sees one.
     */
    for (size_t i = 0; i < rawlen; i++) {
        unsigned char c = (unsigned char) raw[i];

        if (c < 0x20 || c == 0x7f)
            return mailaddr_junk(raw, rawlen, out, outlen);
    }

    /*
     * Spaces around, then one '<' at the start and one '>' at the end,
     * each on its own: "<x" and "x>" lose their one bracket (the text
     * inside is the address), but an unbalanced bracket around nothing is
     * junk, because only "<>" and an empty argument spell the null sender.
     */
    p = raw;
    e = raw + rawlen;
    mailaddr_trim(&p, &e);
    open_l = p < e && *p == '<';
    if (open_l)
        p++;
    close_r = p < e && e[-1] == '>';
    if (close_r)
        e--;
    mailaddr_trim(&p, &e);
    if (p == e) {
        if (open_l != close_r || !sender)
            return mailaddr_junk(raw, rawlen, out, outlen);
        if (outlen > 0)
            out[0] = 0;
        return MAILADDR_NULL;
    }

    /*
     * A source route "@a,@b:" before the mailbox is dropped (RFC 5321
     * 4.1.2), and so are spaces after it. A mailbox that still starts
     * with '@' ("@a:@b:x@y", "@a:@y") is junk: kept, it would read as a
     * route the next time, and the normalised form must normalise to
     * itself (found by tests/fuzz/fuzz_mailaddr).
     */
    if (*p == '@') {
        const char *colon = memchr(p, ':', (size_t) (e - p));

        if (colon == NULL || colon + 1 == e)
            return mailaddr_junk(raw, rawlen, out, outlen);
        p = colon + 1;
        mailaddr_trim(&p, &e);
        if (p == e || *p == '@')
            return mailaddr_junk(raw, rawlen, out, outlen);
    }

    len = (size_t) (e - p);
    if (len > MAILADDR_MAX || len + 1 > outlen)
        return mailaddr_junk(raw, rawlen, out, outlen);

    /*
     * The domain starts after the last '@' outside quotes, so "a@b"@x.org
     * has the domain x.org and the local part "a@b". A sender needs one;
     * a recipient may be a bare local part (<postmaster>). An '@' with
     * nothing before or after it leaves no mailbox or no domain: junk,
     * and so is an unclosed quote or a stray unquoted bracket ("<<a@b>>").
     */
    at = mailaddr_find_at(p, e, &bad);
    if (bad)
        return mailaddr_junk(raw, rawlen, out, outlen);
    if (at == NULL) {
        if (sender)
            return mailaddr_junk(raw, rawlen, out, outlen);
        at = e;
    } else if (at == p || at + 1 == e) {
        return mailaddr_junk(raw, rawlen, out, outlen);
    }

    /* Copy; lower-case the domain in ASCII only (no locale, 8-bit kept). */
    memcpy(out, p, len);
    ascii_lower_n(out + (at - p), (size_t) (e - at));
    out[len] = 0;
    return MAILADDR_OK;
}

/* mailaddr_domain - the domain of a normalised address, or "" */
const char *
mailaddr_domain(const char *norm)
{
    const char *at;
    int     bad;

    if (norm == NULL)
        return "";
    at = mailaddr_find_at(norm, norm + strlen(norm), &bad);
    return at != NULL ? at + 1 : "";
}

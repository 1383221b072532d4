/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sendernorm.c - collapse per-message envelope senders to one keying form.
 *
 * The rules come from what greylisters learned the hard way: sqlgrey's
 * de-VERP (SRS collapse, hex and digit runs), postgrey's BATV handling
 * (the tag's position is guessed from its shape) and its "+extension"
 * strip. Every rule works on a copy in a fixed buffer and only shortens
 * it, so the result always fits where the input did. Characters are
 * classified in ASCII (ascii.h): the locale must not change a key, and a
 * byte >= 0x80 is simply "not alphanumeric".
 */
#include "config.h"

#include <string.h>

#include "ascii.h"
#include "hostname.h"
#include "mailaddr.h"
#include "sendernorm.h"

#define SN_BUF (MAILADDR_MAX + 1)

/* How many times SRS and BATV unwrapping may repeat on one address. */
#define SN_UNWRAP_MAX 4

/* Shape limits of the tokens that SRS and BATV put in front of the local part. */
#define SN_SRS_HASH_MAX 32               /* libsrs2 uses 4; allow long ones */
#define SN_TAG_MIN 6                     /* a BATV tag: 6..16 alphanumerics */
#define SN_TAG_MAX 16

/* sn_prefix - length of prefix if s starts with it (ASCII case ignored), else 0 */
static size_t
sn_prefix(const char *s, const char *prefix)
{
    size_t  n = strlen(prefix);

    return ascii_ncasecmp(s, prefix, n) == 0 ? n : 0;
}

/* sn_span - length of the leading run of s whose bytes satisfy ok() */
static size_t
sn_span(const char *s, int (*ok)(int))
{
    size_t  n = 0;

    while (s[n] != '\0' && ok((unsigned char) s[n]))
        n++;
    return n;
}

/* sn_hashch - a character of an SRS hash (base64 without padding) */
static int
sn_hashch(int c)
{
    return ascii_isalnum(c) || c == '+' || c == '/';
}

/*
 * sn_srs0_body - parse "HHH=TT=domain=local" (the part after "SRS0=").
 * On success point *dom and *domlen at the domain, *loc at the local part,
 * and return 1; on any other shape return 0.
 */
static int
sn_srs0_body(const char *s, const char **dom, size_t *domlen, const char **loc)
{
    size_t  n;

    n = sn_span(s, sn_hashch);
    if (n == 0 || n > SN_SRS_HASH_MAX || s[n] != '=')
        return 0;
    s += n + 1;
    /* The timestamp is two base-32 characters. */
    if (sn_span(s, ascii_isalnum) != 2 || s[2] != '=')
        return 0;
    s += 3;
    n = sn_span(s, hostname_char);
    if (s[n] != '=' || hostname_check(s, n) != NULL || memchr(s, '.', n) == NULL)
        return 0;
    *dom = s;
    *domlen = n;
    s += n + 1;
    if (*s == '\0')
        return 0;
    *loc = s;
    return 1;
}

/*
 * sn_srs - if local is an SRS address, replace local and domain by the
 * original sender's and return 1; else leave both alone and return 0.
 */
static int
sn_srs(char *local, char *domain)
{
    const char *body = NULL;
    const char *dom;
    const char *loc;
    size_t  n, domlen;

    if ((n = sn_prefix(local, "srs0")) != 0 && local[n] != '\0' && strchr("=+-", local[n])) {
        body = local + n + 1;
    } else if ((n = sn_prefix(local, "bounces+srs=")) != 0) {
        /* Microsoft 365 forwarding: bounces+SRS=HHH=TT=domain=local. */
        body = local + n;
    } else if ((n = sn_prefix(local, "srs1")) != 0 && local[n] != '\0'
               && strchr("=+-", local[n])) {
        /*
         * SRS1=HHH=first.forwarder==HHH=TT=domain=local: skip our
         * forwarder's hash and the first forwarder's domain, then the
         * separator the SRS0 form used, and parse the rest as SRS0.
         */
        const char *s = local + n + 1;

        n = sn_span(s, sn_hashch);
        if (n == 0 || n > SN_SRS_HASH_MAX || s[n] != '=')
            return 0;
        s += n + 1;
        n = sn_span(s, hostname_char);
        if (n == 0 || s[n] != '=' || s[n + 1] == '\0' || strchr("=+-", s[n + 1]) == NULL)
            return 0;
        body = s + n + 2;
    }
    if (body == NULL || !sn_srs0_body(body, &dom, &domlen, &loc))
        return 0;
    /* domain and local are separate buffers; loc points into local. */
    memcpy(domain, dom, domlen);
    domain[domlen] = '\0';
    memmove(local, loc, strlen(loc) + 1);
    return 1;
}

/*
 * sn_tag_shape - how much s[0..len) looks like a BATV tag: 2 for the
 * draft's KDDDSSSSSS (4 digits, 6 hex) or 8..10 hex with a digit (the
 * Cisco form), 1 for 6..16 alphanumerics with a digit, else 0.
 */
static int
sn_tag_shape(const char *s, size_t len)
{
    size_t  i, digits = 0, hex = 0, alnum = 0;

    for (i = 0; i < len; i++) {
        int     c = (unsigned char) s[i];

        digits += ascii_isdigit(c);
        hex += ascii_isxdigit(c);
        alnum += ascii_isalnum(c);
    }
    if (alnum != len || digits == 0 || len < SN_TAG_MIN || len > SN_TAG_MAX)
        return 0;
    if (len == 10 && sn_span(s, ascii_isdigit) >= 4 && hex == len)
        return 2;
    if (len >= 8 && len <= 10 && hex == len)
        return 2;
    return 1;
}

/*
 * sn_batv - if local carries a BATV tag, remove it and return 1; else
 * leave it alone and return 0. A local part left empty is not a change.
 */
static int
sn_batv(char *local)
{
    const char *rest;
    const char *a, *b, *eq;
    size_t  n, alen, blen;
    int     sa, sb;

    if ((n = sn_prefix(local, "btv1==")) != 0) {
        /* btv1==TAG==local */
        rest = local + n;
        eq = strstr(rest, "==");
        if (eq == NULL || eq == rest || (size_t) (eq - rest) > SN_TAG_MAX
            || sn_span(rest, ascii_isalnum) != (size_t) (eq - rest) || eq[2] == '\0')
            return 0;
        memmove(local, eq + 2, strlen(eq + 2) + 1);
        return 1;
    }
    if ((n = sn_prefix(local, "prvs=")) == 0 && (n = sn_prefix(local, "msprvs1=")) == 0)
        return 0;

    /*
     * prvs=A=B: the draft puts the tag first, some signers put it last.
     * Whichever side looks more like a tag is the tag; on a tie the
     * draft's order wins; if neither looks like one, this is not BATV.
     */
    a = local + n;
    eq = strchr(a, '=');
    if (eq == NULL || eq == a || eq[1] == '\0')
        return 0;
    alen = (size_t) (eq - a);
    b = eq + 1;
    blen = strlen(b);
    sa = sn_tag_shape(a, alen);
    sb = sn_tag_shape(b, blen);
    if (sa == 0 && sb == 0)
        return 0;
    if (sa >= sb) {
        memmove(local, b, blen + 1);
    } else {
        memmove(local, a, alen);
        local[alen] = '\0';
    }
    return 1;
}

/* sn_plus - drop "+extension" from local (not a '+' in first position) */
static void
sn_plus(char *local)
{
    char   *p = strchr(local, '+');

    if (p != NULL && p != local)
        *p = '\0';
}

/*
 * sn_hexrun - length of the run at s of all-hex tokens joined by single
 * '-' (stopping before a token that is not all hex), if it has at least
 * two tokens, 16 hex digits and a digit; else 0.
 */
static size_t
sn_hexrun(const char *s)
{
    size_t  i = 0, end = 0, tokens = 0, hexdigits = 0;
    int     digit = 0;

    for (;;) {
        size_t  n = sn_span(s + i, ascii_isxdigit);

        if (n == 0 || ascii_isalnum((unsigned char) s[i + n]))
            break;
        for (size_t k = i; k < i + n; k++)
            digit |= ascii_isdigit((unsigned char) s[k]);
        tokens++;
        hexdigits += n;
        end = i + n;
        if (s[end] != '-')
            break;
        i = end + 1;
    }
    if (tokens >= 2 && hexdigits >= 16 && digit)
        return end;
    return 0;
}

/* sn_token_is_id - whether the alphanumeric token s[0..len) is a per-message id */
static int
sn_token_is_id(const char *s, size_t len)
{
    size_t  digits = 0, hex = 0;

    for (size_t i = 0; i < len; i++) {
        digits += ascii_isdigit((unsigned char) s[i]);
        hex += ascii_isxdigit((unsigned char) s[i]);
    }
    if (digits == len && len >= 4)
        return 1;
    if (hex == len && len >= 8 && digits > 0)
        return 1;
    return len >= 16 && digits > 0 && digits < len;
}

/*
 * sn_verp - replace per-message tokens of local by '#' (see the header).
 * A local part that is one alphanumeric token (jane1984, 123456 at a
 * webmail that numbers its users) is somebody's mailbox, not a VERP
 * address, and is left alone.
 */
static void
sn_verp(char *local)
{
    char    tmp[SN_BUF];
    size_t  i = 0, o = 0, n;

    if (local[sn_span(local, ascii_isalnum)] == '\0')
        return;
    while (local[i] != '\0') {
        if (!ascii_isalnum((unsigned char) local[i])) {
            tmp[o++] = local[i++];
            continue;
        }
        if ((n = sn_hexrun(local + i)) != 0) {
            tmp[o++] = '#';
            i += n;
            continue;
        }
        n = sn_span(local + i, ascii_isalnum);
        if (sn_token_is_id(local + i, n)) {
            tmp[o++] = '#';
            i += n;
            continue;
        }
        /* Keep the token, but not its long digit runs. */
        for (size_t end = i + n; i < end;) {
            size_t  d = sn_span(local + i, ascii_isdigit);

            if (d > end - i)
                d = end - i;
            if (d >= 4) {
                tmp[o++] = '#';
                i += d;
            } else if (d > 0) {
                memcpy(tmp + o, local + i, d);
                o += d;
                i += d;
            } else {
                tmp[o++] = local[i++];
            }
        }
    }
    tmp[o] = '\0';
    memcpy(local, tmp, o + 1);
}

/* sn_copy - copy s into out as far as it fits; return strlen(s) or -1 if cut */
static int
sn_copy(const char *s, char *out, size_t outlen)
{
    size_t  n = strlen(s);

    if (outlen == 0)
        return -1;
    if (n >= outlen) {
        memmove(out, s, outlen - 1);
        out[outlen - 1] = '\0';
        return -1;
    }
    memmove(out, s, n + 1);
    return (int) n;
}

/* sendernorm_key - see sendernorm.h */
int
sendernorm_key(const char *norm_sender, char *out, size_t outlen)
{
    char    local[SN_BUF];
    char    domain[SN_BUF];
    char    key[SN_BUF];
    const char *at;
    size_t  len;

    if (norm_sender == NULL)
        norm_sender = "";
    len = strnlen(norm_sender, SN_BUF);

    /* Nothing to learn from the null sender, junk, or what is not ours. */
    if (len == 0 || len > MAILADDR_MAX || sn_prefix(norm_sender, "junk:") != 0)
        return sn_copy(norm_sender, out, outlen);
    memcpy(key, norm_sender, len + 1);
    if ((at = strrchr(key, '@')) == NULL) {
        ascii_lower(key);
        return sn_copy(key, out, outlen);
    }
    memcpy(local, key, (size_t) (at - key));
    local[at - key] = '\0';
    memcpy(domain, at + 1, strlen(at + 1) + 1);

    if (local[0] != '"') {
        for (int pass = 0; pass < SN_UNWRAP_MAX; pass++)
            if (!sn_srs(local, domain) && !sn_batv(local))
                break;
        sn_plus(local);
        sn_verp(local);
    }
    ascii_lower(local);
    ascii_lower(domain);

    /*
     * Every step above only shortened local or domain, so this fits;
     * the check is for the reader and for the next rule someone adds.
     */
    size_t  ll = strlen(local), dl = strlen(domain);

    if (ll + 1 + dl >= sizeof(key))
        return sn_copy(norm_sender, out, outlen);
    memcpy(key, local, ll);
    key[ll] = '@';
    memcpy(key + ll + 1, domain, dl + 1);
    return sn_copy(key, out, outlen);
}

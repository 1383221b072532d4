/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * logesc.c - the one escaper of untrusted text for log lines and error
 * messages (the rule is in logesc.h). Addresses, HELO and host names,
 * macro values, DNS text and lines of configuration and whitelist files
 * all pass through here before they are logged.
 */
#include "config.h"

#include <stddef.h>
#include <string.h>

#include "logesc.h"

/* logesc_plain - 1 if byte c is copied as is (space too when quoted) */
static int
logesc_plain(unsigned char c, int quoted)
{
    if (c == ' ')
        return quoted;
    return c > 0x20 && c < 0x7f && strchr("=<>\"'\\", c) == NULL;
}

/* logesc_need - output bytes of src[0..len) escaped whole */
static size_t
logesc_need(const unsigned char *src, size_t len, int quoted)
{
    size_t  need = 0;

    for (size_t i = 0; i < len; i++)
        need += logesc_plain(src[i], quoted) ? 1 : 4;
    return need;
}

/* logesc_units - write whole units of src[0..len) while they fit in room; bytes written */
static size_t
logesc_units(const unsigned char *src, size_t len, int quoted, char *out, size_t room)
{
    static const char hex[] = "0123456789abcdef";
    size_t  n = 0;

    for (size_t i = 0; i < len; i++) {
        if (logesc_plain(src[i], quoted)) {
            if (n + 1 > room)
                break;
            out[n++] = (char) src[i];
        } else {
            if (n + 4 > room)
                break;
            out[n++] = '\\';
            out[n++] = 'x';
            out[n++] = hex[src[i] >> 4];
            out[n++] = hex[src[i] & 0xf];
        }
    }
    return n;
}

/* logesc - escape src[0..len) into out, bounded, cut with "..." */
char   *
logesc(const char *src, size_t len, char *out, size_t outlen)
{
    const unsigned char *s = (const unsigned char *) src;
    size_t  n, room = outlen - 1;

    if (out == NULL || outlen == 0)
        return out;
    if (s == NULL)
        len = 0;
    if (logesc_need(s, len, 0) <= room) {
        n = logesc_units(s, len, 0, out, room);
    } else {
        n = logesc_units(s, len, 0, out, room >= 3 ? room - 3 : 0);
        for (int i = 0; i < 3 && n < room; i++)
            out[n++] = '.';
    }
    out[n] = '\0';
    return out;
}

/* logesc_str - logesc of a NUL-terminated string */
char   *
logesc_str(const char *s, char *out, size_t outlen)
{
    return logesc(s, s != NULL ? strlen(s) : 0, out, outlen);
}

/* logesc_quote - "escaped" (space kept) with "..." after it when cut */
char   *
logesc_quote(const char *s, size_t max, char *out, size_t outlen)
{
    const unsigned char *u = (const unsigned char *) s;
    size_t  len, n = 0;
    int     cut;

    if (out == NULL || outlen == 0)
        return out;
    if (outlen < 6) {
        out[0] = '\0';
        return out;
    }
    if (u == NULL)
        u = (const unsigned char *) "";
    len = strnlen((const char *) u, max);
    cut = u[len] != '\0';

    /* Room for the two quotes and NUL, and for "..." too when cut. */
    if (!cut && logesc_need(u, len, 1) + 3 > outlen)
        cut = 1;
    out[n++] = '"';
    n += logesc_units(u, len, 1, out + n, outlen - (cut ? 6 : 3));
    out[n++] = '"';
    if (cut) {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = '\0';
    return out;
}

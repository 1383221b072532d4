/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dnsbl_sites.c - parse and print the dnsbl_sites list (postscreen's
 * syntax, see dnsbl_sites.h), match A record values against its filters,
 * and build the reversed-address query names.
 *
 * The parser is strict: every item is checked whole, and the first bad
 * one is named in the error with its position and the reason. A filter
 * is compiled to one 256-bit set per octet, so matching is four bit tests.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "ascii.h"
#include "dnsbl_sites.h"
#include "logesc.h"

/* How much of a bad item an error message quotes. */
#define DNSBL_ERR_QUOTE 64

#define DNSBL_SEP " \t\r\n,"

/* dnsbl_err - "item N "text": what" (or just what for item 0) into err */
static void
dnsbl_err(char *err, size_t errlen, size_t item, const char *text, size_t textlen,
          const char *what)
{
    char    cut[DNSBL_ERR_QUOTE + 1], shown[LOGESC_QUOTE_SIZE(DNSBL_ERR_QUOTE)];
    size_t  n = textlen < DNSBL_ERR_QUOTE ? textlen : DNSBL_ERR_QUOTE;

    if (err == NULL || errlen == 0)
        return;
    if (text == NULL) {
        snprintf(err, errlen, "%s", what);
        return;
    }
    memcpy(cut, text, n);
    cut[n] = '\0';
    logesc_quote(cut, textlen > n ? n - 1 : n, shown, sizeof(shown));
    snprintf(err, errlen, "item %zu %s: %s", item, shown, what);
}

/* filter_number - 1 to 3 digits at *p, at most 255; advances *p. -1 if not. */
static int
filter_number(const char **p)
{
    int     v = 0, n = 0;

    while (n < 4 && ascii_isdigit((unsigned char) **p)) {
        v = v * 10 + (**p - '0');
        (*p)++;
        n++;
    }
    return n == 0 || n > 3 || v > 255 ? -1 : v;
}

/* filter_set - allow values lo..hi in one octet's set */
static void
filter_set(uint8_t set[32], int lo, int hi)
{
    for (int v = lo; v <= hi; v++)
        set[v / 8] |= (uint8_t) (1u << (v % 8));
}

/*
 * filter_octet - one octet pattern at *p (a number, or [n;a..b;...]) into
 * set; advances *p past it. Returns NULL or the reason it is bad.
 */
static const char *
filter_octet(const char **p, uint8_t set[32])
{
    int     lo, hi;

    if (**p != '[') {
        if ((lo = filter_number(p)) < 0)
            return "an octet is not a number 0..255 or a [pattern]";
        filter_set(set, lo, lo);
        return NULL;
    }
    (*p)++;
    for (;;) {
        if ((lo = filter_number(p)) < 0)
            return "a [pattern] element is not a number 0..255";
        hi = lo;
        if ((*p)[0] == '.' && (*p)[1] == '.') {
            *p += 2;
            if ((hi = filter_number(p)) < 0)
                return "a range end is not a number 0..255";
            if (hi < lo)
                return "a range ends below its start";
        }
        filter_set(set, lo, hi);
        if (**p == ']') {
            (*p)++;
            return NULL;
        }
        if (**p != ';')
            return "a [pattern] needs ';' between elements and a closing ']'";
        (*p)++;
    }
}

/* filter_parse - text into out; NULL or the reason it is not a filter */
static const char *
filter_parse(const char *text, struct dnsbl_filter *out)
{
    const char *p = text, *why;

    memset(out, 0, sizeof(*out));
    if (text == NULL || *text == '\0')
        return "the filter is empty";
    if (strlen(text) > DNSBL_FILTER_MAX)
        return "the filter is too long";
    for (int i = 0; i < 4; i++) {
        if ((why = filter_octet(&p, out->octet[i])) != NULL)
            return why;
        if (i < 3 && *p++ != '.')
            return "the filter needs four octets d.d.d.d";
    }
    return *p != '\0' ? "the filter has more than four octets d.d.d.d" : NULL;
}

/* dnsbl_filter_parse - see the header */
int
dnsbl_filter_parse(const char *text, struct dnsbl_filter *out, char *err, size_t errlen)
{
    const char *why = filter_parse(text, out);

    if (why == NULL)
        return 0;
    dnsbl_err(err, errlen, 0, NULL, 0, why);
    return -1;
}

/* dnsbl_filter_match - see the header */
int
dnsbl_filter_match(const struct dnsbl_filter *f, const uint8_t a[4])
{
    for (int i = 0; i < 4; i++)
        if ((f->octet[i][a[i] / 8] & (1u << (a[i] % 8))) == 0)
            return 0;
    return 1;
}

/* dnsbl_site_match - see the header */
int
dnsbl_site_match(const struct dnsbl_site *s, const uint8_t a[4])
{
    return !s->has_filter || dnsbl_filter_match(&s->filter, a);
}

/*
 * zone_check - copy zone[0..len) lower-cased into out (DNSBL_ZONE_MAX + 1),
 * without a final dot. Returns NULL or the reason it is not a zone name.
 */
static const char *
zone_check(const char *zone, size_t len, char *out)
{
    size_t  label = 0;

    if (len > 0 && zone[len - 1] == '.')
        len--;
    if (len == 0)
        return "the zone name is empty";
    if (len > DNSBL_ZONE_MAX)
        return "the zone name is too long";
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char) zone[i];

        if (c == '.') {
            if (label == 0)
                return "the zone name has an empty label";
            label = 0;
        } else if (ascii_isalnum(c) || c == '-' || c == '_') {
            if (++label > 63)
                return "a zone label is longer than 63 bytes";
        } else {
            return "the zone name has a byte other than letters, digits, '-', '_', '.'";
        }
        out[i] = (char) ascii_tolower(c);
    }
    if (label == 0)
        return "the zone name has an empty label";    /* "a..": one final dot only */
    out[len] = '\0';
    return NULL;
}

/* weight_parse - [+-]digits within DNSBL_WEIGHT_MAX into *w; NULL or the reason */
static const char *
weight_parse(const char *s, size_t len, int *w)
{
    size_t  i = 0;
    int     neg = 0, v = 0;

    if (len > 0 && (s[0] == '-' || s[0] == '+')) {
        neg = s[0] == '-';
        i = 1;
    }
    if (i == len)
        return "the weight after '*' is empty";
    for (; i < len; i++) {
        if (!ascii_isdigit((unsigned char) s[i]))
            return "the weight is not a signed integer";
        v = v * 10 + (s[i] - '0');
        if (v > DNSBL_WEIGHT_MAX)
            return "the weight is out of range (at most 10000 either way)";
    }
    *w = neg ? -v : v;
    return NULL;
}

/* zone_index - the index of zone in s->zones, adding it; -1 if full */
static int
zone_index(struct dnsbl_sites *s, const char *zone)
{
    for (size_t i = 0; i < s->nzones; i++)
        if (strcmp(s->zones[i], zone) == 0)
            return (int) i;
    if (s->nzones == DNSBL_ZONES_MAX)
        return -1;
    memcpy(s->zones[s->nzones], zone, strlen(zone) + 1);
    return (int) s->nzones++;
}

/* site_parse - one item item[0..len) appended to s; NULL or the reason */
static const char *
site_parse(const char *item, size_t len, struct dnsbl_sites *s)
{
    char    zone[DNSBL_ZONE_MAX + 1];
    const char *eq = memchr(item, '=', len), *star = memchr(item, '*', len);
    const char *zend = eq != NULL ? eq : star != NULL ? star : item + len;
    const char *why;
    struct dnsbl_site site;
    int     zi;

    if (s->nsites == DNSBL_SITES_MAX)
        return "too many items (at most 32)";
    if (star != NULL && memchr(star + 1, '*', (size_t) (item + len - star - 1)) != NULL)
        return "more than one '*'";
    if (eq != NULL && star != NULL && star < eq)
        return "the '=filter' must come before the '*weight'";
    if (eq != NULL && memchr(eq + 1, '=', (size_t) (item + len - eq - 1)) != NULL)
        return "more than one '='";
    if ((why = zone_check(item, (size_t) (zend - item), zone)) != NULL)
        return why;
    memset(&site, 0, sizeof(site));
    site.weight = 1;
    if (eq != NULL) {
        size_t  flen = (size_t) ((star != NULL ? star : item + len) - eq - 1);

        if (flen == 0)
            return "the filter after '=' is empty";
        if (flen > DNSBL_FILTER_MAX)
            return "the filter is too long";
        memcpy(site.filter_text, eq + 1, flen);
        site.filter_text[flen] = '\0';
        if ((why = filter_parse(site.filter_text, &site.filter)) != NULL)
            return why;
        site.has_filter = 1;
    }
    if (star != NULL
        && (why = weight_parse(star + 1, (size_t) (item + len - star - 1), &site.weight)) != NULL)
        return why;
    if ((zi = zone_index(s, zone)) < 0)
        return "too many distinct zones (at most 32)";
    site.zone = (unsigned) zi;
    s->site[s->nsites++] = site;
    return NULL;
}

/* dnsbl_sites_parse - see the header */
int
dnsbl_sites_parse(const char *text, struct dnsbl_sites *out, char *err, size_t errlen)
{
    const char *p = text, *why;
    size_t  item = 0, len;

    memset(out, 0, sizeof(*out));
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (text == NULL)
        return 0;
    if (strlen(text) > DNSBL_SITES_TEXT_MAX) {
        dnsbl_err(err, errlen, 0, NULL, 0, "the list is too long (at most 4096 bytes)");
        return -1;
    }
    for (;;) {
        p += strspn(p, DNSBL_SEP);
        if (*p == '\0')
            return 0;
        len = strcspn(p, DNSBL_SEP);
        item++;
        if ((why = site_parse(p, len, out)) != NULL) {
            dnsbl_err(err, errlen, item, p, len, why);
            memset(out, 0, sizeof(*out));
            return -1;
        }
        p += len;
    }
}

/* dnsbl_sites_format - see the header */
int
dnsbl_sites_format(const struct dnsbl_sites *s, char *buf, size_t len)
{
    size_t  used = 0;
    int     n;

    if (len == 0)
        return -1;
    buf[0] = '\0';
    for (size_t i = 0; i < s->nsites; i++) {
        const struct dnsbl_site *site = &s->site[i];
        char    weight[16] = "";

        if (site->weight != 1)
            snprintf(weight, sizeof(weight), "*%d", site->weight);
        n = snprintf(buf + used, len - used, "%s%s%s%s%s", i > 0 ? ", " : "",
                     s->zones[site->zone], site->has_filter ? "=" : "",
                     site->has_filter ? site->filter_text : "", weight);
        if (n < 0 || (size_t) n >= len - used) {
            buf[0] = '\0';
            return -1;
        }
        used += (size_t) n;
    }
    return (int) used;
}

/* dnsbl_qname - see the header */
int
dnsbl_qname(const struct ipaddr *ip, const char *zone, char *buf, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    char    rev[72];
    size_t  r = 0;
    int     n;

    if (ip->family == AF_INET6 && memcmp(ip->b, mapped, sizeof(mapped)) == 0) {
        const uint8_t *b = ip->b + 12;

        snprintf(rev, sizeof(rev), "%u.%u.%u.%u", b[3], b[2], b[1], b[0]);
    } else if (ip->family == AF_INET) {
        snprintf(rev, sizeof(rev), "%u.%u.%u.%u", ip->b[3], ip->b[2], ip->b[1], ip->b[0]);
    } else if (ip->family == AF_INET6) {
        for (int i = 15; i >= 0; i--) {
            rev[r++] = hex[ip->b[i] & 0xf];
            rev[r++] = '.';
            rev[r++] = hex[ip->b[i] >> 4];
            rev[r++] = '.';
        }
        rev[r - 1] = '\0';
    } else {
        return -1;
    }
    n = snprintf(buf, len, "%s.%s", rev, zone);
    if (n < 0 || (size_t) n >= len) {
        if (len > 0)
            buf[0] = '\0';
        return -1;
    }
    return n;
}

/* dnsbl_thresholds_check - see the header */
int
dnsbl_thresholds_check(int dnsbl_threshold, int dnswl_threshold, char *err, size_t errlen)
{
    if (dnswl_threshold < dnsbl_threshold)
        return 0;
    if (err != NULL && errlen > 0)
        snprintf(err, errlen, "dnswl_threshold (%d) must be below dnsbl_threshold (%d)",
                 dnswl_threshold, dnsbl_threshold);
    return -1;
}

/* dnsbl_verdict - see the header */
enum dnsbl_verdict
dnsbl_verdict(int score, int dnsbl_threshold, int dnswl_threshold)
{
    if (score <= dnswl_threshold)
        return DNSBL_TRUSTED;
    if (score >= dnsbl_threshold)
        return DNSBL_SUSPICIOUS;
    return DNSBL_NEUTRAL;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * suspicious.c - the client-name signals of selective greylisting: the
 * dynamic-name pattern set (parsed from the dynamic_patterns file), the
 * built-in "IP digits in the name" rule, and what the MTA's macros say
 * about a verified reverse name. See suspicious.h.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ascii.h"
#include "suspicious.h"
#include "xalloc.h"

/* A name longer than this (a DNS name is at most 253) matches nothing. */
#define SUSPICIOUS_NAME_MAX 255
#define SUSPICIOUS_FILE_MAX (4u << 20)   /* a pattern file over 4 MiB is refused */

struct suspicious_pattern {
    char   *text;                        /* lower case */
    int     glob;                        /* has * or ?: whole-name glob */
};

struct suspicious_patterns {
    size_t  n;
    struct suspicious_pattern *pat;
};

/* suspicious_patterns_free - see the header */
void
suspicious_patterns_free(struct suspicious_patterns *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->n; i++)
        free(p->pat[i].text);
    free(p->pat);
    free(p);
}

/* suspicious_patterns_count - see the header */
size_t
suspicious_patterns_count(const struct suspicious_patterns *p)
{
    return p != NULL ? p->n : 0;
}

/*
 * suspicious_line - check one trimmed pattern line (len bytes at s);
 * NULL if good, else the reason
 */
static const char *
suspicious_line(const char *s, size_t len)
{
    if (len > SUSPICIOUS_PATTERN_MAX)
        return "pattern too long";
    for (size_t i = 0; i < len; i++)
        if (!ascii_isgraph((unsigned char) s[i]))
            return "a pattern is one word of visible ASCII characters";
    return NULL;
}

/* suspicious_add - append the pattern s[0..len), lower-cased */
static void
suspicious_add(struct suspicious_patterns *p, const char *s, size_t len)
{
    struct suspicious_pattern *q;

    p->pat = xrealloc(p->pat, (p->n + 1) * sizeof(*p->pat));
    q = &p->pat[p->n++];
    q->text = xmalloc(len + 1);
    memcpy(q->text, s, len);
    q->text[len] = '\0';
    ascii_lower(q->text);
    q->glob = strpbrk(q->text, "*?") != NULL;
}

/* suspicious_patterns_parse - see the header */
struct suspicious_patterns *
suspicious_patterns_parse(const char *text, const char *name, char *err, size_t errlen)
{
    struct suspicious_patterns *p = xcalloc(1, sizeof(*p));
    const char *line = text != NULL ? text : "";
    unsigned lineno = 0;

    if (strncmp(line, "\xef\xbb\xbf", 3) == 0)
        line += 3;                       /* a UTF-8 byte order mark */
    while (*line != '\0') {
        const char *end = strchr(line, '\n');
        const char *next = end != NULL ? end + 1 : line + strlen(line);
        const char *hash, *why;
        size_t  len;

        lineno++;
        if (end == NULL)
            end = next;
        if ((hash = memchr(line, '#', (size_t) (end - line))) != NULL)
            end = hash;
        while (line < end && ascii_isspace((unsigned char) *line))
            line++;
        while (end > line && ascii_isspace((unsigned char) end[-1]))
            end--;
        len = (size_t) (end - line);
        if (len > 0) {
            if ((why = suspicious_line(line, len)) == NULL && p->n >= SUSPICIOUS_PATTERNS_MAX)
                why = "too many patterns";
            if (why != NULL) {
                snprintf(err, errlen, "%s:%u: %s", name, lineno, why);
                suspicious_patterns_free(p);
                return NULL;
            }
            suspicious_add(p, line, len);
        }
        line = next;
    }
    return p;
}

/* suspicious_read - the whole file into a new string; NULL with err */
static char *
suspicious_read(const char *path, char *err, size_t errlen)
{
    FILE   *fp = fopen(path, "r");
    char   *buf;
    size_t  n;

    if (fp == NULL) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    buf = xmalloc(SUSPICIOUS_FILE_MAX + 1);
    n = fread(buf, 1, SUSPICIOUS_FILE_MAX + 1, fp);
    if (ferror(fp) || n > SUSPICIOUS_FILE_MAX || memchr(buf, '\0', n) != NULL) {
        snprintf(err, errlen, "%s: %s", path, ferror(fp) ? "cannot read (a directory?)"
                 : n > SUSPICIOUS_FILE_MAX ? "larger than 4 MiB" : "holds a NUL byte");
        fclose(fp);
        free(buf);
        return NULL;
    }
    fclose(fp);
    buf[n] = '\0';
    return buf;
}

/* suspicious_patterns_load - see the header */
struct suspicious_patterns *
suspicious_patterns_load(const char *path, char *err, size_t errlen)
{
    struct suspicious_patterns *p;
    char   *text;

    if (path == NULL || path[0] == '\0')
        return suspicious_patterns_parse(NULL, "", err, errlen);
    if ((text = suspicious_read(path, err, errlen)) == NULL)
        return NULL;
    p = suspicious_patterns_parse(text, path, err, errlen);
    free(text);
    return p;
}

/* suspicious_glob - '*' and '?' over the whole name, case ignored; backtracks to the last '*' */
int
suspicious_glob(const char *pattern, const char *name)
{
    const char *p = pattern, *n = name, *star = NULL, *resume = NULL;

    while (*n != '\0') {
        if (*p == '*') {
            star = p++;
            resume = n;
        } else if (*p != '\0' && (*p == '?'
                                  || ascii_tolower((unsigned char) *p)
                                  == ascii_tolower((unsigned char) *n))) {
            p++;
            n++;
        } else if (star != NULL) {
            p = star + 1;
            n = ++resume;
        } else
            return 0;
    }
    while (*p == '*')
        p++;
    return *p == '\0';
}

/* suspicious_lower_name - name lower-cased without a final dot into buf; 0, or -1 if too long */
static int
suspicious_lower_name(const char *name, char *buf, size_t len)
{
    size_t  n = strlen(name);

    if (n > 0 && name[n - 1] == '.')
        n--;
    if (n >= len)
        return -1;
    memcpy(buf, name, n);
    buf[n] = '\0';
    ascii_lower(buf);
    return 0;
}

/*
 * suspicious_runs - the numbers of the name's digit runs into v (at most
 * max), in order; a run of more than three digits is kept as its length
 * negated (it is no octet). Returns the count.
 */
static size_t
suspicious_runs(const char *s, long *v, size_t max)
{
    size_t  n = 0;

    while (*s != '\0' && n < max) {
        size_t  len = 0;
        long    x = 0;

        if (!ascii_isdigit((unsigned char) *s)) {
            s++;
            continue;
        }
        for (; ascii_isdigit((unsigned char) *s); s++, len++)
            if (len < 4)
                x = x * 10 + (*s - '0');
        v[n++] = len <= 3 ? x : -(long) len;
    }
    return n;
}

/* suspicious_name_has_ip - the built-in rule (see the header); IPv4 only */
int
suspicious_name_has_ip(const char *name, const struct ipaddr *ip)
{
    char    low[SUSPICIOUS_NAME_MAX + 1], pat[16];
    long    v[SUSPICIOUS_NAME_MAX / 2 + 1];
    const uint8_t *b;
    size_t  n;

    if (name == NULL || ip == NULL || ip->family != AF_INET
        || suspicious_lower_name(name, low, sizeof(low)) != 0)
        return 0;
    b = ip->b;
    n = suspicious_runs(low, v, sizeof(v) / sizeof(v[0]));
    for (size_t i = 0; i + 4 <= n; i++) {
        if (v[i] == b[0] && v[i + 1] == b[1] && v[i + 2] == b[2] && v[i + 3] == b[3])
            return 1;
        if (v[i] == b[3] && v[i + 1] == b[2] && v[i + 2] == b[1] && v[i + 3] == b[0])
            return 1;
    }
    snprintf(pat, sizeof(pat), "%02x%02x%02x%02x", b[0], b[1], b[2], b[3]);
    if (strstr(low, pat) != NULL)
        return 1;
    snprintf(pat, sizeof(pat), "%03u%03u%03u%03u", b[0], b[1], b[2], b[3]);
    return strstr(low, pat) != NULL;
}

/* suspicious_name_dynamic - a pattern, or the built-in rule */
int
suspicious_name_dynamic(const struct suspicious_patterns *p, const char *name,
                        const struct ipaddr *ip)
{
    char    low[SUSPICIOUS_NAME_MAX + 1];

    if (name == NULL || name[0] == '\0' || suspicious_lower_name(name, low, sizeof(low)) != 0)
        return 0;
    for (size_t i = 0; p != NULL && i < p->n; i++) {
        const struct suspicious_pattern *q = &p->pat[i];

        if (q->glob ? suspicious_glob(q->text, low) : strstr(low, q->text) != NULL)
            return 1;
    }
    return suspicious_name_has_ip(low, ip);
}

/* suspicious_no_rdns - see the header */
int
suspicious_no_rdns(const char *name, const char *resolve)
{
    if (name == NULL)
        return 0;
    if (resolve != NULL && strcmp(resolve, "OK") != 0)
        return 1;
    return name[0] == '\0' || name[0] == '[' || ascii_casecmp(name, "unknown") == 0;
}

/* suspicious_verified_name - name when verified, else NULL */
const char *
suspicious_verified_name(const char *name, const char *resolve)
{
    if (name == NULL || suspicious_no_rdns(name, resolve))
        return NULL;
    return name;
}

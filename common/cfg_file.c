/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cfg_file.c - reading a configuration file: one line at a time into a
 * fixed buffer (at most CFG_LINE_MAX bytes each), cut into "key = value",
 * each applied through the key's setter.
 *
 * The reader is strict on purpose: a typo must stop the daemon at start,
 * not leave it greylisting with a default. An unknown key, a key set
 * twice, a NUL byte, an overlong line, a line without '=' or an
 * unterminated quote is an error "FILE:LINE: reason"; nothing here logs.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cfg_priv.h"

#define CFG_LINE_MAX 4096                /* bytes per line, without CR LF */

/*
 * cfg_file_read_line - one line into buf (at least CFG_LINE_MAX + 2 bytes),
 * without its LF or CR LF. Returns 1, 0 at end of file, or -1 with a reason
 * (a NUL byte, a line over CFG_LINE_MAX bytes, a read error).
 */
static int
cfg_file_read_line(FILE *fp, char *buf, char *why, size_t whylen)
{
    size_t  n = 0;
    int     c;

    while ((c = getc(fp)) != EOF && c != '\n') {
        if (c == '\0') {
            snprintf(why, whylen, "NUL byte in line");
            return -1;
        }
        /* One byte of slack for the CR of a CR LF ending. */
        if (n > CFG_LINE_MAX) {
            snprintf(why, whylen, "line longer than %d bytes", CFG_LINE_MAX);
            return -1;
        }
        buf[n++] = (char) c;
    }
    if (c == EOF && ferror(fp)) {
        snprintf(why, whylen, "cannot read: %s", strerror(errno));
        return -1;
    }
    if (c == EOF && n == 0)
        return 0;
    if (n > 0 && buf[n - 1] == '\r')
        n--;
    if (n > CFG_LINE_MAX) {
        snprintf(why, whylen, "line longer than %d bytes", CFG_LINE_MAX);
        return -1;
    }
    buf[n] = '\0';
    return 1;
}

/*
 * cfg_file_split - cut "key = value" in place. Returns 1 with key and value,
 * 0 for a blank or comment line, -1 with a reason. '#' starts a comment
 * only as the first non-blank character; elsewhere it is part of a value.
 * A value in double quotes loses the quotes and keeps everything between
 * them (blanks, '#', '"'), with no escapes.
 */
static int
cfg_file_split(char *line, char **key, char **value, char *why, size_t whylen)
{
    char    show[CFG_SHOWLEN];
    char   *p = line, *end;
    size_t  len = strlen(line);

    while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t'))
        line[--len] = '\0';
    p += strspn(p, " \t");
    if (*p == '\0' || *p == '#')
        return 0;
    *key = p;
    p += strcspn(p, " \t=");
    end = p;
    p += strspn(p, " \t");
    if (*p != '=') {
        *end = '\0';
        snprintf(why, whylen, "missing '=' after %s", cfg_show(*key, show, sizeof(show)));
        return -1;
    }
    if (end == *key) {
        snprintf(why, whylen, "missing key before '='");
        return -1;
    }
    *end = '\0';
    p++;
    p += strspn(p, " \t");
    if (*p == '"') {
        len = strlen(p);
        if (len < 2 || p[len - 1] != '"') {
            snprintf(why, whylen, "%s: unterminated '\"' in value", *key);
            return -1;
        }
        p[len - 1] = '\0';
        p++;
    }
    *value = p;
    return 1;
}

/* cfg_file_read - every line of fp, applied to cfg in order */
int
cfg_file_read(struct cfg *cfg, FILE *fp, const char *path, unsigned *seen,
              char *err, size_t errlen)
{
    char    line[CFG_LINE_MAX + 2];
    char    why[CFG_ERRLEN], show[CFG_SHOWLEN];
    unsigned lineno;
    int     rc;

    for (lineno = 1; (rc = cfg_file_read_line(fp, line, why, sizeof(why))) != 0; lineno++) {
        const struct cfg_key *k;
        char   *key, *value;

        if (rc > 0 && (rc = cfg_file_split(line, &key, &value, why, sizeof(why))) == 0)
            continue;
        if (rc < 0)
            goto bad;
        if ((k = cfg_keys_find(key)) == NULL) {
            snprintf(why, sizeof(why), "unknown key %s", cfg_show(key, show, sizeof(show)));
            goto bad;
        }
        if (seen[k - cfg_keys] != 0) {
            snprintf(why, sizeof(why), "duplicate key %s, already set on line %u",
                     k->name, seen[k - cfg_keys]);
            goto bad;
        }
        seen[k - cfg_keys] = lineno;
        if (k->set(cfg, k, value, why, sizeof(why)) < 0)
            goto bad;
    }
    return 0;

bad:
    snprintf(err, errlen, "%s:%u: %s", path, lineno, why);
    return -1;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ctl_json.c - JSON strings for redgreyctl --json (ctl_json.h). The rest
 * of a document (braces, numbers) the commands print themselves.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>

#include "ctl_json.h"

/* ctl_json_str - a JSON string of s; see ctl_json.h */
void
ctl_json_str(FILE *fp, const char *s)
{
    if (s == NULL) {
        fputs("null", fp);
        return;
    }
    putc('"', fp);
    for (const unsigned char *p = (const unsigned char *) s; *p != 0; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(fp, "\\%c", *p);
        else if (*p < 0x20 || *p >= 0x7f)
            fprintf(fp, "\\u%04x", *p);
        else
            putc(*p, fp);
    }
    putc('"', fp);
}

/* ctl_json_key - "key": */
void
ctl_json_key(FILE *fp, const char *key)
{
    ctl_json_str(fp, key);
    putc(':', fp);
}

/* ctl_json_time - t, or null for 0 */
void
ctl_json_time(FILE *fp, int64_t t)
{
    if (t == 0)
        fputs("null", fp);
    else
        fprintf(fp, "%" PRId64, t);
}

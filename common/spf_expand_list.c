/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * spf_expand_list.c - what surrounds an expansion without walking: the
 * big-sender domain list file (spf_domains, one domain a line, read into
 * the list that spf_expand_run() walks), the pure replace-or-keep
 * decision, and the names of statuses and note kinds for logs.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "ascii.h"
#include "logesc.h"
#include "spf_expand.h"

#define NAMEBUF (SPF_EXPAND_NAME_MAX + 2)    /* a name, its trailing dot, NUL */

/* spf_expand_list_fini - free the list */
void
spf_expand_list_fini(struct spf_expand_list *list)
{
    size_t  i;

    if (list == NULL)
        return;
    for (i = 0; i < list->count; i++)
        free(list->domains[i]);
    free(list->domains);
    list->domains = NULL;
    list->count = 0;
}

/* spf_expand_list_load - read a domain list file */
int
spf_expand_list_load(const char *path, struct spf_expand_list *out, char *err, size_t errlen)
{
    FILE   *fp;
    char   *line = NULL;
    size_t  linecap = 0, cap = 0, i;
    ssize_t n;
    char    dom[NAMEBUF];
    unsigned lineno = 0;

    memset(out, 0, sizeof(*out));
    if ((fp = fopen(path, "r")) == NULL) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    while ((n = getline(&line, &linecap, fp)) >= 0) {
        char   *s = line, *e;
        int     dup = 0;

        lineno++;
        if ((size_t) n != strlen(line)) {
            snprintf(err, errlen, "%s:%u: NUL byte in line", path, lineno);
            goto fail;
        }
        if ((e = strchr(s, '#')) != NULL)
            *e = '\0';
        while (ascii_isspace((unsigned char) *s))
            s++;
        e = s + strlen(s);
        while (e > s && ascii_isspace((unsigned char) e[-1]))
            *--e = '\0';
        if (*s == '\0')
            continue;
        if (spf_expand_name_norm(s, strlen(s), dom) < 0) {
            char    shown[LOGESC_QUOTE_SIZE(60)];

            snprintf(err, errlen, "%s:%u: bad domain %s", path, lineno,
                     logesc_quote(s, 60, shown, sizeof(shown)));
            goto fail;
        }
        for (i = 0; i < out->count; i++)
            if (strcmp(out->domains[i], dom) == 0)
                dup = 1;
        if (dup)
            continue;
        if (out->count == cap) {
            char  **grown;

            cap = cap ? cap * 2 : 32;
            if ((grown = realloc(out->domains, cap * sizeof(*grown))) == NULL) {
                snprintf(err, errlen, "%s: out of memory", path);
                goto fail;
            }
            out->domains = grown;
        }
        if ((out->domains[out->count] = strdup(dom)) == NULL) {
            snprintf(err, errlen, "%s: out of memory", path);
            goto fail;
        }
        out->count++;
    }
    if (ferror(fp)) {
        snprintf(err, errlen, "%s: read error", path);
        goto fail;
    }
    free(line);
    fclose(fp);
    return 0;

fail:
    free(line);
    fclose(fp);
    spf_expand_list_fini(out);
    return -1;
}

/* spf_expand_decide - replace or keep; see the header */
enum spf_expand_decision
spf_expand_decide(enum spf_expand_status status, size_t new_ranges, int have_old)
{
    if (new_ranges == 0)
        return SPF_EXPAND_KEEP;
    switch (status) {
    case SPF_EXPAND_COMPLETE:
        return SPF_EXPAND_REPLACE;
    case SPF_EXPAND_PARTIAL:
        return have_old ? SPF_EXPAND_KEEP : SPF_EXPAND_REPLACE;
    default:
        return SPF_EXPAND_KEEP;
    }
}

/* spf_expand_status_name - text for logs */
const char *
spf_expand_status_name(enum spf_expand_status status)
{
    switch (status) {
    case SPF_EXPAND_COMPLETE:
        return "complete";
    case SPF_EXPAND_PARTIAL:
        return "partial";
    default:
        return "failed";
    }
}

/* spf_expand_note_kind_name - text for logs */
const char *
spf_expand_note_kind_name(enum spf_expand_note_kind kind)
{
    static const char *const names[] = {
        "skipped", "malformed", "too-broad", "host-bits", "loop", "cap", "dns", "no-record",
    };

    if ((unsigned) kind < sizeof(names) / sizeof(names[0]))
        return names[kind];
    return "unknown";
}

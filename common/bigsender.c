/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * bigsender.c - the big-sender set in memory, and its text form.
 *
 * The current set is one atomic pointer. A lookup loads it and does a
 * binary search: no lock, no allocation. The only hard part is freeing
 * the set an install replaces while lookups may still be reading it.
 *
 * Reclamation is a grace period (grace.h): a lookup is a grace bracket
 * around loading the pointer and searching the set; an install swaps the
 * pointer, waits out the brackets that were open, and frees the old set.
 * The wait is bounded by the longest lookup in flight, a search of at
 * most log2(n) + 1 steps that never blocks; in a live process that is
 * microseconds. At most one retired set exists at any time, and only
 * inside bigsender_install(): memory stays bounded by two sets.
 *
 * The text form is for the store (see bigsender.h): readable by a human,
 * strict to parse, because a blob may have been written by another
 * version of redgrey or damaged on the way.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bigsender.h"
#include "grace.h"
#include "store.h"
#include "strbuf.h"
#include "xalloc.h"

#define BIGSENDER_LINE_MAX  (NETBLOCK_STRLEN + 1) /* longest line we accept */

static _Atomic(struct netset *) bs_current; /* the set lookups use, or NULL */
static struct grace bs_grace;            /* the lookups in flight */
static pthread_mutex_t bs_writer = PTHREAD_MUTEX_INITIALIZER; /* install/reset */

/* bigsender_contains - one counted binary search of the current set */
int
bigsender_contains(const struct ipaddr *ip)
{
    unsigned e = grace_enter(&bs_grace);
    const struct netset *set = atomic_load(&bs_current);
    int     found = set != NULL && netset_contains(set, ip);

    grace_leave(&bs_grace, e);
    return found;
}

/* bigsender_count - ranges in the current set, counted like a lookup */
size_t
bigsender_count(void)
{
    unsigned e = grace_enter(&bs_grace);
    size_t  n = netset_count(atomic_load(&bs_current));

    grace_leave(&bs_grace, e);
    return n;
}

/* bigsender_count_family - ranges of one family in the current set, read like a lookup */
size_t
bigsender_count_family(int family)
{
    unsigned e = grace_enter(&bs_grace);
    size_t  n = netset_count_family(atomic_load(&bs_current), family);

    grace_leave(&bs_grace, e);
    return n;
}

/* bigsender_install - swap set in, wait out the old set's readers, free it */
void
bigsender_install(struct netset *set)
{
    struct netset *old;

    pthread_mutex_lock(&bs_writer);
    old = atomic_exchange(&bs_current, set);
    if (old != NULL) {
        grace_wait(&bs_grace);
        netset_free(old);
    }
    pthread_mutex_unlock(&bs_writer);
}

/* bigsender_reset - no set; idempotent */
void
bigsender_reset(void)
{
    bigsender_install(NULL);
}

/* ------------------------------------------------------------------ text */

/* bs_format_block - netset_blocks callback: one CIDR line */
static void
bs_format_block(const struct netblock *nb, void *arg)
{
    char    text[NETBLOCK_STRLEN];

    strbuf_add(arg, "%s\n", netblock_format(nb, text, sizeof(text)));
}

/* bigsender_format - header, one CIDR per line, "end" */
char   *
bigsender_format(const struct netset *set, int64_t expanded, int partial, size_t *len)
{
    size_t  n = netset_blocks(set, NULL, NULL);
    struct strbuf b;

    strbuf_init(&b, 128 + n * 24);
    strbuf_add(&b, "%s\nexpanded %" PRId64 "\nstatus %s\nblocks %zu\n", BIGSENDER_MAGIC,
               expanded, partial ? "partial" : "complete", n);
    netset_blocks(set, bs_format_block, &b);
    strbuf_add(&b, "end\n");
    *len = b.len;
    return b.p;
}

/* What the parser walks over. */
struct bs_reader {
    const char *p;                       /* next byte */
    const char *end;                     /* one past the text */
    unsigned long lineno;                /* of the line last read */
    char    line[BIGSENDER_LINE_MAX + 1]; /* that line, NUL-terminated */
};

/*
 * bs_next_line - the next '\n'-terminated line into r->line. 1, 0 at the
 * end of the text, or -1 with err if it is too long or has no newline.
 */
static int
bs_next_line(struct bs_reader *r, char *err, size_t errlen)
{
    const char *nl;
    size_t  n;

    if (r->p == r->end)
        return 0;
    r->lineno++;
    if ((nl = memchr(r->p, '\n', (size_t) (r->end - r->p))) == NULL) {
        snprintf(err, errlen, "line %lu: no newline at the end of the text", r->lineno);
        return -1;
    }
    if ((n = (size_t) (nl - r->p)) > BIGSENDER_LINE_MAX) {
        snprintf(err, errlen, "line %lu: longer than %d bytes", r->lineno, BIGSENDER_LINE_MAX);
        return -1;
    }
    memcpy(r->line, r->p, n);
    r->line[n] = 0;
    r->p = nl + 1;
    return 1;
}

/* bs_field - read line "NAME VALUE"; returns VALUE, or NULL with err */
static const char *
bs_field(struct bs_reader *r, const char *name, char *err, size_t errlen)
{
    size_t  n = strlen(name);
    int     rc = bs_next_line(r, err, errlen);

    if (rc == 0)
        snprintf(err, errlen, "line %lu: the text ends before \"%s\"", r->lineno + 1, name);
    if (rc <= 0)
        return NULL;
    if (strncmp(r->line, name, n) != 0 || r->line[n] != ' ' || r->line[n + 1] == 0) {
        snprintf(err, errlen, "line %lu: want \"%s VALUE\"", r->lineno, name);
        return NULL;
    }
    return r->line + n + 1;
}

/* bs_number - decimal digits only, at most max; 0 or -1 */
static int
bs_number(const char *s, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;

    if (*s == 0 || strlen(s) > 20)
        return -1;
    for (; *s != 0; s++) {
        if (*s < '0' || *s > '9' || v > (max - (uint64_t) (*s - '0')) / 10)
            return -1;
        v = v * 10 + (uint64_t) (*s - '0');
    }
    *out = v;
    return 0;
}

/* bs_parse_header - the four header lines into info; 0 or -1 with err */
static int
bs_parse_header(struct bs_reader *r, struct bigsender_info *info, char *err, size_t errlen)
{
    const char *v;
    uint64_t n;
    int     rc;

    if ((rc = bs_next_line(r, err, errlen)) <= 0 || strcmp(r->line, BIGSENDER_MAGIC) != 0) {
        if (rc >= 0)
            snprintf(err, errlen, "line 1: not a big-sender set (want \"%s\")", BIGSENDER_MAGIC);
        return -1;
    }
    if ((v = bs_field(r, "expanded", err, errlen)) == NULL)
        return -1;
    if (bs_number(v, INT64_MAX, &n) < 0) {
        snprintf(err, errlen, "line %lu: expanded: want a unix time", r->lineno);
        return -1;
    }
    info->expanded = (int64_t) n;
    if ((v = bs_field(r, "status", err, errlen)) == NULL)
        return -1;
    if (strcmp(v, "complete") != 0 && strcmp(v, "partial") != 0) {
        snprintf(err, errlen, "line %lu: status: want complete or partial", r->lineno);
        return -1;
    }
    info->partial = strcmp(v, "partial") == 0;
    if ((v = bs_field(r, "blocks", err, errlen)) == NULL)
        return -1;
    if (bs_number(v, STORE_BLOB_MAX / 8, &n) < 0) {
        snprintf(err, errlen, "line %lu: blocks: want a count up to %d", r->lineno,
                 STORE_BLOB_MAX / 8);
        return -1;
    }
    info->blocks = (size_t) n;
    return 0;
}

/* bs_parse_block - r->line as "address/prefix" without host bits; 0 or -1 */
static int
bs_parse_block(struct bs_reader *r, struct netblock *nb, char *err, size_t errlen)
{
    char    why[128] = "";
    int     rc;

    if (strchr(r->line, '/') == NULL) {
        snprintf(err, errlen, "line %lu: want address/prefix", r->lineno);
        return -1;
    }
    if ((rc = netblock_parse(r->line, nb, why, sizeof(why))) < 0) {
        snprintf(err, errlen, "line %lu: %s", r->lineno, why[0] ? why : "bad block");
        return -1;
    }
    if (rc == 1) {
        snprintf(err, errlen, "line %lu: host bits set in %.60s", r->lineno, r->line);
        return -1;
    }
    return 0;
}

/* bigsender_parse - the text back into a finished set */
int
bigsender_parse(const char *text, size_t len, struct netset **out,
                struct bigsender_info *info, char *err, size_t errlen)
{
    struct bs_reader *r;
    struct bigsender_info in;
    struct netblock nb;
    struct netset *set = NULL;
    int     rc;

    *out = NULL;
    if (text == NULL || len > STORE_BLOB_MAX) {
        snprintf(err, errlen, "line 0: %s", text == NULL ? "no text" : "over the size limit");
        return -1;
    }
    if (memchr(text, 0, len) != NULL) {
        snprintf(err, errlen, "line 0: NUL byte in the text");
        return -1;
    }
    r = xcalloc(1, sizeof(*r));
    r->p = text;
    r->end = text + len;
    if (bs_parse_header(r, &in, err, errlen) < 0)
        goto fail;

    set = netset_new();
    for (size_t i = 0; i < in.blocks; i++) {
        if ((rc = bs_next_line(r, err, errlen)) == 0)
            snprintf(err, errlen, "line %lu: the text ends after %zu of %zu blocks",
                     r->lineno + 1, i, in.blocks);
        if (rc <= 0 || bs_parse_block(r, &nb, err, errlen) < 0)
            goto fail;
        netset_add(set, &nb);
    }
    if ((rc = bs_next_line(r, err, errlen)) <= 0 || strcmp(r->line, "end") != 0) {
        if (rc >= 0)
            snprintf(err, errlen, "line %lu: want \"end\" after %zu blocks", r->lineno + (rc == 0),
                     in.blocks);
        goto fail;
    }
    if (r->p != r->end) {
        snprintf(err, errlen, "line %lu: text after \"end\"", r->lineno + 1);
        goto fail;
    }
    netset_finish(set);
    free(r);
    *out = set;
    if (info != NULL)
        *info = in;
    return 0;

fail:
    netset_free(set);
    free(r);
    return -1;
}

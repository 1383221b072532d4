/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ctl_logreport.c - redgreyctl log-report: the daily report of
 * postgrey's postgreyreport, read from redgrey's own decision lines.
 *
 * The store keeps senders and recipients hashed, so the store report
 * (ctl_walk.c) can group by client key only. The decision lines carry
 * them in the clear (escaped by logesc, so a field is one token):
 *
 *   QID: action=greylist reason=new client=NAME[IP] key=KEY from=<S> to=<R> ...
 *   QID: action=pass reason=retry client=... key=KEY from=<S> to=<R> ... delay=N
 *
 * whatever comes before "QID: " (syslog's or our own time stamp). Each
 * triplet (key, sender, recipient) greylisted (reason new or early) and
 * never passed with reason retry later in the input counts as never
 * retried; each retry pass counts with its delay. Both are grouped by
 * sender domain and client key. Other lines are skipped and counted.
 *
 * Memory: a triplet is 16 bytes (a keyed hash and its group), at most
 * LR_TRIPLETS_MAX of them; groups hold their two strings. Beyond the
 * bound the rest of the input is counted as skipped, and the report says
 * so.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ascii.h"
#include "ctl.h"
#include "ctl_json.h"
#include "ctl_logreport.h"
#include "siphash.h"
#include "xalloc.h"

#define LR_TRIPLETS_MAX (1u << 23)       /* 8M triplets: 128 MB of table at most */
#define LR_GROUPS_MAX   (1u << 20)
#define LR_FIELD_MAX    1100             /* an escaped address, bounded */
#define LR_TOP          25               /* groups shown without -v */

/* One (sender domain, client key) group. */
struct lr_group {
    char   *domain;                      /* lowercase; "<>" for the null sender */
    char   *key;
    uint64_t never;                      /* triplets greylisted, never passed */
    uint64_t passed;                     /* retry passes */
    int64_t delay_min, delay_max, delay_sum;
};

/* One triplet: its hash (0: free slot) and group; passed once a retry was seen. */
struct lr_triplet {
    uint64_t hash;
    uint32_t group;
    uint32_t passed;
};

struct lr {
    uint8_t sipkey[16];
    struct lr_triplet *t;                /* open addressing, tcap a power of 2 */
    size_t  tcap, tn;
    struct lr_group *g;                  /* groups in order of appearance */
    size_t  gn, gcap;
    uint32_t *gidx;                      /* open addressing over g, +1 (0: free) */
    size_t  gidx_cap;
    uint64_t lines, used, skipped, full;
};

/* lr_field - the value after "name=" in line, up to a blank; NULL if absent */
static const char *
lr_field(const char *line, const char *name, char *out, size_t outlen)
{
    size_t  nl = strlen(name);
    const char *p = line, *e;

    while ((p = strstr(p, name)) != NULL) {
        if ((p == line || p[-1] == ' ') && p[nl] == '=')
            break;
        p += nl;
    }
    if (p == NULL)
        return NULL;
    p += nl + 1;
    for (e = p; *e != '\0' && *e != ' ' && *e != '\n' && *e != '\r'; e++)
        ;
    if ((size_t) (e - p) >= outlen)
        return NULL;
    memcpy(out, p, (size_t) (e - p));
    out[e - p] = '\0';
    return out;
}

/* lr_addr - an address field's "<...>" stripped in place; NULL if it has no brackets */
static char *
lr_addr(char *v)
{
    size_t  n = strlen(v);

    if (n < 2 || v[0] != '<' || v[n - 1] != '>')
        return NULL;
    v[n - 1] = '\0';
    return v + 1;
}

/* lr_group_hash - the keyed hash of (domain, key) */
static uint64_t
lr_group_hash(const struct lr *r, const char *domain, const char *key)
{
    uint8_t buf[2 * LR_FIELD_MAX + 2];
    size_t  dl = strlen(domain), kl = strlen(key);

    memcpy(buf, domain, dl + 1);
    memcpy(buf + dl + 1, key, kl + 1);
    return siphash24(r->sipkey, buf, dl + kl + 2);
}

/* lr_group_find - the index of group (domain, key), made if new; -1 when full */
static long
lr_group_find(struct lr *r, const char *domain, const char *key)
{
    uint64_t h = lr_group_hash(r, domain, key);
    size_t  i;

    if ((r->gn + 1) * 2 > r->gidx_cap) {
        size_t  cap = r->gidx_cap ? r->gidx_cap * 2 : 1024;
        uint32_t *ix;

        if (r->gn >= LR_GROUPS_MAX)
            return -1;
        ix = xcalloc(cap, sizeof(*ix));
        for (size_t k = 0; k < r->gn; k++) {
            for (i = lr_group_hash(r, r->g[k].domain, r->g[k].key) & (cap - 1); ix[i] != 0;
                 i = (i + 1) & (cap - 1))
                ;
            ix[i] = (uint32_t) k + 1;
        }
        free(r->gidx);
        r->gidx = ix;
        r->gidx_cap = cap;
    }
    for (i = h & (r->gidx_cap - 1); r->gidx[i] != 0; i = (i + 1) & (r->gidx_cap - 1)) {
        struct lr_group *g = &r->g[r->gidx[i] - 1];

        if (strcmp(g->domain, domain) == 0 && strcmp(g->key, key) == 0)
            return (long) r->gidx[i] - 1;
    }
    if (r->gn == r->gcap) {
        r->gcap = r->gcap ? r->gcap * 2 : 256;
        r->g = xrealloc(r->g, r->gcap * sizeof(*r->g));
    }
    memset(&r->g[r->gn], 0, sizeof(r->g[0]));
    r->g[r->gn].domain = xstrdup(domain);
    r->g[r->gn].key = xstrdup(key);
    r->g[r->gn].delay_min = -1;
    r->gidx[i] = (uint32_t) r->gn + 1;
    return (long) r->gn++;
}

/* lr_triplet_find - the triplet of hash h, made (with group g) if new; NULL when full */
static struct lr_triplet *
lr_triplet_find(struct lr *r, uint64_t h, uint32_t g)
{
    size_t  i;

    h |= 1;                              /* 0 marks a free slot */
    if ((r->tn + 1) * 2 > r->tcap) {
        size_t  cap = r->tcap ? r->tcap * 2 : 4096;
        struct lr_triplet *t;

        if (r->tn >= LR_TRIPLETS_MAX)
            goto lookup;                 /* no growth: existing triplets still match */
        t = xcalloc(cap, sizeof(*t));
        for (size_t k = 0; k < r->tcap; k++) {
            if (r->t[k].hash == 0)
                continue;
            for (i = r->t[k].hash & (cap - 1); t[i].hash != 0; i = (i + 1) & (cap - 1))
                ;
            t[i] = r->t[k];
        }
        free(r->t);
        r->t = t;
        r->tcap = cap;
    }
lookup:
    for (i = h & (r->tcap - 1); r->t[i].hash != 0; i = (i + 1) & (r->tcap - 1))
        if (r->t[i].hash == h)
            return &r->t[i];
    if ((r->tn + 1) * 2 > r->tcap)
        return NULL;
    r->t[i].hash = h;
    r->t[i].group = g;
    r->t[i].passed = 0;
    r->tn++;
    return &r->t[i];
}

/* lr_line - one line of input into r */
static void
lr_line(struct lr *r, const char *line)
{
    char    action[16], reason[16], key[LR_FIELD_MAX], fromb[LR_FIELD_MAX], tob[LR_FIELD_MAX];
    char    domain[LR_FIELD_MAX], delay[24];
    uint8_t hb[3 * LR_FIELD_MAX];
    const char *at, *p;
    char   *from, *to, *end;
    struct lr_triplet *t;
    size_t  kl, fl, tl;
    long    g;
    int     grey, pass;
    long long d = -1;

    r->lines++;
    if ((p = strstr(line, ": action=")) == NULL
        || lr_field(p + 2, "action", action, sizeof(action)) == NULL
        || lr_field(p + 2, "reason", reason, sizeof(reason)) == NULL
        || lr_field(p + 2, "key", key, sizeof(key)) == NULL
        || lr_field(p + 2, "from", fromb, sizeof(fromb)) == NULL
        || lr_field(p + 2, "to", tob, sizeof(tob)) == NULL
        || (from = lr_addr(fromb)) == NULL || (to = lr_addr(tob)) == NULL) {
        r->skipped++;
        return;
    }
    grey = strcmp(action, "greylist") == 0
        && (strcmp(reason, "new") == 0 || strcmp(reason, "early") == 0);
    pass = strcmp(action, "pass") == 0 && strcmp(reason, "retry") == 0;
    if (!grey && !pass) {
        r->skipped++;
        return;
    }
    if (pass && lr_field(p + 2, "delay", delay, sizeof(delay)) != NULL) {
        errno = 0;
        d = strtoll(delay, &end, 10);
        if (errno != 0 || *end != '\0' || d < 0)
            d = -1;
    }
    at = strrchr(from, '@');
    snprintf(domain, sizeof(domain), "%s", from[0] == '\0' ? "<>" : at != NULL ? at + 1 : "");
    for (char *c = domain; *c != '\0'; c++)
        *c = (char) ascii_tolower((unsigned char) *c);
    if ((g = lr_group_find(r, domain, key)) < 0) {
        r->full++;
        return;
    }
    kl = strlen(key);
    fl = strlen(from);
    tl = strlen(to);
    memcpy(hb, key, kl + 1);
    memcpy(hb + kl + 1, from, fl + 1);
    memcpy(hb + kl + fl + 2, to, tl);
    if ((t = lr_triplet_find(r, siphash24(r->sipkey, hb, kl + fl + tl + 2),
                             (uint32_t) g)) == NULL) {
        r->full++;
        return;
    }
    r->used++;
    if (pass) {
        struct lr_group *gr = &r->g[g];

        t->passed = 1;
        gr->passed++;
        if (d >= 0) {
            if (gr->delay_min < 0 || d < gr->delay_min)
                gr->delay_min = d;
            if (d > gr->delay_max)
                gr->delay_max = d;
            gr->delay_sum += d;
        }
    }
}

/* lr_read - every line of fp into r; -1 on a read error */
static int
lr_read(struct lr *r, FILE *fp)
{
    char   *line = NULL;
    size_t  cap = 0;

    /* A NUL inside a line ends it for the parser: the line is still one line. */
    while (getline(&line, &cap, fp) >= 0)
        lr_line(r, line);
    free(line);
    return ferror(fp) ? -1 : 0;
}

/* lr_finish - count each greylisted triplet that no retry pass followed into its group */
static void
lr_finish(struct lr *r)
{
    for (size_t k = 0; k < r->tcap; k++)
        if (r->t[k].hash != 0 && !r->t[k].passed)
            r->g[r->t[k].group].never++;
}

/* lr_free - what r holds */
static void
lr_free(struct lr *r)
{
    for (size_t k = 0; k < r->gn; k++) {
        free(r->g[k].domain);
        free(r->g[k].key);
    }
    free(r->g);
    free(r->gidx);
    free(r->t);
}

/* Sorting groups by one count, most first, then by domain and key. */
static const struct lr *lr_sort_r;
static int lr_sort_passed;

/* lr_cmp - qsort over group indexes */
static int
lr_cmp(const void *a, const void *b)
{
    const struct lr_group *x = &lr_sort_r->g[*(const uint32_t *) a];
    const struct lr_group *y = &lr_sort_r->g[*(const uint32_t *) b];
    uint64_t cx = lr_sort_passed ? x->passed : x->never;
    uint64_t cy = lr_sort_passed ? y->passed : y->never;
    int     c;

    if (cx != cy)
        return cx > cy ? -1 : 1;
    if ((c = strcmp(x->domain, y->domain)) != 0)
        return c;
    return strcmp(x->key, y->key);
}

/* lr_part - the groups with a count in this part, sorted; their number in *n (free it) */
static uint32_t *
lr_part(struct lr *r, int passed, size_t *n, uint64_t *total)
{
    uint32_t *ix = xcalloc(r->gn + 1, sizeof(*ix));

    *n = 0;
    *total = 0;
    for (size_t k = 0; k < r->gn; k++) {
        uint64_t c = passed ? r->g[k].passed : r->g[k].never;

        if (c > 0) {
            ix[(*n)++] = (uint32_t) k;
            *total += c;
        }
    }
    lr_sort_r = r;
    lr_sort_passed = passed;
    qsort(ix, *n, sizeof(*ix), lr_cmp);
    return ix;
}

/* lr_print_text - both parts for a human */
static void
lr_print_text(struct lr *r, int verbose)
{
    for (int passed = 0; passed <= 1; passed++) {
        uint64_t total;
        size_t  n, shown;
        uint32_t *ix = lr_part(r, passed, &n, &total);

        printf("%s: %llu triplets from %zu sender domain and client key pairs\n",
               passed ? "passed after a delay" : "greylisted, never retried",
               (unsigned long long) total, n);
        shown = verbose || n < LR_TOP ? n : LR_TOP;
        for (size_t k = 0; k < shown; k++) {
            const struct lr_group *g = &r->g[ix[k]];

            if (!passed)
                printf("  %8llu  %s  %s\n", (unsigned long long) g->never, g->domain, g->key);
            else if (g->delay_min >= 0)
                printf("  %8llu  %s  %s  delay min %llds avg %llds max %llds\n",
                       (unsigned long long) g->passed, g->domain, g->key,
                       (long long) g->delay_min, (long long) (g->delay_sum / (int64_t) g->passed),
                       (long long) g->delay_max);
            else
                printf("  %8llu  %s  %s\n", (unsigned long long) g->passed, g->domain, g->key);
        }
        if (shown < n)
            printf("  ... %zu more (-v shows all)\n", n - shown);
        free(ix);
    }
    printf("lines read: %llu, decisions used: %llu, other lines: %llu\n",
           (unsigned long long) r->lines, (unsigned long long) r->used,
           (unsigned long long) r->skipped);
    if (r->full > 0)
        printf("not counted (more than %u triplets or %u groups): %llu\n", LR_TRIPLETS_MAX,
               LR_GROUPS_MAX, (unsigned long long) r->full);
}

/* lr_print_json - both parts as one JSON object */
static void
lr_print_json(struct lr *r)
{
    printf("{");
    for (int passed = 0; passed <= 1; passed++) {
        uint64_t total;
        size_t  n;
        uint32_t *ix = lr_part(r, passed, &n, &total);

        ctl_json_key(stdout, passed ? "passed" : "never_retried");
        printf("{\"triplets\":%llu,\"groups\":[", (unsigned long long) total);
        for (size_t k = 0; k < n; k++) {
            const struct lr_group *g = &r->g[ix[k]];

            printf("%s{", k ? "," : "");
            ctl_json_key(stdout, "domain");
            ctl_json_str(stdout, g->domain);
            printf(",");
            ctl_json_key(stdout, "key");
            ctl_json_str(stdout, g->key);
            printf(",\"triplets\":%llu", (unsigned long long) (passed ? g->passed : g->never));
            if (passed && g->delay_min >= 0)
                printf(",\"delay_min\":%lld,\"delay_avg\":%lld,\"delay_max\":%lld",
                       (long long) g->delay_min,
                       (long long) (g->delay_sum / (int64_t) g->passed),
                       (long long) g->delay_max);
            else if (passed)
                printf(",\"delay_min\":null,\"delay_avg\":null,\"delay_max\":null");
            printf("}");
        }
        printf("]},");
        free(ix);
    }
    printf("\"lines\":%llu,\"used\":%llu,\"other\":%llu,\"not_counted\":%llu}\n",
           (unsigned long long) r->lines, (unsigned long long) r->used,
           (unsigned long long) r->skipped, (unsigned long long) r->full);
}

/* ctl_logreport - see the header */
int
ctl_logreport(int nfiles, char **files, int verbose, int json)
{
    struct lr r;
    int     rc = CTL_OK;

    memset(&r, 0, sizeof(r));
    /* Only this run's table is keyed: any fixed key would do as well. */
    for (size_t i = 0; i < sizeof(r.sipkey); i++)
        r.sipkey[i] = (uint8_t) (0x5a ^ (i * 29));
    for (int i = 0; i < (nfiles > 0 ? nfiles : 1) && rc == CTL_OK; i++) {
        const char *name = nfiles > 0 ? files[i] : "-";
        FILE   *fp = strcmp(name, "-") == 0 ? stdin : fopen(name, "r");

        if (fp == NULL) {
            fprintf(stderr, "redgreyctl: log-report: %.200s: %s\n", name, strerror(errno));
            rc = CTL_TROUBLE;
            break;
        }
        if (lr_read(&r, fp) != 0) {
            fprintf(stderr, "redgreyctl: log-report: %.200s: read error\n", name);
            rc = CTL_TROUBLE;
        }
        if (fp != stdin)
            fclose(fp);
    }
    lr_finish(&r);
    if (rc == CTL_OK) {
        if (json)
            lr_print_json(&r);
        else
            lr_print_text(&r, verbose);
    }
    lr_free(&r);
    return rc;
}

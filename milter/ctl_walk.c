/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ctl_walk.c - redgreyctl's commands over the whole store: stats (and,
 * with it, the big-sender set's version, age and size) and report.
 *
 * report groups by client key, the key the store keeps in the clear
 * (triplet_key_client): the netblock, or spf:DOMAIN for mail keyed on
 * its SPF domain, which is then the sender domain. The store keeps the
 * sender and recipient hashed only (triplet.h), so mail keyed on its
 * netblock cannot be grouped by sender domain. A passed entry's delay is
 * known where the backend keeps its first sighting (LMDB); Redis keeps
 * no times of a passed entry, and its "when" is its last use.
 *
 * The store is walked in bounded steps (store_count_step: a Redis SCAN
 * with MATCH and COUNT, an LMDB cursor of a few thousand entries per
 * transaction), so that a daemon deciding on the same store is never
 * held up for long.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bigsender.h"
#include "ctl.h"
#include "ctl_json.h"
#include "ctl_walk.h"
#include "netblock.h"
#include "store.h"
#include "triplet.h"
#include "xalloc.h"

#define CTL_REPORT_TOP 25                /* groups listed per part without -v */

/* The stored big-sender set, as stats shows it. */
struct ctl_bigsender {
    int     configured;                  /* spf_domains is set */
    enum store_blob_result found;        /* FOUND: the fields below are set */
    struct store_blob_meta meta;         /* version and stamp */
    struct bigsender_info info;          /* expansion time, status, blocks */
    size_t  ranges;                      /* ranges of the parsed set */
};

/* ctl_walk_bigsender - read and parse the stored set into *b; 0, or -1 after printing why */
static int
ctl_walk_bigsender(const struct ctl *x, struct ctl_bigsender *b)
{
    struct netset *set = NULL;
    char    err[STORE_ERRLEN] = "", *data = NULL;
    size_t  len = 0;

    memset(b, 0, sizeof(*b));
    b->configured = x->c->spf_domains != NULL && x->c->spf_domains[0] != '\0';
    b->found = store_blob_get(x->st, BIGSENDER_BLOB, &data, &len, &b->meta, err, sizeof(err));
    if (b->found == STORE_BLOB_ERROR) {
        fprintf(stderr, "redgreyctl: reading the stored set: %s\n", err);
        return -1;
    }
    if (b->found == STORE_BLOB_FOUND) {
        if (bigsender_parse(data, len, &set, &b->info, err, sizeof(err)) < 0) {
            fprintf(stderr, "redgreyctl: the stored set (version %" PRIu64 ") is damaged: %s\n",
                    b->meta.version, err);
            free(data);
            return -1;
        }
        b->ranges = netset_count(set);
        netset_free(set);
    }
    free(data);
    return 0;
}

/* ctl_walk_stats_text - stats for a human */
static void
ctl_walk_stats_text(const struct store_counts *n, const struct ctl_bigsender *b, int64_t now)
{
    char    when[64];

    printf("pending %" PRIu64 "\npassed %" PRIu64 "\nawl %" PRIu64 "\nexpired %" PRIu64 "\n",
           n->pending, n->passed, n->awl, n->other);
    if (b->found != STORE_BLOB_FOUND) {
        printf("bigsenders none stored%s\n", b->configured ? "" : " (spf_domains is not set)");
        return;
    }
    printf("bigsenders version %" PRIu64 ", stored %s (%" PRId64 " s ago), %s, %zu blocks,"
           " %zu ranges%s\n", b->meta.version, ctl_time(b->meta.stamp, when, sizeof(when)),
           now - b->meta.stamp, b->info.partial ? "partial" : "complete", b->info.blocks,
           b->ranges, b->configured ? "" : "; not used: spf_domains is not set");
}

/* ctl_walk_stats_json - stats as one JSON object */
static void
ctl_walk_stats_json(const struct store_counts *n, const struct ctl_bigsender *b, int64_t now)
{
    printf("{\"pending\":%" PRIu64 ",\"passed\":%" PRIu64 ",\"awl\":%" PRIu64
           ",\"expired\":%" PRIu64 ",\"now\":%" PRId64 ",\"bigsenders\":", n->pending,
           n->passed, n->awl, n->other, now);
    if (b->found != STORE_BLOB_FOUND)
        printf("null");
    else
        printf("{\"version\":%" PRIu64 ",\"stored\":%" PRId64 ",\"age\":%" PRId64
               ",\"expanded\":%" PRId64 ",\"partial\":%s,\"blocks\":%zu,\"ranges\":%zu}",
               b->meta.version, b->meta.stamp, now - b->meta.stamp, b->info.expanded,
               b->info.partial ? "true" : "false", b->info.blocks, b->ranges);
    printf(",\"bigsenders_used\":%s}\n",
           b->configured && b->found == STORE_BLOB_FOUND ? "true" : "false");
}

/* ctl_walk_stats - see ctl_walk.h */
int
ctl_walk_stats(const struct ctl *x)
{
    struct store_walk w;
    struct ctl_bigsender b;
    char    err[STORE_ERRLEN] = "";

    memset(&w, 0, sizeof(w));
    while (!w.done) {
        if (store_count_step(x->st, &w, err, sizeof(err)) < 0) {
            fprintf(stderr, "redgreyctl: stats: %s\n", err);
            return CTL_TROUBLE;
        }
    }
    if (ctl_walk_bigsender(x, &b) < 0)
        return CTL_TROUBLE;
    if (x->json)
        ctl_walk_stats_json(&w.counts, &b, w.now);
    else
        ctl_walk_stats_text(&w.counts, &b, w.now);
    return CTL_OK;
}

/* One group of the report: the entries of one client key. */
struct ctl_group {
    char    key[TRIPLET_CLIENTKEY_MAX + 1]; /* netblock or spf:domain */
    uint64_t n;                          /* entries */
    int64_t first, last;                 /* earliest and latest first sighting (or pass) */
    uint64_t ndelay;                     /* entries whose delay is known */
    int64_t delay_min, delay_max, delay_sum;
};

/* The groups of one part of the report, in an open-addressing table. */
struct ctl_groups {
    struct ctl_group *g;                 /* cap slots; key[0] == 0: free */
    size_t  cap, used;
    uint64_t total;                      /* entries of every group */
};

/* What a report walk gathers. */
struct ctl_report {
    const struct ctl *x;
    struct policy_params p;              /* delay: what "never retried" means */
    int64_t now;                         /* the store's clock at the start */
    struct ctl_groups never;             /* pending for longer than delay */
    struct ctl_groups passed;
    uint64_t waiting;                    /* pending for less than delay */
};

/* ctl_hash - FNV-1a of s */
static size_t
ctl_hash(const char *s)
{
    uint64_t h = UINT64_C(14695981039346656037);

    for (; *s != 0; s++)
        h = (h ^ (unsigned char) *s) * UINT64_C(1099511628211);
    return (size_t) h;
}

/* ctl_groups_find - the group of key in gs, made if new */
static struct ctl_group *
ctl_groups_find(struct ctl_groups *gs, const char *key)
{
    size_t  i;

    if (gs->used * 2 >= gs->cap) {       /* grow: rehash into twice the slots */
        struct ctl_groups n = {xcalloc(gs->cap ? gs->cap * 2 : 64, sizeof(*n.g)),
                               gs->cap ? gs->cap * 2 : 64, 0, gs->total};

        for (size_t k = 0; k < gs->cap; k++)
            if (gs->g[k].key[0] != 0) {
                for (i = ctl_hash(gs->g[k].key) % n.cap; n.g[i].key[0] != 0; i = (i + 1) % n.cap)
                    ;
                n.g[i] = gs->g[k];
                n.used++;
            }
        free(gs->g);
        *gs = n;
    }
    for (i = ctl_hash(key) % gs->cap; gs->g[i].key[0] != 0; i = (i + 1) % gs->cap)
        if (strcmp(gs->g[i].key, key) == 0)
            return &gs->g[i];
    snprintf(gs->g[i].key, sizeof(gs->g[i].key), "%s", key);
    gs->used++;
    return &gs->g[i];
}

/* ctl_groups_add - one entry of key, at time when, with delay (-1: unknown) */
static void
ctl_groups_add(struct ctl_groups *gs, const char *key, int64_t when, int64_t delay)
{
    struct ctl_group *g = ctl_groups_find(gs, key);

    if (g->n == 0 || when < g->first)
        g->first = when;
    if (g->n == 0 || when > g->last)
        g->last = when;
    g->n++;
    gs->total++;
    if (delay < 0)
        return;
    if (g->ndelay == 0 || delay < g->delay_min)
        g->delay_min = delay;
    if (g->ndelay == 0 || delay > g->delay_max)
        g->delay_max = delay;
    g->delay_sum += delay;
    g->ndelay++;
}

/* ctl_report_visit - store_walk_fn: put one grey entry into its part */
static void
ctl_report_visit(void *arg, const struct store_walk_item *it)
{
    struct ctl_report *r = arg;
    const struct cfg *c = r->x->c;
    char    key[TRIPLET_CLIENTKEY_MAX + 1], type;
    int64_t from = r->x->since > 0 ? r->now - r->x->since : INT64_MIN;

    if (it->is_awl || triplet_key_client(r->x->st->key_prefix, it->key, it->key_len,
                                         (unsigned) c->netmask_v4, (unsigned) c->netmask_v6,
                                         &type, key, sizeof(key)) == 0)
        return;
    if (it->state == STORE_GREY_PENDING) {
        if (it->grey.first_seen < from)
            return;
        if (r->now - it->grey.first_seen < r->p.delay)
            r->waiting++;
        else
            ctl_groups_add(&r->never, key, it->grey.first_seen, -1);
    } else if (it->state == STORE_GREY_PASSED && it->grey.passed >= from) {
        ctl_groups_add(&r->passed, key, it->grey.passed,
                       it->grey.first_seen != 0 ? it->grey.passed - it->grey.first_seen : -1);
    }
}

/* ctl_group_cmp - qsort: more entries first, then by key */
static int
ctl_group_cmp(const void *a, const void *b)
{
    const struct ctl_group *x = a, *y = b;

    if (x->n != y->n)
        return x->n < y->n ? 1 : -1;
    return strcmp(x->key, y->key);
}

/* ctl_groups_sort - the used groups first, sorted; returns their number */
static size_t
ctl_groups_sort(struct ctl_groups *gs)
{
    size_t  n = 0;

    for (size_t i = 0; i < gs->cap; i++)
        if (gs->g[i].key[0] != 0)
            gs->g[n++] = gs->g[i];
    if (n > 0)
        qsort(gs->g, n, sizeof(*gs->g), ctl_group_cmp);
    return n;
}

/* ctl_report_text_part - one part for a human: a heading and the top groups */
static void
ctl_report_text_part(const struct ctl *x, const char *title, struct ctl_groups *gs,
                     int delays)
{
    size_t  n = ctl_groups_sort(gs);
    char    a[64], b[64];

    printf("%s: %" PRIu64 " triplets from %zu client keys\n", title, gs->total, n);
    for (size_t i = 0; i < n && (x->verbose || i < CTL_REPORT_TOP); i++) {
        const struct ctl_group *g = &gs->g[i];

        printf("  %8" PRIu64 "  %-40s %s .. %s", g->n, g->key, ctl_time(g->first, a, sizeof(a)),
               ctl_time(g->last, b, sizeof(b)));
        if (delays && g->ndelay > 0)
            printf("  delay min %" PRId64 "s avg %" PRId64 "s max %" PRId64 "s", g->delay_min,
                   g->delay_sum / (int64_t) g->ndelay, g->delay_max);
        else if (delays)
            printf("  delay not kept by this store");
        printf("\n");
    }
    if (n > CTL_REPORT_TOP && !x->verbose)
        printf("  (%zu more client keys; -v lists them all)\n", n - CTL_REPORT_TOP);
}

/* ctl_report_json_part - one part as a JSON object */
static void
ctl_report_json_part(const char *name, struct ctl_groups *gs, int delays)
{
    size_t  n = ctl_groups_sort(gs);

    printf("\"%s\":{\"triplets\":%" PRIu64 ",\"groups\":[", name, gs->total);
    for (size_t i = 0; i < n; i++) {
        const struct ctl_group *g = &gs->g[i];

        printf("%s{\"key\":", i ? "," : "");
        ctl_json_str(stdout, g->key);
        printf(",\"triplets\":%" PRIu64 ",\"first\":%" PRId64 ",\"last\":%" PRId64, g->n,
               g->first, g->last);
        if (delays && g->ndelay > 0)
            printf(",\"delay_min\":%" PRId64 ",\"delay_avg\":%" PRId64 ",\"delay_max\":%"
                   PRId64, g->delay_min, g->delay_sum / (int64_t) g->ndelay, g->delay_max);
        else if (delays)
            printf(",\"delay_min\":null,\"delay_avg\":null,\"delay_max\":null");
        printf("}");
    }
    printf("]}");
}

/* ctl_walk_report - see ctl_walk.h */
int
ctl_walk_report(const struct ctl *x)
{
    struct ctl_report r;
    struct store_walk w;
    char    err[STORE_ERRLEN] = "", when[64];
    int     rc = CTL_OK;

    memset(&r, 0, sizeof(r));
    memset(&w, 0, sizeof(w));
    r.x = x;
    store_params_get(x->st, &r.p);
    w.visit = ctl_report_visit;
    w.visit_arg = &r;
    /* The first step's clock is the report's "now"; until then, the local one. */
    r.now = (int64_t) time(NULL);
    while (!w.done && rc == CTL_OK) {
        if (store_count_step(x->st, &w, err, sizeof(err)) < 0) {
            fprintf(stderr, "redgreyctl: report: %s\n", err);
            rc = CTL_TROUBLE;
        }
    }
    if (rc == CTL_OK && x->json) {
        printf("{\"now\":%" PRId64 ",\"since\":", r.now);
        ctl_json_time(stdout, x->since > 0 ? r.now - x->since : 0);
        printf(",\"delay\":%" PRId64 ",", r.p.delay);
        ctl_report_json_part("never_retried", &r.never, 0);
        printf(",");
        ctl_report_json_part("passed", &r.passed, 1);
        printf(",\"waiting\":%" PRIu64 "}\n", r.waiting);
    } else if (rc == CTL_OK) {
        if (x->since > 0)
            printf("report since %s\n", ctl_time(r.now - x->since, when, sizeof(when)));
        else
            printf("report of every entry in the store\n");
        ctl_report_text_part(x, "greylisted, never retried", &r.never, 0);
        ctl_report_text_part(x, "passed", &r.passed, 1);
        printf("still waiting for their first retry (less than delay): %" PRIu64 "\n",
               r.waiting);
    }
    free(r.never.g);
    free(r.passed.g);
    return rc;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ctl_walk.c - redgreyctl's commands over the whole store: stats (and,
 * with it, the big-sender set's version, age and size).
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

#include "bigsender.h"
#include "ctl.h"
#include "ctl_json.h"
#include "ctl_walk.h"
#include "netblock.h"
#include "store.h"

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

/* ctl_walk_report - see ctl_walk.h */
int
ctl_walk_report(const struct ctl *x)
{
    (void) x;
    fprintf(stderr, "redgreyctl: report: not available yet\n");
    return CTL_TROUBLE;
}

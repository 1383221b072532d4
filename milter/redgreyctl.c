/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * redgreyctl.c - the admin tool: the big-sender set in the store.
 *
 *   redgreyctl [-c FILE] spf-refresh      expand spf_domains now and store
 *   redgreyctl [-c FILE] [-v] spf-show    the stored set (-v: every block)
 *   redgreyctl [-c FILE] spf-test IP      is IP in the stored set?
 *
 * It reads the daemon's configuration for the store and the DNS settings
 * and works on the store directly, so it needs no running daemon; daemons
 * pick a new version up at their next poll. Exit status, as grep(1): 0
 * done / listed, 1 nothing stored / not listed / no set, 2 trouble (usage,
 * configuration, store, DNS setup), so that cron and scripts can tell.
 */
#include "config.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bigsender.h"
#include "cfg.h"
#include "cfg_store.h"
#include "log.h"
#include "refresh.h"
#include "spf_shared.h"
#include "store.h"

#define CTL_OK       0                   /* done, listed */
#define CTL_NO       1                   /* nothing stored, not listed, no set */
#define CTL_TROUBLE  2                   /* usage, configuration, store */

/* ctl_usage - the synopsis */
static void
ctl_usage(FILE *fp)
{
    fprintf(fp,
            "usage: redgreyctl [-c FILE] [-v] COMMAND\n"
            "  spf-refresh   expand the SPF records of spf_domains now and store the set\n"
            "  spf-show      print the stored big-sender set (-v: every block)\n"
            "  spf-test IP   exit 0 if IP is in the stored set, 1 if not\n"
            "  -c FILE       configuration file (default %s)\n"
            "  -v            verbose\n"
            "  -h            print this help and exit\n",
            CFG_DEFAULT_PATH);
}

/* ctl_time - a unix time as "2024-06-10 06:13:20 UTC" into buf */
static const char *
ctl_time(int64_t t, char *buf, size_t len)
{
    time_t  tt = (time_t) t;
    struct tm tm;

    if (gmtime_r(&tt, &tm) == NULL || strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
        snprintf(buf, len, "%" PRId64, t);
    return buf;
}

/* ctl_open - the store the configuration names; NULL after printing why */
static struct store *
ctl_open(const struct cfg *c)
{
    struct store_config sc;
    struct store *st;
    char    err[STORE_ERRLEN + 128];

    /* As the daemon opens it, so that keys and limits agree; one connection is enough. */
    cfg_store_config(c, &sc);
    sc.pool = 1;
    if ((st = store_open(&sc, err, sizeof(err))) == NULL)
        fprintf(stderr, "redgreyctl: %s\n", err);
    else if (err[0] != '\0') {          /* a Redis that cannot serve now: an admin wants to know */
        fprintf(stderr, "redgreyctl: %s\n", err);
        store_free(st);
        st = NULL;
    }
    return st;
}

/*
 * ctl_load - the stored set, parsed: CTL_OK with *set (caller frees),
 * *meta and *info; CTL_NO if there is none; CTL_TROUBLE after printing why
 */
static int
ctl_load(struct store *st, struct netset **set, struct store_blob_meta *meta,
         struct bigsender_info *info)
{
    char    err[STORE_ERRLEN] = "";
    char   *data = NULL;
    size_t  len = 0;
    int     rc = CTL_OK;

    switch (store_blob_get(st, BIGSENDER_BLOB, &data, &len, meta, err, sizeof(err))) {
    case STORE_BLOB_ABSENT:
        printf("no big-sender set in the store\n");
        return CTL_NO;
    case STORE_BLOB_ERROR:
        fprintf(stderr, "redgreyctl: reading the stored set: %s\n", err);
        return CTL_TROUBLE;
    case STORE_BLOB_FOUND:
        break;
    }
    if (bigsender_parse(data, len, set, info, err, sizeof(err)) < 0) {
        fprintf(stderr, "redgreyctl: the stored set (version %" PRIu64 ") is damaged: %s\n",
                meta->version, err);
        rc = CTL_TROUBLE;
    }
    free(data);
    return rc;
}

/* ctl_refresh - spf-refresh: expand, print the report, store if decided */
static int
ctl_refresh(const struct cfg *c, struct store *st, int verbose)
{
    struct refresh_outcome out;
    const struct spf_expand_report *r = &out.result.report;
    char    err[CFG_ERRLEN] = "", when[64];
    int     rc;

    if (refresh_expand(c, st, &out, err, sizeof(err)) < 0) {
        fprintf(stderr, "redgreyctl: spf-refresh: %s\n", err);
        refresh_outcome_fini(&out);
        return CTL_TROUBLE;
    }
    printf("expansion %s: %zu domains (%u without ranges), %u records, %u DNS lookups,"
           " %zu ranges\n", spf_expand_status_name(out.result.status), out.ndomains,
           r->domains_empty, r->records, r->lookups, out.ranges);
    printf("problems: %u skipped, %u malformed, %u too broad, %u loops, %u capped,"
           " %u DNS failures, %u without a record, %u host bits cleared\n", r->skipped,
           r->malformed, r->too_broad, r->loops, r->capped, r->dns_failures, r->no_record,
           r->host_bits);

    /* The notes name what was skipped or failed; host bits only with -v. */
    for (unsigned i = 0; i < r->nnotes; i++)
        if (verbose || r->notes[i].kind != SPF_EXPAND_NOTE_HOST_BITS)
            printf("  %s: %s\n", spf_expand_note_kind_name(r->notes[i].kind),
                   r->notes[i].text);
    if (r->notes_dropped > 0)
        printf("  (%u more notes not kept)\n", r->notes_dropped);

    if (out.stored) {
        printf("stored: version %" PRIu64 ", %zu ranges, at %s\n", out.meta.version, out.ranges,
               ctl_time(out.meta.stamp, when, sizeof(when)));
        rc = CTL_OK;
    } else if (out.have_old) {
        printf("not stored (expansion %s): the stored set (version %" PRIu64
               ", %zu ranges, from %s) is kept\n", spf_expand_status_name(out.result.status),
               out.old.version, out.old_ranges, ctl_time(out.old.stamp, when, sizeof(when)));
        rc = CTL_NO;
    } else {
        printf("not stored (expansion %s): no ranges found\n",
               spf_expand_status_name(out.result.status));
        rc = CTL_NO;
    }
    refresh_outcome_fini(&out);
    return rc;
}

/* ctl_print_block - netset_blocks callback for spf-show -v */
static void
ctl_print_block(const struct netblock *nb, void *arg)
{
    char    text[NETBLOCK_STRLEN];

    (void) arg;
    printf("%s\n", netblock_format(nb, text, sizeof(text)));
}

/* ctl_show - spf-show: version, times, counts; -v every block */
static int
ctl_show(struct store *st, int verbose)
{
    struct netset *set = NULL;
    struct store_blob_meta meta;
    struct bigsender_info info;
    char    when[64], expanded[64];
    int     rc;

    if ((rc = ctl_load(st, &set, &meta, &info)) != CTL_OK)
        return rc;
    printf("version %" PRIu64 "\nstored %s\nexpanded %s\nstatus %s\nblocks %zu\nranges %zu\n",
           meta.version, ctl_time(meta.stamp, when, sizeof(when)),
           ctl_time(info.expanded, expanded, sizeof(expanded)),
           info.partial ? "partial" : "complete", info.blocks, netset_count(set));
    if (verbose)
        netset_blocks(set, ctl_print_block, NULL);
    netset_free(set);
    return CTL_OK;
}

/* ctl_test - spf-test IP: 0 listed, 1 not listed or no set, 2 trouble */
static int
ctl_test(struct store *st, const char *text)
{
    struct netset *set = NULL;
    struct store_blob_meta meta;
    struct bigsender_info info;
    struct ipaddr ip;
    char    shown[IPADDR_STRLEN];
    int     rc, found;

    if (ipaddr_parse(text, &ip) < 0) {
        fprintf(stderr, "redgreyctl: spf-test: \"%.64s\" is not an IP address\n", text);
        return CTL_TROUBLE;
    }
    if ((rc = ctl_load(st, &set, &meta, &info)) != CTL_OK)
        return rc;
    found = netset_contains(set, &ip);
    printf("%s: %s the big-sender set (version %" PRIu64 ")\n",
           ipaddr_format(&ip, shown, sizeof(shown)), found ? "in" : "not in", meta.version);
    netset_free(set);
    return found ? CTL_OK : CTL_NO;
}

/* main - options, configuration, store, one command */
int
main(int argc, char **argv)
{
    const char *path = CFG_DEFAULT_PATH;
    const char *cmd;
    int     verbose = 0, ch, rc, nargs;
    char    err[CFG_ERRLEN];
    struct cfg *c;
    struct store *st;

    while ((ch = getopt(argc, argv, "c:vh")) != -1) {
        switch (ch) {
        case 'c':
            path = optarg;
            break;
        case 'v':
            verbose = 1;
            break;
        case 'h':
            ctl_usage(stdout);
            return CTL_OK;
        default:
            ctl_usage(stderr);
            return CTL_TROUBLE;
        }
    }
    if (optind >= argc) {
        ctl_usage(stderr);
        return CTL_TROUBLE;
    }
    cmd = argv[optind];
    nargs = argc - optind - 1;
    if (strcmp(cmd, "spf-verdict") == 0)
        return spf_shared_verdict(path, nargs, argv + optind + 1);
    if (!((strcmp(cmd, "spf-refresh") == 0 && nargs == 0)
          || (strcmp(cmd, "spf-show") == 0 && nargs == 0)
          || (strcmp(cmd, "spf-test") == 0 && nargs == 1))) {
        fprintf(stderr, "redgreyctl: unknown command or wrong arguments: %.64s\n", cmd);
        ctl_usage(stderr);
        return CTL_TROUBLE;
    }

    if ((c = cfg_load(path, err, sizeof(err))) == NULL) {
        fprintf(stderr, "redgreyctl: %s\n", err);
        return CTL_TROUBLE;
    }
    /* Messages of the shared code (store, expansion) go to stderr. */
    log_init("redgreyctl", c->log_facility, c->log_level, 1);
    if ((st = ctl_open(c)) == NULL) {
        cfg_free(c);
        return CTL_TROUBLE;
    }
    if (strcmp(cmd, "spf-refresh") == 0)
        rc = ctl_refresh(c, st, verbose);
    else if (strcmp(cmd, "spf-show") == 0)
        rc = ctl_show(st, verbose);
    else
        rc = ctl_test(st, argv[optind + 1]);
    if (fflush(stdout) != 0)
        rc = CTL_TROUBLE;
    store_free(st);
    cfg_free(c);
    return rc;
}

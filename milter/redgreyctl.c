/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * redgreyctl.c - the admin tool: options, the store, and the commands on
 * the store as a whole.
 *
 *   redgreyctl [-c FILE] [--json] stats          counts and the big-sender set
 *   redgreyctl ... lookup IP SENDER RECIPIENT    key, state, decision (ctl_entry.c)
 *   redgreyctl ... pass | delete IP SENDER RECIPIENT
 *   redgreyctl ... report [--since DURATION]     never retried, and delays (ctl_walk.c)
 *   redgreyctl [--json] log-report [FILE...]     the same by sender domain, from the
 *                                                decision log lines (ctl_logreport.c)
 *   redgreyctl [-c FILE] spf-refresh      expand spf_domains now and store
 *   redgreyctl [-c FILE] [-v] spf-show    the stored set (-v: every block)
 *   redgreyctl [-c FILE] spf-test IP      is IP in the stored set?
 *   redgreyctl [-c FILE] spf-clear        delete the stored set
 *
 * It reads the daemon's configuration for the store and the DNS settings
 * and works on the store directly, so it needs no running daemon; daemons
 * pick a new version up at their next poll. Exit status, as grep(1): 0
 * done / listed / would pass, 1 nothing stored / not listed / no set /
 * would greylist, 2 trouble (usage, configuration, store, DNS setup), so
 * that cron and scripts can tell.
 *
 * Run as root on an LMDB store, it first becomes the owner of the store's
 * files (of data.mdb, else of the directory), so that the files and locks
 * LMDB creates stay the daemon's; it refuses when it cannot.
 */
#include "config.h"

#include <getopt.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bigsender.h"
#include "cfg.h"
#include "cfg_store.h"
#include "ctl.h"
#include "ctl_entry.h"
#include "ctl_json.h"
#include "ctl_logreport.h"
#include "ctl_walk.h"
#include "log.h"
#include "refresh.h"
#include "spf_shared.h"
#include "store.h"

/* Long options; the letters are for getopt_long's switch only. */
enum { CTL_OPT_JSON = 256, CTL_OPT_SINCE, CTL_OPT_HELO };

static const struct option ctl_options[] = {
    {"json", no_argument, NULL, CTL_OPT_JSON},
    {"since", required_argument, NULL, CTL_OPT_SINCE},
    {"helo", required_argument, NULL, CTL_OPT_HELO},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* The commands: name and number of arguments. */
static const struct ctl_command {
    const char *name;
    int     nargs;
} ctl_commands[] = {
    {"stats", 0}, {"lookup", 3}, {"pass", 3}, {"delete", 3}, {"report", 0},
    {"spf-refresh", 0}, {"spf-show", 0}, {"spf-test", 1}, {"spf-clear", 0},
};

/* ctl_usage - the synopsis */
static void
ctl_usage(FILE *fp)
{
    fprintf(fp,
            "usage: redgreyctl [-c FILE] [-v] [--json] COMMAND [ARGS]\n"
            "  stats                        pending and passed triplets, AWL entries,"
            " big-sender set\n"
            "  lookup IP SENDER RECIPIENT   the key, its state, the decision now"
            " (exit 0 pass, 1 greylist)\n"
            "  pass IP SENDER RECIPIENT     release: the next attempt passes\n"
            "  delete IP SENDER RECIPIENT   forget the triplet\n"
            "  report [--since DURATION]    greylisted and never retried, passed with"
            " their delays\n"
            "  log-report [FILE...]         the same from redgrey's log lines, by sender"
            " domain and client key\n"
            "  spf-refresh   expand the SPF records of spf_domains now and store the set\n"
            "  spf-show      print the stored big-sender set (-v: every block)\n"
            "  spf-test IP   exit 0 if IP is in the stored set, 1 if not\n"
            "  spf-verdict DOMAIN IP [SENDER]  how SPF keys mail from DOMAIN at IP,"
            " and why\n"
            "  spf-clear     delete the stored big-sender set\n"
            "  -c FILE       configuration file (default %s)\n"
            "  --json        print one JSON document\n"
            "  --helo NAME   lookup, pass, delete: the HELO name (SPF of the null sender)\n"
            "  -v            verbose\n"
            "  -h            print this help and exit\n",
            CFG_DEFAULT_PATH);
}

/* ctl_time - a unix time as "2024-06-10 06:13:20 UTC" into buf */
const char *
ctl_time(int64_t t, char *buf, size_t len)
{
    time_t  tt = (time_t) t;
    struct tm tm;

    if (gmtime_r(&tt, &tm) == NULL || strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
        snprintf(buf, len, "%" PRId64, t);
    return buf;
}

/*
 * ctl_become_owner - as root on an LMDB store, become the owner of its
 * files (data.mdb's, else the directory's) unless that is root; 0, or -1
 * after printing why
 */
static int
ctl_become_owner(const struct cfg *c)
{
    char    data[PATH_MAX];
    struct stat sb;
    const char *dir;

    if (geteuid() != 0 || c->store == NULL || strncmp(c->store, "lmdb:", 5) != 0)
        return 0;
    dir = c->store + 5;
    snprintf(data, sizeof(data), "%s/data.mdb", dir);
    if (stat(data, &sb) != 0 && stat(dir, &sb) != 0)
        return 0;                        /* store_open says what is wrong */
    if (sb.st_uid == 0)
        return 0;
    if (setgroups(0, NULL) != 0 || setgid(sb.st_gid) != 0 || setuid(sb.st_uid) != 0) {
        fprintf(stderr, "redgreyctl: running as root, cannot become the owner (uid %ld) of"
                " the LMDB store %s: refusing, so that its files stay the daemon's\n",
                (long) sb.st_uid, dir);
        return -1;
    }
    return 0;
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
ctl_load(struct store *st, int json, struct netset **set, struct store_blob_meta *meta,
         struct bigsender_info *info)
{
    char    err[STORE_ERRLEN] = "";
    char   *data = NULL;
    size_t  len = 0;
    int     rc = CTL_OK;

    switch (store_blob_get(st, BIGSENDER_BLOB, &data, &len, meta, err, sizeof(err))) {
    case STORE_BLOB_ABSENT:
        printf(json ? "{\"bigsenders\":null}\n" : "no big-sender set in the store\n");
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

/* ctl_refresh_json - spf-refresh's outcome as one JSON object */
static void
ctl_refresh_json(const struct refresh_outcome *out, int verbose)
{
    const struct spf_expand_report *r = &out->result.report;
    int     first = 1;

    printf("{\"status\":");
    ctl_json_str(stdout, spf_expand_status_name(out->result.status));
    printf(",\"domains\":%zu,\"records\":%u,\"lookups\":%u,\"ranges\":%zu,\"notes\":[",
           out->ndomains, r->records, r->lookups, out->ranges);
    for (unsigned i = 0; i < r->nnotes; i++) {
        if (!verbose && r->notes[i].kind == SPF_EXPAND_NOTE_HOST_BITS)
            continue;
        printf("%s{\"kind\":", first ? "" : ",");
        ctl_json_str(stdout, spf_expand_note_kind_name(r->notes[i].kind));
        printf(",\"text\":");
        ctl_json_str(stdout, r->notes[i].text);
        printf("}");
        first = 0;
    }
    printf("],\"stored\":%s,\"version\":", out->stored ? "true" : "false");
    if (out->stored)
        printf("%" PRIu64 "}\n", out->meta.version);
    else if (out->have_old)
        printf("%" PRIu64 "}\n", out->old.version);
    else
        printf("null}\n");
}

/* ctl_refresh - spf-refresh: expand, print the report, store if decided */
static int
ctl_refresh(const struct cfg *c, struct store *st, int verbose, int json)
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
    if (json) {
        ctl_refresh_json(&out, verbose);
        rc = out.stored ? CTL_OK : CTL_NO;
        refresh_outcome_fini(&out);
        return rc;
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

/* ctl_print_block - netset_blocks callback for spf-show -v; arg: NULL text, else a JSON count */
static void
ctl_print_block(const struct netblock *nb, void *arg)
{
    char    text[NETBLOCK_STRLEN];
    int    *n = arg;

    netblock_format(nb, text, sizeof(text));
    if (n == NULL) {
        printf("%s\n", text);
        return;
    }
    printf("%s", (*n)++ ? "," : "");
    ctl_json_str(stdout, text);
}

/* ctl_show - spf-show: version, times, counts; -v every block */
static int
ctl_show(struct store *st, int verbose, int json)
{
    struct netset *set = NULL;
    struct store_blob_meta meta;
    struct bigsender_info info;
    char    when[64], expanded[64];
    int     rc, n = 0;

    if ((rc = ctl_load(st, json, &set, &meta, &info)) != CTL_OK)
        return rc;
    if (json) {
        printf("{\"bigsenders\":{\"version\":%" PRIu64 ",\"stored\":%" PRId64 ",\"expanded\":%"
               PRId64 ",\"partial\":%s,\"blocks\":%zu,\"ranges\":%zu", meta.version,
               meta.stamp, info.expanded, info.partial ? "true" : "false", info.blocks,
               netset_count(set));
        if (verbose) {
            printf(",\"list\":[");
            netset_blocks(set, ctl_print_block, &n);
            printf("]");
        }
        printf("}}\n");
        netset_free(set);
        return CTL_OK;
    }
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
ctl_test(struct store *st, const char *text, int json)
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
    if ((rc = ctl_load(st, json, &set, &meta, &info)) != CTL_OK)
        return rc;
    found = netset_contains(set, &ip);
    ipaddr_format(&ip, shown, sizeof(shown));
    if (json)
        printf("{\"ip\":\"%s\",\"in\":%s,\"version\":%" PRIu64 "}\n", shown,
               found ? "true" : "false", meta.version);
    else
        printf("%s: %s the big-sender set (version %" PRIu64 ")\n", shown,
               found ? "in" : "not in", meta.version);
    netset_free(set);
    return found ? CTL_OK : CTL_NO;
}

/* ctl_clear - spf-clear: delete the stored set; 0 deleted, 1 there was none */
static int
ctl_clear(const struct ctl *x)
{
    char    err[STORE_ERRLEN] = "";
    int     existed;

    if (store_blob_delete(x->st, BIGSENDER_BLOB, &existed, err, sizeof(err)) < 0) {
        fprintf(stderr, "redgreyctl: spf-clear: %s\n", err);
        return CTL_TROUBLE;
    }
    if (x->json)
        printf("{\"deleted\":%s}\n", existed ? "true" : "false");
    else
        printf("%s\n", existed ? "big-sender set deleted from the store"
               : "no big-sender set in the store");
    return existed ? CTL_OK : CTL_NO;
}

/* ctl_find - the command named cmd taking nargs arguments, or NULL */
static const struct ctl_command *
ctl_find(const char *cmd, int nargs)
{
    for (size_t i = 0; i < sizeof(ctl_commands) / sizeof(ctl_commands[0]); i++)
        if (strcmp(ctl_commands[i].name, cmd) == 0 && ctl_commands[i].nargs == nargs)
            return &ctl_commands[i];
    return NULL;
}

/* ctl_run - one command on the open store; its exit code */
static int
ctl_run(struct ctl *x, const char *cmd, char **args, const char *helo)
{
    if (strcmp(cmd, "stats") == 0)
        return ctl_walk_stats(x);
    if (strcmp(cmd, "report") == 0)
        return ctl_walk_report(x);
    if (strcmp(cmd, "lookup") == 0)
        return ctl_entry_lookup(x, args[0], args[1], args[2], helo);
    if (strcmp(cmd, "pass") == 0 || strcmp(cmd, "delete") == 0)
        return ctl_entry_change(x, cmd[0] == 'd', args[0], args[1], args[2], helo);
    if (strcmp(cmd, "spf-refresh") == 0)
        return ctl_refresh(x->c, x->st, x->verbose, x->json);
    if (strcmp(cmd, "spf-show") == 0)
        return ctl_show(x->st, x->verbose, x->json);
    if (strcmp(cmd, "spf-clear") == 0)
        return ctl_clear(x);
    return ctl_test(x->st, args[0], x->json);
}

/* main - options, configuration, store, one command */
int
main(int argc, char **argv)
{
    const char *path = CFG_DEFAULT_PATH, *since = NULL, *helo = NULL;
    const char *cmd;
    int     ch, rc, nargs;
    char    err[CFG_ERRLEN];
    struct cfg *c;
    struct ctl x;

    memset(&x, 0, sizeof(x));
    while ((ch = getopt_long(argc, argv, "c:vh", ctl_options, NULL)) != -1) {
        switch (ch) {
        case 'c':
            path = optarg;
            break;
        case 'v':
            x.verbose = 1;
            break;
        case CTL_OPT_JSON:
            x.json = 1;
            break;
        case CTL_OPT_SINCE:
            since = optarg;
            break;
        case CTL_OPT_HELO:
            helo = optarg;
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
    /* spf-verdict needs DNS, not the store; log-report only its files. */
    if (strcmp(cmd, "spf-verdict") == 0)
        return spf_shared_verdict(path, nargs, argv + optind + 1);
    if (strcmp(cmd, "log-report") == 0 && since == NULL && helo == NULL)
        return ctl_logreport(nargs, argv + optind + 1, x.verbose, x.json);
    if (ctl_find(cmd, nargs) == NULL || (since != NULL && strcmp(cmd, "report") != 0)) {
        fprintf(stderr, "redgreyctl: unknown command or wrong arguments: %.64s\n", cmd);
        ctl_usage(stderr);
        return CTL_TROUBLE;
    }
    if (since != NULL && (cfg_parse_duration(since, &x.since) < 0 || (x.since /= 1000) <= 0)) {
        fprintf(stderr, "redgreyctl: --since %.64s: want a duration such as 90m, 24h or 7d\n",
                since);
        return CTL_TROUBLE;
    }

    if ((c = cfg_load(path, err, sizeof(err))) == NULL) {
        fprintf(stderr, "redgreyctl: %s\n", err);
        return CTL_TROUBLE;
    }
    x.c = c;
    /* Messages of the shared code (store, expansion) go to stderr. */
    log_init("redgreyctl", c->log_facility, c->log_level, 1);
    if (ctl_become_owner(c) < 0 || (x.st = ctl_open(c)) == NULL) {
        cfg_free(c);
        return CTL_TROUBLE;
    }
    rc = ctl_run(&x, cmd, argv + optind + 1, helo);
    if (fflush(stdout) != 0)
        rc = CTL_TROUBLE;
    spf_shared_fini();
    store_free(x.st);
    cfg_free(c);
    return rc;
}

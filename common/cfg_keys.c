/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cfg_keys.c - the table of configuration keys: the single source of
 * truth for every key's name, type, default (the text a config line
 * would hold), range, struct cfg field, setter and help line.
 *
 * cfg_defaults() runs the default texts through the same setters as the
 * file, so a default can never be something the parser would refuse.
 * redgrey.conf(5) and the sample contrib/redgrey.conf describe the same
 * table; tests/check_cfg.c checks that they agree with it. Besides the
 * table this file holds only what the rows point to: the names of the
 * enumerated values and their parsers.
 */
#include "config.h"

#include <stddef.h>
#include <string.h>

#include "ascii.h"
#include "cfg_dnsbl.h"
#include "cfg_priv.h"
#include "dnsbl_sites.h"
#include "log.h"
#include "metrics.h"

static int cfg_keys_on_error_parse(const char *name);
static int cfg_keys_null_stage_parse(const char *name);
static int cfg_keys_mode_parse(const char *name);
static int cfg_keys_greylist_parse(const char *name);

static const char *const cfg_keys_on_error_names[] = {"accept", "tempfail", NULL};
static const char *const cfg_keys_null_stage_names[] = {"data", "rcpt", NULL};
static const char *const cfg_keys_mode_names[] = {"enforce", "learn", NULL};
static const char *const cfg_keys_greylist_names[] = {"all", "suspicious", NULL};
static const char *const cfg_keys_level_names[] = {
    "debug", "info", "notice", "warning", "err", NULL,
};
static const char *const cfg_keys_facility_names[] = {
    "mail", "daemon", "user", "local0", "local1", "local2", "local3",
    "local4", "local5", "local6", "local7", NULL,
};

#define OFF(field) offsetof(struct cfg, field)
/* The largest score magnitude: every site's weight at its bound. */
#define CFG_KEYS_SCORE_MAX ((int64_t) DNSBL_WEIGHT_MAX * DNSBL_SITES_MAX)

/*
 * The table: the single source of truth for names, defaults and ranges.
 * Keep redgrey.conf(5) and contrib/redgrey.conf in step (check_cfg tests
 * that every default appears in both).
 */
const struct cfg_key cfg_keys[] = {
    {"socket", CFG_TYPE_STRING, "unix:/var/spool/postfix/redgrey/redgrey.sock", 1, 1024, OFF(socket),
     cfg_set_socket, NULL, NULL, "where the MTA connects: unix:PATH, inet:PORT@HOST, inet6:PORT@HOST"},
    {"store", CFG_TYPE_STRING, "lmdb:/var/lib/redgrey", 1, 1024, OFF(store),
     cfg_set_store, NULL, NULL, "lmdb:/DIR (one host), redis://... or redis+unix://... (a cluster)"},
    {"delay", CFG_TYPE_SECONDS, "5m", 1 * CFG_SEC, 24 * CFG_HOUR, OFF(delay),
     cfg_set_seconds, NULL, NULL, "a retry passes once this long has gone by since the first attempt"},
    {"retry_window", CFG_TYPE_SECONDS, "48h", 1 * CFG_SEC, 30 * CFG_DAY, OFF(retry_window),
     cfg_set_seconds, NULL, NULL, "how long a greylisted triplet waits for its retry; more than delay"},
    {"pass_ttl", CFG_TYPE_SECONDS, "36d", 1 * CFG_SEC, 365 * CFG_DAY, OFF(pass_ttl),
     cfg_set_seconds, NULL, NULL, "how long a triplet that passed stays known since its last use"},
    {"netmask_v4", CFG_TYPE_INT, "24", 0, 32, OFF(netmask_v4),
     cfg_set_int, NULL, NULL, "IPv4 clients of one such network count as one client"},
    {"netmask_v6", CFG_TYPE_INT, "64", 0, 128, OFF(netmask_v6),
     cfg_set_int, NULL, NULL, "IPv6 clients of one such network count as one client"},
    {"awl_threshold", CFG_TYPE_INT64, "3", 0, 1000, OFF(awl_threshold),
     cfg_set_int64, NULL, NULL, "passed triplets after which a client and sender domain skip greylisting; 0 = off"},
    {"awl_ttl", CFG_TYPE_SECONDS, "36d", 1 * CFG_SEC, 365 * CFG_DAY, OFF(awl_ttl),
     cfg_set_seconds, NULL, NULL, "how long an auto-whitelist entry lives since its last use"},
    {"trusted_networks", CFG_TYPE_NETS, "127.0.0.0/8 ::1/128", 0, 0, OFF(trusted_networks),
     cfg_set_nets, NULL, NULL, "clients never greylisted; blank or comma separated; empty = none"},
    {"on_store_error", CFG_TYPE_ENUM, "accept", 0, 0, OFF(on_store_error),
     cfg_set_enum, cfg_keys_on_error_parse, cfg_keys_on_error_names, "when the store fails: accept the mail or tempfail it"},
    {"store_timeout", CFG_TYPE_MSECS, "250ms", 10, 10 * CFG_SEC, OFF(store_timeout_ms),
     cfg_set_msecs, NULL, NULL, "connect and command timeout of the store"},
    {"milter_timeout", CFG_TYPE_SECONDS, "30m", 1 * CFG_SEC, 7210 * CFG_SEC, OFF(milter_timeout),
     cfg_set_seconds, NULL, NULL, "how long a session may wait for the MTA's next command before it is dropped"},
    {"store_pool", CFG_TYPE_INT, "8", 1, 256, OFF(store_pool),
     cfg_set_int, NULL, NULL, "Redis connections shared by the milter threads"},
    {"key_prefix", CFG_TYPE_STRING, "rg:", 1, 64, OFF(key_prefix),
     cfg_set_prefix, NULL, NULL, "prefix of every store key"},
    {"reply", CFG_TYPE_STRING, "451 4.7.1 Greylisted, please try again later", 1, 256, OFF(reply),
     cfg_set_reply, NULL, NULL, "the tempfail reply: 4xx code, enhanced code 4.X.Y, text"},
    {"header", CFG_TYPE_BOOL, "yes", 0, 1, OFF(header),
     cfg_set_bool, NULL, NULL, "add X-Greylist to messages that were delayed"},
    {"user", CFG_TYPE_STRING, "redgrey", 0, 32, OFF(user),
     cfg_set_account, NULL, NULL, "user to run as after opening the socket; empty = do not change"},
    {"group", CFG_TYPE_STRING, "", 0, 32, OFF(group),
     cfg_set_account, NULL, NULL, "group to run as; empty = the user's primary group"},
    {"pidfile", CFG_TYPE_STRING, "/run/redgrey/redgrey.pid", 0, 1024, OFF(pidfile),
     cfg_set_path, NULL, NULL, "where to write the process id; empty = nowhere"},
    {"log_level", CFG_TYPE_ENUM, "info", 0, 0, OFF(log_level),
     cfg_set_enum, log_level_parse, cfg_keys_level_names, "least important messages logged"},
    {"log_facility", CFG_TYPE_ENUM, "mail", 0, 0, OFF(log_facility),
     cfg_set_enum, log_facility_parse, cfg_keys_facility_names, "syslog facility"},
    {"lmdb_mapsize", CFG_TYPE_SIZE, "4G", 1 * CFG_MIB, 1 * CFG_TIB, OFF(lmdb_mapsize),
     cfg_set_size, NULL, NULL, "largest size of the LMDB store"},
    {"spf_keying", CFG_TYPE_BOOL, "yes", 0, 1, OFF(spf_keying),
     cfg_set_bool, NULL, NULL, "key mail that passes SPF on spf:DOMAIN instead of the netblock"},
    {"spf_probe", CFG_TYPE_STRING, "", 0, 64, OFF(spf_probe),
     cfg_set_ip, NULL, NULL, "an address no real sender uses (our MX); a record passing it is over-broad"},
    {"dns_timeout", CFG_TYPE_MSECS, "5s", 100, 20 * CFG_SEC, OFF(dns_timeout_ms),
     cfg_set_msecs, NULL, NULL, "DNS time budget of one SPF check"},
    {"dns_servers", CFG_TYPE_STRING, "", 0, 256, OFF(dns_servers),
     cfg_set_servers, NULL, NULL, "IPv4[:PORT] resolvers for SPF, blank separated; empty = resolv.conf"},
    {"spf_domains", CFG_TYPE_STRING, "", 0, 1024, OFF(spf_domains),
     cfg_set_path, NULL, NULL, "file of big sender domains whose SPF ranges skip greylisting; empty = none"},
    {"spf_refresh", CFG_TYPE_SECONDS, "24h", 1 * CFG_MIN, 30 * CFG_DAY, OFF(spf_refresh),
     cfg_set_seconds, NULL, NULL, "how often the big sender ranges are expanded again"},
    {"null_sender_stage", CFG_TYPE_ENUM, "data", 0, 0, OFF(null_sender_stage),
     cfg_set_enum, cfg_keys_null_stage_parse, cfg_keys_null_stage_names, "greylist the null sender <> at DATA or at RCPT"},
    {"whitelist_clients", CFG_TYPE_STRING, "", 0, 1024, OFF(whitelist_clients),
     cfg_set_path, NULL, NULL, "file of client networks never greylisted; empty = none"},
    {"whitelist_client_names", CFG_TYPE_STRING, "", 0, 1024, OFF(whitelist_client_names),
     cfg_set_path, NULL, NULL, "file of verified client names (name, .suffix) never greylisted"},
    {"whitelist_recipients", CFG_TYPE_STRING, CFG_DEFAULT_WHITELIST_RECIPIENTS, 0, 1024,
     OFF(whitelist_recipients),
     cfg_set_path, NULL, NULL, "file of recipients (user@, user@domain, @domain) never greylisted"},
    {"whitelist_sender_domains", CFG_TYPE_STRING, "", 0, 1024, OFF(whitelist_sender_domains),
     cfg_set_path, NULL, NULL, "file of sender domains never greylisted when SPF passes"},

    /* Operations: where the log goes, who may open the socket. */
    {"log_target", CFG_TYPE_STRING, "syslog", 1, 1029, OFF(log_target),
     cfg_set_log_target, NULL, NULL, "syslog, stderr or file:/PATH (reopened on SIGHUP); -f: syslog means stderr"},
    {"socket_group", CFG_TYPE_STRING, "postfix", 0, 32, OFF(socket_group),
     cfg_set_account, NULL, NULL, "group of a unix socket (mode 0660); empty = the run group"},

    /* Redis Sentinel. */
    {"sentinel_password", CFG_TYPE_STRING, "", 0, 255, OFF(sentinel_password),
     cfg_set_string, NULL, NULL, "password of the sentinels of a redis-sentinel:// store; empty = none"},
    /* The SPF keying guard. */
    {"spf_key_max_v4", CFG_TYPE_INT, "10", 1, 32, OFF(spf_key_max_v4),
     cfg_set_int, NULL, NULL, "a pass keys on the domain only if its record's IPv4 ranges add up to at most one /N"},
    {"spf_key_max_v6", CFG_TYPE_INT, "30", 1, 64, OFF(spf_key_max_v6),
     cfg_set_int, NULL, NULL, "a pass keys on the domain only if its record's IPv6 ranges add up to at most one /N"},
    /* Roll-out. */
    {"mode", CFG_TYPE_ENUM, "enforce", 0, 0, OFF(mode),
     cfg_set_enum, cfg_keys_mode_parse, cfg_keys_mode_names, "enforce greylists; learn decides and logs but never tempfails, and stores every triplet as passed"},
    /* Bounded cost per message. */
    {"spf_budget", CFG_TYPE_MSECS, "5s", 100, 20 * CFG_SEC, OFF(spf_budget_ms),
     cfg_set_msecs, NULL, NULL, "DNS time budget of all SPF work of one message"},
    /* Metrics. */
    {"metrics_listen", CFG_TYPE_STRING, "", 0, METRICS_LISTEN_MAX, OFF(metrics_listen),
     cfg_set_listen, NULL, NULL, "IPv4:PORT or [IPv6]:PORT serving GET /metrics (Prometheus); empty = off"},
    /* Abuse limits and outbound pairs. */
    {"max_new_per_client", CFG_TYPE_INT64, "200", 0, 1000000, OFF(max_new_per_client),
     cfg_set_int64, NULL, NULL, "new greylisted triplets per client (netblock or spf:domain) per hour; beyond: tempfail, nothing stored; 0 = off"},
    {"greytrap_recipients", CFG_TYPE_STRING, "", 0, 1024, OFF(greytrap_recipients),
     cfg_set_path, NULL, NULL, "file of addresses no one uses (as whitelist_recipients); a client that writes to one is trapped"},
    {"greytrap_ttl", CFG_TYPE_SECONDS, "24h", 1 * CFG_MIN, 30 * CFG_DAY, OFF(greytrap_ttl),
     cfg_set_seconds, NULL, NULL, "how long a trapped client stays trapped: none of its triplets pass"},
    {"outbound_ttl", CFG_TYPE_SECONDS, "90d", 0, 365 * CFG_DAY, OFF(outbound_ttl),
     cfg_set_seconds, NULL, NULL, "how long a reply to a recipient of a local user's mail skips greylisting; 0 = off"},
    /* Concurrent sessions per client IP. */
    {"max_sessions_per_client", CFG_TYPE_INT, "0", 0, 1000000, OFF(max_sessions_per_client),
     cfg_set_int, NULL, NULL, "connections of one client IP at once, across the cluster, before 421 at connect; 0 = off"},
    {"session_ttl", CFG_TYPE_SECONDS, "15m", 1 * CFG_SEC, 24 * CFG_HOUR, OFF(session_ttl),
     cfg_set_seconds, NULL, NULL, "longest a session counts against max_sessions_per_client, if it is never seen to end"},
    /* DNS lists and selective greylisting. */
    {"dnsbl_sites", CFG_TYPE_STRING, "", 0, DNSBL_SITES_TEXT_MAX, OFF(dnsbl_sites),
     cfg_set_dnsbl_sites, NULL, NULL, "DNS lists, postscreen syntax: zone[=filter][*weight], ...; empty = off"},
    {"dnsbl_threshold", CFG_TYPE_INT, "1", -CFG_KEYS_SCORE_MAX, CFG_KEYS_SCORE_MAX,
     OFF(dnsbl_threshold),
     cfg_set_int, NULL, NULL, "a DNS list score at or above it makes the client suspicious and delayed by delay_listed"},
    {"dnswl_threshold", CFG_TYPE_INT, "-1", -CFG_KEYS_SCORE_MAX, CFG_KEYS_SCORE_MAX,
     OFF(dnswl_threshold),
     cfg_set_int, NULL, NULL, "a DNS list score at or below it skips greylisting"},
    {"dnsbl_timeout", CFG_TYPE_MSECS, "2s", 100, 20 * CFG_SEC, OFF(dnsbl_timeout_ms),
     cfg_set_msecs, NULL, NULL, "one deadline for the queries of all DNS lists together"},
    {"delay_listed", CFG_TYPE_SECONDS, "15m", 1 * CFG_SEC, 24 * CFG_HOUR, OFF(delay_listed),
     cfg_set_seconds, NULL, NULL, "the delay of a client whose DNS list score reaches dnsbl_threshold"},
    {"greylist", CFG_TYPE_ENUM, "all", 0, 0, OFF(greylist),
     cfg_set_enum, cfg_keys_greylist_parse, cfg_keys_greylist_names, "greylist all clients, or only suspicious ones"},
    {"suspicious_no_rdns", CFG_TYPE_BOOL, "yes", 0, 1, OFF(suspicious_no_rdns),
     cfg_set_bool, NULL, NULL, "greylist = suspicious: a client without verified reverse DNS is suspicious"},
    {"suspicious_dynamic", CFG_TYPE_BOOL, "yes", 0, 1, OFF(suspicious_dynamic),
     cfg_set_bool, NULL, NULL, "greylist = suspicious: a client whose name looks dynamic is suspicious"},
    {"dynamic_patterns", CFG_TYPE_STRING, CFG_DEFAULT_DYNAMIC_PATTERNS, 0, 1024,
     OFF(dynamic_patterns),
     cfg_set_path, NULL, NULL, "file of patterns of dynamic client names (globs or substrings)"},
    {"suspicious_spf", CFG_TYPE_BOOL, "yes", 0, 1, OFF(suspicious_spf),
     cfg_set_bool, NULL, NULL, "greylist = suspicious: SPF fail or softfail for the sender is suspicious"},
};

const size_t cfg_keys_count = sizeof(cfg_keys) / sizeof(cfg_keys[0]);

_Static_assert(sizeof(cfg_keys) / sizeof(cfg_keys[0]) <= CFG_KEYS_MAX,
               "cfg_keys: raise CFG_KEYS_MAX in cfg_priv.h");

/* cfg_keys_on_error_parse - "accept" or "tempfail" (any case); -1 otherwise */
static int
cfg_keys_on_error_parse(const char *name)
{
    if (ascii_casecmp(name, "accept") == 0)
        return CFG_ON_ERROR_ACCEPT;
    if (ascii_casecmp(name, "tempfail") == 0)
        return CFG_ON_ERROR_TEMPFAIL;
    return -1;
}

/* cfg_keys_index - the index of name (any case) in the NULL-ended names, or -1 */
static int
cfg_keys_index(const char *const *names, const char *name)
{
    for (int i = 0; names[i] != NULL; i++)
        if (ascii_casecmp(name, names[i]) == 0)
            return i;
    return -1;
}

/* cfg_keys_null_stage_parse - "data" or "rcpt" to enum cfg_null_stage; -1 */
static int
cfg_keys_null_stage_parse(const char *name)
{
    return cfg_keys_index(cfg_keys_null_stage_names, name);
}

/* cfg_keys_mode_parse - "enforce" or "learn" to enum cfg_mode; -1 */
static int
cfg_keys_mode_parse(const char *name)
{
    return cfg_keys_index(cfg_keys_mode_names, name);
}

/* cfg_keys_greylist_parse - "all" or "suspicious" to enum cfg_greylist; -1 */
static int
cfg_keys_greylist_parse(const char *name)
{
    return cfg_keys_index(cfg_keys_greylist_names, name);
}

/* cfg_keys_find - the table row of a key name, or NULL */
const struct cfg_key *
cfg_keys_find(const char *name)
{
    for (size_t i = 0; i < cfg_keys_count; i++)
        if (strcmp(cfg_keys[i].name, name) == 0)
            return &cfg_keys[i];
    return NULL;
}

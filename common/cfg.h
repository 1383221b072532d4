/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cfg.h - the configuration file, parsed into one immutable struct cfg.
 *
 * The file is "key = value" lines with '#' comments. Every key, its
 * type, default and range live in one table in cfg_keys.c; redgrey.conf(5)
 * documents the same table. Any unknown key, bad value or unreadable file is an
 * error "FILE:LINE: reason" and the program refuses to start.
 *
 * Value types: durations ("90", "30s", "5m", "48h", "36d"; "250ms" where
 * milliseconds make sense), integers with ranges, sizes ("512M", "4G"),
 * booleans (yes/no, true/false, on/off, 1/0), strings, and lists of CIDRs
 * separated by blanks or commas. The parsers and formatters of single
 * values (cfg_parse_duration, cfg_parse_size, cfg_parse_bool) live in
 * cfg_value.h, included here.
 *
 * Thread-safety: a loaded cfg is read-only and may be shared by threads.
 */
#ifndef REDGREY_CFG_H
#define REDGREY_CFG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cfg_value.h"
#include "netblock.h"

#define CFG_DEFAULT_PATH "/etc/redgrey/redgrey.conf"
/* The installed recipient whitelist (postmaster@, abuse@): missing is a warning. */
#define CFG_DEFAULT_WHITELIST_RECIPIENTS "/etc/redgrey/whitelist_recipients"
#define CFG_ERRLEN 512
/* The installed dynamic reverse-name patterns: missing is a warning. */
#define CFG_DEFAULT_DYNAMIC_PATTERNS "/etc/redgrey/dynamic_patterns"

enum cfg_null_stage {
    CFG_NULL_STAGE_DATA,                 /* defer the <> tempfail to DATA */
    CFG_NULL_STAGE_RCPT,                 /* greylist <> at RCPT like any sender */
};

enum cfg_mode {
    CFG_MODE_ENFORCE,                    /* greylist */
    CFG_MODE_LEARN,                      /* decide and store as passed, never tempfail */
};

enum cfg_on_error {
    CFG_ON_ERROR_ACCEPT,                 /* skip greylisting, mail flows */
    CFG_ON_ERROR_TEMPFAIL,               /* tempfail with the reply */
};

enum cfg_greylist {
    CFG_GREYLIST_ALL,                    /* greylist every client not skipped */
    CFG_GREYLIST_SUSPICIOUS,             /* only suspicious ones (DNSBL, rDNS, SPF) */
};

struct cfg {
    char   *path;                        /* file it came from, or NULL */
    char   *socket;                      /* libmilter spec: inet:PORT@HOST, unix:PATH */
    char   *store;                       /* lmdb:/dir, redis://..., redis+unix://... */
    int64_t delay;                       /* seconds */
    int64_t retry_window;                /* seconds */
    int64_t pass_ttl;                    /* seconds */
    int     netmask_v4;                  /* 0..32 */
    int     netmask_v6;                  /* 0..128 */
    int64_t awl_threshold;               /* 0 = off */
    int64_t awl_ttl;                     /* seconds */
    struct netset *trusted_networks;     /* skip greylisting; finished set */
    char   *trusted_networks_text;       /* the same blocks as text, for cfg_dump */
    enum cfg_on_error on_store_error;
    int     store_timeout_ms;            /* connect and command timeout */
    int64_t milter_timeout;              /* seconds libmilter waits for the MTA */
    int     store_pool;                  /* Redis connections */
    char   *key_prefix;                  /* store key prefix */
    char   *reply;                       /* "451 4.7.1 text", as configured */
    char    reply_code[4];               /* "451" */
    char    reply_xcode[16];             /* "4.7.1" */
    char   *reply_text;                  /* "Greylisted, please try again later" */
    int     header;                      /* add X-Greylist when delayed */
    char   *user;                        /* drop privileges to; "" = stay */
    char   *group;                       /* "" = the user's group */
    char   *pidfile;                     /* "" = none */
    int     log_level;                   /* LOG_* */
    int     log_facility;                /* LOG_* facility */
    size_t  lmdb_mapsize;                /* bytes */

    /* Sender pools (issue 4): SPF keying, big senders, static whitelists. */
    int     spf_keying;                  /* key SPF-passing mail on spf:domain */
    char   *spf_probe;                   /* extra over-broadness probe IP; "" = none */
    int     dns_timeout_ms;              /* DNS budget per SPF check */
    char   *dns_servers;                 /* "" = /etc/resolv.conf; "IP[:PORT] ..." */
    char   *spf_domains;                 /* big-sender domain list file; "" = none */
    int64_t spf_refresh;                 /* seconds between expansions */
    enum cfg_null_stage null_sender_stage; /* where <> is greylisted */
    char   *whitelist_clients;           /* CIDR file; "" = none */
    char   *whitelist_client_names;      /* verified client name file; "" = none */
    char   *whitelist_recipients;        /* recipient file; "" = none */
    char   *whitelist_sender_domains;    /* sender domain file (SPF pass); "" = none */

    /* Operations: log target, socket group. */
    char   *log_target;                  /* "syslog", "stderr" or "file:/PATH" */
    char   *socket_group;                /* group of a unix socket; "" = the run group */

    /* Redis Sentinel. */
    char   *sentinel_password;           /* AUTH to the sentinels; "" = none */
    /* The SPF keying guard. */
    int     spf_key_max_v4;              /* IPv4 static set at most one /N */
    int     spf_key_max_v6;              /* IPv6 static set at most one /N of /64s */
    /* Roll-out. */
    enum cfg_mode mode;                  /* enforce, or learn: never tempfail */
    /* Bounded cost per message. */
    int     spf_budget_ms;               /* DNS budget of all SPF checks of a message */
    /* Metrics. */
    char   *metrics_listen;              /* "IP:PORT" of GET /metrics; "" = off */
    /* Abuse limits and outbound pairs. */
    int64_t max_new_per_client;          /* new triplets per client key per hour; 0 = off */
    char   *greytrap_recipients;         /* greytrap address file; "" = none */
    int64_t greytrap_ttl;                /* seconds a trapped client key stays trapped */
    int64_t outbound_ttl;                /* seconds an outbound pair lives; 0 = off */
    /* Concurrent sessions per client IP. */
    int     max_sessions_per_client;     /* live sessions of one IP, cluster-wide; 0 = off */
    int64_t session_ttl;                 /* seconds a session counts at most */
    /* DNS lists and selective greylisting. */
    char   *dnsbl_sites;                 /* postscreen syntax; "" = off */
    int     dnsbl_threshold;             /* score >= it: suspicious, delay_listed */
    int     dnswl_threshold;             /* score <= it: skip greylisting */
    int     dnsbl_timeout_ms;            /* one deadline for all zones */
    int64_t delay_listed;                /* seconds: delay of a listed client */
    enum cfg_greylist greylist;          /* all, or only suspicious clients */
    int     suspicious_no_rdns;          /* no verified reverse name is suspicious */
    int     suspicious_dynamic;          /* a dynamic-looking name is suspicious */
    int     suspicious_spf;              /* SPF fail/softfail is suspicious */
    char   *dynamic_patterns;            /* pattern file; "" = built-in rule only */
};

/* cfg_defaults - a cfg holding every default; the caller owns it (cfg_free) */
struct cfg *cfg_defaults(void);

/*
 * cfg_load - read path over the defaults. Returns a cfg the caller owns,
 * or NULL with "path:line: reason" (or "path: reason") in err.
 */
struct cfg *cfg_load(const char *path, char *err, size_t errlen);

/*
 * cfg_set - set one key from its text value, as a config line would.
 * Returns 0, or -1 with a reason (without file:line) in err.
 */
int     cfg_set(struct cfg *cfg, const char *key, const char *value, char *err, size_t errlen);

/* cfg_dump - print every key with its effective value, config-file style */
void    cfg_dump(const struct cfg *cfg, FILE *fp);

/* cfg_free - release; NULL is a no-op */
void    cfg_free(struct cfg *cfg);

#endif

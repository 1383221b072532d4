/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cfg.c - the configuration file: one table of keys, one strict parser.
 *
 * Every key is one row of cfg_keys[]: name, type, default (the text a
 * config line would hold), range, the struct cfg field it fills and the
 * setter that parses and checks a value. cfg_defaults() runs the default
 * texts through the same setters as the file, so a default can never be
 * something the parser would refuse. redgrey.conf(5) and the sample
 * contrib/redgrey.conf describe the same table; tests/check_cfg.c checks
 * that they agree with it.
 *
 * The parser is strict on purpose: a typo must stop the daemon at start,
 * not leave it greylisting with a default. Lines are read into a fixed
 * buffer (at most CFG_LINE_MAX bytes each) and nothing here logs: every
 * error goes back to the caller as "FILE:LINE: reason".
 *
 * This file owns the key table, the setters (range and per-key rules),
 * the file reader, cfg_dump and cfg_free. The text of single values
 * (durations, sizes, booleans, their canonical spelling, and quoting a
 * bad value for a message) is cfg_value.c's, which knows no keys.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "cfg.h"
#include "cfg_value.h"
#include "log.h"
#include "netblock.h"
#include "xalloc.h"

#define CFG_LINE_MAX 4096                /* bytes per line, without CR LF */
#define CFG_REPLY_TEXT_MAX 200           /* bytes of reply text */

/* What a key holds; decides how cfg_dump prints it and how ranges read. */
enum cfg_type {
    CFG_TYPE_STRING,                     /* char *; range = length */
    CFG_TYPE_SECONDS,                    /* int64_t seconds; range in ms */
    CFG_TYPE_MSECS,                      /* int milliseconds; range in ms */
    CFG_TYPE_INT,                        /* int */
    CFG_TYPE_INT64,                      /* int64_t */
    CFG_TYPE_SIZE,                       /* size_t bytes; range in bytes */
    CFG_TYPE_BOOL,                       /* int 0 or 1 */
    CFG_TYPE_ENUM,                       /* int, one of names[] */
    CFG_TYPE_NETS,                       /* netset plus its text */
};

struct cfg_key;

/* A setter parses value into cfg, or leaves cfg alone and returns -1. */
typedef int cfg_setter(struct cfg *cfg, const struct cfg_key *k, const char *value,
                       char *err, size_t errlen);

struct cfg_key {
    const char *name;                    /* as written in the file */
    enum cfg_type type;                  /* storage and display */
    const char *def;                     /* default, as a config value */
    int64_t min;                         /* smallest value (see type) */
    int64_t max;                         /* largest value (see type) */
    size_t  offset;                      /* the struct cfg field */
    cfg_setter *set;                     /* parse, check, store */
    int   (*parse)(const char *);        /* CFG_TYPE_ENUM: name to value, -1 */
    const char *const *names;            /* CFG_TYPE_ENUM: canonical names */
    const char *help;                    /* one line for cfg_dump */
};

static cfg_setter cfg_set_string, cfg_set_socket, cfg_set_store, cfg_set_prefix;
static cfg_setter cfg_set_account, cfg_set_pidfile, cfg_set_reply, cfg_set_ip, cfg_set_servers;
static cfg_setter cfg_set_seconds, cfg_set_msecs, cfg_set_int, cfg_set_int64;
static cfg_setter cfg_set_size, cfg_set_bool, cfg_set_enum, cfg_set_nets;
static int cfg_on_error_parse(const char *name);
static int cfg_null_stage_parse(const char *name);

static const char *const cfg_on_error_names[] = {"accept", "tempfail", NULL};
static const char *const cfg_null_stage_names[] = {"data", "rcpt", NULL};
static const char *const cfg_level_names[] = {
    "debug", "info", "notice", "warning", "err", NULL,
};
static const char *const cfg_facility_names[] = {
    "mail", "daemon", "user", "local0", "local1", "local2", "local3",
    "local4", "local5", "local6", "local7", NULL,
};

#define OFF(field) offsetof(struct cfg, field)
#define FIELD(cfg, k, type) ((type *) (void *) ((char *) (cfg) + (k)->offset))
#define CFIELD(cfg, k, type) ((const type *) (const void *) ((const char *) (cfg) + (k)->offset))

/*
 * The table: the single source of truth for names, defaults and ranges.
 * Keep redgrey.conf(5) and contrib/redgrey.conf in step (check_cfg tests
 * that every default appears in both).
 */
static const struct cfg_key cfg_keys[] = {
    {"socket", CFG_TYPE_STRING, "inet:10029@127.0.0.1", 1, 1024, OFF(socket),
     cfg_set_socket, NULL, NULL, "where the MTA connects: inet:PORT@HOST, inet6:PORT@HOST, unix:PATH"},
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
     cfg_set_enum, cfg_on_error_parse, cfg_on_error_names, "when the store fails: accept the mail or tempfail it"},
    {"store_timeout", CFG_TYPE_MSECS, "250ms", 10, 10 * CFG_SEC, OFF(store_timeout_ms),
     cfg_set_msecs, NULL, NULL, "connect and command timeout of the store"},
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
     cfg_set_pidfile, NULL, NULL, "where to write the process id; empty = nowhere"},
    {"log_level", CFG_TYPE_ENUM, "info", 0, 0, OFF(log_level),
     cfg_set_enum, log_level_parse, cfg_level_names, "least important messages logged"},
    {"log_facility", CFG_TYPE_ENUM, "mail", 0, 0, OFF(log_facility),
     cfg_set_enum, log_facility_parse, cfg_facility_names, "syslog facility"},
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
     cfg_set_pidfile, NULL, NULL, "file of big sender domains whose SPF ranges skip greylisting; empty = none"},
    {"spf_refresh", CFG_TYPE_SECONDS, "24h", 1 * CFG_MIN, 30 * CFG_DAY, OFF(spf_refresh),
     cfg_set_seconds, NULL, NULL, "how often the big sender ranges are expanded again"},
    {"null_sender_stage", CFG_TYPE_ENUM, "data", 0, 0, OFF(null_sender_stage),
     cfg_set_enum, cfg_null_stage_parse, cfg_null_stage_names, "greylist the null sender <> at DATA or at RCPT"},
    {"whitelist_clients", CFG_TYPE_STRING, "", 0, 1024, OFF(whitelist_clients),
     cfg_set_pidfile, NULL, NULL, "file of client networks never greylisted; empty = none"},
    {"whitelist_client_names", CFG_TYPE_STRING, "", 0, 1024, OFF(whitelist_client_names),
     cfg_set_pidfile, NULL, NULL, "file of verified client names (name, .suffix) never greylisted"},
    {"whitelist_recipients", CFG_TYPE_STRING, "", 0, 1024, OFF(whitelist_recipients),
     cfg_set_pidfile, NULL, NULL, "file of recipients (user@, user@domain, @domain) never greylisted"},
    {"whitelist_sender_domains", CFG_TYPE_STRING, "", 0, 1024, OFF(whitelist_sender_domains),
     cfg_set_pidfile, NULL, NULL, "file of sender domains never greylisted when SPF passes"},
};

#define CFG_NKEYS (sizeof(cfg_keys) / sizeof(cfg_keys[0]))

/* cfg_bad - "key: bad value "v": reason" into err; returns -1 */
static int __attribute__((format(printf, 5, 6)))
cfg_bad(char *err, size_t errlen, const struct cfg_key *k, const char *value,
        const char *fmt, ...)
{
    char    show[CFG_SHOWLEN];
    char    why[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    snprintf(err, errlen, "%s: bad value %s: %s", k->name,
             cfg_show(value, show, sizeof(show)), why);
    return -1;
}


/* cfg_has_ctrl - 1 if s holds a control character */
static int
cfg_has_ctrl(const char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char) *s < 0x20 || *s == 0x7f)
            return 1;
    return 0;
}

/* cfg_has_blank - 1 if s holds a space or a tab */
static int
cfg_has_blank(const char *s)
{
    return strpbrk(s, " \t") != NULL;
}

/* cfg_replace - store a copy of value in *slot, freeing the old one */
static void
cfg_replace(char **slot, const char *value)
{
    char   *copy = xstrdup(value);

    free(*slot);
    *slot = copy;
}

/* cfg_set_string - any text of min..max bytes without control characters */
static int
cfg_set_string(struct cfg *cfg, const struct cfg_key *k, const char *value,
               char *err, size_t errlen)
{
    size_t  len = strlen(value);

    if ((int64_t) len < k->min || (int64_t) len > k->max) {
        if (k->min > 0 && len == 0)
            return cfg_bad(err, errlen, k, value, "must not be empty");
        return cfg_bad(err, errlen, k, value, "must be %lld to %lld bytes long",
                       (long long) k->min, (long long) k->max);
    }
    if (cfg_has_ctrl(value))
        return cfg_bad(err, errlen, k, value, "contains a control character");
    cfg_replace(FIELD(cfg, k, char *), value);
    return 0;
}

/*
 * cfg_set_socket - a libmilter socket spec. An inet port must be a number
 * (1..65535); libmilter itself checks the host and the path.
 */
static int
cfg_set_socket(struct cfg *cfg, const struct cfg_key *k, const char *value,
               char *err, size_t errlen)
{
    static const char *const kinds[] = {"inet:", "inet6:", "unix:", "local:"};
    const char *rest = NULL, *end;
    int64_t port;
    size_t  i;

    for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        if (strncmp(value, kinds[i], strlen(kinds[i])) == 0) {
            rest = value + strlen(kinds[i]);
            break;
        }
    }
    if (rest == NULL || *rest == '\0' || cfg_has_blank(value))
        return cfg_bad(err, errlen, k, value,
                       "want inet:PORT@HOST, inet6:PORT@HOST, unix:PATH or local:PATH");
    if (i < 2 && (cfg_digits(rest, &port, &end) < 0 || port < 1 || port > 65535
                  || (*end != '\0' && *end != '@') || (*end == '@' && end[1] == '\0')))
        return cfg_bad(err, errlen, k, value, "want a port 1..65535, then @HOST or nothing");
    return cfg_set_string(cfg, k, value, err, errlen);
}

/* cfg_set_store - a store URL; its own parser checks the rest at open */
static int
cfg_set_store(struct cfg *cfg, const struct cfg_key *k, const char *value,
              char *err, size_t errlen)
{
    static const char *const kinds[] = {"lmdb:", "redis://", "redis+unix://"};

    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        size_t  n = strlen(kinds[i]);

        if (strncmp(value, kinds[i], n) == 0 && value[n] != '\0' && !cfg_has_blank(value))
            return cfg_set_string(cfg, k, value, err, errlen);
    }
    return cfg_bad(err, errlen, k, value,
                   "want lmdb:/DIR, redis://HOST[:PORT][/DB] or redis+unix:///PATH");
}

/*
 * cfg_set_prefix - printable, no blanks; no braces, because the store puts
 * a Redis Cluster hash tag "{...}" right after the prefix.
 */
static int
cfg_set_prefix(struct cfg *cfg, const struct cfg_key *k, const char *value,
               char *err, size_t errlen)
{
    for (const char *p = value; *p != '\0'; p++) {
        if (*p == '{' || *p == '}')
            return cfg_bad(err, errlen, k, value, "'{' and '}' are reserved for the hash tag");
        if ((unsigned char) *p <= 0x20 || (unsigned char) *p >= 0x7f)
            return cfg_bad(err, errlen, k, value, "only printable characters, no blanks");
    }
    return cfg_set_string(cfg, k, value, err, errlen);
}

/* cfg_set_account - a user or group name, or "" */
static int
cfg_set_account(struct cfg *cfg, const struct cfg_key *k, const char *value,
                char *err, size_t errlen)
{
    if (cfg_has_blank(value) || strchr(value, ':') != NULL)
        return cfg_bad(err, errlen, k, value, "a name has no blanks and no ':'");
    return cfg_set_string(cfg, k, value, err, errlen);
}

/* cfg_set_pidfile - an absolute path, or "" for none (pidfile, list files) */
static int
cfg_set_pidfile(struct cfg *cfg, const struct cfg_key *k, const char *value,
                char *err, size_t errlen)
{
    if (*value != '\0' && *value != '/')
        return cfg_bad(err, errlen, k, value, "want an absolute path, or \"\" for none");
    return cfg_set_string(cfg, k, value, err, errlen);
}

/* cfg_set_ip - one IPv4 or IPv6 address, or "" for none */
static int
cfg_set_ip(struct cfg *cfg, const struct cfg_key *k, const char *value,
           char *err, size_t errlen)
{
    struct ipaddr ip;

    if (*value != '\0' && ipaddr_parse(value, &ip) < 0)
        return cfg_bad(err, errlen, k, value, "want an IP address, or \"\" for none");
    return cfg_set_string(cfg, k, value, err, errlen);
}

/*
 * cfg_set_servers - blank-separated IPv4 addresses with an optional :PORT,
 * at most three (the resolver's MAXNS), or "" for /etc/resolv.conf.
 */
static int
cfg_set_servers(struct cfg *cfg, const struct cfg_key *k, const char *value,
                char *err, size_t errlen)
{
    const char *p = value;
    int     n = 0;

    while (*p != '\0') {
        char    word[64], *colon;
        size_t  len = strcspn(p, " \t");
        struct ipaddr ip;

        if (len == 0) {
            p++;
            continue;
        }
        if (len >= sizeof(word) || ++n > 3)
            return cfg_bad(err, errlen, k, value, "want at most 3 IPv4[:PORT] addresses");
        memcpy(word, p, len);
        word[len] = '\0';
        p += len;
        if ((colon = strchr(word, ':')) != NULL) {
            char   *end;
            long    port = strtol(colon + 1, &end, 10);

            if (colon[1] == '\0' || *end != '\0' || port < 1 || port > 65535)
                return cfg_bad(err, errlen, k, value, "bad port in IPv4[:PORT]");
            *colon = '\0';
        }
        if (ipaddr_parse(word, &ip) < 0 || ip.family != AF_INET)
            return cfg_bad(err, errlen, k, value, "want IPv4[:PORT] addresses");
    }
    return cfg_set_string(cfg, k, value, err, errlen);
}

/* cfg_ndigits - count of leading decimal digits of s */
static size_t
cfg_ndigits(const char *s)
{
    return strspn(s, "0123456789");
}

/*
 * cfg_set_reply - "4XX 4.X.Y text". Greylisting only ever defers mail, so
 * a 2xx, 3xx or 5xx code is refused. libmilter takes the text as a format
 * (a lone '%' makes it drop the text), so '%' must come as "%%".
 */
static int
cfg_set_reply(struct cfg *cfg, const struct cfg_key *k, const char *value,
              char *err, size_t errlen)
{
    const char *x, *text;
    size_t  n1, n2, xlen;

    if (cfg_ndigits(value) != 3 || value[3] != ' ')
        return cfg_bad(err, errlen, k, value, "want \"4XX 4.X.Y text\"");
    if (value[0] != '4')
        return cfg_bad(err, errlen, k, value,
                       "must be a 4xx code: greylisting defers mail, it never rejects it");
    x = value + 3 + strspn(value + 3, " ");
    /* Each test only runs once the ones before it held: never past the NUL. */
    if (cfg_ndigits(x) != 1 || x[1] != '.'
        || (n1 = cfg_ndigits(x + 2)) < 1 || n1 > 3 || x[2 + n1] != '.'
        || (n2 = cfg_ndigits(x + 3 + n1)) < 1 || n2 > 3 || x[3 + n1 + n2] != ' ')
        return cfg_bad(err, errlen, k, value, "want an enhanced status code 4.X.Y after the code");
    if (x[0] != '4')
        return cfg_bad(err, errlen, k, value, "the enhanced status code must start with 4.");
    xlen = 3 + n1 + n2;
    text = x + xlen + strspn(x + xlen, " ");
    if (*text == '\0')
        return cfg_bad(err, errlen, k, value, "the text after 4.X.Y is missing");
    if (strlen(text) > CFG_REPLY_TEXT_MAX)
        return cfg_bad(err, errlen, k, value, "the text is longer than %d bytes",
                       CFG_REPLY_TEXT_MAX);
    for (const char *p = text; *p != '\0'; p++) {
        if ((unsigned char) *p < 0x20 || (unsigned char) *p >= 0x7f)
            return cfg_bad(err, errlen, k, value, "the text must be printable ASCII");
        if (*p == '%' && *++p != '%')
            return cfg_bad(err, errlen, k, value, "write '%%' as \"%%%%\" in the text");
    }
    cfg_replace(&cfg->reply, value);
    cfg_replace(&cfg->reply_text, text);
    memcpy(cfg->reply_code, value, 3);
    cfg->reply_code[3] = '\0';
    memcpy(cfg->reply_xcode, x, xlen);
    cfg->reply_xcode[xlen] = '\0';
    return 0;
}

/*
 * cfg_check_ms - parse a duration and check the key's range; whole: the
 * key keeps seconds, so a fraction of a second is refused (before the
 * range, which would give a less helpful reason for "500ms").
 */
static int
cfg_check_ms(const struct cfg_key *k, const char *value, int whole, int64_t *ms,
             char *err, size_t errlen)
{
    char    lo[32], hi[32];

    if (cfg_parse_duration(value, ms) < 0)
        return cfg_bad(err, errlen, k, value,
                       "want a duration: a whole number with ms, s, m, h or d (none = s)");
    if (whole && *ms % CFG_SEC != 0)
        return cfg_bad(err, errlen, k, value, "must be whole seconds");
    if (*ms < k->min || *ms > k->max)
        return cfg_bad(err, errlen, k, value, "out of range %s..%s",
                       cfg_format_ms(k->min, lo, sizeof(lo)),
                       cfg_format_ms(k->max, hi, sizeof(hi)));
    return 0;
}

/* cfg_set_seconds - a duration kept in whole seconds */
static int
cfg_set_seconds(struct cfg *cfg, const struct cfg_key *k, const char *value,
                char *err, size_t errlen)
{
    int64_t ms;

    if (cfg_check_ms(k, value, 1, &ms, err, errlen) < 0)
        return -1;
    *FIELD(cfg, k, int64_t) = ms / CFG_SEC;
    return 0;
}

/* cfg_set_msecs - a duration kept in milliseconds (an int) */
static int
cfg_set_msecs(struct cfg *cfg, const struct cfg_key *k, const char *value,
              char *err, size_t errlen)
{
    int64_t ms;

    if (cfg_check_ms(k, value, 0, &ms, err, errlen) < 0)
        return -1;
    *FIELD(cfg, k, int) = (int) ms;
    return 0;
}

/* cfg_check_int - parse "[-]digits" and check the key's range */
static int
cfg_check_int(const struct cfg_key *k, const char *value, int64_t *n, char *err, size_t errlen)
{
    const char *end;
    int     neg = *value == '-';

    if (cfg_digits(value + neg, n, &end) < 0 || *end != '\0')
        return cfg_bad(err, errlen, k, value, "want a whole number");
    if (neg)
        *n = -*n;
    if (*n < k->min || *n > k->max)
        return cfg_bad(err, errlen, k, value, "out of range %lld..%lld",
                       (long long) k->min, (long long) k->max);
    return 0;
}

/* cfg_set_int - a whole number in range, kept in an int */
static int
cfg_set_int(struct cfg *cfg, const struct cfg_key *k, const char *value,
            char *err, size_t errlen)
{
    int64_t n;

    if (cfg_check_int(k, value, &n, err, errlen) < 0)
        return -1;
    *FIELD(cfg, k, int) = (int) n;
    return 0;
}

/* cfg_set_int64 - a whole number in range, kept in an int64_t */
static int
cfg_set_int64(struct cfg *cfg, const struct cfg_key *k, const char *value,
              char *err, size_t errlen)
{
    int64_t n;

    if (cfg_check_int(k, value, &n, err, errlen) < 0)
        return -1;
    *FIELD(cfg, k, int64_t) = n;
    return 0;
}

/* cfg_set_size - a size in range, kept in a size_t */
static int
cfg_set_size(struct cfg *cfg, const struct cfg_key *k, const char *value,
             char *err, size_t errlen)
{
    char    lo[32], hi[32];
    size_t  n;

    if (cfg_parse_size(value, &n) < 0)
        return cfg_bad(err, errlen, k, value, "want a size: a whole number with K, M, G or T");
    if ((uint64_t) n < (uint64_t) k->min || (uint64_t) n > (uint64_t) k->max)
        return cfg_bad(err, errlen, k, value, "out of range %s..%s",
                       cfg_format_size((uint64_t) k->min, lo, sizeof(lo)),
                       cfg_format_size((uint64_t) k->max, hi, sizeof(hi)));
    *FIELD(cfg, k, size_t) = n;
    return 0;
}

/* cfg_set_bool - yes/no and friends, kept as 0 or 1 */
static int
cfg_set_bool(struct cfg *cfg, const struct cfg_key *k, const char *value,
             char *err, size_t errlen)
{
    int     b;

    if (cfg_parse_bool(value, &b) < 0)
        return cfg_bad(err, errlen, k, value, "want yes or no");
    *FIELD(cfg, k, int) = b;
    return 0;
}

/* cfg_on_error_parse - "accept" or "tempfail" (any case); -1 otherwise */
static int
cfg_on_error_parse(const char *name)
{
    if (strcasecmp(name, "accept") == 0)
        return CFG_ON_ERROR_ACCEPT;
    if (strcasecmp(name, "tempfail") == 0)
        return CFG_ON_ERROR_TEMPFAIL;
    return -1;
}

/* cfg_null_stage_parse - "data" or "rcpt" to enum cfg_null_stage; -1 */
static int
cfg_null_stage_parse(const char *name)
{
    for (int i = 0; cfg_null_stage_names[i] != NULL; i++)
        if (strcasecmp(name, cfg_null_stage_names[i]) == 0)
            return i;
    return -1;
}

/* cfg_set_enum - one of the key's names, kept as the parser's int */
static int
cfg_set_enum(struct cfg *cfg, const struct cfg_key *k, const char *value,
             char *err, size_t errlen)
{
    char    list[256] = "";
    int     v = k->parse(value);

    if (v < 0) {
        for (const char *const *n = k->names; *n != NULL; n++) {
            if (n != k->names)
                strncat(list, ", ", sizeof(list) - strlen(list) - 1);
            strncat(list, *n, sizeof(list) - strlen(list) - 1);
        }
        return cfg_bad(err, errlen, k, value, "want one of %s", list);
    }
    *FIELD(cfg, k, int) = v;
    return 0;
}

/* cfg_append - add " word" (or "word" first) to a growing string */
static void
cfg_append(char **buf, size_t *used, size_t *cap, const char *word)
{
    size_t  need = *used + strlen(word) + 2;

    if (need > *cap) {
        *cap = need * 2;
        *buf = xrealloc(*buf, *cap);
    }
    *used += (size_t) snprintf(*buf + *used, *cap - *used, "%s%s", *used ? " " : "", word);
}

/*
 * cfg_set_nets - CIDR blocks separated by blanks or commas; "" = none.
 * The whole list is parsed into a new set before the old one is freed,
 * so a bad entry leaves the key as it was. The text kept for cfg_dump
 * holds the blocks as parsed (host bits cleared).
 */
static int
cfg_set_nets(struct cfg *cfg, const struct cfg_key *k, const char *value,
             char *err, size_t errlen)
{
    static const char seps[] = " \t,";
    struct netset *set = netset_new();
    size_t  used = 0, cap = 64;
    char   *text = xmalloc(cap);
    char    token[64], why[128], fmt[NETBLOCK_STRLEN], show[CFG_SHOWLEN];
    const char *p = value;

    text[0] = '\0';
    for (p += strspn(p, seps); *p != '\0'; p += strspn(p, seps)) {
        size_t  n = strcspn(p, seps);
        struct netblock nb;

        /* The copy is cut to the buffer; a cut one is too long to be valid. */
        memcpy(token, p, n < sizeof(token) ? n : sizeof(token) - 1);
        token[n < sizeof(token) ? n : sizeof(token) - 1] = '\0';
        if (n >= sizeof(token)) {
            snprintf(why, sizeof(why), "too long for a network");
            goto bad;
        }
        if (netblock_parse(token, &nb, why, sizeof(why)) < 0)
            goto bad;
        netset_add(set, &nb);
        cfg_append(&text, &used, &cap, netblock_format(&nb, fmt, sizeof(fmt)));
        p += n;
    }
    netset_finish(set);
    netset_free(cfg->trusted_networks);
    free(cfg->trusted_networks_text);
    cfg->trusted_networks = set;
    cfg->trusted_networks_text = text;
    return 0;

bad:
    cfg_bad(err, errlen, k, value, "%s: %s", cfg_show(token, show, sizeof(show)), why);
    netset_free(set);
    free(text);
    return -1;
}

/* cfg_find - the table row of a key name, or NULL */
static const struct cfg_key *
cfg_find(const char *name)
{
    for (size_t i = 0; i < CFG_NKEYS; i++)
        if (strcmp(cfg_keys[i].name, name) == 0)
            return &cfg_keys[i];
    return NULL;
}

/* cfg_defaults - every key at its default, through the normal setters */
struct cfg *
cfg_defaults(void)
{
    struct cfg *cfg = xcalloc(1, sizeof(*cfg));
    char    err[CFG_ERRLEN];

    for (size_t i = 0; i < CFG_NKEYS; i++) {
        if (cfg_keys[i].set(cfg, &cfg_keys[i], cfg_keys[i].def, err, sizeof(err)) < 0) {
            /* A broken built-in table: a bug, never a user's mistake. */
            fprintf(stderr, "cfg: built-in default refused: %s\n", err);
            abort();
        }
    }
    return cfg;
}

/* cfg_set - set one key from its text, as a config line would */
int
cfg_set(struct cfg *cfg, const char *key, const char *value, char *err, size_t errlen)
{
    char    show[CFG_SHOWLEN];
    const struct cfg_key *k;

    if (key == NULL || (k = cfg_find(key)) == NULL) {
        snprintf(err, errlen, "unknown key %s", key ? cfg_show(key, show, sizeof(show)) : "(null)");
        return -1;
    }
    if (value == NULL) {
        snprintf(err, errlen, "%s: no value", key);
        return -1;
    }
    return k->set(cfg, k, value, err, errlen);
}

/*
 * cfg_read_line - one line into buf (at least CFG_LINE_MAX + 2 bytes),
 * without its LF or CR LF. Returns 1, 0 at end of file, or -1 with a reason
 * (a NUL byte, a line over CFG_LINE_MAX bytes, a read error).
 */
static int
cfg_read_line(FILE *fp, char *buf, char *why, size_t whylen)
{
    size_t  n = 0;
    int     c;

    while ((c = getc(fp)) != EOF && c != '\n') {
        if (c == '\0') {
            snprintf(why, whylen, "NUL byte in line");
            return -1;
        }
        /* One byte of slack for the CR of a CR LF ending. */
        if (n > CFG_LINE_MAX) {
            snprintf(why, whylen, "line longer than %d bytes", CFG_LINE_MAX);
            return -1;
        }
        buf[n++] = (char) c;
    }
    if (c == EOF && ferror(fp)) {
        snprintf(why, whylen, "cannot read: %s", strerror(errno));
        return -1;
    }
    if (c == EOF && n == 0)
        return 0;
    if (n > 0 && buf[n - 1] == '\r')
        n--;
    if (n > CFG_LINE_MAX) {
        snprintf(why, whylen, "line longer than %d bytes", CFG_LINE_MAX);
        return -1;
    }
    buf[n] = '\0';
    return 1;
}

/*
 * cfg_split - cut "key = value" in place. Returns 1 with key and value,
 * 0 for a blank or comment line, -1 with a reason. '#' starts a comment
 * only as the first non-blank character; elsewhere it is part of a value.
 * A value in double quotes loses the quotes and keeps everything between
 * them (blanks, '#', '"'), with no escapes.
 */
static int
cfg_split(char *line, char **key, char **value, char *why, size_t whylen)
{
    char    show[CFG_SHOWLEN];
    char   *p = line, *end;
    size_t  len = strlen(line);

    while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t'))
        line[--len] = '\0';
    p += strspn(p, " \t");
    if (*p == '\0' || *p == '#')
        return 0;
    *key = p;
    p += strcspn(p, " \t=");
    end = p;
    p += strspn(p, " \t");
    if (*p != '=') {
        *end = '\0';
        snprintf(why, whylen, "missing '=' after %s", cfg_show(*key, show, sizeof(show)));
        return -1;
    }
    if (end == *key) {
        snprintf(why, whylen, "missing key before '='");
        return -1;
    }
    *end = '\0';
    p++;
    p += strspn(p, " \t");
    if (*p == '"') {
        len = strlen(p);
        if (len < 2 || p[len - 1] != '"') {
            snprintf(why, whylen, "%s: unterminated '\"' in value", *key);
            return -1;
        }
        p[len - 1] = '\0';
        p++;
    }
    *value = p;
    return 1;
}

/*
 * cfg_cross_check - rules between keys, once the whole file is read.
 * seen[] holds the line of each key in the file (0 = not set there).
 */
static int
cfg_cross_check(const struct cfg *cfg, const char *path, const unsigned *seen,
                char *err, size_t errlen)
{
    const struct cfg_key *rw = cfg_find("retry_window"), *dl = cfg_find("delay");
    unsigned line = seen[rw - cfg_keys] ? seen[rw - cfg_keys] : seen[dl - cfg_keys];
    char    a[32], b[32];

    if (cfg->retry_window > cfg->delay)
        return 0;
    snprintf(err, errlen, "%s:%u: retry_window (%s) must be longer than delay (%s)",
             path, line, cfg_format_secs(cfg->retry_window, a, sizeof(a)),
             cfg_format_secs(cfg->delay, b, sizeof(b)));
    return -1;
}

/* cfg_load - the defaults, overridden by the file's lines */
struct cfg *
cfg_load(const char *path, char *err, size_t errlen)
{
    char    line[CFG_LINE_MAX + 2];
    char    why[CFG_ERRLEN], show[CFG_SHOWLEN];
    unsigned seen[CFG_NKEYS] = {0}, lineno;
    struct cfg *cfg;
    FILE   *fp;
    int     rc;

    if (path == NULL) {
        snprintf(err, errlen, "no configuration file given");
        return NULL;
    }
    if ((fp = fopen(path, "r")) == NULL) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    cfg = cfg_defaults();
    cfg->path = xstrdup(path);
    for (lineno = 1; (rc = cfg_read_line(fp, line, why, sizeof(why))) != 0; lineno++) {
        const struct cfg_key *k;
        char   *key, *value;

        if (rc > 0 && (rc = cfg_split(line, &key, &value, why, sizeof(why))) == 0)
            continue;
        if (rc < 0)
            goto bad;
        if ((k = cfg_find(key)) == NULL) {
            snprintf(why, sizeof(why), "unknown key %s", cfg_show(key, show, sizeof(show)));
            goto bad;
        }
        if (seen[k - cfg_keys] != 0) {
            snprintf(why, sizeof(why), "duplicate key %s, already set on line %u",
                     k->name, seen[k - cfg_keys]);
            goto bad;
        }
        seen[k - cfg_keys] = lineno;
        if (k->set(cfg, k, value, why, sizeof(why)) < 0)
            goto bad;
    }
    fclose(fp);
    if (cfg_cross_check(cfg, path, seen, err, errlen) < 0) {
        cfg_free(cfg);
        return NULL;
    }
    return cfg;

bad:
    snprintf(err, errlen, "%s:%u: %s", path, lineno, why);
    fclose(fp);
    cfg_free(cfg);
    return NULL;
}

/* cfg_dump_string - a string value, quoted where the parser needs it */
static void
cfg_dump_string(FILE *fp, const char *name, const char *s)
{
    size_t  len = strlen(s);

    if (len == 0 || s[0] == '"' || s[0] == ' ' || s[0] == '\t'
        || s[len - 1] == ' ' || s[len - 1] == '\t')
        fprintf(fp, "%s = \"%s\"\n", name, s);
    else
        fprintf(fp, "%s = %s\n", name, s);
}

/* cfg_dump - every key with its effective value, config-file style */
void
cfg_dump(const struct cfg *cfg, FILE *fp)
{
    char    buf[64];

    fprintf(fp, "# redgrey configuration: %s\n", cfg->path ? cfg->path : "built-in defaults");
    for (size_t i = 0; i < CFG_NKEYS; i++) {
        const struct cfg_key *k = &cfg_keys[i];

        fprintf(fp, "\n# %s\n", k->help);
        switch (k->type) {
        case CFG_TYPE_STRING:
            cfg_dump_string(fp, k->name, *CFIELD(cfg, k, char *));
            break;
        case CFG_TYPE_SECONDS:
            fprintf(fp, "%s = %s\n", k->name,
                    cfg_format_secs(*CFIELD(cfg, k, int64_t), buf, sizeof(buf)));
            break;
        case CFG_TYPE_MSECS:
            fprintf(fp, "%s = %s\n", k->name,
                    cfg_format_ms(*CFIELD(cfg, k, int), buf, sizeof(buf)));
            break;
        case CFG_TYPE_INT:
            fprintf(fp, "%s = %d\n", k->name, *CFIELD(cfg, k, int));
            break;
        case CFG_TYPE_BOOL:
            fprintf(fp, "%s = %s\n", k->name, *CFIELD(cfg, k, int) ? "yes" : "no");
            break;
        case CFG_TYPE_INT64:
            fprintf(fp, "%s = %lld\n", k->name, (long long) *CFIELD(cfg, k, int64_t));
            break;
        case CFG_TYPE_SIZE:
            fprintf(fp, "%s = %s\n", k->name,
                    cfg_format_size(*CFIELD(cfg, k, size_t), buf, sizeof(buf)));
            break;
        case CFG_TYPE_ENUM: {
            int     v = *CFIELD(cfg, k, int);
            const char *const *n;

            for (n = k->names; *n != NULL && k->parse(*n) != v; n++)
                continue;
            if (*n != NULL)
                fprintf(fp, "%s = %s\n", k->name, *n);
            else
                fprintf(fp, "%s = %d\n", k->name, v);
            break;
        }
        case CFG_TYPE_NETS:
            cfg_dump_string(fp, k->name, cfg->trusted_networks_text);
            break;
        }
    }
}

/* cfg_free - release the cfg and all it owns */
void
cfg_free(struct cfg *cfg)
{
    if (cfg == NULL)
        return;
    free(cfg->path);
    free(cfg->socket);
    free(cfg->store);
    netset_free(cfg->trusted_networks);
    free(cfg->trusted_networks_text);
    free(cfg->key_prefix);
    free(cfg->reply);
    free(cfg->reply_text);
    free(cfg->user);
    free(cfg->group);
    free(cfg->pidfile);
    free(cfg->spf_probe);
    free(cfg->dns_servers);
    free(cfg->spf_domains);
    free(cfg->whitelist_clients);
    free(cfg->whitelist_client_names);
    free(cfg->whitelist_recipients);
    free(cfg->whitelist_sender_domains);
    free(cfg);
}

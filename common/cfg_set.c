/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cfg_set.c - setting one key from its text: the public cfg_set() and
 * the setters the key table (cfg_keys.c) points to.
 *
 * A setter parses a value, checks the row's range and the key's own rule
 * (a 4xx reply, an absolute path, a port in a socket spec ...) and stores
 * it in its struct cfg field, or leaves the cfg as it was and says why as
 * "key: bad value "v": reason". The text of a single value (durations,
 * sizes, booleans) is read by cfg_value.c; nothing here logs.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cfg_priv.h"
#include "ipaddr.h"
#include "log.h"
#include "metrics.h"
#include "netblock.h"
#include "store.h"
#include "xalloc.h"

#define CFG_REPLY_TEXT_MAX 200           /* bytes of reply text */

/* cfg_set_bad - "key: bad value "v": reason" into err; returns -1 */
static int __attribute__((format(printf, 5, 6)))
cfg_set_bad(char *err, size_t errlen, const struct cfg_key *k, const char *value,
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

/* cfg_set_has_ctrl - 1 if s holds a control character */
static int
cfg_set_has_ctrl(const char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char) *s < 0x20 || *s == 0x7f)
            return 1;
    return 0;
}

/* cfg_set_has_blank - 1 if s holds a space or a tab */
static int
cfg_set_has_blank(const char *s)
{
    return strpbrk(s, " \t") != NULL;
}

/* cfg_set_replace - store a copy of value in *slot, freeing the old one */
static void
cfg_set_replace(char **slot, const char *value)
{
    char   *copy = xstrdup(value);

    free(*slot);
    *slot = copy;
}

/* cfg_set_string - any text of min..max bytes without control characters */
int
cfg_set_string(struct cfg *cfg, const struct cfg_key *k, const char *value,
               char *err, size_t errlen)
{
    size_t  len = strlen(value);

    if ((int64_t) len < k->min || (int64_t) len > k->max) {
        if (k->min > 0 && len == 0)
            return cfg_set_bad(err, errlen, k, value, "must not be empty");
        return cfg_set_bad(err, errlen, k, value, "must be %lld to %lld bytes long",
                       (long long) k->min, (long long) k->max);
    }
    if (cfg_set_has_ctrl(value))
        return cfg_set_bad(err, errlen, k, value, "contains a control character");
    cfg_set_replace(CFG_FIELD(cfg, k, char *), value);
    return 0;
}

/*
 * cfg_set_socket - a libmilter socket spec. An inet port must be a number
 * (1..65535); libmilter itself checks the host and the path.
 */
int
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
    if (rest == NULL || *rest == '\0' || cfg_set_has_blank(value))
        return cfg_set_bad(err, errlen, k, value,
                       "want inet:PORT@HOST, inet6:PORT@HOST, unix:PATH or local:PATH");
    if (i < 2 && (cfg_digits(rest, &port, &end) < 0 || port < 1 || port > 65535
                  || (*end != '\0' && *end != '@') || (*end == '@' && end[1] == '\0')))
        return cfg_set_bad(err, errlen, k, value, "want a port 1..65535, then @HOST or nothing");
    return cfg_set_string(cfg, k, value, err, errlen);
}

/*
 * cfg_set_store - a store URL; its own parser checks the rest at open.
 * An error shows the URL with its password masked (store_url_redact).
 */
int
cfg_set_store(struct cfg *cfg, const struct cfg_key *k, const char *value,
              char *err, size_t errlen)
{
    static const char *const kinds[] = {
        "lmdb:", "redis://", "redis+unix://", "redis-sentinel://", "rediss://",
        "redis-cluster://",
    };
    char    shown[1100];

    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        size_t  n = strlen(kinds[i]);

        if (strncmp(value, kinds[i], n) == 0 && value[n] != '\0' && !cfg_set_has_blank(value)) {
            if (cfg_set_string(cfg, k, value, err, errlen) == 0)
                return 0;
            break;
        }
    }
    store_url_redact(value, shown, sizeof(shown));
    return cfg_set_bad(err, errlen, k, shown,
                   strlen(value) > (size_t) k->max ? "longer than %lld bytes"
                   : cfg_set_has_ctrl(value) ? "contains a control character"
                   : "want lmdb:/DIR, redis://HOST[:PORT][/DB], redis+unix:///PATH"
                     ", redis-sentinel://HOST:PORT[,...]/MASTER"
                     " or redis-cluster://HOST:PORT[,...]",
                   (long long) k->max);
}

/*
 * cfg_set_prefix - printable, no blanks; no braces, because the store puts
 * a Redis Cluster hash tag "{...}" right after the prefix.
 */
int
cfg_set_prefix(struct cfg *cfg, const struct cfg_key *k, const char *value,
               char *err, size_t errlen)
{
    for (const char *p = value; *p != '\0'; p++) {
        if (*p == '{' || *p == '}')
            return cfg_set_bad(err, errlen, k, value, "'{' and '}' are reserved for the hash tag");
        if ((unsigned char) *p <= 0x20 || (unsigned char) *p >= 0x7f)
            return cfg_set_bad(err, errlen, k, value, "only printable characters, no blanks");
    }
    return cfg_set_string(cfg, k, value, err, errlen);
}

/* cfg_set_account - a user or group name, or "" */
int
cfg_set_account(struct cfg *cfg, const struct cfg_key *k, const char *value,
                char *err, size_t errlen)
{
    if (cfg_set_has_blank(value) || strchr(value, ':') != NULL)
        return cfg_set_bad(err, errlen, k, value, "a name has no blanks and no ':'");
    return cfg_set_string(cfg, k, value, err, errlen);
}

/*
 * cfg_set_path - a file name: an absolute path, or "" for none. For every
 * key that names a file (pidfile, spf_domains, the whitelist files); only
 * the form is checked here, the file is opened by its user.
 */
int
cfg_set_path(struct cfg *cfg, const struct cfg_key *k, const char *value,
                char *err, size_t errlen)
{
    if (*value != '\0' && *value != '/')
        return cfg_set_bad(err, errlen, k, value, "want an absolute path, or \"\" for none");
    return cfg_set_string(cfg, k, value, err, errlen);
}

/* cfg_set_ip - one IPv4 or IPv6 address, or "" for none */
int
cfg_set_ip(struct cfg *cfg, const struct cfg_key *k, const char *value,
           char *err, size_t errlen)
{
    struct ipaddr ip;

    if (*value != '\0' && ipaddr_parse(value, &ip) < 0)
        return cfg_set_bad(err, errlen, k, value, "want an IP address, or \"\" for none");
    return cfg_set_string(cfg, k, value, err, errlen);
}

/*
 * cfg_set_servers - blank-separated IPv4 addresses with an optional :PORT,
 * at most three (the resolver's MAXNS), or "" for /etc/resolv.conf.
 */
int
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
            return cfg_set_bad(err, errlen, k, value, "want at most 3 IPv4[:PORT] addresses");
        memcpy(word, p, len);
        word[len] = '\0';
        p += len;
        if ((colon = strchr(word, ':')) != NULL) {
            char   *end;
            long    port = strtol(colon + 1, &end, 10);

            if (colon[1] == '\0' || *end != '\0' || port < 1 || port > 65535)
                return cfg_set_bad(err, errlen, k, value, "bad port in IPv4[:PORT]");
            *colon = '\0';
        }
        if (ipaddr_parse(word, &ip) < 0 || ip.family != AF_INET)
            return cfg_set_bad(err, errlen, k, value, "want IPv4[:PORT] addresses");
    }
    return cfg_set_string(cfg, k, value, err, errlen);
}

/* cfg_set_listen - a numeric IPv4:PORT or [IPv6]:PORT (metrics_listen_parse), or "" */
int
cfg_set_listen(struct cfg *cfg, const struct cfg_key *k, const char *value,
               char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t len;
    char    why[128];

    if (*value != '\0' && metrics_listen_parse(value, &ss, &len, NULL, why, sizeof(why)) < 0)
        return cfg_set_bad(err, errlen, k, value, "%s, or \"\" for off", why);
    return cfg_set_string(cfg, k, value, err, errlen);
}

/* cfg_set_ndigits - count of leading decimal digits of s */
static size_t
cfg_set_ndigits(const char *s)
{
    return strspn(s, "0123456789");
}

/*
 * cfg_set_reply - "4XX 4.X.Y text". Greylisting only ever defers mail, so
 * a 2xx, 3xx or 5xx code is refused, and so is 421, which makes the MTA
 * close the whole SMTP session instead of deferring one recipient. libmilter takes the text as a format
 * (a lone '%' makes it drop the text), so '%' must come as "%%".
 */
int
cfg_set_reply(struct cfg *cfg, const struct cfg_key *k, const char *value,
              char *err, size_t errlen)
{
    const char *x, *text;
    size_t  n1, n2, xlen;

    if (cfg_set_ndigits(value) != 3 || value[3] != ' ')
        return cfg_set_bad(err, errlen, k, value, "want \"4XX 4.X.Y text\"");
    if (value[0] != '4')
        return cfg_set_bad(err, errlen, k, value,
                       "must be a 4xx code: greylisting defers mail, it never rejects it");
    if (strncmp(value, "421", 3) == 0)
        return cfg_set_bad(err, errlen, k, value,
                       "421 closes the SMTP session: use another 4xx code, such as 451");
    x = value + 3 + strspn(value + 3, " ");
    /* Each test only runs once the ones before it held: never past the NUL. */
    if (cfg_set_ndigits(x) != 1 || x[1] != '.'
        || (n1 = cfg_set_ndigits(x + 2)) < 1 || n1 > 3 || x[2 + n1] != '.'
        || (n2 = cfg_set_ndigits(x + 3 + n1)) < 1 || n2 > 3 || x[3 + n1 + n2] != ' ')
        return cfg_set_bad(err, errlen, k, value, "want an enhanced status code 4.X.Y after the code");
    if (x[0] != '4')
        return cfg_set_bad(err, errlen, k, value, "the enhanced status code must start with 4.");
    xlen = 3 + n1 + n2;
    text = x + xlen + strspn(x + xlen, " ");
    if (*text == '\0')
        return cfg_set_bad(err, errlen, k, value, "the text after 4.X.Y is missing");
    if (strlen(text) > CFG_REPLY_TEXT_MAX)
        return cfg_set_bad(err, errlen, k, value, "the text is longer than %d bytes",
                       CFG_REPLY_TEXT_MAX);
    for (const char *p = text; *p != '\0'; p++) {
        if ((unsigned char) *p < 0x20 || (unsigned char) *p >= 0x7f)
            return cfg_set_bad(err, errlen, k, value, "the text must be printable ASCII");
        if (*p == '%' && *++p != '%')
            return cfg_set_bad(err, errlen, k, value, "write '%%' as \"%%%%\" in the text");
    }
    cfg_set_replace(&cfg->reply, value);
    cfg_set_replace(&cfg->reply_text, text);
    memcpy(cfg->reply_code, value, 3);
    cfg->reply_code[3] = '\0';
    memcpy(cfg->reply_xcode, x, xlen);
    cfg->reply_xcode[xlen] = '\0';
    return 0;
}

/*
 * cfg_set_parse_ms - parse a duration and check the key's range; whole: the
 * key keeps seconds, so a fraction of a second is refused (before the
 * range, which would give a less helpful reason for "500ms").
 */
static int
cfg_set_parse_ms(const struct cfg_key *k, const char *value, int whole, int64_t *ms,
             char *err, size_t errlen)
{
    char    lo[32], hi[32];

    if (cfg_parse_duration(value, ms) < 0)
        return cfg_set_bad(err, errlen, k, value,
                       "want a duration: a whole number with ms, s, m, h or d (none = s)");
    if (whole && *ms % CFG_SEC != 0)
        return cfg_set_bad(err, errlen, k, value, "must be whole seconds");
    if (*ms < k->min || *ms > k->max)
        return cfg_set_bad(err, errlen, k, value, "out of range %s..%s",
                       cfg_format_ms(k->min, lo, sizeof(lo)),
                       cfg_format_ms(k->max, hi, sizeof(hi)));
    return 0;
}

/* cfg_set_seconds - a duration kept in whole seconds */
int
cfg_set_seconds(struct cfg *cfg, const struct cfg_key *k, const char *value,
                char *err, size_t errlen)
{
    int64_t ms;

    if (cfg_set_parse_ms(k, value, 1, &ms, err, errlen) < 0)
        return -1;
    *CFG_FIELD(cfg, k, int64_t) = ms / CFG_SEC;
    return 0;
}

/* cfg_set_msecs - a duration kept in milliseconds (an int) */
int
cfg_set_msecs(struct cfg *cfg, const struct cfg_key *k, const char *value,
              char *err, size_t errlen)
{
    int64_t ms;

    if (cfg_set_parse_ms(k, value, 0, &ms, err, errlen) < 0)
        return -1;
    *CFG_FIELD(cfg, k, int) = (int) ms;
    return 0;
}

/* cfg_set_parse_int - parse "[-]digits" and check the key's range */
static int
cfg_set_parse_int(const struct cfg_key *k, const char *value, int64_t *n, char *err, size_t errlen)
{
    const char *end;
    int     neg = *value == '-';

    if (cfg_digits(value + neg, n, &end) < 0 || *end != '\0')
        return cfg_set_bad(err, errlen, k, value, "want a whole number");
    if (neg)
        *n = -*n;
    if (*n < k->min || *n > k->max)
        return cfg_set_bad(err, errlen, k, value, "out of range %lld..%lld",
                       (long long) k->min, (long long) k->max);
    return 0;
}

/* cfg_set_int - a whole number in range, kept in an int */
int
cfg_set_int(struct cfg *cfg, const struct cfg_key *k, const char *value,
            char *err, size_t errlen)
{
    int64_t n;

    if (cfg_set_parse_int(k, value, &n, err, errlen) < 0)
        return -1;
    *CFG_FIELD(cfg, k, int) = (int) n;
    return 0;
}

/* cfg_set_int64 - a whole number in range, kept in an int64_t */
int
cfg_set_int64(struct cfg *cfg, const struct cfg_key *k, const char *value,
              char *err, size_t errlen)
{
    int64_t n;

    if (cfg_set_parse_int(k, value, &n, err, errlen) < 0)
        return -1;
    *CFG_FIELD(cfg, k, int64_t) = n;
    return 0;
}

/* cfg_set_size - a size in range, kept in a size_t */
int
cfg_set_size(struct cfg *cfg, const struct cfg_key *k, const char *value,
             char *err, size_t errlen)
{
    char    lo[32], hi[32];
    size_t  n;

    if (cfg_parse_size(value, &n) < 0)
        return cfg_set_bad(err, errlen, k, value, "want a size: a whole number with K, M, G or T");
    if ((uint64_t) n < (uint64_t) k->min || (uint64_t) n > (uint64_t) k->max)
        return cfg_set_bad(err, errlen, k, value, "out of range %s..%s",
                       cfg_format_size((uint64_t) k->min, lo, sizeof(lo)),
                       cfg_format_size((uint64_t) k->max, hi, sizeof(hi)));
    *CFG_FIELD(cfg, k, size_t) = n;
    return 0;
}

/* cfg_set_bool - yes/no and friends, kept as 0 or 1 */
int
cfg_set_bool(struct cfg *cfg, const struct cfg_key *k, const char *value,
             char *err, size_t errlen)
{
    int     b;

    if (cfg_parse_bool(value, &b) < 0)
        return cfg_set_bad(err, errlen, k, value, "want yes or no");
    *CFG_FIELD(cfg, k, int) = b;
    return 0;
}

/* cfg_set_enum - one of the key's names, kept as the parser's int */
int
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
        return cfg_set_bad(err, errlen, k, value, "want one of %s", list);
    }
    *CFG_FIELD(cfg, k, int) = v;
    return 0;
}

/* cfg_set_append - add " word" (or "word" first) to a growing string */
static void
cfg_set_append(char **buf, size_t *used, size_t *cap, const char *word)
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
int
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
        cfg_set_append(&text, &used, &cap, netblock_format(&nb, fmt, sizeof(fmt)));
        p += n;
    }
    netset_finish(set);
    netset_free(cfg->trusted_networks);
    free(cfg->trusted_networks_text);
    cfg->trusted_networks = set;
    cfg->trusted_networks_text = text;
    return 0;

bad:
    cfg_set_bad(err, errlen, k, value, "%s: %s", cfg_show(token, show, sizeof(show)), why);
    netset_free(set);
    free(text);
    return -1;
}

/* cfg_set_log_target - syslog, stderr or file:/PATH (log_target_check's rule) */
int
cfg_set_log_target(struct cfg *cfg, const struct cfg_key *k, const char *value,
                   char *err, size_t errlen)
{
    char    why[128];

    if (log_target_check(value, why, sizeof(why)) != 0)
        return cfg_set_bad(err, errlen, k, value, "%s", why);
    return cfg_set_string(cfg, k, value, err, errlen);
}

/* cfg_set - set one key from its text, as a config line would */
int
cfg_set(struct cfg *cfg, const char *key, const char *value, char *err, size_t errlen)
{
    char    show[CFG_SHOWLEN];
    const struct cfg_key *k;

    if (key == NULL || (k = cfg_keys_find(key)) == NULL) {
        snprintf(err, errlen, "unknown key %s", key ? cfg_show(key, show, sizeof(show)) : "(null)");
        return -1;
    }
    if (value == NULL) {
        snprintf(err, errlen, "%s: no value", key);
        return -1;
    }
    return k->set(cfg, k, value, err, errlen);
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cfg_value.c - the text of one configuration value: parse it, print it.
 *
 * Durations ("5m", "250ms") are read into milliseconds, sizes ("4G") into
 * bytes, booleans (yes/no and friends) into 0 or 1; the formatters give
 * back the shortest exact spelling, so cfg_dump output parses to the same
 * value. cfg_show quotes and escapes a value for an error message.
 *
 * These are pure functions over text: they know nothing of keys, ranges or
 * struct cfg (cfg_keys.c and cfg_set.c do), never allocate and never log.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cfg_value.h"

/* cfg_show - a value fit for a message: quoted, escaped, truncated */
const char *
cfg_show(const char *s, char *buf, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t  n = 0, i;

    if (len < CFG_SHOWLEN)
        return "";
    buf[n++] = '"';
    for (i = 0; s[i] != '\0' && i < CFG_SHOW_MAX; i++) {
        unsigned char c = (unsigned char) s[i];

        if (c == '"' || c == '\\') {
            buf[n++] = '\\';
            buf[n++] = (char) c;
        } else if (c < 0x20 || c >= 0x7f) {
            buf[n++] = '\\';
            buf[n++] = 'x';
            buf[n++] = hex[c >> 4];
            buf[n++] = hex[c & 15];
        } else {
            buf[n++] = (char) c;
        }
    }
    buf[n++] = '"';
    if (s[i] != '\0') {
        memcpy(buf + n, "...", 3);
        n += 3;
    }
    buf[n] = '\0';
    return buf;
}

/* cfg_digits - a run of decimal digits into n; -1 if none or overflow */
int
cfg_digits(const char *s, int64_t *n, const char **end)
{
    int64_t v = 0;

    if (*s < '0' || *s > '9')
        return -1;
    for (; *s >= '0' && *s <= '9'; s++) {
        if (v > (INT64_MAX - (*s - '0')) / 10)
            return -1;
        v = v * 10 + (*s - '0');
    }
    *n = v;
    *end = s;
    return 0;
}

/* cfg_parse_duration - "90", "30s", "5m", "48h", "36d", "250ms" to ms */
int
cfg_parse_duration(const char *text, int64_t *ms)
{
    static const struct {
        const char *suffix;
        int64_t ms;
    } units[] = {
        {"", CFG_SEC}, {"ms", 1}, {"s", CFG_SEC}, {"m", CFG_MIN}, {"h", CFG_HOUR}, {"d", CFG_DAY},
    };
    const char *end;
    int64_t n;

    if (text == NULL || cfg_digits(text, &n, &end) < 0)
        return -1;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcmp(end, units[i].suffix) != 0)
            continue;
        if (n > INT64_MAX / units[i].ms)
            return -1;
        *ms = n * units[i].ms;
        return 0;
    }
    return -1;
}

/* cfg_parse_size - "1048576", "512K", "64M", "4G", "1T" to bytes */
int
cfg_parse_size(const char *text, size_t *bytes)
{
    static const char units[] = "KMGT";
    const char *end, *u;
    uint64_t mult = 1;
    int64_t n;
    int     c;

    if (text == NULL || cfg_digits(text, &n, &end) < 0)
        return -1;
    if (*end != '\0') {
        c = toupper((unsigned char) end[0]);
        if (end[1] != '\0' || (u = strchr(units, c)) == NULL || c == '\0')
            return -1;
        for (const char *p = units; p <= u; p++)
            mult *= 1024;
    }
    if ((uint64_t) n > SIZE_MAX / mult)
        return -1;
    *bytes = (size_t) ((uint64_t) n * mult);
    return 0;
}

/* cfg_parse_bool - yes/no true/false on/off 1/0, any case */
int
cfg_parse_bool(const char *text, int *out)
{
    static const char *const yes[] = {"yes", "true", "on", "1"};
    static const char *const no[] = {"no", "false", "off", "0"};

    if (text == NULL)
        return -1;
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (strcasecmp(text, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcasecmp(text, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return -1;
}

/*
 * cfg_format_secs - a duration in seconds in its largest exact unit, except
 * that one and two days read better as 24h and 48h.
 */
char *
cfg_format_secs(int64_t secs, char *buf, size_t len)
{
    if (secs >= 3 * (CFG_DAY / CFG_SEC) && secs % (CFG_DAY / CFG_SEC) == 0)
        snprintf(buf, len, "%lldd", (long long) (secs / (CFG_DAY / CFG_SEC)));
    else if (secs != 0 && secs % (CFG_HOUR / CFG_SEC) == 0)
        snprintf(buf, len, "%lldh", (long long) (secs / (CFG_HOUR / CFG_SEC)));
    else if (secs != 0 && secs % (CFG_MIN / CFG_SEC) == 0)
        snprintf(buf, len, "%lldm", (long long) (secs / (CFG_MIN / CFG_SEC)));
    else
        snprintf(buf, len, "%llds", (long long) secs);
    return buf;
}

/* cfg_format_ms - a duration in ms: "250ms", or as cfg_format_secs */
char *
cfg_format_ms(int64_t ms, char *buf, size_t len)
{
    if (ms % CFG_SEC != 0)
        snprintf(buf, len, "%lldms", (long long) ms);
    else
        cfg_format_secs(ms / CFG_SEC, buf, len);
    return buf;
}

/* cfg_format_size - bytes in their largest exact unit: "4G", "1536K" */
char *
cfg_format_size(uint64_t bytes, char *buf, size_t len)
{
    static const char units[] = "TGMK";
    uint64_t mult = (uint64_t) CFG_TIB;

    for (const char *u = units; *u != '\0'; u++, mult /= 1024) {
        if (bytes != 0 && bytes % mult == 0) {
            snprintf(buf, len, "%llu%c", (unsigned long long) (bytes / mult), *u);
            return buf;
        }
    }
    snprintf(buf, len, "%llu", (unsigned long long) bytes);
    return buf;
}

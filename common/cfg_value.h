/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cfg_value.h - one configuration value as text: parse it, print it.
 *
 * The lexical layer under cfg.h: durations, sizes and booleans in and
 * out, and a safe quoted copy of bad input for error messages. No keys,
 * no ranges, no struct cfg here; cfg.h includes this header, so its users
 * see the parsers as before.
 *
 * Thread-safety: pure functions over caller buffers; any thread.
 */
#ifndef REDGREY_CFG_VALUE_H
#define REDGREY_CFG_VALUE_H

#include <stddef.h>
#include <stdint.h>

#define CFG_SEC 1000LL                   /* durations are parsed in ms */
#define CFG_MIN (60 * CFG_SEC)
#define CFG_HOUR (60 * CFG_MIN)
#define CFG_DAY (24 * CFG_HOUR)
#define CFG_KIB 1024LL                   /* sizes are parsed in bytes */
#define CFG_MIB (1024 * CFG_KIB)
#define CFG_GIB (1024 * CFG_MIB)
#define CFG_TIB (1024 * CFG_GIB)

#define CFG_SHOW_MAX 48                  /* bytes of a bad value shown */
#define CFG_SHOWLEN (CFG_SHOW_MAX * 4 + 8) /* buffer for cfg_show (>= LOGESC_QUOTE_SIZE) */

/*
 * cfg_digits - a run of decimal digits at s into n, *end just past it.
 * Returns 0, or -1 (n and end untouched) if s starts with no digit or the
 * number overflows int64_t. No sign, no blanks.
 */
int     cfg_digits(const char *s, int64_t *n, const char **end);

/*
 * cfg_parse_duration - "90", "30s", "5m", "48h", "36d", "250ms" into
 * milliseconds. Returns 0, or -1 on syntax error or overflow.
 */
int     cfg_parse_duration(const char *text, int64_t *ms);

/* cfg_parse_size - "1048576", "512K", "64M", "4G" into bytes; 0 or -1 */
int     cfg_parse_size(const char *text, size_t *bytes);

/* cfg_parse_bool - yes/no true/false on/off 1/0 (any case); 0 or -1 */
int     cfg_parse_bool(const char *text, int *out);

/*
 * cfg_format_secs - seconds in their largest exact unit ("5m", "36d"; one
 * and two days as "24h", "48h") into buf of len bytes (32 is plenty).
 * Returns buf. cfg_parse_duration reads the result back to the same value.
 */
char   *cfg_format_secs(int64_t secs, char *buf, size_t len);

/* cfg_format_ms - milliseconds: "250ms", or as cfg_format_secs; returns buf */
char   *cfg_format_ms(int64_t ms, char *buf, size_t len);

/* cfg_format_size - bytes in their largest exact unit ("4G"); returns buf */
char   *cfg_format_size(uint64_t bytes, char *buf, size_t len);

/*
 * cfg_show - s quoted for a message: logesc_quote (logesc.h) of at most
 * CFG_SHOW_MAX bytes, so '"', '\', blanks, '=' and every byte outside
 * printable ASCII are \xHH, and "..." follows the closing quote when cut.
 * Returns buf, or "" if len is under CFG_SHOWLEN.
 */
const char *cfg_show(const char *s, char *buf, size_t len);

#endif

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ctl_json.h - the little JSON redgreyctl --json writes: strings escaped
 * so that any input bytes give well-formed JSON (RFC 8259).
 *
 * Thread-safety: no state; one stream per caller.
 */
#ifndef REDGREY_CTL_JSON_H
#define REDGREY_CTL_JSON_H

#include <stdint.h>
#include <stdio.h>

/*
 * ctl_json_str - s as a JSON string, quotes included: '"' and '\\'
 * escaped, control bytes and every byte >= 0x80 as \u00XX (so that bytes
 * that are not UTF-8 still give valid JSON); NULL is null
 */
void    ctl_json_str(FILE *fp, const char *s);

/* ctl_json_key - "key": (key is the program's own text) */
void    ctl_json_key(FILE *fp, const char *key);

/* ctl_json_time - a unix time as the number, or null when t is 0 */
void    ctl_json_time(FILE *fp, int64_t t);

#endif

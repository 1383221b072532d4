/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dnsbl_sites.h - the dnsbl_sites list in Postfix postscreen's syntax, the
 * filter on an A record value, and the DNS name to query for a client.
 *
 * The list is items separated by commas and/or blanks, each
 *
 *     zone[=filter][*weight]
 *
 * zone: a DNS name (letters, digits, '-', '_', dot-separated labels of 1
 * to 63 bytes, an optional final dot), stored lower-case without the dot.
 * filter (postscreen(8), postconf(5) postscreen_dnsbl_sites): d.d.d.d
 * where each d is a number 0..255 or a pattern in [] holding one or more
 * ';'-separated numbers or number..number ranges, e.g. 127.0.[0..255].[1;3]
 * (no filter: any A record lists the client). weight: a signed decimal
 * integer, default 1; a negative weight is an allowlist. A zone may be
 * named by several items (different filters); each item that matches one
 * of the zone's A records adds its weight once, and the zone is queried
 * once. Bounds: DNSBL_SITES_MAX items, DNSBL_ZONES_MAX distinct zones,
 * zone names of DNSBL_ZONE_MAX bytes (so that every query name, IPv6
 * included, fits in 253), filters of DNSBL_FILTER_MAX bytes, weights of
 * magnitude DNSBL_WEIGHT_MAX (so that no sum overflows).
 *
 * Thread-safety: pure functions on caller-owned structures, any thread.
 */
#ifndef REDGREY_DNSBL_SITES_H
#define REDGREY_DNSBL_SITES_H

#include <stddef.h>
#include <stdint.h>

#include "ipaddr.h"

#define DNSBL_SITES_MAX  32              /* items; masks below are uint32_t */
#define DNSBL_ZONES_MAX  32              /* distinct zones */
#define DNSBL_ZONE_MAX   189             /* 253 minus an IPv6 nibble prefix (64) */
#define DNSBL_FILTER_MAX 96              /* text of one filter */
#define DNSBL_WEIGHT_MAX 10000
#define DNSBL_QNAME_SIZE 254             /* a query name and its NUL */
#define DNSBL_SITES_TEXT_MAX 4096        /* the whole list's text */

/* An A record filter: bit v of octet[i] is set when value v is allowed. */
struct dnsbl_filter {
    uint8_t octet[4][32];
};

struct dnsbl_site {
    unsigned zone;                       /* index into dnsbl_sites.zones */
    int     has_filter;                  /* 0: any A record matches */
    struct dnsbl_filter filter;
    char    filter_text[DNSBL_FILTER_MAX + 1];  /* as written, for dumps */
    int     weight;
};

struct dnsbl_sites {
    size_t  nsites;
    struct dnsbl_site site[DNSBL_SITES_MAX];
    size_t  nzones;
    char    zones[DNSBL_ZONES_MAX][DNSBL_ZONE_MAX + 1];
};

/*
 * dnsbl_sites_parse - parse text (NULL or blank: an empty list) into out.
 * Returns 0, or -1 with err naming the offending item and the reason.
 */
int     dnsbl_sites_parse(const char *text, struct dnsbl_sites *out, char *err, size_t errlen);

/*
 * dnsbl_sites_format - the list in canonical form ("zone=filter*weight, ..."
 * with "*1" and no filter left out) into buf; parses back to the same list.
 * Returns the length, or -1 if it did not fit (buf then holds "").
 */
int     dnsbl_sites_format(const struct dnsbl_sites *s, char *buf, size_t len);

/*
 * dnsbl_filter_parse - one filter (d.d.d.d) into out. Returns 0, or -1
 * with the reason in err.
 */
int     dnsbl_filter_parse(const char *text, struct dnsbl_filter *out, char *err, size_t errlen);

/* dnsbl_filter_match - 1 if the A value a[0].a[1].a[2].a[3] passes f, else 0 */
int     dnsbl_filter_match(const struct dnsbl_filter *f, const uint8_t a[4]);

/* dnsbl_site_match - 1 if site s counts an A record value a (filter or none) */
int     dnsbl_site_match(const struct dnsbl_site *s, const uint8_t a[4]);

/*
 * dnsbl_qname - the name to query for ip in zone: reversed octets for IPv4
 * ("2.0.0.127.zone"), reversed nibbles for IPv6, IPv4 for an IPv4-mapped
 * IPv6 address. Returns the length, or -1 if it does not fit in len (or
 * the family is neither).
 */
int     dnsbl_qname(const struct ipaddr *ip, const char *zone, char *buf, size_t len);

/* What a score means, given the two thresholds. */
enum dnsbl_verdict {
    DNSBL_NEUTRAL = 0,                   /* greylist as usual */
    DNSBL_SUSPICIOUS,                    /* score >= dnsbl_threshold */
    DNSBL_TRUSTED,                       /* score <= dnswl_threshold: skip greylisting */
};

#define DNSBL_THRESHOLD_DEFAULT 1        /* as postscreen_dnsbl_threshold */
#define DNSBL_WL_THRESHOLD_DEFAULT (-1)  /* needs an allowlist hit */

/*
 * dnsbl_thresholds_check - dnswl_threshold must be below dnsbl_threshold
 * (else one score would be both). Returns 0, or -1 with the reason in err.
 */
int     dnsbl_thresholds_check(int dnsbl_threshold, int dnswl_threshold, char *err,
                               size_t errlen);

/* dnsbl_verdict - the verdict for score (thresholds as checked above) */
enum dnsbl_verdict dnsbl_verdict(int score, int dnsbl_threshold, int dnswl_threshold);

#endif

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dnsbl_shared.h - the daemon's one DNS-list checker (common/dnsbl.h) and
 * its dynamic-name patterns (common/suspicious.h), built from the
 * configuration (dnsbl_sites, dnsbl_timeout, dns_servers,
 * dynamic_patterns) and shared by every session.
 *
 * Both are read through atomic pointers under one grace period
 * (grace.h), as milter/spf_shared.c does: a reload builds the new ones,
 * swaps them in, waits for the checks that use the old ones (at most
 * about dnsbl_timeout) and frees them. The checker is rebuilt only when
 * one of its settings changed, so its cache survives other reloads; the
 * patterns are read again at each reload.
 *
 * Thread-safety: dnsbl_shared_init() and dnsbl_shared_fini() in the main
 * thread, before the sessions start and after they are over;
 * dnsbl_shared_reconfigure() from one thread at a time while sessions
 * run; dnsbl_shared_check() and dnsbl_shared_dynamic() from any thread.
 */
#ifndef REDGREY_DNSBL_SHARED_H
#define REDGREY_DNSBL_SHARED_H

#include <stddef.h>

#include "cfg.h"
#include "dnsbl.h"
#include "ipaddr.h"

/* The zones of a log line: every zone name and its comma. */
#define DNSBL_SHARED_ZONES_MAX (DNSBL_ZONES_MAX * (DNSBL_ZONE_MAX + 1))

/*
 * dnsbl_shared_check_cfg - build the checker and read the patterns of c,
 * then drop them: what redgrey -t checks. Returns 0, or -1 with err.
 */
int     dnsbl_shared_check_cfg(const struct cfg *c, char *err, size_t errlen);

/*
 * dnsbl_shared_init - build the shared checker (none for an empty
 * dnsbl_sites) and read the patterns. Returns 0, or -1 with err (c-ares
 * cannot start, a bad pattern file).
 */
int     dnsbl_shared_init(const struct cfg *c, char *err, size_t errlen);

/*
 * dnsbl_shared_reconfigure - the reloaded configuration c: the patterns
 * read again, the checker rebuilt if its settings changed. On failure
 * nothing changes: -1 with err.
 */
int     dnsbl_shared_reconfigure(const struct cfg *c, char *err, size_t errlen);

/*
 * dnsbl_shared_check - ask the lists about ip (within dnsbl_timeout),
 * counted in the metrics; the listing zones as "z1,z2" ("" for none)
 * into zones. Returns 0, or -1 when there are no lists (dnsbl_sites
 * empty: nothing asked, out zeroed).
 */
int     dnsbl_shared_check(const struct ipaddr *ip, struct dnsbl_result *out, char *zones,
                           size_t zlen);

/* dnsbl_shared_dynamic - suspicious_name_dynamic() with the shared patterns */
int     dnsbl_shared_dynamic(const char *name, const struct ipaddr *ip);

/* dnsbl_shared_fini - free both; only once no session uses them; idempotent */
void    dnsbl_shared_fini(void);

#endif
